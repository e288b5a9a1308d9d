/* Small helpers shared by every module: cleanup attributes, array sizes, ownership transfer.
 *
 * Contract: nothing here allocates; every cleanup helper accepts a NULL / -1 value so that a
 * variable declared with a cleanup attribute may be initialised empty and filled later. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)  __attribute__((cleanup(f)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _unused_      __attribute__((unused))

static inline void vt_freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(vt_freep)

static inline void vt_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(vt_closep)

static inline void vt_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(vt_fclosep)

/* Hand a pointer or fd out of a scope whose cleanup would otherwise release it. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -1;                                                                         \
                _fd;                                                                               \
        })

static inline int vt_negerrno(int e)
{
        return e > 0 ? -e : (e < 0 ? e : -5 /* EIO: errno was not set */);
}
