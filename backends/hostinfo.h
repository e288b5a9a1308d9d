/* Probe: the host facts the safety verdicts need, from sysfs and /proc (or fixture trees).
 *
 * - Which PCI devices hold the disks of `/` and `/boot`: the mounts in <proc>/self/mountinfo
 *   (the last mount of each path wins) -> <sysfs>/dev/block/MAJ:MIN (or, for filesystems with
 *   an anonymous device number such as btrfs, <sysfs>/class/block/<source>) -> the PCI ancestor
 *   in the resolved path; device-mapper, md and other stacked devices are followed through
 *   their `slaves/`.
 * - Which PCI devices carry a default route: <proc>/net/route (and net/ipv6_route) ->
 *   <sysfs>/class/net/IF/device; bridges, bonds and VLANs are followed through `brif/` and
 *   `lower_*` to their ports.
 * - Whether the kernel command line (<proc>/cmdline) has a serial console (console=ttyS*,
 *   ttyAMA*), which is a console that survives giving away the only display.
 *
 * A fact that cannot be mapped to a PCI device (root on NFS, ZFS, tmpfs) is recorded as a note
 * so the caller can say that vfiotx cannot protect it.
 *
 * Contract: 0 or negative errno with a message (a missing or unreadable mountinfo is an error:
 * without it the root disk cannot be protected); the result is freed with vt_hostinfo_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum vt_host_role {
        VT_ROLE_ROOT_DISK,     /* controls a disk under / */
        VT_ROLE_BOOT_DISK,     /* controls a disk under /boot (a separate mount) */
        VT_ROLE_DEFAULT_ROUTE, /* carries a default route */
} vt_host_role;

typedef struct vt_host_dep {
        char bdf[16];      /* the PCI device ("0000:00:17.0") */
        vt_host_role role; /* what the host needs it for */
        char *detail;      /* "/dev/sda2", "eno1": what the role goes through */
} vt_host_dep;

typedef struct vt_hostinfo {
        vt_host_dep *deps; /* one entry per (device, role, detail); a device may appear twice */
        size_t n;
        bool serial_console; /* console=ttyS* or ttyAMA* on the command line */
        /* The remote ways in that are enabled in the root (engine/facts.c reads the units:
         * "ssh.service, pveproxy.service"), "" when none or no root was given. */
        char remote_access[160];
        char **notes; /* facts that could not be mapped to a PCI device, for warnings */
        size_t n_notes;
} vt_hostinfo;

int vt_hostinfo_probe(const char *sysfs, const char *proc, vt_hostinfo *out);
void vt_hostinfo_free(vt_hostinfo *h);

/* The first dependency of `bdf` with `role`, or NULL. */
const vt_host_dep *vt_hostinfo_find(const vt_hostinfo *h, const char *bdf, vt_host_role role);

/* Building blocks, exposed for tests and for the engine's post-boot health check. Each appends
 * the BDFs found to *bdfs (a malloc'd array of char[16], *n entries). */
int vt_hostinfo_block_pci(const char *sysfs, const char *blockdev_path, char (**bdfs)[16],
                          size_t *n);
/* The PCI devices under a mounted filesystem's device ("259:3", its source "/dev/nvme0n1p3"),
 * as the mount table names it: by number, or by name for an anonymous device number. */
int vt_hostinfo_mount_pci(const char *sysfs, const char *majmin, const char *source,
                          char (**bdfs)[16], size_t *n);
int vt_hostinfo_net_pci(const char *sysfs, const char *ifname, char (**bdfs)[16], size_t *n);
/* The last PCI address ("0000:01:00.0") among the components of a resolved sysfs path; false
 * when there is none. */
bool vt_hostinfo_pci_in_path(const char *path, char out[16]);
