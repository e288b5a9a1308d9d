/* The modprobe.d parser and conflict checker: kmod's syntax and file precedence, every
 * contradiction reported with its file and line, and libkmod's own parser as the oracle on the
 * same files. */
#include <errno.h>
#include <libkmod.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../helpers.h"
#include "backends/modprobe_conf.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"

#define SEED_MODALIAS "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00"

/* The seed's Intel UHD 630 (libpci keeps the modalias's trailing newline). */
static vt_pci_device igpu = {.bdf = "0000:00:02.0",
                             .vendor = 0x8086,
                             .device = 0x3e92,
                             .class_code = 0x038000,
                             .driver = "i915",
                             .modalias = SEED_MODALIAS "\n"};
static const vt_pci_device *const seed_set[] = {&igpu};

static void test_parse_kmod_syntax(void **state)
{
        static const char text[] = "# comment\n"
                                   "  # indented comment is a bad line, ignored\n"
                                   "options vfio-pci \\\n"
                                   "  ids=10de:1b81\n"
                                   "alias pci:v*d*sv*sd*bc03sc*i* some-driver\n"
                                   "blacklist\n"
                                   "softdep\tnouveau pre: vfio-pci post: snd-hda-intel\n"
                                   "install vfio-pci /bin/true\n"
                                   "bogus line\n"
                                   "blacklist  nouveau";
        vt_modprobe_config cfg = {0};

        (void)state;
        assert_int_equal(vt_modprobe_parse("/etc/modprobe.d/a.conf", text, strlen(text), &cfg), 0);
        assert_int_equal(cfg.n, 5);
        assert_int_equal(cfg.items[0].kind, VT_MP_OPTIONS);
        assert_int_equal(cfg.items[0].line, 3);
        assert_string_equal(cfg.items[0].name, "vfio_pci");
        assert_string_equal(cfg.items[0].value, "  ids=10de:1b81");
        assert_int_equal(cfg.items[1].kind, VT_MP_ALIAS);
        assert_int_equal(cfg.items[1].line, 5);
        assert_string_equal(cfg.items[1].value, "some_driver");
        assert_int_equal(cfg.items[2].kind, VT_MP_SOFTDEP);
        assert_int_equal(cfg.items[2].line, 7);
        assert_int_equal(cfg.items[3].kind, VT_MP_INSTALL);
        assert_int_equal(cfg.items[4].kind, VT_MP_BLACKLIST);
        assert_int_equal(cfg.items[4].line, 10);
        assert_string_equal(cfg.items[4].name, "nouveau");
        vt_modprobe_config_free(&cfg);
}

#define F(p, s)                                                                                    \
        {                                                                                          \
                p, s, sizeof(s) - 1                                                                \
        }

static void test_load_precedence(void **state)
{
        const vt_conf_file files[] = {
            F("/lib/modprobe.d/50-x.conf", "blacklist from_lib\n"),
            F("/etc/modprobe.d/50-x.conf", "blacklist from_etc\n"),
            F("/run/modprobe.d/50-x.conf", "blacklist from_run\n"),
            F("/lib/modprobe.d/10-a.conf", "blacklist first\n"),
            F("/etc/modprobe.d/zz.conf", "blacklist last\n"),
            F("/etc/modprobe.d/vfio.conf.dpkg-old", "blacklist ignored_suffix\n"),
            F("/etc/modprobe.d/.hidden.conf", "blacklist ignored_hidden\n"),
            F("/etc/modprobe.d/old.alias", "blacklist dot_alias\n"),
            F("/etc/modprobe.d/masked.conf", ""),
            F("/usr/lib/modprobe.d/masked.conf", "blacklist masked\n"),
        };
        const char *want[] = {"first", "from_etc", "dot_alias", "last"};
        vt_modprobe_config cfg = {0};

        (void)state;
        assert_int_equal(vt_modprobe_load(files, ARRAY_SIZE(files), &cfg), 0);
        assert_int_equal(cfg.n, ARRAY_SIZE(want));
        for (size_t i = 0; i < cfg.n; i++)
                assert_string_equal(cfg.items[i].name, want[i]);
        vt_modprobe_config_free(&cfg);
}

static int conflicts_of(const vt_conf_file *files, size_t n, const vt_pci_device *const *set,
                        size_t nset, vt_bind_method m)
{
        vt_modprobe_config cfg = {0};
        int r;

        vt_error_clear();
        assert_int_equal(vt_modprobe_load(files, n, &cfg), 0);
        r = vt_modprobe_conflicts(&cfg, set, nset, m);
        vt_modprobe_config_free(&cfg);
        return r;
}

static void test_conflicts(void **state)
{
        const vt_conf_file user[] = {
            F("/etc/modprobe.d/vfio.conf", "# from the wiki\n"
                                           "options vfio_pci ids=8086:3e92\n"),
            F("/etc/modprobe.d/local.conf", "install vfio-pci /usr/local/bin/override.sh\n"
                                            "blacklist vfio_iommu_type1\n"
                                            "alias pci:v00008086d00003E92* i915\n"
                                            "softdep i915 pre: drm\n"
                                            "options vfio-pci disable_vga=0\n"),
            F("/lib/modprobe.d/aliases.conf", "alias vfio_pci bogus\n"),
            /* vfiotx's own files never conflict with themselves. */
            F("/etc/modprobe.d/vfiotx.conf", "options vfio-pci ids=8086:3e92\n"),
        };
        const char *m;

        (void)state;
        assert_int_equal(conflicts_of(user, ARRAY_SIZE(user), seed_set, 1, VT_BIND_ALIAS), -EPERM);
        m = vt_error_message();
        assert_non_null(strstr(m, "7 lines of the modprobe configuration"));
        assert_non_null(strstr(m, "/etc/modprobe.d/vfio.conf:2: options vfio_pci ids=8086:3e92"));
        assert_non_null(strstr(m, "/etc/modprobe.d/local.conf:1: install vfio-pci"));
        assert_non_null(strstr(m, "/etc/modprobe.d/local.conf:2: blacklist vfio_iommu_type1"));
        assert_non_null(strstr(m, "/etc/modprobe.d/local.conf:3: alias pci:v00008086d00003E92* "
                                  "i915: hands the device to i915"));
        assert_non_null(strstr(m, "/etc/modprobe.d/local.conf:4: softdep i915 pre: drm"));
        assert_non_null(strstr(m, "/etc/modprobe.d/local.conf:5: options vfio-pci disable_vga=0"));
        assert_non_null(strstr(m, "/lib/modprobe.d/aliases.conf:1: alias vfio_pci bogus"));
        assert_null(strstr(m, "vfiotx.conf"));
        assert_non_null(strstr(vt_error_hint_text(), "remove or comment out"));
}

static void test_no_conflicts(void **state)
{
        const vt_conf_file user[] = {
            F("/etc/modprobe.d/ok.conf", "options vfio-pci nointxmask=1\n"
                                         "options vfio-pci disable_vga=Y\n"
                                         "softdep i915 pre: vfio-pci drm\n"
                                         "blacklist i915\n"
                                         "alias pci:v000010DE* nouveau\n"
                                         "alias " SEED_MODALIAS " vfio-pci\n"
                                         "install nouveau /bin/false\n"),
            /* A vfio-pci ids= line in a file masked by a same-named /etc file is not read. */
            F("/etc/modprobe.d/vfio.conf", ""),
            F("/lib/modprobe.d/vfio.conf", "options vfio-pci ids=8086:3e92\n"),
            F("/etc/modprobe.d/vfio.conf.bak", "install vfio-pci /bin/false\n"),
        };

        (void)state;
        assert_int_equal(conflicts_of(user, ARRAY_SIZE(user), seed_set, 1, VT_BIND_ALIAS), 0);
        /* No devices: nothing can conflict. */
        assert_int_equal(conflicts_of(user + 2, 1, NULL, 0, VT_BIND_IDS), 0);
}

/* A device that is not on a host driver names no softdep, so no user softdep can conflict. */
static void test_conflicts_without_host_driver(void **state)
{
        const vt_conf_file user[] = {
            F("/etc/modprobe.d/mine.conf", "softdep i915 pre: drm\nsoftdep pci_stub pre: x\n"),
        };
        vt_pci_device stub = igpu;
        const vt_pci_device *set[] = {&stub};

        (void)state;
        assert_int_equal(conflicts_of(user, 1, seed_set, 1, VT_BIND_IDS), -EPERM);
        stub.driver = "pci-stub";
        assert_int_equal(conflicts_of(user, 1, set, 1, VT_BIND_IDS), 0);
        stub.driver = "vfio-pci";
        assert_int_equal(conflicts_of(user, 1, set, 1, VT_BIND_IDS), 0);
}

/* libkmod reads the same files from a root: every statement it keeps, ours keeps too, in the
 * same order (options values compared as kmod stores them). */
static void kmod_list(struct kmod_config_iter *it, vt_buf *out, const char *kind)
{
        assert_non_null(it);
        while (kmod_config_iter_next(it)) {
                const char *k = kmod_config_iter_get_key(it);
                const char *v = kmod_config_iter_get_value(it);

                /* /proc/cmdline's module.param= options are kmod's too; not from our files. */
                if (strcmp(kind, "options") == 0 && strncmp(k, "t_", 2) != 0 &&
                    strcmp(k, "vfio_pci") != 0)
                        continue;
                vt_buf_printf(out, "%s %s %s\n", kind, k, v ? v : "");
        }
        kmod_config_iter_free_iter(it);
}

static void test_oracle_libkmod_parser(void **state)
{
        const vt_conf_file files[] = {
            F("/etc/modprobe.d/a.conf", "options t_one x=1 y=\"a b\"\n"
                                        "options\tvfio-pci ids=1:2 \\\n"
                                        "   disable_vga=1\n"
                                        "alias t-al*s t-target\n"
                                        " # indented\n"
                                        "blacklist t-bl\n"
                                        "install t-inst /bin/echo  hi\n"
                                        "options t_two\n"
                                        "alias only-one\n"),
            F("/lib/modprobe.d/a.conf", "blacklist t_masked\n"),
            F("/lib/modprobe.d/b.conf", "blacklist t_lib\noptions t_three z\n"),
            F("/etc/modprobe.d/b.txt", "blacklist t_ignored\n"),
        };
        char *root = make_tmpdir();
        vt_buf ours = VT_BUF_INIT, theirs = VT_BUF_INIT;
        vt_modprobe_config cfg = {0};
        const char *kinds[] = {"alias", "blacklist", "options", "install"};
        vt_modprobe_kind kk[] = {VT_MP_ALIAS, VT_MP_BLACKLIST, VT_MP_OPTIONS, VT_MP_INSTALL};
        char etc[512], lib[512];
        const char *paths[] = {etc, lib, NULL};
        struct kmod_ctx *ctx;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                write_file(root, files[i].path, files[i].data);
        snprintf(etc, sizeof(etc), "%s/etc/modprobe.d", root);
        snprintf(lib, sizeof(lib), "%s/lib/modprobe.d", root);
        /* The indented comment and the incomplete lines are logged by libkmod: not news. */
        setenv("KMOD_LOG", "0", 1);
        ctx = kmod_new(root, paths);
        assert_non_null(ctx);
        kmod_list(kmod_config_get_aliases(ctx), &theirs, "alias");
        kmod_list(kmod_config_get_blacklists(ctx), &theirs, "blacklist");
        kmod_list(kmod_config_get_options(ctx), &theirs, "options");
        kmod_list(kmod_config_get_install_commands(ctx), &theirs, "install");
        kmod_unref(ctx);

        assert_int_equal(vt_modprobe_load(files, ARRAY_SIZE(files), &cfg), 0);
        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
                for (size_t i = 0; i < cfg.n; i++)
                        if (cfg.items[i].kind == kk[k])
                                vt_buf_printf(&ours, "%s %s %s\n", kinds[k], cfg.items[i].name,
                                              cfg.items[i].value ? cfg.items[i].value : "");
        assert_string_equal(vt_buf_cstr(&ours), vt_buf_cstr(&theirs));
        assert_non_null(strstr(vt_buf_cstr(&ours), "blacklist t_bl"));
        vt_buf_free(&ours);
        vt_buf_free(&theirs);
        vt_modprobe_config_free(&cfg);
        rm_rf(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_kmod_syntax),
            cmocka_unit_test(test_load_precedence),
            cmocka_unit_test(test_conflicts),
            cmocka_unit_test(test_no_conflicts),
            cmocka_unit_test(test_conflicts_without_host_driver),
            cmocka_unit_test(test_oracle_libkmod_parser),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
