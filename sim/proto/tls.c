/* The TLS 1.3 endpoint of simulated hosts (include/mailsim/tls.h): the
 * public entry points, the reassembly of handshake messages from record
 * contents, and what happens once the handshake is over.
 *
 * Design. ms_tls_feed() appends to the input and lets the record layer
 * (tls_record.c) take whole records; their contents come back here. Alerts
 * end the session, application data is queued for the caller, handshake
 * octets are gathered until a whole message (four-octet header and body)
 * is there and handed to the client's or the server's state machine
 * (tls_client.c, tls_server.c), or, after the handshake, to the
 * post-handshake handler below. Every decision depends only on the
 * octets, never on how they were cut, so any split gives the same output.
 *
 * Choices where the RFC leaves room or a hostile peer probes:
 *  - A handshake message longer than 32 KiB is refused (illegal_parameter)
 *    as soon as its header says so: our messages are a few KiB, and a
 *    64 KiB ClientHello must not make us buffer it.
 *  - A handshake message must not straddle a change of read key (RFC 8446
 *    5.1): octets left over when the key changes are unexpected_message.
 *  - After the handshake, a ClientHello (renegotiation, which TLS 1.3 does
 *    not have), a ServerHello or anything but KeyUpdate and, for a client,
 *    NewSessionTicket is unexpected_message. A client keeps the last ticket
 *    as resumption state (ms_tls_take_session). KeyUpdate is answered as RFC 8446 4.6.3 says.
 *  - On close_notify we answer with ours at once (RFC 8446 6.1 lets either
 *    side close its write half; the mail layer always wants both closed).
 *    After ms_tls_close() records are still read until the peer's
 *    close_notify, so a reply already in flight is not lost.
 *  - ms_tls_close() during the handshake with data waiting sends that data
 *    and the close_notify once the handshake completes.
 *  - ms_tls_eof() without a close_notify received is a truncation (RFC 8446
 *    6.1) and FAILS the session, even after the last reply: a caller that
 *    does not care may ignore it, but only it can tell the cut from the end.
 *
 * Ownership: the endpoint copies its configuration (the chain's GBytes are
 * referenced); take_output/take_plaintext hand their GBytes to the caller.
 * No clock, no global state; one thread at a time per endpoint. */
#include "tls-private.h"

#include <string.h>

MsTls *
ms_tls_new(const MsTlsConfig *cfg)
{
    g_return_val_if_fail(cfg != NULL && cfg->rng != NULL, NULL);
    g_return_val_if_fail(cfg->role == MS_TLS_CLIENT || (cfg->n_certs > 0 && cfg->ed25519_seed),
                         NULL);
    MsTls *tls = g_new0(MsTls, 1);
    tls->role = cfg->role;
    tls->rng = cfg->rng;
    tls->server_name = g_strdup(cfg->server_name);
    tls->chain = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    for (guint i = 0; i < cfg->n_certs; i++)
        g_ptr_array_add(tls->chain, g_bytes_ref(cfg->cert_chain[i]));
    if (cfg->ed25519_seed) {
        memcpy(tls->seed, cfg->ed25519_seed, 32);
        if (cfg->ed25519_pub) {
            memcpy(tls->pub, cfg->ed25519_pub, 32);
            tls->have_pub = TRUE;
        }
    }
    tls->verify = cfg->verify;
    tls->keylog = cfg->keylog;
    tls->user_data = cfg->user_data;
    if (cfg->ticket_key) {
        tls->has_ticket_key = TRUE;
        memcpy(tls->ticket_key, cfg->ticket_key, sizeof tls->ticket_key);
    }
    if (cfg->resume && cfg->role == MS_TLS_CLIENT)
        tls->resume = ms_tls_session_copy(cfg->resume);
    tls->psk_mode = cfg->psk_mode;
    tls->now_ms = cfg->now_ms;
    tls->key_cache = cfg->role == MS_TLS_CLIENT ? cfg->key_cache : NULL;
    tls->state = MS_TLS_HANDSHAKING;
    tls->hs = cfg->role == MS_TLS_SERVER ? TLS_ST_S_WAIT_CH : TLS_ST_START;
    tls->in = g_byte_array_new();
    tls->hsbuf = g_byte_array_new();
    tls->out = g_byte_array_new();
    tls->plain = g_byte_array_new();
    tls->pending = g_byte_array_new();
    tls->peer_chain = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    sha256_init(&tls->transcript);
    return tls;
}

void
ms_tls_free(MsTls *tls)
{
    if (!tls)
        return;
    g_free(tls->server_name);
    g_ptr_array_unref(tls->chain);
    g_free(tls->error);
    g_byte_array_unref(tls->in);
    g_byte_array_unref(tls->hsbuf);
    g_byte_array_unref(tls->out);
    g_byte_array_unref(tls->plain);
    g_byte_array_unref(tls->pending);
    g_ptr_array_unref(tls->peer_chain);
    if (tls->cr_context)
        g_byte_array_unref(tls->cr_context);
    if (tls->cookie)
        g_byte_array_unref(tls->cookie);
    g_free(tls->peer_sni);
    ms_tls_session_free(tls->resume);
    ms_tls_session_free(tls->session);
    /* the secrets do not outlive the endpoint */
    memset(tls, 0, sizeof *tls);
    g_free(tls);
}

void
ms_tls_start(MsTls *tls)
{
    g_return_if_fail(tls != NULL && !tls->started);
    tls->started = TRUE;
    if (tls->role == MS_TLS_CLIENT)
        ms__tls_client_start(tls);
}

void
ms_tls_feed(MsTls *tls, const guint8 *data, gsize len)
{
    g_return_if_fail(tls != NULL && (data != NULL || len == 0));
    if (tls->state == MS_TLS_FAILED || tls->close_received)
        return;
    g_byte_array_append(tls->in, data, (guint) len);
    ms__tls_read_records(tls);
}

void
ms_tls_eof(MsTls *tls)
{
    g_return_if_fail(tls != NULL);
    if (tls->state == MS_TLS_FAILED || tls->close_received)
        return;
    g_free(tls->error);
    if (tls->in->len > 0)
        tls->error = g_strdup_printf("connection closed in the middle of a record (%u octets of "
                                     "it received)",
                                     tls->in->len);
    else if (tls->hsbuf->len > 0 || tls->state == MS_TLS_HANDSHAKING)
        tls->error = g_strdup("connection closed during the handshake");
    else
        tls->error = g_strdup("connection closed without close_notify: the data may have been "
                              "truncated");
    tls->state = MS_TLS_FAILED;
    g_byte_array_set_size(tls->in, 0);
    g_byte_array_set_size(tls->pending, 0);
}

static void
send_close_notify(MsTls *tls)
{
    static const guint8 a[2] = { 1, TLS_AL_CLOSE_NOTIFY };
    ms__tls_write_records(tls, TLS_CT_ALERT, a, 2);
    tls->close_sent = TRUE;
}

void
ms_tls_write(MsTls *tls, const guint8 *data, gsize len)
{
    g_return_if_fail(tls != NULL && (data != NULL || len == 0));
    if (len == 0 || tls->close_sent || tls->state == MS_TLS_FAILED)
        return;
    if (tls->state == MS_TLS_HANDSHAKING)
        g_byte_array_append(tls->pending, data, (guint) len);
    else if (tls->state == MS_TLS_ESTABLISHED)
        ms__tls_write_records(tls, TLS_CT_APPDATA, data, len);
}

void
ms_tls_close(MsTls *tls)
{
    g_return_if_fail(tls != NULL);
    if (tls->close_sent || tls->state == MS_TLS_FAILED)
        return;
    if (tls->state == MS_TLS_HANDSHAKING && tls->pending->len > 0) {
        tls->close_after_pending = TRUE;
        return;
    }
    send_close_notify(tls);
    tls->state = MS_TLS_CLOSED;
}

static GBytes *
take(GByteArray **a)
{
    if ((*a)->len == 0)
        return NULL;
    GByteArray *full = *a;
    *a = g_byte_array_new();
    return g_byte_array_free_to_bytes(full);
}

GBytes *
ms_tls_take_output(MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return take(&tls->out);
}

GBytes *
ms_tls_take_plaintext(MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return take(&tls->plain);
}

MsTlsState
ms_tls_state(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, MS_TLS_FAILED);
    return tls->state;
}

const char *
ms_tls_error(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return tls->state == MS_TLS_FAILED ? tls->error : NULL;
}

const char *
ms_tls_peer_server_name(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return tls->peer_sni;
}

const char *
ms_tls_cipher_suite(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return tls->hs == TLS_ST_CONNECTED ? "TLS_AES_128_GCM_SHA256" : NULL;
}

guint64
ms_tls_handshake_octets(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, 0);
    return tls->hs_octets;
}

gboolean
ms_tls_resumed(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, FALSE);
    return tls->resumed;
}

MsTlsKeyCache *
ms_tls_key_cache_new(void)
{
    MsTlsKeyCache *c = g_new0(MsTlsKeyCache, 1);
    c->keys =
        g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, g_free);
    return c;
}

void
ms_tls_key_cache_free(MsTlsKeyCache *c)
{
    if (!c)
        return;
    g_hash_table_unref(c->keys);
    g_free(c);
}

guint
ms_tls_key_cache_size(const MsTlsKeyCache *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return g_hash_table_size(c->keys);
}

guint64
ms_tls_key_cache_hits(const MsTlsKeyCache *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->hits;
}

const char *
ms_tls_group(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    return tls->dhe_done ? "x25519" : NULL;
}

gboolean
ms_tls_retried(const MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, FALSE);
    return tls->hrr;
}

MsTlsSession *
ms_tls_take_session(MsTls *tls)
{
    g_return_val_if_fail(tls != NULL, NULL);
    MsTlsSession *s = tls->session;
    tls->session = NULL;
    return s;
}

MsTlsSession *
ms_tls_session_copy(const MsTlsSession *s)
{
    if (!s)
        return NULL;
    MsTlsSession *c = g_memdup2(s, sizeof *s);
    c->server_name = g_strdup(s->server_name);
    c->ticket = g_bytes_ref(s->ticket);
    return c;
}

void
ms_tls_session_free(MsTlsSession *s)
{
    if (!s)
        return;
    g_free(s->server_name);
    g_bytes_unref(s->ticket);
    memset(s, 0, sizeof *s);
    g_free(s);
}

const char *
ms_tls_session_server_name(const MsTlsSession *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    return s->server_name;
}

gboolean
ms_tls_session_valid(const MsTlsSession *s, guint64 now_ms)
{
    g_return_val_if_fail(s != NULL, FALSE);
    return now_ms >= s->received_ms && now_ms - s->received_ms < (guint64) s->lifetime * 1000;
}

/* ------------------------------------------------------------ internals */

void
ms__tls_send_handshake(MsTls *tls, guint8 type, const GByteArray *body)
{
    g_autoptr(GByteArray) msg = g_byte_array_sized_new(4 + body->len);
    ms__tls_put_uint(msg, type, 1);
    ms__tls_put_uint(msg, body->len, 3);
    g_byte_array_append(msg, body->data, body->len);
    sha256_update(&tls->transcript, msg->len, msg->data);
    ms__tls_write_records(tls, TLS_CT_HANDSHAKE, msg->data, msg->len);
}

void
ms__tls_established(MsTls *tls)
{
    tls->state = MS_TLS_ESTABLISHED;
    tls->hs = TLS_ST_CONNECTED;
    if (tls->pending->len > 0)
        ms__tls_write_records(tls, TLS_CT_APPDATA, tls->pending->data, tls->pending->len);
    g_byte_array_set_size(tls->pending, 0);
    if (tls->close_after_pending) {
        send_close_notify(tls);
        tls->state = MS_TLS_CLOSED;
    }
}

/* KeyUpdate (RFC 8446 4.6.3): the peer's next records use its next secret;
 * when it asks, we send a KeyUpdate of ours under the old key and move on. */
static void
key_update(MsTls *tls, const guint8 *body, gsize len)
{
    if (len != 1)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "KeyUpdate of %zu octets", len);
    if (body[0] > 1)
        return (void) ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                                   "KeyUpdate with request_update %u", body[0]);
    ms__tls_update_cipher(&tls->rd);
    tls->rd_generation++;
    if (body[0] == 1 && !tls->close_sent) {
        static const guint8 not_requested[5] = { TLS_HS_KEY_UPDATE, 0, 0, 1, 0 };
        ms__tls_write_records(tls, TLS_CT_HANDSHAKE, not_requested, sizeof not_requested);
        ms__tls_update_cipher(&tls->wr);
    }
}

static void
post_handshake(MsTls *tls, guint8 type, const guint8 *msg, gsize len)
{
    if (type == TLS_HS_KEY_UPDATE)
        key_update(tls, msg + 4, len - 4);
    else if (type == TLS_HS_NEW_SESSION_TICKET && tls->role == MS_TLS_CLIENT)
        ms__tls_client_ticket(tls, msg, len);
    else if (type == TLS_HS_CLIENT_HELLO && tls->role == MS_TLS_SERVER)
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                     "ClientHello after the handshake: renegotiation does not exist in TLS 1.3");
    else
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                     "unexpected handshake message (type %u) after the handshake", type);
}

static void
on_handshake(MsTls *tls, const guint8 *data, gsize len)
{
    g_byte_array_append(tls->hsbuf, data, (guint) len);
    guint generation = tls->rd_generation;
    gsize off = 0;
    while (tls->state != MS_TLS_FAILED && tls->hsbuf->len - off >= 4) {
        const guint8 *m = tls->hsbuf->data + off;
        gsize mlen = ((gsize) m[1] << 16) | ((gsize) m[2] << 8) | m[3];
        if (mlen > TLS_MAX_HS_MESSAGE) {
            ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER,
                         "handshake message (type %u) of %zu octets, over our limit of %u", m[0],
                         mlen, TLS_MAX_HS_MESSAGE);
            break;
        }
        if (tls->hsbuf->len - off < 4 + mlen)
            break;
        off += 4 + mlen;
        if (tls->hs == TLS_ST_CONNECTED)
            post_handshake(tls, m[0], m, 4 + mlen);
        else if (tls->role == MS_TLS_CLIENT)
            ms__tls_client_handshake(tls, m[0], m, 4 + mlen);
        else
            ms__tls_server_handshake(tls, m[0], m, 4 + mlen);
        if (tls->rd_generation != generation && tls->hsbuf->len > off &&
            tls->state != MS_TLS_FAILED)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                         "handshake data straddles a change of keys (RFC 8446 5.1)");
    }
    if (tls->state == MS_TLS_FAILED)
        g_byte_array_set_size(tls->hsbuf, 0);
    else
        g_byte_array_remove_range(tls->hsbuf, 0, (guint) off);
}

static void
on_alert(MsTls *tls, const guint8 *data, gsize len)
{
    if (len != 2)
        return (void) ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "alert record of %zu octets", len);
    guint8 desc = data[1];
    if (desc == TLS_AL_USER_CANCELED)
        return; /* RFC 8446 6.1: a close_notify is to follow */
    if (desc == TLS_AL_CLOSE_NOTIFY) {
        tls->close_received = TRUE;
        if (!tls->close_sent)
            send_close_notify(tls);
        if (tls->state == MS_TLS_HANDSHAKING) {
            g_free(tls->error);
            tls->error = g_strdup("peer closed the connection (close_notify) during the handshake");
            tls->state = MS_TLS_FAILED;
        } else {
            tls->state = MS_TLS_CLOSED;
        }
        return;
    }
    g_free(tls->error);
    tls->error = g_strdup_printf("peer sent alert %s (%u)", ms__tls_alert_name(desc), desc);
    tls->state = MS_TLS_FAILED;
    g_byte_array_set_size(tls->pending, 0);
}

void
ms__tls_on_content(MsTls *tls, guint8 type, const guint8 *data, gsize len)
{
    if (type != TLS_CT_HANDSHAKE && tls->hsbuf->len > 0)
        return (void) ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                                   "a handshake message was interrupted by other records");
    switch (type) {
    case TLS_CT_ALERT:
        on_alert(tls, data, len);
        break;
    case TLS_CT_HANDSHAKE:
        on_handshake(tls, data, len);
        break;
    case TLS_CT_APPDATA:
        if (tls->hs != TLS_ST_CONNECTED)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                         "application data before the handshake completed");
        else
            g_byte_array_append(tls->plain, data, (guint) len);
        break;
    default:
        g_assert_not_reached();
    }
}

void
ms__tls_random(MsTls *tls, guint8 *out, gsize n)
{
    for (gsize i = 0; i < n; i += 8) {
        guint64 v = ms_rng_next(tls->rng);
        for (gsize j = 0; j < 8 && i + j < n; j++)
            out[i + j] = (guint8) (v >> (8 * j));
    }
}

const char *
ms__tls_hs_name(guint8 type)
{
    switch (type) {
    case TLS_HS_CLIENT_HELLO:
        return "ClientHello";
    case TLS_HS_SERVER_HELLO:
        return "ServerHello";
    case TLS_HS_NEW_SESSION_TICKET:
        return "NewSessionTicket";
    case TLS_HS_END_OF_EARLY_DATA:
        return "EndOfEarlyData";
    case TLS_HS_ENCRYPTED_EXTENSIONS:
        return "EncryptedExtensions";
    case TLS_HS_CERTIFICATE:
        return "Certificate";
    case TLS_HS_CERTIFICATE_REQUEST:
        return "CertificateRequest";
    case TLS_HS_CERTIFICATE_VERIFY:
        return "CertificateVerify";
    case TLS_HS_FINISHED:
        return "Finished";
    case TLS_HS_KEY_UPDATE:
        return "KeyUpdate";
    default:
        return "unknown handshake message";
    }
}

gboolean
ms__tls_extensions(MsTls *tls, MsTlsReader block, MsTlsExt *want, guint n_want, gboolean unknown_ok,
                   const char *what)
{
    /* one bit per extension type: a block of 64 KiB holds up to 16384
     * extensions, so a pairwise check for repeats would be quadratic */
    g_autofree guint8 *seen = g_malloc0(65536 / 8);
    while (block.ok && block.n > 0) {
        guint type = ms__tls_get_uint(&block, 2);
        MsTlsReader body = ms__tls_get_vec(&block, 2);
        if (!block.ok)
            break;
        if (seen[type / 8] & (1u << (type % 8)))
            return ms__tls_fail(tls, TLS_AL_ILLEGAL_PARAMETER, "%s repeats extension %u", what,
                                type);
        seen[type / 8] |= (guint8) (1u << (type % 8));
        guint i;
        for (i = 0; i < n_want && want[i].type != type; i++)
            ;
        if (i < n_want) {
            want[i].present = TRUE;
            want[i].body = body;
        } else if (!unknown_ok) {
            return ms__tls_fail(tls, TLS_AL_UNSUPPORTED_EXTENSION,
                                "%s carries extension %u, which we did not offer", what, type);
        }
    }
    if (!block.ok)
        return ms__tls_fail(tls, TLS_AL_DECODE_ERROR, "%s has a truncated extension", what);
    return TRUE;
}
