/* The systemctl queries the engine runs for the post-boot health checks: backends/health.h
 * decides from the text, this module only fetches it (backends never run a program).
 *
 * vt_systemctl_failed(): runs `systemctl --failed --plain --no-legend --no-pager` as an argv
 * from PATH (engine/runner.h, no chroot, 30 s limit) and returns its output, the text
 * vt_health_check() takes as `failed_units`.
 *
 * Contract: 0 or negative errno with a message (engine/runner.h's: -ENOENT when systemctl is
 * missing, -EPROTO when it fails, -ETIMEDOUT); `out` is replaced only on success. */
#pragma once

#include "common/buf.h"

int vt_systemctl_failed(vt_buf *out);
