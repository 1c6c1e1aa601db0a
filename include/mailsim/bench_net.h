/* The network benchmark: packets forwarded per second on a large random
 * router topology. N routers joined by a random spanning tree plus extra
 * random links (average degree about 4, latencies 1-20 ms, 1 Gbps); F
 * datagrams start at random routers towards D destination routers; each
 * datagram, on arrival, is sent on to another random destination, so F
 * packets stay in flight until the end time, hop by hop through the
 * routers. Routes are computed lazily, per destination. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

typedef struct {
    guint32 routers, flows, dests;
    MsTime end;
    guint64 seed;
} MsBenchNetParams;

typedef struct {
    guint64 events, forwarded, delivered;
    double wall_s, setup_s;
} MsBenchNetResult;

void ms_bench_net_run(const MsBenchNetParams *params, MsBenchNetResult *result);

G_END_DECLS
