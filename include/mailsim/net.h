/* The network layer: hosts with IPv4-style addresses and roles,
 * point-to-point links (latency, bandwidth, MTU, loss, drop-tail queue),
 * shortest-path routing, hop-by-hop forwarding with TTL, and UDP. TCP-lite
 * (include/mailsim/tcp.h) sits on top of it; the mail layer above that.
 *
 * A packet of S bytes on a link of bandwidth B waits for the link to be free
 * (drop-tail: dropped when the bytes waiting would exceed the queue size),
 * takes S*8/B to serialise, then `latency` to propagate. Loss is drawn from
 * the sending host's random stream. Packets in flight on a link that goes
 * down are lost; routes are recomputed after any up/down change. */
#pragma once

#include <glib.h>
#include "mailsim/engine.h"
#include "mailsim/tcp_wire.h"
#include "mailsim/trace.h"

G_BEGIN_DECLS

typedef enum {
    MS_ROLE_CLIENT,
    MS_ROLE_MAILSERVER,
    MS_ROLE_DNS,
    MS_ROLE_RELAY,
    MS_ROLE_ROUTER,
    MS_ROLE_COUNT
} MsHostRole;

typedef enum {
    MS_ROUTE_BY_LATENCY,
    MS_ROUTE_BY_HOPS,
    MS_ROUTE_BY_POLICY, /* valley-free between ASes, latency inside (sim/net/routing_policy.c) */
} MsRouteMetric;

/* How the ASes at the two ends of a link relate, for MS_ROUTE_BY_POLICY. */
typedef enum {
    MS_NET_REL_NONE,              /* one AS, or no traffic between the two ASes over it */
    MS_NET_REL_PROVIDER_CUSTOMER, /* the AS of end a is a provider of the AS of end b */
    MS_NET_REL_PEER,              /* settlement-free peers */
} MsNetRelation;

#define MS_NET_ERROR (ms_net_error_quark())
GQuark ms_net_error_quark(void);
typedef enum { MS_NET_ERROR_INVALID } MsNetError;

/* MS_IPPROTO_TCP and _UDP come from the wire constants; the header sizes
 * under the names the simulation uses. */
#define MS_IPV4_HEADER MS_IPV4_HEADER_LEN
#define MS_TCP_HEADER  MS_TCP_HEADER_LEN
#define MS_UDP_HEADER  MS_UDP_HEADER_LEN
#define MS_DEFAULT_TTL 64

typedef struct {
    MsTime latency;        /* propagation delay, >= 0 */
    guint64 bandwidth_bps; /* > 0 */
    guint32 mtu;           /* bytes, >= 68 (RFC 791) */
    double loss;           /* probability in [0, 1] */
    guint64 queue_bytes;   /* drop-tail limit on bytes waiting, per direction */
} MsLinkParams;

/* A packet as the simulation carries it: the header fields a capture needs
 * and a slice of shared payload bytes. */
struct _MsPacket {
    guint32 src_addr, dst_addr;
    MsHostId src, dst; /* the end hosts (not the current hop) */
    guint8 proto, ttl, flags;
    guint8 sack_perm, n_sack; /* TCP options: SACK-permitted (SYNs), SACK blocks (RFC 2018) */
    guint16 sport, dport, window, ip_id, mss; /* mss: option on SYNs, 0 if none */
    guint32 seq, ack;
    guint32 sack[2 * MS_TCP_SACK_MAX_BLOCKS]; /* left, right edge of each block */
    GBytes *payload; /* may be NULL; owned by the packet */
    guint32 size;    /* bytes on the wire: IP + transport headers + payload */
    guint32 message; /* mail message id this packet carries part of, or 0 */
};

typedef struct _MsNet MsNet;

/* Receives datagrams or segments for a protocol on a host (used by the
 * transport modules to attach themselves). The packet is valid during the
 * call only; take a ref of its payload to keep it. */
typedef void (*MsNetReceiveFunc)(MsNet *net, MsHostId host, const MsPacket *packet,
                                 gpointer user_data);

/* A new, empty network on `engine` (borrowed; must outlive the network).
 * Returns a new object (caller frees). */
MsNet *ms_net_new(MsEngine *engine);
void ms_net_free(MsNet *net);

MsEngine *ms_net_engine(MsNet *net);
MsTrace *ms_net_trace(MsNet *net); /* the network's trace; add sinks to it */

void ms_net_set_metric(MsNet *net, MsRouteMetric metric);

/* Policy routing's inputs (sim/net/routing_policy.c): the AS a host belongs
 * to (0, the default, is an AS like any other) and how the ASes of a
 * link's ends relate. Each drops the routing tables. */
void ms_net_set_host_as(MsNet *net, MsHostId host, guint32 asn);
guint32 ms_net_host_as(MsNet *net, MsHostId host);
void ms_net_set_link_relation(MsNet *net, guint32 link, MsNetRelation relation);

/* Why packets from `from` to `to` take the route they take, in a sentence
 * for people: under policy routing the AS path, the class of route (own,
 * customer, peer, provider) and the shorter routes of other classes the
 * preference overrode ("a customer route is preferred over a shorter peer
 * route via AS 5 (2 AS hops)"); under the other metrics the hop count and
 * the metric. Returns a new string (caller frees). */
char *ms_net_route_explain(MsNet *net, MsHostId from, MsHostId to);

/* The shortest latency from every host to `dst` (dist[] has one entry per
 * host; G_MAXINT64 where there is no path) over the links and hosts that
 * are up, whatever the metric: what routing studies compare routes with
 * (sim/run/stats_routing.c). O(E log V). */
void ms_net_latency_distances(MsNet *net, MsHostId dst, gint64 *dist);

/* The same figures one pair at a time, for a caller that needs few of
 * them per destination: ms_net_latency_distance(d, from, to) is entry
 * `from` of ms_net_latency_distances(net, to, ...), exactly. While tree
 * routing is in use (sim/net/routing.c: every link and router up) it is
 * the climbs through the trees of the two hosts plus the shortest latency
 * between their trees' core roots, over the core only (a search of the
 * core hosts per root asked, kept for the next pair with the same root);
 * otherwise a search of the whole graph per destination, kept likewise.
 * The network must not change while `d` is in use. */
typedef struct _MsNetDistances MsNetDistances;
MsNetDistances *ms_net_distances_new(MsNet *net);
gint64 ms_net_latency_distance(MsNetDistances *d, MsHostId from, MsHostId to);
void ms_net_distances_free(MsNetDistances *d);

/* Tree routing's core tables shared by the networks of one world's
 * parts run in one process (a partitioned run's `--parts K`): a table is a
 * function of the topology and the link weights only (it is used while
 * every link and router is up), so the parts need build each once between
 * them rather than once each. A network uses the share while its forest
 * is the one the share was first set up for (the same core, links and
 * weights; any other keeps its own tables); the first network to need a
 * table builds it and publishes it with a compare-and-swap, so the
 * networks may run on different threads. The share owns the tables it
 * holds: free it after every network that uses it. */
typedef struct _MsNetRouteShare MsNetRouteShare;
MsNetRouteShare *ms_net_route_share_new(void);
void ms_net_route_share_free(MsNetRouteShare *share);
/* Makes `net` use `share` (borrowed) for the tables it builds from now on. */
void ms_net_share_routes(MsNet *net, MsNetRouteShare *share);

/* The bytes the routing tables built so far hold (per-destination tables,
 * tree routing's core tables, policy routing's AS graph), for benchmarks;
 * of the tables in a share (ms_net_share_routes()), those this network
 * built. */
gsize ms_net_routing_bytes(const MsNet *net);

/* Adds a host. Names and addresses must be unique; returns its id (ids are
 * dense, from 0), or G_MAXUINT32 with `error` set. */
MsHostId ms_net_add_host(MsNet *net, const char *name, guint32 addr, MsHostRole role,
                         GError **error);

/* Adds a link between two distinct existing hosts; returns its index, or
 * G_MAXUINT32 with `error` set for bad parameters. */
guint32 ms_net_add_link(MsNet *net, MsHostId a, MsHostId b, const MsLinkParams *params,
                        GError **error);

/* Getters. A NULL network or a host or link id out of range is a
 * programmer error: a critical (g_return_val_if_fail), and NULL for names,
 * engines, traces and link parameters, 0 for counts, addresses, ports and
 * MTUs, MS_ROLE_COUNT for a role, FALSE for link_is_up and is_local,
 * G_MAXUINT32 for both ends of a bad link, zeroed statistics. Left
 * unchecked, because they run once per packet, or per transfer or
 * transfer hop at flow level: ms_net_host_by_addr(), ms_net_host_is_up(),
 * ms_net_route_epoch(), ms_net_send(), ms_udp_send() and
 * ms_net_link_account(). */
guint ms_net_n_hosts(const MsNet *net);
guint ms_net_n_links(const MsNet *net);
const char *ms_net_host_name(const MsNet *net, MsHostId host);
guint32 ms_net_host_addr(const MsNet *net, MsHostId host);
MsHostRole ms_net_host_role(const MsNet *net, MsHostId host);
/* Host id by name or address, or G_MAXUINT32. */
MsHostId ms_net_host_by_name(const MsNet *net, const char *name);
MsHostId ms_net_host_by_addr(const MsNet *net, guint32 addr);
void ms_net_link_ends(const MsNet *net, guint32 link, MsHostId *a, MsHostId *b);
const MsLinkParams *ms_net_link_params(const MsNet *net, guint32 link);

/* Takes a host or a link down or up now. A down host neither sends, receives
 * nor forwards; packets on a link that goes down are lost. */
void ms_net_set_host_up(MsNet *net, MsHostId host, gboolean up);
void ms_net_set_link_up(MsNet *net, guint32 link, gboolean up);
gboolean ms_net_host_is_up(const MsNet *net, MsHostId host);
gboolean ms_net_link_is_up(const MsNet *net, guint32 link);

/* The path from `from` to `to` as host ids, both ends included; an empty
 * array when no route exists. Caller frees the array. */
GArray *ms_net_route_path(MsNet *net, MsHostId from, MsHostId to);

/* The links of the path from `from` to `to`, in order, into `links`
 * (cleared first; guint32 link ids). FALSE, with `links` empty, when no
 * route exists. For transports that compute a transfer instead of sending
 * packets (sim/net/flow.c). O(hops) once the destination's table is built. */
gboolean ms_net_route_links(MsNet *net, MsHostId from, MsHostId to, GArray *links);

/* A number that changes whenever routes may have changed (a host or link
 * went up or down, a host or link was added): cache paths against it. */
guint64 ms_net_route_epoch(const MsNet *net);

/* Counts traffic that a flow-level transfer starting at `start` put on
 * `link` in the direction leaving `from` (the per-link statistics then cover
 * both fidelities). */
void ms_net_link_account(MsNet *net, guint32 link, MsHostId from, MsTime start, guint64 packets,
                         guint64 bytes, MsTime busy);

/* Express datagrams (flow level): a packet sent with ms_net_send() is one
 * engine event, delivered after the store-and-forward delay of its whole
 * path (each link's serialisation and latency, no queueing: datagrams are
 * DNS queries and answers, small and few) instead of one event per hop. Loss is drawn per link from the
 * forwarding host's stream, as at packet level; a host or link that goes
 * down while the packet is on its way loses it only when it is the last
 * link or the destination. Captures then see each packet once, at its
 * source and at its destination. */
void ms_net_set_express(MsNet *net, gboolean express);

/* Partitioned runs (packet level only): this network simulates the hosts of
 * one part of `shard` (borrowed, outlives the network); a packet whose next
 * hop belongs to another part leaves through the shard and arrives there
 * after the link's latency, which is what bounds the lookahead. */
typedef struct _MsShard MsShard;
void ms_net_attach_shard(MsNet *net, MsShard *shard);
/* How packets' message tags (MsPacket.message, ids local to a part) cross
 * parts: `out` names a tag (NULL: none), `in` turns a name back into this
 * part's tag. Set by the mail layer. */
typedef const char *(*MsNetTagOutFunc)(gpointer user_data, guint32 tag);
typedef guint32 (*MsNetTagInFunc)(gpointer user_data, const char *name);
void ms_net_set_tag_codec(MsNet *net, MsNetTagOutFunc out, MsNetTagInFunc in, gpointer user_data);
/* Whether this network simulates `host` (always TRUE without a shard). */
gboolean ms_net_is_local(const MsNet *net, MsHostId host);

/* Pins the next hop from `at` towards `dst` to `link`, overriding the
 * computed route (static routes; also how tests build a routing loop). */
void ms_net_pin_route(MsNet *net, MsHostId at, MsHostId dst, guint32 link);

/* A loss hook: asked, for every packet a host puts on a link (packet
 * level), whether the link loses it, after the packet has taken its time on
 * the wire and before the link's own random loss. TRUE loses it, counted as
 * a link loss (drops_loss, MS_DROP_LOSS). For experiments that need a loss
 * pattern chosen packet by packet (sim/run/bench_transfer.c drops the k-th
 * data segment of a transfer); worlds leave it unset, which costs one test
 * of a NULL pointer per hop. Express datagrams (flow level) never see it.
 * `func` NULL removes the hook. */
typedef gboolean (*MsNetLossFunc)(MsNet *net, guint32 link, MsHostId from, const MsPacket *packet,
                                  gpointer user_data);
void ms_net_set_loss_hook(MsNet *net, MsNetLossFunc func, gpointer user_data);

/* The smallest MTU along the path (the path MTU), or 0 with no route. */
guint32 ms_net_path_mtu(MsNet *net, MsHostId from, MsHostId to);

/* Sends a packet from host `from` towards packet->dst_addr. Takes ownership
 * of packet->payload. The network fills src/dst ids, ttl, ip_id and size.
 * Returns FALSE when it was dropped at once (host down, no route). */
gboolean ms_net_send(MsNet *net, MsHostId from, MsPacket *packet);

/* Registers the receiver of protocol `proto` (TCP or UDP) on every host. */
void ms_net_set_receiver(MsNet *net, guint8 proto, MsNetReceiveFunc func, gpointer user_data);

/* Per-link counters, for statistics. */
typedef struct {
    guint64 packets[2], bytes[2]; /* sent per direction (0: a->b, 1: b->a) */
    guint64 drops_queue, drops_loss, drops_down;
    MsTime busy[2]; /* total serialisation time per direction */
    /* The most serialisation time in any one window of MS_NET_PEAK_WINDOW
     * per direction, at most the window: peak_busy / MS_NET_PEAK_WINDOW is
     * the peak utilisation. A window's time is what every packet or
     * transfer was busy in it, added up (transfers that share a link at
     * flow level overlap). */
    MsTime peak_busy[2];
} MsLinkStats;

/* The window of the peak utilisation in MsLinkStats: one second, fine
 * enough to see a burst of mail and coarse enough that one packet on a
 * slow link is not a peak of 100 %. */
#define MS_NET_PEAK_WINDOW MS_TIME_S
void ms_net_link_stats(const MsNet *net, guint32 link, MsLinkStats *stats);

/* One window of a link direction as one part of a partitioned run counted
 * it: the busy time this part's traffic put there, more than 0 and less
 * than the window (a part whose own total fills a window has a peak of
 * 100 % there already: see sim/net/net_peak.c). */
typedef struct {
    MsTime start; /* the window's, a multiple of MS_NET_PEAK_WINDOW */
    guint32 ld;   /* link direction: 2 * link + (0 for a->b, 1 for b->a) */
    guint32 busy; /* nanoseconds */
} MsLinkWindow;

/* Appends to `out` (GArray of MsLinkWindow) the windows whose totals the
 * other parts of a partitioned run at flow level may add to, the only
 * case where several parts count the same link direction: the sequential
 * run's peak of a direction is then the largest of the parts' peaks and
 * of the parts' windows added up per (ld, start), at most the window
 * (sim/run/stats.c). Nothing for a network that is no such part. In no
 * particular order. */
void ms_net_peak_windows(const MsNet *net, GArray *out);

/* Network totals. */
typedef struct {
    guint64 sent, forwarded, delivered, dropped;
    guint64 drops[8]; /* by MsDropReason */
} MsNetStats;
void ms_net_get_stats(const MsNet *net, MsNetStats *stats);

/* --- UDP ------------------------------------------------------------- */

typedef void (*MsUdpReceiveFunc)(MsNet *net, MsHostId host, guint16 port, guint32 src_addr,
                                 guint16 src_port, GBytes *payload, gpointer user_data);

/* Binds `port` on `host`; datagrams to it go to func. FALSE if taken. */
gboolean ms_udp_bind(MsNet *net, MsHostId host, guint16 port, MsUdpReceiveFunc func,
                     gpointer user_data);
void ms_udp_unbind(MsNet *net, MsHostId host, guint16 port);
/* An unbound UDP port on `host` for a new socket, at random in 32768-60999
 * from the host's random stream (RFC 6056 3.3.1, as Linux picks one; see
 * sim/net/ports.c); 0 when every port is bound. */
guint16 ms_net_ephemeral_port(MsNet *net, MsHostId host);

/* Does a connection of the caller's use local `port` for the four-tuple
 * asked about in ms_net_connect_port()? */
typedef gboolean (*MsNetPortInUseFunc)(guint16 port, gpointer user_data);

/* The local port for a new connection from `host` to raddr:rport: RFC
 * 6056 3.3.4 (double-hash), as Linux's connect() picks one, in 32768-60999,
 * skipping ports for which in_use (may be NULL) says TRUE; 0 when none is
 * free. Draws from the host's random stream. See sim/net/ports.c. */
guint16 ms_net_connect_port(MsNet *net, MsHostId host, guint32 raddr, guint16 rport,
                            MsNetPortInUseFunc in_use, gpointer user_data);
/* Sends a datagram (payload borrowed: a ref is taken). */
gboolean ms_udp_send(MsNet *net, MsHostId host, guint16 sport, guint32 dst_addr, guint16 dport,
                     GBytes *payload);

/* Dotted-quad helpers. ms_ipv4_format writes into out (with its NUL) and
 * returns out: no allocation, for every Received: header. ms_ipv4_parse is
 * the program's one reader of dotted quads: exactly four parts of 1 to 3
 * decimal digits, each 0 to 255, without leading zeros ("10.0.0.01" is
 * refused: some tools read it as octal), nothing before or after; TRUE with
 * *out set (most significant part first), else FALSE and *out untouched. */
#define MS_IPV4_STRLEN 16
char *ms_ipv4_format(guint32 addr, char out[MS_IPV4_STRLEN]);
char *ms_ipv4_to_string(guint32 addr);
gboolean ms_ipv4_parse(const char *text, guint32 *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsNet, ms_net_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsNetDistances, ms_net_distances_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsNetRouteShare, ms_net_route_share_free)

G_END_DECLS
