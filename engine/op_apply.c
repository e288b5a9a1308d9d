#include "engine/op_apply.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/boot_state.h"
#include "engine/op_try.h"
#include "engine/trial.h"
#include "journal/diff.h"

/* The plan, and the disk content of every file it touches. */
static int compute(vt_facts *facts, const vt_spec *spec, bool trial_args, vt_plan *plan,
                   vt_snapshot *disk)
{
        _cleanup_free_ const char **paths = NULL;
        vt_plan_ctx ctx = {facts, spec, trial_args};
        int r = vt_plan_compute(&ctx, plan);

        if (r < 0)
                return r;
        paths = calloc(plan->target.n + 1, sizeof(*paths));
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < plan->target.n; i++)
                paths[i] = plan->target.files[i].path;
        return vt_snapshot_capture(facts->root, paths, plan->target.n, disk);
}

int vt_op_plan(const vt_op_env *env, const vt_spec *spec, vt_op_plan_result *res)
{
        vt_root root = VT_ROOT_INIT;
        vt_boot_state boot = {0};
        vt_state st = {0};
        vt_facts facts;
        int r;

        *res = (vt_op_plan_result){0};
        vt_facts_init(&facts, &root, env->sysfs, env->proc);
        r = vt_root_open(&root, env->root);
        if (r >= 0)
                r = compute(&facts, spec, false, &res->plan, &res->disk);
        if (r >= 0)
                r = vt_diff_snapshots(&res->disk, &res->plan.target, &res->diff);
        if (r < 0)
                goto out;
        res->computed = true;
        {
                vt_engine e;

                /* What a live try of the same devices showed (read-only: no lock). */
                if (vt_engine_open(&e, env->root, VT_ENGINE_READ, env->cmdline, NULL) >= 0)
                        r = vt_try_note_for(&e, &facts, spec, &res->try_note);
                vt_error_clear();
                vt_engine_close(&e);
        }
        /* a pending rebuild (from --no-rebuild) makes apply rebuild everything */
        if (vt_boot_state_read(&root, &st, &boot) < 0)
                vt_error_clear();
        r = vt_op_rebuild_prepare(env, NULL, &facts, &res->disk, &res->plan.target,
                                  boot.pending_rebuild, &res->rebuild);
        res->rebuild.facts = NULL; /* the steps are shown, never run or verified from here */
out:
        vt_facts_free(&facts);
        vt_root_close(&root);
        return r;
}

void vt_op_plan_result_free(vt_op_plan_result *res)
{
        vt_op_rebuild_free(&res->rebuild);
        vt_plan_free(&res->plan);
        vt_snapshot_free(&res->disk);
        vt_buf_free(&res->diff);
        vt_buf_free(&res->try_note);
}

/* Does the disk already hold every file of the target? */
static bool snapshot_matches(const vt_snapshot *disk, const vt_snapshot *target)
{
        for (size_t i = 0; i < target->n; i++) {
                const vt_snap_file *d = vt_snapshot_find(disk, target->files[i].path);

                if (d ? !vt_snap_file_equal(d, &target->files[i]) : target->files[i].present)
                        return false;
        }
        return true;
}

/* The applied transaction's number when it is an apply that is neither confirmed nor on
 * trial, else 0. */
static long unarmed_apply(vt_engine *e)
{
        vt_txn_info head = {0};
        long txn = 0;

        if (e->state.has_good && vt_oid_equal(&e->state.good, &e->state.head))
                return 0;
        if (vt_engine_head_info(e, &head) >= 0 && head.kind && strcmp(head.kind, "apply") == 0)
                txn = head.id;
        vt_txn_info_free(&head);
        vt_error_clear();
        return txn;
}

static char *forced_extra(const vt_plan *plan)
{
        json_object *o = json_object_new_object(), *ref = json_object_new_array();
        char *s;

        for (size_t i = 0; i < plan->refusals.n; i++)
                json_object_array_add(ref, json_object_new_string(plan->refusals.items[i]));
        json_object_object_add(o, "forced_refusals", ref);
        s = strdup(json_object_to_json_string(o));
        json_object_put(o);
        return s;
}

static void warn(const vt_op_ui *ui, const char *text)
{
        if (ui && ui->warning)
                ui->warning(ui->userdata, text);
}

int vt_op_apply(const vt_op_env *env, const vt_op_ui *ui, const vt_op_apply_req *o,
                vt_op_apply_result *res)
{
        _cleanup_snapshot_ vt_snapshot disk = {0}, all = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, diff = VT_BUF_INIT;
        _cleanup_free_ char *extra = NULL;
        vt_op_rebuild rb = {0};
        vt_txn_request req = {.kind = "apply"};
        vt_plan *plan = &res->plan;
        vt_facts facts;
        vt_engine e;
        long txn = 0;
        int r;

        *res = (vt_op_apply_result){0};
        res->tries = o->tries ? o->tries : VT_TRIAL_DEFAULT_TRIES;
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        /* The host is read once, after the engine is open; every step below uses it. */
        vt_facts_init(&facts, &e.root, env->sysfs, env->proc);
        /* A trial is armed after every apply that rebuilds, unless asked not to; where it
         * cannot be, apply refuses before changing anything. */
        res->armed = !o->no_rebuild && !o->no_arm;
        if (r >= 0)
                r = vt_trial_recover(&e, &notes);
        vt_op_notes(ui, &notes);
        if (r >= 0 && res->armed)
                r = vt_trial_check(&facts, NULL, NULL);
        if (r >= 0) {
                r = compute(&facts, o->spec, res->armed, plan, &disk);
                res->computed = r >= 0;
        }
        if (r >= 0) {
                r = vt_try_note_for(&e, &facts, o->spec, &notes);
                vt_op_notes(ui, &notes);
        }
        if (r < 0)
                goto out;
        if (ui && ui->show_plan) {
                r = vt_diff_snapshots(&disk, &plan->target, &diff);
                if (r < 0)
                        goto out;
                ui->show_plan(ui->userdata, plan, vt_buf_cstr(&diff));
        }
        if (ui && ui->show_files)
                ui->show_files(ui->userdata, &disk, &plan->target);
        if (!o->no_rebuild) {
                /* A pending rebuild covers every managed file, not only this plan's. */
                if (e.boot.pending_rebuild)
                        r = vt_engine_capture(&e, NULL, &all);
                if (r >= 0)
                        r = vt_op_rebuild_prepare(env, ui, &facts,
                                                  e.boot.pending_rebuild ? &all : &disk,
                                                  &plan->target, e.boot.pending_rebuild, &rb);
                if (r < 0)
                        goto out;
                rb.expect.vfio_modules = plan->has_devices;
                rb.expect.words_wanted = (const char *const *)plan->words_wanted.items;
                rb.expect.n_wanted = plan->words_wanted.n;
                rb.expect.words_unwanted = (const char *const *)plan->words_unwanted.items;
                rb.expect.n_unwanted = plan->words_unwanted.n;
                rb.expect.grub_counter = res->armed;
                if (ui && ui->show_rebuild)
                        ui->show_rebuild(ui->userdata, &rb.plan);
        }
        if (vt_trial_in_progress(&e) && !snapshot_matches(&disk, &plan->target)) {
                r = vt_trial_refuse_busy(&e);
                goto out;
        }
        if (plan->refusals.n && !o->force) {
                r = vt_error_hint(vt_error_set(EPERM,
                                               "refused: the plan is not safe for this "
                                               "host (%zu reason%s above); nothing was "
                                               "changed",
                                               plan->refusals.n, plan->refusals.n > 1 ? "s" : ""),
                                  "change the plan as advised, or pass --force if you are sure "
                                  "(the journal records that it was forced)");
                res->refused = true;
                goto out;
        }
        if (plan->refusals.n) {
                char text[96];

                snprintf(text, sizeof(text), "--force: applying despite %zu refusal%s\n",
                         plan->refusals.n, plan->refusals.n > 1 ? "s" : "");
                warn(ui, text);
                extra = forced_extra(plan);
        }
        if (!o->yes && !(ui && ui->confirm && ui->confirm(ui->userdata, "Apply these changes?"))) {
                r = vt_error_hint(vt_error_set(ECANCELED, "not applied: no confirmation"),
                                  "pass -y to apply without asking (stdin is not a terminal, or "
                                  "the answer was not yes)");
                goto out;
        }
        /* Keep the running, good boot as the last good entry before anything changes. */
        if (res->armed && (r = vt_trial_preserve(&e, env->proc)) < 0)
                goto out;
        req.summary = plan->summary;
        req.forced = plan->refusals.n > 0;
        req.extra = extra;
        req.pending_rebuild = o->no_rebuild;
        if (!o->no_rebuild)
                vt_op_rebuild_attach(&rb, &req);
        r = vt_engine_transact(&e, &req, &plan->target, &txn, &notes);
        vt_op_notes(ui, &notes);
        if (r < 0)
                goto out;
        /* An apply whose arming was cut short (recovery finished the transaction, or the
         * process died right after it): it runs unconfirmed and unarmed; arm it now. */
        if (res->armed && !txn && !vt_trial_in_progress(&e))
                txn = unarmed_apply(&e);
        res->txn = txn;
        if (res->armed && txn) {
                r = vt_trial_arm(&e, txn, res->tries, &notes);
                vt_op_notes(ui, &notes);
                if (r < 0)
                        goto out;
        }
        /* Nothing changed, but an earlier --no-rebuild left the artifacts behind the files. */
        if (txn == 0 && !o->no_rebuild && e.boot.pending_rebuild && rb.plan.n) {
                if (ui && ui->notes)
                        ui->notes(ui->userdata, "completing the pending rebuild:\n");
                r = vt_op_complete_rebuild(&e, &rb);
                if (r < 0)
                        goto out;
                res->rebuilt_pending = true;
        }
        res->rebuild_steps = rb.plan.n;
out:
        vt_op_rebuild_free(&rb);
        vt_facts_free(&facts);
        vt_engine_close(&e);
        return r;
}

void vt_op_apply_result_free(vt_op_apply_result *res)
{
        vt_plan_free(&res->plan);
}
