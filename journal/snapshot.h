/* A snapshot: the full state of every managed file at one moment, bytes and metadata, present or
 * absent. It is what the journal stores per transaction and what apply and rollback write.
 *
 * The manifest is the snapshot's description in JSON (paths, present/absent, mode, uid, gid,
 * size, SHA-256, xattrs as hex) — git trees cannot hold owners, xattrs or "absent", so the journal
 * stores it next to the file blobs, and the plain-file copy of the last good snapshot uses it too.
 *
 * Contract: files are kept sorted by path and unique; 0 or negative errno with a message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "fs/file_meta.h"
#include "fs/root.h"

#define VT_SHA256_HEXSZ 64

typedef struct vt_snap_file {
        char *path; /* absolute host path: "/etc/modules" */
        bool present;
        vt_buf data;       /* bytes when present */
        vt_file_meta meta; /* when present */
        /* The "size" a parsed manifest gave for a present file, so a reader of the bytes stored
         * apart (the plain good copy) can tell a truncated file from a good one; -1 when the
         * entry was not parsed from a manifest or the manifest gave none. */
        long long manifest_size;
        /* Likewise its "sha256" (lowercase hex), "" when none: a copy of the same size with
         * other bytes (zeroed by a crash, damaged on disk) is found by it. */
        char manifest_sha256[VT_SHA256_HEXSZ + 1];
} vt_snap_file;

typedef struct vt_snapshot {
        vt_snap_file *files;
        size_t n;
} vt_snapshot;

void vt_snapshot_free(vt_snapshot *s);
static inline void vt_snapshot_freep(vt_snapshot *s)
{
        vt_snapshot_free(s);
}
#define _cleanup_snapshot_ __attribute__((cleanup(vt_snapshot_freep)))

/* The entry for path, or NULL. */
vt_snap_file *vt_snapshot_find(const vt_snapshot *s, const char *path);
/* Add (or replace) an entry; data NULL means absent. meta NULL: default metadata. */
int vt_snapshot_put(vt_snapshot *s, const char *path, const void *data, size_t len,
                    const vt_file_meta *meta);
int vt_snapshot_copy(vt_snapshot *dst, const vt_snapshot *src);
/* Same presence, bytes and metadata. */
bool vt_snap_file_equal(const vt_snap_file *a, const vt_snap_file *b);

/* Read each path from disk inside the root (absent files are recorded as absent). */
int vt_snapshot_capture(const vt_root *root, const char *const *paths, size_t n, vt_snapshot *out);

/* Make the disk match `target` for every path it lists, writing only files that differ from
 * what is on disk now (each one replaced atomically, absent ones removed). */
int vt_snapshot_restore(const vt_root *root, const vt_snapshot *target);

/* Do the files on disk match the snapshot (all of its paths)? 1 yes, 0 no, negative errno. */
int vt_snapshot_matches_disk(const vt_root *root, const vt_snapshot *s);

/* Manifest (JSON) of a snapshot, and the reverse: fill presence and metadata of `s` from a
 * manifest, creating entries with empty data (the caller loads the bytes). */
int vt_snapshot_manifest(const vt_snapshot *s, vt_buf *out);
int vt_snapshot_parse_manifest(const char *json, size_t len, vt_snapshot *s);

/* The SHA-256 of `len` bytes as lowercase hex (the manifest's "sha256"). */
void vt_sha256_hex(const void *data, size_t len, char out[VT_SHA256_HEXSZ + 1]);
