/* The state of a `vfiotx try` in progress: <root>/var/lib/vfiotx/try.json.
 *
 * It is written (atomically: aside, fsync, rename) before the first sysfs write of a move or a
 * revert and again at each phase, so that whatever kills vfiotx in between, the next command
 * knows which devices were moving and which driver each had: it finishes the revert
 * (engine/op_try.h). It is removed when the try ends (kept or reverted). It holds no file of
 * the host: a try changes drivers only, at runtime.
 *
 * Contract: 0 or a negative errno with a message; -ENOENT (no message) when there is no try;
 * -EBADMSG naming the file when it cannot be read as a try. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/root.h"

#define VT_TRY_STATE_PATH "/var/lib/vfiotx/try.json"

typedef enum vt_try_phase {
        VT_TRY_MOVING,    /* devices are being moved to vfio-pci */
        VT_TRY_HELD,      /* on vfio-pci, the revert timer armed */
        VT_TRY_REVERTING, /* being given back */
} vt_try_phase;

const char *vt_try_phase_name(vt_try_phase p);

typedef struct vt_try_device {
        char bdf[16];
        char original[64]; /* the driver before the try, "" when it had none */
        bool named;        /* named by the user (not only a member of its group) */
} vt_try_device;

typedef struct vt_try_state {
        char id[48]; /* "1764790000-4242": names the watcher and its unit */
        vt_try_phase phase;
        int64_t started;  /* seconds since the epoch */
        int64_t deadline; /* when the revert is due */
        char boot_id[40]; /* the boot it was made in: a reboot ended it */
        long pid;         /* the vfiotx moving or reverting (phase != held) */
        char watcher[96]; /* "systemd:vfiotx-try-ID.timer" or "pid:N", "" before it runs */
        bool forced;      /* --force overrode a refusal */
        long txn;         /* its journal entry, 0 until recorded */
        char reason[160]; /* why it is being reverted (phase reverting) */
        vt_try_device *devices;
        size_t n;
} vt_try_state;

int vt_try_state_read(const vt_root *root, vt_try_state *out);
int vt_try_state_write(const vt_root *root, const vt_try_state *st);
/* Removing a state that is not there is no error. */
int vt_try_state_remove(const vt_root *root);
void vt_try_state_free(vt_try_state *st);

struct json_object;
/* The devices as the state file writes them ([{bdf, original, named}]), also for the journal
 * entries of the try. A new json-c array. */
struct json_object *vt_try_devices_json(const vt_try_state *st);
