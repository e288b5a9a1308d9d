/* engine/engine.c: the transaction on a temporary root. The first transaction records the
 * baseline; a change is one "apply" entry whose tree is the disk; files edited by hand are
 * recorded as "drift" before the change; nothing to do writes no entry; a step that fails
 * (VFIOTX_FAILPOINT_FAIL=N, every N in turn) leaves every file as before and records a failed
 * entry; an interrupted transaction is finished or undone on the next open, never a mix. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "engine/engine.h"

#define OLD_MODULES "# /etc/modules\nloop\n"
#define NEW_MODULES "# /etc/modules\nloop\nvfio\nvfio_pci\n"
#define NEW_CONF    "options vfio-pci ids=10de:1b80\n"
#define CONF        "/etc/modprobe.d/vfiotx.conf"

static void open_engine(vt_engine *e, const char *dir, vt_buf *notes)
{
        assert_int_equal(vt_engine_open(e, dir, VT_ENGINE_WRITE, "vfiotx test", notes), 0);
}

/* The target of the tests: /etc/modules changed, a modprobe.d file created. */
static void make_target(vt_snapshot *t)
{
        *t = (vt_snapshot){0};
        assert_int_equal(vt_snapshot_put(t, "/etc/modules", NEW_MODULES, strlen(NEW_MODULES), NULL),
                         0);
        assert_int_equal(vt_snapshot_put(t, CONF, NEW_CONF, strlen(NEW_CONF), NULL), 0);
}

static void assert_file(const char *dir, const char *rel, const char *want)
{
        char *text = slurp(dir, rel);

        if (!want) {
                assert_null(text);
                return;
        }
        assert_non_null(text);
        assert_string_equal(text, want);
        free(text);
}

/* The bytes of `path` in a journal snapshot (NULL when absent). */
static const char *snap_bytes(const vt_snapshot *s, const char *path)
{
        const vt_snap_file *f = vt_snapshot_find(s, path);

        return f && f->present ? vt_buf_cstr((vt_buf *)&f->data) : NULL;
}

static void assert_snap(const vt_snapshot *s, const char *path, const char *want)
{
        const char *got = snap_bytes(s, path);

        if (!want)
                assert_null(got);
        else
                assert_string_equal(got, want);
}

static const vt_txn_request apply_req = {.kind = "apply", .summary = "test apply"};

/* A root with /etc/modules and a journal whose head is the baseline (transaction 1). */
static char *baseline_root(void)
{
        char *dir = make_tmpdir();
        _cleanup_snapshot_ vt_snapshot same = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_engine e;
        long txn = -1;

        write_file(dir, "etc/modules", OLD_MODULES);
        open_engine(&e, dir, &notes);
        /* Nothing to change: only the baseline is written. */
        assert_int_equal(
            vt_snapshot_put(&same, "/etc/modules", OLD_MODULES, strlen(OLD_MODULES), NULL), 0);
        assert_int_equal(vt_engine_transact(&e, &apply_req, &same, &txn, &notes), 0);
        assert_int_equal(txn, 0);
        assert_int_equal(e.state.txn, 1);
        vt_engine_close(&e);
        return dir;
}

static void test_first_transaction(void **state)
{
        char *dir = make_tmpdir();
        _cleanup_snapshot_ vt_snapshot target = {0}, head = {0}, base = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_txn_info info = {0};
        vt_oid parents[2], journal_ref, good_ref;
        vt_engine e;
        long txn = -1;

        (void)state;
        write_file(dir, "etc/modules", OLD_MODULES);
        open_engine(&e, dir, &notes);
        make_target(&target);
        assert_int_equal(vt_engine_transact(&e, &apply_req, &target, &txn, &notes), 0);
        /* 1 records the files as vfiotx found them, 2 is the change. */
        assert_int_equal(txn, 2);
        assert_file(dir, "etc/modules", NEW_MODULES);
        assert_file(dir, "etc/modprobe.d/vfiotx.conf", NEW_CONF);

        /* The head entry: the target's bytes, kind and outcome, one parent: the baseline. */
        assert_int_equal(vt_engine_head(&e, &head, &info), 0);
        assert_int_equal(info.id, 2);
        assert_string_equal(info.kind, "apply");
        assert_string_equal(info.outcome, "applied");
        assert_string_equal(info.summary, "test apply");
        assert_snap(&head, "/etc/modules", NEW_MODULES);
        assert_snap(&head, CONF, NEW_CONF);
        vt_txn_info_free(&info);
        assert_int_equal(vt_journal_parents(e.journal, &e.state.head, parents), 1);
        assert_int_equal(vt_journal_load(e.journal, &parents[0], &base, &info), 0);
        assert_int_equal(info.id, 1);
        assert_string_equal(info.kind, "baseline");
        assert_snap(&base, "/etc/modules", OLD_MODULES);
        /* A file vfiotx creates is recorded as absent before it. */
        assert_non_null(vt_snapshot_find(&base, CONF));
        assert_false(vt_snapshot_find(&base, CONF)->present);
        vt_txn_info_free(&info);

        /* The state file is the commit point: idle, the head; the baseline is the good one;
         * the refs agree and nothing is pending. */
        assert_int_equal(e.state.phase, VT_PHASE_IDLE);
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_JOURNAL, &journal_ref), 0);
        assert_true(vt_oid_equal(&journal_ref, &e.state.head));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_GOOD, &good_ref), 0);
        assert_true(vt_oid_equal(&good_ref, &parents[0]));
        assert_true(e.state.has_good && vt_oid_equal(&e.state.good, &parents[0]));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_PENDING, &journal_ref), -ENOENT);
        vt_error_clear();
        vt_engine_close(&e);
        rm_rf(dir);
}

/* Asked again for what is on disk: no entry, no state change. */
static void test_nothing_to_do(void **state)
{
        char *dir = baseline_root(), *before_state, *after_state;
        _cleanup_snapshot_ vt_snapshot target = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_oid head_before, ref;
        vt_engine e;
        long txn = -1;

        (void)state;
        open_engine(&e, dir, &notes);
        make_target(&target);
        assert_int_equal(vt_engine_transact(&e, &apply_req, &target, &txn, &notes), 0);
        assert_int_equal(txn, 2);
        head_before = e.state.head;
        before_state = slurp(dir, "var/lib/vfiotx/state");

        txn = -1;
        assert_int_equal(vt_engine_transact(&e, &apply_req, &target, &txn, &notes), 0);
        assert_int_equal(txn, 0);
        assert_int_equal(e.state.txn, 2);
        assert_true(vt_oid_equal(&e.state.head, &head_before));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_JOURNAL, &ref), 0);
        assert_true(vt_oid_equal(&ref, &head_before));
        after_state = slurp(dir, "var/lib/vfiotx/state");
        assert_string_equal(after_state, before_state);
        assert_int_equal(notes.len, 0);
        free(before_state);
        free(after_state);
        vt_engine_close(&e);
        rm_rf(dir);
}

/* A file edited by hand since the head is committed first, as its own entry, so the change
 * that follows has the user's bytes as its parent and nothing the user wrote is lost. */
static void test_drift_first(void **state)
{
        char *dir = baseline_root();
        _cleanup_snapshot_ vt_snapshot target = {0}, drift = {0}, head = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT, changed = VT_BUF_INIT;
        vt_txn_info info = {0};
        vt_oid parents[2];
        vt_engine e;
        long txn = -1;

        (void)state;
        write_file(dir, "etc/modules", "# edited by hand\n");
        open_engine(&e, dir, &notes);
        assert_int_equal(vt_engine_drift(&e, &changed), 1);
        assert_string_equal(vt_buf_cstr(&changed), "/etc/modules\n");

        /* The target changes only the modprobe.d file: the hand edit stays. */
        assert_int_equal(vt_snapshot_put(&target, CONF, NEW_CONF, strlen(NEW_CONF), NULL), 0);
        assert_int_equal(vt_engine_transact(&e, &apply_req, &target, &txn, &notes), 0);
        assert_int_equal(txn, 3);
        assert_non_null(strstr(vt_buf_cstr(&notes), "recorded as transaction 2"));
        assert_file(dir, "etc/modules", "# edited by hand\n");
        assert_file(dir, "etc/modprobe.d/vfiotx.conf", NEW_CONF);

        assert_int_equal(vt_engine_head(&e, &head, &info), 0);
        assert_string_equal(info.kind, "apply");
        assert_snap(&head, "/etc/modules", "# edited by hand\n");
        assert_snap(&head, CONF, NEW_CONF);
        vt_txn_info_free(&info);
        assert_int_equal(vt_journal_parents(e.journal, &e.state.head, parents), 1);
        assert_int_equal(vt_journal_load(e.journal, &parents[0], &drift, &info), 0);
        assert_int_equal(info.id, 2);
        assert_string_equal(info.kind, "drift");
        assert_non_null(strstr(info.summary, "/etc/modules"));
        assert_snap(&drift, "/etc/modules", "# edited by hand\n");
        assert_snap(&drift, CONF, NULL);
        vt_txn_info_free(&info);

        changed.len = 0;
        assert_int_equal(vt_engine_drift(&e, &changed), 0);
        vt_engine_close(&e);
        rm_rf(dir);
}

static void set_failpoint(unsigned n)
{
        char v[16];

        if (n) {
                snprintf(v, sizeof(v), "%u", n);
                setenv("VFIOTX_FAILPOINT_FAIL", v, 1);
        } else {
                unsetenv("VFIOTX_FAILPOINT_FAIL");
        }
        vt_failpoint_reset();
}

/* Every step of a transaction fails in turn. Whatever the step: the call either succeeds
 * (the step came after the commit point: the files are the target's) or fails with every file
 * as before; once the intent was written, the failure is recorded as a "failed" entry whose
 * tree is the before snapshot and whose second parent is the attempted one (or, when the
 * intent is on disk but its own write reported the failure, the next open records it as
 * undone). Reopening never changes a file. */
static void test_failure_at_each_step(void **state)
{
        unsigned failed_entries = 0, undone = 0, n;

        (void)state;
        for (n = 1;; n++) {
                char *dir = baseline_root();
                _cleanup_snapshot_ vt_snapshot target = {0}, head = {0}, attempted = {0};
                _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
                vt_txn_info info = {0};
                vt_root root = VT_ROOT_INIT;
                vt_state st;
                vt_oid parents[2];
                vt_engine e;
                long txn = -1;
                int r;

                open_engine(&e, dir, &notes);
                make_target(&target);
                set_failpoint(n);
                r = vt_engine_transact(&e, &apply_req, &target, &txn, &notes);
                if (vt_failpoint_count() < n) {
                        /* Past the last step: this one ran clean. */
                        set_failpoint(0);
                        assert_int_equal(r, 0);
                        vt_engine_close(&e);
                        rm_rf(dir);
                        break;
                }
                set_failpoint(0);
                vt_engine_close(&e);
                if (r == 0) {
                        assert_int_equal(txn, 2);
                        assert_file(dir, "etc/modules", NEW_MODULES);
                        assert_file(dir, "etc/modprobe.d/vfiotx.conf", NEW_CONF);
                        /* A ref left behind is brought in line on the next open. */
                        open_engine(&e, dir, &notes);
                        assert_int_equal(e.state.txn, 2);
                        assert_int_equal(vt_engine_head(&e, &head, &info), 0);
                        assert_string_equal(info.outcome, "applied");
                        vt_txn_info_free(&info);
                        vt_engine_close(&e);
                        rm_rf(dir);
                        continue;
                }
                assert_int_equal(r, -EIO);
                vt_error_clear();
                assert_file(dir, "etc/modules", OLD_MODULES);
                assert_file(dir, "etc/modprobe.d/vfiotx.conf", NULL);
                /* The intent's file can be in place when a step after its rename failed (the
                 * directory's fsync): no file was written yet, and recovery undoes it. */
                assert_int_equal(vt_root_open(&root, dir), 0);
                assert_int_equal(vt_state_read(&root, &st), 0);
                vt_root_close(&root);

                /* Reopened: every file still as before. */
                notes.len = 0;
                open_engine(&e, dir, &notes);
                if (st.phase == VT_PHASE_APPLYING) {
                        assert_non_null(strstr(vt_buf_cstr(&notes), "was undone"));
                        undone++;
                } else {
                        assert_int_equal(notes.len, 0);
                }
                assert_int_equal(e.state.phase, VT_PHASE_IDLE);
                assert_file(dir, "etc/modules", OLD_MODULES);
                assert_file(dir, "etc/modprobe.d/vfiotx.conf", NULL);
                assert_int_equal(vt_engine_head(&e, &head, &info), 0);
                assert_snap(&head, "/etc/modules", OLD_MODULES);
                assert_snap(&head, CONF, NULL);
                if (st.phase == VT_PHASE_APPLYING) {
                        assert_int_equal(info.id, 2);
                        assert_string_equal(info.kind, "recovery");
                        assert_string_equal(info.outcome, "undone");
                } else if (info.id == 2) {
                        /* The intent was written: the failure is in the journal. */
                        assert_string_equal(info.kind, "apply");
                        assert_string_equal(info.outcome, "failed");
                        assert_non_null(info.detail);
                        assert_non_null(info.attempted);
                        assert_int_equal(vt_journal_parents(e.journal, &e.state.head, parents), 2);
                        assert_int_equal(vt_journal_load(e.journal, &parents[1], &attempted, NULL),
                                         0);
                        assert_snap(&attempted, "/etc/modules", NEW_MODULES);
                        assert_snap(&attempted, CONF, NEW_CONF);
                        failed_entries++;
                } else {
                        /* Failed before the intent: no entry at all. */
                        assert_int_equal(info.id, 1);
                        assert_string_equal(info.kind, "baseline");
                }
                vt_txn_info_free(&info);
                vt_engine_close(&e);
                rm_rf(dir);
        }
        /* The walk reached the file writes (more than a handful of steps) and some failures
         * happened with the intent written. */
        assert_true(n > 5);
        assert_true(failed_entries > 0);
        /* Only the intent's last step (after its rename) leaves an intent to recover. */
        assert_int_equal(undone, 1);
}

/* Write the intent of transaction 2 (the target commit kept under the pending ref) as a crash
 * after it would have left it, with the disk as `modules` and `conf`. */
static void crash_after_intent(const char *dir, const char *modules, const char *conf)
{
        _cleanup_snapshot_ vt_snapshot target = {0}, head = {0}, next = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_txn_info info = {
            .id = 2, .kind = "apply", .summary = "crashed apply", .outcome = "applied"};
        vt_oid next_oid;
        vt_engine e;

        open_engine(&e, dir, &notes);
        make_target(&target);
        assert_int_equal(vt_engine_head(&e, &head, NULL), 0);
        assert_int_equal(vt_snapshot_copy(&next, &head), 0);
        for (size_t i = 0; i < target.n; i++)
                assert_int_equal(vt_snapshot_put(&next, target.files[i].path,
                                                 vt_buf_cstr(&target.files[i].data),
                                                 target.files[i].data.len, NULL),
                                 0);
        assert_int_equal(vt_journal_commit(e.journal, &next, &info, &e.state.head, 1, &next_oid),
                         0);
        assert_int_equal(vt_journal_set_ref(e.journal, VT_REF_PENDING, &next_oid, NULL, "pending"),
                         0);
        e.state.phase = VT_PHASE_APPLYING;
        e.state.intent_txn = 2;
        snprintf(e.state.intent_kind, sizeof(e.state.intent_kind), "apply");
        e.state.before = e.state.head;
        e.state.target = next_oid;
        e.state.txn = 2;
        assert_int_equal(vt_engine_write_state(&e), 0);
        vt_engine_close(&e);
        write_file(dir, "etc/modules", modules);
        if (conf)
                write_file(dir, "etc/modprobe.d/vfiotx.conf", conf);
}

/* Every file written before the crash: the transaction is finished (state idle, head and ref
 * on the target), with no new entry. */
static void test_recover_finished(void **state)
{
        char *dir = baseline_root();
        _cleanup_snapshot_ vt_snapshot head = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_txn_info info = {0};
        vt_oid ref;
        vt_engine e;

        (void)state;
        crash_after_intent(dir, NEW_MODULES, NEW_CONF);
        open_engine(&e, dir, &notes);
        assert_non_null(strstr(vt_buf_cstr(&notes), "now complete"));
        assert_int_equal(e.state.phase, VT_PHASE_IDLE);
        assert_int_equal(e.state.txn, 2);
        assert_true(vt_oid_equal(&e.state.head, &e.state.target));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_JOURNAL, &ref), 0);
        assert_true(vt_oid_equal(&ref, &e.state.head));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_PENDING, &ref), -ENOENT);
        vt_error_clear();
        assert_int_equal(vt_engine_head(&e, &head, &info), 0);
        assert_string_equal(info.summary, "crashed apply");
        assert_string_equal(info.outcome, "applied");
        vt_txn_info_free(&info);
        assert_file(dir, "etc/modules", NEW_MODULES);
        assert_file(dir, "etc/modprobe.d/vfiotx.conf", NEW_CONF);
        vt_engine_close(&e);
        rm_rf(dir);
}

/* Half the files written: every one goes back to the before snapshot (the created file
 * removed), and a "recovery" entry records the transaction as undone. */
static void test_recover_undone(void **state)
{
        char *dir = baseline_root();
        _cleanup_snapshot_ vt_snapshot head = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_txn_info info = {0};
        vt_oid parents[2], ref;
        vt_engine e;

        (void)state;
        crash_after_intent(dir, NEW_MODULES, NULL);
        open_engine(&e, dir, &notes);
        assert_non_null(strstr(vt_buf_cstr(&notes), "was undone"));
        assert_file(dir, "etc/modules", OLD_MODULES);
        assert_file(dir, "etc/modprobe.d/vfiotx.conf", NULL);
        assert_int_equal(e.state.phase, VT_PHASE_IDLE);
        assert_int_equal(e.state.txn, 2);
        assert_int_equal(vt_engine_head(&e, &head, &info), 0);
        assert_int_equal(info.id, 2);
        assert_string_equal(info.kind, "recovery");
        assert_string_equal(info.outcome, "undone");
        assert_non_null(strstr(info.summary, "crashed apply"));
        vt_txn_info_free(&info);
        assert_snap(&head, "/etc/modules", OLD_MODULES);
        assert_snap(&head, CONF, NULL);
        assert_int_equal(vt_journal_parents(e.journal, &e.state.head, parents), 2);
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_JOURNAL, &ref), 0);
        assert_true(vt_oid_equal(&ref, &e.state.head));
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_PENDING, &ref), -ENOENT);
        vt_error_clear();
        vt_engine_close(&e);
        rm_rf(dir);
}

static int setup(void **state)
{
        (void)state;
        unsetenv("VFIOTX_FAILPOINT_FAIL");
        unsetenv("VFIOTX_FAILPOINT_KILL");
        vt_failpoint_reset();
        vt_engine_set_lock_timeout(1000);
        return vt_journal_global_init() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        (void)state;
        vt_journal_global_shutdown();
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_transaction), cmocka_unit_test(test_nothing_to_do),
            cmocka_unit_test(test_drift_first),       cmocka_unit_test(test_failure_at_each_step),
            cmocka_unit_test(test_recover_finished),  cmocka_unit_test(test_recover_undone),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
