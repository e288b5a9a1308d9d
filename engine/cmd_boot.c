/* boot: run early at every boot by vfiotx-boot.service. A trial boot is recorded; a fallback
 * boot (GRUB took the last good entry) restores the good snapshot's files and rebuilds, so a
 * later kernel update cannot bake the bad configuration back in; a pending rebuild is done. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/macro.h"
#include "engine/cli.h"
#include "engine/trial.h"

static const char boot_help[] =
    "Usage: vfiotx [--root DIR] [--proc DIR] boot\n\n"
    "Run by vfiotx-boot.service early at boot: reads the markers on the kernel command line\n"
    "(vfiotx.trial=TXN, vfiotx.fallback=1) and grubenv. A trial boot is recorded; a fallback\n"
    "boot restores the last good snapshot's files and rebuilds; a pending rebuild is done.\n";

int vt_cmd_boot(vt_cli *cli, int argc, char **argv)
{
        _cleanup_snapshot_ vt_snapshot target = {0};
        _cleanup_buf_ vt_buf notes = VT_BUF_INIT;
        vt_boot_kind kind = VT_BOOT_NORMAL;
        vt_engine e;
        long txn = 0;
        int c, r;

        c = vt_cli_no_args(cli, "boot", boot_help, argc, argv);
        if (c >= 0)
                return c;
        r = vt_engine_open(&e, cli->root, VT_ENGINE_WRITE, cli->cmdline, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r >= 0 && !e.state.exists)
                goto out; /* vfiotx never changed this host */
        if (r >= 0)
                r = vt_trial_boot(&e, cli->proc, &kind, &notes);
        vt_cli_notes(cli, notes.ptr);
        vt_buf_clear(&notes);
        if (r < 0)
                goto out;
        if (kind == VT_BOOT_FALLBACK) {
                vt_cli_restore_opts ro = {.kind = "fallback",
                                          .summary = "fallback boot: restore the last good "
                                                     "snapshot and rebuild",
                                          .what = "the last good snapshot",
                                          .question = "",
                                          .yes = true};

                vt_cli_warn(cli,
                            "this is a fallback boot: the trial of transaction %ld did not "
                            "come up healthy; restoring the last good snapshot\n",
                            e.boot.trial_txn);
                r = vt_journal_load(e.journal, &e.state.good, &target, NULL);
                if (r >= 0)
                        r = vt_cli_restore(cli, &e, &target, &ro, &txn);
                if (r >= 0)
                        r = vt_trial_fallback_done(&e, &notes);
                vt_cli_notes(cli, notes.ptr);
        } else if (e.boot.pending_rebuild) {
                /* The applied files are right; the initramfs and boot configuration are not
                 * yet: rebuild them for the applied snapshot. */
                vt_cli_restore_opts ro = {.kind = "rebuild",
                                          .summary = "complete the pending rebuild",
                                          .what = "the applied snapshot",
                                          .question = "",
                                          .yes = true};

                r = vt_engine_head(&e, &target, NULL);
                if (r >= 0)
                        r = vt_cli_restore(cli, &e, &target, &ro, &txn);
        }
out:
        vt_engine_close(&e);
        return r < 0 ? vt_cli_fail(cli, r, "boot") : VT_EXIT_OK;
}
