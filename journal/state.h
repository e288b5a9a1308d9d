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

#include <git2.h>
#include <stdbool.h>

#include "journal/root.h"

#define VT_STATE_PATH "/var/lib/vfiotx/state"

typedef enum vt_phase {
        VT_PHASE_IDLE = 0,
        VT_PHASE_APPLYING, /* files between `before` and `target` */
} vt_phase;

typedef struct vt_state {
        bool exists;
        vt_phase phase;
        long txn;     /* last transaction number used */
        git_oid head; /* the applied snapshot (journal head) */
        git_oid good; /* the last good snapshot */
        bool has_good;
        /* phase APPLYING: */
        long intent_txn;
        char intent_kind[32]; /* apply, rollback */
        git_oid before, target;
        bool intent_rebuild; /* rebuild steps run between the file writes and the commit */
        /* a rebuild the files need and that has not run (--no-rebuild) */
        bool pending_rebuild;
} vt_state;

int vt_state_read(const vt_root *root, vt_state *out);
int vt_state_write(const vt_root *root, const vt_state *st);
const char *vt_phase_name(vt_phase p);
