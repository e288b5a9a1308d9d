/* Editor for /etc/modules (systemd-modules-load / Debian's kmod init): one module per line,
 * optionally followed by arguments; '#' and ';' start comments.
 *
 * vt_modules_edit() returns the file with every wanted module that is not yet listed appended,
 * one per line, keeping every existing line, comment and byte as they were; a file that already
 * lists them all is returned byte for byte. Names are compared as kmod compares them ('-' and
 * '_' alike). A missing file is created with Debian's stock header.
 *
 * vt_modules_wanted() decides the list from the target kernels: vfio, vfio_iommu_type1 and
 * vfio_pci always; vfio_virqfd only when every installed kernel still ships it as a loadable
 * module (it was merged into vfio.ko in 6.2; listing a module a kernel lacks makes
 * systemd-modules-load fail on that kernel, and where it exists vfio_pci pulls it in as a
 * dependency anyway). `why` receives one line per decision for `plan`.
 *
 * Contract: pure functions, no I/O; 0 or negative errno. */
#pragma once

#include <stdbool.h>

#include "backends/kernels.h"
#include "common/buf.h"

#define VT_MODULES_PATH "/etc/modules"

/* `cur` NULL: the file does not exist. `wanted` is NULL-terminated. */
int vt_modules_edit(const vt_buf *cur, const char *const *wanted, vt_buf *out);
/* Is `name` listed (as a module line) in the text? */
bool vt_modules_listed(const char *text, size_t len, const char *name);
/* Fills a NULL-terminated array of static names (at most 5 entries with the NULL). */
int vt_modules_wanted(const vt_kernel_list *kernels, const char *wanted[5], vt_buf *why);
