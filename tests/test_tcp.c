/* Tests of TCP-lite at packet level (sim/net/tcp.c) alone: two hosts and one
 * link, every segment observed through the network's trace. The link is
 * 1 ms long at 8 Mbit/s (one byte per microsecond), MTU 1500, so the times
 * below are exact: a bare segment (40 bytes) takes 40 us to serialise, a
 * SYN with its MSS option 44 us, a segment carrying n bytes 40 + n us; every
 * one then 1 ms to propagate. Covered: the three-way handshake and both
 * connected callbacks, a transfer arriving whole and in order, MSS
 * segmentation at MSS and MSS + 1 bytes, a segment lost while the link is
 * down and sent again at the RTO, SYN retries backing off 1, 2, 4, 8, 16,
 * 32 s before "timed out", and an orderly close with a FIN each way. */
#include "testlib.h"
#include "mailsim/net.h"
#include "mailsim/tcp.h"
#include "mailsim/tcp_wire.h"

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
        Seg s = { r->at,  r->host, k->flags,
                  k->seq, k->ack,  k->payload ? (guint32) g_bytes_get_size(k->payload) : 0,
                  k->mss };
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
 * at 3.128 ms). Returns the client's connection. */
static MsTcpConnId
open_pair(Pair *p, guint64 seed)
{
    pair_new(p, seed);
    CU_ASSERT_TRUE(ms_tcp_listen(p->tcp, p->b, PORT, &app_cb, &p->srv));
    MsTcpConnId c =
        ms_tcp_connect(p->tcp, p->a, ms_net_host_addr(p->net, p->b), PORT, &app_cb, &p->cli);
    ms_engine_run(p->engine, 10 * MS_TIME_MS);
    return c;
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
    CU_ASSERT_EQUAL(syn->at, 0);
    CU_ASSERT_EQUAL(synack->host, p.b);
    CU_ASSERT_EQUAL(synack->flags, MS_TCP_SYN | MS_TCP_ACK);
    CU_ASSERT_EQUAL(synack->ack, syn->seq + 1);
    CU_ASSERT_EQUAL(synack->mss, MSS);
    CU_ASSERT_EQUAL(synack->at, 1044 * US); /* 44 us + 1 ms */
    CU_ASSERT_EQUAL(ack->host, p.a);
    CU_ASSERT_EQUAL(ack->flags, MS_TCP_ACK);
    CU_ASSERT_EQUAL(ack->seq, syn->seq + 1);
    CU_ASSERT_EQUAL(ack->ack, synack->seq + 1);
    CU_ASSERT_EQUAL(ack->mss, 0);
    CU_ASSERT_EQUAL(ack->at, 2088 * US);
    /* The client learns at the SYN-ACK, the server at the ACK. */
    CU_ASSERT_TRUE(p.cli.connected);
    CU_ASSERT_EQUAL(p.cli.connected_at, 2088 * US);
    CU_ASSERT_TRUE(p.srv.connected);
    CU_ASSERT_EQUAL(p.srv.connected_at, 3128 * US); /* + 40 us + 1 ms */
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
 * segments but the last: the first send fills the initial window of 4,380
 * bytes (RFC 3390: three segments), each ACK opens it by one segment, and it
 * stays below the peer's 65,535 all along (4,380 + 34 x 1,460). */
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

/* Nobody answers (b is down): the SYN goes at 0 and again after 1, 2, 4, 8
 * and 16 s (RFC 6298 5.5: the RTO doubles), and the connection fails
 * "timed out" 32 s after the last, at 63 s. */
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

static void
test_syn_backoff_then_timeout(void)
{
    Pair p;
    pair_new(&p, 5);
    ms_net_set_host_up(p.net, p.b, FALSE);
    ms_tcp_connect(p.tcp, p.a, ms_net_host_addr(p.net, p.b), PORT, &app_cb, &p.cli);
    ms_engine_run(p.engine, 63 * MS_TIME_S - 1);
    CU_ASSERT_FALSE(p.cli.closed);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    static const MsTime syn_at[] = { 0, 1, 3, 7, 15, 31 };
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
        CU_ASSERT_EQUAL(drops[i]->at, syn_at[i] * MS_TIME_S + 1044 * US);
    }
    CU_ASSERT_TRUE(p.cli.closed);
    CU_ASSERT_FALSE(p.cli.connected);
    CU_ASSERT_EQUAL(p.cli.reason, MS_TCP_CLOSE_TIMEOUT);
    CU_ASSERT_EQUAL(p.cli.closed_at, 63 * MS_TIME_S);
    const Note *closes[2];
    CU_ASSERT_EQUAL_FATAL(notes_of(&p, MS_TRACE_TCP_CLOSE, closes, 2), 1);
    g_autofree char *text = port_as_p(closes[0]->text);
    CU_ASSERT_STRING_EQUAL(text, "a:P -> 25: timed out");
    MsTcpStats st;
    ms_tcp_get_stats(p.tcp, &st);
    CU_ASSERT_EQUAL(st.connections, 1);
    CU_ASSERT_EQUAL(st.established, 0);
    CU_ASSERT_EQUAL(st.timeouts, 1);
    CU_ASSERT_EQUAL(st.retransmits, 5);
    CU_ASSERT_EQUAL(st.segments, 6);
    pair_free(&p);
}

/* The client sends 1,000 bytes and closes; the server is told "closed" at
 * the FIN and, without half-close, answers with its own FIN; each FIN is
 * acknowledged. */
static void
test_orderly_close(void)
{
    Pair p;
    MsTcpConnId c = open_pair(&p, 6);
    g_autofree guint8 *data = pattern(1000, 13);
    ms_tcp_send(p.tcp, c, data, 1000);
    ms_tcp_close(p.tcp, c);
    ms_engine_run(p.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(p.segs->len, 3 + 6);
    Seg *syn = seg(&p, 0), *synack = seg(&p, 1);
    guint32 a0 = syn->seq + 1, b0 = synack->seq + 1; /* first data octet of each side */
    static const struct {
        gboolean from_a;
        guint8 flags;
        guint32 seq_off, ack_off, len; /* offsets from a0 / b0 */
    } want[] = {
        { TRUE, MS_TCP_ACK | MS_TCP_PSH, 0, 0, 1000 },
        { TRUE, MS_TCP_FIN | MS_TCP_ACK, 1000, 0, 0 },
        { FALSE, MS_TCP_ACK, 0, 1000, 0 }, /* the data */
        { FALSE, MS_TCP_ACK, 0, 1001, 0 }, /* a's FIN */
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

int
main(void)
{
    static const MsTestCase cases[] = {
        { "handshake: SYN, SYN-ACK, ACK and both connected callbacks", test_handshake },
        { "a transfer arrives whole and in order", test_transfer_whole_in_order },
        { "MSS segmentation: MSS - 1, MSS, MSS + 1, 2 MSS, 2 MSS + 1", test_mss_segmentation },
        { "a segment lost while the link is down is sent again at the RTO",
          test_loss_retransmitted },
        { "SYN retries back off 1, 2, 4, 8, 16 s, then timed out", test_syn_backoff_then_timeout },
        { "orderly close: a FIN each way, each acknowledged", test_orderly_close },
        { "ephemeral ports: RFC 6056 double hash, seeded", test_ephemeral_ports },
        { "ephemeral ports: a port in use is skipped", test_ephemeral_port_in_use_skipped },
        { NULL, NULL },
    };
    return ms_test_main("tcp", cases);
}
