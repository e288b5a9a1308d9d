/* Running a rebuild plan's steps: the part of the rebuild that both vfiotx (engine/rebuild.h,
 * inside a transaction) and vfiotx-rescue (rescue/rescue.h, from the initramfs) use. It needs
 * libc and json-c only, so the static rescue program links it.
 *
 * vt_rebuild_run(): runs the steps in order (engine/runner.h: argv, never a shell; chrooted
 * into the root when asked, with /proc, /sys, /dev bind-mounted in a private mount namespace
 * that disappears with the tool), each with a time limit; reports progress through the
 * callback; records argv, exit status, time and (on failure) the output into `record` as JSON
 * (may be NULL). Stops at the first failing step: -EPROTO / -ETIMEDOUT / -ENOENT with a message
 * that names the step and ends with its output. After the steps, flushes the file systems of
 * /boot so what the tools wrote is where the bootloader reads it (engine/boot_fs.h) before the
 * caller records that the rebuild is done.
 *
 * Contract: 0 or negative errno with a message; never prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/rebuild_plan.h"
#include "common/buf.h"
#include "fs/root.h"

/* A rebuild step starts (line NULL, done false), prints a line of output (line), or ends (done
 * true, r its result: 0 or negative errno, elapsed_ms its time). */
typedef void vt_rebuild_progress_fn(void *userdata, size_t step, size_t n, const char *cmd,
                                    const char *line, bool done, int r, long elapsed_ms);

typedef struct vt_rebuild_ctx {
        const vt_root *root;
        bool chroot;                      /* run the tools inside the root (else from PATH) */
        int timeout_ms;                   /* per step; 0: none */
        vt_rebuild_progress_fn *progress; /* may be NULL */
        void *userdata;
} vt_rebuild_ctx;

int vt_rebuild_run(const vt_rebuild_ctx *ctx, const vt_rebuild_plan *plan, vt_buf *record);
