#include "engine/snapshot_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/archive_read.h"
#include "backends/rebuild_plan.h"
#include "common/error.h"
#include "common/macro.h"

#define ARCHIVE_MAX (64u << 20)
#define MANIFEST    "manifest.json"
#define FILES_DIR   "files/"

static void write_freep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e)
{
        if (*e)
                archive_entry_free(*e);
}

static int write_member(struct archive *a, const char *name, const vt_buf *data,
                        const vt_file_meta *meta, int64_t mtime)
{
        __attribute__((cleanup(entry_freep))) struct archive_entry *e = archive_entry_new();

        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, meta ? meta->mode & 07777 : 0644);
        archive_entry_set_uid(e, meta ? meta->uid : 0);
        archive_entry_set_gid(e, meta ? meta->gid : 0);
        archive_entry_set_size(e, (la_int64_t)data->len);
        archive_entry_set_mtime(e, (time_t)mtime, 0);
        for (size_t i = 0; meta && i < meta->n_xattrs; i++)
                archive_entry_xattr_add_entry(e, meta->xattrs[i].name, meta->xattrs[i].value.ptr,
                                              meta->xattrs[i].value.len);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (data->len && archive_write_data(a, data->ptr, data->len) != (la_ssize_t)data->len))
                return vt_error_set(EIO, "cannot write %s into the archive: %s", name,
                                    archive_error_string(a));
        return 0;
}

int vt_snapshot_archive_write(const vt_snapshot *s, int64_t mtime, vt_buf *out)
{
        __attribute__((cleanup(write_freep))) struct archive *a = archive_write_new();
        _cleanup_buf_ vt_buf manifest = VT_BUF_INIT;
        size_t cap = 1 << 16, used = 0;
        int r;

        vt_buf_clear(out);
        if (!a)
                return -ENOMEM;
        r = vt_snapshot_manifest(s, &manifest);
        if (r < 0)
                return r;
        /* The whole snapshot is estimated up front: archive_write_open_memory needs the room. */
        for (size_t i = 0; i < s->n; i++)
                cap += s->files[i].data.len + 4096;
        cap += manifest.len * 2;
        r = vt_buf_grow(out, cap);
        if (r < 0)
                return r;
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_options(a, "pax:xattrheader=SCHILY") != ARCHIVE_OK ||
            archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
            archive_write_open_memory(a, out->ptr, cap, &used) != ARCHIVE_OK)
                return vt_error_set(EIO, "cannot create the archive: %s", archive_error_string(a));
        r = write_member(a, MANIFEST, &manifest, NULL, mtime);
        for (size_t i = 0; r >= 0 && i < s->n; i++) {
                _cleanup_free_ char *name = NULL;

                if (!s->files[i].present)
                        continue;
                if (asprintf(&name, "files%s", s->files[i].path) < 0)
                        return -ENOMEM;
                r = write_member(a, name, &s->files[i].data, &s->files[i].meta, mtime);
        }
        if (r < 0)
                return r;
        if (archive_write_close(a) != ARCHIVE_OK)
                return vt_error_set(EIO, "cannot finish the archive: %s", archive_error_string(a));
        out->len = used;
        return 0;
}

static int refuse(const char *name, const char *member, const char *why)
{
        int r = vt_error_set(EBADMSG, "%s: refused: %s%s%s", name, member ? member : "",
                             member ? ": " : "", why);

        return vt_error_hint(r, "import only archives made by 'vfiotx export'; nothing was "
                                "written");
}

/* The member's metadata as a vt_file_meta. */
static int entry_meta(struct archive_entry *e, vt_file_meta *m)
{
        const char *xname;
        const void *xval;
        size_t xlen;
        int r = 0;

        *m = (vt_file_meta)VT_FILE_META_DEFAULT;
        m->mode = archive_entry_perm(e) & 07777;
        m->uid = (uid_t)archive_entry_uid(e);
        m->gid = (gid_t)archive_entry_gid(e);
        archive_entry_xattr_reset(e);
        while (r >= 0 && archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK)
                r = vt_file_meta_add_xattr(m, xname, xval, xlen);
        return r;
}

int vt_snapshot_archive_read(const void *data, size_t len, const char *name, vt_snapshot *out)
{
        _cleanup_archive_read_ struct archive *a = archive_read_new();
        _cleanup_buf_ vt_buf manifest = VT_BUF_INIT;
        _cleanup_snapshot_ vt_snapshot files = {0}, snap = {0};
        struct archive_entry *e;
        bool have_manifest = false;
        int ar, r = 0;

        *out = (vt_snapshot){0};
        if (!a)
                return -ENOMEM;
        if (len > ARCHIVE_MAX)
                return refuse(name, NULL, "larger than 64 MiB, not a vfiotx snapshot");
        archive_read_support_format_tar(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_xz(a);
        if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
                return refuse(name, NULL, archive_error_string(a));
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
                const char *member = archive_entry_pathname(e);
                _cleanup_buf_ vt_buf bytes = VT_BUF_INIT;
                vt_file_meta meta;

                if (!member)
                        return refuse(name, NULL, "a member without a name");
                if (archive_entry_hardlink(e) || archive_entry_symlink(e))
                        return refuse(name, member, "links are not imported");
                if (archive_entry_filetype(e) != AE_IFREG)
                        return refuse(name, member,
                                      "not a regular file (directory, device or "
                                      "FIFO)");
                if (archive_entry_size(e) > (la_int64_t)ARCHIVE_MAX)
                        return refuse(name, member, "too large");
                if (strcmp(member, MANIFEST) == 0) {
                        if (have_manifest)
                                return refuse(name, member, "two manifests");
                        have_manifest = true;
                        if (vt_archive_read_data(a, &manifest) < 0)
                                return refuse(name, member, archive_error_string(a));
                        continue;
                }
                if (strncmp(member, FILES_DIR, strlen(FILES_DIR)) != 0)
                        return refuse(name, member, "not part of a vfiotx snapshot");
                const char *path = member + strlen(FILES_DIR) - 1;

                if (!vt_path_manageable(path))
                        return refuse(name, member, "not a clean path of a file vfiotx manages");
                if (vt_snapshot_find(&files, path))
                        return refuse(name, member, "appears twice");
                if (vt_archive_read_data(a, &bytes) < 0)
                        return refuse(name, member, archive_error_string(a));
                r = entry_meta(e, &meta);
                if (r >= 0)
                        r = vt_snapshot_put(&files, path, bytes.ptr ? bytes.ptr : "", bytes.len,
                                            &meta);
                vt_file_meta_free(&meta);
                if (r < 0)
                        return r;
        }
        if (ar != ARCHIVE_EOF)
                return refuse(name, NULL,
                              archive_error_string(a) ? archive_error_string(a)
                                                      : "damaged archive");
        if (!have_manifest)
                return refuse(name, MANIFEST, "missing: not a vfiotx snapshot");
        r = vt_snapshot_parse_manifest(vt_buf_cstr(&manifest), manifest.len, &snap);
        if (r < 0)
                return refuse(name, MANIFEST, vt_error_message());

        /* The manifest decides; the tar headers must tell the same story. */
        for (size_t i = 0; i < snap.n; i++) {
                vt_snap_file *f = &snap.files[i];
                vt_snap_file *t = vt_snapshot_find(&files, f->path);
                char why[256];

                if (!vt_path_manageable(f->path))
                        return refuse(name, f->path, "not a clean path of a file vfiotx manages");
                if (!f->present) {
                        if (t)
                                return refuse(name, f->path,
                                              "absent in the manifest but in the "
                                              "archive");
                        continue;
                }
                if (!t)
                        return refuse(name, f->path, "in the manifest but not in the archive");
                if (!vt_file_meta_equal(&f->meta, &t->meta)) {
                        snprintf(why, sizeof(why),
                                 "owner, mode or xattrs in the tar header (%u:%u %04o) differ "
                                 "from the manifest (%u:%u %04o)",
                                 (unsigned)t->meta.uid, (unsigned)t->meta.gid,
                                 (unsigned)t->meta.mode, (unsigned)f->meta.uid,
                                 (unsigned)f->meta.gid, (unsigned)f->meta.mode);
                        return refuse(name, f->path, why);
                }
                r = vt_buf_set(&f->data, t->data.ptr ? t->data.ptr : "", t->data.len);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < files.n; i++)
                if (!vt_snapshot_find(&snap, files.files[i].path))
                        return refuse(name, files.files[i].path, "not listed in the manifest");
        *out = snap;
        snap = (vt_snapshot){0};
        return 0;
}
