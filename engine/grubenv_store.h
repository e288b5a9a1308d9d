/* Writing GRUB's environment block: the one write of boot counting (arming, clearing, marking a
 * fallback). backends/bootcount_grub.h parses, edits and formats the block and reads it
 * (vt_grubenv_load); the write is here because backends never write a file.
 *
 * vt_grubenv_store() formats the block and rewrites <root>/boot/grub/grubenv (vt_grubenv_store_at:
 * the block at another path, proxmox-boot-tool's <ESP>/grub/grubenv) in place: its 1024
 * bytes in the blocks it has (no temporary file, no new inode), as GRUB's save_env does, then
 * fsync (fs/atomic_file.h's vt_write_in_place). The caller then flushes the file system
 * holding it (engine/boot_fs.h), so GRUB reads it without the journal replayed.
 *
 * Contract: 0 or negative errno with a message: the formatter's (-ENOSPC when the variables do
 * not fit), -EINVAL when the file on disk is not exactly 1024 bytes (left as it is), the
 * write's errno otherwise. */
#pragma once

#include "backends/bootcount_grub.h"
#include "fs/root.h"

int vt_grubenv_store(const vt_root *root, const vt_grubenv *env);
/* The same for the block at `path` in the root (proxmox-boot-tool's <ESP>/grub/grubenv). */
int vt_grubenv_store_at(const vt_root *root, const char *path, const vt_grubenv *env);
