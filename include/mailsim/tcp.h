/* TCP-lite: the stream transport of the simulated hosts, on top of the
 * network layer (include/mailsim/net.h), under the mail protocols. It keeps
 * what makes TCP's behaviour visible and measurable: the three-way
 * handshake, MSS from the path MTU, segmentation, cumulative ACKs, a
 * receiver that keeps out-of-order data, delayed ACKs (every second
 * full-sized segment or 40 ms, as Linux), an initial window of 10
 * segments (RFC 6928), slow start and congestion
 * avoidance, SACK (RFC 2018) with loss recovery per RFC 6675, or NewReno
 * (RFC 6582) with a peer that does not offer SACK, retransmissions that resend the segments as first
 * cut, a retransmission timeout estimated as in RFC 6298 with exponential
 * backoff and a give-up limit, FIN close, RST for a port nobody listens on,
 * and timeouts when the far host is down. Left out on purpose: window
 * scaling, timestamps, TIME_WAIT, half-close (a FIN from the peer closes
 * both directions).
 *
 * Apps see an ordered byte stream through callbacks; they never see packets.
 * Rules for apps: after `closed` has been called, or after the app called
 * ms_tcp_close(), the connection id is dead for the app and no callback
 * comes for it any more. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/shard.h"

G_BEGIN_DECLS

typedef struct _MsTcp MsTcp;
typedef guint32 MsTcpConnId; /* 0 is never a valid id */

typedef enum {
    MS_TCP_CLOSE_NORMAL,      /* the peer closed (FIN) */
    MS_TCP_CLOSE_REFUSED,     /* RST in answer to our SYN: nothing listens */
    MS_TCP_CLOSE_TIMEOUT,     /* retransmissions gave up: the far end is down or cut off */
    MS_TCP_CLOSE_RESET,       /* RST on an established connection */
    MS_TCP_CLOSE_UNREACHABLE, /* no route to the destination */
} MsTcpCloseReason;

typedef struct {
    /* Active open: the handshake completed. Passive open: a connection was
     * accepted on a listening port (then `user_data` is the listener's; call
     * ms_tcp_set_callbacks() to attach a session). */
    void (*connected)(MsTcp *tcp, MsTcpConnId conn, gpointer user_data);
    /* In-order bytes from the peer; valid during the call only. */
    void (*data)(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer user_data);
    /* The connection ended (see MsTcpCloseReason); the id is dead after. */
    void (*closed)(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason reason, gpointer user_data);
} MsTcpCallbacks;

typedef struct {
    guint64 connections, established, refused, timeouts;
    guint64 segments, retransmits, bytes;
} MsTcpStats;

/* Creates the TCP layer of `net` (borrowed) and registers it as the
 * network's TCP receiver. Returns a new object (caller frees). */
MsTcp *ms_tcp_new(MsNet *net);
/* The same API at flow level (sim/net/flow.c): no segments are simulated; each
 * send arrives in one piece after a delay computed from the path (latency,
 * bandwidth shared among concurrent transfers, slow start, the handshake),
 * and down hosts or links still refuse or time connections out. Nothing is
 * registered with the network, so UDP (and the network's express mode) is
 * the world's business. Returns a new object (caller frees). */
MsTcp *ms_tcp_new_flow(MsNet *net);
gboolean ms_tcp_is_flow(const MsTcp *tcp);
/* The longest a flow-level rate signal travels (sim/net/flow.c, "Fair
 * share, signalled"): a distributed run at flow level keeps its lookahead
 * at or under it. */
#define MS_TCP_FLOW_SIGNAL_MAX (2 * MS_TIME_S)
/* Puts a flow-level transport on one part of a distributed run (after
 * ms_net_attach_shard()): connections and rate signals reaching other
 * parts' hosts travel through `shard` (borrowed). Packet level needs
 * nothing (its segments are the network's packets). */
void ms_tcp_attach_shard(MsTcp *tcp, MsShard *shard);
/* The lookahead a flow-level run split by `partition` may use: at flow
 * level only the hosts at the ends of connections and datagrams (not
 * routers) send to other ranks, and always at least their path's latency
 * ahead, so the shortest latency between two such hosts of different
 * parts, at least `cut` (the shortest cut link) and at most
 * MS_TCP_FLOW_SIGNAL_MAX. Packet level: `cut`. */
MsTime ms_tcp_lookahead(const MsTcp *tcp, const MsPartition *partition, MsTime cut);
void ms_tcp_free(MsTcp *tcp);
MsNet *ms_tcp_net(MsTcp *tcp);

/* Listens on host:port. `callbacks` must outlive the listener. */
gboolean ms_tcp_listen(MsTcp *tcp, MsHostId host, guint16 port, const MsTcpCallbacks *callbacks,
                       gpointer user_data);
void ms_tcp_unlisten(MsTcp *tcp, MsHostId host, guint16 port);

/* Opens a connection from `host` to dst_addr:dport. Failures are reported
 * later through `closed`, never synchronously. */
MsTcpConnId ms_tcp_connect(MsTcp *tcp, MsHostId host, guint32 dst_addr, guint16 dport,
                           const MsTcpCallbacks *callbacks, gpointer user_data);

/* The same, with every packet and trace record of the connection tagged
 * with mail message `message` from the SYN on. */
MsTcpConnId ms_tcp_connect_tagged(MsTcp *tcp, MsHostId host, guint32 dst_addr, guint16 dport,
                                  const MsTcpCallbacks *callbacks, gpointer user_data,
                                  guint32 message);

void ms_tcp_set_callbacks(MsTcp *tcp, MsTcpConnId conn, const MsTcpCallbacks *callbacks,
                          gpointer user_data);

/* Queues bytes for sending (copied). */
void ms_tcp_send(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len);
/* The same for bytes the caller has as GBytes: at flow level a ref is
 * taken instead of a copy (message bodies are most of the bytes). */
void ms_tcp_send_bytes(MsTcp *tcp, MsTcpConnId conn, GBytes *bytes);

/* Closes gracefully: queued bytes are still delivered, then FIN. */
void ms_tcp_close(MsTcp *tcp, MsTcpConnId conn);

/* Abandons a connection whose handshake has not completed, as close(2) on a
 * socket that is still connecting: nothing more is sent for it (no FIN, no
 * further SYN; a SYN-ACK arriving later finds no connection and gets an
 * RST) and no callback comes. On an established connection it is
 * ms_tcp_close(). For an application's own connect timeout (Postfix's
 * smtp_connect_timeout). */
void ms_tcp_abort(MsTcp *tcp, MsTcpConnId conn);

/* Whether `host` offers SACK (RFC 2018) on its SYNs; TRUE by default, as
 * Linux's net.ipv4.tcp_sack = 1. A connection uses SACK only when both
 * ends offer it; without it, loss recovery is NewReno (RFC 6582). Packet
 * level only; for connections opened after the call. */
void ms_tcp_set_sack(MsTcp *tcp, MsHostId host, gboolean enabled);

/* Tags the connection's packets with a mail message id (for traces). */
void ms_tcp_set_message(MsTcp *tcp, MsTcpConnId conn, guint32 message);

MsHostId ms_tcp_conn_host(MsTcp *tcp, MsTcpConnId conn);
guint32 ms_tcp_conn_peer_addr(MsTcp *tcp, MsTcpConnId conn);

void ms_tcp_get_stats(const MsTcp *tcp, MsTcpStats *stats);

const char *ms_tcp_close_reason_to_string(MsTcpCloseReason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTcp, ms_tcp_free)

G_END_DECLS
