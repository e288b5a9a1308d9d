/* journal/diff: the unified diff of two snapshots, whole and file by file. */
#include "../helpers.h"

#include <string.h>

#include "journal/diff.h"
#include "journal/journal.h"
#include "journal/snapshot.h"

static void test_changes_list(void **state)
{
        vt_snapshot from = {0}, to = {0};
        vt_diff_changes list = {0};
        vt_buf whole = VT_BUF_INIT, joined = VT_BUF_INIT;
        vt_file_meta other = {.mode = 0600};

        (void)state;
        assert_int_equal(vt_snapshot_put(&from, "/etc/modules", "a\n", 2, NULL), 0);
        assert_int_equal(vt_snapshot_put(&from, "/etc/same", "s\n", 2, NULL), 0);
        assert_int_equal(vt_snapshot_put(&from, "/etc/gone", "g\n", 2, NULL), 0);
        assert_int_equal(vt_snapshot_put(&from, "/etc/mode", "m\n", 2, NULL), 0);
        assert_int_equal(vt_snapshot_put(&to, "/etc/modules", "a\nvfio\n", 7, NULL), 0);
        assert_int_equal(vt_snapshot_put(&to, "/etc/same", "s\n", 2, NULL), 0);
        assert_int_equal(vt_snapshot_put(&to, "/etc/gone", NULL, 0, NULL), 0);
        assert_int_equal(vt_snapshot_put(&to, "/etc/mode", "m\n", 2, &other), 0);
        assert_int_equal(vt_snapshot_put(&to, "/etc/new", "n\n", 2, NULL), 0);

        assert_int_equal(vt_diff_changes_list(&from, &to, &list), 0);
        assert_int_equal(vt_diff_snapshots(&from, &to, &whole), 0);
        assert_int_equal(list.n, 4); /* /etc/same is equal: no change */
        /* in the snapshots' (sorted) order, then the paths only `to` has */
        assert_string_equal(list.items[0].path, "/etc/gone");
        assert_string_equal(list.items[0].action, "delete");
        assert_string_equal(list.items[1].path, "/etc/mode");
        assert_string_equal(list.items[1].action, "metadata");
        assert_string_equal(list.items[2].path, "/etc/modules");
        assert_string_equal(list.items[2].action, "modify");
        assert_non_null(strstr(vt_buf_cstr(&list.items[2].diff), "+vfio"));
        assert_string_equal(list.items[3].path, "/etc/new");
        assert_string_equal(list.items[3].action, "create");
        /* the parts, in order, are the whole diff */
        for (size_t i = 0; i < list.n; i++)
                vt_buf_puts(&joined, vt_buf_cstr(&list.items[i].diff));
        assert_string_equal(vt_buf_cstr(&joined), vt_buf_cstr(&whole));

        vt_diff_changes_free(&list);
        assert_int_equal(vt_diff_changes_list(&from, &from, &list), 0);
        assert_int_equal(list.n, 0);
        vt_diff_changes_free(&list);
        vt_buf_free(&whole);
        vt_buf_free(&joined);
        vt_snapshot_free(&from);
        vt_snapshot_free(&to);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_changes_list),
        };

        int r;

        /* the patch machinery is libgit2's */
        vt_journal_global_init();
        r = cmocka_run_group_tests(tests, NULL, NULL);
        vt_journal_global_shutdown();
        return r;
}
