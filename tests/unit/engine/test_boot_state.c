/* engine/boot_state over journal/state: the state file keeps the bytes it always had (the
 * expected text is built here the way the state file was written before the trial and rebuild
 * fields moved out of the journal), and an existing file reads back the same. */
#include "../helpers.h"

#include <errno.h>
#include <json-c/json.h>

#include "engine/boot_state.h"
#include "journal/state.h"

/* The state file as vfiotx wrote it before: every member in the order it had. */
static char *legacy_text(const vt_state *st, const vt_boot_state *b)
{
        json_object *o = json_object_new_object();
        char *out;

        json_object_object_add(o, "version", json_object_new_int(1));
        json_object_object_add(o, "phase", json_object_new_string(vt_phase_name(st->phase)));
        json_object_object_add(o, "txn", json_object_new_int64(st->txn));
        json_object_object_add(o, "head", json_object_new_string(VT_OID_TOSTR(&st->head)));
        if (st->has_good)
                json_object_object_add(o, "good", json_object_new_string(VT_OID_TOSTR(&st->good)));
        json_object_object_add(o, "pending_rebuild", json_object_new_boolean(b->pending_rebuild));
        if (b->trial != VT_TRIAL_NONE) {
                json_object *t = json_object_new_object();

                json_object_object_add(o, "trial", t);
                json_object_object_add(t, "state", json_object_new_string(vt_trial_name(b->trial)));
                json_object_object_add(t, "txn", json_object_new_int64(b->trial_txn));
                json_object_object_add(t, "tries", json_object_new_int64(b->trial_tries));
                if (b->trial_reason[0])
                        json_object_object_add(t, "reason",
                                               json_object_new_string(b->trial_reason));
        }
        if (st->phase == VT_PHASE_APPLYING) {
                json_object *intent = json_object_new_object();

                json_object_object_add(o, "intent", intent);
                json_object_object_add(intent, "txn", json_object_new_int64(st->intent_txn));
                json_object_object_add(intent, "kind", json_object_new_string(st->intent_kind));
                json_object_object_add(intent, "rebuild",
                                       json_object_new_boolean(b->intent_rebuild));
                json_object_object_add(intent, "before",
                                       json_object_new_string(VT_OID_TOSTR(&st->before)));
                json_object_object_add(intent, "target",
                                       json_object_new_string(VT_OID_TOSTR(&st->target)));
        }
        if (asprintf(&out, "%s\n",
                     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_SPACED)) < 0)
                out = NULL;
        json_object_put(o);
        return out;
}

static void roundtrip(const vt_state *st_in, const vt_boot_state *b_in)
{
        char *dir = make_tmpdir(), *want = legacy_text(st_in, b_in), *got;
        vt_root root = VT_ROOT_INIT;
        vt_state st = *st_in, back;
        vt_boot_state b;

        assert_non_null(want);
        assert_int_equal(vt_root_open(&root, dir), 0);
        /* written now: the same bytes as before */
        assert_int_equal(vt_boot_state_write(&root, &st, b_in), 0);
        got = slurp(dir, "var/lib/vfiotx/state");
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
        /* written before: reads back every field */
        write_file(dir, "var/lib/vfiotx/state", want);
        assert_int_equal(vt_boot_state_read(&root, &back, &b), 0);
        assert_true(back.exists);
        assert_int_equal(back.phase, st_in->phase);
        assert_int_equal(back.txn, st_in->txn);
        assert_true(vt_oid_equal(&back.head, &st_in->head));
        assert_int_equal(back.has_good, st_in->has_good);
        assert_int_equal(b.pending_rebuild, b_in->pending_rebuild);
        assert_int_equal(b.trial, b_in->trial);
        assert_int_equal(b.trial_txn, b_in->trial_txn);
        assert_int_equal(b.trial_tries, b_in->trial_tries);
        assert_string_equal(b.trial_reason, b_in->trial_reason);
        if (st_in->phase == VT_PHASE_APPLYING) {
                assert_int_equal(b.intent_rebuild, b_in->intent_rebuild);
                assert_int_equal(back.intent_txn, st_in->intent_txn);
                assert_string_equal(back.intent_kind, st_in->intent_kind);
                assert_true(vt_oid_equal(&back.before, &st_in->before));
                assert_true(vt_oid_equal(&back.target, &st_in->target));
        }
        /* and writes back byte for byte */
        assert_int_equal(vt_boot_state_write(&root, &back, &b), 0);
        got = slurp(dir, "var/lib/vfiotx/state");
        assert_string_equal(got, want);
        free(got);

        free(want);
        vt_root_close(&root);
        rm_rf(dir);
}

static vt_state base_state(void)
{
        vt_state st = {0};

        st.exists = true;
        st.txn = 7;
        assert_int_equal(vt_oid_fromstr(&st.head, "0123456789abcdef00112233445566778899aabb"), 0);
        return st;
}

static void test_idle_no_trial(void **state)
{
        vt_state st = base_state();
        vt_boot_state b = {0};

        (void)state;
        roundtrip(&st, &b);
        b.pending_rebuild = true;
        st.has_good = true;
        st.good = st.head;
        roundtrip(&st, &b);
}

static void test_trial(void **state)
{
        vt_state st = base_state();
        vt_boot_state b = {.trial = VT_TRIAL_ARMED, .trial_txn = 7, .trial_tries = 3};

        (void)state;
        roundtrip(&st, &b);
        b.trial = VT_TRIAL_MARKED_BAD;
        snprintf(b.trial_reason, sizeof(b.trial_reason), "health: \"vfio-pci\" not bound");
        roundtrip(&st, &b);
}

static void test_applying(void **state)
{
        vt_state st = base_state();
        vt_boot_state b = {.intent_rebuild = true, .trial = VT_TRIAL_ROLLED_BACK};

        (void)state;
        st.phase = VT_PHASE_APPLYING;
        st.intent_txn = 8;
        snprintf(st.intent_kind, sizeof(st.intent_kind), "apply");
        st.before = st.head;
        assert_int_equal(vt_oid_fromstr(&st.target, "ffffffffffffffffffffffffffffffffffff0000"), 0);
        roundtrip(&st, &b);
        b.intent_rebuild = false;
        roundtrip(&st, &b);
}

/* The journal keeps members it does not know for its user, and names no trial itself. */
static void test_journal_keeps_user_data(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_state st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        write_file(dir, "var/lib/vfiotx/state",
                   "{\"version\": 1, \"phase\": \"idle\", \"txn\": 2, \"head\": "
                   "\"0123456789abcdef00112233445566778899aabb\", \"x\": [1, 2], \"y\": true}\n");
        assert_int_equal(vt_state_read(&root, &st), 0);
        assert_string_equal(st.data, "{\"x\":[1,2],\"y\":true}");
        assert_string_equal(st.intent_data, "");
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_idle_no_trial),
            cmocka_unit_test(test_trial),
            cmocka_unit_test(test_applying),
            cmocka_unit_test(test_journal_keeps_user_data),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
