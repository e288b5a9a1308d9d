/* The status operation (`vfiotx status`): the state of the journal as one read-only view.
 *
 * The state is, in this order of precedence: "none" (vfiotx never changed the host: no journal
 * or no state file), "interrupted" (the state file says a transaction is applying),
 * the trial's "armed", "trying", "marked bad", "rolled back", then "good" (the applied snapshot
 * is the last good one) or "applied" (it awaits confirmation). With a journal, the result also
 * holds the applied and the good transactions (the applied one is the newest that changed the
 * files: a transaction that failed or was undone left its parent's files, and is reported as
 * `failed`, never as applied), the files changed outside vfiotx (drift; not
 * while a transaction is interrupted: its own files differ from the head, and the next command
 * sorts that out) and the devices of the profile on disk. A profile that cannot be parsed only
 * leaves the device list empty, announced through ui->warning (apply reports it with its line).
 * Whatever the state, the boot path, the firmware (UEFI or BIOS, Secure Boot and what it means
 * on that path), on a systemd-boot host the entry systemd-boot boots next (an ESP that cannot
 * be read is announced through ui->warning), and whether the next apply could arm a boot-counted
 * trial (vt_trial_check()) and, when not, why.
 *
 * Contract: 0 or negative errno with a message; never prints; the engine is opened for reading
 * (no lock, no recovery). vt_op_status_result_free() also on failure. */
#pragma once

#include <stdbool.h>

#include "backends/firmware.h"
#include "backends/profile.h"
#include "backends/sdboot_next.h"
#include "engine/op.h"
#include "engine/try_state.h"

typedef struct vt_op_status_result {
        const char *state;            /* static: "none", "interrupted", ... (above) */
        vt_txn_info applied, good;    /* the transaction whose files the host has, the good one
                                       * (id 0: none) */
        vt_txn_info failed;           /* the newest transaction after `applied` that failed or was
                                       * undone (id 0: none): the journal's head then */
        bool has_good;                /* there is a good snapshot */
        vt_boot_state boot;           /* the trial and the pending rebuild */
        int tries_left;               /* during a trial, GRUB's counter: boots left (-1: unknown) */
        const char *next_boot;        /* static: "trial", "last-good" (the counter is used up or
                                       * GRUB fell back), "default", or "unknown" (no counter) */
        bool interrupted;             /* a transaction is applying: */
        long interrupted_txn;         /*   its number */
        char interrupted_kind[32];    /*   its kind */
        vt_buf drift;                 /* paths changed outside vfiotx, one a line */
        vt_profile profile;           /* the devices passed through (none: empty) */
        bool has_try;                 /* a `vfiotx try` is in progress (engine/op_try.h): */
        vt_try_state try_state;       /*   its devices, phase and deadline */
        const char *boot_path;        /* static: vt_boot_path_name() */
        vt_firmware firmware;         /* UEFI or BIOS, Secure Boot */
        const char *secure_boot_note; /* static: what Secure Boot means here, or NULL */
        bool has_sdboot;              /* systemd-boot entries were read: */
        vt_sdboot_next sdboot;        /*   the entry systemd-boot boots next, and why */
        bool counter_ok;              /* the next apply can arm a trial */
        char *counter_why;            /* when not: why, with the hint */
} vt_op_status_result;

int vt_op_status(const vt_op_env *env, const vt_op_ui *ui, vt_op_status_result *res);
void vt_op_status_result_free(vt_op_status_result *res);
