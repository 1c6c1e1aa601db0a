/* TCP-lite (see include/mailsim/tcp.h): connections as records in an array
 * indexed by id, found on arrival through a hash of (host, local port,
 * remote address, remote port). This file holds the connections, the
 * handshake, the sender's window and loss recovery, and the timers; the
 * receiver's queue is sim/net/tcp_recv.c, the sender's scoreboard
 * sim/net/tcp_sack.c (the structs they share: sim/net/tcp-private.h).
 *
 * Sender: bytes the app queued wait in a send buffer that starts at
 * snd_una; segments of at most MSS bytes are cut from it, once, while the
 * bytes in flight stay within min(cwnd, peer window), and recorded in the
 * scoreboard, so that a retransmission resends the same bytes under the
 * same boundaries. The receiver keeps out-of-order data, so only what was
 * lost is sent again. Both ends offer SACK on their SYNs (RFC 2018 2,
 * unless ms_tcp_set_sack() says otherwise); with it, ACKs name the data
 * held above a gap and loss recovery follows RFC 6675 (scoreboard, pipe,
 * NextSeg with its rescue retransmission of a lost tail, DupThresh 3);
 * without it, three duplicate ACKs start NewReno fast recovery (RFC 6582),
 * each partial ACK resending the next hole. The first two duplicate ACKs
 * bring new data (limited transmit: RFC 3042, RFC 6675 5 (3)). Resending
 * the first segment outstanding restarts the RTO timer, as Linux does. A
 * timeout marks everything outstanding and not SACKed lost and resends it
 * in order from a window of one segment, unless F-RTO (RFC 5682 3.1, the
 * SACK-enhanced variant, on by default in Linux) finds it spurious: after
 * the first segment resent, the next new ACK brings two new segments
 * instead of more old ones, and an ACK covering a segment sent before the
 * timeout and never resent proves the segments only delayed (a slow
 * line's queue), so the timeout is undone and nothing more is resent.
 * The first window is 10 segments
 * (RFC 6928). The receiver delays its ACKs (RFC 1122 4.2.3.2): every
 * second full-sized segment, or 40 ms after the first one, and at once
 * for data out of order or filling a gap (RFC 5681 4.2). RTO per RFC
 * 6298: SRTT/RTTVAR from every ACK that newly covers a segment never
 * retransmitted (Karn), as Linux and ns-3 sample it (one sample per ACK,
 * from the oldest segment it covers, a SACKed one if no cumulative one
 * fits), RTO = SRTT + 4 RTTVAR, at least 200 ms (as Linux),
 * at most 120 s (Linux's TCP_RTO_MAX), initially 1 s, doubled on each
 * timeout; SYNs give up after 6 retries, 127 s (1 + 2 + 4 + ... + 64, as
 * Linux with its default tcp_syn_retries = 6), data after 8.
 *
 * Costs: one engine event per segment per hop (in the network) plus one
 * timer reschedule per ACK; payload bytes are copied once per segment sent.
 * The connection lookup is a hash on the per-packet path, which STYLE.md
 * would rather avoid: a later change can carry the receiver's index in the
 * simulated packet.
 *
 * Two fidelities: an MsTcp from ms_tcp_new_flow() carries an MsFlow
 * (sim/net/flow.c) and each public function below hands the call over to it
 * first; the packet machinery of this file then stays idle. Listening is
 * the exception: the table of listening ports is this file's for both
 * fidelities (the flow reads it through ms__tcp_listener()). */
#include "tcp-private.h"
#include "mailsim/tcp_wire.h"

#include <string.h>

#define DELACK       (40 * MS_TIME_MS) /* Linux's TCP_DELACK_MIN */

struct _MsTcp {
    MsNet *net;
    MsEngine *engine;
    GArray *conns; /* MsTcpConn; id = index + 1 */
    guint32 free_conn;
    GHashTable *by_key;    /* MsTcpConnKey* -> id */
    GHashTable *listeners; /* (host << 16 | port) -> MsTcpListener*; both fidelities */
    guint16 ev_timer, ev_fail, ev_delack;
    MsTcpStats stats;
    MsFlow *flow;    /* flow level: every call goes there */
    GArray *no_sack; /* guint8 per host: TRUE if it offers no SACK (ms_tcp_set_sack) */
};

static guint
key_hash(gconstpointer p)
{
    const MsTcpConnKey *k = p;
    guint64 h = ((guint64) k->host * 0x9e3779b97f4a7c15ULL) ^
                ((guint64) k->raddr << 32 | (guint32) k->lport << 16 | k->rport);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (guint) (h ^ (h >> 32));
}

static gboolean
key_equal(gconstpointer a, gconstpointer b)
{
    const MsTcpConnKey *x = a, *y = b;
    return x->host == y->host && x->raddr == y->raddr && x->lport == y->lport &&
           x->rport == y->rport;
}

static inline MsTcpConn *
conn_at(MsTcp *t, MsTcpConnId id)
{
    g_assert(id > 0 && id <= t->conns->len);
    return &g_array_index(t->conns, MsTcpConn, id - 1);
}

static void on_receive(MsNet *net, MsHostId host, const MsPacket *p, gpointer user_data);
static void on_timer(MsEngine *e, const MsEvent *ev, gpointer user_data);
static void on_fail(MsEngine *e, const MsEvent *ev, gpointer user_data);
static void on_delack(MsEngine *e, const MsEvent *ev, gpointer user_data);

MsTcp *
ms_tcp_new(MsNet *net)
{
    MsTcp *t = g_new0(MsTcp, 1);
    t->net = net;
    t->engine = ms_net_engine(net);
    t->conns = g_array_new(FALSE, TRUE, sizeof(MsTcpConn));
    t->free_conn = 0;
    t->by_key = g_hash_table_new(key_hash, key_equal);
    t->listeners = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    t->no_sack = g_array_new(FALSE, TRUE, sizeof(guint8));
    t->ev_timer = ms_engine_register(t->engine, "tcp-rto", on_timer, t);
    t->ev_fail = ms_engine_register(t->engine, "tcp-fail", on_fail, t);
    t->ev_delack = ms_engine_register(t->engine, "tcp-delack", on_delack, t);
    ms_net_set_receiver(net, MS_IPPROTO_TCP, on_receive, t);
    return t;
}

MsTcp *
ms_tcp_new_flow(MsNet *net)
{
    MsTcp *t = g_new0(MsTcp, 1);
    t->net = net;
    t->engine = ms_net_engine(net);
    t->conns = g_array_new(FALSE, TRUE, sizeof(MsTcpConn));
    t->by_key = g_hash_table_new(key_hash, key_equal);
    t->listeners = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    t->no_sack = g_array_new(FALSE, TRUE, sizeof(guint8));
    t->flow = ms__flow_new(t, net);
    return t;
}

void
ms_tcp_free(MsTcp *t)
{
    if (!t)
        return;
    ms__flow_free(t->flow);
    for (guint i = 0; i < t->conns->len; i++) {
        MsTcpConn *c = &g_array_index(t->conns, MsTcpConn, i);
        if (c->state != MS_TCP_ST_FREE) {
            g_free(c->key);
            g_byte_array_unref(c->sbuf);
            ms__tcp_recv_clear(c);
            ms__tcp_sack_clear(c);
        }
    }
    g_array_free(t->conns, TRUE);
    g_hash_table_destroy(t->by_key);
    g_hash_table_destroy(t->listeners);
    g_array_free(t->no_sack, TRUE);
    g_free(t);
}

MsNet *
ms_tcp_net(MsTcp *t)
{
    return t->net;
}
gboolean
ms_tcp_is_flow(const MsTcp *t)
{
    return t->flow != NULL;
}

MsTime
ms_tcp_lookahead(const MsTcp *t, const MsPartition *partition, MsTime cut)
{
    g_return_val_if_fail(t != NULL && partition != NULL, cut);
    if (!t->flow)
        return cut;
    MsTime ends = ms__flow_lookahead(t->net, partition);
    return MIN(MAX(cut, ends), MS_TCP_FLOW_SIGNAL_MAX);
}

void
ms_tcp_attach_shard(MsTcp *t, MsShard *shard)
{
    g_return_if_fail(t != NULL && shard != NULL);
    if (t->flow)
        ms__flow_attach_shard(t->flow, shard);
}

void
ms_tcp_get_stats(const MsTcp *t, MsTcpStats *s)
{
    if (t->flow)
        ms__flow_get_stats(t->flow, s);
    else
        *s = t->stats;
}

MsHostId
ms_tcp_conn_host(MsTcp *t, MsTcpConnId c)
{
    return t->flow ? ms__flow_conn_host(t->flow, c) : conn_at(t, c)->key->host;
}

guint32
ms_tcp_conn_peer_addr(MsTcp *t, MsTcpConnId c)
{
    return t->flow ? ms__flow_conn_peer_addr(t->flow, c) : conn_at(t, c)->key->raddr;
}

void
ms_tcp_set_message(MsTcp *t, MsTcpConnId c, guint32 m)
{
    if (t->flow)
        ms__flow_set_message(t->flow, c, m);
    else
        conn_at(t, c)->message = m;
}

const char *
ms_tcp_close_reason_to_string(MsTcpCloseReason r)
{
    static const char *const names[] = { "closed", "refused", "timed out", "reset", "unreachable" };
    return (guint) r < G_N_ELEMENTS(names) ? names[r] : "?";
}

/* --- listeners: one table for both fidelities ------------------------------- */

static gint64
listener_key(MsHostId host, guint16 port)
{
    return (gint64) host << 16 | port;
}

gboolean
ms_tcp_listen(MsTcp *t, MsHostId host, guint16 port, const MsTcpCallbacks *cb, gpointer ud)
{
    gint64 k = listener_key(host, port);
    if (g_hash_table_contains(t->listeners, &k))
        return FALSE;
    MsTcpListener *l = g_new(MsTcpListener, 1);
    l->cb = cb;
    l->ud = ud;
    g_hash_table_insert(t->listeners, g_memdup2(&k, sizeof k), l);
    return TRUE;
}

void
ms_tcp_unlisten(MsTcp *t, MsHostId host, guint16 port)
{
    gint64 k = listener_key(host, port);
    g_hash_table_remove(t->listeners, &k);
}

const MsTcpListener *
ms__tcp_listener(const MsTcp *t, MsHostId host, guint16 port)
{
    gint64 k = listener_key(host, port);
    return g_hash_table_lookup(t->listeners, &k);
}

/* --- SACK, per host ------------------------------------------------------ */

void
ms_tcp_set_sack(MsTcp *t, MsHostId host, gboolean enabled)
{
    g_return_if_fail(t != NULL && host < ms_net_n_hosts(t->net));
    if (t->no_sack->len <= host)
        g_array_set_size(t->no_sack, host + 1);
    g_array_index(t->no_sack, guint8, host) = !enabled;
}

static gboolean
sack_offered(const MsTcp *t, MsHostId host)
{
    return host >= t->no_sack->len || !g_array_index(t->no_sack, guint8, host);
}

static MsTcpConnId
conn_new(MsTcp *t, MsHostId host, guint16 lport, guint32 raddr, guint16 rport)
{
    MsTcpConnId id;
    if (t->free_conn) {
        id = t->free_conn;
        t->free_conn = conn_at(t, id)->next_free;
    } else {
        g_array_set_size(t->conns, t->conns->len + 1);
        id = t->conns->len;
    }
    MsTcpConn *c = conn_at(t, id);
    memset(c, 0, sizeof *c);
    c->key = g_new(MsTcpConnKey, 1);
    *c->key = (MsTcpConnKey){ host, raddr, lport, rport };
    c->laddr = ms_net_host_addr(t->net, host);
    c->sbuf = g_byte_array_new();
    ms__tcp_recv_init(c);
    ms__tcp_sack_init(c);
    c->iss = (guint32) ms_rng_next(ms_engine_host_rng(t->engine, host));
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->sbuf_seq = c->iss + 1;
    c->snd_wnd = RWND;
    c->rto = RTO_INIT;
    c->ssthresh = G_MAXUINT32;
    c->recover = c->iss;
    g_hash_table_insert(t->by_key, c->key, GUINT_TO_POINTER(id));
    t->stats.connections++;
    return id;
}

static void trace(MsTcp *t, MsTcpConn *c, MsTraceKind kind, const char *text);

static void
conn_free(MsTcp *t, MsTcpConnId id)
{
    MsTcpConn *c = conn_at(t, id);
    if (c->data_segments > 0) {
        g_autofree char *text = g_strdup_printf(
            "%" G_GUINT64_FORMAT " bytes left %s as %u TCP segment%s of at most %u bytes",
            c->data_bytes, ms_net_host_name(t->net, c->key->host), c->data_segments,
            c->data_segments == 1 ? "" : "s", c->mss);
        if (c->resent) {
            g_autofree char *again = g_strdup_printf(
                "%s; %u of them %s retransmission%s, which sent %" G_GUINT64_FORMAT
                " bytes again (%" G_GUINT64_FORMAT " bytes of data, once each)",
                text, c->resent, c->resent == 1 ? "was a" : "were", c->resent == 1 ? "" : "s",
                c->resent_bytes, c->data_bytes - c->resent_bytes);
            g_free(text);
            text = g_steal_pointer(&again);
        }
        trace(t, c, MS_TRACE_TCP_STREAM, text);
    }
    if (c->timer)
        ms_engine_cancel(t->engine, c->timer);
    if (c->delack)
        ms_engine_cancel(t->engine, c->delack);
    g_hash_table_remove(t->by_key, c->key);
    g_free(c->key);
    g_byte_array_unref(c->sbuf);
    ms__tcp_recv_clear(c);
    ms__tcp_sack_clear(c);
    memset(c, 0, sizeof *c);
    c->state = MS_TCP_ST_FREE;
    c->next_free = t->free_conn;
    t->free_conn = id;
}

static void
trace(MsTcp *t, MsTcpConn *c, MsTraceKind kind, const char *text)
{
    MsTrace *tr = ms_net_trace(t->net);
    if (!ms_trace_enabled(tr))
        return;
    MsTraceRecord r = { 0 };
    r.at = ms_engine_now(t->engine);
    r.kind = kind;
    r.host = c->key->host;
    r.peer = ms_net_host_by_addr(t->net, c->key->raddr);
    r.message = c->message;
    r.proto = "tcp";
    r.text = text;
    ms_trace_emit(tr, &r);
}

/* Tells the app the connection ended, once, unless it already let go. */
static void
notify_closed(MsTcp *t, MsTcpConnId id, MsTcpCloseReason why)
{
    MsTcpConn *c = conn_at(t, id);
    g_autofree char *text =
        g_strdup_printf("%s:%u -> %u: %s", ms_net_host_name(t->net, c->key->host), c->key->lport,
                        c->key->rport, ms_tcp_close_reason_to_string(why));
    trace(t, c, MS_TRACE_TCP_CLOSE, text);
    if (c->detached)
        return;
    c->detached = TRUE;
    const MsTcpCallbacks *cb = c->cb;
    gpointer ud = c->ud;
    if (cb && cb->closed)
        cb->closed(t, id, why, ud);
}

static void
send_segment(MsTcp *t, MsTcpConn *c, guint32 seq, guint8 flags, const guint8 *data, gsize len)
{
    MsPacket p = { 0 };
    p.proto = MS_IPPROTO_TCP;
    p.sport = c->key->lport;
    p.dport = c->key->rport;
    p.dst_addr = c->key->raddr;
    p.seq = seq;
    p.flags = flags;
    if (flags & MS_TCP_ACK) {
        p.ack = c->rcv_nxt;
        c->ack_sent = c->rcv_nxt;
        if (c->delack) { /* this segment carries the ACK that was waiting */
            ms_engine_cancel(t->engine, c->delack);
            c->delack = 0;
        }
    }
    p.window = RWND;
    if (flags & MS_TCP_SYN) {
        p.mss = (guint16) c->mss;
        p.sack_perm = (guint8) c->sack_ok; /* RFC 2018 2: on SYNs only */
    } else if ((flags & MS_TCP_ACK) && c->sack_ok && len == 0 && c->ooo->len > 0) {
        /* RFC 2018 3-4: an ACK tells what is held above a gap. Only pure
         * ACKs carry blocks here (data segments in the other direction
         * would have to shrink to make room for them). */
        p.n_sack = (guint8) ms__tcp_recv_sack_blocks(c, p.sack, MS_TCP_SACK_MAX_BLOCKS);
    }
    p.payload = len ? g_bytes_new(data, len) : NULL;
    p.message = c->message;
    t->stats.segments++;
    ms_net_send(t->net, c->key->host, &p);
}

/* RFC 6928 2: IW = min(10 MSS, max(2 MSS, 14600)). */
static guint32
initial_window(guint32 mss)
{
    return MIN(10 * mss, MAX(2 * mss, 14600u));
}

static void
arm_timer(MsTcp *t, MsTcpConnId id)
{
    MsTcpConn *c = conn_at(t, id);
    if (c->timer)
        ms_engine_cancel(t->engine, c->timer);
    MsEventData d = { { 0 } };
    d.u32[0] = id;
    c->timer = ms_engine_schedule_in(t->engine, c->rto, c->key->host, t->ev_timer, d);
}

static void
stop_timer(MsTcp *t, MsTcpConn *c)
{
    if (c->timer)
        ms_engine_cancel(t->engine, c->timer);
    c->timer = 0;
}

/* The bytes of a segment in the send buffer (which starts at snd_una). */
static const guint8 *
seg_data(MsTcpConn *c, guint32 seq)
{
    return c->sbuf->data + c->sbuf_head + (seq - c->sbuf_seq);
}

/* Sends a recorded segment again, with its original boundaries. */
static void
resend(MsTcp *t, MsTcpConn *c, MsTcpSeg *s)
{
    gboolean fin = (s->flags & MS_TCP_SEG_FIN) != 0;
    guint32 len = s->len - (fin ? 1 : 0);
    guint8 flags =
        MS_TCP_ACK | (fin ? MS_TCP_FIN : 0) | ((s->flags & MS_TCP_SEG_PSH) ? MS_TCP_PSH : 0);
    s->flags |= MS_TCP_SEG_RXT | MS_TCP_SEG_EVER;
    t->stats.retransmits++;
    if (len > 0) {
        g_autofree char *text =
            g_strdup_printf("retransmit seq %u (%u bytes)", s->seq - c->iss, len);
        trace(t, c, MS_TRACE_TCP_RETRANSMIT, text);
        /* What really leaves the host: every segment and byte, the
         * retransmitted ones counted apart. */
        c->data_segments++;
        c->resent++;
        c->data_bytes += len;
        c->resent_bytes += len;
        t->stats.bytes += len;
    } else {
        g_autofree char *text = g_strdup_printf("retransmit FIN seq %u", s->seq - c->iss);
        trace(t, c, MS_TRACE_TCP_RETRANSMIT, text);
    }
    send_segment(t, c, s->seq, flags, len ? seg_data(c, s->seq) : NULL, len);
    /* Resending the first segment outstanding restarts the timer, as Linux
     * does (tcp_xmit_retransmit_queue): its ACK cannot come sooner than a
     * round trip from now, which a queue in front of a slow line can make
     * longer than what is left of the RTO (that would be a spurious
     * timeout in the middle of fast recovery). */
    if (s->seq == c->snd_una)
        arm_timer(t, (MsTcpConnId) (c - &g_array_index(t->conns, MsTcpConn, 0)) + 1);
}

/* Cuts and sends the next new segment (data, else the FIN once the app
 * closed and all data is out) if the bytes in flight stay within `wnd`.
 * Segments are cut at MSS, or at the end of what the app queued, never by
 * the window: like real stacks, which count their window in segments. */
static gboolean
send_new(MsTcp *t, MsTcpConn *c, guint32 wnd)
{
    guint32 end_seq = c->sbuf_seq + (c->sbuf->len - c->sbuf_head);
    guint32 flight = c->snd_max - c->snd_una;
    if (MS_TCP_SEQ_LT(c->snd_max, end_seq)) {
        guint32 len = MIN(c->mss, end_seq - c->snd_max);
        if (flight + len > wnd)
            return FALSE;
        gboolean last = c->snd_max + len == end_seq;
        ms__tcp_sack_add(c, c->snd_max, len, last ? MS_TCP_SEG_PSH : 0, ms_engine_now(t->engine));
        c->data_segments++;
        c->data_bytes += len;
        t->stats.bytes += len;
        send_segment(t, c, c->snd_max, MS_TCP_ACK | (last ? MS_TCP_PSH : 0),
                     seg_data(c, c->snd_max), len);
        c->snd_nxt = c->snd_max += len;
        return TRUE;
    }
    if (c->app_closed && !c->fin_sent && flight < wnd) {
        ms__tcp_sack_add(c, c->snd_max, 1, MS_TCP_SEG_FIN, ms_engine_now(t->engine));
        send_segment(t, c, c->snd_max, MS_TCP_FIN | MS_TCP_ACK, NULL, 0);
        c->fin_sent = TRUE;
        c->snd_nxt = ++c->snd_max;
        return TRUE;
    }
    return FALSE;
}

/* Sends what RFC 6675 4 NextSeg() names: a lost segment not yet resent
 * (rule 1), else new data within the peer's window (rule 2), else, in
 * fast recovery, a hole below the highest SACKed segment (rule 3), else
 * the rescue retransmission (rule 4). FALSE when there is none. */
static gboolean
send_next_seg(MsTcp *t, MsTcpConn *c)
{
    MsTcpSeg *s = ms__tcp_sack_next_lost(c);
    if (s) {
        resend(t, c, s);
        return TRUE;
    }
    if (send_new(t, c, c->snd_wnd))
        return TRUE;
    if (c->recovery != MS_TCP_REC_FAST)
        return FALSE;
    if ((s = ms__tcp_sack_next_hole(c))) {
        resend(t, c, s);
        return TRUE;
    }
    /* Rule 4, the rescue retransmission: once per fast recovery, when a
     * partial ACK has passed RescueRxt, the last segment not SACKed, which
     * no duplicate ACK can show lost when it ends the flight (a tail
     * loss); RescueRxt becomes RecoveryPoint, so it goes once. Without it,
     * such a loss waits for the RTO. Only a segment sent before the
     * recovery began, and not resent by it, is taken: one this recovery
     * resent lies below SACKed data (a hole rules 1 and 3 dealt with, not
     * a tail), and new data sent during the recovery is still on its way,
     * its ACKs to come (FreeBSD, too, rescues only when no hole is left
     * and nothing was sent past RecoveryPoint). */
    if (MS_TCP_SEQ_GT(c->snd_una - 1, c->rescue) && (s = ms__tcp_sack_last_unsacked(c)) &&
        !(s->flags & MS_TCP_SEG_RXT) && MS_TCP_SEQ_LT(s->seq, c->recover)) {
        c->rescue = c->recover - 1;
        resend(t, c, s);
        return TRUE;
    }
    return FALSE;
}

/* Sends what the windows allow. Outside loss recovery (and in NewReno's
 * fast recovery, whose retransmissions process_ack() makes) new segments
 * go while the bytes in flight stay within min(cwnd, peer window); in
 * SACK recovery and after an RTO, RFC 6675 5 rules: while cwnd - pipe >= 1
 * SMSS, send what NextSeg() names (a lost segment, new data, a hole). */
static void
output(MsTcp *t, MsTcpConnId id)
{
    MsTcpConn *c = conn_at(t, id);
    if (c->state != MS_TCP_ST_ESTABLISHED)
        return;
    gboolean sent = FALSE;
    if (c->recovery == MS_TCP_REC_RTO && c->frto == MS_TCP_FRTO_SEND_NEW) {
        /* RFC 5682 3.1 step 2 (b): new data instead of the next lost
         * segment, within cwnd (two segments after the first ACK, as the
         * RFC says, since slow start has just doubled cwnd); if none can
         * go, conventional recovery goes on. */
        while (ms__tcp_sack_pipe(c) + c->mss <= c->cwnd && send_new(t, c, c->snd_wnd))
            sent = TRUE;
        c->frto = MS_TCP_SEQ_GT(c->snd_max, c->recover) ? MS_TCP_FRTO_PROBE : MS_TCP_FRTO_OFF;
    }
    if (c->recovery == MS_TCP_REC_NONE || (c->recovery == MS_TCP_REC_FAST && !c->sack_ok)) {
        while (send_new(t, c, MIN(c->cwnd, c->snd_wnd)))
            sent = TRUE;
    } else {
        while (ms__tcp_sack_pipe(c) + c->mss <= c->cwnd && send_next_seg(t, c))
            sent = TRUE;
    }
    if (sent && !c->timer)
        arm_timer(t, id);
}

typedef struct {
    GHashTable *by_key;
    MsTcpConnKey key;
} PortProbe;

/* Does a live connection use this four-tuple with local `port`? Linux lets
 * connect() share a local port among connections to different peers. */
static gboolean
port_in_use(guint16 port, gpointer user_data)
{
    PortProbe *p = user_data;
    p->key.lport = port;
    return g_hash_table_contains(p->by_key, &p->key);
}

/* The local port of a new connection: RFC 6056 3.3.4 double-hash, as Linux
 * picks it (sim/net/ports.c). */
static guint16
pick_local_port(MsTcp *t, MsHostId host, guint32 raddr, guint16 rport)
{
    PortProbe p = { t->by_key, { host, raddr, 0, rport } };
    return ms_net_connect_port(t->net, host, raddr, rport, port_in_use, &p);
}

MsTcpConnId
ms_tcp_connect(MsTcp *t, MsHostId host, guint32 dst_addr, guint16 dport, const MsTcpCallbacks *cb,
               gpointer ud)
{
    return ms_tcp_connect_tagged(t, host, dst_addr, dport, cb, ud, 0);
}

MsTcpConnId
ms_tcp_connect_tagged(MsTcp *t, MsHostId host, guint32 dst_addr, guint16 dport,
                      const MsTcpCallbacks *cb, gpointer ud, guint32 message)
{
    if (t->flow) {
        MsTcpConnId fc = ms__flow_connect(t->flow, host, dst_addr, dport, cb, ud);
        if (fc && message)
            ms__flow_set_message(t->flow, fc, message);
        return fc;
    }
    guint16 lport = pick_local_port(t, host, dst_addr, dport);
    MsTcpConnId id = conn_new(t, host, lport, dst_addr, dport);
    MsTcpConn *c = conn_at(t, id);
    c->message = message;
    c->cb = cb;
    c->ud = ud;
    c->state = MS_TCP_ST_SYN_SENT;
    c->sack_ok = sack_offered(t, host); /* offered; kept if the SYN-ACK agrees */
    MsHostId dst = ms_net_host_by_addr(t->net, dst_addr);
    guint32 pmtu = dst == G_MAXUINT32 ? 0 : ms_net_path_mtu(t->net, host, dst);
    if (pmtu == 0) {
        MsEventData d = { { 0 } };
        d.u32[0] = id;
        d.u32[1] = MS_TCP_CLOSE_UNREACHABLE;
        /* Kept in the timer slot so that conn_free() cancels it. */
        c->timer = ms_engine_schedule_in(t->engine, 0, host, t->ev_fail, d);
        return id;
    }
    c->mss = MAX(pmtu, 68u) - MS_IPV4_HEADER - MS_TCP_HEADER;
    c->cwnd = initial_window(c->mss);
    send_segment(t, c, c->iss, MS_TCP_SYN, NULL, 0);
    c->snd_nxt = c->snd_max = c->iss + 1;
    arm_timer(t, id);
    g_autofree char *text =
        g_strdup_printf("%s:%u connects to port %u", ms_net_host_name(t->net, host), lport, dport);
    trace(t, c, MS_TRACE_TCP_CONNECT, text);
    return id;
}

void
ms_tcp_set_callbacks(MsTcp *t, MsTcpConnId id, const MsTcpCallbacks *cb, gpointer ud)
{
    if (t->flow) {
        ms__flow_set_callbacks(t->flow, id, cb, ud);
        return;
    }
    MsTcpConn *c = conn_at(t, id);
    c->cb = cb;
    c->ud = ud;
}

void
ms_tcp_send(MsTcp *t, MsTcpConnId id, const guint8 *data, gsize len)
{
    if (t->flow) {
        ms__flow_send(t->flow, id, data, len);
        return;
    }
    MsTcpConn *c = conn_at(t, id);
    g_return_if_fail(c->state != MS_TCP_ST_FREE && !c->app_closed);
    g_byte_array_append(c->sbuf, data, (guint) len);
    output(t, id);
}

void
ms_tcp_send_bytes(MsTcp *t, MsTcpConnId id, GBytes *bytes)
{
    if (t->flow) {
        ms__flow_send_bytes(t->flow, id, bytes);
        return;
    }
    gsize n;
    const guint8 *d = g_bytes_get_data(bytes, &n);
    ms_tcp_send(t, id, d, n);
}

void
ms_tcp_close(MsTcp *t, MsTcpConnId id)
{
    if (t->flow) {
        ms__flow_close(t->flow, id);
        return;
    }
    MsTcpConn *c = conn_at(t, id);
    if (c->state == MS_TCP_ST_FREE)
        return;
    c->detached = TRUE;
    c->app_closed = TRUE; /* in SYN_SENT: the FIN follows the handshake and the data */
    output(t, id);
    if (c->fin_rcvd && c->fin_acked)
        conn_free(t, id);
}

void
ms_tcp_abort(MsTcp *t, MsTcpConnId id)
{
    if (t->flow) {
        ms__flow_abort(t->flow, id);
        return;
    }
    MsTcpConn *c = conn_at(t, id);
    if (c->state != MS_TCP_ST_SYN_SENT) {
        ms_tcp_close(t, id);
        return;
    }
    g_autofree char *text =
        g_strdup_printf("%s:%u -> %u: timed out (abandoned by the application)",
                        ms_net_host_name(t->net, c->key->host), c->key->lport, c->key->rport);
    trace(t, c, MS_TRACE_TCP_CLOSE, text);
    conn_free(t, id);
}

static void
send_rst(MsTcp *t, MsHostId host, const MsPacket *p)
{
    MsPacket r = { 0 };
    r.proto = MS_IPPROTO_TCP;
    r.sport = p->dport;
    r.dport = p->sport;
    r.dst_addr = p->src_addr;
    r.flags = MS_TCP_RST | MS_TCP_ACK;
    r.seq = (p->flags & MS_TCP_ACK) ? p->ack : 0;
    gsize len = p->payload ? g_bytes_get_size(p->payload) : 0;
    r.ack = p->seq + (guint32) len + ((p->flags & MS_TCP_SYN) ? 1 : 0) +
            ((p->flags & MS_TCP_FIN) ? 1 : 0);
    t->stats.segments++;
    ms_net_send(t->net, host, &r);
}

/* A SYN for a listening port: a new connection in SYN_RCVD. */
static void
accept_syn(MsTcp *t, MsHostId host, const MsPacket *p, const MsTcpListener *l)
{
    MsTcpConnId id = conn_new(t, host, p->dport, p->src_addr, p->sport);
    MsTcpConn *c = conn_at(t, id);
    c->state = MS_TCP_ST_SYN_RCVD;
    c->cb = l->cb;
    c->ud = l->ud;
    c->rcv_nxt = p->seq + 1;
    guint32 pmtu = ms_net_path_mtu(t->net, host, p->src);
    guint32 my_mss = (pmtu ? pmtu : 576) - MS_IPV4_HEADER - MS_TCP_HEADER;
    c->mss = p->mss ? MIN(my_mss, p->mss) : MIN(my_mss, 536u);
    c->sack_ok = p->sack_perm && sack_offered(t, host); /* RFC 2018 2 */
    c->cwnd = initial_window(c->mss);
    send_segment(t, c, c->iss, MS_TCP_SYN | MS_TCP_ACK, NULL, 0);
    c->snd_nxt = c->snd_max = c->iss + 1;
    arm_timer(t, id);
}

static void
rtt_sample(MsTcpConn *c, MsTime r)
{
    if (c->srtt == 0) {
        c->srtt = r;
        c->rttvar = r / 2;
    } else {
        MsTime err = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + err) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    c->rto = CLAMP(c->srtt + MAX(4 * c->rttvar, MS_TIME_MS), RTO_MIN, RTO_MAX);
}

/* Keeps cwnd and ssthresh as they are before a recovery starts, for an
 * undo should the recovery prove needless (Linux's prior_cwnd and
 * prior_ssthresh: ssthresh at least 3/4 of cwnd). */
static void
save_prior(MsTcpConn *c)
{
    c->prior_cwnd = c->cwnd;
    c->prior_ssthresh = MAX(c->ssthresh, c->cwnd / 2 + c->cwnd / 4);
}

/* F-RTO found the timeout spurious (RFC 5682 3.1 step 3 (b)): the
 * segments were delayed, not lost. As Linux does, the response undoes the
 * timeout: cwnd and ssthresh as before it, nothing deemed lost any more
 * (SACK blocks mark again what is really missing), recovery over; what the
 * timeout resent stays resent, the rest is not sent again. */
static void
frto_undo(MsTcpConn *c)
{
    c->cwnd = MAX(c->cwnd, c->prior_cwnd);
    c->ssthresh = MAX(c->ssthresh, c->prior_ssthresh);
    ms__tcp_sack_unmark_lost(c);
    c->recovery = MS_TCP_REC_NONE;
    c->frto = MS_TCP_FRTO_OFF;
}

/* F-RTO's steps 2 and 3 (RFC 5682 3.1, SACK-enhanced, in Linux's
 * reading) for an ACK that arrived while a timeout's recovery runs.
 * `orig`: the ACK covers, cumulatively or by SACK, a segment sent before
 * the timeout and never retransmitted; `sacked`: it SACKed something new;
 * `advanced`: it moved snd_una; `dup`: it is a duplicate ACK. */
static void
frto_ack(MsTcpConn *c, gboolean orig, gboolean sacked, gboolean advanced, gboolean dup)
{
    if (c->frto == MS_TCP_FRTO_OFF)
        return;
    if (c->recovery != MS_TCP_REC_RTO) { /* step 2 (a): all acknowledged: the usual end */
        c->frto = MS_TCP_FRTO_OFF;
        return;
    }
    if (orig) { /* step 3 (b); Linux also takes it in step 2 */
        frto_undo(c);
        return;
    }
    if (c->frto == MS_TCP_FRTO_PROBE) {
        if (sacked || dup) /* step 3 (a): only what was resent came: the loss was real */
            c->frto = MS_TCP_FRTO_OFF;
        return;
    }
    if (advanced) /* step 2 (b): the first new ACK; output() sends new data */
        c->frto = MS_TCP_FRTO_SEND_NEW;
}

/* Limited transmit, at a duplicate ACK too few to start fast recovery:
 * new data keeps the ACK clock going, so that a window too small to draw
 * three duplicate ACKs still recovers without a timeout. With SACK, RFC
 * 6675 5 (3): new segments while cwnd - pipe >= 1 SMSS (the SACKed ones
 * have left the network); without, RFC 3042 2 (RFC 5681 3.2 (1)): one new
 * segment if the flight stays within cwnd + 2 SMSS. cwnd is unchanged. */
static void
limited_transmit(MsTcp *t, MsTcpConn *c)
{
    if (c->sack_ok) {
        while (ms__tcp_sack_pipe(c) + c->mss <= c->cwnd && send_new(t, c, c->snd_wnd))
            ;
    } else {
        send_new(t, c, MIN(c->cwnd + 2 * c->mss, c->snd_wnd));
    }
}

/* Enters fast recovery at the third duplicate ACK (RFC 5681 3.2): halves
 * the window and resends the first segment not acknowledged. */
static void
enter_fast_recovery(MsTcp *t, MsTcpConn *c)
{
    guint32 flight = c->snd_max - c->snd_una;
    save_prior(c);
    c->ssthresh = MAX(flight / 2, 2 * c->mss); /* RFC 5681 (4) */
    c->recover = c->snd_max;
    c->recovery = MS_TCP_REC_FAST;
    MsTcpSeg *first = ms__tcp_sack_at(c, 0);
    c->rescue = first->seq + first->len - 1; /* RFC 6675 5 (4.3): its last octet */
    if (c->sack_ok) {
        /* RFC 6675 5 (4): cwnd = ssthresh; HighACK + 1 is taken as lost and
         * resent at once, whatever pipe says; output() does the rest. */
        c->cwnd = c->ssthresh;
        first->flags |= MS_TCP_SEG_LOST;
        resend(t, c, first);
    } else {
        /* RFC 6582 3.2 (2) and (3): resend, inflate by the three segments
         * that left the network. */
        resend(t, c, first);
        c->cwnd = c->ssthresh + 3 * c->mss;
    }
}

/* Handles the ACK field (and SACK blocks) of an arriving segment. */
static void
process_ack(MsTcp *t, MsTcpConnId id, const MsPacket *p, gsize len)
{
    MsTcpConn *c = conn_at(t, id);
    gboolean advanced = MS_TCP_SEQ_GT(p->ack, c->snd_una) && MS_TCP_SEQ_LE(p->ack, c->snd_max);
    guint n_sack = c->sack_ok ? p->n_sack : 0;
    gboolean orig =
        c->recovery == MS_TCP_REC_RTO && c->frto != MS_TCP_FRTO_OFF &&
        ms__tcp_sack_orig_covered(c, advanced ? p->ack : c->snd_una, p->sack, n_sack, c->recover);
    MsTime sent_at = 0;
    gboolean rtt =
        ms__tcp_sack_rtt_from(c, advanced ? p->ack : c->snd_una, p->sack, n_sack, &sent_at);
    gboolean sacked = n_sack > 0 && ms__tcp_sack_update(c, p->sack, n_sack);
    if (rtt)
        rtt_sample(c, ms_engine_now(t->engine) - sent_at);
    gboolean dup = FALSE;
    if (sacked)
        ms__tcp_sack_mark_lost(c);
    if (advanced) {
        guint32 acked = p->ack - c->snd_una;
        /* Drop acknowledged data from the send buffer (not SYN/FIN octets). */
        guint32 data_end = c->sbuf_seq + (c->sbuf->len - c->sbuf_head);
        guint32 upto = MS_TCP_SEQ_LT(p->ack, data_end) ? p->ack : data_end;
        if (MS_TCP_SEQ_GT(upto, c->sbuf_seq)) {
            c->sbuf_head += upto - c->sbuf_seq;
            c->sbuf_seq = upto;
            if (c->sbuf_head > 65536 && c->sbuf_head * 2 > c->sbuf->len) {
                g_byte_array_remove_range(c->sbuf, 0, c->sbuf_head);
                c->sbuf_head = 0;
            }
        }
        ms__tcp_sack_ack(c, p->ack);
        c->snd_una = p->ack;
        c->dupacks = 0;
        c->retries = 0;
        if (c->recovery == MS_TCP_REC_FAST && MS_TCP_SEQ_GE(p->ack, c->recover)) {
            /* A full ACK ends fast recovery: RFC 6675 5 leaves cwnd at
             * ssthresh; RFC 6582 3.2 (3) deflates it to at most
             * ssthresh, short of a burst. */
            guint32 flight = c->snd_max - c->snd_una;
            c->cwnd = c->sack_ok ? c->ssthresh : MIN(c->ssthresh, MAX(flight, c->mss) + c->mss);
            c->recovery = MS_TCP_REC_NONE;
        } else if (c->recovery == MS_TCP_REC_FAST && !c->sack_ok) {
            /* RFC 6582 3.2 (3), a partial ACK: the next hole is lost too;
             * resend it and deflate the window by what left the network. */
            resend(t, c, ms__tcp_sack_at(c, 0));
            c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + (acked >= c->mss ? c->mss : 0);
            c->cwnd = MAX(c->cwnd, c->mss);
        } else if (c->recovery != MS_TCP_REC_FAST) {
            if (c->recovery == MS_TCP_REC_RTO && MS_TCP_SEQ_GE(p->ack, c->recover))
                c->recovery = MS_TCP_REC_NONE;
            /* Both count acknowledged bytes (RFC 3465), so that delayed
             * ACKs, one per two segments, open the window as fast as
             * Linux, which counts segments: slow start adds them, up to 2
             * SMSS per ACK (L = 2); congestion avoidance adds SMSS x
             * acked / cwnd, about one SMSS per RTT (RFC 5681 3.1). */
            if (c->cwnd < c->ssthresh)
                c->cwnd += MIN(acked, 2 * c->mss);
            else
                c->cwnd += MAX(1u, (guint32) ((guint64) c->mss * acked / c->cwnd));
        }
        if (c->fin_sent && p->ack == c->snd_max)
            c->fin_acked = TRUE;
        if (c->snd_una == c->snd_max)
            stop_timer(t, c);
        else
            arm_timer(t, id); /* RFC 6298 5.3 */
    } else if (p->ack == c->snd_una && len == 0 && !(p->flags & (MS_TCP_SYN | MS_TCP_FIN)) &&
               c->snd_max != c->snd_una) {
        dup = TRUE;
        c->dupacks++;
        if (c->recovery == MS_TCP_REC_NONE) {
            /* RFC 6675 5: DupThresh duplicate ACKs, or SACK blocks that make
             * the first segment lost. RFC 6582 3.2 (2): without SACK, not
             * again for duplicates of data sent before the last recovery. */
            gboolean enter =
                c->sack_ok ? c->dupacks >= 3 || (ms__tcp_sack_count(c) > 0 &&
                                                 (ms__tcp_sack_at(c, 0)->flags & MS_TCP_SEG_LOST))
                           : c->dupacks == 3 && MS_TCP_SEQ_GT(p->ack, c->recover);
            if (enter)
                enter_fast_recovery(t, c);
            else
                limited_transmit(t, c);
        } else if (c->recovery == MS_TCP_REC_FAST && !c->sack_ok) {
            c->cwnd += c->mss; /* RFC 6582 3.2 (4): each duplicate, one more left */
        }
    }
    frto_ack(c, orig, sacked, advanced, dup);
}

/* Delayed ACKs (RFC 1122 4.2.3.2, RFC 5681 4.2): new data in order is
 * acknowledged at once only when more than one full-sized segment waits
 * for it (so every second segment of a bulk transfer, as Linux's
 * __tcp_ack_snd_check() does), else after DELACK at most, unless data
 * going back carries the ACK first. */
static void
ack_now_or_later(MsTcp *t, MsTcpConnId id, gboolean now)
{
    MsTcpConn *c = conn_at(t, id);
    if (now || c->rcv_nxt - c->ack_sent > c->mss) {
        send_segment(t, c, c->snd_nxt, MS_TCP_ACK, NULL, 0);
        return;
    }
    if (c->delack)
        return;
    MsEventData d = { { 0 } };
    d.u32[0] = id;
    c->delack = ms_engine_schedule_in(t->engine, DELACK, c->key->host, t->ev_delack, d);
}

static void
on_delack(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsTcp *t = user_data;
    (void) e;
    MsTcpConn *c = conn_at(t, ev->data.u32[0]);
    c->delack = 0;
    if (c->state != MS_TCP_ST_FREE && c->ack_sent != c->rcv_nxt)
        send_segment(t, c, c->snd_nxt, MS_TCP_ACK, NULL, 0);
}

static void
on_receive(MsNet *net, MsHostId host, const MsPacket *p, gpointer user_data)
{
    MsTcp *t = user_data;
    (void) net;
    MsTcpConnKey k = { host, p->src_addr, p->dport, p->sport };
    MsTcpConnId id = GPOINTER_TO_UINT(g_hash_table_lookup(t->by_key, &k));
    gsize len = p->payload ? g_bytes_get_size(p->payload) : 0;
    if (!id) {
        if (p->flags & MS_TCP_RST)
            return;
        if ((p->flags & MS_TCP_SYN) && !(p->flags & MS_TCP_ACK)) {
            const MsTcpListener *l = ms__tcp_listener(t, host, p->dport);
            if (l) {
                accept_syn(t, host, p, l);
                return;
            }
        }
        send_rst(t, host, p); /* RFC 793 3.4: nothing here: reset */
        return;
    }
    MsTcpConn *c = conn_at(t, id);
    if (p->flags & MS_TCP_RST) {
        gboolean refused = c->state == MS_TCP_ST_SYN_SENT;
        if (refused)
            t->stats.refused++;
        notify_closed(t, id, refused ? MS_TCP_CLOSE_REFUSED : MS_TCP_CLOSE_RESET);
        conn_free(t, id);
        return;
    }
    if (c->state == MS_TCP_ST_SYN_SENT) {
        if ((p->flags & (MS_TCP_SYN | MS_TCP_ACK)) != (MS_TCP_SYN | MS_TCP_ACK) ||
            p->ack != c->iss + 1)
            return;
        c->rcv_nxt = p->seq + 1;
        c->snd_una = p->ack;
        if (p->mss)
            c->mss = MIN(c->mss, p->mss);
        c->sack_ok = c->sack_ok && p->sack_perm;
        c->state = MS_TCP_ST_ESTABLISHED;
        c->retries = 0;
        stop_timer(t, c);
        send_segment(t, c, c->snd_nxt, MS_TCP_ACK, NULL, 0);
        t->stats.established++;
        trace(t, c, MS_TRACE_TCP_ESTABLISHED, "established");
        if (!c->detached && c->cb && c->cb->connected)
            c->cb->connected(t, id, c->ud);
        if (conn_at(t, id)->state == MS_TCP_ST_ESTABLISHED)
            output(t, id);
        return;
    }
    if (c->state == MS_TCP_ST_SYN_RCVD) {
        if ((p->flags & MS_TCP_SYN) && !(p->flags & MS_TCP_ACK)) {
            send_segment(t, c, c->iss, MS_TCP_SYN | MS_TCP_ACK, NULL, 0); /* our SYN-ACK was lost */
            return;
        }
        if (!(p->flags & MS_TCP_ACK) || p->ack != c->iss + 1)
            return;
        c->snd_una = p->ack;
        c->state = MS_TCP_ST_ESTABLISHED;
        c->retries = 0;
        stop_timer(t, c);
        t->stats.established++;
        trace(t, c, MS_TRACE_TCP_ESTABLISHED, "accepted");
        if (c->cb && c->cb->connected)
            c->cb->connected(t, id, c->ud);
        c = conn_at(t, id);
        if (c->state == MS_TCP_ST_FREE)
            return;
    } else if ((p->flags & MS_TCP_SYN)) {
        /* A retransmitted SYN-ACK: our ACK was lost. */
        send_segment(t, c, c->snd_nxt, MS_TCP_ACK, NULL, 0);
        return;
    }
    if (p->flags & MS_TCP_ACK) {
        process_ack(t, id, p, len);
        c = conn_at(t, id);
    }
    /* must_ack: a segment out of order, a duplicate or one that fills a
     * gap is answered at once (RFC 5681 4.2: the duplicate ACK tells the
     * sender what is missing); other new data is acknowledged by whatever
     * we send next, or by a pure ACK below. */
    gboolean must_ack = FALSE;
    if (len > 0) {
        must_ack = ms__tcp_recv_segment(c, p->seq, p->payload);
        gsize off, n;
        for (GBytes *b; (b = ms__tcp_recv_pull(c, &off, &n));) {
            if (!c->detached && c->cb && c->cb->data) {
                const guint8 *d = g_bytes_get_data(b, NULL);
                c->cb->data(t, id, d + off, n, c->ud);
                c = conn_at(t, id);
            }
            g_bytes_unref(b);
            if (c->state == MS_TCP_ST_FREE)
                return;
        }
    }
    if ((p->flags & MS_TCP_FIN) && p->seq + (guint32) len == c->rcv_nxt && !c->fin_rcvd) {
        c->rcv_nxt++;
        c->fin_rcvd = TRUE;
        send_segment(t, c, c->snd_nxt, MS_TCP_ACK, NULL, 0);
        notify_closed(t, id, MS_TCP_CLOSE_NORMAL);
        c = conn_at(t, id);
        if (c->state == MS_TCP_ST_FREE)
            return;
        c->app_closed = TRUE; /* no half-close: answer with our FIN */
    } else if (p->flags & MS_TCP_FIN) {
        must_ack = TRUE; /* a repeated FIN: our ACK was lost */
    }
    /* Data the app sent in answer already carries the ACK (piggybacking). */
    output(t, id);
    c = conn_at(t, id);
    if (c->state != MS_TCP_ST_FREE && (must_ack || c->ack_sent != c->rcv_nxt))
        ack_now_or_later(t, id, must_ack);
    if (c->state != MS_TCP_ST_FREE && c->fin_rcvd && c->fin_acked)
        conn_free(t, id);
}

static void
on_timer(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsTcp *t = user_data;
    (void) e;
    MsTcpConnId id = ev->data.u32[0];
    MsTcpConn *c = conn_at(t, id);
    c->timer = 0;
    if (c->state == MS_TCP_ST_FREE)
        return;
    guint limit = c->state == MS_TCP_ST_ESTABLISHED ? DATA_RETRIES : SYN_RETRIES;
    if (++c->retries > limit) {
        t->stats.timeouts++;
        notify_closed(t, id, MS_TCP_CLOSE_TIMEOUT);
        conn_free(t, id);
        return;
    }
    c->rto = MIN(c->rto * 2, RTO_MAX);
    if (c->state == MS_TCP_ST_SYN_SENT) {
        t->stats.retransmits++;
        trace(t, c, MS_TRACE_TCP_RETRANSMIT, "SYN again");
        send_segment(t, c, c->iss, MS_TCP_SYN, NULL, 0);
        arm_timer(t, id);
        return;
    }
    if (c->state == MS_TCP_ST_SYN_RCVD) {
        t->stats.retransmits++;
        send_segment(t, c, c->iss, MS_TCP_SYN | MS_TCP_ACK, NULL, 0);
        arm_timer(t, id);
        return;
    }
    /* RFC 5681 3.1 (4): ssthresh from the flight, unless this segment was
     * already resent by the timer; the window drops to one segment, and
     * every segment not SACKed is resent in order, original boundaries
     * kept, as the window opens again (RFC 6298 5.4-5.6). */
    guint32 flight = c->snd_max - c->snd_una;
    /* F-RTO (RFC 5682 3.1 step 1): unless a recovery already runs (but
     * again for a timeout that repeats on the same snd_una, 3.2), watch
     * the ACKs to come for a sign that nothing was lost. */
    c->frto = c->recovery == MS_TCP_REC_NONE || c->retries > 1 ? MS_TCP_FRTO_WAIT : MS_TCP_FRTO_OFF;
    if (c->recovery == MS_TCP_REC_NONE)
        save_prior(c);
    if (c->retries == 1)
        c->ssthresh = MAX(flight / 2, 2 * c->mss);
    c->cwnd = c->mss;
    c->recovery = MS_TCP_REC_RTO;
    c->recover = c->snd_max;
    c->dupacks = 0;
    ms__tcp_sack_mark_all_lost(c);
    output(t, id);
    c = conn_at(t, id);
    if (c->state != MS_TCP_ST_FREE && !c->timer)
        arm_timer(t, id);
}

static void
on_fail(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsTcp *t = user_data;
    (void) e;
    MsTcpConnId id = ev->data.u32[0];
    conn_at(t, id)->timer = 0;
    notify_closed(t, id, (MsTcpCloseReason) ev->data.u32[1]);
    conn_free(t, id);
}
