/* The network layer (see include/mailsim/net.h): hosts, links, packets in
 * flight, forwarding, routing tables and UDP.
 *
 * Design. Hosts and links are dense arrays indexed by id. A packet in flight
 * lives in a pooled slot; its arrival at the next hop is one engine event
 * carrying (slot, link, link epoch). A link direction keeps only the time it
 * becomes free: the bytes still waiting are (busy_until - now) * bandwidth,
 * so a drop-tail queue needs no list and no departure events. A link going
 * down bumps its epoch: arrivals stamped with an older epoch are lost.
 *
 * Routing: for each destination, a next-hop table (one link per host) from a
 * Dijkstra run rooted at the destination, built on first use and cached in an
 * array indexed by destination; any up/down change drops the cache. Ties in
 * distance break by host id, so routes are deterministic. Cost: O(E log V)
 * per destination used, 4 bytes per host per destination used.
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
 * entry is two bytes (the position of the link among the core host's core
 * links, whose record also names the next core host), and a whole path
 * (ms_net_route_links(), express()) is read in one walk, up by parent
 * fields, across by one table row, down by one climb from the destination,
 * rather than one full look-up per hop. Host addresses map to ids through a
 * direct-indexed table while they are dense.
 *
 * A host with a single link (a mail server, client or DNS server at the edge)
 * forwards for nobody, so its going down or up changes no table: only
 * changes to routers and links drop the cache (the benchmark worlds' MX
 * outages would otherwise rebuild every table twice per outage).
 *
 * Express mode (flow level, ms_net_set_express): a packet crosses its whole
 * path in one event, store-and-forward without queueing; see
 * include/mailsim/net.h.
 *
 * Ownership: the network owns packets from ms_net_send() until they are
 * delivered or dropped. Threading: one engine, one thread. */
#include "mailsim/net.h"
#include "mailsim/shard.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(ms-net-error-quark, ms_net_error)

#define NO_LINK G_MAXUINT32
#define NO_HOST G_MAXUINT32

typedef struct {
    guint16          port;
    MsUdpReceiveFunc func;
    gpointer         user_data;
} UdpBinding;

typedef struct {
    char       *name;
    guint32     addr;
    MsHostRole  role;
    gboolean    up;
    guint16     next_port;
    guint16     ip_id;
    GArray     *links;      /* guint32 link indices */
    GArray     *udp;        /* UdpBinding; few per host, scanned */
} Host;

typedef struct {
    MsHostId     a, b;
    MsLinkParams p;
    gboolean     up;
    guint32      epoch;
    MsTime       busy_until[2];
    MsLinkStats  st;
} Link;

typedef struct {
    MsPacket pkt;
    guint32  next_free;
} Slot;

/* A link between two core hosts, as seen from one of them. */
typedef struct {
    guint32 link;
    guint32 other;        /* core index */
    guint32 back;         /* the same link's position among other's core links */
    guint32 other_first;  /* t_adj_first[other]: a walk's next step reads no other array */
    gint64  weight;
} CoreEdge;

/* A core table entry: the position of the link to take among the core
 * links of the host (t_adj[t_adj_first[c] + entry]), or "none" (all bits
 * set). Entries are as narrow as the busiest core host allows: 4 bits below
 * 15 core links, else 8, else 16 (t_hop_bits), so that the tables of a
 * world's roots stay small enough for the cache (the large benchmark world:
 * 5,000 tables of 5,000 core hosts, 12.5 MB at 4 bits, 50 MB at 16). The
 * links of a core host are few and read often, so the extra step costs
 * little. */
typedef guint16 CoreHop;   /* an entry while a table is computed */
#define CORE_NONE G_MAXUINT16

/* A host in tree routing. */
typedef struct {
    guint32  parent_link;   /* link towards its root; NO_LINK for core hosts */
    MsHostId parent;
    MsHostId attach;        /* the root (core host) of its tree; itself for core */
    guint32  tin, tout;     /* Euler-tour interval of its subtree */
    guint32  cidx;          /* index among core hosts, or NO_HOST */
} TreeNode;

typedef struct {
    MsNetReceiveFunc func;
    gpointer         user_data;
} Receiver;

struct _MsNet {
    MsEngine     *engine;
    MsTrace      *trace;
    GArray       *hosts;          /* Host */
    GArray       *links;          /* Link */
    GHashTable   *by_name;        /* name -> id+1; set-up and lookups only */
    GHashTable   *by_addr;        /* addr -> id+1 */
    /* The same map as a direct-indexed table while addresses are dense
     * (the generated worlds number hosts sequentially): entry addr -
     * addr_base holds id + 1, or 0. NULL while addresses are sparse. */
    guint32      *addr_ids;
    guint32       addr_base, addr_cap;  /* the span addr_ids covers */
    guint32       addr_lo, addr_hi;     /* lowest and highest address in use */
    GArray       *slots;          /* Slot */
    guint32       free_slot;
    guint32     **routes;         /* per destination: next-hop link per host, or NULL */
    guint         n_routes;       /* length of routes (= hosts) */
    GArray       *cached;         /* MsHostId destinations whose table is built */
    /* Adjacency in compressed rows for the route searches: the links of
     * host h are adj[adj_off[h] .. adj_off[h + 1]); rebuilt after hosts or
     * links are added. */
    guint32      *adj_off;
    struct Adj { MsHostId other; guint32 link; } *adj;
    gboolean      adj_valid;
    /* tree routing (see above); tree_state 0: not built, 1: in use, -1: not usable now */
    int           tree_state;
    TreeNode     *tree;           /* per host, one cache line for a routing step */
    MsHostId     *t_core;         /* core hosts by index */
    guint32       t_ncore;
    guint8      **t_routes;       /* per core index: packed next hops per core index, or NULL */
    guint         t_hop_bits;     /* 4, 8 or 16: the width of a table entry */
    guint32      *t_adj_first;    /* CSR of links between core hosts: per core index + 1 */
    CoreEdge     *t_adj;
    GArray       *t_built;        /* core indices whose table is built */
    MsRouteMetric metric;
    GHashTable   *pinned;         /* (host << 32 | dst) -> link + 1: routes set by hand */
    guint16       ev_arrive;
    guint64       route_epoch;    /* bumped by drop_routes() */
    guint32      *steps;          /* tree_route_walk()'s scratch: the links as found (express() reads it) */
    guint         steps_cap;
    gboolean      express;
    MsShard      *shard;          /* partitioned run: this part's shard, or NULL */
    MsNetTagOutFunc tag_out;      /* message tags across parts (the mail layer's) */
    MsNetTagInFunc  tag_in;
    gpointer        tag_data;
    Receiver      recv_tcp, recv_udp;
    MsNetStats    stats;
};

static void on_arrive(MsEngine *engine, const MsEvent *ev, gpointer user_data);
static void udp_receive(MsNet *net, MsHostId host, const MsPacket *p, gpointer user_data);

MsNet *
ms_net_new(MsEngine *engine)
{
    MsNet *n = g_new0(MsNet, 1);
    n->engine = engine;
    n->trace = ms_trace_new();
    n->hosts = g_array_new(FALSE, TRUE, sizeof(Host));
    n->links = g_array_new(FALSE, TRUE, sizeof(Link));
    n->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    n->by_addr = g_hash_table_new(g_direct_hash, g_direct_equal);
    n->slots = g_array_new(FALSE, TRUE, sizeof(Slot));
    n->free_slot = G_MAXUINT32;
    n->metric = MS_ROUTE_BY_LATENCY;
    n->pinned = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    n->cached = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    n->ev_arrive = ms_engine_register(engine, "net-arrive", on_arrive, n);
    n->recv_udp = (Receiver) { udp_receive, NULL };
    return n;
}

/* Forgets every next-hop table: O(tables built), not O(hosts), so that
 * building a large world host by host stays linear. */
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
    n->tree_state = 0;
}

static void
drop_routes(MsNet *n)
{
    n->route_epoch++;
    if (n->tree_state != 0)
        drop_tree(n);
    for (guint i = 0; i < n->cached->len; i++)
        g_clear_pointer(&n->routes[g_array_index(n->cached, MsHostId, i)], g_free);
    g_array_set_size(n->cached, 0);
}

void
ms_net_free(MsNet *n)
{
    if (!n)
        return;
    for (guint i = 0; i < n->hosts->len; i++) {
        Host *h = &g_array_index(n->hosts, Host, i);
        g_free(h->name);
        g_array_free(h->links, TRUE);
        g_array_free(h->udp, TRUE);
    }
    for (guint i = 0; i < n->slots->len; i++) {
        Slot *s = &g_array_index(n->slots, Slot, i);
        g_clear_pointer(&s->pkt.payload, g_bytes_unref);
    }
    drop_routes(n);
    drop_tree(n);
    g_array_free(n->cached, TRUE);
    g_free(n->steps);
    g_free(n->routes);
    g_free(n->adj_off);
    g_free(n->adj);
    g_array_free(n->slots, TRUE);
    g_array_free(n->hosts, TRUE);
    g_array_free(n->links, TRUE);
    g_hash_table_destroy(n->by_name);
    g_hash_table_destroy(n->by_addr);
    g_free(n->addr_ids);
    g_hash_table_destroy(n->pinned);
    ms_trace_free(n->trace);
    g_free(n);
}

MsEngine *ms_net_engine(MsNet *n) { return n->engine; }
MsTrace *ms_net_trace(MsNet *n) { return n->trace; }
void ms_net_set_metric(MsNet *n, MsRouteMetric m) { n->metric = m; drop_routes(n); }
guint ms_net_n_hosts(const MsNet *n) { return n->hosts->len; }
guint ms_net_n_links(const MsNet *n) { return n->links->len; }

static inline Host *
host_at(const MsNet *n, MsHostId id)
{
    return &g_array_index(n->hosts, Host, id);
}

static inline Link *
link_at(const MsNet *n, guint32 id)
{
    return &g_array_index(n->links, Link, id);
}

const char *ms_net_host_name(const MsNet *n, MsHostId h) { return host_at(n, h)->name; }
guint32 ms_net_host_addr(const MsNet *n, MsHostId h) { return host_at(n, h)->addr; }
MsHostRole ms_net_host_role(const MsNet *n, MsHostId h) { return host_at(n, h)->role; }
gboolean ms_net_host_is_up(const MsNet *n, MsHostId h) { return host_at(n, h)->up; }
gboolean ms_net_link_is_up(const MsNet *n, guint32 l) { return link_at(n, l)->up; }
const MsLinkParams *ms_net_link_params(const MsNet *n, guint32 l) { return &link_at(n, l)->p; }

void
ms_net_link_ends(const MsNet *n, guint32 l, MsHostId *a, MsHostId *b)
{
    *a = link_at(n, l)->a;
    *b = link_at(n, l)->b;
}

void
ms_net_link_stats(const MsNet *n, guint32 l, MsLinkStats *st)
{
    *st = link_at(n, l)->st;
}

void
ms_net_get_stats(const MsNet *n, MsNetStats *st)
{
    *st = n->stats;
}

MsHostId
ms_net_host_by_name(const MsNet *n, const char *name)
{
    gpointer v = g_hash_table_lookup(n->by_name, name);
    return v ? (MsHostId) (GPOINTER_TO_UINT(v) - 1) : NO_HOST;
}

/* One look-up per packet sent and several per message: the dense table
 * costs one load where the hash table costs three (hash, key, value) from
 * three arrays. */
MsHostId
ms_net_host_by_addr(const MsNet *n, guint32 addr)
{
    if (G_LIKELY(n->addr_ids != NULL)) {
        guint32 off = addr - n->addr_base;   /* wraps below addr_base: out of range */
        return off < n->addr_cap ? n->addr_ids[off] - 1 : NO_HOST;
    }
    gpointer v = g_hash_table_lookup(n->by_addr, GUINT_TO_POINTER(addr));
    return v ? (MsHostId) (GPOINTER_TO_UINT(v) - 1) : NO_HOST;
}

/* Keeps addr_ids in step with a host just added (id, addr). The table
 * spans addr_base .. addr_base + addr_cap - 1 and is used while that span stays
 * below four entries per host (plus a floor, for small worlds); it grows
 * by doubling towards higher addresses, so sequential numbering costs
 * O(1) amortised per host, and is rebuilt from the host array when an
 * address falls below it or when a sparse set of addresses becomes dense. */
static void
index_addr(MsNet *n, MsHostId id, guint32 addr)
{
    guint nh = n->hosts->len;
    if (nh == 1) {
        n->addr_lo = n->addr_hi = addr;
    } else {
        n->addr_lo = MIN(n->addr_lo, addr);
        n->addr_hi = MAX(n->addr_hi, addr);
    }
    guint64 span = (guint64) n->addr_hi - n->addr_lo + 1;
    guint64 limit = MAX(4 * (guint64) nh, 1024);
    if (span > limit) {
        g_clear_pointer(&n->addr_ids, g_free);
        n->addr_cap = 0;
        return;
    }
    if (!n->addr_ids || addr < n->addr_base || addr - n->addr_base >= n->addr_cap) {
        /* Rebuild from the lowest address, with room above for growth. */
        n->addr_base = n->addr_lo;
        n->addr_cap = (guint32) MAX(MIN(MAX(2 * span, 64), limit), span);
        g_free(n->addr_ids);
        n->addr_ids = g_new0(guint32, n->addr_cap);
        for (MsHostId h = 0; h + 1 < nh; h++)
            n->addr_ids[host_at(n, h)->addr - n->addr_base] = h + 1;
    }
    n->addr_ids[addr - n->addr_base] = id + 1;
}

MsHostId
ms_net_add_host(MsNet *n, const char *name, guint32 addr, MsHostRole role, GError **error)
{
    g_return_val_if_fail(name != NULL, NO_HOST);
    if (g_hash_table_contains(n->by_name, name)) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "duplicate host name '%s'", name);
        return NO_HOST;
    }
    if (addr == 0 || g_hash_table_contains(n->by_addr, GUINT_TO_POINTER(addr))) {
        g_autofree char *a = ms_ipv4_to_string(addr);
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID,
                    "host '%s': address %s is %s", name, a, addr ? "already in use" : "not valid");
        return NO_HOST;
    }
    Host h = { g_strdup(name), addr, role, TRUE, 49152, 1,
               g_array_new(FALSE, FALSE, sizeof(guint32)), g_array_new(FALSE, FALSE, sizeof(UdpBinding)) };
    g_array_append_val(n->hosts, h);
    MsHostId id = n->hosts->len - 1;
    g_hash_table_insert(n->by_name, g_strdup(name), GUINT_TO_POINTER(id + 1));
    g_hash_table_insert(n->by_addr, GUINT_TO_POINTER(addr), GUINT_TO_POINTER(id + 1));
    index_addr(n, id, addr);
    n->adj_valid = FALSE;
    drop_routes(n);
    if (n->hosts->len > n->n_routes) {
        guint cap = MAX(16u, n->n_routes * 2);
        n->routes = g_renew(guint32 *, n->routes, cap);
        memset(n->routes + n->n_routes, 0, (cap - n->n_routes) * sizeof(guint32 *));
        n->n_routes = cap;
    }
    return id;
}

guint32
ms_net_add_link(MsNet *n, MsHostId a, MsHostId b, const MsLinkParams *p, GError **error)
{
    if (a >= n->hosts->len || b >= n->hosts->len) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "link: unknown host id %u",
                    a >= n->hosts->len ? a : b);
        return NO_LINK;
    }
    const char *an = host_at(n, a)->name, *bn = host_at(n, b)->name;
    const char *why = NULL;
    if (a == b)
        why = "a link must join two different hosts";
    else if (p->bandwidth_bps == 0)
        why = "bandwidth must be greater than zero";
    else if (p->mtu < 68)
        why = "MTU below 68 bytes (RFC 791 minimum)";
    else if (!(p->loss >= 0.0 && p->loss <= 1.0))
        why = "loss must be in [0, 1]";
    else if (p->latency < 0)
        why = "latency cannot be negative";
    if (why) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "link '%s'~'%s': %s", an, bn, why);
        return NO_LINK;
    }
    Link l = { 0 };
    l.a = a;
    l.b = b;
    l.p = *p;
    l.up = TRUE;
    g_array_append_val(n->links, l);
    guint32 id = n->links->len - 1;
    g_array_append_val(host_at(n, a)->links, id);
    g_array_append_val(host_at(n, b)->links, id);
    n->adj_valid = FALSE;
    drop_routes(n);
    return id;
}

/* --- routing ----------------------------------------------------------- */

typedef struct {
    gint64  dist;
    guint32 node;
} QItem;

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
    n->adj = g_new(struct Adj, MAX(n->adj_off[nh], 1u));
    g_autofree guint32 *fill = g_memdup2(n->adj_off, sizeof(guint32) * nh);
    /* Links in index order per host, as the per-host lists hold them: the
     * same tie-breaks as before. */
    for (guint32 l = 0; l < n->links->len; l++) {
        Link *k = link_at(n, l);
        n->adj[fill[k->a]++] = (struct Adj) { k->b, l };
        n->adj[fill[k->b]++] = (struct Adj) { k->a, l };
    }
    n->adj_valid = TRUE;
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

/* Next-hop table towards `dst`: for every host, the link to take. */
static guint32 *
build_routes(MsNet *n, MsHostId dst)
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
    q_push(q, (QItem) { 0, dst });
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
            Link *l = link_at(n, li);
            if (!l->up)
                continue;
            MsHostId other = n->adj[k].other;
            gint64 w = n->metric == MS_ROUTE_BY_HOPS ? 1 : MAX(l->p.latency, 1);
            gint64 d = it.dist + w;
            if (d < dist[other]) {
                dist[other] = d;
                next[other] = li;
                q_push(q, (QItem) { d, other });
            }
        }
    }
    g_array_free(q, TRUE);
    g_free(dist);
    return next;
}

/* Peels the graph into core and forest (see the design comment); sets
 * tree_state to 1, or to -1 when something is down or nothing peels. */
static void
build_tree(MsNet *n)
{
    guint nh = n->hosts->len;
    for (guint i = 0; i < n->links->len; i++)
        if (!link_at(n, i)->up) {
            n->tree_state = -1;
            return;
        }
    for (guint i = 0; i < nh; i++)
        if (!host_at(n, i)->up && host_at(n, i)->links->len > 1) {
            n->tree_state = -1;
            return;
        }
    guint32 *deg = g_new(guint32, nh);
    gboolean *gone = g_new0(gboolean, nh);
    TreeNode *t = n->tree = g_new(TreeNode, MAX(nh, 1u));
    GArray *queue = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint i = 0; i < nh; i++) {
        deg[i] = host_at(n, i)->links->len;
        t[i].parent_link = NO_LINK;
        t[i].parent = NO_HOST;
        if (deg[i] <= 1)
            g_array_append_val(queue, i);
    }
    guint peeled = 0;
    for (guint q = 0; q < queue->len; q++) {
        MsHostId v = g_array_index(queue, MsHostId, q);
        Host *h = host_at(n, v);
        guint32 up_link = NO_LINK;
        MsHostId up = NO_HOST;
        for (guint k = 0; k < h->links->len; k++) {
            guint32 li = g_array_index(h->links, guint32, k);
            Link *l = link_at(n, li);
            MsHostId o = l->a == v ? l->b : l->a;
            if (!gone[o]) {
                up_link = li;
                up = o;
                break;
            }
        }
        if (up == NO_HOST)
            continue;   /* the last host of a tree component: it stays, as a root */
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
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(guint64));   /* host << 32 | next child */
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
     * and ties, go as in build_routes). */
    n->t_adj_first = g_new0(guint32, n->t_ncore + 1);
    GArray *adj = g_array_new(FALSE, FALSE, sizeof(CoreEdge));
    for (guint c = 0; c < n->t_ncore; c++) {
        MsHostId v = n->t_core[c];
        Host *h = host_at(n, v);
        for (guint k = 0; k < h->links->len; k++) {
            guint32 li = g_array_index(h->links, guint32, k);
            Link *l = link_at(n, li);
            MsHostId o = l->a == v ? l->b : l->a;
            if (t[o].cidx == NO_HOST)
                continue;
            CoreEdge ce = { li, t[o].cidx, 0, 0, n->metric == MS_ROUTE_BY_HOPS ? 1 : MAX(l->p.latency, 1) };
            g_array_append_val(adj, ce);
        }
        n->t_adj_first[c + 1] = adj->len;
    }
    n->t_adj = (CoreEdge *) g_array_free(adj, FALSE);
    for (guint32 e = 0; e < n->t_adj_first[n->t_ncore]; e++)
        n->t_adj[e].other_first = n->t_adj_first[n->t_adj[e].other];
    guint32 max_degree = 0;
    for (guint c = 0; c < n->t_ncore; c++)
        max_degree = MAX(max_degree, n->t_adj_first[c + 1] - n->t_adj_first[c]);
    if (max_degree >= CORE_NONE) {
        drop_tree(n);   /* too many for a CoreHop: the generic tables serve */
        n->tree_state = -1;
        return;
    }
    n->t_hop_bits = max_degree < 0xF ? 4 : max_degree < 0xFF ? 8 : 16;
    /* Pair the two sides of each core link (each link appears twice). */
    guint32 *seen = g_new(guint32, MAX(n->links->len, 1u));
    for (guint i = 0; i < n->links->len; i++)
        seen[i] = G_MAXUINT32;
    for (guint32 e = 0; e < n->t_adj_first[n->t_ncore]; e++) {
        CoreEdge *ce = &n->t_adj[e];
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

/* build_routes() over core hosts only, rooted at core host `dst`; entries
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
    q_push(q, (QItem) { 0, root });
    while (q->len > 0) {
        QItem it = q_pop(q);
        if (it.dist != dist[it.node])
            continue;
        for (guint32 k = n->t_adj_first[it.node]; k < n->t_adj_first[it.node + 1]; k++) {
            const CoreEdge *ce = &n->t_adj[k];
            gint64 d = it.dist + ce->weight;
            if (d < dist[ce->other]) {
                dist[ce->other] = d;
                next[ce->other] = (CoreHop) ce->back;
                q_push(q, (QItem) { d, ce->other });
            }
        }
    }
    g_array_free(q, TRUE);
    g_free(dist);
    guint8 *row = pack_core_row(n, next, nc);
    g_free(next);
    return row;
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

static guint32
tree_next_link(MsNet *n, MsHostId at, MsHostId dst)
{
    if (at == dst)
        return NO_LINK;
    const TreeNode *a = &n->tree[at], *d = &n->tree[dst];
    if (a->cidx == NO_HOST) {
        if (a->tin < d->tin && d->tout <= a->tout)
            return link_down(n, at, dst);
        return a->parent_link;
    }
    MsHostId root = d->attach;
    if (root == at)
        return link_down(n, at, dst);
    guint32 rc = n->tree[root].cidx;
    if (G_UNLIKELY(!n->t_routes[rc])) {
        n->t_routes[rc] = build_core_routes(n, root);
        g_array_append_val(n->t_built, rc);
    }
    guint32 hop = core_hop(n, n->t_routes[rc], a->cidx);
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
    const TreeNode *t = n->tree;
    const TreeNode *d = &t[to];
    MsHostId cur = from;
    /* Up while the destination is not below. */
    while (cur != to && t[cur].cidx == NO_HOST) {
        const TreeNode *a = &t[cur];
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
        if (G_UNLIKELY(!n->t_routes[rc])) {
            n->t_routes[rc] = build_core_routes(n, root);
            g_array_append_val(n->t_built, rc);
        }
        const guint8 *row = n->t_routes[rc];
        guint32 none = core_none(n);
        guint steps = 0;
        guint32 c = t[cur].cidx, first = n->t_adj_first[c];
        while (c != rc) {
            guint32 hop = core_hop(n, row, c);
            if (hop == none || ++steps > n->t_ncore)
                return FALSE;
            const CoreEdge *ce = &n->t_adj[first + hop];
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
        return tree_next_link(n, at, dst);
    if (G_UNLIKELY(!n->routes[dst])) {
        n->routes[dst] = build_routes(n, dst);
        g_array_append_val(n->cached, dst);
    }
    return n->routes[dst][at];
}

GArray *
ms_net_route_path(MsNet *n, MsHostId from, MsHostId to)
{
    GArray *path = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    MsHostId cur = from;
    g_array_append_val(path, cur);
    while (cur != to) {
        guint32 li = next_link(n, cur, to);
        if (li == NO_LINK || path->len > n->hosts->len) {
            g_array_set_size(path, 0);
            break;
        }
        Link *l = link_at(n, li);
        cur = l->a == cur ? l->b : l->a;
        g_array_append_val(path, cur);
    }
    return path;
}

gboolean
ms_net_route_links(MsNet *n, MsHostId from, MsHostId to, GArray *links)
{
    g_array_set_size(links, 0);
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
        Link *l = link_at(n, li);
        cur = l->a == cur ? l->b : l->a;
    }
    return TRUE;
}

guint64 ms_net_route_epoch(const MsNet *n) { return n->route_epoch; }
void ms_net_set_express(MsNet *n, gboolean express) { n->express = express; }

void
ms_net_link_account(MsNet *n, guint32 li, MsHostId from, guint64 packets, guint64 bytes, MsTime busy)
{
    Link *l = link_at(n, li);
    int dir = l->a == from ? 0 : 1;
    l->st.packets[dir] += packets;
    l->st.bytes[dir] += bytes;
    l->st.busy[dir] += busy;
}

guint32
ms_net_path_mtu(MsNet *n, MsHostId from, MsHostId to)
{
    guint32 mtu = G_MAXUINT32;
    MsHostId cur = from;
    for (guint steps = 0; cur != to; steps++) {
        guint32 li = next_link(n, cur, to);
        if (li == NO_LINK || steps > n->hosts->len)
            return 0;
        Link *l = link_at(n, li);
        mtu = MIN(mtu, l->p.mtu);
        cur = l->a == cur ? l->b : l->a;
    }
    return mtu == G_MAXUINT32 ? 65535 : mtu;
}

void
ms_net_pin_route(MsNet *n, MsHostId at, MsHostId dst, guint32 link)
{
    gint64 k = (gint64) at << 32 | dst;
    g_hash_table_insert(n->pinned, g_memdup2(&k, sizeof k), GUINT_TO_POINTER(link + 1));
}

void
ms_net_set_host_up(MsNet *n, MsHostId h, gboolean up)
{
    if (host_at(n, h)->up == up)
        return;
    host_at(n, h)->up = up;
    /* A host with one link is never on anyone else's path (build_routes
     * relaxes through it only as a destination): no table changes. */
    if (host_at(n, h)->links->len > 1)
        drop_routes(n);
    else
        n->route_epoch++;
    if (ms_net_is_local(n, h))   /* told once, by the part that runs the host */
        ms_trace_emitf(n->trace, ms_engine_now(n->engine), MS_TRACE_NOTE, h, MS_HOST_WORLD, 0, "net",
                       "%s goes %s", host_at(n, h)->name, up ? "up" : "down");
}

void
ms_net_set_link_up(MsNet *n, guint32 li, gboolean up)
{
    Link *l = link_at(n, li);
    if (l->up == up)
        return;
    l->up = up;
    if (!up) {
        l->epoch++;
        MsTime now = ms_engine_now(n->engine);
        l->busy_until[0] = MIN(l->busy_until[0], now);
        l->busy_until[1] = MIN(l->busy_until[1], now);
    }
    drop_routes(n);
    if (ms_net_is_local(n, l->a))
        ms_trace_emitf(n->trace, ms_engine_now(n->engine), MS_TRACE_NOTE, l->a, l->b, 0, "net",
                       "link %s~%s goes %s", host_at(n, l->a)->name, host_at(n, l->b)->name,
                       up ? "up" : "down");
}

/* --- packets ---------------------------------------------------------- */

static guint32
slot_alloc(MsNet *n, const MsPacket *p)
{
    guint32 s;
    if (n->free_slot != G_MAXUINT32) {
        s = n->free_slot;
        n->free_slot = g_array_index(n->slots, Slot, s).next_free;
    } else {
        g_array_set_size(n->slots, n->slots->len + 1);
        s = n->slots->len - 1;
    }
    g_array_index(n->slots, Slot, s).pkt = *p;
    return s;
}

static void
slot_free(MsNet *n, guint32 s)
{
    Slot *sl = &g_array_index(n->slots, Slot, s);
    g_clear_pointer(&sl->pkt.payload, g_bytes_unref);
    sl->next_free = n->free_slot;
    n->free_slot = s;
}

static void
drop(MsNet *n, guint32 s, MsHostId at, MsDropReason why)
{
    n->stats.dropped++;
    n->stats.drops[why]++;
    if (ms_trace_enabled(n->trace)) {
        MsTraceRecord r = { 0 };
        r.at = ms_engine_now(n->engine);
        r.kind = MS_TRACE_PACKET_DROP;
        r.host = at;
        r.peer = MS_HOST_WORLD;
        r.code = why;
        r.packet = &g_array_index(n->slots, Slot, s).pkt;
        r.message = r.packet->message;
        r.text = ms_drop_reason_to_string(why);
        ms_trace_emit(n->trace, &r);
    }
    slot_free(n, s);
}

/* Serialisation time of p on l (size * 8 bits at the bandwidth, rounded up
 * to a nanosecond), counted in the link's statistics for direction dir. */
static MsTime
link_account(Link *l, int dir, const MsPacket *p)
{
    MsTime tx = (MsTime) (((guint64) p->size * 8 * 1000000000ULL + l->p.bandwidth_bps - 1) / l->p.bandwidth_bps);
    l->st.packets[dir]++;
    l->st.bytes[dir] += p->size;
    l->st.busy[dir] += tx;
    return tx;
}

static void
trace_send(MsNet *n, MsTime at, MsHostId from, MsHostId to, const MsPacket *p, guint32 li)
{
    if (!ms_trace_enabled(n->trace))
        return;
    MsTraceRecord r = { 0 };
    r.at = at;
    r.kind = MS_TRACE_PACKET_SEND;
    r.host = from;
    r.peer = to;
    r.packet = p;
    r.message = p->message;
    r.link = li;
    ms_trace_emit(n->trace, &r);
}

/* --- partitioned runs ---------------------------------------------------- */

/* A packet crossing a cut link leaves this part as a blob: its header (the
 * payload pointer cleared), the tag's name (message ids are per part, so
 * the mail message a packet belongs to travels as its Message-ID: 16-bit
 * length, then the bytes), then the payload bytes. */
static void
export_packet(MsNet *n, guint32 s, MsTime at, MsHostId to, MsEventData d)
{
    MsPacket hdr = g_array_index(n->slots, Slot, s).pkt;
    gsize len = hdr.payload ? g_bytes_get_size(hdr.payload) : 0;
    const char *tag = hdr.message && n->tag_out ? n->tag_out(n->tag_data, hdr.message) : NULL;
    guint16 tag_len = tag ? (guint16) MIN(strlen(tag), G_MAXUINT16) : 0;
    const void *payload = hdr.payload ? g_bytes_get_data(hdr.payload, NULL) : NULL;
    hdr.payload = hdr.payload ? GUINT_TO_POINTER(1) : NULL;   /* NULL and empty differ */
    hdr.message = 0;
    d.u32[0] = G_MAXUINT32;
    /* Written straight into the outbox. */
    guint8 *w = ms_shard_send(n->shard, at, to, n->ev_arrive, d, sizeof hdr + sizeof tag_len + tag_len + len);
    if (w) {
        memcpy(w, &hdr, sizeof hdr);
        w += sizeof hdr;
        memcpy(w, &tag_len, sizeof tag_len);
        w += sizeof tag_len;
        if (tag_len)
            memcpy(w, tag, tag_len);
        w += tag_len;
        if (len)
            memcpy(w, payload, len);
    }
    slot_free(n, s);
}

static void
import_packet(gpointer user_data, MsShardEvent *ev, const guint8 *blob, gsize len)
{
    MsNet *n = user_data;
    MsPacket p;
    guint16 tag_len;
    g_return_if_fail(len >= sizeof p + sizeof tag_len);
    memcpy(&p, blob, sizeof p);
    memcpy(&tag_len, blob + sizeof p, sizeof tag_len);
    gsize off = sizeof p + sizeof tag_len + tag_len;
    g_return_if_fail(len >= off);
    if (tag_len && n->tag_in) {
        g_autofree char *tag = g_strndup((const char *) blob + sizeof p + sizeof tag_len, tag_len);
        p.message = n->tag_in(n->tag_data, tag);
    }
    p.payload = p.payload ? g_bytes_new(blob + off, len - off) : NULL;
    ev->data.u32[0] = slot_alloc(n, &p);
}

void
ms_net_set_tag_codec(MsNet *n, MsNetTagOutFunc out, MsNetTagInFunc in, gpointer user_data)
{
    n->tag_out = out;
    n->tag_in = in;
    n->tag_data = user_data;
}

void
ms_net_attach_shard(MsNet *n, MsShard *shard)
{
    g_return_if_fail(!n->express);
    n->shard = shard;
    ms_shard_set_import(shard, n->ev_arrive, import_packet, n);
}

gboolean
ms_net_is_local(const MsNet *n, MsHostId host)
{
    return n->shard == NULL || ms_shard_is_local(n->shard, host);
}

/* Puts the packet in slot s on the next link from host `from`. */
static gboolean
transmit(MsNet *n, MsHostId from, guint32 s)
{
    MsPacket *p = &g_array_index(n->slots, Slot, s).pkt;
    guint32 li = next_link(n, from, p->dst);
    if (li == NO_LINK) {
        drop(n, s, from, MS_DROP_NO_ROUTE);
        return FALSE;
    }
    Link *l = link_at(n, li);
    int dir = l->a == from ? 0 : 1;
    MsHostId to = dir == 0 ? l->b : l->a;
    MsTime now = ms_engine_now(n->engine);
    MsTime start = MAX(now, l->busy_until[dir]);
    /* Bytes waiting ahead of this packet, from the time the link stays busy. */
    guint64 waiting = (guint64) ((double) (start - now) * (double) l->p.bandwidth_bps / 8e9);
    if (waiting + p->size > l->p.queue_bytes && start > now) {
        l->st.drops_queue++;
        drop(n, s, from, MS_DROP_QUEUE_FULL);
        return FALSE;
    }
    MsTime tx = link_account(l, dir, p);
    l->busy_until[dir] = start + tx;
    trace_send(n, start, from, to, p, li);
    if (l->p.loss > 0 && ms_rng_bernoulli(ms_engine_host_rng(n->engine, from), l->p.loss)) {
        l->st.drops_loss++;
        drop(n, s, from, MS_DROP_LOSS);
        return TRUE;   /* it left the host; the link lost it */
    }
    MsEventData d = { { 0 } };
    d.u32[0] = s;
    d.u32[1] = li;
    d.u32[2] = l->epoch;
    if (G_UNLIKELY(n->shard != NULL) && !ms_shard_is_local(n->shard, to)) {
        export_packet(n, s, l->busy_until[dir] + l->p.latency, to, d);
        return TRUE;
    }
    ms_engine_schedule(n->engine, l->busy_until[dir] + l->p.latency, to, n->ev_arrive, d);
    return TRUE;
}

/* Express: the packet in slot s crosses its whole path now, as a chain of
 * store-and-forward hops computed here; one arrival event at the end. */
static gboolean
express(MsNet *n, MsHostId from, guint32 s)
{
    MsPacket *p = &g_array_index(n->slots, Slot, s).pkt;
    MsTime t = ms_engine_now(n->engine);
    MsHostId at = from;
    guint32 li = NO_LINK;
    guint hops = 0;
    /* With the trees in use, the path comes from one walk (as far as a
     * route goes); else from a look-up per hop. */
    if (G_UNLIKELY(n->tree_state == 0))
        build_tree(n);
    gboolean walk = n->tree_state > 0 && g_hash_table_size(n->pinned) == 0;
    guint walked = 0;   /* links of the walk, read from n->steps */
    if (walk)
        tree_route_walk(n, from, p->dst, &walked);
    while (at != p->dst) {
        if (walk)
            li = hops < walked ? n->steps[hops] : NO_LINK;
        else
            li = next_link(n, at, p->dst);
        if (li == NO_LINK) {
            drop(n, s, at, MS_DROP_NO_ROUTE);
            return hops > 0;
        }
        if (hops > 0 && --p->ttl == 0) {
            drop(n, s, at, MS_DROP_TTL);
            return TRUE;
        }
        if (hops > 0)
            n->stats.forwarded++;
        Link *l = link_at(n, li);
        int dir = l->a == at ? 0 : 1;
        MsHostId to = dir == 0 ? l->b : l->a;
        /* No queueing: the times at which the packet reaches later hops lie
         * in the future, and a link's busy_until, set by packets computed
         * earlier for their own future times, says nothing about who is
         * ahead then (datagrams are small; a queue would be a guess). */
        MsTime start = t;
        MsTime tx = link_account(l, dir, p);
        if (hops == 0)
            trace_send(n, start, at, to, p, li);
        if (l->p.loss > 0 && ms_rng_bernoulli(ms_engine_host_rng(n->engine, at), l->p.loss)) {
            l->st.drops_loss++;
            drop(n, s, at, MS_DROP_LOSS);
            return TRUE;
        }
        t = start + tx + l->p.latency;
        at = to;
        hops++;
    }
    MsEventData d = { { 0 } };
    d.u32[0] = s;
    d.u32[1] = li;
    d.u32[2] = link_at(n, li)->epoch;
    ms_engine_schedule(n->engine, t, p->dst, n->ev_arrive, d);
    return TRUE;
}

static void
on_arrive(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsNet *n = user_data;
    (void) engine;
    guint32 s = ev->data.u32[0];
    Link *l = link_at(n, ev->data.u32[1]);
    MsHostId at = ev->host;
    if (l->epoch != ev->data.u32[2]) {
        l->st.drops_down++;
        drop(n, s, at, MS_DROP_LINK_DOWN);
        return;
    }
    if (!host_at(n, at)->up) {
        drop(n, s, at, MS_DROP_HOST_DOWN);
        return;
    }
    MsPacket *p = &g_array_index(n->slots, Slot, s).pkt;
    if (p->dst == at) {
        n->stats.delivered++;
        if (ms_trace_enabled(n->trace)) {
            MsTraceRecord r = { 0 };
            r.at = ev->at;
            r.kind = MS_TRACE_PACKET_DELIVER;
            r.host = at;
            r.peer = p->src;
            r.packet = p;
            r.message = p->message;
            ms_trace_emit(n->trace, &r);
        }
        Receiver *rc = p->proto == MS_IPPROTO_TCP ? &n->recv_tcp : &n->recv_udp;
        if (rc->func) {
            /* The receiver may send (and so grow the slot array): hand it a
             * copy of the header, and free the slot after. */
            MsPacket copy = *p;
            rc->func(n, at, &copy, rc->user_data);
        }
        slot_free(n, s);
        return;
    }
    if (--p->ttl == 0) {
        drop(n, s, at, MS_DROP_TTL);
        return;
    }
    n->stats.forwarded++;
    transmit(n, at, s);
}

gboolean
ms_net_send(MsNet *n, MsHostId from, MsPacket *p)
{
    Host *h = host_at(n, from);
    p->src = from;
    p->src_addr = h->addr;
    p->dst = ms_net_host_by_addr(n, p->dst_addr);
    p->ttl = p->ttl ? p->ttl : MS_DEFAULT_TTL;
    p->ip_id = h->ip_id++;
    gsize len = p->payload ? g_bytes_get_size(p->payload) : 0;
    p->size = (guint32) (MS_IPV4_HEADER + len +
                         (p->proto == MS_IPPROTO_TCP ? MS_TCP_HEADER + (p->mss ? 4 : 0) : MS_UDP_HEADER));
    guint32 s = slot_alloc(n, p);
    p->payload = NULL;  /* ownership moved into the slot */
    n->stats.sent++;
    if (!h->up) {
        drop(n, s, from, MS_DROP_HOST_DOWN);
        return FALSE;
    }
    MsHostId dst = g_array_index(n->slots, Slot, s).pkt.dst;
    if (dst == NO_HOST) {
        drop(n, s, from, MS_DROP_NO_ROUTE);
        return FALSE;
    }
    if (n->express && dst != from)
        return express(n, from, s);
    return transmit(n, from, s);
}

void
ms_net_set_receiver(MsNet *n, guint8 proto, MsNetReceiveFunc func, gpointer user_data)
{
    Receiver r = { func, user_data };
    if (proto == MS_IPPROTO_TCP)
        n->recv_tcp = r;
    else
        n->recv_udp = r;
}

/* --- UDP --------------------------------------------------------------- */

guint16
ms_net_ephemeral_port(MsNet *n, MsHostId host)
{
    Host *h = host_at(n, host);
    guint16 p = h->next_port;
    h->next_port = h->next_port == 65535 ? 49152 : h->next_port + 1;
    return p;
}

gboolean
ms_udp_bind(MsNet *n, MsHostId host, guint16 port, MsUdpReceiveFunc func, gpointer user_data)
{
    Host *h = host_at(n, host);
    for (guint i = 0; i < h->udp->len; i++)
        if (g_array_index(h->udp, UdpBinding, i).port == port)
            return FALSE;
    UdpBinding b = { port, func, user_data };
    g_array_append_val(h->udp, b);
    return TRUE;
}

void
ms_udp_unbind(MsNet *n, MsHostId host, guint16 port)
{
    Host *h = host_at(n, host);
    for (guint i = 0; i < h->udp->len; i++)
        if (g_array_index(h->udp, UdpBinding, i).port == port) {
            g_array_remove_index_fast(h->udp, i);
            return;
        }
}

gboolean
ms_udp_send(MsNet *n, MsHostId host, guint16 sport, guint32 dst_addr, guint16 dport, GBytes *payload)
{
    MsPacket p = { 0 };
    p.proto = MS_IPPROTO_UDP;
    p.sport = sport;
    p.dport = dport;
    p.dst_addr = dst_addr;
    p.payload = payload ? g_bytes_ref(payload) : NULL;
    return ms_net_send(n, host, &p);
}

static void
udp_receive(MsNet *n, MsHostId host, const MsPacket *p, gpointer user_data)
{
    (void) user_data;
    Host *h = host_at(n, host);
    for (guint i = 0; i < h->udp->len; i++) {
        UdpBinding *b = &g_array_index(h->udp, UdpBinding, i);
        if (b->port == p->dport) {
            /* Copy what we need: the callback may bind or unbind ports. */
            UdpBinding bb = *b;
            g_autoptr(GBytes) payload = p->payload ? g_bytes_ref(p->payload) : g_bytes_new(NULL, 0);
            bb.func(n, host, p->dport, p->src_addr, p->sport, payload, bb.user_data);
            return;
        }
    }
    n->stats.drops[MS_DROP_NO_LISTENER]++;
}

/* --- addresses --------------------------------------------------------- */

char *
ms_ipv4_format(guint32 a, char out[MS_IPV4_STRLEN])
{
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        guint v = (a >> shift) & 255;
        if (v >= 100)
            *p++ = (char) ('0' + v / 100);
        if (v >= 10)
            *p++ = (char) ('0' + v / 10 % 10);
        *p++ = (char) ('0' + v % 10);
        *p++ = shift ? '.' : '\0';
    }
    return out;
}

char *
ms_ipv4_to_string(guint32 a)
{
    char buf[MS_IPV4_STRLEN];
    return g_strdup(ms_ipv4_format(a, buf));
}

gboolean
ms_ipv4_parse(const char *text, guint32 *out)
{
    guint32 v = 0;
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        guint part = 0;
        int digits = 0;
        while (g_ascii_isdigit(*p)) {
            part = part * 10 + (guint) (*p++ - '0');
            if (++digits > 3 || part > 255)
                return FALSE;
        }
        v = v << 8 | part;
        if (i < 3 && *p++ != '.')
            return FALSE;
    }
    if (*p)
        return FALSE;
    *out = v;
    return TRUE;
}
