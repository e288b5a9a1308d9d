/* engine/op_apply: plan and apply on a temporary root (the profile re-applied: the vfio
 * modules in /etc/modules), with the fixture host's /sys and /proc. The plan is shown through
 * the callback table before the question; a table that cannot ask never applies; the first
 * apply is one transaction (after the baseline), the second is nothing to do. No rebuild and
 * no trial: those run tools (tests/cli/test_rebuild.sh, test_trial.sh). */
#include "../helpers.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_apply.h"

typedef struct recorder {
        int plans, questions;
} recorder;

static void show_plan(void *userdata, const vt_plan *plan, const char *diff)
{
        recorder *rec = userdata;

        /* The first apply appends the modules; the second finds nothing to change. */
        if (rec->plans == 0)
                assert_non_null(strstr(diff, "+++ b/etc/modules\n"));
        else
                assert_string_equal(diff, "");
        assert_non_null(vt_snapshot_find(&plan->target, "/etc/modules"));
        assert_int_equal(plan->refusals.n, 0);
        rec->plans++;
}

static bool confirm(void *userdata, const char *question)
{
        recorder *rec = userdata;

        assert_string_equal(question, "Apply these changes?");
        assert_int_equal(rec->plans, rec->questions + 1); /* the plan came first */
        rec->questions++;
        return true;
}

static void test_apply(void **state)
{
        char path[4096], *dir = make_tmpdir(), *sys = fixture_path("amd-desktop", "sys"),
                         *proc = fixture_path("amd-desktop", "proc"), *text;
        recorder rec = {0};
        vt_op_ui ui = {.show_plan = show_plan, .confirm = confirm, .userdata = &rec};
        vt_op_ui silent = {0};
        vt_op_env env = {.root = dir, .sysfs = sys, .proc = proc, .cmdline = "vfiotx test"};
        vt_spec spec = {0};
        vt_op_apply_req req = {.spec = &spec, .no_rebuild = true};
        vt_op_apply_result res;
        vt_op_plan_result plan;

        (void)state;
        vt_journal_global_init();
        write_file(dir, "etc/modules", "# /etc/modules\nloop\n");

        /* plan: writes nothing, and shows the modules it would add */
        assert_int_equal(vt_op_plan(&env, &spec, &plan), 0);
        assert_true(plan.computed);
        assert_true(vt_snapshot_find(&plan.plan.target, "/etc/modules")->present);
        assert_non_null(strstr(vt_buf_cstr(&plan.diff), "+++ b/etc/modules\n"));
        vt_op_plan_result_free(&plan);
        assert_true(snprintf(path, sizeof(path), "%s/var/lib/vfiotx", dir) > 0);
        assert_int_not_equal(access(path, F_OK), 0);

        /* nobody to ask: not applied */
        assert_int_equal(vt_op_apply(&env, &silent, &req, &res), -ECANCELED);
        assert_true(res.computed);
        assert_false(res.armed);
        assert_int_equal(res.txn, 0);
        vt_op_apply_result_free(&res);
        vt_error_clear();
        assert_string_equal(text = slurp(dir, "etc/modules"), "# /etc/modules\nloop\n");
        free(text);

        /* asked, yes: transaction 2 (1 records the files as vfiotx found them) */
        assert_int_equal(vt_op_apply(&env, &ui, &req, &res), 0);
        assert_int_equal(rec.plans, 1);
        assert_int_equal(rec.questions, 1);
        assert_int_equal(res.txn, 2);
        assert_int_equal(res.rebuild_steps, 0);
        vt_op_apply_result_free(&res);
        /* every byte kept, the modules appended (which ones depends on the kernel) */
        text = slurp(dir, "etc/modules");
        assert_memory_equal(text, "# /etc/modules\nloop\nvfio\n", 22);
        assert_non_null(strstr(text, "\nvfio_pci\n"));
        free(text);

        /* again: nothing to do, no transaction */
        assert_int_equal(vt_op_apply(&env, &ui, &req, &res), 0);
        assert_int_equal(res.txn, 0);
        assert_int_equal(rec.plans, 2);
        assert_false(res.rebuilt_pending);
        vt_op_apply_result_free(&res);

        free(sys);
        free(proc);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_apply),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
