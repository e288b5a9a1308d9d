#include "journal/oid.h"

#include <errno.h>
#include <string.h>

bool vt_oid_equal(const vt_oid *a, const vt_oid *b)
{
        return memcmp(a->id, b->id, VT_OID_RAWSZ) == 0;
}

bool vt_oid_is_zero(const vt_oid *o)
{
        static const vt_oid zero;

        return vt_oid_equal(o, &zero);
}

char *vt_oid_tostr(const vt_oid *o, char buf[VT_OID_HEXSZ + 1])
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < VT_OID_RAWSZ; i++) {
                buf[2 * i] = hex[o->id[i] >> 4];
                buf[2 * i + 1] = hex[o->id[i] & 0xf];
        }
        buf[VT_OID_HEXSZ] = '\0';
        return buf;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int vt_oid_fromstr(vt_oid *out, const char *s)
{
        vt_oid o;

        if (!s || strlen(s) != VT_OID_HEXSZ)
                return -EINVAL;
        for (size_t i = 0; i < VT_OID_RAWSZ; i++) {
                int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                o.id[i] = (unsigned char)(hi << 4 | lo);
        }
        *out = o;
        return 0;
}
