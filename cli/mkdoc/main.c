/* vfiotx-mkdoc: the man page from its template and the option tables, at build time.
 *
 *   vfiotx-mkdoc TEMPLATE OUTPUT
 *
 * The template (docs/vfiotx.8.in) is roff with three kinds of placeholder lines:
 * "@COMMAND name@" (the command's .TP heading with its synopsis), "@OPTIONS name@" (its options,
 * as a list) and "@GLOBAL_OPTIONS@". Every command must have both of its placeholders exactly
 * once, so a command added to the table without its man page entry fails the build. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
        unsigned seen[64][2] = {{0}};
        char line[4096];
        FILE *in, *out;
        int bad = 0;

        if (argc != 3) {
                fprintf(stderr, "usage: vfiotx-mkdoc TEMPLATE OUTPUT\n");
                return 2;
        }
        in = fopen(argv[1], "re");
        out = fopen(argv[2], "we");
        if (!in || !out) {
                fprintf(stderr, "vfiotx-mkdoc: %s: %s\n", !in ? argv[1] : argv[2], strerror(errno));
                return 1;
        }
        for (unsigned ln = 1; fgets(line, sizeof(line), in); ln++) {
                char name[64];
                const vt_command *cmd;
                int kind;

                if (strcmp(line, "@GLOBAL_OPTIONS@\n") == 0) {
                        vt_global_man_options(out);
                        continue;
                }
                if (sscanf(line, "@COMMAND %63[a-z-]@", name) == 1)
                        kind = 0;
                else if (sscanf(line, "@OPTIONS %63[a-z-]@", name) == 1)
                        kind = 1;
                else {
                        if (line[0] == '@') {
                                fprintf(stderr, "%s:%u: unknown placeholder %s", argv[1], ln, line);
                                bad = 1;
                        }
                        fputs(line, out);
                        continue;
                }
                cmd = vt_command_find(name);
                if (!cmd) {
                        fprintf(stderr, "%s:%u: no command '%s'\n", argv[1], ln, name);
                        bad = 1;
                        continue;
                }
                for (size_t i = 0; vt_commands[i] && i < 64; i++)
                        if (vt_commands[i] == cmd)
                                seen[i][kind]++;
                if (kind == 0)
                        vt_command_man_heading(out, cmd);
                else
                        vt_command_man_options(out, cmd);
        }
        for (size_t i = 0; vt_commands[i] && i < 64; i++)
                for (int k = 0; k < 2; k++)
                        if (seen[i][k] != 1) {
                                fprintf(stderr, "%s: @%s %s@ appears %u times, not once\n", argv[1],
                                        k ? "OPTIONS" : "COMMAND", vt_commands[i]->name,
                                        seen[i][k]);
                                bad = 1;
                        }
        if (fclose(out) != 0 || bad) {
                remove(argv[2]);
                return 1;
        }
        fclose(in);
        return 0;
}
