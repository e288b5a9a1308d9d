/* journal/managed_paths: the list only grows, never takes one path for the tail of another,
 * and fills a snapshot with what it does not list as absent. */
#include "../helpers.h"

#include <errno.h>
#include <sys/stat.h>

#include "backends/rebuild_plan.h"
#include "journal/managed_paths.h"
#include "journal/snapshot.h"

static void test_record_grows_only(void **state)
{
        char *dir = make_tmpdir(), *text, p[4096];
        vt_root root = VT_ROOT_INIT;
        vt_snapshot a = {0}, b = {0};
        struct stat st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_snapshot_put(&a, "/etc/modules", "x", 1, NULL), 0);
        assert_int_equal(vt_snapshot_put(&a, "/etc/gone", NULL, 0, NULL), 0);
        assert_int_equal(vt_managed_paths_record(&root, &a), 0);
        text = slurp(dir, "var/lib/vfiotx/managed-paths");
        assert_non_null(text);
        /* snapshots are sorted: absent paths are listed too */
        assert_string_equal(text, "/etc/gone\n/etc/modules\n");
        free(text);
        snprintf(p, sizeof(p), "%s/var/lib/vfiotx/managed-paths", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* "/modules" is the tail of "/etc/modules" and must still be added; a path already
         * listed is not added twice, and one no longer in the snapshot stays */
        assert_int_equal(vt_snapshot_put(&b, "/modules", "y", 1, NULL), 0);
        assert_int_equal(vt_snapshot_put(&b, "/etc/modules", "y", 1, NULL), 0);
        assert_int_equal(vt_managed_paths_record(&root, &b), 0);
        text = slurp(dir, "var/lib/vfiotx/managed-paths");
        assert_string_equal(text, "/etc/gone\n/etc/modules\n/modules\n");
        free(text);
        /* nothing new: the file is not rewritten */
        assert_int_equal(vt_managed_paths_record(&root, &a), 0);
        text = slurp(dir, "var/lib/vfiotx/managed-paths");
        assert_string_equal(text, "/etc/gone\n/etc/modules\n/modules\n");
        free(text);

        vt_snapshot_free(&a);
        vt_snapshot_free(&b);
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_add_absent(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_snapshot s = {0};
        const vt_snap_file *f;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        /* no list yet: nothing to add, no error */
        assert_int_equal(vt_snapshot_put(&s, "/etc/modules", "x", 1, NULL), 0);
        assert_int_equal(vt_managed_paths_add_absent(&root, &s, vt_path_manageable), 0);
        assert_int_equal(s.n, 1);

        /* /etc/fstab and a path with ".." are no files vfiotx manages: never taken, so a
         * restore never removes them (issue 14, 7) */
        write_file(dir, "var/lib/vfiotx/managed-paths",
                   "/etc/modules\nnot a path\n/etc/fstab\n/etc/modprobe.d/vfio.conf\n"
                   "/etc/vfiotx/../passwd\n/etc/vfiotx/later");
        assert_int_equal(vt_managed_paths_add_absent(&root, &s, vt_path_manageable), 0);
        assert_int_equal(s.n, 3);
        assert_null(vt_snapshot_find(&s, "/etc/fstab"));
        /* what the snapshot lists keeps its bytes; the rest is absent */
        f = vt_snapshot_find(&s, "/etc/modules");
        assert_non_null(f);
        assert_true(f->present);
        f = vt_snapshot_find(&s, "/etc/modprobe.d/vfio.conf");
        assert_non_null(f);
        assert_false(f->present);
        /* the last line needs no newline */
        f = vt_snapshot_find(&s, "/etc/vfiotx/later");
        assert_non_null(f);
        assert_false(f->present);
        assert_null(vt_snapshot_find(&s, "not a path"));

        vt_snapshot_free(&s);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_record_grows_only),
            cmocka_unit_test(test_add_absent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
