/* vfiotx: global options, then one command from the table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/macro.h"
#include "engine/engine.h"
#include "engine/esp_mounts.h"
#include "journal/journal.h"

/* The options that say where the host is (and the other global options) may also follow the
 * command, as a rescue shell user types them ("vfiotx rollback --root /root -y"): take them
 * out of the command's arguments. Returns -1 to go on (with *n the arguments left), or an exit
 * code. --version only before the command. */
static int pull_global_options(vt_cli *cli, char **args, int *n, int count)
{
        int out = 0;

        for (int i = 0; i < count; i++) {
                const vt_option *found = NULL;
                const char *a = args[i], *value = NULL;
                int r;

                if (strcmp(a, "--") == 0) {
                        while (i < count)
                                args[out++] = args[i++];
                        break;
                }
                for (const vt_option_group *g = vt_global_options; g->options && !found; g++)
                        for (const vt_option *o = g->options; o->name && !found; o++) {
                                size_t l = strlen(o->name);

                                if (o->id == VT_GLOBAL_VERSION)
                                        continue;
                                if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, o->name, l) == 0 &&
                                    (a[l + 2] == '\0' || (o->arg && a[l + 2] == '=')))
                                        found = o;
                                else if (o->id < VT_OPT_LONG && a[0] == '-' && a[1] == o->id &&
                                         a[2] == '\0')
                                        found = o;
                        }
                if (!found) {
                        args[out++] = args[i];
                        continue;
                }
                if (found->arg) {
                        const char *eq = strchr(a, '=');

                        if (eq)
                                value = eq + 1;
                        else if (i + 1 < count)
                                value = args[++i];
                        else
                                return vt_cli_usage_error(cli, NULL, "--%s needs a value",
                                                          found->name);
                }
                r = vt_cli_global_option(cli, found->id, value);
                if (r >= 0)
                        return r;
        }
        args[out] = NULL;
        *n = out;
        return -1;
}

/* proxmox-boot-tool's ESPs, where the engine finds them for this run (engine/esp_mounts.h).
 * -1 to go on, or an exit code. */
static int mount_esps(vt_cli *cli, const vt_command *cmd)
{
        vt_esp_mounts m;
        int r = vt_esp_mounts_setup(cli->root, cmd->esps_wait_s, &m);

        if (r < 0 && cmd->esps_best_effort) {
                vt_cli_warn(cli, "%s\n", vt_error_message() ? vt_error_message() : strerror(-r));
                vt_error_clear();
                return -1;
        }
        if (r < 0)
                return vt_cli_fail(cli, r, "mounting the ESPs of proxmox-boot-tool");
        for (size_t i = 0; i < m.n_missing; i++)
                vt_cli_warn(cli,
                            "the ESP %s in /etc/kernel/proxmox-boot-uuids is not there (no "
                            "/dev/disk/by-uuid/%s): its boot entries are left as they are\n",
                            m.missing[i], m.missing[i]);
        vt_esp_mounts_free(&m);
        return -1;
}

int main(int argc, char **argv)
{
        static struct option opts[32];
        vt_cli cli = {.prog = "vfiotx",
                      .root = "/",
                      .sysfs = "/sys",
                      .proc = "/proc",
                      .rebuild_timeout_s = 1800};
        _cleanup_buf_ vt_buf cmdline = VT_BUF_INIT;
        _cleanup_(vt_cli_report_free) vt_cli_report report = {0};
        const vt_command *cmd;
        size_t n = 0;
        int c, r, first, rest = 0;

        for (int i = 0; i < argc; i++)
                vt_buf_printf(&cmdline, "%s%s", i ? " " : "", argv[i]);
        cli.cmdline = cmdline.ptr;
        cli.report = &report;
        /* --json anywhere (before "--") makes even an error in the options before it a JSON
         * document. */
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--json") == 0)
                        cli.json = true;

        for (const vt_option_group *g = vt_global_options; g->options; g++)
                for (const vt_option *o = g->options; o->name; o++)
                        opts[n++] = (struct option){
                            o->name, o->arg ? required_argument : no_argument, NULL, o->id};
        opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
        opts[n] = (struct option){0};
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:vqh", opts, NULL)) != -1) {
                if (c == 'h') {
                        vt_main_help(stdout);
                        return VT_EXIT_OK;
                }
                if (c == '?' || c == ':')
                        return vt_cli_usage_error(&cli, NULL, "%s option '%s'",
                                                  c == '?' ? "unknown" : "a value is missing for",
                                                  argv[optind - 1]);
                r = vt_cli_global_option(&cli, c, optarg);
                if (r >= 0)
                        return r;
        }
        if (optind >= argc) {
                vt_main_help(stderr);
                return VT_EXIT_USAGE;
        }
        cmd = vt_command_find(argv[optind]);
        if (!cmd)
                return vt_cli_usage_error(&cli, NULL, "unknown command '%s'", argv[optind]);
        cli.command = cmd->name;
        first = optind;
        r = pull_global_options(&cli, argv + first + 1, &rest, argc - first - 1);
        if (r >= 0)
                return r;
        if (cmd->esps && (r = mount_esps(&cli, cmd)) >= 0)
                return r;
        /* Starting libgit2 costs milliseconds; the probes do not need it. */
        if (!cmd->no_git)
                (void)vt_journal_global_init();
        r = cmd->run(&cli, rest + 1, argv + first);
        if (!cmd->no_git)
                vt_journal_global_shutdown();
        return r;
}
