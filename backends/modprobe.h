/* Editor: vfiotx's own modprobe configuration, and the check of the user's against it.
 *
 * Two parts, all pure (bytes in, bytes out; the engine does every read and write):
 *
 * 1. vt_modprobe_generate(): the files vfiotx owns for a set of devices and a method.
 *      /etc/modprobe.d/vfiotx.conf            options vfio-pci ..., alias ..., softdep ...
 *      /etc/modprobe.d/vfiotx-blacklist.conf  blacklist <driver> (method blacklist only)
 *      /etc/vfiotx/override.conf              "BDF VVVV:DDDD" lines read by the initramfs
 *                                             script (method override only)
 *    The output is a function of the device set and the method alone (devices are ordered by
 *    BDF), so applying the same spec twice gives the same bytes, and releasing a device gives
 *    exactly the bytes the files had before it was added; a file with nothing to say is
 *    "absent" (the engine deletes it). vfiotx never writes to a user's modprobe.d file.
 *
 * 2. vt_modprobe_load() + vt_modprobe_conflicts(): the effective modprobe configuration (the
 *    user's and the distribution's files, with kmod's precedence rules) parsed line by line so
 *    that a contradiction is reported with its file and line, which libkmod does not give.
 *
 * Whether a method is safe for the host (an ids= that would also catch an identical card that
 * was not named, a blacklisted driver that a device kept by the host needs) is decided by the
 * safety rules (engine/safety.h), not here.
 *
 * Device facts: vt_pci_device.driver must be the device's *host* driver, the one it uses when
 * vfio-pci does not have it. After a reboot into the new configuration the device is bound to
 * vfio-pci; the engine keeps the host driver in the profile and passes that. A driver of
 * "vfio-pci" / "pci-stub" is treated as "no host driver known" (no softdep, no blacklist).
 *
 * Contract: 0 or a negative errno with a message (vt_error_set) and, for refusals, a hint.
 * Refusals (unsafe plan, conflicting configuration) are -EPERM; malformed device facts
 * (a modalias or driver name that cannot be written into a modprobe file) are -EINVAL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bind_method.h"
#include "backends/edit.h"
#include "backends/pci.h"

#define VT_MODPROBE_CONF_PATH      "/etc/modprobe.d/vfiotx.conf"
#define VT_MODPROBE_BLACKLIST_PATH "/etc/modprobe.d/vfiotx-blacklist.conf"
#define VT_OVERRIDE_CONF_PATH      "/etc/vfiotx/override.conf"

enum {
        VT_MODPROBE_FILE_CONF = 0,
        VT_MODPROBE_FILE_BLACKLIST,
        VT_MODPROBE_FILE_OVERRIDE,
        VT_MODPROBE_NFILES,
};

typedef struct vt_modprobe_files {
        vt_file_out file[VT_MODPROBE_NFILES]; /* always all three, in the order above */
} vt_modprobe_files;

/* The files for binding `devs` (the devices to pass through; duplicates by BDF are ignored)
 * with `method`. n == 0 makes every file absent. */
int vt_modprobe_generate(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                         vt_modprobe_files *out);
void vt_modprobe_files_free(vt_modprobe_files *f);

/* The parameters vfiotx gives vfio-pci for this plan, in the order of the options line:
 * "ids=8086:3e92" (not for override) and "disable_vga=1" (when a display-class device, class
 * 03xx, is among them). Empty for no devices. The engine prefixes them with "vfio-pci." for the
 * kernel command line when vfio-pci is built in (see early_modules.h). */
int vt_modprobe_vfio_params(const vt_pci_device *const *devs, size_t n, vt_bind_method method,
                            vt_strv *out);

/* ---- Reading the effective modprobe configuration ---- */

/* The directories kmod reads, highest precedence first; NULL-terminated. The engine reads
 * every regular file of each (a symlink to /dev/null reads as an empty file, which masks a file
 * of the same name in a later directory, as kmod does). */
extern const char *const vt_modprobe_dirs[];

/* One configuration file as the engine read it: absolute host path and its bytes. */
typedef struct vt_conf_file {
        const char *path;
        const char *data;
        size_t len;
} vt_conf_file;

typedef enum vt_modprobe_kind {
        VT_MP_ALIAS = 0,
        VT_MP_BLACKLIST,
        VT_MP_OPTIONS,
        VT_MP_INSTALL,
        VT_MP_REMOVE,
        VT_MP_SOFTDEP,
} vt_modprobe_kind;

typedef struct vt_modprobe_stmt {
        vt_modprobe_kind kind;
        char *path;    /* file it came from */
        unsigned line; /* 1-based line where the statement starts (continuations join lines) */
        char *name;    /* module name, or the alias pattern, with '-' read as '_' like kmod */
        char *value;   /* alias: target module (normalised); blacklist: NULL; others: the rest
                        * of the line as kmod keeps it */
        char *text;    /* the whole logical line, for messages */
} vt_modprobe_stmt;

typedef struct vt_modprobe_config {
        vt_modprobe_stmt *items; /* in the order modprobe reads them */
        size_t n, cap;
} vt_modprobe_config;

/* Parse one file's bytes and append its statements to cfg. kmod's syntax: a trailing '\'
 * joins the next line, '#' in the first column starts a comment, fields are separated by
 * spaces and tabs, unknown or incomplete lines are skipped (as modprobe does). Never fails on
 * content; -ENOMEM only. */
int vt_modprobe_parse(const char *path, const char *data, size_t len, vt_modprobe_config *cfg);

/* Apply kmod's file rules to `files` and parse the survivors in modprobe's order: only names
 * ending in ".conf" (or ".alias") and not starting with '.'; of files with the same name the
 * one in the earliest directory of vt_modprobe_dirs wins (a file in another directory ranks
 * after those); the winners are read sorted by file name. */
int vt_modprobe_load(const vt_conf_file *files, size_t n, vt_modprobe_config *cfg);
void vt_modprobe_config_free(vt_modprobe_config *cfg);

/* Is this one of the files vfiotx generates (skipped by the conflict check)? */
bool vt_modprobe_is_own_path(const char *path);

/* Refuse (-EPERM) when a statement outside vfiotx's own files contradicts the plan; the
 * message lists every such statement as "file:line: text: why", the hint says what to do.
 * Contradictions: options for vfio-pci that set ids= (or a different disable_vga when vfiotx
 * sets it); install/blacklist of vfio-pci or the vfio modules it needs; an alias that
 * redirects "vfio_pci" or sends a planned device's modalias to another module; a softdep for
 * a device's host driver that lacks vfio-pci in its pre: list (modprobe uses only the first
 * softdep line for a module, so one of the two would be ignored). */
int vt_modprobe_conflicts(const vt_modprobe_config *cfg, const vt_pci_device *const *devs, size_t n,
                          vt_bind_method method);
