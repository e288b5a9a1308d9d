#include "journal/snapshot.h"

#include <errno.h>
#include <json-c/json.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

void vt_sha256_hex(const void *data, size_t len, char out[VT_SHA256_HEXSZ + 1])
{
        struct sha256_ctx ctx;
        uint8_t d[SHA256_DIGEST_SIZE];

        sha256_init(&ctx);
        sha256_update(&ctx, len, data);
        sha256_digest(&ctx, sizeof(d), d);
        for (size_t i = 0; i < sizeof(d); i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void file_free(vt_snap_file *f)
{
        free(f->path);
        vt_buf_free(&f->data);
        vt_file_meta_free(&f->meta);
}

void vt_snapshot_free(vt_snapshot *s)
{
        for (size_t i = 0; i < s->n; i++)
                file_free(&s->files[i]);
        free(s->files);
        s->files = NULL;
        s->n = 0;
}

vt_snap_file *vt_snapshot_find(const vt_snapshot *s, const char *path)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->files[i].path, path) == 0)
                        return &s->files[i];
        return NULL;
}

static int cmp_file(const void *a, const void *b)
{
        return strcmp(((const vt_snap_file *)a)->path, ((const vt_snap_file *)b)->path);
}

int vt_snapshot_put(vt_snapshot *s, const char *path, const void *data, size_t len,
                    const vt_file_meta *meta)
{
        vt_snap_file nf = {0}, *slot;
        vt_file_meta def = VT_FILE_META_DEFAULT;
        int r;

        nf.manifest_size = -1;
        nf.path = strdup(path);
        if (!nf.path)
                return -ENOMEM;
        nf.present = data != NULL;
        if (nf.present) {
                r = vt_buf_put(&nf.data, data, len);
                if (r >= 0)
                        r = vt_file_meta_copy(&nf.meta, meta ? meta : &def);
                if (r < 0) {
                        file_free(&nf);
                        return r;
                }
        }
        slot = vt_snapshot_find(s, path);
        if (slot) {
                file_free(slot);
                *slot = nf;
                return 0;
        }
        slot = realloc(s->files, (s->n + 1) * sizeof(*slot));
        if (!slot) {
                file_free(&nf);
                return -ENOMEM;
        }
        s->files = slot;
        s->files[s->n++] = nf;
        qsort(s->files, s->n, sizeof(*s->files), cmp_file);
        return 0;
}

int vt_snapshot_copy(vt_snapshot *dst, const vt_snapshot *src)
{
        vt_snapshot s = {0};

        for (size_t i = 0; i < src->n; i++) {
                const vt_snap_file *f = &src->files[i];
                int r = vt_snapshot_put(&s, f->path, f->present ? vt_buf_cstr(&f->data) : NULL,
                                        f->data.len, &f->meta);
                if (r < 0) {
                        vt_snapshot_free(&s);
                        return r;
                }
        }
        *dst = s;
        return 0;
}

bool vt_snap_file_equal(const vt_snap_file *a, const vt_snap_file *b)
{
        if (a->present != b->present)
                return false;
        if (!a->present)
                return true;
        return vt_buf_equal(&a->data, &b->data) && vt_file_meta_equal(&a->meta, &b->meta);
}

int vt_snapshot_capture(const vt_root *root, const char *const *paths, size_t n, vt_snapshot *out)
{
        vt_snapshot s = {0};
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_buf_ vt_buf data = VT_BUF_INIT;
                vt_file_meta meta = {0};

                r = vt_atomic_stat(root, paths[i], &meta);
                if (r == -ENOENT) {
                        r = vt_snapshot_put(&s, paths[i], NULL, 0, NULL);
                } else if (r >= 0) {
                        r = vt_root_read(root, paths[i], &data);
                        if (r >= 0)
                                r = vt_snapshot_put(&s, paths[i], vt_buf_cstr(&data), data.len,
                                                    &meta);
                }
                vt_file_meta_free(&meta);
                if (r < 0) {
                        vt_snapshot_free(&s);
                        return r;
                }
        }
        *out = s;
        return 0;
}

int vt_snapshot_matches_disk(const vt_root *root, const vt_snapshot *s)
{
        _cleanup_free_ const char **paths = calloc(s->n + 1, sizeof(char *));
        _cleanup_snapshot_ vt_snapshot disk = {0};
        int r;

        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                paths[i] = s->files[i].path;
        r = vt_snapshot_capture(root, paths, s->n, &disk);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n; i++)
                if (!vt_snap_file_equal(&s->files[i], vt_snapshot_find(&disk, s->files[i].path)))
                        return 0;
        return 1;
}

int vt_snapshot_restore(const vt_root *root, const vt_snapshot *target)
{
        for (size_t i = 0; i < target->n; i++) {
                const vt_snap_file *want = &target->files[i];
                _cleanup_snapshot_ vt_snapshot now = {0};
                const char *p = want->path;
                int r;

                r = vt_snapshot_capture(root, &p, 1, &now);
                if (r < 0)
                        return r;
                if (vt_snap_file_equal(want, &now.files[0]))
                        continue;
                if (want->present)
                        r = vt_atomic_write(root, p, vt_buf_cstr(&want->data), want->data.len,
                                            &want->meta);
                else
                        r = vt_atomic_remove(root, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static char *hex(const vt_buf *b)
{
        static const char digits[] = "0123456789abcdef";
        char *out = malloc(b->len * 2 + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < b->len; i++) {
                out[2 * i] = digits[(unsigned char)b->ptr[i] >> 4];
                out[2 * i + 1] = digits[(unsigned char)b->ptr[i] & 15];
        }
        out[b->len * 2] = '\0';
        return out;
}

static int unhex(const char *s, vt_buf *out)
{
        size_t n = strlen(s);

        if (n % 2)
                return -EBADMSG;
        for (size_t i = 0; i < n; i += 2) {
                char pair[3] = {s[i], s[i + 1], 0}, *end;
                long v = strtol(pair, &end, 16);
                int r;

                if (*end)
                        return -EBADMSG;
                if ((r = vt_buf_putc(out, (char)v)) < 0)
                        return r;
        }
        return 0;
}

int vt_snapshot_manifest(const vt_snapshot *s, vt_buf *out)
{
        json_object *root = json_object_new_object(), *files = json_object_new_array();
        const char *text;
        int r = -ENOMEM;

        if (!root || !files)
                goto done;
        json_object_object_add(root, "version", json_object_new_int(1));
        json_object_object_add(root, "files", files);
        for (size_t i = 0; i < s->n; i++) {
                const vt_snap_file *f = &s->files[i];
                json_object *o = json_object_new_object();
                char mode[8], sum[VT_SHA256_HEXSZ + 1];

                if (!o)
                        goto done;
                json_object_array_add(files, o);
                json_object_object_add(o, "path", json_object_new_string(f->path));
                json_object_object_add(o, "present", json_object_new_boolean(f->present));
                if (!f->present)
                        continue;
                snprintf(mode, sizeof(mode), "%04o", (unsigned)f->meta.mode);
                json_object_object_add(o, "mode", json_object_new_string(mode));
                json_object_object_add(o, "uid", json_object_new_int64(f->meta.uid));
                json_object_object_add(o, "gid", json_object_new_int64(f->meta.gid));
                json_object_object_add(o, "size", json_object_new_int64((int64_t)f->data.len));
                vt_sha256_hex(vt_buf_cstr(&f->data), f->data.len, sum);
                json_object_object_add(o, "sha256", json_object_new_string(sum));
                if (f->meta.n_xattrs) {
                        json_object *x = json_object_new_object();

                        json_object_object_add(o, "xattrs", x);
                        for (size_t k = 0; k < f->meta.n_xattrs; k++) {
                                _cleanup_free_ char *h = hex(&f->meta.xattrs[k].value);

                                if (!h)
                                        goto done;
                                json_object_object_add(x, f->meta.xattrs[k].name,
                                                       json_object_new_string(h));
                        }
                }
        }
        text =
            json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        r = vt_buf_set(out, text, strlen(text));
        if (r >= 0)
                r = vt_buf_putc(out, '\n');
done:
        json_object_put(root);
        return r;
}

static int bad_manifest(const char *why)
{
        return vt_error_set(EBADMSG, "snapshot manifest is damaged: %s", why);
}

int vt_snapshot_parse_manifest(const char *json, size_t len, vt_snapshot *s)
{
        json_tokener *tok = json_tokener_new();
        json_object *root = NULL, *files;
        int r = 0;

        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, json, (int)len);
        json_tokener_free(tok);
        if (!root || !json_object_object_get_ex(root, "files", &files) ||
            !json_object_is_type(files, json_type_array)) {
                json_object_put(root);
                return bad_manifest("not a manifest");
        }
        for (size_t i = 0; i < json_object_array_length(files) && r >= 0; i++) {
                json_object *o = json_object_array_get_idx(files, i), *v, *x;
                vt_file_meta meta = VT_FILE_META_DEFAULT;
                const char *path, *sum = "";
                long long size = -1;
                bool present;

                if (!json_object_object_get_ex(o, "path", &v) ||
                    !(path = json_object_get_string(v)) || path[0] != '/') {
                        r = bad_manifest("entry without an absolute path");
                        break;
                }
                present = json_object_object_get_ex(o, "present", &v) && json_object_get_boolean(v);
                if (present) {
                        if (json_object_object_get_ex(o, "mode", &v))
                                meta.mode = (mode_t)strtoul(json_object_get_string(v), NULL, 8);
                        if (json_object_object_get_ex(o, "uid", &v))
                                meta.uid = (uid_t)json_object_get_int64(v);
                        if (json_object_object_get_ex(o, "gid", &v))
                                meta.gid = (gid_t)json_object_get_int64(v);
                        if (json_object_object_get_ex(o, "size", &v))
                                size = json_object_get_int64(v);
                        if (json_object_object_get_ex(o, "sha256", &v) &&
                            !(sum = json_object_get_string(v)))
                                sum = "";
                        if (json_object_object_get_ex(o, "xattrs", &x)) {
                                json_object_object_foreach(x, name, val)
                                {
                                        _cleanup_buf_ vt_buf b = VT_BUF_INIT;

                                        r = unhex(json_object_get_string(val), &b);
                                        if (r < 0) {
                                                r = bad_manifest("xattr value is not hex");
                                                break;
                                        }
                                        r = vt_file_meta_add_xattr(&meta, name, vt_buf_cstr(&b),
                                                                   b.len);
                                        if (r < 0)
                                                break;
                                }
                        }
                }
                if (r >= 0)
                        r = vt_snapshot_put(s, path, present ? "" : NULL, 0, &meta);
                if (r >= 0) {
                        vt_snap_file *f = vt_snapshot_find(s, path);

                        f->manifest_size = size;
                        snprintf(f->manifest_sha256, sizeof(f->manifest_sha256), "%s", sum);
                }
                vt_file_meta_free(&meta);
        }
        json_object_put(root);
        return r;
}
