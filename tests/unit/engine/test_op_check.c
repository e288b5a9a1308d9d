/* engine/op_check: the readiness findings of a fixture host, the boot-counter finding from the
 * trial check, and a host whose PCI tree cannot be read (a warning, every other finding). */
#include "../helpers.h"

#include "common/error.h"
#include "engine/op_check.h"

static int warnings;

static void warning(void *userdata, const char *text)
{
        (void)userdata;
        (void)text;
        warnings++;
}

static const vt_finding *find(const vt_findings *f, const char *id, const char *subject)
{
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->items[i].id, id) == 0 &&
                    (!subject ||
                     (f->items[i].subject && strcmp(f->items[i].subject, subject) == 0)))
                        return &f->items[i];
        return NULL;
}

static void test_ready_host(void **state)
{
        char *root = fixture_path("intel-igpu-desktop", "root"),
             *sys = fixture_path("intel-igpu-desktop", "sys"),
             *proc = fixture_path("intel-igpu-desktop", "proc");
        vt_op_env env = {.root = root, .sysfs = sys, .proc = proc};
        vt_op_ui ui = {.warning = warning};
        vt_op_check_result res;

        (void)state;
        assert_int_equal(vt_op_check(&env, &ui, &res), 0);
        assert_true(res.ready);
        assert_int_equal(warnings, 0);
        assert_int_equal(find(&res.findings, "cpu-virt", NULL)->status, VT_CHECK_OK);
        assert_int_equal(find(&res.findings, "vfio-modules", "6.1.0-25-amd64")->status,
                         VT_CHECK_OK);
        assert_int_equal(find(&res.findings, "vfio-modules", "6.1.0-26-amd64")->status,
                         VT_CHECK_OK);
        /* No GRUB in this root: ready for passthrough, but no automatic fallback. */
        assert_int_equal(find(&res.findings, "boot-counter", NULL)->status, VT_CHECK_WARN);
        assert_non_null(strstr(find(&res.findings, "boot-counter", NULL)->message, "GRUB"));
        assert_non_null(find(&res.findings, "boot-counter", NULL)->advice);
        assert_null(vt_error_message());
        vt_op_check_result_free(&res);

        /* Without a PCI tree: a warning, and still the kernels' findings. */
        env.sysfs = "/nonexistent";
        assert_int_equal(vt_op_check(&env, &ui, &res), 0);
        assert_int_equal(warnings, 1);
        assert_non_null(find(&res.findings, "vfio-modules", "6.1.0-26-amd64"));
        vt_op_check_result_free(&res);

        /* A root that does not exist is an error with a message. */
        env.root = "/nonexistent-root";
        assert_true(vt_op_check(&env, &ui, &res) < 0);
        assert_non_null(vt_error_message());
        vt_error_clear();
        vt_op_check_result_free(&res);
        free(root);
        free(sys);
        free(proc);
}

/* The IOMMU switched off: not ready, with the failing finding. */
static void test_iommu_off(void **state)
{
        char *root = fixture_path("iommu-off", "root"), *sys = fixture_path("iommu-off", "sys"),
             *proc = fixture_path("iommu-off", "proc");
        vt_op_env env = {.root = root, .sysfs = sys, .proc = proc};
        vt_op_check_result res;

        (void)state;
        assert_int_equal(vt_op_check(&env, NULL, &res), 0);
        assert_false(res.ready);
        assert_int_equal(find(&res.findings, "iommu-active", NULL)->status, VT_CHECK_FAIL);
        vt_op_check_result_free(&res);
        free(root);
        free(sys);
        free(proc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ready_host),
            cmocka_unit_test(test_iommu_off),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
