/* systemd-boot's loader/loader.conf, the two settings vfiotx needs: `default` and `timeout`.
 * Pure; vfiotx never writes loader.conf (proxmox-boot-tool rewrites it on every refresh, and
 * the LoaderEntryDefault EFI variable outranks it anyway).
 *
 * Read as systemd-boot 252 reads it (config_defaults_load_from_file() in src/boot/efi/boot.c):
 * lines as in Boot Loader entries (backends/bls_entry.h, vt_bls_line_split), reading stops at a
 * NUL byte (the loader reads the file as a C string), the last valid line of a key wins:
 *   default  a glob pattern matched against entry ids (backends/sdboot_pick.h); "@saved" means
 *            LoaderEntryLastBooted; any other value starting with '@' is ignored (the loader
 *            logs "Unsupported special entry identifier" and keeps the earlier value);
 *   timeout  "menu-force", "menu-hidden", or a number: gnu-efi's Atoi() (leading spaces, then
 *            the leading decimal digits, 0 when there are none; "3s" is 3, "abc" is 0), capped
 *            at UINT32_MAX. 0 is the same as menu-hidden and UINT32_MAX as menu-force, as in
 *            the loader.
 * Other keys are ignored.
 *
 * Contract: 0 or -ENOMEM (common/error.h); never fails on content: the loader accepts any. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_LOADER_CONF_PATH "/loader/loader.conf" /* relative to the ESP */

#define VT_LOADER_TIMEOUT_MENU_HIDDEN 0u
#define VT_LOADER_TIMEOUT_MENU_FORCE  UINT32_MAX
#define VT_LOADER_DEFAULT_SAVED       "@saved"

typedef struct vt_loader_conf {
        char *default_entry; /* the `default` pattern (or "@saved"); NULL when none */
        bool timeout_set;    /* a `timeout` line was read */
        uint32_t timeout;    /* seconds, or one of the VT_LOADER_TIMEOUT_* values */
} vt_loader_conf;

#define VT_LOADER_CONF_INIT                                                                        \
        {                                                                                          \
                NULL, false, 0                                                                     \
        }

int vt_loader_conf_parse(const void *data, size_t len, vt_loader_conf *out);
void vt_loader_conf_free(vt_loader_conf *c);

static inline void vt_loader_conf_freep(vt_loader_conf *c)
{
        vt_loader_conf_free(c);
}
#define _cleanup_loader_conf_ __attribute__((cleanup(vt_loader_conf_freep)))
