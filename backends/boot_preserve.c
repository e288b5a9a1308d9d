/* The last good boot under /boot/vfiotx (boot_preserve.h). */
#include "backends/boot_preserve.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootcount_grub.h"
#include "backends/bootcount_sdboot.h"
#include "backends/cmdline.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

/* Words GRUB adds, vfiotx's markers, and panic= (see the header for why). */
static bool dropped(const char *name)
{
        static const char *const names[] = {"BOOT_IMAGE", "initrd", VT_CMDLINE_TRIAL,
                                            VT_CMDLINE_FALLBACK, "panic"};

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (vt_cmdline_name_eq(name, names[i]))
                        return true;
        return false;
}

int vt_last_good_cmdline(const char *proc_cmdline, size_t len, vt_buf *out)
{
        vt_cmdline_words w = {0};
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        bool has_root = false;
        int r;

        r = vt_cmdline_split(proc_cmdline, len, &w);
        if (r < 0)
                return r;
        if (w.open_quote) {
                vt_cmdline_words_free(&w);
                return vt_error_set(EINVAL, "the running command line ends inside a '\"': it "
                                            "cannot be copied for the last good entry");
        }
        for (size_t i = 0; i < w.n; i++) {
                const vt_cmdline_word *word = &w.items[i];

                if (i == w.n_kernel &&
                    vt_buf_printf(&b, "%s" VT_CMDLINE_FALLBACK "=1", b.len ? " " : "") < 0)
                        goto oom;
                if (i < w.n_kernel && dropped(word->name))
                        continue;
                if (i < w.n_kernel && strcmp(word->name, "root") == 0 && word->value &&
                    *word->value)
                        has_root = true;
                if ((b.len && vt_buf_putc(&b, ' ') < 0) ||
                    vt_buf_put(&b, proc_cmdline + word->start, word->len) < 0)
                        goto oom;
        }
        if (w.n_kernel == w.n &&
            vt_buf_printf(&b, "%s" VT_CMDLINE_FALLBACK "=1", b.len ? " " : "") < 0)
                goto oom;
        vt_cmdline_words_free(&w);
        if (!has_root) {
                vt_error_set(EINVAL, "the running command line has no root=: the last good "
                                     "entry would not find the root filesystem");
                return vt_error_hint(EINVAL, "boot with root= on the command line, or apply "
                                             "with --no-arm");
        }
        vt_buf_free(out);
        *out = b;
        b = (vt_buf)VT_BUF_INIT;
        return 0;
oom:
        vt_cmdline_words_free(&w);
        return vt_error_set(ENOMEM, "out of memory");
}

static bool grub_safe(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("_.,:/=+@%-", c);
}

int vt_grub_quote_word(const char *word, size_t len, vt_buf *out)
{
        _cleanup_buf_ vt_buf plain = VT_BUF_INIT;
        bool quote = false;

        /* The kernel's quotes go: GRUB hands the word over as one argument and quotes it again
         * when it holds a space; a '"' left in would reach the kernel escaped. */
        for (size_t i = 0; i < len; i++) {
                if (word[i] == '"')
                        continue;
                if (!grub_safe(word[i]))
                        quote = true;
                if (vt_buf_putc(&plain, word[i]) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        if (!quote || !plain.len)
                return vt_buf_put(out, plain.ptr, plain.len) < 0
                           ? vt_error_set(ENOMEM, "out of memory")
                           : 0;
        if (vt_buf_putc(out, '\'') < 0)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < plain.len; i++) {
                int r = plain.ptr[i] == '\'' ? vt_buf_puts(out, "'\\''")
                                             : vt_buf_putc(out, plain.ptr[i]);

                if (r < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        return vt_buf_putc(out, '\'') < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

void vt_preserve_plan_free(vt_preserve_plan *p)
{
        if (!p)
                return;
        free(p->kver);
        free(p->src_kernel);
        free(p->src_initrd);
        free(p->dst_kernel);
        free(p->dst_initrd);
        free(p->dir);
        free(p->entry_path);
        vt_buf_free(&p->cmdline);
        vt_buf_free(&p->entry);
        *p = (vt_preserve_plan){0};
}

static bool listed(const char *const *files, const char *name)
{
        for (size_t i = 0; files && files[i]; i++)
                if (strcmp(files[i], name) == 0)
                        return true;
        return false;
}

static bool valid_kver(const char *kver)
{
        if (!*kver || strcmp(kver, ".") == 0 || strcmp(kver, "..") == 0)
                return false;
        for (const char *c = kver; *c; c++)
                if (!grub_safe(*c) || *c == '/' || *c == '=')
                        return false;
        return true;
}

int vt_boot_preserve_decide(const char *kver, const char *proc_cmdline, size_t cmdline_len,
                            const char *const *boot_files, long txn, vt_preserve_plan *out)
{
        _cleanup_(vt_preserve_plan_free) vt_preserve_plan p = {0};
        _cleanup_free_ char *kname = NULL, *iname = NULL;
        vt_cmdline_words w = {0};
        int r;

        if (txn <= 0)
                return vt_error_set(EINVAL, "preserving needs the good transaction number");
        if (!valid_kver(kver))
                return vt_error_set(EINVAL, "'%s' is not a kernel version vfiotx can copy", kver);
        if (asprintf(&kname, "vmlinuz-%s", kver) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        if (!listed(boot_files, kname)) {
                vt_error_set(ENOENT,
                             "the running kernel %s has no /boot/%s to keep as the last "
                             "good one",
                             kver, kname);
                return vt_error_hint(ENOENT, "boot the kernel that is installed in /boot, or "
                                             "apply with --no-arm");
        }
        if (asprintf(&iname, "initrd.img-%s", kver) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        if (!listed(boot_files, iname)) {
                free(iname);
                if (asprintf(&iname, "initramfs-%s.img", kver) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
                if (!listed(boot_files, iname)) {
                        free(iname);
                        iname = NULL;
                }
        }

        p.txn = txn;
        p.kver = strdup(kver);
        if (!p.kver || asprintf(&p.src_kernel, "/boot/%s", kname) < 0 ||
            asprintf(&p.dst_kernel, VT_PRESERVE_DIR "/vmlinuz-%s.%ld", kver, txn) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        if (iname && (asprintf(&p.src_initrd, "/boot/%s", iname) < 0 ||
                      asprintf(&p.dst_initrd, VT_PRESERVE_DIR "/initrd.img-%s.%ld", kver, txn) < 0))
                return vt_error_set(ENOMEM, "out of memory");

        r = vt_last_good_cmdline(proc_cmdline, cmdline_len, &p.cmdline);
        if (r < 0)
                return r;

        if (vt_buf_printf(&p.entry,
                          "# The last good configuration, written by vfiotx and read at boot by "
                          "the\n# 'vfiotx-last-good' entry (/etc/grub.d/" VT_GRUB_SCRIPT_NAME
                          "). Do not edit.\n# kver=%s\n# txn=%ld\n# cmdline=%s\n"
                          "linux\t${vfiotx_dir}/vmlinuz-%s.%ld",
                          kver, txn, vt_buf_cstr(&p.cmdline), kver, txn) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_cmdline_split(p.cmdline.ptr, p.cmdline.len, &w);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w.n && r >= 0; i++) {
                r = vt_buf_putc(&p.entry, ' ') < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
                if (r >= 0)
                        r = vt_grub_quote_word(p.cmdline.ptr + w.items[i].start, w.items[i].len,
                                               &p.entry);
        }
        vt_cmdline_words_free(&w);
        if (r < 0)
                return r;
        if (vt_buf_putc(&p.entry, '\n') < 0 ||
            (iname &&
             vt_buf_printf(&p.entry, "initrd\t${vfiotx_dir}/initrd.img-%s.%ld\n", kver, txn) < 0))
                return vt_error_set(ENOMEM, "out of memory");
        *out = p;
        p = (vt_preserve_plan){0};
        return 0;
}

static int list_boot(const vt_root *root, char ***out)
{
        _cleanup_close_ int fd = -1;
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        DIR *d;
        int r;

        r = vt_root_opendir(root, "/boot", &fd);
        if (r < 0)
                return r;
        d = fdopendir(fd);
        if (!d)
                return vt_error_set(errno, "cannot list /boot: %s", strerror(errno));
        fd = -1;
        while ((e = readdir(d))) {
                char **grown = realloc(names, (n + 2) * sizeof(*names));

                if (!grown || !(grown[n] = strdup(e->d_name))) {
                        names = grown ? grown : names;
                        closedir(d);
                        for (size_t i = 0; i < n; i++)
                                free(names[i]);
                        free(names);
                        return vt_error_set(ENOMEM, "out of memory");
                }
                names = grown;
                names[++n] = NULL;
        }
        closedir(d);
        if (!names)
                names = calloc(1, sizeof(*names));
        if (!names)
                return vt_error_set(ENOMEM, "out of memory");
        *out = names;
        return 0;
}

static void free_names(char **names)
{
        for (size_t i = 0; names && names[i]; i++)
                free(names[i]);
        free(names);
}

int vt_boot_preserve_plan(const vt_root *root, const char *proc, long txn, vt_preserve_plan *out)
{
        _cleanup_free_ char *rel_path = vt_path_join(proc, "sys/kernel/osrelease");
        _cleanup_free_ char *cmd_path = vt_path_join(proc, "cmdline");
        _cleanup_free_ char *kver = NULL;
        _cleanup_buf_ vt_buf cmdline = VT_BUF_INIT;
        char **names = NULL;
        int r;

        if (!rel_path || !cmd_path)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_read_line(rel_path, &kver);
        if (r < 0)
                return r;
        r = vt_read_file(cmd_path, &cmdline);
        if (r < 0)
                return r;
        while (cmdline.len &&
               (cmdline.ptr[cmdline.len - 1] == '\n' || cmdline.ptr[cmdline.len - 1] == '\0'))
                cmdline.ptr[--cmdline.len] = '\0';
        r = list_boot(root, &names);
        if (r < 0)
                return r;
        r = vt_boot_preserve_decide(kver, cmdline.ptr ? cmdline.ptr : "", cmdline.len,
                                    (const char *const *)names, txn, out);
        free_names(names);
        return r;
}

void vt_preserved_free(vt_preserved *p)
{
        if (!p)
                return;
        free(p->kver);
        free(p->cmdline);
        free(p->kernel);
        free(p->initrd);
        *p = (vt_preserved){0};
}

static char *comment_value(const char *text, const char *key)
{
        const char *p = text;
        size_t klen = strlen(key);

        while (p && *p) {
                if (strncmp(p, "# ", 2) == 0 && strncmp(p + 2, key, klen) == 0 &&
                    p[2 + klen] == '=') {
                        const char *v = p + 3 + klen, *eol = strchr(v, '\n');

                        return strndup(v, eol ? (size_t)(eol - v) : strlen(v));
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return NULL;
}

int vt_boot_preserved_read(const vt_root *root, vt_preserved *out)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        _cleanup_(vt_preserved_free) vt_preserved p = {0};
        _cleanup_free_ char *txn = NULL;
        const char *initrd_line;
        char *end;
        int r;

        r = vt_root_read(root, VT_PRESERVE_ENTRY, &text);
        if (r < 0)
                return r;
        p.kver = comment_value(vt_buf_cstr(&text), "kver");
        p.cmdline = comment_value(vt_buf_cstr(&text), "cmdline");
        txn = comment_value(vt_buf_cstr(&text), "txn");
        if (!p.kver || !p.cmdline || !txn || !valid_kver(p.kver))
                return vt_error_set(EBADMSG, VT_PRESERVE_ENTRY " lacks its kver/txn/cmdline lines");
        errno = 0;
        p.txn = strtol(txn, &end, 10);
        if (errno || *end || p.txn <= 0)
                return vt_error_set(EBADMSG, VT_PRESERVE_ENTRY ": bad txn '%s'", txn);
        if (asprintf(&p.kernel, VT_PRESERVE_DIR "/vmlinuz-%s.%ld", p.kver, p.txn) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        initrd_line = strstr(vt_buf_cstr(&text), "\ninitrd\t");
        if (initrd_line &&
            asprintf(&p.initrd, VT_PRESERVE_DIR "/initrd.img-%s.%ld", p.kver, p.txn) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_exists(root, p.kernel);
        if (r >= 0 && r > 0 && p.initrd)
                r = vt_root_exists(root, p.initrd);
        if (r < 0)
                return r;
        p.present = r > 0;
        *out = p;
        p = (vt_preserved){0};
        return 0;
}

/* The plan's destinations moved to an ESP (the new paths are taken over). */
static void retarget(vt_preserve_plan *p, char *dir, char *entry, char *dk, char *di)
{
        free(p->dir);
        free(p->entry_path);
        free(p->dst_kernel);
        free(p->dst_initrd);
        p->dir = dir;
        p->entry_path = entry;
        p->dst_kernel = dk;
        p->dst_initrd = di;
}

int vt_boot_preserve_for_esp(vt_preserve_plan *p, const char *esp)
{
        _cleanup_free_ char *k = NULL, *i = NULL;
        const char *base_k = strrchr(p->dst_kernel, '/') + 1;
        const char *base_i = p->dst_initrd ? strrchr(p->dst_initrd, '/') + 1 : NULL;
        char *dir = NULL, *entry = NULL, *dk = NULL, *di = NULL;
        int r;

        if (asprintf(&k, "/vfiotx/%s", base_k) < 0 ||
            (base_i && asprintf(&i, "/vfiotx/%s", base_i) < 0) ||
            asprintf(&dir, "%s/vfiotx", esp) < 0 ||
            asprintf(&entry, "%s/loader/entries/" VT_SDBOOT_LAST_GOOD_FILE, esp) < 0 ||
            asprintf(&dk, "%s%s", esp, k) < 0 || (i && asprintf(&di, "%s%s", esp, i) < 0)) {
                free(dir);
                free(entry);
                free(dk);
                return vt_error_set(ENOMEM, "out of memory");
        }
        r = vt_sdboot_last_good_entry(p->kver, p->txn, vt_buf_cstr(&p->cmdline), k, i, &p->entry);
        if (r < 0) {
                free(dir);
                free(entry);
                free(dk);
                free(di);
                return r;
        }
        retarget(p, dir, entry, dk, di);
        return 0;
}

int vt_boot_preserve_for_grub_esp(vt_preserve_plan *p, const char *esp)
{
        const char *base_k = strrchr(p->dst_kernel, '/') + 1;
        const char *base_i = p->dst_initrd ? strrchr(p->dst_initrd, '/') + 1 : NULL;
        char *dir = NULL, *entry = NULL, *dk = NULL, *di = NULL;

        /* entry.cfg stays as planned: its paths are relative to $vfiotx_dir, which 42_vfiotx
         * sets to <ESP>/vfiotx when update-grub runs with the ESP on /boot. */
        if (asprintf(&dir, "%s/vfiotx", esp) < 0 || asprintf(&entry, "%s/entry.cfg", dir) < 0 ||
            asprintf(&dk, "%s/%s", dir, base_k) < 0 ||
            (base_i && asprintf(&di, "%s/%s", dir, base_i) < 0)) {
                free(dir);
                free(entry);
                free(dk);
                return vt_error_set(ENOMEM, "out of memory");
        }
        retarget(p, dir, entry, dk, di);
        return 0;
}
