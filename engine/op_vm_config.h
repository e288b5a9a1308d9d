/* The vm-config operation (`vfiotx vm-config`, writes nothing): what to add to a VM for the
 * devices of the profile, for one target (Proxmox VE's qm, a libvirt domain, QEMU's command
 * line), with the quirk table's advice (backends/quirks.h). It never touches a VM.
 *
 * The devices come from the profile on disk (/etc/vfiotx/vfiotx.conf under the root) and are
 * looked up in the PCI scan (engine/facts.h), so the quirks see their class, boot VGA flag and
 * IOMMU group. The functions of one slot (0000:0b:00.0 and .1) make one entry: Proxmox's
 * all-functions shorthand "0000:0b:00" when the slot has several functions and the profile holds
 * every one the host has there (else one hostpci per function), libvirt one <hostdev> per function,
 * QEMU one PCIe root port per entry with the functions at its slot 0 (multifunction=on on function
 * 0, as Proxmox's own generated QEMU command line does). Every entry is a PCIe device (Proxmox's
 * pcie=1, root ports for QEMU), so the VM needs a q35 machine: the result says so.
 *
 * The primary GPU (x-vga) is the first VGA controller (class 0300) of the profile: x-vga needs
 * VGA, and a VM has one primary display. The ROM file is advice only (vfiotx has no dump of the
 * card's ROM): a comment in the output, never an option that points nowhere.
 *
 * Errors: a profile without devices is -ENOENT with the command that adds them as the hint; a
 * profile device the host no longer has is still configured (from the profile's ids), with a
 * note that it is missing. Contract: 0 or negative errno with a message; never prints;
 * vt_op_vm_config_result_free() also on failure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backends/edit.h"
#include "backends/quirks.h"
#include "engine/op.h"

typedef enum vt_vm_target {
        VT_VM_PROXMOX,
        VT_VM_LIBVIRT,
        VT_VM_QEMU,
} vt_vm_target;

/* "proxmox", "libvirt", "qemu"; parse: 0 or -EINVAL. */
const char *vt_vm_target_name(vt_vm_target t);
int vt_vm_target_parse(const char *s, vt_vm_target *out);

typedef struct vt_op_vm_config_request {
        vt_vm_target target;
        long vmid;         /* Proxmox's VM id; < 0: the placeholder "<vmid>" */
        bool acs_override; /* offer pcie_acs_override for shared groups (VT_QUIRKS_ACS_OVERRIDE) */
} vt_op_vm_config_request;

/* One piece of advice: a quirk of a device, or about the whole VM (bdf ""). */
typedef struct vt_vm_advice {
        const char *code;     /* static: a quirk's code, or "q35", "missing", "guest-slot" */
        char bdf[16];         /* the device, "" for the VM */
        char *message;        /* one line */
        const char *evidence; /* static, NULL when none */
} vt_vm_advice;

typedef struct vt_vm_advice_list {
        vt_vm_advice *items;
        size_t n;
} vt_vm_advice_list;

/* One entry: the profile's functions of one slot. */
typedef struct vt_vm_entry {
        char host[16];      /* "0000:0b:00" (every function) or "0000:0b:00.0" */
        vt_strv functions;  /* the BDFs it passes, in order */
        bool all_functions; /* every function of a slot that has several (Proxmox: the
                             * shorthand "0000:0b:00") */
        bool primary_gpu;   /* x-vga */
        bool needs_rom;     /* a quirk advises a ROM file */
        char *config;       /* the target's text: the qm command, the <hostdev> XML, or the
                             * QEMU arguments (one "-device X" a line) */
        vt_strv argv;       /* Proxmox: the qm command; QEMU: its arguments; libvirt: empty */
        vt_vm_advice_list advice;
} vt_vm_entry;

typedef struct vt_op_vm_config_result {
        vt_vm_target target;
        long vmid; /* as asked (< 0: the placeholder) */
        vt_vm_entry *entries;
        size_t n_entries;
        vt_vm_advice_list advice; /* about the whole VM (the q35 machine) */
        char kernel[128];         /* the running kernel ("" when unknown), for acs-override */
} vt_op_vm_config_result;

int vt_op_vm_config(const vt_op_env *env, const vt_op_vm_config_request *req,
                    vt_op_vm_config_result *res);
void vt_op_vm_config_result_free(vt_op_vm_config_result *res);
