/* backends/bootcount_grub.c: the grubenv editor against the real grub-editenv, the counter,
 * and the can-GRUB-write-here check (the write itself: tests/unit/engine/test_grubenv_store.c). */
#include "../helpers.h"

#include <errno.h>
#include <sys/stat.h>

#include "backends/bootcount_grub.h"
#include "common/error.h"
#include "fs/root.h"

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
            cmocka_unit_test(test_parse_refusals),
            cmocka_unit_test(test_format_escapes_and_overflow),
            cmocka_unit_test(test_counter),
            cmocka_unit_test(test_check_mount),
            cmocka_unit_test(test_check_root),
            cmocka_unit_test(test_grub_cfg_has_counter),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
