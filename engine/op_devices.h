/* The devices operation (`vfiotx devices`, writes nothing): every PCI device with the verdict
 * of passing it through on its own (engine/safety.h, vt_safety_verdict()), and the host facts
 * the verdicts rest on: which devices hold / and /boot and carry the default route, whether
 * there is a serial console, and the facts that could not be mapped to a device (notes, which
 * the CLI shows as warnings: vfiotx cannot protect what it cannot see).
 *
 * Contract: 0 or negative errno with a message; never prints; vt_op_devices_result_free()
 * also on failure. */
#pragma once

#include <stddef.h>

#include "backends/hostinfo.h"
#include "backends/pci.h"
#include "backends/quirks.h"
#include "engine/facts.h"
#include "engine/op.h"
#include "engine/safety.h"

typedef struct vt_op_devices_result {
        const vt_pci_list *devs;   /* sorted by address (points into `facts`) */
        const vt_hostinfo *host;   /* (points into `facts`) */
        vt_refusal_list *verdicts; /* one per device, in the order of devs, of its card (no
                                    * refusal, vt_refusal_count() 0: ok) */
        vt_selection *units;       /* one per device: its card's functions (vt_safety_unit()) */
        vt_quirk_list *quirks;     /* one per device: the quirk table's entries for it, its card
                                    * going to a VM (isolation entries left out: the group is
                                    * the verdict's business) */
        vt_facts facts;            /* what was read (private) */
        vt_root root;              /* the root, for the enabled remote ways in (private) */
        bool have_root;
} vt_op_devices_result;

int vt_op_devices(const vt_op_env *env, vt_op_devices_result *res);
void vt_op_devices_result_free(vt_op_devices_result *res);
