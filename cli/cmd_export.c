/* export: write a snapshot of the journal as a tar archive (engine/snapshot_archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/op_export.h"

static const vt_option export_options[] = {
    {'o', "output", "FILE", "where to write the archive ('-': standard output)"},
    {0},
};

static const vt_option_group export_groups[] = {
    {NULL, "Options", export_options},
    {0},
};

const vt_command vt_command_export = {
    .name = "export",
    .run = vt_cmd_export,
    .summary = "write a snapshot as a tar archive (with owners, xattrs)",
    .operands = "[TXN]",
    .operand_kind = "txn",
    .description =
        "Write the files of a snapshot (default: the applied one; TXN: that transaction's, see\n"
        "'vfiotx log') as a zstd-compressed tar archive with owners, modes and xattrs, plus the\n"
        "snapshot's manifest.json. For bug reports and rescue media; 'vfiotx import' applies it.\n"
        "List it with: tar --xattrs -tvf FILE\n",
    .groups = export_groups,
};

int vt_cmd_export(vt_cli *cli, int argc, char **argv)
{
        vt_op_export_result res = {.archive = VT_BUF_INIT};
        const char *output = NULL, *which = NULL;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_export, argc, argv);
        while ((c = vt_opts_next(&p)) > 0)
                if (c == 'o')
                        output = p.arg;
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                which = argv[p.next++];
        if (p.next < argc)
                return vt_cli_usage_error(cli, "export", "unexpected argument '%s'", argv[p.next]);
        if (!output)
                return vt_cli_usage_error(cli, "export", "missing -o FILE");
        if (cli->json && strcmp(output, "-") == 0)
                return vt_cli_usage_error(cli, "export", "-o - and --json both write stdout");

        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_export(&env, &ui, which, &res);
        if (r >= 0)
                r = vt_cli_write_output(output, res.archive.ptr, res.archive.len, 0600);
        if (r >= 0 && strcmp(output, "-") != 0)
                vt_cli_info(cli, "exported transaction %ld (%zu files) to %s\n", res.txn,
                            res.n_files, output);
        vt_buf_free(&res.archive);
        if (r < 0)
                return vt_cli_fail(cli, r, "export");
        if (cli->json) {
                json_object *doc = vt_cli_doc(cli);

                json_object_object_add(doc, "transaction", json_object_new_int64(res.txn));
                json_object_object_add(doc, "files", json_object_new_int64((int64_t)res.n_files));
                json_object_object_add(doc, "output", json_object_new_string(output));
                return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
        }
        return VT_EXIT_OK;
}
