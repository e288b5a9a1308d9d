/* The post-boot health checks of a trial: facts in, findings out.
 *
 * A trial boot is healthy when
 *   - every device of the profile (the BDFs given) is present and bound to vfio-pci;
 *   - every device the host itself needs — the controllers of the disks under / and /boot and
 *     the NICs carrying a default route (backends/hostinfo.h) — is bound to a host driver
 *     (vt_pci_is_host_driver(): not vfio-pci, not pci-stub, not without a driver);
 *   - no systemd unit has failed (the output of `systemctl --failed --plain --no-legend`, given
 *     as text so tests and the engine decide where it comes from; NULL skips the check). The
 *     engine runs systemctl (engine/systemctl.h): this module only reads.
 * The facts come in already read: the PCI devices with their drivers (backends/pci.h, libpci
 * on the sysfs tree, so the fixture hosts and a live /sys are read the same way) and the
 * devices the host needs (backends/hostinfo.h). The engine reads them once (engine/facts.h);
 * reading them can fail, which is not a verdict: the caller must not confirm then, nor mark
 * the trial bad without saying the check itself failed.
 *
 * Contract: vt_health_check() returns 0 (the host is healthy when the result has no findings)
 * or -ENOMEM; it reads nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/hostinfo.h"
#include "backends/pci.h"

#define VT_HEALTH_VFIO_BOUND   "vfio-bound"   /* a profile device is not on vfio-pci */
#define VT_HEALTH_HOST_DRIVER  "host-driver"  /* a device the host needs lost its driver */
#define VT_HEALTH_FAILED_UNITS "failed-units" /* systemd units failed */

typedef struct vt_health_finding {
        const char *check; /* one of the VT_HEALTH_* names */
        char bdf[16];      /* the device, "" for failed-units */
        char *message;     /* one line for the journal and the console */
} vt_health_finding;

typedef struct vt_health {
        vt_health_finding *items;
        size_t n;
} vt_health;

int vt_health_check(const vt_pci_list *pci, const vt_hostinfo *host, const char *const *bdfs,
                    size_t n_bdfs, const char *failed_units, vt_health *out);
void vt_health_free(vt_health *h);

/* The failed units named in `systemctl --failed --plain --no-legend` output (the first word of
 * each line; a leading status bullet is skipped). */
int vt_health_parse_failed_units(const char *text, char ***units, size_t *n);
void vt_health_units_free(char **units, size_t n);
