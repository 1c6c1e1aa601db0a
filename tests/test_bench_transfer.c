/* Tests of the transfer benchmark (sim/run/bench_transfer.c) and the
 * network's loss hook it stands on (ms_net_set_loss_hook, sim/net/net.c):
 * the hook loses what it is told to, counted as link loss, and nothing once
 * removed; a lossless transfer of N bytes is ceil(N / MSS) data segments
 * and nothing resent; --drop loses exactly the listed data segments (at the
 * stream offsets of the first transmissions) and each is sent again; a run
 * is deterministic; drop lists parse, sort and refuse what is not a list of
 * numbers from 1; `mailsim bench transfer` prints the fields and refuses a
 * bad list. The figures beside ns-3 are a benchmark (`make bench-tcp`), not
 * a test. */
#include "testlib.h"
#include "mailsim/bench_transfer.h"
#include "mailsim/net.h"

#include <stdlib.h>
#include <string.h>

#define MSS 1460u

static MsBenchTransferParams
params(guint64 bytes)
{
    MsBenchTransferParams p = { .bytes = bytes,
                                .bandwidth_bps = 10000000,
                                .delay = 20 * MS_TIME_MS,
                                .mss = MSS,
                                .sack = TRUE,
                                .end = MS_TIME_H,
                                .seed = 1 };
    return p;
}

/* --- the loss hook --------------------------------------------------- */

typedef struct {
    guint asked, delivered;
    gboolean lose;
} HookCount;

static gboolean
hook(MsNet *net, guint32 link, MsHostId from, const MsPacket *packet, gpointer user_data)
{
    HookCount *h = user_data;
    (void) net;
    (void) link;
    (void) from;
    (void) packet;
    h->asked++;
    return h->lose;
}

static void
on_datagram(MsNet *net, MsHostId host, guint16 port, guint32 src, guint16 sport, GBytes *payload,
            gpointer user_data)
{
    HookCount *h = user_data;
    (void) net;
    (void) host;
    (void) port;
    (void) src;
    (void) sport;
    (void) payload;
    h->delivered++;
}

static void
test_loss_hook(void)
{
    static const MsLinkParams lp = { MS_TIME_MS, 8000000, 1500, 0.0, 1 << 20 };
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) net = ms_net_new(e);
    MsHostId a = ms_net_add_host(net, "a", 0x0A000001, MS_ROLE_CLIENT, NULL);
    MsHostId b = ms_net_add_host(net, "b", 0x0A000002, MS_ROLE_CLIENT, NULL);
    guint32 link = ms_net_add_link(net, a, b, &lp, NULL);
    HookCount h = { 0, 0, TRUE };
    ms_udp_bind(net, b, 9, on_datagram, &h);
    g_autoptr(GBytes) payload = g_bytes_new_static("x", 1);
    ms_net_set_loss_hook(net, hook, &h);
    ms_udp_send(net, a, 9, ms_net_host_addr(net, b), 9, payload);
    ms_engine_run(e, MS_TIME_INFINITE);
    MsLinkStats st;
    ms_net_link_stats(net, link, &st);
    CU_ASSERT_EQUAL(h.asked, 1);
    CU_ASSERT_EQUAL(h.delivered, 0);
    CU_ASSERT_EQUAL(st.drops_loss, 1);
    CU_ASSERT_EQUAL(st.packets[0], 1); /* it took its time on the wire */
    /* Answering FALSE lets it through; removing the hook asks nothing. */
    h.lose = FALSE;
    ms_udp_send(net, a, 9, ms_net_host_addr(net, b), 9, payload);
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(h.asked, 2);
    CU_ASSERT_EQUAL(h.delivered, 1);
    ms_net_set_loss_hook(net, NULL, NULL);
    ms_udp_send(net, a, 9, ms_net_host_addr(net, b), 9, payload);
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(h.asked, 2);
    CU_ASSERT_EQUAL(h.delivered, 2);
    ms_net_link_stats(net, link, &st);
    CU_ASSERT_EQUAL(st.drops_loss, 1);
}

/* --- the benchmark ----------------------------------------------------- */

static void
test_lossless_segment_count(void)
{
    /* Below TCP-lite's 64 KiB window, so every segment but the last is
     * full: 34 of 1460 bytes and one of 360. One byte more is one more. */
    static const guint64 sizes[] = { 50000, 49640, 49641, 1, MSS };
    static const guint64 segs[] = { 35, 34, 35, 1, 1 };
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        MsBenchTransferParams p = params(sizes[i]);
        MsBenchTransferResult r;
        ms_bench_transfer_run(&p, &r);
        CU_ASSERT_TRUE(r.completed);
        CU_ASSERT_EQUAL(r.data_segments, segs[i]);
        CU_ASSERT_EQUAL(r.retransmitted, 0);
        CU_ASSERT_EQUAL(r.dropped, 0);
        CU_ASSERT_EQUAL(r.dropped_offsets->len, 0);
        /* At least the handshake's round trip and the last segment's trip. */
        CU_ASSERT(r.transfer_time > 3 * p.delay);
        ms_bench_transfer_result_clear(&r);
        CU_ASSERT_PTR_NULL(r.dropped_offsets);
    }
}

static void
test_drop_list_exact(void)
{
    /* Segments 1 and 3 both leave in the first flight, before any loss can
     * be noticed, so their first transmissions start at 0 and 2 * MSS. */
    static const guint64 drops[] = { 1, 3 };
    MsBenchTransferParams p = params(50000);
    MsBenchTransferResult clean;
    ms_bench_transfer_run(&p, &clean);
    p.drops = drops;
    p.n_drops = G_N_ELEMENTS(drops);
    MsBenchTransferResult r;
    ms_bench_transfer_run(&p, &r);
    CU_ASSERT_TRUE(r.completed);
    CU_ASSERT_EQUAL(r.dropped, 2);
    CU_ASSERT_EQUAL_FATAL(r.dropped_offsets->len, 2);
    CU_ASSERT_EQUAL(g_array_index(r.dropped_offsets, guint64, 0), 0);
    CU_ASSERT_EQUAL(g_array_index(r.dropped_offsets, guint64, 1), 2 * MSS);
    /* Each lost segment is sent again; the loss costs time. */
    CU_ASSERT(r.retransmitted >= r.dropped);
    CU_ASSERT(r.data_segments >= clean.data_segments + r.retransmitted);
    CU_ASSERT(r.transfer_time > clean.transfer_time);
    ms_bench_transfer_result_clear(&r);
    ms_bench_transfer_result_clear(&clean);

    /* One isolated drop, later in the stream: exactly one data segment lost. */
    static const guint64 one[] = { 20 };
    p.drops = one;
    p.n_drops = 1;
    ms_bench_transfer_run(&p, &r);
    CU_ASSERT_TRUE(r.completed);
    CU_ASSERT_EQUAL(r.dropped, 1);
    CU_ASSERT(r.retransmitted >= 1);
    ms_bench_transfer_result_clear(&r);

    /* A segment number past the end of the transfer drops nothing. */
    static const guint64 past[] = { 36 };
    p.drops = past;
    ms_bench_transfer_run(&p, &r);
    CU_ASSERT_EQUAL(r.dropped, 0);
    CU_ASSERT_EQUAL(r.retransmitted, 0);
    CU_ASSERT_EQUAL(r.data_segments, 35);
    ms_bench_transfer_result_clear(&r);
}

static void
test_random_loss_deterministic(void)
{
    MsBenchTransferParams p = params(200000);
    p.loss = 0.05;
    p.seed = 7;
    MsBenchTransferResult r1, r2;
    ms_bench_transfer_run(&p, &r1);
    ms_bench_transfer_run(&p, &r2);
    CU_ASSERT_TRUE(r1.completed);
    CU_ASSERT(r1.dropped > 0);
    CU_ASSERT(r1.retransmitted >= r1.dropped);
    CU_ASSERT_EQUAL(r1.transfer_time, r2.transfer_time);
    CU_ASSERT_EQUAL(r1.data_segments, r2.data_segments);
    CU_ASSERT_EQUAL(r1.retransmitted, r2.retransmitted);
    CU_ASSERT_EQUAL(r1.dropped, r2.dropped);
    ms_bench_transfer_result_clear(&r1);
    ms_bench_transfer_result_clear(&r2);
}

static void
test_parse_drops(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) a = ms_bench_transfer_parse_drops("58,12,57,12", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL_FATAL(a->len, 3);
    CU_ASSERT_EQUAL(g_array_index(a, guint64, 0), 12);
    CU_ASSERT_EQUAL(g_array_index(a, guint64, 1), 57);
    CU_ASSERT_EQUAL(g_array_index(a, guint64, 2), 58);
    g_autoptr(GArray) one = ms_bench_transfer_parse_drops("1", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_EQUAL(one->len, 1);
    static const char *const bad[] = {
        "", "0", "x", "3,,4", "-1", "1.5", " 2", "2,", "4294967296"
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        GArray *got = ms_bench_transfer_parse_drops(bad[i], &e);
        CU_ASSERT_PTR_NULL(got);
        CU_ASSERT_PTR_NOT_NULL(e);
        if (got)
            g_array_unref(got);
    }
}

static void
test_cli(void)
{
    const char *argv[] = {
        ms_test_mailsim_path(), "bench", "transfer", "--bytes", "50000", "--drop", "3,1", NULL
    };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_test_spawn(argv, &out, &err), 0);
    CU_ASSERT(g_str_has_prefix(out, "transfer sim=mailsim "));
    static const char *const want[][2] = {
        { "bytes", "50000" },      { "bandwidth_bps", "10000000" }, { "mss", "1460" },
        { "drop", "1,3" },         { "completed", "yes" },          { "dropped_segments", "2" },
        { "delay_s", "0.020000" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autofree char *v = ms_test_field(out, want[i][0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_STRING_EQUAL(v, want[i][1]);
    }
    g_autofree char *t = ms_test_field(out, "transfer_time_s");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT(strtod(t, NULL) > 0.06);

    const char *bad[] = { ms_test_mailsim_path(), "bench", "transfer", "--drop", "0", NULL };
    g_autofree char *out2 = NULL, *err2 = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(bad, &out2, &err2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err2, "--drop"));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "loss hook: loses what it says, as link loss; removed, asks nothing", test_loss_hook },
        { "lossless: ceil(N / MSS) data segments, nothing resent", test_lossless_segment_count },
        { "--drop loses exactly the listed data segments, each sent again", test_drop_list_exact },
        { "random loss: segments lost and resent, the same run twice",
          test_random_loss_deterministic },
        { "drop lists: sorted, repeats removed, junk refused", test_parse_drops },
        { "mailsim bench transfer: the fields, and a bad --drop refused", test_cli },
        { NULL, NULL },
    };
    return ms_test_main("bench_transfer", cases);
}
