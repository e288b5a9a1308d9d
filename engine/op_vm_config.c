#include "engine/op_vm_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/profile.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/facts.h"

static const char *const target_names[] = {"proxmox", "libvirt", "qemu"};

const char *vt_vm_target_name(vt_vm_target t)
{
        return (unsigned)t < ARRAY_SIZE(target_names) ? target_names[t] : "?";
}

int vt_vm_target_parse(const char *s, vt_vm_target *out)
{
        for (size_t i = 0; i < ARRAY_SIZE(target_names); i++)
                if (strcmp(s, target_names[i]) == 0) {
                        *out = (vt_vm_target)i;
                        return 0;
                }
        return -EINVAL;
}

/* A function of the profile, with what the host says of it now (dev: NULL when missing). */
typedef struct func {
        const vt_profile_device *prof;
        const vt_pci_device *dev;
} func;

static int advise(vt_vm_advice_list *l, const char *code, const char *bdf, const char *evidence,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int advise(vt_vm_advice_list *l, const char *code, const char *bdf, const char *evidence,
                  const char *fmt, ...)
{
        vt_vm_advice *items = realloc(l->items, (l->n + 1) * sizeof(*items));
        va_list ap;
        int r;

        if (!items)
                return -ENOMEM;
        l->items = items;
        items[l->n] = (vt_vm_advice){.code = code, .evidence = evidence};
        snprintf(items[l->n].bdf, sizeof(items[l->n].bdf), "%s", bdf ? bdf : "");
        va_start(ap, fmt);
        r = vasprintf(&items[l->n].message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        l->n++;
        return 0;
}

static void advice_free(vt_vm_advice_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].message);
        free(l->items);
        *l = (vt_vm_advice_list){0};
}

static bool same_slot(const vt_profile_device *a, const vt_profile_device *b)
{
        /* BDFs in the profile are "DDDD:BB:SS.F": the slot is all but ".F" */
        return strncmp(a->bdf, b->bdf, 10) == 0;
}

/* Does the profile hold every function the host has on the slot of f[0], and are there
 * several? (One function is named by its address: "0000:00:02.0" says what it is.) */
static bool every_function(const func *f, size_t n, const vt_pci_list *pci)
{
        size_t on_host = 0;

        if (n < 2)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!f[i].dev)
                        return false;
        for (size_t i = 0; i < pci->n; i++)
                on_host += strncmp(pci->items[i].bdf, f[0].prof->bdf, 10) == 0;
        return on_host == n;
}

/* The quirks of one function as advice, with the members of a shared group named. */
static int quirk_advice(vt_vm_entry *e, const func *f, const vt_quirk_ctx *ctx)
{
        vt_quirk_list q;
        int r = 0;

        if (!f->dev)
                return advise(&e->advice, "missing", f->prof->bdf, NULL,
                              "not on this host now (the profile says %04x:%04x): check 'vfiotx "
                              "devices'",
                              f->prof->vendor, f->prof->device);
        vt_quirks_for(f->dev, ctx, &q);
        for (size_t i = 0; r >= 0 && i < q.n; i++) {
                _cleanup_buf_ vt_buf who = VT_BUF_INIT;
                const vt_pci_device *others[8];
                size_t n = 0;

                e->needs_rom |= !!(q.items[i]->flags & VT_QUIRK_NEEDS_ROM);
                if (q.items[i]->flags & VT_QUIRK_ISOLATION) {
                        n = vt_quirks_group_others(f->dev, ctx, others, ARRAY_SIZE(others));
                        r = vt_buf_printf(&who, "IOMMU group %d also holds", f->dev->iommu_group);
                        for (size_t j = 0; r >= 0 && j < n && j < ARRAY_SIZE(others); j++)
                                r = vt_buf_printf(&who, "%s %s", j ? "," : "", others[j]->bdf);
                        if (r >= 0 && n > ARRAY_SIZE(others))
                                r = vt_buf_printf(&who, " and %zu more", n - ARRAY_SIZE(others));
                        if (r >= 0)
                                r = vt_buf_puts(&who, ": ");
                        if (r < 0)
                                return -ENOMEM;
                }
                r = advise(&e->advice, q.items[i]->code, f->dev->bdf, q.items[i]->evidence, "%s%s",
                           vt_buf_cstr(&who), q.items[i]->advice);
        }
        return r;
}

static int strv_printf(vt_strv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int strv_printf(vt_strv *v, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : vt_strv_push(v, s);
}

static void vmid_text(long vmid, char out[32])
{
        if (vmid >= 0)
                snprintf(out, 32, "%ld", vmid);
        else
                snprintf(out, 32, "<vmid>");
}

/* qm set VMID -hostpciN HOST,pcie=1[,x-vga=1] (Proxmox admin guide 10.9, qm(1) hostpci[n]). */
static int proxmox_entry(vt_vm_entry *e, size_t index, long vmid)
{
        _cleanup_buf_ vt_buf value = VT_BUF_INIT, text = VT_BUF_INIT;
        char id[32];
        int r;

        vmid_text(vmid, id);
        r = vt_buf_printf(&value, "%s,pcie=1%s", e->host, e->primary_gpu ? ",x-vga=1" : "");
        if (r >= 0 && e->needs_rom)
                r = advise(&e->advice, "romfile", e->functions.items[0], NULL,
                           "put a dump of the card's ROM in /usr/share/kvm/ and add "
                           ",romfile=FILE to hostpci%zu (a name relative to /usr/share/kvm/)",
                           index);
        if (r >= 0)
                r = vt_strv_push(&e->argv, "qm");
        if (r >= 0)
                r = vt_strv_push(&e->argv, "set");
        if (r >= 0)
                r = vt_strv_push(&e->argv, id);
        if (r >= 0)
                r = strv_printf(&e->argv, "-hostpci%zu", index);
        if (r >= 0)
                r = vt_strv_push(&e->argv, vt_buf_cstr(&value));
        for (size_t i = 0; r >= 0 && i < e->argv.n; i++)
                r = vt_buf_printf(&text, "%s%s", i ? " " : "", e->argv.items[i]);
        if (r < 0)
                return -ENOMEM;
        e->config = vt_buf_detach(&text);
        return 0;
}

/* One <hostdev> per function (libvirt formatdomain, "Host device assignment": PCI devices). */
static int libvirt_entry(vt_vm_entry *e)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < e->functions.n; i++) {
                unsigned domain, bus, dev, fn;
                bool has_domain;

                if (vt_pci_parse_bdf(e->functions.items[i], &domain, &bus, &dev, &fn, &has_domain) <
                    0)
                        return vt_error_set(EINVAL, "profile device '%s' is not a PCI address",
                                            e->functions.items[i]);
                r = vt_buf_printf(&text,
                                  "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
                                  "  <source>\n"
                                  "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                                  "function='0x%x'/>\n"
                                  "  </source>\n",
                                  domain, bus, dev, fn);
                if (r >= 0 && i == 0 && e->needs_rom)
                        r = vt_buf_puts(&text, "  <!-- a ROM file is advised: "
                                               "<rom file='/path/to/dump.rom'/> -->\n");
                if (r >= 0)
                        r = vt_buf_puts(&text, "</hostdev>\n");
        }
        if (r >= 0 && e->functions.n > 1)
                r = advise(&e->advice, "guest-slot", "", NULL,
                           "libvirt gives each <hostdev> its own guest slot; to keep the "
                           "functions in one, give them one guest <address type='pci' bus='B' "
                           "slot='S'> with function='0x0' multifunction='on' on the first and "
                           "function='0x1', ... on the others");
        if (r >= 0 && e->primary_gpu)
                r = advise(&e->advice, "primary-gpu", e->functions.items[0],
                           "qemu-server PVE/QemuServer/PCI.pm (x-vga=on only without OVMF)",
                           "the VM's primary GPU: boot the domain with UEFI firmware (OVMF), which "
                           "needs no x-vga, and give it no emulated display "
                           "(<video><model type='none'/></video>)");
        if (r < 0)
                return -ENOMEM;
        e->config = vt_buf_detach(&text);
        return 0;
}

/* A PCIe root port per entry, the functions at its slot 0 (qemu-server's PCI.pm does the same:
 * a root port per hostpci, multifunction=on on function 0). Chassis numbers start at 100 so
 * that they do not meet the ports a VM already has (QEMU wants each chassis/slot pair once). */
static int qemu_entry(vt_vm_entry *e, size_t index)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r;

        r = vt_strv_push(&e->argv, "-device");
        if (r >= 0)
                r = strv_printf(&e->argv, "pcie-root-port,id=vfiotx-rp%zu,chassis=%zu", index,
                                100 + index);
        for (size_t i = 0; r >= 0 && i < e->functions.n; i++) {
                r = vt_strv_push(&e->argv, "-device");
                if (r >= 0)
                        r = strv_printf(&e->argv,
                                        "vfio-pci,host=%s,bus=vfiotx-rp%zu,addr=00.%zu%s%s",
                                        e->functions.items[i], index, i,
                                        i == 0 && e->functions.n > 1 ? ",multifunction=on" : "",
                                        i == 0 && e->primary_gpu ? ",x-vga=on" : "");
        }
        if (r >= 0 && e->needs_rom)
                r = advise(&e->advice, "romfile", e->functions.items[0], NULL,
                           "add romfile=/path/to/dump.rom (a dump of the card's ROM) to the "
                           "-device of %s",
                           e->functions.items[0]);
        if (r >= 0 && e->primary_gpu)
                r = advise(&e->advice, "primary-gpu", e->functions.items[0],
                           "qemu-server PVE/QemuServer/PCI.pm (x-vga=on, the VM's VGA set to none)",
                           "x-vga=on makes it the VM's primary VGA: add -vga none; with UEFI "
                           "firmware (OVMF) x-vga is not needed");
        for (size_t i = 0; r >= 0 && i < e->argv.n; i += 2)
                r = vt_buf_printf(&text, "%s %s\n", e->argv.items[i], e->argv.items[i + 1]);
        if (r < 0)
                return -ENOMEM;
        e->config = vt_buf_detach(&text);
        return 0;
}

static int add_entry(vt_op_vm_config_result *res, const func *f, size_t n, bool all_functions,
                     bool primary, const vt_quirk_ctx *ctx)
{
        vt_vm_entry *entries = realloc(res->entries, (res->n_entries + 1) * sizeof(*entries));
        vt_vm_entry *e;
        int r = 0;

        if (!entries)
                return -ENOMEM;
        res->entries = entries;
        e = &entries[res->n_entries++];
        *e = (vt_vm_entry){.all_functions = all_functions, .primary_gpu = primary};
        /* the slot: "DDDD:BB:SS" of "DDDD:BB:SS.F" */
        snprintf(e->host, sizeof(e->host), "%.*s", all_functions ? 10 : 12, f[0].prof->bdf);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = vt_strv_push(&e->functions, f[i].prof->bdf);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = quirk_advice(e, &f[i], ctx);
        if (r < 0)
                return r;
        switch (res->target) {
        case VT_VM_PROXMOX:
                return proxmox_entry(e, res->n_entries - 1, res->vmid);
        case VT_VM_LIBVIRT:
                return libvirt_entry(e);
        case VT_VM_QEMU:
                return qemu_entry(e, res->n_entries - 1);
        }
        return -EINVAL;
}

static bool is_vga(const func *f)
{
        return f->dev && vt_pci_class16(f->dev) == 0x0300;
}

/* The entries: the profile's devices slot by slot (the profile is sorted by BDF). */
static int build(vt_op_vm_config_result *res, const vt_profile *p, const vt_pci_list *pci,
                 const vt_quirk_ctx *ctx)
{
        _cleanup_free_ func *f = calloc(p->n_devices, sizeof(*f));
        bool primary_done = false;
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_devices; i++)
                f[i] = (func){.prof = &p->devices[i], .dev = vt_pci_find(pci, p->devices[i].bdf)};
        for (size_t i = 0, n; r >= 0 && i < p->n_devices; i += n) {
                bool all, primary = false;

                for (n = 1; i + n < p->n_devices && same_slot(f[i].prof, f[i + n].prof); n++)
                        ;
                all = every_function(&f[i], n, pci);
                /* Proxmox's all-functions shorthand is its one way to keep a slot together;
                 * a slot passed in part is one hostpci per function there. */
                if (res->target == VT_VM_PROXMOX && !all) {
                        for (size_t j = 0; r >= 0 && j < n; j++) {
                                primary = !primary_done && is_vga(&f[i + j]);
                                primary_done |= primary;
                                r = add_entry(res, &f[i + j], 1, false, primary, ctx);
                        }
                        continue;
                }
                for (size_t j = 0; j < n && !primary_done; j++)
                        primary = primary_done = is_vga(&f[i + j]);
                r = add_entry(res, &f[i], n, all, primary, ctx);
        }
        return r;
}

static int machine_advice(vt_op_vm_config_result *res)
{
        char id[32];
        /* Proxmox admin guide 10.9: "PCIe is only available for q35 machine types". */
        static const char evidence[] = "Proxmox admin guide 10.9 (pcie: needs the q35 machine); "
                                       "qemu-server PCI.pm ('q35 machine model is not enabled')";

        vmid_text(res->vmid, id);
        switch (res->target) {
        case VT_VM_PROXMOX:
                return advise(&res->advice, "q35", "", evidence,
                              "pcie=1 needs the q35 machine: qm set %s -machine q35", id);
        case VT_VM_LIBVIRT:
                return advise(&res->advice, "q35", "", evidence,
                              "use a q35 machine (<type machine='q35'>hvm</type> in <os>) so "
                              "that the devices are PCIe; add the elements inside <devices> "
                              "(virsh edit DOMAIN)");
        case VT_VM_QEMU:
                return advise(&res->advice, "q35", "", evidence,
                              "the PCIe root ports need a q35 machine: -machine q35");
        }
        return -EINVAL;
}

int vt_op_vm_config(const vt_op_env *env, const vt_op_vm_config_request *req,
                    vt_op_vm_config_result *res)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        _cleanup_free_ char *kernel = NULL, *osrelease = NULL;
        vt_profile profile = {0};
        vt_strv passed = {0};
        const vt_pci_list *pci;
        vt_facts facts;
        vt_engine e;
        int r;

        *res = (vt_op_vm_config_result){.target = req->target, .vmid = req->vmid};
        r = vt_op_open(&e, env, VT_ENGINE_READ, NULL);
        if (r < 0) {
                vt_engine_close(&e);
                return r;
        }
        vt_facts_init(&facts, &e.root, env->sysfs, env->proc);
        r = vt_root_read(&e.root, VT_PROFILE_PATH, &text);
        if (r == -ENOENT) {
                vt_error_clear();
                r = 0;
        }
        if (r >= 0)
                r = vt_profile_parse(VT_PROFILE_PATH, vt_buf_cstr(&text), text.len, &profile);
        if (r >= 0 && profile.n_devices == 0) {
                vt_error_set(ENOENT, "no devices to configure: the profile %s has none",
                             VT_PROFILE_PATH);
                r = vt_error_hint(ENOENT, "add them with 'vfiotx apply --device BDF' ('vfiotx "
                                          "devices' lists them)");
        }
        if (r >= 0) {
                r = vt_facts_pci(&facts, &pci);
                if (r < 0 && !vt_error_message())
                        vt_error_wrap(r, "scanning PCI devices");
        }
        for (size_t i = 0; r >= 0 && i < profile.n_devices; i++)
                r = vt_strv_push(&passed, profile.devices[i].bdf);
        if (r >= 0) {
                vt_quirk_ctx ctx = {.all = pci,
                                    .passed = &passed,
                                    .flags = req->acs_override ? VT_QUIRKS_ACS_OVERRIDE : 0};

                /* The running kernel, for whether pcie_acs_override exists there; unknown is
                 * an answer too (the advice says so). */
                osrelease = vt_path_join(env->proc, "sys/kernel/osrelease");
                if (osrelease && vt_read_line(osrelease, &kernel) >= 0)
                        snprintf(res->kernel, sizeof(res->kernel), "%s", kernel);
                vt_error_clear();
                ctx.kernel = res->kernel[0] ? res->kernel : NULL;
                r = machine_advice(res);
                if (r >= 0)
                        r = build(res, &profile, pci, &ctx);
        }
        vt_strv_free(&passed);
        vt_profile_free(&profile);
        vt_facts_free(&facts);
        vt_engine_close(&e);
        return r;
}

void vt_op_vm_config_result_free(vt_op_vm_config_result *res)
{
        for (size_t i = 0; i < res->n_entries; i++) {
                vt_vm_entry *e = &res->entries[i];

                vt_strv_free(&e->functions);
                vt_strv_free(&e->argv);
                free(e->config);
                advice_free(&e->advice);
        }
        free(res->entries);
        advice_free(&res->advice);
        *res = (vt_op_vm_config_result){0};
}
