/* engine/pbt_grub_counter.c: GRUB's counter on two proxmox-boot-tool ESPs (stand-in directories
 * at /run/vfiotx/esp/UUID, as engine/esp_mounts.h leaves them), with blocks the real
 * grub-editenv made and reads back (skipped without it). GRUB's own steps are made with
 * grub-editenv as its save_env would. */
#include "../helpers.h"

#include <errno.h>

#include "common/error.h"
#include "engine/pbt_grub_counter.h"
#include "fs/root.h"

#define U1 "7A3C-0E16"
#define U2 "5E2D-9B41"

typedef struct fixture {
        char *dir;
        vt_root root;
} fixture;

static char *env_of(const fixture *f, const char *uuid)
{
        char *p;

        assert_true(asprintf(&p, "%s/run/vfiotx/esp/%s/grub/grubenv", f->dir, uuid) > 0);
        return p;
}

static void editenv(const fixture *f, const char *uuid, const char *a, const char *b, const char *c)
{
        char *path = env_of(f, uuid);
        const char *const argv[] = {"grub-editenv", path, a, b, c, NULL};

        free(run_ok(argv));
        free(path);
}

static void assert_env(const fixture *f, const char *uuid, const char *want)
{
        char *path = env_of(f, uuid);
        const char *const argv[] = {"grub-editenv", path, "list", NULL};
        char *listed = run_ok(argv);

        if (strcmp(listed, want) != 0)
                fail_msg("%s: grubenv lists \"%s\", not \"%s\"", uuid, listed, want);
        free(listed);
        free(path);
}

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));

        if (!have_tool("grub-editenv")) {
                free(f);
                skip();
        }
        f->dir = make_tmpdir();
        write_file(f->dir, "etc/kernel/proxmox-boot-uuids", U1 "\n" U2 "\n");
        write_file(f->dir, "run/vfiotx/esp/" U1 "/grub/.keep", "");
        write_file(f->dir, "run/vfiotx/esp/" U2 "/grub/.keep", "");
        editenv(f, U1, "create", NULL, NULL);
        editenv(f, U2, "create", NULL, NULL);
        editenv(f, U2, "set", "saved_entry=1", NULL);
        f->root = (vt_root)VT_ROOT_INIT;
        assert_int_equal(vt_root_open(&f->root, f->dir), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        vt_root_close(&f->root);
        rm_rf(f->dir);
        free(f);
        return 0;
}

/* Arm, GRUB counting on one ESP, mark bad, clear: every ESP's block, the user's variables kept,
 * and the counter read back as the most advanced ESP has it. */
static void test_transitions(void **state)
{
        fixture *f = *state;
        vt_bootcount bc;
        bool committed;

        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, &committed), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_NONE);
        assert_false(committed);

        assert_int_equal(vt_pbt_grub_arm(&f->root, 4, 3, 10), 0);
        assert_env(f, U1, "vfiotx_tries=3\nvfiotx_panic=10\nvfiotx_trial=4\n");
        assert_env(f, U2, "saved_entry=1\nvfiotx_tries=3\nvfiotx_panic=10\nvfiotx_trial=4\n");
        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, &committed), 0);
        assert_true(committed);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_ARMED);
        assert_int_equal(bc.tries, 3);

        /* the firmware started the second ESP's GRUB: it counted there only */
        editenv(f, U2, "set", "vfiotx_tries=1", NULL);
        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, NULL), 0);
        assert_int_equal(bc.tries, 1);
        /* and then the first one's, which gave up: a fallback anywhere wins */
        editenv(f, U1, "set", "vfiotx_tries=0", "vfiotx_fallback=4");
        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, NULL), 0);
        assert_int_equal(bc.phase, VT_BOOTCOUNT_FELL_BACK);
        assert_int_equal(bc.fallback, 4);

        assert_int_equal(vt_pbt_grub_mark_bad(&f->root, 4), 0);
        assert_env(f, U2,
                   "saved_entry=1\nvfiotx_tries=0\nvfiotx_panic=10\nvfiotx_trial=4\n"
                   "vfiotx_fallback=4\n");
        assert_int_equal(vt_pbt_grub_clear(&f->root), 0);
        assert_env(f, U1, "");
        assert_env(f, U2, "saved_entry=1\n");
}

/* An arming cut short after the first ESP: not committed; arming again leaves the first ESP's
 * count as GRUB left it and arms the second. */
static void test_arm_finishes_a_cut(void **state)
{
        fixture *f = *state;
        vt_bootcount bc;
        bool committed;

        editenv(f, U1, "set", "vfiotx_trial=5", "vfiotx_tries=2");
        editenv(f, U1, "set", "vfiotx_panic=10", NULL);
        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, &committed), 0);
        assert_false(committed);
        assert_int_equal(vt_pbt_grub_arm(&f->root, 5, 3, 10), 0);
        assert_env(f, U1, "vfiotx_trial=5\nvfiotx_tries=2\nvfiotx_panic=10\n");
        assert_env(f, U2, "saved_entry=1\nvfiotx_tries=3\nvfiotx_panic=10\nvfiotx_trial=5\n");
        assert_int_equal(vt_pbt_grub_read(&f->root, &bc, &committed), 0);
        assert_true(committed);
        assert_int_equal(bc.tries, 2);
}

/* The check: a listed ESP that is not there, a grub.cfg without the counter, a block of the
 * wrong size; each refused by name. */
static void test_check_refuses(void **state)
{
        fixture *f = *state;
        vt_flush_report rep;
        char *proc = make_tmpdir(), *env;

        write_file(proc, "self/mountinfo", "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n");
        assert_int_equal(vt_pbt_grub_check(&f->root, NULL, proc, &rep), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "grub.cfg has no vfiotx boot counter"));
        assert_non_null(strstr(vt_error_hint_text(), "proxmox-boot-tool refresh"));
        vt_error_clear();

        write_file(f->dir, "run/vfiotx/esp/" U1 "/grub/grub.cfg",
                   "### BEGIN /etc/grub.d/42_vfiotx ###\nmenuentry 'x' $menuentry_id_option "
                   "'vfiotx-last-good' {\n}\n");
        write_file(f->dir, "run/vfiotx/esp/" U2 "/grub/grub.cfg",
                   "### BEGIN /etc/grub.d/42_vfiotx ###\nmenuentry 'x' $menuentry_id_option "
                   "'vfiotx-last-good' {\n}\n");
        env = env_of(f, U2);
        assert_int_equal(truncate(env, 2048), 0);
        assert_int_equal(vt_pbt_grub_check(&f->root, NULL, proc, &rep), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "2048 bytes"));
        vt_error_clear();
        assert_int_equal(truncate(env, 1024), 0);

        write_file(f->dir, "etc/kernel/proxmox-boot-uuids", U1 "\n" U2 "\n0000-1111\n");
        assert_int_equal(vt_pbt_grub_check(&f->root, NULL, proc, &rep), -ENOTSUP);
        assert_non_null(strstr(vt_error_message(), "lists ESPs that are not there: 0000-1111"));
        vt_error_clear();
        /* the transitions write what is there */
        assert_int_equal(vt_pbt_grub_clear(&f->root), 0);
        free(env);
        rm_rf(proc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_arm_finishes_a_cut, setup, teardown),
            cmocka_unit_test_setup_teardown(test_check_refuses, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
