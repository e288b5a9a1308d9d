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

enum { OPT_NO_REBUILD = VT_OPT_LONG };

static const vt_option rollback_options[] = {
    {'y', "yes", NULL, "do not ask for confirmation (needed when stdin is not a terminal)"},
    {OPT_NO_REBUILD, "no-rebuild", NULL,
     "restore the files only and leave the rebuild pending (a rescue shell\n"
     "without a working chroot); the next apply completes it"},
    {0},
};

static const vt_option_group rollback_groups[] = {
    {NULL, "Options", rollback_options},
    {0},
};

const vt_command vt_command_rollback = {
    .name = "rollback",
    .run = vt_cmd_rollback,
    .summary = "restore the last good snapshot (or TXN)",
    .operands = "[TXN]",
    .operand_kind = "txn",
    .description =
        "Restore the files of the last good snapshot, or of transaction TXN (see 'vfiotx log'),\n"
        "as a new transaction: bytes, mode, owner and xattrs; files that did not exist then are\n"
        "removed. Works from a rescue system with --root pointing at the mounted host, and\n"
        "from the plain copy of the good snapshot when the journal is damaged.\n"
        "The initramfs and boot configuration are rebuilt for the restored files inside the\n"
        "transaction, as apply does (chrooted into --root).\n",
    .groups = rollback_groups,
    .esps = true,
};

int vt_cmd_rollback(vt_cli *cli, int argc, char **argv)
{
        vt_op_rollback_result res;
        const char *which = NULL;
        bool yes = false, no_rebuild = false;
        char what[64];
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_rollback, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                if (c == 'y')
                        yes = true;
                else if (c == OPT_NO_REBUILD)
                        no_rebuild = true;
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                which = argv[p.next++];
        if (p.next < argc)
                return vt_cli_usage_error(cli, "rollback", "unexpected argument '%s'",
                                          argv[p.next]);

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_rollback(
            &env, &ui, &(vt_op_rollback_req){.which = which, .yes = yes, .no_rebuild = no_rebuild},
            &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "rollback");
        if (res.rescued)
                return vt_cli_restore_done(cli, NULL, &res.restore, true, 0);
        snprintf(what, sizeof(what), "transaction %ld", res.target_txn);
        vt_cli_restore_render(cli, what, &res.restore);
        if (res.restore.txn)
                vt_cli_info(cli, "rolled back as transaction %ld\n", res.restore.txn);
        return vt_cli_restore_done(cli, NULL, &res.restore, false, res.target_txn);
}
