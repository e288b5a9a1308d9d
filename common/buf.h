/* A growable byte buffer, always NUL-terminated after its `len` bytes (the NUL is not counted),
 * so text helpers can use it as a C string while binary content keeps its exact length.
 *
 * Contract: a zeroed vt_buf (VT_BUF_INIT) is empty and valid; every function returns 0 or
 * -ENOMEM and leaves the buffer valid on failure; vt_buf_free() may be called on any state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct vt_buf {
        char *ptr;
        size_t len;
        size_t cap;
} vt_buf;

#define VT_BUF_INIT                                                                                \
        {                                                                                          \
                NULL, 0, 0                                                                         \
        }

int vt_buf_grow(vt_buf *b, size_t extra);
int vt_buf_put(vt_buf *b, const void *data, size_t len);
int vt_buf_puts(vt_buf *b, const char *s);
int vt_buf_putc(vt_buf *b, char c);
int vt_buf_printf(vt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vt_buf_set(vt_buf *b, const void *data, size_t len);
void vt_buf_clear(vt_buf *b);
void vt_buf_free(vt_buf *b);
/* Give the bytes to the caller (free() them); the buffer becomes empty. Never NULL on success. */
char *vt_buf_detach(vt_buf *b);
bool vt_buf_equal(const vt_buf *a, const vt_buf *b);
/* The buffer's text, "" when empty: never NULL. */
const char *vt_buf_cstr(const vt_buf *b);

static inline void vt_buf_freep(vt_buf *b)
{
        vt_buf_free(b);
}
#define _cleanup_buf_ __attribute__((cleanup(vt_buf_freep)))
