/* Tests of the DNS registries and the resolver on a small simulated world:
 * an iterative MX lookup through root, TLD and authoritative servers; the
 * second lookup served from the cache; NXDOMAIN (cached too); NODATA; a flat
 * registry with recursion desired; a registry that is down: timeout. */
#include "testlib.h"
#include "mailsim/dns_server.h"
#include "mailsim/dns_resolver.h"

typedef struct {
    MsEngine *engine;
    MsNet *net;
    MsHostId isp, root, tld, auth, router;
    MsDnsServer *s_root, *s_tld, *s_auth;
} DnsWorld;

static const MsLinkParams lp = { 5 * MS_TIME_MS, 10000000, 1500, 0.0, 65536 };

static void
world_init(DnsWorld *w)
{
    w->engine = ms_engine_new(1);
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
    ms_dns_server_add_record(w->s_root, ms_dns_record_new_ns("com", 172800, "a.gtld-servers.net"));
    ms_dns_server_add_record(w->s_root,
                             ms_dns_record_new_a("a.gtld-servers.net", 172800, 0x0A000004));
    w->s_tld = ms_dns_server_new(w->net, w->tld);
    ms_dns_server_add_zone(w->s_tld, "com", 900);
    ms_dns_server_add_record(
        w->s_tld, ms_dns_record_new_ns("diversicomcorp.com", 172800, "ns1.diversicomcorp.com"));
    ms_dns_server_add_record(w->s_tld,
                             ms_dns_record_new_a("ns1.diversicomcorp.com", 172800, 0x0A000005));
    w->s_auth = ms_dns_server_new(w->net, w->auth);
    ms_dns_server_add_zone(w->s_auth, "diversicomcorp.com", 300);
    ms_dns_server_add_record(
        w->s_auth, ms_dns_record_new_mx("diversicomcorp.com", 3600, 10, "mx.diversicomcorp.com"));
    ms_dns_server_add_record(w->s_auth,
                             ms_dns_record_new_a("mx.diversicomcorp.com", 3600, 0x0A000009));
}

static void
world_clear(DnsWorld *w)
{
    ms_dns_server_free(w->s_root);
    ms_dns_server_free(w->s_tld);
    ms_dns_server_free(w->s_auth);
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

int
main(void)
{
    static const MsTestCase cases[] = {
        { "iterative lookup then cache", test_iterative_then_cache },
        { "negative answers", test_negative_answers },
        { "flat registry and timeout", test_flat_registry_and_timeout },
        { NULL, NULL },
    };
    return ms_test_main("dns", cases);
}
