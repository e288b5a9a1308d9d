#include "engine/op_check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/bootloader.h"
#include "backends/firmware.h"
#include "common/error.h"
#include "engine/facts.h"
#include "engine/trial.h"

/* Whether `apply` can arm a boot-counted trial, as a finding. */
static int boot_counter_finding(vt_facts *facts, vt_findings *findings)
{
        vt_flush_report flush;
        bool sdboot;
        int r = vt_trial_check(facts, &flush, &sdboot);

        if (r == -ENOMEM)
                return r;
        if (r >= 0 && sdboot)
                return vt_findings_add(findings, "boot-counter", NULL, VT_CHECK_OK, NULL,
                                       "'vfiotx apply' can arm a boot-counted trial: systemd-boot "
                                       "entries on the ESP (%s), put in place for the loader "
                                       "after each write (%s)",
                                       flush.fstype, vt_flush_method_name(flush.method));
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

/* The firmware and boot path, as a finding: what Secure Boot means for vfiotx here. */
static int firmware_finding(vt_facts *facts, const char *sysfs, vt_findings *findings)
{
        const vt_boot_info *boot;
        const char *note = NULL, *path = "unknown";
        vt_firmware fw;
        int r = vt_firmware_probe(sysfs, &fw);

        if (r < 0)
                return r;
        if (vt_facts_boot(facts, &boot) >= 0) {
                path = vt_firmware_boot_path(&fw, boot);
                note = vt_firmware_secure_boot_note(&fw, boot);
        }
        vt_error_clear();
        if (fw.kind != VT_FIRMWARE_UEFI)
                return vt_findings_add(findings, "firmware", NULL, VT_CHECK_OK, NULL,
                                       "boot path %s, firmware %s", path,
                                       fw.kind == VT_FIRMWARE_BIOS ? "BIOS" : "unknown");
        if (note)
                return vt_findings_add(findings, "firmware", NULL, VT_CHECK_OK, NULL,
                                       "boot path %s, firmware UEFI; %s", path, note);
        return vt_findings_add(findings, "firmware", NULL, VT_CHECK_OK, NULL,
                               "boot path %s, firmware UEFI, Secure Boot %s", path,
                               vt_tristate_name(fw.secure_boot));
}

int vt_op_check(const vt_op_env *env, const vt_op_ui *ui, vt_op_check_result *res)
{
        const vt_kernel_list *kernels;
        const vt_pci_list *devs = NULL;
        vt_root root = VT_ROOT_INIT;
        vt_facts facts;
        int r;

        *res = (vt_op_check_result){0};
        vt_facts_init(&facts, &root, env->sysfs, env->proc);
        r = vt_root_open(&root, env->root);
        if (r < 0)
                return r;
        if (vt_facts_pci(&facts, &devs) < 0) {
                if (ui && ui->warning) {
                        char text[512];

                        snprintf(text, sizeof(text), "%s\n",
                                 vt_error_message() ? vt_error_message() : "no PCI devices");
                        ui->warning(ui->userdata, text);
                }
                vt_error_clear();
        }
        r = vt_facts_kernels(&facts, &kernels);
        if (r >= 0)
                r = vt_iommu_check(env->sysfs, env->proc, &root, kernels, devs, &res->findings);
        if (r >= 0)
                r = boot_counter_finding(&facts, &res->findings);
        if (r >= 0)
                r = firmware_finding(&facts, env->sysfs, &res->findings);
        if (r >= 0)
                res->ready = vt_findings_ready(&res->findings);
        vt_facts_free(&facts);
        vt_root_close(&root);
        return r;
}

void vt_op_check_result_free(vt_op_check_result *res)
{
        vt_findings_free(&res->findings);
}
