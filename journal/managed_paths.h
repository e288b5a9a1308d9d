/* The managed-paths list <root>/var/lib/vfiotx/managed-paths: every path the journal has ever
 * managed, one absolute path a line, in the order they were first seen.
 *
 * It lives beside journal.git, not in it, so that it stays readable when the repository is
 * damaged: a rescue from the plain copy of the good snapshot (journal/good_copy.h) reads it to
 * know which files to treat as absent when that snapshot predates them. It only grows: the
 * list is kept a superset of every snapshot's paths by recording each snapshot before it is
 * committed. Written through fs/atomic_file.h (mode 0600, root-owned).
 *
 * Contract: 0 or negative errno with a message; a missing list reads as empty. */
#pragma once

#include <stdbool.h>

#include "fs/root.h"
#include "journal/snapshot.h"

#define VT_MANAGED_PATHS_PATH "/var/lib/vfiotx/managed-paths"

/* Add the paths of `s` the list does not hold yet; the file is rewritten only when it grows. */
int vt_managed_paths_record(const vt_root *root, const vt_snapshot *s);

/* Add to `s` an absent entry for every listed path it does not hold: the snapshot did not
 * list them, so they did not exist when it was taken (restoring `s` removes them). Only paths
 * `manageable` accepts are taken (vfiotx passes backends/rebuild_plan.h's vt_path_vfiotx_own: the
 * files only vfiotx creates): a line added by hand or by damage (/etc/fstab), or a file vfiotx
 * found and started managing after `s`, is never removed. */
int vt_managed_paths_add_absent(const vt_root *root, vt_snapshot *s,
                                bool (*manageable)(const char *path));
