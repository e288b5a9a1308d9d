/* The vfiotx lock: one writer at a time per root, with flock() on
 * <root>/var/lib/vfiotx/lock (released by the kernel when the process dies, so a crash never
 * leaves it held). The holder's pid is written into the file for the "waiting for" message.
 *
 * vt_lock_take() waits up to `timeout_ms` (0: do not wait) and returns -EBUSY with a message
 * naming the holder when the lock stays taken; -EROFS with a hint when the root is read-only.
 * Under the lock, the caller may remove stale *.lock files git left (journal.h). */
#pragma once

#include "fs/root.h"

#define VT_LOCK_PATH "/var/lib/vfiotx/lock"

/* `waiting` is called once if the lock is busy, before waiting (for the CLI to say so). */
int vt_lock_take(const vt_root *root, int timeout_ms, void (*waiting)(long holder_pid),
                 int *out_fd);
void vt_lock_release(int fd);
