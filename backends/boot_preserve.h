/* The last good boot: the running kernel, its initramfs and its command line, kept under
 * <root>/boot/vfiotx/ for GRUB's 'vfiotx-last-good' entry (scripts/grub.d/42_vfiotx).
 *
 * This module plans and reads; engine/last_good.h writes (every file replaced atomically
 * through fs/atomic_file.h). Layout:
 *   vmlinuz-<kver>.<txn>     copy of /boot/vmlinuz-<kver>
 *   initrd.img-<kver>.<txn>  copy of /boot/initrd.img-<kver> (or initramfs-<kver>.img)
 *   entry.cfg                GRUB script: comment lines "# kver=", "# txn=", "# cmdline=",
 *                            then the linux and initrd lines that boot the copies
 * entry.cfg is the commit point: the copies are written first and it is written last, so after
 * a crash it names either the old copies (still there) or the new ones (complete), never a
 * mix; copies it does not name are removed only after it is written. GRUB reads entry.cfg at
 * boot (`source`), so a new good configuration needs no grub-mkconfig run. `txn` (the good
 * snapshot's transaction number) is in the names so that a new good configuration never
 * rewrites a file the current entry boots.
 *
 * The command line is the running one (<proc>/cmdline: it booted, so it is good) without what
 * GRUB adds (BOOT_IMAGE=, initrd=), without vfiotx's markers (vfiotx.trial=, vfiotx.fallback=)
 * and without panic=: a last good boot that cannot find its root must wait at the initramfs
 * shell, not reboot in a loop. It must hold root=. vfiotx.fallback=1 is added so `vfiotx boot`
 * knows it came up on the fallback. Words are written for GRUB: the kernel's double quotes are
 * taken off (GRUB puts a word with spaces back in quotes for the kernel) and a word with
 * characters GRUB would interpret is single-quoted.
 *
 * The engine preserves only while the state is good (never during a trial or a fallback boot),
 * before it arms: a trial never rewrites these files.
 *
 * Contract: 0 or negative errno with a message (common/error.h); -ENOSPC with a hint when
 * /boot lacks room for the copies; -ENOENT when the running kernel's image is not in /boot. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "fs/root.h"

#define VT_PRESERVE_DIR   "/boot/vfiotx"
#define VT_PRESERVE_ENTRY "/boot/vfiotx/entry.cfg"

/* ---- pure ---- */

/* The last good command line from the running one (see above), markers added. -EINVAL with a
 * message when it has no root= or ends inside an open quote. */
int vt_last_good_cmdline(const char *proc_cmdline, size_t len, vt_buf *out);

/* One kernel command-line word as a GRUB script word. */
int vt_grub_quote_word(const char *word, size_t len, vt_buf *out);

typedef struct vt_preserve_plan {
        char *kver;
        long txn;
        char *src_kernel; /* host paths: "/boot/vmlinuz-6.1.0-26-amd64" */
        char *src_initrd; /* NULL when the kernel has no initramfs */
        char *dst_kernel; /* "/boot/vfiotx/vmlinuz-6.1.0-26-amd64.7" */
        char *dst_initrd; /* NULL when src_initrd is */
        char *dir;        /* where the copies go: VT_PRESERVE_DIR, or <ESP>/vfiotx */
        char *entry_path; /* the entry written last: VT_PRESERVE_ENTRY, or systemd-boot's
                           * <ESP>/loader/entries/vfiotx-0-last-good.conf */
        vt_buf cmdline;   /* the last good command line (one line, no newline) */
        vt_buf entry;     /* entry.cfg's bytes */
} vt_preserve_plan;

void vt_preserve_plan_free(vt_preserve_plan *p);

/* Decide from facts: the running kernel version, the running command line, the names of the
 * files in /boot (NULL-terminated) and the good transaction number. */
int vt_boot_preserve_decide(const char *kver, const char *proc_cmdline, size_t cmdline_len,
                            const char *const *boot_files, long txn, vt_preserve_plan *out);

/* ---- I/O ---- */

/* The same plan for systemd-boot (issue 16): the copies under <esp>/vfiotx/ (systemd-boot reads
 * only its ESP) and, as the entry, backends/bootcount_sdboot.h's last good entry. */
int vt_boot_preserve_for_esp(vt_preserve_plan *p, const char *esp);

/* The same plan for GRUB on proxmox-boot-tool's ESPs in its GRUB mode: the copies and entry.cfg
 * under <esp>/vfiotx/, where that ESP's grub.cfg looks for them. */
int vt_boot_preserve_for_grub_esp(vt_preserve_plan *p, const char *esp);

/* Gather the facts (<proc>/sys/kernel/osrelease, <proc>/cmdline, the root's /boot) and decide. */
int vt_boot_preserve_plan(const vt_root *root, const char *proc, long txn, vt_preserve_plan *out);

/* Carrying the plan out (the copies, entry.cfg, the pruning) is the engine's:
 * engine/last_good.h. */

/* What entry.cfg says is preserved now; -ENOENT when nothing is. `present` tells whether the
 * files it names exist. */
typedef struct vt_preserved {
        char *kver;
        long txn;
        char *cmdline;
        char *kernel; /* host paths of the copies */
        char *initrd; /* NULL when none */
        bool present;
} vt_preserved;

int vt_boot_preserved_read(const vt_root *root, vt_preserved *out);
void vt_preserved_free(vt_preserved *p);
