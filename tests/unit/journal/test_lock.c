/* journal/lock.c: one writer at a time per root. flock() conflicts between two open file
 * descriptions even in one process, so a second take here is a second vfiotx. */
#include "../helpers.h"

#include <errno.h>
#include <unistd.h>

#include "common/error.h"
#include "journal/lock.h"
#include "journal/root.h"

static long waited_for = -1;

static void on_wait(long pid)
{
        waited_for = pid;
}

static void test_one_holder(void **state)
{
        (void)state;
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        int a = -1, b = -1;
        char pid[32], *held;

        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_lock_take(&root, 0, NULL, &a), 0);
        held = slurp(dir, "var/lib/vfiotx/lock");
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        assert_non_null(strstr(held, pid)); /* the holder's pid, for the message */
        free(held);

        /* Busy, no wait: -EBUSY naming the holder; the callback is not called. */
        waited_for = -1;
        assert_int_equal(vt_lock_take(&root, 0, on_wait, &b), -EBUSY);
        assert_non_null(strstr(vt_error_message(), pid));
        /* Busy with a wait: the callback hears the holder once, then -EBUSY after the wait. */
        assert_int_equal(vt_lock_take(&root, 200, on_wait, &b), -EBUSY);
        assert_int_equal(waited_for, (long)getpid());

        /* Released: the next one takes it. */
        vt_lock_release(a);
        assert_int_equal(vt_lock_take(&root, 0, NULL, &b), 0);
        vt_lock_release(b);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_one_holder),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
