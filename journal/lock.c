#include "journal/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/macro.h"

static long holder(int fd)
{
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

        return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int vt_lock_take(const vt_root *root, int timeout_ms, void (*waiting)(long holder_pid), int *out_fd)
{
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        char pid[32];
        int r, waited = 0;

        r = vt_root_mkdir_p(root, "/var/lib/vfiotx");
        if (r < 0) {
                return vt_root_fs_hint(root, "/var/lib/vfiotx", r);
        }
        r = vt_root_resolve(root, VT_LOCK_PATH, false, &rel);
        if (r < 0)
                return r;
        fd = openat(root->fd, rel, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = vt_error_set(errno, "cannot open the lock %s: %s", VT_LOCK_PATH,
                                 strerror(errno));
                return vt_root_fs_hint(root, VT_LOCK_PATH, r);
        }
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                struct timespec ts = {0, 100 * 1000 * 1000};

                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return vt_error_set(errno, "cannot lock %s: %s", VT_LOCK_PATH,
                                            strerror(errno));
                if (waited == 0 && waiting && timeout_ms > 0)
                        waiting(holder(fd));
                if (waited >= timeout_ms)
                        return vt_error_hint(
                            vt_error_set(EBUSY, "another vfiotx (pid %ld) is working on %s",
                                         holder(fd), root->path),
                            "wait for it to finish, then run the command again");
                nanosleep(&ts, NULL);
                waited += 100;
        }
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, strlen(pid), 0) < 0) {
                /* The pid only tells a waiting vfiotx who holds the lock: a failed write is no
                 * reason to give the lock up. (Tested, not cast to void: that does not silence
                 * warn_unused_result under Debian's hardening flags.) */
        }
        *out_fd = TAKE_FD(fd);
        return 0;
}

void vt_lock_release(int fd)
{
        if (fd >= 0)
                close(fd);
}
