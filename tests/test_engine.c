/* Tests of the event engine: order, ties, cancel, run-until boundaries,
 * counters (per host too), the run fingerprint and two engines in two threads. */
#include "testlib.h"
#include "mailsim/engine.h"
#include "mailsim/engine_remote.h"
#include "mailsim/phold.h"

typedef struct {
    GArray *log; /* guint64: (at << 16) | tag, in run order */
    guint16 type;
    MsEventId cancel_me;
    gboolean cancel_result;
} Recorder;

static void
on_record(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    Recorder *r = ud;
    guint64 v = ((guint64) ev->at << 16) | ev->data.u32[0];
    g_array_append_val(r->log, v);
    (void) e;
}

static guint64
tag_at(Recorder *r, guint i)
{
    return g_array_index(r->log, guint64, i) & 0xffff;
}

static MsEventData
tag(guint32 t)
{
    MsEventData d = { { 0 } };
    d.u32[0] = t;
    return d;
}

static void
test_order_by_time(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    MsTime times[] = { 50, 10, 40, 20, 30, 0, 1000 };
    for (guint i = 0; i < G_N_ELEMENTS(times); i++)
        ms_engine_schedule(e, times[i], 0, r.type, tag(i));
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_IDLE);
    CU_ASSERT_EQUAL(r.log->len, G_N_ELEMENTS(times));
    for (guint i = 1; i < r.log->len; i++)
        CU_ASSERT(g_array_index(r.log, guint64, i - 1) >> 16 <= g_array_index(r.log, guint64, i) >>
                  16);
    CU_ASSERT_EQUAL(ms_engine_now(e), 1000);
    g_array_free(r.log, TRUE);
}

/* Equal times: ordered by scheduling host, then by that host's counter,
 * whatever the order of the schedule calls. */
static void
test_ties_by_host_then_counter(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    ms_engine_schedule_from(e, 7, 100, 0, r.type, tag(70));
    ms_engine_schedule_from(e, 3, 100, 0, r.type, tag(30));
    ms_engine_schedule_from(e, 7, 100, 0, r.type, tag(71));
    ms_engine_schedule_from(e, MS_HOST_WORLD, 100, 0, r.type, tag(99));
    ms_engine_schedule_from(e, 3, 100, 0, r.type, tag(31));
    ms_engine_schedule_from(e, 5, 100, 0, r.type, tag(50));
    ms_engine_run(e, MS_TIME_INFINITE);
    guint64 expect[] = { 30, 31, 50, 70, 71, 99 };
    CU_ASSERT_EQUAL_FATAL(r.log->len, G_N_ELEMENTS(expect));
    for (guint i = 0; i < G_N_ELEMENTS(expect); i++)
        CU_ASSERT_EQUAL(tag_at(&r, i), expect[i]);
    g_array_free(r.log, TRUE);
}

/* Events counted per host where they run (the pilot's weights): hosts
 * beyond the array and MS_HOST_WORLD are not counted, a cancelled event
 * is not, and NULL stops the counting. */
static void
test_count_host_events(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    guint64 counts[3] = { 0, 0, 0 };
    ms_engine_count_host_events(e, counts, 3);
    ms_engine_schedule(e, 10, 0, r.type, tag(0));
    ms_engine_schedule(e, 20, 2, r.type, tag(1));
    ms_engine_schedule(e, 30, 2, r.type, tag(2));
    ms_engine_schedule(e, 40, 5, r.type, tag(3));
    ms_engine_schedule(e, 50, MS_HOST_WORLD, r.type, tag(4));
    MsEventId gone = ms_engine_schedule(e, 60, 1, r.type, tag(5));
    CU_ASSERT(ms_engine_cancel(e, gone));
    ms_engine_run(e, 100);
    CU_ASSERT_EQUAL(counts[0], 1);
    CU_ASSERT_EQUAL(counts[1], 0);
    CU_ASSERT_EQUAL(counts[2], 2);
    ms_engine_count_host_events(e, NULL, 0);
    ms_engine_schedule(e, 200, 0, r.type, tag(6));
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(counts[0], 1);
    CU_ASSERT_EQUAL(r.log->len, 6);
    g_array_free(r.log, TRUE);
}

static void
test_cancel(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    MsEventId a = ms_engine_schedule(e, 10, 0, r.type, tag(1));
    MsEventId b = ms_engine_schedule(e, 20, 0, r.type, tag(2));
    CU_ASSERT_TRUE(ms_engine_cancel(e, a));
    CU_ASSERT_FALSE(ms_engine_cancel(e, a)); /* twice */
    CU_ASSERT_FALSE(ms_engine_cancel(e, 0)); /* never valid */
    MsEngineStats st;
    ms_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.pending, 1);
    CU_ASSERT_EQUAL(st.cancelled, 1);
    CU_ASSERT_EQUAL(ms_engine_next_time(e), 20);
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(r.log->len, 1);
    CU_ASSERT_EQUAL(tag_at(&r, 0), 2);
    CU_ASSERT_FALSE(ms_engine_cancel(e, b)); /* already ran */
    /* A stale handle must not cancel the event that reuses its slot. */
    MsEventId c = ms_engine_schedule(e, 30, 0, r.type, tag(3));
    CU_ASSERT_FALSE(ms_engine_cancel(e, b));
    CU_ASSERT_FALSE(ms_engine_cancel(e, a));
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(r.log->len, 2);
    CU_ASSERT_FALSE(ms_engine_cancel(e, c));
    g_array_free(r.log, TRUE);
}

static void
on_cancel_self(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    Recorder *r = ud;
    r->cancel_result = ms_engine_cancel(e, r->cancel_me);
    on_record(e, ev, ud);
}

static void
test_cancel_running_event(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, TRUE };
    guint16 t = ms_engine_register(e, "self", on_cancel_self, &r);
    r.cancel_me = ms_engine_schedule(e, 5, 0, t, tag(1));
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_FALSE(r.cancel_result);
    CU_ASSERT_EQUAL(r.log->len, 1);
    g_array_free(r.log, TRUE);
}

/* Run-until: an event exactly at the limit runs; one just after does not,
 * and the clock stands at the limit. */
static void
test_run_until_boundary(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    ms_engine_schedule(e, 100, 0, r.type, tag(1));
    ms_engine_schedule(e, 101, 0, r.type, tag(2));
    CU_ASSERT_EQUAL(ms_engine_run(e, 100), MS_ENGINE_UNTIL);
    CU_ASSERT_EQUAL(r.log->len, 1);
    CU_ASSERT_EQUAL(ms_engine_now(e), 100);
    CU_ASSERT_EQUAL(ms_engine_run(e, 150), MS_ENGINE_IDLE);
    CU_ASSERT_EQUAL(r.log->len, 2);
    CU_ASSERT_EQUAL(ms_engine_now(e), 150);
    /* scheduling at now is allowed and runs */
    ms_engine_schedule_in(e, 0, 0, r.type, tag(3));
    CU_ASSERT_TRUE(ms_engine_step(e));
    CU_ASSERT_FALSE(ms_engine_step(e));
    CU_ASSERT_EQUAL(r.log->len, 3);
    g_array_free(r.log, TRUE);
}

static void
test_time_overflow_saturates(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    ms_engine_schedule(e, 10, 0, r.type, tag(1));
    ms_engine_run(e, MS_TIME_INFINITE);
    ms_engine_schedule_in(e, MS_TIME_INFINITE - 5, 0, r.type, tag(2));
    CU_ASSERT_EQUAL(ms_engine_next_time(e), MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(ms_time_add(MS_TIME_INFINITE - 1, 7), MS_TIME_INFINITE);
    g_array_free(r.log, TRUE);
}

static guint stop_count;

static void
on_stop_at_three(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    guint *n = ud;
    (void) ev;
    if (++*n == 3)
        ms_engine_stop(e);
}

static void
test_stop_and_counters(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    guint n = 0;
    guint16 t = ms_engine_register(e, "stop", on_stop_at_three, &n);
    for (int i = 0; i < 5; i++)
        ms_engine_schedule(e, i, 0, t, tag(0));
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_STOPPED);
    MsEngineStats st;
    ms_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.processed, 3);
    CU_ASSERT_EQUAL(st.pending, 2);
    CU_ASSERT_EQUAL(st.peak_pending, 5);
    CU_ASSERT_EQUAL(st.scheduled, 5);
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_IDLE);
    ms_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.processed, 5);
    CU_ASSERT_EQUAL(st.pending, 0);
    stop_count = n;
    CU_ASSERT_EQUAL(stop_count, 5);
}

static gint
cmp_u64(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? -1 : x > y;
}

/* Many events through growth of both arrays, with cancellations mixed in,
 * against a sorted reference. */
static void
test_many_events_against_reference(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(42);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    MsRng rng;
    ms_rng_init(&rng, 7, 0);
    const guint n = 20000;
    GArray *expect = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < n; i++) {
        MsTime at = (MsTime) ms_rng_below(&rng, 5000);
        MsEventId id = ms_engine_schedule(e, at, 0, r.type, tag(i & 0xffff));
        if (i % 7 == 3)
            ms_engine_cancel(e, id);
        else {
            guint64 v = ((guint64) at << 32) | i; /* same host: ties by counter = i */
            g_array_append_val(expect, v);
        }
    }
    g_array_sort(expect, cmp_u64);
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL_FATAL(r.log->len, expect->len);
    guint64 *ex = (guint64 *) expect->data;
    guint bad = 0;
    for (guint i = 0; i < expect->len; i++) {
        guint64 got = g_array_index(r.log, guint64, i);
        if ((got >> 16) != (ex[i] >> 32) || (got & 0xffff) != ((ex[i] & 0xffffffff) & 0xffff))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    g_array_free(expect, TRUE);
    g_array_free(r.log, TRUE);
}

static void
test_fingerprint_deterministic(void)
{
    MsPholdParams p = { 50, 3, 0.8, MS_TIME_MS, MS_TIME_MS, 200 * MS_TIME_MS, 9 };
    MsPholdResult a, b, c;
    ms_phold_run_engine(&p, &a);
    ms_phold_run_engine(&p, &b);
    p.seed = 10;
    ms_phold_run_engine(&p, &c);
    CU_ASSERT_EQUAL(a.events, b.events);
    CU_ASSERT_EQUAL(a.fingerprint, b.fingerprint);
    CU_ASSERT_NOT_EQUAL(a.fingerprint, c.fingerprint);
    /* The bare heap processes the same number of events. */
    p.seed = 9;
    MsPholdResult bare;
    ms_phold_run_bare(&p, &bare);
    CU_ASSERT_EQUAL(bare.events, a.events);
}

static gpointer
phold_thread(gpointer data)
{
    MsPholdResult *r = data;
    MsPholdParams p = { 200, 4, 0.9, MS_TIME_MS, MS_TIME_MS, 500 * MS_TIME_MS, 5 };
    ms_phold_run_engine(&p, r);
    return NULL;
}

/* Two engines in two threads give the results each gives alone. */
static void
test_two_engines_two_threads(void)
{
    MsPholdResult alone, r1, r2;
    phold_thread(&alone);
    GThread *t1 = g_thread_new("e1", phold_thread, &r1);
    GThread *t2 = g_thread_new("e2", phold_thread, &r2);
    g_thread_join(t1);
    g_thread_join(t2);
    CU_ASSERT_EQUAL(r1.fingerprint, alone.fingerprint);
    CU_ASSERT_EQUAL(r2.fingerprint, alone.fingerprint);
    CU_ASSERT_EQUAL(r1.events, alone.events);
}

static void
test_host_rng_streams_independent(void)
{
    g_autoptr(MsEngine) a = ms_engine_new(3);
    g_autoptr(MsEngine) b = ms_engine_new(3);
    /* Engine b touches other hosts' streams first: host 5's draws must not
     * change. */
    for (MsHostId h = 0; h < 3000; h += 100)
        ms_rng_next(ms_engine_host_rng(b, h));
    guint64 x = ms_rng_next(ms_engine_host_rng(a, 5));
    guint64 y = ms_rng_next(ms_engine_host_rng(b, 5));
    CU_ASSERT_EQUAL(x, y);
    CU_ASSERT_NOT_EQUAL(ms_rng_next(ms_engine_host_rng(a, 6)),
                        ms_rng_next(ms_engine_host_rng(a, 7)));
    /* pointers stay valid as more hosts appear */
    MsRng *p = ms_engine_host_rng(a, 1);
    ms_engine_host_rng(a, 100000);
    CU_ASSERT_PTR_EQUAL(p, ms_engine_host_rng(a, 1));
}

/* ---- the future-event set's tiers (near heap, wheel, far heap) -----------
 * Above a few hundred pending events the engine files events in buckets of
 * 2^k ns; the tests below put enough events in flight to turn that on and
 * aim at its boundaries. A reference keeps the exact run order
 * (at, src, seq) in a GTree. */

typedef struct {
    MsTime at;
    MsHostId src;
    guint64 seq;
    guint32 tag;
} RefEv;

static gint
ref_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
    const RefEv *x = a, *y = b;
    (void) unused;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct {
    MsEngine *e;
    guint16 type;
    GTree *pending;   /* RefEv -> RefEv, in run order (evs owns them) */
    GHashTable *seqs; /* src -> next seq (guint64 boxed in a pointer) */
    GArray *evs;      /* RefEv *, by tag */
    GArray *ids;      /* MsEventId, by tag */
    GArray *live;     /* tags pending, for picking one to cancel */
    GArray *live_pos; /* tag -> index in live, or G_MAXUINT */
    MsRng rng;
    guint dist; /* delay distribution, see model_delay() */
    guint64 ran, mismatches, cancels, stale_ok;
    gboolean actions; /* handlers schedule and cancel */
} Model;

static MsTime
model_delay(Model *m)
{
    guint64 r = ms_rng_below(&m->rng, 100);
    switch (m->dist) {
    case 0: /* dense ties: a handful of distinct times */
        return (MsTime) ms_rng_below(&m->rng, 4);
    case 1: /* exponential, some zero delays */
        return r < 10 ? 0 : (MsTime) ms_rng_exponential(&m->rng, 1000.0);
    case 2: /* mostly near, a tail very far away, some at the end of time */
        if (r < 2)
            return MS_TIME_INFINITE;
        if (r < 4)
            return MS_TIME_INFINITE - 1 - (MsTime) ms_rng_below(&m->rng, 3);
        if (r < 10)
            return (MsTime) 1e15 + (MsTime) ms_rng_below(&m->rng, 1000);
        return (MsTime) ms_rng_below(&m->rng, 5000);
    case 4: {
        /* clumps on a grid of absolute times, zero delays and a spread:
         * buckets that hold many events (left in the near heap) beside
         * buckets of a few (the sorted run), and events that join the near
         * heap while a run drains */
        MsTime now = ms_engine_now(m->e), grid = 2048;
        if (r < 30)
            return (now / grid + 1 + (MsTime) ms_rng_below(&m->rng, 4)) * grid - now;
        if (r < 40)
            return 0;
        return (MsTime) ms_rng_exponential(&m->rng, 3000.0);
    }
    default: {
        /* powers of two, small multiples of them and their neighbours:
         * bucket edges and the far edge of the bucket window */
        MsTime p = (MsTime) 1 << ms_rng_below(&m->rng, 40);
        return p + p / 8 * (MsTime) ms_rng_below(&m->rng, 8) + (MsTime) ms_rng_below(&m->rng, 3) -
               1;
    }
    }
}

static void
model_live_add(Model *m, guint32 tag)
{
    guint pos = m->live->len;
    g_array_append_val(m->live, tag);
    if (m->live_pos->len <= tag)
        g_array_set_size(m->live_pos, tag + 1);
    g_array_index(m->live_pos, guint, tag) = pos;
}

static void
model_live_remove(Model *m, guint32 tag)
{
    guint pos = g_array_index(m->live_pos, guint, tag);
    guint32 last = g_array_index(m->live, guint32, m->live->len - 1);
    g_array_index(m->live, guint32, pos) = last;
    g_array_index(m->live_pos, guint, last) = pos;
    g_array_set_size(m->live, m->live->len - 1);
    g_array_index(m->live_pos, guint, tag) = G_MAXUINT;
}

/* Schedules one event as `src` at `at`, in the engine and the reference. */
static void
model_schedule(Model *m, MsHostId src, MsTime at, gboolean inside)
{
    guint32 t = m->evs->len;
    MsHostId host = (MsHostId) ms_rng_below(&m->rng, 64);
    MsEventId id = inside ? ms_engine_schedule(m->e, at, host, m->type, tag(t))
                          : ms_engine_schedule_from(m->e, src, at, host, m->type, tag(t));
    RefEv *ev = g_new(RefEv, 1);
    gpointer key = GUINT_TO_POINTER(src);
    guint64 seq = GPOINTER_TO_SIZE(g_hash_table_lookup(m->seqs, key));
    g_hash_table_insert(m->seqs, key, GSIZE_TO_POINTER(seq + 1));
    *ev = (RefEv){ at, src, seq, t };
    g_tree_insert(m->pending, ev, ev);
    g_array_append_val(m->evs, ev);
    g_array_append_val(m->ids, id);
    model_live_add(m, t);
}

static void
model_cancel_some(Model *m)
{
    guint64 r = ms_rng_below(&m->rng, 100);
    if (r < 8 && m->live->len > 0) {
        guint32 tag = g_array_index(m->live, guint32, ms_rng_below(&m->rng, m->live->len));
        if (!ms_engine_cancel(m->e, g_array_index(m->ids, MsEventId, tag)))
            m->mismatches++;
        g_tree_remove(m->pending, g_array_index(m->evs, RefEv *, tag));
        model_live_remove(m, tag);
        m->cancels++;
    } else if (r < 12 && m->evs->len > 0) {
        /* any handle not pending (ran or cancelled) must not cancel */
        guint32 tag = (guint32) ms_rng_below(&m->rng, m->evs->len);
        if (tag < m->live_pos->len && g_array_index(m->live_pos, guint, tag) == G_MAXUINT) {
            if (ms_engine_cancel(m->e, g_array_index(m->ids, MsEventId, tag)))
                m->mismatches++;
            else
                m->stale_ok++;
        }
    }
}

static void
on_model(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    Model *m = ud;
    RefEv *want = g_tree_node_value(g_tree_node_first(m->pending));
    if (want->at != ev->at || want->src != ev->src || want->seq != ev->seq ||
        want->tag != ev->data.u32[0] || ms_engine_now(e) != ev->at ||
        ms_engine_current_host(e) != ev->host)
        m->mismatches++;
    g_tree_remove(m->pending, want);
    model_live_remove(m, ev->data.u32[0]);
    m->ran++;
    if (!m->actions)
        return;
    guint64 k = ms_rng_below(&m->rng, 4); /* 0, 1, 1 or 2 new events */
    for (guint64 i = 0; i < (k + 1) / 2; i++)
        model_schedule(m, ev->host, ms_time_add(ev->at, model_delay(m)), TRUE);
    model_cancel_some(m);
}

static MsTime
model_next_time(Model *m)
{
    GTreeNode *n = g_tree_node_first(m->pending);
    return n ? ((RefEv *) g_tree_node_value(n))->at : MS_TIME_INFINITE;
}

/* Random schedules (inside and outside handlers, many sources), cancels,
 * stale cancels, run-until limits, steps and next-time queries, against
 * the reference, for each delay distribution and a size that grows the set
 * past the wheel's threshold and shrinks it back. */
static void
test_model_against_reference(void)
{
    for (guint dist = 0; dist < 5; dist++) {
        g_autoptr(MsEngine) e = ms_engine_new(dist);
        Model m = { 0 };
        m.e = e;
        m.dist = dist;
        m.type = ms_engine_register(e, "model", on_model, &m);
        m.pending = g_tree_new_full(ref_cmp, NULL, NULL, NULL);
        m.seqs = g_hash_table_new(NULL, NULL);
        m.evs = g_array_new(FALSE, FALSE, sizeof(RefEv *));
        m.ids = g_array_new(FALSE, FALSE, sizeof(MsEventId));
        m.live = g_array_new(FALSE, FALSE, sizeof(guint32));
        m.live_pos = g_array_new(FALSE, TRUE, sizeof(guint));
        ms_rng_init(&m.rng, 99, dist);
        m.actions = TRUE;
        guint64 checks = 0, bad_time = 0, bad_pending = 0;
        for (guint round = 0; round < 60; round++) {
            /* grow for 20 rounds, hold, then drain */
            guint add = round < 20 ? 1500 : round < 40 ? 50 : 0;
            for (guint i = 0; i < add; i++) {
                MsHostId src = ms_rng_below(&m.rng, 10) == 0 ? MS_HOST_WORLD
                                                             : (MsHostId) ms_rng_below(&m.rng, 40);
                model_schedule(&m, src, ms_time_add(ms_engine_now(e), model_delay(&m)), FALSE);
                model_cancel_some(&m);
            }
            m.actions = round < 40;
            if (ms_engine_next_time(e) != model_next_time(&m))
                bad_time++;
            MsTime now = ms_engine_now(e);
            switch (round % 3) {
            case 0: {
                MsTime until = ms_time_add(now, (MsTime) ms_rng_below(&m.rng, 3000));
                MsEngineResult res = ms_engine_run(e, until);
                if (res == MS_ENGINE_UNTIL && ms_engine_now(e) != until)
                    bad_time++;
                break;
            }
            case 1:
                for (guint i = 0; i < 500 && ms_engine_step(e); i++)
                    ;
                break;
            default:
                /* exactly up to the next event time: that event runs */
                ms_engine_run(e,
                              model_next_time(&m) == MS_TIME_INFINITE ? now : model_next_time(&m));
                break;
            }
            MsEngineStats st;
            ms_engine_get_stats(e, &st);
            if (st.pending != (guint64) g_tree_nnodes(m.pending))
                bad_pending++;
            checks++;
        }
        ms_engine_run(e, MS_TIME_INFINITE);
        MsEngineStats st;
        ms_engine_get_stats(e, &st);
        CU_ASSERT_EQUAL(m.mismatches, 0);
        CU_ASSERT_EQUAL(bad_time, 0);
        CU_ASSERT_EQUAL(bad_pending, 0);
        CU_ASSERT_EQUAL(g_tree_nnodes(m.pending), 0);
        CU_ASSERT_EQUAL(st.pending, 0);
        CU_ASSERT_EQUAL(st.processed, m.ran);
        CU_ASSERT_EQUAL(st.cancelled, m.cancels);
        CU_ASSERT_EQUAL(st.scheduled, m.evs->len);
        CU_ASSERT(st.peak_pending > 3000); /* well past the wheel threshold */
        if (g_getenv("MS_TEST_VERBOSE"))
            g_printerr("dist %u: peak %" G_GUINT64_FORMAT " ran %" G_GUINT64_FORMAT
                       " cancels %" G_GUINT64_FORMAT "\n",
                       dist, st.peak_pending, m.ran, m.cancels);
        CU_ASSERT(m.stale_ok > 0);
        CU_ASSERT(checks == 60);
        for (guint i = 0; i < m.evs->len; i++)
            if (g_array_index(m.live_pos, guint, i) != G_MAXUINT)
                bad_pending++;
        g_tree_destroy(m.pending);
        g_hash_table_destroy(m.seqs);
        for (guint i = 0; i < m.evs->len; i++)
            g_free(g_array_index(m.evs, RefEv *, i));
        g_array_free(m.evs, TRUE);
        g_array_free(m.ids, TRUE);
        g_array_free(m.live, TRUE);
        g_array_free(m.live_pos, TRUE);
    }
}

/* Fills an engine with `n` filler events far from the times under test,
 * so that the bucketed tiers are in use. */
static void
add_filler(MsEngine *e, guint16 type, guint n, MsTime base)
{
    for (guint i = 0; i < n; i++)
        ms_engine_schedule_from(e, 1000 + i % 50, base + (MsTime) i * 7, 0, type, tag(0xffff));
}

static void
check_log_sorted_by(Recorder *r, const guint64 *expect, guint n)
{
    guint j = 0, bad = 0;
    for (guint i = 0; i < r->log->len; i++) {
        if (tag_at(r, i) == 0xffff)
            continue;
        if (j >= n || tag_at(r, i) != expect[j])
            bad++;
        j++;
    }
    CU_ASSERT_EQUAL(j, n);
    CU_ASSERT_EQUAL(bad, 0);
}

/* Equal times on both sides of bucket edges (2^k - 1, 2^k, 2^k + 1 for
 * every k), scheduled in scrambled order from several sources. */
static void
test_equal_times_across_bucket_edges(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    add_filler(e, r.type, 3000, 100);
    GArray *ref = g_array_new(FALSE, FALSE, sizeof(RefEv));
    guint64 seqs[8] = { 0 };
    guint32 t = 0;
    for (guint k = 4; k < 40; k++)
        for (int d = -1; d <= 1; d++)
            for (guint rep = 0; rep < 3; rep++) {
                MsHostId src = (MsHostId) ((k * 5 + (guint) (d + 1) * 3 + rep) % 8);
                MsTime at = ((MsTime) 1 << k) + d;
                ms_engine_schedule_from(e, src, at, 0, r.type, tag(t));
                RefEv v = { at, src, seqs[src]++, t++ };
                g_array_append_val(ref, v);
            }
    g_array_sort_with_data(ref, ref_cmp, NULL);
    guint64 *expect = g_new(guint64, ref->len);
    for (guint i = 0; i < ref->len; i++)
        expect[i] = g_array_index(ref, RefEv, i).tag;
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_IDLE);
    check_log_sorted_by(&r, expect, ref->len);
    g_free(expect);
    g_array_free(ref, TRUE);
    g_array_free(r.log, TRUE);
}

typedef struct {
    Recorder *r;
    guint16 type;
} Echo;

/* Each first-generation event schedules one more at now, from its host. */
static void
on_echo(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    Echo *x = ud;
    on_record(e, ev, x->r);
    if (ev->data.u32[0] < 100)
        ms_engine_schedule_in(e, 0, ev->host, x->type, tag(ev->data.u32[0] + 100));
}

/* Events scheduled at now while their time's bucket is being drained run
 * at that same time, in (src, seq) order among the others there. */
static void
test_schedule_at_now_while_draining(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    Echo x = { &r, 0 };
    x.type = ms_engine_register(e, "echo", on_echo, &x);
    add_filler(e, r.type, 3000, 1);
    /* at 5000: sources 10, 20, 30 address hosts 15, 25, 35, whose echoes
     * (src 15, 25, 35) fall between them. */
    const MsTime at = 5000;
    ms_engine_schedule_from(e, 30, at, 35, x.type, tag(3));
    ms_engine_schedule_from(e, 10, at, 15, x.type, tag(1));
    ms_engine_schedule_from(e, 20, at, 25, x.type, tag(2));
    ms_engine_run(e, MS_TIME_INFINITE);
    guint64 expect[] = { 1, 101, 2, 102, 3, 103 };
    check_log_sorted_by(&r, expect, G_N_ELEMENTS(expect));
    for (guint i = 0; i < r.log->len; i++)
        if (tag_at(&r, i) != 0xffff)
            CU_ASSERT_EQUAL(g_array_index(r.log, guint64, i) >> 16, (guint64) at);
    g_array_free(r.log, TRUE);
}

/* Cancelling events that sit in a bucket, in the near heap and in the far
 * tail; stale handles of run and of cancelled events stay harmless when
 * their slots are reused. */
static void
test_cancel_inside_buckets(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    const guint n = 6000;
    MsEventId *ids = g_new(MsEventId, n);
    for (guint i = 0; i < n; i++) {
        MsTime at = i < 5900 ? (MsTime) (i / 3) * 10 : (MsTime) 1e14 + i;
        ids[i] = ms_engine_schedule(e, at, 0, r.type, tag(i));
    }
    /* run a little so that the set has been tuned and a bucket is open */
    CU_ASSERT_EQUAL(ms_engine_run(e, 1000), MS_ENGINE_UNTIL);
    guint ran_before = r.log->len;
    CU_ASSERT_EQUAL(ran_before, 101 * 3);
    guint cancelled = 0;
    for (guint i = 0; i < n; i++) {
        gboolean pending = i >= ran_before;
        if (i % 3 == 1 || i >= 5950) {
            CU_ASSERT_EQUAL(ms_engine_cancel(e, ids[i]), pending);
            cancelled += pending;
        }
    }
    for (guint i = 0; i < n; i += 97)
        if (i % 3 == 1 || i >= 5950)
            CU_ASSERT_FALSE(ms_engine_cancel(e, ids[i])); /* twice */
    MsEngineStats st;
    ms_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.pending, n - ran_before - cancelled);
    /* reuse slots, then try every old handle again */
    for (guint i = 0; i < 500; i++)
        ms_engine_schedule(e, 2000 + i, 0, r.type, tag(0xffff));
    for (guint i = 0; i < n; i++)
        if (i < ran_before || i % 3 == 1 || i >= 5950)
            CU_ASSERT_FALSE(ms_engine_cancel(e, ids[i]));
    ms_engine_run(e, MS_TIME_INFINITE);
    guint bad = 0;
    guint last = 0;
    for (guint i = ran_before; i < r.log->len; i++) {
        guint t = (guint) tag_at(&r, i);
        if (t == 0xffff)
            continue;
        if (t % 3 == 1 || t >= 5950 || t < last)
            bad++;
        last = t;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(r.log->len, n - cancelled + 500);
    g_free(ids);
    g_array_free(r.log, TRUE);
}

/* Far future events, MS_TIME_INFINITE - 1 and MS_TIME_INFINITE, among a
 * dense crowd: each boundary of run-until on both sides. */
static void
test_far_future_and_end_of_time(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    add_filler(e, r.type, 3000, 0);
    ms_engine_schedule(e, MS_TIME_INFINITE, 0, r.type, tag(4));
    ms_engine_schedule(e, MS_TIME_INFINITE - 1, 0, r.type, tag(3));
    ms_engine_schedule(e, (MsTime) 1 << 62, 0, r.type, tag(2));
    ms_engine_schedule(e, (MsTime) 1e15, 0, r.type, tag(1));
    ms_engine_schedule_from(e, 0, MS_TIME_INFINITE - 1, 0, r.type, tag(5)); /* src 0 < world */
    CU_ASSERT_EQUAL(ms_engine_run(e, (MsTime) 1e15 - 1), MS_ENGINE_UNTIL);
    CU_ASSERT_EQUAL(r.log->len, 3000);
    CU_ASSERT_EQUAL(ms_engine_next_time(e), (MsTime) 1e15);
    CU_ASSERT_EQUAL(ms_engine_run(e, (MsTime) 1e15), MS_ENGINE_UNTIL);
    CU_ASSERT_EQUAL(r.log->len, 3001);
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE - 2), MS_ENGINE_UNTIL);
    CU_ASSERT_EQUAL(r.log->len, 3002);
    CU_ASSERT_EQUAL(ms_engine_now(e), MS_TIME_INFINITE - 2);
    CU_ASSERT_EQUAL(ms_engine_next_time(e), MS_TIME_INFINITE - 1);
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE - 1), MS_ENGINE_UNTIL);
    CU_ASSERT_EQUAL(r.log->len, 3004);
    CU_ASSERT_EQUAL(ms_engine_now(e), MS_TIME_INFINITE - 1);
    /* scheduled at now = the end of time minus one, from outside */
    ms_engine_schedule_in(e, 0, 0, r.type, tag(6));
    ms_engine_schedule_in(e, 5, 0, r.type, tag(7)); /* saturates */
    CU_ASSERT_EQUAL(ms_engine_next_time(e), MS_TIME_INFINITE - 1);
    CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_IDLE);
    CU_ASSERT_EQUAL(ms_engine_now(e), MS_TIME_INFINITE);
    guint64 expect[] = { 1, 2, 5, 3, 6, 4, 7 };
    check_log_sorted_by(&r, expect, G_N_ELEMENTS(expect));
    CU_ASSERT_EQUAL(ms_engine_next_time(e), MS_TIME_INFINITE);
    CU_ASSERT_FALSE(ms_engine_step(e));
    g_array_free(r.log, TRUE);
}

/* A burst of thousands of events at one time, in one bucket, arriving
 * after the set has been tuned to a sparse spread; then the set drains
 * empty and is refilled. */
static void
test_burst_in_one_bucket(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    for (guint round = 0; round < 3; round++) {
        MsTime base = ms_engine_now(e);
        for (guint i = 0; i < 5000; i++)
            ms_engine_schedule_from(e, i % 7, base + 1 + (MsTime) i * 1000, 0, r.type, tag(0xffff));
        ms_engine_run(e, base + 100000);
        for (guint i = 0; i < 6000; i++)
            ms_engine_schedule_from(e, 6 - i % 7, base + 2000000, 0, r.type, tag(i % 7));
        guint before = r.log->len;
        CU_ASSERT_EQUAL(ms_engine_run(e, MS_TIME_INFINITE), MS_ENGINE_IDLE);
        CU_ASSERT_EQUAL(r.log->len, before + 4900 + 6000);
        /* at base + 2 ms, src 0 first (tag 6) ... src 6 last (tag 0) */
        guint bad = 0, last = 6;
        for (guint i = before; i < r.log->len; i++) {
            guint64 v = g_array_index(r.log, guint64, i);
            if ((v >> 16) != (guint64) (base + 2000000))
                continue;
            guint t = (guint) (v & 0xffff);
            if (t > last)
                bad++;
            last = t;
        }
        CU_ASSERT_EQUAL(bad, 0);
    }
    g_array_free(r.log, TRUE);
}

/* PHOLD fingerprints recorded with the engine before the bucketed tiers
 * (a plain heap): the run order is the same, event for event. */
static void
test_phold_golden_fingerprints(void)
{
    static const struct {
        guint32 nodes, pop;
        double remote;
        MsTime lookahead, mean, end;
        guint64 seed, events, fingerprint;
    } cases[] = {
        { 2000, 4, 0.8, MS_TIME_MS, MS_TIME_MS, 200 * MS_TIME_MS, 9, 796410,
          0xbcac3e976f03b676ULL },
        { 3000, 2, 0.9, 1000, 1, 30000, 4, 174000, 0xd6ee2f3457d658e4ULL },
        { 500, 20, 0.9, 0, 3, 200, 11, 795327, 0x9991f57d39b30c0dULL },
        { 20000, 5, 0.9, 0, 100000, MS_TIME_MS, 6, 1000839, 0x6b7199400239a783ULL },
        { 300, 1, 0.5, 0, MS_TIME_MS, 50 * MS_TIME_MS, 12, 15258, 0x1a5d583d655815b6ULL },
        { 100, 3, 0.9, MS_TIME_MS, MS_TIME_MS, 100 * MS_TIME_MS, 13, 14892, 0x68783872cd71267bULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsPholdParams p = { cases[i].nodes, cases[i].pop, cases[i].remote, cases[i].lookahead,
                            cases[i].mean,  cases[i].end, cases[i].seed };
        MsPholdResult res;
        ms_phold_run_engine(&p, &res);
        CU_ASSERT_EQUAL(res.events, cases[i].events);
        CU_ASSERT_EQUAL(res.fingerprint, cases[i].fingerprint);
    }
}

/* The local filter of partitioned runs: set-up events for other parts'
 * hosts are not inserted but move the counters as if they were, so the
 * events kept carry the keys a whole engine would give them; the running
 * event's key is visible to handlers. */
static gboolean
even_hosts(gconstpointer ud, MsHostId host)
{
    (void) ud;
    return host % 2 == 0;
}

typedef struct {
    GArray *keys; /* (src << 32 | seq) of each event run */
    gboolean in_handler;
} KeyLog;

static void
on_key(MsEngine *e, const MsEvent *ev, gpointer ud)
{
    KeyLog *k = ud;
    MsHostId src;
    guint64 seq;
    k->in_handler = ms_engine_current_key(e, &src, &seq);
    CU_ASSERT_EQUAL(src, ev->src);
    CU_ASSERT_EQUAL(seq, ev->seq);
    guint64 v = (guint64) src << 32 | seq;
    g_array_append_val(k->keys, v);
}

static void
run_keys(gboolean filtered, GArray *out)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    KeyLog k = { out, FALSE };
    guint16 t = ms_engine_register(e, "k", on_key, &k);
    if (filtered)
        ms_engine_set_local_filter(e, even_hosts, NULL);
    MsHostId src;
    guint64 seq;
    CU_ASSERT(!ms_engine_current_key(e, &src, &seq));
    CU_ASSERT_EQUAL(src, MS_HOST_WORLD);
    for (guint32 h = 0; h < 6; h++) {
        MsEventId id = ms_engine_schedule_from(e, 7, 10, h, t, tag(h));
        CU_ASSERT(filtered && h % 2 ? id == 0 : id != 0);
    }
    ms_engine_schedule_from(e, MS_HOST_WORLD, 10, MS_HOST_WORLD, t,
                            tag(9)); /* every part runs it */
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT(k.in_handler);
}

static void
test_local_filter(void)
{
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(GArray) even = g_array_new(FALSE, FALSE, sizeof(guint64));
    run_keys(FALSE, all);
    run_keys(TRUE, even);
    CU_ASSERT_EQUAL_FATAL(all->len, 7);
    CU_ASSERT_EQUAL_FATAL(even->len, 4);
    /* The kept events have the keys they have in the whole engine. */
    for (guint i = 0, j = 0; i < all->len; i++) {
        guint64 v = g_array_index(all, guint64, i);
        if ((v & 0xffffffff) % 2 == 1 && (v >> 32) == 7)
            continue;
        CU_ASSERT_EQUAL(g_array_index(even, guint64, j), v);
        j++;
    }
}

static void
on_nothing(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    (void) engine;
    (void) ev;
    (void) user_data;
}

/* ms_engine_next_reach() against brute force: events in every tier (the
 * near heap and run, wheel buckets, the far tail; the wheel off with few
 * events), some cancelled, some for MS_HOST_WORLD or hosts past the delay
 * table, hosts that never reach (MS_TIME_INFINITE); again after each run
 * moves events between tiers. */
static void
test_next_reach_against_brute_force(void)
{
    MsRng rng;
    ms_rng_init(&rng, 11, 0);
    const guint32 hosts = 50;
    for (guint round = 0; round < 16; round++) {
        g_autoptr(MsEngine) e = ms_engine_new(round);
        guint16 type = ms_engine_register(e, "x", on_nothing, NULL);
        guint n = round % 2 ? 20000 : 100; /* the wheel on, or off */
        MsTime delay[50];
        for (guint32 h = 0; h < hosts; h++)
            delay[h] =
                ms_rng_below(&rng, 10) == 0 ? MS_TIME_INFINITE : (MsTime) ms_rng_below(&rng, 20000);
        MsTime other = 1 + (MsTime) ms_rng_below(&rng, 5000);
        g_autofree MsTime *at = g_new(MsTime, n);
        g_autofree MsHostId *host = g_new(MsHostId, n);
        g_autofree gboolean *cancelled = g_new0(gboolean, n);
        for (guint i = 0; i < n; i++) {
            at[i] = ms_rng_below(&rng, 20) == 0
                        ? (MsTime) 1000000000 + (MsTime) ms_rng_below(&rng, 1000000000)
                        : (MsTime) ms_rng_below(&rng, 1000000);
            guint64 pick = ms_rng_below(&rng, 20);
            host[i] = pick == 0   ? MS_HOST_WORLD
                      : pick == 1 ? hosts + 3
                                  : (MsHostId) ms_rng_below(&rng, hosts);
            MsEventId id = ms_engine_schedule(e, at[i], host[i], type, (MsEventData){ { 0 } });
            if (ms_rng_below(&rng, 10) == 0)
                cancelled[i] = ms_engine_cancel(e, id);
        }
        const MsTime until[] = {
            -1, 0, 1000, 100000, 500000, 999999, 1500000000, MS_TIME_INFINITE
        };
        for (guint u = 0; u < G_N_ELEMENTS(until); u++) {
            if (until[u] >= 0)
                ms_engine_run(e, until[u]);
            MsTime want = MS_TIME_INFINITE;
            for (guint i = 0; i < n; i++) {
                if (cancelled[i] || (until[u] >= 0 && at[i] <= until[u]))
                    continue;
                MsTime d = host[i] < hosts ? delay[host[i]] : other;
                want = MIN(want, ms_time_add(at[i], d));
            }
            CU_ASSERT_EQUAL(ms_engine_next_reach(e, delay, hosts, other), want);
        }
    }
    /* Only the far tail can reach: thousands of dense events on a host that
     * never reaches, one far one on a host that does. */
    g_autoptr(MsEngine) e = ms_engine_new(1);
    guint16 type = ms_engine_register(e, "x", on_nothing, NULL);
    const MsTime delay[2] = { MS_TIME_INFINITE, 7 };
    for (guint i = 0; i < 20000; i++)
        ms_engine_schedule(e, (MsTime) i * 50, 0, type, (MsEventData){ { 0 } });
    ms_engine_schedule(e, (MsTime) 1e13, 1, type, (MsEventData){ { 0 } });
    ms_engine_schedule(e, (MsTime) 2e13, 1, type, (MsEventData){ { 0 } });
    ms_engine_run(e, 10000);
    CU_ASSERT_EQUAL(ms_engine_next_reach(e, delay, 2, MS_TIME_INFINITE), (MsTime) 1e13 + 7);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "order by time", test_order_by_time },
        { "ties by host then counter", test_ties_by_host_then_counter },
        { "cancel", test_cancel },
        { "events counted per host", test_count_host_events },
        { "cancel the running event", test_cancel_running_event },
        { "run until boundary", test_run_until_boundary },
        { "time overflow saturates", test_time_overflow_saturates },
        { "stop and counters", test_stop_and_counters },
        { "many events against reference", test_many_events_against_reference },
        { "fingerprint deterministic", test_fingerprint_deterministic },
        { "two engines in two threads", test_two_engines_two_threads },
        { "host rng streams independent", test_host_rng_streams_independent },
        { "model against reference", test_model_against_reference },
        { "equal times across bucket edges", test_equal_times_across_bucket_edges },
        { "schedule at now while draining", test_schedule_at_now_while_draining },
        { "cancel inside buckets", test_cancel_inside_buckets },
        { "far future and end of time", test_far_future_and_end_of_time },
        { "burst in one bucket", test_burst_in_one_bucket },
        { "phold golden fingerprints", test_phold_golden_fingerprints },
        { "local filter of partitioned runs", test_local_filter },
        { "next reach against brute force", test_next_reach_against_brute_force },
        { NULL, NULL },
    };
    return ms_test_main("engine", cases);
}
