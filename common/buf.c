#include "common/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vt_buf_grow(vt_buf *b, size_t extra)
{
        size_t need, cap;
        char *p;

        if (extra > SIZE_MAX - b->len - 1)
                return -ENOMEM;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        p = realloc(b->ptr, cap);
        if (!p)
                return -ENOMEM;
        b->ptr = p;
        b->cap = cap;
        return 0;
}

int vt_buf_put(vt_buf *b, const void *data, size_t len)
{
        int r = vt_buf_grow(b, len);

        if (r < 0)
                return r;
        if (len)
                memcpy(b->ptr + b->len, data, len);
        b->len += len;
        b->ptr[b->len] = '\0';
        return 0;
}

int vt_buf_puts(vt_buf *b, const char *s)
{
        return vt_buf_put(b, s, strlen(s));
}

int vt_buf_putc(vt_buf *b, char c)
{
        return vt_buf_put(b, &c, 1);
}

int vt_buf_printf(vt_buf *b, const char *fmt, ...)
{
        va_list ap, ap2;
        int n, r;

        va_start(ap, fmt);
        va_copy(ap2, ap);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                va_end(ap2);
                return -EINVAL;
        }
        r = vt_buf_grow(b, (size_t)n);
        if (r < 0) {
                va_end(ap2);
                return r;
        }
        vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap2);
        va_end(ap2);
        b->len += (size_t)n;
        return 0;
}

int vt_buf_set(vt_buf *b, const void *data, size_t len)
{
        vt_buf_clear(b);
        return vt_buf_put(b, data, len);
}

void vt_buf_clear(vt_buf *b)
{
        b->len = 0;
        if (b->ptr)
                b->ptr[0] = '\0';
}

void vt_buf_free(vt_buf *b)
{
        free(b->ptr);
        b->ptr = NULL;
        b->len = b->cap = 0;
}

char *vt_buf_detach(vt_buf *b)
{
        char *p;

        if (!b->ptr && vt_buf_grow(b, 0) < 0)
                return NULL;
        b->ptr[b->len] = '\0';
        p = b->ptr;
        b->ptr = NULL;
        b->len = b->cap = 0;
        return p;
}

bool vt_buf_equal(const vt_buf *a, const vt_buf *b)
{
        return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

const char *vt_buf_cstr(const vt_buf *b)
{
        return b->ptr ? b->ptr : "";
}
