/* backends/archive_read: a member's bytes read back whole (larger than one chunk), an empty
 * member, and a damaged member refused. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/archive_read.h"
#include "common/buf.h"

/* A tar of two members: "big" (`len` bytes of a pattern) and "empty". */
static size_t make_tar(unsigned char *out, size_t cap, size_t len)
{
        struct archive *a = archive_write_new();
        char *data = malloc(len);
        const char *names[] = {"big", "empty"};
        size_t used = 0;

        assert_non_null(a);
        assert_non_null(data);
        for (size_t i = 0; i < len; i++)
                data[i] = (char)('a' + i % 26);
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
        for (int k = 0; k < 2; k++) {
                struct archive_entry *e = archive_entry_new();
                size_t n = k == 0 ? len : 0;

                archive_entry_set_pathname(e, names[k]);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t)n);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (n)
                        assert_int_equal(archive_write_data(a, data, n), (la_ssize_t)n);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        free(data);
        return used;
}

static void test_read_members(void **state)
{
        enum { LEN = 200000, CAP = 1 << 20 };
        unsigned char *tar = malloc(CAP);
        vt_buf b = VT_BUF_INIT;
        struct archive_entry *e;
        size_t n;

        (void)state;
        assert_non_null(tar);
        n = make_tar(tar, CAP, LEN);
        {
                _cleanup_archive_read_ struct archive *a = archive_read_new();

                archive_read_support_format_tar(a);
                assert_int_equal(archive_read_open_memory(a, tar, n), ARCHIVE_OK);
                assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
                assert_int_equal(vt_archive_read_data(a, &b), 0);
                assert_int_equal(b.len, LEN);
                assert_int_equal(b.ptr[LEN - 1], 'a' + (LEN - 1) % 26);
                assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
                assert_int_equal(vt_archive_read_data(a, &b), 0);
                assert_int_equal(b.len, 0); /* replaced, not appended */
        }
        /* Cut inside the first member's data: the read fails as damaged. */
        {
                _cleanup_archive_read_ struct archive *a = archive_read_new();

                archive_read_support_format_tar(a);
                assert_int_equal(archive_read_open_memory(a, tar, 4096), ARCHIVE_OK);
                assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
                assert_int_equal(vt_archive_read_data(a, &b), -EBADMSG);
        }
        /* The cleanup accepts a reader that was never made. */
        {
                _cleanup_archive_read_ struct archive *none = NULL;
                (void)none;
        }
        vt_buf_free(&b);
        free(tar);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_read_members),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
