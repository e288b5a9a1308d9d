/* Fuzz the sh lexer (backends/sh_lexer.h) on whatever bytes a GRUB defaults file may hold.
 * Invariants checked on every input: each statement moves forward and ends just after a newline
 * or at the end of the text; its tokens lie inside it, in order, without overlap; a word is not
 * empty and an operator is one of ; & | ( ) < > standing for its own byte; a refusal names an
 * offset inside the statement it stopped in, with a reason. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#include "backends/sh_lexer.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        vt_sh_statement st = {0};
        size_t pos = 0;

        fuzz_input(data, size);
        while (pos < size) {
                size_t before = pos, prev_end = pos;
                vt_sh_error err = {0};
                int r = vt_sh_lex_statement(s, size, &pos, &st, &err);

                if (r < 0) {
                        check(r == -EINVAL);
                        check(pos == before);
                        check(err.what && err.off >= before && err.off < size);
                        break;
                }
                check(pos > before && pos <= size);
                check(pos == size || s[pos - 1] == '\n');
                for (size_t i = 0; i < st.n; i++) {
                        const vt_sh_token *t = &st.t[i];

                        check(t->start >= prev_end && t->start < t->end && t->end <= pos);
                        if (t->op)
                                check(t->end == t->start + 1 && s[t->start] == t->op &&
                                      strchr(";&|()<>", t->op));
                        prev_end = t->end;
                }
        }
        vt_sh_statement_free(&st);
        vt_error_clear();
        return 0;
}
