/* Fuzz the modprobe.d parser and the conflict check on whatever bytes a user file may hold.
 * The input is split at the first NUL into two files (an /etc and a /lib one with the same
 * name, then with different names) so the precedence rules run too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/modprobe_conf.h"
#include "common/error.h"

static vt_pci_device dev = {
    .bdf = "0000:00:02.0",
    .vendor = 0x8086,
    .device = 0x3e92,
    .class_code = 0x038000,
    .driver = "i915",
    .modalias = "pci:v00008086d00003E92sv00001458sd0000D000bc03sc80i00\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        const char *nul = memchr(text, '\0', size);
        size_t first = nul ? (size_t)(nul - text) : size;
        const vt_pci_device *set[] = {&dev};
        vt_conf_file files[2] = {
            {"/etc/modprobe.d/user.conf", text, first},
            {"/lib/modprobe.d/user.conf", nul ? nul + 1 : "", nul ? size - first - 1 : 0},
        };

        for (int pass = 0; pass < 2; pass++) {
                vt_modprobe_config cfg = {0};

                if (vt_modprobe_load(files, 2, &cfg) == 0)
                        for (int m = 0; m < _VT_BIND_MAX; m++)
                                vt_modprobe_conflicts(&cfg, set, 1, m);
                for (size_t i = 0; i < cfg.n; i++)
                        if (!cfg.items[i].path || !cfg.items[i].name || !cfg.items[i].text ||
                            cfg.items[i].line == 0)
                                abort();
                vt_modprobe_config_free(&cfg);
                files[1].path = "/lib/modprobe.d/distro.conf";
        }
        vt_error_clear();
        return 0;
}
