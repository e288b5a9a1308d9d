/* Fuzz the managed-block editors (initramfs-tools modules, mkinitcpio.conf) and check their
 * promise: on a file without vfiotx markers, adding the block and then releasing it gives back
 * the input byte-for-byte, and a second edit changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/early_modules.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*editor)(const vt_buf *cur, const char *const *mods, size_t n, vt_file_out *out);

static void check(editor ed, const vt_buf *in, bool pristine)
{
        static const char *const mods[] = {"vfio", "vfio_iommu_type1", "vfio_pci"};
        vt_file_out once = {0}, twice = {0}, back = {0};

        if (ed(in, mods, 3, &once) == 0 && once.present) {
                if (ed(&once.data, mods, 3, &twice) != 0 || vt_file_out_changed(&twice, &once.data))
                        abort();
                if (ed(&once.data, NULL, 0, &back) != 0)
                        abort();
                if (pristine && vt_file_out_changed(&back, in))
                        abort();
        }
        vt_file_out_free(&once);
        vt_file_out_free(&twice);
        vt_file_out_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vt_buf in = VT_BUF_INIT;
        bool pristine;

        if (vt_buf_put(&in, data, size) < 0)
                return 0;
        pristine =
            !memmem(data, size, "# >>> vfiotx", 12) && !memmem(data, size, "# <<< vfiotx", 12);
        check(vt_initramfs_tools_modules_edit, &in, pristine);
        check(vt_mkinitcpio_conf_edit, &in, pristine);
        vt_buf_free(&in);
        vt_error_clear();
        return 0;
}
