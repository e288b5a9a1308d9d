/* How vfiotx binds a device to vfio-pci: the four methods of `--method`.
 *
 *   ids        `options vfio-pci ids=VVVV:DDDD`: every device with that vendor:device is bound
 *   alias      per device `alias <modalias> vfio-pci`, plus the ids= options line
 *   blacklist  `blacklist <driver>` so the host driver never loads, plus the ids= options line
 *   override   per PCI address: driver_override written from the initramfs, guarded by the
 *              expected vendor:device (the only method that tells identical cards apart)
 *
 * Shared by the modprobe editor, the safety checks and the engine (spec and profile parsing).
 * Contract: vt_bind_method_parse() returns 0 or -EINVAL with a message listing the valid
 * names; vt_bind_method_name() never returns NULL. */
#pragma once

typedef enum vt_bind_method {
        VT_BIND_IDS = 0,
        VT_BIND_ALIAS,
        VT_BIND_BLACKLIST,
        VT_BIND_OVERRIDE,
        _VT_BIND_MAX,
} vt_bind_method;

int vt_bind_method_parse(const char *s, vt_bind_method *out);
/* "ids", "alias", "blacklist", "override"; "unknown" for a value out of range. */
const char *vt_bind_method_name(vt_bind_method m);
