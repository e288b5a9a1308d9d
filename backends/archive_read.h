/* Reading archives held in memory with libarchive: what every reader of vfiotx does the same
 * way, whatever the format (the initramfs's cpio archives, backends/initramfs_verify.h; the
 * snapshot tarballs of `export`/`import`, engine/snapshot_archive.h).
 *
 * Contract: pure (no I/O: the archive reads from memory). vt_archive_read_data() sets no
 * message: the caller names the archive and the member, and libarchive's archive_error_string()
 * says what was wrong. */
#pragma once

#include <archive.h>

#include "common/buf.h"

/* The current member's bytes into `out` (replacing its contents), read in chunks until the
 * member ends. 0, -ENOMEM, or -EBADMSG when libarchive cannot read the data (damaged or
 * truncated). */
int vt_archive_read_data(struct archive *a, vt_buf *out);

/* For _cleanup_archive_read_: archive_read_free() on a reader, NULL allowed. */
void vt_archive_read_freep(struct archive **a);
#define _cleanup_archive_read_ __attribute__((cleanup(vt_archive_read_freep)))
