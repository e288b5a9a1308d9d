/* engine/op_status: "none" on a host vfiotx never changed, then the applied and good
 * transactions, drift, the profile's devices, and why no trial could be armed (no GRUB). */
#include "history.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_status.h"

static int warnings;

static void warning(void *userdata, const char *text)
{
        (void)userdata;
        assert_non_null(strstr(text, "profile /etc/vfiotx/vfiotx.conf cannot be read: "));
        warnings++;
}

static void test_status(void **state)
{
        char *dir = make_tmpdir();
        vt_op_env env = {.root = dir, .sysfs = dir, .proc = dir, .cmdline = "vfiotx test"};
        vt_op_ui ui = {.warning = warning};
        vt_op_status_result res;

        (void)state;
        vt_journal_global_init();
        assert_int_equal(vt_op_status(&env, &ui, &res), 0);
        assert_string_equal(res.state, "none");
        assert_int_equal(res.applied.id, 0);
        assert_false(res.counter_ok);
        assert_non_null(res.counter_why);
        vt_op_status_result_free(&res);

        two_transactions(&env);

        /* Applied, not confirmed: the good one is the baseline; the rebuild is pending. */
        assert_int_equal(vt_op_status(&env, &ui, &res), 0);
        assert_string_equal(res.state, "applied");
        assert_int_equal(res.applied.id, 2);
        assert_true(res.has_good);
        assert_int_equal(res.good.id, 1);
        assert_true(res.boot.pending_rebuild);
        assert_false(res.interrupted);
        assert_int_equal(res.drift.len, 0);
        assert_int_equal(res.profile.n_devices, 0);
        vt_op_status_result_free(&res);

        /* A file changed by hand is drift; a broken profile is a warning, not a failure. */
        write_file(dir, "etc/modules", "by hand\n");
        write_file(dir, "etc/vfiotx/vfiotx.conf", "no such statement\n");
        assert_int_equal(vt_op_status(&env, &ui, &res), 0);
        assert_string_equal(vt_buf_cstr(&res.drift), "/etc/modules\n");
        assert_int_equal(warnings, 1);
        assert_null(vt_error_message());
        vt_op_status_result_free(&res);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_status),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
