#include "journal/diff.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static int diff_file(const char *path, const vt_snap_file *a, const vt_snap_file *b, vt_buf *out)
{
        bool ap = a && a->present, bp = b && b->present;
        git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
        git_patch *patch = NULL;
        git_buf text = {0};
        char old_path[4096], new_path[4096];
        int r;

        if (!ap && !bp)
                return 0;
        if (ap && bp && vt_snap_file_equal(a, b))
                return 0;
        if (!ap)
                vt_buf_printf(out, "new file %s (mode %04o, owner %u:%u)\n", path,
                              (unsigned)b->meta.mode, (unsigned)b->meta.uid, (unsigned)b->meta.gid);
        else if (!bp)
                vt_buf_printf(out, "deleted file %s\n", path);
        else if (!vt_file_meta_equal(&a->meta, &b->meta))
                vt_buf_printf(out, "metadata of %s: mode %04o -> %04o, owner %u:%u -> %u:%u%s\n",
                              path, (unsigned)a->meta.mode, (unsigned)b->meta.mode,
                              (unsigned)a->meta.uid, (unsigned)a->meta.gid, (unsigned)b->meta.uid,
                              (unsigned)b->meta.gid,
                              a->meta.n_xattrs != b->meta.n_xattrs ? ", xattrs changed" : "");
        snprintf(old_path, sizeof(old_path), "%s", path + 1);
        snprintf(new_path, sizeof(new_path), "%s", path + 1);
        opts.context_lines = 3;
        r = git_patch_from_buffers(&patch, ap ? a->data.ptr : NULL, ap ? a->data.len : 0, old_path,
                                   bp ? b->data.ptr : NULL, bp ? b->data.len : 0, new_path, &opts);
        if (r == 0 && git_patch_num_hunks(patch) > 0)
                r = git_patch_to_buf(&text, patch);
        if (r == 0 && text.size) {
                /* libgit2 starts with a "diff --git" line; the ---/+++ lines say it all. */
                const char *body = strstr(text.ptr, "\n--- ");

                r = vt_buf_puts(out, body ? body + 1 : text.ptr);
        } else if (r < 0) {
                r = vt_error_set(EIO, "cannot compute the diff of %s", path);
        }
        git_buf_dispose(&text);
        git_patch_free(patch);
        return r;
}

int vt_diff_snapshots(const vt_snapshot *from, const vt_snapshot *to, vt_buf *out)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < from->n; i++)
                r = diff_file(from->files[i].path, &from->files[i],
                              vt_snapshot_find(to, from->files[i].path), out);
        for (size_t i = 0; r >= 0 && i < to->n; i++)
                if (!vt_snapshot_find(from, to->files[i].path))
                        r = diff_file(to->files[i].path, NULL, &to->files[i], out);
        return r;
}
