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
 * Drivers are read with libpci from the sysfs tree (backends/pci.h), so the fixture hosts and a
 * live /sys are read the same way.
 *
 * Contract: vt_health_check() returns 0 when the checks ran (the host is healthy when the
 * result has no findings) and a negative errno with a message when the facts could not be read
 * (a probe failure is not a verdict: the caller must not confirm, and should not mark the trial
 * bad either without saying the check itself failed). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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

int vt_health_check(const char *sysfs, const char *proc, const char *const *bdfs, size_t n_bdfs,
                    const char *failed_units, vt_health *out);
void vt_health_free(vt_health *h);

/* The failed units named in `systemctl --failed --plain --no-legend` output (the first word of
 * each line; a leading status bullet is skipped). */
int vt_health_parse_failed_units(const char *text, char ***units, size_t *n);
void vt_health_units_free(char **units, size_t n);
