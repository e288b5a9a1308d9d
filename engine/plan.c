#include "engine/plan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootcount_grub.h"
#include "backends/bootloader.h"
#include "backends/cmdline.h"
#include "backends/cmdline_params.h"
#include "backends/early_modules.h"
#include "backends/grub_default.h"
#include "backends/hostinfo.h"
#include "backends/iommu.h"
#include "backends/kernel_cmdline.h"
#include "backends/kernels.h"
#include "backends/modprobe.h"
#include "backends/modprobe_conf.h"
#include "backends/modules.h"
#include "backends/pci.h"
#include "backends/profile.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/safety.h"
#include "fs/atomic_file.h"

#define KERNEL_CMDLINE_PATH "/etc/kernel/cmdline"

void vt_spec_free(vt_spec *s)
{
        vt_strv_free(&s->devices);
        vt_strv_free(&s->releases);
        vt_strv_free(&s->cmdline_add);
        vt_strv_free(&s->cmdline_remove);
}

bool vt_spec_empty(const vt_spec *s)
{
        return !s->devices.n && !s->releases.n && !s->method_set && !s->cmdline_add.n &&
               !s->cmdline_remove.n && !s->no_iommu_params;
}

void vt_plan_free(vt_plan *p)
{
        vt_snapshot_free(&p->target);
        vt_buf_free(&p->why);
        vt_strv_free(&p->refusals);
        for (size_t i = 0; i < p->n_refusal_items; i++) {
                free(p->refusal_items[i].code);
                free(p->refusal_items[i].device);
                free(p->refusal_items[i].message);
                free(p->refusal_items[i].advice);
        }
        free(p->refusal_items);
        vt_strv_free(&p->words_wanted);
        vt_strv_free(&p->words_unwanted);
        free(p->summary);
        *p = (vt_plan){0};
}

/* Everything the plan works from; freed in one place. */
typedef struct plan_state {
        const vt_plan_ctx *ctx;
        vt_plan *out;
        vt_profile old, next;
        vt_strv once_remove; /* --cmdline-remove of a parameter added by --cmdline-add */
        /* the host's facts (engine/facts.h); pci and host are read only when devices are
         * involved (NULL until then) */
        const vt_kernel_list *kernels;
        const vt_pci_list *pci;
        const vt_hostinfo *host;
        vt_pci_device *devs; /* the profile's devices: scanned facts, recorded host driver */
        const vt_pci_device **devp;
        size_t n_devs;
        vt_buf summary;
} plan_state;

static void state_free(plan_state *s)
{
        vt_profile_free(&s->old);
        vt_profile_free(&s->next);
        vt_strv_free(&s->once_remove);
        free(s->devs);
        free(s->devp);
        vt_buf_free(&s->summary);
}

/* Put an editor's output for `path` into the target, keeping the current file's metadata;
 * `data` NULL: the file must not exist (only recorded when it exists now). */
static int put_file(plan_state *s, const char *path, const vt_buf *data)
{
        vt_file_meta meta = VT_FILE_META_DEFAULT;
        int r = vt_atomic_stat(s->ctx->facts->root, path, &meta);

        if (r < 0 && r != -ENOENT)
                return r;
        if (!data) {
                vt_file_meta_free(&meta);
                return r == -ENOENT ? 0 : vt_snapshot_put(&s->out->target, path, NULL, 0, NULL);
        }
        r = vt_snapshot_put(&s->out->target, path, vt_buf_cstr(data), data->len, &meta);
        vt_file_meta_free(&meta);
        return r;
}

static int put_out(plan_state *s, const vt_file_out *f)
{
        return put_file(s, f->path, f->present ? &f->data : NULL);
}

/* Read a file inside the root; *exists false (and `out` empty) when it is missing. */
static int read_opt(const vt_root *root, const char *path, vt_buf *out, bool *exists)
{
        int r = vt_root_read(root, path, out);

        *exists = r >= 0;
        if (r == -ENOENT) {
                vt_error_clear();
                vt_buf_clear(out);
                return 0;
        }
        return r;
}

static int load_profile(plan_state *s)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        bool exists;
        int r = read_opt(s->ctx->facts->root, VT_PROFILE_PATH, &b, &exists);

        if (r < 0)
                return r;
        if (exists && (r = vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&b), b.len, &s->old)) < 0)
                return r;
        /* the next profile starts as a copy of the old one */
        r = vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&b), exists ? b.len : 0, &s->next);
        return r;
}

static int scan_pci(plan_state *s)
{
        int r;

        if (s->pci)
                return 0;
        r = vt_facts_pci(s->ctx->facts, &s->pci);
        if (r < 0)
                return vt_error_wrap(r, "reading the PCI devices");
        r = vt_facts_host(s->ctx->facts, &s->host);
        if (r < 0) {
                s->pci = NULL;
                return vt_error_wrap(r, "reading which devices the host needs");
        }
        return 0;
}

static bool bdf_matches(const char *profile_bdf, const char *arg)
{
        size_t pl = strlen(profile_bdf), al = strlen(arg);

        /* "01:00.0" names "0000:01:00.0" */
        return strcmp(profile_bdf, arg) == 0 ||
               (al == 7 && pl == 12 && strcmp(profile_bdf + 5, arg) == 0);
}

static int apply_releases(plan_state *s)
{
        const vt_spec *sp = s->ctx->spec;

        for (size_t i = 0; i < sp->releases.n; i++) {
                const char *arg = sp->releases.items[i];
                unsigned v, d;
                char tail;
                bool by_id = sscanf(arg, "%4x:%4x%c", &v, &d, &tail) == 2 && strlen(arg) == 9;
                size_t released = 0;

                for (size_t k = s->next.n_devices; k-- > 0;) {
                        const vt_profile_device *pd = &s->next.devices[k];
                        char bdf[16];

                        if (by_id ? (pd->vendor == v && pd->device == d)
                                  : bdf_matches(pd->bdf, arg)) {
                                snprintf(bdf, sizeof(bdf), "%s", pd->bdf);
                                vt_profile_remove_device(&s->next, bdf);
                                vt_buf_printf(&s->summary, "%srelease %s",
                                              s->summary.len ? "; " : "", bdf);
                                released++;
                        }
                }
                if (!released)
                        return vt_error_hint(
                            vt_error_set(ENODEV, "--release %s: no such device is passed through",
                                         arg),
                            "'vfiotx status' and %s list the devices vfiotx passes through",
                            VT_PROFILE_PATH);
        }
        return 0;
}

static int apply_devices(plan_state *s)
{
        const vt_spec *sp = s->ctx->spec;
        vt_selection sel = {0};
        int r = 0;

        if (!sp->devices.n)
                return 0;
        r = scan_pci(s);
        for (size_t i = 0; r >= 0 && i < sp->devices.n; i++)
                r = vt_selection_add(&sel, s->pci, sp->devices.items[i]);
        for (size_t i = 0; r >= 0 && i < sel.n; i++) {
                const vt_pci_device *d = sel.items[i];
                const vt_profile_device *known = vt_profile_find(&s->old, d->bdf);
                const char *drv = d->driver, *mod = d->module;

                /* Once bound to vfio-pci, sysfs no longer tells the host driver: keep the one
                 * recorded when the device was added. */
                if (drv && !vt_pci_is_host_driver(drv)) {
                        drv = known ? known->driver : NULL;
                        mod = known ? known->module : NULL;
                }
                r = vt_profile_add_device(&s->next, d->bdf, d->vendor, d->device, drv, mod);
                if (r >= 0 && !known)
                        vt_buf_printf(&s->summary, "%spass through %s (%04x:%04x%s%s)",
                                      s->summary.len ? "; " : "", d->bdf, d->vendor, d->device,
                                      drv ? ", " : "", drv ? drv : "");
        }
        vt_selection_free(&sel);
        return r;
}

static int apply_cmdline_spec(plan_state *s)
{
        const vt_spec *sp = s->ctx->spec;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < sp->cmdline_add.n; i++) {
                r = vt_cmdline_param_addable(sp->cmdline_add.items[i]);
                if (r < 0)
                        break;
                vt_strv_remove(&s->next.cmdline_remove, sp->cmdline_add.items[i]);
                if (!vt_strv_contains(&s->next.cmdline_add, sp->cmdline_add.items[i]))
                        r = vt_strv_push(&s->next.cmdline_add, sp->cmdline_add.items[i]);
        }
        for (size_t i = 0; r >= 0 && i < sp->cmdline_remove.n; i++) {
                const char *w = sp->cmdline_remove.items[i];

                /* Taking back one's own addition is a one-time removal; anything else stays
                 * removed on every apply. */
                if (vt_strv_remove(&s->next.cmdline_add, w))
                        r = vt_strv_push(&s->once_remove, w);
                else if (!vt_strv_contains(&s->next.cmdline_remove, w))
                        r = vt_strv_push(&s->next.cmdline_remove, w);
        }
        if (sp->no_iommu_params)
                s->next.no_iommu_params = true;
        if (sp->method_set)
                s->next.method = sp->method;
        if (sp->cmdline_add.n || sp->cmdline_remove.n)
                vt_buf_printf(&s->summary, "%skernel parameters", s->summary.len ? "; " : "");
        return r;
}

/* The devices of the next profile as facts: scanned now, with the recorded host driver. */
static int resolve_profile_devices(plan_state *s)
{
        int r;

        if (!s->next.n_devices)
                return 0;
        r = scan_pci(s);
        if (r < 0)
                return r;
        s->devs = calloc(s->next.n_devices, sizeof(*s->devs));
        s->devp = calloc(s->next.n_devices, sizeof(*s->devp));
        if (!s->devs || !s->devp)
                return -ENOMEM;
        for (size_t i = 0; i < s->next.n_devices; i++) {
                const vt_profile_device *pd = &s->next.devices[i];
                const vt_pci_device *d = vt_pci_find(s->pci, pd->bdf);

                if (!d)
                        return vt_error_hint(
                            vt_error_set(ENODEV,
                                         "device %s (%04x:%04x) of the profile is not on "
                                         "this host",
                                         pd->bdf, pd->vendor, pd->device),
                            "if the card moved, 'vfiotx apply --release %s --device "
                            "NEW-ADDRESS'; to stop passing it through, 'vfiotx apply "
                            "--release %s'",
                            pd->bdf, pd->bdf);
                if (d->vendor != pd->vendor || d->device != pd->device)
                        return vt_error_hint(
                            vt_error_set(ENODEV,
                                         "device %s is now %04x:%04x, but the profile passes "
                                         "through %04x:%04x there",
                                         pd->bdf, d->vendor, d->device, pd->vendor, pd->device),
                            "another card is in that slot: 'vfiotx apply --release %s', then "
                            "name the card you want with --device",
                            pd->bdf);
                if (!pd->module && pd->driver && d->module && d->driver &&
                    strcmp(d->driver, pd->driver) == 0) {
                        /* a device line written before modules were recorded: learn it from
                         * the driver the device still uses (replaces pd's strings in place) */
                        r = vt_profile_add_device(&s->next, pd->bdf, pd->vendor, pd->device,
                                                  d->driver, d->module);
                        if (r < 0)
                                return r;
                }
                s->devs[i] = *d;
                s->devs[i].driver = pd->driver;
                s->devs[i].module = pd->module;
                s->devp[i] = &s->devs[i];
        }
        s->n_devs = s->next.n_devices;
        return 0;
}

static char *strdup_or_null(const char *s, bool *oom)
{
        char *d = s ? strdup(s) : NULL;

        if (s && !d)
                *oom = true;
        return d;
}

/* A refusal: the text for people and the journal, and its parts for the JSON documents. */
static int add_refusal(plan_state *s, const char *code, const char *device, const char *message,
                       const char *advice)
{
        _cleanup_free_ char *text = NULL;
        vt_plan *p = s->out;
        vt_plan_refusal *items;
        bool oom = false;
        int r;

        if (asprintf(&text, "%s: %s%s%s%s", code, message, advice ? " (" : "", advice ? advice : "",
                     advice ? ")" : "") < 0)
                return -ENOMEM;
        r = vt_strv_push(&p->refusals, text);
        if (r < 0)
                return r;
        items = realloc(p->refusal_items, (p->n_refusal_items + 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        p->refusal_items = items;
        items[p->n_refusal_items] = (vt_plan_refusal){
            .code = strdup_or_null(code, &oom),
            .device = strdup_or_null(device && *device ? device : NULL, &oom),
            .message = strdup_or_null(message, &oom),
            .advice = strdup_or_null(advice, &oom),
        };
        p->n_refusal_items++;
        return oom ? -ENOMEM : 0;
}

static int check_safety(plan_state *s)
{
        _cleanup_free_ vt_pci_device *items = NULL;
        vt_pci_list view = {0};
        vt_selection sel = {0};
        vt_refusal_list refusals = {0};
        int r = 0;

        if (!s->n_devs)
                return 0;
        /* The host's devices as scanned, but each named one with its host driver (s->devs):
         * a device already on vfio-pci would otherwise be judged by vfio-pci. A shallow copy:
         * the strings stay owned by s->pci and the profile. */
        items = calloc(s->pci->n, sizeof(*items));
        sel.items = calloc(s->n_devs, sizeof(*sel.items));
        if (!items || !sel.items) {
                free(sel.items);
                return -ENOMEM;
        }
        memcpy(items, s->pci->items, s->pci->n * sizeof(*items));
        view = (vt_pci_list){items, s->pci->n};
        for (size_t i = 0; i < s->n_devs; i++) {
                vt_pci_device *d = &items[vt_pci_find(&view, s->devs[i].bdf) - items];

                d->driver = s->devs[i].driver;
                d->module = s->devs[i].module;
                sel.items[sel.n++] = d;
        }
        r = vt_safety_check(&view, s->host, &sel, s->next.method, &refusals);
        for (size_t i = 0; r >= 0 && i < refusals.n; i++) {
                const vt_refusal *f = &refusals.items[i];

                /* A warning lets the plan go on; it is said with the plan's reasons. */
                if (f->warning)
                        r = vt_buf_printf(&s->out->why, "warning: %s: %s (%s)\n",
                                          vt_refusal_code_name(f->code), f->message,
                                          f->advice ? f->advice : "");
                else
                        r = add_refusal(s, vt_refusal_code_name(f->code), f->bdf, f->message,
                                        f->advice);
        }
        vt_refusal_list_free(&refusals);
        free(sel.items);
        return r;
}

/* The user's modprobe configuration must not contradict the plan. */
static int check_modprobe_conflicts(plan_state *s)
{
        vt_conf_file *files = NULL;
        vt_buf *bufs = NULL;
        char **paths = NULL;
        size_t n = 0, cap = 0;
        vt_modprobe_config cfg = {0};
        int r = 0;

        if (!s->n_devs)
                return 0;
        for (size_t d = 0; r >= 0 && vt_modprobe_dirs[d]; d++) {
                _cleanup_close_ int dfd = -1;
                struct dirent *de;
                DIR *dir;

                if (vt_root_exists(s->ctx->facts->root, vt_modprobe_dirs[d]) != 1)
                        continue;
                r = vt_root_opendir(s->ctx->facts->root, vt_modprobe_dirs[d], &dfd);
                if (r < 0) {
                        /* e.g. /etc/modprobe.d is a file: say so, with the path (issue 14, 15) */
                        vt_error_hint(r,
                                      "modprobe reads the *.conf files in %s: make it a "
                                      "directory again (move the file into it)",
                                      vt_modprobe_dirs[d]);
                        break;
                }
                dir = fdopendir(TAKE_FD(dfd));
                if (!dir) {
                        r = -errno;
                        break;
                }
                while (r >= 0 && (de = readdir(dir))) {
                        char *p;

                        if (de->d_name[0] == '.')
                                continue;
                        if (n == cap) {
                                cap = cap ? cap * 2 : 16;
                                paths = realloc(paths, cap * sizeof(*paths));
                                bufs = realloc(bufs, cap * sizeof(*bufs));
                                if (!paths || !bufs) {
                                        r = -ENOMEM;
                                        break;
                                }
                        }
                        p = vt_path_join(vt_modprobe_dirs[d], de->d_name);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        bufs[n] = (vt_buf)VT_BUF_INIT;
                        /* A link to /dev/null (a masked file) reads as empty. */
                        if (vt_root_read(s->ctx->facts->root, p, &bufs[n]) < 0) {
                                vt_buf_clear(&bufs[n]);
                                vt_error_clear();
                        }
                        paths[n++] = p;
                }
                closedir(dir);
        }
        if (r >= 0 && n) {
                files = calloc(n, sizeof(*files));
                if (!files)
                        r = -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n; i++)
                        files[i] = (vt_conf_file){paths[i], vt_buf_cstr(&bufs[i]), bufs[i].len};
        }
        if (r >= 0)
                r = vt_modprobe_load(files, n, &cfg);
        if (r >= 0) {
                r = vt_modprobe_conflicts(&cfg, s->devp, s->n_devs, s->next.method);
                if (r == -EPERM) {
                        r = add_refusal(s, "modprobe-conflict", NULL,
                                        vt_error_message() ? vt_error_message()
                                                           : "the modprobe configuration "
                                                             "contradicts the plan",
                                        vt_error_hint_text());
                        vt_error_clear();
                }
        }
        vt_modprobe_config_free(&cfg);
        for (size_t i = 0; i < n; i++) {
                free(paths[i]);
                vt_buf_free(&bufs[i]);
        }
        free(paths);
        free(bufs);
        free(files);
        return r;
}

static int plan_modules(plan_state *s)
{
        _cleanup_buf_ vt_buf cur = VT_BUF_INIT, out = VT_BUF_INIT;
        const char *wanted[5];
        bool exists;
        int r;

        r = vt_modules_wanted(s->kernels, wanted, &s->out->why);
        if (r >= 0)
                r = read_opt(s->ctx->facts->root, VT_MODULES_PATH, &cur, &exists);
        if (r >= 0)
                r = vt_modules_edit(exists ? &cur : NULL, wanted, &out);
        if (r >= 0)
                r = put_file(s, VT_MODULES_PATH, &out);
        return r;
}

static int plan_modprobe(plan_state *s)
{
        vt_modprobe_files files = {0};
        int r = vt_modprobe_generate(s->devp, s->n_devs, s->next.method, &files);

        for (int i = 0; r >= 0 && i < VT_MODPROBE_NFILES; i++)
                r = put_out(s, &files.file[i]);
        if (r >= 0 && s->n_devs)
                vt_buf_printf(
                    &s->out->why, "%s: bind %zu device(s) to vfio-pci with the %s method\n",
                    VT_MODPROBE_CONF_PATH, s->n_devs, vt_bind_method_name(s->next.method));
        vt_modprobe_files_free(&files);
        return r;
}

static int plan_early_modules(plan_state *s)
{
        _cleanup_buf_ vt_buf cur = VT_BUF_INIT;
        vt_file_out out = {0};
        vt_strv mods = {0};
        bool exists;
        int r = 0;

        if (s->n_devs)
                r = vt_early_modules(s->kernels->items, s->kernels->n, &mods);
        if (r < 0)
                goto done;
        if (vt_root_exists(s->ctx->facts->root, "/etc/initramfs-tools") == 1) {
                r = read_opt(s->ctx->facts->root, VT_INITRAMFS_TOOLS_MODULES_PATH, &cur, &exists);
                if (r >= 0)
                        r = vt_initramfs_tools_modules_edit(
                            exists ? &cur : NULL, (const char *const *)mods.items, mods.n, &out);
        } else if (vt_root_exists(s->ctx->facts->root, "/etc/dracut.conf.d") == 1) {
                r = vt_dracut_conf_generate((const char *const *)mods.items, mods.n, &out);
        } else if (vt_root_exists(s->ctx->facts->root, "/etc/mkinitcpio.conf.d") == 1) {
                r = vt_mkinitcpio_dropin_generate((const char *const *)mods.items, mods.n, &out);
        } else if (vt_root_exists(s->ctx->facts->root, VT_MKINITCPIO_CONF_PATH) == 1) {
                r = read_opt(s->ctx->facts->root, VT_MKINITCPIO_CONF_PATH, &cur, &exists);
                if (r >= 0)
                        r = vt_mkinitcpio_conf_edit(exists ? &cur : NULL,
                                                    (const char *const *)mods.items, mods.n, &out);
        } else {
                if (s->n_devs)
                        vt_buf_printf(&s->out->why, "initramfs: no initramfs-tools, dracut or "
                                                    "mkinitcpio configuration found; the vfio "
                                                    "modules are not loaded early\n");
                goto done;
        }
        if (r >= 0 && out.path)
                r = put_out(s, &out);
        if (r >= 0 && s->n_devs && out.path)
                vt_buf_printf(&s->out->why,
                              "%s: load the vfio modules from the initramfs, before "
                              "the devices' drivers\n",
                              out.path);
done:
        vt_file_out_free(&out);
        vt_strv_free(&mods);
        return r;
}

static bool sysfs_has(const char *sysfs, const char *rel)
{
        _cleanup_free_ char *p = vt_path_join(sysfs, rel);

        return p && access(p, F_OK) == 0;
}

/* Did an earlier apply put intel_iommu= on the command line (applied-cmdline)? */
static bool turned_iommu_on(const plan_state *s)
{
        for (size_t i = 0; i < s->old.applied_cmdline.n; i++)
                if (strncmp(s->old.applied_cmdline.items[i], "intel_iommu=", 12) == 0)
                        return true;
        return false;
}

/* The words vfiotx puts on the command line for this profile, with their reasons. */
static int derive_cmdline(plan_state *s, vt_cmdline_plan *cp)
{
        _cleanup_free_ vt_cmdline_kernel_facts *kf = NULL;
        vt_cmdline_facts facts = {0};
        const vt_iommu_maker *maker;
        vt_strv builtin = {0};
        int r = 0;

        kf = calloc(s->kernels->n + 1, sizeof(*kf));
        if (!kf)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < s->kernels->n; i++)
                r = vt_cmdline_kernel_facts_from(&s->kernels->items[i], &kf[i]);
        if (r < 0)
                return r;
        /* Whose IOMMU: the rule of backends/iommu.h (the ACPI table, else the CPU vendor). */
        r = vt_facts_iommu_maker(s->ctx->facts, &maker);
        if (r < 0)
                return r;
        facts.cpu = maker->vendor;
        facts.amd_ivrs = maker->tables.ivrs;
        facts.kernels = kf;
        facts.n_kernels = s->kernels->n;
        facts.boot_mode =
            sysfs_has(s->ctx->facts->sysfs, "firmware/efi") ? VT_BOOT_MODE_EFI : VT_BOOT_MODE_BIOS;
        facts.user_add = (const char *const *)s->next.cmdline_add.items;
        facts.n_user_add = s->next.cmdline_add.n;
        facts.user_remove = (const char *const *)s->next.cmdline_remove.items;
        facts.n_user_remove = s->next.cmdline_remove.n;
        /* Device-derived parameters only while devices are passed through: releasing the last
         * one takes them off again. With no device, on a host whose IOMMU is off, only what
         * turns it on, so that the groups can be seen after one reboot (and kept on once
         * vfiotx turned it on: then the IOMMU is active and the word is in applied-cmdline). */
        facts.iommu_only = !s->n_devs && !s->next.no_iommu_params &&
                           (!vt_iommu_active(s->ctx->facts->sysfs) || turned_iommu_on(s));
        facts.no_iommu_params = s->next.no_iommu_params || (!s->n_devs && !facts.iommu_only);
        if (s->pci) {
                for (size_t i = 0; i < s->pci->n; i++) {
                        const vt_pci_device *d = &s->pci->items[i];
                        bool passed = false;

                        for (size_t k = 0; k < s->n_devs; k++)
                                passed |= strcmp(s->devs[k].bdf, d->bdf) == 0;
                        if (vt_pci_is_intel_igpu(d))
                                facts.igpu = passed ? VT_IGPU_PASSTHROUGH
                                                    : (facts.igpu == VT_IGPU_PASSTHROUGH
                                                           ? VT_IGPU_PASSTHROUGH
                                                           : VT_IGPU_HOST);
                        if (passed && d->boot_vga)
                                facts.boot_display_passthrough = true;
                }
        }
        r = vt_cmdline_params_derive(&facts, cp);
        if (r >= 0 && s->n_devs && !s->next.no_iommu_params)
                r = vt_builtin_cmdline_args(s->kernels->items, s->kernels->n, s->devp, s->n_devs,
                                            s->next.method, &builtin);
        for (size_t i = 0; r >= 0 && i < builtin.n; i++) {
                r = vt_cmdline_change_add(&cp->change, builtin.items[i]);
                if (r >= 0)
                        vt_buf_printf(&s->out->why,
                                      "cmdline: %s: vfio-pci is built into a "
                                      "target kernel, so modprobe.d options do "
                                      "not reach it\n",
                                      builtin.items[i]);
        }
        vt_strv_free(&builtin);
        if (r >= 0 && s->ctx->trial_args) {
                r = vt_cmdline_change_add(&cp->change, VT_GRUB_TRIAL_ARGS_REF);
                if (r >= 0)
                        vt_buf_printf(&s->out->why,
                                      "cmdline: $vfiotx_trial_args: GRUB puts the trial markers "
                                      "(vfiotx.trial=, panic=) there on trial boots only\n");
        }
        return r;
}

/* Is `word`'s setting given a new value by an addition (which then replaces it)? */
static bool replaced_by_add(const vt_cmdline_change *c, const char *word)
{
        _cleanup_free_ char *name = strdup(word);
        char *value = name ? strchr(name, '=') : NULL;

        if (!name)
                return false;
        if (value)
                *value++ = '\0';
        for (size_t i = 0; i < c->n_add; i++)
                if (vt_cmdline_same_param(c->add[i].name, c->add[i].value, name, value))
                        return true;
        return false;
}

/* Words to remove go from GRUB_CMDLINE_LINUX too: grub-mkconfig puts it on every entry's
 * command line, and a user's word there is as much on the kernel's line as one in
 * GRUB_CMDLINE_LINUX_DEFAULT (removing it from one of them only would leave it in force).
 * Additions go to GRUB_CMDLINE_LINUX_DEFAULT alone. `out`/`changed` hold the first edit's
 * result and are updated in place. */
static int remove_from_cmdline_linux(char **paths, size_t n, const vt_cmdline_change *change,
                                     vt_buf *out, bool *changed)
{
        vt_cmdline_change rm = {.remove = change->remove, .n_remove = change->n_remove};
        _cleanup_free_ vt_grub_file *files = calloc(n, sizeof(*files));
        _cleanup_free_ vt_buf *out2 = calloc(n, sizeof(*out2));
        _cleanup_free_ bool *changed2 = calloc(n, sizeof(*changed2));
        int r;

        if (!files || !out2 || !changed2)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                files[i] = (vt_grub_file){paths[i], vt_buf_cstr(&out[i]), out[i].len};
                out2[i] = (vt_buf)VT_BUF_INIT;
        }
        r = vt_grub_default_edit(files, n, VT_GRUB_CMDLINE_ALL, &rm, out2, changed2);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && changed2[i]) {
                        vt_buf_free(&out[i]);
                        out[i] = out2[i];
                        changed[i] = true;
                } else {
                        vt_buf_free(&out2[i]);
                }
        }
        return r;
}

static int plan_cmdline(plan_state *s)
{
        vt_cmdline_plan cp = {0};
        const vt_boot_info *boot;
        char **paths = NULL;
        size_t n_paths = 0;
        vt_buf *cur = NULL, *out = NULL;
        vt_grub_file *files = NULL;
        bool *changed = NULL;
        int r;

        r = derive_cmdline(s, &cp);
        if (r < 0)
                goto done;
        for (size_t i = 0; i < cp.n_reasons; i++)
                vt_buf_printf(&s->out->why, "cmdline: %s%s%s\n",
                              cp.reasons[i].word ? cp.reasons[i].word : "",
                              cp.reasons[i].word ? ": " : "", cp.reasons[i].why);
        /* What vfiotx put on the command line before and no longer needs comes off. */
        vt_strv_free(&s->next.applied_cmdline);
        for (size_t i = 0; r >= 0 && i < cp.change.n_add; i++)
                if (!vt_strv_contains(&s->next.cmdline_add, cp.change.add[i].word))
                        r = vt_strv_push(&s->next.applied_cmdline, cp.change.add[i].word);
        for (size_t i = 0; r >= 0 && i < s->old.applied_cmdline.n; i++)
                if (!vt_strv_contains(&s->next.applied_cmdline, s->old.applied_cmdline.items[i]) &&
                    !replaced_by_add(&cp.change, s->old.applied_cmdline.items[i])) {
                        r = vt_cmdline_change_remove(&cp.change, s->old.applied_cmdline.items[i]);
                        if (r >= 0)
                                vt_buf_printf(&s->out->why, "cmdline: -%s: no longer needed\n",
                                              s->old.applied_cmdline.items[i]);
                }
        for (size_t i = 0; r >= 0 && i < s->once_remove.n; i++)
                r = vt_cmdline_change_remove(&cp.change, s->once_remove.items[i]);
        for (size_t i = 0; r >= 0 && i < cp.change.n_add; i++)
                r = vt_strv_push(&s->out->words_wanted, cp.change.add[i].word);
        for (size_t i = 0; r >= 0 && i < cp.change.n_remove; i++)
                r = vt_strv_push(&s->out->words_unwanted, cp.change.remove[i].word);
        if (r < 0 || (cp.change.n_add == 0 && cp.change.n_remove == 0))
                goto done;

        r = vt_facts_boot(s->ctx->facts, &boot);
        if (r < 0)
                goto done;
        if (boot->refusal) {
                r = vt_error_hint(vt_error_set(ENOTSUP, "cannot change the kernel command line: %s",
                                               boot->refusal),
                                  "apply without the command-line changes "
                                  "(--no-iommu-params) and set them the way this boot setup "
                                  "expects");
                goto done;
        }
        if (boot->edit_grub_default) {
                r = vt_grub_default_paths(s->ctx->facts->root, &paths, &n_paths);
                if (r < 0)
                        goto done;
                cur = calloc(n_paths, sizeof(*cur));
                out = calloc(n_paths, sizeof(*out));
                files = calloc(n_paths, sizeof(*files));
                changed = calloc(n_paths, sizeof(*changed));
                if (!cur || !out || !files || !changed) {
                        r = -ENOMEM;
                        goto done;
                }
                for (size_t i = 0; r >= 0 && i < n_paths; i++) {
                        bool exists;

                        r = read_opt(s->ctx->facts->root, paths[i], &cur[i], &exists);
                        files[i] = (vt_grub_file){paths[i], vt_buf_cstr(&cur[i]), cur[i].len};
                }
                if (r >= 0)
                        r = vt_grub_default_edit(files, n_paths, VT_GRUB_CMDLINE_DEFAULT,
                                                 &cp.change, out, changed);
                if (r >= 0 && cp.change.n_remove)
                        r = remove_from_cmdline_linux(paths, n_paths, &cp.change, out, changed);
                for (size_t i = 0; r >= 0 && i < n_paths; i++)
                        if (changed[i])
                                r = put_file(s, paths[i], &out[i]);
        }
        if (r >= 0 && boot->edit_kernel_cmdline) {
                _cleanup_buf_ vt_buf kc = VT_BUF_INIT, ko = VT_BUF_INIT;
                _cleanup_free_ vt_cmdline_param *adds = NULL;
                vt_cmdline_change kchange = cp.change;
                bool exists, kchanged = false;

                /* GRUB's placeholder for the trial markers means nothing to kernel-install: a
                 * systemd-boot trial carries them in its own entry (engine/sdboot_counter.h). */
                adds = calloc(cp.change.n_add + 1, sizeof(*adds));
                if (!adds) {
                        r = -ENOMEM;
                        goto done;
                }
                kchange.add = adds;
                kchange.n_add = 0;
                for (size_t i = 0; i < cp.change.n_add; i++)
                        if (strcmp(cp.change.add[i].word, VT_GRUB_TRIAL_ARGS_REF) != 0)
                                adds[kchange.n_add++] = cp.change.add[i];
                r = read_opt(s->ctx->facts->root, KERNEL_CMDLINE_PATH, &kc, &exists);
                if (r >= 0)
                        r = vt_kernel_cmdline_edit(KERNEL_CMDLINE_PATH, vt_buf_cstr(&kc), kc.len,
                                                   &kchange, &ko, &kchanged);
                if (r >= 0 && kchanged)
                        r = put_file(s, KERNEL_CMDLINE_PATH, &ko);
        }
done:
        for (size_t i = 0; i < n_paths; i++) {
                if (cur)
                        vt_buf_free(&cur[i]);
                if (out)
                        vt_buf_free(&out[i]);
        }
        free(cur);
        free(out);
        free(files);
        free(changed);
        if (paths)
                vt_paths_free(paths, n_paths);
        vt_cmdline_plan_free(&cp);
        return r;
}

static int plan_profile(plan_state *s)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r = vt_profile_format(&s->next, &text);

        return r < 0 ? r : put_file(s, VT_PROFILE_PATH, &text);
}

int vt_plan_compute(const vt_plan_ctx *ctx, vt_plan *out)
{
        plan_state s = {.ctx = ctx, .out = out};
        int r;

        *out = (vt_plan){0};
        r = vt_facts_kernels(ctx->facts, &s.kernels);
        if (r >= 0)
                r = load_profile(&s);
        if (r >= 0)
                r = apply_releases(&s);
        if (r >= 0)
                r = apply_devices(&s);
        if (r >= 0)
                r = apply_cmdline_spec(&s);
        if (r >= 0)
                r = resolve_profile_devices(&s);
        if (r >= 0)
                r = check_safety(&s);
        if (r >= 0)
                r = check_modprobe_conflicts(&s);
        if (r >= 0)
                r = plan_modules(&s);
        if (r >= 0)
                r = plan_modprobe(&s);
        if (r >= 0)
                r = plan_early_modules(&s);
        if (r >= 0)
                r = plan_cmdline(&s);
        if (r >= 0)
                r = plan_profile(&s);
        if (r >= 0) {
                if (!s.summary.len)
                        vt_buf_puts(&s.summary, s.next.n_devices
                                                    ? "re-apply the profile"
                                                    : "ensure the vfio modules load at boot");
                out->summary = vt_buf_detach(&s.summary);
                out->has_devices = s.next.n_devices > 0;
        }
        state_free(&s);
        if (r < 0)
                vt_plan_free(out);
        return r;
}
