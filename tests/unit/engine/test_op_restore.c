/* engine/op_restore: a whole snapshot restored as one transaction on a temporary root; the diff
 * and the question reach the caller through the callback table, a table that cannot ask never
 * goes ahead, managed paths the snapshot does not list are removed, and a second restore of the
 * same snapshot is nothing to do. Rebuilds are left out (no_rebuild): op_restore only plans
 * them, engine/rebuild.c runs them (tests/cli/test_rebuild.sh). */
#include "../helpers.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_restore.h"

typedef struct recorder {
        int diffs, questions;
        bool answer;
        char question[64];
} recorder;

static void show_diff(void *userdata, const char *diff)
{
        recorder *rec = userdata;

        assert_non_null(strstr(diff, "/etc/modules"));
        rec->diffs++;
}

static bool confirm(void *userdata, const char *question)
{
        recorder *rec = userdata;

        snprintf(rec->question, sizeof(rec->question), "%s", question);
        rec->questions++;
        return rec->answer;
}

static void test_restore(void **state)
{
        char *dir = make_tmpdir(), *text;
        recorder rec = {0};
        vt_op_ui ui = {.show_diff = show_diff, .confirm = confirm, .userdata = &rec};
        vt_op_ui silent = {0}; /* `vfiotx boot`: never asks */
        vt_op_env env = {.root = dir, .cmdline = "vfiotx test"};
        vt_op_restore_req req = {.kind = "import",
                                 .summary = "test import",
                                 .question = "Go ahead?",
                                 .no_rebuild = true};
        vt_op_restore_result res;
        vt_snapshot target = {0};
        vt_engine e;

        (void)state;
        vt_journal_global_init();
        write_file(dir, "etc/modules", "old\n");
        assert_int_equal(vt_op_open(&e, &env, VT_ENGINE_WRITE, &ui), 0);

        /* The answer is no: nothing changes. */
        assert_int_equal(vt_snapshot_put(&target, "/etc/modules", "new\n", 4, NULL), 0);
        assert_int_equal(vt_op_restore(&e, &env, &ui, &target, &req, &res), -ECANCELED);
        assert_int_equal(rec.diffs, 1);
        assert_int_equal(rec.questions, 1);
        assert_string_equal(rec.question, "Go ahead?");
        assert_string_equal(text = slurp(dir, "etc/modules"), "old\n");
        free(text);
        vt_error_clear();

        /* A table without confirm never goes ahead either. */
        assert_int_equal(vt_op_restore(&e, &env, &silent, &target, &req, &res), -ECANCELED);
        vt_error_clear();

        /* Yes: one transaction; the rebuild is left pending. */
        rec.answer = true;
        assert_int_equal(vt_op_restore(&e, &env, &ui, &target, &req, &res), 0);
        assert_true(res.txn > 0);
        assert_true(res.no_rebuild);
        assert_false(res.nothing_to_do);
        assert_string_equal(text = slurp(dir, "etc/modules"), "new\n");
        free(text);
        assert_true(e.boot.pending_rebuild);

        /* The same snapshot again: nothing to do, no question. */
        rec.questions = 0;
        assert_int_equal(vt_op_restore(&e, &env, &ui, &target, &req, &res), 0);
        assert_true(res.nothing_to_do);
        assert_int_equal(res.txn, 0);
        assert_int_equal(rec.questions, 0);
        vt_snapshot_free(&target);

        /* A snapshot that does not list /etc/modules: it did not exist then. With yes, the
         * silent table is enough. */
        req.yes = true;
        assert_int_equal(vt_snapshot_put(&target, "/etc/other", "x\n", 2, NULL), 0);
        assert_int_equal(vt_op_restore(&e, &env, &silent, &target, &req, &res), 0);
        assert_true(res.txn > 0);
        assert_null(text = slurp(dir, "etc/modules"));
        assert_string_equal(text = slurp(dir, "etc/other"), "x\n");
        free(text);

        vt_snapshot_free(&target);
        vt_engine_close(&e);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_restore),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
