#include "backends/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cmdline.h"
#include "backends/kernels.h"
#include "common/error.h"
#include "common/macro.h"

void vt_profile_free(vt_profile *p)
{
        for (size_t i = 0; i < p->n_devices; i++) {
                free(p->devices[i].driver);
                free(p->devices[i].module);
        }
        free(p->devices);
        vt_strv_free(&p->cmdline_add);
        vt_strv_free(&p->cmdline_remove);
        vt_strv_free(&p->applied_cmdline);
        *p = (vt_profile){0};
}

static int cmp_dev(const void *a, const void *b)
{
        return strcmp(((const vt_profile_device *)a)->bdf, ((const vt_profile_device *)b)->bdf);
}

const vt_profile_device *vt_profile_find(const vt_profile *p, const char *bdf)
{
        for (size_t i = 0; i < p->n_devices; i++)
                if (strcmp(p->devices[i].bdf, bdf) == 0)
                        return &p->devices[i];
        return NULL;
}

int vt_profile_add_device(vt_profile *p, const char *bdf, uint16_t vendor, uint16_t device,
                          const char *driver, const char *module)
{
        vt_profile_device *d = (vt_profile_device *)vt_profile_find(p, bdf), *grown;
        _cleanup_free_ char *drv = driver ? strdup(driver) : NULL;
        _cleanup_free_ char *mod = module ? strdup(module) : NULL;

        if ((driver && !drv) || (module && !mod))
                return -ENOMEM;
        if (strlen(bdf) >= sizeof(d->bdf))
                return vt_error_set(EINVAL, "'%s' is not a PCI address", bdf);
        if (d) {
                free(d->driver);
                free(d->module);
                d->driver = TAKE_PTR(drv);
                d->module = TAKE_PTR(mod);
                d->vendor = vendor;
                d->device = device;
                return 0;
        }
        grown = realloc(p->devices, (p->n_devices + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        p->devices = grown;
        d = &p->devices[p->n_devices++];
        *d = (vt_profile_device){
            .vendor = vendor, .device = device, .driver = TAKE_PTR(drv), .module = TAKE_PTR(mod)};
        snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
        qsort(p->devices, p->n_devices, sizeof(*p->devices), cmp_dev);
        return 0;
}

int vt_profile_remove_device(vt_profile *p, const char *bdf)
{
        vt_profile_device *d = (vt_profile_device *)vt_profile_find(p, bdf);
        size_t i;

        if (!d)
                return 0;
        i = (size_t)(d - p->devices);
        free(d->driver);
        free(d->module);
        memmove(d, d + 1, (p->n_devices - i - 1) * sizeof(*d));
        p->n_devices--;
        return 1;
}

int vt_strv_remove(vt_strv *v, const char *s)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i], s) == 0) {
                        free(v->items[i]);
                        memmove(&v->items[i], &v->items[i + 1], (v->n - i - 1) * sizeof(char *));
                        v->n--;
                        return 1;
                }
        return 0;
}

static int bad(const char *path, unsigned line, const char *what)
{
        vt_error_set_at(EINVAL, path, line, "%s", what);
        return vt_error_hint(EINVAL, "fix the line or remove the file (then 'vfiotx apply' starts "
                                     "from an empty profile); 'vfiotx log -p' shows what vfiotx "
                                     "wrote there");
}

int vt_profile_parse(const char *path, const char *data, size_t len, vt_profile *out)
{
        _cleanup_free_ char *copy = strndup(data ? data : "", len);
        vt_profile p = {0};
        unsigned lineno = 0;
        char *save = NULL;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        if (memchr(data ? data : "", '\0', len))
                return bad(path, 1, "the profile contains a NUL byte");
        for (char *line = copy, *next; line && r >= 0; line = next) {
                char *key, *arg, *rest;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                /* CRLF files and trailing blanks: none of it is part of a statement. */
                for (size_t l = strlen(line); l && strchr(" \t\r", line[l - 1]); l--)
                        line[l - 1] = '\0';
                /* A kernel parameter may hold quoted spaces: it is the rest of the line. */
                const char *w = line + strspn(line, " \t");
                _cleanup_free_ char *word = NULL;

                w += strcspn(w, " \t");
                w += strspn(w, " \t");
                word = strdup(w);
                if (!word) {
                        r = -ENOMEM;
                        break;
                }
                while (*word && strchr(" \t", word[strlen(word) - 1]))
                        word[strlen(word) - 1] = '\0';
                key = strtok_r(line, " \t", &save);
                if (!key || key[0] == '#')
                        continue;
                arg = strtok_r(NULL, " \t", &save);
                if (strcmp(key, "method") == 0) {
                        if (!arg || vt_bind_method_parse(arg, &p.method) < 0)
                                r = bad(path, lineno,
                                        "method must be ids, alias, blacklist or "
                                        "override");
                } else if (strcmp(key, "device") == 0) {
                        char *ids = strtok_r(NULL, " \t", &save);
                        char *drv = strtok_r(NULL, " \t", &save);
                        char *mod = drv ? strtok_r(NULL, " \t", &save) : NULL;
                        unsigned v, d;
                        char tail;

                        if (!arg || !ids || !drv || sscanf(ids, "%4x:%4x%c", &v, &d, &tail) != 2 ||
                            strlen(arg) > 15 || strtok_r(NULL, " \t", &save))
                                r = bad(path, lineno,
                                        "expected: device BDF VVVV:DDDD DRIVER [MODULE]");
                        else if (strcmp(drv, "-") != 0 && !vt_modname_valid(drv))
                                r = bad(path, lineno,
                                        "the driver after the ids must be a driver name "
                                        "(letters, digits, '_' and '-') or '-' for none");
                        else if (mod && !vt_modname_valid(mod))
                                r = bad(path, lineno,
                                        "the module after the driver must be a module name "
                                        "(letters, digits, '_' and '-')");
                        else
                                r = vt_profile_add_device(&p, arg, (uint16_t)v, (uint16_t)d,
                                                          strcmp(drv, "-") ? drv : NULL, mod);
                } else if (strcmp(key, "cmdline-add") == 0 && arg) {
                        if (vt_cmdline_param_addable(word) < 0) {
                                _cleanup_free_ char *why = strdup(vt_error_message());

                                r = why ? bad(path, lineno, why) : -ENOMEM;
                        } else {
                                r = vt_strv_push(&p.cmdline_add, word);
                        }
                        continue;
                } else if (strcmp(key, "cmdline-remove") == 0 && arg) {
                        r = vt_strv_push(&p.cmdline_remove, word);
                        continue;
                } else if (strcmp(key, "applied-cmdline") == 0 && arg) {
                        r = vt_strv_push(&p.applied_cmdline, word);
                        continue;
                } else if (strcmp(key, "no-iommu-params") == 0 && !arg) {
                        p.no_iommu_params = true;
                        continue;
                } else {
                        r = bad(path, lineno, "unknown or incomplete statement");
                }
                rest = r >= 0 ? strtok_r(NULL, " \t", &save) : NULL;
                if (rest && strcmp(key, "device") != 0)
                        r = bad(path, lineno, "unexpected words at the end of the line");
        }
        if (r < 0) {
                vt_profile_free(&p);
                return r;
        }
        *out = p;
        return 0;
}

int vt_profile_format(const vt_profile *p, vt_buf *out)
{
        int r = 0;

        vt_buf_clear(out);
        r |= vt_buf_puts(out, "# /etc/vfiotx/vfiotx.conf: what vfiotx applies; 'vfiotx apply' with "
                              "no arguments\n# re-applies it. Written by vfiotx: change it with "
                              "'vfiotx apply --device/--release\n# /--method/--cmdline-add/"
                              "--cmdline-remove'; edits by hand are recorded as drift.\n");
        r |= vt_buf_printf(out, "method %s\n", vt_bind_method_name(p->method));
        for (size_t i = 0; i < p->n_devices; i++) {
                const vt_profile_device *d = &p->devices[i];
                /* the module only when it says something the driver name does not */
                bool mod = d->driver && d->module && !vt_modname_eq(d->driver, d->module);

                r |= vt_buf_printf(out, "device %s %04x:%04x %s%s%s\n", d->bdf, d->vendor,
                                   d->device, d->driver ? d->driver : "-", mod ? " " : "",
                                   mod ? d->module : "");
        }
        for (size_t i = 0; i < p->cmdline_add.n; i++)
                r |= vt_buf_printf(out, "cmdline-add %s\n", p->cmdline_add.items[i]);
        for (size_t i = 0; i < p->cmdline_remove.n; i++)
                r |= vt_buf_printf(out, "cmdline-remove %s\n", p->cmdline_remove.items[i]);
        if (p->no_iommu_params)
                r |= vt_buf_puts(out, "no-iommu-params\n");
        for (size_t i = 0; i < p->applied_cmdline.n; i++)
                r |= vt_buf_printf(out, "applied-cmdline %s\n", p->applied_cmdline.items[i]);
        return r < 0 ? -ENOMEM : 0;
}
