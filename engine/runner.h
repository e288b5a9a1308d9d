/* Runner: run one rebuild tool (update-initramfs, update-grub, ...) as an argv, never through a
 * shell, with its output captured, a time limit, and optionally chrooted into the managed root.
 *
 * The child gets stdin from /dev/null and one pipe for stdout and stderr together, so the
 * captured text is in the order the tool wrote it. Every complete line is also handed to
 * `on_line` as it arrives (the CLI streams it under a progress line), and `on_tick` is called
 * every `tick_ms` while the tool runs, whether it prints or not (so a progress line can show the
 * time elapsed during a long silent stretch of update-initramfs). The child leads its own
 * process group: on timeout the whole group gets SIGTERM, then SIGKILL after `kill_grace_ms`,
 * so a tool's helpers (cpio, zstd, grub-probe) die with it. Once the tool has exited, helpers
 * that still hold the output pipe get one second, then the group is killed.
 *
 * With `chroot` set (a root other than "/"), the child enters a new mount namespace
 * (unshare(CLONE_NEWNS)), makes every mount private (so nothing propagates back to the host),
 * bind-mounts /proc, /sys, /dev (recursively: /dev/pts, efivars come along) and /run when the
 * root has that directory, then chroots and runs the tool with a standard PATH. The bind mounts
 * exist only in that namespace: the kernel removes them when its last process exits, whatever
 * happens to vfiotx (timeout, crash, SIGKILL) — nothing is ever left mounted on the host, and
 * no unmount step can fail. /boot/efi is bound only with `bind_esp`: a rescue system's own
 * /boot/efi is not the ESP of the host being repaired, so the engine asks for it only when the
 * root is the running host's own tree seen elsewhere. Mount targets are resolved inside the
 * root (fs/root.h), so a symlinked /proc in the root cannot redirect a mount outside it.
 *
 * Errors (negative errno, message set, `res` filled as far as known):
 *   -ENOENT     the tool is not in PATH (or not in the chroot)   "update-grub: not found ..."
 *   -EACCES     found but not executable; other exec errors as errno
 *   -ETIMEDOUT  killed after the time limit                     "... killed after 600 s"
 *   -EPROTO     the tool ran and failed: exit code N, or killed by signal S; the message ends
 *               with the last lines of its output, res->output holds all of it
 *   mount/chroot failures: their errno, naming the mount
 * Every descriptor is O_CLOEXEC; the child closes nothing it did not open. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* One line of the tool's output (without its newline); `line` is NUL-terminated. */
typedef void (*vt_run_line_fn)(const char *line, size_t len, void *userdata);
/* The tool is still running, `elapsed_ms` after it started. */
typedef void (*vt_run_tick_fn)(long elapsed_ms, void *userdata);

typedef struct vt_run_opts {
        const char *chroot;     /* NULL or "/": no chroot, the tool comes from PATH */
        bool bind_esp;          /* also bind the host's /boot/efi when it is a mount point */
        const char *const *env; /* extra "NAME=value" entries, NULL-terminated; may be NULL */
        int timeout_ms;         /* 0: no limit */
        int kill_grace_ms;      /* SIGTERM -> SIGKILL delay; 0: 5000 */
        vt_run_line_fn on_line; /* may be NULL */
        vt_run_tick_fn on_tick; /* may be NULL */
        int tick_ms;            /* on_tick's period (> 0 for ticks); never before the first */
        void *userdata;         /* for on_line and on_tick */
} vt_run_opts;

typedef struct vt_run_result {
        int exit_code;  /* 0-255 when the tool exited, -1 when it did not */
        int term_sig;   /* signal that ended it, 0 when it exited */
        bool timed_out; /* we killed it for taking too long */
        long elapsed_ms;
        vt_buf output; /* stdout and stderr interleaved; the oldest part is dropped past 8 MiB */
} vt_run_result;

void vt_run_result_free(vt_run_result *res);

/* Run argv (argv[0] looked up in PATH, NULL-terminated). 0 only when the tool exited 0. Messages
 * name the tool as common/argv.h formats it. */
int vt_run(const char *const *argv, const vt_run_opts *opts, vt_run_result *res);
