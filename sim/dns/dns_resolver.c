/* The resolver of a simulated host (see include/mailsim/dns_resolver.h).
 *
 * Each lookup is a record in an array; its state is the server it is asking
 * now, the zone that server was asked as (the closest enclosing zone cut
 * known), the attempt count and a timer. Iterative lookups follow referrals
 * using the glue addresses a referral carries; a referral without glue ends
 * the lookup with SERVFAIL (a world generator always provides glue). At
 * most 10 referrals per lookup.
 *
 * Spoofing resistance (RFC 5452): every query, a retry included, goes out
 * with a new random DNS id (RFC 5452 4.3, 9.2) from a new UDP socket on a
 * random port (RFC 5452 9.2, RFC 6056 3.3.1; sim/net/ports.c), both drawn
 * from the host's random stream; an answer is taken only if it comes to
 * that port with that id, from the server asked, for the question asked
 * (RFC 5452 3). The socket is closed when the try ends, so a late answer to
 * an earlier try finds no listener.
 *
 * Cache: (lower-cased name, type) -> records, expiry and rank, including
 * negative entries with the SOA minimum as TTL (RFC 2308 5). Referrals are
 * cached too (RFC 1034 5.3.3 step 2 starts from "the nearest ancestor zone
 * with a known server"): the NS set under (zone cut, NS) and each server's
 * glue under (server name, A), each with its own TTL. An iterative lookup
 * then starts at the deepest zone cut whose NS set and at least one
 * server address are still alive, and at the root only when none is: the
 * second lookup under a known TLD skips the root. Ranking (RFC 2181
 * 5.4.1): referral data ranks lowest and never replaces a live entry of a
 * higher rank (an authoritative answer), and is never given out as an
 * answer, only used to choose a server.
 *
 * Expired entries are dropped in sweeps, each after as many new entries
 * as the cache held after the last one (amortised O(1) per entry): a
 * dead entry answers nothing (every read checks its expiry, and time only
 * moves on), so a sweep changes no behaviour, and the cache holds what
 * was looked up within a TTL, not every name ever asked (a mail server of
 * a large world asks for thousands of domains a day).
 *
 * Timeouts: 2 s per try, 3 tries per server (glibc's resolver defaults are
 * 5 s and 2 tries; we keep waits short so teaching runs stay brisk; named
 * here so a scenario can change them later).
 *
 * Completion is always reported from an engine event, so a caller never sees
 * its callback run inside ms_resolver_lookup(). */
#include "mailsim/dns_resolver.h"
#include "mailsim/dns_server.h"

#include <string.h>

#define TRY_TIMEOUT   (2 * MS_TIME_S)
#define TRIES         3
#define MAX_REFERRALS 10
/* Entries added before the first sweep of expired ones (and at least
 * between two). */
#define CACHE_SWEEP_MIN 16

/* RFC 2181 5.4.1's ranking, in the three grades a stub or iterative
 * resolver meets (higher is more trustworthy). */
typedef enum {
    RANK_REFERRAL = 1, /* a referral's NS set (authority section, AA clear) and glue */
    RANK_ANSWER,       /* the answer section of a non-authoritative answer */
    RANK_AUTH_ANSWER,  /* an authoritative answer, or an authoritative "no" */
} Rank;

typedef struct {
    gboolean used;
    char *name;
    guint16 type;
    guint32 message;
    MsResolveFunc func;
    gpointer user_data;
    guint16 dns_id;
    guint16 port;   /* the socket of the try in flight; 0: none */
    guint32 server; /* the server asked */
    char *zone;     /* ... as a server of this zone ("": the root) */
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
    Rank rank;
    GPtrArray *records, *additional;
} CacheEntry;

struct _MsResolver {
    MsNet *net;
    MsEngine *engine;
    MsHostId host;
    guint32 server;
    gboolean iterative;
    GArray *lookups;   /* Lookup */
    GHashTable *cache; /* "name/type" -> CacheEntry*; looked up, and iterated only to drop dead
                        * entries (which order cannot change) */
    guint puts_to_sweep; /* entries to add before the next sweep of expired ones */
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

static GPtrArray *
records_copy(const GPtrArray *from)
{
    GPtrArray *a = records_new();
    for (guint i = 0; from && i < from->len; i++)
        g_ptr_array_add(a, ms_dns_record_copy(g_ptr_array_index(from, i)));
    return a;
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
    r->puts_to_sweep = CACHE_SWEEP_MIN;
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
    g_free(l->zone);
    g_clear_pointer(&l->records, g_ptr_array_unref);
    g_clear_pointer(&l->additional, g_ptr_array_unref);
    memset(l, 0, sizeof *l);
}

/* Frees the resolver without touching the network, which may be gone
 * already: sockets of lookups still in flight are left bound. */
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
    s->cache_entries = g_hash_table_size(r->cache);
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
    gsize n = strlen(lower);
    if (n > 0 && lower[n - 1] == '.')
        lower[n - 1] = '\0';
    return g_strdup_printf("%s/%u", lower, type);
}

/* The live entry for (name, type) of at least `rank`, or NULL. */
static CacheEntry *
cache_get(MsResolver *r, const char *name, guint16 type, Rank rank)
{
    g_autofree char *key = cache_key(name, type);
    CacheEntry *c = g_hash_table_lookup(r->cache, key);
    if (!c || c->expires <= ms_engine_now(r->engine) || c->rank < rank)
        return NULL;
    return c;
}

static gboolean
cache_entry_dead(gpointer key, gpointer value, gpointer now)
{
    (void) key;
    return ((const CacheEntry *) value)->expires <= *(const MsTime *) now;
}

/* Caches copies of the records for `ttl` seconds, unless a live entry of a
 * higher rank holds (name, type) (RFC 2181 5.4.1: additional information
 * never replaces an authoritative answer). */
static void
cache_put(MsResolver *r, const char *name, guint16 type, MsResolveStatus status, Rank rank,
          const GPtrArray *records, const GPtrArray *additional, guint32 ttl)
{
    if (--r->puts_to_sweep == 0) {
        MsTime now = ms_engine_now(r->engine);
        g_hash_table_foreach_remove(r->cache, cache_entry_dead, &now);
        r->puts_to_sweep = MAX(g_hash_table_size(r->cache), CACHE_SWEEP_MIN);
    }
    g_autofree char *key = cache_key(name, type);
    CacheEntry *old = g_hash_table_lookup(r->cache, key);
    if (old && old->expires > ms_engine_now(r->engine) && old->rank > rank)
        return;
    CacheEntry *c = g_new0(CacheEntry, 1);
    c->expires = ms_engine_now(r->engine) + (MsTime) ttl * MS_TIME_S;
    c->status = status;
    c->rank = rank;
    c->records = records_copy(records);
    c->additional = records_copy(additional);
    g_hash_table_replace(r->cache, g_steal_pointer(&key), c);
}

MsTime
ms_resolver_cached_until(MsResolver *r, const char *name, guint16 type)
{
    g_autofree char *key = cache_key(name, type);
    CacheEntry *c = g_hash_table_lookup(r->cache, key);
    return c && c->expires > ms_engine_now(r->engine) ? c->expires : 0;
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

/* Closes the socket of the try in flight, if any. */
static void
close_socket(MsResolver *r, Lookup *l)
{
    if (l->port)
        ms_udp_unbind(r->net, r->host, l->port);
    l->port = 0;
}

static void
finish(MsResolver *r, guint idx, MsResolveStatus status, GPtrArray *records, GPtrArray *additional)
{
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    if (l->timer)
        ms_engine_cancel(r->engine, l->timer);
    l->timer = 0;
    close_socket(r, l);
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
    /* RFC 5452 9.2: a random id and a random source port for every query. */
    close_socket(r, l);
    l->dns_id = (guint16) ms_rng_below(ms_engine_host_rng(r->engine, r->host), 65536);
    l->port = ms_net_ephemeral_port(r->net, r->host);
    if (!l->port || !ms_udp_bind(r->net, r->host, l->port, on_response, r)) {
        l->port = 0;
        finish(r, idx, MS_RESOLVE_SERVFAIL, NULL, NULL); /* no port left: EAGAIN */
        return;
    }
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(l->dns_id, l->name, l->type, !r->iterative);
    g_autoptr(GBytes) b = ms_dns_message_encode(q);
    r->stats.queries_sent++;
    trace_line(r, l->server, TRUE, l->message, "query %s %s?%s", ms_dns_type_to_string(l->type),
               l->name, l->tries > 0 ? " (again)" : "");
    ms_udp_send(r->net, r->host, l->port, l->server, MS_DNS_PORT, b);
    MsEventData d = { { 0 } };
    d.ptr[0] = r;
    d.u32[2] = idx;
    d.u32[3] = l->dns_id;
    l->timer = ms_engine_schedule_in(r->engine, TRY_TIMEOUT, r->host, r->ev_timeout, d);
}

/* The address of a live server of the cached NS set `ns`, or 0: the first
 * NS whose address is cached (any rank: glue serves to choose a server). */
static guint32
cached_server(MsResolver *r, const CacheEntry *ns, const char **target)
{
    for (guint i = 0; i < ns->records->len; i++) {
        const MsDnsRecord *rec = g_ptr_array_index(ns->records, i);
        CacheEntry *a = cache_get(r, rec->rdata.target, MS_DNS_TYPE_A, RANK_REFERRAL);
        if (a && a->status == MS_RESOLVE_OK && a->records->len > 0) {
            *target = rec->rdata.target;
            return ((const MsDnsRecord *) g_ptr_array_index(a->records, 0))->rdata.a;
        }
    }
    return 0;
}

/* RFC 1034 5.3.3 step 2: start at the deepest ancestor of the name (or the
 * name itself) whose servers are known and alive in the cache; the root
 * when none is. */
static void
start_iterative(MsResolver *r, Lookup *l)
{
    l->server = r->server;
    l->zone = g_strdup("");
    for (const char *p = l->name; *p;) {
        CacheEntry *ns = cache_get(r, p, MS_DNS_TYPE_NS, RANK_REFERRAL);
        const char *target = NULL;
        guint32 addr = ns ? cached_server(r, ns, &target) : 0;
        if (addr) {
            r->stats.delegation_hits++;
            trace_line(r, 0, FALSE, l->message,
                       "servers for %s known from the cache: ask %s, not the root", p, target);
            l->server = addr;
            g_free(l->zone);
            l->zone = g_strdup(p);
            return;
        }
        const char *dot = strchr(p, '.');
        p = dot ? dot + 1 : p + strlen(p);
    }
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
    /* Referral data never answers a query (RFC 2181 5.4.1). */
    CacheEntry *c = cache_get(r, name, type, RANK_ANSWER);
    if (c) {
        r->stats.cache_hits++;
        l->from_cache = TRUE;
        trace_line(r, 0, FALSE, message, "%s %s found in the cache (%s)",
                   ms_dns_type_to_string(type), name, ms_resolve_status_to_string(c->status));
        finish(r, idx, c->status, records_copy(c->records), records_copy(c->additional));
        return;
    }
    if (r->iterative) {
        start_iterative(r, l);
    } else {
        l->server = r->server;
        l->zone = g_strdup("");
    }
    send_query(r, idx);
}

static guint
find_lookup(MsResolver *r, guint16 port, guint16 dns_id, guint32 server)
{
    for (guint i = 0; i < r->lookups->len; i++) {
        Lookup *l = &g_array_index(r->lookups, Lookup, i);
        if (l->used && l->timer && l->port == port && l->dns_id == dns_id && l->server == server)
            return i;
    }
    return G_MAXUINT;
}

/* Follows a referral (RFC 1034 5.3.3 step 4b): caches its NS set and glue
 * (RFC 1034 5.3.3, "cache the delegation information"), and asks a server
 * of the delegated zone. FALSE when it is no usable referral: no NS set for
 * a zone below the one asked that holds the name, or no address for any of
 * its servers. */
static gboolean
follow_referral(MsResolver *r, guint idx, const MsDnsMessage *m, guint32 src_addr)
{
    Lookup *l = &g_array_index(r->lookups, Lookup, idx);
    const char *cut = NULL;
    g_autoptr(GPtrArray) ns = records_new();
    guint32 ns_ttl = G_MAXUINT32;
    for (guint i = 0; i < m->authority->len; i++) {
        const MsDnsRecord *rec = g_ptr_array_index(m->authority, i);
        if (rec->type != MS_DNS_TYPE_NS || (cut && !ms_dns_name_equal(rec->name, cut)))
            continue;
        cut = rec->name;
        g_ptr_array_add(ns, ms_dns_record_copy(rec));
        ns_ttl = MIN(ns_ttl, rec->ttl);
    }
    /* Only downwards, towards the name: anything else would loop. */
    if (!cut || !ms_dns_name_in_zone(l->name, cut) || !ms_dns_name_in_zone(cut, l->zone) ||
        ms_dns_name_equal(cut, l->zone) || l->referrals >= MAX_REFERRALS)
        return FALSE;
    cache_put(r, cut, MS_DNS_TYPE_NS, MS_RESOLVE_OK, RANK_REFERRAL, ns, NULL, ns_ttl);
    guint32 addr = 0;
    const char *target = NULL;
    for (guint i = 0; i < ns->len; i++) {
        const MsDnsRecord *rec = g_ptr_array_index(ns, i);
        g_autoptr(GPtrArray) glue = records_new();
        guint32 ttl = G_MAXUINT32;
        for (guint k = 0; k < m->additional->len; k++) {
            const MsDnsRecord *a = g_ptr_array_index(m->additional, k);
            if (a->type == MS_DNS_TYPE_A && ms_dns_name_equal(a->name, rec->rdata.target)) {
                g_ptr_array_add(glue, ms_dns_record_copy(a));
                ttl = MIN(ttl, a->ttl);
            }
        }
        if (glue->len > 0)
            cache_put(r, rec->rdata.target, MS_DNS_TYPE_A, MS_RESOLVE_OK, RANK_REFERRAL, glue, NULL,
                      ttl);
        if (addr)
            continue;
        /* The best address known: a cached authoritative one outranks the
         * glue just received; the glue serves when it could not be cached
         * (TTL 0). */
        CacheEntry *c = cache_get(r, rec->rdata.target, MS_DNS_TYPE_A, RANK_REFERRAL);
        if (c && c->status == MS_RESOLVE_OK && c->records->len > 0)
            addr = ((const MsDnsRecord *) g_ptr_array_index(c->records, 0))->rdata.a;
        else if (glue->len > 0)
            addr = ((const MsDnsRecord *) g_ptr_array_index(glue, 0))->rdata.a;
        if (addr)
            target = rec->rdata.target;
    }
    if (!addr)
        return FALSE;
    trace_line(r, src_addr, FALSE, l->message, "referral: ask %s (servers for %s)", target,
               cut[0] ? cut : ".");
    l->referrals++;
    l->tries = 0;
    l->server = addr;
    g_free(l->zone);
    l->zone = g_strdup(cut);
    send_query(r, idx);
    return TRUE;
}

static void
on_response(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
            GBytes *payload, gpointer user_data)
{
    MsResolver *r = user_data;
    (void) net;
    (void) host;
    (void) src_port;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);
    g_autoptr(MsDnsMessage) m = ms_dns_message_decode(data, len, NULL);
    if (!m || !m->qr)
        return;
    guint idx = find_lookup(r, port, m->id, src_addr);
    if (idx == G_MAXUINT)
        return; /* not the answer to the query in flight on this port */
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
        cache_put(r, l->name, l->type, MS_RESOLVE_OK, m->aa ? RANK_AUTH_ANSWER : RANK_ANSWER, recs,
                  add, ttl);
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
            cache_put(r, l->name, l->type, st, m->aa ? RANK_AUTH_ANSWER : RANK_ANSWER, recs, add,
                      neg);
        finish(r, idx, st, recs, add);
        return;
    }
    if (m->rcode == MS_DNS_RCODE_NOERROR && r->iterative && follow_referral(r, idx, m, src_addr)) {
        g_ptr_array_unref(recs);
        g_ptr_array_unref(add);
        return;
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
    g_free(l.zone);
    g_ptr_array_unref(l.records);
    g_ptr_array_unref(l.additional);
}
