#include "cli/term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"

bool vt_term_capable(bool is_tty, const char *term)
{
        /* No TERM at all (a service, a cron job given a pty) says nothing about what the
         * other side understands: plain text is always safe. */
        return is_tty && term && *term && strcmp(term, "dumb") != 0;
}

bool vt_term_colour_wanted(bool is_tty, const char *no_color, const char *term)
{
        /* no-color.org: set and not empty disables colour, whatever its value. */
        if (no_color && *no_color)
                return false;
        return vt_term_capable(is_tty, term);
}

bool vt_cli_colour(const vt_cli *cli, FILE *f)
{
        /* --json is read by programs, on stdout and stderr alike. */
        if (cli->json)
                return false;
        return vt_term_colour_wanted(isatty(fileno(f)) == 1, getenv("NO_COLOR"), getenv("TERM"));
}

bool vt_cli_live_progress(const vt_cli *cli)
{
        if (cli->json || cli->verbosity != 0)
                return false;
        return vt_term_capable(isatty(STDOUT_FILENO) == 1, getenv("TERM"));
}

const char *vt_style_on(bool colour, vt_style s)
{
        if (!colour)
                return "";
        switch (s) {
        case VT_STYLE_ERROR:
        case VT_STYLE_FAILED:
        case VT_STYLE_REFUSED:
                return "\033[1;31m";
        case VT_STYLE_WARNING:
                return "\033[1;33m";
        case VT_STYLE_HINT:
                return "\033[1;36m";
        case VT_STYLE_OK:
                return "\033[32m";
        }
        return "";
}

const char *vt_style_end(bool colour)
{
        return colour ? "\033[0m" : "";
}

size_t vt_term_width(int fd)
{
        struct winsize ws;

        if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
                return 80;
        return ws.ws_col;
}

/* The length of the escape sequence at s (s[0] is ESC): CSI ("ESC [" parameters, then a final
 * byte 0x40-0x7e), OSC ("ESC ]" up to BEL or ESC \), or ESC and one more byte. */
static size_t escape_len(const char *s)
{
        size_t i = 2;

        if (s[1] == '[') {
                while (s[i] && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
                        i++;
                return s[i] ? i + 1 : i;
        }
        if (s[1] == ']') {
                for (; s[i]; i++) {
                        if (s[i] == '\a')
                                return i + 1;
                        if (s[i] == '\033' && s[i + 1] == '\\')
                                return i + 2;
                }
                return i;
        }
        return s[1] ? 2 : 1;
}

/* The bytes of the UTF-8 sequence that starts with byte c (1 for anything else). */
static size_t utf8_len(unsigned char c)
{
        if (c >= 0xf0 && c <= 0xf4)
                return 4;
        if (c >= 0xe0)
                return c <= 0xef ? 3 : 1;
        if (c >= 0xc2)
                return 2;
        return 1;
}

size_t vt_term_put_fit(vt_buf *out, const char *text, size_t max_cols)
{
        const char *p = text, *end = text + strlen(text);
        size_t cols = 0;

        /* A line ending in \r (CRLF) is the line before it; otherwise what follows the last
         * \r is what the tool's own terminal would show. */
        while (end > p && end[-1] == '\r')
                end--;
        for (const char *q = p; q < end; q++)
                if (*q == '\r')
                        p = q + 1;
        while (p < end && cols < max_cols) {
                unsigned char c = (unsigned char)*p;
                size_t n;

                if (c == '\033') {
                        p += escape_len(p);
                        continue;
                }
                if (c == '\t') {
                        vt_buf_putc(out, ' ');
                        cols++;
                        p++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        p++;
                        continue;
                }
                n = utf8_len(c);
                if (n > (size_t)(end - p))
                        break; /* a sequence cut short: never half a character */
                for (size_t k = 1; k < n; k++)
                        if (((unsigned char)p[k] & 0xc0) != 0x80)
                                n = 1;
                if (n == 1 && c >= 0x80) {
                        p++; /* not UTF-8: a terminal would show garbage */
                        continue;
                }
                vt_buf_put(out, p, n);
                cols++;
                p += n;
        }
        return cols;
}

void vt_term_progress_line(vt_buf *out, const char *counter, const char *cmd, const char *elapsed,
                           const char *last, size_t width)
{
        _cleanup_buf_ vt_buf probe = VT_BUF_INIT;
        size_t avail = width > 1 ? width - 1 : 0, used, need;

        /* The counter and " ... 12 s" stay; the command gets what is left of the line. */
        used = vt_term_put_fit(out, counter, avail);
        if (used < avail) {
                vt_buf_putc(out, ' ');
                used++;
        }
        need = 5 + vt_term_put_fit(&probe, elapsed, avail);
        used += vt_term_put_fit(out, cmd, avail > used + need ? avail - used - need : 0);
        if (used + need <= avail) {
                vt_buf_puts(out, " ... ");
                used += 5 + vt_term_put_fit(out, elapsed, avail - used - 5);
        }
        if (last && used + 3 <= avail) {
                size_t mark = out->len;

                vt_buf_puts(out, "  ");
                /* A blank line (only spaces, or only escapes) shows nothing rather than two
                 * trailing spaces. */
                if (vt_term_put_fit(out, last, avail - used - 2) == 0) {
                        out->len = mark;
                        if (out->ptr)
                                out->ptr[mark] = '\0';
                }
        }
}

const char *vt_term_tail(const char *text, size_t len, size_t max, size_t *skipped)
{
        const char *p, *nl;

        *skipped = 0;
        if (len <= max)
                return text;
        p = text + len - max;
        /* Right after a newline the cut is already a line boundary. */
        if (p[-1] != '\n') {
                nl = memchr(p, '\n', max);
                if (nl && nl + 1 < text + len)
                        p = nl + 1;
        }
        *skipped = (size_t)(p - text);
        return p;
}
