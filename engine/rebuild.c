#include "engine/rebuild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bootcount_grub.h"
#include "backends/bootloader.h"
#include "backends/early_modules.h"
#include "backends/initramfs_verify.h"
#include "backends/kernels.h"
#include "backends/modprobe.h"
#include "common/error.h"
#include "common/macro.h"

int vt_rebuild_make(vt_facts *facts, const char *const *changed, size_t n_changed,
                    vt_rebuild_plan *out)
{
        const vt_root *root = facts->root;
        const vt_rebuild_host *host;
        const vt_boot_info *boot;
        vt_boot_path path = {0};
        int r;

        *out = (vt_rebuild_plan){0};
        r = vt_facts_rebuild(facts, &host);
        if (r >= 0)
                r = vt_facts_boot(facts, &boot);
        if (r < 0)
                return r;
        vt_boot_path_of(root, boot, &path);
        vt_error_clear();
        return vt_rebuild_plan_make(host, &path, changed, n_changed, out);
}

static const char *const own_files[] = {VT_MODPROBE_CONF_PATH, VT_MODPROBE_BLACKLIST_PATH,
                                        VT_OVERRIDE_CONF_PATH};

static int verify_initramfs(vt_facts *facts, const vt_rebuild_step *s, const vt_rebuild_expect *x,
                            vt_buf *report)
{
        vt_expect_file files[ARRAY_SIZE(own_files)];
        const vt_kernel_list *kernels;
        const vt_kernel *k = NULL;
        vt_initramfs_expect e = {.kver = s->kver};
        vt_initramfs_report rep = {0};
        vt_strv mods = {0};
        size_t nf = 0;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(own_files); i++) {
                const vt_snap_file *f = vt_snapshot_find(x->files, own_files[i]);

                if (!f)
                        continue;
                files[nf++] = (vt_expect_file){own_files[i] + 1, vt_buf_cstr(&f->data), f->data.len,
                                               !f->present};
        }
        r = vt_facts_kernels(facts, &kernels);
        for (size_t i = 0; r >= 0 && i < kernels->n; i++)
                if (s->kver && strcmp(kernels->items[i].version, s->kver) == 0)
                        k = &kernels->items[i];
        if (r >= 0 && x->vfio_modules && k)
                r = vt_early_modules(k, 1, &mods);
        if (r < 0)
                goto done;
        e.modules = (const char *const *)mods.items;
        e.n_modules = mods.n;
        e.builtin = k ? k->builtin : NULL;
        e.files = files;
        e.n_files = nf;
        r = vt_initramfs_verify(facts->root, s->artifact, &e, &rep);
        if (r >= 0 && rep.findings.n) {
                vt_verify_findings_format(&rep.findings, report);
                r = -EBADMSG;
        }
done:
        vt_initramfs_report_free(&rep);
        vt_strv_free(&mods);
        return r;
}

static int verify_cmdline(const vt_root *root, const vt_rebuild_step *s, const vt_rebuild_expect *x,
                          vt_buf *report)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        vt_verify_findings f = {0};
        int r;

        if (s->artifact_kind == VT_ARTIFACT_LOADER_ENTRIES)
                return 0; /* entries are named by the machine id: checked by kernel-install */
        r = vt_root_read(root, s->artifact, &text);
        if (r >= 0)
                r = vt_cmdline_verify_text(vt_buf_cstr(&text), text.len, VT_CMDLINE_GRUB_CFG,
                                           s->artifact, NULL, x->words_wanted, x->n_wanted,
                                           x->words_unwanted, x->n_unwanted, &f);
        if (r >= 0 && f.n) {
                vt_verify_findings_format(&f, report);
                r = -EBADMSG;
        }
        if (r >= 0 && x->grub_counter &&
            vt_grub_cfg_has_counter(vt_buf_cstr(&text), text.len) < 0) {
                vt_buf_printf(report, "%s: %s\n", s->artifact, vt_error_message());
                r = -EBADMSG;
        }
        vt_verify_findings_free(&f);
        return r;
}

int vt_rebuild_verify(vt_facts *facts, const vt_rebuild_plan *plan, const vt_rebuild_expect *expect,
                      vt_buf *report)
{
        int r = 0, bad = 0;

        for (size_t i = 0; i < plan->n; i++) {
                const vt_rebuild_step *s = &plan->steps[i];
                size_t had = report->len;

                if (s->artifact_kind == VT_ARTIFACT_INITRAMFS)
                        r = verify_initramfs(facts, s, expect, report);
                else if (s->artifact_kind == VT_ARTIFACT_GRUB_CFG ||
                         s->artifact_kind == VT_ARTIFACT_LOADER_ENTRIES)
                        r = verify_cmdline(facts->root, s, expect, report);
                else
                        r = 0;
                /* An artifact that cannot be read at all (not an archive, damaged) has no
                 * findings, only the error: that is what the report must say for it. */
                if (r == -EBADMSG && report->len == had)
                        vt_buf_printf(report, "%s: %s\n", s->artifact, vt_error_message());
                if (r == -EBADMSG)
                        bad++;
                else if (r < 0)
                        return vt_error_wrap(r, "verifying %s", s->artifact);
        }
        if (bad)
                return vt_error_hint(vt_error_set(EBADMSG,
                                                  "what the rebuild built is not what "
                                                  "the files say:\n%s",
                                                  vt_buf_cstr(report)),
                                     "the files were put back; check the generator's "
                                     "configuration (hooks that drop files or modules)");
        return 0;
}
