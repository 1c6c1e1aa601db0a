/* The TLS 1.3 endpoint (RFC 8446) of simulated hosts: a sans-I/O state
 * machine like the SMTP and POP3 cores. It owns no socket and no clock: the
 * caller feeds it the octets that arrived from the peer (TLS records), sends
 * what ms_tls_take_output() returns, writes application plaintext with
 * ms_tls_write() and reads what the peer sent with ms_tls_take_plaintext().
 *
 * Every random value (client/server random, the X25519 key share, the
 * legacy session id) is drawn from the MsRng the caller gives, so the same
 * seed gives byte-identical records. The primitives come from nettle
 * (X25519, Ed25519, AES-128-GCM, SHA-256, HKDF); nothing cryptographic is
 * computed here by hand. What it speaks: TLS 1.3 only, cipher suite
 * TLS_AES_128_GCM_SHA256, group x25519 (HelloRetryRequest when a client
 * offers x25519 without a key share for it), signature scheme ed25519;
 * it ignores middlebox-compatibility ChangeCipherSpec records, refuses
 * renegotiation-like input with an alert. Session resumption (RFC 8446 2.2):
 * a server given a ticket key sends a NewSessionTicket after each handshake;
 * a client keeps the last one (ms_tls_take_session) and offers it in a later
 * ClientHello (pre_shared_key with its binder, psk_dhe_ke or psk_ke), which
 * skips the Certificate and CertificateVerify, and with psk_ke the X25519
 * exchange too. A ticket the server cannot open, for another name or past
 * its lifetime, gives a full handshake; a binder that does not verify,
 * decrypt_error.
 * Certificates are checked by the caller's verify function (see
 * tls_pki.h for the simulated PKI's). */
#pragma once

#include <glib.h>
#include "mailsim/rng.h"

G_BEGIN_DECLS

typedef struct _MsTls MsTls;
/* A client's cache of the Ed25519 keys read from server certificates,
 * keyed by the SHA-256 of the leaf's DER: a client that sees the same
 * certificate again skips the X.509 parse (the signature of each
 * handshake is still checked). Opaque; one per client host, shared by
 * its endpoints (not thread-safe). */
typedef struct _MsTlsKeyCache MsTlsKeyCache;
/* A client's resumption state (RFC 8446 2.2, 4.6.1): one ticket the server
 * sent, the PSK derived from it, its lifetime and age_add, the server name
 * it was issued for and the simulated time it arrived. Opaque. */
typedef struct _MsTlsSession MsTlsSession;

/* The key exchange a resuming client offers (RFC 8446 4.2.9). */
typedef enum {
    MS_TLS_PSK_DHE_KE = 0, /* psk_dhe_ke only, as OpenSSL and GnuTLS clients do */
    MS_TLS_PSK_KE,         /* psk_ke first, psk_dhe_ke as well; the ClientHello
                            * carries no key share (RFC 8446 4.2.8 allows an
                            * empty one), so no X25519 at all when the server
                            * takes psk_ke, and a HelloRetryRequest (one more
                            * round trip) when it wants a key exchange */
} MsTlsPskMode;

typedef enum {
    MS_TLS_CLIENT = 0,
    MS_TLS_SERVER,
} MsTlsRole;

typedef enum {
    MS_TLS_HANDSHAKING = 0, /* records flow; application data waits */
    MS_TLS_ESTABLISHED,     /* both Finished messages verified */
    MS_TLS_CLOSED,          /* close_notify sent and/or received */
    MS_TLS_FAILED,          /* a fatal alert was sent or received */
} MsTlsState;

/* The client's check of the server's certificate chain (DER, leaf first),
 * called once the server's CertificateVerify has been checked against the
 * leaf's key. Return TRUE to accept; FALSE with *why set (g_strdup'd, e.g.
 * "certificate is for mx.other.net, not mx.isp-b.net") fails the handshake
 * with a bad_certificate alert (or certificate_expired / unknown_ca, as
 * *alert says when set). NULL: every chain is accepted. */
typedef gboolean (*MsTlsVerifyFunc)(GBytes *const *chain, guint n_certs, const char *server_name,
                                    guint8 *alert, char **why, gpointer user_data);

/* One NSS key log line ("CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random hex>
 * <secret hex>", no newline), as SSLKEYLOGFILE holds them: tshark decrypts
 * the capture with them. */
typedef void (*MsTlsKeylogFunc)(const char *line, gpointer user_data);

typedef struct {
    MsTlsRole role;
    MsRng *rng;              /* borrowed; every random octet comes from here */
    const char *server_name; /* client: SNI sent and name given to verify;
                              * server: ignored (SNI received is readable below) */
    /* Server: its chain, DER, leaf first, and the leaf's Ed25519 private key
     * (the 32-octet seed of RFC 8032). */
    GBytes *const *cert_chain;
    guint n_certs;
    const guint8 *ed25519_seed;
    /* Server, optional (added later): the public key of that seed, as a
     * server keeps it with its key file; NULL: derived from the seed the
     * first time a handshake signs (a resumed one never does). */
    const guint8 *ed25519_pub;
    MsTlsVerifyFunc verify;   /* client */
    MsTlsKeylogFunc keylog;   /* optional */
    gpointer user_data;       /* passed to verify and keylog */
    /* Resumption (added later; zero/NULL: none). Server: a 16-octet
     * AES-128-GCM key under which it seals the NewSessionTicket it sends
     * after each handshake (NULL: no tickets). Client: resume offers that
     * session's ticket in the ClientHello (copied), psk_mode says how. now_ms:
     * the simulated time of the handshake, for ticket ages and lifetimes. */
    const guint8 *ticket_key;
    const MsTlsSession *resume;
    MsTlsPskMode psk_mode;
    guint64 now_ms;
    /* Client, optional (added later): borrowed, must outlive the endpoint. */
    MsTlsKeyCache *key_cache;
} MsTlsConfig;

/* A new endpoint; cfg is copied (the chain's GBytes are referenced, the key
 * copied). Caller frees with ms_tls_free. */
MsTls *ms_tls_new(const MsTlsConfig *cfg);
void ms_tls_free(MsTls *tls);

/* Client: queues the ClientHello. Server: nothing to do (it waits). Call once. */
void ms_tls_start(MsTls *tls);

/* Consumes len octets of records from the peer. Any split of the stream
 * gives the same result. Input after CLOSED or FAILED is ignored. */
void ms_tls_feed(MsTls *tls, const guint8 *data, gsize len);

/* The transport closed under the endpoint (the peer's FIN or a reset).
 * Without a close_notify received first this is a truncation (RFC 8446
 * 6.1): the endpoint becomes FAILED and ms_tls_error() says what was cut
 * off (a record half received, the handshake, or the data stream); no
 * alert is sent. After a close_notify, or once FAILED, it changes nothing.
 * (Added with the endpoint; not in the first contract.) */
void ms_tls_eof(MsTls *tls);

/* Queues application plaintext; it is sealed into records at once when
 * established, else kept until the handshake completes. */
void ms_tls_write(MsTls *tls, const guint8 *data, gsize len);

/* Sends close_notify (RFC 8446 6.1). */
void ms_tls_close(MsTls *tls);

/* Records to put on the wire so far, or NULL (caller owns the GBytes). */
GBytes *ms_tls_take_output(MsTls *tls);
/* Application plaintext received so far, or NULL (caller owns it). */
GBytes *ms_tls_take_plaintext(MsTls *tls);

MsTlsState ms_tls_state(const MsTls *tls);
/* Why the handshake failed or the alert received, e.g. "certificate
 * verification failed: ..." or "peer sent alert handshake_failure"; NULL
 * while not FAILED. */
const char *ms_tls_error(const MsTls *tls);
/* Server: the SNI the client sent, or NULL. */
const char *ms_tls_peer_server_name(const MsTls *tls);
/* The host name a ClientHello asks for in its server_name extension
 * (RFC 6066 3), read without a handshake: for a server that picks its
 * certificate before a TLS library takes the stream (the bridge). `msg` is
 * one whole handshake message, its 4-octet header included; a ClientHello
 * of TLS 1.2 (RFC 5246 7.4.1.2) has the same layout as one of 1.3. Returns
 * the name in lower case, or NULL when there is none or the message is
 * malformed (caller frees). */
char *ms_tls_client_hello_server_name(const guint8 *msg, gsize len);
/* "TLS_AES_128_GCM_SHA256" once established, else NULL. */
const char *ms_tls_cipher_suite(const MsTls *tls);
/* Octets of handshake records sent and received (for narration and the
 * cost the handshake adds). */
guint64 ms_tls_handshake_octets(const MsTls *tls);

/* TRUE once the server accepted the offered ticket (either role). */
gboolean ms_tls_resumed(const MsTls *tls);
/* The key exchange group once the ServerHello is through ("x25519"), or
 * NULL (not yet, or a psk_ke resumption, which has none). */
const char *ms_tls_group(const MsTls *tls);
/* TRUE when the handshake went through a HelloRetryRequest (sent by the
 * server, received by the client). */
gboolean ms_tls_retried(const MsTls *tls);
/* Client: the last ticket received so far as resumption state, or NULL
 * (caller frees). */
MsTlsSession *ms_tls_take_session(MsTls *tls);
MsTlsSession *ms_tls_session_copy(const MsTlsSession *s);
void ms_tls_session_free(MsTlsSession *s);
/* The server name the ticket was issued for (NULL when none was sent). */
const char *ms_tls_session_server_name(const MsTlsSession *s);
/* Whether the ticket is still within its lifetime at now_ms. */
gboolean ms_tls_session_valid(const MsTlsSession *s, guint64 now_ms);

MsTlsKeyCache *ms_tls_key_cache_new(void);
void ms_tls_key_cache_free(MsTlsKeyCache *cache);
/* Certificates parsed into the cache, and look-ups it answered. */
guint ms_tls_key_cache_size(const MsTlsKeyCache *cache);
guint64 ms_tls_key_cache_hits(const MsTlsKeyCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTls, ms_tls_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTlsKeyCache, ms_tls_key_cache_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTlsSession, ms_tls_session_free)

G_END_DECLS
