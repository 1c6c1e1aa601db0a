/* The command table and argument helpers of the mailsim CLI (see
 * include/mailsim/cli.h). Only commands that work are listed. */
#include "mailsim/cli.h"

#include <sys/resource.h>
#include "mailsim/units.h"
#include "mailsim/embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
    gboolean runs_worlds;   /* long runs: worth huge pages (sim/cli/cli_huge_pages.c) */
} Command;

static const Command commands[] = {
    { "run", "run a scenario (default: the first lesson) and tell what happens", ms_cmd_run, TRUE },
    { "render", "draw a run: hop diagram, sequence chart, plots or a step-through HTML story", ms_cmd_render, FALSE },
    { "validate", "check scenario files against the schema and for meaning", ms_cmd_validate, FALSE },
    { "gen", "write a generated benchmark world as a scenario file", ms_cmd_gen, FALSE },
    { "bridge", "let real SMTP/POP3 clients into a running simulation", ms_cmd_bridge, FALSE },
    { "bench", "benchmark the engine (PHOLD) and print figures", ms_cmd_bench, TRUE },
    { "sweep", "replications over seeds and a grid of settings, with confidence intervals", ms_cmd_sweep, TRUE },
    { "merge", "join the per-part traces of a partitioned (MPI) run into one", ms_cmd_merge, FALSE },
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
        printf("mailsim 0.1\n");
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

int
ms_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "mailsim %s: %s\nTry 'mailsim %s --help'.\n", cmd, msg, cmd);
    return MS_EXIT_USAGE;
}

gboolean
ms_cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv)
{
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        ms_cli_usage(cmd, "%s", error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_time(const char *cmd, const char *opt, const char *value, MsTime *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_time(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_size(const char *cmd, const char *opt, const char *value, guint64 *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_size(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_count(const char *cmd, const char *opt, const char *value, guint64 *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_count(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_fidelity(const char *cmd, const char *opt, const char *value, gint *out)
{
    if (g_strcmp0(value, "packet") == 0)
        *out = 0;
    else if (g_strcmp0(value, "flow") == 0)
        *out = 1;
    else {
        ms_cli_usage(cmd, "%s: '%s' is not a fidelity: expected packet or flow", opt, value ? value : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_yes_no(const char *cmd, const char *opt, const char *value, gint *out)
{
    if (g_strcmp0(value, "yes") == 0 || g_strcmp0(value, "true") == 0)
        *out = 1;
    else if (g_strcmp0(value, "no") == 0 || g_strcmp0(value, "false") == 0)
        *out = 0;
    else {
        ms_cli_usage(cmd, "%s: '%s': expected yes or no", opt, value ? value : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_fraction(const char *cmd, const char *opt, const char *value, double *out)
{
    char *end = NULL;
    double v = value ? g_ascii_strtod(value, &end) : 0;
    if (!value || end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
        ms_cli_usage(cmd, "%s: '%s' is not a valid fraction: expected a number from 0 to 1",
                     opt, value ? value : "");
        return FALSE;
    }
    *out = v;
    return TRUE;
}

MsScenario *
ms_cli_load_scenario(const char *file, GError **error)
{
    if (file)
        return ms_scenario_load_file(file, error);
    gsize len = 0;
    const guint8 *data = ms_embedded_get(MS_CLI_DEFAULT_SCENARIO, &len);
    if (!data) {
        g_set_error(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO,
                    "the built-in scenario %s is missing from this build", MS_CLI_DEFAULT_SCENARIO);
        return NULL;
    }
    return ms_scenario_load_memory((const char *) data, len, MS_CLI_DEFAULT_SCENARIO, error);
}

gboolean
ms_cli_arg_level(const char *cmd, const char *value, MsNarrateLevel *out)
{
    static const struct { const char *name; MsNarrateLevel level; } levels[] = {
        { "mail", MS_NARRATE_MAIL }, { "protocol", MS_NARRATE_PROTOCOL }, { "packets", MS_NARRATE_PACKETS },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(levels); i++)
        if (g_strcmp0(value, levels[i].name) == 0) {
            *out = levels[i].level;
            return TRUE;
        }
    ms_cli_usage(cmd, "--level: '%s' is not a level: expected mail, protocol or packets", value ? value : "");
    return FALSE;
}

long
ms_cli_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* kilobytes on Linux */
}
