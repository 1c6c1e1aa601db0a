/* One part of a partitioned run: an MsEngine that holds only the events of
 * the hosts its part owns, plus outboxes of the events those hosts schedule
 * for hosts of other parts. The run advances in conservative windows of
 * length `lookahead`: no event a host schedules for another part may be
 * earlier than now + lookahead, so within [start, start + lookahead) every
 * part can run its own events without hearing from the others.
 *
 * The driver that moves outboxes between parts is separate: in one process
 * (ms_shard_run_local(), the reference and the unit tests' tool) or over MPI
 * (include/mailsim/mpi_run.h). A window step is:
 *     deliver what the others sent (sender order 0..K-1, each in its order),
 *     learn every part's next event time,
 *     stop when all are past the end, else run this part up to
 *     ms_shard_safe_until() (ms_shard_run_until()); the simpler common
 *     window [start, start + lookahead) is ms_shard_run_window().
 *
 * Rules for models run this way: every schedule by a model host for a host
 * of another part goes through ms_shard_schedule*() or ms_shard_send()
 * (with a blob, imported by the receiver: how packets travel); payloads
 * hold ids and numbers, never pointers; handler types are registered in
 * the same order on every part (type numbers travel). The shard installs
 * the engine's local filter, so set-up code may schedule every host's
 * events and each part keeps its own. */
#pragma once

#include <glib.h>
#include "mailsim/engine.h"
#include "mailsim/partition.h"

G_BEGIN_DECLS

/* An event on its way to another part, as it travels (48 bytes, no
 * pointers). `seq` is src's scheduling counter: the order key it had. */
typedef struct {
    MsTime at;
    guint64 seq;
    MsEventData data;
    MsHostId src;
    MsHostId host;
    guint16 type;
    guint16 flags;    /* MS_SHARD_EVENT_REF, else 0 */
    guint32 blob_len; /* bytes that follow the event in an outbox (padded to 8) */
} MsShardEvent;

/* The blob holds references whose ownership moves with the event
 * (ms_shard_send_ref()): only ever delivered within one process. */
#define MS_SHARD_EVENT_REF 1u

typedef struct {
    guint64 windows;    /* windows run */
    guint64 sent;       /* events sent to other parts */
    guint64 received;   /* events received from other parts */
    guint64 late;       /* sent earlier than the window's end: lookahead broken */
    guint64 bytes_sent; /* outbox bytes: events and their blobs */
} MsShardStats;

/* Turns an event that arrived with a blob into one the local engine can
 * run: typically stores the blob's content in a local structure and puts
 * its index into ev->data. Called at delivery, before the event is
 * scheduled. */
typedef void (*MsShardImportFunc)(gpointer user_data, MsShardEvent *ev, const guint8 *blob,
                                  gsize len);

typedef struct _MsShard MsShard;

/* Part `self` of `partition`, running on `engine` with the given lookahead
 * (> 0). Borrows engine and partition, which must outlive the shard.
 * Returns a new shard (caller frees with ms_shard_free). */
MsShard *ms_shard_new(MsEngine *engine, const MsPartition *partition, guint32 self,
                      MsTime lookahead);
void ms_shard_free(MsShard *shard);

MsEngine *ms_shard_engine(const MsShard *shard);
guint32 ms_shard_self(const MsShard *shard);
guint32 ms_shard_parts(const MsShard *shard);
MsTime ms_shard_lookahead(const MsShard *shard);
gboolean ms_shard_is_local(const MsShard *shard, MsHostId host);
const MsPartition *ms_shard_partition(const MsShard *shard);

/* In-process hand-over. A shard whose outboxes only ever reach parts of
 * this process (the drivers ms_shard_run_threads() and
 * ms_shard_run_async() set it; MPI never does) may carry pointers in
 * blobs, their ownership moving with the event: a packet's payload
 * travels as its GBytes, not as bytes copied out and back
 * (sim/net/net.c). Such an outbox must be delivered exactly once (both
 * drivers deliver every outbox before they return). Changing the mode
 * needs empty outboxes. */
void ms_shard_set_in_process(MsShard *shard, gboolean in_process);
gboolean ms_shard_in_process(const MsShard *shard);

/* Says how events of `type` that come with a blob are imported. */
void ms_shard_set_import(MsShard *shard, guint16 type, MsShardImportFunc func, gpointer user_data);

/* Sends an event with a `len`-byte blob for `host`, which must belong to
 * another part, as scheduled by the host whose event is running: how a
 * packet crosses a cut link. Returns where the blob goes in the outbox: the
 * caller writes it there (no copy in between) before anything else is sent
 * or scheduled through this shard. */
guint8 *ms_shard_send(MsShard *shard, MsTime at, MsHostId host, guint16 type, MsEventData data,
                      gsize len);
/* The same for a blob that holds references (the event carries
 * MS_SHARD_EVENT_REF, for its importer to see), on an in-process shard
 * only: `wire_len` is the blob's size as bytes would be (the payload's
 * bytes included), what the statistics and profiles count as sent, as
 * over MPI. */
guint8 *ms_shard_send_ref(MsShard *shard, MsTime at, MsHostId host, guint16 type,
                          MsEventData data, gsize len, gsize wire_len);

/* Schedules an event for `host` at `at`, as scheduled by `src` (which must
 * be local, or MS_HOST_WORLD for a local target): into the engine when host
 * is local, else into the outbox of host's part. */
void ms_shard_schedule_from(MsShard *shard, MsHostId src, MsTime at, MsHostId host, guint16 type,
                            MsEventData data);
/* The same as scheduled by the host whose event is running. */
void ms_shard_schedule(MsShard *shard, MsTime at, MsHostId host, guint16 type, MsEventData data);

/* Runs this part's events with time in [now, min(start + lookahead, end + 1)),
 * start being the agreed window start (<= every part's next event time).
 * Returns the last time the window covered. */
MsTime ms_shard_run_window(MsShard *shard, MsTime start, MsTime end);
/* Runs this part's events with time in [now, min(bound, end + 1)). */
MsTime ms_shard_run_until(MsShard *shard, MsTime bound, MsTime end);
/* How far part `self` may run, given every part's next event time next[0..k)
 * (after delivery, or lower): a part q can still run an event at
 * min(next_q, next_p + lookahead for p != q) and no sooner, and what it
 * sends arrives a lookahead later. Wider than the common window
 * [min next, min next + lookahead) when the others' next events are later:
 * the part that is ahead in work runs up to two lookaheads. */
MsTime ms_shard_safe_until(const MsTime *next, guint32 k, guint32 self, MsTime lookahead);

/* Lookahead per pair of parts: la[p * K + q] (p != q) is the least delay
 * of an event part p sends part q (the shortest cut link between them),
 * MS_TIME_INFINITE when p never sends to q; the diagonal is ignored. Each
 * entry must be >= the shard's lookahead, which stays the smallest one
 * (copied; the scalar lookahead of ms_shard_new() means every pair alike). */
void ms_shard_set_pair_lookahead(MsShard *shard, const MsTime *la);
/* The lookahead from part p to part q (p != q). */
MsTime ms_shard_pair_lookahead(const MsShard *shard, guint32 p, guint32 q);
/* How far this part may run given every part's next event time next[0..K)
 * (after delivery), with the lookahead of each pair: an event reaches
 * self from part q no sooner than q's earliest possible event plus
 * la[q][self], and q's earliest possible event is min over p of next_p plus
 * the shortest chain of lookaheads from p to q. Returns
 * min over p of (next_p + S[p]), S[p] being the shortest chain from p to
 * a part other than self and on to self (precomputed: O(K) per call).
 * With one lookahead for every pair it equals ms_shard_safe_until(). */
MsTime ms_shard_safe_bound(const MsShard *shard, const MsTime *next);

/* Reach (issue 20): how soon an event at each host can reach another
 * part. reach[h] (one per host of the world, every part's hosts, each
 * relative to its own part) is a lower bound on the delay from an event at
 * host h to any event it causes on another part: at packet level the
 * shortest latency from h over its own part's links and across a cut link
 * (sim/run/world_partition.c). It must hold for every way a model host
 * affects another (links only). NULL turns it off (the default). Copied. */
void ms_shard_set_reach(MsShard *shard, const MsTime *reach);
gboolean ms_shard_has_reach(const MsShard *shard);
/* The least over this part's pending events of (time + reach of the host),
 * MS_TIME_INFINITE when none (reach set). Costs about the events of one
 * window (ms_engine_next_reach()). */
MsTime ms_shard_next_reach(MsShard *shard);
/* The least (time + reach of its host) over the outbox for part `to`:
 * with part to's ms_shard_next_reach(), its reach after delivery, known
 * before the exchange. */
MsTime ms_shard_outbox_reach(const MsShard *shard, guint32 to);
/* How far this part may run given every part's next event time and reach
 * (both after delivery): no event reaches self from part p != self sooner
 * than reach[p], nor from self's own events sooner than reach[self] plus
 * the least lookahead back into self; the larger of that and
 * ms_shard_safe_bound() (both are safe). Equals ms_shard_safe_bound()
 * without reach. Windows then end where the pending events actually are,
 * not where the closest possible one would be: an event deep inside a part
 * is many links from any cut. */
MsTime ms_shard_reach_bound(const MsShard *shard, const MsTime *next, const MsTime *reach);

/* The events waiting for part `to`, in the order they were scheduled, as
 * bytes (MsShardEvent records, each followed by its blob padded to 8
 * bytes); valid until the next ms_shard_clear_outboxes() or schedule. */
const guint8 *ms_shard_outbox(const MsShard *shard, guint32 to, gsize *n_bytes);
/* The bytes the outbox for part `to` would take as bytes (its own size
 * but for in-process blobs, counted at their ms_shard_send_ref() wire_len). */
guint64 ms_shard_outbox_wire_bytes(const MsShard *shard, guint32 to);
void ms_shard_clear_outboxes(MsShard *shard);
/* How many events wait in the outbox for part `to`. */
guint64 ms_shard_outbox_events(const MsShard *shard, guint32 to);
/* The earliest time of an event in the outbox for part `to`
 * (MS_TIME_INFINITE: none): with every part's ms_shard_next_time(), what
 * part `to`'s next event time will be after delivery, known before the
 * exchange. */
MsTime ms_shard_outbox_min_time(const MsShard *shard, guint32 to);

/* Inserts the events of an outbox another part sent (each for a local
 * host, no earlier than now), in the given order, importing blobs. FALSE
 * when the bytes are not a well-formed outbox, or carry references
 * (MS_SHARD_EVENT_REF) into a shard not in process. */
gboolean ms_shard_deliver(MsShard *shard, const guint8 *bytes, gsize n_bytes);

/* Time of this part's next event, or MS_TIME_INFINITE. */
MsTime ms_shard_next_time(MsShard *shard);

void ms_shard_get_stats(const MsShard *shard, MsShardStats *stats);

/* Runs the K = ms_shard_parts() shards shards[0..K-1] (shards[i] being part
 * i of one partition) to `end` in this thread, window by window, moving
 * outboxes by copying; leaves every clock at `end` like ms_engine_run(). */
void ms_shard_run_local(MsShard *const *shards, guint32 n_shards, MsTime end);
/* The same on `threads` threads of this process (at most K; 1 is
 * ms_shard_run_local()), this thread being one of them: the same events
 * in every part, whatever the number of threads (sim/dist/shard_team.c). */
void ms_shard_run_threads(MsShard *const *shards, guint32 n_shards, guint threads, MsTime end);
/* What a run without windows did (the Distribution: line of `mailsim run
 * --parts K --async`): steps that ran events, jumps (every promise raised
 * at once because no part could run), and over all threads the seconds
 * spent running steps and waiting for a promise to move. */
typedef struct {
    guint64 steps, jumps;
    double busy_s, wait_s;
} MsShardAsyncStats;

/* The same without windows: each part runs as far as the others'
 * promises allow and publishes its own as it goes, on `threads` threads
 * (this one among them) that take whichever part can go on
 * (sim/dist/shard_async.c). */
void ms_shard_run_async(MsShard *const *shards, guint32 n_shards, guint threads, MsTime end,
                        MsShardAsyncStats *stats);

/* The most any synchronisation could gain on a split (`mailsim run --parts
 * K --critical-path`; sim/dist/shard_critical.c): the parts' events,
 * their summed cost and the busiest part's, and the length of two replays
 * with one processor per part and synchronisation that costs nothing: an
 * oracle's (each event waits only for the events it needs) and a
 * conservative driver's (also waiting until the lookahead says nothing
 * can still come). Costs in measured CPU seconds and in events (each
 * costing one: deterministic). work / length is each one's speed-up. */
typedef struct {
    guint64 events, crossings;
    guint64 busiest_events, oracle_events, lookahead_events;
    double work_s, busiest_s, oracle_s, lookahead_s;
} MsShardCriticalStats;

/* Runs the parts in this thread one event at a time in time order (the
 * results are the other drivers'), timing each, and replays the record
 * into `stats`. A measurement, not a way to run: it reads a clock twice
 * per event and keeps 33 bytes per event until the end. */
void ms_shard_run_critical(MsShard *const *shards, guint32 n_shards, MsTime end,
                           MsShardCriticalStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsShard, ms_shard_free)

G_END_DECLS
