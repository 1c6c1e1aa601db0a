/* Comparing two grid points of a sweep's results (include/mailsim/
 * sweep_results.h), statistic by statistic: the difference B - A of the
 * means with its 95 % confidence interval, and whether it is significant
 * (the interval leaves out 0; equivalently p < 0.05, two-sided).
 *
 *  - paired by seed when both points ran the same seeds (the usual case
 *    inside one sweep, where common random numbers make the comparison
 *    sharper): the mean of the per-seed differences, t with n - 1 degrees
 *    of freedom;
 *  - otherwise Welch's unequal-variance t interval, with the
 *    Welch-Satterthwaite degrees of freedom (fractional).
 * The t quantiles are ms_sweep_t_quantile(). */
#pragma once

#include <glib.h>
#include "mailsim/sweep_results.h"

G_BEGIN_DECLS

typedef struct {
    guint n_a, n_b;
    double mean_a, mean_b;
    double diff;   /* mean_b - mean_a */
    double lo, hi; /* its 95 % confidence interval */
    double df;     /* degrees of freedom of the t used */
    double p;      /* two-sided p-value of "no difference" */
    gboolean paired;
    gboolean defined;     /* FALSE when there are too few replications (n < 2) */
    gboolean significant; /* the interval leaves out 0 */
} MsSweepComparison;

/* Compares statistic `stat` (an index of both results, by name) of point
 * `pa` of `a` with point `pb` of `b` (`b` may be `a`); paired when both
 * hold every replication of the same seeds and `welch` is FALSE. FALSE
 * with `error` when either point lacks the replications (a summary-only
 * file). */
gboolean ms_sweep_compare(const MsSweepResults *a, guint pa, const MsSweepResults *b, guint pb,
                          const char *stat, gboolean welch, MsSweepComparison *out, GError **error);

/* The grid point that `spec` names: its number ("3", as the CSVs'
 * "point" column), or settings "AXIS=VALUE[,AXIS=VALUE...]" that match
 * exactly one point (axes left out may take any value). -1 with `error`
 * saying what matched (none, or which several). */
gint ms_sweep_results_find_point(const MsSweepResults *results, const char *spec, GError **error);

G_END_DECLS
