/* The receiving half of a packet-level TCP connection (see sim/net/tcp.c):
 * between the segments that arrive and the ordered byte stream the app
 * reads.
 *
 * Design. Every segment carrying a new byte is queued, in order of sequence
 * number, as a ref on its payload (no copy); sim/net/tcp.c then pulls the
 * bytes that are in order (from rcv_nxt) and hands them to the app. A
 * segment above rcv_nxt waits in the queue until the gap below it fills,
 * as real stacks keep out-of-order data (Linux's out_of_order_queue), so
 * the sender resends only what was lost. Entries may overlap (a sender
 * that re-cut its data); pulling skips what is already delivered.
 *
 * Invariants: the queue is sorted by seq and every entry ends above
 * rcv_nxt once pulling is done. Ownership: the queue holds one ref per
 * entry. Costs: in order, one append and one removal at the front per
 * segment (no allocation once the array has grown); out of order, an
 * insertion at the right place, O(queued segments). */
#include "tcp-private.h"

#include <string.h>

void
ms__tcp_recv_init(MsTcpConn *c)
{
    c->ooo = g_array_new(FALSE, FALSE, sizeof(MsTcpOooSeg));
}

void
ms__tcp_recv_clear(MsTcpConn *c)
{
    if (!c->ooo)
        return;
    for (guint i = 0; i < c->ooo->len; i++)
        g_bytes_unref(g_array_index(c->ooo, MsTcpOooSeg, i).bytes);
    g_array_free(c->ooo, TRUE);
    c->ooo = NULL;
}

/* Whether [seq, end) is already held, by rcv_nxt or by one queued entry. */
static gboolean
already_held(const MsTcpConn *c, guint32 seq, guint32 end)
{
    if (MS_TCP_SEQ_LE(end, c->rcv_nxt))
        return TRUE;
    for (guint i = 0; i < c->ooo->len; i++) {
        const MsTcpOooSeg *o = &g_array_index(c->ooo, MsTcpOooSeg, i);
        if (MS_TCP_SEQ_LE(o->seq, MS_TCP_SEQ_MAX(seq, c->rcv_nxt)) &&
            MS_TCP_SEQ_GE(o->seq + o->len, end))
            return TRUE;
    }
    return FALSE;
}

gboolean
ms__tcp_recv_segment(MsTcpConn *c, guint32 seq, GBytes *payload)
{
    guint32 len = (guint32) g_bytes_get_size(payload);
    guint32 end = seq + len;
    /* RFC 5681 4.2: out-of-order data, a duplicate, or data filling a gap
     * (the queue is not empty) is acknowledged at once. */
    gboolean in_order = MS_TCP_SEQ_LE(seq, c->rcv_nxt) && MS_TCP_SEQ_GT(end, c->rcv_nxt);
    gboolean immediate = !in_order || c->ooo->len > 0;
    if (already_held(c, seq, end))
        return TRUE;
    guint i = c->ooo->len;
    while (i > 0 && MS_TCP_SEQ_GT(g_array_index(c->ooo, MsTcpOooSeg, i - 1).seq, seq))
        i--;
    MsTcpOooSeg o = { seq, len, g_bytes_ref(payload) };
    g_array_insert_val(c->ooo, i, o);
    if (!in_order) {
        /* Remember the arrival, for the order of the SACK blocks. */
        guint n = MIN(c->n_recent, G_N_ELEMENTS(c->sack_recent) - 1);
        memmove(c->sack_recent + 1, c->sack_recent, n * sizeof c->sack_recent[0]);
        c->sack_recent[0] = seq;
        c->n_recent = n + 1;
    }
    return immediate;
}

GBytes *
ms__tcp_recv_pull(MsTcpConn *c, gsize *off, gsize *len)
{
    while (c->ooo->len > 0) {
        MsTcpOooSeg o = g_array_index(c->ooo, MsTcpOooSeg, 0);
        if (MS_TCP_SEQ_GT(o.seq, c->rcv_nxt))
            return NULL; /* a gap below the first entry */
        g_array_remove_index(c->ooo, 0);
        if (MS_TCP_SEQ_LE(o.seq + o.len, c->rcv_nxt)) {
            g_bytes_unref(o.bytes); /* delivered already, through an overlap */
            continue;
        }
        *off = c->rcv_nxt - o.seq;
        *len = o.len - *off;
        c->rcv_nxt = o.seq + o.len;
        return o.bytes;
    }
    return NULL;
}

/* The range of queued data around `seq` (merging entries that touch), or
 * FALSE when no entry holds seq. */
static gboolean
block_around(const MsTcpConn *c, guint32 seq, guint32 *left, guint32 *right)
{
    guint n = c->ooo->len, i = 0;
    while (i < n) {
        const MsTcpOooSeg *o = &g_array_index(c->ooo, MsTcpOooSeg, i);
        guint32 l = o->seq, r = o->seq + o->len;
        for (i++; i < n; i++) {
            const MsTcpOooSeg *x = &g_array_index(c->ooo, MsTcpOooSeg, i);
            if (MS_TCP_SEQ_GT(x->seq, r))
                break;
            r = MS_TCP_SEQ_MAX(r, x->seq + x->len);
        }
        if (MS_TCP_SEQ_LE(l, seq) && MS_TCP_SEQ_LT(seq, r)) {
            *left = l;
            *right = r;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
has_block(const guint32 *edges, guint n, guint32 left)
{
    for (guint i = 0; i < n; i++)
        if (edges[2 * i] == left)
            return TRUE;
    return FALSE;
}

guint
ms__tcp_recv_sack_blocks(const MsTcpConn *c, guint32 *edges, guint max)
{
    guint n = 0;
    guint32 l, r;
    /* RFC 2018 4: the block holding the latest arrival first, then the
     * blocks of the arrivals before it, most recent first. */
    for (guint i = 0; i < c->n_recent && n < max; i++)
        if (block_around(c, c->sack_recent[i], &l, &r) && !has_block(edges, n, l)) {
            edges[2 * n] = l;
            edges[2 * n + 1] = r;
            n++;
        }
    /* Then any other block, in sequence order, while room is left. */
    for (guint i = 0; i < c->ooo->len && n < max; i++) {
        guint32 seq = g_array_index(c->ooo, MsTcpOooSeg, i).seq;
        if (block_around(c, seq, &l, &r) && !has_block(edges, n, l)) {
            edges[2 * n] = l;
            edges[2 * n + 1] = r;
            n++;
        }
    }
    return n;
}
