/* Trace sinks (see include/mailsim/sinks.h): narration, JSON Lines, pcapng.
 * Each formats only what it is given, in the order given, so outputs are as
 * deterministic as the run. */
#include "mailsim/sinks.h"
#include "mailsim/json.h"
#include "mailsim/pcap_writer.h"

#include <errno.h>
#include <string.h>

/* --- narration ---------------------------------------------------------- */

struct _MsNarrator {
    MsNet *net;
    FILE *out;
    MsNarrateLevel level;
    gboolean colour;
    guint step;
    GHashTable *isn; /* MsNarratorFlow* -> initial sequence number, from SYNs */
};

/* One direction of a TCP connection, as the packets name it. */
typedef struct {
    guint32 src, dst;
    guint16 sport, dport;
} MsNarratorFlow;

static guint
flow_hash(gconstpointer p)
{
    const MsNarratorFlow *f = p;
    return (f->src * 31u + f->dst) * 65599u + ((guint) f->sport << 16 | f->dport);
}

static gboolean
flow_equal(gconstpointer a, gconstpointer b)
{
    const MsNarratorFlow *x = a, *y = b;
    return x->src == y->src && x->dst == y->dst && x->sport == y->sport && x->dport == y->dport;
}

MsNarrator *
ms_narrator_new(MsNet *net, FILE *out, MsNarrateLevel level, gboolean colour)
{
    MsNarrator *n = g_new0(MsNarrator, 1);
    n->net = net;
    n->out = out;
    n->level = level;
    n->colour = colour;
    n->isn = g_hash_table_new_full(flow_hash, flow_equal, g_free, NULL);
    return n;
}

void
ms_narrator_free(gpointer p)
{
    MsNarrator *n = p;
    if (!n)
        return;
    g_hash_table_destroy(n->isn);
    g_free(n);
}

/* A TCP segment's header as `--level packets` tells it, into `out`: flags,
 * sequence and acknowledgment numbers relative to each side's initial
 * sequence number (as Wireshark shows them; absolute until a SYN was
 * seen), window, and options: MSS and SACK-permitted on SYNs, SACK blocks
 * (RFC 2018) on ACKs. */
static void
tcp_header_text(MsNarrator *n, const MsPacket *k, GString *out)
{
    MsNarratorFlow f = { k->src_addr, k->dst_addr, k->sport, k->dport };
    MsNarratorFlow back = { k->dst_addr, k->src_addr, k->dport, k->sport };
    if (k->flags & MS_TCP_SYN)
        g_hash_table_insert(n->isn, g_memdup2(&f, sizeof f), GUINT_TO_POINTER(k->seq));
    gpointer isn_v = NULL, isn_back = NULL;
    guint32 isn =
        g_hash_table_lookup_extended(n->isn, &f, NULL, &isn_v) ? GPOINTER_TO_UINT(isn_v) : 0;
    guint32 back_isn = g_hash_table_lookup_extended(n->isn, &back, NULL, &isn_back)
                           ? GPOINTER_TO_UINT(isn_back)
                           : 0;
    static const struct {
        guint8 bit;
        const char *name;
    } names[] = { { MS_TCP_SYN, "SYN" }, { MS_TCP_FIN, "FIN" }, { MS_TCP_RST, "RST" },
                  { MS_TCP_PSH, "PSH" }, { MS_TCP_ACK, "ACK" }, { MS_TCP_URG, "URG" } };
    g_string_append(out, " [");
    const char *sep = "";
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        if (k->flags & names[i].bit) {
            g_string_append_printf(out, "%s%s", sep, names[i].name);
            sep = ", ";
        }
    g_string_append_printf(out, "] seq %u", k->seq - isn);
    if (k->flags & MS_TCP_ACK)
        g_string_append_printf(out, " ack %u", k->ack - back_isn);
    g_string_append_printf(out, " win %u", k->window);
    if (k->mss)
        g_string_append_printf(out, " mss %u", k->mss);
    if (k->sack_perm)
        g_string_append(out, " sack-permitted");
    for (guint i = 0; i < k->n_sack && i < MS_TCP_SACK_MAX_BLOCKS; i++)
        g_string_append_printf(out, "%s%u-%u", i ? " " : " SACK ", k->sack[2 * i] - back_isn,
                               k->sack[2 * i + 1] - back_isn);
}

static const char *
host_name(MsNet *net, MsHostId h)
{
    return h < ms_net_n_hosts(net) ? ms_net_host_name(net, h) : "?";
}

/* One end of a protocol line: a real peer of the bridge is MS_HOST_WORLD. */
static const char *
line_end(MsNet *net, MsHostId h)
{
    return h == MS_HOST_WORLD ? "real-peer" : host_name(net, h);
}

void
ms_narrator_record(const MsTraceRecord *r, gpointer p)
{
    MsNarrator *n = p;
    char t[32];
    ms_time_format_seconds(r->at, t, sizeof t);
    const char *b = n->colour ? "\033[1m" : "", *dim = n->colour ? "\033[2m" : "",
               *cy = n->colour ? "\033[36m" : "", *end = n->colour ? "\033[0m" : "";
    switch (r->kind) {
    case MS_TRACE_MAIL:
        fprintf(n->out, "%s%3u%s  t=%s s  %s\n", b, ++n->step, end, t, r->text);
        break;
    case MS_TRACE_NOTE:
        if (r->proto && n->level < MS_NARRATE_PACKETS)
            break; /* network up/down notes: shown with packets */
        fprintf(n->out, "%s     t=%s s  %s%s\n", cy, t, r->text, end);
        break;
    case MS_TRACE_PROTO_LINE:
        if (n->level < MS_NARRATE_PROTOCOL)
            break;
        /* Both ends trace each SMTP/POP3 line; tell it once, as it is sent.
         * A real peer of the bridge traces nothing: its lines are told as
         * the simulated end receives them. */
        if (!r->outgoing && r->peer != MS_HOST_WORLD && g_strcmp0(r->proto, "dns") != 0)
            break;
        if (g_strcmp0(r->proto, "dns") == 0 && r->peer == MS_HOST_WORLD)
            fprintf(n->out, "%s     t=%s s    %s  %s%s\n", dim, t, host_name(n->net, r->host),
                    r->text, end);
        else
            fprintf(n->out, "%s     t=%s s    %-5s %s %s %s: %s%s\n", dim, t,
                    r->proto ? r->proto : "", line_end(n->net, r->outgoing ? r->host : r->peer),
                    "->", line_end(n->net, r->outgoing ? r->peer : r->host), r->text, end);
        break;
    case MS_TRACE_TCP_STREAM:
        /* How a message's bytes crossed the network: told with the mail. */
        if (r->message && g_strcmp0(r->proto, "tcp") == 0)
            fprintf(n->out, "%s     t=%s s  %s%s\n", dim, t, r->text, end);
        break;
    case MS_TRACE_PACKET_SEND:
    case MS_TRACE_PACKET_DROP:
    case MS_TRACE_TCP_RETRANSMIT:
    case MS_TRACE_TCP_CLOSE:
        if (n->level < MS_NARRATE_PACKETS)
            break;
        if (r->packet) {
            gsize len = r->packet->payload ? g_bytes_get_size(r->packet->payload) : 0;
            g_autoptr(GString) hdr = g_string_new(NULL);
            if (r->packet->proto == MS_IPPROTO_TCP)
                tcp_header_text(n, r->packet, hdr);
            fprintf(n->out,
                    "%s     t=%s s      %s %s -> %s: %s %u->%u%s, %" G_GSIZE_FORMAT
                    " bytes of data%s\n",
                    dim, t, r->kind == MS_TRACE_PACKET_DROP ? "DROP" : "packet",
                    host_name(n->net, r->host),
                    r->kind == MS_TRACE_PACKET_DROP ? (r->text ? r->text : "")
                                                    : host_name(n->net, r->peer),
                    r->packet->proto == MS_IPPROTO_TCP ? "TCP" : "UDP", r->packet->sport,
                    r->packet->dport, hdr->str, len, end);
        } else {
            fprintf(n->out, "%s     t=%s s      %s %s%s\n", dim, t, host_name(n->net, r->host),
                    r->text ? r->text : "", end);
        }
        break;
    default:
        break;
    }
}

/* --- JSON Lines ------------------------------------------------------------ */

struct _MsJsonSink {
    MsNet *net;
    FILE *f;
    GString *buf;
    gboolean part; /* one part of a partitioned run: order keys on every record */
};

/* What `--level packets` tells of a TCP segment beyond the fields every
 * packet has, as JSON members: the window, and the options (MSS and
 * SACK-permitted on SYNs, RFC 2018 SACK blocks on ACKs as [left, right]
 * pairs, absolute sequence numbers like seq and ack). */
static void
tcp_options_json(const MsPacket *k, GString *b)
{
    g_string_append_printf(b, ",\"window\":%u", k->window);
    if (k->mss)
        g_string_append_printf(b, ",\"mss\":%u", k->mss);
    if (k->sack_perm)
        g_string_append(b, ",\"sack_permitted\":true");
    if (k->n_sack == 0)
        return;
    g_string_append(b, ",\"sack\":[");
    for (guint i = 0; i < k->n_sack && i < MS_TCP_SACK_MAX_BLOCKS; i++)
        g_string_append_printf(b, "%s[%u,%u]", i ? "," : "", k->sack[2 * i], k->sack[2 * i + 1]);
    g_string_append_c(b, ']');
}

MsJsonSink *
ms_json_sink_new(MsNet *net, const char *path, GError **error)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    MsJsonSink *s = g_new0(MsJsonSink, 1);
    s->net = net;
    s->f = f;
    s->buf = g_string_new(NULL);
    return s;
}

void
ms_json_sink_record(const MsTraceRecord *r, gpointer p)
{
    MsJsonSink *s = p;
    GString *b = s->buf;
    g_string_truncate(b, 0);
    g_string_append_c(b, '{');
    if (s->part) {
        /* The order key of the event that emitted the record: what
         * `mailsim merge` sorts the parts' records by (set-up: -1). */
        MsEngine *e = ms_net_engine(s->net);
        MsHostId src;
        guint64 seq;
        if (ms_engine_current_key(e, &src, &seq))
            g_string_append_printf(b, "\"ord\":[%" G_GINT64_FORMAT ",%u,%" G_GUINT64_FORMAT "],",
                                   ms_engine_now(e), src, seq);
        else
            g_string_append(b, "\"ord\":[-1],");
    }
    g_string_append_printf(b, "\"t_ns\":%" G_GINT64_FORMAT ",\"kind\":", r->at);
    ms_json_append_string(b, ms_trace_kind_to_string(r->kind), MS_JSON_PLAIN);
    g_string_append(b, ",\"host\":");
    ms_json_append_string(b, host_name(s->net, r->host), MS_JSON_PLAIN);
    if (r->peer != MS_HOST_WORLD) {
        g_string_append(b, ",\"peer\":");
        ms_json_append_string(b, host_name(s->net, r->peer), MS_JSON_PLAIN);
    }
    if (r->message)
        g_string_append_printf(b, ",\"message\":%u", r->message);
    if (r->proto) {
        g_string_append(b, ",\"proto\":");
        ms_json_append_string(b, r->proto, MS_JSON_PLAIN);
    }
    if (r->kind == MS_TRACE_PROTO_LINE)
        g_string_append_printf(b, ",\"dir\":\"%s\"", r->outgoing ? "out" : "in");
    if (r->packet) {
        const MsPacket *k = r->packet;
        g_string_append_printf(b,
                               ",\"packet\":{\"proto\":\"%s\",\"sport\":%u,\"dport\":%u,\"size\":%"
                               "u,\"seq\":%u,\"ack\":%u,\"flags\":%u",
                               k->proto == MS_IPPROTO_TCP ? "tcp" : "udp", k->sport, k->dport,
                               k->size, k->seq, k->ack, k->flags);
        if (k->proto == MS_IPPROTO_TCP)
            tcp_options_json(k, b);
        g_string_append_c(b, '}');
    }
    if (r->kind == MS_TRACE_PACKET_DROP)
        g_string_append_printf(b, ",\"reason\":\"%s\"",
                               ms_drop_reason_to_string((MsDropReason) r->code));
    if (r->kind == MS_TRACE_QUEUE)
        g_string_append_printf(b, ",\"length\":%u", r->code);
    if (r->text) {
        g_string_append(b, ",\"text\":");
        ms_json_append_string(b, r->text, MS_JSON_PLAIN);
    }
    g_string_append(b, "}\n");
    fwrite(b->str, 1, b->len, s->f);
}

void
ms_json_sink_set_part(MsJsonSink *s)
{
    s->part = TRUE;
}

void
ms_json_sink_write_ids(MsJsonSink *s, MsMail *mail, guint part, guint parts)
{
    GString *b = s->buf;
    g_string_printf(b, "{\"part\":%u,\"parts\":%u,\"ids\":[", part, parts);
    for (guint id = 1; id <= ms_mail_n_messages(mail); id++) {
        const MsMessageRecord *r = ms_mail_message(mail, id);
        g_string_append_printf(b, "%s[%u,", id > 1 ? "," : "", id);
        ms_json_append_string(b, r->message_id, MS_JSON_PLAIN);
        g_string_append_printf(b, ",%d,%" G_GINT64_FORMAT ",%u,%" G_GUINT64_FORMAT ",%u]",
                               r->shadow, r->create_t, r->create_src, r->create_seq, r->create_idx);
    }
    g_string_append(b, "]}\n");
    fwrite(b->str, 1, b->len, s->f);
}

void
ms_json_sink_free(gpointer p)
{
    MsJsonSink *s = p;
    if (!s)
        return;
    fclose(s->f);
    g_string_free(s->buf, TRUE);
    g_free(s);
}

/* --- pcapng ---------------------------------------------------------------- */

/* pcapng timestamps are Unix time (ns since 1970-01-01 UTC): simulated time
 * counted from the run's start date, the clock of the Date: headers, so
 * Wireshark shows the day the mail says it was written. */
#define EPOCH_NS (MS_MAIL_EPOCH_UNIX * MS_TIME_S)

struct _MsPcapSink {
    MsPcapWriter *w;
    MsNet *net;
    MsHostId host; /* MS_HOST_WORLD: capture at each sender */
    GArray *links; /* guint32 tapped links; interface i = links[i] */
    gboolean iface_made;
    guint64 written, left_out, bytes; /* kept at close */
    gint64 first_left_out;
};

MsPcapSink *
ms_pcap_sink_new(MsNet *net, const char *path, GError **error)
{
    (void) net;
    MsPcapWriter *w = ms_pcap_writer_new(path, error);
    if (!w)
        return NULL;
    MsPcapSink *s = g_new0(MsPcapSink, 1);
    s->w = w;
    s->net = net;
    s->host = MS_HOST_WORLD;
    s->first_left_out = -1;
    s->links = g_array_new(FALSE, FALSE, sizeof(guint32));
    return s;
}

gboolean
ms_pcap_sink_set_limit(MsPcapSink *s, guint64 limit, GError **error)
{
    g_return_val_if_fail(s != NULL && s->w != NULL, FALSE);
    return ms_pcap_writer_set_limit(s->w, limit, error);
}

void
ms_pcap_sink_get_counts(const MsPcapSink *s, MsPcapCounts *out)
{
    g_return_if_fail(s != NULL && out != NULL);
    if (s->w) {
        out->written = ms_pcap_writer_packets(s->w);
        out->bytes = ms_pcap_writer_bytes(s->w);
        out->left_out = ms_pcap_writer_left_out(s->w, &out->first_left_out);
        if (out->first_left_out >= 0)
            out->first_left_out -= EPOCH_NS; /* back to simulated time */
    } else {
        out->written = s->written;
        out->bytes = s->bytes;
        out->left_out = s->left_out;
        out->first_left_out = s->first_left_out;
    }
}

void
ms_pcap_sink_set_host(MsPcapSink *s, MsHostId host)
{
    s->host = host;
}

void
ms_pcap_sink_add_link(MsPcapSink *s, guint32 link)
{
    MsHostId a, b;
    ms_net_link_ends(s->net, link, &a, &b);
    g_autofree char *name =
        g_strdup_printf("%s~%s", ms_net_host_name(s->net, a), ms_net_host_name(s->net, b));
    ms_pcap_writer_add_interface(s->w, name);
    g_array_append_val(s->links, link);
}

/* Which interface (if any) records r. */
static gboolean
pcap_wants(MsPcapSink *s, const MsTraceRecord *r, guint *iface)
{
    if (!r->packet)
        return FALSE;
    if (s->links->len > 0) {
        if (r->kind != MS_TRACE_PACKET_SEND)
            return FALSE;
        for (guint i = 0; i < s->links->len; i++)
            if (g_array_index(s->links, guint32, i) == r->link) {
                *iface = i;
                return TRUE;
            }
        return FALSE;
    }
    *iface = 0;
    if (s->host != MS_HOST_WORLD)
        return (r->kind == MS_TRACE_PACKET_SEND && r->host == s->host) ||
               (r->kind == MS_TRACE_PACKET_DELIVER && r->host == s->host);
    return r->kind == MS_TRACE_PACKET_SEND && r->host == r->packet->src;
}

void
ms_pcap_sink_record(const MsTraceRecord *r, gpointer p)
{
    MsPcapSink *s = p;
    guint iface = 0;
    if (!s->w || !pcap_wants(s, r, &iface))
        return;
    if (!s->iface_made) {
        /* One interface for host or per-sender capture, made on first use
         * so that link taps (added after creation) get their own. */
        s->iface_made = TRUE;
        if (s->links->len == 0)
            ms_pcap_writer_add_interface(
                s->w, s->host != MS_HOST_WORLD ? ms_net_host_name(s->net, s->host) : "mailsim");
    }
    const MsPacket *k = r->packet;
    gsize len = 0;
    const guint8 *data = k->payload ? g_bytes_get_data(k->payload, &len) : NULL;
    if (k->proto == MS_IPPROTO_TCP) {
        MsPcapTcp seg = { .src_ip = k->src_addr,
                          .dst_ip = k->dst_addr,
                          .sport = k->sport,
                          .dport = k->dport,
                          .seq = k->seq,
                          .ack = k->ack,
                          .flags = k->flags,
                          .window = k->window,
                          .ttl = k->ttl,
                          .ip_id = k->ip_id,
                          .mss = k->mss,
                          .sack_perm = k->sack_perm,
                          .n_sack = k->n_sack };
        memcpy(seg.sack, k->sack, sizeof seg.sack);
        ms_pcap_writer_tcp_segment(s->w, iface, EPOCH_NS + r->at, &seg, data, len);
    } else {
        ms_pcap_writer_udp(s->w, iface, EPOCH_NS + r->at, k->src_addr, k->dst_addr, k->sport,
                           k->dport, k->ttl, k->ip_id, data, len);
    }
}

gboolean
ms_pcap_sink_close(MsPcapSink *s, GError **error)
{
    if (s->w && !s->iface_made && s->links->len == 0) {
        s->iface_made = TRUE; /* an empty capture is still a valid file */
        ms_pcap_writer_add_interface(s->w, "mailsim");
    }
    if (s->w) {
        MsPcapCounts c;
        ms_pcap_sink_get_counts(s, &c);
        s->written = c.written;
        s->bytes = c.bytes;
        s->left_out = c.left_out;
        s->first_left_out = c.first_left_out;
    }
    MsPcapWriter *w = g_steal_pointer(&s->w);
    return w ? ms_pcap_writer_close(w, error) : TRUE;
}

void
ms_pcap_sink_free(gpointer p)
{
    MsPcapSink *s = p;
    if (!s)
        return;
    ms_pcap_writer_free(s->w);
    g_array_free(s->links, TRUE);
    g_free(s);
}
