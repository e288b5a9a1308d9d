#include "engine/boot_state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"

static const char *const trial_names[] = {"none", "armed", "trying", "marked-bad", "rolled-back"};

const char *vt_trial_name(vt_trial t)
{
        return (unsigned)t < ARRAY_SIZE(trial_names) ? trial_names[t] : "none";
}

static json_object *parse_data(const char *text)
{
        json_object *o = text[0] ? json_tokener_parse(text) : NULL;

        if (o && !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = NULL;
        }
        return o;
}

int vt_boot_state_decode(const vt_state *st, vt_boot_state *out)
{
        json_object *o = parse_data(st->data), *intent = parse_data(st->intent_data), *v;

        *out = (vt_boot_state){0};
        if (o && json_object_object_get_ex(o, "pending_rebuild", &v))
                out->pending_rebuild = json_object_get_boolean(v);
        if (o && json_object_object_get_ex(o, "trial", &v)) {
                json_object *t;

                if (json_object_object_get_ex(v, "state", &t))
                        for (size_t i = 0; i < ARRAY_SIZE(trial_names); i++)
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
        if (intent && json_object_object_get_ex(intent, "rebuild", &v))
                out->intent_rebuild = json_object_get_boolean(v);
        json_object_put(o);
        json_object_put(intent);
        return 0;
}

static int put_text(json_object *o, char *buf, size_t size)
{
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

        if (!text)
                return -ENOMEM;
        if (strlen(text) >= size)
                return vt_error_set(E2BIG, "internal: the engine's state data is too long");
        snprintf(buf, size, "%s", text);
        return 0;
}

int vt_boot_state_encode(const vt_boot_state *b, vt_state *st)
{
        json_object *o = json_object_new_object(), *intent = json_object_new_object();
        int r = -ENOMEM;

        if (!o || !intent)
                goto out;
        /* The members in the order the state file has always had them. */
        json_object_object_add(o, "pending_rebuild", json_object_new_boolean(b->pending_rebuild));
        if (b->trial != VT_TRIAL_NONE) {
                json_object *t = json_object_new_object();

                json_object_object_add(o, "trial", t);
                json_object_object_add(t, "state", json_object_new_string(vt_trial_name(b->trial)));
                json_object_object_add(t, "txn", json_object_new_int64(b->trial_txn));
                json_object_object_add(t, "tries", json_object_new_int64(b->trial_tries));
                if (b->trial_reason[0])
                        json_object_object_add(t, "reason",
                                               json_object_new_string(b->trial_reason));
        }
        json_object_object_add(intent, "rebuild", json_object_new_boolean(b->intent_rebuild));
        r = put_text(o, st->data, sizeof(st->data));
        if (r >= 0)
                r = put_text(intent, st->intent_data, sizeof(st->intent_data));
out:
        json_object_put(o);
        json_object_put(intent);
        return r;
}

int vt_boot_state_read(const vt_root *root, vt_state *st, vt_boot_state *out)
{
        int r = vt_state_read(root, st);

        if (r < 0) {
                *out = (vt_boot_state){0};
                return r;
        }
        return vt_boot_state_decode(st, out);
}

int vt_boot_state_write(const vt_root *root, vt_state *st, const vt_boot_state *b)
{
        int r = vt_boot_state_encode(b, st);

        return r < 0 ? r : vt_state_write(root, st);
}
