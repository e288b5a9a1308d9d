/* common/error: the message, the hint, and the place of an error in a file. */
#include "../helpers.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

static void test_set_at(void **state)
{
        unsigned line = 0;

        (void)state;
        assert_int_equal(vt_error_set_at(EINVAL, "/etc/default/grub", 12, "bad %s", "word"),
                         -EINVAL);
        assert_string_equal(vt_error_message(), "/etc/default/grub:12: bad word");
        assert_string_equal(vt_error_file(&line), "/etc/default/grub");
        assert_int_equal(line, 12);
        /* a wrap and a hint keep the place */
        vt_error_hint(EINVAL, "fix it");
        vt_error_wrap(EINVAL, "planning");
        assert_string_equal(vt_error_message(), "planning: /etc/default/grub:12: bad word");
        assert_non_null(vt_error_file(NULL));
        /* a new error has no place */
        vt_error_set(EIO, "disk");
        assert_null(vt_error_file(&line));
        vt_error_set_at(EINVAL, "/etc/modules", 3, "x");
        vt_error_clear();
        assert_null(vt_error_file(&line));
        assert_null(vt_error_message());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_set_at),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
