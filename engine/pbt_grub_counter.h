/* The boot counter on a host that proxmox-boot-tool boots with GRUB (issue 16: its "GRUB mode":
 * /etc/kernel/proxmox-boot-uuids and no /etc/kernel/cmdline, as on Proxmox VE with root on ZFS
 * and legacy BIOS, or with Secure Boot).
 *
 * There GRUB never reads /boot: the firmware starts GRUB from one of the listed ESPs, and that
 * GRUB reads grub.cfg and grubenv from <ESP>/grub. `proxmox-boot-tool refresh` copies the
 * kernels to each ESP and runs update-grub with the ESP bound on /boot, so vfiotx's
 * /etc/grub.d/42_vfiotx is part of every ESP's grub.cfg and its last good entry reads
 * <ESP>/vfiotx/entry.cfg. The counter is backends/bootcount_grub.h's, in each ESP's grubenv;
 * the ESPs are where engine/esp_mounts.h mounts them (VT_PBT_ESP_DIR/<UUID>).
 *
 *   arm:       each ESP in proxmox-boot-uuids' order: grubenv armed in place, the ESP flushed.
 *              An ESP that already holds this trial is left as it is, so finishing an arming
 *              cut short never gives a boot back. The commit point is the last ESP's write:
 *              the counter counts as armed only when every ESP holds the trial.
 *   mark bad:  each ESP's grubenv gets tries 0 and vfiotx_fallback (GRUB boots the last good
 *              entry from whichever ESP the firmware picks).
 *   clear:     each ESP's vfiotx_* variables removed, flushed.
 *   preserve:  on each ESP the last good copies and entry.cfg under <ESP>/vfiotx
 *              (engine/last_good.h: copies first, entry.cfg last), flushed.
 * GRUB decrements only the grubenv of the ESP it started from; the counter read back is the
 * most advanced of them (a fallback anywhere, else the fewest tries left).
 *
 * Contract: 0 or a negative errno with a message; -ENOTSUP (with a hint) from the check. */
#pragma once

#include <stdbool.h>

#include "backends/bootcount_grub.h"
#include "fs/boot_flush.h"
#include "fs/root.h"

/* Can a trial be armed here? Every listed ESP mounted with <ESP>/grub/grubenv GRUB can write
 * (1024 bytes, a file system GRUB writes) and a grub.cfg with vfiotx's counter, and a flush
 * that puts the writes in place for GRUB (`flush` gets the last ESP's). */
int vt_pbt_grub_check(const vt_root *root, const char *sysfs, const char *proc,
                      vt_flush_report *flush);
int vt_pbt_grub_arm(const vt_root *root, long txn, unsigned tries, unsigned panic_s);
int vt_pbt_grub_mark_bad(const vt_root *root, long txn);
int vt_pbt_grub_clear(const vt_root *root);
/* `committed` (may be NULL): every ESP holds the trial (false after an arming cut short). */
int vt_pbt_grub_read(const vt_root *root, vt_bootcount *out, bool *committed);
int vt_pbt_grub_preserve(const vt_root *root, const char *proc, long txn);
