/* Unified diffs between two snapshots (libgit2's patch machinery on buffers), for `plan`,
 * `log -p` and `show`. Paths are shown as a/<path> and b/<path>; a file that appears or
 * disappears, and a change of mode, owner or xattrs, gets a header line saying so.
 *
 * Contract: 0 or negative errno; `out` receives nothing when the snapshots are equal. */
#pragma once

#include "common/buf.h"
#include "journal/snapshot.h"

int vt_diff_snapshots(const vt_snapshot *from, const vt_snapshot *to, vt_buf *out);
