/* vfiotx check: is this host (and each installed kernel) ready for VFIO passthrough? */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "backends/iommu.h"
#include "backends/pci.h"
#include "cli/cli.h"
#include "common/error.h"
#include "engine/trial.h"
#include "fs/root.h"

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
};

static const char *tag(vt_check_status s)
{
        return s == VT_CHECK_OK ? "[ ok ]" : s == VT_CHECK_WARN ? "[warn]" : "[FAIL]";
}

/* Whether `apply` can arm a boot-counted trial here, and why not: a /boot GRUB cannot write its
 * environment on, or whose writes cannot be put where GRUB reads them. A warning, not a
 * failure: the host is ready for passthrough, only without an automatic fallback. */
static int boot_counter_finding(vt_cli *cli, const vt_root *root, vt_findings *findings)
{
        vt_flush_report flush;
        int r = vt_trial_check(root, cli->sysfs, cli->proc, &flush);

        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                return vt_findings_add(findings, "boot-counter", NULL, VT_CHECK_OK, NULL,
                                       "'vfiotx apply' can arm a boot-counted trial: grubenv on "
                                       "%s, put in place for GRUB after each write (%s)",
                                       flush.fstype, vt_flush_method_name(flush.method));
        r = vt_findings_add(findings, "boot-counter", NULL, VT_CHECK_WARN, vt_error_hint_text(),
                            "%s", vt_error_message() ? vt_error_message() : strerror(-r));
        vt_error_clear();
        return r;
}

int vt_cmd_check(vt_cli *cli, int argc, char **argv)
{
        vt_root root = VT_ROOT_INIT;
        vt_pci_list devs = {0};
        vt_findings findings = {0};
        bool ready, have_devs;
        int c, r;

        c = vt_opts_parse_none(cli, &vt_command_check, argc, argv);
        if (c >= 0)
                return c;

        r = vt_root_open(&root, cli->root);
        if (r < 0)
                return vt_cli_fail(cli, r, "opening the root");
        /* The device list only sharpens one finding (naming the iGPU); a host whose PCI tree
         * cannot be read still gets every other finding. */
        have_devs = vt_pci_scan(cli->sysfs, &devs) == 0;
        if (!have_devs)
                vt_cli_warn(cli, "%s\n",
                            vt_error_message() ? vt_error_message() : "no PCI devices");
        r = vt_iommu_check(cli->sysfs, cli->proc, &root, have_devs ? &devs : NULL, &findings);
        if (r >= 0)
                r = boot_counter_finding(cli, &root, &findings);
        vt_pci_list_free(&devs);
        vt_root_close(&root);
        if (r < 0)
                return vt_cli_fail(cli, r, "checking the IOMMU");
        ready = vt_findings_ready(&findings);

        if (cli->json) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array();

                for (size_t i = 0; i < findings.n; i++) {
                        const vt_finding *f = &findings.items[i];
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
                printf("%s\n", json_object_to_json_string_ext(
                                   o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                size_t fails = 0, warns = 0;

                for (size_t i = 0; i < findings.n; i++) {
                        const vt_finding *f = &findings.items[i];

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
        vt_findings_free(&findings);
        return ready ? VT_EXIT_OK : VT_EXIT_FAIL;
}
