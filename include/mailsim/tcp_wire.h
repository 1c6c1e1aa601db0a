/* Constants of the TCP and IPv4 wire formats shared by the simulated
 * transport and the pcapng sink: header flag bits (RFC 9293 3.1), TCP
 * options and IP protocol numbers. Header-only: one inline function, the
 * length of the options as both lay them out. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TCP control bits, in the order of the flags octet (RFC 9293 3.1). */
#define MS_TCP_FIN 0x01
#define MS_TCP_SYN 0x02
#define MS_TCP_RST 0x04
#define MS_TCP_PSH 0x08
#define MS_TCP_ACK 0x10
#define MS_TCP_URG 0x20

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
#define MS_IPPROTO_TCP 6
#define MS_IPPROTO_UDP 17

/* Header sizes without options. */
#define MS_IPV4_HEADER_LEN 20
#define MS_TCP_HEADER_LEN  20
#define MS_UDP_HEADER_LEN  8

/* TCP option kinds (RFC 9293 3.1, RFC 2018 2 and 3). */
#define MS_TCPOPT_NOP       1
#define MS_TCPOPT_MSS       2
#define MS_TCPOPT_SACK_PERM 4
#define MS_TCPOPT_SACK      5

/* SACK blocks on one segment: 4 fit in the 40 option bytes without
 * timestamps (RFC 2018 3), which the simulation does not send. */
#define MS_TCP_SACK_MAX_BLOCKS 4

/* The option bytes of a TCP header, laid out as Linux does without
 * timestamps: MSS (4 bytes), then NOP NOP SACK-permitted (4), then NOP NOP
 * SACK with n blocks (4 + 8n). The simulation counts them in packet sizes;
 * the pcapng sink writes them. */
static inline guint
ms_tcp_wire_options_len(gboolean mss, gboolean sack_perm, guint n_sack)
{
    return (mss ? 4u : 0u) + (sack_perm ? 4u : 0u) + (n_sack ? 4u + 8u * n_sack : 0u);
}

G_END_DECLS
