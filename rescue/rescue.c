#include "rescue/rescue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "backends/bootloader.h"
#include "backends/kernels.h"
#include "backends/rebuild_plan.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/rebuild_run.h"
#include "fs/atomic_file.h"
#include "fs/root.h"
#include "journal/good_copy.h"
#include "journal/lock.h"
#include "journal/managed_paths.h"
#include "journal/rescue_mark.h"
#include "journal/snapshot.h"

#define FULL_RESCUE "from a live USB with vfiotx installed, 'vfiotx --root /root rollback -y'"

void vt_rescue_result_free(vt_rescue_result *res)
{
        vt_buf_free(&res->written);
        vt_buf_free(&res->removed);
        vt_buf_free(&res->notes);
}

/* A read-only root is refused before anything is read or written, naming the mount to remount
 * as this process sees it ("/root" in the initramfs). */
static int check_writable(const vt_root *root)
{
        _cleanup_free_ char *abs = realpath(root->path, NULL), *mnt = NULL;
        struct statvfs st;

        if (fstatvfs(root->fd, &st) < 0)
                return vt_error_set(errno, "cannot read the mount of %s: %s", root->path,
                                    strerror(errno));
        if (!(st.f_flag & ST_RDONLY))
                return 0;
        if (!abs || vt_mount_point(abs, &mnt) < 0) {
                free(mnt);
                mnt = strdup(root->path);
        }
        vt_error_set(EROFS, "%s is mounted read-only: nothing was restored", root->path);
        return vt_error_hint(EROFS,
                             "remount it read-write (mount -o remount,rw %s) and run vfiotx-rescue "
                             "again",
                             mnt ? mnt : root->path);
}

/* On systemd-boot the loader starts the initramfs copies kernel-install keeps on the ESP
 * (Debian's initramfs post-update hook refreshes them): a rebuild with the ESP not mounted in
 * the root would rebuild /boot only, report success, and leave the bad initramfs booting. The
 * initramfs mounts only the root, so the ESP fstab names (/boot/efi or /efi) must be mounted
 * there by hand first; refused before anything is written. */
static int check_esp_mounted(const vt_root *root)
{
        static const char *const esp_dirs[] = {"/boot/efi", "/efi"};
        _cleanup_buf_ vt_buf fstab = VT_BUF_INIT;
        char *save = NULL;
        int r;

        r = vt_root_exists(root, "/etc/initramfs/post-update.d/systemd-boot");
        if (r <= 0) {
                vt_error_clear();
                return 0;
        }
        r = vt_root_read(root, "/etc/fstab", &fstab);
        if (r < 0) {
                vt_error_clear();
                return 0;
        }
        for (char *l = strtok_r(fstab.ptr, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char spec[256], dir[256];
                _cleanup_free_ char *entries = NULL;

                if (sscanf(l, " %255s %255s", spec, dir) != 2 || spec[0] == '#')
                        continue;
                for (size_t i = 0; i < ARRAY_SIZE(esp_dirs); i++) {
                        if (strcmp(dir, esp_dirs[i]) != 0)
                                continue;
                        if (asprintf(&entries, "%s/loader/entries", dir) < 0)
                                return -ENOMEM;
                        r = vt_root_exists(root, entries);
                        vt_error_clear();
                        if (r > 0)
                                return 0;
                        vt_error_set(ENODEV,
                                     "the ESP (%s in %s/etc/fstab) is not mounted at %s%s: "
                                     "systemd-boot starts the initramfs copies kept there, so "
                                     "a rebuild now would leave the bad one booting; nothing "
                                     "was restored",
                                     spec, root->path, root->path, dir);
                        return vt_error_hint(ENODEV,
                                             "mount it (modprobe vfat; mount %s %s%s; a "
                                             "UUID= or LABEL= spec is /dev/disk/by-uuid/... or "
                                             "by-label/...) and run vfiotx-rescue again",
                                             spec, root->path, dir);
                }
        }
        return 0;
}

static int read_copy(const vt_root *root, vt_snapshot *good, long *txn)
{
        _cleanup_free_ char *where = vt_root_display(root, "/var/lib/vfiotx/good");
        int r;

        r = vt_good_copy_read(root, good, txn);
        if (r == -ENOENT && vt_root_exists(root, "/var/lib/vfiotx") != 1) {
                vt_error_set(ENOENT,
                             "%s has no /var/lib/vfiotx: it is not the root of a host "
                             "vfiotx changed, or not mounted there",
                             root->path);
                return vt_error_hint(ENOENT,
                                     "mount the host's root file system at %s (read-write) and "
                                     "run vfiotx-rescue again, or pass --root DIR",
                                     root->path);
        }
        if (r == -ENOENT) {
                vt_error_set(ENOENT,
                             "there is no plain copy of a good snapshot at %s: nothing "
                             "was restored",
                             where ? where : "/var/lib/vfiotx/good");
                return vt_error_hint(ENOENT,
                                     "vfiotx writes it with its first transaction; "
                                     "%s restores from the journal",
                                     FULL_RESCUE);
        }
        if (r < 0) {
                vt_error_wrap(r, "nothing was restored");
                return vt_error_hint(r, "%s restores the good snapshot from the journal instead",
                                     FULL_RESCUE);
        }
        r = vt_managed_paths_add_absent(root, good, vt_path_vfiotx_own);
        if (r < 0)
                return vt_error_wrap(r, "nothing was restored: reading %s", VT_MANAGED_PATHS_PATH);
        return 0;
}

/* The files of `good` that the disk does not hold as the copy has them (indexes into good). */
static int differing(const vt_root *root, const vt_snapshot *good, size_t *idx, size_t *n)
{
        *n = 0;
        for (size_t i = 0; i < good->n; i++) {
                _cleanup_snapshot_ vt_snapshot now = {0};
                const char *p = good->files[i].path;
                int r = vt_snapshot_capture(root, &p, 1, &now);

                if (r < 0)
                        return vt_error_wrap(r, "nothing was restored");
                if (!vt_snap_file_equal(&good->files[i], &now.files[0]))
                        idx[(*n)++] = i;
        }
        return 0;
}

static int rebuild(const vt_rescue_req *req, const vt_root *root, const vt_snapshot *good,
                   vt_rescue_result *res)
{
        _cleanup_free_ const char **paths = calloc(good->n + 1, sizeof(char *));
        vt_kernel_list kernels = {0};
        vt_rebuild_host host = {0};
        vt_boot_info boot = {0};
        vt_boot_path path;
        vt_rebuild_plan plan = {0};
        int r;

        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < good->n; i++)
                paths[i] = good->files[i].path;
        r = vt_kernels_scan(root, &kernels);
        if (r >= 0)
                r = vt_rebuild_host_detect(root, &kernels, &host);
        if (r >= 0)
                r = vt_boot_detect(root, &boot);
        if (r >= 0) {
                vt_boot_path_of(root, &boot, &path);
                r = vt_rebuild_plan_make(&host, &path, paths, good->n, &plan);
        }
        if (r >= 0) {
                vt_buf_put(&res->notes, plan.notes.ptr, plan.notes.len);
                res->n_steps = plan.n;
        }
        if (r >= 0) {
                /* The rescue system's /boot/efi is not the host's ESP: bind_esp stays off. */
                vt_rebuild_ctx ctx = {.root = root,
                                      .chroot = !req->no_chroot,
                                      .timeout_ms = req->timeout_ms,
                                      .progress = req->progress,
                                      .userdata = req->userdata};

                r = vt_rebuild_run(&ctx, &plan, NULL);
                if (r < 0)
                        vt_error_hint(r, "the good files are restored, but the initramfs or boot "
                                         "configuration still holds the bad ones: fix what the "
                                         "tool says and run vfiotx-rescue again (it rebuilds "
                                         "again), or boot and let vfiotx-boot.service rebuild");
        }
        vt_rebuild_plan_free(&plan);
        vt_boot_info_free(&boot);
        vt_rebuild_host_free(&host);
        vt_kernels_free(&kernels);
        return r;
}

int vt_rescue_run(const vt_rescue_req *req, vt_rescue_result *res)
{
        _cleanup_snapshot_ vt_snapshot good = {0};
        _cleanup_free_ size_t *idx = NULL;
        _cleanup_close_ int lock_fd = -1;
        vt_root root = VT_ROOT_INIT;
        vt_rescue_mark mark = {0};
        size_t n_diff = 0;
        int r;

        *res = (vt_rescue_result){0};
        r = vt_root_open(&root, req->root);
        if (r >= 0)
                r = check_writable(&root);
        if (r >= 0 && !req->no_rebuild)
                r = check_esp_mounted(&root);
        if (r >= 0)
                r = read_copy(&root, &good, &res->txn);
        if (r < 0)
                goto out;
        idx = calloc(good.n + 1, sizeof(*idx));
        if (!idx) {
                r = -ENOMEM;
                goto out;
        }
        r = differing(&root, &good, idx, &n_diff);
        if (r < 0)
                goto out;
        res->n_unchanged = good.n - n_diff;

        /* Everything is read and checked: from here on the root changes. No vfiotx runs in an
         * initramfs, but a rescue from a live system might meet one: wait for its lock. */
        r = vt_lock_take(&root, 10000, NULL, &lock_fd);
        for (size_t k = 0; r >= 0 && k < n_diff; k++) {
                const vt_snap_file *f = &good.files[idx[k]];

                if (f->present) {
                        r = vt_atomic_write(&root, f->path, vt_buf_cstr(&f->data), f->data.len,
                                            &f->meta);
                        if (r >= 0)
                                vt_buf_printf(&res->written, "%s\n", f->path);
                } else {
                        r = vt_atomic_remove(&root, f->path);
                        if (r >= 0)
                                vt_buf_printf(&res->removed, "%s\n", f->path);
                }
        }
        mark.txn = res->txn;
        mark.time = (int64_t)time(NULL);
        mark.files = (long)n_diff;
        if (r >= 0)
                r = vt_rescue_mark_write(&root, &mark);
        if (r < 0 || req->no_rebuild)
                goto out;
        r = rebuild(req, &root, &good, res);
        if (r < 0)
                goto out;
        res->rebuilt = true;
        mark.rebuilt = true;
        r = vt_rescue_mark_write(&root, &mark);
out:
        vt_root_close(&root);
        return r;
}
