/* The /etc/kernel/cmdline editor on Proxmox's file and its variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kernel_cmdline.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void load(const char *name, vt_buf *b)
{
        _cleanup_free_ char *p = NULL;

        assert_int_not_equal(
            asprintf(&p, "%s/etc/kernel-cmdline/%s", getenv("VFIOTX_FIXTURES"), name), -1);
        assert_int_equal(vt_read_file(p, b), 0);
}

static void build(vt_cmdline_change *c, const char *const *add, const char *const *rm)
{
        for (; add && *add; add++)
                assert_int_equal(vt_cmdline_change_add(c, *add), 0);
        for (; rm && *rm; rm++)
                assert_int_equal(vt_cmdline_change_remove(c, *rm), 0);
}

/* Edit, check the result, idempotence, and that removing the additions restores the input. */
static void check(const char *fixture, const char *const *add, const char *want, bool restorable)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_cmdline_change_ vt_cmdline_change undo = VT_CMDLINE_CHANGE_INIT;
        _cleanup_buf_ vt_buf in = VT_BUF_INIT, out = VT_BUF_INIT, again = VT_BUF_INIT,
                             back = VT_BUF_INIT;
        bool changed;

        load(fixture, &in);
        build(&c, add, NULL);
        build(&undo, NULL, add);
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", in.ptr, in.len, &c, &out, &changed), 0);
        assert_string_equal(vt_buf_cstr(&out), want);
        assert_true(changed);
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", out.ptr, out.len, &c, &again, &changed),
            0);
        assert_false(changed);
        assert_true(vt_buf_equal(&again, &out));
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", out.ptr, out.len, &undo, &back, &changed),
            0);
        assert_true(changed);
        assert_int_equal(vt_buf_equal(&back, &in), restorable);
}

static void test_seed_proxmox_zfs(void **state)
{
        (void)state;
        check("proxmox-zfs", L("intel_iommu=igfx_off", "iommu=pt", "video=efifb:off"),
              "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=igfx_off iommu=pt video=efifb:off\n",
              true);
        check("no-newline", L("iommu=pt"), "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt", true);
}

static void test_replace_in_place(void **state)
{
        (void)state;
        check("replace", L("intel_iommu=on"),
              "root=UUID=0f3c1d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro quiet intel_iommu=on splash\n",
              /* a replaced value cannot come back by removal */ false);
}

static void test_remove_keeps_root(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_buf_ vt_buf in = VT_BUF_INIT, out = VT_BUF_INIT;

        (void)state;
        load("replace", &in);
        build(&c, NULL, L("intel-iommu", "root=/dev/sda1", "splash"));
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", in.ptr, in.len, &c, &out, NULL), 0);
        assert_string_equal(vt_buf_cstr(&out),
                            "root=UUID=0f3c1d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro quiet\n");
}

static void test_empty_and_untouched(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_buf_ vt_buf in = VT_BUF_INIT, out = VT_BUF_INIT;
        bool changed = true;

        (void)state;
        build(&c, L("iommu=pt"), NULL);
        assert_int_equal(vt_kernel_cmdline_edit("/etc/kernel/cmdline", NULL, 0, &c, &out, &changed),
                         0);
        assert_string_equal(vt_buf_cstr(&out), "iommu=pt");
        assert_true(changed);
        load("proxmox-zfs", &in);
        vt_cmdline_change_free(&c);
        build(&c, NULL, L("nothing_here"));
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", in.ptr, in.len, &c, &out, &changed), 0);
        assert_false(changed);
        assert_true(vt_buf_equal(&in, &out));
}

static void test_two_lines_refused(void **state)
{
        _cleanup_cmdline_change_ vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT;
        _cleanup_buf_ vt_buf in = VT_BUF_INIT, out = VT_BUF_INIT;

        (void)state;
        load("two-lines", &in);
        build(&c, L("iommu=pt"), NULL);
        assert_int_equal(
            vt_kernel_cmdline_edit("/etc/kernel/cmdline", in.ptr, in.len, &c, &out, NULL), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "/etc/kernel/cmdline:2:"));
        assert_non_null(vt_error_hint_text());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_seed_proxmox_zfs),  cmocka_unit_test(test_replace_in_place),
            cmocka_unit_test(test_remove_keeps_root), cmocka_unit_test(test_empty_and_untouched),
            cmocka_unit_test(test_two_lines_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
