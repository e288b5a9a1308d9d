/* The transaction engine: makes a set of file edits one transaction over the journal.
 *
 * vt_engine_open(): opens the root; for writing it takes the lock, opens (or creates) the
 * journal, removes stale git locks and temporary files, and recovers an interrupted
 * transaction: if the state file says "applying", either every file already has its target
 * bytes (the transaction is finished: state committed, refs moved) or every file is put back
 * to the before snapshot and the journal records the transaction as undone — never a mix.
 * If the state is committed but refs lag behind, the refs are moved.
 *
 * vt_engine_transact(): the one way files change.
 *   1. capture the disk for every managed path plus the target's paths; if it differs from the
 *      journal head (files edited by hand, or files vfiotx starts managing), that is committed
 *      first as its own "drift" entry, so nothing a user wrote is lost;
 *   2. the target snapshot = head + the target's files; equal to the disk -> nothing to do
 *      (no transaction is written);
 *   3. commit the target (refs/vfiotx/pending keeps it reachable), write the intent to the
 *      state file, replace each file atomically, then write the state file again: the commit
 *      point; then move refs/heads/journal (compare-and-swap) and drop the pending ref;
 *   4. a failure while writing puts every file back, records a "failed" entry (its tree is the
 *      before snapshot, its second parent the attempted one) and returns the error.
 * With rebuild steps (req->rebuild), the intent says so: a crash while they run is always
 * undone on recovery (the artifacts may be half-built) and leaves a pending rebuild.
 * A path absent from a snapshot's manifest is absent in that snapshot.
 *
 * Contract: 0 or negative errno with a message (common/error.h); the engine never prints;
 * what the CLI should tell the user about recovery is appended to `notes`. */
#pragma once

#include <stdbool.h>

#include "common/buf.h"
#include "engine/boot_state.h"
#include "fs/root.h"
#include "journal/journal.h"
#include "journal/snapshot.h"
#include "journal/state.h"

typedef struct vt_engine {
        vt_root root;
        vt_journal *journal; /* NULL until opened */
        vt_state state;
        vt_boot_state boot; /* the engine's part of the state file, written with `state` */
        int lock_fd;
        bool writable;
        bool have_journal; /* a journal exists and could be opened */
        const char *argv;  /* the command line, recorded in each entry */
        const char *sysfs; /* the /sys tree (EFI variables of the systemd-boot counter) */
} vt_engine;

enum {
        VT_ENGINE_READ = 0,
        VT_ENGINE_WRITE = 1 << 0,
};

int vt_engine_open(vt_engine *e, const char *root, unsigned flags, const char *argv, vt_buf *notes);
void vt_engine_close(vt_engine *e);
/* How long vt_engine_open() waits for another vfiotx holding the lock (default 60 s). */
void vt_engine_set_lock_timeout(int ms);

/* The snapshot the journal head records (empty when there is no journal yet). */
int vt_engine_head(vt_engine *e, vt_snapshot *out, vt_txn_info *info);

/* Complete `target` (a snapshot to restore, often older than the head) with every path the
 * head manages that it does not list, as the journal first recorded it: absent when vfiotx
 * created the file later (the snapshot before that lists it absent), its bytes as found when
 * vfiotx started managing a file that was already there (issue 14, 18: restoring an older
 * snapshot must never delete a user's file it simply did not know yet). Rollback and the
 * fallback boot call it; an imported archive's unlisted paths stay absent (vt_op_restore()). */
int vt_engine_complete_target(vt_engine *e, vt_snapshot *target);

/* Managed paths: those of the head snapshot plus `extra` (NULL-terminated, may be NULL).
 * Returns the current disk content of all of them in `out`. */
int vt_engine_capture(vt_engine *e, const char *const *extra, vt_snapshot *out);

/* Paths whose disk content differs from the head (drift), one per line in `out`. 1 when there
 * is drift, 0 when none. */
int vt_engine_drift(vt_engine *e, vt_buf *out);

typedef struct vt_txn_request {
        const char *kind;    /* "apply", "rollback" */
        const char *summary; /* one line */
        bool forced;
        const char *extra;    /* JSON object for meta.json, may be NULL */
        bool pending_rebuild; /* the files change but nothing is rebuilt (--no-rebuild) */
        /* Rebuild steps: run after every file is written and before the commit point, so a
         * failure puts the files back; `rebuild_undo` then runs the steps again for the
         * restored files, so the boot artifacts match them. `record` (JSON) goes into the
         * entry's metadata as "rebuild". A rebuild that completes clears a pending one. */
        int (*rebuild)(void *userdata, vt_buf *record);
        int (*rebuild_undo)(void *userdata, vt_buf *record);
        void *userdata;
} vt_txn_request;

/* Make the disk match `target` (only the paths it lists). *txn_out is the new transaction's
 * number, 0 when nothing had to change. */
int vt_engine_transact(vt_engine *e, const vt_txn_request *req, const vt_snapshot *target,
                       long *txn_out, vt_buf *notes);

/* The first entry, when there is none yet: an event that changes no file (a `vfiotx try` on a
 * host vfiotx never changed) is recorded on it. No path is managed yet, so it lists none; the
 * first transaction records the files it starts managing as found (vt_engine_transact()). */
int vt_engine_baseline(vt_engine *e);

/* A journal entry that changes no file (a trial transition): a commit of the head snapshot
 * with `info` (its id is set here), then the state file as it is in e->state, then the ref. */
int vt_engine_record(vt_engine *e, vt_txn_info *info);

/* A journal entry for files changed by something that could not write the journal itself
 * (vfiotx-rescue from the initramfs): commit what is on disk for every managed path as the new
 * head, with `kind` and `summary`, outcome "recorded", no file written. Unlike drift, the
 * entry is made even when the disk equals the head, so the event is never lost. */
int vt_engine_record_disk(vt_engine *e, const char *kind, const char *summary, const char *detail,
                          long *txn_out);

/* The head transaction's info (id 0 and no error when there is no journal yet). */
int vt_engine_head_info(vt_engine *e, vt_txn_info *out);
/* Write e->state as it is (fields set by the caller, e.g. the trial). */
int vt_engine_write_state(vt_engine *e);

/* Record that the boot artifacts do (not) reflect the files (state file). */
int vt_engine_set_pending_rebuild(vt_engine *e, bool pending);

/* Mark the applied snapshot good (refs/vfiotx/good, the plain-file copy, the state). */
int vt_engine_confirm(vt_engine *e, long *txn_out);

/* The journal is damaged: restore the plain-file copy of the last good snapshot, keep the
 * damaged journal aside, and start a new journal whose first entry records this. Needs no
 * working object store. */
int vt_engine_rescue_from_copy(const char *root, const char *argv, vt_buf *notes);
