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

enum { OPT_NO_REBUILD = VT_OPT_LONG };

static const vt_option import_options[] = {
    {'y', "yes", NULL, "do not ask for confirmation (needed when stdin is not a terminal)"},
    {OPT_NO_REBUILD, "no-rebuild", NULL,
     "restore the files only; the rebuild stays pending for the next apply"},
    {0},
};

static const vt_option_group import_groups[] = {
    {NULL, "Options", import_options},
    {0},
};

const vt_command vt_command_import = {
    .name = "import",
    .run = vt_cmd_import,
    .summary = "apply a snapshot archive made by export, as a transaction",
    .operands = "FILE",
    .operand_kind = "file",
    .description =
        "Restore the files of a snapshot archive made by 'vfiotx export' (bytes, mode, owner,\n"
        "xattrs) as a new transaction, the way 'vfiotx rollback' restores a snapshot: files the\n"
        "journal manages that did not exist in the snapshot are removed. The archive is checked\n"
        "completely before anything is written: links, devices, paths outside the files vfiotx\n"
        "manages, or headers that disagree with the manifest refuse it.\n",
    .groups = import_groups,
};

int vt_cmd_import(vt_cli *cli, int argc, char **argv)
{
        vt_op_restore_result res = {0};
        const char *file;
        bool yes = false, no_rebuild = false;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_import, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                if (c == 'y')
                        yes = true;
                else if (c == OPT_NO_REBUILD)
                        no_rebuild = true;
        }
        if (c < 0)
                return p.exit;
        if (p.next + 1 != argc)
                return vt_cli_usage_error(cli, "import", "expected one archive file");
        file = argv[p.next];

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
        return vt_cli_restore_done(cli, NULL, &res, false, 0);
}
