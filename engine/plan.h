/* The plan: from the spec (what the user asked now), the profile (what was asked before), the
 * host's files and facts, the new content of every file vfiotx manages — computed by the
 * editors in backends/ (pure functions). Nothing is written here.
 *
 * Files: /etc/modules (always: the vfio modules load at boot); with devices in the profile,
 * vfiotx's modprobe.d files, the initramfs generator's module list (initramfs-tools, dracut or
 * mkinitcpio) and the kernel command line (GRUB defaults and/or /etc/kernel/cmdline, as the
 * boot path detection says); and the profile /etc/vfiotx/vfiotx.conf. Releasing the last
 * device takes every device-related edit back out, so the files return to their state before.
 *
 * Safety: the plan lists refusals (safety verdicts, modprobe checks, contradicting user
 * configuration); the caller refuses the plan unless --force.
 *
 * Contract: 0 or negative errno with a message. */
#pragma once

#include <stdbool.h>

#include "backends/bind_method.h"
#include "backends/edit.h"
#include "common/buf.h"
#include "engine/facts.h"
#include "fs/root.h"
#include "journal/snapshot.h"

/* What the user asked on the command line (SPEC). */
typedef struct vt_spec {
        vt_strv devices;  /* --device BDF|VVVV:DDDD */
        vt_strv releases; /* --release BDF|VVVV:DDDD */
        bool method_set;
        vt_bind_method method;
        vt_strv cmdline_add;
        vt_strv cmdline_remove;
        bool no_iommu_params;
} vt_spec;

void vt_spec_free(vt_spec *s);
/* Nothing asked: `apply` re-applies the profile. */
bool vt_spec_empty(const vt_spec *s);

typedef struct vt_plan_ctx {
        vt_facts *facts; /* the host: its root, /sys and /proc trees, and what was read there */
        const vt_spec *spec;
        bool trial_args; /* a trial will be armed: the GRUB command line carries the word
                          * $vfiotx_trial_args, which GRUB fills on trial boots */
} vt_plan_ctx;

/* One refusal, structured (the JSON documents' refusal object). */
typedef struct vt_plan_refusal {
        char *code;    /* a vt_refusal_code_name() (engine/safety.h) or "modprobe-conflict" */
        char *device;  /* the device the host would lose, or the named one; NULL: none */
        char *message; /* one sentence */
        char *advice;  /* what the user can do; NULL: none */
} vt_plan_refusal;

typedef struct vt_plan {
        vt_snapshot target;
        vt_buf why;                     /* one line per decision */
        vt_strv refusals;               /* reasons the plan is unsafe, as text; empty when safe */
        vt_plan_refusal *refusal_items; /* the same reasons, structured */
        size_t n_refusal_items;
        char *summary;          /* one line for the journal */
        bool has_devices;       /* the profile passes devices through after this plan */
        vt_strv words_wanted;   /* kernel parameters the command line must carry */
        vt_strv words_unwanted; /* and must not */
} vt_plan;

int vt_plan_compute(const vt_plan_ctx *ctx, vt_plan *out);
void vt_plan_free(vt_plan *p);
