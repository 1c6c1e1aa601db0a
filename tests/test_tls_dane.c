/* Tests of DANE for SMTP (sim/proto/tls_dane.c) with certificates from the
 * simulated PKI. Our matcher: DANE-EE(3) for every selector and matching
 * type, also for certificates a PKIX client refuses (wrong name, expired,
 * self-signed: RFC 7672 3.1.1 checks neither); DANE-TA(2) with the anchor
 * in the chain, refusing a leaf for another name, an expired leaf, a chain
 * without the anchor and another CA's anchor; unusable records (RFC 7672
 * 3.1.3 and unknown values) giving "TLS without authentication"; no records
 * and empty chains. Independently, OpenSSL computes the association data
 * from the same PEM files (x509 -pubkey | pkey -outform DER | dgst), and
 * OpenSSL's own DANE code (s_client -dane_tlsa_rrdata against s_server on
 * loopback) accepts and refuses the same records as we do. */
#include "testlib.h"
#include "mailsim/tls_dane.h"
#include "mailsim/tls_pki.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME       "mx.isp-b.net"
#define NOT_BEFORE G_GINT64_CONSTANT(1767225600) /* 2026-01-01 */
#define NOT_AFTER  G_GINT64_CONSTANT(1798761599) /* 2026-12-31 */
#define NOW        G_GINT64_CONSTANT(1781000000)

static const char *const names[] = { NAME, NULL };

typedef struct {
    MsRng rng;
    MsTlsPki *pki;
} Fixture;

static void
fixture_init(Fixture *f, const char *purpose)
{
    ms_rng_init_named(&f->rng, 99, purpose);
    g_autoptr(GError) error = NULL;
    f->pki = ms_tls_pki_new(NULL, &f->rng, NOT_BEFORE, NOT_AFTER, &error);
    g_assert_no_error(error);
}

static MsTlsCredentials *
issue(Fixture *f, MsTlsCertFault fault)
{
    g_autoptr(GError) error = NULL;
    MsTlsCredentials *c = ms_tls_pki_issue(f->pki, NAME, fault, &f->rng, &error);
    g_assert_no_error(error);
    return c;
}

static MsDnsRecord *
record_for(const MsTlsCredentials *cred, guint8 u, guint8 s, guint8 m)
{
    g_autoptr(GError) error = NULL;
    MsDnsRecord *r = ms_tls_dane_record_new(cred, NAME, 25, 300, u, s, m, &error);
    g_assert_no_error(error);
    return r;
}

/* Checks cred's chain against the records; returns the result, and the
 * reason in *why when why is not NULL (caller frees). */
static MsTlsDaneResult
check(const MsTlsCredentials *cred, GPtrArray *records, gint *matched, char **why)
{
    g_autofree char *reason = NULL;
    MsTlsDaneResult r =
        ms_tls_dane_check(cred->chain, cred->n_certs, records, names, NOW, matched, &reason);
    CU_ASSERT_PTR_NOT_NULL(reason);
    if (why)
        *why = g_steal_pointer(&reason);
    return r;
}

static GPtrArray *
records_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_record_free);
}

static void
test_dane_ee(void)
{
    Fixture f;
    fixture_init(&f, "ee");
    g_autoptr(MsTlsCredentials) good = issue(&f, MS_TLS_CERT_GOOD);
    /* Every selector and matching type matches its own certificate. */
    for (guint8 s = 0; s <= 1; s++)
        for (guint8 m = 0; m <= 2; m++) {
            g_autoptr(GPtrArray) recs = records_new();
            g_ptr_array_add(recs, ms_dns_record_new_cname("_25._tcp." NAME, 300, "x.example"));
            g_ptr_array_add(recs, record_for(good, 3, s, m));
            gint matched = -2;
            g_autofree char *why = NULL;
            CU_ASSERT_EQUAL(check(good, recs, &matched, &why), MS_TLS_DANE_AUTHENTICATED);
            CU_ASSERT_EQUAL(matched, 1);
            CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "DANE-EE(3)"));
        }
    g_autoptr(MsDnsRecord) r = record_for(good, 3, 1, 1);
    CU_ASSERT_STRING_EQUAL(r->name, "_25._tcp." NAME);
    CU_ASSERT_EQUAL(g_bytes_get_size(r->rdata.tlsa.data), 32);
    g_autofree char *text = ms_tls_dane_tlsa_to_string(&r->rdata.tlsa);
    CU_ASSERT_TRUE(g_str_has_prefix(text, "3 1 1 ") && strlen(text) == 6 + 64);

    /* Names and dates are not checked for DANE-EE (RFC 7672 3.1.1): the
     * certificates a PKIX client refuses pass, against their own record. */
    for (int fault = MS_TLS_CERT_WRONG_NAME; fault <= MS_TLS_CERT_EXPIRED; fault++) {
        g_autoptr(MsTlsCredentials) c = issue(&f, (MsTlsCertFault) fault);
        g_autoptr(GPtrArray) recs = records_new();
        g_ptr_array_add(recs, record_for(c, 3, 1, 1));
        CU_ASSERT_EQUAL(check(c, recs, NULL, NULL), MS_TLS_DANE_AUTHENTICATED);
        /* ... and another server's key does not. */
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(check(good, recs, NULL, &why), MS_TLS_DANE_FAILED);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "matches no certificate the server sent"));
    }
    /* The second of two records matches; a damaged leaf matches nothing. */
    g_autoptr(MsTlsCredentials) other = issue(&f, MS_TLS_CERT_GOOD);
    g_autoptr(GPtrArray) two = records_new();
    g_ptr_array_add(two, record_for(other, 3, 1, 1));
    g_ptr_array_add(two, record_for(good, 3, 1, 1));
    gint matched = -2;
    CU_ASSERT_EQUAL(check(good, two, &matched, NULL), MS_TLS_DANE_AUTHENTICATED);
    CU_ASSERT_EQUAL(matched, 1);
    g_autoptr(GBytes) junk = g_bytes_new_static("not a certificate", 17);
    GBytes *junk_chain[1] = { junk };
    CU_ASSERT_EQUAL(ms_tls_dane_check(junk_chain, 1, two, names, NOW, &matched, NULL),
                    MS_TLS_DANE_FAILED);
    CU_ASSERT_EQUAL(matched, -1);
    /* An empty chain. */
    g_autofree char *why = NULL;
    CU_ASSERT_EQUAL(ms_tls_dane_check(NULL, 0, two, names, NOW, NULL, &why), MS_TLS_DANE_FAILED);
    CU_ASSERT_STRING_EQUAL(why, "the server sent no certificate");
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(ms_tls_dane_association(junk, 1, 1, &error));
    CU_ASSERT_TRUE(g_error_matches(error, MS_TLS_DANE_ERROR, MS_TLS_DANE_ERROR_CERTIFICATE));
    ms_tls_pki_free(f.pki);
}

static void
test_dane_ta(void)
{
    Fixture f, g;
    fixture_init(&f, "ta");
    fixture_init(&g, "another CA");
    g_autoptr(MsTlsCredentials) good = issue(&f, MS_TLS_CERT_GOOD);
    ms_tls_pki_chain_add_ca(f.pki, good);
    CU_ASSERT_EQUAL(good->n_certs, 2);
    ms_tls_pki_chain_add_ca(f.pki, good); /* already there: unchanged */
    CU_ASSERT_EQUAL(good->n_certs, 2);
    for (guint8 s = 0; s <= 1; s++) {
        g_autoptr(GPtrArray) recs = records_new();
        g_ptr_array_add(recs, record_for(good, 2, s, 1));
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(check(good, recs, NULL, &why), MS_TLS_DANE_AUTHENTICATED);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "DANE-TA(2)"));
    }
    g_autoptr(GPtrArray) ta = records_new();
    g_ptr_array_add(ta, record_for(good, 2, 1, 1));
    /* Another name for the same chain (names are checked under DANE-TA). */
    const char *const other_names[] = { "mx.isp-c.net", NULL };
    g_autofree char *why = NULL;
    CU_ASSERT_EQUAL(ms_tls_dane_check(good->chain, 2, ta, other_names, NOW, NULL, &why),
                    MS_TLS_DANE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "names none of: mx.isp-c.net"));
    g_clear_pointer(&why, g_free);
    /* Dates below the anchor are checked against the simulated clock. */
    CU_ASSERT_EQUAL(ms_tls_dane_check(good->chain, 2, ta, names, NOT_AFTER + 1, NULL, &why),
                    MS_TLS_DANE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "certificate 1 of the chain has expired"));
    g_clear_pointer(&why, g_free);
    CU_ASSERT_EQUAL(ms_tls_dane_check(good->chain, 2, ta, names, NOT_AFTER, NULL, NULL),
                    MS_TLS_DANE_AUTHENTICATED);
    /* The wrong-name and expired certificates of the same CA. */
    static const struct {
        MsTlsCertFault fault;
        const char *needle;
    } faults[] = {
        { MS_TLS_CERT_WRONG_NAME, "names none of: " NAME },
        { MS_TLS_CERT_EXPIRED, "has expired" },
        { MS_TLS_CERT_SELF_SIGNED, "does not lead to the trust anchor" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(faults); i++) {
        g_autoptr(MsTlsCredentials) c = issue(&f, faults[i].fault);
        ms_tls_pki_chain_add_ca(f.pki, c);
        CU_ASSERT_EQUAL(check(c, ta, NULL, &why), MS_TLS_DANE_FAILED);
        if (!why || !strstr(why, faults[i].needle))
            g_printerr("DANE-TA fault %d: %s\n", faults[i].fault, why);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, faults[i].needle));
        g_clear_pointer(&why, g_free);
    }
    /* Without the anchor in the chain. */
    g_autoptr(MsTlsCredentials) bare = issue(&f, MS_TLS_CERT_GOOD);
    CU_ASSERT_EQUAL(check(bare, ta, NULL, &why), MS_TLS_DANE_FAILED);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "it sent only its own"));
    g_clear_pointer(&why, g_free);
    /* Another CA's certificate and anchor. */
    g_autoptr(MsTlsCredentials) foreign = issue(&g, MS_TLS_CERT_GOOD);
    ms_tls_pki_chain_add_ca(g.pki, foreign);
    CU_ASSERT_EQUAL(check(foreign, ta, NULL, NULL), MS_TLS_DANE_FAILED);
    /* A DANE-TA record naming the leaf is not an anchor. */
    g_autoptr(GPtrArray) leaf_as_ta = records_new();
    g_autoptr(MsDnsRecord) ee = record_for(good, 3, 1, 1);
    g_ptr_array_add(leaf_as_ta,
                    ms_dns_record_new_tlsa(ee->name, 300, 2, 1, 1,
                                           g_bytes_get_data(ee->rdata.tlsa.data, NULL), 32));
    CU_ASSERT_EQUAL(check(good, leaf_as_ta, NULL, NULL), MS_TLS_DANE_FAILED);
    ms_tls_pki_free(f.pki);
    ms_tls_pki_free(g.pki);
}

static void
test_unusable_and_none(void)
{
    Fixture f;
    fixture_init(&f, "unusable");
    g_autoptr(MsTlsCredentials) good = issue(&f, MS_TLS_CERT_GOOD);
    g_autoptr(MsDnsRecord) ee = record_for(good, 3, 1, 1);
    const guint8 *digest = g_bytes_get_data(ee->rdata.tlsa.data, NULL);
    static const struct {
        guint8 u, s, m;
        gsize len;
        const char *needle;
    } cases[] = {
        { 0, 1, 1, 32, "RFC 7672 3.1.3" },
        { 1, 1, 1, 32, "RFC 7672 3.1.3" },
        { 4, 1, 1, 32, "unknown certificate usage" },
        { 3, 2, 1, 32, "unknown selector" },
        { 3, 1, 3, 32, "unknown matching type" },
        { 3, 1, 1, 31, "not 32 octets" },
        { 3, 1, 2, 32, "not 64 octets" },
        { 3, 1, 0, 0, "no association data" },
    };
    g_autoptr(GPtrArray) all = records_new();
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) one = records_new();
        MsDnsRecord *r = ms_dns_record_new_tlsa(ee->name, 300, cases[i].u, cases[i].s, cases[i].m,
                                                digest, cases[i].len);
        g_ptr_array_add(one, ms_dns_record_copy(r));
        g_ptr_array_add(all, r);
        g_autofree char *why = NULL;
        CU_ASSERT_EQUAL(check(good, one, NULL, &why), MS_TLS_DANE_UNUSABLE);
        if (!why || !strstr(why, cases[i].needle))
            g_printerr("unusable case %u: %s\n", i, why);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, cases[i].needle));
    }
    g_autofree char *why = NULL;
    CU_ASSERT_EQUAL(check(good, all, NULL, &why), MS_TLS_DANE_UNUSABLE);
    CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "8 TLSA records, none usable"));
    g_clear_pointer(&why, g_free);
    /* One usable record among them decides, either way. */
    g_autoptr(MsTlsCredentials) other = issue(&f, MS_TLS_CERT_GOOD);
    g_ptr_array_add(all, record_for(other, 3, 1, 1));
    CU_ASSERT_EQUAL(check(good, all, NULL, NULL), MS_TLS_DANE_FAILED);
    g_ptr_array_add(all, ms_dns_record_copy(ee));
    gint matched = -1;
    CU_ASSERT_EQUAL(check(good, all, &matched, NULL), MS_TLS_DANE_AUTHENTICATED);
    CU_ASSERT_EQUAL(matched, 9);
    /* No records at all, or none of type TLSA. */
    g_autoptr(GPtrArray) none = records_new();
    CU_ASSERT_EQUAL(check(good, none, NULL, &why), MS_TLS_DANE_NONE);
    CU_ASSERT_STRING_EQUAL(why, "no TLSA records: DANE does not apply");
    g_ptr_array_add(none, ms_dns_record_new_a(NAME, 300, 0x0A000001));
    CU_ASSERT_EQUAL(check(good, none, NULL, NULL), MS_TLS_DANE_NONE);
    CU_ASSERT_EQUAL(ms_tls_dane_check(good->chain, 1, NULL, names, NOW, NULL, NULL),
                    MS_TLS_DANE_NONE);
    CU_ASSERT_STRING_EQUAL(ms_tls_dane_result_to_string(MS_TLS_DANE_UNUSABLE), "unusable");
    ms_tls_pki_free(f.pki);
}

/* ---------------------------------------------------------------- OpenSSL */

static char *
write_file(const char *dir, const char *file, const char *text)
{
    char *path = g_build_filename(dir, file, NULL);
    CU_ASSERT_TRUE(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* Runs a shell pipeline; returns its stdout with the trailing newline cut
 * (caller frees), or NULL when it failed. */
static char *
shell(const char *cmd)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    g_autofree char *out = NULL, *err = NULL;
    if (ms_test_spawn(argv, &out, &err) != 0) {
        g_printerr("'%s' failed: %s\n", cmd, err ? err : "");
        return NULL;
    }
    return g_strchomp(g_steal_pointer(&out));
}

static void
test_openssl_digests(void)
{
    g_autofree char *openssl = g_find_program_in_path("openssl");
    if (!openssl) {
        ms_test_skip("no openssl on the PATH (tools/deps.sh installs it)");
        return;
    }
    Fixture f;
    fixture_init(&f, "openssl digests");
    g_autoptr(MsTlsCredentials) good = issue(&f, MS_TLS_CERT_GOOD);
    g_autofree char *dir = g_dir_make_tmp("mailsim-dane-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *pem = ms_tls_cert_pem(good->chain[0]);
    g_autofree char *leaf = write_file(dir, "leaf.pem", pem);
    static const struct {
        guint8 s, m;
        const char *cmd; /* "%s" stands for the PEM file; prints "<hex> *stdin" */
    } cases[] = {
        { 1, 1,
          "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER |"
          " openssl dgst -sha256 -r" },
        { 1, 2,
          "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER |"
          " openssl dgst -sha512 -r" },
        { 0, 1, "openssl x509 -in '%s' -outform DER | openssl dgst -sha256 -r" },
        { 0, 2, "openssl x509 -in '%s' -outform DER | openssl dgst -sha512 -r" },
        { 1, 0,
          "openssl x509 -in '%s' -noout -pubkey | openssl pkey -pubin -outform DER |"
          " od -An -v -tx1 | tr -d ' \\n'" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GString *cmd_s = g_string_new(cases[i].cmd);
        g_string_replace(cmd_s, "%s", leaf, 0);
        g_autofree char *cmd = g_string_free(cmd_s, FALSE);
        g_autofree char *out = shell(cmd);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out);
        char *space = strchr(out, ' ');
        if (space)
            *space = '\0';
        g_autoptr(MsDnsRecord) r = record_for(good, 3, cases[i].s, cases[i].m);
        g_autofree char *ours = ms_tls_dane_tlsa_to_string(&r->rdata.tlsa);
        if (strcmp(ours + 6, out) != 0)
            g_printerr("case %u: ours %s, openssl %s\n", i, ours, out);
        CU_ASSERT_STRING_EQUAL(ours + 6, out);
    }
    g_unlink(leaf);
    g_rmdir(dir);
    ms_tls_pki_free(f.pki);
}

/* A loopback port nobody listens on now. */
static guint16
free_port(void)
{
    g_autoptr(GSocket) s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
    if (!s || !g_socket_bind(s, any, FALSE, NULL))
        return 0;
    g_autoptr(GSocketAddress) got = g_socket_get_local_address(s, NULL);
    return got ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(got)) : 0;
}

/* OpenSSL's DANE verdict on `records` (presentation forms) for a server
 * sending cert (and chain, may be NULL) with key: TRUE when s_client's
 * verification succeeded. The output goes to *out (caller frees). */
static gboolean
openssl_dane(const char *openssl, const char *cert, const char *chain, const char *key,
             const char *const *records, gint64 at, char **out)
{
    guint16 port = free_port();
    CU_ASSERT_FATAL(port != 0);
    g_autofree char *accept = g_strdup_printf("127.0.0.1:%u", port);
    GPtrArray *sv = g_ptr_array_new();
    const char *sbase[] = { openssl, "s_server", "-accept", accept,  "-cert",
                            cert,    "-key",     key,       "-quiet" };
    for (guint i = 0; i < G_N_ELEMENTS(sbase); i++)
        g_ptr_array_add(sv, (gpointer) sbase[i]);
    if (chain) {
        g_ptr_array_add(sv, (gpointer) "-cert_chain");
        g_ptr_array_add(sv, (gpointer) chain);
    }
    g_ptr_array_add(sv, NULL);
    GPid server;
    gint server_in = -1, server_err = -1;
    g_autoptr(GError) error = NULL;
    gboolean started = g_spawn_async_with_pipes(
        NULL, (char **) sv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
        NULL, NULL, &server, &server_in, NULL, &server_err, &error);
    g_ptr_array_free(sv, TRUE);
    CU_ASSERT_FATAL(started);
    /* Wait until it listens (a probe that connects and closes is one
     * failed session to s_server, which then waits for the next). Its
     * stdin stays open, so it does not end the client's session early. */
    for (int i = 0; i < 100; i++) {
        g_autoptr(GSocketClient) c = g_socket_client_new();
        g_autoptr(GSocketConnection) conn =
            g_socket_client_connect_to_host(c, accept, port, NULL, NULL);
        if (conn)
            break;
        g_usleep(20000);
    }
    g_autofree char *connect = g_strdup_printf("127.0.0.1:%u", port);
    g_autofree char *attime = g_strdup_printf("%" G_GINT64_FORMAT, at);
    GPtrArray *cv = g_ptr_array_new();
    const char *cbase[] = { openssl,
                            "s_client",
                            "-connect",
                            connect,
                            "-brief",
                            "-attime",
                            attime,
                            "-verify_return_error",
                            "-dane_tlsa_domain",
                            NAME,
                            "-dane_ee_no_namechecks" };
    for (guint i = 0; i < G_N_ELEMENTS(cbase); i++)
        g_ptr_array_add(cv, (gpointer) cbase[i]);
    for (guint i = 0; records[i]; i++) {
        g_ptr_array_add(cv, (gpointer) "-dane_tlsa_rrdata");
        g_ptr_array_add(cv, (gpointer) records[i]);
    }
    g_ptr_array_add(cv, NULL);
    g_autofree char *cout = NULL, *cerr = NULL;
    int status = 0;
    g_spawn_sync(NULL, (char **) cv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &cout,
                 &cerr, &status, NULL);
    g_ptr_array_free(cv, TRUE);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    g_spawn_close_pid(server);
    close(server_in);
    close(server_err);
    *out = g_strconcat(cout ? cout : "", cerr ? cerr : "", NULL);
    return strstr(*out, "Verification: OK") != NULL;
}

static void
test_openssl_dane(void)
{
    g_autofree char *openssl = g_find_program_in_path("openssl");
    if (!openssl) {
        ms_test_skip("no openssl on the PATH (tools/deps.sh installs it)");
        return;
    }
    Fixture f, g;
    fixture_init(&f, "openssl dane");
    fixture_init(&g, "openssl dane, another CA");
    g_autofree char *dir = g_dir_make_tmp("mailsim-dane-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *ca_pem = ms_tls_pki_ca_pem(f.pki);
    g_autofree char *ca = write_file(dir, "ca.pem", ca_pem);
    g_autoptr(MsTlsCredentials) other = issue(&g, MS_TLS_CERT_GOOD);
    ms_tls_pki_chain_add_ca(g.pki, other);
    g_autoptr(MsDnsRecord) other_ee = record_for(other, 3, 1, 1);
    g_autoptr(MsDnsRecord) other_ta = record_for(other, 2, 1, 1);
    static const struct {
        MsTlsCertFault fault;
        gboolean send_ca;
        int record; /* 0: 3 1 1 own, 1: 2 1 1 own CA, 2: 3 1 1 other, 3: 2 1 1 other CA */
        gint64 at;
    } cases[] = {
        { MS_TLS_CERT_GOOD, FALSE, 0, NOW },          { MS_TLS_CERT_GOOD, TRUE, 1, NOW },
        { MS_TLS_CERT_GOOD, FALSE, 2, NOW },          { MS_TLS_CERT_GOOD, TRUE, 3, NOW },
        { MS_TLS_CERT_GOOD, FALSE, 1, NOW },          { MS_TLS_CERT_WRONG_NAME, FALSE, 0, NOW },
        { MS_TLS_CERT_WRONG_NAME, TRUE, 1, NOW },     { MS_TLS_CERT_EXPIRED, FALSE, 0, NOW },
        { MS_TLS_CERT_EXPIRED, TRUE, 1, NOW },        { MS_TLS_CERT_SELF_SIGNED, FALSE, 0, NOW },
        { MS_TLS_CERT_GOOD, TRUE, 1, NOT_AFTER + 1 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsTlsCredentials) c = issue(&f, cases[i].fault);
        if (cases[i].send_ca)
            ms_tls_pki_chain_add_ca(f.pki, c);
        g_autoptr(GError) error = NULL;
        g_autofree char *key_pem = ms_tls_credentials_key_pem(c, &error);
        g_assert_no_error(error);
        g_autofree char *key = write_file(dir, "key.pem", key_pem);
        g_autofree char *cert_pem = ms_tls_cert_pem(c->chain[0]);
        g_autofree char *cert = write_file(dir, "cert.pem", cert_pem);
        g_autoptr(MsDnsRecord) own_ee = record_for(c, 3, 1, 1);
        g_autoptr(MsDnsRecord) own_ta = record_for(c, 2, 1, 1);
        const MsDnsRecord *pick[] = { own_ee, own_ta, other_ee, other_ta };
        const MsDnsRecord *rec = pick[cases[i].record];
        if (cases[i].record == 1 && !cases[i].send_ca) {
            /* The CA's record although the server does not send the CA. */
            g_autoptr(MsTlsCredentials) with = issue(&f, MS_TLS_CERT_GOOD);
            ms_tls_pki_chain_add_ca(f.pki, with);
            g_clear_pointer(&own_ta, ms_dns_record_free);
            own_ta = record_for(with, 2, 1, 1);
            rec = own_ta;
        }
        g_autofree char *rr = ms_tls_dane_tlsa_to_string(&rec->rdata.tlsa);
        const char *rrs[] = { rr, NULL };
        g_autofree char *out = NULL;
        gboolean theirs =
            openssl_dane(openssl, cert, cases[i].send_ca ? ca : NULL, key, rrs, cases[i].at, &out);
        g_autoptr(GPtrArray) recs = records_new();
        g_ptr_array_add(recs, ms_dns_record_copy(rec));
        g_autofree char *why = NULL;
        MsTlsDaneResult ours =
            ms_tls_dane_check(c->chain, c->n_certs, recs, names, cases[i].at, NULL, &why);
        if (theirs != (ours == MS_TLS_DANE_AUTHENTICATED))
            g_printerr("case %u (%s): ours %s (%s), openssl:\n%s\n", i, rr,
                       ms_tls_dane_result_to_string(ours), why, out);
        CU_ASSERT_EQUAL(theirs, ours == MS_TLS_DANE_AUTHENTICATED);
        /* Both sides decided for a reason, not for a failed start. */
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Verification") || strstr(out, "verify error"));
        g_unlink(key);
        g_unlink(cert);
    }
    g_unlink(ca);
    g_rmdir(dir);
    ms_tls_pki_free(f.pki);
    ms_tls_pki_free(g.pki);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "DANE-EE(3): every selector and matching type", test_dane_ee },
        { "DANE-TA(2): anchor in the chain, names and dates", test_dane_ta },
        { "unusable records, no records", test_unusable_and_none },
        { "OpenSSL computes the same association data", test_openssl_digests },
        { "OpenSSL's DANE verifier agrees", test_openssl_dane },
        { NULL, NULL },
    };
    return ms_test_main("tls_dane", cases);
}
