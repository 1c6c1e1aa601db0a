/* `mailsim sweep FILE`: independent replications of a scenario over seeds
 * and a grid of settings (include/mailsim/sweep.h), or of an experiment
 * file (include/mailsim/experiment.h), on --jobs threads, or shared by the
 * ranks of mpirun (--mpi: rank 0 plans, sends the other ranks what its
 * results folder holds, and gathers their results over MPI, exactly);
 * resumable from a results folder (--results);
 * prints each statistic's mean and 95 % confidence interval per grid point,
 * writes the summary CSV, the tidy CSV (one row per run and statistic) and
 * JSON when asked, and a picture of the results across runs with --plot
 * (viz/sweep_plot.c; the same picture `mailsim render SWEEP.json --kind
 * sweep` draws from the JSON). A progress line (runs done, runs left, time
 * left) goes to standard error. Exit 0 when every run was built and ran, 1
 * when a file could not be written, 2 on bad usage or input. */
#include "mailsim/cli.h"
#include "mailsim/output_file.h"
#include "mailsim/mpi_run.h"
#include "mailsim/sweep.h"
#include "mailsim/sweep_results.h"
#include "mailsim/viz.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes an output (include/mailsim/output_file.h: "-" is standard
 * output; links and devices are written through, never replaced). */
static gboolean
write_file(const char *cmd, const char *opt, const char *path, const GString *text)
{
    g_autoptr(GError) error = NULL;
    if (!ms_output_file_write(path, text->str, text->len, &error)) {
        fprintf(stderr, "mailsim %s: %s: %s\n", cmd, opt, error->message);
        return FALSE;
    }
    return TRUE;
}

/* The progress line: runs done, runs left, and the time left at the pace
 * so far. On a terminal it is redrawn in place; otherwise a line at most
 * every 10 s, and the last one. Wall-clock time only for this estimate. */
typedef struct {
    gint64 start, last;
    gboolean tty;
    const char *prefix;
} Progress;

static void
format_duration(char *buf, gsize size, double s)
{
    if (s < 60)
        g_snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        g_snprintf(buf, size, "%dm%02ds", (int) (s / 60), (int) s % 60);
    else
        g_snprintf(buf, size, "%dh%02dm", (int) (s / 3600), (int) (s / 60) % 60);
}

static void
on_progress(guint done, guint total, gpointer user)
{
    Progress *p = user;
    gint64 now = g_get_monotonic_time();
    if (!p->tty && done < total && now - p->last < 10 * G_USEC_PER_SEC)
        return;
    p->last = now;
    double elapsed = (double) (now - p->start) / G_USEC_PER_SEC;
    char eta[32], took[32];
    format_duration(eta, sizeof eta, done ? elapsed / done * (total - done) : 0);
    format_duration(took, sizeof took, elapsed);
    if (done < total)
        fprintf(stderr, "%s%s%u/%u runs done, %u left, about %s left (%s so far)%s",
                p->tty ? "\r" : "", p->prefix, done, total, total - done, eta, took,
                p->tty ? "\033[K" : "\n");
    else
        fprintf(stderr, "%s%s%u/%u runs done in %s%s\n", p->tty ? "\r" : "", p->prefix, done, total,
                took, p->tty ? "\033[K" : "");
    fflush(stderr);
}

/* Says what the results folder holds and what is left to run. */
static void
say_plan(const MsSweep *sw, const char *store)
{
    MsSweepCounts c;
    ms_sweep_counts(sw, &c);
    if (!store) {
        fprintf(stderr, "sweep: %u run%s (%u point%s x %u seed%s)\n", c.total,
                c.total == 1 ? "" : "s", ms_sweep_n_points(sw),
                ms_sweep_n_points(sw) == 1 ? "" : "s", ms_sweep_n_seeds(sw),
                ms_sweep_n_seeds(sw) == 1 ? "" : "s");
        return;
    }
    if (c.to_run == 0)
        fprintf(stderr, "sweep: results %s: all %u runs are stored; nothing to run\n", store,
                c.total);
    else if (c.stored == 0 && c.other_version == 0 && c.unreadable == 0)
        fprintf(stderr, "sweep: results %s: running all %u runs\n", store, c.total);
    else
        fprintf(stderr, "sweep: results %s: %u of %u runs are stored; running the %u missing\n",
                store, c.stored, c.total, c.to_run);
    if (c.other_version)
        fprintf(stderr,
                "sweep: running again %u run%s stored by mailsim %s (this is mailsim %s); their "
                "files are replaced\n",
                c.other_version, c.other_version == 1 ? "" : "s", c.other_version_name,
                MS_MAILSIM_VERSION);
    if (c.unreadable)
        fprintf(stderr, "sweep: %u stored run%s did not read back (damaged?): running again\n",
                c.unreadable, c.unreadable == 1 ? "" : "s");
}

/* How many processes mpirun started with this one (from the environment
 * Open MPI and MPICH give their processes), 0 outside mpirun. */
static guint
mpi_ranks_launched(void)
{
    const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE" };
    for (guint i = 0; i < G_N_ELEMENTS(vars); i++) {
        const char *v = g_getenv(vars[i]);
        if (v && *v)
            return (guint) g_ascii_strtoull(v, NULL, 10);
    }
    return 0;
}

static char **
split_list(const char *s)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    GPtrArray *out = g_ptr_array_new();
    for (char **p = parts; *p; p++)
        if (*g_strstrip(*p))
            g_ptr_array_add(out, g_strdup(*p));
    g_ptr_array_add(out, NULL);
    return (char **) g_ptr_array_free(out, FALSE);
}

int
ms_cmd_sweep(int argc, char **argv)
{
    const char *cmd = "sweep";
    g_autofree char *seeds_s = NULL, *jobs_s = NULL, *csv_path = NULL, *json_path = NULL,
                    *plot_path = NULL, *tidy_path = NULL, *stats_s = NULL, *store = NULL,
                    *max_s = NULL, *plot_x = NULL, *plot_split = NULL;
    g_auto(GStrv) sets = NULL;
    g_auto(GStrv) zips = NULL;
    gboolean quiet = FALSE, yes = FALSE, rerun_other = FALSE, no_progress = FALSE, mpi = FALSE,
             dry_run = FALSE, keep_records = FALSE;
    GOptionEntry entries[] = {
        { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_s,
          "replications: A..B, A,B,C or A (default: the scenario's seed)", "SEEDS" },
        { "jobs", 'j', 0, G_OPTION_ARG_STRING, &jobs_s, "threads to run on (default 1)", "N" },
        { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets,
          "a grid axis KEY=V1,V2,... (repeatable; see below)", "KEY=VALUES" },
        { "zip", 0, 0, G_OPTION_ARG_STRING_ARRAY, &zips,
          "axes that vary together: KEY=VALUES;KEY=VALUES (repeatable)", "K=V;K=V" },
        { "stats", 0, 0, G_OPTION_ARG_STRING, &stats_s,
          "the statistics to report, in order (default: all)", "A,B,..." },
        { "results", 'r', 0, G_OPTION_ARG_FILENAME, &store,
          "keep every run in DIR; a rerun runs only what is missing", "DIR" },
        { "rerun-other-versions", 0, 0, G_OPTION_ARG_NONE, &rerun_other,
          "run again (and replace) runs that DIR holds from another mailsim version", NULL },
        { "max-points", 0, 0, G_OPTION_ARG_STRING, &max_s,
          "refuse grids of more points than N without --yes (default 200)", "N" },
        { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "run a grid larger than the limit", NULL },
        { "keep-records", 0, 0, G_OPTION_ARG_NONE, &keep_records,
          "jobs keep every message's record to the end (exact latency quantiles however many "
          "messages; by default finished messages are folded into the statistics)",
          NULL },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
          "write the summary (mean, 95 % CI per point and statistic) as CSV ('-': stdout)",
          "FILE.csv" },
        { "tidy", 0, 0, G_OPTION_ARG_FILENAME, &tidy_path,
          "write every run as tidy CSV (one row per run and statistic)", "FILE.csv" },
        { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path,
          "write the summary and every run as JSON", "FILE.json" },
        { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path,
          "draw the results across runs (.png, .svg, .pdf)", "OUT" },
        { "x", 0, 0, G_OPTION_ARG_STRING, &plot_x, "the plot's x axis: an axis name", "AXIS" },
        { "split", 0, 0, G_OPTION_ARG_STRING, &plot_split,
          "the plot's small multiples: one column per value of this axis", "AXIS" },
        { "mpi", 0, 0, G_OPTION_ARG_NONE, &mpi,
          "under mpirun: the ranks share the runs, rank 0 gathers the results and writes the "
          "outputs",
          NULL },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
          "check everything, print the grid and what is stored, run nothing", NULL },
        { "no-progress", 0, 0, G_OPTION_ARG_NONE, &no_progress, "no progress line", NULL },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no table on standard output", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "FILE - replications over seeds and a grid of settings (FILE: a scenario or an "
        "experiment)");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx,
        "Axes of --set (every axis is one dimension of the grid; the first varies slowest):\n"
        "  XPATH=V1,V2,...         any attribute of the scenario, e.g.\n"
        "                          '//link[@a='r-isp']/@loss=0,1%,5%'\n"
        "                          '//generate/@messages=1e3..1e5*3'\n"
        "  NAME=XPATH=VALUES       the same, with the column named NAME\n"
        "  seed=1..32              replications (as --seeds)\n"
        "  until=TIME              when each run stops\n"
        "  fidelity=packet,flow    transport fidelity\n"
        "  keep-bodies=yes,no      lean mailboxes\n"
        "  policy.FIELD[@HOST]=V   an MTA policy field on every mail server (or the one on HOST):\n"
        "                          retry-first, retry-max, give-up, command-delay (times),\n"
        "                          max-size (size), max-recipients (count), greylist (yes|no),\n"
        "                          greylist-delay (time)\n"
        "Values keep their units. A..B/N: N evenly spaced values (10ms..100ms/10);\n"
        "A..B*N: N values spaced on a log scale (1e3..1e6*4 = 1000,10000,100000,1000000).\n"
        "An experiment file (<experiment>, scenarios/schema/experiment.rng) says all of this\n"
        "and its outputs itself; --set, --zip, --seeds and --stats are then refused.\n"
        "Each statistic is reported as mean +/- the half-width of its 95 % confidence\n"
        "interval (Student t over the replications). Results do not depend on --jobs, nor\n"
        "on interruptions: with --results DIR a sweep killed midway resumes where it stopped.\n"
        "Compare two grid points: mailsim compare RESULTS.json A B.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc != 2)
        return ms_cli_usage(cmd, argc < 2 ? "missing FILE" : "unexpected argument '%s'",
                            argc < 2 ? "" : argv[2]);
    guint64 jobs = 1, max_points = 0;
    if (jobs_s && (!ms_cli_arg_count(cmd, "--jobs", jobs_s, &jobs) || jobs == 0 || jobs > 1024))
        return jobs_s && (jobs == 0 || jobs > 1024)
                   ? ms_cli_usage(cmd, "--jobs: expected 1 to 1024")
                   : MS_EXIT_USAGE;
    if (max_s && (!ms_cli_arg_count(cmd, "--max-points", max_s, &max_points) || max_points == 0 ||
                  max_points > MS_SWEEP_MAX_POINTS))
        return max_points == 0 || max_points > MS_SWEEP_MAX_POINTS
                   ? ms_cli_usage(cmd, "--max-points: expected 1 to %u", MS_SWEEP_MAX_POINTS)
                   : MS_EXIT_USAGE;
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(argv[1], &data, &len, &error)) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(MsSweep) sw = NULL;
    g_autoptr(MsExperiment) exp = NULL;
    if (ms_experiment_sniff(data, len)) {
        if (seeds_s || sets || zips || stats_s)
            return ms_cli_usage(cmd,
                                "%s is an experiment: its axes, seeds and statistics are in the "
                                "file (--set, --zip, --seeds and --stats are for scenarios)",
                                argv[1]);
        exp = ms_experiment_load_memory(data, len, argv[1], &error);
        if (exp)
            sw = ms_sweep_new_from_experiment(exp, &error);
        if (!sw) {
            fprintf(stderr, "%s\n", error->message);
            return MS_EXIT_USAGE;
        }
        /* the command line's outputs win over the file's */
#define FROM_FILE(var, field)                                                                      \
    if (!var && exp->field)                                                                        \
        var = g_strdup(exp->field);
        FROM_FILE(store, results)
        FROM_FILE(csv_path, csv)
        FROM_FILE(tidy_path, tidy)
        FROM_FILE(json_path, json)
        FROM_FILE(plot_path, plot)
        FROM_FILE(plot_x, plot_x)
        FROM_FILE(plot_split, plot_split)
#undef FROM_FILE
    } else {
        sw = ms_sweep_new();
        if (!ms_sweep_add_scenario_data(sw, argv[1], NULL, data, len, &error)) {
            fprintf(stderr, "%s\n", error->message);
            return MS_EXIT_USAGE;
        }
        if (seeds_s && !ms_sweep_set_seeds(sw, seeds_s, &error))
            return ms_cli_usage(cmd, "--seeds: %s", error->message);
        for (char **s = sets; s && *s; s++)
            if (!ms_sweep_set(sw, *s, &error))
                return ms_cli_usage(cmd, "%s", error->message);
        for (char **z = zips; z && *z; z++)
            if (!ms_sweep_set_zipped(sw, *z, &error))
                return ms_cli_usage(cmd, "%s", error->message);
        if (stats_s) {
            g_auto(GStrv) names = split_list(stats_s);
            if (!ms_sweep_set_statistics(sw, (const char *const *) names, &error))
                return ms_cli_usage(cmd, "--stats: %s", error->message);
        }
    }
    ms_sweep_set_keep_records(sw, keep_records);
    if (max_points || yes)
        ms_sweep_set_max_points(sw, max_points ? (guint) max_points : MS_SWEEP_DEFAULT_MAX_POINTS,
                                yes);
    MsVizFormat format;
    if (plot_path &&
        (!ms_viz_format_from_path(plot_path, &format, &error) || format == MS_VIZ_FORMAT_HTML))
        return ms_cli_usage(cmd, "--plot: %s",
                            error ? error->message : "expected OUT.png, OUT.svg or OUT.pdf");
    for (guint side = 0; side < 2; side++) {
        const char *want = side ? plot_split : plot_x;
        gboolean found = want && !strcmp(want, "scenario") && ms_sweep_n_scenarios(sw) > 1;
        for (guint k = 0; want && !found && k < ms_sweep_n_axes(sw); k++)
            found = !strcmp(want, ms_sweep_axis_name(sw, k));
        if (want && !found) {
            g_autoptr(GString) names = g_string_new(NULL);
            for (guint k = 0; k < ms_sweep_n_axes(sw); k++)
                g_string_append_printf(names, "%s%s", k ? ", " : "", ms_sweep_axis_name(sw, k));
            return ms_cli_usage(cmd, "%s: '%s' is not an axis of this sweep (its axes: %s)",
                                side ? "--split" : "--x", want, names->len ? names->str : "none");
        }
    }
    guint launched = mpi_ranks_launched();
    if (!mpi && launched > 1)
        return ms_cli_usage(cmd,
                            "this is one of %u processes started by mpirun: add --mpi to share "
                            "the runs among them (each would otherwise run the whole sweep and "
                            "write the same outputs)",
                            launched);
    /* everything that can be refused is, before a folder is made or a run starts */
    if (!ms_sweep_check(sw, &error)) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        return MS_EXIT_USAGE;
    }
    /* Under MPI only rank 0 plans from the results folder (other ranks may
     * not see it, or see another copy): it sends what is stored to the
     * others, so that every rank deals the missing runs alike. */
    g_autoptr(MsMpi) world = NULL;
    guint rank = 0, ranks = 1;
    if (mpi && !dry_run) {
        world = ms_mpi_new(&error);
        if (!world) {
            fprintf(stderr, "mailsim %s: --mpi: %s\n", cmd, error->message);
            return MS_EXIT_USAGE;
        }
        rank = ms_mpi_rank(world);
        ranks = ms_mpi_size(world);
    }
    gboolean plan_ok = TRUE;
    if (store && rank == 0 &&
        !ms_sweep_set_store(sw, store, MS_MAILSIM_VERSION, rerun_other, &error)) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        if (!world)
            return MS_EXIT_FAILED;
        plan_ok = FALSE;
    }
    if (plan_ok && !ms_sweep_plan(sw, &error)) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        plan_ok = FALSE;
    }
    if (world) {
        if (ms_mpi_sum_u64(world, plan_ok ? 0 : 1))
            return MS_EXIT_USAGE;
        g_autoptr(GBytes) mine = rank == 0 ? ms_sweep_pack_results(sw, TRUE) : NULL;
        g_autoptr(GBytes) stored = ms_mpi_bcast_bytes(world, mine);
        gboolean ok = rank == 0 || ms_sweep_merge_results(sw, stored, &error);
        if (!ok)
            fprintf(stderr, "mailsim %s: rank %u: %s\n", cmd, rank, error->message);
        /* Each rank also keeps its own runs in the folder (when it reaches
         * it): a sweep killed midway keeps them there. */
        if (ok && store && rank != 0)
            ok = ms_sweep_set_store(sw, store, MS_MAILSIM_VERSION, rerun_other, &error);
        if (ms_mpi_sum_u64(world, ok ? 0 : 1))
            return MS_EXIT_USAGE;
    } else if (!plan_ok) {
        return MS_EXIT_USAGE;
    }
    if (dry_run) {
        g_autoptr(GString) grid = g_string_new(NULL);
        ms_sweep_describe(sw, grid);
        MsSweepCounts c;
        ms_sweep_counts(sw, &c);
        printf("%s%u run%s: %u stored, %u to run\n", grid->str, c.total, c.total == 1 ? "" : "s",
               c.stored, c.to_run);
        return MS_EXIT_OK;
    }
    if (rank == 0 && !no_progress)
        say_plan(sw, store);
    g_autofree char *prefix =
        ranks > 1 ? g_strdup_printf("sweep: rank %u/%u: ", rank, ranks) : g_strdup("sweep: ");
    Progress progress = { g_get_monotonic_time(), g_get_monotonic_time(), isatty(2), prefix };
    gboolean ok = ms_sweep_run_part(sw, (guint) jobs, rank, ranks, no_progress ? NULL : on_progress,
                                    &progress, &error);
    if (world) {
        /* every rank's results come to rank 0, exactly (not through the
         * folder: the ranks may be on machines that share none) */
        guint64 failed = ms_mpi_sum_u64(world, ok ? 0 : 1);
        if (!ok)
            fprintf(stderr, "mailsim %s: rank %u: %s\n", cmd, rank, error->message);
        if (failed)
            return MS_EXIT_USAGE;
        g_autoptr(GBytes) mine = ms_sweep_pack_results(sw, FALSE);
        GBytes **all = ms_mpi_gather_bytes(world, mine);
        if (rank != 0)
            return MS_EXIT_OK;
        for (guint r = 1; r < ranks && ok; r++)
            ok = ms_sweep_merge_results(sw, all[r], &error);
        for (guint r = 0; r < ranks; r++)
            g_bytes_unref(all[r]);
        g_free(all);
        if (ok && !ms_sweep_complete(sw)) {
            g_set_error(&error, MS_SWEEP_ERROR, 0, "some runs have no result after the gather");
            ok = FALSE;
        }
    }
    if (!ok) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        return MS_EXIT_USAGE;
    }
    int rc = MS_EXIT_OK;
    if (!quiet) {
        g_autoptr(GString) t = g_string_new(NULL);
        ms_sweep_table(sw, t);
        printf("%s: %u grid point%s x %u seed%s\n\n%s", argv[1], ms_sweep_n_points(sw),
               ms_sweep_n_points(sw) == 1 ? "" : "s", ms_sweep_n_seeds(sw),
               ms_sweep_n_seeds(sw) == 1 ? "" : "s", t->str);
    }
    struct {
        const char *path, *opt;
        void (*write)(const MsSweep *, GString *);
    } outs[] = {
        { csv_path, "--csv", ms_sweep_csv },
        { tidy_path, "--tidy", ms_sweep_tidy_csv },
        { json_path, "--json", ms_sweep_json },
    };
    for (guint i = 0; i < G_N_ELEMENTS(outs); i++) {
        if (!outs[i].path)
            continue;
        g_autoptr(GString) t = g_string_new(NULL);
        outs[i].write(sw, t);
        if (!write_file(cmd, outs[i].opt, outs[i].path, t))
            rc = MS_EXIT_FAILED;
    }
    if (plot_path) {
        g_autoptr(MsSweepResults) r = ms_sweep_results_from_sweep(sw);
        g_autoptr(MsVizCanvas) c =
            ms_viz_sweep_by(r, NULL, plot_x, plot_split, format, 0, 0, &error);
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
