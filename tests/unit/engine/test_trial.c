/* engine/trial.c: the boot-counted trial on a temporary root whose grubenv the real
 * grub-editenv made (skipped without it). Every transition is checked on its three records:
 * the state file (reopened), the journal entry, and grubenv as grub-editenv lists it; GRUB's
 * own steps (the decrement, the fallback) are made with grub-editenv as GRUB's save_env would.
 * The last good entry (vt_trial_preserve) is left out: it copies a kernel and runs nothing
 * here, tests/cli/test_trial.sh covers it. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "engine/trial.h"

#define MODULES "# /etc/modules\nvfio\nvfio_pci\n"

typedef struct fixture {
        char *dir;
        char *env; /* <dir>/boot/grub/grubenv */
        char *proc;
} fixture;

static void editenv(const fixture *f, const char *a, const char *b, const char *c)
{
        const char *const argv[] = {"grub-editenv", f->env, a, b, c, NULL};

        free(run_ok(argv));
}

/* The vfiotx variables of grubenv as grub-editenv lists them, and the user's kept. */
static void assert_grubenv(const fixture *f, const char *want_vfiotx)
{
        const char *const argv[] = {"grub-editenv", f->env, "list", NULL};
        char *listed = run_ok(argv), want[256];

        snprintf(want, sizeof(want), "saved_entry=1\n%s", want_vfiotx);
        assert_string_equal(listed, want);
        free(listed);
}

static void set_cmdline(const fixture *f, const char *cmdline)
{
        write_file(f->proc, "cmdline", cmdline);
}

static void open_engine(const fixture *f, vt_engine *e)
{
        assert_int_equal(vt_engine_open(e, f->dir, VT_ENGINE_WRITE, "vfiotx test", NULL), 0);
}

/* The head entry's number and kind, and (when `summary` is given) a part of its summary. */
static void assert_head(vt_engine *e, long id, const char *kind, const char *summary)
{
        vt_txn_info info = {0};

        assert_int_equal(vt_engine_head_info(e, &info), 0);
        assert_int_equal(info.id, id);
        assert_string_equal(info.kind, kind);
        if (summary && !strstr(info.summary, summary))
                fail_msg("summary \"%s\" lacks \"%s\"", info.summary, summary);
        vt_txn_info_free(&info);
}

/* The state file read back from disk, as the next command finds it (no trial: no trial
 * members are stored, so the number reads as 0). */
static void assert_state(const fixture *f, vt_trial trial, long txn, const char *reason)
{
        vt_engine e;

        open_engine(f, &e);
        assert_string_equal(vt_trial_name(e.boot.trial), vt_trial_name(trial));
        assert_int_equal(e.boot.trial_txn, txn);
        if (reason)
                assert_string_equal(e.boot.trial_reason, reason);
        vt_engine_close(&e);
}

/* A root with a grubenv (saved_entry=1, as update-grub leaves it) and transaction 2 applied:
 * the trial's subject. */
static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));
        _cleanup_snapshot_ vt_snapshot target = {0};
        vt_engine e;
        long txn;

        if (!have_tool("grub-editenv")) {
                free(f);
                *state = NULL;
                return 0;
        }
        f->dir = make_tmpdir();
        f->proc = make_tmpdir();
        assert_true(asprintf(&f->env, "%s/boot/grub/grubenv", f->dir) > 0);
        write_file(f->dir, "etc/modules", "# /etc/modules\n");
        write_file(f->dir, "boot/grub/.keep", "");
        editenv(f, "create", NULL, NULL);
        editenv(f, "set", "saved_entry=1", NULL);
        set_cmdline(f, "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro\n");

        open_engine(f, &e);
        assert_int_equal(vt_snapshot_put(&target, "/etc/modules", MODULES, strlen(MODULES), NULL),
                         0);
        assert_int_equal(vt_engine_transact(&e, &(vt_txn_request){.kind = "apply", .summary = "t"},
                                            &target, &txn, NULL),
                         0);
        assert_int_equal(txn, 2);
        vt_engine_close(&e);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        if (f) {
                rm_rf(f->dir);
                rm_rf(f->proc);
                free(f->env);
                free(f);
        }
        return 0;
}

/* Arm, trial boot, confirm: the good path. */
static void test_arm_boot_confirm(void **state)
{
        fixture *f = *state;
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_boot_kind kind;
        vt_oid good;
        vt_engine e;

        if (!f)
                skip();
        open_engine(f, &e);
        assert_false(vt_trial_in_progress(&e));
        assert_int_equal(vt_trial_arm(&e, 2, 3, &notes), 0);
        assert_non_null(
            strstr(vt_buf_cstr(&notes), "armed: transaction 2 is on trial for 3 boots"));
        assert_head(&e, 3, "arm", "armed: transaction 2");
        /* grubenv is the commit point: the counter and the entry GRUB boots for the trial. */
        assert_grubenv(f, "vfiotx_tries=3\nvfiotx_panic=10\nvfiotx_trial=2\n");
        /* While armed, a change of the files is refused with what to do. */
        assert_true(vt_trial_in_progress(&e));
        vt_error_clear();
        assert_int_equal(vt_trial_refuse_busy(&e), -EBUSY);
        assert_non_null(strstr(vt_error_message(), "transaction 2 is on trial (armed)"));
        vt_error_clear();
        vt_engine_close(&e);
        assert_state(f, VT_TRIAL_ARMED, 2, NULL);

        /* GRUB counted one boot and booted the trial entry. */
        editenv(f, "set", "vfiotx_tries=2", NULL);
        set_cmdline(f, "BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro vfiotx.trial=2\n");
        open_engine(f, &e);
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, NULL), 0);
        assert_int_equal(kind, VT_BOOT_TRIAL);
        assert_head(&e, 4, "boot", "trial boot of transaction 2: 2 more boots");
        /* The service started again in the same boot: no second entry. */
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, NULL), 0);
        assert_int_equal(kind, VT_BOOT_TRIAL);
        assert_head(&e, 4, "boot", NULL);
        vt_engine_close(&e);
        assert_state(f, VT_TRIAL_TRYING, 2, NULL);

        /* Confirmed: the entry, the good ref on it, grubenv cleared (the user's variable kept),
         * the state back to no trial. */
        open_engine(f, &e);
        notes.len = 0;
        assert_int_equal(vt_trial_confirm(&e, NULL, &notes), 0);
        assert_head(&e, 5, "confirm", "confirmed: transaction 2");
        assert_int_equal(vt_journal_ref(e.journal, VT_REF_GOOD, &good), 0);
        assert_true(vt_oid_equal(&good, &e.state.head));
        assert_true(e.state.has_good && vt_oid_equal(&e.state.good, &e.state.head));
        assert_false(vt_trial_in_progress(&e));
        vt_engine_close(&e);
        assert_grubenv(f, "");
        assert_state(f, VT_TRIAL_NONE, 0, "");

        /* Nothing left to mark bad. */
        open_engine(f, &e);
        assert_int_equal(vt_trial_mark_bad(&e, "late", NULL), -ENOENT);
        vt_error_clear();
        assert_head(&e, 5, "confirm", NULL);
        vt_engine_close(&e);
}

/* A trial marked bad: grubenv makes the next boot fall back; the fallback boot is recognised,
 * and once the good snapshot is restored fallback_done clears grubenv and keeps the reason. */
static void test_mark_bad_fallback(void **state)
{
        fixture *f = *state;
        vt_boot_kind kind;
        vt_engine e;

        if (!f)
                skip();
        open_engine(f, &e);
        assert_int_equal(vt_trial_arm(&e, 2, 2, NULL), 0);
        set_cmdline(f, "root=/dev/vda1 vfiotx.trial=2\n");
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, NULL), 0);
        assert_int_equal(kind, VT_BOOT_TRIAL);
        assert_int_equal(vt_trial_mark_bad(&e, "health check failed", NULL), 0);
        assert_head(&e, 5, "mark-bad", "marked bad: transaction 2 (health check failed)");
        vt_engine_close(&e);
        assert_grubenv(f, "vfiotx_tries=0\nvfiotx_panic=10\nvfiotx_trial=2\nvfiotx_fallback=2\n");
        assert_state(f, VT_TRIAL_MARKED_BAD, 2, "health check failed");

        /* GRUB booted the last good entry: `boot` says so and records nothing itself. */
        set_cmdline(f, "root=/dev/vda1 vfiotx.fallback=1\n");
        open_engine(f, &e);
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, NULL), 0);
        assert_int_equal(kind, VT_BOOT_FALLBACK);
        assert_head(&e, 5, "mark-bad", NULL);
        assert_int_equal(vt_trial_fallback_done(&e, NULL), 0);
        assert_head(&e, 6, "fallback", "rolled back: transaction 2 (health check failed)");
        assert_false(vt_trial_in_progress(&e));
        vt_engine_close(&e);
        assert_grubenv(f, "");
        assert_state(f, VT_TRIAL_ROLLED_BACK, 2, "health check failed");
}

/* GRUB used up the tries without a confirmation: the reason is that, read from grubenv. */
static void test_tries_exhausted(void **state)
{
        fixture *f = *state;
        vt_boot_kind kind;
        vt_engine e;

        if (!f)
                skip();
        open_engine(f, &e);
        assert_int_equal(vt_trial_arm(&e, 2, 1, NULL), 0);
        vt_engine_close(&e);
        editenv(f, "set", "vfiotx_tries=0", "vfiotx_fallback=2");
        set_cmdline(f, "root=/dev/vda1 vfiotx.fallback=1\n");
        open_engine(f, &e);
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, NULL), 0);
        assert_int_equal(kind, VT_BOOT_FALLBACK);
        assert_int_equal(vt_trial_fallback_done(&e, NULL), 0);
        assert_head(&e, 4, "fallback", "rolled back: transaction 2 (tries exhausted)");
        vt_engine_close(&e);
        assert_grubenv(f, "");
        assert_state(f, VT_TRIAL_ROLLED_BACK, 2, "tries exhausted");
}

/* Arming cut short before grubenv (its commit point) was written: the state says armed, grubenv
 * is clean. vt_trial_recover() finishes the arming. */
static void test_recover_arming(void **state)
{
        fixture *f = *state;
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_engine e;
        unsigned n;
        int r;

        if (!f)
                skip();
        /* Make each step of arming fail in turn (VFIOTX_FAILPOINT_FAIL=N) until one fails
         * with the state file already saying armed: grubenv was not written. */
        open_engine(f, &e);
        for (n = 1;; n++) {
                char v[16];

                snprintf(v, sizeof(v), "%u", n);
                setenv("VFIOTX_FAILPOINT_FAIL", v, 1);
                vt_failpoint_reset();
                r = vt_trial_arm(&e, 2, 3, NULL);
                unsetenv("VFIOTX_FAILPOINT_FAIL");
                vt_failpoint_reset();
                vt_error_clear();
                if (r < 0) {
                        /* The entry and state were not written (or failed): start again. */
                        vt_engine_close(&e);
                        open_engine(f, &e);
                        if (e.boot.trial == VT_TRIAL_ARMED)
                                break; /* state armed, grubenv write failed */
                        continue;
                }
                fail_msg("arming never reached a failing grubenv write");
        }
        vt_engine_close(&e);
        assert_grubenv(f, "");
        assert_state(f, VT_TRIAL_ARMED, 2, NULL);

        open_engine(f, &e);
        assert_int_equal(vt_trial_recover(&e, &notes), 0);
        assert_non_null(strstr(vt_buf_cstr(&notes), "finished arming the trial of transaction 2"));
        assert_grubenv(f, "vfiotx_tries=3\nvfiotx_panic=10\nvfiotx_trial=2\n");
        /* Once armed, recovering again changes nothing. */
        notes.len = 0;
        assert_int_equal(vt_trial_recover(&e, &notes), 0);
        assert_int_equal(notes.len, 0);
        vt_engine_close(&e);
        assert_state(f, VT_TRIAL_ARMED, 2, NULL);
}

/* The same cut-short arming, found by a normal boot instead: the applied files run without a
 * counter, and the state says so (no trial) with an entry. */
static void test_boot_after_cut_arming(void **state)
{
        fixture *f = *state;
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_boot_kind kind;
        vt_engine e;

        if (!f)
                skip();
        open_engine(f, &e);
        e.boot.trial = VT_TRIAL_ARMED;
        e.boot.trial_txn = 2;
        e.boot.trial_tries = 3;
        assert_int_equal(vt_engine_write_state(&e), 0);
        vt_engine_close(&e);

        open_engine(f, &e);
        assert_int_equal(vt_trial_boot(&e, f->proc, &kind, &notes), 0);
        assert_int_equal(kind, VT_BOOT_NORMAL);
        assert_head(&e, 3, "boot", "the trial was never armed");
        assert_non_null(strstr(vt_buf_cstr(&notes), "never armed"));
        vt_engine_close(&e);
        assert_grubenv(f, "");
        assert_state(f, VT_TRIAL_NONE, 0, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_arm_boot_confirm, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mark_bad_fallback, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tries_exhausted, setup, teardown),
            cmocka_unit_test_setup_teardown(test_recover_arming, setup, teardown),
            cmocka_unit_test_setup_teardown(test_boot_after_cut_arming, setup, teardown),
        };
        int r;

        unsetenv("VFIOTX_FAILPOINT_FAIL");
        vt_failpoint_reset();
        vt_journal_global_init();
        r = cmocka_run_group_tests(tests, NULL, NULL);
        vt_journal_global_shutdown();
        return r;
}
