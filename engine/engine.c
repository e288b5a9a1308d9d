#include "engine/engine.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/rebuild_plan.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "fs/atomic_file.h"
#include "journal/good_copy.h"
#include "journal/lock.h"
#include "journal/managed_paths.h"

static int lock_timeout_ms = 60000;

void vt_engine_set_lock_timeout(int ms)
{
        lock_timeout_ms = ms;
}

static int save_error(char **out)
{
        const char *m = vt_error_message();

        *out = strdup(m ? m : "unknown error");
        return *out ? 0 : -ENOMEM;
}

void vt_engine_close(vt_engine *e)
{
        vt_journal_close(e->journal);
        e->journal = NULL;
        vt_root_close(&e->root);
        vt_lock_release(e->lock_fd);
        e->lock_fd = -1;
}

/* `base` (a JSON object or NULL) with `key` set to the JSON value `value`. */
static char *merge_extra(const char *base, const char *key, const char *value)
{
        json_object *o = base ? json_tokener_parse(base) : NULL, *v = json_tokener_parse(value);
        char *out;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = json_object_new_object();
        }
        json_object_object_add(o, key, v);
        out = strdup(json_object_to_json_string(o));
        json_object_put(o);
        return out;
}

int vt_engine_set_pending_rebuild(vt_engine *e, bool pending)
{
        if (e->boot.pending_rebuild == pending || !e->state.exists)
                return 0;
        e->boot.pending_rebuild = pending;
        return vt_boot_state_write(&e->root, &e->state, &e->boot);
}

static bool has_head(vt_engine *e)
{
        return e->have_journal && e->state.exists;
}

int vt_engine_head(vt_engine *e, vt_snapshot *out, vt_txn_info *info)
{
        *out = (vt_snapshot){0};
        if (!has_head(e))
                return 0;
        return vt_journal_load(e->journal, &e->state.head, out, info);
}

/* `s` plus an absent entry for every path of `paths` it does not list. */
static int with_absent(vt_snapshot *s, const vt_snapshot *paths)
{
        for (size_t i = 0; i < paths->n; i++)
                if (!vt_snapshot_find(s, paths->files[i].path)) {
                        int r = vt_snapshot_put(s, paths->files[i].path, NULL, 0, NULL);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool snapshots_equal(const vt_snapshot *a, const vt_snapshot *b)
{
        for (size_t i = 0; i < a->n; i++) {
                const vt_snap_file *o = vt_snapshot_find(b, a->files[i].path);

                if (o ? !vt_snap_file_equal(&a->files[i], o) : a->files[i].present)
                        return false;
        }
        for (size_t i = 0; i < b->n; i++)
                if (!vt_snapshot_find(a, b->files[i].path) && b->files[i].present)
                        return false;
        return true;
}

static int paths_of(const vt_snapshot *s, const char ***out)
{
        const char **p = calloc(s->n + 1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                p[i] = s->files[i].path;
        *out = p;
        return 0;
}

static int move_journal_to(vt_engine *e, const vt_oid *target, const char *msg)
{
        return vt_journal_follow_ref(e->journal, VT_REF_JOURNAL, target, msg);
}

static int set_good(vt_engine *e, const vt_oid *oid, const vt_snapshot *snap, long txn)
{
        char msg[64];
        int r;

        snprintf(msg, sizeof(msg), "good: txn %ld", txn);
        r = vt_journal_follow_ref(e->journal, VT_REF_GOOD, oid, msg);
        if (r < 0)
                return r;
        return vt_good_copy_write(&e->root, snap, txn);
}

/* Commit a snapshot as the new head, outside of any file change: the state file is the commit
 * point, then the journal ref follows. A root commit (no parents: the baseline, or a journal
 * begun anew from the plain copy) is the good snapshot too, and the same state write says so:
 * a state with a head but no good one would leave a later rollback nothing to return to
 * (issue 14, 3). Its good ref and plain copy follow; recovery redoes them if they are cut
 * short. */
static int commit_head(vt_engine *e, const vt_snapshot *snap, vt_txn_info *info,
                       const vt_oid *parents, size_t np, vt_oid *out)
{
        int r;

        r = vt_managed_paths_record(&e->root, snap);
        if (r >= 0)
                r = vt_journal_commit(e->journal, snap, info, parents, np, out);
        if (r < 0)
                return r;
        e->state.exists = true;
        e->state.phase = VT_PHASE_IDLE;
        e->state.txn = info->id;
        e->state.head = *out;
        if (np == 0) {
                e->state.good = *out;
                e->state.has_good = true;
        }
        r = vt_boot_state_write(&e->root, &e->state, &e->boot);
        if (r >= 0)
                r = move_journal_to(e, out, info->summary);
        if (r >= 0 && np == 0)
                r = set_good(e, out, snap, info->id);
        return r;
}

/* The good snapshot, as the state file names it, with its ref and its plain copy. A state
 * written before the root commit carried the good one (issue 14, 3) names none: the good
 * snapshot is then the baseline, the first commit of the head's history. The plain copy is
 * written after the state file names the snapshot, so a crash or a full disk can leave it
 * missing or older (issue 14, 4), and a disk can damage it: it is written again from the
 * journal. */
static int repair_good(vt_engine *e, vt_buf *notes)
{
        _cleanup_snapshot_ vt_snapshot good = {0};
        vt_txn_info info = {0};
        long copy_txn = -1;
        int r;

        if (!e->state.has_good) {
                vt_oid cur = e->state.head, parents[2];

                for (size_t n = 0; n < 1000000; n++) {
                        r = vt_journal_parents(e->journal, &cur, parents);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        cur = parents[0];
                }
                e->state.good = cur;
                e->state.has_good = true;
                r = vt_boot_state_write(&e->root, &e->state, &e->boot);
                if (r < 0)
                        return r;
                vt_buf_printf(notes, "recovered: the state file named no good snapshot; it is now "
                                     "the first one recorded\n");
        }
        r = vt_journal_load(e->journal, &e->state.good, NULL, &info);
        if (r < 0)
                return r;
        /* Read in full, so that a damaged copy (a file cut short or zeroed, a damaged manifest)
         * is written anew while the journal can still give the bytes. */
        if (vt_good_copy_read(&e->root, &good, &copy_txn) >= 0 && copy_txn == info.id) {
                vt_txn_info_free(&info);
                return 0;
        }
        vt_error_clear();
        vt_snapshot_free(&good);
        r = vt_journal_load(e->journal, &e->state.good, &good, NULL);
        if (r >= 0)
                r = set_good(e, &e->state.good, &good, info.id);
        vt_txn_info_free(&info);
        return r;
}

static int recover(vt_engine *e, vt_buf *notes)
{
        _cleanup_snapshot_ vt_snapshot before = {0}, target = {0};
        vt_txn_info tinfo = {0};
        int r;

        if (e->state.phase == VT_PHASE_APPLYING) {
                r = vt_journal_load(e->journal, &e->state.target, &target, &tinfo);
                if (r >= 0)
                        r = vt_journal_load(e->journal, &e->state.before, &before, NULL);
                if (r >= 0)
                        r = with_absent(&before, &target);
                if (r >= 0)
                        r = with_absent(&target, &before);
                if (r < 0)
                        goto out;
                r = vt_snapshot_matches_disk(&e->root, &target);
                if (r < 0)
                        goto out;
                /* With rebuild steps in flight, the files being there says nothing about the
                 * artifacts: undo, and leave a rebuild for the restored files pending. */
                if (e->boot.intent_rebuild) {
                        e->boot.pending_rebuild = true;
                        r = 0;
                }
                if (r == 1) {
                        /* Every file was written: only the commit point was missing. */
                        e->state.phase = VT_PHASE_IDLE;
                        e->state.head = e->state.target;
                        e->state.txn = e->state.intent_txn;
                        r = vt_boot_state_write(&e->root, &e->state, &e->boot);
                        if (r >= 0)
                                r = move_journal_to(e, &e->state.head, "recovery: finished");
                        if (r >= 0)
                                vt_buf_printf(notes,
                                              "recovered: interrupted transaction %ld (%s) had "
                                              "written every file; it is now complete\n",
                                              e->state.intent_txn, e->state.intent_kind);
                } else {
                        vt_txn_info info = {0};
                        char summary[256], attempted[VT_OID_HEXSZ + 1];
                        vt_oid parents[2] = {e->state.before, e->state.target}, out;

                        r = vt_snapshot_restore(&e->root, &before);
                        if (r < 0) {
                                vt_error_wrap(r, "recovering interrupted transaction %ld",
                                              e->state.intent_txn);
                                goto out;
                        }
                        snprintf(summary, sizeof(summary), "interrupted %s undone: %s",
                                 e->state.intent_kind, tinfo.summary ? tinfo.summary : "");
                        vt_oid_tostr(&e->state.target, attempted);
                        info.id = e->state.intent_txn;
                        info.kind = "recovery";
                        info.summary = summary;
                        info.outcome = "undone";
                        info.attempted = attempted;
                        info.argv = (char *)e->argv;
                        info.time = time(NULL);
                        info.detail = "vfiotx was interrupted while writing files; every file was "
                                      "put back to its state before the transaction";
                        r = commit_head(e, &before, &info, parents, 2, &out);
                        if (r >= 0)
                                vt_buf_printf(notes,
                                              "recovered: interrupted transaction %ld (%s) was "
                                              "undone; every file is back to its state before "
                                              "it\n",
                                              e->state.intent_txn, e->state.intent_kind);
                }
        } else if (e->state.exists) {
                r = move_journal_to(e, &e->state.head, "recovery: follow state");
                if (r >= 0 && e->state.has_good)
                        r = vt_journal_follow_ref(e->journal, VT_REF_GOOD, &e->state.good,
                                                  "recovery: follow state");
                if (r < 0)
                        goto out;
        } else {
                r = 0;
        }
        if (r >= 0)
                r = vt_journal_delete_ref(e->journal, VT_REF_PENDING);
        if (r >= 0)
                vt_error_clear();
        if (r >= 0 && e->state.exists)
                r = repair_good(e, notes);
out:
        vt_txn_info_free(&tinfo);
        return r;
}

int vt_engine_open(vt_engine *e, const char *root, unsigned flags, const char *argv, vt_buf *notes)
{
        _cleanup_snapshot_ vt_snapshot head = {0};
        int r;

        *e = (vt_engine){.root = VT_ROOT_INIT, .lock_fd = -1};
        e->argv = argv;
        e->writable = flags & VT_ENGINE_WRITE;
        r = vt_root_open(&e->root, root);
        if (r < 0)
                return r;
        if (e->writable) {
                r = vt_lock_take(&e->root, lock_timeout_ms, NULL, &e->lock_fd);
                if (r < 0)
                        return r;
        }
        r = vt_boot_state_read(&e->root, &e->state, &e->boot);
        if (r < 0)
                return r;
        r = vt_journal_open(&e->root, e->writable, &e->journal);
        if (r == -ENOENT && !e->writable) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        e->have_journal = true;
        if (!e->writable)
                return 0;
        vt_journal_clear_stale_locks(e->journal);
        r = vt_journal_repair_refs(e->journal);
        if (r >= 0)
                r = recover(e, notes);
        if (r < 0)
                return r;
        /* Temporary files of a write that was cut short. */
        r = vt_engine_head(e, &head, NULL);
        for (size_t i = 0; r >= 0 && i < head.n; i++)
                r = vt_atomic_cleanup(&e->root, head.files[i].path);
        return r;
}

int vt_engine_capture(vt_engine *e, const char *const *extra, vt_snapshot *out)
{
        _cleanup_snapshot_ vt_snapshot head = {0};
        _cleanup_free_ const char **paths = NULL;
        int r;

        r = vt_engine_head(e, &head, NULL);
        for (size_t i = 0; r >= 0 && extra && extra[i]; i++)
                if (!vt_snapshot_find(&head, extra[i]))
                        r = vt_snapshot_put(&head, extra[i], NULL, 0, NULL);
        if (r >= 0)
                r = paths_of(&head, &paths);
        if (r < 0)
                return r;
        return vt_snapshot_capture(&e->root, paths, head.n, out);
}

int vt_engine_complete_target(vt_engine *e, vt_snapshot *target)
{
        _cleanup_snapshot_ vt_snapshot head = {0};
        _cleanup_free_ vt_oid *chain = NULL;
        _cleanup_free_ bool *done = NULL;
        size_t n = 0, cap = 0, missing = 0;
        vt_oid cur = e->state.head;
        int r;

        r = vt_engine_head(e, &head, NULL);
        if (r < 0)
                return r;
        done = calloc(head.n + 1, sizeof(*done));
        if (!done)
                return -ENOMEM;
        for (size_t i = 0; i < head.n; i++) {
                done[i] = vt_snapshot_find(target, head.files[i].path) != NULL;
                missing += !done[i];
        }
        if (!missing)
                return 0;
        /* The first-parent history from the head, oldest last. */
        for (;;) {
                vt_oid parents[2];

                if (n == cap) {
                        vt_oid *c = realloc(chain, (cap = cap ? cap * 2 : 64) * sizeof(*c));

                        if (!c)
                                return -ENOMEM;
                        chain = c;
                }
                chain[n++] = cur;
                r = vt_journal_parents(e->journal, &cur, parents);
                if (r < 0)
                        return r;
                if (r == 0 || n > 1000000)
                        break;
                cur = parents[0];
        }
        for (size_t k = n; k-- > 0 && missing;) {
                _cleanup_snapshot_ vt_snapshot s = {0};

                r = vt_journal_load(e->journal, &chain[k], &s, NULL);
                if (r < 0)
                        return r;
                for (size_t i = 0; r >= 0 && i < head.n; i++) {
                        const vt_snap_file *f;

                        if (done[i] || !(f = vt_snapshot_find(&s, head.files[i].path)))
                                continue;
                        r = vt_snapshot_put(target, f->path,
                                            f->present ? vt_buf_cstr(&f->data) : NULL, f->data.len,
                                            f->present ? &f->meta : NULL);
                        done[i] = true;
                        missing--;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int vt_engine_drift(vt_engine *e, vt_buf *out)
{
        _cleanup_snapshot_ vt_snapshot head = {0}, disk = {0};
        int r, drift = 0;

        r = vt_engine_head(e, &head, NULL);
        if (r >= 0)
                r = vt_engine_capture(e, NULL, &disk);
        if (r < 0)
                return r;
        for (size_t i = 0; i < head.n; i++)
                if (!vt_snap_file_equal(&head.files[i], &disk.files[i])) {
                        vt_buf_printf(out, "%s\n", head.files[i].path);
                        drift = 1;
                }
        return drift;
}

/* Commit what is on disk when it differs from the head: drift, or the baseline. */
static int commit_drift(vt_engine *e, const vt_snapshot *head, const vt_snapshot *disk,
                        vt_buf *notes)
{
        _cleanup_buf_ vt_buf changed = VT_BUF_INIT, added = VT_BUF_INIT, summary = VT_BUF_INIT;
        vt_txn_info info = {0};
        bool first = !has_head(e);
        vt_oid out;
        int r;

        /* A file the head does not list was not managed yet: finding it is no change made
         * outside vfiotx (issue 14, 18), but its bytes are recorded all the same, so that a
         * rollback can give them back. */
        for (size_t i = 0; i < disk->n; i++) {
                const vt_snap_file *h = vt_snapshot_find(head, disk->files[i].path);

                if (h && !vt_snap_file_equal(h, &disk->files[i]))
                        vt_buf_printf(&changed, "%s%s", changed.len ? ", " : "",
                                      disk->files[i].path);
                else if (!h && disk->files[i].present)
                        vt_buf_printf(&added, "%s%s", added.len ? ", " : "", disk->files[i].path);
        }
        if (!first && changed.len == 0 && added.len == 0)
                return 0;
        info.id = e->state.txn + 1;
        info.kind = first ? "baseline" : changed.len ? "drift" : "found";
        info.outcome = "recorded";
        info.time = time(NULL);
        info.argv = (char *)e->argv;
        if (first) {
                info.summary = "the host's files before vfiotx's first transaction";
        } else {
                if (changed.len)
                        vt_buf_printf(&summary, "changed outside vfiotx: %s",
                                      vt_buf_cstr(&changed));
                if (added.len)
                        vt_buf_printf(&summary, "%snow managed, as found: %s",
                                      summary.len ? "; " : "", vt_buf_cstr(&added));
                info.summary = summary.ptr;
        }
        r = commit_head(e, disk, &info, first ? NULL : &e->state.head, first ? 0 : 1, &out);
        if (r < 0)
                return r;
        /* Said only once it is true (issue 14, 14: a refused apply said it had recorded a
         * transaction that never came to be). */
        if (changed.len)
                vt_buf_printf(notes, "recorded as transaction %ld: %s\n", info.id, info.summary);
        if (!first && added.len && e->state.has_good) {
                /* The plain good copy has no history to ask: it gets the found files' bytes, so
                 * that a rollback from it puts them back as found too. A copy that cannot be
                 * read is left as it is (the journal still has the found entry). */
                _cleanup_snapshot_ vt_snapshot good = {0};
                long good_txn = 0;

                if (vt_good_copy_read(&e->root, &good, &good_txn) >= 0) {
                        for (size_t i = 0; r >= 0 && i < disk->n; i++) {
                                const vt_snap_file *f = &disk->files[i];

                                if (f->present && !vt_snapshot_find(head, f->path) &&
                                    !vt_snapshot_find(&good, f->path))
                                        r = vt_snapshot_put(&good, f->path, vt_buf_cstr(&f->data),
                                                            f->data.len, &f->meta);
                        }
                        if (r >= 0)
                                r = vt_good_copy_write(&e->root, &good, good_txn);
                        if (r < 0)
                                return r;
                }
                vt_error_clear();
        }
        e->have_journal = true;
        return r;
}

int vt_engine_transact(vt_engine *e, const vt_txn_request *req, const vt_snapshot *target,
                       long *txn_out, vt_buf *notes)
{
        _cleanup_snapshot_ vt_snapshot head = {0}, disk = {0}, next = {0};
        _cleanup_free_ const char **target_paths = NULL;
        _cleanup_free_ char *error = NULL, *extra = NULL;
        _cleanup_buf_ vt_buf record = VT_BUF_INIT;
        vt_txn_info info = {0};
        vt_oid before, next_oid, fail_oid;
        char attempted[VT_OID_HEXSZ + 1];
        int r, r2;

        *txn_out = 0;
        if (!e->writable)
                return vt_error_set(EPERM, "internal: engine opened read-only");
        r = paths_of(target, &target_paths);
        if (r >= 0)
                r = vt_engine_head(e, &head, NULL);
        if (r >= 0)
                r = vt_engine_capture(e, target_paths, &disk);
        /* (the head as it is: a path it does not list is one vfiotx starts managing now) */
        if (r >= 0)
                r = commit_drift(e, &head, &disk, notes);
        if (r < 0)
                return r;
        before = e->state.head;

        /* The next snapshot: everything as on disk now, with the target's files. */
        r = vt_snapshot_copy(&next, &disk);
        for (size_t i = 0; r >= 0 && i < target->n; i++) {
                const vt_snap_file *f = &target->files[i];

                r = vt_snapshot_put(&next, f->path, f->present ? vt_buf_cstr(&f->data) : NULL,
                                    f->data.len, &f->meta);
        }
        if (r < 0)
                return r;
        if (snapshots_equal(&next, &disk))
                return 0;

        info.id = e->state.txn + 1;
        info.kind = (char *)req->kind;
        info.summary = (char *)req->summary;
        info.outcome = "applied";
        info.forced = req->forced;
        info.argv = (char *)e->argv;
        info.extra = (char *)req->extra;
        info.time = time(NULL);
        r = vt_managed_paths_record(&e->root, &next);
        if (r >= 0)
                r = vt_journal_commit(e->journal, &next, &info, &before, 1, &next_oid);
        if (r >= 0)
                r = vt_journal_delete_ref(e->journal, VT_REF_PENDING);
        if (r >= 0)
                r = vt_journal_set_ref(e->journal, VT_REF_PENDING, &next_oid, NULL, req->summary);
        if (r < 0)
                return r;

        /* The intent: from here on, recovery knows which files may be half-way. */
        e->state.phase = VT_PHASE_APPLYING;
        e->state.intent_txn = info.id;
        snprintf(e->state.intent_kind, sizeof(e->state.intent_kind), "%s", req->kind);
        e->state.before = before;
        e->state.target = next_oid;
        e->boot.intent_rebuild = req->rebuild != NULL;
        e->state.txn = info.id;
        r = vt_boot_state_write(&e->root, &e->state, &e->boot);
        if (r < 0) {
                e->state.phase = VT_PHASE_IDLE;
                return r;
        }

        r = vt_snapshot_restore(&e->root, &next);
        if (r >= 0 && req->rebuild) {
                r = req->rebuild(req->userdata, &record);
                /* The entry carries what the steps did: written now, with the record. */
                if (r >= 0) {
                        extra = merge_extra(req->extra, "rebuild", vt_buf_cstr(&record));
                        info.extra = extra;
                        r = extra
                                ? vt_journal_commit(e->journal, &next, &info, &before, 1, &next_oid)
                                : -ENOMEM;
                }
        }
        if (r >= 0) {
                /* The commit point. */
                e->state.phase = VT_PHASE_IDLE;
                e->state.head = next_oid;
                e->boot.pending_rebuild =
                    req->rebuild ? false : (e->boot.pending_rebuild || req->pending_rebuild);
                r = vt_boot_state_write(&e->root, &e->state, &e->boot);
                if (r < 0) {
                        e->state.phase = VT_PHASE_APPLYING;
                        e->state.head = before;
                }
        }
        if (r < 0) {
                vt_oid parents[2] = {before, e->state.target};
                _cleanup_buf_ vt_buf undo_record = VT_BUF_INIT;
                _cleanup_free_ char *detail = NULL;
                bool undo_failed = false;

                save_error(&error);
                r2 = vt_snapshot_restore(&e->root, &disk);
                if (r2 < 0)
                        return vt_error_hint(
                            vt_error_set(r, "%s; putting the files back failed too: %s", error,
                                         vt_error_message()),
                            "fix the cause (a full disk: free some space), then run any "
                            "vfiotx command that changes the host (apply, rollback, confirm): "
                            "it first completes or undoes this transaction, whichever the files "
                            "on disk allow");
                if (req->rebuild_undo && req->rebuild_undo(req->userdata, &undo_record) < 0) {
                        /* The artifacts may not match the restored files: say so and keep a
                         * rebuild pending, never claim a clean undo. */
                        undo_failed = true;
                        e->boot.pending_rebuild = true;
                }
                vt_oid_tostr(&e->state.target, attempted);
                if (asprintf(&detail, "%s%s", error,
                             undo_failed ? "\n(rebuilding for the restored files failed too: a "
                                           "rebuild is pending)"
                                         : "") < 0)
                        detail = NULL;
                info.outcome = "failed";
                info.detail = detail ? detail : error;
                info.attempted = attempted;
                info.time = time(NULL);
                info.extra = NULL;
                free(extra);
                extra =
                    record.len ? merge_extra(req->extra, "rebuild", vt_buf_cstr(&record)) : NULL;
                info.extra = extra ? extra : (char *)req->extra;
                e->boot.intent_rebuild = false;
                r2 = commit_head(e, &disk, &info, parents, 2, &fail_oid);
                if (r2 >= 0)
                        r2 = vt_journal_delete_ref(e->journal, VT_REF_PENDING);
                vt_error_set(r, "%s; every file was put back as it was%s%s", error,
                             req->rebuild_undo ? (undo_failed ? " (but rebuilding for them failed: "
                                                                "run 'vfiotx apply' to retry)"
                                                              : " and rebuilt")
                                               : "",
                             r2 < 0 ? " (the journal will record the failure at the next vfiotx "
                                      "command)"
                                    : "");
                return r;
        }

        /* Committed: the refs follow. If moving them fails, the transaction still happened
         * (the state file says so) and the next command moves them. */
        r = move_journal_to(e, &next_oid, req->summary);
        if (r >= 0)
                r = vt_journal_delete_ref(e->journal, VT_REF_PENDING);
        if (r < 0)
                vt_buf_printf(notes,
                              "note: the journal refs could not be updated (%s); the next vfiotx "
                              "command brings them in line\n",
                              vt_error_message() ? vt_error_message() : "error");
        vt_error_clear();
        *txn_out = info.id;
        return 0;
}

int vt_engine_baseline(vt_engine *e)
{
        _cleanup_snapshot_ vt_snapshot disk = {0}, none = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        int r;

        if (has_head(e))
                return 0;
        r = vt_engine_capture(e, NULL, &disk);
        return r < 0 ? r : commit_drift(e, &none, &disk, &notes);
}

int vt_engine_record(vt_engine *e, vt_txn_info *info)
{
        _cleanup_snapshot_ vt_snapshot head = {0};
        vt_oid out;
        int r;

        if (!has_head(e))
                return vt_error_set(ENOENT, "nothing recorded on %s yet", e->root.path);
        r = vt_engine_head(e, &head, NULL);
        if (r < 0)
                return r;
        info->id = e->state.txn + 1;
        return commit_head(e, &head, info, &e->state.head, 1, &out);
}

int vt_engine_record_disk(vt_engine *e, const char *kind, const char *summary, const char *detail,
                          long *txn_out)
{
        _cleanup_snapshot_ vt_snapshot head = {0}, disk = {0};
        vt_txn_info info = {0};
        vt_oid out;
        int r;

        *txn_out = 0;
        if (!e->writable)
                return vt_error_set(EPERM, "internal: engine opened read-only");
        r = vt_engine_head(e, &head, NULL);
        if (r >= 0)
                r = vt_engine_capture(e, NULL, &disk);
        if (r >= 0)
                r = with_absent(&head, &disk);
        if (r < 0)
                return r;
        info.id = e->state.txn + 1;
        info.kind = (char *)kind;
        info.summary = (char *)summary;
        info.detail = (char *)detail;
        info.outcome = "recorded";
        info.time = time(NULL);
        info.argv = (char *)e->argv;
        r = commit_head(e, &disk, &info, has_head(e) ? &e->state.head : NULL, has_head(e) ? 1 : 0,
                        &out);
        if (r >= 0)
                *txn_out = info.id;
        e->have_journal = true;
        return r;
}

int vt_engine_head_info(vt_engine *e, vt_txn_info *out)
{
        *out = (vt_txn_info){0};
        if (!has_head(e))
                return 0;
        return vt_journal_load(e->journal, &e->state.head, NULL, out);
}

int vt_engine_write_state(vt_engine *e)
{
        return vt_boot_state_write(&e->root, &e->state, &e->boot);
}

int vt_engine_confirm(vt_engine *e, long *txn_out)
{
        _cleanup_snapshot_ vt_snapshot head = {0};
        vt_txn_info info = {0};
        int r;

        if (!has_head(e))
                return vt_error_set(ENOENT,
                                    "nothing to confirm: vfiotx has not applied anything "
                                    "on %s",
                                    e->root.path);
        r = vt_engine_head(e, &head, &info);
        if (r < 0)
                return r;
        *txn_out = info.id;
        vt_txn_info_free(&info);
        if (e->state.has_good && vt_oid_equal(&e->state.good, &e->state.head))
                return 0;
        e->state.good = e->state.head;
        e->state.has_good = true;
        r = vt_boot_state_write(&e->root, &e->state, &e->boot);
        if (r >= 0)
                r = set_good(e, &e->state.head, &head, *txn_out);
        return r;
}

int vt_engine_rescue_from_copy(const char *root, const char *argv, vt_buf *notes)
{
        _cleanup_snapshot_ vt_snapshot good = {0};
        _cleanup_free_ char *damaged = NULL;
        char summary[512];
        vt_txn_info info = {0};
        vt_engine e;
        long good_txn = 0;
        vt_oid out;
        int r;

        e = (vt_engine){.root = VT_ROOT_INIT, .lock_fd = -1};
        e.argv = argv;
        e.writable = true;
        r = vt_root_open(&e.root, root);
        if (r >= 0)
                r = vt_lock_take(&e.root, lock_timeout_ms, NULL, &e.lock_fd);
        if (r >= 0) {
                r = vt_good_copy_read(&e.root, &good, &good_txn);
                /* Nothing to restore from: the files stay as they are, and the way on is a new
                 * journal that starts from them. */
                if (r < 0)
                        vt_journal_aside_hint(&e.root, r);
        }
        if (r >= 0)
                r = vt_managed_paths_add_absent(&e.root, &good, vt_path_vfiotx_own);
        if (r >= 0)
                r = vt_snapshot_restore(&e.root, &good);
        if (r < 0)
                goto out;
        vt_buf_printf(notes,
                      "restored the last good snapshot (transaction %ld) from its plain "
                      "copy\n",
                      good_txn);

        /* Keep the damaged journal for inspection and start a new one from what is on disk. */
        if (vt_boot_state_read(&e.root, &e.state, &e.boot) < 0)
                e.state = (vt_state){0};
        r = vt_journal_set_aside(&e.root, &damaged);
        if (r < 0)
                goto out;
        r = vt_journal_open(&e.root, true, &e.journal);
        if (r < 0)
                goto out;
        e.have_journal = true;
        snprintf(summary, sizeof(summary),
                 "restored the good snapshot (txn %ld) from its plain copy; the damaged journal "
                 "is kept at %s/%s",
                 good_txn, VT_JOURNAL_DIR, damaged);
        info.id = (e.state.txn > good_txn ? e.state.txn : good_txn) + 1;
        info.kind = "rollback";
        info.summary = summary;
        info.outcome = "applied";
        info.argv = (char *)argv;
        info.time = time(NULL);
        e.state = (vt_state){0};
        e.boot = (vt_boot_state){0};
        r = commit_head(&e, &good, &info, NULL, 0, &out);
        if (r >= 0)
                vt_buf_printf(notes, "%s\n", summary);
out:
        vt_engine_close(&e);
        return r;
}
