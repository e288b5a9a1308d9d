#include "fs/root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

#define VT_MAX_LINKS 40

int vt_root_open(vt_root *root, const char *path)
{
        struct stat st;
        int fd;

        if (!path || !*path)
                return vt_error_set(EINVAL, "the root directory is empty");
        if (stat(path, &st) < 0)
                return vt_error_hint(
                    vt_error_set(errno, "root directory %s: %s", path, strerror(errno)),
                    "give --root the directory where the host's / is mounted");
        if (!S_ISDIR(st.st_mode))
                return vt_error_hint(vt_error_set(ENOTDIR, "root %s is not a directory", path),
                                     "give --root the directory where the host's / is mounted");
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return vt_error_set(errno, "cannot open root %s: %s", path, strerror(errno));
        root->path = strdup(path);
        if (!root->path) {
                close(fd);
                return -ENOMEM;
        }
        root->fd = fd;
        return 0;
}

void vt_root_close(vt_root *root)
{
        if (root->fd >= 0)
                close(root->fd);
        free(root->path);
        root->fd = -1;
        root->path = NULL;
}

char *vt_root_display(const vt_root *root, const char *abspath)
{
        if (!root->path || strcmp(root->path, "/") == 0)
                return strdup(abspath);
        return vt_path_join(root->path, abspath);
}

int vt_root_fs_hint(const vt_root *root, const char *abspath, int err)
{
        _cleanup_free_ char *shown = vt_root_display(root, abspath);
        _cleanup_free_ char *top = root->path ? realpath(root->path, NULL) : NULL;
        _cleanup_free_ char *host = top ? vt_path_join(top, abspath) : NULL;

        /* the mount as this process sees it: a relative --root made absolute */
        return vt_fs_error_hint(host, shown ? shown : abspath, err);
}

/* The resolved prefix, as a root-relative path ("." when empty). */
static const char *rel_or_dot(const vt_buf *done)
{
        return done->len ? done->ptr : ".";
}

static void pop_component(vt_buf *done)
{
        char *slash = done->len ? strrchr(done->ptr, '/') : NULL;

        if (slash) {
                done->len = (size_t)(slash - done->ptr);
        } else {
                done->len = 0;
        }
        if (done->ptr)
                done->ptr[done->len] = '\0';
}

int vt_root_resolve(const vt_root *root, const char *abspath, bool allow_missing_parents,
                    char **out)
{
        _cleanup_buf_ vt_buf done = VT_BUF_INIT, todo = VT_BUF_INIT;
        _cleanup_free_ char *via = NULL;
        unsigned links = 0;
        bool missing = false;
        int r;

        if (abspath[0] != '/')
                return vt_error_set(EINVAL, "internal: path %s is not absolute", abspath);
        r = vt_buf_puts(&todo, abspath);
        if (r < 0)
                return r;
        /* `todo` holds what is left to resolve; it is consumed from the front. */
        size_t pos = 0;
        while (pos < todo.len) {
                char comp[NAME_MAX + 2];
                size_t end = pos, len;
                struct stat st;

                while (end < todo.len && todo.ptr[end] != '/')
                        end++;
                len = end - pos;
                if (len > NAME_MAX)
                        return vt_error_set(ENAMETOOLONG, "path %s: component too long", abspath);
                memcpy(comp, todo.ptr + pos, len);
                comp[len] = '\0';
                pos = end < todo.len ? end + 1 : end;
                if (len == 0 || strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        if (done.len == 0)
                                return vt_error_hint(
                                    vt_error_set(EXDEV, "%s%s%s leads outside the root %s", abspath,
                                                 via ? ": symbolic link " : "", via ? via : "",
                                                 root->path),
                                    "vfiotx never reads or writes outside --root: replace "
                                    "the link with a regular file or point it inside the "
                                    "root");
                        pop_component(&done);
                        continue;
                }
                if (done.len && (r = vt_buf_putc(&done, '/')) < 0)
                        return r;
                if ((r = vt_buf_puts(&done, comp)) < 0)
                        return r;
                if (missing)
                        continue;
                if (fstatat(root->fd, done.ptr, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return vt_error_set(errno, "cannot look up %s in root %s: %s",
                                                    done.ptr, root->path, strerror(errno));
                        if (pos < todo.len && !allow_missing_parents)
                                return vt_error_set(ENOENT, "%s: directory /%s does not exist",
                                                    abspath, done.ptr);
                        missing = true;
                        continue;
                }
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n;
                        vt_buf rest = VT_BUF_INIT;

                        if (++links > VT_MAX_LINKS)
                                return vt_error_set(ELOOP, "%s: too many symbolic links", abspath);
                        n = readlinkat(root->fd, done.ptr, target, sizeof(target) - 1);
                        if (n < 0)
                                return vt_error_set(errno, "cannot read link /%s: %s", done.ptr,
                                                    strerror(errno));
                        target[n] = '\0';
                        free(via);
                        if (asprintf(&via, "/%s -> %s", done.ptr, target) < 0) {
                                via = NULL;
                                return -ENOMEM;
                        }
                        pop_component(&done);
                        if (target[0] == '/')
                                vt_buf_clear(&done);
                        /* Splice the link target in front of what is left. */
                        if ((r = vt_buf_puts(&rest, target)) < 0 ||
                            (r = vt_buf_putc(&rest, '/')) < 0 ||
                            (r = vt_buf_put(&rest, todo.ptr + pos, todo.len - pos)) < 0) {
                                vt_buf_free(&rest);
                                return r;
                        }
                        vt_buf_free(&todo);
                        todo = rest;
                        pos = 0;
                        continue;
                }
                if (!S_ISDIR(st.st_mode) && pos < todo.len)
                        return vt_error_set(ENOTDIR, "%s: /%s is not a directory", abspath,
                                            done.ptr);
        }
        *out = strdup(rel_or_dot(&done));
        return *out ? 0 : -ENOMEM;
}

int vt_root_read(const vt_root *root, const char *abspath, vt_buf *out)
{
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = vt_root_resolve(root, abspath, false, &rel);
        if (r < 0)
                return r;
        /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer while vfiotx
         * holds its lock; it is refused below. Reads of a regular file ignore the flag. */
        fd = openat(root->fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                _cleanup_free_ char *shown = vt_root_display(root, abspath);
                return vt_error_set(errno, "cannot open %s: %s", shown ? shown : abspath,
                                    strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return vt_error_set(errno, "cannot stat %s: %s", abspath, strerror(errno));
        if (!S_ISREG(st.st_mode)) {
                _cleanup_free_ char *shown = vt_root_display(root, abspath);
                return vt_error_hint(
                    vt_error_set(EINVAL, "%s is not a regular file", shown ? shown : abspath),
                    "vfiotx reads and writes regular files only: replace it "
                    "with a regular file, or move it away");
        }
        r = vt_read_fd(fd, out);
        if (r < 0)
                return vt_error_set(r, "cannot read %s: %s", abspath, strerror(-r));
        return 0;
}

int vt_root_opendir(const vt_root *root, const char *abspath, int *out_fd)
{
        _cleanup_free_ char *rel = NULL;
        int fd, r;

        r = vt_root_resolve(root, abspath, false, &rel);
        if (r < 0)
                return r;
        fd = openat(root->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return vt_error_set(errno, "cannot open directory %s: %s", abspath,
                                    strerror(errno));
        *out_fd = fd;
        return 0;
}

int vt_root_exists(const vt_root *root, const char *abspath)
{
        _cleanup_free_ char *rel = NULL;
        struct stat st;
        int r;

        r = vt_root_resolve(root, abspath, true, &rel);
        if (r < 0)
                return r;
        if (fstatat(root->fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return vt_error_set(errno, "cannot look up %s: %s", abspath, strerror(errno));
        }
        return 1;
}

int vt_root_mkdir_p(const vt_root *root, const char *absdir)
{
        _cleanup_free_ char *rel = NULL;
        char *p;
        int r;

        r = vt_root_resolve(root, absdir, true, &rel);
        if (r < 0)
                return r;
        if (strcmp(rel, ".") == 0)
                return 0;
        for (p = rel;; p++) {
                char saved = *p;
                struct stat st;

                if (saved != '/' && saved != '\0')
                        continue;
                *p = '\0';
                if (fstatat(root->fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return vt_error_set(ENOTDIR, "/%s is not a directory", rel);
                } else if (errno != ENOENT) {
                        return vt_error_set(errno, "cannot look up /%s: %s", rel, strerror(errno));
                } else {
                        _cleanup_close_ int parent = -1;
                        char *slash = strrchr(rel, '/');

                        if (mkdirat(root->fd, rel, 0755) < 0 && errno != EEXIST)
                                return vt_error_set(errno, "cannot create directory /%s: %s", rel,
                                                    strerror(errno));
                        /* The new entry must survive a crash like the files put in it. */
                        if (slash) {
                                *slash = '\0';
                                parent = openat(root->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                *slash = '/';
                        } else {
                                parent = openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        }
                        if (parent >= 0)
                                (void)fsync(parent);
                }
                *p = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}
