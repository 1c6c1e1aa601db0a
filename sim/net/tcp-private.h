/* The two implementations of the stream transport behind include/mailsim/tcp.h:
 * TCP-lite at packet level (sim/net/tcp.c) and flows (sim/net/flow.c). An MsTcp
 * made by ms_tcp_new_flow() carries an MsFlow, and every public ms_tcp_*
 * function but the listening ones hands the call to it (the listener table
 * below serves both); apps cannot tell the two apart except by timing and
 * statistics. Not public. */
#pragma once

#include "mailsim/tcp.h"
#include "mailsim/tcp_wire.h"
#include "mailsim/shard.h"

/* Timers and limits both models share (packet level: sim/net/tcp.c; flow
 * level: sim/net/flow.c). RFC 6298 2.1 for the first RTO; the minimum and
 * maximum as Linux's. */
#define RWND         65535u
#define RTO_INIT     (1 * MS_TIME_S)
#define RTO_MIN      (200 * MS_TIME_MS)
#define RTO_MAX      (120 * MS_TIME_S) /* Linux's TCP_RTO_MAX */
#define SYN_RETRIES  6                 /* Linux's net.ipv4.tcp_syn_retries */
#define DATA_RETRIES 8

typedef struct _MsFlow MsFlow;

/* A listening port: the callbacks (borrowed) and data a connection accepted
 * on it gets. One table per MsTcp, kept by sim/net/tcp.c for both
 * fidelities (ms_tcp_listen() and ms_tcp_unlisten() fill it); the flow asks
 * it when a SYN reaches a host. */
typedef struct {
    const MsTcpCallbacks *cb;
    gpointer ud;
} MsTcpListener;

/* The listener on (host, port), or NULL. The record stays valid until that
 * port is unlistened. */
const MsTcpListener *ms__tcp_listener(const MsTcp *tcp, MsHostId host, guint16 port);

/* A flow transport on `net` whose callbacks are given `owner` as their
 * MsTcp. Returns a new object (the owner frees it with ms__flow_free). */
MsFlow *ms__flow_new(MsTcp *owner, MsNet *net);
void ms__flow_free(MsFlow *flow);

MsTcpConnId ms__flow_connect(MsFlow *flow, MsHostId host, guint32 dst_addr, guint16 dport,
                             const MsTcpCallbacks *callbacks, gpointer user_data);
void ms__flow_set_callbacks(MsFlow *flow, MsTcpConnId conn, const MsTcpCallbacks *callbacks,
                            gpointer user_data);
void ms__flow_send(MsFlow *flow, MsTcpConnId conn, const guint8 *data, gsize len);
void ms__flow_send_bytes(MsFlow *flow, MsTcpConnId conn, GBytes *bytes);
void ms__flow_close(MsFlow *flow, MsTcpConnId conn);
void ms__flow_abort(MsFlow *flow, MsTcpConnId conn);
void ms__flow_set_message(MsFlow *flow, MsTcpConnId conn, guint32 message);
MsHostId ms__flow_conn_host(MsFlow *flow, MsTcpConnId conn);
guint32 ms__flow_conn_peer_addr(MsFlow *flow, MsTcpConnId conn);
void ms__flow_get_stats(const MsFlow *flow, MsTcpStats *stats);

/* --- packet level (sim/net/tcp*.c) ------------------------------------------ */

/* Sequence-space comparisons, modulo 2^32 (RFC 9293 3.4). */
#define MS_TCP_SEQ_LT(a, b)  ((gint32) ((a) - (b)) < 0)
#define MS_TCP_SEQ_LE(a, b)  ((gint32) ((a) - (b)) <= 0)
#define MS_TCP_SEQ_GT(a, b)  ((gint32) ((a) - (b)) > 0)
#define MS_TCP_SEQ_GE(a, b)  ((gint32) ((a) - (b)) >= 0)
#define MS_TCP_SEQ_MAX(a, b) (MS_TCP_SEQ_GT(a, b) ? (a) : (b))

enum { MS_TCP_ST_FREE, MS_TCP_ST_SYN_SENT, MS_TCP_ST_SYN_RCVD, MS_TCP_ST_ESTABLISHED };

typedef struct {
    guint32 host, raddr;
    guint16 lport, rport;
} MsTcpConnKey;

/* Out-of-order data the receiver holds until the gap below it fills: one
 * arriving segment, a ref on its payload. */
typedef struct {
    guint32 seq, len;
    GBytes *bytes;
} MsTcpOooSeg;

/* A segment the sender cut and sent, until cumulatively acknowledged: an
 * entry of the scoreboard (sim/net/tcp_sack.c). `len` counts sequence
 * space, the FIN's octet included. */
typedef struct {
    guint32 seq, len;
    guint8 flags; /* MS_TCP_SEG_* */
    MsTime sent;  /* when it was first sent (for RTT samples) */
} MsTcpSeg;

enum {
    MS_TCP_SEG_PSH = 1 << 0,    /* sent with PSH (the end of what the app had queued) */
    MS_TCP_SEG_FIN = 1 << 1,    /* the FIN (its last octet of sequence space) */
    MS_TCP_SEG_SACKED = 1 << 2, /* a SACK block of the peer covers it (RFC 2018) */
    MS_TCP_SEG_LOST = 1 << 3,   /* deemed lost (RFC 6675 IsLost(), or the RTO) */
    MS_TCP_SEG_RXT = 1 << 4,    /* retransmitted since it was deemed lost */
    MS_TCP_SEG_EVER = 1 << 5,   /* retransmitted at some time; never cleared (F-RTO) */
};

/* Loss recovery in progress. */
enum {
    MS_TCP_REC_NONE,
    MS_TCP_REC_FAST, /* fast recovery: RFC 6675 with SACK, else RFC 6582 (NewReno) */
    MS_TCP_REC_RTO,  /* after a retransmission timeout, until snd_max at that time is acked */
};

/* F-RTO's steps after a retransmission timeout (RFC 5682 3.1, the
 * SACK-enhanced variant, as Linux runs it for every connection). */
enum {
    MS_TCP_FRTO_OFF,
    MS_TCP_FRTO_WAIT,     /* step 2: the first ACK after the timeout is awaited */
    MS_TCP_FRTO_SEND_NEW, /* step 2 (b): that ACK came; the next output sends new data */
    MS_TCP_FRTO_PROBE,    /* step 3: new data went out; the next ACK decides */
};

/* One end of a connection at packet level; sim/net/tcp.c keeps them in an
 * array indexed by id. */
typedef struct {
    int state;
    MsTcpConnKey *key; /* owned; also the hash table's key */
    guint32 laddr;
    gboolean app_closed; /* the app called close (or the peer's FIN closed it) */
    gboolean detached;   /* no more callbacks to the app */
    gboolean fin_sent, fin_acked, fin_rcvd;
    guint32 iss, snd_una, snd_nxt, snd_max, snd_wnd;
    GByteArray *sbuf; /* bytes from seq sbuf_seq onward, from sbuf_head */
    guint sbuf_head;
    guint32 sbuf_seq;
    guint32 rcv_nxt;
    guint32 ack_sent; /* the ACK number our last segment carried */
    GArray *ooo;      /* MsTcpOooSeg sorted by seq, all above rcv_nxt (tcp_recv.c) */
    guint32 sack_recent[2 * MS_TCP_SACK_MAX_BLOCKS]; /* seqs of the latest out-of-order arrivals */
    guint n_recent;                                  /* most recent first */
    GArray *segs; /* MsTcpSeg from segs_head on: the scoreboard (tcp_sack.c) */
    guint segs_head;
    gboolean sack_ok; /* both SYNs carried SACK-permitted (RFC 2018 2) */
    int recovery;     /* MS_TCP_REC_* */
    guint32 recover;  /* RFC 6582 "recover", RFC 6675 RecoveryPoint */
    guint32 rescue;   /* RFC 6675 RescueRxt: a rescue may go once snd_una passes it */
    int frto;         /* F-RTO (RFC 5682 3.1) after a timeout: MS_TCP_FRTO_* */
    guint32 prior_cwnd, prior_ssthresh; /* before the timeout, for F-RTO's undo */
    guint32 cwnd, ssthresh, mss;
    guint dupacks, retries;
    MsTime srtt, rttvar, rto;
    MsEventId timer;
    MsEventId delack; /* the delayed ACK's timer, or 0 */
    const MsTcpCallbacks *cb;
    gpointer ud;
    guint32 message;
    guint32 next_free;
    guint32 data_segments, resent;    /* data segments that left, of which retransmissions */
    guint64 data_bytes, resent_bytes; /* payload bytes that left, of which sent before */
} MsTcpConn;

/* The receiver (sim/net/tcp_recv.c): what arrived, held in sequence order
 * until it can go to the app. Never calls the app itself (an app callback
 * may open connections and move the record): sim/net/tcp.c pulls. */
void ms__tcp_recv_init(MsTcpConn *c);
void ms__tcp_recv_clear(MsTcpConn *c);
/* Takes in the payload (borrowed; a ref is kept) of a segment at `seq`.
 * Returns TRUE when the segment calls for an immediate ACK (RFC 5681 4.2:
 * it was out of order or a duplicate, or it filled all or part of a gap). */
gboolean ms__tcp_recv_segment(MsTcpConn *c, guint32 seq, GBytes *payload);
/* The next bytes now in order, advancing rcv_nxt past them: `*off` and
 * `*len` name the new part of the returned bytes. NULL when none. Returns a
 * ref (caller unrefs). */
GBytes *ms__tcp_recv_pull(MsTcpConn *c, gsize *off, gsize *len);
/* The SACK blocks (RFC 2018 3) an ACK sent now carries: the queued data as
 * ranges, the one holding the latest arrival first, then the others in the
 * order they last grew (RFC 2018 4), at most `max`; into `edges` (left,
 * right pairs). Returns how many. */
guint ms__tcp_recv_sack_blocks(const MsTcpConn *c, guint32 *edges, guint max);

/* The scoreboard (sim/net/tcp_sack.c): the segments in flight, in order. */
void ms__tcp_sack_init(MsTcpConn *c);
void ms__tcp_sack_clear(MsTcpConn *c);
guint ms__tcp_sack_count(const MsTcpConn *c);
/* The i-th segment in flight (0: the one holding snd_una); borrowed. */
MsTcpSeg *ms__tcp_sack_at(MsTcpConn *c, guint i);
/* Records a segment sent for the first time, at snd_max, at time `sent`. */
void ms__tcp_sack_add(MsTcpConn *c, guint32 seq, guint32 len, guint8 flags, MsTime sent);
/* The send time an ACK up to `ack` with the `n` SACK blocks `blocks`
 * measures the round trip from, as Linux takes it (tcp_clean_rtx_queue,
 * tcp_sacktag_one): the oldest segment it newly acknowledges
 * cumulatively, unless it also covers a retransmitted one (Karn's rule,
 * RFC 6298 3); else the oldest never retransmitted segment it newly
 * SACKs. FALSE when the ACK gives no sample. Asked before the ACK updates
 * the scoreboard. */
gboolean ms__tcp_sack_rtt_from(MsTcpConn *c, guint32 ack, const guint32 *blocks, guint n,
                               MsTime *sent);
/* Forgets what `ack` acknowledges cumulatively. */
void ms__tcp_sack_ack(MsTcpConn *c, guint32 ack);
/* Marks the segments the `n` SACK blocks (left, right edge pairs) cover;
 * TRUE when one was not marked before. */
gboolean ms__tcp_sack_update(MsTcpConn *c, const guint32 *blocks, guint n);
/* RFC 6675 IsLost() for every segment not SACKed: marks the lost ones. */
void ms__tcp_sack_mark_lost(MsTcpConn *c);
/* After an RTO: every segment not SACKed is lost and not yet resent. */
void ms__tcp_sack_mark_all_lost(MsTcpConn *c);
/* After a timeout found spurious: no segment is deemed lost any more. */
void ms__tcp_sack_unmark_lost(MsTcpConn *c);
/* Whether an ACK up to `ack` with the `n` SACK blocks `blocks` covers, for
 * the first time, a segment never retransmitted that ends at or below
 * `limit` (RFC 5682 3.1 step 3 (b); Linux's FLAG_ORIG_SACK_ACKED). Asked
 * before the ACK updates the scoreboard. */
gboolean ms__tcp_sack_orig_covered(MsTcpConn *c, guint32 ack, const guint32 *blocks, guint n,
                                   guint32 limit);
/* RFC 6675 SetPipe(): the bytes deemed still in the network. */
guint32 ms__tcp_sack_pipe(MsTcpConn *c);
/* RFC 6675 NextSeg() rule 1 (a lost segment not yet resent) and rule 3 (a
 * hole below the highest SACKed segment); NULL when none. Borrowed. */
MsTcpSeg *ms__tcp_sack_next_lost(MsTcpConn *c);
MsTcpSeg *ms__tcp_sack_next_hole(MsTcpConn *c);
/* NextSeg() rule 4: the last segment not SACKed (it holds the highest
 * outstanding octet not SACKed), for the rescue retransmission; NULL when
 * every segment is SACKed. Borrowed. */
MsTcpSeg *ms__tcp_sack_last_unsacked(MsTcpConn *c);

/* Puts the flow on one part of a distributed run: events for other
 * ranks' hosts travel through `shard` (borrowed; it outlives the flow's
 * use of it). */
void ms__flow_attach_shard(MsFlow *flow, MsShard *shard);

/* The shortest latency between two hosts of different parts that are not
 * routers (over every link, up or down, whatever the routing): no event a
 * flow sends to another rank comes sooner (MS_TIME_INFINITE when no two
 * such hosts are connected). O(K (V + E) log V). */
MsTime ms__flow_lookahead(const MsNet *net, const MsPartition *partition);
