/* vfiotx devices: every PCI device, its IOMMU group and a passthrough verdict. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/macro.h"
#include "engine/op_devices.h"

const vt_command vt_command_devices = {
    .name = "devices",
    .run = vt_cmd_devices,
    .summary = "list PCI devices, IOMMU groups and a passthrough verdict",
    .description =
        "List every PCI device sorted by address: class, vendor:device, driver in use, IOMMU\n"
        "group and whether it can be passed through on its own (ok) or why not:\n"
        "  root-disk, boot-disk  controls the disk of / or /boot\n"
        "  default-route         carries the default route\n"
        "  only-display          the boot display, with no other display or serial console\n"
        "  group                 its IOMMU group holds devices that stay on the host\n"
        "  no-iommu              no IOMMU group (the IOMMU is off)\n"
        "  bridge                a bridge the host needs\n"
        "With --json every field (names, subsystem, modalias, group members, reasons); with -v\n"
        "each reason in full under its device.\n",
    .no_git = true,
};

static json_object *jstr(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static json_object *jhex(unsigned v, int digits)
{
        char buf[16];

        snprintf(buf, sizeof(buf), "%0*x", digits, v);
        return json_object_new_string(buf);
}

/* Does the kernel show reset_method at all (5.15 and later)? Then a device without it has no
 * way to be reset. */
static bool reset_known(const vt_pci_list *devs)
{
        for (size_t i = 0; i < devs->n; i++)
                if (devs->items[i].reset_method)
                        return true;
        return false;
}

/* "ok", "together" (a card whose functions go together), or "refused". */
static const char *verdict_name(const vt_refusal_list *why, const vt_selection *unit)
{
        if (vt_refusal_count(why))
                return "refused";
        return unit->n > 1 ? "together" : "ok";
}

static json_object *refusal_json(const vt_refusal *f)
{
        json_object *r = json_object_new_object();

        json_object_object_add(r, "code", json_object_new_string(vt_refusal_code_name(f->code)));
        json_object_object_add(r, "device", json_object_new_string(f->bdf));
        json_object_object_add(r, "message", json_object_new_string(f->message));
        json_object_object_add(r, "advice", jstr(f->advice));
        return r;
}

/* The quirk table's entries (engine/op_devices.h) as flags. */
static void quirk_flags(const vt_quirk_list *q, json_object *flags)
{
        for (size_t i = 0; i < q->n; i++) {
                json_object *f = json_object_new_object();

                json_object_object_add(f, "code", json_object_new_string(q->items[i]->code));
                json_object_object_add(f, "message", json_object_new_string(q->items[i]->advice));
                json_object_object_add(f, "advice", NULL);
                json_object_object_add(f, "evidence", jstr(q->items[i]->evidence));
                json_object_array_add(flags, f);
        }
}

static const char no_reset_text[] =
    "the kernel knows no way to reset it (no reset_method): after a VM stops, the device keeps "
    "its state, and a second start of the VM may fail until the host reboots";

static json_object *device_json(const vt_pci_list *devs, const vt_pci_device *d,
                                const vt_refusal_list *why, const vt_selection *unit,
                                const vt_quirk_list *quirks)
{
        json_object *o = json_object_new_object(), *members = json_object_new_array(),
                    *reasons = json_object_new_array(), *warnings = json_object_new_array(),
                    *functions = json_object_new_array(), *flags = json_object_new_array();

        json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
        json_object_object_add(o, "class", jhex(d->class_code >> 8, 4));
        json_object_object_add(o, "prog_if", jhex(d->class_code & 0xff, 2));
        json_object_object_add(o, "class_name", jstr(d->class_name));
        json_object_object_add(o, "vendor", jhex(d->vendor, 4));
        json_object_object_add(o, "device", jhex(d->device, 4));
        json_object_object_add(o, "vendor_name", jstr(d->vendor_name));
        json_object_object_add(o, "device_name", jstr(d->device_name));
        json_object_object_add(o, "subsystem_vendor", jhex(d->subvendor, 4));
        json_object_object_add(o, "subsystem_device", jhex(d->subdevice, 4));
        json_object_object_add(o, "subsystem_vendor_name", jstr(d->subsystem_vendor_name));
        json_object_object_add(o, "subsystem_name", jstr(d->subsystem_name));
        json_object_object_add(o, "revision", jhex(d->revision, 2));
        json_object_object_add(o, "driver", jstr(d->driver));
        json_object_object_add(o, "modalias", jstr(d->modalias));
        json_object_object_add(o, "boot_vga", json_object_new_boolean(d->boot_vga));
        json_object_object_add(o, "parent",
                               d->parent[0] ? json_object_new_string(d->parent) : NULL);
        json_object_object_add(o, "iommu_group",
                               d->iommu_group >= 0 ? json_object_new_int(d->iommu_group) : NULL);
        for (size_t i = 0; d->iommu_group >= 0 && i < devs->n; i++)
                if (devs->items[i].iommu_group == d->iommu_group && &devs->items[i] != d)
                        json_object_array_add(members, json_object_new_string(devs->items[i].bdf));
        json_object_object_add(o, "group_members", members);
        json_object_object_add(o, "verdict", json_object_new_string(verdict_name(why, unit)));
        for (size_t i = 0; i < unit->n; i++)
                json_object_array_add(functions, json_object_new_string(unit->items[i]->bdf));
        json_object_object_add(o, "functions", functions);
        for (size_t i = 0; i < why->n; i++)
                json_object_array_add(why->items[i].warning ? warnings : reasons,
                                      refusal_json(&why->items[i]));
        json_object_object_add(o, "reasons", reasons);
        json_object_object_add(o, "warnings", warnings);
        json_object_object_add(o, "reset_method", jstr(d->reset_method));
        if (!d->reset_method && reset_known(devs) && !vt_pci_is_bridge(d)) {
                json_object *f = json_object_new_object();

                json_object_object_add(f, "code", json_object_new_string("no-reset"));
                json_object_object_add(f, "message", json_object_new_string(no_reset_text));
                json_object_object_add(f, "advice", NULL);
                json_object_array_add(flags, f);
        }
        quirk_flags(quirks, flags);
        json_object_object_add(o, "flags", flags);
        return o;
}

/* "root-disk,group": each code once, in the order found; "ok" or "together" without a refusal
 * ("+warning" when a warning stands). */
static void verdict_codes(const vt_refusal_list *why, const vt_selection *unit, vt_buf *out)
{
        vt_buf_clear(out);
        if (!vt_refusal_count(why)) {
                vt_buf_puts(out, verdict_name(why, unit));
                if (why->n)
                        vt_buf_puts(out, "+warning");
                return;
        }
        for (size_t i = 0; i < why->n; i++) {
                if (why->items[i].warning)
                        continue;
                const char *name = vt_refusal_code_name(why->items[i].code);
                bool seen = false;

                for (size_t j = 0; j < i; j++)
                        seen |= why->items[j].code == why->items[i].code;
                if (!seen)
                        vt_buf_printf(out, "%s%s", out->len ? "," : "", name);
        }
}

static json_object *host_json(const vt_hostinfo *host)
{
        static const char *const roles[] = {"root_disk", "boot_disk", "default_route"};
        json_object *o = json_object_new_object(), *notes = json_object_new_array();

        for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
                json_object *arr = json_object_new_array();

                for (size_t i = 0; i < host->n; i++) {
                        if (host->deps[i].role != (vt_host_role)r)
                                continue;
                        json_object *dep = json_object_new_object();

                        json_object_object_add(dep, "bdf",
                                               json_object_new_string(host->deps[i].bdf));
                        json_object_object_add(dep, "via",
                                               json_object_new_string(host->deps[i].detail));
                        json_object_array_add(arr, dep);
                }
                json_object_object_add(o, roles[r], arr);
        }
        json_object_object_add(o, "serial_console", json_object_new_boolean(host->serial_console));
        json_object_object_add(o, "remote_access",
                               host->remote_access[0] ? json_object_new_string(host->remote_access)
                                                      : NULL);
        for (size_t i = 0; i < host->n_notes; i++)
                json_object_array_add(notes, json_object_new_string(host->notes[i]));
        json_object_object_add(o, "notes", notes);
        return o;
}

int vt_cmd_devices(vt_cli *cli, int argc, char **argv)
{
        vt_op_devices_result res = {0};
        json_object *root = NULL, *arr = NULL;
        vt_buf codes = VT_BUF_INIT;
        vt_op_env env;
        int c, r, rc = VT_EXIT_OK;

        c = vt_opts_parse_none(cli, &vt_command_devices, argc, argv);
        if (c >= 0)
                return c;

        vt_cli_env(cli, &env);
        r = vt_op_devices(&env, &res);
        if (r < 0) {
                rc = vt_cli_fail(cli, r, "listing PCI devices");
                goto out;
        }
        for (size_t i = 0; i < res.host->n_notes; i++)
                vt_cli_warn(cli, "%s\n", res.host->notes[i]);

        if (cli->json) {
                root = vt_cli_doc(cli);
                arr = json_object_new_array();
        } else {
                printf("%-12s  %-5s %-9s  %-14s %-5s  %-22s %s\n", "BDF", "CLASS", "ID", "DRIVER",
                       "GROUP", "VERDICT", "NAME");
        }
        for (size_t i = 0; i < res.devs->n; i++) {
                const vt_pci_device *d = &res.devs->items[i];
                const vt_refusal_list *why = &res.verdicts[i];
                char group[16];

                if (cli->json) {
                        json_object_array_add(
                            arr, device_json(res.devs, d, why, &res.units[i], &res.quirks[i]));
                        continue;
                }
                verdict_codes(why, &res.units[i], &codes);
                snprintf(group, sizeof(group), d->iommu_group >= 0 ? "%d" : "-", d->iommu_group);
                printf("%-12s  %04x  %04x:%04x  %-14s %-5s  %-22s %s %s\n", d->bdf,
                       (unsigned)(d->class_code >> 8), d->vendor, d->device,
                       d->driver ? d->driver : "-", group, vt_buf_cstr(&codes),
                       d->vendor_name ? d->vendor_name : "[unknown vendor]",
                       d->device_name ? d->device_name : "[unknown device]");
                if (cli->verbosity > 0 && res.units[i].n > 1 && !vt_refusal_count(why)) {
                        printf("    pass together: ");
                        for (size_t j = 0; j < res.units[i].n; j++)
                                printf("%s%s", j ? ", " : "", res.units[i].items[j]->bdf);
                        printf(" (--device %.*s)\n", (int)(strlen(d->bdf) - 2), d->bdf);
                }
                for (size_t j = 0; cli->verbosity > 0 && j < why->n; j++)
                        printf("    %s%s\n      -> %s\n", why->items[j].warning ? "warning: " : "",
                               why->items[j].message, why->items[j].advice);
                if (cli->verbosity > 0 && !d->reset_method && reset_known(res.devs) &&
                    !vt_pci_is_bridge(d))
                        printf("    no reset: %s\n", no_reset_text);
                for (size_t j = 0; cli->verbosity > 0 && j < res.quirks[i].n; j++)
                        printf("    %s: %s\n", res.quirks[i].items[j]->code,
                               res.quirks[i].items[j]->advice);
        }
        if (cli->json) {
                json_object_object_add(root, "devices", arr);
                json_object_object_add(root, "host", host_json(res.host));
                rc = vt_cli_emit(cli, root, VT_OUTCOME_UNCHANGED);
                root = NULL;
        }
out:
        json_object_put(root);
        vt_buf_free(&codes);
        vt_op_devices_result_free(&res);
        return rc;
}
