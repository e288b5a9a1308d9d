#include "engine/op_boot.h"

#include <stdio.h>

#include "common/macro.h"

int vt_op_boot(const vt_op_env *env, const vt_op_ui *ui, vt_op_boot_result *res)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_engine e;
        int r;

        *res = (vt_op_boot_result){.kind = VT_BOOT_NORMAL, .notes = VT_BUF_INIT};
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r >= 0 && !e.state.exists)
                goto out; /* vfiotx never changed this host */
        if (r >= 0)
                r = vt_trial_boot(&e, env->proc, &res->kind, &notes);
        vt_op_notes(ui, &notes);
        if (r < 0)
                goto out;
        if (res->kind == VT_BOOT_FALLBACK) {
                vt_op_restore_req req = {.kind = "fallback",
                                         .summary = "fallback boot: restore the last good "
                                                    "snapshot and rebuild",
                                         .question = "",
                                         .yes = true};

                if (ui && ui->warning) {
                        char text[192];

                        snprintf(text, sizeof(text),
                                 "this is a fallback boot: the trial of transaction %ld did not "
                                 "come up healthy; restoring the last good snapshot\n",
                                 e.boot.trial_txn);
                        ui->warning(ui->userdata, text);
                }
                r = vt_journal_load(e.journal, &e.state.good, &target, NULL);
                if (r >= 0)
                        r = vt_op_restore(&e, env, ui, &target, &req, &res->restore);
                res->restored = r >= 0;
                if (r >= 0)
                        r = vt_trial_fallback_done(&e, &res->notes);
        } else if (e.boot.pending_rebuild) {
                /* The applied files are right; the initramfs and boot configuration are not
                 * yet: rebuild them for the applied snapshot. */
                vt_op_restore_req req = {.kind = "rebuild",
                                         .summary = "complete the pending rebuild",
                                         .question = "",
                                         .yes = true};

                r = vt_engine_head(&e, &target, NULL);
                if (r >= 0)
                        r = vt_op_restore(&e, env, ui, &target, &req, &res->restore);
                res->restored = r >= 0;
        }
out:
        vt_engine_close(&e);
        return r;
}
