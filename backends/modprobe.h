/* Generator: vfiotx's own modprobe configuration for a set of devices and a binding method.
 *
 * Pure (bytes out; the engine does every read and write). vt_modprobe_generate() gives the
 * files vfiotx owns:
 *      /etc/modprobe.d/vfiotx.conf            options vfio-pci ..., alias ..., softdep ...
 *      /etc/modprobe.d/vfiotx-blacklist.conf  blacklist <module> (method blacklist only)
 *      /etc/vfiotx/override.conf              "BDF VVVV:DDDD" lines read by the initramfs
 *                                             script (method override only)
 * The output is a function of the device set and the method alone (devices are ordered by
 * BDF), so applying the same spec twice gives the same bytes, and releasing a device gives
 * exactly the bytes the files had before it was added; a file with nothing to say is "absent"
 * (the engine deletes it). vfiotx never writes to a user's modprobe.d file: reading those and
 * finding what contradicts these files is backends/modprobe_conf.h. Whether a method is safe
 * for the host (an ids= that would also catch an identical card that was not named, a
 * blacklisted driver that a device kept by the host needs) is decided by the safety rules
 * (engine/safety.h), not here.
 *
 * Device facts: vt_pci_device.driver must be the device's *host* driver, the one it uses when
 * vfio-pci does not have it. After a reboot into the new configuration the device is bound to
 * vfio-pci; the engine keeps the host driver in the profile and passes that. A driver that is
 * not a host driver (vt_pci_is_host_driver(): vfio-pci, pci-stub, none) means "no host driver
 * known" (no softdep, no blacklist). modprobe.d names modules, so the device's module is
 * written when known (bochs-drm is module bochs).
 *
 * Contract: 0 or a negative errno with a message; malformed device facts (a modalias or driver
 * name that cannot be written into a modprobe file) are -EINVAL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bind_method.h"
#include "backends/edit.h"
#include "backends/pci.h"

#define VT_MODPROBE_CONF_PATH      "/etc/modprobe.d/vfiotx.conf"
#define VT_MODPROBE_BLACKLIST_PATH "/etc/modprobe.d/vfiotx-blacklist.conf"
#define VT_OVERRIDE_CONF_PATH      "/etc/vfiotx/override.conf"

enum {
        VT_MODPROBE_FILE_CONF = 0,
        VT_MODPROBE_FILE_BLACKLIST,
        VT_MODPROBE_FILE_OVERRIDE,
        VT_MODPROBE_NFILES,
};

typedef struct vt_modprobe_files {
        vt_file_out file[VT_MODPROBE_NFILES]; /* always all three, in the order above */
} vt_modprobe_files;

/* The files for binding `devs` (the devices to pass through; duplicates by BDF are ignored)
 * with `method`. n == 0 makes every file absent. */
int vt_modprobe_generate(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                         vt_modprobe_files *out);
void vt_modprobe_files_free(vt_modprobe_files *f);

/* The parameters vfiotx gives vfio-pci for this plan, in the order of the options line:
 * "ids=8086:3e92" (not for override) and "disable_vga=1" (when a display-class device, class
 * 03xx, is among them). Empty for no devices. The engine prefixes them with "vfio-pci." for the
 * kernel command line when vfio-pci is built in (see early_modules.h). */
int vt_modprobe_vfio_params(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                            vt_strv *out);

/* The devices as the generated files see them: sorted by BDF, duplicates (by BDF) dropped, and
 * each host driver and module checked to be a module name (-EINVAL naming the device). *out is
 * malloc'ed, NULL when n == 0. */
int vt_modprobe_device_set(const vt_pci_device *const *devs, size_t n, const vt_pci_device ***out,
                           size_t *nout);

/* The modules the files name for a device set's host drivers (softdep, blacklist): each
 * device's module, or its driver when the module is unknown, once ('-' and '_' alike), in the
 * set's order; devices without a host driver are skipped. Appends to out. */
int vt_modprobe_host_modules(const vt_pci_device *const *set, size_t n, vt_strv *out);

/* Is this one of the modprobe.d files vfiotx generates (which the conflict check skips)? */
bool vt_modprobe_is_own_path(const char *path);
