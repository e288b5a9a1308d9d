/* The revert timer of a `vfiotx try`: something outside the calling shell that runs
 * `vfiotx try --expire ID` at the deadline, so the devices come back when the SSH session that
 * started the try dies, or when the vfiotx that started it is killed.
 *
 *   systemd   a transient timer unit (systemd-run --on-active, unit vfiotx-try-ID): systemd
 *             owns it, so no session, cgroup or logind policy can take it down. Used when the
 *             root is the running host ("/") and systemd runs (/run/systemd/system).
 *   detached  otherwise (a test tree, a host without systemd): a process in its own session
 *             (setsid, double fork), stdio on /dev/null, every inherited descriptor closed (the
 *             vfiotx lock among them), SIGHUP ignored; it sleeps until the deadline, then
 *             executes the same vfiotx binary (/proc/self/exe).
 * VFIOTX_TRY_WATCHER=systemd|detached chooses one. The expiry does nothing unless try ID is
 * still held, so a watcher that outlives its try (kept, reverted) is harmless; stopping it is
 * tidiness.
 *
 * Contract: 0 or a negative errno with a message; `out` names the watcher for the try's state:
 * "systemd:vfiotx-try-ID.timer" or "pid:N". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "engine/op.h"

int vt_try_watcher_start(const vt_op_env *env, const char *id, int64_t deadline, char *out,
                         size_t size);
/* Stop it (best effort: a watcher that already ran or is gone is no error). */
void vt_try_watcher_stop(const char *watcher);
