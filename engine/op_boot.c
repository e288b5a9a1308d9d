#include "engine/op_boot.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "common/error.h"
#include "common/macro.h"
#include "journal/rescue_mark.h"

/* vfiotx-rescue restored the plain good copy from the initramfs and left its marker: the files
 * changed without the journal, so record them as a "rescue" entry, end a trial the rescue made
 * moot (its files are gone), leave a rebuild pending when the rescue could not finish one, and
 * remove the marker last. A crash before the removal records the rescue again at the next boot:
 * a second entry rather than a lost one. */
static int record_rescue(vt_engine *e, vt_buf *notes, bool *rescued)
{
        char summary[256], when[64] = "an unknown time";
        vt_rescue_mark m;
        struct tm tm;
        time_t t;
        long txn;
        int r;

        *rescued = false;
        r = vt_rescue_mark_read(&e->root, &m);
        if (r == -ENOENT) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        t = (time_t)m.time;
        if (m.time > 0 && gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        snprintf(summary, sizeof(summary),
                 "vfiotx-rescue restored the last good snapshot (transaction %ld) from "
                 "its plain copy at %s%s",
                 m.txn, when, m.rebuilt ? "" : "; the boot artifacts are still to rebuild");
        r = vt_engine_record_disk(e, "rescue", summary, NULL, &txn);
        if (r < 0)
                return r;
        vt_buf_printf(notes, "recorded as transaction %ld: %s\n", txn, summary);
        if (!m.rebuilt)
                r = vt_engine_set_pending_rebuild(e, true);
        if (r >= 0)
                r = vt_trial_end(e, "rescue: vfiotx-rescue restored the last good snapshot", notes);
        if (r >= 0)
                r = vt_rescue_mark_remove(&e->root);
        *rescued = r >= 0;
        return r;
}

int vt_op_boot(const vt_op_env *env, const vt_op_ui *ui, vt_op_boot_result *res)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        bool rescued = false;
        vt_engine e;
        int r;

        *res = (vt_op_boot_result){.kind = VT_BOOT_NORMAL, .notes = VT_BUF_INIT};
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r >= 0 && !e.state.exists)
                goto out; /* vfiotx never changed this host */
        if (r >= 0)
                r = record_rescue(&e, &notes, &rescued);
        /* After a rescue this boot runs the rescued files, whatever GRUB's counter said when it
         * booted: neither a trial of the files the rescue removed nor a fallback to redo. */
        if (r >= 0 && !rescued)
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
                        r = vt_engine_complete_target(&e, &target);
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
