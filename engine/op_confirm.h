/* The confirm operation (`vfiotx confirm`, vfiotx-confirm.service, vfiotx-deadline.timer): the
 * applied transaction (on trial or not) is good (vt_trial_confirm()); with VT_CONFIRM_HEALTH
 * only if the host is healthy (backends/health.h: the profile's devices on vfio-pci, the root
 * disk controller and default-route NIC on their host drivers, no failed systemd units);
 * with VT_CONFIRM_DEADLINE the trial was not confirmed in time, when one is still running.
 * A bad trial is marked bad (vt_trial_mark_bad()) and, unless req->no_reboot, the host
 * reboots into the last good entry (announced through ui->warning first).
 *
 * Contract: 0 or negative errno with a message; never prints. A bad trial returns -EIO
 * ("the trial of transaction N is bad: why") with res->bad set. */
#pragma once

#include <stdbool.h>

#include "engine/op.h"

typedef enum vt_confirm_mode {
        VT_CONFIRM_PLAIN = 0,
        VT_CONFIRM_HEALTH,   /* --health */
        VT_CONFIRM_DEADLINE, /* --deadline-expired */
} vt_confirm_mode;

typedef struct vt_op_confirm_req {
        vt_confirm_mode mode;
        bool no_reboot;
} vt_op_confirm_req;

typedef struct vt_op_confirm_result {
        long txn;         /* the transaction confirmed good (0: none, bad) */
        bool ended_trial; /* a trial was in progress and ends with the confirmation */
        bool bad;         /* the trial was marked bad */
        long trial_txn;   /* the transaction on trial, when bad */
} vt_op_confirm_result;

int vt_op_confirm(const vt_op_env *env, const vt_op_ui *ui, const vt_op_confirm_req *req,
                  vt_op_confirm_result *res);
