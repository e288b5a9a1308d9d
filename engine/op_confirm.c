#include "engine/op_confirm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "backends/bootloader.h"
#include "backends/health.h"
#include "backends/profile.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/facts.h"
#include "engine/op_try.h"
#include "engine/runner.h"
#include "engine/systemctl.h"
#include "engine/trial.h"

/* Every device the profile passes through, as BDFs. */
static int profile_bdfs(vt_engine *e, vt_profile *p)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r = vt_root_read(&e->root, VT_PROFILE_PATH, &text);

        if (r == -ENOENT) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        return vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&text), text.len, p);
}

/* On proxmox-boot-tool's ESPs systemd-bless-boot fails on every boot of a counted entry,
 * healthy or not: it looks for the entry in an ESP mounted at /efi, /boot or /boot/efi, and
 * none is (backends/esp.h). The package's drop-in skips it on trial boots there
 * (scripts/systemd/systemd-bless-boot.service.d/vfiotx.conf); where that drop-in is masked or
 * missing, its failure still says nothing of the host (vfiotx's confirm does the job on every
 * ESP), so it is left out of the failed units instead of failing every trial. */
static int drop_bless_boot(vt_facts *facts, vt_buf *units)
{
        _cleanup_buf_ vt_buf kept = VT_BUF_INIT;
        const vt_boot_info *boot;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (vt_facts_boot(facts, &boot) < 0) {
                vt_error_clear();
                return 0;
        }
        if (!(boot->flags & VT_BOOT_PROXMOX) || !boot->edit_kernel_cmdline)
                return 0;
        r = vt_health_parse_failed_units(vt_buf_cstr(units), &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (strcmp(names[i], "systemd-bless-boot.service") != 0)
                        r = vt_buf_printf(&kept, "%s\n", names[i]);
        vt_health_units_free(names, n);
        if (r >= 0) {
                vt_buf_clear(units);
                r = vt_buf_puts(units, vt_buf_cstr(&kept));
        }
        return r;
}

/* The number of health findings (0: healthy), joined into `why`. */
static int health(const vt_op_env *env, vt_engine *e, vt_buf *why)
{
        _cleanup_buf_ vt_buf units = VT_BUF_INIT;
        _cleanup_free_ const char **bdfs = NULL;
        const vt_pci_list *pci = NULL;
        const vt_hostinfo *host = NULL;
        vt_profile p = {0};
        vt_health h = {0};
        vt_facts facts;
        int r;

        vt_facts_init(&facts, &e->root, env->sysfs, env->proc);
        r = profile_bdfs(e, &p);
        if (r >= 0 && !(bdfs = calloc(p.n_devices + 1, sizeof(*bdfs))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < p.n_devices; i++)
                bdfs[i] = p.devices[i].bdf;
        if (r >= 0)
                r = vt_systemctl_failed(&units);
        if (r >= 0)
                r = drop_bless_boot(&facts, &units);
        if (r >= 0)
                r = vt_facts_pci(&facts, &pci);
        if (r >= 0)
                r = vt_facts_host(&facts, &host);
        if (r >= 0)
                r = vt_health_check(pci, host, bdfs, p.n_devices, vt_buf_cstr(&units), &h);
        for (size_t i = 0; r >= 0 && i < h.n; i++)
                vt_buf_printf(why, "%s%s", i ? "; " : "", h.items[i].message);
        if (r >= 0)
                r = (int)h.n;
        vt_health_free(&h);
        vt_profile_free(&p);
        vt_facts_free(&facts);
        return r;
}

static int reboot_host(const vt_op_ui *ui)
{
        static const char *const argv[] = {"systemctl", "reboot", NULL};
        vt_run_opts o = {.timeout_ms = 60000};
        vt_run_result res = {0};
        int r;

        if (ui && ui->warning)
                ui->warning(ui->userdata, "rebooting into the last good entry\n");
        r = vt_run(argv, &o, &res);
        vt_run_result_free(&res);
        return r;
}

int vt_op_confirm(const vt_op_env *env, const vt_op_ui *ui, const vt_op_confirm_req *req,
                  vt_op_confirm_result *res)
{
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, why = VT_BUF_INIT;
        bool deadline = req->mode == VT_CONFIRM_DEADLINE;
        vt_engine e;
        int r;

        *res = (vt_op_confirm_result){0};
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r < 0)
                goto out;
        if (req->mode == VT_CONFIRM_PLAIN) {
                /* `vfiotx confirm` keeps a try in progress too (vfiotx try --keep). */
                r = vt_try_keep_held(&e, &notes);
                vt_op_notes(ui, &notes);
                if (r < 0)
                        goto out;
        }
        if (deadline) {
                if (e.boot.trial != VT_TRIAL_TRYING && e.boot.trial != VT_TRIAL_ARMED)
                        goto out; /* confirmed (or fallen back) in time */
                res->bad = true;
                vt_buf_puts(&why, "not confirmed before the deadline");
        } else if (req->mode == VT_CONFIRM_HEALTH) {
                r = health(env, &e, &why);
                if (r < 0)
                        goto out;
                res->bad = r > 0;
        }
        if (res->bad) {
                char reason[96];

                snprintf(reason, sizeof(reason), "%s%s",
                         deadline ? "" : "health check failed: ", vt_buf_cstr(&why));
                r = vt_trial_mark_bad(&e, reason, &notes);
                vt_op_notes(ui, &notes);
                res->trial_txn = e.boot.trial_txn;
                if (r >= 0) {
                        r = vt_error_set(EIO, "the trial of transaction %ld is bad: %s",
                                         e.boot.trial_txn, vt_buf_cstr(&why));
                        if (!req->no_reboot && reboot_host(ui) < 0)
                                vt_error_hint(
                                    r, "reboot by hand: the boot loader takes the last good entry");
                }
                goto out;
        }
        res->ended_trial = e.boot.trial == VT_TRIAL_ARMED || e.boot.trial == VT_TRIAL_TRYING ||
                           e.boot.trial == VT_TRIAL_MARKED_BAD;
        if (res->ended_trial) {
                res->txn = e.boot.trial_txn;
        } else {
                vt_txn_info head = {0};

                r = vt_engine_head_info(&e, &head);
                res->txn = head.id;
                vt_txn_info_free(&head);
                if (r < 0)
                        goto out;
        }
        r = vt_trial_confirm(&e, env->proc, &notes);
        vt_op_notes(ui, &notes);
out:
        vt_engine_close(&e);
        return r;
}
