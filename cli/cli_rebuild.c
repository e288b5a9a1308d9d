/* The CLI side of the engine operations: the host options they work on, and the callbacks that
 * print what they report while they run (the diff, the rebuild steps and their progress, the
 * notes) and ask the question on the terminal. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "common/macro.h"

static bool quiet(const vt_cli *cli)
{
        return cli->verbosity < 0 || cli->json;
}

/* How often the live line may be redrawn for the tool's output (the ticks come once a second):
 * a tool printing thousands of lines must not turn into thousands of redraws. */
#define LIVE_REDRAW_MS 250
/* The most of a failed step's output shown with its failure: a screenful is read, megabytes are
 * not. The failed transaction's journal entry keeps all the runner captured (extra.rebuild). */
#define FAILED_OUTPUT_MAX (64u << 10)

/* The step a terminal shows in place, redrawn on each tick and (at most every LIVE_REDRAW_MS)
 * on each line of output. One terminal per process, so one state, and one step at a time. */
static struct {
        bool shown;      /* the live line is on the screen, without its newline */
        long started_ms; /* CLOCK_MONOTONIC at the step's start */
        long drawn_ms;   /* when it was last drawn */
        char last[1024]; /* the tool's last line with something on it */
} live;

static long mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void live_keep_line(const char *line)
{
        size_t n = strlen(line);

        if (strspn(line, " \t\r") == n)
                return; /* an empty line says less than the one before it */
        if (n >= sizeof(live.last)) {
                /* Cut at a character boundary: UTF-8 continuation bytes are 10xxxxxx. */
                n = sizeof(live.last) - 1;
                while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(live.last, line, n);
        live.last[n] = '\0';
}

static void live_draw(const vt_rebuild_progress *p, long now)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        char counter[48], elapsed[32];

        snprintf(counter, sizeof(counter), "[%zu/%zu]", p->step, p->n);
        snprintf(elapsed, sizeof(elapsed), "%ld s", (now - live.started_ms) / 1000);
        vt_term_progress_line(&text, counter, p->cmd, elapsed, live.last,
                              vt_term_width(STDOUT_FILENO));
        /* Back to the line's start, clear it, write it again: no newline until the step ends. */
        printf("\r\033[K%s", vt_buf_cstr(&text));
        fflush(stdout);
        live.shown = true;
        live.drawn_ms = now;
}

/* A failed step's output, whole (or its last FAILED_OUTPUT_MAX), on stderr before the error:
 * the error message carries only its last lines. */
static void show_failed_output(const vt_cli *cli, const vt_rebuild_progress *p)
{
        size_t skipped, len;
        const char *text;

        if (!p->output || !p->output_len)
                return;
        text = vt_term_tail(p->output, p->output_len, FAILED_OUTPUT_MAX, &skipped);
        len = p->output_len - (size_t)(text - p->output);
        fflush(stdout);
        fprintf(stderr, "%s: the output of %s:\n", cli->prog, p->cmd);
        if (skipped)
                fprintf(stderr, "      [the first %zu bytes are not shown]\n", skipped);
        while (len) {
                const char *nl = memchr(text, '\n', len);
                size_t n = nl ? (size_t)(nl - text) : len;

                fprintf(stderr, "      %.*s\n", (int)n, text);
                if (!nl)
                        break;
                len -= n + 1;
                text = nl + 1;
        }
        fflush(stderr);
}

static void progress(void *userdata, const vt_rebuild_progress *p)
{
        const vt_cli *cli = userdata;
        bool in_place = vt_cli_live_progress(cli), colour = vt_cli_colour(cli, stdout);
        long now = mono_ms();

        /* A failed step's error, with the end of its output, is the command's error message;
         * -q and --json show nothing more. */
        if (quiet(cli))
                return;
        switch (p->event) {
        case VT_REBUILD_START:
                if (in_place) {
                        live.last[0] = '\0';
                        live.started_ms = now;
                        live_draw(p, now);
                        return;
                }
                printf("[%zu/%zu] %s ...\n", p->step, p->n, p->cmd);
                break;
        case VT_REBUILD_LINE:
                if (in_place) {
                        live_keep_line(p->line);
                        if (now - live.drawn_ms >= LIVE_REDRAW_MS)
                                live_draw(p, now);
                        return;
                }
                if (cli->verbosity > 0)
                        printf("      %s\n", p->line);
                return;
        case VT_REBUILD_TICK:
                if (in_place)
                        live_draw(p, now);
                return;
        case VT_REBUILD_DONE:
                if (live.shown) {
                        printf("\r\033[K");
                        live.shown = false;
                }
                if (p->r < 0)
                        printf("%s[%zu/%zu]%s %s %sfailed%s (%.1f s)\n",
                               vt_style_on(colour, VT_STYLE_FAILED), p->step, p->n,
                               vt_style_end(colour), p->cmd, vt_style_on(colour, VT_STYLE_FAILED),
                               vt_style_end(colour), (double)p->elapsed_ms / 1000.0);
                else
                        printf("%s[%zu/%zu]%s %s (%.1f s)\n", vt_style_on(colour, VT_STYLE_OK),
                               p->step, p->n, vt_style_end(colour), p->cmd,
                               (double)p->elapsed_ms / 1000.0);
                /* With -v every line is on the screen already. */
                if (p->r < 0 && cli->verbosity == 0)
                        show_failed_output(cli, p);
                break;
        }
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
