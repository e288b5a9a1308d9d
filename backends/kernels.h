/* Probe: the kernels installed in the root, and what each has as a module or built in.
 *
 * A kernel is a directory <root>/lib/modules/<kver>/ that holds a modules.dep or
 * modules.builtin (Debian keeps /lib/modules for merged /usr, both are the same directory).
 * Module names are compared with '-' and '_' treated alike, as kmod does. Lookups read
 * modules.dep (path of every loadable module) and modules.builtin; /boot/config-<kver> is read
 * for CONFIG_ options.
 *
 * Contract: 0 or negative errno with a message; results are owned by the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fs/root.h"

typedef struct vt_kernel {
        char *version;     /* "6.1.0-26-amd64" */
        char *modules_dep; /* contents of modules.dep ("" when missing) */
        char *builtin;     /* contents of modules.builtin ("" when missing) */
        char *config;      /* contents of /boot/config-<version>, NULL when missing */
} vt_kernel;

typedef struct vt_kernel_list {
        vt_kernel *items;
        size_t n;
} vt_kernel_list;

/* All kernels under <root>/lib/modules, sorted by version (strverscmp). None is not an error. */
int vt_kernels_scan(const vt_root *root, vt_kernel_list *out);
void vt_kernels_free(vt_kernel_list *list);

typedef enum vt_module_state {
        VT_MODULE_ABSENT = 0,
        VT_MODULE_LOADABLE, /* listed in modules.dep */
        VT_MODULE_BUILTIN,  /* listed in modules.builtin */
} vt_module_state;

/* Module names as kmod compares them: '-' and '_' alike ("vfio-pci" is "vfio_pci"). The _n
 * form compares the first alen bytes of a with all of b. */
bool vt_modname_eq(const char *a, const char *b);
/* A name that can stand in a modprobe.d statement: 1-64 letters, digits, '_' and '-', with at
 * least one letter or digit (so a device's facts cannot inject a line or a stray "-"). */
bool vt_modname_valid(const char *s);
bool vt_modname_eq_n(const char *a, size_t alen, const char *b);

/* Where `name` ("vfio_pci", "vfio-pci") stands in this kernel. */
vt_module_state vt_kernel_module(const vt_kernel *k, const char *name);

/* The value of CONFIG_<name> in the kernel's config ("y", "m", "0x10"...), NULL when unset or
 * unknown. `name` without the CONFIG_ prefix. Returns a pointer into a static-per-call buffer
 * owned by the caller (malloc'd). */
char *vt_kernel_config(const vt_kernel *k, const char *name);
