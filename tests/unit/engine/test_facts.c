/* engine/facts.c: each fact is read on first use and then kept for the whole operation, so
 * every step of one operation sees the same host; a failed probe is not kept. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "engine/facts.h"

static void add_kernel(const char *root, const char *kver)
{
        char rel[256];

        snprintf(rel, sizeof(rel), "lib/modules/%s/modules.dep", kver);
        write_file(root, rel, "kernel/drivers/vfio/vfio.ko:\n");
        snprintf(rel, sizeof(rel), "boot/vmlinuz-%s", kver);
        write_file(root, rel, "");
}

/* The kernels are scanned once: a kernel installed after the first question is not seen by
 * the same operation, and the rebuild facts are made from that same list. */
static void test_kernels_once(void **state)
{
        char *dir = fixture_copy("intel-igpu-desktop", "root");
        const vt_kernel_list *k1, *k2;
        const vt_rebuild_host *rh;
        vt_root root = VT_ROOT_INIT;
        vt_facts f;

        (void)state;
        assert_int_equal(vt_root_open(&root, dir), 0);
        vt_facts_init(&f, &root, "/nonexistent-sys", "/nonexistent-proc");
        assert_int_equal(vt_facts_kernels(&f, &k1), 0);
        assert_int_equal(k1->n, 2);
        assert_string_equal(k1->items[1].version, "6.1.0-26-amd64");

        add_kernel(dir, "6.1.0-27-amd64");
        assert_int_equal(vt_facts_kernels(&f, &k2), 0);
        assert_ptr_equal(k1, k2);
        assert_int_equal(k2->n, 2);
        assert_int_equal(vt_facts_rebuild(&f, &rh), 0);
        assert_int_equal(rh->n_kernels, 2);
        vt_facts_free(&f);

        /* A new operation sees the new kernel. */
        vt_facts_init(&f, &root, "/nonexistent-sys", "/nonexistent-proc");
        assert_int_equal(vt_facts_rebuild(&f, &rh), 0);
        assert_int_equal(rh->n_kernels, 3);
        assert_string_equal(rh->kernels[2].version, "6.1.0-27-amd64");
        vt_facts_free(&f);
        vt_root_close(&root);
        rm_rf(dir);
}

/* The boot path is detected once, whatever changes under /boot meanwhile. */
static void test_boot_once(void **state)
{
        char *dir = make_tmpdir();
        const vt_boot_info *b1, *b2;
        vt_root root = VT_ROOT_INIT;
        vt_facts f;

        (void)state;
        write_file(dir, "boot/grub/grub.cfg", "menuentry x {}\n");
        write_file(dir, "etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
        assert_int_equal(vt_root_open(&root, dir), 0);
        vt_facts_init(&f, &root, "/nonexistent-sys", "/nonexistent-proc");
        assert_int_equal(vt_facts_boot(&f, &b1), 0);
        assert_true(b1->flags & VT_BOOT_GRUB_BIOS);
        assert_true(b1->edit_grub_default);

        write_file(dir, "etc/kernelstub/configuration", "{}\n");
        assert_int_equal(vt_facts_boot(&f, &b2), 0);
        assert_ptr_equal(b1, b2);
        assert_false(b2->flags & VT_BOOT_KERNELSTUB);
        vt_facts_free(&f);
        vt_root_close(&root);
        rm_rf(dir);
}

/* PCI devices and the devices the host needs, from the fixture's sysfs and proc; a probe that
 * fails returns its error, keeps nothing, and is tried again on the next call. */
static void test_pci_and_host(void **state)
{
        char *sys = fixture_path("intel-igpu-desktop", "sys"),
             *proc = fixture_path("intel-igpu-desktop", "proc");
        const vt_pci_list *p1 = NULL, *p2 = NULL;
        const vt_hostinfo *h = NULL;
        const vt_iommu_maker *m = NULL;
        vt_facts f;

        (void)state;
        vt_facts_init(&f, NULL, "/nonexistent-sys", proc);
        assert_true(vt_facts_pci(&f, &p1) < 0);
        assert_null(p1);
        vt_error_clear();
        f.sysfs = sys; /* the same operation, asked again once the tree is there */
        assert_int_equal(vt_facts_pci(&f, &p1), 0);
        assert_non_null(vt_pci_find(p1, "0000:00:02.0"));
        assert_int_equal(vt_facts_pci(&f, &p2), 0);
        assert_ptr_equal(p1, p2);
        assert_int_equal(vt_facts_host(&f, &h), 0);
        assert_true(h->n > 0);
        assert_int_equal(vt_facts_iommu_maker(&f, &m), 0);
        assert_int_equal(m->vendor, VT_CPU_INTEL);
        vt_facts_free(&f);
        vt_facts_free(&f); /* freeing twice is harmless */
        free(sys);
        free(proc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kernels_once),
            cmocka_unit_test(test_boot_once),
            cmocka_unit_test(test_pci_and_host),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
