/* The bridge's TLS credentials: the certificate and key its listeners
 * present, loaded from the files given (--tls-cert, --tls-key) or made at
 * start, and the protocol floor every GTlsConnection of the process gets.
 * The handshakes themselves run in bridge_conn.c through GIO.
 *
 * Design. GIO's TLS backend (glib-networking, GnuTLS inside) takes its
 * GnuTLS priority string from the environment variable
 * G_TLS_GNUTLS_PRIORITY, read once, when the first TLS connection is made;
 * GIO 2.74 has no call to set a minimum protocol version. So before the
 * backend is touched the bridge sets that variable to TLS 1.3 and 1.2 only
 * (RFC 8996 deprecates 1.0 and 1.1; RFC 8314 4.1 asks for 1.2 or later).
 * A variable the user set already is respected, and bridge_conn.c checks
 * each session's version after its handshake anyway, so nothing older than
 * 1.2 carries a byte of mail.
 *
 * The generated certificate: an ECDSA P-256 key (every client we test
 * with, and every TLS 1.2 stack of the last decade, accepts it; making it
 * takes about a millisecond, an RSA key a hundred or more) and a
 * self-signed X.509 v3 certificate valid from an hour ago for one year, its
 * names the bridged servers' host names, "localhost", 127.0.0.1 and ::1 in
 * subjectAltName (RFC 6125: what clients check). It is marked CA:TRUE with
 * keyCertSign, as `openssl req -x509` makes them, so that a client told to
 * trust the file accepts it as its own anchor. The key and certificate are
 * written with mode 0600 into the spool directory, where a later bridge
 * reuses them (clients that trusted them keep working), or else into a new
 * temporary directory removed at exit. All key and certificate work is
 * GnuTLS's; nothing here is cryptography by hand.
 *
 * SNI (RFC 6066 3): with that generated certificate the bridge also
 * issues, at each start, a certificate per simulated server it fronts (the
 * SMTP, POP3 and IMAP servers' host names): subject CN and
 * subjectAltName that one name, an ECDSA P-256 key of its own, CA:FALSE,
 * signed by the self-signed certificate, which a client already trusts
 * through the printed file. A client that names one of them in its
 * server_name gets that certificate (bridge_tls_guard.c picks it), others
 * the self-signed one. A certificate given with --tls-cert serves every
 * name: the bridge has no CA key to issue more.
 *
 * Ownership: the MsBridge holds the GTlsCertificates and the paths; costs:
 * one key generation and one signature at start, and one more of each per
 * fronted host name with a generated certificate. */
#include "bridge-private.h"

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <time.h>

#define TLS_PRIORITY  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define CERT_FILE     "tls-cert.pem"
#define KEY_FILE      "tls-key.pem"
#define VALID_SECONDS (365 * 24 * 3600)

static gboolean
gnutls_ok(int rc, const char *what, GError **error)
{
    if (rc >= 0)
        return TRUE;
    g_set_error(error, MS_BRIDGE_ERROR, 0, "TLS certificate: %s: %s", what, gnutls_strerror(rc));
    return FALSE;
}

static void
add_name(GPtrArray *names, const char *n)
{
    for (guint i = 0; i < names->len; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(names, i), n) == 0)
            return;
    g_ptr_array_add(names, g_strdup(n));
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

/* Frees an exported datum, wiping it first (it may hold the key). */
static void
datum_clear(gnutls_datum_t *d)
{
    if (d->data) {
        gnutls_memset(d->data, 0, d->size);
        gnutls_free(d->data);
    }
    d->data = NULL;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(gnutls_datum_t, datum_clear)

/* The fields every certificate of the bridge has: version 3, a random
 * serial, valid from an hour ago to not_after, O=org and CN=cn, its key.
 * A GnuTLS error code, or >= 0. */
static int
fill_subject(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *org, const char *cn,
             time_t not_after)
{
    guint8 serial[16];
    /* RFC 5280 4.1.2.2: a positive serial of at most 20 octets. */
    int rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
    serial[0] = (guint8) ((serial[0] & 0x7f) | 0x40);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_version(crt, 3);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_activation_time(crt, time(NULL) - 3600);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_expiration_time(crt, not_after);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
                                           (unsigned) strlen(org));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                           (unsigned) strlen(cn));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key(crt, key);
    return rc;
}

/* The certificate's fields and extensions (see the top comment), signed
 * by its own key. A GnuTLS error code, or 0. */
static int
fill_certificate(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, GPtrArray *names)
{
    static const char org[] = "mailsim bridge (self-signed)";
    static const guint8 v4[4] = { 127, 0, 0, 1 };
    static const guint8 v6[16] = { [15] = 1 };
    guint8 kid[64];
    size_t kid_len = sizeof kid;
    int rc = fill_subject(crt, key, org, g_ptr_array_index(names, 0), time(NULL) + VALID_SECONDS);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_usage(crt,
                                           GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
    for (guint i = 0; rc >= 0 && i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, n, (unsigned) strlen(n),
                                                  GNUTLS_FSAN_APPEND);
    }
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, sizeof v4,
                                                  GNUTLS_FSAN_APPEND);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, sizeof v6,
                                                  GNUTLS_FSAN_APPEND);
    if (rc >= 0)
        rc = gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    return rc < 0 ? rc : 0;
}

/* A certificate for one host name, issued by ca (whose key is ca_key),
 * with a new key: PEM of the leaf then the issuer, then the key, as
 * g_tls_certificate_new_from_pem() reads a chain (caller frees). */
static gboolean
issue_leaf(gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, const char *name, char **pem,
           GError **error)
{
    static const char org[] = "mailsim bridge";
    g_auto(gnutls_x509_privkey_t) key = NULL;
    g_auto(gnutls_x509_crt_t) crt = NULL;
    g_auto(gnutls_datum_t) cd = { NULL, 0 };
    g_auto(gnutls_datum_t) ad = { NULL, 0 };
    g_auto(gnutls_datum_t) kd = { NULL, 0 };
    guint8 kid[64], akid[64];
    size_t kid_len = sizeof kid, akid_len = sizeof akid;
    int rc = gnutls_x509_privkey_init(&key);
    if (rc >= 0)
        rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                          GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_init(&crt);
    if (rc >= 0) /* not past the issuer's own end */
        rc = fill_subject(crt, key, org, name,
                          MIN(time(NULL) + VALID_SECONDS, gnutls_x509_crt_get_expiration_time(ca)));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                  (unsigned) strlen(name), GNUTLS_FSAN_APPEND);
    if (rc >= 0)
        rc = gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_get_subject_key_id(ca, akid, &akid_len, NULL);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_authority_key_id(crt, akid, akid_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd);
    if (rc >= 0)
        rc = gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &ad);
    if (rc >= 0)
        rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                               &kd);
    if (rc < 0) {
        g_autofree char *what = g_strdup_printf("issuing a certificate for %s", name);
        return gnutls_ok(rc, what, error);
    }
    *pem = g_strdup_printf("%.*s%.*s%.*s", (int) cd.size, (const char *) cd.data, (int) ad.size,
                           (const char *) ad.data, (int) kd.size, (const char *) kd.data);
    return TRUE;
}

/* The SNI table: a certificate per fronted host name, issued by the
 * certificate in cert_pem with the key in key_pem. */
static gboolean
issue_per_name(MsBridge *b, GPtrArray *names, const char *cert_pem, const char *key_pem,
               GError **error)
{
    g_auto(gnutls_x509_privkey_t) ca_key = NULL;
    g_auto(gnutls_x509_crt_t) ca = NULL;
    gnutls_datum_t cd = { (unsigned char *) cert_pem, (unsigned) strlen(cert_pem) };
    gnutls_datum_t kd = { (unsigned char *) key_pem, (unsigned) strlen(key_pem) };
    if (!gnutls_ok(gnutls_x509_crt_init(&ca), "certificate", error) ||
        !gnutls_ok(gnutls_x509_crt_import(ca, &cd, GNUTLS_X509_FMT_PEM), "reading it", error) ||
        !gnutls_ok(gnutls_x509_privkey_init(&ca_key), "key", error) ||
        !gnutls_ok(gnutls_x509_privkey_import2(ca_key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0),
                   "reading the key", error))
        return FALSE;
    b->tls_certs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        if (g_ascii_strcasecmp(n, "localhost") == 0)
            continue;
        g_autofree char *pem = NULL;
        if (!issue_leaf(ca, ca_key, n, &pem, error))
            return FALSE;
        GTlsCertificate *cert = g_tls_certificate_new_from_pem(pem, -1, error);
        memset(pem, 0, strlen(pem));
        if (!cert) {
            g_prefix_error(error, "TLS certificate for %s: ", n);
            return FALSE;
        }
        g_hash_table_insert(b->tls_certs, g_ascii_strdown(n, -1), cert);
    }
    return TRUE;
}

/* Makes a key and a self-signed certificate for `names` (the first is the
 * subject's CN); returns both as PEM in *cert_pem and *key_pem (caller
 * frees). */
static gboolean
generate(GPtrArray *names, char **cert_pem, char **key_pem, GError **error)
{
    g_auto(gnutls_x509_privkey_t) key = NULL;
    g_auto(gnutls_x509_crt_t) crt = NULL;
    g_auto(gnutls_datum_t) cd = { NULL, 0 };
    g_auto(gnutls_datum_t) kd = { NULL, 0 };
    if (!gnutls_ok(gnutls_x509_privkey_init(&key), "key", error) ||
        !gnutls_ok(gnutls_x509_privkey_generate(
                       key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                   "generating an ECDSA P-256 key", error) ||
        !gnutls_ok(gnutls_x509_crt_init(&crt), "certificate", error) ||
        !gnutls_ok(fill_certificate(crt, key, names), "building the self-signed certificate",
                   error) ||
        !gnutls_ok(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd), "export", error) ||
        !gnutls_ok(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
                                                     GNUTLS_PKCS_PLAIN, &kd),
                   "key export", error))
        return FALSE;
    *cert_pem = g_strndup((const char *) cd.data, cd.size);
    *key_pem = g_strndup((const char *) kd.data, kd.size);
    return TRUE;
}

/* Writes `text` to `path` with mode 0600 (a key must not be readable by
 * others even for a moment: the file is created with that mode). */
static gboolean
write_private(const char *path, const char *text, GError **error)
{
    return g_file_set_contents_full(
        path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

static gboolean
load(MsBridge *b, const char *cert, const char *key, GError **error)
{
    GError *e = NULL;
    b->tls_cert = g_tls_certificate_new_from_files(cert, key ? key : cert, &e);
    if (!b->tls_cert) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "TLS certificate %s%s%s: %s", cert,
                    key ? ", key " : "", key ? key : "", e->message);
        g_error_free(e);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms__bridge_tls_setup(MsBridge *b, GError **error)
{
    /* Before the backend is loaded: see the comment at the top. */
    if (!g_getenv("G_TLS_GNUTLS_PRIORITY"))
        g_setenv("G_TLS_GNUTLS_PRIORITY", TLS_PRIORITY, TRUE);
    if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
        g_set_error(error, MS_BRIDGE_ERROR, 0,
                    "GIO has no TLS backend (install glib-networking; tools/deps.sh does)");
        return FALSE;
    }
    if (b->cfg.tls_cert) {
        if (!load(b, b->cfg.tls_cert, b->cfg.tls_key, error))
            return FALSE;
        b->tls_cert_path = g_strdup(b->cfg.tls_cert);
    } else {
        const char *dir = b->cfg.spool_dir;
        if (!dir) {
            b->tls_tmpdir = g_dir_make_tmp("mailsim-bridge-XXXXXX", error);
            if (!b->tls_tmpdir) {
                g_prefix_error(error, "TLS certificate: ");
                return FALSE;
            }
            dir = b->tls_tmpdir;
        }
        g_autofree char *cp = g_build_filename(dir, CERT_FILE, NULL);
        g_autofree char *kp = g_build_filename(dir, KEY_FILE, NULL);
        /* A spool keeps the certificate of an earlier run. */
        g_autoptr(GError) old = NULL;
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        add_name(names, ms_mail_server_hostname(b->mail, b->smtp_server));
        add_name(names, ms_mail_server_hostname(b->mail, b->pop3_server));
        add_name(names, ms_mail_server_hostname(b->mail, b->imap_server));
        add_name(names, "localhost");
        g_autofree char *cert_pem = NULL, *key_pem = NULL;
        b->tls_cert = b->tls_tmpdir ? NULL : g_tls_certificate_new_from_files(cp, kp, &old);
        if (b->tls_cert && (!g_file_get_contents(cp, &cert_pem, NULL, error) ||
                            !g_file_get_contents(kp, &key_pem, NULL, error))) {
            g_prefix_error(error, "TLS certificate: ");
            return FALSE;
        }
        if (!b->tls_cert) {
            if (!generate(names, &cert_pem, &key_pem, error))
                return FALSE;
            if (!write_private(kp, key_pem, error) || !write_private(cp, cert_pem, error)) {
                g_prefix_error(error, "TLS certificate: ");
                memset(key_pem, 0, strlen(key_pem));
                return FALSE;
            }
            if (!load(b, cp, kp, error)) {
                memset(key_pem, 0, strlen(key_pem));
                return FALSE;
            }
            b->tls_generated = TRUE;
        }
        gboolean issued = issue_per_name(b, names, cert_pem, key_pem, error);
        memset(key_pem, 0, strlen(key_pem));
        if (!issued)
            return FALSE;
        b->tls_cert_path = g_steal_pointer(&cp);
        b->tls_key_path = g_steal_pointer(&kp);
    }
    g_autoptr(GByteArray) der = NULL;
    g_object_get(b->tls_cert, "certificate", &der, NULL);
    g_autofree char *hex =
        der ? g_compute_checksum_for_data(G_CHECKSUM_SHA256, der->data, der->len) : NULL;
    GString *fp = g_string_new(NULL);
    for (gsize i = 0; hex && hex[i]; i += 2)
        g_string_append_printf(fp, "%s%c%c", i ? ":" : "", g_ascii_toupper(hex[i]),
                               g_ascii_toupper(hex[i + 1]));
    b->tls_fingerprint = g_string_free(fp, FALSE);
    return TRUE;
}

void
ms__bridge_tls_clear(MsBridge *b)
{
    g_clear_object(&b->tls_cert);
    g_clear_pointer(&b->tls_certs, g_hash_table_unref);
    if (b->tls_tmpdir) {
        /* Only the two files this bridge wrote, then the directory. */
        if (b->tls_cert_path)
            g_unlink(b->tls_cert_path);
        if (b->tls_key_path)
            g_unlink(b->tls_key_path);
        g_rmdir(b->tls_tmpdir);
    }
    g_clear_pointer(&b->tls_tmpdir, g_free);
    g_clear_pointer(&b->tls_cert_path, g_free);
    g_clear_pointer(&b->tls_key_path, g_free);
    g_clear_pointer(&b->tls_fingerprint, g_free);
}

const char *
ms_bridge_tls_cert_path(const MsBridge *b, gboolean *generated)
{
    if (generated)
        *generated = b->tls_generated;
    return b->tls_cert_path;
}

const char *
ms_bridge_tls_fingerprint(const MsBridge *b)
{
    return b->tls_fingerprint;
}
