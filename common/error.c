#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VT_ERROR_MAX 2048

static _Thread_local char message[VT_ERROR_MAX];
static _Thread_local char hint[VT_ERROR_MAX];
static _Thread_local char where_file[1024];
static _Thread_local unsigned where_line;
static _Thread_local int have_message, have_hint, have_where;

static int neg(int err)
{
        return err > 0 ? -err : (err == 0 ? -5 : err);
}

int vt_error_set(int err, const char *fmt, ...)
{
        char text[VT_ERROR_MAX];
        va_list ap;

        /* Formatted apart first: an argument may be the current message itself
         * ("...; putting the files back failed too: %s", vt_error_message()). */
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        memcpy(message, text, sizeof(message));
        have_message = 1;
        have_hint = 0;
        have_where = 0;
        return neg(err);
}

int vt_error_set_at(int err, const char *file, unsigned line, const char *fmt, ...)
{
        char text[VT_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        vt_error_set(err, "%s:%u: %s", file, line, text);
        snprintf(where_file, sizeof(where_file), "%s", file);
        where_line = line;
        have_where = 1;
        return neg(err);
}

int vt_error_wrap(int err, const char *fmt, ...)
{
        char prefix[VT_ERROR_MAX], old[VT_ERROR_MAX];
        va_list ap;

        snprintf(old, sizeof(old), "%s", have_message ? message : strerror(-neg(err)));
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        /* Truncation is acceptable for an over-long message: it stays a valid string. */
        size_t pl = strnlen(prefix, sizeof(message) - 3);
        memcpy(message, prefix, pl);
        memcpy(message + pl, ": ", 2);
        snprintf(message + pl + 2, sizeof(message) - pl - 2, "%s", old);
        have_message = 1;
        return neg(err);
}

int vt_error_hint(int err, const char *fmt, ...)
{
        char text[VT_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        memcpy(hint, text, sizeof(hint));
        have_hint = 1;
        return neg(err);
}

const char *vt_error_message(void)
{
        return have_message ? message : NULL;
}

const char *vt_error_hint_text(void)
{
        return have_hint ? hint : NULL;
}

const char *vt_error_file(unsigned *line)
{
        if (!have_message || !have_where)
                return NULL;
        if (line)
                *line = where_line;
        return where_file;
}

void vt_error_clear(void)
{
        have_message = have_hint = have_where = 0;
        message[0] = hint[0] = '\0';
}
