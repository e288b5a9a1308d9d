/* apply and plan: compute the plan, show it, and (apply) run it as one transaction. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/cli.h"
#include "engine/diff.h"
#include "engine/engine.h"
#include "engine/plan.h"

static const char apply_help[] =
    "Usage: vfiotx [--root DIR] apply [-y] [--no-rebuild] [--force]\n\n"
    "Apply the profile as one transaction: ensure the vfio modules are loaded at boot\n"
    "(/etc/modules). Files edited by hand since the last transaction are recorded first.\n"
    "Applying twice is a no-op that writes no transaction.\n\n"
    "  -y, --yes       do not ask for confirmation (needed when stdin is not a terminal)\n"
    "  --no-rebuild    change the files only; the initramfs and boot configuration are not\n"
    "                  rebuilt (status shows a pending rebuild until you run it)\n"
    "  --force         go ahead although a safety check refuses the plan\n"
    "  -h, --help      this help\n";

static const char plan_help[] = "Usage: vfiotx [--root DIR] [--json] plan\n\n"
                                "Show what apply would change, as a unified diff of every file, "
                                "and why. Writes nothing.\n";

static int show_plan(const vt_cli *cli, const vt_snapshot *disk, const vt_plan *plan)
{
        _cleanup_buf_ vt_buf diff = VT_BUF_INIT;
        int r = vt_diff_snapshots(disk, &plan->target, &diff);

        if (r < 0)
                return r;
        if (cli->json) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "changes", json_object_new_boolean(diff.len > 0));
                json_object_object_add(o, "diff", json_object_new_string(vt_buf_cstr(&diff)));
                json_object_object_add(o, "why", json_object_new_string(vt_buf_cstr(&plan->why)));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                json_object_put(o);
                return 0;
        }
        if (plan->why.len)
                vt_cli_info(cli, "%s", plan->why.ptr);
        if (diff.len)
                printf("%s", diff.ptr);
        else
                vt_cli_info(cli, "nothing to change: the host already matches the profile\n");
        return 0;
}

static int plan_against_disk(const vt_cli *cli, vt_root *root, vt_plan *plan, vt_snapshot *disk)
{
        _cleanup_free_ const char **paths = NULL;
        int r;

        (void)cli;
        r = vt_plan_compute(root, plan);
        if (r < 0)
                return r;
        paths = calloc(plan->target.n + 1, sizeof(*paths));
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < plan->target.n; i++)
                paths[i] = plan->target.files[i].path;
        return vt_snapshot_capture(root, paths, plan->target.n, disk);
}

int vt_cmd_plan(vt_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        _cleanup_snapshot_ vt_snapshot disk = {0};
        vt_root root = VT_ROOT_INIT;
        vt_plan plan = {0};
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(plan_help, stdout);
                        return VT_EXIT_OK;
                }
                return vt_cli_usage_error(cli, "plan", "unknown option '%s'", argv[optind - 1]);
        }
        if (optind < argc)
                return vt_cli_usage_error(cli, "plan", "unexpected argument '%s'", argv[optind]);
        r = vt_root_open(&root, cli->root);
        if (r >= 0)
                r = plan_against_disk(cli, &root, &plan, &disk);
        if (r >= 0)
                r = show_plan(cli, &disk, &plan);
        vt_plan_free(&plan);
        vt_root_close(&root);
        return r < 0 ? vt_cli_fail(cli, r, "plan") : VT_EXIT_OK;
}

int vt_cmd_apply(vt_cli *cli, int argc, char **argv)
{
        enum { OPT_NO_REBUILD = 256, OPT_FORCE };
        static const struct option opts[] = {
            {"yes", no_argument, NULL, 'y'},
            {"no-rebuild", no_argument, NULL, OPT_NO_REBUILD},
            {"force", no_argument, NULL, OPT_FORCE},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        _cleanup_snapshot_ vt_snapshot disk = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        bool yes = false, no_rebuild = false, force = false;
        vt_txn_request req = {.kind = "apply"};
        vt_engine e;
        vt_plan plan = {0};
        long txn = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
                switch (c) {
                case 'y':
                        yes = true;
                        break;
                case OPT_NO_REBUILD:
                        no_rebuild = true;
                        break;
                case OPT_FORCE:
                        force = true;
                        break;
                case 'h':
                        fputs(apply_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(cli, "apply", "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (optind < argc)
                return vt_cli_usage_error(cli, "apply", "unexpected argument '%s'", argv[optind]);
        if (!no_rebuild) {
                vt_error_set(ENOTSUP, "this build of vfiotx cannot rebuild the initramfs and boot "
                                      "configuration yet, so it will not apply a change that "
                                      "needs them");
                vt_error_hint(ENOTSUP, "run 'vfiotx apply --no-rebuild', then rebuild yourself "
                                       "(update-initramfs -u -k all); 'vfiotx status' shows the "
                                       "pending rebuild");
                return vt_cli_fail(cli, -ENOTSUP, "apply");
        }
        r = vt_engine_open(&e, cli->root, VT_ENGINE_WRITE, cli->cmdline, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r >= 0)
                r = plan_against_disk(cli, &e.root, &plan, &disk);
        if (r < 0)
                goto fail;
        if (cli->verbosity >= 0 && !cli->json)
                show_plan(cli, &disk, &plan);
        if (!yes) {
                if (!vt_cli_confirm(cli, "Apply these changes?")) {
                        r = vt_error_hint(vt_error_set(ECANCELED, "not applied: no confirmation"),
                                          "pass -y to apply without asking (stdin is not a "
                                          "terminal, or the answer was not yes)");
                        goto fail;
                }
        }
        req.summary = "ensure the vfio modules load at boot";
        req.forced = force;
        req.pending_rebuild = no_rebuild;
        r = vt_engine_transact(&e, &req, &plan.target, &txn, &notes);
        vt_cli_notes(cli, notes.ptr);
        if (r < 0)
                goto fail;
        if (cli->json) {
                printf("{\"transaction\": %ld, \"changed\": %s}\n", txn, txn ? "true" : "false");
        } else if (txn == 0) {
                vt_cli_info(cli, "nothing to do: the host already matches the profile\n");
        } else {
                vt_cli_info(cli,
                            "applied as transaction %ld\n"
                            "the initramfs was not rebuilt (--no-rebuild): run "
                            "'update-initramfs -u -k all' before rebooting\n"
                            "'vfiotx rollback' restores the last good snapshot; 'vfiotx confirm' "
                            "marks this one good\n",
                            txn);
        }
        vt_plan_free(&plan);
        vt_engine_close(&e);
        return VT_EXIT_OK;
fail:
        vt_plan_free(&plan);
        vt_engine_close(&e);
        return vt_cli_fail(cli, r, "apply");
}
