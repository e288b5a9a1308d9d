/* Parser and conflict checker: the user's modprobe configuration, read the way kmod reads it,
 * and the statements in it that contradict what vfiotx's own files (backends/modprobe.h) set.
 *
 * vt_modprobe_load() applies kmod's file rules (which files of which directories count, which
 * one wins) and vt_modprobe_parse() reads each file line by line, keeping every statement's
 * file and line, which libkmod does not give. vt_modprobe_conflicts() then lists each statement
 * outside vfiotx's own files that would undo or fight the plan, so the refusal can say
 * "file:line: text: why" and the user knows exactly what to change. vfiotx never edits those
 * files.
 *
 * Contract: pure (the engine reads the files and hands their bytes in). 0 or a negative errno
 * with a message; a contradiction is -EPERM with every statement in the message and a hint;
 * the parser never fails on content (only -ENOMEM). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/bind_method.h"
#include "backends/pci.h"

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

/* Refuse (-EPERM) when a statement outside vfiotx's own files contradicts the plan; the
 * message lists every such statement as "file:line: text: why", the hint says what to do.
 * Contradictions: options for vfio-pci that set ids= (or a different disable_vga when vfiotx
 * sets it); install/blacklist of vfio-pci or the vfio modules it needs; an alias that
 * redirects "vfio_pci" or sends a planned device's modalias to another module; a softdep for
 * a device's host driver that lacks vfio-pci in its pre: list (modprobe uses only the first
 * softdep line for a module, so one of the two would be ignored). */
int vt_modprobe_conflicts(const vt_modprobe_config *cfg, const vt_pci_device *const *devs, size_t n,
                          vt_bind_method method);
