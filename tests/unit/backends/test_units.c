/* backends/units.c: a unit's state in a root as systemctl --root reads it; where systemctl is
 * installed, its answer on the same root is the oracle. */
#include "../helpers.h"

#include "backends/units.h"
#include "common/error.h"

static vt_unit_state state_of(const char *dir, const char *name)
{
        vt_root root = VT_ROOT_INIT;
        vt_unit_state st;

        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_unit_state_probe(&root, name, &st), 0);
        vt_root_close(&root);
        return st;
}

/* systemctl --root=DIR is-enabled NAME, when systemctl is installed ("" otherwise). */
static char *systemctl_says(const char *dir, const char *name)
{
        char opt[4200];
        const char *argv[] = {"systemctl", opt, "is-enabled", name, NULL};
        int status;
        char *out, *nl;

        if (!have_tool("systemctl"))
                return strdup("");
        snprintf(opt, sizeof(opt), "--root=%s", dir);
        out = run_capture(argv, &status);
        if ((nl = strchr(out, '\n')))
                *nl = '\0';
        return out;
}

static void expect(const char *dir, const char *name, vt_unit_state want, const char *systemd)
{
        char *said = systemctl_says(dir, name);

        assert_int_equal(state_of(dir, name), want);
        if (*said)
                assert_string_equal(said, systemd);
        free(said);
}

static void test_states(void **state)
{
        char *dir = make_tmpdir(), path[4200];
        const char *unit = "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"
                           "[Install]\nWantedBy=multi-user.target\n";

        (void)state;
        assert_int_equal(state_of(dir, "x.service"), VT_UNIT_MISSING);
        assert_string_equal(vt_unit_state_name(VT_UNIT_MISSING), "not installed");

        write_file(dir, "lib/systemd/system/x.service", unit);
        expect(dir, "x.service", VT_UNIT_DISABLED, "disabled");

        /* what systemctl enable writes: an absolute link, resolved inside the root */
        write_file(dir, "etc/systemd/system/multi-user.target.wants/.keep", "");
        snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/x.service",
                 dir);
        assert_int_equal(symlink("/lib/systemd/system/x.service", path), 0);
        expect(dir, "x.service", VT_UNIT_ENABLED, "enabled");

        /* a mask wins over the links */
        snprintf(path, sizeof(path), "%s/etc/systemd/system/x.service", dir);
        assert_int_equal(symlink("/dev/null", path), 0);
        expect(dir, "x.service", VT_UNIT_MASKED, "masked");
        unlink(path);

        /* a unit a package ships enabled, with its link under /usr/lib */
        write_file(dir, "usr/lib/systemd/system/y.timer", "[Timer]\nOnBootSec=1\n");
        write_file(dir, "usr/lib/systemd/system/timers.target.wants/.keep", "");
        snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/timers.target.wants/y.timer", dir);
        assert_int_equal(symlink("../y.timer", path), 0);
        assert_int_equal(state_of(dir, "y.timer"), VT_UNIT_ENABLED);
        rm_rf(dir);
}

/* A directory that exists but cannot be read is an error with a message, not "missing". */
static void test_unreadable(void **state)
{
        char *dir = make_tmpdir(), path[4200];
        vt_root root = VT_ROOT_INIT;
        vt_unit_state st;

        (void)state;
        /* A unit directory that is a link out of the root is refused (root or not). */
        write_file(dir, "etc/systemd/.keep", "");
        snprintf(path, sizeof(path), "%s/etc/systemd/system", dir);
        assert_int_equal(symlink("../../../../../../../../../etc/systemd/system", path), 0);
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_true(vt_unit_state_probe(&root, "x.service", &st) < 0);
        assert_non_null(vt_error_message());
        vt_error_clear();
        vt_root_close(&root);
        unlink(path);
        if (geteuid() == 0) { /* root reads every directory */
                rm_rf(dir);
                skip();
        }
        write_file(dir, "etc/systemd/system/.keep", "");
        snprintf(path, sizeof(path), "%s/etc/systemd/system", dir);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_true(vt_unit_state_probe(&root, "x.service", &st) < 0);
        assert_non_null(vt_error_message());
        vt_error_clear();
        vt_root_close(&root);
        chmod(path, 0755);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_states),
            cmocka_unit_test(test_unreadable),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
