/* The binding methods' names: each parses back to itself; anything else is refused with a
 * hint. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backends/bind_method.h"
#include "common/error.h"

static void test_method_names(void **state)
{
        vt_bind_method m;

        (void)state;
        for (int i = 0; i < _VT_BIND_MAX; i++) {
                assert_int_equal(vt_bind_method_parse(vt_bind_method_name(i), &m), 0);
                assert_int_equal(m, i);
        }
        assert_int_equal(vt_bind_method_parse("driver_override", &m), -EINVAL);
        assert_non_null(strstr(vt_error_hint_text(), "override"));
        assert_int_equal(vt_bind_method_parse(NULL, &m), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_method_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
