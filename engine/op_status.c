#include "engine/op_status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootcount_grub.h"
#include "backends/bootloader.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/trial.h"

static const char *state_name(const vt_engine *e, const vt_oid *applied)
{
        if (e->state.phase == VT_PHASE_APPLYING)
                return "interrupted";
        switch (e->boot.trial) {
        case VT_TRIAL_ARMED:
                return "armed";
        case VT_TRIAL_TRYING:
                return "trying";
        case VT_TRIAL_MARKED_BAD:
                return "marked bad";
        case VT_TRIAL_ROLLED_BACK:
                return "rolled back";
        case VT_TRIAL_NONE:
                break;
        }
        if (e->state.has_good && vt_oid_equal(&e->state.good, applied))
                return "good";
        return "applied";
}

/* The devices come from the profile on disk; an unreadable or hand-broken profile only hides
 * the device list (apply reports it with its line). */
static void read_profile(vt_engine *e, const vt_op_ui *ui, vt_profile *p)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT, warning = VT_BUF_INIT;

        if (vt_root_read(&e->root, VT_PROFILE_PATH, &text) >= 0 &&
            vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&text), text.len, p) < 0 && ui &&
            ui->warning &&
            vt_buf_printf(&warning, "profile %s cannot be read: %s\n", VT_PROFILE_PATH,
                          vt_error_message() ? vt_error_message() : "error") >= 0)
                ui->warning(ui->userdata, vt_buf_cstr(&warning));
        vt_error_clear();
}

static bool changed_nothing(const vt_txn_info *t)
{
        return t->outcome &&
               (strcmp(t->outcome, "failed") == 0 || strcmp(t->outcome, "undone") == 0);
}

/* An entry of `vfiotx try` (try, try-keep, try-revert): drivers moved at runtime, no file. */
static bool runtime_only(const vt_txn_info *t)
{
        return t->kind && strncmp(t->kind, "try", 3) == 0 && (!t->kind[3] || t->kind[3] == '-');
}

/* The transaction whose files the host has: the head, or, when the head is a transaction that
 * failed or was undone (its files are its parent's), the first one before it that changed
 * something. The newest such failure is kept to be reported as such, never as "applied".
 * Entries of a try are passed over: they change no file, and a try is reported by itself. */
static int applied_txn(vt_engine *e, vt_op_status_result *res, vt_oid *oid)
{
        int r;

        *oid = e->state.head;
        r = vt_journal_load(e->journal, oid, NULL, &res->applied);
        for (size_t i = 0; r >= 0 && i < 100000 &&
                           (runtime_only(&res->applied) || changed_nothing(&res->applied));
             i++) {
                vt_oid parents[2];

                if (vt_journal_parents(e->journal, oid, parents) < 1)
                        break;
                if (!res->failed.id && !runtime_only(&res->applied)) {
                        res->failed = res->applied;
                        res->applied = (vt_txn_info){0};
                } else {
                        vt_txn_info_free(&res->applied);
                }
                *oid = parents[0];
                r = vt_journal_load(e->journal, oid, NULL, &res->applied);
        }
        return r;
}

static int read_journal(vt_engine *e, const vt_op_ui *ui, vt_op_status_result *res)
{
        vt_oid applied;
        int r;

        r = applied_txn(e, res, &applied);
        if (r >= 0 && e->state.has_good)
                r = vt_journal_load(e->journal, &e->state.good, NULL, &res->good);
        /* While a transaction is interrupted its own files differ from the head: that is not
         * drift, and the next command sorts it out. */
        if (r >= 0 && e->state.phase != VT_PHASE_APPLYING)
                r = vt_engine_drift(e, &res->drift);
        if (r < 0)
                return r;
        read_profile(e, ui, &res->profile);
        res->state = state_name(e, &applied);
        res->has_good = e->state.has_good;
        return 0;
}

/* What GRUB's counter says of the trial: the tries left and the entry the next boot takes.
 * A counter that cannot be read leaves "unknown" (status reports, it does not repair). */
static void read_counter(vt_engine *e, vt_op_status_result *res)
{
        vt_bootcount bc;

        if (vt_trial_counter_read(e, &bc) < 0) {
                vt_error_clear();
                res->next_boot = "unknown";
                return;
        }
        res->tries_left = bc.tries;
        switch (bc.phase) {
        case VT_BOOTCOUNT_ARMED:
                res->next_boot = "trial";
                break;
        case VT_BOOTCOUNT_LAST_TRY:
        case VT_BOOTCOUNT_FELL_BACK:
                res->next_boot = "last-good";
                break;
        case VT_BOOTCOUNT_NONE:
                break;
        }
}

/* The boot path and the firmware. A boot path that cannot be probed is said through the
 * counter's reason (vt_trial_check() fails on it too). */
static int boot_facts(vt_facts *facts, const char *sysfs, const vt_op_ui *ui,
                      vt_op_status_result *res)
{
        const vt_boot_info *boot;
        int r = vt_firmware_probe(sysfs, &res->firmware);

        if (r < 0)
                return r;
        res->boot_path = "unknown";
        if (vt_facts_boot(facts, &boot) < 0) {
                vt_error_clear();
                return 0;
        }
        res->boot_path = vt_firmware_boot_path(&res->firmware, boot);
        res->secure_boot_note = vt_firmware_secure_boot_note(&res->firmware, boot);
        /* kernel-install's systemd-boot, or proxmox-boot-tool's (its first ESP stands for all:
         * vfiotx writes the same entries to each) */
        if ((boot->flags & VT_BOOT_PROXMOX) ? !boot->edit_kernel_cmdline
                                            : !(boot->flags & VT_BOOT_SYSTEMD_BOOT))
                return 0;
        r = vt_sdboot_next_probe(facts->root, sysfs, &res->sdboot);
        res->has_sdboot = r >= 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0 && ui && ui->warning) {
                char text[600];

                /* status reports what it can: the rest of it does not depend on the ESP */
                snprintf(text, sizeof(text),
                         "cannot tell which entry systemd-boot boots next: %s\n",
                         vt_error_message() ? vt_error_message() : strerror(-r));
                ui->warning(ui->userdata, text);
        }
        vt_error_clear();
        return 0;
}

int vt_op_status(const vt_op_env *env, const vt_op_ui *ui, vt_op_status_result *res)
{
        vt_facts facts;
        vt_engine e;
        int r;

        *res = (vt_op_status_result){.state = "none", .drift = VT_BUF_INIT};
        r = vt_op_open(&e, env, VT_ENGINE_READ, ui);
        if (r >= 0 && e.have_journal && e.state.exists)
                r = read_journal(&e, ui, res);
        if (r < 0)
                goto out;
        /* As the state file says, also when there is no journal to go with it. */
        res->boot = e.boot;
        res->interrupted = e.state.phase == VT_PHASE_APPLYING;
        if (res->interrupted) {
                res->interrupted_txn = e.state.intent_txn;
                snprintf(res->interrupted_kind, sizeof(res->interrupted_kind), "%s",
                         e.state.intent_kind);
        }
        /* A try in progress changes no file, only drivers: the state file says. */
        r = vt_try_state_read(&e.root, &res->try_state);
        res->has_try = r >= 0;
        if (r == -ENOENT)
                r = 0;
        if (r < 0)
                goto out;
        res->tries_left = -1;
        res->next_boot = "default";
        if (e.boot.trial == VT_TRIAL_ARMED || e.boot.trial == VT_TRIAL_TRYING)
                read_counter(&e, res);
        /* Can the next apply arm a trial here (GRUB, its script, a grubenv GRUB can write and
         * see after a power cut)? Said only when it cannot. */
        vt_facts_init(&facts, &e.root, env->sysfs, env->proc);
        r = boot_facts(&facts, env->sysfs, ui, res);
        if (r < 0) {
                vt_facts_free(&facts);
                goto out;
        }
        res->counter_ok = vt_trial_check(&facts, NULL, NULL) >= 0;
        vt_facts_free(&facts);
        if (!res->counter_ok && asprintf(&res->counter_why, "%s%s%s",
                                         vt_error_message() ? vt_error_message() : "unknown",
                                         vt_error_hint_text() ? "; " : "",
                                         vt_error_hint_text() ? vt_error_hint_text() : "") < 0)
                res->counter_why = NULL;
        vt_error_clear();
out:
        vt_engine_close(&e);
        return r;
}

void vt_op_status_result_free(vt_op_status_result *res)
{
        vt_sdboot_next_free(&res->sdboot);
        vt_try_state_free(&res->try_state);
        vt_txn_info_free(&res->applied);
        vt_txn_info_free(&res->failed);
        vt_txn_info_free(&res->good);
        vt_buf_free(&res->drift);
        vt_profile_free(&res->profile);
        free(res->counter_why);
        res->counter_why = NULL;
}
