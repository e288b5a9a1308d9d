/* Rebuild planning: which tools must run after a set of files changed, for which kernels, and
 * what each one produces (so it can be verified afterwards).
 *
 * 1. vt_rebuild_host_detect() reads the root (fs/root.h, read-only):
 *    * the initramfs generator, first match wins:
 *        initramfs-tools  /usr/sbin/update-initramfs and /etc/initramfs-tools
 *        dracut           /usr/bin/dracut and /etc/dracut.conf.d (or /etc/dracut.conf)
 *        mkinitcpio       /usr/bin/mkinitcpio
 *    * for the installed kernels it is given (backends/kernels.h), each one's image and the
 *      initramfs path the generator writes: /boot/initrd.img-<kver> (initramfs-tools; also
 *      dracut on Debian, when that file exists), /boot/initramfs-<kver>.img (dracut),
 *      /boot/initramfs-<pkgbase>.img (mkinitcpio; pkgbase from /lib/modules/<kver>/pkgbase,
 *      the preset of the same name);
 *    * initramfs-tools post-update hooks that copy a rebuilt initramfs to the boot partition by
 *      themselves (/etc/initramfs/post-update.d/: systemd-boot, proxmox-boot-sync,
 *      zz-kernelstub), so that work is not done twice.
 *
 * 2. The boot path is described by vt_boot_path, filled by the bootloader probe (or by hand in
 *    tests). Its strings belong to the filler; the plan copies what it keeps.
 *
 * 3. vt_rebuild_plan_make() derives the minimum set of steps from the changed paths:
 *    * initramfs inputs changed (/etc/modprobe.d/, /etc/modules, /etc/modules-load.d/, the
 *      generators' configuration, /etc/vfiotx/) -> one step per installed kernel that has an
 *      initramfs:  update-initramfs -u -k <kver>  |  dracut -f --kver <kver> <image>  |
 *      mkinitcpio -p <preset> (mkinitcpio -P once when a kernel's preset is unknown). A kernel
 *      without an initramfs (a leftover module tree, a kernel booted without one) is skipped,
 *      with a note;
 *    * command-line files changed (/etc/default/grub, /etc/default/grub.d/, /etc/kernel/cmdline,
 *      /etc/kernelstub/configuration) -> the boot configuration:
 *        GRUB          update-grub (Debian's wrapper, when it writes the grub.cfg that boots)
 *                      or <grub-mkconfig> -o <grub.cfg>
 *        systemd-boot  kernel-install add <kver> <image> per kernel (the entry and its initrd
 *                      copy on the ESP); also for a kernel whose initramfs was rebuilt, unless
 *                      the systemd-boot post-update hook already did it
 *        Proxmox       one `proxmox-boot-tool refresh` (pve-efiboot-tool on old hosts) at the
 *                      end, which copies kernels, initrds and the command line to every ESP;
 *                      the update-initramfs steps run with INITRAMFS_TOOLS_KERNEL_HOOK=1 so
 *                      the proxmox-boot-sync hook does not refresh once per kernel
 *        kernelstub    kernelstub (unless its post-update hook runs after each rebuild)
 *      The GRUB configuration does not depend on the initramfs bytes (same file names), so an
 *      initramfs-only change runs no GRUB step;
 *    * nothing relevant changed -> no steps.
 *    The order is: every initramfs first, then the boot configuration (which copies them).
 *
 * Contract: 0 or negative errno with a message; plans own their memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bootloader.h"
#include "backends/kernels.h"
#include "common/buf.h"
#include "fs/root.h"

typedef enum vt_initramfs_gen {
        VT_GEN_NONE = 0,
        VT_GEN_INITRAMFS_TOOLS,
        VT_GEN_DRACUT,
        VT_GEN_MKINITCPIO,
} vt_initramfs_gen;

/* "initramfs-tools", "dracut", "mkinitcpio", "none". */
const char *vt_initramfs_gen_name(vt_initramfs_gen g);

typedef struct vt_boot_kernel {
        char *version;       /* "6.1.0-26-amd64" */
        char *image;         /* "/boot/vmlinuz-6.1.0-26-amd64", NULL when none was found */
        char *initramfs;     /* where the generator writes its initramfs, NULL when unknown */
        bool have_initramfs; /* that file exists now */
        char *preset;        /* mkinitcpio preset ("linux"), NULL otherwise or unknown */
} vt_boot_kernel;

enum {
        VT_HOOK_SYSTEMD_BOOT = 1 << 0, /* /etc/initramfs/post-update.d/systemd-boot */
        VT_HOOK_PROXMOX = 1 << 1,      /* /etc/initramfs/post-update.d/proxmox-boot-sync */
        VT_HOOK_KERNELSTUB = 1 << 2,   /* /etc/initramfs/post-update.d/zz-kernelstub */
};

typedef struct vt_rebuild_host {
        vt_initramfs_gen gen;
        vt_boot_kernel *kernels; /* sorted by version */
        size_t n_kernels;
        unsigned post_update_hooks; /* VT_HOOK_*, initramfs-tools only */
} vt_rebuild_host;

int vt_rebuild_host_detect(const vt_root *root, const vt_kernel_list *kernels,
                           vt_rebuild_host *out);
void vt_rebuild_host_free(vt_rebuild_host *h);

typedef enum vt_bootcfg {
        VT_BOOTCFG_NONE = 0,     /* no boot configuration vfiotx regenerates */
        VT_BOOTCFG_GRUB,         /* grub.cfg from /etc/default/grub */
        VT_BOOTCFG_SYSTEMD_BOOT, /* loader entries from /etc/kernel/cmdline (kernel-install) */
        VT_BOOTCFG_PROXMOX,      /* ESPs kept by proxmox-boot-tool (GRUB or systemd-boot) */
        VT_BOOTCFG_KERNELSTUB,   /* Pop!_OS */
} vt_bootcfg;

typedef struct vt_boot_path {
        vt_bootcfg kind;
        /* GRUB: the grub.cfg that is booted ("/boot/grub/grub.cfg"; "/boot/grub2/grub.cfg" or
         * an ESP path elsewhere) and the tool that writes it. */
        const char *grub_cfg;
        bool have_update_grub;     /* Debian's update-grub (writes /boot/grub/grub.cfg) */
        const char *grub_mkconfig; /* "grub-mkconfig" (default) or "grub2-mkconfig" */
        /* systemd-boot: the directory of the loader entries, for verification
         * ("/boot/efi/loader/entries"). */
        const char *entries_dir;
        /* Proxmox: "proxmox-boot-tool" (default) or "pve-efiboot-tool". */
        const char *proxmox_tool;
} vt_boot_path;

typedef enum vt_artifact_kind {
        VT_ARTIFACT_NONE = 0,       /* nothing vfiotx can read back (ESPs not mounted) */
        VT_ARTIFACT_INITRAMFS,      /* artifact: the initramfs file */
        VT_ARTIFACT_GRUB_CFG,       /* artifact: grub.cfg */
        VT_ARTIFACT_LOADER_ENTRIES, /* artifact: the entries directory; kver names the entry */
} vt_artifact_kind;

typedef struct vt_rebuild_step {
        char **argv;       /* NULL-terminated, argv[0] looked up in PATH */
        char **env;        /* extra "NAME=value" for the tool, NULL-terminated, or NULL */
        char *description; /* "rebuild the initramfs of 6.1.0-26-amd64 (initramfs-tools)" */
        char *kver;        /* the kernel the step is for, NULL for a whole-host step */
        vt_artifact_kind artifact_kind;
        char *artifact; /* absolute host path, NULL for VT_ARTIFACT_NONE */
} vt_rebuild_step;

typedef struct vt_rebuild_plan {
        vt_rebuild_step *steps;
        size_t n;
        vt_buf notes; /* one line per decision the user should know ("... not rebuilt: ...") */
} vt_rebuild_plan;

/* The boot path from the bootloader probe (backends/bootloader.h), with the tools the root
 * has: proxmox-boot-tool (pve-efiboot-tool before Proxmox VE 6.4), the loader entries directory
 * that exists, update-grub when /usr/sbin/update-grub does. Reads only; the strings are
 * constants. Shared by the engine's rebuild and vfiotx-rescue, so both run the same tools. */
void vt_boot_path_of(const vt_root *root, const vt_boot_info *boot, vt_boot_path *out);

/* Which inputs a path is: does it feed the initramfs, the kernel command line? */
bool vt_rebuild_path_affects_initramfs(const char *path);
bool vt_rebuild_path_affects_cmdline(const char *path);

/* Is `path` a clean absolute path (under /etc/, no empty, "." or ".." component) of a file vfiotx
 * may manage: its own files under /etc/vfiotx/, or an input of the initramfs or the kernel
 * command line (above)? Nothing else is ever written or removed for a snapshot that comes from
 * outside the journal: an imported archive, the plain good copy and its managed-paths list. */
bool vt_path_manageable(const char *path);

/* Is `path` a manageable file only vfiotx creates (/etc/vfiotx/..., vfiotx*.conf in
 * /etc/modprobe.d, vfiotx.conf in dracut.conf.d or mkinitcpio.conf.d)? A restore from the plain
 * good copy, which has no history to ask, removes only these when the copy predates them; any
 * other file it does not list may have been there before vfiotx managed it, and is kept. */
bool vt_path_vfiotx_own(const char *path);

/* The steps needed after `changed` (absolute host paths) changed. */
int vt_rebuild_plan_make(const vt_rebuild_host *host, const vt_boot_path *boot,
                         const char *const *changed, size_t n_changed, vt_rebuild_plan *out);
void vt_rebuild_plan_free(vt_rebuild_plan *p);

/* The steps as lines for `plan`: "[1/3] update-initramfs -u -k 6.1.0-26-amd64  (rebuild ...)". */
int vt_rebuild_plan_describe(const vt_rebuild_plan *p, vt_buf *out);
