/* Fuzz the initramfs reader: any bytes as an image (concatenated cpio archives, compressed or
 * not), checked for the vfio modules and vfiotx's modprobe file, and listed. */
#include <stdint.h>
#include <stdlib.h>

#include "backends/initramfs_verify.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const mods[] = {"vfio", "vfio_pci"};
        static const vt_expect_file files[] = {
            {.path = "etc/modprobe.d/vfiotx.conf", .data = "options vfio-pci ids=1:2\n", .len = 25},
            {.path = "etc/modprobe.d/vfiotx-blacklist.conf", .absent = true},
        };
        vt_initramfs_expect exp = {.modules = mods, .n_modules = 2, .files = files, .n_files = 2};
        vt_initramfs_report rep;
        vt_buf list = VT_BUF_INIT;

        if (vt_initramfs_verify_mem(data, size, "fuzz", &exp, &rep) >= 0)
                vt_initramfs_report_free(&rep);
        exp.kver = "6.1.0-26-amd64";
        if (vt_initramfs_verify_mem(data, size, "fuzz", &exp, &rep) >= 0)
                vt_initramfs_report_free(&rep);
        (void)vt_initramfs_list_mem(data, size, "fuzz", &list);
        vt_buf_free(&list);
        vt_error_clear();
        return 0;
}
