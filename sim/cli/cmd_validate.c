/* `mailsim validate FILE...`: loads each scenario file with the same loader
 * `mailsim run` uses (include/mailsim/scenario.h) and reports "FILE: ok" or
 * every error found in it; for a file that loads, the authoring warnings
 * (ms_scenario_warnings) go to stderr as "FILE:LINE: warning: ...", like
 * errors. An experiment file (include/mailsim/experiment.h) gets the checks
 * `mailsim sweep` makes before running: its schema, its scenarios, and
 * every value of every axis loaded once. Warnings do not change the exit status: 0 when all files load,
 * 2 otherwise. */
#include "mailsim/cli.h"
#include "mailsim/scenario.h"
#include "mailsim/sweep.h"

#include <stdio.h>

int
ms_cmd_validate(int argc, char **argv)
{
    const char *cmd = "validate";
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "print nothing for good files", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("FILE... - check scenario files");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Reads each scenario file, validates it against the scenario schema (built into\n"
             "mailsim) and checks its meaning: units, addresses, references between elements.\n"
             "Prints 'FILE: ok' for a good file and every error of a bad one, as\n"
             "'FILE:LINE: what is wrong, what was expected'.\n"
             "A file that loads but will silently lose its point (a sender domain without\n"
             "DNS records, an <expect> that can never hold, a host without links) gets\n"
             "'FILE:LINE: warning: ...' lines on stderr; 'mailsim run' prints them too.\n"
             "An experiment file (<experiment>) gets every check `mailsim sweep` makes before\n"
             "running: its schema, its scenarios, and each value of each axis, loaded.\n"
             "Exit status: 0 when every file loads (with or without warnings), 2 otherwise.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc < 2)
        return ms_cli_usage(cmd, "missing FILE: expected one or more scenario files");
    int rc = MS_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *head = NULL;
        gsize len = 0;
        if (g_file_get_contents(argv[i], &head, &len, NULL) && ms_experiment_sniff(head, len)) {
            g_autoptr(MsExperiment) e = ms_experiment_load_memory(head, len, argv[i], &error);
            g_autoptr(MsSweep) sw = e ? ms_sweep_new_from_experiment(e, &error) : NULL;
            if (!sw || !ms_sweep_check(sw, &error)) {
                fprintf(stderr, "%s\n", error->message);
                rc = MS_EXIT_USAGE;
            } else if (!quiet) {
                printf("%s: ok (experiment: %u grid points x %u seeds)\n", argv[i],
                       ms_sweep_n_points(sw), ms_sweep_n_seeds(sw));
            }
            continue;
        }
        g_autoptr(MsScenario) sc = ms_scenario_load_file(argv[i], &error);
        if (!sc) {
            fprintf(stderr, "%s\n", error->message);
            rc = MS_EXIT_USAGE;
            continue;
        }
        g_autoptr(GPtrArray) warnings = ms_scenario_warnings(sc);
        for (guint k = 0; k < warnings->len; k++)
            fprintf(stderr, "%s\n", (const char *) warnings->pdata[k]);
        if (!quiet)
            printf("%s: ok\n", argv[i]);
    }
    return rc;
}
