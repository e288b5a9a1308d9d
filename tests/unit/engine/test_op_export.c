/* engine/op_export: nothing to export on a host vfiotx never changed; the applied snapshot (or
 * a named one) as an archive that reads back as the same files. */
#include "history.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_export.h"
#include "engine/snapshot_archive.h"

static void test_export(void **state)
{
        char *dir = make_tmpdir();
        vt_op_env env = {.root = dir, .cmdline = "vfiotx test"};
        vt_op_export_result res;
        vt_snapshot back = {0};
        const vt_snap_file *f;

        (void)state;
        vt_journal_global_init();
        assert_int_equal(vt_op_export(&env, NULL, NULL, &res), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "nothing to export"));
        assert_non_null(vt_error_hint_text());
        vt_buf_free(&res.archive);
        vt_error_clear();

        two_transactions(&env);

        assert_int_equal(vt_op_export(&env, NULL, NULL, &res), 0);
        assert_int_equal(res.txn, 2);
        assert_int_equal(res.n_files, 1);
        assert_int_equal(vt_snapshot_archive_read(res.archive.ptr, res.archive.len, "t", &back), 0);
        assert_non_null(f = vt_snapshot_find(&back, "/etc/modules"));
        assert_memory_equal(f->data.ptr, "new\n", 4);
        vt_snapshot_free(&back);
        vt_buf_free(&res.archive);

        assert_int_equal(vt_op_export(&env, NULL, "1", &res), 0);
        assert_int_equal(res.txn, 1);
        assert_int_equal(vt_snapshot_archive_read(res.archive.ptr, res.archive.len, "t", &back), 0);
        assert_memory_equal(vt_snapshot_find(&back, "/etc/modules")->data.ptr, "old\n", 4);
        vt_snapshot_free(&back);
        vt_buf_free(&res.archive);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_export),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
