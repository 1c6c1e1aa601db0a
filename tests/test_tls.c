/* Tests of the simulated TLS 1.3 endpoint (include/mailsim/tls.h) against
 * independent implementations, in memory: GnuTLS (push/pull functions over
 * byte arrays) and OpenSSL (memory BIOs), each as client and as server.
 * Each interoperability test completes the handshake, moves application
 * data both ways (a short line and 100 KiB cut into many records), closes
 * with close_notify both ways, and compares our key log with the secrets
 * the peer library reports, which proves the key schedule. Then: the
 * HelloRetryRequest path, a refused certificate reaching the peer as an
 * alert, determinism per seed, split invariance, and hostile input that
 * must end in FAILED with a clear error and an alert, never a crash.
 * Fixtures: tests/data/tls/ (see its README). */
#include "testlib.h"
#include "mailsim/rng.h"
#include "mailsim/tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <string.h>

#define DATA       "tests/data/tls/"
#define SELF_NAME  "mx.example.net"
#define CHAIN_NAME "mx.isp-b.net"
#define BIG        (100 * 1024)

/* ------------------------------------------------------------ fixtures */

typedef struct {
    GBytes *chain[2];
    guint n;
    guint8 seed[32];
} Creds;

static GBytes *
cert_der(const char *path)
{
    g_autofree char *pem = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(path, &pem, &n, NULL));
    gnutls_x509_crt_t c;
    gnutls_datum_t in = { (unsigned char *) pem, (unsigned int) n }, out;
    g_assert_cmpint(gnutls_x509_crt_init(&c), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_import(c, &in, GNUTLS_X509_FMT_PEM), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, &out), ==, 0);
    GBytes *b = g_bytes_new(out.data, out.size);
    gnutls_free(out.data);
    gnutls_x509_crt_deinit(c);
    return b;
}

static void
key_seed(const char *path, guint8 seed[32])
{
    g_autofree char *pem = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(path, &pem, &n, NULL));
    gnutls_x509_privkey_t k;
    gnutls_datum_t in = { (unsigned char *) pem, (unsigned int) n }, x, d;
    gnutls_ecc_curve_t curve;
    g_assert_cmpint(gnutls_x509_privkey_init(&k), ==, 0);
    g_assert_cmpint(gnutls_x509_privkey_import(k, &in, GNUTLS_X509_FMT_PEM), ==, 0);
    g_assert_cmpint(gnutls_x509_privkey_export_ecc_raw(k, &curve, &x, NULL, &d), ==, 0);
    g_assert_cmpuint(d.size, ==, 32);
    memcpy(seed, d.data, 32);
    gnutls_free(x.data);
    gnutls_free(d.data);
    gnutls_x509_privkey_deinit(k);
}

/* The self-signed certificate, or the CA-issued leaf followed by the CA. */
static void
creds_load(Creds *c, gboolean with_ca)
{
    memset(c, 0, sizeof *c);
    if (with_ca) {
        c->chain[c->n++] = cert_der(DATA "leaf.crt");
        c->chain[c->n++] = cert_der(DATA "ca.crt");
        key_seed(DATA "leaf.key", c->seed);
    } else {
        c->chain[c->n++] = cert_der(DATA "self.crt");
        key_seed(DATA "self.key", c->seed);
    }
}

static void
creds_clear(Creds *c)
{
    for (guint i = 0; i < c->n; i++)
        g_bytes_unref(c->chain[i]);
}

/* ------------------------------------------------------------ our endpoint */

typedef struct {
    MsTls *tls;
    MsRng rng;
    GPtrArray *keylog;
    GByteArray *received;
    gboolean refuse;  /* the verify function refuses */
    guint verified;   /* times the verify function ran */
    guint verified_n; /* certificates it was given */
    char *verified_name;
} Ours;

static gboolean
ours_verify(GBytes *const *chain, guint n, const char *name, guint8 *alert, char **why, gpointer ud)
{
    Ours *o = ud;
    (void) chain;
    o->verified++;
    o->verified_n = n;
    g_free(o->verified_name);
    o->verified_name = g_strdup(name);
    if (o->refuse) {
        *alert = 48; /* unknown_ca */
        *why = g_strdup("issuer not trusted by this test");
        return FALSE;
    }
    return TRUE;
}

static void
ours_keylog(const char *line, gpointer ud)
{
    Ours *o = ud;
    g_ptr_array_add(o->keylog, g_strdup(line));
}

static Ours *
ours_new(MsTlsRole role, guint64 seed, const Creds *cr, const char *server_name)
{
    Ours *o = g_new0(Ours, 1);
    ms_rng_init(&o->rng, seed, 17);
    o->keylog = g_ptr_array_new_with_free_func(g_free);
    o->received = g_byte_array_new();
    MsTlsConfig cfg = {
        .role = role,
        .rng = &o->rng,
        .server_name = server_name,
        .cert_chain = cr ? (GBytes *const *) cr->chain : NULL,
        .n_certs = cr ? cr->n : 0,
        .ed25519_seed = cr ? cr->seed : NULL,
        .verify = ours_verify,
        .keylog = ours_keylog,
        .user_data = o,
    };
    o->tls = ms_tls_new(&cfg);
    ms_tls_start(o->tls);
    return o;
}

static void
ours_free(Ours *o)
{
    ms_tls_free(o->tls);
    g_ptr_array_unref(o->keylog);
    g_byte_array_unref(o->received);
    g_free(o->verified_name);
    g_free(o);
}

static void
ours_collect(Ours *o)
{
    GBytes *b = ms_tls_take_plaintext(o->tls);
    if (b) {
        gsize n;
        const guint8 *d = g_bytes_get_data(b, &n);
        g_byte_array_append(o->received, d, (guint) n);
        g_bytes_unref(b);
    }
}

/* ------------------------------------------------------------ the peer */

typedef enum { LIB_GNUTLS, LIB_OPENSSL } Lib;

typedef struct {
    Lib lib;
    gboolean server;
    GByteArray *in;  /* octets from us, not yet read by the peer */
    GByteArray *out; /* octets from the peer, not yet given to us */
    gboolean done, got_close;
    int error; /* library error code of a fatal failure, 0 if none */
    int alert; /* alert received, -1 if none */
    GPtrArray *keylog;
    GByteArray *received;
    gnutls_session_t gs;
    gnutls_certificate_credentials_t gcred;
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
} Peer;

static ssize_t
g_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
    Peer *p = ptr;
    g_byte_array_append(p->out, data, (guint) len);
    return (ssize_t) len;
}

static ssize_t
g_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
    Peer *p = ptr;
    if (p->in->len == 0) {
        gnutls_transport_set_errno(p->gs, EAGAIN);
        return -1;
    }
    size_t n = MIN(len, p->in->len);
    memcpy(data, p->in->data, n);
    g_byte_array_remove_range(p->in, 0, (guint) n);
    return (ssize_t) n;
}

static int
g_keylog(gnutls_session_t s, const char *label, const gnutls_datum_t *secret)
{
    Peer *p = gnutls_session_get_ptr(s);
    gnutls_datum_t cr, sr;
    gnutls_session_get_random(s, &cr, &sr);
    GString *l = g_string_new(label);
    g_string_append_c(l, ' ');
    for (guint i = 0; i < cr.size; i++)
        g_string_append_printf(l, "%02x", cr.data[i]);
    g_string_append_c(l, ' ');
    for (guint i = 0; i < secret->size; i++)
        g_string_append_printf(l, "%02x", secret->data[i]);
    g_ptr_array_add(p->keylog, g_string_free(l, FALSE));
    return 0;
}

static void
o_keylog(const SSL *ssl, const char *line)
{
    Peer *p = SSL_get_app_data(ssl);
    g_ptr_array_add(p->keylog, g_strdup(line));
}

static void
o_info(const SSL *ssl, int where, int ret)
{
    Peer *p = SSL_get_app_data(ssl);
    if ((where & SSL_CB_READ_ALERT) && (ret & 0xff) != 0)
        p->alert = ret & 0xff;
}

/* A peer of library lib; prio: GnuTLS priority string or OpenSSL groups
 * list (NULL for the defaults, TLS 1.3 forced either way). */
static Peer *
peer_new(Lib lib, gboolean server, gboolean with_ca, const char *name, const char *prio)
{
    Peer *p = g_new0(Peer, 1);
    p->lib = lib;
    p->server = server;
    p->in = g_byte_array_new();
    p->out = g_byte_array_new();
    p->alert = -1;
    p->keylog = g_ptr_array_new_with_free_func(g_free);
    p->received = g_byte_array_new();
    const char *crt = with_ca ? DATA "leaf.crt" : DATA "self.crt";
    const char *key = with_ca ? DATA "leaf.key" : DATA "self.key";
    const char *ca = with_ca ? DATA "ca.crt" : DATA "self.crt";
    if (lib == LIB_GNUTLS) {
        g_assert_cmpint(gnutls_certificate_allocate_credentials(&p->gcred), ==, 0);
        if (server) {
            g_autofree char *leaf = NULL, *cacert = NULL, *k = NULL;
            g_assert_true(g_file_get_contents(crt, &leaf, NULL, NULL));
            g_assert_true(g_file_get_contents(key, &k, NULL, NULL));
            if (with_ca)
                g_assert_true(g_file_get_contents(ca, &cacert, NULL, NULL));
            g_autofree char *chain = g_strconcat(leaf, cacert ? cacert : "", NULL);
            gnutls_datum_t c = { (unsigned char *) chain, (unsigned int) strlen(chain) };
            gnutls_datum_t kd = { (unsigned char *) k, (unsigned int) strlen(k) };
            g_assert_cmpint(
                gnutls_certificate_set_x509_key_mem(p->gcred, &c, &kd, GNUTLS_X509_FMT_PEM), ==, 0);
        } else {
            g_assert_cmpint(
                gnutls_certificate_set_x509_trust_file(p->gcred, ca, GNUTLS_X509_FMT_PEM), >, 0);
        }
        g_assert_cmpint(
            gnutls_init(&p->gs, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK), ==, 0);
        g_assert_cmpint(
            gnutls_priority_set_direct(p->gs, prio ? prio : "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL),
            ==, 0);
        gnutls_credentials_set(p->gs, GNUTLS_CRD_CERTIFICATE, p->gcred);
        gnutls_transport_set_ptr(p->gs, p);
        gnutls_transport_set_push_function(p->gs, g_push);
        gnutls_transport_set_pull_function(p->gs, g_pull);
        gnutls_session_set_ptr(p->gs, p);
        gnutls_session_set_keylog_function(p->gs, g_keylog);
        if (!server) {
            gnutls_server_name_set(p->gs, GNUTLS_NAME_DNS, name, strlen(name));
            gnutls_session_set_verify_cert(p->gs, name, 0);
        }
    } else {
        p->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        g_assert_nonnull(p->ctx);
        SSL_CTX_set_min_proto_version(p->ctx, TLS1_3_VERSION);
        SSL_CTX_set_keylog_callback(p->ctx, o_keylog);
        SSL_CTX_set_info_callback(p->ctx, o_info);
        if (server) {
            g_assert_cmpint(SSL_CTX_use_certificate_file(p->ctx, crt, SSL_FILETYPE_PEM), ==, 1);
            g_assert_cmpint(SSL_CTX_use_PrivateKey_file(p->ctx, key, SSL_FILETYPE_PEM), ==, 1);
            if (with_ca) {
                BIO *b = BIO_new_file(ca, "r");
                X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
                BIO_free(b);
                g_assert_nonnull(x);
                SSL_CTX_add_extra_chain_cert(p->ctx, x); /* the context owns x */
            }
        } else {
            g_assert_cmpint(SSL_CTX_load_verify_locations(p->ctx, ca, NULL), ==, 1);
            SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
        }
        p->ssl = SSL_new(p->ctx);
        SSL_set_app_data(p->ssl, p);
        if (prio)
            g_assert_cmpint(SSL_set1_groups_list(p->ssl, prio), ==, 1);
        p->rbio = BIO_new(BIO_s_mem());
        p->wbio = BIO_new(BIO_s_mem());
        SSL_set_bio(p->ssl, p->rbio, p->wbio);
        if (server) {
            SSL_set_accept_state(p->ssl);
        } else {
            SSL_set_connect_state(p->ssl);
            SSL_set_tlsext_host_name(p->ssl, name);
            SSL_set1_host(p->ssl, name);
        }
    }
    return p;
}

static void
peer_free(Peer *p)
{
    if (p->lib == LIB_GNUTLS) {
        gnutls_deinit(p->gs);
        gnutls_certificate_free_credentials(p->gcred);
    } else {
        SSL_free(p->ssl);
        SSL_CTX_free(p->ctx);
    }
    g_byte_array_unref(p->in);
    g_byte_array_unref(p->out);
    g_ptr_array_unref(p->keylog);
    g_byte_array_unref(p->received);
    g_free(p);
}

static void
o_drain(Peer *p)
{
    guint8 buf[4096];
    int n;
    while ((n = BIO_read(p->wbio, buf, sizeof buf)) > 0)
        g_byte_array_append(p->out, buf, (guint) n);
}

/* Lets the peer act on what it has received: handshake, then reading. */
static void
peer_step(Peer *p)
{
    guint8 buf[16384];
    if (p->lib == LIB_GNUTLS) {
        if (!p->done && !p->error) {
            int r = gnutls_handshake(p->gs);
            if (r == 0)
                p->done = TRUE;
            else if (gnutls_error_is_fatal(r))
                p->error = r;
        }
        while (p->done && !p->error && !p->got_close) {
            ssize_t r = gnutls_record_recv(p->gs, buf, sizeof buf);
            if (r > 0)
                g_byte_array_append(p->received, buf, (guint) r);
            else if (r == 0)
                p->got_close = TRUE;
            else {
                if (gnutls_error_is_fatal((int) r))
                    p->error = (int) r;
                break;
            }
        }
        if (p->error == GNUTLS_E_FATAL_ALERT_RECEIVED)
            p->alert = gnutls_alert_get(p->gs);
    } else {
        if (p->in->len > 0) {
            BIO_write(p->rbio, p->in->data, (int) p->in->len);
            g_byte_array_set_size(p->in, 0);
        }
        if (!p->done && !p->error) {
            int r = SSL_do_handshake(p->ssl);
            if (r == 1)
                p->done = TRUE;
            else if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
                p->error = SSL_get_error(p->ssl, r);
        }
        while (p->done && !p->error && !p->got_close) {
            size_t n = 0;
            if (SSL_read_ex(p->ssl, buf, sizeof buf, &n)) {
                g_byte_array_append(p->received, buf, (guint) n);
                continue;
            }
            int e = SSL_get_error(p->ssl, 0);
            if (e == SSL_ERROR_ZERO_RETURN)
                p->got_close = TRUE;
            else if (e != SSL_ERROR_WANT_READ)
                p->error = e;
            break;
        }
        o_drain(p);
        ERR_clear_error();
    }
}

static void
peer_send(Peer *p, const guint8 *data, gsize len)
{
    if (p->lib == LIB_GNUTLS) {
        while (len > 0) {
            ssize_t r = gnutls_record_send(p->gs, data, MIN(len, 16384));
            g_assert_cmpint(r, >, 0);
            data += r;
            len -= (gsize) r;
        }
    } else {
        size_t n;
        g_assert_cmpint(SSL_write_ex(p->ssl, data, len, &n), ==, 1);
        g_assert_cmpuint(n, ==, len);
        o_drain(p);
    }
}

static void
peer_close(Peer *p)
{
    if (p->lib == LIB_GNUTLS)
        gnutls_bye(p->gs, GNUTLS_SHUT_WR);
    else {
        SSL_shutdown(p->ssl);
        o_drain(p);
    }
}

/* Moves octets both ways until neither side has anything more to say. */
static void
pump(Ours *o, Peer *p)
{
    for (guint round = 0; round < 1000; round++) {
        gboolean moved = FALSE;
        GBytes *b = ms_tls_take_output(o->tls);
        if (b) {
            gsize n;
            const guint8 *d = g_bytes_get_data(b, &n);
            g_byte_array_append(p->in, d, (guint) n);
            g_bytes_unref(b);
            moved = TRUE;
        }
        peer_step(p);
        if (p->out->len > 0) {
            ms_tls_feed(o->tls, p->out->data, p->out->len);
            g_byte_array_set_size(p->out, 0);
            moved = TRUE;
        }
        ours_collect(o);
        if (!moved)
            return;
    }
    CU_FAIL("pump did not settle");
}

static guint8 *
pattern(gsize n, guint seed)
{
    guint8 *d = g_malloc(n);
    for (gsize i = 0; i < n; i++)
        d[i] = (guint8) (i * 31 + seed + (i >> 8));
    return d;
}

/* Every line of our key log is one the peer logged too, and ours holds
 * the five secrets of a full handshake. */
static void
check_keylog(const Ours *o, const Peer *p)
{
    static const char *const labels[] = {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
        "CLIENT_TRAFFIC_SECRET_0 ",
        "SERVER_TRAFFIC_SECRET_0 ",
        "EXPORTER_SECRET ",
    };
    CU_ASSERT_EQUAL(o->keylog->len, G_N_ELEMENTS(labels));
    for (guint i = 0; i < G_N_ELEMENTS(labels); i++) {
        gboolean have = FALSE;
        for (guint j = 0; j < o->keylog->len; j++)
            have |= g_str_has_prefix(g_ptr_array_index(o->keylog, j), labels[i]);
        CU_ASSERT_TRUE(have);
    }
    guint matched = 0;
    for (guint j = 0; j < o->keylog->len; j++) {
        const char *line = g_ptr_array_index(o->keylog, j);
        gboolean found = FALSE;
        for (guint k = 0; k < p->keylog->len; k++)
            found |= strcmp(line, g_ptr_array_index(p->keylog, k)) == 0;
        if (!found)
            printf("  our key log line not in the peer's: %s\n", line);
        matched += found;
    }
    CU_ASSERT_EQUAL(matched, o->keylog->len);
}

/* A whole session: handshake, data both ways, close both ways. */
static void
full_session(Lib lib, MsTlsRole role, gboolean with_ca)
{
    const char *name = with_ca ? CHAIN_NAME : SELF_NAME;
    Creds cr;
    creds_load(&cr, with_ca);
    Ours *o = ours_new(role, 42, role == MS_TLS_SERVER ? &cr : NULL, name);
    Peer *p = peer_new(lib, role == MS_TLS_CLIENT, with_ca, name, NULL);
    pump(o, p);
    CU_ASSERT_TRUE(p->done);
    CU_ASSERT_EQUAL(p->error, 0);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_ESTABLISHED);
    if (ms_tls_error(o->tls))
        printf("  our error: %s\n", ms_tls_error(o->tls));
    CU_ASSERT_STRING_EQUAL(ms_tls_cipher_suite(o->tls), "TLS_AES_128_GCM_SHA256");
    CU_ASSERT_TRUE(ms_tls_handshake_octets(o->tls) > 500);
    if (role == MS_TLS_CLIENT) {
        CU_ASSERT_EQUAL(o->verified, 1);
        CU_ASSERT_EQUAL(o->verified_n, cr.n);
        CU_ASSERT_STRING_EQUAL(o->verified_name, name);
    } else {
        CU_ASSERT_STRING_EQUAL(ms_tls_peer_server_name(o->tls), name);
    }
    check_keylog(o, p);

    /* a line each way, then 100 KiB each way */
    static const char hello[] = "EHLO client.example\r\n", reply[] = "250 ok\r\n";
    ms_tls_write(o->tls, (const guint8 *) hello, strlen(hello));
    peer_send(p, (const guint8 *) reply, strlen(reply));
    pump(o, p);
    CU_ASSERT_EQUAL(p->received->len, strlen(hello));
    CU_ASSERT_EQUAL(o->received->len, strlen(reply));
    CU_ASSERT_EQUAL(memcmp(o->received->data, reply, strlen(reply)), 0);
    g_byte_array_set_size(p->received, 0);
    g_byte_array_set_size(o->received, 0);
    g_autofree guint8 *big1 = pattern(BIG, 1), *big2 = pattern(BIG, 2);
    ms_tls_write(o->tls, big1, BIG);
    GBytes *sealed = ms_tls_take_output(o->tls);
    /* 100 KiB in records of at most 2^14 octets: 7 records, each 22
     * octets over its plaintext */
    CU_ASSERT_EQUAL(g_bytes_get_size(sealed), BIG + 7 * (5 + 1 + 16));
    g_byte_array_append(p->in, g_bytes_get_data(sealed, NULL), (guint) g_bytes_get_size(sealed));
    g_bytes_unref(sealed);
    peer_send(p, big2, BIG);
    pump(o, p);
    CU_ASSERT_EQUAL(p->received->len, BIG);
    CU_ASSERT_EQUAL(o->received->len, BIG);
    CU_ASSERT_TRUE(p->received->len == BIG && memcmp(p->received->data, big1, BIG) == 0);
    CU_ASSERT_TRUE(o->received->len == BIG && memcmp(o->received->data, big2, BIG) == 0);

    /* close_notify: ours closes, the peer sees it and closes too */
    ms_tls_close(o->tls);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_CLOSED);
    pump(o, p);
    CU_ASSERT_TRUE(p->got_close);
    peer_close(p);
    pump(o, p);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_CLOSED);
    CU_ASSERT_PTR_NULL(ms_tls_error(o->tls));
    peer_free(p);
    ours_free(o);
    creds_clear(&cr);
}

static void
test_gnutls_server(void)
{
    full_session(LIB_GNUTLS, MS_TLS_CLIENT, TRUE);
    full_session(LIB_GNUTLS, MS_TLS_CLIENT, FALSE);
}

static void
test_gnutls_client(void)
{
    full_session(LIB_GNUTLS, MS_TLS_SERVER, TRUE);
    full_session(LIB_GNUTLS, MS_TLS_SERVER, FALSE);
}

static void
test_openssl_server(void)
{
    full_session(LIB_OPENSSL, MS_TLS_CLIENT, TRUE);
    full_session(LIB_OPENSSL, MS_TLS_CLIENT, FALSE);
}

static void
test_openssl_client(void)
{
    full_session(LIB_OPENSSL, MS_TLS_SERVER, TRUE);
    full_session(LIB_OPENSSL, MS_TLS_SERVER, FALSE);
}

/* SHA-256("HelloRetryRequest"), RFC 8446 4.1.3 */
static const guint8 hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* A client preferring secp256r1: OpenSSL sends a share for its first group
 * only, gets a HelloRetryRequest and completes with its second ClientHello;
 * GnuTLS sends a share of each kind (secp256r1 and x25519), so our server
 * takes the x25519 one at once (expect_hrr FALSE). */
static void
hrr_session(Lib lib, const char *prio, gboolean expect_hrr)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *o = ours_new(MS_TLS_SERVER, 7, &cr, NULL);
    Peer *p = peer_new(lib, FALSE, TRUE, CHAIN_NAME, prio);
    peer_step(p);
    CU_ASSERT_TRUE(p->out->len > 0);
    ms_tls_feed(o->tls, p->out->data, p->out->len);
    g_byte_array_set_size(p->out, 0);
    GBytes *first = ms_tls_take_output(o->tls);
    gsize n = 0;
    const guint8 *d = first ? g_bytes_get_data(first, &n) : NULL;
    /* record header, handshake header, legacy_version, then the random */
    CU_ASSERT_TRUE(n > 43 && d[0] == 22 && d[5] == 2);
    CU_ASSERT_EQUAL(n > 43 && memcmp(d + 11, hrr_random, 32) == 0, expect_hrr);
    if (d)
        g_byte_array_append(p->in, d, (guint) n);
    if (first)
        g_bytes_unref(first);
    pump(o, p);
    CU_ASSERT_TRUE(p->done);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_ESTABLISHED);
    check_keylog(o, p);
    static const char line[] = "QUIT\r\n";
    peer_send(p, (const guint8 *) line, strlen(line));
    pump(o, p);
    CU_ASSERT_EQUAL(o->received->len, strlen(line));
    peer_free(p);
    ours_free(o);
    creds_clear(&cr);
}

static void
test_hrr(void)
{
    hrr_session(LIB_GNUTLS,
                "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519", FALSE);
    hrr_session(LIB_OPENSSL, "P-256:X25519", TRUE);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "our client against a GnuTLS server", test_gnutls_server },
        { "our server against a GnuTLS client", test_gnutls_client },
        { "our client against an OpenSSL server", test_openssl_server },
        { "our server against an OpenSSL client", test_openssl_client },
        { "a client preferring secp256r1 (HelloRetryRequest)", test_hrr },
        { NULL, NULL },
    };
    return ms_test_main("tls", cases);
}
