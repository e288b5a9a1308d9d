#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/term.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

int vt_cli_fail(const vt_cli *cli, int r, const char *what)
{
        const char *msg = vt_error_message();
        const char *hint = vt_error_hint_text();
        bool colour = vt_cli_colour(cli, stderr);
        char text[512];

        if (!msg) {
                snprintf(text, sizeof(text), "%s: %s", what, strerror(r < 0 ? -r : r));
                msg = text;
        }
        fprintf(stderr, "%s: %serror:%s %s\n", cli->prog, vt_style_on(colour, VT_STYLE_ERROR),
                vt_style_end(colour), msg);
        if (hint)
                fprintf(stderr, "%s: %shint:%s %s\n", cli->prog, vt_style_on(colour, VT_STYLE_HINT),
                        vt_style_end(colour), hint);
        if (cli->json)
                vt_cli_json_fail(cli, r, msg, hint);
        return cli->report && cli->report->refusals ? vt_cli_exit(cli, VT_OUTCOME_REFUSED)
                                                    : VT_EXIT_FAIL;
}

int vt_cli_usage_error(const vt_cli *cli, const char *cmd, const char *fmt, ...)
{
        char message[1024], hint[128];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        snprintf(hint, sizeof(hint), "Try '%s%s%s --help' for more information.", cli->prog,
                 cmd ? " " : "", cmd ? cmd : "");
        fprintf(stderr, "%s%s%s: %s\n%s\n", cli->prog, cmd ? " " : "", cmd ? cmd : "", message,
                hint);
        if (cli->json)
                vt_cli_json_usage(cli, message, hint);
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
        bool colour = vt_cli_colour(cli, stderr);
        va_list ap;

        fprintf(stderr, "%s: %swarning:%s ", cli->prog, vt_style_on(colour, VT_STYLE_WARNING),
                vt_style_end(colour));
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

int vt_cli_write_output(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (strcmp(path, "-") == 0)
                return vt_write_all(STDOUT_FILENO, data, len);
        /* The temporary name does not end in the final one's suffix: node_exporter reads only
         * *.prom, so it never sees a half-written file. */
        if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0)
                return vt_error_set(errno, "cannot create %s: %s", tmp, strerror(errno));
        r = vt_write_all(fd, data, len);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                vt_error_set(r, "cannot write %s: %s", path, strerror(-r));
                return vt_fs_error_hint(path, path, r);
        }
        return 0;
}
