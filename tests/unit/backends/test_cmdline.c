/* The kernel command-line word model: splitting as the kernel does, and change sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "backends/cmdline.h"
#include "common/error.h"
#include "common/macro.h"

static void build(vt_cmdline_change *c, const char *const *add, const char *const *rm)
{
        for (; add && *add; add++)
                assert_int_equal(vt_cmdline_change_add(c, *add), 0);
        for (; rm && *rm; rm++)
                assert_int_equal(vt_cmdline_change_remove(c, *rm), 0);
}

/* Apply (add, rm) to `in` and compare with `want`. */
static void check(const char *in, const char *const *add, const char *const *rm, const char *want)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_buf_ vt_buf out = VT_BUF_INIT, again = VT_BUF_INIT;
        bool changed = true;

        build(&c, add, rm);
        assert_int_equal(vt_cmdline_apply(in, strlen(in), &c, &out, &changed), 0);
        assert_string_equal(vt_buf_cstr(&out), want);
        assert_int_equal(changed, strcmp(in, want) != 0);
        /* Idempotent: the same change on its own result changes nothing. */
        assert_int_equal(vt_cmdline_apply(out.ptr, out.len, &c, &again, &changed), 0);
        assert_false(changed);
        assert_string_equal(vt_buf_cstr(&again), want);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_split_like_kernel(void **state)
{
        _cleanup_(vt_cmdline_words_free) vt_cmdline_words w = {NULL, 0, 0, false};
        const char *s = "  root=ZFS=rpool/ROOT/pve-1 foo=\"a b\" \"bar=c d\" ro\tx-y_z -- init arg";

        (void)state;
        assert_int_equal(vt_cmdline_split(s, strlen(s), &w), 0);
        assert_int_equal(w.n, 8);
        assert_int_equal(w.n_kernel, 5);
        assert_string_equal(w.items[0].name, "root");
        assert_string_equal(w.items[0].value, "ZFS=rpool/ROOT/pve-1");
        assert_int_equal(w.items[0].start, 2);
        assert_string_equal(w.items[1].name, "foo");
        assert_string_equal(w.items[1].value, "a b");
        assert_int_equal(w.items[1].len, strlen("foo=\"a b\""));
        assert_string_equal(w.items[2].name, "bar");
        assert_string_equal(w.items[2].value, "c d");
        assert_string_equal(w.items[3].name, "ro");
        assert_null(w.items[3].value);
        assert_string_equal(w.items[4].name, "x-y_z");
        assert_string_equal(w.items[5].name, "--");
        assert_true(vt_cmdline_name_eq("vfio-pci.ids", "vfio_pci.ids"));
        assert_false(vt_cmdline_name_eq("vfio-pci.ids", "vfio_pci.idz"));
}

static void test_seed_example(void **state)
{
        (void)state;
        check("root=ZFS=rpool/ROOT/pve-1 boot=zfs",
              L("intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"), NULL,
              "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=igfx_off iommu=pt video=efifb:off");
        check("", L("iommu=pt"), NULL, "iommu=pt");
}

static void test_replace_not_duplicate(void **state)
{
        (void)state;
        check("quiet intel_iommu=off splash", L("intel_iommu=on"), NULL,
              "quiet intel_iommu=on splash");
        /* Names compare with '-' and '_' alike; only the name, never the value. */
        check("intel-iommu=on quiet", L("intel_iommu=on"), NULL, "intel-iommu=on quiet");
        check("vfio_pci.ids=10de:1b80 a", L("vfio-pci.ids=10de:1b80,10de:10f0"), NULL,
              "vfio-pci.ids=10de:1b80,10de:10f0 a");
        check("foo=a-b", L("foo=a_b"), NULL, "foo=a_b");
        /* Several occurrences collapse into one, at the first place. */
        check("a intel_iommu=off b intel_iommu=igfx_off c", L("intel_iommu=on"), NULL,
              "a intel_iommu=on b c");
        /* Quoted values compare unquoted. */
        check("foo=\"a b\" x", L("foo=\"a b\""), NULL, "foo=\"a b\" x");
}

static void test_accumulating_params(void **state)
{
        (void)state;
        check("console=tty1 console=ttyS0", L("console=tty0"), NULL,
              "console=tty1 console=ttyS0 console=tty0");
        check("video=HDMI-A-1:1920x1080 video=efifb:on", L("video=efifb:off"), NULL,
              "video=HDMI-A-1:1920x1080 video=efifb:off");
        check("initcall_blacklist=foo", L("initcall_blacklist=sysfb_init"), NULL,
              "initcall_blacklist=foo initcall_blacklist=sysfb_init");
        /* iommu= words accumulate (issue 14, 10): the user's own are kept, never rewritten */
        check("iommu=1 amd_iommu=on iommu=pt", L("iommu=pt"), NULL,
              "iommu=1 amd_iommu=on iommu=pt");
        check("quiet iommu=soft", L("iommu=pt"), NULL, "quiet iommu=soft iommu=pt");
        check("a iommu=soft b iommu=pt c", L("iommu=pt"), NULL, "a iommu=soft b iommu=pt c");
        check("quiet iommu=soft iommu=pt", NULL, L("iommu=pt"), "quiet iommu=soft");
}

static void test_remove(void **state)
{
        (void)state;
        check("quiet intel_iommu=on iommu=pt splash", NULL, L("intel_iommu"),
              "quiet iommu=pt splash");
        check("intel_iommu=on quiet", NULL, L("intel_iommu"), "quiet");
        check("quiet  intel_iommu=on", NULL, L("intel-iommu"), "quiet");
        check("quiet iommu=pt", NULL, L("iommu=soft"), "quiet iommu=pt");
        check("quiet iommu=pt", NULL, L("iommu=pt"), "quiet");
        check("a x b x c", NULL, L("x"), "a b c");
        check("x y", NULL, L("x", "y"), "");
        check(" x  y z ", NULL, L("x", "y"), " z ");
        /* init's arguments after "--" are not kernel parameters. */
        check("quiet -- quiet", NULL, L("quiet"), "-- quiet");
        check("quiet -- single", L("iommu=pt"), NULL, "quiet iommu=pt -- single");
        check("-- single", L("iommu=pt"), NULL, "iommu=pt -- single");
}

static void test_remove_restores_added(void **state)
{
        static const char *const lines[] = {
            "", "  ", "quiet", "quiet splash\t", " a  b ", "a -- b", "-- b", "root=/dev/sda1 ro\r",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                _cleanup_cmdline_change_ vt_cmdline_change add = VT_CMDLINE_CHANGE_INIT;
                _cleanup_cmdline_change_ vt_cmdline_change rm = VT_CMDLINE_CHANGE_INIT;
                _cleanup_buf_ vt_buf mid = VT_BUF_INIT, back = VT_BUF_INIT;

                build(&add, L("intel_iommu=on", "iommu=pt", "foo=\"x y\""), NULL);
                build(&rm, NULL, L("intel_iommu", "iommu=pt", "foo"));
                assert_int_equal(vt_cmdline_apply(lines[i], strlen(lines[i]), &add, &mid, NULL), 0);
                assert_string_not_equal(vt_buf_cstr(&mid), lines[i]);
                assert_int_equal(vt_cmdline_apply(mid.ptr, mid.len, &rm, &back, NULL), 0);
                assert_string_equal(vt_buf_cstr(&back), lines[i]);
        }
}

static void test_bad_change(void **state)
{
        vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;

        (void)state;
        assert_int_equal(vt_cmdline_change_add(&c, "a b"), -EINVAL);
        assert_int_equal(vt_cmdline_change_add(&c, ""), -EINVAL);
        assert_int_equal(vt_cmdline_change_add(&c, "--"), -EINVAL);
        /* what sh, GRUB's script language or the kernel cannot take (issue 14, 12) */
        assert_int_equal(vt_cmdline_param_addable("foo=\"bar"), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "opens a '\"' it never closes"));
        static const char *const bad[] = {"a='",   "a=$(cmd)", "a={",  "a=`x`",  "a=b;c", "a=1&",
                                          "a=x|y", "a=<",      "a=\\", "a=\x01", "a=(b)"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(vt_cmdline_param_addable(bad[i]), -EINVAL);
                assert_non_null(strstr(vt_error_message(), "cannot be added"));
        }
        assert_int_equal(vt_cmdline_param_addable("video=HDMI-A-1:1920x1080@60"), 0);
        assert_int_equal(vt_cmdline_param_addable("acpi_osi=\"!Windows 2012\""), 0);
        assert_int_equal(vt_cmdline_param_addable("isolcpus=1-3,5"), 0);
        assert_int_equal(vt_cmdline_param_addable("foo=\"a b\""), 0);
        assert_int_equal(vt_cmdline_change_add(&c, "foo=\"a b\""), 0);
        assert_int_equal(vt_cmdline_change_remove(&c, "foo"), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "both added and removed"));
        assert_int_equal(vt_cmdline_change_remove(&c, "bar=1"), 0);
        assert_int_equal(vt_cmdline_change_add(&c, "bar=1"), -EINVAL);
        assert_int_equal(vt_cmdline_change_add(&c, "bar=2"), 0);
        /* A later addition of the same parameter replaces the earlier one. */
        assert_int_equal(vt_cmdline_change_add(&c, "foo=c"), 0);
        assert_int_equal(c.n_add, 2);
        assert_string_equal(c.add[0].word, "foo=c");
        vt_cmdline_change_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_split_like_kernel),
            cmocka_unit_test(test_seed_example),
            cmocka_unit_test(test_replace_not_duplicate),
            cmocka_unit_test(test_accumulating_params),
            cmocka_unit_test(test_remove),
            cmocka_unit_test(test_remove_restores_added),
            cmocka_unit_test(test_bad_change),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
