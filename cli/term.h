/* The terminal side of the CLI's output: whether a stream gets colour, whether stdout can hold
 * a progress line redrawn in place, the terminal's width, and the pure helpers that shape text
 * for a terminal (tests/unit/cli/test_term.c).
 *
 * Colour (https://no-color.org): only on a terminal, never with --json, never when NO_COLOR is
 * set to anything but the empty string, never when TERM is unset, empty or "dumb". A line
 * redrawn in place (carriage return, then ESC [ K to clear to the end of the line) needs the
 * same terminal, whatever NO_COLOR says: NO_COLOR is about colour, not about cursor motion. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"

struct vt_cli;

typedef enum vt_style {
        VT_STYLE_ERROR,   /* "error:" */
        VT_STYLE_WARNING, /* "warning:" */
        VT_STYLE_HINT,    /* "hint:" */
        VT_STYLE_OK,      /* a rebuild step that worked */
        VT_STYLE_FAILED,  /* a rebuild step that failed */
        VT_STYLE_REFUSED, /* a safety check's refusal */
} vt_style;

/* The decisions, from the facts (pure): is the stream a terminal (isatty), and the values of
 * NO_COLOR and TERM (NULL: unset). */
bool vt_term_capable(bool is_tty, const char *term);
bool vt_term_colour_wanted(bool is_tty, const char *no_color, const char *term);

/* The same decisions for this process: colour on stream `f` (stdout or stderr); the progress
 * line redrawn in place on stdout (also not with -q, -v or --json: -v streams every line). */
bool vt_cli_colour(const struct vt_cli *cli, FILE *f);
bool vt_cli_live_progress(const struct vt_cli *cli);

/* The escape sequence that starts `s`, or "" without colour; vt_style_end() ends it. */
const char *vt_style_on(bool colour, vt_style s);
const char *vt_style_end(bool colour);

/* The width of the terminal on `fd` (TIOCGWINSZ), 80 when it is not a terminal or says 0. */
size_t vt_term_width(int fd);

/* Append `text` to `out` as one terminal line of at most `max_cols` columns: a line a tool
 * redrew with carriage returns keeps its last part, escape sequences (the tool's colours) are
 * dropped, tabs become spaces and other control characters are dropped, and a UTF-8 sequence is
 * kept whole (each character counted as one column). Returns the columns appended. */
size_t vt_term_put_fit(vt_buf *out, const char *text, size_t max_cols);

/* The live line of a running rebuild step, at most width - 1 columns (the last column stays
 * free, so the terminal never wraps it): "[1/3] update-initramfs -u -k 6.1.0-26-amd64 ... 12 s"
 * and then, as room allows, two spaces and the tool's last line. A command too long for the
 * width is cut first, so the counter and the seconds stay in view. Out of memory leaves the line
 * shorter: it is only shown. */
void vt_term_progress_line(vt_buf *out, const char *counter, const char *cmd, const char *elapsed,
                           const char *last, size_t width);

/* The end of `len` bytes of text, at most `max` bytes, starting at a line boundary when the
 * cut falls inside the text (inside one line longer than `max`: at the cut). *skipped gets the
 * bytes before it. */
const char *vt_term_tail(const char *text, size_t len, size_t max, size_t *skipped);
