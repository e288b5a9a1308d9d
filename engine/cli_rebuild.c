/* The CLI side of the rebuild steps: plan them for a transaction, show them, stream their
 * progress, and hand the engine the hooks that run and verify them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/cli.h"

static void progress(void *userdata, size_t step, size_t n, const char *cmd, const char *line,
                     bool done, long elapsed_ms)
{
        const vt_cli_rebuild *rb = userdata;

        if (rb->cli->verbosity < 0 || rb->cli->json)
                return;
        if (line) {
                if (rb->cli->verbosity > 0)
                        printf("      %s\n", line);
                return;
        }
        if (!done)
                printf("[%zu/%zu] %s ...\n", step, n, cmd);
        else
                printf("[%zu/%zu] %s (%.1f s)\n", step, n, cmd, (double)elapsed_ms / 1000.0);
        fflush(stdout);
}

static int run(void *userdata, vt_buf *record)
{
        vt_cli_rebuild *rb = userdata;
        int r = vt_rebuild_run(&rb->ctx, &rb->plan, record);

        if (r < 0)
                return r;
        vt_buf_clear(&rb->report);
        return vt_rebuild_verify(rb->ctx.root, &rb->plan, &rb->expect, &rb->report);
}

static int undo(void *userdata, vt_buf *record)
{
        vt_cli_rebuild *rb = userdata;

        if (rb->cli->verbosity >= 0 && !rb->cli->json)
                printf("putting the files back and rebuilding for them:\n");
        return vt_rebuild_run(&rb->ctx, &rb->plan, record);
}

int vt_cli_rebuild_prepare(const vt_cli *cli, const vt_root *root, const vt_snapshot *disk,
                           const vt_snapshot *target, bool everything, vt_cli_rebuild *rb)
{
        _cleanup_free_ const char **changed = calloc(disk->n + target->n + 1, sizeof(char *));
        size_t n = 0;

        *rb = (vt_cli_rebuild){.cli = cli};
        if (!changed)
                return -ENOMEM;
        /* The paths whose bytes change; with a pending rebuild, every managed path. */
        for (size_t i = 0; i < target->n; i++) {
                const vt_snap_file *now = vt_snapshot_find(disk, target->files[i].path);

                if (everything || !now || !vt_snap_file_equal(now, &target->files[i]))
                        changed[n++] = target->files[i].path;
        }
        for (size_t i = 0; everything && i < disk->n; i++)
                if (!vt_snapshot_find(target, disk->files[i].path))
                        changed[n++] = disk->files[i].path;
        rb->ctx.root = root;
        rb->ctx.chroot = !cli->no_chroot && strcmp(root->path, "/") != 0;
        rb->ctx.timeout_ms = cli->rebuild_timeout_s * 1000;
        rb->ctx.progress = progress;
        rb->ctx.userdata = rb;
        rb->expect.files = target;
        return vt_rebuild_make(root, changed, n, &rb->plan);
}

void vt_cli_rebuild_attach(vt_cli_rebuild *rb, vt_txn_request *req)
{
        if (rb->plan.n == 0)
                return;
        req->rebuild = run;
        req->rebuild_undo = undo;
        req->userdata = rb;
}

void vt_cli_rebuild_show(const vt_cli *cli, const vt_cli_rebuild *rb)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;

        if (cli->verbosity < 0 || cli->json)
                return;
        if (rb->plan.n == 0) {
                printf("rebuild: nothing to rebuild\n");
        } else if (vt_rebuild_plan_describe(&rb->plan, &text) >= 0) {
                printf("rebuild steps:\n%s", vt_buf_cstr(&text));
        }
        if (rb->plan.notes.len)
                printf("%s", rb->plan.notes.ptr);
}

void vt_cli_rebuild_free(vt_cli_rebuild *rb)
{
        vt_rebuild_plan_free(&rb->plan);
        vt_buf_free(&rb->report);
}
