/* The MPI driver of partitioned runs (see include/mailsim/mpi_run.h and
 * the design notes atop sim/dist/shard.c). Role: the only file that talks to
 * Open MPI; everything else sees the shard interface.
 *
 * Each boundary between windows costs one collective on MPI_COMM_WORLD,
 * MPI_Allgather of (this rank's next event, "failed", the earliest event in
 * its outbox for each rank): every rank works out each rank's next event
 * after delivery, and from those how far it may run how far it may run (ms_shard_safe_until(): up to two
 * lookaheads past the earliest next event for the rank that holds it), and
 * all agree on when to stop; a rank that finished its window early waits
 * here (the wait share we report). Only when some rank has events to send
 * do two more follow:
 *   MPI_Alltoall of byte counts,
 *   MPI_Alltoallv of the outboxes (48-byte MsShardEvent records, each with
 *   its blob, as bytes: every rank runs the same binary on one machine or
 *   identical ones).
 * Received events are delivered in sender-rank order, each sender's in its
 * scheduling order, which is what the shard's ordering argument needs.
 * Worlds whose events are sparse (a few per lookahead) spend most of their
 * time in these collectives: see the figures in the README.
 *
 * Limits: MPI counts are int, so one rank may send at most 2 GiB / K per
 * window (about 22 million events with K = 2); more gives
 * MS_MPI_ERROR_TOO_LARGE (all ranks stop at that boundary).
 * Without MAILSIM_HAVE_MPI (no Open MPI at build time) the functions report
 * the distributed mode as unavailable. */
#include "mailsim/mpi_run.h"

G_DEFINE_QUARK(ms - mpi - error - quark, ms_mpi_error)

#ifdef MAILSIM_HAVE_MPI

#include <mpi.h>
#include <string.h>

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

gboolean
ms_mpi_run(MsMpi *m, MsShard *shard, MsTime end, MsMpiStats *st, GError **error)
{
    g_return_val_if_fail(ms_shard_self(shard) == (guint32) m->rank, FALSE);
    g_return_val_if_fail(ms_shard_parts(shard) == (guint32) m->size, FALSE);
    memset(st, 0, sizeof *st);
    st->ranks = (guint32) m->size;
    int k = m->size;
    g_autofree int *scount = g_new0(int, k), *rcount = g_new0(int, k);
    g_autofree int *sdispl = g_new0(int, k), *rdispl = g_new0(int, k);
    g_autofree gint64 *all = g_new(gint64, (gsize) (k + 2) * (gsize) k);
    g_autofree gint64 *mine = g_new(gint64, (gsize) k + 2);
    g_autofree MsTime *next = g_new(MsTime, k);
    g_autoptr(GByteArray) sendbuf = g_byte_array_new();
    g_autoptr(GByteArray) recvbuf = g_byte_array_new();
    /* Per rank and window, so that no receiver gets more than G_MAXINT bytes. */
    const gsize limit = (gsize) G_MAXINT / (gsize) k;
    gboolean ok = TRUE;

    MPI_Barrier(MPI_COMM_WORLD);
    gint64 t_begin = g_get_monotonic_time();
    for (;;) {
        /* One reduction decides the next window and whether anything must
         * move: the start is the earliest of every rank's next event and of
         * every event waiting in an outbox (which will be its receiver's). */
        gsize out_bytes = 0;
        for (int r = 0; r < k; r++) {
            gsize n = 0;
            ms_shard_outbox(shard, (guint32) r, &n);
            out_bytes += n;
        }
        if (out_bytes > limit)
            ok = FALSE;
        /* (next event, failed, earliest event for rank 0, 1, ...) */
        const int w = k + 2;
        mine[0] = ms_shard_next_time(shard);
        mine[1] = ok ? 0 : 1;
        for (int r = 0; r < k; r++)
            mine[2 + r] = ms_shard_outbox_min_time(shard, (guint32) r);
        gint64 t0 = g_get_monotonic_time();
        MPI_Allgather(mine, w, MPI_INT64_T, all, w, MPI_INT64_T, MPI_COMM_WORLD);
        gint64 t1 = g_get_monotonic_time();
        st->wait_s += (double) (t1 - t0) / 1e6;
        gint64 start = G_MAXINT64;
        gboolean any_sent = FALSE, any_failed = FALSE;
        for (int r = 0; r < k; r++) {
            /* Rank r's next event once what is on its way has arrived. */
            next[r] = all[w * r];
            for (int q = 0; q < k; q++) {
                next[r] = MIN(next[r], all[w * q + 2 + r]);
                any_sent |= all[w * q + 2 + r] != MS_TIME_INFINITE;
            }
            start = MIN(start, next[r]);
            any_failed |= all[w * r + 1] != 0;
        }
        if (any_failed)
            break;
        if (any_sent) {
            /* Pack the outboxes by destination rank and move them. */
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
        }
        st->exchange_s += seconds_since(t1);
        if (start > end || start == MS_TIME_INFINITE)
            break;
        gint64 t3 = g_get_monotonic_time();
        /* Each rank's own bound: wider than [start, start + lookahead) when
         * the others' next events are later. */
        ms_shard_run_until(
            shard,
            ms_shard_safe_until(next, (guint32) k, (guint32) m->rank, ms_shard_lookahead(shard)),
            end);
        st->compute_s += seconds_since(t3);
        st->windows++;
    }
    ms_engine_run(ms_shard_engine(shard), end);
    st->wall_s = seconds_since(t_begin);
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
