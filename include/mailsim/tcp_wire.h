/* Constants of the TCP and IPv4 wire formats shared by the simulated
 * transport and the pcapng sink: header flag bits (RFC 9293 3.1) and IP
 * protocol numbers. Header-only; no functions. */
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

G_END_DECLS
