#include "engine/op_export.h"

#include <errno.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/snapshot_archive.h"

int vt_op_export(const vt_op_env *env, const vt_op_ui *ui, const char *which,
                 vt_op_export_result *res)
{
        _cleanup_snapshot_ vt_snapshot snap = {0};
        vt_txn_info info = {0};
        vt_oid oid;
        vt_engine e;
        int r;

        *res = (vt_op_export_result){.archive = VT_BUF_INIT};
        r = vt_op_open(&e, env, VT_ENGINE_READ, ui);
        if (r >= 0 && (!e.have_journal || !e.state.exists))
                r = vt_error_hint(vt_error_set(ENOENT,
                                               "nothing to export: vfiotx has no journal on %s",
                                               env->root),
                                  "the journal starts with the first 'vfiotx apply'");
        if (r >= 0) {
                if (which)
                        r = vt_journal_find(e.journal, which, &oid);
                else
                        oid = e.state.head;
        }
        if (r >= 0)
                r = vt_journal_load(e.journal, &oid, &snap, &info);
        if (r >= 0)
                r = vt_snapshot_archive_write(&snap, info.time, &res->archive);
        if (r >= 0) {
                res->txn = info.id;
                res->n_files = snap.n;
        }
        vt_txn_info_free(&info);
        vt_engine_close(&e);
        return r;
}
