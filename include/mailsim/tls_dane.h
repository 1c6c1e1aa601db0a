/* DANE for SMTP (RFC 7672): does a server's certificate chain match the
 * TLSA records published for it? Sans-I/O: the mail layer looks the records
 * up (type 52 at "_25._tcp.<MX host>", RFC 7672 2.2.3), runs the handshake,
 * and hands both here; the verdict says whether the delivery may go ahead,
 * and why, in words the narration can use.
 *
 * What counts (RFC 7672 3.1): DANE-EE(3) records match the server's own
 * certificate, and then neither its names nor its dates are checked
 * (3.1.1); DANE-TA(2) records match a certificate of the chain above the
 * leaf, the chain must lead from the leaf to it, and the leaf must name the
 * server and be within its dates (3.1.2, 3.2). PKIX-TA(0) and PKIX-EE(1)
 * are unusable for SMTP (3.1.3), and so are unknown usages, selectors and
 * matching types, and digests of the wrong length (RFC 6698 2.1). Records
 * that exist but are all unusable still make TLS mandatory, without
 * authentication (RFC 7672 2.2). */
#pragma once

#include <glib.h>
#include "mailsim/dns_codec.h"
#include "mailsim/tls_pki.h"

G_BEGIN_DECLS

#define MS_TLS_DANE_ERROR (ms_tls_dane_error_quark())
GQuark ms_tls_dane_error_quark(void);

typedef enum {
    MS_TLS_DANE_ERROR_CERTIFICATE, /* the certificate does not parse */
    MS_TLS_DANE_ERROR_PARAMETER,   /* a selector or matching type we do not know */
} MsTlsDaneError;

/* TLSA parameters (RFC 7218 names). */
typedef enum {
    MS_TLS_DANE_PKIX_TA = 0,
    MS_TLS_DANE_PKIX_EE = 1,
    MS_TLS_DANE_DANE_TA = 2,
    MS_TLS_DANE_DANE_EE = 3,
} MsTlsDaneUsage;

typedef enum {
    MS_TLS_DANE_SEL_CERT = 0, /* the whole certificate, DER */
    MS_TLS_DANE_SEL_SPKI = 1, /* its SubjectPublicKeyInfo, DER */
} MsTlsDaneSelector;

typedef enum {
    MS_TLS_DANE_MATCH_FULL = 0,   /* the selected octets themselves */
    MS_TLS_DANE_MATCH_SHA256 = 1, /* their SHA2-256 */
    MS_TLS_DANE_MATCH_SHA512 = 2, /* their SHA2-512 */
} MsTlsDaneMatching;

typedef enum {
    MS_TLS_DANE_NONE = 0,      /* no TLSA record: DANE does not apply */
    MS_TLS_DANE_UNUSABLE,      /* records, none usable: TLS required, not authenticated */
    MS_TLS_DANE_AUTHENTICATED, /* a usable record matched */
    MS_TLS_DANE_FAILED,        /* usable records, none matched: do not deliver */
} MsTlsDaneResult;

/* The verdict for `chain` (DER, leaf first, as the server sent it; may be
 * empty) against the TLSA records among `records` (MsDnsRecord*; records of
 * other types, such as a CNAME in the same answer, are skipped).
 * `names` (NULL-terminated) are the names a DANE-TA(2) leaf may carry:
 * the MX host name, and per RFC 7672 3.2.2 the name it was reached by
 * when a CNAME led there. `now` (Unix seconds, the simulated clock) checks
 * the dates below a DANE-TA(2) anchor. When `matched` is not NULL it gets
 * the index in `records` of the record that authenticated, or -1.
 * Returns the result; *why (may be NULL; caller frees) says it in a
 * sentence: which record matched what, or why none did. */
MsTlsDaneResult ms_tls_dane_check(GBytes *const *chain, guint n_certs, const GPtrArray *records,
                                  const char *const *names, gint64 now, gint *matched, char **why);

/* The certificate association data of `cert_der` for a selector and
 * matching type (RFC 6698 2.1.2, 2.1.3): new bytes (caller unrefs), or
 * NULL with error set when the certificate does not parse or a parameter
 * is unknown. */
GBytes *ms_tls_dane_association(GBytes *cert_der, guint8 selector, guint8 matching_type,
                                GError **error);

/* The owner name of the TLSA records of a service: "_<port>._tcp.<host>"
 * (RFC 6698 3; SMTP uses port 25, RFC 7672 2.2.3). Caller frees. */
char *ms_tls_dane_owner(const char *host, guint16 port);

/* The TLSA record a server with these credentials publishes for `host` and
 * `port`: the usage, selector and matching type given, the association
 * data from the leaf (DANE-EE) or, for DANE-TA, from the last certificate
 * of the chain (the trust anchor, which the server must then send: see
 * ms_tls_pki_chain_add_ca). The common choice is 3 1 1 (RFC 7672 3.1.1).
 * Returns a new record (caller frees) or NULL with error set. */
MsDnsRecord *ms_tls_dane_record_new(const MsTlsCredentials *cred, const char *host, guint16 port,
                                    guint32 ttl, guint8 usage, guint8 selector,
                                    guint8 matching_type, GError **error);

/* A TLSA record's presentation form, "3 1 1 0c72ac70..." (RFC 6698 2.2),
 * for narration (caller frees). */
char *ms_tls_dane_tlsa_to_string(const MsDnsTlsa *tlsa);

/* Static names: "no TLSA records", "unusable", "authenticated", "failed". */
const char *ms_tls_dane_result_to_string(MsTlsDaneResult result);

G_END_DECLS
