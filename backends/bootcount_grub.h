/* GRUB boot counting: the grubenv variables that arm a trial boot, and whether GRUB can write
 * its environment block on this /boot at all.
 *
 * The counter lives in GRUB's environment block (/boot/grub/grubenv on Debian, BIOS and EFI
 * alike: the EFI stub config sets $prefix to /boot/grub). The script /etc/grub.d/42_vfiotx
 * (scripts/grub.d/) puts code into grub.cfg that runs on every boot, before the menu:
 *
 *   vfiotx_fallback set           -> default=vfiotx-last-good (GRUB gave up earlier; stays so
 *                                    until userspace has restored the good files)
 *   vfiotx_trial set, tries 1..9  -> tries - 1 (an if-chain: GRUB script has no arithmetic),
 *                                    save_env, read back; the default (trial) entry boots with
 *                                    $vfiotx_trial_args = "vfiotx.trial=<txn> panic=<s>"
 *   vfiotx_trial set, tries 0, empty or garbage, or the decrement did not reach the disk
 *                                 -> vfiotx_fallback=<txn>, save_env, default=vfiotx-last-good
 *
 * Variables (all decimal, nothing else is ever written there by vfiotx):
 *   vfiotx_trial     the transaction number of the armed trial; absent when none
 *   vfiotx_tries     boots of the trial left (0-9); GRUB decrements it before each trial boot
 *   vfiotx_panic     seconds for panic= on the trial command line
 *   vfiotx_fallback  the trial GRUB gave up on (set by GRUB only); cleared by userspace
 * Other variables of the block (saved_entry, next_entry, boot_success...) are kept as they are.
 *
 * The grubenv format (GRUB's grub-core/lib/envblk.c): exactly 1024 bytes, the line
 * "# GRUB Environment Block", then "name=value" lines (a backslash or newline in a value is
 * escaped with a backslash), then '#' up to the end. GRUB writes the block in place through the
 * file's block list and never changes its size; it cannot write on btrfs, ZFS, LVM/device-mapper
 * or md RAID. A counter there silently never counts (the script's read-back then boots the last
 * good entry, but a trial never happens): vt_grubenv_check() refuses those before arming.
 *
 * Editing is pure (vt_grubenv_parse/format and the vt_bootcount_* functions); reading goes
 * through fs/root.h (vt_grubenv_load). Writing the block is the engine's
 * (engine/grubenv_store.h: in place, as GRUB's save_env does).
 *
 * Contract: 0 or negative errno with a message (common/error.h): -EBADMSG for a malformed
 * block or value, -EINVAL for an argument out of range, -ENOSPC when the variables do not fit
 * in 1024 bytes, -ENOTSUP (with a hint) when GRUB cannot write the block on this /boot. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "fs/root.h"

#define VT_GRUBENV_PATH      "/boot/grub/grubenv"
#define VT_GRUBENV_SIZE      1024
#define VT_GRUBENV_SIGNATURE "# GRUB Environment Block\n"

#define VT_GRUBENV_TRIAL    "vfiotx_trial"
#define VT_GRUBENV_TRIES    "vfiotx_tries"
#define VT_GRUBENV_PANIC    "vfiotx_panic"
#define VT_GRUBENV_FALLBACK "vfiotx_fallback"

/* The most tries the script's if-chain counts down from. */
#define VT_BOOTCOUNT_MAX_TRIES 9
/* panic= bounds: long enough to read a message, short enough that a failed try is quick. */
#define VT_BOOTCOUNT_MIN_PANIC 1
#define VT_BOOTCOUNT_MAX_PANIC 600

/* The GRUB variable the script sets to "vfiotx.trial=<txn> panic=<s>" during a trial boot and to
 * "" otherwise. The normal entries' command line must carry this reference as one word: add it
 * to GRUB_CMDLINE_LINUX_DEFAULT (escaped for sh: "quiet \$vfiotx_trial_args"), as Debian's
 * 10_linux does with $vt_handoff; grub-mkconfig copies it into every linux line and GRUB
 * expands it at boot. */
#define VT_GRUB_TRIAL_ARGS_REF "$vfiotx_trial_args"
/* The menu entry id of the last good configuration (backends/boot_preserve.h). */
#define VT_GRUB_LAST_GOOD_ID "vfiotx-last-good"
/* The line grub-mkconfig writes before the script's output: proof grub.cfg has the counter. */
#define VT_GRUB_SCRIPT_NAME "42_vfiotx"

/* Command-line markers. */
#define VT_CMDLINE_TRIAL    "vfiotx.trial"    /* =<txn>: a trial boot */
#define VT_CMDLINE_FALLBACK "vfiotx.fallback" /* =1: the last good entry */

/* ---- the environment block (pure) ---- */

typedef struct vt_grubenv_var {
        char *name;  /* NULL for a comment line, kept in its place */
        char *value; /* unescaped; a comment's whole line without its newline */
} vt_grubenv_var;

typedef struct vt_grubenv {
        vt_grubenv_var *vars; /* in file order */
        size_t n;
} vt_grubenv;

#define VT_GRUBENV_INIT                                                                            \
        {                                                                                          \
                NULL, 0                                                                            \
        }

/* Parse a block. It must be exactly VT_GRUBENV_SIZE bytes and start with the signature;
 * `where` names it in messages. */
int vt_grubenv_parse(const void *data, size_t len, const char *where, vt_grubenv *out);
/* The block's bytes: signature, variables, '#' padding to exactly VT_GRUBENV_SIZE. */
int vt_grubenv_format(const vt_grubenv *env, vt_buf *out);
void vt_grubenv_free(vt_grubenv *env);
/* The value, or NULL when unset. */
const char *vt_grubenv_get(const vt_grubenv *env, const char *name);
/* Set (value != NULL; a new variable goes last) or unset (value NULL). Names are
 * [A-Za-z0-9_]+ (-EINVAL otherwise); values must not hold a NUL. */
int vt_grubenv_set(vt_grubenv *env, const char *name, const char *value);

static inline void vt_grubenv_freep(vt_grubenv *env)
{
        vt_grubenv_free(env);
}
#define _cleanup_grubenv_ __attribute__((cleanup(vt_grubenv_freep)))

/* ---- the counter (pure) ---- */

typedef enum vt_bootcount_phase {
        VT_BOOTCOUNT_NONE = 0,  /* nothing armed */
        VT_BOOTCOUNT_ARMED,     /* trial set, tries > 0: the next boot is a trial */
        VT_BOOTCOUNT_LAST_TRY,  /* trial set, tries 0: the last try is used; the next boot falls
                                 * back */
        VT_BOOTCOUNT_FELL_BACK, /* GRUB gave up: every boot takes the last good entry */
} vt_bootcount_phase;

typedef struct vt_bootcount {
        vt_bootcount_phase phase;
        long trial;     /* vfiotx_trial, 0 when unset */
        int tries;      /* vfiotx_tries, -1 when unset */
        unsigned panic; /* vfiotx_panic, 0 when unset */
        long fallback;  /* vfiotx_fallback, 0 when unset */
} vt_bootcount;

/* Read the counter. A value that is not what vfiotx writes (tries "x", trial "-3") is -EBADMSG
 * naming the variable: GRUB's script treats such a counter as exhausted, so the caller should
 * report it and not guess. */
int vt_bootcount_read(const vt_grubenv *env, vt_bootcount *out);
/* Arm a trial: trial=txn (> 0), tries (1..VT_BOOTCOUNT_MAX_TRIES), panic seconds
 * (VT_BOOTCOUNT_MIN_PANIC..MAX); any old vfiotx_fallback is removed. -EINVAL out of range. */
int vt_bootcount_arm(vt_grubenv *env, long txn, unsigned tries, unsigned panic_s);
/* Remove every vfiotx_* variable (confirm, or the fallback has been dealt with). */
int vt_bootcount_clear(vt_grubenv *env);
/* The trial `txn` is bad: no tries left and vfiotx_fallback=txn, as GRUB writes it when the
 * tries run out, so the next boot takes the last good entry. */
int vt_bootcount_mark_bad(vt_grubenv *env, long txn);
const char *vt_bootcount_phase_name(vt_bootcount_phase p);

/* ---- I/O through the root ---- */

/* Read and parse <root>/boot/grub/grubenv (-ENOENT with a hint when it is missing). */
int vt_grubenv_load(const vt_root *root, vt_grubenv *out);
/* The same for the block at `path` in the root (proxmox-boot-tool's <ESP>/grub/grubenv). */
int vt_grubenv_load_at(const vt_root *root, const char *path, vt_grubenv *out);
/* The write (in place, as GRUB's save_env) is the engine's: engine/grubenv_store.h. */

/* Can GRUB write the environment block of this root? 0 yes. Otherwise -ENOTSUP (or -ENOENT,
 * -EBADMSG) with a message saying why and a hint (`apply --no-arm`, or move /boot):
 *   - the block is missing, not a regular file, or not exactly 1024 bytes / malformed;
 *   - the filesystem holding it (the mount in <proc>/self/mountinfo with the longest mount
 *     point that is a prefix of the grubenv's path as this system sees it — root->path joined
 *     with /boot/grub/grubenv; the last such line wins) is btrfs, zfs, or any filesystem GRUB
 *     is not known to write (ext2/3/4, xfs, vfat are);
 *   - its device is device-mapper (LVM, LUKS) or md RAID: the source is /dev/mapper/..,
 *     /dev/dm-N or /dev/mdN, or <sysfs>/dev/block/MAJ:MIN has dm/ or md/ or non-empty slaves/. */
int vt_grubenv_check(const vt_root *root, const char *sysfs, const char *proc);
/* The same for the block at `path` in the root. */
int vt_grubenv_check_at(const vt_root *root, const char *path, const char *sysfs, const char *proc);

/* The mount part of the check, from the mountinfo text and the grubenv's path in that mount
 * namespace: 0 / -ENOTSUP as above (`sysfs` may be NULL to skip the device-mapper/md look-up
 * through sysfs; the source name is still checked). */
int vt_grubenv_check_mount(const char *mountinfo, const char *path, const char *sysfs);

/* Does grub.cfg hold the script's code (the BEGIN line grub-mkconfig writes for 42_vfiotx and
 * the last good entry id)? 0 yes, -ENOENT with a hint (run update-grub) when not. */
int vt_grub_cfg_has_counter(const char *grub_cfg, size_t len);
