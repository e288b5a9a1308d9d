#include "backends/modprobe.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kernels.h"
#include "common/error.h"
#include "common/macro.h"

/* ---- Device facts ---- */

static int cmp_bdf(const void *a, const void *b)
{
        const vt_pci_device *x = *(const vt_pci_device *const *)a;
        const vt_pci_device *y = *(const vt_pci_device *const *)b;

        return strcmp(x->bdf, y->bdf);
}

int vt_modprobe_device_set(const vt_pci_device *const *devs, size_t n, const vt_pci_device ***out,
                           size_t *nout)
{
        const vt_pci_device **v;
        size_t k = 0;
        int r;

        *out = NULL;
        *nout = 0;
        if (n == 0)
                return 0;
        v = malloc(n * sizeof(*v));
        if (!v)
                return vt_error_set(ENOMEM, "out of memory");
        memcpy(v, devs, n * sizeof(*v));
        qsort(v, n, sizeof(*v), cmp_bdf);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && strcmp(v[k - 1]->bdf, v[i]->bdf) == 0)
                        continue;
                /* both go into files: the driver into the profile, the module into modprobe.d */
                if (vt_pci_is_host_driver(v[i]->driver) &&
                    (!vt_modname_valid(v[i]->driver) ||
                     (v[i]->module && !vt_modname_valid(v[i]->module)))) {
                        r = vt_error_set(EINVAL, "device %s: '%s' is not a module name", v[i]->bdf,
                                         vt_modname_valid(v[i]->driver) ? v[i]->module
                                                                        : v[i]->driver);
                        free(v);
                        return r;
                }
                v[k++] = v[i];
        }
        *out = v;
        *nout = k;
        return 0;
}

int vt_modprobe_host_modules(const vt_pci_device *const *set, size_t n, vt_strv *out)
{
        for (size_t i = 0; i < n; i++) {
                const char *drv = set[i]->driver;
                bool seen = false;

                /* A device already on vfio-pci (or parked on pci-stub) tells nothing about the
                 * driver that would take it back: softdep or blacklist entries for those would
                 * be wrong. */
                if (!vt_pci_is_host_driver(drv))
                        continue;
                /* modprobe.d statements name modules: bochs-drm is module bochs */
                if (set[i]->module)
                        drv = set[i]->module;
                for (size_t j = 0; j < out->n; j++)
                        seen = seen || vt_modname_eq(out->items[j], drv);
                if (!seen && vt_strv_push(out, drv) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        return 0;
}

static int params_of_set(const vt_pci_device *const *set, size_t n, vt_bind_method method,
                         vt_strv *out)
{
        _cleanup_buf_ vt_buf ids = VT_BUF_INIT;
        bool display = false;
        int r;

        for (size_t i = 0; i < n; i++) {
                char id[10];
                bool seen = false;

                display = display || vt_pci_is_display(set[i]);
                snprintf(id, sizeof(id), "%04x:%04x", set[i]->vendor, set[i]->device);
                for (size_t j = 0; j < i; j++)
                        seen = seen || (set[j]->vendor == set[i]->vendor &&
                                        set[j]->device == set[i]->device);
                if (seen)
                        continue;
                r = vt_buf_printf(&ids, "%s%s", ids.len ? "," : "ids=", id);
                if (r < 0)
                        return r;
        }
        if (method != VT_BIND_OVERRIDE && ids.len > 0 && vt_strv_push(out, ids.ptr) < 0)
                return -ENOMEM;
        if (display && vt_strv_push(out, "disable_vga=1") < 0)
                return -ENOMEM;
        return 0;
}

int vt_modprobe_vfio_params(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                            vt_strv *out)
{
        _cleanup_free_ const vt_pci_device **set = NULL;
        size_t nset;
        int r;

        r = vt_modprobe_device_set(devs, n, &set, &nset);
        if (r < 0)
                return r;
        r = params_of_set(set, nset, method, out);
        if (r < 0)
                vt_strv_free(out);
        return r;
}

/* ---- Generation ---- */

/* Names from pci.ids go into a comment: keep them on one line whatever they contain. */
static int put_sanitized(vt_buf *b, const char *s)
{
        for (; *s; s++) {
                int r = vt_buf_putc(b, isprint((unsigned char)*s) ? *s : '?');

                if (r < 0)
                        return r;
        }
        return 0;
}

static int put_device_comment(vt_buf *b, const vt_pci_device *d)
{
        int r = vt_buf_printf(b, "# %s", d->bdf);

        if (r >= 0 && d->vendor_name) {
                r = vt_buf_putc(b, ' ');
                if (r >= 0)
                        r = put_sanitized(b, d->vendor_name);
        }
        if (r >= 0 && d->device_name) {
                r = vt_buf_putc(b, ' ');
                if (r >= 0)
                        r = put_sanitized(b, d->device_name);
        }
        if (r >= 0)
                r = vt_buf_printf(b, " (%04x:%04x)\n", d->vendor, d->device);
        return r;
}

static int put_header(vt_buf *b, const char *path, const char *about)
{
        return vt_buf_printf(b, "# %s: managed by vfiotx; edits are recorded as drift.\n# %s\n",
                             path, about);
}

static int gen_conf(const vt_pci_device *const *set, size_t n, vt_bind_method method,
                    vt_file_out *f)
{
        _cleanup_(vt_strv_free) vt_strv params = {0}, drivers = {0};
        vt_buf *b = &f->data;
        char about[96];
        int r;

        snprintf(about, sizeof(about),
                 "Binds these devices to vfio-pci (method: %s):", vt_bind_method_name(method));
        r = put_header(b, VT_MODPROBE_CONF_PATH, about);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char alias[128];

                if (method != VT_BIND_ALIAS) {
                        r = put_device_comment(b, set[i]);
                        continue;
                }
                /* The seed's layout: a comment naming the device, its alias, a blank line. */
                r = vt_pci_modalias(set[i], alias, sizeof(alias));
                if (r >= 0)
                        r = vt_buf_putc(b, '\n');
                if (r >= 0)
                        r = put_device_comment(b, set[i]);
                if (r >= 0)
                        r = vt_buf_printf(b, "alias %s vfio-pci\n", alias);
        }
        if (r >= 0)
                r = params_of_set(set, n, method, &params);
        if (r >= 0)
                r = vt_modprobe_host_modules(set, n, &drivers);
        if (r >= 0 && params.n > 0) {
                r = vt_buf_puts(b, "\noptions vfio-pci");
                for (size_t i = 0; r >= 0 && i < params.n; i++)
                        r = vt_buf_printf(b, " %s", params.items[i]);
                if (r >= 0)
                        r = vt_buf_putc(b, '\n');
        }
        if (r >= 0 && drivers.n > 0 && params.n == 0)
                r = vt_buf_putc(b, '\n');
        /* vfio-pci must be loaded before the host driver wherever that driver is loaded from,
         * the initramfs included, or the host driver wins the race for the device. */
        for (size_t i = 0; r >= 0 && i < drivers.n; i++)
                r = vt_buf_printf(b, "softdep %s pre: vfio-pci\n", drivers.items[i]);
        if (r < 0)
                return r;
        f->present = true;
        return 0;
}

static int gen_blacklist(const vt_pci_device *const *set, size_t n, vt_file_out *f)
{
        _cleanup_(vt_strv_free) vt_strv drivers = {0};
        int r;

        r = vt_modprobe_host_modules(set, n, &drivers);
        if (r < 0 || drivers.n == 0)
                return r;
        r = put_header(
            &f->data, VT_MODPROBE_BLACKLIST_PATH,
            "Host drivers kept from loading on their own, so vfio-pci gets the devices.");
        for (size_t i = 0; r >= 0 && i < drivers.n; i++)
                r = vt_buf_printf(&f->data, "blacklist %s\n", drivers.items[i]);
        if (r < 0)
                return r;
        f->present = true;
        return 0;
}

static int gen_override(const vt_pci_device *const *set, size_t n, vt_file_out *f)
{
        int r;

        r = put_header(&f->data, VT_OVERRIDE_CONF_PATH,
                       "Read by the vfiotx initramfs script: each \"BDF VVVV:DDDD\" line binds "
                       "the device at\n# that address to vfio-pci, only while its vendor:device "
                       "still matches.");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = vt_buf_printf(&f->data, "%s %04x:%04x\n", set[i]->bdf, set[i]->vendor,
                                  set[i]->device);
        if (r < 0)
                return r;
        f->present = true;
        return 0;
}

void vt_modprobe_files_free(vt_modprobe_files *f)
{
        for (size_t i = 0; i < VT_MODPROBE_NFILES; i++)
                vt_file_out_free(&f->file[i]);
}

int vt_modprobe_generate(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                         vt_modprobe_files *out)
{
        _cleanup_free_ const vt_pci_device **set = NULL;
        size_t nset;
        int r;

        memset(out, 0, sizeof(*out));
        out->file[VT_MODPROBE_FILE_CONF].path = VT_MODPROBE_CONF_PATH;
        out->file[VT_MODPROBE_FILE_BLACKLIST].path = VT_MODPROBE_BLACKLIST_PATH;
        out->file[VT_MODPROBE_FILE_OVERRIDE].path = VT_OVERRIDE_CONF_PATH;
        if ((int)method < 0 || method >= _VT_BIND_MAX)
                return vt_error_set(EINVAL, "unknown binding method %d", (int)method);

        r = vt_modprobe_device_set(devs, n, &set, &nset);
        if (r < 0 || nset == 0)
                return r;
        r = gen_conf(set, nset, method, &out->file[VT_MODPROBE_FILE_CONF]);
        if (r >= 0 && method == VT_BIND_BLACKLIST)
                r = gen_blacklist(set, nset, &out->file[VT_MODPROBE_FILE_BLACKLIST]);
        if (r >= 0 && method == VT_BIND_OVERRIDE)
                r = gen_override(set, nset, &out->file[VT_MODPROBE_FILE_OVERRIDE]);
        if (r < 0) {
                vt_modprobe_files_free(out);
                return r == -ENOMEM ? vt_error_set(ENOMEM, "out of memory") : r;
        }
        return 0;
}

bool vt_modprobe_is_own_path(const char *path)
{
        return strcmp(path, VT_MODPROBE_CONF_PATH) == 0 ||
               strcmp(path, VT_MODPROBE_BLACKLIST_PATH) == 0;
}
