#include "backends/pci.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/kernels.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

/* libpci reports fatal problems through a->error, declared noreturn, whose default prints and
 * calls exit(1). Ours records the message and jumps back into guarded_scan(). */
static _Thread_local jmp_buf *pci_jump;
static _Thread_local char pci_message[512];

static void __attribute__((noreturn)) pci_error_cb(char *msg, ...)
{
        va_list ap;

        va_start(ap, msg);
        vsnprintf(pci_message, sizeof(pci_message), msg, ap);
        va_end(ap);
        longjmp(*pci_jump, 1);
}

static void pci_quiet_cb(char *msg, ...)
{
        (void)msg;
}

int vt_pci_parse_bdf(const char *s, unsigned *domain, unsigned *bus, unsigned *dev, unsigned *func,
                     bool *has_domain)
{
        /* Strict shape check first: sscanf alone accepts signs, spaces and short fields. */
        static const char full[] = "hhhh:hh:hh.h", short_form[] = "hh:hh.h";
        const char *shape;
        size_t n = strlen(s);
        unsigned d = 0, b, sl, f;

        if (n == sizeof(full) - 1)
                shape = full;
        else if (n == sizeof(short_form) - 1)
                shape = short_form;
        else
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (shape[i] == 'h' ? !isxdigit((unsigned char)s[i]) : s[i] != shape[i])
                        return -EINVAL;
        }
        if (shape == full ? sscanf(s, "%x:%x:%x.%x", &d, &b, &sl, &f) != 4
                          : sscanf(s, "%x:%x.%x", &b, &sl, &f) != 3)
                return -EINVAL;
        if (sl > 0x1f || f > 7)
                return -EINVAL;
        *domain = d;
        *bus = b;
        *dev = sl;
        *func = f;
        if (has_domain)
                *has_domain = shape == full;
        return 0;
}

/* A sysfs attribute holding "0x" and exactly `digits` hex digits (vendor 4, class 6). */
static int read_hex_attr(const char *devdir, const char *bdf, const char *attr, int digits,
                         unsigned long *out)
{
        _cleanup_free_ char *path = vt_path_join(devdir, attr), *text = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = vt_read_line(path, &text);
        if (r == -ENOENT)
                return vt_error_set(EBADMSG, "PCI device %s has no '%s' attribute (%s is missing)",
                                    bdf, attr, path);
        if (r < 0)
                return vt_error_wrap(EBADMSG, "PCI device %s", bdf);
        if (strncmp(text, "0x", 2) != 0 || (int)strlen(text) != digits + 2 ||
            strspn(text + 2, "0123456789abcdefABCDEF") != (size_t)digits)
                return vt_error_set(
                    EBADMSG,
                    "PCI device %s: '%s' is not a valid %s value (%s holds '%.40s', "
                    "expected 0x and %d hex digits)",
                    bdf, attr, attr, path, text, digits);
        *out = strtoul(text + 2, NULL, 16);
        return 0;
}

/* A link that exists but whose target does not: a damaged tree (or a device removed while we
 * looked). libpci would silently take the link's name; say what is wrong instead. */
static int check_link(const char *devdir, const char *bdf, const char *name)
{
        _cleanup_free_ char *path = vt_path_join(devdir, name);
        struct stat st;
        char target[512];
        ssize_t n;

        if (!path)
                return -ENOMEM;
        if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
                return 0;
        if (stat(path, &st) == 0)
                return 0;
        n = readlink(path, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        return vt_error_set(EBADMSG,
                            "PCI device %s: the '%s' link %s points to %s, which does not exist",
                            bdf, name, path, target);
}

/* Check every device directory before libpci reads it: libpci takes garbage in `vendor` as 0
 * and turns a missing `class` into a fatal error without naming the attribute's meaning. */
static int validate_tree(const char *devices_dir)
{
        DIR *dir = opendir(devices_dir);
        struct dirent *de;
        int r = 0;

        if (!dir) {
                r = vt_error_set(errno, "cannot list PCI devices in %s: %s", devices_dir,
                                 strerror(errno));
                vt_error_hint(
                    r, "--sysfs must name a sysfs tree (a directory holding bus/pci/devices)");
                return r;
        }
        while (r == 0 && (de = readdir(dir))) {
                _cleanup_free_ char *devdir = NULL;
                unsigned dom, bus, dev, fn;
                unsigned long val;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (vt_pci_parse_bdf(de->d_name, &dom, &bus, &dev, &fn, NULL) < 0) {
                        r = vt_error_set(EBADMSG,
                                         "%s/%s is not named like a PCI address (0000:00:00.0)",
                                         devices_dir, de->d_name);
                        break;
                }
                devdir = vt_path_join(devices_dir, de->d_name);
                if (!devdir) {
                        r = -ENOMEM;
                        break;
                }
                if (stat(devdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        char target[512];
                        ssize_t n = readlink(devdir, target, sizeof(target) - 1);

                        target[n < 0 ? 0 : n] = '\0';
                        r = vt_error_set(EBADMSG,
                                         "PCI device %s: %s is a broken link (to '%s') or not a "
                                         "directory",
                                         de->d_name, devdir, target);
                        break;
                }
                r = read_hex_attr(devdir, de->d_name, "vendor", 4, &val);
                if (r == 0)
                        r = read_hex_attr(devdir, de->d_name, "device", 4, &val);
                if (r == 0)
                        r = read_hex_attr(devdir, de->d_name, "class", 6, &val);
                if (r == 0)
                        r = check_link(devdir, de->d_name, "driver");
                if (r == 0)
                        r = check_link(devdir, de->d_name, "iommu_group");
        }
        closedir(dir);
        return r;
}

static char *dup_name(struct pci_access *a, int flags, ...)
{
        char buf[256];
        va_list ap;
        char *name;
        int v1, v2, v3, v4;

        /* pci_lookup_name is variadic on the number of ids; pass all four, it reads what the
         * flags need. */
        va_start(ap, flags);
        v1 = va_arg(ap, int);
        v2 = va_arg(ap, int);
        v3 = va_arg(ap, int);
        v4 = va_arg(ap, int);
        va_end(ap);
        name = pci_lookup_name(a, buf, sizeof(buf), flags | PCI_LOOKUP_NO_NUMBERS, v1, v2, v3, v4);
        return name ? strdup(name) : NULL;
}

static char *dup_trimmed(const char *s)
{
        size_t n;
        char *p;

        if (!s)
                return NULL;
        n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1]))
                n--;
        p = strndup(s, n);
        return p;
}

static int fill_device(struct pci_access *a, struct pci_dev *p, const char *devices_dir,
                       vt_pci_device *d)
{
        _cleanup_free_ char *devdir = NULL, *bootvga_path = NULL, *bootvga = NULL, *real = NULL;
        const char *s;
        char *slash;

        pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS |
                             PCI_FILL_MODULE_ALIAS | PCI_FILL_IOMMU_GROUP | PCI_FILL_DRIVER);
        d->domain = (unsigned)p->domain;
        d->bus = p->bus;
        d->dev = p->dev;
        d->func = p->func;
        snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%x", d->domain & 0xffff, d->bus & 0xff,
                 d->dev & 0x1f, d->func & 7);
        d->vendor = p->vendor_id;
        d->device = p->device_id;
        d->class_code = (uint32_t)p->device_class << 8 | p->prog_if;
        d->revision = p->rev_id;
        d->subvendor = p->subsys_vendor_id == 0xffff ? 0 : p->subsys_vendor_id;
        d->subdevice = p->subsys_vendor_id == 0xffff ? 0 : p->subsys_id;
        d->iommu_group = -1;

        s = pci_get_string_property(p, PCI_FILL_IOMMU_GROUP);
        if (s) {
                char *end;
                long g;

                errno = 0;
                g = strtol(s, &end, 10);
                if (errno || end == s || *end || g < 0 || g > 1000000)
                        return vt_error_set(EBADMSG,
                                            "PCI device %s: its iommu_group link names '%s', not a "
                                            "group number",
                                            d->bdf, s);
                d->iommu_group = (int)g;
        }
        s = pci_get_string_property(p, PCI_FILL_DRIVER);
        if (s && !(d->driver = strdup(s)))
                return -ENOMEM;
        if (p->module_alias && !(d->modalias = dup_trimmed(p->module_alias)))
                return -ENOMEM;

        d->vendor_name = dup_name(a, PCI_LOOKUP_VENDOR, d->vendor, 0, 0, 0);
        d->device_name = dup_name(a, PCI_LOOKUP_DEVICE, d->vendor, d->device, 0, 0);
        d->class_name = dup_name(a, PCI_LOOKUP_CLASS, (int)(d->class_code >> 8), 0, 0, 0);
        if (d->subvendor) {
                d->subsystem_vendor_name = dup_name(a, PCI_LOOKUP_VENDOR, d->subvendor, 0, 0, 0);
                d->subsystem_name = dup_name(a, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, d->vendor,
                                             d->device, d->subvendor, d->subdevice);
        }

        /* boot_vga is not something libpci knows: the kernel's view of the firmware's choice. */
        devdir = vt_path_join(devices_dir, d->bdf);
        if (!devdir || !(bootvga_path = vt_path_join(devdir, "boot_vga")))
                return -ENOMEM;
        if (vt_read_line(bootvga_path, &bootvga) == 0)
                d->boot_vga = strcmp(bootvga, "1") == 0;
        vt_error_clear();
        {
                _cleanup_free_ char *reset_path = vt_path_join(devdir, "reset_method");

                if (!reset_path)
                        return -ENOMEM;
                if (vt_read_line(reset_path, &d->reset_method) < 0)
                        d->reset_method = NULL;
                vt_error_clear();
        }
        if (d->driver) {
                /* modprobe.d names modules, and a driver's name is not always its module's;
                 * a built-in driver has no module link */
                _cleanup_free_ char *link = vt_path_join(devdir, "driver/module");
                char target[PATH_MAX];
                const char *base;
                ssize_t n;

                if (!link)
                        return -ENOMEM;
                n = readlink(link, target, sizeof(target) - 1);
                if (n > 0) {
                        target[n] = '\0';
                        base = strrchr(target, '/');
                        if (!(d->module = strdup(base ? base + 1 : target)))
                                return -ENOMEM;
                }
        }
        /* The bridge above is the parent directory in /sys/devices. libpci's PCI_FILL_PARENT
         * would do it too, but leaks its realpath() buffers in 3.9. */
        real = realpath(devdir, NULL);
        if (real && (slash = strrchr(real, '/'))) {
                unsigned dom, bus, dev, fn;

                *slash = '\0';
                slash = strrchr(real, '/');
                if (slash && vt_pci_parse_bdf(slash + 1, &dom, &bus, &dev, &fn, NULL) == 0)
                        snprintf(d->parent, sizeof(d->parent), "%04x:%02x:%02x.%x", dom, bus, dev,
                                 fn);
        }
        return 0;
}

/* Everything that can reach a->error runs here, under setjmp. Besides the counter, only heap
 * state (out) changes between setjmp and a possible longjmp. */
static int guarded_scan(struct pci_access *a, const char *devices_dir, vt_pci_list *out)
{
        jmp_buf env;
        struct pci_dev *p;
        volatile size_t n = 0;
        int r;

        if (setjmp(env)) {
                pci_jump = NULL;
                return vt_error_set(EBADMSG, "reading PCI devices in %s: %s", devices_dir,
                                    pci_message);
        }
        pci_jump = &env;
        pci_init(a);
        pci_scan_bus(a);
        for (p = a->devices; p; p = p->next)
                n++;
        out->items = calloc(n ? n : 1, sizeof(*out->items));
        if (!out->items) {
                pci_jump = NULL;
                return -ENOMEM;
        }
        for (p = a->devices; p; p = p->next) {
                r = fill_device(a, p, devices_dir, &out->items[out->n++]);
                if (r < 0) {
                        pci_jump = NULL;
                        return r;
                }
        }
        pci_jump = NULL;
        return 0;
}

static int cmp_device(const void *x, const void *y)
{
        const vt_pci_device *a = x, *b = y;

        if (a->domain != b->domain)
                return a->domain < b->domain ? -1 : 1;
        if (a->bus != b->bus)
                return a->bus < b->bus ? -1 : 1;
        if (a->dev != b->dev)
                return a->dev < b->dev ? -1 : 1;
        return a->func < b->func ? -1 : a->func > b->func;
}

int vt_pci_scan(const char *sysfs, vt_pci_list *out)
{
        _cleanup_free_ char *bus_dir = vt_path_join(sysfs, "bus/pci");
        _cleanup_free_ char *devices_dir = vt_path_join(sysfs, "bus/pci/devices");
        struct pci_access *a;
        int r;

        *out = (vt_pci_list){0};
        if (!bus_dir || !devices_dir)
                return -ENOMEM;
        r = validate_tree(devices_dir);
        if (r < 0)
                return r;

        a = pci_alloc();
        if (!a)
                return vt_error_set(ENOMEM, "cannot allocate libpci state");
        a->error = pci_error_cb;
        a->warning = pci_quiet_cb;
        a->debug = pci_quiet_cb;
        a->method = PCI_ACCESS_SYS_BUS_PCI;
        pci_set_param(a, "sysfs.path", bus_dir);
        pci_set_param(a, "hwdb.disable", "1");
        pci_set_name_list_path(a, VFIOTX_PCI_IDS, 0);
        r = guarded_scan(a, devices_dir, out);
        pci_cleanup(a);
        if (r < 0) {
                vt_pci_list_free(out);
                return r;
        }
        /* No devices leaves items NULL, which qsort must not be given. */
        if (out->n)
                qsort(out->items, out->n, sizeof(*out->items), cmp_device);
        return 0;
}

bool vt_pci_same_card(const vt_pci_device *a, const vt_pci_device *b)
{
        return a->parent[0] && strcmp(a->parent, b->parent) == 0 && a->domain == b->domain &&
               a->bus == b->bus && a->dev == b->dev;
}

void vt_pci_list_free(vt_pci_list *list)
{
        for (size_t i = 0; list->items && i < list->n; i++) {
                vt_pci_device *d = &list->items[i];

                free(d->driver);
                free(d->module);
                free(d->modalias);
                free(d->reset_method);
                free(d->vendor_name);
                free(d->device_name);
                free(d->class_name);
                free(d->subsystem_vendor_name);
                free(d->subsystem_name);
        }
        free(list->items);
        *list = (vt_pci_list){0};
}

const vt_pci_device *vt_pci_find(const vt_pci_list *list, const char *bdf)
{
        unsigned dom, bus, dev, fn;

        if (vt_pci_parse_bdf(bdf, &dom, &bus, &dev, &fn, NULL) < 0)
                return NULL;
        for (size_t i = 0; i < list->n; i++) {
                const vt_pci_device *d = &list->items[i];

                if (d->domain == dom && d->bus == bus && d->dev == dev && d->func == fn)
                        return d;
        }
        return NULL;
}

const char *vt_pci_label(const vt_pci_device *d, char *buf, size_t size)
{
        if (d->class_name)
                snprintf(buf, size, "%s", d->class_name);
        else
                snprintf(buf, size, "class 0x%04x", (unsigned)(d->class_code >> 8));
        return buf;
}

bool vt_pci_is_host_driver(const char *driver)
{
        return driver && driver[0] && !vt_modname_eq(driver, "vfio-pci") &&
               !vt_modname_eq(driver, "pci-stub");
}

int vt_pci_modalias(const vt_pci_device *d, char *out, size_t size)
{
        size_t n;

        if (!d->modalias)
                goto bad;
        n = strlen(d->modalias);
        while (n > 0 && isspace((unsigned char)d->modalias[n - 1]))
                n--;
        if (n < 5 || n >= size || strncmp(d->modalias, "pci:", 4) != 0)
                goto bad;
        for (size_t i = 0; i < n; i++)
                if (!isgraph((unsigned char)d->modalias[i]))
                        goto bad;
        memcpy(out, d->modalias, n);
        out[n] = '\0';
        return 0;
bad:
        return vt_error_set(EINVAL, "device %s has no usable modalias ('%s')", d->bdf,
                            d->modalias ? d->modalias : "");
}
