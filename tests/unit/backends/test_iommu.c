/* backends/iommu: readiness findings on the fixture hosts and on variants of their /proc. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../helpers.h"

#include "backends/iommu.h"
#include "common/error.h"
#include "common/fileio.h"

/* Run the check on `host`, with its /proc or `proc`, and its devices. */
static void run(const char *host, const char *proc, vt_findings *out)
{
        char *sys = fixture_path(host, "sys"), *rootdir = fixture_path(host, "root"),
             *myproc = fixture_path(host, "proc");
        vt_root root = VT_ROOT_INIT;
        vt_pci_list devs = {0};
        vt_kernel_list kernels = {0};

        assert_int_equal(vt_root_open(&root, rootdir), 0);
        assert_int_equal(vt_pci_scan(sys, &devs), 0);
        assert_int_equal(vt_kernels_scan(&root, &kernels), 0);
        assert_int_equal(vt_iommu_check(sys, proc ? proc : myproc, &root, &kernels, &devs, out), 0);
        vt_kernels_free(&kernels);
        vt_pci_list_free(&devs);
        vt_root_close(&root);
        free(sys);
        free(rootdir);
        free(myproc);
}

/* The statuses of finding `id` (for `kernel` when given), as "ok warn ...". */
static const char *statuses(const vt_findings *f, const char *id, const char *kernel)
{
        static char buf[256];

        buf[0] = '\0';
        for (size_t i = 0; i < f->n; i++) {
                if (strcmp(f->items[i].id, id) != 0 ||
                    (kernel && (!f->items[i].subject || strcmp(f->items[i].subject, kernel))))
                        continue;
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "",
                         vt_check_status_name(f->items[i].status));
        }
        return buf;
}

static const vt_finding *first(const vt_findings *f, const char *id)
{
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->items[i].id, id) == 0)
                        return &f->items[i];
        fail_msg("no finding %s", id);
        return NULL;
}

static void test_fixture_verdicts(void **state)
{
        static const struct {
                const char *host;
                bool ready;
        } cases[] = {{"intel-igpu-desktop", true},
                     {"amd-desktop", true},
                     {"dual-gpu", true},
                     {"server-shared-nic", true},
                     {"iommu-off", false}};
        vt_findings f;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                run(cases[i].host, NULL, &f);
                if (vt_findings_ready(&f) != cases[i].ready)
                        fail_msg("%s: ready=%d", cases[i].host, !cases[i].ready);
                assert_string_equal(statuses(&f, "cpu-virt", NULL), "ok");
                assert_string_equal(statuses(&f, "acpi-table", NULL), "ok");
                vt_findings_free(&f);
        }

        run("intel-igpu-desktop", NULL, &f);
        assert_string_equal(statuses(&f, "vfio-modules", NULL), "ok ok");
        assert_string_equal(statuses(&f, "vfio-modules", "6.1.0-25-amd64"), "ok");
        assert_string_equal(statuses(&f, "iommu-active", NULL), "ok");
        assert_non_null(strstr(first(&f, "iommu-active")->message, "7 IOMMU groups"));
        vt_findings_free(&f);

        run("iommu-off", NULL, &f);
        assert_string_equal(statuses(&f, "iommu-active", NULL), "fail");
        assert_string_equal(statuses(&f, "kernel-params", "5.4.0-200-generic"), "fail");
        assert_non_null(strstr(first(&f, "kernel-params")->advice, "intel_iommu=on"));
        assert_non_null(strstr(first(&f, "vfio-modules")->message, "vfio_virqfd"));
        vt_findings_free(&f);

        run("dual-gpu", NULL, &f);
        assert_non_null(strstr(first(&f, "vfio-modules")->message, "built in"));
        assert_non_null(strstr(first(&f, "vfio-modules")->advice, "vfio-pci.ids="));
        vt_findings_free(&f);
}

static void test_proc_variants(void **state)
{
        char tmpl[] = "/tmp/vfiotx-iommu-" TMP_SUFFIX, *proc = mkdtemp(tmpl);
        vt_findings f;

        (void)state;
        write_file(proc, "cpuinfo",
                   "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme sse2\n");
        write_file(proc, "interrupts", "  0:  18  IO-APIC  2-edge  timer\n");
        /* Debian's INTGPU_OFF 6.1 without intel_iommu=on: each kernel warns about the iGPU. */
        write_file(proc, "cmdline", "root=/dev/sda2 ro quiet iommu=pt\n");
        run("intel-igpu-desktop", proc, &f);
        assert_string_equal(statuses(&f, "cpu-virt", NULL), "fail");
        assert_string_equal(statuses(&f, "irq-remap", NULL), "warn");
        assert_string_equal(statuses(&f, "kernel-params", NULL), "warn warn");
        assert_non_null(strstr(first(&f, "kernel-params")->message, "0000:00:02.0"));
        assert_false(vt_findings_ready(&f));
        vt_findings_free(&f);

        /* The server has no iGPU: the same kernel is fine without the parameter. */
        run("server-shared-nic", proc, &f);
        assert_string_equal(statuses(&f, "kernel-params", NULL), "ok");
        vt_findings_free(&f);

        write_file(proc, "cmdline", "root=/dev/sda2 intel_iommu=off\n");
        run("intel-igpu-desktop", proc, &f);
        assert_string_equal(statuses(&f, "kernel-params", NULL), "fail");
        vt_findings_free(&f);

        write_file(proc, "cmdline", "root=/dev/sda2 amd_iommu=off\n");
        run("amd-desktop", proc, &f);
        assert_string_equal(statuses(&f, "kernel-params", NULL), "fail");
        vt_findings_free(&f);

        /* Unreadable probe files become warnings, never errors. */
        nftw(proc, rm_rf_entry, 16, FTW_DEPTH | FTW_PHYS);
        run("amd-desktop", proc, &f);
        assert_string_equal(statuses(&f, "cpu-virt", NULL), "warn");
        assert_string_equal(statuses(&f, "kernel-params", NULL), "warn");
        vt_findings_free(&f);
}

static void test_missing_modules(void **state)
{
        char tmpl[] = "/tmp/vfiotx-iommu-" TMP_SUFFIX, *dir = mkdtemp(tmpl);
        char *sys = fixture_path("amd-desktop", "sys"), *proc = fixture_path("amd-desktop", "proc");
        vt_root root = VT_ROOT_INIT;
        vt_kernel_list kernels = {0};
        vt_findings f;

        (void)state;
        write_file(dir, "lib/modules/6.9.0-custom/modules.dep",
                   "kernel/drivers/vfio/vfio.ko:\nkernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko:\n");
        write_file(dir, "lib/modules/6.9.0-custom/modules.builtin",
                   "kernel/drivers/vfio/vfio_iommu_type1.ko\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_kernels_scan(&root, &kernels), 0);
        assert_int_equal(vt_iommu_check(sys, proc, &root, &kernels, NULL, &f), 0);
        vt_kernels_free(&kernels);
        assert_string_equal(statuses(&f, "vfio-modules", "6.9.0-custom"), "fail");
        assert_non_null(strstr(first(&f, "vfio-modules")->message, "lacks vfio_pci"));
        assert_false(vt_findings_ready(&f));
        vt_findings_free(&f);
        vt_root_close(&root);
        nftw(dir, rm_rf_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(sys);
        free(proc);
}

/* The IOMMU's maker: the ACPI table decides, DMAR before IVRS; the CPU vendor only without
 * either, Hygon read as AMD; cpuinfo is not even read when a table decides. */
static void test_maker(void **state)
{
        static const struct {
                bool dmar, ivrs;
                const char *cpuinfo; /* NULL: no cpuinfo */
                vt_cpu_vendor vendor;
                vt_iommu_source source;
        } cases[] = {
            {true, false, "vendor_id\t: AuthenticAMD\n", VT_CPU_INTEL, VT_IOMMU_FROM_DMAR},
            {false, true, "vendor_id\t: GenuineIntel\n", VT_CPU_AMD, VT_IOMMU_FROM_IVRS},
            {true, true, "vendor_id\t: AuthenticAMD\n", VT_CPU_INTEL, VT_IOMMU_FROM_DMAR},
            {true, false, NULL, VT_CPU_INTEL, VT_IOMMU_FROM_DMAR},
            {false, true, NULL, VT_CPU_AMD, VT_IOMMU_FROM_IVRS},
            {false, false, "vendor_id\t: GenuineIntel\n", VT_CPU_INTEL, VT_IOMMU_FROM_CPU},
            {false, false, "vendor_id\t: AuthenticAMD\n", VT_CPU_AMD, VT_IOMMU_FROM_CPU},
            {false, false, "vendor_id\t: HygonGenuine\n", VT_CPU_AMD, VT_IOMMU_FROM_CPU},
            {false, false, "vendor_id\t: CentaurHauls\n", VT_CPU_UNKNOWN, VT_IOMMU_FROM_NOTHING},
            {false, false, NULL, VT_CPU_UNKNOWN, VT_IOMMU_FROM_NOTHING},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *sys = make_tmpdir(), *proc = make_tmpdir();
                vt_iommu_maker m;

                write_file(sys, "firmware/acpi/tables/FACP", "");
                if (cases[i].dmar)
                        write_file(sys, "firmware/acpi/tables/DMAR", "");
                if (cases[i].ivrs)
                        write_file(sys, "firmware/acpi/tables/IVRS", "");
                if (cases[i].cpuinfo)
                        write_file(proc, "cpuinfo", cases[i].cpuinfo);
                vt_error_clear();
                assert_int_equal(vt_iommu_maker_probe(sys, proc, &m), 0);
                assert_null(vt_error_message());
                if (m.vendor != cases[i].vendor || m.source != cases[i].source)
                        fail_msg("case %zu: vendor %d source %d", i, m.vendor, m.source);
                assert_true(m.tables.listed);
                assert_int_equal(m.tables.dmar, cases[i].dmar);
                assert_int_equal(m.tables.ivrs, cases[i].ivrs);
                rm_rf(sys);
                rm_rf(proc);
        }
}

/* No tables directory (a fixture /sys, or not root): unknown tables, the CPU decides. */
static void test_maker_unlisted(void **state)
{
        char *sys = make_tmpdir(), *proc = make_tmpdir();
        vt_iommu_maker m;

        (void)state;
        write_file(proc, "cpuinfo", "vendor_id\t: HygonGenuine\n");
        assert_int_equal(vt_iommu_maker_probe(sys, proc, &m), 0);
        assert_false(m.tables.listed);
        assert_int_equal(m.vendor, VT_CPU_AMD);
        assert_int_equal(m.source, VT_IOMMU_FROM_CPU);
        /* The pure rule: the CPU is not consulted when a table decides. */
        vt_iommu_maker_of(&(vt_acpi_iommu){.listed = true, .ivrs = true}, VT_CPU_INTEL, &m);
        assert_int_equal(m.vendor, VT_CPU_AMD);
        assert_int_equal(m.source, VT_IOMMU_FROM_IVRS);
        rm_rf(sys);
        rm_rf(proc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixture_verdicts), cmocka_unit_test(test_proc_variants),
            cmocka_unit_test(test_missing_modules),  cmocka_unit_test(test_maker),
            cmocka_unit_test(test_maker_unlisted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
