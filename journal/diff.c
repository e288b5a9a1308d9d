#include "journal/diff.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *action_of(const vt_snap_file *a, const vt_snap_file *b)
{
        bool ap = a && a->present, bp = b && b->present;

        if (!ap)
                return "create";
        if (!bp)
                return "delete";
        if (a->data.len == b->data.len && memcmp(a->data.ptr, b->data.ptr, a->data.len) == 0)
                return "metadata";
        return "modify";
}

static int add_change(vt_diff_changes *out, const char *path, const vt_snap_file *a,
                      const vt_snap_file *b)
{
        vt_diff_change c = {.diff = VT_BUF_INIT};
        vt_diff_change *items;
        int r = diff_file(path, a, b, &c.diff);

        if (r < 0 || c.diff.len == 0) {
                vt_buf_free(&c.diff);
                return r;
        }
        items = realloc(out->items, (out->n + 1) * sizeof(*items));
        c.path = strdup(path);
        if (!items || !c.path) {
                if (items)
                        out->items = items;
                free(c.path);
                vt_buf_free(&c.diff);
                return -ENOMEM;
        }
        c.action = action_of(a, b);
        out->items = items;
        out->items[out->n++] = c;
        return 0;
}

int vt_diff_changes_list(const vt_snapshot *from, const vt_snapshot *to, vt_diff_changes *out)
{
        int r = 0;

        *out = (vt_diff_changes){0};
        for (size_t i = 0; r >= 0 && i < from->n; i++)
                r = add_change(out, from->files[i].path, &from->files[i],
                               vt_snapshot_find(to, from->files[i].path));
        for (size_t i = 0; r >= 0 && i < to->n; i++)
                if (!vt_snapshot_find(from, to->files[i].path))
                        r = add_change(out, to->files[i].path, NULL, &to->files[i]);
        if (r < 0)
                vt_diff_changes_free(out);
        return r;
}

void vt_diff_changes_free(vt_diff_changes *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].path);
                vt_buf_free(&c->items[i].diff);
        }
        free(c->items);
        *c = (vt_diff_changes){0};
}
