#include <stdio.h>

#include "engine/cli.h"

/* Placeholder so the binary links on this branch; the journal/engine work replaces this file. */
int vt_cmd_status(vt_cli *cli, int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "%s status: this command is not part of this build yet\n", cli->prog);
        return VT_EXIT_FAIL;
}
