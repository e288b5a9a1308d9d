/* Early loading: the initramfs-tools modules block (Debian's stock file kept byte-for-byte,
 * release restores it), dracut and mkinitcpio files, the per-kernel module list and the
 * built-in vfio-pci rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backends/early_modules.h"
#include "common/error.h"
#include "common/macro.h"

/* Debian 12's /etc/initramfs-tools/modules as shipped. */
static const char debian_stock[] = "# List of modules that you want to include in your initramfs.\n"
                                   "# They will be loaded at boot in the order below.\n"
                                   "#\n"
                                   "# Syntax:  module_name [args ...]\n"
                                   "#\n"
                                   "# You must run update-initramfs(8) to effect this change.\n"
                                   "#\n"
                                   "# Examples:\n"
                                   "#\n"
                                   "# raid1\n"
                                   "# sd_mod\n";

static const char *const mods[] = {"vfio", "vfio_iommu_type1", "vfio_pci"};

static vt_buf bufof(const char *s)
{
        vt_buf b = VT_BUF_INIT;

        assert_int_equal(vt_buf_puts(&b, s), 0);
        return b;
}

/* Edit with mods, edit the result again (idempotent), then release (n = 0): back to `start`. */
static void roundtrip(const char *start, const char *expect_after)
{
        vt_buf cur = VT_BUF_INIT;
        vt_file_out once = {0}, twice = {0}, released = {0};

        if (start)
                cur = bufof(start);
        assert_int_equal(vt_initramfs_tools_modules_edit(start ? &cur : NULL, mods, 3, &once), 0);
        assert_string_equal(once.path, "/etc/initramfs-tools/modules");
        assert_true(once.present);
        if (expect_after)
                assert_string_equal(vt_buf_cstr(&once.data), expect_after);
        assert_int_equal(vt_initramfs_tools_modules_edit(&once.data, mods, 3, &twice), 0);
        assert_false(vt_file_out_changed(&twice, &once.data));
        assert_int_equal(vt_initramfs_tools_modules_edit(&once.data, NULL, 0, &released), 0);
        if (start) {
                assert_true(released.present);
                assert_int_equal(released.data.len, strlen(start));
                assert_memory_equal(released.data.ptr, start, strlen(start));
        } else {
                assert_false(released.present);
        }
        vt_file_out_free(&once);
        vt_file_out_free(&twice);
        vt_file_out_free(&released);
        vt_buf_free(&cur);
}

static void test_debian_stock(void **state)
{
        char want[2048];

        (void)state;
        snprintf(want, sizeof(want),
                 "%s# >>> vfiotx: managed block, edits are recorded as drift\n"
                 "vfio\nvfio_iommu_type1\nvfio_pci\n# <<< vfiotx\n",
                 debian_stock);
        roundtrip(debian_stock, want);
}

static void test_no_final_newline_and_missing_file(void **state)
{
        (void)state;
        roundtrip("loop\nraid1 # keep", NULL);
        roundtrip("", NULL);
        roundtrip(NULL, "# >>> vfiotx: managed block, edits are recorded as drift [file created "
                        "by vfiotx]\nvfio\nvfio_iommu_type1\nvfio_pci\n# <<< vfiotx\n");
}

static void test_user_already_loads(void **state)
{
        vt_buf cur = bufof("# vfio_iommu_type1 commented out\n vfio-pci ids=1:2\nvfio\n");
        vt_buf all = bufof("vfio\nvfio_iommu_type1\n\tvfio_pci\n");
        vt_file_out out = {0};

        (void)state;
        assert_int_equal(vt_initramfs_tools_modules_edit(&cur, mods, 3, &out), 0);
        assert_string_equal(vt_buf_cstr(&out.data),
                            "# vfio_iommu_type1 commented out\n vfio-pci ids=1:2\nvfio\n"
                            "# >>> vfiotx: managed block, edits are recorded as drift\n"
                            "vfio_iommu_type1\n# <<< vfiotx\n");
        /* Everything listed by the user: returned byte-for-byte, no block. */
        assert_int_equal(vt_initramfs_tools_modules_edit(&all, mods, 3, &out), 0);
        assert_false(vt_file_out_changed(&out, &all));
        vt_file_out_free(&out);
        vt_buf_free(&cur);
        vt_buf_free(&all);
}

static void test_broken_block(void **state)
{
        vt_buf cur =
            bufof("loop\n# >>> vfiotx: managed block, edits are recorded as drift\nvfio\n");
        vt_file_out out = {0};
        const char *bad[] = {"vfio\nvfio_pci"};

        (void)state;
        assert_int_equal(vt_initramfs_tools_modules_edit(&cur, mods, 3, &out), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "/etc/initramfs-tools/modules:2:"));
        assert_int_equal(vt_initramfs_tools_modules_edit(NULL, bad, 1, &out), -EINVAL);
        vt_file_out_free(&out);
        vt_buf_free(&cur);
}

static void test_dracut(void **state)
{
        vt_file_out out = {0};

        (void)state;
        assert_int_equal(vt_dracut_conf_generate(mods, 3, &out), 0);
        assert_string_equal(out.path, "/etc/dracut.conf.d/vfiotx.conf");
        assert_true(out.present);
        assert_non_null(strstr(vt_buf_cstr(&out.data),
                               "\nforce_drivers+=\" vfio vfio_iommu_type1 vfio_pci \"\n"));
        assert_non_null(strstr(vt_buf_cstr(&out.data), "managed by vfiotx"));
        assert_int_equal(vt_dracut_conf_generate(mods, 0, &out), 0);
        assert_false(out.present);
        vt_file_out_free(&out);
}

static void test_mkinitcpio(void **state)
{
        static const char arch[] = "# vim:set ft=sh\n"
                                   "MODULES=(nvidia)\n"
                                   "BINARIES=()\n"
                                   "HOOKS=(base udev autodetect modconf block filesystems)\n";
        vt_buf cur = bufof(arch), old = bufof("MODULES=\"nvidia\"\nHOOKS=(base)\n");
        vt_file_out out = {0}, again = {0}, released = {0};
        char want[1024];

        (void)state;
        snprintf(want, sizeof(want),
                 "%s# >>> vfiotx: managed block, edits are recorded as drift\n"
                 "MODULES=(vfio vfio_iommu_type1 vfio_pci \"${MODULES[@]}\")\n# <<< vfiotx\n",
                 arch);
        assert_int_equal(vt_mkinitcpio_conf_edit(&cur, mods, 3, &out), 0);
        assert_string_equal(vt_buf_cstr(&out.data), want);
        assert_int_equal(vt_mkinitcpio_conf_edit(&out.data, mods, 3, &again), 0);
        assert_false(vt_file_out_changed(&again, &out.data));
        assert_int_equal(vt_mkinitcpio_conf_edit(&out.data, NULL, 0, &released), 0);
        assert_false(vt_file_out_changed(&released, &cur));

        assert_int_equal(vt_mkinitcpio_conf_edit(&old, mods, 3, &out), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "/etc/mkinitcpio.conf:1:"));
        /* Releasing never needs the syntax check: vfiotx only removes its own block. */
        assert_int_equal(vt_mkinitcpio_conf_edit(&old, NULL, 0, &out), 0);
        assert_false(vt_file_out_changed(&out, &old));

        assert_int_equal(vt_mkinitcpio_dropin_generate(mods, 3, &out), 0);
        assert_string_equal(out.path, "/etc/mkinitcpio.conf.d/vfiotx.conf");
        assert_non_null(strstr(vt_buf_cstr(&out.data),
                               "\nMODULES=(vfio vfio_iommu_type1 vfio_pci \"${MODULES[@]}\")\n"));
        assert_int_equal(vt_mkinitcpio_dropin_generate(mods, 0, &out), 0);
        assert_false(out.present);
        vt_file_out_free(&out);
        vt_file_out_free(&again);
        vt_file_out_free(&released);
        vt_buf_free(&cur);
        vt_buf_free(&old);
}

static vt_kernel k510 = {
    .version = "5.10.0-30-amd64",
    .modules_dep = "kernel/drivers/vfio/vfio.ko: kernel/drivers/vfio/vfio_virqfd.ko\n"
                   "kernel/drivers/vfio/vfio_virqfd.ko:\n"
                   "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n",
    .builtin = "",
};
static vt_kernel k61 = {
    .version = "6.1.0-26-amd64",
    .modules_dep = "kernel/drivers/vfio/vfio.ko.xz:\n"
                   "kernel/drivers/vfio/pci/vfio-pci.ko.xz: kernel/drivers/vfio/vfio.ko.xz\n",
    .builtin = "",
};
static vt_kernel kbuiltin = {
    .version = "6.8.0-45-generic",
    .modules_dep = "kernel/drivers/vfio/vfio.ko.zst:\n",
    .builtin = "kernel/drivers/vfio/pci/vfio-pci.ko\nkernel/drivers/vfio/pci/vfio-pci-core.ko\n",
};

static void test_module_list(void **state)
{
        vt_kernel both[] = {k61, k510};
        vt_strv v = {0};

        (void)state;
        assert_int_equal(vt_early_modules(&k61, 1, &v), 0);
        assert_int_equal(v.n, 3);
        assert_string_equal(v.items[2], "vfio_pci");
        vt_strv_free(&v);
        assert_int_equal(vt_early_modules(both, 2, &v), 0);
        assert_int_equal(v.n, 3);
        vt_strv_free(&v);
        assert_int_equal(vt_early_modules(&k510, 1, &v), 0);
        assert_int_equal(v.n, 4);
        assert_string_equal(v.items[3], "vfio_virqfd");
        vt_strv_free(&v);
}

static void test_builtin_cmdline(void **state)
{
        vt_pci_device igpu = {.bdf = "0000:00:02.0",
                              .vendor = 0x8086,
                              .device = 0x3e92,
                              .class_code = 0x038000,
                              .driver = "i915"};
        const vt_pci_device *set[] = {&igpu};
        vt_kernel mixed[] = {k61, kbuiltin};
        vt_strv v = {0};

        (void)state;
        assert_int_equal(vt_builtin_cmdline_args(&k61, 1, set, 1, VT_BIND_IDS, &v), 0);
        assert_int_equal(v.n, 0);
        assert_int_equal(vt_builtin_cmdline_args(mixed, 2, set, 1, VT_BIND_BLACKLIST, &v), 0);
        assert_int_equal(v.n, 2);
        assert_string_equal(v.items[0], "vfio-pci.ids=8086:3e92");
        assert_string_equal(v.items[1], "vfio-pci.disable_vga=1");
        vt_strv_free(&v);
        /* override binds by address: no ids on the command line either. */
        assert_int_equal(vt_builtin_cmdline_args(mixed, 2, set, 1, VT_BIND_OVERRIDE, &v), 0);
        assert_int_equal(v.n, 1);
        assert_string_equal(v.items[0], "vfio-pci.disable_vga=1");
        vt_strv_free(&v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_debian_stock),
            cmocka_unit_test(test_no_final_newline_and_missing_file),
            cmocka_unit_test(test_user_already_loads),
            cmocka_unit_test(test_broken_block),
            cmocka_unit_test(test_dracut),
            cmocka_unit_test(test_mkinitcpio),
            cmocka_unit_test(test_module_list),
            cmocka_unit_test(test_builtin_cmdline),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
