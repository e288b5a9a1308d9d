/* backends/rebuild_plan: detection of the generator and kernels, and the minimum rebuild set
 * for each change kind on each kind of host. */
#include "../helpers.h"

#include <errno.h>

#include "backends/rebuild_plan.h"
#include "common/buf.h"
#include "common/error.h"

static void add_kernel(const char *dir, const char *kver, const char *initrd, const char *pkgbase)
{
        char p[512];

        snprintf(p, sizeof(p), "lib/modules/%s/modules.dep", kver);
        write_file(dir, p, "kernel/drivers/vfio/vfio.ko:\n");
        snprintf(p, sizeof(p), "lib/modules/%s/modules.builtin", kver);
        write_file(dir, p, "");
        if (pkgbase) {
                snprintf(p, sizeof(p), "lib/modules/%s/pkgbase", kver);
                write_file(dir, p, pkgbase);
                snprintf(p, sizeof(p), "boot/vmlinuz-%.*s", (int)strcspn(pkgbase, "\n"), pkgbase);
                write_file(dir, p, "kernel");
        } else {
                snprintf(p, sizeof(p), "boot/vmlinuz-%s", kver);
                write_file(dir, p, "kernel");
        }
        if (initrd)
                write_file(dir, initrd, "initrd");
}

/* A Debian host: initramfs-tools, kernels 6.1.0-25 and -26 with initrds, and a leftover
 * module tree (6.1.0-20) without kernel or initrd. */
static char *debian_root(void)
{
        char *dir = make_tmpdir();

        write_file(dir, "usr/sbin/update-initramfs", "#!/bin/sh\n");
        write_file(dir, "etc/initramfs-tools/initramfs.conf", "MODULES=most\n");
        add_kernel(dir, "6.1.0-25-amd64", "boot/initrd.img-6.1.0-25-amd64", NULL);
        add_kernel(dir, "6.1.0-26-amd64", "boot/initrd.img-6.1.0-26-amd64", NULL);
        write_file(dir, "lib/modules/6.1.0-20-amd64/modules.dep", "");
        return dir;
}

struct fixture {
        char *dir;
        vt_root root;
        vt_rebuild_host host;
        vt_rebuild_plan plan;
};

/* The generator and kernels as an operation gathers them: the kernel scan, then detection. */
static int host_detect(const vt_root *root, vt_rebuild_host *h)
{
        vt_kernel_list kl = {0};
        int r = vt_kernels_scan(root, &kl);

        if (r >= 0)
                r = vt_rebuild_host_detect(root, &kl, h);
        vt_kernels_free(&kl);
        return r;
}

static void detect(struct fixture *f, char *dir)
{
        f->dir = dir;
        f->root = (vt_root)VT_ROOT_INIT;
        assert_int_equal(vt_root_open(&f->root, dir), 0);
        assert_int_equal(host_detect(&f->root, &f->host), 0);
        f->plan = (vt_rebuild_plan){0};
}

static void done(struct fixture *f)
{
        vt_rebuild_plan_free(&f->plan);
        vt_rebuild_host_free(&f->host);
        vt_root_close(&f->root);
        rm_rf(f->dir);
}

/* The plan as one line per step: "ENV... argv... -> artifact". */
static char *steps_text(const vt_rebuild_plan *p)
{
        vt_buf b = VT_BUF_INIT;

        for (size_t i = 0; i < p->n; i++) {
                const vt_rebuild_step *s = &p->steps[i];

                for (size_t j = 0; s->env && s->env[j]; j++)
                        vt_buf_printf(&b, "%s ", s->env[j]);
                for (size_t j = 0; s->argv[j]; j++)
                        vt_buf_printf(&b, "%s%s", j ? " " : "", s->argv[j]);
                if (s->artifact)
                        vt_buf_printf(&b, " -> %s", s->artifact);
                vt_buf_putc(&b, '\n');
        }
        return vt_buf_detach(&b);
}

static void plan_expect(struct fixture *f, const vt_boot_path *boot, const char *const *changed,
                        size_t n, const char *want)
{
        char *got;

        vt_rebuild_plan_free(&f->plan);
        assert_int_equal(vt_rebuild_plan_make(&f->host, boot, changed, n, &f->plan), 0);
        got = steps_text(&f->plan);
        assert_string_equal(got, want);
        free(got);
}

static const char *const modprobe_change[] = {"/etc/modprobe.d/vfiotx.conf", "/etc/modules"};
static const char *const cmdline_grub[] = {"/etc/default/grub.d/vfiotx.cfg"};
static const char *const cmdline_kernel[] = {"/etc/kernel/cmdline"};
static const char *const both_kernel[] = {"/etc/kernel/cmdline", "/etc/modprobe.d/vfiotx.conf"};
static const char *const unrelated[] = {"/etc/hostname", "/etc/modprobe.dx", "/etc/default/grubby"};

static void test_detect_debian(void **state)
{
        struct fixture f;

        (void)state;
        detect(&f, debian_root());
        assert_int_equal(f.host.gen, VT_GEN_INITRAMFS_TOOLS);
        assert_int_equal(f.host.n_kernels, 3);
        assert_string_equal(f.host.kernels[0].version, "6.1.0-20-amd64");
        assert_false(f.host.kernels[0].have_initramfs);
        assert_null(f.host.kernels[0].image);
        assert_string_equal(f.host.kernels[2].version, "6.1.0-26-amd64");
        assert_string_equal(f.host.kernels[2].initramfs, "/boot/initrd.img-6.1.0-26-amd64");
        assert_true(f.host.kernels[2].have_initramfs);
        assert_string_equal(f.host.kernels[2].image, "/boot/vmlinuz-6.1.0-26-amd64");
        assert_int_equal(f.host.post_update_hooks, 0);
        done(&f);
}

static void test_debian_grub(void **state)
{
        vt_boot_path grub = {
            .kind = VT_BOOTCFG_GRUB, .grub_cfg = "/boot/grub/grub.cfg", .have_update_grub = true};
        struct fixture f;

        (void)state;
        detect(&f, debian_root());
        /* Each kernel with an initramfs, not "-k all"; the leftover tree is skipped with a
         * note; GRUB's configuration does not change with the initramfs bytes. */
        plan_expect(&f, &grub, modprobe_change, 2,
                    "update-initramfs -u -k 6.1.0-25-amd64 -> /boot/initrd.img-6.1.0-25-amd64\n"
                    "update-initramfs -u -k 6.1.0-26-amd64 -> /boot/initrd.img-6.1.0-26-amd64\n");
        assert_non_null(strstr(f.plan.notes.ptr, "kernel 6.1.0-20-amd64: no initramfs"));
        assert_int_equal(f.plan.steps[0].artifact_kind, VT_ARTIFACT_INITRAMFS);
        assert_string_equal(f.plan.steps[1].kver, "6.1.0-26-amd64");

        /* A command-line change only: no initramfs rebuild. */
        plan_expect(&f, &grub, cmdline_grub, 1, "update-grub -> /boot/grub/grub.cfg\n");
        assert_int_equal(f.plan.steps[0].artifact_kind, VT_ARTIFACT_GRUB_CFG);

        const char *const both[] = {"/etc/default/grub", "/etc/modprobe.d/vfiotx.conf"};
        plan_expect(&f, &grub, both, 2,
                    "update-initramfs -u -k 6.1.0-25-amd64 -> /boot/initrd.img-6.1.0-25-amd64\n"
                    "update-initramfs -u -k 6.1.0-26-amd64 -> /boot/initrd.img-6.1.0-26-amd64\n"
                    "update-grub -> /boot/grub/grub.cfg\n");

        plan_expect(&f, &grub, unrelated, 3, "");
        plan_expect(&f, &grub, NULL, 0, "");

        /* Without Debian's wrapper, or a grub.cfg elsewhere: grub-mkconfig -o that file. */
        vt_boot_path fedora = {.kind = VT_BOOTCFG_GRUB,
                               .grub_cfg = "/boot/grub2/grub.cfg",
                               .have_update_grub = true,
                               .grub_mkconfig = "grub2-mkconfig"};
        plan_expect(&f, &fedora, cmdline_grub, 1,
                    "grub2-mkconfig -o /boot/grub2/grub.cfg -> /boot/grub2/grub.cfg\n");
        vt_boot_path plain = {.kind = VT_BOOTCFG_GRUB, .grub_cfg = "/boot/grub/grub.cfg"};
        plan_expect(&f, &plain, cmdline_grub, 1,
                    "grub-mkconfig -o /boot/grub/grub.cfg -> /boot/grub/grub.cfg\n");
        done(&f);
}

static void test_debian_systemd_boot(void **state)
{
        vt_boot_path sdb = {.kind = VT_BOOTCFG_SYSTEMD_BOOT,
                            .entries_dir = "/boot/efi/loader/entries"};
        struct fixture f;
        char *dir = debian_root();

        (void)state;
        detect(&f, dir);
        plan_expect(&f, &sdb, cmdline_kernel, 1,
                    "kernel-install add 6.1.0-25-amd64 /boot/vmlinuz-6.1.0-25-amd64 -> "
                    "/boot/efi/loader/entries\n"
                    "kernel-install add 6.1.0-26-amd64 /boot/vmlinuz-6.1.0-26-amd64 -> "
                    "/boot/efi/loader/entries\n");
        assert_int_equal(f.plan.steps[1].artifact_kind, VT_ARTIFACT_LOADER_ENTRIES);
        assert_string_equal(f.plan.steps[1].kver, "6.1.0-26-amd64");
        /* No post-update hook: the rebuilt initrds must be copied to the ESP explicitly. */
        plan_expect(&f, &sdb, modprobe_change, 2,
                    "update-initramfs -u -k 6.1.0-25-amd64 -> /boot/initrd.img-6.1.0-25-amd64\n"
                    "update-initramfs -u -k 6.1.0-26-amd64 -> /boot/initrd.img-6.1.0-26-amd64\n"
                    "kernel-install add 6.1.0-25-amd64 /boot/vmlinuz-6.1.0-25-amd64 -> "
                    "/boot/efi/loader/entries\n"
                    "kernel-install add 6.1.0-26-amd64 /boot/vmlinuz-6.1.0-26-amd64 -> "
                    "/boot/efi/loader/entries\n");
        vt_rebuild_host_free(&f.host);

        /* With Debian's systemd-boot hook, update-initramfs already ran kernel-install. */
        write_file(dir, "etc/initramfs/post-update.d/systemd-boot", "#!/bin/sh\n");
        assert_int_equal(host_detect(&f.root, &f.host), 0);
        assert_int_equal(f.host.post_update_hooks, VT_HOOK_SYSTEMD_BOOT);
        plan_expect(&f, &sdb, both_kernel, 2,
                    "update-initramfs -u -k 6.1.0-25-amd64 -> /boot/initrd.img-6.1.0-25-amd64\n"
                    "update-initramfs -u -k 6.1.0-26-amd64 -> /boot/initrd.img-6.1.0-26-amd64\n");
        done(&f);
}

static void test_proxmox(void **state)
{
        vt_boot_path pve = {.kind = VT_BOOTCFG_PROXMOX};
        struct fixture f;
        char *dir = debian_root();

        (void)state;
        write_file(dir, "etc/initramfs/post-update.d/proxmox-boot-sync", "#!/bin/sh\n");
        detect(&f, dir);
        /* One refresh for both ESPs at the end; the per-kernel hook refresh is suppressed. */
        plan_expect(&f, &pve, both_kernel, 2,
                    "INITRAMFS_TOOLS_KERNEL_HOOK=1 update-initramfs -u -k 6.1.0-25-amd64 -> "
                    "/boot/initrd.img-6.1.0-25-amd64\n"
                    "INITRAMFS_TOOLS_KERNEL_HOOK=1 update-initramfs -u -k 6.1.0-26-amd64 -> "
                    "/boot/initrd.img-6.1.0-26-amd64\n"
                    "proxmox-boot-tool refresh\n");
        plan_expect(&f, &pve, cmdline_kernel, 1, "proxmox-boot-tool refresh\n");
        pve.proxmox_tool = "pve-efiboot-tool";
        plan_expect(&f, &pve, cmdline_kernel, 1, "pve-efiboot-tool refresh\n");
        plan_expect(&f, &pve, unrelated, 3, "");
        done(&f);
}

static void test_dracut(void **state)
{
        vt_boot_path grub = {.kind = VT_BOOTCFG_GRUB,
                             .grub_cfg = "/boot/grub2/grub.cfg",
                             .grub_mkconfig = "grub2-mkconfig"};
        struct fixture f;
        char *dir = make_tmpdir();

        (void)state;
        write_file(dir, "usr/bin/dracut", "#!/bin/bash\n");
        write_file(dir, "etc/dracut.conf.d/01-dist.conf", "\n");
        add_kernel(dir, "6.8.5-301.fc40.x86_64", "boot/initramfs-6.8.5-301.fc40.x86_64.img", NULL);
        /* Debian with dracut keeps the initrd.img-<kver> name. */
        add_kernel(dir, "6.1.0-26-amd64", "boot/initrd.img-6.1.0-26-amd64", NULL);
        detect(&f, dir);
        assert_int_equal(f.host.gen, VT_GEN_DRACUT);
        const char *const change[] = {"/etc/dracut.conf.d/vfiotx.conf"};
        plan_expect(&f, &grub, change, 1,
                    "dracut -f --kver 6.1.0-26-amd64 /boot/initrd.img-6.1.0-26-amd64 -> "
                    "/boot/initrd.img-6.1.0-26-amd64\n"
                    "dracut -f --kver 6.8.5-301.fc40.x86_64 "
                    "/boot/initramfs-6.8.5-301.fc40.x86_64.img -> "
                    "/boot/initramfs-6.8.5-301.fc40.x86_64.img\n");
        done(&f);
}

static void test_mkinitcpio(void **state)
{
        vt_boot_path sdb = {.kind = VT_BOOTCFG_SYSTEMD_BOOT, .entries_dir = "/boot/loader/entries"};
        vt_buf desc = VT_BUF_INIT;
        struct fixture f;
        char *dir = make_tmpdir();

        (void)state;
        write_file(dir, "usr/bin/mkinitcpio", "#!/bin/bash\n");
        add_kernel(dir, "6.9.7-arch1-1", "boot/initramfs-linux.img", "linux\n");
        add_kernel(dir, "6.6.36-1-lts", "boot/initramfs-linux-lts.img", "linux-lts\n");
        detect(&f, dir);
        assert_int_equal(f.host.gen, VT_GEN_MKINITCPIO);
        assert_string_equal(f.host.kernels[1].preset, "linux");
        assert_string_equal(f.host.kernels[1].image, "/boot/vmlinuz-linux");
        const char *const change[] = {"/etc/mkinitcpio.conf.d/vfiotx.conf"};
        vt_boot_path none = {0};
        plan_expect(&f, &none, change, 1,
                    "mkinitcpio -p linux-lts -> /boot/initramfs-linux-lts.img\n"
                    "mkinitcpio -p linux -> /boot/initramfs-linux.img\n");
        assert_int_equal(vt_rebuild_plan_describe(&f.plan, &desc), 0);
        assert_string_equal(desc.ptr, "[1/2] mkinitcpio -p linux-lts  (rebuild the initramfs of "
                                      "preset linux-lts (6.6.36-1-lts))\n"
                                      "[2/2] mkinitcpio -p linux  (rebuild the initramfs of "
                                      "preset linux (6.9.7-arch1-1))\n");
        plan_expect(&f, &sdb, cmdline_kernel, 1,
                    "kernel-install add 6.6.36-1-lts /boot/vmlinuz-linux-lts -> "
                    "/boot/loader/entries\n"
                    "kernel-install add 6.9.7-arch1-1 /boot/vmlinuz-linux -> "
                    "/boot/loader/entries\n");
        vt_rebuild_host_free(&f.host);

        /* A kernel whose preset is unknown: every preset, once. */
        write_file(dir, "lib/modules/6.10.0-custom/modules.dep", "");
        assert_int_equal(host_detect(&f.root, &f.host), 0);
        plan_expect(&f, &none, change, 1,
                    "mkinitcpio -p linux-lts -> /boot/initramfs-linux-lts.img\n"
                    "mkinitcpio -p linux -> /boot/initramfs-linux.img\n"
                    "mkinitcpio -P\n");
        vt_buf_free(&desc);
        done(&f);
}

static void test_no_generator(void **state)
{
        vt_boot_path none = {0};
        struct fixture f;
        char *dir = make_tmpdir();

        (void)state;
        add_kernel(dir, "6.1.0-26-amd64", NULL, NULL);
        detect(&f, dir);
        assert_int_equal(f.host.gen, VT_GEN_NONE);
        plan_expect(&f, &none, modprobe_change, 2, "");
        assert_non_null(strstr(f.plan.notes.ptr, "no initramfs generator"));
        plan_expect(&f, &none, cmdline_kernel, 1, "");
        assert_non_null(strstr(f.plan.notes.ptr, "no boot configuration tool"));
        done(&f);
}

static void test_classify(void **state)
{
        (void)state;
        assert_true(vt_rebuild_path_affects_initramfs("/etc/modprobe.d/vfiotx.conf"));
        assert_true(vt_rebuild_path_affects_initramfs("/etc/modules"));
        assert_true(vt_rebuild_path_affects_initramfs("/etc/initramfs-tools/modules"));
        assert_true(vt_rebuild_path_affects_initramfs("/etc/vfiotx/override.conf"));
        assert_true(vt_rebuild_path_affects_initramfs("/etc/mkinitcpio.conf"));
        assert_false(vt_rebuild_path_affects_initramfs("/etc/modprobe.d/"));
        assert_false(vt_rebuild_path_affects_initramfs("/etc/modules.bak"));
        assert_false(vt_rebuild_path_affects_initramfs("/etc/default/grub"));
        assert_false(vt_rebuild_path_affects_initramfs(NULL));
        assert_true(vt_rebuild_path_affects_cmdline("/etc/default/grub"));
        assert_true(vt_rebuild_path_affects_cmdline("/etc/default/grub.d/50-cloudimg.cfg"));
        assert_true(vt_rebuild_path_affects_cmdline("/etc/kernel/cmdline"));
        assert_false(vt_rebuild_path_affects_cmdline("/etc/kernel/cmdline.d"));
        assert_false(vt_rebuild_path_affects_cmdline("/etc/modprobe.d/vfiotx.conf"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_detect_debian),
            cmocka_unit_test(test_debian_grub),
            cmocka_unit_test(test_debian_systemd_boot),
            cmocka_unit_test(test_proxmox),
            cmocka_unit_test(test_dracut),
            cmocka_unit_test(test_mkinitcpio),
            cmocka_unit_test(test_no_generator),
            cmocka_unit_test(test_classify),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
