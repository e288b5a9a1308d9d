#include "backends/units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/macro.h"

/* systemd's unit search path for the system manager, highest priority first. */
static const char *const unit_dirs[] = {
    "/etc/systemd/system",     "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system", "/lib/systemd/system",
};

const char *vt_unit_state_name(vt_unit_state s)
{
        switch (s) {
        case VT_UNIT_DISABLED:
                return "disabled";
        case VT_UNIT_ENABLED:
                return "enabled";
        case VT_UNIT_MASKED:
                return "masked";
        default:
                return "not installed";
        }
}

/* A descriptor of the directory inside the root, or -1 when it does not exist. */
static int open_dir(const vt_root *root, const char *dir, int *fd)
{
        int r = vt_root_opendir(root, dir, fd);

        if (r == -ENOENT || r == -ENOTDIR) {
                vt_error_clear();
                *fd = -1;
                return 0;
        }
        return r;
}

/* Is `name` an entry of a *.wants/ or *.requires/ directory of dfd? */
static int linked_from_target(int dfd, const char *name, bool *found)
{
        DIR *d;
        struct dirent *e;
        int fd = dup(dfd);

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while (!*found && (e = readdir(d))) {
                size_t n = strlen(e->d_name);
                char path[512];
                struct stat st;

                if (!(n > 6 && strcmp(e->d_name + n - 6, ".wants") == 0) &&
                    !(n > 9 && strcmp(e->d_name + n - 9, ".requires") == 0))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", e->d_name, name);
                *found = fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
        }
        closedir(d);
        return 0;
}

int vt_unit_state_probe(const vt_root *root, const char *name, vt_unit_state *out)
{
        bool installed = false, enabled = false;
        int r = 0;

        *out = VT_UNIT_MISSING;
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(unit_dirs); i++) {
                char target[64];
                struct stat st;
                ssize_t n;
                int dfd;

                r = open_dir(root, unit_dirs[i], &dfd);
                if (r < 0 || dfd < 0)
                        continue;
                /* A mask is a link to /dev/null where the administrator's units live. */
                n = readlinkat(dfd, name, target, sizeof(target) - 1);
                if (n > 0 && i < 2) {
                        target[n] = '\0';
                        if (strcmp(target, "/dev/null") == 0) {
                                close(dfd);
                                *out = VT_UNIT_MASKED;
                                return 0;
                        }
                }
                installed |= fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
                if (!enabled)
                        r = linked_from_target(dfd, name, &enabled);
                close(dfd);
                if (r < 0)
                        r = vt_error_set(r, "cannot read %s in %s: %s", unit_dirs[i], root->path,
                                         strerror(-r));
        }
        if (r < 0)
                return r;
        *out = !installed ? VT_UNIT_MISSING : enabled ? VT_UNIT_ENABLED : VT_UNIT_DISABLED;
        return 0;
}
