/* completion: the shell completion script, made from the option tables (options.h). */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "cli/cli.h"
#include "common/macro.h"

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
        if (cli->json) {
                _cleanup_free_ char *script = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&script, &len);
                json_object *doc;

                if (!f)
                        return vt_cli_fail(cli, -errno, "completion");
                vt_completion_bash(f);
                fclose(f);
                doc = vt_cli_doc(cli);
                json_object_object_add(doc, "shell", json_object_new_string("bash"));
                json_object_object_add(doc, "script", json_object_new_string(script ? script : ""));
                return vt_cli_emit(cli, doc, VT_OUTCOME_UNCHANGED);
        }
        vt_completion_bash(stdout);
        return VT_EXIT_OK;
}
