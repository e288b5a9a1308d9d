#include "engine/try_state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/macro.h"
#include "fs/atomic_file.h"

static const char *const phase_names[] = {
    [VT_TRY_MOVING] = "moving",
    [VT_TRY_HELD] = "held",
    [VT_TRY_REVERTING] = "reverting",
};

const char *vt_try_phase_name(vt_try_phase p)
{
        return (size_t)p < ARRAY_SIZE(phase_names) ? phase_names[p] : "unknown";
}

void vt_try_state_free(vt_try_state *st)
{
        free(st->devices);
        *st = (vt_try_state){0};
}

static const char *str_of(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool int_of(json_object *o, const char *key, int64_t *out)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *out = json_object_get_int64(v);
        return true;
}

static int parse(const char *where, const char *text, vt_try_state *st)
{
        json_object *doc = json_tokener_parse(text), *devs = NULL;
        const char *phase, *id;
        int64_t pid = 0, txn = 0;
        int r = 0;

        *st = (vt_try_state){0};
        if (!doc || !json_object_is_type(doc, json_type_object) || !(id = str_of(doc, "id")) ||
            !(phase = str_of(doc, "phase")) || !int_of(doc, "started", &st->started) ||
            !int_of(doc, "deadline", &st->deadline) ||
            !json_object_object_get_ex(doc, "devices", &devs) ||
            !json_object_is_type(devs, json_type_array)) {
                r = vt_error_set(EBADMSG, "%s is not a try's state", where);
                goto out;
        }
        snprintf(st->id, sizeof(st->id), "%s", id);
        for (size_t i = 0; i <= ARRAY_SIZE(phase_names); i++) {
                if (i == ARRAY_SIZE(phase_names)) {
                        r = vt_error_set(EBADMSG, "%s: unknown phase '%s'", where, phase);
                        goto out;
                }
                if (strcmp(phase, phase_names[i]) == 0) {
                        st->phase = (vt_try_phase)i;
                        break;
                }
        }
        int_of(doc, "pid", &pid);
        int_of(doc, "transaction", &txn);
        st->pid = (long)pid;
        st->txn = (long)txn;
        snprintf(st->boot_id, sizeof(st->boot_id), "%s", str_of(doc, "boot_id") ?: "");
        snprintf(st->watcher, sizeof(st->watcher), "%s", str_of(doc, "watcher") ?: "");
        snprintf(st->reason, sizeof(st->reason), "%s", str_of(doc, "reason") ?: "");
        {
                json_object *f;

                st->forced =
                    json_object_object_get_ex(doc, "forced", &f) && json_object_get_boolean(f);
        }
        st->n = json_object_array_length(devs);
        st->devices = calloc(st->n ? st->n : 1, sizeof(*st->devices));
        if (!st->devices) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < st->n; i++) {
                json_object *d = json_object_array_get_idx(devs, i), *named;
                const char *bdf = str_of(d, "bdf"), *orig = str_of(d, "original");

                if (!bdf || strlen(bdf) != 12 || !orig) {
                        r = vt_error_set(EBADMSG, "%s: device %zu is not a device", where, i + 1);
                        goto out;
                }
                snprintf(st->devices[i].bdf, sizeof(st->devices[i].bdf), "%s", bdf);
                snprintf(st->devices[i].original, sizeof(st->devices[i].original), "%s", orig);
                st->devices[i].named =
                    json_object_object_get_ex(d, "named", &named) && json_object_get_boolean(named);
        }
out:
        json_object_put(doc);
        if (r < 0)
                vt_try_state_free(st);
        return r;
}

int vt_try_state_read(const vt_root *root, vt_try_state *out)
{
        _cleanup_buf_ vt_buf text = VT_BUF_INIT;
        int r;

        *out = (vt_try_state){0};
        r = vt_root_read(root, VT_TRY_STATE_PATH, &text);
        if (r == -ENOENT) {
                vt_error_clear();
                return -ENOENT;
        }
        if (r < 0)
                return r;
        return parse(VT_TRY_STATE_PATH, vt_buf_cstr(&text), out);
}

json_object *vt_try_devices_json(const vt_try_state *st)
{
        json_object *devs = json_object_new_array();

        for (size_t i = 0; devs && i < st->n; i++) {
                json_object *d = json_object_new_object();

                json_object_object_add(d, "bdf", json_object_new_string(st->devices[i].bdf));
                json_object_object_add(d, "original",
                                       json_object_new_string(st->devices[i].original));
                json_object_object_add(d, "named", json_object_new_boolean(st->devices[i].named));
                json_object_array_add(devs, d);
        }
        return devs;
}

int vt_try_state_write(const vt_root *root, const vt_try_state *st)
{
        json_object *doc = json_object_new_object(), *devs = vt_try_devices_json(st);
        const char *text;
        int r;

        if (!doc || !devs) {
                json_object_put(doc);
                json_object_put(devs);
                return -ENOMEM;
        }
        json_object_object_add(doc, "id", json_object_new_string(st->id));
        json_object_object_add(doc, "phase", json_object_new_string(vt_try_phase_name(st->phase)));
        json_object_object_add(doc, "started", json_object_new_int64(st->started));
        json_object_object_add(doc, "deadline", json_object_new_int64(st->deadline));
        json_object_object_add(doc, "boot_id", json_object_new_string(st->boot_id));
        json_object_object_add(doc, "pid", json_object_new_int64(st->pid));
        json_object_object_add(doc, "watcher", json_object_new_string(st->watcher));
        json_object_object_add(doc, "forced", json_object_new_boolean(st->forced));
        json_object_object_add(doc, "transaction", json_object_new_int64(st->txn));
        json_object_object_add(doc, "reason", json_object_new_string(st->reason));
        json_object_object_add(doc, "devices", devs);
        text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE);
        r = vt_failpoint("try-state-write");
        if (r < 0)
                r = vt_error_set(-r, "failpoint before writing %s", VT_TRY_STATE_PATH);
        if (r >= 0)
                r = vt_root_mkdir_p(root, "/var/lib/vfiotx");
        if (r >= 0)
                r = vt_atomic_write(root, VT_TRY_STATE_PATH, text, strlen(text), NULL);
        json_object_put(doc);
        return r;
}

int vt_try_state_remove(const vt_root *root)
{
        int r = vt_failpoint("try-state-remove");

        if (r < 0)
                return vt_error_set(-r, "failpoint before removing %s", VT_TRY_STATE_PATH);
        return vt_atomic_remove(root, VT_TRY_STATE_PATH);
}
