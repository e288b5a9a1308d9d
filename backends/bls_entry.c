/* Boot Loader Specification Type #1 entries and counter names, as systemd-boot 252 reads them
 * (bls_entry.h). */
#include "backends/bls_entry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

void vt_bls_entry_free(vt_bls_entry *e)
{
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++) {
                free(e->lines[i].text);
                free(e->lines[i].key);
                free(e->lines[i].value);
        }
        free(e->lines);
        e->lines = NULL;
        e->n = 0;
}

int vt_bls_line_split(const char *text, size_t len, char **key, char **value)
{
        const char *s = text, *end = text + len, *k_end, *v;
        char *k = NULL, *val = NULL;

        *key = NULL;
        *value = NULL;
        while (s < end && is_blank(*s))
                s++;
        while (end > s && is_blank(end[-1]))
                end--;
        if (s == end || *s == '#')
                return 0;
        for (k_end = s; k_end < end && !is_blank(*k_end); k_end++)
                ;
        if (k_end == end)
                return 0; /* a key without a value: the loader skips the line */
        for (v = k_end; v < end && is_blank(*v); v++)
                ;
        /* One pair of quotes goes when the value starts with one and the line ends with one
         * (the same character when the value is a lone '"': it then reads as empty). */
        if (*v == '"' && end[-1] == '"') {
                v++;
                end--;
                if (v > end)
                        v = end;
        }
        k = strndup(s, (size_t)(k_end - s));
        val = strndup(v, (size_t)(end - v));
        if (!k || !val) {
                free(k);
                free(val);
                return vt_error_set(ENOMEM, "out of memory");
        }
        *key = k;
        *value = val;
        return 0;
}

static int append_line(vt_bls_entry *e, const char *text, size_t len, char eol)
{
        vt_bls_line *grown = realloc(e->lines, (e->n + 1) * sizeof(*grown));
        vt_bls_line l = {NULL, eol, NULL, NULL};
        int r;

        if (!grown)
                return vt_error_set(ENOMEM, "out of memory");
        e->lines = grown;
        l.text = strndup(text, len);
        if (!l.text)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_bls_line_split(text, len, &l.key, &l.value);
        if (r < 0) {
                free(l.text);
                return r;
        }
        e->lines[e->n++] = l;
        return 0;
}

int vt_bls_entry_parse(const void *data, size_t len, const char *where, vt_bls_entry *out)
{
        const char *p = data, *end = p + len;
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        int r;

        if (len > 0 && memchr(p, '\0', len))
                return vt_error_set(EBADMSG, "%s: NUL byte at offset %td", where,
                                    (const char *)memchr(p, '\0', len) - p);
        while (p < end) {
                const char *eol = p;

                while (eol < end && *eol != '\n' && *eol != '\r')
                        eol++;
                r = append_line(&e, p, (size_t)(eol - p), eol < end ? *eol : '\0');
                if (r < 0)
                        return r;
                p = eol < end ? eol + 1 : end;
        }
        *out = e;
        e = (vt_bls_entry)VT_BLS_ENTRY_INIT;
        return 0;
}

int vt_bls_entry_format(const vt_bls_entry *e, vt_buf *out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;

        for (size_t i = 0; i < e->n; i++) {
                if (vt_buf_puts(&b, e->lines[i].text) < 0 ||
                    (e->lines[i].eol && vt_buf_putc(&b, e->lines[i].eol) < 0))
                        return vt_error_set(ENOMEM, "out of memory");
        }
        vt_buf_free(out);
        *out = b;
        b = (vt_buf)VT_BUF_INIT;
        return 0;
}

static bool key_is(const vt_bls_line *l, const char *key)
{
        return l->key && strcmp(l->key, key) == 0;
}

const char *vt_bls_entry_get(const vt_bls_entry *e, const char *key)
{
        for (size_t i = e->n; i > 0; i--)
                if (key_is(&e->lines[i - 1], key))
                        return e->lines[i - 1].value;
        return NULL;
}

size_t vt_bls_entry_count(const vt_bls_entry *e, const char *key)
{
        size_t n = 0;

        for (size_t i = 0; i < e->n; i++)
                if (key_is(&e->lines[i], key))
                        n++;
        return n;
}

const char *vt_bls_entry_get_nth(const vt_bls_entry *e, const char *key, size_t nth)
{
        for (size_t i = 0; i < e->n; i++)
                if (key_is(&e->lines[i], key) && nth-- == 0)
                        return e->lines[i].value;
        return NULL;
}

int vt_bls_entry_options(const vt_bls_entry *e, char **out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        bool any = false;

        for (size_t i = 0; i < e->n; i++) {
                if (!key_is(&e->lines[i], "options"))
                        continue;
                if ((any && vt_buf_putc(&b, ' ') < 0) || vt_buf_puts(&b, e->lines[i].value) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
                any = true;
        }
        if (!any) {
                *out = NULL;
                return 0;
        }
        *out = vt_buf_detach(&b);
        return *out ? 0 : vt_error_set(ENOMEM, "out of memory");
}

const char *vt_bls_entry_loader(const vt_bls_entry *e, bool *is_efi)
{
        for (size_t i = e->n; i > 0; i--) {
                const vt_bls_line *l = &e->lines[i - 1];

                if (key_is(l, "linux") || key_is(l, "efi")) {
                        if (is_efi)
                                *is_efi = key_is(l, "efi");
                        return l->value;
                }
        }
        return NULL;
}

static int check_key_value(const char *key, const char *value)
{
        size_t n;

        if (!key || !*key || *key == '#' || strpbrk(key, " \t\r\n"))
                return vt_error_set(EINVAL, "'%s' is not a boot entry key", key ? key : "(null)");
        if (!value)
                return 0;
        n = strlen(value);
        if (strpbrk(value, "\r\n"))
                return vt_error_set(EINVAL, "the value of '%s' holds a line break", key);
        if (n > 0 && (is_blank(value[0]) || is_blank(value[n - 1])))
                return vt_error_set(EINVAL,
                                    "the value of '%s' starts or ends with a blank, which "
                                    "systemd-boot would drop",
                                    key);
        return 0;
}

/* The text after the key's separator, written so that the loader reads `value` back. */
static int put_value(vt_buf *b, const char *value)
{
        size_t n = strlen(value);

        if (n == 0 || (value[0] == '"' && value[n - 1] == '"'))
                return vt_buf_printf(b, "\"%s\"", value);
        return vt_buf_puts(b, value);
}

static int set_line_value(vt_bls_line *l, const char *value)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        const char *t = l->text;
        char *k, *v;
        int r;

        /* Keep the line's leading blanks, key and separator run as they were. */
        while (is_blank(*t))
                t++;
        while (*t && !is_blank(*t))
                t++;
        while (is_blank(*t))
                t++;
        if (vt_buf_put(&b, l->text, (size_t)(t - l->text)) < 0 || put_value(&b, value) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_bls_line_split(b.ptr, b.len, &k, &v);
        if (r < 0)
                return r;
        free(l->text);
        free(l->key);
        free(l->value);
        l->text = vt_buf_detach(&b);
        l->key = k;
        l->value = v;
        return l->text ? 0 : vt_error_set(ENOMEM, "out of memory");
}

/* Insert "key value\n" at index `at`. */
static int insert_line(vt_bls_entry *e, size_t at, const char *key, const char *value)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        vt_bls_line *grown;
        vt_bls_line l = {NULL, '\n', NULL, NULL};
        int r;

        if (vt_buf_printf(&b, "%s ", key) < 0 || put_value(&b, value) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_bls_line_split(b.ptr, b.len, &l.key, &l.value);
        if (r < 0)
                return r;
        l.text = vt_buf_detach(&b);
        grown = l.text ? realloc(e->lines, (e->n + 1) * sizeof(*grown)) : NULL;
        if (!grown) {
                free(l.text);
                free(l.key);
                free(l.value);
                return vt_error_set(ENOMEM, "out of memory");
        }
        e->lines = grown;
        /* A last line without a terminator gets one, or the new line would join it. */
        if (at == e->n && e->n > 0 && e->lines[e->n - 1].eol == '\0')
                e->lines[e->n - 1].eol = '\n';
        memmove(&e->lines[at + 1], &e->lines[at], (e->n - at) * sizeof(*grown));
        e->lines[at] = l;
        e->n++;
        return 0;
}

int vt_bls_entry_set(vt_bls_entry *e, const char *key, const char *value)
{
        size_t w = 0;
        bool done = false;
        int r;

        r = check_key_value(key, value);
        if (r < 0)
                return r;
        for (size_t i = 0; i < e->n; i++) {
                vt_bls_line *l = &e->lines[i];

                if (key_is(l, key)) {
                        if (value && !done) {
                                r = set_line_value(l, value);
                                if (r < 0)
                                        return r; /* (lines before i were only moved down) */
                                done = true;
                        } else {
                                free(l->text);
                                free(l->key);
                                free(l->value);
                                continue;
                        }
                }
                e->lines[w++] = *l;
        }
        e->n = w;
        if (value && !done)
                return insert_line(e, e->n, key, value);
        return 0;
}

int vt_bls_entry_add(vt_bls_entry *e, const char *key, const char *value)
{
        size_t at = e->n;
        int r;

        if (!value)
                return vt_error_set(EINVAL, "no value to add for '%s'", key ? key : "(null)");
        r = check_key_value(key, value);
        if (r < 0)
                return r;
        for (size_t i = e->n; i > 0; i--)
                if (key_is(&e->lines[i - 1], key)) {
                        at = i;
                        break;
                }
        return insert_line(e, at, key, value);
}

/* ---- counter names ---- */

void vt_bls_name_free(vt_bls_name *n)
{
        if (!n)
                return;
        free(n->stem);
        n->stem = NULL;
}

static bool has_suffix(const char *file, size_t len)
{
        const size_t sl = sizeof(VT_BLS_SUFFIX) - 1;

        return len >= sl && strncasecmp(file + len - sl, VT_BLS_SUFFIX, sl) == 0;
}

/* The counter as the 252 loader reads it, going backwards from before the suffix: *plus is the
 * index of the '+' when there is a counter. Each digit run must be 1..19 digits (the loader's
 * overflow checks on a 64-bit UINTN give up at the 20th); its value is its last digit only
 * (bls_entry.h: the loader never stores the sum it checks). */
static bool parse_counter(const char *file, size_t stem_end, size_t *plus, uint64_t *left,
                          uint64_t *done)
{
        size_t i = stem_end;
        bool have_left = false, have_done = false;
        unsigned run = 0;
        uint64_t l = 0, d = 0;

        for (;;) {
                char c;

                if (i == 0)
                        return false;
                c = file[--i];
                if (c == '+') {
                        if (!have_left)
                                return false;
                        *plus = i;
                        *left = l;
                        *done = have_done ? d : 0;
                        return true;
                }
                if (c == '-') {
                        if (!have_left || have_done)
                                return false;
                        d = l;
                        have_done = true;
                        have_left = false;
                        run = 0;
                        continue;
                }
                if (c < '0' || c > '9')
                        return false;
                if (++run > 19)
                        return false;
                if (!have_left) {
                        l = (uint64_t)(c - '0');
                        have_left = true;
                }
        }
}

int vt_bls_name_parse(const char *file, vt_bls_name *out)
{
        size_t len = file ? strlen(file) : 0, stem_end, plus = 0;
        const size_t sl = sizeof(VT_BLS_SUFFIX) - 1;
        vt_bls_name n = {NULL, false, 0, 0};

        if (!file || !has_suffix(file, len))
                return vt_error_set(EINVAL, "'%s' is not a boot entry file name (*.conf)",
                                    file ? file : "(null)");
        stem_end = len - sl;
        n.has_counter = parse_counter(file, stem_end, &plus, &n.left, &n.done);
        n.stem = strndup(file, n.has_counter ? plus : stem_end);
        if (!n.stem)
                return vt_error_set(ENOMEM, "out of memory");
        *out = n;
        return 0;
}

int vt_bls_name_make(const char *stem, bool has_counter, uint64_t left, uint64_t done, char **out)
{
        int r;

        if (!stem || !*stem || strchr(stem, '/'))
                return vt_error_set(EINVAL, "'%s' cannot name a boot entry",
                                    stem ? stem : "(null)");
        if (!has_counter)
                r = asprintf(out, "%s%s", stem, VT_BLS_SUFFIX);
        else if (done == 0)
                r = asprintf(out, "%s+%llu%s", stem, (unsigned long long)left, VT_BLS_SUFFIX);
        else
                r = asprintf(out, "%s+%llu-%llu%s", stem, (unsigned long long)left,
                             (unsigned long long)done, VT_BLS_SUFFIX);
        return r < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

/* The original suffix of a parsed name (its last five characters, ".conf" in any case). */
static const char *suffix_of(const char *file)
{
        return file + strlen(file) - (sizeof(VT_BLS_SUFFIX) - 1);
}

static int same_name(const char *file, char **out)
{
        *out = strdup(file);
        return *out ? 0 : vt_error_set(ENOMEM, "out of memory");
}

int vt_bls_name_next(const char *file, char **out)
{
        _cleanup_bls_name_ vt_bls_name n = {NULL, false, 0, 0};
        int r;

        r = vt_bls_name_parse(file, &n);
        if (r < 0)
                return r;
        if (!n.has_counter)
                return same_name(file, out);
        /* The loader's own arithmetic: LEFT stops at 0, DONE stops below UINTN_MAX. */
        r = asprintf(out, "%s+%llu-%llu%s", n.stem,
                     (unsigned long long)(n.left == 0 ? 0 : n.left - 1),
                     (unsigned long long)(n.done >= UINT64_MAX - 1 ? UINT64_MAX - 1 : n.done + 1),
                     VT_BLS_SUFFIX);
        return r < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

int vt_bls_name_good(const char *file, char **out)
{
        _cleanup_bls_name_ vt_bls_name n = {NULL, false, 0, 0};
        int r;

        r = vt_bls_name_parse(file, &n);
        if (r < 0)
                return r;
        if (!n.has_counter)
                return same_name(file, out);
        r = asprintf(out, "%s%s", n.stem, suffix_of(file));
        return r < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

int vt_bls_name_bad(const char *file, char **out)
{
        _cleanup_bls_name_ vt_bls_name n = {NULL, false, 0, 0};
        int r;

        r = vt_bls_name_parse(file, &n);
        if (r < 0)
                return r;
        if (!n.has_counter)
                return vt_error_set(EINVAL, "boot entry '%s' has no boot counter to mark bad",
                                    file);
        r = asprintf(out, "%s+0-%llu%s", n.stem, (unsigned long long)n.done, suffix_of(file));
        return r < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

int vt_bls_entry_id(const char *file, char **out)
{
        char *id;

        if (!file || !*file)
                return vt_error_set(EINVAL, "no boot entry file name");
        id = strdup(file);
        if (!id)
                return vt_error_set(ENOMEM, "out of memory");
        for (char *c = id; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                        *c = (char)(*c - 'A' + 'a');
        *out = id;
        return 0;
}
