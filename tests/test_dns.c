/* Tests of the DNS registries and the resolver on a small simulated world:
 * an iterative MX lookup through root, TLD and authoritative servers; the
 * second lookup served from the cache; NXDOMAIN (cached too); NODATA; a flat
 * registry with recursion desired; a registry that is down: timeout.
 * Referrals cached (RFC 1034 5.3.3): which servers each lookup asks, the
 * TTLs of the NS set and of the glue on both sides of their expiry, glue
 * ranked below authoritative data (RFC 2181 5.4.1). Spoofing resistance
 * (RFC 5452): a random id and source port per query, the same for the same
 * seed. */
#include "testlib.h"
#include "mailsim/dns_server.h"
#include "mailsim/dns_resolver.h"

typedef struct {
    MsEngine *engine;
    MsNet *net;
    MsHostId isp, root, tld, auth, router, auth2;
    MsDnsServer *s_root, *s_tld, *s_auth, *s_auth2;
    GString *asked; /* the servers the resolver asked, in order */
    GArray *udp;    /* guint32 (source port << 16 | DNS id) of each query sent */
} DnsWorld;

/* TTLs of the delegations (NS sets and their glue) in the world. */
typedef struct {
    guint32 com_ns, com_glue, corp_ns;
} Ttls;

static const Ttls default_ttls = { 172800, 172800, 172800 };

static const MsLinkParams lp = { 5 * MS_TIME_MS, 10000000, 1500, 0.0, 65536 };

static void
sink(const MsTraceRecord *r, gpointer ud)
{
    DnsWorld *w = ud;
    if (r->host != w->isp)
        return;
    if (r->kind == MS_TRACE_PROTO_LINE && r->outgoing && g_strcmp0(r->proto, "dns") == 0)
        g_string_append_printf(w->asked, "%s%s", w->asked->len ? " " : "",
                               ms_net_host_name(w->net, r->peer));
    if (r->kind == MS_TRACE_PACKET_SEND && r->packet->proto == MS_IPPROTO_UDP &&
        r->packet->src == w->isp) {
        gsize len;
        const guint8 *b = g_bytes_get_data(r->packet->payload, &len);
        guint32 v =
            (guint32) r->packet->sport << 16 | (len >= 2 ? (guint32) (b[0] << 8 | b[1]) : 0);
        g_array_append_val(w->udp, v);
    }
}

/* The servers asked since the last call, as "name name ..." (caller frees). */
static char *
asked(DnsWorld *w)
{
    char *s = g_strdup(w->asked->str);
    g_string_truncate(w->asked, 0);
    return s;
}

static void
world_init_full(DnsWorld *w, guint64 seed, const Ttls *t)
{
    w->engine = ms_engine_new(seed);
    w->net = ms_net_new(w->engine);
    w->isp = ms_net_add_host(w->net, "smtp.isp-a.net", 0x0A000001, MS_ROLE_MAILSERVER, NULL);
    w->router = ms_net_add_host(w->net, "core", 0x0A000002, MS_ROLE_ROUTER, NULL);
    w->root = ms_net_add_host(w->net, "a.root-servers.net", 0x0A000003, MS_ROLE_DNS, NULL);
    w->tld = ms_net_add_host(w->net, "a.gtld-servers.net", 0x0A000004, MS_ROLE_DNS, NULL);
    w->auth = ms_net_add_host(w->net, "ns1.diversicomcorp.com", 0x0A000005, MS_ROLE_DNS, NULL);
    ms_net_add_link(w->net, w->isp, w->router, &lp, NULL);
    ms_net_add_link(w->net, w->router, w->root, &lp, NULL);
    ms_net_add_link(w->net, w->router, w->tld, &lp, NULL);
    ms_net_add_link(w->net, w->router, w->auth, &lp, NULL);
    w->s_root = ms_dns_server_new(w->net, w->root);
    ms_dns_server_add_zone(w->s_root, "", 86400);
    ms_dns_server_add_record(w->s_root,
                             ms_dns_record_new_ns("com", t->com_ns, "a.gtld-servers.net"));
    ms_dns_server_add_record(w->s_root,
                             ms_dns_record_new_a("a.gtld-servers.net", t->com_glue, 0x0A000004));
    w->s_tld = ms_dns_server_new(w->net, w->tld);
    ms_dns_server_add_zone(w->s_tld, "com", 900);
    ms_dns_server_add_record(
        w->s_tld, ms_dns_record_new_ns("diversicomcorp.com", t->corp_ns, "ns1.diversicomcorp.com"));
    ms_dns_server_add_record(w->s_tld,
                             ms_dns_record_new_a("ns1.diversicomcorp.com", 172800, 0x0A000005));
    w->s_auth = ms_dns_server_new(w->net, w->auth);
    ms_dns_server_add_zone(w->s_auth, "diversicomcorp.com", 300);
    ms_dns_server_add_record(
        w->s_auth, ms_dns_record_new_mx("diversicomcorp.com", 3600, 10, "mx.diversicomcorp.com"));
    ms_dns_server_add_record(w->s_auth,
                             ms_dns_record_new_a("mx.diversicomcorp.com", 3600, 0x0A000009));
    /* A second domain under com, on a server of its own. */
    w->auth2 = ms_net_add_host(w->net, "ns1.example.com", 0x0A000006, MS_ROLE_DNS, NULL);
    ms_net_add_link(w->net, w->router, w->auth2, &lp, NULL);
    ms_dns_server_add_record(w->s_tld,
                             ms_dns_record_new_ns("example.com", 172800, "ns1.example.com"));
    ms_dns_server_add_record(w->s_tld, ms_dns_record_new_a("ns1.example.com", 172800, 0x0A000006));
    w->s_auth2 = ms_dns_server_new(w->net, w->auth2);
    ms_dns_server_add_zone(w->s_auth2, "example.com", 300);
    ms_dns_server_add_record(w->s_auth2,
                             ms_dns_record_new_mx("example.com", 3600, 10, "mx.example.com"));
    w->asked = g_string_new(NULL);
    w->udp = g_array_new(FALSE, FALSE, sizeof(guint32));
    ms_trace_add_sink(ms_net_trace(w->net), sink, w, NULL);
}

static void
world_init(DnsWorld *w)
{
    world_init_full(w, 1, &default_ttls);
}

static void
world_clear(DnsWorld *w)
{
    ms_dns_server_free(w->s_root);
    ms_dns_server_free(w->s_tld);
    ms_dns_server_free(w->s_auth);
    ms_dns_server_free(w->s_auth2);
    g_string_free(w->asked, TRUE);
    g_array_free(w->udp, TRUE);
    ms_net_free(w->net);
    ms_engine_free(w->engine);
}

typedef struct {
    gboolean done;
    MsResolveStatus status;
    guint n;
    guint16 pref;
    char exchange[64];
    guint n_additional;
    gboolean from_cache;
    MsTime at;
} Result;

static void
on_result(MsResolver *r, MsResolveStatus st, GPtrArray *recs, GPtrArray *add, gboolean cached,
          gpointer ud)
{
    Result *res = ud;
    (void) r;
    res->done = TRUE;
    res->status = st;
    res->n = recs->len;
    res->n_additional = add->len;
    res->from_cache = cached;
    if (recs->len > 0 && ((MsDnsRecord *) recs->pdata[0])->type == MS_DNS_TYPE_MX) {
        MsDnsRecord *mx = recs->pdata[0];
        res->pref = mx->rdata.mx.preference;
        g_strlcpy(res->exchange, mx->rdata.mx.exchange, sizeof res->exchange);
    }
}

static Result
lookup(DnsWorld *w, MsResolver *r, const char *name, guint16 type)
{
    Result res = { 0 };
    MsTime t0 = ms_engine_now(w->engine);
    ms_resolver_lookup(r, name, type, 0, on_result, &res);
    ms_engine_run(w->engine, MS_TIME_INFINITE);
    res.at = ms_engine_now(w->engine) - t0;
    return res;
}

static void
test_iterative_then_cache(void)
{
    DnsWorld w;
    world_init(&w);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    Result a = lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_TRUE(a.done);
    CU_ASSERT_EQUAL(a.status, MS_RESOLVE_OK);
    CU_ASSERT_EQUAL(a.n, 1);
    CU_ASSERT_EQUAL(a.pref, 10);
    CU_ASSERT_STRING_EQUAL(a.exchange, "mx.diversicomcorp.com");
    CU_ASSERT_EQUAL(a.n_additional, 1);
    CU_ASSERT_FALSE(a.from_cache);
    MsResolverStats st;
    ms_resolver_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.queries_sent, 3); /* root, TLD, authoritative */
    CU_ASSERT_EQUAL(ms_dns_server_queries(w.s_root), 1);
    CU_ASSERT_EQUAL(ms_dns_server_queries(w.s_tld), 1);
    CU_ASSERT_EQUAL(ms_dns_server_queries(w.s_auth), 1);
    /* three round trips of 2 x 10 ms plus serialisation */
    CU_ASSERT(a.at >= 60 * MS_TIME_MS && a.at < 70 * MS_TIME_MS);
    Result b = lookup(&w, r, "DiversiComCorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(b.status, MS_RESOLVE_OK);
    CU_ASSERT_TRUE(b.from_cache);
    CU_ASSERT_EQUAL(b.at, 0);
    ms_resolver_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.queries_sent, 3);
    CU_ASSERT_EQUAL(st.cache_hits, 1);
    /* After the TTL (3600 s) the answer is asked again. */
    ms_engine_run(w.engine, ms_engine_now(w.engine) + 3601 * MS_TIME_S);
    Result c = lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_FALSE(c.from_cache);
    world_clear(&w);
}

static void
test_negative_answers(void)
{
    DnsWorld w;
    world_init(&w);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    Result a = lookup(&w, r, "nosuch.diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(a.status, MS_RESOLVE_NXDOMAIN);
    Result b = lookup(&w, r, "nosuch.diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(b.status, MS_RESOLVE_NXDOMAIN);
    CU_ASSERT_TRUE(b.from_cache); /* NXDOMAIN is cached (RFC 2308) */
    Result c = lookup(&w, r, "mx.diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(c.status, MS_RESOLVE_NODATA);
    Result d = lookup(&w, r, "nowhere.org", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(d.status, MS_RESOLVE_NXDOMAIN); /* the root's own NXDOMAIN */
    world_clear(&w);
}

static void
test_flat_registry_and_timeout(void)
{
    DnsWorld w;
    world_init(&w);
    /* The authoritative server asked directly with RD: a flat registry. */
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000005, FALSE);
    Result a = lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(a.status, MS_RESOLVE_OK);
    MsResolverStats st;
    ms_resolver_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.queries_sent, 1);
    ms_net_set_host_up(w.net, w.auth, FALSE);
    Result b = lookup(&w, r, "mx.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_EQUAL(b.status, MS_RESOLVE_TIMEOUT);
    CU_ASSERT_EQUAL(b.at, 6 * MS_TIME_S); /* 3 tries of 2 s */
    world_clear(&w);
}

/* RFC 1034 5.3.3: the referrals of the first lookup are cached, so a lookup
 * under a known TLD starts at the TLD's servers, and one under a known
 * domain at the domain's own. */
static void
test_delegations_cached(void)
{
    DnsWorld w;
    world_init(&w);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    Result a = lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(a.status, MS_RESOLVE_OK);
    g_autofree char *first = asked(&w);
    CU_ASSERT_STRING_EQUAL(first, "a.root-servers.net a.gtld-servers.net ns1.diversicomcorp.com");
    Result b = lookup(&w, r, "example.com", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(b.status, MS_RESOLVE_OK);
    CU_ASSERT_FALSE(b.from_cache);
    g_autofree char *second = asked(&w);
    CU_ASSERT_STRING_EQUAL(second, "a.gtld-servers.net ns1.example.com"); /* no root */
    /* two round trips instead of three */
    CU_ASSERT(b.at >= 40 * MS_TIME_MS && b.at < 47 * MS_TIME_MS);
    Result c = lookup(&w, r, "mx.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_EQUAL(c.status, MS_RESOLVE_OK);
    g_autofree char *third = asked(&w);
    CU_ASSERT_STRING_EQUAL(third, "ns1.diversicomcorp.com");
    /* A name under a TLD nobody has referred to yet starts at the root. */
    Result d = lookup(&w, r, "nowhere.org", MS_DNS_TYPE_MX);
    CU_ASSERT_EQUAL(d.status, MS_RESOLVE_NXDOMAIN);
    g_autofree char *fourth = asked(&w);
    CU_ASSERT_STRING_EQUAL(fourth, "a.root-servers.net");
    MsResolverStats st;
    ms_resolver_get_stats(r, &st);
    CU_ASSERT_EQUAL(st.delegation_hits, 2);
    CU_ASSERT_EQUAL(ms_dns_server_queries(w.s_root), 2);
    world_clear(&w);
}

/* The servers asked for example.com's MX at `at` after a first lookup
 * (of diversicomcorp.com) whose cached com delegation (NS set or glue,
 * whichever dies first) lives until *until. Caller frees. */
static char *
asked_at(const Ttls *t, gint64 offset_from_expiry, MsTime *until)
{
    DnsWorld w;
    world_init_full(&w, 1, t);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    MsTime ns = ms_resolver_cached_until(r, "com", MS_DNS_TYPE_NS);
    MsTime glue = ms_resolver_cached_until(r, "a.gtld-servers.net", MS_DNS_TYPE_A);
    *until = MIN(ns, glue);
    ms_engine_run(w.engine, (MsTime) ((gint64) *until + offset_from_expiry));
    g_free(asked(&w));
    lookup(&w, r, "example.com", MS_DNS_TYPE_MX);
    char *s = asked(&w);
    world_clear(&w);
    return s;
}

/* TTLs honoured: the com delegation serves until the last nanosecond of its
 * NS set's TTL, or of its glue's when that is shorter; from then on the
 * lookup starts at the root again. */
static void
test_delegation_ttl_boundary(void)
{
    static const Ttls ns_first = { 3600, 7200, 172800 }, glue_first = { 7200, 3600, 172800 };
    const Ttls *cases[] = { &ns_first, &glue_first };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsTime until = 0;
        g_autofree char *before = asked_at(cases[i], -1, &until);
        /* the first answer came some 20 ms after t = 0 */
        CU_ASSERT(until > 3600 * MS_TIME_S && until < 3601 * MS_TIME_S);
        CU_ASSERT_STRING_EQUAL(before, "a.gtld-servers.net ns1.example.com");
        g_autofree char *at = asked_at(cases[i], 0, &until);
        CU_ASSERT_STRING_EQUAL(at, "a.root-servers.net a.gtld-servers.net ns1.example.com");
    }
}

/* RFC 2181 5.4.1: glue learned from a referral is never an answer, and
 * never replaces an authoritative answer. Here the com registry's glue for
 * ns1.diversicomcorp.com is stale (10.0.0.5); the domain's own data says
 * ns1 moved to 10.0.0.7, a second server with the same zone. */
static void
test_glue_ranks_below_answers(void)
{
    static const Ttls short_corp = { 172800, 172800, 60 };
    DnsWorld w;
    world_init_full(&w, 1, &short_corp);
    MsHostId moved =
        ms_net_add_host(w.net, "ns1-new.diversicomcorp.com", 0x0A000007, MS_ROLE_DNS, NULL);
    ms_net_add_link(w.net, w.router, moved, &lp, NULL);
    g_autoptr(MsDnsServer) s_moved = ms_dns_server_new(w.net, moved);
    ms_dns_server_add_zone(s_moved, "diversicomcorp.com", 300);
    MsDnsServer *both[] = { w.s_auth, s_moved };
    for (guint i = 0; i < 2; i++) {
        ms_dns_server_add_record(both[i],
                                 ms_dns_record_new_a("ns1.diversicomcorp.com", 3600, 0x0A000007));
        ms_dns_server_add_record(both[i],
                                 ms_dns_record_new_a("www.diversicomcorp.com", 3600, 0x0A000008));
    }
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    g_free(asked(&w));
    /* The glue of ns1 is cached, but does not answer a query for ns1. */
    Result a = lookup(&w, r, "ns1.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_FALSE(a.from_cache);
    g_autofree char *first = asked(&w);
    CU_ASSERT_STRING_EQUAL(first, "ns1.diversicomcorp.com"); /* by the glue: 10.0.0.5 */
    /* The domain's delegation expires; the registry refers again, with
     * its stale glue, which must not replace the authoritative 10.0.0.7. */
    ms_engine_run(w.engine, ms_engine_now(w.engine) + 61 * MS_TIME_S);
    Result b = lookup(&w, r, "www.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_EQUAL(b.status, MS_RESOLVE_OK);
    g_autofree char *second = asked(&w);
    CU_ASSERT_STRING_EQUAL(second, "a.gtld-servers.net ns1-new.diversicomcorp.com");
    Result c = lookup(&w, r, "ns1.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_TRUE(c.from_cache);
    g_clear_pointer(&s_moved, ms_dns_server_free);
    world_clear(&w);
}

/* The (source port, id) of every query of a fixed set of lookups, one of
 * them retried after timeouts. */
static GArray *
queries_of_run(guint64 seed)
{
    DnsWorld w;
    world_init_full(&w, seed, &default_ttls);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    lookup(&w, r, "diversicomcorp.com", MS_DNS_TYPE_MX);
    lookup(&w, r, "example.com", MS_DNS_TYPE_MX);
    ms_net_set_host_up(w.net, w.auth, FALSE);
    lookup(&w, r, "mx.diversicomcorp.com", MS_DNS_TYPE_A); /* 3 tries, no answer */
    GArray *out = g_steal_pointer(&w.udp);
    w.udp = g_array_new(FALSE, FALSE, sizeof(guint32));
    world_clear(&w);
    return out;
}

/* RFC 5452 9.2 (and 4.3): every query, retries included, has a random
 * source port in 32768-60999 and a random id; the same seed gives the same
 * ones, another seed others. */
static void
test_query_ports_and_ids_random(void)
{
    g_autoptr(GArray) a = queries_of_run(1);
    g_autoptr(GArray) b = queries_of_run(1);
    g_autoptr(GArray) c = queries_of_run(2);
    CU_ASSERT_EQUAL_FATAL(a->len, 8); /* 3 + 2 + 3 tries */
    CU_ASSERT_EQUAL_FATAL(b->len, a->len);
    CU_ASSERT_EQUAL_FATAL(c->len, a->len);
    guint same_port = 0, same_id = 0, other_port = 0, other_id = 0;
    for (guint i = 0; i < a->len; i++) {
        guint32 v = g_array_index(a, guint32, i);
        CU_ASSERT(v >> 16 >= 32768 && v >> 16 <= 60999);
        CU_ASSERT_EQUAL(v, g_array_index(b, guint32, i));
        guint32 w = g_array_index(c, guint32, i);
        other_port += (v >> 16) != (w >> 16);
        other_id += (v & 0xffff) != (w & 0xffff);
        for (guint k = 0; k < i; k++) {
            guint32 u = g_array_index(a, guint32, k);
            same_port += (u >> 16) == (v >> 16);
            same_id += (u & 0xffff) == (v & 0xffff);
        }
    }
    /* 28 pairs: a repeat is a 1 in 1000 (ports) or 1 in 2300 (ids) event
     * for a fair draw; the counters of the old resolver (one port, ids
     * counting up) fail both. */
    CU_ASSERT_EQUAL(same_port, 0);
    CU_ASSERT_EQUAL(same_id, 0);
    CU_ASSERT_EQUAL(other_port, a->len);
    CU_ASSERT_EQUAL(other_id, a->len);
}

/* Expired entries are swept away (the cache holds what was asked within a
 * TTL, not every name ever asked), and sweeping changes no answer: live
 * entries still answer, long-lived delegations still skip the root. */
static void
test_expired_entries_swept(void)
{
    DnsWorld w;
    world_init(&w);
    g_autoptr(MsResolver) r = ms_resolver_new(w.net, w.isp, 0x0A000003, TRUE);
    for (guint i = 0; i < 100; i++) {
        g_autofree char *name = g_strdup_printf("old%u.diversicomcorp.com", i);
        CU_ASSERT_EQUAL(lookup(&w, r, name, MS_DNS_TYPE_A).status, MS_RESOLVE_NXDOMAIN);
    }
    MsResolverStats st;
    ms_resolver_get_stats(r, &st);
    CU_ASSERT_TRUE(st.cache_entries >= 100); /* all alive: nothing to sweep */
    /* An hour on, the negative answers (SOA minimum 300 s) are dead. */
    ms_engine_run(w.engine, ms_engine_now(w.engine) + 3600 * MS_TIME_S);
    guint64 root_before = ms_dns_server_queries(w.s_root);
    for (guint i = 0; i < 100; i++) {
        g_autofree char *name = g_strdup_printf("new%u.diversicomcorp.com", i);
        CU_ASSERT_EQUAL(lookup(&w, r, name, MS_DNS_TYPE_A).status, MS_RESOLVE_NXDOMAIN);
    }
    ms_resolver_get_stats(r, &st);
    /* Without sweeps: 200 names and the delegations. */
    CU_ASSERT_TRUE(st.cache_entries <= 110);
    CU_ASSERT_EQUAL(ms_dns_server_queries(w.s_root), root_before);
    Result again = lookup(&w, r, "new99.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_TRUE(again.from_cache);
    Result old = lookup(&w, r, "old0.diversicomcorp.com", MS_DNS_TYPE_A);
    CU_ASSERT_FALSE(old.from_cache);
    CU_ASSERT_EQUAL(old.status, MS_RESOLVE_NXDOMAIN);
    world_clear(&w);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "iterative lookup then cache", test_iterative_then_cache },
        { "negative answers", test_negative_answers },
        { "flat registry and timeout", test_flat_registry_and_timeout },
        { "referrals cached: the second TLD lookup skips the root", test_delegations_cached },
        { "cached delegation: TTL of NS set and glue, both sides", test_delegation_ttl_boundary },
        { "glue never answers nor replaces an answer", test_glue_ranks_below_answers },
        { "random query ports and ids, same for the same seed", test_query_ports_and_ids_random },
        { "expired cache entries swept, answers unchanged", test_expired_entries_swept },
        { NULL, NULL },
    };
    return ms_test_main("dns", cases);
}
