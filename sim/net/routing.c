/* Routing for the network layer (include/mailsim/net.h): which link a
 * packet takes next. net.c asks per hop (ms__net_next_link()) or for a
 * whole path at once (ms__net_route_walk(), ms_net_route_links()); this
 * file answers from shortest-path tables it builds lazily and drops on any
 * change of topology or of an up/down state.
 *
 * Design. For each destination, a next-hop table (one link per host) from a
 * Dijkstra run rooted at the destination, built on first use and cached in
 * an array indexed by destination; any up/down change drops the cache. A
 * table is packed (MsNetRouteTable): one byte per host, the position of the
 * link among the host's own links, and for the few hosts with 254 links or
 * more a sorted side list of (host, link) pairs; a 75,000-AS graph's table
 * is then 75 KB instead of 300 KB at a link id per host. Ties
 * in distance break by host id, so routes are deterministic. Link weights
 * are the latency (at least 1 ns) or 1 per hop (ms_net_set_metric()).
 * Routes pinned by hand (ms_net_pin_route()) override every table. Under
 * MS_ROUTE_BY_POLICY the tables come from routing_policy.c instead, and
 * the tree routing below is off.
 *
 * Trees: most hosts of a large world hang off the meshed part of the graph
 * in trees (edge hosts; the stub routers of a transit-stub graph). Peeling
 * hosts of degree one until none is left splits the graph into a core and a
 * forest rooted at core hosts. A shortest path from or to a tree host is
 * forced inside its tree (up to the root, or down towards the destination),
 * and between roots it is the core's own shortest path: a tree hangs off one
 * host, so no shorter way passes through it, and the Dijkstra run rooted at
 * a tree host pops the core hosts in the same order, with the same ties, as
 * the run rooted at its root does (every distance shifted alike), so it picks
 * the same links. Hence while every link and every host with two or more
 * links is up, next hops come from the forest (parent links, Euler-tour
 * intervals for "is the destination below me") and from tables over core
 * hosts only, one per root a destination hangs off: exactly the routes of
 * the per-destination tables, for O(core) memory per table instead of
 * O(hosts) (a transit-stub world of 100,000 routers has 5,000 core hosts).
 * Otherwise (something is down, or the graph has no trees) the generic
 * tables above are used.
 *
 * Locality. Route look-ups grow costly with the world through cache misses,
 * not steps, so the tree tables are laid out for few loads: a core table
 * entry is 4, 8 or 16 bits (the position of the link among the core host's
 * core links, whose record also names the next core host), and a whole path
 * (ms_net_route_links(), net.c's express()) is read in one walk, up by
 * parent fields, across by one table row, down by one climb from the
 * destination, rather than one full look-up per hop.
 *
 * A host with a single link (a mail server, client or DNS server at the edge)
 * forwards for nobody, so its going down or up changes no table: only
 * changes to routers and links drop the cache (net.c's ms_net_set_host_up();
 * the benchmark worlds' MX outages would otherwise rebuild every table twice
 * per outage).
 *
 * Invariants: a table, once built, holds until the next drop; a walk and the
 * hop-by-hop look-ups give the same links; route_epoch changes whenever a
 * route may have. Costs: a generic table is O(E log V) to build and a byte
 * per host (plus 8 per host of 254 links or more), per destination used; the forest is O(V + E) per drop; a core
 * table O(E_core log V_core) and O(core) bits; a look-up O(1) in the core
 * plus the depth of the trees; a walk O(hops). The tables are dropped in
 * O(tables built), not O(hosts), so building a large world host by host
 * stays linear.
 *
 * Sharing: a core table depends on the topology and the link weights
 * alone (the forest is used only while everything that routes is up), so
 * the parts of a partitioned run in one process, each with the whole
 * topology, may share them (ms_net_share_routes()): each table is built
 * once between the parts instead of once per part, and outlives a fault's
 * drop of the forest in the share.
 *
 * Ownership: the network owns every table (the fields of MsNet that
 * sim/net/net-private.h marks as routing's) but those of a share, which
 * the share owns. Threading: one engine, one thread; a share's tables are
 * published by compare-and-swap and never change after, so networks on
 * different threads may use one share. The name build_core_routes is read by tools/bench.sh (callgrind
 * leaves the builds of the core tables out of its counts). */
#include "net-private.h"

#include <string.h>

/* A packed next-hop table towards one destination. hop[h] is the position
 * of h's next link among its links (adj[adj_off[h] + hop[h]]), HOP_NONE
 * when h has no route, HOP_WIDE when h has HOP_WIDE links or more and its
 * next link is in `wide`: (host, link) pairs sorted by host. */
struct _MsNetRouteTable {
    guint32 n_wide;
    guint32 *wide;
    guint8 hop[];
};

enum { HOP_WIDE = 0xFE, HOP_NONE = 0xFF };

/* A link between two core hosts, as seen from one of them. */
struct _MsNetCoreEdge {
    guint32 link;
    guint32 other;       /* core index */
    guint32 back;        /* the same link's position among other's core links */
    guint32 other_first; /* t_adj_first[other]: a walk's next step reads no other array */
    gint64 weight;
};

/* A core table entry: the position of the link to take among the core
 * links of the host (t_adj[t_adj_first[c] + entry]), or "none" (all bits
 * set). Entries are as narrow as the busiest core host allows: 4 bits below
 * 15 core links, else 8, else 16 (t_hop_bits), so that the tables of a
 * world's roots stay small enough for the cache (the large benchmark world:
 * 5,000 tables of 5,000 core hosts, 12.5 MB at 4 bits, 50 MB at 16). The
 * links of a core host are few and read often, so the extra step costs
 * little. */
typedef guint16 CoreHop; /* an entry while a table is computed */
#define CORE_NONE G_MAXUINT16

/* A host in tree routing. */
struct _MsNetTreeNode {
    guint32 parent_link; /* link towards its root; NO_LINK for core hosts */
    MsHostId parent;
    MsHostId attach;   /* the root (core host) of its tree; itself for core */
    guint32 tin, tout; /* Euler-tour interval of its subtree */
    guint32 cidx;      /* index among core hosts, or NO_HOST */
};

/* A link of a host in the adjacency rows. */
/* --- set-up and dropping ------------------------------------------------ */

/* Forgets the forest and the core tables. */
static void
drop_tree(MsNet *n)
{
    if (n->t_built) {
        for (guint i = 0; i < n->t_built->len; i++)
            g_free(n->t_routes[g_array_index(n->t_built, guint32, i)]);
        g_array_free(n->t_built, TRUE);
    }
    g_clear_pointer(&n->t_routes, g_free);
    g_clear_pointer(&n->tree, g_free);
    g_clear_pointer(&n->t_core, g_free);
    g_clear_pointer(&n->t_adj_first, g_free);
    g_clear_pointer(&n->t_adj, g_free);
    n->t_built = NULL;
    n->t_shared = FALSE;
    n->t_shared_built = 0;
    n->tree_state = 0;
}

static void
route_table_free(MsNetRouteTable *t)
{
    g_free(t->wide);
    g_free(t);
}

/* Forgets every next-hop table: O(tables built), not O(hosts), so that
 * building a large world host by host stays linear. */
void
ms__net_drop_routes(MsNet *n)
{
    n->route_epoch++;
    if (n->tree_state != 0)
        drop_tree(n);
    for (guint i = 0; i < n->cached->len; i++)
        g_clear_pointer(&n->routes[g_array_index(n->cached, MsHostId, i)], route_table_free);
    g_array_set_size(n->cached, 0);
}

void
ms_net_set_metric(MsNet *n, MsRouteMetric m)
{
    g_return_if_fail(n != NULL);
    n->metric = m;
    ms__net_drop_routes(n);
}

void
ms__net_routing_init(MsNet *n)
{
    n->metric = MS_ROUTE_BY_LATENCY;
    n->pinned = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    n->cached = g_array_new(FALSE, FALSE, sizeof(MsHostId));
}

void
ms__net_routing_clear(MsNet *n)
{
    ms__net_drop_routes(n);
    drop_tree(n);
    g_array_free(n->cached, TRUE);
    g_free(n->steps);
    g_free(n->routes);
    g_free(n->adj_off);
    g_free(n->adj);
    g_hash_table_destroy(n->pinned);
    g_clear_pointer(&n->policy, ms__net_policy_free);
}

void
ms__net_topology_changed(MsNet *n)
{
    n->adj_valid = FALSE;
    ms__net_drop_routes(n);
    if (n->hosts->len > n->n_routes) {
        guint cap = MAX(16u, n->n_routes * 2);
        n->routes = g_renew(MsNetRouteTable *, n->routes, cap);
        memset(n->routes + n->n_routes, 0, (cap - n->n_routes) * sizeof(MsNetRouteTable *));
        n->n_routes = cap;
    }
}

/* --- shortest paths --------------------------------------------------- */

typedef MsNetQItem QItem;

static void
build_adjacency(MsNet *n)
{
    guint nh = n->hosts->len;
    g_free(n->adj_off);
    g_free(n->adj);
    n->adj_off = g_new0(guint32, nh + 1);
    for (guint32 l = 0; l < n->links->len; l++) {
        n->adj_off[link_at(n, l)->a + 1]++;
        n->adj_off[link_at(n, l)->b + 1]++;
    }
    for (guint h = 0; h < nh; h++)
        n->adj_off[h + 1] += n->adj_off[h];
    n->adj = g_new(MsNetAdj, MAX(n->adj_off[nh], 1u));
    g_autofree guint32 *fill = g_memdup2(n->adj_off, sizeof(guint32) * nh);
    /* Links in index order per host, as the per-host lists hold them: the
     * same tie-breaks as before. */
    for (guint32 l = 0; l < n->links->len; l++) {
        MsNetLink *k = link_at(n, l);
        n->adj[fill[k->a]++] = (MsNetAdj){ k->b, l };
        n->adj[fill[k->b]++] = (MsNetAdj){ k->a, l };
    }
    n->adj_valid = TRUE;
}

void
ms__net_adjacency(MsNet *n)
{
    if (!n->adj_valid)
        build_adjacency(n);
}

static gboolean
qitem_less(const QItem *x, const QItem *y)
{
    return x->dist < y->dist || (x->dist == y->dist && x->node < y->node);
}

static void
q_push(GArray *q, QItem it)
{
    g_array_append_val(q, it);
    QItem *a = (QItem *) q->data;
    guint i = q->len - 1;
    while (i > 0 && qitem_less(&it, &a[(i - 1) / 2])) {
        a[i] = a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    a[i] = it;
}

static QItem
q_pop(GArray *q)
{
    QItem *a = (QItem *) q->data;
    QItem top = a[0], last = a[q->len - 1];
    g_array_set_size(q, q->len - 1);
    guint n = q->len, i = 0;
    for (;;) {
        guint c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && qitem_less(&a[c + 1], &a[c]))
            c++;
        if (!qitem_less(&a[c], &last))
            break;
        a[i] = a[c];
        i = c;
    }
    if (n > 0)
        a[i] = last;
    return top;
}

void
ms__net_q_push(GArray *q, MsNetQItem it)
{
    q_push(q, it);
}

MsNetQItem
ms__net_q_pop(GArray *q)
{
    return q_pop(q);
}

/* `next` (a link per host, NO_LINK for none) packed into a table. O(E):
 * each host's link is found among its own. */
static MsNetRouteTable *
pack_routes(MsNet *n, const guint32 *next)
{
    guint nh = n->hosts->len;
    if (!n->adj_valid)
        build_adjacency(n);
    MsNetRouteTable *t = g_malloc(sizeof *t + MAX(nh, 1u));
    GArray *wide = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint h = 0; h < nh; h++) {
        guint32 first = n->adj_off[h], deg = n->adj_off[h + 1] - first;
        t->hop[h] = HOP_NONE;
        if (next[h] == NO_LINK)
            continue;
        if (deg >= HOP_WIDE) {
            t->hop[h] = HOP_WIDE;
            guint32 pair[2] = { h, next[h] };
            g_array_append_vals(wide, pair, 2);
            continue;
        }
        for (guint32 k = 0; k < deg; k++)
            if (n->adj[first + k].link == next[h]) {
                t->hop[h] = (guint8) k;
                break;
            }
        g_assert(t->hop[h] != HOP_NONE); /* next[h] is one of h's links */
    }
    t->n_wide = wide->len / 2;
    t->wide = (guint32 *) g_array_free(wide, t->n_wide == 0);
    return t;
}

/* The link `t` gives host `at` (see MsNetRouteTable). */
static inline guint32
route_table_link(const MsNet *n, const MsNetRouteTable *t, MsHostId at)
{
    guint8 e = t->hop[at];
    if (G_LIKELY(e < HOP_WIDE))
        return n->adj[n->adj_off[at] + e].link;
    if (e == HOP_NONE)
        return NO_LINK;
    guint32 lo = 0, hi = t->n_wide;
    while (lo < hi) {
        guint32 mid = lo + (hi - lo) / 2;
        if (t->wide[2 * mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return t->wide[2 * lo + 1];
}

/* Next-hop table towards `dst`: for every host, the link to take. */
static guint32 *
shortest_routes(MsNet *n, MsHostId dst)
{
    guint nh = n->hosts->len;
    guint32 *next = g_new(guint32, nh);
    gint64 *dist = g_new(gint64, nh);
    for (guint i = 0; i < nh; i++) {
        next[i] = NO_LINK;
        dist[i] = G_MAXINT64;
    }
    if (!n->adj_valid)
        build_adjacency(n);
    GArray *q = g_array_sized_new(FALSE, FALSE, sizeof(QItem), 1024);
    dist[dst] = 0;
    q_push(q, (QItem){ 0, dst });
    while (q->len > 0) {
        QItem it = q_pop(q);
        if (it.dist != dist[it.node])
            continue;
        /* A down host forwards nothing (the destination itself may be down:
         * packets then die on arrival, which is what really happens). */
        if (it.node != dst && !host_at(n, it.node)->up)
            continue;
        for (guint32 k = n->adj_off[it.node]; k < n->adj_off[it.node + 1]; k++) {
            guint32 li = n->adj[k].link;
            MsNetLink *l = link_at(n, li);
            if (!l->up)
                continue;
            MsHostId other = n->adj[k].other;
            gint64 w = n->metric == MS_ROUTE_BY_HOPS ? 1 : MAX(l->p.latency, 1);
            gint64 d = it.dist + w;
            if (d < dist[other]) {
                dist[other] = d;
                next[other] = li;
                q_push(q, (QItem){ d, other });
            }
        }
    }
    g_array_free(q, TRUE);
    g_free(dist);
    return next;
}

/* --- tables shared between networks ------------------------------------ */

/* The core tables of one forest (ms_net_route_share_new() in
 * include/mailsim/net.h). `key` names the forest (a digest of the core
 * hosts, their links and weights and the table width), set by the first
 * network that attaches; rows[c] is published once, by compare-and-swap,
 * and never changes after. */
struct _MsNetRouteShare {
    GMutex lock; /* guards key and rows' allocation */
    guint64 key; /* 0: no forest yet */
    guint32 n;
    guint8 **rows;
};

MsNetRouteShare *
ms_net_route_share_new(void)
{
    MsNetRouteShare *s = g_new0(MsNetRouteShare, 1);
    g_mutex_init(&s->lock);
    return s;
}

void
ms_net_route_share_free(MsNetRouteShare *s)
{
    if (!s)
        return;
    for (guint32 i = 0; i < s->n; i++)
        g_free(s->rows[i]);
    g_free(s->rows);
    g_mutex_clear(&s->lock);
    g_free(s);
}

void
ms_net_share_routes(MsNet *n, MsNetRouteShare *share)
{
    g_return_if_fail(n != NULL);
    n->route_share = share;
    ms__net_drop_routes(n); /* the forest attaches when next built */
}

static inline guint64
mix(guint64 h, guint64 v)
{
    return (h ^ v) * 0x100000001b3ULL; /* FNV-1a, a word at a time */
}

/* Attaches the forest just built to n->route_share when it is the share's. */
static void
share_attach(MsNet *n)
{
    MsNetRouteShare *s = n->route_share;
    guint64 h = mix(mix(mix(0xcbf29ce484222325ULL, n->hosts->len), n->t_ncore), n->t_hop_bits);
    for (guint32 c = 0; c < n->t_ncore; c++)
        h = mix(h, n->t_core[c]);
    for (guint32 e = 0; e < n->t_adj_first[n->t_ncore]; e++) {
        const MsNetCoreEdge *ce = &n->t_adj[e];
        h = mix(mix(mix(h, ce->link), ce->other), (guint64) ce->weight);
    }
    h |= 1; /* never 0 */
    g_mutex_lock(&s->lock);
    if (s->key == 0) {
        s->key = h;
        s->n = n->t_ncore;
        s->rows = g_new0(guint8 *, MAX(s->n, 1u));
    }
    n->t_shared = s->key == h && s->n == n->t_ncore;
    g_mutex_unlock(&s->lock);
}

/* --- trees -------------------------------------------------------------- */

/* Peels the graph into core and forest (see the design comment); sets
 * tree_state to 1, or to -1 when something is down or nothing peels. */
static void
build_tree(MsNet *n)
{
    guint nh = n->hosts->len;
    /* The core tables are shortest paths: not policy routes. */
    if (n->metric == MS_ROUTE_BY_POLICY) {
        n->tree_state = -1;
        return;
    }
    for (guint i = 0; i < n->links->len; i++)
        if (!link_at(n, i)->up) {
            n->tree_state = -1;
            return;
        }
    for (guint i = 0; i < nh; i++)
        if (!host_at(n, i)->up && host_at(n, i)->degree > 1) {
            n->tree_state = -1;
            return;
        }
    ms__net_adjacency(n); /* each host's links, in index order */
    guint32 *deg = g_new(guint32, nh);
    gboolean *gone = g_new0(gboolean, nh);
    MsNetTreeNode *t = n->tree = g_new(MsNetTreeNode, MAX(nh, 1u));
    GArray *queue = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint i = 0; i < nh; i++) {
        deg[i] = host_at(n, i)->degree;
        t[i].parent_link = NO_LINK;
        t[i].parent = NO_HOST;
        if (deg[i] <= 1)
            g_array_append_val(queue, i);
    }
    guint peeled = 0;
    for (guint q = 0; q < queue->len; q++) {
        MsHostId v = g_array_index(queue, MsHostId, q);
        guint32 up_link = NO_LINK;
        MsHostId up = NO_HOST;
        for (guint32 k = n->adj_off[v]; k < n->adj_off[v + 1]; k++) {
            guint32 li = n->adj[k].link;
            MsHostId o = n->adj[k].other;
            if (!gone[o]) {
                up_link = li;
                up = o;
                break;
            }
        }
        if (up == NO_HOST)
            continue; /* the last host of a tree component: it stays, as a root */
        gone[v] = TRUE;
        peeled++;
        t[v].parent_link = up_link;
        t[v].parent = up;
        if (--deg[up] == 1)
            g_array_append_val(queue, up);
    }
    g_array_free(queue, TRUE);
    g_free(deg);
    if (peeled == 0) {
        g_free(gone);
        g_clear_pointer(&n->tree, g_free);
        n->tree_state = -1;
        return;
    }
    /* Core indices, children lists (CSR), and an iterative DFS per root. */
    n->t_ncore = 0;
    for (guint i = 0; i < nh; i++)
        t[i].cidx = gone[i] ? NO_HOST : n->t_ncore++;
    n->t_core = g_new(MsHostId, MAX(n->t_ncore, 1u));
    for (guint i = 0; i < nh; i++)
        if (!gone[i])
            n->t_core[t[i].cidx] = i;
    guint32 *first = g_new0(guint32, nh + 1);
    for (guint i = 0; i < nh; i++)
        if (gone[i])
            first[t[i].parent + 1]++;
    for (guint i = 0; i < nh; i++)
        first[i + 1] += first[i];
    guint32 *fill = g_memdup2(first, (nh + 1) * sizeof(guint32));
    MsHostId *kids = g_new(MsHostId, MAX(peeled, 1u));
    for (guint i = 0; i < nh; i++)
        if (gone[i])
            kids[fill[t[i].parent]++] = i;
    g_free(fill);
    guint32 clock = 0;
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(guint64)); /* host << 32 | next child */
    for (guint r = 0; r < n->t_ncore; r++) {
        MsHostId root = n->t_core[r];
        guint64 top = (guint64) root << 32;
        g_array_append_val(stack, top);
        t[root].attach = root;
        t[root].tin = clock++;
        while (stack->len > 0) {
            guint64 *e = &g_array_index(stack, guint64, stack->len - 1);
            MsHostId v = (MsHostId) (*e >> 32);
            guint32 c = (guint32) *e;
            if (first[v] + c < first[v + 1]) {
                (*e)++;
                MsHostId k = kids[first[v] + c];
                t[k].attach = root;
                t[k].tin = clock++;
                guint64 pushed = (guint64) k << 32;
                g_array_append_val(stack, pushed);
            } else {
                t[v].tout = clock;
                g_array_set_size(stack, stack->len - 1);
            }
        }
    }
    g_array_free(stack, TRUE);
    g_free(kids);
    g_free(first);
    g_free(gone);
    /* Links among core hosts, in each host's link order (so relaxations,
     * and ties, go as in shortest_routes). */
    n->t_adj_first = g_new0(guint32, n->t_ncore + 1);
    GArray *adj = g_array_new(FALSE, FALSE, sizeof(MsNetCoreEdge));
    for (guint c = 0; c < n->t_ncore; c++) {
        MsHostId v = n->t_core[c];
        for (guint32 k = n->adj_off[v]; k < n->adj_off[v + 1]; k++) {
            guint32 li = n->adj[k].link;
            const MsNetLink *l = link_at(n, li);
            MsHostId o = n->adj[k].other;
            if (t[o].cidx == NO_HOST)
                continue;
            MsNetCoreEdge ce = { li, t[o].cidx, 0, 0,
                                 n->metric == MS_ROUTE_BY_HOPS ? 1 : MAX(l->p.latency, 1) };
            g_array_append_val(adj, ce);
        }
        n->t_adj_first[c + 1] = adj->len;
    }
    n->t_adj = (MsNetCoreEdge *) g_array_free(adj, FALSE);
    for (guint32 e = 0; e < n->t_adj_first[n->t_ncore]; e++)
        n->t_adj[e].other_first = n->t_adj_first[n->t_adj[e].other];
    guint32 max_degree = 0;
    for (guint c = 0; c < n->t_ncore; c++)
        max_degree = MAX(max_degree, n->t_adj_first[c + 1] - n->t_adj_first[c]);
    if (max_degree >= CORE_NONE) {
        drop_tree(n); /* too many for a CoreHop: the generic tables serve */
        n->tree_state = -1;
        return;
    }
    n->t_hop_bits = max_degree < 0xF ? 4 : max_degree < 0xFF ? 8 : 16;
    /* Pair the two sides of each core link (each link appears twice). */
    guint32 *seen = g_new(guint32, MAX(n->links->len, 1u));
    for (guint i = 0; i < n->links->len; i++)
        seen[i] = G_MAXUINT32;
    for (guint32 e = 0; e < n->t_adj_first[n->t_ncore]; e++) {
        MsNetCoreEdge *ce = &n->t_adj[e];
        guint32 e1 = seen[ce->link];
        if (e1 == G_MAXUINT32) {
            seen[ce->link] = e;
            continue;
        }
        n->t_adj[e1].back = e - n->t_adj_first[n->t_adj[e1].other];
        ce->back = e1 - n->t_adj_first[ce->other];
    }
    g_free(seen);
    n->t_routes = g_new0(guint8 *, MAX(n->t_ncore, 1u));
    n->t_built = g_array_new(FALSE, FALSE, sizeof(guint32));
    n->tree_state = 1;
    if (n->route_share)
        share_attach(n);
}

/* Entry c of a packed core table: a link position, or `none` (all bits set). */
static inline guint32
core_hop(const MsNet *n, const guint8 *row, guint32 c)
{
    switch (n->t_hop_bits) {
    case 4:
        return (row[c >> 1] >> ((c & 1) << 2)) & 0xF;
    case 8:
        return row[c];
    default:
        return ((const guint16 *) row)[c];
    }
}

static inline guint32
core_none(const MsNet *n)
{
    return (1u << n->t_hop_bits) - 1;
}

static guint8 *
pack_core_row(const MsNet *n, const CoreHop *next, guint nc)
{
    if (n->t_hop_bits == 16)
        return g_memdup2(next, MAX(nc, 1u) * sizeof(CoreHop));
    gsize bytes = n->t_hop_bits == 8 ? nc : (nc + 1) / 2;
    guint8 *row = g_new0(guint8, MAX(bytes, 1u));
    guint32 none = core_none(n);
    for (guint c = 0; c < nc; c++) {
        guint32 v = next[c] == CORE_NONE ? none : next[c];
        if (n->t_hop_bits == 8)
            row[c] = (guint8) v;
        else
            row[c >> 1] |= (guint8) (v << ((c & 1) << 2));
    }
    return row;
}

/* shortest_routes() over core hosts only, rooted at core host `dst`; entries
 * by core index, packed. Queue items carry core indices; since core indices
 * follow host ids, ties break in the same order as there. */
static guint8 *
build_core_routes(MsNet *n, MsHostId dst)
{
    guint nc = n->t_ncore;
    CoreHop *next = g_new(CoreHop, MAX(nc, 1u));
    gint64 *dist = g_new(gint64, nc);
    for (guint i = 0; i < nc; i++) {
        next[i] = CORE_NONE;
        dist[i] = G_MAXINT64;
    }
    GArray *q = g_array_new(FALSE, FALSE, sizeof(QItem));
    guint32 root = n->tree[dst].cidx;
    dist[root] = 0;
    q_push(q, (QItem){ 0, root });
    while (q->len > 0) {
        QItem it = q_pop(q);
        if (it.dist != dist[it.node])
            continue;
        for (guint32 k = n->t_adj_first[it.node]; k < n->t_adj_first[it.node + 1]; k++) {
            const MsNetCoreEdge *ce = &n->t_adj[k];
            gint64 d = it.dist + ce->weight;
            if (d < dist[ce->other]) {
                dist[ce->other] = d;
                next[ce->other] = (CoreHop) ce->back;
                q_push(q, (QItem){ d, ce->other });
            }
        }
    }
    g_array_free(q, TRUE);
    g_free(dist);
    guint8 *row = pack_core_row(n, next, nc);
    g_free(next);
    return row;
}

/* The core table towards core index rc, built on first use: this
 * network's own, or the share's (built by whichever network needed it
 * first; the share owns it, so it is not in t_built). */
static const guint8 *
core_row(MsNet *n, guint32 rc)
{
    if (G_LIKELY(n->t_routes[rc]))
        return n->t_routes[rc];
    if (n->t_shared) {
        guint8 **slot = &n->route_share->rows[rc];
        guint8 *row = g_atomic_pointer_get(slot);
        if (!row) {
            guint8 *mine = build_core_routes(n, n->t_core[rc]);
            if (g_atomic_pointer_compare_and_exchange(slot, NULL, mine)) {
                row = mine;
                n->t_shared_built++;
            } else {
                g_free(mine); /* another network's, the same bytes */
                row = g_atomic_pointer_get(slot);
            }
        }
        return n->t_routes[rc] = row;
    }
    n->t_routes[rc] = build_core_routes(n, n->t_core[rc]);
    g_array_append_val(n->t_built, rc);
    return n->t_routes[rc];
}

/* The link from tree host or root `at` down towards `dst` below it. */
static guint32
link_down(MsNet *n, MsHostId at, MsHostId dst)
{
    MsHostId x = dst;
    while (n->tree[x].parent != at)
        x = n->tree[x].parent;
    return n->tree[x].parent_link;
}

guint32
ms__net_tree_next_link(MsNet *n, MsHostId at, MsHostId dst)
{
    if (at == dst)
        return NO_LINK;
    const MsNetTreeNode *a = &n->tree[at], *d = &n->tree[dst];
    if (a->cidx == NO_HOST) {
        if (a->tin < d->tin && d->tout <= a->tout)
            return link_down(n, at, dst);
        return a->parent_link;
    }
    MsHostId root = d->attach;
    if (root == at)
        return link_down(n, at, dst);
    guint32 rc = n->tree[root].cidx;
    guint32 hop = core_hop(n, core_row(n, rc), a->cidx);
    return hop == core_none(n) ? NO_LINK : n->t_adj[n->t_adj_first[a->cidx] + hop].link;
}

/* Appends link li to the walk's scratch (n->steps[0..*len)). */
static inline void
step(MsNet *n, guint *len, guint32 li)
{
    if (G_UNLIKELY(*len == n->steps_cap)) {
        n->steps_cap = MAX(64u, 2 * n->steps_cap);
        n->steps = g_renew(guint32, n->steps, n->steps_cap);
    }
    n->steps[(*len)++] = li;
}

/* ms_net_route_links() over the forest and core tables, the same links
 * tree_next_link() gives hop by hop, read with fewer loads: up the tree by
 * parent fields, across the core by one table row and the core links, and down
 * by climbing from the destination once (link_down() climbs once per hop).
 * Leaves the links in n->steps[0..*len); FALSE when there is no route, with
 * the links as far as the hop-by-hop look-ups would have gone (express()
 * walks them). */
static gboolean
tree_route_walk(MsNet *n, MsHostId from, MsHostId to, guint *len)
{
    const MsNetTreeNode *t = n->tree;
    const MsNetTreeNode *d = &t[to];
    MsHostId cur = from;
    /* Up while the destination is not below. */
    while (cur != to && t[cur].cidx == NO_HOST) {
        const MsNetTreeNode *a = &t[cur];
        if (a->tin < d->tin && d->tout <= a->tout)
            break;
        step(n, len, a->parent_link);
        cur = a->parent;
    }
    if (cur == to)
        return TRUE;
    if (t[cur].cidx != NO_HOST && cur != d->attach) {
        /* Across the core to the destination's root. */
        MsHostId root = d->attach;
        guint32 rc = t[root].cidx;
        const guint8 *row = core_row(n, rc);
        guint32 none = core_none(n);
        guint steps = 0;
        guint32 c = t[cur].cidx, first = n->t_adj_first[c];
        while (c != rc) {
            guint32 hop = core_hop(n, row, c);
            if (hop == none || ++steps > n->t_ncore)
                return FALSE;
            const MsNetCoreEdge *ce = &n->t_adj[first + hop];
            step(n, len, ce->link);
            c = ce->other;
            first = ce->other_first;
        }
        cur = root;
        if (cur == to)
            return TRUE;
    }
    /* Down: the destination lies below cur. */
    guint base = *len;
    for (MsHostId x = to; x != cur; x = t[x].parent)
        step(n, len, t[x].parent_link);
    guint32 *l = n->steps;
    for (guint i = base, j = *len - 1; i < j; i++, j--) {
        guint32 tmp = l[i];
        l[i] = l[j];
        l[j] = tmp;
    }
    return TRUE;
}

/* The walk above, appended to `links` in one copy. */
static gboolean
tree_route_links(MsNet *n, MsHostId from, MsHostId to, GArray *links)
{
    guint len = 0;
    gboolean ok = tree_route_walk(n, from, to, &len);
    g_array_append_vals(links, n->steps, len);
    return ok;
}

/* --- look-ups ----------------------------------------------------------- */

static inline guint32
next_link(MsNet *n, MsHostId at, MsHostId dst)
{
    if (G_UNLIKELY(g_hash_table_size(n->pinned) > 0)) {
        gint64 k = (gint64) at << 32 | dst;
        gpointer v = g_hash_table_lookup(n->pinned, &k);
        if (v)
            return GPOINTER_TO_UINT(v) - 1;
    }
    if (G_UNLIKELY(n->tree_state == 0))
        build_tree(n);
    if (n->tree_state > 0)
        return ms__net_tree_next_link(n, at, dst);
    if (G_UNLIKELY(!n->routes[dst])) {
        g_autofree guint32 *next = n->metric == MS_ROUTE_BY_POLICY
                                       ? ms__net_policy_routes(n, dst)
                                       : shortest_routes(n, dst);
        n->routes[dst] = pack_routes(n, next);
        g_array_append_val(n->cached, dst);
    }
    return route_table_link(n, n->routes[dst], at);
}

GArray *
ms_net_route_path(MsNet *n, MsHostId from, MsHostId to)
{
    g_return_val_if_fail(HOST_OK(n, from) && HOST_OK(n, to),
                         g_array_new(FALSE, FALSE, sizeof(MsHostId)));
    GArray *path = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    MsHostId cur = from;
    g_array_append_val(path, cur);
    while (cur != to) {
        guint32 li = next_link(n, cur, to);
        if (li == NO_LINK || path->len > n->hosts->len) {
            g_array_set_size(path, 0);
            break;
        }
        MsNetLink *l = link_at(n, li);
        cur = l->a == cur ? l->b : l->a;
        g_array_append_val(path, cur);
    }
    return path;
}

gboolean
ms_net_route_links(MsNet *n, MsHostId from, MsHostId to, GArray *links)
{
    g_return_val_if_fail(links != NULL, FALSE);
    g_array_set_size(links, 0);
    g_return_val_if_fail(HOST_OK(n, from) && HOST_OK(n, to), FALSE);
    if (g_hash_table_size(n->pinned) == 0) {
        if (G_UNLIKELY(n->tree_state == 0))
            build_tree(n);
        if (n->tree_state > 0) {
            if (tree_route_links(n, from, to, links))
                return TRUE;
            g_array_set_size(links, 0);
            return FALSE;
        }
    }
    MsHostId cur = from;
    while (cur != to) {
        guint32 li = next_link(n, cur, to);
        if (li == NO_LINK || links->len > n->hosts->len) {
            g_array_set_size(links, 0);
            return FALSE;
        }
        g_array_append_val(links, li);
        MsNetLink *l = link_at(n, li);
        cur = l->a == cur ? l->b : l->a;
    }
    return TRUE;
}

gsize
ms_net_routing_bytes(const MsNet *n)
{
    g_return_val_if_fail(n != NULL, 0);
    gsize bytes = 0;
    for (guint i = 0; i < n->cached->len; i++) {
        const MsNetRouteTable *t = n->routes[g_array_index(n->cached, MsHostId, i)];
        bytes += sizeof *t + n->hosts->len + (gsize) t->n_wide * 2 * sizeof(guint32);
    }
    if (n->t_built) {
        guint nc = n->t_ncore;
        gsize row = n->t_hop_bits == 16 ? (gsize) nc * 2 : n->t_hop_bits == 8 ? nc : (nc + 1) / 2;
        bytes += (gsize) (n->t_built->len + n->t_shared_built) * row;
    }
    return bytes + ms__net_policy_bytes(n->policy);
}

/* Unchecked: the flow model reads it before every transfer. */
guint64
ms_net_route_epoch(const MsNet *n)
{
    return n->route_epoch;
}

guint32
ms_net_path_mtu(MsNet *n, MsHostId from, MsHostId to)
{
    g_return_val_if_fail(HOST_OK(n, from) && HOST_OK(n, to), 0);
    guint32 mtu = G_MAXUINT32;
    MsHostId cur = from;
    for (guint steps = 0; cur != to; steps++) {
        guint32 li = next_link(n, cur, to);
        if (li == NO_LINK || steps > n->hosts->len)
            return 0;
        MsNetLink *l = link_at(n, li);
        mtu = MIN(mtu, l->p.mtu);
        cur = l->a == cur ? l->b : l->a;
    }
    return mtu == G_MAXUINT32 ? 65535 : mtu;
}

void
ms_net_pin_route(MsNet *n, MsHostId at, MsHostId dst, guint32 link)
{
    g_return_if_fail(HOST_OK(n, at) && HOST_OK(n, dst) && LINK_OK(n, link));
    gint64 k = (gint64) at << 32 | dst;
    g_hash_table_insert(n->pinned, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(link + 1));
}

guint32
ms__net_next_link_slow(MsNet *n, MsHostId at, MsHostId dst)
{
    return next_link(n, at, dst);
}

gboolean
ms__net_route_walk(MsNet *n, MsHostId from, MsHostId to, guint *len)
{
    /* Built even when something is pinned, as the single file did. */
    if (G_UNLIKELY(n->tree_state == 0))
        build_tree(n);
    *len = 0;
    if (n->tree_state <= 0 || g_hash_table_size(n->pinned) != 0)
        return FALSE;
    tree_route_walk(n, from, to, len);
    return TRUE;
}

/* --- shortest latencies, pair by pair -------------------------------------- */

/* Tree hosts climb to their root; between roots, a search of the core (see
 * ms_net_latency_distance() in include/mailsim/net.h). Exact: a tree joins
 * the rest of the graph at its root alone, so a path leaving it passes
 * there, and the only path inside it is the tree's own; every host with two
 * links or more is up while the forest is in use, and one with a single
 * link is never inside a path, so the up/down states the whole-graph
 * search honours change nothing. */
struct _MsNetDistances {
    MsNet *net;
    gboolean tree; /* the forest is in use */
    guint32 root;  /* the core index whose distances `core` holds, or NO_HOST */
    gint64 *core;  /* per core index: the shortest latency to core host `root` */
    MsHostId dst;  /* the destination whose distances `all` holds, or NO_HOST */
    gint64 *all;   /* per host: ms_net_latency_distances() */
};

static inline gint64
latency_weight(const MsNet *n, guint32 li)
{
    return MAX(link_at(n, li)->p.latency, 1);
}

MsNetDistances *
ms_net_distances_new(MsNet *n)
{
    g_return_val_if_fail(n != NULL, NULL);
    MsNetDistances *d = g_new0(MsNetDistances, 1);
    d->net = n;
    if (n->tree_state == 0 && n->hosts->len > 0)
        build_tree(n);
    d->tree = n->tree_state > 0;
    d->root = NO_HOST;
    d->dst = NO_HOST;
    return d;
}

void
ms_net_distances_free(MsNetDistances *d)
{
    if (!d)
        return;
    g_free(d->core);
    g_free(d->all);
    g_free(d);
}

/* d->core from core index `root`, by latency whatever the metric. */
static void
core_distances(MsNetDistances *d, guint32 root)
{
    MsNet *n = d->net;
    guint nc = n->t_ncore;
    if (!d->core)
        d->core = g_new(gint64, MAX(nc, 1u));
    gint64 *dist = d->core;
    for (guint i = 0; i < nc; i++)
        dist[i] = G_MAXINT64;
    GArray *q = g_array_new(FALSE, FALSE, sizeof(QItem));
    dist[root] = 0;
    q_push(q, (QItem){ 0, root });
    while (q->len > 0) {
        QItem it = q_pop(q);
        if (it.dist != dist[it.node])
            continue;
        for (guint32 k = n->t_adj_first[it.node]; k < n->t_adj_first[it.node + 1]; k++) {
            const MsNetCoreEdge *ce = &n->t_adj[k];
            gint64 w = it.dist + latency_weight(n, ce->link);
            if (w < dist[ce->other]) {
                dist[ce->other] = w;
                q_push(q, (QItem){ w, ce->other });
            }
        }
    }
    g_array_free(q, TRUE);
    d->root = root;
}

gint64
ms_net_latency_distance(MsNetDistances *d, MsHostId from, MsHostId to)
{
    g_return_val_if_fail(d != NULL && HOST_OK(d->net, from) && HOST_OK(d->net, to), G_MAXINT64);
    MsNet *n = d->net;
    if (!d->tree) {
        if (d->dst != to) {
            if (!d->all)
                d->all = g_new(gint64, n->hosts->len);
            ms_net_latency_distances(n, to, d->all);
            d->dst = to;
        }
        return d->all[from];
    }
    const MsNetTreeNode *t = n->tree;
    const MsNetTreeNode *dt = &t[to];
    gint64 sum = 0;
    MsHostId x = from;
    /* Up while `to` is not in x's subtree (x included). */
    while (t[x].cidx == NO_HOST && !(t[x].tin <= dt->tin && dt->tout <= t[x].tout)) {
        sum += latency_weight(n, t[x].parent_link);
        x = t[x].parent;
    }
    if (t[x].cidx != NO_HOST && dt->attach != x) {
        /* Across the core, from x to the root of `to`. */
        guint32 rc = t[dt->attach].cidx;
        if (d->root != rc)
            core_distances(d, rc);
        gint64 across = d->core[t[x].cidx];
        if (across == G_MAXINT64)
            return G_MAXINT64;
        sum += across;
        x = dt->attach;
    }
    /* Down: `to` lies in x's subtree. */
    for (MsHostId y = to; y != x; y = t[y].parent)
        sum += latency_weight(n, t[y].parent_link);
    return sum;
}
