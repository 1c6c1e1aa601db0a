/* The DKIM benchmark: what signing and verifying one message (dkim.h) costs
 * in CPU, for RSA-2048 and Ed25519, on a message of about 2 KiB with the
 * usual header fields. A verification is what a receiver pays with the
 * key already in its cache: splitting the message, parsing the signature,
 * the body hash, the header hash and the signature check. Each figure is
 * the median over rounds, so a noisy shared machine shows in the spread,
 * not in the figure. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    guint rounds; /* rounds of each measurement (median taken), >= 1 */
    guint ops;    /* signatures (and verifications) per round and algorithm, >= 1 */
    guint64 seed; /* for the keys */
} MsBenchDkimParams;

typedef struct {
    guint message_octets;   /* the signed message, without its signature */
    double rsa_sign_us;     /* CPU microseconds per RSA-2048 signature of the message */
    double rsa_verify_us;   /* ... per verification, key cached */
    double ed25519_sign_us; /* the same for Ed25519 */
    double ed25519_verify_us;
    double rsa_key_parse_us; /* importing the RSA key record (a cache miss's extra) */
    double rsa_keygen_ms;    /* generating the RSA-2048 key from the seeded stream, once */
    gboolean ok;             /* every signature was made and verified as pass */
} MsBenchDkimResult;

void ms_bench_dkim_run(const MsBenchDkimParams *params, MsBenchDkimResult *result);

G_END_DECLS
