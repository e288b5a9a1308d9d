#include "engine/facts.h"

#include <stdio.h>

#include "backends/units.h"
#include "common/error.h"
#include "common/macro.h"

enum {
        HAVE_BOOT = 1 << 0,
        HAVE_KERNELS = 1 << 1,
        HAVE_REBUILD = 1 << 2,
        HAVE_PCI = 1 << 3,
        HAVE_HOST = 1 << 4,
        HAVE_MAKER = 1 << 5,
};

void vt_facts_init(vt_facts *f, const vt_root *root, const char *sysfs, const char *proc)
{
        *f = (vt_facts){.root = root, .sysfs = sysfs, .proc = proc};
}

void vt_facts_free(vt_facts *f)
{
        if (f->have & HAVE_BOOT)
                vt_boot_info_free(&f->boot);
        if (f->have & HAVE_KERNELS)
                vt_kernels_free(&f->kernels);
        if (f->have & HAVE_REBUILD)
                vt_rebuild_host_free(&f->rebuild);
        if (f->have & HAVE_PCI)
                vt_pci_list_free(&f->pci);
        if (f->have & HAVE_HOST)
                vt_hostinfo_free(&f->host);
        f->have = 0;
}

int vt_facts_boot(vt_facts *f, const vt_boot_info **out)
{
        int r = 0;

        if (!(f->have & HAVE_BOOT) && (r = vt_boot_detect(f->root, &f->boot)) >= 0)
                f->have |= HAVE_BOOT;
        *out = r < 0 ? NULL : &f->boot;
        return r < 0 ? r : 0;
}

int vt_facts_kernels(vt_facts *f, const vt_kernel_list **out)
{
        int r = 0;

        if (!(f->have & HAVE_KERNELS) && (r = vt_kernels_scan(f->root, &f->kernels)) >= 0)
                f->have |= HAVE_KERNELS;
        *out = r < 0 ? NULL : &f->kernels;
        return r < 0 ? r : 0;
}

int vt_facts_rebuild(vt_facts *f, const vt_rebuild_host **out)
{
        const vt_kernel_list *kernels;
        int r = 0;

        *out = NULL;
        if (!(f->have & HAVE_REBUILD)) {
                r = vt_facts_kernels(f, &kernels);
                if (r >= 0)
                        r = vt_rebuild_host_detect(f->root, kernels, &f->rebuild);
                if (r < 0)
                        return r;
                f->have |= HAVE_REBUILD;
        }
        *out = &f->rebuild;
        return 0;
}

int vt_facts_pci(vt_facts *f, const vt_pci_list **out)
{
        int r = 0;

        if (!(f->have & HAVE_PCI) && (r = vt_pci_scan(f->sysfs, &f->pci)) >= 0)
                f->have |= HAVE_PCI;
        *out = r < 0 ? NULL : &f->pci;
        return r < 0 ? r : 0;
}

/* The remote ways into the host that the root enables: a host with one of them and a NIC that
 * stays keeps a way in when its only display goes to a VM (engine/safety.c). An unreadable
 * unit directory counts as "not enabled": the check then refuses, which is the safe side. */
static void probe_remote_access(const vt_root *root, vt_hostinfo *h)
{
        static const char *const units[] = {"ssh.service",      "sshd.service",
                                            "dropbear.service", "pveproxy.service",
                                            "cockpit.socket",   "xrdp.service"};
        size_t len = 0;

        h->remote_access[0] = '\0';
        for (size_t i = 0; root && i < ARRAY_SIZE(units); i++) {
                vt_unit_state st = VT_UNIT_MISSING;

                if (vt_unit_state_probe(root, units[i], &st) < 0 || st != VT_UNIT_ENABLED) {
                        vt_error_clear();
                        continue;
                }
                len += (size_t)snprintf(h->remote_access + len, sizeof(h->remote_access) - len,
                                        "%s%s", len ? ", " : "", units[i]);
                if (len >= sizeof(h->remote_access))
                        break;
        }
}

int vt_facts_host(vt_facts *f, const vt_hostinfo **out)
{
        int r = 0;

        if (!(f->have & HAVE_HOST) && (r = vt_hostinfo_probe(f->sysfs, f->proc, &f->host)) >= 0) {
                probe_remote_access(f->root, &f->host);
                f->have |= HAVE_HOST;
        }
        *out = r < 0 ? NULL : &f->host;
        return r < 0 ? r : 0;
}

int vt_facts_iommu_maker(vt_facts *f, const vt_iommu_maker **out)
{
        int r = 0;

        if (!(f->have & HAVE_MAKER) &&
            (r = vt_iommu_maker_probe(f->sysfs, f->proc, &f->maker)) >= 0)
                f->have |= HAVE_MAKER;
        *out = r < 0 ? NULL : &f->maker;
        return r < 0 ? r : 0;
}
