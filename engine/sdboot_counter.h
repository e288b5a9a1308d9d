/* The boot counter on systemd-boot (issue 16): vfiotx's entries on the ESP kernel-install
 * writes to (backends/esp.h) and LoaderEntryDefault (engine/efivars_store.h); the names and
 * bytes are backends/bootcount_sdboot.h's. Each function leaves a state that boots after a
 * crash between any two of its steps:
 *
 *   arm:       older trial entries removed -> the trial entry (a copy of the entry the loader
 *              picks now, among the distribution's, with the saved LoaderEntryDefault) -> ESP
 *              flushed -> LoaderEntryDefault = "vfiotx-*" (the commit point; before it the
 *              loader boots as before and the trial entry is unused).
 *   mark bad:  the trial renamed "+0-DONE" (new name written, flushed, then every other name
 *              of the trial removed, a blessed one without a counter included): the pattern
 *              then matches the last good entry. Between the two, both names exist and the
 *              loader may boot the trial once more; that boot's mark bad finishes the job.
 *   clear:     LoaderEntryDefault restored from the trial entry (the commit point: the loader
 *              no longer looks at vfiotx's entries), then the trial entries removed, flushed.
 *   preserve:  the last good copies under <ESP>/vfiotx and vfiotx-0-last-good.conf
 *              (engine/last_good.h: copies first, the entry last), flushed.
 *
 * Contract: 0 or a negative errno with a message (-ENOENT: no systemd-boot entries). */
#pragma once

#include <stdbool.h>

#include "backends/bootcount_grub.h"
#include "fs/root.h"

/* Can a trial be armed here? -ENOTSUP with the reason and a hint: no efivarfs or a read-only
 * one, a one-shot entry set, "@saved" as the default, /etc/kernel/tries (every rebuild would add
 * counted entries), no entry the loader boots. */
int vt_sdboot_counter_check(const vt_root *root, const char *sysfs);
int vt_sdboot_counter_arm(const vt_root *root, const char *sysfs, long txn, unsigned tries,
                          unsigned panic_s);
int vt_sdboot_counter_mark_bad(const vt_root *root, const char *sysfs);
int vt_sdboot_counter_clear(const vt_root *root, const char *sysfs);
/* The counter from the ESP; `committed` (may be NULL): LoaderEntryDefault is vfiotx's pattern,
 * so the loader follows the trial (false after an arming cut before its commit point). */
int vt_sdboot_counter_read(const vt_root *root, const char *sysfs, vt_bootcount *out,
                           bool *committed);
/* Keep the running boot as the last good entry on the ESP. */
int vt_sdboot_preserve(const vt_root *root, const char *proc, long txn);
