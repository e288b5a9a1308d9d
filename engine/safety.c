#include "engine/safety.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kernels.h"
#include "common/error.h"
#include "common/macro.h"

static const char *const code_names[] = {
    [VT_REFUSE_ROOT_DISK] = "root-disk",
    [VT_REFUSE_BOOT_DISK] = "boot-disk",
    [VT_REFUSE_ONLY_DISPLAY] = "only-display",
    [VT_REFUSE_DEFAULT_ROUTE] = "default-route",
    [VT_REFUSE_GROUP] = "group",
    [VT_REFUSE_SAME_ID] = "same-id",
    [VT_REFUSE_SAME_DRIVER] = "same-driver",
    [VT_REFUSE_NO_IOMMU] = "no-iommu",
    [VT_REFUSE_BRIDGE] = "bridge",
};

static const char *const code_advice[] = {
    [VT_REFUSE_ROOT_DISK] = "keep this controller on the host; move the VM's disk to "
                            "another controller if you need to pass one through",
    [VT_REFUSE_BOOT_DISK] = "keep this controller on the host, or move /boot to a disk on "
                            "another controller",
    [VT_REFUSE_ONLY_DISPLAY] = "keep a second display device on the host, add a serial "
                               "console (console=ttyS0,115200), or enable an SSH server "
                               "('systemctl enable --now ssh') on a NIC that stays on the host, "
                               "before passing it through",
    [VT_REFUSE_DEFAULT_ROUTE] = "keep this NIC on the host, or move the default route to "
                                "another interface first",
    [VT_REFUSE_GROUP] = "a group goes to a VM whole: name every device of the group, or move "
                        "the card to a slot with its own IOMMU group",
    [VT_REFUSE_SAME_ID] = "use --method override, which binds by address only",
    [VT_REFUSE_SAME_DRIVER] = "use --method override (or ids/alias) instead of blacklisting "
                              "the driver",
    [VT_REFUSE_NO_IOMMU] = "turn the IOMMU on first: 'vfiotx apply' with no device adds only "
                           "the kernel parameter that does it ('vfiotx check' says whether the "
                           "firmware has one); reboot, then name the devices",
    [VT_REFUSE_BRIDGE] = "name the devices behind the bridge, not the bridge",
};

const char *vt_refusal_code_name(vt_refusal_code c)
{
        return (size_t)c < ARRAY_SIZE(code_names) ? code_names[c] : "?";
}

void vt_refusal_list_free(vt_refusal_list *list)
{
        for (size_t i = 0; i < list->n; i++)
                free(list->items[i].message);
        free(list->items);
        *list = (vt_refusal_list){0};
}

size_t vt_refusal_count(const vt_refusal_list *list)
{
        size_t n = 0;

        for (size_t i = 0; i < list->n; i++)
                n += !list->items[i].warning;
        return n;
}

static int refuse(vt_refusal_list *out, vt_refusal_code code, const vt_pci_device *lost,
                  const vt_pci_device *named, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse(vt_refusal_list *out, vt_refusal_code code, const vt_pci_device *lost,
                  const vt_pci_device *named, const char *fmt, ...)
{
        vt_refusal *grown;
        va_list ap;
        char *msg;
        int k;

        for (size_t i = 0; i < out->n; i++)
                if (out->items[i].code == code && strcmp(out->items[i].bdf, lost->bdf) == 0)
                        return 0;
        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        grown = realloc(out->items, (out->n + 1) * sizeof(*out->items));
        if (!grown) {
                free(msg);
                return -ENOMEM;
        }
        out->items = grown;
        grown[out->n] = (vt_refusal){.code = code, .message = msg, .advice = code_advice[code]};
        snprintf(grown[out->n].bdf, sizeof(grown[out->n].bdf), "%s", lost->bdf);
        snprintf(grown[out->n].named, sizeof(grown[out->n].named), "%s", named->bdf);
        out->n++;
        return 0;
}

/* "0000:00:17.0 (SATA controller)" */
static const char *describe(const vt_pci_device *d, char *buf, size_t size)
{
        char label[128];

        snprintf(buf, size, "%s (%s)", d->bdf, vt_pci_label(d, label, sizeof(label)));
        return buf;
}

bool vt_selection_has(const vt_selection *sel, const vt_pci_device *d)
{
        for (size_t i = 0; i < sel->n; i++)
                if (sel->items[i] == d)
                        return true;
        return false;
}

static int selection_push(vt_selection *sel, const vt_pci_device *d)
{
        const vt_pci_device **grown;

        if (vt_selection_has(sel, d))
                return 0;
        grown = realloc(sel->items, (sel->n + 1) * sizeof(*sel->items));
        if (!grown)
                return -ENOMEM;
        sel->items = grown;
        grown[sel->n++] = d;
        return 0;
}

void vt_selection_free(vt_selection *sel)
{
        free(sel->items);
        *sel = (vt_selection){0};
}

static bool parse_id(const char *s, unsigned *vendor, unsigned *device)
{
        if (strlen(s) != 9 || s[4] != ':' || strspn(s, "0123456789abcdefABCDEF") != 4 ||
            strspn(s + 5, "0123456789abcdefABCDEF") != 4)
                return false;
        return sscanf(s, "%4x:%4x", vendor, device) == 2;
}

/* A slot with every function: "0000:0b:00" or "0b:00" (Proxmox's all-functions shorthand). */
static bool parse_slot(const char *spec, unsigned *dom, unsigned *bus, unsigned *dev,
                       bool *has_domain)
{
        char bdf[32];
        unsigned fn;

        if (strlen(spec) != 10 && strlen(spec) != 5)
                return false;
        snprintf(bdf, sizeof(bdf), "%s.0", spec);
        return vt_pci_parse_bdf(bdf, dom, bus, dev, &fn, has_domain) == 0;
}

/* Every function of a slot; one PCI domain only. */
static int select_slot(vt_selection *sel, const vt_pci_list *devs, const char *spec, unsigned dom,
                       unsigned bus, unsigned dev, bool has_domain)
{
        const vt_pci_device *first = NULL;
        int r;

        for (size_t i = 0; i < devs->n; i++) {
                const vt_pci_device *d = &devs->items[i];

                if (d->bus != bus || d->dev != dev || (has_domain && d->domain != dom))
                        continue;
                if (first && first->domain != d->domain) {
                        r = vt_error_set(EEXIST, "'%s' is ambiguous: it matches %s and %s", spec,
                                         first->bdf, d->bdf);
                        return vt_error_hint(r, "give the slot with its PCI domain");
                }
                first = first ? first : d;
                r = selection_push(sel, d);
                if (r < 0)
                        return r;
        }
        if (!first) {
                r = vt_error_set(ENODEV, "no PCI device in slot %s%s",
                                 has_domain ? "" : "0000:", spec);
                return vt_error_hint(r, "'vfiotx devices' lists the devices and their addresses");
        }
        return 0;
}

int vt_selection_add(vt_selection *sel, const vt_pci_list *devs, const char *spec)
{
        unsigned dom, bus, dev, fn, vendor, device;
        const vt_pci_device *match = NULL;
        bool has_domain;
        size_t found = 0;
        int r;

        if (parse_slot(spec, &dom, &bus, &dev, &has_domain))
                return select_slot(sel, devs, spec, dom, bus, dev, has_domain);

        if (parse_id(spec, &vendor, &device)) {
                for (size_t i = 0; i < devs->n; i++) {
                        if (devs->items[i].vendor != vendor || devs->items[i].device != device)
                                continue;
                        r = selection_push(sel, &devs->items[i]);
                        if (r < 0)
                                return r;
                        found++;
                }
                if (found)
                        return 0;
                r = vt_error_set(ENODEV, "no PCI device has the id %04x:%04x", vendor, device);
                return vt_error_hint(r, "'vfiotx devices' lists the devices and their ids");
        }
        if (vt_pci_parse_bdf(spec, &dom, &bus, &dev, &fn, &has_domain) < 0) {
                r = vt_error_set(EINVAL,
                                 "'%s' is neither a PCI address (0000:01:00.0 or 01:00.0), a slot "
                                 "with all its functions (0000:01:00 or 01:00), nor a "
                                 "vendor:device id (10de:1b80)",
                                 spec);
                return vt_error_hint(r,
                                     "'vfiotx devices' lists the devices, their addresses and ids");
        }
        for (size_t i = 0; i < devs->n; i++) {
                const vt_pci_device *d = &devs->items[i];

                if (d->bus != bus || d->dev != dev || d->func != fn ||
                    (has_domain && d->domain != dom))
                        continue;
                if (match) {
                        r = vt_error_set(EEXIST, "'%s' is ambiguous: it matches %s and %s", spec,
                                         match->bdf, d->bdf);
                        return vt_error_hint(r, "give the address with its PCI domain");
                }
                match = d;
        }
        if (!match) {
                r = vt_error_set(ENODEV, "no PCI device at %s%s", has_domain ? "" : "0000:", spec);
                return vt_error_hint(r, "'vfiotx devices' lists the devices and their addresses");
        }
        return selection_push(sel, match);
}

/* A device that can drive a console: VGA, XGA or other display controllers. 3D controllers
 * (0302: Tesla, Optimus dGPUs) have no outputs and do not keep the host a console. */
static bool console_capable(const vt_pci_device *d)
{
        return vt_pci_is_display(d) && vt_pci_class16(d) != 0x0302;
}

static bool stays_on_host(const vt_selection *named, const vt_pci_device *d)
{
        return !vt_selection_has(named, d);
}

/* Blacklisting takes a module away, with every driver in it: does `o` lose its driver when the
 * module of `d`'s host driver is blacklisted? The blacklist names d's module, or its driver
 * when the module is unknown (backends/modprobe.h); o loses its driver when its own module (or
 * driver) is that name, '-' and '_' alike, or when it uses the same driver. A device without a
 * host driver blacklists nothing. */
static bool same_module(const vt_pci_device *o, const vt_pci_device *d)
{
        if (!vt_pci_is_host_driver(d->driver) || !o->driver)
                return false;
        return strcmp(o->driver, d->driver) == 0 ||
               vt_modname_eq(o->module ? o->module : o->driver, d->module ? d->module : d->driver);
}

/* The NIC a remote way in would use: an enabled SSH server or web UI (host->remote_access)
 * and a default-route NIC that stays on the host; NULL when there is none. */
static const char *remote_way_in(const vt_pci_list *devs, const vt_hostinfo *host,
                                 const vt_selection *named)
{
        if (!host->remote_access[0])
                return NULL;
        for (size_t i = 0; i < host->n; i++) {
                const vt_pci_device *nic;

                if (host->deps[i].role != VT_ROLE_DEFAULT_ROUTE)
                        continue;
                nic = vt_pci_find(devs, host->deps[i].bdf);
                if (nic && stays_on_host(named, nic))
                        return host->deps[i].detail;
        }
        return NULL;
}

static int check_device(const vt_pci_list *devs, const vt_hostinfo *host, const vt_selection *named,
                        vt_bind_method method, const vt_pci_device *d, vt_refusal_list *out)
{
        char me[192], other[192];
        const vt_host_dep *dep;
        int r = 0;

        describe(d, me, sizeof(me));
        if (vt_pci_is_bridge(d))
                r = refuse(out, VT_REFUSE_BRIDGE, d, d,
                           "%s is a bridge: the host needs it to reach the devices behind it", me);
        if (r == 0 && (dep = vt_hostinfo_find(host, d->bdf, VT_ROLE_ROOT_DISK)))
                r = refuse(out, VT_REFUSE_ROOT_DISK, d, d,
                           "%s controls the disk that holds / (%s): passing it through makes "
                           "the host unbootable",
                           me, dep->detail);
        if (r == 0 && (dep = vt_hostinfo_find(host, d->bdf, VT_ROLE_BOOT_DISK)))
                r = refuse(out, VT_REFUSE_BOOT_DISK, d, d,
                           "%s controls the disk that holds /boot (%s): passing it through "
                           "makes the host unbootable",
                           me, dep->detail);
        if (r == 0 && (dep = vt_hostinfo_find(host, d->bdf, VT_ROLE_DEFAULT_ROUTE)))
                r = refuse(out, VT_REFUSE_DEFAULT_ROUTE, d, d,
                           "%s carries the default route (%s): passing it through cuts the "
                           "host off the network",
                           me, dep->detail);
        if (r == 0 && d->iommu_group < 0 && !vt_pci_is_bridge(d))
                r = refuse(out, VT_REFUSE_NO_IOMMU, d, d,
                           "%s has no IOMMU group: the IOMMU is off or does not cover it, so "
                           "vfio-pci cannot pass it through",
                           me);

        /* The host keeps a console if any display stays, or a serial console is configured.
         * The boot VGA is the one the firmware and the kernel's console use, so it is the one
         * refused; when no named display is the boot VGA, each of them is. */
        if (r == 0 && console_capable(d) && !host->serial_console) {
                bool display_stays = false, named_boot_vga = false;

                for (size_t i = 0; i < devs->n; i++) {
                        const vt_pci_device *o = &devs->items[i];

                        if (!console_capable(o))
                                continue;
                        if (stays_on_host(named, o))
                                display_stays = true;
                        else if (o->boot_vga)
                                named_boot_vga = true;
                }
                if (!display_stays && (d->boot_vga || !named_boot_vga)) {
                        const char *nic = remote_way_in(devs, host, named);

                        if (nic) {
                                /* A headless server: its only GPU goes to a VM and it is run
                                 * over SSH or a web UI. Allowed, with the way in named. */
                                r = refuse(out, VT_REFUSE_ONLY_DISPLAY, d, d,
                                           "%s is %s and the host keeps no display and no "
                                           "serial console: the way in that remains is %s "
                                           "over %s",
                                           me, d->boot_vga ? "the boot display" : "a display",
                                           host->remote_access, nic);
                                if (r == 0) {
                                        out->items[out->n - 1].warning = true;
                                        out->items[out->n - 1].advice =
                                            "log in that way once before rebooting into the "
                                            "change; the console stays dark until the VM "
                                            "releases the GPU";
                                }
                        } else {
                                r = refuse(out, VT_REFUSE_ONLY_DISPLAY, d, d,
                                           "%s is %s and the host has no other display device, "
                                           "no serial console and no enabled SSH server or web "
                                           "UI reachable over a NIC that stays: after "
                                           "passthrough there is no way in",
                                           me, d->boot_vga ? "the boot display" : "a display");
                        }
                }
        }

        for (size_t i = 0; r == 0 && i < devs->n; i++) {
                const vt_pci_device *o = &devs->items[i];

                if (o == d || !stays_on_host(named, o))
                        continue;
                describe(o, other, sizeof(other));
                if (d->iommu_group >= 0 && o->iommu_group == d->iommu_group &&
                    !vt_pci_is_pci_bridge(o) && vt_pci_same_card(o, d))
                        r = refuse(out, VT_REFUSE_GROUP, o, d,
                                   "%s is a function of the same card as %s and stays on the "
                                   "host: pass the card whole with --device %.*s",
                                   other, d->bdf, (int)(strlen(d->bdf) - 2), d->bdf);
                else if (d->iommu_group >= 0 && o->iommu_group == d->iommu_group &&
                         !vt_pci_is_pci_bridge(o))
                        r = refuse(out, VT_REFUSE_GROUP, o, d,
                                   "%s shares IOMMU group %d with %s and stays on the host: "
                                   "the whole group goes to the VM",
                                   other, d->iommu_group, d->bdf);
                if (r == 0 && method != VT_BIND_OVERRIDE && o->vendor == d->vendor &&
                    o->device == d->device)
                        r = refuse(out, VT_REFUSE_SAME_ID, o, d,
                                   "%s has the same id %04x:%04x as %s: vfio-pci %s would take "
                                   "it too",
                                   other, d->vendor, d->device, d->bdf,
                                   method == VT_BIND_BLACKLIST ? "ids= with the blacklist"
                                                               : "ids=");
                if (r == 0 && method == VT_BIND_BLACKLIST && same_module(o, d))
                        r = refuse(out, VT_REFUSE_SAME_DRIVER, o, d,
                                   "%s also uses %s: blacklisting %s for %s leaves it without "
                                   "its driver",
                                   other, d->driver, d->module ? d->module : d->driver, d->bdf);
        }
        return r;
}

int vt_safety_check(const vt_pci_list *devs, const vt_hostinfo *host, const vt_selection *named,
                    vt_bind_method method, vt_refusal_list *out)
{
        int r = 0;

        *out = (vt_refusal_list){0};
        for (size_t i = 0; r == 0 && i < named->n; i++)
                r = check_device(devs, host, named, method, named->items[i], out);
        if (r < 0)
                vt_refusal_list_free(out);
        return r;
}

int vt_safety_unit(const vt_pci_list *devs, const vt_pci_device *d, vt_selection *out)
{
        int r = selection_push(out, d);

        for (size_t i = 0; r >= 0 && i < devs->n; i++)
                if (vt_pci_same_card(&devs->items[i], d))
                        r = selection_push(out, &devs->items[i]);
        return r;
}

int vt_safety_verdict(const vt_pci_list *devs, const vt_hostinfo *host, const vt_pci_device *d,
                      vt_refusal_list *out)
{
        vt_selection unit = {0};
        int r;

        *out = (vt_refusal_list){0};
        r = vt_safety_unit(devs, d, &unit);
        if (r >= 0)
                r = vt_safety_check(devs, host, &unit, VT_BIND_OVERRIDE, out);
        vt_selection_free(&unit);
        return r;
}
