#include "engine/sdboot_counter.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "backends/bls_entry.h"
#include "backends/boot_preserve.h"
#include "backends/bootcount_sdboot.h"
#include "backends/bootloader.h"
#include "backends/efivar.h"
#include "backends/esp.h"
#include "backends/firmware.h"
#include "backends/sdboot_pick.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "engine/boot_fs.h"
#include "engine/efivars_store.h"
#include "engine/last_good.h"
#include "fs/atomic_file.h"

static int entry_path(const vt_esp *esp, const char *file, char **out)
{
        if (asprintf(out, "%s/" VT_ESP_ENTRIES "/%s", esp->path, file) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        return 0;
}

static int flush_esp(const vt_root *root, const vt_esp *esp)
{
        vt_flush_report rep;

        return vt_boot_fs_flush(root, esp->path, false, &rep);
}

static const vt_esp_file *find_file(const vt_esp *esp, const char *name)
{
        for (size_t i = 0; i < esp->n_entries; i++)
                if (strcmp(esp->entries[i].name, name) == 0)
                        return &esp->entries[i];
        return NULL;
}

/* The entry names of every ESP, in one list (NULL-terminated; the names stay the ESPs'). */
static int names_of(const vt_esp_list *l, char ***names, size_t *n)
{
        size_t total = 0;

        for (size_t e = 0; e < l->n; e++)
                total += l->esps[e].n_entries;
        *n = 0;
        *names = calloc(total + 1, sizeof(**names));
        if (!*names)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t e = 0; e < l->n; e++)
                for (size_t i = 0; i < l->esps[e].n_entries; i++)
                        (*names)[(*n)++] = l->esps[e].entries[i].name;
        return 0;
}

/* On several ESPs, the reader merges their names: an ESP that a cut left behind (a trial
 * entry not yet renamed or removed there) counts as the most advanced state of any. */
int vt_sdboot_counter_read(const vt_root *root, const char *sysfs, vt_bootcount *out,
                           bool *committed)
{
        _cleanup_free_ char *var = NULL;
        _cleanup_free_ char **names = NULL;
        vt_esp_list l;
        size_t n = 0;
        int r = vt_esp_read_all(root, &l);

        if (r >= 0)
                r = names_of(&l, &names, &n);
        if (r >= 0)
                r = vt_sdboot_counter_read_names(names, n, out, NULL);
        if (r >= 0 && committed) {
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, &var);
                *committed = r >= 0 && var && strcmp(var, VT_SDBOOT_PATTERN) == 0;
                if (r < 0)
                        vt_error_clear();
                r = 0;
        }
        vt_esp_list_free(&l);
        return r;
}

/* The entry the loader boots now, among the distribution's (vfiotx's own left out). With
 * `probe`, a stand-in for vfiotx's last good entry (no sort-key, a loader file present) is listed
 * too, and *out stays NULL when the loader would pick it. */
static int current_default(const vt_root *root, const char *sysfs, const vt_esp *esp, bool probe,
                           const vt_esp_file **out, const char **rule)
{
        static const char stand_in[] = "title vfiotx\nlinux /vfiotx/vmlinuz\n";
        _cleanup_free_ char *oneshot = NULL, *def = NULL, *last = NULL;
        vt_sdboot_menu m = VT_SDBOOT_MENU_INIT;
        vt_bls_entry *parsed = calloc(esp->n_entries + 1, sizeof(*parsed));
        vt_sdboot_input *in = calloc(esp->n_entries + 1, sizeof(*in));
        const vt_esp_file **src = calloc(esp->n_entries + 1, sizeof(*src));
        size_t n = 0, chosen;
        int r = 0;

        *out = NULL;
        if (!parsed || !in || !src)
                r = vt_error_set(ENOMEM, "out of memory");
        if (r >= 0)
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_ONESHOT, &oneshot);
        if (r >= 0)
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, &def);
        if (r >= 0)
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_LAST_BOOTED, &last);
        for (size_t i = 0; r >= 0 && i < esp->n_entries; i++) {
                const vt_esp_file *f = &esp->entries[i];
                const char *img;

                if (strncmp(f->name, "vfiotx-", 7) == 0)
                        continue;
                r = vt_bls_entry_parse(f->data.ptr, f->data.len, f->name, &parsed[n]);
                if (r < 0)
                        break;
                img = vt_bls_entry_loader(&parsed[n], NULL);
                r = img ? vt_esp_has_file(root, esp, img) : 0;
                if (r < 0) {
                        n++;
                        break;
                }
                in[n] = (vt_sdboot_input){f->name, &parsed[n], r > 0};
                src[n++] = f;
                r = 0;
        }
        if (r >= 0 && probe) {
                r = vt_bls_entry_parse(stand_in, sizeof(stand_in) - 1, VT_SDBOOT_LAST_GOOD_FILE,
                                       &parsed[n]);
                if (r >= 0) {
                        in[n] = (vt_sdboot_input){VT_SDBOOT_LAST_GOOD_FILE, &parsed[n], true};
                        src[n++] = NULL;
                }
        }
        if (r >= 0) {
                /* A leftover pattern of an earlier trial says nothing about the host's own
                 * choice. */
                vt_sdboot_vars vars = {oneshot, def && strcmp(def, VT_SDBOOT_PATTERN) ? def : NULL,
                                       last};
                r = vt_sdboot_pick(in, n, esp->loader_conf.ptr, esp->loader_conf.len, &vars, &m);
        }
        if (r >= 0) {
                chosen = vt_sdboot_menu_default_input(&m);
                if (chosen != (size_t)-1) {
                        *out = src[chosen];
                        *rule = vt_sdboot_rule_name(m.rule);
                }
        }
        vt_sdboot_menu_free(&m);
        for (size_t i = 0; parsed && i < n; i++)
                vt_bls_entry_free(&parsed[i]);
        free(parsed);
        free(in);
        free(src);
        return r;
}

static int not_supported(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int not_supported(const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        vt_error_set(ENOTSUP, "cannot arm a boot-counted trial on systemd-boot: %s", why);
        return vt_error_hint(ENOTSUP, "apply with --no-arm to change the host without a trial "
                                      "('vfiotx rollback' still undoes it), or fix the cause");
}

/* Arming needs every ESP the firmware may boot: one left out would boot the trial's files
 * without a counter, and never fall back. */
static int read_every_esp(const vt_root *root, vt_esp_list *l)
{
        vt_buf list = VT_BUF_INIT;
        int r = vt_esp_read_all(root, l);

        if (r < 0 || !l->n_missing)
                return r;
        for (size_t i = 0; i < l->n_missing; i++)
                vt_buf_printf(&list, "%s%s", i ? ", " : "", l->missing[i]);
        r = not_supported("proxmox-boot-tool lists ESPs that are not there (%s, no "
                          "/dev/disk/by-uuid/UUID with systemd-boot entries): the firmware "
                          "could boot the changed files from one without a trial to fall back "
                          "from; remove what is gone with 'proxmox-boot-tool clean'",
                          vt_buf_cstr(&list));
        vt_buf_free(&list);
        return r;
}

static int check_one(const vt_root *root, const char *sysfs, const vt_esp *esp, bool several)
{
        const vt_esp_file *base = NULL, *last_good_probe = NULL;
        const char *rule = NULL;
        int r;

        r = current_default(root, sysfs, esp, false, &base, &rule);
        /* Once the trial is over LoaderEntryDefault is the user's again: without a default
         * that picks the distribution's entries (loader.conf's `default`, or entries with a
         * sort-key, which sort before vfiotx's), the loader would take the last good entry. */
        if (r >= 0 && base)
                r = current_default(root, sysfs, esp, true, &last_good_probe, &rule);
        if (r < 0)
                return r;
        if (!base)
                return not_supported("systemd-boot lists no entry it can start on the ESP%s%s",
                                     several ? " " : "", several ? esp->path : "");
        if (!last_good_probe)
                return not_supported("without a default, systemd-boot would boot vfiotx's last "
                                     "good entry after the trial (the entries %s%shave no "
                                     "sort-key and loader.conf names no default); set one with "
                                     "'default <machine-id>-*' in loader/loader.conf or "
                                     "'bootctl set-default ID'",
                                     several ? "in " : "", several ? esp->path : "");
        return 0;
}

int vt_sdboot_counter_check(const vt_root *root, const char *sysfs)
{
        _cleanup_free_ char *oneshot = NULL, *def = NULL, *efivars = NULL;
        struct statvfs vfs;
        vt_esp_list l;
        int r;

        /* The commit point of arming and clearing is a write of LoaderEntryDefault: without a
         * writable efivarfs it would fail after the transaction (containers mount it read-only). */
        if (asprintf(&efivars, "%s/firmware/efi/efivars", sysfs ? sysfs : "/sys") < 0)
                return vt_error_set(ENOMEM, "out of memory");
        if (statvfs(efivars, &vfs) < 0)
                return not_supported("%s cannot be read (%s): the trial's commit point is a write "
                                     "of the EFI variable LoaderEntryDefault; mount efivarfs there",
                                     efivars, strerror(errno));
        if (vfs.f_flag & ST_RDONLY)
                return not_supported(
                    "%s is mounted read-only: the trial's commit point is a write "
                    "of the EFI variable LoaderEntryDefault; remount it read-write "
                    "(mount -o remount,rw %s)",
                    efivars, efivars);
        r = vt_root_exists(root, "/etc/kernel/tries");
        if (r > 0)
                return not_supported("/etc/kernel/tries makes kernel-install write a counted entry "
                                     "at every rebuild; remove it");
        vt_error_clear();
        r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_ONESHOT, &oneshot);
        if (r < 0)
                return r;
        if (oneshot)
                return not_supported("a one-shot entry is set for the next boot (%s), and it "
                                     "outranks the trial; boot it or clear it with 'bootctl "
                                     "set-oneshot \"\"'",
                                     oneshot);
        r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, &def);
        if (r < 0)
                return r;
        if (def && strcmp(def, "@saved") == 0)
                return not_supported("the default entry is '%s' (the last one booted), which "
                                     "the trial would change for good; pick one with 'bootctl "
                                     "set-default'",
                                     def);
        r = read_every_esp(root, &l);
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                r = check_one(root, sysfs, &l.esps[i], l.n > 1);
        vt_esp_list_free(&l);
        return r;
}

/* The trial entry on one ESP: older trial entries removed, then the copy of the entry the
 * loader picks there, flushed. */
static int arm_one(const vt_root *root, const char *sysfs, const vt_esp *esp, long txn,
                   unsigned tries, unsigned panic_s, const char *saved)
{
        _cleanup_free_ char *name = NULL, *path = NULL;
        _cleanup_bls_entry_ vt_bls_entry base = VT_BLS_ENTRY_INIT;
        _cleanup_buf_ vt_buf bytes = VT_BUF_INIT;
        const vt_esp_file *src = NULL;
        const char *rule = NULL;
        int r = 0;

        if (!find_file(esp, VT_SDBOOT_LAST_GOOD_FILE))
                return vt_error_set(ENOENT,
                                    "the last good entry %s/" VT_ESP_ENTRIES
                                    "/" VT_SDBOOT_LAST_GOOD_FILE " is missing: a trial "
                                    "without it would have nothing to fall back to",
                                    esp->path);
        for (size_t i = 0; r >= 0 && i < esp->n_entries; i++) {
                if (!vt_sdboot_is_trial(esp->entries[i].name, 0))
                        continue;
                free(path);
                path = NULL;
                r = entry_path(esp, esp->entries[i].name, &path);
                if (r >= 0)
                        r = vt_atomic_remove(root, path);
        }
        free(path);
        path = NULL;
        if (r >= 0)
                r = current_default(root, sysfs, esp, false, &src, &rule);
        if (r >= 0 && !src)
                r = vt_error_set(ENOENT, "systemd-boot lists no entry it can start in %s",
                                 esp->path);
        if (r >= 0)
                r = vt_bls_entry_parse(src->data.ptr, src->data.len, src->name, &base);
        if (r >= 0)
                r = vt_sdboot_trial_entry(&base, txn, panic_s, saved, &bytes);
        if (r >= 0)
                r = vt_sdboot_trial_name(txn, tries, &name);
        if (r >= 0)
                r = entry_path(esp, name, &path);
        if (r >= 0)
                r = vt_atomic_write(root, path, bytes.ptr, bytes.len, NULL);
        if (r >= 0)
                r = flush_esp(root, esp);
        return r;
}

/* The value LoaderEntryDefault had before vfiotx: from an earlier trial's entry on any ESP when
 * the variable already holds the pattern (an arming or a clear cut short), else the variable
 * itself. *saved NULL: unset. */
static int saved_default(const vt_esp_list *l, const char *def, char **saved)
{
        *saved = NULL;
        if (def && strcmp(def, VT_SDBOOT_PATTERN) != 0) {
                *saved = strdup(def);
                return *saved ? 0 : vt_error_set(ENOMEM, "out of memory");
        }
        for (size_t e = 0; e < l->n; e++)
                for (size_t i = 0; i < l->esps[e].n_entries; i++) {
                        const vt_esp_file *f = &l->esps[e].entries[i];

                        if (vt_sdboot_is_trial(f->name, 0) &&
                            vt_sdboot_saved_default(f->data.ptr, f->data.len, saved) >= 0)
                                return 0;
                }
        vt_error_clear();
        return 0;
}

int vt_sdboot_counter_arm(const vt_root *root, const char *sysfs, long txn, unsigned tries,
                          unsigned panic_s)
{
        _cleanup_free_ char *def = NULL, *saved = NULL;
        vt_esp_list l;
        int r;

        r = read_every_esp(root, &l);
        if (r >= 0)
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, &def);
        if (r >= 0)
                r = saved_default(&l, def, &saved);
        /* Each ESP whole before the next: until the commit point the loader boots as before on
         * any of them. */
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                r = arm_one(root, sysfs, &l.esps[i], txn, tries, panic_s, saved);
        if (r >= 0)
                r = vt_failpoint("sdboot: arm commit");
        if (r >= 0)
                r = vt_efivar_store(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, VT_SDBOOT_PATTERN);
        vt_esp_list_free(&l);
        return r;
}

/* The trial on one ESP renamed "+0-DONE"; 0 with *had false when this ESP has no trial entry
 * (an ESP a cut left behind, or one added since). */
static int mark_bad_one(const vt_root *root, const vt_esp *esp, bool *had)
{
        _cleanup_free_ char **names = NULL;
        _cleanup_free_ char *file = NULL, *bad = NULL, *from = NULL, *to = NULL;
        _cleanup_bls_name_ vt_bls_name n = {NULL, false, 0, 0};
        vt_esp_list one = {(vt_esp *)esp, 1, NULL, 0};
        const vt_esp_file *f;
        bool removed = false;
        size_t count;
        vt_bootcount bc;
        int r;

        *had = false;
        r = names_of(&one, &names, &count);
        if (r >= 0)
                r = vt_sdboot_counter_read_names(names, count, &bc, &file);
        if (r < 0 || !file)
                return r;
        *had = true;
        r = vt_bls_name_parse(file, &n);
        /* systemd-bless-boot may have taken the counter off already (it ran first on a boot
         * that looked fine to it): a bad name is made from the stem either way. */
        if (r >= 0)
                r = vt_bls_name_make(n.stem, true, 0, n.has_counter ? n.done : 1, &bad);
        if (r >= 0 && strcmp(bad, file) != 0) {
                f = find_file(esp, file);
                r = entry_path(esp, bad, &to);
                if (r >= 0)
                        r = vt_atomic_write(root, to, f->data.ptr, f->data.len, NULL);
                if (r >= 0)
                        r = flush_esp(root, esp);
        }
        if (r >= 0)
                r = vt_failpoint("sdboot: mark-bad remove");
        /* Every other name of the trial goes, the one it had before included: FAT has no atomic
         * rename, so a cut can leave two, and the reader picks the bad one. A name without a
         * counter (blessed) left beside it would boot first and loop; so this also runs when the
         * bad name is already there (a mark bad interrupted after its write). */
        for (size_t i = 0; r >= 0 && i < esp->n_entries; i++) {
                const char *name = esp->entries[i].name;

                if (!vt_sdboot_is_trial(name, 0) || strcmp(name, bad) == 0)
                        continue;
                free(from);
                from = NULL;
                r = entry_path(esp, name, &from);
                if (r >= 0)
                        r = vt_atomic_remove(root, from);
                removed = true;
        }
        if (r >= 0 && removed)
                r = flush_esp(root, esp);
        return r;
}

int vt_sdboot_counter_mark_bad(const vt_root *root, const char *sysfs)
{
        bool had, any = false;
        vt_esp_list l;
        int r;

        (void)sysfs;
        r = vt_esp_read_all(root, &l);
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                r = mark_bad_one(root, &l.esps[i], &had);
                any |= had;
        }
        if (r >= 0 && !any)
                r = vt_error_set(ENOENT, "no vfiotx trial entry in %s/" VT_ESP_ENTRIES "%s",
                                 l.esps[0].path, l.n > 1 ? " or on the other ESPs" : "");
        vt_esp_list_free(&l);
        return r;
}

int vt_sdboot_counter_clear(const vt_root *root, const char *sysfs)
{
        _cleanup_free_ char *def = NULL, *saved = NULL;
        vt_esp_list l;
        int r;

        r = vt_esp_read_all(root, &l);
        if (r >= 0)
                r = vt_firmware_read_var(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, &def);
        if (r >= 0)
                r = saved_default(&l, VT_SDBOOT_PATTERN, &saved);
        /* The commit point: the loader stops following vfiotx's pattern. Only vfiotx's own
         * value is undone; a default the user set meanwhile stays. */
        if (r >= 0 && def && strcmp(def, VT_SDBOOT_PATTERN) == 0)
                r = vt_efivar_store(sysfs, VT_EFIVAR_LOADER_ENTRY_DEFAULT, saved);
        if (r >= 0)
                r = vt_failpoint("sdboot: clear remove");
        for (size_t e = 0; r >= 0 && e < l.n; e++) {
                const vt_esp *esp = &l.esps[e];

                for (size_t i = 0; r >= 0 && i < esp->n_entries; i++) {
                        _cleanup_free_ char *path = NULL;

                        if (!vt_sdboot_is_trial(esp->entries[i].name, 0))
                                continue;
                        r = entry_path(esp, esp->entries[i].name, &path);
                        if (r >= 0)
                                r = vt_atomic_remove(root, path);
                }
                if (r >= 0)
                        r = flush_esp(root, esp);
        }
        vt_esp_list_free(&l);
        return r;
}

int vt_sdboot_preserve(const vt_root *root, const char *proc, long txn)
{
        vt_preserve_plan p = {0};
        vt_esp_list l;
        int r;

        r = vt_esp_read_all(root, &l);
        if (r >= 0)
                r = vt_boot_preserve_plan(root, proc, txn, &p);
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                r = vt_boot_preserve_for_esp(&p, l.esps[i].path);
                if (r >= 0)
                        r = vt_last_good_write(root, &p);
                if (r >= 0)
                        r = flush_esp(root, &l.esps[i]);
        }
        vt_preserve_plan_free(&p);
        vt_esp_list_free(&l);
        return r < 0 ? vt_error_wrap(r, "keeping the last good boot on the ESP") : 0;
}
