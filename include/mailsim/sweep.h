/* Parameter sweeps: independent replications of one scenario over a grid
 * of settings and seeds, run on a pool of threads, summarised per grid
 * point as mean and 95 % confidence interval (Student t) of each statistic.
 *
 * Settings ("KEY=V1,V2,..."; every key's values form one axis of the grid,
 * the first key given varies slowest):
 *   seed=1..32 or seed=1,5,9       the replications (also --seeds)
 *   until=TIME                     when each run stops
 *   fidelity=packet|flow           transport fidelity
 *   keep-bodies=yes|no             lean mailboxes (ms_mail_set_keep_bodies)
 *   policy.FIELD[@HOST]=VALUE      an MTA policy field on every mail server,
 *                                  or on the one on scenario host HOST;
 *                                  FIELD: retry-first, retry-max, give-up,
 *                                  command-delay (times), max-size (size),
 *                                  max-recipients (count), greylist (yes|no)
 *
 * Results do not depend on the number of threads: each job builds its own
 * world from the shared scenario, which no job writes, and writes only its
 * own result slot; summaries are computed after all jobs, in job order. */
#pragma once

#include <glib.h>
#include "mailsim/scenario.h"

G_BEGIN_DECLS

#define MS_SWEEP_ERROR (ms_sweep_error_quark())
GQuark ms_sweep_error_quark(void);

typedef struct _MsSweep MsSweep;

/* A sweep over `scenario` (borrowed, read-only; must outlive the sweep),
 * with the scenario's own seed as the only replication until told.
 * Returns a new object (caller frees). */
MsSweep *ms_sweep_new(const MsScenario *scenario);
void ms_sweep_free(MsSweep *sweep);

/* Adds an axis "KEY=V1,V2,..." (see above). FALSE with `error` for an
 * unknown key or a bad value; a key given twice is an error. */
gboolean ms_sweep_set(MsSweep *sweep, const char *assignment, GError **error);

/* The seeds: "A..B" (inclusive, at most 100,000), "A,B,C" or "A". */
gboolean ms_sweep_set_seeds(MsSweep *sweep, const char *spec, GError **error);

guint ms_sweep_n_points(const MsSweep *sweep);
guint ms_sweep_n_seeds(const MsSweep *sweep);

/* Runs every (grid point, seed) job on `jobs` threads (>= 1). FALSE with
 * `error` when a world cannot be built. */
gboolean ms_sweep_run(MsSweep *sweep, guint jobs, GError **error);

/* After a run: the summary as an aligned text table, as CSV (one row per
 * grid point and statistic: the settings, statistic, n, mean, ci95, sd, min,
 * max) or as JSON. Appended to `out`. */
void ms_sweep_table(const MsSweep *sweep, GString *out);
void ms_sweep_csv(const MsSweep *sweep, GString *out);
void ms_sweep_json(const MsSweep *sweep, GString *out);

/* The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1):
 * a table to 30, then a Cornish-Fisher expansion (error below 1e-4). */
double ms_sweep_t975(guint df);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSweep, ms_sweep_free)

G_END_DECLS
