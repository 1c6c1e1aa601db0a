/* Tests of partitioned runs without MPI: host partitions, and shards run in
 * one process window by window (ms_shard_run_local), which must reproduce
 * the sequential run exactly, event for event, for any number of parts and
 * either scheme, including runs full of equal times. tests/test_mpi.c does
 * the same through mpirun. */
#include <string.h>
#include "testlib.h"
#include "mailsim/partition.h"
#include "mailsim/shard.h"
#include "mailsim/net.h"
#include "mailsim/phold.h"
#include "mailsim/rng.h"

/* --- partitions --------------------------------------------------------- */

static void
test_partition_owner_table(void)
{
    static const struct {
        guint32 hosts, parts;
        MsPartitionScheme scheme;
        MsHostId host;
        guint32 owner;
    } cases[] = {
        { 10, 1, MS_PARTITION_MODULO, 9, 0 },
        { 10, 1, MS_PARTITION_BLOCKS, 9, 0 },
        { 10, 3, MS_PARTITION_MODULO, 0, 0 },
        { 10, 3, MS_PARTITION_MODULO, 4, 1 },
        { 10, 3, MS_PARTITION_MODULO, 9, 0 },
        { 10, 3, MS_PARTITION_BLOCKS, 3, 0 }, /* blocks of 4: 0-3, 4-7, 8-9 */
        { 10, 3, MS_PARTITION_BLOCKS, 4, 1 },
        { 10, 3, MS_PARTITION_BLOCKS, 7, 1 },
        { 10, 3, MS_PARTITION_BLOCKS, 8, 2 },
        { 10, 3, MS_PARTITION_BLOCKS, 9, 2 },
        { 3, 4, MS_PARTITION_BLOCKS, 2, 2 }, /* fewer hosts than parts */
        { 3, 4, MS_PARTITION_MODULO, 2, 2 },
        { G_MAXUINT32, 2, MS_PARTITION_BLOCKS, G_MAXUINT32 - 1, 1 },
        { G_MAXUINT32, 2, MS_PARTITION_BLOCKS, G_MAXUINT32 / 2, 0 },
        { G_MAXUINT32, 2, MS_PARTITION_BLOCKS, G_MAXUINT32 / 2 + 1, 1 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsPartition) p =
            ms_partition_new(cases[i].hosts, cases[i].parts, cases[i].scheme);
        CU_ASSERT_EQUAL(ms_partition_owner(p, cases[i].host), cases[i].owner);
    }
}

/* Every host has one owner, and the counts of all parts add up to N. */
static void
test_partition_counts_add_up(void)
{
    for (guint32 n = 1; n <= 20; n++)
        for (guint32 k = 1; k <= 6; k++)
            for (int s = 0; s < 2; s++) {
                MsPartitionScheme scheme = s ? MS_PARTITION_BLOCKS : MS_PARTITION_MODULO;
                g_autoptr(MsPartition) p = ms_partition_new(n, k, scheme);
                guint32 seen[6] = { 0 }, total = 0;
                for (MsHostId h = 0; h < n; h++) {
                    guint32 o = ms_partition_owner(p, h);
                    CU_ASSERT_FATAL(o < k);
                    seen[o]++;
                    /* blocks are contiguous: owners never go down */
                    if (scheme == MS_PARTITION_BLOCKS && h > 0)
                        CU_ASSERT(o >= ms_partition_owner(p, h - 1));
                }
                for (guint32 i = 0; i < k; i++) {
                    CU_ASSERT_EQUAL(seen[i], ms_partition_count(p, i));
                    total += ms_partition_count(p, i);
                }
                CU_ASSERT_EQUAL(total, n);
            }
}

static void
test_partition_scheme_names(void)
{
    static const struct {
        const char *s;
        gboolean ok;
        MsPartitionScheme scheme;
    } cases[] = {
        { "mod", TRUE, MS_PARTITION_MODULO },
        { "block", TRUE, MS_PARTITION_BLOCKS },
        { "", FALSE, 0 },
        { "Mod", FALSE, 0 },
        { "blocks", FALSE, 0 },
        { NULL, FALSE, 0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsPartitionScheme s = 99;
        CU_ASSERT_EQUAL(ms_partition_scheme_from_string(cases[i].s, &s), cases[i].ok);
        if (cases[i].ok) {
            CU_ASSERT_EQUAL(s, cases[i].scheme);
            CU_ASSERT_STRING_EQUAL(ms_partition_scheme_to_string(s), cases[i].s);
        }
    }
}

/* --- PHOLD, sequential against split ------------------------------------ */

typedef struct {
    guint64 events;
    guint64 digest;
    guint64 sent;
    guint64 late;
    guint64 windows;
} SplitResult;

static void
phold_split(const MsPholdParams *p, guint32 k, MsPartitionScheme scheme, SplitResult *out)
{
    g_autoptr(MsPartition) part = ms_partition_new(p->nodes, k, scheme);
    MsEngine **engines = g_new0(MsEngine *, k);
    MsShard **shards = g_new0(MsShard *, k);
    MsPhold **pholds = g_new0(MsPhold *, k);
    for (guint32 i = 0; i < k; i++) {
        engines[i] = ms_engine_new(p->seed);
        shards[i] = ms_shard_new(engines[i], part, i, p->lookahead);
        pholds[i] = ms_phold_new(p, engines[i], shards[i]);
    }
    ms_shard_run_local(shards, k, p->end);
    memset(out, 0, sizeof *out);
    for (guint32 i = 0; i < k; i++) {
        MsEngineStats es;
        MsShardStats ss;
        ms_engine_get_stats(engines[i], &es);
        ms_shard_get_stats(shards[i], &ss);
        out->events += es.processed;
        out->digest += ms_phold_digest(pholds[i]);
        out->sent += ss.sent;
        out->late += ss.late;
        out->windows = ss.windows;
        CU_ASSERT_EQUAL(ms_engine_now(engines[i]), p->end);
        CU_ASSERT(ms_engine_next_time(engines[i]) > p->end);
        ms_phold_free(pholds[i]);
        ms_shard_free(shards[i]);
        ms_engine_free(engines[i]);
    }
    g_free(pholds);
    g_free(shards);
    g_free(engines);
}

static void
test_phold_split_matches_sequential(void)
{
    static const struct {
        guint32 nodes, pop;
        double remote;
        MsTime mean, end;
    } worlds[] = {
        { 64, 4, 0.9, MS_TIME_MS, 100 * MS_TIME_MS },
        { 64, 2, 0.0, MS_TIME_MS, 50 * MS_TIME_MS }, /* nothing crosses */
        { 50, 3, 1.0, MS_TIME_MS, 50 * MS_TIME_MS }, /* everything does */
        /* Exp(1 ns) truncates to 0 most of the time: events land exactly at
         * the window's end, and equal times abound. */
        { 40, 4, 0.9, MS_TIME_NS, 60 * MS_TIME_MS },
        { 3, 2, 0.9, MS_TIME_MS, 50 * MS_TIME_MS }, /* fewer hosts than parts */
    };
    for (guint w = 0; w < G_N_ELEMENTS(worlds); w++) {
        MsPholdParams p = {
            worlds[w].nodes, worlds[w].pop, worlds[w].remote, MS_TIME_MS, worlds[w].mean,
            worlds[w].end,   7 + w
        };
        MsPholdResult seq;
        ms_phold_run_engine(&p, &seq);
        CU_ASSERT(seq.events > 100);
        for (guint32 k = 1; k <= 5; k++)
            for (int s = 0; s < 2; s++) {
                SplitResult r;
                phold_split(&p, k, s ? MS_PARTITION_BLOCKS : MS_PARTITION_MODULO, &r);
                CU_ASSERT_EQUAL(r.events, seq.events);
                CU_ASSERT_EQUAL(r.digest, seq.digest);
                CU_ASSERT_EQUAL(r.late, 0);
                if (k == 1 || p.remote == 0.0) {
                    CU_ASSERT_EQUAL(r.sent, 0);
                } else {
                    CU_ASSERT(r.sent > 0);
                }
                CU_ASSERT(r.windows > 0);
            }
    }
}

/* The digest tells different runs apart. */
static void
test_phold_digest_differs(void)
{
    MsPholdParams p = { 32, 2, 0.9, MS_TIME_MS, MS_TIME_MS, 50 * MS_TIME_MS, 1 };
    MsPholdResult a, b;
    ms_phold_run_engine(&p, &a);
    p.seed = 2;
    ms_phold_run_engine(&p, &b);
    CU_ASSERT_NOT_EQUAL(a.digest, b.digest);
}

/* --- a model made of ties ----------------------------------------------- */

/* Every delay is L or 2L, so every event time is a multiple of L and many
 * events reach one host at one time. A host's next target, delay and
 * payload come from a hash of the events it ran in order, so any change in
 * the order of equal times changes everything after it. */
typedef struct {
    MsShard *shard; /* NULL: sequential */
    guint32 nodes;
    MsTime lookahead;
    guint16 type;
    guint64 *state;
    MsTime *last_at;
    guint64 ties; /* events at the same time as their host's previous one */
} Ties;

static guint64
mix(guint64 x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

static void
on_tie(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    Ties *t = ud;
    guint64 *h = &t->state[ev->host];
    *h = mix(*h + (guint64) ev->at) ^ ev->src ^ ((guint64) ev->data.u32[0] << 32);
    if (t->last_at[ev->host] == ev->at)
        t->ties++;
    t->last_at[ev->host] = ev->at;
    MsEventData d = { { 0 } };
    d.u32[0] = ev->data.u32[0] + 1;
    MsHostId target = (MsHostId) (*h % t->nodes);
    MsTime at = ev->at + t->lookahead * (MsTime) (1 + ((*h >> 40) & 1));
    if (t->shard)
        ms_shard_schedule(t->shard, at, target, t->type, d);
    else
        ms_engine_schedule(e, at, target, t->type, d);
}

static void
ties_setup(Ties *t, MsEngine *e, MsShard *shard, guint32 nodes, MsTime la)
{
    *t = (Ties){ shard, nodes, la, 0, g_new0(guint64, nodes), g_new0(MsTime, nodes), 0 };
    for (guint32 h = 0; h < nodes; h++)
        t->last_at[h] = -1;
    t->type = ms_engine_register(e, "tie", on_tie, t);
    for (guint32 h = 0; h < nodes; h++) {
        if (shard && !ms_shard_is_local(shard, h))
            continue;
        for (guint32 k = 0; k < 3; k++) {
            MsEventData d = { { 0 } };
            d.u32[0] = k;
            MsTime at = la * (MsTime) (h % 2);
            if (shard)
                ms_shard_schedule_from(shard, h, at, h, t->type, d);
            else
                ms_engine_schedule_from(e, h, at, h, t->type, d);
        }
    }
}

static guint64
ties_digest(const Ties *t)
{
    guint64 sum = 0;
    for (guint32 h = 0; h < t->nodes; h++)
        if (!t->shard || ms_shard_is_local(t->shard, h))
            sum += mix(h * 0x9e3779b97f4a7c15ULL ^ t->state[h]);
    return sum;
}

static void
ties_clear(Ties *t)
{
    g_free(t->state);
    g_free(t->last_at);
}

static void
test_ties_split_matches_sequential(void)
{
    const guint32 nodes = 30;
    const MsTime la = MS_TIME_MS, end = 150 * MS_TIME_MS;
    g_autoptr(MsEngine) se = ms_engine_new(1);
    Ties st;
    ties_setup(&st, se, NULL, nodes, la);
    ms_engine_run(se, end);
    MsEngineStats ses;
    ms_engine_get_stats(se, &ses);
    guint64 want = ties_digest(&st);
    /* The model does what it is for: most events share their time. */
    CU_ASSERT(st.ties > ses.processed / 2);
    for (guint32 k = 2; k <= 6; k++)
        for (int s = 0; s < 2; s++) {
            g_autoptr(MsPartition) part =
                ms_partition_new(nodes, k, s ? MS_PARTITION_BLOCKS : MS_PARTITION_MODULO);
            MsEngine *engines[6];
            MsShard *shards[6];
            Ties ts[6];
            for (guint32 i = 0; i < k; i++) {
                engines[i] = ms_engine_new(1);
                shards[i] = ms_shard_new(engines[i], part, i, la);
                ties_setup(&ts[i], engines[i], shards[i], nodes, la);
            }
            ms_shard_run_local(shards, k, end);
            guint64 got = 0, events = 0, ties = 0;
            for (guint32 i = 0; i < k; i++) {
                MsEngineStats es;
                ms_engine_get_stats(engines[i], &es);
                events += es.processed;
                got += ties_digest(&ts[i]);
                ties += ts[i].ties;
                ties_clear(&ts[i]);
                ms_shard_free(shards[i]);
                ms_engine_free(engines[i]);
            }
            CU_ASSERT_EQUAL(events, ses.processed);
            CU_ASSERT_EQUAL(ties, st.ties);
            CU_ASSERT_EQUAL(got, want);
        }
    ties_clear(&st);
}

/* --- the shard's plumbing ----------------------------------------------- */

/* An event for another part waits in that part's outbox with its sender's
 * counter, payload and type; delivered, it runs there at its time. */
static void
test_outbox_and_deliver(void)
{
    g_autoptr(MsPartition) part = ms_partition_new(4, 2, MS_PARTITION_MODULO);
    g_autoptr(MsEngine) e0 = ms_engine_new(1);
    g_autoptr(MsEngine) e1 = ms_engine_new(1);
    g_autoptr(MsShard) s0 = ms_shard_new(e0, part, 0, 10);
    g_autoptr(MsShard) s1 = ms_shard_new(e1, part, 1, 10);
    CU_ASSERT(ms_shard_is_local(s0, 2));
    CU_ASSERT(!ms_shard_is_local(s0, 3));
    CU_ASSERT(!ms_shard_is_local(s0, 4)); /* not a host of this world */
    CU_ASSERT_EQUAL(ms_shard_parts(s1), 2);
    CU_ASSERT_EQUAL(ms_shard_self(s1), 1);
    CU_ASSERT_EQUAL(ms_shard_lookahead(s1), 10);
    guint16 t0 = ms_engine_register(e0, "x", on_tie, NULL);
    guint16 t1 = ms_engine_register(e1, "x", on_tie, NULL);
    CU_ASSERT_EQUAL(t0, t1);
    MsEventData d = { { 0 } };
    d.u64[1] = 0xabcdef;
    ms_shard_schedule_from(s0, 2, 50, 2, t0, d); /* local: into e0 */
    ms_shard_schedule_from(s0, 2, 60, 3, t0, d); /* remote: seq 1 of host 2 */
    ms_shard_schedule_from(s0, 0, 70, 1, t0, d); /* remote: seq 0 of host 0 */
    CU_ASSERT_EQUAL(ms_shard_next_time(s0), 50);
    CU_ASSERT_EQUAL(ms_shard_next_time(s1), MS_TIME_INFINITE);
    gsize n = 99;
    const guint8 *bytes = ms_shard_outbox(s0, 0, &n);
    CU_ASSERT_EQUAL(n, 0);
    bytes = ms_shard_outbox(s0, 1, &n);
    CU_ASSERT_EQUAL_FATAL(n, 2 * sizeof(MsShardEvent));
    MsShardEvent box[2];
    memcpy(box, bytes, sizeof box);
    CU_ASSERT_EQUAL(box[0].at, 60);
    CU_ASSERT_EQUAL(box[0].src, 2);
    CU_ASSERT_EQUAL(box[0].seq, 1);
    CU_ASSERT_EQUAL(box[0].host, 3);
    CU_ASSERT_EQUAL(box[0].type, t0);
    CU_ASSERT_EQUAL(box[0].data.u64[1], 0xabcdef);
    CU_ASSERT_EQUAL(box[1].src, 0);
    CU_ASSERT_EQUAL(box[1].seq, 0);
    CU_ASSERT(!ms_shard_deliver(s1, bytes, n - 1)); /* truncated: refused */
    CU_ASSERT(ms_shard_deliver(s1, bytes, n));
    ms_shard_clear_outboxes(s0);
    bytes = ms_shard_outbox(s0, 1, &n);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(ms_shard_next_time(s1), 60);
    MsShardStats st;
    ms_shard_get_stats(s0, &st);
    CU_ASSERT_EQUAL(st.sent, 2);
    ms_shard_get_stats(s1, &st);
    CU_ASSERT_EQUAL(st.received, 2);
    CU_ASSERT_EQUAL(st.windows, 0);
}

static void
on_log(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    (void) e;
    g_array_append_val((GArray *) ud, ev->at);
}

/* A window [start, start + L) runs events at start + L - 1 and leaves those
 * at start + L; the end of the run cuts a window short. */
static void
test_window_bounds(void)
{
    g_autoptr(MsPartition) part = ms_partition_new(1, 1, MS_PARTITION_MODULO);
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsShard) s = ms_shard_new(e, part, 0, 10);
    g_autoptr(GArray) log = g_array_new(FALSE, FALSE, sizeof(MsTime));
    guint16 type = ms_engine_register(e, "log", on_log, log);
    static const MsTime times[] = { 0, 9, 10, 25, 30 };
    for (guint i = 0; i < G_N_ELEMENTS(times); i++)
        ms_shard_schedule_from(s, 0, times[i], 0, type, (MsEventData){ { 0 } });
    CU_ASSERT_EQUAL(ms_shard_run_window(s, 0, MS_TIME_INFINITE), 9);
    CU_ASSERT_EQUAL(log->len, 2);
    CU_ASSERT_EQUAL(ms_engine_now(e), 9);
    CU_ASSERT_EQUAL(ms_shard_next_time(s), 10);
    CU_ASSERT_EQUAL(ms_shard_run_window(s, 10, 24), 19);
    CU_ASSERT_EQUAL(log->len, 3);
    CU_ASSERT_EQUAL(ms_shard_run_window(s, 25, 27), 27); /* cut by the end */
    CU_ASSERT_EQUAL(log->len, 4);
    CU_ASSERT_EQUAL(ms_shard_next_time(s), 30);
    /* A window near the end of time saturates instead of wrapping. */
    CU_ASSERT_EQUAL(ms_shard_run_window(s, MS_TIME_INFINITE - 5, MS_TIME_INFINITE),
                    MS_TIME_INFINITE - 1);
    CU_ASSERT_EQUAL(log->len, 5);
    MsShardStats st;
    ms_shard_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.windows, 4);
}

/* The bound by brute force: the earliest time each part may still run an
 * event (relaxed K times over every pair), then the earliest arrival at
 * self from another part. */
static MsTime
bound_brute(const MsTime *next, const MsTime *la, guint32 k, guint32 self)
{
    MsTime e[8];
    for (guint32 q = 0; q < k; q++)
        e[q] = next[q];
    for (guint32 round = 0; round < k; round++)
        for (guint32 p = 0; p < k; p++)
            for (guint32 q = 0; q < k; q++)
                if (p != q)
                    e[q] = MIN(e[q], ms_time_add(e[p], la[p * k + q]));
    MsTime b = MS_TIME_INFINITE;
    for (guint32 q = 0; q < k; q++)
        if (q != self)
            b = MIN(b, ms_time_add(e[q], la[q * k + self]));
    return b;
}

/* Lookahead per pair: parts in a line 0 -10- 1 -100- 2 (0 and 2 never
 * meet) give part 2 room until part 0's next event plus 110, part 0 only
 * until its own next plus the round trip 20; random matrices (some pairs
 * unconnected, some parts idle) agree with brute force, and one lookahead
 * for every pair gives ms_shard_safe_until(). */
static void
test_pair_lookahead_bound(void)
{
    const MsTime inf = MS_TIME_INFINITE;
    g_autoptr(MsPartition) line = ms_partition_new(3, 3, MS_PARTITION_MODULO);
    g_autoptr(MsEngine) e = ms_engine_new(1);
    const MsTime la[9] = { inf, 10, inf, 10, inf, 100, inf, 100, inf };
    const MsTime next[3] = { 0, 50, 0 };
    g_autoptr(MsShard) s2 = ms_shard_new(e, line, 2, 10);
    ms_shard_set_pair_lookahead(s2, la);
    CU_ASSERT_EQUAL(ms_shard_pair_lookahead(s2, 1, 2), 100);
    CU_ASSERT_EQUAL(ms_shard_pair_lookahead(s2, 0, 2), inf);
    CU_ASSERT_EQUAL(ms_shard_safe_bound(s2, next), 110);
    g_autoptr(MsEngine) e0 = ms_engine_new(1);
    g_autoptr(MsShard) s0 = ms_shard_new(e0, line, 0, 10);
    ms_shard_set_pair_lookahead(s0, la);
    CU_ASSERT_EQUAL(ms_shard_safe_bound(s0, next), 20);
    const MsTime idle[3] = { inf, inf, inf };
    CU_ASSERT_EQUAL(ms_shard_safe_bound(s2, idle), inf);

    MsRng r;
    MsRng *rng = &r;
    ms_rng_init(rng, 7, 0);
    for (guint round = 0; round < 2000; round++) {
        guint32 k = 2 + (guint32) ms_rng_below(rng, 5);
        g_autoptr(MsPartition) part = ms_partition_new(k, k, MS_PARTITION_MODULO);
        MsTime m[64], nx[8];
        gboolean uniform = round % 4 == 0;
        for (guint32 p = 0; p < k; p++) {
            nx[p] = ms_rng_below(rng, 8) == 0 ? inf : (MsTime) ms_rng_below(rng, 1000);
            for (guint32 q = 0; q < k; q++) {
                if (uniform)
                    m[p * k + q] = 10;
                else if (q < p)
                    m[p * k + q] = m[q * k + p]; /* links carry both ways */
                else
                    m[p * k + q] = ms_rng_below(rng, 4) == 0
                                       ? inf
                                       : 10 + (MsTime) ms_rng_below(rng, 200);
            }
        }
        for (guint32 self = 0; self < k; self++) {
            g_autoptr(MsEngine) en = ms_engine_new(1);
            g_autoptr(MsShard) sh = ms_shard_new(en, part, self, 10);
            ms_shard_set_pair_lookahead(sh, m);
            MsTime want = bound_brute(nx, m, k, self);
            CU_ASSERT_EQUAL(ms_shard_safe_bound(sh, nx), want);
            if (uniform)
                CU_ASSERT_EQUAL(ms_shard_safe_until(nx, k, self, 10), want);
        }
    }
}

static void
on_noop(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    (void) e;
    (void) ev;
    (void) ud;
}

/* Reach: part 0's pending events can reach part 1 at 30 at the soonest,
 * part 1's reach part 0 at 50: part 0 may run until 40 (its own events
 * out at 30 and back one lookahead later), part 1 until 30; never less
 * than the bound from next events alone, and that bound without reach. The
 * outbox's reach is the least (time + reach of the host) it holds, and an
 * engine's is ms_engine_next_reach() over the reach of its hosts. */
static void
test_reach_bound(void)
{
    g_autoptr(MsPartition) two = ms_partition_new(4, 2, MS_PARTITION_MODULO);
    g_autoptr(MsEngine) e0 = ms_engine_new(1);
    g_autoptr(MsEngine) e1 = ms_engine_new(1);
    g_autoptr(MsShard) s0 = ms_shard_new(e0, two, 0, 10);
    g_autoptr(MsShard) s1 = ms_shard_new(e1, two, 1, 10);
    const MsTime next[2] = { 0, 0 };
    const MsTime reach[2] = { 30, 50 };
    CU_ASSERT_EQUAL(ms_shard_reach_bound(s0, next, reach), ms_shard_safe_bound(s0, next));
    CU_ASSERT_FALSE(ms_shard_has_reach(s0));
    /* Hosts 0 and 2 are part 0's, 1 and 3 part 1's. */
    const MsTime host_reach[4] = { 25, 12, 40, 60 };
    ms_shard_set_reach(s0, host_reach);
    ms_shard_set_reach(s1, host_reach);
    CU_ASSERT_TRUE(ms_shard_has_reach(s0));
    CU_ASSERT_EQUAL(ms_shard_reach_bound(s0, next, reach), 40);
    CU_ASSERT_EQUAL(ms_shard_reach_bound(s1, next, reach), 30);
    const MsTime late[2] = { 100, 100 };
    CU_ASSERT_EQUAL(ms_shard_reach_bound(s0, late, reach), ms_shard_safe_bound(s0, late));
    guint16 type = ms_engine_register(e0, "x", on_noop, NULL);
    ms_engine_register(e1, "x", on_noop, NULL);
    CU_ASSERT_EQUAL(ms_shard_next_reach(s0), MS_TIME_INFINITE);
    ms_shard_schedule_from(s0, 0, 100, 0, type, (MsEventData){ { 0 } });
    ms_shard_schedule_from(s0, 2, 70, 2, type, (MsEventData){ { 0 } });
    CU_ASSERT_EQUAL(ms_shard_next_reach(s0), 110); /* 70 + 40, before 100 + 25 */
    ms_engine_schedule_from(e0, MS_HOST_WORLD, 95, MS_HOST_WORLD, type, (MsEventData){ { 0 } });
    CU_ASSERT_EQUAL(ms_shard_next_reach(s0), 110); /* 95 + 25 (part 0's nearest host) */
    ms_engine_schedule_from(e0, MS_HOST_WORLD, 80, MS_HOST_WORLD, type, (MsEventData){ { 0 } });
    CU_ASSERT_EQUAL(ms_shard_next_reach(s0), 105);
    ms_engine_run(e0, 20);
    ms_shard_schedule_from(s0, 0, 40, 1, type, (MsEventData){ { 0 } });
    ms_shard_schedule_from(s0, 0, 45, 3, type, (MsEventData){ { 0 } });
    CU_ASSERT_EQUAL(ms_shard_outbox_reach(s0, 1), 52); /* 40 + 12 */
    ms_shard_clear_outboxes(s0);
    CU_ASSERT_EQUAL(ms_shard_outbox_reach(s0, 1), MS_TIME_INFINITE);
}

/* --- packets crossing parts (sim/net/net.c) ------------------------------- */

/* Two hosts on one link, each its own part: an engine, a network and a
 * shard per part, the outbox moved by hand. */
typedef struct {
    MsEngine *e[2];
    MsNet *net[2];
    MsShard *shard[2];
    MsPartition *p;
    guint16 ev_send;
    guint named;               /* names the receiver turned into tags */
    GBytes *sent[3];           /* payloads sent, as the sender had them */
    const GBytes *got_payload[3]; /* as the receiver saw them */
    GBytes *got_copy[3];
    guint32 got_tag[3];
    guint got;
} Cross;

static const char *
cross_tag_out(gpointer data, guint32 tag)
{
    (void) data;
    return tag == 7 ? "<m.1@h0>" : tag == 9 ? "<m.2@h0>" : NULL;
}

static guint32
cross_tag_in(gpointer data, const char *name)
{
    Cross *c = data;
    c->named++;
    return strcmp(name, "<m.1@h0>") == 0 ? 70 : strcmp(name, "<m.2@h0>") == 0 ? 90 : 0;
}

static void
cross_receive(MsNet *net, MsHostId host, const MsPacket *p, gpointer data)
{
    Cross *c = data;
    (void) net;
    CU_ASSERT_EQUAL(host, 1);
    if (c->got < G_N_ELEMENTS(c->got_tag)) {
        c->got_payload[c->got] = p->payload;
        c->got_copy[c->got] = p->payload ? g_bytes_ref(p->payload) : NULL;
        c->got_tag[c->got++] = p->message;
    }
}

/* Host 0 sends three datagrams to host 1: tags 7, 7 and 9. */
static void
cross_send(MsEngine *e, const MsEvent *ev, gpointer data)
{
    Cross *c = data;
    (void) e;
    (void) ev;
    static const guint32 tags[3] = { 7, 7, 9 };
    for (guint i = 0; i < 3; i++) {
        MsPacket p = { 0 };
        p.dst_addr = ms_net_host_addr(c->net[0], 1);
        p.proto = MS_IPPROTO_UDP;
        g_autofree char *text = g_strdup_printf("datagram %u", i);
        p.payload = g_bytes_new(text, strlen(text));
        c->sent[i] = g_bytes_ref(p.payload);
        p.message = tags[i];
        ms_net_send(c->net[0], 0, &p);
    }
}

static void
cross_init2(Cross *c, gboolean in_process0, gboolean in_process1)
{
    memset(c, 0, sizeof *c);
    static const guint32 owners[2] = { 0, 1 };
    c->p = ms_partition_new_map(2, 2, owners);
    static const MsLinkParams lp = { MS_TIME_MS, 8000000, 1500, 0.0, 65536 };
    for (guint k = 0; k < 2; k++) {
        c->e[k] = ms_engine_new(1);
        c->net[k] = ms_net_new(c->e[k]);
        ms_net_add_host(c->net[k], "h0", 0x0a000001, MS_ROLE_CLIENT, NULL);
        ms_net_add_host(c->net[k], "h1", 0x0a000002, MS_ROLE_CLIENT, NULL);
        ms_net_add_link(c->net[k], 0, 1, &lp, NULL);
        c->shard[k] = ms_shard_new(c->e[k], c->p, k, MS_TIME_MS);
        ms_shard_set_in_process(c->shard[k], k == 0 ? in_process0 : in_process1);
        ms_net_attach_shard(c->net[k], c->shard[k]);
        ms_net_set_tag_codec(c->net[k], cross_tag_out, cross_tag_in, c);
        ms_net_set_receiver(c->net[k], MS_IPPROTO_UDP, cross_receive, c);
    }
    c->ev_send = ms_engine_register(c->e[0], "send", cross_send, c);
}

static void
cross_init(Cross *c, gboolean in_process)
{
    cross_init2(c, in_process, in_process);
}

static void
cross_clear(Cross *c)
{
    for (guint i = 0; i < 3; i++) {
        g_clear_pointer(&c->sent[i], g_bytes_unref);
        g_clear_pointer(&c->got_copy[i], g_bytes_unref);
    }
    for (guint k = 0; k < 2; k++) {
        ms_net_free(c->net[k]);
        ms_shard_free(c->shard[k]);
        ms_engine_free(c->e[k]);
    }
    ms_partition_free(c->p);
}

/* Runs part 0 (it sends), moves its outbox to part 1, runs part 1. */
static void
cross_run(Cross *c, gsize *outbox_bytes, guint64 *wire_bytes)
{
    ms_engine_schedule(c->e[0], 0, 0, c->ev_send, (MsEventData){ { 0 } });
    ms_shard_run_until(c->shard[0], MS_TIME_MS, 10 * MS_TIME_MS);
    gsize n = 0;
    const guint8 *bytes = ms_shard_outbox(c->shard[0], 1, &n);
    *outbox_bytes = n;
    *wire_bytes = ms_shard_outbox_wire_bytes(c->shard[0], 1);
    CU_ASSERT_EQUAL(ms_shard_outbox_events(c->shard[0], 1), 3);
    CU_ASSERT(ms_shard_deliver(c->shard[1], bytes, n));
    ms_shard_clear_outboxes(c->shard[0]);
    ms_engine_run(c->e[1], 10 * MS_TIME_MS);
    CU_ASSERT_EQUAL(c->got, 3);
}

/* The same datagrams arrive, with the receiver's tags, whether the
 * payload travels as bytes (MPI) or by reference (one process); each
 * name is sent and looked up once per pair of parts. */
static void
test_packets_cross(void)
{
    gsize box[2];
    guint64 wire[2];
    for (int by_ref = 0; by_ref < 2; by_ref++) {
        Cross c;
        cross_init(&c, by_ref);
        cross_run(&c, &box[by_ref], &wire[by_ref]);
        for (guint i = 0; i < 3; i++) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(c.got_copy[i]);
            CU_ASSERT(g_bytes_equal(c.got_copy[i], c.sent[i]));
            /* By reference the receiver holds the very GBytes sent. */
            CU_ASSERT_EQUAL(c.got_payload[i] == c.sent[i], by_ref);
        }
        CU_ASSERT_EQUAL(c.got_tag[0], 70);
        CU_ASSERT_EQUAL(c.got_tag[1], 70);
        CU_ASSERT_EQUAL(c.got_tag[2], 90);
        CU_ASSERT_EQUAL(c.named, 2); /* tag 7's name went once */
        cross_clear(&c);
    }
    /* Three events, names for two: by bytes the payloads are in the
     * outbox; by reference they are not, but counted as if they were. */
    CU_ASSERT(box[0] >= box[1] + 3 * (strlen("datagram 0") - 7)); /* less padding */
    CU_ASSERT_EQUAL(wire[0], box[0]);
    CU_ASSERT_EQUAL(wire[1], wire[0]);
    /* References never reach a shard that is not in process (as an MPI
     * rank's is not): refused, and taken once it is. */
    Cross r;
    cross_init2(&r, TRUE, FALSE);
    ms_engine_schedule(r.e[0], 0, 0, r.ev_send, (MsEventData){ { 0 } });
    ms_shard_run_until(r.shard[0], MS_TIME_MS, 10 * MS_TIME_MS);
    gsize n = 0;
    const guint8 *bytes = ms_shard_outbox(r.shard[0], 1, &n);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*in_process*");
    CU_ASSERT(!ms_shard_deliver(r.shard[1], bytes, n));
    g_test_assert_expected_messages();
    ms_shard_set_in_process(r.shard[1], TRUE);
    CU_ASSERT(ms_shard_deliver(r.shard[1], bytes, n));
    ms_engine_run(r.e[1], 10 * MS_TIME_MS);
    CU_ASSERT_EQUAL(r.got, 3);
    CU_ASSERT(r.got_payload[0] == r.sent[0]);
    cross_clear(&r);
    /* The mode changes only with empty outboxes. */
    Cross c;
    cross_init(&c, FALSE);
    ms_shard_schedule_from(c.shard[0], 0, MS_TIME_MS, 1, c.ev_send, (MsEventData){ { 0 } });
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*len == 0*");
    ms_shard_set_in_process(c.shard[0], TRUE);
    g_test_assert_expected_messages();
    CU_ASSERT(!ms_shard_in_process(c.shard[0]));
    cross_clear(&c);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "partition owners", test_partition_owner_table },
        { "partition counts add up", test_partition_counts_add_up },
        { "partition scheme names", test_partition_scheme_names },
        { "PHOLD split 1..5 ways = sequential", test_phold_split_matches_sequential },
        { "PHOLD digest tells runs apart", test_phold_digest_differs },
        { "equal times split 2..6 ways = sequential", test_ties_split_matches_sequential },
        { "outbox and deliver", test_outbox_and_deliver },
        { "window bounds", test_window_bounds },
        { "lookahead per pair: the bound of each part", test_pair_lookahead_bound },
        { "reach: windows end where the pending events are", test_reach_bound },
        { "packets cross parts: by bytes or by reference, names once", test_packets_cross },
        { NULL, NULL },
    };
    return ms_test_main("shard", cases);
}
