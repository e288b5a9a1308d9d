#include "backends/kernel_cmdline.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

int vt_kernel_cmdline_edit(const char *path, const char *data, size_t len,
                           const vt_cmdline_change *change, vt_buf *out, bool *changed)
{
        _cleanup_buf_ vt_buf line = VT_BUF_INIT;
        size_t body = len;
        const char *nl;
        int r;

        if (len && data[len - 1] == '\n')
                body--;
        nl = body ? memchr(data, '\n', body) : NULL;
        if (nl)
                return vt_error_hint(
                    vt_error_set(EINVAL,
                                 "%s:2: a second line; the kernel command line must be one line",
                                 path),
                    "join the lines of %s into one and run vfiotx again", path);
        if (body && memchr(data, '\0', body))
                return vt_error_set(EINVAL, "%s:1: a NUL byte in the kernel command line", path);

        r = vt_cmdline_apply(data, body, change, &line, NULL);
        if (r < 0)
                return vt_error_wrap(r, "%s", path);
        if (body < len) {
                r = vt_buf_putc(&line, '\n');
                if (r < 0)
                        return vt_error_set(r, "out of memory");
        }
        if (changed)
                *changed = line.len != len || (len && memcmp(line.ptr, data, len) != 0);
        vt_buf_free(out);
        *out = line;
        line = (vt_buf)VT_BUF_INIT;
        return 0;
}
