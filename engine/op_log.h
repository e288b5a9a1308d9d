/* The history operations (`vfiotx log`, `vfiotx show`): the journal's entries, read-only.
 *
 * vt_op_log(): the first-parent history from the journal head, newest first, at most req->max
 * entries (negative: all); with req->patch each entry's diff. vt_op_show(): one entry, named by
 * number or by 4+ hex digits of its commit (vt_journal_find()), always with its diff.
 *
 * An entry's diff is what the transaction made: against its first parent; for a failed or
 * undone transaction (two parents), what it attempted (its second parent) against the state
 * before it, headed "attempted changes (not in effect):". The first entry has none.
 *
 * Contract: 0 or negative errno with a message; never prints; the engine is opened for reading.
 * A journal that is not there (vfiotx never changed the host) is an empty log (res->empty) and,
 * for show, -ENOENT. When reading fails part-way, vt_op_log() returns the error with the
 * entries read until then (the caller may show them first). Free with
 * vt_op_log_result_free() / vt_op_log_entry_free(), also on failure. */
#pragma once

#include <stdbool.h>

#include "engine/op.h"

typedef struct vt_op_log_entry {
        vt_oid commit;
        vt_txn_info info;
        vt_buf diff; /* empty when not asked for, or nothing changed */
} vt_op_log_entry;

typedef struct vt_op_log_req {
        bool patch; /* each entry's diff */
        long max;   /* at most this many entries; negative: all */
} vt_op_log_req;

typedef struct vt_op_log_result {
        bool empty; /* no journal yet */
        vt_op_log_entry *items;
        size_t n;
} vt_op_log_result;

int vt_op_log(const vt_op_env *env, const vt_op_ui *ui, const vt_op_log_req *req,
              vt_op_log_result *res);
void vt_op_log_result_free(vt_op_log_result *res);

int vt_op_show(const vt_op_env *env, const vt_op_ui *ui, const char *which, vt_op_log_entry *res);
void vt_op_log_entry_free(vt_op_log_entry *entry);
