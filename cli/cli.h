/* The command-line layer: global options, the command table and the only code that prints.
 *
 * Each command is `int vt_cmd_<name>(vt_cli *cli, int argc, char **argv)`: argv[0] is the
 * command's name, the rest its own arguments, parsed with vt_opts_next() over the command's
 * table `vt_command_<name>` (options.h), defined next to it in cli/cmd_<name>.c. It returns the
 * process exit code: VT_EXIT_OK (done, or nothing to do), VT_EXIT_FAIL (failed or refused) or
 * VT_EXIT_USAGE (bad command line). */
#pragma once

#include <stdbool.h>

#include "cli/options.h"
#include "engine/engine.h"
#include "engine/op.h"
#include "engine/op_restore.h"
#include "engine/rebuild.h"

enum {
        VT_EXIT_OK = 0,
        VT_EXIT_FAIL = 1,
        VT_EXIT_USAGE = 2,
};

typedef struct vt_cli {
        const char *prog;  /* "vfiotx" */
        const char *root;  /* --root: the host's / (default "/") */
        const char *sysfs; /* --sysfs: a /sys tree (default "/sys"); PCI devices under bus/pci */
        const char *proc;  /* --proc: a /proc tree (default "/proc"): cpuinfo, cmdline, mounts */
        bool json;         /* --json: data on stdout as JSON */
        int verbosity;     /* -q: -1, default 0, -v: 1 and more */
        bool no_chroot;    /* --no-chroot: run rebuild tools from PATH, not chrooted in root */
        char *cmdline;     /* the whole command line, recorded in journal entries */
        int rebuild_timeout_s; /* --rebuild-timeout: time limit of one rebuild step */
} vt_cli;

/* The global options' ids (cli/global_options.c). */
enum {
        VT_GLOBAL_ROOT = VT_OPT_LONG + 100,
        VT_GLOBAL_SYSFS,
        VT_GLOBAL_PROC,
        VT_GLOBAL_NO_CHROOT,
        VT_GLOBAL_LOCK_TIMEOUT,
        VT_GLOBAL_REBUILD_TIMEOUT,
        VT_GLOBAL_JSON,
        VT_GLOBAL_VERSION,
};

/* Carry out global option `id` with its value: -1 to go on, else the exit code (--version
 * printed: VT_EXIT_OK; a bad value: a usage error). */
int vt_cli_global_option(vt_cli *cli, int id, const char *value);

/* Print the current error (vt_error_message() and hint) for a failure r, to stderr, and return
 * VT_EXIT_FAIL. When no message was set, strerror(-r) is printed with `what`. */
int vt_cli_fail(const vt_cli *cli, int r, const char *what);
/* Print "vfiotx CMD: <message>" and the "Try 'vfiotx CMD --help'" line; returns VT_EXIT_USAGE. */
int vt_cli_usage_error(const vt_cli *cli, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Informational output on stdout, suppressed by -q (never used for data). */
void vt_cli_info(const vt_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning on stderr, never suppressed. */
void vt_cli_warn(const vt_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask "question [y/N]" on the terminal; false when stdin is not a terminal or the answer is not
 * yes. Commands that change the host accept -y to skip the question. */
bool vt_cli_confirm(const vt_cli *cli, const char *question);

/* Print the notes the engine gathered (recovery, drift) as informational lines. */
void vt_cli_notes(const vt_cli *cli, const char *notes);
/* A transaction time as "2026-11-27 05:07:18" (local time). */
void vt_cli_time(long long epoch, char out[32]);

/* The CLI side of the engine operations (cli/cli_rebuild.c): the host options as a
 * vt_op_env, and the callback table that prints what an operation reports while it runs: the
 * diff, the rebuild steps, their progress as "[2/3] update-initramfs -u -k 6.1.0-26-amd64
 * (4.2 s)" (tool output with -v), the notes, and the question on the terminal. */
void vt_cli_env(const vt_cli *cli, vt_op_env *env);
void vt_cli_ui(const vt_cli *cli, vt_op_ui *ui);
/* Print the rebuild steps ("rebuild steps:" or "rebuild: nothing to rebuild"). */
void vt_cli_rebuild_show(const vt_cli *cli, const vt_rebuild_plan *plan);

/* Render the result of a restore (cli/cli_restore.c): `what` names the snapshot for
 * "nothing to do: the files already match ...". */
void vt_cli_restore_render(const vt_cli *cli, const char *what, const vt_op_restore_result *res);

/* The commands (cli/cmd_<name>.c) and their tables. */
extern const vt_command vt_command_apply, vt_command_plan, vt_command_status, vt_command_confirm,
    vt_command_log, vt_command_show, vt_command_rollback, vt_command_export, vt_command_import,
    vt_command_devices, vt_command_check, vt_command_boot, vt_command_completion;
int vt_cmd_apply(vt_cli *cli, int argc, char **argv);
int vt_cmd_plan(vt_cli *cli, int argc, char **argv);
int vt_cmd_status(vt_cli *cli, int argc, char **argv);
int vt_cmd_confirm(vt_cli *cli, int argc, char **argv);
int vt_cmd_log(vt_cli *cli, int argc, char **argv);
int vt_cmd_show(vt_cli *cli, int argc, char **argv);
int vt_cmd_rollback(vt_cli *cli, int argc, char **argv);
int vt_cmd_export(vt_cli *cli, int argc, char **argv);
int vt_cmd_import(vt_cli *cli, int argc, char **argv);
int vt_cmd_devices(vt_cli *cli, int argc, char **argv);
int vt_cmd_check(vt_cli *cli, int argc, char **argv);
int vt_cmd_boot(vt_cli *cli, int argc, char **argv);
int vt_cmd_completion(vt_cli *cli, int argc, char **argv);
