/* backends/hostinfo: root/boot disk controllers, default-route NICs and serial consoles. */
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

#include "backends/hostinfo.h"
#include "common/error.h"
#include "common/fileio.h"

static void probe(const char *host, vt_hostinfo *h)
{
        char *sys = fixture_path(host, "sys"), *proc = fixture_path(host, "proc");

        assert_int_equal(vt_hostinfo_probe(sys, proc, h), 0);
        free(sys);
        free(proc);
}

static void expect_dep(const vt_hostinfo *h, const char *bdf, vt_host_role role, const char *detail)
{
        const vt_host_dep *d = vt_hostinfo_find(h, bdf, role);

        if (!d)
                fail_msg("no dependency %s role %d", bdf, (int)role);
        assert_string_equal(d->detail, detail);
}

static size_t count_role(const vt_hostinfo *h, vt_host_role role)
{
        size_t n = 0;

        for (size_t i = 0; i < h->n; i++)
                n += h->deps[i].role == role;
        return n;
}

static void test_fixtures(void **state)
{
        vt_hostinfo h;

        (void)state;
        probe("intel-igpu-desktop", &h);
        expect_dep(&h, "0000:00:17.0", VT_ROLE_ROOT_DISK, "/dev/sda2");
        expect_dep(&h, "0000:00:17.0", VT_ROLE_BOOT_DISK, "/dev/sda1");
        expect_dep(&h, "0000:00:1f.6", VT_ROLE_DEFAULT_ROUTE, "eno1");
        assert_int_equal(h.n, 3);
        assert_false(h.serial_console);
        assert_int_equal(h.n_notes, 0);
        vt_hostinfo_free(&h);

        /* Root on LVM (dm-1 -> slaves/nvme0n1p3), default route on a Linux bridge. */
        probe("amd-desktop", &h);
        expect_dep(&h, "0000:01:00.0", VT_ROLE_ROOT_DISK, "/dev/mapper/pve-root");
        expect_dep(&h, "0000:02:00.0", VT_ROLE_DEFAULT_ROUTE, "vmbr0");
        assert_int_equal(count_role(&h, VT_ROLE_BOOT_DISK), 0);
        vt_hostinfo_free(&h);

        probe("dual-gpu", &h);
        expect_dep(&h, "0000:01:00.0", VT_ROLE_ROOT_DISK, "/dev/nvme0n1p2");
        expect_dep(&h, "0000:02:00.0", VT_ROLE_BOOT_DISK, "/dev/sda1");
        expect_dep(&h, "0000:05:00.0", VT_ROLE_DEFAULT_ROUTE, "enp5s0");
        vt_hostinfo_free(&h);

        /* Only the default route's NIC counts, not eno2 (a plain subnet route). */
        probe("server-shared-nic", &h);
        expect_dep(&h, "0000:00:1f.2", VT_ROLE_ROOT_DISK, "/dev/sda2");
        expect_dep(&h, "0000:05:00.0", VT_ROLE_DEFAULT_ROUTE, "eno1");
        assert_null(vt_hostinfo_find(&h, "0000:05:00.1", VT_ROLE_DEFAULT_ROUTE));
        assert_true(h.serial_console);
        vt_hostinfo_free(&h);

        probe("iommu-off", &h);
        expect_dep(&h, "0000:01:00.0", VT_ROLE_ROOT_DISK, "/dev/nvme0n1p2");
        expect_dep(&h, "0000:00:1f.6", VT_ROLE_DEFAULT_ROUTE, "eno1");
        vt_hostinfo_free(&h);
}

static void test_pci_in_path(void **state)
{
        char bdf[16];

        (void)state;
        assert_true(vt_hostinfo_pci_in_path(
            "/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1", bdf));
        assert_string_equal(bdf, "0000:01:00.0");
        assert_false(vt_hostinfo_pci_in_path("/sys/devices/virtual/block/dm-0", bdf));
        assert_false(vt_hostinfo_pci_in_path("/sys/devices/pci0000:00", bdf));
}

/* Variants on a temporary /proc against the intel desktop's sysfs. */
static void test_proc_variants(void **state)
{
        char tmpl[] = "/tmp/vfiotx-host-" TMP_SUFFIX, *proc = strdup(mkdtemp(tmpl));
        char *sys = fixture_path("intel-igpu-desktop", "sys");
        vt_hostinfo h;

        (void)state;
        /* btrfs reports an anonymous device number: found by its source name. The IPv6
         * default route counts too. */
        write_file(proc, "self/mountinfo",
                   "29 1 0:35 /@ / rw,relatime shared:1 - btrfs /dev/sda2 rw,space_cache=v2\n");
        write_file(
            proc, "net/ipv6_route",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eno1\n");
        write_file(proc, "cmdline", "root=/dev/sda2 console=tty0 console=ttyS0,115200\n");
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), 0);
        expect_dep(&h, "0000:00:17.0", VT_ROLE_ROOT_DISK, "/dev/sda2");
        expect_dep(&h, "0000:00:1f.6", VT_ROLE_DEFAULT_ROUTE, "eno1");
        assert_true(h.serial_console);
        vt_hostinfo_free(&h);

        /* Root on NFS: nothing to protect on PCI, but a note says vfiotx cannot tell. */
        write_file(proc, "self/mountinfo",
                   "29 1 0:40 / / rw - nfs4 10.0.0.1:/export/root rw\n"
                   "30 29 0:41 / /mnt\\040space rw - tmpfs tmpfs rw\n");
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), 0);
        assert_int_equal(count_role(&h, VT_ROLE_ROOT_DISK), 0);
        assert_int_equal(h.n_notes, 1);
        assert_non_null(strstr(h.notes[0], "10.0.0.1:/export/root"));
        vt_hostinfo_free(&h);

        /* Overmounted /: the last line wins. */
        write_file(proc, "self/mountinfo",
                   "29 1 8:3 / / rw - ext4 /dev/sda3 rw\n30 1 8:2 / / rw - ext4 /dev/sda2 rw\n");
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), 0);
        expect_dep(&h, "0000:00:17.0", VT_ROLE_ROOT_DISK, "/dev/sda2");
        vt_hostinfo_free(&h);

        /* Malformed and missing mount tables are errors: the root disk cannot be protected. */
        write_file(proc, "self/mountinfo", "garbage\n");
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "malformed"));
        write_file(proc, "self/mountinfo", "29 1 8:3 / /home rw - ext4 /dev/sda3 rw\n");
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "no mount for /"));
        rm_rf(strdup(proc));
        assert_int_equal(vt_hostinfo_probe(sys, proc, &h), -ENOENT);
        assert_non_null(vt_error_hint_text());
        free(proc);
        free(sys);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixtures),
            cmocka_unit_test(test_pci_in_path),
            cmocka_unit_test(test_proc_variants),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
