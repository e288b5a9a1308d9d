#include "engine/op_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/snapshot_archive.h"

int vt_op_import(const vt_op_env *env, const vt_op_ui *ui, const vt_op_import_req *req,
                 vt_op_restore_result *res)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        _cleanup_free_ char *summary = NULL;
        vt_engine e;
        int r;

        *res = (vt_op_restore_result){0};
        /* Everything about the archive is checked before the journal is even opened. */
        r = vt_read_file(req->file, &data);
        if (r >= 0)
                r = vt_snapshot_archive_read(data.ptr, data.len, req->file, &target);
        if (r >= 0 && target.n == 0)
                r = vt_error_set(EBADMSG, "%s: the snapshot lists no files", req->file);
        if (r < 0)
                return r;
        if (asprintf(&summary, "import %s", req->file) < 0)
                return -ENOMEM;
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r >= 0) {
                vt_op_restore_req restore = {.kind = "import",
                                             .summary = summary,
                                             .question = "Import these changes?",
                                             .yes = req->yes,
                                             .no_rebuild = req->no_rebuild};

                r = vt_op_restore(&e, env, ui, &target, &restore, res);
        }
        vt_engine_close(&e);
        return r;
}
