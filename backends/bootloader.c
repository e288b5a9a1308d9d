#include "backends/bootloader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"

void vt_paths_free(char **paths, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        free(paths);
}

static int push(char ***arr, size_t *n, const char *s)
{
        char **a = realloc(*arr, (*n + 1) * sizeof(*a));

        if (!a)
                return vt_error_set(ENOMEM, "out of memory");
        *arr = a;
        a[*n] = strdup(s);
        if (!a[*n])
                return vt_error_set(ENOMEM, "out of memory");
        (*n)++;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int vt_boot_list_dir(const vt_root *root, const char *dir, const char *suffix, char ***names,
                     size_t *n)
{
        struct dirent *de;
        DIR *d;
        int fd = -1, r;

        *names = NULL;
        *n = 0;
        r = vt_root_opendir(root, dir, &fd);
        if (r == -ENOENT || r == -ENOTDIR) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return vt_error_set(errno, "cannot list %s", dir);
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;

                if (de->d_name[0] == '.' || l < sl ||
                    (suffix && strcmp(de->d_name + l - sl, suffix)))
                        continue;
                r = push(names, n, de->d_name);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        /* qsort's array must not be NULL, even for no elements: an empty directory. */
        if (*n)
                qsort(*names, *n, sizeof(char *), cmp_str);
        return 0;
}

int vt_grub_default_paths(const vt_root *root, char ***paths, size_t *n)
{
        char **names = NULL, **out = NULL;
        size_t nn = 0, no = 0;
        int r;

        r = push(&out, &no, "/etc/default/grub");
        if (r >= 0)
                r = vt_boot_list_dir(root, "/etc/default/grub.d", ".cfg", &names, &nn);
        for (size_t i = 0; i < nn && r >= 0; i++) {
                char p[4096];

                snprintf(p, sizeof(p), "/etc/default/grub.d/%s", names[i]);
                r = push(&out, &no, p);
        }
        vt_paths_free(names, nn);
        if (r < 0) {
                vt_paths_free(out, no);
                return r;
        }
        *paths = out;
        *n = no;
        return 0;
}

static int exists(const vt_root *root, const char *path)
{
        int r = vt_root_exists(root, path);

        if (r == -ENOENT || r == -ENOTDIR) {
                vt_error_clear();
                return 0;
        }
        return r;
}

/* Does a directory of the root hold at least one entry ending in suffix? */
static int has_entries(const vt_root *root, const char *dir, const char *suffix)
{
        char **names;
        size_t n;
        int r = vt_boot_list_dir(root, dir, suffix, &names, &n);

        vt_paths_free(names, n);
        return r < 0 ? r : n > 0;
}

static const char *const esps[] = {"/boot/efi", "/efi", "/boot"};

int vt_boot_detect(const vt_root *root, vt_boot_info *out)
{
        vt_boot_info info = {0, false, false, NULL, 0, NULL};
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        int r, cmdline;

        r = exists(root, "/boot/grub/grub.cfg");
        if (r > 0)
                info.flags |= VT_BOOT_GRUB_BIOS;
        for (size_t i = 0; i < ARRAY_SIZE(esps) && r >= 0; i++) {
                char dir[64], **vendors = NULL;
                size_t nv = 0;

                snprintf(dir, sizeof(dir), "%s/EFI", esps[i]);
                r = vt_boot_list_dir(root, dir, NULL, &vendors, &nv);
                for (size_t k = 0; k < nv && r >= 0; k++) {
                        char p[4096];

                        snprintf(p, sizeof(p), "%s/%s/grub.cfg", dir, vendors[k]);
                        r = exists(root, p);
                        if (r > 0) {
                                /* An EFI stub grub.cfg also means /boot/grub/grub.cfg is GRUB's
                                 * real one, not a BIOS install. */
                                info.flags |= VT_BOOT_GRUB_EFI;
                                info.flags &= ~(unsigned)VT_BOOT_GRUB_BIOS;
                        }
                }
                vt_paths_free(vendors, nv);
                if (r >= 0) {
                        snprintf(dir, sizeof(dir), "%s/loader/entries", esps[i]);
                        r = has_entries(root, dir, ".conf");
                        if (r > 0)
                                info.flags |= VT_BOOT_SYSTEMD_BOOT;
                }
                if (r >= 0) {
                        snprintf(dir, sizeof(dir), "%s/EFI/Linux", esps[i]);
                        r = has_entries(root, dir, ".efi");
                        if (r > 0)
                                info.flags |= VT_BOOT_UKI;
                }
        }
        if (r < 0)
                goto fail;
        cmdline = exists(root, "/etc/kernel/cmdline");
        if (cmdline < 0) {
                r = cmdline;
                goto fail;
        }

        r = vt_boot_proxmox_uuids(root, &info.esp_uuids, &info.n_esp_uuids);
        if (r < 0)
                goto fail;
        if (info.n_esp_uuids)
                info.flags |= VT_BOOT_PROXMOX;

        vt_buf_clear(&b);
        r = vt_root_read(root, "/etc/kernel/install.conf", &b);
        if (r == 0) {
                for (const char *l = b.ptr; l && *l;
                     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                        if (strncmp(l, "layout=uki", 10) == 0 &&
                            (l[10] == '\n' || l[10] == '\0' || l[10] == ' ' || l[10] == '\r'))
                                info.flags |= VT_BOOT_UKI;
        } else if (r == -ENOENT) {
                vt_error_clear();
        } else {
                goto fail;
        }
        r = exists(root, "/etc/kernel/uki.conf");
        if (r > 0)
                info.flags |= VT_BOOT_UKI;
        if (r >= 0)
                r = exists(root, "/etc/kernelstub/configuration");
        if (r > 0)
                info.flags |= VT_BOOT_KERNELSTUB;
        if (r < 0)
                goto fail;

        if (info.flags & VT_BOOT_PROXMOX) {
                info.edit_kernel_cmdline = cmdline > 0;
                /* Its ESPs boot systemd-boot from /etc/kernel/cmdline, or GRUB without it; a
                 * /boot/grub/grub.cfg that update-grub keeps writing is not booted then. */
                info.edit_grub_default = cmdline == 0;
        } else {
                info.edit_grub_default = info.flags & (VT_BOOT_GRUB_BIOS | VT_BOOT_GRUB_EFI);
                info.edit_kernel_cmdline = (info.flags & VT_BOOT_SYSTEMD_BOOT) && cmdline > 0;
        }
        if (info.flags & VT_BOOT_UKI)
                r = asprintf(
                    &info.refusal,
                    "the kernel command line is built into a unified kernel image "
                    "(layout=uki, uki.conf or EFI/Linux/NAME.efi), signed for Secure Boot: "
                    "editing files would change nothing; rebuild the image with the "
                    "parameters (ukify / kernel-install) instead");
        else if (info.flags & VT_BOOT_KERNELSTUB)
                r = asprintf(
                    &info.refusal,
                    "kernelstub manages the command line in /etc/kernelstub/configuration; "
                    "use 'kernelstub -a PARAM' / 'kernelstub -d PARAM'");
        else if (!info.edit_grub_default && !info.edit_kernel_cmdline)
                r = asprintf(&info.refusal,
                             "no known boot loader found (no GRUB configuration, no systemd-boot "
                             "entries with /etc/kernel/cmdline, no proxmox-boot-tool ESP list)");
        if (r < 0) {
                r = vt_error_set(ENOMEM, "out of memory");
                goto fail;
        }
        *out = info;
        return 0;
fail:
        vt_boot_info_free(&info);
        return r;
}

int vt_boot_proxmox_uuids(const vt_root *root, char ***uuids, size_t *n)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        char *save = NULL;
        int r;

        *uuids = NULL;
        *n = 0;
        r = vt_root_read(root, VT_PROXMOX_UUIDS, &b);
        if (r == -ENOENT) {
                vt_error_clear();
                return 0;
        }
        for (char *l = r < 0 ? NULL : strtok_r(b.ptr, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                l[strcspn(l, " \t\r")] = '\0';
                if (*l && (r = push(uuids, n, l)) < 0)
                        break;
        }
        if (r < 0) {
                vt_paths_free(*uuids, *n);
                *uuids = NULL;
                *n = 0;
        }
        return r;
}

const char *vt_boot_path_name(const vt_boot_info *info)
{
        if (info->flags & VT_BOOT_UKI)
                return "uki";
        if (info->flags & VT_BOOT_KERNELSTUB)
                return "kernelstub";
        if (info->flags & VT_BOOT_PROXMOX)
                return info->edit_kernel_cmdline ? "proxmox-systemd-boot" : "proxmox-grub";
        if (info->flags & VT_BOOT_GRUB_EFI)
                return "grub-efi";
        if (info->flags & VT_BOOT_GRUB_BIOS)
                return "grub-bios";
        if (info->flags & VT_BOOT_SYSTEMD_BOOT)
                return "systemd-boot";
        return "unknown";
}

void vt_boot_info_free(vt_boot_info *info)
{
        vt_paths_free(info->esp_uuids, info->n_esp_uuids);
        free(info->refusal);
        *info = (vt_boot_info){0, false, false, NULL, 0, NULL};
}
