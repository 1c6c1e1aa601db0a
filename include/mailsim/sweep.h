/* Parameter sweeps and experiments: independent replications of one or
 * more scenarios over a grid of settings and seeds, run on a pool of
 * threads (and shared by MPI ranks), resumable from a results folder, and
 * summarised per grid point as mean and 95 % confidence interval (Student
 * t) of each statistic.
 *
 * Axes ("KEY=V1,V2,..." or "NAME=KEY=V1,V2,..."; every axis is one
 * dimension of the grid, the first varying slowest, unless zipped):
 *   XPATH=VALUES                   any attribute of the scenario document,
 *                                  selected by XPath before it is loaded
 *                                  (include/mailsim/scenario_override.h):
 *                                  //link[@a='r-isp']/@loss=0,1%,5%
 *                                  //generate/@messages=1e3..1e5*3
 *   seed=1..32 or seed=1,5,9       the replications (also --seeds)
 *   until=TIME                     when each run stops         } the short
 *   fidelity=packet|flow           transport fidelity          } keys of the
 *   keep-bodies=yes|no             lean mailboxes              } first sweeps
 *   policy.FIELD[@HOST]=VALUE      an MTA policy field on every mail server,
 *                                  or on the one on scenario host HOST;
 *                                  FIELD: retry-first, retry-max, give-up,
 *                                  command-delay (times), max-size (size),
 *                                  max-recipients (count), greylist (yes|no),
 *                                  greylist-delay (time)
 * Values keep their units as written. "A..B/N" expands to N evenly spaced
 * values from A to B, "A..B*N" to N values evenly spaced on a log scale;
 * both ends carry the same unit ("10ms..100ms/10"). Zipped axes (equal
 * numbers of values) vary together along one dimension.
 *
 * Results do not depend on the number of threads, nor on interruptions:
 * each job builds its own world, writes only its own result slot (and its
 * own file in the results folder), and summaries are computed afterwards,
 * in job order. */
#pragma once

#include <glib.h>
#include "mailsim/experiment.h"
#include "mailsim/scenario.h"

G_BEGIN_DECLS

#define MS_SWEEP_ERROR (ms_sweep_error_quark())
GQuark ms_sweep_error_quark(void);

/* What `mailsim --version` prints after "mailsim "; stored with every run
 * in a results folder, which refuses runs of another version. */
#define MS_MAILSIM_VERSION "0.1"

/* A grid of more points than this needs ms_sweep_set_max_points(.., TRUE)
 * (--yes); none may have more than MS_SWEEP_MAX_POINTS, and one range at
 * most MS_SWEEP_MAX_RANGE values. */
#define MS_SWEEP_DEFAULT_MAX_POINTS 200
#define MS_SWEEP_MAX_POINTS         100000
#define MS_SWEEP_MAX_RANGE          10000

typedef struct _MsSweep MsSweep;

/* An empty sweep: add at least one scenario before any axis. Returns a new
 * object (caller frees). */
MsSweep *ms_sweep_new(void);
void ms_sweep_free(MsSweep *sweep);

/* A sweep as an experiment file describes it (include/mailsim/experiment.h):
 * its scenarios, axes, zipped axes, seeds, statistics and limit. NULL with
 * `error` naming the experiment file and line at fault. Returns a new
 * object (caller frees); `experiment` is not kept. */
MsSweep *ms_sweep_new_from_experiment(const MsExperiment *experiment, GError **error);

/* The experiment's name (the first column of the CSVs); "" by default. */
void ms_sweep_set_name(MsSweep *sweep, const char *name);
const char *ms_sweep_name(const MsSweep *sweep);
/* A title for the outputs (the JSON, the picture); NULL for none. */
void ms_sweep_set_title(MsSweep *sweep, const char *title);

/* Each job folds finished messages' records into its statistics (memory
 * follows the mail in flight, see MsWorldOptions.fold_records; latency
 * quantiles exact up to MS_MAIL_FOLD_EXACT_LIMIT messages, then within the
 * sketch's bound) unless `keep` is TRUE. Default FALSE. */
void ms_sweep_set_keep_records(MsSweep *sweep, gboolean keep);

/* Adds a scenario, loaded and checked now; several scenarios make one more
 * axis, "scenario", whose values are the labels (default: the scenario's
 * name). The first scenario's seed is the only replication until told.
 * Scenarios come before axes. FALSE with `error` (the loader's, with
 * file:line) when it does not load. */
gboolean ms_sweep_add_scenario_file(MsSweep *sweep, const char *path, const char *label,
                                    GError **error);
gboolean ms_sweep_add_scenario_data(MsSweep *sweep, const char *path, const char *label,
                                    const char *data, gsize len, GError **error);
guint ms_sweep_n_scenarios(const MsSweep *sweep);

/* Adds an axis "KEY=VALUES" or "NAME=KEY=VALUES" (see above; an XPath's
 * column is named after the attribute it ends in unless NAME is given).
 * FALSE with `error` for an unknown key, an XPath that does not compile, a
 * bad value or range, or a key given twice. */
gboolean ms_sweep_set(MsSweep *sweep, const char *assignment, GError **error);
/* The same, in parts; `name` may be NULL. */
gboolean ms_sweep_add_axis(MsSweep *sweep, const char *name, const char *key, const char *values,
                           GError **error);
/* Axes that vary together: "KEY=VALUES;KEY=VALUES..." (each with as many
 * values), or in parts (`names` may be NULL). */
gboolean ms_sweep_set_zipped(MsSweep *sweep, const char *assignments, GError **error);
gboolean ms_sweep_add_zipped(MsSweep *sweep, guint n, const char *const *names,
                             const char *const *keys, const char *const *values, GError **error);
guint ms_sweep_n_axes(const MsSweep *sweep);
const char *ms_sweep_axis_name(const MsSweep *sweep, guint k);

/* Expands a list of values and ranges ("0,1%,2%..10%/5") into `out`
 * (char*, appended); `name` names the axis in errors. */
gboolean ms_sweep_expand_values(const char *name, const char *spec, GPtrArray *out, GError **error);

/* The seeds: "A..B" (inclusive, at most 100,000), "A,B,C" or "A". */
gboolean ms_sweep_set_seeds(MsSweep *sweep, const char *spec, GError **error);

/* The statistics reported, in this order (NULL-terminated names; default:
 * all). Every run measures all of them; this chooses what the outputs
 * show. find gives the index of a name among all, or -1. */
gboolean ms_sweep_set_statistics(MsSweep *sweep, const char *const *names, GError **error);
gint ms_sweep_find_stat(const char *name);
guint ms_sweep_n_stats(const MsSweep *sweep);
const char *ms_sweep_stat_name(const MsSweep *sweep, guint i);

/* The limit on grid points (default MS_SWEEP_DEFAULT_MAX_POINTS), and
 * whether a larger grid is allowed anyway (--yes). */
void ms_sweep_set_max_points(MsSweep *sweep, guint max_points, gboolean allow_larger);

guint ms_sweep_n_points(const MsSweep *sweep);
guint ms_sweep_n_seeds(const MsSweep *sweep);

/* The checks that come before any run: the size of the grid, and every
 * value of every XPath axis loaded into every scenario (an XPath that
 * selects nothing, or a value the schema or loader refuses, is an error
 * naming the axis, the value and the loader's file:line). */
gboolean ms_sweep_check(MsSweep *sweep, GError **error);

/* Keeps every finished run in `dir`/runs/ (created by the first run), keyed by scenario,
 * settings and seed, and stamped with `version` (NULL: MS_MAILSIM_VERSION).
 * Runs stored by another version are refused by ms_sweep_plan(), or run
 * again and replaced when `rerun_other` is set. */
gboolean ms_sweep_set_store(MsSweep *sweep, const char *dir, const char *version,
                            gboolean rerun_other, GError **error);

/* Checks (ms_sweep_check) and looks in the results folder for what is
 * already done. FALSE with `error` on bad settings, or on runs of another
 * version when they may not be run again. */
gboolean ms_sweep_plan(MsSweep *sweep, GError **error);

typedef struct {
    guint total;                    /* runs in the sweep */
    guint stored;                   /* read back from the results folder */
    guint to_run;                   /* the others */
    guint other_version;            /* among to_run: stored by another version */
    const char *other_version_name; /* one of those versions, or NULL */
    guint unreadable;               /* among to_run: files that did not read back */
} MsSweepCounts;
/* After ms_sweep_plan() (or a run). */
void ms_sweep_counts(const MsSweep *sweep, MsSweepCounts *counts);

/* Called after each run with the runs finished so far and the runs this
 * call has to do; from the thread that ran it, under a lock. */
typedef void (*MsSweepProgress)(guint done, guint total, gpointer user);

/* Runs every run not stored yet on `jobs` threads (>= 1), planning first
 * if ms_sweep_plan() was not called. FALSE with `error` when a world
 * cannot be built (naming the point and seed) or a run cannot be stored. */
gboolean ms_sweep_run(MsSweep *sweep, guint jobs, MsSweepProgress progress, gpointer user,
                      GError **error);
/* The same for part `part` of `parts` (MPI ranks): the runs to do are
 * dealt round-robin; each part stores its own, so a later ms_sweep_plan()
 * finds them all. */
gboolean ms_sweep_run_part(MsSweep *sweep, guint jobs, guint part, guint parts,
                           MsSweepProgress progress, gpointer user, GError **error);
/* Results between processes (MPI ranks share them without a shared
 * folder): pack gives, as bytes that carry every number exactly, the
 * results of the runs this process ran (`all` FALSE) or of every run that
 * has one (TRUE: also those read back or merged); merge takes such bytes
 * from the same sweep in another process and fills the runs that have no
 * result yet, which then count as stored (and are written to the results
 * folder, when there is one, so that it holds the whole sweep). FALSE with
 * `error` when the bytes are not a pack of this sweep (another grid,
 * scenario or seeds), or a run cannot be written. Both after
 * ms_sweep_plan(). Returns a new GBytes (pack). */
GBytes *ms_sweep_pack_results(const MsSweep *sweep, gboolean all);
gboolean ms_sweep_merge_results(MsSweep *sweep, GBytes *packed, GError **error);

/* Whether every run has a result (run, read back or merged). */
gboolean ms_sweep_complete(const MsSweep *sweep);

/* The grid, one line per point ("point 3: loss=2%, fidelity=flow"), with
 * the seeds; after ms_sweep_plan(), each point says how many of its runs
 * are stored. Appended to `out`. */
void ms_sweep_describe(const MsSweep *sweep, GString *out);

/* After a run: the summary as an aligned text table; as CSV (one row per
 * grid point and statistic: experiment, point, the axes, statistic, n,
 * mean, ci95, ci95_low, ci95_high, sd, min, max); every run as tidy CSV
 * (experiment, point, the axes, seed, statistic, value); or everything as
 * JSON (include/mailsim/sweep_results.h). Appended to `out`. */
void ms_sweep_table(const MsSweep *sweep, GString *out);
void ms_sweep_csv(const MsSweep *sweep, GString *out);
void ms_sweep_tidy_csv(const MsSweep *sweep, GString *out);
void ms_sweep_json(const MsSweep *sweep, GString *out);

/* Student's t distribution with `df` > 0 degrees of freedom (fractional
 * allowed): its distribution function, and its quantile for 0 < p < 1
 * (NAN outside); t975 is the 0.975 quantile for whole df (NAN for 0). */
double ms_sweep_t_cdf(double t, double df);
double ms_sweep_t_quantile(double p, double df);
double ms_sweep_t975(guint df);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSweep, ms_sweep_free)

G_END_DECLS
