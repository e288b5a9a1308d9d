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
        char *driver;      /* driver bound now ("i915"), NULL when none */
        char *modalias;    /* "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00" */
        int iommu_group;   /* -1 when the device has no IOMMU group (IOMMU off) */
        bool boot_vga;     /* sysfs boot_vga == 1 */
        char *vendor_name; /* from pci.ids, NULL when unknown */
        char *device_name;
        char *class_name;
} vt_pci_device;

typedef struct vt_pci_list {
        vt_pci_device *items;
        size_t n;
} vt_pci_list;

int vt_pci_scan(const char *sysfs, vt_pci_list *out);
void vt_pci_list_free(vt_pci_list *list);
const vt_pci_device *vt_pci_find(const vt_pci_list *list, const char *bdf);
