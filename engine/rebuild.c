#include "engine/rebuild.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootcount_grub.h"
#include "backends/bootloader.h"
#include "backends/early_modules.h"
#include "backends/initramfs_verify.h"
#include "backends/kernels.h"
#include "backends/modprobe.h"
#include "common/argv.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/boot_fs.h"
#include "engine/runner.h"

int vt_rebuild_make(vt_facts *facts, const char *const *changed, size_t n_changed,
                    vt_rebuild_plan *out)
{
        const vt_root *root = facts->root;
        const vt_rebuild_host *host;
        const vt_boot_info *boot;
        vt_boot_path path = {0};
        int r;

        *out = (vt_rebuild_plan){0};
        r = vt_facts_rebuild(facts, &host);
        if (r >= 0)
                r = vt_facts_boot(facts, &boot);
        if (r < 0)
                return r;
        vt_boot_path_of(root, boot, &path);
        vt_error_clear();
        return vt_rebuild_plan_make(host, &path, changed, n_changed, out);
}

typedef struct line_ctx {
        const vt_rebuild_ctx *ctx;
        size_t step, n;
        const char *cmd;
} line_ctx;

static void on_line(const char *line, size_t len, void *userdata)
{
        line_ctx *l = userdata;
        _cleanup_free_ char *copy = strndup(line, len);

        if (copy && l->ctx->progress)
                l->ctx->progress(l->ctx->userdata, l->step, l->n, l->cmd, copy, false, 0);
}

int vt_rebuild_run(const vt_rebuild_ctx *ctx, const vt_rebuild_plan *plan, vt_buf *record)
{
        json_object *steps = json_object_new_array();
        int r = 0;

        for (size_t i = 0; i < plan->n && r >= 0; i++) {
                const vt_rebuild_step *s = &plan->steps[i];
                _cleanup_buf_ vt_buf cmd = VT_BUF_INIT;
                line_ctx l = {ctx, i + 1, plan->n, NULL};
                vt_run_opts opts = {0};
                vt_run_result res = {0};
                json_object *o = json_object_new_object();

                vt_argv_format((const char *const *)s->argv, &cmd);
                l.cmd = vt_buf_cstr(&cmd);
                opts.chroot = ctx->chroot ? ctx->root->path : NULL;
                opts.env = (const char *const *)s->env;
                opts.timeout_ms = ctx->timeout_ms;
                opts.on_line = on_line;
                opts.userdata = &l;
                if (ctx->progress)
                        ctx->progress(ctx->userdata, i + 1, plan->n, l.cmd, NULL, false, 0);
                r = vt_run((const char *const *)s->argv, &opts, &res);
                if (ctx->progress)
                        ctx->progress(ctx->userdata, i + 1, plan->n, l.cmd, NULL, true,
                                      res.elapsed_ms);
                json_object_object_add(o, "command", json_object_new_string(l.cmd));
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

static const char *const own_files[] = {VT_MODPROBE_CONF_PATH, VT_MODPROBE_BLACKLIST_PATH,
                                        VT_OVERRIDE_CONF_PATH};

static int verify_initramfs(vt_facts *facts, const vt_rebuild_step *s, const vt_rebuild_expect *x,
                            vt_buf *report)
{
        vt_expect_file files[ARRAY_SIZE(own_files)];
        const vt_kernel_list *kernels;
        const vt_kernel *k = NULL;
        vt_initramfs_expect e = {.kver = s->kver};
        vt_initramfs_report rep = {0};
        vt_strv mods = {0};
        size_t nf = 0;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(own_files); i++) {
                const vt_snap_file *f = vt_snapshot_find(x->files, own_files[i]);

                if (!f)
                        continue;
                files[nf++] = (vt_expect_file){own_files[i] + 1, vt_buf_cstr(&f->data), f->data.len,
                                               !f->present};
        }
        r = vt_facts_kernels(facts, &kernels);
        for (size_t i = 0; r >= 0 && i < kernels->n; i++)
                if (s->kver && strcmp(kernels->items[i].version, s->kver) == 0)
                        k = &kernels->items[i];
        if (r >= 0 && x->vfio_modules && k)
                r = vt_early_modules(k, 1, &mods);
        if (r < 0)
                goto done;
        e.modules = (const char *const *)mods.items;
        e.n_modules = mods.n;
        e.builtin = k ? k->builtin : NULL;
        e.files = files;
        e.n_files = nf;
        r = vt_initramfs_verify(facts->root, s->artifact, &e, &rep);
        if (r >= 0 && rep.findings.n) {
                vt_verify_findings_format(&rep.findings, report);
                r = -EBADMSG;
        }
done:
        vt_initramfs_report_free(&rep);
        vt_strv_free(&mods);
        return r;
}

static int verify_cmdline(const vt_root *root, const vt_rebuild_step *s, const vt_rebuild_expect *x,
                          vt_buf *report)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        vt_verify_findings f = {0};
        int r;

        if (s->artifact_kind == VT_ARTIFACT_LOADER_ENTRIES)
                return 0; /* entries are named by the machine id: checked by kernel-install */
        r = vt_root_read(root, s->artifact, &text);
        if (r >= 0)
                r = vt_cmdline_verify_text(vt_buf_cstr(&text), text.len, VT_CMDLINE_GRUB_CFG,
                                           s->artifact, NULL, x->words_wanted, x->n_wanted,
                                           x->words_unwanted, x->n_unwanted, &f);
        if (r >= 0 && f.n) {
                vt_verify_findings_format(&f, report);
                r = -EBADMSG;
        }
        if (r >= 0 && x->grub_counter &&
            vt_grub_cfg_has_counter(vt_buf_cstr(&text), text.len) < 0) {
                vt_buf_printf(report, "%s: %s\n", s->artifact, vt_error_message());
                r = -EBADMSG;
        }
        vt_verify_findings_free(&f);
        return r;
}

int vt_rebuild_verify(vt_facts *facts, const vt_rebuild_plan *plan, const vt_rebuild_expect *expect,
                      vt_buf *report)
{
        int r = 0, bad = 0;

        for (size_t i = 0; i < plan->n; i++) {
                const vt_rebuild_step *s = &plan->steps[i];

                if (s->artifact_kind == VT_ARTIFACT_INITRAMFS)
                        r = verify_initramfs(facts, s, expect, report);
                else if (s->artifact_kind == VT_ARTIFACT_GRUB_CFG ||
                         s->artifact_kind == VT_ARTIFACT_LOADER_ENTRIES)
                        r = verify_cmdline(facts->root, s, expect, report);
                else
                        r = 0;
                if (r == -EBADMSG)
                        bad++;
                else if (r < 0)
                        return vt_error_wrap(r, "verifying %s", s->artifact);
        }
        if (bad)
                return vt_error_hint(vt_error_set(EBADMSG,
                                                  "what the rebuild built is not what "
                                                  "the files say:\n%s",
                                                  vt_buf_cstr(report)),
                                     "the files were put back; check the generator's "
                                     "configuration (hooks that drop files or modules)");
        return 0;
}
