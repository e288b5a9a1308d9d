/* Atomic replacement of one file inside the root (git's lockfile contract, as a library).
 *
 * vt_atomic_write(root, path, data, meta):
 *   1. resolve `path` inside the root (journal/root.h: symlinks are followed inside the root, a
 *      link leading outside it is refused with -EXDEV); missing parent directories are created;
 *   2. refuse when the path is something other than a regular file (directory, fifo...);
 *   3. create a temporary file ".<name>.vfiotx-<6 random hex digits>" in the same directory
 * (O_EXCL, mode 0600, O_CLOEXEC), write all bytes, fsync it;
 *   4. give it `meta` when not NULL; otherwise the owner, mode and xattrs of the file it
 *      replaces; otherwise (a new file) 0644 root:root and no xattrs;
 *   5. rename() it over the path, then fsync the directory so the rename is durable.
 * Readers see either the old or the new file, never a mix; after a crash the path holds one of
 * them and at most a temporary file is left, which vt_atomic_cleanup() removes. On failure the
 * temporary file is removed and the old file is untouched.
 *
 * vt_write_in_place() rewrites an existing regular file of exactly `len` bytes in the blocks it
 * already has: no temporary file, no truncate, no new inode, then fsync. This is how GRUB's
 * save_env writes grubenv, and the only write after which a reader that does not replay the
 * journal (GRUB) finds the new bytes where it found the old ones. Not atomic: a cut during the
 * write may leave a mix of old and new sectors, which a caller must be able to read back.
 *
 * vt_atomic_remove() unlinks the file (absent already is success) and fsyncs the directory.
 * Every step passes a failpoint (common/failpoint.h) so tests can fail or kill it there.
 *
 * Contract: 0 or negative errno with a message naming the file. */
#pragma once

#include <stddef.h>

#include "journal/file_meta.h"
#include "journal/root.h"

int vt_atomic_write(const vt_root *root, const char *path, const void *data, size_t len,
                    const vt_file_meta *meta);
int vt_write_in_place(const vt_root *root, const char *path, const void *data, size_t len);
int vt_atomic_remove(const vt_root *root, const char *path);
/* Remove temporary files a crash left beside `path`. */
int vt_atomic_cleanup(const vt_root *root, const char *path);
/* Read the metadata of the file at path (after resolution); -ENOENT when absent. */
int vt_atomic_stat(const vt_root *root, const char *path, vt_file_meta *out);
