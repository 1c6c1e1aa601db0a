/* The in-memory trace recorder (see include/mailsim/recorder.h): an array of
 * record copies with their strings. Cost: one copy per kept record; keep
 * only what a picture needs on large runs (kind mask, message filter). */
#include "mailsim/recorder.h"
#include "mailsim/net.h"

struct _MsRecorder {
    guint32 mask;
    guint32 message;
    gboolean only_tagged;
    GArray *records; /* MsRecord */
};

static void
record_clear(gpointer p)
{
    MsRecord *r = p;
    g_free(r->proto);
    g_free(r->text);
}

MsRecorder *
ms_recorder_new(guint32 kind_mask, guint32 message, gboolean only_tagged)
{
    MsRecorder *r = g_new0(MsRecorder, 1);
    r->mask = kind_mask;
    r->message = message;
    r->only_tagged = only_tagged;
    r->records = g_array_new(FALSE, TRUE, sizeof(MsRecord));
    g_array_set_clear_func(r->records, record_clear);
    return r;
}

void
ms_recorder_free(MsRecorder *r)
{
    if (!r)
        return;
    g_array_free(r->records, TRUE);
    g_free(r);
}

void
ms_recorder_attach(MsRecorder *r, MsTrace *trace)
{
    ms_trace_add_sink(trace, ms_recorder_record, r, NULL);
}

void
ms_recorder_record(const MsTraceRecord *t, gpointer p)
{
    MsRecorder *r = p;
    if (r->mask && !(r->mask & (1u << t->kind)))
        return;
    if (r->message && t->message != r->message && (r->only_tagged || t->message != 0))
        return;
    MsRecord c = { 0 };
    c.at = t->at;
    c.kind = t->kind;
    c.host = t->host;
    c.peer = t->peer;
    c.code = t->code;
    c.message = t->message;
    c.link = t->link;
    c.proto = g_strdup(t->proto);
    c.text = g_strdup(t->text);
    c.outgoing = t->outgoing;
    if (t->packet) {
        c.has_packet = TRUE;
        c.packet_proto = t->packet->proto;
        c.sport = t->packet->sport;
        c.dport = t->packet->dport;
        c.packet_size = t->packet->size;
        c.payload_len = t->packet->payload ? (guint32) g_bytes_get_size(t->packet->payload) : 0;
        c.packet_src = t->packet->src;
        c.packet_dst = t->packet->dst;
    }
    g_array_append_val(r->records, c);
}

guint
ms_recorder_len(const MsRecorder *r)
{
    return r->records->len;
}

const MsRecord *
ms_recorder_get(const MsRecorder *r, guint i)
{
    g_return_val_if_fail(i < r->records->len, NULL);
    return &g_array_index(r->records, MsRecord, i);
}

guint
ms_recorder_first_at(const MsRecorder *r, MsTime at)
{
    guint lo = 0, hi = r->records->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(r->records, MsRecord, mid).at < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
