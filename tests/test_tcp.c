/* Tests of TCP-lite at packet level (sim/net/tcp.c) alone: two hosts and one
 * link, every segment observed through the network's trace. The link is
 * 1 ms long at 8 Mbit/s (one byte per microsecond), MTU 1500, so the times
 * below are exact: a bare segment (40 bytes) takes 40 us to serialise, a
 * SYN with its MSS and SACK-permitted options 48 us, an ACK with n SACK
 * blocks 44 + 8n us, a segment carrying n bytes 40 + n us; every one then
 * 1 ms to propagate. A segment is "lost" by sending it while the link is
 * down (no route; taking the link down also loses what is on it). Covered:
 * the three-way handshake and both connected callbacks, a transfer
 * arriving whole and in order, MSS segmentation at MSS and MSS + 1 bytes,
 * a segment lost and sent again at the RTO, SYN retries backing off 1, 2,
 * 4, ... 64 s before "timed out", an orderly close with a FIN each way,
 * out-of-order data kept by the receiver, retransmissions keeping the
 * original boundaries, NewReno's partial ACKs, SACK blocks and RFC 6675
 * recovery, SACK negotiation, the initial window of ten segments, delayed
 * ACKs, F-RTO on a spurious and on a genuine timeout, limited transmit,
 * the rescue retransmission, SYN retries bounding the MTAs' connect
 * timeouts, the JSON Lines trace's TCP options, bench-tcp's drop cases, and
 * lessons 2 and 10's retransmissions against their drops. */
#include "testlib.h"
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "mailsim/bench_transfer.h"
#include "mailsim/net.h"
#include "mailsim/scenario.h"
#include "mailsim/sinks.h"
#include "mailsim/tcp.h"
#include "mailsim/tcp_wire.h"
#include "mailsim/world.h"

#include <string.h>

#define PORT 25
#define MSS  1460u /* MTU 1500 - 40 */
#define US   (MS_TIME_MS / 1000)

/* One segment as the sending host put it on the link. */
typedef struct {
    MsTime at;
    MsHostId host;
    guint8 flags;
    guint32 seq, ack;
    guint32 len; /* payload bytes */
    guint16 mss; /* the MSS option, 0 if none */
    gboolean sack_perm;
    guint n_sack;
    guint32 sack[2 * MS_TCP_SACK_MAX_BLOCKS];
} Seg;

/* A record other than a segment: drops, retransmissions, closes, streams. */
typedef struct {
    MsTime at;
    MsTraceKind kind;
    MsHostId host;
    guint32 code;
    char *text;
} Note;

/* What one end's app saw. */
typedef struct {
    MsTcpConnId conn;
    gboolean connected, closed;
    MsTime connected_at, closed_at;
    MsTcpCloseReason reason;
    GByteArray *got;
    MsTime last_data_at;
    guint data_calls;
} App;

typedef struct {
    MsEngine *engine;
    MsNet *net;
    MsTcp *tcp;
    MsHostId a, b; /* a connects, b listens */
    guint32 link;
    GArray *segs;  /* Seg */
    GArray *notes; /* Note */
    App cli, srv;  /* the apps at a and at b */
} Pair;

static void
sink(const MsTraceRecord *r, gpointer ud)
{
    Pair *p = ud;
    if (r->kind == MS_TRACE_PACKET_SEND) {
        const MsPacket *k = r->packet;
        if (k->proto != MS_IPPROTO_TCP)
            return;
        Seg s = { r->at,  r->host,      k->flags,
                  k->seq, k->ack,       k->payload ? (guint32) g_bytes_get_size(k->payload) : 0,
                  k->mss, k->sack_perm, k->n_sack,
                  { 0 } };
        memcpy(s.sack, k->sack, sizeof s.sack);
        g_array_append_val(p->segs, s);
        return;
    }
    if (r->kind == MS_TRACE_PACKET_DROP || r->kind == MS_TRACE_TCP_RETRANSMIT ||
        r->kind == MS_TRACE_TCP_CLOSE || r->kind == MS_TRACE_TCP_STREAM) {
        Note n = { r->at, r->kind, r->host, r->code, g_strdup(r->text) };
        g_array_append_val(p->notes, n);
    }
}

static void
app_init(App *a)
{
    memset(a, 0, sizeof *a);
    a->got = g_byte_array_new();
}

static void
pair_new(Pair *p, guint64 seed)
{
    static const MsLinkParams lp = { MS_TIME_MS, 8000000, 1500, 0.0, 1 << 20 };
    p->engine = ms_engine_new(seed);
    p->net = ms_net_new(p->engine);
    p->tcp = ms_tcp_new(p->net);
    p->a = ms_net_add_host(p->net, "a", 0x0A000001, MS_ROLE_CLIENT, NULL);
    p->b = ms_net_add_host(p->net, "b", 0x0A000002, MS_ROLE_MAILSERVER, NULL);
    p->link = ms_net_add_link(p->net, p->a, p->b, &lp, NULL);
    p->segs = g_array_new(FALSE, FALSE, sizeof(Seg));
    p->notes = g_array_new(FALSE, FALSE, sizeof(Note));
    ms_trace_add_sink(ms_net_trace(p->net), sink, p, NULL);
    app_init(&p->cli);
    app_init(&p->srv);
}

static void
pair_free(Pair *p)
{
    for (guint i = 0; i < p->notes->len; i++)
        g_free(g_array_index(p->notes, Note, i).text);
    g_array_free(p->notes, TRUE);
    g_array_free(p->segs, TRUE);
    g_byte_array_unref(p->cli.got);
    g_byte_array_unref(p->srv.got);
    ms_tcp_free(p->tcp);
    ms_net_free(p->net);
    ms_engine_free(p->engine);
}

static Seg *
seg(Pair *p, guint i)
{
    g_assert(i < p->segs->len);
    return &g_array_index(p->segs, Seg, i);
}

/* The notes of one kind, in order, into `out` (Note *, borrowed). */
static guint
notes_of(Pair *p, MsTraceKind kind, const Note **out, guint max)
{
    guint n = 0;
    for (guint i = 0; i < p->notes->len; i++) {
        const Note *x = &g_array_index(p->notes, Note, i);
        if (x->kind == kind) {
            if (n < max)
                out[n] = x;
            n++;
        }
    }
    return n;
}

/* Segments that carry payload bytes. */
static guint
data_segments(Pair *p, guint32 *lens, guint max)
{
    guint n = 0;
    for (guint i = 0; i < p->segs->len; i++)
        if (seg(p, i)->len > 0) {
            if (n < max)
                lens[n] = seg(p, i)->len;
            n++;
        }
    return n;
}

static void
app_connected(MsTcp *tcp, MsTcpConnId c, gpointer ud)
{
    App *a = ud;
    a->connected = TRUE;
    a->connected_at = ms_engine_now(ms_net_engine(ms_tcp_net(tcp)));
    a->conn = c;
}

static void
app_data(MsTcp *tcp, MsTcpConnId c, const guint8 *d, gsize n, gpointer ud)
{
    App *a = ud;
    g_byte_array_append(a->got, d, (guint) n);
    a->last_data_at = ms_engine_now(ms_net_engine(ms_tcp_net(tcp)));
    a->data_calls++;
    (void) c;
}

static void
app_closed(MsTcp *tcp, MsTcpConnId c, MsTcpCloseReason r, gpointer ud)
{
    App *a = ud;
    a->closed = TRUE;
    a->closed_at = ms_engine_now(ms_net_engine(ms_tcp_net(tcp)));
    a->reason = r;
    (void) c;
}

static const MsTcpCallbacks app_cb = { app_connected, app_data, app_closed };

/* A new pair whose a connects to b; runs to 10 ms (the handshake is over
 * at 3.136 ms). `sack_a`, `sack_b`: whether each host offers SACK. Returns
 * the client's connection. */
static MsTcpConnId
open_pair_sack(Pair *p, guint64 seed, gboolean sack_a, gboolean sack_b)
{
    pair_new(p, seed);
    ms_tcp_set_sack(p->tcp, p->a, sack_a);
    ms_tcp_set_sack(p->tcp, p->b, sack_b);
    CU_ASSERT_TRUE(ms_tcp_listen(p->tcp, p->b, PORT, &app_cb, &p->srv));
    MsTcpConnId c =
        ms_tcp_connect(p->tcp, p->a, ms_net_host_addr(p->net, p->b), PORT, &app_cb, &p->cli);
    ms_engine_run(p->engine, 10 * MS_TIME_MS);
    return c;
}

static MsTcpConnId
open_pair(Pair *p, guint64 seed)
{
    return open_pair_sack(p, seed, TRUE, TRUE);
}

static guint8 *
pattern(gsize n, guint64 seed)
{
    guint8 *d = g_malloc(MAX(n, 1));
    MsRng r;
    ms_rng_init(&r, seed, 1);
    for (gsize i = 0; i < n; i++)
        d[i] = (guint8) ms_rng_next(&r);
    return d;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_handshake(void)
{
    Pair p;
    open_pair(&p, 1);
    /* SYN, SYN-ACK, ACK and nothing else. */
    CU_ASSERT_EQUAL_FATAL(p.segs->len, 3);
    Seg *syn = seg(&p, 0), *synack = seg(&p, 1), *ack = seg(&p, 2);
    CU_ASSERT_EQUAL(syn->host, p.a);
    CU_ASSERT_EQUAL(syn->flags, MS_TCP_SYN);
    CU_ASSERT_EQUAL(syn->mss, MSS);
    CU_ASSERT_TRUE(syn->sack_perm); /* RFC 2018 2 */
    CU_ASSERT_EQUAL(syn->at, 0);
    CU_ASSERT_EQUAL(synack->host, p.b);
    CU_ASSERT_EQUAL(synack->flags, MS_TCP_SYN | MS_TCP_ACK);
    CU_ASSERT_EQUAL(synack->ack, syn->seq + 1);
    CU_ASSERT_EQUAL(synack->mss, MSS);
    CU_ASSERT_TRUE(synack->sack_perm);
    CU_ASSERT_EQUAL(synack->at, 1048 * US); /* 48 us + 1 ms */
    CU_ASSERT_EQUAL(ack->host, p.a);
    CU_ASSERT_EQUAL(ack->flags, MS_TCP_ACK);
    CU_ASSERT_EQUAL(ack->seq, syn->seq + 1);
    CU_ASSERT_EQUAL(ack->ack, synack->seq + 1);
    CU_ASSERT_EQUAL(ack->mss, 0);
    CU_ASSERT_FALSE(ack->sack_perm);
    CU_ASSERT_EQUAL(ack->at, 2096 * US);
    /* The client learns at the SYN-ACK, the server at the ACK. */
    CU_ASSERT_TRUE(p.cli.connected);
    CU_ASSERT_EQUAL(p.cli.connected_at, 2096 * US);
    CU_ASSERT_TRUE(p.srv.connected);
    CU_ASSERT_EQUAL(p.srv.connected_at, 3136 * US); /* + 40 us + 1 ms */
    CU_ASSERT_FALSE(p.cli.closed || p.srv.closed);
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.connections, 2); /* one record per end */
    CU_ASSERT_EQUAL(st.established, 2);
    CU_ASSERT_EQUAL(st.segments, 3);
    CU_ASSERT_EQUAL(st.retransmits, 0);
    CU_ASSERT_EQUAL(st.refused + st.timeouts, 0);
    pair_free(&p);
}

/* 50,000 bytes in two sends arrive whole and in order, in full-sized
 * segments but the last: the first send fills the initial window of ten
 * segments (RFC 6928), each ACK (one per two segments) opens it by two,
 * and the peer's 65,535 bytes bound it after. */
static void
test_transfer_whole_in_order(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 2);
    const gsize n = 50000;
    g_autofree guint8 *data = pattern(n, 7);
    ms_tcp_send(p.tcp, c, data, 30000);
    ms_tcp_send(p.tcp, c, data + 30000, n - 30000);
    ms_engine_run(p.engine, MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, n);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, n), 0);
    guint32 lens[64];
    guint k = data_segments(&p, lens, G_N_ELEMENTS(lens));
    CU_ASSERT_EQUAL_FATAL(k, 35); /* 50,000 = 34 x 1,460 + 360 */
    for (guint i = 0; i < k - 1; i++)
        CU_ASSERT_EQUAL(lens[i], MSS);
    CU_ASSERT_EQUAL(lens[k - 1], 360);
    CU_ASSERT_EQUAL(p.srv.data_calls, k);
    /* Sequence numbers advance by the bytes sent: in order, no gap. */
    guint32 next = 0;
    gboolean first = TRUE, in_order = TRUE;
    for (guint i = 0; i < p.segs->len; i++) {
        Seg *s = seg(&p, i);
        if (s->len == 0)
            continue;
        if (!first && s->seq != next)
            in_order = FALSE;
        next = s->seq + s->len;
        first = FALSE;
    }
    CU_ASSERT_TRUE(in_order);
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.bytes, n);
    CU_ASSERT_EQUAL(st.retransmits, 0);
    pair_free(&p);
}

/* MSS boundaries: MSS - 1 and MSS bytes are one segment, MSS + 1 two. */
static void
test_mss_segmentation(void)
{
    static const struct {
        gsize bytes;
        guint segments;
        guint32 last;
    } cases[] = {
        { MSS - 1, 1, MSS - 1 }, { MSS, 1, MSS },       { MSS + 1, 2, 1 },
        { 2 * MSS, 2, MSS },     { 2 * MSS + 1, 3, 1 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Pair p;
        MsTcpConnId c = open_pair(&p, 3);
        g_autofree guint8 *data = pattern(cases[i].bytes, i);
        ms_tcp_send(p.tcp, c, data, cases[i].bytes);
        ms_engine_run(p.engine, MS_TIME_S);
        guint32 lens[8];
        guint k = data_segments(&p, lens, G_N_ELEMENTS(lens));
        CU_ASSERT_EQUAL(k, cases[i].segments);
        if (k == cases[i].segments) {
            for (guint j = 0; j + 1 < k; j++)
                CU_ASSERT_EQUAL(lens[j], MSS);
            CU_ASSERT_EQUAL(lens[k - 1], cases[i].last);
        }
        CU_ASSERT_EQUAL(p.srv.got->len, cases[i].bytes);
        CU_ASSERT_TRUE(p.srv.got->len == cases[i].bytes &&
                       memcmp(p.srv.got->data, data, cases[i].bytes) == 0);
        /* The last byte arrives after the segments' serialisation, back to
         * back from 10 ms, plus the latency. */
        MsTime tx = (MsTime) (cases[i].bytes + 40 * k) * US;
        CU_ASSERT_EQUAL(p.srv.last_data_at, 10 * MS_TIME_MS + tx + MS_TIME_MS);
        pair_free(&p);
    }
}

/* A segment sent while the link is down is lost (no route); the link comes
 * back at 500 ms and the retransmission timer (1 s: no RTT sample yet)
 * sends it again at 1.010 s; it arrives 1,040 us + 1 ms later. */
static void
test_loss_retransmitted(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 4);
    ms_net_set_link_up(p.net, p.link, FALSE);
    g_autofree guint8 *data = pattern(1000, 11);
    ms_tcp_send(p.tcp, c, data, 1000);
    ms_engine_run(p.engine, 500 * MS_TIME_MS);
    CU_ASSERT_EQUAL(p.srv.got->len, 0);
    ms_net_set_link_up(p.net, p.link, TRUE);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 1000);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 1000), 0);
    CU_ASSERT_EQUAL(p.srv.last_data_at, 1010 * MS_TIME_MS + 1040 * US + MS_TIME_MS);
    MsNetStats ns;
    ms_net_get_stats(p.net, &ns);
    CU_ASSERT_EQUAL(ns.drops[MS_DROP_NO_ROUTE], 1);
    CU_ASSERT_EQUAL(ns.dropped, 1);
    const Note *rx[4];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 4), 1);
    CU_ASSERT_EQUAL(rx[0]->at, 1010 * MS_TIME_MS);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, "retransmit seq 1 (1000 bytes)");
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 1);
    CU_ASSERT_EQUAL(st.bytes, 2000); /* payload bytes put on the wire, twice */
    /* The stream's totals come at the close. */
    ms_tcp_close(p.tcp, c);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    const Note *stream[2];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_STREAM, stream, 2), 1);
    /* What left a: both segments and both copies of the bytes, the
     * retransmission said as such. */
    CU_ASSERT_STRING_EQUAL(stream[0]->text,
                           "2000 bytes left a as 2 TCP segments of at most 1460 bytes; 1 of them "
                           "was a retransmission, which sent 1000 bytes again (1000 bytes of "
                           "data, once each)");
    pair_free(&p);
}

/* `text` with the client's port (an ephemeral one, drawn from the seed:
 * sim/net/ports.c) written as P. Caller frees. */
static char *
port_as_p(const char *text)
{
    GString *s = g_string_new(NULL);
    for (const char *p = text; *p;) {
        char *end = (char *) p;
        guint64 v = g_ascii_isdigit(*p) ? g_ascii_strtoull(p, &end, 10) : 0;
        if (end > p && v >= 32768 && v <= 60999)
            g_string_append_c(s, 'P');
        else if (end > p)
            g_string_append_len(s, p, end - p);
        else
            g_string_append_c(s, *p), end = (char *) p + 1;
        p = end;
    }
    return g_string_free(s, FALSE);
}

/* Nobody answers (b is down): the SYN goes at 0 and again after 1, 2, 4, 8,
 * 16 and 32 s (RFC 6298 5.5: the RTO doubles), six retries as Linux's
 * tcp_syn_retries, and the connection fails "timed out" 64 s after the
 * last, at 127 s. */
static void
test_syn_backoff_then_timeout(void)
{
    Pair p;
    pair_new(&p, 5);
    ms_net_set_host_up(p.net, p.b, FALSE);
    ms_tcp_connect(p.tcp, p.a, ms_net_host_addr(p.net, p.b), PORT, &app_cb, &p.cli);
    ms_engine_run(p.engine, 127 * MS_TIME_S - 1);
    CU_ASSERT_FALSE(p.cli.closed);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    static const MsTime syn_at[] = { 0, 1, 3, 7, 15, 31, 63 };
    CU_ASSERT_EQUAL_FATAL(p.segs->len, G_N_ELEMENTS(syn_at));
    for (guint i = 0; i < G_N_ELEMENTS(syn_at); i++) {
        CU_ASSERT_EQUAL(seg(&p, i)->at, syn_at[i] * MS_TIME_S);
        CU_ASSERT_EQUAL(seg(&p, i)->flags, MS_TCP_SYN);
        CU_ASSERT_EQUAL(seg(&p, i)->seq, seg(&p, 0)->seq);
    }
    const Note *drops[8];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_PACKET_DROP, drops, 8), G_N_ELEMENTS(syn_at));
    for (guint i = 0; i < G_N_ELEMENTS(syn_at); i++) {
        CU_ASSERT_EQUAL(drops[i]->code, MS_DROP_HOST_DOWN);
        CU_ASSERT_EQUAL(drops[i]->at, syn_at[i] * MS_TIME_S + 1048 * US);
    }
    CU_ASSERT_TRUE(p.cli.closed);
    CU_ASSERT_FALSE(p.cli.connected);
    CU_ASSERT_EQUAL(p.cli.reason, MS_TCP_CLOSE_TIMEOUT);
    CU_ASSERT_EQUAL(p.cli.closed_at, 127 * MS_TIME_S);
    const Note *closes[2];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_CLOSE, closes, 2), 1);
    g_autofree char *text = port_as_p(closes[0]->text);
    CU_ASSERT_STRING_EQUAL(text, "a:P -> 25: timed out");
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.connections, 1);
    CU_ASSERT_EQUAL(st.established, 0);
    CU_ASSERT_EQUAL(st.timeouts, 1);
    CU_ASSERT_EQUAL(st.retransmits, 6);
    CU_ASSERT_EQUAL(st.segments, 7);
    pair_free(&p);
}

/* The client sends 1,000 bytes and closes; the server is told "closed" at
 * the FIN and, without half-close, answers with its own FIN; each FIN is
 * acknowledged (the data's ACK, delayed, goes with the first). */
static void
test_orderly_close(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 6);
    g_autofree guint8 *data = pattern(1000, 13);
    ms_tcp_send(p.tcp, c, data, 1000);
    ms_tcp_close(p.tcp, c);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(p.segs->len, 3 + 5);
    Seg *syn = seg(&p, 0), *synack = seg(&p, 1);
    guint32 a0 = syn->seq + 1, b0 = synack->seq + 1; /* first data octet of each side */
    static const struct {
        gboolean from_a;
        guint8 flags;
        guint32 seq_off, ack_off, len; /* offsets from a0 / b0 */
    } want[] = {
        { TRUE, MS_TCP_ACK | MS_TCP_PSH, 0, 0, 1000 },
        { TRUE, MS_TCP_FIN | MS_TCP_ACK, 1000, 0, 0 },
        { FALSE, MS_TCP_ACK, 0, 1001, 0 }, /* the data and a's FIN: the delayed ACK of the
                                              data goes with the FIN's, at once */
        { FALSE, MS_TCP_FIN | MS_TCP_ACK, 0, 1001, 0 },
        { TRUE, MS_TCP_ACK, 1001, 1, 0 }, /* b's FIN */
    };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        Seg *s = seg(&p, 3 + i);
        gboolean from_a = s->host == p.a;
        CU_ASSERT_EQUAL(from_a, want[i].from_a);
        CU_ASSERT_EQUAL(s->flags, want[i].flags);
        CU_ASSERT_EQUAL(s->seq, (from_a ? a0 : b0) + want[i].seq_off);
        CU_ASSERT_EQUAL(s->ack, (from_a ? b0 : a0) + want[i].ack_off);
        CU_ASSERT_EQUAL(s->len, want[i].len);
    }
    CU_ASSERT_EQUAL(p.srv.got->len, 1000);
    /* Only the server's app hears of the close (the client let go first). */
    CU_ASSERT_TRUE(p.srv.closed);
    CU_ASSERT_EQUAL(p.srv.reason, MS_TCP_CLOSE_NORMAL);
    CU_ASSERT_EQUAL(p.srv.closed_at,
                    10 * MS_TIME_MS + 1080 * US + MS_TIME_MS); /* data + FIN, then 1 ms */
    CU_ASSERT_FALSE(p.cli.closed);
    const Note *closes[4];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_CLOSE, closes, 4), 2);
    g_autofree char *text0 = port_as_p(closes[0]->text), *text1 = port_as_p(closes[1]->text);
    CU_ASSERT_STRING_EQUAL(text0, "b:25 -> P: closed");
    CU_ASSERT_STRING_EQUAL(text1, "a:P -> 25: closed");
    /* Both records are free again: nothing pending, and a new connection
     * works on the same port. */
    CU_ASSERT_EQUAL(ms_engine_next_time(p.engine), MS_TIME_INFINITE);
    App cli2;
    app_init(&cli2);
    ms_tcp_connect(p.tcp, p.a, ms_net_host_addr(p.net, p.b), PORT, &app_cb, &cli2);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    CU_ASSERT_TRUE(cli2.connected);
    g_byte_array_unref(cli2.got);
    pair_free(&p);
}

/* --- ephemeral ports (RFC 6056; sim/net/ports.c) -------------------------- */

static void
connect_sink(const MsTraceRecord *r, gpointer ud)
{
    GString *s = ud;
    if (r->kind == MS_TRACE_TCP_CONNECT)
        g_string_append_printf(s, "%s\n", r->text);
}

/* The local ports of four connections from a to b:25 opened at once, at
 * packet or flow level, as "a:P connects to port 25" lines. */
static char *
connect_lines(guint64 seed, gboolean flow)
{
    static const MsLinkParams lp = { MS_TIME_MS, 8000000, 1500, 0.0, 1 << 20 };
    g_autoptr(MsEngine) e = ms_engine_new(seed);
    g_autoptr(MsNet) net = ms_net_new(e);
    g_autoptr(MsTcp) tcp = flow ? ms_tcp_new_flow(net) : ms_tcp_new(net);
    MsHostId a = ms_net_add_host(net, "a", 0x0A000001, MS_ROLE_CLIENT, NULL);
    MsHostId b = ms_net_add_host(net, "b", 0x0A000002, MS_ROLE_MAILSERVER, NULL);
    ms_net_add_link(net, a, b, &lp, NULL);
    GString *lines = g_string_new(NULL);
    ms_trace_add_sink(ms_net_trace(net), connect_sink, lines, NULL);
    App srv, cli[4];
    app_init(&srv);
    CU_ASSERT_TRUE(ms_tcp_listen(tcp, b, PORT, &app_cb, &srv));
    for (guint i = 0; i < 4; i++) {
        app_init(&cli[i]);
        ms_tcp_connect(tcp, a, ms_net_host_addr(net, b), PORT, &app_cb, &cli[i]);
    }
    ms_engine_run(e, MS_TIME_S);
    for (guint i = 0; i < 4; i++) {
        CU_ASSERT_TRUE(cli[i].connected);
        g_byte_array_unref(cli[i].got);
    }
    g_byte_array_unref(srv.got);
    return g_string_free(lines, FALSE);
}

/* Connections draw their local ports by RFC 6056 3.3.4 (double hash, as
 * Linux does) in Linux's default range 32768-60999, even ports first; the
 * same seed gives the same ports, at packet and at flow level alike, and
 * another seed others. */
static void
test_ephemeral_ports(void)
{
    g_autofree char *a = connect_lines(7, FALSE);
    g_autofree char *again = connect_lines(7, FALSE);
    g_autofree char *flow = connect_lines(7, TRUE);
    g_autofree char *other = connect_lines(8, FALSE);
    CU_ASSERT_STRING_EQUAL(a, again);
    CU_ASSERT_STRING_EQUAL(a, flow);
    g_auto(GStrv) la = g_strsplit(a, "\n", -1), lo = g_strsplit(other, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(la), 5);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(lo), 5);
    guint prev = 0;
    for (guint i = 0; i < 4; i++) {
        guint port = 0, port_o = 0;
        CU_ASSERT_EQUAL(sscanf(la[i], "a:%u connects to port 25", &port), 1);
        CU_ASSERT_EQUAL(sscanf(lo[i], "a:%u connects to port 25", &port_o), 1);
        CU_ASSERT(port >= 32768 && port <= 60999);
        CU_ASSERT_EQUAL(port % 2, 0);
        CU_ASSERT_NOT_EQUAL(port, port_o);
        /* to one peer: the perturbation counter moves on by 2 to 16 */
        if (i > 0)
            CU_ASSERT((port - prev + 28232) % 28232 >= 2 && (port - prev + 28232) % 28232 <= 16);
        prev = port;
    }
}

static void
ignore_datagram(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
                GBytes *payload, gpointer user_data)
{
    (void) net, (void) host, (void) port, (void) src_addr, (void) src_port, (void) payload;
    (void) user_data;
}

static gboolean
reject_port(guint16 port, gpointer user_data)
{
    return port == GPOINTER_TO_UINT(user_data);
}

/* A port in use is skipped: the next one of the same parity (connect) or
 * the next one (a UDP socket) is taken instead. Two networks with the same
 * seed draw alike, so the second shows what the first would have taken. */
static void
test_ephemeral_port_in_use_skipped(void)
{
    guint16 conn[2], udp[2];
    for (guint k = 0; k < 2; k++) {
        g_autoptr(MsEngine) e = ms_engine_new(5);
        g_autoptr(MsNet) net = ms_net_new(e);
        MsHostId a = ms_net_add_host(net, "a", 0x0A000001, MS_ROLE_CLIENT, NULL);
        conn[k] = ms_net_connect_port(net, a, 0x0A000002, PORT, reject_port,
                                      GUINT_TO_POINTER(k ? conn[0] : 0));
        if (k == 1)
            CU_ASSERT_TRUE(ms_udp_bind(net, a, udp[0], ignore_datagram, NULL));
        udp[k] = ms_net_ephemeral_port(net, a);
    }
    CU_ASSERT_EQUAL(conn[1], conn[0] == 60998 ? 32768 : conn[0] + 2);
    CU_ASSERT_EQUAL(udp[1], udp[0] == 60999 ? 32768 : udp[0] + 1);
    CU_ASSERT(udp[0] >= 32768 && udp[0] <= 60999);
}

/* Sends `n` bytes of `data` from the client while the link is down: the
 * segments are lost at once (no route), as if the network had dropped
 * them, and the link is up again after. */
static void
send_lost(Pair *p, MsTcpConnId c, const guint8 *data, gsize n)
{
    ms_net_set_link_up(p->net, p->link, FALSE);
    ms_tcp_send(p->tcp, c, data, n);
    ms_net_set_link_up(p->net, p->link, TRUE);
}

/* The ACKs b sent, in order, into `out` (Seg *, borrowed). */
static guint
acks_from_b(Pair *p, const Seg **out, guint max)
{
    guint n = 0;
    for (guint i = 0; i < p->segs->len; i++) {
        const Seg *s = seg(p, i);
        if (s->host == p->b && s->len == 0 && s->flags == MS_TCP_ACK) {
            if (n < max)
                out[n] = s;
            n++;
        }
    }
    return n;
}

/* The receiver keeps out-of-order data: the first of three segments is
 * lost; the other two arrive at 12.5 and 14 ms and each is answered at once
 * by a duplicate ACK (RFC 5681 4.2); two are too few for a fast
 * retransmit, so the RTO (1 s) resends the first at 1.010 s, and the ACK it
 * draws covers all three: the two held segments are not sent again. */
static void
test_out_of_order_kept(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 8);
    g_autofree guint8 *data = pattern(3 * MSS, 17);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, 2 * MSS);
    ms_engine_run(p.engine, 100 * MS_TIME_MS);
    CU_ASSERT_EQUAL(p.srv.got->len, 0);
    guint32 a0 = seg(&p, 0)->seq + 1;
    const Seg *acks[8];
    CU_ASSERT_EQUAL_FATAL(acks_from_b(&p, acks, 8), 2);
    CU_ASSERT_EQUAL(acks[0]->at, 12500 * US);
    CU_ASSERT_EQUAL(acks[1]->at, 14000 * US);
    CU_ASSERT_EQUAL(acks[0]->ack, a0);
    CU_ASSERT_EQUAL(acks[1]->ack, a0);
    ms_engine_run(p.engine, 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 3 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 3 * MSS), 0);
    CU_ASSERT_EQUAL_FATAL(acks_from_b(&p, acks, 8), 3);
    CU_ASSERT_EQUAL(acks[2]->at, 1010 * MS_TIME_MS + 2500 * US);
    CU_ASSERT_EQUAL(acks[2]->ack, a0 + 3 * MSS);
    guint32 lens[8];
    CU_ASSERT_EQUAL(data_segments(&p, lens, 8), 3); /* two first sends and one resend */
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 1);
    pair_free(&p);
}

/* Sends 40 full segments and lets them be acknowledged, so that slow start
 * has opened the client's window well past what a test loses (to 62,780
 * bytes: 4,380 + 40 x 1,460); returns the stream offset reached. The
 * records of the warm-up are cleared. */
static guint32
warm_up(Pair *p, MsTcpConnId c)
{
    const gsize n = 40 * MSS;
    g_autofree guint8 *data = pattern(n, 99);
    ms_tcp_send(p->tcp, c, data, n);
    ms_engine_run(p->engine, ms_engine_now(p->engine) + MS_TIME_S);
    CU_ASSERT_EQUAL(p->srv.got->len, n);
    g_byte_array_set_size(p->srv.got, 0);
    for (guint i = 0; i < p->notes->len; i++)
        g_free(g_array_index(p->notes, Note, i).text);
    g_array_set_size(p->notes, 0);
    return (guint32) n;
}

/* Retransmissions resend the segments as first cut: 1,000 bytes are lost,
 * 2,000 more follow as 1,460 + 540; two duplicate ACKs are too few, so the
 * RTO resends the 1,000 bytes alone, and nothing else is sent again. */
static void
test_retransmit_keeps_boundaries(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 9);
    guint32 off = warm_up(&p, c);
    g_autofree guint8 *data = pattern(3000, 19);
    send_lost(&p, c, data, 1000);
    ms_tcp_send(p.tcp, c, data + 1000, 2000);
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 3000);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 3000), 0);
    const Note *rx[4];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 4), 1);
    g_autofree char *want = g_strdup_printf("retransmit seq %u (1000 bytes)", off + 1);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, want);
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 1);
    pair_free(&p);
}

/* NewReno (RFC 6582) when SACK is off: segments A and C of A..H are lost.
 * The third duplicate ACK (E's) brings A again; the ACK it draws covers B
 * only, a partial ACK, which brings C again at once, 6 ms later (A waits
 * 2.46 ms behind D..H on the link, then 2.5 ms to cross, the ACK 1.04 ms
 * back), not after an RTO. */
static void
test_newreno_partial_ack(void)
{
    Pair p;
    MsTcpConnId c = open_pair_sack(&p, 10, TRUE, FALSE); /* b does not offer SACK */
    CU_ASSERT_TRUE(seg(&p, 0)->sack_perm);
    CU_ASSERT_FALSE(seg(&p, 1)->sack_perm); /* so the SYN-ACK does not either */
    guint32 off = warm_up(&p, c);
    g_autofree guint8 *data = pattern(8 * MSS, 23);
    send_lost(&p, c, data, MSS);            /* A */
    ms_tcp_send(p.tcp, c, data + MSS, MSS); /* B, arrives 2.5 ms later */
    /* Taking the link down loses what is on it: wait for B and its
     * duplicate ACK (back at 3.54 ms). */
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 4 * MS_TIME_MS);
    send_lost(&p, c, data + 2 * MSS, MSS);          /* C */
    ms_tcp_send(p.tcp, c, data + 3 * MSS, 5 * MSS); /* D..H */
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 8 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 8 * MSS), 0);
    const Note *rx[4];
    if (g_getenv("TCP_DEBUG"))
        for (guint i = 0; i < p.segs->len; i++) {
            Seg *x = seg(&p, i);
            printf("%ld %s f=%x seq=%u ack=%u len=%u\n", (long) x->at, x->host == p.a ? "a" : "b",
                   x->flags, x->seq - seg(&p, 0)->seq, x->ack - seg(&p, 0)->seq, x->len);
        }
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 4), 2);
    g_autofree char *a = g_strdup_printf("retransmit seq %u (1460 bytes)", off + 1);
    g_autofree char *cc = g_strdup_printf("retransmit seq %u (1460 bytes)", off + 1 + 2 * MSS);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, a);
    CU_ASSERT_STRING_EQUAL(rx[1]->text, cc);
    CU_ASSERT_EQUAL(rx[1]->at - rx[0]->at, 6000 * US);
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 2);
    pair_free(&p);
}

/* The duplicate ACKs b sent from index `from` on, into `out`. */
static guint
dupacks_from_b(Pair *p, guint from, guint32 ack, const Seg **out, guint max)
{
    guint n = 0;
    for (guint i = from; i < p->segs->len; i++) {
        const Seg *s = seg(p, i);
        if (s->host == p->b && s->len == 0 && s->flags == MS_TCP_ACK && s->ack == ack) {
            if (n < max)
                out[n] = s;
            n++;
        }
    }
    return n;
}

/* SACK (RFC 2018, RFC 6675): one segment lost in a flight of ten. Each of
 * the next segments draws a duplicate ACK whose one block names all that
 * arrived above the hole; the third brings the lost segment again, and it
 * alone is resent: the nine held segments are not. */
static void
test_sack_one_loss(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 11);
    guint32 off = warm_up(&p, c);
    guint32 a0 = seg(&p, 0)->seq + 1 + off; /* the lost segment's seq */
    guint first = p.segs->len;
    g_autofree guint8 *data = pattern(10 * MSS, 29);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, 9 * MSS);
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 10 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 10 * MSS), 0);
    const Seg *dup[16];
    CU_ASSERT_EQUAL_FATAL(dupacks_from_b(&p, first, a0, dup, 16), 9);
    for (guint i = 0; i < 9; i++) {
        CU_ASSERT_EQUAL(dup[i]->n_sack, 1);
        CU_ASSERT_EQUAL(dup[i]->sack[0], a0 + MSS);
        CU_ASSERT_EQUAL(dup[i]->sack[1], a0 + MSS + (i + 1) * MSS);
    }
    const Note *rx[4];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 4), 1);
    g_autofree char *want = g_strdup_printf("retransmit seq %u (1460 bytes)", off + 1);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, want);
    /* At the third duplicate ACK, back 1.052 ms after it left b (52 bytes
     * with its block). */
    CU_ASSERT_EQUAL(rx[0]->at, dup[2]->at + 1052 * US);
    guint32 lens[64];
    /* On the link: the warm-up's 40, the nine that arrived, the one resent
     * (the lost one never reached the link). */
    CU_ASSERT_EQUAL(data_segments(&p, lens, 64), 40 + 9 + 1);
    pair_free(&p);
}

/* Two holes with SACK: A and C of A..H are lost (as in the NewReno test).
 * D's duplicate ACK names D's block first, then B's (RFC 2018 4: the most
 * recent first). The third duplicate ACK brings A again; the fourth makes C
 * lost by RFC 6675's rule (three SACKed segments above it) and brings it
 * 1.5 ms later, without waiting a round trip for a partial ACK. */
static void
test_sack_two_holes(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 12);
    guint32 off = warm_up(&p, c);
    guint32 a0 = seg(&p, 0)->seq + 1 + off;
    guint first = p.segs->len;
    g_autofree guint8 *data = pattern(8 * MSS, 23);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, MSS);
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 4 * MS_TIME_MS);
    send_lost(&p, c, data + 2 * MSS, MSS);
    ms_tcp_send(p.tcp, c, data + 3 * MSS, 5 * MSS);
    ms_engine_run(p.engine, ms_engine_now(p.engine) + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 8 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 8 * MSS), 0);
    const Seg *dup[16];
    CU_ASSERT_FATAL(dupacks_from_b(&p, first, a0, dup, 16) >= 4);
    CU_ASSERT_EQUAL(dup[0]->n_sack, 1);
    CU_ASSERT_EQUAL(dup[1]->n_sack, 2);
    CU_ASSERT_EQUAL(dup[1]->sack[0], a0 + 3 * MSS);
    CU_ASSERT_EQUAL(dup[1]->sack[1], a0 + 4 * MSS);
    CU_ASSERT_EQUAL(dup[1]->sack[2], a0 + MSS);
    CU_ASSERT_EQUAL(dup[1]->sack[3], a0 + 2 * MSS);
    const Note *rx[4];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 4), 2);
    g_autofree char *a = g_strdup_printf("retransmit seq %u (1460 bytes)", off + 1);
    g_autofree char *cc = g_strdup_printf("retransmit seq %u (1460 bytes)", off + 1 + 2 * MSS);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, a);
    CU_ASSERT_STRING_EQUAL(rx[1]->text, cc);
    CU_ASSERT_EQUAL(rx[0]->at, dup[2]->at + 1060 * US); /* 60 bytes: two blocks */
    CU_ASSERT_EQUAL(rx[1]->at, dup[3]->at + 1060 * US);
    CU_ASSERT_EQUAL(rx[1]->at - rx[0]->at, 1500 * US);
    pair_free(&p);
}

/* A SYN without SACK-permitted gets a SYN-ACK without it, and the
 * duplicate ACKs then carry no blocks; the RTO still resends only what was
 * lost. */
static void
test_sack_not_offered(void)
{
    Pair p;
    MsTcpConnId c = open_pair_sack(&p, 13, FALSE, TRUE);
    CU_ASSERT_FALSE(seg(&p, 0)->sack_perm);
    CU_ASSERT_FALSE(seg(&p, 1)->sack_perm);
    g_autofree guint8 *data = pattern(3 * MSS, 31);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, 2 * MSS);
    ms_engine_run(p.engine, 2 * MS_TIME_S);
    CU_ASSERT_EQUAL(p.srv.got->len, 3 * MSS);
    for (guint i = 0; i < p.segs->len; i++)
        CU_ASSERT_EQUAL(seg(&p, i)->n_sack, 0);
    /* Without SACK too, the RTO resends the lost segment only: the
     * receiver kept the two after it, and its ACK jumps past them. */
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 1);
    pair_free(&p);
}

/* RFC 6928: the first flight is ten full segments; the eleventh waits for
 * an ACK. */
static void
test_initial_window(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 14);
    guint before = p.segs->len;
    g_autofree guint8 *data = pattern(20 * MSS, 37);
    ms_tcp_send(p.tcp, c, data, 20 * MSS);
    /* Sent at once, before the engine runs again: the first flight. */
    CU_ASSERT_EQUAL(p.segs->len - before, 10);
    for (guint i = before; i < p.segs->len; i++)
        CU_ASSERT_EQUAL(seg(&p, i)->len, MSS);
    ms_engine_run(p.engine, MS_TIME_S);
    CU_ASSERT_EQUAL(p.srv.got->len, 20 * MSS);
    pair_free(&p);
}

/* Delayed ACKs (RFC 1122 4.2.3.2, RFC 5681 4.2): one segment alone is
 * acknowledged 40 ms after it arrived (the app sends nothing back to carry
 * the ACK); two full segments at once, at the second. */
static void
test_delayed_ack(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 15);
    guint32 a0 = seg(&p, 0)->seq + 1;
    g_autofree guint8 *data = pattern(1000 + 2 * MSS, 41);
    ms_tcp_send(p.tcp, c, data, 1000);
    ms_engine_run(p.engine, 200 * MS_TIME_MS);
    const Seg *acks[8];
    CU_ASSERT_EQUAL_FATAL(acks_from_b(&p, acks, 8), 1);
    /* The segment arrives at 10 ms + 1,040 us + 1 ms = 12.04 ms. */
    CU_ASSERT_EQUAL(acks[0]->at, 12040 * US + 40 * MS_TIME_MS);
    CU_ASSERT_EQUAL(acks[0]->ack, a0 + 1000);
    ms_tcp_send(p.tcp, c, data + 1000, 2 * MSS);
    ms_engine_run(p.engine, 400 * MS_TIME_MS);
    CU_ASSERT_EQUAL_FATAL(acks_from_b(&p, acks, 8), 2);
    /* The second segment arrives 2 x 1,500 us + 1 ms after 200 ms. */
    CU_ASSERT_EQUAL(acks[1]->at, 204 * MS_TIME_MS);
    CU_ASSERT_EQUAL(acks[1]->ack, a0 + 1000 + 2 * MSS);
    pair_free(&p);
}

/* Fills the a -> b queue with `ms` milliseconds of UDP datagrams (1,500
 * bytes on the wire each, so 1.5 ms apiece): whatever a sends next waits
 * that long behind them. Nothing is lost (the queue holds 1 MiB). */
static void
udp_burst(Pair *p, guint ms)
{
    g_autoptr(GBytes) dgram = g_bytes_new_take(g_malloc0(1472), 1472);
    for (guint i = 0; i < ms * 2 / 3; i++)
        CU_ASSERT_TRUE(ms_udp_send(p->net, p->a, 9, ms_net_host_addr(p->net, p->b), 9, dgram));
}

/* F-RTO (RFC 5682 3.1): ten segments wait 300 ms behind other traffic, past
 * the RTO (200 ms after the warm-up), so the timeout is spurious: nothing
 * was lost. The first segment is sent again, as every timeout does; the
 * ACK of the originals then covers segments never sent twice, so F-RTO
 * calls the timeout spurious and nothing more is resent (without it, the
 * timeout's slow start resends each segment that its ACKs have not yet
 * covered: nine of the ten here). */
static void
test_frto_spurious_timeout(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 17);
    warm_up(&p, c);
    g_autofree guint8 *data = pattern(10 * MSS, 47);
    udp_burst(&p, 300);
    MsTime t0 = ms_engine_now(p.engine);
    ms_tcp_send(p.tcp, c, data, 10 * MSS);
    ms_engine_run(p.engine, t0 + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 10 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 10 * MSS), 0);
    const Note *rx[16];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 16), 1);
    CU_ASSERT(rx[0]->at - t0 >= 200 * MS_TIME_MS && rx[0]->at - t0 < 300 * MS_TIME_MS);
    /* The response undoes the timeout: the window is as before it (43
     * segments after the warm-up), not regrown from one segment (to 11 by
     * the ten ACKed ones), so 30 new segments go at once. */
    guint before = p.segs->len;
    g_autofree guint8 *more = pattern(30 * MSS, 48);
    ms_tcp_send(p.tcp, c, more, 30 * MSS);
    guint n = 0;
    for (guint i = before; i < p.segs->len; i++)
        n += seg(&p, i)->host == p.a && seg(&p, i)->len > 0;
    CU_ASSERT_EQUAL(n, 30);
    pair_free(&p);
}

/* The loss-recording hook of the F-RTO, limited transmit and rescue tests:
 * drops the data segments from a whose stream offset (from the first data
 * byte) is on the list, the first time each is sent. */
typedef struct {
    MsHostId a;
    guint32 base; /* a's first data sequence number */
    const guint32 *offsets;
    guint n;
    guint32 done; /* bit i: offsets[i] was dropped */
} DropAt;

static gboolean
drop_at(MsNet *net, guint32 link, MsHostId from, const MsPacket *k, gpointer ud)
{
    DropAt *d = ud;
    (void) net;
    (void) link;
    if (from != d->a || k->proto != MS_IPPROTO_TCP || !k->payload)
        return FALSE;
    for (guint i = 0; i < d->n; i++)
        if (!(d->done & (1u << i)) && k->seq - d->base == d->offsets[i]) {
            d->done |= 1u << i;
            return TRUE;
        }
    return FALSE;
}

/* The data segments a sent from index `from` on, as stream offsets (from
 * `base`), into `out`. */
static guint
sent_offsets(Pair *p, guint from, guint32 base, guint32 *out, guint max)
{
    guint n = 0;
    for (guint i = from; i < p->segs->len; i++) {
        const Seg *s = seg(p, i);
        if (s->host == p->a && s->len > 0) {
            if (n < max)
                out[n] = s->seq - base;
            n++;
        }
    }
    return n;
}

/* F-RTO when the loss is real: the whole first window (ten segments) is
 * lost, four more wait for the window. The RTO resends the first; its ACK
 * brings two new segments (RFC 5682 3.1 step 2 (b)) rather than the second
 * lost one; they draw duplicate ACKs that SACK only them (step 3 (a)), so
 * the timeout was genuine and the other nine lost ones are resent, the two
 * new ones never. */
static void
test_frto_genuine_timeout(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 18);
    guint32 base = seg(&p, 0)->seq + 1;
    static const guint32 lost[] = { 0,       MSS,     2 * MSS, 3 * MSS, 4 * MSS,
                                    5 * MSS, 6 * MSS, 7 * MSS, 8 * MSS, 9 * MSS };
    DropAt d = { p.a, base, lost, G_N_ELEMENTS(lost), 0 };
    ms_net_set_loss_hook(p.net, drop_at, &d);
    guint first = p.segs->len;
    g_autofree guint8 *data = pattern(14 * MSS, 53);
    ms_tcp_send(p.tcp, c, data, 14 * MSS);
    ms_engine_run(p.engine, 5 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 14 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 14 * MSS), 0);
    guint32 off[64];
    guint n = sent_offsets(&p, first, base, off, 64);
    CU_ASSERT_FATAL(n >= 13 && n <= 64);
    /* The first window, the first one resent, then two new ones. */
    CU_ASSERT_EQUAL(off[10], 0);
    CU_ASSERT_EQUAL(off[11], 10 * MSS);
    CU_ASSERT_EQUAL(off[12], 11 * MSS);
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, 10);
    CU_ASSERT_EQUAL(n, 24); /* 14 + the 10 lost ones once more */
    ms_net_set_loss_hook(p.net, NULL, NULL);
    pair_free(&p);
}

/* Limited transmit (RFC 3042; with SACK, RFC 6675 5 (3)): the first eight
 * segments of a new connection's first window of ten are lost, and two
 * more wait for the window. The two that arrive draw two duplicate ACKs,
 * too few for a fast retransmit; each brings one of the waiting segments,
 * whose duplicate ACKs make three, so the loss is repaired within a few
 * milliseconds, not at the RTO (1 s: no RTT measured yet). With SACK and
 * without. */
static void
test_limited_transmit(void)
{
    for (int sack = 1; sack >= 0; sack--) {
        Pair p;
        MsTcpConnId c = open_pair_sack(&p, 19, sack, sack);
        guint32 base = seg(&p, 0)->seq + 1;
        static const guint32 lost[] = {
            0, MSS, 2 * MSS, 3 * MSS, 4 * MSS, 5 * MSS, 6 * MSS, 7 * MSS
        };
        DropAt d = { p.a, base, lost, G_N_ELEMENTS(lost), 0 };
        ms_net_set_loss_hook(p.net, drop_at, &d);
        guint first = p.segs->len;
        MsTime t0 = ms_engine_now(p.engine);
        g_autofree guint8 *data = pattern(12 * MSS, 59);
        ms_tcp_send(p.tcp, c, data, 12 * MSS);
        ms_engine_run(p.engine, t0 + 5 * MS_TIME_S);
        CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 12 * MSS);
        CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 12 * MSS), 0);
        guint32 off[64];
        guint n = sent_offsets(&p, first, base, off, 64);
        CU_ASSERT_FATAL(n >= 13 && n <= 64);
        CU_ASSERT_EQUAL(off[10], 10 * MSS); /* the two waiting ones, first */
        CU_ASSERT_EQUAL(off[11], 11 * MSS);
        CU_ASSERT_EQUAL(off[12], 0); /* then the first lost one */
        const Note *rx[16];
        CU_ASSERT_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 16) >= 1);
        CU_ASSERT(rx[0]->at - t0 < 20 * MS_TIME_MS);
        ms_net_set_loss_hook(p.net, NULL, NULL);
        pair_free(&p);
    }
}

/* The rescue retransmission (RFC 6675 4, NextSeg() rule 4): the first and
 * the last of ten segments are lost. Duplicate ACKs bring the first again,
 * but nothing arrives above the last to show it lost; the partial ACK for
 * the first makes it the rescue, sent at once, so the transfer ends in two
 * round trips and a few milliseconds, not after an RTO (200 ms). */
static void
test_rescue_retransmission(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 20);
    guint32 off0 = warm_up(&p, c);
    guint32 base = seg(&p, 0)->seq + 1;
    const guint32 lost[] = { off0, off0 + 9 * MSS };
    DropAt d = { p.a, base, lost, G_N_ELEMENTS(lost), 0 };
    ms_net_set_loss_hook(p.net, drop_at, &d);
    MsTime t0 = ms_engine_now(p.engine);
    g_autofree guint8 *data = pattern(10 * MSS, 61);
    ms_tcp_send(p.tcp, c, data, 10 * MSS);
    ms_engine_run(p.engine, t0 + 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(p.srv.got->len, 10 * MSS);
    CU_ASSERT_EQUAL(memcmp(p.srv.got->data, data, 10 * MSS), 0);
    const Note *rx[8];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_RETRANSMIT, rx, 8), 2);
    g_autofree char *first = g_strdup_printf("retransmit seq %u (1460 bytes)", off0 + 1);
    g_autofree char *last = g_strdup_printf("retransmit seq %u (1460 bytes)", off0 + 1 + 9 * MSS);
    CU_ASSERT_STRING_EQUAL(rx[0]->text, first);
    CU_ASSERT_STRING_EQUAL(rx[1]->text, last);
    /* The first at the third duplicate ACK (8 ms), the last at the partial
     * ACK its arrival draws (18.5 ms, behind the eight others on the
     * link); the whole is in at 21 ms. */
    CU_ASSERT(rx[1]->at - t0 < 20 * MS_TIME_MS);
    CU_ASSERT(p.srv.last_data_at - t0 < 30 * MS_TIME_MS);
    ms_net_set_loss_hook(p.net, NULL, NULL);
    pair_free(&p);
}

/* The first connection `host` opened to port 25 and how it ended: the
 * times of its connect and close records and the close's text. */
typedef struct {
    MsHostId host;
    MsTime connect_at, close_at;
    char *close_text;
    gboolean connected;
} FirstConn;

static void
first_conn_sink(const MsTraceRecord *r, gpointer ud)
{
    FirstConn *f = ud;
    if (r->host != f->host || g_strcmp0(r->proto, "tcp") != 0)
        return;
    if (r->kind == MS_TRACE_TCP_CONNECT && !f->connected &&
        g_str_has_suffix(r->text, "connects to port 25")) {
        f->connected = TRUE;
        f->connect_at = r->at;
    } else if (r->kind == MS_TRACE_TCP_CLOSE && f->connected && !f->close_text &&
               strstr(r->text, " -> 25: ")) {
        f->close_at = r->at;
        f->close_text = g_strdup(r->text);
    }
}

/* An MTA whose next hop is down: TCP's own SYN retries (six, 127 s, as
 * Linux) end the attempt before Exim's and OpenSMTPD's 5-minute connect
 * timeouts could; Postfix's 30 s smtp_connect_timeout comes first and
 * abandons the connection itself. */
static void
test_syn_retries_bound_connect_timeouts(void)
{
    static const struct {
        const char *profile;
        MsTime after;
        const char *how;
    } cases[] = {
        { "postfix", 30 * MS_TIME_S, "timed out (abandoned by the application)" },
        { "exim", 127 * MS_TIME_S, "timed out" },
        { "opensmtpd", 127 * MS_TIME_S, "timed out" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml = g_strdup_printf(
            "<scenario version=\"1\" name=\"down\" seed=\"1\" until=\"10min\">"
            "<host id=\"pc\" name=\"pc.example\" role=\"client\" address=\"192.0.2.10\"/>"
            "<host id=\"r\" name=\"gw.example\" role=\"router\" address=\"192.0.2.1\"/>"
            "<host id=\"out\" name=\"smtp.isp.example\" role=\"mailserver\" "
            "address=\"192.0.2.25\"/>"
            "<host id=\"dns\" name=\"ns.example\" role=\"dns\" address=\"198.18.0.53\"/>"
            "<host id=\"mx\" name=\"mx.corp.example\" role=\"mailserver\" "
            "address=\"203.0.113.25\"/>"
            "<link a=\"pc\" b=\"r\" latency=\"1ms\" bandwidth=\"100Mbps\"/>"
            "<link a=\"out\" b=\"r\" latency=\"1ms\" bandwidth=\"100Mbps\"/>"
            "<link a=\"dns\" b=\"r\" latency=\"1ms\" bandwidth=\"100Mbps\"/>"
            "<link a=\"mx\" b=\"r\" latency=\"1ms\" bandwidth=\"100Mbps\"/>"
            "<dns mode=\"flat\" server=\"dns\"/>"
            "<zone name=\"corp.example\" server=\"dns\" ttl=\"1h\">"
            "<mx preference=\"10\" exchange=\"mx.corp.example\"/>"
            "<a name=\"mx.corp.example\" host=\"mx\"/></zone>"
            "<mailserver host=\"out\" domains=\"isp.example\" profile=\"%s\">"
            "<user name=\"alice\" password=\"pw\"/></mailserver>"
            "<mailserver host=\"mx\" domains=\"corp.example\" profile=\"postfix\">"
            "<user name=\"bob\" password=\"pw\"/></mailserver>"
            "<client host=\"pc\" user=\"alice@isp.example\" password=\"pw\" smtp=\"out\"/>"
            "<fault kind=\"host-down\" target=\"mx\" at=\"0s\" duration=\"1h\"/>"
            "<message id=\"m1\" from=\"alice@isp.example\" to=\"bob@corp.example\" at=\"1s\">"
            "Hello</message></scenario>",
            cases[i].profile);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_memory(xml, strlen(xml), "down.xml", &error);
        if (!sc)
            fprintf(stderr, "\n%s\n", error->message);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        MsNet *net = ms_world_net(w);
        FirstConn f = { ms_net_host_by_name(net, "smtp.isp.example"), 0, 0, NULL, FALSE };
        ms_trace_add_sink(ms_net_trace(net), first_conn_sink, &f, NULL);
        ms_world_run(w, 200 * MS_TIME_S);
        CU_ASSERT_TRUE_FATAL(f.connected && f.close_text);
        CU_ASSERT_EQUAL(f.close_at - f.connect_at, cases[i].after);
        CU_ASSERT_TRUE(g_str_has_suffix(f.close_text, cases[i].how));
        if (f.close_at - f.connect_at != cases[i].after)
            fprintf(stderr, "\n%s: %s after %.3f s\n", cases[i].profile, f.close_text,
                    (double) (f.close_at - f.connect_at) / MS_TIME_S);
        g_free(f.close_text);
    }
}

/* The JSON Lines trace carries what `--level packets` tells of each TCP
 * segment: window, MSS and SACK-permitted on the SYNs, and the SACK blocks
 * of the duplicate ACKs after a loss, as [left, right] pairs of absolute
 * sequence numbers. Read back with json-glib's parser and checked against
 * the segments as the network carried them. */
static void
test_json_trace_sack(void)
{
    Pair p;
    pair_new(&p, 21);
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-tcp-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *path = g_build_filename(dir, "t.jsonl", NULL);
    MsJsonSink *js = ms_json_sink_new(p.net, path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    ms_trace_add_sink(ms_net_trace(p.net), ms_json_sink_record, js, NULL);
    CU_ASSERT_TRUE(ms_tcp_listen(p.tcp, p.b, PORT, &app_cb, &p.srv));
    MsTcpConnId c = ms_tcp_connect(p.tcp, p.a, ms_net_host_addr(p.net, p.b), PORT, &app_cb, &p.cli);
    ms_engine_run(p.engine, 10 * MS_TIME_MS);
    g_autofree guint8 *data = pattern(3 * MSS, 67);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, 2 * MSS);
    ms_engine_run(p.engine, 2 * MS_TIME_S);
    CU_ASSERT_EQUAL(p.srv.got->len, 3 * MSS);
    ms_json_sink_free(js);
    /* The segments with blocks, as sent. */
    GPtrArray *want = g_ptr_array_new();
    for (guint i = 0; i < p.segs->len; i++)
        if (seg(&p, i)->n_sack > 0)
            g_ptr_array_add(want, seg(&p, i));
    CU_ASSERT_EQUAL(want->len, 2);
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint got = 0, syns = 0, tcp_sends = 0;
    for (char **l = lines; *l && **l; l++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, *l, -1, NULL));
        JsonObject *o = json_node_get_object(json_parser_get_root(parser));
        if (g_strcmp0(json_object_get_string_member(o, "kind"), "packet-send") != 0 ||
            !json_object_has_member(o, "packet"))
            continue;
        JsonObject *k = json_object_get_object_member(o, "packet");
        if (g_strcmp0(json_object_get_string_member(k, "proto"), "tcp") != 0)
            continue;
        tcp_sends++;
        CU_ASSERT_EQUAL(json_object_get_int_member(k, "window"), 65535);
        gint64 flags = json_object_get_int_member(k, "flags");
        if (flags & MS_TCP_SYN) {
            syns++;
            CU_ASSERT_EQUAL(json_object_get_int_member(k, "mss"), MSS);
            CU_ASSERT_TRUE(json_object_get_boolean_member(k, "sack_permitted"));
        } else {
            CU_ASSERT_FALSE(json_object_has_member(k, "mss"));
            CU_ASSERT_FALSE(json_object_has_member(k, "sack_permitted"));
        }
        if (!json_object_has_member(k, "sack"))
            continue;
        JsonArray *blocks = json_object_get_array_member(k, "sack");
        CU_ASSERT_FATAL(got < want->len);
        const Seg *w = g_ptr_array_index(want, got);
        CU_ASSERT_EQUAL((guint32) json_object_get_int_member(k, "ack"), w->ack);
        CU_ASSERT_EQUAL_FATAL(json_array_get_length(blocks), w->n_sack);
        for (guint b = 0; b < w->n_sack; b++) {
            JsonArray *pair = json_array_get_array_element(blocks, b);
            CU_ASSERT_EQUAL(json_array_get_length(pair), 2);
            CU_ASSERT_EQUAL((guint32) json_array_get_int_element(pair, 0), w->sack[2 * b]);
            CU_ASSERT_EQUAL((guint32) json_array_get_int_element(pair, 1), w->sack[2 * b + 1]);
        }
        got++;
    }
    CU_ASSERT_EQUAL(got, 2);
    CU_ASSERT_EQUAL(syns, 2);
    CU_ASSERT_EQUAL(tcp_sends, p.segs->len);
    g_ptr_array_free(want, TRUE);
    g_unlink(path);
    g_rmdir(dir);
    pair_free(&p);
}

/* make bench-tcp's drop cases (1 MB over 10 Mbit/s, 20 ms one way): three
 * and ten segments lost in one window are resent once each and nothing
 * else is, as ns-3 does. The rescue retransmission must not take the new
 * data sent during the recovery, still on its way at the partial ACK near
 * the end of the transfer (it did: 4 and 11 resent). */
static void
test_bench_drops_resent_once(void)
{
    static const guint64 three[] = { 40, 45, 50 };
    static const guint64 ten[] = { 40, 41, 42, 43, 44, 45, 46, 47, 48, 49 };
    const struct {
        const guint64 *drops;
        guint n;
    } cases[] = { { three, G_N_ELEMENTS(three) }, { ten, G_N_ELEMENTS(ten) } };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsBenchTransferParams bp = { .bytes = 1000000,
                                     .bandwidth_bps = 10000000,
                                     .delay = 20 * MS_TIME_MS,
                                     .drops = cases[i].drops,
                                     .n_drops = cases[i].n,
                                     .mss = MSS,
                                     .sack = TRUE,
                                     .end = MS_TIME_H,
                                     .seed = 1 };
        MsBenchTransferResult r;
        ms_bench_transfer_run(&bp, &r);
        CU_ASSERT_TRUE(r.completed);
        CU_ASSERT_EQUAL(r.dropped, cases[i].n);
        CU_ASSERT_EQUAL(r.retransmitted, cases[i].n);
        ms_bench_transfer_result_clear(&r);
    }
}

/* Lesson 2 counts: data segments the network dropped, data segments TCP
 * sent again. */
typedef struct {
    guint dropped, resent;
} LossCount;

static void
count_loss(const MsTraceRecord *r, gpointer ud)
{
    LossCount *n = ud;
    if (r->kind == MS_TRACE_PACKET_DROP && r->packet && r->packet->proto == MS_IPPROTO_TCP &&
        r->packet->payload && g_bytes_get_size(r->packet->payload) > 0)
        n->dropped++;
    if (r->kind == MS_TRACE_TCP_RETRANSMIT && g_str_has_prefix(r->text, "retransmit seq"))
        n->resent++;
}

/* Lesson 2 at packet level, across its lossy line: the receivers keep
 * what arrives out of order and SACK tells the senders what is missing,
 * so data segments are sent again about as often as the network drops
 * them: at most 1.2 times as often (go-back-N resent 843 segments for 144
 * drops). */
static void
test_lesson2_retransmissions(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file("scenarios/teaching/02-packets.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_FALSE(ms_tcp_is_flow(ms_world_tcp(w)));
    LossCount n = { 0, 0 };
    ms_trace_add_sink(ms_net_trace(ms_world_net(w)), count_loss, &n, NULL);
    ms_world_run(w, ms_world_default_until(w));
    CU_ASSERT(n.dropped >= 20); /* the line does lose data */
    CU_ASSERT(n.resent >= n.dropped * 8 / 10);
    CU_ASSERT(n.resent * 10 <= n.dropped * 12);
    if (n.resent * 10 > n.dropped * 12)
        fprintf(stderr, "\nlesson 2: %u data segments dropped, %u resent\n", n.dropped, n.resent);
}

/* Lesson 10 at packet level: the modem's small buffer drops segments, and
 * the queue in front of the slow line delays the others past a timeout.
 * F-RTO sees that the timeout was spurious (the ACKs cover segments it did
 * not resend), so the data segments sent again are those dropped, and one
 * more for each of the two spurious timeouts (the laptop's, and the
 * server's, whose 65-byte reply is acknowledged only behind the laptop's
 * queued data): the segment that the timeout itself resends. Without
 * F-RTO: 18 resent for 12 drops. */
static void
test_lesson10_retransmissions(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file("scenarios/teaching/10-slow-link.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    LossCount n = { 0, 0 };
    ms_trace_add_sink(ms_net_trace(ms_world_net(w)), count_loss, &n, NULL);
    ms_world_run(w, ms_world_default_until(w));
    CU_ASSERT(n.dropped >= 5); /* the buffer does overflow */
    CU_ASSERT(n.resent >= n.dropped);
    CU_ASSERT(n.resent <= n.dropped + 2);
    if (n.resent > n.dropped + 2)
        fprintf(stderr, "\nlesson 10: %u data segments dropped, %u resent\n", n.dropped, n.resent);
}

/* `--level packets` tells each segment's flags, sequence and
 * acknowledgment numbers (relative, as Wireshark shows them), window and
 * options: here the handshake, the duplicate ACKs with their SACK blocks
 * after a loss, and the retransmission. */
static void
test_narration_packets(void)
{
    Pair p;
    pair_new(&p, 16);
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ms_trace_add_sink(ms_net_trace(p.net), ms_narrator_record,
                      ms_narrator_new(p.net, f, MS_NARRATE_PACKETS, FALSE), ms_narrator_free);
    CU_ASSERT_TRUE(ms_tcp_listen(p.tcp, p.b, PORT, &app_cb, &p.srv));
    MsTcpConnId c = ms_tcp_connect(p.tcp, p.a, ms_net_host_addr(p.net, p.b), PORT, &app_cb, &p.cli);
    ms_engine_run(p.engine, 10 * MS_TIME_MS);
    g_autofree guint8 *data = pattern(3 * MSS, 43);
    send_lost(&p, c, data, MSS);
    ms_tcp_send(p.tcp, c, data + MSS, 2 * MSS);
    ms_engine_run(p.engine, 2 * MS_TIME_S);
    CU_ASSERT_EQUAL(p.srv.got->len, 3 * MSS);
    fflush(f);
    rewind(f);
    g_autoptr(GString) text = g_string_new(NULL);
    char line[512];
    while (fgets(line, sizeof line, f))
        g_string_append(text, line);
    fclose(f);
    static const char *const want[] = {
        "packet a -> b: TCP 49152->25 [SYN] seq 0 win 65535 mss 1460 sack-permitted, 0 bytes",
        "packet b -> a: TCP 25->49152 [SYN, ACK] seq 0 ack 1 win 65535 mss 1460 sack-permitted, 0",
        "packet a -> b: TCP 49152->25 [ACK] seq 1 ack 1 win 65535, 0 bytes of data",
        "packet a -> b: TCP 49152->25 [ACK] seq 1461 ack 1 win 65535, 1460 bytes of data",
        "packet b -> a: TCP 25->49152 [ACK] seq 1 ack 1 win 65535 SACK 1461-2921, 0 bytes",
        "packet b -> a: TCP 25->49152 [ACK] seq 1 ack 1 win 65535 SACK 1461-4381, 0 bytes",
        "a retransmit seq 1 (1460 bytes)",
        "packet a -> b: TCP 49152->25 [PSH, ACK] seq 1 ack 1 win 65535, 1460 bytes of data",
        "packet b -> a: TCP 25->49152 [ACK] seq 1 ack 4381 win 65535, 0 bytes of data",
    };
    /* The client's port is drawn from the host's seeded stream (RFC 6056):
     * read it off the first SYN and put it where the lines say 49152. */
    guint port = 0;
    const char *syn = strstr(text->str, "packet a -> b: TCP ");
    CU_ASSERT_FATAL(syn && sscanf(syn, "packet a -> b: TCP %u->25", &port) == 1);
    g_autofree char *port_s = g_strdup_printf("%u", port);
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_auto(GStrv) parts = g_strsplit(want[i], "49152", -1);
        g_autofree char *line_want = g_strjoinv(port_s, parts);
        gboolean found = strstr(text->str, line_want) != NULL;
        if (!found)
            fprintf(stderr, "\nnot in the narration: %s\n%s", line_want, text->str);
        CU_ASSERT(found);
    }
    pair_free(&p);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "handshake: SYN, SYN-ACK, ACK and both connected callbacks", test_handshake },
        { "a transfer arrives whole and in order", test_transfer_whole_in_order },
        { "MSS segmentation: MSS - 1, MSS, MSS + 1, 2 MSS, 2 MSS + 1", test_mss_segmentation },
        { "a segment lost while the link is down is sent again at the RTO",
          test_loss_retransmitted },
        { "SYN retries back off 1, 2, 4, ... 32 s, then timed out at 127 s",
          test_syn_backoff_then_timeout },
        { "orderly close: a FIN each way, each acknowledged", test_orderly_close },
        { "ephemeral ports: RFC 6056 double hash, seeded", test_ephemeral_ports },
        { "ephemeral ports: a port in use is skipped", test_ephemeral_port_in_use_skipped },
        { "out-of-order data is kept and acknowledged at once", test_out_of_order_kept },
        { "a retransmission resends the segment as first cut", test_retransmit_keeps_boundaries },
        { "NewReno: a partial ACK resends the next hole at once", test_newreno_partial_ack },
        { "SACK: one loss in ten, one retransmission", test_sack_one_loss },
        { "SACK: two holes, blocks most recent first, both resent in one RTT",
          test_sack_two_holes },
        { "SACK: not used unless both SYNs offer it", test_sack_not_offered },
        { "initial window: ten segments (RFC 6928)", test_initial_window },
        { "delayed ACK: 40 ms for one segment, at once for two", test_delayed_ack },
        { "F-RTO: a spurious timeout resends one segment, then the window is back",
          test_frto_spurious_timeout },
        { "F-RTO: a genuine timeout sends two new segments, then the lost ones",
          test_frto_genuine_timeout },
        { "limited transmit: two duplicate ACKs bring new data, then a fast retransmit",
          test_limited_transmit },
        { "rescue retransmission: a lost last segment resent without an RTO",
          test_rescue_retransmission },
        { "SYN retries (127 s) end Exim's and OpenSMTPD's tries, Postfix's 30 s first",
          test_syn_retries_bound_connect_timeouts },
        { "JSON Lines trace: window, MSS, SACK-permitted and SACK blocks", test_json_trace_sack },
        { "bench-tcp's 3 and 10 drops in one window: each resent once, nothing else",
          test_bench_drops_resent_once },
        { "lesson 2: data resent at most 1.2 times as often as dropped",
          test_lesson2_retransmissions },
        { "lesson 10: data resent only where dropped, but for a spurious timeout's one",
          test_lesson10_retransmissions },
        { "--level packets: flags, seq, ack, window, SACK blocks", test_narration_packets },
        { NULL, NULL },
    };
    return ms_test_main("tcp", cases);
}
