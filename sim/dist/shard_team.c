/* The in-process driver of a partitioned run (include/mailsim/shard.h): the
 * K parts of one world advance window by window on T threads of this
 * process. T = 1 is the reference the tests compare against (every part in
 * the caller's thread, in part order); more threads give the same results,
 * byte for byte, because a window's bounds and every part's events are the
 * same whoever runs them.
 *
 * A window is two stages, each one task per part:
 *   take in: deliver to part i what every part's outbox holds for it (in
 *     part order), then set next[i] (its next event) and reach[i] (the
 *     least time + reach of its pending and incoming events, when reach is
 *     set);
 *   run: clear part i's outboxes, then run it to ms_shard_reach_bound(),
 *     computed from next[] and reach[]; unless no part has an event before
 *     `end`: then the task marks the end, which every thread reads once
 *     that stage is complete (a thread reads next[] only inside a task it
 *     claimed: a thread the others overtook would otherwise read next[]
 *     while the following take-in writes it).
 * A stage starts when the one before is complete: the take-in reads every
 * outbox, which the runs wrote; the runs read next[] and reach[], which the
 * take-in wrote. Any thread runs any part's task, each task once (claimed
 * by a compare-and-swap on the part's stage number); a thread first tries
 * part t, t + 1, ... so that with T = K each part stays on its thread
 * while all run, and a thread the machine does not schedule for a while
 * holds nobody up: the others take its parts. That matters on a shared
 * machine, where one window of the medium world is about 10 us of work per
 * part and a descheduled thread is gone for milliseconds.
 *
 * Waiting for a stage spins a while before it sleeps: two threads on two
 * idle cores meet without a system call, and a thread that waited longer
 * than SPIN_NS sleeps on a condition, leaving the core to the thread it
 * waits for. The counter of finished tasks is the only synchronisation;
 * its atomic operations are full memory barriers, so a stage sees every
 * write of the stages before it.
 *
 * Costs: per window two compare-and-swaps and two increments per part, and
 * the wait for the slowest task of each stage; outboxes are read where
 * they lie (no copy). */
#include "mailsim/shard.h"

#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void) 0)
#endif

/* How long a thread spins for a stage before it sleeps. */
#define SPIN_NS (50 * G_TIME_SPAN_MILLISECOND / 1000)

typedef struct {
    MsShard *const *shards;
    guint32 n;
    guint threads;
    MsTime end;
    MsTime *next;          /* per part */
    MsTime *reach;         /* per part */
    atomic_llong *claimed; /* per part: the last stage whose task for it was taken */
    atomic_llong done;     /* tasks finished, over all stages */
    atomic_int sleepers;
    atomic_bool stop; /* set by the run tasks of the last window */
    GMutex lock;
    GCond wake;
} Team;

typedef struct {
    Team *team;
    guint index;
} Member;

/* Waits until `target` tasks are done. */
static void
wait_done(Team *t, long long target)
{
    gint64 since = 0;
    for (guint spin = 0;; spin++) {
        if (atomic_load(&t->done) >= target)
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
    /* Counted as a sleeper before the last look at the count: either the
     * finisher sees the sleeper and broadcasts under the lock, or this
     * thread sees the count. */
    g_mutex_lock(&t->lock);
    atomic_fetch_add(&t->sleepers, 1);
    while (atomic_load(&t->done) < target)
        g_cond_wait(&t->wake, &t->lock);
    atomic_fetch_sub(&t->sleepers, 1);
    g_mutex_unlock(&t->lock);
}

static void
task_done(Team *t)
{
    atomic_fetch_add(&t->done, 1);
    if (atomic_load(&t->sleepers) > 0) {
        g_mutex_lock(&t->lock);
        g_cond_broadcast(&t->wake);
        g_mutex_unlock(&t->lock);
    }
}

/* The take-in task of part i. */
static void
take_in(Team *t, guint32 i)
{
    MsShard *s = t->shards[i];
    MsTime reach = MS_TIME_INFINITE;
    for (guint32 from = 0; from < t->n; from++) {
        reach = MIN(reach, ms_shard_outbox_reach(t->shards[from], i));
        gsize k = 0;
        const guint8 *bytes = ms_shard_outbox(t->shards[from], i, &k);
        if (!ms_shard_deliver(s, bytes, k))
            g_error("shard %u: malformed outbox from part %u", i, from);
    }
    t->next[i] = ms_shard_next_time(s);
    if (ms_shard_has_reach(s))
        reach = MIN(reach, ms_shard_next_reach(s));
    t->reach[i] = reach;
}

/* The run task of part i, or the end: when no part has an event before
 * `end`, which every run task of that stage sees alike. (Read here, in a
 * claimed task, next[] cannot change: the next take-in stage waits for
 * this task.) */
static void
run_part(Team *t, guint32 i)
{
    MsTime start = MS_TIME_INFINITE;
    for (guint32 p = 0; p < t->n; p++)
        start = MIN(start, t->next[p]);
    if (start > t->end || start == MS_TIME_INFINITE) {
        atomic_store(&t->stop, TRUE);
        return;
    }
    MsShard *s = t->shards[i];
    ms_shard_clear_outboxes(s);
    ms_shard_run_until(s, ms_shard_reach_bound(s, t->next, t->reach), t->end);
}

static gpointer
member_run(gpointer data)
{
    Member *m = data;
    Team *t = m->team;
    long long n = t->n;
    /* Stage s: take-in when even, run when odd. */
    for (long long s = 0;; s++) {
        wait_done(t, s * n);
        /* Set before the last window's tasks were counted done. */
        if (atomic_load(&t->stop))
            return NULL;
        for (guint32 j = 0; j < t->n; j++) {
            guint32 i = (m->index + j) % t->n;
            long long before = s - 1;
            if (!atomic_compare_exchange_strong(&t->claimed[i], &before, s))
                continue;
            if (s % 2)
                run_part(t, i);
            else
                take_in(t, i);
            task_done(t);
        }
    }
}

void
ms_shard_run_threads(MsShard *const *shards, guint32 n, guint threads, MsTime end)
{
    g_return_if_fail(n >= 1 && ms_shard_parts(shards[0]) == n);
    for (guint32 i = 0; i < n; i++)
        g_return_if_fail(ms_shard_self(shards[i]) == i &&
                         ms_shard_partition(shards[i]) == ms_shard_partition(shards[0]));
    threads = CLAMP(threads, 1u, n);
    Team t = {
        shards, n,     threads, end,  g_new(MsTime, n), g_new(MsTime, n), g_new(atomic_llong, n), 0,
        0,      FALSE, { 0 },   { 0 }
    };
    for (guint32 i = 0; i < n; i++)
        atomic_init(&t.claimed[i], -1);
    g_mutex_init(&t.lock);
    g_cond_init(&t.wake);
    g_autofree Member *members = g_new(Member, threads);
    g_autofree GThread **workers = g_new0(GThread *, threads);
    for (guint k = 0; k < threads; k++) {
        members[k] = (Member){ &t, k };
        if (k > 0)
            workers[k] = g_thread_new("mailsim-part", member_run, &members[k]);
    }
    member_run(&members[0]);
    for (guint k = 1; k < threads; k++)
        g_thread_join(workers[k]);
    for (guint32 i = 0; i < n; i++)
        ms_engine_run(ms_shard_engine(shards[i]), end);
    g_mutex_clear(&t.lock);
    g_cond_clear(&t.wake);
    g_free(t.next);
    g_free(t.reach);
    g_free(t.claimed);
}

void
ms_shard_run_local(MsShard *const *shards, guint32 n, MsTime end)
{
    ms_shard_run_threads(shards, n, 1, end);
}
