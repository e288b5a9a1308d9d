#include "engine/esp_mounts.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "backends/bootloader.h"
#include "backends/esp.h"
#include "common/error.h"
#include "common/macro.h"
#include "fs/root.h"

#define BY_UUID "/dev/disk/by-uuid/"

static bool is_block(const char *uuid)
{
        char dev[sizeof(BY_UUID) + 64];
        struct stat st;

        snprintf(dev, sizeof(dev), BY_UUID "%s", uuid);
        return stat(dev, &st) == 0 && S_ISBLK(st.st_mode);
}

/* Does <root>/run/vfiotx/esp/<uuid> already hold loader/entries or grub (a stand-in
 * directory)? */
static bool has_stand_in(const vt_root *root, const char *uuid)
{
        static const char *const marks[] = {VT_ESP_ENTRIES, "grub"};
        char path[sizeof(VT_PBT_ESP_DIR) + 96];

        for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
                int r;

                snprintf(path, sizeof(path), VT_PBT_ESP_DIR "/%s/%s", uuid, marks[i]);
                r = vt_root_exists(root, path);
                vt_error_clear();
                if (r > 0)
                        return true;
        }
        return false;
}

static int mount_one(const vt_root *root, const char *uuid)
{
        _cleanup_free_ char *dir = NULL, *rel = NULL, *target = NULL;
        char dev[sizeof(BY_UUID) + 64];
        int r;

        snprintf(dev, sizeof(dev), BY_UUID "%s", uuid);
        if (asprintf(&dir, VT_PBT_ESP_DIR "/%s", uuid) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_mkdir_p(root, dir);
        if (r >= 0)
                r = vt_root_resolve(root, dir, false, &rel);
        if (r < 0)
                return r;
        if (asprintf(&target, "%s/%s", strcmp(root->path, "/") ? root->path : "", rel) < 0)
                return vt_error_set(ENOMEM, "out of memory");
        /* As an installer's fstab line for an ESP: only root reads it, nothing runs from it. */
        if (mount(dev, target, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "umask=0077") < 0) {
                int err = errno;

                vt_error_set(err, "cannot mount the ESP %s (%s) at %s: %s", uuid, dev, target,
                             strerror(err));
                return vt_error_hint(err, "the boot counter lives on every ESP in "
                                          "/etc/kernel/proxmox-boot-uuids; check the device "
                                          "('proxmox-boot-tool status'), or 'modprobe vfat'");
        }
        return 0;
}

static void wait_for_devices(char **uuids, size_t n, unsigned wait_s)
{
        struct timespec tick = {0, 200 * 1000 * 1000};

        for (unsigned i = 0; i < wait_s * 5; i++) {
                bool all = true;

                for (size_t u = 0; u < n && all; u++)
                        all = is_block(uuids[u]);
                if (all)
                        return;
                nanosleep(&tick, NULL);
        }
}

int vt_esp_mounts_setup(const char *root_path, unsigned wait_s, vt_esp_mounts *out)
{
        vt_boot_info boot = {0};
        vt_root root = VT_ROOT_INIT;
        bool need_ns = false;
        int r;

        *out = (vt_esp_mounts){0};
        r = vt_root_open(&root, root_path);
        if (r >= 0)
                r = vt_boot_detect(&root, &boot);
        if (r < 0) {
                /* the command itself says what is wrong with the root */
                vt_error_clear();
                r = 0;
                goto out;
        }
        /* proxmox-boot-tool's ESPs carry the counter in both its modes: systemd-boot's entries,
         * or GRUB's grubenv (engine/pbt_grub_counter.h). */
        if (!(boot.flags & VT_BOOT_PROXMOX))
                goto out;
        out->n_listed = boot.n_esp_uuids;
        out->missing = calloc(boot.n_esp_uuids, sizeof(*out->missing));
        if (!out->missing) {
                r = vt_error_set(ENOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < boot.n_esp_uuids; i++)
                if (!is_block(boot.esp_uuids[i]) && !has_stand_in(&root, boot.esp_uuids[i])) {
                        wait_for_devices(boot.esp_uuids, boot.n_esp_uuids, wait_s);
                        break;
                }
        for (size_t i = 0; i < boot.n_esp_uuids; i++) {
                if (is_block(boot.esp_uuids[i]))
                        need_ns = true;
                else if (!has_stand_in(&root, boot.esp_uuids[i])) {
                        out->missing[out->n_missing] = strdup(boot.esp_uuids[i]);
                        if (!out->missing[out->n_missing++]) {
                                r = vt_error_set(ENOMEM, "out of memory");
                                goto out;
                        }
                }
        }
        if (!need_ns)
                goto out;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                r = vt_error_set(errno,
                                 "cannot make a mount namespace for the ESPs of "
                                 "proxmox-boot-tool: %s",
                                 strerror(errno));
                goto out;
        }
        /* The root again, from inside the namespace, so the mount points resolve there. */
        vt_root_close(&root);
        r = vt_root_open(&root, root_path);
        for (size_t i = 0; r >= 0 && i < boot.n_esp_uuids; i++) {
                if (!is_block(boot.esp_uuids[i]))
                        continue;
                r = mount_one(&root, boot.esp_uuids[i]);
                if (r >= 0)
                        out->n_mounted++;
        }
out:
        vt_boot_info_free(&boot);
        vt_root_close(&root);
        return r;
}

void vt_esp_mounts_free(vt_esp_mounts *m)
{
        vt_paths_free(m->missing, m->n_missing);
        *m = (vt_esp_mounts){0};
}
