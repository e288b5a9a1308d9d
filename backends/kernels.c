#include "backends/kernels.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

static char *read_or_empty(const vt_root *root, const char *path, bool *found)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        int r = vt_root_read(root, path, &b);

        if (found)
                *found = r >= 0;
        if (r < 0)
                vt_buf_clear(&b);
        return vt_buf_detach(&b);
}

static int cmp_kernel(const void *a, const void *b)
{
        return strverscmp(((const vt_kernel *)a)->version, ((const vt_kernel *)b)->version);
}

static void kernel_free(vt_kernel *k)
{
        free(k->version);
        free(k->modules_dep);
        free(k->builtin);
        free(k->config);
}

int vt_kernels_scan(const vt_root *root, vt_kernel_list *out)
{
        _cleanup_close_ int dfd = -1;
        vt_kernel_list list = {0};
        struct dirent *de;
        DIR *d;
        int r;

        *out = (vt_kernel_list){0};
        r = vt_root_exists(root, "/lib/modules");
        if (r <= 0)
                return r;
        r = vt_root_opendir(root, "/lib/modules", &dfd);
        if (r < 0)
                return r;
        d = fdopendir(dfd);
        if (!d)
                return vt_error_set(errno, "cannot list /lib/modules: %s", strerror(errno));
        dfd = -1;
        while ((de = readdir(d))) {
                _cleanup_free_ char *dep_path = NULL, *bi_path = NULL, *cfg_path = NULL;
                bool have_dep, have_bi;
                vt_kernel k = {0}, *grown;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&dep_path, "/lib/modules/%s/modules.dep", de->d_name) < 0 ||
                    asprintf(&bi_path, "/lib/modules/%s/modules.builtin", de->d_name) < 0 ||
                    asprintf(&cfg_path, "/boot/config-%s", de->d_name) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                k.modules_dep = read_or_empty(root, dep_path, &have_dep);
                k.builtin = read_or_empty(root, bi_path, &have_bi);
                if (!have_dep && !have_bi) {
                        /* A leftover directory of a removed kernel (often only extra/ or
                         * updates/): not an installed kernel. */
                        kernel_free(&k);
                        continue;
                }
                k.version = strdup(de->d_name);
                k.config = read_or_empty(root, cfg_path, &have_dep);
                if (!have_dep) {
                        free(k.config);
                        k.config = NULL;
                }
                grown = realloc(list.items, (list.n + 1) * sizeof(*list.items));
                if (!k.version || !k.modules_dep || !k.builtin || !grown) {
                        if (grown)
                                list.items = grown;
                        kernel_free(&k);
                        r = -ENOMEM;
                        goto fail;
                }
                list.items = grown;
                list.items[list.n++] = k;
        }
        closedir(d);
        vt_error_clear();
        if (list.n)
                qsort(list.items, list.n, sizeof(*list.items), cmp_kernel);
        *out = list;
        return 0;
fail:
        closedir(d);
        vt_kernels_free(&list);
        return r;
}

void vt_kernels_free(vt_kernel_list *list)
{
        for (size_t i = 0; i < list->n; i++)
                kernel_free(&list->items[i]);
        free(list->items);
        *list = (vt_kernel_list){0};
}

static bool same_module_char(char a, char b)
{
        if (a == '-')
                a = '_';
        if (b == '-')
                b = '_';
        return a == b;
}

bool vt_modname_eq_n(const char *a, size_t alen, const char *b)
{
        size_t i;

        for (i = 0; i < alen && b[i]; i++)
                if (!same_module_char(a[i], b[i]))
                        return false;
        return i == alen && b[i] == '\0';
}

bool vt_modname_valid(const char *s)
{
        size_t n = strlen(s);
        bool alnum = false;

        if (n == 0 || n > 64)
                return false;
        for (; *s; s++) {
                if (isalnum((unsigned char)*s))
                        alnum = true;
                else if (*s != '_' && *s != '-')
                        return false;
        }
        return alnum;
}

bool vt_modname_eq(const char *a, const char *b)
{
        return vt_modname_eq_n(a, strlen(a), b);
}

/* Does a listing of module paths (one per line; modules.dep lines are "path: deps") contain a
 * module named `name`, whatever its compression suffix? */
static bool listed(const char *text, const char *name)
{
        size_t nl = strlen(name);

        for (const char *line = text; line && *line;) {
                const char *eol = strchr(line, '\n');
                const char *colon = memchr(line, ':', eol ? (size_t)(eol - line) : strlen(line));
                const char *end = colon ? colon : (eol ? eol : line + strlen(line));
                const char *base = end;

                while (base > line && base[-1] != '/')
                        base--;
                if ((size_t)(end - base) >= nl + 3 && memcmp(base + nl, ".ko", 3) == 0) {
                        size_t i;

                        for (i = 0; i < nl && same_module_char(base[i], name[i]); i++)
                                ;
                        if (i == nl)
                                return true;
                }
                line = eol ? eol + 1 : NULL;
        }
        return false;
}

vt_module_state vt_kernel_module(const vt_kernel *k, const char *name)
{
        if (listed(k->modules_dep, name))
                return VT_MODULE_LOADABLE;
        if (listed(k->builtin, name))
                return VT_MODULE_BUILTIN;
        return VT_MODULE_ABSENT;
}

char *vt_kernel_config(const vt_kernel *k, const char *name)
{
        size_t nl = strlen(name);

        if (!k->config)
                return NULL;
        for (const char *line = k->config; line && *line;) {
                const char *eol = strchr(line, '\n');

                if (strncmp(line, "CONFIG_", 7) == 0 && strncmp(line + 7, name, nl) == 0 &&
                    line[7 + nl] == '=') {
                        const char *v = line + 8 + nl;
                        size_t vl = eol ? (size_t)(eol - v) : strlen(v);

                        return strndup(v, vl);
                }
                line = eol ? eol + 1 : NULL;
        }
        return NULL;
}
