#include "backends/iommu.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/cpu.h"
#include "backends/kernels.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

static int add(vt_findings *f, const char *id, const char *subject, vt_check_status status,
               const char *advice, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add(vt_findings *f, const char *id, const char *subject, vt_check_status status,
               const char *advice, const char *fmt, ...)
{
        vt_finding *grown, *x;
        va_list ap;
        int k;

        grown = realloc(f->items, (f->n + 1) * sizeof(*f->items));
        if (!grown)
                return -ENOMEM;
        f->items = grown;
        x = &grown[f->n];
        *x = (vt_finding){.id = id, .status = status};
        va_start(ap, fmt);
        k = vasprintf(&x->message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        f->n++;
        if ((subject && !(x->subject = strdup(subject))) ||
            (advice && !(x->advice = strdup(advice))))
                return -ENOMEM;
        return 0;
}

/* Entries of a directory that do not start with '.'; -1 when it cannot be listed. */
static int count_entries(const char *dir, vt_buf *names)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (names && n < 8)
                        vt_buf_printf(names, "%s%s", names->len ? ", " : "", de->d_name);
                n++;
        }
        closedir(d);
        return n;
}

static bool has_token(const char *text, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = text; (p = strstr(p, word)); p += n) {
                bool start = p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n';
                bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\t' || p[n] == '\n';

                if (start && end)
                        return true;
        }
        return false;
}

/* The value of the last `key=` word on a command line, NULL when absent (malloc'd). */
static char *cmdline_value(const char *cmdline, const char *key)
{
        size_t n = strlen(key);
        const char *found = NULL;

        for (const char *p = cmdline; (p = strstr(p, key)); p += n) {
                if ((p == cmdline || p[-1] == ' ' || p[-1] == '\t') && p[n] == '=')
                        found = p + n + 1;
        }
        return found ? strndup(found, strcspn(found, " \t\n")) : NULL;
}

/* Does `value` (a comma-separated intel_iommu= / amd_iommu= list) contain `opt`? */
static bool has_opt(const char *value, const char *opt)
{
        size_t n = strlen(opt);

        for (const char *p = value; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

static int check_cpu(vt_findings *f, const char *proc, vt_cpu_vendor *vendor)
{
        _cleanup_free_ char *path = vt_path_join(proc, "cpuinfo");
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        const char *t;

        if (!path)
                return -ENOMEM;
        if (vt_read_file(path, &text) < 0) {
                vt_error_clear();
                return add(f, "cpu-virt", NULL, VT_CHECK_WARN, "point --proc at a /proc tree",
                           "cannot read %s: CPU virtualization support unknown", path);
        }
        t = vt_buf_cstr(&text);
        *vendor = vt_cpu_vendor_of(t);
        if (has_token(t, "vmx"))
                return add(f, "cpu-virt", NULL, VT_CHECK_OK, NULL,
                           "CPU virtualization: vmx (Intel VT-x) in %s", path);
        if (has_token(t, "svm"))
                return add(f, "cpu-virt", NULL, VT_CHECK_OK, NULL,
                           "CPU virtualization: svm (AMD-V) in %s", path);
        return add(f, "cpu-virt", NULL, VT_CHECK_FAIL,
                   *vendor == VT_CPU_AMD ? "enable SVM mode (AMD-V) in the firmware setup"
                                         : "enable Intel Virtualization Technology (VT-x) in the "
                                           "firmware setup",
                   "the CPU flags in %s have neither vmx nor svm: hardware virtualization is "
                   "disabled in the firmware or not supported",
                   path);
}

static int check_acpi(vt_findings *f, const char *sysfs, vt_cpu_vendor *vendor)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, "firmware/acpi/tables");
        vt_iommu_maker maker;
        int r;

        if (!dir)
                return -ENOMEM;
        r = vt_acpi_iommu_probe(sysfs, &maker.tables);
        if (r < 0)
                return r;
        vt_iommu_maker_of(&maker.tables, *vendor, &maker);
        *vendor = maker.vendor;
        if (maker.source == VT_IOMMU_FROM_DMAR)
                return add(f, "acpi-table", NULL, VT_CHECK_OK, NULL,
                           "the firmware describes an Intel VT-d IOMMU (ACPI DMAR table)");
        if (maker.source == VT_IOMMU_FROM_IVRS)
                return add(f, "acpi-table", NULL, VT_CHECK_OK, NULL,
                           "the firmware describes an AMD-Vi IOMMU (ACPI IVRS table)");
        if (!maker.tables.listed)
                return add(f, "acpi-table", NULL, VT_CHECK_WARN,
                           "run vfiotx check as root on the host",
                           "cannot read the ACPI tables in %s: whether the firmware has an IOMMU "
                           "is unknown",
                           dir);
        return add(f, "acpi-table", NULL, VT_CHECK_FAIL,
                   "enable VT-d (Intel) or IOMMU / AMD-Vi (AMD) in the firmware setup; some "
                   "boards need a firmware update for it",
                   "no DMAR or IVRS table in %s: the firmware does not expose an IOMMU", dir);
}

bool vt_iommu_active(const char *sysfs)
{
        _cleanup_free_ char *cls = vt_path_join(sysfs, "class/iommu"),
                            *groups = vt_path_join(sysfs, "kernel/iommu_groups");

        return cls && groups && count_entries(cls, NULL) > 0 && count_entries(groups, NULL) > 0;
}

static int check_active(vt_findings *f, const char *sysfs, vt_cpu_vendor vendor, bool *active)
{
        _cleanup_free_ char *cls = vt_path_join(sysfs, "class/iommu"),
                            *groups = vt_path_join(sysfs, "kernel/iommu_groups");
        _cleanup_buf_ vt_buf names = VT_BUF_INIT;
        int units, ngroups;

        if (!cls || !groups)
                return -ENOMEM;
        units = count_entries(cls, &names);
        ngroups = count_entries(groups, NULL);
        *active = units > 0 && ngroups > 0;
        if (*active)
                return add(f, "iommu-active", NULL, VT_CHECK_OK, NULL,
                           "IOMMU active: %s; %d IOMMU groups", vt_buf_cstr(&names), ngroups);
        return add(f, "iommu-active", NULL, VT_CHECK_FAIL,
                   vendor == VT_CPU_AMD
                       ? "remove amd_iommu=off / iommu=off from the kernel command line and "
                         "enable the IOMMU in the firmware; then reboot"
                       : "run 'vfiotx apply': on a host whose IOMMU is off it adds only "
                         "intel_iommu=on to the kernel command line; then reboot and pick "
                         "devices with 'vfiotx devices'",
                   "the IOMMU is not active: %s %s, %s %s", cls,
                   units < 0 ? "is missing" : "is empty", groups,
                   ngroups < 0 ? "is missing" : "has no groups");
}

static int check_irq_remap(vt_findings *f, const char *proc, bool active)
{
        _cleanup_free_ char *path = vt_path_join(proc, "interrupts");
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        static const char advice[] =
            "enable interrupt remapping (x2APIC) in the firmware and remove intremap=off; "
            "otherwise vfio needs vfio_iommu_type1 allow_unsafe_interrupts=1";

        if (!path)
                return -ENOMEM;
        if (!active)
                return add(f, "irq-remap", NULL, VT_CHECK_WARN, NULL,
                           "interrupt remapping: not checked, the IOMMU is not active");
        if (vt_read_file(path, &text) < 0) {
                vt_error_clear();
                return add(f, "irq-remap", NULL, VT_CHECK_WARN, "point --proc at a /proc tree",
                           "cannot read %s: interrupt remapping unknown", path);
        }
        if (strstr(vt_buf_cstr(&text), "IR-"))
                return add(f, "irq-remap", NULL, VT_CHECK_OK, NULL,
                           "interrupt remapping enabled (IR- interrupt chips in %s)", path);
        return add(f, "irq-remap", NULL, VT_CHECK_WARN, advice,
                   "interrupt remapping is off (no IR- interrupt chips in %s): devices can be "
                   "assigned only with unsafe interrupts",
                   path);
}

static const vt_pci_device *find_igpu(const vt_pci_list *devs)
{
        for (size_t i = 0; devs && i < devs->n; i++)
                if (vt_pci_is_intel_igpu(&devs->items[i]))
                        return &devs->items[i];
        return NULL;
}

static int check_params(vt_findings *f, const char *proc, const vt_kernel_list *kernels,
                        vt_cpu_vendor vendor, const vt_pci_list *devs)
{
        _cleanup_free_ char *path = vt_path_join(proc, "cmdline"), *cmdline = NULL, *intel = NULL,
                            *amd = NULL, *iommu = NULL;
        const vt_pci_device *igpu = find_igpu(devs);
        int r = 0;

        if (!path)
                return -ENOMEM;
        if (vt_read_line(path, &cmdline) < 0) {
                vt_error_clear();
                return add(f, "kernel-params", NULL, VT_CHECK_WARN, "point --proc at a /proc tree",
                           "cannot read %s: the running kernel's parameters are unknown", path);
        }
        intel = cmdline_value(cmdline, "intel_iommu");
        amd = cmdline_value(cmdline, "amd_iommu");
        iommu = cmdline_value(cmdline, "iommu");
        if (iommu && strcmp(iommu, "off") == 0)
                return add(f, "kernel-params", NULL, VT_CHECK_FAIL,
                           "remove iommu=off from the kernel command line",
                           "iommu=off on the command line (%s) disables the IOMMU", path);
        if (vendor == VT_CPU_AMD) {
                if (amd && has_opt(amd, "off"))
                        return add(f, "kernel-params", NULL, VT_CHECK_FAIL,
                                   "remove amd_iommu=off from the kernel command line",
                                   "amd_iommu=off on the command line (%s) disables the IOMMU",
                                   path);
                return add(f, "kernel-params", NULL, VT_CHECK_OK, NULL,
                           "AMD: the IOMMU is on whenever the firmware has an IVRS table; no "
                           "parameter is needed%s",
                           amd && has_opt(amd, "on") ? " (amd_iommu=on is not a documented value "
                                                       "and is ignored)"
                                                     : "");
        }
        if (intel && has_opt(intel, "off"))
                return add(f, "kernel-params", NULL, VT_CHECK_FAIL,
                           "remove intel_iommu=off from the kernel command line",
                           "intel_iommu=off on the command line (%s) disables the IOMMU", path);
        if (intel && has_opt(intel, "on"))
                return add(f, "kernel-params", NULL, VT_CHECK_OK, NULL,
                           "intel_iommu=on on the command line: the IOMMU is on for every kernel%s",
                           igpu && has_opt(intel, "igfx_off")
                               ? " (but igfx_off leaves the integrated GPU out)"
                               : "");
        if (!kernels->n)
                return add(f, "kernel-params", NULL, VT_CHECK_WARN,
                           "add intel_iommu=on to the kernel command line to be sure",
                           "no installed kernel found: whether the IOMMU is on by default is "
                           "unknown");
        for (size_t i = 0; r == 0 && i < kernels->n; i++) {
                const vt_kernel *k = &kernels->items[i];
                _cleanup_free_ char *on = vt_kernel_config(k, "INTEL_IOMMU_DEFAULT_ON");
                _cleanup_free_ char *gpu_off =
                    vt_kernel_config(k, "INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF");

                if (!k->config)
                        r = add(f, "kernel-params", k->version, VT_CHECK_WARN,
                                "add intel_iommu=on to the kernel command line to be sure",
                                "no /boot/config-%s: whether kernel %s turns the Intel IOMMU on "
                                "by default is unknown",
                                k->version, k->version);
                else if (on && strcmp(on, "y") == 0)
                        r = add(f, "kernel-params", k->version, VT_CHECK_OK, NULL,
                                "kernel %s turns the Intel IOMMU on by default "
                                "(CONFIG_INTEL_IOMMU_DEFAULT_ON=y)",
                                k->version);
                else if (gpu_off && strcmp(gpu_off, "y") == 0 && igpu)
                        r = add(f, "kernel-params", k->version, VT_CHECK_WARN,
                                "add intel_iommu=on to pass the integrated GPU through ('vfiotx "
                                "apply --device <the iGPU>' adds it)",
                                "kernel %s turns the Intel IOMMU on except for the integrated GPU "
                                "(CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y): %s cannot be "
                                "passed through without intel_iommu=on",
                                k->version, igpu->bdf);
                else if (gpu_off && strcmp(gpu_off, "y") == 0)
                        r = add(f, "kernel-params", k->version, VT_CHECK_OK, NULL,
                                "kernel %s turns the Intel IOMMU on except for an integrated GPU "
                                "(CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y), and this host has "
                                "none",
                                k->version);
                else
                        r = add(f, "kernel-params", k->version, VT_CHECK_FAIL,
                                "run 'vfiotx apply' (it adds intel_iommu=on to the kernel "
                                "command line) and reboot",
                                "kernel %s leaves the Intel IOMMU off by default and the command "
                                "line does not turn it on",
                                k->version);
        }
        return r;
}

static int check_modules(vt_findings *f, const vt_kernel_list *kernels, const char *root_path)
{
        static const char *const needed[] = {"vfio", "vfio_iommu_type1", "vfio_pci"};
        int r = 0;

        if (!kernels->n)
                return add(f, "vfio-modules", NULL, VT_CHECK_FAIL,
                           "check --root: it must be the host's / (with /lib/modules)",
                           "no kernel found under %s/lib/modules: cannot tell whether the vfio "
                           "modules are available",
                           strcmp(root_path, "/") == 0 ? "" : root_path);
        for (size_t i = 0; r == 0 && i < kernels->n; i++) {
                const vt_kernel *k = &kernels->items[i];
                _cleanup_buf_ vt_buf missing = VT_BUF_INIT;
                vt_module_state pci = vt_kernel_module(k, "vfio_pci");
                bool virqfd = vt_kernel_module(k, "vfio_virqfd") == VT_MODULE_LOADABLE;

                for (size_t j = 0; j < ARRAY_SIZE(needed); j++)
                        if (vt_kernel_module(k, needed[j]) == VT_MODULE_ABSENT &&
                            vt_buf_printf(&missing, "%s%s", missing.len ? ", " : "", needed[j]) < 0)
                                return -ENOMEM;
                if (missing.len)
                        r = add(f, "vfio-modules", k->version, VT_CHECK_FAIL,
                                "install the kernel's full module package (on Ubuntu "
                                "linux-modules-extra-<version>) or boot another kernel",
                                "kernel %s lacks %s (neither in modules.dep nor built in)",
                                k->version, vt_buf_cstr(&missing));
                else if (pci == VT_MODULE_BUILTIN)
                        r = add(f, "vfio-modules", k->version, VT_CHECK_OK,
                                "vfio-pci options in modprobe.d have no effect on this kernel; "
                                "vfiotx binds with vfio-pci.ids= on the kernel command line",
                                "kernel %s has vfio-pci built in%s", k->version,
                                virqfd ? "; vfio_virqfd is a separate module" : "");
                else
                        r = add(f, "vfio-modules", k->version, VT_CHECK_OK, NULL,
                                "kernel %s has the vfio modules (vfio, vfio_iommu_type1, "
                                "vfio_pci%s)",
                                k->version, virqfd ? ", vfio_virqfd" : "");
        }
        return r;
}

int vt_iommu_check(const char *sysfs, const char *proc, const vt_root *root,
                   const vt_kernel_list *kernels, const vt_pci_list *devs, vt_findings *out)
{
        vt_cpu_vendor vendor = VT_CPU_UNKNOWN;
        bool active = false;
        int r;

        *out = (vt_findings){0};
        r = check_cpu(out, proc, &vendor);
        if (r == 0)
                r = check_acpi(out, sysfs, &vendor);
        if (r == 0)
                r = check_active(out, sysfs, vendor, &active);
        if (r == 0)
                r = check_irq_remap(out, proc, active);
        if (r == 0)
                r = check_params(out, proc, kernels, vendor, devs);
        if (r == 0)
                r = check_modules(out, kernels, root->path ? root->path : "/");
        if (r < 0)
                vt_findings_free(out);
        return r;
}

static bool exists(const char *dir, const char *name)
{
        _cleanup_free_ char *p = vt_path_join(dir, name);
        struct stat st;

        return p && stat(p, &st) == 0;
}

int vt_acpi_iommu_probe(const char *sysfs, vt_acpi_iommu *out)
{
        _cleanup_free_ char *dir = vt_path_join(sysfs, "firmware/acpi/tables");
        struct stat st;

        *out = (vt_acpi_iommu){0};
        if (!dir)
                return -ENOMEM;
        out->listed = stat(dir, &st) == 0;
        out->dmar = exists(dir, "DMAR");
        out->ivrs = exists(dir, "IVRS");
        return 0;
}

void vt_iommu_maker_of(const vt_acpi_iommu *tables, vt_cpu_vendor cpu, vt_iommu_maker *out)
{
        *out = (vt_iommu_maker){.tables = *tables};
        if (tables->dmar) {
                out->vendor = VT_CPU_INTEL;
                out->source = VT_IOMMU_FROM_DMAR;
        } else if (tables->ivrs) {
                out->vendor = VT_CPU_AMD;
                out->source = VT_IOMMU_FROM_IVRS;
        } else {
                out->vendor = cpu;
                out->source = cpu == VT_CPU_UNKNOWN ? VT_IOMMU_FROM_NOTHING : VT_IOMMU_FROM_CPU;
        }
}

int vt_iommu_maker_probe(const char *sysfs, const char *proc, vt_iommu_maker *out)
{
        vt_acpi_iommu tables;
        int r;

        r = vt_acpi_iommu_probe(sysfs, &tables);
        if (r < 0)
                return r;
        /* cpuinfo is read only when it decides. */
        vt_iommu_maker_of(
            &tables, tables.dmar || tables.ivrs ? VT_CPU_UNKNOWN : vt_cpu_vendor_probe(proc), out);
        return 0;
}

bool vt_findings_ready(const vt_findings *f)
{
        for (size_t i = 0; i < f->n; i++)
                if (f->items[i].status == VT_CHECK_FAIL)
                        return false;
        return true;
}

void vt_findings_free(vt_findings *f)
{
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].subject);
                free(f->items[i].message);
                free(f->items[i].advice);
        }
        free(f->items);
        *f = (vt_findings){0};
}

const char *vt_check_status_name(vt_check_status s)
{
        return s == VT_CHECK_OK ? "ok" : s == VT_CHECK_WARN ? "warn" : "fail";
}

int vt_findings_add(vt_findings *f, const char *id, const char *subject, vt_check_status status,
                    const char *advice, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return add(f, id, subject, status, advice, "%s", msg);
}
