/* Probe: which entry systemd-boot boots next on a kernel-install host, as the loader will pick
 * it — for `status` on every boot path (issue 16).
 *
 * The entries and loader.conf of the ESP (backends/esp.h), the loader's variables
 * LoaderEntryOneShot, LoaderEntryDefault and LoaderEntryLastBooted from <sysfs>/firmware/efi/
 * efivars (backends/efivar.h; absent or unreadable = unset; of proxmox-boot-tool's ESPs, the one
 * LoaderDevicePartUUID names, else the first), and the model of systemd-boot 252's
 * choice (backends/sdboot_pick.h). Read-only.
 *
 * Contract: 0 or a negative errno with a message; -ENOENT when the root has no systemd-boot
 * entries (backends/esp.h). vt_sdboot_next_free() also after a failure. */
#pragma once

#include <stddef.h>

#include "fs/root.h"

typedef struct vt_sdboot_next {
        char *esp;        /* "/boot/efi": where the entries are, in the root */
        size_t n_listed;  /* entries the loader lists */
        char *entry;      /* the file name of the entry it boots next; NULL: none */
        char *title;      /* that entry's title (NULL without one) */
        const char *rule; /* static: why (vt_sdboot_rule_name(): "LoaderEntryDefault", ...) */
        char *pattern;    /* the pattern that chose it, or NULL */
        int tries_left;   /* that entry's boot counter: tries left, -1 without a counter */
} vt_sdboot_next;

int vt_sdboot_next_probe(const vt_root *root, const char *sysfs, vt_sdboot_next *out);
void vt_sdboot_next_free(vt_sdboot_next *n);
