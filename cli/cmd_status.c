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

const vt_command vt_command_status = {
    .name = "status",
    .run = vt_cmd_status,
    .summary = "show the state of the journal",
    .description =
        "Show the state of the journal: the applied transaction, the last good one, whether\n"
        "they are the same (good) or the applied one awaits confirmation, a pending rebuild,\n"
        "an interrupted transaction, files changed outside vfiotx (drift), and whether apply\n"
        "can arm a boot-counted trial here.\n",
};

int vt_cmd_status(vt_cli *cli, int argc, char **argv)
{
        _cleanup_(vt_op_status_result_free) vt_op_status_result res = {0};
        const vt_profile *profile = &res.profile;
        const char *counter_why;
        vt_op_env env;
        vt_op_ui ui;
        int r, c;

        c = vt_opts_parse_none(cli, &vt_command_status, argc, argv);
        if (c >= 0)
                return c;
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_status(&env, &ui, &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "status");
        counter_why = res.counter_why ? res.counter_why : "";
        if (cli->json) {
                json_object *o = json_object_new_object();
                json_object *bc = json_object_new_object();

                json_object_object_add(bc, "available", json_object_new_boolean(res.counter_ok));
                if (res.counter_why)
                        json_object_object_add(bc, "reason",
                                               json_object_new_string(res.counter_why));
                json_object_object_add(o, "boot_counter", bc);

                json_object_object_add(o, "state", json_object_new_string(res.state));
                json_object_object_add(o, "applied", json_object_new_int64(res.applied.id));
                json_object_object_add(o, "good", json_object_new_int64(res.good.id));
                if (res.failed.id)
                        json_object_object_add(o, "last_failed",
                                               json_object_new_int64(res.failed.id));
                if (res.boot.trial != VT_TRIAL_NONE) {
                        json_object *t = json_object_new_object();

                        json_object_object_add(
                            t, "state", json_object_new_string(vt_trial_name(res.boot.trial)));
                        json_object_object_add(t, "txn", json_object_new_int64(res.boot.trial_txn));
                        json_object_object_add(t, "tries",
                                               json_object_new_int64(res.boot.trial_tries));
                        json_object_object_add(t, "reason",
                                               json_object_new_string(res.boot.trial_reason));
                        json_object_object_add(o, "trial", t);
                }
                json_object_object_add(o, "pending_rebuild",
                                       json_object_new_boolean(res.boot.pending_rebuild));
                json_object_object_add(o, "drift", json_object_new_string(vt_buf_cstr(&res.drift)));
                json_object *devs = json_object_new_array();

                for (size_t i = 0; i < profile->n_devices; i++) {
                        json_object *d = json_object_new_object();
                        char ids[16];

                        snprintf(ids, sizeof(ids), "%04x:%04x", profile->devices[i].vendor,
                                 profile->devices[i].device);
                        json_object_object_add(d, "bdf",
                                               json_object_new_string(profile->devices[i].bdf));
                        json_object_object_add(d, "ids", json_object_new_string(ids));
                        json_object_object_add(
                            d, "host_driver",
                            profile->devices[i].driver
                                ? json_object_new_string(profile->devices[i].driver)
                                : NULL);
                        json_object_array_add(devs, d);
                }
                json_object_object_add(o, "devices", devs);
                json_object_object_add(
                    o, "method", json_object_new_string(vt_bind_method_name(profile->method)));
                if (res.interrupted)
                        json_object_object_add(o, "interrupted",
                                               json_object_new_int64(res.interrupted_txn));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                json_object_put(o);
                return VT_EXIT_OK;
        }
        if (strcmp(res.state, "none") == 0) {
                printf("state: none (vfiotx has not changed %s)\n", cli->root);
                if (!res.counter_ok)
                        printf("boot counter: unavailable: %s\n", counter_why);
                return VT_EXIT_OK;
        }
        printf("state: %s\n", res.state);
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
        if (res.boot.pending_rebuild)
                printf("pending rebuild: the initramfs and boot configuration do not reflect the "
                       "files yet: 'vfiotx apply' (or the next boot's vfiotx-boot.service) "
                       "rebuilds them\n");
        if (!res.counter_ok)
                printf("boot counter: unavailable: %s\n", counter_why);
        if (res.drift.len)
                printf("changed outside vfiotx (recorded at the next apply or rollback):\n%s",
                       res.drift.ptr);
        return VT_EXIT_OK;
}
