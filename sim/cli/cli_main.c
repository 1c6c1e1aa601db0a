/* The command table of the mailsim CLI and its entry point (see
 * include/mailsim/cli.h): `mailsim CMD ...` runs the command's function
 * with the arguments after CMD. Only commands that work are listed. The
 * top of sim/cli/: it calls the commands (cmd_*.c), which call the helpers
 * in cli.c; nothing calls it but main(). */
#include "mailsim/cli.h"
#include "mailsim/sweep.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
    gboolean runs_worlds; /* long runs: worth huge pages (sim/cli/cli_huge_pages.c) */
} Command;

static const Command commands[] = {
    { "run", "run a scenario (default: the first lesson) and tell what happens", ms_cmd_run, TRUE },
    { "render", "draw a run: hop diagram, sequence chart, plots or a step-through HTML story",
      ms_cmd_render, FALSE },
    { "validate", "check scenario files against the schema and for meaning", ms_cmd_validate,
      FALSE },
    { "gen", "write a generated benchmark world as a scenario file", ms_cmd_gen, FALSE },
    { "bridge", "let real SMTP/POP3 clients into a running simulation", ms_cmd_bridge, FALSE },
    { "bench", "benchmark the engine (PHOLD) and print figures", ms_cmd_bench, TRUE },
    { "sweep", "replications over seeds and a grid of settings, with confidence intervals",
      ms_cmd_sweep, TRUE },
    { "compare", "the difference between two grid points of a sweep, with its 95 % CI",
      ms_cmd_compare, FALSE },
    { "merge", "join the per-part traces of a partitioned (MPI) run into one", ms_cmd_merge,
      FALSE },
};

static void
print_help(FILE *out)
{
    fprintf(out, "Usage: mailsim COMMAND [OPTIONS] [ARGS]\n\n"
                 "A discrete-event network simulator of email delivery.\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'mailsim COMMAND --help' for the options of a command.\n");
}

int
ms_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return MS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help(stdout);
        return MS_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("mailsim " MS_MAILSIM_VERSION "\n");
        return MS_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strcmp(cmd, commands[i].name) == 0) {
            if (commands[i].runs_worlds)
                ms_cli_prefer_huge_pages(argv);
            return commands[i].main(argc - 1, argv + 1);
        }
    fprintf(stderr, "mailsim: unknown command '%s'\n", cmd);
    print_help(stderr);
    return MS_EXIT_USAGE;
}
