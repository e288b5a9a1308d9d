/* The boot operation (`vfiotx boot`, run early at every boot, no terminal): open the engine;
 * on a host vfiotx never changed, nothing. Otherwise, when vfiotx-rescue left its marker
 * (journal/rescue_mark.h), record the rescue as a "rescue" entry of the files on disk, end a
 * trial in progress as rolled back (vt_trial_end()), leave a rebuild pending if the rescue did
 * not finish one, remove the marker, and treat this boot as a normal one. Otherwise record a trial
 * boot (vt_trial_boot()); on a fallback boot (GRUB took the last good entry) restore the good
 * snapshot's files and rebuild (vt_op_restore(), kind "fallback"), so a later kernel update cannot
 * bake the bad configuration back in, then end the trial (vt_trial_fallback_done()); on a normal
 * boot with a pending rebuild, complete it (a restore of the applied snapshot, kind "rebuild").
 *
 * Nothing is asked (the restores run with yes). The fallback is announced through
 * ui->warning before anything changes; the notes of ending the trial are returned in
 * res->notes (the caller shows them after the restore's result, as the order of events).
 *
 * Contract: 0 or negative errno with a message; never prints. res->restored is set when a
 * restore ran and succeeded (even when a later step failed); res->notes must be freed. */
#pragma once

#include <stdbool.h>

#include "engine/op_restore.h"
#include "engine/trial.h"

typedef struct vt_op_boot_result {
        vt_boot_kind kind;
        bool restored;                /* a restore ran (fallback, or the pending rebuild) */
        vt_op_restore_result restore; /* its result */
        vt_buf notes;                 /* from ending the trial on a fallback boot */
} vt_op_boot_result;

int vt_op_boot(const vt_op_env *env, const vt_op_ui *ui, vt_op_boot_result *res);
