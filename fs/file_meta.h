/* What a file is besides its bytes: mode, owner, group and extended attributes.
 *
 * Git trees cannot hold owners, most modes or xattrs, so the journal keeps them in its own
 * manifest; this module reads them from an open file and puts them back on one. Extended
 * attributes include security.* (SELinux labels, capabilities) and system.posix_acl_*, so a
 * restored file carries the same label and ACL it had.
 *
 * Contract: 0 or negative errno with a message. vt_file_meta_apply_fd() sets the owner first,
 * then the mode (chown clears set-id bits), then makes the xattrs exactly the given set. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"

typedef struct vt_xattr {
        char *name;
        vt_buf value;
} vt_xattr;

typedef struct vt_file_meta {
        mode_t mode; /* permission bits only (07777) */
        uid_t uid;
        gid_t gid;
        vt_xattr *xattrs; /* sorted by name */
        size_t n_xattrs;
} vt_file_meta;

/* The metadata of a file vfiotx creates when there is nothing to copy from: 0644 root:root. */
#define VT_FILE_META_DEFAULT                                                                       \
        {                                                                                          \
                0644, 0, 0, NULL, 0                                                                \
        }

int vt_file_meta_read_fd(int fd, vt_file_meta *out);
int vt_file_meta_apply_fd(int fd, const vt_file_meta *meta);
int vt_file_meta_copy(vt_file_meta *dst, const vt_file_meta *src);
int vt_file_meta_add_xattr(vt_file_meta *m, const char *name, const void *value, size_t len);
bool vt_file_meta_equal(const vt_file_meta *a, const vt_file_meta *b);
void vt_file_meta_free(vt_file_meta *m);
