/* apply and plan: compute the plan from the spec and the profile, show it, and (apply) run it
 * as one transaction. */
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
#include "engine/trial.h"

static const char spec_help[] =
    "SPEC (remembered in the profile /etc/vfiotx/vfiotx.conf; without SPEC the profile is\n"
    "re-applied):\n"
    "  --device BDF|VVVV:DDDD     pass this device through (repeatable); VVVV:DDDD names\n"
    "                             every device with that vendor:device id\n"
    "  --release BDF|VVVV:DDDD    stop passing it through (repeatable)\n"
    "  --method ids|alias|blacklist|override\n"
    "                             how vfio-pci claims the devices (default ids)\n"
    "  --cmdline-add ARG          add a kernel parameter (repeatable)\n"
    "  --cmdline-remove ARG       remove a kernel parameter (repeatable)\n"
    "  --no-iommu-params          leave out the IOMMU parameters vfiotx would derive\n";

static const char apply_help[] =
    "Usage: vfiotx [--root DIR] [--sysfs DIR] [--proc DIR] apply [SPEC] [-y] [--no-rebuild]\n"
    "                                                       [--force]\n\n"
    "Apply the profile as one transaction: the vfio modules load at boot (/etc/modules);\n"
    "with devices, vfio-pci claims them (modprobe.d, initramfs module list) and the kernel\n"
    "command line gets the IOMMU parameters they need. Files edited by hand since the last\n"
    "transaction are recorded first. Applying twice is a no-op that writes no transaction.\n\n"
    "  -y, --yes       do not ask for confirmation (needed when stdin is not a terminal)\n"
    "  --no-rebuild    change the files only; the initramfs and boot configuration are not\n"
    "                  rebuilt (status shows a pending rebuild until you run it)\n"
    "  --force         go ahead although a safety check refuses the plan (recorded)\n"
    "  -h, --help      this help\n\n";

static const char plan_help[] =
    "Usage: vfiotx [--root DIR] [--sysfs DIR] [--proc DIR] [--json] plan [SPEC]\n\n"
    "Show what apply would change, as a unified diff of every file, why, and what a safety\n"
    "check refuses. Writes nothing.\n\n";

enum {
        OPT_NO_REBUILD = 256,
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

typedef struct apply_flags {
        bool yes, no_rebuild, force, no_arm;
        unsigned tries;
} apply_flags;

/* Parse SPEC and (for apply) the apply flags. Returns -1 to go on, or an exit code. */
static int parse_args(vt_cli *cli, const char *cmd, int argc, char **argv, vt_spec *spec,
                      apply_flags *flags)
{
        static const struct option opts[] = {
            {"yes", no_argument, NULL, 'y'},
            {"no-rebuild", no_argument, NULL, OPT_NO_REBUILD},
            {"force", no_argument, NULL, OPT_FORCE},
            {"device", required_argument, NULL, OPT_DEVICE},
            {"release", required_argument, NULL, OPT_RELEASE},
            {"method", required_argument, NULL, OPT_METHOD},
            {"cmdline-add", required_argument, NULL, OPT_CMDLINE_ADD},
            {"cmdline-remove", required_argument, NULL, OPT_CMDLINE_REMOVE},
            {"no-iommu-params", no_argument, NULL, OPT_NO_IOMMU_PARAMS},
            {"no-arm", no_argument, NULL, OPT_NO_ARM},
            {"tries", required_argument, NULL, OPT_TRIES},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, flags ? "yh" : "h", opts, NULL)) != -1) {
                int r = 0;

                if (!flags && (c == 'y' || c == OPT_NO_REBUILD || c == OPT_FORCE ||
                               c == OPT_NO_ARM || c == OPT_TRIES))
                        return vt_cli_usage_error(cli, cmd, "'%s' is an option of apply",
                                                  argv[optind - 1]);
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
                        long n = strtol(optarg, &end, 10);

                        if (*end || n < 1 || n > 9)
                                return vt_cli_usage_error(cli, cmd,
                                                          "--tries takes 1 to 9, not '%s'", optarg);
                        flags->tries = (unsigned)n;
                        break;
                }
                case OPT_DEVICE:
                        r = vt_strv_push(&spec->devices, optarg);
                        break;
                case OPT_RELEASE:
                        r = vt_strv_push(&spec->releases, optarg);
                        break;
                case OPT_METHOD:
                        if (vt_bind_method_parse(optarg, &spec->method) < 0)
                                return vt_cli_usage_error(cli, cmd,
                                                          "--method takes ids, alias, blacklist "
                                                          "or override, not '%s'",
                                                          optarg);
                        spec->method_set = true;
                        break;
                case OPT_CMDLINE_ADD:
                        r = vt_strv_push(&spec->cmdline_add, optarg);
                        break;
                case OPT_CMDLINE_REMOVE:
                        r = vt_strv_push(&spec->cmdline_remove, optarg);
                        break;
                case OPT_NO_IOMMU_PARAMS:
                        spec->no_iommu_params = true;
                        break;
                case 'h':
                        fputs(flags ? apply_help : plan_help, stdout);
                        fputs(spec_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(cli, cmd, "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
                if (r < 0)
                        return vt_cli_fail(cli, r, cmd);
        }
        if (optind < argc)
                return vt_cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
}

static int compute(const vt_cli *cli, const vt_root *root, const vt_spec *spec, bool trial_args,
                   vt_plan *plan, vt_snapshot *disk)
{
        _cleanup_free_ const char **paths = NULL;
        vt_plan_ctx ctx = {root, cli->sysfs, cli->proc, spec, trial_args};
        int r = vt_plan_compute(&ctx, plan);

        if (r < 0)
                return r;
        paths = calloc(plan->target.n + 1, sizeof(*paths));
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < plan->target.n; i++)
                paths[i] = plan->target.files[i].path;
        return vt_snapshot_capture(root, paths, plan->target.n, disk);
}

static void print_refusals(const vt_plan *plan, FILE *f, const char *lead)
{
        for (size_t i = 0; i < plan->refusals.n; i++)
                fprintf(f, "%s%s\n", lead, plan->refusals.items[i]);
}

static int show_plan(const vt_cli *cli, const vt_snapshot *disk, const vt_plan *plan)
{
        _cleanup_buf_ vt_buf diff = VT_BUF_INIT;
        int r = vt_diff_snapshots(disk, &plan->target, &diff);

        if (r < 0)
                return r;
        if (cli->json) {
                json_object *o = json_object_new_object(), *ref = json_object_new_array();

                json_object_object_add(o, "changes", json_object_new_boolean(diff.len > 0));
                json_object_object_add(o, "summary", json_object_new_string(plan->summary));
                json_object_object_add(o, "diff", json_object_new_string(vt_buf_cstr(&diff)));
                json_object_object_add(o, "why", json_object_new_string(vt_buf_cstr(&plan->why)));
                for (size_t i = 0; i < plan->refusals.n; i++)
                        json_object_array_add(ref, json_object_new_string(plan->refusals.items[i]));
                json_object_object_add(o, "refusals", ref);
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
        if (plan->refusals.n) {
                fprintf(stderr, "refused (apply needs --force):\n");
                print_refusals(plan, stderr, "  ");
        }
        return 0;
}

int vt_cmd_plan(vt_cli *cli, int argc, char **argv)
{
        _cleanup_snapshot_ vt_snapshot disk = {0};
        vt_root root = VT_ROOT_INIT;
        vt_spec spec = {0};
        vt_plan plan = {0};
        int r;

        r = parse_args(cli, "plan", argc, argv, &spec, NULL);
        if (r >= 0) {
                vt_spec_free(&spec);
                return r;
        }
        r = vt_root_open(&root, cli->root);
        if (r >= 0)
                r = compute(cli, &root, &spec, false, &plan, &disk);
        if (r >= 0)
                r = show_plan(cli, &disk, &plan);
        if (r >= 0) {
                vt_state st = {0};
                vt_cli_rebuild rb = {0};

                /* a pending rebuild (from --no-rebuild) makes apply rebuild everything */
                if (vt_state_read(&root, &st) < 0)
                        vt_error_clear();
                r = vt_cli_rebuild_prepare(cli, &root, &disk, &plan.target, st.pending_rebuild,
                                           &rb);
                if (r >= 0)
                        vt_cli_rebuild_show(cli, &rb);
                vt_cli_rebuild_free(&rb);
        }
        vt_plan_free(&plan);
        vt_spec_free(&spec);
        vt_root_close(&root);
        return r < 0 ? vt_cli_fail(cli, r, "plan") : VT_EXIT_OK;
}

/* Does the disk already hold every file of the target? */
static bool snapshot_matches(const vt_snapshot *disk, const vt_snapshot *target)
{
        for (size_t i = 0; i < target->n; i++) {
                const vt_snap_file *d = vt_snapshot_find(disk, target->files[i].path);

                if (d ? !vt_snap_file_equal(d, &target->files[i]) : target->files[i].present)
                        return false;
        }
        return true;
}

/* The applied transaction's number when it is an apply that is neither confirmed nor on
 * trial, else 0. */
static long unarmed_apply(vt_engine *e)
{
        vt_txn_info head = {0};
        long txn = 0;

        if (e->state.has_good && git_oid_equal(&e->state.good, &e->state.head))
                return 0;
        if (vt_engine_head_info(e, &head) >= 0 && head.kind && strcmp(head.kind, "apply") == 0)
                txn = head.id;
        vt_txn_info_free(&head);
        vt_error_clear();
        return txn;
}

static char *forced_extra(const vt_plan *plan)
{
        json_object *o = json_object_new_object(), *ref = json_object_new_array();
        char *s;

        for (size_t i = 0; i < plan->refusals.n; i++)
                json_object_array_add(ref, json_object_new_string(plan->refusals.items[i]));
        json_object_object_add(o, "forced_refusals", ref);
        s = strdup(json_object_to_json_string(o));
        json_object_put(o);
        return s;
}

int vt_cmd_apply(vt_cli *cli, int argc, char **argv)
{
        _cleanup_snapshot_ vt_snapshot disk = {0}, all = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        _cleanup_free_ char *extra = NULL;
        apply_flags flags = {0};
        vt_cli_rebuild rb = {0};
        bool rebuilt_pending = false, arm = false;
        vt_txn_request req = {.kind = "apply"};
        vt_spec spec = {0};
        vt_engine e;
        vt_plan plan = {0};
        long txn = 0;
        int r;

        r = parse_args(cli, "apply", argc, argv, &spec, &flags);
        if (r >= 0) {
                vt_spec_free(&spec);
                return r;
        }
        r = vt_engine_open(&e, cli->root, VT_ENGINE_WRITE, cli->cmdline, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        /* A trial is armed after every apply that rebuilds, unless asked not to; where it
         * cannot be, apply refuses before changing anything. */
        arm = !flags.no_rebuild && !flags.no_arm;
        if (r >= 0)
                r = vt_trial_recover(&e, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r >= 0 && arm)
                r = vt_trial_check(&e.root, cli->sysfs, cli->proc, NULL);
        if (r >= 0)
                r = compute(cli, &e.root, &spec, arm, &plan, &disk);
        if (r < 0)
                goto fail;
        if (cli->verbosity >= 0 && !cli->json)
                show_plan(cli, &disk, &plan);
        if (!flags.no_rebuild) {
                /* A pending rebuild covers every managed file, not only this plan's. */
                if (e.state.pending_rebuild)
                        r = vt_engine_capture(&e, NULL, &all);
                if (r >= 0)
                        r = vt_cli_rebuild_prepare(cli, &e.root,
                                                   e.state.pending_rebuild ? &all : &disk,
                                                   &plan.target, e.state.pending_rebuild, &rb);
                if (r < 0)
                        goto fail;
                rb.expect.vfio_modules = plan.has_devices;
                rb.expect.words_wanted = (const char *const *)plan.words_wanted.items;
                rb.expect.n_wanted = plan.words_wanted.n;
                rb.expect.words_unwanted = (const char *const *)plan.words_unwanted.items;
                rb.expect.n_unwanted = plan.words_unwanted.n;
                rb.expect.grub_counter = arm;
                vt_cli_rebuild_show(cli, &rb);
        }
        if (vt_trial_in_progress(&e) && !snapshot_matches(&disk, &plan.target)) {
                r = vt_trial_refuse_busy(&e);
                goto fail;
        }
        if (plan.refusals.n && !flags.force) {
                r = vt_error_hint(vt_error_set(EPERM,
                                               "refused: the plan is not safe for this "
                                               "host (%zu reason%s above); nothing was "
                                               "changed",
                                               plan.refusals.n, plan.refusals.n > 1 ? "s" : ""),
                                  "change the plan as advised, or pass --force if you are sure "
                                  "(the journal records that it was forced)");
                if (cli->json || cli->verbosity < 0)
                        print_refusals(&plan, stderr, "refused: ");
                goto fail;
        }
        if (plan.refusals.n) {
                vt_cli_warn(cli, "--force: applying despite %zu refusal%s\n", plan.refusals.n,
                            plan.refusals.n > 1 ? "s" : "");
                extra = forced_extra(&plan);
        }
        if (!flags.yes && !vt_cli_confirm(cli, "Apply these changes?")) {
                r = vt_error_hint(vt_error_set(ECANCELED, "not applied: no confirmation"),
                                  "pass -y to apply without asking (stdin is not a terminal, or "
                                  "the answer was not yes)");
                goto fail;
        }
        /* Keep the running, good boot as the last good entry before anything changes. */
        if (arm && (r = vt_trial_preserve(&e, cli->proc)) < 0)
                goto fail;
        req.summary = plan.summary;
        req.forced = plan.refusals.n > 0;
        req.extra = extra;
        req.pending_rebuild = flags.no_rebuild;
        if (!flags.no_rebuild)
                vt_cli_rebuild_attach(&rb, &req);
        r = vt_engine_transact(&e, &req, &plan.target, &txn, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r < 0)
                goto fail;
        /* An apply whose arming was cut short (recovery finished the transaction, or the
         * process died right after it): it runs unconfirmed and unarmed; arm it now. */
        if (arm && !txn && !vt_trial_in_progress(&e))
                txn = unarmed_apply(&e);
        if (arm && txn) {
                r = vt_trial_arm(&e, txn, flags.tries ? flags.tries : VT_TRIAL_DEFAULT_TRIES,
                                 &notes);
                vt_cli_notes(cli, notes.ptr);
                if (r < 0)
                        goto fail;
        }
        /* Nothing changed, but an earlier --no-rebuild left the artifacts behind the files. */
        if (txn == 0 && !flags.no_rebuild && e.state.pending_rebuild && rb.plan.n) {
                vt_cli_info(cli, "completing the pending rebuild:\n");
                r = vt_rebuild_run(&rb.ctx, &rb.plan, NULL);
                if (r >= 0)
                        r = vt_rebuild_verify(&e.root, &rb.plan, &rb.expect, &rb.report);
                if (r >= 0)
                        r = vt_engine_set_pending_rebuild(&e, false);
                if (r < 0)
                        goto fail;
                rebuilt_pending = true;
        }
        if (cli->json) {
                printf("{\"transaction\": %ld, \"changed\": %s}\n", txn, txn ? "true" : "false");
        } else if (txn == 0) {
                vt_cli_info(cli, "%s\n",
                            rebuilt_pending ? "the pending rebuild is complete"
                                            : "nothing to do: the host already "
                                              "matches the profile");
        } else {
                vt_cli_info(cli, "applied as transaction %ld\n", txn);
                if (flags.no_rebuild)
                        vt_cli_info(cli, "the initramfs and boot configuration were not rebuilt "
                                         "(--no-rebuild): 'vfiotx apply' completes it; 'vfiotx "
                                         "status' shows it pending\n");
                else if (rb.plan.n)
                        vt_cli_info(cli, "rebuilt and verified: %zu step%s\n", rb.plan.n,
                                    rb.plan.n > 1 ? "s" : "");
                if (arm)
                        vt_cli_info(cli,
                                    "reboot to try it: after %u failed boot%s GRUB falls "
                                    "back to the last good entry by itself; a healthy boot "
                                    "is confirmed by vfiotx-confirm.service (or 'vfiotx "
                                    "confirm')\n",
                                    flags.tries ? flags.tries : VT_TRIAL_DEFAULT_TRIES,
                                    (flags.tries ? flags.tries : VT_TRIAL_DEFAULT_TRIES) > 1 ? "s"
                                                                                             : "");
                vt_cli_info(cli, "'vfiotx rollback' restores the last good snapshot; 'vfiotx "
                                 "confirm' marks this one good\n");
        }
        vt_cli_rebuild_free(&rb);
        vt_plan_free(&plan);
        vt_spec_free(&spec);
        vt_engine_close(&e);
        return VT_EXIT_OK;
fail:
        vt_cli_rebuild_free(&rb);
        vt_plan_free(&plan);
        vt_spec_free(&spec);
        vt_engine_close(&e);
        return vt_cli_fail(cli, r, "apply");
}
