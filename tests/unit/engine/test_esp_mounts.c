/* proxmox-boot-tool's ESPs before a command: what is mounted, what is missing (no block device
 * behind these UUIDs on a test machine: the mounts themselves are shown in the VM suite,
 * vm/uefi-pbt). */
#include "../helpers.h"

#include <errno.h>

#include "engine/esp_mounts.h"

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

/* Not a proxmox-boot-tool host: nothing to do. In its GRUB mode (no /etc/kernel/cmdline) the
 * ESPs carry GRUB's counter: a UUID with neither a device nor a stand-in holding grub/ is
 * missing, one whose stand-in holds grub/ is used as it is. */
static void test_not_proxmox(void **state)
{
        vt_esp_mounts m;

        (void)state;
        put("/boot/efi/loader/entries/debian.conf", "title Debian\n");
        put("/etc/kernel/cmdline", "root=/dev/sda2 ro\n");
        assert_int_equal(vt_esp_mounts_setup(root_dir, 0, &m), 0);
        assert_int_equal(m.n_listed, 0);
        vt_esp_mounts_free(&m);
        {
                char p[4096];

                snprintf(p, sizeof(p), "%s/etc/kernel/cmdline", root_dir);
                unlink(p);
        }
        put("/etc/kernel/proxmox-boot-uuids", "0000-DEAD\n0000-BEEF\n");
        put("/run/vfiotx/esp/0000-BEEF/grub/grubenv", "");
        assert_int_equal(vt_esp_mounts_setup(root_dir, 0, &m), 0);
        assert_int_equal(m.n_listed, 2);
        assert_int_equal(m.n_mounted, 0);
        assert_int_equal(m.n_missing, 1);
        assert_string_equal(m.missing[0], "0000-DEAD");
        vt_esp_mounts_free(&m);
}

/* systemd-boot mode: a UUID with neither a device nor a stand-in directory is missing; a
 * stand-in with entries is used as it is; nothing is mounted. */
static void test_missing_and_stand_in(void **state)
{
        vt_esp_mounts m;

        (void)state;
        put("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
        put("/etc/kernel/proxmox-boot-uuids", "0000-DEAD\n0000-BEEF\n");
        put("/run/vfiotx/esp/0000-BEEF/loader/entries/proxmox-6.8.12-4-pve.conf", "title P\n");
        assert_int_equal(vt_esp_mounts_setup(root_dir, 0, &m), 0);
        assert_int_equal(m.n_listed, 2);
        assert_int_equal(m.n_mounted, 0);
        assert_int_equal(m.n_missing, 1);
        assert_string_equal(m.missing[0], "0000-DEAD");
        vt_esp_mounts_free(&m);
}

/* A root that cannot be read is the command's to report, not this step's. */
static void test_bad_root(void **state)
{
        vt_esp_mounts m;

        (void)state;
        assert_int_equal(vt_esp_mounts_setup("/nonexistent/vfiotx-root", 0, &m), 0);
        assert_int_equal(m.n_listed, 0);
        vt_esp_mounts_free(&m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_not_proxmox, setup, teardown),
            cmocka_unit_test_setup_teardown(test_missing_and_stand_in, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_root, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
