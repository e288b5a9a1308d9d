/* Rendering the result of a restore (rollback, import, the restores at boot). */
#include <json-c/json.h>

#include "cli/cli.h"

void vt_cli_restore_render(const vt_cli *cli, const char *what, const vt_op_restore_result *res)
{
        if (res->nothing_to_do) {
                vt_cli_info(cli, "nothing to do: the files already match %s\n", what);
                return;
        }
        if (res->rebuilt_pending)
                vt_cli_info(cli, "the pending rebuild is complete\n");
        if (res->no_rebuild)
                vt_cli_info(cli, "the initramfs and boot configuration were not rebuilt "
                                 "(--no-rebuild): 'vfiotx apply' completes it\n");
        else if (res->rebuild_steps)
                vt_cli_info(cli, "rebuilt and verified: %zu step%s\n", res->rebuild_steps,
                            res->rebuild_steps > 1 ? "s" : "");
}

int vt_cli_restore_done(const vt_cli *cli, json_object *doc, const vt_op_restore_result *res,
                        bool rescued, long restored)
{
        bool changed = rescued || res->txn || res->rebuilt_pending;
        vt_outcome o = changed ? VT_OUTCOME_CHANGED : VT_OUTCOME_UNCHANGED;
        vt_txn_info t = {.id = res->txn, .kind = (char *)cli->command, .outcome = "applied"};

        if (!cli->json) {
                json_object_put(doc);
                return vt_cli_exit(cli, o);
        }
        if (!doc)
                doc = vt_cli_doc(cli);
        json_object_object_add(doc, "changed", json_object_new_boolean(changed));
        json_object_object_add(doc, "transaction", vt_json_txn(&t));
        json_object_object_add(doc, "restored", restored ? json_object_new_int64(restored) : NULL);
        json_object_object_add(doc, "rescued", json_object_new_boolean(rescued));
        json_object_object_add(doc, "rebuild_pending",
                               json_object_new_boolean(res->txn && res->no_rebuild));
        json_object_object_add(doc, "reboot_required",
                               json_object_new_boolean(rescued || (changed && !res->no_rebuild)));
        return vt_cli_emit(cli, doc, o);
}
