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
#include "engine/engine.h"
#include "journal/diff.h"

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

/* The diff a transaction made: against its first parent; for a failed or undone transaction,
 * what it attempted (its second parent) against the state before it. */
static int entry_diff(vt_engine *e, const vt_oid *oid, const vt_txn_info *info, vt_buf *out)
{
        _cleanup_snapshot_ vt_snapshot from = {0}, to = {0};
        vt_oid parents[2];
        int np, r;

        np = vt_journal_parents(e->journal, oid, parents);
        if (np < 0)
                return np;
        if (np == 0)
                return 0;
        r = vt_journal_load(e->journal, &parents[0], &from, NULL);
        if (r >= 0)
                r = vt_journal_load(e->journal, np == 2 ? &parents[1] : oid, &to, NULL);
        if (r >= 0 && np == 2 && info->attempted)
                vt_buf_printf(out, "attempted changes (not in effect):\n");
        if (r >= 0)
                r = vt_diff_snapshots(&from, &to, out);
        return r;
}

static json_object *entry_json(const vt_oid *oid, const vt_txn_info *t, const vt_buf *diff)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(t->id));
        json_object_object_add(o, "commit", json_object_new_string(VT_OID_TOSTR(oid)));
        json_object_object_add(o, "time", json_object_new_int64(t->time));
        json_object_object_add(o, "kind", json_object_new_string(t->kind ? t->kind : ""));
        json_object_object_add(o, "outcome", json_object_new_string(t->outcome ? t->outcome : ""));
        json_object_object_add(o, "summary", json_object_new_string(t->summary ? t->summary : ""));
        json_object_object_add(o, "forced", json_object_new_boolean(t->forced));
        if (t->detail)
                json_object_object_add(o, "detail", json_object_new_string(t->detail));
        if (t->argv)
                json_object_object_add(o, "command", json_object_new_string(t->argv));
        if (diff)
                json_object_object_add(o, "diff", json_object_new_string(vt_buf_cstr(diff)));
        return o;
}

static void print_entry(const vt_oid *oid, const vt_txn_info *t, bool full)
{
        char when[32];

        vt_cli_time(t->time, when);
        printf("%-5ld %s  %-9s %-9s %s%s\n", t->id, when, t->kind ? t->kind : "",
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

static int open_journal(vt_cli *cli, vt_engine *e, bool *empty)
{
        int r = vt_cli_open(cli, e, VT_ENGINE_READ);

        *empty = r >= 0 && (!e->have_journal || !e->state.exists);
        return r;
}

int vt_cmd_log(vt_cli *cli, int argc, char **argv)
{
        json_object *list = NULL;
        bool patch = false, empty;
        long max = -1, shown = 0;
        vt_oid cur;
        vt_engine e;
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
        r = open_journal(cli, &e, &empty);
        if (r < 0)
                goto out;
        if (cli->json)
                list = json_object_new_array();
        if (empty) {
                if (!cli->json)
                        vt_cli_info(cli, "no transactions yet\n");
                goto out;
        }
        cur = e.state.head;
        while (max < 0 || shown < max) {
                _cleanup_buf_ vt_buf diff = VT_BUF_INIT;
                vt_txn_info info = {0};
                vt_oid parents[2];
                int np;

                r = vt_journal_load(e.journal, &cur, NULL, &info);
                if (r >= 0 && patch)
                        r = entry_diff(&e, &cur, &info, &diff);
                if (r < 0) {
                        vt_txn_info_free(&info);
                        goto out;
                }
                if (list) {
                        json_object_array_add(list, entry_json(&cur, &info, patch ? &diff : NULL));
                } else {
                        print_entry(&cur, &info, patch);
                        if (patch && diff.len)
                                printf("\n%s\n", diff.ptr);
                }
                vt_txn_info_free(&info);
                shown++;
                np = vt_journal_parents(e.journal, &cur, parents);
                if (np <= 0) {
                        r = np;
                        break;
                }
                cur = parents[0];
        }
out:
        if (r >= 0 && list)
                printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY));
        json_object_put(list);
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "log") : VT_EXIT_OK;
}

int vt_cmd_show(vt_cli *cli, int argc, char **argv)
{
        _cleanup_buf_ vt_buf diff = VT_BUF_INIT;
        vt_txn_info info = {0};
        bool empty;
        vt_oid oid;
        vt_engine e;
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
        r = open_journal(cli, &e, &empty);
        if (r >= 0 && empty)
                r = vt_error_set(ENOENT, "no transactions yet on %s", cli->root);
        if (r >= 0)
                r = vt_journal_find(e.journal, argv[p.next], &oid);
        if (r >= 0)
                r = vt_journal_load(e.journal, &oid, NULL, &info);
        if (r >= 0)
                r = entry_diff(&e, &oid, &info, &diff);
        if (r >= 0) {
                if (cli->json) {
                        json_object *o = entry_json(&oid, &info, &diff);

                        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
                        json_object_put(o);
                } else {
                        print_entry(&oid, &info, true);
                        printf("\n%s", diff.len ? diff.ptr : "(no file changes)\n");
                }
        }
        vt_txn_info_free(&info);
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "show") : VT_EXIT_OK;
}
