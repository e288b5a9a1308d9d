/* backends/boot_preserve.c: the last good command line and the plan (what to copy, entry.cfg's
 * bytes); writing it: tests/unit/engine/test_last_good.c. */
#include "../helpers.h"

#include <errno.h>

#include "backends/boot_preserve.h"
#include "common/error.h"

static char *good_cmdline(const char *in)
{
        vt_buf out = VT_BUF_INIT;
        char *s;

        if (vt_last_good_cmdline(in, strlen(in), &out) < 0) {
                vt_buf_free(&out);
                return NULL;
        }
        s = strdup(vt_buf_cstr(&out));
        vt_buf_free(&out);
        return s;
}

static void test_cmdline(void **state)
{
        (void)state;
        char *s;

        /* GRUB's words, vfiotx's markers and panic= go; the fallback marker comes; the rest
         * keeps its bytes and order. */
        s = good_cmdline("BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=UUID=4b6f ro quiet "
                         "intel_iommu=on vfiotx.trial=7 panic=10 \"acpi_osi=!Windows 2012\"");
        assert_string_equal(s, "root=UUID=4b6f ro quiet intel_iommu=on \"acpi_osi=!Windows "
                               "2012\" vfiotx.fallback=1");
        free(s);
        /* Init's arguments stay after "--", the marker goes before it. */
        s = good_cmdline("root=/dev/sda2 ro vfiotx.fallback=1 -- single");
        assert_string_equal(s, "root=/dev/sda2 ro vfiotx.fallback=1 -- single");
        free(s);
        assert_null(good_cmdline("BOOT_IMAGE=/vmlinuz ro quiet"));
        assert_non_null(strstr(vt_error_message(), "root="));
        assert_null(good_cmdline("root=/dev/sda2 foo=\"open"));
}

static void test_quote(void **state)
{
        (void)state;
        vt_buf b = VT_BUF_INIT;

        assert_int_equal(vt_grub_quote_word("root=UUID=ab-c", 14, &b), 0);
        assert_string_equal(b.ptr, "root=UUID=ab-c");
        vt_buf_clear(&b);
        assert_int_equal(vt_grub_quote_word("\"acpi_osi=!Windows 2012\"", 24, &b), 0);
        assert_string_equal(b.ptr, "'acpi_osi=!Windows 2012'");
        vt_buf_clear(&b);
        assert_int_equal(vt_grub_quote_word("a$b'c", 5, &b), 0);
        assert_string_equal(b.ptr, "'a$b'\\''c'");
        vt_buf_free(&b);
}

static void test_decide(void **state)
{
        (void)state;
        static const char cmd[] = "BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=UUID=4b6f ro quiet";
        const char *const boot[] = {"config-6.1.0-26-amd64", "vmlinuz-6.1.0-26-amd64",
                                    "initrd.img-6.1.0-26-amd64", NULL};
        const char *const fedora[] = {"vmlinuz-6.8.5", "initramfs-6.8.5.img", NULL};
        const char *const no_initrd[] = {"vmlinuz-6.8.5", NULL};
        vt_preserve_plan p = {0};

        assert_int_equal(vt_boot_preserve_decide("6.1.0-26-amd64", cmd, strlen(cmd), boot, 7, &p),
                         0);
        assert_string_equal(p.src_kernel, "/boot/vmlinuz-6.1.0-26-amd64");
        assert_string_equal(p.dst_kernel, "/boot/vfiotx/vmlinuz-6.1.0-26-amd64.7");
        assert_string_equal(p.src_initrd, "/boot/initrd.img-6.1.0-26-amd64");
        assert_string_equal(p.dst_initrd, "/boot/vfiotx/initrd.img-6.1.0-26-amd64.7");
        assert_string_equal(p.cmdline.ptr, "root=UUID=4b6f ro quiet vfiotx.fallback=1");
        assert_non_null(strstr(p.entry.ptr, "# kver=6.1.0-26-amd64\n# txn=7\n# cmdline=root=UUID"
                                            "=4b6f ro quiet vfiotx.fallback=1\n"
                                            "linux\t${vfiotx_dir}/vmlinuz-6.1.0-26-amd64.7 "
                                            "root=UUID=4b6f ro quiet vfiotx.fallback=1\n"
                                            "initrd\t${vfiotx_dir}/initrd.img-6.1.0-26-amd64.7"
                                            "\n"));
        vt_preserve_plan_free(&p);

        assert_int_equal(vt_boot_preserve_decide("6.8.5", cmd, strlen(cmd), fedora, 3, &p), 0);
        assert_string_equal(p.src_initrd, "/boot/initramfs-6.8.5.img");
        vt_preserve_plan_free(&p);
        assert_int_equal(vt_boot_preserve_decide("6.8.5", cmd, strlen(cmd), no_initrd, 3, &p), 0);
        assert_null(p.dst_initrd);
        assert_null(strstr(p.entry.ptr, "initrd"));
        vt_preserve_plan_free(&p);

        assert_int_equal(vt_boot_preserve_decide("6.9.0", cmd, strlen(cmd), boot, 7, &p), -ENOENT);
        assert_int_equal(vt_boot_preserve_decide("../x", cmd, strlen(cmd), boot, 7, &p), -EINVAL);
        assert_int_equal(vt_boot_preserve_decide("6.1.0-26-amd64", cmd, strlen(cmd), boot, 0, &p),
                         -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cmdline),
            cmocka_unit_test(test_quote),
            cmocka_unit_test(test_decide),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
