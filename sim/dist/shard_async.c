/* Parts on threads without windows (include/mailsim/shard.h,
 * ms_shard_run_async()): one thread per part, each running its part as far
 * as the others' promises allow, publishing its own as it goes.
 * Conservative synchronisation with null messages (Chandy and Misra), the
 * messages being shared-memory counters.
 *
 * Promise. A part's promise is a time before which it will send no event
 * to any other part from now on. A part runs an event at time t and sends
 * other parts events at t + lookahead or later, and it will run no event
 * before min(its next event, the others' promises) (what it may still
 * receive), so min(next, others' promises) + lookahead is a promise. (The
 * reach of the windowed drivers would give later promises at packet level,
 * but working it out after every slice cost more than it gained: medium
 * world, 1 h, 6.2 s against 5.8 s.) A part
 * runs the events before the least of the others' promises, in slices of
 * half a lookahead of simulated time, and after each slice moves what it
 * sent into the channels and then publishes its new promise. Whoever reads
 * a promise and then empties its channels has every event sent before that
 * promise; later ones come at the promise or after. So every event reaches
 * its part before that part's clock passes it, as in the windowed drivers
 * (shard_team.c, mpi_run.c), and the results are the sequential run's.
 *
 * Why. With windows both parts wait at every window end for the slower
 * one: on the medium world the busier part's run time, summed over the
 * windows of an hour, is 4.23 s of the 5.24 s both parts run (README,
 * Distributed runs). Here a part waits only when it is a lookahead ahead
 * of the other, so a burst on one part overlaps the other's next slices.
 *
 * Progress. A blocked part publishes its promise again whenever another's
 * rose; the promises climb by a lookahead a round, so two blocked parts
 * reach the next event. A part is done when its next event and the others'
 * promises are past `end`; its last promise is then infinite (it runs
 * nothing more before `end`, so it sends nothing). What the channels still
 * hold at the end (events after `end`) is delivered after the threads
 * join, as the windowed drivers leave it.
 *
 * Memory order. Channels are under a lock per (from, to) pair; a promise is
 * stored (sequentially consistent) after the channels were filled and
 * loaded before they are emptied. The wait for a change spins SPIN_NS and
 * then sleeps on a condition; publishing wakes sleepers.
 *
 * Costs: per slice, a lock per channel with something in it and two atomic
 * stores; per blocked round, a load per part. Memory: a channel per
 * ordered pair of parts. */
#include "mailsim/shard.h"

#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void) 0)
#endif

#define SPIN_NS (50 * G_TIME_SPAN_MILLISECOND / 1000)

typedef struct {
    GMutex lock;
    GByteArray *bytes; /* events from one part to another, not yet taken */
    MsTime min;        /* the earliest of them */
} Channel;

typedef struct {
    MsShard *const *shards;
    guint32 n;
    MsTime end;
    MsTime lookahead;
    Channel *ch;           /* n x n: ch[from * n + to] */
    atomic_llong *promise; /* per part */
    atomic_uint epoch;     /* moves at every publication */
    atomic_int sleepers;
    guint blocked;  /* parts asleep, under lock */
    MsTime *next_of; /* per part asleep: its next event, under lock */
    GMutex lock;
    GCond wake;
} Async;

typedef struct {
    Async *a;
    guint32 part;
} Runner;

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
        g_mutex_lock(&c->lock);
        g_byte_array_append(c->bytes, bytes, (guint) k);
        c->min = MIN(c->min, ms_shard_outbox_min_time(s, to));
        g_mutex_unlock(&c->lock);
    }
    ms_shard_clear_outboxes(s);
    /* never lower: a jump (wait_change()) may have raised it */
    if (promise > (MsTime) atomic_load(&a->promise[p]))
        atomic_store(&a->promise[p], promise);
    atomic_fetch_add(&a->epoch, 1);
    if (atomic_load(&a->sleepers) > 0) {
        g_mutex_lock(&a->lock);
        g_cond_broadcast(&a->wake);
        g_mutex_unlock(&a->lock);
    }
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
        g_mutex_lock(&c->lock);
        GByteArray *got = c->bytes;
        c->bytes = *scratch;
        c->min = MS_TIME_INFINITE;
        g_mutex_unlock(&c->lock);
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

/* The last part to fall asleep: nobody runs, so the earliest event
 * anywhere (pending in a part or in a channel) is the least next time at
 * which anything can still happen, and nothing can be sent before it plus
 * a lookahead: every promise is raised to that at once, instead of the
 * promises of idle parts climbing a lookahead a round, each bounded by
 * the others' (null-message creep). Called under a->lock. */
static void
jump(Async *a)
{
    MsTime least = MS_TIME_INFINITE;
    for (guint32 p = 0; p < a->n; p++)
        least = MIN(least, a->next_of[p]);
    for (guint32 i = 0; i < a->n * a->n; i++) {
        g_mutex_lock(&a->ch[i].lock);
        least = MIN(least, a->ch[i].min);
        g_mutex_unlock(&a->ch[i].lock);
    }
    MsTime to = ms_time_add(least, a->lookahead);
    for (guint32 p = 0; p < a->n; p++)
        if (to > (MsTime) atomic_load(&a->promise[p]))
            atomic_store(&a->promise[p], to);
    atomic_fetch_add(&a->epoch, 1);
    g_cond_broadcast(&a->wake);
}

static void
wait_change(Async *a, guint32 p, MsTime next, guint seen)
{
    gint64 since = 0;
    for (guint spin = 0;; spin++) {
        if (atomic_load(&a->epoch) != seen)
            return;
        CPU_RELAX();
        if ((spin & 255) == 255) {
            gint64 now = g_get_monotonic_time();
            if (!since)
                since = now;
            else if (now - since > SPIN_NS)
                break;
        }
    }
    g_mutex_lock(&a->lock);
    atomic_fetch_add(&a->sleepers, 1);
    a->next_of[p] = next;
    if (++a->blocked == a->n && atomic_load(&a->epoch) == seen)
        jump(a);
    while (atomic_load(&a->epoch) == seen)
        g_cond_wait(&a->wake, &a->lock);
    a->blocked--;
    atomic_fetch_sub(&a->sleepers, 1);
    g_mutex_unlock(&a->lock);
}

static gpointer
runner(gpointer data)
{
    Runner *r = data;
    Async *a = r->a;
    guint32 p = r->part;
    MsShard *s = a->shards[p];
    g_autoptr(GByteArray) scratch = g_byte_array_new();
    MsTime slice = MAX(a->lookahead / 2, 1);
    MsTime published = 0;
    for (;;) {
        guint seen = atomic_load(&a->epoch);
        published = MAX(published, (MsTime) atomic_load(&a->promise[p]));
        MsTime b = others(a, p); /* before draining: see the top */
        drain(a, p, &scratch);
        MsTime next = ms_shard_next_time(s);
        if (next > a->end && b > a->end) {
            publish(a, p, MS_TIME_INFINITE);
            /* asleep for good, as far as jumps go */
            g_mutex_lock(&a->lock);
            a->next_of[p] = MS_TIME_INFINITE;
            a->blocked++;
            g_mutex_unlock(&a->lock);
            return NULL;
        }
        gboolean ran = next < b && next <= a->end;
        if (ran) {
            ms_shard_run_until(s, MIN(b, ms_time_add(next, slice)), a->end);
            next = ms_shard_next_time(s);
        }
        MsTime promise = MAX(published, ms_time_add(MIN(next, b), a->lookahead));
        if (ran || promise != published) {
            publish(a, p, promise);
            published = promise;
        }
        if (next >= b || next > a->end) {
            wait_change(a, p, next, seen);
        }
    }
}

void
ms_shard_run_async(MsShard *const *shards, guint32 n, MsTime end)
{
    g_return_if_fail(n >= 1 && ms_shard_parts(shards[0]) == n);
    for (guint32 i = 0; i < n; i++)
        g_return_if_fail(ms_shard_self(shards[i]) == i &&
                         ms_shard_partition(shards[i]) == ms_shard_partition(shards[0]));
    Async a = { 0 };
    a.shards = shards;
    a.n = n;
    a.end = end;
    a.lookahead = MS_TIME_INFINITE;
    for (guint32 i = 0; i < n; i++)
        a.lookahead = MIN(a.lookahead, ms_shard_lookahead(shards[i]));
    a.ch = g_new0(Channel, (gsize) n * n);
    for (guint32 i = 0; i < n * n; i++) {
        g_mutex_init(&a.ch[i].lock);
        a.ch[i].bytes = g_byte_array_new();
        a.ch[i].min = MS_TIME_INFINITE;
    }
    a.promise = g_new(atomic_llong, n);
    a.next_of = g_new(MsTime, n);
    for (guint32 i = 0; i < n; i++)
        atomic_init(&a.promise[i], 0);
    g_mutex_init(&a.lock);
    g_cond_init(&a.wake);
    g_autofree Runner *runners = g_new(Runner, n);
    g_autofree GThread **threads = g_new0(GThread *, n);
    for (guint32 i = 0; i < n; i++) {
        runners[i] = (Runner){ &a, i };
        if (i > 0)
            threads[i] = g_thread_new("mailsim-part", runner, &runners[i]);
    }
    runner(&runners[0]);
    for (guint32 i = 1; i < n; i++)
        g_thread_join(threads[i]);
    /* Events after `end` still in the channels, as the windowed drivers
     * leave them: pending in their parts. */
    g_autoptr(GByteArray) scratch = g_byte_array_new();
    for (guint32 p = 0; p < n; p++) {
        drain(&a, p, &scratch);
        ms_engine_run(ms_shard_engine(shards[p]), end);
    }
    for (guint32 i = 0; i < n * n; i++) {
        g_mutex_clear(&a.ch[i].lock);
        g_byte_array_unref(a.ch[i].bytes);
    }
    g_free(a.ch);
    g_free(a.promise);
    g_free(a.next_of);
    g_mutex_clear(&a.lock);
    g_cond_clear(&a.wake);
}
