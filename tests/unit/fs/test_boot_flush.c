/* fs/boot_flush.c: the flush a bootloader needs, on the file systems this machine can make.
 *
 * The real checkpoint and freeze run on $TMPDIR's file system (ext4 here and in CI), and on a
 * tmpfs mounted for the test (when root): the method is the one the file system calls for,
 * the oracle being statfs(1)'s name of the file system. Without CAP_SYS_ADMIN (a test run as a
 * user, a container), ext4 must be refused with EPERM and a hint, never reported flushed. */
#include "../helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "fs/boot_flush.h"

static void test_tmpdir_fs(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        vt_flush_report rep, dry;
        struct statfs sfs;
        int r, rd;

        assert_true(fd >= 0);
        assert_int_equal(fstatfs(fd, &sfs), 0);
        write_file(dir, "boot/grub/grubenv", "dirty data for the journal\n");
        r = vt_boot_flush_fd(fd, "/boot", false, &rep);
        rd = vt_boot_flush_fd(fd, "/boot", true, &dry);
        if (sfs.f_type == 0xEF53) {
                assert_string_equal(rep.fstype, "ext4");
                if (geteuid() == 0) {
                        /* Linux 5.13+: the checkpoint; older kernels freeze. */
                        assert_int_equal(r, 0);
                        assert_true(rep.method == VT_FLUSH_CHECKPOINT ||
                                    rep.method == VT_FLUSH_FREEZE || rep.method == VT_FLUSH_SYNC);
                        assert_int_equal(rd, 0);
                        assert_int_equal(dry.method, rep.method);
                        assert_int_equal(dry.sync_us >= 0, 1);
                } else {
                        assert_int_equal(r, -EPERM);
                        assert_non_null(strstr(vt_error_hint_text(), "CAP_SYS_ADMIN"));
                }
        } else if (sfs.f_type == 0x01021994) {
                assert_int_equal(r, 0);
                assert_int_equal(rep.method, VT_FLUSH_NONE);
        }
        close(fd);
        rm_rf(dir);
}

/* A tmpfs is read by no bootloader: synced, method none (arming refuses it by that). */
static void test_tmpfs(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        vt_flush_report rep;
        int fd;

        if (geteuid() != 0 || mount("vfiotx-test", dir, "tmpfs", 0, "size=1m") < 0) {
                rm_rf(dir);
                skip();
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(vt_boot_flush_fd(fd, "/boot", false, &rep), 0);
        assert_string_equal(rep.fstype, "tmpfs");
        assert_int_equal(rep.method, VT_FLUSH_NONE);
        close(fd);
        assert_int_equal(umount(dir), 0);
        rm_rf(dir);
}

/* A failpoint before the checkpoint fails the flush like an I/O error would. */
static void test_failpoint(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        vt_flush_report rep;
        struct statfs sfs;

        assert_int_equal(fstatfs(fd, &sfs), 0);
        if (sfs.f_type != 0xEF53 || geteuid() != 0) {
                close(fd);
                rm_rf(dir);
                skip();
        }
        setenv("VFIOTX_FAILPOINT_FAIL", "1", 1);
        vt_failpoint_reset();
        assert_int_equal(vt_boot_flush_fd(fd, "/boot", false, &rep), -EIO);
        unsetenv("VFIOTX_FAILPOINT_FAIL");
        vt_failpoint_reset();
        close(fd);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tmpdir_fs),
            cmocka_unit_test(test_tmpfs),
            cmocka_unit_test(test_failpoint),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
