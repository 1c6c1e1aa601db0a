/* The profile of a distributed run (`mailsim run --partition ...
 * --dist-profile FILE`): what each rank did in its windows, what moved
 * between ranks, and a survey of how the world splits into more parts, as
 * JSON for tools/scaling_model.py (README, "Scaling beyond one machine").
 * Written on rank 0 from every rank's MsMpiProfile and MsMpiStats, or, for
 * the parts of one process on threads, by ms_dist_profile_run_parts(). */
#pragma once

#include <glib.h>
#include "mailsim/mpi_run.h"
#include "mailsim/world.h"

G_BEGIN_DECLS

typedef struct {
    const MsScenario *scenario;
    const MsPartition *partition;
    const MsWorldRates *rates; /* the pilot's, or NULL: then no survey */
    const char *fidelity;      /* "packet" or "flow" */
    MsTime end;                /* the simulated time the run ended at */
    guint32 ranks;
    MsMpiProfile *const *profiles; /* per rank */
    const MsMpiStats *stats;       /* per rank */
    const double *peak_rss_kb;     /* per rank, while running; NULL: not per rank */
    const char *transport;         /* "mpi" (ranks) or "threads" (parts of one process) */
    guint threads;                 /* threads the parts ran on (0 over MPI) */
    double process_peak_rss_kb;    /* threads: the process's peak while running */
} MsDistProfileInput;

/* Parts the survey splits the world into: 2, 3, 4, 8, ... up to this (or the
 * number of hosts / 2). */
#define MS_DIST_PROFILE_SURVEY_MAX 1024

/* The profile as JSON text (caller frees). Deterministic for the same
 * figures (the machine's load average and the writer's affinity among them):
 * keys in a fixed order, parts and ranks in number order. */
char *ms_dist_profile_to_json(const MsDistProfileInput *in);
/* Writes it to `path` (ms_output_file_write: "-" is standard output). */
gboolean ms_dist_profile_write(const MsDistProfileInput *in, const char *path, GError **error);

/* `mailsim run --partition ... --parts K --dist-profile FILE`: runs the K
 * parts of this process to `until` on `threads` threads as
 * ms_world_run_parts() does (the same results), recording the windows,
 * then writes the profile (transport "threads", one entry per part) to
 * `path`. `in` gives the scenario, partition, rates and fidelity; the
 * rest is filled here. FALSE with `error` set when the file cannot be
 * written (the run itself has happened). */
gboolean ms_dist_profile_run_parts(MsWorld *const *parts, guint n, guint threads, MsTime until,
                                   const MsDistProfileInput *in, const char *path, GError **error);

G_END_DECLS
