/* The modprobe.d generator: the seed's examples byte-exact, idempotence and release, device
 * facts, and two oracles: `modprobe --showconfig` on the generated files and the initramfs
 * script reading override.conf. The user's configuration and its conflicts are
 * test_modprobe_conf.c; whether a method is safe for the host is engine/test_safety.c. */
#include <errno.h>
#include <fcntl.h>
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

#include "../helpers.h"
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

static void test_host_modules(void **state)
{
        vt_pci_device stub = host[1], vfio = host[3], spelled = host[4], named = host[2];
        const vt_pci_device *set[] = {&named, &stub, &vfio, &spelled, &host[1]};
        const vt_pci_device **sorted = NULL;
        vt_strv mods = {0};
        size_t n;

        (void)state;
        /* pci-stub and vfio-pci (either spelling) are not host drivers: no module for them. */
        stub.driver = "pci-stub";
        vfio.driver = "vfio_pci";
        spelled.driver = "snd-hda-intel";
        named.module = "nouveau_mod";
        assert_int_equal(vt_modprobe_host_modules(set, ARRAY_SIZE(set), &mods), 0);
        assert_int_equal(mods.n, 2);
        assert_string_equal(mods.items[0], "nouveau_mod");
        assert_string_equal(mods.items[1], "snd-hda-intel");
        vt_strv_free(&mods);
        /* The set: by BDF, once each. */
        assert_int_equal(vt_modprobe_device_set(set, ARRAY_SIZE(set), &sorted, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(sorted[0]->bdf, "0000:00:1f.3");
        assert_string_equal(sorted[3]->bdf, "0000:02:00.0");
        free(sorted);
        assert_true(vt_modprobe_is_own_path("/etc/modprobe.d/vfiotx.conf"));
        assert_true(vt_modprobe_is_own_path("/etc/modprobe.d/vfiotx-blacklist.conf"));
        assert_false(vt_modprobe_is_own_path("/etc/modprobe.d/vfio.conf"));
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

/* ---- Oracles ---- */

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
                char *root = make_tmpdir();
                vt_buf out = VT_BUF_INIT;
                vt_modprobe_files f;

                assert_int_equal(vt_modprobe_generate(set, 2, m, &f), 0);
                for (int i = 0; i < VT_MODPROBE_NFILES; i++)
                        if (f.file[i].present)
                                write_file(root, f.file[i].path, vt_buf_cstr(&f.file[i].data));
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
                rm_rf(root);
        }
}

/* The file the generator writes is the one the boot script reads: two identical cards, one
 * named, and only that one gets vfio-pci in its driver_override. */
static void test_override_conf_drives_script(void **state)
{
        const vt_pci_device *set[] = {&host[2]};
        const char *src = getenv("VFIOTX_SRC");
        _cleanup_free_ char *script = NULL;
        char *root;
        vt_buf a = VT_BUF_INIT, b = VT_BUF_INIT;
        char sysfs[512], conf[512], kmsg[512];
        vt_modprobe_files f;
        int st;
        pid_t pid;

        (void)state;
        if (!src)
                skip();
        root = make_tmpdir();
        script = vt_path_join(src, "scripts/initramfs/init-top/vfiotx-override");
        assert_int_equal(vt_modprobe_generate(set, 1, VT_BIND_OVERRIDE, &f), 0);
        write_file(root, f.file[VT_MODPROBE_FILE_OVERRIDE].path,
                   vt_buf_cstr(&f.file[VT_MODPROBE_FILE_OVERRIDE].data));
        for (int i = 2; i <= 4; i += 2) {
                char path[128];

                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", host[i].bdf);
                write_file(root, path, "0x10de\n");
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", host[i].bdf);
                write_file(root, path, "0x1b81\n");
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
                         host[i].bdf);
                write_file(root, path, "(null)\n");
        }
        write_file(root, "/sys/bus/pci/drivers_probe", "");
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
        rm_rf(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_seed_blacklist),
            cmocka_unit_test(test_module_not_driver),
            cmocka_unit_test(test_seed_alias),
            cmocka_unit_test(test_ids_without_display),
            cmocka_unit_test(test_identical_cards),
            cmocka_unit_test(test_idempotent_and_order_free),
            cmocka_unit_test(test_release_restores),
            cmocka_unit_test(test_driver_facts),
            cmocka_unit_test(test_vfio_params),
            cmocka_unit_test(test_host_modules),
            cmocka_unit_test(test_oracle_showconfig),
            cmocka_unit_test(test_override_conf_drives_script),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
