#include "backends/quirks.h"

#include <string.h>

#include "common/macro.h"

static const vt_quirk quirks[] = {
    {"amd-reset-bug", VT_QUIRK_RESET,
     "cannot be reset between two VM starts (the second start hangs or fails): install the "
     "vendor-reset module (dkms), load it early (/etc/modules, then rebuild the initramfs) and, on "
     "kernels 5.15 and later, write device_specific to the device's reset_method",
     "vendor-reset README (Supported Devices) and src/device-db.h: Polaris 10/11/12, Vega 10/20, "
     "Navi 10/12/14, Arcturus; its udev rule sets reset_method for kernels 5.15+"},
    {"nvidia-boot-vga", VT_QUIRK_NEEDS_ROM | VT_QUIRK_PRIMARY_GPU,
     "the host booted on this GPU, so the firmware already ran its ROM: give the VM a clean dump "
     "of the ROM as a ROM file, and make it the VM's primary GPU (x-vga)",
     "Proxmox wiki, PCI Passthrough (GPU passthrough: romfile, x-vga for the primary GPU); "
     "Proxmox admin guide 10.9 (romfile is a path under /usr/share/kvm/)"},
    {"nvidia-gpu", VT_QUIRK_PRIMARY_GPU,
     "as the VM's display it needs x-vga (SeaBIOS) or UEFI firmware (OVMF) with a UEFI-capable "
     "ROM; give it a ROM file when the card's own has no UEFI image",
     "Proxmox wiki, PCI Passthrough (GPU passthrough: x-vga, romfile)"},
    {"intel-gvt-g", 0,
     "a GVT-g generation (Broadwell to Comet Lake): it can be shared as mediated devices "
     "(i915.enable_gvt=1, module kvmgt; the types are in mdev_supported_types under the device in "
     "sysfs; Proxmox: mdev=TYPE) instead of going to one VM whole; whole (GVT-d) it wants legacy "
     "IGD mode (Proxmox: legacy-igd=1 on an i440fx machine)",
     "Linux i915 GVT-g (drivers/gpu/drm/i915/gvt: Broadwell to Comet Lake), device ids from "
     "include/drm/i915_pciids.h; Proxmox admin guide 10.9.4 Mediated Devices (GVT-g)"},
    {"intel-gen11", 0,
     "Ice Lake (Gen 11): neither GVT-g nor SR-IOV, so only one VM can have it, whole",
     "Linux include/drm/i915_pciids.h (ICL ids); GVT-g ends with Comet Lake, Intel's iGPU SR-IOV "
     "starts with Gen 12"},
    {"intel-sriov", 0,
     "Gen 12 (Xe: Tiger Lake, Rocket Lake, Alder Lake, Raptor Lake, Meteor Lake): no GVT-g; it "
     "can be shared as SR-IOV virtual functions where the kernel's driver offers them "
     "(sriov_totalvfs under the device in sysfs), else it goes to one VM whole",
     "Linux include/drm/i915_pciids.h (TGL, RKL, ADL, RPL, MTL ids); Intel's iGPU SR-IOV starts "
     "with Gen 12"},
    {"intel-igpu", 0,
     "Intel iGPU of a generation this table does not know: GVT-g (Broadwell to Comet Lake) or "
     "SR-IOV (Gen 12 and later) depending on the generation; mdev_supported_types or "
     "sriov_totalvfs under the device in sysfs tell which",
     "Proxmox admin guide 10.9.4 (GVT-g); Linux include/drm/i915_pciids.h"},
    {"group-shared", VT_QUIRK_ISOLATION,
     "its IOMMU group holds devices outside its slot that stay on the host, and vfio gives a VM "
     "whole groups only: pass them too (or ask vm-config with --acs-override what splitting the "
     "group would cost)",
     "Linux Documentation/driver-api/vfio.rst (the group is the unit of ownership); Proxmox wiki, "
     "PCI(e) Passthrough (IOMMU groups)"},
    {"acs-override", VT_QUIRK_ISOLATION,
     "this kernel carries the ACS override patch: the kernel parameter "
     "pcie_acs_override=downstream,multifunction (vfiotx apply --cmdline-add) splits the group, "
     "but its devices are then NOT isolated from each other: the VM's device can reach the "
     "others, and the host memory they use, by peer-to-peer DMA",
     "Proxmox wiki, PCI(e) Passthrough (pcie_acs_override; Proxmox's kernels carry the patch)"},
    {"acs-override-unpatched", VT_QUIRK_ISOLATION,
     "the kernel parameter pcie_acs_override=downstream,multifunction would split the group only "
     "on a kernel with the out-of-tree ACS override patch (Proxmox's kernels carry it; mainline "
     "and Debian's do not), and its devices would then NOT be isolated from each other",
     "Proxmox wiki, PCI(e) Passthrough (pcie_acs_override; Proxmox's kernels carry the patch)"},
};

enum {
        Q_AMD_RESET,
        Q_NV_BOOT,
        Q_NV_GPU,
        Q_GVTG,
        Q_GEN11,
        Q_SRIOV,
        Q_IGPU,
        Q_SHARED,
        Q_ACS,
        Q_ACS_NO
};

/* vendor-reset's src/device-db.h, every id it resets (vendor 1002). */
static const uint16_t amd_reset_ids[] = {
    /* Polaris 10 */
    0x67C0,
    0x67C1,
    0x67C2,
    0x67C4,
    0x67C7,
    0x67D0,
    0x67DF,
    0x67C8,
    0x67C9,
    0x67CA,
    0x67CC,
    0x67CF,
    0x6FDF,
    /* Polaris 11 */
    0x67E0,
    0x67E3,
    0x67E8,
    0x67EB,
    0x67EF,
    0x67FF,
    0x67E1,
    0x67E7,
    0x67E9,
    /* Polaris 12 */
    0x6980,
    0x6981,
    0x6985,
    0x6986,
    0x6987,
    0x6995,
    0x6997,
    0x699F,
    /* Vega 10 */
    0x6860,
    0x6861,
    0x6862,
    0x6863,
    0x6864,
    0x6867,
    0x6868,
    0x6869,
    0x686A,
    0x686B,
    0x686C,
    0x686D,
    0x686E,
    0x686F,
    0x687F,
    /* Vega 20 */
    0x66A0,
    0x66A1,
    0x66A2,
    0x66A3,
    0x66A4,
    0x66A7,
    0x66AF,
    /* Navi 10 (and the 680M, 0x1681) */
    0x7310,
    0x7312,
    0x7318,
    0x7319,
    0x731A,
    0x731B,
    0x731E,
    0x731F,
    0x1681,
    /* Navi 14 */
    0x7340,
    0x7341,
    0x7347,
    0x734F,
    /* Navi 12 */
    0x7360,
    0x7362,
    /* Arcturus (Instinct MI100) */
    0x738C,
};

/* Intel iGPU generations as device id ranges of Linux's include/drm/i915_pciids.h. The ranges
 * hold only ids of their generation (each range spans one generation's block of ids). */
typedef struct id_range {
        uint16_t lo, hi;
        int quirk;
} id_range;

static const id_range intel_igpu_ranges[] = {
    {0x1602, 0x163E, Q_GVTG},  /* Broadwell */
    {0x1902, 0x193D, Q_GVTG},  /* Skylake */
    {0x5902, 0x593B, Q_GVTG},  /* Kaby Lake */
    {0x87C0, 0x87C0, Q_GVTG},  /* Amber Lake (KBL) */
    {0x87CA, 0x87CA, Q_GVTG},  /* Amber Lake (CFL) */
    {0x3E90, 0x3EA9, Q_GVTG},  /* Coffee Lake, Whiskey Lake */
    {0x9B21, 0x9BF6, Q_GVTG},  /* Comet Lake */
    {0x8A50, 0x8A71, Q_GEN11}, /* Ice Lake */
    {0x9A40, 0x9AF8, Q_SRIOV}, /* Tiger Lake */
    {0x4C80, 0x4C9A, Q_SRIOV}, /* Rocket Lake */
    {0x4626, 0x462A, Q_SRIOV}, /* Alder Lake P */
    {0x4680, 0x4693, Q_SRIOV}, /* Alder Lake S */
    {0x46A0, 0x46D4, Q_SRIOV}, /* Alder Lake P, N */
    {0xA720, 0xA7AD, Q_SRIOV}, /* Raptor Lake */
    {0x7D40, 0x7DD5, Q_SRIOV}, /* Meteor Lake, Arrow Lake */
};

static void add(vt_quirk_list *out, int q)
{
        if (out->n < VT_QUIRKS_MAX)
                out->items[out->n++] = &quirks[q];
}

static bool amd_reset(const vt_pci_device *d)
{
        if (d->vendor != 0x1002)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(amd_reset_ids); i++)
                if (amd_reset_ids[i] == d->device)
                        return true;
        return false;
}

static int intel_generation(const vt_pci_device *d)
{
        for (size_t i = 0; i < ARRAY_SIZE(intel_igpu_ranges); i++)
                if (d->device >= intel_igpu_ranges[i].lo && d->device <= intel_igpu_ranges[i].hi)
                        return intel_igpu_ranges[i].quirk;
        return Q_IGPU;
}

static bool same_slot(const vt_pci_device *a, const vt_pci_device *b)
{
        return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

size_t vt_quirks_group_others(const vt_pci_device *d, const vt_quirk_ctx *ctx,
                              const vt_pci_device **out, size_t max)
{
        size_t n = 0;

        if (!ctx || !ctx->all || d->iommu_group < 0)
                return 0;
        for (size_t i = 0; i < ctx->all->n; i++) {
                const vt_pci_device *o = &ctx->all->items[i];

                /* A bridge stays with the host by design (vfio allows it); the functions of
                 * d's own slot are one card, which goes to the VM whole. */
                if (o->iommu_group != d->iommu_group || same_slot(o, d) || vt_pci_is_bridge(o) ||
                    (ctx->passed && vt_strv_contains(ctx->passed, o->bdf)))
                        continue;
                if (n < max)
                        out[n] = o;
                n++;
        }
        return n;
}

bool vt_quirks_kernel_has_acs_override(const char *kernel)
{
        size_t n = kernel ? strlen(kernel) : 0;

        return n > 4 && strcmp(kernel + n - 4, "-pve") == 0;
}

size_t vt_quirks_for(const vt_pci_device *d, const vt_quirk_ctx *ctx, vt_quirk_list *out)
{
        *out = (vt_quirk_list){0};
        if (amd_reset(d))
                add(out, Q_AMD_RESET);
        if (d->vendor == 0x10de && vt_pci_is_display(d) && d->boot_vga)
                add(out, Q_NV_BOOT);
        else if (d->vendor == 0x10de && vt_pci_class16(d) == 0x0300)
                add(out, Q_NV_GPU);
        if (vt_pci_is_intel_igpu(d) && d->dev == 2)
                add(out, intel_generation(d));
        if (vt_quirks_group_others(d, ctx, NULL, 0) > 0) {
                if (!(ctx->flags & VT_QUIRKS_ACS_OVERRIDE))
                        add(out, Q_SHARED);
                else
                        add(out, vt_quirks_kernel_has_acs_override(ctx->kernel) ? Q_ACS : Q_ACS_NO);
        }
        return out->n;
}

const vt_quirk *vt_quirk_find(const char *code)
{
        for (size_t i = 0; i < ARRAY_SIZE(quirks); i++)
                if (strcmp(quirks[i].code, code) == 0)
                        return &quirks[i];
        return NULL;
}
