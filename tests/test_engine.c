/* Tests of the event engine: order, ties, cancel, run-until boundaries,
 * counters, the run fingerprint and two engines in two threads. */
#include "testlib.h"
#include "mailsim/engine.h"
#include "mailsim/phold.h"

typedef struct {
    GArray *log;      /* guint64: (at << 16) | tag, in run order */
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
        CU_ASSERT(g_array_index(r.log, guint64, i - 1) >> 16 <= g_array_index(r.log, guint64, i) >> 16);
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

static void
test_cancel(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    Recorder r = { g_array_new(FALSE, FALSE, sizeof(guint64)), 0, 0, FALSE };
    r.type = ms_engine_register(e, "rec", on_record, &r);
    MsEventId a = ms_engine_schedule(e, 10, 0, r.type, tag(1));
    MsEventId b = ms_engine_schedule(e, 20, 0, r.type, tag(2));
    CU_ASSERT_TRUE(ms_engine_cancel(e, a));
    CU_ASSERT_FALSE(ms_engine_cancel(e, a));       /* twice */
    CU_ASSERT_FALSE(ms_engine_cancel(e, 0));       /* never valid */
    MsEngineStats st;
    ms_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.pending, 1);
    CU_ASSERT_EQUAL(st.cancelled, 1);
    CU_ASSERT_EQUAL(ms_engine_next_time(e), 20);
    ms_engine_run(e, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(r.log->len, 1);
    CU_ASSERT_EQUAL(tag_at(&r, 0), 2);
    CU_ASSERT_FALSE(ms_engine_cancel(e, b));       /* already ran */
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
    CU_ASSERT_NOT_EQUAL(ms_rng_next(ms_engine_host_rng(a, 6)), ms_rng_next(ms_engine_host_rng(a, 7)));
    /* pointers stay valid as more hosts appear */
    MsRng *p = ms_engine_host_rng(a, 1);
    ms_engine_host_rng(a, 100000);
    CU_ASSERT_PTR_EQUAL(p, ms_engine_host_rng(a, 1));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "order by time", test_order_by_time },
        { "ties by host then counter", test_ties_by_host_then_counter },
        { "cancel", test_cancel },
        { "cancel the running event", test_cancel_running_event },
        { "run until boundary", test_run_until_boundary },
        { "time overflow saturates", test_time_overflow_saturates },
        { "stop and counters", test_stop_and_counters },
        { "many events against reference", test_many_events_against_reference },
        { "fingerprint deterministic", test_fingerprint_deterministic },
        { "two engines in two threads", test_two_engines_two_threads },
        { "host rng streams independent", test_host_rng_streams_independent },
        { NULL, NULL },
    };
    return ms_test_main("engine", cases);
}
