/* backends/firmware.c: UEFI or BIOS and Secure Boot from sysfs trees laid out as the kernel
 * lays them out (efivarfs files: 4 bytes of attributes, then the value); where this machine
 * booted through UEFI and mokutil is installed, its answer on /sys is the oracle. */
#include "../helpers.h"

#include "backends/bootloader.h"
#include "backends/efivar.h"
#include "backends/firmware.h"
#include "common/error.h"

#define SB "firmware/efi/efivars/" VT_EFIVAR_SECURE_BOOT
#define SM "firmware/efi/efivars/" VT_EFIVAR_SETUP_MODE

static void write_bytes(const char *dir, const char *rel, const void *data, size_t len)
{
        char path[4096];
        FILE *f;

        write_file(dir, rel, ""); /* the directories */
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
}

static vt_firmware probe(const char *sysfs)
{
        vt_firmware fw;

        assert_int_equal(vt_firmware_probe(sysfs, &fw), 0);
        return fw;
}

static void test_bios_and_unknown(void **state)
{
        char *dir = make_tmpdir();
        vt_firmware fw = probe(dir);

        (void)state;
        /* A tree without firmware/ (a capture's fixture): nothing is claimed. */
        assert_int_equal(fw.kind, VT_FIRMWARE_UNKNOWN);
        assert_int_equal(fw.secure_boot, VT_UNKNOWN);
        write_file(dir, "firmware/acpi/x", "");
        fw = probe(dir);
        assert_int_equal(fw.kind, VT_FIRMWARE_BIOS);
        assert_int_equal(fw.secure_boot, VT_NO);
        assert_string_equal(vt_firmware_kind_name(fw.kind), "bios");
        rm_rf(dir);
}

static void test_secure_boot(void **state)
{
        const unsigned char on[] = {0x06, 0, 0, 0, 1}, off[] = {0x06, 0, 0, 0, 0};
        char *dir = make_tmpdir();
        vt_firmware fw;

        (void)state;
        /* efivarfs not mounted: an empty directory says nothing about Secure Boot. */
        write_file(dir, "firmware/efi/efivars/.keep", "");
        fw = probe(dir);
        assert_int_equal(fw.kind, VT_FIRMWARE_UEFI);
        assert_int_equal(fw.secure_boot, VT_UNKNOWN);

        /* Mounted, but the firmware has no Secure Boot: the variable is absent. */
        write_bytes(dir, "firmware/efi/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4",
                    "\x06\0\0\0\x01\0", 6);
        fw = probe(dir);
        assert_int_equal(fw.secure_boot, VT_NO);
        assert_int_equal(fw.setup_mode, VT_NO);

        write_bytes(dir, SB, on, sizeof(on));
        write_bytes(dir, SM, off, sizeof(off));
        fw = probe(dir);
        assert_int_equal(fw.secure_boot, VT_YES);
        assert_int_equal(fw.setup_mode, VT_NO);
        assert_string_equal(vt_tristate_name(fw.secure_boot), "on");

        write_bytes(dir, SB, off, sizeof(off));
        write_bytes(dir, SM, on, sizeof(on));
        fw = probe(dir);
        assert_int_equal(fw.secure_boot, VT_NO);
        assert_int_equal(fw.setup_mode, VT_YES);

        /* A variable too short to hold a value is not read as either answer. */
        write_bytes(dir, SB, on, 4);
        fw = probe(dir);
        assert_int_equal(fw.secure_boot, VT_UNKNOWN);
        rm_rf(dir);
}

static void test_notes(void **state)
{
        vt_firmware fw = {VT_FIRMWARE_UEFI, VT_YES, VT_NO};
        vt_boot_info grub = {.flags = VT_BOOT_GRUB_EFI, .edit_grub_default = true};
        vt_boot_info sdboot = {.flags = VT_BOOT_SYSTEMD_BOOT, .edit_kernel_cmdline = true};
        vt_boot_info pbt_grub = {.flags = VT_BOOT_PROXMOX, .edit_grub_default = true};
        vt_boot_info uki = {.flags = VT_BOOT_UKI | VT_BOOT_SYSTEMD_BOOT};

        (void)state;
        assert_non_null(strstr(vt_firmware_secure_boot_note(&fw, &grub), "shim verifies GRUB"));
        assert_non_null(strstr(vt_firmware_secure_boot_note(&fw, &pbt_grub), "shim"));
        assert_non_null(
            strstr(vt_firmware_secure_boot_note(&fw, &sdboot), "no signed systemd-boot"));
        assert_non_null(strstr(vt_firmware_secure_boot_note(&fw, &uki), "unified kernel"));
        assert_string_equal(vt_boot_path_name(&grub), "grub-efi");
        assert_string_equal(vt_boot_path_name(&sdboot), "systemd-boot");
        assert_string_equal(vt_boot_path_name(&pbt_grub), "proxmox-grub");
        assert_string_equal(vt_boot_path_name(&uki), "uki");
        fw.secure_boot = VT_NO;
        assert_null(vt_firmware_secure_boot_note(&fw, &grub));
        fw.secure_boot = VT_UNKNOWN;
        assert_null(vt_firmware_secure_boot_note(&fw, &sdboot));
}

/* The running machine, against mokutil's reading of the same variable. */
static void test_this_machine(void **state)
{
        const char *argv[] = {"mokutil", "--sb-state", NULL};
        vt_firmware fw;
        int status;
        char *out;

        (void)state;
        assert_int_equal(vt_firmware_probe("/sys", &fw), 0);
        if (fw.kind != VT_FIRMWARE_UEFI || fw.secure_boot == VT_UNKNOWN || !have_tool("mokutil"))
                skip();
        out = run_capture(argv, &status);
        assert_int_equal(strstr(out, "SecureBoot enabled") != NULL, fw.secure_boot == VT_YES);
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bios_and_unknown),
            cmocka_unit_test(test_secure_boot),
            cmocka_unit_test(test_notes),
            cmocka_unit_test(test_this_machine),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
