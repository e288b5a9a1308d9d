#include "engine/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/argv.h"
#include "common/error.h"
#include "common/macro.h"
#include "fs/root.h"

extern char **environ;

#define OUTPUT_MAX      (8u << 20)
#define LINE_MAX_BYTES  (64u << 10)
#define DRAIN_MS        1000
#define DEFAULT_GRACE   5000
#define CHROOT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the child reports through the exec-error pipe before it dies. */
enum { STAGE_SETUP = 1, STAGE_UNSHARE, STAGE_MOUNT, STAGE_CHROOT, STAGE_EXEC };
struct child_err {
        int stage;
        int err;
        int index; /* which mount for STAGE_MOUNT */
};

struct bind_mount {
        char *source; /* host path */
        char *target; /* absolute path of the same directory inside the root */
};

struct mount_set {
        struct bind_mount items[5];
        size_t n;
};

static void mount_set_free(struct mount_set *m)
{
        for (size_t i = 0; i < m->n; i++) {
                free(m->items[i].source);
                free(m->items[i].target);
        }
        m->n = 0;
}

void vt_run_result_free(vt_run_result *res)
{
        if (!res)
                return;
        vt_buf_free(&res->output);
}

static long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_mount_point(const char *path)
{
        _cleanup_free_ char *parent = NULL;
        struct stat st, pst;

        if (asprintf(&parent, "%s/..", path) < 0)
                return false;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || stat(parent, &pst) < 0)
                return false;
        return st.st_dev != pst.st_dev || st.st_ino == pst.st_ino;
}

/* The bind mounts for a chroot into `root_abs`, with each target resolved inside the root. */
static int plan_mounts(const char *root_abs, bool bind_esp, struct mount_set *out)
{
        static const struct {
                const char *path;
                bool required;
        } wanted[] = {
            {"/proc", true}, {"/sys", true}, {"/dev", true}, {"/run", false}, {"/boot/efi", false},
        };
        vt_root root = VT_ROOT_INIT;
        int r = vt_root_open(&root, root_abs);

        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
                _cleanup_free_ char *rel = NULL;
                struct stat st;

                if (strcmp(wanted[i].path, "/boot/efi") == 0 &&
                    (!bind_esp || !is_mount_point("/boot/efi")))
                        continue;
                if (stat(wanted[i].path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        if (!wanted[i].required)
                                continue;
                        r = vt_error_set(ENOENT,
                                         "cannot prepare the chroot: %s is missing on "
                                         "this system",
                                         wanted[i].path);
                        goto out;
                }
                r = vt_root_resolve(&root, wanted[i].path, false, &rel);
                if (r >= 0 && (fstatat(root.fd, rel, &st, 0) < 0 || !S_ISDIR(st.st_mode)))
                        r = -ENOENT;
                if (r < 0) {
                        if (!wanted[i].required && r == -ENOENT) {
                                r = 0;
                                continue;
                        }
                        r = vt_error_set(r,
                                         "cannot prepare the chroot: %s%s is not a directory "
                                         "inside the root",
                                         root_abs, wanted[i].path);
                        vt_error_hint(r,
                                      "mount the host's file systems under %s first, as for "
                                      "a manual chroot",
                                      root_abs);
                        goto out;
                }
                out->items[out->n].source = strdup(wanted[i].path);
                if (asprintf(&out->items[out->n].target, "%s/%s", root_abs, rel) < 0)
                        out->items[out->n].target = NULL;
                out->n++;
                if (!out->items[out->n - 1].source || !out->items[out->n - 1].target) {
                        r = -ENOMEM;
                        goto out;
                }
        }
out:
        vt_root_close(&root);
        if (r < 0)
                mount_set_free(out);
        return r;
}

/* The environment for the tool: ours, with PATH standardised in a chroot (the host's PATH may
 * name directories the root lacks) and the caller's extra entries replacing same-named ones. */
static char **build_env(bool chrooted, const char *const *extra)
{
        size_t n = 0, n_extra = 0, k = 0;
        char **env;

        while (environ && environ[n])
                n++;
        while (extra && extra[n_extra])
                n_extra++;
        env = calloc(n + n_extra + 2, sizeof(*env));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(environ[i], '=');
                size_t name_len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
                bool replaced = chrooted && strncmp(environ[i], "PATH=", 5) == 0;

                for (size_t j = 0; j < n_extra && !replaced; j++)
                        replaced = strncmp(environ[i], extra[j], name_len) == 0;
                if (!replaced)
                        env[k++] = environ[i];
        }
        if (chrooted)
                env[k++] = (char *)CHROOT_PATH_ENV;
        for (size_t j = 0; j < n_extra; j++)
                env[k++] = (char *)extra[j];
        env[k] = NULL;
        return env;
}

static _Noreturn void child_fail(int fd, int stage, int index)
{
        struct child_err ce = {stage, errno, index};
        ssize_t w;

        do
                w = write(fd, &ce, sizeof(ce));
        while (w < 0 && errno == EINTR);
        _exit(127);
}

/* Runs between fork and exec: only async-signal-safe calls. */
static _Noreturn void child_run(const char *const *argv, char **envp, const char *root_abs,
                                const struct mount_set *mounts, int devnull, int out_w, int err_w)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;

        (void)setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* An ignored SIGPIPE survives exec; tools expect the default. */
        sigaction(SIGPIPE, &sa, NULL);
        if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
            dup2(out_w, STDERR_FILENO) < 0)
                child_fail(err_w, STAGE_SETUP, 0);
        if (root_abs) {
                if (unshare(CLONE_NEWNS) < 0)
                        child_fail(err_w, STAGE_UNSHARE, 0);
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        child_fail(err_w, STAGE_UNSHARE, 0);
                for (size_t i = 0; i < mounts->n; i++)
                        if (mount(mounts->items[i].source, mounts->items[i].target, NULL,
                                  MS_BIND | MS_REC, NULL) < 0)
                                child_fail(err_w, STAGE_MOUNT, (int)i);
                if (chroot(root_abs) < 0 || chdir("/") < 0)
                        child_fail(err_w, STAGE_CHROOT, 0);
        }
        /* execvp() searches the PATH of environ, so the tool's environment is installed first. */
        environ = envp;
        execvp(argv[0], (char *const *)argv);
        child_fail(err_w, STAGE_EXEC, 0);
}

static void format_duration(long ms, char out[32])
{
        if (ms < 10000)
                snprintf(out, 32, "%ld.%ld s", ms / 1000, (ms % 1000) / 100);
        else
                snprintf(out, 32, "%ld s", ms / 1000);
}

/* The last lines of the output, at most `max` bytes, starting at a line boundary. */
static const char *output_tail(const vt_buf *out, size_t max)
{
        const char *s = vt_buf_cstr(out);
        size_t len = out->len;

        while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
                len--;
        if (len <= max)
                return s;
        const char *p = s + len - max;
        const char *nl = memchr(p, '\n', (size_t)(s + len - p));

        return nl ? nl + 1 : p;
}

struct reader {
        vt_run_result *res;
        const vt_run_opts *opts;
        vt_buf line;
        bool dropped;
};

static void emit_lines(struct reader *rd, bool flush)
{
        size_t start = 0;

        if (!rd->opts->on_line) {
                vt_buf_clear(&rd->line);
                return;
        }
        for (size_t i = 0; i < rd->line.len; i++) {
                if (rd->line.ptr[i] != '\n')
                        continue;
                rd->line.ptr[i] = '\0';
                rd->opts->on_line(rd->line.ptr + start, i - start, rd->opts->userdata);
                rd->line.ptr[i] = '\n';
                start = i + 1;
        }
        if (start == 0 && (flush || rd->line.len >= LINE_MAX_BYTES) && rd->line.len) {
                rd->opts->on_line(rd->line.ptr, rd->line.len, rd->opts->userdata);
                start = rd->line.len;
        }
        /* Nothing to drop when nothing was emitted; the buffer may not even exist yet (a tool
         * that printed nothing: memmove from NULL is undefined, even for 0 bytes). */
        if (start > 0)
                memmove(rd->line.ptr, rd->line.ptr + start, rd->line.len - start);
        rd->line.len -= start;
        if (rd->line.ptr)
                rd->line.ptr[rd->line.len] = '\0';
}

static int take_output(struct reader *rd, const char *data, size_t n)
{
        vt_buf *out = &rd->res->output;
        int r = vt_buf_put(out, data, n);

        if (r >= 0 && out->len > OUTPUT_MAX) {
                /* Keep the newest half: a failure is explained at the end of the output. */
                size_t drop = out->len - OUTPUT_MAX / 2;

                memmove(out->ptr, out->ptr + drop, out->len - drop);
                out->len -= drop;
                out->ptr[out->len] = '\0';
                rd->dropped = true;
        }
        if (r >= 0 && rd->opts->on_line) {
                r = vt_buf_put(&rd->line, data, n);
                emit_lines(rd, false);
        }
        return r;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
        return (int)syscall(SYS_pidfd_open, pid, 0);
#else
        (void)pid;
        errno = ENOSYS;
        return -1;
#endif
}

/* Read the tool's output until it has exited and the pipe is closed, enforcing the time limit.
 * Fills *status with the wait status. */
static int supervise(pid_t pid, int out_fd, const vt_run_opts *opts, struct reader *rd, int *status,
                     long start)
{
        _cleanup_close_ int pidfd = pidfd_open_compat(pid);
        int grace = opts->kill_grace_ms > 0 ? opts->kill_grace_ms : DEFAULT_GRACE;
        long term_at = -1, exited_at = -1;
        bool ticking = opts->on_tick && opts->tick_ms > 0;
        long next_tick = start + (ticking ? opts->tick_ms : 0);
        bool eof = false, exited = false, killed = false;
        char chunk[16384];
        int r = 0;

        while (!(eof && exited)) {
                struct pollfd p[2];
                nfds_t np = 0;
                long now = now_ms(), wait_ms = -1;

                if (ticking && !exited && now >= next_tick) {
                        opts->on_tick(now - start, opts->userdata);
                        /* One tick for a late wake-up, not a burst to catch up. */
                        while (next_tick <= now)
                                next_tick += opts->tick_ms;
                }

                if (!exited && opts->timeout_ms > 0) {
                        if (term_at < 0 && now - start >= opts->timeout_ms) {
                                rd->res->timed_out = true;
                                kill(-pid, SIGTERM);
                                term_at = now;
                        }
                        if (term_at >= 0 && !killed && now - term_at >= grace) {
                                kill(-pid, SIGKILL);
                                killed = true;
                        }
                        if (term_at < 0)
                                wait_ms = opts->timeout_ms - (now - start);
                        else if (!killed)
                                wait_ms = grace - (now - term_at);
                }
                if (exited && !eof) {
                        /* The tool is gone but a helper it started still holds the pipe. */
                        if (now - exited_at >= DRAIN_MS) {
                                kill(-pid, SIGKILL);
                                break;
                        }
                        wait_ms = DRAIN_MS - (now - exited_at);
                }
                if (!eof)
                        p[np++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
                if (!exited && pidfd >= 0)
                        p[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
                if (!exited && pidfd < 0 && (wait_ms < 0 || wait_ms > 50))
                        wait_ms = 50; /* no pidfd: notice the exit by polling */
                if (ticking && !exited && (wait_ms < 0 || wait_ms > next_tick - now))
                        wait_ms = next_tick - now;
                if (wait_ms > INT_MAX)
                        wait_ms = INT_MAX;
                if (poll(p, np, (int)wait_ms) < 0 && errno != EINTR)
                        return vt_error_set(errno, "waiting for the tool: %s", strerror(errno));
                if (!eof) {
                        ssize_t n = read(out_fd, chunk, sizeof(chunk));

                        if (n > 0)
                                r = take_output(rd, chunk, (size_t)n);
                        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                                eof = true;
                        if (r < 0)
                                return r;
                }
                if (!exited) {
                        pid_t w = waitpid(pid, status, WNOHANG);

                        if (w == pid) {
                                exited = true;
                                exited_at = now_ms();
                        } else if (w < 0 && errno != EINTR) {
                                return vt_error_set(errno, "waiting for the tool: %s",
                                                    strerror(errno));
                        }
                }
        }
        return 0;
}

static int report_child_error(const struct child_err *ce, const char *tool, const char *cmd,
                              const char *root_abs, const struct mount_set *mounts)
{
        int err = ce->err ? ce->err : EIO;
        int r;

        switch (ce->stage) {
        case STAGE_EXEC:
                if (err == ENOENT) {
                        r = vt_error_set(err, "%s: command not found%s%s (running '%s')", tool,
                                         root_abs ? " inside " : " in PATH",
                                         root_abs ? root_abs : "", cmd);
                        return vt_error_hint(r, "install the package that provides it, or run "
                                                "the rebuild yourself and then 'vfiotx apply' "
                                                "again");
                }
                return vt_error_set(err, "%s: cannot execute: %s", cmd, strerror(err));
        case STAGE_UNSHARE:
                r = vt_error_set(err, "cannot create a mount namespace for the chroot into %s: %s",
                                 root_abs, strerror(err));
                return vt_error_hint(r, "run vfiotx as root, or pass --no-chroot to run the "
                                        "tools from PATH");
        case STAGE_MOUNT:
                return vt_error_set(err, "cannot bind-mount %s on %s: %s",
                                    mounts->items[ce->index].source,
                                    mounts->items[ce->index].target, strerror(err));
        case STAGE_CHROOT:
                return vt_error_set(err, "cannot chroot into %s: %s", root_abs, strerror(err));
        default:
                return vt_error_set(err, "cannot start %s: %s", cmd, strerror(err));
        }
}

int vt_run(const char *const *argv, const vt_run_opts *opts, vt_run_result *res)
{
        static const vt_run_opts no_opts = {0};
        struct mount_set mounts = {0};
        _cleanup_free_ char *root_abs = NULL;
        _cleanup_free_ char **envp = NULL;
        _cleanup_buf_ vt_buf cmd = VT_BUF_INIT;
        _cleanup_close_ int devnull = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        struct reader rd = {.res = res};
        struct child_err ce = {0};
        int fds[2], status = 0, r;
        ssize_t n;
        long start;
        pid_t pid;

        if (!opts)
                opts = &no_opts;
        rd.opts = opts;
        *res = (vt_run_result){.exit_code = -1};
        if (!argv || !argv[0] || !argv[0][0])
                return vt_error_set(EINVAL, "no command to run");
        r = vt_argv_format(argv, &cmd);
        if (r < 0)
                return r;
        if (opts->chroot && strcmp(opts->chroot, "/") != 0) {
                root_abs = realpath(opts->chroot, NULL);
                if (!root_abs)
                        return vt_error_set(errno, "cannot chroot into %s: %s", opts->chroot,
                                            strerror(errno));
                if (strcmp(root_abs, "/") == 0) {
                        free(root_abs);
                        root_abs = NULL;
                } else {
                        r = plan_mounts(root_abs, opts->bind_esp, &mounts);
                        if (r < 0)
                                return r;
                }
        }
        envp = build_env(root_abs != NULL, opts->env);
        if (!envp) {
                r = -ENOMEM;
                goto out;
        }
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0) {
                r = vt_error_set(errno, "cannot open /dev/null: %s", strerror(errno));
                goto out;
        }
        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = vt_error_set(errno, "cannot create a pipe: %s", strerror(errno));
                goto out;
        }
        out_r = fds[0], out_w = fds[1];
        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = vt_error_set(errno, "cannot create a pipe: %s", strerror(errno));
                goto out;
        }
        err_r = fds[0], err_w = fds[1];

        start = now_ms();
        pid = fork();
        if (pid < 0) {
                r = vt_error_set(errno, "cannot start %s: %s", cmd.ptr, strerror(errno));
                goto out;
        }
        if (pid == 0)
                child_run(argv, envp, root_abs, &mounts, devnull, out_w, err_w);

        /* Both sides set the group, so a kill(-pid) right after fork cannot miss it. */
        (void)setpgid(pid, pid);
        close(TAKE_FD(out_w));
        close(TAKE_FD(err_w));
        /* The error pipe closes on a successful exec (O_CLOEXEC) or carries why it failed. */
        do
                n = read(err_r, &ce, sizeof(ce));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(ce)) {
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                res->elapsed_ms = now_ms() - start;
                r = report_child_error(&ce, argv[0], cmd.ptr, root_abs, &mounts);
                goto out;
        }
        r = fcntl(out_r, F_SETFL, O_NONBLOCK);
        if (r >= 0)
                r = supervise(pid, out_r, opts, &rd, &status, start);
        else
                r = vt_error_set(errno, "cannot read the output of %s", cmd.ptr);
        if (r < 0) {
                kill(-pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                goto out;
        }
        emit_lines(&rd, true);
        res->elapsed_ms = now_ms() - start;
        if (WIFEXITED(status))
                res->exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                res->term_sig = WTERMSIG(status);
        if (rd.dropped) {
                static const char note[] = "[earlier output dropped]\n";
                _cleanup_buf_ vt_buf tmp = VT_BUF_INIT;

                if (vt_buf_puts(&tmp, note) >= 0 &&
                    vt_buf_put(&tmp, res->output.ptr, res->output.len) >= 0) {
                        vt_buf_free(&res->output);
                        res->output = tmp;
                        tmp = (vt_buf)VT_BUF_INIT;
                }
        }

        if (res->timed_out) {
                char d[32];

                format_duration(opts->timeout_ms, d);
                r = vt_error_set(ETIMEDOUT, "%s: killed after %s (time limit)%s%s", cmd.ptr, d,
                                 res->output.len ? "; its last output:\n" : "",
                                 output_tail(&res->output, 1200));
                vt_error_hint(r, "the tool hung, or the limit is too short for this host");
        } else if (res->exit_code > 0 || res->term_sig) {
                char how[64];

                if (res->term_sig)
                        snprintf(how, sizeof(how), "killed by signal %d (%s)", res->term_sig,
                                 strsignal(res->term_sig));
                else
                        snprintf(how, sizeof(how), "exit code %d", res->exit_code);
                r = vt_error_set(EPROTO, "%s failed with %s%s%s", cmd.ptr, how,
                                 res->output.len ? "; its output ends with:\n" : " and no output",
                                 output_tail(&res->output, 1200));
        } else {
                r = 0;
        }
out:
        vt_buf_free(&rd.line);
        mount_set_free(&mounts);
        return r;
}
