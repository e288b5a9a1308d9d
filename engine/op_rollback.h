/* The rollback operation (`vfiotx rollback [TXN]`): which snapshot to go back to, and the
 * rescue when the journal cannot be read.
 *
 * The snapshot is the last good one (refs/vfiotx/good, the state's `good`), or with req->which
 * the transaction it names (vt_journal_find(): a number or 4+ hex digits of its commit); it is
 * restored as a new transaction of kind "rollback" through vt_op_restore(), whose result is
 * returned in res->restore.
 *
 * When the journal or the state file is damaged (opening the engine gives -EBADMSG) and no
 * TXN was named, the plain copy of the last good snapshot is restored instead
 * (vt_engine_rescue_from_copy(): the damaged journal is set aside and a new one started). The
 * reason and the fallback are announced through ui->warning, and the question is asked
 * unless req->yes; res->rescued is set when the rescue ran.
 *
 * Contract: 0 or negative errno with a message; never prints; notes go to ui->notes. Nothing
 * to roll back (vfiotx never changed the host) is -ENOENT. */
#pragma once

#include <stdbool.h>

#include "engine/op_restore.h"

typedef struct vt_op_rollback_req {
        const char *which; /* a transaction (number or commit prefix); NULL: the last good */
        bool yes, no_rebuild;
} vt_op_rollback_req;

typedef struct vt_op_rollback_result {
        bool rescued;                 /* the journal was damaged: the plain copy was restored */
        long target_txn;              /* the transaction whose snapshot was restored */
        vt_op_restore_result restore; /* the restore (not with rescued) */
} vt_op_rollback_result;

int vt_op_rollback(const vt_op_env *env, const vt_op_ui *ui, const vt_op_rollback_req *req,
                   vt_op_rollback_result *res);
