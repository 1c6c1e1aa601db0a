/* Shared by the files of the TLS 1.3 endpoint (sim/proto/tls*.c): the
 * endpoint's struct, the bounded reader every parser uses, the writer of
 * length-prefixed vectors, and the functions each file offers the others.
 *
 *   tls.c            public API, handshake message reassembly and dispatch,
 *                    post-handshake messages (KeyUpdate, tickets, refusals)
 *   tls_record.c     record framing in both directions, AEAD protection,
 *                    alerts and the failure path
 *   tls_keys.c       the key schedule (RFC 8446 7.1), traffic keys (7.3),
 *                    Finished (4.4.4), key log lines
 *   tls_client.c     the client's flights and its checks of the server's
 *   tls_server.c     the server's: ClientHello parsing, HelloRetryRequest,
 *                    its flight, the client's Finished */
#pragma once

#include "mailsim/tls.h"

#include <nettle/gcm.h>
#include <nettle/sha2.h>

/* Record content types (RFC 8446 5.1). */
enum {
    TLS_CT_CCS = 20,
    TLS_CT_ALERT = 21,
    TLS_CT_HANDSHAKE = 22,
    TLS_CT_APPDATA = 23,
};

/* Handshake message types (RFC 8446 4). */
enum {
    TLS_HS_CLIENT_HELLO = 1,
    TLS_HS_SERVER_HELLO = 2,
    TLS_HS_NEW_SESSION_TICKET = 4,
    TLS_HS_END_OF_EARLY_DATA = 5,
    TLS_HS_ENCRYPTED_EXTENSIONS = 8,
    TLS_HS_CERTIFICATE = 11,
    TLS_HS_CERTIFICATE_REQUEST = 13,
    TLS_HS_CERTIFICATE_VERIFY = 15,
    TLS_HS_FINISHED = 20,
    TLS_HS_KEY_UPDATE = 24,
    TLS_HS_MESSAGE_HASH = 254,
};

/* Alert descriptions (RFC 8446 6). */
enum {
    TLS_AL_CLOSE_NOTIFY = 0,
    TLS_AL_UNEXPECTED_MESSAGE = 10,
    TLS_AL_BAD_RECORD_MAC = 20,
    TLS_AL_RECORD_OVERFLOW = 22,
    TLS_AL_HANDSHAKE_FAILURE = 40,
    TLS_AL_BAD_CERTIFICATE = 42,
    TLS_AL_ILLEGAL_PARAMETER = 47,
    TLS_AL_DECODE_ERROR = 50,
    TLS_AL_DECRYPT_ERROR = 51,
    TLS_AL_PROTOCOL_VERSION = 70,
    TLS_AL_INTERNAL_ERROR = 80,
    TLS_AL_USER_CANCELED = 90,
    TLS_AL_MISSING_EXTENSION = 109,
    TLS_AL_UNSUPPORTED_EXTENSION = 110,
};

/* Extension types (RFC 8446 4.2, RFC 6066 3). */
enum {
    TLS_EXT_SERVER_NAME = 0,
    TLS_EXT_SUPPORTED_GROUPS = 10,
    TLS_EXT_SIGNATURE_ALGORITHMS = 13,
    TLS_EXT_PRE_SHARED_KEY = 41,
    TLS_EXT_SUPPORTED_VERSIONS = 43,
    TLS_EXT_PSK_MODES = 45,
    TLS_EXT_COOKIE = 44,
    TLS_EXT_KEY_SHARE = 51,
};

#define TLS_VERSION_13     0x0304
#define TLS_AES_128_GCM    0x1301
#define TLS_GROUP_X25519   0x001d
#define TLS_SIG_ED25519    0x0807
#define TLS_HASH_LEN       32
#define TLS_KEY_LEN        16
#define TLS_IV_LEN         12
#define TLS_TAG_LEN        16
#define TLS_MAX_PLAINTEXT  16384u                     /* 2^14, RFC 8446 5.1 */
#define TLS_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 256u) /* RFC 8446 5.2 */
#define TLS_MAX_HS_MESSAGE (32u * 1024u)              /* our cap on one handshake message */

/* Where the handshake stands; each value names what is awaited next. */
typedef enum {
    TLS_ST_START = 0,       /* not started */
    TLS_ST_C_WAIT_SH,       /* client: ServerHello (or HelloRetryRequest) */
    TLS_ST_C_WAIT_EE,       /* client: EncryptedExtensions */
    TLS_ST_C_WAIT_CERT_CR,  /* client: Certificate or CertificateRequest */
    TLS_ST_C_WAIT_CERT,     /* client: Certificate (after a CertificateRequest) */
    TLS_ST_C_WAIT_CV,       /* client: CertificateVerify */
    TLS_ST_C_WAIT_FINISHED, /* client: the server's Finished */
    TLS_ST_S_WAIT_CH,       /* server: ClientHello */
    TLS_ST_S_WAIT_CH2,      /* server: the ClientHello after a HelloRetryRequest */
    TLS_ST_S_WAIT_FINISHED, /* server: the client's Finished */
    TLS_ST_CONNECTED,       /* handshake done: post-handshake messages only */
} MsTlsHsState;

/* One direction's protection: AES-128-GCM key, static IV, sequence number
 * (RFC 8446 5.3), and the traffic secret it came from (for KeyUpdate). */
typedef struct {
    gboolean active;
    struct gcm_aes128_ctx gcm;
    guint8 iv[TLS_IV_LEN];
    guint64 seq;
    guint8 secret[TLS_HASH_LEN];
} MsTlsCipher;

struct _MsTls {
    /* configuration (copied) */
    MsTlsRole role;
    MsRng *rng;
    char *server_name;
    GPtrArray *chain; /* GBytes*, our certificates (server) */
    guint8 seed[32], pub[32];
    gboolean have_pub; /* server: pub holds seed's public key */
    MsTlsVerifyFunc verify;
    MsTlsKeylogFunc keylog;
    gpointer user_data;

    MsTlsState state;
    MsTlsHsState hs;
    char *error;
    gboolean started, close_sent, close_received;
    gboolean close_after_pending; /* ms_tls_close() while data waited */
    guint rd_generation;          /* bumped at every change of read key */

    GByteArray *in;      /* record octets not yet parsed */
    GByteArray *hsbuf;   /* handshake octets not yet a whole message */
    GByteArray *out;     /* records to send */
    GByteArray *plain;   /* application data received */
    GByteArray *pending; /* application data written before ESTABLISHED */
    guint64 hs_octets;

    MsTlsCipher rd, wr;
    struct sha256_ctx transcript;

    guint8 client_random[32], server_random[32];
    guint8 session_id[32];
    guint session_id_len;
    guint8 x25519_priv[32];
    guint8 hs_secret[TLS_HASH_LEN], master[TLS_HASH_LEN];
    guint8 c_hs[TLS_HASH_LEN], s_hs[TLS_HASH_LEN];
    guint8 c_ap[TLS_HASH_LEN], s_ap[TLS_HASH_LEN];
    gboolean ccs_sent; /* the middlebox-compatibility CCS (RFC 8446 D.4) */
    gboolean hrr;      /* a HelloRetryRequest was sent (server) or received (client) */
    gboolean dhe_done; /* an X25519 shared secret went into the key schedule */

    /* client */
    GPtrArray *peer_chain;  /* GBytes*, the server's certificates */
    guint8 peer_pub[32];    /* the leaf's Ed25519 key */
    MsTlsKeyCache *key_cache; /* borrowed, or NULL */
    GByteArray *cr_context; /* set when the server asked for a certificate */
    gboolean sent_share;    /* our ClientHello carried an x25519 share */
    gboolean offered_psk;   /* ... and our ticket */
    GByteArray *cookie;     /* the HelloRetryRequest's cookie (RFC 8446 4.2.2), or NULL */

    /* server */
    char *peer_sni;

    /* resumption (RFC 8446 2.2) */
    gboolean has_ticket_key; /* server: sends tickets */
    guint8 ticket_key[16];
    guint64 now_ms;
    MsTlsSession *resume; /* client: the session offered */
    MsTlsPskMode psk_mode;
    gboolean resumed;         /* the PSK was accepted */
    gboolean psk_dhe;         /* ... with an X25519 exchange too */
    guint8 psk[TLS_HASH_LEN]; /* the PSK in use (when resumed) */
    guint8 res_master[TLS_HASH_LEN];
    MsTlsSession *session; /* client: the last ticket received */
};

struct _MsTlsKeyCache {
    GHashTable *keys; /* GBytes (SHA-256 of a leaf's DER) -> guint8[32], owned */
    guint64 hits;
};

struct _MsTlsSession {
    char *server_name;
    guint8 psk[TLS_HASH_LEN];
    GBytes *ticket;
    guint32 lifetime, age_add; /* seconds; obfuscation (RFC 8446 4.6.1) */
    guint64 received_ms;
};

/* Ticket lifetime our server grants (RFC 8446 4.6.1 allows up to 7 days). */
#define TLS_TICKET_LIFETIME 7200u

/* ---------------------------------------------------------------- reader */

/* A bounded view of input: every get checks the length and, when short,
 * sets ok to FALSE and yields zeros, so a parser checks ok once at the end
 * of a message (or where a bad value would mislead it). */
typedef struct {
    const guint8 *p;
    gsize n;
    gboolean ok;
} MsTlsReader;

static inline MsTlsReader
ms__tls_reader(const guint8 *p, gsize n)
{
    return (MsTlsReader){ p, n, TRUE };
}

static inline const guint8 *
ms__tls_get(MsTlsReader *r, gsize n)
{
    if (!r->ok || r->n < n) {
        r->ok = FALSE;
        r->n = 0;
        return NULL;
    }
    const guint8 *p = r->p;
    r->p += n;
    r->n -= n;
    return p;
}

static inline guint
ms__tls_get_uint(MsTlsReader *r, guint width)
{
    const guint8 *p = ms__tls_get(r, width);
    guint v = 0;
    for (guint i = 0; p && i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A vector with a width-octet length prefix, as a sub-reader. */
static inline MsTlsReader
ms__tls_get_vec(MsTlsReader *r, guint width)
{
    guint len = ms__tls_get_uint(r, width);
    const guint8 *p = ms__tls_get(r, len);
    MsTlsReader sub = { p, p ? len : 0, p != NULL };
    return sub;
}

/* ---------------------------------------------------------------- writer */

static inline void
ms__tls_put_uint(GByteArray *b, guint v, guint width)
{
    guint8 o[4];
    for (guint i = 0; i < width; i++)
        o[i] = (guint8) (v >> (8 * (width - 1 - i)));
    g_byte_array_append(b, o, width);
}

/* Opens a vector: reserves its width-octet length, returns where it is. */
static inline guint
ms__tls_open_vec(GByteArray *b, guint width)
{
    guint at = b->len;
    ms__tls_put_uint(b, 0, width);
    return at;
}

static inline void
ms__tls_close_vec(GByteArray *b, guint at, guint width)
{
    guint len = b->len - at - width;
    for (guint i = 0; i < width; i++)
        b->data[at + i] = (guint8) (len >> (8 * (width - 1 - i)));
}

/* ---------------------------------------------------------------- tls_record.c */

/* Fails the endpoint: records why (printf-style), sends the fatal alert
 * (protected when a write key is in use) and enters FAILED. Returns FALSE
 * so a parser can `return ms__tls_fail(...)`. */
gboolean ms__tls_fail(MsTls *tls, guint8 alert, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Appends records of content type `type` carrying data, at most 2^14
 * octets of plaintext each, protected when the write key is active. */
void ms__tls_write_records(MsTls *tls, guint8 type, const guint8 *data, gsize len);
/* The middlebox-compatibility ChangeCipherSpec record, always in clear. */
void ms__tls_write_ccs(MsTls *tls);
/* Parses and removes whole records from tls->in, handing their content to
 * ms__tls_on_content(); stops at the first failure or close. */
void ms__tls_read_records(MsTls *tls);
/* The name of an alert description ("handshake_failure"). */
const char *ms__tls_alert_name(guint8 alert);

/* ---------------------------------------------------------------- tls.c */

/* The content of one record (decrypted), by type. */
void ms__tls_on_content(MsTls *tls, guint8 type, const guint8 *data, gsize len);
/* Sends one handshake message (type, body) and adds it to the transcript. */
void ms__tls_send_handshake(MsTls *tls, guint8 type, const GByteArray *body);
/* Moves the endpoint to ESTABLISHED and seals what was written before. */
void ms__tls_established(MsTls *tls);
/* n octets from the endpoint's seeded stream. */
void ms__tls_random(MsTls *tls, guint8 *out, gsize n);
/* The name of a handshake message type ("ServerHello"). */
const char *ms__tls_hs_name(guint8 type);

/* One extension a parser looks for: set type before the call; present and
 * body are filled in. */
typedef struct {
    guint16 type;
    gboolean present;
    MsTlsReader body;
} MsTlsExt;

/* Walks an extension block (RFC 8446 4.2) of the message `what`: fills in
 * the wanted ones; fails (and returns FALSE) on a truncated extension
 * (decode_error), a repeated one (illegal_parameter) or, unless unknown_ok,
 * one not wanted (unsupported_extension: a peer answering what we did not
 * offer). */
gboolean ms__tls_extensions(MsTls *tls, MsTlsReader block, MsTlsExt *want, guint n_want,
                            gboolean unknown_ok, const char *what);

/* ---------------------------------------------------------------- tls_keys.c */

void ms__tls_transcript_hash(const MsTls *tls, guint8 out[TLS_HASH_LEN]);
/* SHA-256(""), a constant of the key schedule. */
extern const guint8 ms__tls_empty_hash[TLS_HASH_LEN];
/* HKDF-Expand-Label(secret, label, context, len) (RFC 8446 7.1). */
void ms__tls_expand_label(const guint8 secret[TLS_HASH_LEN], const char *label,
                          const guint8 *context, gsize context_len, guint8 *out, gsize len);
/* From the X25519 shared secret and the transcript through ServerHello:
 * the handshake secret and both handshake traffic secrets (logged). */
void ms__tls_derive_handshake(MsTls *tls, const guint8 shared[32]);
/* shared may be NULL (psk_ke: zeros); the early secret uses tls->psk when
 * tls->resumed. */
/* The binder of a ClientHello (RFC 8446 4.2.11.2): HMAC under the
 * finished key of the resumption binder key, over the hash given. */
void ms__tls_binder(const guint8 psk[TLS_HASH_LEN], const guint8 hash[TLS_HASH_LEN],
                    guint8 out[TLS_HASH_LEN]);
/* resumption_master_secret from the transcript through the client's
 * Finished (RFC 8446 7.1) into tls->res_master. */
void ms__tls_derive_resumption(MsTls *tls);
/* From the transcript through the server's Finished: the master secret,
 * both application traffic secrets and the exporter secret (logged). */
void ms__tls_derive_application(MsTls *tls);
/* Installs a traffic secret as a direction's key and IV (RFC 8446 7.3),
 * sequence number zero. */
void ms__tls_set_cipher(MsTlsCipher *c, const guint8 secret[TLS_HASH_LEN]);
static inline void
ms__tls_set_read_key(MsTls *tls, const guint8 secret[TLS_HASH_LEN])
{
    ms__tls_set_cipher(&tls->rd, secret);
    tls->rd_generation++;
}
/* The next generation of a direction's secret (RFC 8446 7.2, KeyUpdate). */
void ms__tls_update_cipher(MsTlsCipher *c);
/* verify_data of a Finished message from a base key and the transcript so
 * far (RFC 8446 4.4.4). */
void ms__tls_finished_mac(const MsTls *tls, const guint8 base_key[TLS_HASH_LEN],
                          guint8 out[TLS_HASH_LEN]);
/* The octets a CertificateVerify signs (RFC 8446 4.4.3): 64 spaces, the
 * context string for the server, a zero, the transcript hash. */
GByteArray *ms__tls_cv_content(const MsTls *tls);

/* ---------------------------------------------------------------- tls_client.c */

/* The random of a HelloRetryRequest (RFC 8446 4.1.3). */
extern const guint8 ms__tls_hrr_random[32];
void ms__tls_client_start(MsTls *tls);
void ms__tls_client_handshake(MsTls *tls, guint8 type, const guint8 *msg, gsize len);

/* ---------------------------------------------------------------- tls_server.c */

void ms__tls_server_handshake(MsTls *tls, guint8 type, const guint8 *msg, gsize len);
/* Server: sends a NewSessionTicket (RFC 8446 4.6.1) when it has a key. */
void ms__tls_server_send_ticket(MsTls *tls);
/* Client: a NewSessionTicket after the handshake. */
void ms__tls_client_ticket(MsTls *tls, const guint8 *msg, gsize len);
