/* Run statistics (see include/mailsim/stats.h), computed after a run from
 * the message records, the network's link counters and the servers'
 * figures. One writer builds a list of (section, name, value) rows; JSON
 * and CSV are two renderings of it, so they never disagree. */
#include "mailsim/stats.h"
#include "mailsim/mail_auth.h"
#include "mailsim/output_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

double
ms_stats_percentile(double *v, guint n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), (int (*)(const void *, const void *)) cmp_double);
    double rank = ceil(p * n);
    guint i = rank < 1 ? 0 : (guint) rank - 1;
    return v[MIN(i, n - 1)];
}

void
ms_stats_latency(MsWorld *w, MsLatencyStats *out)
{
    MsMail *m = ms_world_mail(w);
    /* The folded records' sketch (exact while small), and the live ones;
     * without folding, every value, exactly, unless the run would have
     * folded (a partitioned run with folding asked for: the same limit,
     * hence the same quantiles; a sketch depends only on the values added,
     * not their order). Quantiles of nanoseconds then converted are those
     * of the converted values (the conversion keeps order), as before. */
    const MsSketch *folded = ms_mail_folded_latency(m);
    g_autoptr(MsSketch) s =
        folded ? ms_sketch_copy(folded) : ms_sketch_new(ms_world_latency_exact_limit(w));
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        if (!r || r->is_dsn)
            continue;
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            if (rr->state == MS_RCPT_DELIVERED)
                ms_sketch_add(s, (guint64) MAX(rr->done_at - r->created_at, 0));
        }
    }
    memset(out, 0, sizeof *out);
    out->n = (guint) ms_sketch_count(s);
    if (out->n) {
        out->mean = ms_sketch_mean(s) / (double) MS_TIME_S;
        out->p50 = ms_time_to_seconds((MsTime) ms_sketch_quantile(s, 0.50));
        out->p95 = ms_time_to_seconds((MsTime) ms_sketch_quantile(s, 0.95));
        out->p99 = ms_time_to_seconds((MsTime) ms_sketch_quantile(s, 0.99));
        out->max = ms_time_to_seconds((MsTime) ms_sketch_max(s));
        out->quantile_error = ms_sketch_is_exact(s) ? 0 : MS_SKETCH_RELATIVE_ERROR;
    }
}

typedef struct {
    const char *section, *name; /* in the table's string chunk */
    double value;
    gboolean integer;
    gboolean per_part; /* a partitioned run adds the parts' values */
} Row;

/* A link's figures: its section name, and what each part counts of it
 * (added over the parts). Its utilisation rows come from the busy and
 * peak times below; the seven rows are made as they are written. */
typedef struct {
    const char *section; /* "link:a~b", in the string chunk */
    double packets, bytes, drops;
} LinkFigures;

/* A partitioned run's link figures are merged from integers, not from the
 * rows' doubles: the busy time per link direction (2 * link + dir) is
 * added over the parts, and the busiest second is the largest of the
 * parts' peaks and of their windows added up per window (see
 * sim/net/net_peak.c: a part's peak alone is not the run's when several
 * parts count a direction, as at flow level); the rows are then written
 * from the sums, as a sequential run writes them.
 *
 * Memory: a world's links are most of its figures (seven each), so they
 * are kept as numbers, about 56 bytes a link, and turned into rows only
 * when written; the strings of the other rows are kept once each. (Seven
 * rows a link with their own strings took about 7.5 MB of the medium
 * world's peak, in every part of a partitioned run.) */
struct _MsStatsTable {
    GArray *rows;         /* Row: every figure but the links' */
    GArray *links;        /* LinkFigures, by link id (a part's table: none) */
    GStringChunk *strings;
    guint n_links;        /* the world's */
    guint n_ld;           /* link directions: 2 * n_links, or 0 in a part's table */
    MsTime *busy, *peak;
    GArray *counted;      /* a part's table: LinkPart of its links that counted anything */
    GArray *windows;      /* MsLinkWindow of the parts, to add up */
    double run_ns;        /* what utilisation divides by */
};

/* What a part sends of one link: only links it counted something on are
 * sent (a part of a distributed run sends its own links, not the world's). */
typedef struct {
    guint64 link;
    double packets, bytes, drops;
    MsTime busy[2], peak[2];
} LinkPart;

static void
add(MsStatsTable *t, const char *section, const char *name, double value, gboolean integer)
{
    /* Mail and latency figures come from the (merged) message records; the
     * rest are counters each part keeps for its own hosts and links. */
    gboolean per_part = strcmp(section, "mail") != 0 && strcmp(section, "latency") != 0 &&
                        strcmp(section, "routing") != 0 && strcmp(name, "simulated_seconds") != 0;
    Row r = { g_string_chunk_insert_const(t->strings, section),
              g_string_chunk_insert_const(t->strings, name), value, integer, per_part };
    g_array_append_val(t->rows, r);
}

/* The rows of link `l` of `t`, in the order they are written. */
static void
link_rows(const MsStatsTable *t, guint l, Row out[7])
{
    const LinkFigures *f = &g_array_index(t->links, LinkFigures, l);
    static const char *const names[] = { "utilization_ab",      "utilization_ba",
                                         "peak_utilization_ab", "peak_utilization_ba",
                                         "packets",             "bytes",
                                         "drops" };
    double values[] = { (double) t->busy[2 * l] / t->run_ns,
                        (double) t->busy[2 * l + 1] / t->run_ns,
                        (double) t->peak[2 * l] / MS_NET_PEAK_WINDOW,
                        (double) t->peak[2 * l + 1] / MS_NET_PEAK_WINDOW,
                        f->packets,
                        f->bytes,
                        f->drops };
    for (guint i = 0; i < 7; i++)
        out[i] = (Row) { f->section, names[i], values[i], i >= 4, i >= 4 };
}

/* part_only: the rows that come from the merged records (latency,
 * routing) are left at zero, as a part's own table only gives
 * ms_stats_table_part_values() its counters; the routing study alone is a
 * Dijkstra search per destination. */
static void
collect(MsWorld *w, MsStatsTable *t, gboolean part_only)
{
    GArray *rows = t->rows = g_array_new(FALSE, TRUE, sizeof(Row));
    t->strings = g_string_chunk_new(4096);
    MsMail *m = ms_world_mail(w);
    MsNet *net = ms_world_net(w);
    MsMailStats ms;
    ms_mail_get_stats(m, &ms);
    MsTime now = ms_engine_now(ms_world_engine(w));
    add(t, "run", "simulated_seconds", ms_time_to_seconds(now), FALSE);
    MsEngineStats es;
    ms_engine_get_stats(ms_world_engine(w), &es);
    add(t, "run", "events", (double) es.processed, TRUE);
    add(t, "mail", "messages", ms.messages, TRUE);
    add(t, "mail", "dsns", ms.dsns, TRUE);
    add(t, "mail", "delivered", ms.delivered, TRUE);
    add(t, "mail", "bounced", ms.bounced, TRUE);
    add(t, "mail", "queued", ms.queued, TRUE);
    add(t, "mail", "refused", ms.refused, TRUE);
    /* Of the recipients above, the DSNs' own (the summary tells them apart
     * from the messages' recipients). */
    add(t, "mail", "dsn_delivered", ms.dsn_delivered, TRUE);
    add(t, "mail", "dsn_bounced", ms.dsn_bounced, TRUE);
    add(t, "mail", "dsn_queued", ms.dsn_queued, TRUE);
    add(t, "mail", "retrieved", ms.retrieved, TRUE);
    add(t, "mail", "attempts", ms.attempts, TRUE);
    add(t, "mail", "deferrals", ms.deferrals, TRUE);
    if (ms_mail_tls_enabled(m)) {
        /* Counted by each part's own clients: summed over parts. Only in
         * worlds that speak TLS, so other runs' statistics stay as they were. */
        add(t, "tls", "handshakes", (double) ms.tls_handshakes, TRUE);
        add(t, "tls", "failures", (double) ms.tls_failures, TRUE);
        add(t, "tls", "resumed", (double) ms.tls_resumed, TRUE);
        add(t, "tls", "hops_encrypted", (double) ms.hops_tls, TRUE);
        add(t, "tls", "hops_clear", (double) ms.hops_clear, TRUE);
        add(t, "tls", "logins_encrypted", (double) ms.logins_tls, TRUE);
        add(t, "tls", "logins_clear", (double) ms.logins_clear, TRUE);
        /* the logins: a merged run's are every part's already (mail_merge.c) */
        for (guint i = rows->len - 2; i < rows->len; i++)
            g_array_index(rows, Row, i).per_part = FALSE;
    }
    if (ms_mail_uses_imap(m)) {
        /* Only in worlds where some client reads over IMAP. seen: the
         * recipients some device showed; the delay is from delivery to
         * the first device that showed it (push or poll). */
        add(t, "imap", "sessions", (double) ms.imap_sessions, TRUE);
        add(t, "imap", "seen", ms.seen, TRUE);
        add(t, "imap", "seen_mean_s",
            ms.seen ? ms_time_to_seconds(ms.seen_delay_total) / ms.seen : 0, FALSE);
        add(t, "imap", "seen_max_s", ms_time_to_seconds(ms.seen_delay_max), FALSE);
        /* seen and its delays come from the (merged) records: not added over the parts */
        for (guint i = rows->len - 3; i < rows->len; i++)
            g_array_index(rows, Row, i).per_part = FALSE;
    }
    if (ms_mail_auth_enabled(m)) {
        /* Sender authentication: results per mechanism, only in worlds
         * that use it (other runs' statistics stay as they were). */
        MsMailAuthStats as;
        ms_mail_auth_get_stats(m, &as);
        for (guint i = 0; i < G_N_ELEMENTS(as.spf); i++) {
            g_autofree char *n = g_strdup_printf("spf_%s", ms_mail_auth_result_name(i));
            add(t, "auth", n, (double) as.spf[i], TRUE);
        }
        for (guint i = 0; i < G_N_ELEMENTS(as.dkim); i++) {
            if (i == 3) /* softfail: not a DKIM result */
                continue;
            g_autofree char *n = g_strdup_printf("dkim_%s", ms_mail_auth_result_name(i));
            add(t, "auth", n, (double) as.dkim[i], TRUE);
        }
        for (guint i = 0; i < G_N_ELEMENTS(as.dmarc); i++) {
            if (i == 3 || i == 4) /* softfail, neutral: not DMARC results */
                continue;
            g_autofree char *n = g_strdup_printf("dmarc_%s", ms_mail_auth_result_name(i));
            add(t, "auth", n, (double) as.dmarc[i], TRUE);
        }
        add(t, "auth", "dnsbl_listed", (double) as.dnsbl_listed, TRUE);
        add(t, "auth", "dnsbl_clean", (double) as.dnsbl_clean, TRUE);
        add(t, "auth", "dkim_signed", (double) as.signed_messages, TRUE);
        add(t, "auth", "dmarc_rejected", (double) as.rejected, TRUE);
        add(t, "auth", "dmarc_quarantined", (double) as.quarantined, TRUE);
        add(t, "auth", "login_mismatch", (double) as.login_mismatch, TRUE);
    }
    MsLatencyStats lat = { 0 };
    if (!part_only)
        ms_stats_latency(w, &lat);
    add(t, "latency", "n", lat.n, TRUE);
    add(t, "latency", "mean_s", lat.mean, FALSE);
    add(t, "latency", "p50_s", lat.p50, FALSE);
    add(t, "latency", "p95_s", lat.p95, FALSE);
    add(t, "latency", "p99_s", lat.p99, FALSE);
    add(t, "latency", "max_s", lat.max, FALSE);
    /* Only when the quantiles come from a sketch (a run that folded its
     * records), so that exact runs write what they always wrote. */
    if (lat.quantile_error > 0)
        add(t, "latency", "quantiles_relative_error", lat.quantile_error, FALSE);
    MsRoutingStats rs = { 0 };
    if (!part_only)
        ms_stats_routing(w, &rs);
    add(t, "routing", "paths", rs.paths, TRUE);
    add(t, "routing", "unreachable", rs.unreachable, TRUE);
    add(t, "routing", "destinations_left_out", rs.destinations_left_out, TRUE);
    add(t, "routing", "stretch_mean", rs.stretch_mean, FALSE);
    add(t, "routing", "stretch_p95", rs.stretch_p95, FALSE);
    add(t, "routing", "stretch_max", rs.stretch_max, FALSE);
    add(t, "routing", "hops_mean", rs.hops_mean, FALSE);
    add(t, "routing", "hops_p50", rs.hops_p50, TRUE);
    add(t, "routing", "hops_p95", rs.hops_p95, TRUE);
    add(t, "routing", "hops_max", rs.hops_max, TRUE);
    add(t, "routing", "path_latency_mean_s", rs.latency_mean, FALSE);
    add(t, "routing", "path_latency_p50_s", rs.latency_p50, FALSE);
    add(t, "routing", "path_latency_p95_s", rs.latency_p95, FALSE);
    add(t, "routing", "path_latency_max_s", rs.latency_max, FALSE);
    MsTcpStats ts;
    ms_tcp_get_stats(ms_world_tcp(w), &ts);
    add(t, "tcp", "connections", (double) ts.connections, TRUE);
    add(t, "tcp", "segments", (double) ts.segments, TRUE);
    add(t, "tcp", "retransmits", (double) ts.retransmits, TRUE);
    MsNetStats ns;
    ms_net_get_stats(net, &ns);
    add(t, "net", "packets_sent", (double) ns.sent, TRUE);
    add(t, "net", "packets_forwarded", (double) ns.forwarded, TRUE);
    add(t, "net", "packets_delivered", (double) ns.delivered, TRUE);
    add(t, "net", "packets_dropped", (double) ns.dropped, TRUE);
    for (guint i = 0; i < ms_mail_n_servers(m); i++) {
        MsMailServerStats ss;
        ms_mail_server_stats(m, i, &ss);
        g_autofree char *sec = g_strdup_printf("mta:%s", ms_net_host_name(net, ss.host));
        add(t, sec, "queue_peak", ss.peak_queue, TRUE);
        add(t, sec, "queue_now", ss.queue_len, TRUE);
        add(t, sec, "dns_lookups", (double) ss.dns_lookups, TRUE);
        add(t, sec, "dns_cache_hits", (double) ss.dns_cache_hits, TRUE);
        add(t, sec, "dns_queries", (double) ss.dns_queries, TRUE);
    }
    guint n_links = t->n_links = ms_net_n_links(net);
    t->run_ns = now > 0 ? (double) now : 1;
    if (part_only) {
        t->counted = g_array_new(FALSE, FALSE, sizeof(LinkPart));
        for (guint l = 0; l < n_links; l++) {
            MsLinkStats st;
            ms_net_link_stats(net, l, &st);
            LinkPart f = { l,
                           (double) (st.packets[0] + st.packets[1]),
                           (double) (st.bytes[0] + st.bytes[1]),
                           (double) (st.drops_queue + st.drops_loss + st.drops_down),
                           { st.busy[0], st.busy[1] },
                           { st.peak_busy[0], st.peak_busy[1] } };
            if (f.packets || f.bytes || f.drops || f.busy[0] || f.busy[1] || f.peak[0] ||
                f.peak[1])
                g_array_append_val(t->counted, f);
        }
    } else {
        t->n_ld = 2 * n_links;
        t->busy = g_new0(MsTime, t->n_ld);
        t->peak = g_new0(MsTime, t->n_ld);
        t->links = g_array_sized_new(FALSE, TRUE, sizeof(LinkFigures), n_links);
        for (guint l = 0; l < n_links; l++) {
            MsLinkStats st;
            ms_net_link_stats(net, l, &st);
            MsHostId a, b;
            ms_net_link_ends(net, l, &a, &b);
            g_autofree char *sec =
                g_strdup_printf("link:%s~%s", ms_net_host_name(net, a), ms_net_host_name(net, b));
            for (guint d = 0; d < 2; d++) {
                t->busy[2 * l + d] = st.busy[d];
                t->peak[2 * l + d] = st.peak_busy[d];
            }
            LinkFigures f = { g_string_chunk_insert(t->strings, sec),
                              (double) (st.packets[0] + st.packets[1]),
                              (double) (st.bytes[0] + st.bytes[1]),
                              (double) (st.drops_queue + st.drops_loss + st.drops_down) };
            g_array_append_val(t->links, f);
        }
    }
    t->windows = g_array_new(FALSE, FALSE, sizeof(MsLinkWindow));
    ms_net_peak_windows(net, t->windows);
}

static void
append_value(GString *s, const Row *r)
{
    if (r->integer)
        g_string_append_printf(s, "%.0f", r->value);
    else {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.9g", r->value));
    }
}

MsStatsTable *
ms_stats_collect(MsWorld *w)
{
    MsStatsTable *t = g_new0(MsStatsTable, 1);
    collect(w, t, FALSE);
    return t;
}

MsStatsTable *
ms_stats_collect_part(MsWorld *w)
{
    MsStatsTable *t = g_new0(MsStatsTable, 1);
    collect(w, t, TRUE);
    return t;
}

void
ms_stats_table_free(MsStatsTable *t)
{
    if (!t)
        return;
    g_array_free(t->rows, TRUE);
    g_free(t->busy);
    g_free(t->peak);
    if (t->links)
        g_array_free(t->links, TRUE);
    if (t->counted)
        g_array_free(t->counted, TRUE);
    if (t->strings)
        g_string_chunk_free(t->strings);
    g_array_free(t->windows, TRUE);
    g_free(t);
}

double
ms_stats_table_get(const MsStatsTable *t, const char *section, const char *name)
{
    for (guint i = 0; i < t->rows->len; i++) {
        const Row *r = &g_array_index(t->rows, Row, i);
        if (strcmp(r->section, section) == 0 && strcmp(r->name, name) == 0)
            return r->value;
    }
    for (guint l = 0; t->links && l < t->links->len; l++) {
        if (strcmp(g_array_index(t->links, LinkFigures, l).section, section) != 0)
            continue;
        Row rows[7];
        link_rows(t, l, rows);
        for (guint i = 0; i < 7; i++)
            if (strcmp(rows[i].name, name) == 0)
                return rows[i].value;
    }
    g_return_val_if_reached(0);
}

/* How many doubles a part sends: its per-part rows'. */
static guint64
part_doubles(const MsStatsTable *t)
{
    guint64 k = 0;
    for (guint i = 0; i < t->rows->len; i++)
        k += g_array_index(t->rows, Row, i).per_part;
    return k;
}

/* A part's values: the per-part rows' doubles, the world's link count and
 * the links the part counted anything on (LinkPart: packets, bytes, drops,
 * each direction's busy time and busiest second in nanoseconds), then its
 * windows (each block after its length, as a guint64; raw, as the ranks of
 * one run share a machine's byte order). A whole run's table sends its
 * links that counted anything, as a part's does. */
GBytes *
ms_stats_table_part_values(const MsStatsTable *t)
{
    GByteArray *b = g_byte_array_new();
    guint64 k = part_doubles(t);
    g_byte_array_append(b, (const guint8 *) &k, sizeof k);
    for (guint i = 0; i < t->rows->len; i++) {
        const Row *r = &g_array_index(t->rows, Row, i);
        if (r->per_part)
            g_byte_array_append(b, (const guint8 *) &r->value, sizeof r->value);
    }
    guint64 n = t->n_links;
    g_byte_array_append(b, (const guint8 *) &n, sizeof n);
    g_autoptr(GArray) from_whole = NULL;
    const GArray *counted = t->counted;
    if (!counted) {
        from_whole = g_array_new(FALSE, FALSE, sizeof(LinkPart));
        for (guint l = 0; l < t->n_links; l++) {
            const LinkFigures *f = &g_array_index(t->links, LinkFigures, l);
            LinkPart c = { l,
                           f->packets,
                           f->bytes,
                           f->drops,
                           { t->busy[2 * l], t->busy[2 * l + 1] },
                           { t->peak[2 * l], t->peak[2 * l + 1] } };
            if (c.packets || c.bytes || c.drops || c.busy[0] || c.busy[1] || c.peak[0] ||
                c.peak[1])
                g_array_append_val(from_whole, c);
        }
        counted = from_whole;
    }
    guint64 m = counted->len;
    g_byte_array_append(b, (const guint8 *) &m, sizeof m);
    g_byte_array_append(b, (const guint8 *) counted->data, (guint) (m * sizeof(LinkPart)));
    guint64 nw = t->windows->len;
    g_byte_array_append(b, (const guint8 *) &nw, sizeof nw);
    g_byte_array_append(b, (const guint8 *) t->windows->data, (guint) (nw * sizeof(MsLinkWindow)));
    return g_byte_array_free_to_bytes(b);
}

static gint
window_cmp(gconstpointer a, gconstpointer b)
{
    const MsLinkWindow *x = a, *y = b;
    if (x->ld != y->ld)
        return x->ld < y->ld ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Adds up the windows of every part so far per (direction, start): a
 * direction's peak is at least each total (at most the window). Totals
 * that fill their window are dropped (the peak is 100 % and stays so);
 * the others stay, one per window, for the parts still to come. */
static void
add_up_windows(MsStatsTable *t)
{
    GArray *w = t->windows;
    g_array_sort(w, window_cmp);
    guint out = 0;
    for (guint i = 0; i < w->len;) {
        MsLinkWindow sum = g_array_index(w, MsLinkWindow, i);
        MsTime busy = sum.busy;
        guint j = i + 1;
        for (; j < w->len; j++) {
            const MsLinkWindow *o = &g_array_index(w, MsLinkWindow, j);
            if (o->ld != sum.ld || o->start != sum.start)
                break;
            busy += o->busy;
        }
        busy = MIN(busy, MS_NET_PEAK_WINDOW);
        if (sum.ld < t->n_ld)
            t->peak[sum.ld] = MAX(t->peak[sum.ld], busy);
        if (busy < MS_NET_PEAK_WINDOW) {
            sum.busy = (guint32) busy;
            g_array_index(w, MsLinkWindow, out++) = sum;
        }
        i = j;
    }
    g_array_set_size(w, out);
}

/* Reads `n` bytes at *at of the `len` in `p`; FALSE when they are not there. */
static gboolean
take(const guint8 *p, gsize len, gsize *at, void *dst, gsize n)
{
    if (n > len - *at)
        return FALSE;
    memcpy(dst, p + *at, n);
    *at += n;
    return TRUE;
}

gboolean
ms_stats_table_add_part(MsStatsTable *t, GBytes *values, GError **error)
{
    g_return_val_if_fail(t->links != NULL, FALSE); /* a whole run's table */
    gsize len;
    const guint8 *p = g_bytes_get_data(values, &len);
    gsize at = 0;
    guint64 k = 0, want = part_doubles(t), n = 0, m = 0, nw = 0;
    /* offsets of the blocks, and every link id, checked before anything is read */
    gboolean ok =
        take(p, len, &at, &k, sizeof k) && k == want && len - at >= k * sizeof(double) + sizeof n;
    gsize doubles = at;
    at += ok ? k * sizeof(double) : 0;
    ok = ok && take(p, len, &at, &n, sizeof n) && n == t->n_links &&
         take(p, len, &at, &m, sizeof m) && m <= n &&
         len - at >= m * sizeof(LinkPart) + sizeof nw;
    gsize counted = at;
    for (guint64 i = 0; ok && i < m; i++) {
        LinkPart c;
        memcpy(&c, p + counted + i * sizeof c, sizeof c);
        ok = c.link < n;
    }
    at += ok ? m * sizeof(LinkPart) : 0;
    ok = ok && take(p, len, &at, &nw, sizeof nw) && (len - at) / sizeof(MsLinkWindow) == nw &&
         (len - at) % sizeof(MsLinkWindow) == 0;
    if (!ok) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "statistics of a part: %" G_GSIZE_FORMAT
                    " bytes that do not hold %" G_GUINT64_FORMAT " figures and %u links",
                    len, want, t->n_links);
        return FALSE;
    }
    guint j = 0;
    for (guint i = 0; i < t->rows->len; i++) {
        Row *r = &g_array_index(t->rows, Row, i);
        if (r->per_part) {
            double v;
            memcpy(&v, p + doubles + sizeof v * j++, sizeof v);
            r->value += v;
        }
    }
    for (guint64 i = 0; i < m; i++) {
        LinkPart c;
        memcpy(&c, p + counted + i * sizeof c, sizeof c);
        LinkFigures *f = &g_array_index(t->links, LinkFigures, c.link);
        f->packets += c.packets;
        f->bytes += c.bytes;
        f->drops += c.drops;
        for (guint d = 0; d < 2; d++) {
            guint ld = 2 * (guint) c.link + d;
            t->busy[ld] = (MsTime) ((guint64) t->busy[ld] + (guint64) c.busy[d]); /* wraps */
            t->peak[ld] = MAX(t->peak[ld], c.peak[d]);
        }
    }
    g_array_append_vals(t->windows, p + at, (guint) nw);
    add_up_windows(t);
    return TRUE;
}

gboolean
ms_stats_write(MsWorld *w, const char *path, GError **error)
{
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    return ms_stats_table_write(t, path, error);
}

/* Links by bytes carried, most first, then by section name. */
static gint
busiest_cmp(gconstpointer a, gconstpointer b)
{
    const LinkFigures *x = *(const LinkFigures *const *) a, *y = *(const LinkFigures *const *) b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return strcmp(x->section, y->section);
}

/* Appends one row as JSON (opening its section's object when it starts
 * one: `open` holds the section written last, "" before the first) or as a
 * CSV line. */
static void
append_row(GString *s, const Row *r, gboolean json, GString *open)
{
    if (json) {
        if (open->len == 0 || strcmp(open->str, r->section) != 0) {
            g_string_append_printf(s, "%s\n  \"%s\": {", open->len ? "\n  }," : "", r->section);
            g_string_assign(open, r->section);
        } else {
            g_string_append_c(s, ',');
        }
        g_string_append_printf(s, "\n    \"%s\": ", r->name);
        append_value(s, r);
    } else {
        g_string_append_printf(s, "%s,%s,", r->section, r->name);
        append_value(s, r);
        g_string_append_c(s, '\n');
    }
}

/* Writes the table's rows, its links' rows, then "busiest-link:1" ...
 * ":10", the links that carried the most bytes (after a partitioned run's
 * parts were added up). */
gboolean
ms_stats_table_write(const MsStatsTable *t, const char *path, GError **error)
{
    gboolean json = g_str_has_suffix(path, ".json");
    if (!json && !g_str_has_suffix(path, ".csv")) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: expected a .json or .csv file name", path);
        return FALSE;
    }
    GString *s = g_string_new(json ? "{" : "section,name,value\n");
    g_autoptr(GString) open = g_string_new(NULL);
    for (guint i = 0; i < t->rows->len; i++)
        append_row(s, &g_array_index(t->rows, Row, i), json, open);
    g_autoptr(GPtrArray) busiest = g_ptr_array_new();
    for (guint l = 0; l < t->links->len; l++) {
        Row rows[7];
        link_rows(t, l, rows);
        for (guint i = 0; i < 7; i++)
            append_row(s, &rows[i], json, open);
        LinkFigures *f = &g_array_index(t->links, LinkFigures, l);
        if (f->bytes > 0)
            g_ptr_array_add(busiest, f);
    }
    g_ptr_array_sort(busiest, busiest_cmp);
    for (guint i = 0; i < MIN(busiest->len, 10u); i++) {
        const LinkFigures *f = busiest->pdata[i];
        g_autofree char *sec = g_strdup_printf("busiest-link:%u", i + 1);
        g_autofree char *name = g_strdup_printf("%s_bytes", f->section + strlen("link:"));
        Row r = { sec, name, f->bytes, TRUE, FALSE };
        append_row(s, &r, json, open);
    }
    if (json)
        g_string_append(s, open->len ? "\n  }\n}\n" : "}\n");
    gboolean ok = ms_output_file_write(path, s->str, s->len, error);
    g_string_free(s, TRUE);
    return ok;
}
