/* The export operation (`vfiotx export [TXN]`): a snapshot of the journal as an archive.
 *
 * The snapshot is the applied one (the journal head), or with `which` the transaction it names
 * (vt_journal_find(): a number or 4+ hex digits of its commit); the archive is
 * engine/snapshot_archive.h's (a zstd-compressed tar with owners, modes, xattrs and the
 * manifest), dated with the transaction's time. Where it goes is the caller's business.
 *
 * Contract: 0 or negative errno with a message; never prints; the engine is opened for reading.
 * A host vfiotx never changed is -ENOENT with a hint. res->archive must be freed (also on
 * failure). */
#pragma once

#include <stddef.h>

#include "engine/op.h"

typedef struct vt_op_export_result {
        long txn;       /* the transaction exported */
        size_t n_files; /* the paths its snapshot lists */
        vt_buf archive;
} vt_op_export_result;

int vt_op_export(const vt_op_env *env, const vt_op_ui *ui, const char *which,
                 vt_op_export_result *res);
