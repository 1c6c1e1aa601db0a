/* The network benchmark (see include/mailsim/bench_net.h). */
#include "mailsim/bench_net.h"
#include "mailsim/net.h"

typedef struct {
    MsNet *net;
    MsRng rng;
    guint32 dests;
    guint32 *dest_ids;
} Bench;

#define BENCH_PORT 9

static void
on_datagram(MsNet *net, MsHostId host, guint16 port, guint32 src, guint16 sport, GBytes *payload,
            gpointer ud)
{
    Bench *b = ud;
    (void) port;
    (void) src;
    (void) sport;
    guint32 next = b->dest_ids[ms_rng_below(&b->rng, b->dests)];
    if (next == host)
        next = b->dest_ids[(ms_rng_below(&b->rng, b->dests - 1) + 1) % b->dests];
    ms_udp_send(net, host, BENCH_PORT, ms_net_host_addr(net, next), BENCH_PORT, payload);
}

void
ms_bench_net_run(const MsBenchNetParams *p, MsBenchNetResult *r)
{
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(MsEngine) engine = ms_engine_new(p->seed);
    g_autoptr(MsNet) net = ms_net_new(engine);
    Bench b = { net, { { 0 } }, MAX(p->dests, 2), NULL };
    ms_rng_init_named(&b.rng, p->seed, "bench-net");
    for (guint32 i = 0; i < p->routers; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "r%u", i);
        ms_net_add_host(net, name, 0x0A000001u + i, MS_ROLE_ROUTER, NULL);
    }
    MsLinkParams lp = { MS_TIME_MS, 1000000000, 1500, 0.0, 1 << 20 };
    /* A random spanning tree keeps the graph connected; extra links bring
     * the average degree to about 4. */
    for (guint32 i = 1; i < p->routers; i++) {
        lp.latency = (MsTime) (1 + ms_rng_below(&b.rng, 20)) * MS_TIME_MS;
        ms_net_add_link(net, i, (MsHostId) ms_rng_below(&b.rng, i), &lp, NULL);
    }
    for (guint32 i = 0; i < p->routers; i++) {
        MsHostId x = (MsHostId) ms_rng_below(&b.rng, p->routers),
                 y = (MsHostId) ms_rng_below(&b.rng, p->routers);
        if (x == y)
            continue;
        lp.latency = (MsTime) (1 + ms_rng_below(&b.rng, 20)) * MS_TIME_MS;
        ms_net_add_link(net, x, y, &lp, NULL);
    }
    b.dest_ids = g_new(guint32, b.dests);
    for (guint32 i = 0; i < b.dests; i++) {
        b.dest_ids[i] = (guint32) ms_rng_below(&b.rng, p->routers);
        ms_udp_bind(net, b.dest_ids[i], BENCH_PORT, on_datagram, &b); /* FALSE for repeats: fine */
    }
    g_autoptr(GBytes) payload =
        g_bytes_new_static("mailsim benchmark datagram, 64 bytes of payload.................", 64);
    for (guint32 f = 0; f < p->flows; f++) {
        MsHostId src = (MsHostId) ms_rng_below(&b.rng, p->routers);
        guint32 dst = b.dest_ids[ms_rng_below(&b.rng, b.dests)];
        if (dst == src)
            continue;
        ms_udp_send(net, src, BENCH_PORT, ms_net_host_addr(net, dst), BENCH_PORT, payload);
    }
    gint64 t1 = g_get_monotonic_time();
    ms_engine_run(engine, p->end);
    gint64 t2 = g_get_monotonic_time();
    MsNetStats ns;
    ms_net_get_stats(net, &ns);
    MsEngineStats es;
    ms_engine_get_stats(engine, &es);
    r->events = es.processed;
    r->forwarded = ns.forwarded;
    r->delivered = ns.delivered;
    r->setup_s = (double) (t1 - t0) / 1e6;
    r->wall_s = (double) (t2 - t1) / 1e6;
    g_free(b.dest_ids);
}
