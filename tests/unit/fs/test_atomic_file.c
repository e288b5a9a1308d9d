/* fs/atomic_file: replacement keeps metadata, new files get defaults, failures leave the
 * old file and no temporary file behind. */
#include "../helpers.h"

#include <dirent.h>
#include <errno.h>
#include <sys/xattr.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "fs/atomic_file.h"

static void test_replace_keeps_metadata(void **state)
{
        char *dir = make_tmpdir(), path[4096], val[16] = {0};
        vt_root root = VT_ROOT_INIT;
        struct stat st;
        char *text;

        (void)state;
        write_file(dir, "etc/modules", "old\n");
        snprintf(path, sizeof(path), "%s/etc/modules", dir);
        assert_int_equal(chown(path, 1234, 5678), 0);
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(setxattr(path, "user.t", "v1", 2, 0), 0);
        assert_int_equal(vt_root_open(&root, dir), 0);

        assert_int_equal(vt_atomic_write(&root, "/etc/modules", "new\n", 4, NULL), 0);
        text = slurp(dir, "etc/modules");
        assert_string_equal(text, "new\n");
        free(text);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
        assert_int_equal(getxattr(path, "user.t", val, sizeof(val)), 2);
        assert_string_equal(val, "v1");
        snprintf(path, sizeof(path), "%s/etc", dir);
        assert_int_equal(count_entries(path), 1); /* no temporary file left */
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_new_file_defaults_and_explicit_meta(void **state)
{
        char *dir = make_tmpdir(), path[4096];
        vt_root root = VT_ROOT_INIT;
        vt_file_meta meta = {0600, 42, 43, NULL, 0};
        struct stat st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        umask(077); /* the default must not depend on the caller's umask */
        assert_int_equal(vt_atomic_write(&root, "/etc/new/dir/file", "x", 1, NULL), 0);
        snprintf(path, sizeof(path), "%s/etc/new/dir/file", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(vt_file_meta_add_xattr(&meta, "user.a", "b", 1), 0);
        assert_int_equal(vt_atomic_write(&root, "/etc/new/dir/file", "y", 1, &meta), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, 42);
        assert_int_equal(getxattr(path, "user.a", NULL, 0), 1);
        vt_file_meta_free(&meta);
        assert_int_equal(vt_atomic_remove(&root, "/etc/new/dir/file"), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(vt_atomic_remove(&root, "/etc/new/dir/file"), 0); /* absent: fine */
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_failure_leaves_old_file(void **state)
{
        char *dir = make_tmpdir(), path[4096];
        vt_root root = VT_ROOT_INIT;
        char *text;

        (void)state;
        write_file(dir, "etc/modules", "old\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        /* failpoints 1..4: create, write, fsync, rename: each failure keeps the old bytes */
        for (int n = 1; n <= 4; n++) {
                char num[8];

                snprintf(num, sizeof(num), "%d", n);
                setenv("VFIOTX_FAILPOINT_FAIL", num, 1);
                vt_failpoint_reset();
                assert_int_equal(vt_atomic_write(&root, "/etc/modules", "new\n", 4, NULL), -EIO);
                assert_non_null(strstr(vt_error_message(), "simulated I/O error"));
                text = slurp(dir, "etc/modules");
                assert_string_equal(text, "old\n");
                free(text);
                snprintf(path, sizeof(path), "%s/etc", dir);
                assert_int_equal(count_entries(path), 1);
        }
        unsetenv("VFIOTX_FAILPOINT_FAIL");
        vt_failpoint_reset();
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_refuses_non_regular_and_cleans_temps(void **state)
{
        char *dir = make_tmpdir(), path[4096];
        vt_root root = VT_ROOT_INIT;

        (void)state;
        snprintf(path, sizeof(path), "%s/etc/modules", dir);
        write_file(dir, "etc/.modules.vfiotx-abc123", "stale");
        mkdir(path, 0755);
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_atomic_write(&root, "/etc/modules", "x", 1, NULL), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "not a regular file"));
        assert_int_equal(vt_atomic_cleanup(&root, "/etc/modules"), 0);
        snprintf(path, sizeof(path), "%s/etc", dir);
        assert_int_equal(count_entries(path), 1);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_replace_keeps_metadata),
            cmocka_unit_test(test_new_file_defaults_and_explicit_meta),
            cmocka_unit_test(test_failure_leaves_old_file),
            cmocka_unit_test(test_refuses_non_regular_and_cleans_temps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
