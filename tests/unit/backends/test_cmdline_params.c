/* Which parameters a plan needs, from facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backends/cmdline_params.h"

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static size_t count(const char *const *l)
{
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

/* The added words, in order, must be `add`; the removals `rm`; every word has a reason. */
static void expect(const vt_cmdline_facts *f, const char *const *add, const char *const *rm)
{
        vt_cmdline_plan p;

        assert_int_equal(vt_cmdline_params_derive(f, &p), 0);
        if (p.change.n_add != count(add)) {
                for (size_t i = 0; i < p.change.n_add; i++)
                        fprintf(stderr, "got: %s\n", p.change.add[i].word);
                fail_msg("%zu additions, want %zu", p.change.n_add, count(add));
        }
        for (size_t i = 0; i < p.change.n_add; i++) {
                bool explained = false;

                assert_string_equal(p.change.add[i].word, add[i]);
                for (size_t k = 0; k < p.n_reasons; k++)
                        explained = explained ||
                                    (p.reasons[k].word && strcmp(p.reasons[k].word, add[i]) == 0 &&
                                     p.reasons[k].why[0] && !strchr(p.reasons[k].why, '\n'));
                assert_true(explained);
        }
        assert_int_equal(p.change.n_remove, count(rm));
        for (size_t i = 0; i < p.change.n_remove; i++)
                assert_string_equal(p.change.remove[i].word, rm[i]);
        vt_cmdline_plan_free(&p);
}

static const vt_cmdline_kernel_facts debian12[] = {
    {"6.1.0-26-amd64", VT_INTEL_IOMMU_ON_INTGPU_OFF, false, true}};
static const vt_cmdline_kernel_facts upstream_off[] = {
    {"5.15.0-1", VT_INTEL_IOMMU_OFF, false, false}};
static const vt_cmdline_kernel_facts upstream_on[] = {
    {"6.8.12-4-pve", VT_INTEL_IOMMU_ON, false, false}};

static void test_intel_by_kernel_default(void **state)
{
        vt_cmdline_facts f = {.cpu = VT_CPU_INTEL, .kernels = debian12, .n_kernels = 1};

        (void)state;
        /* Debian 12: on except the iGPU. A discrete GPU needs nothing; the iGPU needs "on". */
        f.igpu = VT_IGPU_HOST;
        expect(&f, L("iommu=pt"), NULL);
        f.igpu = VT_IGPU_PASSTHROUGH;
        expect(&f, L("intel_iommu=on", "iommu=pt"), NULL);
        /* Default off: "on", with igfx_off when the iGPU stays (igfx_off alone enables nothing). */
        f.kernels = upstream_off;
        f.igpu = VT_IGPU_HOST;
        expect(&f, L("intel_iommu=on,igfx_off", "iommu=pt"), NULL);
        f.igpu = VT_IGPU_NONE;
        expect(&f, L("intel_iommu=on", "iommu=pt"), NULL);
        /* Default on: the seed's igfx_off variant when the iGPU stays with the host. */
        f.kernels = upstream_on;
        f.igpu = VT_IGPU_HOST;
        expect(&f, L("intel_iommu=igfx_off", "iommu=pt"), NULL);
        f.igpu = VT_IGPU_PASSTHROUGH;
        expect(&f, L("iommu=pt"), NULL);
}

static void test_several_kernels_merge(void **state)
{
        const vt_cmdline_kernel_facts both[] = {debian12[0], upstream_off[0]};
        vt_cmdline_facts f = {
            .cpu = VT_CPU_INTEL, .kernels = both, .n_kernels = 2, .igpu = VT_IGPU_HOST};

        (void)state;
        expect(&f, L("intel_iommu=on,igfx_off", "iommu=pt"), NULL);
}

static void test_amd(void **state)
{
        vt_cmdline_facts f = {
            .cpu = VT_CPU_AMD, .amd_ivrs = true, .kernels = upstream_off, .n_kernels = 1};
        vt_cmdline_plan p;

        (void)state;
        expect(&f, L("iommu=pt"), NULL);
        f.amd_ivrs = false;
        assert_int_equal(vt_cmdline_params_derive(&f, &p), 0);
        assert_null(p.reasons[0].word);
        assert_non_null(strstr(p.reasons[0].why, "IVRS"));
        vt_cmdline_plan_free(&p);
}

static void test_boot_display_and_builtin(void **state)
{
        const char *ids[] = {"10de:1b80", "10de:10f0"};
        const vt_cmdline_kernel_facts k[] = {{"6.5.0-ubuntu", VT_INTEL_IOMMU_ON, true, true}};
        vt_cmdline_facts f = {.cpu = VT_CPU_AMD,
                              .amd_ivrs = true,
                              .kernels = k,
                              .n_kernels = 1,
                              .boot_display_passthrough = true,
                              .boot_mode = VT_BOOT_MODE_EFI,
                              .vfio_ids = ids,
                              .n_vfio_ids = 2};

        (void)state;
        expect(&f,
               L("iommu=pt", "video=efifb:off", "initcall_blacklist=sysfb_init",
                 "vfio-pci.ids=10de:1b80,10de:10f0"),
               NULL);
        f.boot_mode = VT_BOOT_MODE_BIOS;
        f.boot_display_passthrough = false;
        expect(&f, L("iommu=pt", "vfio-pci.ids=10de:1b80,10de:10f0"), NULL);
        f.boot_display_passthrough = true;
        expect(&f,
               L("iommu=pt", "video=vesafb:off", "initcall_blacklist=sysfb_init",
                 "vfio-pci.ids=10de:1b80,10de:10f0"),
               NULL);
}

static void test_user_overrides(void **state)
{
        vt_cmdline_facts f = {.cpu = VT_CPU_INTEL,
                              .kernels = upstream_off,
                              .n_kernels = 1,
                              .user_add = L("intel_iommu=on,sm_on", "pcie_acs_override=downstream"),
                              .n_user_add = 2,
                              .user_remove = L("iommu", "quiet"),
                              .n_user_remove = 2};

        (void)state;
        expect(&f, L("intel_iommu=on,sm_on", "pcie_acs_override=downstream"), L("iommu", "quiet"));
        f.no_iommu_params = true;
        f.n_user_remove = 0;
        f.n_user_add = 0;
        expect(&f, NULL, NULL);
        f.user_add = L("iommu=pt");
        f.n_user_add = 1;
        f.user_remove = L("iommu=pt");
        f.n_user_remove = 1;
        {
                vt_cmdline_plan p;

                assert_int_equal(vt_cmdline_params_derive(&f, &p), -EINVAL);
        }
}

static void test_facts_from_config(void **state)
{
        vt_kernel k = {"6.1.0-26-amd64", "", "kernel/drivers/vfio/pci/vfio-pci.ko\n",
                       "CONFIG_INTEL_IOMMU=y\n# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n"
                       "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y\nCONFIG_SYSFB_SIMPLEFB=y\n"};
        vt_cmdline_kernel_facts f;

        (void)state;
        assert_int_equal(vt_cmdline_kernel_facts_from(&k, &f), 0);
        assert_int_equal(f.intel_iommu, VT_INTEL_IOMMU_ON_INTGPU_OFF);
        assert_true(f.sysfb_simplefb);
        assert_true(f.vfio_pci_builtin);
        k.config = "CONFIG_INTEL_IOMMU_DEFAULT_ON=y\n";
        k.builtin = "";
        assert_int_equal(vt_cmdline_kernel_facts_from(&k, &f), 0);
        assert_int_equal(f.intel_iommu, VT_INTEL_IOMMU_ON);
        assert_false(f.vfio_pci_builtin);
        k.config = "# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set\n";
        assert_int_equal(vt_cmdline_kernel_facts_from(&k, &f), 0);
        assert_int_equal(f.intel_iommu, VT_INTEL_IOMMU_OFF);
        k.config = NULL;
        assert_int_equal(vt_cmdline_kernel_facts_from(&k, &f), 0);
        assert_int_equal(f.intel_iommu, VT_INTEL_IOMMU_UNKNOWN);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_intel_by_kernel_default),
            cmocka_unit_test(test_several_kernels_merge),
            cmocka_unit_test(test_amd),
            cmocka_unit_test(test_boot_display_and_builtin),
            cmocka_unit_test(test_user_overrides),
            cmocka_unit_test(test_facts_from_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
