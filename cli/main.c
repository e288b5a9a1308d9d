/* vfiotx: global options, then one command from the table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "engine/engine.h"
#include "journal/journal.h"

static const vt_command commands[] = {
    {"devices", vt_cmd_devices, "list PCI devices, IOMMU groups and a passthrough verdict", true},
    {"check", vt_cmd_check, "check IOMMU readiness of the host and its kernels", true},
    {"plan", vt_cmd_plan, "show what apply would change, as diffs; writes nothing"},
    {"apply", vt_cmd_apply, "apply the profile as one transaction"},
    {"status", vt_cmd_status, "show the state of the journal"},
    {"confirm", vt_cmd_confirm, "mark the applied configuration good"},
    {"log", vt_cmd_log, "list transactions, newest first"},
    {"show", vt_cmd_show, "show one transaction with its diff"},
    {"boot", vt_cmd_boot, "run at boot: record a trial, restore after a fallback boot", false},
    {"rollback", vt_cmd_rollback, "restore the last good snapshot (or TXN)"},
    {"export", vt_cmd_export, "write a snapshot as a tar archive (with owners, xattrs)"},
    {"import", vt_cmd_import, "apply a snapshot archive made by export, as a transaction"},
};

/* The options that say where the host is may also follow the command, as a rescue shell user
 * types them ("vfiotx rollback --root /root -y"): take them out of the command's arguments.
 * Returns -1 to go on (with *n the arguments left), or an exit code. */
static int pull_global_options(vt_cli *cli, char **args, int *n, int count)
{
        static const char *const with_value[] = {"--root", "--sysfs", "--proc"};
        int out = 0;

        for (int i = 0; i < count; i++) {
                const char *a = args[i], *value = NULL;
                size_t k;

                if (strcmp(a, "--") == 0) {
                        while (i < count)
                                args[out++] = args[i++];
                        break;
                }
                for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
                        size_t l = strlen(with_value[k]);

                        if (strncmp(a, with_value[k], l) == 0 && (a[l] == '\0' || a[l] == '=')) {
                                if (a[l] == '=')
                                        value = a + l + 1;
                                else if (i + 1 < count)
                                        value = args[++i];
                                else
                                        return vt_cli_usage_error(cli, NULL, "%s needs a value",
                                                                  with_value[k]);
                                break;
                        }
                }
                if (value) {
                        if (k == 0)
                                cli->root = value;
                        else if (k == 1)
                                cli->sysfs = value;
                        else
                                cli->proc = value;
                } else if (strcmp(a, "--json") == 0) {
                        cli->json = true;
                } else if (strcmp(a, "--no-chroot") == 0) {
                        cli->no_chroot = true;
                } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
                        cli->verbosity = -1;
                } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
                        cli->verbosity++;
                } else {
                        args[out++] = args[i];
                }
        }
        args[out] = NULL;
        *n = out;
        return -1;
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: vfiotx [--root DIR] [--sysfs DIR] [--proc DIR] [--json] [-v|-q] "
                   "COMMAND [ARGS]\n\n"
                   "Prepare a host for VFIO PCI passthrough as one transaction with rollback.\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf(f,
                "\nOptions:\n"
                "  --root DIR    operate on the host mounted at DIR (default /)\n"
                "  --sysfs DIR   read devices from a sysfs tree at DIR (default /sys)\n"
                "  --proc DIR    read cpuinfo, cmdline, mounts, routes from DIR (default /proc)\n"
                "  --no-chroot   run rebuild tools from PATH instead of chrooted into --root\n"
                "  --lock-timeout SEC     wait at most SEC s for another vfiotx (default 60)\n"
                "  --rebuild-timeout SEC  time limit of one rebuild step (default 1800)\n"
                "  --json        print data as JSON\n"
                "  -v, -q        more or less output\n"
                "  -h, --help    this help; 'vfiotx COMMAND --help' for a command\n"
                "  --version     print the version\n\n"
                "Exit status: 0 done or nothing to do, 1 failed or refused, 2 usage error.\n"
                "See vfiotx(8).\n");
}

int main(int argc, char **argv)
{
        enum {
                OPT_ROOT = 256,
                OPT_SYSFS,
                OPT_PROC,
                OPT_JSON,
                OPT_VERSION,
                OPT_NO_CHROOT,
                OPT_LOCK_TIMEOUT,
                OPT_REBUILD_TIMEOUT
        };
        static const struct option opts[] = {
            {"root", required_argument, NULL, OPT_ROOT},
            {"sysfs", required_argument, NULL, OPT_SYSFS},
            {"proc", required_argument, NULL, OPT_PROC},
            {"json", no_argument, NULL, OPT_JSON},
            {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
            {"rebuild-timeout", required_argument, NULL, OPT_REBUILD_TIMEOUT},
            {"no-chroot", no_argument, NULL, OPT_NO_CHROOT},
            {"verbose", no_argument, NULL, 'v'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, OPT_VERSION},
            {NULL, 0, NULL, 0},
        };
        vt_cli cli = {.prog = "vfiotx",
                      .root = "/",
                      .sysfs = "/sys",
                      .proc = "/proc",
                      .rebuild_timeout_s = 1800};
        _cleanup_buf_ vt_buf cmdline = VT_BUF_INIT;
        int c, r;

        for (int i = 0; i < argc; i++)
                vt_buf_printf(&cmdline, "%s%s", i ? " " : "", argv[i]);
        cli.cmdline = cmdline.ptr;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        cli.root = optarg;
                        break;
                case OPT_SYSFS:
                        cli.sysfs = optarg;
                        break;
                case OPT_PROC:
                        cli.proc = optarg;
                        break;
                case OPT_JSON:
                        cli.json = true;
                        break;
                case OPT_NO_CHROOT:
                        cli.no_chroot = true;
                        break;
                case OPT_LOCK_TIMEOUT: {
                        char *end;
                        long sec = strtol(optarg, &end, 10);

                        if (*end || sec < 0 || sec > 86400)
                                return vt_cli_usage_error(&cli, NULL,
                                                          "--lock-timeout takes seconds (0-86400), "
                                                          "not '%s'",
                                                          optarg);
                        vt_engine_set_lock_timeout((int)sec * 1000);
                        break;
                }
                case OPT_REBUILD_TIMEOUT: {
                        char *end;
                        long sec = strtol(optarg, &end, 10);

                        if (*end || sec < 1 || sec > 86400)
                                return vt_cli_usage_error(&cli, NULL,
                                                          "--rebuild-timeout takes seconds "
                                                          "(1-86400), not '%s'",
                                                          optarg);
                        cli.rebuild_timeout_s = (int)sec;
                        break;
                }
                case 'v':
                        cli.verbosity++;
                        break;
                case 'q':
                        cli.verbosity = -1;
                        break;
                case 'h':
                        usage(stdout);
                        return VT_EXIT_OK;
                case OPT_VERSION:
                        printf("vfiotx %s\n", VFIOTX_VERSION);
                        return VT_EXIT_OK;
                default:
                        return vt_cli_usage_error(&cli, NULL, "unknown or incomplete option '%s'",
                                                  argv[optind - 1]);
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return VT_EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[optind], commands[i].name) != 0)
                        continue;
                int first = optind, n = argc;

                r = pull_global_options(&cli, argv + first + 1, &n, argc - first - 1);
                if (r >= 0)
                        return r;
                argc = first + 1 + n;
                /* Starting libgit2 costs milliseconds; the probes do not need it. */
                if (!commands[i].no_git)
                        (void)vt_journal_global_init();
                optind = 0; /* each command parses its own argv with getopt_long */
                r = commands[i].run(&cli, argc - first, argv + first);
                if (!commands[i].no_git)
                        vt_journal_global_shutdown();
                return r;
        }
        return vt_cli_usage_error(&cli, NULL, "unknown command '%s'", argv[optind]);
}
