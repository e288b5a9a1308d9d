/* The command-line layer: global options, the command table and the only code that prints.
 *
 * Each command is `int vt_cmd_<name>(vt_cli *cli, int argc, char **argv)`: argv[0] is the
 * command's name, the rest its own arguments, parsed with vt_opts_next() over the command's
 * table `vt_command_<name>` (options.h), defined next to it in cli/cmd_<name>.c. It returns the
 * process exit code: VT_EXIT_OK (done, or nothing to do), VT_EXIT_FAIL (failed or refused) or
 * VT_EXIT_USAGE (bad command line); with --detailed-exitcode, vt_cli_exit() tells the outcomes
 * apart (VT_EXIT_REFUSED, VT_EXIT_CHANGED).
 *
 * The JSON contract (docs/json.md, docs/schemas/): with --json every command writes exactly one
 * JSON document on stdout, made with vt_cli_doc() and written with vt_cli_emit(); an error is
 * a document too (vt_cli_fail(), vt_cli_usage_error()). While an operation runs, the ui
 * callbacks gather what it reports (the changes, the rebuild steps, the notes) into
 * cli->report, and vt_cli_doc() puts them into the document. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cli/options.h"
#include "engine/engine.h"
#include "engine/op.h"
#include "engine/op_restore.h"
#include "engine/rebuild.h"

enum {
        VT_EXIT_OK = 0,
        VT_EXIT_FAIL = 1,
        VT_EXIT_USAGE = 2,
        /* --detailed-exitcode only */
        VT_EXIT_REFUSED = 3, /* a safety check refused the plan */
        VT_EXIT_CHANGED = 4, /* changed, would change (plan), or needs attention (status) */
};

/* What a command run came to; vt_cli_exit() maps it to the exit code. */
typedef enum vt_outcome {
        VT_OUTCOME_UNCHANGED, /* nothing to do, or a command that only reads */
        VT_OUTCOME_CHANGED,   /* changed the host (plan: would change it) */
        VT_OUTCOME_ATTENTION, /* status: drift, a pending rebuild, an interrupted transaction,
                               * a trial or a fallback */
        VT_OUTCOME_REFUSED,   /* a safety check refused; nothing changed */
        VT_OUTCOME_FAILED,
        VT_OUTCOME_USAGE,
} vt_outcome;

struct json_object;

/* What the running operation reported, gathered for the JSON document (NULL: not reported). */
typedef struct vt_cli_report {
        struct json_object *changes;  /* [{path, action, diff}] */
        struct json_object *diff;     /* the whole unified diff */
        struct json_object *rebuild;  /* [{command, description, kernel, artifact}] */
        struct json_object *notes;    /* [line] */
        struct json_object *warnings; /* [line] */
        struct json_object *refusals; /* [{code, device, message, advice}]: set by a refusal */
} vt_cli_report;

typedef struct vt_cli {
        const char *prog;  /* "vfiotx" */
        const char *root;  /* --root: the host's / (default "/") */
        const char *sysfs; /* --sysfs: a /sys tree (default "/sys"); PCI devices under bus/pci */
        const char *proc;  /* --proc: a /proc tree (default "/proc"): cpuinfo, cmdline, mounts */
        bool json;         /* --json: data on stdout as JSON */
        int verbosity;     /* -q: -1, default 0, -v: 1 and more */
        bool no_chroot;    /* --no-chroot: run rebuild tools from PATH, not chrooted in root */
        char *cmdline;     /* the whole command line, recorded in journal entries */
        int rebuild_timeout_s;  /* --rebuild-timeout: time limit of one rebuild step */
        bool detailed_exitcode; /* --detailed-exitcode */
        const char *command;    /* the command running ("apply"), NULL before one is found */
        vt_cli_report *report;  /* filled while the command runs (--json) */
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
        VT_GLOBAL_DETAILED_EXITCODE,
};

/* Carry out global option `id` with its value: -1 to go on, else the exit code (--version
 * printed: VT_EXIT_OK; a bad value: a usage error). */
int vt_cli_global_option(vt_cli *cli, int id, const char *value);

/* Print the current error (vt_error_message() and hint) for a failure r, to stderr, and return
 * VT_EXIT_FAIL. When no message was set, strerror(-r) is printed with `what`. With --json, the
 * error document goes to stdout as well; with cli->report->refusals set, the failure is a
 * refusal (VT_EXIT_REFUSED with --detailed-exitcode). */
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
/* Write a file outside the root (export's archive, status's textfile) next to its final name,
 * then rename, so that a reader never sees a torn file; "-" writes stdout. */
int vt_cli_write_output(const char *path, const void *data, size_t len, mode_t mode);
/* A transaction time as "2026-11-27 05:07:18" (local time). */
void vt_cli_time(long long epoch, char out[32]);

/* The CLI side of the engine operations (cli/cli_rebuild.c): the host options as a
 * vt_op_env, and the callback table that prints what an operation reports while it runs: the
 * diff, the rebuild steps, their progress as "[2/3] update-initramfs -u -k 6.1.0-26-amd64
 * (4.2 s)" (tool output with -v; on a terminal, a line redrawn in place with the seconds elapsed
 * and the tool's last line, cli/term.h; a failed step's whole output on stderr), the notes, and
 * the question on the terminal. */
void vt_cli_env(const vt_cli *cli, vt_op_env *env);
void vt_cli_ui(const vt_cli *cli, vt_op_ui *ui);
/* Print the rebuild steps ("rebuild steps:" or "rebuild: nothing to rebuild"). */
void vt_cli_rebuild_show(const vt_cli *cli, const vt_rebuild_plan *plan);

/* Render the result of a restore (cli/cli_restore.c): `what` names the snapshot for
 * "nothing to do: the files already match ...". */
void vt_cli_restore_render(const vt_cli *cli, const char *what, const vt_op_restore_result *res);
/* The end of a restore: its outcome's exit code, and with --json its document (`doc`, or a new
 * one): changed, the new transaction, the one `restored` (0: not known), `rescued` (the plain
 * copy was restored), rebuild_pending, reboot_required. */
int vt_cli_restore_done(const vt_cli *cli, struct json_object *doc, const vt_op_restore_result *res,
                        bool rescued, long restored);

/* The exit code of an outcome: 0/1/2 for people; with --detailed-exitcode 0 unchanged, 1 failed,
 * 2 usage, 3 refused, 4 changed or needs attention. */
int vt_cli_exit(const vt_cli *cli, vt_outcome o);

/* The JSON contract (cli/cli_json.c). vt_cli_doc(): a new document with the common keys
 * (schema_version, command, ok, outcome) and what cli->report gathered. vt_cli_emit(): set the
 * outcome, write the document on stdout (once per process: a second one is dropped), release
 * it and return vt_cli_exit(o). The builders return new objects (json-c's NULL is JSON null). */
#define VT_JSON_SCHEMA_VERSION 1
/* The error documents (vt_cli_fail() and vt_cli_usage_error() call them with --json). */
void vt_cli_json_fail(const vt_cli *cli, int r, const char *message, const char *hint);
void vt_cli_json_usage(const vt_cli *cli, const char *message, const char *hint);
void vt_cli_report_free(vt_cli_report *rep);
struct json_object *vt_cli_doc(const vt_cli *cli);
int vt_cli_emit(const vt_cli *cli, struct json_object *doc, vt_outcome o);
struct json_object *vt_json_str(const char *s);
/* Lines of text (no empty ones) as an array of strings. */
struct json_object *vt_json_lines(const char *text);
struct json_object *vt_json_refusals(const struct vt_plan *plan);
struct json_object *vt_json_rebuild(const vt_rebuild_plan *plan);
/* The trial of the boot state, or JSON null when there is none. */
struct json_object *vt_json_trial(const vt_boot_state *b);
/* {id, kind, outcome, summary, time}, or JSON null for id 0. */
struct json_object *vt_json_txn(const vt_txn_info *t);
/* The changes from `from` to `to`: [{path, action, diff}]; NULL when out of memory. */
struct json_object *vt_json_changes(const vt_snapshot *from, const vt_snapshot *to);

/* The commands (cli/cmd_<name>.c) and their tables. */
extern const vt_command vt_command_apply, vt_command_plan, vt_command_status, vt_command_confirm,
    vt_command_log, vt_command_show, vt_command_rollback, vt_command_export, vt_command_import,
    vt_command_devices, vt_command_check, vt_command_boot, vt_command_vm_config, vt_command_try,
    vt_command_completion;
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
int vt_cmd_vm_config(vt_cli *cli, int argc, char **argv);
int vt_cmd_try(vt_cli *cli, int argc, char **argv);
int vt_cmd_completion(vt_cli *cli, int argc, char **argv);
