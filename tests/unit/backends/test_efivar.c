/* efivarfs payloads: string variables and 1-byte booleans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/efivar.h"
#include "common/error.h"
#include "common/macro.h"

static void test_names(void **state)
{
        (void)state;
        assert_string_equal(VT_EFIVAR_LOADER_ENTRY_DEFAULT,
                            "LoaderEntryDefault-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
        assert_string_equal(VT_EFIVAR_LOADER_BOOT_COUNT_PATH,
                            "LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
        assert_string_equal(VT_EFIVAR_SECURE_BOOT,
                            "SecureBoot-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4");
        assert_string_equal(VT_EFIVAR_SETUP_MODE, "SetupMode-8be4df61-93ca-11d2-aa0d-e98c4e8f40f4");
        assert_int_equal(VT_EFI_ATTR_NV_BS_RT, VT_EFI_VARIABLE_NON_VOLATILE |
                                                   VT_EFI_VARIABLE_BOOTSERVICE_ACCESS |
                                                   VT_EFI_VARIABLE_RUNTIME_ACCESS);
}

/* What `bootctl set-default 'vfiotx-*'` leaves in efivarfs. */
static const unsigned char vfiotx_default[] = {0x07, 0,   0, 0,   'v', 0,   'f', 0,   'i', 0, 'o',
                                               0,    't', 0, 'x', 0,   '-', 0,   '*', 0,   0, 0};

static void test_encode(void **state)
{
        _cleanup_buf_ vt_buf out = VT_BUF_INIT;

        (void)state;
        assert_int_equal(vt_efivar_encode_string("vfiotx-*", VT_EFI_ATTR_NV_BS_RT, &out), 0);
        assert_int_equal(out.len, sizeof(vfiotx_default));
        assert_memory_equal(out.ptr, vfiotx_default, sizeof(vfiotx_default));
        assert_int_equal(vt_efivar_encode_string("", 0x06, &out), 0);
        assert_int_equal(out.len, 6);
        assert_memory_equal(out.ptr, "\x06\0\0\0\0\0", 6);
}

static void decode_ok(const void *data, size_t len, const char *want, uint32_t want_attrs)
{
        _cleanup_free_ char *value = NULL;
        uint32_t attrs = 0;

        assert_int_equal(vt_efivar_decode_string(data, len, "X", &value, &attrs), 0);
        assert_string_equal(value, want);
        assert_int_equal(attrs, want_attrs);
}

static void test_decode(void **state)
{
        static const unsigned char no_nul[] = {0x06, 0, 0, 0, 'a', 0, 'b', 0};
        static const unsigned char empty[] = {0x07, 0, 0, 0};
        static const unsigned char big_attrs[] = {0x27, 0x01, 0x00, 0x80, 'z', 0, 0, 0};
        /* "é€" and U+1F600 as a surrogate pair. */
        static const unsigned char wide[] = {7,    0,    0,    0,    0xe9, 0x00, 0xac,
                                             0x20, 0x3d, 0xd8, 0x00, 0xde, 0,    0};

        (void)state;
        decode_ok(vfiotx_default, sizeof(vfiotx_default), "vfiotx-*", 7);
        decode_ok(no_nul, sizeof(no_nul), "ab", 6);
        decode_ok(empty, sizeof(empty), "", 7);
        decode_ok(big_attrs, sizeof(big_attrs), "z", 0x80000127u);
        decode_ok(wide, sizeof(wide), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 7);
}

static void decode_bad(const void *data, size_t len, const char *msg)
{
        char *value = NULL;

        assert_int_equal(vt_efivar_decode_string(data, len, "LoaderEntryDefault", &value, NULL),
                         -EBADMSG);
        assert_null(value);
        if (!strstr(vt_error_message(), msg))
                fail_msg("message '%s' lacks '%s'", vt_error_message(), msg);
}

static void test_decode_garbage(void **state)
{
        static const unsigned char odd[] = {7, 0, 0, 0, 'a', 0, 'b'};
        static const unsigned char inner_nul[] = {7, 0, 0, 0, 'a', 0, 0, 0, 'b', 0};
        static const unsigned char lone_high[] = {7, 0, 0, 0, 0x3d, 0xd8, 'a', 0};
        static const unsigned char high_at_end[] = {7, 0, 0, 0, 0x3d, 0xd8, 0, 0};
        static const unsigned char lone_low[] = {7, 0, 0, 0, 0x00, 0xde, 0, 0};

        (void)state;
        decode_bad("\x07\0\0", 3, "shorter than its 4-byte attributes");
        decode_bad(odd, sizeof(odd), "odd");
        decode_bad(inner_nul, sizeof(inner_nul), "NUL character at position 1");
        decode_bad(lone_high, sizeof(lone_high), "unpaired UTF-16 high surrogate (0xd83d)");
        decode_bad(high_at_end, sizeof(high_at_end), "unpaired UTF-16 high surrogate");
        decode_bad(lone_low, sizeof(lone_low), "unpaired UTF-16 low surrogate (0xde00)");
}

static void test_roundtrip_and_bad_utf8(void **state)
{
        static const char *const values[] = {"vfiotx-1-trial-7+3.conf", "@saved", "\xc3\xa9",
                                             "\xf0\x9f\x98\x80x", ""};
        _cleanup_buf_ vt_buf out = VT_BUF_INIT;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
                _cleanup_free_ char *back = NULL;

                assert_int_equal(vt_efivar_encode_string(values[i], 7, &out), 0);
                assert_int_equal(vt_efivar_decode_string(out.ptr, out.len, "X", &back, NULL), 0);
                assert_string_equal(back, values[i]);
        }
        assert_int_equal(vt_efivar_encode_string("a\xff", 7, &out), -EINVAL);
        assert_int_equal(vt_efivar_encode_string("\xc0\xaf", 7, &out), -EINVAL);     /* overlong */
        assert_int_equal(vt_efivar_encode_string("\xed\xa0\x80", 7, &out), -EINVAL); /* D800 */
        assert_int_equal(vt_efivar_encode_string("\xe2\x82", 7, &out), -EINVAL);     /* cut short */
}

static void test_bool(void **state)
{
        bool v = false;
        uint32_t attrs = 0;

        (void)state;
        assert_int_equal(vt_efivar_decode_bool("\x06\0\0\0\x01", 5, "SecureBoot", &v, &attrs), 0);
        assert_true(v);
        assert_int_equal(attrs, 6);
        assert_int_equal(vt_efivar_decode_bool("\x06\0\0\0\x00", 5, "SetupMode", &v, NULL), 0);
        assert_false(v);
        assert_int_equal(vt_efivar_decode_bool("\x06\0\0\0\x02", 5, "SecureBoot", &v, NULL),
                         -EBADMSG);
        assert_non_null(strstr(vt_error_message(), "value 2, expected 0 or 1"));
        assert_int_equal(vt_efivar_decode_bool("\x06\0\0\0\x01\0", 6, "SecureBoot", &v, NULL),
                         -EBADMSG);
        assert_int_equal(vt_efivar_decode_bool("\x06\0\0\0", 4, "SecureBoot", &v, NULL), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_encode),
            cmocka_unit_test(test_decode),
            cmocka_unit_test(test_decode_garbage),
            cmocka_unit_test(test_roundtrip_and_bad_utf8),
            cmocka_unit_test(test_bool),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
