/* The quirk table: what is known to go wrong when a device is passed through, keyed by
 * vendor:device (and by vendor and class), each with a short code, one line of advice and where
 * it is documented. `vfiotx vm-config` carries the advice next to the VM configuration it prints
 * (docs/vm-config.md lists the table with its evidence).
 *
 * The entries:
 *   amd-reset-bug    AMD GPUs the vendor-reset module handles (its src/device-db.h: Polaris
 *                    10/11/12, Vega 10/20, Navi 10/12/14, Arcturus): they cannot be reset
 *                    between two VM starts without it
 *   nvidia-boot-vga  an NVIDIA display controller the host booted on: a clean ROM file, and
 *                    x-vga as the VM's primary GPU
 *   nvidia-gpu       another NVIDIA VGA controller: x-vga (SeaBIOS) or OVMF as a primary display
 *   intel-gvt-g      an Intel iGPU of a generation GVT-g serves (Broadwell to Comet Lake)
 *   intel-gen11      an Ice Lake iGPU: neither GVT-g nor SR-IOV, only the whole iGPU
 *   intel-sriov      an Intel Gen 12 (Xe) iGPU: SR-IOV virtual functions instead of GVT-g
 *   intel-igpu       an Intel iGPU the table has no generation for
 *   group-shared     the device's IOMMU group holds devices outside its slot that stay on the host
 *   acs-override     the same, on request only (VT_QUIRKS_ACS_OVERRIDE): the kernel parameter
 *                    pcie_acs_override, with its cost (isolation), on a kernel that carries the
 *                    patch (Proxmox's "-pve" kernels do)
 *   acs-override-unpatched
 *                    the same on a kernel the table does not know to carry it
 *
 * An Intel iGPU is an Intel display controller at 00:02 (vt_pci_is_intel_igpu() and device 2);
 * its generation comes from the device id ranges of Linux's include/drm/i915_pciids.h.
 *
 * Contract: pure (no I/O, no allocation); the quirks are static and never freed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/edit.h"
#include "backends/pci.h"

enum {
        VT_QUIRK_NEEDS_ROM = 1 << 0,   /* a ROM file for the device is advised */
        VT_QUIRK_PRIMARY_GPU = 1 << 1, /* make it the VM's primary GPU (x-vga) */
        VT_QUIRK_RESET = 1 << 2,       /* the device cannot be reset without help */
        VT_QUIRK_ISOLATION = 1 << 3,   /* about the IOMMU group, not the device */
};

typedef struct vt_quirk {
        const char *code;     /* "amd-reset-bug" */
        unsigned flags;       /* VT_QUIRK_* */
        const char *advice;   /* one line: what to do */
        const char *evidence; /* where it is documented */
} vt_quirk;

#define VT_QUIRKS_MAX 8

typedef struct vt_quirk_list {
        const vt_quirk *items[VT_QUIRKS_MAX];
        size_t n;
} vt_quirk_list;

/* Options of vt_quirks_for(). */
enum {
        /* Offer pcie_acs_override (acs-override instead of group-shared). Only on request: the
         * override trades the isolation between the group's devices for a working setup. */
        VT_QUIRKS_ACS_OVERRIDE = 1 << 0,
};

/* What the table needs to know beyond the device itself. */
typedef struct vt_quirk_ctx {
        const vt_pci_list *all; /* every device of the host (its IOMMU group); NULL: unknown */
        const vt_strv *passed;  /* BDFs that go to the VM with it (they do not count against its
                                 * group); NULL: none */
        const char *kernel;     /* the running kernel's release ("6.8.12-4-pve"); NULL: unknown */
        unsigned flags;         /* VT_QUIRKS_* */
} vt_quirk_ctx;

/* Fill `out` with the quirks of `d`, in the table's order; returns out->n. */
size_t vt_quirks_for(const vt_pci_device *d, const vt_quirk_ctx *ctx, vt_quirk_list *out);

/* The devices of d's IOMMU group that make it shared (group-shared, acs-override): not d, not a
 * function of d's slot, not a bridge, not in ctx->passed. Writes up to `max` pointers into
 * `out` and returns how many there are in all. */
size_t vt_quirks_group_others(const vt_pci_device *d, const vt_quirk_ctx *ctx,
                              const vt_pci_device **out, size_t max);

/* Does the kernel release carry the ACS override patch? Proxmox's kernels ("-pve") do; for any
 * other the table does not know, and says so. */
bool vt_quirks_kernel_has_acs_override(const char *kernel);

/* A quirk by its code, NULL when the table has none (for tests and documentation). */
const vt_quirk *vt_quirk_find(const char *code);
