/* engine/systemctl.c: systemctl is run as an argv from PATH, its output handed back. */
#include "../helpers.h"

#include <errno.h>

#include "common/buf.h"
#include "engine/systemctl.h"

/* systemctl is run as an argv from PATH: a fake one shows what it was given. */
static void test_systemctl(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), *old = strdup(getenv("PATH")), path[8192];
        vt_buf out = VT_BUF_INIT;

        write_file(dir, "systemctl", "#!/bin/sh\necho \"x.service loaded failed failed $*\"\n");
        snprintf(path, sizeof(path), "%s/systemctl", dir);
        assert_int_equal(chmod(path, 0755), 0);
        snprintf(path, sizeof(path), "%s:%s", dir, old);
        setenv("PATH", path, 1);
        assert_int_equal(vt_systemctl_failed(&out), 0);
        assert_string_equal(out.ptr, "x.service loaded failed failed --failed --plain --no-legend "
                                     "--no-pager\n");
        write_file(dir, "systemctl", "#!/bin/sh\nexit 3\n");
        assert_true(vt_systemctl_failed(&out) < 0);
        setenv("PATH", old, 1);
        vt_buf_free(&out);
        free(old);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_systemctl),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
