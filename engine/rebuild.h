/* The rebuild steps of a transaction (issue: rebuild inside the transaction): plan them from
 * the paths whose bytes change, run them, and verify what they built.
 *
 * vt_rebuild_make(): takes the initramfs generator, the kernels and the boot path from the
 * operation's facts (engine/facts.h: backends/rebuild_plan.h, backends/bootloader.h) and derives
 * the minimum set of steps.
 *
 * vt_rebuild_run(): runs the steps (engine/rebuild_run.h, which vfiotx-rescue links too).
 *
 * vt_rebuild_verify(): reads back what the steps built (the kernels' module lists from the same
 * facts, which a rebuild does not change): each initramfs (libarchive) must hold the
 * vfio modules (or have them built in) and vfiotx's modprobe.d files byte-equal to the target
 * snapshot (absent ones must be absent); grub.cfg / loader entries must carry the wanted words
 * and none of the unwanted. Findings make it fail with -EBADMSG and a message listing them.
 *
 * Contract: 0 or negative errno with a message; the engine never prints. */
#pragma once

#include <stdbool.h>

#include "backends/edit.h"
#include "backends/rebuild_plan.h"
#include "common/buf.h"
#include "engine/facts.h"
#include "engine/rebuild_run.h"
#include "fs/root.h"
#include "journal/snapshot.h"

int vt_rebuild_make(vt_facts *facts, const char *const *changed, size_t n_changed,
                    vt_rebuild_plan *out);

typedef struct vt_rebuild_expect {
        const vt_snapshot *files;        /* the files as the transaction leaves them */
        bool vfio_modules;               /* the initramfs must load vfio (devices are bound) */
        const char *const *words_wanted; /* on the kernel command line */
        size_t n_wanted;
        const char *const *words_unwanted;
        size_t n_unwanted;
        bool grub_counter; /* grub.cfg must hold vfiotx's boot counter (a trial is armed) */
} vt_rebuild_expect;

int vt_rebuild_verify(vt_facts *facts, const vt_rebuild_plan *plan, const vt_rebuild_expect *expect,
                      vt_buf *report);
