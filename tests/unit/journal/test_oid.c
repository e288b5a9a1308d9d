/* journal/oid: the hex form round-trips, comparisons, and what is not an object id. */
#include "../helpers.h"

#include <errno.h>

#include "journal/oid.h"

static const char hex[] = "0123456789abcdef00112233445566778899aabb";

static void test_roundtrip(void **state)
{
        char buf[VT_OID_HEXSZ + 1];
        vt_oid a, b;

        (void)state;
        assert_int_equal(vt_oid_fromstr(&a, hex), 0);
        assert_int_equal(a.id[0], 0x01);
        assert_int_equal(a.id[19], 0xbb);
        assert_ptr_equal(vt_oid_tostr(&a, buf), buf);
        assert_string_equal(buf, hex);
        assert_string_equal(VT_OID_TOSTR(&a), hex);
        /* upper case reads as the same id and prints in lower case */
        assert_int_equal(vt_oid_fromstr(&b, "0123456789ABCDEF00112233445566778899AABB"), 0);
        assert_true(vt_oid_equal(&a, &b));
        assert_string_equal(VT_OID_TOSTR(&b), hex);
}

static void test_equal_zero(void **state)
{
        vt_oid zero = {{0}}, a, b;

        (void)state;
        assert_true(vt_oid_is_zero(&zero));
        assert_string_equal(VT_OID_TOSTR(&zero), "0000000000000000000000000000000000000000");
        assert_int_equal(vt_oid_fromstr(&a, hex), 0);
        b = a;
        assert_false(vt_oid_is_zero(&a));
        assert_true(vt_oid_equal(&a, &b));
        b.id[19] ^= 1;
        assert_false(vt_oid_equal(&a, &b));
        assert_false(vt_oid_equal(&a, &zero));
}

static void test_fromstr_rejects(void **state)
{
        vt_oid a, before;

        (void)state;
        assert_int_equal(vt_oid_fromstr(&a, hex), 0);
        before = a;
        assert_int_equal(vt_oid_fromstr(&a, NULL), -EINVAL);
        assert_int_equal(vt_oid_fromstr(&a, ""), -EINVAL);
        assert_int_equal(vt_oid_fromstr(&a, "0123456789abcdef"), -EINVAL);
        /* one digit short, one too many, one that is not hex */
        assert_int_equal(vt_oid_fromstr(&a, "0123456789abcdef00112233445566778899aab"), -EINVAL);
        assert_int_equal(vt_oid_fromstr(&a, "0123456789abcdef00112233445566778899aabb0"), -EINVAL);
        assert_int_equal(vt_oid_fromstr(&a, "0123456789abcdef0011223344556677889gaabb"), -EINVAL);
        /* a failed parse leaves the output alone */
        assert_true(vt_oid_equal(&a, &before));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip),
            cmocka_unit_test(test_equal_zero),
            cmocka_unit_test(test_fromstr_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
