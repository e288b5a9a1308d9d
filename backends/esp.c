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

/* The entries and loader.conf of the ESP at `path` (which holds loader/entries). */
static int read_at(const vt_root *root, const char *path, vt_esp *out)
{
        _cleanup_free_ char *dir = NULL, *conf = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        *out = (vt_esp){.loader_conf = VT_BUF_INIT};
        out->path = strdup(path);
        if (!out->path)
                return vt_error_set(ENOMEM, "out of memory");
        r = esp_join(path, VT_ESP_ENTRIES, &dir);
        if (r >= 0)
                r = vt_boot_list_dir(root, dir, ".conf", &names, &n);
        if (r >= 0)
                r = read_entries(root, out, names, n);
        vt_paths_free(names, n);
        if (r >= 0)
                r = esp_join(path, VT_LOADER_CONF_PATH, &conf);
        if (r >= 0)
                r = vt_root_read(root, conf, &out->loader_conf);
        if (r == -ENOENT) {
                vt_error_clear();
                r = 0;
        }
        return r;
}

/* 1 when `dir` holds loader/entries, 0 when not, or -errno. */
static int holds_entries(const vt_root *root, const char *dir)
{
        _cleanup_free_ char *path = NULL;
        int r = esp_join(dir, VT_ESP_ENTRIES, &path);

        if (r >= 0)
                r = vt_root_exists(root, path);
        if (r == -ENOENT || r == -ENOTDIR) {
                vt_error_clear();
                r = 0;
        }
        return r;
}

int vt_esp_read_all(const vt_root *root, vt_esp_list *out)
{
        _cleanup_free_ char *shown = NULL;
        char **uuids = NULL;
        size_t n = 0;
        int r;

        *out = (vt_esp_list){0};
        r = vt_boot_proxmox_uuids(root, &uuids, &n);
        if (r < 0)
                return r;
        if (!n) {
                out->esps = calloc(1, sizeof(*out->esps));
                if (!out->esps)
                        return vt_error_set(ENOMEM, "out of memory");
                r = vt_esp_read(root, &out->esps[0]);
                out->n = 1;
                return r;
        }
        out->esps = calloc(n, sizeof(*out->esps));
        out->missing = calloc(n, sizeof(*out->missing));
        if (!out->esps || !out->missing)
                r = vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, VT_PBT_ESP_DIR "/%s", uuids[i]) < 0) {
                        r = vt_error_set(ENOMEM, "out of memory");
                        break;
                }
                r = holds_entries(root, dir);
                if (r == 0) {
                        out->missing[out->n_missing] = strdup(uuids[i]);
                        if (!out->missing[out->n_missing++])
                                r = vt_error_set(ENOMEM, "out of memory");
                } else if (r > 0) {
                        r = read_at(root, dir, &out->esps[out->n++]);
                }
        }
        if (r >= 0 && !out->n) {
                vt_buf list = VT_BUF_INIT;

                for (size_t i = 0; i < n; i++)
                        vt_buf_printf(&list, "%s%s", i ? ", " : "", uuids[i]);
                r = vt_error_set(ENOENT,
                                 "none of the ESPs in " VT_PROXMOX_UUIDS " (%s) is mounted with "
                                 "systemd-boot entries at " VT_PBT_ESP_DIR "/UUID",
                                 vt_buf_cstr(&list));
                vt_buf_free(&list);
                r = vt_error_hint(ENOENT, "vfiotx mounts them there itself from "
                                          "/dev/disk/by-uuid/UUID; check that the disks are "
                                          "present ('proxmox-boot-tool status')");
        }
        vt_paths_free(uuids, n);
        return r;
}

void vt_esp_list_free(vt_esp_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                vt_esp_free(&l->esps[i]);
        free(l->esps);
        vt_paths_free(l->missing, l->n_missing);
        *l = (vt_esp_list){0};
}

int vt_esp_read(const vt_root *root, vt_esp *out)
{
        vt_esp_list all;
        char **uuids = NULL;
        size_t n = 0;
        int r;

        *out = (vt_esp){.loader_conf = VT_BUF_INIT};
        r = vt_boot_proxmox_uuids(root, &uuids, &n);
        vt_paths_free(uuids, n);
        if (r < 0)
                return r;
        /* proxmox-boot-tool's ESPs are the ones the firmware boots; their copies are alike,
         * so the first one stands for them. */
        if (n) {
                r = vt_esp_read_all(root, &all);
                if (r >= 0) {
                        *out = all.esps[0];
                        all.esps[0] = (vt_esp){.loader_conf = VT_BUF_INIT};
                }
                vt_esp_list_free(&all);
                return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
                r = holds_entries(root, candidates[i]);
                if (r != 0)
                        return r < 0 ? r : read_at(root, candidates[i], out);
        }
        return vt_error_set(ENOENT, "no systemd-boot entries in /efi, /boot or /boot/efi "
                                    "(loader/entries)");
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
