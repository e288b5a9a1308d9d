/* backends/quirks: the table by vendor:device and class (AMD reset bug, NVIDIA ROM and x-vga,
 * Intel iGPU generations), the shared IOMMU group and pcie_acs_override on request only. */
#include "../helpers.h"

#include <string.h>

#include "backends/quirks.h"

static vt_pci_device dev(const char *bdf, uint16_t vendor, uint16_t device, uint32_t class_code,
                         int group)
{
        vt_pci_device d = {
            .vendor = vendor, .device = device, .class_code = class_code, .iommu_group = group};
        bool has_domain;

        snprintf(d.bdf, sizeof(d.bdf), "%s", bdf);
        assert_int_equal(vt_pci_parse_bdf(bdf, &d.domain, &d.bus, &d.dev, &d.func, &has_domain), 0);
        return d;
}

/* The codes of d's quirks, space separated. */
static const char *codes(const vt_pci_device *d, const vt_quirk_ctx *ctx)
{
        static char out[256];
        vt_quirk_list q;

        out[0] = '\0';
        vt_quirks_for(d, ctx, &q);
        for (size_t i = 0; i < q.n; i++) {
                assert_non_null(q.items[i]->advice);
                assert_non_null(q.items[i]->evidence);
                /* one line each, for comments in shell and XML alike */
                assert_null(strchr(q.items[i]->advice, '\n'));
                snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "",
                         q.items[i]->code);
        }
        return out;
}

static void test_amd_reset(void **state)
{
        vt_quirk_ctx ctx = {0};
        /* Navi 10 (the amd-desktop fixture's RX 5700 XT), Polaris 10/11/12, Vega 10/20, Navi 14 */
        static const uint16_t ids[] = {0x731f, 0x67df, 0x67ef, 0x699f, 0x687f, 0x66af, 0x7340};

        (void)state;
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                vt_pci_device d = dev("0000:0b:00.0", 0x1002, ids[i], 0x030000, 5);

                assert_string_equal(codes(&d, &ctx), "amd-reset-bug");
        }
        /* Navi 21 (RX 6800) resets fine; its HDMI audio is no GPU; another vendor's id is not
         * AMD's */
        vt_pci_device navi21 = dev("0000:0b:00.0", 0x1002, 0x73bf, 0x030000, 5);
        vt_pci_device audio = dev("0000:0b:00.1", 0x1002, 0xab38, 0x040300, 5);
        vt_pci_device other = dev("0000:0b:00.0", 0x10de, 0x731f, 0x030200, 5);

        assert_string_equal(codes(&navi21, &ctx), "");
        assert_string_equal(codes(&audio, &ctx), "");
        assert_string_equal(codes(&other, &ctx), "");
        assert_true(vt_quirk_find("amd-reset-bug")->flags & VT_QUIRK_RESET);
        assert_non_null(strstr(vt_quirk_find("amd-reset-bug")->advice, "vendor-reset"));
}

static void test_nvidia(void **state)
{
        vt_pci_device boot = dev("0000:01:00.0", 0x10de, 0x1c82, 0x030000, 1);
        vt_pci_device second = dev("0000:0b:00.0", 0x10de, 0x1b80, 0x030000, 6);
        vt_pci_device tesla = dev("0000:04:00.0", 0x10de, 0x1eb8, 0x030200, 30);
        vt_pci_device audio = dev("0000:01:00.1", 0x10de, 0x0fb9, 0x040300, 1);
        vt_quirk_ctx ctx = {0};
        vt_quirk_list q;

        (void)state;
        boot.boot_vga = true;
        assert_string_equal(codes(&boot, &ctx), "nvidia-boot-vga");
        vt_quirks_for(&boot, &ctx, &q);
        assert_true(q.items[0]->flags & VT_QUIRK_NEEDS_ROM);
        assert_true(q.items[0]->flags & VT_QUIRK_PRIMARY_GPU);
        /* not the boot GPU: x-vga or OVMF, no ROM needed */
        assert_string_equal(codes(&second, &ctx), "nvidia-gpu");
        vt_quirks_for(&second, &ctx, &q);
        assert_false(q.items[0]->flags & VT_QUIRK_NEEDS_ROM);
        /* a 3D controller (compute, no VGA) and the HDMI audio have none */
        assert_string_equal(codes(&tesla, &ctx), "");
        assert_string_equal(codes(&audio, &ctx), "");
}

static void test_intel_igpu(void **state)
{
        static const struct {
                uint16_t id;
                const char *code;
        } cases[] = {
            {0x3e92, "intel-gvt-g"}, /* UHD 630, Coffee Lake (intel-igpu-desktop) */
            {0x9bc8, "intel-gvt-g"}, /* UHD 630, Comet Lake (iommu-off) */
            {0x1912, "intel-gvt-g"}, /* HD 530, Skylake */
            {0x1616, "intel-gvt-g"}, /* HD 5500, Broadwell */
            {0x5912, "intel-gvt-g"}, /* HD 630, Kaby Lake */
            {0x8a52, "intel-gen11"}, /* Iris Plus, Ice Lake */
            {0x9a49, "intel-sriov"}, /* Iris Xe, Tiger Lake */
            {0x4680, "intel-sriov"}, /* UHD 770, Alder Lake S */
            {0x46a6, "intel-sriov"}, /* Iris Xe, Alder Lake P */
            {0xa780, "intel-sriov"}, /* UHD 770, Raptor Lake S */
            {0x0412, "intel-igpu"},  /* HD 4600, Haswell: no GVT-g upstream, not in the table */
        };
        vt_quirk_ctx ctx = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                vt_pci_device d = dev("0000:00:02.0", 0x8086, cases[i].id, 0x038000, 2);

                assert_string_equal(codes(&d, &ctx), cases[i].code);
        }
        /* Not at 00:02, or not Intel's, or not a display: no iGPU */
        vt_pci_device dgpu = dev("0000:03:00.0", 0x8086, 0x56a0, 0x030000, 9);
        vt_pci_device not_slot2 = dev("0000:00:03.0", 0x8086, 0x3e92, 0x038000, 2);
        vt_pci_device audio = dev("0000:00:1f.3", 0x8086, 0xa348, 0x040300, 6);

        assert_string_equal(codes(&dgpu, &ctx), "");
        assert_string_equal(codes(&not_slot2, &ctx), "");
        assert_string_equal(codes(&audio, &ctx), "");
}

static void test_group(void **state)
{
        /* server-shared-nic: the T4 shares group 30 with the PLX switch's bridges and the NIC */
        vt_pci_device items[] = {
            dev("0000:00:03.0", 0x8086, 0x2f08, 0x060400, 30),
            dev("0000:02:00.0", 0x10b5, 0x8747, 0x060400, 30),
            dev("0000:04:00.0", 0x10de, 0x1eb8, 0x030200, 30),
            dev("0000:05:00.0", 0x8086, 0x1521, 0x020000, 30),
            dev("0000:05:00.1", 0x8086, 0x1521, 0x020000, 30),
            dev("0000:07:00.0", 0x1a03, 0x2000, 0x030000, 12),
        };
        vt_pci_list all = {.items = items, .n = sizeof(items) / sizeof(items[0])};
        vt_strv passed = {0};
        vt_quirk_ctx ctx = {.all = &all, .passed = &passed};
        const vt_pci_device *others[4];

        (void)state;
        assert_int_equal(vt_strv_push(&passed, "0000:04:00.0"), 0);
        /* the NIC's two functions count, the bridges do not */
        assert_int_equal(vt_quirks_group_others(&items[2], &ctx, others, 4), 2);
        assert_string_equal(others[0]->bdf, "0000:05:00.0");
        assert_string_equal(others[1]->bdf, "0000:05:00.1");
        assert_string_equal(codes(&items[2], &ctx), "group-shared");
        /* pcie_acs_override only on request; on a Proxmox kernel it is there, else not known */
        ctx.flags = VT_QUIRKS_ACS_OVERRIDE;
        ctx.kernel = "6.8.12-4-pve";
        assert_string_equal(codes(&items[2], &ctx), "acs-override");
        assert_non_null(strstr(vt_quirk_find("acs-override")->advice, "NOT isolated"));
        ctx.kernel = "6.1.0-26-amd64";
        assert_string_equal(codes(&items[2], &ctx), "acs-override-unpatched");
        ctx.kernel = NULL;
        assert_string_equal(codes(&items[2], &ctx), "acs-override-unpatched");
        /* passing the NIC too leaves nobody behind */
        ctx.flags = 0;
        assert_int_equal(vt_strv_push(&passed, "0000:05:00.0"), 0);
        assert_int_equal(vt_strv_push(&passed, "0000:05:00.1"), 0);
        assert_string_equal(codes(&items[2], &ctx), "");
        /* a slot's own functions are one card: the NIC's .0 does not make .1's group shared
         * when the T4 goes too */
        vt_strv_free(&passed);
        assert_int_equal(vt_strv_push(&passed, "0000:04:00.0"), 0);
        assert_int_equal(vt_quirks_group_others(&items[3], &ctx, others, 4), 0);
        /* no group (IOMMU off), no list: nothing to say */
        items[2].iommu_group = -1;
        assert_string_equal(codes(&items[2], &ctx), "");
        ctx.all = NULL;
        assert_string_equal(codes(&items[3], &ctx), "");
        vt_strv_free(&passed);
}

static void test_kernel(void **state)
{
        (void)state;
        assert_true(vt_quirks_kernel_has_acs_override("6.8.12-4-pve"));
        assert_false(vt_quirks_kernel_has_acs_override("6.1.0-26-amd64"));
        assert_false(vt_quirks_kernel_has_acs_override("-pve"));
        assert_false(vt_quirks_kernel_has_acs_override(""));
        assert_false(vt_quirks_kernel_has_acs_override(NULL));
        assert_null(vt_quirk_find("no-such-quirk"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_amd_reset),  cmocka_unit_test(test_nvidia),
            cmocka_unit_test(test_intel_igpu), cmocka_unit_test(test_group),
            cmocka_unit_test(test_kernel),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
