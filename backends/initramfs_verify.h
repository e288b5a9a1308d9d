/* Verification of what a rebuild produced: the initramfs (read with libarchive) and the kernel
 * command line in a generated grub.cfg or loader entry.
 *
 * An initramfs is one or more cpio (newc) archives back to back: typically an uncompressed
 * early-microcode archive, then the main archive compressed with gzip, zstd, xz, lz4, lzma or
 * bzip2. libarchive's cpio reader stops at the first TRAILER!!!, so the file is read archive by
 * archive: after an uncompressed one the next starts where it ended (zero padding skipped);
 * a compressed archive is the last one (what follows it is ignored, as the kernel does with
 * padding). Only those decompression filters are enabled: libarchive's "all" would run
 * external programs (lzop, lrzip, grzip) found in PATH. The whole file is read into memory
 * once (tens of MB).
 *
 * Member names are normalised: leading "./" and "/" removed, and "usr/lib/modules/" read as
 * "lib/modules/" (merged-/usr initramfs keep modules under usr/lib, older ones under lib; one
 * is a symlink to the other at boot). A later member of the same name replaces an earlier one,
 * as when the kernel unpacks them in order.
 *
 * Checks:
 *   modules   each name ("vfio_pci", '-' and '_' alike) must be a member
 *             lib/modules/<kver>/.../<name>.ko[.xz|.zst|.gz] — unless it is built into that
 *             kernel: listed in the given modules.builtin text, or (when none is given) in the
 *             initramfs's own lib/modules/<kver>/modules.builtin. With kver NULL any kernel
 *             directory counts.
 *   files     each expected file (a normalised member name, "etc/modprobe.d/vfiotx.conf") must
 *             be present with exactly the expected bytes; or, when marked absent, must not be
 *             there (a stale configuration left in the image).
 * vt_cmdline_verify_text() is a pure text check of a grub.cfg or a loader entry: every
 * `linux` line of the kernel (recovery entries aside) or the `options` lines of an entry must
 * carry each wanted word as a whole word, and none of the unwanted ones.
 *
 * Contract: 0 when the checks could be made (the findings say whether they passed: none = all
 * good), negative errno with a message when the file cannot be read or is not an initramfs
 * (-EBADMSG: not a cpio archive or damaged). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "fs/root.h"

typedef enum vt_verify_kind {
        VT_VERIFY_MODULE_MISSING = 1,
        VT_VERIFY_FILE_MISSING,
        VT_VERIFY_FILE_DIFFERS,
        VT_VERIFY_FILE_UNEXPECTED,
        VT_VERIFY_WORD_MISSING,
        VT_VERIFY_WORD_PRESENT,
        VT_VERIFY_NO_ENTRY, /* no boot entry for the kernel in the text */
} vt_verify_kind;

typedef struct vt_verify_finding {
        vt_verify_kind kind;
        char *subject; /* module name, member path or command-line word */
        char *message; /* one line for the user */
} vt_verify_finding;

typedef struct vt_verify_findings {
        vt_verify_finding *items;
        size_t n;
} vt_verify_findings;

void vt_verify_findings_free(vt_verify_findings *f);
/* Every message, one per line. */
int vt_verify_findings_format(const vt_verify_findings *f, vt_buf *out);

typedef struct vt_expect_file {
        const char *path; /* member name: "etc/modprobe.d/vfiotx.conf" ("/" and "./" allowed) */
        const void *data; /* expected bytes (when !absent) */
        size_t len;
        bool absent; /* the file must not be in the image */
} vt_expect_file;

typedef struct vt_initramfs_expect {
        const char *kver;           /* the kernel the image is for; NULL: any */
        const char *const *modules; /* module names */
        size_t n_modules;
        const char *builtin; /* that kernel's modules.builtin text, NULL: the image's */
        const vt_expect_file *files;
        size_t n_files;
} vt_initramfs_expect;

typedef struct vt_initramfs_report {
        size_t n_archives;    /* cpio archives read back to back */
        char compression[16]; /* of the last archive: "none", "gzip", "zstd", "xz", "lz4"... */
        size_t n_members;     /* members over all archives */
        vt_verify_findings findings;
} vt_initramfs_report;

void vt_initramfs_report_free(vt_initramfs_report *r);

/* Check an initramfs held in memory; `name` is for messages. */
int vt_initramfs_verify_mem(const void *data, size_t len, const char *name,
                            const vt_initramfs_expect *exp, vt_initramfs_report *out);
/* Check the initramfs at an absolute host path inside the root. */
int vt_initramfs_verify(const vt_root *root, const char *path, const vt_initramfs_expect *exp,
                        vt_initramfs_report *out);

/* Every member name of the image (normalised, in archive order, duplicates kept), one per
 * line: for `vfiotx show` and for tests. */
int vt_initramfs_list_mem(const void *data, size_t len, const char *name, vt_buf *out);

typedef enum vt_cmdline_format {
        VT_CMDLINE_GRUB_CFG = 0, /* `linux`/`linuxefi`/`linux16` lines of menu entries */
        VT_CMDLINE_LOADER_ENTRY, /* systemd-boot entry: `options` lines, joined */
        VT_CMDLINE_PLAIN,        /* the whole text is the command line (/etc/kernel/cmdline) */
} vt_cmdline_format;

/* Append findings for words missing from (or present in, for `unwanted`) the command line(s)
 * of `text`. GRUB: only entries whose kernel file name contains kver (any when NULL), recovery
 * entries (a `single` or `recovery` word) skipped; no such entry -> VT_VERIFY_NO_ENTRY.
 * `what` names the text in messages ("/boot/grub/grub.cfg"). */
int vt_cmdline_verify_text(const char *text, size_t len, vt_cmdline_format fmt, const char *what,
                           const char *kver, const char *const *wanted, size_t n_wanted,
                           const char *const *unwanted, size_t n_unwanted, vt_verify_findings *out);
