#include "engine/rebuild_run.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/argv.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/boot_fs.h"
#include "engine/runner.h"

typedef struct step_ctx {
        const vt_rebuild_ctx *ctx;
        size_t step, n;
        const char *cmd;
} step_ctx;

static void report(const step_ctx *sc, vt_rebuild_progress p)
{
        p.step = sc->step;
        p.n = sc->n;
        p.cmd = sc->cmd;
        sc->ctx->progress(sc->ctx->userdata, &p);
}

static void on_line(const char *line, size_t len, void *userdata)
{
        const step_ctx *sc = userdata;

        /* The runner hands a NUL-terminated line; a NUL inside it ends it early, which is as
         * much as a terminal would show. */
        (void)len;
        report(sc, (vt_rebuild_progress){.event = VT_REBUILD_LINE, .line = line});
}

static void on_tick(long elapsed_ms, void *userdata)
{
        report(userdata, (vt_rebuild_progress){.event = VT_REBUILD_TICK, .elapsed_ms = elapsed_ms});
}

int vt_rebuild_run(const vt_rebuild_ctx *ctx, const vt_rebuild_plan *plan, vt_buf *record)
{
        json_object *steps = json_object_new_array();
        int r = 0;

        for (size_t i = 0; i < plan->n && r >= 0; i++) {
                const vt_rebuild_step *s = &plan->steps[i];
                _cleanup_buf_ vt_buf cmd = VT_BUF_INIT;
                step_ctx sc = {ctx, i + 1, plan->n, NULL};
                vt_run_opts opts = {0};
                vt_run_result res = {0};
                json_object *o = json_object_new_object();

                vt_argv_format((const char *const *)s->argv, &cmd);
                sc.cmd = vt_buf_cstr(&cmd);
                opts.chroot = ctx->chroot ? ctx->root->path : NULL;
                opts.env = (const char *const *)s->env;
                opts.timeout_ms = ctx->timeout_ms;
                if (ctx->progress) {
                        opts.on_line = on_line;
                        opts.on_tick = on_tick;
                        opts.tick_ms = VT_REBUILD_TICK_MS;
                        opts.userdata = &sc;
                        report(&sc, (vt_rebuild_progress){.event = VT_REBUILD_START});
                }
                r = vt_run((const char *const *)s->argv, &opts, &res);
                if (ctx->progress)
                        report(&sc, (vt_rebuild_progress){
                                        .event = VT_REBUILD_DONE,
                                        .r = r,
                                        .elapsed_ms = res.elapsed_ms,
                                        .output = r < 0 ? vt_buf_cstr(&res.output) : NULL,
                                        .output_len = r < 0 ? res.output.len : 0,
                                    });
                json_object_object_add(o, "command", json_object_new_string(sc.cmd));
                json_object_object_add(o, "exit", json_object_new_int(res.exit_code));
                if (res.term_sig)
                        json_object_object_add(o, "signal", json_object_new_int(res.term_sig));
                json_object_object_add(o, "timed_out", json_object_new_boolean(res.timed_out));
                json_object_object_add(o, "ms", json_object_new_int64(res.elapsed_ms));
                if (r < 0)
                        json_object_object_add(o, "output",
                                               json_object_new_string(vt_buf_cstr(&res.output)));
                json_object_array_add(steps, o);
                if (r < 0)
                        vt_error_wrap(r, "rebuild step %zu/%zu (%s)", i + 1, plan->n,
                                      s->description);
                vt_run_result_free(&res);
        }
        /* What the steps wrote under /boot (initramfs, grub.cfg, entries) must be where the
         * bootloader reads it before the caller writes its commit point. */
        if (r >= 0 && plan->n)
                r = vt_boot_fs_flush_all(ctx->root, steps);
        if (record)
                vt_buf_set(record, json_object_to_json_string(steps),
                           strlen(json_object_to_json_string(steps)));
        json_object_put(steps);
        return r;
}
