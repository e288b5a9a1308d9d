#include "backends/grub_default.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sh_lexer.h"
#include "common/error.h"
#include "common/macro.h"

#define NOPE SIZE_MAX

/* The file being scanned, and the variable being edited (for messages). */
typedef struct source {
        const char *path;
        const char *s;
        size_t len;
        const char *var;
} source;

static unsigned line_of(const source *x, size_t off)
{
        unsigned line = 1;

        for (size_t i = 0; i < off && i < x->len; i++)
                line += x->s[i] == '\n';
        return line;
}

static int refuse(const source *x, size_t off, const char *what)
{
        vt_error_set_at(EINVAL, x->path, line_of(x, off), "%s", what);
        return vt_error_hint(EINVAL,
                             "vfiotx edits %s only where it is a plain assignment it can read "
                             "safely; simplify that line (or set the parameters there yourself) "
                             "and run vfiotx again",
                             x->var);
}

/* Does [start, end) name the variable other than as a plain $VAR / ${VAR} read? */
static size_t bad_mention(const source *x, size_t start, size_t end)
{
        size_t vl = strlen(x->var);

        for (size_t i = start; i + vl <= end; i++) {
                if (memcmp(x->s + i, x->var, vl) != 0)
                        continue;
                if ((i > start && vt_sh_is_name_char(x->s[i - 1])) ||
                    (i + vl < end && vt_sh_is_name_char(x->s[i + vl])))
                        continue;
                if (i > start && x->s[i - 1] == '$')
                        continue;
                if (i > start + 1 && x->s[i - 1] == '{' && x->s[i - 2] == '$' && i + vl < end &&
                    x->s[i + vl] == '}')
                        continue;
                return i;
        }
        return NOPE;
}

/* ---- The value of an assignment to the variable, as pieces with their source bytes. ---- */

enum { CTX_NONE, CTX_DQ, CTX_SQ };
enum { P_LIT, P_REF, P_DELIM };

typedef struct piece {
        size_t src, srclen; /* the piece's bytes in the file */
        unsigned char kind, ctx;
        char c;    /* P_LIT: the byte it stands for after quote removal */
        bool self; /* P_REF: a reference to the variable being edited */
} piece;

typedef struct assignment {
        size_t file;
        size_t vs, ve; /* the value's bytes in the file */
        piece *p;
        size_t n, cap;
        size_t self_ref; /* index of the self reference piece, NOPE when none */
} assignment;

static int push_piece(assignment *a, piece pc)
{
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 32;
                piece *n = realloc(a->p, cap * sizeof(*n));

                if (!n)
                        return vt_error_set(ENOMEM, "out of memory");
                a->p = n;
                a->cap = cap;
        }
        a->p[a->n++] = pc;
        return 0;
}

/* A '$' at s[p] in context ctx: a reference piece, a literal '$', or a refusal. */
static int decode_dollar(const source *x, assignment *a, size_t p, size_t end, unsigned char ctx,
                         size_t *next)
{
        const char *s = x->s;
        size_t i = p + 1, ns, ne;

        if (i >= end || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '"') {
                *next = p + 1;
                return push_piece(a, (piece){p, 1, P_LIT, ctx, '$', false});
        }
        if (s[i] == '(')
                return refuse(x, p, "command substitution or arithmetic in the value");
        if (s[i] == '{') {
                ns = i + 1;
                ne = ns;
                while (ne < end && vt_sh_is_name_char(s[ne]))
                        ne++;
                if (ne == ns || !vt_sh_is_name_start(s[ns]) || ne >= end || s[ne] != '}')
                        return refuse(x, p, "a ${...} expansion other than ${NAME} in the value");
                *next = ne + 1;
        } else if (vt_sh_is_name_start(s[i])) {
                ns = i;
                ne = i;
                while (ne < end && vt_sh_is_name_char(s[ne]))
                        ne++;
                *next = ne;
        } else {
                return refuse(x, p, "a special parameter ($1, $@, $?...) in the value");
        }
        bool self = ne - ns == strlen(x->var) && memcmp(s + ns, x->var, ne - ns) == 0;
        if (self) {
                if (a->self_ref != NOPE)
                        return refuse(x, p, "the value refers to itself more than once");
                a->self_ref = a->n;
        }
        return push_piece(a, (piece){p, *next - p, P_REF, ctx, 0, self});
}

static int decode_value(const source *x, assignment *a)
{
        const char *s = x->s;
        size_t p = a->vs, end = a->ve;
        int r = 0;

        while (p < end && r >= 0) {
                char c = s[p];

                if (c == '\'') {
                        const char *q = memchr(s + p + 1, '\'', end - p - 1);
                        size_t close = (size_t)(q - s);

                        r = push_piece(a, (piece){p, 1, P_DELIM, CTX_SQ, 0, false});
                        for (size_t i = p + 1; i < close && r >= 0; i++)
                                r = push_piece(a, (piece){i, 1, P_LIT, CTX_SQ, s[i], false});
                        if (r >= 0)
                                r = push_piece(a, (piece){close, 1, P_DELIM, CTX_SQ, 0, false});
                        p = close + 1;
                } else if (c == '"') {
                        r = push_piece(a, (piece){p, 1, P_DELIM, CTX_DQ, 0, false});
                        p++;
                        while (r >= 0 && s[p] != '"') {
                                c = s[p];
                                if (c == '\\' && s[p + 1] == '\n')
                                        return refuse(
                                            x, p, "a backslash-newline continuation in the value");
                                if (c == '\\' && strchr("$`\"\\", s[p + 1])) {
                                        r = push_piece(
                                            a, (piece){p, 2, P_LIT, CTX_DQ, s[p + 1], false});
                                        p += 2;
                                } else if (c == '$') {
                                        r = decode_dollar(x, a, p, end, CTX_DQ, &p);
                                } else if (c == '`') {
                                        return refuse(x, p, "command substitution in the value");
                                } else {
                                        r = push_piece(a, (piece){p, 1, P_LIT, CTX_DQ, c, false});
                                        p++;
                                }
                        }
                        if (r >= 0)
                                r = push_piece(a, (piece){p, 1, P_DELIM, CTX_DQ, 0, false});
                        p++;
                } else if (c == '\\') {
                        if (p + 1 >= end || s[p + 1] == '\n')
                                return refuse(x, p,
                                              "a backslash-newline continuation in the value");
                        r = push_piece(a, (piece){p, 2, P_LIT, CTX_NONE, s[p + 1], false});
                        p += 2;
                } else if (c == '$') {
                        r = decode_dollar(x, a, p, end, CTX_NONE, &p);
                } else if (c == '`') {
                        return refuse(x, p, "command substitution in the value");
                } else if (c == '~') {
                        return refuse(x, p, "an unquoted '~' (tilde expansion) in the value");
                } else {
                        r = push_piece(a, (piece){p, 1, P_LIT, CTX_NONE, c, false});
                        p++;
                }
        }
        return r;
}

static void assignment_free(assignment *a)
{
        free(a->p);
        a->p = NULL;
        a->n = a->cap = 0;
}

/* ---- Scanning the files for the assignments in force. ---- */

typedef struct scan {
        assignment *a;
        size_t n, cap;
} scan;

/* Compound commands (if, case, loops, braces, subshells, functions) nest over several lines; an
 * assignment inside one may or may not run, so vfiotx cannot say which value is in force. The
 * nesting is followed through words in command position only, so "echo done" is not a "done". */
static int track_nesting(const source *x, const vt_sh_statement *st, int *depth, int *in_case,
                         bool *cont)
{
        static const char *const openers[] = {"if", "case", "for", "while", "until", "{"};
        static const char *const closers[] = {"fi", "esac", "done", "}"};
        static const char *const leaders[] = {"then", "else", "elif", "do", "!"};
        bool cmdpos = true;

        for (size_t i = 0; i < st->n; i++) {
                const vt_sh_token *t = &st->t[i];
                bool next_cmdpos = false;

                if (t->op) {
                        if (*in_case == 0 && t->op == '(')
                                (*depth)++;
                        else if (*in_case == 0 && t->op == ')' && *depth > 0)
                                (*depth)--;
                        cmdpos = t->op != '<' && t->op != '>';
                        continue;
                }
                if (!cmdpos)
                        continue;
                for (size_t k = 0; k < ARRAY_SIZE(openers); k++)
                        if (vt_sh_token_is(x->s, t, openers[k])) {
                                (*depth)++;
                                *in_case += k == 1;
                                next_cmdpos = k == 0 || k == 5;
                        }
                for (size_t k = 0; k < ARRAY_SIZE(closers); k++)
                        if (vt_sh_token_is(x->s, t, closers[k]) && *depth > 0) {
                                (*depth)--;
                                *in_case -= k == 1 && *in_case > 0;
                        }
                for (size_t k = 0; k < ARRAY_SIZE(leaders); k++)
                        next_cmdpos = next_cmdpos || vt_sh_token_is(x->s, t, leaders[k]);
                cmdpos = next_cmdpos;
        }
        /* A line ending in && || | goes on with the next one, conditionally. */
        *cont = st->n > 0 && (st->t[st->n - 1].op == '&' || st->t[st->n - 1].op == '|');
        return 0;
}

/* Is token i a ".", "source" or "eval" command? It is when it stands where a command starts:
 * first on the line, after ; & | ( ), or after a word that a command follows (then, else, do,
 * if, ...): `if [ -f x ]; then . x; fi` sources as surely as a line of its own. */
static bool sources_at(const source *x, const vt_sh_statement *st, size_t i)
{
        static const char *const before_cmd[] = {"then", "else", "elif",  "do",   "!",
                                                 "{",    "if",   "while", "until"};
        const vt_sh_token *t = &st->t[i];
        bool cmdpos = i == 0;

        if (t->op || !(vt_sh_token_is(x->s, t, ".") || vt_sh_token_is(x->s, t, "source") ||
                       vt_sh_token_is(x->s, t, "eval")))
                return false;
        if (i > 0 && st->t[i - 1].op)
                cmdpos = st->t[i - 1].op != '<' && st->t[i - 1].op != '>';
        for (size_t k = 0; i > 0 && !st->t[i - 1].op && k < ARRAY_SIZE(before_cmd); k++)
                cmdpos = cmdpos || vt_sh_token_is(x->s, &st->t[i - 1], before_cmd[k]);
        return cmdpos;
}

static int scan_statement(const source *x, size_t file, const vt_sh_statement *st, scan *sc,
                          bool nested)
{
        size_t first = 0, words = st->n, n_assign = 0, target = NOPE, bad;

        if (st->n == 0)
                return 0;
        /* A trailing ';' does not make an assignment less plain. */
        if (st->t[st->n - 1].op == ';')
                words--;
        if (vt_sh_token_is(x->s, &st->t[0], "export"))
                first = 1;
        for (size_t i = first; i < words; i++) {
                size_t nl = vt_sh_assignment_name(x->s, &st->t[i]);

                if (!nl)
                        break;
                n_assign++;
                if (nl == strlen(x->var) && memcmp(x->s + st->t[i].start, x->var, nl) == 0)
                        target = i;
        }
        if (first + n_assign == words && n_assign > 0) {
                for (size_t i = first; i < words; i++) {
                        if (i == target)
                                continue;
                        bad = bad_mention(x, st->t[i].start, st->t[i].end);
                        if (bad != NOPE)
                                return refuse(
                                    x, bad,
                                    "this changes the variable in a way vfiotx cannot follow");
                }
                if (target == NOPE)
                        return 0;
                if (nested)
                        return refuse(x, st->t[target].start,
                                      "an assignment inside a compound command (if, case, a loop, "
                                      "a function) or after && or ||");
                if (n_assign > 1)
                        return refuse(x, st->t[target].start,
                                      "the assignment shares its line with other assignments");
                if (sc->n == sc->cap) {
                        size_t cap = sc->cap ? sc->cap * 2 : 4;
                        assignment *na = realloc(sc->a, cap * sizeof(*na));

                        if (!na)
                                return vt_error_set(ENOMEM, "out of memory");
                        sc->a = na;
                        sc->cap = cap;
                }
                assignment *a = &sc->a[sc->n++];
                *a = (assignment){
                    file, st->t[target].start + strlen(x->var) + 1, st->t[target].end, NULL, 0, 0,
                    NOPE};
                /* A CR before the newline belongs to the line ending, not to the value. */
                if (a->ve > a->vs && x->s[a->ve - 1] == '\r' && a->ve == x->len)
                        a->ve--;
                return decode_value(x, a);
        }
        if (first == 1) {
                bool plain = true;

                for (size_t i = 1; i < st->n; i++)
                        plain = plain && vt_sh_is_identifier(x->s, &st->t[i]);
                if (plain)
                        return 0;
        }
        for (size_t i = 0; i < st->n; i++)
                if (sources_at(x, st, i))
                        return refuse(x, st->t[i].start,
                                      "sourcing or eval: vfiotx cannot tell what it sets");
        for (size_t i = 0; i < st->n; i++) {
                bad = bad_mention(x, st->t[i].start, st->t[i].end);
                if (bad != NOPE)
                        return refuse(x, bad,
                                      "this changes the variable in a way vfiotx cannot follow");
        }
        return 0;
}

static int scan_file(const source *x, size_t file, scan *sc)
{
        _cleanup_(vt_sh_statement_free) vt_sh_statement st = {NULL, 0, 0};
        size_t pos = 0;
        int depth = 0, in_case = 0, r;
        bool cont = false;

        while (pos < x->len) {
                vt_sh_error err;
                bool nested;

                r = vt_sh_lex_statement(x->s, x->len, &pos, &st, &err);
                if (r == -EINVAL)
                        return refuse(x, err.off, err.what);
                if (r < 0)
                        return r;
                nested = depth > 0 || cont;
                r = track_nesting(x, &st, &depth, &in_case, &cont);
                if (r >= 0)
                        r = scan_statement(x, file, &st, sc, nested || depth > 0);
                if (r < 0)
                        return r;
        }
        if (depth > 0 || cont)
                return refuse(x, x->len,
                              "a compound command (if, case, a loop, a brace, a "
                              "parenthesis, && or ||) that is never closed");
        return 0;
}

/* ---- The value in force as kernel words, and the edit. ---- */

enum { KEEP, DROP, REPLACE };

typedef struct entry {
        size_t a;           /* assignment (index in the scan) */
        size_t pf, pl;      /* its first and last piece, inclusive */
        char *name, *value; /* as the kernel sees them; name NULL when a reference hides it */
        bool opaque;        /* holds a reference to another variable: never edited */
        bool splice;        /* the self reference: the earlier value's words go here */
        int state;
        const char *repl;
} entry;

typedef struct edit {
        scan sc;
        entry *e; /* every token of the assignments in the chain, by assignment */
        size_t n_e, cap_e;
        size_t *order; /* the tokens of the value in force, in kernel order */
        size_t n_order;
} edit;

static int push_entry(edit *ed, entry en)
{
        if (ed->n_e == ed->cap_e) {
                size_t cap = ed->cap_e ? ed->cap_e * 2 : 32;
                entry *n = realloc(ed->e, cap * sizeof(*n));

                if (!n)
                        return vt_error_set(ENOMEM, "out of memory");
                ed->e = n;
                ed->cap_e = cap;
        }
        ed->e[ed->n_e++] = en;
        return 0;
}

/* Split one assignment's value into kernel words; tokens are appended to ed->e. */
static int tokenize_assignment(const source *x, edit *ed, size_t ai)
{
        const assignment *a = &ed->sc.a[ai];
        _cleanup_(vt_cmdline_words_free) vt_cmdline_words w = {NULL, 0, 0, false};
        _cleanup_free_ char *d = malloc(a->n + 1);
        _cleanup_free_ size_t *map = malloc((a->n + 1) * sizeof(size_t));
        size_t nd = 0;
        int r;

        if (!d || !map)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < a->n; i++) {
                if (a->p[i].kind == P_DELIM)
                        continue;
                /* A reference is one opaque non-space byte for the splitter. */
                d[nd] = a->p[i].kind == P_REF ? 'R' : a->p[i].c;
                map[nd++] = i;
        }
        r = vt_cmdline_split(d, nd, &w);
        if (r < 0)
                return r;
        if (w.open_quote)
                return refuse(x, a->vs,
                              "a '\"' in the value is never closed: the kernel would read the rest "
                              "of the line as one word");
        for (size_t i = 0; i < w.n; i++) {
                vt_cmdline_word *wd = &w.items[i];
                entry en = {ai,    map[wd->start], map[wd->start + wd->len - 1],
                            NULL,  NULL,           false,
                            false, KEEP,           NULL};
                size_t eq = wd->start + strlen(wd->name), refs = 0, self = 0;
                bool name_hidden = false;

                for (size_t k = wd->start; k < wd->start + wd->len; k++) {
                        const piece *pc = &a->p[map[k]];

                        if (pc->kind != P_REF)
                                continue;
                        refs++;
                        self += pc->self;
                        name_hidden = name_hidden || k <= eq;
                }
                if (self && (refs > 1 || wd->len != 1))
                        return refuse(x, a->p[en.pf].src,
                                      "the self reference is glued to other text");
                en.splice = self;
                en.opaque = refs && !self;
                if (!name_hidden) {
                        en.name = TAKE_PTR(wd->name);
                        en.value = en.opaque ? NULL : TAKE_PTR(wd->value);
                }
                r = push_entry(ed, en);
                if (r < 0) {
                        free(en.name);
                        free(en.value);
                        return r;
                }
        }
        return 0;
}

static int push_order(edit *ed, size_t idx)
{
        size_t *n = realloc(ed->order, (ed->n_order + 1) * sizeof(*n));

        if (!n)
                return vt_error_set(ENOMEM, "out of memory");
        ed->order = n;
        ed->order[ed->n_order++] = idx;
        return 0;
}

/* Tokens of assignment ai, with its self reference replaced by the earlier value's tokens. */
static int expand(edit *ed, size_t ai)
{
        int r;

        for (size_t i = 0; i < ed->n_e; i++) {
                if (ed->e[i].a != ai)
                        continue;
                if (ed->e[i].splice)
                        r = ai > 0 ? expand(ed, ai - 1) : 0;
                else
                        r = push_order(ed, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void edit_free(edit *ed)
{
        for (size_t i = 0; i < ed->n_e; i++) {
                free(ed->e[i].name);
                free(ed->e[i].value);
        }
        free(ed->e);
        free(ed->order);
        for (size_t i = 0; i < ed->sc.n; i++)
                assignment_free(&ed->sc.a[i]);
        free(ed->sc.a);
}

static bool value_eq(const char *a, const char *b)
{
        return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

static bool unquoted_safe(char c)
{
        return vt_sh_is_name_char(c) || (c && strchr("-.,:/=+@%", c));
}

static int encode(vt_buf *b, const char *text, unsigned char ctx)
{
        int r = 0;

        for (const char *t = text; *t && r >= 0; t++) {
                if (ctx == CTX_SQ && *t == '\'')
                        r = vt_buf_puts(b, "'\\''");
                else if (ctx == CTX_DQ && strchr("\"\\$`", *t))
                        r = vt_buf_printf(b, "\\%c", *t);
                else if (ctx == CTX_NONE && !unquoted_safe(*t))
                        r = vt_buf_printf(b, "\\%c", *t);
                else
                        r = vt_buf_putc(b, *t);
        }
        return r;
}

static bool needs_quotes(const char *text)
{
        for (; *text; text++)
                if (!unquoted_safe(*text))
                        return true;
        return false;
}

/* The new text of assignment ai's value. */
static int render(const source *x, const edit *ed, size_t ai, const vt_buf *append, vt_buf *out)
{
        const assignment *a = &ed->sc.a[ai];
        _cleanup_free_ bool *del = calloc(a->n + 1, sizeof(bool));
        _cleanup_free_ const char **repl = calloc(a->n + 1, sizeof(char *));
        _cleanup_buf_ vt_buf ins = VT_BUF_INIT;
        size_t q = NOPE, last = NOPE, prev = NOPE;
        unsigned char qctx = CTX_NONE;
        bool wrap = false;
        int r;

        if (!del || !repl)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < ed->n_e; i++) {
                const entry *en = &ed->e[i];
                size_t from = en->pf, to = en->pl;

                if (en->a != ai)
                        continue;
                if (en->state == KEEP) {
                        prev = last = i;
                        continue;
                }
                if (en->state == REPLACE) {
                        repl[en->pf] = en->repl;
                        prev = last = i;
                } else if (prev != NOPE) {
                        from = ed->e[prev].pl + 1;
                } else {
                        for (size_t j = i + 1; j < ed->n_e; j++)
                                if (ed->e[j].a == ai) {
                                        to = ed->e[j].pf - 1;
                                        break;
                                }
                }
                for (size_t k = from; k <= to; k++)
                        del[k] = a->p[k].kind != P_DELIM;
        }
        if (append && append->len) {
                if (last != NOPE) {
                        q = ed->e[last].pl + 1;
                        qctx = a->p[ed->e[last].pl].ctx;
                        r = vt_buf_putc(&ins, ' ');
                } else {
                        q = a->n;
                        for (size_t k = a->n; k-- > 0;)
                                if (a->p[k].kind == P_DELIM) {
                                        q = k;
                                        qctx = a->p[k].ctx;
                                        break;
                                }
                        r = 0;
                }
                if (r >= 0)
                        r = vt_buf_put(&ins, append->ptr, append->len);
                if (r < 0)
                        return vt_error_set(r, "out of memory");
                wrap = qctx == CTX_NONE && needs_quotes(vt_buf_cstr(&ins));
        }

        /* A quoted region whose every byte went (a word that was quoted on its own, or the
         * '\'' of a single quote) goes with its quotes, unless nothing else is left. */
        {
                size_t open = NOPE, kept = 0, dropped = NOPE;
                bool had = false, all = true;

                for (size_t i = 0; i < a->n; i++) {
                        if (a->p[i].kind != P_DELIM) {
                                had = had || open != NOPE;
                                all = all && (open == NOPE || del[i]);
                                kept += !del[i];
                                continue;
                        }
                        if (open == NOPE) {
                                open = i;
                                had = false;
                                all = true;
                                continue;
                        }
                        if (had && all && repl[open + 1] == NULL && q != i) {
                                del[open] = del[i] = true;
                                dropped = open;
                        } else {
                                kept += 2;
                        }
                        open = NOPE;
                }
                if (kept == 0 && q == NOPE && dropped != NOPE) {
                        size_t k = dropped + 1;

                        while (a->p[k].kind != P_DELIM)
                                k++;
                        del[dropped] = del[k] = false;
                }
        }

        r = wrap ? vt_buf_putc(out, '"') : 0;
        for (size_t i = 0; i <= a->n && r >= 0; i++) {
                unsigned char ctx = wrap ? CTX_DQ : (i < a->n ? a->p[i].ctx : qctx);

                if (i == q)
                        r = encode(out, vt_buf_cstr(&ins), wrap ? CTX_DQ : qctx);
                if (i == a->n || r < 0)
                        break;
                if (repl[i])
                        r = encode(out, repl[i], ctx);
                if (del[i] || r < 0)
                        continue;
                if (!wrap)
                        r = vt_buf_put(out, x->s + a->p[i].src, a->p[i].srclen);
                else if (a->p[i].kind == P_LIT)
                        r = encode(out, (char[]){a->p[i].c, 0}, CTX_DQ);
                else if (a->p[i].kind == P_REF)
                        r = vt_buf_put(out, x->s + a->p[i].src, a->p[i].srclen);
        }
        if (r >= 0 && wrap)
                r = vt_buf_putc(out, '"');
        return r < 0 ? vt_error_set(r, "out of memory") : 0;
}

/* Decide what happens to each word of the value in force; collect the words to append. */
static int plan(const vt_grub_file *files, edit *ed, const char *var, const vt_cmdline_change *c,
                vt_buf *append)
{
        for (size_t o = 0; o < ed->n_order; o++) {
                entry *en = &ed->e[ed->order[o]];
                const assignment *a = &ed->sc.a[en->a];
                source x = {files[a->file].path, files[a->file].data, files[a->file].len, var};

                if (!en->opaque && en->name && !en->value && strcmp(en->name, "--") == 0)
                        return refuse(&x, a->p[en->pf].src, "a \"--\" word in the value");
                for (size_t j = 0; j < c->n_remove; j++) {
                        if (en->opaque && en->name &&
                            vt_cmdline_name_eq(en->name, c->remove[j].name))
                                return refuse(&x, a->p[en->pf].src,
                                              "the parameter's value comes from another variable");
                        if (!en->opaque && en->name &&
                            vt_cmdline_matches_removal(&c->remove[j], en->name, en->value))
                                en->state = DROP;
                }
                for (size_t j = 0; j < c->n_add; j++)
                        if (en->opaque && en->name && vt_cmdline_name_eq(en->name, c->add[j].name))
                                return refuse(&x, a->p[en->pf].src,
                                              "the parameter's value comes from another variable");
        }
        for (size_t j = 0; j < c->n_add; j++) {
                const vt_cmdline_param *p = &c->add[j];
                entry *first = NULL;
                bool all_same = true;
                int r;

                for (size_t o = 0; o < ed->n_order; o++) {
                        entry *en = &ed->e[ed->order[o]];

                        if (en->opaque || !en->name || en->state == DROP ||
                            !vt_cmdline_same_param(p->name, p->value, en->name, en->value))
                                continue;
                        if (!value_eq(p->value, en->value))
                                all_same = false;
                        if (!first)
                                first = en;
                }
                if (!first) {
                        r = vt_buf_printf(append, "%s%s", append->len ? " " : "", p->word);
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                        continue;
                }
                /* Already there: every occurrence stays as the user wrote it. */
                if (all_same)
                        continue;
                /* One word for the setting, where the user had it first. */
                for (size_t o = 0; o < ed->n_order; o++) {
                        entry *en = &ed->e[ed->order[o]];

                        if (en != first && !en->opaque && en->name &&
                            vt_cmdline_same_param(p->name, p->value, en->name, en->value))
                                en->state = DROP;
                }
                if (!value_eq(p->value, first->value)) {
                        first->state = REPLACE;
                        first->repl = p->word;
                }
        }
        return 0;
}

static int append_assignment(const vt_grub_file *f, const char *var, const vt_buf *words,
                             vt_buf *out)
{
        const char *nl = f->len ? memchr(f->data, '\n', f->len) : NULL;
        const char *eol = nl && nl > f->data && nl[-1] == '\r' ? "\r\n" : "\n";
        int r;

        r = vt_buf_set(out, f->data, f->len);
        if (r >= 0 && f->len && f->data[f->len - 1] != '\n')
                r = vt_buf_puts(out, eol);
        if (r >= 0)
                r = vt_buf_printf(out, "%s=\"", var);
        if (r >= 0)
                r = encode(out, vt_buf_cstr(words), CTX_DQ);
        if (r >= 0)
                r = vt_buf_printf(out, "\"%s", eol);
        return r < 0 ? vt_error_set(r, "out of memory") : 0;
}

int vt_grub_default_edit(const vt_grub_file *files, size_t n, const char *variable,
                         const vt_cmdline_change *change, vt_buf *out, bool *changed)
{
        _cleanup_(edit_free) edit ed = {{NULL, 0, 0}, NULL, 0, 0, NULL, 0};
        _cleanup_buf_ vt_buf append = VT_BUF_INIT;
        size_t k;
        int r;

        if (n == 0)
                return vt_error_set(EINVAL, "no GRUB defaults file to edit");
        for (size_t f = 0; f < n; f++) {
                source x = {files[f].path, files[f].data ? files[f].data : "", files[f].len,
                            variable};

                if (files[f].len && memchr(files[f].data, '\0', files[f].len))
                        return refuse(
                            &x,
                            (size_t)((const char *)memchr(files[f].data, '\0', files[f].len) -
                                     files[f].data),
                            "a NUL byte: not a shell fragment");
                r = scan_file(&x, f, &ed.sc);
                if (r < 0)
                        return r;
        }
        /* The chain: the last assignment, and those its self references build on. */
        k = ed.sc.n;
        while (k > 0) {
                k--;
                const assignment *a = &ed.sc.a[k];
                source x = {files[a->file].path, files[a->file].data, files[a->file].len, variable};

                r = tokenize_assignment(&x, &ed, k);
                if (r < 0)
                        return r;
                if (a->self_ref == NOPE)
                        break;
        }
        if (ed.sc.n > 0) {
                r = expand(&ed, ed.sc.n - 1);
                if (r < 0)
                        return r;
        }
        r = plan(files, &ed, variable, change, &append);
        if (r < 0)
                return r;

        if (ed.sc.n == 0 && append.len) {
                const vt_grub_file *g = &files[0];
                size_t l = g->len;
                source x = {g->path, g->data, g->len, variable};

                l -= l && g->data[l - 1] == '\n';
                l -= l && g->data[l - 1] == '\r';
                /* A last line continued with '\' would swallow the appended assignment. */
                if (l && g->data[l - 1] == '\\')
                        return refuse(&x, l - 1, "the file ends in a line continuation");
        }
        for (size_t f = 0; f < n; f++) {
                const char *data = files[f].data ? files[f].data : "";
                size_t at = 0;

                vt_buf_clear(&out[f]);
                if (ed.sc.n == 0 && f == 0 && append.len) {
                        r = append_assignment(&files[0], variable, &append, &out[0]);
                        if (r < 0)
                                return r;
                } else {
                        for (size_t i = k; i < ed.sc.n && ed.sc.n > 0; i++) {
                                const assignment *a = &ed.sc.a[i];
                                source x = {files[f].path, data, files[f].len, variable};

                                if (a->file != f)
                                        continue;
                                r = vt_buf_put(&out[f], data + at, a->vs - at);
                                if (r >= 0)
                                        r = render(&x, &ed, i, i == ed.sc.n - 1 ? &append : NULL,
                                                   &out[f]);
                                if (r < 0)
                                        return vt_error_set(r, "out of memory");
                                at = a->ve;
                        }
                        r = vt_buf_put(&out[f], data + at, files[f].len - at);
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                }
                if (changed)
                        changed[f] = out[f].len != files[f].len ||
                                     (out[f].len && memcmp(out[f].ptr, data, out[f].len) != 0);
        }
        return 0;
}
