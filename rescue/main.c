/* vfiotx-rescue: the initramfs's rescue command (rescue/rescue.h). The only code of the rescue
 * that prints: what it restores, the rebuild tools' output, and an error with what to do. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "rescue/rescue.h"

#define PROG "vfiotx-rescue"

enum { OPT_ROOT = 1, OPT_NO_CHROOT, OPT_NO_REBUILD, OPT_TIMEOUT, OPT_VERSION };

static const struct option options[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"no-chroot", no_argument, NULL, OPT_NO_CHROOT},
    {"no-rebuild", no_argument, NULL, OPT_NO_REBUILD},
    {"rebuild-timeout", required_argument, NULL, OPT_TIMEOUT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
        fprintf(
            f, "Usage: " PROG " [--root DIR] [--no-rebuild] [--rebuild-timeout SEC]\n"
               "\n"
               "Restore the last good configuration vfiotx kept as a plain copy\n"
               "(DIR/var/lib/vfiotx/good) into the host's root mounted at DIR (default /root,\n"
               "as in the initramfs emergency shell), then rebuild its initramfs and boot\n"
               "configuration chrooted into DIR. Every file is checked against the copy's\n"
               "manifest before anything is written. The next normal boot's 'vfiotx boot'\n"
               "records the rescue in vfiotx's journal.\n"
               "\n"
               "In the initramfs shell: mount the root at /root read-write\n"
               "(mount -o remount,rw /root), run " PROG ", then umount /root; reboot -f.\n"
               "\n"
               "  --root DIR             the host's root (default /root)\n"
               "  --no-rebuild           restore the files only; vfiotx rebuilds at the next boot\n"
               "  --rebuild-timeout SEC  time limit of one rebuild step (default 1800)\n"
               "  --no-chroot            run the rebuild tools from PATH, not chrooted (tests)\n"
               "  -h, --help             this text\n"
               "  --version              the version\n");
}

/* The lines vfiotx prints for a rebuild step (cli/cli_rebuild.c), so one reader of the output
 * (a person, the VM tests) reads both. */
static void progress(void *userdata, const vt_rebuild_progress *p)
{
        (void)userdata;
        /* Every line is printed as it comes, so a failure's output is already on the screen,
         * and the console of an initramfs shell is no place for a line redrawn in place: the
         * ticks are not shown. */
        switch (p->event) {
        case VT_REBUILD_START:
                printf("[%zu/%zu] %s ...\n", p->step, p->n, p->cmd);
                break;
        case VT_REBUILD_LINE:
                printf("    %s\n", p->line);
                break;
        case VT_REBUILD_TICK:
                return;
        case VT_REBUILD_DONE:
                printf("[%zu/%zu] %s%s (%.1f s)\n", p->step, p->n, p->cmd,
                       p->r < 0 ? " failed" : "", p->elapsed_ms / 1000.0);
                break;
        }
        fflush(stdout);
}

static void print_lines(const char *what, const vt_buf *paths)
{
        const char *p = vt_buf_cstr(paths), *nl;

        for (; *p && (nl = strchr(p, '\n')); p = nl + 1)
                printf("  %s %.*s\n", what, (int)(nl - p), p);
}

int main(int argc, char **argv)
{
        vt_rescue_req req = {.root = "/root", .timeout_ms = 1800 * 1000, .progress = progress};
        vt_rescue_result res;
        char *end;
        long sec;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        req.root = optarg;
                        break;
                case OPT_NO_CHROOT:
                        req.no_chroot = true;
                        break;
                case OPT_NO_REBUILD:
                        req.no_rebuild = true;
                        break;
                case OPT_TIMEOUT:
                        errno = 0;
                        sec = strtol(optarg, &end, 10);
                        if (errno || *end || sec < 1 || sec > 86400) {
                                fprintf(stderr,
                                        PROG ": --rebuild-timeout wants seconds (1-86400), "
                                             "not '%s'\n",
                                        optarg);
                                return 2;
                        }
                        req.timeout_ms = (int)sec * 1000;
                        break;
                case OPT_VERSION:
                        printf(PROG " " VFIOTX_VERSION "\n");
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        fprintf(stderr, "Try '" PROG " --help' for more information.\n");
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr,
                        PROG ": unexpected argument '%s'\nTry '" PROG
                             " --help' for more information.\n",
                        argv[optind]);
                return 2;
        }
        r = vt_rescue_run(&req, &res);
        if (res.txn)
                printf(PROG ": the last good snapshot is transaction %ld\n", res.txn);
        print_lines("restored", &res.written);
        print_lines("removed", &res.removed);
        if (r >= 0 || res.written.len || res.removed.len)
                printf("  %zu file%s already as in the good snapshot\n", res.n_unchanged,
                       res.n_unchanged == 1 ? "" : "s");
        if (res.notes.len)
                printf("%s", vt_buf_cstr(&res.notes));
        if (r < 0) {
                const char *msg = vt_error_message(), *hint = vt_error_hint_text();

                fprintf(stderr, PROG ": error: %s\n", msg ? msg : strerror(-r));
                if (hint)
                        fprintf(stderr, PROG ": hint: %s\n", hint);
                vt_rescue_result_free(&res);
                return 1;
        }
        if (req.no_rebuild)
                printf(PROG ": files restored; not rebuilt (--no-rebuild): the next boot's 'vfiotx "
                            "boot' rebuilds\n");
        else
                printf(PROG ": restored and rebuilt (%zu step%s); now: umount %s; reboot -f\n",
                       res.n_steps, res.n_steps == 1 ? "" : "s", req.root);
        printf(PROG ": the next boot records the rescue in vfiotx's journal\n");
        vt_rescue_result_free(&res);
        return 0;
}
