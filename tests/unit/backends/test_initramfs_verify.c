/* backends/initramfs_verify: images built with the real tools (cpio -o -H newc, gzip, zstd, xz,
 * lz4), an uncompressed early-microcode archive in front, as update-initramfs and dracut make
 * them; and the command-line text checks. */
#include "../helpers.h"

#include <errno.h>

#include "backends/initramfs_verify.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"

#define KVER "6.1.0-26-amd64"

static const char conf[] = "# vfiotx: bind these devices to vfio-pci\n"
                           "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\n"
                           "softdep nouveau pre: vfio-pci\n";

/* Run argv in cwd with stdin from in_path and stdout to out_path; the exit status. */
static int run_io(const char *const *argv, const char *cwd, const char *in_path,
                  const char *out_path)
{
        pid_t pid = fork();
        int st = 0;

        assert_true(pid >= 0);
        if (pid == 0) {
                int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
                int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int devnull = open("/dev/null", O_WRONLY);

                if (in < 0 || out < 0 || devnull < 0 || (cwd && chdir(cwd) < 0))
                        _exit(126);
                dup2(in, 0);
                dup2(out, 1);
                dup2(devnull, 2); /* cpio prints its block count */
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* cpio -o -H newc of the names listed in `list` (relative to dir), written to out. */
static void make_cpio(const char *dir, const char *list, const char *out)
{
        const char *argv[] = {"cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0", NULL};
        char list_path[4096];
        FILE *f;

        snprintf(list_path, sizeof(list_path), "%s.list", out);
        f = fopen(list_path, "w");
        assert_non_null(f);
        fputs(list, f);
        fclose(f);
        assert_int_equal(run_io(argv, dir, list_path, out), 0);
}

static void compress_file(const char *tool, const char *in, const char *out)
{
        const char *gzip[] = {"gzip", "-9", "-n", "-c", NULL};
        const char *zstd[] = {"zstd", "-q", "-19", "-c", NULL};
        const char *xz[] = {"xz", "--check=crc32", "-c", NULL};
        const char *lz4[] = {"lz4", "-l", "-9", "-c", NULL}; /* legacy format, as the kernel's */
        const char *const *argv = strcmp(tool, "gzip") == 0   ? gzip
                                  : strcmp(tool, "zstd") == 0 ? zstd
                                  : strcmp(tool, "xz") == 0   ? xz
                                                              : lz4;

        assert_int_equal(run_io(argv, NULL, in, out), 0);
}

static void append_file(vt_buf *b, const char *path)
{
        vt_buf data = VT_BUF_INIT;

        assert_int_equal(vt_read_file(path, &data), 0);
        assert_int_equal(vt_buf_put(b, data.ptr, data.len), 0);
        vt_buf_free(&data);
}

enum { WITH_ALL = 0, NO_VFIO_PCI = 1, NO_CONF = 2, OTHER_CONF = 4 };

/* The image: early microcode cpio + main cpio (compressed with `tool`, or "none"). */
static void build_image(const char *dir, const char *tool, int variant, vt_buf *image)
{
        char p[512], main_cpio[1024], main_z[1024], early_cpio[1024];
        vt_buf list = VT_BUF_INIT;
        const char *mods = "usr/lib/modules/" KVER "/kernel/drivers/vfio/";

        write_file(dir, "early/kernel/x86/microcode/GenuineIntel.bin", "\x01microcode-blob");
        snprintf(p, sizeof(p), "%s/early", dir);
        snprintf(early_cpio, sizeof(early_cpio), "%s/early.cpio", dir);
        make_cpio(p,
                  "kernel\nkernel/x86\nkernel/x86/microcode\n"
                  "kernel/x86/microcode/GenuineIntel.bin\n",
                  early_cpio);

        /* The main archive, in a merged-/usr layout with "./" names as mkinitramfs writes. */
        vt_buf_puts(&list, ".\n./usr\n./usr/lib\n./usr/lib/modules\n./usr/lib/modules/" KVER "\n"
                           "./usr/lib/modules/" KVER "/modules.builtin\n");
        snprintf(p, sizeof(p), "main/usr/lib/modules/%s/modules.builtin", KVER);
        write_file(dir, p, "kernel/virt/lib/irqbypass.ko\nkernel/drivers/pci/pci-stub.ko\n");
        snprintf(p, sizeof(p), "main/%svfio.ko", mods);
        write_file(dir, p,
                   "\x7f"
                   "ELF vfio");
        vt_buf_printf(&list, "./%svfio.ko\n", mods);
        snprintf(p, sizeof(p), "main/%svfio_iommu_type1.ko.xz", mods);
        write_file(dir, p, "xz-module");
        vt_buf_printf(&list, "./%svfio_iommu_type1.ko.xz\n", mods);
        if (!(variant & NO_VFIO_PCI)) {
                snprintf(p, sizeof(p), "main/%spci/vfio-pci.ko.zst", mods);
                write_file(dir, p, "zst-module");
                vt_buf_printf(&list, "./%spci/vfio-pci.ko.zst\n", mods);
        }
        if (!(variant & NO_CONF)) {
                write_file(dir, "main/etc/modprobe.d/vfiotx.conf",
                           variant & OTHER_CONF ? "options vfio-pci ids=10de:1b80\n" : conf);
                vt_buf_puts(&list, "./etc\n./etc/modprobe.d\n./etc/modprobe.d/vfiotx.conf\n");
        }
        snprintf(p, sizeof(p), "%s/main", dir);
        snprintf(main_cpio, sizeof(main_cpio), "%s/main.cpio", dir);
        make_cpio(p, list.ptr, main_cpio);
        vt_buf_free(&list);

        vt_buf_clear(image);
        append_file(image, early_cpio);
        if (strcmp(tool, "none") == 0) {
                append_file(image, main_cpio);
                return;
        }
        snprintf(main_z, sizeof(main_z), "%s/main.cpio.%s", dir, tool);
        compress_file(tool, main_cpio, main_z);
        append_file(image, main_z);
}

static const char *const vfio_mods[] = {"vfio", "vfio_iommu_type1", "vfio-pci", "irqbypass"};

static void verify(const vt_buf *image, const char *kver, vt_initramfs_report *rep)
{
        vt_expect_file files[] = {
            {.path = "/etc/modprobe.d/vfiotx.conf", .data = conf, .len = sizeof(conf) - 1},
            {.path = "etc/modprobe.d/vfiotx-blacklist.conf", .absent = true},
        };
        vt_initramfs_expect exp = {
            .kver = kver, .modules = vfio_mods, .n_modules = 4, .files = files, .n_files = 2};

        assert_int_equal(vt_initramfs_verify_mem(image->ptr, image->len, "initrd.img", &exp, rep),
                         0);
}

static char *findings_text(const vt_initramfs_report *rep)
{
        vt_buf b = VT_BUF_INIT;

        assert_int_equal(vt_verify_findings_format(&rep->findings, &b), 0);
        return vt_buf_detach(&b);
}

static void check_compression(const char *tool)
{
        char *dir = make_tmpdir(), *text;
        vt_buf image = VT_BUF_INIT;
        vt_initramfs_report rep;

        /* Everything present: no finding, both archives read. */
        build_image(dir, tool, WITH_ALL, &image);
        verify(&image, KVER, &rep);
        text = findings_text(&rep);
        assert_string_equal(text, "");
        free(text);
        assert_int_equal(rep.n_archives, 2);
        assert_string_equal(rep.compression, tool);
        assert_int_equal(rep.n_members, 4 + 12);
        vt_initramfs_report_free(&rep);

        /* Checked against another kernel: none of its modules (nor its builtin list) is there. */
        verify(&image, "6.1.0-25-amd64", &rep);
        assert_int_equal(rep.findings.n, 4);
        assert_int_equal(rep.findings.items[0].kind, VT_VERIFY_MODULE_MISSING);
        vt_initramfs_report_free(&rep);

        /* vfio-pci missing, the conf file missing. */
        build_image(dir, tool, NO_VFIO_PCI | NO_CONF, &image);
        verify(&image, KVER, &rep);
        text = findings_text(&rep);
        assert_string_equal(text, "initrd.img: module vfio-pci is neither in the image for "
                                  "kernel " KVER " nor built into the kernel\n"
                                  "initrd.img: /etc/modprobe.d/vfiotx.conf is missing from the "
                                  "image\n");
        free(text);
        assert_int_equal(rep.findings.items[0].kind, VT_VERIFY_MODULE_MISSING);
        assert_string_equal(rep.findings.items[0].subject, "vfio-pci");
        assert_int_equal(rep.findings.items[1].kind, VT_VERIFY_FILE_MISSING);
        vt_initramfs_report_free(&rep);

        /* The conf file with other bytes (an image built before the file was written). */
        build_image(dir, tool, OTHER_CONF, &image);
        verify(&image, KVER, &rep);
        assert_int_equal(rep.findings.n, 1);
        assert_int_equal(rep.findings.items[0].kind, VT_VERIFY_FILE_DIFFERS);
        assert_non_null(strstr(rep.findings.items[0].message, "differs"));
        vt_initramfs_report_free(&rep);

        vt_buf_free(&image);
        rm_rf(dir);
}

static void test_gzip(void **state)
{
        (void)state;
        check_compression("gzip");
}

static void test_zstd(void **state)
{
        (void)state;
        check_compression("zstd");
}

static void test_xz(void **state)
{
        (void)state;
        check_compression("xz");
}

static void test_lz4(void **state)
{
        (void)state;
        check_compression("lz4");
}

static void test_uncompressed(void **state)
{
        (void)state;
        check_compression("none");
}

static void test_list_and_builtin(void **state)
{
        char *dir = make_tmpdir();
        vt_buf image = VT_BUF_INIT, list = VT_BUF_INIT;
        vt_initramfs_report rep;
        const char *mods[] = {"pci_stub", "vfio_virqfd"};
        vt_initramfs_expect exp = {.kver = KVER, .modules = mods, .n_modules = 2};

        (void)state;
        build_image(dir, "zstd", WITH_ALL, &image);
        assert_int_equal(vt_initramfs_list_mem(image.ptr, image.len, "img", &list), 0);
        assert_non_null(strstr(list.ptr, "kernel/x86/microcode/GenuineIntel.bin\n"));
        assert_non_null(strstr(list.ptr, "\nlib/modules/" KVER "/kernel/drivers/vfio/vfio.ko\n"));
        assert_null(strstr(list.ptr, "./"));
        assert_null(strstr(list.ptr, "usr/lib/modules"));

        /* pci-stub is built in per the image's modules.builtin; vfio_virqfd is nowhere. */
        assert_int_equal(vt_initramfs_verify_mem(image.ptr, image.len, "img", &exp, &rep), 0);
        assert_int_equal(rep.findings.n, 1);
        assert_string_equal(rep.findings.items[0].subject, "vfio_virqfd");
        vt_initramfs_report_free(&rep);

        /* The caller's modules.builtin (the kernel's own) takes precedence. */
        exp.builtin = "kernel/drivers/vfio/vfio_virqfd.ko\n";
        assert_int_equal(vt_initramfs_verify_mem(image.ptr, image.len, "img", &exp, &rep), 0);
        assert_int_equal(rep.findings.n, 1);
        assert_string_equal(rep.findings.items[0].subject, "pci_stub");
        vt_initramfs_report_free(&rep);

        vt_buf_free(&list);
        vt_buf_free(&image);
        rm_rf(dir);
}

static void test_damaged(void **state)
{
        char *dir = make_tmpdir();
        vt_buf image = VT_BUF_INIT;
        vt_initramfs_report rep;
        vt_initramfs_expect exp = {.modules = vfio_mods, .n_modules = 1};
        static const char junk[] = "this is not an initramfs at all, just text\n";
        static const char zeros[1024];

        (void)state;
        assert_int_equal(vt_initramfs_verify_mem(junk, sizeof(junk) - 1, "junk", &exp, &rep),
                         -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "junk"));
        assert_int_equal(vt_initramfs_verify_mem(zeros, sizeof(zeros), "zeros", &exp, &rep),
                         -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "empty"));

        /* Cut in the middle of the compressed archive. */
        build_image(dir, "gzip", WITH_ALL, &image);
        assert_int_equal(vt_initramfs_verify_mem(image.ptr, image.len - 40, "cut", &exp, &rep),
                         -EBADMSG);
        vt_buf_free(&image);
        rm_rf(dir);
}

static void test_verify_in_root(void **state)
{
        char *dir = make_tmpdir(), p[4096];
        vt_buf image = VT_BUF_INIT;
        vt_root root = VT_ROOT_INIT;
        vt_initramfs_report rep;
        vt_initramfs_expect exp = {.kver = KVER, .modules = vfio_mods, .n_modules = 3};
        FILE *f;

        (void)state;
        build_image(dir, "lz4", WITH_ALL, &image);
        write_file(dir, "host/boot/.keep", "");
        snprintf(p, sizeof(p), "%s/host/boot/initrd.img-" KVER, dir);
        f = fopen(p, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(image.ptr, 1, image.len, f), image.len);
        fclose(f);
        snprintf(p, sizeof(p), "%s/host", dir);
        assert_int_equal(vt_root_open(&root, p), 0);
        assert_int_equal(vt_initramfs_verify(&root, "/boot/initrd.img-" KVER, &exp, &rep), 0);
        assert_int_equal(rep.findings.n, 0);
        vt_initramfs_report_free(&rep);
        assert_int_equal(vt_initramfs_verify(&root, "/boot/initrd.img-6.1.0-1-amd64", &exp, &rep),
                         -ENOENT);
        assert_non_null(strstr(vt_error_message(), "cannot verify the initramfs"));
        vt_root_close(&root);
        vt_buf_free(&image);
        rm_rf(dir);
}

static const char grub_cfg[] =
    "menuentry 'Debian GNU/Linux' --class debian {\n"
    "\tlinux\t/vmlinuz-6.1.0-26-amd64 root=UUID=1234 ro  quiet intel_iommu=on iommu=pt\n"
    "\tinitrd\t/initrd.img-6.1.0-26-amd64\n"
    "}\n"
    "submenu 'Advanced options' {\n"
    "  menuentry 'Debian, with Linux 6.1.0-26-amd64 (recovery mode)' {\n"
    "\tlinux\t/vmlinuz-6.1.0-26-amd64 root=UUID=1234 ro single\n"
    "  }\n"
    "  menuentry 'Debian, with Linux 6.1.0-25-amd64' {\n"
    "\tlinux\t/vmlinuz-6.1.0-25-amd64 root=UUID=1234 ro  quiet 'intel_iommu=on'\n"
    "  }\n"
    "}\n";

static void test_grub_cfg(void **state)
{
        const char *want[] = {"intel_iommu=on", "iommu=pt"};
        const char *gone[] = {"nomodeset"};
        const char *gone2[] = {"quiet"};
        vt_verify_findings f = {0};
        vt_buf b = VT_BUF_INIT;

        (void)state;
        /* The recovery entry lacks the words: it is not checked. */
        assert_int_equal(vt_cmdline_verify_text(grub_cfg, strlen(grub_cfg), VT_CMDLINE_GRUB_CFG,
                                                "grub.cfg", KVER, want, 2, gone, 1, &f),
                         0);
        assert_int_equal(f.n, 0);
        /* All kernels: 6.1.0-25's entry lacks iommu=pt. */
        assert_int_equal(vt_cmdline_verify_text(grub_cfg, strlen(grub_cfg), VT_CMDLINE_GRUB_CFG,
                                                "grub.cfg", NULL, want, 2, gone2, 1, &f),
                         0);
        assert_int_equal(vt_verify_findings_format(&f, &b), 0);
        assert_string_equal(b.ptr, "grub.cfg: the entry for /vmlinuz-6.1.0-26-amd64 still has "
                                   "'quiet' on the kernel command line\n"
                                   "grub.cfg: the entry for /vmlinuz-6.1.0-25-amd64 lacks "
                                   "'iommu=pt' on the kernel command line\n"
                                   "grub.cfg: the entry for /vmlinuz-6.1.0-25-amd64 still has "
                                   "'quiet' on the kernel command line\n");
        vt_verify_findings_free(&f);
        /* A prefix is not the word. */
        const char *partial[] = {"intel_iommu"};
        assert_int_equal(vt_cmdline_verify_text(grub_cfg, strlen(grub_cfg), VT_CMDLINE_GRUB_CFG,
                                                "grub.cfg", KVER, partial, 1, NULL, 0, &f),
                         0);
        assert_int_equal(f.n, 1);
        assert_int_equal(f.items[0].kind, VT_VERIFY_WORD_MISSING);
        vt_verify_findings_free(&f);
        assert_int_equal(vt_cmdline_verify_text(grub_cfg, strlen(grub_cfg), VT_CMDLINE_GRUB_CFG,
                                                "grub.cfg", "6.5.0-1-amd64", want, 2, NULL, 0, &f),
                         0);
        assert_int_equal(f.n, 1);
        assert_int_equal(f.items[0].kind, VT_VERIFY_NO_ENTRY);
        vt_verify_findings_free(&f);
        vt_buf_free(&b);
}

static void test_loader_entry(void **state)
{
        static const char entry[] = "title      Proxmox Virtual Environment\n"
                                    "version    6.8.12-4-pve\n"
                                    "options    root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
                                    "options    intel_iommu=on\n"
                                    "linux      /EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve\n";
        static const char plain[] = "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on\n";
        const char *want[] = {"intel_iommu=on", "boot=zfs"};
        const char *want2[] = {"iommu=pt"};
        vt_verify_findings f = {0};

        (void)state;
        assert_int_equal(vt_cmdline_verify_text(entry, strlen(entry), VT_CMDLINE_LOADER_ENTRY,
                                                "entry", NULL, want, 2, NULL, 0, &f),
                         0);
        assert_int_equal(f.n, 0);
        assert_int_equal(vt_cmdline_verify_text(entry, strlen(entry), VT_CMDLINE_LOADER_ENTRY,
                                                "entry", NULL, want2, 1, want, 1, &f),
                         0);
        assert_int_equal(f.n, 2);
        assert_int_equal(f.items[0].kind, VT_VERIFY_WORD_MISSING);
        assert_int_equal(f.items[1].kind, VT_VERIFY_WORD_PRESENT);
        vt_verify_findings_free(&f);
        assert_int_equal(vt_cmdline_verify_text(plain, strlen(plain), VT_CMDLINE_PLAIN, "cmdline",
                                                NULL, want, 2, want2, 1, &f),
                         0);
        assert_int_equal(f.n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_gzip),         cmocka_unit_test(test_zstd),
            cmocka_unit_test(test_xz),           cmocka_unit_test(test_lz4),
            cmocka_unit_test(test_uncompressed), cmocka_unit_test(test_list_and_builtin),
            cmocka_unit_test(test_damaged),      cmocka_unit_test(test_verify_in_root),
            cmocka_unit_test(test_grub_cfg),     cmocka_unit_test(test_loader_entry),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
