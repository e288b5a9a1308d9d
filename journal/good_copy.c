#include "journal/good_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

#define GOOD_DIR "/var/lib/vfiotx"

int vt_good_copy_write(const vt_root *root, const vt_snapshot *snap, long txn)
{
        _cleanup_buf_ vt_buf manifest = VT_BUF_INIT;
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int dirfd = -1;
        vt_file_meta meta = {0600, 0, 0, NULL, 0};
        char name[64], path[PATH_MAX], num[32];
        struct dirent *de;
        DIR *d;
        int r;

        snprintf(name, sizeof(name), "good.%ld", txn);
        r = vt_root_resolve(root, GOOD_DIR, true, &rel);
        if (r < 0)
                return r;
        dirfd = openat(root->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vt_error_set(errno, "cannot open %s: %s", GOOD_DIR, strerror(errno));
        vt_remove_tree_at(dirfd, name); /* a half-written copy of an earlier crash */
        for (size_t i = 0; i < snap->n; i++) {
                const vt_snap_file *f = &snap->files[i];

                if (!f->present)
                        continue;
                snprintf(path, sizeof(path), "%s/%s/files%s", GOOD_DIR, name, f->path);
                r = vt_atomic_write(root, path, vt_buf_cstr(&f->data), f->data.len, &meta);
                if (r < 0)
                        return r;
        }
        r = vt_snapshot_manifest(snap, &manifest);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/%s/manifest.json", GOOD_DIR, name);
        r = vt_atomic_write(root, path, manifest.ptr, manifest.len, &meta);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/%s/txn", GOOD_DIR, name);
        snprintf(num, sizeof(num), "%ld\n", txn);
        r = vt_atomic_write(root, path, num, strlen(num), &meta);
        if (r < 0)
                return r;
        if ((r = vt_failpoint("good copy: switch link")) < 0)
                return r;
        (void)unlinkat(dirfd, "good.new", 0);
        if (symlinkat(name, dirfd, "good.new") < 0 ||
            renameat(dirfd, "good.new", dirfd, "good") < 0 || fsync(dirfd) < 0)
                return vt_error_set(errno, "cannot switch %s/good to %s: %s", GOOD_DIR, name,
                                    strerror(errno));
        /* Older copies are no longer referenced. */
        d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
        if (d) {
                while ((de = readdir(d)))
                        if (strncmp(de->d_name, "good.", 5) == 0 && strcmp(de->d_name, name) &&
                            strcmp(de->d_name, "good.new"))
                                vt_remove_tree_at(dirfd, de->d_name);
                closedir(d);
        }
        return 0;
}

/* The transaction number the copy holds: -EBADMSG when it is damaged. */
static int copy_txn(const vt_root *root, long *txn)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        char *end;
        int r;

        r = vt_root_read(root, GOOD_DIR "/good/txn", &b);
        if (r < 0)
                return r;
        errno = 0;
        *txn = strtol(vt_buf_cstr(&b), &end, 10);
        if (errno || end == vt_buf_cstr(&b) || (*end && *end != '\n') || *txn < 0)
                return vt_error_set(EBADMSG, "%s/good/txn is damaged", GOOD_DIR);
        return 0;
}

int vt_good_copy_read(const vt_root *root, vt_snapshot *out, long *txn)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        vt_snapshot s = {0};
        char path[PATH_MAX];
        int r;

        r = vt_root_read(root, GOOD_DIR "/good/manifest.json", &b);
        if (r == -ENOENT)
                return vt_error_set(ENOENT, "there is no plain copy of a good snapshot in %s/good",
                                    GOOD_DIR);
        if (r < 0)
                return r;
        r = vt_snapshot_parse_manifest(vt_buf_cstr(&b), b.len, &s);
        for (size_t i = 0; r >= 0 && i < s.n; i++) {
                const vt_snap_file *f = &s.files[i];

                if (!f->present)
                        continue;
                snprintf(path, sizeof(path), "%s/good/files%s", GOOD_DIR, f->path);
                r = vt_root_read(root, path, &s.files[i].data);
                /* -ENOENT means "no copy" to callers; a copy missing one file is damaged. */
                if (r == -ENOENT)
                        r = vt_error_set(EBADMSG, "%s is missing", path);
                /* A copy cut short (a full disk, a crash without the fsync reaching the disk)
                 * must not be restored as if it were the good file. */
                if (r >= 0 && f->manifest_size >= 0 && (long long)f->data.len != f->manifest_size)
                        r = vt_error_set(EBADMSG, "%s holds %zu bytes, its manifest says %lld",
                                         path, f->data.len, f->manifest_size);
                if (r >= 0 && f->manifest_sha256[0]) {
                        char sum[VT_SHA256_HEXSZ + 1];

                        vt_sha256_hex(vt_buf_cstr(&f->data), f->data.len, sum);
                        if (strcmp(sum, f->manifest_sha256))
                                r = vt_error_set(EBADMSG,
                                                 "%s does not hold the bytes its manifest "
                                                 "names (SHA-256 %s, not %s)",
                                                 path, sum, f->manifest_sha256);
                }
        }
        if (r >= 0 && txn) {
                /* A damaged number alone is no reason to refuse the files: 0 says "unknown",
                 * and recovery writes the copy anew when it differs from the good one's. */
                r = copy_txn(root, txn);
                if (r < 0)
                        *txn = 0;
                vt_error_clear();
                r = 0;
        }
        if (r < 0) {
                vt_snapshot_free(&s);
                return vt_error_wrap(r, "the plain copy of the good snapshot is damaged");
        }
        *out = s;
        return 0;
}
