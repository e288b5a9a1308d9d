/* Unified diffs between two snapshots, for `plan`, `log -p` and `show`. The journal renders them
 * because it owns the object store library whose patch machinery does the work (on buffers: no
 * repository is needed, so this works without a journal). Paths are shown as a/<path> and b/<path>;
 * a file that appears or disappears, and a change of mode, owner or xattrs, gets a header line
 * saying so.
 *
 * Contract: 0 or negative errno; `out` receives nothing when the snapshots are equal. */
#pragma once

#include "common/buf.h"
#include "journal/snapshot.h"

int vt_diff_snapshots(const vt_snapshot *from, const vt_snapshot *to, vt_buf *out);

/* The same diff file by file, for the JSON documents: one change per path that differs, in
 * the order vt_diff_snapshots() renders them. */
typedef struct vt_diff_change {
        char *path;         /* absolute host path */
        const char *action; /* static: "create", "modify", "delete" or "metadata" (bytes equal) */
        vt_buf diff;        /* this path's part of the unified diff */
} vt_diff_change;

typedef struct vt_diff_changes {
        vt_diff_change *items;
        size_t n;
} vt_diff_changes;

int vt_diff_changes_list(const vt_snapshot *from, const vt_snapshot *to, vt_diff_changes *out);
void vt_diff_changes_free(vt_diff_changes *c);
