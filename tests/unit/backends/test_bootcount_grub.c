/* backends/bootcount_grub.c: the grubenv editor against the real grub-editenv, the counter,
 * and the can-GRUB-write-here check. */
#include "../helpers.h"

#include <errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "backends/bootcount_grub.h"
#include "backends/runner.h"
#include "common/error.h"
#include "journal/root.h"

static bool have_tool(const char *name)
{
        const char *const argv[] = {"sh", "-c", "command -v \"$0\"", name, NULL};
        vt_run_opts opts = {.timeout_ms = 10000};
        vt_run_result res = {0};
        int r = vt_run(argv, &opts, &res);

        vt_run_result_free(&res);
        return r == 0;
}

/* Run a tool (argv, no shell) and return its output; fails the test when it fails. */
static char *run_ok(const char *const *argv)
{
        vt_run_opts opts = {.timeout_ms = 30000};
        vt_run_result res = {0};
        int r = vt_run(argv, &opts, &res);
        char *out;

        if (r < 0)
                fail_msg("%s failed: %s", argv[0], vt_error_message());
        out = strdup(vt_buf_cstr(&res.output));
        vt_run_result_free(&res);
        return out;
}

static char *env_path(const char *dir)
{
        char *p;

        assert_true(asprintf(&p, "%s/boot/grub/grubenv", dir) > 0);
        return p;
}

/* A block made by grub-editenv parses, formats back to the same bytes, and its values
 * (escapes included) read as grub-editenv wrote them. */
static void test_editenv_roundtrip(void **state)
{
        (void)state;
        char *dir, *path, *bytes;
        vt_grubenv env = VT_GRUBENV_INIT;
        vt_buf out = VT_BUF_INIT;

        if (!have_tool("grub-editenv"))
                skip();
        dir = make_tmpdir();
        write_file(dir, "boot/grub/.keep", "");
        path = env_path(dir);
        free(run_ok((const char *const[]){"grub-editenv", path, "create", NULL}));
        free(run_ok((const char *const[]){"grub-editenv", path, "set", "saved_entry=gnulinux-x",
                                          "odd=a\\b", NULL}));
        bytes = slurp(dir, "boot/grub/grubenv");
        assert_int_equal(strlen(bytes), VT_GRUBENV_SIZE);
        assert_int_equal(vt_grubenv_parse(bytes, VT_GRUBENV_SIZE, "grubenv", &env), 0);
        assert_string_equal(vt_grubenv_get(&env, "saved_entry"), "gnulinux-x");
        assert_string_equal(vt_grubenv_get(&env, "odd"), "a\\b");
        assert_null(vt_grubenv_get(&env, "vfiotx_trial"));
        assert_int_equal(vt_grubenv_format(&env, &out), 0);
        assert_int_equal(out.len, VT_GRUBENV_SIZE);
        assert_memory_equal(out.ptr, bytes, VT_GRUBENV_SIZE);
        vt_buf_free(&out);
        vt_grubenv_free(&env);
        free(bytes);
        free(path);
        rm_rf(dir);
}

/* What vfiotx stores, grub-editenv lists; what grub-editenv changes afterwards, vfiotx reads. */
static void test_store_then_editenv(void **state)
{
        (void)state;
        char *dir, *path, *listed;
        vt_root root = VT_ROOT_INIT;
        vt_grubenv env = VT_GRUBENV_INIT;
        vt_bootcount bc;

        if (!have_tool("grub-editenv"))
                skip();
        dir = make_tmpdir();
        write_file(dir, "boot/grub/.keep", "");
        path = env_path(dir);
        free(run_ok((const char *const[]){"grub-editenv", path, "create", NULL}));
        free(run_ok((const char *const[]){"grub-editenv", path, "set", "saved_entry=1", NULL}));
        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_grubenv_load(&root, &env), 0);
        assert_int_equal(vt_bootcount_arm(&env, 42, 3, 10), 0);
        assert_int_equal(vt_grubenv_store(&root, &env), 0);
        vt_grubenv_free(&env);

        listed = run_ok((const char *const[]){"grub-editenv", path, "list", NULL});
        assert_string_equal(listed, "saved_entry=1\nvfiotx_tries=3\nvfiotx_panic=10\n"
                                    "vfiotx_trial=42\n");
        free(listed);

        /* GRUB's own decrement, as the script's save_env would write it. */
        free(run_ok((const char *const[]){"grub-editenv", path, "set", "vfiotx_tries=0",
                                          "vfiotx_fallback=42", NULL}));
        assert_int_equal(vt_grubenv_load(&root, &env), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_FELL_BACK);
        assert_int_equal(bc.trial, 42);
        assert_int_equal(bc.fallback, 42);
        assert_int_equal(bc.tries, 0);
        assert_int_equal(bc.panic, 10);

        assert_int_equal(vt_bootcount_clear(&env), 0);
        assert_int_equal(vt_grubenv_store(&root, &env), 0);
        vt_grubenv_free(&env);
        listed = run_ok((const char *const[]){"grub-editenv", path, "list", NULL});
        assert_string_equal(listed, "saved_entry=1\n");
        free(listed);

        vt_root_close(&root);
        free(path);
        rm_rf(dir);
}

static void test_parse_refusals(void **state)
{
        (void)state;
        char block[VT_GRUBENV_SIZE + 1];
        vt_grubenv env = VT_GRUBENV_INIT;

        memset(block, '#', sizeof(block));
        memcpy(block, VT_GRUBENV_SIGNATURE, strlen(VT_GRUBENV_SIGNATURE));
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE, "g", &env), 0);
        assert_int_equal(env.n, 0);
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE - 1, "g", &env), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "exactly 1024"));
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE + 1, "g", &env), -EBADMSG);
        block[0] = 'X';
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE, "g", &env), -EBADMSG);
        block[0] = '#';
        /* A line without '=', and a value that runs into the end of the block. */
        memcpy(block + strlen(VT_GRUBENV_SIGNATURE), "novalue\n", 8);
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE, "g", &env), -EBADMSG);
        memset(block + strlen(VT_GRUBENV_SIGNATURE), 'a', VT_GRUBENV_SIZE - 30);
        block[strlen(VT_GRUBENV_SIGNATURE) + 1] = '=';
        memset(block + VT_GRUBENV_SIZE - 10, 'b', 10);
        assert_int_equal(vt_grubenv_parse(block, VT_GRUBENV_SIZE, "g", &env), -EBADMSG);
}

static void test_format_escapes_and_overflow(void **state)
{
        (void)state;
        vt_grubenv env = VT_GRUBENV_INIT, back = VT_GRUBENV_INIT;
        vt_buf out = VT_BUF_INIT;
        char big[1100];

        assert_int_equal(vt_grubenv_set(&env, "a", "x\\y\nz"), 0);
        assert_int_equal(vt_grubenv_format(&env, &out), 0);
        assert_non_null(strstr(out.ptr, "a=x\\\\y\\\nz\n#"));
        assert_int_equal(vt_grubenv_parse(out.ptr, out.len, "g", &back), 0);
        assert_string_equal(vt_grubenv_get(&back, "a"), "x\\y\nz");
        vt_grubenv_free(&back);

        assert_int_equal(vt_grubenv_set(&env, "bad-name", "1"), -EINVAL);
        memset(big, 'v', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(vt_grubenv_set(&env, "big", big), 0);
        assert_int_equal(vt_grubenv_format(&env, &out), -ENOSPC);
        /* Unset keeps the order of the others. */
        assert_int_equal(vt_grubenv_set(&env, "big", NULL), 0);
        assert_int_equal(vt_grubenv_set(&env, "b", "2"), 0);
        assert_int_equal(vt_grubenv_set(&env, "a", "1"), 0);
        assert_int_equal(env.n, 2);
        assert_string_equal(env.vars[0].name, "a");
        assert_string_equal(env.vars[0].value, "1");
        vt_buf_free(&out);
        vt_grubenv_free(&env);
}

static void test_counter(void **state)
{
        (void)state;
        vt_grubenv env = VT_GRUBENV_INIT;
        vt_bootcount bc;

        assert_int_equal(vt_bootcount_read(&env, &bc), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_NONE);
        assert_int_equal(bc.tries, -1);

        assert_int_equal(vt_bootcount_arm(&env, 0, 3, 10), -EINVAL);
        assert_int_equal(vt_bootcount_arm(&env, 5, 0, 10), -EINVAL);
        assert_int_equal(vt_bootcount_arm(&env, 5, 10, 10), -EINVAL);
        assert_int_equal(vt_bootcount_arm(&env, 5, 3, 0), -EINVAL);
        assert_int_equal(vt_bootcount_arm(&env, 5, 3, 601), -EINVAL);
        assert_int_equal(env.n, 0);

        /* Arming over an old fallback drops it: otherwise GRUB would keep the last good entry. */
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_FALLBACK, "4"), 0);
        assert_int_equal(vt_bootcount_arm(&env, 5, 3, 10), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_ARMED);
        assert_int_equal(bc.trial, 5);
        assert_int_equal(bc.tries, 3);
        assert_int_equal(bc.fallback, 0);
        assert_string_equal(vt_bootcount_phase_name(bc.phase), "armed");

        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIES, "0"), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_LAST_TRY);

        /* Values vfiotx never writes are refused by name, not guessed. */
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIES, "x"), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "vfiotx_tries"));
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIES, "10"), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), -EBADMSG);
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIES, "03"), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), -EBADMSG);
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIES, "2"), 0);
        assert_int_equal(vt_grubenv_set(&env, VT_GRUBENV_TRIAL, "-3"), 0);
        assert_int_equal(vt_bootcount_read(&env, &bc), -EBADMSG);

        assert_int_equal(vt_grubenv_set(&env, "saved_entry", "0"), 0);
        assert_int_equal(vt_bootcount_clear(&env), 0);
        assert_int_equal(env.n, 1);
        assert_string_equal(env.vars[0].name, "saved_entry");
        vt_grubenv_free(&env);
}

static const char mi_plain[] = "24 1 8:2 / / rw - ext4 /dev/sda2 rw\n"
                               "25 24 8:1 / /boot rw - ext4 /dev/sda1 rw\n";

static void test_check_mount(void **state)
{
        (void)state;
        char *amd_sys = fixture_path("amd-desktop", "sys");
        char *amd_mi = fixture_path("amd-desktop", "proc/self/mountinfo");
        char *intel_mi = fixture_path("intel-igpu-desktop", "proc/self/mountinfo");
        char *intel_sys = fixture_path("intel-igpu-desktop", "sys");
        char *text;
        FILE *f;
        long n;

        assert_int_equal(vt_grubenv_check_mount(mi_plain, "/boot/grub/grubenv", NULL), 0);

        /* The seed's desktop: /boot is ext4 on sda1. */
        f = fopen(intel_mi, "r");
        assert_non_null(f);
        text = calloc(1, 4096);
        n = (long)fread(text, 1, 4095, f);
        fclose(f);
        assert_true(n > 0);
        assert_int_equal(vt_grubenv_check_mount(text, "/boot/grub/grubenv", intel_sys), 0);
        free(text);

        /* Proxmox on LVM: /boot is on / (dm-1): refused, and so it is through sysfs alone
         * when the source does not say /dev/mapper. */
        f = fopen(amd_mi, "r");
        assert_non_null(f);
        text = calloc(1, 4096);
        n = (long)fread(text, 1, 4095, f);
        fclose(f);
        assert_true(n > 0);
        assert_int_equal(vt_grubenv_check_mount(text, "/boot/grub/grubenv", amd_sys), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "device-mapper"));
        assert_non_null(strstr(vt_error_hint_text(), "--no-arm"));
        free(text);
        assert_int_equal(vt_grubenv_check_mount("24 1 252:1 / / rw - ext4 /dev/root rw\n",
                                                "/boot/grub/grubenv", amd_sys),
                         -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "stacked"));
        assert_int_equal(vt_grubenv_check_mount("24 1 252:1 / / rw - ext4 /dev/root rw\n",
                                                "/boot/grub/grubenv", NULL),
                         0);

        assert_int_equal(vt_grubenv_check_mount("24 1 0:31 / / rw - btrfs /dev/sda2 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "btrfs"));
        assert_int_equal(vt_grubenv_check_mount("24 1 0:40 / / rw - zfs rpool/ROOT/pve-1 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         -ENOTSUP);
        assert_int_equal(vt_grubenv_check_mount("24 1 9:0 / /boot rw - ext4 /dev/md0 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "md RAID"));
        assert_int_equal(vt_grubenv_check_mount("24 1 0:41 / / rw - f2fs /dev/sda2 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         -ENOTSUP);
        /* /boot on ext4 wins over a btrfs /; /bootx does not hold /boot; the later of two
         * mounts on one point wins. */
        assert_int_equal(vt_grubenv_check_mount("1 0 0:31 / / rw - btrfs /dev/sda2 rw\n"
                                                "2 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n"
                                                "3 1 8:3 / /bootx rw - btrfs /dev/sda3 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         0);
        assert_int_equal(vt_grubenv_check_mount("1 0 8:2 / / rw - ext4 /dev/sda2 rw\n"
                                                "2 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n"
                                                "3 1 0:33 / /boot rw - btrfs /dev/sdb1 rw\n",
                                                "/boot/grub/grubenv", NULL),
                         -ENOTSUP);
        /* Escaped mount points. */
        assert_int_equal(vt_grubenv_check_mount("1 0 8:2 / / rw - btrfs /dev/sda2 rw\n"
                                                "2 1 8:1 / /mnt/my\\040host/boot rw - ext4 "
                                                "/dev/sda1 rw\n",
                                                "/mnt/my host/boot/grub/grubenv", NULL),
                         0);
        assert_int_equal(vt_grubenv_check_mount("", "/boot/grub/grubenv", NULL), -ENOENT);
        free(amd_sys);
        free(amd_mi);
        free(intel_mi);
        free(intel_sys);
}

/* The whole check on a root: file size and shape, then the mount holding it. */
static void test_check_root(void **state)
{
        (void)state;
        char *dir = make_tmpdir(), *proc = make_tmpdir(), mi[8192];
        vt_root root = VT_ROOT_INIT;
        char block[VT_GRUBENV_SIZE + 1];

        assert_int_equal(vt_root_open(&root, dir), 0);
        snprintf(mi, sizeof(mi),
                 "1 0 8:2 / / rw - btrfs /dev/sda2 rw\n2 1 8:1 / %s/boot rw - ext4 /dev/sda1 rw\n",
                 dir);
        write_file(proc, "self/mountinfo", mi);

        write_file(dir, "boot/grub/.keep", "");
        assert_int_equal(vt_grubenv_check(&root, NULL, proc), -ENOENT);
        assert_non_null(strstr(vt_error_hint_text(), "grub-editenv"));

        memset(block, '#', sizeof(block));
        memcpy(block, VT_GRUBENV_SIGNATURE, strlen(VT_GRUBENV_SIGNATURE));
        block[VT_GRUBENV_SIZE - 1] = '\0';
        write_file(dir, "boot/grub/grubenv", block); /* 1023 bytes */
        assert_int_equal(vt_grubenv_check(&root, NULL, proc), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "1023 bytes"));

        block[VT_GRUBENV_SIZE - 1] = '#';
        block[VT_GRUBENV_SIZE] = '\0';
        write_file(dir, "boot/grub/grubenv", block);
        assert_int_equal(vt_grubenv_check(&root, NULL, proc), 0);

        /* The same block on the btrfs root. */
        snprintf(mi, sizeof(mi), "1 0 8:2 / / rw - btrfs /dev/sda2 rw\n");
        write_file(proc, "self/mountinfo", mi);
        assert_int_equal(vt_grubenv_check(&root, NULL, proc), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "btrfs"));
        vt_root_close(&root);
        rm_rf(dir);
        rm_rf(proc);
}

/* The physical block of the file's first byte (FIEMAP, synced first), or -1 where the file
 * system does not map blocks (tmpfs). */
static long long first_block(const char *path)
{
        struct {
                struct fiemap fm;
                struct fiemap_extent ext[1];
        } q = {0};
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int r;

        assert_true(fd >= 0);
        q.fm.fm_length = ~0ULL;
        q.fm.fm_flags = FIEMAP_FLAG_SYNC;
        q.fm.fm_extent_count = 1;
        r = ioctl(fd, FS_IOC_FIEMAP, &q.fm);
        close(fd);
        if (r < 0 || q.fm.fm_mapped_extents < 1)
                return -1;
        return (long long)q.ext[0].fe_physical;
}

/* Arming rewrites grubenv where GRUB found it: same inode, same block, same 1024 bytes. GRUB
 * reads the disk without replaying the journal, so a new inode (a rename) would be invisible to
 * it until writeback, and its save_env would write into freed blocks. */
static void test_store_in_place(void **state)
{
        (void)state;
        _cleanup_grubenv_ vt_grubenv env = VT_GRUBENV_INIT;
        vt_root root = VT_ROOT_INIT;
        char *dir, *path, *listed;
        struct stat before, after;
        long long block_before, block_after;

        if (!have_tool("grub-editenv"))
                skip();
        dir = make_tmpdir();
        write_file(dir, "boot/grub/.keep", "");
        path = env_path(dir);
        free(run_ok((const char *const[]){"grub-editenv", path, "create", NULL}));
        assert_int_equal(stat(path, &before), 0);
        block_before = first_block(path);

        assert_int_equal(vt_root_open(&root, dir), 0);
        assert_int_equal(vt_grubenv_load(&root, &env), 0);
        assert_int_equal(vt_bootcount_arm(&env, 7, 2, 10), 0);
        assert_int_equal(vt_grubenv_store(&root, &env), 0);
        assert_int_equal(stat(path, &after), 0);
        block_after = first_block(path);
        assert_int_equal(after.st_ino, before.st_ino);
        assert_int_equal(after.st_size, 1024);
        assert_true(block_before == block_after);
        if (block_before >= 0)
                print_message("grubenv block at byte %lld before and after arming\n", block_before);
        listed = run_ok((const char *const[]){"grub-editenv", path, "list", NULL});
        assert_string_equal(listed, "vfiotx_tries=2\nvfiotx_panic=10\nvfiotx_trial=7\n");
        free(listed);

        /* A grubenv of another size is not GRUB's block: refused, left as it is. */
        assert_int_equal(truncate(path, 2048), 0);
        assert_int_equal(vt_grubenv_store(&root, &env), -EINVAL);
        assert_non_null(strstr(vt_error_message(), "not 1024"));
        /* A FIFO in its place must not block the store. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_true(vt_grubenv_store(&root, &env) < 0);

        vt_root_close(&root);
        free(path);
        rm_rf(dir);
}

static void test_grub_cfg_has_counter(void **state)
{
        (void)state;
        static const char good[] = "### BEGIN /etc/grub.d/42_vfiotx ###\n"
                                   "menuentry 'x' $menuentry_id_option 'vfiotx-last-good' {\n}\n";
        static const char none[] = "### BEGIN /etc/grub.d/10_linux ###\n";

        assert_int_equal(vt_grub_cfg_has_counter(good, strlen(good)), 0);
        assert_int_equal(vt_grub_cfg_has_counter(none, strlen(none)), -ENOENT);
        assert_non_null(strstr(vt_error_hint_text(), "update-grub"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_editenv_roundtrip),
            cmocka_unit_test(test_store_then_editenv),
            cmocka_unit_test(test_store_in_place),
            cmocka_unit_test(test_parse_refusals),
            cmocka_unit_test(test_format_escapes_and_overflow),
            cmocka_unit_test(test_counter),
            cmocka_unit_test(test_check_mount),
            cmocka_unit_test(test_check_root),
            cmocka_unit_test(test_grub_cfg_has_counter),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
