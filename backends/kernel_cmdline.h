/* Editor for /etc/kernel/cmdline: the command line that kernel-install (systemd-boot, Debian's
 * and Fedora's layouts), proxmox-boot-tool and similar tools copy into boot entries.
 *
 * The file is one line, optionally followed by one newline. The line is edited with the word
 * model of backends/cmdline.h, so root=ZFS=rpool/ROOT/pve-1, boot=zfs and every other word keep
 * their bytes and order; the trailing newline is kept when present and not added when absent,
 * so removing what was added restores the file byte for byte. A file with a second line is
 * refused: the tools that read it join or cut lines differently, so no edit is right for all.
 * An empty (or absent, passed as empty) file gains just the added words.
 *
 * Contract: pure (no I/O); `out` receives the new bytes, identical to the input when the change
 * does nothing; -EINVAL with a message naming `path` and the line when the file is refused. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/cmdline.h"
#include "common/buf.h"

int vt_kernel_cmdline_edit(const char *path, const char *data, size_t len,
                           const vt_cmdline_change *change, vt_buf *out, bool *changed);
