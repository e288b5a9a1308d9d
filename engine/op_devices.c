#include "engine/op_devices.h"

#include <errno.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/macro.h"

/* The probe's own message when it set one (it names the file), else what failed. */
static int failed(int r, const char *what)
{
        return vt_error_message() ? r : vt_error_wrap(r, "%s", what);
}

static int device_quirks(const vt_pci_list *devs, const vt_pci_device *d, const vt_selection *unit,
                         vt_quirk_list *out)
{
        _cleanup_(vt_strv_free) vt_strv passed = {0};
        vt_quirk_list all = {0};
        int r = 0;

        for (size_t i = 0; r >= 0 && i < unit->n; i++)
                r = vt_strv_push(&passed, unit->items[i]->bdf);
        if (r < 0)
                return r;
        vt_quirks_for(d, &(vt_quirk_ctx){.all = devs, .passed = &passed}, &all);
        *out = (vt_quirk_list){0};
        for (size_t i = 0; i < all.n; i++)
                if (!(all.items[i]->flags & VT_QUIRK_ISOLATION))
                        out->items[out->n++] = all.items[i];
        return 0;
}

int vt_op_devices(const vt_op_env *env, vt_op_devices_result *res)
{
        int r;

        *res = (vt_op_devices_result){0};
        /* The verdicts rest on /sys and /proc; the root only says which remote ways in (SSH, a
         * web UI) are enabled, which a host whose root cannot be opened does without. */
        res->have_root = vt_root_open(&res->root, env->root) >= 0;
        vt_error_clear();
        vt_facts_init(&res->facts, res->have_root ? &res->root : NULL, env->sysfs, env->proc);
        r = vt_facts_pci(&res->facts, &res->devs);
        if (r < 0)
                return failed(r, "scanning PCI devices");
        r = vt_facts_host(&res->facts, &res->host);
        if (r < 0)
                return failed(r, "probing the host");
        res->verdicts = calloc(res->devs->n + 1, sizeof(*res->verdicts));
        res->units = calloc(res->devs->n + 1, sizeof(*res->units));
        res->quirks = calloc(res->devs->n + 1, sizeof(*res->quirks));
        if (!res->verdicts || !res->units || !res->quirks)
                return -ENOMEM;
        for (size_t i = 0; i < res->devs->n; i++) {
                r = vt_safety_unit(res->devs, &res->devs->items[i], &res->units[i]);
                if (r >= 0)
                        r = device_quirks(res->devs, &res->devs->items[i], &res->units[i],
                                          &res->quirks[i]);
                if (r < 0)
                        return r;
                r = vt_safety_verdict(res->devs, res->host, &res->devs->items[i],
                                      &res->verdicts[i]);
                if (r < 0)
                        return failed(r, "computing verdicts");
        }
        return 0;
}

void vt_op_devices_result_free(vt_op_devices_result *res)
{
        for (size_t i = 0; res->verdicts && res->devs && i < res->devs->n; i++)
                vt_refusal_list_free(&res->verdicts[i]);
        for (size_t i = 0; res->units && res->devs && i < res->devs->n; i++)
                vt_selection_free(&res->units[i]);
        free(res->verdicts);
        free(res->units);
        free(res->quirks);
        vt_facts_free(&res->facts);
        if (res->have_root)
                vt_root_close(&res->root);
        *res = (vt_op_devices_result){0};
}
