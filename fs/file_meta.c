#include "fs/file_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/error.h"
#include "common/macro.h"

static int cmp_xattr(const void *a, const void *b)
{
        return strcmp(((const vt_xattr *)a)->name, ((const vt_xattr *)b)->name);
}

int vt_file_meta_add_xattr(vt_file_meta *m, const char *name, const void *value, size_t len)
{
        vt_xattr *grown = realloc(m->xattrs, (m->n_xattrs + 1) * sizeof(*grown));
        vt_xattr x = {strdup(name), VT_BUF_INIT};

        if (grown)
                m->xattrs = grown;
        if (!grown || !x.name || vt_buf_put(&x.value, value, len) < 0) {
                free(x.name);
                vt_buf_free(&x.value);
                return -ENOMEM;
        }
        m->xattrs[m->n_xattrs++] = x;
        qsort(m->xattrs, m->n_xattrs, sizeof(*m->xattrs), cmp_xattr);
        return 0;
}

int vt_file_meta_read_fd(int fd, vt_file_meta *out)
{
        _cleanup_free_ char *names = NULL;
        vt_file_meta m = {0};
        struct stat st;
        ssize_t n;
        int r;

        if (fstat(fd, &st) < 0)
                return vt_error_set(errno, "cannot stat file: %s", strerror(errno));
        m.mode = st.st_mode & 07777;
        m.uid = st.st_uid;
        m.gid = st.st_gid;
        n = flistxattr(fd, NULL, 0);
        if (n < 0 && errno != ENOTSUP)
                return vt_error_set(errno, "cannot list extended attributes: %s", strerror(errno));
        if (n > 0) {
                names = malloc((size_t)n);
                if (!names)
                        return -ENOMEM;
                n = flistxattr(fd, names, (size_t)n);
                if (n < 0)
                        return vt_error_set(errno, "cannot list extended attributes: %s",
                                            strerror(errno));
                for (char *p = names; p < names + n; p += strlen(p) + 1) {
                        _cleanup_free_ char *val = NULL;
                        ssize_t vl = fgetxattr(fd, p, NULL, 0);

                        if (vl < 0)
                                goto xfail;
                        val = malloc((size_t)vl + 1);
                        if (!val) {
                                vt_file_meta_free(&m);
                                return -ENOMEM;
                        }
                        vl = fgetxattr(fd, p, val, (size_t)vl);
                        if (vl < 0)
                                goto xfail;
                        r = vt_file_meta_add_xattr(&m, p, val, (size_t)vl);
                        if (r < 0) {
                                vt_file_meta_free(&m);
                                return r;
                        }
                        continue;
                xfail:
                        r = vt_error_set(errno, "cannot read extended attribute %s: %s", p,
                                         strerror(errno));
                        vt_file_meta_free(&m);
                        return r;
                }
        }
        *out = m;
        return 0;
}

int vt_file_meta_apply_fd(int fd, const vt_file_meta *meta)
{
        _cleanup_free_ char *names = NULL;
        ssize_t n;

        if (fchown(fd, meta->uid, meta->gid) < 0)
                return vt_error_set(errno, "cannot set owner %u:%u: %s", (unsigned)meta->uid,
                                    (unsigned)meta->gid, strerror(errno));
        if (fchmod(fd, meta->mode & 07777) < 0)
                return vt_error_set(errno, "cannot set mode %04o: %s", (unsigned)meta->mode,
                                    strerror(errno));
        /* Drop attributes the target must not have (a new file may get a default label). */
        n = flistxattr(fd, NULL, 0);
        if (n > 0) {
                names = malloc((size_t)n);
                if (!names)
                        return -ENOMEM;
                n = flistxattr(fd, names, (size_t)n);
                for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
                        bool keep = false;

                        for (size_t i = 0; i < meta->n_xattrs && !keep; i++)
                                keep = strcmp(meta->xattrs[i].name, p) == 0;
                        if (!keep && fremovexattr(fd, p) < 0 && errno != ENODATA)
                                return vt_error_set(errno,
                                                    "cannot remove extended attribute %s: %s", p,
                                                    strerror(errno));
                }
        }
        for (size_t i = 0; i < meta->n_xattrs; i++) {
                const vt_xattr *x = &meta->xattrs[i];

                if (fsetxattr(fd, x->name, vt_buf_cstr(&x->value), x->value.len, 0) < 0)
                        return vt_error_set(errno, "cannot set extended attribute %s: %s", x->name,
                                            strerror(errno));
        }
        return 0;
}

int vt_file_meta_copy(vt_file_meta *dst, const vt_file_meta *src)
{
        vt_file_meta m = {src->mode, src->uid, src->gid, NULL, 0};

        for (size_t i = 0; i < src->n_xattrs; i++) {
                int r = vt_file_meta_add_xattr(&m, src->xattrs[i].name,
                                               vt_buf_cstr(&src->xattrs[i].value),
                                               src->xattrs[i].value.len);
                if (r < 0) {
                        vt_file_meta_free(&m);
                        return r;
                }
        }
        *dst = m;
        return 0;
}

bool vt_file_meta_equal(const vt_file_meta *a, const vt_file_meta *b)
{
        if (a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
            a->n_xattrs != b->n_xattrs)
                return false;
        for (size_t i = 0; i < a->n_xattrs; i++)
                if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
                    !vt_buf_equal(&a->xattrs[i].value, &b->xattrs[i].value))
                        return false;
        return true;
}

void vt_file_meta_free(vt_file_meta *m)
{
        for (size_t i = 0; i < m->n_xattrs; i++) {
                free(m->xattrs[i].name);
                vt_buf_free(&m->xattrs[i].value);
        }
        free(m->xattrs);
        m->xattrs = NULL;
        m->n_xattrs = 0;
}
