/* The discrete-event engine: a clock, a future-event set and a dispatcher.
 * Every other module of the simulation runs inside it, as handlers of typed
 * events addressed to hosts.
 *
 * Order: events run by time; equal times by (id of the host that scheduled
 * the event, that host's own scheduling counter). That order does not depend
 * on how hosts are spread over threads or MPI ranks, so a partitioned run can
 * match a sequential one exactly. Events scheduled outside any handler (the
 * set-up of a run) count as scheduled by MS_HOST_WORLD.
 *
 * Events are small records stored by value; handlers are registered per
 * engine and named by a small integer type. No global state: two engines in
 * two threads never touch each other. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"
#include "mailsim/rng.h"

G_BEGIN_DECLS

typedef guint32 MsHostId;
/* The pseudo-host that schedules the set-up events of a run. It sorts after
 * every real host at equal times. */
#define MS_HOST_WORLD ((MsHostId) G_MAXUINT32)

typedef struct _MsEngine MsEngine;

/* A handle to a scheduled event, for ms_engine_cancel(); 0 is never valid. */
typedef guint64 MsEventId;

/* Sixteen bytes of payload, interpreted by the event's handler. Pointers
 * are allowed only to objects that outlive the event (prefer integer ids). */
typedef union {
    guint64 u64[2];
    gint64 i64[2];
    guint32 u32[4];
    guint16 u16[8];
    double f64[2];
    gpointer ptr[2];
} MsEventData;

/* What a handler sees: a copy of the event being run. */
typedef struct {
    MsTime at;
    MsHostId host; /* the host the event is addressed to */
    MsHostId src;  /* the host that scheduled it */
    guint64 seq;   /* src's counter when it scheduled it */
    guint16 type;
    MsEventData data;
} MsEvent;

typedef void (*MsEventHandler)(MsEngine *engine, const MsEvent *event, gpointer user_data);

typedef enum {
    MS_ENGINE_IDLE,    /* no event left */
    MS_ENGINE_UNTIL,   /* the next event is later than the limit */
    MS_ENGINE_STOPPED, /* ms_engine_stop() was called */
} MsEngineResult;

typedef struct {
    guint64 processed;    /* events run */
    guint64 scheduled;    /* events scheduled */
    guint64 cancelled;    /* events cancelled before they ran */
    guint64 pending;      /* events waiting now (not counting cancelled ones) */
    guint64 peak_pending; /* largest value pending reached */
} MsEngineStats;

/* A new engine at time 0. `seed` derives every random stream of the run.
 * Returns a new engine (caller frees with ms_engine_free). */
MsEngine *ms_engine_new(guint64 seed);
void ms_engine_free(MsEngine *engine);

guint64 ms_engine_seed(const MsEngine *engine);

/* Registers a handler and returns the event type that names it (>= 1). */
guint16 ms_engine_register(MsEngine *engine, const char *name, MsEventHandler handler,
                           gpointer user_data);
/* Returns the type registered under `name`, registering `handler` (with
 * NULL user_data) if there is none yet: for modules with many instances,
 * whose events carry the instance in their payload. */
guint16 ms_engine_register_shared(MsEngine *engine, const char *name, MsEventHandler handler);

const char *ms_engine_type_name(const MsEngine *engine, guint16 type);

MsTime ms_engine_now(const MsEngine *engine);

/* The host whose event is running (MS_HOST_WORLD outside handlers). */
MsHostId ms_engine_current_host(const MsEngine *engine);

/* From now on, adds one to counts[h] for every event run at host h < n
 * (MS_HOST_WORLD's and higher hosts' are not counted); counts stays the
 * caller's, NULL stops. What `--partition auto`'s pilot weighs hosts by.
 * Costs a test per event while off. */
void ms_engine_count_host_events(MsEngine *engine, guint64 *counts, guint32 n);

/* Schedules an event of `type` for `host` at absolute time `at` (>= now),
 * as scheduled by the current host. Returns its handle. */
MsEventId ms_engine_schedule(MsEngine *engine, MsTime at, MsHostId host, guint16 type,
                             MsEventData data);

/* The same at now + delay (delay >= 0; saturates at MS_TIME_INFINITE). */
MsEventId ms_engine_schedule_in(MsEngine *engine, MsTime delay, MsHostId host, guint16 type,
                                MsEventData data);

/* The same, as scheduled by `src`: for set-up code that acts for a host
 * outside any handler (a workload's first arrival, PHOLD's population). */
MsEventId ms_engine_schedule_from(MsEngine *engine, MsHostId src, MsTime at, MsHostId host,
                                  guint16 type, MsEventData data);

/* Cancels a pending event. Returns FALSE when it has already run, was
 * already cancelled, or the handle is stale. Cancelling the running event
 * returns FALSE (it is no longer pending). O(1): the record is dropped when
 * it reaches the head of the queue. */
gboolean ms_engine_cancel(MsEngine *engine, MsEventId id);

/* Runs events with time <= until, until none is left or ms_engine_stop().
 * Unless stopped, the clock then stands at `until` (when finite; with
 * MS_TIME_INFINITE it stays at the last event run). */
MsEngineResult ms_engine_run(MsEngine *engine, MsTime until);

/* Runs the next event if there is one; FALSE when the queue is empty. */
gboolean ms_engine_step(MsEngine *engine);

/* The order key (scheduling host, its counter) of the running event.
 * Returns FALSE outside handlers (set-up code), with (MS_HOST_WORLD, 0). */
gboolean ms_engine_current_key(const MsEngine *engine, MsHostId *src, guint64 *seq);

/* Partitioned runs: a predicate saying which hosts this engine runs. An
 * event scheduled for any other host (except MS_HOST_WORLD, which every part
 * runs) is not inserted: set-up code may schedule every host's first events
 * on every part and each part keeps its own, with the same scheduling
 * counters as a sequential run. NULL (the default) runs every host. */
typedef gboolean (*MsEngineLocalFunc)(gconstpointer user_data, MsHostId host);
void ms_engine_set_local_filter(MsEngine *engine, MsEngineLocalFunc func, gconstpointer user_data);

/* Asks a running ms_engine_run() to return after the current event. */
void ms_engine_stop(MsEngine *engine);

/* Time of the next pending event, or MS_TIME_INFINITE when there is none. */
MsTime ms_engine_next_time(MsEngine *engine);

void ms_engine_get_stats(const MsEngine *engine, MsEngineStats *stats);

/* The run fingerprint: a 64-bit hash over (time, host, type, src, seq) of
 * every event run so far. Equal fingerprints mean identical runs. */
guint64 ms_engine_fingerprint(const MsEngine *engine);

/* Folds a value into the fingerprint (modules add random draws and
 * outcomes that events alone would not show). */
void ms_engine_fingerprint_add(MsEngine *engine, guint64 value);

/* The random stream of `host` (MS_HOST_WORLD allowed), derived from the seed
 * and the host id; created on first use. Valid until the engine is freed. */
MsRng *ms_engine_host_rng(MsEngine *engine, MsHostId host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsEngine, ms_engine_free)

G_END_DECLS
