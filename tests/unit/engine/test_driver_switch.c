/* engine/driver_switch.c against a fake sysfs: a tree has no kernel behind it, so these tests
 * check what each function writes to which file and how it waits for the `driver` link (which
 * the test itself changes, from a child process, where a kernel would). */
#include "../helpers.h"

#include <errno.h>
#include <time.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "engine/driver_switch.h"

#define BOUND   "0000:00:02.0" /* on i915, with driver_override */
#define UNBOUND "0000:00:14.2" /* no driver, with driver_override */
#define OLD     "0000:00:16.0" /* no driver, no driver_override (a kernel before 3.16) */
#define MISSING "0000:09:00.0"

#define DEV(bdf) "devices/pci0000:00/" bdf
#define WAIT_MS  50

static void make_link(const char *dir, const char *rel, const char *target)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        assert_int_equal(symlink(target, path), 0);
}

static void add_driver(const char *sys, const char *drv)
{
        char rel[256];

        snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/bind", drv);
        write_file(sys, rel, "");
        snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/unbind", drv);
        write_file(sys, rel, "");
        snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/new_id", drv);
        write_file(sys, rel, "");
}

static void add_device(const char *sys, const char *bdf, bool override)
{
        char rel[256], target[256];

        snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/vendor", bdf);
        write_file(sys, rel, "0x8086\n");
        if (override) {
                snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/driver_override", bdf);
                write_file(sys, rel, "(null)\n");
        }
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s", bdf);
        snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
        make_link(sys, rel, target);
}

/* The driver link of `bdf` to `drv`, or none when NULL (as the kernel sets it). */
static void set_driver(const char *sys, const char *bdf, const char *drv)
{
        char path[4096], target[256];

        snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/driver", sys, bdf);
        unlink(path);
        if (!drv)
                return;
        snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
        assert_int_equal(symlink(target, path), 0);
}

static char *make_sys(void)
{
        char *sys = make_tmpdir();

        add_driver(sys, "i915");
        add_driver(sys, "vfio-pci");
        write_file(sys, "bus/pci/drivers_probe", "");
        write_file(sys, "bus/pci/rescan", "");
        add_device(sys, BOUND, true);
        add_device(sys, UNBOUND, true);
        add_device(sys, OLD, false);
        set_driver(sys, BOUND, "i915");
        return sys;
}

static long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The file's content; "" for an empty one. */
static void expect_file(const char *sys, const char *rel, const char *want)
{
        char *got = slurp(sys, rel);

        if (!got)
                fail_msg("%s is missing", rel);
        assert_string_equal(got, want);
        free(got);
}

static void expect_message(const char *part)
{
        const char *m = vt_error_message();

        if (!m || !strstr(m, part))
                fail_msg("message \"%s\" does not contain \"%s\"", m ? m : "(none)", part);
}

/* In a child, after `delay_ms`: point the driver link of `bdf` at `drv` (none when NULL), as a
 * kernel would once the bind/unbind is done. Returns the child's pid. */
static pid_t later_set_driver(const char *sys, const char *bdf, const char *drv, int delay_ms)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct timespec ts = {0, delay_ms * 1000000L};
                char path[4096], target[256];

                nanosleep(&ts, NULL);
                snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/driver", sys, bdf);
                unlink(path);
                if (drv) {
                        snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
                        if (symlink(target, path) < 0)
                                _exit(1);
                }
                _exit(0);
        }
        return pid;
}

static void reap(pid_t pid)
{
        int st;

        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_current(void **state)
{
        (void)state;
        char *sys = make_sys();
        char drv[64] = "junk";

        assert_int_equal(vt_driver_current(sys, BOUND, drv, sizeof(drv)), 0);
        assert_string_equal(drv, "i915");
        assert_int_equal(vt_driver_current(sys, UNBOUND, drv, sizeof(drv)), 0);
        assert_string_equal(drv, "");
        set_driver(sys, UNBOUND, "vfio-pci");
        assert_int_equal(vt_driver_current(sys, UNBOUND, drv, sizeof(drv)), 0);
        assert_string_equal(drv, "vfio-pci");

        assert_int_equal(vt_driver_current(sys, MISSING, drv, sizeof(drv)), -ENOENT);
        expect_message(MISSING);
        vt_error_clear();
        rm_rf(sys);
}

static void test_override(void **state)
{
        (void)state;
        char *sys = make_sys();

        /* The file is truncated: a longer old value leaves nothing behind. */
        write_file(sys, DEV(BOUND) "/driver_override", "a-much-longer-driver-name\n");
        assert_int_equal(vt_driver_override(sys, BOUND, "vfio-pci"), 0);
        expect_file(sys, DEV(BOUND) "/driver_override", "vfio-pci\n");
        assert_int_equal(vt_driver_override(sys, BOUND, NULL), 0);
        expect_file(sys, DEV(BOUND) "/driver_override", "\n");
        /* It changes no binding. */
        expect_file(sys, "bus/pci/drivers/i915/unbind", "");
        expect_file(sys, "bus/pci/drivers_probe", "");

        assert_int_equal(vt_driver_override(sys, OLD, "vfio-pci"), -EOPNOTSUPP);
        expect_message(OLD);
        expect_message("driver_override");
        assert_non_null(vt_error_hint_text());
        assert_non_null(strstr(vt_error_hint_text(), "3.16"));
        vt_error_clear();
        rm_rf(sys);
}

static void test_unbind_unbound(void **state)
{
        (void)state;
        char *sys = make_sys();
        long t0 = now_ms();

        assert_int_equal(vt_driver_unbind(sys, UNBOUND, 5000), 0);
        assert_true(now_ms() - t0 < 1000);
        expect_file(sys, "bus/pci/drivers/i915/unbind", "");
        expect_file(sys, "bus/pci/drivers/vfio-pci/unbind", "");

        assert_int_equal(vt_driver_unbind(sys, MISSING, WAIT_MS), -ENOENT);
        expect_message(MISSING);
        vt_error_clear();
        rm_rf(sys);
}

/* The unbind is written to the driver's unbind file; a link that does not change is a
 * time-out after timeout_ms, naming the device and the driver. */
static void test_unbind_timeout(void **state)
{
        (void)state;
        char *sys = make_sys();
        char drv[64];
        long t0 = now_ms(), dt;

        assert_int_equal(vt_driver_unbind(sys, BOUND, WAIT_MS), -ETIMEDOUT);
        dt = now_ms() - t0;
        assert_true(dt >= WAIT_MS - 5);
        assert_true(dt < 2000);
        expect_file(sys, "bus/pci/drivers/i915/unbind", BOUND "\n");
        expect_file(sys, "bus/pci/drivers/vfio-pci/unbind", "");
        expect_message(BOUND " is still on i915");
        vt_error_clear();
        assert_int_equal(vt_driver_current(sys, BOUND, drv, sizeof(drv)), 0);
        assert_string_equal(drv, "i915");
        rm_rf(sys);
}

/* The "kernel" unbinds 30 ms later: the wait sees it and returns 0. */
static void test_unbind_waits(void **state)
{
        (void)state;
        char *sys = make_sys();
        pid_t pid = later_set_driver(sys, BOUND, NULL, 30);

        assert_int_equal(vt_driver_unbind(sys, BOUND, 2000), 0);
        reap(pid);
        expect_file(sys, "bus/pci/drivers/i915/unbind", BOUND "\n");
        rm_rf(sys);
}

/* A driver directory without an unbind file: the open fails, naming the file. */
static void test_unbind_no_file(void **state)
{
        (void)state;
        char *sys = make_sys(), path[4096];

        snprintf(path, sizeof(path), "%s/bus/pci/drivers/i915/unbind", sys);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(vt_driver_unbind(sys, BOUND, WAIT_MS), -ENOENT);
        expect_message(path);
        vt_error_clear();
        rm_rf(sys);
}

static void test_probe(void **state)
{
        (void)state;
        char *sys = make_sys();
        long t0;

        /* Already on the expected driver: written, and no wait. */
        t0 = now_ms();
        assert_int_equal(vt_driver_probe(sys, BOUND, "i915", 5000), 0);
        assert_true(now_ms() - t0 < 1000);
        expect_file(sys, "bus/pci/drivers_probe", BOUND "\n");
        /* Any driver will do. */
        assert_int_equal(vt_driver_probe(sys, BOUND, NULL, 5000), 0);

        /* Still on i915 when vfio-pci was expected. */
        t0 = now_ms();
        assert_int_equal(vt_driver_probe(sys, BOUND, "vfio-pci", WAIT_MS), -ETIMEDOUT);
        assert_true(now_ms() - t0 >= WAIT_MS - 5);
        expect_message(BOUND " is still on i915, not on vfio-pci");
        vt_error_clear();

        /* Nothing bound, vfio-pci expected. */
        assert_int_equal(vt_driver_probe(sys, UNBOUND, "vfio-pci", WAIT_MS), -ETIMEDOUT);
        expect_file(sys, "bus/pci/drivers_probe", UNBOUND "\n");
        expect_message(UNBOUND " is bound to no driver, not on vfio-pci");
        vt_error_clear();

        /* Nothing bound, any driver: no driver took it. */
        assert_int_equal(vt_driver_probe(sys, UNBOUND, NULL, WAIT_MS), -ENODEV);
        expect_message(UNBOUND);
        vt_error_clear();

        assert_int_equal(vt_driver_probe(sys, MISSING, NULL, WAIT_MS), -ENOENT);
        expect_message(MISSING);
        vt_error_clear();
        rm_rf(sys);
}

static void test_probe_waits(void **state)
{
        (void)state;
        char *sys = make_sys();
        pid_t pid = later_set_driver(sys, UNBOUND, "vfio-pci", 30);

        assert_int_equal(vt_driver_probe(sys, UNBOUND, "vfio-pci", 2000), 0);
        reap(pid);
        expect_file(sys, "bus/pci/drivers_probe", UNBOUND "\n");

        /* A probe that binds i915 first and vfio-pci... never: the wait is for vfio-pci. */
        set_driver(sys, UNBOUND, NULL);
        pid = later_set_driver(sys, UNBOUND, "i915", 10);
        assert_int_equal(vt_driver_probe(sys, UNBOUND, "vfio-pci", 100), -ETIMEDOUT);
        reap(pid);
        expect_message("still on i915");
        vt_error_clear();
        rm_rf(sys);
}

static void test_bind(void **state)
{
        (void)state;
        char *sys = make_sys();
        char path[4096];
        pid_t pid;

        assert_int_equal(vt_driver_bind(sys, BOUND, "i915", 5000), 0);
        expect_file(sys, "bus/pci/drivers/i915/bind", BOUND "\n");
        expect_file(sys, "bus/pci/drivers/vfio-pci/bind", "");

        assert_int_equal(vt_driver_bind(sys, UNBOUND, "i915", WAIT_MS), -ETIMEDOUT);
        expect_file(sys, "bus/pci/drivers/i915/bind", UNBOUND "\n");
        expect_message(UNBOUND " is not on i915");
        vt_error_clear();

        pid = later_set_driver(sys, UNBOUND, "vfio-pci", 30);
        assert_int_equal(vt_driver_bind(sys, UNBOUND, "vfio-pci", 2000), 0);
        reap(pid);
        expect_file(sys, "bus/pci/drivers/vfio-pci/bind", UNBOUND "\n");

        /* A driver that is not loaded: no bind file to open. */
        snprintf(path, sizeof(path), "%s/bus/pci/drivers/nouveau/bind", sys);
        assert_int_equal(vt_driver_bind(sys, BOUND, "nouveau", WAIT_MS), -ENOENT);
        expect_message(path);
        vt_error_clear();
        rm_rf(sys);
}

static void test_wait_loaded(void **state)
{
        (void)state;
        char *sys = make_sys();
        long t0;
        pid_t pid;

        assert_int_equal(vt_driver_wait_loaded(sys, "vfio-pci", 5000), 0);

        t0 = now_ms();
        assert_int_equal(vt_driver_wait_loaded(sys, "nouveau", WAIT_MS), -ENOENT);
        assert_true(now_ms() - t0 >= WAIT_MS - 5);
        expect_message("nouveau");
        vt_error_clear();

        /* modprobe's driver directory appears 30 ms later. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct timespec ts = {0, 30 * 1000000L};
                char path[4096];

                nanosleep(&ts, NULL);
                snprintf(path, sizeof(path), "%s/bus/pci/drivers/nouveau", sys);
                _exit(mkdir(path, 0755) == 0 ? 0 : 1);
        }
        assert_int_equal(vt_driver_wait_loaded(sys, "nouveau", 2000), 0);
        reap(pid);
        rm_rf(sys);
}

/* Each write goes through the failpoint first: a failed one writes nothing and waits for
 * nothing. A missing drivers_probe is an error naming it (only ENODEV and EINVAL from the
 * write itself are a probe that found no driver). */
static void test_write_fails(void **state)
{
        (void)state;
        char *sys = make_sys(), path[4096];

        setenv("VFIOTX_FAILPOINT_FAIL", "1", 1);
        vt_failpoint_reset();
        assert_int_equal(vt_driver_override(sys, BOUND, "vfio-pci"), -EIO);
        expect_message("driver_override");
        vt_failpoint_reset();
        assert_int_equal(vt_driver_unbind(sys, BOUND, 5000), -EIO);
        expect_message("bus/pci/drivers/i915/unbind");
        vt_failpoint_reset();
        assert_int_equal(vt_driver_probe(sys, BOUND, "i915", 5000), -EIO);
        expect_message("bus/pci/drivers_probe");
        vt_failpoint_reset();
        assert_int_equal(vt_driver_bind(sys, BOUND, "i915", 5000), -EIO);
        expect_message("bus/pci/drivers/i915/bind");
        unsetenv("VFIOTX_FAILPOINT_FAIL");
        vt_failpoint_reset();
        vt_error_clear();
        expect_file(sys, DEV(BOUND) "/driver_override", "(null)\n");
        expect_file(sys, "bus/pci/drivers/i915/unbind", "");
        expect_file(sys, "bus/pci/drivers_probe", "");
        expect_file(sys, "bus/pci/drivers/i915/bind", "");

        snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", sys);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(vt_driver_probe(sys, BOUND, "i915", 5000), -ENOENT);
        expect_message(path);
        vt_error_clear();
        rm_rf(sys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_current),        cmocka_unit_test(test_override),
            cmocka_unit_test(test_unbind_unbound), cmocka_unit_test(test_unbind_timeout),
            cmocka_unit_test(test_unbind_waits),   cmocka_unit_test(test_unbind_no_file),
            cmocka_unit_test(test_probe),          cmocka_unit_test(test_probe_waits),
            cmocka_unit_test(test_bind),           cmocka_unit_test(test_wait_loaded),
            cmocka_unit_test(test_write_fails),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
