/* The apply and plan operations.
 *
 * vt_op_plan() (`vfiotx plan`, writes nothing): the plan from the spec and the profile
 * (engine/plan.h), the disk content of the files it touches, and the rebuild steps apply would
 * run (every managed file's, while an earlier --no-rebuild left a rebuild pending).
 *
 * vt_op_apply() (`vfiotx apply`), in this order (tests/cli/test_crash.sh and test_trial.sh walk
 * a failpoint between each state-changing step):
 *   1. open the engine (recovery), finish an arming cut short (vt_trial_recover());
 *   2. when a trial will be armed (a rebuild and no req->no_arm): can it be (vt_trial_check())?
 *   3. the plan and the disk; ui->show_plan; the rebuild steps (ui->show_rebuild);
 *   4. refuse: a change while a trial is in progress (-EBUSY); refusals without req->force
 *      (-EPERM, res->refused); forced refusals are announced (ui->warning) and recorded;
 *   5. the question (ui->confirm) unless req->yes (-ECANCELED);
 *   6. keep the running boot as the last good entry (vt_trial_preserve()) when arming;
 *   7. the transaction, with the rebuild steps inside it;
 *   8. arm the trial (also an apply whose arming was cut short);
 *   9. nothing changed but a rebuild was pending: complete it (vt_op_complete_rebuild()).
 *
 * Contract: 0 or negative errno with a message; never prints; the result is filled as far as
 * the operation got (res->plan once computed) and freed with vt_op_apply_result_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/op.h"
#include "engine/plan.h"

typedef struct vt_op_plan_result {
        bool computed;    /* plan, disk and diff are set */
        vt_plan plan;     /* the target, why, refusals, summary */
        vt_snapshot disk; /* the disk content of the plan's files */
        vt_buf diff;      /* the unified diff from disk to the plan's target ("": none) */
        vt_op_rebuild rebuild;
        vt_buf try_note; /* a live try of the same devices (engine/op_try.h), "" when none */
} vt_op_plan_result;

int vt_op_plan(const vt_op_env *env, const vt_spec *spec, vt_op_plan_result *res);
void vt_op_plan_result_free(vt_op_plan_result *res);

typedef struct vt_op_apply_req {
        const vt_spec *spec;
        bool yes;        /* do not ask */
        bool no_rebuild; /* change the files only; the rebuild stays pending */
        bool force;      /* go ahead despite refusals (recorded) */
        bool no_arm;     /* no boot-counted trial */
        unsigned tries;  /* boots of the trial (0: VT_TRIAL_DEFAULT_TRIES) */
} vt_op_apply_req;

typedef struct vt_op_apply_result {
        bool computed;        /* plan is set */
        vt_plan plan;         /* what was planned (refusals included) */
        bool refused;         /* -EPERM: the plan has refusals and no force */
        long txn;             /* the applied transaction, 0 when nothing changed */
        bool armed;           /* a trial was to be armed (a rebuild, no --no-arm) */
        unsigned tries;       /* its boots */
        bool rebuilt_pending; /* nothing changed; the pending rebuild was completed */
        size_t rebuild_steps; /* the rebuild steps of the transaction */
} vt_op_apply_result;

int vt_op_apply(const vt_op_env *env, const vt_op_ui *ui, const vt_op_apply_req *req,
                vt_op_apply_result *res);
void vt_op_apply_result_free(vt_op_apply_result *res);
