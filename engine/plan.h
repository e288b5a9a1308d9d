/* The plan: from the host's current files and facts, the new content of every file vfiotx
 * manages, computed by the editors in backends/ (pure functions) — nothing is written here.
 *
 * The target snapshot lists only the files the editors produce; a file an editor returns
 * unchanged is in it with its current bytes (the engine then finds nothing to do). `why` holds
 * one line per decision ("/etc/modules: vfio_virqfd not listed: ..."), shown by `plan`.
 *
 * Contract: 0 or negative errno with a message. */
#pragma once

#include "common/buf.h"
#include "journal/root.h"
#include "journal/snapshot.h"

typedef struct vt_plan {
        vt_snapshot target;
        vt_buf why;
} vt_plan;

int vt_plan_compute(const vt_root *root, vt_plan *out);
void vt_plan_free(vt_plan *p);
