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
 * The IOMMU's maker (vt_iommu_maker_of(), the only place that decides it; `check` and the
 * plan's kernel parameters both use it): the firmware's ACPI table that describes the IOMMU says
 * whose it is, DMAR Intel VT-d and IVRS AMD-Vi (DMAR first when a firmware has both), because a
 * virtual machine may pair either with the other vendor's CPU. Only when the firmware has
 * neither does the CPU vendor decide (backends/cpu.h: Hygon counts as AMD).
 *
 * Contract: 0 or negative errno with a message (only for allocation failures and an unusable
 * --root: unreadable probe files become findings); the list is freed with vt_findings_free().
 * vt_iommu_maker_of() is pure; vt_iommu_maker_probe() fails only for lack of memory (a missing
 * table or cpuinfo is a fact, not a failure). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/cpu.h"
#include "backends/kernels.h"
#include "backends/pci.h"
#include "fs/root.h"

/* The ACPI tables that describe an IOMMU, under <sysfs>/firmware/acpi/tables. */
typedef struct vt_acpi_iommu {
        bool listed; /* the tables directory exists (else the tables are unknown, not absent) */
        bool dmar;   /* Intel VT-d */
        bool ivrs;   /* AMD-Vi */
} vt_acpi_iommu;

/* What decided the maker. */
typedef enum vt_iommu_source {
        VT_IOMMU_FROM_NOTHING = 0, /* neither table and an unknown CPU: the maker is unknown */
        VT_IOMMU_FROM_DMAR,
        VT_IOMMU_FROM_IVRS,
        VT_IOMMU_FROM_CPU, /* neither table: the CPU vendor */
} vt_iommu_source;

typedef struct vt_iommu_maker {
        vt_cpu_vendor vendor;   /* VT_CPU_INTEL: VT-d, VT_CPU_AMD: AMD-Vi, or unknown */
        vt_iommu_source source; /* what said so */
        vt_acpi_iommu tables;   /* the tables as found */
} vt_iommu_maker;

int vt_acpi_iommu_probe(const char *sysfs, vt_acpi_iommu *out);
/* The rule, on the tables found and the CPU vendor (`cpu` is used only without a table). */
void vt_iommu_maker_of(const vt_acpi_iommu *tables, vt_cpu_vendor cpu, vt_iommu_maker *out);
/* The tables under <sysfs>, and <proc>/cpuinfo only when neither table exists. */
/* Is an IOMMU active on the running host: units under <sysfs>/class/iommu and groups under
 * <sysfs>/kernel/iommu_groups. */
bool vt_iommu_active(const char *sysfs);

int vt_iommu_maker_probe(const char *sysfs, const char *proc, vt_iommu_maker *out);

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

/* Run every check, the per-kernel ones on `kernels` (the root's, backends/kernels.h). `devs`
 * (may be NULL) lets the kernel-params finding name the integrated GPU that an INTGPU_OFF
 * kernel leaves out. */
int vt_iommu_check(const char *sysfs, const char *proc, const vt_root *root,
                   const vt_kernel_list *kernels, const vt_pci_list *devs, vt_findings *out);
/* Append a finding (`id` static; `subject` and `advice` may be NULL, and are copied). */
int vt_findings_add(vt_findings *f, const char *id, const char *subject, vt_check_status status,
                    const char *advice, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* True when no finding has VT_CHECK_FAIL. */
bool vt_findings_ready(const vt_findings *f);
void vt_findings_free(vt_findings *f);
const char *vt_check_status_name(vt_check_status s); /* "ok", "warn", "fail" */
