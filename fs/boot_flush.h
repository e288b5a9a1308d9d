/* Make what was written to a file system visible to a reader that does not replay its journal:
 * a bootloader.
 *
 * fsync() and rename() make a change durable in the file system's journal; GRUB (and the
 * firmware, and systemd-boot) read the disk without replaying that journal, so until writeback
 * puts the metadata in its home location they follow the old directory entries and inodes. A
 * power cut in that window boots the old grubenv, grub.cfg or initramfs, or worse, makes GRUB's
 * save_env write into blocks the journal has already freed (grubby, dracut and ostree met this
 * and fixed it the same way: see docs/bootcount.md).
 *
 * vt_boot_flush_fd(fd, ...) takes any descriptor on the file system (a directory of /boot) and:
 *   1. syncfs(): every dirty page and the journal commit, so step 2 has little left to do;
 *   2. by file system (statfs f_type):
 *        ext3/ext4 with a journal: EXT4_IOC_CHECKPOINT (Linux 5.13+) — jbd2 flushes the journal
 *                 into place and empties it; it holds the file system's new handles only while
 *                 it writes back. Where the kernel lacks it: FIFREEZE + FITHAW;
 *        ext2 (no journal: the checkpoint answers ENODEV), vfat, btrfs: syncfs is enough (vfat
 *                 and ext2 have no journal; btrfs's syncfs commits a transaction, the tree a
 *                 reader finds from the super block, not only the log tree);
 *        xfs:     FIFREEZE + FITHAW (a freeze writes the log back and covers it);
 *        other:   nothing more; method VT_FLUSH_NONE tells the caller no bootloader is known to
 *                 read this file system (arming refuses it elsewhere, by name).
 *   Freeze and thaw are done back to back with the catchable signals blocked, so nothing but a
 *   SIGKILL between the two syscalls can leave the file system frozen.
 * With `dry_run` nothing is written: step 1 is skipped, the checkpoint is asked with its
 * DRY_RUN flag (which checks the permission and the journal), and a freeze is not tried but the
 * CAP_SYS_ADMIN it needs is checked.
 *
 * `what` names the file system in messages ("/boot"). Contract: 0 with the report filled, or a
 * negative errno with a message saying what could not be done and a hint: -EPERM without
 * CAP_SYS_ADMIN (a container), -EOPNOTSUPP when the file system can be neither checkpointed nor
 * frozen, -EBUSY when someone else holds it frozen. Never prints. */
#pragma once

#include <stdbool.h>

typedef enum vt_flush_method {
        VT_FLUSH_NONE = 0,   /* not a file system a bootloader is known to read: synced only */
        VT_FLUSH_SYNC,       /* no journal a reader must replay: syncfs puts everything in place */
        VT_FLUSH_CHECKPOINT, /* ext4's journal checkpointed (EXT4_IOC_CHECKPOINT) */
        VT_FLUSH_FREEZE,     /* frozen and thawed (FIFREEZE, FITHAW) */
} vt_flush_method;

typedef struct vt_flush_report {
        vt_flush_method method;
        char fstype[16]; /* "ext4", "xfs", "vfat", ... or the magic number in hex */
        long sync_us;    /* the syncfs of step 1 */
        long flush_us;   /* the checkpoint or the freeze-thaw: how long writers were held */
} vt_flush_report;

int vt_boot_flush_fd(int fd, const char *what, bool dry_run, vt_flush_report *out);

const char *vt_flush_method_name(vt_flush_method m);
