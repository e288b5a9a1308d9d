/* journal/state.c: the state file round trips every field, keeps the members it does not know
 * (the engine's own data, written by a newer vfiotx) in their place, reads a missing file as
 * the empty state and a damaged one as -EBADMSG, and refuses data it cannot hold. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "fs/root.h"
#include "journal/state.h"

static void oid_fill(vt_oid *o, unsigned char byte)
{
        memset(o->id, byte, sizeof(o->id));
}

/* Every field written is read back, the intent with its own data included. */
static void test_round_trip(void **state)
{
        char *dir = make_tmpdir(), *text;
        vt_root root = VT_ROOT_INIT;
        vt_state st = {0}, back;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        st.phase = VT_PHASE_APPLYING;
        st.txn = 41;
        oid_fill(&st.head, 0x11);
        oid_fill(&st.good, 0x22);
        st.has_good = true;
        st.intent_txn = 42;
        snprintf(st.intent_kind, sizeof(st.intent_kind), "rollback");
        oid_fill(&st.before, 0x33);
        oid_fill(&st.target, 0x44);
        snprintf(st.data, sizeof(st.data), "{\"trial\":\"armed\",\"tries\":3}");
        snprintf(st.intent_data, sizeof(st.intent_data), "{\"rebuild\":true}");
        assert_int_equal(vt_state_write(&root, &st), 0);

        assert_int_equal(vt_state_read(&root, &back), 0);
        assert_true(back.exists);
        assert_int_equal(back.phase, VT_PHASE_APPLYING);
        assert_int_equal(back.txn, 41);
        assert_true(vt_oid_equal(&back.head, &st.head));
        assert_true(back.has_good);
        assert_true(vt_oid_equal(&back.good, &st.good));
        assert_int_equal(back.intent_txn, 42);
        assert_string_equal(back.intent_kind, "rollback");
        assert_true(vt_oid_equal(&back.before, &st.before));
        assert_true(vt_oid_equal(&back.target, &st.target));
        assert_string_equal(back.data, "{\"trial\":\"armed\",\"tries\":3}");
        assert_string_equal(back.intent_data, "{\"rebuild\":true}");

        /* The file is the documented JSON: the phase by name, private to root. */
        text = slurp(dir, "var/lib/vfiotx/state");
        assert_non_null(strstr(text, "\"phase\": \"applying\""));
        assert_non_null(strstr(text, "\"kind\": \"rollback\""));
        free(text);

        /* Idle: no intent is written, and none is read back. */
        st.phase = VT_PHASE_IDLE;
        st.has_good = false;
        st.intent_data[0] = '\0';
        assert_int_equal(vt_state_write(&root, &st), 0);
        assert_int_equal(vt_state_read(&root, &back), 0);
        assert_int_equal(back.phase, VT_PHASE_IDLE);
        assert_false(back.has_good);
        assert_int_equal(back.intent_txn, 0);
        assert_string_equal(back.intent_kind, "");
        text = slurp(dir, "var/lib/vfiotx/state");
        assert_null(strstr(text, "intent"));
        assert_null(strstr(text, "\"good\""));
        free(text);

        vt_root_close(&root);
        rm_rf(dir);
}

/* Members the journal does not know (another vfiotx's, or the engine's) survive a read and a
 * write: the state file is shared, and one writer must not drop another's fields. */
static void test_unknown_members_kept(void **state)
{
        char *dir = make_tmpdir(), *text;
        vt_root root = VT_ROOT_INIT;
        vt_state st;

        (void)state;
        write_file(dir, "var/lib/vfiotx/state",
                   "{\"version\":1,\"phase\":\"applying\",\"txn\":7,"
                   "\"head\":\""
                   "1111111111111111111111111111111111111111"
                   "\","
                   "\"future\":{\"a\":[1,2]},\"trial\":\"trying\","
                   "\"intent\":{\"txn\":8,\"kind\":\"apply\",\"rebuild\":true,"
                   "\"before\":\""
                   "2222222222222222222222222222222222222222"
                   "\","
                   "\"target\":\""
                   "3333333333333333333333333333333333333333"
                   "\"}}\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_state_read(&root, &st), 0);
        assert_int_equal(st.txn, 7);
        assert_int_equal(st.intent_txn, 8);
        assert_string_equal(st.intent_kind, "apply");
        assert_string_equal(st.data, "{\"future\":{\"a\":[1,2]},\"trial\":\"trying\"}");
        assert_string_equal(st.intent_data, "{\"rebuild\":true}");

        /* Written back unchanged: the unknown members are still there, in their order. */
        assert_int_equal(vt_state_write(&root, &st), 0);
        text = slurp(dir, "var/lib/vfiotx/state");
        assert_non_null(strstr(text, "\"future\""));
        assert_true(strstr(text, "\"future\"") < strstr(text, "\"trial\""));
        assert_true(strstr(text, "\"trial\"") < strstr(text, "\"intent\""));
        assert_true(strstr(text, "\"rebuild\"") > strstr(text, "\"kind\""));
        free(text);
        assert_int_equal(vt_state_read(&root, &st), 0);
        assert_string_equal(st.data, "{\"future\":{\"a\":[1,2]},\"trial\":\"trying\"}");
        assert_string_equal(st.intent_data, "{\"rebuild\":true}");

        vt_root_close(&root);
        rm_rf(dir);
}

/* No file: the never-used state, not an error. */
static void test_missing(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_state st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        memset(&st, 0xff, sizeof(st));
        assert_int_equal(vt_state_read(&root, &st), 0);
        assert_false(st.exists);
        assert_int_equal(st.phase, VT_PHASE_IDLE);
        assert_int_equal(st.txn, 0);
        assert_true(vt_oid_is_zero(&st.head));
        vt_root_close(&root);
        rm_rf(dir);
}

/* A damaged file is -EBADMSG with a hint (never read as an empty state, which would lose the
 * transaction count and the good snapshot). */
static void test_damaged(void **state)
{
        static const char *const bad[] = {
            "{\"version\":1,\"phase\":\"idle\",\"txn\":3", /* cut short */
            "[1,2,3]\n",                                   /* not an object */
            "",                                            /* empty */
            "{\"phase\":\"idle\",\"head\":\"xyz\"}\n",     /* a head that is no object id */
            "{\"phase\":\"applying\",\"txn\":3}\n",        /* applying without an intent */
            "{\"phase\":\"applying\",\"intent\":{\"kind\":\"apply\",\"before\":\"12\"}}\n",
            /* transaction numbers that are none (issue 14, 8): the next one would overflow, or
             * the log would count backwards */
            "{\"phase\":\"idle\",\"txn\":99999999999999999999999}\n",
            "{\"phase\":\"idle\",\"txn\":9223372036854775807}\n",
            "{\"phase\":\"idle\",\"txn\":1000000000000}\n",
            "{\"phase\":\"idle\",\"txn\":-5}\n",
            "{\"phase\":\"idle\",\"txn\":\"7\"}\n",
            "{\"phase\":\"idle\",\"txn\":2.5}\n",
            "{\"phase\":\"applying\",\"txn\":3,\"intent\":{\"txn\":0,\"kind\":\"apply\"}}\n",
            "{\"phase\":\"applying\",\"txn\":3,\"intent\":{\"txn\":-4,\"kind\":\"apply\"}}\n",
        };
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_state st;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_file(dir, "var/lib/vfiotx/state", bad[i]);
                vt_error_clear();
                assert_int_equal(vt_state_read(&root, &st), -EBADMSG);
                assert_non_null(vt_error_message());
        }
        /* A bad number says which member and what to do. */
        write_file(dir, "var/lib/vfiotx/state", "{\"phase\":\"idle\",\"txn\":-5}\n");
        assert_int_equal(vt_state_read(&root, &st), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "\"txn\" is -5, not a transaction number"));
        assert_non_null(strstr(vt_error_hint_text(), "vfiotx rollback"));
        /* The largest number it takes is read as it is. */
        write_file(dir, "var/lib/vfiotx/state", "{\"phase\":\"idle\",\"txn\":999999999999}\n");
        assert_int_equal(vt_state_read(&root, &st), 0);
        assert_true(st.txn == VT_TXN_MAX);
        vt_root_close(&root);
        rm_rf(dir);
}

/* Data that does not fit is -E2BIG on reading (not cut), and on writing nothing is replaced. */
static void test_too_big(void **state)
{
        char *dir = make_tmpdir(), *big, *text;
        vt_root root = VT_ROOT_INIT;
        vt_state st = {0};
        size_t n = VT_STATE_DATA_MAX + 16;

        (void)state;
        big = malloc(n + 64);
        assert_non_null(big);
        strcpy(big, "{\"phase\":\"idle\",\"x\":\"");
        memset(big + strlen(big), 'a', n);
        strcpy(big + strlen("{\"phase\":\"idle\",\"x\":\"") + n, "\"}");
        write_file(dir, "var/lib/vfiotx/state", big);
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_state_read(&root, &st), -E2BIG);

        /* Intent data a non-object: refused before the file is touched. */
        st = (vt_state){.phase = VT_PHASE_APPLYING, .txn = 1};
        snprintf(st.intent_data, sizeof(st.intent_data), "[1]");
        assert_true(vt_state_write(&root, &st) < 0);
        text = slurp(dir, "var/lib/vfiotx/state");
        assert_string_equal(text, big);
        free(text);
        free(big);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip), cmocka_unit_test(test_unknown_members_kept),
            cmocka_unit_test(test_missing),    cmocka_unit_test(test_damaged),
            cmocka_unit_test(test_too_big),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
