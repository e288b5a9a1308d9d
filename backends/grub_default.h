/* Editor for GRUB's defaults: /etc/default/grub and /etc/default/grub.d/<name>.cfg.
 *
 * grub-mkconfig sources /etc/default/grub with /bin/sh, then every grub.d/<name>.cfg in glob
 * order, so the kernel command line of the normal entries is the value GRUB_CMDLINE_LINUX and
 * GRUB_CMDLINE_LINUX_DEFAULT hold after the last of those files. This editor finds the
 * assignment that gives the variable that final value (the last one across the files: a
 * drop-in such as Ubuntu cloud images' 50-cloudimg-settings.cfg overrides /etc/default/grub)
 * and edits that assignment in place. When its value refers to the variable itself
 * (GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT nomodeset"), the earlier assignment
 * it builds on is part of the value in force too: the reference is kept, a parameter is
 * replaced or removed in the assignment whose literal text holds it, and additions go into the
 * last assignment. When the variable is never assigned, an assignment is appended to the first
 * file (/etc/default/grub).
 *
 * Why in place rather than a vfiotx drop-in (grub.d/99-vfiotx.cfg with
 * VAR="$VAR intel_iommu=on"): a drop-in sourced last would silently override whatever the user
 * later writes in /etc/default/grub. It could only append, so it could not replace
 * intel_iommu=off or remove a parameter, and it would hide the real command line from the person
 * reading /etc/default/grub, which is where every guide tells them to look. Editing the value in
 * force keeps one place of truth; a later edit by the user is taken as it is, the next `apply`
 * finds the assignment in force again (the journal records that edit as drift first), and a
 * rollback restores the files byte for byte from the journal.
 *
 * What is kept: every byte outside the edited words (comments, other lines, CRLF line endings,
 * a missing final newline, other assignments); the quoting style of the value (double, single,
 * none; an unquoted value that gains a second word is put in double quotes, the only case where
 * removing what was added does not give back the same bytes, as the quotes stay); escaped
 * quotes; $VAR and ${VAR} references, which are never edited (a word that contains a reference
 * to another variable is kept as it is; changing a parameter whose value is such a word is
 * refused). Words are the kernel's words (backends/cmdline.h) of the value after shell quote
 * removal, so foo="a b" in the kernel's sense is matched and written with shell escaping.
 *
 * Refused with -EINVAL and a message naming the file and line, never guessed: anything that is
 * not a plain assignment and might change the variable (if/case blocks, functions, `unset`,
 * `read`, ${VAR:=...}, several assignments on one line), `.`, `source` and `eval` anywhere,
 * here-documents, unterminated quotes, and in the value being edited: command substitution,
 * arithmetic, ${...} forms other than ${NAME}, special parameters ($1, $@...), tilde expansion,
 * backslash-newline continuations, a self reference glued to other text or used twice, and a
 * "--" word.
 *
 * The files are read as sh with backends/sh_lexer.h (statements, words, operators); this module
 * scans those statements for the assignments in force and edits them.
 *
 * Contract: pure (no I/O). `files` are in the order grub-mkconfig sources them (first
 * /etc/default/grub, then grub.d/NAME.cfg sorted byte-wise as sh's glob does in the C locale);
 * `out` must point to `n` buffers, each receiving its file's new bytes (the same bytes when the
 * file is not changed); `changed` (may be NULL) to `n` flags. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backends/cmdline.h"
#include "common/buf.h"

typedef struct vt_grub_file {
        const char *path; /* host path, for messages: "/etc/default/grub" */
        const char *data; /* may be NULL when len is 0 (an absent file) */
        size_t len;
} vt_grub_file;

/* The two variables grub-mkconfig puts on the kernel's command line. */
#define VT_GRUB_CMDLINE_DEFAULT "GRUB_CMDLINE_LINUX_DEFAULT"
#define VT_GRUB_CMDLINE_ALL     "GRUB_CMDLINE_LINUX"

int vt_grub_default_edit(const vt_grub_file *files, size_t n, const char *variable,
                         const vt_cmdline_change *change, vt_buf *out, bool *changed);
