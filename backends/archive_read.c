#include "backends/archive_read.h"

#include <errno.h>

int vt_archive_read_data(struct archive *a, vt_buf *out)
{
        char chunk[65536];
        la_ssize_t n;

        vt_buf_clear(out);
        while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
                if (vt_buf_put(out, chunk, (size_t)n) < 0)
                        return -ENOMEM;
        return n < 0 ? -EBADMSG : 0;
}

void vt_archive_read_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}
