/* Fuzz the Boot Loader Specification entry parser, the counter names and the loader.conf and
 * systemd-boot choice models. Invariants: an accepted entry formats back to the identical bytes;
 * setting a key and reading it back gives the value; the first bytes as a file name either parse
 * or are refused, and a parsed name with a counter makes the same name again; the model of
 * systemd-boot's choice picks an entry it listed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#include "backends/bls_entry.h"
#include "backends/loader_conf.h"
#include "backends/sdboot_pick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        vt_bls_entry e = VT_BLS_ENTRY_INIT;
        vt_loader_conf conf = VT_LOADER_CONF_INIT;
        vt_buf out = VT_BUF_INIT;
        char name[64];
        size_t nlen = size < 40 ? size : 40;

        fuzz_input(data, size);

        if (vt_bls_entry_parse(data, size, "fuzz", &e) == 0) {
                vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
                vt_sdboot_input in = {"fuzz-1.0.conf", &e, true};
                vt_sdboot_vars vars = {NULL, "fuzz-*", NULL};

                check(vt_bls_entry_format(&e, &out) == 0);
                check(out.len == size && (size == 0 || memcmp(out.ptr, data, size) == 0));
                if (vt_sdboot_pick(&in, 1, data, size, &vars, &m) == 0)
                        check(m.rule == VT_SDBOOT_RULE_NONE ||
                              (m.n == 1 && vt_sdboot_menu_default_input(&m) == 0));
                vt_sdboot_menu_free(&m);
                check(vt_bls_entry_set(&e, "options", "root=/dev/sda1 ro") == 0);
                check(strcmp(vt_bls_entry_get(&e, "options"), "root=/dev/sda1 ro") == 0);
        }
        vt_bls_entry_free(&e);
        vt_buf_free(&out);
        if (vt_loader_conf_parse(data, size, &conf) == 0)
                vt_loader_conf_free(&conf);

        memcpy(name, data, nlen);
        name[nlen] = '\0';
        if (strlen(name) + 6 < sizeof(name)) {
                vt_bls_name n = {NULL, false, 0, 0};
                char *again = NULL;

                strcat(name, ".conf");
                if (vt_bls_name_parse(name, &n) == 0 && n.has_counter && *n.stem &&
                    !strchr(n.stem, '/') && n.left < 10 && n.done < 10 &&
                    vt_bls_name_make(n.stem, true, n.left, n.done, &again) == 0) {
                        vt_bls_name m = {NULL, false, 0, 0};

                        check(vt_bls_name_parse(again, &m) == 0);
                        check(m.has_counter && m.left == n.left && m.done == n.done &&
                              strcmp(m.stem, n.stem) == 0);
                        vt_bls_name_free(&m);
                }
                free(again);
                vt_bls_name_free(&n);
        }
        return 0;
}
