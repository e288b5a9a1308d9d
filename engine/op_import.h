/* The import operation (`vfiotx import FILE`): a snapshot archive made by `vfiotx export`
 * restored as a new transaction of kind "import" (vt_op_restore(), summary "import FILE").
 *
 * Everything about the archive is checked before the journal is even opened
 * (engine/snapshot_archive.h's reader; an archive that lists no file is refused with
 * -EBADMSG), so a bad archive leaves the host and the journal untouched.
 *
 * Contract: 0 or negative errno with a message; never prints; the question, the diff and the
 * rebuild steps go through the ui as for any restore. */
#pragma once

#include <stdbool.h>

#include "engine/op_restore.h"

typedef struct vt_op_import_req {
        const char *file; /* the archive */
        bool yes, no_rebuild;
} vt_op_import_req;

int vt_op_import(const vt_op_env *env, const vt_op_ui *ui, const vt_op_import_req *req,
                 vt_op_restore_result *res);
