/* The flow model's own rules (sim/net/flow.c, sim/net/flow_share.c):
 *   - fair share, signalled: a sender learns of another transfer on a far
 *     link only once news of it could have travelled the path's latency
 *     (the other transfer reaching the link, then the signal coming back);
 *     before that it has the link to itself, after it half the link.
 * Everything a flow does end to end (outcomes and latencies against the
 * packet level) is in tests/test_fidelity.c. */
#include "testlib.h"
#include "mailsim/engine.h"
#include "mailsim/net.h"
#include "mailsim/tcp.h"

#include <string.h>

typedef struct {
    gboolean connected;
    MsTcpConnId conn;
    gsize got;
    MsTime last_data_at;
} App;

static void
app_connected(MsTcp *tcp, MsTcpConnId c, gpointer ud)
{
    App *a = ud;
    (void) tcp;
    a->connected = TRUE;
    a->conn = c;
}

static void
app_data(MsTcp *tcp, MsTcpConnId c, const guint8 *d, gsize n, gpointer ud)
{
    App *a = ud;
    (void) c, (void) d;
    a->got += n;
    a->last_data_at = ms_engine_now(ms_net_engine(ms_tcp_net(tcp)));
}

static void
app_closed(MsTcp *tcp, MsTcpConnId c, MsTcpCloseReason r, gpointer ud)
{
    (void) tcp, (void) c, (void) r, (void) ud;
}

static const MsTcpCallbacks app_cb = { app_connected, app_data, app_closed };

/* a -1 ms- r1 -5 ms, 1 Mbit/s- r2 -1 ms- b, and c -20 ms- r1: a and c
 * share the slow link r1->r2, 1 ms and 20 ms from it. a sends 400 kB to
 * b at 1 s; c sends 100 kB to b `delta` later. Returns how long c's
 * bytes took. */
static MsTime
second_transfer(MsTime delta)
{
    static const MsLinkParams fast1 = { MS_TIME_MS, 1000000000, 1500, 0.0, 1 << 24 };
    static const MsLinkParams fast20 = { 20 * MS_TIME_MS, 1000000000, 1500, 0.0, 1 << 24 };
    static const MsLinkParams slow = { 5 * MS_TIME_MS, 1000000, 1500, 0.0, 1 << 24 };
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) net = ms_net_new(e);
    g_autoptr(MsTcp) tcp = ms_tcp_new_flow(net);
    MsHostId a = ms_net_add_host(net, "a", 0x0A000001, MS_ROLE_CLIENT, NULL);
    MsHostId c = ms_net_add_host(net, "c", 0x0A000002, MS_ROLE_CLIENT, NULL);
    MsHostId r1 = ms_net_add_host(net, "r1", 0x0A000003, MS_ROLE_ROUTER, NULL);
    MsHostId r2 = ms_net_add_host(net, "r2", 0x0A000004, MS_ROLE_ROUTER, NULL);
    MsHostId b = ms_net_add_host(net, "b", 0x0A000005, MS_ROLE_MAILSERVER, NULL);
    ms_net_add_link(net, a, r1, &fast1, NULL);
    ms_net_add_link(net, c, r1, &fast20, NULL);
    ms_net_add_link(net, r1, r2, &slow, NULL);
    ms_net_add_link(net, r2, b, &fast1, NULL);
    App srv_a = { 0 }, srv_c = { 0 }, cli_a = { 0 }, cli_c = { 0 };
    CU_ASSERT_TRUE(ms_tcp_listen(tcp, b, 25, &app_cb, &srv_a));
    CU_ASSERT_TRUE(ms_tcp_listen(tcp, b, 26, &app_cb, &srv_c));
    ms_tcp_connect(tcp, a, ms_net_host_addr(net, b), 25, &app_cb, &cli_a);
    ms_tcp_connect(tcp, c, ms_net_host_addr(net, b), 26, &app_cb, &cli_c);
    ms_engine_run(e, MS_TIME_S);
    CU_ASSERT_TRUE_FATAL(cli_a.connected && cli_c.connected);
    g_autofree guint8 *big = g_malloc0(400000);
    ms_tcp_send(tcp, cli_a.conn, big, 400000);
    ms_engine_run(e, MS_TIME_S + delta);
    ms_tcp_send(tcp, cli_c.conn, big, 100000);
    ms_engine_run(e, 20 * MS_TIME_S);
    CU_ASSERT_EQUAL(srv_a.got, 400000);
    CU_ASSERT_EQUAL(srv_c.got, 100000);
    return srv_c.last_data_at - (MS_TIME_S + delta);
}

/* News of a's transfer reaches the slow link 1 ms after it starts and c
 * 20 ms after that: c starting 10 ms after a has the link to itself (a
 * sender cannot know sooner); 30 ms after, it gets half. */
static void
test_share_signalled(void)
{
    MsTime early = second_transfer(10 * MS_TIME_MS);
    MsTime late = second_transfer(30 * MS_TIME_MS);
    /* 100 kB at 1 Mbit/s: 0.8 s alone, 1.6 s at half the link */
    CU_ASSERT(early > 800 * MS_TIME_MS && early < 1100 * MS_TIME_MS);
    CU_ASSERT(late > 1600 * MS_TIME_MS && late < 1900 * MS_TIME_MS);
    /* On the boundary (21 ms: 1 ms there, 20 ms back) the news has come. */
    MsTime at = second_transfer(21 * MS_TIME_MS), before = second_transfer(21 * MS_TIME_MS - 1);
    if (g_getenv("MS_FLOW_VERBOSE"))
        g_printerr("c's 100 kB took %.4f s (10 ms after a), %.4f s (30 ms), %.4f s (21 ms), "
                   "%.4f s (21 ms - 1 ns)\n",
                   ms_time_to_seconds(early), ms_time_to_seconds(late), ms_time_to_seconds(at),
                   ms_time_to_seconds(before));
    CU_ASSERT(at > 1600 * MS_TIME_MS);
    CU_ASSERT(before < 1100 * MS_TIME_MS);
}

static const MsTestCase cases[] = {
    { "fair share is known one signal delay late", test_share_signalled },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("flow", cases);
}
