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
 * it keeps the window's total for the merge (peak_kept, per direction;
 * ms_net_peak_windows()). A full one needs no merge (its direction's peak
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
 * 16 bytes per link direction (and a byte array for each that keeps
 * any) and, per second in which this part's
 * traffic kept a shared direction busy for part of the second, two
 * varints: about 3 bytes (the medium world's first 20 simulated minutes,
 * 2 parts: 501,003 windows in 1.5 MB, 1.7 % of its direction-seconds).
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

/* Whether other parts may count direction dir of l too: not when it
 * leaves a host with one link, as no path passes through such a host (it
 * would leave by the link it came in on), so all that leaves it is its
 * own traffic, counted by its part. */
static inline gboolean
shared(const MsNet *n, const MsNetLink *l, int dir)
{
    return host_at(n, dir == 0 ? l->a : l->b)->links->len > 1;
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

static void
put_varint(GByteArray *b, guint64 v)
{
    guint8 buf[10];
    guint n = 0;
    do {
        buf[n++] = (guint8) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    g_byte_array_append(b, buf, n);
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

/* Keeps a closed window of link direction ld, unless it is empty or full.
 * Windows close in time order, so the distance from the last one (in
 * windows, zigzag-coded in case a caller counted behind the clock) is
 * mostly one byte, and the busy time two or three. */
static void
keep_closed(MsNet *n, guint32 ld, MsTime start, MsTime busy)
{
    if (busy <= 0 || busy >= MS_NET_PEAK_WINDOW)
        return;
    if (ld >= n->n_peak_kept) {
        guint32 m = MAX(ld + 1, 2 * n->links->len);
        n->peak_kept = g_renew(MsNetKept, n->peak_kept, m);
        memset(n->peak_kept + n->n_peak_kept, 0, (m - n->n_peak_kept) * sizeof *n->peak_kept);
        n->n_peak_kept = m;
    }
    MsNetKept *k = &n->peak_kept[ld];
    if (!k->bytes)
        k->bytes = g_byte_array_new();
    gint64 d = (start - k->last) / MS_NET_PEAK_WINDOW;
    guint64 back = (guint64) (-(d + 1)); /* d < 0: -1 codes as 0, and so on */
    put_varint(k->bytes, d >= 0 ? (guint64) d << 1 : back << 1 | 1);
    put_varint(k->bytes, (guint64) busy);
    k->last = start;
}

/* Closes the open windows of li's direction dir that start before `limit`
 * (earliest first). */
static void
close_before(MsNet *n, guint32 li, int dir, MsTime limit)
{
    MsNetLink *l = link_at(n, li);
    while (l->win_busy[dir] > 0 && l->win_start[dir] < limit) {
        if (keeps_windows(n) && shared(n, l, dir))
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
window_add(MsNetLink *l, int dir, MsTime w0, MsTime part)
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
    MsNetLink *l = link_at(n, li);
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
ms__net_peak_clear(MsNetLink *l)
{
    for (int d = 0; d < 2; d++)
        if (l->win_later[d])
            g_clear_pointer(&l->win_later[d], g_array_unref);
}

void
ms__net_peak_free_kept(MsNet *n)
{
    for (guint32 ld = 0; ld < n->n_peak_kept; ld++)
        if (n->peak_kept[ld].bytes)
            g_byte_array_unref(n->peak_kept[ld].bytes);
    g_clear_pointer(&n->peak_kept, g_free);
    n->n_peak_kept = 0;
}

void
ms_net_peak_windows(const MsNet *n, GArray *out)
{
    g_return_if_fail(n != NULL && out != NULL);
    if (!keeps_windows(n))
        return;
    for (guint32 ld = 0; ld < n->n_peak_kept; ld++) {
        const GByteArray *b = n->peak_kept[ld].bytes;
        MsTime start = 0;
        for (gsize at = 0; b && at < b->len;) {
            guint64 z = get_varint(b->data, &at);
            gint64 d = (z & 1) ? -(gint64) (z >> 1) - 1 : (gint64) (z >> 1);
            start += d * MS_NET_PEAK_WINDOW;
            MsLinkWindow w = { start, ld, (guint32) get_varint(b->data, &at) };
            g_array_append_val(out, w);
        }
    }
    /* and the windows still open */
    for (guint32 li = 0; li < n->links->len; li++) {
        const MsNetLink *l = link_at(n, li);
        for (int d = 0; d < 2; d++) {
            if (l->win_busy[d] == 0 || !shared(n, l, d))
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
