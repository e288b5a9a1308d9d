/* confirm: the applied transaction (on trial or not) is good; with --health, only if the host is
 * healthy, else the trial is marked bad and the host reboots into the last good entry. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "cli/cli.h"
#include "engine/op_confirm.h"

enum { OPT_HEALTH = VT_OPT_LONG, OPT_DEADLINE, OPT_NO_REBOOT };

static const vt_option confirm_options[] = {
    {OPT_HEALTH, "health", NULL,
     "confirm only if the host is healthy: every device of the profile\n"
     "on vfio-pci, the root disk controller and default-route NIC on\n"
     "their host drivers, no failed systemd units; otherwise mark the\n"
     "trial bad and reboot into the last good entry\n"
     "(vfiotx-confirm.service)"},
    {OPT_DEADLINE, "deadline-expired", NULL,
     "the trial was not confirmed in time: mark it bad and reboot\n"
     "(vfiotx-deadline.timer); nothing when already confirmed"},
    {OPT_NO_REBOOT, "no-reboot", NULL, "mark bad without rebooting"},
    {0},
};

static const vt_option_group confirm_groups[] = {
    {NULL, "Options", confirm_options},
    {0},
};

const vt_command vt_command_confirm = {
    .name = "confirm",
    .run = vt_cmd_confirm,
    .summary = "mark the applied configuration good",
    .description =
        "Mark the applied transaction good: its boot-counted trial ends, 'vfiotx rollback'\n"
        "returns to it from then on, and the running boot becomes the last good entry.\n"
        "--health and --deadline-expired exclude each other.\n",
    .groups = confirm_groups,
    .esps = true,
};

int vt_cmd_confirm(vt_cli *cli, int argc, char **argv)
{
        vt_op_confirm_req req = {0};
        vt_op_confirm_result res = {0};
        vt_outcome outcome;
        bool check = false, deadline = false;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_confirm, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
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
                }
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc || (check && deadline))
                return vt_cli_usage_error(cli, "confirm", "%s",
                                          p.next < argc ? "unexpected argument"
                                                        : "--health and --deadline-expired "
                                                          "exclude each other");
        req.mode = check ? VT_CONFIRM_HEALTH : deadline ? VT_CONFIRM_DEADLINE : VT_CONFIRM_PLAIN;
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_confirm(&env, &ui, &req, &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "confirm");
        /* A deadline that found the trial already over did nothing. */
        outcome = res.txn ? VT_OUTCOME_CHANGED : VT_OUTCOME_UNCHANGED;
        if (cli->json) {
                json_object *doc = vt_cli_doc(cli);

                json_object_object_add(doc, "confirmed",
                                       res.txn ? json_object_new_int64(res.txn) : NULL);
                json_object_object_add(doc, "ended_trial",
                                       json_object_new_boolean(res.ended_trial));
                return vt_cli_emit(cli, doc, outcome);
        }
        return vt_cli_exit(cli, outcome);
}
