/* The links' busiest second (MsLinkStats.peak_busy): every busy interval
 * net.c's forwarding or a flow-level transfer (ms_net_link_account())
 * puts on a link direction is counted in the windows of
 * MS_NET_PEAK_WINDOW it covers; a direction's peak is its largest window
 * total, at most the window.
 *
 * Design. A window's total is the busy time of every interval in it, added
 * up. At packet level a direction's intervals never overlap (it
 * serialises its packets: net.c's busy_until), so that is the time the
 * link was busy. At flow level the transfers sharing a link overlap, each
 * busy for as long as its share of the bandwidth takes (sim/net/flow.c),
 * and a window's total may pass the window: the peak is then 100 %. A sum
 * depends neither on the order of the intervals nor on who counted them,
 * which is what a partitioned run needs: at flow level every link of a
 * transfer's path is counted by the sender's part, so several parts count
 * the same link direction, and the sequential peak is the largest window
 * total once the parts' totals are added per window (sim/run/stats.c;
 * adding the parts' peaks instead overstates it, taking the largest
 * understates it).
 *
 * Windows open and close. Intervals start at the clock or later (a packet
 * leaves when its link is free; an express datagram, flow level, counts
 * its later hops at the times it will cross them), mostly in time order.
 * A direction keeps its open windows: the earliest inline in the link
 * (win_start, win_busy), any later ones in win_later, sorted; a window
 * closes when the clock has passed it, as nothing can start in it any
 * more. An interval longer than a window fills the windows it covers
 * whole: they are not kept (the peak is 100 %). When a part of a
 * partitioned run at flow level closes a window neither empty nor full,
 * it keeps the window's total for the merge (peak_log, one log for all
 * directions in closing order; ms_net_peak_windows()). A full one needs no merge (its direction's peak
 * is 100 % whatever the others add); nor does a direction leaving a host
 * with one link (only that host's own traffic leaves by it), nor packet
 * level, where each direction is counted whole by the part of the host it
 * leaves.
 *
 * Costs: O(1) per interval and per window it touches, plus a scan of the
 * later open windows when an interval starts past the earliest (express
 * datagrams' later hops; the list holds the windows of the next few
 * seconds at most). Memory: 48 bytes per link (per direction a window and
 * a list pointer, the list allocated only when an interval ran ahead).
 * In each part of a partitioned run at flow level, and never otherwise,
 * a byte per link (which directions other parts may count too) and, per
 * second in which this part's traffic kept a shared direction busy for
 * part of the second, three varints in the log: about 5 bytes (the
 * medium world's first 20 simulated minutes, 2 parts: 497,212 windows in
 * 2.5 MB, 1.7 % of its direction-seconds). The log is written where it
 * ended: a list per direction (as before) took 3 bytes a window (1.5 MB
 * there) but a cold cache line or two per window closed, and its growth,
 * which made the accounting ten times the sequential run's in the large
 * world.
 * Threading: one network, one thread. */
#include "net-private.h"

#include <string.h>

/* The start of the window holding t. */
static inline MsTime
window_of(MsTime t)
{
    MsTime r = t % MS_NET_PEAK_WINDOW;
    return t - (r < 0 ? r + MS_NET_PEAK_WINDOW : r);
}

/* Whether closed windows are kept for a merge: a part of a partitioned run
 * at flow level (express datagrams are flow level's). */
static inline gboolean
keeps_windows(const MsNet *n)
{
    return n->shard != NULL && n->express;
}

/* Whether other parts may count direction dir of link li too: not when
 * it leaves a host with one link, as no path passes through such a host
 * (it would leave by the link it came in on), so all that leaves it is its
 * own traffic, counted by its part. */
static inline gboolean
shared_slow(const MsNet *n, guint32 li, int dir)
{
    const MsNetLink *l = link_at(n, li);
    return host_at(n, dir == 0 ? l->a : l->b)->degree > 1;
}

/* The same from a byte per link, built once the links are all there (links
 * are only ever added, and only they change a host's link count): a
 * closing window reads one byte here rather than a host record and its
 * link list, two cache misses in a large world. */
static inline gboolean
shared(MsNet *n, guint32 li, int dir)
{
    if (G_UNLIKELY(n->n_peak_shared != n->links->len)) {
        g_free(n->peak_shared);
        n->n_peak_shared = n->links->len;
        n->peak_shared = g_new(guint8, MAX(n->n_peak_shared, 1u));
        for (guint32 i = 0; i < n->n_peak_shared; i++)
            n->peak_shared[i] = (guint8) (shared_slow(n, i, 0) | shared_slow(n, i, 1) << 1);
    }
    return (n->peak_shared[li] >> dir) & 1;
}

/* Appends a closed or still open window to `out` unless it is empty or
 * full. */
static void
keep(GArray *out, guint32 li, int dir, MsTime start, MsTime busy)
{
    if (busy <= 0 || busy >= MS_NET_PEAK_WINDOW)
        return;
    MsLinkWindow w = { start, 2 * li + (guint32) dir, (guint32) busy };
    g_array_append_val(out, w);
}

/* The log's pieces: fixed, so that a growing log is never copied. */
#define CHUNK_BYTES (64 * 1024 - 64)
#define RECORD_MAX 30 /* three varints of at most 10 bytes */

struct _MsNetPeakChunk {
    guint32 used;
    guint8 data[CHUNK_BYTES];
};

static inline guint8 *
put_varint(guint8 *p, guint64 v)
{
    while (v > 0x7f) {
        *p++ = (guint8) (v | 0x80);
        v >>= 7;
    }
    *p++ = (guint8) v;
    return p;
}

static guint64
get_varint(const guint8 *p, gsize *at)
{
    guint64 v = 0;
    for (guint shift = 0;; shift += 7) {
        guint8 c = p[(*at)++];
        v |= (guint64) (c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
}

/* Keeps a closed window of link direction ld, unless it is empty or full,
 * at the end of the part's one log: a record is written where the last
 * one ended (one cache line, hot), not in a list of the direction's own
 * (one cold line per direction, and its growth). Windows close mostly in
 * time order, so the distance from the previous record (in windows,
 * zigzag-coded: a direction idle for a while closes its window late) is
 * mostly one byte, the direction three and the busy time two or three. */
static void
keep_closed(MsNet *n, guint32 ld, MsTime start, MsTime busy)
{
    if (busy <= 0 || busy >= MS_NET_PEAK_WINDOW)
        return;
    if (!n->peak_log)
        n->peak_log = g_ptr_array_new_with_free_func(g_free);
    MsNetPeakChunk *c =
        n->peak_log->len ? g_ptr_array_index(n->peak_log, n->peak_log->len - 1) : NULL;
    if (!c || c->used > CHUNK_BYTES - RECORD_MAX) {
        c = g_new(MsNetPeakChunk, 1);
        c->used = 0;
        g_ptr_array_add(n->peak_log, c);
    }
    gint64 d = (start - n->peak_log_last) / MS_NET_PEAK_WINDOW;
    guint64 back = (guint64) (-(d + 1)); /* d < 0: -1 codes as 0, and so on */
    guint8 *p = c->data + c->used;
    p = put_varint(p, ld);
    p = put_varint(p, d >= 0 ? (guint64) d << 1 : back << 1 | 1);
    p = put_varint(p, (guint64) busy);
    c->used = (guint32) (p - c->data);
    n->peak_log_last = start;
}

/* Closes the open windows of li's direction dir that start before `limit`
 * (earliest first). */
static void
close_before(MsNet *n, guint32 li, int dir, MsTime limit)
{
    MsNetLinkState *l = link_state(n, link_at(n, li));
    while (l->win_busy[dir] > 0 && l->win_start[dir] < limit) {
        if (keeps_windows(n) && shared(n, li, dir))
            keep_closed(n, 2 * li + (guint32) dir, l->win_start[dir], l->win_busy[dir]);
        GArray *later = l->win_later[dir];
        if (later && later->len > 0) {
            MsNetWindow next = g_array_index(later, MsNetWindow, 0);
            g_array_remove_index(later, 0);
            l->win_start[dir] = next.start;
            l->win_busy[dir] = next.busy;
        } else {
            l->win_busy[dir] = 0;
        }
    }
}

/* Adds `part` to the window starting at w0; returns its total (at most
 * the window: a full window stays full). */
static MsTime
window_add(MsNetLinkState *l, int dir, MsTime w0, MsTime part)
{
    if (l->win_busy[dir] == 0) {
        l->win_start[dir] = w0;
        l->win_busy[dir] = MIN(part, MS_NET_PEAK_WINDOW);
        return l->win_busy[dir];
    }
    if (w0 == l->win_start[dir]) {
        l->win_busy[dir] = MIN(l->win_busy[dir] + part, MS_NET_PEAK_WINDOW);
        return l->win_busy[dir];
    }
    if (!l->win_later[dir])
        l->win_later[dir] = g_array_new(FALSE, FALSE, sizeof(MsNetWindow));
    GArray *later = l->win_later[dir];
    if (w0 < l->win_start[dir]) {
        /* Before the earliest open one (only a caller counting behind the
         * clock does that): it becomes the earliest. */
        MsNetWindow was = { l->win_start[dir], l->win_busy[dir] };
        g_array_prepend_val(later, was);
        l->win_start[dir] = w0;
        l->win_busy[dir] = MIN(part, MS_NET_PEAK_WINDOW);
        return l->win_busy[dir];
    }
    guint i = later->len;
    while (i > 0 && g_array_index(later, MsNetWindow, i - 1).start > w0)
        i--;
    if (i > 0 && g_array_index(later, MsNetWindow, i - 1).start == w0) {
        MsNetWindow *w = &g_array_index(later, MsNetWindow, i - 1);
        w->busy = MIN(w->busy + part, MS_NET_PEAK_WINDOW);
        return w->busy;
    }
    MsNetWindow w = { w0, MIN(part, MS_NET_PEAK_WINDOW) };
    g_array_insert_val(later, i, w);
    return w.busy;
}

void
ms__net_peak_account(MsNet *n, guint32 li, int dir, MsTime start, MsTime busy)
{
    /* Nothing starts before the clock's window any more (a caller counting
     * behind the clock keeps its own windows open). */
    close_before(n, li, dir, window_of(MIN(start, ms_engine_now(n->engine))));
    MsNetLinkState *l = link_state(n, link_at(n, li));
    MsTime *peak = &l->st.peak_busy[dir];
    MsTime s = start;
    while (busy > 0) {
        MsTime w0 = window_of(s);
        MsTime part = MIN(busy, w0 + MS_NET_PEAK_WINDOW - s);
        MsTime total = window_add(l, dir, w0, part); /* once: MAX() evaluates twice */
        *peak = MAX(*peak, total);
        s += part;
        busy -= part;
        if (busy >= MS_NET_PEAK_WINDOW) { /* whole windows: each one full */
            *peak = MS_NET_PEAK_WINDOW;
            s += busy - busy % MS_NET_PEAK_WINDOW;
            busy %= MS_NET_PEAK_WINDOW;
        }
    }
}

void
ms__net_peak_clear(MsNetLinkState *l)
{
    for (int d = 0; d < 2; d++)
        if (l->win_later[d])
            g_clear_pointer(&l->win_later[d], g_array_unref);
}

void
ms__net_peak_free_kept(MsNet *n)
{
    g_clear_pointer(&n->peak_log, g_ptr_array_unref);
    g_clear_pointer(&n->peak_shared, g_free);
    n->n_peak_shared = 0;
}

void
ms_net_peak_windows(const MsNet *n, GArray *out)
{
    g_return_if_fail(n != NULL && out != NULL);
    if (!keeps_windows(n))
        return;
    MsTime start = 0;
    for (guint i = 0; n->peak_log && i < n->peak_log->len; i++) {
        const MsNetPeakChunk *c = g_ptr_array_index(n->peak_log, i);
        for (gsize at = 0; at < c->used;) {
            guint32 ld = (guint32) get_varint(c->data, &at);
            guint64 z = get_varint(c->data, &at);
            gint64 d = (z & 1) ? -(gint64) (z >> 1) - 1 : (gint64) (z >> 1);
            start += d * MS_NET_PEAK_WINDOW;
            MsLinkWindow w = { start, ld, (guint32) get_varint(c->data, &at) };
            g_array_append_val(out, w);
        }
    }
    /* and the windows still open */
    for (guint32 li = 0; li < n->links->len; li++) {
        const MsNetLinkState *l = link_at(n, li)->s;
        for (int d = 0; l && d < 2; d++) {
            if (l->win_busy[d] == 0 || !shared_slow(n, li, d))
                continue;
            keep(out, li, d, l->win_start[d], l->win_busy[d]);
            const GArray *later = l->win_later[d];
            for (guint i = 0; later && i < later->len; i++) {
                const MsNetWindow *w = &g_array_index(later, MsNetWindow, i);
                keep(out, li, d, w->start, w->busy);
            }
        }
    }
}
