/* The MPI driver of partitioned runs: each rank of `mpirun -np K` runs one
 * shard (include/mailsim/shard.h), and the ranks move outboxes and agree on
 * windows with MPI collectives. Open MPI is optional: without it mailsim
 * still builds, ms_mpi_available() is FALSE and ms_mpi_new() fails with
 * MS_MPI_ERROR_UNAVAILABLE. Only sim/dist/mpi_*.c include mpi.h. */
#pragma once

#include <glib.h>
#include "mailsim/shard.h"

G_BEGIN_DECLS

#define MS_MPI_ERROR (ms_mpi_error_quark())
GQuark ms_mpi_error_quark(void);
typedef enum {
    MS_MPI_ERROR_UNAVAILABLE, /* built without Open MPI */
    MS_MPI_ERROR_TOO_LARGE,   /* one exchange over 2 GiB (MPI int counts) */
} MsMpiError;

typedef struct _MsMpi MsMpi;

typedef struct {
    guint32 ranks;
    guint64 windows;
    double wall_s;      /* this rank, the whole windowed loop */
    double compute_s;   /* running events */
    double wait_s;      /* in the first collective of each boundary: mostly
                             waiting for the slowest rank to end its window */
    double exchange_s;  /* moving events and agreeing on the next window */
    guint64 bytes_sent; /* event bytes this rank sent to others */
    guint64 exchanges;  /* boundaries at which events moved */
    guint64 collectives; /* MPI collectives in the loop: one per boundary, three
                              when the outboxes did not fit the first */
    guint64 events;      /* events this rank ran in the loop */
    double cpu_s;        /* this process's CPU time in the loop (MPI's spinning too) */
} MsMpiStats;

/* A profile of one rank's windows (`mailsim run --dist-profile`): the
 * windows grouped by the simulated time they start in (n_buckets equal
 * buckets over [0, end]), each bucket with what the rank did in them, and
 * a histogram of events per window. Plain numbers, so that ranks can send
 * theirs to rank 0 as bytes (ms_mpi_profile_to_bytes()). */
typedef struct {
    guint64 windows, events, max_events, sent_events, sent_bytes, collectives;
    double events_sq; /* sum of squared events per window: their spread */
    double compute_s, wait_s, exchange_s;
    /* Over the windows, the busiest part's events and its computing time
     * in each (every rank learns every rank's at the next boundary, so
     * every rank's profile holds the same sums): what a window costs when
     * all must finish it, measured rather than guessed from the mean. */
    guint64 busiest_events;
    double busiest_compute_s;
} MsMpiBucket;

#define MS_MPI_PROFILE_HIST 40 /* bin 0: no event; bin b: 2^(b-1) .. 2^b - 1 events */

typedef struct {
    guint32 rank, ranks, n_buckets;
    MsTime end;
    MsMpiBucket *buckets;                  /* n_buckets */
    guint64 hist[MS_MPI_PROFILE_HIST];     /* windows by events run */
    guint64 *events_to, *bytes_to;         /* per destination rank, whole run */
} MsMpiProfile;

/* An empty profile of `n_buckets` (>= 1) buckets over [0, end]. Returns a
 * new profile (caller frees with ms_mpi_profile_free). */
MsMpiProfile *ms_mpi_profile_new(guint32 rank, guint32 ranks, MsTime end, guint32 n_buckets);
void ms_mpi_profile_free(MsMpiProfile *profile);
/* Records one window that started at `start`. */
void ms_mpi_profile_add(MsMpiProfile *profile, MsTime start, const MsMpiBucket *window);
/* The profile as bytes, and back (NULL when the bytes are not a profile).
 * Both return new objects (caller frees). */
GBytes *ms_mpi_profile_to_bytes(const MsMpiProfile *profile);
MsMpiProfile *ms_mpi_profile_from_bytes(GBytes *bytes);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMpiProfile, ms_mpi_profile_free)

/* The in-process driver (ms_shard_run_threads(), sim/dist/shard_team.c)
 * recording what ms_mpi_run_profiled() records, per part instead of per
 * rank: stats[i] and, when `profiles` is not NULL, profiles[i] (made with
 * rank i of n) for part i. A part's waiting is the part of each window's
 * wall (from the end of one run stage to the end of the next) that it was
 * neither computing nor taking in; collectives stay 0 (the window costs
 * two shared counters); cpu_s is the process's CPU over the parts. */
void ms_shard_run_threads_profiled(MsShard *const *shards, guint32 n, guint threads, MsTime end,
                                   MsMpiStats *stats, MsMpiProfile *const *profiles);

/* Whether this mailsim was built with Open MPI. */
gboolean ms_mpi_available(void);

/* Initialises MPI (once per process). Returns a new handle (caller frees
 * with ms_mpi_free, which finalises MPI) or NULL with `error` set. */
MsMpi *ms_mpi_new(GError **error);
void ms_mpi_free(MsMpi *mpi);

guint32 ms_mpi_rank(const MsMpi *mpi);
guint32 ms_mpi_size(const MsMpi *mpi);

/* Runs `shard` (part ms_mpi_rank() of a partition into ms_mpi_size()
 * parts) to `end` in windows, with every other rank doing the same. Fills
 * `stats`. FALSE with `error` set when an exchange is too large. */
gboolean ms_mpi_run(MsMpi *mpi, MsShard *shard, MsTime end, MsMpiStats *stats, GError **error);
/* The same, recording every window into `profile` (NULL: none). */
gboolean ms_mpi_run_profiled(MsMpi *mpi, MsShard *shard, MsTime end, MsMpiStats *stats,
                             MsMpiProfile *profile, GError **error);

/* Collectives every rank calls: the sum (mod 2^64) and the maximum of one
 * value per rank, returned on every rank. */
guint64 ms_mpi_sum_u64(MsMpi *mpi, guint64 value);
double ms_mpi_sum_double(MsMpi *mpi, double value);
double ms_mpi_max_double(MsMpi *mpi, double value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMpi, ms_mpi_free)

/* Gathers every rank's bytes on rank 0 (a collective: every rank calls it).
 * Returns, on rank 0, a NULL-terminated array of ms_mpi_size() GBytes in
 * rank order (caller frees each and the array); NULL on other ranks. Each
 * rank's bytes, and their sum, must stay under 2 GiB. */
GBytes **ms_mpi_gather_bytes(MsMpi *mpi, GBytes *mine);

/* Gathers every rank's stream of chunks on rank 0, one chunk at a time, so
 * that no rank holds more than one chunk of it (a collective in effect:
 * every rank calls it). Each rank pulls its chunks from next(next_data)
 * until it returns NULL (an empty chunk is skipped); rank 0 hands each to
 * take(rank, chunk, take_data, error), its own first, then rank 1's in
 * order, and so on; a chunk is valid only during its take (a received
 * one's bytes are reused for the next). Once take fails, rank 0 keeps
 * receiving (and dropping) what the other ranks send, so that none is
 * left waiting. TRUE on the other ranks; on rank 0, FALSE with `error`
 * set (by take) when a take failed. Each chunk must stay under 2 GiB. */
typedef GBytes *(*MsMpiChunkNext)(gpointer next_data);
typedef gboolean (*MsMpiChunkTake)(guint32 rank, GBytes *chunk, gpointer take_data, GError **error);
gboolean ms_mpi_gather_stream(MsMpi *mpi, MsMpiChunkNext next, gpointer next_data,
                              MsMpiChunkTake take, gpointer take_data, GError **error);

/* Sends rank 0's bytes to every rank (a collective: every rank calls it;
 * `mine` is read on rank 0 only and may be NULL elsewhere). Returns the
 * bytes on every rank (caller frees). Under 2 GiB. */
GBytes *ms_mpi_bcast_bytes(MsMpi *mpi, GBytes *mine);

G_END_DECLS
