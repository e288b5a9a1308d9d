/* Boot Loader Specification Type #1 entries (loader/entries/NAME.conf) as systemd-boot 252 reads
 * them, and the boot counter in their file names. Pure: bytes and strings in, values out.
 *
 * The entry file. systemd-boot 252 (src/boot/efi/boot.c, line_get_key_value() and
 * config_entry_add_from_file()) splits the file at every '\n' and every '\r', strips spaces and
 * tabs at both ends of a line, skips empty lines and lines whose first character is '#', takes
 * the key up to the first space or tab and the value after the run of spaces/tabs that follows
 * (a line with no value is skipped), and drops one pair of double quotes when the value starts
 * with '"' and the line ends with '"'. For title, version, machine-id, sort-key, linux, efi,
 * devicetree the last line wins; `options` lines are joined with a space; every `initrd` line
 * adds an initrd, in order; unknown keys are ignored. vt_bls_entry keeps every line as read
 * (comments, blank lines, unknown keys, each terminator), so formatting an unmodified entry
 * gives back the identical bytes; set/add/remove touch only the lines of their key.
 *
 * The counter (systemd-boot.7 "BOOT COUNTING"; config_entry_parse_tries() in 252's boot.c):
 * "NAME+LEFT.conf" or "NAME+LEFT-DONE.conf" (missing DONE = 0). The loader renames the entry
 * it boots to "NAME+max(LEFT-1,0)-(DONE+1).conf" before starting it (even at LEFT 0: only the
 * DONE count grows then); an entry with LEFT 0 is "bad" and sorts last. Anything else after the
 * last '+' (no digit, a second '-', another character) means no counter: the whole name before
 * ".conf" is the stem. 252 quirk, kept on purpose: the loader's digit loop checks every digit
 * of a run for overflow but keeps only the run's last digit, so "foo+12.conf" is read as 2 tries
 * left and "foo+1-10.conf" as 0 done; a run of more than 19 digits overflows (no counter).
 * systemd-bless-boot and bootctl parse the whole number, so only single-digit counters mean the
 * same thing to all of them: vfiotx writes LEFT <= 9 (and DONE stays below 10 then).
 *
 * The entry id (LoaderEntryDefault, LoaderEntryOneShot and loader.conf `default` are matched
 * against it): the file name lowercased, counter and ".conf" included (252: `entry->id =
 * xstrdup(file); StrLwr(entry->id)`; only systemd 258 strips the counter). ASCII letters only
 * are lowered here (the firmware's collation protocol also folds Latin-1; vfiotx names are
 * ASCII).
 *
 * Contract: functions return 0 or a negative errno with a message (common/error.h): -EBADMSG
 * for bytes that are not an entry (a NUL byte), -EINVAL for a bad argument (a key with spaces, a
 * value with a line break, a name without ".conf"), -ENOMEM. Outputs are written only on
 * success; strings returned through char ** are the caller's to free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define VT_BLS_SUFFIX ".conf"

/* ---- the entry file ---- */

typedef struct vt_bls_line {
        char *text;  /* the line's bytes as read, without its terminator */
        char eol;    /* its terminator: '\n', '\r', or '\0' for a last line without one */
        char *key;   /* as systemd-boot reads the line; NULL for a blank line, a comment, or a
                      * line without a value (which systemd-boot skips) */
        char *value; /* unquoted; NULL when key is */
} vt_bls_line;

typedef struct vt_bls_entry {
        vt_bls_line *lines; /* in file order */
        size_t n;
} vt_bls_entry;

#define VT_BLS_ENTRY_INIT                                                                          \
        {                                                                                          \
                NULL, 0                                                                            \
        }

/* One line (without terminator, no NUL) as the loader reads it, for every file it reads this
 * way (entries, loader.conf): *key and *value are set (malloc'd) or both NULL when the loader
 * skips the line. 0 or -ENOMEM. */
int vt_bls_line_split(const char *text, size_t len, char **key, char **value);

/* Parse an entry file's bytes (any length, empty included); `where` names it in messages.
 * -EBADMSG for a NUL byte (systemd-boot would silently stop reading there). */
int vt_bls_entry_parse(const void *data, size_t len, const char *where, vt_bls_entry *out);
/* The entry's bytes: every line's text and terminator, in order. */
int vt_bls_entry_format(const vt_bls_entry *e, vt_buf *out);
void vt_bls_entry_free(vt_bls_entry *e);

static inline void vt_bls_entry_freep(vt_bls_entry *e)
{
        vt_bls_entry_free(e);
}
#define _cleanup_bls_entry_ __attribute__((cleanup(vt_bls_entry_freep)))

/* The value systemd-boot uses for a single-valued key (the last line wins), or NULL. Keys are
 * compared exactly (case-sensitive, as strcmpa() in the loader). */
const char *vt_bls_entry_get(const vt_bls_entry *e, const char *key);
/* How many lines carry `key`, and the value of the i-th of them (NULL past the end). */
size_t vt_bls_entry_count(const vt_bls_entry *e, const char *key);
const char *vt_bls_entry_get_nth(const vt_bls_entry *e, const char *key, size_t i);

static inline const char *vt_bls_entry_title(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "title");
}
static inline const char *vt_bls_entry_version(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "version");
}
static inline const char *vt_bls_entry_machine_id(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "machine-id");
}
static inline const char *vt_bls_entry_sort_key(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "sort-key");
}
static inline const char *vt_bls_entry_linux(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "linux");
}
static inline const char *vt_bls_entry_efi(const vt_bls_entry *e)
{
        return vt_bls_entry_get(e, "efi");
}
/* The i-th `initrd` (0-based, file order), NULL past the last. */
static inline const char *vt_bls_entry_initrd(const vt_bls_entry *e, size_t i)
{
        return vt_bls_entry_get_nth(e, "initrd", i);
}

/* The kernel command line of the entry: every `options` value joined with one space, as the
 * loader does; *out = NULL when there is no `options` line. */
int vt_bls_entry_options(const vt_bls_entry *e, char **out);

/* What the loader starts: the value of the last `linux` or `efi` line (whichever comes last in
 * the file wins, as in the loader), with *is_efi telling which (may be NULL); NULL when there
 * is neither: systemd-boot does not list such an entry. */
const char *vt_bls_entry_loader(const vt_bls_entry *e, bool *is_efi);

/* Give `key` the value `value`: the first line of the key keeps its place, leading blanks, key
 * and separator, and gets the new value; the key's other lines are removed (so a multi-line
 * `options` becomes one line); without such a line, "key value\n" is appended (after a
 * terminator added to a last line that had none). value NULL removes every line of the key.
 * Keys are non-empty, hold no space, tab, CR, LF or NUL, and do not start with '#'; values hold
 * no CR, LF or NUL and no leading or trailing space/tab (the loader would strip them): -EINVAL.
 * A value that starts and ends with '"', or is empty, is written in quotes so that it reads
 * back unchanged. */
int vt_bls_entry_set(vt_bls_entry *e, const char *key, const char *value);
/* Add one more line "key value" after the key's last line (or at the end): for `initrd`. */
int vt_bls_entry_add(vt_bls_entry *e, const char *key, const char *value);

/* ---- counter names ---- */

typedef struct vt_bls_name {
        char *stem;       /* the name without counter and ".conf" */
        bool has_counter; /* false: left and done are 0 */
        uint64_t left;    /* tries left (0 = bad), as the 252 loader reads it */
        uint64_t done;    /* tries done */
} vt_bls_name;

void vt_bls_name_free(vt_bls_name *n);
static inline void vt_bls_name_freep(vt_bls_name *n)
{
        vt_bls_name_free(n);
}
#define _cleanup_bls_name_ __attribute__((cleanup(vt_bls_name_freep)))

/* Split an entry file name (no directory). It must end in ".conf", in any case (the loader lists
 * only such names): -EINVAL otherwise. */
int vt_bls_name_parse(const char *file, vt_bls_name *out);
/* "stem.conf" (has_counter false), "stem+LEFT.conf" (done 0) or "stem+LEFT-DONE.conf". The
 * stem must be non-empty and hold no '/' or NUL (-EINVAL). */
int vt_bls_name_make(const char *stem, bool has_counter, uint64_t left, uint64_t done, char **out);
/* The name the loader gives the entry when it boots it: "stem+max(LEFT-1,0)-(DONE+1).conf"
 * (the loader writes ".conf" in lower case); the same name when it has no counter (the loader
 * does not rename it). */
int vt_bls_name_next(const char *file, char **out);
/* `systemd-bless-boot good`: the counter dropped ("stem" + the name's own suffix); the same
 * name when it has none. */
int vt_bls_name_good(const char *file, char **out);
/* `systemd-bless-boot bad`: "stem+0-DONE" + the suffix. -EINVAL when the name has no counter
 * (bless-boot has nothing to mark then). */
int vt_bls_name_bad(const char *file, char **out);
/* The entry id: the file name with ASCII letters lowered, counter and suffix kept. */
int vt_bls_entry_id(const char *file, char **out);
