/* Probe: the EFI system partition (or XBOOTLDR) where systemd-boot's entries live on a
 * kernel-install host, and what is on it.
 *
 * Read-only, through fs/root.h. Which directory: the first of /efi, /boot, /boot/efi that holds
 * loader/entries/ — the order in which kernel-install (systemd 252) picks the directory it
 * writes entries to, so the entries found are the ones Debian's hooks keep up to date.
 * Proxmox's ESPs are not here: proxmox-boot-tool mounts them only while it refreshes them.
 *
 * Contract: 0 or a negative errno with a message; -ENOENT (message set) when no directory
 * holds entries. vt_esp_free() also after a failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "fs/root.h"

#define VT_ESP_ENTRIES "loader/entries"

typedef struct vt_esp_file {
        char *name;  /* "0123abcd-6.1.0-26-amd64.conf": the entry file's name */
        vt_buf data; /* its bytes */
} vt_esp_file;

typedef struct vt_esp {
        char *path;           /* "/boot/efi": the directory, as a path in the root */
        vt_esp_file *entries; /* loader/entries/ *.conf, sorted by name */
        size_t n_entries;
        vt_buf loader_conf; /* loader/loader.conf (empty when there is none) */
} vt_esp;

/* Find the directory and read its entries and loader.conf. */
int vt_esp_read(const vt_root *root, vt_esp *out);
void vt_esp_free(vt_esp *esp);

/* Does `path` (an ESP-relative path from an entry's linux/initrd/efi key, "/abc/6.1/linux")
 * exist on the ESP? systemd-boot drops entries whose image is missing. 1, 0 or -errno. */
int vt_esp_has_file(const vt_root *root, const vt_esp *esp, const char *path);
