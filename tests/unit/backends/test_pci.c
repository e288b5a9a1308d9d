/* backends/pci: libpci scan of the fixture hosts and of damaged trees. */
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

#include "backends/pci.h"
#include "common/error.h"
#include "common/fileio.h"

static char *fixture_sys(const char *host)
{
        const char *base = getenv("VFIOTX_FIXTURES");
        char *p;

        assert_non_null(base);
        assert_true(asprintf(&p, "%s/hosts/%s/sys", base, host) > 0);
        return p;
}

/* A one-device tree: devices/0000:00:02.0 with the attributes given as name=value pairs. */
static char *mini_tree(const char *vendor, const char *cls)
{
        char tmpl[] = "/tmp/vfiotx-pci-" TMP_SUFFIX, *dir = strdup(mkdtemp(tmpl));
        char path[4096];

        write_file(dir, "devices/pci0000:00/0000:00:02.0/device", "0x3e92\n");
        if (vendor)
                write_file(dir, "devices/pci0000:00/0000:00:02.0/vendor", vendor);
        if (cls)
                write_file(dir, "devices/pci0000:00/0000:00:02.0/class", cls);
        write_file(dir, "bus/pci/drivers/.keep", "");
        mkdir(strcat(strcpy(path, dir), "/bus/pci/devices"), 0755);
        assert_int_equal(symlink("../../../devices/pci0000:00/0000:00:02.0",
                                 strcat(strcpy(path, dir), "/bus/pci/devices/0000:00:02.0")),
                         0);
        return dir;
}

static void test_scan_igpu_desktop(void **state)
{
        char *sys = fixture_sys("intel-igpu-desktop");
        vt_pci_list l = {0};
        const vt_pci_device *d;

        (void)state;
        assert_int_equal(vt_pci_scan(sys, &l), 0);
        assert_int_equal(l.n, 13);
        for (size_t i = 1; i < l.n; i++)
                assert_true(strcmp(l.items[i - 1].bdf, l.items[i].bdf) < 0);
        d = vt_pci_find(&l, "00:02.0");
        assert_non_null(d);
        assert_string_equal(d->bdf, "0000:00:02.0");
        assert_int_equal(d->vendor, 0x8086);
        assert_int_equal(d->device, 0x3e92);
        assert_int_equal(d->subvendor, 0x1458);
        assert_int_equal(d->subdevice, 0xd000);
        assert_int_equal(d->class_code, 0x038000);
        assert_int_equal(d->revision, 2);
        assert_string_equal(d->driver, "i915");
        assert_string_equal(d->modalias, "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00");
        assert_int_equal(d->iommu_group, 2);
        assert_false(d->boot_vga);
        assert_string_equal(d->vendor_name, "Intel Corporation");
        assert_string_equal(d->device_name, "CoffeeLake-S GT2 [UHD Graphics 630]");
        assert_string_equal(d->class_name, "Display controller");
        assert_string_equal(d->parent, "");
        assert_true(vt_pci_is_display(d));

        d = vt_pci_find(&l, "0000:01:00.0");
        assert_non_null(d);
        assert_true(d->boot_vga);
        assert_string_equal(d->parent, "0000:00:01.0");
        assert_true(vt_pci_is_pci_bridge(vt_pci_find(&l, "0000:00:01.0")));
        assert_string_equal(vt_pci_find(&l, "0000:00:02.0")->module, "i915");
        /* a driver's module can be named otherwise (drivers/<driver>/module); none when the
         * driver is built in (pcieport) */
        d = vt_pci_find(&l, "0000:00:14.0");
        assert_string_equal(d->driver, "xhci_hcd");
        assert_string_equal(d->module, "xhci_pci");
        d = vt_pci_find(&l, "0000:00:1f.4");
        assert_string_equal(d->driver, "i801_smbus");
        assert_string_equal(d->module, "i2c_i801");
        d = vt_pci_find(&l, "0000:00:01.0");
        assert_string_equal(d->driver, "pcieport");
        assert_null(d->module);
        d = vt_pci_find(&l, "0000:00:14.2");
        assert_non_null(d);
        assert_null(d->driver);
        assert_null(d->module);
        assert_null(vt_pci_find(&l, "0000:09:00.0"));
        assert_null(vt_pci_find(&l, "garbage"));
        vt_pci_list_free(&l);
        free(sys);
}

static void test_scan_iommu_off(void **state)
{
        char *sys = fixture_sys("iommu-off");
        vt_pci_list l = {0};

        (void)state;
        assert_int_equal(vt_pci_scan(sys, &l), 0);
        assert_int_equal(l.n, 11);
        for (size_t i = 0; i < l.n; i++)
                assert_int_equal(l.items[i].iommu_group, -1);
        vt_pci_list_free(&l);
        free(sys);
}

static void test_parse_bdf(void **state)
{
        unsigned d, b, s, f;
        bool dom;

        (void)state;
        assert_int_equal(vt_pci_parse_bdf("0000:0b:00.1", &d, &b, &s, &f, &dom), 0);
        assert_true(dom);
        assert_int_equal(b, 0x0b);
        assert_int_equal(f, 1);
        assert_int_equal(vt_pci_parse_bdf("0B:1f.7", &d, &b, &s, &f, &dom), 0);
        assert_false(dom);
        assert_int_equal(s, 0x1f);
        assert_int_equal(vt_pci_parse_bdf("0b:20.0", &d, &b, &s, &f, &dom), -EINVAL);
        assert_int_equal(vt_pci_parse_bdf("0b:00.8", &d, &b, &s, &f, &dom), -EINVAL);
        assert_int_equal(vt_pci_parse_bdf("b:00.0", &d, &b, &s, &f, &dom), -EINVAL);
        assert_int_equal(vt_pci_parse_bdf(" 0:00:00.0", &d, &b, &s, &f, &dom), -EINVAL);
        assert_int_equal(vt_pci_parse_bdf("10de:1b80", &d, &b, &s, &f, &dom), -EINVAL);
        assert_int_equal(vt_pci_parse_bdf("", &d, &b, &s, &f, &dom), -EINVAL);
}

static void expect_scan_error(char *dir, const char *needle)
{
        vt_pci_list l = {0};

        vt_error_clear();
        assert_int_equal(vt_pci_scan(dir, &l), -EBADMSG);
        assert_non_null(vt_error_message());
        if (!strstr(vt_error_message(), needle))
                fail_msg("'%s' lacks '%s'", vt_error_message(), needle);
        assert_null(l.items);
        assert_int_equal(l.n, 0);
}

static void test_malformed(void **state)
{
        char *dir;
        vt_pci_list l = {0};

        (void)state;
        dir = mini_tree("0x8086\n", NULL);
        expect_scan_error(dir, "0000:00:02.0 has no 'class' attribute");
        rm_rf(dir);

        dir = mini_tree("0xzzzz\n", "0x030000\n");
        expect_scan_error(dir, "'vendor' is not a valid vendor value");
        rm_rf(dir);

        dir = mini_tree("0x80861\n", "0x030000\n");
        expect_scan_error(dir, "vendor");
        rm_rf(dir);

        dir = mini_tree("0x8086\n", "0x0300\n");
        expect_scan_error(dir, "'class' is not a valid class value");
        rm_rf(dir);

        /* The good version of the same tree scans: the errors above come from the damage. */
        dir = mini_tree("0x8086\n", "0x030000\n");
        assert_int_equal(vt_pci_scan(dir, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].iommu_group, -1);
        vt_pci_list_free(&l);

        /* A group link to a group directory that is gone. */
        {
                char path[4096];

                snprintf(path, sizeof(path), "%s/devices/pci0000:00/0000:00:02.0/iommu_group", dir);
                assert_int_equal(symlink("../../../kernel/iommu_groups/7", path), 0);
        }
        expect_scan_error(dir, "the 'iommu_group' link");
        rm_rf(dir);
}

/* The rules on scanned facts that several modules ask: the host driver, the Intel iGPU, the
 * modalias as a modprobe word. */
static void test_device_rules(void **state)
{
        char *sys = fixture_sys("intel-igpu-desktop");
        vt_pci_list list = {0};
        const vt_pci_device *d;
        vt_pci_device bad;
        char alias[128];

        (void)state;
        assert_true(vt_pci_is_host_driver("i915"));
        assert_true(vt_pci_is_host_driver("snd_hda_intel"));
        /* vfio-pci holds a device for a VM, pci-stub parks it: neither serves the host. */
        assert_false(vt_pci_is_host_driver("vfio-pci"));
        assert_false(vt_pci_is_host_driver("vfio_pci"));
        assert_false(vt_pci_is_host_driver("pci-stub"));
        assert_false(vt_pci_is_host_driver("pci_stub"));
        assert_false(vt_pci_is_host_driver(""));
        assert_false(vt_pci_is_host_driver(NULL));

        assert_int_equal(vt_pci_scan(sys, &list), 0);
        for (size_t i = 0; i < list.n; i++)
                assert_int_equal(vt_pci_is_intel_igpu(&list.items[i]),
                                 strcmp(list.items[i].bdf, "0000:00:02.0") == 0);
        d = vt_pci_find(&list, "00:02.0");
        assert_non_null(d);
        assert_int_equal(vt_pci_modalias(d, alias, sizeof(alias)), 0);
        assert_string_equal(alias, "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00");
        assert_int_equal(vt_pci_modalias(d, alias, 20), -EINVAL);
        bad = *d;
        bad.modalias = "pci:v0000 8086";
        assert_int_equal(vt_pci_modalias(&bad, alias, sizeof(alias)), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "0000:00:02.0"));
        bad.modalias = NULL;
        assert_int_equal(vt_pci_modalias(&bad, alias, sizeof(alias)), -EINVAL);
        vt_pci_list_free(&list);
        free(sys);
}

static void test_missing_tree(void **state)
{
        vt_pci_list l = {0};

        (void)state;
        assert_int_equal(vt_pci_scan("/nonexistent/vfiotx", &l), -ENOENT);
        assert_non_null(strstr(vt_error_message(), "cannot list PCI devices"));
        assert_non_null(vt_error_hint_text());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_scan_igpu_desktop), cmocka_unit_test(test_scan_iommu_off),
            cmocka_unit_test(test_parse_bdf),         cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_missing_tree),      cmocka_unit_test(test_device_rules),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
