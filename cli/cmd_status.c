/* status and confirm: the state of the journal, and marking the applied snapshot good. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/op_status.h"

enum { OPT_TEXTFILE = VT_OPT_LONG };

static const vt_option status_options[] = {
    {OPT_TEXTFILE, "textfile", "FILE",
     "also write the state as metrics in node_exporter's textfile\n"
     "format to FILE (written aside, then renamed; - for stdout)"},
    {0},
};

static const vt_option_group status_groups[] = {
    {NULL, "Options", status_options},
    {0},
};

const vt_command vt_command_status = {
    .name = "status",
    .run = vt_cmd_status,
    .groups = status_groups,
    .summary = "show the state of the journal",
    .description =
        "Show the state of the journal: the applied transaction, the last good one, whether\n"
        "they are the same (good) or the applied one awaits confirmation, a pending rebuild,\n"
        "an interrupted transaction, files changed outside vfiotx (drift), and whether apply\n"
        "can arm a boot-counted trial here.\n",
    .esps = true,
    .esps_best_effort = true,
};

/* status's state word as JSON and metrics spell it: "marked bad" is "marked-bad". */
static void kebab(const char *in, char *out, size_t size)
{
        size_t i = 0;

        for (; in[i] && i + 1 < size; i++)
                out[i] = in[i] == ' ' ? '-' : in[i];
        out[i] = '\0';
}

/* Something a person (or a fleet dashboard) should look at: anything but a confirmed host. */
static bool needs_attention(const vt_op_status_result *res)
{
        return (strcmp(res->state, "good") != 0 && strcmp(res->state, "none") != 0) ||
               res->boot.pending_rebuild || res->drift.len || res->interrupted || res->has_try;
}

/* The try in progress, or null. */
static json_object *try_json(const vt_op_status_result *res)
{
        const vt_try_state *t = &res->try_state;
        json_object *o, *devs;

        if (!res->has_try)
                return NULL;
        o = json_object_new_object();
        devs = json_object_new_array();
        json_object_object_add(o, "phase", json_object_new_string(vt_try_phase_name(t->phase)));
        json_object_object_add(o, "started", json_object_new_int64(t->started));
        json_object_object_add(o, "deadline", json_object_new_int64(t->deadline));
        json_object_object_add(o, "transaction", t->txn ? json_object_new_int64(t->txn) : NULL);
        json_object_object_add(o, "watcher", t->watcher[0] ? vt_json_str(t->watcher) : NULL);
        json_object_object_add(o, "forced", json_object_new_boolean(t->forced));
        for (size_t i = 0; i < t->n; i++) {
                json_object *d = json_object_new_object();

                json_object_object_add(d, "bdf", json_object_new_string(t->devices[i].bdf));
                json_object_object_add(d, "named", json_object_new_boolean(t->devices[i].named));
                json_object_object_add(d, "original_driver",
                                       t->devices[i].original[0]
                                           ? json_object_new_string(t->devices[i].original)
                                           : NULL);
                json_object_array_add(devs, d);
        }
        json_object_object_add(o, "devices", devs);
        return o;
}

/* One line: how the host boots, as far as the boot counter is concerned. */
static void print_boot(const vt_op_status_result *res)
{
        printf("boot: %s", res->boot_path);
        if (res->firmware.kind == VT_FIRMWARE_UEFI)
                printf(", UEFI, Secure Boot %s", vt_tristate_name(res->firmware.secure_boot));
        else if (res->firmware.kind == VT_FIRMWARE_BIOS)
                printf(", BIOS");
        printf("\n");
        if (res->secure_boot_note)
                printf("%s\n", res->secure_boot_note);
        if (!res->has_sdboot)
                return;
        if (!res->sdboot.entry) {
                printf("next boot: systemd-boot lists no entry in %s/loader/entries that it can "
                       "start\n",
                       res->sdboot.esp);
                return;
        }
        printf("next boot: systemd-boot entry %s", res->sdboot.entry);
        if (res->sdboot.title)
                printf(" (%s)", res->sdboot.title);
        printf(", chosen by %s", res->sdboot.rule);
        if (res->sdboot.pattern)
                printf(" '%s'", res->sdboot.pattern);
        if (res->sdboot.tries_left >= 0)
                printf(", %d tries left", res->sdboot.tries_left);
        printf("\n");
}

static json_object *sdboot_json(const vt_op_status_result *res)
{
        json_object *o;

        if (!res->has_sdboot)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "esp", json_object_new_string(res->sdboot.esp));
        json_object_object_add(o, "entry", vt_json_str(res->sdboot.entry));
        json_object_object_add(o, "title", vt_json_str(res->sdboot.title));
        json_object_object_add(o, "rule", vt_json_str(res->sdboot.entry ? res->sdboot.rule : NULL));
        json_object_object_add(o, "pattern", vt_json_str(res->sdboot.pattern));
        json_object_object_add(
            o, "tries_left",
            res->sdboot.tries_left >= 0 ? json_object_new_int(res->sdboot.tries_left) : NULL);
        json_object_object_add(o, "listed", json_object_new_int64((int64_t)res->sdboot.n_listed));
        return o;
}

static json_object *status_json(const vt_cli *cli, const vt_op_status_result *res)
{
        const vt_profile *profile = &res->profile;
        json_object *o = vt_cli_doc(cli), *bc = json_object_new_object(), *trial, *devs;
        char state[32];

        kebab(res->state, state, sizeof(state));
        json_object_object_add(o, "state", json_object_new_string(state));
        json_object_object_add(o, "applied", vt_json_txn(&res->applied));
        json_object_object_add(o, "good", vt_json_txn(&res->good));
        json_object_object_add(o, "last_failed", vt_json_txn(&res->failed));
        trial = vt_json_trial(&res->boot);
        if (trial) {
                json_object_object_add(trial, "tries_left",
                                       res->tries_left >= 0 ? json_object_new_int(res->tries_left)
                                                            : NULL);
                json_object_object_add(trial, "next_boot", json_object_new_string(res->next_boot));
        }
        json_object_object_add(o, "trial", trial);
        json_object_object_add(o, "pending_rebuild",
                               json_object_new_boolean(res->boot.pending_rebuild));
        json_object_object_add(o, "interrupted",
                               res->interrupted ? json_object_new_int64(res->interrupted_txn)
                                                : NULL);
        json_object_object_add(o, "drift", vt_json_lines(vt_buf_cstr(&res->drift)));
        json_object_object_add(o, "try", try_json(res));
        json_object_object_add(o, "attention", json_object_new_boolean(needs_attention(res)));
        devs = json_object_new_array();
        for (size_t i = 0; i < profile->n_devices; i++) {
                json_object *d = json_object_new_object();
                char ids[16];

                snprintf(ids, sizeof(ids), "%04x:%04x", profile->devices[i].vendor,
                         profile->devices[i].device);
                json_object_object_add(d, "bdf", json_object_new_string(profile->devices[i].bdf));
                json_object_object_add(d, "ids", json_object_new_string(ids));
                json_object_object_add(d, "host_driver", vt_json_str(profile->devices[i].driver));
                json_object_array_add(devs, d);
        }
        json_object_object_add(o, "devices", devs);
        json_object_object_add(o, "method",
                               json_object_new_string(vt_bind_method_name(profile->method)));
        json_object_object_add(bc, "available", json_object_new_boolean(res->counter_ok));
        json_object_object_add(bc, "reason", vt_json_str(res->counter_why));
        json_object_object_add(bc, "boot_path", json_object_new_string(res->boot_path));
        json_object_object_add(bc, "firmware",
                               json_object_new_string(vt_firmware_kind_name(res->firmware.kind)));
        json_object_object_add(bc, "secure_boot",
                               json_object_new_string(vt_tristate_name(res->firmware.secure_boot)));
        json_object_object_add(bc, "secure_boot_note", vt_json_str(res->secure_boot_note));
        json_object_object_add(bc, "systemd_boot", sdboot_json(res));
        json_object_object_add(o, "boot_counter", bc);
        return o;
}

static size_t count_lines(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

/* One gauge of the textfile, with its HELP and TYPE lines. */
static int gauge(vt_buf *out, const char *name, const char *help, long long value)
{
        return vt_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name,
                             name, value);
}

/* node_exporter's textfile format (its textfile collector reads the .prom files of a
 * directory). */
static int textfile(const vt_op_status_result *res, vt_buf *out)
{
        static const char *const states[] = {"none",   "good",       "applied",     "armed",
                                             "trying", "marked-bad", "rolled-back", "interrupted"};
        const vt_boot_state *b = &res->boot;
        char state[32];
        int r = 0;

        kebab(res->state, state, sizeof(state));
        r |= vt_buf_puts(out, "# HELP vfiotx_state The journal's state (1 for the current one).\n"
                              "# TYPE vfiotx_state gauge\n");
        for (size_t i = 0; i < ARRAY_SIZE(states); i++)
                r |= vt_buf_printf(out, "vfiotx_state{state=\"%s\"} %d\n", states[i],
                                   strcmp(state, states[i]) == 0);
        r |= gauge(out, "vfiotx_trial_active", "1 while a boot-counted trial is armed or running.",
                   b->trial == VT_TRIAL_ARMED || b->trial == VT_TRIAL_TRYING);
        r |= gauge(out, "vfiotx_trial_tries_left",
                   "Boots of the trial left on GRUB's counter (-1: no trial or unknown).",
                   res->tries_left);
        r |= gauge(out, "vfiotx_fell_back",
                   "1 when the last trial ended on the last good snapshot (marked bad or rolled "
                   "back).",
                   b->trial == VT_TRIAL_MARKED_BAD || b->trial == VT_TRIAL_ROLLED_BACK);
        r |= gauge(out, "vfiotx_drift_files", "Managed files changed outside vfiotx.",
                   (long long)count_lines(vt_buf_cstr(&res->drift)));
        r |= gauge(out, "vfiotx_pending_rebuild",
                   "1 when the initramfs and boot configuration do not reflect the files yet.",
                   b->pending_rebuild);
        r |= gauge(out, "vfiotx_interrupted", "1 while a transaction is interrupted.",
                   res->interrupted);
        r |= gauge(out, "vfiotx_try_active",
                   "1 while devices are on vfio-pci for a 'vfiotx try' that is not kept yet.",
                   res->has_try);
        r |= gauge(out, "vfiotx_applied_transaction", "The transaction whose files the host has.",
                   res->applied.id);
        r |= gauge(out, "vfiotx_good_transaction", "The last good (confirmed) transaction.",
                   res->good.id);
        r |= gauge(out, "vfiotx_applied_timestamp_seconds",
                   "When the applied transaction was made.", (long long)res->applied.time);
        r |= gauge(out, "vfiotx_good_timestamp_seconds",
                   "When the last good snapshot was confirmed (or recorded).",
                   (long long)res->good.time);
        r |= gauge(out, "vfiotx_boot_counter_available",
                   "1 when apply can arm a boot-counted trial here.", res->counter_ok);
        return r < 0 ? -ENOMEM : 0;
}

int vt_cmd_status(vt_cli *cli, int argc, char **argv)
{
        _cleanup_(vt_op_status_result_free) vt_op_status_result res = {0};
        _cleanup_buf_ vt_buf metrics = VT_BUF_INIT;
        const vt_profile *profile = &res.profile;
        const char *counter_why, *textfile_path = NULL;
        vt_outcome outcome;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int r, c;

        vt_opts_init(&p, cli, &vt_command_status, argc, argv);
        while ((c = vt_opts_next(&p)) > 0)
                if (c == OPT_TEXTFILE)
                        textfile_path = p.arg;
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, "status", "unexpected argument '%s'", argv[p.next]);
        if (textfile_path && cli->json && strcmp(textfile_path, "-") == 0)
                return vt_cli_usage_error(cli, "status",
                                          "--textfile - and --json both write stdout");
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_status(&env, &ui, &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "status");
        outcome = needs_attention(&res) ? VT_OUTCOME_ATTENTION : VT_OUTCOME_UNCHANGED;
        if (textfile_path) {
                r = textfile(&res, &metrics);
                if (r >= 0)
                        r = vt_cli_write_output(textfile_path, metrics.ptr, metrics.len, 0644);
                if (r < 0)
                        return vt_cli_fail(cli, r, "status");
                if (!cli->json)
                        return vt_cli_exit(cli, outcome);
        }
        counter_why = res.counter_why ? res.counter_why : "";
        if (cli->json)
                return vt_cli_emit(cli, status_json(cli, &res), outcome);
        if (strcmp(res.state, "none") == 0) {
                printf("state: none (vfiotx has not changed %s)\n", cli->root);
                print_boot(&res);
                if (!res.counter_ok)
                        printf("boot counter: unavailable: %s\n", counter_why);
                return vt_cli_exit(cli, outcome);
        }
        printf("state: %s\n", res.state);
        print_boot(&res);
        if (res.boot.trial == VT_TRIAL_ARMED)
                printf("trial: transaction %ld is armed for %u boot%s; GRUB then falls back to the "
                       "last good entry\n",
                       res.boot.trial_txn, res.boot.trial_tries,
                       res.boot.trial_tries > 1 ? "s" : "");
        else if (res.boot.trial == VT_TRIAL_TRYING)
                printf("trial: this boot is a trial of transaction %ld; it is confirmed when "
                       "healthy ('vfiotx confirm')\n",
                       res.boot.trial_txn);
        else if (res.boot.trial == VT_TRIAL_MARKED_BAD || res.boot.trial == VT_TRIAL_ROLLED_BACK)
                printf("trial: transaction %ld %s: %s\n", res.boot.trial_txn,
                       res.boot.trial == VT_TRIAL_MARKED_BAD ? "was marked bad" : "was rolled back",
                       res.boot.trial_reason);
        printf("applied: transaction %ld (%s: %s)\n", res.applied.id,
               res.applied.kind ? res.applied.kind : "",
               res.applied.summary ? res.applied.summary : "");
        if (res.failed.id)
                printf("last attempt: transaction %ld (%s: %s) %s; the files are as transaction "
                       "%ld left them\n",
                       res.failed.id, res.failed.kind ? res.failed.kind : "",
                       res.failed.summary ? res.failed.summary : "",
                       res.failed.outcome ? res.failed.outcome : "failed", res.applied.id);
        if (res.has_good)
                printf("good: transaction %ld (%s: %s)\n", res.good.id,
                       res.good.kind ? res.good.kind : "",
                       res.good.summary ? res.good.summary : "");
        for (size_t i = 0; i < profile->n_devices; i++)
                printf("passed through: %s (%04x:%04x, host driver %s, method %s)\n",
                       profile->devices[i].bdf, profile->devices[i].vendor,
                       profile->devices[i].device,
                       profile->devices[i].driver ? profile->devices[i].driver : "none",
                       vt_bind_method_name(profile->method));
        if (strcmp(res.state, "applied") == 0)
                printf("the applied transaction is not confirmed yet: 'vfiotx confirm' marks it "
                       "good, 'vfiotx rollback' returns to transaction %ld\n",
                       res.good.id);
        if (res.interrupted)
                printf("interrupted: transaction %ld (%s); the next vfiotx command that changes "
                       "the host finishes or undoes it\n",
                       res.interrupted_txn, res.interrupted_kind);
        if (res.has_try) {
                char when[32];

                vt_cli_time(res.try_state.deadline, when);
                printf("try in progress (%s):", vt_try_phase_name(res.try_state.phase));
                for (size_t i = 0; i < res.try_state.n; i++)
                        printf(" %s", res.try_state.devices[i].bdf);
                printf(" on vfio-pci, given back at %s unless 'vfiotx try --keep'\n", when);
        }
        if (res.boot.pending_rebuild)
                printf("pending rebuild: the initramfs and boot configuration do not reflect the "
                       "files yet: 'vfiotx apply' (or the next boot's vfiotx-boot.service) "
                       "rebuilds them\n");
        if (!res.counter_ok)
                printf("boot counter: unavailable: %s\n", counter_why);
        if (res.drift.len)
                printf("changed outside vfiotx (recorded at the next apply or rollback):\n%s",
                       res.drift.ptr);
        return vt_cli_exit(cli, outcome);
}
