/* World generator (see include/mailsim/generate.h). Everything is drawn
 * from one random stream (seed, "generate"), in a fixed order, so the same
 * parameters give the same document.
 *
 * Transit-stub: T = max(4, routers / 20) transit routers on a ring with two
 * random chords each (5-30 ms, 10 Gbps); every other router hangs off a
 * transit router or off an earlier stub router of the same transit router
 * (1-5 ms, 1 Gbps), which gives stub trees a few levels deep. Scale-free:
 * Barabasi-Albert from a triangle, each new router linking to two distinct
 * routers chosen with probability proportional to their degree (1-20 ms,
 * 1 Gbps). Mail hosts hang off random non-transit routers; relays and the
 * DNS registry off transit (or high-degree) routers. DNS is one flat
 * registry, which keeps a 10,000-domain world to one name server (the
 * hierarchy costs three lookups per new domain and is what lessons show).
 * Addresses are 10.0.0.1 upwards in order of creation. */
#include "mailsim/generate.h"
#include "mailsim/rng.h"

#include <string.h>

void
ms_gen_params_defaults(MsGenParams *p)
{
    if (!p->domains)
        p->domains = 100;
    if (!p->routers)
        p->routers = 1000;
    if (!p->users)
        p->users = (guint64) p->domains * 100;
    if (!p->messages)
        p->messages = p->users * 10;
    if (!p->duration)
        p->duration = MS_TIME_DAY;
    if (p->backup_mx <= 0)
        p->backup_mx = 0.2;
    if (p->relays <= 0)
        p->relays = 0.1;
    if (!p->outages)
        p->outages = MAX(1u, p->domains / 50);
}

const char *
ms_gen_topology_to_string(MsGenTopology t)
{
    return t == MS_GEN_SCALE_FREE ? "scale-free" : "transit-stub";
}

typedef struct {
    GString *out;
    MsRng rng;
    guint32 next_addr;
    GHashTable *edges; /* router pairs already linked (lo << 32 | hi) */
} Gen;

/* Links routers a and b unless they are linked already. */
static void
router_link(Gen *g, guint32 x, guint32 y, guint ms, const char *bw)
{
    guint64 key = (guint64) MIN(x, y) << 32 | MAX(x, y);
    if (x == y || g_hash_table_contains(g->edges, &key))
        return;
    g_hash_table_add(g->edges, g_memdup2(&key, sizeof key));
    g_string_append_printf(
        g->out, "  <link a=\"r%u\" b=\"r%u\" latency=\"%ums\" bandwidth=\"%s\"/>\n", x, y, ms, bw);
}

static void
host(Gen *g, const char *id, const char *name, const char *role)
{
    guint32 a = g->next_addr++;
    g_string_append_printf(g->out,
                           "  <host id=\"%s\" name=\"%s\" role=\"%s\" address=\"%u.%u.%u.%u\"/>\n",
                           id, name, role, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void
link_ms(Gen *g, const char *a, const char *b, guint ms, const char *bw)
{
    g_string_append_printf(
        g->out, "  <link a=\"%s\" b=\"%s\" latency=\"%ums\" bandwidth=\"%s\"/>\n", a, b, ms, bw);
}

/* The site at position i of a list of router ids. */
static const char *
site_core(const MsGenSites *sites, guint64 i)
{
    return g_ptr_array_index(sites->core, (guint) i);
}

/* A router for a mail host: uniform over sites->attach, or weighted by
 * sites->weights (one draw either way). */
static const char *
site_attach(Gen *g, const MsGenSites *sites)
{
    guint n = sites->attach->len;
    if (!sites->cumulative)
        return g_ptr_array_index(sites->attach, (guint) ms_rng_below(&g->rng, n));
    const double *cum = (const double *) sites->cumulative->data;
    double x = ms_rng_uniform(&g->rng) * cum[n - 1];
    guint lo = 0, hi = n - 1;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return g_ptr_array_index(sites->attach, lo);
}

/* Mail on a router graph: the DNS registry, relays, domains with their MX
 * (and backup MX), users, traffic, outages and the no-loss expectation. */
static void
place_mail(Gen *g, const MsGenParams *p, const MsGenSites *sites, GString *out)
{
    char a[32];
    /* DNS: one flat registry on the core. */
    host(g, "dns", "registry.example", "dns");
    link_ms(g, "dns", site_core(sites, 0), 1, "10Gbps");
    g_string_append(out, "  <dns mode=\"flat\" server=\"dns\"/>\n");

    /* Relays. */
    guint32 n_relays = (guint32) MAX(1.0, p->domains * p->relays / 10.0);
    g_autoptr(GString) relays = g_string_new(NULL); /* their addresses, for SPF */
    for (guint32 k = 0; k < n_relays; k++) {
        g_snprintf(a, sizeof a, "relay%u", k);
        g_autofree char *name = g_strdup_printf("relay%u.transit.example", k);
        guint32 ra = g->next_addr;
        g_string_append_printf(relays, "%s%u.%u.%u.%u", k ? " " : "", ra >> 24, (ra >> 16) & 255,
                               (ra >> 8) & 255, ra & 255);
        host(g, a, name, "relay");
        link_ms(g, a, site_core(sites, ms_rng_below(&g->rng, sites->core->len)), 1, "10Gbps");
        g_string_append_printf(out, "  <mailserver host=\"%s\"/>\n", a);
    }

    /* Domains: MX host (and backup), zone, mail server with users. */
    guint64 users_per = MAX((guint64) 1, p->users / p->domains);
    for (guint32 d = 0; d < p->domains; d++) {
        g_autofree char *dom = g_strdup_printf("d%u.example", d);
        g_autofree char *mx = g_strdup_printf("mx.%s", dom);
        g_snprintf(a, sizeof a, "mx%u", d);
        host(g, a, mx, "mailserver");
        link_ms(g, a, site_attach(g, sites), 1, "1Gbps");
        gboolean backup = ms_rng_uniform(&g->rng) < p->backup_mx;
        g_autofree char *mx2 = g_strdup_printf("mx2.%s", dom);
        if (backup) {
            g_snprintf(a, sizeof a, "mxb%u", d);
            host(g, a, mx2, "mailserver");
            link_ms(g, a, site_attach(g, sites), 1, "1Gbps");
        }
        g_string_append_printf(out,
                               "  <zone name=\"%s\" server=\"dns\" ttl=\"1h\">\n"
                               "    <mx preference=\"10\" exchange=\"%s\"/>\n"
                               "    <a name=\"%s\" host=\"mx%u\"/>\n",
                               dom, mx, mx, d);
        if (backup)
            g_string_append_printf(out,
                                   "    <mx preference=\"20\" exchange=\"%s\"/>\n"
                                   "    <a name=\"%s\" host=\"mxb%u\"/>\n",
                                   mx2, mx2, d);
        if (p->auth) /* relays send for their domains too: they are in the SPF record */
            g_string_append_printf(out,
                                   "    <spf mx=\"yes\" ip4=\"%s\"/>\n"
                                   "    <dmarc p=\"reject\"/>\n",
                                   relays->str);
        g_string_append(out, "  </zone>\n");
        gboolean relayed = ms_rng_uniform(&g->rng) < p->relays;
        g_autofree char *smart = relayed ? g_strdup_printf(" smarthost=\"relay%u\"",
                                                           (guint) ms_rng_below(&g->rng, n_relays))
                                         : g_strdup("");
        if (p->auth)
            g_string_append_printf(
                out,
                "  <mailserver host=\"mx%u\" domains=\"%s\"%s generated-users=\"%" G_GUINT64_FORMAT
                "\">\n    <dkim selector=\"s1\" key=\"%s\"/>\n"
                "    <auth spf=\"on\" dkim=\"on\" dmarc=\"on\"/>\n  </mailserver>\n",
                d, dom, smart, users_per, p->auth == 2 ? "ed25519" : "rsa");
        else
            g_string_append_printf(
                out,
                "  <mailserver host=\"mx%u\" domains=\"%s\"%s generated-users=\"%" G_GUINT64_FORMAT
                "\"/>\n",
                d, dom, smart, users_per);
        if (backup)
            g_string_append_printf(out, "  <mailserver host=\"mxb%u\" backup-for=\"%s\"/>\n", d,
                                   dom);
    }

    /* Traffic: Poisson from every domain to random domains. */
    g_autofree char *dur = g_strdup_printf("%" G_GINT64_FORMAT "s", p->duration / MS_TIME_S);
    double per_domain_per_h =
        (double) p->messages / p->domains / (ms_time_to_seconds(p->duration) / 3600.0);
    char rate[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(rate, sizeof rate, "%.6g", per_domain_per_h);
    for (guint32 d = 0; d < p->domains; d++)
        g_string_append_printf(
            out,
            "  <workload from=\"d%u.example\" to=\"*\" start=\"0s\" end=\"%s\" rate=\"%s/h\" "
            "size=\"lognormal:mu=8.5,sigma=1.2\"/>\n",
            d, dur, rate);

    /* Faults: MX outages of 30 minutes. */
    for (guint32 k = 0; k < p->outages; k++) {
        guint32 d = (guint32) ms_rng_below(&g->rng, p->domains);
        guint64 at = ms_rng_below(&g->rng, (guint64) MAX(1, p->duration / MS_TIME_S));
        g_string_append_printf(out,
                               "  <fault kind=\"host-down\" target=\"mx%u\" at=\"%" G_GUINT64_FORMAT
                               "s\" duration=\"30min\"/>\n",
                               d, at);
    }
    g_string_append(out, "  <expect kind=\"no-loss\"/>\n");
}

void
ms_generate_elements(const MsGenParams *in, GString *out)
{
    MsGenParams p = *in;
    ms_gen_params_defaults(&p);
    p.routers = MAX(p.routers, 4u);
    p.domains = MAX(p.domains, 1u);
    Gen g = { out,
              { { 0 } },
              0x0A000001u,
              g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL) };
    ms_rng_init_named(&g.rng, p.seed, "generate");
    char a[32];

    /* Routers and the graph. attach[] lists routers mail hosts may hang off;
     * core[] those relays and the registry hang off. */
    GArray *attach = g_array_new(FALSE, FALSE, sizeof(guint32));
    GArray *core = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint32 i = 0; i < p.routers; i++) {
        g_snprintf(a, sizeof a, "r%u", i);
        host(&g, a, a, "router");
    }
    if (p.topology == MS_GEN_SCALE_FREE) {
        GArray *ends = g_array_new(FALSE, FALSE, sizeof(guint32)); /* one entry per link end */
        for (guint32 i = 0; i < 3; i++) {
            guint32 j = (i + 1) % 3;
            router_link(&g, i, j, 1 + (guint) ms_rng_below(&g.rng, 20), "1Gbps");
            g_array_append_val(ends, i);
            g_array_append_val(ends, j);
        }
        for (guint32 i = 3; i < p.routers; i++) {
            guint32 t1 = g_array_index(ends, guint32, ms_rng_below(&g.rng, ends->len)), t2;
            do
                t2 = g_array_index(ends, guint32, ms_rng_below(&g.rng, ends->len));
            while (t2 == t1);
            guint32 ts[2] = { t1, t2 };
            for (int k = 0; k < 2; k++) {
                router_link(&g, i, ts[k], 1 + (guint) ms_rng_below(&g.rng, 20), "1Gbps");
                g_array_append_val(ends, i);
                g_array_append_val(ends, ts[k]);
            }
        }
        for (guint32 i = 0; i < p.routers; i++)
            g_array_append_val(i < 3 ? core : attach, i);
        g_array_free(ends, TRUE);
    } else {
        guint32 t = MAX(4u, MIN(p.routers, p.routers / 20));
        for (guint32 i = 0; i < t; i++) {
            router_link(&g, i, (i + 1) % t, 5 + (guint) ms_rng_below(&g.rng, 26), "10Gbps");
            for (int k = 0; k < 2 && t > 4; k++)
                router_link(&g, i, (guint32) ms_rng_below(&g.rng, t),
                            5 + (guint) ms_rng_below(&g.rng, 26), "10Gbps");
            g_array_append_val(core, i);
        }
        /* owner[i]: the transit router a stub router's tree hangs off */
        guint32 *owner = g_new0(guint32, p.routers);
        GPtrArray *trees = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
        for (guint32 i = 0; i < t; i++)
            g_ptr_array_add(trees, g_array_new(FALSE, FALSE, sizeof(guint32)));
        for (guint32 i = t; i < p.routers; i++) {
            guint32 tr = (guint32) ms_rng_below(&g.rng, t);
            GArray *tree = g_ptr_array_index(trees, tr);
            guint32 parent = tr;
            if (tree->len > 0 && ms_rng_uniform(&g.rng) < 0.6)
                parent = g_array_index(tree, guint32, ms_rng_below(&g.rng, tree->len));
            router_link(&g, i, parent, 1 + (guint) ms_rng_below(&g.rng, 5), "1Gbps");
            g_array_append_val(tree, i);
            owner[i] = tr;
            g_array_append_val(attach, i);
        }
        g_ptr_array_unref(trees);
        g_free(owner);
    }
    if (attach->len == 0)
        g_array_append_vals(attach, core->data, core->len);

    GPtrArray *attach_ids = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *core_ids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < attach->len; i++)
        g_ptr_array_add(attach_ids, g_strdup_printf("r%u", g_array_index(attach, guint32, i)));
    for (guint i = 0; i < core->len; i++)
        g_ptr_array_add(core_ids, g_strdup_printf("r%u", g_array_index(core, guint32, i)));
    MsGenSites sites = { attach_ids, NULL, core_ids };
    place_mail(&g, &p, &sites, out);
    g_ptr_array_unref(attach_ids);
    g_ptr_array_unref(core_ids);
    g_array_free(attach, TRUE);
    g_array_free(core, TRUE);
    g_hash_table_destroy(g.edges);
}

guint32
ms_generate_mail_elements(const MsGenParams *in, const MsGenSites *sites, guint32 next_addr,
                          GString *out)
{
    g_return_val_if_fail(sites && sites->attach->len > 0 && sites->core->len > 0, next_addr);
    MsGenParams p = *in;
    ms_gen_params_defaults(&p);
    p.domains = MAX(p.domains, 1u);
    Gen g = { out, { { 0 } }, next_addr, NULL };
    ms_rng_init_named(&g.rng, p.seed, "place-mail");
    place_mail(&g, &p, sites, out);
    return g.next_addr;
}

char *
ms_generate_scenario(const MsGenParams *in, const char *name)
{
    MsGenParams p = *in;
    ms_gen_params_defaults(&p);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<scenario version=\"1\" name=\"%s\" seed=\"%" G_GUINT64_FORMAT
                           "\" until=\"%" G_GINT64_FORMAT "s\">\n"
                           "  <title>Generated %s world: %u domains, %u routers</title>\n",
                           name, p.seed, (p.duration + 2 * MS_TIME_H) / MS_TIME_S,
                           ms_gen_topology_to_string(p.topology), p.domains, p.routers);
    ms_generate_elements(&p, s);
    g_string_append(s, "</scenario>\n");
    return g_string_free(s, FALSE);
}
