/* The resolver of a simulated host (see include/mailsim/dns_resolver.h).
 *
 * Each lookup is a record in an array; its state is the server it is asking
 * now, the attempt count and a timer. One UDP port per resolver; responses
 * are matched by DNS id (and the asking server's address). Iterative
 * lookups follow referrals using the glue addresses a referral carries; a
 * referral without glue ends the lookup with SERVFAIL (a world generator
 * always provides glue). At most 10 referrals per lookup.
 *
 * Cache: (lower-cased name, type) -> records and expiry, including negative
 * entries with the SOA minimum as TTL (RFC 2308 5). Timeouts: 2 s per try,
 * 3 tries per server (glibc's resolver defaults are 5 s and 2 tries; we
 * keep waits short so teaching runs stay brisk; named here so a scenario can
 * change them later).
 *
 * Completion is always reported from an engine event, so a caller never sees
 * its callback run inside ms_resolver_lookup(). */
#include "mailsim/dns_resolver.h"
#include "mailsim/dns_server.h"

#include <string.h>

#define TRY_TIMEOUT   (2 * MS_TIME_S)
#define TRIES         3
#define MAX_REFERRALS 10

typedef struct {
    gboolean used;
    char *name;
    guint16 type;
    guint32 message;
    MsResolveFunc func;
    gpointer user_data;
    guint16 dns_id;
    guint32 server;
    guint tries, referrals;
    MsEventId timer;
    /* result, when done */
    MsResolveStatus status;
    GPtrArray *records, *additional;
    gboolean from_cache;
} Lookup;

typedef struct {
    MsTime expires;
    MsResolveStatus status;
    GPtrArray *records, *additional;
} CacheEntry;

struct _MsResolver {
    MsNet *net;
    MsEngine *engine;
    MsHostId host;
    guint32 server;
    gboolean iterative;
    guint16 port;
    guint16 next_id;
    GArray *lookups;   /* Lookup */
    GHashTable *cache; /* "name/type" -> CacheEntry* */
    guint16 ev_timeout, ev_done;
    MsResolverStats stats;
};

static void on_response(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
                        GBytes *payload, gpointer user_data);
static void on_timeout(MsEngine *e, const MsEvent *ev, gpointer user_data);
static void on_done(MsEngine *e, const MsEvent *ev, gpointer user_data);

static void
cache_entry_free(gpointer p)
{
    CacheEntry *c = p;
    g_ptr_array_unref(c->records);
    g_ptr_array_unref(c->additional);
    g_free(c);
}

static GPtrArray *
records_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_record_free);
}

MsResolver *
ms_resolver_new(MsNet *net, MsHostId host, guint32 server_addr, gboolean iterative)
{
    MsResolver *r = g_new0(MsResolver, 1);
    r->net = net;
    r->engine = ms_net_engine(net);
    r->host = host;
    r->server = server_addr;
    r->iterative = iterative;
    r->lookups = g_array_new(FALSE, TRUE, sizeof(Lookup));
    r->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cache_entry_free);
    r->next_id = (guint16) ms_rng_next(ms_engine_host_rng(r->engine, host));
    r->port = ms_net_ephemeral_port(net, host);
    ms_udp_bind(net, host, r->port, on_response, r);
    /* All resolvers of an engine share two event types; the events carry
     * the resolver (which lives as long as the world). */
    r->ev_timeout = ms_engine_register_shared(r->engine, "dns-timeout", on_timeout);
    r->ev_done = ms_engine_register_shared(r->engine, "dns-done", on_done);
    return r;
}

static void
lookup_clear(Lookup *l)
{
    g_free(l->name);
    g_clear_pointer(&l->records, g_ptr_array_unref);
    g_clear_pointer(&l->additional, g_ptr_array_unref);
    memset(l, 0, sizeof *l);
}

void
ms_resolver_free(MsResolver *r)
{
    if (!r)
        return;
    for (guint i = 0; i < r->lookups->len; i++) {
        Lookup *l = &g_array_index(r->lookups, Lookup, i);
        if (l->used)
            lookup_clear(l);
    }
    g_array_free(r->lookups, TRUE);
    g_hash_table_destroy(r->cache);
    g_free(r);
}

void
ms_resolver_get_stats(const MsResolver *r, MsResolverStats *s)
{
    *s = r->stats;
}

const char *
ms_resolve_status_to_string(MsResolveStatus s)
{
    static const char *const names[] = { "ok", "NXDOMAIN", "no data", "timeout", "SERVFAIL" };
    return (guint) s < G_N_ELEMENTS(names) ? names[s] : "?";
}

static char *
cache_key(const char *name, guint16 type)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    return g_strdup_printf("%s/%u", lower, type);
}

/* A "dns" protocol line of this resolver; ms_trace_emitv formats the text
 * only when a sink listens (most runs have none). */
static void trace_line(MsResolver *r, guint32 peer_addr, gboolean outgoing, guint32 message,
                       const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static void
trace_line(MsResolver *r, guint32 peer_addr, gboolean outgoing, guint32 message, const char *fmt,
           ...)
{
    MsTraceRecord rec = { .at = ms_engine_now(r->engine),
                          .kind = MS_TRACE_PROTO_LINE,
                          .host = r->host,
                          .peer = ms_net_host_by_addr(r->net, peer_addr),
                          .message = message,
                          .proto = "dns",
                          .outgoing = outgoing };
    va_list ap;
    va_start(ap, fmt);
    ms_trace_emitv(ms_net_trace(r->net), &rec, fmt, ap);
    va_end(ap);
}

static guint
lookup_alloc(MsResolver *r)
{
    for (guint i = 0; i < r->lookups->len; i++)
        if (!g_array_index(r->lookups, Lookup, i).used)
            return i;
    g_array_set_size(r->lookups, r->lookups->len + 1);
    return r->lookups->len - 1;
}

static void
finish(MsResolver *r, guint idx, MsResolveStatus status, GPtrArray *records, GPtrArray *additional)
{
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    if (l->timer)
        ms_engine_cancel(r->engine, l->timer);
    l->timer = 0;
    l->status = status;
    l->records = records ? records : records_new();
    l->additional = additional ? additional : records_new();
    MsEventData d = { { 0 } };
    d.ptr[0] = r;
    d.u32[2] = idx;
    ms_engine_schedule_in(r->engine, 0, r->host, r->ev_done, d);
}

static void
send_query(MsResolver *r, guint idx)
{
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    l->dns_id = r->next_id++;
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(l->dns_id, l->name, l->type, !r->iterative);
    g_autoptr(GBytes) b = ms_dns_message_encode(q);
    r->stats.queries_sent++;
    trace_line(r, l->server, TRUE, l->message, "query %s %s?%s", ms_dns_type_to_string(l->type),
               l->name, l->tries > 0 ? " (again)" : "");
    ms_udp_send(r->net, r->host, r->port, l->server, MS_DNS_PORT, b);
    MsEventData d = { { 0 } };
    d.ptr[0] = r;
    d.u32[2] = idx;
    d.u32[3] = l->dns_id;
    l->timer = ms_engine_schedule_in(r->engine, TRY_TIMEOUT, r->host, r->ev_timeout, d);
}

void
ms_resolver_lookup(MsResolver *r, const char *name, guint16 type, guint32 message,
                   MsResolveFunc func, gpointer user_data)
{
    r->stats.lookups++;
    guint idx = lookup_alloc(r);
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    l->used = TRUE;
    l->name = g_strdup(name);
    l->type = type;
    l->message = message;
    l->func = func;
    l->user_data = user_data;
    l->server = r->server;
    g_autofree char *key = cache_key(name, type);
    CacheEntry *c = g_hash_table_lookup(r->cache, key);
    if (c && c->expires > ms_engine_now(r->engine)) {
        r->stats.cache_hits++;
        l->from_cache = TRUE;
        trace_line(r, 0, FALSE, message, "%s %s found in the cache (%s)",
                   ms_dns_type_to_string(type), name, ms_resolve_status_to_string(c->status));
        GPtrArray *recs = records_new(), *add = records_new();
        for (guint i = 0; i < c->records->len; i++)
            g_ptr_array_add(recs, ms_dns_record_copy(g_ptr_array_index(c->records, i)));
        for (guint i = 0; i < c->additional->len; i++)
            g_ptr_array_add(add, ms_dns_record_copy(g_ptr_array_index(c->additional, i)));
        finish(r, idx, c->status, recs, add);
        return;
    }
    send_query(r, idx);
}

static void
cache_store(MsResolver *r, const Lookup *l, MsResolveStatus status, GPtrArray *records,
            GPtrArray *additional, guint32 ttl)
{
    CacheEntry *c = g_new0(CacheEntry, 1);
    c->expires = ms_engine_now(r->engine) + (MsTime) ttl * MS_TIME_S;
    c->status = status;
    c->records = records_new();
    c->additional = records_new();
    for (guint i = 0; i < records->len; i++)
        g_ptr_array_add(c->records, ms_dns_record_copy(g_ptr_array_index(records, i)));
    for (guint i = 0; i < additional->len; i++)
        g_ptr_array_add(c->additional, ms_dns_record_copy(g_ptr_array_index(additional, i)));
    g_hash_table_replace(r->cache, cache_key(l->name, l->type), c);
}

static guint
find_lookup(MsResolver *r, guint16 dns_id, guint32 server)
{
    for (guint i = 0; i < r->lookups->len; i++) {
        Lookup *l = &g_array_index(r->lookups, Lookup, i);
        if (l->used && l->timer && l->dns_id == dns_id && l->server == server)
            return i;
    }
    return G_MAXUINT;
}

static void
on_response(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
            GBytes *payload, gpointer user_data)
{
    MsResolver *r = user_data;
    (void) net;
    (void) host;
    (void) port;
    (void) src_port;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);
    g_autoptr(MsDnsMessage) m = ms_dns_message_decode(data, len, NULL);
    if (!m || !m->qr)
        return;
    guint idx = find_lookup(r, m->id, src_addr);
    if (idx == G_MAXUINT)
        return; /* late answer to a query we gave up on, or not ours */
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    if (!m->has_question || !ms_dns_name_equal(m->qname, l->name) || m->qtype != l->type)
        return;
    ms_engine_cancel(r->engine, l->timer);
    l->timer = 0;
    GPtrArray *recs = records_new(), *add = records_new();
    guint32 ttl = G_MAXUINT32;
    for (guint i = 0; i < m->answer->len; i++) {
        MsDnsRecord *rec = g_ptr_array_index(m->answer, i);
        if (rec->type == l->type && ms_dns_name_equal(rec->name, l->name)) {
            g_ptr_array_add(recs, ms_dns_record_copy(rec));
            ttl = MIN(ttl, rec->ttl);
        }
    }
    for (guint i = 0; i < m->additional->len; i++) {
        MsDnsRecord *rec = g_ptr_array_index(m->additional, i);
        if (rec->type == MS_DNS_TYPE_A)
            g_ptr_array_add(add, ms_dns_record_copy(rec));
    }
    if (recs->len > 0) {
        if (ms_trace_enabled(ms_net_trace(r->net))) {
            GString *s = g_string_new("answer:");
            for (guint i = 0; i < recs->len; i++) {
                MsDnsRecord *rec = g_ptr_array_index(recs, i);
                if (rec->type == MS_DNS_TYPE_MX)
                    g_string_append_printf(s, " MX %u %s", rec->rdata.mx.preference,
                                           rec->rdata.mx.exchange[0] ? rec->rdata.mx.exchange
                                                                     : ".");
                else if (rec->type == MS_DNS_TYPE_A) {
                    g_autofree char *a = ms_ipv4_to_string(rec->rdata.a);
                    g_string_append_printf(s, " A %s", a);
                } else
                    g_string_append_printf(s, " %s", ms_dns_type_to_string(rec->type));
            }
            trace_line(r, src_addr, FALSE, l->message, "%s", s->str);
            g_string_free(s, TRUE);
        }
        cache_store(r, l, MS_RESOLVE_OK, recs, add, ttl);
        finish(r, idx, MS_RESOLVE_OK, recs, add);
        return;
    }
    if (m->rcode == MS_DNS_RCODE_NXDOMAIN || (m->rcode == MS_DNS_RCODE_NOERROR && m->aa)) {
        MsResolveStatus st =
            m->rcode == MS_DNS_RCODE_NXDOMAIN ? MS_RESOLVE_NXDOMAIN : MS_RESOLVE_NODATA;
        guint32 neg = 0;
        if (!ms_dns_message_negative_ttl(m, &neg))
            neg = 0; /* no SOA: do not cache (RFC 2308 5) */
        trace_line(r, src_addr, FALSE, l->message, "answer: %s", ms_resolve_status_to_string(st));
        if (neg > 0)
            cache_store(r, l, st, recs, add, neg);
        finish(r, idx, st, recs, add);
        return;
    }
    if (m->rcode == MS_DNS_RCODE_NOERROR && r->iterative) {
        /* A referral: ask the first delegated server we have glue for. */
        for (guint i = 0; i < m->authority->len; i++) {
            MsDnsRecord *ns = g_ptr_array_index(m->authority, i);
            if (ns->type != MS_DNS_TYPE_NS)
                continue;
            for (guint k = 0; k < add->len; k++) {
                MsDnsRecord *a = g_ptr_array_index(add, k);
                if (ms_dns_name_equal(a->name, ns->rdata.target) && l->referrals < MAX_REFERRALS) {
                    trace_line(r, src_addr, FALSE, l->message, "referral: ask %s (servers for %s)",
                               ns->rdata.target, ns->name[0] ? ns->name : ".");
                    l->referrals++;
                    l->tries = 0;
                    l->server = a->rdata.a;
                    g_ptr_array_unref(recs);
                    g_ptr_array_unref(add);
                    send_query(r, idx);
                    return;
                }
            }
        }
    }
    trace_line(r, src_addr, FALSE, l->message, "answer: %s", ms_dns_rcode_to_string(m->rcode));
    finish(r, idx, MS_RESOLVE_SERVFAIL, recs, add);
}

static void
on_timeout(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsResolver *r = ev->data.ptr[0];
    (void) e;
    (void) user_data;
    guint idx = ev->data.u32[2];
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    if (!l->used || l->dns_id != ev->data.u32[3])
        return;
    l->timer = 0;
    if (++l->tries >= TRIES) {
        r->stats.timeouts++;
        trace_line(r, l->server, FALSE, l->message, "no answer: giving up");
        finish(r, idx, MS_RESOLVE_TIMEOUT, NULL, NULL);
        return;
    }
    send_query(r, idx);
}

static void
on_done(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsResolver *r = ev->data.ptr[0];
    (void) e;
    (void) user_data;
    guint idx = ev->data.u32[2];
    Lookup l = g_array_index(r->lookups, Lookup, idx);
    /* Free the slot before the callback, which may start new lookups. */
    memset(&g_array_index(r->lookups, Lookup, idx), 0, sizeof(Lookup));
    l.func(r, l.status, l.records, l.additional, l.from_cache, l.user_data);
    g_free(l.name);
    g_ptr_array_unref(l.records);
    g_ptr_array_unref(l.additional);
}
