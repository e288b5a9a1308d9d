/* backends/cpu: the vendor from cpuinfo's text, Hygon read as AMD, and the probe on the fixture
 * hosts' /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../helpers.h"

#include "backends/cpu.h"
#include "common/error.h"

static void test_vendor_of(void **state)
{
        (void)state;
        assert_int_equal(vt_cpu_vendor_of("processor\t: 0\nvendor_id\t: GenuineIntel\n"),
                         VT_CPU_INTEL);
        assert_int_equal(vt_cpu_vendor_of("vendor_id\t: AuthenticAMD\n"), VT_CPU_AMD);
        /* Hygon Dhyana: a licensed AMD Zen core, with AMD-V and AMD-Vi. */
        assert_int_equal(vt_cpu_vendor_of("processor\t: 0\nvendor_id\t: HygonGenuine\n"
                                          "model name\t: Hygon C86 7185 32-core Processor\n"),
                         VT_CPU_AMD);
        assert_int_equal(vt_cpu_vendor_of("vendor_id\t: CentaurHauls\n"), VT_CPU_UNKNOWN);
        assert_int_equal(vt_cpu_vendor_of(""), VT_CPU_UNKNOWN);
        assert_int_equal(vt_cpu_vendor_of(NULL), VT_CPU_UNKNOWN);
}

static void test_probe(void **state)
{
        char *proc = fixture_path("intel-igpu-desktop", "proc"), *tmp = make_tmpdir();

        (void)state;
        assert_int_equal(vt_cpu_vendor_probe(proc), VT_CPU_INTEL);
        free(proc);
        proc = fixture_path("amd-desktop", "proc");
        assert_int_equal(vt_cpu_vendor_probe(proc), VT_CPU_AMD);
        free(proc);
        /* No cpuinfo: unknown, and no error left behind for the caller to trip over. */
        vt_error_clear();
        assert_int_equal(vt_cpu_vendor_probe(tmp), VT_CPU_UNKNOWN);
        assert_null(vt_error_message());
        write_file(tmp, "cpuinfo", "vendor_id\t: HygonGenuine\nflags\t\t: svm\n");
        assert_int_equal(vt_cpu_vendor_probe(tmp), VT_CPU_AMD);
        rm_rf(tmp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vendor_of),
            cmocka_unit_test(test_probe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
