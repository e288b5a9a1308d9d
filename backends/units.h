/* Probe: is a systemd unit installed, enabled or masked in the root — what
 * `systemctl --root=ROOT is-enabled NAME` reads, from the unit files and their links, without a
 * running systemd (the root may be a host mounted elsewhere).
 *
 *   masked    NAME in /etc/systemd/system or /run/systemd/system is a link to /dev/null
 *   missing   no unit file NAME in /etc/systemd/system, /run/systemd/system,
 *             /usr/local/lib/systemd/system, /usr/lib/systemd/system, /lib/systemd/system
 *   enabled   a link NAME in a *.wants/ or *.requires/ directory of one of those (what
 *             `systemctl enable` makes, or a package that ships the unit enabled)
 *   disabled  installed, and none of the above
 *
 * Read-only, through fs/root.h (paths stay inside --root).
 *
 * Contract: 0 or a negative errno with a message (a directory that exists but cannot be read);
 * absent directories are not errors. */
#pragma once

#include "fs/root.h"

typedef enum vt_unit_state {
        VT_UNIT_MISSING = 0,
        VT_UNIT_DISABLED,
        VT_UNIT_ENABLED,
        VT_UNIT_MASKED,
} vt_unit_state;

int vt_unit_state_probe(const vt_root *root, const char *name, vt_unit_state *out);
/* "not installed", "disabled", "enabled", "masked" */
const char *vt_unit_state_name(vt_unit_state s);
