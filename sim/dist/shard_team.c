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
 * Waiting for a stage spins a while before it sleeps (shard_signal.c). The
 * counter of finished tasks is the only synchronisation; its atomic
 * operations are full memory barriers, so a stage sees every write of the
 * stages before it.
 *
 * Profiled (ms_shard_run_threads_profiled(), `mailsim run --parts K
 * --dist-profile`): each task times itself, the run task counts its part's
 * events and what it sent, and part 0's take-in task of the next window
 * (when every task of the window before is done and none of the next has
 * run) books that window for every part: its wall (from the end of the
 * last run stage to the end of this one), each part's computing, taking in
 * and, the rest, waiting, and the busiest part's events and computing. The
 * take-in times are kept for two windows (by parity), since the take-ins of
 * the next window are written while part 0's task reads them.
 *
 * Costs: per window two compare-and-swaps and two increments per part, and
 * the wait for the slowest task of each stage; outboxes are read where
 * they lie (no copy). Profiled, two clock reads per task and O(K) work per
 * window in part 0's take-in. */
#include "mailsim/mpi_run.h"
#include "mailsim/shard.h"
#include "mpi_run-private.h"
#include "shard_drivers-private.h"
#include "shard_signal-private.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
    MsShard *const *shards;
    guint32 n;
    guint threads;
    MsTime end;
    MsTime *next;          /* per part */
    MsTime *reach;         /* per part */
    atomic_llong *claimed; /* per part: the last stage whose task for it was taken */
    MsShardSignal done;    /* counts tasks finished, over all stages */
    atomic_bool stop;      /* set by the run tasks of the last window */
    /* Profiling (NULL stats: off), per part: */
    MsMpiStats *stats;
    MsMpiProfile *const *profiles; /* or NULL */
    MsMpiBucket *win;              /* the last window run */
    MsTime *start;                 /* its start */
    gint64 *run_end;               /* when its run task ended, us */
    double *take_s[2];             /* its take-in, by window parity */
    guint64 *processed;            /* engine events before the window */
    gint64 booked_end;             /* the end of the last window booked */
} Team;

typedef struct {
    Team *team;
    guint index;
} Member;

/* Books the last window run for every part (profiling; in part 0's take-in
 * task, or after the loop). `take` holds its take-in times. */
static void
book_window(Team *t, const double *take)
{
    gint64 end = t->booked_end;
    guint64 busiest = 0;
    double busiest_s = 0;
    for (guint32 i = 0; i < t->n; i++) {
        end = MAX(end, t->run_end[i]);
        busiest = MAX(busiest, t->win[i].events);
        busiest_s = MAX(busiest_s, t->win[i].compute_s);
    }
    double wall = (double) (end - t->booked_end) / 1e6;
    t->booked_end = end;
    for (guint32 i = 0; i < t->n; i++) {
        MsMpiBucket *w = &t->win[i];
        MsMpiStats *st = &t->stats[i];
        w->exchange_s = take[i];
        w->wait_s = MAX(0.0, wall - w->compute_s - w->exchange_s);
        w->busiest_events = busiest;
        w->busiest_compute_s = busiest_s;
        st->windows += w->windows;
        st->compute_s += w->compute_s;
        st->exchange_s += w->exchange_s;
        st->wait_s += w->wait_s;
        st->bytes_sent += w->sent_bytes;
        st->exchanges += w->sent_events > 0;
        if (t->profiles)
            ms_mpi_profile_add(t->profiles[i], t->start[i], w);
        memset(w, 0, sizeof *w);
    }
}

/* The take-in task of part i. */
static void
take_in(Team *t, guint32 i, long long stage)
{
    MsShard *s = t->shards[i];
    gint64 t0 = 0;
    if (t->stats) {
        /* Window stage / 2 starts; part 0 books the one before. */
        if (i == 0 && stage > 0)
            book_window(t, t->take_s[(stage / 2 - 1) % 2]);
        t0 = g_get_monotonic_time();
    }
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
    if (t->stats)
        t->take_s[(stage / 2) % 2][i] = (double) (g_get_monotonic_time() - t0) / 1e6;
}

/* Profiling: what part i did in the window it just ran. */
static void
record_run(Team *t, guint32 i, MsTime start, gint64 t0)
{
    MsShard *s = t->shards[i];
    MsEngineStats es;
    ms_engine_get_stats(ms_shard_engine(s), &es);
    MsMpiBucket *w = &t->win[i];
    t->run_end[i] = g_get_monotonic_time();
    t->start[i] = start;
    w->windows = 1;
    w->events = es.processed - t->processed[i];
    w->compute_s = (double) (t->run_end[i] - t0) / 1e6;
    t->processed[i] = es.processed;
    for (guint32 q = 0; q < t->n; q++) {
        guint64 k = ms_shard_outbox_wire_bytes(s, q); /* as over MPI */
        guint64 e = ms_shard_outbox_events(s, q);
        w->sent_events += e;
        w->sent_bytes += k;
        if (t->profiles) {
            t->profiles[i]->events_to[q] += e;
            t->profiles[i]->bytes_to[q] += k;
        }
    }
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
    gint64 t0 = t->stats ? g_get_monotonic_time() : 0;
    ms_shard_clear_outboxes(s);
    ms_shard_run_until(s, ms_shard_reach_bound(s, t->next, t->reach), t->end);
    if (t->stats)
        record_run(t, i, start, t0);
}

static gpointer
member_run(gpointer data)
{
    Member *m = data;
    Team *t = m->team;
    long long n = t->n;
    /* Stage s: take-in when even, run when odd. */
    for (long long s = 0;; s++) {
        ms__shard_signal_wait(&t->done, s * n, 0);
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
                take_in(t, i, s);
            ms__shard_signal_bump(&t->done);
        }
    }
}

static void
run_team(MsShard *const *shards, guint32 n, guint threads, MsTime end, MsMpiStats *stats,
         MsMpiProfile *const *profiles)
{
    /* Every outbox reaches its part here: packets cross by reference. */
    threads = ms__shard_drivers_begin(shards, n, threads);
    if (threads == 0)
        return;
    Team t = { .shards = shards,
               .n = n,
               .threads = threads,
               .end = end,
               .next = g_new(MsTime, n),
               .reach = g_new(MsTime, n),
               .claimed = g_new(atomic_llong, n) };
    ms__shard_signal_init(&t.done);
    atomic_init(&t.stop, FALSE);
    for (guint32 i = 0; i < n; i++)
        atomic_init(&t.claimed[i], -1);
    g_autofree guint64 *events0 = g_new0(guint64, n);
    double cpu0 = 0;
    if (stats) {
        t.stats = stats;
        t.profiles = profiles;
        t.win = g_new0(MsMpiBucket, n);
        t.start = g_new0(MsTime, n);
        t.run_end = g_new0(gint64, n);
        t.take_s[0] = g_new0(double, n);
        t.take_s[1] = g_new0(double, n);
        t.processed = g_new0(guint64, n);
        for (guint32 i = 0; i < n; i++) {
            MsEngineStats es;
            ms_engine_get_stats(ms_shard_engine(shards[i]), &es);
            events0[i] = t.processed[i] = es.processed;
            memset(&stats[i], 0, sizeof stats[i]);
            stats[i].ranks = n;
        }
        cpu0 = ms__dist_cpu_seconds();
        t.booked_end = g_get_monotonic_time();
    }
    gint64 t_begin = t.booked_end;
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
    if (stats) { /* the last take-in, window W, which found nothing more to run:
                  * the tasks of its two stages ended the loop */
        long long w = atomic_load(&t.done.count) / n / 2 - 1;
        book_window(&t, t.take_s[w % 2]);
    }
    /* The last window's outboxes were taken in; what they hold is no
     * one's any more (in process, references that moved on). */
    for (guint32 i = 0; i < n; i++) {
        ms_shard_clear_outboxes(shards[i]);
        ms_engine_run(ms_shard_engine(shards[i]), end);
    }
    if (stats) {
        double wall = (double) (g_get_monotonic_time() - t_begin) / 1e6;
        double cpu = ms__dist_cpu_seconds() - cpu0;
        for (guint32 i = 0; i < n; i++) {
            MsEngineStats es;
            ms_engine_get_stats(ms_shard_engine(shards[i]), &es);
            stats[i].events = es.processed - events0[i];
            stats[i].wall_s = wall;
            stats[i].cpu_s = cpu / n; /* threads share the process: each part an equal share */
        }
        g_free(t.win);
        g_free(t.start);
        g_free(t.run_end);
        g_free(t.take_s[0]);
        g_free(t.take_s[1]);
        g_free(t.processed);
    }
    ms__shard_signal_clear(&t.done);
    g_free(t.next);
    g_free(t.reach);
    g_free(t.claimed);
}

void
ms_shard_run_threads(MsShard *const *shards, guint32 n, guint threads, MsTime end)
{
    run_team(shards, n, threads, end, NULL, NULL);
}

void
ms_shard_run_threads_profiled(MsShard *const *shards, guint32 n, guint threads, MsTime end,
                              MsMpiStats *stats, MsMpiProfile *const *profiles)
{
    g_return_if_fail(stats != NULL);
    run_team(shards, n, threads, end, stats, profiles);
}

void
ms_shard_run_local(MsShard *const *shards, guint32 n, MsTime end)
{
    ms_shard_run_threads(shards, n, 1, end);
}
