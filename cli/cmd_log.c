/* log and show: the journal's history, newest first, with diffs on request. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/op_log.h"

static const vt_option log_options[] = {
    {'p', "patch", NULL, "show each transaction's diff"},
    {'n', "max", "N", "show at most N transactions"},
    {0},
};

static const vt_option_group log_groups[] = {
    {NULL, "Options", log_options},
    {0},
};

const vt_command vt_command_log = {
    .name = "log",
    .run = vt_cmd_log,
    .summary = "list transactions, newest first",
    .description = "List transactions, newest first: number, time, kind, outcome, summary.\n",
    .groups = log_groups,
};

const vt_command vt_command_show = {
    .name = "show",
    .run = vt_cmd_show,
    .summary = "show one transaction with its diff",
    .operands = "TXN",
    .operand_kind = "txn",
    .description = "Show one transaction (by number, or by 4+ hex digits of its commit) with its\n"
                   "command line, any error, and its diff.\n",
};

/* A journal entry: the shared transaction object and what log and show add to it. */
static json_object *entry_json(const vt_oid *oid, const vt_txn_info *t, const vt_buf *diff)
{
        json_object *o = vt_json_txn(t);

        if (!o)
                return NULL;
        json_object_object_add(o, "commit", json_object_new_string(VT_OID_TOSTR(oid)));
        json_object_object_add(o, "forced", json_object_new_boolean(t->forced));
        json_object_object_add(o, "detail", vt_json_str(t->detail));
        json_object_object_add(o, "command_line", vt_json_str(t->argv));
        if (diff)
                json_object_object_add(o, "diff", json_object_new_string(vt_buf_cstr(diff)));
        return o;
}

static void print_entry(const vt_oid *oid, const vt_txn_info *t, bool full)
{
        char when[32];

        vt_cli_time(t->time, when);
        printf("%-5ld %s  %-10s %-9s %s%s\n", t->id, when, t->kind ? t->kind : "",
               t->outcome ? t->outcome : "", t->summary ? t->summary : "",
               t->forced ? " [forced]" : "");
        if (!full)
                return;
        printf("      commit %s\n", VT_OID_TOSTR(oid));
        if (t->argv)
                printf("      command: %s\n", t->argv);
        if (t->detail)
                printf("      detail: %s\n", t->detail);
}

int vt_cmd_log(vt_cli *cli, int argc, char **argv)
{
        _cleanup_(vt_op_log_result_free) vt_op_log_result res = {0};
        json_object *list = NULL;
        bool patch = false;
        long max = -1;
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_log, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                char *end;

                if (c == 'p') {
                        patch = true;
                } else if (c == 'n') {
                        max = strtol(p.arg, &end, 10);
                        if (!*p.arg || *end || max < 0)
                                return vt_cli_usage_error(cli, "log", "-n takes a number, not '%s'",
                                                          p.arg);
                }
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, "log", "unexpected argument '%s'", argv[p.next]);
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_log(&env, &ui, &(vt_op_log_req){.patch = patch, .max = max}, &res);
        if (r >= 0 && res.empty && !cli->json)
                vt_cli_info(cli, "no transactions yet\n");
        if (cli->json) {
                list = json_object_new_array();
                for (size_t i = 0; i < res.n; i++)
                        json_object_array_add(list,
                                              entry_json(&res.items[i].commit, &res.items[i].info,
                                                         patch ? &res.items[i].diff : NULL));
                if (r >= 0) {
                        json_object *doc = vt_cli_doc(cli);

                        json_object_object_add(doc, "transactions", list);
                        return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
                }
                json_object_put(list);
        } else {
                /* What was read before a failure is shown, then the failure. */
                for (size_t i = 0; i < res.n; i++) {
                        print_entry(&res.items[i].commit, &res.items[i].info, patch);
                        if (patch && res.items[i].diff.len)
                                printf("\n%s\n", res.items[i].diff.ptr);
                }
        }
        return r < 0 ? vt_cli_fail(cli, r, "log") : VT_EXIT_OK;
}

int vt_cmd_show(vt_cli *cli, int argc, char **argv)
{
        _cleanup_(vt_op_log_entry_free) vt_op_log_entry entry = {0};
        vt_op_env env;
        vt_op_ui ui;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_show, argc, argv);
        while ((c = vt_opts_next(&p)) > 0)
                ;
        if (c < 0)
                return p.exit;
        if (p.next + 1 != argc)
                return vt_cli_usage_error(cli, "show",
                                          "expected one transaction (see 'vfiotx log')");
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        r = vt_op_show(&env, &ui, argv[p.next], &entry);
        if (r < 0)
                return vt_cli_fail(cli, r, "show");
        if (cli->json) {
                json_object *doc = vt_cli_doc(cli);

                json_object_object_add(doc, "transaction",
                                       entry_json(&entry.commit, &entry.info, &entry.diff));
                return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
        } else {
                print_entry(&entry.commit, &entry.info, true);
                printf("\n%s", entry.diff.len ? entry.diff.ptr : "(no file changes)\n");
        }
        return VT_EXIT_OK;
}
