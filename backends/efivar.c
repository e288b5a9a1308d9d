/* efivarfs payloads: string variables (UTF-16LE) and 1-byte booleans (efivar.h). */
#include "backends/efivar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

static uint32_t get_le32(const unsigned char *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int put_u16le(vt_buf *b, uint32_t u)
{
        char two[2] = {(char)(u & 0xff), (char)(u >> 8)};

        return vt_buf_put(b, two, 2);
}

/* One UTF-8 character at *s: its code point, or -1 when the bytes are not valid UTF-8
 * (overlong forms, surrogates and values above U+10FFFF included). */
static int32_t utf8_next(const unsigned char **s)
{
        const unsigned char *p = *s;
        uint32_t c = p[0], min;
        size_t n;

        if (c < 0x80)
                n = 0, min = 0;
        else if ((c & 0xe0) == 0xc0)
                n = 1, c &= 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
                n = 2, c &= 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
                n = 3, c &= 0x07, min = 0x10000;
        else
                return -1;
        for (size_t i = 1; i <= n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return -1;
                c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return -1;
        *s += 1 + n;
        return (int32_t)c;
}

int vt_efivar_encode_string(const char *value, uint32_t attrs, vt_buf *out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        const unsigned char *s = (const unsigned char *)value;
        char a[4] = {(char)(attrs & 0xff), (char)((attrs >> 8) & 0xff),
                     (char)((attrs >> 16) & 0xff), (char)(attrs >> 24)};

        if (!value)
                return vt_error_set(EINVAL, "no value for the EFI variable");
        if (vt_buf_put(&b, a, 4) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        while (*s) {
                int32_t c = utf8_next(&s);
                int r;

                if (c < 0)
                        return vt_error_set(EINVAL,
                                            "'%s' is not valid UTF-8: it cannot be stored in an "
                                            "EFI variable",
                                            value);
                if (c >= 0x10000) {
                        c -= 0x10000;
                        r = put_u16le(&b, 0xd800u + ((uint32_t)c >> 10));
                        if (r >= 0)
                                r = put_u16le(&b, 0xdc00u + ((uint32_t)c & 0x3ff));
                } else
                        r = put_u16le(&b, (uint32_t)c);
                if (r < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        if (put_u16le(&b, 0) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        vt_buf_free(out);
        *out = b;
        b = (vt_buf)VT_BUF_INIT;
        return 0;
}

static int put_utf8(vt_buf *b, uint32_t c)
{
        char u[4];
        size_t n;

        if (c < 0x80)
                u[0] = (char)c, n = 1;
        else if (c < 0x800)
                u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), n = 2;
        else if (c < 0x10000)
                u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
                u[2] = (char)(0x80 | (c & 0x3f)), n = 3;
        else
                u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
                u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), n = 4;
        return vt_buf_put(b, u, n);
}

int vt_efivar_decode_string(const void *data, size_t len, const char *name, char **value,
                            uint32_t *attrs)
{
        const unsigned char *p = data;
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        size_t units;

        if (len < 4)
                return vt_error_set(EBADMSG,
                                    "EFI variable %s: %zu bytes, shorter than its 4-byte "
                                    "attributes",
                                    name, len);
        if ((len - 4) % 2 != 0)
                return vt_error_set(EBADMSG,
                                    "EFI variable %s: %zu data bytes, not UTF-16 (an odd "
                                    "number)",
                                    name, len - 4);
        units = (len - 4) / 2;
        /* One terminating NUL character is what systemd writes; it may be missing. */
        if (units > 0 && p[4 + 2 * (units - 1)] == 0 && p[4 + 2 * (units - 1) + 1] == 0)
                units--;
        for (size_t i = 0; i < units; i++) {
                const unsigned char *u = p + 4 + 2 * i;
                uint32_t c = (uint32_t)u[0] | (uint32_t)u[1] << 8;

                if (c == 0)
                        return vt_error_set(EBADMSG,
                                            "EFI variable %s: a NUL character at position %zu "
                                            "inside the string",
                                            name, i);
                if (c >= 0xdc00 && c <= 0xdfff)
                        return vt_error_set(EBADMSG,
                                            "EFI variable %s: an unpaired UTF-16 low surrogate "
                                            "(0x%04x) at position %zu",
                                            name, (unsigned)c, i);
                if (c >= 0xd800 && c <= 0xdbff) {
                        uint32_t lo = 0;

                        if (i + 1 < units)
                                lo = (uint32_t)u[2] | (uint32_t)u[3] << 8;
                        if (lo < 0xdc00 || lo > 0xdfff)
                                return vt_error_set(EBADMSG,
                                                    "EFI variable %s: an unpaired UTF-16 high "
                                                    "surrogate (0x%04x) at position %zu",
                                                    name, (unsigned)c, i);
                        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                        i++;
                }
                if (put_utf8(&b, c) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        if (attrs)
                *attrs = get_le32(p);
        *value = vt_buf_detach(&b);
        return *value ? 0 : vt_error_set(ENOMEM, "out of memory");
}

int vt_efivar_decode_bool(const void *data, size_t len, const char *name, bool *value,
                          uint32_t *attrs)
{
        const unsigned char *p = data;

        if (len != 5)
                return vt_error_set(EBADMSG,
                                    "EFI variable %s: %zu bytes; expected 4 attribute bytes and "
                                    "one data byte",
                                    name, len);
        if (p[4] > 1)
                return vt_error_set(EBADMSG, "EFI variable %s: value %u, expected 0 or 1", name,
                                    (unsigned)p[4]);
        if (attrs)
                *attrs = get_le32(p);
        *value = p[4] == 1;
        return 0;
}
