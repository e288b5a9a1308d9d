/* vfiotx check: is this host (and each installed kernel) ready for VFIO passthrough? */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/op_check.h"

const vt_command vt_command_check = {
    .name = "check",
    .run = vt_cmd_check,
    .summary = "check IOMMU readiness of the host and its kernels",
    .description =
        "Check IOMMU readiness: CPU virtualization flags, the firmware's DMAR/IVRS tables, the\n"
        "IOMMU active with groups, interrupt remapping, the IOMMU parameters each installed\n"
        "kernel needs, the vfio modules of each kernel, and whether apply can arm a\n"
        "boot-counted trial. Each finding says what to do; --json gives them as JSON.\n",
    .epilog = "Exit status: 0 ready (warnings allowed), 1 not ready, 2 usage error.\n",
    .no_git = true,
    .esps = true,
    .esps_best_effort = true,
};

static const char *tag(vt_check_status s)
{
        return s == VT_CHECK_OK ? "[ ok ]" : s == VT_CHECK_WARN ? "[warn]" : "[FAIL]";
}

int vt_cmd_check(vt_cli *cli, int argc, char **argv)
{
        vt_op_check_result res = {0};
        const vt_findings *fs = &res.findings;
        vt_op_env env;
        vt_op_ui ui;
        bool ready;
        int c, r;

        c = vt_opts_parse_none(cli, &vt_command_check, argc, argv);
        if (c >= 0)
                return c;

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_check(&env, &ui, &res);
        if (r < 0) {
                vt_op_check_result_free(&res);
                return vt_cli_fail(cli, r, "checking the IOMMU");
        }
        ready = res.ready;

        if (cli->json) {
                json_object *o = vt_cli_doc(cli), *arr = json_object_new_array();

                for (size_t i = 0; i < fs->n; i++) {
                        const vt_finding *f = &fs->items[i];
                        json_object *j = json_object_new_object();

                        json_object_object_add(j, "id", json_object_new_string(f->id));
                        json_object_object_add(
                            j, "kernel", f->subject ? json_object_new_string(f->subject) : NULL);
                        json_object_object_add(
                            j, "status", json_object_new_string(vt_check_status_name(f->status)));
                        json_object_object_add(j, "message", json_object_new_string(f->message));
                        json_object_object_add(
                            j, "advice", f->advice ? json_object_new_string(f->advice) : NULL);
                        json_object_array_add(arr, j);
                }
                json_object_object_add(o, "ready", json_object_new_boolean(ready));
                json_object_object_add(o, "findings", arr);
                /* Not ready keeps its exit code 1 (check's own contract, for scripts that came
                 * before the JSON one). */
                vt_cli_emit(cli, o, ready ? VT_OUTCOME_UNCHANGED : VT_OUTCOME_ATTENTION);
        } else {
                size_t fails = 0, warns = 0;

                for (size_t i = 0; i < fs->n; i++) {
                        const vt_finding *f = &fs->items[i];

                        fails += f->status == VT_CHECK_FAIL;
                        warns += f->status == VT_CHECK_WARN;
                        printf("%s %-13s %s\n", tag(f->status), f->id, f->message);
                        if (f->advice)
                                printf("       %-13s -> %s\n", "", f->advice);
                }
                if (ready)
                        printf("\nReady for VFIO passthrough%s.\n",
                               warns ? " (see the warnings above)" : "");
                else
                        printf("\nNot ready: %zu problem%s to fix (see -> above).\n", fails,
                               fails == 1 ? "" : "s");
        }
        vt_op_check_result_free(&res);
        return ready ? VT_EXIT_OK : VT_EXIT_FAIL;
}
