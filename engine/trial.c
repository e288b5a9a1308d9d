#include "engine/trial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/boot_preserve.h"
#include "backends/bootcount_grub.h"
#include "backends/bootloader.h"
#include "backends/esp.h"
#include "backends/firmware.h"
#include "backends/units.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/boot_fs.h"
#include "engine/grubenv_store.h"
#include "engine/last_good.h"
#include "engine/pbt_grub_counter.h"
#include "engine/sdboot_counter.h"

#define GRUB_SCRIPT "/etc/grub.d/" VT_GRUB_SCRIPT_NAME

static int not_supported(const char *why)
{
        vt_error_set(ENOTSUP, "cannot arm a boot-counted trial: %s", why);
        return vt_error_hint(ENOTSUP, "apply with --no-arm to change the host without a trial "
                                      "('vfiotx rollback' still undoes it), or fix the cause");
}

/* The grubenv (or last good entry) just written must be where GRUB reads it before the caller
 * reports the transition done: a power cut right after must boot what was written. */
static int flush_boot(vt_engine *e)
{
        vt_flush_report rep;

        return vt_boot_fs_flush(&e->root, "/boot/grub", false, &rep);
}

/* Which counter the host has. */
typedef enum counter_kind {
        COUNTER_GRUBENV = 0, /* GRUB's /boot/grub/grubenv (errors count as this one: its
                              * functions then report them) */
        COUNTER_SDBOOT,      /* systemd-boot's entries: kernel-install's ESP and no GRUB, or
                              * proxmox-boot-tool's ESPs in their systemd-boot mode
                              * (/etc/kernel/cmdline) */
        COUNTER_PBT_GRUB,    /* proxmox-boot-tool's ESPs in their GRUB mode: <ESP>/grub/grubenv */
} counter_kind;

static counter_kind counter_of(const vt_boot_info *boot, const vt_firmware *fw)
{
        if (boot->flags & VT_BOOT_PROXMOX)
                return boot->edit_kernel_cmdline ? COUNTER_SDBOOT : COUNTER_PBT_GRUB;
        return (boot->flags & VT_BOOT_SYSTEMD_BOOT) &&
                       (!(boot->flags & (VT_BOOT_GRUB_BIOS | VT_BOOT_GRUB_EFI)) ||
                        (fw && vt_firmware_booted_sdboot(fw)))
                   ? COUNTER_SDBOOT
                   : COUNTER_GRUBENV;
}

/* counter_of() for the engine's root and sysfs. */
static counter_kind engine_counter(vt_engine *e)
{
        vt_boot_info boot;
        vt_firmware fw;
        counter_kind k;

        if (vt_boot_detect(&e->root, &boot) < 0) {
                vt_error_clear();
                return COUNTER_GRUBENV;
        }
        k = counter_of(&boot,
                       vt_firmware_probe(e->sysfs ? e->sysfs : "/sys", &fw) >= 0 ? &fw : NULL);
        vt_error_clear();
        vt_boot_info_free(&boot);
        return k;
}

static int counter_read(vt_engine *e, vt_bootcount *bc, bool *committed)
{
        _cleanup_grubenv_ vt_grubenv env = {0};
        int r;

        if (committed)
                *committed = true;
        switch (engine_counter(e)) {
        case COUNTER_SDBOOT:
                return vt_sdboot_counter_read(&e->root, e->sysfs, bc, committed);
        case COUNTER_PBT_GRUB:
                return vt_pbt_grub_read(&e->root, bc, committed);
        case COUNTER_GRUBENV:
                break;
        }
        r = vt_grubenv_load(&e->root, &env);
        if (r >= 0)
                r = vt_bootcount_read(&env, bc);
        if (r >= 0 && committed)
                *committed = bc->phase != VT_BOOTCOUNT_NONE;
        return r;
}

int vt_trial_counter_read(vt_engine *e, vt_bootcount *bc)
{
        return counter_read(e, bc, NULL);
}

static int grubenv_update(vt_engine *e, long txn, unsigned tries, bool arm, bool fallback)
{
        _cleanup_grubenv_ vt_grubenv env = {0};
        int r;

        switch (engine_counter(e)) {
        case COUNTER_SDBOOT:
                if (arm)
                        return vt_sdboot_counter_arm(&e->root, e->sysfs, txn, tries,
                                                     VT_TRIAL_PANIC_S);
                if (fallback)
                        return vt_sdboot_counter_mark_bad(&e->root, e->sysfs);
                return vt_sdboot_counter_clear(&e->root, e->sysfs);
        case COUNTER_PBT_GRUB:
                if (arm)
                        return vt_pbt_grub_arm(&e->root, txn, tries, VT_TRIAL_PANIC_S);
                if (fallback)
                        return vt_pbt_grub_mark_bad(&e->root, txn);
                return vt_pbt_grub_clear(&e->root);
        case COUNTER_GRUBENV:
                break;
        }
        r = vt_grubenv_load(&e->root, &env);
        if (r >= 0 && arm)
                r = vt_bootcount_arm(&env, txn, tries, VT_TRIAL_PANIC_S);
        else if (r >= 0 && fallback)
                r = vt_bootcount_mark_bad(&env, txn);
        else if (r >= 0)
                r = vt_bootcount_clear(&env);
        if (r >= 0)
                r = vt_failpoint("trial: write grubenv");
        if (r >= 0)
                r = vt_grubenv_store(&e->root, &env);
        if (r >= 0)
                r = flush_boot(e);
        return r;
}

bool vt_trial_in_progress(const vt_engine *e)
{
        return e->boot.trial == VT_TRIAL_ARMED || e->boot.trial == VT_TRIAL_TRYING ||
               e->boot.trial == VT_TRIAL_MARKED_BAD;
}

int vt_trial_refuse_busy(const vt_engine *e)
{
        vt_error_set(EBUSY, "transaction %ld is on trial (%s)", e->boot.trial_txn,
                     vt_trial_name(e->boot.trial));
        return vt_error_hint(EBUSY, "'vfiotx confirm' keeps it, 'vfiotx rollback' undoes it; then "
                                    "apply again");
}

int vt_trial_recover(vt_engine *e, vt_buf *notes)
{
        vt_bootcount bc = {0};
        bool committed;
        int r;

        if (e->boot.trial != VT_TRIAL_ARMED)
                return 0;
        r = counter_read(e, &bc, &committed);
        if (r < 0 || committed) {
                vt_error_clear();
                return 0;
        }
        /* The state says armed, grubenv does not: arming was cut short before its commit
         * point. Finish it. */
        r = grubenv_update(e, e->boot.trial_txn, e->boot.trial_tries, true, false);
        if (r >= 0 && notes)
                vt_buf_printf(notes, "recovered: finished arming the trial of transaction %ld\n",
                              e->boot.trial_txn);
        return r;
}

/* The units a trial needs, and what each does for it. */
static const struct {
        const char *name;
        const char *role;
} trial_units[] = {
    {"vfiotx-boot.service", "records each trial boot and restores the last good snapshot after a "
                            "fallback"},
    {"vfiotx-confirm.service", "confirms a healthy trial boot (without it a healthy host falls "
                               "back when its tries run out)"},
    {"vfiotx-deadline.timer", "marks a trial boot bad when it is not confirmed in time"},
};

/* Every unit that would confirm the trial or restore after a fallback must be enabled: a
 * trial nothing confirms rolls a healthy host back. */
static int check_units(const vt_root *root)
{
        _cleanup_buf_ vt_buf why = VT_BUF_INIT, names = VT_BUF_INIT, sysroot = VT_BUF_INIT;
        bool missing = false, masked = false;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(trial_units); i++) {
                vt_unit_state st;

                r = vt_unit_state_probe(root, trial_units[i].name, &st);
                if (r < 0)
                        return r;
                vt_buf_printf(&names, " %s", trial_units[i].name);
                if (st == VT_UNIT_ENABLED)
                        continue;
                missing |= st == VT_UNIT_MISSING;
                masked |= st == VT_UNIT_MASKED;
                vt_buf_printf(&why, "%s%s is %s (it %s)", why.len ? "; " : "", trial_units[i].name,
                              vt_unit_state_name(st), trial_units[i].role);
        }
        if (!why.len)
                return 0;
        if (strcmp(root->path, "/") != 0)
                vt_buf_printf(&sysroot, " --root=%s", root->path);
        vt_error_set(ENOTSUP, "cannot arm a boot-counted trial: %s", vt_buf_cstr(&why));
        return vt_error_hint(ENOTSUP, "%s'systemctl%s %s%s'%s, or apply with --no-arm",
                             missing ? "install vfiotx's units (the package does; so does "
                                       "'cmake --install'), then "
                                     : "",
                             vt_buf_cstr(&sysroot), masked ? "unmask" : "enable",
                             vt_buf_cstr(&names),
                             masked ? " and enable them" : " (the package does this on install)");
}

/* systemd-boot: the units, the loader's variables and entries, and each ESP's flush. */
static int sdboot_check(vt_facts *facts, vt_flush_report *flush)
{
        vt_esp_list l = {0};
        int r = check_units(facts->root);

        if (r >= 0)
                r = vt_sdboot_counter_check(facts->root, facts->sysfs);
        if (r < 0)
                return r;
        r = vt_esp_read_all(facts->root, &l);
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                r = vt_boot_fs_flush(facts->root, l.esps[i].path, true, flush);
                if (r >= 0 && flush->method == VT_FLUSH_NONE)
                        r = not_supported("the ESP is on a file system no boot loader is known "
                                          "to read");
        }
        vt_esp_list_free(&l);
        return r < 0 && r != -ENOTSUP ? vt_error_wrap(r, "cannot arm a boot-counted trial") : r;
}

/* proxmox-boot-tool in its GRUB mode boots the host from copies on each ESP it lists, never
 * from /boot: GRUB there reads grub.cfg and grubenv from <ESP>/grub (engine/pbt_grub_counter.h).
 * The same units and GRUB script as on any GRUB host, and each ESP's grubenv. */
static int pbt_grub_check(vt_facts *facts, vt_flush_report *flush)
{
        int r = vt_root_exists(facts->root, GRUB_SCRIPT);

        if (r < 0)
                return r;
        if (!r)
                return not_supported("vfiotx's GRUB script " GRUB_SCRIPT " is not installed "
                                     "(the package, or cmake --install, puts it there)");
        r = check_units(facts->root);
        if (r >= 0)
                r = vt_pbt_grub_check(facts->root, facts->sysfs, facts->proc, flush);
        return r;
}

int vt_trial_check(vt_facts *facts, vt_flush_report *flush, bool *sdboot)
{
        const vt_root *root = facts->root;
        const vt_boot_info *boot;
        vt_flush_report rep;
        vt_firmware fw;
        int r;

        if (!flush)
                flush = &rep;
        *flush = (vt_flush_report){0};
        if (sdboot)
                *sdboot = false;
        r = vt_facts_boot(facts, &boot);
        if (r < 0)
                return r;
        r = vt_firmware_probe(facts->sysfs, &fw);
        if (r < 0)
                return r;
        switch (counter_of(boot, &fw)) {
        case COUNTER_SDBOOT:
                if (sdboot)
                        *sdboot = true;
                return sdboot_check(facts, flush);
        case COUNTER_PBT_GRUB:
                return pbt_grub_check(facts, flush);
        case COUNTER_GRUBENV:
                break;
        }
        if (!(boot->flags & (VT_BOOT_GRUB_BIOS | VT_BOOT_GRUB_EFI)))
                return not_supported("the host does not boot through GRUB or systemd-boot");
        /* GRUB's files can outlive it (`apt install systemd-boot` leaves grub.cfg): a counter in
         * grubenv that the loader never reads would let a broken trial boot forever. */
        if (vt_firmware_booted_sdboot(&fw)) {
                vt_error_set(ENOTSUP,
                             "cannot arm a boot-counted trial: systemd-boot started this boot "
                             "(EFI variable LoaderInfo: %s), so it would never read GRUB's "
                             "counter in /boot/grub/grubenv that %s also has; vfiotx counts "
                             "systemd-boot's boots through kernel-install's entries on the ESP, "
                             "and found none",
                             fw.loader, root->path);
                return vt_error_hint(ENOTSUP, "apply with --no-arm ('vfiotx rollback' still "
                                              "undoes it), or boot GRUB again if it is meant to be "
                                              "the boot loader");
        }
        r = vt_root_exists(root, GRUB_SCRIPT);
        if (r < 0)
                return r;
        if (!r)
                return not_supported("vfiotx's GRUB script " GRUB_SCRIPT " is not installed "
                                     "(the package, or cmake --install, puts it there)");
        r = check_units(root);
        if (r < 0)
                return r;
        r = vt_grubenv_check(root, facts->sysfs, facts->proc);
        if (r < 0)
                return r;
        /* Arming is only as good as GRUB's view of grubenv after a power cut: the flush that
         * puts it in place for GRUB must be possible here (a dry run). */
        r = vt_boot_fs_flush(root, "/boot/grub", true, flush);
        if (r < 0)
                return vt_error_wrap(r, "cannot arm a boot-counted trial");
        if (flush->method == VT_FLUSH_NONE)
                return not_supported("/boot/grub is on a file system no bootloader is known to "
                                     "read");
        return 0;
}

int vt_trial_preserve(vt_engine *e, const char *proc)
{
        vt_preserve_plan p = {0};
        int r;

        if (e->boot.trial != VT_TRIAL_NONE && e->boot.trial != VT_TRIAL_ROLLED_BACK)
                return 0; /* only a good running system is the last good boot */
        /* Named after the newest transaction (on a fresh host the baseline, number 1, that the
         * apply is about to record): a name, so a later preservation replaces it. */
        switch (engine_counter(e)) {
        case COUNTER_SDBOOT:
                return vt_sdboot_preserve(&e->root, proc, e->state.txn ? e->state.txn : 1);
        case COUNTER_PBT_GRUB:
                return vt_pbt_grub_preserve(&e->root, proc, e->state.txn ? e->state.txn : 1);
        case COUNTER_GRUBENV:
                break;
        }
        r = vt_boot_preserve_plan(&e->root, proc, e->state.txn ? e->state.txn : 1, &p);
        if (r >= 0)
                r = vt_last_good_write(&e->root, &p);
        if (r >= 0)
                r = flush_boot(e);
        vt_preserve_plan_free(&p);
        return r < 0 ? vt_error_wrap(r, "keeping the last good boot") : 0;
}

/* A journal entry for a transition, with the state already set in e->state. */
static int record(vt_engine *e, const char *kind, const char *summary, const char *detail,
                  vt_buf *notes)
{
        vt_txn_info info = {0};
        char sum[256];
        int r;

        snprintf(sum, sizeof(sum), "%s", summary);
        info.kind = (char *)kind;
        info.summary = sum;
        info.outcome = "recorded";
        info.detail = (char *)detail;
        info.argv = (char *)e->argv;
        info.time = time(NULL);
        r = vt_engine_record(e, &info);
        if (r >= 0 && notes)
                vt_buf_printf(notes, "%s\n", summary);
        return r;
}

int vt_trial_arm(vt_engine *e, long txn, unsigned tries, vt_buf *notes)
{
        char summary[160];
        int r;

        e->boot.trial = VT_TRIAL_ARMED;
        e->boot.trial_txn = txn;
        e->boot.trial_tries = tries;
        e->boot.trial_reason[0] = '\0';
        snprintf(summary, sizeof(summary),
                 "armed: transaction %ld is on trial for %u boot%s, then the boot loader falls "
                 "back to the "
                 "last good entry",
                 txn, tries, tries > 1 ? "s" : "");
        r = record(e, "arm", summary, NULL, notes);
        if (r >= 0)
                r = grubenv_update(e, txn, tries, true, false); /* the commit point */
        return r;
}

static bool cmdline_has(const char *cmdline, const char *word, char *value, size_t vsize)
{
        size_t wl = strlen(word);

        for (const char *p = cmdline; (p = strstr(p, word)); p += wl) {
                if (p != cmdline && p[-1] != ' ')
                        continue;
                if (p[wl] == '=' || p[wl] == ' ' || p[wl] == '\0' || p[wl] == '\n') {
                        if (value) {
                                size_t n = p[wl] == '=' ? strcspn(p + wl + 1, " \n") : 0;

                                snprintf(value, vsize, "%.*s", (int)n, p + wl + 1);
                        }
                        return true;
                }
        }
        return false;
}

int vt_trial_boot(vt_engine *e, const char *proc, vt_boot_kind *kind, vt_buf *notes)
{
        _cleanup_free_ char *path = vt_path_join(proc, "cmdline"), *cmdline = NULL;
        _cleanup_grubenv_ vt_grubenv env = {0};
        vt_bootcount bc = {0};
        char value[32] = "";
        char summary[200];
        int r;

        *kind = VT_BOOT_NORMAL;
        if (!path)
                return -ENOMEM;
        r = vt_read_line(path, &cmdline);
        if (r < 0)
                return r;
        if (cmdline_has(cmdline, "vfiotx.fallback", NULL, 0)) {
                *kind = VT_BOOT_FALLBACK;
                return 0;
        }
        if (!cmdline_has(cmdline, "vfiotx.trial", value, sizeof(value))) {
                bool committed;

                if (e->boot.trial == VT_TRIAL_ARMED && counter_read(e, &bc, &committed) >= 0 &&
                    !committed) {
                        /* Armed in the state file, but grubenv was never written: the host
                         * booted the applied files without a counter. On several ESPs some
                         * may hold it already: cleared, so no later boot from one of them
                         * counts a trial the state no longer has. */
                        if (engine_counter(e) == COUNTER_PBT_GRUB) {
                                r = vt_pbt_grub_clear(&e->root);
                                if (r < 0)
                                        return r;
                        }
                        e->boot.trial = VT_TRIAL_NONE;
                        return record(e, "boot",
                                      "the trial was never armed (interrupted): the applied "
                                      "snapshot runs without a trial; 'vfiotx confirm' keeps "
                                      "it, 'vfiotx rollback' undoes it",
                                      NULL, notes);
                }
                vt_error_clear();
                return 0;
        }
        *kind = VT_BOOT_TRIAL;
        if (e->boot.trial == VT_TRIAL_TRYING)
                return 0; /* a second start of the service in the same boot */
        r = counter_read(e, &bc, NULL);
        if (r < 0)
                return r;
        e->boot.trial = VT_TRIAL_TRYING;
        e->boot.trial_txn = strtol(value, NULL, 10);
        snprintf(summary, sizeof(summary),
                 "trial boot of transaction %s: %d more boot%s before the boot loader falls back",
                 value, bc.tries < 0 ? 0 : bc.tries, bc.tries == 1 ? "" : "s");
        return record(e, "boot", summary, NULL, notes);
}

int vt_trial_fallback_done(vt_engine *e, vt_buf *notes)
{
        _cleanup_grubenv_ vt_grubenv env = {0};
        vt_bootcount bc = {0};
        char summary[200];
        int r;

        if (counter_read(e, &bc, NULL) < 0) {
                vt_error_clear();
                bc = (vt_bootcount){0};
        }
        if (e->boot.trial != VT_TRIAL_MARKED_BAD)
                snprintf(e->boot.trial_reason, sizeof(e->boot.trial_reason), "%s",
                         bc.fallback ? "tries exhausted"
                                     : "manual: the last good entry was "
                                       "booted");
        r = grubenv_update(e, 0, 0, false, false); /* the commit point of the fallback */
        if (r < 0)
                return r;
        e->boot.trial = VT_TRIAL_ROLLED_BACK;
        snprintf(summary, sizeof(summary),
                 "rolled back: transaction %ld (%s); the host runs the last good snapshot",
                 e->boot.trial_txn, e->boot.trial_reason);
        return record(e, "fallback", summary, NULL, notes);
}

int vt_trial_confirm(vt_engine *e, const char *proc, vt_buf *notes)
{
        bool was_trial = e->boot.trial == VT_TRIAL_ARMED || e->boot.trial == VT_TRIAL_TRYING ||
                         e->boot.trial == VT_TRIAL_MARKED_BAD;
        char summary[160];
        long txn = e->boot.trial_txn;
        int r;

        if (!was_trial) {
                vt_txn_info head = {0};

                r = vt_engine_head_info(e, &head);
                txn = head.id;
                vt_txn_info_free(&head);
                if (r < 0)
                        return r;
        }
        /* The entry first, so the good snapshot is the entry that says it was confirmed; a
         * crash before grubenv is cleared leaves the trial counting, and the next trial boot
         * confirms again. */
        snprintf(summary, sizeof(summary), "confirmed: transaction %ld is the last good snapshot",
                 txn);
        r = record(e, "confirm", summary, NULL, notes);
        if (r >= 0)
                r = vt_engine_confirm(e, &txn);
        if (r >= 0 && was_trial)
                r = grubenv_update(e, 0, 0, false, false); /* the commit point */
        if (r < 0)
                return r;
        e->boot.trial = VT_TRIAL_NONE;
        e->boot.trial_reason[0] = '\0';
        r = vt_engine_write_state(e);
        if (r >= 0 && proc && was_trial)
                r = vt_trial_preserve(e, proc);
        return r;
}

int vt_trial_end_by_rollback(vt_engine *e, vt_buf *notes)
{
        return vt_trial_end(e, "manual: 'vfiotx rollback' during the trial", notes);
}

int vt_trial_end(vt_engine *e, const char *reason, vt_buf *notes)
{
        char summary[200];
        int r;

        if (!vt_trial_in_progress(e))
                return 0;
        r = grubenv_update(e, 0, 0, false, false); /* GRUB stops counting: the commit point */
        if (r < 0)
                return r;
        e->boot.trial = VT_TRIAL_ROLLED_BACK;
        snprintf(e->boot.trial_reason, sizeof(e->boot.trial_reason), "%s", reason);
        snprintf(summary, sizeof(summary), "trial of transaction %ld ended (%s)", e->boot.trial_txn,
                 reason);
        return record(e, "end-trial", summary, NULL, notes);
}

int vt_trial_mark_bad(vt_engine *e, const char *reason, vt_buf *notes)
{
        char summary[200];
        int r;

        if (e->boot.trial != VT_TRIAL_TRYING && e->boot.trial != VT_TRIAL_ARMED)
                return vt_error_set(ENOENT, "no trial in progress to mark bad");
        r = grubenv_update(e, e->boot.trial_txn, 0, false, true);
        if (r < 0)
                return r;
        e->boot.trial = VT_TRIAL_MARKED_BAD;
        snprintf(e->boot.trial_reason, sizeof(e->boot.trial_reason), "%s", reason);
        snprintf(summary, sizeof(summary),
                 "marked bad: transaction %ld (%s); the next boot takes the last good entry",
                 e->boot.trial_txn, reason);
        return record(e, "mark-bad", summary, NULL, notes);
}
