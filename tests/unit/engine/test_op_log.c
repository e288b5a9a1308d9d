/* engine/op_log: the history newest first with a limit and diffs on request, one entry by
 * number, and the empty log of a host vfiotx never changed. */
#include "history.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_log.h"

static void test_log(void **state)
{
        char *dir = make_tmpdir();
        vt_op_env env = {.root = dir, .cmdline = "vfiotx test"};
        vt_op_log_result res;
        vt_op_log_entry entry;

        (void)state;
        vt_journal_global_init();
        assert_int_equal(vt_op_log(&env, NULL, &(vt_op_log_req){.max = -1}, &res), 0);
        assert_true(res.empty);
        assert_int_equal(res.n, 0);
        vt_op_log_result_free(&res);
        assert_int_equal(vt_op_show(&env, NULL, "1", &entry), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "no transactions yet"));
        vt_op_log_entry_free(&entry);
        vt_error_clear();

        two_transactions(&env);

        /* Newest first; no diffs unless asked. */
        assert_int_equal(vt_op_log(&env, NULL, &(vt_op_log_req){.max = -1}, &res), 0);
        assert_false(res.empty);
        assert_int_equal(res.n, 2);
        assert_int_equal(res.items[0].info.id, 2);
        assert_string_equal(res.items[0].info.kind, "import");
        assert_int_equal(res.items[1].info.id, 1);
        assert_int_equal(res.items[0].diff.len, 0);
        vt_op_log_result_free(&res);

        assert_int_equal(vt_op_log(&env, NULL, &(vt_op_log_req){.patch = true, .max = 1}, &res), 0);
        assert_int_equal(res.n, 1);
        assert_non_null(strstr(vt_buf_cstr(&res.items[0].diff), "-old\n+new\n"));
        vt_op_log_result_free(&res);

        /* The first entry has no parent and no diff. */
        assert_int_equal(vt_op_show(&env, NULL, "1", &entry), 0);
        assert_int_equal(entry.info.id, 1);
        assert_int_equal(entry.diff.len, 0);
        vt_op_log_entry_free(&entry);
        assert_int_equal(vt_op_show(&env, NULL, "2", &entry), 0);
        assert_non_null(strstr(vt_buf_cstr(&entry.diff), "+new\n"));
        vt_op_log_entry_free(&entry);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_log),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
