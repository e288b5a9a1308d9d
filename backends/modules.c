#include "backends/modules.h"

#include <errno.h>
#include <string.h>

/* Debian's stock /etc/modules (kmod package), for a host that has none. */
static const char stock_header[] = "# /etc/modules: kernel modules to load at boot time.\n"
                                   "#\n"
                                   "# This file contains the names of kernel modules that should "
                                   "be loaded\n"
                                   "# at boot time, one per line. Lines beginning with \"#\" are "
                                   "ignored.\n";

static bool same_name(const char *a, size_t al, const char *b)
{
        size_t bl = strlen(b);

        if (al != bl)
                return false;
        for (size_t i = 0; i < al; i++) {
                char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

                if (x != y)
                        return false;
        }
        return true;
}

bool vt_modules_listed(const char *text, size_t len, const char *name)
{
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                const char *le = eol ? eol : end, *w;

                while (p < le && (*p == ' ' || *p == '\t'))
                        p++;
                w = p;
                while (p < le && !strchr(" \t\r#;", *p))
                        p++;
                if (p > w && *w != '#' && *w != ';' && same_name(w, (size_t)(p - w), name))
                        return true;
                p = eol ? eol + 1 : end;
        }
        return false;
}

int vt_modules_edit(const vt_buf *cur, const char *const *wanted, vt_buf *out)
{
        const char *text = cur ? vt_buf_cstr(cur) : "";
        size_t len = cur ? cur->len : 0;
        bool newline_needed;
        int r;

        vt_buf_clear(out);
        if (!cur)
                r = vt_buf_puts(out, stock_header);
        else
                r = vt_buf_put(out, text, len);
        if (r < 0)
                return r;
        newline_needed = out->len > 0 && out->ptr[out->len - 1] != '\n';
        for (size_t i = 0; wanted[i]; i++) {
                if (vt_modules_listed(out->ptr ? out->ptr : "", out->len, wanted[i]))
                        continue;
                /* Keep the file's own line ending style when it uses CRLF. */
                if (newline_needed &&
                    (r = vt_buf_puts(out, memchr(text, '\r', len) ? "\r\n" : "\n")) < 0)
                        return r;
                newline_needed = false;
                if ((r = vt_buf_puts(out, wanted[i])) < 0 ||
                    (r = vt_buf_puts(out, len && memchr(text, '\r', len) ? "\r\n" : "\n")) < 0)
                        return r;
        }
        return 0;
}

int vt_modules_wanted(const vt_kernel_list *kernels, const char *wanted[5], vt_buf *why)
{
        size_t n = 0, with_virqfd = 0;

        wanted[n++] = "vfio";
        wanted[n++] = "vfio_iommu_type1";
        wanted[n++] = "vfio_pci";
        for (size_t i = 0; i < kernels->n; i++)
                if (vt_kernel_module(&kernels->items[i], "vfio_virqfd") == VT_MODULE_LOADABLE)
                        with_virqfd++;
        if (kernels->n && with_virqfd == kernels->n) {
                wanted[n++] = "vfio_virqfd";
                if (why)
                        vt_buf_printf(why, "/etc/modules: vfio_virqfd listed: every installed "
                                           "kernel ships it as a module\n");
        } else if (why && with_virqfd) {
                vt_buf_printf(why,
                              "/etc/modules: vfio_virqfd not listed: %zu of %zu kernels "
                              "lack it (merged into vfio in 6.2); where it exists vfio_pci "
                              "loads it as a dependency\n",
                              kernels->n - with_virqfd, kernels->n);
        } else if (why && kernels->n) {
                vt_buf_printf(why, "/etc/modules: vfio_virqfd not listed: no installed kernel "
                                   "has it (merged into vfio in 6.2)\n");
        } else if (why) {
                vt_buf_printf(why, "/etc/modules: vfio_virqfd not listed: no kernel found "
                                   "under /lib/modules to check for it\n");
        }
        wanted[n] = NULL;
        return 0;
}
