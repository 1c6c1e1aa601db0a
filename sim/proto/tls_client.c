/* The client side of the simulated TLS 1.3 handshake (RFC 8446 2, 4):
 * builds the ClientHello, checks the server's flight message by message and
 * answers with its Finished.
 *
 * Design. One function per awaited message, chosen by tls->hs; each checks
 * the message type first (anything else is unexpected_message), parses the
 * body with the bounded reader, adds the message to the transcript at the
 * point the key schedule needs it, and moves on. The ClientHello looks like
 * OpenSSL's as far as this endpoint's one suite allows: a 32-octet
 * legacy_session_id and a ChangeCipherSpec before the second flight
 * (middlebox compatibility, RFC 8446 D.4), server_name (RFC 6066 3) unless
 * the name is an IP literal, which SNI does not carry.
 *
 * Checks of the server's answers, each with the RFC's alert:
 *  - ServerHello: TLS 1.3 in supported_versions (else protocol_version),
 *    our session id echoed, our suite, no compression, an x25519 share of
 *    32 octets that does not give the all-zero secret (RFC 7748 6.1),
 *    nothing we did not offer (unsupported_extension); a key share when
 *    we sent none: illegal_parameter.
 *  - HelloRetryRequest (RFC 8446 4.1.4): only once (a second is
 *    unexpected_message); TLS 1.3, our session id and suite; only
 *    supported_versions, key_share and cookie; the group asked for must be
 *    x25519 and not one we already sent a share for, and the retry must
 *    change something (else illegal_parameter). The second ClientHello
 *    keeps the random and session id, adds the x25519 share, echoes the
 *    cookie and offers the ticket again with a new binder; a
 *    ChangeCipherSpec goes before it (D.4).
 *  - EncryptedExtensions: only server_name (empty) and supported_groups.
 *  - Certificate: non-empty list (decode_error); the leaf must carry an
 *    Ed25519 key (read by GnuTLS's X.509 parser; else bad_certificate or
 *    unsupported_certificate).
 *  - CertificateVerify: scheme ed25519 (illegal_parameter), signature over
 *    the RFC 8446 4.4.3 content checked with nettle (decrypt_error); then
 *    the caller's verify function judges the chain and the name.
 *  - Finished: HMAC compared in constant time (decrypt_error).
 * A CertificateRequest is answered with an empty Certificate (we hold no
 * client certificate), as RFC 8446 4.4.2.4 allows.
 *
 * Resumption: with a session to resume (valid at the simulated time, for
 * the same server name) the ClientHello ends with psk_key_exchange_modes
 * and pre_shared_key, whose binder covers the ClientHello up to the
 * binders; a ServerHello selecting it leads straight from
 * EncryptedExtensions to Finished. A NewSessionTicket after the handshake
 * becomes the session ms_tls_take_session() returns.
 *
 * Key shares (RFC 8446 4.2.8): the ClientHello carries an x25519 share
 * unless it offers a ticket with psk_ke first; then client_shares is
 * empty, a server taking psk_ke does no key exchange at all, and one that
 * wants psk_dhe_ke or a full handshake asks for the share with a
 * HelloRetryRequest (one more round trip, as the price of the cheap case).
 *
 * Costs: one X25519 key generation and one shared-secret computation (both
 * skipped when a psk_ke resumption is accepted), one Ed25519 verification
 * and one X.509 parse (skipped when resumed). */
#include "tls-private.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/curve25519.h>
#include <nettle/eddsa.h>
#include <nettle/memops.h>
#include <string.h>

/* SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest (4.1.3) */
const guint8 ms__tls_hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static void
add_ext(GByteArray *b, guint type, const GByteArray *body)
{
    ms__tls_put_uint(b, type, 2);
    ms__tls_put_uint(b, body->len, 2);
    g_byte_array_append(b, body->data, body->len);
}

/* Sends a ClientHello: the first one, or the second after a
 * HelloRetryRequest (RFC 8446 4.1.2: the same but for the key share, the
 * cookie echoed and the PSK's age and binder computed anew). */
static void
send_client_hello(MsTls *tls)
{
    g_autoptr(GByteArray) ch = g_byte_array_new();
    g_autoptr(GByteArray) exts = g_byte_array_new();
    g_autoptr(GByteArray) e = g_byte_array_new();
    ms__tls_put_uint(ch, 0x0303, 2); /* legacy_version (4.1.2) */
    g_byte_array_append(ch, tls->client_random, 32);
    ms__tls_put_uint(ch, 32, 1);
    g_byte_array_append(ch, tls->session_id, 32);
    ms__tls_put_uint(ch, 2, 2);
    ms__tls_put_uint(ch, TLS_AES_128_GCM, 2);
    ms__tls_put_uint(ch, 1, 1);
    ms__tls_put_uint(ch, 0, 1); /* legacy_compression_methods: null only */

    if (tls->server_name && *tls->server_name && !g_hostname_is_ip_address(tls->server_name)) {
        /* RFC 6066 3: ServerNameList of one host_name */
        gsize n = strlen(tls->server_name);
        ms__tls_put_uint(e, (guint) n + 3, 2);
        ms__tls_put_uint(e, 0, 1);
        ms__tls_put_uint(e, (guint) n, 2);
        g_byte_array_append(e, (const guint8 *) tls->server_name, (guint) n);
        add_ext(exts, TLS_EXT_SERVER_NAME, e);
    }
    g_byte_array_set_size(e, 0);
    ms__tls_put_uint(e, 2, 2);
    ms__tls_put_uint(e, TLS_GROUP_X25519, 2);
    add_ext(exts, TLS_EXT_SUPPORTED_GROUPS, e);
    g_byte_array_set_size(e, 0);
    ms__tls_put_uint(e, 2, 2);
    ms__tls_put_uint(e, TLS_SIG_ED25519, 2);
    add_ext(exts, TLS_EXT_SIGNATURE_ALGORITHMS, e);
    g_byte_array_set_size(e, 0);
    ms__tls_put_uint(e, 2, 1);
    ms__tls_put_uint(e, TLS_VERSION_13, 2);
    add_ext(exts, TLS_EXT_SUPPORTED_VERSIONS, e);
    if (tls->cookie) { /* RFC 8446 4.2.2: echoed as the server sent it */
        g_byte_array_set_size(e, 0);
        ms__tls_put_uint(e, tls->cookie->len, 2);
        g_byte_array_append(e, tls->cookie->data, tls->cookie->len);
        add_ext(exts, TLS_EXT_COOKIE, e);
    }

    /* RFC 8446 4.2.9, 4.2.11: a ticket still valid for this name is offered
     * (pre_shared_key last); its binder is filled in below */
    MsTlsSession *r = tls->resume;
    gboolean offer = r && ms_tls_session_valid(r, tls->now_ms) &&
                     g_strcmp0(r->server_name, tls->server_name) == 0;
    /* RFC 8446 4.2.8: the key share is what the offered modes need. A
     * client resuming with psk_ke first sends an empty client_shares (no
     * X25519 key made for nothing); a full handshake, psk_dhe_ke, or the
     * second ClientHello after a HelloRetryRequest asking for x25519
     * carry one. */
    gboolean share = tls->hrr || !offer || tls->psk_mode != MS_TLS_PSK_KE;
    g_byte_array_set_size(e, 0);
    if (share) {
        guint8 pub[32];
        ms__tls_random(tls, tls->x25519_priv, 32);
        curve25519_mul_g(pub, tls->x25519_priv);
        ms__tls_put_uint(e, 36, 2); /* client_shares: one KeyShareEntry */
        ms__tls_put_uint(e, TLS_GROUP_X25519, 2);
        ms__tls_put_uint(e, 32, 2);
        g_byte_array_append(e, pub, 32);
    } else {
        ms__tls_put_uint(e, 0, 2); /* client_shares: empty */
    }
    tls->sent_share = share;
    add_ext(exts, TLS_EXT_KEY_SHARE, e);

    if (offer) {
        g_byte_array_set_size(e, 0);
        if (tls->psk_mode == MS_TLS_PSK_KE) {
            ms__tls_put_uint(e, 2, 1);
            ms__tls_put_uint(e, 0, 1); /* psk_ke */
        } else {
            ms__tls_put_uint(e, 1, 1);
        }
        ms__tls_put_uint(e, 1, 1); /* psk_dhe_ke */
        add_ext(exts, TLS_EXT_PSK_MODES, e);
        gsize tlen;
        const guint8 *ticket = g_bytes_get_data(r->ticket, &tlen);
        guint32 age = (guint32) (tls->now_ms - r->received_ms) + r->age_add;
        g_byte_array_set_size(e, 0);
        ms__tls_put_uint(e, (guint) tlen + 6, 2); /* identities */
        ms__tls_put_uint(e, (guint) tlen, 2);
        g_byte_array_append(e, ticket, (guint) tlen);
        ms__tls_put_uint(e, age, 4);              /* obfuscated_ticket_age */
        ms__tls_put_uint(e, TLS_HASH_LEN + 1, 2); /* binders */
        ms__tls_put_uint(e, TLS_HASH_LEN, 1);
        g_byte_array_set_size(e, e->len + TLS_HASH_LEN);
        add_ext(exts, TLS_EXT_PRE_SHARED_KEY, e);
    }
    tls->offered_psk = offer;

    ms__tls_put_uint(ch, exts->len, 2);
    g_byte_array_append(ch, exts->data, exts->len);
    if (offer) {
        /* the binder covers the transcript so far (after a HelloRetryRequest:
         * the first ClientHello's hash and the HelloRetryRequest) and this
         * ClientHello, with its header, up to the binders list (RFC 8446
         * 4.2.11.2) */
        guint8 head[4] = { TLS_HS_CLIENT_HELLO, (guint8) (ch->len >> 16), (guint8) (ch->len >> 8),
                           (guint8) ch->len };
        struct sha256_ctx h = tls->transcript;
        guint8 hash[TLS_HASH_LEN];
        sha256_update(&h, 4, head);
        sha256_update(&h, ch->len - (2 + 1 + TLS_HASH_LEN), ch->data);
        sha256_digest(&h, TLS_HASH_LEN, hash);
        ms__tls_binder(r->psk, hash, ch->data + ch->len - TLS_HASH_LEN);
    }
    ms__tls_send_handshake(tls, TLS_HS_CLIENT_HELLO, ch);
    tls->hs = TLS_ST_C_WAIT_SH;
}

void
ms__tls_client_start(MsTls *tls)
{
    ms__tls_random(tls, tls->client_random, 32);
    ms__tls_random(tls, tls->session_id, 32);
    tls->session_id_len = 32;
    send_client_hello(tls);
}

void
ms__tls_client_ticket(MsTls *tls, const guint8 *m, gsize len)
{
    /* struct { uint32 ticket_lifetime; uint32 ticket_age_add;
     *   opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
     *   Extension extensions<0..2^16-2>; } NewSessionTicket; (4.6.1) */
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    guint32 lifetime = ms__tls_get_uint(&r, 4);
    guint32 age_add = ms__tls_get_uint(&r, 4);
    MsTlsReader nonce = ms__tls_get_vec(&r, 1);
    MsTlsReader ticket = ms__tls_get_vec(&r, 2);
    ms__tls_get_vec(&r, 2); /* extensions: early_data is of no use to us */
    if (!r.ok || r.n != 0 || ticket.n == 0)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed NewSessionTicket");
    if (lifetime > 604800)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "ticket lifetime of %u s, over 7 days (RFC 8446 4.6.1)",
                                   lifetime);
    if (lifetime == 0)
        return; /* "the ticket should be discarded immediately" */
    MsTlsSession *s = g_new0(MsTlsSession, 1);
    s->server_name = g_strdup(tls->server_name);
    ms__tls_expand_label(tls->res_master, "resumption", nonce.p, nonce.n, s->psk, TLS_HASH_LEN);
    s->ticket = g_bytes_new(ticket.p, ticket.n);
    s->lifetime = lifetime;
    s->age_add = age_add;
    s->received_ms = tls->now_ms;
    ms_tls_session_free(tls->session);
    tls->session = s;
}

static gboolean
decoded(MsTls *tls, const MsTlsReader *r, guint8 type)
{
    if (r->ok && r->n == 0)
        return TRUE;
    return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed %s from the server (%s)",
                        ms__tls_hs_name(type), r->ok ? "octets after its end" : "truncated");
}

/* A HelloRetryRequest (RFC 8446 4.1.4): checked, the first ClientHello
 * replaced in the transcript by its hash (4.4.1), and the second
 * ClientHello sent with an x25519 share. */
static void
hello_retry_request(MsTls *tls, const guint8 *m, gsize len, MsTlsReader sid, guint suite,
                    guint comp, MsTlsReader block)
{
    if (tls->hrr)
        return (void) ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                                   "a second HelloRetryRequest (RFC 8446 4.1.4)");
    MsTlsExt want[] = { { .type = TLS_EXT_SUPPORTED_VERSIONS },
                        { .type = TLS_EXT_KEY_SHARE },
                        { .type = TLS_EXT_COOKIE } };
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), TRUE, "HelloRetryRequest"))
        return;
    guint chosen = ms__tls_get_uint(&want[0].body, 2);
    if (!want[0].present || !want[0].body.ok || want[0].body.n != 0 || chosen != TLS_VERSION_13)
        return (void) ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION,
                                   "HelloRetryRequest does not choose TLS 1.3");
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), FALSE, "HelloRetryRequest"))
        return;
    if (sid.n != tls->session_id_len || memcmp(sid.p, tls->session_id, sid.n) != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "HelloRetryRequest does not echo our legacy_session_id");
    if (suite != TLS_AES_128_GCM || comp != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "HelloRetryRequest chose suite 0x%04x and compression %u, "
                                   "which we did not offer",
                                   suite, comp);
    if (want[1].present) {
        MsTlsReader ks = want[1].body;
        guint group = ms__tls_get_uint(&ks, 2);
        if (!ks.ok || ks.n != 0)
            return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR,
                                       "malformed key_share in HelloRetryRequest");
        /* the group must be one we support and not one we sent a share for */
        if (group != TLS_GROUP_X25519)
            return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                       "HelloRetryRequest asks for group 0x%04x, which we did "
                                       "not offer",
                                       group);
        if (tls->sent_share)
            return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                       "HelloRetryRequest asks for an x25519 share, which our "
                                       "ClientHello already carried");
    }
    if (want[2].present) {
        MsTlsReader ck = want[2].body;
        MsTlsReader cookie = ms__tls_get_vec(&ck, 2);
        if (!ck.ok || ck.n != 0 || cookie.n == 0)
            return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR,
                                       "malformed cookie in HelloRetryRequest");
        tls->cookie = g_byte_array_new();
        g_byte_array_append(tls->cookie, cookie.p, (guint) cookie.n);
    }
    /* a retry that would not change our ClientHello is refused (4.1.4);
     * without a key_share it can only be asking for the cookie */
    if (!want[1].present && !want[2].present)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "HelloRetryRequest that changes nothing in our ClientHello");
    if (!want[1].present && !tls->sent_share)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "HelloRetryRequest without a group, after a ClientHello "
                                   "without a key share");
    /* RFC 8446 4.4.1: ClientHello1 enters the transcript as message_hash */
    guint8 hash[TLS_HASH_LEN];
    sha256_digest(&tls->transcript, TLS_HASH_LEN, hash); /* also resets it */
    static const guint8 head[4] = { TLS_HS_MESSAGE_HASH, 0, 0, TLS_HASH_LEN };
    sha256_update(&tls->transcript, 4, head);
    sha256_update(&tls->transcript, TLS_HASH_LEN, hash);
    sha256_update(&tls->transcript, len, m);
    tls->hrr = TRUE;
    /* RFC 8446 D.4: the compatibility CCS goes before our second flight,
     * here the second ClientHello, as OpenSSL sends it */
    ms__tls_write_ccs(tls);
    send_client_hello(tls);
}

static void
server_hello(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    guint version = ms__tls_get_uint(&r, 2);
    const guint8 *random = ms__tls_get(&r, 32);
    MsTlsReader sid = ms__tls_get_vec(&r, 1);
    guint suite = ms__tls_get_uint(&r, 2);
    guint comp = ms__tls_get_uint(&r, 1);
    MsTlsReader block = ms__tls_get_vec(&r, 2);
    if (!decoded(tls, &r, TLS_HS_SERVER_HELLO))
        return;
    if (memcmp(random, ms__tls_hrr_random, 32) == 0)
        return hello_retry_request(tls, m, len, sid, suite, comp, block);
    /* the version first: a TLS 1.2 server's extensions are not ours to
     * refuse one by one, it is told it speaks the wrong version */
    MsTlsExt want[] = { { .type = TLS_EXT_SUPPORTED_VERSIONS },
                        { .type = TLS_EXT_KEY_SHARE },
                        { .type = TLS_EXT_PRE_SHARED_KEY } };
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), TRUE, "ServerHello"))
        return;
    guint chosen = ms__tls_get_uint(&want[0].body, 2);
    if (!want[0].present || !want[0].body.ok || want[0].body.n != 0 || chosen != TLS_VERSION_13)
        return (void) ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION,
                                   "server did not choose TLS 1.3 (legacy version 0x%04x)",
                                   version);
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), FALSE, "ServerHello"))
        return;
    if (sid.n != tls->session_id_len || memcmp(sid.p, tls->session_id, sid.n) != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "ServerHello does not echo our legacy_session_id");
    if (suite != TLS_AES_128_GCM)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server chose cipher suite 0x%04x, which we did not offer",
                                   suite);
    if (comp != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server chose compression method %u", comp);
    if (want[2].present) {
        /* RFC 8446 4.2.11: the server took our ticket (identity 0, the
         * only one we offer) */
        MsTlsReader sel = want[2].body;
        guint idx = ms__tls_get_uint(&sel, 2);
        if (!sel.ok || sel.n != 0)
            return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR,
                                       "malformed pre_shared_key in ServerHello");
        if (!tls->offered_psk || idx != 0 || !ms_tls_session_valid(tls->resume, tls->now_ms))
            return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                       "server selected PSK identity %u, which we did not offer",
                                       idx);
        tls->resumed = TRUE;
        memcpy(tls->psk, tls->resume->psk, TLS_HASH_LEN);
    }
    if (!want[1].present && tls->resumed && tls->psk_mode == MS_TLS_PSK_KE) {
        /* psk_ke: no (EC)DHE at all */
        memcpy(tls->server_random, random, 32);
        sha256_update(&tls->transcript, len, m);
        ms__tls_derive_handshake(tls, NULL);
        ms__tls_set_read_key(tls, tls->s_hs);
        ms__tls_set_cipher(&tls->wr, tls->c_hs);
        tls->hs = TLS_ST_C_WAIT_EE;
        return;
    }
    if (!want[1].present)
        return (void) ms__tls_fail(tls, TLS_AL_MISSING_EXTENSION,
                                   "ServerHello without a key share");
    if (!tls->sent_share)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "ServerHello has a key share, but our ClientHello sent none "
                                   "(RFC 8446 4.2.8)");
    tls->psk_dhe = tls->resumed;
    MsTlsReader ks = want[1].body;
    guint group = ms__tls_get_uint(&ks, 2);
    MsTlsReader key = ms__tls_get_vec(&ks, 2);
    if (!ks.ok || ks.n != 0)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed key_share in ServerHello");
    if (group != TLS_GROUP_X25519 || key.n != 32)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server's key share is for group 0x%04x (%zu octets), not "
                                   "x25519",
                                   group, key.n);
    memcpy(tls->server_random, random, 32);
    sha256_update(&tls->transcript, len, m);

    static const guint8 zeros[32] = { 0 };
    guint8 shared[32];
    curve25519_mul(shared, tls->x25519_priv, key.p);
    if (memeql_sec(shared, zeros, 32))
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server's x25519 share gives the all-zero secret");
    tls->dhe_done = TRUE;
    ms__tls_derive_handshake(tls, shared);
    ms__tls_set_read_key(tls, tls->s_hs);
    ms__tls_set_cipher(&tls->wr, tls->c_hs);
    tls->hs = TLS_ST_C_WAIT_EE;
}

static void
encrypted_extensions(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    MsTlsReader block = ms__tls_get_vec(&r, 2);
    if (!decoded(tls, &r, TLS_HS_ENCRYPTED_EXTENSIONS))
        return;
    MsTlsExt want[] = { { .type = TLS_EXT_SERVER_NAME }, { .type = TLS_EXT_SUPPORTED_GROUPS } };
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), FALSE, "EncryptedExtensions"))
        return;
    if (want[0].present && want[0].body.n != 0)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR,
                                   "server_name in EncryptedExtensions is not empty");
    sha256_update(&tls->transcript, len, m);
    /* resumed: the ticket stands for the certificate (RFC 8446 2.2) */
    tls->hs = tls->resumed ? TLS_ST_C_WAIT_FINISHED : TLS_ST_C_WAIT_CERT_CR;
}

static void
certificate_request(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    MsTlsReader ctx = ms__tls_get_vec(&r, 1);
    ms__tls_get_vec(&r, 2); /* extensions: we answer without a certificate anyway */
    if (!decoded(tls, &r, TLS_HS_CERTIFICATE_REQUEST))
        return;
    tls->cr_context = g_byte_array_new();
    g_byte_array_append(tls->cr_context, ctx.p, (guint) ctx.n);
    sha256_update(&tls->transcript, len, m);
    tls->hs = TLS_ST_C_WAIT_CERT;
}

/* The leaf's Ed25519 key, read with GnuTLS's X.509 parser, or from the
 * client's key cache when it has parsed the same DER before (the key is a
 * function of those octets, so the cache can only save the parse). */
static gboolean
leaf_key(MsTls *tls, GBytes *leaf)
{
    gnutls_x509_crt_t crt;
    gsize size;
    const guint8 *der = g_bytes_get_data(leaf, &size);
    g_autoptr(GBytes) digest = NULL;
    if (tls->key_cache) {
        guint8 d[TLS_HASH_LEN];
        struct sha256_ctx h;
        sha256_init(&h);
        sha256_update(&h, size, der);
        sha256_digest(&h, TLS_HASH_LEN, d);
        digest = g_bytes_new(d, sizeof d);
        const guint8 *known = g_hash_table_lookup(tls->key_cache->keys, digest);
        if (known) {
            tls->key_cache->hits++;
            memcpy(tls->peer_pub, known, 32);
            return TRUE;
        }
    }
    gnutls_datum_t d = { (unsigned char *) der, (unsigned int) size };
    if (gnutls_x509_crt_init(&crt) < 0)
        return ms__tls_fail(tls, TLS_AL_INTERNAL_ERROR, "GnuTLS could not allocate");
    int ret = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
    if (ret < 0) {
        gnutls_x509_crt_deinit(crt);
        return ms__tls_fail(tls, TLS_AL_BAD_CERTIFICATE, "server's certificate is not X.509: %s",
                            gnutls_strerror(ret));
    }
    int alg = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
    gnutls_ecc_curve_t curve;
    gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
    ret = alg == GNUTLS_PK_EDDSA_ED25519 ? gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y)
                                         : GNUTLS_E_UNKNOWN_PK_ALGORITHM;
    gboolean ok = ret >= 0 && x.size == 32;
    if (ok)
        memcpy(tls->peer_pub, x.data, 32);
    if (ok && digest)
        g_hash_table_insert(tls->key_cache->keys, g_bytes_ref(digest), g_memdup2(x.data, 32));
    gnutls_free(x.data);
    gnutls_free(y.data);
    gnutls_x509_crt_deinit(crt);
    if (!ok)
        return ms__tls_fail(tls, 43 /* unsupported_certificate */,
                            "server's certificate holds a %s key, not Ed25519",
                            gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t) alg));
    return TRUE;
}

static void
certificate(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    MsTlsReader ctx = ms__tls_get_vec(&r, 1);
    MsTlsReader list = ms__tls_get_vec(&r, 3);
    if (!decoded(tls, &r, TLS_HS_CERTIFICATE))
        return;
    if (ctx.n != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server's Certificate has a request context");
    while (list.ok && list.n > 0) {
        MsTlsReader cert = ms__tls_get_vec(&list, 3);
        ms__tls_get_vec(&list, 2); /* per-certificate extensions: none offered */
        if (list.ok && cert.n == 0)
            return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "empty certificate in the list");
        if (list.ok)
            g_ptr_array_add(tls->peer_chain, g_bytes_new(cert.p, cert.n));
    }
    if (!list.ok)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed certificate list");
    if (tls->peer_chain->len == 0)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR,
                                   "server sent no certificate (RFC 8446 4.4.2.4)");
    if (!leaf_key(tls, g_ptr_array_index(tls->peer_chain, 0)))
        return;
    sha256_update(&tls->transcript, len, m);
    tls->hs = TLS_ST_C_WAIT_CV;
}

static void
certificate_verify(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    guint scheme = ms__tls_get_uint(&r, 2);
    MsTlsReader sig = ms__tls_get_vec(&r, 2);
    if (!decoded(tls, &r, TLS_HS_CERTIFICATE_VERIFY))
        return;
    if (scheme != TLS_SIG_ED25519)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "server signed with scheme 0x%04x, not ed25519", scheme);
    g_autoptr(GByteArray) content = ms__tls_cv_content(tls);
    if (sig.n != ED25519_SIGNATURE_SIZE ||
        !ed25519_sha512_verify(tls->peer_pub, content->len, content->data, sig.p))
        return (void) ms__tls_fail(tls, TLS_AL_DECRYPT_ERROR,
                                   "server's CertificateVerify signature is not valid for the "
                                   "key in its certificate");
    sha256_update(&tls->transcript, len, m);
    if (tls->verify) {
        guint8 alert = 0;
        g_autofree char *why = NULL;
        if (!tls->verify((GBytes *const *) tls->peer_chain->pdata, tls->peer_chain->len,
                         tls->server_name, &alert, &why, tls->user_data))
            return (void) ms__tls_fail(tls, alert ? alert : TLS_AL_BAD_CERTIFICATE,
                                       "certificate verification failed: %s",
                                       why ? why : "refused");
    }
    tls->hs = TLS_ST_C_WAIT_FINISHED;
}

static void
server_finished(MsTls *tls, const guint8 *m, gsize len)
{
    guint8 want[TLS_HASH_LEN];
    if (len - 4 != TLS_HASH_LEN)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "server's Finished of %zu octets",
                                   len - 4);
    ms__tls_finished_mac(tls, tls->s_hs, want);
    if (!memeql_sec(want, m + 4, TLS_HASH_LEN))
        return (void) ms__tls_fail(tls, TLS_AL_DECRYPT_ERROR,
                                   "server's Finished does not match the handshake");
    sha256_update(&tls->transcript, len, m);
    ms__tls_derive_application(tls);
    ms__tls_set_read_key(tls, tls->s_ap);

    /* our second flight (RFC 8446 2): [CCS] [Certificate] Finished */
    if (!tls->ccs_sent)
        ms__tls_write_ccs(tls);
    g_autoptr(GByteArray) body = g_byte_array_new();
    if (tls->cr_context) {
        ms__tls_put_uint(body, tls->cr_context->len, 1);
        g_byte_array_append(body, tls->cr_context->data, tls->cr_context->len);
        ms__tls_put_uint(body, 0, 3); /* no certificate */
        ms__tls_send_handshake(tls, TLS_HS_CERTIFICATE, body);
        g_byte_array_set_size(body, 0);
    }
    g_byte_array_set_size(body, TLS_HASH_LEN);
    ms__tls_finished_mac(tls, tls->c_hs, body->data);
    ms__tls_send_handshake(tls, TLS_HS_FINISHED, body);
    ms__tls_derive_resumption(tls);
    ms__tls_set_cipher(&tls->wr, tls->c_ap);
    ms__tls_established(tls);
}

void
ms__tls_client_handshake(MsTls *tls, guint8 type, const guint8 *m, gsize len)
{
    static const struct {
        MsTlsHsState state;
        guint8 type;
        void (*handle)(MsTls *, const guint8 *, gsize);
        const char *awaited;
    } steps[] = {
        { TLS_ST_C_WAIT_SH, TLS_HS_SERVER_HELLO, server_hello, "ServerHello" },
        { TLS_ST_C_WAIT_EE, TLS_HS_ENCRYPTED_EXTENSIONS, encrypted_extensions,
          "EncryptedExtensions" },
        { TLS_ST_C_WAIT_CERT_CR, TLS_HS_CERTIFICATE_REQUEST, certificate_request, NULL },
        { TLS_ST_C_WAIT_CERT_CR, TLS_HS_CERTIFICATE, certificate,
          "Certificate or CertificateRequest" },
        { TLS_ST_C_WAIT_CERT, TLS_HS_CERTIFICATE, certificate, "Certificate" },
        { TLS_ST_C_WAIT_CV, TLS_HS_CERTIFICATE_VERIFY, certificate_verify, "CertificateVerify" },
        { TLS_ST_C_WAIT_FINISHED, TLS_HS_FINISHED, server_finished, "Finished" },
    };
    const char *awaited = "nothing (the ClientHello was not sent)";
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        if (steps[i].state != tls->hs)
            continue;
        if (steps[i].type == type)
            return steps[i].handle(tls, m, len);
        if (steps[i].awaited)
            awaited = steps[i].awaited;
    }
    ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "server sent %s (type %u) where %s was due",
                 ms__tls_hs_name(type), type, awaited);
}
