/* try: hand devices to vfio-pci now, at runtime, and take them back by themselves unless kept
 * (engine/op_try.h); --keep, --revert, and the timer's own --expire. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "common/macro.h"
#include "engine/op_try.h"

enum {
        OPT_DEVICE = VT_OPT_LONG,
        OPT_TIMEOUT,
        OPT_FORCE,
        OPT_KEEP,
        OPT_APPLY,
        OPT_REVERT,
        OPT_EXPIRE,
};

static const vt_option try_options[] = {
    {OPT_DEVICE, "device", "BDF|SLOT|VVVV:DDDD",
     "move this device to vfio-pci now (repeatable), with the rest\n"
     "of its IOMMU group; SLOT (0b:00) is every function of a card"},
    {OPT_TIMEOUT, "timeout", "SEC", "give the devices back after SEC s unless kept (default 120)"},
    {OPT_FORCE, "force", NULL, "go ahead despite the refusals (recorded in the journal)"},
    {OPT_KEEP, "keep", NULL,
     "keep the devices of the try in progress on vfio-pci (until\n"
     "the next boot): the revert timer stops"},
    {OPT_APPLY, "apply", NULL,
     "with --keep: go straight on to 'vfiotx apply' for the devices\n"
     "named in the try, so the boot configuration follows what was\n"
     "just shown to work"},
    {'y', "yes", NULL, "with --apply: apply without asking"},
    {OPT_REVERT, "revert", NULL, "give every device of the try back to its driver now"},
    {OPT_EXPIRE, "expire", "ID",
     "what the revert timer runs at the deadline: give the devices\n"
     "of try ID back unless it was kept or reverted already"},
    {0},
};

static const vt_option_group try_groups[] = {
    {NULL, "Options", try_options},
    {0},
};

const vt_command vt_command_try = {
    .name = "try",
    .run = vt_cmd_try,
    .summary = "hand devices to vfio-pci now, and back unless kept",
    .description =
        "Move the named devices, and the rest of their IOMMU groups, to vfio-pci at runtime,\n"
        "without changing a file, and check at once that the host lives with it: each\n"
        "device on vfio-pci with its /dev/vfio node (on-vfio), every group viable\n"
        "(group-viable), the root and boot disks' controllers and the default-route NICs\n"
        "on their drivers (host-devices), no process robbed of a device it held open\n"
        "(open-devices). A failed check gives the devices back at once.\n"
        "\n"
        "Unless 'vfiotx try --keep' (or 'vfiotx confirm') comes before the timeout, a timer\n"
        "outside the calling shell (a transient systemd timer, or a detached process) gives\n"
        "every device back to the driver it had. It fires when the SSH session that started\n"
        "the try is gone; a reboot gives the drivers back too, since no file changed.\n"
        "\n"
        "A device the host is using is refused, with what to do: a GPU that drives the\n"
        "console or whose DRM nodes are open, a NIC with the default route or addresses in\n"
        "use, a disk controller under mounted filesystems or active swap, any device whose\n"
        "nodes a process holds open, or any device of such a device's group. --force\n"
        "overrides, and is recorded.\n"
        "\n"
        "Every try, keep and revert is an entry of 'vfiotx log'; 'plan' and 'apply' for the\n"
        "same devices say when a live try passed its checks.\n",
    .groups = try_groups,
    .epilog = "Exit status: 0 done, 1 failed (a failed check: the devices are back) or refused\n"
              "(nothing changed), 2 usage error.\n",
};

static void print_checks(const vt_cli *cli, const vt_op_try_result *res)
{
        bool colour = vt_cli_colour(cli, stderr);

        for (size_t i = 0; i < res->n_checks; i++) {
                const vt_try_check *c = &res->checks[i];

                if (!c->ok || cli->verbosity >= 0)
                        fprintf(stderr, "  check %-13s %s%s%s: %s\n", c->name,
                                vt_style_on(colour, c->ok ? VT_STYLE_OK : VT_STYLE_FAILED),
                                c->ok ? "ok" : "FAILED", vt_style_end(colour), c->message);
        }
}

static void print_devices(const vt_cli *cli, const vt_op_try_result *res, const char *verb)
{
        for (size_t i = 0; i < res->state.n; i++) {
                const vt_try_device *d = &res->state.devices[i];
                const char *now = res->drivers ? res->drivers[i] : "?";

                const char *from = d->original[0] ? d->original : "no driver";

                if (strcmp(verb, "moved") == 0)
                        vt_cli_info(cli, "moved %s: %s -> %s%s\n", d->bdf, from,
                                    now[0] ? now : "no driver",
                                    d->named ? "" : " (same IOMMU group)");
                else
                        vt_cli_info(cli, "%s %s on %s%s\n", verb, d->bdf,
                                    now[0] ? now : "no driver",
                                    d->named ? "" : " (same IOMMU group)");
        }
}

static json_object *checks_json(const vt_op_try_result *res)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < res->n_checks; i++) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "name", json_object_new_string(res->checks[i].name));
                json_object_object_add(o, "ok", json_object_new_boolean(res->checks[i].ok));
                json_object_object_add(o, "message", vt_json_str(res->checks[i].message));
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *refusals_json(const vt_op_try_result *res)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < res->n_refusals; i++) {
                const vt_try_refusal *f = &res->refusals[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "code", vt_json_str(f->code));
                json_object_object_add(o, "device", vt_json_str(f->bdf));
                /* The shared refusal object has no key for the named device: the message
                 * says whose group brought it in, as the text does. */
                if (strcmp(f->bdf, f->named) != 0) {
                        _cleanup_free_ char *m = NULL;

                        json_object_object_add(
                            o, "message",
                            asprintf(&m, "%s (in the IOMMU group of %s)", f->message, f->named) >= 0
                                ? json_object_new_string(m)
                                : vt_json_str(f->message));
                } else {
                        json_object_object_add(o, "message", vt_json_str(f->message));
                }
                json_object_object_add(o, "advice", vt_json_str(f->advice));
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *devices_json(const vt_op_try_result *res)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < res->state.n; i++) {
                const vt_try_device *d = &res->state.devices[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
                json_object_object_add(o, "named", json_object_new_boolean(d->named));
                json_object_object_add(o, "original_driver",
                                       d->original[0] ? json_object_new_string(d->original) : NULL);
                json_object_object_add(o, "driver",
                                       res->drivers && res->drivers[i][0]
                                           ? json_object_new_string(res->drivers[i])
                                           : NULL);
                json_object_array_add(a, o);
        }
        return a;
}

static const char *const action_names[] = {
    [VT_TRY_START] = "try",
    [VT_TRY_KEEP] = "keep",
    [VT_TRY_REVERT] = "revert",
    [VT_TRY_EXPIRE] = "expire",
};

static int emit(vt_cli *cli, const vt_op_try_req *req, const vt_op_try_result *res,
                vt_outcome outcome)
{
        json_object *doc = vt_cli_doc(cli);

        json_object_object_add(doc, "action", json_object_new_string(action_names[req->action]));
        json_object_object_add(doc, "transaction",
                               res->txn ? json_object_new_int64(res->txn) : NULL);
        json_object_object_add(doc, "devices", devices_json(res));
        json_object_object_add(doc, "checks", checks_json(res));
        json_object_object_add(doc, "refusals", refusals_json(res));
        json_object_object_add(doc, "deadline",
                               res->state.deadline && !res->reverted
                                   ? json_object_new_int64(res->state.deadline)
                                   : NULL);
        json_object_object_add(doc, "watcher",
                               res->state.watcher[0] && req->action == VT_TRY_START &&
                                       !res->reverted
                                   ? json_object_new_string(res->state.watcher)
                                   : NULL);
        json_object_object_add(doc, "reverted", json_object_new_boolean(res->reverted));
        json_object_object_add(doc, "reason", res->reason[0] ? vt_json_str(res->reason) : NULL);
        return vt_cli_emit(cli, doc, outcome);
}

/* try --keep --apply: the persistent configuration for the devices the try named. */
static int go_apply(vt_cli *cli, const vt_op_try_result *res, bool yes)
{
        _cleanup_free_ char **args = calloc(2 * res->state.n + 3, sizeof(*args));
        int n = 0;

        if (!args)
                return vt_cli_fail(cli, -ENOMEM, "try --keep --apply");
        args[n++] = (char *)"apply";
        for (size_t i = 0; i < res->state.n; i++)
                if (res->state.devices[i].named) {
                        args[n++] = (char *)"--device";
                        args[n++] = (char *)res->state.devices[i].bdf;
                }
        if (yes)
                args[n++] = (char *)"--yes";
        /* The command running is apply from here on: its document, its exit code. */
        cli->command = "apply";
        return vt_cmd_apply(cli, n, args);
}

int vt_cmd_try(vt_cli *cli, int argc, char **argv)
{
        _cleanup_free_ const char **devices = calloc((size_t)argc + 1, sizeof(*devices));
        vt_op_try_req req = {.action = VT_TRY_START};
        vt_op_try_result res = {0};
        bool keep = false, revert = false, apply = false, yes = false, timeout = false;
        vt_outcome outcome = VT_OUTCOME_CHANGED;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r, rc;

        if (!devices)
                return vt_cli_fail(cli, -ENOMEM, "try");
        req.devices = devices;
        vt_opts_init(&p, cli, &vt_command_try, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                switch (c) {
                case OPT_DEVICE:
                        devices[req.n_devices++] = p.arg;
                        break;
                case OPT_TIMEOUT: {
                        char *end;
                        long n = strtol(p.arg, &end, 10);

                        if (*end || n < 1 || n > 86400)
                                return vt_cli_usage_error(cli, "try",
                                                          "--timeout takes 1 to 86400 seconds, "
                                                          "not '%s'",
                                                          p.arg);
                        req.timeout_s = (int)n;
                        timeout = true;
                        break;
                }
                case OPT_FORCE:
                        req.force = true;
                        break;
                case OPT_KEEP:
                        keep = true;
                        break;
                case OPT_APPLY:
                        apply = true;
                        break;
                case 'y':
                        yes = true;
                        break;
                case OPT_REVERT:
                        revert = true;
                        break;
                case OPT_EXPIRE:
                        req.action = VT_TRY_EXPIRE;
                        req.expire_id = p.arg;
                        break;
                }
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, "try", "unexpected argument '%s'", argv[p.next]);
        if (keep + revert + (req.action == VT_TRY_EXPIRE) > 1)
                return vt_cli_usage_error(cli, "try", "--keep and --revert exclude each other");
        if (keep)
                req.action = VT_TRY_KEEP;
        else if (revert)
                req.action = VT_TRY_REVERT;
        if (req.action == VT_TRY_START && req.n_devices == 0)
                return vt_cli_usage_error(cli, "try",
                                          "name the devices to try with --device "
                                          "(see 'vfiotx devices'), or give --keep or "
                                          "--revert");
        if (req.action != VT_TRY_START && (req.n_devices || timeout || req.force))
                return vt_cli_usage_error(cli, "try",
                                          "--device, --timeout and --force start a "
                                          "try: not with --keep or --revert");
        if ((apply || yes) && !keep)
                return vt_cli_usage_error(cli, "try", "--apply and --yes go with --keep");
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_try(&env, &ui, &req, &res);
        if (res.refused) {
                for (size_t i = 0; i < res.n_refusals; i++) {
                        const vt_try_refusal *f = &res.refusals[i];

                        fprintf(stderr, "refused: %s: %s: %s%s%s%s\n  %s\n", f->code, f->bdf,
                                f->message,
                                strcmp(f->bdf, f->named) ? " (in the IOMMU group of " : "",
                                strcmp(f->bdf, f->named) ? f->named : "",
                                strcmp(f->bdf, f->named) ? ")" : "", f->advice);
                }
                cli->report->refusals = refusals_json(&res);
        }
        if (res.n_checks && !cli->json)
                print_checks(cli, &res);
        if (r < 0) {
                if (res.reverted && !cli->json)
                        print_devices(cli, &res, "given back:");
                rc = vt_cli_fail(cli, r, "try");
                goto out;
        }
        if (res.nothing)
                outcome = VT_OUTCOME_UNCHANGED;
        if (!cli->json) {
                char when[32];

                switch (req.action) {
                case VT_TRY_START:
                        print_devices(cli, &res, "moved");
                        vt_cli_time(res.state.deadline, when);
                        vt_cli_info(cli,
                                    "on vfio-pci until %s (transaction %ld): 'vfiotx try --keep' "
                                    "keeps them, 'vfiotx try --revert' gives them back now\n",
                                    when, res.txn);
                        break;
                case VT_TRY_KEEP:
                        print_devices(cli, &res, "kept:");
                        vt_cli_info(cli, "kept until the next boot (transaction %ld)%s\n", res.txn,
                                    apply ? ""
                                          : ": 'vfiotx apply --device ...' makes it persistent");
                        break;
                default:
                        if (!res.nothing)
                                print_devices(cli, &res, "given back:");
                        else if (req.action == VT_TRY_REVERT)
                                vt_cli_info(cli, "no try in progress: nothing to give back\n");
                        break;
                }
        }
        if (apply) {
                rc = go_apply(cli, &res, yes);
                goto out;
        }
        rc = cli->json ? emit(cli, &req, &res, outcome) : vt_cli_exit(cli, outcome);
out:
        vt_op_try_result_free(&res);
        return rc;
}
