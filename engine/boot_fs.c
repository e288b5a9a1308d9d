/* Flushing the file systems a bootloader reads (boot_fs.h). */
#include "engine/boot_fs.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/macro.h"

int vt_boot_fs_flush(const vt_root *root, const char *dir, bool dry_run, vt_flush_report *out)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *shown = vt_root_display(root, dir);
        int r;

        if (!shown)
                return vt_error_set(ENOMEM, "out of memory");
        r = vt_root_opendir(root, dir, &fd);
        if (r < 0)
                return r;
        return vt_boot_flush_fd(fd, shown, dry_run, out);
}

int vt_boot_fs_flush_all(const vt_root *root, struct json_object *steps)
{
        static const char *const dirs[] = {"/boot", "/boot/efi", "/efi"};
        dev_t seen[3];
        size_t n_seen = 0;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_close_ int fd = -1;
                vt_flush_report rep;
                struct stat st;
                bool dup = false;
                int r;

                if (vt_root_exists(root, dirs[i]) != 1 || vt_root_opendir(root, dirs[i], &fd) < 0 ||
                    fstat(fd, &st) < 0) {
                        vt_error_clear();
                        continue;
                }
                for (size_t k = 0; k < n_seen; k++)
                        dup |= seen[k] == st.st_dev;
                if (dup)
                        continue;
                seen[n_seen++] = st.st_dev;
                r = vt_boot_fs_flush(root, dirs[i], false, &rep);
                if (r < 0)
                        return r;
                if (steps) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "flush", json_object_new_string(dirs[i]));
                        json_object_object_add(o, "fstype", json_object_new_string(rep.fstype));
                        json_object_object_add(
                            o, "method", json_object_new_string(vt_flush_method_name(rep.method)));
                        json_object_object_add(
                            o, "ms",
                            json_object_new_int64((rep.sync_us + rep.flush_us + 500) / 1000));
                        json_object_array_add(steps, o);
                }
        }
        return 0;
}
