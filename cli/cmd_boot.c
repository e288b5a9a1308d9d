/* boot: run early at every boot by vfiotx-boot.service. A trial boot is recorded; a fallback
 * boot (GRUB took the last good entry) restores the good snapshot's files and rebuilds, so a
 * later kernel update cannot bake the bad configuration back in; a pending rebuild is done. */
#include "cli/cli.h"
#include "engine/op_boot.h"
#include <json-c/json.h>

const vt_command vt_command_boot = {
    .name = "boot",
    .run = vt_cmd_boot,
    .summary = "run at boot: record a trial, restore after a fallback boot",
    .description =
        "Run by vfiotx-boot.service early at boot: reads the markers on the kernel command line\n"
        "(vfiotx.trial=TXN, vfiotx.fallback=1) and grubenv. A trial boot is recorded; a fallback\n"
        "boot restores the last good snapshot's files and rebuilds; a pending rebuild is done.\n",
    .esps = true,
    .esps_wait_s = 30,
};

int vt_cmd_boot(vt_cli *cli, int argc, char **argv)
{
        vt_op_boot_result res = {0};
        vt_op_env env;
        vt_op_ui ui;
        int c, r;

        c = vt_opts_parse_none(cli, &vt_command_boot, argc, argv);
        if (c >= 0)
                return c;
        vt_cli_env(cli, &env);
        vt_cli_ui(cli, &ui);
        /* At boot there is no terminal: nothing is ever asked. */
        ui.confirm = NULL;
        r = vt_op_boot(&env, &ui, &res);
        if (res.restored)
                vt_cli_restore_render(cli,
                                      res.kind == VT_BOOT_FALLBACK ? "the last good snapshot"
                                                                   : "the applied snapshot",
                                      &res.restore);
        /* what the fallback left for the user, after the restore's own lines (through the
         * ui: printed, and gathered for the JSON document) */
        if (res.notes.len && ui.notes)
                ui.notes(ui.userdata, vt_buf_cstr(&res.notes));
        vt_buf_free(&res.notes);
        if (r < 0)
                return vt_cli_fail(cli, r, "boot");
        if (cli->json) {
                json_object *doc = vt_cli_doc(cli);

                json_object_object_add(
                    doc, "boot",
                    json_object_new_string(res.kind == VT_BOOT_FALLBACK ? "fallback"
                                           : res.kind == VT_BOOT_TRIAL  ? "trial"
                                                                        : "normal"));
                return vt_cli_restore_done(cli, doc, &res.restore, false, 0);
        }
        return vt_cli_restore_done(cli, NULL, &res.restore, false, 0);
}
