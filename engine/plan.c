#include "engine/plan.h"

#include <errno.h>

#include "backends/kernels.h"
#include "backends/modules.h"
#include "common/error.h"
#include "common/macro.h"
#include "journal/atomic_file.h"

void vt_plan_free(vt_plan *p)
{
        vt_snapshot_free(&p->target);
        vt_buf_free(&p->why);
}

/* Put an editor's output for `path` into the target, keeping the current file's metadata. */
static int put_edit(const vt_root *root, vt_plan *p, const char *path, const vt_buf *data)
{
        vt_file_meta meta = VT_FILE_META_DEFAULT;
        int r = vt_atomic_stat(root, path, &meta);

        if (r < 0 && r != -ENOENT)
                return r;
        r = vt_snapshot_put(&p->target, path, vt_buf_cstr(data), data->len, &meta);
        vt_file_meta_free(&meta);
        return r;
}

static int plan_modules(const vt_root *root, vt_plan *p)
{
        _cleanup_buf_ vt_buf cur = VT_BUF_INIT, out = VT_BUF_INIT;
        vt_kernel_list kernels = {0};
        const char *wanted[5];
        bool exists;
        int r;

        r = vt_kernels_scan(root, &kernels);
        if (r < 0)
                return r;
        r = vt_modules_wanted(&kernels, wanted, &p->why);
        vt_kernels_free(&kernels);
        if (r < 0)
                return r;
        r = vt_root_read(root, VT_MODULES_PATH, &cur);
        exists = r >= 0;
        if (r < 0 && r != -ENOENT)
                return r;
        r = vt_modules_edit(exists ? &cur : NULL, wanted, &out);
        if (r < 0)
                return r;
        return put_edit(root, p, VT_MODULES_PATH, &out);
}

int vt_plan_compute(const vt_root *root, vt_plan *out)
{
        int r;

        *out = (vt_plan){0};
        r = plan_modules(root, out);
        if (r < 0)
                vt_plan_free(out);
        return r;
}
