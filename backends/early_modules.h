/* Editors: load the vfio modules early, from the initramfs, before the devices' host drivers.
 *
 * Each initramfs generator has its own file:
 *   initramfs-tools  /etc/initramfs-tools/modules           (user file: a managed block)
 *   dracut           /etc/dracut.conf.d/vfiotx.conf         (vfiotx's own file)
 *   mkinitcpio       /etc/mkinitcpio.conf                   (user file: a managed block)
 *                    or /etc/mkinitcpio.conf.d/vfiotx.conf  (vfiotx's own drop-in, when the
 *                                                            host's mkinitcpio reads conf.d)
 * In a user file vfiotx appends one block between marker lines and touches nothing else:
 *
 *   # >>> vfiotx: managed block, edits are recorded as drift
 *   vfio
 *   ...
 *   # <<< vfiotx
 *
 * Editing with an empty module list removes the block, which gives back the file exactly as it
 * was before (the begin marker records whether vfiotx had to add a final newline or create
 * the file, so that is undone too: a file vfiotx created comes back "absent"). A file whose
 * user lines already load every module is returned byte-for-byte, without a block.
 *
 * The module list comes from vt_early_modules() for the target kernels. When vfio-pci is built
 * into a target kernel, modprobe.d options never reach it: vt_builtin_cmdline_args() says which
 * arguments the engine must put on the kernel command line instead (through the command-line
 * editor; this module writes no command-line file).
 *
 * Contract: pure; 0 or negative errno with a message. -EINVAL for a file vfiotx cannot edit
 * safely (an unterminated managed block, mkinitcpio's old MODULES="..." string syntax). */
#pragma once

#include <stddef.h>

#include "backends/bind_method.h"
#include "backends/edit.h"
#include "backends/kernels.h"
#include "backends/pci.h"

#define VT_INITRAMFS_TOOLS_MODULES_PATH "/etc/initramfs-tools/modules"
#define VT_DRACUT_CONF_PATH             "/etc/dracut.conf.d/vfiotx.conf"
#define VT_MKINITCPIO_CONF_PATH         "/etc/mkinitcpio.conf"
#define VT_MKINITCPIO_DROPIN_PATH       "/etc/mkinitcpio.conf.d/vfiotx.conf"

/* The modules to load early for these target kernels, in load order: vfio,
 * vfio_iommu_type1, vfio_pci, and vfio_virqfd only when every one of the kernels has it as a
 * loadable module (it was merged into vfio.ko in 6.2; where it exists vfio_pci depends on it,
 * so it is loaded and packed into the initramfs anyway). Same rule as vt_modules_wanted(). */
int vt_early_modules(const vt_kernel *kernels, size_t nkernels, vt_strv *out);

/* /etc/initramfs-tools/modules: cur is its bytes, NULL when missing. Modules already named on
 * a user line (first word, '-' and '_' alike) are not repeated. */
int vt_initramfs_tools_modules_edit(const vt_buf *cur, const char *const *mods, size_t n,
                                    vt_file_out *out);

/* /etc/dracut.conf.d/vfiotx.conf: force_drivers+=" ... " (loaded before udev starts, so before
 * any host driver). Absent when n == 0. */
int vt_dracut_conf_generate(const char *const *mods, size_t n, vt_file_out *out);

/* /etc/mkinitcpio.conf: a managed block at the end that puts the modules in front of the
 * user's MODULES array (mkinitcpio loads them in array order, and a graphics driver listed
 * there must come after vfio-pci):  MODULES=(vfio ... "${MODULES[@]}"). The file is sourced
 * by bash, so the last assignment wins and the rest of the file stays as it is. */
int vt_mkinitcpio_conf_edit(const vt_buf *cur, const char *const *mods, size_t n, vt_file_out *out);
/* /etc/mkinitcpio.conf.d/vfiotx.conf: the same assignment as vfiotx's own drop-in, for a
 * mkinitcpio that reads /etc/mkinitcpio.conf.d (the engine decides). Absent when n == 0. */
int vt_mkinitcpio_dropin_generate(const char *const *mods, size_t n, vt_file_out *out);

/* The kernel command-line arguments the plan needs because vfio-pci is built into one of the
 * target kernels (modules.builtin): "vfio-pci.ids=..." and "vfio-pci.disable_vga=1", as
 * vt_modprobe_vfio_params() gives them. Empty when every target kernel has vfio-pci as a module
 * (or lacks it: the safety check refuses that). On a kernel where vfio-pci is a module the
 * arguments are harmless: modprobe reads module parameters from /proc/cmdline as well. */
int vt_builtin_cmdline_args(const vt_kernel *kernels, size_t nkernels,
                            const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                            vt_strv *out);
