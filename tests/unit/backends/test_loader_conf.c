/* loader.conf's `default` and `timeout` as systemd-boot 252 reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "backends/loader_conf.h"
#include "common/macro.h"

static void parse_n(const char *s, size_t len, vt_loader_conf *c)
{
        assert_int_equal(vt_loader_conf_parse(s, len, c), 0);
}

static void parse(const char *s, vt_loader_conf *c)
{
        parse_n(s, strlen(s), c);
}

/* `bootctl install` (252) on Debian 12: everything commented out. */
static void test_bootctl_install(void **state)
{
        _cleanup_loader_conf_ vt_loader_conf c = VT_LOADER_CONF_INIT;

        (void)state;
        parse("#timeout 3\n#console-mode keep\n", &c);
        assert_null(c.default_entry);
        assert_false(c.timeout_set);
}

/* proxmox-boot-tool init. */
static void test_proxmox(void **state)
{
        _cleanup_loader_conf_ vt_loader_conf c = VT_LOADER_CONF_INIT;

        (void)state;
        parse("timeout 3\ndefault proxmox-*\n", &c);
        assert_string_equal(c.default_entry, "proxmox-*");
        assert_true(c.timeout_set);
        assert_int_equal(c.timeout, 3);
}

static void check_timeout(const char *conf, uint32_t want)
{
        _cleanup_loader_conf_ vt_loader_conf c = VT_LOADER_CONF_INIT;

        parse(conf, &c);
        assert_true(c.timeout_set);
        assert_int_equal(c.timeout, want);
}

static void test_timeout_like_atoi(void **state)
{
        (void)state;
        check_timeout("timeout menu-force", VT_LOADER_TIMEOUT_MENU_FORCE);
        check_timeout("timeout menu-hidden\n", VT_LOADER_TIMEOUT_MENU_HIDDEN);
        check_timeout("timeout 3s\n", 3);
        check_timeout("timeout abc\n", 0);
        check_timeout("timeout \"10\"\n", 10);
        check_timeout("timeout 99999999999\n", UINT32_MAX);
        check_timeout("\t timeout\t\t7  \r\n", 7);
        check_timeout("timeout 5\ntimeout 2\n", 2);
}

static void test_default_rules(void **state)
{
        _cleanup_loader_conf_ vt_loader_conf a = VT_LOADER_CONF_INIT, b = VT_LOADER_CONF_INIT,
                                             c = VT_LOADER_CONF_INIT, d = VT_LOADER_CONF_INIT;

        (void)state;
        /* The last one wins; an unsupported "@..." is ignored and keeps the one before. */
        parse("default a-*\ndefault b.conf\ndefault @frob\n", &a);
        assert_string_equal(a.default_entry, "b.conf");
        parse("default @saved\n", &b);
        assert_string_equal(b.default_entry, "@saved");
        /* A key without a value is skipped; quotes go. */
        parse("default\ndefault \"x *\"\n# default y\n", &c);
        assert_string_equal(c.default_entry, "x *");
        parse("Default x\n", &d); /* keys are case-sensitive */
        assert_null(d.default_entry);
}

static void test_nul_ends_the_file(void **state)
{
        static const char s[] = "default a\n\0\ndefault b\n";
        _cleanup_loader_conf_ vt_loader_conf c = VT_LOADER_CONF_INIT, e = VT_LOADER_CONF_INIT;

        (void)state;
        parse_n(s, sizeof(s) - 1, &c);
        assert_string_equal(c.default_entry, "a");
        parse_n("", 0, &e);
        assert_null(e.default_entry);
        assert_false(e.timeout_set);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bootctl_install),   cmocka_unit_test(test_proxmox),
            cmocka_unit_test(test_timeout_like_atoi), cmocka_unit_test(test_default_rules),
            cmocka_unit_test(test_nul_ends_the_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
