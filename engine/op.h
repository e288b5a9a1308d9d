/* Engine operations: the use cases (apply, restore, complete a pending rebuild, ...) as a
 * library the CLI calls. An operation takes a request, returns a result the CLI renders, and
 * never prints: what happens while it runs (notes, the diff, the rebuild steps and their
 * progress) and the one question it may ask reach the caller through a vt_op_ui callback table.
 * `vfiotx boot` (no terminal) passes a table whose confirm is NULL: the operation never asks.
 *
 * vt_op_open(): the one way an operation opens the engine: the root, and for writing the lock,
 * the journal and the recovery of an interrupted transaction, then of an interrupted or expired
 * `vfiotx try` (vt_try_recover(), engine/op_try.h); the recovery notes go to ui->notes.
 *
 * Facts: an operation reads the host once (engine/facts.h): it makes one vt_facts after opening
 * the engine and hands it to the plan, the trial check and the rebuild, which keeps a pointer
 * to it (the facts must outlive the vt_op_rebuild).
 *
 * The rebuild of one transaction (vt_op_rebuild): planned from the paths whose bytes change
 * between `disk` and `target` (every path with `everything`, for a pending rebuild), run and
 * verified inside the transaction through the hooks vt_op_rebuild_attach() sets, progress
 * reported through ui->progress. vt_op_complete_rebuild() finishes a pending rebuild when the
 * files already match (run, verify, clear the state's flag): every caller uses it.
 *
 * Contract: 0 or negative errno with a message (common/error.h); never prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/rebuild_plan.h"
#include "engine/engine.h"
#include "engine/facts.h"
#include "engine/rebuild.h"

struct vt_plan;

/* The host an operation works on (the CLI's global options). */
typedef struct vt_op_env {
        const char *root;      /* the host's / */
        const char *sysfs;     /* a /sys tree */
        const char *proc;      /* a /proc tree */
        const char *cmdline;   /* recorded in journal entries */
        bool no_chroot;        /* run rebuild tools from PATH, not chrooted in root */
        int rebuild_timeout_s; /* time limit of one rebuild step */
} vt_op_env;

/* Every callback may be NULL (nothing shown; confirm NULL: never asks, the answer is no). */
typedef struct vt_op_ui {
        /* What the engine tells the user as it happens (recovery, drift, trial). */
        void (*notes)(void *userdata, const char *text);
        /* A warning the user must see even with -q (a fallback boot). */
        void (*warning)(void *userdata, const char *text);
        /* The plan apply is about to carry out (engine/plan.h), with the unified diff of the
         * files it changes ("" when none). */
        void (*show_plan)(void *userdata, const struct vt_plan *plan, const char *diff);
        /* The unified diff of the files about to change (only when something changes). */
        void (*show_diff)(void *userdata, const char *diff);
        /* The same change as the two snapshots, disk and target, for a report file by file
         * (--json); called with show_plan and show_diff. */
        void (*show_files)(void *userdata, const vt_snapshot *disk, const vt_snapshot *target);
        /* The rebuild steps about to run (plan->n may be 0: nothing to rebuild). */
        void (*show_rebuild)(void *userdata, const vt_rebuild_plan *plan);
        /* A rebuild step starts, prints a line, is still running (a tick a second) or ends
         * (engine/rebuild_run.h). */
        vt_rebuild_progress_fn *progress;
        /* The rebuild failed: the files are being put back and rebuilt for. */
        void (*undoing)(void *userdata);
        /* Ask a yes/no question; true to go ahead. */
        bool (*confirm)(void *userdata, const char *question);
        void *userdata;
} vt_op_ui;

/* Hand `notes` to ui->notes (when non-empty) and clear it. */
void vt_op_notes(const vt_op_ui *ui, vt_buf *notes);

int vt_op_open(vt_engine *e, const vt_op_env *env, unsigned flags, const vt_op_ui *ui);

typedef struct vt_op_rebuild {
        const vt_op_ui *ui;
        vt_facts *facts; /* the operation's, kept for verification */
        vt_rebuild_ctx ctx;
        vt_rebuild_plan plan;
        vt_rebuild_expect expect;
        vt_buf report;
} vt_op_rebuild;

int vt_op_rebuild_prepare(const vt_op_env *env, const vt_op_ui *ui, vt_facts *facts,
                          const vt_snapshot *disk, const vt_snapshot *target, bool everything,
                          vt_op_rebuild *rb);
/* Set the transaction's rebuild hooks (none when the plan is empty). */
void vt_op_rebuild_attach(vt_op_rebuild *rb, vt_txn_request *req);
void vt_op_rebuild_free(vt_op_rebuild *rb);

/* The files match; only the boot artifacts were behind: run and verify the steps, then clear
 * the pending rebuild. */
int vt_op_complete_rebuild(vt_engine *e, vt_op_rebuild *rb);
