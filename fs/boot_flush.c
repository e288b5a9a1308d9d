/* Flushing a file system for a reader that does not replay its journal (boot_flush.h). */
#include "fs/boot_flush.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/failpoint.h"

/* Debian 12's kernel headers (6.1) do not export ext4's ioctls; the values are the kernel's
 * ABI (fs/ext4/ext4.h, include/uapi/linux/ext4.h from 6.3). */
#ifndef EXT4_IOC_CHECKPOINT
#define EXT4_IOC_CHECKPOINT _IOW('f', 43, __u32)
#endif
#define CHECKPOINT_FLAG_DRY_RUN 0x4

#define MAGIC_EXT     0xEF53
#define MAGIC_XFS     0x58465342
#define MAGIC_VFAT    0x4d44
#define MAGIC_BTRFS   0x9123683E
#define MAGIC_TMPFS   0x01021994
#define MAGIC_ZFS     0x2fc12fc1
#define MAGIC_OVERLAY 0x794c7630

const char *vt_flush_method_name(vt_flush_method m)
{
        switch (m) {
        case VT_FLUSH_NONE:
                return "none";
        case VT_FLUSH_SYNC:
                return "sync";
        case VT_FLUSH_CHECKPOINT:
                return "journal checkpoint";
        case VT_FLUSH_FREEZE:
                return "freeze and thaw";
        }
        return "unknown";
}

static long now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void name_fs(unsigned long magic, char *out, size_t size)
{
        static const struct {
                unsigned long magic;
                const char *name;
        } names[] = {
            {MAGIC_EXT, "ext4"},        {MAGIC_XFS, "xfs"},     {MAGIC_VFAT, "vfat"},
            {MAGIC_BTRFS, "btrfs"},     {MAGIC_TMPFS, "tmpfs"}, {MAGIC_ZFS, "zfs"},
            {MAGIC_OVERLAY, "overlay"},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].magic == magic) {
                        snprintf(out, size, "%s", names[i].name);
                        return;
                }
        snprintf(out, size, "0x%lx", magic);
}

static bool have_cap_sys_admin(void)
{
        struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2] = {{0}};

        if (syscall(SYS_capget, &hdr, data) < 0)
                return false;
        return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

static int cannot(int err, const char *what, const char *fstype, const char *how)
{
        vt_error_set(err,
                     "cannot put %s (%s) in place for the bootloader: %s failed: %s; GRUB "
                     "reads the disk without replaying the journal and would not see what "
                     "vfiotx wrote until writeback",
                     what, fstype, how, strerror(err));
        if (err == EPERM)
                return vt_error_hint(err, "run vfiotx as root with CAP_SYS_ADMIN (not inside a "
                                          "container), or apply with --no-arm");
        if (err == EBUSY)
                return vt_error_hint(err,
                                     "%s is frozen by another program (fsfreeze -u thaws "
                                     "it); try again when it is done",
                                     what);
        return vt_error_hint(err, "keep /boot on ext4, xfs or vfat, or apply with --no-arm");
}

/* FIFREEZE then FITHAW at once. Catchable signals wait until the thaw: a Ctrl-C between the
 * two must not leave the file system (often the root) frozen. */
static int freeze_thaw(int fd, const char *what, const char *fstype)
{
        sigset_t all, old;
        int r = 0, thaw_err = 0;

        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        if (ioctl(fd, FIFREEZE, 0) < 0)
                r = -errno;
        else if (ioctl(fd, FITHAW, 0) < 0)
                thaw_err = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (thaw_err)
                return vt_error_hint(vt_error_set(thaw_err,
                                                  "%s was frozen and could not be thawed: %s", what,
                                                  strerror(thaw_err)),
                                     "thaw it now: fsfreeze -u <its mount point>");
        if (r < 0)
                return cannot(-r, what, fstype, "freezing the file system (FIFREEZE)");
        return 0;
}

int vt_boot_flush_fd(int fd, const char *what, bool dry_run, vt_flush_report *out)
{
        struct statfs sfs;
        long t0, t1;
        int r;

        *out = (vt_flush_report){0};
        if (fstatfs(fd, &sfs) < 0)
                return vt_error_set(errno, "%s: statfs: %s", what, strerror(errno));
        name_fs((unsigned long)sfs.f_type, out->fstype, sizeof(out->fstype));

        t0 = now_us();
        if (!dry_run && syncfs(fd) < 0)
                return vt_error_set(errno, "%s: syncfs: %s", what, strerror(errno));
        t1 = now_us();
        out->sync_us = t1 - t0;

        switch ((unsigned long)sfs.f_type) {
        case MAGIC_EXT: {
                __u32 flags = dry_run ? CHECKPOINT_FLAG_DRY_RUN : 0;

                if (!dry_run && (r = vt_failpoint("boot-flush: checkpoint")) < 0)
                        return r;
                if (ioctl(fd, EXT4_IOC_CHECKPOINT, &flags) == 0) {
                        out->method = VT_FLUSH_CHECKPOINT;
                        break;
                }
                if (errno == ENODEV) { /* ext2, or ext4 without a journal */
                        out->method = VT_FLUSH_SYNC;
                        break;
                }
                if (errno == EPERM)
                        return cannot(EPERM, what, out->fstype,
                                      "checkpointing the journal (EXT4_IOC_CHECKPOINT)");
                /* ENOTTY / EINVAL: a kernel before 5.13 has no checkpoint; freeze instead. */
                out->method = VT_FLUSH_FREEZE;
                if (dry_run) {
                        if (!have_cap_sys_admin())
                                return cannot(EPERM, what, out->fstype,
                                              "freezing the file system (FIFREEZE)");
                        break;
                }
                t1 = now_us();
                r = freeze_thaw(fd, what, out->fstype);
                if (r < 0)
                        return r;
                break;
        }
        case MAGIC_XFS:
                out->method = VT_FLUSH_FREEZE;
                if (dry_run) {
                        if (!have_cap_sys_admin())
                                return cannot(EPERM, what, out->fstype,
                                              "freezing the file system (FIFREEZE)");
                        break;
                }
                if ((r = vt_failpoint("boot-flush: freeze")) < 0)
                        return r;
                r = freeze_thaw(fd, what, out->fstype);
                if (r < 0)
                        return r;
                break;
        case MAGIC_VFAT:
        case MAGIC_BTRFS:
                out->method = VT_FLUSH_SYNC;
                break;
        default:
                out->method = VT_FLUSH_NONE;
                break;
        }
        out->flush_us = now_us() - t1;
        return 0;
}
