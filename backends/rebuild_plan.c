#include "backends/rebuild_plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootloader.h"
#include "backends/kernels.h"
#include "common/argv.h"
#include "common/error.h"
#include "common/macro.h"

const char *vt_initramfs_gen_name(vt_initramfs_gen g)
{
        switch (g) {
        case VT_GEN_INITRAMFS_TOOLS:
                return "initramfs-tools";
        case VT_GEN_DRACUT:
                return "dracut";
        case VT_GEN_MKINITCPIO:
                return "mkinitcpio";
        default:
                return "none";
        }
}

/* Exists (1), missing (0) or an error other than a missing path (negative errno). A path that
 * would leave the root is treated as missing: it is not part of this host. */
static int exists(const vt_root *root, const char *path)
{
        int r = vt_root_exists(root, path);

        if (r == -EXDEV || r == -ELOOP || r == -ENOTDIR) {
                vt_error_clear();
                return 0;
        }
        return r;
}

static int any_exists(const vt_root *root, const char *const *paths)
{
        for (size_t i = 0; paths[i]; i++) {
                int r = exists(root, paths[i]);

                if (r != 0)
                        return r;
        }
        return 0;
}

static int detect_gen(const vt_root *root, vt_initramfs_gen *out)
{
        static const char *const it_bin[] = {"/usr/sbin/update-initramfs", "/sbin/update-initramfs",
                                             NULL};
        static const char *const it_conf[] = {"/etc/initramfs-tools", NULL};
        static const char *const dr_bin[] = {"/usr/bin/dracut", "/bin/dracut", "/usr/sbin/dracut",
                                             NULL};
        static const char *const dr_conf[] = {"/etc/dracut.conf.d", "/etc/dracut.conf", NULL};
        static const char *const mk_bin[] = {"/usr/bin/mkinitcpio", "/bin/mkinitcpio", NULL};
        int r;

        *out = VT_GEN_NONE;
        if ((r = any_exists(root, it_bin)) > 0 && (r = any_exists(root, it_conf)) > 0) {
                *out = VT_GEN_INITRAMFS_TOOLS;
                return 0;
        }
        if (r < 0)
                return r;
        if ((r = any_exists(root, dr_bin)) > 0 && (r = any_exists(root, dr_conf)) > 0) {
                *out = VT_GEN_DRACUT;
                return 0;
        }
        if (r < 0)
                return r;
        r = any_exists(root, mk_bin);
        if (r > 0)
                *out = VT_GEN_MKINITCPIO;
        return r < 0 ? r : 0;
}

static char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdup_printf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

/* The first word of /lib/modules/<kver>/pkgbase (Arch: "linux", "linux-lts"). */
static int read_pkgbase(const vt_root *root, const char *kver, char **out)
{
        _cleanup_free_ char *path = strdup_printf("/lib/modules/%s/pkgbase", kver);
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        size_t n;
        int r;

        *out = NULL;
        if (!path)
                return -ENOMEM;
        r = vt_root_read(root, path, &b);
        if (r == -ENOENT || r == -EXDEV || r == -ELOOP || r == -EISDIR) {
                vt_error_clear();
                return 0;
        }
        if (r < 0)
                return r;
        n = strcspn(vt_buf_cstr(&b), " \t\r\n");
        if (n == 0 || memchr(b.ptr, '/', n))
                return 0;
        *out = strndup(b.ptr, n);
        return *out ? 0 : -ENOMEM;
}

static int fill_kernel(const vt_root *root, vt_initramfs_gen gen, const char *kver,
                       vt_boot_kernel *k)
{
        _cleanup_free_ char *pkgbase = NULL;
        char *candidates[3] = {0};
        int r;

        k->version = strdup(kver);
        if (!k->version)
                return -ENOMEM;
        r = read_pkgbase(root, kver, &pkgbase);
        if (r < 0)
                return r;

        candidates[0] = strdup_printf("/boot/vmlinuz-%s", kver);
        candidates[1] = strdup_printf("/lib/modules/%s/vmlinuz", kver);
        candidates[2] = pkgbase ? strdup_printf("/boot/vmlinuz-%s", pkgbase) : NULL;
        for (size_t i = 0; i < 3 && r >= 0; i++) {
                if (!candidates[i] && (i < 2 || pkgbase)) {
                        r = -ENOMEM;
                        break;
                }
                if (!candidates[i] || k->image)
                        continue;
                r = exists(root, candidates[i]);
                if (r > 0)
                        k->image = TAKE_PTR(candidates[i]);
        }
        for (size_t i = 0; i < 3; i++)
                free(candidates[i]);
        if (r < 0)
                return r;

        switch (gen) {
        case VT_GEN_INITRAMFS_TOOLS:
                k->initramfs = strdup_printf("/boot/initrd.img-%s", kver);
                break;
        case VT_GEN_DRACUT: {
                _cleanup_free_ char *debian = strdup_printf("/boot/initrd.img-%s", kver);

                k->initramfs = strdup_printf("/boot/initramfs-%s.img", kver);
                if (!debian || !k->initramfs)
                        return -ENOMEM;
                /* Debian's dracut keeps Debian's file name. */
                if ((r = exists(root, k->initramfs)) == 0 && (r = exists(root, debian)) > 0) {
                        free(k->initramfs);
                        k->initramfs = TAKE_PTR(debian);
                }
                if (r < 0)
                        return r;
                break;
        }
        case VT_GEN_MKINITCPIO:
                if (!pkgbase)
                        return 0;
                k->initramfs = strdup_printf("/boot/initramfs-%s.img", pkgbase);
                k->preset = TAKE_PTR(pkgbase);
                break;
        default:
                return 0;
        }
        if (!k->initramfs)
                return -ENOMEM;
        r = exists(root, k->initramfs);
        if (r < 0)
                return r;
        k->have_initramfs = r > 0;
        return 0;
}

int vt_rebuild_host_detect(const vt_root *root, const vt_kernel_list *kl, vt_rebuild_host *out)
{
        static const struct {
                const char *path;
                unsigned flag;
        } hooks[] = {
            {"/etc/initramfs/post-update.d/systemd-boot", VT_HOOK_SYSTEMD_BOOT},
            {"/etc/initramfs/post-update.d/proxmox-boot-sync", VT_HOOK_PROXMOX},
            {"/etc/initramfs/post-update.d/zz-kernelstub", VT_HOOK_KERNELSTUB},
        };
        vt_rebuild_host h = {0};
        int r;

        *out = (vt_rebuild_host){0};
        r = detect_gen(root, &h.gen);
        if (r < 0)
                return r;
        for (size_t i = 0; h.gen == VT_GEN_INITRAMFS_TOOLS && i < ARRAY_SIZE(hooks); i++) {
                r = exists(root, hooks[i].path);
                if (r < 0)
                        return r;
                if (r > 0)
                        h.post_update_hooks |= hooks[i].flag;
        }
        h.kernels = calloc(kl->n ? kl->n : 1, sizeof(*h.kernels));
        if (!h.kernels)
                return -ENOMEM;
        for (size_t i = 0; i < kl->n; i++) {
                h.n_kernels++;
                r = fill_kernel(root, h.gen, kl->items[i].version, &h.kernels[i]);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                vt_rebuild_host_free(&h);
                return r;
        }
        *out = h;
        return 0;
}

void vt_rebuild_host_free(vt_rebuild_host *h)
{
        for (size_t i = 0; h && i < h->n_kernels; i++) {
                free(h->kernels[i].version);
                free(h->kernels[i].image);
                free(h->kernels[i].initramfs);
                free(h->kernels[i].preset);
        }
        if (h) {
                free(h->kernels);
                *h = (vt_rebuild_host){0};
        }
}

/* `path` is `entry` itself, or below it when entry ends in '/'. */
static bool path_matches(const char *path, const char *entry)
{
        size_t n = strlen(entry);

        if (entry[n - 1] == '/')
                return strncmp(path, entry, n) == 0 && path[n] != '\0';
        return strcmp(path, entry) == 0;
}

static bool matches_any(const char *path, const char *const *entries, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (path_matches(path, entries[i]))
                        return true;
        return false;
}

bool vt_rebuild_path_affects_initramfs(const char *path)
{
        static const char *const inputs[] = {
            "/etc/modprobe.d/",     "/lib/modprobe.d/",
            "/usr/lib/modprobe.d/", "/etc/modules",
            "/etc/modules-load.d/", "/etc/initramfs-tools/",
            "/etc/dracut.conf",     "/etc/dracut.conf.d/",
            "/etc/mkinitcpio.conf", "/etc/mkinitcpio.conf.d/",
            "/etc/mkinitcpio.d/",   "/etc/vfiotx/override.conf",
        };

        /* The profile (/etc/vfiotx/vfiotx.conf) is not in the initramfs: only what it
         * produces is, so a change of the profile alone rebuilds nothing. */

        return path && matches_any(path, inputs, ARRAY_SIZE(inputs));
}

bool vt_rebuild_path_affects_cmdline(const char *path)
{
        static const char *const inputs[] = {
            "/etc/default/grub",
            "/etc/default/grub.d/",
            "/etc/kernel/cmdline",
            "/etc/kernelstub/configuration",
        };

        return path && matches_any(path, inputs, ARRAY_SIZE(inputs));
}

static void step_free(vt_rebuild_step *s)
{
        for (size_t i = 0; s->argv && s->argv[i]; i++)
                free(s->argv[i]);
        for (size_t i = 0; s->env && s->env[i]; i++)
                free(s->env[i]);
        free(s->argv);
        free(s->env);
        free(s->description);
        free(s->kver);
        free(s->artifact);
}

void vt_rebuild_plan_free(vt_rebuild_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++)
                step_free(&p->steps[i]);
        free(p->steps);
        vt_buf_free(&p->notes);
        *p = (vt_rebuild_plan){0};
}

static char **strv_new(const char *const *words)
{
        size_t n = 0;
        char **v;

        while (words[n])
                n++;
        v = calloc(n + 1, sizeof(*v));
        for (size_t i = 0; v && i < n; i++) {
                v[i] = strdup(words[i]);
                if (!v[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(v[j]);
                        free(v);
                        return NULL;
                }
        }
        return v;
}

/* Append a step; argv and env are NULL-terminated word lists (env may be NULL). */
static int add_step(vt_rebuild_plan *p, const char *const *argv, const char *const *env,
                    const char *kver, vt_artifact_kind kind, const char *artifact,
                    const char *description)
{
        vt_rebuild_step *grown = realloc(p->steps, (p->n + 1) * sizeof(*grown));
        vt_rebuild_step s = {0};

        if (!grown)
                return -ENOMEM;
        p->steps = grown;
        s.argv = strv_new(argv);
        s.env = env ? strv_new(env) : NULL;
        s.description = strdup(description);
        s.kver = kver ? strdup(kver) : NULL;
        s.artifact_kind = artifact ? kind : VT_ARTIFACT_NONE;
        s.artifact = artifact ? strdup(artifact) : NULL;
        if (!s.argv || (env && !s.env) || !s.description || (kver && !s.kver) ||
            (artifact && !s.artifact)) {
                step_free(&s);
                return -ENOMEM;
        }
        p->steps[p->n++] = s;
        return 0;
}

static bool preset_seen(const vt_rebuild_host *h, size_t upto, const char *preset)
{
        for (size_t i = 0; i < upto; i++)
                if (h->kernels[i].have_initramfs && h->kernels[i].preset &&
                    strcmp(h->kernels[i].preset, preset) == 0)
                        return true;
        return false;
}

/* One initramfs step per kernel that has one; rebuilt[i] says which kernels got one. */
static int plan_initramfs(const vt_rebuild_host *h, const vt_boot_path *boot, vt_rebuild_plan *p,
                          bool *rebuilt)
{
        static const char *const no_hook_env[] = {"INITRAMFS_TOOLS_KERNEL_HOOK=1", NULL};
        bool all_presets_done = false;
        int r = 0;

        if (h->gen == VT_GEN_NONE)
                return vt_buf_puts(&p->notes, "no initramfs generator found (initramfs-tools, "
                                              "dracut, mkinitcpio): no initramfs is rebuilt\n");
        for (size_t i = 0; i < h->n_kernels && r >= 0; i++) {
                const vt_boot_kernel *k = &h->kernels[i];
                char desc[512];

                if (h->gen == VT_GEN_MKINITCPIO && !k->preset) {
                        /* Without pkgbase the preset is unknown: build every preset once. */
                        static const char *const all[] = {"mkinitcpio", "-P", NULL};

                        rebuilt[i] = true;
                        if (all_presets_done)
                                continue;
                        all_presets_done = true;
                        r = add_step(p, all, NULL, NULL, VT_ARTIFACT_NONE, NULL,
                                     "rebuild the initramfs of every mkinitcpio preset");
                        continue;
                }
                if (!k->have_initramfs) {
                        r = vt_buf_printf(&p->notes, "kernel %s: no initramfs at %s, not rebuilt\n",
                                          k->version, k->initramfs ? k->initramfs : "(unknown)");
                        continue;
                }
                rebuilt[i] = true;
                snprintf(desc, sizeof(desc), "rebuild the initramfs of %s (%s)", k->version,
                         vt_initramfs_gen_name(h->gen));
                if (h->gen == VT_GEN_INITRAMFS_TOOLS) {
                        const char *argv[] = {"update-initramfs", "-u", "-k", k->version, NULL};

                        /* On Proxmox one refresh at the end copies every initrd to the ESPs;
                         * the hook would otherwise refresh once per kernel. */
                        r = add_step(p, argv, boot->kind == VT_BOOTCFG_PROXMOX ? no_hook_env : NULL,
                                     k->version, VT_ARTIFACT_INITRAMFS, k->initramfs, desc);
                } else if (h->gen == VT_GEN_DRACUT) {
                        const char *argv[] = {"dracut",   "-f",         "--kver",
                                              k->version, k->initramfs, NULL};

                        r = add_step(p, argv, NULL, k->version, VT_ARTIFACT_INITRAMFS, k->initramfs,
                                     desc);
                } else {
                        const char *argv[] = {"mkinitcpio", "-p", k->preset, NULL};

                        if (preset_seen(h, i, k->preset))
                                continue;
                        snprintf(desc, sizeof(desc), "rebuild the initramfs of preset %s (%s)",
                                 k->preset, k->version);
                        r = add_step(p, argv, NULL, k->version, VT_ARTIFACT_INITRAMFS, k->initramfs,
                                     desc);
                }
        }
        return r;
}

static int plan_boot(const vt_rebuild_host *h, const vt_boot_path *boot, bool cmdline,
                     bool initramfs, const bool *rebuilt, vt_rebuild_plan *p)
{
        int r = 0;

        switch (boot->kind) {
        case VT_BOOTCFG_GRUB: {
                const char *cfg = boot->grub_cfg ? boot->grub_cfg : "/boot/grub/grub.cfg";
                const char *mkconfig = boot->grub_mkconfig ? boot->grub_mkconfig : "grub-mkconfig";
                char desc[512];

                if (!cmdline)
                        return 0;
                snprintf(desc, sizeof(desc), "regenerate %s with the new kernel command line", cfg);
                if (boot->have_update_grub && strcmp(cfg, "/boot/grub/grub.cfg") == 0) {
                        const char *argv[] = {"update-grub", NULL};

                        return add_step(p, argv, NULL, NULL, VT_ARTIFACT_GRUB_CFG, cfg, desc);
                }
                const char *argv[] = {mkconfig, "-o", cfg, NULL};

                return add_step(p, argv, NULL, NULL, VT_ARTIFACT_GRUB_CFG, cfg, desc);
        }
        case VT_BOOTCFG_SYSTEMD_BOOT:
                for (size_t i = 0; i < h->n_kernels && r >= 0; i++) {
                        const vt_boot_kernel *k = &h->kernels[i];
                        bool hook_did = rebuilt[i] && (h->post_update_hooks & VT_HOOK_SYSTEMD_BOOT);
                        char desc[512];

                        if (!(cmdline || rebuilt[i]) || hook_did)
                                continue;
                        if (!k->image) {
                                r = vt_buf_printf(&p->notes,
                                                  "kernel %s: no kernel image in /boot, its boot "
                                                  "entry is not regenerated\n",
                                                  k->version);
                                continue;
                        }
                        const char *argv[] = {"kernel-install", "add", k->version, k->image, NULL};

                        snprintf(desc, sizeof(desc), "regenerate the boot entry of %s%s",
                                 k->version, cmdline ? " with the new kernel command line" : "");
                        r = add_step(p, argv, NULL, k->version, VT_ARTIFACT_LOADER_ENTRIES,
                                     boot->entries_dir, desc);
                }
                return r;
        case VT_BOOTCFG_PROXMOX: {
                const char *tool = boot->proxmox_tool ? boot->proxmox_tool : "proxmox-boot-tool";
                const char *argv[] = {tool, "refresh", NULL};

                if (!cmdline && !initramfs)
                        return 0;
                return add_step(p, argv, NULL, NULL, VT_ARTIFACT_NONE, NULL,
                                cmdline ? "copy kernels, initrds and the new command line to "
                                          "every ESP"
                                        : "copy the rebuilt initrds to every ESP");
        }
        case VT_BOOTCFG_KERNELSTUB: {
                const char *argv[] = {"kernelstub", NULL};

                if (!cmdline && !(initramfs && !(h->post_update_hooks & VT_HOOK_KERNELSTUB)))
                        return 0;
                return add_step(p, argv, NULL, NULL, VT_ARTIFACT_NONE, NULL,
                                "copy the kernel, initrd and command line to the EFI partition");
        }
        default:
                if (cmdline)
                        return vt_buf_puts(&p->notes, "no boot configuration tool detected: the "
                                                      "new kernel command line is not applied by "
                                                      "a rebuild\n");
                return 0;
        }
}

/* The first of the names (NULL-terminated) that exists as dir + name inside the root, else
 * `fallback`: where a tool or directory lives differs between releases. */
static const char *first_existing_v(const vt_root *root, const char *dir, const char *fallback,
                                    const char *const *names)
{
        for (const char *const *n = names; *n; n++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s", dir, *n) < 0)
                        break;
                if (vt_root_exists(root, p) == 1)
                        return *n;
        }
        return fallback;
}
#define first_existing(root, dir, fallback, ...)                                                   \
        first_existing_v(root, dir, fallback, (const char *const[]){__VA_ARGS__, NULL})

void vt_boot_path_of(const vt_root *root, const vt_boot_info *boot, vt_boot_path *out)
{
        *out = (vt_boot_path){0};
        if (boot->flags & VT_BOOT_PROXMOX) {
                out->kind = VT_BOOTCFG_PROXMOX;
                /* pve-efiboot-tool is its name before Proxmox VE 6.4 */
                out->proxmox_tool = first_existing(root, "/usr/sbin/", "proxmox-boot-tool",
                                                   "proxmox-boot-tool", "pve-efiboot-tool");
        } else if (boot->flags & VT_BOOT_SYSTEMD_BOOT) {
                out->kind = VT_BOOTCFG_SYSTEMD_BOOT;
                out->entries_dir =
                    first_existing(root, "", "/boot/loader/entries", "/boot/efi/loader/entries",
                                   "/efi/loader/entries");
        } else if (boot->flags & (VT_BOOT_GRUB_BIOS | VT_BOOT_GRUB_EFI)) {
                out->kind = VT_BOOTCFG_GRUB;
                out->grub_cfg = "/boot/grub/grub.cfg";
                out->have_update_grub = vt_root_exists(root, "/usr/sbin/update-grub") == 1;
                out->grub_mkconfig = "grub-mkconfig";
        } else if (boot->flags & VT_BOOT_KERNELSTUB) {
                out->kind = VT_BOOTCFG_KERNELSTUB;
        }
        vt_error_clear();
}

int vt_rebuild_plan_make(const vt_rebuild_host *host, const vt_boot_path *boot,
                         const char *const *changed, size_t n_changed, vt_rebuild_plan *out)
{
        static const vt_boot_path no_boot = {0};
        _cleanup_free_ bool *rebuilt = NULL;
        bool initramfs = false, cmdline = false;
        vt_rebuild_plan p = {0};
        int r = 0;

        *out = (vt_rebuild_plan){0};
        if (!boot)
                boot = &no_boot;
        for (size_t i = 0; i < n_changed; i++) {
                initramfs |= vt_rebuild_path_affects_initramfs(changed[i]);
                cmdline |= vt_rebuild_path_affects_cmdline(changed[i]);
        }
        rebuilt = calloc(host->n_kernels + 1, sizeof(*rebuilt));
        if (!rebuilt)
                return -ENOMEM;
        if (initramfs)
                r = plan_initramfs(host, boot, &p, rebuilt);
        if (r >= 0 && (initramfs || cmdline))
                r = plan_boot(host, boot, cmdline, initramfs, rebuilt, &p);
        if (r < 0) {
                vt_rebuild_plan_free(&p);
                return r;
        }
        *out = p;
        return 0;
}

int vt_rebuild_plan_describe(const vt_rebuild_plan *p, vt_buf *out)
{
        _cleanup_buf_ vt_buf cmd = VT_BUF_INIT;
        int r = 0;

        vt_buf_clear(out);
        for (size_t i = 0; i < p->n && r >= 0; i++) {
                r = vt_argv_format((const char *const *)p->steps[i].argv, &cmd);
                if (r >= 0)
                        r = vt_buf_printf(out, "[%zu/%zu] %s  (%s)\n", i + 1, p->n, cmd.ptr,
                                          p->steps[i].description);
        }
        return r;
}

bool vt_path_manageable(const char *path)
{
        const char *p;

        if (!path || strncmp(path, "/etc/", 5) != 0)
                return false;
        /* Clean: no empty, "." or ".." component. */
        for (p = path; *p; p++) {
                if (*p != '/')
                        continue;
                if (p[1] == '/' || p[1] == '\0')
                        return false;
                if (p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
                        return false;
                if (p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0'))
                        return false;
        }
        /* vfiotx's own files (the profile) and the inputs of the initramfs and command line */
        return strncmp(path, "/etc/vfiotx/", 12) == 0 || vt_rebuild_path_affects_initramfs(path) ||
               vt_rebuild_path_affects_cmdline(path);
}

bool vt_path_vfiotx_own(const char *path)
{
        static const char *const dirs[] = {"/etc/modprobe.d/vfiotx", "/etc/dracut.conf.d/vfiotx",
                                           "/etc/mkinitcpio.conf.d/vfiotx"};

        if (!vt_path_manageable(path))
                return false;
        if (strncmp(path, "/etc/vfiotx/", 12) == 0)
                return true;
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (strncmp(path, dirs[i], strlen(dirs[i])) == 0 &&
                    !strchr(path + strlen(dirs[i]), '/'))
                        return true;
        return false;
}
