/* The check operation (`vfiotx check`, writes nothing): is this host, and each installed
 * kernel, ready for VFIO passthrough?
 *
 * The findings of backends/iommu.h (CPU virtualization, the firmware's tables, the IOMMU
 * active with groups, interrupt remapping, each kernel's parameters and vfio modules) on the
 * host's facts (engine/facts.h), then whether `apply` can arm a boot-counted trial here
 * (vt_trial_check()): a warning when not, since the host is ready for passthrough, only
 * without an automatic fallback. The device list only sharpens one finding (naming the
 * integrated GPU): a host whose PCI tree cannot be read gets every other finding, and the
 * reason through ui->warning.
 *
 * Contract: 0 or negative errno with a message; never prints; vt_op_check_result_free() also
 * on failure. */
#pragma once

#include <stdbool.h>

#include "backends/iommu.h"
#include "engine/op.h"

typedef struct vt_op_check_result {
        vt_findings findings;
        bool ready; /* no finding failed (warnings allowed) */
} vt_op_check_result;

int vt_op_check(const vt_op_env *env, const vt_op_ui *ui, vt_op_check_result *res);
void vt_op_check_result_free(vt_op_check_result *res);
