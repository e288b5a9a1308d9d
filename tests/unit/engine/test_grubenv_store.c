/* engine/grubenv_store.c: what vfiotx stores, the real grub-editenv reads, and the store
 * rewrites grubenv in place (same inode, same block, same 1024 bytes). */
#include "../helpers.h"

#include <errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "backends/bootcount_grub.h"
#include "common/error.h"
#include "engine/grubenv_store.h"
#include "fs/root.h"

static char *env_path(const char *dir)
{
        char *p;

        assert_true(asprintf(&p, "%s/boot/grub/grubenv", dir) > 0);
        return p;
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_store_then_editenv),
            cmocka_unit_test(test_store_in_place),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
