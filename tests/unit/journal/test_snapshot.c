/* journal/snapshot.c: sorted unique entries, the manifest both ways, and capture/restore against
 * a real directory: restore writes only what differs and removes what the snapshot says is
 * absent. */
#include "../helpers.h"

#include <errno.h>
#include <sys/stat.h>

#include "common/error.h"
#include "journal/root.h"
#include "journal/snapshot.h"

static void test_put_sorted_unique(void **state)
{
        (void)state;
        _cleanup_snapshot_ vt_snapshot s = {0};

        assert_int_equal(vt_snapshot_put(&s, "/etc/modules", "b", 1, NULL), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/default/grub", "a", 1, NULL), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/modules", "c", 1, NULL), 0); /* replaces */
        assert_int_equal(vt_snapshot_put(&s, "/etc/x.conf", NULL, 0, NULL), 0); /* absent */
        assert_int_equal(s.n, 3);
        assert_string_equal(s.files[0].path, "/etc/default/grub");
        assert_string_equal(s.files[1].path, "/etc/modules");
        assert_string_equal(s.files[2].path, "/etc/x.conf");
        assert_memory_equal(s.files[1].data.ptr, "c", 1);
        assert_false(vt_snapshot_find(&s, "/etc/x.conf")->present);
        assert_null(vt_snapshot_find(&s, "/etc/none"));
}

static void test_manifest_roundtrip(void **state)
{
        (void)state;
        _cleanup_snapshot_ vt_snapshot s = {0}, back = {0};
        _cleanup_buf_ vt_buf json = VT_BUF_INIT;
        vt_file_meta meta = {0600, 12, 34, NULL, 0};

        assert_int_equal(vt_file_meta_add_xattr(&meta, "user.tag", "\x01\xff", 2), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/modules", "x\n", 2, &meta), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/gone", NULL, 0, NULL), 0);
        vt_file_meta_free(&meta);
        assert_int_equal(vt_snapshot_manifest(&s, &json), 0);
        assert_int_equal(vt_snapshot_parse_manifest(json.ptr, json.len, &back), 0);
        assert_int_equal(back.n, 2);
        assert_true(vt_file_meta_equal(&back.files[1].meta, &s.files[1].meta));
        assert_true(back.files[1].present);
        assert_false(back.files[0].present);
        /* A manifest that is not one is refused, not half-read. */
        vt_snapshot_free(&back);
        assert_true(vt_snapshot_parse_manifest("{\"files\": 3}", 12, &back) < 0);
}

static void test_capture_restore(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), *got;
        _cleanup_snapshot_ vt_snapshot before = {0}, target = {0};
        const char *paths[] = {"/etc/a", "/etc/b", "/etc/c"};
        vt_root root = VT_ROOT_INIT;
        struct stat st_b1, st_b2;
        char p[4096];

        write_file(dir, "etc/a", "old a\n");
        write_file(dir, "etc/b", "same b\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_snapshot_capture(&root, paths, 3, &before), 0);
        assert_true(vt_snapshot_find(&before, "/etc/a")->present);
        assert_false(vt_snapshot_find(&before, "/etc/c")->present);
        assert_int_equal(vt_snapshot_matches_disk(&root, &before), 1);

        assert_int_equal(vt_snapshot_copy(&target, &before), 0);
        assert_int_equal(vt_snapshot_put(&target, "/etc/a", NULL, 0, NULL), 0);
        assert_int_equal(vt_snapshot_put(&target, "/etc/c", "new c\n", 6, NULL), 0);
        assert_int_equal(vt_snapshot_matches_disk(&root, &target), 0);
        snprintf(p, sizeof(p), "%s/etc/b", dir);
        assert_int_equal(stat(p, &st_b1), 0);
        assert_int_equal(vt_snapshot_restore(&root, &target), 0);
        assert_int_equal(stat(p, &st_b2), 0);
        assert_int_equal(st_b1.st_ino, st_b2.st_ino); /* unchanged: not rewritten */
        snprintf(p, sizeof(p), "%s/etc/a", dir);
        assert_int_equal(access(p, F_OK), -1);
        got = slurp(dir, "etc/c");
        assert_string_equal(got, "new c\n");
        free(got);
        assert_int_equal(vt_snapshot_matches_disk(&root, &target), 1);

        /* And back. */
        assert_int_equal(vt_snapshot_restore(&root, &before), 0);
        assert_int_equal(vt_snapshot_matches_disk(&root, &before), 1);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_put_sorted_unique),
            cmocka_unit_test(test_manifest_roundtrip),
            cmocka_unit_test(test_capture_restore),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
