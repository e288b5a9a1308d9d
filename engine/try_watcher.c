#include "engine/try_watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/runner.h"

static int self_exe(char *out, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", out, size - 1);

        if (n < 0)
                return vt_error_set(errno, "cannot find the vfiotx binary (/proc/self/exe): %s",
                                    strerror(errno));
        out[n] = '\0';
        return 0;
}

typedef struct host_paths {
        char root[PATH_MAX], sysfs[PATH_MAX], proc[PATH_MAX];
} host_paths;

/* The watcher runs from "/": the host's paths as absolute ones. */
static int absolute(const vt_op_env *env, host_paths *out)
{
        if (!realpath(env->root, out->root) || !realpath(env->sysfs, out->sysfs) ||
            !realpath(env->proc, out->proc))
                return vt_error_set(errno, "arming the revert timer: %s", strerror(errno));
        return 0;
}

/* The expiry's command line: the host's options as this vfiotx got them. */
static void expire_argv(const host_paths *hp, const char *exe, const char *id, const char **argv)
{
        size_t i = 0;

        argv[i++] = exe;
        argv[i++] = "--root";
        argv[i++] = hp->root;
        argv[i++] = "--sysfs";
        argv[i++] = hp->sysfs;
        argv[i++] = "--proc";
        argv[i++] = hp->proc;
        argv[i++] = "try";
        argv[i++] = "--expire";
        argv[i++] = id;
        argv[i] = NULL;
}

static bool want_systemd(const vt_op_env *env)
{
        const char *force = getenv("VFIOTX_TRY_WATCHER");

        if (force && strcmp(force, "systemd") == 0)
                return true;
        if (force && strcmp(force, "detached") == 0)
                return false;
        return strcmp(env->root, "/") == 0 && access("/run/systemd/system", F_OK) == 0;
}

static int start_systemd(const host_paths *hp, const char *exe, const char *id, int64_t deadline,
                         char *out, size_t size)
{
        char unit[96], active[48];
        const char *inner[12];
        const char *argv[32];
        vt_run_opts o = {.timeout_ms = 30000};
        vt_run_result res = {0};
        int64_t left = deadline - (int64_t)time(NULL);
        size_t i = 0;
        int r;

        snprintf(unit, sizeof(unit), "vfiotx-try-%s", id);
        snprintf(active, sizeof(active), "--on-active=%llds", (long long)(left > 1 ? left : 1));
        expire_argv(hp, exe, id, inner);
        argv[i++] = "systemd-run";
        argv[i++] = "--quiet";
        argv[i++] = "--collect";
        argv[i++] = "--unit";
        argv[i++] = unit;
        argv[i++] = active;
        argv[i++] = "--timer-property=AccuracySec=1s";
        argv[i++] = "--description=vfiotx: give the tried devices back unless kept";
        argv[i++] = "--";
        for (size_t j = 0; inner[j]; j++)
                argv[i++] = inner[j];
        argv[i] = NULL;
        r = vt_run(argv, &o, &res);
        vt_run_result_free(&res);
        if (r < 0)
                return vt_error_wrap(r, "arming the revert timer (systemd-run)");
        snprintf(out, size, "systemd:%s.timer", unit);
        return 0;
}

/* In the grandchild: no failpoint of the test that started the try must fire in the expiry. */
static _Noreturn void watch(const char *const *argv, int64_t deadline)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
        }
        /* The vfiotx lock and the journal's files are open in the parent: a sleeping copy of
         * them would hold the lock for the whole try. */
        close_range(3, ~0U, 0);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        unsetenv("VFIOTX_FAILPOINT_FAIL");
        unsetenv("VFIOTX_FAILPOINT_KILL");
        unsetenv("VFIOTX_FAILPOINT_HANG");
        unsetenv("VFIOTX_FAILPOINT_TRACE");
        if (chdir("/") < 0)
                _exit(126);
        for (int64_t now = time(NULL); now < deadline; now = time(NULL))
                sleep((unsigned)(deadline - now));
        execv(argv[0], (char *const *)argv);
        _exit(127);
}

static int start_detached(const host_paths *hp, const char *exe, const char *id, int64_t deadline,
                          char *out, size_t size)
{
        const char *argv[12];
        int fds[2];
        pid_t child, watcher = -1;
        int status;

        expire_argv(hp, exe, id, argv);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return vt_error_set(errno, "arming the revert timer: %s", strerror(errno));
        fflush(NULL);
        child = fork();
        if (child < 0) {
                close(fds[0]);
                close(fds[1]);
                return vt_error_set(errno, "arming the revert timer: fork: %s", strerror(errno));
        }
        if (child == 0) {
                pid_t grandchild;

                close(fds[0]);
                setsid();
                grandchild = fork();
                if (grandchild == 0)
                        watch(argv, deadline);
                if (write(fds[1], &grandchild, sizeof(grandchild)) < 0)
                        _exit(1);
                _exit(grandchild < 0 ? 1 : 0);
        }
        close(fds[1]);
        if (read(fds[0], &watcher, sizeof(watcher)) != (ssize_t)sizeof(watcher))
                watcher = -1;
        close(fds[0]);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (watcher <= 0)
                return vt_error_set(EIO, "arming the revert timer: the watcher did not start");
        snprintf(out, size, "pid:%ld", (long)watcher);
        return 0;
}

int vt_try_watcher_start(const vt_op_env *env, const char *id, int64_t deadline, char *out,
                         size_t size)
{
        _cleanup_free_ host_paths *hp = malloc(sizeof(*hp));
        char exe[PATH_MAX];
        int r;

        if (!hp)
                return -ENOMEM;
        r = self_exe(exe, sizeof(exe));
        if (r >= 0)
                r = absolute(env, hp);
        if (r < 0)
                return r;
        if (want_systemd(env)) {
                r = start_systemd(hp, exe, id, deadline, out, size);
                /* systemd runs but systemd-run is not installed: the detached watcher does the
                 * same job, with less protection from session cleanup. */
                if (r != -ENOENT)
                        return r;
                vt_error_clear();
        }
        return start_detached(hp, exe, id, deadline, out, size);
}

void vt_try_watcher_stop(const char *watcher)
{
        if (strncmp(watcher, "systemd:", 8) == 0) {
                const char *argv[] = {"systemctl", "stop", watcher + 8, NULL};
                vt_run_opts o = {.timeout_ms = 30000};
                vt_run_result res = {0};

                if (vt_run(argv, &o, &res) < 0)
                        vt_error_clear();
                vt_run_result_free(&res);
        } else if (strncmp(watcher, "pid:", 4) == 0) {
                long pid = strtol(watcher + 4, NULL, 10);
                char link[64], exe[PATH_MAX], mine[PATH_MAX];
                ssize_t n, m;

                if (pid <= 1 || pid == (long)getpid())
                        return;
                /* Only our own binary: the pid may have been reused since. */
                snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
                n = readlink(link, exe, sizeof(exe) - 1);
                m = readlink("/proc/self/exe", mine, sizeof(mine) - 1);
                if (n > 0 && m > 0 && n == m && memcmp(exe, mine, (size_t)n) == 0)
                        kill((pid_t)pid, SIGTERM);
        }
}
