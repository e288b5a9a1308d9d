#include "engine/op_restore.h"

#include <errno.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/macro.h"
#include "journal/diff.h"

int vt_op_restore(vt_engine *e, const vt_op_env *env, const vt_op_ui *ui, vt_snapshot *target,
                  const vt_op_restore_req *o, vt_op_restore_result *res)
{
        _cleanup_snapshot_ vt_snapshot head = {0}, disk = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, diff = VT_BUF_INIT;
        _cleanup_free_ const char **paths = NULL;
        vt_txn_request req = {.kind = o->kind, .summary = o->summary};
        vt_op_rebuild rb = {0};
        vt_facts facts;
        int r;

        *res = (vt_op_restore_result){0};
        vt_facts_init(&facts, &e->root, env->sysfs, env->proc);
        /* A path the head manages and the target does not list did not exist then (an
         * imported archive); rollback and the fallback complete their target from the journal's
         * history first (vt_engine_complete_target()). */
        r = vt_engine_head(e, &head, NULL);
        for (size_t i = 0; r >= 0 && i < head.n; i++)
                if (!vt_snapshot_find(target, head.files[i].path))
                        r = vt_snapshot_put(target, head.files[i].path, NULL, 0, NULL);
        if (r >= 0 && !(paths = calloc(target->n + 1, sizeof(*paths))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < target->n; i++)
                paths[i] = target->files[i].path;
        if (r >= 0)
                r = vt_engine_capture(e, paths, &disk);
        if (r >= 0)
                r = vt_diff_snapshots(&disk, target, &diff);
        if (r < 0)
                return r;
        if (!o->no_rebuild) {
                r = vt_op_rebuild_prepare(env, ui, &facts, &disk, target, e->boot.pending_rebuild,
                                          &rb);
                if (r < 0)
                        goto out;
        }
        /* Nothing to write, and nothing pending that vfiotx could rebuild. */
        if (diff.len == 0 && rb.plan.n == 0) {
                res->nothing_to_do = true;
                goto out;
        }
        if (diff.len && ui && ui->show_diff)
                ui->show_diff(ui->userdata, diff.ptr);
        if (ui && ui->show_files)
                ui->show_files(ui->userdata, &disk, target);
        if (!o->no_rebuild && ui && ui->show_rebuild)
                ui->show_rebuild(ui->userdata, &rb.plan);
        if (!o->yes && !(ui && ui->confirm && ui->confirm(ui->userdata, o->question))) {
                r = vt_error_hint(vt_error_set(ECANCELED, "nothing changed: no confirmation"),
                                  "pass -y to go ahead without asking (stdin is not a "
                                  "terminal, or the answer was not yes)");
                goto out;
        }
        req.pending_rebuild = o->no_rebuild;
        if (!o->no_rebuild)
                vt_op_rebuild_attach(&rb, &req);
        r = vt_engine_transact(e, &req, target, &res->txn, &notes);
        vt_op_notes(ui, &notes);
        if (r >= 0 && res->txn == 0 && rb.plan.n) {
                /* The files already match; only the artifacts were behind. */
                r = vt_op_complete_rebuild(e, &rb);
                res->rebuilt_pending = r >= 0;
        }
        if (r >= 0) {
                res->no_rebuild = o->no_rebuild && res->txn;
                res->rebuild_steps = rb.plan.n;
        }
out:
        vt_op_rebuild_free(&rb);
        vt_facts_free(&facts);
        return r;
}
