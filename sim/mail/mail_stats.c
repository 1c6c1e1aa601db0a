/* Statistics and the accounting of the mail layer: totals over the
 * message records, per-server figures, what the queues hold, and the check
 * that every accepted recipient is delivered, bounced or still queued.
 *
 * Role in the data flow: read once at the end of a run (the summary, the
 * statistics sink, <expect no-loss/>, benchmarks); nothing here changes the
 * world.
 *
 * Design. The records (mail_record.c) are the only source: totals are
 * counted over them, not kept alongside, so no counter can drift from what
 * the records say. The balance check compares each record with the
 * queues: a recipient marked queued must be held by an entry of some
 * server's queue (in a merged partitioned run, where the queues stayed with
 * the parts, by the `held` flag the part that queued it last wrote).
 *
 * Invariants checked: accepted = delivered + bounced + queued, and queued
 * means held. Ownership: the caller's structs are filled; the report is
 * appended to. Costs: the totals are O(recipients of all messages); the
 * balance check is O(queued recipients x queue entries), fine at the end
 * of a run; the footprint is O(queue entries). */
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

void
ms_mail_get_stats(const MsMail *m, MsMailStats *st)
{
    g_return_if_fail(m != NULL && st != NULL);
    memset(st, 0, sizeof *st);
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
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
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
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
