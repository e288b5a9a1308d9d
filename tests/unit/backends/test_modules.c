/* backends/modules: the /etc/modules editor keeps every byte and adds only what is missing;
 * the module list follows the target kernels. */
#include "../helpers.h"

#include "backends/kernels.h"
#include "backends/modules.h"

static const char *const base[] = {"vfio", "vfio_iommu_type1", "vfio_pci", NULL};

static void edit_expect(const char *in, const char *want)
{
        vt_buf cur = VT_BUF_INIT, out = VT_BUF_INIT;

        if (in)
                assert_int_equal(vt_buf_puts(&cur, in), 0);
        assert_int_equal(vt_modules_edit(in ? &cur : NULL, base, &out), 0);
        assert_string_equal(vt_buf_cstr(&out), want);
        vt_buf_free(&cur);
        vt_buf_free(&out);
}

static void test_stock_debian(void **state)
{
        (void)state;
        edit_expect("# /etc/modules: kernel modules to load at boot time.\n#\n# This file ...\n\n",
                    "# /etc/modules: kernel modules to load at boot time.\n#\n# This file ...\n\n"
                    "vfio\nvfio_iommu_type1\nvfio_pci\n");
}

static void test_unchanged_when_complete(void **state)
{
        const char *in = "# mine\nvfio-pci   # passthrough\n vfio\tfoo=1\nvfio_iommu_type1";

        (void)state;
        /* byte for byte, including the missing final newline and the odd spacing */
        edit_expect(in, in);
}

static void test_comments_do_not_count(void **state)
{
        (void)state;
        edit_expect("#vfio\n;vfio_pci\nloop\n",
                    "#vfio\n;vfio_pci\nloop\nvfio\nvfio_iommu_type1\nvfio_pci\n");
}

static void test_missing_newline_and_crlf(void **state)
{
        (void)state;
        edit_expect("loop", "loop\nvfio\nvfio_iommu_type1\nvfio_pci\n");
        edit_expect("loop\r\n", "loop\r\nvfio\r\nvfio_iommu_type1\r\nvfio_pci\r\n");
        edit_expect("", "vfio\nvfio_iommu_type1\nvfio_pci\n");
}

static void test_absent_file_gets_stock_header(void **state)
{
        vt_buf out = VT_BUF_INIT;

        (void)state;
        assert_int_equal(vt_modules_edit(NULL, base, &out), 0);
        assert_non_null(strstr(out.ptr, "# /etc/modules: kernel modules to load at boot time.\n"));
        assert_non_null(strstr(out.ptr, "\nvfio\nvfio_iommu_type1\nvfio_pci\n"));
        vt_buf_free(&out);
}

static vt_kernel kernel(const char *ver, const char *dep, const char *builtin)
{
        vt_kernel k = {strdup(ver), strdup(dep), strdup(builtin), NULL};
        return k;
}

static void test_wanted_follows_kernels(void **state)
{
        vt_kernel ks[2];
        vt_kernel_list list = {ks, 0};
        const char *wanted[5];
        vt_buf why = VT_BUF_INIT;

        (void)state;
        ks[0] = kernel(
            "6.1.0-26-amd64",
            "kernel/drivers/vfio/vfio_virqfd.ko:\nkernel/drivers/vfio/pci/vfio-pci.ko: x\n", "");
        ks[1] = kernel("6.12.9-amd64", "kernel/drivers/vfio/pci/vfio-pci.ko.xz: x\n", "");

        list.n = 0; /* no kernel known: no vfio_virqfd */
        assert_int_equal(vt_modules_wanted(&list, wanted, &why), 0);
        assert_null(wanted[3]);
        assert_non_null(strstr(why.ptr, "no kernel found"));

        list.n = 1; /* 6.1 only: it still has vfio_virqfd as a module */
        vt_buf_clear(&why);
        assert_int_equal(vt_modules_wanted(&list, wanted, &why), 0);
        assert_string_equal(wanted[3], "vfio_virqfd");
        assert_null(wanted[4]);

        list.n = 2; /* 6.1 and 6.12: listing it would fail on 6.12 */
        vt_buf_clear(&why);
        assert_int_equal(vt_modules_wanted(&list, wanted, &why), 0);
        assert_null(wanted[3]);
        assert_non_null(strstr(why.ptr, "1 of 2 kernels lack it"));

        assert_int_equal(vt_kernel_module(&ks[1], "vfio-pci"), VT_MODULE_LOADABLE);
        assert_int_equal(vt_kernel_module(&ks[1], "vfio"), VT_MODULE_ABSENT);
        for (int i = 0; i < 2; i++) {
                free(ks[i].version);
                free(ks[i].modules_dep);
                free(ks[i].builtin);
        }
        vt_buf_free(&why);
}

static void test_kernels_scan(void **state)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_kernel_list list = {0};
        char *v;

        (void)state;
        write_file(dir, "lib/modules/6.12.9-amd64/modules.dep", "kernel/drivers/vfio/vfio.ko:\n");
        write_file(dir, "lib/modules/6.1.0-26-amd64/modules.dep", "kernel/a.ko:\n");
        write_file(dir, "lib/modules/6.1.0-26-amd64/modules.builtin",
                   "kernel/drivers/vfio/pci/vfio-pci.ko\n");
        write_file(dir, "lib/modules/6.0.0-old/extra/leftover.ko", "");
        write_file(dir, "boot/config-6.1.0-26-amd64",
                   "CONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n"
                   "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_kernels_scan(&root, &list), 0);
        assert_int_equal(list.n, 2); /* the leftover directory is not a kernel */
        assert_string_equal(list.items[0].version, "6.1.0-26-amd64");
        assert_string_equal(list.items[1].version, "6.12.9-amd64"); /* version order */
        assert_int_equal(vt_kernel_module(&list.items[0], "vfio_pci"), VT_MODULE_BUILTIN);
        assert_int_equal(vt_kernel_module(&list.items[1], "vfio"), VT_MODULE_LOADABLE);
        v = vt_kernel_config(&list.items[0], "INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF");
        assert_string_equal(v, "y");
        free(v);
        assert_null(vt_kernel_config(&list.items[0], "INTEL_IOMMU_DEFAULT_ON"));
        assert_null(vt_kernel_config(&list.items[1], "INTEL_IOMMU"));
        vt_kernels_free(&list);
        vt_root_close(&root);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stock_debian),
            cmocka_unit_test(test_unchanged_when_complete),
            cmocka_unit_test(test_comments_do_not_count),
            cmocka_unit_test(test_missing_newline_and_crlf),
            cmocka_unit_test(test_absent_file_gets_stock_header),
            cmocka_unit_test(test_wanted_follows_kernels),
            cmocka_unit_test(test_kernels_scan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
