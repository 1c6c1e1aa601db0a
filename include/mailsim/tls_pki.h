/* The simulated public-key infrastructure: one certificate authority per
 * scenario, a certificate per server name, and the client-side check of a
 * chain against that authority at a simulated time. Keys are Ed25519 seeds
 * drawn from the caller's seeded stream and signatures are Ed25519
 * (deterministic), so the same seed gives byte-identical certificates.
 * X.509 encoding, signing and chain verification are GnuTLS's (x509 API);
 * nothing here encodes DER or signs by hand. Faults make the certificates a
 * real misconfigured server would present: issued for another name,
 * self-signed, or expired. */
#pragma once

#include <glib.h>
#include "mailsim/rng.h"

G_BEGIN_DECLS

typedef struct _MsTlsPki MsTlsPki;

#define MS_TLS_PKI_ERROR (ms_tls_pki_error_quark())
GQuark ms_tls_pki_error_quark(void);

typedef enum {
    MS_TLS_PKI_ERROR_GNUTLS, /* GnuTLS refused to build, sign or export */
} MsTlsPkiError;

typedef enum {
    MS_TLS_CERT_GOOD = 0,
    MS_TLS_CERT_WRONG_NAME,  /* issued by the CA for another name */
    MS_TLS_CERT_SELF_SIGNED, /* right name, signed by its own key */
    MS_TLS_CERT_EXPIRED,     /* right name, CA-signed, notAfter in the past */
} MsTlsCertFault;

/* What a server presents: its chain (DER, leaf first; the CA is not sent)
 * and its leaf key's Ed25519 seed, with the public key derived from it
 * once (MsTlsConfig.ed25519_pub), as a server keeps its key pair loaded. */
typedef struct {
    GBytes **chain;
    guint n_certs;
    guint8 ed25519_seed[32];
    guint8 ed25519_pub[32];
} MsTlsCredentials;

/* A CA named ca_name ("mailsim scenario CA" when NULL), valid from
 * not_before to not_after (Unix seconds; the simulation's epoch maps onto
 * them). Its key comes from rng. Returns NULL and sets error on a GnuTLS
 * failure. */
MsTlsPki *ms_tls_pki_new(const char *ca_name, MsRng *rng, gint64 not_before, gint64 not_after,
                         GError **error);
void ms_tls_pki_free(MsTlsPki *pki);

/* Issues credentials for server_name (a DNS name, in subjectAltName), the
 * key from rng, with the fault asked for. Returns NULL and sets error on a
 * GnuTLS failure. */
MsTlsCredentials *ms_tls_pki_issue(MsTlsPki *pki, const char *server_name, MsTlsCertFault fault,
                                   MsRng *rng, GError **error);
/* The same with the validity given (Unix seconds, not_before <
 * not_after), for a certificate that expires or starts during a run.
 * ms_tls_pki_issue() uses the CA's validity, or for MS_TLS_CERT_EXPIRED
 * the 90 days that end one day before the CA's not_before. */
MsTlsCredentials *ms_tls_pki_issue_at(MsTlsPki *pki, const char *server_name, MsTlsCertFault fault,
                                      MsRng *rng, gint64 not_before, gint64 not_after,
                                      GError **error);
void ms_tls_credentials_free(MsTlsCredentials *cred);

/* Appends the CA certificate to cred's chain (leaf, CA), as a server does
 * whose TLSA record names the CA (DANE-TA(2), RFC 7672 3.1.2 asks the
 * server to send the anchor). A chain that already ends with it is left
 * as it is. */
void ms_tls_pki_chain_add_ca(const MsTlsPki *pki, MsTlsCredentials *cred);

/* The credentials' private key as PKCS#8 PEM, for a real TLS library
 * (GnuTLS, OpenSSL) playing the server in tests, or the bridge. Returns a
 * new string (caller frees), or NULL with error set. */
char *ms_tls_credentials_key_pem(const MsTlsCredentials *cred, GError **error);

/* Checks a chain received for server_name at Unix time now: signed by this
 * CA, the name matching, within its validity. On failure returns FALSE,
 * sets *why (g_strdup'd, e.g. "certificate for mx.example.net does not
 * name mx.isp-b.net") and *alert (RFC 8446 6.2: 42 bad_certificate for a
 * wrong name, a bad signature or unreadable DER, 45 certificate_expired
 * also for "not yet valid", 48 unknown_ca for a self-signed or foreign
 * chain, 50 decode_error for an empty chain, RFC 8446 4.4.2.4); on
 * success *why is NULL and *alert 0. Results apart from the time check
 * are cached per chain and name, so a host seeing the same server again
 * pays a SHA-256 of the chain and a lookup. */
gboolean ms_tls_pki_verify(MsTlsPki *pki, GBytes *const *chain, guint n_certs,
                           const char *server_name, gint64 now, guint8 *alert, char **why);

/* The CA certificate, DER and PEM (for a user who wants to trust it in a
 * real client, and for tests). The DER is a new reference (caller unrefs),
 * the PEM a new string (caller frees). */
GBytes *ms_tls_pki_ca_der(const MsTlsPki *pki);
char *ms_tls_pki_ca_pem(const MsTlsPki *pki);

/* Any certificate's DER as PEM (caller frees), or NULL when GnuTLS cannot
 * encode it. */
char *ms_tls_cert_pem(GBytes *der);

/* How many (chain, name) verdicts the cache holds (for tests and
 * statistics). */
guint ms_tls_pki_cache_size(const MsTlsPki *pki);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTlsPki, ms_tls_pki_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTlsCredentials, ms_tls_credentials_free)

G_END_DECLS
