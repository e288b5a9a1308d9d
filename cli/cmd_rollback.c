/* rollback: restore the last good snapshot (or a given transaction's) as a new transaction. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/op_rollback.h"

static const char rollback_help[] =
    "Usage: vfiotx [--root DIR] rollback [TXN] [-y] [--no-rebuild]\n\n"
    "Restore the files of the last good snapshot, or of transaction TXN (see 'vfiotx log'),\n"
    "as a new transaction: bytes, mode, owner and xattrs; files that did not exist then are\n"
    "removed. Works from a rescue system with --root pointing at the mounted host, and\n"
    "from the plain copy of the good snapshot when the journal is damaged.\n\n"
    "The initramfs and boot configuration are rebuilt for the restored files inside the\n"
    "transaction, as apply does (chrooted into --root).\n\n"
    "  -y, --yes    do not ask for confirmation (needed when stdin is not a terminal)\n"
    "  --no-rebuild restore the files only and leave the rebuild pending (a rescue shell\n"
    "               without a working chroot); the next apply completes it\n"
    "  -h, --help   this help\n";

int vt_cmd_rollback(vt_cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
            {"yes", no_argument, NULL, 'y'},
            {"no-rebuild", no_argument, NULL, 'R'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        vt_op_rollback_result res;
        const char *which = NULL;
        bool yes = false, no_rebuild = false;
        char what[64];
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
                        fputs(rollback_help, stdout);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(
                            cli, "rollback", "unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                which = argv[optind++];
        if (optind < argc)
                return vt_cli_usage_error(cli, "rollback", "unexpected argument '%s'",
                                          argv[optind]);

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_rollback(
            &env, &ui, &(vt_op_rollback_req){.which = which, .yes = yes, .no_rebuild = no_rebuild},
            &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "rollback");
        if (res.rescued)
                return VT_EXIT_OK;
        snprintf(what, sizeof(what), "transaction %ld", res.target_txn);
        vt_cli_restore_render(cli, what, &res.restore);
        if (res.restore.txn)
                vt_cli_info(cli, "rolled back as transaction %ld\n", res.restore.txn);
        return VT_EXIT_OK;
}
