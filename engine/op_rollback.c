#include "engine/op_rollback.h"

#include <errno.h>
#include <stdio.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/trial.h"

static void warn(const vt_op_ui *ui, const char *text)
{
        if (ui && ui->warning)
                ui->warning(ui->userdata, text);
}

/* The journal cannot be read: restore the plain copy of the last good snapshot. */
static int rescue(const vt_op_env *env, const vt_op_ui *ui, const vt_op_rollback_req *req)
{
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, reason = VT_BUF_INIT;
        int r;

        r = vt_buf_printf(&reason, "%s\n",
                          vt_error_message() ? vt_error_message() : "journal damaged");
        if (r < 0)
                return r;
        warn(ui, vt_buf_cstr(&reason));
        warn(ui, "restoring the last good snapshot from its plain copy instead\n");
        if (!req->yes &&
            !(ui && ui->confirm &&
              ui->confirm(ui->userdata, "Restore the last good snapshot from its plain copy?")))
                return vt_error_hint(vt_error_set(ECANCELED, "not rolled back: no confirmation"),
                                     "pass -y to roll back without asking");
        vt_error_clear();
        r = vt_engine_rescue_from_copy(env->root, env->cmdline, &notes);
        vt_op_notes(ui, &notes);
        return r;
}

int vt_op_rollback(const vt_op_env *env, const vt_op_ui *ui, const vt_op_rollback_req *req,
                   vt_op_rollback_result *res)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        vt_op_restore_req restore = {.kind = "rollback",
                                     .question = "Roll back these changes?",
                                     .yes = req->yes,
                                     .no_rebuild = req->no_rebuild};
        vt_txn_info info = {0};
        char summary[256];
        vt_oid oid;
        vt_engine e;
        int r;

        *res = (vt_op_rollback_result){0};
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r == -EBADMSG && !req->which) {
                vt_engine_close(&e);
                res->rescued = true;
                return rescue(env, ui, req);
        }
        if (r < 0)
                goto out;
        if (!e.state.exists) {
                r = vt_error_set(ENOENT, "nothing to roll back: vfiotx has not changed %s",
                                 env->root);
                goto out;
        }
        if (req->which)
                r = vt_journal_find(e.journal, req->which, &oid);
        else
                oid = e.state.good;
        if (r >= 0)
                r = vt_journal_load(e.journal, &oid, &target, &info);
        if (r >= 0)
                r = vt_engine_complete_target(&e, &target);
        /* The journal opened, but the good snapshot cannot be read from it: that is as damaged
         * as a journal that does not open, and the plain copy is there for it. */
        if (r == -EBADMSG && !req->which) {
                vt_txn_info_free(&info);
                vt_engine_close(&e);
                res->rescued = true;
                return rescue(env, ui, req);
        }
        if (r < 0)
                goto out;
        res->target_txn = info.id;
        snprintf(summary, sizeof(summary), "roll back to %stransaction %ld (%s)",
                 req->which ? "" : "the last good ", info.id, info.summary ? info.summary : "");
        restore.summary = summary;
        r = vt_op_restore(&e, env, ui, &target, &restore, &res->restore);
        /* The trial's files are gone: a confirmation must not keep them as the good ones. */
        if (r >= 0 && vt_trial_in_progress(&e)) {
                _cleanup_buf_ vt_buf notes = VT_BUF_INIT;

                r = vt_trial_end_by_rollback(&e, &notes);
                vt_op_notes(ui, &notes);
        }
out:
        vt_txn_info_free(&info);
        vt_engine_close(&e);
        return r;
}
