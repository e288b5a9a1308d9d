/* status and confirm: the state of the journal, and marking the applied snapshot good. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "backends/profile.h"
#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/engine.h"
#include "engine/trial.h"

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
        _cleanup_buf_ vt_buf drift = VT_BUF_INIT, ptext = VT_BUF_INIT;
        vt_txn_info head = {0}, good = {0};
        vt_profile profile = {0};
        _cleanup_free_ char *counter_why = NULL;
        bool counter_ok;
        const char *state;
        vt_engine e;
        int r, c;

        c = vt_opts_parse_none(cli, &vt_command_status, argc, argv);
        if (c >= 0)
                return c;
        r = vt_cli_open(cli, &e, VT_ENGINE_READ);
        if (r < 0)
                goto out;
        if (!e.have_journal || !e.state.exists) {
                state = "none";
        } else {
                r = vt_journal_load(e.journal, &e.state.head, NULL, &head);
                if (r >= 0 && e.state.has_good)
                        r = vt_journal_load(e.journal, &e.state.good, NULL, &good);
                /* While a transaction is interrupted its own files differ from the head: that is
                 * not drift, and the next command sorts it out. */
                if (r >= 0 && e.state.phase != VT_PHASE_APPLYING)
                        r = vt_engine_drift(&e, &drift);
                if (r < 0)
                        goto out;
                /* The devices come from the profile on disk; an unreadable or hand-broken
                 * profile only hides the device list here (apply reports it with its line). */
                if (vt_root_read(&e.root, VT_PROFILE_PATH, &ptext) >= 0 &&
                    vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&ptext), ptext.len, &profile) < 0)
                        vt_cli_warn(cli, "profile %s cannot be read: %s\n", VT_PROFILE_PATH,
                                    vt_error_message() ? vt_error_message() : "error");
                vt_error_clear();
                if (e.state.phase == VT_PHASE_APPLYING)
                        state = "interrupted";
                else if (e.boot.trial == VT_TRIAL_ARMED)
                        state = "armed";
                else if (e.boot.trial == VT_TRIAL_TRYING)
                        state = "trying";
                else if (e.boot.trial == VT_TRIAL_MARKED_BAD)
                        state = "marked bad";
                else if (e.boot.trial == VT_TRIAL_ROLLED_BACK)
                        state = "rolled back";
                else if (e.state.has_good && vt_oid_equal(&e.state.good, &e.state.head))
                        state = "good";
                else
                        state = "applied";
        }
        /* Can the next apply arm a trial here (GRUB, its script, a grubenv GRUB can write and
         * see after a power cut)? Said only when it cannot. */
        counter_ok = vt_trial_check(&e.root, cli->sysfs, cli->proc, NULL) >= 0;
        if (!counter_ok &&
            asprintf(&counter_why, "%s%s%s", vt_error_message() ? vt_error_message() : "unknown",
                     vt_error_hint_text() ? "; " : "",
                     vt_error_hint_text() ? vt_error_hint_text() : "") < 0)
                counter_why = NULL;
        vt_error_clear();
        if (cli->json) {
                json_object *o = json_object_new_object();
                json_object *bc = json_object_new_object();

                json_object_object_add(bc, "available", json_object_new_boolean(counter_ok));
                if (counter_why)
                        json_object_object_add(bc, "reason", json_object_new_string(counter_why));
                json_object_object_add(o, "boot_counter", bc);

                json_object_object_add(o, "state", json_object_new_string(state));
                json_object_object_add(o, "applied", json_object_new_int64(head.id));
                json_object_object_add(o, "good", json_object_new_int64(good.id));
                if (e.boot.trial != VT_TRIAL_NONE) {
                        json_object *t = json_object_new_object();

                        json_object_object_add(t, "state",
                                               json_object_new_string(vt_trial_name(e.boot.trial)));
                        json_object_object_add(t, "txn", json_object_new_int64(e.boot.trial_txn));
                        json_object_object_add(t, "tries",
                                               json_object_new_int64(e.boot.trial_tries));
                        json_object_object_add(t, "reason",
                                               json_object_new_string(e.boot.trial_reason));
                        json_object_object_add(o, "trial", t);
                }
                json_object_object_add(o, "pending_rebuild",
                                       json_object_new_boolean(e.boot.pending_rebuild));
                json_object_object_add(o, "drift", json_object_new_string(vt_buf_cstr(&drift)));
                json_object *devs = json_object_new_array();

                for (size_t i = 0; i < profile.n_devices; i++) {
                        json_object *d = json_object_new_object();
                        char ids[16];

                        snprintf(ids, sizeof(ids), "%04x:%04x", profile.devices[i].vendor,
                                 profile.devices[i].device);
                        json_object_object_add(d, "bdf",
                                               json_object_new_string(profile.devices[i].bdf));
                        json_object_object_add(d, "ids", json_object_new_string(ids));
                        json_object_object_add(
                            d, "host_driver",
                            profile.devices[i].driver
                                ? json_object_new_string(profile.devices[i].driver)
                                : NULL);
                        json_object_array_add(devs, d);
                }
                json_object_object_add(o, "devices", devs);
                json_object_object_add(o, "method",
                                       json_object_new_string(vt_bind_method_name(profile.method)));
                if (e.state.phase == VT_PHASE_APPLYING)
                        json_object_object_add(o, "interrupted",
                                               json_object_new_int64(e.state.intent_txn));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                json_object_put(o);
                goto out;
        }
        if (strcmp(state, "none") == 0) {
                printf("state: none (vfiotx has not changed %s)\n", cli->root);
                if (!counter_ok)
                        printf("boot counter: unavailable: %s\n", counter_why ? counter_why : "");
                goto out;
        }
        printf("state: %s\n", state);
        if (e.boot.trial == VT_TRIAL_ARMED)
                printf("trial: transaction %ld is armed for %u boot%s; GRUB then falls back to the "
                       "last good entry\n",
                       e.boot.trial_txn, e.boot.trial_tries, e.boot.trial_tries > 1 ? "s" : "");
        else if (e.boot.trial == VT_TRIAL_TRYING)
                printf("trial: this boot is a trial of transaction %ld; it is confirmed when "
                       "healthy ('vfiotx confirm')\n",
                       e.boot.trial_txn);
        else if (e.boot.trial == VT_TRIAL_MARKED_BAD || e.boot.trial == VT_TRIAL_ROLLED_BACK)
                printf("trial: transaction %ld %s: %s\n", e.boot.trial_txn,
                       e.boot.trial == VT_TRIAL_MARKED_BAD ? "was marked bad" : "was rolled back",
                       e.boot.trial_reason);
        printf("applied: transaction %ld (%s: %s)\n", head.id, head.kind ? head.kind : "",
               head.summary ? head.summary : "");
        if (e.state.has_good)
                printf("good: transaction %ld (%s: %s)\n", good.id, good.kind ? good.kind : "",
                       good.summary ? good.summary : "");
        for (size_t i = 0; i < profile.n_devices; i++)
                printf("passed through: %s (%04x:%04x, host driver %s, method %s)\n",
                       profile.devices[i].bdf, profile.devices[i].vendor, profile.devices[i].device,
                       profile.devices[i].driver ? profile.devices[i].driver : "none",
                       vt_bind_method_name(profile.method));
        if (strcmp(state, "applied") == 0)
                printf("the applied transaction is not confirmed yet: 'vfiotx confirm' marks it "
                       "good, 'vfiotx rollback' returns to transaction %ld\n",
                       good.id);
        if (e.state.phase == VT_PHASE_APPLYING)
                printf("interrupted: transaction %ld (%s); the next vfiotx command that changes "
                       "the host finishes or undoes it\n",
                       e.state.intent_txn, e.state.intent_kind);
        if (e.boot.pending_rebuild)
                printf("pending rebuild: the initramfs and boot configuration do not reflect the "
                       "files yet: 'vfiotx apply' (or the next boot's vfiotx-boot.service) "
                       "rebuilds them\n");
        if (!counter_ok)
                printf("boot counter: unavailable: %s\n", counter_why ? counter_why : "");
        if (drift.len)
                printf("changed outside vfiotx (recorded at the next apply or rollback):\n%s",
                       drift.ptr);
out:
        vt_profile_free(&profile);
        vt_txn_info_free(&head);
        vt_txn_info_free(&good);
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "status") : VT_EXIT_OK;
}
