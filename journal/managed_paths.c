#include "journal/managed_paths.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

int vt_managed_paths_record(const vt_root *root, const vt_snapshot *s)
{
        _cleanup_buf_ vt_buf cur = VT_BUF_INIT, next = VT_BUF_INIT;
        vt_file_meta meta = {0600, 0, 0, NULL, 0};
        bool grown = false;
        int r;

        r = vt_root_read(root, VT_MANAGED_PATHS_PATH, &cur);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT)
                vt_buf_clear(&cur);
        if ((r = vt_buf_put(&next, vt_buf_cstr(&cur), cur.len)) < 0)
                return r;
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *needle = NULL;

                /* Look for "\n/path\n" in "\n" + list, so one path is never taken for the
                 * tail of another. */
                if (asprintf(&needle, "\n%s\n", s->files[i].path) < 0)
                        return -ENOMEM;
                if (strncmp(vt_buf_cstr(&cur), needle + 1, strlen(needle + 1)) == 0 ||
                    strstr(vt_buf_cstr(&cur), needle))
                        continue;
                if ((r = vt_buf_puts(&next, needle + 1)) < 0)
                        return r;
                grown = true;
        }
        if (!grown)
                return 0;
        return vt_atomic_write(root, VT_MANAGED_PATHS_PATH, next.ptr, next.len, &meta);
}

int vt_managed_paths_add_absent(const vt_root *root, vt_snapshot *s,
                                bool (*manageable)(const char *path))
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        int r = vt_root_read(root, VT_MANAGED_PATHS_PATH, &b);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *line = b.ptr, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (line[0] == '/' && manageable(line) && !vt_snapshot_find(s, line) &&
                    (r = vt_snapshot_put(s, line, NULL, 0, NULL)) < 0)
                        return r;
        }
        return 0;
}
