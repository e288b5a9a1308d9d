/* The rescue marker <root>/var/lib/vfiotx/rescued: vfiotx-rescue (rescue/rescue.h), which has
 * no journal library, leaves it after restoring the plain good copy from the initramfs, and the
 * next `vfiotx boot` (engine/op_boot.h) records the rescue in the journal and removes it.
 *
 * Format, one "key=value" a line (so an initramfs shell can read it with cat):
 *   txn=<n>        the transaction of the good copy that was restored
 *   time=<s>       seconds since the epoch when the files were restored
 *   rebuilt=0|1    whether the initramfs and boot configuration were rebuilt afterwards (0: the
 *                  rebuild failed, was skipped or has not finished; vfiotx completes it)
 *   files=<n>      how many files were written or removed
 * Unknown keys are ignored. Written with fs/atomic_file.h (0600, root-owned): a reader finds the
 * old marker, the new one or none.
 *
 * Contract: 0 or negative errno with a message; reading a missing marker is -ENOENT. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fs/root.h"

#define VT_RESCUE_MARK_PATH "/var/lib/vfiotx/rescued"

typedef struct vt_rescue_mark {
        long txn;
        int64_t time;
        bool rebuilt;
        long files;
} vt_rescue_mark;

int vt_rescue_mark_write(const vt_root *root, const vt_rescue_mark *m);
int vt_rescue_mark_read(const vt_root *root, vt_rescue_mark *out);
int vt_rescue_mark_remove(const vt_root *root);
