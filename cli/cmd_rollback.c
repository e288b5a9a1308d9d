/* rollback: restore the last good snapshot (or a given transaction's) as a new transaction. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/engine.h"
#include "journal/diff.h"

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
};

static int rescue(vt_cli *cli, bool yes)
{
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        int r;

        vt_cli_warn(cli, "%s\n", vt_error_message() ? vt_error_message() : "journal damaged");
        vt_cli_warn(cli, "restoring the last good snapshot from its plain copy instead\n");
        if (!yes && !vt_cli_confirm(cli, "Restore the last good snapshot from its plain copy?"))
                return vt_error_hint(vt_error_set(ECANCELED, "not rolled back: no confirmation"),
                                     "pass -y to roll back without asking");
        vt_error_clear();
        r = vt_engine_rescue_from_copy(cli->root, cli->cmdline, &notes);
        vt_cli_notes(cli, notes.ptr);
        return r;
}

int vt_cmd_rollback(vt_cli *cli, int argc, char **argv)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        char summary[256], what[64];
        vt_op_restore_req req = {.kind = "rollback", .question = "Roll back these changes?"};
        vt_op_restore_result res = {0};
        vt_txn_info info = {0};
        const char *which = NULL;
        bool yes = false, no_rebuild = false;
        vt_oid oid;
        vt_op_env env;
        vt_op_ui ui;
        vt_engine e;
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
        r = vt_op_open(&e, &env, VT_ENGINE_WRITE, &ui);
        if (r == -EBADMSG && !which) {
                vt_engine_close(&e);
                r = rescue(cli, yes);
                return r < 0 ? vt_cli_fail(cli, r, "rollback") : VT_EXIT_OK;
        }
        if (r < 0)
                goto out;
        if (!e.state.exists) {
                r = vt_error_set(ENOENT, "nothing to roll back: vfiotx has not changed %s",
                                 cli->root);
                goto out;
        }
        if (which)
                r = vt_journal_find(e.journal, which, &oid);
        else
                oid = e.state.good;
        if (r >= 0)
                r = vt_journal_load(e.journal, &oid, &target, &info);
        if (r < 0)
                goto out;
        snprintf(summary, sizeof(summary), "roll back to %stransaction %ld (%s)",
                 which ? "" : "the last good ", info.id, info.summary ? info.summary : "");
        snprintf(what, sizeof(what), "transaction %ld", info.id);
        req.summary = summary;
        req.yes = yes;
        req.no_rebuild = no_rebuild;
        r = vt_op_restore(&e, &env, &ui, &target, &req, &res);
        if (r >= 0)
                vt_cli_restore_render(cli, what, &res);
        if (r >= 0 && res.txn)
                vt_cli_info(cli, "rolled back as transaction %ld\n", res.txn);
out:
        vt_txn_info_free(&info);
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "rollback") : VT_EXIT_OK;
}
