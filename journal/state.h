/* The state file <root>/var/lib/vfiotx/state: the commit point of every transaction.
 *
 * It is small JSON replaced atomically (journal/atomic_file.h). Writing phase "applying" with
 * the before and target snapshots is the intent: from then on, recovery knows which files may
 * be half-way. Writing phase "idle" with the new head is the commit: from then on, the
 * transaction has happened, whatever the refs say; refs are brought in line on recovery.
 *
 * Contract: 0 or negative errno with a message; a missing file reads as an empty state
 * (never used journal) and returns 0 with `exists` false. */
#pragma once

#include <stdbool.h>

#include "journal/oid.h"
#include "journal/root.h"

#define VT_STATE_PATH "/var/lib/vfiotx/state"

typedef enum vt_phase {
        VT_PHASE_IDLE = 0,
        VT_PHASE_APPLYING, /* files between `before` and `target` */
} vt_phase;

/* The boot-counted trial of the applied snapshot (docs/bootcount.md). */
typedef enum vt_trial {
        VT_TRIAL_NONE = 0,    /* no trial: the applied snapshot is good, or not armed */
        VT_TRIAL_ARMED,       /* armed in grubenv, not booted yet */
        VT_TRIAL_TRYING,      /* booted as a trial, waiting for confirmation */
        VT_TRIAL_MARKED_BAD,  /* health check failed or deadline passed: the next boot falls back */
        VT_TRIAL_ROLLED_BACK, /* the last good snapshot was restored; `trial_reason` says why */
} vt_trial;

typedef struct vt_state {
        bool exists;
        vt_phase phase;
        long txn;    /* last transaction number used */
        vt_oid head; /* the applied snapshot (journal head) */
        vt_oid good; /* the last good snapshot */
        bool has_good;
        /* phase APPLYING: */
        long intent_txn;
        char intent_kind[32]; /* apply, rollback */
        vt_oid before, target;
        bool intent_rebuild; /* rebuild steps run between the file writes and the commit */
        /* a rebuild the files need and that has not run (--no-rebuild) */
        bool pending_rebuild;
        vt_trial trial;
        long trial_txn;        /* the transaction on trial */
        unsigned trial_tries;  /* tries when armed */
        char trial_reason[96]; /* MARKED_BAD / ROLLED_BACK: why */
} vt_state;

int vt_state_read(const vt_root *root, vt_state *out);
int vt_state_write(const vt_root *root, const vt_state *st);
const char *vt_phase_name(vt_phase p);
/* "none", "armed", "trying", "marked-bad", "rolled-back". */
const char *vt_trial_name(vt_trial t);
