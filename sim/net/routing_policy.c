/* Policy routing for the network layer (include/mailsim/net.h,
 * MS_ROUTE_BY_POLICY): which link a packet takes next when ASes route by
 * their business relationships rather than by shortest path. routing.c asks
 * for a destination's next-hop table (ms__net_policy_routes()) exactly where
 * it would run its shortest-path search, and packs, keeps, drops and looks
 * tables up as it does for the other metrics: the same lazy,
 * per-destination, byte-a-host tables.
 *
 * Model. Each host belongs to an AS (ms_net_set_host_as(); hosts without
 * one share AS 0); each link between two ASes says how they relate
 * (ms_net_set_link_relation(): a's AS is a provider of b's, or they are
 * peers). Between ASes, routes follow the Gao-Rexford conditions, the
 * model under which BGP's path vector is known to converge (Gao and
 * Rexford, "Stable Internet routing without global coordination", 2001):
 *  - export: an AS offers its customers every route it uses, and its peers
 *    and providers only its own and its customers' routes; so a path is
 *    "valley-free": zero or more customer-to-provider steps, at most one
 *    peer step, then zero or more provider-to-customer steps, never
 *    transit between two peers or two providers;
 *  - preference: a route learned from a customer over one from a peer over
 *    one from a provider (customers pay, peers are free, providers cost),
 *    then the shortest AS path, then the lowest latency;
 *  - inside an AS: shortest latency (an IGP), leaving by the exit the
 *    latency favours (hot potato) among the links to the AS chosen.
 * A link between two ASes with no relation carries nothing between them.
 *
 * Computation, per destination host d in AS D, in three phases over ASes
 * then one search over hosts. Customer routes: a breadth-first search from
 * D up the customer-to-provider edges, so every AS that reaches D going
 * only down gets rank CUSTOMER and its shortest such AS path. Peer routes:
 * an AS without one takes a peer's customer route (length + 1). Provider
 * routes: a Dijkstra search by AS-path length from every AS with a route,
 * down the provider-to-customer edges (a provider hands any route to its
 * customers). An AS X may then use neighbour AS Y when Y is of the class X
 * ranks by and len(Y) + 1 = len(X): len strictly falls along such steps,
 * so the AS-level choices form no loop, and every AS's choice is a route
 * its next AS really uses and exports to it (its best is a customer route
 * whenever X learned a customer or peer route from it). Finally, a
 * Dijkstra search by latency from d over hosts, crossing a link only inside
 * one AS or from X to a Y that X may use, gives each host its next link:
 * the shortest-latency path among the preferred valley-free ones.
 *
 * Costs: the AS graph (dense indices, adjacency with relations) is built
 * once per routing epoch, O(V + E); a destination's table is O(E log V)
 * like a shortest-path table, plus O(ASes) scratch freed at once. Memory
 * held: the same packed tables as the other metrics (routing.c: a byte per
 * host per destination, more only for hosts of 254 links or more), plus the
 * AS graph (8 bytes per inter-AS link end, 12 per host); the host-level
 * search walks routing.c's adjacency. Tree routing (routing.c) is off under this metric: its core
 * tables are shortest paths.
 *
 * Ownership: the network owns the policy state (MsNet.policy). Threading:
 * one engine, one thread. Determinism: ties break by AS index, then host
 * id, as in the shortest-path tables. */
#include "net-private.h"

#include <string.h>

enum { RANK_SELF, RANK_CUSTOMER, RANK_PEER, RANK_PROVIDER, RANK_NONE };

/* An edge of the AS graph as seen from one side: `rel` is what the other
 * AS is to this one. */
typedef enum { AS_CUSTOMER, AS_PEER, AS_PROVIDER } AsRel;

typedef struct {
    guint32 other; /* dense AS index */
    guint32 rel;   /* AsRel */
} AsEdge;

struct _MsNetPolicy {
    GArray *host_as;  /* guint32 AS number per host */
    GArray *link_rel; /* guint8 MsNetRelation per link */
    guint64 epoch;    /* route_epoch the AS graph below was built for; 0 = none */
    guint32 n_as;     /* dense ASes */
    guint32 *as_num;  /* dense index -> AS number */
    guint32 *as_of;   /* host -> dense index */
    guint32 *adj_off; /* CSR over dense ASes */
    AsEdge *adj;
};

static MsNetPolicy *
policy(MsNet *n)
{
    if (!n->policy) {
        n->policy = g_new0(MsNetPolicy, 1);
        n->policy->host_as = g_array_new(FALSE, TRUE, sizeof(guint32));
        n->policy->link_rel = g_array_new(FALSE, TRUE, sizeof(guint8));
    }
    return n->policy;
}

static void
drop_graph(MsNetPolicy *p)
{
    g_clear_pointer(&p->as_num, g_free);
    g_clear_pointer(&p->as_of, g_free);
    g_clear_pointer(&p->adj_off, g_free);
    g_clear_pointer(&p->adj, g_free);
    p->epoch = 0;
}

void
ms__net_policy_free(MsNetPolicy *p)
{
    if (!p)
        return;
    drop_graph(p);
    g_array_free(p->host_as, TRUE);
    g_array_free(p->link_rel, TRUE);
    g_free(p);
}

gsize
ms__net_policy_bytes(const MsNetPolicy *p)
{
    if (!p)
        return 0;
    gsize b = p->host_as->len * sizeof(guint32) + p->link_rel->len;
    if (p->as_of) {
        guint nh = p->host_as->len;
        b += (gsize) nh * sizeof(guint32) * 2 + (gsize) (p->n_as + 1) * sizeof(guint32) +
             p->adj_off[p->n_as] * sizeof(AsEdge);
    }
    return b;
}

void
ms_net_set_host_as(MsNet *n, MsHostId h, guint32 asn)
{
    g_return_if_fail(HOST_OK(n, h));
    MsNetPolicy *p = policy(n);
    if (p->host_as->len <= h)
        g_array_set_size(p->host_as, h + 1);
    g_array_index(p->host_as, guint32, h) = asn;
    ms__net_drop_routes(n);
}

guint32
ms_net_host_as(MsNet *n, MsHostId h)
{
    g_return_val_if_fail(HOST_OK(n, h), 0);
    return n->policy && h < n->policy->host_as->len ? g_array_index(n->policy->host_as, guint32, h)
                                                    : 0;
}

void
ms_net_set_link_relation(MsNet *n, guint32 link, MsNetRelation rel)
{
    g_return_if_fail(LINK_OK(n, link));
    MsNetPolicy *p = policy(n);
    if (p->link_rel->len <= link)
        g_array_set_size(p->link_rel, link + 1);
    g_array_index(p->link_rel, guint8, link) = (guint8) rel;
    ms__net_drop_routes(n);
}

static MsNetRelation
link_rel(const MsNetPolicy *p, guint32 l)
{
    return l < p->link_rel->len ? (MsNetRelation) g_array_index(p->link_rel, guint8, l)
                                : MS_NET_REL_NONE;
}

static gint
u32_cmp(gconstpointer a, gconstpointer b)
{
    guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
    return x < y ? -1 : x > y;
}

/* A link that is up between two hosts that are up. */
static gboolean
usable(const MsNet *n, const MsNetLink *k)
{
    return k->up && host_at(n, k->a)->up && host_at(n, k->b)->up;
}

/* Dense AS indices (in AS number order) and the AS graph over the links
 * that are up between hosts that are up. */
static void
build_graph(MsNet *n)
{
    MsNetPolicy *p = policy(n);
    if (p->epoch == n->route_epoch && p->as_of)
        return;
    drop_graph(p);
    guint nh = n->hosts->len;
    if (p->host_as->len < nh)
        g_array_set_size(p->host_as, nh);
    g_autofree guint32 *sorted = g_memdup2(p->host_as->data, sizeof(guint32) * MAX(nh, 1u));
    qsort(sorted, nh, sizeof(guint32), u32_cmp);
    p->as_num = g_new(guint32, MAX(nh, 1u));
    p->n_as = 0;
    for (guint i = 0; i < nh; i++)
        if (i == 0 || sorted[i] != sorted[i - 1])
            p->as_num[p->n_as++] = sorted[i];
    p->as_of = g_new(guint32, MAX(nh, 1u));
    for (guint h = 0; h < nh; h++) {
        guint32 asn = g_array_index(p->host_as, guint32, h);
        guint lo = 0, hi = p->n_as;
        while (lo + 1 < hi) {
            guint mid = (lo + hi) / 2;
            if (p->as_num[mid] <= asn)
                lo = mid;
            else
                hi = mid;
        }
        p->as_of[h] = lo;
    }
    p->adj_off = g_new0(guint32, p->n_as + 1);
    for (guint32 l = 0; l < n->links->len; l++) {
        const MsNetLink *k = link_at(n, l);
        if (link_rel(p, l) == MS_NET_REL_NONE || p->as_of[k->a] == p->as_of[k->b] || !usable(n, k))
            continue;
        p->adj_off[p->as_of[k->a] + 1]++;
        p->adj_off[p->as_of[k->b] + 1]++;
    }
    for (guint i = 0; i < p->n_as; i++)
        p->adj_off[i + 1] += p->adj_off[i];
    p->adj = g_new(AsEdge, MAX(p->adj_off[p->n_as], 1u));
    g_autofree guint32 *fill = g_memdup2(p->adj_off, sizeof(guint32) * (p->n_as + 1));
    for (guint32 l = 0; l < n->links->len; l++) {
        const MsNetLink *k = link_at(n, l);
        MsNetRelation r = link_rel(p, l);
        guint32 x = p->as_of[k->a], y = p->as_of[k->b];
        if (r == MS_NET_REL_NONE || x == y || !usable(n, k))
            continue;
        /* What b's AS is to a's, and a's to b's. */
        AsRel ba = r == MS_NET_REL_PEER ? AS_PEER : AS_CUSTOMER;
        AsRel ab = r == MS_NET_REL_PEER ? AS_PEER : AS_PROVIDER;
        p->adj[fill[x]++] = (AsEdge){ y, ba };
        p->adj[fill[y]++] = (AsEdge){ x, ab };
    }
    /* The host-level searches walk routing.c's adjacency (every host's
     * links in link order: the same tie-breaks as the other metrics). */
    ms__net_adjacency(n);
    p->epoch = n->route_epoch;
}

/* The AS-level routes towards dense AS d: rank and AS-path length of each
 * AS (RANK_NONE: no route). */
static void
as_routes(MsNetPolicy *p, guint32 d, guint8 *rank, guint32 *len)
{
    guint32 na = p->n_as;
    for (guint32 i = 0; i < na; i++) {
        rank[i] = RANK_NONE;
        len[i] = G_MAXUINT32;
    }
    rank[d] = RANK_SELF;
    len[d] = 0;
    /* Customer routes: up from d, breadth first. */
    g_autofree guint32 *queue = g_new(guint32, MAX(na, 1u));
    guint qh = 0, qt = 0;
    queue[qt++] = d;
    while (qh < qt) {
        guint32 y = queue[qh++];
        for (guint32 k = p->adj_off[y]; k < p->adj_off[y + 1]; k++) {
            guint32 x = p->adj[k].other;
            if (p->adj[k].rel == AS_PROVIDER && rank[x] == RANK_NONE) {
                rank[x] = RANK_CUSTOMER;
                len[x] = len[y] + 1;
                queue[qt++] = x;
            }
        }
    }
    /* Peer routes: a peer's customer (or own) route, one step longer. */
    for (guint32 x = 0; x < na; x++) {
        if (rank[x] != RANK_NONE)
            continue;
        guint32 best = G_MAXUINT32;
        for (guint32 k = p->adj_off[x]; k < p->adj_off[x + 1]; k++) {
            guint32 y = p->adj[k].other;
            if (p->adj[k].rel == AS_PEER && rank[y] <= RANK_CUSTOMER)
                best = MIN(best, len[y] + 1);
        }
        if (best != G_MAXUINT32) {
            rank[x] = RANK_PEER;
            len[x] = best;
        }
    }
    /* Provider routes: down from every AS with a route, by length. Lengths
     * are small integers: buckets instead of a heap. */
    GPtrArray *buckets = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (guint32 x = 0; x < na; x++) {
        if (rank[x] == RANK_NONE)
            continue;
        while (buckets->len <= len[x])
            g_ptr_array_add(buckets, g_array_new(FALSE, FALSE, sizeof(guint32)));
        g_array_append_val(g_ptr_array_index(buckets, len[x]), x);
    }
    for (guint b = 0; b < buckets->len; b++) {
        GArray *bucket = g_ptr_array_index(buckets, b);
        for (guint i = 0; i < bucket->len; i++) {
            guint32 y = g_array_index(bucket, guint32, i);
            if (len[y] != b)
                continue;
            for (guint32 k = p->adj_off[y]; k < p->adj_off[y + 1]; k++) {
                guint32 c = p->adj[k].other;
                if (p->adj[k].rel != AS_CUSTOMER)
                    continue;
                if (rank[c] == RANK_NONE || (rank[c] == RANK_PROVIDER && len[c] > b + 1)) {
                    rank[c] = RANK_PROVIDER;
                    len[c] = b + 1;
                    if (buckets->len <= b + 1)
                        g_ptr_array_add(buckets, g_array_new(FALSE, FALSE, sizeof(guint32)));
                    g_array_append_val(g_ptr_array_index(buckets, b + 1), c);
                }
            }
        }
    }
    g_ptr_array_unref(buckets);
}

/* May AS x hand traffic for d to neighbour y, which is `rel` to x? */
static inline gboolean
may_use(const guint8 *rank, const guint32 *len, guint32 x, guint32 y, AsRel rel)
{
    if (rank[x] == RANK_NONE || rank[x] == RANK_SELF || rank[y] == RANK_NONE ||
        len[y] + 1 != len[x])
        return FALSE;
    switch (rank[x]) {
    case RANK_CUSTOMER:
        return rel == AS_CUSTOMER && rank[y] <= RANK_CUSTOMER;
    case RANK_PEER:
        return rel == AS_PEER && rank[y] <= RANK_CUSTOMER;
    default:
        return rel == AS_PROVIDER;
    }
}

guint32 *
ms__net_policy_routes(MsNet *n, MsHostId dst)
{
    build_graph(n);
    MsNetPolicy *p = n->policy;
    guint nh = n->hosts->len;
    g_autofree guint8 *rank = g_new(guint8, MAX(p->n_as, 1u));
    g_autofree guint32 *len = g_new(guint32, MAX(p->n_as, 1u));
    as_routes(p, p->as_of[dst], rank, len);
    guint32 *next = g_new(guint32, MAX(nh, 1u));
    g_autofree gint64 *dist = g_new(gint64, MAX(nh, 1u));
    for (guint i = 0; i < nh; i++) {
        next[i] = NO_LINK;
        dist[i] = G_MAXINT64;
    }
    GArray *q = g_array_sized_new(FALSE, FALSE, sizeof(MsNetQItem), 1024);
    dist[dst] = 0;
    ms__net_q_push(q, (MsNetQItem){ 0, dst });
    while (q->len > 0) {
        MsNetQItem it = ms__net_q_pop(q);
        if (it.dist != dist[it.node])
            continue;
        if (it.node != dst && !host_at(n, it.node)->up)
            continue;
        guint32 y = p->as_of[it.node];
        for (guint32 k = n->adj_off[it.node]; k < n->adj_off[it.node + 1]; k++) {
            guint32 li = n->adj[k].link;
            const MsNetLink *l = link_at(n, li);
            if (!l->up)
                continue;
            MsHostId u = l->a == it.node ? l->b : l->a; /* would send to it.node over li */
            guint32 x = p->as_of[u];
            if (x != y) {
                MsNetRelation r = link_rel(p, li);
                if (r == MS_NET_REL_NONE)
                    continue;
                /* What y is to x across this link. */
                AsRel rel = r == MS_NET_REL_PEER ? AS_PEER
                            : (l->a == u)        ? AS_CUSTOMER /* u's AS provides for y */
                                                 : AS_PROVIDER;
                if (!may_use(rank, len, x, y, rel))
                    continue;
            }
            gint64 d = it.dist + MAX(l->p.latency, 1);
            if (d < dist[u]) {
                dist[u] = d;
                next[u] = li;
                ms__net_q_push(q, (MsNetQItem){ d, u });
            }
        }
    }
    g_array_free(q, TRUE);
    return next;
}

void
ms_net_latency_distances(MsNet *n, MsHostId dst, gint64 *dist)
{
    g_return_if_fail(HOST_OK(n, dst) && dist != NULL);
    build_graph(n);
    for (guint i = 0; i < n->hosts->len; i++)
        dist[i] = G_MAXINT64;
    GArray *q = g_array_new(FALSE, FALSE, sizeof(MsNetQItem));
    dist[dst] = 0;
    ms__net_q_push(q, (MsNetQItem){ 0, dst });
    while (q->len > 0) {
        MsNetQItem it = ms__net_q_pop(q);
        if (it.dist != dist[it.node] || (it.node != dst && !host_at(n, it.node)->up))
            continue;
        for (guint32 k = n->adj_off[it.node]; k < n->adj_off[it.node + 1]; k++) {
            const MsNetLink *l = link_at(n, n->adj[k].link);
            if (!l->up)
                continue;
            MsHostId o = l->a == it.node ? l->b : l->a;
            gint64 d = it.dist + MAX(l->p.latency, 1);
            if (d < dist[o]) {
                dist[o] = d;
                ms__net_q_push(q, (MsNetQItem){ d, o });
            }
        }
    }
    g_array_free(q, TRUE);
}

/* ---- narration ------------------------------------------------------------ */

static const char *
rank_name(guint8 r)
{
    static const char *const names[] = { "own", "customer", "peer", "provider", "no" };
    return names[MIN(r, (guint8) RANK_NONE)];
}

char *
ms_net_route_explain(MsNet *n, MsHostId from, MsHostId to)
{
    g_return_val_if_fail(HOST_OK(n, from) && HOST_OK(n, to), NULL);
    GString *s = g_string_new(NULL);
    g_autoptr(GArray) path = ms_net_route_path(n, from, to);
    if (n->metric != MS_ROUTE_BY_POLICY) {
        if (path->len == 0)
            g_string_append_printf(s, "no route from %s to %s", ms_net_host_name(n, from),
                                   ms_net_host_name(n, to));
        else
            g_string_append_printf(s, "%s to %s: %u hops, the shortest path by %s",
                                   ms_net_host_name(n, from), ms_net_host_name(n, to),
                                   path->len - 1,
                                   n->metric == MS_ROUTE_BY_HOPS ? "hop count" : "latency");
        return g_string_free(s, FALSE);
    }
    build_graph(n);
    MsNetPolicy *p = n->policy;
    guint32 x = p->as_of[from], d = p->as_of[to];
    g_autofree guint8 *rank = g_new(guint8, MAX(p->n_as, 1u));
    g_autofree guint32 *len = g_new(guint32, MAX(p->n_as, 1u));
    as_routes(p, d, rank, len);
    guint32 asx = p->as_num[x], asd = p->as_num[d];
    if (x == d) {
        g_string_append_printf(s,
                               "%s and %s are both in AS %u: the shortest path by latency "
                               "inside the AS (%u hops)",
                               ms_net_host_name(n, from), ms_net_host_name(n, to), asx,
                               path->len ? path->len - 1 : 0);
        return g_string_free(s, FALSE);
    }
    if (rank[x] == RANK_NONE || path->len == 0) {
        g_string_append_printf(s,
                               "AS %u has no valley-free route to AS %u: no customer, peer or "
                               "provider of it offers one",
                               asx, asd);
        return g_string_free(s, FALSE);
    }
    g_string_append_printf(s, "AS %u reaches AS %u by a %s route, AS path", asx, asd,
                           rank_name(rank[x]));
    guint32 last = G_MAXUINT32;
    for (guint i = 0; i < path->len; i++) {
        guint32 a = p->as_of[g_array_index(path, MsHostId, i)];
        if (a != last)
            g_string_append_printf(s, " %u", p->as_num[a]);
        last = a;
    }
    g_string_append_printf(s, " (%u AS hops)", len[x]);
    /* The best route of every other class x was offered, to say what the
     * preference overrode. */
    guint32 offer[RANK_NONE] = { G_MAXUINT32, G_MAXUINT32, G_MAXUINT32, G_MAXUINT32 };
    guint32 via[RANK_NONE] = { 0 };
    for (guint32 k = p->adj_off[x]; k < p->adj_off[x + 1]; k++) {
        guint32 y = p->adj[k].other;
        AsRel rel = p->adj[k].rel;
        guint8 cls = rel == AS_CUSTOMER ? RANK_CUSTOMER
                     : rel == AS_PEER   ? RANK_PEER
                                        : RANK_PROVIDER;
        /* Customers and peers only offer their customer routes. */
        if (rank[y] == RANK_NONE || (cls != RANK_PROVIDER && rank[y] > RANK_CUSTOMER))
            continue;
        if (len[y] + 1 < offer[cls]) {
            offer[cls] = len[y] + 1;
            via[cls] = p->as_num[y];
        }
    }
    for (guint8 c = RANK_CUSTOMER; c < RANK_NONE; c++) {
        if (c == rank[x] || offer[c] == G_MAXUINT32 || offer[c] >= len[x])
            continue;
        g_string_append_printf(s,
                               "; a %s route is preferred over a shorter %s route via AS %u "
                               "(%u AS hops)",
                               rank_name(rank[x]), rank_name(c), via[c], offer[c]);
    }
    if (rank[x] != RANK_CUSTOMER && offer[RANK_CUSTOMER] == G_MAXUINT32)
        g_string_append(s, "; no customer of it offers a route");
    return g_string_free(s, FALSE);
}
