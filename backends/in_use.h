/* Probe: what the running host is doing with a PCI device right now, so that `vfiotx try` never
 * takes away a device the host is using (the branch it sits on).
 *
 * Read from sysfs and /proc (or fixture trees), never written:
 *   console        a GPU that drives the active console: fbcon is bound (a
 *                  <sysfs>/class/vtconsole/vtcon*: bind "1", name with "frame buffer") and a
 *                  <sysfs>/class/graphics/fb* device link resolves to the GPU;
 *   drm-clients    a process holds one of its /dev/dri nodes open;
 *   open-nodes     a process holds another of its device nodes open;
 *   net-addresses  one of its network interfaces (<dev>/net/IF, <dev>/virtio0/net/IF), or a
 *                  bridge or bond above it (`master`), has routes (<proc>/net/route: an IPv4
 *                  address makes one) or global IPv6 addresses (<proc>/net/if_inet6);
 *   mounted        a filesystem is mounted from a disk below it (<proc>/self/mountinfo);
 *   swap           swap is active on a disk below it (<proc>/swaps).
 * A device's nodes are "/dev/" + DEVNAME of every uevent file in its sysfs directory (drm/card0,
 * nvme/nvme0, sound/card1/pcmC1D3p...); processes' open files are the links in <proc>/PID/fd.
 *
 * Contract: 0 or a negative errno with a message; missing /proc or sysfs parts (no vtconsole,
 * no swaps file) are no use. Lists are freed with their _free function. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum vt_use_kind {
        VT_USE_CONSOLE,
        VT_USE_DRM_CLIENTS,
        VT_USE_OPEN_NODES,
        VT_USE_NET_ADDRESSES,
        VT_USE_MOUNTED,
        VT_USE_SWAP,
} vt_use_kind;

/* "console", "drm-clients", "open-nodes", "net-addresses", "mounted", "swap". */
const char *vt_use_kind_name(vt_use_kind k);

typedef struct vt_use {
        vt_use_kind kind;
        char bdf[16];
        char *detail; /* "pid 812 (Xorg) has /dev/dri/card0 open", "/dev/sda2 on /home" */
} vt_use;

typedef struct vt_use_list {
        vt_use *items;
        size_t n;
} vt_use_list;

/* Every use of each of the `n` devices `bdfs`, appended to out. */
int vt_in_use_probe(const char *sysfs, const char *proc, const char *const *bdfs, size_t n,
                    vt_use_list *out);
void vt_use_list_free(vt_use_list *l);

/* The open files of every process that point at a device node (targets under /dev/). */
typedef struct vt_open_file {
        long pid;
        char fd[16];
        char *target; /* "/dev/dri/card0", or "/dev/dri/card0 (deleted)" once the node is gone */
        char comm[32];
} vt_open_file;

typedef struct vt_open_files {
        vt_open_file *items;
        size_t n;
} vt_open_files;

int vt_open_files_scan(const char *proc, vt_open_files *out);
void vt_open_files_free(vt_open_files *l);
