/* Probe: IOMMU readiness, the findings behind `vfiotx check`.
 *
 * Each finding has a stable id, a status, a message saying what was found and where, and the
 * advice for the user when there is something to do. Findings, in order:
 *
 *   cpu-virt      vmx/svm in <proc>/cpuinfo (VT-x / AMD-V enabled in the firmware)
 *   acpi-table    DMAR (Intel VT-d) or IVRS (AMD-Vi) under <sysfs>/firmware/acpi/tables
 *   iommu-active  units in <sysfs>/class/iommu and groups in <sysfs>/kernel/iommu_groups
 *   irq-remap     interrupt remapping ("IR-" interrupt chips in <proc>/interrupts)
 *   kernel-params per installed kernel: the IOMMU parameters on the running command line
 *                 (<proc>/cmdline) against the kernel's default from /boot/config-<kver>
 *                 (CONFIG_INTEL_IOMMU_DEFAULT_ON; Debian's CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF
 *                 turns it on except for the integrated GPU, which then needs intel_iommu=on)
 *   vfio-modules  per installed kernel: vfio, vfio_iommu_type1 and vfio_pci loadable or built in
 *
 * The host is ready when no finding FAILs; WARN findings are limits worth knowing (interrupt
 * remapping off, the iGPU left out of the IOMMU) that do not stop passthrough in general.
 *
 * Contract: 0 or negative errno with a message (only for allocation failures and an unusable
 * --root: unreadable probe files become findings); the list is freed with vt_findings_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/pci.h"
#include "journal/root.h"

typedef enum vt_check_status {
        VT_CHECK_OK,
        VT_CHECK_WARN,
        VT_CHECK_FAIL,
} vt_check_status;

typedef struct vt_finding {
        const char *id; /* "cpu-virt", "acpi-table", ... (static) */
        char *subject;  /* the kernel version for per-kernel findings, else NULL */
        vt_check_status status;
        char *message;
        char *advice; /* NULL when there is nothing to do */
} vt_finding;

typedef struct vt_findings {
        vt_finding *items;
        size_t n;
} vt_findings;

/* Run every check. `devs` (may be NULL) lets the kernel-params finding name the integrated GPU
 * that an INTGPU_OFF kernel leaves out. */
int vt_iommu_check(const char *sysfs, const char *proc, const vt_root *root,
                   const vt_pci_list *devs, vt_findings *out);
/* Append a finding (`id` static; `subject` and `advice` may be NULL, and are copied). */
int vt_findings_add(vt_findings *f, const char *id, const char *subject, vt_check_status status,
                    const char *advice, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* True when no finding has VT_CHECK_FAIL. */
bool vt_findings_ready(const vt_findings *f);
void vt_findings_free(vt_findings *f);
const char *vt_check_status_name(vt_check_status s); /* "ok", "warn", "fail" */
