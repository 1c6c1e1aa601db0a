/* The counter the in-process drivers of partitioned runs wait on
 * (sim/dist/shard_signal-private.h): shard_team.c counts finished tasks on
 * it, shard_async.c publications of promises.
 *
 * Waiting spins SPIN_NS first (two threads on two idle cores meet without
 * a system call; a window of the medium world is about 10 us of work per
 * part), then sleeps: a descheduled thread is gone for milliseconds, and a
 * spinning waiter would take the core it needs. A sleeper counts itself
 * under the lock before its last look at the count, so either the bumper
 * sees it and broadcasts under the lock, or it sees the count.
 *
 * Costs: a bump is one atomic add and one load, plus a broadcast when
 * someone sleeps. */
#include "shard_signal-private.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void) 0)
#endif

/* How long a waiter spins before it sleeps. */
#define SPIN_NS (50 * G_TIME_SPAN_MILLISECOND / 1000)

void
ms__shard_signal_init(MsShardSignal *s)
{
    atomic_init(&s->count, 0);
    atomic_init(&s->sleepers, 0);
    g_mutex_init(&s->lock);
    g_cond_init(&s->wake);
}

void
ms__shard_signal_clear(MsShardSignal *s)
{
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->wake);
}

void
ms__shard_signal_bump(MsShardSignal *s)
{
    atomic_fetch_add(&s->count, 1);
    if (atomic_load(&s->sleepers) > 0) {
        g_mutex_lock(&s->lock);
        g_cond_broadcast(&s->wake);
        g_mutex_unlock(&s->lock);
    }
}

void
ms__shard_signal_wait(MsShardSignal *s, long long target, gint64 max_sleep)
{
    gint64 since = 0;
    for (guint spin = 0;; spin++) {
        if (atomic_load(&s->count) >= target)
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
    g_mutex_lock(&s->lock);
    atomic_fetch_add(&s->sleepers, 1);
    gint64 until = max_sleep > 0 ? g_get_monotonic_time() + max_sleep : 0;
    while (atomic_load(&s->count) < target) {
        if (!until)
            g_cond_wait(&s->wake, &s->lock);
        else if (!g_cond_wait_until(&s->wake, &s->lock, until))
            break;
    }
    atomic_fetch_sub(&s->sleepers, 1);
    g_mutex_unlock(&s->lock);
}
