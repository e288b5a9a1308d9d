/* Probe: the firmware the host booted from, and whether Secure Boot is on.
 *
 * Read-only, from sysfs (or a fixture tree):
 *   <sysfs>/firmware/efi            present: booted through UEFI; <sysfs>/firmware without it:
 *                                   BIOS (legacy boot); no <sysfs>/firmware at all: unknown
 *                                   (a fixture or a container without sysfs firmware)
 *   <sysfs>/firmware/efi/efivars/SecureBoot-<EFI global GUID>, SetupMode-<...>
 *                                   efivarfs files (backends/efivar.h decodes them); on UEFI
 *                                   a missing SecureBoot variable means firmware without
 *                                   Secure Boot (off); an efivars directory that is absent or
 *                                   empty (efivarfs not mounted) leaves it unknown;
 *                                   LoaderInfo-<loader GUID>: the loader that started this boot
 *                                   (systemd-boot sets it; GRUB does not)
 *
 * What Secure Boot means for vfiotx depends on the boot path (vt_firmware_secure_boot_note()):
 * vfiotx never signs anything. Its last good copies are byte copies of signed kernels, so they
 * verify as the originals do; GRUB's environment block and vfiotx's entry files are data that
 * the boot loader reads, not images it verifies.
 *
 * Contract: 0 or a negative errno with a message for an unreadable tree (a missing file is a
 * fact, not an error). */
#pragma once

#include <stdbool.h>

typedef enum vt_firmware_kind {
        VT_FIRMWARE_UNKNOWN = 0,
        VT_FIRMWARE_BIOS,
        VT_FIRMWARE_UEFI,
} vt_firmware_kind;

typedef enum vt_tristate {
        VT_UNKNOWN = -1,
        VT_NO = 0,
        VT_YES = 1,
} vt_tristate;

typedef struct vt_firmware {
        vt_firmware_kind kind;
        vt_tristate secure_boot; /* UEFI only; VT_NO on BIOS */
        vt_tristate setup_mode;  /* keys not enrolled: Secure Boot cannot be enforced */
        char loader[128]; /* LoaderInfo (set by systemd-boot: "systemd-boot 252.39-1~deb12u2"),
                           * "" when unset: the loader that started this boot */
} vt_firmware;

struct vt_boot_info;

/* Did systemd-boot start this boot (LoaderInfo)? A host can keep GRUB's files after
 * `apt install systemd-boot`; the loader that booted is what reads the counter. */
bool vt_firmware_booted_sdboot(const vt_firmware *fw);

/* vt_boot_path_name() corrected by the loader that booted: "systemd-boot" when systemd-boot
 * started this boot although GRUB's files are there too. Static text. */
const char *vt_firmware_boot_path(const vt_firmware *fw, const struct vt_boot_info *boot);

int vt_firmware_probe(const char *sysfs, vt_firmware *out);

/* A string variable from <sysfs>/firmware/efi/efivars (`name` with its GUID,
 * backends/efivar.h): 0 with *value NULL when it is unset; -EBADMSG when it is not a string. */
int vt_firmware_read_var(const char *sysfs, const char *name, char **value);

const char *vt_firmware_kind_name(vt_firmware_kind kind); /* "uefi", "bios", "unknown" */
const char *vt_tristate_name(vt_tristate t);              /* "on", "off", "unknown" */

/* One sentence on what Secure Boot means on the boot path `boot` (backends/bootloader.h), or
 * NULL when Secure Boot is not on. Static text. */
const char *vt_firmware_secure_boot_note(const vt_firmware *fw, const struct vt_boot_info *boot);
