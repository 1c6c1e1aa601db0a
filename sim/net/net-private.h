/* The network's state, shared by the two files of the net module: net.c
 * (hosts, links, packets in flight, forwarding, UDP) and routing.c (which
 * link a packet takes next: shortest-path tables, trees, route walks,
 * pinned routes). Not public: everything else reads the network through
 * include/mailsim/net.h.
 *
 * Who writes what: net.c owns hosts, links, slots, the address maps and the
 * counters; routing.c owns every field from `routes` to `steps_cap` (the
 * tables and their scratch) and only reads hosts and links. A change of
 * topology or of an up/down state reaches routing through
 * ms__net_drop_routes() (or ms__net_topology_changed() when hosts or links
 * were added). The field order is the one the single file had: the hot
 * fields of a forwarding step share cache lines as before. */
#pragma once

#include "mailsim/net.h"
#include "mailsim/shard.h"

#define NO_LINK G_MAXUINT32
#define NO_HOST G_MAXUINT32

/* A host's state for choosing ephemeral ports (ports.c). */
typedef struct _MsNetPorts MsNetPorts;

typedef struct {
    char *name;
    guint32 addr;
    MsHostRole role;
    gboolean up;
    guint16 ip_id;
    MsNetPorts *ports; /* ports.c; NULL until the host first picks a port */
    /* How many links have an end here; which ones, in index order, is
     * routing.c's adjacency (ms__net_adjacency()): a list per host cost two
     * allocations, about 130 bytes a host (1.4 MB of the medium world, in
     * every rank). */
    guint32 degree;
    GArray *udp; /* MsNetUdpBinding (net.c); few per host, scanned; NULL until a bind */
} MsNetHost;

/* What a link carries: when each direction is next free, its counters
 * and its open peak windows. Made on the link's first use (link_state()):
 * a part of a partitioned run holds every link of the world for routing
 * but sends on few of them, and this is three quarters of a link's bytes
 * (152 of 208: the medium world's 12,196 links, in every rank). Zero is the
 * state of a link never used. */
typedef struct {
    MsTime busy_until[2];
    MsLinkStats st;
    /* Peak utilisation (net_peak.c): per direction, the earliest window
     * still open (its start and busy time so far; busy 0: none open) and
     * the later open ones (MsNetWindow by start; NULL until needed). */
    MsTime win_start[2], win_busy[2];
    GArray *win_later[2];
} MsNetLinkState;

typedef struct {
    MsHostId a, b;
    MsLinkParams p;
    gboolean up;
    guint32 epoch;
    MsNetLinkState *s; /* NULL until first used; in the network's state blocks */
} MsNetLink;

/* A window of a link direction still open (net_peak.c). */
typedef struct {
    MsTime start, busy;
} MsNetWindow;

/* A piece of the log of closed windows a part of a partitioned run keeps
 * (net_peak.c): records of three varints, the link direction, the windows
 * since the previous record's (zigzag) and the busy nanoseconds. */
typedef struct _MsNetPeakChunk MsNetPeakChunk;

typedef struct {
    MsNetReceiveFunc func;
    gpointer user_data;
} MsNetReceiver;

/* Routing's own records, defined in routing.c. */
typedef struct _MsNetTreeNode MsNetTreeNode;
typedef struct _MsNetCoreEdge MsNetCoreEdge;
/* One of a host's links in routing.c's adjacency: the link and the host
 * at its other end. */
typedef struct _MsNetAdj {
    MsHostId other;
    guint32 link;
} MsNetAdj;
typedef struct _MsNetRouteTable MsNetRouteTable; /* routing.c's */
typedef struct _MsNetPolicy MsNetPolicy; /* routing_policy.c's */

struct _MsNet {
    MsEngine *engine;
    MsTrace *trace;
    GArray *hosts;       /* MsNetHost */
    GArray *links;       /* MsNetLink */
    GHashTable *by_name; /* name -> id+1; set-up and lookups only */
    GHashTable *by_addr; /* addr -> id+1 */
    /* The same map as a direct-indexed table while addresses are dense
     * (the generated worlds number hosts sequentially): entry addr -
     * addr_base holds id + 1, or 0. NULL while addresses are sparse. */
    guint32 *addr_ids;
    guint32 addr_base, addr_cap; /* the span addr_ids covers */
    guint32 addr_lo, addr_hi;    /* lowest and highest address in use */
    GArray *slots;               /* MsNetSlot (net.c) */
    guint32 free_slot;
    /* --- routing.c's ------------------------------------------------- */
    MsNetRouteTable **routes; /* per destination: packed next hops (routing.c), or NULL */
    guint n_routes;   /* length of routes (>= hosts) */
    GArray *cached;   /* MsHostId destinations whose table is built */
    /* Adjacency in compressed rows for the route searches: the links of
     * host h are adj[adj_off[h] .. adj_off[h + 1]); rebuilt after hosts or
     * links are added. */
    guint32 *adj_off;
    MsNetAdj *adj;
    gboolean adj_valid;
    /* tree routing (see routing.c); tree_state 0: not built, 1: in use, -1: not usable now */
    int tree_state;
    MsNetTreeNode *tree; /* per host, one cache line for a routing step */
    MsHostId *t_core;    /* core hosts by index */
    guint32 t_ncore;
    guint8 **t_routes;    /* per core index: packed next hops per core index, or NULL */
    guint t_hop_bits;     /* 4, 8 or 16: the width of a table entry */
    guint32 *t_adj_first; /* CSR of links between core hosts: per core index + 1 */
    MsNetCoreEdge *t_adj;
    GArray *t_built; /* core indices whose table this network built and owns */
    MsNetRouteShare *route_share; /* tables shared with other networks, or NULL (borrowed) */
    gboolean t_shared; /* route_share holds this forest's tables */
    guint32 t_shared_built; /* how many of them this network built */
    MsRouteMetric metric;
    MsNetPolicy *policy; /* ASes and relations (routing_policy.c), or NULL */
    GHashTable *pinned;  /* (host << 32 | dst) -> link + 1: routes set by hand */
    guint16 ev_arrive;   /* net.c's */
    guint64 route_epoch; /* bumped by ms__net_drop_routes() */
    guint32 *steps;      /* the route walk's scratch: the links as found (express() reads it) */
    guint steps_cap;
    /* --- net.c's again ----------------------------------------------- */
    gboolean express;
    MsShard *shard;          /* partitioned run: this part's shard, or NULL */
    MsNetTagOutFunc tag_out; /* message tags across parts (the mail layer's) */
    MsNetTagInFunc tag_in;
    gpointer tag_data;
    /* Tags cross by name once per pair of parts, then by the sender's tag
     * (export_packet()); per part: */
    guint32 tag_parts;
    GByteArray **tag_named; /* a bit per own tag whose name it was sent */
    GArray **tag_from;      /* by its tag: this part's (guint32, + 1; 0: not named yet) */
    MsNetReceiver recv_tcp, recv_udp;
    MsNetLossFunc loss_hook; /* ms_net_set_loss_hook(); NULL in worlds */
    gpointer loss_hook_data;
    MsNetStats stats;
    /* The windows a part closed, in closing order (net_peak.c): chunks
     * (MsNetPeakChunk), NULL until one is kept; the last one's start */
    GPtrArray *peak_log;
    MsTime peak_log_last;
    /* Per link, bit d set when other parts may count its direction d too
     * (net_peak.c); covers the first n_peak_shared links, NULL until needed */
    guint8 *peak_shared;
    guint32 n_peak_shared;
    /* The links' states (MsNetLinkState), in blocks of STATE_BLOCK that
     * never move; n_states of them handed out. */
    GPtrArray *state_blocks;
    guint32 n_states;
};

/* Argument checks of the public entry points (g_return_val_if_fail). */
#define HOST_OK(n, h) ((n) != NULL && (h) < (n)->hosts->len)
#define LINK_OK(n, l) ((n) != NULL && (l) < (n)->links->len)

static inline MsNetHost *
host_at(const MsNet *n, MsHostId id)
{
    return &g_array_index(n->hosts, MsNetHost, id);
}

static inline MsNetLink *
link_at(const MsNet *n, guint32 id)
{
    return &g_array_index(n->links, MsNetLink, id);
}

/* Gives link l a zeroed state (net.c). */
MsNetLinkState *ms__net_link_state_new(MsNet *net, MsNetLink *l);

/* Link l's state, made on first use. */
static inline MsNetLinkState *
link_state(MsNet *n, MsNetLink *l)
{
    return G_LIKELY(l->s != NULL) ? l->s : ms__net_link_state_new(n, l);
}

/* --- ports.c and the UDP part of net.c -------------------------------- */

void ms__net_ports_free(MsNetPorts *ports);

/* Is `port` bound by a UDP socket of `host`? */
gboolean ms__net_udp_bound(MsNet *net, MsHostId host, guint16 port);

/* --- net_peak.c ------------------------------------------------------ */

/* Counts `busy` time from `start` on link li's direction dir (0: leaving
 * end a) in the windows of MS_NET_PEAK_WINDOW: the busiest-second peak of
 * MsLinkStats. */
void ms__net_peak_account(MsNet *net, guint32 li, int dir, MsTime start, MsTime busy);
/* Frees a link's open windows, and a network's kept ones (ms_net_free()). */
void ms__net_peak_clear(MsNetLinkState *state);
void ms__net_peak_free_kept(MsNet *net);

/* --- routing.c ------------------------------------------------------- */

/* The binary heap routing.c's searches use, for routing_policy.c's: items
 * ordered by dist, then node. */
typedef struct {
    gint64 dist;
    guint32 node;
} MsNetQItem;
void ms__net_q_push(GArray *q, MsNetQItem item);
MsNetQItem ms__net_q_pop(GArray *q);

/* Builds routing.c's adjacency (adj_off, adj) if a change of topology
 * dropped it. */
void ms__net_adjacency(MsNet *net);

/* Policy routing (routing_policy.c): the next-hop table towards dst under
 * MS_ROUTE_BY_POLICY (caller owns it, as build_routes' tables), and the
 * state's destructor (NULL is fine). */
guint32 *ms__net_policy_routes(MsNet *net, MsHostId dst);
void ms__net_policy_free(MsNetPolicy *policy);
/* The bytes its AS graph holds (0 for NULL). */
gsize ms__net_policy_bytes(const MsNetPolicy *policy);

/* Sets up and frees routing's part of a network. */
void ms__net_routing_init(MsNet *net);
void ms__net_routing_clear(MsNet *net);

/* Forgets every table (an up/down change, a new metric) and bumps the
 * route epoch. O(tables built). */
void ms__net_drop_routes(MsNet *net);

/* A host or link was added: the adjacency is rebuilt on next use, every
 * table is dropped, and the per-destination array grows to the hosts. */
void ms__net_topology_changed(MsNet *net);

/* The link to take from `at` towards `dst`, or NO_LINK: the per-hop
 * look-up of forwarding, so the common case (trees in use, nothing pinned)
 * is inlined into the caller and makes one call, as when routing lived in
 * net.c; anything else (pinned routes, tables not built yet, the generic
 * tables) takes the full look-up, which builds what it needs. */
guint32 ms__net_tree_next_link(MsNet *net, MsHostId at, MsHostId dst);
guint32 ms__net_next_link_slow(MsNet *net, MsHostId at, MsHostId dst);

static inline guint32
ms__net_next_link(MsNet *n, MsHostId at, MsHostId dst)
{
    if (G_LIKELY(n->tree_state > 0) && G_LIKELY(g_hash_table_size(n->pinned) == 0))
        return ms__net_tree_next_link(n, at, dst);
    return ms__net_next_link_slow(n, at, dst);
}

/* The whole path from `from` to `to` in one walk, when the trees serve and
 * nothing is pinned: TRUE, with the links in net->steps[0 .. *len) (as far
 * as a route goes). FALSE otherwise (*len = 0): look up hop by hop with
 * ms__net_next_link(). */
gboolean ms__net_route_walk(MsNet *net, MsHostId from, MsHostId to, guint *len);
