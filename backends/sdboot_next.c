#include "backends/sdboot_next.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/bls_entry.h"
#include "backends/efivar.h"
#include "backends/esp.h"
#include "backends/firmware.h"
#include "backends/sdboot_pick.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

/* A loader variable's value, or NULL when it is unset or cannot be read: the loader treats a
 * variable it cannot use as unset too. */
static char *read_var(const char *sysfs, const char *name)
{
        char *value = NULL;

        if (vt_firmware_read_var(sysfs, name, &value) < 0) {
                vt_error_clear();
                return NULL;
        }
        return value;
}

static int strdup_or_null(const char *s, char **out)
{
        *out = NULL;
        if (s && !(*out = strdup(s)))
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

static int pick(const vt_root *root, const char *sysfs, vt_esp *esp, vt_bls_entry *parsed,
                vt_sdboot_input *in, vt_sdboot_next *out)
{
        _cleanup_free_ char *oneshot = read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_ONESHOT);
        _cleanup_free_ char *def = read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT);
        _cleanup_free_ char *last = read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_LAST_BOOTED);
        _cleanup_sdboot_menu_ vt_sdboot_menu p = VT_SDBOOT_MENU_INIT;
        vt_sdboot_vars vars = {oneshot, def, last};
        size_t chosen;
        int r;

        for (size_t i = 0; i < esp->n_entries; i++) {
                const char *img;

                r = vt_bls_entry_parse(esp->entries[i].data.ptr, esp->entries[i].data.len,
                                       esp->entries[i].name, &parsed[i]);
                if (r < 0)
                        return r;
                img = vt_bls_entry_loader(&parsed[i], NULL);
                r = img ? vt_esp_has_file(root, esp, img) : 0;
                if (r < 0)
                        return r;
                in[i] = (vt_sdboot_input){esp->entries[i].name, &parsed[i], r > 0};
        }
        r = vt_sdboot_pick(in, esp->n_entries, esp->loader_conf.ptr, esp->loader_conf.len, &vars,
                           &p);
        if (r < 0)
                return r;
        out->n_listed = p.n;
        out->rule = vt_sdboot_rule_name(p.rule);
        out->tries_left = -1;
        chosen = vt_sdboot_menu_default_input(&p);
        if (chosen == (size_t)-1)
                return 0;
        if (p.sorted[p.default_index].has_counter)
                out->tries_left = p.sorted[p.default_index].left > 9
                                      ? 9 /* 252 reads one digit (backends/bls_entry.h) */
                                      : (int)p.sorted[p.default_index].left;
        r = strdup_or_null(esp->entries[chosen].name, &out->entry);
        if (r >= 0)
                r = strdup_or_null(vt_bls_entry_title(&parsed[chosen]), &out->title);
        if (r >= 0)
                r = strdup_or_null(p.pattern, &out->pattern);
        return r;
}

/* Of several ESPs (proxmox-boot-tool's), the one the loader started from on this boot, which
 * the firmware boots again: LoaderDevicePartUUID names the GPT partition, whose
 * /dev/disk/by-partuuid node is the device the ESP is mounted from. Else the first. */
static size_t booted_esp(const vt_root *root, const char *sysfs, const vt_esp_list *l)
{
        _cleanup_free_ char *part =
            l->n > 1 ? read_var(sysfs, VT_EFIVAR_LOADER_DEVICE_PART_UUID) : NULL;
        char dev[160];
        struct stat ds;

        if (!part)
                return 0;
        for (char *c = part; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        snprintf(dev, sizeof(dev), "/dev/disk/by-partuuid/%s", part);
        if (stat(dev, &ds) < 0 || !S_ISBLK(ds.st_mode))
                return 0;
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *rel = NULL, *path = NULL;
                struct stat es;

                if (vt_root_resolve(root, l->esps[i].path, false, &rel) < 0) {
                        vt_error_clear();
                        continue;
                }
                if (asprintf(&path, "%s/%s", root->path, rel) < 0)
                        return 0;
                if (stat(path, &es) == 0 && es.st_dev == ds.st_rdev)
                        return i;
        }
        return 0;
}

int vt_sdboot_next_probe(const vt_root *root, const char *sysfs, vt_sdboot_next *out)
{
        vt_esp_list l;
        vt_esp *esp = NULL;
        vt_bls_entry *parsed = NULL;
        vt_sdboot_input *in = NULL;
        int r;

        *out = (vt_sdboot_next){.tries_left = -1};
        r = vt_esp_read_all(root, &l);
        if (r >= 0) {
                esp = &l.esps[booted_esp(root, sysfs, &l)];
                parsed = calloc(esp->n_entries + 1, sizeof(*parsed));
                in = calloc(esp->n_entries + 1, sizeof(*in));
                if (!parsed || !in)
                        r = vt_error_set(ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = strdup_or_null(esp->path, &out->esp);
        if (r >= 0)
                r = pick(root, sysfs, esp, parsed, in, out);
        for (size_t i = 0; parsed && i < esp->n_entries; i++)
                vt_bls_entry_free(&parsed[i]);
        free(parsed);
        free(in);
        vt_esp_list_free(&l);
        return r;
}

void vt_sdboot_next_free(vt_sdboot_next *n)
{
        free(n->esp);
        free(n->entry);
        free(n->title);
        free(n->pattern);
        *n = (vt_sdboot_next){.tries_left = -1};
}
