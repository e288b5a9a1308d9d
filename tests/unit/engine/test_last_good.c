/* engine/last_good.c: the copies under /boot/vfiotx and entry.cfg, read back through
 * backends/boot_preserve.h (with a crash at every step), and entry.cfg as GRUB script. */
#include "../helpers.h"

#include <errno.h>

#include "backends/boot_preserve.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "engine/last_good.h"
#include "engine/runner.h"
#include "fs/root.h"

static void preserve(const char *dir, const char *proc, long txn, int want)
{
        vt_root root = VT_ROOT_INIT;
        vt_preserve_plan p = {0};

        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_boot_preserve_plan(&root, proc, txn, &p), 0);
        assert_int_equal(vt_last_good_write(&root, &p), want);
        vt_preserve_plan_free(&p);
        vt_root_close(&root);
}

static void test_write_and_read(void **state)
{
        (void)state;
        char *dir = fixture_copy("intel-igpu-desktop", "root"),
             *proc = fixture_path("intel-igpu-desktop", "proc");
        char *k, *e;
        vt_root root = VT_ROOT_INIT;
        vt_preserved got = {0};

        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_boot_preserved_read(&root, &got), -ENOENT);

        preserve(dir, proc, 4, 0);
        k = slurp(dir, "boot/vfiotx/vmlinuz-6.1.0-26-amd64.4");
        e = slurp(dir, "boot/vmlinuz-6.1.0-26-amd64");
        assert_non_null(k);
        assert_string_equal(k, e);
        free(k);
        free(e);
        assert_int_equal(vt_boot_preserved_read(&root, &got), 0);
        assert_string_equal(got.kver, "6.1.0-26-amd64");
        assert_int_equal(got.txn, 4);
        assert_true(got.present);
        assert_string_equal(got.initrd, "/boot/vfiotx/initrd.img-6.1.0-26-amd64.4");
        assert_non_null(strstr(got.cmdline, "root=UUID=4b6f1c8e"));
        assert_non_null(strstr(got.cmdline, "vfiotx.fallback=1"));
        vt_preserved_free(&got);

        /* A new good configuration replaces the copies; the old ones go after entry.cfg. */
        preserve(dir, proc, 9, 0);
        assert_null(slurp(dir, "boot/vfiotx/vmlinuz-6.1.0-26-amd64.4"));
        assert_null(slurp(dir, "boot/vfiotx/initrd.img-6.1.0-26-amd64.4"));
        assert_int_equal(vt_boot_preserved_read(&root, &got), 0);
        assert_int_equal(got.txn, 9);
        assert_true(got.present);
        vt_preserved_free(&got);

        vt_root_close(&root);
        free(proc);
        rm_rf(dir);
}

/* Fail each step of re-preserving in turn: entry.cfg always names complete copies. */
static void test_crash_every_step(void **state)
{
        (void)state;
        char *proc = fixture_path("intel-igpu-desktop", "proc");
        bool finished = false;

        for (int n = 1; n < 64 && !finished; n++) {
                char *dir = fixture_copy("intel-igpu-desktop", "root"), num[16];
                vt_root root = VT_ROOT_INIT;
                vt_preserve_plan p = {0};
                vt_preserved got = {0};
                int r;

                preserve(dir, proc, 4, 0);
                snprintf(num, sizeof(num), "%d", n);
                setenv("VFIOTX_FAILPOINT_FAIL", num, 1);
                vt_failpoint_reset();
                assert_int_equal(vt_root_open(&root, dir), 0);
                assert_int_equal(vt_boot_preserve_plan(&root, proc, 9, &p), 0);
                r = vt_last_good_write(&root, &p);
                unsetenv("VFIOTX_FAILPOINT_FAIL");
                vt_failpoint_reset();
                finished = r == 0;
                assert_true(r == 0 || r == -EIO);
                assert_int_equal(vt_boot_preserved_read(&root, &got), 0);
                assert_true(got.present);
                assert_true(got.txn == 4 || got.txn == 9);
                if (r == 0)
                        assert_int_equal(got.txn, 9);
                vt_preserved_free(&got);
                vt_preserve_plan_free(&p);
                vt_root_close(&root);
                rm_rf(dir);
        }
        assert_true(finished);
        free(proc);
}

/* entry.cfg is GRUB script that grub-script-check accepts. */
static bool have_script_check(void)
{
        const char *const which[] = {"sh", "-c", "command -v grub-script-check", NULL};
        vt_run_opts opts = {.timeout_ms = 30000};
        vt_run_result res = {0};
        int r = vt_run(which, &opts, &res);

        vt_run_result_free(&res);
        return r == 0;
}

static void test_entry_parses(void **state)
{
        (void)state;
        char *dir, *proc, path[4096];
        const char *const check[] = {"grub-script-check", path, NULL};
        vt_run_opts opts = {.timeout_ms = 30000};
        vt_run_result res = {0};

        if (!have_script_check())
                skip();
        dir = fixture_copy("intel-igpu-desktop", "root");
        proc = fixture_path("intel-igpu-desktop", "proc");
        preserve(dir, proc, 4, 0);
        snprintf(path, sizeof(path), "%s/boot/vfiotx/entry.cfg", dir);
        assert_int_equal(vt_run(check, &opts, &res), 0);
        vt_run_result_free(&res);
        free(proc);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_write_and_read),
            cmocka_unit_test(test_crash_every_step),
            cmocka_unit_test(test_entry_parses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
