/* The JSON contract: one document per command run, its common keys, and the objects every
 * command shares (a change, a refusal, a transaction, a rebuild step, a trial). The schemas that
 * pin these shapes are docs/schemas/; docs/json.md explains them. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/plan.h"
#include "engine/trial.h"
#include "journal/diff.h"

/* One document per process: a command that fails after its document went out must not add a
 * second one, or a reader of stdout gets two. */
static bool emitted;

static const char *outcome_name(vt_outcome o)
{
        switch (o) {
        case VT_OUTCOME_UNCHANGED:
                return "unchanged";
        case VT_OUTCOME_CHANGED:
                return "changed";
        case VT_OUTCOME_ATTENTION:
                return "attention";
        case VT_OUTCOME_REFUSED:
                return "refused";
        case VT_OUTCOME_FAILED:
                return "failed";
        case VT_OUTCOME_USAGE:
                return "usage";
        }
        return "failed";
}

int vt_cli_exit(const vt_cli *cli, vt_outcome o)
{
        switch (o) {
        case VT_OUTCOME_UNCHANGED:
                return VT_EXIT_OK;
        case VT_OUTCOME_CHANGED:
        case VT_OUTCOME_ATTENTION:
                return cli->detailed_exitcode ? VT_EXIT_CHANGED : VT_EXIT_OK;
        case VT_OUTCOME_REFUSED:
                return cli->detailed_exitcode ? VT_EXIT_REFUSED : VT_EXIT_FAIL;
        case VT_OUTCOME_USAGE:
                return VT_EXIT_USAGE;
        case VT_OUTCOME_FAILED:
                break;
        }
        return VT_EXIT_FAIL;
}

json_object *vt_json_str(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

json_object *vt_json_lines(const char *text)
{
        json_object *a = json_object_new_array();

        for (const char *p = text ? text : ""; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);

                if (len)
                        json_object_array_add(a, json_object_new_string_len(p, (int)len));
                p += len + (nl ? 1 : 0);
        }
        return a;
}

/* A report part, shared with the document (the report keeps its reference). */
static void add_part(json_object *doc, const char *key, json_object *part)
{
        if (part)
                json_object_object_add(doc, key, json_object_get(part));
}

json_object *vt_cli_doc(const vt_cli *cli)
{
        json_object *doc = json_object_new_object();
        const vt_cli_report *rep = cli->report;

        json_object_object_add(doc, "schema_version", json_object_new_int(VT_JSON_SCHEMA_VERSION));
        json_object_object_add(doc, "command", vt_json_str(cli->command ? cli->command : "vfiotx"));
        json_object_object_add(doc, "ok", json_object_new_boolean(true));
        json_object_object_add(doc, "outcome", json_object_new_string("unchanged"));
        if (!rep)
                return doc;
        add_part(doc, "changes", rep->changes);
        add_part(doc, "diff", rep->diff);
        add_part(doc, "rebuild", rep->rebuild);
        add_part(doc, "refusals", rep->refusals);
        add_part(doc, "notes", rep->notes);
        add_part(doc, "warnings", rep->warnings);
        return doc;
}

int vt_cli_emit(const vt_cli *cli, json_object *doc, vt_outcome o)
{
        /* ok: the command did its whole job; a plan that would be refused still did. */
        bool ok = !json_object_object_get_ex(doc, "error", NULL);

        json_object_object_add(doc, "ok", json_object_new_boolean(ok));
        json_object_object_add(doc, "outcome", json_object_new_string(outcome_name(o)));
        if (!emitted) {
                /* No "\/": paths are read by people too. */
                printf("%s\n", json_object_to_json_string_ext(
                                   doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                fflush(stdout);
                emitted = true;
        }
        json_object_put(doc);
        return vt_cli_exit(cli, o);
}

json_object *vt_json_refusals(const vt_plan *plan)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < plan->n_refusal_items; i++) {
                const vt_plan_refusal *f = &plan->refusal_items[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "code", vt_json_str(f->code));
                json_object_object_add(o, "device", vt_json_str(f->device));
                json_object_object_add(o, "message", vt_json_str(f->message));
                json_object_object_add(o, "advice", vt_json_str(f->advice));
                json_object_array_add(a, o);
        }
        return a;
}

json_object *vt_json_rebuild(const vt_rebuild_plan *plan)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < plan->n; i++) {
                const vt_rebuild_step *s = &plan->steps[i];
                json_object *o = json_object_new_object(), *argv = json_object_new_array();

                for (char **p = s->argv; p && *p; p++)
                        json_object_array_add(argv, json_object_new_string(*p));
                json_object_object_add(o, "command", argv);
                json_object_object_add(o, "description", vt_json_str(s->description));
                json_object_object_add(o, "kernel", vt_json_str(s->kver));
                json_object_object_add(o, "artifact", vt_json_str(s->artifact));
                json_object_array_add(a, o);
        }
        return a;
}

json_object *vt_json_trial(const vt_boot_state *b)
{
        json_object *o;

        if (b->trial == VT_TRIAL_NONE)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "state", json_object_new_string(vt_trial_name(b->trial)));
        json_object_object_add(o, "transaction", json_object_new_int64(b->trial_txn));
        json_object_object_add(o, "tries", json_object_new_int64(b->trial_tries));
        json_object_object_add(o, "reason",
                               vt_json_str(b->trial_reason[0] ? b->trial_reason : NULL));
        return o;
}

json_object *vt_json_txn(const vt_txn_info *t)
{
        json_object *o;

        if (!t || t->id == 0)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(t->id));
        json_object_object_add(o, "kind", vt_json_str(t->kind));
        json_object_object_add(o, "outcome", vt_json_str(t->outcome));
        json_object_object_add(o, "summary", vt_json_str(t->summary));
        json_object_object_add(o, "time", t->time ? json_object_new_int64(t->time) : NULL);
        return o;
}

json_object *vt_json_changes(const vt_snapshot *from, const vt_snapshot *to)
{
        _cleanup_(vt_diff_changes_free) vt_diff_changes list = {0};
        json_object *a;

        if (vt_diff_changes_list(from, to, &list) < 0)
                return NULL;
        a = json_object_new_array();
        for (size_t i = 0; i < list.n; i++) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "path", json_object_new_string(list.items[i].path));
                json_object_object_add(o, "action", json_object_new_string(list.items[i].action));
                json_object_object_add(o, "diff",
                                       json_object_new_string(vt_buf_cstr(&list.items[i].diff)));
                json_object_array_add(a, o);
        }
        return a;
}

/* The error document: the message, the hint, and the file and line where the error has one. */
static void emit_error(const vt_cli *cli, const char *code, int err, const char *message,
                       const char *hint, vt_outcome o)
{
        json_object *doc = vt_cli_doc(cli), *e = json_object_new_object();
        unsigned line = 0;
        const char *file = o == VT_OUTCOME_USAGE ? NULL : vt_error_file(&line);

        json_object_object_add(e, "code", json_object_new_string(code));
        json_object_object_add(e, "errno", err ? json_object_new_int(err) : NULL);
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(e, "hint", vt_json_str(hint));
        json_object_object_add(e, "file", vt_json_str(file));
        json_object_object_add(e, "line", file ? json_object_new_int64(line) : NULL);
        json_object_object_add(doc, "error", e);
        vt_cli_emit(cli, doc, o);
}

void vt_cli_json_fail(const vt_cli *cli, int r, const char *message, const char *hint)
{
        int err = r < 0 ? -r : r;
        const char *name = strerrorname_np(err);
        bool refused = cli->report && cli->report->refusals;

        emit_error(cli,
                   refused ? "refused"
                   : name  ? name
                           : "EIO",
                   err, message, hint, refused ? VT_OUTCOME_REFUSED : VT_OUTCOME_FAILED);
}

void vt_cli_json_usage(const vt_cli *cli, const char *message, const char *hint)
{
        emit_error(cli, "usage", 0, message, hint, VT_OUTCOME_USAGE);
}

void vt_cli_report_free(vt_cli_report *rep)
{
        json_object_put(rep->changes);
        json_object_put(rep->diff);
        json_object_put(rep->rebuild);
        json_object_put(rep->notes);
        json_object_put(rep->warnings);
        json_object_put(rep->refusals);
        *rep = (vt_cli_report){0};
}
