/* The CLI side of the engine operations: the host options they work on, and the callbacks that
 * print what they report while they run (the diff, the rebuild steps and their progress, the
 * notes) and ask the question on the terminal. */
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

static void notes(void *userdata, const char *text)
{
        vt_cli_notes(userdata, text);
}

static void warning(void *userdata, const char *text)
{
        vt_cli_warn(userdata, "%s", text);
}

static void show_diff(void *userdata, const char *diff)
{
        if (!quiet(userdata))
                printf("%s", diff);
}

static void show_rebuild(void *userdata, const vt_rebuild_plan *plan)
{
        vt_cli_rebuild_show(userdata, plan);
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
