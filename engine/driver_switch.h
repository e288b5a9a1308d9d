/* Moving a PCI device between drivers at runtime, through sysfs (the `vfiotx try` path; no file
 * of the host changes).
 *
 * The kernel's own interface, every write one open(O_WRONLY|O_TRUNC) + write + close:
 *   <sysfs>/bus/pci/devices/BDF/driver_override   "vfio-pci": only that driver may take it;
 *                                                 "\n" clears the override
 *   <sysfs>/bus/pci/drivers/DRV/unbind            "BDF": the driver lets go of it
 *   <sysfs>/bus/pci/drivers_probe                 "BDF": the kernel binds the best driver
 *                                                 (the override when set)
 *   <sysfs>/bus/pci/drivers/DRV/bind              "BDF": this driver takes it
 * A real kernel does each write synchronously; the functions still wait (up to `timeout_ms`,
 * polling every 10 ms) for the `driver` link to show the result, so a slow probe (a GPU's
 * firmware load) or an emulated kernel is no race.
 *
 * Contract: 0 or a negative errno with a message naming the device and the file; a device whose
 * driver does not become the expected one in time is -ETIMEDOUT ("0000:01:00.0 is still on
 * amdgpu after 5 s"). */
#pragma once

#include <stddef.h>

/* The driver bound to `bdf` now ("i915"), "" when none. -ENOENT when there is no such device. */
int vt_driver_current(const char *sysfs, const char *bdf, char *out, size_t size);
/* driver_override: set to `driver`, or cleared when `driver` is NULL. -EOPNOTSUPP when the
 * kernel has no driver_override (before 3.16). */
int vt_driver_override(const char *sysfs, const char *bdf, const char *driver);
/* Unbind from whatever driver holds it (nothing when none) and wait until it is unbound. */
int vt_driver_unbind(const char *sysfs, const char *bdf, int timeout_ms);
/* drivers_probe, then wait until a driver is bound: `expect` when not NULL (the override),
 * any driver otherwise. A probe that binds nothing is -ENODEV when `expect` is NULL. */
int vt_driver_probe(const char *sysfs, const char *bdf, const char *expect, int timeout_ms);
/* Bind to `driver` explicitly and wait for it. */
int vt_driver_bind(const char *sysfs, const char *bdf, const char *driver, int timeout_ms);
/* Wait until <sysfs>/bus/pci/drivers/`driver` exists (after modprobe). -ENOENT after the time. */
int vt_driver_wait_loaded(const char *sysfs, const char *driver, int timeout_ms);
