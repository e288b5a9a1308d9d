/* Boot path detection on small fake roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/bootloader.h"
#include "common/fileio.h"

static char root_dir[64];

/* Create root_dir/path with its parents, holding `text`. */
static void put(const char *path, const char *text)
{
        char p[512];
        int fd;

        snprintf(p, sizeof(p), "%s%s", root_dir, path);
        for (char *s = p + strlen(root_dir) + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                mkdir(p, 0755);
                *s = '/';
        }
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(vt_write_all(fd, text, strlen(text)), 0);
        close(fd);
}

static int setup(void **state)
{
        (void)state;
        snprintf(root_dir, sizeof(root_dir),
                 "/tmp/vfiotx-boot-"
                 "XX"
                 "XX"
                 "XX" /* mkdtemp template */);
        return mkdtemp(root_dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char *argv[] = {"rm", "-rf", root_dir, NULL};
        pid_t pid = fork();

        (void)state;
        if (pid == 0) {
                execvp("rm", argv);
                _exit(127);
        }
        return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

static vt_boot_info detect(void)
{
        vt_root root = VT_ROOT_INIT;
        vt_boot_info info;

        assert_int_equal(vt_root_open(&root, root_dir), 0);
        assert_int_equal(vt_boot_detect(&root, &info), 0);
        vt_root_close(&root);
        return info;
}

static void test_debian_bios_grub(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/boot/grub/grub.cfg", "# generated\n");
        put("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
        i = detect();
        assert_int_equal(i.flags, VT_BOOT_GRUB_BIOS);
        assert_true(i.edit_grub_default);
        assert_false(i.edit_kernel_cmdline);
        assert_null(i.refusal);
        vt_boot_info_free(&i);
}

static void test_efi_grub(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/boot/grub/grub.cfg", "# generated\n");
        put("/boot/efi/EFI/debian/grub.cfg", "search.fs_uuid x root\n");
        i = detect();
        assert_int_equal(i.flags, VT_BOOT_GRUB_EFI);
        assert_true(i.edit_grub_default);
        vt_boot_info_free(&i);
}

static void test_proxmox_zfs_systemd_boot(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/boot/grub/grub.cfg", "# update-grub still writes this\n");
        put("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        put("/etc/kernel/proxmox-boot-uuids", "A1B2-C3D4\nE5F6-0718\n");
        i = detect();
        assert_true(i.flags & VT_BOOT_PROXMOX);
        assert_int_equal(i.n_esp_uuids, 2);
        assert_string_equal(i.esp_uuids[1], "E5F6-0718");
        assert_true(i.edit_kernel_cmdline);
        assert_false(i.edit_grub_default);
        vt_boot_info_free(&i);
}

static void test_proxmox_grub_esps(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/etc/kernel/proxmox-boot-uuids", "A1B2-C3D4\n");
        i = detect();
        assert_true(i.edit_grub_default);
        assert_false(i.edit_kernel_cmdline);
        vt_boot_info_free(&i);
}

static void test_systemd_boot_and_grub_both(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/boot/efi/EFI/debian/grub.cfg", "x\n");
        put("/boot/efi/loader/entries/debian-6.1.0-26-amd64.conf", "title Debian\n");
        put("/etc/kernel/cmdline", "root=/dev/sda2 ro\n");
        i = detect();
        assert_int_equal(i.flags, VT_BOOT_GRUB_EFI | VT_BOOT_SYSTEMD_BOOT);
        assert_true(i.edit_grub_default);
        assert_true(i.edit_kernel_cmdline);
        vt_boot_info_free(&i);
}

static void test_uki_and_kernelstub_refused(void **state)
{
        vt_boot_info i;

        (void)state;
        put("/etc/kernel/install.conf", "# kernel-install\nlayout=uki\n");
        i = detect();
        assert_true(i.flags & VT_BOOT_UKI);
        assert_non_null(strstr(i.refusal, "unified kernel image"));
        vt_boot_info_free(&i);
        teardown(state);
        setup(state);
        put("/boot/efi/EFI/Linux/arch-linux.efi", "MZ");
        i = detect();
        assert_true(i.flags & VT_BOOT_UKI);
        vt_boot_info_free(&i);
        teardown(state);
        setup(state);
        put("/etc/kernelstub/configuration", "{}\n");
        i = detect();
        assert_int_equal(i.flags, VT_BOOT_KERNELSTUB);
        assert_non_null(strstr(i.refusal, "kernelstub"));
        vt_boot_info_free(&i);
}

static void test_grub_default_paths(void **state)
{
        vt_root root = VT_ROOT_INIT;
        char **p;
        size_t n;

        (void)state;
        put("/etc/default/grub", "");
        put("/etc/default/grub.d/50-cloudimg-settings.cfg", "");
        put("/etc/default/grub.d/40-force-partuuid.cfg", "");
        put("/etc/default/grub.d/README", "");
        assert_int_equal(vt_root_open(&root, root_dir), 0);
        assert_int_equal(vt_grub_default_paths(&root, &p, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(p[0], "/etc/default/grub");
        assert_string_equal(p[1], "/etc/default/grub.d/40-force-partuuid.cfg");
        assert_string_equal(p[2], "/etc/default/grub.d/50-cloudimg-settings.cfg");
        vt_paths_free(p, n);
        vt_root_close(&root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_debian_bios_grub, setup, teardown),
            cmocka_unit_test_setup_teardown(test_efi_grub, setup, teardown),
            cmocka_unit_test_setup_teardown(test_proxmox_zfs_systemd_boot, setup, teardown),
            cmocka_unit_test_setup_teardown(test_proxmox_grub_esps, setup, teardown),
            cmocka_unit_test_setup_teardown(test_systemd_boot_and_grub_both, setup, teardown),
            cmocka_unit_test_setup_teardown(test_uki_and_kernelstub_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_grub_default_paths, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
