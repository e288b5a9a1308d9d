#include "backends/firmware.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/bootloader.h"
#include "backends/efivar.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

static int is_dir(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR
                           ? 0
                           : vt_error_set(errno, "cannot read %s: %s", path, strerror(errno));
        return S_ISDIR(st.st_mode);
}

/* efivarfs mounted: the directory lists at least one variable (an unmounted mount point, or
 * a fixture without variables, is empty). */
static int has_variables(const char *dir)
{
        struct dirent *de;
        DIR *d = opendir(dir);
        bool any = false;

        if (!d)
                return errno == ENOENT || errno == ENOTDIR
                           ? 0
                           : vt_error_set(errno, "cannot read %s: %s", dir, strerror(errno));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        any = true;
                        break;
                }
        closedir(d);
        return any;
}

/* A one-byte boolean variable: VT_NO when the firmware does not have it. */
static int read_flag(const char *vars, const char *name, vt_tristate *out)
{
        _cleanup_free_ char *path = vt_path_join(vars, name);
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        bool v;
        int r;

        if (!path)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_read_file(path, &data);
        if (r == -ENOENT) {
                vt_error_clear();
                *out = VT_NO;
                return 0;
        }
        if (r < 0)
                return r;
        r = vt_efivar_decode_bool(data.ptr, data.len, name, &v, NULL);
        if (r < 0) {
                /* A variable we cannot read says nothing either way. */
                vt_error_clear();
                *out = VT_UNKNOWN;
                return 0;
        }
        *out = v ? VT_YES : VT_NO;
        return 0;
}

int vt_firmware_read_var(const char *sysfs, const char *name, char **value)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, VT_EFIVARS_DIR);
        _cleanup_free_ char *path = dir ? vt_path_join(dir, name) : NULL;
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        int r;

        *value = NULL;
        if (!path)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_read_file(path, &data);
        if (r == -ENOENT) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        return vt_efivar_decode_string(data.ptr, data.len, name, value, NULL);
}

/* LoaderInfo: unset or unreadable leaves "" (nothing is claimed about the loader). */
static void read_loader(const char *sysfs, vt_firmware *out)
{
        _cleanup_free_ char *value = NULL;

        if (vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_INFO, &value) >= 0 && value)
                snprintf(out->loader, sizeof(out->loader), "%s", value);
        vt_error_clear();
}

int vt_firmware_probe(const char *sysfs, vt_firmware *out)
{
        _cleanup_free_ char *fw = vt_path_join(sysfs, "firmware");
        _cleanup_free_ char *efi = vt_path_join(sysfs, "firmware/efi");
        _cleanup_free_ char *vars = vt_path_join(sysfs, VT_EFIVARS_DIR);
        int r;

        *out = (vt_firmware){VT_FIRMWARE_UNKNOWN, VT_UNKNOWN, VT_UNKNOWN, ""};
        if (!fw || !efi || !vars)
                return vt_error_set(ENOMEM, "out of memory");
        r = is_dir(efi);
        if (r < 0)
                return r;
        if (!r) {
                r = is_dir(fw);
                if (r > 0)
                        *out = (vt_firmware){VT_FIRMWARE_BIOS, VT_NO, VT_NO, ""};
                return r < 0 ? r : 0;
        }
        out->kind = VT_FIRMWARE_UEFI;
        r = has_variables(vars);
        if (r <= 0)
                return r;
        r = read_flag(vars, VT_EFIVAR_SECURE_BOOT, &out->secure_boot);
        if (r >= 0)
                r = read_flag(vars, VT_EFIVAR_SETUP_MODE, &out->setup_mode);
        if (r >= 0)
                read_loader(sysfs, out);
        return r;
}

bool vt_firmware_booted_sdboot(const vt_firmware *fw)
{
        return strncmp(fw->loader, "systemd-boot", 12) == 0;
}

const char *vt_firmware_boot_path(const vt_firmware *fw, const vt_boot_info *boot)
{
        if (vt_firmware_booted_sdboot(fw) && !(boot->flags & (VT_BOOT_UKI | VT_BOOT_KERNELSTUB)) &&
            !(boot->flags & VT_BOOT_PROXMOX))
                return "systemd-boot";
        return vt_boot_path_name(boot);
}

const char *vt_firmware_kind_name(vt_firmware_kind kind)
{
        return kind == VT_FIRMWARE_UEFI ? "uefi" : kind == VT_FIRMWARE_BIOS ? "bios" : "unknown";
}

const char *vt_tristate_name(vt_tristate t)
{
        return t == VT_YES ? "on" : t == VT_NO ? "off" : "unknown";
}

const char *vt_firmware_secure_boot_note(const vt_firmware *fw, const vt_boot_info *boot)
{
        if (fw->secure_boot != VT_YES)
                return NULL;
        if (boot->flags & VT_BOOT_UKI)
                return "Secure Boot is on and the host boots unified kernel images: the command "
                       "line is inside the signed image, so vfiotx cannot change it";
        /* systemd-boot: found by its entries, or Proxmox's ESPs with /etc/kernel/cmdline
         * (without it they boot GRUB). */
        if (boot->edit_kernel_cmdline && !boot->edit_grub_default)
                return "Secure Boot is on: Debian ships no signed systemd-boot, so this loader "
                       "and its kernels are signed with keys enrolled on this host; vfiotx signs "
                       "nothing: its last good copies are byte copies of signed kernels and its "
                       "entries are plain text the loader does not verify";
        if (boot->edit_grub_default)
                return "Secure Boot is on: shim verifies GRUB and the kernels; the boot counter "
                       "is GRUB's environment block and vfiotx's entry file, data that signed "
                       "GRUB reads without verifying, and the last good entry boots byte copies "
                       "of signed kernels, which verify as the originals do";
        return "Secure Boot is on";
}
