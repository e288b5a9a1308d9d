/* The boot-counted trial (docs/bootcount.md): the state machine over the state file, grubenv
 * and the journal. Every transition is a journal entry; the state file and grubenv are written
 * in an order that survives a crash between any two steps.
 *
 *   good --apply (arm N)--> armed --trial boot--> trying --confirm--> good
 *                                                    \--health failed / deadline--> marked-bad
 *   armed/trying/marked-bad --fallback boot (GRUB: tries exhausted, or the entry picked by
 *   hand)--> rolled-back (reason): the good snapshot's files restored and rebuilt.
 *
 * Arm (after the apply transaction committed): state "armed" + entry, then grubenv (the commit
 * point of arming; a crash before it leaves state armed with a clean grubenv, which `boot`
 * reports as a trial that never started). Confirm: the good snapshot moves, then grubenv is
 * cleared (the commit point), then the state and entry; a crash before the clear keeps counting
 * and the next trial boot confirms again. Fallback: the restore transaction first, then
 * grubenv cleared, then the state; a crash before the clear boots the last good entry again
 * and the (idempotent) restore runs again.
 *
 * Contract: 0 or negative errno with a message; never prints; `notes` gets lines for the user. */
#pragma once

#include <stdbool.h>

#include "backends/bootcount_grub.h"
#include "common/buf.h"
#include "engine/boot_fs.h"
#include "engine/engine.h"
#include "engine/facts.h"

#define VT_TRIAL_DEFAULT_TRIES 3
#define VT_TRIAL_PANIC_S       10

/* Can a trial be armed on this root? -ENOTSUP with the reason and a hint (--no-arm) when not:
 * not GRUB, vfiotx's GRUB script not installed, a unit that confirms the trial or restores after
 * a fallback (vfiotx-boot.service, vfiotx-confirm.service, vfiotx-deadline.timer) not installed,
 * disabled or masked (backends/units.h: nothing would confirm a healthy trial, which would then
 * fall back), a grubenv GRUB cannot write, a /boot whose writes cannot be put in place for GRUB
 * (engine/boot_fs.h: -EPERM without CAP_SYS_ADMIN, a file system that can be neither
 * checkpointed nor frozen). `flush` (may be NULL) gets how /boot/grub (or the ESP) is flushed
 * there. Reads only (the flush is a dry run); the boot path comes from `facts`. `sdboot` (may be
 * NULL) is set when the counter is systemd-boot's entries on the ESP rather than GRUB's grubenv. */
int vt_trial_check(vt_facts *facts, vt_flush_report *flush, bool *sdboot);
/* The counter as the boot loader will read it: grubenv, or systemd-boot's trial entry. */
int vt_trial_counter_read(vt_engine *e, vt_bootcount *bc);
/* Is a trial armed, running or marked bad? A change of the files must wait for its end. */
bool vt_trial_in_progress(const vt_engine *e);
/* -EBUSY with what to do, for a change asked while a trial is in progress. */
int vt_trial_refuse_busy(const vt_engine *e);
/* Finish an arming cut short between the state file and grubenv (its commit point). */
int vt_trial_recover(vt_engine *e, vt_buf *notes);

/* Keep the running (good) boot as the last good entry under /boot/vfiotx/ — only while no
 * trial is in progress. */
int vt_trial_preserve(vt_engine *e, const char *proc);

/* Arm the applied transaction `txn` for `tries` boots. */
int vt_trial_arm(vt_engine *e, long txn, unsigned tries, vt_buf *notes);

typedef enum vt_boot_kind {
        VT_BOOT_NORMAL = 0,
        VT_BOOT_TRIAL,    /* vfiotx.trial=<txn> on the command line */
        VT_BOOT_FALLBACK, /* vfiotx.fallback=1: the caller restores the good snapshot, then
                           * calls vt_trial_fallback_done() */
} vt_boot_kind;

/* At boot: read <proc>/cmdline and grubenv, record the trial boot (state trying), or say that
 * this is a fallback boot. */
int vt_trial_boot(vt_engine *e, const char *proc, vt_boot_kind *kind, vt_buf *notes);
/* After the fallback boot restored the good snapshot: grubenv cleared, state rolled back. */
int vt_trial_fallback_done(vt_engine *e, vt_buf *notes);

/* The trial (or the applied snapshot) is good: good ref and plain copy, grubenv cleared, state,
 * and (when `proc` is given: the running system is the trial) the last good entry renewed. */
int vt_trial_confirm(vt_engine *e, const char *proc, vt_buf *notes);
/* A rollback during a trial ends it: the files on trial are gone, so GRUB stops counting
 * (grubenv cleared, the commit point) and nothing can confirm it later; state rolled back, an
 * "end-trial" entry. No-op without a trial in progress. */
int vt_trial_end_by_rollback(vt_engine *e, vt_buf *notes);
/* The same with another reason ("rescue: vfiotx-rescue restored the last good snapshot ..."). */
int vt_trial_end(vt_engine *e, const char *reason, vt_buf *notes);
/* The trial is bad (`reason`): grubenv makes the next boot fall back. */
int vt_trial_mark_bad(vt_engine *e, const char *reason, vt_buf *notes);
