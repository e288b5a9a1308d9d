/* The try operation (`vfiotx try`): hand devices to vfio-pci now, at runtime, and take them back
 * by themselves unless a person keeps them. No file of the host changes; the journal records
 * every try, keep and revert as an entry of its own (kinds "try", "try-keep", "try-revert").
 *
 * VT_TRY_START, in this order:
 *   1. open the engine (vt_op_open() finishes an interrupted try first, vt_try_recover());
 *      another try in progress is -EBUSY;
 *   2. the devices: the named ones and every other member of their IOMMU groups (bridges stay
 *      with the host); a named bridge or a device without an IOMMU group is -EINVAL / -ENODEV;
 *   3. refusals (backends/in_use.h, and the default-route NICs of backends/hostinfo.h) for
 *      every device that moves: without req->force, -EPERM with res->refused and nothing
 *      written; with it, each is announced through ui->warning and the try is marked forced;
 *   4. the state (engine/try_state.h: every device's driver), the revert timer
 *      (engine/try_watcher.h), the vfio-pci module (modprobe), then each device:
 *      driver_override, unbind, probe (engine/driver_switch.h);
 *   5. the checks: on-vfio (vfio-pci and /dev/vfio/N), group-viable, host-devices (the root and
 *      boot disks' controllers and the default-route NICs kept their drivers), open-devices (no
 *      process lost a device node it held open);
 *   6. the "try" entry (outcome "applied" when every check passed, "failed" otherwise); a failed
 *      check (or a device that would not move) reverts at once and returns -EIO naming it.
 * VT_TRY_KEEP: the devices stay; the timer is stopped; a "try-keep" entry.
 * VT_TRY_REVERT: every device back on the driver it had (driver_override cleared); "try-revert".
 *   No try in progress is nothing to do (res->nothing): the revert is what the host has. A keep
 *   without a try is -ENOENT: what was to be kept is gone.
 * VT_TRY_EXPIRE (the timer): the revert, only when try req->expire_id is still held.
 *
 * vt_try_recover() (every writer, from vt_op_open()): a try whose vfiotx died while moving or
 * reverting is reverted; a held try past its deadline is reverted (its timer did not run); a
 * try of an earlier boot is recorded as ended by the reboot (the drivers came back with it). A
 * damaged state is removed with a warning in `notes`: no writer may stop on it.
 *
 * Contract: 0 or negative errno with a message; never prints. Free the result with
 * vt_op_try_result_free(), also on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine/op.h"
#include "engine/plan.h"
#include "engine/try_state.h"

#define VT_TRY_DEFAULT_TIMEOUT 120

typedef enum vt_try_action {
        VT_TRY_START,
        VT_TRY_KEEP,
        VT_TRY_REVERT,
        VT_TRY_EXPIRE,
} vt_try_action;

typedef struct vt_op_try_req {
        vt_try_action action;
        const char *const *devices; /* START: --device specs */
        size_t n_devices;
        int timeout_s; /* START: 0 is VT_TRY_DEFAULT_TIMEOUT */
        bool force;
        const char *expire_id; /* EXPIRE */
} vt_op_try_req;

typedef struct vt_try_check {
        const char *name; /* "on-vfio", "group-viable", "host-devices", "open-devices" */
        bool ok;
        char *message;
} vt_try_check;

typedef struct vt_try_refusal {
        const char *code; /* backends/in_use.h's names, "default-route" */
        char bdf[16];     /* the device that would be lost */
        char named[16];   /* the named device whose group it is in */
        char *message;
        const char *advice;
} vt_try_refusal;

typedef struct vt_op_try_result {
        vt_try_state state;  /* the try: its devices with their original drivers, deadline */
        char (*drivers)[64]; /* each device's driver when the operation ended */
        vt_try_check checks[4];
        size_t n_checks;
        vt_try_refusal *refusals;
        size_t n_refusals;
        bool refused;  /* -EPERM: refusals without force */
        bool reverted; /* the devices were given back */
        bool nothing;  /* REVERT, EXPIRE: no try was held (kept, reverted already) */
        char reason[160];
        long txn; /* the last journal entry made */
} vt_op_try_result;

int vt_op_try(const vt_op_env *env, const vt_op_ui *ui, const vt_op_try_req *req,
              vt_op_try_result *res);
void vt_op_try_result_free(vt_op_try_result *res);

int vt_try_recover(vt_engine *e, const vt_op_env *env, vt_buf *notes);

/* Keep the try in `st` (held): its timer stops, a "try-keep" entry (*txn, may be NULL), the
 * state goes; a line for `notes` (may be NULL). */
int vt_try_keep(vt_engine *e, vt_try_state *st, long *txn, vt_buf *notes);
/* `vfiotx confirm`: keep the try in progress when one is held (nothing otherwise). */
int vt_try_keep_held(vt_engine *e, vt_buf *notes);
/* vt_try_last_note() for the devices of `spec` (its --device specs), ending in a newline; ""
 * when none, or when the specs do not resolve (the plan says why). */
int vt_try_note_for(vt_engine *e, vt_facts *facts, const vt_spec *spec, vt_buf *note);

/* For plan and apply: a line on the newest try that covered every device of `bdfs` ("a live try
 * (transaction 7, 2026-12-03 17:20) had 0000:00:02.0 on vfio-pci and passed its checks: ..."),
 * "" when none. Reads the journal's history (at most 500 entries back). */
int vt_try_last_note(vt_engine *e, const char *const *bdfs, size_t n, vt_buf *note);
