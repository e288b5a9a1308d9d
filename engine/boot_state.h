/* The engine's part of the state file (journal/state.h stores it without reading it): the
 * boot-counted trial of the applied snapshot (docs/bootcount.md) and whether the boot artifacts
 * lag behind the files. Kept in the state file so that it changes at the journal's commit
 * points; its JSON is the state file's "pending_rebuild" and "trial" members and the intent's
 * "rebuild" (docs/design.md).
 *
 * Contract: 0 or negative errno with a message; decoding absent data gives the zero value. */
#pragma once

#include <stdbool.h>

#include "fs/root.h"
#include "journal/state.h"

typedef enum vt_trial {
        VT_TRIAL_NONE = 0,    /* no trial: the applied snapshot is good, or not armed */
        VT_TRIAL_ARMED,       /* armed in grubenv, not booted yet */
        VT_TRIAL_TRYING,      /* booted as a trial, waiting for confirmation */
        VT_TRIAL_MARKED_BAD,  /* health check failed or deadline passed: the next boot falls back */
        VT_TRIAL_ROLLED_BACK, /* the last good snapshot was restored; `trial_reason` says why */
} vt_trial;

typedef struct vt_boot_state {
        /* a rebuild the files need and that has not run (--no-rebuild) */
        bool pending_rebuild;
        /* phase APPLYING: rebuild steps run between the file writes and the commit */
        bool intent_rebuild;
        vt_trial trial;
        long trial_txn;        /* the transaction on trial */
        unsigned trial_tries;  /* tries when armed */
        char trial_reason[96]; /* MARKED_BAD / ROLLED_BACK: why */
} vt_boot_state;

/* "none", "armed", "trying", "marked-bad", "rolled-back". */
const char *vt_trial_name(vt_trial t);

/* From / into the user data of a state (st->data, st->intent_data). */
int vt_boot_state_decode(const vt_state *st, vt_boot_state *out);
int vt_boot_state_encode(const vt_boot_state *b, vt_state *st);

/* vt_state_read() and the decoding of the engine's part. */
int vt_boot_state_read(const vt_root *root, vt_state *st, vt_boot_state *out);
/* The encoding of the engine's part into `st`, and vt_state_write(). */
int vt_boot_state_write(const vt_root *root, vt_state *st, const vt_boot_state *b);
