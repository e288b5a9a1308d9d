/* The last error of this thread, set by the module that detected it and printed by the CLI.
 *
 * Modules return a negative errno; before returning they describe the failure here (what failed
 * and where) and may add a hint (what the user can do). Only the CLI layer prints. This is the
 * model of libgit2's last-error call. Messages are bounded; a longer one is truncated. */
#pragma once

#include <stdarg.h>

/* Record a message for the failure `err` (positive or negative errno) and return -|err|.
 * The hint is cleared. */
int vt_error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vt_error_set() for a fault at a line of a file: the message is "FILE:LINE: <text>", and
 * vt_error_file() gives the place apart (for the JSON error document). */
int vt_error_set_at(int err, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the current message with more context ("reading /etc/modules: <old>"); returns -|err|.
 * When no message is set, the errno's strerror() text is used as <old>. */
int vt_error_wrap(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attach what the user can do about the current error. Returns -|err|. */
int vt_error_hint(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current message, or NULL when none was set since the last vt_error_clear(). */
const char *vt_error_message(void);
/* The current hint, or NULL. */
const char *vt_error_hint_text(void);
/* The file of the current error (vt_error_set_at(), kept through vt_error_wrap() and
 * vt_error_hint()), with its line in *line; NULL when the error has no place. */
const char *vt_error_file(unsigned *line);
void vt_error_clear(void);
