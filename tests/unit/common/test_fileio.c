/* common/fileio: vt_mount_point (the mount point named in read-only hints), vt_path_join. */
#include "../helpers.h"

#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/fileio.h"

static void mount_point_expect(const char *path, const char *want)
{
        char *mnt = NULL;

        assert_int_equal(vt_mount_point(path, &mnt), 0);
        assert_string_equal(mnt, want);
        free(mnt);
}

static void test_mount_point_proc(void **state)
{
        (void)state;
        /* /proc is its own mount wherever the tests run */
        mount_point_expect("/proc/self/fd", "/proc");
        mount_point_expect("/proc/", "/proc");
        mount_point_expect("/", "/");
        /* a missing path: its nearest existing ancestor's mount */
        mount_point_expect("/proc/no/such/dir", "/proc");
}

static void test_mount_point_tmpfs(void **state)
{
        char *dir = make_tmpdir(), m[1024], deep[2048];

        (void)state;
        snprintf(m, sizeof(m), "%s/m", dir);
        assert_int_equal(mkdir(m, 0755), 0);
        if (mount("tmpfs", m, "tmpfs", 0, "size=1m") < 0) {
                rm_rf(dir);
                skip(); /* not root: the /proc case still runs */
        }
        write_file(m, "a/b/file", "x");
        snprintf(deep, sizeof(deep), "%s/a/b/file", m);
        mount_point_expect(deep, m);
        snprintf(deep, sizeof(deep), "%s/a/b/missing/x", m);
        mount_point_expect(deep, m);
        mount_point_expect(m, m);
        /* the directory holding the mount point is in the parent file system */
        {
                char *mnt = NULL;

                assert_int_equal(vt_mount_point(dir, &mnt), 0);
                assert_string_not_equal(mnt, m);
                assert_true(strncmp(dir, mnt, strlen(mnt)) == 0);
                free(mnt);
        }
        assert_int_equal(umount(m), 0);
        rm_rf(dir);
}

static void test_mount_point_relative(void **state)
{
        char *mnt = NULL;

        (void)state;
        assert_int_equal(vt_mount_point("etc/modules", &mnt), -EINVAL);
        assert_null(mnt);
}

static void test_path_join(void **state)
{
        char *p;

        (void)state;
        p = vt_path_join("/root/", "/etc/modules");
        assert_string_equal(p, "/root/etc/modules");
        free(p);
        p = vt_path_join("/", "etc");
        assert_string_equal(p, "/etc");
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_mount_point_proc),
            cmocka_unit_test(test_mount_point_tmpfs),
            cmocka_unit_test(test_mount_point_relative),
            cmocka_unit_test(test_path_join),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
