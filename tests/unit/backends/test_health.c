/* backends/health.c: the post-boot health checks on a fixture host whose driver links are
 * changed to make each check fail. */
#include "../helpers.h"

#include <errno.h>

#include "backends/health.h"
#include "common/error.h"

/* Point a device's driver link at another driver (NULL: unbind). */
static void rebind(const char *sys, const char *bdf, const char *driver)
{
        char link[4096], target[256];

        snprintf(link, sizeof(link), "%s/bus/pci/devices/%s/driver", sys, bdf);
        assert_true(unlink(link) == 0 || errno == ENOENT);
        if (!driver)
                return;
        snprintf(target, sizeof(target), "%s/bus/pci/drivers/%s", sys, driver);
        mkdir(target, 0755); /* pci-stub is not in the fixture */
        snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
        assert_int_equal(symlink(target, link), 0);
}

/* The checks on the facts as read now from the fixture trees. */
static int check(const char *sys, const char *proc, const char *const *bdfs, size_t n,
                 const char *failed_units, vt_health *out)
{
        vt_pci_list pci = {0};
        vt_hostinfo host = {0};

        assert_int_equal(vt_pci_scan(sys, &pci), 0);
        assert_int_equal(vt_hostinfo_probe(sys, proc, &host), 0);
        assert_int_equal(vt_health_check(&pci, &host, bdfs, n, failed_units, out), 0);
        vt_hostinfo_free(&host);
        vt_pci_list_free(&pci);
        return 0;
}

static const vt_health_finding *find(const vt_health *h, const char *check, const char *bdf)
{
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->items[i].check, check) == 0 && strcmp(h->items[i].bdf, bdf) == 0)
                        return &h->items[i];
        return NULL;
}

static void test_checks(void **state)
{
        (void)state;
        char *sys = fixture_copy("intel-igpu-desktop", "sys"),
             *proc = fixture_path("intel-igpu-desktop", "proc");
        const char *const bdfs[] = {"0000:00:02.0"};
        vt_health h = {0};
        const vt_health_finding *f;

        /* Before the trial: the iGPU is still on i915. */
        assert_int_equal(check(sys, proc, bdfs, 1, "", &h), 0);
        assert_int_equal(h.n, 1);
        f = find(&h, VT_HEALTH_VFIO_BOUND, "0000:00:02.0");
        assert_non_null(f);
        assert_non_null(strstr(f->message, "i915"));
        vt_health_free(&h);

        /* A good trial. */
        rebind(sys, "0000:00:02.0", "vfio-pci");
        assert_int_equal(check(sys, proc, bdfs, 1, "", &h), 0);
        assert_int_equal(h.n, 0);
        vt_health_free(&h);

        /* The SATA controller holding / and /boot went to vfio-pci; the NIC lost its driver;
         * one finding per device even though the SATA controller has two roles. */
        rebind(sys, "0000:00:17.0", "vfio-pci");
        rebind(sys, "0000:00:1f.6", NULL);
        assert_int_equal(check(sys, proc, bdfs, 1, NULL, &h), 0);
        assert_int_equal(h.n, 2);
        f = find(&h, VT_HEALTH_HOST_DRIVER, "0000:00:17.0");
        assert_non_null(f);
        assert_non_null(strstr(f->message, "vfio-pci"));
        f = find(&h, VT_HEALTH_HOST_DRIVER, "0000:00:1f.6");
        assert_non_null(f);
        assert_non_null(strstr(f->message, "default route"));
        assert_non_null(strstr(f->message, "without a driver"));
        vt_health_free(&h);
        rebind(sys, "0000:00:17.0", "ahci");
        rebind(sys, "0000:00:1f.6", "e1000e");

        /* pci-stub holds a device away from the host just the same. */
        rebind(sys, "0000:00:17.0", "pci-stub");
        assert_int_equal(check(sys, proc, bdfs, 1, NULL, &h), 0);
        assert_int_equal(h.n, 1);
        assert_non_null(find(&h, VT_HEALTH_HOST_DRIVER, "0000:00:17.0"));
        vt_health_free(&h);
        rebind(sys, "0000:00:17.0", "ahci");

        /* A device that is gone, and failed units. */
        {
                const char *const gone[] = {"0000:00:02.0", "0000:05:00.0"};

                assert_int_equal(check(sys, proc, gone, 2,
                                       "nfs-server.service loaded failed failed NFS\n"
                                       "\xe2\x97\x8f x.mount loaded failed failed X\n",
                                       &h),
                                 0);
        }
        assert_int_equal(h.n, 3);
        assert_non_null(strstr(find(&h, VT_HEALTH_VFIO_BOUND, "0000:05:00.0")->message, "gone"));
        assert_string_equal(h.items[1].message, "unit nfs-server.service failed");
        assert_string_equal(h.items[2].message, "unit x.mount failed");
        vt_health_free(&h);

        free(proc);
        rm_rf(sys);
}

static void test_parse_units(void **state)
{
        (void)state;
        char **units;
        size_t n;

        assert_int_equal(vt_health_parse_failed_units("", &units, &n), 0);
        assert_int_equal(n, 0);
        vt_health_units_free(units, n);
        assert_int_equal(vt_health_parse_failed_units("  a.service loaded failed failed A\n\n* "
                                                      "b.socket loaded failed failed B",
                                                      &units, &n),
                         0);
        assert_int_equal(n, 2);
        assert_string_equal(units[0], "a.service");
        assert_string_equal(units[1], "b.socket");
        vt_health_units_free(units, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_checks),
            cmocka_unit_test(test_parse_units),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
