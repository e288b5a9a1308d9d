#include <stdio.h>

#include "engine/cli.h"

/* Placeholder until the host probe lands: says so plainly instead of pretending. */
int vt_cmd_devices(vt_cli *cli, int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "%s devices: the host probe is not part of this build\n", cli->prog);
        return VT_EXIT_FAIL;
}
