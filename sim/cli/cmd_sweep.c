/* `mailsim sweep FILE`: independent replications of a scenario over seeds
 * and a grid of settings (include/mailsim/sweep.h), on --jobs threads; prints
 * each statistic's mean and 95 % confidence interval per grid point, and
 * writes CSV and JSON when asked, and a picture of the results across runs
 * with --plot (viz/sweep_plot.c; the same picture `mailsim render
 * SWEEP.json --kind sweep` draws from the JSON). Exit 0 when every run was built and ran,
 * 1 when a file could not be written, 2 on bad usage or input. */
#include "mailsim/cli.h"
#include "mailsim/sweep.h"
#include "mailsim/sweep_results.h"
#include "mailsim/viz.h"

#include <stdio.h>
#include <string.h>

static gboolean
write_file(const char *cmd, const char *opt, const char *path, const GString *text)
{
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(path, text->str, (gssize) text->len, &error)) {
        fprintf(stderr, "mailsim %s: %s: %s\n", cmd, opt, error->message);
        return FALSE;
    }
    return TRUE;
}

int
ms_cmd_sweep(int argc, char **argv)
{
    const char *cmd = "sweep";
    g_autofree char *seeds_s = NULL, *jobs_s = NULL, *csv_path = NULL, *json_path = NULL,
                    *plot_path = NULL;
    g_auto(GStrv) sets = NULL;
    gboolean quiet = FALSE;
    GOptionEntry entries[] = {
        { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_s,
          "replications: A..B, A,B,C or A (default: the scenario's seed)", "SEEDS" },
        { "jobs", 'j', 0, G_OPTION_ARG_STRING, &jobs_s, "threads to run on (default 1)", "N" },
        { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
          "a grid axis KEY=V1,V2,... (repeatable; see below)", "KEY=VALUES" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "write the summary as CSV", "FILE.csv" },
        { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "write the summary as JSON",
          "FILE.json" },
        { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path,
          "draw the results across runs (.png, .svg, .pdf)", "OUT" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no table on standard output", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("FILE - replications over seeds and a grid of settings");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx,
        "Keys of --set (every key's values form one axis; the first varies slowest):\n"
        "  seed=1..32              replications (as --seeds)\n"
        "  until=TIME              when each run stops\n"
        "  fidelity=packet,flow    transport fidelity\n"
        "  keep-bodies=yes,no      lean mailboxes\n"
        "  policy.FIELD[@HOST]=V   an MTA policy field on every mail server (or the one on HOST):\n"
        "                          retry-first, retry-max, give-up, command-delay (times),\n"
        "                          max-size (size), max-recipients (count), greylist (yes|no)\n"
        "Each statistic is reported as mean +/- the half-width of its 95 % confidence\n"
        "interval (Student t over the replications). Results do not depend on --jobs.\n"
        "--plot draws latency mean/p50/p95, delivered, bounced and queued per grid point:\n"
        "the mean, its 95 % CI bar and every replication (also: mailsim render\n"
        "SWEEP.json --kind sweep, from a --json file).\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc != 2)
        return ms_cli_usage(cmd, argc < 2 ? "missing FILE" : "unexpected argument '%s'",
                            argc < 2 ? "" : argv[2]);
    guint64 jobs = 1;
    if (jobs_s && (!ms_cli_arg_count(cmd, "--jobs", jobs_s, &jobs) || jobs == 0 || jobs > 1024))
        return jobs_s && (jobs == 0 || jobs > 1024)
                   ? ms_cli_usage(cmd, "--jobs: expected 1 to 1024")
                   : MS_EXIT_USAGE;
    g_autoptr(GError) error = NULL;
    MsVizFormat format;
    if (plot_path &&
        (!ms_viz_format_from_path(plot_path, &format, &error) || format == MS_VIZ_FORMAT_HTML))
        return ms_cli_usage(cmd, "--plot: %s",
                            error ? error->message : "expected OUT.png, OUT.svg or OUT.pdf");
    g_autoptr(MsScenario) sc = ms_scenario_load_file(argv[1], &error);
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(MsSweep) sw = ms_sweep_new(sc);
    if (seeds_s && !ms_sweep_set_seeds(sw, seeds_s, &error))
        return ms_cli_usage(cmd, "--seeds: %s", error->message);
    for (char **s = sets; s && *s; s++)
        if (!ms_sweep_set(sw, *s, &error))
            return ms_cli_usage(cmd, "%s", error->message);
    if (!ms_sweep_run(sw, (guint) jobs, &error)) {
        fprintf(stderr, "mailsim sweep: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    int rc = MS_EXIT_OK;
    if (!quiet) {
        g_autoptr(GString) t = g_string_new(NULL);
        ms_sweep_table(sw, t);
        printf("%s: %u grid point%s x %u seed%s\n\n%s", sc->path, ms_sweep_n_points(sw),
               ms_sweep_n_points(sw) == 1 ? "" : "s", ms_sweep_n_seeds(sw),
               ms_sweep_n_seeds(sw) == 1 ? "" : "s", t->str);
    }
    if (csv_path) {
        g_autoptr(GString) t = g_string_new(NULL);
        ms_sweep_csv(sw, t);
        if (!write_file(cmd, "--csv", csv_path, t))
            rc = MS_EXIT_FAILED;
    }
    if (json_path) {
        g_autoptr(GString) t = g_string_new(NULL);
        ms_sweep_json(sw, t);
        if (!write_file(cmd, "--json", json_path, t))
            rc = MS_EXIT_FAILED;
    }
    if (plot_path) {
        g_autoptr(MsSweepResults) r = ms_sweep_results_from_sweep(sw);
        g_autoptr(MsVizCanvas) c = ms_viz_sweep(r, NULL, format, 0, 0, &error);
        if (!c || !ms_viz_canvas_write(c, plot_path, &error)) {
            fprintf(stderr, "mailsim %s: --plot: %s\n", cmd, error->message);
            rc = MS_EXIT_FAILED;
        } else {
            printf("%s\n", plot_path);
        }
    }
    fflush(stdout);
    return rc;
}
