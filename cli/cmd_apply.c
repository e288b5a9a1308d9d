/* apply and plan: parse SPEC and the flags, call the operation (engine/op_apply.h), show the
 * plan and render the result. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/op_apply.h"

enum {
        OPT_NO_REBUILD = VT_OPT_LONG,
        OPT_FORCE,
        OPT_DEVICE,
        OPT_RELEASE,
        OPT_METHOD,
        OPT_CMDLINE_ADD,
        OPT_CMDLINE_REMOVE,
        OPT_NO_IOMMU_PARAMS,
        OPT_NO_ARM,
        OPT_TRIES,
};

static const vt_option spec_options[] = {
    {OPT_DEVICE, "device", "BDF|SLOT|VVVV:DDDD",
     "pass this device through (repeatable); SLOT (0b:00)\n"
     "names every function of the card, VVVV:DDDD every\n"
     "device with that vendor:device id"},
    {OPT_RELEASE, "release", "BDF|VVVV:DDDD", "stop passing it through (repeatable)"},
    {OPT_METHOD, "method", "ids|alias|blacklist|override",
     "how vfio-pci claims the devices (default ids)"},
    {OPT_CMDLINE_ADD, "cmdline-add", "ARG", "add a kernel parameter (repeatable)"},
    {OPT_CMDLINE_REMOVE, "cmdline-remove", "ARG", "remove a kernel parameter (repeatable)"},
    {OPT_NO_IOMMU_PARAMS, "no-iommu-params", NULL,
     "leave out the IOMMU parameters vfiotx would derive"},
    {0},
};

#define SPEC_GROUP                                                                                 \
        {                                                                                          \
                "[SPEC]",                                                                          \
                    "SPEC (remembered in the profile /etc/vfiotx/vfiotx.conf;\n"                   \
                    "without SPEC the profile is re-applied)",                                     \
                    spec_options                                                                   \
        }

static const vt_option apply_options[] = {
    {'y', "yes", NULL, "do not ask for confirmation (needed when stdin is not a terminal)"},
    {OPT_NO_REBUILD, "no-rebuild", NULL,
     "change the files only; the initramfs and boot configuration are not\n"
     "rebuilt (status shows a pending rebuild until you run it); no trial"},
    {OPT_FORCE, "force", NULL, "go ahead although a safety check refuses the plan (recorded)"},
    {OPT_NO_ARM, "no-arm", NULL, "do not arm a boot-counted trial: the next boot is a normal one"},
    {OPT_TRIES, "tries", "N",
     "boots the trial gets before the boot loader falls back to the last good entry\n"
     "(1-9, default 3)"},
    {0},
};

static const vt_option_group apply_groups[] = {
    SPEC_GROUP,
    {NULL, "Options", apply_options},
    {0},
};

static const vt_option_group plan_groups[] = {
    SPEC_GROUP,
    {0},
};

static const char apply_epilog[] = "Exit status: 0 applied or nothing to change, 1 failed or "
                                   "refused\n(every file as before), 2 usage error.\n";

const vt_command vt_command_apply = {
    .name = "apply",
    .run = vt_cmd_apply,
    .summary = "apply the profile as one transaction",
    .description =
        "Apply the profile as one transaction: the vfio modules load at boot (/etc/modules);\n"
        "with devices, vfio-pci claims them (modprobe.d, initramfs module list) and the kernel\n"
        "command line gets the IOMMU parameters they need. Files edited by hand since the last\n"
        "transaction are recorded first. Applying twice is a no-op that writes no transaction.\n"
        "The initramfs and boot configuration are rebuilt inside the transaction, and the next\n"
        "boot is a boot-counted trial: unless it is confirmed healthy, the boot loader (GRUB or\n"
        "systemd-boot) boots the last good entry by itself.\n",
    .groups = apply_groups,
    .epilog = apply_epilog,
    .esps = true,
};

const vt_command vt_command_plan = {
    .name = "plan",
    .run = vt_cmd_plan,
    .summary = "show what apply would change, as diffs; writes nothing",
    .description =
        "Show what apply would change, as a unified diff of every file, why, and what a safety\n"
        "check refuses, then the rebuild steps apply would run. Writes nothing.\n",
    .groups = plan_groups,
};

typedef struct apply_flags {
        bool yes, no_rebuild, force, no_arm;
        unsigned tries;
} apply_flags;

/* Parse SPEC and (for apply) the apply flags. Returns -1 to go on, or an exit code. */
static int parse_args(vt_cli *cli, const char *cmd, int argc, char **argv, vt_spec *spec,
                      apply_flags *flags)
{
        vt_opts p;
        int c;

        vt_opts_init(&p, cli, flags ? &vt_command_apply : &vt_command_plan, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                int r = 0;

                switch (c) {
                case 'y':
                        flags->yes = true;
                        break;
                case OPT_NO_REBUILD:
                        flags->no_rebuild = true;
                        break;
                case OPT_FORCE:
                        flags->force = true;
                        break;
                case OPT_NO_ARM:
                        flags->no_arm = true;
                        break;
                case OPT_TRIES: {
                        char *end;
                        long n = strtol(p.arg, &end, 10);

                        if (*end || n < 1 || n > 9)
                                return vt_cli_usage_error(cli, cmd,
                                                          "--tries takes 1 to 9, not '%s'", p.arg);
                        flags->tries = (unsigned)n;
                        break;
                }
                case OPT_DEVICE:
                        r = vt_strv_push(&spec->devices, p.arg);
                        break;
                case OPT_RELEASE:
                        r = vt_strv_push(&spec->releases, p.arg);
                        break;
                case OPT_METHOD:
                        if (vt_bind_method_parse(p.arg, &spec->method) < 0)
                                return vt_cli_usage_error(cli, cmd,
                                                          "--method takes ids, alias, blacklist "
                                                          "or override, not '%s'",
                                                          p.arg);
                        spec->method_set = true;
                        break;
                case OPT_CMDLINE_ADD:
                        r = vt_strv_push(&spec->cmdline_add, p.arg);
                        break;
                case OPT_CMDLINE_REMOVE:
                        r = vt_strv_push(&spec->cmdline_remove, p.arg);
                        break;
                case OPT_NO_IOMMU_PARAMS:
                        spec->no_iommu_params = true;
                        break;
                }
                if (r < 0)
                        return vt_cli_fail(cli, r, cmd);
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[p.next]);
        return -1;
}

static void print_refusals(const vt_plan *plan, FILE *f, const char *lead)
{
        for (size_t i = 0; i < plan->refusals.n; i++)
                fprintf(f, "%s%s\n", lead, plan->refusals.items[i]);
}

static void show_plan(const vt_cli *cli, const vt_plan *plan, const char *diff)
{
        if (plan->why.len)
                vt_cli_info(cli, "%s", plan->why.ptr);
        if (*diff)
                printf("%s", diff);
        else
                vt_cli_info(cli, "nothing to change: the host already matches the profile\n");
        if (plan->refusals.n) {
                bool colour = vt_cli_colour(cli, stderr);

                fprintf(stderr, "%srefused%s (apply needs --force):\n",
                        vt_style_on(colour, VT_STYLE_REFUSED), vt_style_end(colour));
                print_refusals(plan, stderr, "  ");
        }
}

/* The plan's part of the plan and apply documents. */
static void plan_json(json_object *doc, const vt_plan *plan)
{
        json_object_object_add(doc, "summary", vt_json_str(plan->summary));
        json_object_object_add(doc, "why", vt_json_lines(vt_buf_cstr(&plan->why)));
        json_object_object_add(doc, "refusals", vt_json_refusals(plan));
}

int vt_cmd_plan(vt_cli *cli, int argc, char **argv)
{
        vt_op_plan_result res = {0};
        vt_outcome outcome = VT_OUTCOME_UNCHANGED;
        vt_spec spec = {0};
        vt_op_env env;
        int r, rc;

        r = parse_args(cli, "plan", argc, argv, &spec, NULL);
        if (r >= 0) {
                vt_spec_free(&spec);
                return r;
        }
        vt_cli_env(cli, &env);
        r = vt_op_plan(&env, &spec, &res);
        if (res.try_note.len) {
                vt_op_ui ui;

                /* Printed and gathered for the document like any note. */
                vt_cli_ui(cli, &ui);
                ui.notes(ui.userdata, vt_buf_cstr(&res.try_note));
        }
        if (res.computed) {
                if (res.plan.refusals.n)
                        outcome = VT_OUTCOME_REFUSED;
                else if (res.diff.len)
                        outcome = VT_OUTCOME_CHANGED;
        }
        if (cli->json) {
                vt_cli_report *rep = cli->report;

                if (res.computed) {
                        rep->changes = vt_json_changes(&res.disk, &res.plan.target);
                        rep->diff = json_object_new_string(vt_buf_cstr(&res.diff));
                }
                if (r >= 0)
                        rep->rebuild = vt_json_rebuild(&res.rebuild.plan);
                if (r >= 0) {
                        json_object *doc = vt_cli_doc(cli);

                        plan_json(doc, &res.plan);
                        json_object_object_add(doc, "would_change",
                                               json_object_new_boolean(res.diff.len > 0));
                        rc = vt_cli_emit(cli, doc, outcome);
                        goto out;
                }
        } else {
                if (res.computed)
                        show_plan(cli, &res.plan, vt_buf_cstr(&res.diff));
                if (r >= 0)
                        vt_cli_rebuild_show(cli, &res.rebuild.plan);
        }
        rc = r < 0 ? vt_cli_fail(cli, r, "plan") : vt_cli_exit(cli, outcome);
out:
        vt_op_plan_result_free(&res);
        vt_spec_free(&spec);
        /* A plan that apply would refuse is still a plan: 0 for people, 3 with
         * --detailed-exitcode. */
        return r >= 0 && !cli->detailed_exitcode ? VT_EXIT_OK : rc;
}

/* The plan, before apply carries it out (not with --json or -q). */
static void ui_show_plan(void *userdata, const vt_plan *plan, const char *diff)
{
        const vt_cli *cli = userdata;

        if (cli->verbosity >= 0 && !cli->json)
                show_plan(cli, plan, diff);
}

int vt_cmd_apply(vt_cli *cli, int argc, char **argv)
{
        vt_outcome outcome = VT_OUTCOME_UNCHANGED;
        apply_flags flags = {0};
        vt_op_apply_result res = {0};
        vt_op_apply_req req;
        vt_spec spec = {0};
        vt_op_env env;
        vt_op_ui ui;
        int r;

        r = parse_args(cli, "apply", argc, argv, &spec, &flags);
        if (r >= 0) {
                vt_spec_free(&spec);
                return r;
        }
        req = (vt_op_apply_req){
            .spec = &spec,
            .yes = flags.yes,
            .no_rebuild = flags.no_rebuild,
            .force = flags.force,
            .no_arm = flags.no_arm,
            .tries = flags.tries,
        };
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        ui.show_plan = ui_show_plan;
        r = vt_op_apply(&env, &ui, &req, &res);
        if (r < 0) {
                if (res.refused && (cli->json || cli->verbosity < 0))
                        print_refusals(&res.plan, stderr, "refused: ");
                if (res.refused)
                        cli->report->refusals = vt_json_refusals(&res.plan);
                goto out;
        }
        outcome = res.txn || res.rebuilt_pending ? VT_OUTCOME_CHANGED : VT_OUTCOME_UNCHANGED;
        if (cli->json) {
                json_object *doc = vt_cli_doc(cli), *trial = NULL;
                vt_txn_info t = {.id = res.txn, .kind = "apply", .outcome = "applied"};

                if (res.computed)
                        plan_json(doc, &res.plan);
                t.summary = res.plan.summary;
                json_object_object_add(doc, "changed",
                                       json_object_new_boolean(outcome == VT_OUTCOME_CHANGED));
                json_object_object_add(doc, "transaction", vt_json_txn(&t));
                json_object_object_add(doc, "rebuild_pending",
                                       json_object_new_boolean(res.txn && flags.no_rebuild));
                json_object_object_add(doc, "reboot_required",
                                       json_object_new_boolean(res.txn && !flags.no_rebuild));
                if (res.armed && res.txn) {
                        trial = json_object_new_object();
                        json_object_object_add(trial, "state", json_object_new_string("armed"));
                        json_object_object_add(trial, "transaction",
                                               json_object_new_int64(res.txn));
                        json_object_object_add(trial, "tries", json_object_new_int64(res.tries));
                        json_object_object_add(trial, "reason", NULL);
                }
                json_object_object_add(doc, "trial", trial);
                r = vt_cli_emit(cli, doc, outcome);
                vt_op_apply_result_free(&res);
                vt_spec_free(&spec);
                return r;
        } else if (res.txn == 0) {
                vt_cli_info(cli, "%s\n",
                            res.rebuilt_pending ? "the pending rebuild is complete"
                                                : "nothing to do: the host already "
                                                  "matches the profile");
        } else {
                vt_cli_info(cli, "applied as transaction %ld\n", res.txn);
                if (flags.no_rebuild)
                        vt_cli_info(cli, "the initramfs and boot configuration were not rebuilt "
                                         "(--no-rebuild): 'vfiotx apply' completes it; 'vfiotx "
                                         "status' shows it pending\n");
                else if (res.rebuild_steps)
                        vt_cli_info(cli, "rebuilt and verified: %zu step%s\n", res.rebuild_steps,
                                    res.rebuild_steps > 1 ? "s" : "");
                if (res.armed)
                        vt_cli_info(
                            cli,
                            "reboot to try it: after %u failed boot%s the boot loader falls "
                            "back to the last good entry by itself; a healthy boot "
                            "is confirmed by vfiotx-confirm.service (or 'vfiotx "
                            "confirm')\n",
                            res.tries, res.tries > 1 ? "s" : "");
                vt_cli_info(cli, "'vfiotx rollback' restores the last good snapshot; 'vfiotx "
                                 "confirm' marks this one good\n");
        }
out:
        vt_op_apply_result_free(&res);
        vt_spec_free(&spec);
        return r < 0 ? vt_cli_fail(cli, r, "apply") : vt_cli_exit(cli, outcome);
}
