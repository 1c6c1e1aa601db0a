/* The MPI driver of partitioned runs (see include/mailsim/mpi_run.h and
 * the design notes atop sim/dist/shard.c). Role: the only file that talks to
 * Open MPI; everything else sees the shard interface.
 *
 * Each boundary between windows costs one collective on MPI_COMM_WORLD,
 * an MPI_Iallgather of every rank's slot: its next event and its reach,
 * "failed", "my events are inline", the earliest event, the byte count and
 * the reach of its outbox for each rank, and, when they fit the room every
 * rank agreed on, the outboxes themselves. Every rank works out each rank's
 * next event and reach after delivery and from those how far it may run
 * (ms_shard_reach_bound(): the lookahead of each pair, and where the
 * pending events are), and all agree on when to stop; a rank that
 * finished its window early waits here (the wait share we report), testing
 * the request and sleeping between tests once it has waited 100 us
 * (wait_for(): on a shared machine a spinning rank takes the core the
 * others need). Only when some rank's events did not fit do two more
 * follow:
 *   MPI_Alltoall of byte counts,
 *   MPI_Alltoallv of the outboxes (48-byte MsShardEvent records, each with
 *   its blob, as bytes: every rank runs the same binary on one machine or
 *   identical ones).
 * The room for the next boundary is worked out by every rank from the
 * byte counts just gathered, so all agree without a word more.
 * Received events are delivered in sender-rank order, each sender's in its
 * scheduling order, which is what the shard's ordering argument needs.
 * Worlds whose events are sparse (a few per lookahead) spend most of their
 * time in these collectives: see the figures in the README.
 * Costs: every rank receives every slot (K * (header + room) bytes per
 * boundary), which suits the few ranks of one machine; for many ranks an
 * exchange with the neighbours only would be the next step.
 *
 * After the run, the ranks' results travel to rank 0: the small ones by
 * gathers, the mail records as a stream of chunks sent point to point, one
 * rank after the other (ms_mpi_gather_stream()), so that rank 0 holds one
 * chunk at a time rather than every rank's export at once.
 *
 * Limits: MPI counts are int, so one rank may send at most 2 GiB / K per
 * window (about 22 million events with K = 2); more gives
 * MS_MPI_ERROR_TOO_LARGE (all ranks stop at that boundary).
 * Without MAILSIM_HAVE_MPI (no Open MPI at build time) the functions report
 * the distributed mode as unavailable. */
#include "mailsim/mpi_run.h"
#include "mpi_run-private.h"

G_DEFINE_QUARK(ms - mpi - error - quark, ms_mpi_error)

#include <string.h>
#include <time.h>

double
ms__dist_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

MsMpiProfile *
ms_mpi_profile_new(guint32 rank, guint32 ranks, MsTime end, guint32 n_buckets)
{
    g_return_val_if_fail(rank < ranks && n_buckets >= 1 && end > 0, NULL);
    MsMpiProfile *p = g_new0(MsMpiProfile, 1);
    p->rank = rank;
    p->ranks = ranks;
    p->end = end;
    p->n_buckets = n_buckets;
    p->buckets = g_new0(MsMpiBucket, n_buckets);
    p->events_to = g_new0(guint64, ranks);
    p->bytes_to = g_new0(guint64, ranks);
    return p;
}

void
ms_mpi_profile_free(MsMpiProfile *p)
{
    if (!p)
        return;
    g_free(p->buckets);
    g_free(p->events_to);
    g_free(p->bytes_to);
    g_free(p);
}

void
ms_mpi_profile_add(MsMpiProfile *p, MsTime start, const MsMpiBucket *w)
{
    guint64 i = start <= 0 ? 0 : (guint64) ((double) start / (double) p->end * p->n_buckets);
    MsMpiBucket *b = &p->buckets[MIN(i, (guint64) p->n_buckets - 1)];
    b->windows += w->windows;
    b->events += w->events;
    b->max_events = MAX(b->max_events, w->events);
    b->events_sq += (double) w->events * (double) w->events;
    b->sent_events += w->sent_events;
    b->sent_bytes += w->sent_bytes;
    b->collectives += w->collectives;
    b->compute_s += w->compute_s;
    b->wait_s += w->wait_s;
    b->exchange_s += w->exchange_s;
    b->busiest_events += w->busiest_events;
    b->busiest_compute_s += w->busiest_compute_s;
    if (w->windows) {
        guint bin = 0;
        for (guint64 e = w->events; e > 0 && bin + 1 < MS_MPI_PROFILE_HIST; e >>= 1)
            bin++;
        p->hist[bin]++;
    }
}

/* Layout: rank, ranks, n_buckets, end, hist[], events_to[], bytes_to[],
 * then the buckets (MsMpiBucket is twelve 8-byte fields), host order. */
GBytes *
ms_mpi_profile_to_bytes(const MsMpiProfile *p)
{
    GByteArray *b = g_byte_array_new();
    guint64 h[4] = { p->rank, p->ranks, p->n_buckets, (guint64) p->end };
    g_byte_array_append(b, (const guint8 *) h, sizeof h);
    g_byte_array_append(b, (const guint8 *) p->hist, sizeof p->hist);
    g_byte_array_append(b, (const guint8 *) p->events_to, (guint) (8 * p->ranks));
    g_byte_array_append(b, (const guint8 *) p->bytes_to, (guint) (8 * p->ranks));
    g_byte_array_append(b, (const guint8 *) p->buckets,
                        (guint) (sizeof(MsMpiBucket) * p->n_buckets));
    return g_byte_array_free_to_bytes(b);
}

MsMpiProfile *
ms_mpi_profile_from_bytes(GBytes *bytes)
{
    gsize n = 0;
    const guint8 *d = g_bytes_get_data(bytes, &n);
    guint64 h[4];
    if (n < sizeof h)
        return NULL;
    memcpy(h, d, sizeof h);
    if (h[1] == 0 || h[1] > G_MAXUINT16 || h[0] >= h[1] || h[2] == 0 || h[2] > (1u << 24) ||
        (gint64) h[3] <= 0)
        return NULL;
    gsize want = sizeof h + sizeof(((MsMpiProfile *) NULL)->hist) + 16 * h[1] +
                 sizeof(MsMpiBucket) * h[2];
    if (n != want)
        return NULL;
    MsMpiProfile *p = ms_mpi_profile_new((guint32) h[0], (guint32) h[1], (MsTime) h[3],
                                         (guint32) h[2]);
    gsize at = sizeof h;
    memcpy(p->hist, d + at, sizeof p->hist);
    at += sizeof p->hist;
    memcpy(p->events_to, d + at, 8 * p->ranks);
    at += 8 * p->ranks;
    memcpy(p->bytes_to, d + at, 8 * p->ranks);
    at += 8 * p->ranks;
    memcpy(p->buckets, d + at, sizeof(MsMpiBucket) * p->n_buckets);
    return p;
}

#ifdef MAILSIM_HAVE_MPI

#include <mpi.h>
#include <string.h>
#include <time.h>

struct _MsMpi {
    int rank;
    int size;
};

gboolean
ms_mpi_available(void)
{
    return TRUE;
}

MsMpi *
ms_mpi_new(GError **error)
{
    (void) error;
    int inited = 0;
    MPI_Initialized(&inited);
    g_return_val_if_fail(!inited, NULL);
    MPI_Init(NULL, NULL);
    MsMpi *m = g_new0(MsMpi, 1);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    return m;
}

void
ms_mpi_free(MsMpi *m)
{
    if (!m)
        return;
    MPI_Finalize();
    g_free(m);
}

guint32
ms_mpi_rank(const MsMpi *m)
{
    return (guint32) m->rank;
}
guint32
ms_mpi_size(const MsMpi *m)
{
    return (guint32) m->size;
}

static double
seconds_since(gint64 t0)
{
    return (double) (g_get_monotonic_time() - t0) / 1e6;
}

/* Waits for a non-blocking collective without holding a core: spins for
 * the first WAIT_SPIN_US (an idle machine answers well within that), then
 * sleeps an eighth of the time waited so far (at most 1 ms) between tests.
 * On a machine with more runnable processes than cores a spinning rank
 * takes the core the rank it waits for needs; sleeping costs at most an
 * eighth more waiting. MPI progresses the collective inside MPI_Test. */
#define WAIT_SPIN_US 100
static void
wait_for(MPI_Request *req)
{
    gint64 t0 = g_get_monotonic_time();
    for (;;) {
        int done = 0;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        gint64 waited = g_get_monotonic_time() - t0;
        if (waited > WAIT_SPIN_US)
            g_usleep((gulong) MIN(waited / 8, 1000));
    }
}

/* The words of a rank's slot before its inline events (int64 each);
 * SLOT_EVENTS and SLOT_COMPUTE are the events and nanoseconds of computing
 * of the rank's last window, from which every rank learns the busiest
 * rank's (for the profile). */
enum { SLOT_NEXT, SLOT_REACH, SLOT_FAILED, SLOT_INLINE, SLOT_EVENTS, SLOT_COMPUTE, SLOT_MIN };
/* then min_to[k], len_to[k], reach_to[k] */
#define SLOT_WORDS(k) (SLOT_MIN + 3 * (gsize) (k))
/* A slot of at most SLOT_EAGER bytes crosses shared memory as one message:
 * Open MPI's vader transport sends up to 4 KiB (its header included) at
 * once and anything larger by rendezvous, which costs a round trip more.
 * Measured here with MPI_Iallgather between 2 ranks: 4,000-byte slots 40 to
 * 50 us, 4,096 and 4,176-byte ones 130 to 210 us (a loaded machine; the
 * ratio is what counts). So the room starts at what fits under the limit
 * and grows in CAP_STEP steps only when a burst needs it. */
#define SLOT_EAGER 4000u
#define CAP_STEP   4096u
#define CAP_MAX    (1u << 20)

gboolean
ms_mpi_run(MsMpi *m, MsShard *shard, MsTime end, MsMpiStats *st, GError **error)
{
    return ms_mpi_run_profiled(m, shard, end, st, NULL, error);
}

gboolean
ms_mpi_run_profiled(MsMpi *m, MsShard *shard, MsTime end, MsMpiStats *st, MsMpiProfile *prof,
                    GError **error)
{
    g_return_val_if_fail(ms_shard_self(shard) == (guint32) m->rank, FALSE);
    g_return_val_if_fail(ms_shard_parts(shard) == (guint32) m->size, FALSE);
    g_return_val_if_fail(!prof || (prof->rank == (guint32) m->rank && prof->ranks == (guint32) m->size),
                         FALSE);
    memset(st, 0, sizeof *st);
    st->ranks = (guint32) m->size;
    int k = m->size;
    MsEngine *engine = ms_shard_engine(shard);
    g_autofree int *scount = g_new0(int, k), *rcount = g_new0(int, k);
    g_autofree int *sdispl = g_new0(int, k), *rdispl = g_new0(int, k);
    g_autofree MsTime *next = g_new(MsTime, k);
    g_autofree MsTime *reach = g_new(MsTime, k);
    const gboolean has_reach = ms_shard_has_reach(shard);
    g_autoptr(GByteArray) sendbuf = g_byte_array_new();
    g_autoptr(GByteArray) recvbuf = g_byte_array_new();
    g_autoptr(GByteArray) slot = g_byte_array_new();
    g_autoptr(GByteArray) all = g_byte_array_new();
    /* Per rank and window, so that no receiver gets more than G_MAXINT bytes. */
    const gsize limit = (gsize) G_MAXINT / (gsize) k;
    const gsize head = SLOT_WORDS(k) * sizeof(gint64);
    /* Inline room per slot, the same on every rank: at least what keeps the
     * slot under SLOT_EAGER, else a multiple of CAP_STEP following `level`. */
    const gsize cap_min = head + 512 <= SLOT_EAGER ? SLOT_EAGER - head : 512;
    gsize cap = cap_min, level = 0;
    gboolean ok = TRUE;
    MsEngineStats es;
    ms_engine_get_stats(engine, &es);
    guint64 events0 = es.processed;
    guint64 last_events = 0; /* this rank's last window */
    gint64 last_compute_ns = 0;

    MPI_Barrier(MPI_COMM_WORLD);
    gint64 t_begin = g_get_monotonic_time();
    double cpu0 = ms__dist_cpu_seconds();
    for (;;) {
        /* One collective decides the next window and, when they fit, moves
         * the events too: every rank's slot holds its next event time, the
         * earliest event and the bytes it has for each rank, and (when they
         * fit the agreed room) the events themselves, for every rank in
         * rank order. */
        MsMpiBucket win = { 0 };
        gsize out_bytes = 0;
        for (int r = 0; r < k; r++) {
            gsize n = 0;
            ms_shard_outbox(shard, (guint32) r, &n);
            out_bytes += n;
            win.sent_events += ms_shard_outbox_events(shard, (guint32) r);
            if (prof) {
                prof->events_to[r] += ms_shard_outbox_events(shard, (guint32) r);
                prof->bytes_to[r] += n;
            }
        }
        win.sent_bytes = out_bytes;
        if (out_bytes > limit)
            ok = FALSE;
        gboolean fits = out_bytes <= cap;
        g_byte_array_set_size(slot, (guint) (head + cap));
        gint64 *words = (gint64 *) (gpointer) slot->data;
        words[SLOT_NEXT] = ms_shard_next_time(shard);
        words[SLOT_REACH] = has_reach ? ms_shard_next_reach(shard) : MS_TIME_INFINITE;
        words[SLOT_FAILED] = ok ? 0 : 1;
        words[SLOT_INLINE] = fits ? 1 : 0;
        words[SLOT_EVENTS] = (gint64) last_events;
        words[SLOT_COMPUTE] = last_compute_ns;
        gsize at = head;
        for (int r = 0; r < k; r++) {
            gsize n = 0;
            const guint8 *bytes = ms_shard_outbox(shard, (guint32) r, &n);
            words[SLOT_MIN + r] = ms_shard_outbox_min_time(shard, (guint32) r);
            words[SLOT_MIN + k + r] = (gint64) n;
            words[SLOT_MIN + 2 * k + r] = ms_shard_outbox_reach(shard, (guint32) r);
            if (fits && n > 0) {
                memcpy(slot->data + at, bytes, n);
                at += n;
            }
        }
        gsize slot_len = head + cap;
        g_byte_array_set_size(all, (guint) (slot_len * (gsize) k));
        gint64 t0 = g_get_monotonic_time();
        MPI_Request req;
        MPI_Iallgather(slot->data, (int) slot_len, MPI_BYTE, all->data, (int) slot_len, MPI_BYTE,
                       MPI_COMM_WORLD, &req);
        wait_for(&req);
        gint64 t1 = g_get_monotonic_time();
        win.collectives = 1;
        win.wait_s = (double) (t1 - t0) / 1e6;
        gint64 start = G_MAXINT64;
        gboolean any_sent = FALSE, any_failed = FALSE, all_inline = TRUE;
        gsize most = 0;
        for (int r = 0; r < k; r++) {
            const gint64 *w = (const gint64 *) (gconstpointer) (all->data + slot_len * (gsize) r);
            any_failed |= w[SLOT_FAILED] != 0;
            all_inline &= w[SLOT_INLINE] != 0;
            gsize total = 0;
            for (int q = 0; q < k; q++)
                total += (gsize) w[SLOT_MIN + k + q];
            most = MAX(most, total);
            /* The window just ended: counted in the bucket of the one
             * that starts now (a bucket holds thousands of windows). */
            win.busiest_events = MAX(win.busiest_events, (guint64) w[SLOT_EVENTS]);
            win.busiest_compute_s = MAX(win.busiest_compute_s, (double) w[SLOT_COMPUTE] / 1e9);
            /* Rank r's next event once what is on its way has arrived. */
            next[r] = w[SLOT_NEXT];
            reach[r] = w[SLOT_REACH];
        }
        for (int r = 0; r < k; r++)
            for (int q = 0; q < k; q++) {
                const gint64 *w =
                    (const gint64 *) (gconstpointer) (all->data + slot_len * (gsize) q);
                next[r] = MIN(next[r], w[SLOT_MIN + r]);
                reach[r] = MIN(reach[r], w[SLOT_MIN + 2 * k + r]);
                any_sent |= w[SLOT_MIN + r] != MS_TIME_INFINITE;
            }
        for (int r = 0; r < k; r++)
            start = MIN(start, next[r]);
        if (any_failed)
            break;
        if (any_sent && all_inline) {
            /* Sender order, each sender's events for this rank in its order. */
            for (int q = 0; q < k; q++) {
                const guint8 *base = all->data + slot_len * (gsize) q;
                const gint64 *w = (const gint64 *) (gconstpointer) base;
                gsize off = head;
                for (int r = 0; r < m->rank; r++)
                    off += (gsize) w[SLOT_MIN + k + r];
                gsize n = (gsize) w[SLOT_MIN + k + m->rank];
                if (n > 0 && !ms_shard_deliver(shard, base + off, n))
                    g_error("rank %d: malformed events received from rank %d", m->rank, q);
            }
            st->bytes_sent += out_bytes;
            ms_shard_clear_outboxes(shard);
            st->exchanges++;
        } else if (any_sent) {
            /* Too many for the room agreed: pack the outboxes by
             * destination rank and move them with two more collectives. */
            g_byte_array_set_size(sendbuf, 0);
            for (int r = 0; r < k; r++) {
                gsize n = 0;
                const guint8 *bytes = ms_shard_outbox(shard, (guint32) r, &n);
                sdispl[r] = (int) sendbuf->len;
                g_byte_array_append(sendbuf, bytes, (guint) n);
                scount[r] = (int) n;
                st->bytes_sent += n;
            }
            ms_shard_clear_outboxes(shard);
            MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, MPI_COMM_WORLD);
            gsize total = 0;
            for (int r = 0; r < k; r++) {
                rdispl[r] = (int) total;
                total += (gsize) rcount[r];
            }
            g_byte_array_set_size(recvbuf, (guint) total);
            MPI_Alltoallv(sendbuf->data, scount, sdispl, MPI_BYTE, recvbuf->data, rcount, rdispl,
                          MPI_BYTE, MPI_COMM_WORLD);
            if (!ms_shard_deliver(shard, recvbuf->data, recvbuf->len))
                g_error("rank %d: malformed events received", m->rank);
            st->exchanges++;
            win.collectives += 2;
        }
        /* The room for the next boundary, from what every rank sent at this
         * one (so every rank agrees): twice the most, falling by at most a
         * sixteenth per boundary, so that a burst keeps its room for a
         * while; the least room while that fits, else whole steps. */
        level = MIN(MAX(2 * most, level - level / 16), (gsize) CAP_MAX);
        cap = level <= cap_min ? cap_min : (level + CAP_STEP - 1) / CAP_STEP * CAP_STEP;
        st->collectives += win.collectives;
        double exch = seconds_since(t1);
        st->exchange_s += exch;
        st->wait_s += win.wait_s;
        win.exchange_s = exch;
        if (start > end || start == MS_TIME_INFINITE) {
            if (prof)
                ms_mpi_profile_add(prof, start > end ? end : start, &win);
            break;
        }
        gint64 t3 = g_get_monotonic_time();
        ms_engine_get_stats(engine, &es);
        guint64 before = es.processed;
        /* Each rank's own bound: as far as no other rank can still send it
         * anything sooner (ms_shard_safe_bound(), lookahead per pair). */
        ms_shard_run_until(shard, ms_shard_reach_bound(shard, next, reach), end);
        ms_engine_get_stats(engine, &es);
        win.events = es.processed - before;
        win.windows = 1;
        gint64 t4 = g_get_monotonic_time();
        win.compute_s = (double) (t4 - t3) / 1e6;
        last_events = win.events;
        last_compute_ns = (t4 - t3) * 1000;
        st->compute_s += win.compute_s;
        st->windows++;
        if (prof)
            ms_mpi_profile_add(prof, start, &win);
    }
    ms_engine_run(engine, end);
    ms_engine_get_stats(engine, &es);
    st->events = es.processed - events0;
    st->wall_s = seconds_since(t_begin);
    st->cpu_s = ms__dist_cpu_seconds() - cpu0;
    if (!ok) {
        g_set_error(error, MS_MPI_ERROR, MS_MPI_ERROR_TOO_LARGE,
                    "rank %d: more than %" G_GSIZE_FORMAT " bytes to send in one window", m->rank,
                    limit);
        return FALSE;
    }
    return TRUE;
}

GBytes **
ms_mpi_gather_bytes(MsMpi *m, GBytes *mine)
{
    gsize n = 0;
    const guint8 *data = g_bytes_get_data(mine, &n);
    g_return_val_if_fail(n <= G_MAXINT, NULL);
    int len = (int) n, k = m->size;
    g_autofree int *lens = g_new0(int, k), *displ = g_new0(int, k);
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    gsize total = 0;
    if (m->rank == 0)
        for (int r = 0; r < k; r++) {
            displ[r] = (int) total;
            total += (gsize) lens[r];
        }
    g_return_val_if_fail(total <= G_MAXINT, NULL);
    g_autofree guint8 *all = m->rank == 0 ? g_malloc(MAX(total, 1)) : NULL;
    MPI_Gatherv(data, len, MPI_BYTE, all, lens, displ, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (m->rank != 0)
        return NULL;
    GBytes **out = g_new0(GBytes *, k + 1);
    for (int r = 0; r < k; r++)
        out[r] = g_bytes_new(all + displ[r], (gsize) lens[r]);
    return out;
}

/* The tag of ms_mpi_gather_stream()'s messages (nothing else here sends
 * point to point; collectives never match a receive). */
#define STREAM_TAG 0x4d53

gboolean
ms_mpi_gather_stream(MsMpi *m, MsMpiChunkNext next, gpointer next_data, MsMpiChunkTake take,
                     gpointer take_data, GError **error)
{
    g_return_val_if_fail(m != NULL && next != NULL && take != NULL, FALSE);
    if (m->rank != 0) {
        /* Blocking sends, a chunk at a time: rank 0 takes the ranks in
         * order, so a rank waits here until its turn comes; an empty
         * message ends its stream. */
        for (GBytes *c; (c = next(next_data));) {
            gsize n = 0;
            const void *data = g_bytes_get_data(c, &n);
            g_assert(n <= G_MAXINT);
            if (n)
                MPI_Send(data, (int) n, MPI_BYTE, 0, STREAM_TAG, MPI_COMM_WORLD);
            g_bytes_unref(c);
        }
        MPI_Send(NULL, 0, MPI_BYTE, 0, STREAM_TAG, MPI_COMM_WORLD);
        return TRUE;
    }
    gboolean ok = TRUE;
    for (GBytes *c; (c = next(next_data));) {
        if (ok && g_bytes_get_size(c))
            ok = take(0, c, take_data, error);
        g_bytes_unref(c);
    }
    /* One buffer for every chunk received, grown as needed: chunks of
     * about one size, taken and dropped one after the other, would
     * otherwise leave the heap a hole each to fill. */
    g_autoptr(GByteArray) buf = g_byte_array_new();
    for (int r = 1; r < m->size; r++)
        for (;;) {
            MPI_Status st;
            int len = 0;
            MPI_Probe(r, STREAM_TAG, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_BYTE, &len);
            g_byte_array_set_size(buf, (guint) MAX(len, 1));
            MPI_Recv(buf->data, len, MPI_BYTE, r, STREAM_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (!len)
                break;
            g_autoptr(GBytes) c = g_bytes_new_static(buf->data, (gsize) len);
            if (ok)
                ok = take((guint32) r, c, take_data, error);
        }
    return ok;
}

GBytes *
ms_mpi_bcast_bytes(MsMpi *m, GBytes *mine)
{
    gsize n = 0;
    const guint8 *data = m->rank == 0 ? g_bytes_get_data(mine, &n) : NULL;
    g_return_val_if_fail(n <= G_MAXINT, NULL);
    int len = (int) n;
    MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
    guint8 *buf = g_malloc(MAX(len, 1));
    if (m->rank == 0)
        memcpy(buf, data, (gsize) len);
    MPI_Bcast(buf, len, MPI_BYTE, 0, MPI_COMM_WORLD);
    return g_bytes_new_take(buf, (gsize) len);
}

guint64
ms_mpi_sum_u64(MsMpi *m, guint64 value)
{
    /* Gathered and added here: MPI_SUM says nothing about wrapping. */
    g_autofree guint64 *all = g_new0(guint64, m->size);
    MPI_Allgather(&value, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    guint64 sum = 0;
    for (int r = 0; r < m->size; r++)
        sum += all[r];
    return sum;
}

double
ms_mpi_sum_double(MsMpi *m, double value)
{
    (void) m;
    double out = 0;
    MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return out;
}

double
ms_mpi_max_double(MsMpi *m, double value)
{
    (void) m;
    double out = 0;
    MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

#else /* !MAILSIM_HAVE_MPI */

struct _MsMpi {
    int unused;
};

gboolean
ms_mpi_available(void)
{
    return FALSE;
}

MsMpi *
ms_mpi_new(GError **error)
{
    g_set_error(error, MS_MPI_ERROR, MS_MPI_ERROR_UNAVAILABLE,
                "this mailsim was built without Open MPI (install openmpi-bin and "
                "libopenmpi-dev, then rebuild)");
    return NULL;
}

void
ms_mpi_free(MsMpi *m)
{
    g_free(m);
}

guint32
ms_mpi_rank(const MsMpi *m)
{
    (void) m;
    return 0;
}
guint32
ms_mpi_size(const MsMpi *m)
{
    (void) m;
    return 1;
}

gboolean
ms_mpi_run_profiled(MsMpi *m, MsShard *shard, MsTime end, MsMpiStats *st, MsMpiProfile *prof,
                    GError **error)
{
    (void) prof;
    return ms_mpi_run(m, shard, end, st, error);
}

gboolean
ms_mpi_run(MsMpi *m, MsShard *shard, MsTime end, MsMpiStats *st, GError **error)
{
    (void) m;
    (void) shard;
    (void) end;
    (void) st;
    g_set_error(error, MS_MPI_ERROR, MS_MPI_ERROR_UNAVAILABLE, "built without Open MPI");
    return FALSE;
}

GBytes **
ms_mpi_gather_bytes(MsMpi *m, GBytes *mine)
{
    (void) m;
    GBytes **out = g_new0(GBytes *, 2);
    out[0] = g_bytes_ref(mine);
    return out;
}

gboolean
ms_mpi_gather_stream(MsMpi *m, MsMpiChunkNext next, gpointer next_data, MsMpiChunkTake take,
                     gpointer take_data, GError **error)
{
    (void) m;
    gboolean ok = TRUE;
    for (GBytes *c; (c = next(next_data));) {
        if (ok && g_bytes_get_size(c))
            ok = take(0, c, take_data, error);
        g_bytes_unref(c);
    }
    return ok;
}

GBytes *
ms_mpi_bcast_bytes(MsMpi *m, GBytes *mine)
{
    (void) m;
    return g_bytes_ref(mine);
}

guint64
ms_mpi_sum_u64(MsMpi *m, guint64 value)
{
    (void) m;
    return value;
}
double
ms_mpi_sum_double(MsMpi *m, double value)
{
    (void) m;
    return value;
}
double
ms_mpi_max_double(MsMpi *m, double value)
{
    (void) m;
    return value;
}

#endif
