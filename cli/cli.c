#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

int vt_cli_fail(const vt_cli *cli, int r, const char *what)
{
        const char *msg = vt_error_message();
        const char *hint = vt_error_hint_text();

        if (msg)
                fprintf(stderr, "%s: error: %s\n", cli->prog, msg);
        else
                fprintf(stderr, "%s: error: %s: %s\n", cli->prog, what, strerror(r < 0 ? -r : r));
        if (hint)
                fprintf(stderr, "%s: hint: %s\n", cli->prog, hint);
        return VT_EXIT_FAIL;
}

int vt_cli_usage_error(const vt_cli *cli, const char *cmd, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s%s%s: ", cli->prog, cmd ? " " : "", cmd ? cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", cli->prog, cmd ? " " : "",
                cmd ? cmd : "");
        return VT_EXIT_USAGE;
}

void vt_cli_info(const vt_cli *cli, const char *fmt, ...)
{
        va_list ap;

        if (cli->verbosity < 0)
                return;
        va_start(ap, fmt);
        vfprintf(cli->json ? stderr : stdout, fmt, ap);
        va_end(ap);
}

void vt_cli_warn(const vt_cli *cli, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: warning: ", cli->prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
}

bool vt_cli_confirm(const vt_cli *cli, const char *question)
{
        char line[64];

        if (!isatty(STDIN_FILENO))
                return false;
        fprintf(stderr, "%s [y/N] ", question);
        fflush(stderr);
        if (!fgets(line, sizeof(line), stdin))
                return false;
        (void)cli;
        return line[0] == 'y' || line[0] == 'Y';
}

void vt_cli_notes(const vt_cli *cli, const char *notes)
{
        if (notes && *notes)
                vt_cli_info(cli, "%s", notes);
}

void vt_cli_time(long long epoch, char out[32])
{
        time_t t = (time_t)epoch;
        struct tm tm;

        if (localtime_r(&t, &tm))
                strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
        else
                snprintf(out, 32, "%lld", epoch);
}
