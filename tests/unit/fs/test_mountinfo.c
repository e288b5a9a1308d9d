/* fs/mountinfo.c: the mount that holds a path, on a table shaped like a real host's (Debian 12
 * with a separate /boot and an ESP, an overmount, an escaped space). */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "fs/mountinfo.h"

static const char table[] =
    "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
    "40 22 8:1 / /boot rw,relatime shared:28 - ext4 /dev/sda1 rw\n"
    "41 40 8:3 / /boot/efi rw,relatime shared:29 - vfat /dev/sda3 rw,fmask=0077\n"
    "50 22 0:45 / /mnt/my\\040disk rw - ext4 /dev/sdb\\0401 rw\n"
    "60 40 0:50 / /boot rw - tmpfs tmpfs rw\n";

static void test_holding(void **state)
{
        (void)state;
        vt_mount m = {0};

        assert_int_equal(vt_mountinfo_holding(table, "mi", "/boot/efi/EFI/debian/grubx64.efi", &m),
                         0);
        assert_string_equal(m.point, "/boot/efi");
        assert_string_equal(m.fstype, "vfat");
        assert_string_equal(m.majmin, "8:3");
        vt_mount_free(&m);
        /* The later line for /boot (an overmount) wins. */
        assert_int_equal(vt_mountinfo_holding(table, "mi", "/boot/grub/grubenv", &m), 0);
        assert_string_equal(m.fstype, "tmpfs");
        vt_mount_free(&m);
        /* "/bootx" is not under "/boot". */
        assert_int_equal(vt_mountinfo_holding(table, "mi", "/bootx/y", &m), 0);
        assert_string_equal(m.point, "/");
        vt_mount_free(&m);
        /* Escapes undone in the mount point and the source. */
        assert_int_equal(vt_mountinfo_holding(table, "mi", "/mnt/my disk/f", &m), 0);
        assert_string_equal(m.point, "/mnt/my disk");
        assert_string_equal(m.source, "/dev/sdb 1");
        vt_mount_free(&m);
        assert_int_equal(vt_mountinfo_holding("", "mi", "/x", &m), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "no mount in mi holds /x"));
}

static void test_at(void **state)
{
        (void)state;
        vt_mount m = {0};

        assert_int_equal(vt_mountinfo_at(table, "mi", "/", &m), 0);
        assert_string_equal(m.source, "/dev/sda2");
        vt_mount_free(&m);
        assert_int_equal(vt_mountinfo_at(table, "mi", "/boot/grub", &m), -ENOENT);
        assert_null(m.point);
}

static void test_malformed(void **state)
{
        (void)state;
        vt_mount m = {0};

        assert_int_equal(vt_mountinfo_at("22 1 8:2 / / rw\n", "/proc/self/mountinfo", "/", &m),
                         -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "/proc/self/mountinfo: malformed line"));
        assert_null(m.point);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_holding),
            cmocka_unit_test(test_at),
            cmocka_unit_test(test_malformed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
