/* engine/op_rollback: the snapshot a rollback goes back to (the last good one, or a named
 * transaction), nothing to roll back on a host vfiotx never changed, and the rescue from the
 * plain copy when the journal is damaged: announced through the warnings, asked, and never
 * done by a table that cannot ask. */
#include "history.h"

#include <errno.h>
#include <git2.h>

#include "common/error.h"
#include "engine/op_rollback.h"

typedef struct recorder {
        int warnings, questions;
        bool answer;
        char notes[512];
} recorder;

static void warning(void *userdata, const char *text)
{
        recorder *rec = userdata;

        if (rec->warnings++ == 1)
                assert_string_equal(
                    text, "restoring the last good snapshot from its plain copy instead\n");
}

static void notes(void *userdata, const char *text)
{
        recorder *rec = userdata;

        snprintf(rec->notes + strlen(rec->notes), sizeof(rec->notes) - strlen(rec->notes), "%s",
                 text);
}

static bool confirm(void *userdata, const char *question)
{
        recorder *rec = userdata;

        (void)question;
        rec->questions++;
        return rec->answer;
}

static void test_rollback(void **state)
{
        char *dir = make_tmpdir(), *text;
        vt_op_env env = {.root = dir, .cmdline = "vfiotx test"};
        vt_op_rollback_req req = {.yes = true, .no_rebuild = true};
        vt_op_rollback_result res;

        (void)state;
        vt_journal_global_init();
        assert_int_equal(vt_op_rollback(&env, NULL, &req, &res), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "nothing to roll back"));
        assert_false(res.rescued);
        vt_error_clear();

        two_transactions(&env);
        /* The last good snapshot: the baseline. */
        assert_int_equal(vt_op_rollback(&env, NULL, &req, &res), 0);
        assert_false(res.rescued);
        assert_int_equal(res.target_txn, 1);
        assert_int_equal(res.restore.txn, 3);
        assert_string_equal(text = slurp(dir, "etc/modules"), "old\n");
        free(text);
        /* Again: nothing to do. */
        assert_int_equal(vt_op_rollback(&env, NULL, &req, &res), 0);
        assert_true(res.restore.nothing_to_do);
        /* A named transaction. */
        req.which = "2";
        assert_int_equal(vt_op_rollback(&env, NULL, &req, &res), 0);
        assert_int_equal(res.target_txn, 2);
        assert_int_equal(res.restore.txn, 4);
        assert_string_equal(text = slurp(dir, "etc/modules"), "new\n");
        free(text);
        req.which = "99";
        assert_int_equal(vt_op_rollback(&env, NULL, &req, &res), -ENOENT);
        vt_error_clear();
        rm_rf(dir);
}

static void test_rescue(void **state)
{
        char *dir = make_tmpdir(), *text, *out, objects[4096];
        int status;
        vt_op_env env = {.root = dir, .cmdline = "vfiotx test"};
        recorder rec = {0};
        vt_op_ui ui = {.warning = warning, .notes = notes, .confirm = confirm, .userdata = &rec};
        vt_op_rollback_req req = {0};
        vt_op_rollback_result res;

        (void)state;
        vt_journal_global_init();
        two_transactions(&env);
        snprintf(objects, sizeof(objects), "%s/var/lib/vfiotx/journal.git/objects", dir);
        /* the repository's objects gone: the journal is damaged, the plain copy is not */
        out = run_capture((const char *const[]){"find", objects, "-type", "f", "-delete", NULL},
                          &status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        free(out);

        /* A named transaction needs the journal: no rescue. */
        req.which = "1";
        assert_int_equal(vt_op_rollback(&env, &ui, &req, &res), -EBADMSG);
        assert_false(res.rescued);
        assert_int_equal(rec.warnings, 0);
        vt_error_clear();

        /* The answer is no: announced, asked, nothing changed. */
        req.which = NULL;
        assert_int_equal(vt_op_rollback(&env, &ui, &req, &res), -ECANCELED);
        assert_true(res.rescued);
        assert_int_equal(rec.warnings, 2);
        assert_int_equal(rec.questions, 1);
        assert_string_equal(text = slurp(dir, "etc/modules"), "new\n");
        free(text);
        vt_error_clear();

        /* Yes: the plain copy of the good snapshot, and a new journal. */
        rec.answer = true;
        assert_int_equal(vt_op_rollback(&env, &ui, &req, &res), 0);
        assert_true(res.rescued);
        assert_int_equal(rec.questions, 2);
        assert_non_null(strstr(rec.notes, "restored the last good snapshot (transaction 1) from "
                                          "its plain copy"));
        assert_string_equal(text = slurp(dir, "etc/modules"), "old\n");
        free(text);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rollback),
            cmocka_unit_test(test_rescue),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
