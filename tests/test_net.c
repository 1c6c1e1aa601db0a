/* Tests of the network layer and TCP-lite: delay arithmetic, drop-tail
 * queues, seeded loss, routing (around a downed link, TTL on a loop made on
 * purpose), link state made on first use, segmentation by MTU, a 5 MB stream over a lossy 5-hop path,
 * connection refused, timeouts and unreachable destinations. */
#include "testlib.h"
#include "mailsim/net.h"
#include "mailsim/tcp.h"

#include <string.h>

typedef struct {
    MsEngine *engine;
    MsNet *net;
    MsTcp *tcp;
    MsHostId h[8];
    guint32 l[8];
} World;

static const MsLinkParams base_link = { MS_TIME_MS, 8000000, 1500, 0.0, 65536 };

static guint32
addr_of(int i)
{
    return 0x0A000001u + (guint32) i;
}

/* A chain of n hosts h0 - h1 - ... - h(n-1); link i joins h(i) and h(i+1). */
static void
chain(World *w, int n, const MsLinkParams *lp, guint64 seed)
{
    w->engine = ms_engine_new(seed);
    w->net = ms_net_new(w->engine);
    w->tcp = ms_tcp_new(w->net);
    for (int i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("h%d", i);
        w->h[i] = ms_net_add_host(w->net, name, addr_of(i),
                                  i == 0 || i == n - 1 ? MS_ROLE_CLIENT : MS_ROLE_ROUTER, NULL);
    }
    for (int i = 0; i + 1 < n; i++)
        w->l[i] = ms_net_add_link(w->net, w->h[i], w->h[i + 1], lp, NULL);
}

static void
world_free(World *w)
{
    ms_tcp_free(w->tcp);
    ms_net_free(w->net);
    ms_engine_free(w->engine);
}

typedef struct {
    GArray *times;
    GArray *ids;
} UdpLog;

static void
on_udp(MsNet *net, MsHostId host, guint16 port, guint32 src, guint16 sport, GBytes *payload,
       gpointer ud)
{
    UdpLog *log = ud;
    MsTime now = ms_engine_now(ms_net_engine(net));
    g_array_append_val(log->times, now);
    gsize n;
    const guint8 *d = g_bytes_get_data(payload, &n);
    guint32 id = n >= 4 ? (guint32) d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3] : 0;
    g_array_append_val(log->ids, id);
    (void) host;
    (void) port;
    (void) src;
    (void) sport;
}

static GBytes *
payload_with_id(guint32 id, gsize size)
{
    guint8 *d = g_malloc0(size);
    d[0] = id >> 24;
    d[1] = id >> 16;
    d[2] = id >> 8;
    d[3] = id;
    return g_bytes_new_take(d, size);
}

static void
test_delay_arithmetic(void)
{
    World w;
    MsLinkParams lp = base_link;
    chain(&w, 4, &lp, 1);
    /* latencies 1, 2, 3 ms; 8 Mbps = 1 us per byte */
    MsLinkParams *p1 = (MsLinkParams *) ms_net_link_params(w.net, w.l[1]);
    MsLinkParams *p2 = (MsLinkParams *) ms_net_link_params(w.net, w.l[2]);
    p1->latency = 2 * MS_TIME_MS;
    p2->latency = 3 * MS_TIME_MS;
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    ms_udp_bind(w.net, w.h[3], 9, on_udp, &log);
    g_autoptr(GBytes) b = payload_with_id(1, 100);
    ms_udp_send(w.net, w.h[0], 1000, addr_of(3), 9, b);
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(log.times->len, 1);
    /* 128 wire bytes (20 IP + 8 UDP + 100) take 128 us on each of 3 links. */
    CU_ASSERT_EQUAL(g_array_index(log.times, MsTime, 0), 6 * MS_TIME_MS + 3 * 128 * MS_TIME_US);
    GArray *path = ms_net_route_path(w.net, w.h[0], w.h[3]);
    CU_ASSERT_EQUAL(path->len, 4);
    g_array_free(path, TRUE);
    g_array_free(log.times, TRUE);
    g_array_free(log.ids, TRUE);
    world_free(&w);
}

static void
test_queue_overflow(void)
{
    World w;
    MsLinkParams lp = base_link;
    lp.bandwidth_bps = 1000000;
    lp.queue_bytes = 3000;
    chain(&w, 2, &lp, 1);
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    ms_udp_bind(w.net, w.h[1], 9, on_udp, &log);
    for (guint i = 0; i < 10; i++) {
        g_autoptr(GBytes) b = payload_with_id(i, 1000);
        ms_udp_send(w.net, w.h[0], 1000, addr_of(1), 9, b);
    }
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    MsLinkStats st;
    ms_net_link_stats(w.net, w.l[0], &st);
    /* One on the wire, one waiting (2056 bytes); a third would make 3084 > 3000. */
    CU_ASSERT_EQUAL(log.times->len, 2);
    CU_ASSERT_EQUAL(st.drops_queue, 8);
    g_array_free(log.times, TRUE);
    g_array_free(log.ids, TRUE);
    world_free(&w);
}

/* Peak utilisation: the busiest one-second window of a direction. Ten
 * 1000-byte datagrams at once on 1 Mbit/s keep the link busy for ten
 * serialisation times in the first window; the flow model's overlapping
 * transfers add up, to 100 % at most; intervals count in the windows they
 * cover whatever the order they come in. */
static void
test_peak_utilisation(void)
{
    World w;
    MsLinkParams lp = base_link;
    lp.bandwidth_bps = 1000000;
    lp.queue_bytes = 1 << 20;
    chain(&w, 2, &lp, 1);
    for (guint i = 0; i < 10; i++) {
        g_autoptr(GBytes) b = payload_with_id(i, 1000);
        ms_udp_send(w.net, w.h[0], 1000, addr_of(1), 9, b);
    }
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    MsLinkStats st;
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[0], st.busy[0]); /* all in the first window */
    CU_ASSERT(st.busy[0] > 80 * MS_TIME_MS && st.busy[0] < 90 * MS_TIME_MS);
    CU_ASSERT_EQUAL(st.peak_busy[1], 0);
    /* Flow-level accounting: 0.7 s from t = 0, then 0.5 s from t = 0.1 s
     * (overlapping: 1.2 s in the first window, full), then 0.3 s at t = 5 s. */
    MsTime ms = MS_TIME_MS;
    ms_net_link_account(w.net, w.l[0], w.h[1], 0, 1, 100, 700 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 100 * ms, 1, 100, 500 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 5000 * ms, 1, 100, 300 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[1], MS_NET_PEAK_WINDOW);
    CU_ASSERT_EQUAL(st.busy[1], 1500 * ms);
    /* An interval longer than a window fills every window it covers. */
    ms_net_link_account(w.net, w.l[0], w.h[0], 10500 * ms, 1, 100, 2500 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[0], MS_NET_PEAK_WINDOW);
    world_free(&w);

    /* Overlapping transfers in one window add up (0.3 s from 0.5 s and 0.3 s
     * from 0.6 s: 0.6 s, not 0.5 s as if the second waited for the first
     * and spilled into the next window). */
    chain(&w, 2, &lp, 1);
    ms_net_link_account(w.net, w.l[0], w.h[0], 500 * ms, 1, 100, 300 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[0], 600 * ms, 1, 100, 300 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[0], 600 * ms);
    /* Out of order (an express datagram's later hops count ahead of the
     * clock): window 2 first, then window 1 (before the earliest open one),
     * window 4, window 3 (between open ones), and window 2 again: each total
     * is its own, 0.25 s the largest. An interval crossing a window's end
     * splits: 0.05 s in window 3, 0.05 s in window 4. */
    ms_net_link_account(w.net, w.l[0], w.h[1], 2500 * ms, 1, 100, 100 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 1200 * ms, 1, 100, 200 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 4100 * ms, 1, 100, 120 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 3950 * ms, 1, 100, 100 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 2600 * ms, 1, 100, 150 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[1], 250 * ms);
    ms_net_link_account(w.net, w.l[0], w.h[1], 3000 * ms, 1, 100, 210 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[1], 260 * ms); /* window 3: 0.05 + 0.21 */
    ms_net_link_account(w.net, w.l[0], w.h[1], 4500 * ms, 1, 100, 100 * ms);
    ms_net_link_stats(w.net, w.l[0], &st);
    CU_ASSERT_EQUAL(st.peak_busy[1], 270 * ms); /* window 4: 0.05 + 0.12 + 0.1 */
    world_free(&w);
}

static GArray *
lossy_run(guint64 seed)
{
    World w;
    MsLinkParams lp = base_link;
    lp.loss = 0.3;
    chain(&w, 3, &lp, seed);
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    ms_udp_bind(w.net, w.h[2], 9, on_udp, &log);
    for (guint i = 0; i < 200; i++) {
        g_autoptr(GBytes) b = payload_with_id(i, 50);
        ms_udp_send(w.net, w.h[0], 1000, addr_of(2), 9, b);
    }
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    g_array_free(log.times, TRUE);
    world_free(&w);
    return log.ids;
}

static void
test_seeded_loss(void)
{
    GArray *a = lossy_run(5), *b = lossy_run(5), *c = lossy_run(6);
    CU_ASSERT_EQUAL(a->len, b->len);
    CU_ASSERT(memcmp(a->data, b->data, a->len * sizeof(guint32)) == 0);
    /* two links at 30 % loss: about 49 % arrive */
    CU_ASSERT(a->len > 70 && a->len < 130);
    CU_ASSERT(a->len != c->len || memcmp(a->data, c->data, a->len * sizeof(guint32)) != 0);
    g_array_free(a, TRUE);
    g_array_free(b, TRUE);
    g_array_free(c, TRUE);
}

/* A square: h0-h1-h3 fast, h0-h2-h3 slow. */
static void
test_route_around_down_link(void)
{
    World w = { 0 };
    w.engine = ms_engine_new(1);
    w.net = ms_net_new(w.engine);
    w.tcp = ms_tcp_new(w.net);
    for (int i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("r%d", i);
        w.h[i] = ms_net_add_host(w.net, name, addr_of(i), MS_ROLE_ROUTER, NULL);
    }
    MsLinkParams fast = base_link, slow = base_link;
    slow.latency = 10 * MS_TIME_MS;
    guint32 l01 = ms_net_add_link(w.net, w.h[0], w.h[1], &fast, NULL);
    guint32 l13 = ms_net_add_link(w.net, w.h[1], w.h[3], &fast, NULL);
    ms_net_add_link(w.net, w.h[0], w.h[2], &slow, NULL);
    ms_net_add_link(w.net, w.h[2], w.h[3], &slow, NULL);
    (void) l01;
    GArray *p = ms_net_route_path(w.net, w.h[0], w.h[3]);
    CU_ASSERT_EQUAL(g_array_index(p, MsHostId, 1), w.h[1]);
    g_array_free(p, TRUE);
    ms_net_set_link_up(w.net, l13, FALSE);
    p = ms_net_route_path(w.net, w.h[0], w.h[3]);
    CU_ASSERT_EQUAL_FATAL(p->len, 3);
    CU_ASSERT_EQUAL(g_array_index(p, MsHostId, 1), w.h[2]);
    g_array_free(p, TRUE);
    /* Delivery still works, via the slow side. */
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    ms_udp_bind(w.net, w.h[3], 9, on_udp, &log);
    g_autoptr(GBytes) b = payload_with_id(1, 10);
    ms_udp_send(w.net, w.h[0], 1000, addr_of(3), 9, b);
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(log.times->len, 1);
    CU_ASSERT(g_array_index(log.times, MsTime, 0) > 20 * MS_TIME_MS);
    /* Route back when the link returns; the router going down reroutes too. */
    ms_net_set_link_up(w.net, l13, TRUE);
    ms_net_set_host_up(w.net, w.h[1], FALSE);
    p = ms_net_route_path(w.net, w.h[0], w.h[3]);
    CU_ASSERT_EQUAL(g_array_index(p, MsHostId, 1), w.h[2]);
    g_array_free(p, TRUE);
    g_array_free(log.times, TRUE);
    g_array_free(log.ids, TRUE);
    world_free(&w);
}

static void
test_packets_in_flight_lost_when_link_goes_down(void)
{
    World w;
    MsLinkParams lp = base_link;
    lp.latency = 50 * MS_TIME_MS;
    chain(&w, 2, &lp, 1);
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    ms_udp_bind(w.net, w.h[1], 9, on_udp, &log);
    g_autoptr(GBytes) b = payload_with_id(1, 10);
    ms_udp_send(w.net, w.h[0], 1000, addr_of(1), 9, b);
    ms_engine_run(w.engine, 10 * MS_TIME_MS);
    ms_net_set_link_up(w.net, w.l[0], FALSE);
    ms_net_set_link_up(w.net, w.l[0], TRUE);
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(log.times->len, 0);
    MsNetStats st;
    ms_net_get_stats(w.net, &st);
    CU_ASSERT_EQUAL(st.drops[MS_DROP_LINK_DOWN], 1);
    g_array_free(log.times, TRUE);
    g_array_free(log.ids, TRUE);
    world_free(&w);
}

/* A link's queue ends and counters are made on its first use (net.c,
 * link_state()), in blocks of 256: a star of 300 leaves crosses a block
 * boundary. A link never used reads as zeros; one that went down and up
 * before any use sends at once; no two links share counters. */
static void
test_link_state_on_first_use(void)
{
    enum { LEAVES = 300 };
    MsEngine *e = ms_engine_new(1);
    MsNet *net = ms_net_new(e);
    MsHostId hub = ms_net_add_host(net, "hub", addr_of(0), MS_ROLE_ROUTER, NULL);
    guint32 links[LEAVES + 1];
    for (int i = 1; i <= LEAVES; i++) {
        g_autofree char *name = g_strdup_printf("leaf%d", i);
        MsHostId h = ms_net_add_host(net, name, addr_of(i), MS_ROLE_CLIENT, NULL);
        links[i] = ms_net_add_link(net, hub, h, &base_link, NULL);
    }
    ms_net_set_link_up(net, links[2], FALSE); /* before it was ever used */
    ms_net_set_link_up(net, links[2], TRUE);
    UdpLog log = { g_array_new(FALSE, FALSE, sizeof(MsTime)),
                   g_array_new(FALSE, FALSE, sizeof(guint32)) };
    for (int j = 2; j < LEAVES; j++) { /* leaf 300 hears nothing */
        ms_udp_bind(net, (MsHostId) j, 9, on_udp, &log);
        g_autoptr(GBytes) b = payload_with_id((guint32) j, 10);
        ms_udp_send(net, 1, 1000, addr_of(j), 9, b);
    }
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(log.times->len, LEAVES - 2);
    /* 38 wire bytes, 38 us per link at 8 Mbit/s: the first datagram
     * waits for nobody, on either link. */
    CU_ASSERT_EQUAL(g_array_index(log.times, MsTime, 0), 2 * (MS_TIME_MS + 38 * MS_TIME_US));
    MsLinkStats st, zero;
    memset(&zero, 0, sizeof zero);
    ms_net_link_stats(net, links[1], &st);
    CU_ASSERT_EQUAL(st.packets[1], LEAVES - 2); /* leaf 1 -> hub */
    CU_ASSERT_EQUAL(st.packets[0], 0);
    for (int j = 2; j < LEAVES; j++) {
        ms_net_link_stats(net, links[j], &st);
        CU_ASSERT_EQUAL(st.packets[0], 1);
        CU_ASSERT_EQUAL(st.packets[1], 0);
        CU_ASSERT_EQUAL(st.bytes[0], 38);
    }
    ms_net_link_stats(net, links[LEAVES], &st);
    CU_ASSERT_EQUAL(memcmp(&st, &zero, sizeof st), 0);
    g_array_free(log.times, TRUE);
    g_array_free(log.ids, TRUE);
    ms_net_free(net);
    ms_engine_free(e);
}

static void
test_ttl_on_routing_loop(void)
{
    World w;
    MsLinkParams lp = base_link;
    chain(&w, 4, &lp, 1);
    /* h1 sends traffic for h3 back to h0, and h0 sends it to h1: a loop. */
    ms_net_pin_route(w.net, w.h[1], w.h[3], w.l[0]);
    g_autoptr(GBytes) b = payload_with_id(1, 10);
    ms_udp_send(w.net, w.h[0], 1000, addr_of(3), 9, b);
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    MsNetStats st;
    ms_net_get_stats(w.net, &st);
    CU_ASSERT_EQUAL(st.drops[MS_DROP_TTL], 1);
    CU_ASSERT_EQUAL(st.delivered, 0);
    CU_ASSERT_EQUAL(st.forwarded, MS_DEFAULT_TTL - 1);
    world_free(&w);
}

/* --- TCP ------------------------------------------------------------- */

typedef struct {
    GByteArray *got;
    gboolean connected, closed;
    MsTcpCloseReason reason;
    MsTcpConnId conn;
} Side;

static void
srv_connected(MsTcp *tcp, MsTcpConnId c, gpointer ud)
{
    Side *s = ud;
    s->connected = TRUE;
    s->conn = c;
    (void) tcp;
}

static void
side_data(MsTcp *tcp, MsTcpConnId c, const guint8 *d, gsize n, gpointer ud)
{
    Side *s = ud;
    g_byte_array_append(s->got, d, (guint) n);
    (void) tcp;
    (void) c;
}

static void
side_closed(MsTcp *tcp, MsTcpConnId c, MsTcpCloseReason r, gpointer ud)
{
    Side *s = ud;
    s->closed = TRUE;
    s->reason = r;
    (void) tcp;
    (void) c;
}

static const MsTcpCallbacks side_cb = { srv_connected, side_data, side_closed };

typedef struct {
    guint data_segments;
    guint retransmits;
} SegCount;

static void
count_sink(const MsTraceRecord *r, gpointer ud)
{
    SegCount *sc = ud;
    if (r->kind == MS_TRACE_PACKET_SEND && r->packet->proto == MS_IPPROTO_TCP &&
        r->host == r->packet->src && r->packet->payload && g_bytes_get_size(r->packet->payload) > 0)
        sc->data_segments++;
    if (r->kind == MS_TRACE_TCP_RETRANSMIT)
        sc->retransmits++;
}

static void
stream_over(World *w, int n, gsize size, SegCount *sc, gboolean *byte_exact)
{
    ms_trace_add_sink(ms_net_trace(w->net), count_sink, sc, NULL);
    Side srv = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    Side cli = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    ms_tcp_listen(w->tcp, w->h[n - 1], 25, &side_cb, &srv);
    MsTcpConnId c = ms_tcp_connect(w->tcp, w->h[0], addr_of(n - 1), 25, &side_cb, &cli);
    guint8 *data = g_malloc(size);
    MsRng r;
    ms_rng_init(&r, 1, 1);
    for (gsize i = 0; i < size; i++)
        data[i] = (guint8) ms_rng_next(&r);
    ms_tcp_send(w->tcp, c, data, size);
    ms_tcp_close(w->tcp, c);
    ms_engine_run(w->engine, MS_TIME_INFINITE);
    *byte_exact = srv.got->len == size && memcmp(srv.got->data, data, size) == 0;
    CU_ASSERT_TRUE(srv.connected);
    CU_ASSERT_TRUE(srv.closed);
    CU_ASSERT_EQUAL(srv.reason, MS_TCP_CLOSE_NORMAL);
    g_free(data);
    g_byte_array_unref(srv.got);
    g_byte_array_unref(cli.got);
}

static void
test_segmentation_by_mtu(void)
{
    World w;
    MsLinkParams lp = base_link;
    lp.mtu = 576;
    chain(&w, 3, &lp, 1);
    SegCount sc = { 0, 0 };
    gboolean exact = FALSE;
    stream_over(&w, 3, 10000, &sc, &exact);
    CU_ASSERT_TRUE(exact);
    /* MSS = 576 - 40 = 536: ceil(10000 / 536) = 19 segments, none resent. */
    CU_ASSERT_EQUAL(sc.data_segments, 19);
    CU_ASSERT_EQUAL(sc.retransmits, 0);
    world_free(&w);
}

static void
test_5mb_over_lossy_5_hops(void)
{
    World w;
    MsLinkParams lp = base_link;
    lp.bandwidth_bps = 100000000;
    lp.loss = 0.01;
    lp.latency = 2 * MS_TIME_MS;
    chain(&w, 6, &lp, 3);
    SegCount sc = { 0, 0 };
    gboolean exact = FALSE;
    stream_over(&w, 6, 5 * 1000 * 1000, &sc, &exact);
    CU_ASSERT_TRUE(exact);
    CU_ASSERT(sc.retransmits > 0);
    MsTcpStats st;
    ms_tcp_get_stats(w.tcp, &st);
    CU_ASSERT_EQUAL(st.retransmits, sc.retransmits);
    world_free(&w);
}

static void
test_refused_timeout_unreachable(void)
{
    World w;
    MsLinkParams lp = base_link;
    chain(&w, 3, &lp, 1);
    MsHostId lonely = ms_net_add_host(w.net, "lonely", addr_of(7), MS_ROLE_CLIENT, NULL);
    (void) lonely;
    Side a = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    Side b = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    Side c = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    ms_tcp_connect(w.tcp, w.h[0], addr_of(2), 25, &side_cb, &a); /* nobody listens */
    ms_tcp_connect(w.tcp, w.h[0], addr_of(7), 25, &side_cb, &c); /* no route */
    ms_engine_run(w.engine, MS_TIME_S);
    CU_ASSERT_TRUE(a.closed);
    CU_ASSERT_EQUAL(a.reason, MS_TCP_CLOSE_REFUSED);
    CU_ASSERT_TRUE(c.closed);
    CU_ASSERT_EQUAL(c.reason, MS_TCP_CLOSE_UNREACHABLE);
    /* A down host answers nothing: SYN retries give up after 1+2+4+...+64 s. */
    ms_net_set_host_up(w.net, w.h[2], FALSE);
    MsTime t0 = ms_engine_now(w.engine);
    ms_tcp_connect(w.tcp, w.h[0], addr_of(2), 25, &side_cb, &b);
    ms_engine_run(w.engine, t0 + 126 * MS_TIME_S);
    CU_ASSERT_FALSE(b.closed);
    ms_engine_run(w.engine, t0 + 128 * MS_TIME_S);
    CU_ASSERT_TRUE(b.closed);
    CU_ASSERT_EQUAL(b.reason, MS_TCP_CLOSE_TIMEOUT);
    g_byte_array_unref(a.got);
    g_byte_array_unref(b.got);
    g_byte_array_unref(c.got);
    world_free(&w);
}

static void
test_bad_links_refused(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) n = ms_net_new(e);
    MsHostId a = ms_net_add_host(n, "a", addr_of(0), MS_ROLE_CLIENT, NULL);
    MsHostId b = ms_net_add_host(n, "b", addr_of(1), MS_ROLE_CLIENT, NULL);
    GError *error = NULL;
    CU_ASSERT_EQUAL(ms_net_add_host(n, "a", addr_of(5), MS_ROLE_CLIENT, &error), G_MAXUINT32);
    g_clear_error(&error);
    CU_ASSERT_EQUAL(ms_net_add_host(n, "c", addr_of(1), MS_ROLE_CLIENT, &error), G_MAXUINT32);
    g_clear_error(&error);
    MsLinkParams bad[4];
    for (int i = 0; i < 4; i++)
        bad[i] = base_link;
    bad[0].bandwidth_bps = 0;
    bad[1].mtu = 67;
    bad[2].loss = 1.5;
    bad[3].loss = -0.1;
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(ms_net_add_link(n, a, b, &bad[i], &error), G_MAXUINT32);
        CU_ASSERT(error && strstr(error->message, "'a'~'b'"));
        g_clear_error(&error);
    }
    MsLinkParams ok = base_link;
    ok.mtu = 68;
    CU_ASSERT_NOT_EQUAL(ms_net_add_link(n, a, b, &ok, NULL), G_MAXUINT32);
    CU_ASSERT_EQUAL(ms_net_add_link(n, a, a, &ok, &error), G_MAXUINT32);
    g_clear_error(&error);
    CU_ASSERT_EQUAL(ms_net_add_link(n, a, 99, &ok, &error), G_MAXUINT32);
    g_clear_error(&error);
    guint32 v;
    CU_ASSERT_TRUE(ms_ipv4_parse("192.0.2.10", &v));
    CU_ASSERT_EQUAL(v, 0xC000020A);
    CU_ASSERT_FALSE(ms_ipv4_parse("256.0.0.1", &v));
    CU_ASSERT_FALSE(ms_ipv4_parse("1.2.3", &v));
    CU_ASSERT_FALSE(ms_ipv4_parse("1.2.3.4.5", &v));
    static const guint32 addrs[] = { 0, 0xC000020A, 0x0A00FF09, 0xFFFFFFFF, 0x64636209 };
    for (gsize i = 0; i < G_N_ELEMENTS(addrs); i++) {
        char buf[MS_IPV4_STRLEN];
        guint32 x = addrs[i];
        g_autofree char *want =
            g_strdup_printf("%u.%u.%u.%u", x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255);
        CU_ASSERT_STRING_EQUAL(ms_ipv4_format(x, buf), want);
        g_autofree char *copy = ms_ipv4_to_string(x);
        CU_ASSERT_STRING_EQUAL(copy, want);
        CU_ASSERT_TRUE(ms_ipv4_parse(buf, &v) && v == x);
    }
}

/* The one dotted-quad reader, both sides of each boundary: a part of 255
 * and of 256, three digits and four, a single 0 and a leading zero, four
 * parts against three and five, trailing or leading text, empty parts. */
static void
test_ipv4_parse_boundaries(void)
{
    static const struct {
        const char *text;
        gboolean ok;
        guint32 want;
    } cases[] = {
        { "192.0.2.10", TRUE, 0xC000020A },
        { "255.255.255.255", TRUE, 0xFFFFFFFF },
        { "256.255.255.255", FALSE, 0 },
        { "255.255.255.256", FALSE, 0 },
        { "0.0.0.0", TRUE, 0 },
        { "1.2.3.4", TRUE, 0x01020304 },
        { "1.2.3", FALSE, 0 },
        { "1.2.3.4.5", FALSE, 0 },
        { "1.2.3.4.", FALSE, 0 },
        { "1.2.3.", FALSE, 0 },
        { "10.0.0.1", TRUE, 0x0A000001 },
        { "10.0.0.01", FALSE, 0 }, /* leading zero: refused, as the scenario loader did */
        { "010.0.0.1", FALSE, 0 },
        { "10.0.0.00", FALSE, 0 },
        { "10.0.0.100", TRUE, 0x0A000064 },
        { "10.0.0.1000", FALSE, 0 }, /* four digits */
        { "10.0.0.0001", FALSE, 0 },
        { "10.0.0.1 ", FALSE, 0 }, /* trailing junk */
        { "10.0.0.1x", FALSE, 0 },
        { " 10.0.0.1", FALSE, 0 },
        { "+10.0.0.1", FALSE, 0 },
        { "10.0.-0.1", FALSE, 0 },
        { "10..0.1", FALSE, 0 },
        { ".10.0.0", FALSE, 0 },
        { "", FALSE, 0 },
        { "....", FALSE, 0 },
        { "0x0A.0.0.1", FALSE, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint32 v = 0xDEADBEEF;
        gboolean ok = ms_ipv4_parse(cases[i].text, &v);
        if (ok != cases[i].ok)
            g_printerr("ipv4 '%s': %s, expected %s\n", cases[i].text, ok ? "accepted" : "refused",
                       cases[i].ok ? "accepted" : "refused");
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        /* Refused: *out untouched. */
        CU_ASSERT_EQUAL(v, cases[i].ok ? cases[i].want : 0xDEADBEEF);
    }
}

/* Programmer errors at the getters: while a check runs, criticals are
 * counted instead of being fatal (tests/testlib.c makes them fatal for the
 * whole run), and the previous state comes back after. */
typedef struct {
    guint criticals;
    GLogLevelFlags fatal;
    guint handler;
} Criticals;

static void
count_critical(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer ud)
{
    Criticals *c = ud;
    c->criticals++;
    (void) domain;
    (void) level;
    (void) message;
}

static void
criticals_begin(Criticals *c)
{
    c->criticals = 0;
    c->fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    c->handler = g_log_set_handler(NULL, G_LOG_LEVEL_CRITICAL, count_critical, c);
}

static guint
criticals_end(Criticals *c)
{
    g_log_remove_handler(NULL, c->handler);
    g_log_set_always_fatal(c->fatal);
    return c->criticals;
}

/* Each bad call gives the value net.h documents and exactly one critical;
 * the last good id (the boundary) still answers. */
static void
test_getters_refuse_bad_ids(void)
{
    World w;
    chain(&w, 2, &base_link, 1);
    MsNet *n = w.net;
    const MsHostId bad_host = 2; /* hosts 0 and 1 exist */
    const guint32 bad_link = 1;  /* link 0 exists */
    CU_ASSERT_STRING_EQUAL(ms_net_host_name(n, 1), "h1");
    CU_ASSERT_TRUE(ms_net_link_is_up(n, 0));
    Criticals c;
    criticals_begin(&c);
    CU_ASSERT_PTR_NULL(ms_net_host_name(n, bad_host));
    CU_ASSERT_PTR_NULL(ms_net_host_name(NULL, 0));
    CU_ASSERT_EQUAL(ms_net_host_addr(n, bad_host), 0);
    CU_ASSERT_EQUAL(ms_net_host_addr(n, G_MAXUINT32), 0);
    CU_ASSERT_EQUAL(ms_net_host_role(n, bad_host), MS_ROLE_COUNT);
    CU_ASSERT_FALSE(ms_net_link_is_up(n, bad_link));
    CU_ASSERT_PTR_NULL(ms_net_link_params(n, bad_link));
    MsHostId a = 0, b = 0;
    ms_net_link_ends(n, bad_link, &a, &b);
    CU_ASSERT_EQUAL(a, G_MAXUINT32);
    CU_ASSERT_EQUAL(b, G_MAXUINT32);
    MsLinkStats ls;
    memset(&ls, 0xAB, sizeof ls);
    ms_net_link_stats(n, bad_link, &ls);
    CU_ASSERT_EQUAL(ls.packets[0] + ls.packets[1] + ls.bytes[0] + ls.drops_queue + ls.drops_loss +
                        ls.drops_down,
                    0);
    CU_ASSERT_EQUAL(ls.busy[0] + ls.busy[1], 0);
    MsNetStats ns;
    memset(&ns, 0xAB, sizeof ns);
    ms_net_get_stats(NULL, &ns);
    CU_ASSERT_EQUAL(ns.sent + ns.delivered + ns.dropped + ns.drops[0], 0);
    CU_ASSERT_EQUAL(ms_net_n_hosts(NULL), 0);
    CU_ASSERT_EQUAL(ms_net_n_links(NULL), 0);
    CU_ASSERT_PTR_NULL(ms_net_engine(NULL));
    CU_ASSERT_PTR_NULL(ms_net_trace(NULL));
    CU_ASSERT_EQUAL(ms_net_host_by_name(n, NULL), G_MAXUINT32);
    CU_ASSERT_EQUAL(ms_net_path_mtu(n, 0, bad_host), 0);
    g_autoptr(GArray) path = ms_net_route_path(n, bad_host, 0);
    CU_ASSERT_EQUAL(path->len, 0);
    g_autoptr(GArray) links = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_array_append_val(links, bad_link);
    CU_ASSERT_FALSE(ms_net_route_links(n, 0, bad_host, links));
    CU_ASSERT_EQUAL(links->len, 0);
    CU_ASSERT_FALSE(ms_net_is_local(n, bad_host));
    CU_ASSERT_EQUAL(ms_net_ephemeral_port(n, bad_host), 0);
    ms_net_set_host_up(n, bad_host, FALSE);
    ms_net_set_link_up(n, bad_link, FALSE);
    CU_ASSERT_EQUAL(criticals_end(&c), 22); /* one per call above */
    /* Nothing changed on the way. */
    CU_ASSERT_TRUE(ms_net_host_is_up(n, 1));
    CU_ASSERT_TRUE(ms_net_link_is_up(n, 0));
    CU_ASSERT_EQUAL(ms_net_path_mtu(n, 0, 1), 1500);
    world_free(&w);
}

/* Address look-ups agree with what was added, whichever way addresses come:
 * ascending (the table grows), descending (it is rebuilt below), sparse
 * (the hash table answers), sparse then filled in (the table comes back),
 * at both ends of the address space (offsets that wrap), and dense up to
 * the last address. */
typedef enum { SEQ_UP, SEQ_DOWN, SEQ_SPARSE_THEN_DENSE, SEQ_EDGES, SEQ_TOP } AddrSeq;

static guint32
seq_addr(AddrSeq kind, guint i, guint n)
{
    switch (kind) {
    case SEQ_UP:
        return 0x0A000001u + i;
    case SEQ_DOWN:
        return 0x0A000001u + (n - 1 - i);
    case SEQ_SPARSE_THEN_DENSE: /* ten 1000 apart (even), then odd ones between */
        (void) n;
        return 0x0A000000u + (i < 10 ? i * 1000u : 2 * (i - 10) + 1);
    case SEQ_EDGES:
        return i % 2 ? G_MAXUINT32 - i / 2 : 1 + i / 2;
    case SEQ_TOP: /* dense, ending at the last address */
        return G_MAXUINT32 - (n - 1) + i;
    }
    return 0;
}

static void
check_addrs(MsNet *n, AddrSeq kind, guint upto, guint total)
{
    for (guint i = 0; i < upto; i++)
        CU_ASSERT_EQUAL(ms_net_host_by_addr(n, seq_addr(kind, i, total)), i);
    /* Addresses never added, next to ones that were. */
    for (guint i = 0; i < upto; i++) {
        guint32 a = seq_addr(kind, i, total);
        for (int dlt = -1; dlt <= 1; dlt += 2) {
            guint32 b = a + (guint32) dlt;
            gboolean used = b == 0;
            for (guint j = 0; j < upto && !used; j++)
                used = seq_addr(kind, j, total) == b;
            if (!used)
                CU_ASSERT_EQUAL(ms_net_host_by_addr(n, b), G_MAXUINT32);
        }
    }
}

static void
test_host_by_addr(void)
{
    static const struct {
        AddrSeq kind;
        guint n;
    } cases[] = {
        { SEQ_UP, 3000 },  { SEQ_DOWN, 3000 }, { SEQ_SPARSE_THEN_DENSE, 3000 },
        { SEQ_EDGES, 40 }, { SEQ_TOP, 100 },
    };
    for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autoptr(MsEngine) e = ms_engine_new(1);
        g_autoptr(MsNet) n = ms_net_new(e);
        guint total = cases[c].n;
        CU_ASSERT_EQUAL(ms_net_host_by_addr(n, 0x0A000001u), G_MAXUINT32);
        for (guint i = 0; i < total; i++) {
            g_autofree char *name = g_strdup_printf("h%u", i);
            CU_ASSERT_EQUAL(
                ms_net_add_host(n, name, seq_addr(cases[c].kind, i, total), MS_ROLE_CLIENT, NULL),
                i);
            if (i < 12 || i % 499 == 0)
                check_addrs(n, cases[c].kind, i + 1, total);
        }
        check_addrs(n, cases[c].kind, total, total);
        CU_ASSERT_EQUAL(ms_net_host_by_addr(n, 0), G_MAXUINT32);
    }
}

/* At flow level, link counters read while a connection is open count
 * every data segment on every link of the path, and its end adds nothing
 * twice. (The handshake's segments are not on the links at this level.) */
static void
test_flow_link_counters_while_open(void)
{
    World w = { 0 };
    chain(&w, 4, &base_link, 1);
    ms_tcp_free(w.tcp); /* the same chain at flow level */
    w.tcp = ms_tcp_new_flow(w.net);
    Side srv = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    Side cli = { g_byte_array_new(), FALSE, FALSE, 0, 0 };
    ms_tcp_listen(w.tcp, w.h[3], 25, &side_cb, &srv);
    MsTcpConnId c = ms_tcp_connect(w.tcp, w.h[0], addr_of(3), 25, &side_cb, &cli);
    g_autofree guint8 *data = g_malloc0(200000);
    ms_tcp_send(w.tcp, c, data, 200000);
    ms_engine_run(w.engine, 2 * MS_TIME_S); /* delivered, still open */
    CU_ASSERT_EQUAL(srv.got->len, 200000);
    CU_ASSERT_FALSE(srv.closed);
    /* The links carry the data segments: the connection's segments but
     * the handshake's three. */
    MsTcpStats ts;
    ms_tcp_get_stats(w.tcp, &ts);
    CU_ASSERT(ts.segments > 100);
    guint64 data_segments = ts.segments - 3;
    for (int i = 0; i < 3; i++) {
        MsLinkStats st;
        ms_net_link_stats(w.net, w.l[i], &st);
        CU_ASSERT_EQUAL(st.packets[0], data_segments);
        CU_ASSERT(st.busy[0] > 0);
    }
    ms_tcp_close(w.tcp, c);
    ms_engine_run(w.engine, MS_TIME_INFINITE);
    CU_ASSERT_TRUE(srv.closed);
    for (int i = 0; i < 3; i++) {
        MsLinkStats st;
        ms_net_link_stats(w.net, w.l[i], &st);
        CU_ASSERT_EQUAL(st.packets[0], data_segments); /* nothing counted twice */
    }
    g_byte_array_unref(srv.got);
    g_byte_array_unref(cli.got);
    world_free(&w);
}

/* The links ms_net_route_links() returns (read from the forest and core
 * tables in one walk) are the hops ms_net_route_path() takes one look-up at
 * a time: for every pair of hosts of a meshed core with trees of depth up
 * to five hanging off it, a separate two-host component and a lone host
 * (no route), with the trees in use, with a core link down (generic
 * tables) and with a route pinned by hand; and the shortest latencies
 * ms_net_latency_distance() finds from the trees are the search's. */
static void
check_all_pairs(MsNet *n, guint nh)
{
    g_autoptr(GArray) links = g_array_new(FALSE, FALSE, sizeof(guint32));
    guint mismatches = 0;
    for (MsHostId from = 0; from < nh; from++)
        for (MsHostId to = 0; to < nh; to++) {
            g_autoptr(GArray) path = ms_net_route_path(n, from, to);
            gboolean ok = ms_net_route_links(n, from, to, links);
            if (path->len == 0) {
                mismatches += ok || links->len != 0;
                continue;
            }
            if (!ok || links->len != path->len - 1) {
                mismatches++;
                continue;
            }
            MsHostId at = from;
            for (guint i = 0; i < links->len; i++) {
                MsHostId a, b;
                ms_net_link_ends(n, g_array_index(links, guint32, i), &a, &b);
                at = a == at ? b : a;
                mismatches += at != g_array_index(path, MsHostId, i + 1);
            }
        }
    CU_ASSERT_EQUAL(mismatches, 0);
}

/* The shortest latencies pair by pair (through the trees and the core
 * while the forest is in use) are the whole-graph search's. */
static void
check_distances(MsNet *n, guint nh)
{
    g_autoptr(MsNetDistances) d = ms_net_distances_new(n);
    g_autofree gint64 *all = g_new(gint64, nh);
    guint wrong = 0, unreachable = 0;
    for (MsHostId to = 0; to < nh; to++) {
        ms_net_latency_distances(n, to, all);
        for (MsHostId from = 0; from < nh; from++) {
            wrong += ms_net_latency_distance(d, from, to) != all[from];
            unreachable += all[from] == G_MAXINT64;
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT(unreachable > 0); /* the pair apart and the lone host */
}

enum { TREE_HOSTS = 70 };

/* `core` hosts in a ring with two chords, and with `hub` host 0 linked to
 * every other core host, so that core tables need 4, 8 or 16 bits an
 * entry; TREE_HOSTS in trees off them, a pair apart and a lone host.
 * Returns the last ring link and sets *pair_link. */
static guint32
tree_world(MsNet *n, guint core, gboolean hub, guint32 *pair_link)
{
    const guint tree = TREE_HOSTS, nh = core + tree + 3;
    guint32 lcg = 12345;
    for (guint i = 0; i < nh; i++) {
        g_autofree char *name = g_strdup_printf("h%u", i);
        ms_net_add_host(n, name, addr_of((int) i), i < core ? MS_ROLE_ROUTER : MS_ROLE_CLIENT,
                        NULL);
    }
    MsLinkParams lp = base_link;
    guint32 core_link = 0;
    for (guint i = 0; i < core; i++) {
        lp.latency = (MsTime) (1 + i % 3) * MS_TIME_MS; /* equal costs: ties by host id */
        core_link = ms_net_add_link(n, i, (i + 1) % core, &lp, NULL);
    }
    lp.latency = 2 * MS_TIME_MS;
    ms_net_add_link(n, 0, 4, &lp, NULL);
    ms_net_add_link(n, 2, 6, &lp, NULL);
    for (guint i = 2; hub && i < core - 1; i++) {
        if (i == 4)
            continue;
        lp.latency = (MsTime) (1 + i % 7) * MS_TIME_MS;
        ms_net_add_link(n, 0, i, &lp, NULL);
    }
    g_autofree guint *depth = g_new0(guint, nh);
    for (guint i = core; i < core + tree; i++) {
        MsHostId up;
        do {
            lcg = lcg * 1103515245u + 12345u;
            up = (lcg >> 16) % i;
        } while (depth[up] >= 5);
        depth[i] = depth[up] + 1;
        lp.latency = (MsTime) (1 + (lcg >> 8) % 4) * MS_TIME_MS;
        ms_net_add_link(n, up, i, &lp, NULL);
    }
    *pair_link = ms_net_add_link(n, core + tree, core + tree + 1, &lp,
                                 NULL); /* a pair apart; host nh - 1 alone */
    return core_link;
}

static void
route_links_case(guint core, gboolean hub)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) n = ms_net_new(e);
    const guint tree = TREE_HOSTS, nh = core + tree + 3;
    guint32 pair_link;
    guint32 core_link = tree_world(n, core, hub, &pair_link);
    check_all_pairs(n, nh);
    /* The forest and core tables route as the generic tables do: taking the
     * pair's link down (no other route changes) makes every look-up use
     * the generic ones. */
    g_autoptr(GPtrArray) by_tree = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (MsHostId from = 0; from < core + tree; from++)
        for (MsHostId to = 0; to < core + tree; to++)
            g_ptr_array_add(by_tree, ms_net_route_path(n, from, to));
    ms_net_set_link_up(n, pair_link, FALSE);
    guint differ = 0;
    for (MsHostId from = 0; from < core + tree; from++)
        for (MsHostId to = 0; to < core + tree; to++) {
            g_autoptr(GArray) path = ms_net_route_path(n, from, to);
            GArray *t = g_ptr_array_index(by_tree, from * (core + tree) + to);
            differ += path->len != t->len ||
                      memcmp(path->data, t->data, path->len * sizeof(MsHostId)) != 0;
        }
    CU_ASSERT_EQUAL(differ, 0);
    /* Generic tables are packed: a byte a host, and 8 for the hub when it
     * has 254 links or more. */
    CU_ASSERT(ms_net_routing_bytes(n) <= (gsize) (core + tree) * (nh + 16 + 8));
    ms_net_set_link_up(n, pair_link, TRUE);
    ms_net_set_link_up(n, core_link, FALSE);
    check_all_pairs(n, nh);
    check_distances(n, nh); /* the generic search */
    ms_net_set_link_up(n, core_link, TRUE);
    check_all_pairs(n, nh);
    ms_net_set_host_up(n, core + 5, FALSE); /* one link: the trees stay */
    check_all_pairs(n, nh);
    ms_net_pin_route(n, 1, 3, 0);
    check_all_pairs(n, nh);
    ms_net_set_host_up(n, core + 5, TRUE);
    check_all_pairs(n, nh);
    check_distances(n, nh); /* through the trees and the core */
    ms_net_set_host_up(n, core + tree, FALSE); /* the pair's root, one link: the trees stay */
    check_all_pairs(n, nh);
    check_distances(n, nh);
}

/* Networks of one topology sharing their core tables (the parts of a run
 * in one process) build each table once between them and route as a
 * network of their own does; one of another topology attached to the same
 * share keeps tables of its own. */
static void
test_route_share(void)
{
    const guint core = 20, nh = core + TREE_HOSTS + 3;
    g_autoptr(MsNetRouteShare) share = ms_net_route_share_new();
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) alone = ms_net_new(e);
    g_autoptr(MsNet) a = ms_net_new(e);
    g_autoptr(MsNet) b = ms_net_new(e);
    g_autoptr(MsNet) other = ms_net_new(e);
    guint32 pair;
    tree_world(alone, core, TRUE, &pair);
    tree_world(a, core, TRUE, &pair);
    tree_world(b, core, TRUE, &pair);
    tree_world(other, core, FALSE, &pair); /* no hub: another core */
    ms_net_share_routes(a, share);
    ms_net_share_routes(b, share);
    ms_net_share_routes(other, share);
    MsNet *nets[] = { a, b, other };
    guint differ = 0;
    for (guint k = 0; k < G_N_ELEMENTS(nets); k++) {
        MsNet *ref = nets[k] == other ? NULL : alone;
        for (MsHostId from = 0; from < nh; from++)
            for (MsHostId to = 0; to < nh; to++) {
                g_autoptr(GArray) got = ms_net_route_path(nets[k], from, to);
                if (!ref)
                    continue;
                g_autoptr(GArray) want = ms_net_route_path(ref, from, to);
                differ += got->len != want->len ||
                          memcmp(got->data, want->data, got->len * sizeof(MsHostId)) != 0;
            }
    }
    CU_ASSERT_EQUAL(differ, 0);
    check_all_pairs(other, nh);
    /* a built every table it used, b none (the share had them), and the
     * other network built its own. */
    CU_ASSERT(ms_net_routing_bytes(a) > 0);
    CU_ASSERT_EQUAL(ms_net_routing_bytes(b), 0);
    CU_ASSERT(ms_net_routing_bytes(other) > 0);
}

static void
test_route_links_match_hops(void)
{
    route_links_case(8, FALSE);
}
/* A hub of 18 core links: 8-bit entries. */
static void
test_route_links_match_hops_hub(void)
{
    route_links_case(20, TRUE);
}
/* A hub of 297 core links: 16-bit entries. */
static void
test_route_links_match_hops_big_hub(void)
{
    route_links_case(300, TRUE);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "delay arithmetic on a chain", test_delay_arithmetic },
        { "queue overflow drops", test_queue_overflow },
        { "peak utilisation: busiest one-second window", test_peak_utilisation },
        { "seeded loss", test_seeded_loss },
        { "route around a down link", test_route_around_down_link },
        { "in-flight packets lost on link down", test_packets_in_flight_lost_when_link_goes_down },
        { "link state on first use: zeros, no sharing across blocks", test_link_state_on_first_use },
        { "TTL on a routing loop", test_ttl_on_routing_loop },
        { "segmentation by MTU", test_segmentation_by_mtu },
        { "5 MB over a lossy 5-hop path", test_5mb_over_lossy_5_hops },
        { "refused, timeout, unreachable", test_refused_timeout_unreachable },
        { "bad links refused", test_bad_links_refused },
        { "IPv4 parse: both sides of each boundary", test_ipv4_parse_boundaries },
        { "getters: a NULL network or a bad id gives the documented value and a critical",
          test_getters_refuse_bad_ids },
        { "host by address: dense, sparse, edges", test_host_by_addr },
        { "flow level: link counters while a connection is open",
          test_flow_link_counters_while_open },
        { "route links match hop-by-hop routes", test_route_links_match_hops },
        { "core route tables shared between networks of one topology", test_route_share },
        { "route links match hop-by-hop routes: a hub (8-bit tables)",
          test_route_links_match_hops_hub },
        { "route links match hop-by-hop routes: a big hub (16-bit tables)",
          test_route_links_match_hops_big_hub },
        { NULL, NULL },
    };
    return ms_test_main("net", cases);
}
