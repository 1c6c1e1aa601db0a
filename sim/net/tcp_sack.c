/* The sender's scoreboard of a packet-level TCP connection (see
 * sim/net/tcp.c): every segment sent and not yet cumulatively acknowledged,
 * with what the peer's SACK blocks and the loss rules say of it. sim/net/tcp.c
 * asks it what to retransmit and how much is in the network; it sends
 * nothing itself.
 *
 * Design. Segments are cut once, when first sent, and recorded here by
 * (seq, len); a retransmission resends the same bytes under the same
 * boundaries, as real stacks do (Linux keeps its sent skbs in the
 * retransmit queue). Each record has flags: SACKED (a SACK block of the
 * peer covers it, RFC 2018), LOST (RFC 6675 IsLost(): DupThresh = 3 SACKed
 * segments, or more than 2 SMSS SACKed bytes, lie above it; or the RTO fired
 * while it was outstanding), RXT (retransmitted since it was marked
 * lost) and EVER (retransmitted at any time, which F-RTO, RFC 5682, asks of
 * the segments a new ACK covers). From them come RFC 6675's pipe
 * (SetPipe) and NextSeg.
 *
 * Invariants: records are in sequence order, contiguous, from the segment
 * holding snd_una to snd_max. Ownership: plain values in an array; acked
 * records leave from the front (the array is compacted when half of it is
 * dead). Costs: O(1) per segment sent and acknowledged; SACK marking,
 * pipe and NextSeg walk the records in flight (at most 45 with a window of
 * 65,535 bytes), once per ACK in loss recovery. */
#include "tcp-private.h"

#define DUP_THRESH 3 /* RFC 6675 2: DupThresh */

void
ms__tcp_sack_init(MsTcpConn *c)
{
    c->segs = g_array_new(FALSE, FALSE, sizeof(MsTcpSeg));
    c->segs_head = 0;
}

void
ms__tcp_sack_clear(MsTcpConn *c)
{
    if (c->segs)
        g_array_free(c->segs, TRUE);
    c->segs = NULL;
}

guint
ms__tcp_sack_count(const MsTcpConn *c)
{
    return c->segs->len - c->segs_head;
}

MsTcpSeg *
ms__tcp_sack_at(MsTcpConn *c, guint i)
{
    return &g_array_index(c->segs, MsTcpSeg, c->segs_head + i);
}

void
ms__tcp_sack_add(MsTcpConn *c, guint32 seq, guint32 len, guint8 flags, MsTime sent)
{
    MsTcpSeg s = { seq, len, flags, sent };
    g_array_append_val(c->segs, s);
}

void
ms__tcp_sack_ack(MsTcpConn *c, guint32 ack)
{
    while (c->segs_head < c->segs->len) {
        MsTcpSeg *s = &g_array_index(c->segs, MsTcpSeg, c->segs_head);
        if (MS_TCP_SEQ_LE(s->seq + s->len, ack)) {
            c->segs_head++;
            continue;
        }
        if (MS_TCP_SEQ_LT(s->seq, ack)) { /* acknowledged in part */
            s->len -= ack - s->seq;
            s->seq = ack;
        }
        break;
    }
    if (c->segs_head == c->segs->len) {
        g_array_set_size(c->segs, 0);
        c->segs_head = 0;
    } else if (c->segs_head > 64 && c->segs_head * 2 > c->segs->len) {
        g_array_remove_range(c->segs, 0, c->segs_head);
        c->segs_head = 0;
    }
}

gboolean
ms__tcp_sack_update(MsTcpConn *c, const guint32 *blocks, guint n)
{
    gboolean news = FALSE;
    guint count = ms__tcp_sack_count(c);
    for (guint b = 0; b < n; b++) {
        guint32 left = blocks[2 * b], right = blocks[2 * b + 1];
        for (guint i = 0; i < count; i++) {
            MsTcpSeg *s = ms__tcp_sack_at(c, i);
            if (MS_TCP_SEQ_GE(s->seq, right))
                break;
            if (!(s->flags & MS_TCP_SEG_SACKED) && MS_TCP_SEQ_GE(s->seq, left) &&
                MS_TCP_SEQ_LE(s->seq + s->len, right)) {
                s->flags |= MS_TCP_SEG_SACKED;
                news = TRUE;
            }
        }
    }
    return news;
}

void
ms__tcp_sack_mark_lost(MsTcpConn *c)
{
    guint sacked = 0;
    guint64 sacked_bytes = 0;
    for (guint i = ms__tcp_sack_count(c); i-- > 0;) {
        MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (s->flags & MS_TCP_SEG_SACKED) {
            sacked++;
            sacked_bytes += s->len;
        } else if (sacked >= DUP_THRESH || sacked_bytes > (DUP_THRESH - 1) * (guint64) c->mss) {
            s->flags |= MS_TCP_SEG_LOST; /* RFC 6675 4: IsLost() */
        }
    }
}

void
ms__tcp_sack_mark_all_lost(MsTcpConn *c)
{
    for (guint i = 0; i < ms__tcp_sack_count(c); i++) {
        MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (!(s->flags & MS_TCP_SEG_SACKED))
            s->flags = (guint8) ((s->flags | MS_TCP_SEG_LOST) & ~MS_TCP_SEG_RXT);
    }
}

guint32
ms__tcp_sack_pipe(MsTcpConn *c)
{
    /* RFC 6675 4, SetPipe(): an octet not SACKed counts once unless it is
     * lost, and once more if it was retransmitted. */
    guint32 pipe = 0;
    for (guint i = 0; i < ms__tcp_sack_count(c); i++) {
        const MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (s->flags & MS_TCP_SEG_SACKED)
            continue;
        if (!(s->flags & MS_TCP_SEG_LOST))
            pipe += s->len;
        if (s->flags & MS_TCP_SEG_RXT)
            pipe += s->len;
    }
    return pipe;
}

MsTcpSeg *
ms__tcp_sack_next_lost(MsTcpConn *c)
{
    /* RFC 6675 4, NextSeg() rule 1: the first lost segment not yet resent. */
    for (guint i = 0; i < ms__tcp_sack_count(c); i++) {
        MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if ((s->flags & (MS_TCP_SEG_LOST | MS_TCP_SEG_RXT | MS_TCP_SEG_SACKED)) == MS_TCP_SEG_LOST)
            return s;
    }
    return NULL;
}

MsTcpSeg *
ms__tcp_sack_next_hole(MsTcpConn *c)
{
    /* NextSeg() rule 3: a segment not SACKed, not resent, below the highest
     * SACKed one, although not yet deemed lost. */
    guint count = ms__tcp_sack_count(c);
    guint high = count;
    for (guint i = count; i-- > 0;)
        if (ms__tcp_sack_at(c, i)->flags & MS_TCP_SEG_SACKED) {
            high = i;
            break;
        }
    for (guint i = 0; i < high && high < count; i++) {
        MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (!(s->flags & (MS_TCP_SEG_SACKED | MS_TCP_SEG_RXT)))
            return s;
    }
    return NULL;
}

void
ms__tcp_sack_unmark_lost(MsTcpConn *c)
{
    for (guint i = 0; i < ms__tcp_sack_count(c); i++)
        ms__tcp_sack_at(c, i)->flags &= (guint8) ~MS_TCP_SEG_LOST;
}

gboolean
ms__tcp_sack_orig_covered(MsTcpConn *c, guint32 ack, const guint32 *blocks, guint n, guint32 limit)
{
    for (guint i = 0; i < ms__tcp_sack_count(c); i++) {
        const MsTcpSeg *s = ms__tcp_sack_at(c, i);
        guint32 end = s->seq + s->len;
        if (MS_TCP_SEQ_GT(end, limit))
            break;
        if (s->flags & (MS_TCP_SEG_EVER | MS_TCP_SEG_SACKED))
            continue;
        if (MS_TCP_SEQ_LE(end, ack))
            return TRUE;
        for (guint b = 0; b < n; b++)
            if (MS_TCP_SEQ_GE(s->seq, blocks[2 * b]) && MS_TCP_SEQ_LE(end, blocks[2 * b + 1]))
                return TRUE;
    }
    return FALSE;
}

MsTcpSeg *
ms__tcp_sack_last_unsacked(MsTcpConn *c)
{
    for (guint i = ms__tcp_sack_count(c); i-- > 0;) {
        MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (!(s->flags & MS_TCP_SEG_SACKED))
            return s;
    }
    return NULL;
}

static gboolean
in_blocks(const MsTcpSeg *s, const guint32 *blocks, guint n)
{
    for (guint b = 0; b < n; b++)
        if (MS_TCP_SEQ_GE(s->seq, blocks[2 * b]) &&
            MS_TCP_SEQ_LE(s->seq + s->len, blocks[2 * b + 1]))
            return TRUE;
    return FALSE;
}

gboolean
ms__tcp_sack_rtt_from(MsTcpConn *c, guint32 ack, const guint32 *blocks, guint n, MsTime *sent)
{
    guint count = ms__tcp_sack_count(c);
    gboolean have = FALSE, rxt = FALSE;
    MsTime first = 0;
    guint i = 0;
    for (; i < count; i++) {
        const MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (MS_TCP_SEQ_GT(s->seq + s->len, ack))
            break;
        if (s->flags & MS_TCP_SEG_SACKED)
            continue;
        if (s->flags & MS_TCP_SEG_EVER)
            rxt = TRUE;
        else if (!have) {
            first = s->sent;
            have = TRUE;
        }
    }
    if (have && !rxt) {
        *sent = first;
        return TRUE;
    }
    for (; i < count; i++) {
        const MsTcpSeg *s = ms__tcp_sack_at(c, i);
        if (!(s->flags & (MS_TCP_SEG_SACKED | MS_TCP_SEG_EVER)) && in_blocks(s, blocks, n)) {
            *sent = s->sent;
            return TRUE;
        }
    }
    return FALSE;
}
