/* Pieces of the flow model (sim/net/flow.c) kept in files of their own:
 * its records and what crosses ranks (sim/net/flow_dist.c), and
 * the link shares as senders learn them (sim/net/flow_share.c). Not
 * public. */
#pragma once

#include "tcp-private.h"
#include "mailsim/tcp.h"
#include "mailsim/time.h"

#include <glib.h>

/* The longest a change of a link's load takes to reach a sender, and a
 * sender's transfer to reach a link (the latency of the path between
 * them, capped here). A distributed run's lookahead must not exceed it
 * (include/mailsim/tcp.h, MS_TCP_FLOW_SIGNAL_MAX). */
#define MS__FLOW_SIGNAL_MAX MS_TCP_FLOW_SIGNAL_MAX

/* What every link direction carries, as the senders see it: per link
 * direction (2 * link + dir), the intervals [join, end) during which
 * transfers cross it. */
typedef struct _MsFlowShare MsFlowShare;

MsFlowShare *ms__flow_share_new(void);
void ms__flow_share_free(MsFlowShare *share);

/* A transfer crosses link direction `ld` from `join` (when its first bits
 * reach the link) until `end` (when its last bits leave it). Any order of
 * calls gives the same counts. */
void ms__flow_share_add(MsFlowShare *share, guint ld, MsTime join, MsTime end);

/* The transfers crossing `ld` at time `at`, for a reader whose clock says
 * `now` (at >= now - MS__FLOW_SIGNAL_MAX; `now` never goes backwards
 * between calls). O(log n) in the transfers of the last
 * MS__FLOW_SIGNAL_MAX, plus what the call prunes. */
guint ms__flow_share_count(MsFlowShare *share, guint ld, MsTime at, MsTime now);

/* Times held (both ends of every interval not yet pruned), for
 * MS_FLOW_DEBUG. */
guint64 ms__flow_share_held(const MsFlowShare *share);

/* --- connection records (sim/net/flow.c) and what crosses ranks
 * (sim/net/flow_dist.c) --------------------------------------------------- */

#define HDR          (MS_IPV4_HEADER + MS_TCP_HEADER)
#define SYN_SIZE     (HDR + 4) /* with the MSS option */

enum {
    EV_SYN,
    EV_SYNACK,
    EV_ACK,
    EV_DATA,
    EV_FIN,
    EV_RST,
    EV_SYN_RETRY,
    EV_STALL,
    EV_FAIL,
    EV_TIMEOUT,
    EV_LOST,    /* from the receiver: a chunk (arg: its number) met a down host */
    EV_ABANDON, /* from end 0 given up before the handshake ended: the listener's end goes */
    EV_SHARE    /* from another rank: transfers on links (no connection) */
};
enum { ST_FREE, ST_SYN_SENT, ST_SYN_RCVD, ST_ESTABLISHED };

typedef struct {
    MsTime ack_at;
    guint32 len;
} Seg;

/* Bytes of one send on their way: when they arrive, the sender's epoch and
 * the chunk's number (a loss report names them), and how long a report
 * of their loss takes to come back. */
typedef struct {
    MsTime at;
    GBytes *data;
    guint32 epoch, seq;
    MsTime back;
} Chunk;

/* A link of a path as transfers need it, read once per route change. */
typedef struct {
    guint32 link;
    guint ld;      /* link direction: 2 * link + (0 when leaving end a) */
    MsHostId from; /* the end it leaves */
    guint64 bw;    /* bits per second */
    MsTime lat;
    MsTime tx_hdr; /* serialisation of a bare 40-byte segment */
    MsTime sig;    /* latency from the sender to this link (capped): how late news travels */
    guint64 queue; /* drop-tail limit on bytes waiting */
} PathHop;

/* What one end sends. */
typedef struct {
    gboolean est;     /* this end may send (its side of the handshake is done) */
    gboolean open;    /* the app holds this end: not closed by it, not told closed */
    gboolean fin;     /* the app closed: a FIN follows the data */
    gboolean stalled; /* waiting for the path to come back (EV_STALL pending) */
    guint32 cwnd, ssthresh, flight;
    GArray *segs; /* Seg not yet acknowledged, oldest at seg_head */
    guint seg_head;
    gboolean pathed;  /* links, hops and hop_free hold the path of `epoch` */
    GArray *links;    /* the path, guint32 link ids; valid for `epoch` */
    GArray *hops;     /* PathHop per link of the path, same epoch */
    MsTime ack_delay; /* one-way delay of a bare 40-byte segment on the path */
    double loss;      /* probability that a packet is lost on the path */
    guint64 epoch;
    gboolean routed;  /* a route exists (links may be empty: to itself) */
    guint32 mtu;      /* the path MTU (65535 without links) */
    GArray *hop_free; /* MsTime per hop: when our last segment left that link */
    MsTime last_arrival;
    GArray *chunks; /* receiver: Chunk on their way, oldest at chunk_head */
    guint chunk_head;
    guint32 rx_dead; /* receiver: chunks of an older epoch are dropped (their loss reported) */
    GArray *sent;    /* sender: Chunk a loss report may still name, oldest at sent_head */
    guint sent_head;
    guint32 tx_epoch, tx_seq; /* sender: bumped by a loss report; chunks numbered */
    GByteArray *held;         /* sent while the path was down or before the handshake */
    guint retries;
    MsTime rto;
    guint32 segments, resent;
    guint64 bytes;
} Dir;

typedef struct {
    int state;
    guint32 gen;
    MsHostId host[2];
    guint32 addr[2];
    guint16 port[2];
    const MsTcpCallbacks *cb[2];
    gpointer ud[2];
    gboolean alive1; /* the listener's end exists (a SYN arrived) */
    guint32 mss;
    guint syn_retries;
    MsTime syn_rto, syn_sent_at;
    guint32 message;
    Dir d[2];
    guint32 next_free;
    /* The record holding the other end (this one unless a distributed run
     * put the ends on different ranks): cross events are addressed to it. */
    guint32 peer_idx, peer_gen;
    guint syn_flight;    /* SYNs on their way to end 1 of this record */
    gboolean syn_posted; /* a SYN left: the listener may have an end to abandon */
    MsTime syn_delay;    /* one-way delay of the last SYN */
    MsEventId syn_timer; /* end 0's SYN retransmission timer */
    gboolean keyed;      /* made for a SYN from another rank: in `remote` under key */
    MsHostId key_src;
    guint32 key_idx, key_gen;
} Conn;

/* A connection record of another rank, as its SYN names it. */
typedef struct {
    MsHostId src;
    guint32 idx, gen;
} RemoteKey;

/* What a cross-rank event carries before its bytes (sim/dist/shard.c
 * moves it): the sending record and, by kind, the SYN's addressing or a
 * chunk's numbers. */
typedef struct {
    guint32 idx, gen;
    guint32 addr; /* SYN: the address connected to */
    guint16 sport, dport;
    guint32 mss;
    guint32 epoch, seq; /* DATA */
    MsTime back;        /* DATA */
} Wire;

/* A transfer's crossing of one link direction, as EV_SHARE carries it. */
typedef struct {
    MsTime join, end;
    guint32 ld, pad;
} ShareWire;

struct _MsFlow {
    MsTcp *owner;
    MsNet *net;
    MsEngine *engine;
    GArray *conns;      /* Conn, index = (id - 1) / 2 */
    guint32 free_conn;  /* index + 1 of a free record, 0 if none */
    MsFlowShare *share; /* the transfers on each link direction, as senders learn them */
    GArray *hops;       /* Hop scratch for transfer() */
    GArray *pending;    /* Pending scratch for transfer(), by time */
    guint16 ev;
    MsShard *shard;     /* distributed runs: this rank's part, else NULL */
    GHashTable *remote; /* RemoteKey -> index + 1 of records made for other ranks' SYNs */
    MsHostId *reps;     /* per part: the host EV_SHARE is addressed to */
    GArray *share_out;  /* ShareWire scratch for transfer() */
    MsTcpStats stats;
    guint64 paths, path_links; /* routes read, and their links (MS_FLOW_DEBUG) */
};

static inline Conn *
conn_at(MsFlow *f, guint32 idx)
{
    return &g_array_index(f->conns, Conn, idx);
}

/* An event's payload: the record it is for, its kind, the end that sent
 * it (or, for EV_FAIL, the reason), and one number. */
MsEventData ms__flow_ev_data(guint32 idx, guint32 gen, int kind, int end, guint32 arg);
/* A fresh record (reused when one is free); returns its index. */
guint32 ms__flow_conn_new(MsFlow *flow);

/* sim/net/flow_dist.c: RemoteKey -> index + 1 (keys freed with the table). */
GHashTable *ms__flow_remote_new(void);
/* Sends flow->share_out to every other rank. */
void ms__flow_share_send(MsFlow *flow);
