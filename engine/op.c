/* What every operation shares: opening the engine, the rebuild hooks of a transaction, and
 * finishing a pending rebuild. */
#include "engine/op.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/op_try.h"

void vt_op_notes(const vt_op_ui *ui, vt_buf *notes)
{
        if (notes->len && ui && ui->notes)
                ui->notes(ui->userdata, vt_buf_cstr(notes));
        vt_buf_clear(notes);
}

int vt_op_open(vt_engine *e, const vt_op_env *env, unsigned flags, const vt_op_ui *ui)
{
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        int r;

        /* Changing the live host needs root: say so, not which directory could not be made. */
        if ((flags & VT_ENGINE_WRITE) && geteuid() != 0 && strcmp(env->root, "/") == 0) {
                *e = (vt_engine){.lock_fd = -1, .root = VT_ROOT_INIT};
                vt_error_set(EPERM, "must be run as root: changing the host writes /etc, /boot "
                                    "and /var/lib/vfiotx");
                return vt_error_hint(EPERM, "run it as root ('sudo %s')",
                                     env->cmdline ? env->cmdline : "vfiotx ...");
        }
        r = vt_engine_open(e, env->root, flags, env->cmdline,
                           (flags & VT_ENGINE_WRITE) ? &notes : NULL);
        e->sysfs = env->sysfs ? env->sysfs : "/sys";
        /* A try whose vfiotx died, or whose time ran out unseen, ends before anything else. */
        if (r >= 0 && (flags & VT_ENGINE_WRITE))
                r = vt_try_recover(e, env, &notes);
        vt_op_notes(ui, &notes);
        return r;
}

static int run(void *userdata, vt_buf *record)
{
        vt_op_rebuild *rb = userdata;
        int r = vt_rebuild_run(&rb->ctx, &rb->plan, record);

        if (r < 0)
                return r;
        vt_buf_clear(&rb->report);
        return vt_rebuild_verify(rb->facts, &rb->plan, &rb->expect, &rb->report);
}

static int undo(void *userdata, vt_buf *record)
{
        vt_op_rebuild *rb = userdata;

        if (rb->ui && rb->ui->undoing)
                rb->ui->undoing(rb->ui->userdata);
        return vt_rebuild_run(&rb->ctx, &rb->plan, record);
}

int vt_op_rebuild_prepare(const vt_op_env *env, const vt_op_ui *ui, vt_facts *facts,
                          const vt_snapshot *disk, const vt_snapshot *target, bool everything,
                          vt_op_rebuild *rb)
{
        _cleanup_free_ const char **changed = calloc(disk->n + target->n + 1, sizeof(char *));
        size_t n = 0;

        *rb = (vt_op_rebuild){.ui = ui, .facts = facts};
        if (!changed)
                return -ENOMEM;
        /* The paths whose bytes change; with a pending rebuild, every managed path. */
        for (size_t i = 0; i < target->n; i++) {
                const vt_snap_file *now = vt_snapshot_find(disk, target->files[i].path);

                if (everything || !now || !vt_snap_file_equal(now, &target->files[i]))
                        changed[n++] = target->files[i].path;
        }
        for (size_t i = 0; everything && i < disk->n; i++)
                if (!vt_snapshot_find(target, disk->files[i].path))
                        changed[n++] = disk->files[i].path;
        rb->ctx.root = facts->root;
        rb->ctx.chroot = !env->no_chroot && strcmp(facts->root->path, "/") != 0;
        rb->ctx.timeout_ms = env->rebuild_timeout_s * 1000;
        rb->ctx.progress = ui ? ui->progress : NULL;
        rb->ctx.userdata = ui ? ui->userdata : NULL;
        rb->expect.files = target;
        return vt_rebuild_make(facts, changed, n, &rb->plan);
}

void vt_op_rebuild_attach(vt_op_rebuild *rb, vt_txn_request *req)
{
        if (rb->plan.n == 0)
                return;
        req->rebuild = run;
        req->rebuild_undo = undo;
        req->userdata = rb;
}

void vt_op_rebuild_free(vt_op_rebuild *rb)
{
        vt_rebuild_plan_free(&rb->plan);
        vt_buf_free(&rb->report);
}

int vt_op_complete_rebuild(vt_engine *e, vt_op_rebuild *rb)
{
        int r = vt_rebuild_run(&rb->ctx, &rb->plan, NULL);

        if (r >= 0)
                r = vt_rebuild_verify(rb->facts, &rb->plan, &rb->expect, &rb->report);
        if (r >= 0)
                r = vt_engine_set_pending_rebuild(e, false);
        return r;
}
