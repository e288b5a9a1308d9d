/* Safety verdicts: would handing these devices to vfio-pci cost the host something it needs?
 *
 * `apply` (and `devices`, for its verdict column) calls vt_safety_check() with the scanned
 * devices, the host facts and the devices the user named; every rule that fires adds a refusal
 * naming the device that would be lost, why, and what to do. The engine refuses the plan when
 * the list is not empty, unless --force. The rules:
 *
 *   ROOT_DISK / BOOT_DISK  a named device controls the disk of / or /boot;
 *   ONLY_DISPLAY           a named display (the boot VGA first) would leave the host with no
 *                          display (VGA, XGA or other display controller; 3D controllers have
 *                          no outputs) and there is no serial console (console=ttyS*);
 *   DEFAULT_ROUTE          a named device carries a default route;
 *   GROUP                  a device in the IOMMU group of a named device is not named and stays
 *                          on the host (PCI bridges, class 0604, do not count: vfio leaves them);
 *   SAME_ID                under ids/alias/blacklist (which bind by vendor:device), another
 *                          device with the same vendor:device that was not named would be taken;
 *   SAME_DRIVER            under blacklist, another device that uses the blacklisted driver
 *                          would lose it;
 *   NO_IOMMU               a named device has no IOMMU group (the IOMMU is off);
 *   BRIDGE                 a named device is a bridge (host, ISA/LPC or PCI bridge).
 *
 * Contract: functions return 0 or a negative errno (only -ENOMEM for the checks; the resolver
 * sets a message and a hint for the user). Lists are owned by the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bind_method.h"
#include "backends/hostinfo.h"
#include "backends/pci.h"

/* The binding method (vt_bind_method, VT_BIND_*) is backends/bind_method.h. */

typedef enum vt_refusal_code {
        VT_REFUSE_ROOT_DISK,
        VT_REFUSE_BOOT_DISK,
        VT_REFUSE_ONLY_DISPLAY,
        VT_REFUSE_DEFAULT_ROUTE,
        VT_REFUSE_GROUP,
        VT_REFUSE_SAME_ID,
        VT_REFUSE_SAME_DRIVER,
        VT_REFUSE_NO_IOMMU,
        VT_REFUSE_BRIDGE,
} vt_refusal_code;

/* Stable kebab-case names for JSON and the journal: "root-disk", "boot-disk", "only-display",
 * "default-route", "group", "same-id", "same-driver", "no-iommu", "bridge". */
const char *vt_refusal_code_name(vt_refusal_code c);

typedef struct vt_refusal {
        vt_refusal_code code;
        /* a warning, not a refusal: the plan goes on (ONLY_DISPLAY when the host keeps a
         * remote way in); shown with the verdict, never counted as a refusal */
        bool warning;
        char bdf[16];       /* the device the host would lose (or the named device itself) */
        char named[16];     /* the named device that causes it */
        char *message;      /* one sentence, with the device's class and what breaks */
        const char *advice; /* what the user can do (static text) */
} vt_refusal;

typedef struct vt_refusal_list {
        vt_refusal *items;
        size_t n;
} vt_refusal_list;

void vt_refusal_list_free(vt_refusal_list *list);
/* The entries that refuse (warnings left out). */
size_t vt_refusal_count(const vt_refusal_list *list);

/* The devices the user named, as pointers into one vt_pci_list (no duplicates). */
typedef struct vt_selection {
        const vt_pci_device **items;
        size_t n;
} vt_selection;

/* Resolve one --device argument and add its devices to sel. Accepted: "0000:01:00.0",
 * "01:00.0" (domain optional when unambiguous), "10de:1b80" (every device with that id).
 * Errors, each with a message and a hint: -EINVAL malformed, -ENODEV no such device, -EEXIST
 * ambiguous (a domainless address present in several PCI domains). */
int vt_selection_add(vt_selection *sel, const vt_pci_list *devs, const char *spec);
bool vt_selection_has(const vt_selection *sel, const vt_pci_device *d);
void vt_selection_free(vt_selection *sel);

/* Every refusal for passing `named` through with `method`. An empty list means safe.
 * `named` points into `devs`. A named device's driver must be its host driver (the one the
 * profile recorded: once on vfio-pci, sysfs no longer shows it), since SAME_DRIVER is about the
 * module a blacklist would take away; the other devices are as scanned. These are the only
 * rules on what a method would take from the host: the modprobe generator does not check them
 * again. */
int vt_safety_check(const vt_pci_list *devs, const vt_hostinfo *host, const vt_selection *named,
                    vt_bind_method method, vt_refusal_list *out);

/* The card `d` is a function of, as people pass it (`--device 0b:00`): d first, then the other
 * functions of its card (vt_pci_same_card()). Appends to out. */
int vt_safety_unit(const vt_pci_list *devs, const vt_pci_device *d, vt_selection *out);

/* The verdict of one device (as `vfiotx devices` shows it): the check above with d's card
 * named (vt_safety_unit(): a GPU with its audio, USB-C and UCSI functions, which go to a VM
 * together) and per-device binding (override), so the list says what passing this card would
 * cost. */
int vt_safety_verdict(const vt_pci_list *devs, const vt_hostinfo *host, const vt_pci_device *d,
                      vt_refusal_list *out);
