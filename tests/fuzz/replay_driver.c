/* Replays a fuzz target's seed corpus, then a fixed, seeded series of mutations of each seed, so
 * that every parser's fuzz entry point runs under ASan/UBSan in ctest without libFuzzer.
 * Usage: replay_fuzz_X CORPUS_DIR [MUTATIONS_PER_SEED] */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static void mutate(uint8_t *p, size_t *len, size_t cap)
{
        static const char tokens[] = "\"'\\$#=\n\r\t ;`{}()*,:.-";
        int k = (int)(next() % 4);

        if (*len == 0 || k == 0) {
                if (*len < cap)
                        p[(*len)++] = (uint8_t)tokens[next() % (sizeof(tokens) - 1)];
        } else if (k == 1) {
                p[next() % *len] = (uint8_t)next();
        } else if (k == 2) {
                *len = next() % (*len + 1);
        } else {
                size_t at = next() % *len;
                p[at] = (uint8_t)tokens[next() % (sizeof(tokens) - 1)];
        }
}

int main(int argc, char **argv)
{
        unsigned mutations = argc > 2 ? (unsigned)atoi(argv[2]) : 3000;
        unsigned seeds = 0;
        struct dirent *de;
        DIR *d;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
                return 2;
        }
        d = opendir(argv[1]);
        if (!d) {
                perror(argv[1]);
                return 1;
        }
        while ((de = readdir(d))) {
                vt_buf b = VT_BUF_INIT;
                char *path;
                uint8_t *work;
                size_t cap;

                if (de->d_name[0] == '.')
                        continue;
                path = vt_path_join(argv[1], de->d_name);
                if (!path || vt_read_file(path, &b) < 0) {
                        fprintf(stderr, "cannot read %s\n", path ? path : de->d_name);
                        return 1;
                }
                LLVMFuzzerTestOneInput((const uint8_t *)vt_buf_cstr(&b), b.len);
                cap = b.len + 64;
                work = malloc(cap);
                for (unsigned i = 0; i < mutations; i++) {
                        size_t len = b.len;

                        memcpy(work, vt_buf_cstr(&b), b.len);
                        for (unsigned m = 0; m < 1 + next() % 8; m++)
                                mutate(work, &len, cap);
                        LLVMFuzzerTestOneInput(work, len);
                }
                free(work);
                free(path);
                vt_buf_free(&b);
                seeds++;
        }
        closedir(d);
        if (seeds == 0) {
                fprintf(stderr, "no seeds in %s\n", argv[1]);
                return 1;
        }
        printf("%u seeds, %u mutations each: no crash\n", seeds, mutations);
        return 0;
}
