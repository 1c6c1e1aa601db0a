/* Trace sinks that turn trace records (include/mailsim/trace.h) into
 * output: a narration for people, JSON Lines for programs, and a pcapng
 * capture for Wireshark. Each is attached to an MsTrace with
 * ms_trace_add_sink(trace, ms_sink_*_record, sink, ms_sink_*_free). */
#pragma once

#include <stdio.h>
#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/mail.h"

G_BEGIN_DECLS

typedef enum {
    MS_NARRATE_MAIL,     /* mail-level steps and asides */
    MS_NARRATE_PROTOCOL, /* + every SMTP/POP3 line and DNS exchange */
    MS_NARRATE_PACKETS,  /* + every packet sent and dropped */
} MsNarrateLevel;

typedef struct _MsNarrator MsNarrator;
/* A narrator writing to `out` (borrowed). Returns a new sink (freed by the
 * trace it is added to). */
MsNarrator *ms_narrator_new(MsNet *net, FILE *out, MsNarrateLevel level, gboolean colour);
void ms_narrator_record(const MsTraceRecord *record, gpointer narrator);
void ms_narrator_free(gpointer narrator);

typedef struct _MsJsonSink MsJsonSink;
/* Writes one JSON object per record to `path`; NULL with `error` set if
 * the file cannot be opened. */
MsJsonSink *ms_json_sink_new(MsNet *net, const char *path, GError **error);
void ms_json_sink_record(const MsTraceRecord *record, gpointer sink);
void ms_json_sink_free(gpointer sink);
/* One part of a partitioned run: every record starts with "ord", the order
 * key of the event that emitted it ([time, scheduling host, its counter];
 * [-1] for set-up), which `mailsim merge` sorts by. */
void ms_json_sink_set_part(MsJsonSink *sink);
/* Ends a part's trace with its message ids: {"part":P,"parts":K,"ids":
 * [[id, Message-ID, shadow, created at, by host, counter, rank], ...]},
 * from which `mailsim merge` numbers messages as a sequential run does (and
 * checks it has every part). Before the merge of records (ms_mail_merge()
 * renumbers them). */
void ms_json_sink_write_ids(MsJsonSink *sink, MsMail *mail, guint part, guint parts);

typedef struct _MsPcapSink MsPcapSink;
/* Captures every packet once, as it leaves the host that sent it (so a
 * retransmission in the file is a real one), on one interface. */
MsPcapSink *ms_pcap_sink_new(MsNet *net, const char *path, GError **error);
void ms_pcap_sink_record(const MsTraceRecord *record, gpointer sink);
/* Moves the capture point to one host: packets it sends (its own and,
 * for a router, those it forwards) and packets delivered to it. */
void ms_pcap_sink_set_host(MsPcapSink *sink, MsHostId host);
/* Taps a link instead (may be called several times: one pcapng interface
 * per link): every packet put on that link, in either direction. */
void ms_pcap_sink_add_link(MsPcapSink *sink, guint32 link);

/* Bounds the capture file to `limit` octets (0: none); see
 * ms_pcap_writer_set_limit(). Call before the first packet. */
gboolean ms_pcap_sink_set_limit(MsPcapSink *sink, guint64 limit, GError **error);

/* What the capture holds and what a limit left out. */
typedef struct {
    guint64 written;       /* packets in the file */
    guint64 bytes;         /* size of the file */
    guint64 left_out;      /* packets not written because of the limit */
    gint64 first_left_out; /* simulation time (ns) of the first of them, or -1 */
} MsPcapCounts;

/* Fills `out`; valid before and after ms_pcap_sink_close(). */
void ms_pcap_sink_get_counts(const MsPcapSink *sink, MsPcapCounts *out);

/* Flushes and closes the file (records after that are ignored); FALSE with
 * `error` on a write error. The sink itself is freed by its trace. */
gboolean ms_pcap_sink_close(MsPcapSink *sink, GError **error);
void ms_pcap_sink_free(gpointer sink);

G_END_DECLS
