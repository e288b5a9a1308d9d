#include "engine/efivars_store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "backends/efivar.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"

#define EFIVARFS_MAGIC 0xde5e81e4

static char *var_path(const char *sysfs, const char *name)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, VT_EFIVARS_DIR);

        return dir ? vt_path_join(dir, name) : NULL;
}

static int dir_check(const char *sysfs, bool *efivarfs)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, VT_EFIVARS_DIR);
        struct statfs sf;

        if (!dir)
                return vt_error_set(ENOMEM, "out of memory");
        if (statfs(dir, &sf) < 0)
                return vt_error_set(errno, "cannot use the EFI variables in %s: %s", dir,
                                    errno == ENOENT ? "no such directory (not booted through "
                                                      "UEFI, or efivarfs not mounted)"
                                                    : strerror(errno));
        *efivarfs = (unsigned long)sf.f_type == EFIVARFS_MAGIC;
        return 0;
}

/* efivarfs creates variables immutable so that `rm -rf /` does not brick firmware. */
static int make_mutable(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int flags;

        if (fd < 0)
                return errno == ENOENT ? 0 : vt_error_set(errno, "%s: %s", path, strerror(errno));
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return 0; /* no flags on this file system: nothing to clear */
        if (!(flags & FS_IMMUTABLE_FL))
                return 0;
        flags &= ~FS_IMMUTABLE_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                return vt_error_set(errno, "cannot make %s writable: %s", path, strerror(errno));
        return 0;
}

int vt_efivar_store(const char *sysfs, const char *name, const char *value)
{
        _cleanup_free_ char *path = var_path(sysfs, name);
        _cleanup_buf_ vt_buf payload = VT_BUF_INIT;
        _cleanup_close_ int fd = -1;
        bool efivarfs = false;
        ssize_t n;
        int r;

        if (!path)
                return vt_error_set(ENOMEM, "out of memory");
        r = dir_check(sysfs, &efivarfs);
        if (r >= 0)
                r = make_mutable(path);
        if (r >= 0)
                r = vt_failpoint("efivar: write");
        if (r < 0)
                return r;
        if (!value) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return vt_error_set(errno, "cannot delete the EFI variable %s: %s", name,
                                            strerror(errno));
                return 0;
        }
        r = vt_efivar_encode_string(value, VT_EFI_ATTR_NV_BS_RT, &payload);
        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (efivarfs ? 0 : O_TRUNC), 0644);
        if (fd < 0)
                return vt_error_set(errno, "cannot write the EFI variable %s: %s", name,
                                    strerror(errno));
        n = write(fd, payload.ptr, payload.len);
        if (n < 0)
                return vt_error_set(errno, "cannot write the EFI variable %s: %s", name,
                                    errno == ENOSPC ? "the firmware's variable store is full"
                                                    : strerror(errno));
        if ((size_t)n != payload.len)
                return vt_error_set(EIO, "the EFI variable %s was written short", name);
        if (!efivarfs && fsync(fd) < 0)
                return vt_error_set(errno, "%s: %s", path, strerror(errno));
        return 0;
}
