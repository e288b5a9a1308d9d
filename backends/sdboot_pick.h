/* Which Boot Loader entry systemd-boot 252 boots by default, from the entries of one ESP, its
 * loader.conf and the loader's EFI variables. Pure: the caller reads the files (and checks
 * that each entry's kernel exists on the ESP); this module sorts and picks. Used by arming
 * (which entry the trial copies: engine/sdboot_counter.h) and by `status` (what boots next).
 * vfiotx's own entries have no sort-key, so they sort after entries that have one, as Debian's
 * kernel-install writes them (`sort-key debian`); arming refuses where, without
 * LoaderEntryDefault, the loader would pick vfiotx's last good entry.
 *
 * The model (systemd 252, src/boot/efi/boot.c; Debian 12 ships 252.39):
 *   1. Entries (config_load_entries, config_entry_add_from_file): file names ending in ".conf"
 *      (any case) not starting with "auto-" or "."; an entry needs a `linux` or `efi` line, an
 *      `architecture` (if any) equal to "x64", and its loader file present on the ESP. Others
 *      are dropped before sorting. (Type #2 UKIs in /EFI/Linux, XBOOTLDR partitions and the
 *      auto entries — Windows, EFI shell, firmware setup — are not modelled: auto entries go
 *      after the sorted ones and are never the default.)
 *   2. Sort (config_entry_compare; a stable insertion sort, so entries that compare equal keep
 *      the caller's order, i.e. pass them in directory order):
 *        a. entries with tries left == 0 ("bad") last;
 *        b. entries with a sort-key before entries without;
 *        c. both with a sort-key: sort-key (strcmp), then machine-id (strcmp; none first), then
 *           version by vt_strverscmp_improved(), newest first;
 *        d. id by vt_strverscmp_improved(), highest first;
 *        e. both counted: more tries left first, then fewer tries done first.
 *   3. Default (config_default_entry_select), the first rule that matches wins:
 *        LoaderEntryOneShot → LoaderEntryDefault ("@saved": LoaderEntryLastBooted) → loader.conf
 *        `default` ("@saved": LoaderEntryLastBooted, unless the variable was "@saved" too) → the
 *        first sorted entry. Each value is a pattern (vt_sdboot_match) tried against the ids in
 *        sorted order; the first match wins, bad or not (only the last rule is "bad last" by
 *        the sort alone). A pattern matching nothing falls through to the next rule.
 * Ids (backends/bls_entry.h, vt_bls_entry_id): the lowercased file name, counter and ".conf"
 * included, so "vfiotx-*" matches "vfiotx-1-trial-7+2-1.conf" and "proxmox-6.8.12-4-pve"
 * (without ".conf") matches nothing.
 *
 * Contract: 0 or a negative errno with a message (common/error.h): -EINVAL for a bad argument
 * (an input without a file name or parsed entry), -ENOMEM. An entry that systemd-boot would not
 * list is not an error: it is reported in `dropped` with the reason. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/bls_entry.h"
#include "backends/loader_conf.h"

/* The architecture name systemd-boot x86_64 compares `architecture` with (EFI_MACHINE_TYPE_NAME).
 */
#define VT_SDBOOT_ARCH "x64"

/* systemd's strverscmp_improved() (the UAPI Version Format Specification, uapi-group.org
 * specs/version_format_specification.md): <0, 0, >0. NULL compares as "". ASCII letters and
 * digits, '-', '.', '~', '^' are significant; every other byte (non-ASCII included) is a
 * separator and skipped. Used for entry ids and versions. */
int vt_strverscmp_improved(const char *a, const char *b);

/* systemd-boot 252's MetaiMatch(id, pattern), which is the firmware's Unicode Collation
 * protocol (EDK2/OVMF: EngMetaiMatch): '*' any run, '?' one character, "[...]" a set with
 * "a-z" ranges and no negation, everything else literal; no escapes. Case-insensitive for
 * ASCII letters (EDK2 also folds Latin-1; firmware without the protocol falls back to gnu-efi's
 * case-sensitive MetaMatch: vfiotx patterns are lower case, like the ids). UTF-8 is matched per
 * character. A set with no closing ']' or a '-' with nothing after it never matches (EDK2 reads
 * past the pattern's end there). */
bool vt_sdboot_match(const char *pattern, const char *id);

typedef struct vt_sdboot_input {
        const char *file;          /* the file name in loader/entries (no directory) */
        const vt_bls_entry *entry; /* the parsed file */
        bool loader_exists;        /* the caller found its `linux` / `efi` file on the ESP
                                    * (vt_bls_entry_loader() says which path) */
} vt_sdboot_input;

/* The loader's EFI variables (vendor 4a67b082-..., backends/efivar.h), decoded; NULL when
 * unset. */
typedef struct vt_sdboot_vars {
        const char *oneshot;       /* LoaderEntryOneShot (the loader deletes it when it reads it) */
        const char *entry_default; /* LoaderEntryDefault (bootctl set-default, the 'd' key) */
        const char *last_booted;   /* LoaderEntryLastBooted (only used for "@saved") */
} vt_sdboot_vars;

typedef enum vt_sdboot_rule {
        VT_SDBOOT_RULE_NONE = 0,       /* no entry is listed: nothing boots (the loader shows
                                        * an error) */
        VT_SDBOOT_RULE_ONESHOT,        /* LoaderEntryOneShot matched */
        VT_SDBOOT_RULE_EFIVAR_DEFAULT, /* LoaderEntryDefault (or its @saved) matched */
        VT_SDBOOT_RULE_CONFIG_DEFAULT, /* loader.conf `default` (or its @saved) matched */
        VT_SDBOOT_RULE_FIRST,          /* no pattern matched: the first sorted entry */
} vt_sdboot_rule;

typedef enum vt_sdboot_drop {
        VT_SDBOOT_DROP_NAME = 1,  /* not "*.conf", or "auto-*" / ".*": the loader skips it */
        VT_SDBOOT_DROP_NO_LOADER, /* neither `linux` nor `efi` */
        VT_SDBOOT_DROP_ARCH,      /* `architecture` is not VT_SDBOOT_ARCH */
        VT_SDBOOT_DROP_MISSING,   /* its loader file does not exist (loader_exists false) */
} vt_sdboot_drop;

typedef struct vt_sdboot_item {
        size_t input;     /* index into the caller's array */
        char *id;         /* the entry id (lowercased file name) */
        bool has_counter; /* the name carries +LEFT[-DONE] */
        uint64_t left;    /* tries left, as the loader reads them (0 when no counter) */
        uint64_t done;
        bool bad; /* has_counter && left == 0 */
} vt_sdboot_item;

typedef struct vt_sdboot_dropped {
        size_t input;
        vt_sdboot_drop why;
} vt_sdboot_dropped;

typedef struct vt_sdboot_menu {
        vt_sdboot_item *sorted; /* the listed entries in menu order */
        size_t n;
        vt_sdboot_dropped *dropped; /* the inputs the loader would not list, in input order */
        size_t n_dropped;
        size_t default_index; /* into sorted; meaningful when rule != NONE */
        vt_sdboot_rule rule;
        const char *pattern; /* the pattern that matched (points into vars or conf), or NULL */
        vt_loader_conf conf; /* loader.conf as read (default, timeout) */
} vt_sdboot_menu;

#define VT_SDBOOT_MENU_INIT                                                                        \
        {                                                                                          \
                NULL, 0, NULL, 0, 0, VT_SDBOOT_RULE_NONE, NULL, VT_LOADER_CONF_INIT                \
        }

/* Model the loader: entries in[0..n) (directory order), loader.conf's bytes (NULL: no
 * loader.conf), the variables (NULL: none set). */
int vt_sdboot_pick(const vt_sdboot_input *in, size_t n, const void *loader_conf, size_t conf_len,
                   const vt_sdboot_vars *vars, vt_sdboot_menu *out);
void vt_sdboot_menu_free(vt_sdboot_menu *p);

/* The default entry's input index, or (size_t)-1 when nothing boots. */
static inline size_t vt_sdboot_menu_default_input(const vt_sdboot_menu *p)
{
        return p->rule == VT_SDBOOT_RULE_NONE ? (size_t)-1 : p->sorted[p->default_index].input;
}

static inline void vt_sdboot_menu_freep(vt_sdboot_menu *p)
{
        vt_sdboot_menu_free(p);
}
#define _cleanup_sdboot_menu_ __attribute__((cleanup(vt_sdboot_menu_freep)))

const char *vt_sdboot_rule_name(vt_sdboot_rule r);
const char *vt_sdboot_drop_name(vt_sdboot_drop d);
