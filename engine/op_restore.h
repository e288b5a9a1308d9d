/* The restore operation: make the disk hold a whole snapshot again, as one transaction.
 * rollback, import and the fallback restore at boot share it; the pending rebuild at boot is a
 * restore of the applied snapshot.
 *
 * Paths the journal manages that `target` does not list did not exist then and are made
 * absent (target is extended in place). The diff and the rebuild steps go to the ui, the
 * question is asked unless req->yes (a ui without confirm never goes ahead: -ECANCELED), the
 * rebuild steps run inside the transaction unless req->no_rebuild. When the files already
 * match but a rebuild is pending, only the rebuild runs (vt_op_complete_rebuild()).
 *
 * Contract: 0 or negative errno with a message; never prints; notes go to ui->notes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/op.h"

typedef struct vt_op_restore_req {
        const char *kind;     /* "rollback", "import", "fallback", "rebuild" */
        const char *summary;  /* for the journal */
        const char *question; /* "Roll back these changes?" */
        bool yes, no_rebuild;
} vt_op_restore_req;

typedef struct vt_op_restore_result {
        long txn;             /* the new transaction, 0 when no file changed */
        bool nothing_to_do;   /* the files matched and no rebuild was pending */
        bool rebuilt_pending; /* only a pending rebuild ran */
        size_t rebuild_steps; /* steps run (0 with no_rebuild) */
        bool no_rebuild;      /* the files changed and the rebuild was left pending */
} vt_op_restore_result;

int vt_op_restore(vt_engine *e, const vt_op_env *env, const vt_op_ui *ui, vt_snapshot *target,
                  const vt_op_restore_req *req, vt_op_restore_result *res);
