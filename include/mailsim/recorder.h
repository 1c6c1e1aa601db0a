/* An in-memory trace recorder: a sink that keeps a copy of the records a
 * run emits (optionally only those of chosen kinds or of one message), for
 * pictures and tests. Records are kept in emission order, which is time
 * order. */
#pragma once

#include <glib.h>
#include "mailsim/trace.h"

G_BEGIN_DECLS

/* One recorded record: a copy of MsTraceRecord's fields, with the packet
 * summarised (no payload). */
typedef struct {
    MsTime at;
    MsTraceKind kind;
    MsHostId host, peer;
    guint32 code, message, link;
    char *proto; /* or NULL */
    char *text;  /* or NULL */
    gboolean outgoing;
    gboolean has_packet;
    guint8 packet_proto; /* MS_IPPROTO_TCP / _UDP */
    guint16 sport, dport;
    guint32 packet_size, payload_len;
    MsHostId packet_src, packet_dst;
} MsRecord;

typedef struct _MsRecorder MsRecorder;

/* A recorder keeping kinds in `kind_mask` (bit 1 << kind; 0 keeps all) and,
 * when message != 0, only records of that message (records with no
 * message, such as DNS lines, are kept too unless only_tagged). Returns a
 * new recorder; attach it with ms_recorder_attach (the trace then owns it
 * only if you pass ms_recorder_free as destroy; usually the caller keeps
 * ownership and frees after the trace). */
MsRecorder *ms_recorder_new(guint32 kind_mask, guint32 message, gboolean only_tagged);
void ms_recorder_free(MsRecorder *recorder);
/* Adds the recorder to `trace` as a sink (not owned by the trace). */
void ms_recorder_attach(MsRecorder *recorder, MsTrace *trace);
void ms_recorder_record(const MsTraceRecord *record, gpointer recorder);

guint ms_recorder_len(const MsRecorder *recorder);
const MsRecord *ms_recorder_get(const MsRecorder *recorder, guint index);
/* The index of the first record at or after `at`, or ms_recorder_len()
 * when every record is earlier. Records are in time order, so this is a
 * binary search: O(log n). */
guint ms_recorder_first_at(const MsRecorder *recorder, MsTime at);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsRecorder, ms_recorder_free)

G_END_DECLS
