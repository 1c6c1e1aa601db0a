/* The partitioned engine driver (see include/mailsim/shard.h): one part's
 * engine, its outboxes, and the window step that both the in-process driver
 * below and the MPI driver (sim/dist/mpi_run.c) repeat.
 *
 * Order. The sequential engine runs events by (time, scheduling host, that
 * host's counter). Here each part's engine runs the events of its own hosts
 * in that order, provided two things hold: (1) every event reaches its
 * engine before the engine's clock passes it, which the bounds guarantee:
 * an event a part sends at time t is for t + lookahead or later, and no
 * part runs past what the others can still send it
 * (ms_shard_safe_until()); (2) equal (time, src) events are ordered by
 * src's real counter, which travels with the event
 * (include/mailsim/engine_remote.h). last_seq checks on delivery that one
 * src's events arrive in its order.
 *
 * Random streams are per host and each host runs in one part, so a host
 * draws the same numbers in the same order as in the sequential run.
 *
 * Lookahead per pair (issue 20). Parts far apart in latency hold each
 * other back less: the bound of a window is min over p of (next_p +
 * chain[p]), chain[p] being the least sum of pair lookaheads along which an
 * event at part p could reach this part (compute_chains()); with K = 2 it
 * is the single pair's, with more parts the parts on slow cuts run longer
 * windows.
 *
 * Reach (issue 20). With a reach per host set (ms_shard_set_reach(): at
 * packet level the shortest latency from a host to and across its part's
 * nearest cut link), a window may also run to where the pending events
 * can actually reach: no event from part p != self before reach_p, the
 * least (time + reach of its host) over p's pending and incoming events,
 * and none caused by self's own events before reach_self plus a lookahead
 * back (ms_shard_reach_bound()). Either bound is safe, so the larger is
 * taken. On the medium world's 2-part split it cuts the windows by about
 * a fifth: packets cross the cut every millisecond or two, so some event
 * is always one cut link away.
 *
 * Costs: a local schedule costs one partition lookup more than
 * ms_engine_schedule(); a remote one appends 48 bytes (and its blob) to an
 * outbox. In one process (ms_shard_set_in_process(), set by both
 * in-process drivers) blobs may hold pointers whose ownership moves with
 * the event: every outbox is then delivered exactly once. Memory: a counter and an owner flag per host of the world (9
 * bytes), per part.
 *
 * Worlds (issue 9). Every part builds the whole world from the scenario
 * (hosts, links, routes, DNS data, servers) and runs the events of its own
 * hosts; the engine's local filter drops set-up events for other parts'
 * hosts after moving the scheduling counters as a sequential run would.
 *   Per host: random streams and scheduling counters (the engine); ports,
 *   UDP bindings, IP ids; TCP connections; an MTA's queue, greylist,
 *   resolver, cache and mailboxes; a client's POP3 state; DNS servers;
 *   message numbering (Message-IDs count per origin host, DSN labels per
 *   bouncing server, APOP tokens per server), so no byte on the wire
 *   depends on the split.
 *   Per link direction: busy_until and statistics, owned by the sending
 *   side (b only ever sees arrivals of a->b).
 *   Crossing parts: a packet whose next hop is another part's leaves as an
 *   event with a blob (header; the Message-ID of its tag the first time
 *   that tag goes to that part, the sender's tag after; the payload's
 *   bytes over MPI, its GBytes itself in one process) through
 *   ms_shard_send_ref(); the receiver imports it into a packet slot of its
 *   own (sim/net/net.c). Nothing else crosses. The lookahead of a pair of parts
 *   is the smallest latency of a cut link between them, the shard's scalar
 *   lookahead the smallest over all pairs (sim/run/world_partition.c).
 *   Everywhere: faults are events of the world itself (MS_HOST_WORLD), run
 *   by every part, each changing its own view of hosts and links and
 *   recomputing routes alike.
 *   Merged after the run: mail records (by Message-ID, sim/mail/mail_merge.c),
 *   statistics (counters added, include/mailsim/stats.h), traces (by the
 *   emitting event's order key, `mailsim merge`).
 *
 * Threading: a shard is used by one thread at a time, like its engine;
 * the in-process driver (shard_team.c) hands parts from thread to thread
 * only across its stage counter, which orders the memory between them. */
#include "mailsim/shard.h"
#include "mailsim/engine_remote.h"
#include "shard_drivers-private.h"

#include <string.h>

G_STATIC_ASSERT(sizeof(MsShardEvent) == 48);

/* Blobs follow their event in an outbox, padded to 8 bytes so that the next
 * event stays aligned. */
#define BLOB_ALIGN(n) (((n) + 7u) & ~(gsize) 7u)

typedef struct {
    MsShardImportFunc func;
    gpointer user_data;
} Importer;

struct _MsShard {
    MsEngine *engine;             /* borrowed */
    const MsPartition *partition; /* borrowed */
    guint32 self;
    guint32 hosts;
    guint8 *local; /* per host: 1 when this part owns it (a lookup per schedule) */
    MsTime lookahead;
    GByteArray **outbox; /* per part: MsShardEvent (+ blob) in scheduling order */
    guint64 *last_seq;   /* per host: last seq delivered from it + 1 */
    GArray *importers;   /* Importer, by event type */
    MsTime *outbox_min;  /* per part: earliest event in its outbox */
    guint64 *outbox_n;   /* per part: events in its outbox */
    guint64 *outbox_wire; /* per part: its outbox's size as bytes would be */
    MsTime *pair_la;     /* K x K: lookahead from part p to part q */
    MsTime *chain;       /* per part p: the shortest chain p -> ... -> self (see safe_bound) */
    MsTime *reach;       /* per host, or NULL: how soon an event there can reach another part */
    MsTime reach_world;  /* the same for MS_HOST_WORLD's events on this part */
    MsTime *outbox_reach; /* per part: least (time + reach of its host) in its outbox */
    MsTime back;          /* the least pair lookahead into self */
    gboolean in_process;  /* blobs may hold pointers (ms_shard_set_in_process) */
    MsShardStats stats;
};

/* chain[p] = the least total lookahead of a chain of sends that starts at
 * part p and ends at self with its last hop from a part other than self:
 * shortest paths over pair_la (Floyd-Warshall, O(K^3) once per setting),
 * then chain[p] = min over q != self of dist(p, q) + la(q, self), with
 * dist(p, p) = 0. For p = self that is the shortest round trip. */
static void
compute_chains(MsShard *s)
{
    guint32 k = ms_partition_parts(s->partition);
    g_autofree MsTime *d = g_new(MsTime, (gsize) k * k);
    for (guint32 p = 0; p < k; p++)
        for (guint32 q = 0; q < k; q++)
            d[p * k + q] = p == q ? 0 : s->pair_la[p * k + q];
    for (guint32 m = 0; m < k; m++)
        for (guint32 p = 0; p < k; p++) {
            MsTime pm = d[p * k + m];
            if (pm == MS_TIME_INFINITE)
                continue;
            for (guint32 q = 0; q < k; q++)
                d[p * k + q] = MIN(d[p * k + q], ms_time_add(pm, d[m * k + q]));
        }
    for (guint32 p = 0; p < k; p++) {
        MsTime best = MS_TIME_INFINITE;
        for (guint32 q = 0; q < k; q++)
            if (q != s->self)
                best = MIN(best, ms_time_add(d[p * k + q], s->pair_la[q * k + s->self]));
        s->chain[p] = best;
    }
    s->back = MS_TIME_INFINITE;
    for (guint32 p = 0; p < k; p++)
        if (p != s->self)
            s->back = MIN(s->back, s->pair_la[p * k + s->self]);
}

static gboolean
is_local_cb(gconstpointer user_data, MsHostId host)
{
    return ms_shard_is_local(user_data, host);
}

MsShard *
ms_shard_new(MsEngine *engine, const MsPartition *partition, guint32 self, MsTime lookahead)
{
    g_return_val_if_fail(engine != NULL && partition != NULL, NULL);
    g_return_val_if_fail(self < ms_partition_parts(partition), NULL);
    g_return_val_if_fail(lookahead > 0, NULL);
    MsShard *s = g_new0(MsShard, 1);
    s->engine = engine;
    s->partition = partition;
    s->self = self;
    s->hosts = ms_partition_hosts(partition);
    s->lookahead = lookahead;
    guint32 k = ms_partition_parts(partition);
    s->outbox = g_new0(GByteArray *, k);
    for (guint32 i = 0; i < k; i++)
        s->outbox[i] = g_byte_array_new();
    s->last_seq = g_new0(guint64, s->hosts);
    s->local = g_new0(guint8, s->hosts);
    for (guint32 h = 0; h < s->hosts; h++)
        s->local[h] = ms_partition_owner(partition, h) == self;
    s->importers = g_array_new(FALSE, TRUE, sizeof(Importer));
    s->outbox_min = g_new(MsTime, k);
    for (guint32 i = 0; i < k; i++)
        s->outbox_min[i] = MS_TIME_INFINITE;
    s->outbox_n = g_new0(guint64, k);
    s->outbox_wire = g_new0(guint64, k);
    s->pair_la = g_new(MsTime, (gsize) k * k);
    for (guint32 i = 0; i < k * k; i++)
        s->pair_la[i] = lookahead;
    s->chain = g_new(MsTime, k);
    s->outbox_reach = g_new(MsTime, k);
    for (guint32 i = 0; i < k; i++)
        s->outbox_reach[i] = MS_TIME_INFINITE;
    compute_chains(s);
    ms_engine_set_local_filter(engine, is_local_cb, s);
    return s;
}

void
ms_shard_free(MsShard *s)
{
    if (!s)
        return;
    ms_engine_set_local_filter(s->engine, NULL, NULL);
    for (guint32 i = 0; i < ms_partition_parts(s->partition); i++)
        g_byte_array_unref(s->outbox[i]);
    g_free(s->outbox);
    g_free(s->last_seq);
    g_free(s->local);
    g_free(s->outbox_min);
    g_free(s->pair_la);
    g_free(s->chain);
    g_free(s->reach);
    g_free(s->outbox_reach);
    g_free(s->outbox_n);
    g_free(s->outbox_wire);
    g_array_free(s->importers, TRUE);
    g_free(s);
}

MsEngine *
ms_shard_engine(const MsShard *s)
{
    return s->engine;
}
guint32
ms_shard_self(const MsShard *s)
{
    return s->self;
}
guint32
ms_shard_parts(const MsShard *s)
{
    return ms_partition_parts(s->partition);
}
MsTime
ms_shard_lookahead(const MsShard *s)
{
    return s->lookahead;
}
const MsPartition *
ms_shard_partition(const MsShard *s)
{
    return s->partition;
}

void
ms_shard_set_pair_lookahead(MsShard *s, const MsTime *la)
{
    guint32 k = ms_partition_parts(s->partition);
    for (guint32 p = 0; p < k; p++)
        for (guint32 q = 0; q < k; q++) {
            if (p == q)
                continue;
            g_return_if_fail(la[p * k + q] >= s->lookahead);
        }
    memcpy(s->pair_la, la, sizeof(MsTime) * k * k);
    for (guint32 p = 0; p < k; p++)
        s->pair_la[p * k + p] = MS_TIME_INFINITE;
    compute_chains(s);
}

MsTime
ms_shard_pair_lookahead(const MsShard *s, guint32 p, guint32 q)
{
    guint32 k = ms_partition_parts(s->partition);
    g_return_val_if_fail(p < k && q < k && p != q, MS_TIME_INFINITE);
    return s->pair_la[p * k + q];
}

MsTime
ms_shard_safe_bound(const MsShard *s, const MsTime *next)
{
    MsTime bound = MS_TIME_INFINITE;
    for (guint32 p = 0; p < ms_partition_parts(s->partition); p++)
        bound = MIN(bound, ms_time_add(next[p], s->chain[p]));
    return bound;
}

void
ms_shard_set_reach(MsShard *s, const MsTime *reach)
{
    g_free(s->reach);
    s->reach = NULL;
    s->reach_world = MS_TIME_INFINITE;
    if (!reach)
        return;
    s->reach = g_memdup2(reach, sizeof(MsTime) * s->hosts);
    /* A world event may set any host of this part going at once. */
    for (guint32 h = 0; h < s->hosts; h++)
        if (ms_shard_is_local(s, h))
            s->reach_world = MIN(s->reach_world, reach[h]);
}

gboolean
ms_shard_has_reach(const MsShard *s)
{
    return s->reach != NULL;
}

MsTime
ms_shard_next_reach(MsShard *s)
{
    g_return_val_if_fail(s->reach != NULL, MS_TIME_INFINITE);
    return ms_engine_next_reach(s->engine, s->reach, s->hosts, s->reach_world);
}

MsTime
ms_shard_outbox_reach(const MsShard *s, guint32 to)
{
    g_return_val_if_fail(to < ms_partition_parts(s->partition), MS_TIME_INFINITE);
    return s->outbox_reach[to];
}

MsTime
ms_shard_reach_bound(const MsShard *s, const MsTime *next, const MsTime *reach)
{
    MsTime bound = ms_shard_safe_bound(s, next);
    if (!s->reach || !reach)
        return bound;
    /* Another part's events reach self no sooner than their reach; self's
     * own, after a round trip: out by their reach, back by a lookahead. */
    MsTime r = ms_time_add(reach[s->self], s->back);
    for (guint32 p = 0; p < ms_partition_parts(s->partition); p++)
        if (p != s->self)
            r = MIN(r, reach[p]);
    return MAX(bound, r);
}

gboolean
ms_shard_is_local(const MsShard *s, MsHostId host)
{
    return host < s->hosts && s->local[host];
}

void
ms_shard_set_in_process(MsShard *s, gboolean in_process)
{
    in_process = !!in_process;
    if (in_process == s->in_process)
        return;
    for (guint32 i = 0; i < ms_partition_parts(s->partition); i++)
        g_return_if_fail(s->outbox[i]->len == 0);
    s->in_process = in_process;
}

guint
ms__shard_drivers_begin(MsShard *const *shards, guint32 n, guint threads)
{
    g_return_val_if_fail(shards != NULL && n >= 1 && ms_shard_parts(shards[0]) == n, 0);
    for (guint32 i = 0; i < n; i++)
        g_return_val_if_fail(ms_shard_self(shards[i]) == i &&
                                 ms_shard_partition(shards[i]) == ms_shard_partition(shards[0]),
                             0);
    for (guint32 i = 0; i < n; i++)
        ms_shard_set_in_process(shards[i], TRUE);
    return CLAMP(threads, 1u, n);
}

gboolean
ms_shard_in_process(const MsShard *s)
{
    return s->in_process;
}

void
ms_shard_set_import(MsShard *s, guint16 type, MsShardImportFunc func, gpointer user_data)
{
    if (type >= s->importers->len)
        g_array_set_size(s->importers, type + 1u);
    g_array_index(s->importers, Importer, type) = (Importer){ func, user_data };
}

/* Appends an event for another part with room for a `len`-byte blob after
 * it (zero padding included); returns the room, to be filled by the caller
 * before the next post on this shard. */
static guint8 *
post(MsShard *s, guint32 owner, MsShardEvent *ev, gsize len, gsize wire_len)
{
    MsTime now = ms_engine_now(s->engine);
    guint32 k = ms_partition_parts(s->partition);
    if (ev->at < ms_time_add(now, s->pair_la[s->self * k + owner]) && ev->src != MS_HOST_WORLD) {
        s->stats.late++;
        g_critical("shard %u: event for host %u at %" G_GINT64_FORMAT
                   " ns, sent at %" G_GINT64_FORMAT
                   " ns: sooner than the lookahead allows (the model broke it)",
                   s->self, ev->host, ev->at, now);
    }
    g_return_val_if_fail(len <= G_MAXUINT32, NULL);
    ev->blob_len = (guint32) len;
    s->outbox_min[owner] = MIN(s->outbox_min[owner], ev->at);
    if (s->reach)
        s->outbox_reach[owner] =
            MIN(s->outbox_reach[owner], ms_time_add(ev->at, s->reach[ev->host]));
    s->outbox_n[owner]++;
    GByteArray *box = s->outbox[owner];
    guint at = box->len;
    g_byte_array_set_size(box, at + (guint) (sizeof *ev + BLOB_ALIGN(len)));
    memcpy(box->data + at, ev, sizeof *ev);
    guint8 *room = box->data + at + sizeof *ev;
    memset(room + len, 0, BLOB_ALIGN(len) - len);
    s->stats.sent++;
    s->stats.bytes_sent += sizeof *ev + BLOB_ALIGN(wire_len);
    s->outbox_wire[owner] += sizeof *ev + BLOB_ALIGN(wire_len);
    return room;
}

void
ms_shard_schedule_from(MsShard *s, MsHostId src, MsTime at, MsHostId host, guint16 type,
                       MsEventData data)
{
    g_return_if_fail(host < s->hosts);
    g_return_if_fail(src == MS_HOST_WORLD || ms_shard_is_local(s, src));
    guint32 owner = ms_partition_owner(s->partition, host);
    g_return_if_fail(src != MS_HOST_WORLD || owner == s->self);
    guint64 seq = ms_engine_take_seq(s->engine, src);
    if (owner == s->self) {
        ms_engine_schedule_remote(s->engine, src, seq, at, host, type, data);
        return;
    }
    MsShardEvent ev = { at, seq, data, src, host, type, 0, 0 };
    post(s, owner, &ev, 0, 0);
}

void
ms_shard_schedule(MsShard *s, MsTime at, MsHostId host, guint16 type, MsEventData data)
{
    ms_shard_schedule_from(s, ms_engine_current_host(s->engine), at, host, type, data);
}

static guint8 *
send_blob(MsShard *s, MsTime at, MsHostId host, guint16 type, MsEventData data, gsize len,
          gsize wire_len, guint16 flags)
{
    MsHostId src = ms_engine_current_host(s->engine);
    g_return_val_if_fail(host < s->hosts && !ms_shard_is_local(s, host), NULL);
    g_return_val_if_fail(src != MS_HOST_WORLD && ms_shard_is_local(s, src), NULL);
    MsShardEvent ev = { at, ms_engine_take_seq(s->engine, src), data, src, host, type, flags, 0 };
    return post(s, ms_partition_owner(s->partition, host), &ev, len, wire_len);
}

guint8 *
ms_shard_send_ref(MsShard *s, MsTime at, MsHostId host, guint16 type, MsEventData data, gsize len,
                  gsize wire_len)
{
    g_return_val_if_fail(s->in_process, NULL);
    return send_blob(s, at, host, type, data, len, wire_len, MS_SHARD_EVENT_REF);
}

guint8 *
ms_shard_send(MsShard *s, MsTime at, MsHostId host, guint16 type, MsEventData data, gsize len)
{
    return send_blob(s, at, host, type, data, len, len, 0);
}

MsTime
ms_shard_safe_until(const MsTime *next, guint32 k, guint32 self, MsTime lookahead)
{
    /* The earliest a part q may still run an event: its own next, or an
     * event another part p sends it, at next_p + lookahead or later. */
    MsTime bound = MS_TIME_INFINITE;
    for (guint32 q = 0; q < k; q++) {
        if (q == self)
            continue;
        MsTime ept = next[q];
        for (guint32 p = 0; p < k; p++)
            if (p != q)
                ept = MIN(ept, ms_time_add(next[p], lookahead));
        /* Whatever q runs from then on reaches self a lookahead later. */
        bound = MIN(bound, ms_time_add(ept, lookahead));
    }
    return bound;
}

MsTime
ms_shard_run_window(MsShard *s, MsTime start, MsTime end)
{
    g_return_val_if_fail(start >= ms_engine_now(s->engine), ms_engine_now(s->engine));
    return ms_shard_run_until(s, ms_time_add(start, s->lookahead), end);
}

MsTime
ms_shard_run_until(MsShard *s, MsTime bound, MsTime end)
{
    MsTime until = MIN(bound - 1, end);
    until = MAX(until, ms_engine_now(s->engine));
    ms_engine_run(s->engine, until);
    s->stats.windows++;
    return until;
}

const guint8 *
ms_shard_outbox(const MsShard *s, guint32 to, gsize *n_bytes)
{
    g_return_val_if_fail(to < ms_partition_parts(s->partition), NULL);
    *n_bytes = s->outbox[to]->len;
    return s->outbox[to]->data;
}

void
ms_shard_clear_outboxes(MsShard *s)
{
    for (guint32 i = 0; i < ms_partition_parts(s->partition); i++) {
        g_byte_array_set_size(s->outbox[i], 0);
        s->outbox_min[i] = MS_TIME_INFINITE;
        s->outbox_reach[i] = MS_TIME_INFINITE;
        s->outbox_n[i] = 0;
        s->outbox_wire[i] = 0;
    }
}

guint64
ms_shard_outbox_wire_bytes(const MsShard *s, guint32 to)
{
    g_return_val_if_fail(to < ms_partition_parts(s->partition), 0);
    return s->outbox_wire[to];
}

guint64
ms_shard_outbox_events(const MsShard *s, guint32 to)
{
    g_return_val_if_fail(to < ms_partition_parts(s->partition), 0);
    return s->outbox_n[to];
}

MsTime
ms_shard_outbox_min_time(const MsShard *s, guint32 to)
{
    g_return_val_if_fail(to < ms_partition_parts(s->partition), MS_TIME_INFINITE);
    return s->outbox_min[to];
}

/* Whether bytes[0..n) is a sequence of whole events with their blobs. */
static gboolean
well_formed(const guint8 *bytes, gsize n)
{
    gsize off = 0;
    while (off < n) {
        MsShardEvent ev;
        if (n - off < sizeof ev)
            return FALSE;
        memcpy(&ev, bytes + off, sizeof ev);
        off += sizeof ev;
        if (BLOB_ALIGN((gsize) ev.blob_len) > n - off)
            return FALSE;
        off += BLOB_ALIGN((gsize) ev.blob_len);
    }
    return TRUE;
}

gboolean
ms_shard_deliver(MsShard *s, const guint8 *bytes, gsize n_bytes)
{
    if (!well_formed(bytes, n_bytes))
        return FALSE;
    for (gsize off = 0; off < n_bytes;) {
        MsShardEvent ev;
        memcpy(&ev, bytes + off, sizeof ev);
        off += sizeof ev;
        const guint8 *blob = bytes + off;
        off += BLOB_ALIGN((gsize) ev.blob_len);
        g_return_val_if_fail(ms_shard_is_local(s, ev.host), FALSE);
        /* References are for the parts of one process only. */
        g_return_val_if_fail(!(ev.flags & MS_SHARD_EVENT_REF) || s->in_process, FALSE);
        g_return_val_if_fail(ev.src < s->hosts && !ms_shard_is_local(s, ev.src), FALSE);
        /* One src's events arrive in its scheduling order (see the top). */
        g_return_val_if_fail(ev.seq + 1 > s->last_seq[ev.src], FALSE);
        s->last_seq[ev.src] = ev.seq + 1;
        if (ev.type < s->importers->len) {
            const Importer *im = &g_array_index(s->importers, Importer, ev.type);
            if (im->func)
                im->func(im->user_data, &ev, blob, ev.blob_len);
        }
        ms_engine_schedule_remote(s->engine, ev.src, ev.seq, ev.at, ev.host, ev.type, ev.data);
        s->stats.received++;
    }
    return TRUE;
}

MsTime
ms_shard_next_time(MsShard *s)
{
    return ms_engine_next_time(s->engine);
}

void
ms_shard_get_stats(const MsShard *s, MsShardStats *stats)
{
    *stats = s->stats;
}
