/* Which kernel parameters a plan needs, derived from facts about the host and its kernels.
 *
 * Pure: the caller probes (CPU vendor from /proc/cpuinfo, ACPI tables, /boot/config-<kver>
 * through backends/kernels.h, the devices chosen) and passes facts; nothing is read here.
 * The command line is shared by every installed kernel, so the result covers all of them.
 *
 * Rules (each becomes one line of explanation for `plan`):
 *   Intel, per target kernel, from its IOMMU default (Debian's kernels have a three-way choice,
 *   upstream's a boolean):
 *     default on for everything        iGPU on the host: intel_iommu=igfx_off; else nothing
 *     default on except the iGPU       iGPU passed through: intel_iommu=on; else nothing
 *     (Debian 12: ..._ON_INTGPU_OFF=y)
 *     default off, or config unknown   intel_iommu=on, plus igfx_off when the iGPU stays
 *   The kernels' needs are merged into one intel_iommu= value ("on", "igfx_off", "on,igfx_off").
 *   A bare igfx_off never enables the IOMMU, so it is never used where "on" is needed.
 *   AMD: nothing when the firmware has an IVRS table (the IOMMU is then on by default;
 *   amd_iommu=on is not a documented value); without IVRS no parameter helps: a note says so.
 *   iommu=pt for both: only devices given to a VM pay for DMA translation (it does not enable the
 *   IOMMU).
 *   Boot display passed through: video=efifb:off (EFI boot) or video=vesafb:off (BIOS boot; both
 *   when the boot mode is unknown), and initcall_blacklist=sysfb_init for kernels built with
 *   CONFIG_SYSFB_SIMPLEFB=y, where the firmware framebuffer becomes a simple-framebuffer device
 *   that simpledrm (or simplefb) drives and video=efifb:off does not stop; not registering that
 *   device keeps the host's console off the card. video=simplefb:off is not used: simpledrm
 *   ignores it.
 *   vfio-pci built into a target kernel: vfio-pci.ids=<ids> (modprobe.d options do nothing
 *   for a built-in driver).
 *   no_iommu_params leaves all of the above out. The user's additions override a derived
 *   parameter of the same setting, and the user's removals drop matching derived ones.
 *
 * Contract: 0 or a negative errno with a message; -EINVAL for a malformed user parameter or a
 * user addition that a user removal contradicts. The plan is owned by the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/cmdline.h"
#include "backends/cpu.h"
#include "backends/kernels.h"

typedef enum vt_intel_iommu_default {
        VT_INTEL_IOMMU_UNKNOWN = 0, /* no config: treated as off */
        VT_INTEL_IOMMU_OFF,
        VT_INTEL_IOMMU_ON,
        VT_INTEL_IOMMU_ON_INTGPU_OFF, /* on for all but the integrated GPU (Debian) */
} vt_intel_iommu_default;

typedef enum vt_igpu {
        VT_IGPU_NONE = 0,    /* no integrated GPU */
        VT_IGPU_HOST,        /* stays with the host */
        VT_IGPU_PASSTHROUGH, /* given to a VM */
} vt_igpu;

typedef enum vt_boot_mode {
        VT_BOOT_MODE_UNKNOWN = 0,
        VT_BOOT_MODE_EFI,
        VT_BOOT_MODE_BIOS,
} vt_boot_mode;

typedef struct vt_cmdline_kernel_facts {
        const char *version;
        vt_intel_iommu_default intel_iommu;
        bool vfio_pci_builtin;
        bool sysfb_simplefb; /* CONFIG_SYSFB_SIMPLEFB=y */
} vt_cmdline_kernel_facts;

typedef struct vt_cmdline_facts {
        vt_cpu_vendor cpu;
        bool amd_ivrs; /* the firmware has an IVRS ACPI table */
        const vt_cmdline_kernel_facts *kernels;
        size_t n_kernels;
        vt_igpu igpu;
        bool boot_display_passthrough; /* the boot VGA device goes to a VM */
        vt_boot_mode boot_mode;
        const char *const *vfio_ids; /* "8086:3e92", for vfio-pci.ids= when built in */
        size_t n_vfio_ids;
        const char *const *user_add; /* --cmdline-add */
        size_t n_user_add;
        const char *const *user_remove; /* --cmdline-remove */
        size_t n_user_remove;
        bool no_iommu_params; /* --no-iommu-params */
        /* no device yet: only what turns the IOMMU on (no iommu=pt, no display or built-in
         * rules), so that the groups can be seen after one reboot */
        bool iommu_only;
} vt_cmdline_facts;

typedef struct vt_cmdline_reason {
        char *word; /* "intel_iommu=on", "-quiet" for a removal, NULL for a note */
        char *why;  /* one line */
} vt_cmdline_reason;

typedef struct vt_cmdline_plan {
        vt_cmdline_change change;
        vt_cmdline_reason *reasons;
        size_t n_reasons;
} vt_cmdline_plan;

/* Fill the kernel facts from a scanned kernel (its /boot/config-<kver> and modules.builtin). */
int vt_cmdline_kernel_facts_from(const vt_kernel *k, vt_cmdline_kernel_facts *out);

int vt_cmdline_params_derive(const vt_cmdline_facts *facts, vt_cmdline_plan *out);
void vt_cmdline_plan_free(vt_cmdline_plan *plan);
