/* engine/snapshot_archive: round trip of a snapshot through a tar archive, and refusals. */
#include "../helpers.h"

#include <errno.h>

#include "backends/rebuild_plan.h"
#include "common/error.h"
#include "engine/snapshot_archive.h"

static void make_snapshot(vt_snapshot *s)
{
        vt_file_meta meta = {.mode = 0640, .uid = 1234, .gid = 5678};
        static const char bin[] = {0, 1, 2, (char)0xff};

        assert_int_equal(vt_file_meta_add_xattr(&meta, "security.selinux", "system_u:etc_t", 14),
                         0);
        assert_int_equal(vt_file_meta_add_xattr(&meta, "user.bin", bin, sizeof(bin)), 0);
        assert_int_equal(vt_snapshot_put(s, "/etc/modules", "vfio\nvfio_pci\n", 14, &meta), 0);
        assert_int_equal(vt_snapshot_put(s, "/etc/modprobe.d/vfiotx.conf", "", 0, NULL), 0);
        assert_int_equal(vt_snapshot_put(s, "/etc/modprobe.d/vfiotx-blacklist.conf", NULL, 0, NULL),
                         0);
        vt_file_meta_free(&meta);
}

static void test_round_trip(void **state)
{
        vt_snapshot s = {0}, back = {0};
        vt_buf tar = VT_BUF_INIT;

        (void)state;
        make_snapshot(&s);
        assert_int_equal(vt_snapshot_archive_write(&s, 1700000000, &tar), 0);
        /* zstd magic: the archive is compressed. */
        assert_true(tar.len > 4 && memcmp(tar.ptr, "\x28\xb5\x2f\xfd", 4) == 0);
        assert_int_equal(vt_snapshot_archive_read(tar.ptr, tar.len, "t", &back), 0);
        assert_int_equal(back.n, s.n);
        for (size_t i = 0; i < s.n; i++)
                assert_true(vt_snap_file_equal(&s.files[i], &back.files[i]));
        assert_false(vt_snapshot_find(&back, "/etc/modprobe.d/vfiotx-blacklist.conf")->present);

        /* A truncated archive is refused as a whole. */
        vt_snapshot_free(&back);
        assert_int_equal(vt_snapshot_archive_read(tar.ptr, tar.len / 2, "t", &back), -EBADMSG);
        assert_int_equal(back.n, 0);
        vt_buf_free(&tar);
        vt_snapshot_free(&s);
}

static void test_paths(void **state)
{
        (void)state;
        assert_true(vt_path_manageable("/etc/modules"));
        assert_true(vt_path_manageable("/etc/modprobe.d/vfiotx.conf"));
        assert_true(vt_path_manageable("/etc/default/grub"));
        assert_true(vt_path_manageable("/etc/kernel/cmdline"));
        assert_true(vt_path_manageable("/etc/vfiotx/vfiotx.conf"));
        assert_false(vt_path_manageable("/etc/passwd"));
        assert_false(vt_path_manageable("/etc/modprobe.d/../passwd"));
        assert_false(vt_path_manageable("/etc/modprobe.d/./x.conf"));
        assert_false(vt_path_manageable("/etc//modules"));
        assert_false(vt_path_manageable("/etc/modprobe.d/"));
        assert_false(vt_path_manageable("etc/modules"));
        assert_false(vt_path_manageable("/lib/modprobe.d/x.conf"));
        assert_false(vt_path_manageable(NULL));
}

static void test_refuse_outside(void **state)
{
        vt_snapshot s = {0}, back = {0};
        vt_buf tar = VT_BUF_INIT;

        (void)state;
        assert_int_equal(vt_snapshot_put(&s, "/etc/shadow", "x", 1, NULL), 0);
        assert_int_equal(vt_snapshot_archive_write(&s, 0, &tar), 0);
        assert_int_equal(vt_snapshot_archive_read(tar.ptr, tar.len, "evil.tar", &back), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "evil.tar: refused: files/etc/shadow"));
        assert_non_null(strstr(vt_error_hint_text(), "nothing was written"));
        vt_buf_free(&tar);
        vt_snapshot_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_paths),
            cmocka_unit_test(test_refuse_outside),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
