#include "common/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/macro.h"

int vt_read_fd(int fd, vt_buf *out)
{
        vt_buf_clear(out);
        for (;;) {
                ssize_t n;
                int r = vt_buf_grow(out, 65536);

                if (r < 0)
                        return r;
                n = read(fd, out->ptr + out->len, out->cap - out->len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                out->len += (size_t)n;
                out->ptr[out->len] = '\0';
        }
        return 0;
}

int vt_read_file_at(int dirfd, const char *path, vt_buf *out)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int r;

        if (fd < 0)
                return vt_error_set(errno, "cannot open %s: %s", path, strerror(errno));
        r = vt_read_fd(fd, out);
        if (r < 0)
                return vt_error_set(r, "cannot read %s: %s", path, strerror(-r));
        return 0;
}

int vt_read_file(const char *path, vt_buf *out)
{
        return vt_read_file_at(AT_FDCWD, path, out);
}

int vt_read_line(const char *path, char **out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        int r = vt_read_file(path, &b);

        if (r < 0)
                return r;
        if (memchr(b.ptr ? b.ptr : "", '\0', b.len))
                return vt_error_set(EBADMSG, "%s contains a NUL byte", path);
        while (b.len && strchr("\n\r \t", b.ptr[b.len - 1]))
                b.ptr[--b.len] = '\0';
        *out = vt_buf_detach(&b);
        return *out ? 0 : -ENOMEM;
}

int vt_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Identity of the mount holding path: the mount id where statx gives one, else the device. */
static int mount_id(const char *path, unsigned long long *id)
{
        struct statx stx;

#ifdef STATX_MNT_ID
        if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (stx.stx_mask & STATX_MNT_ID) {
                *id = stx.stx_mnt_id;
                return 0;
        }
#else
        if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, 0, &stx) < 0)
                return -errno;
#endif
        *id = (unsigned long long)stx.stx_dev_major << 32 | stx.stx_dev_minor;
        return 0;
}

/* Cut the last component of an absolute path in place ("/a/b" -> "/a", "/a" -> "/"). */
static void cut_last(char *p)
{
        char *slash = strrchr(p, '/');

        if (slash == p)
                p[1] = '\0';
        else if (slash)
                *slash = '\0';
}

int vt_mount_point(const char *path, char **out)
{
        _cleanup_free_ char *p = NULL;
        unsigned long long id, up;
        size_t n;

        if (path[0] != '/')
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = '\0';
        /* the nearest existing ancestor; any other failure (EPERM from a seccomp filter) ends
         * the search: a wrong mount point in a hint is worse than none */
        for (;;) {
                int r = mount_id(p, &id);

                if (r == 0)
                        break;
                if ((r != -ENOENT && r != -ENOTDIR) || strcmp(p, "/") == 0)
                        return r;
                cut_last(p);
        }
        while (strcmp(p, "/") != 0) {
                _cleanup_free_ char *parent = strdup(p);

                if (!parent)
                        return -ENOMEM;
                cut_last(parent);
                if (mount_id(parent, &up) < 0 || up != id)
                        break;
                free(p);
                p = TAKE_PTR(parent);
        }
        *out = TAKE_PTR(p);
        return 0;
}

char *vt_path_join(const char *dir, const char *name)
{
        size_t dl = strlen(dir);
        char *p;

        /* "/" + "etc" is "/etc": every trailing slash goes, the one added below stays */
        while (dl > 0 && dir[dl - 1] == '/')
                dl--;
        while (*name == '/')
                name++;
        p = malloc(dl + 1 + strlen(name) + 1);
        if (!p)
                return NULL;
        memcpy(p, dir, dl);
        p[dl] = '/';
        strcpy(p + dl + 1, name);
        return p;
}

void vt_remove_tree_at(int parent, const char *name)
{
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct dirent *de;
        DIR *d;

        if (fd < 0) {
                (void)unlinkat(parent, name, 0);
                return;
        }
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        vt_remove_tree_at(dirfd(d), de->d_name);
        closedir(d);
        (void)unlinkat(parent, name, AT_REMOVEDIR);
}

int vt_fs_error_hint(const char *path, const char *shown, int err)
{
        _cleanup_free_ char *mnt = NULL;
        const char *where;

        err = err < 0 ? -err : err;
        if (!path || (err != EROFS && err != ENOSPC && err != EDQUOT))
                return -err;
        where = vt_mount_point(path, &mnt) == 0 ? mnt : "MOUNTPOINT";
        if (!shown)
                shown = path;
        if (err == EROFS)
                vt_error_hint(err,
                              "%s is on a file system mounted read-only; remount it read-write "
                              "(mount -o remount,rw %s) and run vfiotx again",
                              shown, where);
        else
                vt_error_hint(err,
                              "the file system that holds %s (mounted at %s) is full; free some "
                              "space there (df -h %s) and run vfiotx again",
                              shown, where, where);
        return -err;
}
