#include "backends/cmdline.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

bool vt_cmdline_isspace(unsigned char c)
{
        /* The kernel's _ctype table: 0xa0 (Latin-1 no-break space) is a space too. */
        return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

bool vt_cmdline_name_eq(const char *a, const char *b)
{
        for (;; a++, b++) {
                char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

                if (x != y)
                        return false;
                if (!x)
                        return true;
        }
}

/* Parse one word [start, end) the way next_arg() hands it to parse_args(). */
static int parse_word(const char *s, size_t start, size_t end, char **name, char **value)
{
        size_t p = start, eq = end, vs, ve;
        bool quoted = false;

        if (p < end && s[p] == '"') {
                p++;
                quoted = true;
        }
        /* next_arg() keeps looking when '=' is the first byte (its "equals == 0" test). */
        for (size_t i = p + 1; i < end; i++)
                if (s[i] == '=') {
                        eq = i;
                        break;
                }
        *name = strndup(s + p, (eq < end ? eq : end) - p);
        *value = NULL;
        if (!*name)
                return -ENOMEM;
        if (eq == end) {
                /* A word that opened with a quote loses its closing quote, value or not. */
                if (quoted && end > p && s[end - 1] == '"' && strlen(*name) > 0)
                        (*name)[strlen(*name) - 1] = '\0';
                return 0;
        }
        vs = eq + 1;
        ve = end;
        if (vs < ve && s[vs] == '"') {
                vs++;
                if (ve > vs && s[ve - 1] == '"')
                        ve--;
        } else if (quoted && ve > vs && s[ve - 1] == '"') {
                ve--;
        }
        *value = strndup(s + vs, ve - vs);
        if (!*value) {
                free(*name);
                *name = NULL;
                return -ENOMEM;
        }
        return 0;
}

void vt_cmdline_words_free(vt_cmdline_words *w)
{
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].name);
                free(w->items[i].value);
        }
        free(w->items);
        w->items = NULL;
        w->n = w->n_kernel = 0;
        w->open_quote = false;
}

int vt_cmdline_split(const char *line, size_t len, vt_cmdline_words *out)
{
        vt_cmdline_words w = {NULL, 0, 0, false};
        size_t cap = 0, p = 0;
        bool dashdash = false;
        int r;

        for (;;) {
                size_t start;
                bool in_quote = false;
                vt_cmdline_word *word;

                while (p < len && vt_cmdline_isspace((unsigned char)line[p]))
                        p++;
                if (p >= len)
                        break;
                start = p;
                for (; p < len; p++) {
                        if (!in_quote && vt_cmdline_isspace((unsigned char)line[p]))
                                break;
                        if (line[p] == '"')
                                in_quote = !in_quote;
                }
                if (w.n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        vt_cmdline_word *n = realloc(w.items, ncap * sizeof(*n));

                        if (!n) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        w.items = n;
                        cap = ncap;
                }
                word = &w.items[w.n];
                *word = (vt_cmdline_word){start, p - start, NULL, NULL};
                r = parse_word(line, start, p, &word->name, &word->value);
                if (r < 0)
                        goto fail;
                w.n++;
                w.open_quote = in_quote;
                if (!dashdash && p - start == 2 && line[start] == '-' && line[start + 1] == '-') {
                        /* parse_args() stops at "--": the rest is init's. */
                        dashdash = true;
                        w.n_kernel = w.n - 1;
                }
        }
        if (!dashdash)
                w.n_kernel = w.n;
        *out = w;
        return 0;
fail:
        vt_cmdline_words_free(&w);
        return vt_error_set(r, "out of memory splitting a kernel command line");
}

/* How a parameter that the kernel accumulates is told apart from its siblings. */
static const char *param_key(const char *name, const char *value, size_t *keylen)
{
        if (vt_cmdline_name_eq(name, "video")) {
                const char *colon = value ? strchr(value, ':') : NULL;

                *keylen = colon ? (size_t)(colon - value) : 0;
                return value ? value : "";
        }
        if (vt_cmdline_name_eq(name, "console") || vt_cmdline_name_eq(name, "initcall_blacklist") ||
            vt_cmdline_name_eq(name, "iommu")) {
                *keylen = value ? strlen(value) : 0;
                return value ? value : "";
        }
        *keylen = 0;
        return "";
}

bool vt_cmdline_same_param(const char *name_a, const char *value_a, const char *name_b,
                           const char *value_b)
{
        size_t la, lb;
        const char *ka, *kb;

        if (!vt_cmdline_name_eq(name_a, name_b))
                return false;
        ka = param_key(name_a, value_a, &la);
        kb = param_key(name_b, value_b, &lb);
        if (la != lb || memcmp(ka, kb, la) != 0)
                return false;
        /* console=x and a bare "console" are different settings, as are their keys. */
        if (la == 0 && (vt_cmdline_name_eq(name_a, "console") ||
                        vt_cmdline_name_eq(name_a, "initcall_blacklist") ||
                        vt_cmdline_name_eq(name_a, "iommu")))
                return (value_a == NULL) == (value_b == NULL);
        return true;
}

static bool value_eq(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

bool vt_cmdline_matches_removal(const vt_cmdline_param *removal, const char *name,
                                const char *value)
{
        if (!vt_cmdline_name_eq(removal->name, name))
                return false;
        return removal->value == NULL || value_eq(removal->value, value);
}

static void param_free(vt_cmdline_param *p)
{
        free(p->word);
        free(p->name);
        free(p->value);
        *p = (vt_cmdline_param){NULL, NULL, NULL};
}

static int param_parse(const char *word, vt_cmdline_param *out)
{
        _cleanup_(vt_cmdline_words_free) vt_cmdline_words w = {NULL, 0, 0, false};
        size_t len = strlen(word);
        int r;

        r = vt_cmdline_split(word, len, &w);
        if (r < 0)
                return r;
        if (w.n != 1 || w.items[0].start != 0 || w.items[0].len != len)
                return vt_error_set(EINVAL, "'%s' is not a single kernel parameter", word);
        if (w.n_kernel != 1)
                return vt_error_set(EINVAL, "'--' is not a kernel parameter");
        if (w.items[0].name[0] == '\0')
                return vt_error_set(EINVAL, "'%s' has no parameter name", word);
        out->word = strdup(word);
        if (!out->word)
                return vt_error_set(ENOMEM, "out of memory");
        out->name = TAKE_PTR(w.items[0].name);
        out->value = TAKE_PTR(w.items[0].value);
        return 0;
}

static int param_push(vt_cmdline_param **arr, size_t *n, vt_cmdline_param *p)
{
        vt_cmdline_param *a = realloc(*arr, (*n + 1) * sizeof(*a));

        if (!a)
                return vt_error_set(ENOMEM, "out of memory");
        a[(*n)++] = *p;
        *arr = a;
        *p = (vt_cmdline_param){NULL, NULL, NULL};
        return 0;
}

/* Can this word be written into a command line at all? It goes into /etc/default/grub (sh),
 * grub.cfg (GRUB's script language, which grub-mkconfig does not escape for every character)
 * and /etc/kernel/cmdline. A quote it opens and never closes would swallow every later word, and
 * from then on every apply would be refused by vfiotx's own check; the characters below are
 * special to sh or to GRUB's parser (issue 14, 12). Kernel parameters do not need them. */
int vt_cmdline_param_addable(const char *word)
{
        static const char special[] = "'`$\\;&|<>(){}";
        size_t quotes = 0;

        for (const char *p = word; *p; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return vt_error_hint(
                            vt_error_set(EINVAL,
                                         "'%s' cannot be added: it holds a control "
                                         "character",
                                         word),
                            "give the parameter without it");
                if (strchr(special, *p))
                        return vt_error_hint(
                            vt_error_set(EINVAL,
                                         "'%s' cannot be added: '%c' is special to sh or "
                                         "to GRUB's script language",
                                         word, *p),
                            "vfiotx does not add parameters with ' ` $ \\ ; & | < > ( ) { }; set "
                            "such a parameter in /etc/default/grub (or /etc/kernel/cmdline) "
                            "yourself, quoted for it");
                quotes += *p == '"';
        }
        if (quotes % 2)
                return vt_error_hint(
                    vt_error_set(EINVAL, "'%s' cannot be added: it opens a '\"' it never closes",
                                 word),
                    "close the quote ('foo=\"a b\"'), or leave the quote out");
        return 0;
}

int vt_cmdline_change_add(vt_cmdline_change *c, const char *word)
{
        vt_cmdline_param p = {NULL, NULL, NULL};
        int r = param_parse(word, &p);

        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_remove; i++)
                if (vt_cmdline_matches_removal(&c->remove[i], p.name, p.value)) {
                        r = vt_error_set(EINVAL, "'%s' is both added and removed ('%s')", p.word,
                                         c->remove[i].word);
                        param_free(&p);
                        return r;
                }
        for (size_t i = 0; i < c->n_add; i++)
                if (vt_cmdline_same_param(c->add[i].name, c->add[i].value, p.name, p.value)) {
                        /* The later request wins, as it would on the command line. */
                        param_free(&c->add[i]);
                        c->add[i] = p;
                        return 0;
                }
        r = param_push(&c->add, &c->n_add, &p);
        param_free(&p);
        return r;
}

int vt_cmdline_change_remove(vt_cmdline_change *c, const char *word)
{
        vt_cmdline_param p = {NULL, NULL, NULL};
        int r = param_parse(word, &p);

        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_add; i++)
                if (vt_cmdline_matches_removal(&p, c->add[i].name, c->add[i].value)) {
                        r = vt_error_set(EINVAL, "'%s' is both added and removed ('%s')",
                                         c->add[i].word, p.word);
                        param_free(&p);
                        return r;
                }
        r = param_push(&c->remove, &c->n_remove, &p);
        param_free(&p);
        return r;
}

void vt_cmdline_change_free(vt_cmdline_change *c)
{
        for (size_t i = 0; i < c->n_add; i++)
                param_free(&c->add[i]);
        for (size_t i = 0; i < c->n_remove; i++)
                param_free(&c->remove[i]);
        free(c->add);
        free(c->remove);
        *c = (vt_cmdline_change)VT_CMDLINE_CHANGE_INIT;
}

enum { KEEP, DROP, REPLACE };

int vt_cmdline_apply(const char *line, size_t len, const vt_cmdline_change *c, vt_buf *out,
                     bool *changed)
{
        _cleanup_(vt_cmdline_words_free) vt_cmdline_words w = {NULL, 0, 0, false};
        _cleanup_free_ unsigned char *state = NULL;
        _cleanup_free_ const char **repl = NULL;
        _cleanup_free_ bool *gone = NULL;
        _cleanup_buf_ vt_buf ins = VT_BUF_INIT;
        _cleanup_buf_ vt_buf res = VT_BUF_INIT;
        size_t ins_pos = len, last = SIZE_MAX;
        bool before_dashdash = false;
        int r;

        r = vt_cmdline_split(line, len, &w);
        if (r < 0)
                return r;
        state = calloc(w.n + 1, 1);
        repl = calloc(w.n + 1, sizeof(*repl));
        gone = calloc(len + 1, sizeof(*gone));
        if (!state || !repl || !gone)
                return vt_error_set(ENOMEM, "out of memory editing a kernel command line");

        for (size_t i = 0; i < w.n_kernel; i++)
                for (size_t j = 0; j < c->n_remove; j++)
                        if (vt_cmdline_matches_removal(&c->remove[j], w.items[i].name,
                                                       w.items[i].value))
                                state[i] = DROP;

        for (size_t a = 0; a < c->n_add; a++) {
                const vt_cmdline_param *p = &c->add[a];
                size_t first = SIZE_MAX;
                bool all_same = true;

                for (size_t i = 0; i < w.n_kernel; i++) {
                        if (state[i] == DROP ||
                            !vt_cmdline_same_param(p->name, p->value, w.items[i].name,
                                                   w.items[i].value))
                                continue;
                        if (!value_eq(p->value, w.items[i].value))
                                all_same = false;
                        if (first == SIZE_MAX)
                                first = i;
                }
                if (first == SIZE_MAX) {
                        r = vt_buf_printf(&ins, "%s%s", ins.len ? " " : "", p->word);
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                        continue;
                }
                if (all_same)
                        continue;
                /* One word for the setting, where the user had it: the first occurrence. */
                for (size_t i = first + 1; i < w.n_kernel; i++)
                        if (state[i] != DROP &&
                            vt_cmdline_same_param(p->name, p->value, w.items[i].name,
                                                  w.items[i].value))
                                state[i] = DROP;
                if (value_eq(p->value, w.items[first].value))
                        continue;
                state[first] = REPLACE;
                repl[first] = p->word;
        }

        /* Bytes that go with each dropped word: the space before it when a kept word precedes
         * it, else the space after it. */
        for (size_t i = 0; i < w.n; i++) {
                const vt_cmdline_word *x = &w.items[i];
                size_t from = x->start, to = x->start + x->len;

                if (state[i] != DROP) {
                        if (i < w.n_kernel)
                                last = i;
                        continue;
                }
                if (last != SIZE_MAX)
                        from = w.items[i - 1].start + w.items[i - 1].len;
                else if (i + 1 < w.n)
                        to = w.items[i + 1].start;
                for (size_t b = from; b < to; b++)
                        gone[b] = true;
        }
        if (ins.len && w.open_quote)
                return vt_error_set(EINVAL,
                                    "the command line ends in a quote that is never closed; "
                                    "the kernel would read '%s' as part of its last word",
                                    vt_buf_cstr(&ins));
        if (ins.len) {
                if (last != SIZE_MAX) {
                        ins_pos = w.items[last].start + w.items[last].len;
                } else if (w.n_kernel < w.n) {
                        ins_pos = w.items[w.n_kernel].start;
                        before_dashdash = true;
                }
        }

        for (size_t p = 0, k = 0; p <= len; p++) {
                if (p == ins_pos && ins.len) {
                        r = vt_buf_printf(&res, "%s%s%s", last != SIZE_MAX ? " " : "",
                                          vt_buf_cstr(&ins), before_dashdash ? " " : "");
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                }
                if (p == len)
                        break;
                while (k < w.n && w.items[k].start < p)
                        k++;
                if (k < w.n && w.items[k].start == p && state[k] == REPLACE) {
                        r = vt_buf_puts(&res, repl[k]);
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                        p += w.items[k].len - 1;
                        continue;
                }
                if (!gone[p]) {
                        r = vt_buf_putc(&res, line[p]);
                        if (r < 0)
                                return vt_error_set(r, "out of memory");
                }
        }
        if (changed)
                *changed = res.len != len || (len && memcmp(res.ptr, line, len) != 0);
        vt_buf_free(out);
        *out = res;
        res = (vt_buf)VT_BUF_INIT;
        return 0;
}
