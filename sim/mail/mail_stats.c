/* Statistics and the accounting of the mail layer: totals over the
 * message records, per-server figures, what the queues hold, and the check
 * that every accepted recipient is delivered, bounced or still queued; and
 * what the records folded away (ms_mail_set_fold_records) add up to.
 *
 * Role in the data flow: read once at the end of a run (the summary, the
 * statistics sink, <expect no-loss/>, benchmarks); nothing here changes the
 * world. With fold on, mail_record.c hands each finished record here just
 * before it frees it.
 *
 * Design. The records (mail_record.c) are the only source: totals are
 * counted over them, not kept alongside, so no counter can drift from what
 * the records say; a folded record is counted once, by the same function,
 * into MsMailFolded, and the totals are the folded ones plus the live
 * records'. The balance check compares each record with the queues: a
 * recipient marked queued must be held by an entry of some server's queue
 * (in a merged partitioned run, where the queues stayed with the parts, by
 * the `held` flag the part that queued it last wrote); a folded record had
 * no queued recipient.
 *
 * Folded paths (for the routing statistics, sim/run/stats_routing.c, which
 * measures the paths into the MS_MAIL_PATH_DESTINATIONS lowest storing
 * servers): every storing server met goes into a set; (origin -> count)
 * tables are kept for the lowest MS_MAIL_PATH_DESTINATIONS of them only. A
 * server pushed out of that set by a lower one can never come back (the
 * lower ones stay), so its table is dropped: the memory is bounded by
 * MS_MAIL_PATH_DESTINATIONS x origins, whatever the number of messages.
 *
 * Invariants checked: accepted = delivered + bounced + queued, and queued
 * means held. Ownership: the caller's structs are filled; the report is
 * appended to. Costs: the totals are O(recipients of live records); the
 * balance check is O(queued recipients x queue entries), fine at the end
 * of a run; the footprint is O(queue entries); folding a record is
 * O(recipients), plus O(MS_MAIL_PATH_DESTINATIONS) when a new lowest
 * storing server appears. */
#include "mail-private.h"

#include <string.h>

guint
ms_mail_n_servers(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->servers->len;
}

void
ms_mail_server_stats(const MsMail *m, guint server, MsMailServerStats *st)
{
    g_return_if_fail(m != NULL && server < m->servers->len && st != NULL);
    const MsMailServer *s = g_ptr_array_index(m->servers, server);
    memset(st, 0, sizeof *st);
    st->host = s->host;
    st->queue_len = s->queue->len;
    st->peak_queue = s->peak_queue;
    if (s->resolver) {
        MsResolverStats rs;
        ms_resolver_get_stats(s->resolver, &rs);
        st->dns_lookups = rs.lookups;
        st->dns_cache_hits = rs.cache_hits;
        st->dns_queries = rs.queries_sent;
        st->dns_timeouts = rs.timeouts;
    }
}

/* What the records folded so far add up to. */
typedef struct {
    MsHostId where;
    GHashTable *origins; /* origin + 1 -> count; looked up, sorted before output */
} FoldedDest;

struct _MsMailFolded {
    MsMailStats counts; /* the record-made figures only */
    MsSketch *latency;  /* ns, delivered recipients of submitted messages */
    GArray *dests;      /* FoldedDest, ascending by where, at most MS_MAIL_PATH_DESTINATIONS */
    GHashTable *wheres; /* set of where + 1: every storing server met */
};

/* Adds one record's recipients to st (the record-made figures). */
static void
count_record(MsMailStats *st, const MsMessageRecord *r)
{
    if (r->is_dsn)
        st->dsns++;
    else
        st->messages++;
    for (guint k = 0; k < r->rcpts->len; k++) {
        const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
        switch (rr->state) {
        case MS_RCPT_WITH_CLIENT:
            st->with_client++;
            break;
        case MS_RCPT_REFUSED:
            st->refused++;
            break;
        case MS_RCPT_QUEUED:
            st->queued++;
            st->dsn_queued += r->is_dsn;
            st->rcpts_accepted++;
            break;
        case MS_RCPT_DELIVERED:
            st->delivered++;
            st->dsn_delivered += r->is_dsn;
            st->rcpts_accepted++;
            break;
        case MS_RCPT_BOUNCED:
            st->bounced++;
            st->dsn_bounced += r->is_dsn;
            st->rcpts_accepted++;
            break;
        }
        if (rr->retrieved_at) {
            st->retrieved++;
            if (rr->state == MS_RCPT_DELIVERED && rr->retrieved_at >= rr->done_at) {
                MsTime d = rr->retrieved_at - rr->done_at;
                st->seen++;
                st->seen_delay_total += d;
                st->seen_delay_max = MAX(st->seen_delay_max, d);
            }
        }
        st->deferrals += rr->deferrals;
        st->attempts += rr->attempts;
    }
}

static void
dest_clear(gpointer p)
{
    FoldedDest *d = p;
    g_hash_table_destroy(d->origins);
}

void
ms__mail_folded_init(MsMail *m, guint exact_limit)
{
    MsMailFolded *f = g_new0(MsMailFolded, 1);
    f->latency = ms_sketch_new(exact_limit);
    f->dests = g_array_new(FALSE, FALSE, sizeof(FoldedDest));
    g_array_set_clear_func(f->dests, dest_clear);
    f->wheres = g_hash_table_new(g_direct_hash, g_direct_equal);
    m->folded = f;
}

void
ms__mail_folded_clear(MsMail *m)
{
    MsMailFolded *f = m->folded;
    if (!f)
        return;
    ms_sketch_free(f->latency);
    g_array_free(f->dests, TRUE);
    g_hash_table_destroy(f->wheres);
    g_free(f);
    m->folded = NULL;
}

/* The table of storing server `where`, made when it is among the lowest
 * MS_MAIL_PATH_DESTINATIONS met (dropping the highest), else NULL. */
static GHashTable *
dest_table(MsMailFolded *f, MsHostId where)
{
    guint lo = 0, hi = f->dests->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        MsHostId w = g_array_index(f->dests, FoldedDest, mid).where;
        if (w == where)
            return g_array_index(f->dests, FoldedDest, mid).origins;
        if (w < where)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= MS_MAIL_PATH_DESTINATIONS)
        return NULL;
    if (f->dests->len == MS_MAIL_PATH_DESTINATIONS)
        g_array_remove_index(f->dests, f->dests->len - 1);
    FoldedDest d = { where, g_hash_table_new(g_direct_hash, g_direct_equal) };
    g_array_insert_val(f->dests, lo, d);
    return d.origins;
}

void
ms__mail_fold_stats(MsMail *m, const MsMessageRecord *r)
{
    MsMailFolded *f = m->folded;
    count_record(&f->counts, r);
    for (guint k = 0; k < r->rcpts->len; k++) {
        const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
        if (rr->state != MS_RCPT_DELIVERED)
            continue;
        /* What sim/run/stats.c measures: submission to mailbox, of the
         * messages' own recipients; and the paths of all (DSNs' too). */
        if (!r->is_dsn)
            ms_sketch_add(f->latency, (guint64) MAX(rr->done_at - r->created_at, 0));
        if (rr->where == r->origin)
            continue;
        g_hash_table_add(f->wheres, GUINT_TO_POINTER(rr->where + 1));
        GHashTable *origins = dest_table(f, rr->where);
        if (origins) {
            gpointer key = GUINT_TO_POINTER(r->origin + 1);
            guint n = GPOINTER_TO_UINT(g_hash_table_lookup(origins, key));
            g_hash_table_insert(origins, key, GUINT_TO_POINTER(n + 1));
        }
    }
}

const MsSketch *
ms_mail_folded_latency(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    return m->folded ? m->folded->latency : NULL;
}

static gint
cmp_host(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void) unused;
    MsHostId x = *(const MsHostId *) a, y = *(const MsHostId *) b;
    return x < y ? -1 : x > y;
}

static gint
cmp_path(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void) unused;
    const MsMailPathCount *x = a, *y = b;
    if (x->where != y->where)
        return x->where < y->where ? -1 : 1;
    return x->origin < y->origin ? -1 : x->origin > y->origin;
}

void
ms_mail_folded_paths(const MsMail *m, GArray *wheres, GArray *paths)
{
    g_return_if_fail(m != NULL && wheres != NULL && paths != NULL);
    const MsMailFolded *f = m->folded;
    if (!f)
        return;
    /* Hash order never reaches the caller: both come out sorted. */
    guint w0 = wheres->len, p0 = paths->len;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, f->wheres);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        MsHostId w = GPOINTER_TO_UINT(k) - 1;
        g_array_append_val(wheres, w);
    }
    g_qsort_with_data(wheres->data + w0 * sizeof(MsHostId), (gint) (wheres->len - w0),
                      sizeof(MsHostId), cmp_host, NULL);
    for (guint i = 0; i < f->dests->len; i++) {
        const FoldedDest *d = &g_array_index(f->dests, FoldedDest, i);
        g_hash_table_iter_init(&it, d->origins);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            MsMailPathCount pc = { d->where, GPOINTER_TO_UINT(k) - 1, GPOINTER_TO_UINT(v) };
            g_array_append_val(paths, pc);
        }
    }
    g_qsort_with_data(paths->data + p0 * sizeof(MsMailPathCount), (gint) (paths->len - p0),
                      sizeof(MsMailPathCount), cmp_path, NULL);
}

void
ms_mail_get_stats(const MsMail *m, MsMailStats *st)
{
    g_return_if_fail(m != NULL && st != NULL);
    memset(st, 0, sizeof *st);
    if (m->folded)
        *st = m->folded->counts;
    guint32 id = 0;
    for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));)
        count_record(st, r);
    st->smtp_sessions = m->smtp_sessions;
    st->tls_handshakes = m->tls_handshakes;
    st->tls_failures = m->tls_failures;
    st->tls_resumed = m->tls_resumed;
    st->hops_tls = m->hops_tls;
    st->hops_clear = m->hops_clear;
    st->logins_tls = m->logins_tls;
    st->logins_clear = m->logins_clear;
    st->pop3_sessions = m->pop3_sessions;
    st->imap_sessions = m->imap_sessions;
}

void
ms_mail_queue_footprint(const MsMail *m, guint *entries, guint64 *bytes)
{
    g_return_if_fail(m != NULL && entries != NULL && bytes != NULL);
    guint n = 0;
    guint64 b = 0;
    for (guint s = 0; s < m->servers->len; s++) {
        const MsMailServer *sv = g_ptr_array_index(m->servers, s);
        for (guint q = 0; q < sv->queue->len; q++) {
            const MsMailQueueEntry *e = g_ptr_array_index(sv->queue, q);
            n++;
            b += sizeof *e + g_bytes_get_size(e->data) + strlen(e->from) + strlen(e->domain) + 2 +
                 sizeof(GPtrArray) + e->rcpts->len * (sizeof(gpointer) + 32);
        }
    }
    *entries = n;
    *bytes = b;
}

/* Whether an entry of some server's queue holds recipient `address` of
 * message id. */
static gboolean
queue_holds(const MsMail *m, guint32 id, const char *address)
{
    for (guint s = 0; s < m->servers->len; s++) {
        const MsMailServer *sv = g_ptr_array_index(m->servers, s);
        for (guint q = 0; q < sv->queue->len; q++) {
            const MsMailQueueEntry *e = g_ptr_array_index(sv->queue, q);
            if (e->message != id)
                continue;
            for (guint x = 0; x < e->rcpts->len; x++)
                if (g_ascii_strcasecmp(g_ptr_array_index(e->rcpts, x), address) == 0)
                    return TRUE;
        }
    }
    return FALSE;
}

gboolean
ms_mail_check_balance(const MsMail *m, GString *report)
{
    g_return_val_if_fail(m != NULL && report != NULL, FALSE);
    gboolean ok = TRUE;
    guint32 id = 0;
    for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));) {
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            if (rr->state != MS_RCPT_QUEUED)
                continue;
            /* Queued must mean: some server really holds it. After a merge
             * the queues stayed with the parts: the part that queued it
             * last said whether it holds it. */
            gboolean held = m->merged ? rr->held : queue_holds(m, r->id, rr->address);
            if (!held) {
                ok = FALSE;
                g_string_append_printf(report,
                                       "message %s to %s: marked queued but no server holds it\n",
                                       r->label, rr->address);
            }
        }
    }
    return ok;
}
