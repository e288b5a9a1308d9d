#include "engine/op_log.h"

#include <errno.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/macro.h"
#include "journal/diff.h"

/* The diff a transaction made: against its first parent; for a failed or undone transaction,
 * what it attempted (its second parent) against the state before it. */
static int entry_diff(vt_engine *e, vt_op_log_entry *entry)
{
        _cleanup_snapshot_ vt_snapshot from = {0}, to = {0};
        vt_oid parents[2];
        int np, r;

        np = vt_journal_parents(e->journal, &entry->commit, parents);
        if (np < 0)
                return np;
        if (np == 0)
                return 0;
        r = vt_journal_load(e->journal, &parents[0], &from, NULL);
        if (r >= 0)
                r = vt_journal_load(e->journal, np == 2 ? &parents[1] : &entry->commit, &to, NULL);
        if (r >= 0 && np == 2 && entry->info.attempted)
                r = vt_buf_printf(&entry->diff, "attempted changes (not in effect):\n");
        if (r >= 0)
                r = vt_diff_snapshots(&from, &to, &entry->diff);
        return r;
}

static int open_journal(const vt_op_env *env, const vt_op_ui *ui, vt_engine *e, bool *empty)
{
        int r = vt_op_open(e, env, VT_ENGINE_READ, ui);

        *empty = r >= 0 && (!e->have_journal || !e->state.exists);
        return r;
}

/* Read the entry at `commit` (and its diff) into a new item of res. */
static int add_entry(vt_engine *e, const vt_oid *commit, bool patch, vt_op_log_result *res)
{
        vt_op_log_entry *grown = realloc(res->items, (res->n + 1) * sizeof(*grown)), *entry;
        int r;

        if (!grown)
                return -ENOMEM;
        res->items = grown;
        entry = &grown[res->n++];
        *entry = (vt_op_log_entry){.commit = *commit, .diff = VT_BUF_INIT};
        r = vt_journal_load(e->journal, commit, NULL, &entry->info);
        if (r >= 0 && patch)
                r = entry_diff(e, entry);
        if (r < 0) {
                /* Shown only when read whole. */
                vt_op_log_entry_free(entry);
                res->n--;
        }
        return r;
}

int vt_op_log(const vt_op_env *env, const vt_op_ui *ui, const vt_op_log_req *req,
              vt_op_log_result *res)
{
        vt_oid cur;
        vt_engine e;
        int r;

        *res = (vt_op_log_result){0};
        r = open_journal(env, ui, &e, &res->empty);
        if (r < 0 || res->empty)
                goto out;
        cur = e.state.head;
        while (req->max < 0 || (long)res->n < req->max) {
                vt_oid parents[2];
                int np;

                r = add_entry(&e, &cur, req->patch, res);
                if (r < 0)
                        break;
                np = vt_journal_parents(e.journal, &cur, parents);
                if (np <= 0) {
                        r = np;
                        break;
                }
                cur = parents[0];
        }
out:
        vt_engine_close(&e);
        return r;
}

void vt_op_log_entry_free(vt_op_log_entry *entry)
{
        vt_txn_info_free(&entry->info);
        vt_buf_free(&entry->diff);
}

void vt_op_log_result_free(vt_op_log_result *res)
{
        for (size_t i = 0; i < res->n; i++)
                vt_op_log_entry_free(&res->items[i]);
        free(res->items);
        *res = (vt_op_log_result){0};
}

int vt_op_show(const vt_op_env *env, const vt_op_ui *ui, const char *which, vt_op_log_entry *res)
{
        bool empty;
        vt_engine e;
        int r;

        *res = (vt_op_log_entry){.diff = VT_BUF_INIT};
        r = open_journal(env, ui, &e, &empty);
        if (r >= 0 && empty)
                r = vt_error_set(ENOENT, "no transactions yet on %s", env->root);
        if (r >= 0)
                r = vt_journal_find(e.journal, which, &res->commit);
        if (r >= 0)
                r = vt_journal_load(e.journal, &res->commit, NULL, &res->info);
        if (r >= 0)
                r = entry_diff(&e, res);
        vt_engine_close(&e);
        return r;
}
