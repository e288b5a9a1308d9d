/* Post-boot health checks (health.h). */
#include "backends/health.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/hostinfo.h"
#include "backends/pci.h"
#include "common/error.h"
#include "common/macro.h"

void vt_health_free(vt_health *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                free(h->items[i].message);
        free(h->items);
        h->items = NULL;
        h->n = 0;
}

static int add_finding(vt_health *h, const char *check, const char *bdf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add_finding(vt_health *h, const char *check, const char *bdf, const char *fmt, ...)
{
        vt_health_finding *grown;
        char *msg;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return vt_error_set(ENOMEM, "out of memory");
        grown = realloc(h->items, (h->n + 1) * sizeof(*grown));
        if (!grown) {
                free(msg);
                return vt_error_set(ENOMEM, "out of memory");
        }
        h->items = grown;
        h->items[h->n] = (vt_health_finding){.check = check, .message = msg};
        snprintf(h->items[h->n].bdf, sizeof(h->items[h->n].bdf), "%s", bdf ? bdf : "");
        h->n++;
        return 0;
}

static const char *role_name(vt_host_role role)
{
        switch (role) {
        case VT_ROLE_ROOT_DISK:
                return "the root disk";
        case VT_ROLE_BOOT_DISK:
                return "the /boot disk";
        case VT_ROLE_DEFAULT_ROUTE:
                return "the default route";
        }
        return "the host";
}

void vt_health_units_free(char **units, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(units[i]);
        free(units);
}

int vt_health_parse_failed_units(const char *text, char ***units, size_t *n)
{
        char **list = NULL;
        size_t count = 0;
        const char *line = text;

        while (line && *line) {
                const char *eol = strchr(line, '\n'), *p = line, *w;
                size_t len = eol ? (size_t)(eol - line) : strlen(line);
                const char *end = line + len;
                char **grown;

                line = eol ? eol + 1 : NULL;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                /* systemctl prints a status bullet (U+25CF, or '*' without UTF-8) on some
                 * versions even with --plain. */
                if (end - p >= 3 && memcmp(p, "\xe2\x97\x8f", 3) == 0)
                        p += 3;
                else if (p < end && *p == '*')
                        p++;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                for (w = p; w < end && *w != ' ' && *w != '\t'; w++)
                        ;
                if (w == p)
                        continue;
                grown = realloc(list, (count + 1) * sizeof(*grown));
                if (!grown || !(grown[count] = strndup(p, (size_t)(w - p)))) {
                        vt_health_units_free(grown ? grown : list, count);
                        return vt_error_set(ENOMEM, "out of memory");
                }
                list = grown;
                count++;
        }
        *units = list;
        *n = count;
        return 0;
}

int vt_health_check(const vt_pci_list *pci, const vt_hostinfo *host, const char *const *bdfs,
                    size_t n_bdfs, const char *failed_units, vt_health *out)
{
        vt_health h = {0};
        char **units = NULL;
        size_t n_units = 0;
        int r = 0;

        for (size_t i = 0; i < n_bdfs && r >= 0; i++) {
                const vt_pci_device *d = vt_pci_find(pci, bdfs[i]);

                if (!d)
                        r = add_finding(&h, VT_HEALTH_VFIO_BOUND, bdfs[i],
                                        "%s is not present: the profile's device is gone", bdfs[i]);
                else if (!d->driver || strcmp(d->driver, "vfio-pci") != 0)
                        r = add_finding(&h, VT_HEALTH_VFIO_BOUND, d->bdf,
                                        "%s is bound to %s, not vfio-pci", d->bdf,
                                        d->driver ? d->driver : "no driver");
        }
        for (size_t i = 0; i < host->n && r >= 0; i++) {
                const vt_host_dep *dep = &host->deps[i];
                const vt_pci_device *d = vt_pci_find(pci, dep->bdf);
                bool seen = false;

                /* One finding per device, even when it serves several roles. */
                for (size_t j = 0; j < h.n; j++)
                        if (strcmp(h.items[j].check, VT_HEALTH_HOST_DRIVER) == 0 &&
                            strcmp(h.items[j].bdf, dep->bdf) == 0)
                                seen = true;
                if (seen || (d && vt_pci_is_host_driver(d->driver)))
                        continue;
                r = add_finding(&h, VT_HEALTH_HOST_DRIVER, dep->bdf,
                                "%s carries %s (%s) but is %s%s: the host lost it", dep->bdf,
                                role_name(dep->role), dep->detail ? dep->detail : "?",
                                !d          ? "gone"
                                : d->driver ? "bound to "
                                            : "without a driver",
                                d && d->driver ? d->driver : "");
        }
        if (r >= 0 && failed_units) {
                r = vt_health_parse_failed_units(failed_units, &units, &n_units);
                for (size_t i = 0; i < n_units && r >= 0; i++)
                        r = add_finding(&h, VT_HEALTH_FAILED_UNITS, NULL, "unit %s failed",
                                        units[i]);
        }
        vt_health_units_free(units, n_units);
        if (r < 0) {
                vt_health_free(&h);
                return r;
        }
        *out = h;
        return 0;
}
