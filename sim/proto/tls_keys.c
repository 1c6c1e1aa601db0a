/* The TLS 1.3 key schedule of the simulated endpoint (RFC 8446 7.1) for its
 * one cipher suite, TLS_AES_128_GCM_SHA256: secrets in, AES-GCM keys,
 * Finished MACs and key log lines out.
 *
 * Design. Without a pre-shared key the early secret is HKDF-Extract over 32
 * zero octets with a zero salt; each later stage's salt is Derive-Secret(
 * previous, "derived", ""). The handshake secret takes the X25519 shared
 * secret as input, the master secret zeros again. Traffic secrets are
 * Derive-Secret over the transcript hash at the point RFC 8446 7.1 names:
 * through ServerHello for the handshake secrets, through the server's
 * Finished for the application ones. Every secret is logged in the NSS key
 * log format as soon as it exists, so tshark can decrypt a capture even of
 * a handshake that fails half-way.
 *
 * HMAC-SHA256, HKDF, SHA-256 and AES-GCM are nettle's; this file only
 * composes labels. Costs: a handful of HMACs per derivation (labels drawn
 * from one secret share its HMAC key schedule; the exporter secret only
 * with a key log), nothing allocated but the key log line. */
#include "tls-private.h"

#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <string.h>

static void
extract(const guint8 *salt, gsize salt_len, const guint8 *ikm, gsize ikm_len,
        guint8 out[TLS_HASH_LEN])
{
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, salt_len, salt);
    hkdf_extract(&h, (nettle_hash_update_func *) hmac_sha256_update,
                 (nettle_hash_digest_func *) hmac_sha256_digest, TLS_HASH_LEN, ikm_len, ikm, out);
}

/* HKDF-Expand-Label with an HMAC already keyed with the secret: nettle's
 * HMAC digest leaves the context keyed again, so several labels from one
 * secret pay for its key schedule (two SHA-256 blocks) once. */
static void
expand_keyed(struct hmac_sha256_ctx *h, const char *label, const guint8 *context, gsize context_len,
             guint8 *out, gsize len)
{
    /* struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
     *          opaque context<0..255>; } HkdfLabel; (RFC 8446 7.1) */
    guint8 info[2 + 1 + 255 + 1 + 255];
    gsize label_len = strlen(label);
    g_assert(label_len + 6 <= 255 && context_len <= 255);
    gsize n = 0;
    info[n++] = (guint8) (len >> 8);
    info[n++] = (guint8) len;
    info[n++] = (guint8) (6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (guint8) context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    n += context_len;
    hkdf_expand(h, (nettle_hash_update_func *) hmac_sha256_update,
                (nettle_hash_digest_func *) hmac_sha256_digest, TLS_HASH_LEN, n, info, len, out);
}

void
ms__tls_expand_label(const guint8 secret[TLS_HASH_LEN], const char *label, const guint8 *context,
                     gsize context_len, guint8 *out, gsize len)
{
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, TLS_HASH_LEN, secret);
    expand_keyed(&h, label, context, context_len, out, len);
}

void
ms__tls_transcript_hash(const MsTls *tls, guint8 out[TLS_HASH_LEN])
{
    struct sha256_ctx copy = tls->transcript;
    sha256_digest(&copy, TLS_HASH_LEN, out);
}

/* Derive-Secret(secret, label, transcript hash) (RFC 8446 7.1). */
static void
derive(const guint8 secret[TLS_HASH_LEN], const char *label, const guint8 hash[TLS_HASH_LEN],
       guint8 out[TLS_HASH_LEN])
{
    ms__tls_expand_label(secret, label, hash, TLS_HASH_LEN, out, TLS_HASH_LEN);
}

/* SHA-256 of the empty string, the transcript hash of "" (RFC 8446 7.1);
 * a wrong value would break every key log comparison in test_tls. */
const guint8 ms__tls_empty_hash[TLS_HASH_LEN] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* Derive-Secret(secret, "derived", ""): the next stage's salt. */
static void
derived_salt(const guint8 secret[TLS_HASH_LEN], guint8 out[TLS_HASH_LEN])
{
    derive(secret, "derived", ms__tls_empty_hash, out);
}

static void
keylog(const MsTls *tls, const char *label, const guint8 secret[TLS_HASH_LEN])
{
    if (!tls->keylog)
        return;
    GString *line = g_string_new(label);
    g_string_append_c(line, ' ');
    for (guint i = 0; i < 32; i++)
        g_string_append_printf(line, "%02x", tls->client_random[i]);
    g_string_append_c(line, ' ');
    for (guint i = 0; i < TLS_HASH_LEN; i++)
        g_string_append_printf(line, "%02x", secret[i]);
    tls->keylog(line->str, tls->user_data);
    g_string_free(line, TRUE);
}

void
ms__tls_derive_handshake(MsTls *tls, const guint8 shared[32])
{
    static const guint8 zeros[TLS_HASH_LEN] = { 0 };
    guint8 early[TLS_HASH_LEN], salt[TLS_HASH_LEN], hash[TLS_HASH_LEN];
    /* RFC 8446 7.1: the PSK (zeros without one) into the early secret, the
     * (EC)DHE secret (zeros in psk_ke mode) into the handshake secret */
    extract(zeros, sizeof zeros, tls->resumed ? tls->psk : zeros, TLS_HASH_LEN, early);
    derived_salt(early, salt);
    extract(salt, sizeof salt, shared ? shared : zeros, 32, tls->hs_secret);
    ms__tls_transcript_hash(tls, hash);
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, TLS_HASH_LEN, tls->hs_secret);
    expand_keyed(&h, "c hs traffic", hash, TLS_HASH_LEN, tls->c_hs, TLS_HASH_LEN);
    expand_keyed(&h, "s hs traffic", hash, TLS_HASH_LEN, tls->s_hs, TLS_HASH_LEN);
    keylog(tls, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", tls->c_hs);
    keylog(tls, "SERVER_HANDSHAKE_TRAFFIC_SECRET", tls->s_hs);
}

void
ms__tls_derive_application(MsTls *tls)
{
    static const guint8 zeros[TLS_HASH_LEN] = { 0 };
    guint8 salt[TLS_HASH_LEN], hash[TLS_HASH_LEN], exporter[TLS_HASH_LEN];
    derived_salt(tls->hs_secret, salt);
    extract(salt, sizeof salt, zeros, sizeof zeros, tls->master);
    ms__tls_transcript_hash(tls, hash);
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, TLS_HASH_LEN, tls->master);
    expand_keyed(&h, "c ap traffic", hash, TLS_HASH_LEN, tls->c_ap, TLS_HASH_LEN);
    expand_keyed(&h, "s ap traffic", hash, TLS_HASH_LEN, tls->s_ap, TLS_HASH_LEN);
    keylog(tls, "CLIENT_TRAFFIC_SECRET_0", tls->c_ap);
    keylog(tls, "SERVER_TRAFFIC_SECRET_0", tls->s_ap);
    if (tls->keylog) {
        /* nothing here exports keying material: the exporter secret is
         * derived only for the key log */
        expand_keyed(&h, "exp master", hash, TLS_HASH_LEN, exporter, TLS_HASH_LEN);
        keylog(tls, "EXPORTER_SECRET", exporter);
    }
}

void
ms__tls_set_cipher(MsTlsCipher *c, const guint8 secret[TLS_HASH_LEN])
{
    guint8 key[TLS_KEY_LEN];
    memcpy(c->secret, secret, TLS_HASH_LEN);
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, TLS_HASH_LEN, secret);
    expand_keyed(&h, "key", NULL, 0, key, sizeof key);
    expand_keyed(&h, "iv", NULL, 0, c->iv, sizeof c->iv);
    gcm_aes128_set_key(&c->gcm, key);
    c->seq = 0;
    c->active = TRUE;
}

void
ms__tls_update_cipher(MsTlsCipher *c)
{
    guint8 next[TLS_HASH_LEN];
    ms__tls_expand_label(c->secret, "traffic upd", NULL, 0, next, sizeof next);
    ms__tls_set_cipher(c, next);
}

void
ms__tls_finished_mac(const MsTls *tls, const guint8 base_key[TLS_HASH_LEN],
                     guint8 out[TLS_HASH_LEN])
{
    guint8 fkey[TLS_HASH_LEN], hash[TLS_HASH_LEN];
    ms__tls_expand_label(base_key, "finished", NULL, 0, fkey, sizeof fkey);
    ms__tls_transcript_hash(tls, hash);
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, sizeof fkey, fkey);
    hmac_sha256_update(&h, sizeof hash, hash);
    hmac_sha256_digest(&h, TLS_HASH_LEN, out);
}

GByteArray *
ms__tls_cv_content(const MsTls *tls)
{
    static const char context[] = "TLS 1.3, server CertificateVerify";
    guint8 hash[TLS_HASH_LEN];
    GByteArray *b = g_byte_array_sized_new(64 + sizeof context + TLS_HASH_LEN);
    g_byte_array_set_size(b, 64);
    memset(b->data, 0x20, 64);
    /* the context string and its terminating zero octet */
    g_byte_array_append(b, (const guint8 *) context, sizeof context);
    ms__tls_transcript_hash(tls, hash);
    g_byte_array_append(b, hash, sizeof hash);
    return b;
}

void
ms__tls_binder(const guint8 psk[TLS_HASH_LEN], const guint8 hash[TLS_HASH_LEN],
               guint8 out[TLS_HASH_LEN])
{
    static const guint8 zeros[TLS_HASH_LEN] = { 0 };
    guint8 early[TLS_HASH_LEN], binder_key[TLS_HASH_LEN], fkey[TLS_HASH_LEN];
    extract(zeros, sizeof zeros, psk, TLS_HASH_LEN, early);
    derive(early, "res binder", ms__tls_empty_hash, binder_key);
    ms__tls_expand_label(binder_key, "finished", NULL, 0, fkey, sizeof fkey);
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, sizeof fkey, fkey);
    hmac_sha256_update(&h, TLS_HASH_LEN, hash);
    hmac_sha256_digest(&h, TLS_HASH_LEN, out);
}

void
ms__tls_derive_resumption(MsTls *tls)
{
    guint8 hash[TLS_HASH_LEN];
    ms__tls_transcript_hash(tls, hash);
    derive(tls->master, "res master", hash, tls->res_master);
}
