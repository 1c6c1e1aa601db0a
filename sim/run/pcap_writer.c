/* The pcapng trace sink's file writer (see include/mailsim/pcap_writer.h).
 * Role in the data flow: the packet-level transport hands it every segment
 * and datagram it puts on a link; it writes them as a capture that Wireshark
 * decodes as the real protocols.
 *
 * Design. A file is one section: a Section Header Block, then Interface
 * Description Blocks and Enhanced Packet Blocks in call order (pcapng lets
 * an IDB come after packets of other interfaces). Every block is assembled
 * in one scratch GByteArray kept by the writer, so a packet costs no
 * allocation once the scratch has grown to the largest packet, and is then
 * handed to stdio, which buffers 64 KiB before each write(2).
 *
 * Byte order: blocks are written little-endian whatever the host (the
 * byte-order magic says so), so one run gives the same file everywhere;
 * packet headers are network byte order as on the wire. Checksums: the IPv4
 * header checksum (RFC 791 3.1) and the TCP (RFC 9293 3.1) or UDP (RFC 768)
 * checksum over the pseudo-header are computed with the one's-complement sum
 * of RFC 1071.
 *
 * A size limit (ms_pcap_writer_set_limit) bounds the file: each block is
 * whole in the scratch before it is written, so the writer knows its size
 * and refuses the first block that would take the file past the limit. From
 * then on the writer is full and refuses every later block too (a small
 * packet that would still fit is not written after a large one that did
 * not), so the file holds a prefix of the capture in time, with no block cut
 * short; the refused packets are counted, and the time of the first is kept.
 *
 * Invariants: after the first failed write the writer does nothing more and
 * keeps that error for ms_pcap_writer_close(); `bytes` is the size of the
 * file as written so far and never exceeds a limit set before the first
 * packet (the header blocks count). Ownership: the writer owns
 * its FILE and scratch buffer. Threading: one writer, one thread; no global
 * state. Costs: O(packet length) per packet (two checksum passes); O(1) per
 * packet once full. */
#include "mailsim/pcap_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BT_SHB           0x0A0D0D0Au
#define BT_IDB           0x00000001u
#define BT_EPB           0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define OPT_END          0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME      2
#define OPT_IF_TSRESOL   9

/* Large enough for any IPv4 packet; Wireshark's usual default. */
#define SNAPLEN        262144
#define STDIO_BUFFER   (64 * 1024)
#define EPB_FIXED      28 /* type, length, interface, two timestamp words, two lengths */
#define IP_MAXLEN      65535
#define MSS_OPTION_LEN 4

struct _MsPcapWriter {
    char *path;
    FILE *file;
    GByteArray *block; /* scratch for the block being built */
    guint interfaces;
    guint64 packets;
    guint64 bytes;    /* octets handed to stdio so far */
    guint64 limit;    /* 0: none */
    gboolean full;    /* a block was refused for the limit */
    guint64 left_out; /* packets refused for the limit */
    gint64 full_at;   /* time of the first packet refused */
    GError *error;    /* the first write error, sticky */
};

/* ---------------------------------------------------------------- encoding */

static void
le16(GByteArray *b, guint16 v)
{
    guint8 x[2] = { (guint8) v, (guint8) (v >> 8) };
    g_byte_array_append(b, x, 2);
}

static void
le32(GByteArray *b, guint32 v)
{
    guint8 x[4] = { (guint8) v, (guint8) (v >> 8), (guint8) (v >> 16), (guint8) (v >> 24) };
    g_byte_array_append(b, x, 4);
}

static void
pad4(GByteArray *b)
{
    static const guint8 zero[3] = { 0 };
    guint rem = b->len % 4;
    if (rem)
        g_byte_array_append(b, zero, 4 - rem);
}

static void
option(GByteArray *b, guint16 code, const void *value, guint16 len)
{
    le16(b, code);
    le16(b, len);
    if (len)
        g_byte_array_append(b, value, len);
    pad4(b);
}

static void
put_be16(guint8 *p, guint16 v)
{
    p[0] = (guint8) (v >> 8);
    p[1] = (guint8) v;
}

static void
put_be32(guint8 *p, guint32 v)
{
    p[0] = (guint8) (v >> 24);
    p[1] = (guint8) (v >> 16);
    p[2] = (guint8) (v >> 8);
    p[3] = (guint8) v;
}

/* The running one's-complement sum of RFC 1071 over big-endian 16-bit
 * words; an odd final octet is padded with zero. */
static guint32
sum16(guint32 sum, const guint8 *p, gsize n)
{
    gsize i = 0;
    for (; i + 1 < n; i += 2)
        sum += (guint32) ((p[i] << 8) | p[i + 1]);
    if (i < n)
        sum += (guint32) (p[i] << 8);
    return sum;
}

static guint16
fold(guint32 sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (guint16) ~sum;
}

/* ---------------------------------------------------------------- blocks */

static void
block_begin(MsPcapWriter *w, guint32 type)
{
    g_byte_array_set_size(w->block, 0);
    le32(w->block, type);
    le32(w->block, 0); /* total length, patched by block_end() */
}

/* Closes the block (trailing length) and hands it to stdio, unless it
 * would take the file past the limit: then it is dropped whole, the writer
 * is full, and FALSE is returned. */
static gboolean
block_end(MsPcapWriter *w)
{
    GByteArray *b = w->block;
    pad4(b);
    guint32 total = b->len + 4;
    b->data[4] = (guint8) total;
    b->data[5] = (guint8) (total >> 8);
    b->data[6] = (guint8) (total >> 16);
    b->data[7] = (guint8) (total >> 24);
    le32(b, total);
    if (w->full || (w->limit && b->len > w->limit - MIN(w->bytes, w->limit))) {
        w->full = TRUE;
        return FALSE;
    }
    w->bytes += b->len;
    if (w->error)
        return TRUE;
    if (fwrite(b->data, 1, b->len, w->file) != b->len) {
        int saved = errno;
        g_set_error(&w->error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot write to '%s': %s", w->path, g_strerror(saved));
    }
    return TRUE;
}

/* Once full, a packet is counted as left out without being built. */
static gboolean
skip_full(MsPcapWriter *w, gint64 time_ns)
{
    if (!w->full)
        return FALSE;
    if (w->left_out++ == 0)
        w->full_at = time_ns;
    return TRUE;
}

/* Counts a packet block as written or as left out for the limit. */
static void
packet_end(MsPcapWriter *w, gint64 time_ns)
{
    if (block_end(w)) {
        w->packets++;
        return;
    }
    if (w->left_out++ == 0)
        w->full_at = time_ns;
}

MsPcapWriter *
ms_pcap_writer_new(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    FILE *f = fopen(path, "wb");
    if (!f) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot create capture file '%s': %s", path, g_strerror(saved));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, STDIO_BUFFER);
    MsPcapWriter *w = g_new0(MsPcapWriter, 1);
    w->path = g_strdup(path);
    w->file = f;
    w->block = g_byte_array_sized_new(2048);

    block_begin(w, BT_SHB);
    le32(w->block, BYTE_ORDER_MAGIC);
    le16(w->block, 1);           /* major version */
    le16(w->block, 0);           /* minor version */
    le32(w->block, 0xFFFFFFFFu); /* section length: -1, not given */
    le32(w->block, 0xFFFFFFFFu);
    option(w->block, OPT_SHB_USERAPPL, "mailsim", 7);
    option(w->block, OPT_END, NULL, 0);
    (void) block_end(w);
    return w;
}

guint
ms_pcap_writer_add_interface(MsPcapWriter *w, const char *name)
{
    g_return_val_if_fail(w != NULL && name != NULL, 0);
    gsize n = strlen(name);
    g_return_val_if_fail(n <= G_MAXUINT16, 0);
    block_begin(w, BT_IDB);
    le16(w->block, MS_PCAP_LINKTYPE_IPV4);
    le16(w->block, 0); /* reserved */
    le32(w->block, SNAPLEN);
    option(w->block, OPT_IF_NAME, name, (guint16) n);
    const guint8 nanoseconds = 9; /* 10^-9 s per tick */
    option(w->block, OPT_IF_TSRESOL, &nanoseconds, 1);
    option(w->block, OPT_END, NULL, 0);
    (void) block_end(w);
    return w->interfaces++;
}

/* Starts an Enhanced Packet Block whose packet is `caplen` octets, and
 * returns where in the scratch the packet goes (zero-filled). */
static guint8 *
packet_begin(MsPcapWriter *w, guint iface, gint64 time_ns, gsize caplen)
{
    guint64 ts = (guint64) time_ns;
    block_begin(w, BT_EPB);
    le32(w->block, iface);
    le32(w->block, (guint32) (ts >> 32));
    le32(w->block, (guint32) ts);
    le32(w->block, (guint32) caplen);
    le32(w->block, (guint32) caplen);
    g_byte_array_set_size(w->block, EPB_FIXED + (guint) caplen);
    guint8 *p = w->block->data + EPB_FIXED;
    memset(p, 0, caplen);
    return p;
}

/* Fills the 20-octet IPv4 header at p (RFC 791 3.1): no options, DF set. */
static void
ipv4_header(guint8 *p, gsize total, guint8 proto, guint8 ttl, guint16 ip_id, guint32 src,
            guint32 dst)
{
    p[0] = 0x45; /* version 4, header length 5 words */
    p[1] = 0;    /* DSCP/ECN */
    put_be16(p + 2, (guint16) total);
    put_be16(p + 4, ip_id);
    put_be16(p + 6, 0x4000); /* DF, fragment offset 0 */
    p[8] = ttl;
    p[9] = proto;
    put_be32(p + 12, src);
    put_be32(p + 16, dst);
    put_be16(p + 10, fold(sum16(0, p, MS_IPV4_HEADER_LEN)));
}

/* The sum of the pseudo-header that TCP and UDP checksums cover. */
static guint32
pseudo_sum(guint32 src, guint32 dst, guint8 proto, gsize l4len)
{
    guint8 ph[12];
    put_be32(ph, src);
    put_be32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    put_be16(ph + 10, (guint16) l4len);
    return sum16(0, ph, sizeof ph);
}

void
ms_pcap_writer_tcp_segment(MsPcapWriter *w, guint iface, gint64 time_ns, const MsPcapTcp *seg,
                           const guint8 *payload, gsize len)
{
    g_return_if_fail(w != NULL && seg != NULL && iface < w->interfaces && time_ns >= 0);
    g_return_if_fail(payload != NULL || len == 0);
    g_return_if_fail(seg->n_sack <= MS_TCP_SACK_MAX_BLOCKS);
    gsize hlen =
        MS_TCP_HEADER_LEN + ms_tcp_wire_options_len(seg->mss != 0, seg->sack_perm, seg->n_sack);
    g_return_if_fail(len <= IP_MAXLEN - MS_IPV4_HEADER_LEN - hlen);
    if (skip_full(w, time_ns))
        return;
    gsize total = MS_IPV4_HEADER_LEN + hlen + len;
    guint8 *ip = packet_begin(w, iface, time_ns, total);
    ipv4_header(ip, total, MS_IPPROTO_TCP, seg->ttl, seg->ip_id, seg->src_ip, seg->dst_ip);
    guint8 *t = ip + MS_IPV4_HEADER_LEN;
    put_be16(t, seg->sport);
    put_be16(t + 2, seg->dport);
    put_be32(t + 4, seg->seq);
    put_be32(t + 8, seg->ack);
    t[12] = (guint8) ((hlen / 4) << 4); /* data offset in 32-bit words */
    t[13] = seg->flags;
    put_be16(t + 14, seg->window);
    /* t[16..17] checksum below, t[18..19] urgent pointer 0 */
    /* Options as ms_tcp_wire_options_len() lays them out: MSS (RFC 9293
     * 3.2), NOP NOP SACK-permitted (RFC 2018 2), NOP NOP SACK (RFC 2018 3). */
    guint8 *o = t + MS_TCP_HEADER_LEN;
    if (seg->mss) {
        o[0] = MS_TCPOPT_MSS;
        o[1] = MSS_OPTION_LEN;
        put_be16(o + 2, seg->mss);
        o += MSS_OPTION_LEN;
    }
    if (seg->sack_perm) {
        o[0] = o[1] = MS_TCPOPT_NOP;
        o[2] = MS_TCPOPT_SACK_PERM;
        o[3] = 2;
        o += 4;
    }
    if (seg->n_sack) {
        o[0] = o[1] = MS_TCPOPT_NOP;
        o[2] = MS_TCPOPT_SACK;
        o[3] = (guint8) (2 + 8 * seg->n_sack);
        o += 4;
        for (guint i = 0; i < seg->n_sack; i++, o += 8) {
            put_be32(o, seg->sack[2 * i]);
            put_be32(o + 4, seg->sack[2 * i + 1]);
        }
    }
    if (len)
        memcpy(t + hlen, payload, len);
    guint32 sum = pseudo_sum(seg->src_ip, seg->dst_ip, MS_IPPROTO_TCP, hlen + len);
    put_be16(t + 16, fold(sum16(sum, t, hlen + len)));
    packet_end(w, time_ns);
}

void
ms_pcap_writer_tcp(MsPcapWriter *w, guint iface, gint64 time_ns, guint32 src_ip, guint32 dst_ip,
                   guint16 sport, guint16 dport, guint32 seq, guint32 ack, guint8 flags,
                   guint16 window, guint8 ttl, guint16 ip_id, const guint8 *payload, gsize len)
{
    const MsPcapTcp seg = {
        .src_ip = src_ip,
        .dst_ip = dst_ip,
        .sport = sport,
        .dport = dport,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .window = window,
        .ttl = ttl,
        .ip_id = ip_id,
        .mss = 0,
    };
    ms_pcap_writer_tcp_segment(w, iface, time_ns, &seg, payload, len);
}

void
ms_pcap_writer_udp(MsPcapWriter *w, guint iface, gint64 time_ns, guint32 src_ip, guint32 dst_ip,
                   guint16 sport, guint16 dport, guint8 ttl, guint16 ip_id, const guint8 *payload,
                   gsize len)
{
    g_return_if_fail(w != NULL && iface < w->interfaces && time_ns >= 0);
    g_return_if_fail(payload != NULL || len == 0);
    g_return_if_fail(len <= IP_MAXLEN - MS_IPV4_HEADER_LEN - MS_UDP_HEADER_LEN);
    if (skip_full(w, time_ns))
        return;
    gsize ulen = MS_UDP_HEADER_LEN + len;
    gsize total = MS_IPV4_HEADER_LEN + ulen;
    guint8 *ip = packet_begin(w, iface, time_ns, total);
    ipv4_header(ip, total, MS_IPPROTO_UDP, ttl, ip_id, src_ip, dst_ip);
    guint8 *u = ip + MS_IPV4_HEADER_LEN;
    put_be16(u, sport);
    put_be16(u + 2, dport);
    put_be16(u + 4, (guint16) ulen);
    if (len)
        memcpy(u + MS_UDP_HEADER_LEN, payload, len);
    guint16 c = fold(sum16(pseudo_sum(src_ip, dst_ip, MS_IPPROTO_UDP, ulen), u, ulen));
    /* RFC 768: a computed 0 is sent as all ones; 0 means "no checksum". */
    put_be16(u + 6, c ? c : 0xFFFF);
    packet_end(w, time_ns);
}

guint64
ms_pcap_writer_packets(const MsPcapWriter *w)
{
    g_return_val_if_fail(w != NULL, 0);
    return w->packets;
}

gboolean
ms_pcap_writer_set_limit(MsPcapWriter *w, guint64 limit, GError **error)
{
    g_return_val_if_fail(w != NULL, FALSE);
    if (limit && limit < w->bytes) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "a limit of %" G_GUINT64_FORMAT " B is smaller than the %" G_GUINT64_FORMAT
                    " B already written to '%s'",
                    limit, w->bytes, w->path);
        return FALSE;
    }
    w->limit = limit;
    return TRUE;
}

guint64
ms_pcap_writer_bytes(const MsPcapWriter *w)
{
    g_return_val_if_fail(w != NULL, 0);
    return w->bytes;
}

guint64
ms_pcap_writer_left_out(const MsPcapWriter *w, gint64 *first_ns)
{
    g_return_val_if_fail(w != NULL, 0);
    if (first_ns)
        *first_ns = w->left_out ? w->full_at : -1;
    return w->left_out;
}

gboolean
ms_pcap_writer_close(MsPcapWriter *w, GError **error)
{
    g_return_val_if_fail(w != NULL, FALSE);
    if (!w->error && fflush(w->file) != 0) {
        int saved = errno;
        g_set_error(&w->error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot write to '%s': %s", w->path, g_strerror(saved));
    }
    if (fclose(w->file) != 0 && !w->error) {
        int saved = errno;
        g_set_error(&w->error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot close '%s': %s", w->path, g_strerror(saved));
    }
    w->file = NULL;
    gboolean ok = w->error == NULL;
    if (!ok)
        g_propagate_error(error, g_steal_pointer(&w->error));
    ms_pcap_writer_free(w);
    return ok;
}

void
ms_pcap_writer_free(MsPcapWriter *w)
{
    if (!w)
        return;
    if (w->file)
        fclose(w->file);
    g_clear_error(&w->error);
    g_byte_array_unref(w->block);
    g_free(w->path);
    g_free(w);
}
