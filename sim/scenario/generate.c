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
#include "generate-private.h"
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
    MsGenWorld *w;
    MsRng rng;
    guint32 next_addr;
    GHashTable *edges; /* router pairs already linked (lo << 32 | hi) */
} Gen;

static const char *str(Gen *g, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* A formatted string kept in the world's chunk. */
static const char *
str(Gen *g, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return g_string_chunk_insert(g->w->strings, buf);
}

static MsGenElement *
add(Gen *g, MsGenElementKind kind)
{
    MsGenElement e = { .kind = kind };
    g_array_append_val(g->w->elements, e);
    return &g_array_index(g->w->elements, MsGenElement, g->w->elements->len - 1);
}

static void
link_ms(Gen *g, const char *a, const char *b, guint ms, const char *bw)
{
    MsGenElement *e = add(g, MS__GEN_LINK);
    e->s[0] = a;
    e->s[1] = b;
    e->s[2] = bw;
    e->num = ms;
}

/* Links routers x and y (ids[] their host ids) unless they are linked
 * already. */
static void
router_link(Gen *g, const char *const *ids, guint32 x, guint32 y, guint ms, const char *bw)
{
    guint64 key = (guint64) MIN(x, y) << 32 | MAX(x, y);
    if (x == y || g_hash_table_contains(g->edges, &key))
        return;
    g_hash_table_add(g->edges, g_memdup2(&key, sizeof key));
    link_ms(g, ids[x], ids[y], ms, bw);
}

static void
host(Gen *g, const char *id, const char *name, const char *role)
{
    MsGenElement *e = add(g, MS__GEN_HOST);
    e->s[0] = id;
    e->s[1] = name;
    e->s[2] = role;
    e->num = g->next_addr++;
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
 * (and backup MX), users, traffic, outages and the no-loss expectation.
 * The site ids must outlive the world's records. */
static void
place_mail(Gen *g, const MsGenParams *p, const MsGenSites *sites)
{
    /* DNS: one flat registry on the core. */
    host(g, "dns", "registry.example", "dns");
    link_ms(g, "dns", site_core(sites, 0), 1, "10Gbps");
    add(g, MS__GEN_DNS)->s[0] = "dns";

    /* Relays. */
    guint32 n_relays = (guint32) MAX(1.0, p->domains * p->relays / 10.0);
    g_autoptr(GString) relays = g_string_new(NULL); /* their addresses, for SPF */
    const char **relay_ids = g_new(const char *, n_relays);
    for (guint32 k = 0; k < n_relays; k++) {
        const char *a = relay_ids[k] = str(g, "relay%u", k);
        guint32 ra = g->next_addr;
        g_string_append_printf(relays, "%s%u.%u.%u.%u", k ? " " : "", ra >> 24, (ra >> 16) & 255,
                               (ra >> 8) & 255, ra & 255);
        host(g, a, str(g, "relay%u.transit.example", k), "relay");
        link_ms(g, a, site_core(sites, ms_rng_below(&g->rng, sites->core->len)), 1, "10Gbps");
        add(g, MS__GEN_MAILSERVER)->s[0] = a;
    }
    /* relays send for the domains too: they are in the SPF record */
    const char *spf = p->auth ? g_string_chunk_insert(g->w->strings, relays->str) : NULL;

    /* Domains: MX host (and backup), zone, mail server with users. */
    guint64 users_per = MAX((guint64) 1, p->users / p->domains);
    const char **domains = g_new(const char *, p->domains);
    for (guint32 d = 0; d < p->domains; d++) {
        const char *dom = domains[d] = str(g, "d%u.example", d);
        const char *mx = str(g, "mx.%s", dom), *mx_id = str(g, "mx%u", d);
        host(g, mx_id, mx, "mailserver");
        link_ms(g, mx_id, site_attach(g, sites), 1, "1Gbps");
        gboolean backup = ms_rng_uniform(&g->rng) < p->backup_mx;
        const char *mx2 = NULL, *mxb_id = NULL;
        if (backup) {
            mx2 = str(g, "mx2.%s", dom);
            mxb_id = str(g, "mxb%u", d);
            host(g, mxb_id, mx2, "mailserver");
            link_ms(g, mxb_id, site_attach(g, sites), 1, "1Gbps");
        }
        MsGenElement *z = add(g, MS__GEN_ZONE);
        z->s[0] = dom;
        z->s[1] = mx;
        z->s[2] = mx_id;
        z->s[3] = mx2;
        z->s[4] = mxb_id;
        z->s[5] = spf;
        gboolean relayed = ms_rng_uniform(&g->rng) < p->relays;
        MsGenElement *m = add(g, MS__GEN_MAILSERVER);
        m->s[0] = mx_id;
        m->s[1] = dom;
        m->s[2] = relayed ? relay_ids[ms_rng_below(&g->rng, n_relays)] : NULL;
        m->s[4] = p->auth == 2 ? "ed25519" : p->auth ? "rsa" : NULL;
        m->count = users_per;
        if (backup) {
            MsGenElement *b = add(g, MS__GEN_MAILSERVER);
            b->s[0] = mxb_id;
            b->s[3] = dom;
        }
    }

    /* Traffic: Poisson from every domain to random domains. */
    const char *dur = str(g, "%" G_GINT64_FORMAT "s", p->duration / MS_TIME_S);
    double per_domain_per_h =
        (double) p->messages / p->domains / (ms_time_to_seconds(p->duration) / 3600.0);
    char rate[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(rate, sizeof rate, "%.6g", per_domain_per_h);
    const char *rate_s = g_string_chunk_insert(g->w->strings, rate);
    for (guint32 d = 0; d < p->domains; d++) {
        MsGenElement *w = add(g, MS__GEN_WORKLOAD);
        w->s[0] = domains[d];
        w->s[1] = dur;
        w->s[2] = rate_s;
    }

    /* Faults: MX outages of 30 minutes. */
    for (guint32 k = 0; k < p->outages; k++) {
        guint32 d = (guint32) ms_rng_below(&g->rng, p->domains);
        guint64 at = ms_rng_below(&g->rng, (guint64) MAX(1, p->duration / MS_TIME_S));
        MsGenElement *f = add(g, MS__GEN_FAULT);
        f->s[0] = str(g, "mx%u", d);
        f->count = at;
    }
    add(g, MS__GEN_EXPECT);
    g_free(relay_ids);
    g_free(domains);
}

static MsGenWorld *
world_new(void)
{
    MsGenWorld *w = g_new0(MsGenWorld, 1);
    w->elements = g_array_new(FALSE, FALSE, sizeof(MsGenElement));
    w->strings = g_string_chunk_new(64 * 1024);
    return w;
}

void
ms__gen_world_free(MsGenWorld *w)
{
    if (!w)
        return;
    g_array_unref(w->elements);
    g_string_chunk_free(w->strings);
    g_free(w);
}

const char *
ms__gen_kind_name(MsGenElementKind kind)
{
    static const char *const names[] = { "host",       "link",     "dns",   "zone",
                                         "mailserver", "workload", "fault", "expect" };
    return (guint) kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

static void
write_element(const MsGenElement *e, GString *out)
{
    const char *const *s = e->s;
    switch (e->kind) {
    case MS__GEN_HOST:
        g_string_append_printf(
            out, "  <host id=\"%s\" name=\"%s\" role=\"%s\" address=\"%u.%u.%u.%u\"/>\n", s[0],
            s[1], s[2], e->num >> 24, (e->num >> 16) & 255, (e->num >> 8) & 255, e->num & 255);
        break;
    case MS__GEN_LINK:
        g_string_append_printf(out,
                               "  <link a=\"%s\" b=\"%s\" latency=\"%ums\" bandwidth=\"%s\"/>\n",
                               s[0], s[1], e->num, s[2]);
        break;
    case MS__GEN_DNS:
        g_string_append_printf(out, "  <dns mode=\"flat\" server=\"%s\"/>\n", s[0]);
        break;
    case MS__GEN_ZONE:
        g_string_append_printf(out,
                               "  <zone name=\"%s\" server=\"dns\" ttl=\"1h\">\n"
                               "    <mx preference=\"10\" exchange=\"%s\"/>\n"
                               "    <a name=\"%s\" host=\"%s\"/>\n",
                               s[0], s[1], s[1], s[2]);
        if (s[3])
            g_string_append_printf(out,
                                   "    <mx preference=\"20\" exchange=\"%s\"/>\n"
                                   "    <a name=\"%s\" host=\"%s\"/>\n",
                                   s[3], s[3], s[4]);
        if (s[5])
            g_string_append_printf(out,
                                   "    <spf mx=\"yes\" ip4=\"%s\"/>\n"
                                   "    <dmarc p=\"reject\"/>\n",
                                   s[5]);
        g_string_append(out, "  </zone>\n");
        break;
    case MS__GEN_MAILSERVER:
        g_string_append_printf(out, "  <mailserver host=\"%s\"", s[0]);
        if (s[1]) {
            g_string_append_printf(out, " domains=\"%s\"", s[1]);
            if (s[2])
                g_string_append_printf(out, " smarthost=\"%s\"", s[2]);
            g_string_append_printf(out, " generated-users=\"%" G_GUINT64_FORMAT "\"", e->count);
        }
        if (s[3])
            g_string_append_printf(out, " backup-for=\"%s\"", s[3]);
        if (s[4])
            g_string_append_printf(out,
                                   ">\n    <dkim selector=\"s1\" key=\"%s\"/>\n"
                                   "    <auth spf=\"on\" dkim=\"on\" dmarc=\"on\"/>\n"
                                   "  </mailserver>\n",
                                   s[4]);
        else
            g_string_append(out, "/>\n");
        break;
    case MS__GEN_WORKLOAD:
        g_string_append_printf(
            out,
            "  <workload from=\"%s\" to=\"*\" start=\"0s\" end=\"%s\" rate=\"%s/h\" "
            "size=\"lognormal:mu=8.5,sigma=1.2\"/>\n",
            s[0], s[1], s[2]);
        break;
    case MS__GEN_FAULT:
        g_string_append_printf(out,
                               "  <fault kind=\"host-down\" target=\"%s\" at=\"%" G_GUINT64_FORMAT
                               "s\" duration=\"30min\"/>\n",
                               s[0], e->count);
        break;
    case MS__GEN_EXPECT:
        g_string_append(out, "  <expect kind=\"no-loss\"/>\n");
        break;
    }
}

void
ms__gen_world_write(const MsGenWorld *w, GString *out)
{
    for (guint i = 0; i < w->elements->len; i++)
        write_element(&g_array_index(w->elements, MsGenElement, i), out);
}

MsGenWorld *
ms__gen_world_new(const MsGenParams *in)
{
    MsGenParams p = *in;
    ms_gen_params_defaults(&p);
    p.routers = MAX(p.routers, 4u);
    p.domains = MAX(p.domains, 1u);
    Gen g = { world_new(),
              { { 0 } },
              0x0A000001u,
              g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL) };
    ms_rng_init_named(&g.rng, p.seed, "generate");

    /* Routers and the graph. attach[] lists routers mail hosts may hang off;
     * core[] those relays and the registry hang off. */
    const char **ids = g_new(const char *, p.routers);
    GArray *attach = g_array_new(FALSE, FALSE, sizeof(guint32));
    GArray *core = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint32 i = 0; i < p.routers; i++) {
        ids[i] = str(&g, "r%u", i);
        host(&g, ids[i], ids[i], "router");
    }
    if (p.topology == MS_GEN_SCALE_FREE) {
        GArray *ends = g_array_new(FALSE, FALSE, sizeof(guint32)); /* one entry per link end */
        for (guint32 i = 0; i < 3; i++) {
            guint32 j = (i + 1) % 3;
            router_link(&g, ids, i, j, 1 + (guint) ms_rng_below(&g.rng, 20), "1Gbps");
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
                router_link(&g, ids, i, ts[k], 1 + (guint) ms_rng_below(&g.rng, 20), "1Gbps");
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
            router_link(&g, ids, i, (i + 1) % t, 5 + (guint) ms_rng_below(&g.rng, 26), "10Gbps");
            for (int k = 0; k < 2 && t > 4; k++)
                router_link(&g, ids, i, (guint32) ms_rng_below(&g.rng, t),
                            5 + (guint) ms_rng_below(&g.rng, 26), "10Gbps");
            g_array_append_val(core, i);
        }
        GPtrArray *trees = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
        for (guint32 i = 0; i < t; i++)
            g_ptr_array_add(trees, g_array_new(FALSE, FALSE, sizeof(guint32)));
        for (guint32 i = t; i < p.routers; i++) {
            guint32 tr = (guint32) ms_rng_below(&g.rng, t);
            GArray *tree = g_ptr_array_index(trees, tr);
            guint32 parent = tr;
            if (tree->len > 0 && ms_rng_uniform(&g.rng) < 0.6)
                parent = g_array_index(tree, guint32, ms_rng_below(&g.rng, tree->len));
            router_link(&g, ids, i, parent, 1 + (guint) ms_rng_below(&g.rng, 5), "1Gbps");
            g_array_append_val(tree, i);
            g_array_append_val(attach, i);
        }
        g_ptr_array_unref(trees);
    }
    if (attach->len == 0)
        g_array_append_vals(attach, core->data, core->len);

    GPtrArray *attach_ids = g_ptr_array_sized_new(attach->len);
    GPtrArray *core_ids = g_ptr_array_sized_new(core->len);
    for (guint i = 0; i < attach->len; i++)
        g_ptr_array_add(attach_ids, (char *) ids[g_array_index(attach, guint32, i)]);
    for (guint i = 0; i < core->len; i++)
        g_ptr_array_add(core_ids, (char *) ids[g_array_index(core, guint32, i)]);
    MsGenSites sites = { attach_ids, NULL, core_ids };
    place_mail(&g, &p, &sites);
    g_ptr_array_unref(attach_ids);
    g_ptr_array_unref(core_ids);
    g_array_free(attach, TRUE);
    g_array_free(core, TRUE);
    g_free(ids);
    g_hash_table_destroy(g.edges);
    return g.w;
}

void
ms_generate_elements(const MsGenParams *params, GString *out)
{
    g_autoptr(MsGenWorld) w = ms__gen_world_new(params);
    ms__gen_world_write(w, out);
}

guint32
ms_generate_mail_elements(const MsGenParams *in, const MsGenSites *sites, guint32 next_addr,
                          GString *out)
{
    g_return_val_if_fail(sites && sites->attach->len > 0 && sites->core->len > 0, next_addr);
    MsGenParams p = *in;
    ms_gen_params_defaults(&p);
    p.domains = MAX(p.domains, 1u);
    Gen g = { world_new(), { { 0 } }, next_addr, NULL };
    ms_rng_init_named(&g.rng, p.seed, "place-mail");
    place_mail(&g, &p, sites);
    ms__gen_world_write(g.w, out);
    ms__gen_world_free(g.w);
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
