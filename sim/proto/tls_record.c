/* The TLS record layer of the simulated endpoint (RFC 8446 5): octets from
 * the peer into record contents, contents into records for the peer, and
 * the alerts that end a session.
 *
 * Design. Input accumulates in tls->in; a record is taken only once its
 * five-octet header and its whole body are there, so where the stream was
 * cut never matters. The header is checked as soon as it is complete: an
 * unknown content type (a peer not speaking TLS, e.g. an SMTP command sent
 * after STARTTLS) or a length over 2^14 + 256 (RFC 8446 5.2) fails at once,
 * before the body is awaited, so a hostile length cannot make us buffer.
 * Once a read key is installed, records must be application_data and are
 * opened with AES-128-GCM: the nonce is the static IV XOR the 64-bit
 * sequence number (5.3), the additional data the record header (5.2), and
 * the inner content type is the last non-zero octet of the plaintext.
 *
 * Choices where the RFC leaves room or a hostile peer probes:
 *  - ChangeCipherSpec records of the single octet 1 are dropped between the
 *    first ClientHello and the end of the handshake (RFC 8446 5); anything
 *    else of that type, or one after the handshake, is unexpected_message.
 *  - An alert in clear is accepted while the handshake runs, even after
 *    keys are set: a peer that failed to parse our ServerHello has no keys
 *    yet and must still be heard (its reason reaches ms_tls_error()). Once
 *    the handshake is over, one is unexpected_message: anyone on the path
 *    could forge it.
 *  - Zero-length handshake and alert fragments are refused (5.1);
 *    zero-length application data is accepted and yields nothing.
 *
 * Output: contents are cut into records of at most 2^14 octets; with a
 * write key each record is sealed (inner type appended, no padding). The
 * client's handshake records in clear (its ClientHello) carry
 * legacy_record_version 0x0301, as OpenSSL's and GnuTLS's do; all others
 * 0x0303 (RFC 8446 5.1).
 *
 * Costs: one copy of each record into the output; opening decrypts in
 * place in a scratch buffer. */
#include "tls-private.h"

#include <nettle/memops.h>
#include <stdarg.h>
#include <string.h>

static const struct {
    guint8 code;
    const char *name;
} alert_names[] = {
    { 0, "close_notify" },
    { 10, "unexpected_message" },
    { 20, "bad_record_mac" },
    { 22, "record_overflow" },
    { 40, "handshake_failure" },
    { 42, "bad_certificate" },
    { 43, "unsupported_certificate" },
    { 44, "certificate_revoked" },
    { 45, "certificate_expired" },
    { 46, "certificate_unknown" },
    { 47, "illegal_parameter" },
    { 48, "unknown_ca" },
    { 49, "access_denied" },
    { 50, "decode_error" },
    { 51, "decrypt_error" },
    { 70, "protocol_version" },
    { 71, "insufficient_security" },
    { 80, "internal_error" },
    { 86, "inappropriate_fallback" },
    { 90, "user_canceled" },
    { 109, "missing_extension" },
    { 110, "unsupported_extension" },
    { 112, "unrecognized_name" },
    { 113, "bad_certificate_status_response" },
    { 115, "unknown_psk_identity" },
    { 116, "certificate_required" },
    { 120, "no_application_protocol" },
};

const char *
ms__tls_alert_name(guint8 alert)
{
    for (guint i = 0; i < G_N_ELEMENTS(alert_names); i++)
        if (alert_names[i].code == alert)
            return alert_names[i].name;
    return "unknown alert";
}

static void
nonce_for(const MsTlsCipher *c, guint8 nonce[TLS_IV_LEN])
{
    memcpy(nonce, c->iv, TLS_IV_LEN);
    for (guint i = 0; i < 8; i++)
        nonce[TLS_IV_LEN - 1 - i] ^= (guint8) (c->seq >> (8 * i));
}

static void
write_one(MsTls *tls, guint8 type, const guint8 *data, gsize len)
{
    GByteArray *out = tls->out;
    guint start = out->len;
    if (!tls->wr.active) {
        gboolean first = tls->role == MS_TLS_CLIENT && type == TLS_CT_HANDSHAKE;
        guint8 hdr[5] = { type, 3, first ? 1 : 3, (guint8) (len >> 8), (guint8) len };
        g_byte_array_append(out, hdr, 5);
        g_byte_array_append(out, data, (guint) len);
    } else {
        /* TLSInnerPlaintext sealed as TLSCiphertext (RFC 8446 5.2) */
        gsize ct_len = len + 1 + TLS_TAG_LEN;
        guint8 hdr[5] = { TLS_CT_APPDATA, 3, 3, (guint8) (ct_len >> 8), (guint8) ct_len };
        guint8 nonce[TLS_IV_LEN];
        g_byte_array_append(out, hdr, 5);
        guint body = out->len;
        g_byte_array_set_size(out, (guint) (body + ct_len));
        guint8 *p = out->data + body;
        memcpy(p, data, len);
        p[len] = type;
        nonce_for(&tls->wr, nonce);
        gcm_aes128_set_iv(&tls->wr.gcm, TLS_IV_LEN, nonce);
        gcm_aes128_update(&tls->wr.gcm, 5, out->data + start);
        gcm_aes128_encrypt(&tls->wr.gcm, len + 1, p, p);
        gcm_aes128_digest(&tls->wr.gcm, TLS_TAG_LEN, p + len + 1);
        tls->wr.seq++;
    }
    if (tls->state == MS_TLS_HANDSHAKING)
        tls->hs_octets += out->len - start;
}

void
ms__tls_write_records(MsTls *tls, guint8 type, const guint8 *data, gsize len)
{
    do {
        gsize n = MIN(len, TLS_MAX_PLAINTEXT);
        write_one(tls, type, data, n);
        data += n;
        len -= n;
    } while (len > 0);
}

void
ms__tls_write_ccs(MsTls *tls)
{
    static const guint8 ccs[6] = { TLS_CT_CCS, 3, 3, 0, 1, 1 };
    g_byte_array_append(tls->out, ccs, sizeof ccs);
    if (tls->state == MS_TLS_HANDSHAKING)
        tls->hs_octets += sizeof ccs;
    tls->ccs_sent = TRUE;
}

gboolean
ms__tls_fail(MsTls *tls, guint8 alert, const char *fmt, ...)
{
    if (tls->state == MS_TLS_FAILED)
        return FALSE;
    va_list ap;
    va_start(ap, fmt);
    g_free(tls->error);
    tls->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!tls->close_sent) {
        /* RFC 8446 6.2: every error alert is fatal */
        guint8 a[2] = { 2, alert };
        ms__tls_write_records(tls, TLS_CT_ALERT, a, 2);
    }
    tls->state = MS_TLS_FAILED;
    g_byte_array_set_size(tls->pending, 0);
    return FALSE;
}

/* Opens a protected record: on success content and its type are set and
 * TRUE is returned (content points into scratch). */
static gboolean
open_record(MsTls *tls, const guint8 *hdr, const guint8 *body, gsize len, GByteArray *scratch,
            guint8 *type, const guint8 **content, gsize *content_len)
{
    if (len < TLS_TAG_LEN + 1)
        return ms__tls_fail(tls, TLS_AL_BAD_RECORD_MAC,
                            "protected record of %zu octets is too short to hold a tag", len);
    gsize pt_len = len - TLS_TAG_LEN;
    guint8 nonce[TLS_IV_LEN], tag[TLS_TAG_LEN];
    g_byte_array_set_size(scratch, (guint) pt_len);
    nonce_for(&tls->rd, nonce);
    gcm_aes128_set_iv(&tls->rd.gcm, TLS_IV_LEN, nonce);
    gcm_aes128_update(&tls->rd.gcm, 5, hdr);
    gcm_aes128_decrypt(&tls->rd.gcm, pt_len, scratch->data, body);
    gcm_aes128_digest(&tls->rd.gcm, TLS_TAG_LEN, tag);
    if (!memeql_sec(tag, body + pt_len, TLS_TAG_LEN))
        return ms__tls_fail(tls, TLS_AL_BAD_RECORD_MAC,
                            "record %" G_GUINT64_FORMAT " failed authentication (bad_record_mac)",
                            tls->rd.seq);
    tls->rd.seq++;
    /* RFC 8446 5.4: the content type is the last non-zero octet */
    while (pt_len > 0 && scratch->data[pt_len - 1] == 0)
        pt_len--;
    if (pt_len == 0)
        return ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                            "protected record holds only padding, no content type");
    pt_len--;
    if (pt_len > TLS_MAX_PLAINTEXT)
        return ms__tls_fail(tls, TLS_AL_RECORD_OVERFLOW,
                            "protected record carries %zu octets of plaintext, over 2^14", pt_len);
    *type = scratch->data[pt_len];
    *content = scratch->data;
    *content_len = pt_len;
    return TRUE;
}

static void
handle_record(MsTls *tls, const guint8 *hdr, const guint8 *body, gsize len, GByteArray *scratch)
{
    guint8 type = hdr[0];
    if (type == TLS_CT_CCS) {
        /* RFC 8446 5: dropped while the handshake runs, refused otherwise */
        if (len != 1 || body[0] != 1)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                         "malformed ChangeCipherSpec record (%zu octets)", len);
        else if (tls->hs == TLS_ST_CONNECTED || tls->hs == TLS_ST_S_WAIT_CH)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "ChangeCipherSpec outside the handshake");
        return;
    }
    if (tls->rd.active && type == TLS_CT_APPDATA) {
        const guint8 *content = NULL;
        gsize clen = 0;
        if (!open_record(tls, hdr, body, len, scratch, &type, &content, &clen))
            return;
        if (type != TLS_CT_HANDSHAKE && type != TLS_CT_ALERT && type != TLS_CT_APPDATA)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "protected record of content type %u",
                         type);
        else if (clen == 0 && type != TLS_CT_APPDATA)
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "empty %s record",
                         type == TLS_CT_ALERT ? "alert" : "handshake");
        else
            ms__tls_on_content(tls, type, content, clen);
        return;
    }
    if (type == TLS_CT_APPDATA)
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                     "application data before the handshake protected the connection");
    else if (tls->rd.active && type == TLS_CT_HANDSHAKE)
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                     "handshake record in clear after the keys were set");
    else if (tls->hs == TLS_ST_CONNECTED)
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                     "alert in clear after the handshake (RFC 8446 5: records are protected)");
    else if (len > TLS_MAX_PLAINTEXT)
        ms__tls_fail(tls, TLS_AL_RECORD_OVERFLOW, "record of %zu octets in clear, over 2^14", len);
    else if (len == 0)
        ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE, "empty %s record",
                     type == TLS_CT_ALERT ? "alert" : "handshake");
    else
        ms__tls_on_content(tls, type, body, len);
}

static gboolean
live(const MsTls *tls)
{
    return tls->state == MS_TLS_HANDSHAKING || tls->state == MS_TLS_ESTABLISHED ||
           (tls->state == MS_TLS_CLOSED && !tls->close_received);
}

void
ms__tls_read_records(MsTls *tls)
{
    g_autoptr(GByteArray) scratch = g_byte_array_new();
    gsize off = 0;
    while (live(tls) && tls->in->len - off >= 5) {
        const guint8 *hdr = tls->in->data + off;
        guint8 type = hdr[0];
        gsize len = ((gsize) hdr[3] << 8) | hdr[4];
        if (type < TLS_CT_CCS || type > TLS_CT_APPDATA) {
            ms__tls_fail(tls, TLS_AL_UNEXPECTED_MESSAGE,
                         "record of unknown content type %u (0x%02x 0x%02x 0x%02x: is the peer "
                         "speaking TLS?)",
                         type, hdr[0], hdr[1], hdr[2]);
            break;
        }
        if (hdr[1] != 3) {
            ms__tls_fail(tls, TLS_AL_PROTOCOL_VERSION, "record with version %u.%u is not TLS",
                         hdr[1], hdr[2]);
            break;
        }
        if (len > TLS_MAX_CIPHERTEXT) {
            ms__tls_fail(tls, TLS_AL_RECORD_OVERFLOW,
                         "record of %zu octets, over the limit of 2^14 + 256", len);
            break;
        }
        if (tls->in->len - off < 5 + len)
            break;
        if (tls->state == MS_TLS_HANDSHAKING)
            tls->hs_octets += 5 + len;
        off += 5 + len;
        handle_record(tls, hdr, hdr + 5, len, scratch);
    }
    if (live(tls))
        g_byte_array_remove_range(tls->in, 0, (guint) off);
    else
        g_byte_array_set_size(tls->in, 0);
}
