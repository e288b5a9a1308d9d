#include "backends/sh_lexer.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define NOPE SIZE_MAX

typedef struct text {
        const char *s;
        size_t len;
} text;

bool vt_sh_is_name_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool vt_sh_is_name_char(char c)
{
        return vt_sh_is_name_start(c) || (c >= '0' && c <= '9');
}

/* ---- Skipping over quoted and nested constructs to find where words end. ---- */

static size_t skip_dq(const text *x, size_t p, int depth);

static size_t skip_backtick(const text *x, size_t p)
{
        for (size_t i = p + 1; i < x->len; i++) {
                if (x->s[i] == '\\')
                        i++;
                else if (x->s[i] == '`')
                        return i + 1;
        }
        return NOPE;
}

static size_t skip_sq(const text *x, size_t p)
{
        const char *q = memchr(x->s + p + 1, '\'', x->len - p - 1);

        return q ? (size_t)(q - x->s) + 1 : NOPE;
}

/* From an opening '(' or '{' to after its match. */
static size_t skip_group(const text *x, size_t p, int depth)
{
        char open = x->s[p], close = open == '(' ? ')' : '}';
        unsigned level = 1;
        size_t i = p + 1;

        if (depth > VT_SH_MAX_NESTING)
                return NOPE;
        while (i < x->len) {
                char c = x->s[i];

                if (c == '\\') {
                        i += 2;
                } else if (c == '\'') {
                        i = skip_sq(x, i);
                } else if (c == '"') {
                        i = skip_dq(x, i, depth + 1);
                } else if (c == '`') {
                        i = skip_backtick(x, i);
                } else {
                        if (c == open)
                                level++;
                        else if (c == close && --level == 0)
                                return i + 1;
                        i++;
                }
                if (i == NOPE)
                        return NOPE;
        }
        return NOPE;
}

static size_t skip_dq(const text *x, size_t p, int depth)
{
        size_t i = p + 1;

        if (depth > VT_SH_MAX_NESTING)
                return NOPE;
        while (i < x->len) {
                char c = x->s[i];

                if (c == '\\')
                        i += 2;
                else if (c == '"')
                        return i + 1;
                else if (c == '$' && i + 1 < x->len && (x->s[i + 1] == '(' || x->s[i + 1] == '{'))
                        i = skip_group(x, i + 1, depth + 1);
                else if (c == '`')
                        i = skip_backtick(x, i);
                else
                        i++;
                if (i == NOPE)
                        return NOPE;
        }
        return NOPE;
}

/* ---- Statements: the words and operators of one logical line. ---- */

void vt_sh_statement_free(vt_sh_statement *st)
{
        free(st->t);
        st->t = NULL;
        st->n = st->cap = 0;
}

static int push_token(vt_sh_statement *st, size_t start, size_t end, char op)
{
        if (st->n == st->cap) {
                size_t cap = st->cap ? st->cap * 2 : 8;
                vt_sh_token *t = realloc(st->t, cap * sizeof(*t));

                if (!t)
                        return vt_error_set(ENOMEM, "out of memory");
                st->t = t;
                st->cap = cap;
        }
        st->t[st->n++] = (vt_sh_token){start, end, op};
        return 0;
}

static int lex_error(vt_sh_error *err, size_t off, const char *what)
{
        if (err)
                *err = (vt_sh_error){off, what};
        return -EINVAL;
}

int vt_sh_lex_statement(const char *s, size_t len, size_t *pos, vt_sh_statement *st,
                        vt_sh_error *err)
{
        const text x = {s, len};
        size_t p = *pos, word = NOPE;
        int r;

        st->n = 0;
        while (p < len) {
                char c = s[p];
                size_t q;

                if (c == '\n' || (c == '\r' && (p + 1 == len || s[p + 1] == '\n')) || c == ' ' ||
                    c == '\t' || strchr(";&|()<>", c)) {
                        if (word != NOPE) {
                                r = push_token(st, word, p, 0);
                                if (r < 0)
                                        return r;
                                word = NOPE;
                        }
                        if (c == '\n') {
                                p++;
                                break;
                        }
                        if (c == '<' && p + 1 < len && s[p + 1] == '<')
                                return lex_error(err, p, "a here-document");
                        if (strchr(";&|()<>", c)) {
                                r = push_token(st, p, p + 1, c);
                                if (r < 0)
                                        return r;
                        }
                        p++;
                        continue;
                }
                if (c == '#' && word == NOPE) {
                        while (p < len && s[p] != '\n')
                                p++;
                        continue;
                }
                if (word == NOPE)
                        word = p;
                q = p + 1;
                if (c == '\\')
                        q = p + 2 > len ? len : p + 2;
                else if (c == '\'')
                        q = skip_sq(&x, p);
                else if (c == '"')
                        q = skip_dq(&x, p, 0);
                else if (c == '`')
                        q = skip_backtick(&x, p);
                else if (c == '$' && p + 1 < len && (s[p + 1] == '(' || s[p + 1] == '{'))
                        q = skip_group(&x, p + 1, 0);
                /* Named where the word starts: that is where a quote went missing. */
                if (q == NOPE)
                        return lex_error(err, word,
                                         "a quote or substitution in this word is never closed");
                p = q;
        }
        if (word != NOPE) {
                r = push_token(st, word, p > len ? len : p, 0);
                if (r < 0)
                        return r;
        }
        *pos = p;
        return 0;
}

bool vt_sh_token_is(const char *s, const vt_sh_token *t, const char *word)
{
        size_t l = strlen(word);

        return !t->op && t->end - t->start == l && memcmp(s + t->start, word, l) == 0;
}

size_t vt_sh_assignment_name(const char *s, const vt_sh_token *t)
{
        size_t i = t->start;

        if (t->op || !vt_sh_is_name_start(s[i]))
                return 0;
        while (i < t->end && vt_sh_is_name_char(s[i]))
                i++;
        return i < t->end && s[i] == '=' ? i - t->start : 0;
}

bool vt_sh_is_identifier(const char *s, const vt_sh_token *t)
{
        if (t->op || !vt_sh_is_name_start(s[t->start]))
                return false;
        for (size_t i = t->start; i < t->end; i++)
                if (!vt_sh_is_name_char(s[i]))
                        return false;
        return true;
}
