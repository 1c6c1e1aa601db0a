/* The mail layer's core (see include/mailsim/mail.h): servers and clients,
 * the message life records and their accounting, the retry schedules of the
 * MTA profiles, and composing what MTAs write (Received: headers, dates,
 * DSN bounces of RFC 3464). The protocol sessions live in mail_smtpd.c,
 * mail_mta.c, mail_pop3.c and mail_mua.c.
 *
 * Records: one MsMessageRecord per message (submitted or a DSN), one
 * MsRcptRecord per recipient, indexed by id. The Message-ID we write is
 * "<label.ID@origin>": when a copy arrives somewhere, the id is read back
 * from it and the whole string compared with the record's, so no table maps
 * Message-IDs to ids (it cost ~100 bytes per message). Headers written by
 * others simply match no record.
 * Dates in headers are simulated time counted from 2026-11-29 00:00:00 UTC,
 * written with fixed English names so no locale can change a byte. */
#include "mail-private.h"

#include <stdarg.h>
#include <string.h>

static void
server_free(gpointer p)
{
    Server *s = p;
    g_free(s->hostname);
    g_ptr_array_unref(s->domains);
    g_ptr_array_unref(s->backup_for);
    ms_resolver_free(s->resolver);
    ms_mail_store_free(s->store);
    g_array_free(s->trusted, TRUE);
    for (guint i = 0; i < s->queue->len; i++)
        ms__queue_entry_free(g_ptr_array_index(s->queue, i));
    g_ptr_array_unref(s->queue);
    g_hash_table_destroy(s->greylist);
    ms__rules_free(s->rules);
    g_free(s);
}

static void
client_free(gpointer p)
{
    Client *c = p;
    g_free(c->address);
    g_free(c->user);
    g_free(c->domain);
    g_free(c->password);
    g_ptr_array_unref(c->seen_uids);
    g_free(c);
}

MsMail *
ms_mail_new(MsNet *net, MsTcp *tcp)
{
    MsMail *m = g_new0(MsMail, 1);
    m->net = net;
    m->tcp = tcp;
    m->engine = ms_net_engine(net);
    m->trace = ms_net_trace(net);
    m->servers = g_ptr_array_new_with_free_func(server_free);
    m->clients = g_ptr_array_new_with_free_func(client_free);
    m->server_of_host = g_array_new(FALSE, TRUE, sizeof(guint));
    m->local_domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->backup_domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ms__mail_records_init(m);
    m->keep_bodies = TRUE;
    ms__mta_init(m);
    ms__pop3_init(m);
    ms__mua_init(m);
    return m;
}

void
ms_mail_free(MsMail *m)
{
    if (!m)
        return;
    while (m->live.head) {
        MsLive *l = (MsLive *) m->live.head;
        l->release(l->link.data);
    }
    g_ptr_array_unref(m->pending);
    g_ptr_array_unref(m->servers);
    g_ptr_array_unref(m->clients);
    g_array_free(m->server_of_host, TRUE);
    g_hash_table_destroy(m->local_domains);
    g_hash_table_destroy(m->backup_domains);
    ms__mail_records_clear(m);
    g_free(m);
}

/* --- servers and clients ------------------------------------------------ */

void ms_mail_set_flat_dns(MsMail *m, gboolean flat) { m->flat_dns = flat; }
void ms_mail_set_keep_bodies(MsMail *m, gboolean keep) { m->keep_bodies = keep; }

gboolean
ms__server_keeps_bodies(const MsMail *m, const Server *s)
{
    return m->keep_bodies || s->has_readers;
}

guint
ms_mail_add_server(MsMail *m, MsHostId host, const char *const *domains, const MsMtaPolicy *policy,
                   MsResolver *resolver)
{
    Server *s = g_new0(Server, 1);
    s->index = m->servers->len;
    s->host = host;
    s->hostname = g_strdup(ms_net_host_name(m->net, host));
    if (host >= m->server_of_host->len)
        g_array_set_size(m->server_of_host, host + 1);
    if (g_array_index(m->server_of_host, guint, host) == 0)
        g_array_index(m->server_of_host, guint, host) = s->index + 1;
    s->domains = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *d = domains; d && *d; d++) {
        char *lower = g_ascii_strdown(*d, -1);
        g_ptr_array_add(s->domains, lower);
        if (!g_hash_table_contains(m->local_domains, lower))
            g_hash_table_insert(m->local_domains, g_strdup(lower), GUINT_TO_POINTER(s->index + 1));
    }
    if (policy)
        s->policy = *policy;
    else
        ms_mta_policy_defaults(MS_MTA_POSTFIX, &s->policy);
    MsMtaPolicy def;
    ms_mta_policy_defaults(s->policy.profile, &def);
    if (!s->policy.retry_first) s->policy.retry_first = def.retry_first;
    if (!s->policy.retry_max) s->policy.retry_max = def.retry_max;
    if (!s->policy.give_up) s->policy.give_up = def.give_up;
    if (!s->policy.max_size) s->policy.max_size = def.max_size;
    if (!s->policy.max_recipients) s->policy.max_recipients = def.max_recipients;
    s->backup_for = g_ptr_array_new_with_free_func(g_free);
    s->resolver = resolver;
    s->store = ms_mail_store_new();
    s->smarthost = MS_NO_HOST_ID;
    s->trusted = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    s->queue = g_ptr_array_new();
    s->greylist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    s->rules = g_array_new(FALSE, TRUE, sizeof(MsReplyRule));
    g_ptr_array_add(m->servers, s);
    ms__smtpd_listen(m, s);
    ms__pop3d_listen(m, s);
    return s->index;
}

void
ms_mail_set_smarthost(MsMail *m, guint server, MsHostId relay_host)
{
    Server *s = g_ptr_array_index(m->servers, server);
    s->smarthost = relay_host;
    guint r = ms_mail_server_by_host(m, relay_host);
    if (r != MS_NO_SERVER) {
        Server *relay = g_ptr_array_index(m->servers, r);
        g_array_append_val(relay->trusted, s->host);
    }
}

void
ms_mail_add_backup_domain(MsMail *m, guint server, const char *domain)
{
    Server *s = g_ptr_array_index(m->servers, server);
    g_return_if_fail(!ms__server_is_local(s, domain));
    if (!ms__server_is_backup_for(s, domain)) {
        g_ptr_array_add(s->backup_for, g_ascii_strdown(domain, -1));
        g_hash_table_add(m->backup_domains, g_ascii_strdown(domain, -1));
    }
}

gboolean
ms_mail_add_user(MsMail *m, guint server, const char *user, const char *password, guint64 quota)
{
    Server *s = g_ptr_array_index(m->servers, server);
    return ms_mail_store_add_user(s->store, user, password, quota);
}

MsMailStore *
ms_mail_server_store(MsMail *m, guint server)
{
    return ((Server *) g_ptr_array_index(m->servers, server))->store;
}

guint
ms_mail_server_by_host(MsMail *m, MsHostId host)
{
    guint v = host < m->server_of_host->len ? g_array_index(m->server_of_host, guint, host) : 0;
    return v ? v - 1 : MS_NO_SERVER;
}

guint
ms_mail_add_client(MsMail *m, MsHostId host, const char *address, const char *password,
                   guint smtp_server, guint pop3_server, gboolean keep)
{
    Client *c = g_new0(Client, 1);
    c->index = m->clients->len;
    c->host = host;
    c->address = g_strdup(address);
    c->user = ms__address_local(address);
    c->domain = g_ascii_strdown(ms__address_domain(address), -1);
    c->password = g_strdup(password ? password : "");
    c->smtp_server = smtp_server;
    c->pop3_server = pop3_server;
    c->keep = keep;
    c->seen_uids = g_ptr_array_new_with_free_func(g_free);
    if (pop3_server != MS_NO_SERVER && pop3_server < m->servers->len)
        ((Server *) g_ptr_array_index(m->servers, pop3_server))->has_readers = TRUE;
    g_ptr_array_add(m->clients, c);
    return c->index;
}

/* --- work in flight ------------------------------------------------------ */

void
ms__live_add(MsMail *m, MsLive *l, gpointer owner, GDestroyNotify release)
{
    l->link = (GList) { owner, NULL, NULL };
    l->release = release;
    g_queue_push_tail_link(&m->live, &l->link);
}

void
ms__live_remove(MsMail *m, MsLive *l)
{
    g_queue_unlink(&m->live, &l->link);
}

gboolean
ms__server_is_local(const Server *s, const char *domain)
{
    for (guint i = 0; i < s->domains->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(s->domains, i), domain) == 0)
            return TRUE;
    return FALSE;
}

gboolean
ms__server_is_backup_for(const Server *s, const char *domain)
{
    for (guint i = 0; i < s->backup_for->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(s->backup_for, i), domain) == 0)
            return TRUE;
    return FALSE;
}

void
ms__send_bytes(MsMail *m, MsTcpConnId conn, GBytes *out)
{
    ms_tcp_send_bytes(m->tcp, conn, out);   /* the flow level keeps a ref instead of a copy */
    g_bytes_unref(out);
}

/* --- trace helpers -------------------------------------------------------- */

static void
emit(MsMail *m, MsTraceKind kind, MsHostId host, MsHostId peer, guint32 message, const char *proto,
     gboolean outgoing, const char *text)
{
    if (!ms_trace_enabled(m->trace))
        return;
    MsTraceRecord r = { 0 };
    r.at = ms_engine_now(m->engine);
    r.kind = kind;
    r.host = host;
    r.peer = peer;
    r.message = message;
    r.proto = proto;
    r.outgoing = outgoing;
    r.text = text;
    ms_trace_emit(m->trace, &r);
}

void
ms__mail_note(MsMail *m, MsHostId host, MsHostId peer, guint32 message, const char *fmt, ...)
{
    if (!ms_trace_enabled(m->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    emit(m, MS_TRACE_MAIL, host, peer, message, "mail", FALSE, text);
}

void
ms__mail_aside(MsMail *m, MsHostId host, guint32 message, const char *fmt, ...)
{
    if (!ms_trace_enabled(m->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    emit(m, MS_TRACE_NOTE, host, MS_HOST_WORLD, message, NULL, FALSE, text);
}

void
ms__mail_proto_line(MsMail *m, MsHostId host, MsHostId peer, guint32 message, const char *proto,
                    gboolean outgoing, const char *line)
{
    emit(m, MS_TRACE_PROTO_LINE, host, peer, message, proto, outgoing, line);
}

/* --- bounces ------------------------------------------------------------- */

/* --- statistics ------------------------------------------------------------ */

guint ms_mail_n_servers(const MsMail *m) { return m->servers->len; }

void
ms_mail_server_stats(const MsMail *m, guint server, MsMailServerStats *st)
{
    const Server *s = g_ptr_array_index(m->servers, server);
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
            case MS_RCPT_WITH_CLIENT: st->with_client++; break;
            case MS_RCPT_REFUSED: st->refused++; break;
            case MS_RCPT_QUEUED: st->queued++; st->rcpts_accepted++; break;
            case MS_RCPT_DELIVERED: st->delivered++; st->rcpts_accepted++; break;
            case MS_RCPT_BOUNCED: st->bounced++; st->rcpts_accepted++; break;
            }
            if (rr->retrieved_at)
                st->retrieved++;
            st->deferrals += rr->deferrals;
            st->attempts += rr->attempts;
        }
    }
    st->smtp_sessions = m->smtp_sessions;
    st->pop3_sessions = m->pop3_sessions;
}

void
ms_mail_queue_footprint(const MsMail *m, guint *entries, guint64 *bytes)
{
    guint n = 0;
    guint64 b = 0;
    for (guint s = 0; s < m->servers->len; s++) {
        const Server *sv = g_ptr_array_index(m->servers, s);
        for (guint q = 0; q < sv->queue->len; q++) {
            const QueueEntry *e = g_ptr_array_index(sv->queue, q);
            n++;
            b += sizeof *e + g_bytes_get_size(e->data) + strlen(e->from) + strlen(e->domain) + 2 +
                 sizeof(GPtrArray) + e->rcpts->len * (sizeof(gpointer) + 32);
        }
    }
    *entries = n;
    *bytes = b;
}

gboolean
ms_mail_check_balance(const MsMail *m, GString *report)
{
    gboolean ok = TRUE;
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            if (rr->state == MS_RCPT_QUEUED && m->merged) {
                /* The part that queued it last said whether it holds it. */
                if (!rr->held) {
                    ok = FALSE;
                    g_string_append_printf(report, "message %s to %s: marked queued but no server holds it\n",
                                           r->label, rr->address);
                }
            } else if (rr->state == MS_RCPT_QUEUED) {
                /* Queued must mean: some server really holds it. */
                gboolean held = FALSE;
                for (guint s = 0; s < m->servers->len && !held; s++) {
                    Server *sv = g_ptr_array_index(m->servers, s);
                    for (guint q = 0; q < sv->queue->len && !held; q++) {
                        QueueEntry *e = g_ptr_array_index(sv->queue, q);
                        if (e->message != r->id)
                            continue;
                        for (guint x = 0; x < e->rcpts->len; x++)
                            if (g_ascii_strcasecmp(g_ptr_array_index(e->rcpts, x), rr->address) == 0)
                                held = TRUE;
                    }
                }
                if (!held) {
                    ok = FALSE;
                    g_string_append_printf(report, "message %s to %s: marked queued but no server holds it\n",
                                           r->label, rr->address);
                }
            }
        }
    }
    return ok;
}

/* --- access for the bridge ---------------------------------------------------- */


static const Server *
server_at(const MsMail *m, guint server)
{
    g_return_val_if_fail(server < m->servers->len, NULL);
    return g_ptr_array_index(m->servers, server);
}

MsHostId
ms_mail_server_host(const MsMail *m, guint server)
{
    const Server *s = server_at(m, server);
    return s ? s->host : MS_NO_HOST_ID;
}

const char *
ms_mail_server_hostname(const MsMail *m, guint server)
{
    const Server *s = server_at(m, server);
    return s ? s->hostname : NULL;
}

const MsMtaPolicy *
ms_mail_server_policy(const MsMail *m, guint server)
{
    const Server *s = server_at(m, server);
    return s ? &s->policy : NULL;
}

gboolean
ms_mail_server_is_local(const MsMail *m, guint server, const char *domain)
{
    const Server *s = server_at(m, server);
    return s && ms__server_is_local(s, domain);
}

guint
ms_mail_server_for_domain(const MsMail *m, const char *domain)
{
    g_autofree char *lower = g_ascii_strdown(domain, -1);
    guint v = GPOINTER_TO_UINT(g_hash_table_lookup(m->local_domains, lower));
    return v ? v - 1 : MS_NO_SERVER;
}

/* --- the way out of the world (the bridge's --relay-out) ----------------------- */

void
ms_mail_trace_line(MsMail *m, guint server, guint32 message, const char *proto, gboolean outgoing, const char *line)
{
    const Server *s = server_at(m, server);
    if (s)
        ms__mail_proto_line(m, s->host, MS_HOST_WORLD, message, proto, outgoing, line);
}

void
ms_mail_set_outbound(MsMail *m, MsMailOutboundFunc fn, gpointer user_data)
{
    m->outbound = fn;
    m->outbound_data = fn ? user_data : NULL;
}

gboolean
ms__mail_domain_in_world(MsMail *m, const char *domain)
{
    g_autofree char *lower = g_ascii_strdown(domain, -1);
    return g_hash_table_contains(m->local_domains, lower) || g_hash_table_contains(m->backup_domains, lower);
}
