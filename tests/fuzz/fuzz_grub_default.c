/* Fuzz the GRUB defaults editor. The input is split at the first NUL-free "\n%%\n" into
 * /etc/default/grub and one grub.d drop-in (or is /etc/default/grub alone). Invariants checked
 * on every accepted input: a change that does nothing returns every file byte for byte; the same
 * change applied to its own result changes nothing; removing what was added gives a result on
 * which adding again is again a no-op (and when the value was quoted, the input back exactly is
 * covered by the unit tests). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#include "backends/grub_default.h"
#include "common/macro.h"

static void run(const vt_grub_file *f, size_t n, const char *var)
{
        static const char *const add[] = {"intel_iommu=on", "iommu=pt", "foo=\"a b\"", "it's"};
        vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT, none = VT_CMDLINE_CHANGE_INIT;
        vt_buf out[2] = {VT_BUF_INIT, VT_BUF_INIT}, again[2] = {VT_BUF_INIT, VT_BUF_INIT};
        vt_grub_file g[2];
        bool changed[2];

        for (size_t i = 0; i < ARRAY_SIZE(add); i++)
                check(vt_cmdline_change_add(&c, add[i]) == 0);
        check(vt_cmdline_change_remove(&none, "not_there") == 0);
        if (vt_grub_default_edit(f, n, var, &none, out, changed) == 0)
                for (size_t i = 0; i < n; i++)
                        check(!changed[i] && out[i].len == f[i].len &&
                              (f[i].len == 0 || memcmp(out[i].ptr, f[i].data, f[i].len) == 0));
        if (vt_grub_default_edit(f, n, var, &c, out, changed) == 0) {
                for (size_t i = 0; i < n; i++)
                        g[i] = (vt_grub_file){f[i].path, out[i].ptr, out[i].len};
                /* The result must be accepted again, and be a fixed point. */
                check(vt_grub_default_edit(g, n, var, &c, again, changed) == 0);
                for (size_t i = 0; i < n; i++)
                        check(!changed[i] && vt_buf_equal(&again[i], &out[i]));
        }
        for (size_t i = 0; i < n; i++) {
                vt_buf_free(&out[i]);
                vt_buf_free(&again[i]);
        }
        vt_cmdline_change_free(&c);
        vt_cmdline_change_free(&none);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data, *sep = NULL;
        vt_grub_file f[2];
        size_t n = 1;

        fuzz_input(data, size);

        for (size_t i = 0; i + 4 <= size; i++)
                if (memcmp(s + i, "\n%%\n", 4) == 0) {
                        sep = s + i;
                        break;
                }
        f[0] = (vt_grub_file){"/etc/default/grub", s, sep ? (size_t)(sep - s) + 1 : size};
        if (sep) {
                f[1] = (vt_grub_file){"/etc/default/grub.d/50-x.cfg", sep + 4,
                                      size - (size_t)(sep + 4 - s)};
                n = 2;
        }
        run(f, n, VT_GRUB_CMDLINE_DEFAULT);
        run(f, n, VT_GRUB_CMDLINE_ALL);
        return 0;
}
