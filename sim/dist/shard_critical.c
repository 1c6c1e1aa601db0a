/* How fast could the parts go? (include/mailsim/shard.h,
 * ms_shard_run_critical(); `mailsim run --parts K --critical-path`.)
 *
 * Runs the K parts of one world in this thread, one event at a time in
 * the order of their times (the part whose next event is earliest steps;
 * what it sends is delivered at once, which is safe because a sent event
 * is at least a lookahead later than its sender's), records each event's
 * part, time and own CPU time, and which sending events it had to wait
 * for (every event sent to its part for its time or earlier). Then it
 * replays the record on one processor per part with synchronisation that
 * costs nothing, in two ways:
 *
 *   Oracle. A part runs its events in order; an event starts when the one
 *   before it on its part has finished and so has every event that sent
 *   it something due by its time. Nothing waits for what will not come:
 *   no real driver can beat this (the critical path of the run).
 *
 *   Lookahead. The same, and an event at time t of part p also waits
 *   until no other part could still send p anything before t, by what the
 *   parts know: q's lower bound is the least of its next event and, for
 *   every r, r's bound plus the lookahead from r to q (a fixpoint, K - 1
 *   rounds), and p may run t only below every q's bound plus the lookahead
 *   from q to p. This is what a conservative driver whose null messages
 *   and windows cost nothing would get (shard_async.c pays for its
 *   promises, shard_team.c for its windows).
 *
 * The ratio of the events' summed cost to the replay's length is the
 * speed-up each allows over one processor running the same events (whose
 * cost includes the parts' own work: exporting and importing crossings).
 * Two costs: measured (the thread's CPU clock around each event, so time
 * the thread was descheduled does not count, less what two readings
 * around nothing take: a reading costs about 0.8 us here, more than most
 * events, and the wall clock's 70 ns would count every preemption on a
 * shared machine) and unit (each event costs one: deterministic, what the
 * tests check).
 *
 * Costs: two clock readings per event; memory 24 bytes per event run
 * plus 8 per crossing (the record), and 9 per event in the replays: a
 * measurement, not a way to run (the medium world's hour, about 12 million
 * events, takes about 400 MB). */
#include "mailsim/shard.h"
#include "shard_drivers-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One event as run: its part, time and cost, and the end of its waits in
 * Record.waits (they start where the previous event's end). */
typedef struct {
    MsTime at;
    float cost;
    guint32 part;
    guint64 waits_end;
} Ran;

/* A crossing on its way: due at its part at `at`, sent by event `from`. */
typedef struct {
    MsTime at;
    guint64 from;
} Due;

typedef struct {
    GArray *ran;   /* Ran, in the order run */
    GArray *waits; /* guint64: indices into ran of sending events */
    GArray **due;  /* per part: Due, a binary min-heap by at */
    guint64 crossings;
} Record;

static double
seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* What two clock readings around nothing measure: the median of 1,001
 * tries, taken off every event's reading. */
static double
clock_cost(void)
{
    double d[1001];
    for (guint i = 0; i < G_N_ELEMENTS(d); i++) {
        double t0 = seconds();
        d[i] = seconds() - t0;
    }
    qsort(d, G_N_ELEMENTS(d), sizeof d[0], cmp_double);
    return d[G_N_ELEMENTS(d) / 2];
}

static void
due_push(GArray *h, Due d)
{
    g_array_append_val(h, d);
    Due *a = (Due *) h->data;
    for (guint i = h->len - 1; i > 0;) {
        guint up = (i - 1) / 2;
        if (a[up].at <= a[i].at)
            break;
        Due t = a[up];
        a[up] = a[i];
        a[i] = t;
        i = up;
    }
}

static Due
due_pop(GArray *h)
{
    Due *a = (Due *) h->data;
    Due top = a[0];
    a[0] = a[h->len - 1];
    g_array_set_size(h, h->len - 1);
    for (guint i = 0;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && a[l].at < a[m].at)
            m = l;
        if (r < h->len && a[r].at < a[m].at)
            m = r;
        if (m == i)
            break;
        Due t = a[m];
        a[m] = a[i];
        a[i] = t;
        i = m;
    }
    return top;
}

/* Delivers what part `from` sent (event `sender`), noting each event's
 * due time at the part it goes to. */
static void
deliver_sent(MsShard *const *shards, guint32 k, guint32 from, guint64 sender, Record *rec)
{
    MsShard *s = shards[from];
    for (guint32 to = 0; to < k; to++) {
        gsize n = 0;
        const guint8 *bytes = ms_shard_outbox(s, to, &n);
        if (to == from || n == 0)
            continue;
        /* The outbox layout (include/mailsim/shard.h): each event, then
         * its blob padded to 8 bytes. */
        for (gsize off = 0; off + sizeof(MsShardEvent) <= n;) {
            MsShardEvent ev;
            memcpy(&ev, bytes + off, sizeof ev);
            off += sizeof ev + (((gsize) ev.blob_len + 7u) & ~(gsize) 7u);
            due_push(rec->due[to], (Due){ ev.at, sender });
            rec->crossings++;
        }
        if (!ms_shard_deliver(shards[to], bytes, n))
            g_error("shard %u: malformed events from part %u", to, from);
    }
    ms_shard_clear_outboxes(s);
}

/* Runs every part to `end` in time order, recording (see the top). */
static void
record_run(MsShard *const *shards, guint32 k, MsTime end, Record *rec)
{
    double overhead = clock_cost();
    for (;;) {
        guint32 p = 0;
        MsTime t = MS_TIME_INFINITE;
        for (guint32 i = 0; i < k; i++) {
            MsTime ti = ms_shard_next_time(shards[i]);
            if (ti < t) {
                t = ti;
                p = i;
            }
        }
        if (t > end)
            break;
        while (rec->due[p]->len > 0 && g_array_index(rec->due[p], Due, 0).at <= t) {
            guint64 from = due_pop(rec->due[p]).from;
            g_array_append_val(rec->waits, from);
        }
        double t0 = seconds();
        ms_engine_step(ms_shard_engine(shards[p]));
        double cost = MAX(seconds() - t0 - overhead, 0.0);
        Ran r = { t, (float) cost, p, rec->waits->len };
        g_array_append_val(rec->ran, r);
        deliver_sent(shards, k, p, rec->ran->len - 1, rec);
    }
    for (guint32 i = 0; i < k; i++)
        ms_engine_run(ms_shard_engine(shards[i]), end); /* clocks to `end` */
}

static double
cost_of(const Ran *r, gboolean unit)
{
    return unit ? 1.0 : (double) r->cost;
}

/* The oracle's replay (see the top): its length. */
static double
replay_oracle(const Record *rec, guint32 k, gboolean unit)
{
    const Ran *ran = (const Ran *) rec->ran->data;
    const guint64 *waits = (const guint64 *) rec->waits->data;
    g_autofree double *finish = g_new(double, rec->ran->len);
    g_autofree double *clock = g_new0(double, k);
    double longest = 0;
    for (guint64 i = 0, w = 0; i < rec->ran->len; i++) {
        double start = clock[ran[i].part];
        for (; w < ran[i].waits_end; w++)
            start = MAX(start, finish[waits[w]]);
        finish[i] = start + cost_of(&ran[i], unit);
        clock[ran[i].part] = finish[i];
        longest = MAX(longest, finish[i]);
    }
    return longest;
}

/* The lookahead replay (see the top): a simulation of K processors in
 * wall time, each part starting its next event as soon as it may. */
static double
replay_lookahead(const Record *rec, MsShard *const *shards, guint32 k, gboolean unit)
{
    const Ran *ran = (const Ran *) rec->ran->data;
    const guint64 *waits = (const guint64 *) rec->waits->data;
    guint64 n = rec->ran->len;
    /* Each part's events in order, and where each one's waits start. */
    g_autofree GArray **mine = g_new(GArray *, k);
    for (guint32 p = 0; p < k; p++)
        mine[p] = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint64 i = 0; i < n; i++)
        g_array_append_val(mine[ran[i].part], i);
    g_autofree guint8 *done = g_new0(guint8, n);
    g_autofree guint64 *pos = g_new0(guint64, k);
    g_autofree gboolean *busy = g_new0(gboolean, k);
    g_autofree double *busy_until = g_new0(double, k);
    g_autofree MsTime *bound = g_new(MsTime, k);
    double now = 0;
    for (;;) {
        /* Each part's lower bound: its next event, or what others may send. */
        for (guint32 q = 0; q < k; q++)
            bound[q] = pos[q] < mine[q]->len ? ran[g_array_index(mine[q], guint64, pos[q])].at
                                             : MS_TIME_INFINITE;
        for (guint32 round = 1; round < k; round++)
            for (guint32 q = 0; q < k; q++)
                for (guint32 r = 0; r < k; r++)
                    if (r != q)
                        bound[q] = MIN(bound[q], ms_time_add(bound[r],
                                                             ms_shard_pair_lookahead(shards[0], r, q)));
        gboolean any = FALSE;
        for (guint32 p = 0; p < k; p++) {
            if (busy[p] || pos[p] >= mine[p]->len)
                continue;
            guint64 e = g_array_index(mine[p], guint64, pos[p]);
            gboolean may = TRUE;
            for (guint32 q = 0; q < k && may; q++)
                if (q != p &&
                    ran[e].at >= ms_time_add(bound[q], ms_shard_pair_lookahead(shards[0], q, p)))
                    may = FALSE;
            for (guint64 w = e ? ran[e - 1].waits_end : 0; w < ran[e].waits_end && may; w++)
                may = done[waits[w]];
            if (may) {
                busy[p] = TRUE;
                busy_until[p] = now + cost_of(&ran[e], unit);
            }
        }
        double next = -1;
        for (guint32 p = 0; p < k; p++)
            if (busy[p] && (next < 0 || busy_until[p] < next))
                next = busy_until[p];
        if (next < 0)
            break; /* nothing running and nothing may start: all done */
        now = next;
        for (guint32 p = 0; p < k; p++)
            if (busy[p] && busy_until[p] <= now) {
                done[g_array_index(mine[p], guint64, pos[p])] = 1;
                pos[p]++;
                busy[p] = FALSE;
                any = TRUE;
            }
        g_assert(any);
    }
    for (guint32 p = 0; p < k; p++) {
        g_assert(pos[p] == mine[p]->len); /* the earliest event may always run */
        g_array_free(mine[p], TRUE);
    }
    return now;
}

void
ms_shard_run_critical(MsShard *const *shards, guint32 n_shards, MsTime end,
                      MsShardCriticalStats *stats)
{
    g_return_if_fail(stats != NULL);
    memset(stats, 0, sizeof *stats);
    /* What is sent is delivered at once: packets cross by reference. */
    if (ms__shard_drivers_begin(shards, n_shards, 1) == 0)
        return;
    Record rec = { g_array_new(FALSE, FALSE, sizeof(Ran)), g_array_new(FALSE, FALSE, sizeof(guint64)),
                   g_new(GArray *, n_shards), 0 };
    for (guint32 i = 0; i < n_shards; i++)
        rec.due[i] = g_array_new(FALSE, FALSE, sizeof(Due));
    record_run(shards, n_shards, end, &rec);
    g_autofree double *work = g_new0(double, n_shards);
    g_autofree guint64 *events = g_new0(guint64, n_shards);
    for (guint64 i = 0; i < rec.ran->len; i++) {
        const Ran *r = &g_array_index(rec.ran, Ran, i);
        work[r->part] += r->cost;
        events[r->part]++;
        stats->work_s += r->cost;
    }
    stats->events = rec.ran->len;
    stats->crossings = rec.crossings;
    for (guint32 i = 0; i < n_shards; i++) {
        stats->busiest_s = MAX(stats->busiest_s, work[i]);
        stats->busiest_events = MAX(stats->busiest_events, events[i]);
        g_array_free(rec.due[i], TRUE);
    }
    g_free(rec.due);
    stats->oracle_s = replay_oracle(&rec, n_shards, FALSE);
    stats->oracle_events = (guint64) replay_oracle(&rec, n_shards, TRUE);
    stats->lookahead_s = replay_lookahead(&rec, shards, n_shards, FALSE);
    stats->lookahead_events = (guint64) replay_lookahead(&rec, shards, n_shards, TRUE);
    g_array_free(rec.ran, TRUE);
    g_array_free(rec.waits, TRUE);
}
