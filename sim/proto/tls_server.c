/* The server side of the simulated TLS 1.3 handshake (RFC 8446 2, 4):
 * parses the ClientHello, answers with a HelloRetryRequest or its whole
 * flight, and checks the client's Finished.
 *
 * Design. The ClientHello is parsed in two passes: the fixed fields and
 * the extension block (tls.c's walker, which refuses repeated extensions
 * and skips unknown ones), then the five extensions we act on. The server
 * answers in one go: ServerHello, the middlebox-compatibility
 * ChangeCipherSpec when the client sent a session id (RFC 8446 D.4),
 * EncryptedExtensions, Certificate, CertificateVerify (Ed25519, nettle) and
 * Finished; it then waits for the client's Finished before sending any
 * application data (no 0.5-RTT data, no client certificates). With a ticket
 * key it sends one NewSessionTicket once the client's Finished is checked,
 * and accepts its own tickets back (RFC 8446 4.2.11): the first identity
 * that opens (AES-128-GCM under the ticket key), names the same SNI and is
 * within its lifetime by the simulated clock is taken once its binder
 * verifies (else decrypt_error); then psk_dhe_ke when the client lists it
 * and sent an x25519 share, else psk_ke; Certificate and CertificateVerify
 * are left out. Any other ticket: a full handshake, as the RFC asks.
 *
 * Choices where the RFC leaves room or a hostile peer probes:
 *  - No supported_versions, or no 0x0304 in it: protocol_version (we speak
 *    TLS 1.3 only; a TLS 1.2 client is told so, not ignored).
 *  - Compression other than exactly {null}: illegal_parameter (4.1.2).
 *  - No common suite, group or signature scheme: handshake_failure; a
 *    missing supported_groups, signature_algorithms or key_share (we have
 *    no PSK mode): missing_extension (9.2).
 *  - x25519 supported but no share for it (a GnuTLS client offering
 *    secp256r1 first does this, and a client resuming with psk_ke sends
 *    an empty list, RFC 8446 4.2.8): a psk_ke resumption goes on without
 *    any key exchange; anything else gets a HelloRetryRequest naming
 *    x25519 (4.1.4); a second ClientHello still without one:
 *    illegal_parameter. A share of the wrong length or a repeated x25519
 *    share: illegal_parameter.
 *  - server_name: a list of at most one host_name (RFC 6066 3), 1..255
 *    printable octets without NUL, else decode_error; its value is kept
 *    for ms_tls_peer_server_name() and acknowledged with an empty
 *    server_name in EncryptedExtensions.
 *  - Every length is checked by the bounded reader; octets after the end of
 *    a message are decode_error.
 *
 * Costs: one X25519 key generation and shared secret, one Ed25519
 * signature (and, unless the caller gave the public key, its derivation
 * once per endpoint), one pass over the ClientHello; a resumption skips the
 * signature, and with psk_ke the X25519 too. */
#include "tls-private.h"

#include <nettle/curve25519.h>
#include <nettle/gcm.h>
#include <nettle/eddsa.h>
#include <nettle/memops.h>
#include <string.h>

/* Does a list of 16-bit values (its octets) hold v? */
static gboolean
list_has(MsTlsReader list, guint v)
{
    while (list.n >= 2) {
        if (ms__tls_get_uint(&list, 2) == v)
            return TRUE;
    }
    return FALSE;
}

/* A vector of 16-bit values with a width-octet length: FALSE when
 * malformed (odd, empty or overrunning its extension). */
static gboolean
u16_list(MsTlsReader body, guint width, MsTlsReader *list)
{
    *list = ms__tls_get_vec(&body, width);
    return body.ok && body.n == 0 && list->n >= 2 && list->n % 2 == 0;
}

static gboolean
parse_sni(MsTls *tls, MsTlsReader body)
{
    MsTlsReader list = ms__tls_get_vec(&body, 2);
    if (!body.ok || body.n != 0 || list.n == 0)
        return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed server_name extension");
    while (list.n > 0) {
        guint type = ms__tls_get_uint(&list, 1);
        MsTlsReader name = ms__tls_get_vec(&list, 2);
        if (!list.ok || name.n == 0)
            return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed server_name extension");
        if (type != 0)
            continue; /* other name types are skipped, none is defined */
        if (tls->peer_sni)
            return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                "server_name lists two host names (RFC 6066 3)");
        if (name.n > 255)
            return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "server_name of %zu octets", name.n);
        for (gsize i = 0; i < name.n; i++)
            if (name.p[i] <= 0x20 || name.p[i] >= 0x7f)
                return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "server_name holds octet 0x%02x",
                                    name.p[i]);
        tls->peer_sni = g_strndup((const char *) name.p, name.n);
    }
    return TRUE;
}

char *
ms_tls_client_hello_server_name(const guint8 *msg, gsize len)
{
    g_return_val_if_fail(msg || len == 0, NULL);
    if (len < 4 || msg[0] != TLS_HS_CLIENT_HELLO ||
        ((gsize) msg[1] << 16 | (gsize) msg[2] << 8 | msg[3]) != len - 4)
        return NULL;
    MsTlsReader r = ms__tls_reader(msg + 4, len - 4);
    ms__tls_get_uint(&r, 2); /* legacy_version */
    ms__tls_get(&r, 32);     /* random */
    ms__tls_get_vec(&r, 1);  /* legacy_session_id */
    ms__tls_get_vec(&r, 2);  /* cipher_suites */
    ms__tls_get_vec(&r, 1);  /* legacy_compression_methods */
    MsTlsReader block = ms__tls_get_vec(&r, 2);
    if (!r.ok || r.n != 0)
        return NULL;
    while (block.n > 0) {
        guint type = ms__tls_get_uint(&block, 2);
        MsTlsReader data = ms__tls_get_vec(&block, 2);
        if (!block.ok)
            return NULL;
        if (type != TLS_EXT_SERVER_NAME)
            continue;
        MsTlsReader list = ms__tls_get_vec(&data, 2);
        while (data.ok && list.n > 0) {
            guint kind = ms__tls_get_uint(&list, 1);
            MsTlsReader name = ms__tls_get_vec(&list, 2);
            if (!list.ok || name.n == 0 || name.n > 255)
                return NULL;
            if (kind != 0) /* host_name is the only type defined */
                continue;
            for (gsize i = 0; i < name.n; i++)
                if (name.p[i] <= 0x20 || name.p[i] >= 0x7f)
                    return NULL;
            return g_ascii_strdown((const char *) name.p, (gssize) name.n);
        }
        return NULL;
    }
    return NULL;
}

/* The client's x25519 share: TRUE with *share set (NULL when the client
 * sent none), FALSE after failing. */
static gboolean
find_share(MsTls *tls, MsTlsReader body, const guint8 **share)
{
    MsTlsReader list = ms__tls_get_vec(&body, 2);
    if (!body.ok || body.n != 0)
        return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed key_share extension");
    *share = NULL;
    while (list.n > 0) {
        guint group = ms__tls_get_uint(&list, 2);
        MsTlsReader key = ms__tls_get_vec(&list, 2);
        if (!list.ok || key.n == 0)
            return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed key_share entry");
        if (group != TLS_GROUP_X25519)
            continue;
        if (*share)
            return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER, "two x25519 key shares");
        if (key.n != 32)
            return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                "x25519 key share of %zu octets, not 32", key.n);
        *share = key.p;
    }
    return TRUE;
}

static void
add_u16_ext(GByteArray *b, guint type, guint v)
{
    ms__tls_put_uint(b, type, 2);
    ms__tls_put_uint(b, 2, 2);
    ms__tls_put_uint(b, v, 2);
}

/* ServerHello or HelloRetryRequest (same structure, RFC 8446 4.1.3/4.1.4). */
static void
send_server_hello(MsTls *tls, const guint8 *random, const guint8 *pub, gboolean hrr)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    ms__tls_put_uint(b, 0x0303, 2);
    g_byte_array_append(b, random, 32);
    ms__tls_put_uint(b, tls->session_id_len, 1);
    g_byte_array_append(b, tls->session_id, tls->session_id_len);
    ms__tls_put_uint(b, TLS_AES_128_GCM, 2);
    ms__tls_put_uint(b, 0, 1);
    guint exts = ms__tls_open_vec(b, 2);
    add_u16_ext(b, TLS_EXT_SUPPORTED_VERSIONS, TLS_VERSION_13);
    if (pub) {
        ms__tls_put_uint(b, TLS_EXT_KEY_SHARE, 2);
        ms__tls_put_uint(b, 36, 2);
        ms__tls_put_uint(b, TLS_GROUP_X25519, 2);
        ms__tls_put_uint(b, 32, 2);
        g_byte_array_append(b, pub, 32);
    } else if (hrr) {
        add_u16_ext(b, TLS_EXT_KEY_SHARE, TLS_GROUP_X25519); /* selected_group */
    }
    if (tls->resumed)
        add_u16_ext(b, TLS_EXT_PRE_SHARED_KEY, 0); /* selected_identity */
    ms__tls_close_vec(b, exts, 2);
    ms__tls_send_handshake(tls, TLS_HS_SERVER_HELLO, b);
    /* RFC 8446 D.4: one CCS, right after our first handshake message */
    if (tls->session_id_len > 0 && !tls->ccs_sent)
        ms__tls_write_ccs(tls);
}

static void
hello_retry(MsTls *tls, const guint8 *m, gsize len)
{
    /* RFC 8446 4.4.1: the first ClientHello enters the transcript as a
     * synthetic message_hash message holding its hash */
    guint8 hash[TLS_HASH_LEN];
    sha256_update(&tls->transcript, len, m);
    sha256_digest(&tls->transcript, TLS_HASH_LEN, hash); /* also resets it */
    static const guint8 head[4] = { TLS_HS_MESSAGE_HASH, 0, 0, TLS_HASH_LEN };
    sha256_update(&tls->transcript, 4, head);
    sha256_update(&tls->transcript, TLS_HASH_LEN, hash);
    send_server_hello(tls, ms__tls_hrr_random, NULL, TRUE);
    tls->hrr = TRUE;
    tls->hs = TLS_ST_S_WAIT_CH2;
}

static void
send_flight(MsTls *tls, const guint8 *client_share)
{
    static const guint8 zeros[32] = { 0 };
    guint8 pub[32], shared[32];
    gboolean dhe = !tls->resumed || tls->psk_dhe;
    ms__tls_random(tls, tls->server_random, 32);
    if (dhe) {
        ms__tls_random(tls, tls->x25519_priv, 32);
        curve25519_mul_g(pub, tls->x25519_priv);
        curve25519_mul(shared, tls->x25519_priv, client_share);
        if (memeql_sec(shared, zeros, 32))
            return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                       "client's x25519 share gives the all-zero secret");
        tls->dhe_done = TRUE;
    }
    send_server_hello(tls, tls->server_random, dhe ? pub : NULL, FALSE);
    ms__tls_derive_handshake(tls, dhe ? shared : NULL);
    ms__tls_set_cipher(&tls->wr, tls->s_hs);
    ms__tls_set_read_key(tls, tls->c_hs);

    g_autoptr(GByteArray) b = g_byte_array_new();
    guint at = ms__tls_open_vec(b, 2);
    if (tls->peer_sni) {
        ms__tls_put_uint(b, TLS_EXT_SERVER_NAME, 2);
        ms__tls_put_uint(b, 0, 2);
    }
    ms__tls_close_vec(b, at, 2);
    ms__tls_send_handshake(tls, TLS_HS_ENCRYPTED_EXTENSIONS, b);
    if (!tls->resumed) { /* RFC 8446 2.2: a resumption has no Certificate, no CertificateVerify */
        g_byte_array_set_size(b, 0);
        ms__tls_put_uint(b, 0, 1); /* certificate_request_context */
        at = ms__tls_open_vec(b, 3);
        for (guint i = 0; i < tls->chain->len; i++) {
            gsize n;
            const guint8 *der = g_bytes_get_data(g_ptr_array_index(tls->chain, i), &n);
            ms__tls_put_uint(b, (guint) n, 3);
            g_byte_array_append(b, der, (guint) n);
            ms__tls_put_uint(b, 0, 2); /* no per-certificate extensions */
        }
        ms__tls_close_vec(b, at, 3);
        ms__tls_send_handshake(tls, TLS_HS_CERTIFICATE, b);

        g_autoptr(GByteArray) content = ms__tls_cv_content(tls);
        g_byte_array_set_size(b, 0);
        ms__tls_put_uint(b, TLS_SIG_ED25519, 2);
        ms__tls_put_uint(b, ED25519_SIGNATURE_SIZE, 2);
        g_byte_array_set_size(b, 4 + ED25519_SIGNATURE_SIZE);
        if (!tls->have_pub) { /* once per endpoint, and only when it signs */
            ed25519_sha512_public_key(tls->pub, tls->seed);
            tls->have_pub = TRUE;
        }
        ed25519_sha512_sign(tls->pub, tls->seed, content->len, content->data, b->data + 4);
        ms__tls_send_handshake(tls, TLS_HS_CERTIFICATE_VERIFY, b);
    }

    g_byte_array_set_size(b, TLS_HASH_LEN);
    ms__tls_finished_mac(tls, tls->s_hs, b->data);
    ms__tls_send_handshake(tls, TLS_HS_FINISHED, b);
    ms__tls_derive_application(tls);
    ms__tls_set_cipher(&tls->wr, tls->s_ap);
    tls->hs = TLS_ST_S_WAIT_FINISHED;
}

/* Our ticket (opaque to the client, RFC 8446 4.6.1): a 12-octet GCM nonce,
 * then sealed under the server's ticket key: the PSK, the issue time (ms),
 * ticket_age_add, the server name; then the 16-octet tag. */
#define TICKET_AAD "mailsim ticket v1"

void
ms__tls_server_send_ticket(MsTls *tls)
{
    if (!tls->has_ticket_key)
        return;
    guint8 nonce[8], iv[12], age_add[4];
    ms__tls_random(tls, age_add, 4);
    ms__tls_random(tls, nonce, sizeof nonce);
    ms__tls_random(tls, iv, sizeof iv);
    g_autoptr(GByteArray) plain = g_byte_array_new();
    g_byte_array_set_size(plain, TLS_HASH_LEN);
    ms__tls_expand_label(tls->res_master, "resumption", nonce, sizeof nonce, plain->data,
                         TLS_HASH_LEN);
    ms__tls_put_uint(plain, (guint) (tls->now_ms >> 32), 4);
    ms__tls_put_uint(plain, (guint) tls->now_ms, 4);
    g_byte_array_append(plain, age_add, 4);
    gsize nl = tls->peer_sni ? strlen(tls->peer_sni) : 0;
    ms__tls_put_uint(plain, (guint) nl, 1);
    g_byte_array_append(plain, (const guint8 *) tls->peer_sni, (guint) nl);

    g_autoptr(GByteArray) b = g_byte_array_new();
    ms__tls_put_uint(b, TLS_HS_NEW_SESSION_TICKET, 1);
    guint at = ms__tls_open_vec(b, 3);
    ms__tls_put_uint(b, TLS_TICKET_LIFETIME, 4);
    g_byte_array_append(b, age_add, 4);
    ms__tls_put_uint(b, sizeof nonce, 1);
    g_byte_array_append(b, nonce, sizeof nonce);
    ms__tls_put_uint(b, sizeof iv + plain->len + 16, 2);
    g_byte_array_append(b, iv, sizeof iv);
    guint c = b->len;
    g_byte_array_set_size(b, c + plain->len + 16);
    struct gcm_aes128_ctx g;
    gcm_aes128_set_key(&g, tls->ticket_key);
    gcm_aes128_set_iv(&g, sizeof iv, iv);
    gcm_aes128_update(&g, strlen(TICKET_AAD), (const guint8 *) TICKET_AAD);
    gcm_aes128_encrypt(&g, plain->len, b->data + c, plain->data);
    gcm_aes128_digest(&g, 16, b->data + c + plain->len);
    ms__tls_put_uint(b, 0, 2); /* no extensions */
    ms__tls_close_vec(b, at, 3);
    ms__tls_write_records(tls, TLS_CT_HANDSHAKE, b->data, b->len);
    memset(plain->data, 0, plain->len);
}

/* Opens one of our tickets: TRUE with psk set when it is ours, intact, for
 * this server name and within its lifetime. Anything else: not resumable
 * (a full handshake follows, RFC 8446 4.2.11). */
static gboolean
open_ticket(MsTls *tls, MsTlsReader id, guint8 psk[TLS_HASH_LEN])
{
    if (!tls->has_ticket_key || id.n < 12 + TLS_HASH_LEN + 9 + 16 || id.n > 12 + 300 + 16)
        return FALSE;
    gsize n = id.n - 12 - 16;
    guint8 plain[400], tag[16];
    struct gcm_aes128_ctx g;
    gcm_aes128_set_key(&g, tls->ticket_key);
    gcm_aes128_set_iv(&g, 12, id.p);
    gcm_aes128_update(&g, strlen(TICKET_AAD), (const guint8 *) TICKET_AAD);
    gcm_aes128_decrypt(&g, n, plain, id.p + 12);
    gcm_aes128_digest(&g, 16, tag);
    if (!memeql_sec(tag, id.p + 12 + n, 16))
        return FALSE;
    MsTlsReader r = ms__tls_reader(plain + TLS_HASH_LEN, n - TLS_HASH_LEN);
    guint64 issued = (guint64) ms__tls_get_uint(&r, 4) << 32;
    issued |= ms__tls_get_uint(&r, 4);
    ms__tls_get_uint(&r, 4); /* age_add: the ticket age is judged by our own clock */
    MsTlsReader name = ms__tls_get_vec(&r, 1);
    if (!r.ok || r.n != 0)
        return FALSE;
    gsize sl = tls->peer_sni ? strlen(tls->peer_sni) : 0;
    if (name.n != sl || (sl && memcmp(name.p, tls->peer_sni, sl) != 0))
        return FALSE;
    if (tls->now_ms < issued || tls->now_ms - issued >= (guint64) TLS_TICKET_LIFETIME * 1000)
        return FALSE;
    memcpy(psk, plain, TLS_HASH_LEN);
    memset(plain, 0, sizeof plain);
    return TRUE;
}

/* The client's pre_shared_key (RFC 8446 4.2.11): the first identity that
 * is one of our valid tickets is taken, its binder checked over the
 * ClientHello up to the binders. Returns FALSE after failing. */
static gboolean
take_psk(MsTls *tls, const guint8 *m, gsize len, const MsTlsExt *modes, const MsTlsExt *psk,
         const guint8 *block_end, gboolean have_share)
{
    if (!psk->present)
        return TRUE;
    if (psk->body.p + psk->body.n != block_end)
        return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                            "pre_shared_key is not the last extension (RFC 8446 4.2.11)");
    if (!modes->present)
        return ms__tls_fail(tls, TLS_AL_MISSING_EXTENSION,
                            "pre_shared_key without psk_key_exchange_modes (RFC 8446 4.2.9)");
    MsTlsReader mb = modes->body, ml = ms__tls_get_vec(&mb, 1);
    /* the first mode in the client's list that we can do is taken */
    gboolean ke = FALSE, dhe = FALSE;
    while (ml.ok && ml.n > 0 && !ke && !dhe) {
        guint v = ms__tls_get_uint(&ml, 1);
        ke = v == 0;
        dhe = v == 1 && have_share;
    }
    MsTlsReader b = psk->body;
    MsTlsReader ids = ms__tls_get_vec(&b, 2);
    const guint8 *binders_at = b.p;
    MsTlsReader binders = ms__tls_get_vec(&b, 2);
    if (!mb.ok || mb.n != 0 || !b.ok || b.n != 0 || ids.n == 0 || binders.n == 0)
        return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed pre_shared_key");
    guint chosen = G_MAXUINT, i = 0;
    guint8 key[TLS_HASH_LEN];
    while (ids.ok && ids.n > 0) {
        MsTlsReader id = ms__tls_get_vec(&ids, 2);
        ms__tls_get_uint(&ids, 4); /* obfuscated_ticket_age */
        if (!ids.ok || id.n == 0)
            return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed PSK identity");
        if (chosen == G_MAXUINT && (dhe || ke) && open_ticket(tls, id, key))
            chosen = i;
        i++;
    }
    guint n_ids = i;
    const guint8 *binder = NULL;
    for (i = 0; binders.ok && binders.n > 0; i++) {
        MsTlsReader one = ms__tls_get_vec(&binders, 1);
        if (!binders.ok || one.n < 32)
            return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed PSK binder");
        if (i == chosen)
            binder = one.n == TLS_HASH_LEN ? one.p : NULL;
    }
    if (i != n_ids)
        return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                            "%u PSK identities but %u binders (RFC 8446 4.2.11)", n_ids, i);
    if (chosen == G_MAXUINT)
        return TRUE; /* none of ours: a full handshake */
    if (chosen != 0 || !binder)
        return TRUE; /* we only ever select the first identity */
    /* the binder covers the transcript so far and this ClientHello up to
     * the binders list (RFC 8446 4.2.11.2) */
    struct sha256_ctx h = tls->transcript;
    guint8 hash[TLS_HASH_LEN], want[TLS_HASH_LEN];
    sha256_update(&h, (gsize) (binders_at - m), m);
    sha256_digest(&h, TLS_HASH_LEN, hash);
    ms__tls_binder(key, hash, want);
    if (!memeql_sec(want, binder, TLS_HASH_LEN))
        return ms__tls_fail(tls, TLS_AL_DECRYPT_ERROR, "PSK binder does not verify");
    (void) len;
    tls->resumed = TRUE;
    tls->psk_dhe = dhe;
    memcpy(tls->psk, key, TLS_HASH_LEN);
    return TRUE;
}

static void
client_hello(MsTls *tls, const guint8 *m, gsize len)
{
    MsTlsReader r = ms__tls_reader(m + 4, len - 4);
    ms__tls_get_uint(&r, 2); /* legacy_version: supported_versions decides */
    const guint8 *random = ms__tls_get(&r, 32);
    MsTlsReader sid = ms__tls_get_vec(&r, 1);
    MsTlsReader suites = ms__tls_get_vec(&r, 2);
    MsTlsReader comp = ms__tls_get_vec(&r, 1);
    if (r.ok && r.n == 0)
        return (void) ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION,
                                   "ClientHello without extensions: the client does not speak "
                                   "TLS 1.3");
    MsTlsReader block = ms__tls_get_vec(&r, 2);
    if (!r.ok || r.n != 0 || sid.n > 32 || suites.n < 2 || suites.n % 2 || comp.n < 1)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed ClientHello (%s)",
                                   !r.ok ? "truncated"
                                   : r.n ? "octets after its end"
                                         : "bad session id, suite or compression list");
    MsTlsExt want[] = {
        { .type = TLS_EXT_SUPPORTED_VERSIONS },   { .type = TLS_EXT_SUPPORTED_GROUPS },
        { .type = TLS_EXT_SIGNATURE_ALGORITHMS }, { .type = TLS_EXT_KEY_SHARE },
        { .type = TLS_EXT_SERVER_NAME },          { .type = TLS_EXT_PSK_MODES },
        { .type = TLS_EXT_PRE_SHARED_KEY },
    };
    if (!ms__tls_extensions(tls, block, want, G_N_ELEMENTS(want), TRUE, "ClientHello"))
        return;
    MsTlsReader versions, groups, schemes;
    if (!want[0].present)
        return (void) ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION,
                                   "ClientHello without supported_versions: the client does not "
                                   "speak TLS 1.3");
    if (!u16_list(want[0].body, 1, &versions))
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed supported_versions");
    if (!list_has(versions, TLS_VERSION_13))
        return (void) ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION,
                                   "client does not offer TLS 1.3 in supported_versions");
    if (!list_has(suites, TLS_AES_128_GCM))
        return (void) ms__tls_fail(tls, TLS_AL_HANDSHAKE_FAILURE,
                                   "no cipher suite in common (we speak TLS_AES_128_GCM_SHA256)");
    if (comp.n != 1 || comp.p[0] != 0)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "ClientHello offers compression (RFC 8446 4.1.2)");
    if (!want[1].present || !want[2].present || !want[3].present)
        return (void) ms__tls_fail(tls, TLS_AL_MISSING_EXTENSION, "ClientHello without %s",
                                   !want[1].present   ? "supported_groups"
                                   : !want[2].present ? "signature_algorithms"
                                                      : "key_share");
    if (!u16_list(want[1].body, 2, &groups) || !u16_list(want[2].body, 2, &schemes))
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "malformed %s",
                                   u16_list(want[1].body, 2, &groups) ? "signature_algorithms"
                                                                      : "supported_groups");
    if (!list_has(groups, TLS_GROUP_X25519))
        return (void) ms__tls_fail(tls, TLS_AL_HANDSHAKE_FAILURE,
                                   "no key exchange group in common (we speak x25519)");
    if (!list_has(schemes, TLS_SIG_ED25519))
        return (void) ms__tls_fail(tls, TLS_AL_HANDSHAKE_FAILURE,
                                   "no signature scheme in common (we sign with ed25519)");
    const guint8 *share;
    if (!find_share(tls, want[3].body, &share))
        return;
    g_clear_pointer(&tls->peer_sni, g_free);
    if (want[4].present && !parse_sni(tls, want[4].body))
        return;

    memcpy(tls->client_random, random, 32);
    tls->session_id_len = (guint) sid.n;
    memcpy(tls->session_id, sid.p, sid.n);
    if (!share && tls->hrr)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "second ClientHello still without an x25519 key share");
    if (!take_psk(tls, m, len, &want[5], &want[6], block.p + block.n, share != NULL))
        return;
    if (!share && !tls->resumed) {
        /* no share and no psk_ke resumption (RFC 8446 4.2.8: a client may
         * send an empty client_shares to let us pick the group): ask for
         * x25519; the ticket, if any, is judged again in the second
         * ClientHello, whose binder covers this exchange */
        return hello_retry(tls, m, len);
    }
    sha256_update(&tls->transcript, len, m);
    send_flight(tls, share);
}

static void
client_finished(MsTls *tls, const guint8 *m, gsize len)
{
    guint8 want[TLS_HASH_LEN];
    if (len - 4 != TLS_HASH_LEN)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "client's Finished of %zu octets",
                                   len - 4);
    ms__tls_finished_mac(tls, tls->c_hs, want);
    if (!memeql_sec(want, m + 4, TLS_HASH_LEN))
        return (void) ms__tls_fail(tls, TLS_AL_DECRYPT_ERROR,
                                   "client's Finished does not match the handshake");
    sha256_update(&tls->transcript, len, m);
    ms__tls_set_read_key(tls, tls->c_ap);
    ms__tls_derive_resumption(tls);
    ms__tls_server_send_ticket(tls);
    ms__tls_established(tls);
}

void
ms__tls_server_handshake(MsTls *tls, guint8 type, const guint8 *m, gsize len)
{
    gboolean want_hello = tls->hs == TLS_ST_S_WAIT_CH || tls->hs == TLS_ST_S_WAIT_CH2;
    if (want_hello && type == TLS_HS_CLIENT_HELLO)
        client_hello(tls, m, len);
    else if (tls->hs == TLS_ST_S_WAIT_FINISHED && type == TLS_HS_FINISHED)
        client_finished(tls, m, len);
    else
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "client sent %s (type %u) where %s was due",
                     ms__tls_hs_name(type), type, want_hello ? "ClientHello" : "Finished");
}
