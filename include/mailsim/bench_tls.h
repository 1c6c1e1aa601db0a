/* The TLS benchmark: what the simulated TLS 1.3 endpoint (tls.h) costs in
 * CPU. A client and a server endpoint run whole handshakes against each
 * other in memory (X25519 on both sides, an Ed25519 signature and its
 * check, the key schedule, a certificate parse), then a connected pair
 * seals and opens application data. Each figure is the median over rounds,
 * so a noisy shared machine shows in the spread, not in the figure. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    guint rounds;     /* rounds of each measurement (median taken), >= 1 */
    guint handshakes; /* handshakes per round, >= 1 */
    guint64 bytes;    /* application data sealed (and opened) per round */
    guint64 seed;
} MsBenchTlsParams;

typedef struct {
    double handshake_cpu_us;  /* CPU microseconds per handshake, client + server */
    double resumed_dhe_cpu_us; /* ... per resumed handshake, psk_dhe_ke */
    double resumed_ke_cpu_us;  /* ... per resumed handshake, psk_ke (no key share) */
    guint64 handshake_octets; /* octets on the wire per handshake, both ways */
    double seal_mb_s;         /* application data sealed per CPU second, 10^6 octets */
    double open_mb_s;         /* ... and opened */
    gboolean ok;              /* every handshake completed and every octet arrived */
} MsBenchTlsResult;

void ms_bench_tls_run(const MsBenchTlsParams *params, MsBenchTlsResult *result);

G_END_DECLS
