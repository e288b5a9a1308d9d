/* A plain-file copy of the last good snapshot, outside the git object store, so that rollback
 * works even when the journal repository is damaged or unreadable.
 *
 * Layout: <root>/var/lib/vfiotx/good -> good.<txn>/ (a symlink swapped atomically), holding
 * manifest.json (journal/snapshot.h format), txn (the transaction number) and
 * files/<absolute path> for each present file. A new copy is written in full and fsync'ed
 * before the link moves to it; the previous copy is deleted afterwards. A crash leaves either
 * the old or the new copy as `good`, plus at most an unreferenced good.<n> directory, which the
 * next write removes.
 *
 * Reading checks each file against its manifest entry: it must exist and hold the size and the
 * SHA-256 the manifest gives (a copy written before the manifest had "sha256" is checked by
 * size); otherwise the copy is damaged (-EBADMSG or the read's errno, "the plain copy
 * of the good snapshot is damaged: ..."). The journal's own commits are checked by git.
 *
 * Contract: 0 or negative errno with a message; reading returns -ENOENT when no copy exists. */
#pragma once

#include "fs/root.h"
#include "journal/snapshot.h"

int vt_good_copy_write(const vt_root *root, const vt_snapshot *snap, long txn);
int vt_good_copy_read(const vt_root *root, vt_snapshot *out, long *txn);
