/* Probe: PCI devices through libpci's sysfs access method.
 *
 * `sysfs` is a /sys tree (the real "/sys" or a fixture); libpci reads <sysfs>/bus/pci/devices.
 * Names come from pci.ids (VFIOTX_PCI_IDS, hwdb disabled, so results do not depend on udev).
 * libpci's default error handler exits the process: this module replaces it, and a malformed
 * tree (missing `class`, garbage in `vendor`, broken links) becomes -EBADMSG with a message that
 * names the device and the attribute.
 *
 * Contract: 0 or negative errno with a message; devices are sorted by BDF; the list is owned by
 * the caller and freed with vt_pci_list_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vt_pci_device {
        char bdf[16]; /* "0000:00:02.0" */
        unsigned domain, bus, dev, func;
        uint16_t vendor, device;
        uint16_t subvendor, subdevice; /* 0 when the device has none */
        uint32_t class_code;           /* class << 16 | subclass << 8 | prog-if: 0x030000 */
        uint8_t revision;
        char *driver;    /* driver bound now ("i915"), NULL when none */
        char *module;    /* that driver's module (driver/module link: "bochs" for bochs-drm,
                          * "xhci_pci" for xhci_hcd), NULL when none or built in */
        char *modalias;  /* "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00" */
        int iommu_group; /* -1 when the device has no IOMMU group (IOMMU off) */
        bool boot_vga;   /* sysfs boot_vga == 1 */
        /* sysfs reset_method ("flr bus"): how the kernel can reset it between VMs; NULL when
         * the attribute is absent: no reset method, on kernels that have the attribute (5.15
         * and later: other devices of the host show it), or an older kernel */
        char *reset_method;
        char *vendor_name; /* from pci.ids, NULL when unknown */
        char *device_name;
        char *class_name;
        char *subsystem_vendor_name; /* pci.ids name of subvendor, NULL when unknown */
        char *subsystem_name;        /* pci.ids name of subvendor:subdevice, NULL when unknown */
        char parent[16];             /* BDF of the bridge above it, "" on a root bus */
} vt_pci_device;

typedef struct vt_pci_list {
        vt_pci_device *items;
        size_t n;
} vt_pci_list;

int vt_pci_scan(const char *sysfs, vt_pci_list *out);
void vt_pci_list_free(vt_pci_list *list);
/* The device at `bdf`, in any form vt_pci_parse_bdf() accepts; NULL when none or malformed. */
const vt_pci_device *vt_pci_find(const vt_pci_list *list, const char *bdf);
/* Two functions of one card (a GPU and its HDMI audio, USB-C and UCSI functions): the same
 * slot behind the same bridge. Functions of a slot on a root bus are not one card: there they
 * are the chipset's unrelated devices (LPC, audio, SMBus, NIC at 00:1f). */
bool vt_pci_same_card(const vt_pci_device *a, const vt_pci_device *b);

/* Parse "0000:01:00.0" or "01:00.0" (hex, any case). `has_domain` tells which form it was;
 * the domain is 0 when absent. Returns 0 or -EINVAL (no message: callers word their own). */
int vt_pci_parse_bdf(const char *s, unsigned *domain, unsigned *bus, unsigned *dev, unsigned *func,
                     bool *has_domain);

/* Class helpers on class_code. */
static inline unsigned vt_pci_base_class(const vt_pci_device *d)
{
        return d->class_code >> 16;
}
static inline unsigned vt_pci_class16(const vt_pci_device *d)
{
        return d->class_code >> 8;
}
/* A PCI-to-PCI bridge (class 0604): vfio leaves them in a group on the host. */
static inline bool vt_pci_is_pci_bridge(const vt_pci_device *d)
{
        return vt_pci_class16(d) == 0x0604;
}
/* Any bridge (base class 06: host, ISA/LPC, PCI bridges): never a passthrough target. */
static inline bool vt_pci_is_bridge(const vt_pci_device *d)
{
        return vt_pci_base_class(d) == 0x06;
}
/* A display controller (base class 03: VGA, XGA, 3D, other display). */
static inline bool vt_pci_is_display(const vt_pci_device *d)
{
        return vt_pci_base_class(d) == 0x03;
}
/* The integrated GPU: an Intel display controller on the root bus (device 2 on every Intel
 * platform that has one). Its IOMMU and framebuffer rules differ from a discrete card's. */
static inline bool vt_pci_is_intel_igpu(const vt_pci_device *d)
{
        return d->vendor == 0x8086 && vt_pci_is_display(d) && d->bus == 0;
}
/* Does a device bound to `driver` serve the host? Not when the driver is vfio-pci (it holds the
 * device for a VM) or pci-stub (it parks the device: the host cannot use it either), nor when
 * there is no driver (NULL or ""). Names are compared as kmod does (vt_modname_eq: '-' and '_'
 * alike), because sysfs says "vfio-pci" and a profile or a user may write "vfio_pci". This is also
 * the test for "does this driver tell which driver the host would use": a device already on
 * vfio-pci or pci-stub does not. */
bool vt_pci_is_host_driver(const char *driver);
/* The device's modalias as one modprobe.d word: libpci's trailing newline dropped, and only
 * when it is "pci:..." of printable non-blank bytes that fits in `size` (so it cannot break a
 * modprobe line). 0, or -EINVAL with a message naming the device. */
int vt_pci_modalias(const vt_pci_device *d, char *out, size_t size);
/* Short human label: the class name, or "class 0x0c03" when pci.ids does not know it. Writes
 * into buf and returns it. */
const char *vt_pci_label(const vt_pci_device *d, char *buf, size_t size);
