#include "journal/state.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "journal/atomic_file.h"

const char *vt_phase_name(vt_phase p)
{
        return p == VT_PHASE_APPLYING ? "applying" : "idle";
}

static const char *const trial_names[] = {"none", "armed", "trying", "marked-bad", "rolled-back"};

const char *vt_trial_name(vt_trial t)
{
        return (unsigned)t < sizeof(trial_names) / sizeof(trial_names[0]) ? trial_names[t] : "none";
}

static int get_oid(json_object *o, const char *key, vt_oid *out, bool *found)
{
        json_object *v;

        if (found)
                *found = false;
        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        if (vt_oid_fromstr(out, json_object_get_string(v)) < 0)
                return vt_error_set(EBADMSG, "state file: %s is not an object id", key);
        if (found)
                *found = true;
        return 0;
}

int vt_state_read(const vt_root *root, vt_state *out)
{
        _cleanup_buf_ vt_buf b = VT_BUF_INIT;
        json_tokener *tok;
        json_object *o, *v;
        int r;

        *out = (vt_state){0};
        r = vt_root_read(root, VT_STATE_PATH, &b);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, vt_buf_cstr(&b), (int)b.len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return vt_error_hint(
                    vt_error_set(EBADMSG, "state file %s is damaged", VT_STATE_PATH),
                    "'vfiotx rollback' restores the last good snapshot from its "
                    "plain copy and starts the state anew");
        }
        out->exists = true;
        if (json_object_object_get_ex(o, "phase", &v))
                out->phase = strcmp(json_object_get_string(v), "applying") == 0 ? VT_PHASE_APPLYING
                                                                                : VT_PHASE_IDLE;
        if (json_object_object_get_ex(o, "txn", &v))
                out->txn = (long)json_object_get_int64(v);
        if (json_object_object_get_ex(o, "pending_rebuild", &v))
                out->pending_rebuild = json_object_get_boolean(v);
        if (json_object_object_get_ex(o, "trial", &v)) {
                json_object *t;

                if (json_object_object_get_ex(v, "state", &t))
                        for (size_t i = 0; i < sizeof(trial_names) / sizeof(trial_names[0]); i++)
                                if (strcmp(json_object_get_string(t), trial_names[i]) == 0)
                                        out->trial = (vt_trial)i;
                if (json_object_object_get_ex(v, "txn", &t))
                        out->trial_txn = (long)json_object_get_int64(t);
                if (json_object_object_get_ex(v, "tries", &t))
                        out->trial_tries = (unsigned)json_object_get_int64(t);
                if (json_object_object_get_ex(v, "reason", &t))
                        snprintf(out->trial_reason, sizeof(out->trial_reason), "%s",
                                 json_object_get_string(t));
        }
        r = get_oid(o, "head", &out->head, NULL);
        if (r >= 0)
                r = get_oid(o, "good", &out->good, &out->has_good);
        if (r >= 0 && out->phase == VT_PHASE_APPLYING) {
                json_object *intent;

                if (!json_object_object_get_ex(o, "intent", &intent)) {
                        r = vt_error_set(EBADMSG, "state file: applying without an intent");
                } else {
                        if (json_object_object_get_ex(intent, "txn", &v))
                                out->intent_txn = (long)json_object_get_int64(v);
                        if (json_object_object_get_ex(intent, "rebuild", &v))
                                out->intent_rebuild = json_object_get_boolean(v);
                        if (json_object_object_get_ex(intent, "kind", &v))
                                snprintf(out->intent_kind, sizeof(out->intent_kind), "%s",
                                         json_object_get_string(v));
                        r = get_oid(intent, "before", &out->before, NULL);
                        if (r >= 0)
                                r = get_oid(intent, "target", &out->target, NULL);
                }
        }
        json_object_put(o);
        return r;
}

int vt_state_write(const vt_root *root, const vt_state *st)
{
        json_object *o = json_object_new_object();
        const char *text;
        int r;

        json_object_object_add(o, "version", json_object_new_int(1));
        json_object_object_add(o, "phase", json_object_new_string(vt_phase_name(st->phase)));
        json_object_object_add(o, "txn", json_object_new_int64(st->txn));
        json_object_object_add(o, "head", json_object_new_string(VT_OID_TOSTR(&st->head)));
        if (st->has_good)
                json_object_object_add(o, "good", json_object_new_string(VT_OID_TOSTR(&st->good)));
        json_object_object_add(o, "pending_rebuild", json_object_new_boolean(st->pending_rebuild));
        if (st->trial != VT_TRIAL_NONE) {
                json_object *t = json_object_new_object();

                json_object_object_add(o, "trial", t);
                json_object_object_add(t, "state",
                                       json_object_new_string(vt_trial_name(st->trial)));
                json_object_object_add(t, "txn", json_object_new_int64(st->trial_txn));
                json_object_object_add(t, "tries", json_object_new_int64(st->trial_tries));
                if (st->trial_reason[0])
                        json_object_object_add(t, "reason",
                                               json_object_new_string(st->trial_reason));
        }
        if (st->phase == VT_PHASE_APPLYING) {
                json_object *intent = json_object_new_object();

                json_object_object_add(o, "intent", intent);
                json_object_object_add(intent, "txn", json_object_new_int64(st->intent_txn));
                json_object_object_add(intent, "kind", json_object_new_string(st->intent_kind));
                json_object_object_add(intent, "rebuild",
                                       json_object_new_boolean(st->intent_rebuild));
                json_object_object_add(intent, "before",
                                       json_object_new_string(VT_OID_TOSTR(&st->before)));
                json_object_object_add(intent, "target",
                                       json_object_new_string(VT_OID_TOSTR(&st->target)));
        }
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        r = vt_failpoint("state: replace state file");
        if (r >= 0) {
                vt_file_meta meta = {0600, 0, 0, NULL, 0};
                _cleanup_buf_ vt_buf b = VT_BUF_INIT;

                r = vt_buf_puts(&b, text);
                if (r >= 0)
                        r = vt_buf_putc(&b, '\n');
                if (r >= 0)
                        r = vt_atomic_write(root, VT_STATE_PATH, b.ptr, b.len, &meta);
        }
        json_object_put(o);
        return r;
}
