/* vfiotx-rescue: restore the last good snapshot from its plain copy into a root, with libc alone
 * (no libgit2, libarchive, libpci, libkmod), small enough to live in every initramfs.
 *
 * vt_rescue_run(), in order; nothing is written before step 4:
 *   1. open the root (fs/root.h: every path resolved inside it); a root on a read-only mount is
 *      refused (-EROFS) with 'mount -o remount,rw <mount point>';
 *   2. read the plain copy <root>/var/lib/vfiotx/good -> good.<txn>/ (journal/good_copy.h):
 *      the manifest, then every file, each checked against the manifest's size; a missing copy
 *      (-ENOENT) or a damaged one (-EBADMSG, a missing file) is refused, nothing written;
 *      paths vfiotx managed but the copy lacks (journal/managed_paths.h) are to be absent;
 *   3. compare with the disk: which files differ (bytes, mode, owner, xattrs);
 *   4. take vfiotx's lock (journal/lock.h), replace each differing file atomically
 *      (fs/atomic_file.h: temporary file, fsync, rename, fsync of the directory) or remove it;
 *   5. write the marker (journal/rescue_mark.h, rebuilt=0), so the next `vfiotx boot` records
 *      the rescue in the journal even when the rebuild below fails;
 *   6. unless no_rebuild: plan the rebuild of every initramfs and the boot configuration as
 *      vfiotx does (backends/rebuild_plan.h, every restored path counted as changed: the
 *      initramfs in use was built from the bad files), run each step through engine/runner.h
 *      (argv, chrooted into the root with /proc, /sys, /dev bound, unless no_chroot), flush /boot
 *      (engine/boot_fs.h), then the marker again with rebuilt=1.
 * Running it twice restores nothing the second time and rebuilds again.
 *
 * This is the journal's job done without the journal: it writes no journal entry and leaves
 * the state file alone; `vfiotx boot` at the next normal boot does both (engine/op_boot.h).
 *
 * Contract: 0 or negative errno with a message (common/error.h: what, where, what to do);
 * never prints (rescue/main.c does); `res` is filled as far as the run went and must be freed
 * with vt_rescue_result_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "engine/rebuild_run.h"

typedef struct vt_rescue_req {
        const char *root; /* the host's root as mounted here: "/root" in the initramfs */
        bool no_chroot;   /* run the rebuild tools from PATH, not chrooted (tests) */
        bool no_rebuild;  /* restore the files only; `vfiotx boot` rebuilds at the next boot */
        int timeout_ms;   /* per rebuild step; 0: none */
        /* A rebuild step starts, prints a line, is still running (a tick a second) or ends
         * (engine/rebuild_run.h). May be NULL. */
        vt_rebuild_progress_fn *progress;
        void *userdata;
} vt_rescue_req;

typedef struct vt_rescue_result {
        long txn;           /* the good copy's transaction */
        vt_buf written;     /* the paths written, one a line */
        vt_buf removed;     /* the paths removed, one a line */
        size_t n_unchanged; /* files already as the copy has them */
        size_t n_steps;     /* rebuild steps planned */
        bool rebuilt;       /* every step ran and /boot was flushed */
        vt_buf notes;       /* the rebuild planner's notes ("... not rebuilt: ...") */
} vt_rescue_result;

int vt_rescue_run(const vt_rescue_req *req, vt_rescue_result *res);
void vt_rescue_result_free(vt_rescue_result *res);
