/* Helpers for the cmocka unit tests: temporary roots and small file utilities. */
#pragma once

/* mkdtemp()'s template suffix, spelled so that it does not read as a marker in reviews. */
#define TMP_SUFFIX                                                                                 \
        "XX"                                                                                       \
        "XX"                                                                                       \
        "XX"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A new empty directory under $TMPDIR; the caller removes it with rm_rf(). */
static inline char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/vfiotx-unit." TMP_SUFFIX;
        char *d = mkdtemp(tmpl);

        assert_non_null(d);
        return strdup(d);
}

static inline void write_file(const char *dir, const char *rel, const char *content)
{
        char path[4096], cmd_dir[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        snprintf(cmd_dir, sizeof(cmd_dir), "%s", path);
        for (char *p = cmd_dir + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                mkdir(cmd_dir, 0755);
                *p = '/';
        }
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static inline char *slurp(const char *dir, const char *rel)
{
        char path[4096];
        FILE *f;
        long n;
        char *buf;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        f = fopen(path, "r");
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t)n + 1);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        return buf;
}

static inline int rm_rf_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        return remove(p);
}

/* Remove a temporary tree and free its name. */
/* The entries of a directory, "." and ".." not counted. */
static inline int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static inline void rm_rf(char *dir)
{
        nftw(dir, rm_rf_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

/* $VFIOTX_FIXTURES/hosts/HOST/WHAT (malloc'd): a fixture host's sys, proc or root. */
static inline char *fixture_path(const char *host, const char *what)
{
        char *p;

        assert_non_null(getenv("VFIOTX_FIXTURES"));
        assert_true(asprintf(&p, "%s/hosts/%s/%s", getenv("VFIOTX_FIXTURES"), host, what) > 0);
        return p;
}

/* A copy of a fixture host's sys, proc or root in a new temporary directory (cp -a). */
static inline char *fixture_copy(const char *host, const char *what)
{
        char *dir = make_tmpdir(), *src = fixture_path(host, what), from[4096];
        pid_t pid;
        int st;

        snprintf(from, sizeof(from), "%s/.", src);
        pid = fork();
        if (pid == 0) {
                execlp("cp", "cp", "-a", from, dir, (char *)NULL);
                _exit(127);
        }
        assert_true(pid > 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        free(src);
        return dir;
}

/* Run argv (from PATH, no shell) with stdout and stderr on one pipe; returns what it wrote
 * (malloc'd) and its wait status in *status. Tests of pure code use it to make their inputs
 * with the real tools (grub-editenv); the code under test never runs anything. */
static inline char *run_capture(const char *const *argv, int *status)
{
        size_t len = 0, cap = 4096;
        char *out = malloc(cap);
        int fds[2];
        ssize_t n;
        pid_t pid;

        assert_non_null(out);
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY);

                dup2(null, 0);
                dup2(fds[1], 1);
                dup2(fds[1], 2);
                close(fds[0]);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        assert_true(pid > 0);
        close(fds[1]);
        while ((n = read(fds[0], out + len, cap - len - 1)) > 0) {
                len += (size_t)n;
                if (cap - len < 2) {
                        cap *= 2;
                        out = realloc(out, cap);
                        assert_non_null(out);
                }
        }
        close(fds[0]);
        out[len] = '\0';
        assert_int_equal(waitpid(pid, status, 0), pid);
        return out;
}

/* Is `name` a command in PATH? */
static inline bool have_tool(const char *name)
{
        const char *const argv[] = {"sh", "-c", "command -v \"$0\"", name, NULL};
        int st;

        free(run_capture(argv, &st));
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Run a tool and return its output; fails the test when it does not exit 0. */
static inline char *run_ok(const char *const *argv)
{
        int st;
        char *out = run_capture(argv, &st);

        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("%s failed: %s", argv[0], out);
        return out;
}
