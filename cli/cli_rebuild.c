/* The CLI side of the engine operations: the host options they work on, and the callbacks that
 * print what they report while they run (the diff, the rebuild steps and their progress, the
 * notes) and ask the question on the terminal. */
#include <json-c/json.h>
#include <stdio.h>

#include "cli/cli.h"
#include "common/macro.h"

static bool quiet(const vt_cli *cli)
{
        return cli->verbosity < 0 || cli->json;
}

static void progress(void *userdata, size_t step, size_t n, const char *cmd, const char *line,
                     bool done, int r, long elapsed_ms)
{
        const vt_cli *cli = userdata;

        /* A failed step's error, with its output, is the command's error message. */
        (void)r;
        if (quiet(cli))
                return;
        if (line) {
                if (cli->verbosity > 0)
                        printf("      %s\n", line);
                return;
        }
        if (!done)
                printf("[%zu/%zu] %s ...\n", step, n, cmd);
        else
                printf("[%zu/%zu] %s (%.1f s)\n", step, n, cmd, (double)elapsed_ms / 1000.0);
        fflush(stdout);
}

static void undoing(void *userdata)
{
        const vt_cli *cli = userdata;

        if (!quiet(cli))
                printf("putting the files back and rebuilding for them:\n");
}

/* Keep `text`'s lines in the report's list *list (--json). */
static void report_lines(const vt_cli *cli, json_object **list, const char *text)
{
        json_object *lines;

        if (!cli->json || !cli->report)
                return;
        if (!*list)
                *list = json_object_new_array();
        lines = vt_json_lines(text);
        for (size_t i = 0; i < json_object_array_length(lines); i++)
                json_object_array_add(*list, json_object_get(json_object_array_get_idx(lines, i)));
        json_object_put(lines);
}

/* Replace a report part (--json). */
static void report_set(const vt_cli *cli, json_object **part, json_object *value)
{
        if (!cli->json || !cli->report) {
                json_object_put(value);
                return;
        }
        json_object_put(*part);
        *part = value;
}

static void notes(void *userdata, const char *text)
{
        const vt_cli *cli = userdata;

        vt_cli_notes(cli, text);
        if (cli->report)
                report_lines(cli, &cli->report->notes, text);
}

static void warning(void *userdata, const char *text)
{
        const vt_cli *cli = userdata;

        vt_cli_warn(cli, "%s", text);
        if (cli->report)
                report_lines(cli, &cli->report->warnings, text);
}

static void show_files(void *userdata, const vt_snapshot *disk, const vt_snapshot *target)
{
        const vt_cli *cli = userdata;
        _cleanup_buf_ vt_buf diff = VT_BUF_INIT;
        json_object *changes;

        if (!cli->json || !cli->report)
                return;
        changes = vt_json_changes(disk, target);
        if (!changes)
                return;
        for (size_t i = 0; i < json_object_array_length(changes); i++)
                vt_buf_puts(&diff, json_object_get_string(json_object_object_get(
                                       json_object_array_get_idx(changes, i), "diff")));
        report_set(cli, &cli->report->changes, changes);
        report_set(cli, &cli->report->diff, json_object_new_string(vt_buf_cstr(&diff)));
}

static void show_diff(void *userdata, const char *diff)
{
        if (!quiet(userdata))
                printf("%s", diff);
}

static void show_rebuild(void *userdata, const vt_rebuild_plan *plan)
{
        const vt_cli *cli = userdata;

        vt_cli_rebuild_show(cli, plan);
        if (cli->report)
                report_set(cli, &cli->report->rebuild, vt_json_rebuild(plan));
}

static bool confirm(void *userdata, const char *question)
{
        return vt_cli_confirm(userdata, question);
}

void vt_cli_env(const vt_cli *cli, vt_op_env *env)
{
        *env = (vt_op_env){
            .root = cli->root,
            .sysfs = cli->sysfs,
            .proc = cli->proc,
            .cmdline = cli->cmdline,
            .no_chroot = cli->no_chroot,
            .rebuild_timeout_s = cli->rebuild_timeout_s,
        };
}

void vt_cli_ui(const vt_cli *cli, vt_op_ui *ui)
{
        *ui = (vt_op_ui){
            .notes = notes,
            .warning = warning,
            .show_diff = show_diff,
            .show_files = show_files,
            .show_rebuild = show_rebuild,
            .progress = progress,
            .undoing = undoing,
            .confirm = confirm,
            .userdata = (void *)cli,
        };
}

void vt_cli_rebuild_show(const vt_cli *cli, const vt_rebuild_plan *plan)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;

        if (quiet(cli))
                return;
        if (plan->n == 0) {
                printf("rebuild: nothing to rebuild\n");
        } else if (vt_rebuild_plan_describe(plan, &text) >= 0) {
                printf("rebuild steps:\n%s", vt_buf_cstr(&text));
        }
        if (plan->notes.len)
                printf("%s", plan->notes.ptr);
}
