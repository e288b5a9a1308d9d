/* Reading whole files and small text helpers for files outside the managed root (sysfs, /proc
 * and their fixtures). Managed files under --root go through fs/root.h instead, which keeps
 * every path inside the root.
 *
 * Contract: return 0 or a negative errno; on failure a message naming the path is set with
 * vt_error_set(); -ENOENT is returned without a message being required by callers that treat a
 * missing file as "absent" (the message is still set, so it can be shown). */
#pragma once

#include <stddef.h>

#include "common/buf.h"

/* Read everything from fd (from its current offset) into out (replacing its contents). */
int vt_read_fd(int fd, vt_buf *out);
/* Read the file at path (absolute, or relative to dirfd when dirfd is not AT_FDCWD). */
int vt_read_file_at(int dirfd, const char *path, vt_buf *out);
int vt_read_file(const char *path, vt_buf *out);
/* Read a one-line attribute (sysfs style): the trailing newline and spaces are stripped. */
int vt_read_line(const char *path, char **out);
/* Write all bytes, retrying on EINTR and short writes. */
int vt_write_all(int fd, const void *data, size_t len);
/* The mount point of the file system that holds path (absolute; when it does not exist, its
 * nearest existing ancestor): the topmost ancestor in the same mount (statx's mount id, or the
 * device number on kernels without it). For hints such as "mount -o remount,rw /root".
 * Returns 0 and a malloc'ed path, -ENOMEM, -EINVAL for a relative path, or statx's errno when
 * it fails other than for a missing path. No message is set: callers use it to word a hint and
 * keep a generic one when it fails. */
int vt_mount_point(const char *path, char **out);
/* Set the hint for a file system error on `path` (absolute, as this process sees it; shown to
 * the user as `shown`, or as itself when NULL), naming the mount point of the file system that
 * holds it: for EROFS, remount it read-write ("mount -o remount,rw /root" in an initramfs
 * shell); for ENOSPC and EDQUOT, free space there ("df -h /var"). Any other error, or a NULL
 * path, leaves the hint alone. Returns -|err|. */
int vt_fs_error_hint(const char *path, const char *shown, int err);
/* Join a directory and a relative name with exactly one '/' ("/" + "etc" = "/etc"). Returns NULL
 * on ENOMEM. */
char *vt_path_join(const char *dir, const char *name);
/* Remove `name` under the directory `parent`, with everything below it, never following a
 * symlink (a symlink is removed, not what it points at). Best effort and silent: for leftovers
 * of an earlier crash, which the caller then writes anew or no longer reads. */
void vt_remove_tree_at(int parent, const char *name);
