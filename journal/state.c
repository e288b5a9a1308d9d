#include "journal/state.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

const char *vt_phase_name(vt_phase p)
{
        return p == VT_PHASE_APPLYING ? "applying" : "idle";
}

/* The members of `o` not named in `own` (NULL-terminated), as a JSON object's text into `buf`
 * ("" when there are none). */
static int keep_others(json_object *o, const char *const *own, char *buf, size_t size,
                       const char *where)
{
        json_object *kept = json_object_new_object();
        const char *text;
        int r = 0;

        if (!kept)
                return -ENOMEM;
        json_object_object_foreach(o, key, val)
        {
                bool mine = false;

                for (size_t i = 0; own[i] && !mine; i++)
                        mine = strcmp(key, own[i]) == 0;
                if (!mine)
                        json_object_object_add(kept, key, json_object_get(val));
        }
        buf[0] = '\0';
        if (json_object_object_length(kept) > 0) {
                text = json_object_to_json_string_ext(kept, JSON_C_TO_STRING_PLAIN);
                if (strlen(text) >= size)
                        r = vt_error_set(E2BIG, "state file: too much data in %s", where);
                else
                        snprintf(buf, size, "%s", text);
        }
        json_object_put(kept);
        return r;
}

/* Add the members of the JSON object text `data` to `o`, in their order. */
static int add_others(json_object *o, const char *data)
{
        json_object *d;

        if (!data[0])
                return 0;
        d = json_tokener_parse(data);
        if (!d || !json_object_is_type(d, json_type_object)) {
                json_object_put(d);
                return vt_error_set(EINVAL, "internal: state data is not a JSON object");
        }
        json_object_object_foreach(d, key, val)
            json_object_object_add(o, key, json_object_get(val));
        json_object_put(d);
        return 0;
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

/* A transaction number as the state file must hold it: an integer from 0 (1 for an intent) up
 * to VT_TXN_MAX. Anything else means the file is damaged: taken as it is, a huge number
 * overflows the next one and a negative one numbers the log backwards. */
static int get_txn(json_object *o, const char *key, long min, long *out)
{
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (n < min || n > VT_TXN_MAX)
                return vt_error_hint(
                    vt_error_set(EBADMSG,
                                 "state file %s is damaged: \"%s\" is %s, not a transaction "
                                 "number (%ld to %ld)",
                                 VT_STATE_PATH, key, json_object_to_json_string(v), min,
                                 (long)VT_TXN_MAX),
                    "'vfiotx rollback' restores the last good snapshot from its plain copy and "
                    "starts the state anew");
        *out = (long)n;
        return 0;
}

static const char *const own_members[] = {"version", "phase",  "txn", "head",
                                          "good",    "intent", NULL};
static const char *const own_intent_members[] = {"txn", "kind", "before", "target", NULL};

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
        r = get_txn(o, "txn", 0, &out->txn);
        if (r >= 0)
                r = keep_others(o, own_members, out->data, sizeof(out->data), "the state");
        if (r >= 0)
                r = get_oid(o, "head", &out->head, NULL);
        if (r >= 0)
                r = get_oid(o, "good", &out->good, &out->has_good);
        if (r >= 0 && out->phase == VT_PHASE_APPLYING) {
                json_object *intent;

                if (!json_object_object_get_ex(o, "intent", &intent)) {
                        r = vt_error_set(EBADMSG, "state file: applying without an intent");
                } else {
                        r = get_txn(intent, "txn", 1, &out->intent_txn);
                        if (r >= 0 && json_object_object_get_ex(intent, "kind", &v))
                                snprintf(out->intent_kind, sizeof(out->intent_kind), "%s",
                                         json_object_get_string(v));
                        if (r >= 0)
                                r = keep_others(intent, own_intent_members, out->intent_data,
                                                sizeof(out->intent_data), "the intent");
                        if (r >= 0)
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
        r = add_others(o, st->data);
        if (r >= 0 && st->phase == VT_PHASE_APPLYING) {
                json_object *intent = json_object_new_object();

                json_object_object_add(o, "intent", intent);
                json_object_object_add(intent, "txn", json_object_new_int64(st->intent_txn));
                json_object_object_add(intent, "kind", json_object_new_string(st->intent_kind));
                r = add_others(intent, st->intent_data);
                json_object_object_add(intent, "before",
                                       json_object_new_string(VT_OID_TOSTR(&st->before)));
                json_object_object_add(intent, "target",
                                       json_object_new_string(VT_OID_TOSTR(&st->target)));
        }
        if (r < 0) {
                json_object_put(o);
                return r;
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
