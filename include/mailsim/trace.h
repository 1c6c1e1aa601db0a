/* Trace records: what every layer reports as it works (a packet sent,
 * dropped or delivered, a segment retransmitted, a stream opened or closed,
 * a protocol line, a mail event). Layers emit typed records to an MsTrace,
 * which hands each to the sinks a run configured: narration, JSON Lines,
 * pcapng, statistics, an in-memory recorder for pictures and tests.
 * Emitting with no sink attached costs one branch. */
#pragma once

#include <glib.h>
#include <stdarg.h>
#include "mailsim/engine.h"

G_BEGIN_DECLS

typedef enum {
    /* network layer */
    MS_TRACE_PACKET_SEND,    /* a host puts a packet on a link (first hop or forward) */
    MS_TRACE_PACKET_DROP,    /* lost: link loss, queue full, TTL, host/link down, no route */
    MS_TRACE_PACKET_DELIVER, /* reached the destination host */
    /* transport */
    MS_TRACE_TCP_CONNECT, /* SYN sent */
    MS_TRACE_TCP_ESTABLISHED,
    MS_TRACE_TCP_RETRANSMIT,
    MS_TRACE_TCP_CLOSE,  /* text: why (normal, refused, timeout, reset, unreachable) */
    MS_TRACE_TCP_STREAM, /* a stream's totals at close: bytes, segments */
    /* applications */
    MS_TRACE_PROTO_LINE, /* one SMTP/POP3 command or reply line, or a DNS query/answer */
    MS_TRACE_MAIL,       /* a mail-level step (submitted, queued, MX chosen, delivered, ...) */
    MS_TRACE_NOTE,       /* an aside for people: what really happens */
    MS_TRACE_QUEUE,      /* an MTA's queue length changed: `code` is the new length */
    MS_TRACE_KIND_COUNT
} MsTraceKind;

/* Drop reasons (MS_TRACE_PACKET_DROP's `code`). */
typedef enum {
    MS_DROP_LOSS,
    MS_DROP_QUEUE_FULL,
    MS_DROP_TTL,
    MS_DROP_LINK_DOWN,
    MS_DROP_HOST_DOWN,
    MS_DROP_NO_ROUTE,
    MS_DROP_NO_LISTENER,
} MsDropReason;

typedef struct _MsPacket MsPacket;

typedef struct {
    MsTime at;
    MsTraceKind kind;
    MsHostId host;          /* where it happens */
    MsHostId peer;          /* the other end, or MS_HOST_WORLD */
    guint32 code;           /* kind-specific: drop reason, reply code, link id... */
    guint32 message;        /* mail message id, or 0 */
    const char *proto;      /* "smtp", "pop3", "dns", "tcp", ... or NULL */
    const char *text;       /* human text, valid during the call only */
    gboolean outgoing;      /* PROTO_LINE: sent by `host` (TRUE) or received */
    const MsPacket *packet; /* PACKET_*: the packet, valid during the call only */
    guint32 link;           /* PACKET_SEND: link index */
} MsTraceRecord;

typedef void (*MsTraceSinkFunc)(const MsTraceRecord *record, gpointer user_data);

typedef struct _MsTrace MsTrace;

/* Returns a new trace with no sinks (caller frees). */
MsTrace *ms_trace_new(void);
void ms_trace_free(MsTrace *trace);

/* Adds a sink; `destroy` (may be NULL) frees user_data with the trace. */
void ms_trace_add_sink(MsTrace *trace, MsTraceSinkFunc func, gpointer user_data,
                       GDestroyNotify destroy);

gboolean ms_trace_enabled(const MsTrace *trace);

void ms_trace_emit(MsTrace *trace, const MsTraceRecord *record);

/* Emits a copy of `record` whose text is `fmt` formatted with `ap`; formats
 * nothing when no sink listens (most runs have none). The one place where
 * trace text is printed: every printf-style trace helper of the layers
 * (ms_trace_emitf, the mail layer's notes, the flow level's and the DNS
 * resolver's lines) ends here. `record` is borrowed; its `text` is ignored.
 * `ap` is consumed (va_end is the caller's). */
void ms_trace_emitv(MsTrace *trace, const MsTraceRecord *record, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);

/* Convenience: emits a record of `kind` with printf-formatted text. */
void ms_trace_emitf(MsTrace *trace, MsTime at, MsTraceKind kind, MsHostId host, MsHostId peer,
                    guint32 message, const char *proto, const char *fmt, ...) G_GNUC_PRINTF(8, 9);

const char *ms_trace_kind_to_string(MsTraceKind kind);
const char *ms_drop_reason_to_string(MsDropReason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTrace, ms_trace_free)

G_END_DECLS
