/* The state file <root>/var/lib/vfiotx/state: the commit point of every transaction.
 *
 * It is small JSON replaced atomically (fs/atomic_file.h). Writing phase "applying" with
 * the before and target snapshots is the intent: from then on, recovery knows which files may
 * be half-way. Writing phase "idle" with the new head is the commit: from then on, the
 * transaction has happened, whatever the refs say; refs are brought in line on recovery.
 *
 * Contract: 0 or negative errno with a message; a missing file reads as an empty state
 * (never used journal) and returns 0 with `exists` false; user data that does not fit its
 * buffer is -E2BIG, on reading and on writing. */
#pragma once

#include <stdbool.h>

#include "fs/root.h"
#include "journal/oid.h"

#define VT_STATE_PATH            "/var/lib/vfiotx/state"
#define VT_STATE_DATA_MAX        1024
#define VT_STATE_INTENT_DATA_MAX 128
/* The largest transaction number a state file may hold (a million a day for a thousand years
 * is below it); a larger one, or a negative one, is read as damage (-EBADMSG). */
#define VT_TXN_MAX 999999999999L

typedef enum vt_phase {
        VT_PHASE_IDLE = 0,
        VT_PHASE_APPLYING, /* files between `before` and `target` */
} vt_phase;

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
        /* The journal's user keeps its own fields in the state file, so that they change at the
         * same commit points as the journal's. The journal stores them without reading them: each
         * is the text of a JSON object ("" for none) whose members are written in their order,
         * `data`'s after the journal's top-level members and before the intent, `intent_data`'s
         * inside the intent after its kind. Reading puts every member the journal does not know
         * there. */
        char data[VT_STATE_DATA_MAX];
        char intent_data[VT_STATE_INTENT_DATA_MAX];
} vt_state;

int vt_state_read(const vt_root *root, vt_state *out);
int vt_state_write(const vt_root *root, const vt_state *st);
const char *vt_phase_name(vt_phase p);
