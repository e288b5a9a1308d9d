/* common/argv: an argv as one readable line. */
#include "../helpers.h"

#include "common/argv.h"
#include "common/buf.h"

static void test_format_argv(void **state)
{
        const char *argv[] = {
            "grub-mkconfig", "-o", "/boot/grub/grub.cfg", "a b", "it's", "", NULL};
        vt_buf b = VT_BUF_INIT;

        (void)state;
        assert_int_equal(vt_argv_format(argv, &b), 0);
        assert_string_equal(b.ptr, "grub-mkconfig -o /boot/grub/grub.cfg 'a b' 'it'\\''s' ''");
        vt_buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_argv),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
