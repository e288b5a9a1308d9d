/* The modprobe.d editor: the seed's examples byte-exact, the plan refusals, idempotence and
 * release, conflicts with file:line, and two oracles: `modprobe --showconfig` on the generated
 * files and libkmod's own parser on user files. */
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/modprobe.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

#define SEED_MODALIAS "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00"

/* The seed's Intel UHD 630; libpci keeps the modalias's trailing newline. */
static vt_pci_device igpu = {
    .bdf = "0000:00:02.0",
    .vendor = 0x8086,
    .device = 0x3e92,
    .subvendor = 0x1458,
    .subdevice = 0xd000,
    .class_code = 0x038000,
    .driver = "i915",
    .modalias = SEED_MODALIAS "\n",
    .iommu_group = 0,
    .vendor_name = "Intel Corporation",
    .device_name = "CoffeeLake-S GT2 [UHD Graphics 630]",
};

/* Two identical NVIDIA cards and the first one's audio function, plus the chipset audio. */
static vt_pci_device host[] = {
    {.bdf = "0000:00:02.0",
     .vendor = 0x8086,
     .device = 0x3e92,
     .class_code = 0x038000,
     .driver = "i915",
     .modalias = SEED_MODALIAS},
    {.bdf = "0000:00:1f.3",
     .vendor = 0x8086,
     .device = 0xa348,
     .class_code = 0x040300,
     .driver = "snd_hda_intel",
     .modalias = "pci:v00008086d0000A348sv00001458sd0000A182bc04sc03i00"},
    {.bdf = "0000:01:00.0",
     .vendor = 0x10de,
     .device = 0x1b81,
     .class_code = 0x030000,
     .driver = "nouveau",
     .modalias = "pci:v000010DEd00001B81sv00001043sd00008598bc03sc00i00",
     .device_name = "GP104 [GeForce GTX 1070]"},
    {.bdf = "0000:01:00.1",
     .vendor = 0x10de,
     .device = 0x10f0,
     .class_code = 0x040300,
     .driver = "snd_hda_intel",
     .modalias = "pci:v000010DEd000010F0sv00001043sd00008598bc04sc03i00"},
    {.bdf = "0000:02:00.0",
     .vendor = 0x10de,
     .device = 0x1b81,
     .class_code = 0x030000,
     .driver = "nouveau",
     .modalias = "pci:v000010DEd00001B81sv00001043sd00008598bc03sc00i00",
     .device_name = "GP104 [GeForce GTX 1070]"},
};

static const vt_pci_device *const seed_set[] = {&igpu};

static const char *conf_of(const vt_modprobe_files *f, int which)
{
        assert_true(f->file[which].present);
        return vt_buf_cstr(&f->file[which].data);
}

static void test_method_names(void **state)
{
        vt_bind_method m;

        (void)state;
        for (int i = 0; i < _VT_BIND_MAX; i++) {
                assert_int_equal(vt_bind_method_parse(vt_bind_method_name(i), &m), 0);
                assert_int_equal(m, i);
        }
        assert_int_equal(vt_bind_method_parse("driver_override", &m), -EINVAL);
        assert_non_null(strstr(vt_error_hint_text(), "override"));
        assert_int_equal(vt_bind_method_parse(NULL, &m), -EINVAL);
}

static void test_seed_blacklist(void **state)
{
        vt_modprobe_files f;

        (void)state;
        assert_int_equal(vt_modprobe_generate(seed_set, 1, VT_BIND_BLACKLIST, &f), 0);
        assert_string_equal(f.file[VT_MODPROBE_FILE_BLACKLIST].path,
                            "/etc/modprobe.d/vfiotx-blacklist.conf");
        assert_string_equal(conf_of(&f, VT_MODPROBE_FILE_BLACKLIST),
                            "# /etc/modprobe.d/vfiotx-blacklist.conf: managed by vfiotx; edits "
                            "are recorded as drift.\n"
                            "# Host drivers kept from loading on their own, so vfio-pci gets the "
                            "devices.\n"
                            "blacklist i915\n");
        assert_string_equal(conf_of(&f, VT_MODPROBE_FILE_CONF),
                            "# /etc/modprobe.d/vfiotx.conf: managed by vfiotx; edits are "
                            "recorded as drift.\n"
                            "# Binds these devices to vfio-pci (method: blacklist):\n"
                            "# 0000:00:02.0 Intel Corporation CoffeeLake-S GT2 [UHD Graphics "
                            "630] (8086:3e92)\n"
                            "\n"
                            "options vfio-pci ids=8086:3e92 disable_vga=1\n"
                            "softdep i915 pre: vfio-pci\n");
        assert_false(f.file[VT_MODPROBE_FILE_OVERRIDE].present);
        vt_modprobe_files_free(&f);
}

static void test_seed_alias(void **state)
{
        vt_modprobe_files f;

        (void)state;
        assert_int_equal(vt_modprobe_generate(seed_set, 1, VT_BIND_ALIAS, &f), 0);
        /* The seed's block: comment, alias line, blank line, options line. */
        assert_string_equal(conf_of(&f, VT_MODPROBE_FILE_CONF),
                            "# /etc/modprobe.d/vfiotx.conf: managed by vfiotx; edits are "
                            "recorded as drift.\n"
                            "# Binds these devices to vfio-pci (method: alias):\n"
                            "\n"
                            "# 0000:00:02.0 Intel Corporation CoffeeLake-S GT2 [UHD Graphics "
                            "630] (8086:3e92)\n"
                            "alias " SEED_MODALIAS " vfio-pci\n"
                            "\n"
                            "options vfio-pci ids=8086:3e92 disable_vga=1\n"
                            "softdep i915 pre: vfio-pci\n");
        assert_false(f.file[VT_MODPROBE_FILE_BLACKLIST].present);
        assert_false(f.file[VT_MODPROBE_FILE_OVERRIDE].present);
        vt_modprobe_files_free(&f);
}

static void test_ids_without_display(void **state)
{
        const vt_pci_device *set[] = {&host[3]};
        vt_modprobe_files f;
        const char *c;

        (void)state;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_IDS, &f), 0);
        c = conf_of(&f, VT_MODPROBE_FILE_CONF);
        assert_non_null(strstr(c, "\noptions vfio-pci ids=10de:10f0\n"));
        assert_null(strstr(c, "disable_vga"));
        assert_null(strstr(c, "\nalias "));
        assert_non_null(strstr(c, "\nsoftdep snd_hda_intel pre: vfio-pci\n"));
        vt_modprobe_files_free(&f);
}

static void test_identical_cards(void **state)
{
        const vt_pci_device *set[] = {&host[2], &host[3]};
        vt_modprobe_files f;
        const char *c, *o;

        (void)state;
        /* Whether ids= may be used with an unnamed twin is engine/safety.h's rule (same-id);
         * here: what override writes instead. */
        assert_int_equal(vt_modprobe_generate(set, 2, VT_BIND_OVERRIDE, &f), 0);
        o = conf_of(&f, VT_MODPROBE_FILE_OVERRIDE);
        assert_string_equal(f.file[VT_MODPROBE_FILE_OVERRIDE].path, "/etc/vfiotx/override.conf");
        assert_non_null(strstr(o, "\n0000:01:00.0 10de:1b81\n0000:01:00.1 10de:10f0\n"));
        assert_null(strstr(o, "0000:02:00.0"));
        c = conf_of(&f, VT_MODPROBE_FILE_CONF);
        /* No ids= at all: it would catch the second card. disable_vga is per module. */
        assert_null(strstr(c, "ids="));
        assert_non_null(strstr(c, "\noptions vfio-pci disable_vga=1\n"));
        assert_non_null(strstr(c, "softdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: "
                                  "vfio-pci\n"));
        vt_modprobe_files_free(&f);
}

static void assert_same_files(const vt_modprobe_files *a, const vt_modprobe_files *b)
{
        for (int i = 0; i < VT_MODPROBE_NFILES; i++) {
                assert_int_equal(a->file[i].present, b->file[i].present);
                assert_true(vt_buf_equal(&a->file[i].data, &b->file[i].data));
        }
}

static void test_idempotent_and_order_free(void **state)
{
        const vt_pci_device *fwd[] = {&host[2], &host[3]};
        const vt_pci_device *rev[] = {&host[3], &host[2], &host[3]};

        (void)state;
        for (int m = 0; m < _VT_BIND_MAX; m++) {
                vt_modprobe_files a, b;

                assert_int_equal(vt_modprobe_generate(fwd, 2, m, &a), 0);
                assert_int_equal(vt_modprobe_generate(rev, 3, m, &b), 0);
                assert_same_files(&a, &b);
                for (int i = 0; i < VT_MODPROBE_NFILES; i++)
                        assert_false(a.file[i].present &&
                                     vt_file_out_changed(&a.file[i], &b.file[i].data));
                vt_modprobe_files_free(&a);
                vt_modprobe_files_free(&b);
        }
}

static void test_release_restores(void **state)
{
        const vt_pci_device *one[] = {&igpu};
        const vt_pci_device *two[] = {&igpu, &host[3]};
        vt_buf missing_before = VT_BUF_INIT;

        (void)state;
        for (int m = 0; m < _VT_BIND_MAX; m++) {
                vt_modprobe_files before, added, released, none;

                assert_int_equal(vt_modprobe_generate(one, 1, m, &before), 0);
                assert_int_equal(vt_modprobe_generate(two, 2, m, &added), 0);
                assert_int_equal(vt_modprobe_generate(one, 1, m, &released), 0);
                assert_int_equal(vt_modprobe_generate(NULL, 0, m, &none), 0);
                assert_same_files(&before, &released);
                assert_true(vt_file_out_changed(&added.file[VT_MODPROBE_FILE_CONF],
                                                &before.file[VT_MODPROBE_FILE_CONF].data));
                /* Releasing the last device deletes every file vfiotx created. */
                for (int i = 0; i < VT_MODPROBE_NFILES; i++) {
                        assert_false(none.file[i].present);
                        assert_false(vt_file_out_changed(&none.file[i], NULL));
                        if (added.file[i].present)
                                assert_true(
                                    vt_file_out_changed(&none.file[i], &added.file[i].data));
                }
                vt_modprobe_files_free(&before);
                vt_modprobe_files_free(&added);
                vt_modprobe_files_free(&released);
                vt_modprobe_files_free(&none);
        }
        vt_buf_free(&missing_before);
}

/* QEMU's VGA as the VM test meets it: driver bochs-drm, module bochs. modprobe.d takes module
 * names: "blacklist bochs-drm" and "softdep bochs-drm" would be no-ops. */
static void test_module_not_driver(void **state)
{
        vt_pci_device vga = {.bdf = "0000:00:01.0",
                             .vendor = 0x1234,
                             .device = 0x1111,
                             .class_code = 0x030000,
                             .driver = "bochs-drm",
                             .module = "bochs",
                             .modalias = "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00"};
        const vt_pci_device *set[] = {&vga};
        vt_modprobe_files f;

        (void)state;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_BLACKLIST, &f), 0);
        assert_non_null(strstr(conf_of(&f, VT_MODPROBE_FILE_BLACKLIST), "\nblacklist bochs\n"));
        assert_null(strstr(conf_of(&f, VT_MODPROBE_FILE_BLACKLIST), "bochs-drm"));
        assert_non_null(
            strstr(conf_of(&f, VT_MODPROBE_FILE_CONF), "\nsoftdep bochs pre: vfio-pci\n"));
        vt_modprobe_files_free(&f);
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_IDS, &f), 0);
        assert_non_null(
            strstr(conf_of(&f, VT_MODPROBE_FILE_CONF), "\nsoftdep bochs pre: vfio-pci\n"));
        vt_modprobe_files_free(&f);
}

static void test_driver_facts(void **state)
{
        vt_pci_device bound = igpu, evil = igpu, noalias = igpu;
        const vt_pci_device *set[] = {&bound};
        vt_modprobe_files f;

        (void)state;
        /* Already on vfio-pci: no softdep "vfio-pci pre: vfio-pci", no blacklist vfio-pci. */
        bound.driver = "vfio-pci";
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_BLACKLIST, &f), 0);
        assert_null(strstr(conf_of(&f, VT_MODPROBE_FILE_CONF), "softdep"));
        assert_false(f.file[VT_MODPROBE_FILE_BLACKLIST].present);
        vt_modprobe_files_free(&f);
        bound.driver = NULL;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_IDS, &f), 0);
        assert_null(strstr(conf_of(&f, VT_MODPROBE_FILE_CONF), "softdep"));
        vt_modprobe_files_free(&f);

        /* Facts that would inject lines into a modprobe file are refused. */
        evil.driver = "i915\ninstall vfio-pci /bin/sh";
        set[0] = &evil;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_IDS, &f), -EINVAL);
        assert_false(f.file[VT_MODPROBE_FILE_CONF].present);
        noalias.modalias = "pci:v0000 8086 vfio-pci";
        set[0] = &noalias;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_ALIAS, &f), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "0000:00:02.0"));
        noalias.modalias = NULL;
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_ALIAS, &f), -EINVAL);
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_IDS, &f), 0);
        vt_modprobe_files_free(&f);
}

static void test_vfio_params(void **state)
{
        vt_strv p = {0};

        (void)state;
        assert_int_equal(vt_modprobe_vfio_params(seed_set, 1, VT_BIND_ALIAS, &p), 0);
        assert_int_equal(p.n, 2);
        assert_string_equal(p.items[0], "ids=8086:3e92");
        assert_string_equal(p.items[1], "disable_vga=1");
        vt_strv_free(&p);
        assert_int_equal(vt_modprobe_vfio_params(seed_set, 1, VT_BIND_OVERRIDE, &p), 0);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.items[0], "disable_vga=1");
        vt_strv_free(&p);
}

/* ---- Parser and conflicts ---- */

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

/* ---- Oracles ---- */

static char *make_root(void)
{
        char tmpl[] = "/tmp/vfiotx-modprobe-......";
        char *root;

        /* mkdtemp() wants its six placeholder letters at the end. */
        memset(strchr(tmpl, '.'), 'X', 6);
        root = mkdtemp(tmpl) ? strdup(tmpl) : NULL;

        assert_non_null(root);
        return root;
}

static void put_file(const char *root, const char *abspath, const char *data, size_t len)
{
        _cleanup_free_ char *path = vt_path_join(root, abspath);
        _cleanup_close_ int fd = -1;
        char *slash;

        assert_non_null(path);
        for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                mkdir(path, 0755);
                *slash = '/';
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(vt_write_all(fd, data, len), 0);
}

static void remove_tree(const char *root)
{
        pid_t pid = fork();
        int st;

        assert_true(pid >= 0);
        if (pid == 0) {
                execlp("rm", "rm", "-rf", "--", root, (char *)NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* `modprobe -C DIR --showconfig`, stdout captured. */
static void showconfig(const char *root, vt_buf *out)
{
        _cleanup_free_ char *dir = vt_path_join(root, "etc/modprobe.d");
        int pfd[2], st;
        pid_t pid;

        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = {"modprobe", "-C", dir, "-d", (char *)root, "--showconfig", NULL};

                dup2(pfd[1], 1);
                execvp("modprobe", argv);
                execv("/usr/sbin/modprobe", argv);
                execv("/sbin/modprobe", argv);
                _exit(127);
        }
        close(pfd[1]);
        assert_int_equal(vt_read_fd(pfd[0], out), 0);
        close(pfd[0]);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool has_line(const vt_buf *b, const char *line)
{
        const char *p = vt_buf_cstr(b);
        size_t n = strlen(line);

        for (const char *q = strstr(p, line); q; q = strstr(q + 1, line))
                if ((q == p || q[-1] == '\n') && (q[n] == '\n' || q[n] == '\0'))
                        return true;
        return false;
}

static void test_oracle_showconfig(void **state)
{
        const vt_pci_device *set[] = {&igpu, &host[2]};

        (void)state;
        for (int m = 0; m < _VT_BIND_MAX; m++) {
                _cleanup_free_ char *root = make_root();
                vt_buf out = VT_BUF_INIT;
                vt_modprobe_files f;

                assert_int_equal(vt_modprobe_generate(set, 2, m, &f), 0);
                for (int i = 0; i < VT_MODPROBE_NFILES; i++)
                        if (f.file[i].present)
                                put_file(root, f.file[i].path, f.file[i].data.ptr,
                                         f.file[i].data.len);
                showconfig(root, &out);
                /* What vfiotx says it set, as modprobe reads it (names normalised). */
                assert_true(has_line(&out, "softdep i915 pre: vfio-pci"));
                assert_true(has_line(&out, "softdep nouveau pre: vfio-pci"));
                assert_int_equal(has_line(&out, "options vfio_pci ids=8086:3e92,10de:1b81 "
                                                "disable_vga=1"),
                                 m != VT_BIND_OVERRIDE);
                assert_int_equal(has_line(&out, "options vfio_pci disable_vga=1"),
                                 m == VT_BIND_OVERRIDE);
                assert_int_equal(has_line(&out, "alias " SEED_MODALIAS " vfio_pci"),
                                 m == VT_BIND_ALIAS);
                assert_int_equal(has_line(&out, "blacklist i915"), m == VT_BIND_BLACKLIST);
                assert_int_equal(has_line(&out, "blacklist nouveau"), m == VT_BIND_BLACKLIST);
                vt_buf_free(&out);
                vt_modprobe_files_free(&f);
                remove_tree(root);
        }
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
        _cleanup_free_ char *root = make_root();
        vt_buf ours = VT_BUF_INIT, theirs = VT_BUF_INIT;
        vt_modprobe_config cfg = {0};
        const char *kinds[] = {"alias", "blacklist", "options", "install"};
        vt_modprobe_kind kk[] = {VT_MP_ALIAS, VT_MP_BLACKLIST, VT_MP_OPTIONS, VT_MP_INSTALL};
        char etc[512], lib[512];
        const char *paths[] = {etc, lib, NULL};
        struct kmod_ctx *ctx;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                put_file(root, files[i].path, files[i].data, files[i].len);
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
        remove_tree(root);
}

/* The file the generator writes is the one the boot script reads: two identical cards, one
 * named, and only that one gets vfio-pci in its driver_override. */
static void test_override_conf_drives_script(void **state)
{
        const vt_pci_device *set[] = {&host[2]};
        const char *src = getenv("VFIOTX_SRC");
        _cleanup_free_ char *root = make_root(), *script = NULL;
        vt_buf a = VT_BUF_INIT, b = VT_BUF_INIT;
        char sysfs[512], conf[512], kmsg[512];
        vt_modprobe_files f;
        int st;
        pid_t pid;

        (void)state;
        if (!src)
                skip();
        script = vt_path_join(src, "scripts/initramfs/init-top/vfiotx-override");
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_OVERRIDE, &f), 0);
        put_file(root, f.file[VT_MODPROBE_FILE_OVERRIDE].path,
                 f.file[VT_MODPROBE_FILE_OVERRIDE].data.ptr,
                 f.file[VT_MODPROBE_FILE_OVERRIDE].data.len);
        for (int i = 2; i <= 4; i += 2) {
                char path[128];

                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", host[i].bdf);
                put_file(root, path, "0x10de\n", 7);
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", host[i].bdf);
                put_file(root, path, "0x1b81\n", 7);
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
                         host[i].bdf);
                put_file(root, path, "(null)\n", 7);
        }
        put_file(root, "/sys/bus/pci/drivers_probe", "", 0);
        snprintf(sysfs, sizeof(sysfs), "VFIOTX_SYSFS=%s/sys", root);
        snprintf(conf, sizeof(conf), "VFIOTX_OVERRIDE_CONF=%s%s", root, VT_OVERRIDE_CONF_PATH);
        snprintf(kmsg, sizeof(kmsg), "VFIOTX_KMSG=%s/kmsg", root);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = {"sh", script, NULL};
                char *envp[] = {sysfs, conf, kmsg, "VFIOTX_MODPROBE=true", "PATH=/usr/bin:/bin",
                                NULL};

                execve("/bin/sh", argv, envp);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        {
                _cleanup_free_ char *p1 = NULL, *p2 = NULL;

                assert_true(asprintf(&p1, "%s/sys/bus/pci/devices/%s/driver_override", root,
                                     host[2].bdf) > 0);
                assert_true(asprintf(&p2, "%s/sys/bus/pci/devices/%s/driver_override", root,
                                     host[4].bdf) > 0);
                assert_int_equal(vt_read_file(p1, &a), 0);
                assert_int_equal(vt_read_file(p2, &b), 0);
        }
        assert_string_equal(vt_buf_cstr(&a), "vfio-pci\n");
        assert_string_equal(vt_buf_cstr(&b), "(null)\n");
        vt_buf_free(&a);
        vt_buf_free(&b);
        vt_modprobe_files_free(&f);
        remove_tree(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_method_names),
            cmocka_unit_test(test_seed_blacklist),
            cmocka_unit_test(test_module_not_driver),
            cmocka_unit_test(test_seed_alias),
            cmocka_unit_test(test_ids_without_display),
            cmocka_unit_test(test_identical_cards),
            cmocka_unit_test(test_idempotent_and_order_free),
            cmocka_unit_test(test_release_restores),
            cmocka_unit_test(test_driver_facts),
            cmocka_unit_test(test_vfio_params),
            cmocka_unit_test(test_parse_kmod_syntax),
            cmocka_unit_test(test_load_precedence),
            cmocka_unit_test(test_conflicts),
            cmocka_unit_test(test_no_conflicts),
            cmocka_unit_test(test_oracle_showconfig),
            cmocka_unit_test(test_oracle_libkmod_parser),
            cmocka_unit_test(test_override_conf_drives_script),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
