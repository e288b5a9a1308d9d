/* Which ESPs backends/esp.c reads: kernel-install's, or every one proxmox-boot-tool lists. */
#include "../helpers.h"

#include <errno.h>

#include "backends/esp.h"
#include "common/error.h"

static char *root_dir;

static void put(const char *path, const char *text)
{
        write_file(root_dir, path + 1, text);
}

static int setup(void **state)
{
        (void)state;
        root_dir = make_tmpdir();
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        rm_rf(root_dir);
        return 0;
}

static int read_all(vt_esp_list *l)
{
        vt_root root = VT_ROOT_INIT;
        int r;

        assert_int_equal(vt_root_open(&root, root_dir), 0);
        r = vt_esp_read_all(&root, l);
        vt_root_close(&root);
        return r;
}

/* Debian's systemd-boot: the first of /efi, /boot, /boot/efi with loader/entries. */
static void test_kernel_install_esp(void **state)
{
        vt_esp_list l;

        (void)state;
        put("/boot/efi/loader/entries/0123-6.1.0-26-amd64.conf", "title Debian\n");
        put("/boot/efi/loader/loader.conf", "default 0123-*\n");
        assert_int_equal(read_all(&l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.n_missing, 0);
        assert_string_equal(l.esps[0].path, "/boot/efi");
        assert_int_equal(l.esps[0].n_entries, 1);
        assert_string_equal(l.esps[0].entries[0].name, "0123-6.1.0-26-amd64.conf");
        vt_esp_list_free(&l);
}

/* proxmox-boot-tool: the listed ESPs where vfiotx mounts them, in the list's order; one that
 * is not there is missing; an ESP at /boot/efi is not what the firmware boots and is left. */
static void test_proxmox_esps(void **state)
{
        vt_root root = VT_ROOT_INIT;
        vt_esp_list l;
        vt_esp first;

        (void)state;
        put("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        put("/etc/kernel/proxmox-boot-uuids", "5E2D-9B41\n\n1111-2222 old\n7A3C-0E16\n");
        put("/boot/efi/loader/entries/debian.conf", "title not this one\n");
        put("/run/vfiotx/esp/7A3C-0E16/loader/entries/proxmox-6.8.12-4-pve.conf", "title A\n");
        put("/run/vfiotx/esp/7A3C-0E16/EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve", "k");
        put("/run/vfiotx/esp/5E2D-9B41/loader/entries/proxmox-6.8.12-4-pve.conf", "title B\n");
        put("/run/vfiotx/esp/5E2D-9B41/loader/loader.conf", "timeout 3\ndefault proxmox-*\n");
        /* a mount point left empty (no device behind it any more) */
        put("/run/vfiotx/esp/1111-2222/.keep", "");
        assert_int_equal(read_all(&l), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.esps[0].path, "/run/vfiotx/esp/5E2D-9B41");
        assert_string_equal(l.esps[1].path, "/run/vfiotx/esp/7A3C-0E16");
        assert_int_equal(l.esps[0].loader_conf.len, strlen("timeout 3\ndefault proxmox-*\n"));
        assert_int_equal(l.esps[1].loader_conf.len, 0);
        assert_int_equal(l.n_missing, 1);
        assert_string_equal(l.missing[0], "1111-2222");
        assert_int_equal(vt_root_open(&root, root_dir), 0);
        assert_int_equal(
            vt_esp_has_file(&root, &l.esps[1], "/EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve"),
            1);
        assert_int_equal(
            vt_esp_has_file(&root, &l.esps[0], "/EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve"),
            0);
        /* vt_esp_read(): the first one found stands for them */
        assert_int_equal(vt_esp_read(&root, &first), 0);
        assert_string_equal(first.path, "/run/vfiotx/esp/5E2D-9B41");
        vt_esp_free(&first);
        vt_root_close(&root);
        vt_esp_list_free(&l);
}

/* None of the listed ESPs there: -ENOENT naming them, not kernel-install's ESP instead. */
static void test_proxmox_none_there(void **state)
{
        vt_esp_list l;

        (void)state;
        put("/etc/kernel/proxmox-boot-uuids", "7A3C-0E16\n5E2D-9B41\n");
        put("/boot/efi/loader/entries/debian.conf", "title not this one\n");
        assert_int_equal(read_all(&l), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "(7A3C-0E16, 5E2D-9B41)"));
        assert_int_equal(l.n, 0);
        vt_error_clear();
        vt_esp_list_free(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_kernel_install_esp, setup, teardown),
            cmocka_unit_test_setup_teardown(test_proxmox_esps, setup, teardown),
            cmocka_unit_test_setup_teardown(test_proxmox_none_there, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
