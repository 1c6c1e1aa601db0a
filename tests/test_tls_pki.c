/* Tests of the simulated PKI (sim/proto/tls_pki.c). Our own verifier is
 * checked for each fault's alert (RFC 8446 6.2) and reason, for the time
 * boundaries (one second either side of notBefore and notAfter, against the
 * simulated clock, not the wall clock), for damaged input and for its cache.
 * The same seed must give byte-identical DER. Independently, OpenSSL judges
 * the same certificates: `openssl verify` with the CA as the only trust
 * anchor, the server name and a chosen time (-attime) accepts the good one
 * and refuses each fault with the error a real client would report, and
 * `openssl x509 -text` shows the extensions the header promises; the key
 * exported for real TLS libraries matches the certificate's public key. */
#include "testlib.h"
#include "mailsim/tls_pki.h"

#include <glib/gstdio.h>
#include <string.h>

#define NAME       "mx.isp-b.net"
#define NOT_BEFORE G_GINT64_CONSTANT(1767225600) /* 2026-01-01 00:00:00 UTC */
#define NOT_AFTER  G_GINT64_CONSTANT(1798761599) /* 2026-12-31 23:59:59 UTC */
#define NOW        G_GINT64_CONSTANT(1781000000) /* mid 2026 */

static MsTlsPki *
pki_new_seeded(guint64 seed, MsRng *rng)
{
    ms_rng_init_named(rng, seed, "pki");
    g_autoptr(GError) error = NULL;
    MsTlsPki *pki = ms_tls_pki_new(NULL, rng, NOT_BEFORE, NOT_AFTER, &error);
    g_assert_no_error(error);
    g_assert_nonnull(pki);
    return pki;
}

static MsTlsCredentials *
issue(MsTlsPki *pki, MsRng *rng, const char *name, MsTlsCertFault fault)
{
    g_autoptr(GError) error = NULL;
    MsTlsCredentials *cred = ms_tls_pki_issue(pki, name, fault, rng, &error);
    g_assert_no_error(error);
    g_assert_nonnull(cred);
    CU_ASSERT_EQUAL(cred->n_certs, 1);
    return cred;
}

static gboolean
verify(MsTlsPki *pki, const MsTlsCredentials *cred, const char *name, gint64 now, guint8 *alert,
       char **why)
{
    return ms_tls_pki_verify(pki, cred->chain, cred->n_certs, name, now, alert, why);
}

static void
test_deterministic(void)
{
    MsRng r1, r2, r3;
    g_autoptr(MsTlsPki) a = pki_new_seeded(7, &r1);
    g_autoptr(MsTlsPki) b = pki_new_seeded(7, &r2);
    g_autoptr(MsTlsPki) c = pki_new_seeded(8, &r3);
    g_autoptr(GBytes) ca_a = ms_tls_pki_ca_der(a);
    g_autoptr(GBytes) ca_b = ms_tls_pki_ca_der(b);
    g_autoptr(GBytes) ca_c = ms_tls_pki_ca_der(c);
    CU_ASSERT_TRUE(g_bytes_equal(ca_a, ca_b));
    CU_ASSERT_FALSE(g_bytes_equal(ca_a, ca_c));
    for (int f = MS_TLS_CERT_GOOD; f <= MS_TLS_CERT_EXPIRED; f++) {
        g_autoptr(MsTlsCredentials) x = issue(a, &r1, NAME, (MsTlsCertFault) f);
        g_autoptr(MsTlsCredentials) y = issue(b, &r2, NAME, (MsTlsCertFault) f);
        g_autoptr(MsTlsCredentials) z = issue(c, &r3, NAME, (MsTlsCertFault) f);
        CU_ASSERT_TRUE(g_bytes_equal(x->chain[0], y->chain[0]));
        CU_ASSERT_EQUAL(memcmp(x->ed25519_seed, y->ed25519_seed, 32), 0);
        CU_ASSERT_FALSE(g_bytes_equal(x->chain[0], z->chain[0]));
    }
    /* The same seed also re-signs to the same octets (Ed25519 is
     * deterministic): a second CA from a fresh stream of seed 7. */
    MsRng r4;
    g_autoptr(MsTlsPki) d = pki_new_seeded(7, &r4);
    g_autoptr(GBytes) ca_d = ms_tls_pki_ca_der(d);
    CU_ASSERT_TRUE(g_bytes_equal(ca_a, ca_d));
}

static void
test_good_and_cache(void)
{
    MsRng rng;
    g_autoptr(MsTlsPki) pki = pki_new_seeded(1, &rng);
    g_autoptr(MsTlsCredentials) cred = issue(pki, &rng, NAME, MS_TLS_CERT_GOOD);
    guint8 alert = 99;
    char *why = (char *) "untouched";
    CU_ASSERT_TRUE(verify(pki, cred, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 0);
    CU_ASSERT_PTR_NULL(why);
    CU_ASSERT_EQUAL(ms_tls_pki_cache_size(pki), 1);
    /* A repeat is answered from the cache, whatever the case of the name. */
    CU_ASSERT_TRUE(verify(pki, cred, "MX.ISP-B.NET", NOW, &alert, &why));
    CU_ASSERT_TRUE(verify(pki, cred, NAME, NOW + 1, &alert, &why));
    CU_ASSERT_EQUAL(ms_tls_pki_cache_size(pki), 1);
    /* The validity boundaries, inclusive, against the simulated clock. */
    CU_ASSERT_TRUE(verify(pki, cred, NAME, NOT_BEFORE, &alert, &why));
    CU_ASSERT_TRUE(verify(pki, cred, NAME, NOT_AFTER, &alert, &why));
    CU_ASSERT_FALSE(verify(pki, cred, NAME, NOT_AFTER + 1, &alert, &why));
    CU_ASSERT_EQUAL(alert, 45);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "expired at 2026-12-31 23:59:59 UTC"));
    g_free(why);
    CU_ASSERT_FALSE(verify(pki, cred, NAME, NOT_BEFORE - 1, &alert, &why));
    CU_ASSERT_EQUAL(alert, 45);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "not valid before 2026-01-01 00:00:00 UTC"));
    g_free(why);
    CU_ASSERT_EQUAL(ms_tls_pki_cache_size(pki), 1);
    /* Another name is another entry. */
    CU_ASSERT_FALSE(verify(pki, cred, "mx.isp-c.net", NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 42);
    g_free(why);
    CU_ASSERT_EQUAL(ms_tls_pki_cache_size(pki), 2);
}

static void
test_faults(void)
{
    static const struct {
        MsTlsCertFault fault;
        guint8 alert;
        const char *why;
    } cases[] = {
        { MS_TLS_CERT_WRONG_NAME, 42, "certificate for www.isp-b.net does not name " NAME },
        { MS_TLS_CERT_SELF_SIGNED, 48,
          "certificate for " NAME " is self-signed, not issued by the trusted CA"
          " 'mailsim scenario CA'" },
        { MS_TLS_CERT_EXPIRED, 45,
          "certificate for " NAME " expired at 2025-12-31 00:00:00 UTC (it is now" },
    };
    MsRng rng;
    g_autoptr(MsTlsPki) pki = pki_new_seeded(2, &rng);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsTlsCredentials) cred = issue(pki, &rng, NAME, cases[i].fault);
        for (int pass = 0; pass < 2; pass++) { /* uncached, then cached */
            guint8 alert = 0;
            g_autofree char *why = NULL;
            CU_ASSERT_FALSE(verify(pki, cred, NAME, NOW, &alert, &why));
            CU_ASSERT_EQUAL(alert, cases[i].alert);
            CU_ASSERT_PTR_NOT_NULL_FATAL(why);
            if (!g_str_has_prefix(why, cases[i].why))
                g_printerr("fault %d: got '%s'\n", cases[i].fault, why);
            CU_ASSERT_TRUE(g_str_has_prefix(why, cases[i].why));
        }
    }
    /* The wrong-name certificate is good for the name it carries. */
    g_autoptr(MsTlsCredentials) wrong = issue(pki, &rng, NAME, MS_TLS_CERT_WRONG_NAME);
    guint8 alert = 0;
    char *why = NULL;
    CU_ASSERT_TRUE(verify(pki, wrong, "www.isp-b.net", NOW, &alert, &why));
    /* Names of one or two labels, and a web server's own name. */
    g_autoptr(MsTlsCredentials) w2 = issue(pki, &rng, "isp-b.net", MS_TLS_CERT_WRONG_NAME);
    CU_ASSERT_TRUE(verify(pki, w2, "www.isp-b.net", NOW, &alert, &why));
    g_autoptr(MsTlsCredentials) w3 = issue(pki, &rng, "www.isp-b.net", MS_TLS_CERT_WRONG_NAME);
    CU_ASSERT_TRUE(verify(pki, w3, "mail.isp-b.net", NOW, &alert, &why));
}

static void
test_foreign_and_damaged(void)
{
    MsRng rng, other_rng;
    g_autoptr(MsTlsPki) pki = pki_new_seeded(3, &rng);
    ms_rng_init_named(&other_rng, 3, "another CA");
    g_autoptr(GError) error = NULL;
    g_autoptr(MsTlsPki) other =
        ms_tls_pki_new("Other CA", &other_rng, NOT_BEFORE, NOT_AFTER, &error);
    g_assert_no_error(error);
    g_autoptr(MsTlsCredentials) foreign = issue(other, &other_rng, NAME, MS_TLS_CERT_GOOD);
    guint8 alert = 0;
    g_autofree char *why = NULL;
    CU_ASSERT_FALSE(verify(pki, foreign, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 48);
    CU_ASSERT_STRING_EQUAL(why, "certificate for " NAME " is issued by 'CN=Other CA', not by the"
                                " trusted CA 'mailsim scenario CA'");
    g_clear_pointer(&why, g_free);

    /* A signature octet flipped: same issuer, bad signature. */
    g_autoptr(MsTlsCredentials) cred = issue(pki, &rng, NAME, MS_TLS_CERT_GOOD);
    gsize len;
    const guint8 *d = g_bytes_get_data(cred->chain[0], &len);
    g_autofree guint8 *bad = g_memdup2(d, len);
    bad[len - 5] ^= 0x01;
    g_autoptr(GBytes) bad_bytes = g_bytes_new(bad, len);
    GBytes *chain[1] = { bad_bytes };
    CU_ASSERT_FALSE(ms_tls_pki_verify(pki, chain, 1, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 42);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "signature that does not verify"));
    g_clear_pointer(&why, g_free);

    /* Not DER at all, and a truncated certificate. */
    g_autoptr(GBytes) junk = g_bytes_new_static("hello", 5);
    g_autoptr(GBytes) cut = g_bytes_new(d, len / 2);
    GBytes *junk_chain[2] = { junk, cred->chain[0] };
    CU_ASSERT_FALSE(ms_tls_pki_verify(pki, junk_chain, 2, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 42);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "certificate 1 of the chain does not parse"));
    g_clear_pointer(&why, g_free);
    GBytes *cut_chain[1] = { cut };
    CU_ASSERT_FALSE(ms_tls_pki_verify(pki, cut_chain, 1, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 42);
    g_clear_pointer(&why, g_free);
    /* An empty chain (RFC 8446 4.4.2.4). */
    CU_ASSERT_FALSE(ms_tls_pki_verify(pki, NULL, 0, NAME, NOW, &alert, &why));
    CU_ASSERT_EQUAL(alert, 50);
    g_clear_pointer(&why, g_free);
    /* The chain with the CA appended, as some servers send it, is fine. */
    g_autoptr(GBytes) ca = ms_tls_pki_ca_der(pki);
    GBytes *with_ca[2] = { cred->chain[0], ca };
    CU_ASSERT_TRUE(ms_tls_pki_verify(pki, with_ca, 2, NAME, NOW, &alert, &why));
}

/* ---------------------------------------------------------------- OpenSSL */

static char *
write_pem(const char *dir, const char *file, const char *pem)
{
    char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(g_file_set_contents(path, pem, -1, &error));
    return path;
}

/* Runs `openssl verify` on leaf against ca for NAME at time t; returns its
 * exit status and stores its stdout and stderr together. */
static int
openssl_verify(const char *openssl, const char *ca, const char *leaf, gint64 t, char **output)
{
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, t);
    const char *argv[] = { openssl, "verify",  "-CAfile", ca,         "-verify_hostname",
                           NAME,    "-attime", at,        "-purpose", "sslserver",
                           leaf,    NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    *output = g_strconcat(out ? out : "", err ? err : "", NULL);
    return rc;
}

static void
test_openssl(void)
{
    g_autofree char *openssl = g_find_program_in_path("openssl");
    if (!openssl) {
        ms_test_skip("no openssl on the PATH (tools/deps.sh installs it)");
        return;
    }
    MsRng rng;
    g_autoptr(MsTlsPki) pki = pki_new_seeded(4, &rng);
    g_autofree char *dir = g_dir_make_tmp("mailsim-pki-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *ca_pem = ms_tls_pki_ca_pem(pki);
    CU_ASSERT_TRUE(g_str_has_prefix(ca_pem, "-----BEGIN CERTIFICATE-----\n"));
    g_autofree char *ca = write_pem(dir, "ca.pem", ca_pem);
    static const struct {
        MsTlsCertFault fault;
        int ok;             /* openssl verify exit status */
        const char *expect; /* in its output */
    } cases[] = {
        { MS_TLS_CERT_GOOD, 0, "leaf0.pem: OK" },
        { MS_TLS_CERT_WRONG_NAME, 2, "error 62 at 0 depth lookup: hostname mismatch" },
        { MS_TLS_CERT_SELF_SIGNED, 2, "error 18 at 0 depth lookup: self-signed certificate" },
        { MS_TLS_CERT_EXPIRED, 2, "error 10 at 0 depth lookup: certificate has expired" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsTlsCredentials) cred = issue(pki, &rng, NAME, cases[i].fault);
        g_autofree char *pem = ms_tls_cert_pem(cred->chain[0]);
        g_autofree char *file = g_strdup_printf("leaf%u.pem", i);
        g_autofree char *leaf = write_pem(dir, file, pem);
        g_autofree char *output = NULL;
        int rc = openssl_verify(openssl, ca, leaf, NOW, &output);
        if (rc != cases[i].ok || !strstr(output, cases[i].expect))
            g_printerr("openssl verify, case %u (rc %d):\n%s\n", i, rc, output);
        CU_ASSERT_EQUAL(rc, cases[i].ok);
        CU_ASSERT_PTR_NOT_NULL(strstr(output, cases[i].expect));
        /* Our verifier agrees with OpenSSL on good and bad. */
        guint8 alert;
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(verify(pki, cred, NAME, NOW, &alert, &why), rc == 0);

        if (cases[i].fault != MS_TLS_CERT_GOOD) {
            g_unlink(leaf);
            continue;
        }
        /* The good certificate at the edges of its validity. */
        g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL;
        CU_ASSERT_EQUAL(openssl_verify(openssl, ca, leaf, NOT_AFTER - 1, &o1), 0);
        CU_ASSERT_EQUAL(openssl_verify(openssl, ca, leaf, NOT_AFTER + 1, &o2), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(o2, "certificate has expired"));
        CU_ASSERT_EQUAL(openssl_verify(openssl, ca, leaf, NOT_BEFORE - 1, &o3), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(o3, "certificate is not yet valid"));

        /* What OpenSSL reads in it. */
        const char *x509[] = { openssl, "x509", "-in", leaf, "-noout", "-text", NULL };
        g_autofree char *text = NULL, *err = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(x509, &text, &err), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        static const char *const want[] = {
            "Version: 3 (0x2)",
            "Signature Algorithm: ED25519",
            "Issuer: CN = mailsim scenario CA",
            "Not Before: Jan  1 00:00:00 2026 GMT",
            "Not After : Dec 31 23:59:59 2026 GMT",
            "Subject: CN = " NAME,
            "Public Key Algorithm: ED25519",
            "DNS:" NAME,
            "X509v3 Basic Constraints: critical\n                CA:FALSE",
            "X509v3 Key Usage: critical\n                Digital Signature",
            "TLS Web Server Authentication",
            "X509v3 Subject Key Identifier",
            "X509v3 Authority Key Identifier",
        };
        for (guint k = 0; k < G_N_ELEMENTS(want); k++) {
            if (!strstr(text, want[k]))
                g_printerr("openssl x509 -text lacks '%s':\n%s\n", want[k], text);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, want[k]));
        }
        const char *ca_text_argv[] = { openssl, "x509", "-in", ca, "-noout", "-text", NULL };
        g_autofree char *ca_text = NULL, *ca_err = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(ca_text_argv, &ca_text, &ca_err), 0);
        CU_ASSERT_PTR_NOT_NULL(ca_text && strstr(ca_text, "CA:TRUE"));
        CU_ASSERT_PTR_NOT_NULL(ca_text && strstr(ca_text, "Certificate Sign, CRL Sign"));

        /* The exported key is the certificate's key. */
        g_autoptr(GError) error = NULL;
        g_autofree char *key_pem = ms_tls_credentials_key_pem(cred, &error);
        g_assert_no_error(error);
        g_autofree char *key = write_pem(dir, "key.pem", key_pem);
        const char *pub_of_key[] = { openssl, "pkey", "-in", key, "-pubout", NULL };
        const char *pub_of_crt[] = { openssl, "x509", "-in", leaf, "-noout", "-pubkey", NULL };
        g_autofree char *pk1 = NULL, *pk2 = NULL, *e1 = NULL, *e2 = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(pub_of_key, &pk1, &e1), 0);
        CU_ASSERT_EQUAL(ms_test_spawn(pub_of_crt, &pk2, &e2), 0);
        CU_ASSERT_PTR_NOT_NULL(pk1 && strstr(pk1, "BEGIN PUBLIC KEY"));
        CU_ASSERT_STRING_EQUAL(pk1 ? pk1 : "", pk2 ? pk2 : "-");
        g_unlink(key);
        g_unlink(leaf);
    }
    g_unlink(ca);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "same seed, same DER", test_deterministic },
        { "good certificate, time bounds and cache", test_good_and_cache },
        { "faults: alert and reason", test_faults },
        { "foreign CA, damaged and empty chains", test_foreign_and_damaged },
        { "OpenSSL's verdicts", test_openssl },
        { NULL, NULL },
    };
    return ms_test_main("tls_pki", cases);
}
