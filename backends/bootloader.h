/* Probe: which boot path the root uses, and so which command-line files vfiotx edits.
 *
 * Read-only, through fs/root.h (paths stay inside --root). Signals:
 *   GRUB            /boot/grub/grub.cfg (grub-pc, BIOS) or /boot/efi/EFI/<id>/grub.cfg (EFI)
 *                   -> edit /etc/default/grub (+ grub.d/NAME.cfg), rebuild with update-grub
 *   systemd-boot    /boot/efi/loader/entries or /efi/loader/entries or /boot/loader/entries
 *                   holding entries, with /etc/kernel/cmdline -> edit /etc/kernel/cmdline
 *   proxmox-boot-tool  /etc/kernel/proxmox-boot-uuids lists its ESPs (one UUID a line; the
 *                   ESPs are mounted only while it refreshes); with /etc/kernel/cmdline they
 *                   boot systemd-boot -> edit /etc/kernel/cmdline; without it they boot GRUB
 *                   -> edit /etc/default/grub
 *   kernelstub      /etc/kernelstub/configuration (Pop!_OS): its JSON holds the options;
 *                   reported so the engine refuses (kernelstub -a/-d is the supported way)
 *   UKI             /etc/kernel/install.conf with layout=uki, /etc/kernel/uki.conf, or images
 *                   in <ESP>/EFI/Linux/NAME.efi: the command line is inside a (signed) image,
 *                   editing files changes nothing -> reported so the engine refuses
 * GRUB defaults and /etc/kernel/cmdline are both edited only when both paths are in use.
 *
 * Contract: 0 or a negative errno with a message; the info is owned by the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fs/root.h"

enum {
        VT_BOOT_GRUB_BIOS = 1 << 0,
        VT_BOOT_GRUB_EFI = 1 << 1,
        VT_BOOT_SYSTEMD_BOOT = 1 << 2,
        VT_BOOT_PROXMOX = 1 << 3,
        VT_BOOT_KERNELSTUB = 1 << 4,
        VT_BOOT_UKI = 1 << 5,
};

typedef struct vt_boot_info {
        unsigned flags;           /* VT_BOOT_* */
        bool edit_grub_default;   /* /etc/default/grub and grub.d/NAME.cfg */
        bool edit_kernel_cmdline; /* /etc/kernel/cmdline */
        char **esp_uuids;         /* proxmox-boot-tool's ESPs */
        size_t n_esp_uuids;
        char *refusal; /* why the command line cannot be edited here (UKI, kernelstub), or NULL */
} vt_boot_info;

int vt_boot_detect(const vt_root *root, vt_boot_info *out);
void vt_boot_info_free(vt_boot_info *info);

/* The boot path as one word, for status and check: "uki", "kernelstub", "proxmox-grub",
 * "proxmox-systemd-boot", "systemd-boot", "grub-efi", "grub-bios", or "unknown" (the first
 * that applies: a host with both GRUB and systemd-boot entries is named after GRUB).
 * Static text. */
const char *vt_boot_path_name(const vt_boot_info *info);

/* proxmox-boot-tool's list of the ESPs it keeps: the UUIDs in /etc/kernel/proxmox-boot-uuids,
 * in its order, blank lines and trailing words skipped; none when the file is absent. Free with
 * vt_paths_free(). */
#define VT_PROXMOX_UUIDS "/etc/kernel/proxmox-boot-uuids"
int vt_boot_proxmox_uuids(const vt_root *root, char ***uuids, size_t *n);

/* The GRUB defaults files in the order grub-mkconfig sources them: /etc/default/grub, then
 * /etc/default/grub.d/NAME.cfg sorted byte-wise (sh's glob in the C locale). Absent files are
 * not listed, except /etc/default/grub, which is always first. */
int vt_grub_default_paths(const vt_root *root, char ***paths, size_t *n);
void vt_paths_free(char **paths, size_t n);

/* The names in a directory of the root that end in `suffix` (all when NULL), sorted byte-wise,
 * without dot files; a directory that does not exist lists nothing. Free with vt_paths_free(). */
int vt_boot_list_dir(const vt_root *root, const char *dir, const char *suffix, char ***names,
                     size_t *n);
