/* import: apply a snapshot archive made by `vfiotx export` as a new transaction. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/op_import.h"

static const char import_help[] =
    "Usage: vfiotx [--root DIR] import FILE [-y]\n\n"
    "Restore the files of a snapshot archive made by 'vfiotx export' (bytes, mode, owner,\n"
    "xattrs) as a new transaction, the way 'vfiotx rollback' restores a snapshot: files the\n"
    "journal manages that did not exist in the snapshot are removed. The archive is checked\n"
    "completely before anything is written: links, devices, paths outside the files vfiotx\n"
    "manages, or headers that disagree with the manifest refuse it.\n\n"
    "  -y, --yes    do not ask for confirmation (needed when stdin is not a terminal)\n"
    "  --no-rebuild restore the files only; the rebuild stays pending for the next apply\n"
    "  -h, --help   this help\n";

int vt_cmd_import(vt_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
            {"yes", no_argument, NULL, 'y'},
            {"no-rebuild", no_argument, NULL, 'R'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        vt_op_restore_result res = {0};
        const char *file;
        bool yes = false, no_rebuild = false;
        vt_op_env env;
        vt_op_ui ui;
        int c, r;

        while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
                switch (c) {
                case 'y':
                        yes = true;
                        break;
                case 'R':
                        no_rebuild = true;
                        break;
                case 'h':
                        fputs(import_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(
                            cli, "import", "unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        if (optind + 1 != argc)
                return vt_cli_usage_error(cli, "import", "expected one archive file");
        file = argv[optind];

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_import(&env, &ui,
                         &(vt_op_import_req){.file = file, .yes = yes, .no_rebuild = no_rebuild},
                         &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "import");
        vt_cli_restore_render(cli, file, &res);
        if (res.txn)
                vt_cli_info(cli, "imported as transaction %ld\n", res.txn);
        return VT_EXIT_OK;
}
