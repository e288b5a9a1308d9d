/* engine/rebuild_run: the progress events of the steps (start, lines, ticks, done), the whole
 * output of a failed step, and the record. */
#include "../helpers.h"

#include <errno.h>

#include "backends/rebuild_plan.h"
#include "common/buf.h"
#include "common/error.h"
#include "engine/rebuild_run.h"
#include "fs/root.h"

/* What the callback saw: one letter per event (S start, L line, T tick, D done) and, per step,
 * the lines, the result and the output of a failure. */
struct seen {
        vt_buf events;
        vt_buf lines;
        int done_r[4];
        vt_buf failed_output;
        size_t failed_output_len;
        bool order_ok;
        size_t cur_step;
};

static void progress(void *userdata, const vt_rebuild_progress *p)
{
        struct seen *s = userdata;
        static const char letter[] = {
            [VT_REBUILD_START] = 'S',
            [VT_REBUILD_LINE] = 'L',
            [VT_REBUILD_TICK] = 'T',
            [VT_REBUILD_DONE] = 'D',
        };

        assert_non_null(p->cmd);
        assert_int_equal(p->n, 2);
        if (p->event == VT_REBUILD_START)
                s->cur_step = p->step;
        /* Every event of a step comes between its start and its end. */
        if (p->step != s->cur_step)
                s->order_ok = false;
        vt_buf_putc(&s->events, letter[p->event]);
        switch (p->event) {
        case VT_REBUILD_START:
                assert_null(p->line);
                break;
        case VT_REBUILD_LINE:
                assert_non_null(p->line);
                vt_buf_printf(&s->lines, "%zu:%s\n", p->step, p->line);
                break;
        case VT_REBUILD_TICK:
                assert_null(p->line);
                assert_true(p->elapsed_ms >= VT_REBUILD_TICK_MS);
                break;
        case VT_REBUILD_DONE:
                s->done_r[p->step] = p->r;
                if (p->r < 0) {
                        assert_non_null(p->output);
                        vt_buf_set(&s->failed_output, p->output, p->output_len);
                        s->failed_output_len = p->output_len;
                } else {
                        assert_null(p->output);
                        assert_int_equal(p->output_len, 0);
                }
                break;
        }
}

static void step_set(vt_rebuild_step *st, const char *script, const char *description)
{
        const char *argv[] = {"sh", "-c", script, NULL};

        st->argv = calloc(4, sizeof(char *));
        assert_non_null(st->argv);
        for (size_t i = 0; i < 3; i++)
                st->argv[i] = strdup(argv[i]);
        st->description = strdup(description);
}

static void run_plan(const char *first, const char *second, struct seen *s, vt_buf *record, int *r)
{
        char *dir = make_tmpdir();
        vt_root root = VT_ROOT_INIT;
        vt_rebuild_plan plan = {0};
        vt_rebuild_ctx ctx = {.root = &root, .timeout_ms = 20000, .progress = progress};

        assert_int_equal(vt_root_open(&root, dir), 0);
        plan.steps = calloc(2, sizeof(*plan.steps));
        assert_non_null(plan.steps);
        plan.n = 2;
        step_set(&plan.steps[0], first, "the first step");
        step_set(&plan.steps[1], second, "the second step");
        *s = (struct seen){.order_ok = true};
        ctx.userdata = s;
        *r = vt_rebuild_run(&ctx, &plan, record);
        vt_rebuild_plan_free(&plan);
        vt_root_close(&root);
        rm_rf(dir);
}

static void seen_free(struct seen *s)
{
        vt_buf_free(&s->events);
        vt_buf_free(&s->lines);
        vt_buf_free(&s->failed_output);
}

/* Two steps: start, the lines, a tick during the silent second of the second step, done. */
static void test_events(void **state)
{
        _cleanup_buf_ vt_buf record = VT_BUF_INIT;
        struct seen s;
        int r;

        (void)state;
        run_plan("echo one; echo two", "echo three; sleep 1.3; echo four", &s, &record, &r);
        assert_int_equal(r, 0);
        assert_true(s.order_ok);
        assert_string_equal(s.lines.ptr, "1:one\n1:two\n2:three\n2:four\n");
        /* The second step: its first line, then a tick while it is silent, then the last. */
        const char *second = strchr(s.events.ptr + 1, 'S');
        assert_non_null(second);
        assert_null(strchr(second + 1, 'S'));
        assert_non_null(strstr(second, "LT"));
        assert_int_equal(s.events.ptr[s.events.len - 1], 'D');
        assert_int_equal(s.done_r[1], 0);
        assert_int_equal(s.done_r[2], 0);
        assert_int_equal(s.failed_output_len, 0);
        assert_non_null(strstr(record.ptr, "sh -c 'echo one; echo two'"));
        seen_free(&s);
}

/* A failing step hands its whole output to the callback, however long; the error message
 * keeps only its end; the steps after it do not run. */
static void test_failed_output(void **state)
{
        _cleanup_buf_ vt_buf record = VT_BUF_INIT;
        struct seen s;
        int r;

        (void)state;
        run_plan("i=1; while [ $i -le 500 ]; do echo \"line $i of 500\"; i=$((i+1)); done; "
                 "echo 'E: it broke' >&2; exit 2",
                 "echo never", &s, &record, &r);
        assert_int_equal(r, -EPROTO);
        assert_true(s.order_ok);
        assert_int_equal(s.done_r[1], -EPROTO);
        assert_null(strchr(s.events.ptr + 1, 'S')); /* one step started */
        assert_int_equal(s.events.ptr[s.events.len - 1], 'D');
        assert_non_null(s.failed_output.ptr);
        assert_int_equal(strlen(s.failed_output.ptr), s.failed_output_len);
        assert_true(strncmp(s.failed_output.ptr, "line 1 of 500\n", 14) == 0);
        assert_non_null(strstr(s.failed_output.ptr, "line 500 of 500\nE: it broke\n"));
        /* The message names the step and carries the end of the output only. */
        assert_non_null(strstr(vt_error_message(), "rebuild step 1/2 (the first step)"));
        assert_non_null(strstr(vt_error_message(), "E: it broke"));
        assert_null(strstr(vt_error_message(), "line 1 of 500\n"));
        assert_null(strstr(s.lines.ptr, "2:never"));
        seen_free(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_events),
            cmocka_unit_test(test_failed_output),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
