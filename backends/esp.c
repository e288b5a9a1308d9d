#include "backends/esp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootloader.h"
#include "backends/loader_conf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

/* kernel-install 252's search order for BOOT_ROOT. */
static const char *const candidates[] = {"/efi", "/boot", "/boot/efi"};

/* <esp>/<rel> in the root (vt_path_join: an ESP-relative "/x" joins as "x"). */
static int esp_join(const char *esp, const char *rel, char **out)
{
        *out = vt_path_join(esp, rel);
        return *out ? 0 : vt_error_set(ENOMEM, "out of memory");
}

static int read_entries(const vt_root *root, vt_esp *esp, char **names, size_t n)
{
        _cleanup_free_ char *dir = NULL;
        int r = esp_join(esp->path, VT_ESP_ENTRIES, &dir);

        if (r < 0)
                return r;
        esp->entries = calloc(n ? n : 1, sizeof(*esp->entries));
        if (!esp->entries)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                vt_esp_file *f = &esp->entries[esp->n_entries];
                _cleanup_free_ char *path = NULL;

                f->data = (vt_buf)VT_BUF_INIT;
                f->name = strdup(names[i]);
                if (!f->name)
                        return vt_error_set(ENOMEM, "out of memory");
                esp->n_entries++;
                r = esp_join(dir, names[i], &path);
                if (r >= 0)
                        r = vt_root_read(root, path, &f->data);
                if (r < 0)
                        return r;
        }
        return 0;
}

int vt_esp_read(const vt_root *root, vt_esp *out)
{
        char **names = NULL;
        size_t n = 0;
        int r = 0;

        *out = (vt_esp){.loader_conf = VT_BUF_INIT};
        for (size_t i = 0; i < ARRAY_SIZE(candidates) && !out->path; i++) {
                char dir[64];

                snprintf(dir, sizeof(dir), "%s/" VT_ESP_ENTRIES, candidates[i]);
                r = vt_root_exists(root, dir);
                if (r == -ENOENT || r == -ENOTDIR) {
                        vt_error_clear();
                        r = 0;
                }
                if (r < 0)
                        return r;
                if (r > 0) {
                        out->path = strdup(candidates[i]);
                        if (!out->path)
                                return vt_error_set(ENOMEM, "out of memory");
                        r = vt_boot_list_dir(root, dir, ".conf", &names, &n);
                }
        }
        if (r < 0)
                return r;
        if (!out->path)
                return vt_error_set(ENOENT, "no systemd-boot entries in /efi, /boot or /boot/efi "
                                            "(loader/entries)");
        r = read_entries(root, out, names, n);
        vt_paths_free(names, n);
        if (r >= 0) {
                _cleanup_free_ char *path = NULL;

                r = esp_join(out->path, VT_LOADER_CONF_PATH, &path);
                if (r >= 0)
                        r = vt_root_read(root, path, &out->loader_conf);
                if (r == -ENOENT) {
                        vt_error_clear();
                        r = 0;
                }
        }
        return r;
}

void vt_esp_free(vt_esp *esp)
{
        for (size_t i = 0; i < esp->n_entries; i++) {
                free(esp->entries[i].name);
                vt_buf_free(&esp->entries[i].data);
        }
        free(esp->entries);
        free(esp->path);
        vt_buf_free(&esp->loader_conf);
        *esp = (vt_esp){.loader_conf = VT_BUF_INIT};
}

int vt_esp_has_file(const vt_root *root, const vt_esp *esp, const char *path)
{
        _cleanup_free_ char *full = NULL;
        int r = esp_join(esp->path, path, &full);

        if (r >= 0)
                r = vt_root_exists(root, full);
        if (r == -ENOENT || r == -ENOTDIR) {
                vt_error_clear();
                r = 0;
        }
        return r;
}
