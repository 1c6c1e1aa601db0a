/* PHOLD benchmark workload (see include/mailsim/phold.h). Both variants
 * draw from the same per-host random streams in the same way, so they do
 * the same work per event; the bare one has no handler table, no payload,
 * no cancellation and no fingerprint, which is what its speed measures.
 *
 * The engine variant also runs as one part of a partitioned run (a shard,
 * include/mailsim/shard.h): it then sets up only the part's own hosts and
 * schedules through the shard. Each host keeps a hash chain of the events
 * it ran (one array load, a multiply-xorshift and a store per event), from
 * which ms_phold_digest() gives a split-independent digest: the engine's own
 * fingerprint hashes events in run order and counter numbers, which a split
 * changes. Costs: 8 bytes per host for the chains. */
#include "mailsim/phold.h"
#include "mailsim/rng.h"

struct _MsPhold {
    const MsPholdParams *p;
    MsEngine *engine;
    MsShard *shard; /* NULL: every host on this engine */
    guint16 type;
    guint64 *history; /* per host: hash chain over the events it ran */
};

static inline guint64
mix64(guint64 x)
{
    /* SplitMix64's finaliser. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline MsTime
draw_delay(MsRng *rng, const MsPholdParams *p)
{
    return p->lookahead + (MsTime) ms_rng_exponential(rng, (double) p->mean);
}

static inline guint32
draw_target(MsRng *rng, const MsPholdParams *p, guint32 self)
{
    if (p->nodes > 1 && ms_rng_uniform(rng) < p->remote) {
        guint32 t = (guint32) ms_rng_below(rng, p->nodes - 1);
        return t >= self ? t + 1 : t;
    }
    return self;
}

static void
on_phold(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsPhold *ph = user_data;
    guint64 *h = &ph->history[ev->host];
    *h = mix64(*h + (guint64) ev->at) ^ ev->src;
    MsRng *rng = ms_engine_host_rng(engine, ev->host);
    guint32 target = draw_target(rng, ph->p, ev->host);
    MsTime at = ms_time_add(ev->at, draw_delay(rng, ph->p));
    if (ph->shard)
        ms_shard_schedule(ph->shard, at, target, ph->type, (MsEventData){ { 0 } });
    else
        ms_engine_schedule(engine, at, target, ph->type, (MsEventData){ { 0 } });
}

MsPhold *
ms_phold_new(const MsPholdParams *p, MsEngine *engine, MsShard *shard)
{
    g_return_val_if_fail(p != NULL && engine != NULL && p->nodes >= 1, NULL);
    MsPhold *ph = g_new0(MsPhold, 1);
    ph->p = p;
    ph->engine = engine;
    ph->shard = shard;
    ph->history = g_new0(guint64, p->nodes);
    ph->type = ms_engine_register(engine, "phold", on_phold, ph);
    for (guint32 h = 0; h < p->nodes; h++) {
        if (shard && !ms_shard_is_local(shard, h))
            continue;
        MsRng *rng = ms_engine_host_rng(engine, h);
        for (guint32 k = 0; k < p->pop; k++) {
            MsTime at = draw_delay(rng, p);
            if (shard)
                ms_shard_schedule_from(shard, h, at, h, ph->type, (MsEventData){ { 0 } });
            else
                ms_engine_schedule_from(engine, h, at, h, ph->type, (MsEventData){ { 0 } });
        }
    }
    return ph;
}

void
ms_phold_free(MsPhold *ph)
{
    if (!ph)
        return;
    g_free(ph->history);
    g_free(ph);
}

guint64
ms_phold_digest(const MsPhold *ph)
{
    guint64 sum = 0;
    for (guint32 h = 0; h < ph->p->nodes; h++)
        if (!ph->shard || ms_shard_is_local(ph->shard, h))
            sum += mix64(mix64(h) ^ ph->history[h]);
    return sum;
}

void
ms_phold_run_engine(const MsPholdParams *p, MsPholdResult *r)
{
    g_autoptr(MsEngine) engine = ms_engine_new(p->seed);
    g_autoptr(MsPhold) ph = ms_phold_new(p, engine, NULL);
    gint64 t0 = g_get_monotonic_time();
    ms_engine_run(engine, p->end);
    gint64 t1 = g_get_monotonic_time();
    MsEngineStats st;
    ms_engine_get_stats(engine, &st);
    r->events = st.processed;
    r->wall_s = (double) (t1 - t0) / 1e6;
    r->fingerprint = ms_engine_fingerprint(engine);
    r->peak_pending = st.peak_pending;
    r->digest = ms_phold_digest(ph);
}

/* The yardstick: a textbook 4-ary heap of 24-byte records. */
typedef struct {
    MsTime at;
    guint64 seq;
    guint32 host;
} BareEvent;

static inline gboolean
bare_less(const BareEvent *a, const BareEvent *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
bare_push(GArray *heap, BareEvent ev)
{
    g_array_append_val(heap, ev);
    BareEvent *h = (BareEvent *) heap->data;
    guint i = heap->len - 1;
    while (i > 0) {
        guint parent = (i - 1) / 4;
        if (!bare_less(&ev, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = ev;
}

static BareEvent
bare_pop(GArray *heap)
{
    BareEvent *h = (BareEvent *) heap->data;
    BareEvent top = h[0];
    guint n = heap->len - 1;
    BareEvent last = h[n];
    g_array_set_size(heap, n);
    if (n == 0)
        return top;
    guint i = 0;
    for (;;) {
        guint c = 4 * i + 1;
        if (c >= n)
            break;
        guint best = c;
        for (guint j = c + 1; j < c + 4 && j < n; j++)
            if (bare_less(&h[j], &h[best]))
                best = j;
        if (!bare_less(&h[best], &last))
            break;
        h[i] = h[best];
        i = best;
    }
    h[i] = last;
    return top;
}

void
ms_phold_run_bare(const MsPholdParams *p, MsPholdResult *r)
{
    MsRng *rngs = g_new(MsRng, p->nodes);
    for (guint32 h = 0; h < p->nodes; h++)
        ms_rng_init(&rngs[h], p->seed, h);
    GArray *heap = g_array_sized_new(FALSE, FALSE, sizeof(BareEvent),
                                     (guint) MIN((guint64) p->nodes * p->pop, G_MAXUINT32 / 2));
    guint64 seq = 0;
    for (guint32 h = 0; h < p->nodes; h++)
        for (guint32 k = 0; k < p->pop; k++)
            bare_push(heap, (BareEvent){ draw_delay(&rngs[h], p), seq++, h });
    guint64 peak = heap->len;
    gint64 t0 = g_get_monotonic_time();
    guint64 events = 0, fp = 0;
    while (heap->len > 0 && ((BareEvent *) heap->data)[0].at <= p->end) {
        BareEvent ev = bare_pop(heap);
        events++;
        fp += (guint64) ev.at;
        MsRng *rng = &rngs[ev.host];
        guint32 target = draw_target(rng, p, ev.host);
        bare_push(heap, (BareEvent){ ms_time_add(ev.at, draw_delay(rng, p)), seq++, target });
    }
    gint64 t1 = g_get_monotonic_time();
    r->events = events;
    r->wall_s = (double) (t1 - t0) / 1e6;
    r->fingerprint = fp;
    r->peak_pending = peak;
    r->digest = 0;
    g_array_free(heap, TRUE);
    g_free(rngs);
}
