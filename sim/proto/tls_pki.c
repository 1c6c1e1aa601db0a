/* The simulated PKI (see include/mailsim/tls_pki.h). Role in the data flow:
 * the scenario loader makes one MsTlsPki per world and issues each TLS
 * server its credentials; the TLS endpoint sends the chain in its
 * Certificate message, and the client side hands what it received to
 * ms_tls_pki_verify(), whose verdict (alert and reason) the mail layer
 * narrates and acts on by policy.
 *
 * Design. Every key is an Ed25519 seed of 32 octets drawn from the caller's
 * MsRng (four draws, each written little-endian); the public half is
 * nettle's ed25519_sha512_public_key() and GnuTLS imports the pair as an
 * X.509 private key. Certificates are built and signed by GnuTLS's x509
 * API: version 3, a 16-octet positive serial from the rng, subject CN, and
 * the extensions a public CA's certificates carry:
 *   CA:   basicConstraints CA:TRUE (critical), keyUsage keyCertSign and
 *         cRLSign (critical), subjectKeyIdentifier.
 *   leaf: basicConstraints CA:FALSE, keyUsage digitalSignature (critical;
 *         an Ed25519 key only signs, RFC 8410 5), extendedKeyUsage
 *         serverAuth, subjectAltName dNSName (RFC 6125 6.4.4: clients use
 *         the SAN, not the CN), subject and authority key identifiers.
 * Ed25519 signatures are deterministic (RFC 8032 5.1.6) and nothing else in
 * a certificate is random except what the rng supplies, so the same seed
 * gives the same DER, which is what makes the simulated wire reproducible.
 *
 * Faults. WRONG_NAME is a good certificate for the host's neighbour: the
 * web server's name, "www." plus the parent domain of the server name
 * ("mail." when the server is itself "www.<...>", and "www.<name>" for a
 * name of one or two labels), which is the classic real misconfiguration
 * of a mail server sharing a certificate with a web site. SELF_SIGNED has
 * the right name and its own key as issuer. EXPIRED is CA-signed for the
 * right name but its validity ended a day before the PKI's notBefore (it
 * began 90 days before that), so it is expired at every simulated time.
 *
 * Verification is GnuTLS's chain check against a trust list holding only
 * this CA, with GnuTLS's own time checks disabled: the simulation's clock
 * is not the wall clock, so activation and expiration are compared here
 * against the simulated `now`, for every certificate of the chain and the
 * CA. Checks run in the order a real client reports them: trust (48
 * unknown_ca, or 42 bad_certificate for a bad signature or a certificate
 * that does not parse), then time (45 certificate_expired, which RFC 8446
 * 6.2 also uses for "not yet valid"), then the name (42 bad_certificate,
 * gnutls_x509_crt_check_hostname2, RFC 6125 rules). An empty chain is
 * RFC 8446 4.4.2.4's decode_error (50).
 *
 * Costs and cache. A first verification parses the chain and checks one
 * Ed25519 signature per certificate (some tens of microseconds). Its
 * outcome, apart from the time comparison, is kept in a hash table keyed by
 * the SHA-256 of the chain's DER and the server name, so a host that sees
 * the same server again pays a hash of a few hundred octets and a lookup.
 * The table is only looked up, never iterated, so its order cannot reach
 * output. It grows by one entry per distinct (chain, name) pair, which a
 * scenario bounds by its servers and names.
 *
 * Ownership: the MsTlsPki owns its CA key, certificate and cache;
 * credentials own their chain. Threading: an MsTlsPki is not thread-safe
 * (verify writes the cache); one per world. */
#include "mailsim/tls_pki.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/eddsa.h>
#include <string.h>

G_DEFINE_QUARK(ms - tls - pki - error - quark, ms_tls_pki_error)

#define DEFAULT_CA_NAME  "mailsim scenario CA"
#define SERIAL_LEN       16
#define KEY_ID_MAX       64
#define DAY              (24 * 3600)
#define EXPIRED_LIFETIME (90 * DAY)

/* RFC 8446 6.2 alert descriptions. */
#define ALERT_BAD_CERTIFICATE 42
#define ALERT_CERT_EXPIRED    45
#define ALERT_UNKNOWN_CA      48
#define ALERT_DECODE_ERROR    50

/* What the cache remembers of a (chain, name) check: everything but the
 * comparison with `now`, which is made on every call. */
typedef struct {
    guint8 trust_alert; /* 0 when the chain leads to the CA */
    char *trust_why;    /* the reason for trust_alert, or NULL */
    char *name_why;     /* NULL when the leaf names the server */
    /* The validity the chain and CA share (read only when trusted). */
    gint64 latest_activation, earliest_expiration;
    char *activation_subject, *expiration_subject; /* whose bounds those are */
} VerifyEntry;

struct _MsTlsPki {
    char *ca_name;
    gint64 not_before, not_after;
    gnutls_x509_privkey_t ca_key;
    gnutls_x509_crt_t ca_crt;
    GBytes *ca_der;
    GHashTable *cache; /* char *key -> VerifyEntry *, owned */
};

static void
verify_entry_free(gpointer p)
{
    VerifyEntry *e = p;
    g_free(e->trust_why);
    g_free(e->name_why);
    g_free(e->activation_subject);
    g_free(e->expiration_subject);
    g_free(e);
}

static gboolean
gnutls_failed(int ret, const char *what, GError **error)
{
    if (ret >= 0)
        return FALSE;
    g_set_error(error, MS_TLS_PKI_ERROR, MS_TLS_PKI_ERROR_GNUTLS, "%s: %s", what,
                gnutls_strerror(ret));
    return TRUE;
}

static void
rng_octets(MsRng *rng, guint8 *out, gsize n)
{
    for (gsize i = 0; i < n; i += 8) {
        guint64 v = ms_rng_next(rng);
        for (gsize k = 0; k < 8 && i + k < n; k++)
            out[i + k] = (guint8) (v >> (8 * k));
    }
}

/* An X.509 private key for an Ed25519 seed; the public key is nettle's. */
static gnutls_x509_privkey_t
key_from_seed(const guint8 seed[32], guint8 pub[ED25519_KEY_SIZE], GError **error)
{
    ed25519_sha512_public_key(pub, seed);
    gnutls_x509_privkey_t key = NULL;
    if (gnutls_failed(gnutls_x509_privkey_init(&key), "private key", error))
        return NULL;
    const gnutls_datum_t x = { pub, ED25519_KEY_SIZE };
    const gnutls_datum_t k = { (unsigned char *) seed, 32 };
    int ret = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k);
    if (gnutls_failed(ret, "importing an Ed25519 key", error)) {
        gnutls_x509_privkey_deinit(key);
        return NULL;
    }
    return key;
}

static GBytes *
crt_der(gnutls_x509_crt_t crt, GError **error)
{
    gnutls_datum_t d = { NULL, 0 };
    if (gnutls_failed(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d), "exporting DER",
                      error))
        return NULL;
    GBytes *b = g_bytes_new(d.data, d.size);
    gnutls_free(d.data);
    return b;
}

/* Fills the fields every certificate has: version, serial, subject CN,
 * validity, the key and its subject key identifier. */
static gboolean
crt_fill(gnutls_x509_crt_t crt, const char *cn, gnutls_x509_privkey_t key, gint64 not_before,
         gint64 not_after, MsRng *rng, GError **error)
{
    guint8 serial[SERIAL_LEN];
    rng_octets(rng, serial, sizeof serial);
    /* Positive (RFC 5280 4.1.2.2) and without a leading zero octet, so
     * the DER length is fixed. */
    serial[0] = (guint8) ((serial[0] & 0x7F) | 0x40);
    guint8 key_id[KEY_ID_MAX];
    size_t key_id_len = sizeof key_id;
    int ret = gnutls_x509_crt_set_version(crt, 3);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                            (unsigned) strlen(cn));
    if (ret >= 0)
        ret = gnutls_x509_crt_set_activation_time(crt, (time_t) not_before);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_expiration_time(crt, (time_t) not_after);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_key(crt, key);
    if (ret >= 0)
        ret = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_len);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_len);
    return !gnutls_failed(ret, "building a certificate", error);
}

static gboolean
crt_sign(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key,
         GError **error)
{
    /* Ed25519 hashes internally (RFC 8032); GnuTLS takes no digest. */
    return !gnutls_failed(gnutls_x509_crt_sign2(crt, issuer, issuer_key, GNUTLS_DIG_UNKNOWN, 0),
                          "signing a certificate", error);
}

MsTlsPki *
ms_tls_pki_new(const char *ca_name, MsRng *rng, gint64 not_before, gint64 not_after, GError **error)
{
    g_return_val_if_fail(rng != NULL, NULL);
    g_return_val_if_fail(not_before < not_after, NULL);
    g_autoptr(MsTlsPki) pki = g_new0(MsTlsPki, 1);
    pki->ca_name = g_strdup(ca_name ? ca_name : DEFAULT_CA_NAME);
    pki->not_before = not_before;
    pki->not_after = not_after;
    pki->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, verify_entry_free);
    guint8 seed[32], pub[ED25519_KEY_SIZE];
    rng_octets(rng, seed, sizeof seed);
    pki->ca_key = key_from_seed(seed, pub, error);
    if (!pki->ca_key)
        return NULL;
    if (gnutls_failed(gnutls_x509_crt_init(&pki->ca_crt), "CA certificate", error))
        return NULL;
    if (!crt_fill(pki->ca_crt, pki->ca_name, pki->ca_key, not_before, not_after, rng, error))
        return NULL;
    int ret = gnutls_x509_crt_set_basic_constraints(pki->ca_crt, 1, -1);
    if (ret >= 0)
        ret = gnutls_x509_crt_set_key_usage(pki->ca_crt,
                                            GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
    if (gnutls_failed(ret, "CA extensions", error))
        return NULL;
    if (!crt_sign(pki->ca_crt, pki->ca_crt, pki->ca_key, error))
        return NULL;
    pki->ca_der = crt_der(pki->ca_crt, error);
    if (!pki->ca_der)
        return NULL;
    /* GnuTLS matches issuers by the raw DN octets it keeps from an import;
     * a certificate built in memory has none, so the trust anchor is the
     * CA read back from its DER. */
    gnutls_x509_crt_deinit(pki->ca_crt);
    pki->ca_crt = NULL;
    gsize len;
    const guint8 *d = g_bytes_get_data(pki->ca_der, &len);
    const gnutls_datum_t datum = { (unsigned char *) d, (unsigned) len };
    int r = gnutls_x509_crt_init(&pki->ca_crt);
    if (r >= 0)
        r = gnutls_x509_crt_import(pki->ca_crt, &datum, GNUTLS_X509_FMT_DER);
    if (gnutls_failed(r, "reading the CA certificate back", error))
        return NULL;
    return g_steal_pointer(&pki);
}

void
ms_tls_pki_free(MsTlsPki *pki)
{
    if (!pki)
        return;
    if (pki->ca_crt)
        gnutls_x509_crt_deinit(pki->ca_crt);
    if (pki->ca_key)
        gnutls_x509_privkey_deinit(pki->ca_key);
    g_clear_pointer(&pki->ca_der, g_bytes_unref);
    g_clear_pointer(&pki->cache, g_hash_table_unref);
    g_free(pki->ca_name);
    g_free(pki);
}

/* The name a WRONG_NAME certificate is issued for (see the comment on
 * top). */
static char *
neighbour_name(const char *server_name)
{
    const char *dot = strchr(server_name, '.');
    gboolean www = g_ascii_strncasecmp(server_name, "www.", 4) == 0;
    if (dot && strchr(dot + 1, '.'))
        return g_strconcat(www ? "mail" : "www", dot, NULL);
    return g_strconcat(www ? "mail." : "www.", server_name, NULL);
}

MsTlsCredentials *
ms_tls_pki_issue(MsTlsPki *pki, const char *server_name, MsTlsCertFault fault, MsRng *rng,
                 GError **error)
{
    g_return_val_if_fail(pki != NULL && server_name != NULL && rng != NULL, NULL);
    gint64 not_before = pki->not_before, not_after = pki->not_after;
    if (fault == MS_TLS_CERT_EXPIRED) {
        not_after = pki->not_before - DAY;
        not_before = not_after - EXPIRED_LIFETIME;
    }
    return ms_tls_pki_issue_at(pki, server_name, fault, rng, not_before, not_after, error);
}

MsTlsCredentials *
ms_tls_pki_issue_at(MsTlsPki *pki, const char *server_name, MsTlsCertFault fault, MsRng *rng,
                    gint64 not_before, gint64 not_after, GError **error)
{
    g_return_val_if_fail(pki != NULL && server_name != NULL && rng != NULL, NULL);
    g_return_val_if_fail(fault >= MS_TLS_CERT_GOOD && fault <= MS_TLS_CERT_EXPIRED, NULL);
    g_return_val_if_fail(not_before < not_after, NULL);
    g_autofree char *name =
        fault == MS_TLS_CERT_WRONG_NAME ? neighbour_name(server_name) : g_strdup(server_name);
    g_autoptr(MsTlsCredentials) cred = g_new0(MsTlsCredentials, 1);
    rng_octets(rng, cred->ed25519_seed, sizeof cred->ed25519_seed);
    gnutls_x509_privkey_t key = key_from_seed(cred->ed25519_seed, cred->ed25519_pub, error);
    if (!key)
        return NULL;
    gnutls_x509_crt_t crt = NULL;
    GBytes *der = NULL;
    int ret = gnutls_x509_crt_init(&crt);
    if (!gnutls_failed(ret, "certificate", error) &&
        crt_fill(crt, name, key, not_before, not_after, rng, error)) {
        guint8 ca_id[KEY_ID_MAX];
        size_t ca_id_len = sizeof ca_id;
        gboolean self = fault == MS_TLS_CERT_SELF_SIGNED;
        ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                       (unsigned) strlen(name), GNUTLS_FSAN_SET);
        if (ret >= 0 && !self) {
            ret = gnutls_x509_crt_get_subject_key_id(pki->ca_crt, ca_id, &ca_id_len, NULL);
            if (ret >= 0)
                ret = gnutls_x509_crt_set_authority_key_id(crt, ca_id, ca_id_len);
        }
        if (!gnutls_failed(ret, "server certificate extensions", error) &&
            crt_sign(crt, self ? crt : pki->ca_crt, self ? key : pki->ca_key, error))
            der = crt_der(crt, error);
    }
    if (crt)
        gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    if (!der)
        return NULL;
    cred->chain = g_new0(GBytes *, 1);
    cred->chain[0] = der;
    cred->n_certs = 1;
    return g_steal_pointer(&cred);
}

void
ms_tls_credentials_free(MsTlsCredentials *cred)
{
    if (!cred)
        return;
    for (guint i = 0; i < cred->n_certs; i++)
        g_bytes_unref(cred->chain[i]);
    g_free(cred->chain);
    memset(cred->ed25519_seed, 0, sizeof cred->ed25519_seed);
    g_free(cred);
}

void
ms_tls_pki_chain_add_ca(const MsTlsPki *pki, MsTlsCredentials *cred)
{
    g_return_if_fail(pki != NULL && cred != NULL);
    if (cred->n_certs > 0 && g_bytes_equal(cred->chain[cred->n_certs - 1], pki->ca_der))
        return;
    cred->chain = g_renew(GBytes *, cred->chain, cred->n_certs + 1);
    cred->chain[cred->n_certs++] = g_bytes_ref(pki->ca_der);
}

/* ---------------------------------------------------------------- verify */

static char *
format_time(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S UTC")
              : g_strdup_printf("%" G_GINT64_FORMAT, t);
}

/* The names a certificate is for, as a reader would list them: its SAN
 * dNSNames joined by ", ", else its subject DN. */
static char *
crt_names(gnutls_x509_crt_t crt)
{
    GString *s = g_string_new(NULL);
    for (unsigned i = 0;; i++) {
        char buf[256];
        size_t len = sizeof buf - 1;
        unsigned critical;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, &critical);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_SAN_DNSNAME) {
            buf[MIN(len, sizeof buf - 1)] = '\0';
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", buf);
        } else if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER) {
            break;
        }
    }
    if (s->len == 0) {
        gnutls_datum_t dn = { NULL, 0 };
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
            g_string_append_len(s, (const char *) dn.data, dn.size);
            gnutls_free(dn.data);
        } else {
            g_string_append(s, "(no name)");
        }
    }
    return g_string_free(s, FALSE);
}

static char *
crt_dn(gnutls_x509_crt_t crt, gboolean issuer)
{
    gnutls_datum_t dn = { NULL, 0 };
    int ret =
        issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) : gnutls_x509_crt_get_dn3(crt, &dn, 0);
    if (ret < 0)
        return g_strdup("(unreadable)");
    char *s = g_strndup((const char *) dn.data, dn.size);
    gnutls_free(dn.data);
    return s;
}

static char *
cache_key(GBytes *const *chain, guint n_certs, const char *server_name)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    for (guint i = 0; i < n_certs; i++) {
        gsize len;
        const guint8 *d = g_bytes_get_data(chain[i], &len);
        guint8 len_be[4] = { (guint8) (len >> 24), (guint8) (len >> 16), (guint8) (len >> 8),
                             (guint8) len };
        g_checksum_update(sum, len_be, sizeof len_be);
        g_checksum_update(sum, d, (gssize) len);
    }
    g_autofree char *name = g_ascii_strdown(server_name, -1);
    return g_strconcat(g_checksum_get_string(sum), " ", name, NULL);
}

/* Why GnuTLS refused the chain, as an alert and a sentence. */
static void
explain_untrusted(MsTlsPki *pki, gnutls_x509_crt_t leaf, unsigned status, VerifyEntry *e)
{
    g_autofree char *names = crt_names(leaf);
    g_autofree char *issuer = crt_dn(leaf, TRUE);
    g_autofree char *subject = crt_dn(leaf, FALSE);
    gboolean self_issued = g_strcmp0(issuer, subject) == 0;
    if (status & (GNUTLS_CERT_SIGNATURE_FAILURE)) {
        e->trust_alert = ALERT_BAD_CERTIFICATE;
        e->trust_why =
            g_strdup_printf("certificate for %s has a signature that does not verify", names);
    } else if (self_issued) {
        e->trust_alert = ALERT_UNKNOWN_CA;
        e->trust_why =
            g_strdup_printf("certificate for %s is self-signed, not issued by the trusted CA"
                            " '%s'",
                            names, pki->ca_name);
    } else if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA)) {
        e->trust_alert = ALERT_UNKNOWN_CA;
        e->trust_why =
            g_strdup_printf("certificate for %s is issued by '%s', not by the trusted CA '%s'",
                            names, issuer, pki->ca_name);
    } else {
        gnutls_datum_t out = { NULL, 0 };
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
        e->trust_alert = ALERT_BAD_CERTIFICATE;
        e->trust_why = g_strdup_printf("certificate for %s is not trusted: %s", names,
                                       out.data ? (const char *) out.data : "(no reason given)");
        gnutls_free(out.data);
    }
}

/* Notes crt's validity into e's running bounds. */
static void
note_validity(VerifyEntry *e, gnutls_x509_crt_t crt)
{
    gint64 act = (gint64) gnutls_x509_crt_get_activation_time(crt);
    gint64 exp = (gint64) gnutls_x509_crt_get_expiration_time(crt);
    if (!e->activation_subject || act > e->latest_activation) {
        e->latest_activation = act;
        g_free(e->activation_subject);
        e->activation_subject = crt_names(crt);
    }
    if (!e->expiration_subject || exp < e->earliest_expiration) {
        e->earliest_expiration = exp;
        g_free(e->expiration_subject);
        e->expiration_subject = crt_names(crt);
    }
}

/* The first, uncached check of a chain for a name. */
static VerifyEntry *
verify_chain(MsTlsPki *pki, GBytes *const *chain, guint n_certs, const char *server_name)
{
    VerifyEntry *e = g_new0(VerifyEntry, 1);
    gnutls_x509_crt_t *crts = g_new0(gnutls_x509_crt_t, n_certs);
    guint parsed = 0;
    for (; parsed < n_certs; parsed++) {
        gsize len;
        const guint8 *d = g_bytes_get_data(chain[parsed], &len);
        const gnutls_datum_t datum = { (unsigned char *) d, (unsigned) len };
        if (len > G_MAXUINT || gnutls_x509_crt_init(&crts[parsed]) < 0) {
            e->trust_alert = ALERT_BAD_CERTIFICATE;
            e->trust_why =
                g_strdup_printf("certificate %u of the chain could not be read", parsed + 1);
            break;
        }
        int ret = gnutls_x509_crt_import(crts[parsed], &datum, GNUTLS_X509_FMT_DER);
        if (ret < 0) {
            e->trust_alert = ALERT_BAD_CERTIFICATE;
            e->trust_why = g_strdup_printf("certificate %u of the chain does not parse: %s",
                                           parsed + 1, gnutls_strerror(ret));
            gnutls_x509_crt_deinit(crts[parsed]);
            break;
        }
    }
    if (parsed == n_certs) {
        unsigned status = 0;
        /* The simulated clock is not the wall clock: times are checked
         * below against `now`. */
        unsigned flags =
            GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
        int ret =
            gnutls_x509_crt_list_verify(crts, n_certs, &pki->ca_crt, 1, NULL, 0, flags, &status);
        if (ret < 0) {
            e->trust_alert = ALERT_BAD_CERTIFICATE;
            e->trust_why =
                g_strdup_printf("the chain could not be checked: %s", gnutls_strerror(ret));
        } else if (status != 0) {
            explain_untrusted(pki, crts[0], status, e);
        } else {
            for (guint i = 0; i < n_certs; i++)
                note_validity(e, crts[i]);
            note_validity(e, pki->ca_crt);
            if (!gnutls_x509_crt_check_hostname2(crts[0], server_name, 0)) {
                g_autofree char *names = crt_names(crts[0]);
                e->name_why =
                    g_strdup_printf("certificate for %s does not name %s", names, server_name);
            }
        }
    }
    for (guint i = 0; i < parsed; i++)
        gnutls_x509_crt_deinit(crts[i]);
    g_free(crts);
    return e;
}

gboolean
ms_tls_pki_verify(MsTlsPki *pki, GBytes *const *chain, guint n_certs, const char *server_name,
                  gint64 now, guint8 *alert, char **why)
{
    g_return_val_if_fail(pki != NULL && server_name != NULL && alert != NULL && why != NULL, FALSE);
    g_return_val_if_fail(chain != NULL || n_certs == 0, FALSE);
    *why = NULL;
    *alert = 0;
    if (n_certs == 0) {
        /* RFC 8446 4.4.2.4: an empty server Certificate is a decode_error. */
        *alert = ALERT_DECODE_ERROR;
        *why = g_strdup_printf("%s sent no certificate", server_name);
        return FALSE;
    }
    g_autofree char *key = cache_key(chain, n_certs, server_name);
    VerifyEntry *e = g_hash_table_lookup(pki->cache, key);
    if (!e) {
        e = verify_chain(pki, chain, n_certs, server_name);
        g_hash_table_insert(pki->cache, g_steal_pointer(&key), e);
    }
    /* Trust first, then time, then the name (see the comment on top). */
    if (e->trust_alert != 0) {
        *alert = e->trust_alert;
        *why = g_strdup(e->trust_why);
        return FALSE;
    }
    if (now > e->earliest_expiration) {
        g_autofree char *at = format_time(e->earliest_expiration);
        g_autofree char *t = format_time(now);
        *alert = ALERT_CERT_EXPIRED;
        *why = g_strdup_printf("certificate for %s expired at %s (it is now %s)",
                               e->expiration_subject, at, t);
        return FALSE;
    }
    if (now < e->latest_activation) {
        g_autofree char *at = format_time(e->latest_activation);
        g_autofree char *t = format_time(now);
        *alert = ALERT_CERT_EXPIRED;
        *why = g_strdup_printf("certificate for %s is not valid before %s (it is now %s)",
                               e->activation_subject, at, t);
        return FALSE;
    }
    if (e->name_why) {
        *alert = ALERT_BAD_CERTIFICATE;
        *why = g_strdup(e->name_why);
        return FALSE;
    }
    return TRUE;
}

guint
ms_tls_pki_cache_size(const MsTlsPki *pki)
{
    g_return_val_if_fail(pki != NULL, 0);
    return g_hash_table_size(pki->cache);
}

/* ---------------------------------------------------------------- export */

GBytes *
ms_tls_pki_ca_der(const MsTlsPki *pki)
{
    g_return_val_if_fail(pki != NULL, NULL);
    return g_bytes_ref(pki->ca_der);
}

char *
ms_tls_cert_pem(GBytes *der)
{
    g_return_val_if_fail(der != NULL, NULL);
    gsize len;
    const guint8 *d = g_bytes_get_data(der, &len);
    const gnutls_datum_t in = { (unsigned char *) d, (unsigned) len };
    gnutls_datum_t out = { NULL, 0 };
    if (gnutls_pem_base64_encode2("CERTIFICATE", &in, &out) < 0)
        return NULL;
    char *s = g_strndup((const char *) out.data, out.size);
    gnutls_free(out.data);
    return s;
}

char *
ms_tls_pki_ca_pem(const MsTlsPki *pki)
{
    g_return_val_if_fail(pki != NULL, NULL);
    return ms_tls_cert_pem(pki->ca_der);
}

char *
ms_tls_credentials_key_pem(const MsTlsCredentials *cred, GError **error)
{
    g_return_val_if_fail(cred != NULL, NULL);
    guint8 pub[ED25519_KEY_SIZE];
    gnutls_x509_privkey_t key = key_from_seed(cred->ed25519_seed, pub, error);
    if (!key)
        return NULL;
    gnutls_datum_t out = { NULL, 0 };
    int ret =
        gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out);
    gnutls_x509_privkey_deinit(key);
    if (gnutls_failed(ret, "exporting the key", error))
        return NULL;
    char *s = g_strndup((const char *) out.data, out.size);
    gnutls_free(out.data);
    return s;
}
