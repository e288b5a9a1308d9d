/* cli/term: the colour decision (NO_COLOR, TERM, a terminal or not), the live progress line cut
 * to the terminal's width, and the tail of a failed step's output. */
#include "../helpers.h"

#include "cli/cli.h"
#include "cli/term.h"
#include "common/buf.h"

static void test_colour_wanted(void **state)
{
        (void)state;
        assert_true(vt_term_colour_wanted(true, NULL, "xterm-256color"));
        /* Any non-empty NO_COLOR disables it, whatever the value (no-color.org). */
        assert_false(vt_term_colour_wanted(true, "1", "xterm"));
        assert_false(vt_term_colour_wanted(true, "0", "xterm"));
        assert_false(vt_term_colour_wanted(true, "false", "xterm"));
        assert_true(vt_term_colour_wanted(true, "", "xterm"));
        /* Not a terminal (a pipe, a file), a dumb one, or no TERM at all. */
        assert_false(vt_term_colour_wanted(false, NULL, "xterm"));
        assert_false(vt_term_colour_wanted(true, NULL, "dumb"));
        assert_false(vt_term_colour_wanted(true, NULL, NULL));
        assert_false(vt_term_colour_wanted(true, NULL, ""));
        /* Redrawing a line in place is not colour: NO_COLOR leaves it alone. */
        assert_true(vt_term_capable(true, "linux"));
        assert_false(vt_term_capable(true, "dumb"));
        assert_false(vt_term_capable(false, "linux"));
}

static void test_cli_colour(void **state)
{
        vt_cli cli = {.prog = "vfiotx"};
        FILE *f = tmpfile();

        (void)state;
        assert_non_null(f);
        setenv("TERM", "xterm", 1);
        unsetenv("NO_COLOR");
        /* A file is no terminal. */
        assert_false(vt_cli_colour(&cli, f));
        fclose(f);
        cli.json = true;
        assert_false(vt_cli_colour(&cli, stdout));
        assert_false(vt_cli_live_progress(&cli));
        cli.json = false;
        cli.verbosity = 1;
        assert_false(vt_cli_live_progress(&cli));
}

static void test_styles(void **state)
{
        (void)state;
        assert_string_equal(vt_style_on(false, VT_STYLE_ERROR), "");
        assert_string_equal(vt_style_end(false), "");
        assert_string_equal(vt_style_on(true, VT_STYLE_ERROR), "\033[1;31m");
        assert_string_equal(vt_style_on(true, VT_STYLE_OK), "\033[32m");
        assert_string_equal(vt_style_end(true), "\033[0m");
}

static char *fit(const char *text, size_t cols, size_t *used)
{
        vt_buf b = VT_BUF_INIT;

        *used = vt_term_put_fit(&b, text, cols);
        return vt_buf_detach(&b);
}

static void test_put_fit(void **state)
{
        size_t used;
        char *s;

        (void)state;
        s = fit("update-initramfs: Generating /boot/initrd.img-6.1.0-26-amd64", 16, &used);
        assert_string_equal(s, "update-initramfs");
        assert_int_equal(used, 16);
        free(s);
        /* A tool's colours are dropped, tabs become spaces, other controls go. */
        s = fit("\033[1;32mok\033[0m\tdone\a", 80, &used);
        assert_string_equal(s, "ok done");
        assert_int_equal(used, 7);
        free(s);
        /* A line redrawn with \r shows its last part; a CRLF line is the line. */
        s = fit(" 10%\r 50%\r100%", 80, &used);
        assert_string_equal(s, "100%");
        free(s);
        s = fit("W: possible missing firmware\r", 80, &used);
        assert_string_equal(s, "W: possible missing firmware");
        free(s);
        /* UTF-8 kept whole: "é" is two bytes and one column; never half a character. */
        s = fit("caf\xc3\xa9 ol\xc3\xa9", 5, &used);
        assert_string_equal(s, "caf\xc3\xa9 ");
        assert_int_equal(used, 5);
        free(s);
        s = fit("ab\xc3", 80, &used);
        assert_string_equal(s, "ab");
        free(s);
        /* Bytes that are not UTF-8 are not passed to the terminal. */
        s = fit("a\xff\x80z", 80, &used);
        assert_string_equal(s, "az");
        free(s);
        /* An OSC sequence (a window title) and an unterminated CSI. */
        s = fit("\033]0;title\007x\033[", 80, &used);
        assert_string_equal(s, "x");
        free(s);
        s = fit("anything", 0, &used);
        assert_string_equal(s, "");
        assert_int_equal(used, 0);
        free(s);
}

static char *line(const char *cmd, const char *elapsed, const char *last, size_t width)
{
        vt_buf b = VT_BUF_INIT;

        vt_term_progress_line(&b, "[1/3]", cmd, elapsed, last, width);
        return vt_buf_detach(&b);
}

static void test_progress_line(void **state)
{
        const char *cmd = "update-initramfs -u -k 6.1.0-26-amd64";
        char *s;

        (void)state;
        s = line(cmd, "12 s", "update-initramfs: Generating /boot/initrd.img-6.1.0-26-amd64", 200);
        assert_string_equal(s, "[1/3] update-initramfs -u -k 6.1.0-26-amd64 ... 12 s  "
                               "update-initramfs: Generating /boot/initrd.img-6.1.0-26-amd64");
        free(s);
        /* 80 columns: 79 used, the tool's line cut. */
        s = line(cmd, "12 s", "update-initramfs: Generating /boot/initrd.img-6.1.0-26-amd64", 80);
        assert_int_equal(strlen(s), 79);
        assert_string_equal(s, "[1/3] update-initramfs -u -k 6.1.0-26-amd64 ... 12 s  "
                               "update-initramfs: Generat");
        free(s);
        /* No line yet, or a blank one: no trailing spaces. */
        s = line(cmd, "0 s", NULL, 80);
        assert_string_equal(s, "[1/3] update-initramfs -u -k 6.1.0-26-amd64 ... 0 s");
        free(s);
        s = line(cmd, "0 s", "\033[0m", 80);
        assert_string_equal(s, "[1/3] update-initramfs -u -k 6.1.0-26-amd64 ... 0 s");
        free(s);
        /* Narrower than the command: the command is cut, the counter and seconds stay. */
        s = line(cmd, "12 s", "output", 30);
        assert_string_equal(s, "[1/3] update-initram ... 12 s");
        assert_int_equal(strlen(s), 29);
        free(s);
        /* Degenerate widths never overflow. */
        s = line(cmd, "12 s", "output", 1);
        assert_string_equal(s, "");
        free(s);
        s = line(cmd, "12 s", "output", 8);
        assert_string_equal(s, "[1/3] ");
        free(s);
}

static void test_tail(void **state)
{
        const char *text = "one\ntwo\nthree\n";
        size_t skipped;

        (void)state;
        assert_ptr_equal(vt_term_tail(text, strlen(text), 100, &skipped), text);
        assert_int_equal(skipped, 0);
        /* The cut falls inside "two": the tail starts at the next line. */
        assert_string_equal(vt_term_tail(text, strlen(text), 8, &skipped), "three\n");
        assert_int_equal(skipped, 8);
        /* The cut falls right after a newline: that line is kept whole. */
        assert_string_equal(vt_term_tail(text, strlen(text), 10, &skipped), "two\nthree\n");
        assert_int_equal(skipped, 4);
        /* One line longer than the limit: cut inside it. */
        assert_string_equal(vt_term_tail("abcdefgh", 8, 3, &skipped), "fgh");
        assert_int_equal(skipped, 5);
        /* Output without a final newline. */
        assert_string_equal(vt_term_tail("aa\nbbbb", 7, 5, &skipped), "bbbb");
        assert_int_equal(skipped, 3);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_colour_wanted), cmocka_unit_test(test_cli_colour),
            cmocka_unit_test(test_styles),        cmocka_unit_test(test_put_fit),
            cmocka_unit_test(test_progress_line), cmocka_unit_test(test_tail),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
