#include "backends/cmdline_params.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"

static bool config_y(const vt_kernel *k, const char *name)
{
        _cleanup_free_ char *v = vt_kernel_config(k, name);

        return v && strcmp(v, "y") == 0;
}

int vt_cmdline_kernel_facts_from(const vt_kernel *k, vt_cmdline_kernel_facts *out)
{
        *out = (vt_cmdline_kernel_facts){k->version, VT_INTEL_IOMMU_UNKNOWN, false, false};
        if (k->config) {
                /* Debian's choice sets exactly one of these; upstream has only the first. */
                if (config_y(k, "INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF"))
                        out->intel_iommu = VT_INTEL_IOMMU_ON_INTGPU_OFF;
                else if (config_y(k, "INTEL_IOMMU_DEFAULT_ON"))
                        out->intel_iommu = VT_INTEL_IOMMU_ON;
                else
                        out->intel_iommu = VT_INTEL_IOMMU_OFF;
                out->sysfb_simplefb = config_y(k, "SYSFB_SIMPLEFB");
        }
        out->vfio_pci_builtin = vt_kernel_module(k, "vfio_pci") == VT_MODULE_BUILTIN;
        return 0;
}

static int reason(vt_cmdline_plan *p, const char *word, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reason(vt_cmdline_plan *p, const char *word, const char *fmt, ...)
{
        vt_cmdline_reason *n = realloc(p->reasons, (p->n_reasons + 1) * sizeof(*n));
        va_list ap;
        char *why = NULL;
        int l;

        if (!n)
                return vt_error_set(ENOMEM, "out of memory");
        p->reasons = n;
        va_start(ap, fmt);
        l = vasprintf(&why, fmt, ap);
        va_end(ap);
        if (l < 0)
                return vt_error_set(ENOMEM, "out of memory");
        n[p->n_reasons].why = why;
        n[p->n_reasons].word = word ? strdup(word) : NULL;
        if (word && !n[p->n_reasons].word) {
                free(why);
                return vt_error_set(ENOMEM, "out of memory");
        }
        p->n_reasons++;
        return 0;
}

/* A derived parameter, unless the user's own additions or removals decide that setting. */
static int derived(vt_cmdline_plan *p, const vt_cmdline_change *user, const char *word,
                   const char *why)
{
        _cleanup_cmdline_change_ vt_cmdline_change one = VT_CMDLINE_CHANGE_INIT;
        const vt_cmdline_param *d;
        int r;

        r = vt_cmdline_change_add(&one, word);
        if (r < 0)
                return r;
        d = &one.add[0];
        for (size_t i = 0; i < user->n_add; i++)
                if (vt_cmdline_same_param(d->name, d->value, user->add[i].name, user->add[i].value))
                        return 0;
        for (size_t i = 0; i < user->n_remove; i++)
                if (vt_cmdline_matches_removal(&user->remove[i], d->name, d->value))
                        return 0;
        r = vt_cmdline_change_add(&p->change, word);
        return r < 0 ? r : reason(p, word, "%s", why);
}

static int derive_intel(vt_cmdline_plan *p, const vt_cmdline_facts *f, const vt_cmdline_change *u)
{
        bool on = false, igfx_off = false;
        _cleanup_buf_ vt_buf why = VT_BUF_INIT, word = VT_BUF_INIT;
        int r = 0;

        for (size_t i = 0; i < f->n_kernels; i++) {
                const vt_cmdline_kernel_facts *k = &f->kernels[i];

                switch (k->intel_iommu) {
                case VT_INTEL_IOMMU_ON:
                        igfx_off = igfx_off || f->igpu == VT_IGPU_HOST;
                        break;
                case VT_INTEL_IOMMU_ON_INTGPU_OFF:
                        on = on || f->igpu == VT_IGPU_PASSTHROUGH;
                        break;
                default:
                        on = true;
                        igfx_off = igfx_off || f->igpu == VT_IGPU_HOST;
                        break;
                }
        }
        if (f->n_kernels == 0) {
                on = true;
                igfx_off = f->igpu == VT_IGPU_HOST;
        }
        if (!on && !igfx_off)
                return reason(p, NULL,
                              "no intel_iommu= needed: every target kernel enables the "
                              "Intel IOMMU by default for the devices passed through");
        r = vt_buf_printf(&word, "intel_iommu=%s%s%s", on ? "on" : "", on && igfx_off ? "," : "",
                          igfx_off ? "igfx_off" : "");
        if (r >= 0 && on) {
                r = vt_buf_puts(&why, "enable the Intel IOMMU (VT-d): ");
                for (size_t i = 0; i < f->n_kernels && r >= 0; i++) {
                        const vt_cmdline_kernel_facts *k = &f->kernels[i];
                        const char *s = k->intel_iommu == VT_INTEL_IOMMU_OFF ? "off by default"
                                        : k->intel_iommu == VT_INTEL_IOMMU_UNKNOWN
                                            ? "no /boot/config, assumed off"
                                        : k->intel_iommu == VT_INTEL_IOMMU_ON_INTGPU_OFF
                                            ? "on except the integrated GPU, which is passed "
                                              "through"
                                            : "on by default";
                        r = vt_buf_printf(&why, "%s%s %s", i ? "; " : "", k->version, s);
                }
                if (r >= 0 && f->n_kernels == 0)
                        r = vt_buf_puts(&why, "no kernel's configuration is known");
        }
        if (r >= 0 && igfx_off)
                r = vt_buf_printf(&why,
                                  "%sthe integrated GPU stays with the host: igfx_off keeps "
                                  "its graphics remapping unit out of the way",
                                  on ? "; " : "");
        if (r < 0)
                return vt_error_set(r, "out of memory");
        return derived(p, u, vt_buf_cstr(&word), vt_buf_cstr(&why));
}

int vt_cmdline_params_derive(const vt_cmdline_facts *f, vt_cmdline_plan *out)
{
        _cleanup_cmdline_change_ vt_cmdline_change user = VT_CMDLINE_CHANGE_INIT;
        vt_cmdline_plan p = {VT_CMDLINE_CHANGE_INIT, NULL, 0};
        bool builtin = false, simplefb = false;
        int r = 0;

        for (size_t i = 0; i < f->n_user_remove && r >= 0; i++)
                r = vt_cmdline_change_remove(&user, f->user_remove[i]);
        for (size_t i = 0; i < f->n_user_add && r >= 0; i++)
                r = vt_cmdline_change_add(&user, f->user_add[i]);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < f->n_kernels; i++) {
                builtin = builtin || f->kernels[i].vfio_pci_builtin;
                simplefb = simplefb || f->kernels[i].sysfb_simplefb;
        }

        if (!f->no_iommu_params) {
                if (f->cpu == VT_CPU_INTEL)
                        r = derive_intel(&p, f, &user);
                else if (f->cpu == VT_CPU_AMD && f->amd_ivrs)
                        r = reason(&p, NULL,
                                   "no amd_iommu= needed: the firmware's IVRS table "
                                   "turns the AMD IOMMU on by default");
                else if (f->cpu == VT_CPU_AMD)
                        r = reason(&p, NULL,
                                   "no IVRS table: the AMD IOMMU is off in the firmware "
                                   "and no kernel parameter can turn it on; enable "
                                   "AMD-Vi/IOMMU in the firmware setup");
                if (r >= 0 && !f->iommu_only)
                        r = derived(
                            &p, &user, "iommu=pt",
                            "identity-map the host's own devices: only devices given to "
                            "a VM pay for DMA translation (this does not enable the IOMMU)");
                if (r >= 0 && f->boot_display_passthrough && f->boot_mode != VT_BOOT_MODE_BIOS)
                        r = derived(&p, &user, "video=efifb:off",
                                    "the boot display is passed through: keep the EFI "
                                    "framebuffer console off it");
                if (r >= 0 && f->boot_display_passthrough && f->boot_mode != VT_BOOT_MODE_EFI)
                        r = derived(&p, &user, "video=vesafb:off",
                                    "the boot display is passed through: keep the VESA "
                                    "framebuffer console off it");
                if (r >= 0 && f->boot_display_passthrough && simplefb)
                        r = derived(&p, &user, "initcall_blacklist=sysfb_init",
                                    "the boot display is passed through and a target kernel "
                                    "hands the firmware framebuffer to simpledrm/simplefb "
                                    "(CONFIG_SYSFB_SIMPLEFB=y), which video=efifb:off does not "
                                    "stop: do not register that framebuffer");
                if (r >= 0 && builtin && f->n_vfio_ids > 0) {
                        _cleanup_buf_ vt_buf w = VT_BUF_INIT;

                        r = vt_buf_puts(&w, "vfio-pci.ids=");
                        for (size_t i = 0; i < f->n_vfio_ids && r >= 0; i++)
                                r = vt_buf_printf(&w, "%s%s", i ? "," : "", f->vfio_ids[i]);
                        if (r >= 0)
                                r = derived(&p, &user, vt_buf_cstr(&w),
                                            "vfio-pci is built into a target kernel: options in "
                                            "modprobe.d do nothing for it, only the command line "
                                            "binds the devices");
                }
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < user.n_add && r >= 0; i++) {
                r = vt_cmdline_change_add(&p.change, user.add[i].word);
                if (r >= 0)
                        r = reason(&p, user.add[i].word, "asked for with --cmdline-add");
        }
        for (size_t i = 0; i < user.n_remove && r >= 0; i++) {
                _cleanup_free_ char *w = NULL;

                r = vt_cmdline_change_remove(&p.change, user.remove[i].word);
                if (r >= 0 && asprintf(&w, "-%s", user.remove[i].word) < 0)
                        r = vt_error_set(ENOMEM, "out of memory");
                if (r >= 0)
                        r = reason(&p, w, "asked for with --cmdline-remove");
        }
        if (r < 0)
                goto fail;
        *out = p;
        return 0;
fail:
        vt_cmdline_plan_free(&p);
        return r;
}

void vt_cmdline_plan_free(vt_cmdline_plan *p)
{
        vt_cmdline_change_free(&p->change);
        for (size_t i = 0; i < p->n_reasons; i++) {
                free(p->reasons[i].word);
                free(p->reasons[i].why);
        }
        free(p->reasons);
        p->reasons = NULL;
        p->n_reasons = 0;
}
