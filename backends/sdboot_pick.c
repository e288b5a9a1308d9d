/* systemd-boot 252's entry order and default pick (sdboot_pick.h). Written from the documented
 * behaviour (the UAPI version format specification, systemd-boot.7, bootctl.1) and checked
 * against 252's src/boot/efi/boot.c; no code is copied. */
#include "backends/sdboot_pick.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/macro.h"

/* ---- strverscmp_improved ---- */

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_significant(char c)
{
        return is_digit(c) || is_letter(c) || c == '-' || c == '.' || c == '~' || c == '^';
}

static int sign(int v)
{
        return (v > 0) - (v < 0);
}

int vt_strverscmp_improved(const char *a, const char *b)
{
        static const char ordered_marks[] = {'-', '^', '.'};

        a = a ? a : "";
        b = b ? b : "";
        for (;;) {
                size_t na, nb;
                bool decided = false;
                int r = 0;

                /* 1. Anything outside the significant set separates, in both strings. */
                while (*a && !is_significant(*a))
                        a++;
                while (*b && !is_significant(*b))
                        b++;
                /* 2. '~' sorts before everything, the end of the string included. */
                if (*a == '~' || *b == '~') {
                        if (*a != '~')
                                return 1;
                        if (*b != '~')
                                return -1;
                        a++;
                        b++;
                        continue;
                }
                /* 3. The end: the longer string is newer. */
                if (!*a || !*b)
                        return (*a != '\0') - (*b != '\0');
                /* 4.-6. '-', then '^', then '.': the string that has one where the other has
                 * something else sorts lower. */
                for (size_t i = 0; i < ARRAY_SIZE(ordered_marks) && !decided; i++) {
                        char m = ordered_marks[i];

                        if (*a == m || *b == m) {
                                if (*a != m)
                                        return 1;
                                if (*b != m)
                                        return -1;
                                decided = true;
                        }
                }
                if (decided) {
                        a++;
                        b++;
                        continue;
                }
                /* 7. Numbers: leading zeros do not count; an empty number is 0. */
                if (is_digit(*a) || is_digit(*b)) {
                        while (*a == '0')
                                a++;
                        while (*b == '0')
                                b++;
                        for (na = 0; is_digit(a[na]); na++)
                                ;
                        for (nb = 0; is_digit(b[nb]); nb++)
                                ;
                        if (na != nb)
                                return na > nb ? 1 : -1;
                        r = memcmp(a, b, na);
                        if (r != 0)
                                return sign(r);
                        a += na;
                        b += nb;
                        continue;
                }
                /* 8. Letters, in ASCII order (so 'B' < 'a'); a longer run is newer. */
                for (na = 0; is_letter(a[na]); na++)
                        ;
                for (nb = 0; is_letter(b[nb]); nb++)
                        ;
                r = memcmp(a, b, na < nb ? na : nb);
                if (r != 0)
                        return sign(r);
                if (na != nb)
                        return na > nb ? 1 : -1;
                a += na;
                b += nb;
        }
}

/* ---- MetaiMatch ---- */

/* One UTF-8 character (an invalid byte counts as one character of its own); 0 at the end. */
static uint32_t next_char(const char **s)
{
        const unsigned char *p = (const unsigned char *)*s;
        uint32_t c = p[0];
        size_t n = 0;

        if (c < 0x80)
                n = 0;
        else if ((c & 0xe0) == 0xc0)
                n = 1, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0)
                n = 2, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0)
                n = 3, c &= 0x07;
        else
                n = 0, c = 0xfffd;
        for (size_t i = 1; i <= n; i++) {
                if ((p[i] & 0xc0) != 0x80) {
                        *s += 1;
                        return 0xfffd;
                }
                c = (c << 6) | (p[i] & 0x3f);
        }
        if (c != 0)
                *s += 1 + n;
        return c;
}

static uint32_t fold(uint32_t c)
{
        return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static bool match_at(const char *p, const char *s)
{
        for (;;) {
                uint32_t pc = next_char(&p), sc, lo = 0;
                const char *q;

                switch (pc) {
                case 0:
                        return *s == '\0';
                case '*':
                        for (;;) {
                                if (match_at(p, s))
                                        return true;
                                if (!*s)
                                        return false;
                                (void)next_char(&s);
                        }
                case '?':
                        if (!*s)
                                return false;
                        (void)next_char(&s);
                        break;
                case '[':
                        sc = next_char(&s);
                        if (!sc)
                                return false;
                        /* EDK2's walk: members until one matches; "x-y" is a range from the
                         * member before the '-' (U+0000 at the start of the set) to the one
                         * after it, which is then read again as a member of its own. Reaching
                         * ']' first is no match. */
                        for (;;) {
                                uint32_t m = next_char(&p);

                                if (m == 0 || m == ']')
                                        return false;
                                if (m == '-') {
                                        q = p;
                                        m = next_char(&q);
                                        if (m == 0 || m == ']')
                                                return false;
                                        if (fold(sc) >= fold(lo) && fold(sc) <= fold(m))
                                                break;
                                }
                                lo = m;
                                if (fold(sc) == fold(m))
                                        break;
                        }
                        /* Skip the rest of the set, whatever it holds, up to its ']'. */
                        for (;;) {
                                uint32_t m = next_char(&p);

                                if (m == 0)
                                        return false; /* no closing ']' */
                                if (m == ']')
                                        break;
                        }
                        break;
                default:
                        if (fold(next_char(&s)) != fold(pc))
                                return false;
                        break;
                }
        }
}

bool vt_sdboot_match(const char *pattern, const char *id)
{
        if (!pattern || !id)
                return false;
        return match_at(pattern, id);
}

/* ---- the pick ---- */

typedef struct sort_item {
        vt_sdboot_item item;
        const char *sort_key, *machine_id, *version;
        uint64_t left,
            done; /* UINT64_MAX when the name has no counter, as the loader's UINTN_MAX */
} sort_item;

static int cmp_bool(bool a, bool b)
{
        return (int)a - (int)b;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
        return (a > b) - (a < b);
}

static int strcmp_null_first(const char *a, const char *b)
{
        if (!a || !b)
                return cmp_bool(a != NULL, b != NULL);
        return sign(strcmp(a, b));
}

static int compare(const sort_item *a, const sort_item *b)
{
        int r;

        r = cmp_bool(a->left == 0, b->left == 0);
        if (r != 0)
                return r;
        r = cmp_bool(!a->sort_key, !b->sort_key);
        if (r != 0)
                return r;
        if (a->sort_key && b->sort_key) {
                r = sign(strcmp(a->sort_key, b->sort_key));
                if (r != 0)
                        return r;
                r = strcmp_null_first(a->machine_id, b->machine_id);
                if (r != 0)
                        return r;
                r = -vt_strverscmp_improved(a->version, b->version);
                if (r != 0)
                        return r;
        }
        r = -vt_strverscmp_improved(a->item.id, b->item.id);
        if (r != 0)
                return r;
        if (a->left == UINT64_MAX || b->left == UINT64_MAX)
                return 0;
        r = -cmp_u64(a->left, b->left);
        if (r != 0)
                return r;
        return cmp_u64(a->done, b->done);
}

void vt_sdboot_menu_free(vt_sdboot_menu *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                free(p->sorted[i].id);
        free(p->sorted);
        free(p->dropped);
        vt_loader_conf_free(&p->conf);
        *p = (vt_sdboot_menu)VT_SDBOOT_MENU_INIT;
}

static void drop(vt_sdboot_menu *p, size_t input, vt_sdboot_drop why)
{
        p->dropped[p->n_dropped].input = input;
        p->dropped[p->n_dropped].why = why;
        p->n_dropped++;
}

/* Why the loader would not list this input, or 0. */
static vt_sdboot_drop listed(const vt_sdboot_input *in)
{
        const char *arch;
        size_t len = strlen(in->file);

        if (len < sizeof(VT_BLS_SUFFIX) - 1 ||
            strcasecmp(in->file + len - (sizeof(VT_BLS_SUFFIX) - 1), VT_BLS_SUFFIX) != 0 ||
            strncmp(in->file, "auto-", 5) == 0 || in->file[0] == '.')
                return VT_SDBOOT_DROP_NAME;
        /* The loader stops reading the file at an `architecture` that is not its own, so a
         * linux line after it does not matter: the entry is gone either way. */
        for (size_t i = 0; i < in->entry->n; i++) {
                const vt_bls_line *l = &in->entry->lines[i];

                if (l->key && strcmp(l->key, "architecture") == 0) {
                        arch = l->value;
                        if (strcmp(arch, VT_SDBOOT_ARCH) != 0)
                                return VT_SDBOOT_DROP_ARCH;
                }
        }
        if (!vt_bls_entry_loader(in->entry, NULL))
                return VT_SDBOOT_DROP_NO_LOADER;
        if (!in->loader_exists)
                return VT_SDBOOT_DROP_MISSING;
        return 0;
}

/* The first sorted entry whose id the pattern matches, or (size_t)-1. */
static size_t find(const sort_item *items, size_t n, const char *pattern)
{
        if (!pattern)
                return (size_t)-1;
        for (size_t i = 0; i < n; i++)
                if (vt_sdboot_match(pattern, items[i].item.id))
                        return i;
        return (size_t)-1;
}

static void select_default(vt_sdboot_menu *p, const sort_item *items, const vt_sdboot_vars *v)
{
        const char *saved = VT_LOADER_DEFAULT_SAVED;
        const char *efivar = v->entry_default, *conf = p->conf.default_entry;
        bool efivar_saved = efivar && strcmp(efivar, saved) == 0;
        bool conf_saved = conf && strcmp(conf, saved) == 0;
        const char *pattern;
        size_t i;

        p->rule = VT_SDBOOT_RULE_NONE;
        p->pattern = NULL;
        if (p->n == 0)
                return;
        i = find(items, p->n, v->oneshot);
        if (i != (size_t)-1) {
                p->rule = VT_SDBOOT_RULE_ONESHOT;
                p->pattern = v->oneshot;
                p->default_index = i;
                return;
        }
        pattern = efivar_saved ? v->last_booted : efivar;
        i = find(items, p->n, pattern);
        if (i != (size_t)-1) {
                p->rule = VT_SDBOOT_RULE_EFIVAR_DEFAULT;
                p->pattern = pattern;
                p->default_index = i;
                return;
        }
        /* "@saved" in both places: the loader does not try LoaderEntryLastBooted twice. */
        pattern = conf_saved ? (efivar_saved ? NULL : v->last_booted) : conf;
        i = find(items, p->n, pattern);
        if (i != (size_t)-1) {
                p->rule = VT_SDBOOT_RULE_CONFIG_DEFAULT;
                p->pattern = pattern;
                p->default_index = i;
                return;
        }
        p->rule = VT_SDBOOT_RULE_FIRST;
        p->default_index = 0;
}

int vt_sdboot_pick(const vt_sdboot_input *in, size_t n, const void *loader_conf, size_t conf_len,
                   const vt_sdboot_vars *vars, vt_sdboot_menu *out)
{
        static const vt_sdboot_vars no_vars = {NULL, NULL, NULL};
        _cleanup_(vt_sdboot_menu_free) vt_sdboot_menu p = VT_SDBOOT_MENU_INIT;
        _cleanup_free_ sort_item *items = NULL;
        int r;

        for (size_t i = 0; i < n; i++)
                if (!in[i].file || !in[i].entry)
                        return vt_error_set(EINVAL, "boot entry %zu has no file name or content",
                                            i);
        if (loader_conf) {
                r = vt_loader_conf_parse(loader_conf, conf_len, &p.conf);
                if (r < 0)
                        return r;
        }
        items = calloc(n ? n : 1, sizeof(*items));
        p.dropped = calloc(n ? n : 1, sizeof(*p.dropped));
        p.sorted = calloc(n ? n : 1, sizeof(*p.sorted));
        if (!items || !p.dropped || !p.sorted)
                return vt_error_set(ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                _cleanup_bls_name_ vt_bls_name name = {NULL, false, 0, 0};
                vt_sdboot_drop why = listed(&in[i]);
                sort_item it = {{i, NULL, false, 0, 0, false}, NULL, NULL, NULL, 0, 0};

                if (why) {
                        drop(&p, i, why);
                        continue;
                }
                r = vt_bls_name_parse(in[i].file, &name);
                if (r < 0)
                        return r;
                r = vt_bls_entry_id(in[i].file, &it.item.id);
                if (r < 0)
                        return r;
                it.item.has_counter = name.has_counter;
                it.item.left = name.left;
                it.item.done = name.done;
                it.item.bad = name.has_counter && name.left == 0;
                it.left = name.has_counter ? name.left : UINT64_MAX;
                it.done = name.has_counter ? name.done : UINT64_MAX;
                it.sort_key = vt_bls_entry_sort_key(in[i].entry);
                it.machine_id = vt_bls_entry_machine_id(in[i].entry);
                it.version = vt_bls_entry_version(in[i].entry);
                /* Stable insertion, as the loader's sort_pointer_array(): equal entries keep
                 * the order they were read in. */
                size_t k = p.n;
                while (k > 0 && compare(&items[k - 1], &it) > 0) {
                        items[k] = items[k - 1];
                        k--;
                }
                items[k] = it;
                p.n++;
        }
        /* The patterns are matched against the items' ids: before they move to p.sorted. */
        select_default(&p, items, vars ? vars : &no_vars);
        for (size_t i = 0; i < p.n; i++) {
                p.sorted[i] = items[i].item;
                items[i].item.id = NULL;
        }
        *out = p;
        p = (vt_sdboot_menu)VT_SDBOOT_MENU_INIT;
        return 0;
}

const char *vt_sdboot_rule_name(vt_sdboot_rule r)
{
        switch (r) {
        case VT_SDBOOT_RULE_ONESHOT:
                return "LoaderEntryOneShot";
        case VT_SDBOOT_RULE_EFIVAR_DEFAULT:
                return "LoaderEntryDefault";
        case VT_SDBOOT_RULE_CONFIG_DEFAULT:
                return "loader.conf default";
        case VT_SDBOOT_RULE_FIRST:
                return "first entry";
        case VT_SDBOOT_RULE_NONE:
                break;
        }
        return "none";
}

const char *vt_sdboot_drop_name(vt_sdboot_drop d)
{
        switch (d) {
        case VT_SDBOOT_DROP_NAME:
                return "not a *.conf entry name";
        case VT_SDBOOT_DROP_NO_LOADER:
                return "no linux or efi line";
        case VT_SDBOOT_DROP_ARCH:
                return "another architecture";
        case VT_SDBOOT_DROP_MISSING:
                return "kernel file missing";
        }
        return "?";
}
