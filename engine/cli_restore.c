/* Restoring a whole snapshot as a transaction (rollback, import): the files the journal manages
 * that the snapshot does not list did not exist then and are removed; the diff is shown and
 * confirmed; the rebuild steps run inside the transaction unless --no-rebuild. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/cli.h"
#include "journal/diff.h"

int vt_cli_restore(vt_cli *cli, vt_engine *e, vt_snapshot *target, const vt_cli_restore_opts *o,
                   long *txn)
{
        _cleanup_snapshot_ vt_snapshot head = {0}, disk = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, diff = VT_BUF_INIT;
        _cleanup_free_ const char **paths = NULL;
        vt_txn_request req = {.kind = o->kind, .summary = o->summary};
        vt_cli_rebuild rb = {0};
        int r;

        *txn = 0;
        r = vt_engine_head(e, &head, NULL);
        for (size_t i = 0; r >= 0 && i < head.n; i++)
                if (!vt_snapshot_find(target, head.files[i].path))
                        r = vt_snapshot_put(target, head.files[i].path, NULL, 0, NULL);
        if (r >= 0 && !(paths = calloc(target->n + 1, sizeof(*paths))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < target->n; i++)
                paths[i] = target->files[i].path;
        if (r >= 0)
                r = vt_engine_capture(e, paths, &disk);
        if (r >= 0)
                r = vt_diff_snapshots(&disk, target, &diff);
        if (r < 0)
                return r;
        if (!o->no_rebuild) {
                r = vt_cli_rebuild_prepare(cli, &e->root, &disk, target, e->boot.pending_rebuild,
                                           &rb);
                if (r < 0)
                        goto out;
        }
        /* Nothing to write, and nothing pending that vfiotx could rebuild. */
        if (diff.len == 0 && rb.plan.n == 0) {
                vt_cli_info(cli, "nothing to do: the files already match %s\n", o->what);
                goto out;
        }
        if (cli->verbosity >= 0 && !cli->json && diff.len)
                printf("%s", diff.ptr);
        if (!o->no_rebuild)
                vt_cli_rebuild_show(cli, &rb);
        if (!o->yes && !vt_cli_confirm(cli, o->question)) {
                r = vt_error_hint(vt_error_set(ECANCELED, "nothing changed: no confirmation"),
                                  "pass -y to go ahead without asking (stdin is not a "
                                  "terminal, or the answer was not yes)");
                goto out;
        }
        req.pending_rebuild = o->no_rebuild;
        if (!o->no_rebuild)
                vt_cli_rebuild_attach(&rb, &req);
        r = vt_engine_transact(e, &req, target, txn, &notes);
        vt_cli_notes(cli, notes.ptr);
        if (r >= 0 && *txn == 0 && rb.plan.n) {
                /* The files already match; only the artifacts were behind. */
                r = vt_rebuild_run(&rb.ctx, &rb.plan, NULL);
                if (r >= 0)
                        r = vt_rebuild_verify(&e->root, &rb.plan, &rb.expect, &rb.report);
                if (r >= 0)
                        r = vt_engine_set_pending_rebuild(e, false);
                if (r >= 0)
                        vt_cli_info(cli, "the pending rebuild is complete\n");
        }
        if (r >= 0 && o->no_rebuild && *txn)
                vt_cli_info(cli, "the initramfs and boot configuration were not rebuilt "
                                 "(--no-rebuild): 'vfiotx apply' completes it\n");
        else if (r >= 0 && rb.plan.n)
                vt_cli_info(cli, "rebuilt and verified: %zu step%s\n", rb.plan.n,
                            rb.plan.n > 1 ? "s" : "");
out:
        vt_cli_rebuild_free(&rb);
        return r;
}
