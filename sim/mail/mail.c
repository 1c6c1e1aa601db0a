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

void
ms__rcpt_clear(gpointer p)
{
    MsRcptRecord *r = p;
    g_free(r->detail);   /* the address is one of the mail layer's texts */
}

static void
record_clear(gpointer p)
{
    MsMessageRecord *m = p;
    g_array_free(m->rcpts, TRUE);   /* the strings are the mail layer's texts */
}

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

static void
ids_free(gpointer p)
{
    if (p)
        g_array_unref(p);
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
    m->messages = g_array_new(FALSE, TRUE, sizeof(MsMessageRecord));
    m->texts = g_string_chunk_new(64 * 1024);
    m->by_message_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->by_origin = g_ptr_array_new_with_free_func(ids_free);
    g_array_set_clear_func(m->messages, record_clear);
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
    g_hash_table_destroy(m->by_message_id);
    g_ptr_array_unref(m->by_origin);
    g_free(m->origin_count);
    g_ptr_array_unref(m->servers);
    g_ptr_array_unref(m->clients);
    g_array_free(m->server_of_host, TRUE);
    g_hash_table_destroy(m->local_domains);
    g_hash_table_destroy(m->backup_domains);
    g_array_free(m->messages, TRUE);
    g_string_chunk_free(m->texts);
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

/* --- records ------------------------------------------------------------- */

guint ms_mail_n_messages(const MsMail *m) { return m->messages->len; }

const MsMessageRecord *
ms_mail_message(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(id >= 1 && id <= m->messages->len, NULL);
    return &g_array_index(m->messages, MsMessageRecord, id - 1);
}

MsMessageRecord *
ms__mail_record(MsMail *m, guint32 id)
{
    if (id < 1 || id > m->messages->len)
        return NULL;
    return &g_array_index(m->messages, MsMessageRecord, id - 1);
}

const MsMessageRecord *
ms_mail_message_by_label(const MsMail *m, const char *label)
{
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
        if (g_strcmp0(r->label, label) == 0)
            return r;
    }
    return NULL;
}

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

char *
ms__mail_text(MsMail *m, const char *s)
{
    return s ? g_string_chunk_insert(m->texts, s) : NULL;
}

MsRcptRecord *
ms__mail_rcpt(MsMail *m, guint32 id, const char *address)
{
    MsMessageRecord *r = ms__mail_record(m, id);
    if (!r)
        return NULL;
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (g_ascii_strcasecmp(rr->address, address) == 0)
            return rr;
    }
    if (!r->shadow)
        return NULL;
    MsRcptRecord rr = { 0 };
    rr.address = ms__mail_text(m, address);
    rr.state = MS_RCPT_WITH_CLIENT;
    rr.updated_at = -1;
    g_array_append_val(r->rcpts, rr);
    return &g_array_index(r->rcpts, MsRcptRecord, r->rcpts->len - 1);
}

void
ms__rcpt_touch(MsMail *m, MsRcptRecord *rr)
{
    rr->updated_at = ms_engine_now(m->engine);
}

/* Creates a record; used by the client (submission) and by bounces. */
/* Appends r (taken) as a new record and indexes it. */
static guint32
add_record(MsMail *m, MsMessageRecord *r)
{
    r->id = m->messages->len + 1;
    MsHostId src;
    guint64 seq;
    if (ms_engine_current_key(m->engine, &src, &seq)) {
        r->create_t = ms_engine_now(m->engine);
        r->create_src = src;
        r->create_seq = seq;
    } else {
        r->create_t = -1;
        r->create_src = MS_HOST_WORLD;
        r->create_seq = 0;
    }
    if (m->messages->len > 0 && r->create_t == m->last_create_t && src == m->last_create_src &&
        r->create_seq == m->last_create_seq)
        r->create_idx = ++m->last_create_idx;
    else
        r->create_idx = m->last_create_idx = 0;
    m->last_create_t = r->create_t;
    m->last_create_src = r->create_src;
    m->last_create_seq = r->create_seq;
    g_array_append_val(m->messages, *r);
    ms__mail_index(m, r->id);
    return r->id;
}

guint32
ms__mail_new_record(MsMail *m, const char *label, const char *from, const char *const *rcpts,
                    const char *subject, MsHostId origin, guint32 parent)
{
    MsMessageRecord r = { 0 };
    r.label = ms__mail_text(m, label);
    r.from = ms__mail_text(m, from);
    r.subject = ms__mail_text(m, subject ? subject : "");
    r.created_at = ms_engine_now(m->engine);
    r.parent = parent;
    r.is_dsn = parent != 0;
    r.origin = origin;
    r.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(r.rcpts, ms__rcpt_clear);
    for (const char *const *p = rcpts; p && *p; p++) {
        MsRcptRecord rr = { 0 };
        rr.address = ms__mail_text(m, *p);
        rr.state = MS_RCPT_WITH_CLIENT;
        rr.where = origin;
        rr.updated_at = -1;
        g_array_append_val(r.rcpts, rr);
    }
    /* Numbered per origin host, so that no part of a partitioned run needs
     * another's counter and the bytes on the wire do not depend on the split. */
    if (origin >= m->n_origin_count) {
        guint n = MAX(origin + 1, MAX(ms_net_n_hosts(m->net), m->n_origin_count * 2));
        m->origin_count = g_renew(guint32, m->origin_count, n);
        memset(m->origin_count + m->n_origin_count, 0, (n - m->n_origin_count) * sizeof(guint32));
        m->n_origin_count = n;
    }
    r.origin_n = ++m->origin_count[origin];
    g_autofree char *mid = g_strdup_printf("<%s.%u@%s>", label, r.origin_n, ms_net_host_name(m->net, origin));
    r.message_id = ms__mail_text(m, mid);
    return add_record(m, &r);
}

/* Message-IDs are "<label.N@origin-hostname>", N counted per origin: an
 * index per origin host finds a record from (origin, N) with one array
 * access, after a lookup of the host name (a table of hosts, small next to
 * one of messages). */
void
ms__mail_index(MsMail *m, guint32 id)
{
    const MsMessageRecord *r = ms__mail_record(m, id);
    if (!r || r->origin_n == 0 || r->origin >= ms_net_n_hosts(m->net))
        return;
    if (m->by_origin->len <= r->origin)
        g_ptr_array_set_size(m->by_origin, (gint) r->origin + 1);
    GArray *ids = g_ptr_array_index(m->by_origin, r->origin);
    if (!ids) {
        ids = g_array_new(FALSE, TRUE, sizeof(guint32));
        m->by_origin->pdata[r->origin] = ids;
    }
    if (ids->len < r->origin_n)
        g_array_set_size(ids, r->origin_n);
    g_array_index(ids, guint32, r->origin_n - 1) = id;
}

void
ms__mail_index_clear(MsMail *m)
{
    g_ptr_array_set_size(m->by_origin, 0);
}

/* (origin, N) of a Message-ID of ours, "<label.N@host>"; FALSE if it is not
 * shaped so or names no host. label_end: where the label ends (the dot). */
static gboolean
parse_mid(MsMail *m, const char *mid, MsHostId *origin, guint32 *num, const char **label_end)
{
    const char *at = strrchr(mid, '@');
    if (mid[0] != '<' || !at || at == mid)
        return FALSE;
    const char *dot = at;
    while (dot > mid && g_ascii_isdigit(dot[-1]))
        dot--;
    if (dot == at || dot - 1 <= mid || dot[-1] != '.' || at - dot > 9)
        return FALSE;
    guint32 n = 0;
    for (const char *q = dot; q < at; q++)
        n = n * 10 + (guint32) (*q - '0');
    gsize hl = strcspn(at + 1, ">");
    if (at[1 + hl] != '>' || at[2 + hl] != '\0')
        return FALSE;
    char host[256];
    if (hl == 0 || hl >= sizeof host)
        return FALSE;
    memcpy(host, at + 1, hl);
    host[hl] = '\0';
    MsHostId h = ms_net_host_by_name(m->net, host);
    if (h == G_MAXUINT32 || n == 0)
        return FALSE;
    *origin = h;
    *num = n;
    *label_end = dot - 1;
    return TRUE;
}

guint32
ms__mail_lookup_mid(MsMail *m, const char *mid)
{
    MsHostId origin;
    guint32 num;
    const char *label_end;
    if (!parse_mid(m, mid, &origin, &num, &label_end) || origin >= m->by_origin->len)
        return 0;
    GArray *ids = g_ptr_array_index(m->by_origin, origin);
    if (!ids || num > ids->len)
        return 0;
    guint32 id = g_array_index(ids, guint32, num - 1);
    const MsMessageRecord *r = ms__mail_record(m, id);
    return r && strcmp(r->message_id, mid) == 0 ? id : 0;
}

/* A partitioned run meets a message another part created: a shadow record
 * with what the message itself says (label and number from "<label.N@host>",
 * the Subject: header); recipients are added as they are met. */
static guint32
add_shadow(MsMail *m, const char *mid, const char *d, gsize n)
{
    MsHostId origin;
    guint32 num;
    const char *label_end;
    if (!parse_mid(m, mid, &origin, &num, &label_end))
        return 0;
    MsMessageRecord r = { 0 };
    r.shadow = TRUE;
    g_autofree char *label = g_strndup(mid + 1, (gsize) (label_end - mid - 1));
    r.label = ms__mail_text(m, label);
    r.origin_n = num;
    r.origin = origin;
    r.is_dsn = g_str_has_prefix(r.label, "dsn-");
    r.from = ms__mail_text(m, "");
    g_autofree char *subject = d ? ms__mail_header_value(d, n, "Subject") : NULL;
    r.subject = ms__mail_text(m, subject ? subject : "");
    r.message_id = ms__mail_text(m, mid);
    r.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(r.rcpts, ms__rcpt_clear);
    return add_record(m, &r);
}

/* Finds the Message-ID header of a message and maps it to our id. */
guint32
ms__mail_message_from_data(MsMail *m, GBytes *data)
{
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    g_autofree char *mid = ms__mail_header_value(d, n, "Message-ID");
    return mid ? ms__mail_message_by_mid(m, mid, d, n) : 0;
}

guint32
ms__mail_message_by_mid(MsMail *m, const char *mid, const char *data, gsize n)
{
    guint32 found = ms__mail_lookup_mid(m, mid);
    gpointer v;
    if (found) {
        MsMessageRecord *r = ms__mail_record(m, found);
        if (r->shadow && !*r->subject && data) {
            /* A shadow made from a packet's tag learns its subject here. */
            g_autofree char *subject = ms__mail_header_value(data, n, "Subject");
            if (subject)
                r->subject = ms__mail_text(m, subject);
        }
        return r->id;
    }
    /* Not one of ours: a real client's Message-ID (the bridge maps those). */
    v = g_hash_table_lookup(m->by_message_id, mid);
    if (v)
        return GPOINTER_TO_UINT(v);
    return m->partitioned ? add_shadow(m, mid, data, n) : 0;
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

void
ms__mail_bounce(MsMail *m, Server *s, guint32 message, const char *from, const char *rcpt,
                const char *status, const char *diagnostic, GBytes *original)
{
    MsTime now = ms_engine_now(m->engine);
    MsRcptRecord *rr = ms__mail_rcpt(m, message, rcpt);
    if (rr && rr->state != MS_RCPT_DELIVERED && rr->state != MS_RCPT_BOUNCED) {
        rr->state = MS_RCPT_BOUNCED;
        ms__rcpt_touch(m, rr);
        rr->done_at = now;
        rr->where = s->host;
        g_strlcpy(rr->status, status, sizeof rr->status);
        g_free(rr->detail);
        rr->detail = g_strdup(diagnostic);
    }
    if (!from || !*from) {
        /* RFC 5321 4.5.5 / 6.1: never bounce a bounce. */
        ms__mail_note(m, s->host, MS_HOST_WORLD, message,
                      "%s gives up on %s (%s) and sends no bounce: the sender is empty, this was a bounce itself",
                      s->hostname, rcpt, status);
        return;
    }
    ms__mail_note(m, s->host, MS_HOST_WORLD, message, "%s gives up on %s (%s %s) and bounces it to %s",
                  s->hostname, rcpt, status, diagnostic, from);
    g_autofree char *label = g_strdup_printf("dsn-%u", ++s->n_dsn);
    const char *rcpts[] = { from, NULL };
    guint32 id = ms__mail_new_record(m, label, "", rcpts, "Undelivered Mail Returned to Sender", s->host, message);
    MsMessageRecord *rec = ms__mail_record(m, id);
    MsRcptRecord *dr = &g_array_index(rec->rcpts, MsRcptRecord, 0);
    dr->state = MS_RCPT_QUEUED;
    ms__rcpt_touch(m, dr);
    dr->where = s->host;
    char date[MS_MAIL_DATE_SIZE];
    ms__mail_date(now, date);
    /* Numbers that do not depend on how a run is partitioned. */
    const MsMessageRecord *orig = ms__mail_record(m, message);
    g_autofree char *boundary = g_strdup_printf("%u.%u/%s", rec->origin_n, orig ? orig->origin_n : 0, s->hostname);
    /* The original's header section, for text/rfc822-headers (RFC 3462). */
    gsize n;
    const char *od = original ? g_bytes_get_data(original, &n) : "";
    if (!original)
        n = 0;
    const char *hend = g_strstr_len(od, (gssize) n, "\r\n\r\n");
    gsize hlen = hend ? (gsize) (hend - od) + 2 : n;
    GString *b = g_string_new(NULL);
    g_string_append_printf(b, "From: MAILER-DAEMON@%s\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
                              "Date: %s\r\nMessage-ID: %s\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n",
                           s->hostname, from, date, rec->message_id, boundary);
    g_string_append_printf(b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                              "This is the mail system at host %s.\r\n\r\n"
                              "Your message could not be delivered to one or more recipients.\r\n\r\n"
                              "<%s>: %s\r\n\r\n",
                           boundary, s->hostname, rcpt, diagnostic);
    g_string_append_printf(b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
                              "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n\r\n"
                              "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n"
                              "Diagnostic-Code: smtp; %s\r\n\r\n",
                           boundary, s->hostname, date, rcpt, status, diagnostic);
    g_string_append_printf(b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
    g_string_append_len(b, od, (gssize) hlen);
    g_string_append_printf(b, "\r\n--%s--\r\n", boundary);
    gsize len = b->len;
    g_autoptr(GBytes) data = g_bytes_new_take(g_string_free(b, FALSE), len);
    ms__server_accept(m, s, id, "", rcpts, 1, data);
}

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

const char *
ms_rcpt_state_to_string(MsRcptState s)
{
    static const char *const names[] = { "with-client", "refused", "queued", "delivered", "bounced" };
    return (guint) s < G_N_ELEMENTS(names) ? names[s] : "?";
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

guint32
ms_mail_inject(MsMail *m, guint server, const char *from, const char *const *rcpts, GBytes *data,
               const MsMailInjectInfo *info, char **queue_id)
{
    g_return_val_if_fail(server < m->servers->len, 0);
    g_return_val_if_fail(from && rcpts && rcpts[0] && data, 0);
    Server *s = g_ptr_array_index(m->servers, server);
    MsMailInjectInfo none = { 0 };
    if (!info)
        info = &none;
    g_autofree char *label = g_strdup_printf("%s-%u", info->label_prefix ? info->label_prefix : "bridge",
                                             m->messages->len + 1);
    gsize n_data;
    const char *d = g_bytes_get_data(data, &n_data);
    g_autofree char *subject = ms__mail_header_value(d, n_data, "Subject");
    guint32 id = ms__mail_new_record(m, label, from, rcpts, subject, s->host, 0);
    MsMessageRecord *rec = ms__mail_record(m, id);
    for (guint i = 0; i < rec->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(rec->rcpts, MsRcptRecord, i);
        rr->state = MS_RCPT_QUEUED;
        ms__rcpt_touch(m, rr);
        rr->where = s->host;
    }
    /* Later hops find the record by the Message-ID header (see
     * ms__mail_message_from_data): map the client's, or add ours. A
     * Message-ID seen before is mapped to the newest message. */
    g_autofree char *mid = ms__mail_header_value(d, n_data, "Message-ID");
    g_autoptr(GBytes) body = NULL;
    if (mid && *mid) {
        g_hash_table_replace(m->by_message_id, g_strdup(mid), GUINT_TO_POINTER(id));
        body = g_bytes_ref(data);
    } else {
        g_autofree char *h = g_strdup_printf("Message-ID: %s\r\n", rec->message_id);
        body = ms__prepend_header(data, h);
    }
    guint n = 0;
    while (rcpts[n])
        n++;
    g_autofree char *qid = g_strdup_printf("%X%04X", s->host, ++s->next_qid);
    char date[MS_MAIL_DATE_SIZE];
    ms__mail_date(ms_engine_now(m->engine), date);
    const char *with = info->authenticated ? "ESMTPA" : (info->esmtp ? "ESMTP" : "SMTP");   /* RFC 3848 */
    g_autofree char *hdr = g_strdup_printf("Received: from %s ([%s])\r\n\tby %s (mailsim bridge) with %s id %s\r\n"
                                           "\tfor <%s>; %s\r\n",
                                           info->helo ? info->helo : "unknown", info->peer ? info->peer : "unknown",
                                           s->hostname, with, qid, rcpts[0], date);
    g_autoptr(GBytes) stamped = ms__prepend_header(body, hdr);
    ms__mail_note(m, s->host, MS_HOST_WORLD, id,
                  "%s accepts a message from a real client at %s, over the bridge, for %u recipient%s (queue id %s)",
                  s->hostname, info->peer ? info->peer : "?", n, n == 1 ? "" : "s", qid);
    ms__server_accept(m, s, id, from, rcpts, n, stamped);
    if (queue_id)
        *queue_id = g_steal_pointer(&qid);
    return id;
}

gboolean
ms_mail_message_settled(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(id >= 1 && id <= m->messages->len, FALSE);
    const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, id - 1);
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptState st = g_array_index(r->rcpts, MsRcptRecord, i).state;
        if (st != MS_RCPT_DELIVERED && st != MS_RCPT_BOUNCED)
            return FALSE;
    }
    return TRUE;
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

guint32
ms_mail_bounce_external(MsMail *m, guint server, const char *from, const char *rcpt, const char *status,
                        const char *diagnostic, GBytes *original)
{
    g_return_val_if_fail(server < m->servers->len && rcpt && status && diagnostic, 0);
    guint before = m->messages->len;
    ms__mail_bounce(m, g_ptr_array_index(m->servers, server), 0, from, rcpt, status, diagnostic, original);
    return m->messages->len > before ? m->messages->len : 0;
}
