/* Probe: the EFI system partition (or XBOOTLDR) where systemd-boot's entries live on a
 * kernel-install host, and what is on it.
 *
 * Read-only, through fs/root.h. Which directory: the first of /efi, /boot, /boot/efi that holds
 * loader/entries/ — the order in which kernel-install (systemd 252) picks the directory it
 * writes entries to, so the entries found are the ones Debian's hooks keep up to date.
 * On a proxmox-boot-tool host (backends/bootloader.h: /etc/kernel/proxmox-boot-uuids) the ESPs
 * are the ones it lists instead, each where vfiotx mounts it for the command's run:
 * VT_PBT_ESP_DIR/<UUID> (engine/esp_mounts.h; proxmox-boot-tool itself mounts them only while
 * it refreshes them, and none is in fstab). A listed ESP with no entries there is missing.
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

#define VT_PBT_ESP_DIR "/run/vfiotx/esp"

typedef struct vt_esp_list {
        vt_esp *esps; /* the ESPs found, in proxmox-boot-uuids' order */
        size_t n;
        char **missing; /* listed UUIDs with no entries under VT_PBT_ESP_DIR */
        size_t n_missing;
} vt_esp_list;

/* Find the directory and read its entries and loader.conf; on a proxmox-boot-tool host, the
 * first of its ESPs found. */
int vt_esp_read(const vt_root *root, vt_esp *out);
void vt_esp_free(vt_esp *esp);

/* Every ESP the firmware may boot the entries from: proxmox-boot-tool's, or the one of
 * vt_esp_read(). -ENOENT when there is none; vt_esp_list_free() also after a failure. */
int vt_esp_read_all(const vt_root *root, vt_esp_list *out);
void vt_esp_list_free(vt_esp_list *l);

/* Does `path` (an ESP-relative path from an entry's linux/initrd/efi key, "/abc/6.1/linux")
 * exist on the ESP? systemd-boot drops entries whose image is missing. 1, 0 or -errno. */
int vt_esp_has_file(const vt_root *root, const vt_esp *esp, const char *path);
