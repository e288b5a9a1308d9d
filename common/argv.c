/* An argv as one readable line (argv.h). */
#include "common/argv.h"

#include <stdbool.h>
#include <string.h>

int vt_argv_format(const char *const *argv, vt_buf *out)
{
        int r = 0;

        vt_buf_clear(out);
        for (size_t i = 0; argv[i] && r >= 0; i++) {
                const char *a = argv[i];
                bool plain = *a != '\0' && strpbrk(a, " \t\n'\"\\$`*?;&|<>()") == NULL;

                if (i)
                        r = vt_buf_putc(out, ' ');
                if (r < 0)
                        break;
                if (plain) {
                        r = vt_buf_puts(out, a);
                        continue;
                }
                r = vt_buf_putc(out, '\'');
                for (const char *p = a; *p && r >= 0; p++)
                        r = *p == '\'' ? vt_buf_puts(out, "'\\''") : vt_buf_putc(out, *p);
                if (r >= 0)
                        r = vt_buf_putc(out, '\'');
        }
        return r;
}
