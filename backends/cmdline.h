/* The kernel command-line word model, shared by every editor of a command line.
 *
 * Words are split exactly as the kernel's next_arg() splits them: runs of non-space bytes
 * (space is the kernel's isspace(): ' ', \t, \n, \v, \f, \r and 0xa0), where a '"' toggles a
 * quoted section in which spaces do not split (foo="a b" is one word). A word's name is the part
 * before the first '=' (a leading '"' skipped), its value the rest with one leading and one
 * trailing '"' removed, as the kernel hands it to the parameter. Names are compared with '-' and
 * '_' alike (the kernel's parameq()); values are compared byte for byte. Everything after a bare
 * "--" word belongs to init and is never matched or edited; additions go before it.
 *
 * A change set adds and removes parameters:
 *   add "name=value"  no change when a word with that name and value is already there; a word
 *                     of the same parameter with another value is replaced in place (spelled as
 *                     requested) and further words of that parameter are dropped, so
 *                     intel_iommu=off becomes intel_iommu=on and never both; otherwise the word
 *                     is appended after the last kernel word with one space.
 *   remove "name"     drops every word of that name (with or without a value);
 *   remove "name=val" drops only the words with exactly that name and value.
 * "Same parameter" is the name, except for parameters the kernel accumulates rather than
 * overrides: console=, initcall_blacklist= and iommu= (each value is its own parameter: x86's
 * iommu_setup() applies every iommu= word, so adding iommu=pt keeps the user's iommu=1 or
 * iommu=soft, and a line that has iommu=pt already is left alone) and video= (one parameter
 * per output or driver: video=efifb:off and video=HDMI-A-1:1920x1080 coexist).
 *
 * Every word not named by the change keeps its bytes and its place, and the whitespace around
 * it. A removed word goes with the whitespace before it (or after it, when it is the first word),
 * so removing what an addition appended gives back the exact previous text, and applying the
 * same change twice gives the same bytes as once.
 *
 * A line whose last word opens a '"' that is never closed is refused when something must be
 * added: the kernel would read the added words as part of that word.
 *
 * Contract: 0 or a negative errno with a message (vt_error_set); -EINVAL for a malformed
 * parameter in a change set, a change set that both adds and removes one parameter, or an
 * addition after an unclosed quote. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

typedef struct vt_cmdline_word {
        size_t start, len; /* the word's bytes in the line, quotes included */
        char *name;        /* the parameter name as the kernel sees it */
        char *value;       /* the value, quotes removed; NULL when the word has no '=' */
} vt_cmdline_word;

typedef struct vt_cmdline_words {
        vt_cmdline_word *items;
        size_t n;
        size_t n_kernel; /* words before a bare "--" (== n when there is none) */
        bool open_quote; /* the last word opens a '"' that is never closed: it runs to the end */
} vt_cmdline_words;

/* May a user's parameter (--cmdline-add, a profile's cmdline-add) be added? -EINVAL with a hint
 * for a '"' never closed, a control character, or a character special to sh or to GRUB's script
 * language (' ` $ \ ; & | < > ( ) { }), which grub-mkconfig copies into grub.cfg unescaped.
 * vt_cmdline_change_add() itself takes any single word (vfiotx's own and the editors' tests). */
int vt_cmdline_param_addable(const char *word);

/* Split `len` bytes of a command line (NUL bytes are treated as ordinary bytes). */
int vt_cmdline_split(const char *line, size_t len, vt_cmdline_words *out);
void vt_cmdline_words_free(vt_cmdline_words *w);

/* Is this byte a separator for the kernel? */
bool vt_cmdline_isspace(unsigned char c);

/* Parameter names equal for the kernel ('-' == '_'). */
bool vt_cmdline_name_eq(const char *a, const char *b);

/* A parameter of a change set, parsed from one word in kernel spelling. */
typedef struct vt_cmdline_param {
        char *word;  /* as given: "intel_iommu=on", "foo=\"a b\"" */
        char *name;  /* "intel_iommu" */
        char *value; /* "on"; NULL when the word has no '=' */
} vt_cmdline_param;

typedef struct vt_cmdline_change {
        vt_cmdline_param *add;
        size_t n_add;
        vt_cmdline_param *remove;
        size_t n_remove;
} vt_cmdline_change;

#define VT_CMDLINE_CHANGE_INIT                                                                     \
        {                                                                                          \
                NULL, 0, NULL, 0                                                                   \
        }

/* Add a parameter to the change set. `word` must be one kernel word with a non-empty name, no
 * NUL and no unquoted space, and not "--" (-EINVAL otherwise). A later addition of the same
 * parameter replaces an earlier one; an addition that conflicts with a removal is -EINVAL. */
int vt_cmdline_change_add(vt_cmdline_change *c, const char *word);
int vt_cmdline_change_remove(vt_cmdline_change *c, const char *word);
void vt_cmdline_change_free(vt_cmdline_change *c);
static inline void vt_cmdline_change_freep(vt_cmdline_change *c)
{
        vt_cmdline_change_free(c);
}
#define _cleanup_cmdline_change_ __attribute__((cleanup(vt_cmdline_change_freep)))

/* Do two parameters designate the same setting (see "same parameter" above)? */
bool vt_cmdline_same_param(const char *name_a, const char *value_a, const char *name_b,
                           const char *value_b);
/* Does a word match a removal (by name when the removal has no value, else name and value)? */
bool vt_cmdline_matches_removal(const vt_cmdline_param *removal, const char *name,
                                const char *value);

/* Apply the change set to a command line of `len` bytes; `out` receives the new line (the same
 * bytes when nothing changes). *changed (may be NULL) tells whether the bytes differ. */
int vt_cmdline_apply(const char *line, size_t len, const vt_cmdline_change *c, vt_buf *out,
                     bool *changed);
