/* engine/runner: output capture, exit codes, missing tools, time limits, the chroot. */
#include "../helpers.h"

#include <errno.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/runner.h"

static int run_plain(const char *const *argv)
{
        pid_t pid = fork();
        int st = 0;

        if (pid == 0) {
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        assert_true(pid > 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct lines {
        vt_buf all;
        int n;
};

static void on_line(const char *line, size_t len, void *userdata)
{
        struct lines *l = userdata;

        assert_int_equal(strlen(line), len);
        vt_buf_printf(&l->all, "[%s]", line);
        l->n++;
}

static void test_output_and_lines(void **state)
{
        const char *argv[] = {"sh", "-c", "echo one; echo two >&2; printf last", NULL};
        struct lines l = {VT_BUF_INIT, 0};
        vt_run_opts o = {.on_line = on_line, .userdata = &l, .timeout_ms = 10000};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_int_equal(res.term_sig, 0);
        assert_false(res.timed_out);
        assert_string_equal(res.output.ptr, "one\ntwo\nlast");
        assert_string_equal(l.all.ptr, "[one][two][last]");
        assert_int_equal(l.n, 3);
        vt_run_result_free(&res);
        vt_buf_free(&l.all);
}

/* A tool that prints nothing (kernel-install add, normally) with a line callback (issue 14,
 * 17): no line, no output, and no memmove from the empty buffer (UBSan aborts on it). */
static void test_silent_tool(void **state)
{
        const char *argv[] = {"true", NULL};
        struct lines l = {VT_BUF_INIT, 0};
        vt_run_opts o = {.on_line = on_line, .userdata = &l, .timeout_ms = 10000};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_int_equal(res.output.len, 0);
        assert_int_equal(l.n, 0);
        vt_run_result_free(&res);
        vt_buf_free(&l.all);
}

/* The first member is the struct lines on_line() takes, so one userdata serves both. */
struct ticks {
        struct lines lines;
        long at[64];
        int lines_at[64]; /* lines seen when each tick came */
        int n;
};

static void on_tick(long elapsed_ms, void *userdata)
{
        struct ticks *t = userdata;

        if (t->n < (int)ARRAY_SIZE(t->at)) {
                t->at[t->n] = elapsed_ms;
                t->lines_at[t->n] = t->lines.n;
        }
        t->n++;
}

/* The tick comes while the tool prints nothing (a long silent update-initramfs), one per
 * period, with the time elapsed, and stops when the tool has exited. */
static void test_ticks_while_silent(void **state)
{
        const char *argv[] = {"sh", "-c", "echo one; sleep 1; echo two", NULL};
        struct ticks t = {.lines = {VT_BUF_INIT, 0}};
        vt_run_opts o = {.on_line = on_line,
                         .on_tick = on_tick,
                         .tick_ms = 200,
                         .userdata = &t,
                         .timeout_ms = 10000};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_string_equal(res.output.ptr, "one\ntwo\n");
        assert_string_equal(t.lines.all.ptr, "[one][two]");
        /* Ticks came between the two lines, while the tool printed nothing. */
        bool during_silence = false;
        for (int i = 0; i < t.n && i < (int)ARRAY_SIZE(t.at); i++)
                during_silence |= t.lines_at[i] == 1;
        assert_true(during_silence);
        /* 1 s in 200 ms periods: five ticks, give or take a slow machine; one per period. */
        assert_in_range(t.n, 3, 7);
        assert_true(t.at[0] >= 200);
        for (int i = 1; i < t.n && i < (int)ARRAY_SIZE(t.at); i++)
                assert_true(t.at[i] >= t.at[i - 1] + 100);
        assert_true(t.at[t.n - 1] <= res.elapsed_ms);
        vt_run_result_free(&res);
        vt_buf_free(&t.lines.all);
}

/* No period, no tick. */
static void test_no_tick_without_period(void **state)
{
        const char *argv[] = {"sh", "-c", "sleep 0.3", NULL};
        struct ticks t = {.lines = {VT_BUF_INIT, 0}};
        vt_run_opts o = {.on_tick = on_tick, .userdata = &t, .timeout_ms = 10000};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_int_equal(t.n, 0);
        vt_run_result_free(&res);
}

static void test_env_and_stdin(void **state)
{
        const char *env[] = {"VT_RUNNER_TEST=hello", NULL};
        /* stdin is /dev/null: `cat` ends at once instead of waiting on the terminal. */
        const char *argv[] = {"sh", "-c", "cat; echo \"$VT_RUNNER_TEST\"", NULL};
        vt_run_opts o = {.env = env, .timeout_ms = 10000};
        vt_run_result res;

        (void)state;
        setenv("VT_RUNNER_TEST", "parent", 1);
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_string_equal(res.output.ptr, "hello\n");
        vt_run_result_free(&res);
        unsetenv("VT_RUNNER_TEST");
}

static void test_exit_code(void **state)
{
        const char *argv[] = {"sh", "-c", "echo 'E: cannot find module vfio_pci'; exit 3", NULL};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, NULL, &res), -EPROTO);
        assert_int_equal(res.exit_code, 3);
        assert_non_null(strstr(vt_error_message(), "exit code 3"));
        assert_non_null(strstr(vt_error_message(), "cannot find module vfio_pci"));
        assert_non_null(strstr(vt_error_message(), "sh -c 'echo"));
        vt_run_result_free(&res);
}

static void test_killed_by_signal(void **state)
{
        const char *argv[] = {"sh", "-c", "kill -9 $$", NULL};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, NULL, &res), -EPROTO);
        assert_int_equal(res.exit_code, -1);
        assert_int_equal(res.term_sig, SIGKILL);
        assert_non_null(strstr(vt_error_message(), "killed by signal 9"));
        vt_run_result_free(&res);
}

static void test_not_found(void **state)
{
        const char *argv[] = {"vfiotx-no-such-tool", "-u", NULL};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, NULL, &res), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "vfiotx-no-such-tool: command not found"));
        assert_non_null(vt_error_hint_text());
        vt_run_result_free(&res);
}

static void test_timeout(void **state)
{
        /* Long enough for the shell to start and print under a loaded CI machine. */
        const char *argv[] = {"sh", "-c", "echo started; sleep 30", NULL};
        vt_run_opts o = {.timeout_ms = 1500};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), -ETIMEDOUT);
        assert_true(res.timed_out);
        assert_true(res.elapsed_ms >= 1500 && res.elapsed_ms < 10000);
        assert_non_null(strstr(vt_error_message(), "killed after 1.5 s"));
        assert_non_null(strstr(vt_error_message(), "started"));
        vt_run_result_free(&res);
}

static void test_timeout_ignores_term(void **state)
{
        /* The shell and its sleep both ignore SIGTERM (an ignored signal survives exec): only
         * the SIGKILL to the whole group ends them. */
        const char *argv[] = {"sh", "-c", "trap '' TERM; sleep 30; echo survived", NULL};
        vt_run_opts o = {.timeout_ms = 200, .kill_grace_ms = 200};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), -ETIMEDOUT);
        assert_int_equal(res.term_sig, SIGKILL);
        assert_true(res.elapsed_ms < 10000);
        assert_null(strstr(res.output.ptr ? res.output.ptr : "", "survived"));
        vt_run_result_free(&res);
}

static void test_helper_keeps_pipe(void **state)
{
        /* A background helper holding stdout must not keep vfiotx waiting for it. */
        const char *argv[] = {"sh", "-c", "sleep 30 & echo done", NULL};
        vt_run_opts o = {.timeout_ms = 20000};
        vt_run_result res;

        (void)state;
        assert_int_equal(vt_run(argv, &o, &res), 0);
        assert_string_equal(res.output.ptr, "done\n");
        assert_true(res.elapsed_ms < 5000);
        vt_run_result_free(&res);
}

/* A root that can run /bin/sh: dash and the libraries it needs. */
static char *make_chroot(bool with_proc)
{
        char *dir = make_tmpdir(), p[4096];
        const char *dirs[] = {"bin", "lib", "lib/x86_64-linux-gnu", "lib64", "sys", "dev", "run"};

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        if (with_proc) {
                snprintf(p, sizeof(p), "%s/proc", dir);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        {
                char sh[4096], libdir[4096], lib64[4096];
                snprintf(sh, sizeof(sh), "%s/bin/sh", dir);
                snprintf(libdir, sizeof(libdir), "%s/lib/x86_64-linux-gnu/", dir);
                snprintf(lib64, sizeof(lib64), "%s/lib64/", dir);
                const char *cp1[] = {"cp", "-L", "/bin/sh", sh, NULL};
                const char *cp2[] = {"cp", "-L", "/lib/x86_64-linux-gnu/libc.so.6", libdir, NULL};
                const char *cp3[] = {"cp", "-L", "/lib64/ld-linux-x86-64.so.2", lib64, NULL};
                assert_int_equal(run_plain(cp1), 0);
                assert_int_equal(run_plain(cp2), 0);
                assert_int_equal(run_plain(cp3), 0);
        }
        return dir;
}

static bool host_mounts_mention(const char *dir)
{
        char *m = slurp("/proc/self", "mountinfo");
        bool found;

        assert_non_null(m);
        found = strstr(m, dir) != NULL;
        free(m);
        return found;
}

static bool can_chroot(void)
{
        return geteuid() == 0 && access("/lib/x86_64-linux-gnu/libc.so.6", R_OK) == 0 &&
               access("/lib64/ld-linux-x86-64.so.2", R_OK) == 0;
}

static void test_chroot_mounts(void **state)
{
        const char *argv[] = {"sh", "-c",
                              "test -e /proc/self/mountinfo && echo proc-ok; "
                              "test -c /dev/null && echo dev-ok; "
                              "test -d /sys/class && echo sys-ok; echo \"$PATH\"; exit 4",
                              NULL};
        vt_run_opts o = {.timeout_ms = 10000};
        vt_run_result res;
        char *dir;

        (void)state;
        if (!can_chroot())
                skip();
        dir = make_chroot(true);
        o.chroot = dir;
        /* A failing tool: the mounts must be gone afterwards all the same. */
        assert_int_equal(vt_run(argv, &o, &res), -EPROTO);
        assert_int_equal(res.exit_code, 4);
        assert_non_null(strstr(res.output.ptr, "proc-ok\ndev-ok\nsys-ok\n"));
        assert_non_null(strstr(res.output.ptr, "/usr/sbin:/usr/bin:/sbin:/bin"));
        assert_false(host_mounts_mention(dir));
        vt_run_result_free(&res);

        /* A hanging tool killed by the time limit leaves nothing mounted either. */
        const char *hang[] = {"sh", "-c", "while :; do :; done", NULL};
        o.timeout_ms = 200;
        o.kill_grace_ms = 100;
        assert_int_equal(vt_run(hang, &o, &res), -ETIMEDOUT);
        assert_false(host_mounts_mention(dir));
        vt_run_result_free(&res);

        /* Tools come from the root, not from the host's PATH. */
        const char *missing[] = {"cat", "/proc/self/mounts", NULL};
        assert_int_equal(vt_run(missing, &o, &res), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "inside"));
        vt_run_result_free(&res);
        rm_rf(dir);
}

static void test_chroot_missing_proc(void **state)
{
        const char *argv[] = {"sh", "-c", "true", NULL};
        vt_run_opts o = {.timeout_ms = 10000};
        vt_run_result res;
        char *dir, p[4096];

        (void)state;
        if (!can_chroot())
                skip();
        dir = make_chroot(false);
        /* /proc as a link leaving the root must not become a mount target outside it. */
        snprintf(p, sizeof(p), "%s/proc", dir);
        assert_int_equal(symlink("../../../../../../../../tmp", p), 0);
        o.chroot = dir;
        assert_true(vt_run(argv, &o, &res) < 0);
        assert_non_null(strstr(vt_error_message(), "/proc"));
        assert_false(host_mounts_mention(dir));
        vt_run_result_free(&res);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_output_and_lines),
            cmocka_unit_test(test_silent_tool),
            cmocka_unit_test(test_ticks_while_silent),
            cmocka_unit_test(test_no_tick_without_period),
            cmocka_unit_test(test_env_and_stdin),
            cmocka_unit_test(test_exit_code),
            cmocka_unit_test(test_killed_by_signal),
            cmocka_unit_test(test_not_found),
            cmocka_unit_test(test_timeout),
            cmocka_unit_test(test_timeout_ignores_term),
            cmocka_unit_test(test_helper_keeps_pipe),
            cmocka_unit_test(test_chroot_mounts),
            cmocka_unit_test(test_chroot_missing_proc),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
