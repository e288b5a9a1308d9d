/* Boot Loader Specification entries and counter names as systemd-boot 252 reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bls_entry.h"
#include "common/error.h"
#include "common/macro.h"

#define MID "2b3c4d5e6f708192a3b4c5d6e7f80910"

/* What kernel-install 252's 90-loaderentry.install writes on Debian 12 (ENTRY_TOKEN = the
 * machine-id, sort-key from os-release ID, ESP at /boot/efi). */
static const char debian_entry[] =
    "title      Debian GNU/Linux 12 (bookworm)\n"
    "version    6.1.0-18-amd64\n"
    "machine-id " MID "\n"
    "sort-key   debian\n"
    "options    root=UUID=0f6f4e2c-62b4-4a8e-9a0e-3c1d2b4a5e6f ro quiet "
    "systemd.machine_id=" MID "\n"
    "linux      /" MID "/6.1.0-18-amd64/linux\n"
    "initrd     /" MID "/6.1.0-18-amd64/initrd.img-6.1.0-18-amd64\n";

/* What proxmox-boot-tool's zz-proxmox-boot writes (a <<- here-document: tabs stripped). */
static const char proxmox_entry[] = "title    Proxmox Virtual Environment\n"
                                    "version  6.8.12-4-pve\n"
                                    "options  root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
                                    "linux    /EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve\n"
                                    "initrd   /EFI/proxmox/6.8.12-4-pve/initrd.img-6.8.12-4-pve\n";

static void parse(const char *s, vt_bls_entry *e)
{
        assert_int_equal(vt_bls_entry_parse(s, strlen(s), "test.conf", e), 0);
}

static void assert_format(const vt_bls_entry *e, const char *want)
{
        _cleanup_buf_ vt_buf out = VT_BUF_INIT;

        assert_int_equal(vt_bls_entry_format(e, &out), 0);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.ptr, want, out.len);
}

static void roundtrip(const char *s)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;

        parse(s, &e);
        assert_format(&e, s);
}

static void test_debian_entry(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        _cleanup_free_ char *opts = NULL;
        bool is_efi = true;

        (void)state;
        parse(debian_entry, &e);
        assert_int_equal(e.n, 7);
        assert_string_equal(vt_bls_entry_title(&e), "Debian GNU/Linux 12 (bookworm)");
        assert_string_equal(vt_bls_entry_version(&e), "6.1.0-18-amd64");
        assert_string_equal(vt_bls_entry_machine_id(&e), MID);
        assert_string_equal(vt_bls_entry_sort_key(&e), "debian");
        assert_string_equal(vt_bls_entry_linux(&e), "/" MID "/6.1.0-18-amd64/linux");
        assert_null(vt_bls_entry_efi(&e));
        assert_string_equal(vt_bls_entry_loader(&e, &is_efi), "/" MID "/6.1.0-18-amd64/linux");
        assert_false(is_efi);
        assert_string_equal(vt_bls_entry_initrd(&e, 0),
                            "/" MID "/6.1.0-18-amd64/initrd.img-6.1.0-18-amd64");
        assert_null(vt_bls_entry_initrd(&e, 1));
        assert_int_equal(vt_bls_entry_options(&e, &opts), 0);
        assert_string_equal(opts, "root=UUID=0f6f4e2c-62b4-4a8e-9a0e-3c1d2b4a5e6f ro quiet "
                                  "systemd.machine_id=" MID);
        assert_format(&e, debian_entry);
}

static void test_proxmox_entry(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;

        (void)state;
        parse(proxmox_entry, &e);
        assert_string_equal(vt_bls_entry_title(&e), "Proxmox Virtual Environment");
        assert_null(vt_bls_entry_sort_key(&e));
        assert_null(vt_bls_entry_machine_id(&e));
        assert_string_equal(vt_bls_entry_linux(&e),
                            "/EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve");
        assert_format(&e, proxmox_entry);
}

/* The loader's line reader: blanks at both ends, comments, key-only lines, quotes, CR. */
static void test_lines_as_the_loader_reads_them(void **state)
{
        static const char s[] = "# written by hand\n"
                                "\n"
                                "  title\t \"Quoted Title\"  \n"
                                "title Later Title\r\n"
                                "options a=1\n"
                                "frobnicate yes\n"
                                "options   b=2 c\n"
                                "initrd /one\n"
                                "lonelykey\n"
                                "   # indented comment\n"
                                "initrd /two\r"
                                "version \"\n"
                                "sort-key \"x\" y";
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        _cleanup_free_ char *opts = NULL;

        (void)state;
        parse(s, &e);
        /* Every '\n' and every '\r' ends a line: "\r\n" is a line and an empty one. */
        assert_int_equal(e.n, 14);
        assert_null(e.lines[0].key);
        assert_null(e.lines[1].key);
        assert_string_equal(e.lines[2].key, "title");
        assert_string_equal(e.lines[2].value, "Quoted Title");
        assert_int_equal(e.lines[3].eol, '\r');
        assert_int_equal(e.lines[4].eol, '\n');
        assert_null(e.lines[4].key);
        assert_string_equal(vt_bls_entry_title(&e), "Later Title"); /* the last one wins */
        assert_string_equal(vt_bls_entry_get(&e, "frobnicate"), "yes");
        assert_null(vt_bls_entry_get(&e, "lonelykey"));
        assert_null(vt_bls_entry_get(&e, "Title")); /* keys are case-sensitive (strcmpa) */
        assert_int_equal(vt_bls_entry_count(&e, "initrd"), 2);
        assert_string_equal(vt_bls_entry_initrd(&e, 0), "/one");
        assert_string_equal(vt_bls_entry_initrd(&e, 1), "/two");
        assert_int_equal(vt_bls_entry_options(&e, &opts), 0);
        assert_string_equal(opts, "a=1 b=2 c");
        /* A lone '"' is both the opening and the closing quote: empty. */
        assert_string_equal(vt_bls_entry_version(&e), "");
        /* Quotes go only as a pair around the whole value. */
        assert_string_equal(vt_bls_entry_sort_key(&e), "\"x\" y");
        assert_int_equal(e.lines[13].eol, '\0');
        assert_null(vt_bls_entry_loader(&e, NULL));
        assert_format(&e, s);
}

static void test_roundtrips(void **state)
{
        (void)state;
        roundtrip("");
        roundtrip("\n");
        roundtrip("\r\n\r\n");
        roundtrip("title x");
        roundtrip("efi /EFI/tool.efi\nlinux /vmlinuz\n#\n\t\n");
        roundtrip(debian_entry);
        roundtrip(proxmox_entry);
}

static void test_loader_last_of_linux_or_efi(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        bool is_efi = false;

        (void)state;
        parse("linux /vmlinuz\nefi /EFI/x.efi\n", &e);
        assert_string_equal(vt_bls_entry_loader(&e, &is_efi), "/EFI/x.efi");
        assert_true(is_efi);
}

static void test_nul_is_refused(void **state)
{
        static const char s[] = "title a\0b\n";
        vt_bls_entry e = VT_BLS_ENTRY_INIT;

        (void)state;
        assert_int_equal(vt_bls_entry_parse(s, sizeof(s) - 1, "x.conf", &e), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "x.conf: NUL byte at offset 7"));
        assert_int_equal(e.n, 0);
}

static void test_set_keeps_layout(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        _cleanup_buf_ vt_buf want = VT_BUF_INIT;

        (void)state;
        parse(debian_entry, &e);
        assert_int_equal(vt_bls_entry_set(&e, "options", "root=/dev/sda1 ro vfiotx.trial=7"), 0);
        assert_int_equal(vt_bls_entry_set(&e, "title", "Debian GNU/Linux 12 (vfiotx trial 7)"), 0);
        assert_int_equal(vt_bls_entry_set(&e, "sort-key", NULL), 0);
        assert_int_equal(vt_bls_entry_set(&e, "nothing-here", NULL), 0);
        /* The expected bytes, edited by hand: each changed line keeps its column. */
        assert_int_equal(vt_buf_puts(&want, "title      Debian GNU/Linux 12 (vfiotx trial 7)\n"
                                            "version    6.1.0-18-amd64\n"
                                            "machine-id " MID "\n"
                                            "options    root=/dev/sda1 ro vfiotx.trial=7\n"
                                            "linux      /" MID "/6.1.0-18-amd64/linux\n"
                                            "initrd     /" MID
                                            "/6.1.0-18-amd64/initrd.img-6.1.0-18-amd64\n"),
                         0);
        assert_format(&e, want.ptr);
        assert_null(vt_bls_entry_sort_key(&e));
}

static void test_set_appends_and_collapses(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;
        _cleanup_free_ char *opts = NULL;

        (void)state;
        parse("options a\n# keep\noptions b\ntitle t", &e);
        assert_int_equal(vt_bls_entry_set(&e, "options", "c d"), 0);
        assert_int_equal(vt_bls_entry_set(&e, "sort-key", "vfiotx"), 0);
        assert_format(&e, "options c d\n# keep\ntitle t\nsort-key vfiotx\n");
        assert_int_equal(vt_bls_entry_options(&e, &opts), 0);
        assert_string_equal(opts, "c d");
}

static void test_set_quotes_what_the_loader_would_strip(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT, back = VT_BLS_ENTRY_INIT;
        _cleanup_buf_ vt_buf out = VT_BUF_INIT;

        (void)state;
        parse("title old\n", &e);
        assert_int_equal(vt_bls_entry_set(&e, "title", "\"quoted\""), 0);
        assert_int_equal(vt_bls_entry_set(&e, "version", ""), 0);
        assert_format(&e, "title \"\"quoted\"\"\nversion \"\"\n");
        assert_int_equal(vt_bls_entry_format(&e, &out), 0);
        assert_int_equal(vt_bls_entry_parse(out.ptr, out.len, "again", &back), 0);
        assert_string_equal(vt_bls_entry_title(&back), "\"quoted\"");
        assert_string_equal(vt_bls_entry_version(&back), "");
}

static void test_add_initrd_after_the_last(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;

        (void)state;
        parse("linux /k\ninitrd /ucode.img\noptions x\n", &e);
        assert_int_equal(vt_bls_entry_add(&e, "initrd", "/initrd.img"), 0);
        assert_int_equal(vt_bls_entry_add(&e, "devicetree", "/dtb"), 0);
        assert_format(&e, "linux /k\ninitrd /ucode.img\ninitrd /initrd.img\noptions x\n"
                          "devicetree /dtb\n");
        assert_string_equal(vt_bls_entry_initrd(&e, 1), "/initrd.img");
}

static void test_bad_keys_and_values(void **state)
{
        _cleanup_bls_entry_ vt_bls_entry e = VT_BLS_ENTRY_INIT;

        (void)state;
        parse(proxmox_entry, &e);
        assert_int_equal(vt_bls_entry_set(&e, "two words", "x"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "", "x"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "#title", "x"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "title", "a\nb"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "title", "a\rb"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "title", " lead"), -EINVAL);
        assert_int_equal(vt_bls_entry_set(&e, "title", "trail\t"), -EINVAL);
        assert_int_equal(vt_bls_entry_add(&e, "initrd", NULL), -EINVAL);
        assert_format(&e, proxmox_entry);
}

/* ---- counter names ---- */

static void check_name(const char *file, const char *stem, bool has, uint64_t left, uint64_t done)
{
        _cleanup_bls_name_ vt_bls_name n = {NULL, false, 0, 0};

        assert_int_equal(vt_bls_name_parse(file, &n), 0);
        if (strcmp(n.stem, stem) != 0 || n.has_counter != has || n.left != left || n.done != done)
                fail_msg("%s: got stem '%s' counter %d left %llu done %llu", file, n.stem,
                         n.has_counter, (unsigned long long)n.left, (unsigned long long)n.done);
}

static void test_counter_grammar(void **state)
{
        (void)state;
        check_name("foo+3.conf", "foo", true, 3, 0);
        check_name("foo+4-0.conf", "foo", true, 4, 0);
        check_name("foo+0-3.conf", "foo", true, 0, 3);
        check_name("vfiotx-1-trial-42+3.conf", "vfiotx-1-trial-42", true, 3, 0);
        check_name("vfiotx-0-last-good.conf", "vfiotx-0-last-good", false, 0, 0);
        check_name(MID "-6.1.0-18-amd64.conf", MID "-6.1.0-18-amd64", false, 0, 0);
        check_name("a+b+2-1.conf", "a+b", true, 2, 1);
        check_name("+1.conf", "", true, 1, 0);
        check_name("FOO+3.CONF", "FOO", true, 3, 0);
        /* No counter: the whole name before ".conf" is the stem. */
        check_name("foo.conf", "foo", false, 0, 0);
        check_name("foo+.conf", "foo+", false, 0, 0);
        check_name("+.conf", "+", false, 0, 0);
        check_name("foo+-1.conf", "foo+-1", false, 0, 0);
        check_name("a+1-2-3.conf", "a+1-2-3", false, 0, 0);
        check_name("foo+3x.conf", "foo+3x", false, 0, 0);
        check_name("foo+3-.conf", "foo+3-", false, 0, 0);
        check_name("foo-3.conf", "foo-3", false, 0, 0);
        check_name("3.conf", "3", false, 0, 0);
        check_name(".conf", "", false, 0, 0);
        /* 252's digit loop keeps only a run's last digit... */
        check_name("foo+12.conf", "foo", true, 2, 0);
        check_name("foo+10.conf", "foo", true, 0, 0);
        check_name("foo+1-10.conf", "foo", true, 1, 0);
        /* ...and gives up (no counter) at the 20th digit of a run. */
        check_name("foo+1234567890123456789.conf", "foo", true, 9, 0);
        check_name("foo+12345678901234567890.conf", "foo+12345678901234567890", false, 0, 0);
        check_name("foo+1-12345678901234567890.conf", "foo+1-12345678901234567890", false, 0, 0);
}

static void test_not_an_entry_name(void **state)
{
        vt_bls_name n = {NULL, false, 0, 0};

        (void)state;
        assert_int_equal(vt_bls_name_parse("foo+3.efi", &n), -EINVAL);
        assert_int_equal(vt_bls_name_parse("conf", &n), -EINVAL);
        assert_int_equal(vt_bls_name_parse(NULL, &n), -EINVAL);
        assert_null(n.stem);
}

/* (takes &s: the call that fills s is another argument, evaluated in no set order) */
static void expect_name(int r, char **got, const char *want)
{
        assert_int_equal(r, 0);
        assert_string_equal(*got, want);
        free(*got);
        *got = NULL;
}

static void test_next_good_bad(void **state)
{
        char *s = NULL;

        (void)state;
        /* The series of systemd-boot.7: foo+3 → +2-1 → +1-2 → +0-3, and +0-N keeps counting. */
        expect_name(vt_bls_name_next("foo+3.conf", &s), &s, "foo+2-1.conf");
        expect_name(vt_bls_name_next("foo+2-1.conf", &s), &s, "foo+1-2.conf");
        expect_name(vt_bls_name_next("foo+1-2.conf", &s), &s, "foo+0-3.conf");
        expect_name(vt_bls_name_next("foo+0-3.conf", &s), &s, "foo+0-4.conf");
        expect_name(vt_bls_name_next("foo+4-0.conf", &s), &s, "foo+3-1.conf");
        expect_name(vt_bls_name_next("FOO+3.CONF", &s), &s, "FOO+2-1.conf");
        expect_name(vt_bls_name_next("foo.conf", &s), &s, "foo.conf");
        expect_name(vt_bls_name_good("vfiotx-1-trial-7+1-2.conf", &s), &s, "vfiotx-1-trial-7.conf");
        expect_name(vt_bls_name_good("foo+3.conf", &s), &s, "foo.conf");
        expect_name(vt_bls_name_good("foo.conf", &s), &s, "foo.conf");
        expect_name(vt_bls_name_bad("vfiotx-1-trial-7+1-2.conf", &s), &s,
                    "vfiotx-1-trial-7+0-2.conf");
        expect_name(vt_bls_name_bad("foo+3.conf", &s), &s, "foo+0-0.conf");
        assert_int_equal(vt_bls_name_bad("foo.conf", &s), -EINVAL);
        assert_int_equal(vt_bls_name_next("foo", &s), -EINVAL);
}

static void test_make(void **state)
{
        char *s = NULL;

        (void)state;
        expect_name(vt_bls_name_make("vfiotx-1-trial-7", true, 3, 0, &s), &s,
                    "vfiotx-1-trial-7+3.conf");
        expect_name(vt_bls_name_make("foo", true, 1, 2, &s), &s, "foo+1-2.conf");
        expect_name(vt_bls_name_make("vfiotx-0-last-good", false, 5, 5, &s), &s,
                    "vfiotx-0-last-good.conf");
        assert_int_equal(vt_bls_name_make("", true, 1, 0, &s), -EINVAL);
        assert_int_equal(vt_bls_name_make("a/b", true, 1, 0, &s), -EINVAL);
}

static void test_entry_id(void **state)
{
        char *s = NULL;

        (void)state;
        expect_name(vt_bls_entry_id("Vfiotx-1-Trial-7+2-1.conf", &s), &s,
                    "vfiotx-1-trial-7+2-1.conf");
        expect_name(vt_bls_entry_id("proxmox-6.8.12-4-pve.CONF", &s), &s,
                    "proxmox-6.8.12-4-pve.conf");
        assert_int_equal(vt_bls_entry_id("", &s), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_debian_entry),
            cmocka_unit_test(test_proxmox_entry),
            cmocka_unit_test(test_lines_as_the_loader_reads_them),
            cmocka_unit_test(test_roundtrips),
            cmocka_unit_test(test_loader_last_of_linux_or_efi),
            cmocka_unit_test(test_nul_is_refused),
            cmocka_unit_test(test_set_keeps_layout),
            cmocka_unit_test(test_set_appends_and_collapses),
            cmocka_unit_test(test_set_quotes_what_the_loader_would_strip),
            cmocka_unit_test(test_add_initrd_after_the_last),
            cmocka_unit_test(test_bad_keys_and_values),
            cmocka_unit_test(test_counter_grammar),
            cmocka_unit_test(test_not_an_entry_name),
            cmocka_unit_test(test_next_good_bad),
            cmocka_unit_test(test_make),
            cmocka_unit_test(test_entry_id),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
