/* A snapshot as a tar archive (libarchive), for bug reports and rescue media.
 *
 * Layout (pax, restricted: plain ustar headers unless a field needs pax; zstd-compressed):
 *   manifest.json          the snapshot's manifest (journal/snapshot.h): every path, present or
 *                          absent, with mode, owner, group and xattrs
 *   files/<absolute path>  one regular file per present path ("files/etc/modules"), carrying
 *                          the same mode, numeric uid/gid and xattrs in its tar header
 *                          (SCHILY.xattr.*, the form GNU tar --xattrs and bsdtar read; the
 *                          option pax:xattrheader=SCHILY keeps libarchive from also writing its
 *                          LIBARCHIVE.xattr copy)
 * so `tar --xattrs -tvf` lists the files with their owners, and `tar -x` gives usable files.
 *
 * Reading never writes to disk: it rebuilds a vt_snapshot in memory, which the engine applies
 * as a transaction. The manifest decides presence and metadata; each tar header must agree with
 * it (mode, uid, gid, xattrs) and each present file must have exactly one member. Refused, with
 * -EBADMSG and a message naming the member: members other than manifest.json and files/...,
 * symbolic or hard links, devices, FIFOs, directories, paths that are not absolute clean paths
 * ('.', '..', '//') or not a file vfiotx manages (backends/rebuild_plan.h's
 * vt_path_manageable()), archives larger than 64 MiB.
 *
 * Contract: 0 or negative errno with a message. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "journal/snapshot.h"

/* Write the snapshot as a zstd-compressed pax tar into out; members get mtime `mtime`. */
int vt_snapshot_archive_write(const vt_snapshot *s, int64_t mtime, vt_buf *out);

/* Read an archive made by vt_snapshot_archive_write() (zstd, gzip, xz or uncompressed). `name`
 * is for messages. */
int vt_snapshot_archive_read(const void *data, size_t len, const char *name, vt_snapshot *out);

