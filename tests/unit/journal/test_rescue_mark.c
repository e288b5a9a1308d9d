/* journal/rescue_mark: the marker vfiotx-rescue leaves reads back as written, root's and 0600;
 * a missing marker is -ENOENT, an empty one (a rescue cut short) reads as zeros, a value that
 * is not a number is refused, unknown keys are skipped, and removing it twice is fine. */
#include "../helpers.h"

#include <errno.h>
#include <sys/stat.h>

#include "common/error.h"
#include "journal/rescue_mark.h"

static void test_round_trip(void **state)
{
        char *dir = make_tmpdir(), *text, p[4096];
        vt_root root = VT_ROOT_INIT;
        vt_rescue_mark m = {.txn = 7, .time = 1700000000, .rebuilt = true, .files = 3}, got;
        struct stat st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_rescue_mark_read(&root, &got), -ENOENT);
        assert_int_equal(vt_rescue_mark_write(&root, &m), 0);
        text = slurp(dir, "var/lib/vfiotx/rescued");
        assert_string_equal(text, "txn=7\ntime=1700000000\nrebuilt=1\nfiles=3\n");
        free(text);
        snprintf(p, sizeof(p), "%s/var/lib/vfiotx/rescued", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(vt_rescue_mark_read(&root, &got), 0);
        assert_int_equal(got.txn, 7);
        assert_int_equal(got.time, 1700000000);
        assert_true(got.rebuilt);
        assert_int_equal(got.files, 3);
        assert_int_equal(vt_rescue_mark_remove(&root), 0);
        assert_int_equal(vt_rescue_mark_remove(&root), 0);
        assert_int_equal(vt_rescue_mark_read(&root, &got), -ENOENT);
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_odd_markers(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_rescue_mark got;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        write_file(dir, "var/lib/vfiotx/rescued", "");
        assert_int_equal(vt_rescue_mark_read(&root, &got), 0);
        assert_int_equal(got.txn, 0);
        assert_false(got.rebuilt);
        write_file(dir, "var/lib/vfiotx/rescued", "later=x y\ntxn=4\nno equals sign\n");
        assert_int_equal(vt_rescue_mark_read(&root, &got), -EBADMSG);
        write_file(dir, "var/lib/vfiotx/rescued", "future=2\ntxn=4\nrebuilt=0\n");
        assert_int_equal(vt_rescue_mark_read(&root, &got), 0);
        assert_int_equal(got.txn, 4);
        assert_false(got.rebuilt);
        write_file(dir, "var/lib/vfiotx/rescued", "txn=4x\n");
        assert_int_equal(vt_rescue_mark_read(&root, &got), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "txn"));
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_odd_markers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
