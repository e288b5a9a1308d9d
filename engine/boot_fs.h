/* The file systems a bootloader reads, inside the root: after vfiotx or a rebuild step it runs
 * writes there, make the writes visible to a reader that does not replay the journal
 * (fs/boot_flush.h) before a commit point is written or an arming is reported done.
 *
 * vt_boot_fs_flush(): the file system holding `dir` (inside the root).
 * vt_boot_fs_flush_all(): each file system among /boot, /boot/efi and /efi that exists inside
 * the root, once (by device); `steps`, when given, gets one JSON object per file system:
 * {"flush": dir, "fstype", "method", "ms"} for the transaction's rebuild record.
 *
 * Contract: 0 or negative errno with a message (fs/boot_flush.h's); never prints. */
#pragma once

#include <stdbool.h>

#include "fs/boot_flush.h"
#include "journal/root.h"

struct json_object;

int vt_boot_fs_flush(const vt_root *root, const char *dir, bool dry_run, vt_flush_report *out);
int vt_boot_fs_flush_all(const vt_root *root, struct json_object *steps);
