/* vm-config: what to add to a VM (Proxmox VE, libvirt, QEMU) for the devices of the profile,
 * with the quirk table's advice. Prints; never edits a VM. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/macro.h"
#include "engine/op_vm_config.h"

enum { OPT_FOR = VT_OPT_LONG, OPT_VMID, OPT_ACS };

static const vt_option vm_config_options[] = {
    {OPT_FOR, "for", "proxmox|libvirt|qemu",
     "the target: Proxmox VE's qm commands, libvirt <hostdev>\n"
     "elements, or QEMU -device arguments (required)"},
    {OPT_VMID, "vmid", "N",
     "the Proxmox VM id in the qm commands (default: the\nplaceholder <vmid>)"},
    {OPT_ACS, "acs-override", NULL,
     "for a device whose IOMMU group holds devices that stay on\n"
     "the host, also say what pcie_acs_override would do, and\n"
     "what it costs (the devices are no longer isolated)"},
    {0},
};

static const vt_option_group vm_config_groups[] = {
    {NULL, "Options", vm_config_options},
    {0},
};

const vt_command vt_command_vm_config = {
    .name = "vm-config",
    .run = vt_cmd_vm_config,
    .summary = "print what to add to a VM for the profile's devices",
    .description =
        "Print what to add to a VM for the devices of the profile: Proxmox VE's 'qm set'\n"
        "commands, libvirt <hostdev> elements or QEMU -device arguments. The functions of one\n"
        "slot go together (Proxmox: the all-functions shorthand 0000:0b:00); the first VGA\n"
        "controller is the VM's primary GPU (x-vga). Known quirks (AMD reset bug, NVIDIA ROM,\n"
        "Intel GVT-g or SR-IOV, shared IOMMU groups) are printed as comments with where they\n"
        "are documented. It never edits a VM; --json gives the same data.\n",
    .groups = vm_config_groups,
    .epilog = "Exit status: 0 printed, 1 no devices in the profile (or an error), 2 usage error.\n",
};

/* A comment of the target's language. An XML comment may not hold "--": it is broken up. */
static void comment(vt_vm_target t, const char *prefix, const char *text)
{
        if (t != VT_VM_LIBVIRT) {
                printf("# %s%s\n", prefix, text);
                return;
        }
        fputs("<!-- ", stdout);
        fputs(prefix, stdout);
        for (const char *s = text; *s; s++) {
                putchar(*s);
                if (s[0] == '-' && s[1] == '-')
                        putchar(' ');
        }
        fputs(" -->\n", stdout);
}

static void advice_text(vt_vm_target t, const vt_vm_advice *a)
{
        char prefix[64];

        snprintf(prefix, sizeof(prefix), "%s%s%s: ", a->bdf, a->bdf[0] ? " " : "", a->code);
        comment(t, prefix, a->message);
        if (a->evidence)
                comment(t, "  evidence: ", a->evidence);
}

static void entry_header(vt_vm_target t, const vt_vm_entry *e)
{
        char text[512];
        size_t n = 0;

        n += snprintf(text, sizeof(text), "%s", e->host);
        /* a slot by its functions; one function is already named by the host address */
        if (e->functions.n > 1 || strcmp(e->host, e->functions.items[0]) != 0) {
                n += snprintf(text + n, sizeof(text) - n, "%s",
                              e->all_functions ? ": every function (" : " (");
                for (size_t i = 0; i < e->functions.n && n < sizeof(text); i++)
                        n += snprintf(text + n, sizeof(text) - n, "%s%s", i ? " " : "",
                                      e->functions.items[i]);
                if (n < sizeof(text))
                        n += snprintf(text + n, sizeof(text) - n, ")");
        }
        if (n < sizeof(text) && e->primary_gpu)
                snprintf(text + n, sizeof(text) - n, ", the VM's primary GPU (x-vga)");
        comment(t, "", text);
}

static void render_text(const vt_op_vm_config_result *res)
{
        static const char *const intro[] = {
            [VT_VM_PROXMOX] = "run these on the Proxmox VE host",
            [VT_VM_LIBVIRT] = "put these inside <devices> of the domain",
            [VT_VM_QEMU] = "add these arguments to the VM's qemu-system-x86_64 command line",
        };
        char head[256];

        snprintf(head, sizeof(head), "vfiotx vm-config for %s: %zu entr%s; %s",
                 vt_vm_target_name(res->target), res->n_entries, res->n_entries == 1 ? "y" : "ies",
                 intro[res->target]);
        comment(res->target, "", head);
        for (size_t i = 0; i < res->advice.n; i++)
                advice_text(res->target, &res->advice.items[i]);
        for (size_t i = 0; i < res->n_entries; i++) {
                const vt_vm_entry *e = &res->entries[i];

                entry_header(res->target, e);
                for (size_t j = 0; j < e->advice.n; j++)
                        advice_text(res->target, &e->advice.items[j]);
                /* QEMU's arguments come last, as one block a shell can take: a comment line
                 * inside a continued command would end it. */
                if (res->target != VT_VM_QEMU)
                        fputs(e->config, stdout);
                if (res->target == VT_VM_PROXMOX)
                        putchar('\n');
        }
        if (res->target != VT_VM_QEMU)
                return;
        for (size_t i = 0; i < res->n_entries; i++) {
                const vt_strv *a = &res->entries[i].argv;

                for (size_t j = 0; j + 1 < a->n; j += 2)
                        printf("%s %s%s\n", a->items[j], a->items[j + 1],
                               i + 1 == res->n_entries && j + 3 >= a->n ? "" : " \\");
        }
}

static json_object *advice_json(const vt_vm_advice_list *l)
{
        json_object *arr = json_object_new_array();

        for (size_t i = 0; i < l->n; i++) {
                const vt_vm_advice *a = &l->items[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "code", json_object_new_string(a->code));
                json_object_object_add(o, "device",
                                       a->bdf[0] ? json_object_new_string(a->bdf) : NULL);
                json_object_object_add(o, "message", json_object_new_string(a->message));
                json_object_object_add(o, "evidence", vt_json_str(a->evidence));
                json_object_array_add(arr, o);
        }
        return arr;
}

static json_object *strv_json(const vt_strv *v)
{
        json_object *arr = json_object_new_array();

        for (size_t i = 0; i < v->n; i++)
                json_object_array_add(arr, json_object_new_string(v->items[i]));
        return arr;
}

static int render_json(const vt_cli *cli, const vt_op_vm_config_result *res)
{
        json_object *doc = vt_cli_doc(cli), *entries = json_object_new_array();

        json_object_object_add(doc, "target",
                               json_object_new_string(vt_vm_target_name(res->target)));
        json_object_object_add(doc, "vmid",
                               res->vmid >= 0 ? json_object_new_int64(res->vmid) : NULL);
        json_object_object_add(doc, "machine", json_object_new_string("q35"));
        json_object_object_add(doc, "kernel",
                               res->kernel[0] ? json_object_new_string(res->kernel) : NULL);
        json_object_object_add(doc, "advice", advice_json(&res->advice));
        for (size_t i = 0; i < res->n_entries; i++) {
                const vt_vm_entry *e = &res->entries[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "host", json_object_new_string(e->host));
                json_object_object_add(o, "functions", strv_json(&e->functions));
                json_object_object_add(o, "all_functions",
                                       json_object_new_boolean(e->all_functions));
                json_object_object_add(o, "primary_gpu", json_object_new_boolean(e->primary_gpu));
                json_object_object_add(o, "needs_rom", json_object_new_boolean(e->needs_rom));
                json_object_object_add(o, "config", json_object_new_string(e->config));
                json_object_object_add(o, "argv", strv_json(&e->argv));
                json_object_object_add(o, "advice", advice_json(&e->advice));
                json_object_array_add(entries, o);
        }
        json_object_object_add(doc, "entries", entries);
        return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
}

int vt_cmd_vm_config(vt_cli *cli, int argc, char **argv)
{
        _cleanup_(vt_op_vm_config_result_free) vt_op_vm_config_result res = {0};
        vt_op_vm_config_request req = {.vmid = -1};
        bool have_target = false;
        vt_op_env env;
        vt_opts p;
        int c, r;

        vt_opts_init(&p, cli, &vt_command_vm_config, argc, argv);
        while ((c = vt_opts_next(&p)) > 0) {
                char *end;

                if (c == OPT_FOR) {
                        if (vt_vm_target_parse(p.arg, &req.target) < 0)
                                return vt_cli_usage_error(cli, "vm-config",
                                                          "--for takes proxmox, libvirt or qemu, "
                                                          "not '%s'",
                                                          p.arg);
                        have_target = true;
                } else if (c == OPT_VMID) {
                        /* Proxmox's VM ids: 100 to 999999999 (100 and up; lower ids are
                         * reserved), checked by qm itself: only a number here */
                        errno = 0;
                        req.vmid = strtol(p.arg, &end, 10);
                        if (!*p.arg || *end || errno || req.vmid < 0 || req.vmid > INT_MAX)
                                return vt_cli_usage_error(cli, "vm-config",
                                                          "--vmid takes a number, not '%s'", p.arg);
                } else if (c == OPT_ACS) {
                        req.acs_override = true;
                }
        }
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, "vm-config", "unexpected argument '%s'",
                                          argv[p.next]);
        if (!have_target)
                return vt_cli_usage_error(cli, "vm-config", "missing --for proxmox|libvirt|qemu");
        if (req.vmid >= 0 && req.target != VT_VM_PROXMOX)
                return vt_cli_usage_error(cli, "vm-config", "--vmid is for --for proxmox");

        vt_cli_env(cli, &env);
        r = vt_op_vm_config(&env, &req, &res);
        if (r < 0)
                return vt_cli_fail(cli, r, "vm-config");
        if (cli->json)
                return render_json(cli, &res);
        render_text(&res);
        return VT_EXIT_OK;
}
