/* Writing the last good boot: carries out a plan of backends/boot_preserve.h (which decides what
 * to copy and the bytes of entry.cfg, and reads back what is preserved) under <root>/boot/vfiotx.
 * Here because backends never write a file.
 *
 * vt_last_good_write(): check the free space (what the copies still need, plus 16 MiB so that
 * the next kernel update fits), copy the kernel and initramfs (skipped when the copy already has
 * the same bytes; owner, mode and xattrs of the source), write entry.cfg, then remove the copies
 * it no longer names. Every file is replaced atomically (fs/atomic_file.h) and entry.cfg is
 * the commit point: after a crash it names either the old copies (still there) or the new ones
 * (complete), never a mix. Temporary files an earlier crash left are removed first. The caller
 * then flushes /boot (engine/boot_fs.h) so GRUB reads the new entry without the journal
 * replayed.
 *
 * Contract: 0 or negative errno with a message; -ENOSPC with a hint when /boot lacks room for
 * the copies. */
#pragma once

#include "backends/boot_preserve.h"
#include "fs/root.h"

int vt_last_good_write(const vt_root *root, const vt_preserve_plan *plan);
