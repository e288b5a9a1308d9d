/* Fuzz the /etc/kernel/cmdline editor and the word model under it. Invariants: a change that
 * does nothing returns the bytes unchanged; applying a change twice equals applying it once;
 * removing what was added restores the input exactly, whenever the input was accepted and did
 * not already hold any of the parameters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#include "backends/kernel_cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const add[] = {"intel_iommu=on", "iommu=pt", "video=efifb:off",
                                          "foo=\"a b\""};
        static const char *const names[] = {"intel_iommu", "iommu", "video", "foo"};
        const char *s = (const char *)data;
        vt_cmdline_change c = VT_CMDLINE_CHANGE_INIT, undo = VT_CMDLINE_CHANGE_INIT,
                          none = VT_CMDLINE_CHANGE_INIT;
        vt_buf out = VT_BUF_INIT, again = VT_BUF_INIT, back = VT_BUF_INIT;
        vt_cmdline_words w = {NULL, 0, 0, false};
        bool changed, fresh = true;

        fuzz_input(data, size);

        for (size_t i = 0; i < 4; i++) {
                check(vt_cmdline_change_add(&c, add[i]) == 0);
                check(vt_cmdline_change_remove(&undo, add[i]) == 0);
        }
        check(vt_cmdline_change_remove(&none, "not_there") == 0);

        if (vt_kernel_cmdline_edit("/etc/kernel/cmdline", s, size, &none, &out, &changed) == 0)
                check(!changed && out.len == size && (size == 0 || memcmp(out.ptr, s, size) == 0));
        if (vt_kernel_cmdline_edit("/etc/kernel/cmdline", s, size, &c, &out, &changed) == 0) {
                check(vt_kernel_cmdline_edit("/etc/kernel/cmdline", out.ptr, out.len, &c, &again,
                                             &changed) == 0);
                check(!changed && vt_buf_equal(&again, &out));
                check(vt_cmdline_split(s, size, &w) == 0);
                for (size_t i = 0; i < w.n; i++)
                        for (size_t k = 0; k < 4; k++)
                                if (vt_cmdline_name_eq(w.items[i].name, names[k]))
                                        fresh = false;
                /* A "--" or an unbalanced quote swallows what follows: not a fresh line. */
                for (size_t i = 0; i < size; i++)
                        if (s[i] == '"' || s[i] == '-')
                                fresh = false;
                if (fresh) {
                        check(vt_kernel_cmdline_edit("/etc/kernel/cmdline", out.ptr, out.len, &undo,
                                                     &back, &changed) == 0);
                        check(back.len == size && (size == 0 || memcmp(back.ptr, s, size) == 0));
                }
        }
        vt_cmdline_words_free(&w);
        vt_buf_free(&out);
        vt_buf_free(&again);
        vt_buf_free(&back);
        vt_cmdline_change_free(&c);
        vt_cmdline_change_free(&undo);
        vt_cmdline_change_free(&none);
        return 0;
}
