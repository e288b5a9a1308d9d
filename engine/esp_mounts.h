/* proxmox-boot-tool's ESPs, mounted for one run of vfiotx (issue 16).
 *
 * proxmox-boot-tool keeps none of its ESPs mounted (it mounts each only while it refreshes it),
 * yet the boot counter lives on each of them (engine/sdboot_counter.h in its systemd-boot mode,
 * engine/pbt_grub_counter.h in its GRUB mode). vt_esp_mounts_setup()
 * mounts every ESP listed in /etc/kernel/proxmox-boot-uuids where backends/esp.h looks for it:
 * /dev/disk/by-uuid/<UUID> (vfat; nosuid, nodev, noexec, umask=0077, as an installer's fstab
 * line) at <root>/run/vfiotx/esp/<UUID>. The mounts are made in a mount namespace of the
 * process's own (unshare(CLONE_NEWNS), propagation private): the host never sees them, nothing
 * has to unmount them on any exit path, and the rebuild tools vfiotx starts inherit them.
 *
 * The devices are the running system's (/dev, not under --root: a rescue shell's initramfs has
 * them there); the mount points are resolved inside the root. A UUID without a device is listed
 * in `missing` (the engine refuses to arm without it, and reads the others). Where the mount
 * point already holds systemd-boot entries or a grub directory and there is no device (a test's
 * stand-in ESP, a directory), it is used as it is. Nothing is done on a host proxmox-boot-tool
 * does not boot.
 *
 * Must run before the root is opened for the command: a directory opened before the unshare
 * does not see the mounts. Single-threaded callers only (unshare of the mount namespace).
 *
 * Contract: 0 or a negative errno with a message (a device that exists but cannot be mounted is
 * an error: the counter would be written where the firmware does not look). */
#pragma once

#include <stddef.h>

typedef struct vt_esp_mounts {
        size_t n_listed;  /* UUIDs in proxmox-boot-uuids (0: not a proxmox-boot-tool host) */
        size_t n_mounted; /* ESPs this call mounted */
        char **missing;   /* listed UUIDs with neither a device nor a stand-in */
        size_t n_missing;
} vt_esp_mounts;

/* `wait_s`: how long to wait for udev to create missing /dev/disk/by-uuid links (vfiotx boot
 * runs early in the boot). */
int vt_esp_mounts_setup(const char *root_path, unsigned wait_s, vt_esp_mounts *out);
void vt_esp_mounts_free(vt_esp_mounts *m);
