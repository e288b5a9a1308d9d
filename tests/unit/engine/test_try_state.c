/* engine/try_state.c: <root>/var/lib/vfiotx/try.json written and read back, and what a damaged
 * one reads as. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "engine/try_state.h"
#include "fs/root.h"

#define STATE_REL "var/lib/vfiotx/try.json"

static void open_root(vt_root *root, const char *dir)
{
        *root = (vt_root)VT_ROOT_INIT;
        assert_int_equal(vt_root_open(root, dir), 0);
}

static void expect_message(const char *part)
{
        const char *m = vt_error_message();

        if (!m || !strstr(m, part))
                fail_msg("message \"%s\" does not contain \"%s\"", m ? m : "(none)", part);
}

static void test_phase_names(void **state)
{
        (void)state;
        assert_string_equal(vt_try_phase_name(VT_TRY_MOVING), "moving");
        assert_string_equal(vt_try_phase_name(VT_TRY_HELD), "held");
        assert_string_equal(vt_try_phase_name(VT_TRY_REVERTING), "reverting");
        assert_string_equal(vt_try_phase_name((vt_try_phase)7), "unknown");
}

static void test_round_trip(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), *text;
        vt_root root;
        vt_try_device devs[] = {
            {.bdf = "0000:01:00.0", .original = "amdgpu", .named = true},
            {.bdf = "0000:01:00.1", .original = "snd_hda_intel", .named = false},
            {.bdf = "0000:00:01.0", .original = "", .named = false},
            {.bdf = "0000:02:00.0", .original = "vfio-pci", .named = true},
        };
        vt_try_state st = {
            .id = "1764790000-4242",
            .phase = VT_TRY_REVERTING,
            .started = 1764790000,
            .deadline = 1764790120,
            .boot_id = "0f3c8a2e-5b1d-4c7e-9a6f-2d8b4e1c7a90",
            .pid = 4242,
            .watcher = "systemd:vfiotx-try-1764790000-4242.timer",
            .forced = true,
            .txn = 17,
            .reason = "the check of /dev/vfio/5 failed: \"no such file\"",
            .devices = devs,
            .n = 4,
        };
        vt_try_state got;

        open_root(&root, dir);
        /* /var/lib/vfiotx does not exist yet: the write makes it. */
        assert_int_equal(vt_try_state_write(&root, &st), 0);
        text = slurp(dir, STATE_REL);
        assert_non_null(text);
        assert_non_null(strstr(text, "\"reverting\""));
        free(text);

        assert_int_equal(vt_try_state_read(&root, &got), 0);
        assert_string_equal(got.id, st.id);
        assert_int_equal(got.phase, VT_TRY_REVERTING);
        assert_int_equal(got.started, 1764790000);
        assert_int_equal(got.deadline, 1764790120);
        assert_string_equal(got.boot_id, st.boot_id);
        assert_int_equal(got.pid, 4242);
        assert_string_equal(got.watcher, st.watcher);
        assert_true(got.forced);
        assert_int_equal(got.txn, 17);
        assert_string_equal(got.reason, st.reason);
        assert_int_equal(got.n, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(got.devices[i].bdf, devs[i].bdf);
                assert_string_equal(got.devices[i].original, devs[i].original);
                assert_int_equal(got.devices[i].named, devs[i].named);
        }
        vt_try_state_free(&got);
        assert_null(got.devices);
        assert_int_equal(got.n, 0);

        /* Rewritten in another phase, with the opposite flags and fewer devices. */
        st.phase = VT_TRY_HELD;
        st.forced = false;
        st.pid = 0;
        st.txn = 0;
        st.watcher[0] = '\0';
        st.reason[0] = '\0';
        devs[0].named = false;
        devs[1].named = true;
        st.n = 2;
        assert_int_equal(vt_try_state_write(&root, &st), 0);
        assert_int_equal(vt_try_state_read(&root, &got), 0);
        assert_int_equal(got.phase, VT_TRY_HELD);
        assert_false(got.forced);
        assert_int_equal(got.pid, 0);
        assert_int_equal(got.txn, 0);
        assert_string_equal(got.watcher, "");
        assert_string_equal(got.reason, "");
        assert_int_equal(got.n, 2);
        assert_false(got.devices[0].named);
        assert_true(got.devices[1].named);
        assert_string_equal(got.devices[1].original, "snd_hda_intel");
        vt_try_state_free(&got);

        st.phase = VT_TRY_MOVING;
        st.n = 0;
        assert_int_equal(vt_try_state_write(&root, &st), 0);
        assert_int_equal(vt_try_state_read(&root, &got), 0);
        assert_int_equal(got.phase, VT_TRY_MOVING);
        assert_int_equal(got.n, 0);
        vt_try_state_free(&got);

        /* Nothing is left beside it (the write goes aside, then renames). */
        {
                char path[4096];

                snprintf(path, sizeof(path), "%s/var/lib/vfiotx", dir);
                assert_int_equal(count_entries(path), 1);
        }
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_absent(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        vt_root root;
        vt_try_state got;

        open_root(&root, dir);
        vt_error_clear();
        assert_int_equal(vt_try_state_read(&root, &got), -ENOENT);
        assert_null(vt_error_message());
        assert_null(got.devices);

        /* The directory without the file. */
        write_file(dir, "var/lib/vfiotx/journal/.keep", "");
        assert_int_equal(vt_try_state_read(&root, &got), -ENOENT);
        assert_null(vt_error_message());
        vt_root_close(&root);
        rm_rf(dir);
}

/* Write `text` as the state and expect -EBADMSG with a message containing `part`, and the
 * file's name. */
static void expect_bad(vt_root *root, const char *dir, const char *text, const char *part)
{
        vt_try_state got;

        write_file(dir, STATE_REL, text);
        vt_error_clear();
        if (vt_try_state_read(root, &got) != -EBADMSG)
                fail_msg("not -EBADMSG for: %s", text);
        expect_message(VT_TRY_STATE_PATH);
        expect_message(part);
        assert_null(got.devices);
        assert_int_equal(got.n, 0);
        vt_error_clear();
}

#define HEAD "{\"id\": \"1-2\", \"phase\": \"held\", \"started\": 10, \"deadline\": 130, "

static void test_damaged(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        vt_root root;
        vt_try_state got;

        open_root(&root, dir);
        /* The good document the damaged ones differ from. */
        write_file(dir, STATE_REL,
                   HEAD "\"devices\": [{\"bdf\": \"0000:01:00.0\", \"original\": \"\"}]}");
        assert_int_equal(vt_try_state_read(&root, &got), 0);
        assert_int_equal(got.n, 1);
        assert_false(got.devices[0].named);
        assert_string_equal(got.boot_id, "");
        vt_try_state_free(&got);

        expect_bad(&root, dir, "garbage\n", "is not a try's state");
        expect_bad(&root, dir, "", "is not a try's state");
        expect_bad(&root, dir, "[1, 2]", "is not a try's state");
        expect_bad(&root, dir, "{\"id\": \"1-2\", \"phase\": \"held\"", "is not a try's state");
        /* No devices, or no deadline. */
        expect_bad(&root, dir, "{\"id\": \"1-2\", \"phase\": \"held\", \"started\": 10}",
                   "is not a try's state");
        expect_bad(&root, dir,
                   "{\"id\": \"1-2\", \"phase\": \"held\", \"started\": 10, \"devices\": []}",
                   "is not a try's state");
        /* Devices that are not a list. */
        expect_bad(&root, dir, HEAD "\"devices\": {\"bdf\": \"0000:01:00.0\"}}",
                   "is not a try's state");
        expect_bad(&root, dir, HEAD "\"devices\": \"0000:01:00.0\"}", "is not a try's state");
        /* A time that is not an integer. */
        expect_bad(&root, dir,
                   "{\"id\": \"1-2\", \"phase\": \"held\", \"started\": \"10\", \"deadline\": 130, "
                   "\"devices\": []}",
                   "is not a try's state");

        /* The second device has no bdf. */
        expect_bad(&root, dir,
                   HEAD "\"devices\": [{\"bdf\": \"0000:01:00.0\", \"original\": \"amdgpu\"}, "
                        "{\"original\": \"snd_hda_intel\"}]}",
                   "device 2 is not a device");
        /* A short bdf, no original, not an object. */
        expect_bad(&root, dir, HEAD "\"devices\": [{\"bdf\": \"01:00.0\", \"original\": \"\"}]}",
                   "device 1 is not a device");
        expect_bad(&root, dir, HEAD "\"devices\": [{\"bdf\": \"0000:01:00.0\"}]}",
                   "device 1 is not a device");
        expect_bad(&root, dir, HEAD "\"devices\": [\"0000:01:00.0\"]}", "device 1 is not a device");
        vt_root_close(&root);
        rm_rf(dir);
}

static void test_remove(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        vt_root root;
        vt_try_state st = {.id = "5-6", .phase = VT_TRY_HELD}, got;
        char *left;

        open_root(&root, dir);
        /* Neither the file nor its directory. */
        assert_int_equal(vt_try_state_remove(&root), 0);
        write_file(dir, "var/lib/vfiotx/.keep", "");
        assert_int_equal(vt_try_state_remove(&root), 0);

        assert_int_equal(vt_try_state_write(&root, &st), 0);
        assert_int_equal(vt_try_state_read(&root, &got), 0);
        vt_try_state_free(&got);
        assert_int_equal(vt_try_state_remove(&root), 0);
        left = slurp(dir, STATE_REL);
        assert_null(left);
        assert_int_equal(vt_try_state_read(&root, &got), -ENOENT);
        assert_int_equal(vt_try_state_remove(&root), 0);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_phase_names), cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_absent),      cmocka_unit_test(test_damaged),
            cmocka_unit_test(test_remove),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
