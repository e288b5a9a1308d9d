/* journal/good_copy: the plain copy reads back as written; a file cut short (its size is not
 * the manifest's), zeroed or changed at the same size (its SHA-256 is not the manifest's) or
 * missing makes the copy damaged (-EBADMSG), not absent; no copy is -ENOENT. */
#include "../helpers.h"

#include <errno.h>
#include <unistd.h>

#include "common/error.h"
#include "journal/good_copy.h"
#include "journal/snapshot.h"

static void write_copy(const char *dir, vt_root *root)
{
        vt_snapshot s = {0};

        write_file(dir, "var/lib/vfiotx/state", "{}"); /* the journal's directory exists */
        assert_int_equal(vt_root_open(root, dir), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/modules", "vfio\n", 5, NULL), 0);
        assert_int_equal(vt_snapshot_put(&s, "/etc/gone", NULL, 0, NULL), 0);
        assert_int_equal(vt_good_copy_write(root, &s, 3), 0);
        vt_snapshot_free(&s);
}

static void test_read_back(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_snapshot s = {0};
        long txn = 0;

        (void)state;
        write_copy(dir, &root);
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), 0);
        assert_int_equal(txn, 3);
        assert_int_equal(s.n, 2);
        assert_false(vt_snapshot_find(&s, "/etc/gone")->present);
        assert_int_equal(vt_snapshot_find(&s, "/etc/modules")->manifest_size, 5);
        assert_memory_equal(vt_snapshot_find(&s, "/etc/modules")->data.ptr, "vfio\n", 5);
        vt_snapshot_free(&s);
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_damaged(void **state)
{
        char *dir = make_tmpdir(), p[4096];
        vt_root root = VT_ROOT_INIT;
        vt_snapshot s = {0};
        long txn = 0;

        (void)state;
        write_copy(dir, &root);
        write_file(dir, "var/lib/vfiotx/good/files/etc/modules", "vf");
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "damaged"));
        assert_non_null(strstr(vt_error_message(), "holds 2 bytes, its manifest says 5"));
        /* the same size, other bytes (test_damaged_journal.sh zeroes it) */
        write_file(dir, "var/lib/vfiotx/good/files/etc/modules", "    \n");
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "does not hold the bytes its manifest names"));
        write_file(dir, "var/lib/vfiotx/good/files/etc/modules", "vfjo\n");
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), -EBADMSG);
        snprintf(p, sizeof(p), "%s/var/lib/vfiotx/good/files/etc/modules", dir);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "is missing"));
        snprintf(p, sizeof(p), "%s/var/lib/vfiotx/good", dir);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(vt_good_copy_read(&root, &s, &txn), -ENOENT);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_read_back),
            cmocka_unit_test(test_damaged),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
