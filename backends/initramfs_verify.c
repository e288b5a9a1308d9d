#include "backends/initramfs_verify.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/archive_read.h"
#include "common/error.h"
#include "common/macro.h"

/* Expected files bigger than this are not held in memory: they cannot be a config file. */
#define CAPTURE_MAX (16u << 20)

void vt_verify_findings_free(vt_verify_findings *f)
{
        for (size_t i = 0; f && i < f->n; i++) {
                free(f->items[i].subject);
                free(f->items[i].message);
        }
        if (f) {
                free(f->items);
                *f = (vt_verify_findings){0};
        }
}

static int finding_add(vt_verify_findings *f, vt_verify_kind kind, const char *subject,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int finding_add(vt_verify_findings *f, vt_verify_kind kind, const char *subject,
                       const char *fmt, ...)
{
        vt_verify_finding *grown = realloc(f->items, (f->n + 1) * sizeof(*grown));
        vt_verify_finding it = {.kind = kind};
        va_list ap;
        int n;

        if (!grown)
                return -ENOMEM;
        f->items = grown;
        va_start(ap, fmt);
        n = vasprintf(&it.message, fmt, ap);
        va_end(ap);
        it.subject = strdup(subject);
        if (n < 0 || !it.subject) {
                if (n >= 0)
                        free(it.message);
                free(it.subject);
                return -ENOMEM;
        }
        f->items[f->n++] = it;
        return 0;
}

int vt_verify_findings_format(const vt_verify_findings *f, vt_buf *out)
{
        int r = 0;

        vt_buf_clear(out);
        for (size_t i = 0; i < f->n && r >= 0; i++)
                r = vt_buf_printf(out, "%s\n", f->items[i].message);
        return r;
}

void vt_initramfs_report_free(vt_initramfs_report *r)
{
        if (r)
                vt_verify_findings_free(&r->findings);
}

/* The member name as the checks see it: no "./" or "/" prefix, usr/lib/modules as lib/modules. */
static const char *normalise(const char *name, vt_buf *tmp)
{
        for (;;) {
                if (name[0] == '.' && name[1] == '/')
                        name += 2;
                else if (name[0] == '/')
                        name++;
                else
                        break;
        }
        if (strncmp(name, "usr/lib/modules", 15) == 0 && (name[15] == '/' || name[15] == '\0')) {
                vt_buf_clear(tmp);
                if (vt_buf_puts(tmp, name + 4) < 0)
                        return NULL;
                return tmp->ptr;
        }
        return name;
}

/* The module name of a member lib/modules/<kver>/.../<name>.ko[.xz|.zst|.gz], '-' read as
 * '_', written to out; false when the member is not a module (or not of kver). */
static bool module_of(const char *member, const char *kver, char *out, size_t outsz)
{
        static const char *const exts[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};
        const char *base, *rest;
        size_t n;

        if (strncmp(member, "lib/modules/", 12) != 0)
                return false;
        rest = member + 12;
        if (kver) {
                size_t kl = strlen(kver);

                if (strncmp(rest, kver, kl) != 0 || rest[kl] != '/')
                        return false;
        }
        base = strrchr(member, '/') + 1;
        n = strlen(base);
        for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
                size_t el = strlen(exts[i]);

                if (n > el && strcmp(base + n - el, exts[i]) == 0 && n - el < outsz) {
                        for (size_t j = 0; j < n - el; j++)
                                out[j] = base[j] == '-' ? '_' : base[j];
                        out[n - el] = '\0';
                        return true;
                }
        }
        return false;
}

static void modname(const char *in, char *out, size_t outsz)
{
        size_t i = 0;

        for (; in[i] && i + 1 < outsz; i++)
                out[i] = in[i] == '-' ? '_' : in[i];
        out[i] = '\0';
}

/* Is `name` (normalised) listed in a modules.builtin text ("kernel/drivers/vfio/vfio.ko")? */
static bool builtin_has(const char *text, const char *name)
{
        char want[256], got[256];
        const char *line = text;

        modname(name, want, sizeof(want));
        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                const char *slash = memrchr(line, '/', len);
                const char *base = slash ? slash + 1 : line;
                size_t bl = len - (size_t)(base - line);

                if (bl > 3 && memcmp(base + bl - 3, ".ko", 3) == 0 && bl - 3 < sizeof(got)) {
                        memcpy(got, base, bl - 3);
                        got[bl - 3] = '\0';
                        modname(got, got, sizeof(got));
                        if (strcmp(got, want) == 0)
                                return true;
                }
                line = end ? end + 1 : NULL;
        }
        return false;
}

struct scan {
        const vt_initramfs_expect *exp;
        const char *name;
        vt_buf *list;     /* every member, when listing */
        bool *mod_found;  /* per expected module */
        bool *file_found; /* per expected file */
        vt_buf *file_data;
        bool *file_toobig;
        vt_buf builtin; /* the image's modules.builtin for kver */
        bool have_builtin;
        vt_initramfs_report *rep;
};

static int on_member(struct scan *s, struct archive *a, struct archive_entry *e)
{
        _cleanup_buf_ vt_buf tmp = VT_BUF_INIT, want = VT_BUF_INIT;
        const char *raw = archive_entry_pathname(e);
        const char *name;
        char mod[256];
        int r = 0;

        if (!raw)
                return 0;
        name = normalise(raw, &tmp);
        if (!name)
                return -ENOMEM;
        s->rep->n_members++;
        if (s->list)
                return vt_buf_printf(s->list, "%s\n", name);

        if (module_of(name, s->exp->kver, mod, sizeof(mod)))
                for (size_t i = 0; i < s->exp->n_modules; i++) {
                        char w[256];

                        modname(s->exp->modules[i], w, sizeof(w));
                        if (strcmp(w, mod) == 0)
                                s->mod_found[i] = true;
                }
        if (!s->exp->builtin && archive_entry_filetype(e) == AE_IFREG) {
                const char *p = name + 12;
                size_t kl = s->exp->kver ? strlen(s->exp->kver) : 0;

                if (strncmp(name, "lib/modules/", 12) == 0 &&
                    (!s->exp->kver || (strncmp(p, s->exp->kver, kl) == 0 && p[kl] == '/')) &&
                    strcmp(strrchr(name, '/'), "/modules.builtin") == 0 &&
                    strchr(p, '/') == strrchr(name, '/')) {
                        /* Several kernels (kver NULL): their lists are concatenated. */
                        _cleanup_buf_ vt_buf b = VT_BUF_INIT;

                        r = vt_archive_read_data(a, &b);
                        if (r >= 0)
                                r = vt_buf_put(&s->builtin, b.ptr, b.len);
                        if (r >= 0)
                                r = vt_buf_putc(&s->builtin, '\n');
                        s->have_builtin = true;
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < s->exp->n_files; i++) {
                const char *w = normalise(s->exp->files[i].path, &want);

                if (!w)
                        return -ENOMEM;
                if (strcmp(w, name) != 0)
                        continue;
                s->file_found[i] = true;
                s->file_toobig[i] = false;
                vt_buf_clear(&s->file_data[i]);
                if (s->exp->files[i].absent)
                        continue;
                if (archive_entry_filetype(e) != AE_IFREG ||
                    archive_entry_size(e) > (la_int64_t)CAPTURE_MAX) {
                        s->file_toobig[i] = true;
                        continue;
                }
                r = vt_archive_read_data(a, &s->file_data[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static struct archive *reader_new(void)
{
        struct archive *a = archive_read_new();

        if (!a)
                return NULL;
        archive_read_support_format_cpio(a);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_lz4(a);
        archive_read_support_filter_lzma(a);
        archive_read_support_filter_bzip2(a);
        return a;
}

/* Read every archive of the image, calling on_member for each member. */
static int scan_image(const unsigned char *data, size_t len, struct scan *s)
{
        size_t off = 0;

        for (;;) {
                _cleanup_archive_read_ struct archive *a = NULL;
                struct archive_entry *e;
                la_int64_t used;
                int ar, r;

                while (off < len && data[off] == 0)
                        off++;
                if (off >= len) {
                        if (s->rep->n_archives == 0)
                                return vt_error_set(EBADMSG, "%s is empty: not an initramfs",
                                                    s->name);
                        return 0;
                }
                a = reader_new();
                if (!a)
                        return -ENOMEM;
                if (archive_read_open_memory(a, data + off, len - off) != ARCHIVE_OK)
                        return vt_error_set(EBADMSG, "%s: no cpio archive at byte %zu: %s", s->name,
                                            off, archive_error_string(a));
                while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
                        r = on_member(s, a, e);
                        if (r == -EBADMSG)
                                return vt_error_set(EBADMSG, "%s: damaged member %s: %s", s->name,
                                                    archive_entry_pathname(e),
                                                    archive_error_string(a));
                        if (r < 0)
                                return r;
                }
                if (ar != ARCHIVE_EOF)
                        return vt_error_set(
                            EBADMSG, "%s: cannot read the cpio archive at byte %zu: %s", s->name,
                            off,
                            archive_error_string(a) ? archive_error_string(a) : "unknown format");
                s->rep->n_archives++;
                snprintf(s->rep->compression, sizeof(s->rep->compression), "%s",
                         archive_filter_name(a, 0) ? archive_filter_name(a, 0) : "none");
                if (archive_filter_count(a) > 1)
                        return 0; /* a compressed archive is the last one */
                used = archive_filter_bytes(a, -1);
                if (used <= 0)
                        return 0;
                off += (size_t)used;
        }
}

int vt_initramfs_verify_mem(const void *data, size_t len, const char *name,
                            const vt_initramfs_expect *exp, vt_initramfs_report *out)
{
        _cleanup_free_ bool *mod_found = NULL, *file_found = NULL, *toobig = NULL;
        struct scan s = {.exp = exp, .name = name, .rep = out};
        vt_buf *file_data = NULL;
        int r;

        *out = (vt_initramfs_report){0};
        mod_found = calloc(exp->n_modules + 1, sizeof(bool));
        file_found = calloc(exp->n_files + 1, sizeof(bool));
        toobig = calloc(exp->n_files + 1, sizeof(bool));
        file_data = calloc(exp->n_files + 1, sizeof(vt_buf));
        if (!mod_found || !file_found || !toobig || !file_data) {
                free(file_data);
                return -ENOMEM;
        }
        s.mod_found = mod_found;
        s.file_found = file_found;
        s.file_toobig = toobig;
        s.file_data = file_data;
        r = scan_image(data, len, &s);

        for (size_t i = 0; r >= 0 && i < exp->n_modules; i++) {
                const char *m = exp->modules[i];
                const char *bi = exp->builtin ? exp->builtin : vt_buf_cstr(&s.builtin);

                if (mod_found[i] || builtin_has(bi, m))
                        continue;
                r = finding_add(&out->findings, VT_VERIFY_MODULE_MISSING, m,
                                "%s: module %s is neither in the image%s%s nor built into the "
                                "kernel",
                                name, m, exp->kver ? " for kernel " : "",
                                exp->kver ? exp->kver : "");
        }
        for (size_t i = 0; r >= 0 && i < exp->n_files; i++) {
                const vt_expect_file *f = &exp->files[i];

                if (f->absent) {
                        if (file_found[i])
                                r = finding_add(&out->findings, VT_VERIFY_FILE_UNEXPECTED, f->path,
                                                "%s: %s is in the image but should not be", name,
                                                f->path);
                } else if (!file_found[i]) {
                        r = finding_add(&out->findings, VT_VERIFY_FILE_MISSING, f->path,
                                        "%s: %s is missing from the image", name, f->path);
                } else if (toobig[i] || file_data[i].len != f->len ||
                           (f->len && memcmp(file_data[i].ptr, f->data, f->len) != 0)) {
                        r = finding_add(&out->findings, VT_VERIFY_FILE_DIFFERS, f->path,
                                        "%s: %s in the image differs from the file written "
                                        "(%zu bytes in the image, %zu expected)",
                                        name, f->path, toobig[i] ? (size_t)0 : file_data[i].len,
                                        f->len);
                }
        }
        for (size_t i = 0; i < exp->n_files; i++)
                vt_buf_free(&file_data[i]);
        free(file_data);
        vt_buf_free(&s.builtin);
        if (r < 0)
                vt_initramfs_report_free(out);
        return r;
}

int vt_initramfs_verify(const vt_root *root, const char *path, const vt_initramfs_expect *exp,
                        vt_initramfs_report *out)
{
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        _cleanup_free_ char *shown = vt_root_display(root, path);
        int r;

        *out = (vt_initramfs_report){0};
        if (!shown)
                return -ENOMEM;
        r = vt_root_read(root, path, &data);
        if (r < 0)
                return vt_error_wrap(r, "cannot verify the initramfs");
        return vt_initramfs_verify_mem(data.ptr, data.len, shown, exp, out);
}

int vt_initramfs_list_mem(const void *data, size_t len, const char *name, vt_buf *out)
{
        static const vt_initramfs_expect none = {0};
        vt_initramfs_report rep = {0};
        struct scan s = {.exp = &none, .name = name, .rep = &rep, .list = out};

        vt_buf_clear(out);
        return scan_image(data, len, &s);
}

/* ---- command lines ---- */

/* The next whitespace-separated word of [*p, end), quotes around it removed. */
static bool next_word(const char **p, const char *end, const char **w, size_t *wl)
{
        const char *s = *p;

        while (s < end && strchr(" \t\r\n", *s))
                s++;
        if (s >= end) {
                *p = s;
                return false;
        }
        const char *e = s;

        while (e < end && !strchr(" \t\r\n", *e))
                e++;
        *p = e;
        *w = s;
        *wl = (size_t)(e - s);
        if (*wl >= 2 && (s[0] == '\'' || s[0] == '"') && s[*wl - 1] == s[0]) {
                (*w)++;
                *wl -= 2;
        }
        return true;
}

static bool line_has_word(const char *line, const char *end, const char *word)
{
        size_t n = strlen(word), wl;
        const char *w;

        while (next_word(&line, end, &w, &wl))
                if (wl == n && memcmp(w, word, n) == 0)
                        return true;
        return false;
}

/* Check one command line (the words of [line, end) after `skip` leading words). */
static int check_line(const char *line, const char *end, const char *what, const char *where,
                      const char *const *wanted, size_t nw, const char *const *unwanted, size_t nu,
                      vt_verify_findings *out)
{
        int r = 0;

        for (size_t i = 0; i < nw && r >= 0; i++)
                if (!line_has_word(line, end, wanted[i]))
                        r = finding_add(out, VT_VERIFY_WORD_MISSING, wanted[i],
                                        "%s: %s lacks '%s' on the kernel command line", what, where,
                                        wanted[i]);
        for (size_t i = 0; i < nu && r >= 0; i++)
                if (line_has_word(line, end, unwanted[i]))
                        r = finding_add(out, VT_VERIFY_WORD_PRESENT, unwanted[i],
                                        "%s: %s still has '%s' on the kernel command line", what,
                                        where, unwanted[i]);
        return r;
}

int vt_cmdline_verify_text(const char *text, size_t len, vt_cmdline_format fmt, const char *what,
                           const char *kver, const char *const *wanted, size_t n_wanted,
                           const char *const *unwanted, size_t n_unwanted, vt_verify_findings *out)
{
        const char *end = text + len, *line = text;
        _cleanup_buf_ vt_buf options = VT_BUF_INIT;
        size_t entries = 0;
        int r = 0;

        if (fmt == VT_CMDLINE_PLAIN)
                return check_line(text, end, what, "the command line", wanted, n_wanted, unwanted,
                                  n_unwanted, out);
        while (line < end && r >= 0) {
                const char *eol = memchr(line, '\n', (size_t)(end - line));
                const char *p = line, *w, *k;
                size_t wl, kl;

                if (!eol)
                        eol = end;
                if (!next_word(&p, eol, &w, &wl)) {
                        line = eol + 1;
                        continue;
                }
                if (fmt == VT_CMDLINE_LOADER_ENTRY) {
                        if (wl == 7 && memcmp(w, "options", 7) == 0) {
                                r = vt_buf_put(&options, p, (size_t)(eol - p));
                                if (r >= 0)
                                        r = vt_buf_putc(&options, ' ');
                                entries = 1;
                        }
                } else if ((wl == 5 && memcmp(w, "linux", 5) == 0) ||
                           (wl == 8 && memcmp(w, "linuxefi", 8) == 0) ||
                           (wl == 7 && memcmp(w, "linux16", 7) == 0)) {
                        bool ours = true;
                        char where[300];

                        if (!next_word(&p, eol, &k, &kl)) {
                                line = eol + 1;
                                continue;
                        }
                        if (kver)
                                ours = memmem(k, kl, kver, strlen(kver)) != NULL;
                        if (ours && !line_has_word(p, eol, "single") &&
                            !line_has_word(p, eol, "recovery")) {
                                entries++;
                                snprintf(where, sizeof(where), "the entry for %.*s", (int)kl, k);
                                r = check_line(p, eol, what, where, wanted, n_wanted, unwanted,
                                               n_unwanted, out);
                        }
                }
                line = eol + 1;
        }
        if (r < 0)
                return r;
        if (fmt == VT_CMDLINE_LOADER_ENTRY)
                return check_line(vt_buf_cstr(&options), vt_buf_cstr(&options) + options.len, what,
                                  "the options line", wanted, n_wanted, unwanted, n_unwanted, out);
        if (entries == 0)
                return finding_add(out, VT_VERIFY_NO_ENTRY, kver ? kver : "",
                                   "%s: no boot entry%s%s", what, kver ? " for kernel " : "",
                                   kver ? kver : "");
        return 0;
}
