/* engine/safety: every refusal rule on the fixture hosts, and the --device resolver. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/safety.h"

typedef struct host {
        vt_pci_list devs;
        vt_hostinfo info;
        vt_selection sel;
        vt_refusal_list out;
} host;

static void load(host *h, const char *name)
{
        char *sys, *proc;
        const char *base = getenv("VFIOTX_FIXTURES");

        assert_non_null(base);
        *h = (host){0};
        assert_true(asprintf(&sys, "%s/hosts/%s/sys", base, name) > 0);
        assert_true(asprintf(&proc, "%s/hosts/%s/proc", base, name) > 0);
        assert_int_equal(vt_pci_scan(sys, &h->devs), 0);
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h->info), 0);
        free(sys);
        free(proc);
}

static void unload(host *h)
{
        vt_refusal_list_free(&h->out);
        vt_selection_free(&h->sel);
        vt_hostinfo_free(&h->info);
        vt_pci_list_free(&h->devs);
}

/* Name the devices (a NULL-terminated list of specs) and run the check with `m`. */
static size_t check(host *h, vt_bind_method m, ...)
{
        va_list ap;
        const char *spec;

        vt_refusal_list_free(&h->out);
        vt_selection_free(&h->sel);
        va_start(ap, m);
        while ((spec = va_arg(ap, const char *)))
                assert_int_equal(vt_selection_add(&h->sel, &h->devs, spec), 0);
        va_end(ap);
        assert_int_equal(vt_safety_check(&h->devs, &h->info, &h->sel, m, &h->out), 0);
        return h->out.n;
}

static const vt_refusal *find(const host *h, vt_refusal_code code, const char *bdf)
{
        for (size_t i = 0; i < h->out.n; i++)
                if (h->out.items[i].code == code && strcmp(h->out.items[i].bdf, bdf) == 0)
                        return &h->out.items[i];
        return NULL;
}

static void expect(const host *h, vt_refusal_code code, const char *bdf, const char *text)
{
        const vt_refusal *r = find(h, code, bdf);

        if (!r)
                fail_msg("no %s refusal for %s", vt_refusal_code_name(code), bdf);
        if (text && !strstr(r->message, text))
                fail_msg("'%s' lacks '%s'", r->message, text);
        assert_non_null(r->advice);
}

static void test_root_and_boot_disk(void **state)
{
        host h;

        (void)state;
        load(&h, "intel-igpu-desktop");
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "00:17.0", NULL), 2);
        expect(&h, VT_REFUSE_ROOT_DISK, "0000:00:17.0",
               "0000:00:17.0 (SATA controller) controls the disk that holds / (/dev/sda2): "
               "passing it through makes the host unbootable");
        expect(&h, VT_REFUSE_BOOT_DISK, "0000:00:17.0", "holds /boot (/dev/sda1)");
        unload(&h);

        load(&h, "dual-gpu");
        check(&h, VT_BIND_OVERRIDE, "0000:02:00.0", NULL);
        expect(&h, VT_REFUSE_BOOT_DISK, "0000:02:00.0", NULL);
        assert_null(find(&h, VT_REFUSE_ROOT_DISK, "0000:02:00.0"));
        unload(&h);
}

static void test_only_display(void **state)
{
        host h;

        (void)state;
        load(&h, "amd-desktop");
        assert_int_equal(check(&h, VT_BIND_IDS, "0b:00.0", "0b:00.1", NULL), 1);
        expect(&h, VT_REFUSE_ONLY_DISPLAY, "0000:0b:00.0", "boot display");
        unload(&h);

        /* The seed's case: the iGPU goes, the boot VGA (GTX 1050 Ti) stays. */
        load(&h, "intel-igpu-desktop");
        assert_int_equal(check(&h, VT_BIND_IDS, "8086:3e92", NULL), 0);
        /* Both displays named: the boot VGA is the one refused. */
        check(&h, VT_BIND_OVERRIDE, "00:02.0", "01:00.0", "01:00.1", NULL);
        expect(&h, VT_REFUSE_ONLY_DISPLAY, "0000:01:00.0", NULL);
        assert_null(find(&h, VT_REFUSE_ONLY_DISPLAY, "0000:00:02.0"));
        unload(&h);

        /* A serial console is a console: the server may give its only VGA away. */
        load(&h, "server-shared-nic");
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "0000:07:00.0", NULL), 0);
        h.info.serial_console = false;
        check(&h, VT_BIND_OVERRIDE, "0000:07:00.0", NULL);
        expect(&h, VT_REFUSE_ONLY_DISPLAY, "0000:07:00.0", NULL);
        unload(&h);
}

static void test_default_route_and_group(void **state)
{
        host h;

        (void)state;
        load(&h, "server-shared-nic");
        /* The T4 alone: both I350 ports share its group; the PLX bridges do not count. */
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "04:00.0", NULL), 2);
        expect(&h, VT_REFUSE_GROUP, "0000:05:00.0",
               "0000:05:00.0 (Ethernet controller) shares IOMMU group 30 with 0000:04:00.0");
        expect(&h, VT_REFUSE_GROUP, "0000:05:00.1", NULL);
        assert_string_equal(find(&h, VT_REFUSE_GROUP, "0000:05:00.0")->named, "0000:04:00.0");
        assert_null(find(&h, VT_REFUSE_GROUP, "0000:03:08.0"));
        /* The whole group: now the default-route NIC is what is lost. */
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "04:00.0", "05:00.0", "05:00.1", NULL), 1);
        expect(&h, VT_REFUSE_DEFAULT_ROUTE, "0000:05:00.0",
               "carries the default route (eno1): passing it through cuts the host off");
        unload(&h);

        /* GPU and its HDMI audio in one group with a bridge: named together, no group refusal. */
        load(&h, "dual-gpu");
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "0b:00.0", NULL), 1);
        expect(&h, VT_REFUSE_GROUP, "0000:0b:00.1", NULL);
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "0b:00.0", "0b:00.1", NULL), 0);
        unload(&h);
}

static void test_same_id_and_driver(void **state)
{
        host h;

        (void)state;
        load(&h, "dual-gpu");
        /* ids= for the second GTX 1080 would also take the first (and its audio function). */
        assert_int_equal(check(&h, VT_BIND_IDS, "0b:00.0", "0b:00.1", NULL), 2);
        expect(&h, VT_REFUSE_SAME_ID, "0000:0a:00.0", "same id 10de:1b80 as 0000:0b:00.0");
        expect(&h, VT_REFUSE_SAME_ID, "0000:0a:00.1", NULL);
        assert_string_equal(find(&h, VT_REFUSE_SAME_ID, "0000:0a:00.0")->advice,
                            "use --method override, which binds by address only");
        assert_int_equal(check(&h, VT_BIND_ALIAS, "0b:00.0", "0b:00.1", NULL), 2);
        /* blacklist: same ids, and the same drivers (nvidia, snd_hda_intel). */
        assert_int_equal(check(&h, VT_BIND_BLACKLIST, "0b:00.0", "0b:00.1", NULL), 4);
        expect(&h, VT_REFUSE_SAME_ID, "0000:0a:00.0", NULL);
        expect(&h, VT_REFUSE_SAME_ID, "0000:0a:00.1", NULL);
        expect(&h, VT_REFUSE_SAME_DRIVER, "0000:0a:00.0", "also uses nvidia");
        expect(&h, VT_REFUSE_SAME_DRIVER, "0000:0a:00.1", "snd_hda_intel");
        /* override binds per address: fine. */
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "0b:00.0", "0b:00.1", NULL), 0);
        unload(&h);

        /* Blacklisting snd_hda_intel for the dGPU's audio would silence the board's audio;
         * ids= alone is fine (both cards' functions named, no twin). */
        load(&h, "intel-igpu-desktop");
        assert_int_equal(check(&h, VT_BIND_IDS, "01:00.0", "01:00.1", NULL), 0);
        assert_int_equal(check(&h, VT_BIND_BLACKLIST, "01:00.0", "01:00.1", NULL), 1);
        expect(&h, VT_REFUSE_SAME_DRIVER, "0000:00:1f.3", "blacklisting snd_hda_intel");
        assert_null(find(&h, VT_REFUSE_SAME_ID, "0000:00:1f.3"));
        unload(&h);
}

/* Blacklisting names a module (bochs-drm is module bochs): a device kept by the host loses its
 * driver when its module, or its driver when the module is unknown, is that name, or when it
 * uses the same driver. A named device with no host driver (vfio-pci, pci-stub: the profile
 * knows none) blacklists nothing, so it strands nothing. */
static void test_same_driver_by_module(void **state)
{
        vt_pci_device dev[] = {
            {.bdf = "0000:00:01.0",
             .class_code = 0x030000,
             .vendor = 0x1234,
             .device = 0x1111,
             .iommu_group = 1,
             .driver = "bochs-drm",
             .module = "bochs"},
            {.bdf = "0000:00:05.0",
             .class_code = 0x030000,
             .vendor = 0x1234,
             .device = 0x1112,
             .iommu_group = 2,
             .driver = "bochs-drm",
             .module = "bochs"},
            {.bdf = "0000:00:06.0",
             .class_code = 0x030000,
             .vendor = 0x1234,
             .device = 0x1113,
             .iommu_group = 3,
             .driver = "bochs"},
            {.bdf = "0000:00:07.0",
             .class_code = 0x030000,
             .vendor = 0x1234,
             .device = 0x1114,
             .iommu_group = 4,
             .driver = "vfio-pci",
             .module = "vfio_pci"},
        };
        vt_pci_list devs = {dev, ARRAY_SIZE(dev)};
        const vt_pci_device *named[] = {&dev[0]};
        vt_selection sel = {named, 1};
        vt_hostinfo none = {0};
        vt_refusal_list out = {0};

        (void)state;
        assert_int_equal(vt_safety_check(&devs, &none, &sel, VT_BIND_BLACKLIST, &out), 0);
        assert_int_equal(out.n, 2);
        assert_int_equal(out.items[0].code, VT_REFUSE_SAME_DRIVER);
        assert_string_equal(out.items[0].bdf, "0000:00:05.0");
        assert_non_null(strstr(out.items[0].message, "blacklisting bochs for 0000:00:01.0"));
        assert_string_equal(out.items[1].bdf, "0000:00:06.0");
        vt_refusal_list_free(&out);
        /* The same device already on vfio-pci or pci-stub, with no host driver known. */
        dev[0].driver = "vfio-pci";
        dev[0].module = "vfio_pci";
        assert_int_equal(vt_safety_check(&devs, &none, &sel, VT_BIND_BLACKLIST, &out), 0);
        assert_int_equal(out.n, 0);
        dev[0].driver = "pci-stub";
        dev[0].module = NULL;
        assert_int_equal(vt_safety_check(&devs, &none, &sel, VT_BIND_BLACKLIST, &out), 0);
        assert_int_equal(out.n, 0);
}

static void test_no_iommu_and_bridge(void **state)
{
        host h;

        (void)state;
        load(&h, "iommu-off");
        assert_int_equal(check(&h, VT_BIND_OVERRIDE, "00:1f.3", NULL), 1);
        expect(&h, VT_REFUSE_NO_IOMMU, "0000:00:1f.3", "has no IOMMU group");
        unload(&h);

        load(&h, "intel-igpu-desktop");
        check(&h, VT_BIND_OVERRIDE, "00:01.0", NULL);
        expect(&h, VT_REFUSE_BRIDGE, "0000:00:01.0", "is a bridge");
        unload(&h);
}

static void test_verdict(void **state)
{
        host h;

        (void)state;
        load(&h, "intel-igpu-desktop");
        assert_int_equal(
            vt_safety_verdict(&h.devs, &h.info, vt_pci_find(&h.devs, "00:02.0"), &h.out), 0);
        assert_int_equal(h.out.n, 0);
        vt_refusal_list_free(&h.out);
        assert_int_equal(
            vt_safety_verdict(&h.devs, &h.info, vt_pci_find(&h.devs, "00:1f.6"), &h.out), 0);
        expect(&h, VT_REFUSE_DEFAULT_ROUTE, "0000:00:1f.6", NULL);
        expect(&h, VT_REFUSE_GROUP, "0000:00:1f.3", NULL);
        unload(&h);
}

static void test_resolver(void **state)
{
        host h;
        vt_pci_device two[2] = {{.bdf = "0000:01:00.0", .bus = 1, .vendor = 0x10de},
                                {.bdf = "0001:01:00.0", .domain = 1, .bus = 1, .vendor = 0x10de}};
        vt_pci_list multi = {.items = two, .n = 2};
        vt_selection sel = {0};

        (void)state;
        load(&h, "dual-gpu");
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "10de:1b80"), 0);
        assert_int_equal(h.sel.n, 2);
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "0000:0a:00.0"), 0);
        assert_int_equal(h.sel.n, 2); /* no duplicates */
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "0A:00.1"), 0);
        assert_int_equal(h.sel.n, 3);
        assert_true(vt_selection_has(&h.sel, vt_pci_find(&h.devs, "0a:00.1")));

        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "gpu0"), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "neither a PCI address"));
        assert_non_null(vt_error_hint_text());
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "10de:1b8"), -EINVAL);
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "0000:09:00.0"), -ENODEV);
        assert_non_null(strstr(vt_error_message(), "no PCI device at 0000:09:00.0"));
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "09:00.0"), -ENODEV);
        assert_non_null(strstr(vt_error_message(), "no PCI device at 0000:09:00.0"));
        assert_int_equal(vt_selection_add(&h.sel, &h.devs, "10de:1b81"), -ENODEV);
        assert_non_null(strstr(vt_error_message(), "10de:1b81"));
        assert_int_equal(h.sel.n, 3);
        unload(&h);

        assert_int_equal(vt_selection_add(&sel, &multi, "01:00.0"), -EEXIST);
        assert_non_null(strstr(vt_error_message(), "ambiguous"));
        assert_int_equal(vt_selection_add(&sel, &multi, "0001:01:00.0"), 0);
        assert_ptr_equal(sel.items[0], &two[1]);
        vt_selection_free(&sel);
}

static void test_methods(void **state)
{
        vt_bind_method m;

        (void)state;
        assert_int_equal(vt_bind_method_parse("blacklist", &m), 0);
        assert_int_equal(m, VT_BIND_BLACKLIST);
        assert_string_equal(vt_bind_method_name(VT_BIND_OVERRIDE), "override");
        assert_int_equal(vt_bind_method_parse("stub", &m), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "'stub'"));
        assert_string_equal(vt_refusal_code_name(VT_REFUSE_ONLY_DISPLAY), "only-display");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_root_and_boot_disk),
            cmocka_unit_test(test_only_display),
            cmocka_unit_test(test_default_route_and_group),
            cmocka_unit_test(test_same_id_and_driver),
            cmocka_unit_test(test_same_driver_by_module),
            cmocka_unit_test(test_no_iommu_and_bridge),
            cmocka_unit_test(test_verdict),
            cmocka_unit_test(test_resolver),
            cmocka_unit_test(test_methods),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
