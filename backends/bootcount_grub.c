/* GRUB boot counting: grubenv editing and the can-GRUB-write-here check (bootcount_grub.h). */
#include "backends/bootcount_grub.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "fs/mountinfo.h"

#define SIG_LEN (sizeof(VT_GRUBENV_SIGNATURE) - 1)

void vt_grubenv_free(vt_grubenv *env)
{
        if (!env)
                return;
        for (size_t i = 0; i < env->n; i++) {
                free(env->vars[i].name);
                free(env->vars[i].value);
        }
        free(env->vars);
        env->vars = NULL;
        env->n = 0;
}

static int append_var(vt_grubenv *env, char *name, char *value)
{
        vt_grubenv_var *grown = realloc(env->vars, (env->n + 1) * sizeof(*grown));

        if (!grown) {
                free(name);
                free(value);
                return vt_error_set(ENOMEM, "out of memory");
        }
        env->vars = grown;
        env->vars[env->n].name = name;
        env->vars[env->n].value = value;
        env->n++;
        return 0;
}

int vt_grubenv_parse(const void *data, size_t len, const char *where, vt_grubenv *out)
{
        const char *p = data, *end = p + len;
        _cleanup_grubenv_ vt_grubenv env = VT_GRUBENV_INIT;
        int r;

        if (len != VT_GRUBENV_SIZE)
                return vt_error_set(EBADMSG,
                                    "%s: a GRUB environment block must be exactly %d bytes, this "
                                    "one has %zu",
                                    where, VT_GRUBENV_SIZE, len);
        if (memcmp(p, VT_GRUBENV_SIGNATURE, SIG_LEN) != 0)
                return vt_error_set(EBADMSG,
                                    "%s: not a GRUB environment block (no '# GRUB Environment "
                                    "Block' line)",
                                    where);
        p += SIG_LEN;
        while (p < end) {
                const char *name = p, *eq;
                _cleanup_buf_ vt_buf value = VT_BUF_INIT;
                char *n;

                if (*p == '#') {
                        /* A comment line (Debian's grub-editenv writes a warning) is kept in
                         * its place; the padding is the '#' run that reaches the end. */
                        const char *eol = memchr(p, '\n', (size_t)(end - p));
                        char *line;

                        if (!eol)
                                break;
                        line = strndup(p, (size_t)(eol - p));
                        if (!line)
                                return vt_error_set(ENOMEM, "out of memory");
                        r = append_var(&env, NULL, line);
                        if (r < 0)
                                return r;
                        p = eol + 1;
                        continue;
                }
                if (*p == '\0')
                        return vt_error_set(EBADMSG, "%s: NUL byte at offset %td", where,
                                            p - (const char *)data);
                for (eq = p; eq < end && *eq != '=' && *eq != '\n'; eq++)
                        ;
                if (eq == end || *eq != '=' || eq == name)
                        return vt_error_set(EBADMSG, "%s: malformed line at offset %td", where,
                                            name - (const char *)data);
                for (p = eq + 1; p < end && *p != '\n'; p++) {
                        if (*p == '\\' && p + 1 < end)
                                p++;
                        if (vt_buf_putc(&value, *p) < 0)
                                return vt_error_set(ENOMEM, "out of memory");
                }
                if (p == end)
                        return vt_error_set(EBADMSG, "%s: the value at offset %td has no end",
                                            where, name - (const char *)data);
                p++;
                n = strndup(name, (size_t)(eq - name));
                if (!n)
                        return vt_error_set(ENOMEM, "out of memory");
                r = append_var(&env, n, vt_buf_detach(&value));
                if (r < 0)
                        return r;
        }
        *out = env;
        env = (vt_grubenv)VT_GRUBENV_INIT;
        return 0;
}

int vt_grubenv_format(const vt_grubenv *env, vt_buf *out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;

        if (vt_buf_put(&b, VT_GRUBENV_SIGNATURE, SIG_LEN) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        for (size_t i = 0; i < env->n; i++) {
                if (!env->vars[i].name) {
                        if (vt_buf_printf(&b, "%s\n", env->vars[i].value) < 0)
                                return vt_error_set(ENOMEM, "out of memory");
                        continue;
                }
                if (vt_buf_printf(&b, "%s=", env->vars[i].name) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
                for (const char *v = env->vars[i].value; *v; v++) {
                        if ((*v == '\\' || *v == '\n') && vt_buf_putc(&b, '\\') < 0)
                                return vt_error_set(ENOMEM, "out of memory");
                        if (vt_buf_putc(&b, *v) < 0)
                                return vt_error_set(ENOMEM, "out of memory");
                }
                if (vt_buf_putc(&b, '\n') < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        }
        if (b.len > VT_GRUBENV_SIZE)
                return vt_error_set(ENOSPC,
                                    "the GRUB environment block would need %zu bytes; it has "
                                    "%d",
                                    b.len, VT_GRUBENV_SIZE);
        while (b.len < VT_GRUBENV_SIZE)
                if (vt_buf_putc(&b, '#') < 0)
                        return vt_error_set(ENOMEM, "out of memory");
        vt_buf_free(out);
        *out = b;
        b = (vt_buf)VT_BUF_INIT;
        return 0;
}

const char *vt_grubenv_get(const vt_grubenv *env, const char *name)
{
        /* The last one wins, as when GRUB's load_env sets them in file order. */
        for (size_t i = env->n; i > 0; i--)
                if (env->vars[i - 1].name && strcmp(env->vars[i - 1].name, name) == 0)
                        return env->vars[i - 1].value;
        return NULL;
}

static bool valid_name(const char *name)
{
        if (!*name)
                return false;
        for (const char *c = name; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_'))
                        return false;
        return true;
}

int vt_grubenv_set(vt_grubenv *env, const char *name, const char *value)
{
        bool done = false;
        size_t w = 0;

        if (!valid_name(name))
                return vt_error_set(EINVAL, "'%s' is not a GRUB environment variable name", name);
        for (size_t i = 0; i < env->n; i++) {
                if (env->vars[i].name && strcmp(env->vars[i].name, name) == 0) {
                        if (value && !done) {
                                char *v = strdup(value);

                                if (!v)
                                        return vt_error_set(ENOMEM, "out of memory");
                                free(env->vars[i].value);
                                env->vars[i].value = v;
                                done = true;
                        } else {
                                /* Unset, or a duplicate the set above already replaced. */
                                free(env->vars[i].name);
                                free(env->vars[i].value);
                                continue;
                        }
                }
                env->vars[w++] = env->vars[i];
        }
        env->n = w;
        if (value && !done) {
                char *n = strdup(name), *v = strdup(value);

                if (!n || !v) {
                        free(n);
                        free(v);
                        return vt_error_set(ENOMEM, "out of memory");
                }
                return append_var(env, n, v);
        }
        return 0;
}

/* A decimal number as vfiotx writes it: digits only, no sign, no leading zero, <= max. */
static int parse_number(const char *s, long max, long *out)
{
        long v = 0;

        if (!*s || (s[0] == '0' && s[1]))
                return -EINVAL;
        for (const char *c = s; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                if (v > (max - (*c - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (*c - '0');
        }
        *out = v;
        return 0;
}

static int read_number(const vt_grubenv *env, const char *name, long min, long max, long *out)
{
        const char *s = vt_grubenv_get(env, name);

        if (!s)
                return 0;
        if (parse_number(s, max, out) < 0 || *out < min)
                return vt_error_set(EBADMSG,
                                    "grubenv: %s='%s' is not a number from %ld to %ld (GRUB treats "
                                    "this trial as out of tries)",
                                    name, s, min, max);
        return 1;
}

int vt_bootcount_read(const vt_grubenv *env, vt_bootcount *out)
{
        vt_bootcount bc = {.phase = VT_BOOTCOUNT_NONE, .tries = -1};
        long v;
        int r;

        r = read_number(env, VT_GRUBENV_TRIAL, 1, LONG_MAX, &v);
        if (r < 0)
                return r;
        if (r > 0)
                bc.trial = v;
        r = read_number(env, VT_GRUBENV_TRIES, 0, VT_BOOTCOUNT_MAX_TRIES, &v);
        if (r < 0)
                return r;
        if (r > 0)
                bc.tries = (int)v;
        r = read_number(env, VT_GRUBENV_PANIC, VT_BOOTCOUNT_MIN_PANIC, VT_BOOTCOUNT_MAX_PANIC, &v);
        if (r < 0)
                return r;
        if (r > 0)
                bc.panic = (unsigned)v;
        r = read_number(env, VT_GRUBENV_FALLBACK, 1, LONG_MAX, &v);
        if (r < 0)
                return r;
        if (r > 0)
                bc.fallback = v;

        if (bc.fallback)
                bc.phase = VT_BOOTCOUNT_FELL_BACK;
        else if (bc.trial && bc.tries > 0)
                bc.phase = VT_BOOTCOUNT_ARMED;
        else if (bc.trial)
                bc.phase = VT_BOOTCOUNT_LAST_TRY;
        *out = bc;
        return 0;
}

int vt_bootcount_arm(vt_grubenv *env, long txn, unsigned tries, unsigned panic_s)
{
        char v[3][32];
        int r;

        if (txn <= 0)
                return vt_error_set(EINVAL, "a trial needs a transaction number, not %ld", txn);
        if (tries < 1 || tries > VT_BOOTCOUNT_MAX_TRIES)
                return vt_error_set(EINVAL, "tries must be from 1 to %d, not %u",
                                    VT_BOOTCOUNT_MAX_TRIES, tries);
        if (panic_s < VT_BOOTCOUNT_MIN_PANIC || panic_s > VT_BOOTCOUNT_MAX_PANIC)
                return vt_error_set(EINVAL, "panic= must be from %d to %d seconds, not %u",
                                    VT_BOOTCOUNT_MIN_PANIC, VT_BOOTCOUNT_MAX_PANIC, panic_s);
        snprintf(v[0], sizeof(v[0]), "%ld", txn);
        snprintf(v[1], sizeof(v[1]), "%u", tries);
        snprintf(v[2], sizeof(v[2]), "%u", panic_s);
        /* Fallback first: a block with both a new trial and an old fallback would keep booting
         * the last good entry. */
        r = vt_grubenv_set(env, VT_GRUBENV_FALLBACK, NULL);
        if (r >= 0)
                r = vt_grubenv_set(env, VT_GRUBENV_TRIES, v[1]);
        if (r >= 0)
                r = vt_grubenv_set(env, VT_GRUBENV_PANIC, v[2]);
        if (r >= 0)
                r = vt_grubenv_set(env, VT_GRUBENV_TRIAL, v[0]);
        return r;
}

int vt_bootcount_clear(vt_grubenv *env)
{
        static const char *const names[] = {VT_GRUBENV_TRIAL, VT_GRUBENV_TRIES, VT_GRUBENV_PANIC,
                                            VT_GRUBENV_FALLBACK};

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                int r = vt_grubenv_set(env, names[i], NULL);

                if (r < 0)
                        return r;
        }
        return 0;
}

int vt_bootcount_mark_bad(vt_grubenv *env, long txn)
{
        char num[32];
        int r;

        if (txn <= 0)
                return vt_error_set(EINVAL, "a trial needs a transaction number, not %ld", txn);
        snprintf(num, sizeof(num), "%ld", txn);
        r = vt_grubenv_set(env, VT_GRUBENV_TRIES, "0");
        if (r >= 0)
                r = vt_grubenv_set(env, VT_GRUBENV_FALLBACK, num);
        return r;
}

const char *vt_bootcount_phase_name(vt_bootcount_phase p)
{
        switch (p) {
        case VT_BOOTCOUNT_NONE:
                return "none";
        case VT_BOOTCOUNT_ARMED:
                return "armed";
        case VT_BOOTCOUNT_LAST_TRY:
                return "last-try";
        case VT_BOOTCOUNT_FELL_BACK:
                return "fell-back";
        }
        return "unknown";
}

int vt_grubenv_load(const vt_root *root, vt_grubenv *out)
{
        return vt_grubenv_load_at(root, VT_GRUBENV_PATH, out);
}

int vt_grubenv_load_at(const vt_root *root, const char *path, vt_grubenv *out)
{
        _cleanup_buf_ vt_buf data = VT_BUF_INIT;
        _cleanup_free_ char *shown = vt_root_display(root, path);
        int r;

        if (!shown)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_read(root, path, &data);
        if (r == -ENOENT) {
                vt_error_set(ENOENT, "%s does not exist", shown);
                return vt_error_hint(ENOENT, "create it with 'grub-editenv %s create'", shown);
        }
        if (r < 0)
                return r;
        return vt_grubenv_parse(data.ptr, data.len, shown, out);
}

static bool dir_has_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        bool any = false;

        if (!d)
                return false;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                        any = true;
                        break;
                }
        closedir(d);
        return any;
}

static int refuse(const char *path, const char *why)
{
        vt_error_set(ENOTSUP,
                     "GRUB cannot write its environment block %s: %s; a boot counter "
                     "there would never count",
                     path, why);
        return vt_error_hint(ENOTSUP,
                             "apply with --no-arm (no automatic fallback: run 'vfiotx confirm' "
                             "or 'vfiotx rollback' yourself), or keep /boot on a plain "
                             "partition (ext4, xfs or vfat)");
}

int vt_grubenv_check_mount(const char *mountinfo, const char *path, const char *sysfs)
{
        _cleanup_(vt_mount_free) vt_mount m = {0};
        static const char *const writable[] = {"ext2", "ext3", "ext4", "xfs", "vfat", "msdos"};
        const char *best_mnt, *best_fs, *best_src, *best_dev;
        char why[512];
        bool ok = false;
        int r;

        r = vt_mountinfo_holding(mountinfo, "mountinfo", path, &m);
        if (r < 0)
                return r;
        best_mnt = m.point;
        best_fs = m.fstype;
        best_src = m.source;
        best_dev = m.majmin;

        for (size_t i = 0; i < ARRAY_SIZE(writable); i++)
                if (strcmp(best_fs, writable[i]) == 0)
                        ok = true;
        if (strcmp(best_fs, "btrfs") == 0 || strcmp(best_fs, "zfs") == 0) {
                snprintf(why, sizeof(why), "it is on %s (%s mounted at %s)", best_fs, best_src,
                         best_mnt);
                return refuse(path, why);
        }
        if (!ok) {
                snprintf(why, sizeof(why),
                         "it is on %s (%s mounted at %s), a filesystem GRUB is not known to "
                         "write",
                         best_fs, best_src, best_mnt);
                return refuse(path, why);
        }
        if (strncmp(best_src, "/dev/mapper/", 12) == 0 || strncmp(best_src, "/dev/dm-", 8) == 0) {
                snprintf(why, sizeof(why),
                         "it is on device-mapper (LVM or LUKS: %s mounted at %s), which GRUB "
                         "never writes",
                         best_src, best_mnt);
                return refuse(path, why);
        }
        if (strncmp(best_src, "/dev/md", 7) == 0) {
                snprintf(why, sizeof(why),
                         "it is on md RAID (%s mounted at %s), which GRUB never writes", best_src,
                         best_mnt);
                return refuse(path, why);
        }
        if (sysfs) {
                _cleanup_free_ char *dev = NULL, *dm = NULL, *md = NULL, *slaves = NULL;
                struct stat st;

                if (asprintf(&dev, "%s/dev/block/%s", sysfs, best_dev) < 0)
                        return vt_error_set(ENOMEM, "out of memory");
                dm = vt_path_join(dev, "dm");
                md = vt_path_join(dev, "md");
                slaves = vt_path_join(dev, "slaves");
                if (!dm || !md || !slaves)
                        return vt_error_set(ENOMEM, "out of memory");
                if (stat(dm, &st) == 0 || stat(md, &st) == 0 || dir_has_entries(slaves)) {
                        snprintf(why, sizeof(why),
                                 "its device %s (%s, mounted at %s) is stacked (device-mapper "
                                 "or md RAID), which GRUB never writes",
                                 best_dev, best_src, best_mnt);
                        return refuse(path, why);
                }
        }
        return 0;
}

int vt_grubenv_check(const vt_root *root, const char *sysfs, const char *proc)
{
        return vt_grubenv_check_at(root, VT_GRUBENV_PATH, sysfs, proc);
}

int vt_grubenv_check_at(const vt_root *root, const char *path, const char *sysfs, const char *proc)
{
        _cleanup_free_ char *shown = vt_root_display(root, path);
        _cleanup_free_ char *rel = NULL, *abs = NULL, *real_path = NULL;
        _cleanup_free_ char *mi_path = vt_path_join(proc, "self/mountinfo");
        _cleanup_buf_ vt_buf mountinfo = VT_BUF_INIT;
        _cleanup_grubenv_ vt_grubenv env = VT_GRUBENV_INIT;
        struct stat st;
        int r;

        if (!shown || !mi_path)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_resolve(root, path, false, &rel);
        if (r < 0)
                return r;
        if (fstatat(root->fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = vt_error_set(errno, "%s: %s", shown, strerror(errno));
                if (r == -ENOENT)
                        return vt_error_hint(ENOENT, "create it with 'grub-editenv %s create'",
                                             shown);
                return r;
        }
        if (!S_ISREG(st.st_mode))
                return vt_error_set(ENOTSUP, "%s is not a regular file", shown);
        if (st.st_size != VT_GRUBENV_SIZE) {
                vt_error_set(ENOTSUP,
                             "%s has %lld bytes: GRUB only writes a block of exactly %d bytes "
                             "in place",
                             shown, (long long)st.st_size, VT_GRUBENV_SIZE);
                return vt_error_hint(ENOTSUP,
                                     "recreate it: 'grub-editenv %s create' after moving it "
                                     "aside",
                                     shown);
        }
        r = vt_grubenv_load_at(root, path, &env);
        if (r < 0)
                return r;

        /* The resolved file as this system's mountinfo names it. */
        if (asprintf(&abs, "/%s", rel) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        real_path = vt_root_display(root, abs);
        if (!real_path)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_read_file(mi_path, &mountinfo);
        if (r < 0)
                return r;
        return vt_grubenv_check_mount(vt_buf_cstr(&mountinfo), real_path, sysfs);
}

int vt_grub_cfg_has_counter(const char *grub_cfg, size_t len)
{
        static const char begin[] = "grub.d/" VT_GRUB_SCRIPT_NAME " ###";
        static const char id[] = "'" VT_GRUB_LAST_GOOD_ID "'";

        if (!memmem(grub_cfg, len, begin, sizeof(begin) - 1) ||
            !memmem(grub_cfg, len, id, sizeof(id) - 1)) {
                vt_error_set(ENOENT, "grub.cfg has no vfiotx boot counter (nothing from "
                                     "/etc/grub.d/" VT_GRUB_SCRIPT_NAME ")");
                return vt_error_hint(ENOENT, "install vfiotx's GRUB script (cmake --install) and "
                                             "run update-grub, or apply with --no-arm");
        }
        return 0;
}
