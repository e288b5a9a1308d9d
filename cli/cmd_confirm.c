/* confirm: the applied transaction (on trial or not) is good; with --health, only if the host is
 * healthy, else the trial is marked bad and the host reboots into the last good entry. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "engine/op_confirm.h"

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
        vt_op_confirm_req req = {0};
        vt_op_confirm_result res = {0};
        bool check = false, deadline = false;
        vt_op_env env;
        vt_op_ui ui;
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
                        req.no_reboot = true;
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
        req.mode = check ? VT_CONFIRM_HEALTH : deadline ? VT_CONFIRM_DEADLINE : VT_CONFIRM_PLAIN;
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_confirm(&env, &ui, &req, &res);
        return r < 0 ? vt_cli_fail(cli, r, "confirm") : VT_EXIT_OK;
}
