/* The GRUB defaults editor, checked against /bin/sh sourcing the edited files the way
 * grub-mkconfig does (the oracle), on real files and on the variants the pitfalls list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/grub_default.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

#define MAX_FILES 8
#define L(...)    ((const char *const[]){__VA_ARGS__, NULL})

typedef struct fixture {
        size_t n;
        char *name[MAX_FILES]; /* "grub" or "grub.d/50-cloudimg-settings.cfg" */
        char *path[MAX_FILES]; /* "/etc/default/..." */
        vt_buf data[MAX_FILES];
        vt_grub_file files[MAX_FILES];
} fixture;

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fixture_add(fixture *fx, const char *dir, const char *name)
{
        _cleanup_free_ char *src = vt_path_join(dir, name);

        assert_true(fx->n < MAX_FILES);
        fx->data[fx->n] = (vt_buf)VT_BUF_INIT;
        assert_int_equal(vt_read_file(src, &fx->data[fx->n]), 0);
        fx->name[fx->n] = strdup(name);
        assert_int_not_equal(asprintf(&fx->path[fx->n], "/etc/default/%s", name), -1);
        fx->files[fx->n] =
            (vt_grub_file){fx->path[fx->n], fx->data[fx->n].ptr, fx->data[fx->n].len};
        fx->n++;
}

/* Load tests/fixtures/etc/grub/<name>: grub, then grub.d/NAME.cfg in C-locale glob order. */
static void fixture_load(fixture *fx, const char *name)
{
        _cleanup_free_ char *dir = NULL, *dropins = NULL;
        char *cfg[MAX_FILES];
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        memset(fx, 0, sizeof(*fx));
        assert_int_not_equal(asprintf(&dir, "%s/etc/grub/%s", getenv("VFIOTX_FIXTURES"), name), -1);
        fixture_add(fx, dir, "grub");
        dropins = vt_path_join(dir, "grub.d");
        d = opendir(dropins);
        if (!d)
                return;
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);

                if (l > 4 && strcmp(de->d_name + l - 4, ".cfg") == 0 && n < MAX_FILES)
                        assert_int_not_equal(asprintf(&cfg[n++], "grub.d/%s", de->d_name), -1);
        }
        closedir(d);
        qsort(cfg, n, sizeof(cfg[0]), cmp_str);
        for (size_t i = 0; i < n; i++) {
                fixture_add(fx, dir, cfg[i]);
                free(cfg[i]);
        }
}

static void fixture_free(fixture *fx)
{
        for (size_t i = 0; i < fx->n; i++) {
                free(fx->name[i]);
                free(fx->path[i]);
                vt_buf_free(&fx->data[i]);
        }
}

static void outs_free(vt_buf *out, size_t n)
{
        for (size_t i = 0; i < n; i++)
                vt_buf_free(&out[i]);
}

static void write_file(const char *path, const vt_buf *b)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(vt_write_all(fd, b->ptr, b->len), 0);
        close(fd);
}

/* The oracle: write the files under a temporary root and let sh source them. */
static char *oracle(const fixture *fx, const vt_buf *contents, const char *var)
{
        char root[] = "/tmp/vfiotx-grub-"
                      "XX"
                      "XX"
                      "XX" /* mkdtemp template */,
             script[512];
        _cleanup_buf_ vt_buf got = VT_BUF_INIT;
        int pipefd[2], status;
        pid_t pid;

        assert_non_null(mkdtemp(root));
        for (const char *sub = "/etc"; sub; sub = NULL) {
                char p[600];

                snprintf(p, sizeof(p), "%s%s", root, sub);
                assert_int_equal(mkdir(p, 0755), 0);
                snprintf(p, sizeof(p), "%s/etc/default", root);
                assert_int_equal(mkdir(p, 0755), 0);
                snprintf(p, sizeof(p), "%s/etc/default/grub.d", root);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        for (size_t i = 0; i < fx->n; i++) {
                char p[600];

                snprintf(p, sizeof(p), "%s/etc/default/%s", root, fx->name[i]);
                write_file(p, &contents[i]);
        }
        snprintf(script, sizeof(script),
                 ". ./etc/default/grub; for f in ./etc/default/grub.d/*.cfg; do [ -e \"$f\" ] && "
                 ". \"$f\"; done; printf %%s \"$%s\"",
                 var);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = {"sh", "-c", script, NULL};
                int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (chdir(root) < 0 || dup2(pipefd[1], 1) < 0 || dup2(devnull, 2) < 0)
                        _exit(127);
                execvp("sh", argv);
                _exit(127);
        }
        close(pipefd[1]);
        assert_int_equal(vt_read_fd(pipefd[0], &got), 0);
        close(pipefd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (size_t i = 0; i < fx->n; i++) {
                char p[600];

                snprintf(p, sizeof(p), "%s/etc/default/%s", root, fx->name[i]);
                unlink(p);
        }
        {
                char p[600];

                snprintf(p, sizeof(p), "%s/etc/default/grub.d", root);
                rmdir(p);
                snprintf(p, sizeof(p), "%s/etc/default", root);
                rmdir(p);
                snprintf(p, sizeof(p), "%s/etc", root);
                rmdir(p);
                rmdir(root);
        }
        return vt_buf_detach(&got);
}

/* The kernel words of a value, each "name=value" re-spelt from the kernel's parse. */
static size_t kernel_words(const char *value, char words[][128], size_t max)
{
        _cleanup_(vt_cmdline_words_free) vt_cmdline_words w = {NULL, 0, 0, false};
        size_t n = 0;

        assert_int_equal(vt_cmdline_split(value, strlen(value), &w), 0);
        for (size_t i = 0; i < w.n && n < max; i++, n++)
                snprintf(words[n], 128, "%s%s%s", w.items[i].name, w.items[i].value ? "=" : "",
                         w.items[i].value ? w.items[i].value : "");
        return n;
}

/* The value sh sees must be exactly `want` as kernel words (in order). */
static void assert_words(const char *value, const char *const *want)
{
        char got[64][128];
        size_t n = kernel_words(value, got, 64), i = 0;

        for (; want[i]; i++) {
                if (i >= n)
                        fail_msg("value '%s': missing word '%s'", value, want[i]);
                if (strcmp(got[i], want[i]) != 0)
                        fail_msg("value '%s': word %zu is '%s', want '%s'", value, i, got[i],
                                 want[i]);
        }
        if (i != n)
                fail_msg("value '%s': %zu words, want %zu", value, n, i);
}

static void change_build(vt_cmdline_change *c, const char *const *add, const char *const *rm)
{
        for (; add && *add; add++)
                assert_int_equal(vt_cmdline_change_add(c, *add), 0);
        for (; rm && *rm; rm++)
                assert_int_equal(vt_cmdline_change_remove(c, *rm), 0);
}

static const char *const seed_params[] = {"intel_iommu=igfx_off", "iommu=pt", "video=efifb:off",
                                          NULL};

/* The whole contract on one fixture: the oracle sees `want` before and after, the edit is
 * idempotent, leaves files it need not touch alone, and removing what it added restores the
 * input byte for byte (unless `exact_restore` is false: an unquoted value gained quotes). */
static void run_case(const char *name, const char *var, const char *const *add,
                     const char *const *before, const char *const *after, bool exact_restore)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_cmdline_change_ vt_cmdline_change undo = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[MAX_FILES] = {VT_BUF_INIT}, again[MAX_FILES] = {VT_BUF_INIT},
               back[MAX_FILES] = {VT_BUF_INIT};
        bool changed[MAX_FILES];
        fixture fx;
        char *v;

        fixture_load(&fx, name);
        change_build(&c, add, NULL);
        for (const char *const *a = add; *a; a++)
                assert_int_equal(vt_cmdline_change_remove(&undo, *a), 0);

        v = oracle(&fx, fx.data, var);
        assert_words(v, before);
        free(v);

        assert_int_equal(vt_grub_default_edit(fx.files, fx.n, var, &c, out, changed), 0);
        v = oracle(&fx, out, var);
        assert_words(v, after);
        free(v);

        /* Idempotent. */
        {
                vt_grub_file f2[MAX_FILES];

                for (size_t i = 0; i < fx.n; i++)
                        f2[i] = (vt_grub_file){fx.path[i], out[i].ptr, out[i].len};
                assert_int_equal(vt_grub_default_edit(f2, fx.n, var, &c, again, changed), 0);
                for (size_t i = 0; i < fx.n; i++) {
                        assert_false(changed[i]);
                        assert_true(vt_buf_equal(&again[i], &out[i]));
                }
                assert_int_equal(vt_grub_default_edit(f2, fx.n, var, &undo, back, changed), 0);
                for (size_t i = 0; i < fx.n; i++) {
                        if (exact_restore && !vt_buf_equal(&back[i], &fx.data[i]))
                                fail_msg("%s: removing what was added gave\n%s\ninstead of\n%s",
                                         fx.name[i], vt_buf_cstr(&back[i]),
                                         vt_buf_cstr(&fx.data[i]));
                }
                v = oracle(&fx, back, var);
                assert_words(v, before);
                free(v);
        }
        outs_free(out, fx.n);
        outs_free(again, fx.n);
        outs_free(back, fx.n);
        fixture_free(&fx);
}

static void test_seed_byte_exact(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        bool changed;
        fixture fx;

        (void)state;
        fixture_load(&fx, "seed");
        change_build(&c, seed_params, NULL);
        assert_int_equal(
            vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, &changed), 0);
        assert_true(changed);
        assert_string_equal(vt_buf_cstr(&out[0]),
                            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=igfx_off iommu=pt "
                            "video=efifb:off\"\n");
        outs_free(out, 1);
        fixture_free(&fx);
        run_case("seed", VT_GRUB_CMDLINE_DEFAULT, seed_params, L("quiet"),
                 L("quiet", "intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"), true);
}

static void test_debian12(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        fixture fx;
        const char *old, *neu;

        (void)state;
        run_case("debian12", VT_GRUB_CMDLINE_DEFAULT, seed_params, L("quiet"),
                 L("quiet", "intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"), true);
        /* Only the one line differs. */
        fixture_load(&fx, "debian12");
        change_build(&c, L("iommu=pt"), NULL);
        assert_int_equal(vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        old = vt_buf_cstr(&fx.data[0]);
        neu = vt_buf_cstr(&out[0]);
        assert_int_equal(out[0].len, fx.data[0].len + strlen(" iommu=pt"));
        assert_non_null(strstr(neu, "\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n"));
        assert_int_equal(memcmp(old, neu, (size_t)(strstr(old, "quiet") - old) + 5), 0);
        assert_string_equal(strstr(old, "quiet") + 5, strstr(neu, "iommu=pt") + 8);
        outs_free(out, 1);
        fixture_free(&fx);
        /* GRUB_CMDLINE_LINUX too. */
        run_case("debian12", VT_GRUB_CMDLINE_ALL, L("iommu=pt"), L(NULL), L("iommu=pt"), true);
}

static void test_proxmox8(void **state)
{
        (void)state;
        run_case("proxmox8", VT_GRUB_CMDLINE_DEFAULT, L("intel_iommu=on", "iommu=pt"), L("quiet"),
                 L("quiet", "intel_iommu=on", "iommu=pt"), true);
}

static void test_ubuntu_cloud_override(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[MAX_FILES] = {VT_BUF_INIT};
        bool changed[MAX_FILES];
        fixture fx;

        (void)state;
        run_case("ubuntu2204-cloud", VT_GRUB_CMDLINE_DEFAULT,
                 L("iommu=pt", "vfio-pci.ids=10de:1eb8"), L("console=tty1", "console=ttyS0"),
                 L("console=tty1", "console=ttyS0", "iommu=pt", "vfio-pci.ids=10de:1eb8"), true);
        /* The value in force is the drop-in's: /etc/default/grub stays as it is. */
        fixture_load(&fx, "ubuntu2204-cloud");
        assert_int_equal(fx.n, 3);
        assert_string_equal(fx.name[2], "grub.d/50-cloudimg-settings.cfg");
        change_build(&c, L("iommu=pt"), NULL);
        assert_int_equal(
            vt_grub_default_edit(fx.files, fx.n, VT_GRUB_CMDLINE_DEFAULT, &c, out, changed), 0);
        assert_false(changed[0]);
        assert_false(changed[1]);
        assert_true(changed[2]);
        assert_non_null(
            strstr(vt_buf_cstr(&out[2]),
                   "\nGRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0 iommu=pt\"\n"));
        outs_free(out, fx.n);
        fixture_free(&fx);
}

static void test_quoting_styles(void **state)
{
        (void)state;
        run_case("single-quoted", VT_GRUB_CMDLINE_DEFAULT, L("iommu=pt", "foo=\"a b\"", "it's"),
                 L("quiet", "splash"), L("quiet", "splash", "iommu=pt", "foo=a b", "it's"), true);
        run_case("single-quoted", VT_GRUB_CMDLINE_ALL, L("iommu=pt"), L(NULL), L("iommu=pt"), true);
        /* Unquoted: one safe word stays unquoted; a second word needs quotes. */
        run_case("unquoted", VT_GRUB_CMDLINE_ALL, L("iommu=pt"), L(NULL), L("iommu=pt"), true);
        run_case("unquoted", VT_GRUB_CMDLINE_DEFAULT, L("intel_iommu=on", "iommu=pt"), L("quiet"),
                 L("quiet", "intel_iommu=on", "iommu=pt"), false);
        run_case("escaped-quotes", VT_GRUB_CMDLINE_DEFAULT, L("iommu=pt", "x=\"$y\""),
                 L("quiet", "acpi_osi=Windows 2015", "splash"),
                 L("quiet", "acpi_osi=Windows 2015", "splash", "iommu=pt", "x=$y"), true);
}

static void test_unquoted_gains_quotes(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        fixture fx;

        (void)state;
        fixture_load(&fx, "unquoted");
        change_build(&c, L("iommu=pt"), NULL);
        assert_int_equal(vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        assert_string_equal(vt_buf_cstr(&out[0]), "GRUB_DEFAULT=saved\n"
                                                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n"
                                                  "GRUB_CMDLINE_LINUX=\n");
        outs_free(out, 1);
        fixture_free(&fx);
}

static void test_duplicated_last_wins(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        fixture fx;

        (void)state;
        run_case("duplicated", VT_GRUB_CMDLINE_DEFAULT, L("iommu=pt"),
                 L("quiet", "intel_iommu=off", "mitigations=auto"),
                 L("quiet", "intel_iommu=off", "mitigations=auto", "iommu=pt"), true);
        /* intel_iommu=off is replaced in the assignment in force, not duplicated. */
        fixture_load(&fx, "duplicated");
        change_build(&c, L("intel_iommu=on"), NULL);
        assert_int_equal(vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        assert_non_null(
            strstr(vt_buf_cstr(&out[0]), "\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\n"));
        assert_non_null(
            strstr(vt_buf_cstr(&out[0]),
                   "\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on mitigations=auto\"\n"));
        assert_non_null(
            strstr(vt_buf_cstr(&out[0]), "#GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n"));
        outs_free(out, 1);
        fixture_free(&fx);
}

static void test_crlf_and_no_newline(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        fixture fx;

        (void)state;
        run_case("crlf", VT_GRUB_CMDLINE_DEFAULT, seed_params, L("quiet"),
                 L("quiet", "intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"), true);
        fixture_load(&fx, "crlf");
        change_build(&c, L("iommu=pt"), NULL);
        assert_int_equal(vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        assert_string_equal(vt_buf_cstr(&out[0]),
                            "GRUB_DEFAULT=0\r\nGRUB_TIMEOUT=5\r\n"
                            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\r\n"
                            "GRUB_CMDLINE_LINUX=\"\"\r\n#GRUB_TERMINAL=console\r\n");
        outs_free(out, 1);
        fixture_free(&fx);

        run_case("no-newline", VT_GRUB_CMDLINE_DEFAULT, seed_params, L("quiet", "splash"),
                 L("quiet", "splash", "intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"), true);
}

static void test_self_reference(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[2] = {VT_BUF_INIT, VT_BUF_INIT};
        fixture fx;

        (void)state;
        run_case("selfref", VT_GRUB_CMDLINE_DEFAULT, L("iommu=pt"),
                 L("quiet", "intel_iommu=off", "nomodeset"),
                 L("quiet", "intel_iommu=off", "nomodeset", "iommu=pt"), true);
        /* The reference stays; intel_iommu=off is replaced where it is written. */
        fixture_load(&fx, "selfref");
        change_build(&c, L("intel_iommu=on", "iommu=pt"), L("nomodeset"));
        assert_int_equal(vt_grub_default_edit(fx.files, 2, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        assert_non_null(
            strstr(vt_buf_cstr(&out[0]), "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n"));
        assert_non_null(
            strstr(vt_buf_cstr(&out[1]),
                   "\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n"));
        outs_free(out, 2);
        fixture_free(&fx);
}

static void test_unset_appends(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[1] = {VT_BUF_INIT};
        fixture fx;

        (void)state;
        fixture_load(&fx, "unset");
        change_build(&c, L("intel_iommu=on", "iommu=pt"), NULL);
        assert_int_equal(vt_grub_default_edit(fx.files, 1, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         0);
        assert_string_equal(
            vt_buf_cstr(&out[0]),
            "# GRUB_CMDLINE_LINUX_DEFAULT is left to the default\nGRUB_DEFAULT=0\n"
            "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n");
        outs_free(out, 1);
        fixture_free(&fx);
        run_case("unset", VT_GRUB_CMDLINE_DEFAULT, L("iommu=pt"), L(NULL), L("iommu=pt"), false);
}

static void test_untouched_is_identical(void **state)
{
        static const char *const names[] = {"debian12",   "proxmox8", "ubuntu2204-cloud", "crlf",
                                            "no-newline", "selfref",  "escaped-quotes"};

        (void)state;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
                _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
                vt_buf out[MAX_FILES] = {VT_BUF_INIT};
                bool changed[MAX_FILES];
                fixture fx;

                fixture_load(&fx, names[k]);
                change_build(&c, NULL, L("not_there"));
                assert_int_equal(
                    vt_grub_default_edit(fx.files, fx.n, VT_GRUB_CMDLINE_DEFAULT, &c, out, changed),
                    0);
                for (size_t i = 0; i < fx.n; i++) {
                        assert_false(changed[i]);
                        assert_true(vt_buf_equal(&out[i], &fx.data[i]));
                }
                outs_free(out, fx.n);
                fixture_free(&fx);
        }
}

static void expect_refusal(const char *name, const char *where)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[MAX_FILES] = {VT_BUF_INIT};
        fixture fx;

        fixture_load(&fx, name);
        change_build(&c, L("iommu=pt"), NULL);
        vt_error_clear();
        assert_int_equal(
            vt_grub_default_edit(fx.files, fx.n, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL), -EINVAL);
        if (strncmp(vt_error_message(), where, strlen(where)) != 0)
                fail_msg("%s: message '%s' does not start with '%s'", name, vt_error_message(),
                         where);
        assert_non_null(vt_error_hint_text());
        outs_free(out, fx.n);
        fixture_free(&fx);
}

static void test_refusals(void **state)
{
        (void)state;
        expect_refusal("refuse-cmdsubst", "/etc/default/grub:2: command substitution");
        expect_refusal("refuse-if", "/etc/default/grub:4: ");
        expect_refusal("refuse-unbalanced",
                       "/etc/default/grub:2: a quote or substitution in this word is never closed");
        expect_refusal("refuse-continuation", "/etc/default/grub:2: a backslash-newline");
}

static void refuse_text(const char *text, const char *where)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_grub_file f[2] = {{"/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n", 35},
                             {"/etc/default/grub.d/x.cfg", text, strlen(text)}};
        vt_buf out[2] = {VT_BUF_INIT, VT_BUF_INIT};

        change_build(&c, L("iommu=pt"), NULL);
        assert_int_equal(vt_grub_default_edit(f, 2, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL),
                         -EINVAL);
        if (strncmp(vt_error_message(), where, strlen(where)) != 0)
                fail_msg("'%s': message '%s' does not start with '%s'", text, vt_error_message(),
                         where);
        outs_free(out, 2);
}

static void accept_text(const char *text, const char *want)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        vt_grub_file f[2] = {{"/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n", 35},
                             {"/etc/default/grub.d/x.cfg", text, strlen(text)}};
        vt_buf out[2] = {VT_BUF_INIT, VT_BUF_INIT};

        change_build(&c, L("iommu=pt"), NULL);
        if (vt_grub_default_edit(f, 2, VT_GRUB_CMDLINE_DEFAULT, &c, out, NULL) < 0)
                fail_msg("'%s' refused: %s", text, vt_error_message());
        assert_string_equal(vt_buf_cstr(&out[1]), want);
        outs_free(out, 2);
}

static void test_what_is_refused_and_what_is_not(void **state)
{
        (void)state;
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"`cat /x`\"\n",
                    "/etc/default/grub.d/x.cfg:1: command");
        refuse_text("\n. /etc/extra\n", "/etc/default/grub.d/x.cfg:2: sourcing");
        refuse_text("eval \"$X\"\n", "/etc/default/grub.d/x.cfg:1: sourcing");
        /* inside if and for, on one line or over several (issue 14, 11) */
        refuse_text("if [ -f /etc/x ]; then . /etc/x; fi\n",
                    "/etc/default/grub.d/x.cfg:1: sourcing");
        refuse_text("if [ -f /etc/x ]\nthen\n  . /etc/x\nfi\n",
                    "/etc/default/grub.d/x.cfg:3: sourcing");
        refuse_text("if true; then\n source /etc/x\nfi\n", "/etc/default/grub.d/x.cfg:2: sourcing");
        refuse_text("for f in /etc/x.d/*; do . \"$f\"; done\n",
                    "/etc/default/grub.d/x.cfg:1: sourcing");
        refuse_text("true && . /etc/x\n", "/etc/default/grub.d/x.cfg:1: sourcing");
        refuse_text("{ eval \"$X\"; }\n", "/etc/default/grub.d/x.cfg:1: sourcing");
        refuse_text("unset GRUB_CMDLINE_LINUX_DEFAULT\n",
                    "/etc/default/grub.d/x.cfg:1: this changes");
        refuse_text("X=${GRUB_CMDLINE_LINUX_DEFAULT:=a}\n",
                    "/etc/default/grub.d/x.cfg:1: this changes");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"${X:-a}\"\n",
                    "/etc/default/grub.d/x.cfg:1: a ${...}");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"$1\"\n",
                    "/etc/default/grub.d/x.cfg:1: a special");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=~/x\n",
                    "/etc/default/grub.d/x.cfg:1: an unquoted '~'");
        refuse_text("A=1 GRUB_CMDLINE_LINUX_DEFAULT=x\n",
                    "/etc/default/grub.d/x.cfg:1: the assignment shares");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT}x\"\n",
                    "/etc/default/grub.d/x.cfg:1: the self reference");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
                    "$GRUB_CMDLINE_LINUX_DEFAULT\"\n",
                    "/etc/default/grub.d/x.cfg:1: the value refers");
        refuse_text("cat <<EOF\nx\nEOF\n", "/etc/default/grub.d/x.cfg:1: a here-document");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"a -- b\"\n",
                    "/etc/default/grub.d/x.cfg:1: a \"--\"");
        refuse_text("GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=$MODE\"\n",
                    "/etc/default/grub.d/x.cfg:1: the parameter's value");

        accept_text("", "");
        accept_text("# GRUB_CMDLINE_LINUX_DEFAULT=\"x\" $(ignored) `also'\n",
                    "# GRUB_CMDLINE_LINUX_DEFAULT=\"x\" $(ignored) `also'\n");
        accept_text("if [ -x /bin/true ]; then GRUB_TIMEOUT=3; fi\n",
                    "if [ -x /bin/true ]; then GRUB_TIMEOUT=3; fi\n");
        accept_text("export GRUB_CMDLINE_LINUX_DEFAULT\nX=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n",
                    "export GRUB_CMDLINE_LINUX_DEFAULT\nX=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n");
        accept_text(
            "export GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT\";\n",
            "export GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\";\n");
        accept_text("GRUB_CMDLINE_LINUX_DEFAULT=\"$EXTRA quiet\" # note\n",
                    "GRUB_CMDLINE_LINUX_DEFAULT=\"$EXTRA quiet iommu=pt\" # note\n");
        accept_text("GRUB_CMDLINE_LINUX_DEFAULT=\n", "GRUB_CMDLINE_LINUX_DEFAULT=iommu=pt\n");
        accept_text("GRUB_CMDLINE_LINUX_DEFAULT=\"\"\n",
                    "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n");
        accept_text("GRUB_CMDLINE_LINUX_DEFAULT=quiet'  '\"a\"\n",
                    "GRUB_CMDLINE_LINUX_DEFAULT=quiet'  '\"a iommu=pt\"\n");
        /* words that only look like sourcing: arguments, not commands */
        accept_text(
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\necho . source eval >/dev/null\n",
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\necho . source eval >/dev/null\n");
        /* a value over two lines; the user's iommu=soft stays (iommu= words accumulate) */
        accept_text("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\niommu=soft\"\n",
                    "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\niommu=soft iommu=pt\"\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_seed_byte_exact),
            cmocka_unit_test(test_debian12),
            cmocka_unit_test(test_proxmox8),
            cmocka_unit_test(test_ubuntu_cloud_override),
            cmocka_unit_test(test_quoting_styles),
            cmocka_unit_test(test_unquoted_gains_quotes),
            cmocka_unit_test(test_duplicated_last_wins),
            cmocka_unit_test(test_crlf_and_no_newline),
            cmocka_unit_test(test_self_reference),
            cmocka_unit_test(test_unset_appends),
            cmocka_unit_test(test_untouched_is_identical),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_what_is_refused_and_what_is_not),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
