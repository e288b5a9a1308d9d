/* The host root (--root): every managed path is resolved inside it and never escapes it.
 *
 * Paths given to this module are absolute host paths ("/etc/modules"); they are resolved
 * relative to the root directory, component by component, following symlinks the way a chroot
 * into the root would see them (an absolute link target starts again at the root). A `..` that
 * would climb above the root, or a link that does, is refused with -EXDEV and a message that
 * names the link, so vfiotx never reads or writes a file outside the root. More than 40 links
 * in one resolution is -ELOOP.
 *
 * Contract: functions return 0 or a negative errno and set a message with vt_error_set(). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/buf.h"

typedef struct vt_root {
        int fd;     /* O_PATH|O_DIRECTORY descriptor of the root */
        char *path; /* the root as given, for messages ("/" or "/mnt/host") */
} vt_root;

#define VT_ROOT_INIT                                                                               \
        {                                                                                          \
                -1, NULL                                                                           \
        }

/* Open the root directory. -ENOENT / -ENOTDIR with a clear message when it is not a directory. */
int vt_root_open(vt_root *root, const char *path);
void vt_root_close(vt_root *root);

/* Resolve an absolute host path to a canonical root-relative path without leading '/' ("." for
 * the root itself), following symlinks inside the root. The last component need not exist
 * (its parent must, unless `allow_missing_parents`); *out is malloc'd. */
int vt_root_resolve(const vt_root *root, const char *abspath, bool allow_missing_parents,
                    char **out);

/* The path as the user sees it: root->path joined with the host path ("/mnt/host/etc/modules"),
 * or the host path itself when the root is "/". malloc'd; NULL on ENOMEM. */
char *vt_root_display(const vt_root *root, const char *abspath);
/* vt_fs_error_hint() (common/fileio.h) for abspath, a path inside the root. */
int vt_root_fs_hint(const vt_root *root, const char *abspath, int err);

/* Read a file inside the root. Returns -ENOENT when it does not exist (message set). */
int vt_root_read(const vt_root *root, const char *abspath, vt_buf *out);

/* Open a directory inside the root (O_DIRECTORY|O_CLOEXEC, read-only). */
int vt_root_opendir(const vt_root *root, const char *abspath, int *out_fd);

/* Does the path exist inside the root (after resolution)? Errors other than ENOENT are
 * returned as negative errno. Returns 1 / 0. */
int vt_root_exists(const vt_root *root, const char *abspath);

/* Create the directory and its missing parents inside the root (mode 0755, owner root), each
 * new directory's parent fsync'ed so the entries survive a crash. */
int vt_root_mkdir_p(const vt_root *root, const char *absdir);
