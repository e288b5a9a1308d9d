/* Failpoints: named places in the write path where tests make vfiotx fail or die.
 *
 * Every step that changes state on disk (each write, fsync, rename, state-file replacement and
 * ref move) calls vt_failpoint("name") first. Tests drive them with environment variables:
 *   VFIOTX_FAILPOINT_FAIL=N   the Nth failpoint reached returns -EIO (a simulated I/O error)
 *   VFIOTX_FAILPOINT_KILL=N   the Nth failpoint reached kills the process with SIGKILL
 *   VFIOTX_FAILPOINT_TRACE=1  every failpoint reached is printed to stderr with its number
 * Counting (rather than naming) lets a test walk every step of an apply by increasing N until
 * the command finishes without reaching it, so a new step can never be forgotten.
 * Without these variables a failpoint costs one getenv() at first use and returns 0. */
#pragma once

int vt_failpoint(const char *name);
/* How many failpoints this process has reached (for tests and the trace). */
unsigned vt_failpoint_count(void);
/* Start counting anew and read the environment again (for in-process tests). */
void vt_failpoint_reset(void);
