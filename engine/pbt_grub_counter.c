/* GRUB's boot counter on every ESP of proxmox-boot-tool (pbt_grub_counter.h). */
#include "engine/pbt_grub_counter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/boot_preserve.h"
#include "backends/bootloader.h"
#include "backends/esp.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "engine/boot_fs.h"
#include "engine/grubenv_store.h"
#include "engine/last_good.h"

#define GRUB_SUBDIR "grub"

/* The listed ESPs as directories in the root (VT_PBT_ESP_DIR/<UUID>): `dirs` those mounted with
 * a GRUB directory, `missing` the UUIDs of the others. */
typedef struct pbt_esps {
        char **dirs;
        size_t n;
        char **missing;
        size_t n_missing;
} pbt_esps;

static void pbt_esps_free(pbt_esps *l)
{
        vt_paths_free(l->dirs, l->n);
        vt_paths_free(l->missing, l->n_missing);
        *l = (pbt_esps){0};
}

static int esps_read(const vt_root *root, pbt_esps *out)
{
        char **uuids = NULL;
        size_t n = 0;
        int r;

        *out = (pbt_esps){0};
        r = vt_boot_proxmox_uuids(root, &uuids, &n);
        if (r < 0)
                return r;
        out->dirs = calloc(n ? n : 1, sizeof(*out->dirs));
        out->missing = calloc(n ? n : 1, sizeof(*out->missing));
        if (!out->dirs || !out->missing)
                r = vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *dir = NULL, *grub = NULL;

                if (asprintf(&dir, VT_PBT_ESP_DIR "/%s", uuids[i]) < 0 ||
                    asprintf(&grub, "%s/" GRUB_SUBDIR, dir) < 0) {
                        r = vt_error_set(ENOMEM, "out of memory");
                        break;
                }
                r = vt_root_exists(root, grub);
                if (r == -ENOENT || r == -ENOTDIR) {
                        vt_error_clear();
                        r = 0;
                }
                if (r < 0)
                        break;
                if (r > 0) {
                        out->dirs[out->n++] = TAKE_PTR(dir);
                } else if (!(out->missing[out->n_missing++] = strdup(uuids[i])))
                        r = vt_error_set(ENOMEM, "out of memory");
        }
        vt_paths_free(uuids, n);
        if (r < 0)
                pbt_esps_free(out);
        return r;
}

/* esps_read() for a transition, which needs at least one ESP to write. */
static int esps_read_some(const vt_root *root, pbt_esps *out)
{
        int r = esps_read(root, out);

        if (r >= 0 && !out->n) {
                pbt_esps_free(out);
                r = vt_error_hint(
                    vt_error_set(ENOENT,
                                 "none of the ESPs in " VT_PROXMOX_UUIDS " is mounted with a "
                                 "GRUB directory at " VT_PBT_ESP_DIR "/UUID/" GRUB_SUBDIR),
                    "vfiotx mounts them there itself from /dev/disk/by-uuid/UUID; check that "
                    "the disks are present ('proxmox-boot-tool status')");
        }
        return r;
}

static int grubenv_path(const char *esp, char **out)
{
        if (asprintf(out, "%s/" GRUB_SUBDIR "/grubenv", esp) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

/* The grubenv of one ESP: its path in the root and its block. */
static int esp_env_load(const vt_root *root, const char *esp, char **path, vt_grubenv *env)
{
        int r = grubenv_path(esp, path);

        return r < 0 ? r : vt_grubenv_load_at(root, *path, env);
}

static int not_supported(const char *why)
{
        vt_error_set(ENOTSUP, "cannot arm a boot-counted trial on proxmox-boot-tool's GRUB: %s",
                     why);
        return vt_error_hint(ENOTSUP, "apply with --no-arm to change the host without a trial "
                                      "('vfiotx rollback' still undoes it), or fix the cause");
}

/* One ESP: a grubenv GRUB can write, a grub.cfg with the counter, a flush GRUB sees. */
static int check_one(const vt_root *root, const char *esp, const char *sysfs, const char *proc,
                     vt_flush_report *flush)
{
        _cleanup_free_ char *env = NULL, *cfg = NULL, *shown = NULL;
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r = grubenv_path(esp, &env);

        if (r >= 0)
                r = vt_grubenv_check_at(root, env, sysfs, proc);
        if (r < 0)
                return r;
        if (asprintf(&cfg, "%s/" GRUB_SUBDIR "/grub.cfg", esp) < 0 ||
            !(shown = vt_root_display(root, cfg)))
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_read(root, cfg, &text);
        if (r == -ENOENT)
                vt_error_clear();
        if (r == -ENOENT || (r >= 0 && vt_grub_cfg_has_counter(vt_buf_cstr(&text), text.len) < 0)) {
                vt_error_set(ENOTSUP,
                             "cannot arm a boot-counted trial: %s has no vfiotx boot counter "
                             "(nothing from /etc/grub.d/" VT_GRUB_SCRIPT_NAME "): GRUB would "
                             "never count the trial's boots",
                             shown);
                return vt_error_hint(ENOTSUP, "run 'proxmox-boot-tool refresh' (it runs "
                                              "update-grub for every ESP), or apply with "
                                              "--no-arm");
        }
        if (r < 0)
                return r;
        r = vt_boot_fs_flush(root, esp, true, flush);
        if (r >= 0 && flush->method == VT_FLUSH_NONE)
                r = not_supported("the ESP is on a file system no boot loader is known to read");
        return r;
}

int vt_pbt_grub_check(const vt_root *root, const char *sysfs, const char *proc,
                      vt_flush_report *flush)
{
        _cleanup_buf_ vt_buf list = VT_BUF_INIT;
        pbt_esps l;
        int r = esps_read(root, &l);

        if (r < 0)
                return r;
        if (l.n_missing) {
                for (size_t i = 0; i < l.n_missing; i++)
                        vt_buf_printf(&list, "%s%s", i ? ", " : "", l.missing[i]);
                vt_buf_printf(&list, " (no /dev/disk/by-uuid/UUID with a GRUB directory): the "
                                     "firmware could boot the changed files from one without a "
                                     "trial to fall back from; remove what is gone with "
                                     "'proxmox-boot-tool clean'");
                pbt_esps_free(&l);
                vt_error_set(ENOTSUP,
                             "cannot arm a boot-counted trial: proxmox-boot-tool lists ESPs "
                             "that are not there: %s",
                             vt_buf_cstr(&list));
                return vt_error_hint(ENOTSUP, "apply with --no-arm, or fix the ESP list");
        }
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                r = check_one(root, l.dirs[i], sysfs, proc, flush);
        pbt_esps_free(&l);
        return r;
}

typedef enum op {
        OP_ARM,
        OP_MARK_BAD,
        OP_CLEAR,
} op;

static int write_all(const vt_root *root, op what, long txn, unsigned tries, unsigned panic_s)
{
        vt_flush_report rep;
        pbt_esps l;
        int r = esps_read_some(root, &l);

        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                _cleanup_grubenv_ vt_grubenv env = VT_GRUBENV_INIT;
                _cleanup_free_ char *path = NULL;
                vt_bootcount bc;

                r = esp_env_load(root, l.dirs[i], &path, &env);
                if (r < 0)
                        break;
                if (what == OP_ARM) {
                        /* finishing an arming cut short: an ESP armed before keeps its count */
                        if (vt_bootcount_read(&env, &bc) >= 0 && bc.trial == txn &&
                            bc.phase != VT_BOOTCOUNT_NONE)
                                continue;
                        vt_error_clear();
                        r = vt_bootcount_arm(&env, txn, tries, panic_s);
                } else if (what == OP_MARK_BAD)
                        r = vt_bootcount_mark_bad(&env, txn);
                else
                        r = vt_bootcount_clear(&env);
                if (r >= 0)
                        r = vt_failpoint("trial: write an ESP's grubenv");
                if (r >= 0)
                        r = vt_grubenv_store_at(root, path, &env);
                /* each ESP in place before the next: a power cut leaves at most one unknown */
                if (r >= 0)
                        r = vt_boot_fs_flush(root, l.dirs[i], false, &rep);
        }
        pbt_esps_free(&l);
        return r;
}

int vt_pbt_grub_arm(const vt_root *root, long txn, unsigned tries, unsigned panic_s)
{
        return write_all(root, OP_ARM, txn, tries, panic_s);
}

int vt_pbt_grub_mark_bad(const vt_root *root, long txn)
{
        return write_all(root, OP_MARK_BAD, txn, 0, 0);
}

int vt_pbt_grub_clear(const vt_root *root)
{
        return write_all(root, OP_CLEAR, 0, 0, 0);
}

/* Is `a` further along than `b` (GRUB has counted more, or given up)? */
static bool more_advanced(const vt_bootcount *a, const vt_bootcount *b)
{
        if (b->phase == VT_BOOTCOUNT_NONE)
                return a->phase != VT_BOOTCOUNT_NONE;
        if (a->phase == VT_BOOTCOUNT_NONE)
                return false;
        if ((a->phase == VT_BOOTCOUNT_FELL_BACK) != (b->phase == VT_BOOTCOUNT_FELL_BACK))
                return a->phase == VT_BOOTCOUNT_FELL_BACK;
        return a->tries < b->tries;
}

int vt_pbt_grub_read(const vt_root *root, vt_bootcount *out, bool *committed)
{
        vt_bootcount best = {.phase = VT_BOOTCOUNT_NONE, .tries = -1};
        bool all = true;
        pbt_esps l;
        int r = esps_read_some(root, &l);

        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                _cleanup_grubenv_ vt_grubenv env = VT_GRUBENV_INIT;
                _cleanup_free_ char *path = NULL;
                vt_bootcount bc;

                r = esp_env_load(root, l.dirs[i], &path, &env);
                if (r >= 0)
                        r = vt_bootcount_read(&env, &bc);
                if (r < 0)
                        break;
                all &= bc.phase != VT_BOOTCOUNT_NONE;
                if (i == 0 || more_advanced(&bc, &best))
                        best = bc;
        }
        pbt_esps_free(&l);
        if (r < 0)
                return r;
        *out = best;
        if (committed)
                *committed = all;
        return 0;
}

int vt_pbt_grub_preserve(const vt_root *root, const char *proc, long txn)
{
        vt_preserve_plan p = {0};
        vt_flush_report rep;
        pbt_esps l;
        int r = esps_read_some(root, &l);

        if (r >= 0)
                r = vt_boot_preserve_plan(root, proc, txn, &p);
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                r = vt_boot_preserve_for_grub_esp(&p, l.dirs[i]);
                if (r >= 0)
                        r = vt_last_good_write(root, &p);
                if (r >= 0)
                        r = vt_boot_fs_flush(root, l.dirs[i], false, &rep);
        }
        vt_preserve_plan_free(&p);
        pbt_esps_free(&l);
        return r < 0 ? vt_error_wrap(r, "keeping the last good boot on the ESPs") : 0;
}
