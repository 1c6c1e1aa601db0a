/* Flow-level TCP (see ms_tcp_new_flow in include/mailsim/tcp.h): the stream
 * transport of the simulated hosts when no segment is simulated. The mail
 * layer's sessions, protocol cores and timers are the same as at packet
 * level; only how long bytes take to cross changes.
 *
 * Model. A connection has two ends (0: the one that connected, 1: the
 * listener's) and one direction per sending end. The handshake is three
 * events (SYN at the server, SYN-ACK at the client, ACK at the server), each
 * after the one-way delay of a 40- or 44-byte packet on the routed path
 * (each link's serialisation plus latency). Every ms_tcp_send() is a
 * transfer computed at once, segment by segment, without engine events:
 *   - segments of at most MSS (path MTU - 40) bytes leave while the bytes in
 *     flight stay within cwnd and the peer's 65535, with the initial window
 *     of RFC 6928 and slow start / congestion avoidance grown per segment
 *     acknowledged; segments are cut at MSS or the end of the send, never
 *     by the window (as sim/net/tcp.c cuts them);
 *   - an ACK comes back one small-packet delay after each segment arrives
 *     (no delayed ACKs: sim/net/tcp.c has them, one ACK per two segments,
 *     and counts acknowledged bytes, to the same growth), and opens the
 *     window when the computation reaches its time;
 *   - each segment crosses the path store-and-forward: at each hop it waits
 *     for this direction's previous segment to leave the link, then
 *     serialises at the link's bandwidth divided among the multi-segment
 *     transfers on that link direction as the sender knows them (the fair
 *     share below; a lone segment on a link faster than ~12 Mbit/s skips
 *     the count, its 12 us at 1 Gbit/s would not change), then propagates;
 *   - a segment that finds a hop's drop-tail queue full (the bytes ahead of
 *     it, from the time the link stays busy) is dropped; on a lossy path a
 *     segment is also lost with 1 - prod(1 - loss) (drawn from the sender's
 *     stream). Either way it is charged as SACK recovery (RFC 6675, as
 *     sim/net/tcp.c) charges it: the segments after it go on and count as
 *     delivered; the lost one alone is sent again one round trip later when
 *     three more segments follow it (their duplicate ACKs), else after the
 *     RTO (doubled each time; lost again, it waits for the RTO), and it
 *     holds the cumulative ACK, so the peer's 65535-byte window cannot
 *     slide past it meanwhile. The first retransmission of a loss event
 *     halves the window (RFC 5681 (4); one segment after an RTO); losses
 *     among segments sent before that cut belong to the same event. cwnd
 *     is compared to the bytes neither acknowledged nor past their ACK time
 *     (RFC 6675's pipe, the SACKed ones gone). (Lesson 2, 2 % loss: flow
 *     6.83 s, packet 8.25 s; lesson 10, a queue that overflows: 16.46 s
 *     and 16.43 s.)
 * Fair share, signalled. News of a link's load travels at the speed of the
 * path, as congestion signals do in real TCP: a transfer that starts at t
 * reaches the i-th link of its path at t + P_i (P_i: the latencies of the
 * links before it, capped at MS__FLOW_SIGNAL_MAX) and crosses it until its
 * last segment leaves it; a sender starting at t' divides that link among
 * 1 + the transfers crossing it at t' - P_i, what a signal leaving the
 * link then would tell it now (sim/net/flow_share.c). The first link of a
 * path (P = 0) is known at once, as before; a far link's load is known
 * late, as a real sender knows it. Since any two senders on different
 * ranks of a distributed run are, via the link, at least one cut link's
 * latency apart (P_i + P'_j >= lookahead), a transfer's news always
 * reaches the other ranks before any sender there may count it: this is
 * what gives the flow level its lookahead.
 * The bytes arrive in one piece when the last segment does; sends in one
 * direction arrive in order. Queueing behind other connections' packets
 * beyond the fair share, and the peer's window, are not modelled.
 *
 * Faults, checked when a packet would leave and when data arrives: no route
 * at connect is "unreachable" at once; a down destination (or no route)
 * makes SYNs time out after 1+2+4+...+64 s (127 s, as sim/net/tcp.c) unless it
 * comes back in between; nobody listening answers RST ("refused"); data
 * that cannot cross waits, retried with the RTO doubling, and the sender is
 * told "timed out" after 8 tries; data that arrives at a down receiver is
 * lost with everything sent after it, and the sender hears of it one path
 * delay later (its ACKs stop coming) and sends it all again once the path
 * is back. Every random draw sim/net/tcp.c makes from a host's stream (one
 * initial sequence number per end) is made here too, at the same moment,
 * so the other users of those streams (MX shuffles, fault rates) draw the
 * same numbers at both fidelities.
 *
 * Ends apart. Each end acts on its own state only (its direction's window,
 * segments and held bytes; the receiver's list of chunks on their way and
 * the epoch below which it drops them), and everything one end tells the
 * other is an event that travels the path: SYN, SYN-ACK, ACK, a chunk of
 * data, FIN, RST, a loss report (EV_LOST), the abandon of a handshake
 * given up (EV_ABANDON). The SYN's retransmission timer is end 0's own,
 * cancelled by the SYN-ACK. An end is finished when its app let go and
 * what it had to send has gone (end_done()); its events are ignored from
 * then on, and a record goes when every end it holds for this rank is
 * finished. Sequentially both ends share one record; in a distributed run
 * (ms__flow_attach_shard()) ends on different ranks have a record each:
 * events between them cross through the shard, a chunk with its bytes
 * (import_event()), and a SYN from another rank makes the receiving
 * record, found again by the sender's (index, generation) for later SYNs.
 * Each record's `peer_*` names the other end's record. Every event between
 * ends lies at least the path's latency ahead, so at least one cut link's,
 * and the link crossings of the fair share go to every other rank one
 * lookahead ahead: the run needs no more lookahead than packet level. A
 * transfer's link counters are kept on its sender's rank: they add up
 * over the ranks, and a link's busiest second is found once the ranks'
 * busy time is added per second (sim/net/net_peak.c).
 *
 * Costs: about five engine events per connection plus one per send, against
 * one per segment per hop at packet level (the medium world: 20 M events
 * instead of 355 M); a transfer costs O(segments x hops) arithmetic, its
 * path is read once per route change. Memory: one record per open
 * connection, reused with its arrays (path, segments, chunks), so a
 * connection costs no allocation once the records have grown; per link
 * direction the joins and ends of the transfers of the last
 * MS__FLOW_SIGNAL_MAX (16 bytes each), searched by every fair-share
 * look-up. MS_FLOW_DEBUG=1 prints how many records at the end.
 *
 * Ownership: the flow owns connection records and the bytes in flight;
 * events name connections by (index, generation), so stale ones are
 * ignored after a record is reused. Threading: one engine, one thread. */
#include "flow-private.h"
#include "tcp-private.h"
#include "mailsim/shard.h"

#include <string.h>


/* One hop of a transfer being computed. */
typedef struct {
    guint64 bw; /* this transfer's share of the bandwidth */
    MsTime lat, busy;
    guint ld; /* link direction */
} Hop;

/* A lost segment of a transfer being computed, until it is resent: when,
 * its place in the direction's segments, its length, its ordinal among the
 * transfer's segments, whether duplicate ACKs (else the RTO) find it, and
 * how often it was lost already. */
typedef struct {
    MsTime at;
    guint idx;
    guint32 len, ord;
    gboolean fast;
    guint tries;
} Pending;

static void on_event(MsEngine *e, const MsEvent *ev, gpointer user_data);

static inline guint32
idx_of(MsTcpConnId id)
{
    return (id - 1) / 2;
}

static inline int
end_of(MsTcpConnId id)
{
    return (int) ((id - 1) & 1);
}

static inline MsTcpConnId
id_of(guint32 idx, int end)
{
    return idx * 2 + (guint32) end + 1;
}

MsFlow *
ms__flow_new(MsTcp *owner, MsNet *net)
{
    MsFlow *f = g_new0(MsFlow, 1);
    f->owner = owner;
    f->net = net;
    f->engine = ms_net_engine(net);
    f->conns = g_array_new(FALSE, TRUE, sizeof(Conn));
    f->hops = g_array_new(FALSE, FALSE, sizeof(Hop));
    f->pending = g_array_new(FALSE, FALSE, sizeof(Pending));
    f->share = ms__flow_share_new();
    f->share_out = g_array_new(FALSE, FALSE, sizeof(ShareWire));
    f->remote = ms__flow_remote_new();
    f->ev = ms_engine_register(f->engine, "tcp-flow", on_event, f);
    return f;
}

/* Empties a direction for the record's next connection. The arrays stay
 * (a connection record is reused, and its arrays with it: the per
 * connection malloc and free of ten arrays would otherwise show in a large
 * world's profile); the bytes still on their way and the held ones go. */
static void
chunks_clear(GArray *a, guint head)
{
    if (!a)
        return;
    for (guint i = head; i < a->len; i++)
        g_bytes_unref(g_array_index(a, Chunk, i).data);
    g_array_set_size(a, 0);
}

static void
dir_reset(Dir *d)
{
    chunks_clear(d->chunks, d->chunk_head);
    chunks_clear(d->sent, d->sent_head);
    if (d->held)
        g_byte_array_unref(d->held);
    GArray *keep[6] = { d->segs, d->links, d->hops, d->hop_free, d->chunks, d->sent };
    for (guint i = 0; i < G_N_ELEMENTS(keep); i++)
        if (keep[i])
            g_array_set_size(keep[i], 0);
    memset(d, 0, sizeof *d);
    d->segs = keep[0];
    d->links = keep[1];
    d->hops = keep[2];
    d->hop_free = keep[3];
    d->chunks = keep[4];
    d->sent = keep[5];
}

/* Frees a direction's arrays, after dir_reset(). */
static void
dir_free(Dir *d)
{
    GArray *arrays[6] = { d->segs, d->links, d->hops, d->hop_free, d->chunks, d->sent };
    for (guint i = 0; i < G_N_ELEMENTS(arrays); i++)
        if (arrays[i])
            g_array_unref(arrays[i]);
    memset(d, 0, sizeof *d);
}

/* Clears a record (its directions already reset), keeping their arrays. */
static void
conn_wipe(Conn *c)
{
    Dir d0 = c->d[0], d1 = c->d[1];
    memset(c, 0, sizeof *c);
    c->d[0] = d0;
    c->d[1] = d1;
}

void
ms__flow_free(MsFlow *f)
{
    if (!f)
        return;
    if (g_getenv("MS_FLOW_DEBUG")) {
        guint live = 0;
        for (guint i = 0; i < f->conns->len; i++)
            live += conn_at(f, i)->state != ST_FREE;
        g_printerr("flow: %u records, %u live; %" G_GUINT64_FORMAT
                   " paths read, %.2f links each; %" G_GUINT64_FORMAT " share times held\n",
                   f->conns->len, live, f->paths,
                   f->paths ? (double) f->path_links / f->paths : 0.0,
                   ms__flow_share_held(f->share));
    }
    for (guint i = 0; i < f->conns->len; i++) {
        Conn *c = conn_at(f, i);
        for (int e = 0; e < 2; e++) {
            dir_reset(&c->d[e]); /* a free record's directions are empty already */
            dir_free(&c->d[e]);
        }
    }
    g_array_free(f->conns, TRUE);
    ms__flow_share_free(f->share);
    g_array_free(f->share_out, TRUE);
    g_hash_table_destroy(f->remote);
    g_free(f->reps);
    g_array_free(f->hops, TRUE);
    g_array_free(f->pending, TRUE);
    g_free(f);
}

void
ms__flow_get_stats(const MsFlow *f, MsTcpStats *s)
{
    *s = f->stats;
}

/* A "tcp" record of conn c seen from `end`; ms_trace_emitv formats the
 * text only when a sink listens (most runs have none). */
static void trace(MsFlow *f, Conn *c, int end, MsTraceKind kind, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

static void
trace(MsFlow *f, Conn *c, int end, MsTraceKind kind, const char *fmt, ...)
{
    MsTraceRecord r = { .at = ms_engine_now(f->engine),
                        .kind = kind,
                        .host = c->host[end],
                        .peer = c->host[1 - end],
                        .message = c->message,
                        .proto = "tcp" };
    va_list ap;
    va_start(ap, fmt);
    ms_trace_emitv(ms_net_trace(f->net), &r, fmt, ap);
    va_end(ap);
}

/* An event's payload: the record it is for, its kind, the end that sent
 * it (or, for EV_FAIL, the reason), and one number. */
MsEventData
ms__flow_ev_data(guint32 idx, guint32 gen, int kind, int end, guint32 arg)
{
    MsEventData d = { { 0 } };
    d.u32[0] = idx;
    d.u32[1] = gen;
    d.u32[2] = (guint32) kind | ((guint32) end << 8);
    d.u32[3] = arg;
    return d;
}

/* An event of this record's own end at `host` (timers). */
static MsEventId
schedule(MsFlow *f, MsTime at, MsHostId host, guint32 idx, int kind, int end)
{
    return ms_engine_schedule(f->engine, MAX(at, ms_engine_now(f->engine)), host, f->ev,
                              ms__flow_ev_data(idx, conn_at(f, idx)->gen, kind, end, 0));
}

static gboolean
here(const MsFlow *f, MsHostId host)
{
    return f->shard == NULL || ms_shard_is_local(f->shard, host);
}

/* An event from end `from` to the other end, at `at`: a segment or a
 * chunk crossing the path. On this rank it goes to the same record (its
 * chunk, if any, joins the receiver's list now); for another rank's host
 * it travels through the shard with what the far record needs (a chunk's
 * bytes, a SYN's addressing), and `at` is at least the path's latency
 * away, so at least one cut link's (the lookahead). */
static void
post(MsFlow *f, guint32 idx, int from, MsTime at, int kind, guint32 arg, const Chunk *ch)
{
    Conn *c = conn_at(f, idx);
    MsHostId to = c->host[1 - from];
    at = MAX(at, ms_engine_now(f->engine));
    if (here(f, to)) {
        if (ch) {
            Chunk in = *ch;
            g_bytes_ref(in.data);
            g_array_append_val(c->d[from].chunks, in);
        }
        if (kind == EV_SYN)
            c->syn_flight++;
        ms_engine_schedule(f->engine, at, to, f->ev,
                           ms__flow_ev_data(idx, c->gen, kind, from, arg));
        return;
    }
    gsize n = ch ? g_bytes_get_size(ch->data) : 0;
    Wire w = { idx, c->gen, c->addr[1], c->port[0], c->port[1], c->mss, 0, 0, 0 };
    if (ch) {
        w.epoch = ch->epoch;
        w.seq = ch->seq;
        w.back = ch->back;
    }
    /* A SYN (and the abandon after it) finds its record by the sender's. */
    gboolean by_key = kind == EV_SYN || kind == EV_ABANDON;
    MsEventData d = ms__flow_ev_data(by_key ? G_MAXUINT32 : c->peer_idx, by_key ? 0 : c->peer_gen,
                                     kind, from, arg);
    guint8 *room = ms_shard_send(f->shard, at, to, f->ev, d, sizeof w + n);
    if (room) {
        memcpy(room, &w, sizeof w);
        if (n)
            memcpy(room + sizeof w, g_bytes_get_data(ch->data, NULL), n);
    }
}

guint32
ms__flow_conn_new(MsFlow *f)
{
    guint32 idx;
    if (f->free_conn) {
        idx = f->free_conn - 1;
        f->free_conn = conn_at(f, idx)->next_free;
    } else {
        g_array_set_size(f->conns, f->conns->len + 1);
        idx = f->conns->len - 1;
    }
    Conn *c = conn_at(f, idx);
    guint32 gen = c->gen + 1;
    conn_wipe(c);
    c->gen = gen;
    return idx;
}

static void
summary(MsFlow *f, Conn *c, int e)
{
    Dir *d = &c->d[e];
    if (d->segments == 0)
        return;
    g_autofree char *text = g_strdup_printf(
        "%" G_GUINT64_FORMAT
        " bytes left %s as a flow of %u segment%s of at most %u bytes%s%u resent (flow level)",
        d->bytes, ms_net_host_name(f->net, c->host[e]), d->segments, d->segments == 1 ? "" : "s",
        c->mss, d->resent ? ", " : " (", d->resent);
    char *fix = d->resent ? NULL : strstr(text, " (0 resent");
    if (fix)
        memcpy(fix, " (flow level)", sizeof " (flow level)");
    trace(f, c, e, MS_TRACE_TCP_STREAM, "%s", text);
}

static void
conn_free(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    if (ms_trace_enabled(ms_net_trace(f->net))) {
        summary(f, c, 0);
        summary(f, c, 1);
    }
    dir_reset(&c->d[0]);
    dir_reset(&c->d[1]);
    if (c->keyed) {
        RemoteKey k = { c->key_src, c->key_idx, c->key_gen };
        g_hash_table_remove(f->remote, &k);
    }
    guint32 gen = c->gen;
    conn_wipe(c);
    c->gen = gen + 1; /* pending events of the old record go stale */
    c->state = ST_FREE;
    c->next_free = f->free_conn;
    f->free_conn = idx + 1;
}

/* End x has nothing more to do: its app let go (or was told), and what it
 * had to send has gone (or the handshake never ended: RFC 793 3.9, CLOSE
 * in SYN-SENT). Events for a finished end are ignored. */
static gboolean
end_done(const Conn *c, int x)
{
    const Dir *d = &c->d[x];
    return !d->open && (!d->est || (!d->fin && !d->stalled && !(d->held && d->held->len > 0)));
}

/* Whether events for end x are still to be run. */
static gboolean
end_live(const Conn *c, int x)
{
    return (x == 0 || c->alive1) && !end_done(c, x);
}

/* A record goes when every end it holds for this rank is finished (end 1
 * counts from its SYN's sending: it may still come alive). Each end's
 * events depend on that end alone, so a record split over two ranks lives
 * and dies as the halves of one would. */
static void
maybe_free(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    if (c->state == ST_FREE)
        return;
    if (here(f, c->host[0]) && !c->keyed && !end_done(c, 0))
        return;
    if (here(f, c->host[1]) && (c->alive1 ? !end_done(c, 1) : c->syn_flight > 0))
        return;
    conn_free(f, idx);
}

/* Tells end e's app that the connection ended, once. Returns FALSE when
 * the record was freed or reused meanwhile. */
static gboolean
notify_closed(MsFlow *f, guint32 idx, int e, MsTcpCloseReason why)
{
    Conn *c = conn_at(f, idx);
    guint32 gen = c->gen;
    trace(f, c, e, MS_TRACE_TCP_CLOSE, "%s:%u -> %u: %s", ms_net_host_name(f->net, c->host[e]),
          c->port[e], c->port[1 - e], ms_tcp_close_reason_to_string(why));
    if (!c->d[e].open)
        return TRUE;
    c->d[e].open = FALSE;
    const MsTcpCallbacks *cb = c->cb[e];
    gpointer ud = c->ud[e];
    if (cb && cb->closed)
        cb->closed(f->owner, id_of(idx, e), why, ud);
    c = conn_at(f, idx);
    return c->gen == gen && c->state != ST_FREE;
}

/* --- paths --------------------------------------------------------------- */

static inline MsTime
serialise(guint64 bytes, guint64 bps)
{
    return (MsTime) ((bytes * 8 * 1000000000ULL + bps - 1) / bps);
}

/* Brings the path of direction e up to date. TRUE when a packet could
 * cross it now: a route, both ends up. */
static gboolean
path_ok(MsFlow *f, Conn *c, int e)
{
    Dir *d = &c->d[e];
    MsHostId from = c->host[e], to = c->host[1 - e];
    if (to == G_MAXUINT32)
        return FALSE;
    guint64 epoch = ms_net_route_epoch(f->net);
    if (!d->pathed || d->epoch != epoch) {
        if (!d->links) {
            d->links = g_array_new(FALSE, FALSE, sizeof(guint32));
            d->hop_free = g_array_new(FALSE, TRUE, sizeof(MsTime));
        }
        d->pathed = TRUE;
        d->routed = ms_net_route_links(f->net, from, to, d->links);
        f->paths++;
        f->path_links += d->links->len;
        d->mtu = d->routed ? 65535 : 0;
        if (!d->hops)
            d->hops = g_array_new(FALSE, FALSE, sizeof(PathHop));
        g_array_set_size(d->hops, d->links->len);
        d->ack_delay = 0;
        double ok = 1.0;
        MsTime lat_before = 0;
        MsHostId at = from;
        for (guint i = 0; i < d->links->len; i++) {
            guint32 li = g_array_index(d->links, guint32, i);
            const MsLinkParams *p = ms_net_link_params(f->net, li);
            MsHostId a, b;
            ms_net_link_ends(f->net, li, &a, &b);
            PathHop *hp = &g_array_index(d->hops, PathHop, i);
            hp->link = li;
            hp->ld = 2 * li + (a == at ? 0 : 1);
            hp->from = at;
            hp->bw = p->bandwidth_bps;
            hp->lat = p->latency;
            hp->tx_hdr = serialise(HDR, p->bandwidth_bps);
            hp->queue = p->queue_bytes;
            hp->sig = MIN(lat_before, MS__FLOW_SIGNAL_MAX);
            lat_before += p->latency;
            d->ack_delay += hp->tx_hdr + hp->lat;
            d->mtu = MIN(d->mtu, p->mtu);
            ok *= 1.0 - p->loss;
            at = a == at ? b : a;
        }
        d->loss = 1.0 - ok;
        g_array_set_size(d->hop_free, 0);
        g_array_set_size(d->hop_free, d->links->len);
        d->epoch = epoch;
    }
    return d->links->len > 0 && ms_net_host_is_up(f->net, from) && ms_net_host_is_up(f->net, to);
}

/* One-way delay of a lone packet of `size` bytes along direction e's path. */
static MsTime
lone_delay(MsFlow *f, Dir *d, guint32 size)
{
    (void) f;
    if (size == HDR)
        return d->ack_delay;
    MsTime t = 0;
    for (guint i = 0; i < d->hops->len; i++) {
        const PathHop *hp = &g_array_index(d->hops, PathHop, i);
        t += serialise(size, hp->bw) + hp->lat;
    }
    return t;
}

static gboolean
lost(MsFlow *f, Conn *c, int e)
{
    double p = c->d[e].loss;
    return p > 0 && ms_rng_bernoulli(ms_engine_host_rng(f->engine, c->host[e]), p);
}

static MsTime
rto_of(MsFlow *f, Conn *c, int e)
{
    Dir *d = &c->d[e];
    MsTime rtt = lone_delay(f, d, HDR + c->mss) + lone_delay(f, d, HDR);
    /* RFC 6298 after one sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
    return CLAMP(rtt + MAX(2 * rtt, MS_TIME_MS), RTO_MIN, RTO_MAX);
}

static void
window_init(MsFlow *f, Conn *c, int e)
{
    Dir *d = &c->d[e];
    d->cwnd = MIN(10 * c->mss, MAX(2 * c->mss, 14600u)); /* RFC 6928 initial window, as tcp.c */
    d->ssthresh = G_MAXUINT32;
    if (!d->segs)
        d->segs = g_array_new(FALSE, FALSE, sizeof(Seg));
    if (!d->chunks)
        d->chunks = g_array_new(FALSE, FALSE, sizeof(Chunk));
    if (!d->sent)
        d->sent = g_array_new(FALSE, FALSE, sizeof(Chunk));
    d->rto = rto_of(f, c, e);
}

/* An ACK reaches the sender: the window opens and grows as sim/net/tcp.c's. */
static void
ack_one(Conn *c, Dir *d)
{
    Seg s = g_array_index(d->segs, Seg, d->seg_head++);
    d->flight -= s.len;
    if (d->cwnd < d->ssthresh)
        d->cwnd += MIN(s.len, c->mss);
    else
        d->cwnd += MAX(1u, c->mss * c->mss / d->cwnd);
    if (d->seg_head == d->segs->len) {
        g_array_set_size(d->segs, 0);
        d->seg_head = 0;
    }
}

/* --- transfers ------------------------------------------------------------ */

static void start_stall(MsFlow *f, guint32 idx, int e);
static void send_fin(MsFlow *f, guint32 idx, int e);

/* One segment of `len` bytes leaving at `t` crosses the path store and
 * forward: at each hop it waits for this direction's previous segment to
 * leave the link, then serialises at the transfer's share of the
 * bandwidth, then propagates; `*arrival` is when it reaches the other end.
 * FALSE when a hop's queue (the time the link stays busy, in bytes at its
 * full rate: every flow's bytes ahead) has no room, as sim/net/net.c's
 * drop-tail: the segment is dropped there. */
static gboolean
cross(Dir *d, Hop *hop, MsTime t, guint32 len, MsTime *arrival)
{
    MsTime *hop_free = (MsTime *) d->hop_free->data;
    const PathHop *ph = (const PathHop *) d->hops->data;
    MsTime x = t;
    for (guint i = 0; i < d->links->len; i++) {
        MsTime start = MAX(x, hop_free[i]);
        if (start > x &&
            (guint64) ((double) (start - x) * (double) ph[i].bw / 8e9) + len + HDR > ph[i].queue)
            return FALSE;
        MsTime tx = serialise(len + HDR, hop[i].bw);
        hop_free[i] = start + tx;
        hop[i].busy += tx;
        x = start + tx + hop[i].lat;
    }
    *arrival = x;
    return TRUE;
}

/* Adds a lost segment to the scratch list, kept in time order. */
static void
pending_add(MsFlow *f, const Pending *p)
{
    guint i = f->pending->len;
    while (i > 0 && g_array_index(f->pending, Pending, i - 1).at > p->at)
        i--;
    g_array_insert_val(f->pending, i, *p);
}

/* Computes the crossing of `len` bytes from end e now and schedules their
 * arrival. The path must be usable (path_ok). */
static void
transfer(MsFlow *f, guint32 idx, int e, const guint8 *data, gsize len, GBytes *bytes)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    MsTime now = ms_engine_now(f->engine);
    guint h = d->links->len;
    MsTime *hop_free = (MsTime *) d->hop_free->data;
    /* per hop: bandwidth share, latency, link direction */
    g_array_set_size(f->hops, h);
    Hop *hop = (Hop *) f->hops->data;
    const PathHop *ph = (const PathHop *) d->hops->data;
    for (guint i = 0; i < h; i++) {
        hop[i].ld = ph[i].ld;
        /* Fair share. A lone segment on a fast link is not worth the look-up
         * (12 us at 1 Gbps however many share it): most sends are commands. */
        gboolean lone = len <= c->mss && serialise(c->mss + HDR, ph[i].bw) < MS_TIME_MS;
        hop[i].bw = lone ? ph[i].bw
                         : MAX(1u, ph[i].bw / (1 + ms__flow_share_count(f->share, ph[i].ld,
                                                                        now - ph[i].sig, now)));
        hop[i].lat = ph[i].lat;
        hop[i].busy = 0;
    }
    MsTime ack_delay = lone_delay(f, d, HDR);
    double ploss = d->loss;
    MsRng *rng = ms_engine_host_rng(f->engine, c->host[e]);
    MsTime t = now;
    MsTime last = d->last_arrival;
    gsize left = len;
    guint32 nseg = 0;
    guint64 resent_bytes = 0;
    /* Lost segments waiting for their retransmission (at most one per
     * segment in flight): each keeps its place in d->segs, with an ACK
     * time of "never" until it is resent. */
    g_array_set_size(f->pending, 0);
    guint32 sent_ord = 0, recover_ord = 0; /* segments sent; the last cut's mark */
    while (left > 0 || f->pending->len > 0) {
        Pending *pd = f->pending->len ? &g_array_index(f->pending, Pending, 0) : NULL;
        if (pd && (t >= pd->at || left == 0)) {
            /* A retransmission, as RFC 6675 recovery sends it: the lost
             * segment alone, when three later segments' duplicate ACKs
             * (one round trip after it) or the RTO name it lost. The first
             * one of a loss event halves the window (RFC 5681 (4)); a
             * loss among the segments sent before that cut belongs to the
             * same event and does not cut again. */
            t = MAX(t, pd->at);
            Pending p = *pd;
            g_array_remove_index(f->pending, 0);
            if (p.ord > recover_ord) {
                recover_ord = sent_ord;
                d->ssthresh = MAX(d->flight / 2, 2 * c->mss);
                d->cwnd = d->ssthresh;
            }
            if (!p.fast) { /* a timeout: one segment, and the RTO backs off */
                d->cwnd = c->mss;
                d->rto = MIN(d->rto * 2, RTO_MAX);
            }
            nseg++;
            d->resent++;
            f->stats.retransmits++;
            resent_bytes += p.len;
            MsTime x;
            gboolean lost =
                !cross(d, hop, t, p.len, &x) || (ploss > 0 && ms_rng_bernoulli(rng, ploss));
            if (lost) {
                if (++p.tries > DATA_RETRIES) {
                    /* The connection times out then; until it does, no
                     * segment may wait for an ACK time of "never" (a send
                     * in between would wait for it forever). */
                    schedule(f, t + d->rto, c->host[e], idx, EV_TIMEOUT, e);
                    g_array_index(d->segs, Seg, p.idx).ack_at = t + d->rto;
                    for (guint i = 0; i < f->pending->len; i++)
                        g_array_index(d->segs, Seg, g_array_index(f->pending, Pending, i).idx)
                            .ack_at = t + d->rto;
                    g_array_set_size(f->pending, 0);
                    return;
                }
                p.at = t + d->rto; /* a lost retransmission waits for the RTO */
                p.fast = FALSE;
                pending_add(f, &p);
                continue;
            }
            g_array_index(d->segs, Seg, p.idx).ack_at = x + ack_delay;
            last = MAX(last, x);
            d->rto = rto_of(f, c, e);
            continue;
        }
        while (d->seg_head < d->segs->len && g_array_index(d->segs, Seg, d->seg_head).ack_at <= t)
            ack_one(c, d);
        /* The window: the bytes not yet acknowledged or SACKed (RFC 6675
         * pipe) within cwnd, all bytes from the first unacknowledged one
         * within the peer's 65535. */
        guint32 pipe = d->flight, seg = (guint32) MIN((gsize) c->mss, left);
        MsTime next = MS_TIME_INFINITE;
        for (guint i = d->seg_head; i < d->segs->len; i++) {
            MsTime a = g_array_index(d->segs, Seg, i).ack_at;
            if (a <= t)
                pipe -= g_array_index(d->segs, Seg, i).len;
            else
                next = MIN(next, a);
        }
        if (pipe + seg > MAX(d->cwnd, seg) || d->flight + seg > RWND) {
            if (pd)
                next = MIN(next, pd->at);
            g_assert(next != MS_TIME_INFINITE);
            t = MAX(t, next);
            continue;
        }
        MsTime x;
        gboolean lost = !cross(d, hop, t, seg, &x) || (ploss > 0 && ms_rng_bernoulli(rng, ploss));
        Seg sg = { lost ? MS_TIME_INFINITE : x + ack_delay, seg };
        g_array_append_val(d->segs, sg);
        d->flight += seg;
        left -= seg;
        nseg++;
        sent_ord++;
        if (lost) {
            /* Found lost by three duplicate ACKs one round trip later when
             * three more segments follow it, else by the RTO. */
            gboolean fast = left >= 3 * (gsize) c->mss && d->cwnd >= 4 * c->mss;
            MsTime rtt = lone_delay(f, d, HDR + seg) + ack_delay;
            Pending p = { t + (fast ? rtt : d->rto), d->segs->len - 1, seg, sent_ord, fast, 0 };
            pending_add(f, &p);
        } else {
            last = MAX(last, x);
        }
    }
    g_array_set_size(f->share_out, 0);
    for (guint i = 0; i < h; i++) {
        ms_net_link_account(f->net, ph[i].link, ph[i].from, now, nseg,
                            len + resent_bytes + (guint64) nseg * HDR, hop[i].busy);
        if (nseg > 1) {
            ShareWire sw = { now + ph[i].sig, MAX(hop_free[i], now + ph[i].sig), ph[i].ld, 0 };
            ms__flow_share_add(f->share, sw.ld, sw.join, sw.end);
            g_array_append_val(f->share_out, sw);
        }
    }
    if (f->shard && f->share_out->len > 0)
        ms__flow_share_send(f);
    d->segments += nseg;
    d->bytes += len;
    f->stats.segments += nseg;
    f->stats.bytes += len;
    d->last_arrival = last;
    /* The sender keeps each chunk as long as a loss report could name it. */
    while (d->sent_head < d->sent->len) {
        Chunk *old = &g_array_index(d->sent, Chunk, d->sent_head);
        if (old->at + old->back >= now)
            break;
        g_bytes_unref(old->data);
        d->sent_head++;
    }
    if (d->sent_head == d->sent->len) {
        g_array_set_size(d->sent, 0);
        d->sent_head = 0;
    }
    Chunk ch = { last, bytes ? g_bytes_ref(bytes) : g_bytes_new(data, len), d->tx_epoch,
                 d->tx_seq++, ack_delay };
    g_array_append_val(d->sent, ch);
    post(f, idx, e, last, EV_DATA, 0, &ch);
}

/* Sends what end e holds, if the path lets it; else waits for the path. */
static void
flush_held(MsFlow *f, guint32 idx, int e)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    if (d->held && d->held->len > 0) {
        if (!path_ok(f, c, e)) {
            start_stall(f, idx, e);
            return;
        }
        g_autoptr(GByteArray) held = g_steal_pointer(&d->held);
        transfer(f, idx, e, held->data, held->len, NULL);
        c = conn_at(f, idx);
        d = &c->d[e];
    }
    if (d->fin)
        send_fin(f, idx, e);
}

static void
hold(Dir *d, const guint8 *data, gsize len)
{
    if (!d->held)
        d->held = g_byte_array_new();
    g_byte_array_append(d->held, data, (guint) len);
}

static void
start_stall(MsFlow *f, guint32 idx, int e)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    if (d->stalled)
        return;
    d->stalled = TRUE;
    d->retries = 0;
    schedule(f, ms_engine_now(f->engine) + d->rto, c->host[e], idx, EV_STALL, e);
}

/* The FIN of end e leaves after its data: the peer learns of the close when
 * it arrives. */
static void
send_fin(MsFlow *f, guint32 idx, int e)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    if (d->stalled || (d->held && d->held->len > 0) || !d->est)
        return; /* after the data, once it can go */
    d->fin = FALSE;
    f->stats.segments++;
    if (!path_ok(f, c, e))
        return; /* lost with the path: the peer finds out no sooner than at packet level */
    MsTime at = MAX(ms_engine_now(f->engine) + lone_delay(f, d, HDR), d->last_arrival);
    post(f, idx, e, at, EV_FIN, 0, NULL);
}

/* --- the API ------------------------------------------------------------- */

static void syn_try(MsFlow *f, guint32 idx);

MsTcpConnId
ms__flow_connect(MsFlow *f, MsHostId host, guint32 dst_addr, guint16 dport,
                 const MsTcpCallbacks *cb, gpointer ud)
{
    /* The port tcp.c would pick (RFC 6056 3.3.4, same draws); no in-use
     * test, as flows are not told apart by port. */
    guint16 lport = ms_net_connect_port(f->net, host, dst_addr, dport, NULL, NULL);
    guint32 idx = ms__flow_conn_new(f);
    Conn *c = conn_at(f, idx);
    c->state = ST_SYN_SENT;
    c->peer_idx = idx;
    c->peer_gen = c->gen;
    c->host[0] = host;
    c->addr[0] = ms_net_host_addr(f->net, host);
    c->port[0] = lport;
    c->addr[1] = dst_addr;
    c->port[1] = dport;
    c->host[1] = ms_net_host_by_addr(f->net, dst_addr);
    c->cb[0] = cb;
    c->ud[0] = ud;
    c->d[0].open = TRUE;
    (void) ms_rng_next(
        ms_engine_host_rng(f->engine, host)); /* sim/net/tcp.c's initial sequence number */
    f->stats.connections++;
    if (c->host[1] != G_MAXUINT32)
        path_ok(f, c, 0);
    guint32 pmtu = c->host[1] == G_MAXUINT32 ? 0 : c->d[0].mtu;
    if (pmtu == 0) {
        schedule(f, ms_engine_now(f->engine), host, idx, EV_FAIL, MS_TCP_CLOSE_UNREACHABLE);
        return id_of(idx, 0);
    }
    path_ok(f, c, 1);
    guint32 back = c->d[1].mtu;
    c->mss = MAX(MIN(pmtu, back ? back : pmtu), 68u) - HDR;
    c->syn_rto = RTO_INIT;
    trace(f, c, 0, MS_TRACE_TCP_CONNECT, "%s:%u connects to port %u",
          ms_net_host_name(f->net, host), lport, dport);
    syn_try(f, idx);
    return id_of(idx, 0);
}

/* Sends a SYN and sets end 0's timer: whatever becomes of the SYN (lost,
 * met a down host, answered by a lost SYN-ACK), the client learns only by
 * the timer, as at packet level. */
static void
syn_try(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    MsTime now = ms_engine_now(f->engine);
    c->syn_sent_at = now;
    f->stats.segments++;
    c->syn_timer = schedule(f, now + c->syn_rto, c->host[0], idx, EV_SYN_RETRY, 0);
    if (path_ok(f, c, 0) && !lost(f, c, 0)) {
        c->syn_delay = lone_delay(f, &c->d[0], SYN_SIZE);
        c->syn_posted = TRUE;
        post(f, idx, 0, now + c->syn_delay, EV_SYN, 0, NULL);
    }
}

/* End 0 gave up before the handshake ended: a listener's end its SYN may
 * have made goes quietly (as the RST answering its SYN-ACK would make it),
 * told after every SYN has arrived. */
static void
abandon(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    if (c->syn_posted)
        post(f, idx, 0, ms_engine_now(f->engine) + c->syn_delay, EV_ABANDON, 0, NULL);
}

void
ms__flow_set_callbacks(MsFlow *f, MsTcpConnId id, const MsTcpCallbacks *cb, gpointer ud)
{
    Conn *c = conn_at(f, idx_of(id));
    c->cb[end_of(id)] = cb;
    c->ud[end_of(id)] = ud;
}

void
ms__flow_send(MsFlow *f, MsTcpConnId id, const guint8 *data, gsize len)
{
    guint32 idx = idx_of(id);
    int e = end_of(id);
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    g_return_if_fail(c->state != ST_FREE && d->open);
    if (len == 0)
        return;
    if (!d->est || d->stalled || (d->held && d->held->len > 0)) {
        hold(d, data, len);
        return;
    }
    if (!path_ok(f, c, e)) {
        hold(d, data, len);
        start_stall(f, idx, e);
        return;
    }
    transfer(f, idx, e, data, len, NULL);
}

void
ms__flow_send_bytes(MsFlow *f, MsTcpConnId id, GBytes *bytes)
{
    guint32 idx = idx_of(id);
    int e = end_of(id);
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    gsize len;
    const guint8 *data = g_bytes_get_data(bytes, &len);
    g_return_if_fail(c->state != ST_FREE && d->open);
    if (len == 0)
        return;
    if (!d->est || d->stalled || (d->held && d->held->len > 0) || !path_ok(f, c, e)) {
        ms__flow_send(f, id, data, len); /* held: copied */
        return;
    }
    transfer(f, idx, e, data, len, bytes);
}

void
ms__flow_close(MsFlow *f, MsTcpConnId id)
{
    guint32 idx = idx_of(id);
    int e = end_of(id);
    Conn *c = conn_at(f, idx);
    if (c->state == ST_FREE || !c->d[e].open)
        return;
    c->d[e].open = FALSE;
    c->d[e].fin = TRUE;
    if (e == 0 && !c->d[0].est) {
        c->d[0].fin = FALSE; /* RFC 793 3.9: CLOSE in SYN-SENT deletes the connection */
        abandon(f, idx);
    }
    send_fin(f, idx, e);
    maybe_free(f, idx);
}

void
ms__flow_abort(MsFlow *f, MsTcpConnId id)
{
    guint32 idx = idx_of(id);
    Conn *c = conn_at(f, idx);
    if (c->state == ST_FREE || end_of(id) != 0 || c->d[0].est) {
        ms__flow_close(f, id);
        return;
    }
    trace(f, c, 0, MS_TRACE_TCP_CLOSE, "%s:%u -> %u: timed out (abandoned by the application)",
          ms_net_host_name(f->net, c->host[0]), c->port[0], c->port[1]);
    /* The listener's end, if a SYN reached it, has not told its app yet
     * (that waits for the handshake's ACK). */
    c->d[0].open = FALSE;
    abandon(f, idx);
    maybe_free(f, idx);
}

void
ms__flow_set_message(MsFlow *f, MsTcpConnId id, guint32 m)
{
    conn_at(f, idx_of(id))->message = m;
}
MsHostId
ms__flow_conn_host(MsFlow *f, MsTcpConnId id)
{
    return conn_at(f, idx_of(id))->host[end_of(id)];
}
guint32
ms__flow_conn_peer_addr(MsFlow *f, MsTcpConnId id)
{
    return conn_at(f, idx_of(id))->addr[1 - end_of(id)];
}

/* --- events ---------------------------------------------------------------- */

/* A SYN reaches the listener's host. */
static void
on_syn(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    MsTime now = ms_engine_now(f->engine);
    if (c->syn_flight > 0)
        c->syn_flight--;
    if (c->state == ST_ESTABLISHED)
        return;
    if (!ms_net_host_is_up(f->net, c->host[1]))
        return; /* it died on arrival: the client's timer sends it again */
    if (!c->alive1) {
        const MsTcpListener *l = ms__tcp_listener(f->owner, c->host[1], c->port[1]);
        f->stats.segments++;
        if (!l) {
            /* RFC 793 3.4: nobody listens: reset. */
            if (path_ok(f, c, 1))
                post(f, idx, 1, now + lone_delay(f, &c->d[1], HDR), EV_RST, 0, NULL);
            return;
        }
        (void) ms_rng_next(ms_engine_host_rng(f->engine, c->host[1])); /* sim/net/tcp.c's ISS */
        f->stats.connections++;
        c->alive1 = TRUE;
        c->d[1].open = TRUE;
        c->cb[1] = l->cb;
        c->ud[1] = l->ud;
        c->state = ST_SYN_RCVD;
    } else {
        f->stats.segments++;
    }
    if (path_ok(f, c, 1) && !lost(f, c, 1))
        post(f, idx, 1, now + lone_delay(f, &c->d[1], SYN_SIZE), EV_SYNACK, 0, NULL);
}

/* The SYN-ACK reaches the client: its end is established. */
static void
on_synack(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    guint32 gen = c->gen;
    if (c->d[0].est)
        return;
    ms_engine_cancel(f->engine, c->syn_timer);
    c->syn_timer = 0;
    path_ok(f, c, 0);
    window_init(f, c, 0);
    c->d[0].est = TRUE;
    f->stats.established++;
    f->stats.segments++;
    trace(f, c, 0, MS_TRACE_TCP_ESTABLISHED, "established");
    post(f, idx, 0, ms_engine_now(f->engine) + lone_delay(f, &c->d[0], HDR), EV_ACK, 0, NULL);
    if (c->d[0].open && c->cb[0] && c->cb[0]->connected) {
        c->cb[0]->connected(f->owner, id_of(idx, 0), c->ud[0]);
        c = conn_at(f, idx);
        if (c->gen != gen || c->state == ST_FREE)
            return;
    }
    flush_held(f, idx, 0);
}

/* The handshake's ACK reaches the server: the connection is accepted. */
static void
on_ack(MsFlow *f, guint32 idx)
{
    Conn *c = conn_at(f, idx);
    guint32 gen = c->gen;
    if (c->state != ST_SYN_RCVD)
        return;
    c->state = ST_ESTABLISHED;
    path_ok(f, c, 1);
    window_init(f, c, 1);
    c->d[1].est = TRUE;
    f->stats.established++;
    trace(f, c, 1, MS_TRACE_TCP_ESTABLISHED, "accepted");
    if (c->cb[1] && c->cb[1]->connected) {
        c->cb[1]->connected(f->owner, id_of(idx, 1), c->ud[1]);
        c = conn_at(f, idx);
        if (c->gen != gen || c->state == ST_FREE)
            return;
    }
    flush_held(f, idx, 1);
}

/* Bytes from end e reach the other end: every chunk whose time has come.
 * A chunk that finds the receiver down is lost with every later one of
 * its epoch; the sender hears of it one path delay later (its ACKs stop
 * coming) and sends them all again when the path is back. */
static void
on_data(MsFlow *f, guint32 idx, int e)
{
    Conn *c = conn_at(f, idx);
    guint32 gen = c->gen;
    MsTime now = ms_engine_now(f->engine);
    int r = 1 - e;
    for (;;) {
        Dir *d = &c->d[e];
        if (!d->chunks || d->chunk_head >= d->chunks->len ||
            g_array_index(d->chunks, Chunk, d->chunk_head).at > now)
            break;
        Chunk ch = g_array_index(d->chunks, Chunk, d->chunk_head++);
        if (d->chunk_head == d->chunks->len) {
            g_array_set_size(d->chunks, 0);
            d->chunk_head = 0;
        }
        if (ch.epoch < d->rx_dead) {
            g_bytes_unref(ch.data); /* after a reported loss: the sender sends it again */
            continue;
        }
        if (!ms_net_host_is_up(f->net, c->host[r])) {
            d->rx_dead = ch.epoch + 1;
            post(f, idx, r, now + ch.back, EV_LOST, ch.seq, NULL);
            g_bytes_unref(ch.data);
            continue;
        }
        if (c->d[r].open && c->cb[r] && c->cb[r]->data) {
            gsize n;
            const guint8 *p = g_bytes_get_data(ch.data, &n);
            c->cb[r]->data(f->owner, id_of(idx, r), p, n, c->ud[r]);
        }
        g_bytes_unref(ch.data);
        c = conn_at(f, idx);
        if (c->gen != gen || c->state == ST_FREE || !end_live(c, r))
            return;
    }
}

/* The receiver reports chunk `seq` of end e lost: it and every later chunk
 * go back to the held bytes, and end e waits for the path. */
static void
on_lost(MsFlow *f, guint32 idx, int e, guint32 seq)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    guint i = d->sent_head;
    while (i < d->sent->len && g_array_index(d->sent, Chunk, i).seq != seq)
        i++;
    if (i == d->sent->len || g_array_index(d->sent, Chunk, i).epoch != d->tx_epoch)
        return; /* reported already */
    GByteArray *again = g_byte_array_new();
    for (guint j = d->sent_head; j < d->sent->len; j++) {
        GBytes *b = g_array_index(d->sent, Chunk, j).data;
        if (j >= i) {
            gsize n;
            const guint8 *p = g_bytes_get_data(b, &n);
            g_byte_array_append(again, p, (guint) n);
        }
        g_bytes_unref(b);
    }
    g_array_set_size(d->sent, 0);
    d->sent_head = 0;
    if (d->held)
        g_byte_array_append(again, d->held->data, d->held->len);
    g_clear_pointer(&d->held, g_byte_array_unref);
    d->held = again;
    d->tx_epoch++;
    d->last_arrival = ms_engine_now(f->engine);
    g_array_set_size(d->segs, 0);
    d->seg_head = 0;
    d->flight = 0;
    d->resent++;
    start_stall(f, idx, e);
}

static void
on_fin(MsFlow *f, guint32 idx, int e)
{
    /* No half-close: the other end answers with its FIN, which nobody
     * needs to hear (end e has let go). */
    notify_closed(f, idx, 1 - e, MS_TCP_CLOSE_NORMAL);
}

static void
on_stall(MsFlow *f, guint32 idx, int e)
{
    Conn *c = conn_at(f, idx);
    Dir *d = &c->d[e];
    d->stalled = FALSE;
    if (++d->retries > DATA_RETRIES) {
        f->stats.timeouts++;
        g_clear_pointer(&d->held, g_byte_array_unref);
        d->fin = FALSE;
        notify_closed(f, idx, e, MS_TCP_CLOSE_TIMEOUT);
        return;
    }
    d->rto = MIN(d->rto * 2, RTO_MAX);
    if (!path_ok(f, c, e)) {
        d->stalled = TRUE;
        schedule(f, ms_engine_now(f->engine) + d->rto, c->host[e], idx, EV_STALL, e);
        return;
    }
    /* A timeout collapses the window (RFC 5681 3.1). */
    d->ssthresh = MAX(d->flight / 2, 2 * c->mss);
    d->cwnd = c->mss;
    g_array_set_size(d->segs, 0);
    d->seg_head = 0;
    d->flight = 0;
    d->retries = 0;
    flush_held(f, idx, e);
}

/* Which end of the record an event is for. */
static int
target_end(int kind, int e)
{
    switch (kind) {
    case EV_SYN:
    case EV_ACK:
    case EV_ABANDON:
        return 1;
    case EV_DATA:
    case EV_FIN:
        return 1 - e;
    case EV_STALL:
    case EV_TIMEOUT:
    case EV_LOST:
        return e;
    default:
        return 0;
    }
}

static void
on_event(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsFlow *f = user_data;
    (void) engine;
    guint32 idx = ev->data.u32[0];
    if (idx >= f->conns->len)
        return; /* a no-op: link crossings, or a record gone before delivery */
    Conn *c = conn_at(f, idx);
    guint32 gen = ev->data.u32[1];
    if (c->gen != gen || c->state == ST_FREE)
        return; /* the connection ended meanwhile */
    int kind = (int) (ev->data.u32[2] & 0xff), e = (int) (ev->data.u32[2] >> 8);
    if (kind != EV_SYN && !end_live(c, target_end(kind, e)))
        return; /* for an end that has finished */
    switch (kind) {
    case EV_SYN:
        on_syn(f, idx);
        break;
    case EV_SYNACK:
        on_synack(f, idx);
        break;
    case EV_ACK:
        on_ack(f, idx);
        break;
    case EV_DATA:
        on_data(f, idx, e);
        break;
    case EV_FIN:
        on_fin(f, idx, e);
        break;
    case EV_RST:
        if (c->state == ST_SYN_SENT) {
            f->stats.refused++;
            notify_closed(f, idx, 0, MS_TCP_CLOSE_REFUSED);
        }
        break;
    case EV_SYN_RETRY:
        if (c->state == ST_ESTABLISHED || c->d[0].est ||
            ms_engine_now(f->engine) < c->syn_sent_at + c->syn_rto)
            break; /* answered meanwhile, or a duplicate of a later timer */
        if (++c->syn_retries > SYN_RETRIES) {
            f->stats.timeouts++;
            abandon(f, idx);
            notify_closed(f, idx, 0, MS_TCP_CLOSE_TIMEOUT);
            break;
        }
        c->syn_rto = MIN(c->syn_rto * 2, RTO_MAX);
        f->stats.retransmits++;
        trace(f, c, 0, MS_TRACE_TCP_RETRANSMIT, "SYN again");
        syn_try(f, idx);
        break;
    case EV_STALL:
        on_stall(f, idx, e);
        break;
    case EV_TIMEOUT:
        f->stats.timeouts++;
        notify_closed(f, idx, e, MS_TCP_CLOSE_TIMEOUT);
        break;
    case EV_FAIL:
        notify_closed(f, idx, 0, (MsTcpCloseReason) e);
        break;
    case EV_LOST:
        on_lost(f, idx, e, ev->data.u32[3]);
        break;
    case EV_ABANDON:
        if (!c->d[1].est)
            c->d[1].open = FALSE; /* quietly: its app was never told */
        break;
    default:
        g_assert_not_reached();
    }
    c = conn_at(f, idx);
    if (c->gen == gen)
        maybe_free(f, idx);
}
