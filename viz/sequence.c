/* The sequence chart (include/mailsim/viz.h): one lane per host of the
 * journey, time downwards, an arrow per exchange of the journey's steps
 * (each SMTP or POP3 command and reply, DNS queries and answers, the TCP
 * handshake of each session in three thin arrows: SYN, SYN-ACK, ACK),
 * labelled with the protocol text. Failures are drawn, not hidden: a
 * session the server refused (a 4xx/5xx reply: greylisting's 450, an
 * unknown user's 550) has its refusal in red and in full; each SYN that got
 * no answer is a red dashed arrow crossed where it was dropped; connections
 * that timed out or were reset and deferrals are marked with a red ring on
 * the lane of the host that tried. A pause cut from the chart while an
 * exchange is in flight (a long transfer) is bracketed and labelled with
 * its TCP segment count instead of "nothing on these lanes". A receiving
 * server's sender checks are a shield on its lane at their verdict, with
 * the results beside it; the DNS questions they asked say which check
 * asked ("SPF asks: query TXT example.com?").
 *
 * Design. Each line a step lists was sent at a known time; its arrival is
 * the matching received line in the trace (same hosts, protocol and text,
 * the first not yet matched at or after the sending). DNS servers do not
 * trace their lines, so a query is drawn arriving halfway between the query
 * and its answer, which is where the server answered on a symmetric path.
 * Lines sent together (one host, one peer, one instant: a multi-line reply,
 * a pipelined MAIL/RCPT/DATA, the message content and its ".") make one
 * arrow. Time maps to height linearly within a segment: the base scale
 * maps the median gap between instants to MIN_GAP * 1.5 px, and a pause
 * longer than MAX_GAP * 3 px at that scale and than MIN_CUT_S is cut to CUT_H and marked with
 * its length (or with the exchange in flight), so a minute of idling costs
 * no page. Labels are never shortened: they wrap at half the lane pitch
 * (lanes are at least MIN_PITCH apart; the page grows). Each label sits
 * above its arrow (below it, or lifted higher, when that is taken) at the
 * first place along it that lies on no other arrow and no label; a
 * segment whose labels find no such place gets a larger scale (x1.5 per
 * round, up to ten times the base or SEG_MAX_H px), so the axis stays
 * uniform within the segment. The time of each arrow's start is printed in
 * the left margin where it has room.
 *
 * Costs: O(lines x search window) to match arrivals; placing the labels is
 * O(rounds x arrows x places x arrows), a few hundred arrows at most; the
 * page is as tall as the exchanges need. Ownership: all temporary; the canvas goes to the
 * caller. */
#include "mailsim/viz.h"
#include "mailsim/viz_check_mark.h"
#include "mailsim/viz_lock.h"

#include <math.h>
#include <string.h>

#define SEQ_MARGIN 24.0
#define TIME_COL   92.0
#define HEAD_Y     86.0
#define HEAD_H     44.0
#define MIN_GAP    22.0
#define MAX_GAP    70.0
#define CUT_H      56.0
#define MIN_PITCH  340.0
#define MIN_CUT_S  0.1 /* a pause shorter than this is never cut: it is part of the exchange */
#define SEG_MAX_H  4000.0    /* a segment's scale stops growing at this height */
#define REFUSED_C  0xB2182Bu /* a refusal or a failure: red */

typedef struct {
    MsTime sent, recv;
    MsHostId from, to;
    const char *proto; /* "smtp", "dns", "pop3", "imap", "tcp" */
    char *label;
    gboolean refused; /* a 4xx/5xx reply: drawn red, its label never shortened */
    MsHostId lost;    /* a packet lost on its way to this host (MS_HOST_WORLD: none) */
    guint step; /* 1-based step it belongs to */
    MsVizCheckOutcome outcome; /* proto "check": the verdict its mark shows */
} Arrow;

static void
arrow_clear(gpointer p)
{
    g_free(((Arrow *) p)->label);
}

/* A session's stretch inside TLS: shaded behind its arrows. */
typedef struct {
    MsTime from, to;
    MsHostId client, server;
    guint step;
    gboolean clear; /* a session of a TLS world that stayed in the clear */
} TlsBand;

/* When the client's side of the connection to server became established
 * before `before` (the start of an implicit-TLS handshake), or -1. */
static MsTime
tcp_established(const MsRecorder *rec, MsHostId client, MsHostId server, MsTime before)
{
    for (guint k = ms_recorder_first_at(rec, before + 1); k-- > 0;) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->kind == MS_TRACE_TCP_ESTABLISHED && r->host == client && r->peer == server)
            return r->at;
    }
    return -1;
}

static guint32
proto_colour(const char *proto)
{
    if (strcmp(proto, "tls") == 0)
        return MS_VIZ_LOCK_CLOSED;
    if (strcmp(proto, "smtp") == 0)
        return ms_viz_step_colour(MS_VIZ_STEP_SMTP);
    if (strcmp(proto, "dns") == 0)
        return ms_viz_step_colour(MS_VIZ_STEP_DNS);
    if (strcmp(proto, "pop3") == 0)
        return ms_viz_step_colour(MS_VIZ_STEP_POP3);
    if (strcmp(proto, "imap") == 0)
        return ms_viz_step_colour(MS_VIZ_STEP_IMAP);
    return 0x8A8A8Au;
}

/* A reply that refuses: "4yz" or "5yz" and a space or hyphen. */
static gboolean
is_refusal(const char *text)
{
    return (text[0] == '4' || text[0] == '5') && g_ascii_isdigit(text[1]) &&
           g_ascii_isdigit(text[2]) && (text[3] == ' ' || text[3] == '-' || text[3] == '\0');
}

/* When the line `l` arrived, or -1. Marks the record used. */
static MsTime
arrival(const MsRecorder *rec, const MsVizLine *l, guint8 *used)
{
    guint n = ms_recorder_len(rec);
    for (guint k = ms_recorder_first_at(rec, l->at), seen = 0; k < n && seen < 20000; k++, seen++) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (used[k] || r->kind != MS_TRACE_PROTO_LINE || r->outgoing || r->host != l->to ||
            r->peer != l->from || !r->proto || strcmp(r->proto, l->proto) != 0 || !r->text ||
            strcmp(r->text, l->text) != 0)
            continue;
        used[k] = 1;
        return r->at;
    }
    return -1;
}

static void
add_arrow(GArray *arrows, MsTime sent, MsTime recv, MsHostId from, MsHostId to, const char *proto,
          char *label, guint step)
{
    Arrow a = { sent, recv, from, to, proto, label, FALSE, MS_HOST_WORLD, step, 0 };
    g_array_append_val(arrows, a);
}

/* The TCP handshake before a session's first line, as three arrows. */
static void
add_handshake(GArray *arrows, const MsRecorder *rec, MsHostId client, MsHostId server,
              MsTime before, guint step)
{
    MsTime t_syn = -1, t_est = -1, t_acc = -1;
    /* from the records at `before` on: the server's "accepted" (the ACK
     * arriving) is traced at the instant its greeting leaves */
    for (guint k = ms_recorder_first_at(rec, before + 1); k-- > 0;) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->kind == MS_TRACE_TCP_ESTABLISHED && r->host == server && r->peer == client &&
            t_acc < 0)
            t_acc = r->at;
        if (r->kind == MS_TRACE_TCP_ESTABLISHED && r->host == client && r->peer == server &&
            t_est < 0)
            t_est = r->at;
        if (r->kind == MS_TRACE_TCP_CONNECT && r->host == client && r->peer == server) {
            t_syn = r->at;
            break;
        }
    }
    if (t_syn < 0 || t_est < 0)
        return;
    MsTime mid = t_syn + (t_est - t_syn) / 2;
    add_arrow(arrows, t_syn, mid, client, server, "tcp", g_strdup("TCP SYN"), step);
    add_arrow(arrows, mid, t_est, server, client, "tcp", g_strdup("SYN-ACK"), step);
    if (t_acc > t_est)
        add_arrow(arrows, t_est, t_acc, client, server, "tcp", g_strdup("ACK"), step);
}

static int
arrow_cmp(const void *a, const void *b)
{
    const Arrow *x = a, *y = b;
    if (x->sent != y->sent)
        return x->sent < y->sent ? -1 : 1;
    return 0;
}

static int
time_cmp(const void *a, const void *b)
{
    MsTime x = *(const MsTime *) a, y = *(const MsTime *) b;
    return x < y ? -1 : x > y;
}

/* The SYNs of the journey's message that got no answer (RFC 9293 3.5: the
 * client sends the SYN again, on its retransmission timer, until it gives
 * up): each an arrow from the client that ends, crossed, where the packet
 * was dropped (drawn on the server's lane: the label names the reason). A SYN is lost when a drop of a packet from the client to
 * the server follows it before the next SYN, the connection's
 * establishment or its close. */
static void
add_lost_syns(GArray *arrows, const MsRecorder *rec, const MsVizJourney *j)
{
    guint n = ms_recorder_len(rec);
    for (guint i = 0; i < n; i++) {
        const MsRecord *r = ms_recorder_get(rec, i);
        gboolean again =
            r->kind == MS_TRACE_TCP_RETRANSMIT && r->text && g_str_has_prefix(r->text, "SYN");
        if (r->message != j->message || (r->kind != MS_TRACE_TCP_CONNECT && !again) ||
            r->host == r->peer || r->peer == MS_HOST_WORLD)
            continue;
        for (guint k = i + 1; k < n; k++) {
            const MsRecord *d = ms_recorder_get(rec, k);
            if (d->kind == MS_TRACE_PACKET_DROP && d->has_packet && d->packet_src == r->host &&
                d->packet_dst == r->peer) {
                g_autofree char *why =
                    g_strdup_printf("%s: no answer (%s)", again ? "SYN again" : "TCP SYN",
                                    ms_drop_reason_to_string((MsDropReason) d->code));
                add_arrow(arrows, r->at, d->at, r->host, r->peer, "tcp", g_steal_pointer(&why), 0);
                g_array_index(arrows, Arrow, arrows->len - 1).lost = r->peer;
                break;
            }
            if (d->host == r->host && d->peer == r->peer &&
                (d->kind == MS_TRACE_TCP_ESTABLISHED || d->kind == MS_TRACE_TCP_CLOSE ||
                 d->kind == MS_TRACE_TCP_RETRANSMIT))
                break;
        }
    }
}

/* Failed tries of the journey's message: SYNs sent again, connections that
 * timed out or were refused, deferrals. Each becomes a mark (from == to) on
 * the lane of the host that tried, labelled in words. */
static void
add_failure_marks(GArray *arrows, const MsRecorder *rec, const MsVizJourney *j)
{
    for (guint i = 0; i < ms_recorder_len(rec); i++) {
        const MsRecord *r = ms_recorder_get(rec, i);
        if (r->message != j->message || !r->text)
            continue;
        const char *what = NULL;
        if (r->kind == MS_TRACE_TCP_CLOSE && !g_str_has_suffix(r->text, ": closed"))
            what = g_strrstr(r->text, ": ") ? g_strrstr(r->text, ": ") + 2 : r->text;
        else if (r->kind == MS_TRACE_MAIL && strstr(r->text, "will try again in"))
            what = strstr(r->text, "will try again in");
        if (!what)
            continue;
        g_autofree char *label =
            r->kind == MS_TRACE_TCP_CLOSE ? g_strdup_printf("✗ connection %s", what)
            : r->kind == MS_TRACE_MAIL    ? g_strdup_printf("↻ deferred: %s", what)
                                          : g_strdup_printf("✗ %s", what);
        /* Marks of one host at one instant share a line. */
        Arrow *prev = arrows->len ? &g_array_index(arrows, Arrow, arrows->len - 1) : NULL;
        if (prev && prev->from == prev->to && prev->from == r->host && prev->sent == r->at) {
            char *joined = g_strdup_printf("%s \u00b7 %s", prev->label, label);
            g_free(prev->label);
            prev->label = joined; /* our own words: not cut */
            continue;
        }
        add_arrow(arrows, r->at, r->at, r->host, r->host, "fail", g_strdup(label), 0);
    }
}

/* The TLS 1.3 handshake (RFC 8446 2: ClientHello; ServerHello up to the
 * server's Finished in one flight; the client's Finished) between t0 (the
 * client may start: STARTTLS answered, or TCP up on an implicit-TLS port)
 * and t1, when the first protected line leaves; `fin_recv` is when the
 * client's Finished arrives, with that line. */
static void
add_tls_handshake(GArray *arrows, const MsVizStep *s, MsHostId client, MsHostId server, MsTime t0,
                  MsTime t1, MsTime fin_recv, guint step)
{
    MsTime a, b, c, d;
    if (s->implicit_tls) {
        /* the server's greeting is the first protected line: the client's
         * Finished arrived when it left */
        a = t0 + (t1 - t0) / 3;
        b = t0 + 2 * (t1 - t0) / 3;
        c = b;
        d = t1;
    } else {
        a = t0 + (t1 - t0) / 2;
        b = t1;
        c = t1;
        d = MAX(fin_recv, t1);
    }
    add_arrow(arrows, t0, a, client, server, "tls", g_strdup("TLS ClientHello"), step);
    add_arrow(arrows, a, b, server, client, "tls",
              g_strdup("ServerHello, EncryptedExtensions, Certificate, CertificateVerify, "
                       "Finished"),
              step);
    add_arrow(arrows, c, d, client, server, "tls", g_strdup("Finished"), step);
}

static GArray *
collect_arrows(const MsRecorder *rec, const MsVizJourney *j, GArray *bands)
{
    GArray *arrows = g_array_new(FALSE, TRUE, sizeof(Arrow));
    g_array_set_clear_func(arrows, arrow_clear);
    g_autofree guint8 *used = g_new0(guint8, ms_recorder_len(rec) + 1);
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        if (s->kind == MS_VIZ_STEP_DNS) {
            if (s->lines->len == 0)
                continue;
            const MsVizLine *q = &g_array_index(s->lines, MsVizLine, 0);
            const MsVizLine *a = s->lines->len > 1 ? &g_array_index(s->lines, MsVizLine, 1) : NULL;
            MsTime mid = a ? q->at + (a->at - q->at) / 2 : q->at + MS_TIME_MS;
            /* a sender check's question says which check asked it */
            add_arrow(arrows, q->at, mid, q->from, q->to, "dns",
                      s->asked_for ? g_strdup_printf("%s asks: %s", s->asked_for, q->text)
                                   : g_strdup(q->text),
                      k + 1);
            if (a)
                add_arrow(arrows, mid, a->at, a->from, a->to, "dns", g_strdup(a->text), k + 1);
            continue;
        }
        if (s->kind == MS_VIZ_STEP_CHECK) {
            /* the verdict: a mark on the checking server's lane */
            add_arrow(arrows, s->at, s->at, s->from, s->from, "check",
                      g_strdup_printf("sender checks: %s: %s", s->results,
                                      s->outcome == MS_VIZ_CHECK_REFUSED       ? "refused"
                                      : s->outcome == MS_VIZ_CHECK_QUARANTINED ? "into Junk"
                                                                               : "taken in"),
                      k + 1);
            g_array_index(arrows, Arrow, arrows->len - 1).outcome = s->outcome;
            continue;
        }
        if (s->kind == MS_VIZ_STEP_BOUNCE) {
            /* the server gives up: a mark on its lane, in its words */
            add_arrow(arrows, s->at, s->at, s->from, s->from, "fail",
                      g_strdup_printf("\u2717 bounce: %s", s->detail), k + 1);
            continue;
        }
        if (s->lines->len == 0)
            continue;
        const MsVizLine *first = &g_array_index(s->lines, MsVizLine, 0);
        gboolean reading = s->kind == MS_VIZ_STEP_POP3 || s->kind == MS_VIZ_STEP_IMAP;
        MsHostId client = reading ? s->to : s->from;
        MsHostId server = reading ? s->from : s->to;
        add_handshake(arrows, rec, client, server, first->at, k + 1);
        MsTime prev_recv = tcp_established(rec, client, server, first->at);
        TlsBand band = { -1, -1, client, server, k + 1, j->tls && s->session && !s->tls };
        if (band.clear)
            band.from = first->at;
        for (guint i = 0; i < s->lines->len;) {
            const MsVizLine *l = &g_array_index(s->lines, MsVizLine, i);
            guint e = i + 1;
            while (e < s->lines->len) {
                const MsVizLine *m = &g_array_index(s->lines, MsVizLine, e);
                if (m->at != l->at || m->from != l->from || m->to != l->to)
                    break;
                e++;
            }
            MsTime recv = -1;
            for (guint x = i; x < e; x++) {
                MsTime t = arrival(rec, &g_array_index(s->lines, MsVizLine, x), used);
                recv = MAX(recv, t);
            }
            if (recv < 0)
                recv = l->at; /* not received: drawn flat */
            if (s->tls && i == s->tls_from && prev_recv >= 0) {
                add_tls_handshake(arrows, s, client, server, prev_recv, l->at, recv, k + 1);
                band.from = prev_recv;
            }
            if (band.from >= 0)
                band.to = MAX(band.to, recv);
            prev_recv = recv;
            g_autofree char *label = NULL;
            const MsVizLine *last = &g_array_index(s->lines, MsVizLine, e - 1);
            /* a refusal (RFC 5321 4.2.1: 4yz transient, 5yz permanent) is
             * what the picture is about: its lines in full, the others counted */
            GString *refusals = g_string_new(NULL);
            guint n_refused = 0;
            for (guint x = i; x < e; x++) {
                const char *t = g_array_index(s->lines, MsVizLine, x).text;
                if (is_refusal(t)) {
                    g_string_append_printf(refusals, "%s%s", n_refused ? " \u00b7 " : "", t);
                    n_refused++;
                }
            }
            if (n_refused) {
                if (e - i > n_refused)
                    g_string_append_printf(refusals, " (and %u more line%s)", e - i - n_refused,
                                           e - i - n_refused > 1 ? "s" : "");
                add_arrow(arrows, l->at, recv, l->from, l->to, "smtp",
                          g_string_free(refusals, FALSE), k + 1);
                g_array_index(arrows, Arrow, arrows->len - 1).refused = TRUE;
                i = e;
                continue;
            }
            g_string_free(refusals, TRUE);
            if (e - i == 1)
                label = g_strdup(l->text);
            else if (e - i <= 3) {
                GString *g = g_string_new(NULL);
                for (guint x = i; x < e; x++)
                    g_string_append_printf(g, "%s%s", x > i ? " \u00b7 " : "",
                                           g_array_index(s->lines, MsVizLine, x).text);
                label = g_string_free(g, FALSE);
            } else {
                label = g_strdup_printf("%s\u00a0\u2026\u00a0%s (%u lines)", l->text, last->text,
                                        e - i);
            }
            add_arrow(arrows, l->at, recv, l->from, l->to,
                      s->kind == MS_VIZ_STEP_POP3   ? "pop3"
                      : s->kind == MS_VIZ_STEP_IMAP ? "imap"
                                                    : "smtp",
                      g_steal_pointer(&label), k + 1);
            i = e;
        }
        if (band.from >= 0 && band.to > band.from)
            g_array_append_val(bands, band);
    }
    add_lost_syns(arrows, rec, j);
    add_failure_marks(arrows, rec, j);
    g_array_sort(arrows, arrow_cmp);
    return arrows;
}

/* The exchange in flight across the whole pause from t0 to t1, or NULL. */
static const Arrow *
spanning_arrow(const GArray *arrows, MsTime t0, MsTime t1)
{
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        if (a->from != a->to && a->sent <= t0 && a->recv >= t1)
            return a;
    }
    return NULL;
}

/* The data segments `a`'s sender put on the wire while it was in flight,
 * and how many of them were retransmissions. */
static void
count_segments(const MsRecorder *rec, const Arrow *a, guint *segs, guint *again)
{
    for (guint k = ms_recorder_first_at(rec, a->sent); k < ms_recorder_len(rec); k++) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->at > a->recv)
            break;
        if (r->kind == MS_TRACE_PACKET_SEND && r->has_packet && r->host == a->from &&
            r->packet_src == a->from && r->packet_dst == a->to && r->payload_len > 0)
            (*segs)++;
        if (r->kind == MS_TRACE_TCP_RETRANSMIT && r->host == a->from && r->peer == a->to)
            (*again)++;
    }
}

/* The height of time `t`, one of `times`. */
static double
y_of(const GArray *times, const double *ty, MsTime t)
{
    for (guint x = 0; x < times->len; x++)
        if (g_array_index(times, MsTime, x) == t)
            return ty[x];
    return ty[0];
}

/* The heights of the distinct instants: uniform within a segment (its
 * scale, px per second), a cut of CUT_H between segments, and room above
 * each segment's first instant for the labels that start there. Returns
 * the height of the last. */
static double
place_times(const GArray *times, const guint *seg, const double *scale, const double *room,
            double *ty)
{
    double y = HEAD_Y + HEAD_H + 16;
    for (guint i = 0; i < times->len; i++) {
        if (i == 0)
            y += room[0];
        else if (seg[i] != seg[i - 1])
            y += CUT_H + room[i];
        else
            y += ms_time_to_seconds(g_array_index(times, MsTime, i) -
                                    g_array_index(times, MsTime, i - 1)) *
                 scale[seg[i]];
        ty[i] = y;
    }
    return y;
}

/* How many arrows (other than `self`) and placed labels (each counting
 * 100) `r` lies on. */
static guint
label_clashes(const GArray *arrows, const gint *lane_of, double left, double pitch,
              const double *ty, const guint *seg, guint nt, const guint *ks, const guint *kr,
              const MsVizRect *box, guint placed, guint self, const MsVizRect *r)
{
    guint n = r->y < HEAD_Y + HEAD_H + 2;
    /* the band of each cut, across the page */
    for (guint k = 1; k < nt; k++)
        if (seg[k] != seg[k - 1] && r->y < ty[k - 1] + CUT_H / 2 + 13 &&
            r->y + r->h > ty[k - 1] + CUT_H / 2 - 13)
            n += 100;
    MsVizRect pad = { r->x - 2, r->y - 2, r->w + 4, r->h + 4 }; /* room for the stroke */
    r = &pad;
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        if (i != self && a->from != a->to && lane_of[a->from] >= 0 && lane_of[a->to] >= 0)
            n += ms_viz_rect_hits_segment(r, left + pitch * (lane_of[a->from] + 0.5), ty[ks[i]],
                                          left + pitch * (lane_of[a->to] + 0.5), ty[kr[i]]);
    }
    /* a label on a label is unreadable: it weighs most */
    for (guint i = 0; i < placed; i++)
        n += (i != self && ms_viz_rect_overlap(&box[i], r)) * 100;
    return n;
}

/* Places each arrow's label above its arrow, on its side, at the first
 * distance from the start (6 px steps) where it lies on no arrow (its own
 * included: the label sits above its own line there) and no label placed
 * before; a mark's words go right of its ring. Counts each segment's
 * labels that found no free place in clash[]. */
static void
place_labels(const GArray *arrows, const gint *lane_of, double left, double right, double pitch,
             const double *ty, const guint *ks, const guint *kr, const double *lw,
             const GPtrArray *parts, double line_h, const guint *seg, guint nt, guint *clash,
             MsVizRect *box)
{
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        if (lane_of[a->from] < 0 || lane_of[a->to] < 0)
            continue;
        double lh = (line_h + 1) * g_strv_length(g_ptr_array_index(parts, i));
        double x0 = left + pitch * (lane_of[a->from] + 0.5),
               x1 = left + pitch * (lane_of[a->to] + 0.5);
        double y0 = ty[ks[i]], y1 = ty[kr[i]];
        if (a->from == a->to) {
            /* beside the ring: right, below right, left, below left */
            /* a check mark also tries above (it shares its instant with
             * the reply it decides, which leaves from the same point) */
            gboolean check = strcmp(a->proto, "check") == 0;
            const MsVizRect at[] = {
                { x0 + 10, y0 - lh / 2, lw[i], lh },
                { x0 + 10, y0 + 7, lw[i], lh },
                { x0 - 10 - lw[i], y0 - lh / 2, lw[i], lh },
                { x0 - 10 - lw[i], y0 + 7, lw[i], lh },
                { x0 + 10, y0 - 9 - lh, lw[i], lh },
                { x0 - 10 - lw[i], y0 - 9 - lh, lw[i], lh },
            };
            gsize n_at = check ? G_N_ELEMENTS(at) : 4;
            /* words off the page are worse than words on a line: such a
             * place is taken only when every place is off the page (and
             * does not count as a clash, which more height cannot cure) */
            guint best = G_MAXUINT, best_off = G_MAXUINT;
            for (gsize c = 0; c < n_at && (best > 0 || best_off > 0); c++) {
                guint n = label_clashes(arrows, lane_of, left, pitch, ty, seg, nt, ks, kr, box, i,
                                        i, &at[c]);
                guint off = at[c].x < left - pitch * 0.5 || at[c].x + at[c].w > right;
                if (off < best_off || (off == best_off && n < best)) {
                    best = n;
                    best_off = off;
                    box[i] = at[c];
                }
            }
            /* a check's words may cross the reply that leaves its point
             * whatever the height: that is no reason to stretch the chart */
            clash[seg[ks[i]]] += check ? 0 : best;
            continue;
        }
        double span = fabs(x1 - x0), dir = x1 > x0 ? 1 : -1;
        guint best = G_MAXUINT;
        /* above the arrow first, then below it, then lifted higher above */
        for (int pass = 0; pass < 6 && best > 0; pass++) {
            gboolean below = pass == 1;
            double lift = pass > 1 ? (pass - 1) * (lh + 3) : 0;
            for (double u = 8; (u == 8 || u + lw[i] <= span - 12) && best > 0; u += 6) {
                double ya = y0 + (y1 - y0) * ((below ? u + lw[i] : u) / span);
                MsVizRect r = { dir > 0 ? x0 + u : x0 - u - lw[i],
                                below ? ya + 3 : ya - 2 - lh - lift, lw[i], lh };
                guint n =
                    label_clashes(arrows, lane_of, left, pitch, ty, seg, nt, ks, kr, box, i, i, &r);
                if (n < best) {
                    best = n;
                    box[i] = r;
                }
            }
        }
        clash[seg[ks[i]]] += best;
    }
}

MsVizCanvas *
ms_viz_sequence(MsWorld *w, const MsRecorder *rec, const MsVizJourney *j, MsVizFormat format,
                double width)
{
    MsNet *net = ms_world_net(w);
    const MsScenario *sc = ms_world_scenario(w);
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    g_autoptr(GArray) bands = g_array_new(FALSE, FALSE, sizeof(TlsBand));
    g_autoptr(GArray) arrows = collect_arrows(rec, j, bands);

    /* lanes, by first appearance in the journey */
    g_autoptr(GArray) lanes = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    guint nh = ms_net_n_hosts(net);
    g_autofree gint *lane_of = g_new(gint, MAX(nh, 1));
    for (guint h = 0; h < nh; h++)
        lane_of[h] = -1;
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        MsHostId hs[2] = { s->from, s->to };
        for (guint i = 0; i < 2; i++) {
            if (hs[i] < nh && lane_of[hs[i]] < 0) {
                lane_of[hs[i]] = (gint) lanes->len;
                g_array_append_val(lanes, hs[i]);
            }
        }
    }
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        MsHostId hs[2] = { a->from, a->to };
        for (guint x = 0; x < 2; x++) {
            if (hs[x] < nh && lane_of[hs[x]] < 0) {
                lane_of[hs[x]] = (gint) lanes->len;
                g_array_append_val(lanes, hs[x]);
            }
        }
    }
    guint nl = MAX(lanes->len, 1);
    double left = SEQ_MARGIN + TIME_COL, right = width - SEQ_MARGIN;
    /* lanes at least MIN_PITCH apart: labels need room between them (the
     * page grows) */
    double pitch = MAX((right - left) / nl, MIN_PITCH);
    width = MAX(width, left + pitch * nl + SEQ_MARGIN);
    right = width - SEQ_MARGIN;

    /* time -> height: distinct instants, cut into segments at long pauses */
    g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(MsTime));
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        g_array_append_val(times, a->sent);
        g_array_append_val(times, a->recv);
    }
    g_array_sort(times, time_cmp);
    guint nt = 0;
    for (guint i = 0; i < times->len; i++)
        if (nt == 0 || g_array_index(times, MsTime, i) != g_array_index(times, MsTime, nt - 1))
            g_array_index(times, MsTime, nt++) = g_array_index(times, MsTime, i);
    g_array_set_size(times, nt);
    /* px per second: the median gap maps to MIN_GAP * 1.5 */
    double px_per_s = 1000;
    if (nt > 2) {
        g_autofree double *gaps = g_new(double, nt - 1);
        for (guint i = 1; i < nt; i++)
            gaps[i - 1] = ms_time_to_seconds(g_array_index(times, MsTime, i) -
                                             g_array_index(times, MsTime, i - 1));
        for (guint a = 1; a < nt - 1; a++) /* insertion sort: a few hundred values */
            for (guint b = a; b > 0 && gaps[b - 1] > gaps[b]; b--) {
                double t = gaps[b];
                gaps[b] = gaps[b - 1];
                gaps[b - 1] = t;
            }
        double med = gaps[(nt - 1) / 2];
        if (med > 0)
            px_per_s = MIN_GAP * 1.5 / med;
    }
    /* segments: a pause longer than MAX_GAP * 3 at that scale is cut */
    g_autofree guint *seg = g_new0(guint, MAX(nt, 1));
    guint nseg = nt ? 1 : 0;
    for (guint i = 1; i < nt; i++) {
        double dt = ms_time_to_seconds(g_array_index(times, MsTime, i) -
                                       g_array_index(times, MsTime, i - 1));
        if (dt * px_per_s > MAX_GAP * 3 && dt > MIN_CUT_S)
            nseg++;
        seg[i] = nseg - 1;
    }
    g_autofree double *scale = g_new(double, MAX(nseg, 1));
    for (guint i = 0; i < nseg; i++)
        scale[i] = px_per_s;

    /* labels: wrapped, never shortened; measured on a scratch canvas */
    g_autoptr(MsVizCanvas) scratch = ms_viz_canvas_new(MS_VIZ_FORMAT_SVG, 1, 1);
    MsVizFont lf = { 10.5, FALSE, TRUE }, tf = { 10.5, FALSE, TRUE };
    double line_h = 0;
    ms_viz_canvas_measure(scratch, &lf, "Xg", NULL, &line_h);
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
    g_autofree double *lw = g_new0(double, MAX(arrows->len, 1));
    g_autofree guint *ks = g_new0(guint, MAX(arrows->len, 1));
    g_autofree guint *kr = g_new0(guint, MAX(arrows->len, 1));
    g_autofree double *room = g_new0(double, MAX(nt, 1));
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        /* a mark's words run right of its ring, over the other lanes */
        char **p =
            ms_viz_canvas_wrap(scratch, &lf, a->label, a->from == a->to ? pitch * 2 : pitch * 0.5);
        g_ptr_array_add(parts, p);
        for (guint q = 0; p[q]; q++) {
            double pw = 0;
            ms_viz_canvas_measure(scratch, &lf, p[q], &pw, NULL);
            lw[i] = MAX(lw[i], pw);
        }
        for (guint x = 0; x < nt; x++) {
            if (g_array_index(times, MsTime, x) == a->sent)
                ks[i] = x;
            if (g_array_index(times, MsTime, x) == a->recv)
                kr[i] = x;
        }
        room[ks[i]] = MAX(room[ks[i]], (line_h + 1) * g_strv_length(p) + 4);
    }

    /* Each segment's scale grows until its labels lie on no arrow and no
     * other label (or it reaches eight times the base scale or SEG_MAX_H). */
    g_autofree double *ty = g_new0(double, MAX(nt, 1));
    g_autofree MsVizRect *box = g_new0(MsVizRect, MAX(arrows->len, 1));
    g_autofree guint *clash = g_new0(guint, MAX(nseg, 1));
    double y = 0;
    for (guint round = 0; round < 12; round++) {
        y = place_times(times, seg, scale, room, ty);
        memset(clash, 0, sizeof(guint) * MAX(nseg, 1));
        place_labels(arrows, lane_of, left, left + pitch * nl, pitch, ty, ks, kr, lw, parts, line_h,
                     seg, nt, clash, box);
        gboolean again = FALSE;
        for (guint g = 0; g < nseg; g++) {
            double first = 0, last = 0;
            for (guint i = 0; i < nt; i++) {
                if (seg[i] == g && first == 0)
                    first = ty[i];
                if (seg[i] == g)
                    last = ty[i];
            }
            if (clash[g] && scale[g] < px_per_s * 10 && (last - first) * 1.5 < SEG_MAX_H) {
                scale[g] *= 1.5;
                again = TRUE;
            }
        }
        if (!again)
            break;
    }
    double height = ceil(y + 70);
    MsVizCanvas *c = ms_viz_canvas_new(format, width, MAX(height, 400));

    /* title */
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    ms_viz_canvas_text(c, SEQ_MARGIN, SEQ_MARGIN - 4, MS_VIZ_ANCHOR_START, &title, 0x222222u,
                       sc->title[0] ? sc->title : sc->name);
    g_autofree char *subtitle = g_strdup_printf(
        "Sequence chart of message %s: %u exchanges between %u hosts, time downwards (s). "
        "Long pauses are cut.",
        j->label, arrows->len, lanes->len);
    ms_viz_canvas_text(c, SEQ_MARGIN, SEQ_MARGIN + 28, MS_VIZ_ANCHOR_START, &sub, 0x555555u,
                       subtitle);

    /* lanes */
    MsVizFont hf = { 12, TRUE, FALSE }, af = { 10.5, FALSE, TRUE };
    for (guint i = 0; i < lanes->len; i++) {
        MsHostId h = g_array_index(lanes, MsHostId, i);
        double x = left + pitch * (i + 0.5);
        g_autofree char *id = g_strdup_printf("lane-%s", ms_net_host_name(net, h));
        ms_viz_canvas_group_begin(c, id, "lane", 0);
        MsVizStyle life = { 0, 0, 0xBBBBBBu, 1, 1.2, TRUE };
        ms_viz_canvas_move_to(c, x, HEAD_Y + HEAD_H);
        ms_viz_canvas_line_to(c, x, height - 40);
        ms_viz_canvas_paint(c, &life);
        MsVizStyle head_box = { 0xF2F2F2u, 1, 0x777777u, 1, 1.2, FALSE };
        ms_viz_canvas_round_rect(c, x - pitch / 2 + 6, HEAD_Y, pitch - 12, HEAD_H, 6);
        ms_viz_canvas_paint(c, &head_box);
        /* the name in one line, smaller when the lane is narrow */
        MsVizFont nf = hf;
        double nw = 0;
        ms_viz_canvas_measure(c, &nf, ms_net_host_name(net, h), &nw, NULL);
        if (nw > pitch - 20)
            nf.size = MAX(7.5, nf.size * (pitch - 20) / nw);
        ms_viz_canvas_text(c, x, HEAD_Y + 5, MS_VIZ_ANCHOR_MIDDLE, &nf, 0x222222u,
                           ms_net_host_name(net, h));
        g_autofree char *addr = ms_ipv4_to_string(ms_net_host_addr(net, h));
        ms_viz_canvas_text(c, x, HEAD_Y + 24, MS_VIZ_ANCHOR_MIDDLE, &af, 0x555555u, addr);
        ms_viz_canvas_group_end(c);
    }

    /* cuts */
    MsVizFont cf = { 12, FALSE, FALSE };
    for (guint k = 1; k < nt; k++) {
        if (seg[k] == seg[k - 1])
            continue;
        double ym = ty[k - 1] + CUT_H / 2;
        ms_viz_canvas_group_begin(c, NULL, "cut", 0);
        MsVizStyle band = { 0xFFFFFFu, 1, 0, 0, 0, FALSE };
        ms_viz_canvas_rect(c, left - 8, ym - 12, right - left + 16, 24);
        ms_viz_canvas_paint(c, &band);
        MsVizStyle zig = { 0, 0, 0x999999u, 1, 1.2, FALSE };
        for (int e = -1; e <= 1; e += 2) {
            for (double x = left - 8; x < right + 8; x += 16) {
                double yy = ym + e * 9;
                if (x == left - 8)
                    ms_viz_canvas_move_to(c, x, yy);
                ms_viz_canvas_line_to(c, x + 8, yy - 4);
                ms_viz_canvas_line_to(c, x + 16, yy);
            }
            ms_viz_canvas_paint(c, &zig);
        }
        g_autofree char *len = ms_time_to_string(g_array_index(times, MsTime, k) -
                                                 g_array_index(times, MsTime, k - 1));
        /* a transfer running through the pause: one bracketed span */
        const Arrow *span = spanning_arrow(arrows, g_array_index(times, MsTime, k - 1),
                                           g_array_index(times, MsTime, k));
        g_autofree char *msg = NULL;
        if (span) {
            guint segs = 0, again = 0;
            count_segments(rec, span, &segs, &again);
            g_autofree char *resent =
                again ? g_strdup_printf(", %u sent again", again) : g_strdup("");
            msg = segs ? g_strdup_printf("\u2026 %s while %s travels: %u TCP segment%s%s \u2026",
                                         len, span->label, segs, segs == 1 ? "" : "s", resent)
                       : g_strdup_printf("\u2026 %s while %s travels \u2026", len, span->label);
            double sx = left + pitch * (lane_of[span->from] + 0.5);
            double sdir = lane_of[span->to] > lane_of[span->from] ? 1 : -1;
            double bx = sx - sdir * 10, by0 = y_of(times, ty, span->sent),
                   by1 = y_of(times, ty, span->recv);
            MsVizStyle br = { 0, 0, 0x555555u, 1, 1.4, FALSE };
            ms_viz_canvas_group_begin(c, NULL, "span", 0);
            ms_viz_canvas_move_to(c, bx + sdir * 5, by0);
            ms_viz_canvas_line_to(c, bx, by0);
            ms_viz_canvas_line_to(c, bx, by1);
            ms_viz_canvas_line_to(c, bx + sdir * 5, by1);
            ms_viz_canvas_paint(c, &br);
            ms_viz_canvas_group_end(c);
        } else {
            msg = g_strdup_printf("\u2026 %s with nothing on these lanes \u2026", len);
        }
        double tw = 0, th = 0;
        ms_viz_canvas_measure(c, &cf, msg, &tw, &th);
        MsVizStyle lbl = { 0xFFFFFFu, 1, 0, 0, 0, FALSE };
        ms_viz_canvas_rect(c, (left + right) / 2 - tw / 2 - 8, ym - th / 2 - 1, tw + 16, th + 2);
        ms_viz_canvas_paint(c, &lbl);
        ms_viz_canvas_text(c, (left + right) / 2, ym - th / 2, MS_VIZ_ANCHOR_MIDDLE, &cf, 0x555555u,
                           msg);
        ms_viz_canvas_group_end(c);
    }

    /* the stretches inside TLS: shaded between the two lanes, with a
     * padlock and what an eavesdropper on the path still sees */
    MsVizFont bf = { 10.5, TRUE, FALSE };
    for (guint b = 0; b < bands->len; b++) {
        const TlsBand *tb = &g_array_index(bands, TlsBand, b);
        if (tb->client >= nh || tb->server >= nh || lane_of[tb->client] < 0 ||
            lane_of[tb->server] < 0)
            continue;
        gint l0 = MIN(lane_of[tb->client], lane_of[tb->server]),
             l1 = MAX(lane_of[tb->client], lane_of[tb->server]);
        double x0 = left + pitch * (l0 + 0.5) - 14, x1 = left + pitch * (l1 + 0.5) + 14;
        /* the label in a strip of its own below the last arrow */
        double y0 = y_of(times, ty, tb->from) - 6, y1 = y_of(times, ty, tb->to) + 24;
        g_autofree char *id = g_strdup_printf("tls-band-%u", b + 1);
        ms_viz_canvas_group_begin(c, id, tb->clear ? "clear-band" : "tls-band", tb->step);
        guint32 col = tb->clear ? MS_VIZ_LOCK_OPEN : MS_VIZ_LOCK_CLOSED;
        MsVizStyle shade = { col, tb->clear ? 0.05 : 0.10, col, 0.5, 1, TRUE };
        ms_viz_canvas_rect(c, x0, y0, x1 - x0, y1 - y0);
        ms_viz_canvas_paint(c, &shade);
        ms_viz_lock_draw(c, x0 + 4, y1 - 17, 14, !tb->clear);
        ms_viz_canvas_text(c, x0 + 20, y1 - 16, MS_VIZ_ANCHOR_START, &bf, col,
                           tb->clear ? "in the clear: anyone on the path reads every line"
                                     : "encrypted: on the path only TLS records and their sizes");
        ms_viz_canvas_group_end(c);
    }

    /* arrows */
    double last_time_y = -G_MAXDOUBLE;
    for (guint i = 0; i < arrows->len; i++) {
        const Arrow *a = &g_array_index(arrows, Arrow, i);
        if (lane_of[a->from] < 0 || lane_of[a->to] < 0)
            continue;
        double x0 = left + pitch * (lane_of[a->from] + 0.5),
               x1 = left + pitch * (lane_of[a->to] + 0.5);
        double y0 = ty[ks[i]], y1 = ty[kr[i]];
        char **lines = g_ptr_array_index(parts, i);
        /* the time of each start in the margin, where it has room */
        if (y0 - line_h / 2 >= last_time_y + line_h + 1) {
            g_autofree char *t = ms_viz_time_label(a->sent);
            ms_viz_canvas_text(c, SEQ_MARGIN + TIME_COL - 12, y0 - line_h / 2, MS_VIZ_ANCHOR_END,
                               &tf, 0x777777u, t);
            last_time_y = y0 - line_h / 2;
        }
        if (a->from == a->to && strcmp(a->proto, "check") == 0) {
            /* a server's sender checks: their mark on its lane, the verdict beside it */
            ms_viz_canvas_group_begin(c, NULL, "mark check", a->step);
            ms_viz_check_mark_draw(c, x0, y0, 14, a->outcome);
            for (guint p = 0; lines[p]; p++)
                ms_viz_canvas_text(c, box[i].x, box[i].y + (line_h + 1) * p, MS_VIZ_ANCHOR_START,
                                   &lf, ms_viz_check_colour(a->outcome), lines[p]);
            ms_viz_canvas_group_end(c);
            continue;
        }
        if (a->from == a->to) {
            /* a failed try: a ring on the lane and the words beside it */
            ms_viz_canvas_group_begin(c, NULL, "mark fail", 0);
            MsVizStyle ring = { 0xFFFFFFu, 1, REFUSED_C, 1, 1.8, FALSE };
            ms_viz_canvas_circle(c, x0, y0, 5);
            ms_viz_canvas_paint(c, &ring);
            for (guint p = 0; lines[p]; p++)
                ms_viz_canvas_text(c, box[i].x, box[i].y + (line_h + 1) * p, MS_VIZ_ANCHOR_START,
                                   &lf, REFUSED_C, lines[p]);
            ms_viz_canvas_group_end(c);
            continue;
        }
        gboolean lost = a->lost != MS_HOST_WORLD;
        guint32 col = a->refused || lost ? REFUSED_C : proto_colour(a->proto);
        gboolean tcp = strcmp(a->proto, "tcp") == 0;
        g_autofree char *cls = g_strdup_printf("msg %s%s", a->proto,
                                               a->refused ? " refused"
                                               : lost     ? " lost"
                                                          : "");
        ms_viz_canvas_group_begin(c, NULL, cls, a->step);
        MsVizStyle line = {
            0, 0, col, 1, tcp && !lost ? 1.0 : 1.8, lost || strcmp(a->proto, "dns") == 0
        };
        double len = hypot(x1 - x0, y1 - y0), ux = (x1 - x0) / len, uy = (y1 - y0) / len;
        ms_viz_canvas_move_to(c, x0, y0);
        ms_viz_canvas_line_to(c, x1 - ux * 8, y1 - uy * 8);
        ms_viz_canvas_paint(c, &line);
        if (lost) {
            /* no head: a cross where the packet died */
            MsVizStyle cross = { 0, 0, col, 1, 2.2, FALSE };
            double cx = x1 - ux * 8, cy = y1 - uy * 8;
            ms_viz_canvas_move_to(c, cx - 5, cy - 5);
            ms_viz_canvas_line_to(c, cx + 5, cy + 5);
            ms_viz_canvas_move_to(c, cx - 5, cy + 5);
            ms_viz_canvas_line_to(c, cx + 5, cy - 5);
            ms_viz_canvas_paint(c, &cross);
        } else {
            MsVizStyle head = { col, 1, 0, 0, 0, FALSE };
            ms_viz_canvas_move_to(c, x1, y1);
            ms_viz_canvas_line_to(c, x1 - ux * 10 - uy * 4, y1 - uy * 10 + ux * 4);
            ms_viz_canvas_line_to(c, x1 - ux * 10 + uy * 4, y1 - uy * 10 - ux * 4);
            ms_viz_canvas_close(c);
            ms_viz_canvas_paint(c, &head);
        }
        /* the label where place_labels() put it, above its arrow */
        MsVizStyle bg = { 0xFFFFFFu, 0.85, 0, 0, 0, FALSE };
        ms_viz_canvas_rect(c, box[i].x - 1, box[i].y, box[i].w + 2, box[i].h);
        ms_viz_canvas_paint(c, &bg);
        for (guint p = 0; lines[p]; p++)
            ms_viz_canvas_text(c, box[i].x, box[i].y + (line_h + 1) * p, MS_VIZ_ANCHOR_START, &lf,
                               a->refused || lost ? REFUSED_C
                               : tcp              ? 0x777777u
                                                  : 0x222222u,
                               lines[p]);
        ms_viz_canvas_group_end(c);
    }
    if (arrows->len == 0) {
        MsVizFont f = { 14, FALSE, FALSE };
        ms_viz_canvas_text(c, width / 2, HEAD_Y + HEAD_H + 40, MS_VIZ_ANCHOR_MIDDLE, &f, 0x555555u,
                           "No exchange of this message was recorded.");
    }
    return c;
}
