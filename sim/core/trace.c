/* Trace record dispatch (see include/mailsim/trace.h). A small array of
 * sinks called in the order they were added, so every sink sees the same
 * records in the same order: output is deterministic. Text is formatted in
 * one place, ms_trace_emitv(), and only when some sink listens: a run
 * without sinks pays one branch per record. */
#include "mailsim/trace.h"

#include <stdarg.h>

typedef struct {
    MsTraceSinkFunc func;
    gpointer user_data;
    GDestroyNotify destroy;
} Sink;

struct _MsTrace {
    GArray *sinks;
};

MsTrace *
ms_trace_new(void)
{
    MsTrace *t = g_new0(MsTrace, 1);
    t->sinks = g_array_new(FALSE, FALSE, sizeof(Sink));
    return t;
}

void
ms_trace_free(MsTrace *t)
{
    if (!t)
        return;
    for (guint i = 0; i < t->sinks->len; i++) {
        Sink *s = &g_array_index(t->sinks, Sink, i);
        if (s->destroy)
            s->destroy(s->user_data);
    }
    g_array_free(t->sinks, TRUE);
    g_free(t);
}

void
ms_trace_add_sink(MsTrace *t, MsTraceSinkFunc func, gpointer user_data, GDestroyNotify destroy)
{
    Sink s = { func, user_data, destroy };
    g_array_append_val(t->sinks, s);
}

gboolean
ms_trace_enabled(const MsTrace *t)
{
    return t && t->sinks->len > 0;
}

void
ms_trace_emit(MsTrace *t, const MsTraceRecord *r)
{
    if (!t)
        return;
    for (guint i = 0; i < t->sinks->len; i++) {
        Sink *s = &g_array_index(t->sinks, Sink, i);
        s->func(r, s->user_data);
    }
}

void
ms_trace_emitv(MsTrace *t, const MsTraceRecord *record, const char *fmt, va_list ap)
{
    if (!ms_trace_enabled(t))
        return;
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    MsTraceRecord r = *record;
    r.text = text;
    ms_trace_emit(t, &r);
}

void
ms_trace_emitf(MsTrace *t, MsTime at, MsTraceKind kind, MsHostId host, MsHostId peer,
               guint32 message, const char *proto, const char *fmt, ...)
{
    MsTraceRecord r = {
        .at = at, .kind = kind, .host = host, .peer = peer, .message = message, .proto = proto
    };
    va_list ap;
    va_start(ap, fmt);
    ms_trace_emitv(t, &r, fmt, ap);
    va_end(ap);
}

const char *
ms_trace_kind_to_string(MsTraceKind kind)
{
    static const char *const names[MS_TRACE_KIND_COUNT] = {
        "packet-send",     "packet-drop",    "packet-deliver", "tcp-connect",
        "tcp-established", "tcp-retransmit", "tcp-close",      "tcp-stream",
        "proto-line",      "mail",           "note",           "queue",
    };
    return (guint) kind < MS_TRACE_KIND_COUNT ? names[kind] : "?";
}

const char *
ms_drop_reason_to_string(MsDropReason reason)
{
    static const char *const names[] = {
        "loss", "queue-full", "ttl-expired", "link-down", "host-down", "no-route", "no-listener",
    };
    return (guint) reason < G_N_ELEMENTS(names) ? names[reason] : "?";
}
