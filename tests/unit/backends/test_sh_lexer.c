/* The sh lexer on its own: where statements and words end, what is an operator, what is refused
 * and where. The GRUB defaults editor built on it is tested in test_grub_default.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sh_lexer.h"
#include "common/buf.h"
#include "common/macro.h"

/* Every statement of `text`, its tokens as "word" or "<op>", joined with '|', statements
 * separated by " / "; so "a=1 b; c\n" reads "a=1|b|<;>|c". */
static char *lex_all(const char *text)
{
        vt_sh_statement st = {0};
        vt_buf out = VT_BUF_INIT;
        size_t len = strlen(text), pos = 0;
        vt_sh_error err;

        while (pos < len) {
                size_t before = pos;

                assert_int_equal(vt_sh_lex_statement(text, len, &pos, &st, &err), 0);
                assert_true(pos > before);
                if (before > 0)
                        assert_int_equal(vt_buf_puts(&out, " / "), 0);
                for (size_t i = 0; i < st.n; i++) {
                        const vt_sh_token *t = &st.t[i];

                        if (i)
                                assert_int_equal(vt_buf_putc(&out, '|'), 0);
                        if (t->op)
                                assert_int_equal(vt_buf_printf(&out, "<%c>", t->op), 0);
                        else
                                assert_int_equal(
                                    vt_buf_put(&out, text + t->start, t->end - t->start), 0);
                }
        }
        vt_sh_statement_free(&st);
        return vt_buf_detach(&out);
}

static void assert_lexes(const char *text, const char *want)
{
        char *got = lex_all(text);

        assert_string_equal(got, want);
        free(got);
}

/* The first statement that fails: its error's offset and text. */
static void assert_refused(const char *text, size_t off, const char *what)
{
        vt_sh_statement st = {0};
        size_t len = strlen(text), pos = 0;
        vt_sh_error err = {0};
        int r = 0;

        while (pos < len && (r = vt_sh_lex_statement(text, len, &pos, &st, &err)) == 0)
                ;
        assert_int_equal(r, -EINVAL);
        assert_int_equal(err.off, off);
        assert_string_equal(err.what, what);
        vt_sh_statement_free(&st);
}

static void test_statements_and_words(void **state)
{
        (void)state;
        assert_lexes("GRUB_TIMEOUT=5\n", "GRUB_TIMEOUT=5");
        assert_lexes("a=1\nb=2\n", "a=1 / b=2");
        assert_lexes("export A=1 B\n", "export|A=1|B");
        /* blank and comment lines are empty statements; '#' inside a word is not a comment */
        assert_lexes("\n# comment\na#b=1 # trailing\n", " /  / a#b=1");
        /* no final newline, and a CR before the newline or the end is part of the line ending */
        assert_lexes("a=1\r\nb=2\r", "a=1 / b=2");
        assert_lexes("a=x\ry\n", "a=x\ry");
        /* tabs and spaces separate words */
        assert_lexes(" \tif  true\t; then\n", "if|true|<;>|then");
}

static void test_quotes_and_nesting(void **state)
{
        (void)state;
        /* a quoted newline does not end the statement */
        assert_lexes("V=\"quiet\nsplash\"\nW=1\n", "V=\"quiet\nsplash\" / W=1");
        assert_lexes("V='a b'c\"d e\"\n", "V='a b'c\"d e\"");
        assert_lexes("V=\"$(echo \")\" x)\" y\n", "V=\"$(echo \")\" x)\"|y");
        assert_lexes("V=${X:-a b} `uname -r`\n", "V=${X:-a b}|`uname -r`");
        assert_lexes("V=$(a $(b \"c)\") d)\n", "V=$(a $(b \"c)\") d)");
        /* a backslash protects the next byte: a blank, a quote, a newline (continuation) */
        assert_lexes("V=a\\ b \\'x\n", "V=a\\ b|\\'x");
        assert_lexes("V=a\\\nb\nW\n", "V=a\\\nb / W");
        assert_lexes("V=\"a\\\"b\"\n", "V=\"a\\\"b\"");
}

static void test_operators(void **state)
{
        (void)state;
        assert_lexes("a&&b||c|d;e&\n", "a|<&>|<&>|b|<|>|<|>|c|<|>|d|<;>|e|<&>");
        assert_lexes("f() { x; }\n", "f|<(>|<)>|{|x|<;>|}");
        assert_lexes("echo a >/dev/null 2<x\n", "echo|a|<>>|/dev/null|2|<<>|x");
}

static void test_refusals(void **state)
{
        char deep[256];
        size_t n = 0;

        (void)state;
        assert_refused("a=1\ncat <<EOF\nx\nEOF\n", 8, "a here-document");
        /* named where the word starts */
        assert_refused("a=1\nV=\"quiet\n", 4,
                       "a quote or substitution in this word is never closed");
        assert_refused("V='x\n", 0, "a quote or substitution in this word is never closed");
        assert_refused("x V=$(a\n", 2, "a quote or substitution in this word is never closed");
        assert_refused("V=`a\n", 0, "a quote or substitution in this word is never closed");
        /* nesting past the limit is not read */
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "V=");
        for (int i = 0; i <= VT_SH_MAX_NESTING / 2 + 1; i++)
                n += (size_t)snprintf(deep + n, sizeof(deep) - n, "\"$(");
        for (int i = 0; i <= VT_SH_MAX_NESTING / 2 + 1; i++)
                n += (size_t)snprintf(deep + n, sizeof(deep) - n, ")\"");
        snprintf(deep + n, sizeof(deep) - n, "\n");
        assert_refused(deep, 0, "a quote or substitution in this word is never closed");
        /* a NULL err is allowed */
        {
                vt_sh_statement st = {0};
                size_t pos = 0;

                assert_int_equal(vt_sh_lex_statement("<<", 2, &pos, &st, NULL), -EINVAL);
                vt_sh_statement_free(&st);
        }
}

static void test_word_helpers(void **state)
{
        static const char s[] = "export GRUB_X=1 _a9 9a 'if' if a=";
        vt_sh_statement st = {0};
        size_t pos = 0;

        (void)state;
        assert_int_equal(vt_sh_lex_statement(s, strlen(s), &pos, &st, NULL), 0);
        assert_int_equal(st.n, 7);
        assert_true(vt_sh_token_is(s, &st.t[0], "export"));
        assert_false(vt_sh_token_is(s, &st.t[0], "expor"));
        assert_int_equal(vt_sh_assignment_name(s, &st.t[1]), strlen("GRUB_X"));
        assert_int_equal(vt_sh_assignment_name(s, &st.t[0]), 0);
        assert_int_equal(vt_sh_assignment_name(s, &st.t[6]), 1);
        assert_true(vt_sh_is_identifier(s, &st.t[2]));
        assert_false(vt_sh_is_identifier(s, &st.t[3]));
        assert_false(vt_sh_is_identifier(s, &st.t[1]));
        assert_false(vt_sh_token_is(s, &st.t[4], "if"));
        assert_true(vt_sh_token_is(s, &st.t[5], "if"));
        assert_true(vt_sh_is_name_start('_'));
        assert_false(vt_sh_is_name_start('9'));
        assert_true(vt_sh_is_name_char('9'));
        assert_false(vt_sh_is_name_char('-'));
        vt_sh_statement_free(&st);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_statements_and_words),
            cmocka_unit_test(test_quotes_and_nesting),
            cmocka_unit_test(test_operators),
            cmocka_unit_test(test_refusals),
            cmocka_unit_test(test_word_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
