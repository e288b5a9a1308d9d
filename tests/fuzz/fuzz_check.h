/* The invariant check of the fuzz targets that assert properties of their parser's output.
 *
 * A target records its input with fuzz_input() at the start of LLVMFuzzerTestOneInput; check()
 * then turns a broken invariant into a crash (so libFuzzer keeps the input), printing the line
 * of the invariant and the input. Included by one target per binary: the state is static. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const uint8_t *fuzz_current;
static size_t fuzz_current_size;

static inline void fuzz_input(const uint8_t *data, size_t size)
{
        fuzz_current = data;
        fuzz_current_size = size;
}

#define check(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "%s:%d: invariant failed: %s\ninput: ", __FILE__,          \
                                __LINE__, #cond);                                                  \
                        fwrite(fuzz_current, 1, fuzz_current_size, stderr);                        \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)
