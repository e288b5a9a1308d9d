#include "engine/driver_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"

#define POLL_MS 10

static int write_attr(const char *path, const char *text)
{
        _cleanup_close_ int fd = -1;
        int r;

        r = vt_failpoint("driver-switch-write");
        if (r < 0)
                return vt_error_set(-r, "failpoint before writing %s", path);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return vt_error_set(errno, "cannot open %s: %s", path, strerror(errno));
        r = vt_write_all(fd, text, strlen(text));
        if (r < 0)
                return vt_error_set(-r, "writing \"%.*s\" to %s: %s", (int)strcspn(text, "\n"),
                                    text, path, strerror(-r));
        if (close(TAKE_FD(fd)) < 0)
                return vt_error_set(errno, "writing to %s: %s", path, strerror(errno));
        return 0;
}

int vt_driver_current(const char *sysfs, const char *bdf, char *out, size_t size)
{
        char path[PATH_MAX], target[PATH_MAX];
        const char *base;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, bdf);
        if (access(path, F_OK) < 0)
                return vt_error_set(ENOENT, "no PCI device %s in %s", bdf, sysfs);
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", sysfs, bdf);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0) {
                if (errno != ENOENT)
                        return vt_error_set(errno, "cannot read %s: %s", path, strerror(errno));
                snprintf(out, size, "%s", "");
                return 0;
        }
        target[n] = '\0';
        base = strrchr(target, '/');
        snprintf(out, size, "%s", base ? base + 1 : target);
        return 0;
}

/* Wait until the driver is `want` ("" none; NULL any driver). 1 when it is, 0 on timeout. */
static int wait_driver(const char *sysfs, const char *bdf, const char *want, int timeout_ms,
                       char *now, size_t size)
{
        struct timespec ts = {0, POLL_MS * 1000000L};

        for (int waited = 0;; waited += POLL_MS) {
                int r = vt_driver_current(sysfs, bdf, now, size);

                if (r < 0)
                        return r;
                if (want ? strcmp(now, want) == 0 : now[0] != '\0')
                        return 1;
                if (waited >= timeout_ms)
                        return 0;
                nanosleep(&ts, NULL);
        }
}

int vt_driver_override(const char *sysfs, const char *bdf, const char *driver)
{
        char path[PATH_MAX], text[64];

        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs, bdf);
        if (access(path, F_OK) < 0)
                return vt_error_set(ENOENT, "no PCI device %s in %s", bdf, sysfs);
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override", sysfs, bdf);
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                vt_error_set(EOPNOTSUPP, "%s has no driver_override", bdf);
                return vt_error_hint(EOPNOTSUPP, "the kernel is older than 3.16: 'vfiotx apply' "
                                                 "binds it at boot instead");
        }
        snprintf(text, sizeof(text), "%s\n", driver ? driver : "");
        return write_attr(path, text);
}

int vt_driver_unbind(const char *sysfs, const char *bdf, int timeout_ms)
{
        char path[PATH_MAX], drv[NAME_MAX + 1], text[32];
        int r;

        r = vt_driver_current(sysfs, bdf, drv, sizeof(drv));
        if (r < 0 || drv[0] == '\0')
                return r;
        snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s/unbind", sysfs, drv);
        snprintf(text, sizeof(text), "%s\n", bdf);
        r = write_attr(path, text);
        if (r < 0)
                return r;
        r = wait_driver(sysfs, bdf, "", timeout_ms, drv, sizeof(drv));
        if (r == 0)
                return vt_error_set(ETIMEDOUT, "%s is still on %s %d s after unbinding it", bdf,
                                    drv, timeout_ms / 1000);
        return r < 0 ? r : 0;
}

int vt_driver_probe(const char *sysfs, const char *bdf, const char *expect, int timeout_ms)
{
        char path[PATH_MAX], drv[NAME_MAX + 1], text[32];
        int r;

        snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", sysfs);
        snprintf(text, sizeof(text), "%s\n", bdf);
        r = write_attr(path, text);
        /* A probe that finds no driver fails the write with ENODEV or EINVAL on some kernels;
         * what counts is the driver link afterwards. */
        if (r == -ENODEV || r == -EINVAL)
                vt_error_clear();
        else if (r < 0)
                return r;
        r = wait_driver(sysfs, bdf, expect, timeout_ms, drv, sizeof(drv));
        if (r < 0)
                return r;
        if (r == 0 && expect)
                return vt_error_set(ETIMEDOUT, "%s is %s%s, not on %s, %d s after probing it", bdf,
                                    drv[0] ? "still on " : "bound to no driver", drv, expect,
                                    timeout_ms / 1000);
        if (r == 0)
                return vt_error_set(ENODEV, "no driver took %s after probing it", bdf);
        return 0;
}

int vt_driver_bind(const char *sysfs, const char *bdf, const char *driver, int timeout_ms)
{
        char path[PATH_MAX], drv[NAME_MAX + 1], text[32];
        int r;

        snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s/bind", sysfs, driver);
        snprintf(text, sizeof(text), "%s\n", bdf);
        r = write_attr(path, text);
        if (r < 0)
                return r;
        r = wait_driver(sysfs, bdf, driver, timeout_ms, drv, sizeof(drv));
        if (r == 0)
                return vt_error_set(ETIMEDOUT, "%s is not on %s %d s after binding it", bdf, driver,
                                    timeout_ms / 1000);
        return r < 0 ? r : 0;
}

int vt_driver_wait_loaded(const char *sysfs, const char *driver, int timeout_ms)
{
        struct timespec ts = {0, POLL_MS * 1000000L};
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", sysfs, driver);
        for (int waited = 0;; waited += POLL_MS) {
                if (access(path, F_OK) == 0)
                        return 0;
                if (waited >= timeout_ms)
                        return vt_error_set(ENOENT, "the %s driver did not appear in %s", driver,
                                            path);
                nanosleep(&ts, NULL);
        }
}
