/* The options of every command: where the host is, output, time limits (cli.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "engine/engine.h"

static const vt_option host_options[] = {
    {VT_GLOBAL_ROOT, "root", "DIR",
     "operate on the host whose / is mounted at DIR (default /):\n"
     "a rescue system's /mnt, a test tree; every path is resolved\n"
     "inside DIR, a link leading out is refused"},
    {VT_GLOBAL_SYSFS, "sysfs", "DIR", "read devices from a sysfs tree at DIR (default /sys)"},
    {VT_GLOBAL_PROC, "proc", "DIR",
     "read cpuinfo, cmdline, mounts, routes from DIR (default /proc)"},
    {VT_GLOBAL_NO_CHROOT, "no-chroot", NULL,
     "run the rebuild tools from PATH instead of chrooted into --root"},
    {VT_GLOBAL_LOCK_TIMEOUT, "lock-timeout", "SEC",
     "wait at most SEC s for another vfiotx on the same root (default 60)"},
    {VT_GLOBAL_REBUILD_TIMEOUT, "rebuild-timeout", "SEC",
     "time limit of one rebuild step (default 1800)"},
    {0},
};

static const vt_option output_options[] = {
    {VT_GLOBAL_JSON, "json", NULL,
     "print one JSON document on stdout, errors included\n"
     "(docs/json.md)"},
    {VT_GLOBAL_DETAILED_EXITCODE, "detailed-exitcode", NULL,
     "exit 0 nothing to do, 3 refused, 4 changed or would\n"
     "change (status: needs attention); 1 failed, 2 usage"},
    {'v', "verbose", NULL, "more output (the rebuild tools' own output; repeatable)"},
    {'q', "quiet", NULL, "only errors, warnings and data"},
    {VT_GLOBAL_VERSION, "version", NULL, "print the version"},
    {0},
};

const vt_option_group vt_global_options[] = {
    {NULL, "Global options", host_options},
    {NULL, "Output", output_options},
    {0},
};

static int seconds(vt_cli *cli, const char *opt, const char *value, long min, int *out)
{
        char *end;
        long sec = strtol(value, &end, 10);

        if (!*value || *end || sec < min || sec > 86400)
                return vt_cli_usage_error(cli, NULL, "--%s takes seconds (%ld-86400), not '%s'",
                                          opt, min, value);
        *out = (int)sec;
        return -1;
}

int vt_cli_global_option(vt_cli *cli, int id, const char *value)
{
        int r, sec = 0;

        switch (id) {
        case VT_GLOBAL_ROOT:
                cli->root = value;
                break;
        case VT_GLOBAL_SYSFS:
                cli->sysfs = value;
                break;
        case VT_GLOBAL_PROC:
                cli->proc = value;
                break;
        case VT_GLOBAL_NO_CHROOT:
                cli->no_chroot = true;
                break;
        case VT_GLOBAL_LOCK_TIMEOUT:
                r = seconds(cli, "lock-timeout", value, 0, &sec);
                if (r >= 0)
                        return r;
                vt_engine_set_lock_timeout(sec * 1000);
                break;
        case VT_GLOBAL_REBUILD_TIMEOUT:
                r = seconds(cli, "rebuild-timeout", value, 1, &sec);
                if (r >= 0)
                        return r;
                cli->rebuild_timeout_s = sec;
                break;
        case VT_GLOBAL_JSON:
                cli->json = true;
                break;
        case VT_GLOBAL_DETAILED_EXITCODE:
                cli->detailed_exitcode = true;
                break;
        case 'v':
                cli->verbosity++;
                break;
        case 'q':
                cli->verbosity = -1;
                break;
        case VT_GLOBAL_VERSION:
                if (cli->json) {
                        json_object *doc = vt_cli_doc(cli);

                        json_object_object_add(doc, "version",
                                               json_object_new_string(VFIOTX_VERSION));
                        return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
                }
                printf("vfiotx %s\n", VFIOTX_VERSION);
                return VT_EXIT_OK;
        default:
                return VT_EXIT_USAGE;
        }
        return -1;
}
