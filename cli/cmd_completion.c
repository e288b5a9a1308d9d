/* completion: the shell completion script, made from the option tables (options.h). */
#include <string.h>

#include "cli/cli.h"

const vt_command vt_command_completion = {
    .name = "completion",
    .run = vt_cmd_completion,
    .summary = "print the bash completion script",
    .operands = "bash",
    .description =
        "Print the bash completion of every command and option, made from the same tables as\n"
        "the parser and this help. The package installs it; by hand:\n"
        "  vfiotx completion bash > /etc/bash_completion.d/vfiotx\n",
    .no_git = true,
};

int vt_cmd_completion(vt_cli *cli, int argc, char **argv)
{
        vt_opts p;
        int c;

        vt_opts_init(&p, cli, &vt_command_completion, argc, argv);
        while ((c = vt_opts_next(&p)) > 0)
                ;
        if (c < 0)
                return p.exit;
        if (p.next + 1 != argc || strcmp(argv[p.next], "bash") != 0)
                return vt_cli_usage_error(cli, "completion",
                                          "expected 'bash' (the one shell "
                                          "supported)");
        vt_completion_bash(stdout);
        return VT_EXIT_OK;
}
