/* Benchmark: what making /boot readable by GRUB costs (fs/boot_flush.h), on the file system of
 * DIR. For each amount of dirty data (written, not synced, just before): the syncfs, the
 * flush vfiotx uses there (EXT4_IOC_CHECKPOINT on ext4), and a FIFREEZE + FITHAW for
 * comparison; and the longest time a writer on the same file system was held (a thread that
 * writes 4 KiB and fdatasyncs in a loop, its slowest iteration during the flush). Prints
 * figures; asserts nothing. Needs root (CAP_SYS_ADMIN). Usage: bench_boot_flush DIR [ROUNDS] */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fs/boot_flush.h"

static long now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

typedef struct writer {
        int fd;
        atomic_bool stop, measuring;
        atomic_long worst_us;
} writer;

static void *write_loop(void *arg)
{
        writer *w = arg;
        char block[4096];

        memset(block, 'w', sizeof(block));
        while (!atomic_load(&w->stop)) {
                long t0 = now_us(), dt;

                if (pwrite(w->fd, block, sizeof(block), 0) < 0 || fdatasync(w->fd) < 0)
                        break;
                dt = now_us() - t0;
                if (atomic_load(&w->measuring) && dt > atomic_load(&w->worst_us))
                        atomic_store(&w->worst_us, dt);
        }
        return NULL;
}

static void dirty(const char *dir, size_t mib)
{
        char path[4096], buf[1 << 16];
        int fd;

        snprintf(path, sizeof(path), "%s/dirty", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        memset(buf, 'd', sizeof(buf));
        for (size_t i = 0; i < mib * 16; i++)
                if (write(fd, buf, sizeof(buf)) < 0)
                        break;
        close(fd);
        /* Metadata too: what a rebuild leaves for the journal (new inodes, renames). */
        for (int i = 0; i < 200; i++) {
                char a[4096], b[4096];

                snprintf(a, sizeof(a), "%s/f%d.tmp", dir, i);
                snprintf(b, sizeof(b), "%s/f%d", dir, i);
                fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        if (write(fd, buf, 1024) < 0)
                                perror("write");
                        close(fd);
                        rename(a, b);
                }
        }
}

int main(int argc, char **argv)
{
        static const size_t sizes[] = {0, 16, 128};
        const char *dir = argc > 1 ? argv[1] : "/tmp";
        int rounds = argc > 2 ? atoi(argv[2]) : 5;
        char wpath[4096];
        writer w = {0};
        pthread_t th;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0) {
                perror(dir);
                return 1;
        }
        snprintf(wpath, sizeof(wpath), "%s/writer", dir);
        w.fd = open(wpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (w.fd < 0 || pthread_create(&th, NULL, write_loop, &w) != 0) {
                perror(wpath);
                return 1;
        }
        printf("%-6s %-22s %10s %10s %14s\n", "dirty", "method", "sync ms", "flush ms",
               "writer held ms");
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
                for (int mode = 0; mode < 2; mode++) {
                        double sync_ms = 0, flush_ms = 0, held_ms = 0;
                        const char *name = "";

                        for (int i = 0; i < rounds; i++) {
                                vt_flush_report rep = {0};
                                long t0, t1;

                                dirty(dir, sizes[s]);
                                atomic_store(&w.worst_us, 0);
                                atomic_store(&w.measuring, true);
                                if (mode == 0) {
                                        if (vt_boot_flush_fd(fd, dir, false, &rep) < 0) {
                                                fprintf(stderr, "flush failed: %s\n",
                                                        strerror(errno));
                                                return 1;
                                        }
                                        name = vt_flush_method_name(rep.method);
                                } else {
                                        /* A freeze the way fsfreeze(8) does it, after the same
                                         * syncfs. */
                                        t0 = now_us();
                                        syncfs(fd);
                                        t1 = now_us();
                                        rep.sync_us = t1 - t0;
                                        if (ioctl(fd, FIFREEZE, 0) < 0 ||
                                            ioctl(fd, FITHAW, 0) < 0) {
                                                perror("FIFREEZE/FITHAW");
                                                return 1;
                                        }
                                        rep.flush_us = now_us() - t1;
                                        name = "freeze and thaw";
                                }
                                /* Let the writer finish an iteration that was held. */
                                usleep(20000);
                                atomic_store(&w.measuring, false);
                                sync_ms += rep.sync_us / 1000.0;
                                flush_ms += rep.flush_us / 1000.0;
                                held_ms += atomic_load(&w.worst_us) / 1000.0;
                        }
                        printf("%3zuMiB %-22s %10.1f %10.1f %14.1f\n", sizes[s], name,
                               sync_ms / rounds, flush_ms / rounds, held_ms / rounds);
                }
        atomic_store(&w.stop, true);
        pthread_join(th, NULL);
        close(w.fd);
        unlink(wpath);
        printf("(means of %d rounds on %s; 'writer held' is the slowest 4 KiB write+fdatasync of "
               "a concurrent writer during the sync and flush, which includes its own I/O)\n",
               rounds, dir);
        return 0;
}
