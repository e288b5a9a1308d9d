/* One table per command: its options, operands and help, from which the parser, `--help`, the
 * man page (docs/vfiotx.8.in, filled in by cli/mkdoc.c at build time) and the bash completion
 * (`vfiotx completion bash`) are all made, so none of them can disagree with another.
 *
 * A command parses its arguments with vt_opts_next() over its own table:
 *
 *     vt_opts p;
 *     vt_opts_init(&p, cli, &vt_command_log, argc, argv);
 *     while ((c = vt_opts_next(&p)) > 0)
 *             switch (c) { case 'p': ...; case OPT_MAX: ... p.arg ...; }
 *     if (c < 0)
 *             return p.exit;   (help printed, or a usage error)
 *     operands: argv[p.next] .. argv[argc - 1]
 *
 * `-h`/`--help` is in every table implicitly and answered by vt_opts_next() itself. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct vt_cli;

/* Option ids: a letter is also the short option (-y); ids from VT_OPT_LONG up are long only. */
#define VT_OPT_LONG 256

typedef struct vt_option {
        int id;           /* what vt_opts_next() returns */
        const char *name; /* the long name, without "--" */
        /* The value's name in help ("FILE", "SEC"); NULL: the option takes none. A value made
         * of lowercase words separated by '|' ("ids|alias") lists every value it accepts (the
         * completion offers them); "FILE" and "DIR" complete paths. */
        const char *arg;
        /* What it does, in sentences; "\n" breaks the line in --help. NULL: a knob for the
         * tests, parsed but never shown. */
        const char *help;
} vt_option;

typedef struct vt_option_group {
        /* Shown as the synopsis of the whole group ("[SPEC]") instead of each option; NULL:
         * each option appears in the synopsis by itself. */
        const char *synopsis;
        const char *title;        /* the heading of the group in --help and the man page */
        const vt_option *options; /* ends with an entry whose name is NULL */
} vt_option_group;

typedef int (*vt_command_fn)(struct vt_cli *cli, int argc, char **argv);

typedef struct vt_command {
        const char *name;
        vt_command_fn run;
        const char *summary; /* one line, in the command list */
        /* The operands in the synopsis, before the options ("[TXN]", "FILE"); NULL: none. */
        const char *operands;
        /* What the operands name, for the completion: "file" (paths), "txn" or NULL. */
        const char *operand_kind;
        const char *description;       /* the paragraphs of --help, each line ending in "\n" */
        const vt_option_group *groups; /* ends with an entry whose options are NULL */
        const char *epilog; /* after the options in --help ("Exit status: ..."), or NULL */
        bool no_git;        /* the command never touches the journal or diffs: skip libgit2 */
        /* The command reads or writes the boot counter: proxmox-boot-tool's ESPs are mounted
         * for its run first (engine/esp_mounts.h), waiting up to esps_wait_s for udev. */
        bool esps;
        bool esps_best_effort; /* a failure to mount them is a warning (status, check) */
        unsigned esps_wait_s;
} vt_command;

/* The command table (cli/commands.c), in the order of `vfiotx --help`, ending with a NULL
 * name; and the global options (before or after the command). */
extern const vt_command *const vt_commands[];
extern const vt_option_group vt_global_options[];
const vt_command *vt_command_find(const char *name);

typedef struct vt_opts {
        struct vt_cli *cli;
        const vt_command *cmd;
        int argc;
        char **argv;
        const char *arg; /* the value of the option just returned */
        int next;        /* after the last option: the index of the first operand */
        int exit;        /* when vt_opts_next() returned -1: the exit code to return */
        char shorts[64];
        int n_long;
        void *longopts; /* struct option[], built from the table */
} vt_opts;

void vt_opts_init(vt_opts *p, struct vt_cli *cli, const vt_command *cmd, int argc, char **argv);
/* The next option's id (> 0); 0 when the options end (p->next: the first operand); -1 when the
 * command must return p->exit now: --help printed (0) or a usage error reported (2). Operands
 * and options may come in any order ("--" ends the options). */
int vt_opts_next(vt_opts *p);

/* The whole parse of a command that takes no options and no operands: -1 to go on, else the
 * exit code. */
int vt_opts_parse_none(struct vt_cli *cli, const vt_command *cmd, int argc, char **argv);

/* Renderings of the table. */
void vt_command_help(FILE *f, const vt_command *cmd);
void vt_main_help(FILE *f);
/* The synopsis after "vfiotx": "apply [SPEC] [-y] [--no-rebuild] ..." (plain text). */
void vt_command_synopsis(FILE *f, const vt_command *cmd);
/* Man page pieces (roff): the command's .TP heading with its synopsis, the .RS list of its
 * options; the global options as .TP entries. */
void vt_command_man_heading(FILE *f, const vt_command *cmd);
void vt_command_man_options(FILE *f, const vt_command *cmd);
void vt_global_man_options(FILE *f);
/* The bash completion script for every command and option. */
void vt_completion_bash(FILE *f);
