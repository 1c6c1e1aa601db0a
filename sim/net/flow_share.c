/* Link shares at flow level as the senders learn them (see flow.c, "Fair
 * share"): how many transfers cross a link direction at a given time.
 *
 * Design. A transfer crossing link direction ld is an interval [join, end)
 * of model time. The number crossing at time t is
 *     #{join <= t < end} = #{join <= t} - #{end <= t}
 * (end <= t implies join <= t, as join <= end), so each link direction
 * keeps two sorted arrays of times, the joins and the ends, and a count is
 * two binary searches. Times at or before a horizon are folded into a base
 * count: base = #{join <= horizon} - #{end <= horizon}, and for any t at or
 * after the horizon the count is base + the array counts. Readers never ask
 * about times before now - MS__FLOW_SIGNAL_MAX, so the horizon follows the
 * reader's clock that far behind. An interval added after the horizon
 * passed its join (a distributed run's remote transfers arrive a window
 * late) folds the same way; hence the result never depends on the order of
 * additions or on when pruning happened, which is what lets several ranks
 * hold the same view.
 *
 * Costs: O(log n) per count, n being the transfers of the last
 * MS__FLOW_SIGNAL_MAX on that link direction; an addition is O(1) when
 * times come in order (they nearly do), else a shift. Memory: 16 bytes per
 * interval held, and a record of 64 bytes per link direction, made on first
 * use in blocks of VIEW_BLOCK neighbours (a part of a distributed run never
 * holds the views of the links only other parts use; a dense array up to
 * the highest direction used, doubled as it grew, took 31 MB of the large
 * world's first simulated second in every process). Threading: owned by
 * one flow, one thread. */
#include "flow-private.h"

#include <string.h>

/* Sorted times in v[head..len). */
typedef struct {
    MsTime *v;
    guint head, len, cap;
} TimeList;

typedef struct {
    TimeList joins, ends;
    MsTime horizon;
    gint64 base;
} LinkView;

#define VIEW_BLOCK 256u

struct _MsFlowShare {
    LinkView **blocks; /* per VIEW_BLOCK link directions, NULL until used */
    guint n_blocks;
};

MsFlowShare *
ms__flow_share_new(void)
{
    return g_new0(MsFlowShare, 1);
}

void
ms__flow_share_free(MsFlowShare *s)
{
    if (!s)
        return;
    for (guint b = 0; b < s->n_blocks; b++) {
        for (guint i = 0; s->blocks[b] && i < VIEW_BLOCK; i++) {
            g_free(s->blocks[b][i].joins.v);
            g_free(s->blocks[b][i].ends.v);
        }
        g_free(s->blocks[b]);
    }
    g_free(s->blocks);
    g_free(s);
}

/* The view of `ld`, or NULL when it was never made. */
static LinkView *
view_find(const MsFlowShare *s, guint ld)
{
    guint b = ld / VIEW_BLOCK;
    return b < s->n_blocks && s->blocks[b] ? &s->blocks[b][ld % VIEW_BLOCK] : NULL;
}

/* The view of `ld`, made (with its block) when it was not. */
static LinkView *
view_at(MsFlowShare *s, guint ld)
{
    guint b = ld / VIEW_BLOCK;
    if (b >= s->n_blocks) {
        guint n = MAX(b + 1, 2 * s->n_blocks);
        s->blocks = g_renew(LinkView *, s->blocks, n);
        memset(s->blocks + s->n_blocks, 0, (n - s->n_blocks) * sizeof *s->blocks);
        s->n_blocks = n;
    }
    if (!s->blocks[b]) {
        s->blocks[b] = g_new0(LinkView, VIEW_BLOCK);
        for (guint i = 0; i < VIEW_BLOCK; i++)
            s->blocks[b][i].horizon = G_MININT64;
    }
    return &s->blocks[b][ld % VIEW_BLOCK];
}

static void
list_insert(TimeList *l, MsTime t)
{
    if (l->head > 0 && l->head * 2 >= l->len) { /* compact before growing */
        memmove(l->v, l->v + l->head, (l->len - l->head) * sizeof *l->v);
        l->len -= l->head;
        l->head = 0;
    }
    if (l->len == l->cap) {
        l->cap = MAX(8u, 2 * l->cap);
        l->v = g_renew(MsTime, l->v, l->cap);
    }
    guint i = l->len++;
    while (i > l->head && l->v[i - 1] > t) {
        l->v[i] = l->v[i - 1];
        i--;
    }
    l->v[i] = t;
}

/* Times in the list at or before t. */
static guint
list_upto(const TimeList *l, MsTime t)
{
    guint lo = l->head, hi = l->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (l->v[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - l->head;
}

/* Drops the times at or before h; returns how many. */
static guint
list_prune(TimeList *l, MsTime h)
{
    guint n = 0;
    while (l->head < l->len && l->v[l->head] <= h) {
        l->head++;
        n++;
    }
    if (l->head == l->len)
        l->head = l->len = 0;
    return n;
}

void
ms__flow_share_add(MsFlowShare *s, guint ld, MsTime join, MsTime end)
{
    g_return_if_fail(join <= end);
    if (join == end)
        return; /* crosses at no time */
    LinkView *v = view_at(s, ld);
    if (join <= v->horizon)
        v->base++;
    else
        list_insert(&v->joins, join);
    if (end <= v->horizon)
        v->base--;
    else
        list_insert(&v->ends, end);
}

guint
ms__flow_share_count(MsFlowShare *s, guint ld, MsTime at, MsTime now)
{
    LinkView *v = view_find(s, ld);
    if (!v)
        return 0;
    MsTime h = now - MS__FLOW_SIGNAL_MAX;
    if (h > v->horizon) {
        v->base += list_prune(&v->joins, h);
        v->base -= list_prune(&v->ends, h);
        v->horizon = h;
    }
    g_assert(at >= v->horizon);
    gint64 n = v->base + (gint64) list_upto(&v->joins, at) - (gint64) list_upto(&v->ends, at);
    g_assert(n >= 0);
    return (guint) n;
}

guint64
ms__flow_share_held(const MsFlowShare *s)
{
    guint64 n = 0;
    for (guint b = 0; b < s->n_blocks; b++)
        for (guint i = 0; s->blocks[b] && i < VIEW_BLOCK; i++)
            n += (s->blocks[b][i].joins.len - s->blocks[b][i].joins.head) +
                 (s->blocks[b][i].ends.len - s->blocks[b][i].ends.head);
    return n;
}
