#include "fs/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"

#define TMP_MARK ".vfiotx-"

/* Split a resolved root-relative path into its directory ("." for top level) and name. */
static int split(const char *rel, char **dir, const char **name)
{
        const char *slash = strrchr(rel, '/');

        *dir = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
        *name = slash ? slash + 1 : rel;
        return *dir ? 0 : -ENOMEM;
}

static int io_error(const vt_root *root, const char *path, int err, const char *what)
{
        _cleanup_free_ char *shown = vt_root_display(root, path);

        vt_error_set(err, "cannot %s %s: %s", what, shown ? shown : path, strerror(err));
        return vt_root_fs_hint(root, path, err);
}

static int open_parent(const vt_root *root, const char *path, bool create, char **rel_out,
                       const char **name_out, int *dirfd_out)
{
        _cleanup_free_ char *rel = NULL, *dir = NULL, *absdir = NULL;
        const char *name;
        int fd, r;

        r = vt_root_resolve(root, path, true, &rel);
        if (r < 0)
                return r;
        r = split(rel, &dir, &name);
        if (r < 0)
                return r;
        if (create) {
                if (asprintf(&absdir, "/%s", strcmp(dir, ".") == 0 ? "" : dir) < 0)
                        return -ENOMEM;
                r = vt_root_mkdir_p(root, absdir);
                if (r < 0)
                        return r;
        }
        fd = openat(root->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return io_error(root, path, errno, "open the directory of");
        *dirfd_out = fd;
        *name_out = name;
        *rel_out = TAKE_PTR(rel); /* `name` points into it */
        return 0;
}

int vt_atomic_stat(const vt_root *root, const char *path, vt_file_meta *out)
{
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = vt_root_resolve(root, path, true, &rel);
        if (r < 0)
                return r;
        fd = openat(root->fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return -ENOENT;
                return io_error(root, path, errno, "open");
        }
        return vt_file_meta_read_fd(fd, out);
}

int vt_atomic_write(const vt_root *root, const char *path, const void *data, size_t len,
                    const vt_file_meta *meta)
{
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int dirfd = -1, fd = -1, old = -1;
        vt_file_meta copied = VT_FILE_META_DEFAULT;
        const vt_file_meta *want = meta;
        char tmp[NAME_MAX + 1];
        const char *name;
        struct stat st;
        int r;

        r = open_parent(root, path, true, &rel, &name, &dirfd);
        if (r < 0)
                return r;
        if (strlen(name) + strlen(TMP_MARK) + 8 > NAME_MAX)
                return vt_error_set(ENAMETOOLONG, "file name too long: %s", path);
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISREG(st.st_mode))
                        return vt_error_set(EINVAL,
                                            "%s is not a regular file; vfiotx replaces "
                                            "only regular files",
                                            path);
                if (!want) {
                        old = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (old < 0)
                                return io_error(root, path, errno, "open");
                        r = vt_file_meta_read_fd(old, &copied);
                        if (r < 0)
                                return vt_error_wrap(r, "%s", path);
                }
        } else if (errno != ENOENT) {
                return io_error(root, path, errno, "look up");
        }
        if (!want)
                want = &copied;

        for (int attempt = 0;; attempt++) {
                unsigned char rnd[3];

                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        rnd[0] = rnd[1] = rnd[2] = (unsigned char)attempt;
                snprintf(tmp, sizeof(tmp), ".%s%s%02x%02x%02x", name, TMP_MARK, rnd[0], rnd[1],
                         rnd[2]);
                r = vt_failpoint("atomic-write: create temporary file");
                if (r < 0)
                        goto out;
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || attempt > 16) {
                        r = io_error(root, path, errno, "create a temporary file beside");
                        goto out;
                }
        }
        if ((r = vt_failpoint("atomic-write: write")) < 0)
                goto unlink;
        r = vt_write_all(fd, data, len);
        if (r < 0) {
                r = io_error(root, path, -r, "write");
                goto unlink;
        }
        if ((r = vt_failpoint("atomic-write: fsync file")) < 0)
                goto unlink;
        if (fsync(fd) < 0) {
                r = io_error(root, path, errno, "fsync");
                goto unlink;
        }
        r = vt_file_meta_apply_fd(fd, want);
        if (r < 0) {
                vt_error_wrap(r, "%s", path);
                goto unlink;
        }
        if ((r = vt_failpoint("atomic-write: rename")) < 0)
                goto unlink;
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = io_error(root, path, errno, "rename a temporary file over");
                goto unlink;
        }
        if ((r = vt_failpoint("atomic-write: fsync directory")) < 0)
                goto out;
        if (fsync(dirfd) < 0)
                r = io_error(root, path, errno, "fsync the directory of");
        goto out;
unlink:
        (void)unlinkat(dirfd, tmp, 0);
out:
        vt_file_meta_free(&copied);
        return r;
}

int vt_write_in_place(const vt_root *root, const char *path, const void *data, size_t len)
{
        _cleanup_free_ char *rel = NULL, *shown = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = vt_root_resolve(root, path, false, &rel);
        if (r < 0)
                return r;
        /* O_NONBLOCK: a FIFO planted at the path must not block; it is refused below. */
        fd = openat(root->fd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return io_error(root, path, errno, "open");
        if (fstat(fd, &st) < 0)
                return io_error(root, path, errno, "look up");
        shown = vt_root_display(root, path);
        if (!shown)
                return -ENOMEM;
        if (!S_ISREG(st.st_mode))
                return vt_error_set(EINVAL, "%s is not a regular file", shown);
        if ((size_t)st.st_size != len)
                return vt_error_set(EINVAL,
                                    "%s has %lld bytes, not %zu: it is rewritten in place only "
                                    "at its own size",
                                    shown, (long long)st.st_size, len);
        if ((r = vt_failpoint("in-place: write")) < 0)
                return r;
        for (size_t done = 0; done < len;) {
                ssize_t n = pwrite(fd, (const char *)data + done, len - done, (off_t)done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return io_error(root, path, n < 0 ? errno : EIO, "write");
                done += (size_t)n;
        }
        if ((r = vt_failpoint("in-place: fsync")) < 0)
                return r;
        if (fsync(fd) < 0)
                return io_error(root, path, errno, "fsync");
        return 0;
}

int vt_atomic_remove(const vt_root *root, const char *path)
{
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int dirfd = -1;
        const char *name;
        struct stat st;
        int r;

        r = open_parent(root, path, false, &rel, &name, &dirfd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : io_error(root, path, errno, "look up");
        if (!S_ISREG(st.st_mode))
                return vt_error_set(EINVAL,
                                    "%s is not a regular file; vfiotx removes only "
                                    "regular files",
                                    path);
        if ((r = vt_failpoint("atomic-remove: unlink")) < 0)
                return r;
        if (unlinkat(dirfd, name, 0) < 0)
                return io_error(root, path, errno, "remove");
        if ((r = vt_failpoint("atomic-remove: fsync directory")) < 0)
                return r;
        if (fsync(dirfd) < 0)
                return io_error(root, path, errno, "fsync the directory of");
        return 0;
}

int vt_atomic_cleanup(const vt_root *root, const char *path)
{
        _cleanup_free_ char *rel = NULL, *prefix = NULL;
        _cleanup_close_ int dirfd = -1;
        const char *name;
        struct dirent *de;
        DIR *d;
        int r, dup_fd;

        r = open_parent(root, path, false, &rel, &name, &dirfd);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return r;
        if (asprintf(&prefix, ".%s%s", name, TMP_MARK) < 0)
                return -ENOMEM;
        dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return -errno;
        }
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        (void)unlinkat(dirfd, de->d_name, 0);
        closedir(d);
        return 0;
}
