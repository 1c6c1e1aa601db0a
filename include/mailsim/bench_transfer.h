/* The transfer benchmark: one TCP connection at packet level sending N
 * bytes from host "a" to host "b" over one point-to-point link, with a loss
 * pattern that can be given segment by segment, so that the same transfer
 * can be run in another simulator (tools/ns3/transfer.cc runs it in ns-3)
 * and the two compared: transfer time, data segments, retransmissions.
 *
 * What is counted is what crossed the link from a to b, read at the link
 * (sim/net's loss hook), the same way tools/ns3/transfer.cc reads it at
 * b's device: a data segment is a packet from a carrying payload; it is a
 * retransmission when it starts below the highest sequence number sent
 * before it; the k-th data segment (from 1) is the k-th that starts at new
 * data, in the order of first transmission. The transfer time runs from
 * the connect call (time 0) until b's app has all N bytes. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

#define MS_BENCH_TRANSFER_ERROR (ms_bench_transfer_error_quark())
GQuark ms_bench_transfer_error_quark(void);
typedef enum { MS_BENCH_TRANSFER_ERROR_INVALID } MsBenchTransferError;

typedef struct {
    guint64 bytes;         /* N, > 0 */
    guint64 bandwidth_bps; /* the link's, both directions */
    MsTime delay;          /* one-way propagation delay */
    double loss;           /* each packet from a to b lost with this probability */
    const guint64 *drops;  /* data segments to drop (ordinals from 1, ascending), or NULL */
    guint n_drops;
    guint32 mss;   /* payload bytes per segment: the link's MTU is mss + 40 */
    gboolean sack; /* both ends offer SACK (RFC 2018); FALSE: NewReno recovery */
    MsTime end;    /* give up at this simulated time */
    guint64 seed;
} MsBenchTransferParams;

typedef struct {
    gboolean completed;      /* b got all N bytes before `end` */
    MsTime transfer_time;    /* when it did (or `end`) */
    guint64 data_segments;   /* data packets a put on the link, retransmissions included */
    guint64 retransmitted;   /* of which resent bytes sent before */
    guint64 dropped;         /* data packets the link lost (the drop list or `loss`) */
    GArray *dropped_offsets; /* guint64: the stream offset of each lost data packet, in order */
} MsBenchTransferResult;

/* Parses a drop list "12,57,58": ordinals from 1, separated by commas,
 * written in any order; returns them sorted without repeats (caller frees),
 * or NULL with `error` set. */
GArray *ms_bench_transfer_parse_drops(const char *text, GError **error);

/* Runs the transfer; `result` is filled (clear it with
 * ms_bench_transfer_result_clear()). Deterministic for a given `params`. */
void ms_bench_transfer_run(const MsBenchTransferParams *params, MsBenchTransferResult *result);
void ms_bench_transfer_result_clear(MsBenchTransferResult *result);

G_END_DECLS
