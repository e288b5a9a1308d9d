#include "journal/rescue_mark.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

int vt_rescue_mark_write(const vt_root *root, const vt_rescue_mark *m)
{
        vt_file_meta meta = {0600, 0, 0, NULL, 0};
        char text[160];
        int n;

        n = snprintf(text, sizeof(text), "txn=%ld\ntime=%" PRId64 "\nrebuilt=%d\nfiles=%ld\n",
                     m->txn, m->time, m->rebuilt ? 1 : 0, m->files);
        return vt_atomic_write(root, VT_RESCUE_MARK_PATH, text, (size_t)n, &meta);
}

int vt_rescue_mark_read(const vt_root *root, vt_rescue_mark *out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        char *line, *save = NULL;
        int r;

        *out = (vt_rescue_mark){0};
        r = vt_root_read(root, VT_RESCUE_MARK_PATH, &b);
        if (r < 0)
                return r;
        if (!b.ptr)
                return 0; /* empty: the rescue was cut short before it wrote the values */
        for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '='), *end;
                long long v;

                if (!eq)
                        continue;
                *eq = '\0';
                errno = 0;
                v = strtoll(eq + 1, &end, 10);
                if (errno || end == eq + 1 || *end)
                        return vt_error_set(EBADMSG, "%s: '%s' is not a number",
                                            VT_RESCUE_MARK_PATH, line);
                if (strcmp(line, "txn") == 0)
                        out->txn = (long)v;
                else if (strcmp(line, "time") == 0)
                        out->time = v;
                else if (strcmp(line, "rebuilt") == 0)
                        out->rebuilt = v != 0;
                else if (strcmp(line, "files") == 0)
                        out->files = (long)v;
        }
        return 0;
}

int vt_rescue_mark_remove(const vt_root *root)
{
        return vt_atomic_remove(root, VT_RESCUE_MARK_PATH);
}
