/* What an editor hands back to the engine: the desired state of one file.
 *
 * Editors are pure: they get the current bytes of a file (or NULL when it does not exist) and
 * return the bytes it should have, or "absent" when the file should not exist (the engine
 * deletes it; absent and already missing is no change). They never touch the file system.
 * A file an editor did not need to change comes back byte-for-byte, so the engine can compare
 * with vt_file_out_changed() and write nothing.
 *
 * Contract: path is a static absolute host path ("/etc/modprobe.d/vfiotx.conf"); data is only
 * meaningful when present is true; vt_file_out_free() may be called on a zeroed struct. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

typedef struct vt_file_out {
        const char *path;
        bool present;
        vt_buf data;
} vt_file_out;

void vt_file_out_free(vt_file_out *f);
/* Does writing `f` change a file whose current bytes are `cur` (NULL: the file is missing)? */
bool vt_file_out_changed(const vt_file_out *f, const vt_buf *cur);

/* A list of malloc'd strings (module names, command-line arguments). Zeroed is empty. */
typedef struct vt_strv {
        char **items;
        size_t n;
} vt_strv;

int vt_strv_push(vt_strv *v, const char *s);
bool vt_strv_contains(const vt_strv *v, const char *s);
void vt_strv_free(vt_strv *v);
