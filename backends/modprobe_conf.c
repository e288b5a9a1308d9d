#include "backends/modprobe_conf.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kernels.h"
#include "backends/modprobe.h"
#include "common/error.h"
#include "common/macro.h"

/* ---- Parsing the effective configuration ---- */

const char *const vt_modprobe_dirs[] = {
    "/etc/modprobe.d",     "/run/modprobe.d", "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d", "/lib/modprobe.d", NULL,
};

/* kmod's underscores(): '-' becomes '_' except inside a [...] glob class. */
static void normalize(char *s)
{
        bool in_class = false;

        for (; *s; s++) {
                if (*s == '[')
                        in_class = true;
                else if (*s == ']')
                        in_class = false;
                else if (*s == '-' && !in_class)
                        *s = '_';
        }
}

static int add_stmt(vt_modprobe_config *cfg, vt_modprobe_kind kind, const char *path, unsigned line,
                    const char *name, const char *value, const char *text)
{
        vt_modprobe_stmt *s;

        if (cfg->n == cfg->cap) {
                size_t cap = cfg->cap ? cfg->cap * 2 : 16;
                vt_modprobe_stmt *items = realloc(cfg->items, cap * sizeof(*items));

                if (!items)
                        return -ENOMEM;
                cfg->items = items;
                cfg->cap = cap;
        }
        s = &cfg->items[cfg->n];
        *s = (vt_modprobe_stmt){.kind = kind, .line = line};
        s->path = strdup(path);
        s->name = strdup(name);
        s->value = value ? strdup(value) : NULL;
        s->text = strdup(text);
        if (!s->path || !s->name || (value && !s->value) || !s->text) {
                free(s->path);
                free(s->name);
                free(s->value);
                free(s->text);
                return -ENOMEM;
        }
        normalize(s->name);
        if (kind == VT_MP_ALIAS)
                normalize(s->value);
        cfg->n++;
        return 0;
}

static int parse_logical(vt_modprobe_config *cfg, const char *path, unsigned line, char *buf)
{
        static const struct {
                const char *cmd;
                vt_modprobe_kind kind;
        } cmds[] = {
            {"alias", VT_MP_ALIAS},     {"blacklist", VT_MP_BLACKLIST}, {"options", VT_MP_OPTIONS},
            {"install", VT_MP_INSTALL}, {"remove", VT_MP_REMOVE},       {"softdep", VT_MP_SOFTDEP},
        };
        _cleanup_free_ char *text = NULL;
        char *save = NULL, *cmd, *name, *value;
        size_t k;

        /* As kmod: only a '#' in the first column is a comment; an indented one is a line
         * with an unknown command, which is ignored just the same. */
        if (buf[0] == '\0' || buf[0] == '#')
                return 0;
        text = strdup(buf);
        if (!text)
                return -ENOMEM;
        cmd = strtok_r(buf, "\t ", &save);
        if (!cmd)
                return 0;
        for (k = 0; k < ARRAY_SIZE(cmds); k++)
                if (strcmp(cmd, cmds[k].cmd) == 0)
                        break;
        if (k == ARRAY_SIZE(cmds))
                return 0;
        name = strtok_r(NULL, "\t ", &save);
        if (!name)
                return 0;
        switch (cmds[k].kind) {
        case VT_MP_ALIAS:
                value = strtok_r(NULL, "\t ", &save);
                break;
        case VT_MP_BLACKLIST:
                return add_stmt(cfg, VT_MP_BLACKLIST, path, line, name, NULL, text);
        default:
                value = strtok_r(NULL, "", &save);
                break;
        }
        if (!value)
                return 0;
        return add_stmt(cfg, cmds[k].kind, path, line, name, value, text);
}

int vt_modprobe_parse(const char *path, const char *data, size_t len, vt_modprobe_config *cfg)
{
        _cleanup_buf_ vt_buf line = VT_BUF_INIT;
        unsigned lineno = 1;
        size_t i = 0;
        int r;

        while (i < len) {
                unsigned start = lineno;

                vt_buf_clear(&line);
                /* kmod's getline_wrapped(): backslash-newline joins lines, a backslash before
                 * any other character is dropped and the character kept. */
                for (; i < len; i++) {
                        char c = data[i];

                        if (c == '\n') {
                                lineno++;
                                i++;
                                break;
                        }
                        if (c == '\\') {
                                if (i + 1 >= len)
                                        continue;
                                i++;
                                c = data[i];
                                if (c == '\n') {
                                        lineno++;
                                        continue;
                                }
                        }
                        r = vt_buf_putc(&line, c);
                        if (r < 0)
                                return r;
                }
                /* An embedded NUL ends the line for kmod's string functions, and for ours. */
                if (line.len == 0)
                        continue;
                r = parse_logical(cfg, path, start, line.ptr);
                if (r < 0)
                        return r;
        }
        return 0;
}

void vt_modprobe_config_free(vt_modprobe_config *cfg)
{
        for (size_t i = 0; i < cfg->n; i++) {
                free(cfg->items[i].path);
                free(cfg->items[i].name);
                free(cfg->items[i].value);
                free(cfg->items[i].text);
        }
        free(cfg->items);
        cfg->items = NULL;
        cfg->n = cfg->cap = 0;
}

typedef struct ranked {
        const vt_conf_file *f;
        const char *base;
        size_t rank;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
        const ranked *x = a, *y = b;
        int c = strcmp(x->base, y->base);

        if (c)
                return c;
        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        return x->f < y->f ? -1 : (x->f > y->f);
}

static size_t dir_rank(const char *path, const char *base)
{
        size_t dlen = (size_t)(base - path) - 1, i;

        for (i = 0; vt_modprobe_dirs[i]; i++)
                if (strlen(vt_modprobe_dirs[i]) == dlen &&
                    strncmp(vt_modprobe_dirs[i], path, dlen) == 0)
                        return i;
        return i;
}

static bool kmod_reads(const char *base)
{
        size_t n = strlen(base);

        if (base[0] == '.' || base[0] == '\0')
                return false;
        return (n >= 6 && strcmp(base + n - 5, ".conf") == 0) ||
               (n >= 7 && strcmp(base + n - 6, ".alias") == 0);
}

int vt_modprobe_load(const vt_conf_file *files, size_t n, vt_modprobe_config *cfg)
{
        _cleanup_free_ ranked *v = NULL;
        size_t k = 0;
        int r;

        if (n == 0)
                return 0;
        v = calloc(n, sizeof(*v));
        if (!v)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const char *slash = strrchr(files[i].path, '/');

                if (!slash || !kmod_reads(slash + 1))
                        continue;
                v[k++] = (ranked){&files[i], slash + 1, dir_rank(files[i].path, slash + 1)};
        }
        /* Sorted by name, then precedence: the first of each name is the one kmod reads. */
        qsort(v, k, sizeof(*v), cmp_ranked);
        for (size_t i = 0; i < k; i++) {
                if (i > 0 && strcmp(v[i - 1].base, v[i].base) == 0)
                        continue;
                r = vt_modprobe_parse(v[i].f->path, v[i].f->data, v[i].f->len, cfg);
                if (r < 0)
                        return vt_error_set(r, "parsing %s: out of memory", v[i].f->path);
        }
        return 0;
}

/* ---- Conflicts ---- */

/* The modules vfio-pci needs: taking any of them away (install, blacklist) breaks binding. */
static const char *const vfio_modules[] = {
    "vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio_virqfd",
};

static bool matches(const char *pattern, const char *name)
{
        return fnmatch(pattern, name, 0) == 0;
}

/* Kernel parameter syntax: blank-separated, double quotes protect blanks. Calls fn for each
 * name=value with the name normalised; stops at the first nonzero return. */
static bool any_param(const char *s, bool (*fn)(const char *name, const char *val, void *u),
                      void *u)
{
        char name[64], val[256];

        while (*s) {
                size_t nl = 0, vl = 0;
                bool quoted = false, in_val = false;

                while (*s && isspace((unsigned char)*s))
                        s++;
                if (!*s)
                        break;
                for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
                        if (*s == '"') {
                                quoted = !quoted;
                        } else if (!in_val && *s == '=') {
                                in_val = true;
                        } else if (!in_val) {
                                if (nl + 1 < sizeof(name))
                                        name[nl++] = *s == '-' ? '_' : *s;
                        } else if (vl + 1 < sizeof(val)) {
                                val[vl++] = *s;
                        }
                }
                name[nl] = '\0';
                val[vl] = '\0';
                if (fn(name, val, u))
                        return true;
        }
        return false;
}

static bool sets_ids(const char *name, const char *val, void *u)
{
        (void)val;
        (void)u;
        return strcmp(name, "ids") == 0;
}

static bool unsets_vga(const char *name, const char *val, void *u)
{
        (void)u;
        return strcmp(name, "disable_vga") == 0 && strcmp(val, "1") != 0 && strcmp(val, "y") != 0 &&
               strcmp(val, "Y") != 0 && strcmp(val, "on") != 0;
}

static bool softdep_has_vfio_pre(const char *s)
{
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL, *tok;
        bool pre = false;

        if (!copy)
                return false;
        for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (strcmp(tok, "pre:") == 0)
                        pre = true;
                else if (strcmp(tok, "post:") == 0)
                        pre = false;
                else if (pre && vt_modname_eq(tok, "vfio_pci"))
                        return true;
        }
        return false;
}

static int report(vt_buf *b, const vt_modprobe_stmt *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int report(vt_buf *b, const vt_modprobe_stmt *s, const char *fmt, ...)
{
        int r = vt_buf_printf(b, "\n  %s:%u: ", s->path, s->line);
        char reason[512];
        size_t n = 0;
        va_list ap;

        for (const char *p = s->text; r >= 0 && *p && n < 120; p++, n++)
                r = vt_buf_putc(b, isprint((unsigned char)*p) ? *p : '?');
        if (r >= 0 && s->text[n])
                r = vt_buf_puts(b, "...");
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        if (r >= 0)
                r = vt_buf_printf(b, ": %s", reason);
        return r;
}

static int stmt_conflicts(const vt_modprobe_stmt *s, const vt_pci_device *const *set, size_t n,
                          vt_bind_method method, bool display, const vt_strv *drivers, vt_buf *why)
{
        char alias[128];

        switch (s->kind) {
        case VT_MP_OPTIONS:
                if (!matches(s->name, "vfio_pci"))
                        return 0;
                if (any_param(s->value, sets_ids, NULL))
                        return report(why, s,
                                      "gives vfio-pci its own ids=, which would bind devices "
                                      "vfiotx does not manage%s",
                                      method == VT_BIND_OVERRIDE ? "" : " and override vfiotx's");
                if (display && any_param(s->value, unsets_vga, NULL))
                        return report(why, s, "contradicts vfiotx's disable_vga=1");
                return 0;
        case VT_MP_INSTALL:
        case VT_MP_BLACKLIST:
                for (size_t i = 0; i < ARRAY_SIZE(vfio_modules); i++) {
                        bool hit = s->kind == VT_MP_BLACKLIST
                                       ? strcmp(s->name, vfio_modules[i]) == 0
                                       : matches(s->name, vfio_modules[i]);

                        if (hit)
                                return report(why, s,
                                              s->kind == VT_MP_INSTALL
                                                  ? "replaces loading %s, which vfio-pci needs"
                                                  : "keeps %s, which vfio-pci needs, from "
                                                    "loading",
                                              vfio_modules[i]);
                }
                return 0;
        case VT_MP_ALIAS:
                if (matches(s->name, "vfio_pci"))
                        return report(why, s, "redirects modprobe vfio-pci to %s", s->value);
                if (vt_modname_eq(s->value, "vfio_pci"))
                        return 0;
                for (size_t i = 0; i < n; i++) {
                        if (vt_pci_modalias(set[i], alias, sizeof(alias)) < 0) {
                                vt_error_clear();
                                continue;
                        }
                        if (matches(s->name, alias))
                                return report(why, s, "hands the device to %s instead of vfio-pci",
                                              s->value);
                }
                return 0;
        case VT_MP_SOFTDEP:
                for (size_t i = 0; i < drivers->n; i++) {
                        _cleanup_free_ char *drv = strdup(drivers->items[i]);

                        if (!drv)
                                return -ENOMEM;
                        normalize(drv);
                        if (matches(s->name, drv) && !softdep_has_vfio_pre(s->value))
                                return report(why, s,
                                              "modprobe uses only the first softdep line for %s, "
                                              "so this one or vfiotx's \"pre: vfio-pci\" would be "
                                              "ignored",
                                              drivers->items[i]);
                }
                return 0;
        case VT_MP_REMOVE:
                return 0;
        }
        return 0;
}

int vt_modprobe_conflicts(const vt_modprobe_config *cfg, const vt_pci_device *const *devs, size_t n,
                          vt_bind_method method)
{
        _cleanup_free_ const vt_pci_device **set = NULL;
        _cleanup_(vt_strv_free) vt_strv drivers = {0};
        _cleanup_buf_ vt_buf why = VT_BUF_INIT;
        bool display = false;
        unsigned count = 0;
        size_t nset;
        int r;

        r = vt_modprobe_device_set(devs, n, &set, &nset);
        if (r < 0 || nset == 0)
                return r;
        if (vt_modprobe_host_modules(set, nset, &drivers) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < nset; i++)
                display = display || vt_pci_is_display(set[i]);

        for (size_t i = 0; i < cfg->n; i++) {
                size_t before = why.len;

                if (vt_modprobe_is_own_path(cfg->items[i].path))
                        continue;
                r = stmt_conflicts(&cfg->items[i], set, nset, method, display, &drivers, &why);
                if (r < 0)
                        return vt_error_set(ENOMEM, "out of memory");
                count += why.len > before;
        }
        if (count == 0)
                return 0;
        vt_error_set(EPERM,
                     "%u line%s of the modprobe configuration contradict%s binding with "
                     "vfio-pci:%s",
                     count, count == 1 ? "" : "s", count == 1 ? "s" : "", vt_buf_cstr(&why));
        return vt_error_hint(EPERM,
                             "vfiotx does not edit your files: remove or comment out "
                             "those lines (vfiotx writes what it needs in %s), then run "
                             "the command again",
                             VT_MODPROBE_CONF_PATH);
}
