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

G_BEGIN_DECLS

typedef struct {
    guint32 nodes;      /* N >= 1 (R > 0 needs N >= 2) */
    guint32 pop;        /* P */
    double  remote;     /* R in [0, 1] */
    MsTime  lookahead;  /* L >= 0 */
    MsTime  mean;       /* M > 0 */
    MsTime  end;        /* T */
    guint64 seed;
} MsPholdParams;

typedef struct {
    guint64 events;       /* events processed */
    double  wall_s;       /* wall-clock seconds of the event loop alone */
    guint64 fingerprint;  /* identical for identical runs */
    guint64 peak_pending;
} MsPholdResult;

/* Runs PHOLD on an MsEngine. */
void ms_phold_run_engine(const MsPholdParams *params, MsPholdResult *result);

/* Runs the same workload on a bare 4-ary heap of (time, sequence, host)
 * records. Processes the same number of events as the engine run when the
 * parameters are equal (the order of equal times may differ). */
void ms_phold_run_bare(const MsPholdParams *params, MsPholdResult *result);

G_END_DECLS
