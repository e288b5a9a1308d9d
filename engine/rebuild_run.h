/* Running a rebuild plan's steps: the part of the rebuild that both vfiotx (engine/rebuild.h,
 * inside a transaction) and vfiotx-rescue (rescue/rescue.h, from the initramfs) use. It needs
 * libc and json-c only, so the static rescue program links it.
 *
 * vt_rebuild_run(): runs the steps in order (engine/runner.h: argv, never a shell; chrooted
 * into the root when asked, with /proc, /sys, /dev bind-mounted in a private mount namespace
 * that disappears with the tool), each with a time limit; reports progress through the
 * callback (the step starting, each line of its output, a tick every second, its end with the
 * whole output of a failure); records argv, exit status, time and (on failure) the output into
 * `record` as JSON (may be NULL). Stops at the first failing step: -EPROTO / -ETIMEDOUT / -ENOENT
 * with a message that names the step and ends with its output. After the steps, flushes the file
 * systems of /boot so what the tools wrote is where the bootloader reads it (engine/boot_fs.h)
 * before the caller records that the rebuild is done.
 *
 * Contract: 0 or negative errno with a message; never prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/rebuild_plan.h"
#include "common/buf.h"
#include "fs/root.h"

/* What happens to a rebuild step, in this order: START, then LINE and TICK events as they come,
 * then DONE. */
typedef enum vt_rebuild_event {
        VT_REBUILD_START, /* the step starts */
        VT_REBUILD_LINE,  /* the tool printed `line` */
        VT_REBUILD_TICK,  /* every VT_REBUILD_TICK_MS while the tool runs, printing or not */
        VT_REBUILD_DONE,  /* the step ended: `r`, `elapsed_ms`, and on failure `output` */
} vt_rebuild_event;

#define VT_REBUILD_TICK_MS 1000

typedef struct vt_rebuild_progress {
        vt_rebuild_event event;
        size_t step, n;   /* step of n, from 1 */
        const char *cmd;  /* the step's argv as one line (common/argv.h) */
        const char *line; /* LINE: the line, without its newline; otherwise NULL */
        long elapsed_ms;  /* TICK, DONE: the time since the step started */
        int r;            /* DONE: 0 or the step's negative errno */
        /* DONE with r < 0: everything the tool printed, stdout and stderr in its order (as
         * engine/runner.h keeps it: at most 8 MiB, the newest part of a longer one), so the caller
         * can show the failure whole; the error message keeps only the end. Otherwise NULL, 0. */
        const char *output;
        size_t output_len;
} vt_rebuild_progress;

typedef void vt_rebuild_progress_fn(void *userdata, const vt_rebuild_progress *p);

typedef struct vt_rebuild_ctx {
        const vt_root *root;
        bool chroot;                      /* run the tools inside the root (else from PATH) */
        int timeout_ms;                   /* per step; 0: none */
        vt_rebuild_progress_fn *progress; /* may be NULL */
        void *userdata;
} vt_rebuild_ctx;

int vt_rebuild_run(const vt_rebuild_ctx *ctx, const vt_rebuild_plan *plan, vt_buf *record);
