/* The option tables and what is made from them (options.h). */
#include "cli/options.h"

#include <ctype.h>
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_OPTIONS 40

static const vt_option help_option = {'h', "help", NULL, "this help"};

const vt_command *vt_command_find(const char *name)
{
        for (size_t i = 0; vt_commands[i]; i++)
                if (strcmp(vt_commands[i]->name, name) == 0)
                        return vt_commands[i];
        return NULL;
}

static bool is_short(int id)
{
        return id > 0 && id < VT_OPT_LONG && isalnum(id);
}

void vt_opts_init(vt_opts *p, vt_cli *cli, const vt_command *cmd, int argc, char **argv)
{
        static struct option longopts[MAX_OPTIONS + 1];
        size_t ns = 0;
        int n = 0;

        *p = (vt_opts){.cli = cli, .cmd = cmd, .argc = argc, .argv = argv, .longopts = longopts};
        /* "+" is not used: options may follow operands ("rollback 3 -y"); ":" reports a missing
         * value apart from an unknown option. */
        p->shorts[ns++] = ':';
        for (const vt_option_group *g = cmd->groups; g && g->options; g++)
                for (const vt_option *o = g->options; o->name && n < MAX_OPTIONS - 1; o++) {
                        longopts[n++] = (struct option){
                            o->name, o->arg ? required_argument : no_argument, NULL, o->id};
                        if (is_short(o->id) && ns + 3 < sizeof(p->shorts)) {
                                p->shorts[ns++] = (char)o->id;
                                if (o->arg)
                                        p->shorts[ns++] = ':';
                        }
                }
        longopts[n++] = (struct option){help_option.name, no_argument, NULL, 'h'};
        longopts[n] = (struct option){0};
        p->shorts[ns++] = 'h';
        p->shorts[ns] = '\0';
        p->n_long = n;
        /* main() ran getopt_long over the global options; start over on the command's argv. */
        optind = 0;
        opterr = 0;
}

int vt_opts_next(vt_opts *p)
{
        int c = getopt_long(p->argc, p->argv, p->shorts, p->longopts, NULL);

        p->arg = optarg;
        if (c == -1) {
                p->next = optind;
                return 0;
        }
        if (c == 'h') {
                vt_command_help(stdout, p->cmd);
                p->exit = VT_EXIT_OK;
                return -1;
        }
        if (c == ':') {
                p->exit = vt_cli_usage_error(p->cli, p->cmd->name, "option '%s' needs a value",
                                             p->argv[optind - 1]);
                return -1;
        }
        if (c == '?') {
                p->exit = vt_cli_usage_error(p->cli, p->cmd->name, "unknown option '%s'",
                                             p->argv[optind - 1]);
                return -1;
        }
        return c;
}

/* "-y, --yes" or "    --force", with " FILE" when it takes a value. */
static int option_label(char *buf, size_t size, const vt_option *o)
{
        char lead[8] = "    ";

        if (is_short(o->id))
                snprintf(lead, sizeof(lead), "-%c, ", o->id);
        return snprintf(buf, size, "%s--%s%s%s", lead, o->name, o->arg ? " " : "",
                        o->arg ? o->arg : "");
}

static void help_options(FILE *f, const vt_option *opts, bool with_help)
{
        for (const vt_option *o = opts; o->name; o++) {
                char label[96];
                const char *h = o->help;

                if (!h)
                        continue;
                option_label(label, sizeof(label), o);
                if (strlen(label) > 24)
                        fprintf(f, "  %s\n%28s", label, "");
                else
                        fprintf(f, "  %-24s  ", label);
                for (const char *s = h; *s; s++) {
                        fputc(*s, f);
                        if (*s == '\n' && s[1])
                                fprintf(f, "%28s", "");
                }
                fputc('\n', f);
        }
        if (with_help) {
                char label[96];

                option_label(label, sizeof(label), &help_option);
                fprintf(f, "  %-24s  %s\n", label, help_option.help);
        }
}

static void synopsis(FILE *f, const vt_command *cmd, bool man);

void vt_command_synopsis(FILE *f, const vt_command *cmd)
{
        synopsis(f, cmd, false);
}

void vt_command_help(FILE *f, const vt_command *cmd)
{
        fprintf(f, "Usage: vfiotx [GLOBAL OPTIONS] ");
        vt_command_synopsis(f, cmd);
        fprintf(f, "\n\n%s\n", cmd->description);
        bool have_options = false;

        for (const vt_option_group *g = cmd->groups; g && g->options; g++) {
                /* -h joins the group called "Options", the last one */
                bool last = !g[1].options && strcmp(g->title, "Options") == 0;

                fprintf(f, "%s:\n", g->title);
                help_options(f, g->options, last);
                fputc('\n', f);
                have_options |= last;
        }
        if (!have_options) {
                fprintf(f, "Options:\n");
                help_options(f, (const vt_option[]){{0}}, true);
                fputc('\n', f);
        }
        fprintf(f, "Global options ('vfiotx --help') may come before or after the command.\n");
        if (cmd->epilog)
                fprintf(f, "\n%s", cmd->epilog);
}

void vt_main_help(FILE *f)
{
        fprintf(f, "Usage: vfiotx [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
                   "Prepare a host for VFIO PCI passthrough as one transaction with rollback.\n\n"
                   "Commands:\n");
        for (size_t i = 0; vt_commands[i]; i++)
                fprintf(f, "  %-10s  %s\n", vt_commands[i]->name, vt_commands[i]->summary);
        for (const vt_option_group *g = vt_global_options; g->options; g++) {
                fprintf(f, "\n%s:\n", g->title);
                help_options(f, g->options, g[1].options == NULL);
        }
        fprintf(f, "\nExit status: 0 done or nothing to do, 1 failed or refused, 2 usage error.\n"
                   "'vfiotx COMMAND --help' for a command. See vfiotx(8).\n");
}

/* roff: escape '-' and '\' so that options print as typed. */
static void roff(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '-')
                        fputs("\\-", f);
                else if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '\n')
                        fputc(s[1] ? ' ' : '\n', f);
                else
                        fputc(*s, f);
        }
}

/* A piece of the synopsis: in roff, bold (a name as typed) or italic (a placeholder). */
static void piece(FILE *f, bool man, bool italic, const char *text)
{
        if (!man) {
                fputs(text, f);
                return;
        }
        fputs(italic ? "\\fI" : "\\fB", f);
        roff(f, text);
        fputs("\\fR", f);
}

/* "apply [SPEC] [-y] [--tries N]": the command, its operands, then each group's synopsis or
 * each of its shown options. */
static void synopsis(FILE *f, const vt_command *cmd, bool man)
{
        piece(f, man, false, cmd->name);
        if (cmd->operands) {
                fputc(' ', f);
                piece(f, man, true, cmd->operands);
        }
        for (const vt_option_group *g = cmd->groups; g && g->options; g++) {
                if (g->synopsis) {
                        fputc(' ', f);
                        piece(f, man, true, g->synopsis);
                        continue;
                }
                for (const vt_option *o = g->options; o->name; o++) {
                        char name[64];

                        if (!o->help)
                                continue;
                        if (is_short(o->id))
                                snprintf(name, sizeof(name), "-%c", o->id);
                        else
                                snprintf(name, sizeof(name), "--%s", o->name);
                        fputs(" [", f);
                        piece(f, man, false, name);
                        if (o->arg) {
                                fputc(' ', f);
                                piece(f, man, true, o->arg);
                        }
                        fputc(']', f);
                }
        }
}

static void man_option(FILE *f, const vt_option *o)
{
        fputs(".TP\n", f);
        if (is_short(o->id))
                fprintf(f, "\\fB\\-%c\\fR, ", o->id);
        fputs("\\fB\\-\\-", f);
        roff(f, o->name);
        fputs("\\fR", f);
        if (o->arg) {
                fputs(" \\fI", f);
                roff(f, o->arg);
                fputs("\\fR", f);
        }
        fputc('\n', f);
        roff(f, o->help);
        fputc('\n', f);
}

void vt_command_man_heading(FILE *f, const vt_command *cmd)
{
        fputs(".TP\n", f);
        synopsis(f, cmd, true);
        fputc('\n', f);
}

void vt_command_man_options(FILE *f, const vt_command *cmd)
{
        for (const vt_option_group *g = cmd->groups; g && g->options; g++) {
                fputs(".IP\n", f);
                roff(f, g->title);
                fputs(":\n.RS\n", f);
                for (const vt_option *o = g->options; o->name; o++)
                        if (o->help)
                                man_option(f, o);
                fputs(".RE\n", f);
        }
}

void vt_global_man_options(FILE *f)
{
        for (const vt_option_group *g = vt_global_options; g->options; g++)
                for (const vt_option *o = g->options; o->name; o++)
                        if (o->help)
                                man_option(f, o);
}

/* The words of an option list for compgen: "--yes -y --no-rebuild". */
static void completion_words(FILE *f, const vt_option_group *groups)
{
        for (const vt_option_group *g = groups; g && g->options; g++)
                for (const vt_option *o = g->options; o->name; o++) {
                        if (!o->help)
                                continue;
                        fprintf(f, " --%s", o->name);
                        if (is_short(o->id))
                                fprintf(f, " -%c", o->id);
                }
}

/* The bash case labels of the options that take a value of one kind. */
static void completion_values(FILE *f, const vt_option_group *groups)
{
        for (const vt_option_group *g = groups; g && g->options; g++)
                for (const vt_option *o = g->options; o->name; o++) {
                        const char *a = o->arg;
                        bool words = a != NULL;

                        if (!a)
                                continue;
                        for (const char *s = a; *s; s++)
                                words &= islower((unsigned char)*s) || *s == '|' || *s == '-';
                        fprintf(f, "        --%s", o->name);
                        if (is_short(o->id))
                                fprintf(f, "|-%c", o->id);
                        if (strcmp(a, "DIR") == 0)
                                fprintf(f, ") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
                        else if (strcmp(a, "FILE") == 0)
                                fprintf(f, ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
                        else if (strncmp(a, "BDF", 3) == 0)
                                fprintf(f, ") COMPREPLY=($(compgen -W \"$(_vfiotx_devices)\" -- "
                                           "\"$cur\")); return ;;\n");
                        else if (words) {
                                fprintf(f, ") COMPREPLY=($(compgen -W \"");
                                for (const char *s = a; *s; s++)
                                        fputc(*s == '|' ? ' ' : *s, f);
                                fprintf(f, "\" -- \"$cur\")); return ;;\n");
                        } else
                                fprintf(f, ") COMPREPLY=(); return ;;\n");
                }
}

void vt_completion_bash(FILE *f)
{
        fprintf(f,
                "# bash completion for vfiotx, made from its option tables (vfiotx completion "
                "bash)\n"
                /* Device addresses and transaction numbers come from vfiotx itself, on the
                 * host the command line names (--root, --sysfs, --proc). */
                "_vfiotx_host()\n{\n"
                "    local i\n"
                "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
                "        case ${COMP_WORDS[i]} in\n"
                "        --root | --sysfs | --proc) printf '%%s %%s ' \"${COMP_WORDS[i]}\" "
                "\"${COMP_WORDS[i + 1]}\" ;;\n"
                "        --root=* | --sysfs=* | --proc=*) printf '%%s ' \"${COMP_WORDS[i]}\" ;;\n"
                "        esac\n"
                "    done\n"
                "}\n"
                "_vfiotx_devices()\n{\n"
                "    \"${COMP_WORDS[0]}\" $(_vfiotx_host) devices 2>/dev/null | "
                "awk 'NR > 1 { print $1 }'\n"
                "}\n"
                "_vfiotx_txns()\n{\n"
                "    \"${COMP_WORDS[0]}\" $(_vfiotx_host) log 2>/dev/null | "
                "awk '$1 ~ /^[0-9]+$/ { print $1 }'\n"
                "}\n"
                "_vfiotx()\n{\n"
                "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                "    local cmd= i\n"
                "    local commands=\"");
        for (size_t i = 0; vt_commands[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", vt_commands[i]->name);
        fprintf(f, "\"\n    local global=\"");
        completion_words(f, vt_global_options);
        fprintf(f, " --help --version\"\n"
                   "    case $prev in\n");
        completion_values(f, vt_global_options);
        for (size_t i = 0; vt_commands[i]; i++)
                completion_values(f, vt_commands[i]->groups);
        fprintf(f, "    esac\n"
                   "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
                   "        case \" $commands \" in *\" ${COMP_WORDS[i]} \"*) "
                   "cmd=${COMP_WORDS[i]}; break ;; esac\n"
                   "    done\n"
                   "    if [[ -z $cmd ]]; then\n"
                   "        if [[ $cur == -* ]]; then\n"
                   "            COMPREPLY=($(compgen -W \"$global\" -- \"$cur\"))\n"
                   "        else\n"
                   "            COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))\n"
                   "        fi\n"
                   "        return\n"
                   "    fi\n"
                   "    local opts=\n"
                   "    case $cmd in\n");
        for (size_t i = 0; vt_commands[i]; i++) {
                const vt_command *c = vt_commands[i];

                fprintf(f, "        %s) opts=\"", c->name);
                completion_words(f, c->groups);
                fprintf(f, " --help\"");
                if (c->operand_kind && strcmp(c->operand_kind, "file") == 0)
                        fprintf(f, "; [[ $cur != -* ]] && { COMPREPLY=($(compgen -f -- "
                                   "\"$cur\")); return; }");
                else if (c->operand_kind && strcmp(c->operand_kind, "txn") == 0)
                        fprintf(f, "; [[ $cur != -* ]] && { COMPREPLY=($(compgen -W "
                                   "\"$(_vfiotx_txns)\" -- \"$cur\")); return; }");
                fprintf(f, " ;;\n");
        }
        fprintf(f, "    esac\n"
                   "    [[ $cur == -* ]] && COMPREPLY=($(compgen -W \"$opts $global\" -- "
                   "\"$cur\"))\n"
                   "}\n"
                   "complete -F _vfiotx vfiotx\n");
}

int vt_opts_parse_none(vt_cli *cli, const vt_command *cmd, int argc, char **argv)
{
        vt_opts p;
        int c;

        vt_opts_init(&p, cli, cmd, argc, argv);
        while ((c = vt_opts_next(&p)) > 0)
                ;
        if (c < 0)
                return p.exit;
        if (p.next < argc)
                return vt_cli_usage_error(cli, cmd->name, "unexpected argument '%s'", argv[p.next]);
        return -1;
}
