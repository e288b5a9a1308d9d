/* export: write a snapshot of the journal as a tar archive (engine/snapshot_archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/op_export.h"

static const char export_help[] =
    "Usage: vfiotx [--root DIR] export [TXN] -o FILE\n\n"
    "Write the files of a snapshot (default: the applied one; TXN: that transaction's, see\n"
    "'vfiotx log') as a zstd-compressed tar archive with owners, modes and xattrs, plus the\n"
    "snapshot's manifest.json. For bug reports and rescue media; 'vfiotx import' applies it.\n"
    "List it with: tar --xattrs -tvf FILE\n\n"
    "  -o, --output FILE   where to write the archive ('-': standard output)\n"
    "  -h, --help          this help\n";

/* Write the archive next to its final name, then rename: a failed export leaves no torn file. */
static int write_output(const char *path, const vt_buf *data)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (strcmp(path, "-") == 0)
                return vt_write_all(STDOUT_FILENO, data->ptr, data->len);
        if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return vt_error_set(errno, "cannot create %s: %s", path, strerror(errno));
        r = vt_write_all(fd, data->ptr, data->len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return vt_error_set(r, "cannot write %s: %s", path, strerror(-r));
        }
        return 0;
}

int vt_cmd_export(vt_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
            {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        vt_op_export_result res = {.archive = VT_BUF_INIT};
        const char *output = NULL, *which = NULL;
        vt_op_env env;
        vt_op_ui ui;
        int c, r;

        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        output = optarg;
                        break;
                case 'h':
                        fputs(export_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(
                            cli, "export", "unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                which = argv[optind++];
        if (optind < argc)
                return vt_cli_usage_error(cli, "export", "unexpected argument '%s'", argv[optind]);
        if (!output)
                return vt_cli_usage_error(cli, "export", "missing -o FILE");

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_export(&env, &ui, which, &res);
        if (r >= 0)
                r = write_output(output, &res.archive);
        if (r >= 0 && strcmp(output, "-") != 0)
                vt_cli_info(cli, "exported transaction %ld (%zu files) to %s\n", res.txn,
                            res.n_files, output);
        vt_buf_free(&res.archive);
        return r < 0 ? vt_cli_fail(cli, r, "export") : VT_EXIT_OK;
}
