/* Parts on threads without windows (include/mailsim/shard.h,
 * ms_shard_run_async()): each part runs as far as the others' promises
 * allow and publishes its own as it goes; T threads take whichever part
 * can go on. Conservative synchronisation with null messages (Chandy and
 * Misra), the messages being shared-memory counters.
 *
 * Promise. A part's promise is a time before which it will send no event
 * to any other part from now on. A part runs an event at time t and sends
 * other parts events at t + lookahead or later, and it will run no event
 * before min(its next event, the others' promises) (what it may still
 * receive), so min(next, others' promises) + lookahead is a promise. A
 * step of part p: read the others' least promise b, take in what the
 * channels into p hold, run p's events before b (at most half a lookahead
 * of simulated time past its next event), move what it sent into the
 * channels and publish its promise. Whoever reads a promise and then
 * empties its channels has every event sent before that promise; later
 * ones come at the promise or after. So every event reaches its part
 * before that part's clock passes it, as in the windowed drivers
 * (shard_team.c, mpi_run.c), and the results are the sequential run's.
 *
 * The jump. Parts with nothing to do bound each other: each promise rises
 * one lookahead past the others', so two idle parts would climb toward the
 * next event a lookahead per round (null-message creep: lesson 05's outage
 * leaves two of three parts idle for 1,200 s, 2.4 million rounds of 0.5
 * ms). A thread that found no part to run instead takes every part (while
 * it holds them nobody runs), reads the earliest event anywhere (each
 * part's next after its last step, and each channel's earliest) and raises
 * every promise to it plus a lookahead: nothing can be sent before that.
 *
 * Threads. No part belongs to a thread: a thread takes a part by a
 * compare-and-swap on its flag, steps it until it is blocked, lets it go
 * and tries the next (thread t tries part t first, so with T = K each part
 * mostly stays on one thread). A thread the machine does not schedule
 * holds up only the part it holds, and only while it holds it. A thread
 * with nothing to take waits for a publication: it spins, then sleeps
 * (shard_signal.c; at most a millisecond, publishing wakes it).
 *
 * Memory order. Channels are under a lock per (from, to) pair; a promise is
 * stored (sequentially consistent) after the channels were filled and
 * loaded before they are emptied; a part's own state is touched only by
 * the thread holding it, whose compare-and-swap and release are full
 * barriers.
 *
 * Counted (MsShardAsyncStats, when asked): each thread keeps its own
 * counts and clock readings (two per step and per wait) and adds them
 * under the lock once, at its end.
 *
 * Costs: per step, a lock per channel into the part and per channel with
 * something in it, and a few atomic operations; per jump, every part's
 * flag and every channel's lock. Memory: a channel per ordered pair. */
#include "mailsim/shard.h"
#include "shard_drivers-private.h"
#include "shard_signal-private.h"

#include <pthread.h>
#include <stdatomic.h>

/* A POSIX mutex rather than a GMutex: GLib builds GMutex on futexes of
 * its own, whose ordering ThreadSanitizer (make tsan) cannot see. */
typedef struct {
    pthread_mutex_t lock;
    GByteArray *bytes; /* events from one part to another, not yet taken */
    MsTime min;        /* the earliest of them */
} Channel;

typedef struct {
    atomic_bool taken;
    atomic_bool done; /* nothing more to run before the end, promise infinite */
    /* Touched only by the thread that took the part: */
    MsTime published; /* its promise as it last published it */
    MsTime next;      /* its next event after its last step */
} Part;

typedef struct {
    MsShard *const *shards;
    guint32 n;
    MsTime end;
    MsTime lookahead;
    Channel *ch;           /* n x n: ch[from * n + to] */
    atomic_llong *promise; /* per part */
    Part *part;
    MsShardSignal epoch;  /* counts publications and jumps */
    atomic_uint finished; /* parts done */
    gboolean counting;
} Async;

typedef struct {
    Async *a;
    guint32 first; /* the part this thread tries first */
    MsShardAsyncStats mine;
} Runner;

typedef enum { STEP_RAN, STEP_BLOCKED, STEP_DONE } Step;

static gboolean
take(Async *a, guint32 p)
{
    _Bool free_ = 0;
    return atomic_compare_exchange_strong(&a->part[p].taken, &free_, 1);
}

static void
let_go(Async *a, guint32 p)
{
    atomic_store(&a->part[p].taken, 0);
}

/* Moves part p's outboxes into the channels, then publishes `promise`. */
static void
publish(Async *a, guint32 p, MsTime promise)
{
    MsShard *s = a->shards[p];
    for (guint32 to = 0; to < a->n; to++) {
        gsize k = 0;
        const guint8 *bytes = ms_shard_outbox(s, to, &k);
        if (to == p || k == 0)
            continue;
        Channel *c = &a->ch[p * a->n + to];
        pthread_mutex_lock(&c->lock);
        g_byte_array_append(c->bytes, bytes, (guint) k);
        c->min = MIN(c->min, ms_shard_outbox_min_time(s, to));
        pthread_mutex_unlock(&c->lock);
    }
    ms_shard_clear_outboxes(s);
    /* never lower: a jump may have raised it */
    if (promise > (MsTime) atomic_load(&a->promise[p]))
        atomic_store(&a->promise[p], promise);
    a->part[p].published = MAX(promise, a->part[p].published);
    ms__shard_signal_bump(&a->epoch);
}

/* Delivers what the channels into part p hold; *scratch is swapped in
 * for each channel's buffer (no copy under the lock). */
static void
drain(Async *a, guint32 p, GByteArray **scratch)
{
    for (guint32 from = 0; from < a->n; from++) {
        if (from == p)
            continue;
        Channel *c = &a->ch[from * a->n + p];
        pthread_mutex_lock(&c->lock);
        GByteArray *got = c->bytes;
        c->bytes = *scratch;
        c->min = MS_TIME_INFINITE;
        pthread_mutex_unlock(&c->lock);
        if (!ms_shard_deliver(a->shards[p], got->data, got->len))
            g_error("shard %u: malformed events from part %u", p, from);
        g_byte_array_set_size(got, 0);
        *scratch = got;
    }
}

/* The least promise of the parts other than p. */
static MsTime
others(Async *a, guint32 p)
{
    MsTime b = MS_TIME_INFINITE;
    for (guint32 q = 0; q < a->n; q++)
        if (q != p)
            b = MIN(b, (MsTime) atomic_load(&a->promise[q]));
    return b;
}

/* One step of part p, which the caller holds (see the top). */
static Step
step(Async *a, guint32 p, GByteArray **scratch)
{
    Part *me = &a->part[p];
    MsShard *s = a->shards[p];
    me->published = MAX(me->published, (MsTime) atomic_load(&a->promise[p]));
    MsTime b = others(a, p); /* before draining: see the top */
    drain(a, p, scratch);
    MsTime next = ms_shard_next_time(s);
    if (next > a->end && b > a->end) {
        me->next = MS_TIME_INFINITE;
        publish(a, p, MS_TIME_INFINITE);
        atomic_store(&me->done, 1);
        atomic_fetch_add(&a->finished, 1);
        return STEP_DONE;
    }
    gboolean ran = next < b && next <= a->end;
    if (ran) {
        ms_shard_run_until(s, MIN(b, ms_time_add(next, MAX(a->lookahead / 2, 1))), a->end);
        next = ms_shard_next_time(s);
    }
    me->next = next;
    MsTime promise = ms_time_add(MIN(next, b), a->lookahead);
    if (ran || promise > me->published)
        publish(a, p, promise);
    return ran ? STEP_RAN : STEP_BLOCKED;
}

/* Takes every part; if that succeeds, raises every promise to the earliest
 * event anywhere plus a lookahead (see the top). TRUE if a promise rose. */
static gboolean
jump(Async *a)
{
    guint32 held = 0;
    while (held < a->n && take(a, held))
        held++;
    gboolean raised = FALSE;
    if (held == a->n) {
        MsTime least = MS_TIME_INFINITE;
        for (guint32 p = 0; p < a->n; p++)
            least = MIN(least, a->part[p].next);
        for (guint32 i = 0; i < a->n * a->n; i++) {
            pthread_mutex_lock(&a->ch[i].lock);
            least = MIN(least, a->ch[i].min);
            pthread_mutex_unlock(&a->ch[i].lock);
        }
        MsTime to = ms_time_add(least, a->lookahead);
        for (guint32 p = 0; p < a->n; p++) {
            if (to > (MsTime) atomic_load(&a->promise[p])) {
                atomic_store(&a->promise[p], to);
                raised = TRUE;
            }
        }
    }
    while (held > 0)
        let_go(a, --held);
    if (raised)
        ms__shard_signal_bump(&a->epoch);
    return raised;
}

static gpointer
runner(gpointer data)
{
    Runner *r = data;
    Async *a = r->a;
    MsShardAsyncStats *c = &r->mine;
    g_autoptr(GByteArray) scratch = g_byte_array_new();
    while (atomic_load(&a->finished) < a->n) {
        long long seen = atomic_load(&a->epoch.count);
        gboolean ran = FALSE;
        for (guint32 j = 0; j < a->n; j++) {
            guint32 p = (r->first + j) % a->n;
            if (atomic_load(&a->part[p].done) || !take(a, p))
                continue;
            gint64 t0 = a->counting ? g_get_monotonic_time() : 0;
            Step st;
            while (!atomic_load(&a->part[p].done) && (st = step(a, p, &scratch)) == STEP_RAN) {
                ran = TRUE;
                c->steps++;
            }
            if (a->counting)
                c->busy_s += (double) (g_get_monotonic_time() - t0) / 1e6;
            let_go(a, p);
        }
        if (ran || atomic_load(&a->finished) == a->n)
            continue;
        if (jump(a)) {
            c->jumps++;
            continue;
        }
        gint64 t0 = a->counting ? g_get_monotonic_time() : 0;
        /* for a publication or a jump (at most a millisecond asleep: a
         * safety net, never the means of progress) */
        ms__shard_signal_wait(&a->epoch, seen + 1, G_TIME_SPAN_MILLISECOND);
        if (a->counting)
            c->wait_s += (double) (g_get_monotonic_time() - t0) / 1e6;
    }
    return NULL;
}

void
ms_shard_run_async(MsShard *const *shards, guint32 n, guint threads, MsTime end,
                   MsShardAsyncStats *stats)
{
    /* Every channel is drained here: packets cross by reference. */
    threads = ms__shard_drivers_begin(shards, n, threads);
    if (threads == 0)
        return;
    Async a = { 0 };
    a.shards = shards;
    a.n = n;
    a.end = end;
    a.counting = stats != NULL;
    a.lookahead = MS_TIME_INFINITE;
    for (guint32 i = 0; i < n; i++)
        a.lookahead = MIN(a.lookahead, ms_shard_lookahead(shards[i]));
    a.ch = g_new0(Channel, (gsize) n * n);
    for (guint32 i = 0; i < n * n; i++) {
        pthread_mutex_init(&a.ch[i].lock, NULL);
        a.ch[i].bytes = g_byte_array_new();
        a.ch[i].min = MS_TIME_INFINITE;
    }
    a.promise = g_new(atomic_llong, n);
    a.part = g_new0(Part, n);
    for (guint32 i = 0; i < n; i++) {
        atomic_init(&a.promise[i], 0);
        atomic_init(&a.part[i].taken, 0);
        atomic_init(&a.part[i].done, 0);
        a.part[i].next = 0; /* unknown until its first step: the least bound */
    }
    ms__shard_signal_init(&a.epoch);
    g_autofree Runner *runners = g_new(Runner, threads);
    g_autofree GThread **workers = g_new0(GThread *, threads);
    for (guint k = 0; k < threads; k++) {
        runners[k] = (Runner){ &a, k, { 0 } };
        if (k > 0)
            workers[k] = g_thread_new("mailsim-part", runner, &runners[k]);
    }
    runner(&runners[0]);
    for (guint k = 1; k < threads; k++)
        g_thread_join(workers[k]);
    if (stats) {
        *stats = (MsShardAsyncStats){ 0 };
        for (guint k = 0; k < threads; k++) {
            stats->steps += runners[k].mine.steps;
            stats->jumps += runners[k].mine.jumps;
            stats->busy_s += runners[k].mine.busy_s;
            stats->wait_s += runners[k].mine.wait_s;
        }
    }
    /* Events after `end` still in the channels, as the windowed drivers
     * leave them: pending in their parts. */
    g_autoptr(GByteArray) scratch = g_byte_array_new();
    for (guint32 p = 0; p < n; p++) {
        drain(&a, p, &scratch);
        ms_engine_run(ms_shard_engine(shards[p]), end);
    }
    for (guint32 i = 0; i < n * n; i++) {
        pthread_mutex_destroy(&a.ch[i].lock);
        g_byte_array_unref(a.ch[i].bytes);
    }
    g_free(a.ch);
    g_free(a.promise);
    g_free(a.part);
    ms__shard_signal_clear(&a.epoch);
}
