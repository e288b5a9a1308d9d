/* Rendering the result of a restore (rollback, import, the restores at boot). */
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
