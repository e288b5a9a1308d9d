#include "backends/early_modules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/kernels.h"
#include "backends/modprobe.h"
#include "common/error.h"
#include "common/macro.h"

#define BEGIN_MARK   "# >>> vfiotx: managed block, edits are recorded as drift"
#define CREATED_FLAG " [file created by vfiotx]"
#define NEWLINE_FLAG " [final newline above added by vfiotx]"
#define END_MARK     "# <<< vfiotx"

/* Length of the line starting at p (without its '\n'). */
static size_t line_len(const char *p, const char *end)
{
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        return nl ? (size_t)(nl - p) : (size_t)(end - p);
}

static bool line_is(const char *p, size_t len, const char *s)
{
        return len == strlen(s) && memcmp(p, s, len) == 0;
}

static bool line_starts(const char *p, size_t len, const char *s)
{
        return len >= strlen(s) && memcmp(p, s, strlen(s)) == 0;
}

/* The file without vfiotx's block(s), and what the begin marker recorded. */
static int strip_block(const char *path, const vt_buf *cur, vt_buf *rest, bool *created)
{
        const char *p = vt_buf_cstr(cur), *end = p + cur->len;
        bool in_block = false, newline_added = false;
        unsigned lineno = 0, begin_line = 0;
        int r = 0;

        *created = false;
        vt_buf_clear(rest);
        while (p < end && r >= 0) {
                size_t len = line_len(p, end);
                size_t adv = len + (p + len < end);

                lineno++;
                if (!in_block && line_starts(p, len, BEGIN_MARK)) {
                        in_block = true;
                        begin_line = lineno;
                        *created = *created || memmem(p, len, CREATED_FLAG, strlen(CREATED_FLAG));
                        newline_added = memmem(p, len, NEWLINE_FLAG, strlen(NEWLINE_FLAG));
                        /* The newline vfiotx added went right before its block. */
                        if (newline_added && rest->len > 0 && rest->ptr[rest->len - 1] == '\n')
                                rest->ptr[--rest->len] = '\0';
                } else if (in_block && line_is(p, len, END_MARK)) {
                        in_block = false;
                } else if (!in_block) {
                        r = vt_buf_put(rest, p, adv);
                }
                p += adv;
        }
        if (r < 0)
                return vt_error_set(ENOMEM, "out of memory");
        if (in_block) {
                vt_error_set_at(EINVAL, path, begin_line,
                                "vfiotx's managed block has no end line \"%s\"", END_MARK);
                return vt_error_hint(EINVAL,
                                     "restore the line \"%s\" after the block, or remove "
                                     "the block, then run the command again",
                                     END_MARK);
        }
        return 0;
}

/* Replace vfiotx's block in `cur` with one holding `body` (no block when body is empty). */
static int edit_block(const char *path, const vt_buf *cur, const char *body, vt_file_out *out)
{
        _cleanup_buf_ vt_buf rest = VT_BUF_INIT;
        bool created = false, created_now, add_newline;
        int r;

        out->path = path;
        out->present = false;
        vt_buf_clear(&out->data);
        if (cur) {
                r = strip_block(path, cur, &rest, &created);
                if (r < 0)
                        return r;
        }
        created_now = !cur || (created && rest.len == 0);
        if (!body[0]) {
                if (created_now)
                        return 0;
                out->present = true;
                return vt_buf_set(&out->data, rest.ptr, rest.len) < 0
                           ? vt_error_set(ENOMEM, "out of memory")
                           : 0;
        }
        add_newline = rest.len > 0 && rest.ptr[rest.len - 1] != '\n';
        r = vt_buf_put(&out->data, rest.ptr, rest.len);
        if (r >= 0 && add_newline)
                r = vt_buf_putc(&out->data, '\n');
        if (r >= 0)
                r = vt_buf_printf(&out->data, "%s%s%s\n%s\n%s\n", BEGIN_MARK,
                                  created_now ? CREATED_FLAG : "", add_newline ? NEWLINE_FLAG : "",
                                  body, END_MARK);
        if (r < 0)
                return vt_error_set(ENOMEM, "out of memory");
        out->present = true;
        return 0;
}

static bool user_lists_module(const vt_buf *rest, const char *mod)
{
        const char *p = vt_buf_cstr(rest), *end = p + rest->len;

        while (p < end) {
                size_t len = line_len(p, end), w = 0;
                const char *q = p;

                while (q < p + len && (*q == ' ' || *q == '\t'))
                        q++;
                while (q + w < p + len && !isspace((unsigned char)q[w]))
                        w++;
                if (w > 0 && q[0] != '#' && vt_modname_eq_n(q, w, mod))
                        return true;
                p += len + 1;
        }
        return false;
}

int vt_early_modules(const vt_kernel *kernels, size_t nkernels, vt_strv *out)
{
        static const char *const base[] = {"vfio", "vfio_iommu_type1", "vfio_pci"};
        bool virqfd = nkernels > 0;

        /* Only when every target kernel has it: a kernel without it would log a failed load at
         * every boot, and where it exists vfio_pci depends on it, so it is loaded (and put in
         * the initramfs) anyway. The /etc/modules editor decides the same way. */
        for (size_t i = 0; i < nkernels; i++)
                virqfd =
                    virqfd && vt_kernel_module(&kernels[i], "vfio_virqfd") == VT_MODULE_LOADABLE;
        for (size_t i = 0; i < ARRAY_SIZE(base); i++)
                if (vt_strv_push(out, base[i]) < 0)
                        goto oom;
        if (virqfd && vt_strv_push(out, "vfio_virqfd") < 0)
                goto oom;
        return 0;
oom:
        vt_strv_free(out);
        return vt_error_set(ENOMEM, "out of memory");
}

static int check_mods(const char *const *mods, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *m = mods[i];
                bool ok = m[0] != '\0';

                for (; *m; m++)
                        ok = ok && (isalnum((unsigned char)*m) || *m == '_' || *m == '-');
                if (!ok)
                        return vt_error_set(EINVAL, "'%s' is not a module name", mods[i]);
        }
        return 0;
}

int vt_initramfs_tools_modules_edit(const vt_buf *cur, const char *const *mods, size_t n,
                                    vt_file_out *out)
{
        _cleanup_buf_ vt_buf rest = VT_BUF_INIT, body = VT_BUF_INIT;
        bool created;
        int r;

        r = check_mods(mods, n);
        if (r >= 0 && cur)
                r = strip_block(VT_INITRAMFS_TOOLS_MODULES_PATH, cur, &rest, &created);
        if (r < 0)
                return r;
        /* A module the user already loads is left to the user's line. */
        for (size_t i = 0; i < n; i++) {
                if (user_lists_module(&rest, mods[i]))
                        continue;
                if (vt_buf_printf(&body, "%s\n", mods[i]) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        if (body.len > 0)
                body.ptr[--body.len] = '\0';
        return edit_block(VT_INITRAMFS_TOOLS_MODULES_PATH, cur, vt_buf_cstr(&body), out);
}

static int join_mods(const char *const *mods, size_t n, vt_buf *b)
{
        for (size_t i = 0; i < n; i++)
                if (vt_buf_printf(b, "%s%s", i ? " " : "", mods[i]) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

int vt_dracut_conf_generate(const char *const *mods, size_t n, vt_file_out *out)
{
        _cleanup_buf_ vt_buf list = VT_BUF_INIT;
        int r;

        out->path = VT_DRACUT_CONF_PATH;
        out->present = false;
        vt_buf_clear(&out->data);
        r = check_mods(mods, n);
        if (r < 0 || n == 0)
                return r;
        r = join_mods(mods, n, &list);
        if (r < 0)
                return r;
        /* dracut wants the blanks inside the quotes so that += concatenations stay separated. */
        r = vt_buf_printf(&out->data,
                          "# %s: managed by vfiotx; edits are recorded as drift.\n"
                          "# Loads the vfio modules in the initramfs before udev starts, so "
                          "vfio-pci binds first.\n"
                          "force_drivers+=\" %s \"\n",
                          VT_DRACUT_CONF_PATH, list.ptr);
        if (r < 0)
                return vt_error_set(ENOMEM, "out of memory");
        out->present = true;
        return 0;
}

static int mkinitcpio_line(const char *const *mods, size_t n, vt_buf *b)
{
        int r = vt_buf_puts(b, "MODULES=(");

        if (r >= 0)
                r = join_mods(mods, n, b);
        if (r >= 0)
                r = vt_buf_puts(b, " \"${MODULES[@]}\")");
        return r < 0 ? vt_error_set(ENOMEM, "out of memory") : 0;
}

/* The old MODULES="a b" string syntax: prepending an array to it would turn the user's list
 * into one bogus module name, so refuse rather than guess. */
static int check_mkinitcpio_syntax(const vt_buf *rest)
{
        const char *p = vt_buf_cstr(rest), *end = p + rest->len;
        unsigned lineno = 0, bad = 0;

        while (p < end) {
                size_t len = line_len(p, end);
                const char *q = p;

                lineno++;
                while (q < p + len && (*q == ' ' || *q == '\t'))
                        q++;
                if (line_starts(q, len - (size_t)(q - p), "MODULES="))
                        bad = q[8] == '(' ? 0 : lineno;
                p += len + 1;
        }
        if (!bad)
                return 0;
        vt_error_set_at(EINVAL, VT_MKINITCPIO_CONF_PATH, bad,
                        "MODULES is set with the old string syntax");
        return vt_error_hint(EINVAL, "write it as an array, MODULES=(...), then run the command "
                                     "again");
}

int vt_mkinitcpio_conf_edit(const vt_buf *cur, const char *const *mods, size_t n, vt_file_out *out)
{
        _cleanup_buf_ vt_buf rest = VT_BUF_INIT, body = VT_BUF_INIT;
        bool created;
        int r;

        r = check_mods(mods, n);
        if (r >= 0 && cur)
                r = strip_block(VT_MKINITCPIO_CONF_PATH, cur, &rest, &created);
        if (r >= 0 && n > 0)
                r = check_mkinitcpio_syntax(&rest);
        if (r >= 0 && n > 0)
                r = mkinitcpio_line(mods, n, &body);
        if (r < 0)
                return r;
        return edit_block(VT_MKINITCPIO_CONF_PATH, cur, vt_buf_cstr(&body), out);
}

int vt_mkinitcpio_dropin_generate(const char *const *mods, size_t n, vt_file_out *out)
{
        int r;

        out->path = VT_MKINITCPIO_DROPIN_PATH;
        out->present = false;
        vt_buf_clear(&out->data);
        r = check_mods(mods, n);
        if (r < 0 || n == 0)
                return r;
        r = vt_buf_printf(&out->data,
                          "# %s: managed by vfiotx; edits are recorded as drift.\n"
                          "# The vfio modules go first, before any graphics driver in MODULES.\n",
                          VT_MKINITCPIO_DROPIN_PATH);
        if (r < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = mkinitcpio_line(mods, n, &out->data);
        if (r >= 0 && vt_buf_putc(&out->data, '\n') < 0)
                r = vt_error_set(ENOMEM, "out of memory");
        if (r < 0)
                return r;
        out->present = true;
        return 0;
}

int vt_builtin_cmdline_args(const vt_kernel *kernels, size_t nkernels,
                            const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                            vt_strv *out)
{
        _cleanup_(vt_strv_free) vt_strv params = {0};
        bool builtin = false;
        int r;

        for (size_t i = 0; i < nkernels; i++)
                builtin = builtin || vt_kernel_module(&kernels[i], "vfio_pci") == VT_MODULE_BUILTIN;
        if (!builtin)
                return 0;
        r = vt_modprobe_vfio_params(devs, n, method, &params);
        if (r < 0)
                return r;
        for (size_t i = 0; i < params.n; i++) {
                char arg[512];

                snprintf(arg, sizeof(arg), "vfio-pci.%s", params.items[i]);
                if (vt_strv_push(out, arg) < 0) {
                        vt_strv_free(out);
                        return vt_error_set(ENOMEM, "out of memory");
                }
        }
        return 0;
}
