/* The mail layer's object (see include/mailsim/mail.h): an MsMail holds
 * the world's mail servers and mail clients, the message records, and the
 * work in flight; this file makes and frees it, sets up servers and
 * clients, answers questions about servers, and carries the layer's trace
 * helpers.
 *
 * Role in the data flow: the world builder (sim/run/world.c) or a test
 * makes one MsMail over a network and its TCP, adds servers, users and
 * clients, and then schedules submissions and checks; the engine runs the
 * sessions. The nouns live in files of their own, as Postfix splits its
 * queue manager: mta_profile.c (retry schedules), mail_record.c (records
 * and the Message-ID index), mail_header.c (RFC 5322 helpers),
 * mail_accept.c (taking a message into a server's care, injection),
 * mail_dsn.c (bounces), mail_smtpd.c, mail_mta.c, mail_pop3.c and
 * mail_mua.c (the protocol sessions), mail_faults.c (scripted replies),
 * mail_stats.c (totals and accounting), mail_merge.c (partitioned runs),
 * workload.c (stochastic arrivals).
 *
 * Design. Servers and clients are addressed by index (the order they were
 * added) in arrays the MsMail owns; a host maps to its first server through
 * an array indexed by host id, and a domain to the first server that takes
 * its mail through a table that is only looked up, never iterated. Work in
 * flight (sessions, attempts, look-ups) registers in `live` so that freeing
 * the layer midway frees it too.
 *
 * Invariants: server and client indices never change; a domain belongs to
 * the first server that lists it; the trace helpers format nothing unless a
 * sink listens (ms_trace_emitv).
 * Ownership: the MsMail owns servers (their stores, queues and resolvers),
 * clients and records; net and tcp are borrowed and must outlive it.
 * Threading: one MsMail per engine, used from its thread only.
 * Costs: adding a server is O(its domains); ms_mail_server_for_domain() is
 * one lower-casing and one hash look-up. */
#include "mail-private.h"
#include "mail_tls_policy-private.h"
#include "mail_auth-private.h"

#include <stdarg.h>

static void
server_free(gpointer p)
{
    MsMailServer *s = p;
    g_free(s->hostname);
    g_ptr_array_unref(s->domains);
    g_ptr_array_unref(s->backup_for);
    ms_resolver_free(s->resolver);
    ms_mail_store_free(s->store);
    if (s->user_names)
        g_ptr_array_unref(s->user_names);
    g_array_free(s->trusted, TRUE);
    for (guint i = 0; i < s->queue->len; i++)
        ms__queue_entry_free(g_ptr_array_index(s->queue, i));
    g_ptr_array_unref(s->queue);
    g_hash_table_destroy(s->greylist);
    ms__rules_free(s->rules);
    ms_tls_credentials_free(s->tls_cred);
    ms_mail_imap_free(s->imap);
    if (s->imapd)
        g_ptr_array_unref(s->imapd);
    g_free(s);
}

static void
client_free(gpointer p)
{
    MsMailClient *c = p;
    g_free(c->address);
    g_free(c->user);
    g_free(c->domain);
    g_free(c->password);
    g_ptr_array_unref(c->seen_uids);
    g_array_unref(c->seen);
    g_free(c);
}

/* Server `server`, or NULL (and a critical warning) when there is none. */
static const MsMailServer *
server_at(const MsMail *m, guint server)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_return_val_if_fail(server < m->servers->len, NULL);
    return g_ptr_array_index(m->servers, server);
}

MsMail *
ms_mail_new(MsNet *net, MsTcp *tcp)
{
    g_return_val_if_fail(net != NULL && tcp != NULL, NULL);
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
    m->fold = FALSE; /* work freed below lets go of records: nothing to fold now */
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
    ms_tls_pki_free(m->pki);
    ms__tls_policy_free(m->tls_policy);
    ms__auth_free(m->auth);
    if (m->tls_rngs)
        g_hash_table_destroy(m->tls_rngs);
    if (m->tls_key_caches)
        g_hash_table_destroy(m->tls_key_caches);
    if (m->tls_sessions)
        g_hash_table_destroy(m->tls_sessions);
    g_free(m);
}

/* --- servers and clients ------------------------------------------------ */

gboolean
ms_mail_enable_tls(MsMail *m, MsTlsPki *pki, guint64 seed, GError **error)
{
    g_return_val_if_fail(m != NULL && pki != NULL && m->pki == NULL, FALSE);
    m->pki = pki;
    /* Certificates in server order, each from a stream named by its host
     * name: adding a server never changes another's certificate. */
    for (guint i = 0; i < m->servers->len; i++) {
        MsMailServer *s = g_ptr_array_index(m->servers, i);
        if (!s->policy.tls || s->tls_cred)
            continue;
        MsRng rng;
        g_autofree char *name = g_strdup_printf("tls-cert/%s", s->hostname);
        ms_rng_init_named(&rng, seed, name);
        s->tls_cred = ms_tls_pki_issue(pki, s->hostname, s->policy.cert_fault, &rng, error);
        if (!s->tls_cred) {
            g_prefix_error(error, "certificate of %s: ", s->hostname);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean
ms_mail_tls_enabled(const MsMail *m)
{
    return m && m->pki;
}

void
ms_mail_set_tls_keylog(MsMail *m, void (*fn)(const char *line, gpointer user_data),
                       gpointer user_data)
{
    g_return_if_fail(m != NULL);
    m->keylog = fn;
    m->keylog_data = fn ? user_data : NULL;
}

void
ms_mail_set_client_tls(MsMail *m, guint client, MsMailClientTls submission, MsMailClientTls pop3)
{
    g_return_if_fail(m != NULL && client < m->clients->len);
    MsMailClient *c = g_ptr_array_index(m->clients, client);
    c->submit_tls = submission;
    c->pop3_tls = pop3;
}

void
ms_mail_set_flat_dns(MsMail *m, gboolean flat)
{
    g_return_if_fail(m != NULL);
    m->flat_dns = flat;
}

void
ms_mail_set_keep_bodies(MsMail *m, gboolean keep)
{
    g_return_if_fail(m != NULL);
    m->keep_bodies = keep;
}

gboolean
ms__server_keeps_bodies(const MsMail *m, const MsMailServer *s)
{
    return m->keep_bodies || s->has_readers;
}

guint
ms_mail_add_server(MsMail *m, MsHostId host, const char *const *domains, const MsMtaPolicy *policy,
                   MsResolver *resolver)
{
    g_return_val_if_fail(m != NULL, MS_NO_SERVER);
    g_return_val_if_fail(host < ms_net_n_hosts(m->net), MS_NO_SERVER);
    MsMailServer *s = g_new0(MsMailServer, 1);
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
    if (!s->policy.retry_first)
        s->policy.retry_first = def.retry_first;
    if (!s->policy.retry_max)
        s->policy.retry_max = def.retry_max;
    if (!s->policy.give_up)
        s->policy.give_up = def.give_up;
    if (!s->policy.max_size)
        s->policy.max_size = def.max_size;
    if (!s->policy.max_recipients)
        s->policy.max_recipients = def.max_recipients;
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
    g_return_if_fail(m != NULL && server < m->servers->len);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    s->smarthost = relay_host;
    guint r = ms_mail_server_by_host(m, relay_host);
    if (r != MS_NO_SERVER) {
        MsMailServer *relay = g_ptr_array_index(m->servers, r);
        g_array_append_val(relay->trusted, s->host);
    }
}

void
ms_mail_add_backup_domain(MsMail *m, guint server, const char *domain)
{
    g_return_if_fail(m != NULL && server < m->servers->len && domain != NULL);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    g_return_if_fail(!ms__server_is_local(s, domain));
    if (!ms__server_is_backup_for(s, domain)) {
        g_ptr_array_add(s->backup_for, g_ascii_strdown(domain, -1));
        g_hash_table_add(m->backup_domains, g_ascii_strdown(domain, -1));
    }
}

gboolean
ms_mail_add_user(MsMail *m, guint server, const char *user, const char *password, guint64 quota)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len && user != NULL, FALSE);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    return ms_mail_store_add_user(s->store, user, password, quota);
}

void
ms_mail_set_user_names(MsMail *m, guint server, GPtrArray *names)
{
    g_return_if_fail(m != NULL && server < m->servers->len && names != NULL);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    if (s->user_names)
        g_ptr_array_unref(s->user_names);
    s->user_names = names;
}

GPtrArray *
ms__mail_server_users(const MsMailServer *s)
{
    return s->user_names ? g_ptr_array_ref(s->user_names) : ms_mail_store_users(s->store);
}

MsMailStore *
ms_mail_server_store(MsMail *m, guint server)
{
    const MsMailServer *s = server_at(m, server);
    return s ? s->store : NULL;
}

guint
ms_mail_server_by_host(MsMail *m, MsHostId host)
{
    g_return_val_if_fail(m != NULL, MS_NO_SERVER);
    guint v = host < m->server_of_host->len ? g_array_index(m->server_of_host, guint, host) : 0;
    return v ? v - 1 : MS_NO_SERVER;
}

guint
ms_mail_add_client(MsMail *m, MsHostId host, const char *address, const char *password,
                   guint smtp_server, guint pop3_server, gboolean keep)
{
    g_return_val_if_fail(m != NULL && address != NULL, MS_NO_SERVER);
    g_return_val_if_fail(smtp_server == MS_NO_SERVER || smtp_server < m->servers->len,
                         MS_NO_SERVER);
    g_return_val_if_fail(pop3_server == MS_NO_SERVER || pop3_server < m->servers->len,
                         MS_NO_SERVER);
    MsMailClient *c = g_new0(MsMailClient, 1);
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
    c->imap_server = MS_NO_SERVER;
    c->seen = g_array_new(FALSE, FALSE, sizeof(MsMailSeen));
    if (pop3_server != MS_NO_SERVER)
        ((MsMailServer *) g_ptr_array_index(m->servers, pop3_server))->has_readers = TRUE;
    g_ptr_array_add(m->clients, c);
    return c->index;
}

void
ms_mail_set_client_imap(MsMail *m, guint client, guint imap_server, gboolean idle,
                        MsMailClientTls tls)
{
    g_return_if_fail(m != NULL && client < m->clients->len && imap_server < m->servers->len);
    MsMailClient *c = g_ptr_array_index(m->clients, client);
    MsMailServer *s = g_ptr_array_index(m->servers, imap_server);
    c->imap_server = imap_server;
    c->idle = idle;
    c->imap_tls = tls;
    s->has_readers = TRUE;
    if (!s->imap)
        ms__imapd_listen(m, s);
}

MsTime
ms_mail_client_seen_at(const MsMail *m, guint client, guint32 id)
{
    g_return_val_if_fail(m != NULL && client < m->clients->len, 0);
    const MsMailClient *c = g_ptr_array_index(m->clients, client);
    for (guint i = 0; i < c->seen->len; i++)
        if (g_array_index(c->seen, MsMailSeen, i).message == id)
            return g_array_index(c->seen, MsMailSeen, i).at;
    return 0;
}

guint
ms_mail_n_clients(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->clients->len;
}

gboolean
ms_mail_uses_imap(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, FALSE);
    for (guint i = 0; i < m->clients->len; i++)
        if (((const MsMailClient *) g_ptr_array_index(m->clients, i))->imap_server != MS_NO_SERVER)
            return TRUE;
    return FALSE;
}

MsHostId
ms_mail_client_host(const MsMail *m, guint client)
{
    g_return_val_if_fail(m != NULL && client < m->clients->len, MS_NO_HOST_ID);
    return ((const MsMailClient *) g_ptr_array_index(m->clients, client))->host;
}

const char *
ms_mail_client_reads(const MsMail *m, guint client)
{
    g_return_val_if_fail(m != NULL && client < m->clients->len, NULL);
    const MsMailClient *c = g_ptr_array_index(m->clients, client);
    if (c->imap_server != MS_NO_SERVER)
        return c->idle ? "IMAP IDLE" : "IMAP";
    return c->pop3_server != MS_NO_SERVER ? "POP3" : NULL;
}

void
ms_mail_client_seen_delays(const MsMail *m, guint client, guint *n, MsTime *total, MsTime *max)
{
    g_return_if_fail(m != NULL && client < m->clients->len && n && total && max);
    const MsMailClient *c = g_ptr_array_index(m->clients, client);
    *n = 0;
    *total = *max = 0;
    for (guint i = 0; i < c->seen->len; i++) {
        const MsMailSeen *s = &g_array_index(c->seen, MsMailSeen, i);
        const MsMessageRecord *r = ms_mail_message(m, s->message);
        for (guint k = 0; r && k < r->rcpts->len; k++) {
            const MsRcptRecord *q = &g_array_index(r->rcpts, MsRcptRecord, k);
            if (g_ascii_strcasecmp(q->address, c->address) != 0 || q->state != MS_RCPT_DELIVERED ||
                s->at < q->done_at)
                continue;
            (*n)++;
            *total += s->at - q->done_at;
            *max = MAX(*max, s->at - q->done_at);
            break;
        }
    }
}

gboolean
ms__mail_seen(MsMail *m, MsMailClient *c, guint32 id)
{
    if (!id || ms_mail_client_seen_at(m, c->index, id))
        return FALSE;
    MsMailSeen s = { id, ms_engine_now(m->engine) };
    g_array_append_val(c->seen, s);
    MsRcptRecord *rr = ms__mail_rcpt(m, id, c->address);
    if (rr && !rr->retrieved_at) {
        rr->retrieved_at = s.at;
        rr->retrieved_by = c->host;
    }
    return TRUE;
}

gboolean
ms__server_is_local(const MsMailServer *s, const char *domain)
{
    for (guint i = 0; i < s->domains->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(s->domains, i), domain) == 0)
            return TRUE;
    return FALSE;
}

gboolean
ms__server_is_backup_for(const MsMailServer *s, const char *domain)
{
    for (guint i = 0; i < s->backup_for->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(s->backup_for, i), domain) == 0)
            return TRUE;
    return FALSE;
}

/* --- work in flight ------------------------------------------------------ */

void
ms__live_add(MsMail *m, MsLive *l, gpointer owner, GDestroyNotify release)
{
    l->link = (GList){ owner, NULL, NULL };
    l->release = release;
    g_queue_push_tail_link(&m->live, &l->link);
}

void
ms__live_remove(MsMail *m, MsLive *l)
{
    g_queue_unlink(&m->live, &l->link);
}

void
ms__send_bytes(MsMail *m, MsTcpConnId conn, GBytes *out)
{
    ms_tcp_send_bytes(m->tcp, conn, out); /* the flow level keeps a ref instead of a copy */
    g_bytes_unref(out);
}

/* --- trace helpers -------------------------------------------------------- */

/* The fields of a mail-layer trace record, stamped now. */
static MsTraceRecord
record_at(MsMail *m, MsTraceKind kind, MsHostId host, MsHostId peer, guint32 message,
          const char *proto)
{
    return (MsTraceRecord){ .at = ms_engine_now(m->engine),
                            .kind = kind,
                            .host = host,
                            .peer = peer,
                            .message = message,
                            .proto = proto };
}

void
ms__mail_note(MsMail *m, MsHostId host, MsHostId peer, guint32 message, const char *fmt, ...)
{
    MsTraceRecord r = record_at(m, MS_TRACE_MAIL, host, peer, message, "mail");
    va_list ap;
    va_start(ap, fmt);
    ms_trace_emitv(m->trace, &r, fmt, ap);
    va_end(ap);
}

void
ms__mail_aside(MsMail *m, MsHostId host, guint32 message, const char *fmt, ...)
{
    MsTraceRecord r = record_at(m, MS_TRACE_NOTE, host, MS_HOST_WORLD, message, NULL);
    va_list ap;
    va_start(ap, fmt);
    ms_trace_emitv(m->trace, &r, fmt, ap);
    va_end(ap);
}

void
ms__mail_proto_line(MsMail *m, MsHostId host, MsHostId peer, guint32 message, const char *proto,
                    gboolean outgoing, const char *line)
{
    MsTraceRecord r = record_at(m, MS_TRACE_PROTO_LINE, host, peer, message, proto);
    r.outgoing = outgoing;
    r.text = line;
    ms_trace_emit(m->trace, &r);
}

/* --- questions about servers (the bridge, statistics) ----------------------- */

MsHostId
ms_mail_server_host(const MsMail *m, guint server)
{
    const MsMailServer *s = server_at(m, server);
    return s ? s->host : MS_NO_HOST_ID;
}

const char *
ms_mail_server_hostname(const MsMail *m, guint server)
{
    const MsMailServer *s = server_at(m, server);
    return s ? s->hostname : NULL;
}

const MsMtaPolicy *
ms_mail_server_policy(const MsMail *m, guint server)
{
    const MsMailServer *s = server_at(m, server);
    return s ? &s->policy : NULL;
}

gboolean
ms_mail_server_is_local(const MsMail *m, guint server, const char *domain)
{
    g_return_val_if_fail(domain != NULL, FALSE);
    const MsMailServer *s = server_at(m, server);
    return s && ms__server_is_local(s, domain);
}

guint
ms_mail_server_for_domain(const MsMail *m, const char *domain)
{
    g_return_val_if_fail(m != NULL && domain != NULL, MS_NO_SERVER);
    g_autofree char *lower = g_ascii_strdown(domain, -1);
    guint v = GPOINTER_TO_UINT(g_hash_table_lookup(m->local_domains, lower));
    return v ? v - 1 : MS_NO_SERVER;
}

/* --- the way out of the world (the bridge's --relay-out) ----------------------- */

void
ms_mail_trace_line(MsMail *m, guint server, guint32 message, const char *proto, gboolean outgoing,
                   const char *line)
{
    const MsMailServer *s = server_at(m, server);
    if (s)
        ms__mail_proto_line(m, s->host, MS_HOST_WORLD, message, proto, outgoing, line);
}

void
ms_mail_set_outbound(MsMail *m, MsMailOutboundFunc fn, gpointer user_data)
{
    g_return_if_fail(m != NULL);
    m->outbound = fn;
    m->outbound_data = fn ? user_data : NULL;
}

gboolean
ms__mail_domain_in_world(MsMail *m, const char *domain)
{
    g_autofree char *lower = g_ascii_strdown(domain, -1);
    return g_hash_table_contains(m->local_domains, lower) ||
           g_hash_table_contains(m->backup_domains, lower);
}
