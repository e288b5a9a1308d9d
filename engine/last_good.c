/* Writing the last good boot under /boot/vfiotx (last_good.h). */
#include "engine/last_good.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "common/error.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

/* The plan's directory and entry: GRUB's under /boot/vfiotx unless it names others (an ESP). */
#define DIR_OF(plan)   ((plan)->dir ? (plan)->dir : VT_PRESERVE_DIR)
#define ENTRY_OF(plan) ((plan)->entry_path ? (plan)->entry_path : VT_PRESERVE_ENTRY)

/* Bytes the copies still need: sources whose copy is missing or differs in size. */
static int space_needed(const vt_root *root, const char *src, const char *dst, off_t *need)
{
        _cleanup_free_ char *rs = NULL, *rd = NULL;
        struct stat ss, sd;
        int r;

        r = vt_root_resolve(root, src, false, &rs);
        if (r < 0)
                return r;
        if (fstatat(root->fd, rs, &ss, 0) < 0)
                return vt_error_set(errno, "%s: %s", src, strerror(errno));
        if (vt_root_resolve(root, dst, false, &rd) == 0 && fstatat(root->fd, rd, &sd, 0) == 0 &&
            sd.st_size == ss.st_size)
                return 0;
        vt_error_clear();
        *need += ss.st_size;
        return 0;
}

static int copy_file(const vt_root *root, const char *src, const char *dst)
{
        _cleanup_buf_ vt_buf data = VT_BUF_INIT, old = VT_BUF_INIT;
        vt_file_meta meta = VT_FILE_META_DEFAULT;
        int r;

        r = vt_root_read(root, src, &data);
        if (r < 0)
                return r;
        if (vt_root_read(root, dst, &old) == 0 && vt_buf_equal(&data, &old))
                return 0;
        vt_error_clear();
        r = vt_atomic_stat(root, src, &meta);
        if (r < 0)
                return r;
        r = vt_atomic_write(root, dst, data.ptr, data.len, &meta);
        vt_file_meta_free(&meta);
        return r;
}

static int prune(const vt_root *root, const vt_preserve_plan *plan)
{
        _cleanup_close_ int fd = -1;
        struct dirent *e;
        DIR *d;
        int r = 0;

        r = vt_root_opendir(root, DIR_OF(plan), &fd);
        if (r < 0)
                return r;
        d = fdopendir(fd);
        if (!d)
                return vt_error_set(errno, "cannot list %s: %s", DIR_OF(plan), strerror(errno));
        fd = -1;
        while ((e = readdir(d)) && r >= 0) {
                _cleanup_free_ char *path = NULL;

                if (strncmp(e->d_name, "vmlinuz-", 8) != 0 &&
                    strncmp(e->d_name, "initrd.img-", 11) != 0)
                        continue;
                if (asprintf(&path, "%s/%s", DIR_OF(plan), e->d_name) < 0) {
                        r = vt_error_set(ENOMEM, "out of memory");
                        break;
                }
                if (strcmp(path, plan->dst_kernel) == 0 ||
                    (plan->dst_initrd && strcmp(path, plan->dst_initrd) == 0))
                        continue;
                r = vt_atomic_remove(root, path);
        }
        closedir(d);
        return r;
}

int vt_last_good_write(const vt_root *root, const vt_preserve_plan *plan)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *shown = vt_root_display(root, plan->dir ? plan->dir : "/boot");
        struct statvfs sv;
        off_t need = 0;
        int r;

        if (!shown)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_mkdir_p(root, DIR_OF(plan));
        if (r < 0)
                return r;
        vt_atomic_cleanup(root, plan->dst_kernel);
        if (plan->dst_initrd)
                vt_atomic_cleanup(root, plan->dst_initrd);
        vt_atomic_cleanup(root, ENTRY_OF(plan));

        r = space_needed(root, plan->src_kernel, plan->dst_kernel, &need);
        if (r >= 0 && plan->src_initrd)
                r = space_needed(root, plan->src_initrd, plan->dst_initrd, &need);
        if (r < 0)
                return r;
        r = vt_root_opendir(root, DIR_OF(plan), &fd);
        if (r < 0)
                return r;
        if (fstatvfs(fd, &sv) < 0)
                return vt_error_set(errno, "cannot read the free space of %s: %s", shown,
                                    strerror(errno));
        /* A margin so that the next kernel update still fits. */
        if (need > 0 && (unsigned long long)sv.f_bavail * sv.f_frsize <
                            (unsigned long long)need + 16ULL * 1024 * 1024) {
                vt_error_set(ENOSPC,
                             "%s has %llu MiB free; keeping the last good kernel and initramfs "
                             "needs %llu MiB and 16 MiB to spare",
                             shown, (unsigned long long)sv.f_bavail * sv.f_frsize >> 20,
                             (unsigned long long)need >> 20);
                return vt_error_hint(ENOSPC,
                                     "remove kernels you no longer boot (apt autoremove; on "
                                     "Proxmox: proxmox-boot-tool kernel remove) "
                                     "or apply with --no-arm");
        }

        r = copy_file(root, plan->src_kernel, plan->dst_kernel);
        if (r >= 0 && plan->src_initrd)
                r = copy_file(root, plan->src_initrd, plan->dst_initrd);
        if (r >= 0)
                r = vt_atomic_write(root, ENTRY_OF(plan), plan->entry.ptr, plan->entry.len, NULL);
        if (r >= 0)
                r = prune(root, plan);
        return r;
}
