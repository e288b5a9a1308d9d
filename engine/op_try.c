#include "engine/op_try.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/in_use.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "engine/driver_switch.h"
#include "engine/facts.h"
#include "engine/runner.h"
#include "engine/safety.h"
#include "engine/try_watcher.h"

#define VFIO      "vfio-pci"
#define STEP_MS   5000
#define MAX_TRY_S 86400
#define HISTORY   500

void vt_op_try_result_free(vt_op_try_result *res)
{
        for (size_t i = 0; i < res->n_checks; i++)
                free(res->checks[i].message);
        for (size_t i = 0; i < res->n_refusals; i++)
                free(res->refusals[i].message);
        free(res->refusals);
        free(res->drivers);
        vt_try_state_free(&res->state);
        *res = (vt_op_try_result){0};
}

static void boot_id(const char *proc, char *out, size_t size)
{
        _cleanup_free_ char *path = vt_path_join(proc, "sys/kernel/random/boot_id");
        _cleanup_free_ char *id = NULL;

        out[0] = '\0';
        if (path && vt_read_line(path, &id) >= 0)
                snprintf(out, size, "%s", id);
        vt_error_clear();
}

static const char *time_text(int64_t t, char *buf, size_t size)
{
        struct tm tm;
        time_t tt = (time_t)t;

        localtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
        return buf;
}

static const char *driver_text(const char *d)
{
        return d[0] ? d : "no driver";
}

/* "0000:00:02.0, 0000:00:02.1" */
static void device_list(const vt_try_state *st, bool named_only, vt_buf *out)
{
        for (size_t i = 0; i < st->n; i++)
                if (!named_only || st->devices[i].named)
                        vt_buf_printf(out, "%s%s", out->len ? ", " : "", st->devices[i].bdf);
}

/* The try's part of a journal entry's metadata. */
static char *entry_extra(const vt_try_state *st, const vt_op_try_result *res, const char *reason)
{
        json_object *doc = json_object_new_object(), *t = json_object_new_object();
        json_object *devs = vt_try_devices_json(st), *checks = json_object_new_array();
        char *text;

        for (size_t i = 0; res && i < res->n_checks; i++) {
                json_object *c = json_object_new_object();

                json_object_object_add(c, "name", json_object_new_string(res->checks[i].name));
                json_object_object_add(c, "ok", json_object_new_boolean(res->checks[i].ok));
                json_object_object_add(c, "message",
                                       json_object_new_string(res->checks[i].message));
                json_object_array_add(checks, c);
        }
        json_object_object_add(t, "id", json_object_new_string(st->id));
        json_object_object_add(t, "devices", devs);
        json_object_object_add(t, "checks", checks);
        json_object_object_add(t, "deadline", json_object_new_int64(st->deadline));
        json_object_object_add(t, "forced", json_object_new_boolean(st->forced));
        if (reason)
                json_object_object_add(t, "reason", json_object_new_string(reason));
        json_object_object_add(doc, "try", t);
        text = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(doc);
        return text;
}

static int record(vt_engine *e, const char *kind, const char *outcome, const char *summary,
                  const vt_try_state *st, const vt_op_try_result *res, const char *reason,
                  bool forced, long *txn)
{
        _cleanup_free_ char *extra = entry_extra(st, res, reason);
        vt_txn_info info = {0};
        char sum[256];
        int r;

        if (!extra)
                return -ENOMEM;
        snprintf(sum, sizeof(sum), "%s", summary);
        info.kind = (char *)kind;
        info.summary = sum;
        info.outcome = (char *)outcome;
        info.argv = (char *)e->argv;
        info.time = time(NULL);
        info.forced = forced;
        info.extra = extra;
        info.detail = (char *)reason;
        r = vt_engine_baseline(e);
        if (r >= 0)
                r = vt_engine_record(e, &info);
        if (r >= 0 && txn)
                *txn = info.id;
        return r;
}

/* Give every device of the try back to the driver it had. Goes on past a device that will not
 * go back (the others still must); the first error is returned, naming every device left. */
static int give_back(const vt_op_env *env, const vt_try_state *st, vt_buf *left)
{
        int first = 0;

        for (size_t i = 0; i < st->n; i++) {
                const vt_try_device *d = &st->devices[i];
                char now[64];
                int r;

                if (strcmp(d->original, VFIO) == 0)
                        continue; /* it was there before the try: not ours to move */
                r = vt_driver_current(env->sysfs, d->bdf, now, sizeof(now));
                if (r >= 0)
                        r = vt_driver_override(env->sysfs, d->bdf, NULL);
                if (r >= 0 && strcmp(now, d->original) != 0) {
                        if (now[0])
                                r = vt_driver_unbind(env->sysfs, d->bdf, STEP_MS);
                        if (r >= 0 && d->original[0]) {
                                r = vt_driver_probe(env->sysfs, d->bdf, NULL, STEP_MS);
                                if (r == -ENODEV)
                                        vt_error_clear(), r = 0;
                                if (r >= 0)
                                        r = vt_driver_current(env->sysfs, d->bdf, now, sizeof(now));
                                if (r >= 0 && strcmp(now, d->original) != 0) {
                                        if (now[0])
                                                r = vt_driver_unbind(env->sysfs, d->bdf, STEP_MS);
                                        if (r >= 0)
                                                r = vt_driver_bind(env->sysfs, d->bdf, d->original,
                                                                   STEP_MS);
                                }
                        }
                }
                if (r < 0) {
                        vt_buf_printf(left, "%s%s (%s)", left->len ? ", " : "", d->bdf,
                                      vt_error_message() ?: strerror(-r));
                        if (!first)
                                first = r;
                }
        }
        if (first)
                return vt_error_set(-first, "could not give back %s", vt_buf_cstr(left));
        return 0;
}

static void read_drivers(const vt_op_env *env, vt_op_try_result *res)
{
        free(res->drivers);
        res->drivers = calloc(res->state.n ? res->state.n : 1, sizeof(*res->drivers));
        for (size_t i = 0; res->drivers && i < res->state.n; i++)
                if (vt_driver_current(env->sysfs, res->state.devices[i].bdf, res->drivers[i],
                                      sizeof(res->drivers[i])) < 0)
                        vt_error_clear();
}

/* "revert: 0000:0b:00.0 back on amdgpu, 0000:0b:00.1 back on snd_hda_intel (timeout: ...)" */
static void revert_summary(const vt_try_state *st, const char *reason, vt_buf *out)
{
        vt_buf_puts(out, "revert:");
        for (size_t i = 0; i < st->n; i++)
                vt_buf_printf(out, "%s %s back on %s", i ? "," : "", st->devices[i].bdf,
                              driver_text(st->devices[i].original));
        vt_buf_printf(out, " (%s)", reason);
}

/* The revert of the try in `st` (owned by the caller), recorded with `reason`. */
static int revert(vt_engine *e, const vt_op_env *env, vt_try_state *st, const char *reason,
                  vt_op_try_result *res)
{
        _cleanup_buf_ vt_buf left = VT_BUF_INIT, summary = VT_BUF_INIT;
        int r, gave;

        st->phase = VT_TRY_REVERTING;
        st->pid = (long)getpid();
        snprintf(st->reason, sizeof(st->reason), "%s", reason);
        r = vt_try_state_write(&e->root, st);
        if (r < 0)
                return r;
        vt_try_watcher_stop(st->watcher);
        gave = give_back(env, st, &left);
        revert_summary(st, reason, &summary);
        /* The try may have been forced; giving the devices back never is. */
        r = record(e, "try-revert", gave < 0 ? "failed" : "completed", vt_buf_cstr(&summary), st,
                   NULL, reason, false, res ? &res->txn : NULL);
        if (r >= 0)
                r = vt_try_state_remove(&e->root);
        if (res) {
                res->reverted = true;
                snprintf(res->reason, sizeof(res->reason), "%s", reason);
        }
        if (gave < 0) {
                vt_error_set(-gave, "could not give back %s", vt_buf_cstr(&left));
                return vt_error_hint(gave, "a reboot gives every device its driver back: the try "
                                           "changed no file");
        }
        return r;
}

int vt_try_recover(vt_engine *e, const vt_op_env *env, vt_buf *notes)
{
        _cleanup_buf_ vt_buf devs = VT_BUF_INIT;
        vt_try_state st;
        char boot[40], reason[160];
        int r;

        r = vt_try_state_read(&e->root, &st);
        if (r == -ENOENT)
                return 0;
        if (r == -EBADMSG) {
                /* Written aside and renamed, so only a damaged disk gets here. Which devices it
                 * held cannot be known, and every writer (`vfiotx boot` too) would stop on it:
                 * it goes, and the note says what still gives the devices back. */
                vt_buf_printf(notes,
                              "warning: the state of a try was damaged (%s) and is "
                              "removed: a reboot gives back any device still on "
                              "vfio-pci\n",
                              vt_error_message() ?: "unreadable");
                vt_error_clear();
                return vt_try_state_remove(&e->root);
        }
        if (r < 0)
                return r;
        device_list(&st, false, &devs);
        boot_id(env->proc, boot, sizeof(boot));
        if (boot[0] && st.boot_id[0] && strcmp(boot, st.boot_id) != 0) {
                /* The drivers came back with the boot: nothing to write, only to record. */
                _cleanup_buf_ vt_buf summary = VT_BUF_INIT;

                snprintf(reason, sizeof(reason), "reboot: the devices came back on their drivers");
                revert_summary(&st, "reboot", &summary);
                r = record(e, "try-revert", "completed", vt_buf_cstr(&summary), &st, NULL, reason,
                           false, NULL);
                if (r >= 0)
                        r = vt_try_state_remove(&e->root);
                if (r >= 0)
                        vt_buf_printf(notes, "the try of %s ended with a reboot\n",
                                      vt_buf_cstr(&devs));
        } else if (st.phase != VT_TRY_HELD) {
                /* We hold the lock: the vfiotx that was moving or reverting is gone. */
                snprintf(reason, sizeof(reason),
                         "interrupted while %s: finished by the next "
                         "command",
                         st.phase == VT_TRY_MOVING ? "moving" : "reverting");
                r = revert(e, env, &st, reason, NULL);
                if (r >= 0)
                        vt_buf_printf(notes,
                                      "the try of %s was interrupted: every device is back "
                                      "on its driver\n",
                                      vt_buf_cstr(&devs));
        } else if ((int64_t)time(NULL) >= st.deadline) {
                snprintf(reason, sizeof(reason), "timeout: not kept in time");
                r = revert(e, env, &st, reason, NULL);
                if (r >= 0)
                        vt_buf_printf(notes,
                                      "the try of %s was not kept in time: every device "
                                      "is back on its driver\n",
                                      vt_buf_cstr(&devs));
        }
        vt_try_state_free(&st);
        return r;
}

static const char *advice_for(const char *code)
{
        if (strcmp(code, "console") == 0)
                return "give the host another console first (a second GPU, a serial console, "
                       "SSH), or pass --force: the screen stays dark until the revert";
        if (strcmp(code, "drm-clients") == 0 || strcmp(code, "open-nodes") == 0)
                return "stop that process first (log out of the graphical session, stop the "
                       "service), or pass --force: it loses the device";
        if (strcmp(code, "default-route") == 0)
                return "move the default route to another NIC first, or pass --force: the "
                       "network path through it is cut until the revert";
        if (strcmp(code, "net-addresses") == 0)
                return "take the interface down first ('ip link set dev IF down'), or pass "
                       "--force";
        return "unmount its filesystems and turn its swap off first: a try must never take the "
               "disks the host runs from";
}

static int add_refusal(vt_op_try_result *res, const char *code, const char *bdf, const char *named,
                       const char *message)
{
        vt_try_refusal *grown = realloc(res->refusals, (res->n_refusals + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        res->refusals = grown;
        grown[res->n_refusals] = (vt_try_refusal){.code = code, .advice = advice_for(code)};
        snprintf(grown[res->n_refusals].bdf, 16, "%s", bdf);
        snprintf(grown[res->n_refusals].named, 16, "%s", named);
        grown[res->n_refusals].message = strdup(message);
        if (!grown[res->n_refusals].message)
                return -ENOMEM;
        res->n_refusals++;
        return 0;
}

static int add_check(vt_op_try_result *res, const char *name, const vt_buf *problems,
                     const char *fine)
{
        vt_try_check *c = &res->checks[res->n_checks++];

        c->name = name;
        c->ok = problems->len == 0;
        c->message = strdup(c->ok ? fine : vt_buf_cstr(problems));
        return c->message ? 0 : -ENOMEM;
}

/* The devices a try moves: each named one and every other member of its IOMMU group, bridges
 * aside (vfio leaves them to the host), in BDF order. */
static int select_devices(const vt_pci_list *pci, const vt_op_try_req *req, vt_try_state *st,
                          char (**named_of)[16])
{
        vt_selection sel = {0};
        int r = 0;

        for (size_t i = 0; r >= 0 && i < req->n_devices; i++)
                r = vt_selection_add(&sel, pci, req->devices[i]);
        for (size_t i = 0; r >= 0 && i < sel.n; i++) {
                const vt_pci_device *d = sel.items[i];

                if (vt_pci_is_bridge(d)) {
                        vt_error_set(EINVAL, "%s is a bridge: it is never passed through", d->bdf);
                        r = vt_error_hint(EINVAL, "name the devices behind it ('vfiotx devices')");
                } else if (d->iommu_group < 0) {
                        vt_error_set(ENODEV, "%s has no IOMMU group: the IOMMU is off", d->bdf);
                        r = vt_error_hint(ENODEV, "run 'vfiotx apply' to turn it on, reboot, then "
                                                  "try again");
                }
        }
        if (r >= 0) {
                st->devices = calloc(pci->n ? pci->n : 1, sizeof(*st->devices));
                *named_of = calloc(pci->n ? pci->n : 1, sizeof(**named_of));
                if (!st->devices || !*named_of)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < pci->n; i++) {
                const vt_pci_device *d = &pci->items[i];
                const vt_pci_device *by = NULL;

                if (vt_pci_is_bridge(d))
                        continue;
                for (size_t j = 0; j < sel.n && !by; j++)
                        if (sel.items[j] == d || sel.items[j]->iommu_group == d->iommu_group)
                                by = sel.items[j];
                if (!by || d->iommu_group < 0)
                        continue;
                vt_try_device *t = &st->devices[st->n];

                snprintf(t->bdf, sizeof(t->bdf), "%s", d->bdf);
                snprintf(t->original, sizeof(t->original), "%s", d->driver ? d->driver : "");
                t->named = vt_selection_has(&sel, d);
                snprintf((*named_of)[st->n], 16, "%s", by->bdf);
                st->n++;
        }
        vt_selection_free(&sel);
        return r;
}

static int refusals(const vt_op_env *env, const vt_hostinfo *host, const vt_try_state *st,
                    char (*named_of)[16], vt_op_try_result *res)
{
        _cleanup_free_ const char **bdfs = calloc(st->n ? st->n : 1, sizeof(*bdfs));
        vt_use_list uses = {0};
        int r;

        if (!bdfs)
                return -ENOMEM;
        for (size_t i = 0; i < st->n; i++)
                bdfs[i] = st->devices[i].bdf;
        r = vt_in_use_probe(env->sysfs, env->proc, bdfs, st->n, &uses);
        for (size_t i = 0; r >= 0 && i < uses.n; i++)
                for (size_t j = 0; r >= 0 && j < st->n; j++)
                        if (strcmp(uses.items[i].bdf, st->devices[j].bdf) == 0)
                                r = add_refusal(res, vt_use_kind_name(uses.items[i].kind),
                                                uses.items[i].bdf, named_of[j],
                                                uses.items[i].detail);
        for (size_t j = 0; r >= 0 && j < st->n; j++) {
                const vt_host_dep *dep =
                    vt_hostinfo_find(host, st->devices[j].bdf, VT_ROLE_DEFAULT_ROUTE);
                char msg[160];

                if (!dep)
                        continue;
                snprintf(msg, sizeof(msg), "it carries the default route (%s)", dep->detail);
                r = add_refusal(res, "default-route", dep->bdf, named_of[j], msg);
        }
        vt_use_list_free(&uses);
        return r;
}

static int load_vfio(const vt_op_env *env)
{
        static const char *const argv[] = {"modprobe", VFIO, NULL};
        vt_run_opts o = {.timeout_ms = 60000};
        vt_run_result rr = {0};
        char path[PATH_MAX];
        int r;

        snprintf(path, sizeof(path), "%s/bus/pci/drivers/" VFIO, env->sysfs);
        if (access(path, F_OK) == 0)
                return 0;
        r = vt_failpoint("try-modprobe");
        if (r < 0)
                return vt_error_set(-r, "failpoint before modprobe");
        r = vt_run(argv, &o, &rr);
        vt_run_result_free(&rr);
        if (r < 0)
                return vt_error_wrap(r, "loading vfio-pci");
        return vt_driver_wait_loaded(env->sysfs, VFIO, STEP_MS);
}

static int move_devices(const vt_op_env *env, const vt_try_state *st)
{
        int r = load_vfio(env);

        for (size_t i = 0; r >= 0 && i < st->n; i++) {
                const vt_try_device *d = &st->devices[i];

                if (strcmp(d->original, VFIO) == 0)
                        continue;
                r = vt_driver_override(env->sysfs, d->bdf, VFIO);
                if (r >= 0)
                        r = vt_driver_unbind(env->sysfs, d->bdf, STEP_MS);
                if (r >= 0)
                        r = vt_driver_probe(env->sysfs, d->bdf, VFIO, STEP_MS);
        }
        return r;
}

/* The drivers of the devices the host runs from, before and after the move. */
static void host_drivers(const vt_op_env *env, const vt_hostinfo *host, char (*out)[64])
{
        for (size_t i = 0; i < host->n; i++)
                if (vt_driver_current(env->sysfs, host->deps[i].bdf, out[i], 64) < 0) {
                        vt_error_clear();
                        snprintf(out[i], 64, "?");
                }
}

static int run_checks(vt_engine *e, const vt_op_env *env, const vt_pci_list *pci,
                      const vt_hostinfo *host, char (*host_before)[64],
                      const vt_open_files *open_before, vt_op_try_result *res)
{
        _cleanup_buf_ vt_buf p1 = VT_BUF_INIT, p2 = VT_BUF_INIT, p3 = VT_BUF_INIT, p4 = VT_BUF_INIT,
                             fine = VT_BUF_INIT;
        _cleanup_free_ char(*host_after)[64] = calloc(host->n + 1, 64);
        const vt_try_state *st = &res->state;
        vt_open_files open_after = {0};
        int r;

        if (!host_after)
                return -ENOMEM;
        read_drivers(env, res);
        /* on-vfio */
        for (size_t i = 0; res->drivers && i < st->n; i++) {
                const vt_pci_device *d = vt_pci_find(pci, st->devices[i].bdf);
                char node[64];

                snprintf(node, sizeof(node), "/dev/vfio/%d", d ? d->iommu_group : -1);
                if (strcmp(res->drivers[i], VFIO) != 0)
                        vt_buf_printf(&p1, "%s%s is on %s", p1.len ? "; " : "", st->devices[i].bdf,
                                      driver_text(res->drivers[i]));
                else if (vt_root_exists(&e->root, node) <= 0)
                        vt_buf_printf(&p1, "%s%s is on vfio-pci but %s does not exist",
                                      p1.len ? "; " : "", st->devices[i].bdf, node);
                vt_error_clear();
        }
        vt_buf_printf(&fine, "%zu device%s on vfio-pci, /dev/vfio nodes present", st->n,
                      st->n == 1 ? "" : "s");
        r = add_check(res, "on-vfio", &p1, vt_buf_cstr(&fine));
        /* group-viable: every member of the groups, as the kernel sees them now */
        for (size_t i = 0; r >= 0 && i < pci->n; i++) {
                const vt_pci_device *d = &pci->items[i];
                bool in_group = false;
                char now[64];

                for (size_t j = 0; j < st->n && !in_group; j++) {
                        const vt_pci_device *m = vt_pci_find(pci, st->devices[j].bdf);

                        in_group = m && m->iommu_group == d->iommu_group && d->iommu_group >= 0;
                }
                if (!in_group || vt_pci_is_pci_bridge(d))
                        continue;
                if (vt_driver_current(env->sysfs, d->bdf, now, sizeof(now)) < 0) {
                        vt_error_clear();
                        continue;
                }
                if (now[0] && strcmp(now, VFIO) != 0 && strcmp(now, "pci-stub") != 0)
                        vt_buf_printf(&p2, "%sgroup %d is not viable: %s is on %s",
                                      p2.len ? "; " : "", d->iommu_group, d->bdf, now);
        }
        if (r >= 0)
                r = add_check(
                    res, "group-viable", &p2,
                    "every member of the groups is on vfio-pci or pci-stub, unbound, or a bridge");
        /* host-devices */
        host_drivers(env, host, host_after);
        for (size_t i = 0; r >= 0 && i < host->n; i++)
                if (strcmp(host_before[i], host_after[i]) != 0)
                        vt_buf_printf(&p3, "%s%s (%s) went from %s to %s", p3.len ? "; " : "",
                                      host->deps[i].bdf, host->deps[i].detail,
                                      driver_text(host_before[i]), driver_text(host_after[i]));
        if (r >= 0)
                r = add_check(res, "host-devices", &p3,
                              "the root and boot disks' controllers and the default-route NICs "
                              "kept their drivers");
        /* open-devices: an open node that is gone now shows " (deleted)" */
        if (r >= 0)
                r = vt_open_files_scan(env->proc, &open_after);
        for (size_t i = 0; r >= 0 && i < open_before->n; i++) {
                const vt_open_file *b = &open_before->items[i];

                if (strstr(b->target, " (deleted)"))
                        continue;
                for (size_t j = 0; j < open_after.n; j++) {
                        const vt_open_file *a = &open_after.items[j];

                        if (a->pid == b->pid && strcmp(a->fd, b->fd) == 0 &&
                            strcmp(a->target, b->target) != 0 && strstr(a->target, " (deleted)"))
                                vt_buf_printf(&p4, "%sprocess %ld (%s) lost %s", p4.len ? "; " : "",
                                              b->pid, b->comm, b->target);
                }
        }
        if (r >= 0)
                r = add_check(res, "open-devices", &p4,
                              "no process lost a device node it held open");
        vt_open_files_free(&open_after);
        return r;
}

static const vt_try_check *first_failed(const vt_op_try_result *res)
{
        for (size_t i = 0; i < res->n_checks; i++)
                if (!res->checks[i].ok)
                        return &res->checks[i];
        return NULL;
}

static int start(vt_engine *e, const vt_op_env *env, const vt_op_ui *ui, const vt_op_try_req *req,
                 vt_op_try_result *res)
{
        _cleanup_buf_ vt_buf summary = VT_BUF_INIT, devs = VT_BUF_INIT;
        _cleanup_free_ char(*named_of)[16] = NULL;
        _cleanup_free_ char(*host_before)[64] = NULL;
        vt_try_state *st = &res->state;
        const vt_hostinfo *host = NULL;
        const vt_pci_list *pci = NULL;
        vt_open_files open_before = {0};
        const vt_try_check *bad;
        int timeout = req->timeout_s ? req->timeout_s : VT_TRY_DEFAULT_TIMEOUT;
        char when[32], reason[160];
        vt_facts facts;
        int r;

        if (timeout < 1 || timeout > MAX_TRY_S) {
                vt_error_set(EINVAL, "--timeout %d is out of range", timeout);
                return vt_error_hint(EINVAL, "give 1 to %d seconds", MAX_TRY_S);
        }
        {
                vt_try_state cur;

                r = vt_try_state_read(&e->root, &cur);
                if (r >= 0) {
                        _cleanup_buf_ vt_buf d = VT_BUF_INIT;

                        device_list(&cur, false, &d);
                        vt_try_state_free(&cur);
                        vt_error_set(EBUSY, "a try is in progress: %s on vfio-pci",
                                     vt_buf_cstr(&d));
                        return vt_error_hint(EBUSY, "keep it with 'vfiotx try --keep' or give "
                                                    "the devices back with 'vfiotx try "
                                                    "--revert' first");
                }
                if (r != -ENOENT)
                        return r;
        }
        vt_facts_init(&facts, &e->root, env->sysfs, env->proc);
        r = vt_facts_pci(&facts, &pci);
        if (r >= 0)
                r = vt_facts_host(&facts, &host);
        if (r >= 0)
                r = select_devices(pci, req, st, &named_of);
        if (r >= 0)
                r = refusals(env, host, st, named_of, res);
        if (r < 0)
                goto out;
        if (res->n_refusals && !req->force) {
                res->refused = true;
                r = vt_error_set(EPERM, "refusing to try: %zu reason%s (nothing was changed)",
                                 res->n_refusals, res->n_refusals == 1 ? "" : "s");
                goto out;
        }
        for (size_t i = 0; ui && ui->warning && i < res->n_refusals; i++) {
                _cleanup_free_ char *text = NULL;

                if (asprintf(&text, "forced: %s: %s\n", res->refusals[i].bdf,
                             res->refusals[i].message) >= 0)
                        ui->warning(ui->userdata, text);
        }
        st->forced = res->n_refusals > 0;
        host_before = calloc(host->n + 1, 64);
        if (!host_before) {
                r = -ENOMEM;
                goto out;
        }
        host_drivers(env, host, host_before);
        r = vt_open_files_scan(env->proc, &open_before);
        if (r < 0)
                goto out;
        st->started = time(NULL);
        st->deadline = st->started + timeout;
        snprintf(st->id, sizeof(st->id), "%lld-%ld", (long long)st->started, (long)getpid());
        boot_id(env->proc, st->boot_id, sizeof(st->boot_id));
        st->pid = (long)getpid();
        st->phase = VT_TRY_MOVING;
        r = vt_try_state_write(&e->root, st);
        if (r < 0)
                goto out;
        r = vt_try_watcher_start(env, st->id, st->deadline, st->watcher, sizeof(st->watcher));
        if (r >= 0)
                r = vt_try_state_write(&e->root, st);
        if (r < 0) {
                /* Nothing moved yet: only the state to take back. */
                vt_try_watcher_stop(st->watcher);
                if (vt_try_state_remove(&e->root) < 0)
                        vt_error_clear();
                goto out;
        }
        r = move_devices(env, st);
        if (r < 0) {
                snprintf(reason, sizeof(reason), "the move failed: %.120s",
                         vt_error_message() ?: strerror(-r));
                vt_error_clear();
                res->n_checks = 0;
        } else {
                r = run_checks(e, env, pci, host, host_before, &open_before, res);
                if (r < 0)
                        goto out;
                bad = first_failed(res);
                if (bad)
                        snprintf(reason, sizeof(reason), "check %s failed: %.110s", bad->name,
                                 bad->message);
        }
        device_list(st, false, &devs);
        vt_buf_printf(&summary, "try: %s on vfio-pci until %s", vt_buf_cstr(&devs),
                      time_text(st->deadline, when, sizeof(when)) + 11);
        if (r < 0 || first_failed(res)) {
                int err = r < 0 ? r : -EIO;

                vt_buf_printf(&summary, " (%s)", reason);
                r = record(e, "try", "failed", vt_buf_cstr(&summary), st, res, reason, st->forced,
                           &st->txn);
                if (r >= 0)
                        r = revert(e, env, st, reason, res);
                read_drivers(env, res);
                if (r < 0)
                        goto out;
                vt_error_set(-err, "the try of %s failed: %s; every device is back on its driver",
                             vt_buf_cstr(&devs), reason);
                r = err;
                goto out;
        }
        r = record(e, "try", "applied", vt_buf_cstr(&summary), st, res, NULL, st->forced, &st->txn);
        if (r < 0)
                goto out;
        res->txn = st->txn;
        st->phase = VT_TRY_HELD;
        st->pid = 0;
        r = vt_try_state_write(&e->root, st);
out:
        vt_open_files_free(&open_before);
        vt_facts_free(&facts);
        return r;
}

int vt_try_keep(vt_engine *e, vt_try_state *st, long *txn, vt_buf *notes)
{
        _cleanup_buf_ vt_buf summary = VT_BUF_INIT, devs = VT_BUF_INIT;
        int r;

        device_list(st, false, &devs);
        vt_try_watcher_stop(st->watcher);
        vt_buf_printf(&summary, "keep: %s stay%s on vfio-pci", vt_buf_cstr(&devs),
                      st->n == 1 ? "s" : "");
        r = record(e, "try-keep", "completed", vt_buf_cstr(&summary), st, NULL, NULL, false, txn);
        if (r >= 0)
                r = vt_try_state_remove(&e->root);
        if (r >= 0 && notes)
                vt_buf_printf(notes, "kept the try: %s stay%s on vfio-pci until the next boot\n",
                              vt_buf_cstr(&devs), st->n == 1 ? "s" : "");
        return r;
}

int vt_try_keep_held(vt_engine *e, vt_buf *notes)
{
        vt_try_state st;
        int r = vt_try_state_read(&e->root, &st);

        if (r == -ENOENT)
                return 0;
        if (r >= 0 && st.phase == VT_TRY_HELD)
                r = vt_try_keep(e, &st, NULL, notes);
        vt_try_state_free(&st);
        return r;
}

int vt_try_note_for(vt_engine *e, vt_facts *facts, const vt_spec *spec, vt_buf *note)
{
        _cleanup_free_ const char **bdfs = NULL;
        const vt_pci_list *pci = NULL;
        vt_selection sel = {0};
        int r;

        if (spec->devices.n == 0)
                return 0;
        r = vt_facts_pci(facts, &pci);
        for (size_t i = 0; r >= 0 && i < spec->devices.n; i++)
                r = vt_selection_add(&sel, pci, spec->devices.items[i]);
        if (r >= 0 && !(bdfs = calloc(sel.n + 1, sizeof(*bdfs))))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < sel.n; i++)
                bdfs[i] = sel.items[i]->bdf;
        if (r >= 0)
                r = vt_try_last_note(e, bdfs, sel.n, note);
        vt_selection_free(&sel);
        /* A note is never worth failing a plan for: the plan reports a bad spec itself. */
        if (r < 0)
                vt_error_clear();
        if (note->len)
                vt_buf_putc(note, '\n');
        return 0;
}

static int end_held(vt_engine *e, const vt_op_env *env, const vt_op_try_req *req,
                    vt_op_try_result *res)
{
        int r;

        r = vt_try_state_read(&e->root, &res->state);
        if (r == -ENOENT) {
                if (req->action != VT_TRY_KEEP) {
                        res->nothing = true;
                        return 0;
                }
                vt_error_set(ENOENT, "no try is in progress");
                return vt_error_hint(ENOENT, "start one with 'vfiotx try --device DEVICE'");
        }
        if (r < 0)
                return r;
        if (req->action == VT_TRY_EXPIRE &&
            (strcmp(res->state.id, req->expire_id) != 0 || res->state.phase != VT_TRY_HELD)) {
                res->nothing = true;
                return 0;
        }
        if (req->action == VT_TRY_KEEP) {
                if (res->state.phase != VT_TRY_HELD) {
                        vt_error_set(EBUSY, "the try is %s, not held",
                                     vt_try_phase_name(res->state.phase));
                        return vt_error_hint(EBUSY, "wait for it to end, or give the devices "
                                                    "back with 'vfiotx try --revert'");
                }
                r = vt_try_keep(e, &res->state, &res->txn, NULL);
        } else {
                char reason[160];

                snprintf(reason, sizeof(reason), "%s",
                         req->action == VT_TRY_EXPIRE ? "timeout: not kept in time"
                                                      : "asked: vfiotx try --revert");
                r = revert(e, env, &res->state, reason, res);
        }
        read_drivers(env, res);
        return r;
}

int vt_op_try(const vt_op_env *env, const vt_op_ui *ui, const vt_op_try_req *req,
              vt_op_try_result *res)
{
        vt_engine e;
        int r;

        *res = (vt_op_try_result){0};
        r = vt_op_open(&e, env, VT_ENGINE_WRITE, ui);
        if (r >= 0)
                r = req->action == VT_TRY_START ? start(&e, env, ui, req, res)
                                                : end_held(&e, env, req, res);
        vt_engine_close(&e);
        return r;
}

/* Does the entry's try cover every one of `bdfs`? */
static bool covers(json_object *devices, const char *const *bdfs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                bool found = false;

                for (size_t j = 0; j < json_object_array_length(devices) && !found; j++) {
                        json_object *d = json_object_array_get_idx(devices, j), *b;

                        found = json_object_object_get_ex(d, "bdf", &b) &&
                                strcmp(json_object_get_string(b), bdfs[i]) == 0;
                }
                if (!found)
                        return false;
        }
        return n > 0;
}

int vt_try_last_note(vt_engine *e, const char *const *bdfs, size_t n, vt_buf *note)
{
        vt_oid cur = e->state.head;
        int r = 0;

        if (!e->have_journal || !e->state.exists || n == 0)
                return 0;
        for (int k = 0; k < HISTORY && r >= 0; k++) {
                vt_txn_info info = {0};
                vt_oid parents[2];
                json_object *doc = NULL, *t, *devices, *checks;

                r = vt_journal_load(e->journal, &cur, NULL, &info);
                if (r < 0)
                        break;
                if (info.kind && strcmp(info.kind, "try") == 0 && info.extra &&
                    (doc = json_tokener_parse(info.extra)) &&
                    json_object_object_get_ex(doc, "try", &t) &&
                    json_object_object_get_ex(t, "devices", &devices) &&
                    json_object_object_get_ex(t, "checks", &checks) && covers(devices, bdfs, n)) {
                        bool ok = info.outcome && strcmp(info.outcome, "applied") == 0;
                        char when[32];

                        vt_buf_printf(note,
                                      "a live try (transaction %ld, %s) had them on "
                                      "vfio-pci and %s its checks: ",
                                      info.id, time_text(info.time, when, sizeof(when)),
                                      ok ? "passed" : "failed");
                        for (size_t i = 0; i < json_object_array_length(checks); i++) {
                                json_object *c = json_object_array_get_idx(checks, i), *nm, *okv;

                                if (json_object_object_get_ex(c, "name", &nm) &&
                                    json_object_object_get_ex(c, "ok", &okv))
                                        vt_buf_printf(note, "%s%s%s", i ? ", " : "",
                                                      json_object_get_string(nm),
                                                      json_object_get_boolean(okv) ? ""
                                                                                   : " (failed)");
                        }
                        if (json_object_array_length(checks) == 0)
                                vt_buf_puts(note, "none ran (the move failed)");
                        json_object_put(doc);
                        vt_txn_info_free(&info);
                        return 0;
                }
                json_object_put(doc);
                vt_txn_info_free(&info);
                r = vt_journal_parents(e->journal, &cur, parents);
                if (r <= 0)
                        break;
                cur = parents[0];
        }
        return r < 0 ? r : 0;
}
