/* A pcapng capture writer (draft-ietf-opsawg-pcapng), the trace sink that
 * lets Wireshark and tshark open what the simulation sent. Each simulated
 * link or host becomes an interface; each packet an Enhanced Packet Block
 * holding a real IPv4 header and a real TCP or UDP header, both with correct
 * checksums, and the application bytes (SMTP, POP3, DNS) as they were sent.
 *
 * Link type is LINKTYPE_IPV4 (228): packets start at the IPv4 header, with
 * no Ethernet framing. Timestamps are simulation time in nanoseconds
 * (if_tsresol = 9), so a packet at MsTime 1234567890 shows as 1.234567890 s.
 * IPv4 addresses are guint32 in host byte order: 10.0.0.1 is 0x0A000001.
 *
 * Errors: opening reports at once; write errors are sticky (the first is
 * kept, later writes are skipped) and reported by ms_pcap_writer_close(),
 * like a cairo surface's status. Messages name the path. */
#pragma once

#include <glib.h>
#include "mailsim/tcp_wire.h"

G_BEGIN_DECLS

/* IANA LINKTYPE_IPV4: raw IPv4 packets. */
#define MS_PCAP_LINKTYPE_IPV4 228

typedef struct _MsPcapWriter MsPcapWriter;

/* Creates (or truncates) `path` and writes the Section Header Block.
 * Returns a new writer (caller closes with ms_pcap_writer_close or frees
 * with ms_pcap_writer_free), or NULL with a G_FILE_ERROR naming the path. */
MsPcapWriter *ms_pcap_writer_new(const char *path, GError **error);

/* Writes an Interface Description Block (LINKTYPE_IPV4, if_name = `name`,
 * nanosecond timestamps) and returns its interface id: 0, 1, 2, ... in
 * order of the calls. */
guint ms_pcap_writer_add_interface(MsPcapWriter *w, const char *name);

/* A TCP segment's header fields, for ms_pcap_writer_tcp_segment(). */
typedef struct {
    guint32 src_ip, dst_ip; /* host byte order */
    guint16 sport, dport;
    guint32 seq, ack;
    guint8 flags; /* MS_TCP_* bits */
    guint16 window;
    guint8 ttl;
    guint16 ip_id;
    guint16 mss; /* > 0: add the MSS option (RFC 9293 3.7.1), as on a SYN */
    gboolean sack_perm; /* add SACK-permitted (RFC 2018 2), as on a SYN */
    guint n_sack;       /* SACK blocks to add (RFC 2018 3), at most MS_TCP_SACK_MAX_BLOCKS */
    guint32 sack[2 * MS_TCP_SACK_MAX_BLOCKS]; /* left, right edge of each */
} MsPcapTcp;

/* Writes one IPv4+TCP packet on interface `iface` at simulation time
 * `time_ns` (>= 0). The IPv4 header has DF set and no options; the TCP
 * header carries the options `seg` names, laid out as
 * ms_tcp_wire_options_len() says. `len` is at most 65535 - 20 - the TCP
 * header with its options. */
void ms_pcap_writer_tcp_segment(MsPcapWriter *w, guint iface, gint64 time_ns, const MsPcapTcp *seg,
                                const guint8 *payload, gsize len);

/* The same without TCP options, with the fields as arguments. */
void ms_pcap_writer_tcp(MsPcapWriter *w, guint iface, gint64 time_ns, guint32 src_ip,
                        guint32 dst_ip, guint16 sport, guint16 dport, guint32 seq, guint32 ack,
                        guint8 flags, guint16 window, guint8 ttl, guint16 ip_id,
                        const guint8 *payload, gsize len);

/* Writes one IPv4+UDP datagram (UDP checksum computed, RFC 768). `len` is
 * at most 65535 - 20 - 8. */
void ms_pcap_writer_udp(MsPcapWriter *w, guint iface, gint64 time_ns, guint32 src_ip,
                        guint32 dst_ip, guint16 sport, guint16 dport, guint8 ttl, guint16 ip_id,
                        const guint8 *payload, gsize len);

/* Packets written so far (Enhanced Packet Blocks). */
guint64 ms_pcap_writer_packets(const MsPcapWriter *w);

/* Bounds the file to `limit` octets (0: no bound), header blocks included.
 * A packet whose block would take the file past the limit is not written,
 * nor is anything after it: the file stays a valid capture of the run's
 * first packets, with no partial block. FALSE with a G_FILE_ERROR when more
 * than `limit` octets are already written (the Section Header Block is
 * written by ms_pcap_writer_new, and interface blocks as they are added). */
gboolean ms_pcap_writer_set_limit(MsPcapWriter *w, guint64 limit, GError **error);

/* Octets written so far (handed to stdio, whole blocks only). */
guint64 ms_pcap_writer_bytes(const MsPcapWriter *w);

/* Packets left out because of the limit; `first_ns` (may be NULL) gets the
 * time of the first of them, or -1 when none was. */
guint64 ms_pcap_writer_left_out(const MsPcapWriter *w, gint64 *first_ns);

/* Flushes and closes the file and frees the writer. Returns FALSE with a
 * G_FILE_ERROR naming the path when any write, the flush or the close
 * failed. `w` is gone either way. */
gboolean ms_pcap_writer_close(MsPcapWriter *w, GError **error);

/* Closes and frees, ignoring errors (for error paths); NULL is fine. */
void ms_pcap_writer_free(MsPcapWriter *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPcapWriter, ms_pcap_writer_free)

G_END_DECLS
