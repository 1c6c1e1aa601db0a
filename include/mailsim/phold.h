/* PHOLD, the classic synthetic workload of parallel discrete-event
 * simulation, used to benchmark the engine: N hosts each start with P
 * events at L + Exp(M); each event at host i schedules exactly one new event
 * at now + L + Exp(M), at a host drawn uniformly among the others with
 * probability R, else at i. The run stops when the next event would be later
 * than T. The same loop also runs on a bare 4-ary heap with no engine around
 * it, the yardstick the engine is measured against. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"
#include "mailsim/engine.h"
#include "mailsim/shard.h"

G_BEGIN_DECLS

typedef struct {
    guint32 nodes;    /* N >= 1 (R > 0 needs N >= 2) */
    guint32 pop;      /* P */
    double remote;    /* R in [0, 1] */
    MsTime lookahead; /* L >= 0 */
    MsTime mean;      /* M > 0 */
    MsTime end;       /* T */
    guint64 seed;
} MsPholdParams;

typedef struct {
    guint64 events;      /* events processed */
    double wall_s;       /* wall-clock seconds of the event loop alone */
    guint64 fingerprint; /* identical for identical runs */
    guint64 peak_pending;
    guint64 digest; /* ms_phold_digest(): the same however hosts are split */
} MsPholdResult;

typedef struct _MsPhold MsPhold;

/* Sets PHOLD up on `engine`: registers its handler and schedules the first
 * P events of each host, or with a shard (may be NULL) of each of the
 * shard's own hosts, whose events then go through ms_shard_schedule().
 * Borrows params, engine and shard. Returns a new workload (caller frees
 * with ms_phold_free). */
MsPhold *ms_phold_new(const MsPholdParams *params, MsEngine *engine, MsShard *shard);
void ms_phold_free(MsPhold *phold);

/* A digest of the run so far that does not depend on how hosts are split:
 * each host keeps a hash chain over (time, scheduling host) of the events it
 * ran, in order, and the digest is the sum (mod 2^64) over this engine's
 * hosts of a hash of (host, chain). The sum over the parts of a partitioned
 * run equals the sequential run's exactly when every host ran the same
 * events in the same order. */
guint64 ms_phold_digest(const MsPhold *phold);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPhold, ms_phold_free)

/* Runs PHOLD on an MsEngine (ms_phold_new() with no shard). */
void ms_phold_run_engine(const MsPholdParams *params, MsPholdResult *result);

/* Runs the same workload on a bare 4-ary heap of (time, sequence, host)
 * records. Processes the same number of events as the engine run when the
 * parameters are equal (the order of equal times may differ). */
void ms_phold_run_bare(const MsPholdParams *params, MsPholdResult *result);

G_END_DECLS
