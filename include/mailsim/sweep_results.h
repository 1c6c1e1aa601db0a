/* The results of a sweep as plain data: the scenario, the axes, the seeds,
 * and per grid point and statistic the summary (n, mean, 95 % CI, sd, min,
 * max) with every replication's value. Built from a sweep that has run, or
 * read back from the JSON that `mailsim sweep --json` writes, so that a
 * picture of a sweep can be drawn now or later from the file, alike.
 *
 * JSON (written by ms_sweep_json(), read here):
 *   {"experiment": NAME, "title": TITLE, "version": V,    optional
 *    "scenario": {"path": P, "name": N, "title": T},    optional
 *    "axes": ["KEY", ...],                              optional (else from settings)
 *    "seeds": [1, 2, ...],
 *    "points": [{"settings": {"KEY": "VALUE", ...},
 *                "statistics": {"NAME": {"n": N, "mean": M, "ci95": C, "sd": S,
 *                                        "min": A, "max": B,
 *                                        "replications": [V, ...]},  optional
 *                               ...}}, ...]}
 * Every point holds the same statistics, in the same order. */
#pragma once

#include <glib.h>
#include "mailsim/sweep.h"

G_BEGIN_DECLS

typedef struct _MsSweepResults MsSweepResults;

typedef struct {
    guint n;
    double mean, ci95, sd, min, max;
    const double *values; /* the replications in seed order, or NULL */
    guint n_values;       /* n, or 0 when the file held none */
} MsSweepSummary;

/* The results of `sweep` after ms_sweep_run() (it goes through the JSON
 * form, so the figures equal those read back from the file). Returns a new
 * object (caller frees), or NULL when the sweep has not run. */
MsSweepResults *ms_sweep_results_from_sweep(const MsSweep *sweep);

/* Reads a sweep's JSON from `data` (`len` bytes, or -1 for a NUL-terminated
 * string); `display_name` names it in errors. Returns a new object (caller
 * frees), or NULL with `error` (MS_SWEEP_ERROR) saying what is wrong. */
MsSweepResults *ms_sweep_results_load_data(const char *data, gssize len, const char *display_name,
                                           GError **error);
/* The same from a file; errors begin with the path. */
MsSweepResults *ms_sweep_results_load_file(const char *path, GError **error);
void ms_sweep_results_free(MsSweepResults *results);

/* The scenario's title, else its name, else its path, else "". */
const char *ms_sweep_results_scenario(const MsSweepResults *results);
/* The experiment's title ("title" at the top of the JSON), or NULL. */
const char *ms_sweep_results_title(const MsSweepResults *results);

guint ms_sweep_results_n_seeds(const MsSweepResults *results);
guint64 ms_sweep_results_seed(const MsSweepResults *results, guint i);

/* The grid's keys in the order given, and each point's value of key k. */
guint ms_sweep_results_n_axes(const MsSweepResults *results);
const char *ms_sweep_results_axis(const MsSweepResults *results, guint k);
guint ms_sweep_results_n_points(const MsSweepResults *results);
const char *ms_sweep_results_setting(const MsSweepResults *results, guint point, guint k);

/* The statistics by name ("latency_p95_s", "delivered", ...); find gives
 * the index of `name`, or -1. */
guint ms_sweep_results_n_stats(const MsSweepResults *results);
const char *ms_sweep_results_stat_name(const MsSweepResults *results, guint stat);
gint ms_sweep_results_find_stat(const MsSweepResults *results, const char *name);

/* The summary of statistic `stat` at grid point `point` (both in range);
 * `out->values` points into `results`. */
void ms_sweep_results_get(const MsSweepResults *results, guint point, guint stat,
                          MsSweepSummary *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSweepResults, ms_sweep_results_free)

G_END_DECLS
