/* The profile: the desired state vfiotx applies, kept in /etc/vfiotx/vfiotx.conf, itself a
 * managed file (journalled like the others), so `vfiotx apply` with no arguments re-applies it
 * after drift or a kernel update, and the history of what was asked is in `vfiotx log -p`.
 *
 * Format: one statement per line, '#' comments, blank lines ignored:
 *   method ids|alias|blacklist|override
 *   device <BDF> <VVVV:DDDD> <host driver or -> [module]
 *                               the driver the device had when it was added (once bound to
 *                               vfio-pci, sysfs no longer says) and that driver's module, when
 *                               its name differs (bochs-drm is module bochs, xhci_hcd is
 *                               xhci_pci): modprobe's softdep and blacklist take module names
 *   cmdline-add <word>          a kernel parameter the user asked for
 *   cmdline-remove <word>       a kernel parameter the user asked to keep off
 *   no-iommu-params             leave the derived IOMMU parameters out
 *   applied-cmdline <word>      a parameter vfiotx put on the command line at the last apply
 *                               (so a parameter no longer needed is taken off again)
 * Unknown statements are refused with file and line (a newer vfiotx's profile is not guessed).
 *
 * Contract: pure; 0 or negative errno with a message; vt_profile_free() on a zeroed profile. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backends/bind_method.h"
#include "backends/edit.h"
#include "common/buf.h"

#define VT_PROFILE_PATH "/etc/vfiotx/vfiotx.conf"

typedef struct vt_profile_device {
        char bdf[16];
        uint16_t vendor, device;
        char *driver; /* NULL: none */
        char *module; /* the driver's kernel module ("bochs" for bochs-drm); NULL: unknown */
} vt_profile_device;

typedef struct vt_profile {
        vt_bind_method method;
        vt_profile_device *devices; /* sorted by BDF, unique */
        size_t n_devices;
        vt_strv cmdline_add;
        vt_strv cmdline_remove;
        bool no_iommu_params;
        vt_strv applied_cmdline;
} vt_profile;

int vt_profile_parse(const char *path, const char *data, size_t len, vt_profile *out);
int vt_profile_format(const vt_profile *p, vt_buf *out);
void vt_profile_free(vt_profile *p);

/* Add (or update) a device; remove one by BDF (returns 1 if it was there, 0 if not). */
int vt_profile_add_device(vt_profile *p, const char *bdf, uint16_t vendor, uint16_t device,
                          const char *driver, const char *module);
int vt_profile_remove_device(vt_profile *p, const char *bdf);
const vt_profile_device *vt_profile_find(const vt_profile *p, const char *bdf);
/* Remove a string from a list; 1 if it was there. */
int vt_strv_remove(vt_strv *v, const char *s);
