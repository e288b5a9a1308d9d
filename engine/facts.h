/* The host's facts for one operation, each gathered on first use and then kept: which boot
 * path the root uses, the installed kernels, what rebuilds their boot artifacts, the PCI
 * devices, which of them the host needs, and whose IOMMU it is. An operation makes one
 * vt_facts at its start and hands it down (plan, trial check, rebuild plan and verification,
 * health), so no fact is read twice and every step of one operation sees the same host.
 *
 * The facts are read before anything changes; what an operation itself writes (files, boot
 * artifacts) is not a fact. The kernels (modules.dep, modules.builtin, config) do not change
 * while an operation rebuilds, so verification reads the same list the plan was made from.
 *
 * Contract: the getters return 0 and a pointer owned by `f` (valid until vt_facts_free()), or a
 * negative errno with a message; a failed probe is not kept, so the next call tries again. */
#pragma once

#include "backends/bootloader.h"
#include "backends/hostinfo.h"
#include "backends/iommu.h"
#include "backends/kernels.h"
#include "backends/pci.h"
#include "backends/rebuild_plan.h"
#include "fs/root.h"

typedef struct vt_facts {
        const vt_root *root; /* the host's / */
        const char *sysfs;   /* a /sys tree */
        const char *proc;    /* a /proc tree */
        unsigned have;       /* which facts are gathered (private) */
        vt_boot_info boot;
        vt_kernel_list kernels;
        vt_rebuild_host rebuild;
        vt_pci_list pci;
        vt_hostinfo host;
        vt_iommu_maker maker;
} vt_facts;

void vt_facts_init(vt_facts *f, const vt_root *root, const char *sysfs, const char *proc);
void vt_facts_free(vt_facts *f);

int vt_facts_boot(vt_facts *f, const vt_boot_info **out);
int vt_facts_kernels(vt_facts *f, const vt_kernel_list **out);
/* The initramfs generator and each kernel's image and initramfs, from the kernels above. */
int vt_facts_rebuild(vt_facts *f, const vt_rebuild_host **out);
int vt_facts_pci(vt_facts *f, const vt_pci_list **out);
/* The devices the host needs (root and boot disks, default route). */
int vt_facts_host(vt_facts *f, const vt_hostinfo **out);
int vt_facts_iommu_maker(vt_facts *f, const vt_iommu_maker **out);
