/* backends/bootcount_sdboot.c: vfiotx's systemd-boot entries, made from the entry Debian 12's
 * kernel-install writes, and the counter read back from the names systemd-boot 252 and
 * systemd-bless-boot give them; the model of the loader's choice (sdboot_pick.h) is the
 * oracle that the pattern boots the trial, then the last good entry. */
#include "../helpers.h"

#include <errno.h>

#include "backends/bootcount_sdboot.h"
#include "backends/sdboot_pick.h"
#include "common/error.h"

#define MID "0123456789abcdef0123456789abcdef"
static const char debian[] = "title      Debian GNU/Linux 12 (bookworm)\n"
                             "version    6.1.0-26-amd64\n"
                             "machine-id " MID "\n"
                             "sort-key   debian\n"
                             "options    root=UUID=5e1f ro quiet systemd.machine_id=" MID "\n"
                             "linux      /" MID "/6.1.0-26-amd64/linux\n"
                             "initrd     /" MID "/6.1.0-26-amd64/initrd.img-6.1.0-26-amd64\n";

static void test_names(void **state)
{
        char *n = NULL;

        (void)state;
        assert_int_equal(vt_sdboot_trial_name(7, 3, &n), 0);
        assert_string_equal(n, "vfiotx-1-trial-7+3.conf");
        free(n);
        assert_int_equal(vt_sdboot_trial_name(7, 10, &n), -EINVAL);
        assert_int_equal(vt_sdboot_trial_name(0, 1, &n), -EINVAL);
        vt_error_clear();
        assert_true(vt_sdboot_is_trial("vfiotx-1-trial-7+2-1.conf", 7));
        assert_true(vt_sdboot_is_trial("vfiotx-1-trial-7.conf", 7)); /* blessed */
        assert_true(vt_sdboot_is_trial("vfiotx-1-trial-7+0-3.conf", 0));
        assert_false(vt_sdboot_is_trial("vfiotx-1-trial-7+2-1.conf", 8));
        assert_false(vt_sdboot_is_trial("vfiotx-1-trial-70+2.conf", 7));
        assert_false(vt_sdboot_is_trial("vfiotx-1-trial-x.conf", 0));
        assert_false(vt_sdboot_is_trial(VT_SDBOOT_LAST_GOOD_FILE, 0));
        assert_false(vt_sdboot_is_trial(MID "-6.1.0-26-amd64.conf", 0));
}

static void test_trial_entry(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry base = VT_BLS_ENTRY_INIT, t = VT_BLS_ENTRY_INIT;
        vt_buf out = VT_BUF_INIT;
        char *opts = NULL, *saved = NULL;

        (void)state;
        assert_int_equal(vt_bls_entry_parse(debian, strlen(debian), "d", &base), 0);
        assert_int_equal(vt_sdboot_trial_entry(&base, 7, 10, MID "-*", &out), 0);
        assert_int_equal(vt_bls_entry_parse(out.ptr, out.len, "t", &t), 0);
        assert_string_equal(vt_bls_entry_title(&t),
                            "Debian GNU/Linux 12 (bookworm) (vfiotx trial 7)");
        assert_null(vt_bls_entry_sort_key(&t));
        assert_int_equal(vt_bls_entry_options(&t, &opts), 0);
        assert_string_equal(opts, "root=UUID=5e1f ro quiet systemd.machine_id=" MID
                                  " vfiotx.trial=7 panic=10");
        assert_string_equal(vt_bls_entry_linux(&t), "/" MID "/6.1.0-26-amd64/linux");
        assert_string_equal(vt_bls_entry_initrd(&t, 0),
                            "/" MID "/6.1.0-26-amd64/initrd.img-6.1.0-26-amd64");
        assert_int_equal(vt_sdboot_saved_default(out.ptr, out.len, &saved), 0);
        assert_string_equal(saved, MID "-*");
        free(saved);
        assert_int_equal(vt_sdboot_trial_entry(&base, 7, 10, NULL, &out), 0);
        assert_int_equal(vt_sdboot_saved_default(out.ptr, out.len, &saved), 0);
        assert_null(saved);
        assert_int_equal(vt_sdboot_saved_default(debian, strlen(debian), &saved), -ENOENT);
        vt_error_clear();
        free(opts);
        vt_buf_free(&out);
}

/* The loader's view, through the model: the pattern boots the trial while it has tries, then
 * the last good entry, and without the variable neither of vfiotx's entries. */
static const char *next(const char *const *files, const vt_bls_entry *const *e, size_t n,
                        const char *var)
{
        static char chosen[128];
        vt_sdboot_input in[8];
        vt_sdboot_vars vars = {NULL, var, NULL};
        vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
        const char *conf = "#timeout 3\ndefault " MID "-*\n";

        for (size_t i = 0; i < n; i++)
                in[i] = (vt_sdboot_input){files[i], e[i], true};
        assert_int_equal(vt_sdboot_pick(in, n, conf, strlen(conf), &vars, &m), 0);
        snprintf(chosen, sizeof(chosen), "%s", files[vt_sdboot_menu_default_input(&m)]);
        vt_sdboot_menu_free(&m);
        return chosen;
}

static void test_pattern_and_counter(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry base = VT_BLS_ENTRY_INIT, t = VT_BLS_ENTRY_INIT,
                                         lg = VT_BLS_ENTRY_INIT;
        vt_buf tb = VT_BUF_INIT, lb = VT_BUF_INIT;
        const char *files[3] = {MID "-6.1.0-26-amd64.conf", "vfiotx-1-trial-7+2-1.conf",
                                VT_SDBOOT_LAST_GOOD_FILE};
        const vt_bls_entry *e[3] = {&base, &t, &lg};
        char *names[3], *file = NULL;
        vt_bootcount bc;

        (void)state;
        assert_int_equal(vt_bls_entry_parse(debian, strlen(debian), "d", &base), 0);
        assert_int_equal(vt_sdboot_trial_entry(&base, 7, 10, NULL, &tb), 0);
        assert_int_equal(vt_bls_entry_parse(tb.ptr, tb.len, "t", &t), 0);
        assert_int_equal(vt_sdboot_last_good_entry("6.1.0-26-amd64", 6,
                                                   "root=UUID=5e1f ro vfiotx.fallback=1",
                                                   "/vfiotx/vmlinuz-6.1.0-26-amd64.6",
                                                   "/vfiotx/initrd.img-6.1.0-26-amd64.6", &lb),
                         0);
        assert_int_equal(vt_bls_entry_parse(lb.ptr, lb.len, "lg", &lg), 0);
        assert_string_equal(vt_bls_entry_linux(&lg), "/vfiotx/vmlinuz-6.1.0-26-amd64.6");

        assert_string_equal(next(files, e, 3, VT_SDBOOT_PATTERN), "vfiotx-1-trial-7+2-1.conf");
        assert_string_equal(next(files, e, 3, NULL), files[0]);
        files[1] = "vfiotx-1-trial-7+0-3.conf";
        assert_string_equal(next(files, e, 3, VT_SDBOOT_PATTERN), VT_SDBOOT_LAST_GOOD_FILE);

        names[0] = (char *)files[0];
        names[1] = (char *)"vfiotx-1-trial-7+2-1.conf";
        names[2] = (char *)VT_SDBOOT_LAST_GOOD_FILE;
        assert_int_equal(vt_sdboot_counter_read_names(names, 3, &bc, &file), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_ARMED);
        assert_int_equal(bc.trial, 7);
        assert_int_equal(bc.tries, 2);
        assert_string_equal(file, "vfiotx-1-trial-7+2-1.conf");
        free(file);
        /* two names of one entry after a cut inside the loader's rename: the lower count */
        names[0] = (char *)"vfiotx-1-trial-7+1-2.conf";
        assert_int_equal(vt_sdboot_counter_read_names(names, 3, &bc, NULL), 0);
        assert_int_equal(bc.tries, 1);
        names[0] = (char *)"vfiotx-1-trial-7+0-3.conf";
        assert_int_equal(vt_sdboot_counter_read_names(names, 3, &bc, NULL), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_FELL_BACK);
        assert_int_equal(bc.fallback, 7);
        names[0] = (char *)"vfiotx-1-trial-7.conf"; /* systemd-bless-boot good */
        names[1] = (char *)VT_SDBOOT_LAST_GOOD_FILE;
        assert_int_equal(vt_sdboot_counter_read_names(names, 2, &bc, NULL), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_ARMED);
        assert_int_equal(bc.tries, -1);
        assert_int_equal(vt_sdboot_counter_read_names(names + 1, 1, &bc, NULL), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_NONE);
        vt_buf_free(&tb);
        vt_buf_free(&lb);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_trial_entry),
            cmocka_unit_test(test_pattern_and_counter),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
