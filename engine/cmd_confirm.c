/* confirm: the applied transaction (on trial or not) is good; with --health, only if the host is
 * healthy, else the trial is marked bad and the host reboots into the last good entry. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/health.h"
#include "backends/profile.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/cli.h"
#include "engine/runner.h"
#include "engine/systemctl.h"
#include "engine/trial.h"

static const char confirm_help[] =
    "Usage: vfiotx [--root DIR] confirm [--health | --deadline-expired] [--no-reboot]\n\n"
    "Mark the applied transaction good: its boot-counted trial ends, 'vfiotx rollback'\n"
    "returns to it from then on, and the running boot becomes the last good entry.\n\n"
    "  --health            confirm only if the host is healthy: every device of the profile\n"
    "                      on vfio-pci, the root disk controller and default-route NIC on\n"
    "                      their host drivers, no failed systemd units; otherwise mark the\n"
    "                      trial bad and reboot into the last good entry\n"
    "                      (vfiotx-confirm.service)\n"
    "  --deadline-expired  the trial was not confirmed in time: mark it bad and reboot\n"
    "                      (vfiotx-deadline.timer); nothing when already confirmed\n"
    "  --no-reboot         mark bad without rebooting\n"
    "  -h, --help          this help\n";

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

static int health(vt_cli *cli, vt_engine *e, vt_buf *why)
{
        _cleanup_buf_ vt_buf units = VT_BUF_INIT;
        _cleanup_free_ const char **bdfs = NULL;
        vt_profile p = {0};
        vt_health h = {0};
        int r;

        r = profile_bdfs(e, &p);
        if (r >= 0 && !(bdfs = calloc(p.n_devices + 1, sizeof(*bdfs))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < p.n_devices; i++)
                bdfs[i] = p.devices[i].bdf;
        if (r >= 0)
                r = vt_systemctl_failed(&units);
        if (r >= 0)
                r = vt_health_check(cli->sysfs, cli->proc, bdfs, p.n_devices, vt_buf_cstr(&units),
                                    &h);
        for (size_t i = 0; r >= 0 && i < h.n; i++)
                vt_buf_printf(why, "%s%s", i ? "; " : "", h.items[i].message);
        if (r >= 0)
                r = (int)h.n;
        vt_health_free(&h);
        vt_profile_free(&p);
        return r;
}

static int reboot_host(vt_cli *cli)
{
        static const char *const argv[] = {"systemctl", "reboot", NULL};
        vt_run_opts o = {.timeout_ms = 60000};
        vt_run_result res = {0};
        int r;

        vt_cli_warn(cli, "rebooting into the last good entry\n");
        r = vt_run(argv, &o, &res);
        vt_run_result_free(&res);
        return r;
}

int vt_cmd_confirm(vt_cli *cli, int argc, char **argv)
{
        enum { OPT_HEALTH = 256, OPT_DEADLINE, OPT_NO_REBOOT };
        static const struct option opts[] = {
            {"health", no_argument, NULL, OPT_HEALTH},
            {"deadline-expired", no_argument, NULL, OPT_DEADLINE},
            {"no-reboot", no_argument, NULL, OPT_NO_REBOOT},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, why = VT_BUF_INIT;
        bool check = false, deadline = false, no_reboot = false, bad = false;
        vt_engine e;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case OPT_HEALTH:
                        check = true;
                        break;
                case OPT_DEADLINE:
                        deadline = true;
                        break;
                case OPT_NO_REBOOT:
                        no_reboot = true;
                        break;
                case 'h':
                        fputs(confirm_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(cli, "confirm", "unknown option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (optind < argc || (check && deadline))
                return vt_cli_usage_error(cli, "confirm", "%s",
                                          optind < argc ? "unexpected argument"
                                                        : "--health and --deadline-expired "
                                                          "exclude each other");
        r = vt_engine_open(&e, cli->root, VT_ENGINE_WRITE, cli->cmdline, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r < 0)
                goto out;
        if (deadline) {
                if (e.boot.trial != VT_TRIAL_TRYING && e.boot.trial != VT_TRIAL_ARMED)
                        goto out; /* confirmed (or fallen back) in time */
                bad = true;
                vt_buf_puts(&why, "not confirmed before the deadline");
        } else if (check) {
                r = health(cli, &e, &why);
                if (r < 0)
                        goto out;
                bad = r > 0;
        }
        if (bad) {
                char reason[96];

                snprintf(reason, sizeof(reason), "%s%s",
                         deadline ? "" : "health check failed: ", vt_buf_cstr(&why));
                r = vt_trial_mark_bad(&e, reason, &notes);
                vt_cli_notes(cli, notes.ptr);
                if (r >= 0) {
                        r = vt_error_set(EIO, "the trial of transaction %ld is bad: %s",
                                         e.boot.trial_txn, vt_buf_cstr(&why));
                        if (!no_reboot && reboot_host(cli) < 0)
                                vt_error_hint(r, "reboot by hand: GRUB takes the last good entry");
                }
                goto out;
        }
        r = vt_trial_confirm(&e, cli->proc, &notes);
        vt_cli_notes(cli, notes.ptr);
out:
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "confirm") : VT_EXIT_OK;
}
