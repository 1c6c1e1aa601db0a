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
#include "mailsim/bench_tls.h"
#include "mailsim/rng.h"
#include "mailsim/tls.h"
#include "mailsim/tls_pki.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/gcm.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#define DATA       "tests/data/tls/"
#define SELF_NAME  "mx.example.net"
#define CHAIN_NAME "mx.isp-b.net"
#define BIG        (100 * 1024)
/* the simulated PKI's validity, and the time its verdicts are asked for */
#define PKI_FROM 1700000000
#define PKI_TO   4000000000
#define PKI_NOW  1800000000

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
    gsize chunk;      /* pump feeds input in pieces of this size (0: whole) */
    gboolean refuse;  /* the verify function refuses */
    MsTlsPki *pki;    /* when set, the verify function asks it (borrowed) */
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
    if (o->pki)
        return ms_tls_pki_verify(o->pki, chain, n, name, PKI_NOW, alert, why);
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

/* An endpoint; res (may be NULL) gives the resumption settings: ticket_key,
 * resume, psk_mode, now_ms. */
static Ours *
ours_new_res(MsTlsRole role, guint64 seed, const Creds *cr, const char *server_name,
             const MsTlsConfig *res)
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
    if (res) {
        cfg.ticket_key = res->ticket_key;
        cfg.resume = res->resume;
        cfg.psk_mode = res->psk_mode;
        cfg.now_ms = res->now_ms;
    }
    o->tls = ms_tls_new(&cfg);
    ms_tls_start(o->tls);
    return o;
}

static Ours *
ours_new(MsTlsRole role, guint64 seed, const Creds *cr, const char *server_name)
{
    return ours_new_res(role, seed, cr, server_name, NULL);
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

/* OpenSSL objects from PEM text. */
static X509 *
o_cert(const char *pem, const char **rest)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    /* where the next certificate starts, for a chain in one text */
    if (rest) {
        const char *end = strstr(pem, "-----END CERTIFICATE-----");
        *rest = end ? end + strlen("-----END CERTIFICATE-----") : pem + strlen(pem);
    }
    BIO_free(b);
    return x;
}

/* A peer of library lib. Server: chain_pem (leaf first) and key_pem;
 * client: ca_pem to trust and name to check and send as SNI. prio: GnuTLS
 * priority string or OpenSSL groups list (NULL for the defaults, TLS 1.3
 * forced either way). */
static Peer *
peer_new_pem(Lib lib, gboolean server, const char *name, const char *prio, const char *chain_pem,
             const char *key_pem, const char *ca_pem)
{
    Peer *p = g_new0(Peer, 1);
    p->lib = lib;
    p->server = server;
    p->in = g_byte_array_new();
    p->out = g_byte_array_new();
    p->alert = -1;
    p->keylog = g_ptr_array_new_with_free_func(g_free);
    p->received = g_byte_array_new();
    if (lib == LIB_GNUTLS) {
        g_assert_cmpint(gnutls_certificate_allocate_credentials(&p->gcred), ==, 0);
        if (server) {
            gnutls_datum_t c = { (unsigned char *) chain_pem, (unsigned int) strlen(chain_pem) };
            gnutls_datum_t kd = { (unsigned char *) key_pem, (unsigned int) strlen(key_pem) };
            g_assert_cmpint(
                gnutls_certificate_set_x509_key_mem(p->gcred, &c, &kd, GNUTLS_X509_FMT_PEM), ==, 0);
        } else {
            gnutls_datum_t ca = { (unsigned char *) ca_pem, (unsigned int) strlen(ca_pem) };
            g_assert_cmpint(
                gnutls_certificate_set_x509_trust_mem(p->gcred, &ca, GNUTLS_X509_FMT_PEM), >, 0);
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
            const char *rest;
            X509 *leaf = o_cert(chain_pem, &rest);
            g_assert_nonnull(leaf);
            g_assert_cmpint(SSL_CTX_use_certificate(p->ctx, leaf), ==, 1);
            X509_free(leaf);
            while (strstr(rest, "-----BEGIN CERTIFICATE-----")) {
                X509 *x = o_cert(rest, &rest);
                g_assert_nonnull(x);
                SSL_CTX_add_extra_chain_cert(p->ctx, x); /* the context owns x */
            }
            BIO *b = BIO_new_mem_buf(key_pem, -1);
            EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
            BIO_free(b);
            g_assert_nonnull(k);
            g_assert_cmpint(SSL_CTX_use_PrivateKey(p->ctx, k), ==, 1);
            EVP_PKEY_free(k);
        } else {
            X509 *ca = o_cert(ca_pem, NULL);
            g_assert_nonnull(ca);
            X509_STORE_add_cert(SSL_CTX_get_cert_store(p->ctx), ca);
            X509_free(ca);
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

/* A peer with the fixtures: the CA-issued leaf (sent with the CA) or the
 * self-signed certificate. */
static Peer *
peer_new(Lib lib, gboolean server, gboolean with_ca, const char *name, const char *prio)
{
    g_autofree char *leaf = NULL, *key = NULL, *ca = NULL;
    g_assert_true(
        g_file_get_contents(with_ca ? DATA "leaf.crt" : DATA "self.crt", &leaf, NULL, NULL));
    g_assert_true(
        g_file_get_contents(with_ca ? DATA "leaf.key" : DATA "self.key", &key, NULL, NULL));
    g_assert_true(g_file_get_contents(with_ca ? DATA "ca.crt" : DATA "self.crt", &ca, NULL, NULL));
    g_autofree char *chain = g_strconcat(leaf, with_ca ? ca : "", NULL);
    return peer_new_pem(lib, server, name, prio, chain, key, ca);
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
            else if (gnutls_error_is_fatal(r)) {
                p->error = r;
                /* as gnutls-serv and gnutls-cli do: tell the peer why */
                if (r != GNUTLS_E_FATAL_ALERT_RECEIVED)
                    gnutls_alert_send_appropriate(p->gs, r);
            }
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
            gsize step = o->chunk ? o->chunk : p->out->len;
            for (gsize i = 0; i < p->out->len; i += step)
                ms_tls_feed(o->tls, p->out->data + i, MIN(step, p->out->len - i));
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
full_session(Lib lib, MsTlsRole role, gboolean with_ca, gsize chunk)
{
    const char *name = with_ca ? CHAIN_NAME : SELF_NAME;
    Creds cr;
    creds_load(&cr, with_ca);
    Ours *o = ours_new(role, 42, role == MS_TLS_SERVER ? &cr : NULL, name);
    Peer *p = peer_new(lib, role == MS_TLS_CLIENT, with_ca, name, NULL);
    o->chunk = chunk;
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

    /* the peer updates its keys and asks us to update ours (RFC 8446
     * 4.6.3); a line each way under the new keys */
    g_byte_array_set_size(p->received, 0);
    g_byte_array_set_size(o->received, 0);
    int ku = lib == LIB_GNUTLS ? gnutls_session_key_update(p->gs, GNUTLS_KU_PEER)
                               : SSL_key_update(p->ssl, SSL_KEY_UPDATE_REQUESTED) - 1;
    CU_ASSERT_EQUAL(ku, 0);
    peer_send(p, (const guint8 *) reply, strlen(reply));
    pump(o, p);
    ms_tls_write(o->tls, (const guint8 *) hello, strlen(hello));
    pump(o, p);
    CU_ASSERT_EQUAL(o->received->len, strlen(reply));
    CU_ASSERT_EQUAL(p->received->len, strlen(hello));
    CU_ASSERT_EQUAL(p->error, 0);

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

/* The first ClientHello GnuTLS (a priority string) or OpenSSL (NULL)
 * sends for `name` (NULL: no SNI), as one handshake message. */
static GByteArray *
client_hello_of(const char *prio, gboolean openssl, const char *name)
{
    GByteArray *rec = g_byte_array_new();
    if (!openssl) {
        Peer p = { .in = g_byte_array_new(), .out = rec };
        gnutls_certificate_credentials_t cred;
        g_assert_cmpint(gnutls_certificate_allocate_credentials(&cred), ==, 0);
        g_assert_cmpint(gnutls_init(&p.gs, GNUTLS_CLIENT | GNUTLS_NONBLOCK), ==, 0);
        g_assert_cmpint(gnutls_priority_set_direct(p.gs, prio, NULL), ==, 0);
        gnutls_credentials_set(p.gs, GNUTLS_CRD_CERTIFICATE, cred);
        gnutls_transport_set_ptr(p.gs, &p);
        gnutls_transport_set_push_function(p.gs, g_push);
        gnutls_transport_set_pull_function(p.gs, g_pull);
        if (name)
            gnutls_server_name_set(p.gs, GNUTLS_NAME_DNS, name, strlen(name));
        CU_ASSERT_EQUAL(gnutls_handshake(p.gs), GNUTLS_E_AGAIN);
        gnutls_deinit(p.gs);
        gnutls_certificate_free_credentials(cred);
        g_byte_array_unref(p.in);
    } else {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        SSL *ssl = SSL_new(ctx);
        BIO *rd = BIO_new(BIO_s_mem()), *wr = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl, rd, wr);
        if (name)
            SSL_set_tlsext_host_name(ssl, name);
        CU_ASSERT_EQUAL(SSL_get_error(ssl, SSL_connect(ssl)), SSL_ERROR_WANT_READ);
        char *data;
        long n = BIO_get_mem_data(wr, &data);
        g_byte_array_append(rec, (const guint8 *) data, (guint) n);
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }
    /* one record of type handshake: its payload is the ClientHello */
    CU_ASSERT_FATAL(rec->len > 9 && rec->data[0] == 22);
    guint len = (guint) rec->data[3] << 8 | rec->data[4];
    CU_ASSERT_FATAL(len == rec->len - 5);
    g_byte_array_remove_range(rec, 0, 5);
    return rec;
}

/* ms_tls_client_hello_server_name() on ClientHellos of GnuTLS (TLS 1.2
 * only and 1.3) and OpenSSL, with and without SNI; every truncation and a
 * damaged length give NULL, never a read past the end. */
static void
test_client_hello_sni(void)
{
    static const struct {
        const char *prio;
        gboolean openssl;
    } libs[] = {
        { "NORMAL:-VERS-ALL:+VERS-TLS1.2", FALSE },
        { "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", FALSE },
        { NULL, TRUE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(libs); i++) {
        g_autoptr(GByteArray) m = client_hello_of(libs[i].prio, libs[i].openssl, "Smtp.ISP-A.net");
        g_autofree char *got = ms_tls_client_hello_server_name(m->data, m->len);
        CU_ASSERT_STRING_EQUAL(got ? got : "(null)", "smtp.isp-a.net");
        for (gsize k = 0; k < m->len; k++) {
            g_autofree char *cut = ms_tls_client_hello_server_name(m->data, k);
            CU_ASSERT_PTR_NULL(cut);
            if (k < 4)
                continue;
            /* cut with a header that agrees: the reader meets the end */
            g_autofree guint8 *copy = g_memdup2(m->data, k);
            copy[1] = (guint8) ((k - 4) >> 16);
            copy[2] = (guint8) ((k - 4) >> 8);
            copy[3] = (guint8) (k - 4);
            g_autofree char *short_one = ms_tls_client_hello_server_name(copy, k);
            CU_ASSERT_PTR_NULL(short_one);
        }
        m->data[3] ^= 1; /* the message's length no longer matches */
        g_autofree char *bad = ms_tls_client_hello_server_name(m->data, m->len);
        CU_ASSERT_PTR_NULL(bad);
        g_autoptr(GByteArray) none = client_hello_of(libs[i].prio, libs[i].openssl, NULL);
        g_autofree char *nothing = ms_tls_client_hello_server_name(none->data, none->len);
        CU_ASSERT_PTR_NULL(nothing);
    }
}

static void
test_gnutls_server(void)
{
    full_session(LIB_GNUTLS, MS_TLS_CLIENT, TRUE, 0);
    full_session(LIB_GNUTLS, MS_TLS_CLIENT, FALSE, 1);
}

static void
test_gnutls_client(void)
{
    full_session(LIB_GNUTLS, MS_TLS_SERVER, TRUE, 0);
    full_session(LIB_GNUTLS, MS_TLS_SERVER, FALSE, 1);
}

static void
test_openssl_server(void)
{
    full_session(LIB_OPENSSL, MS_TLS_CLIENT, TRUE, 0);
    full_session(LIB_OPENSSL, MS_TLS_CLIENT, FALSE, 1);
}

static void
test_openssl_client(void)
{
    full_session(LIB_OPENSSL, MS_TLS_SERVER, TRUE, 0);
    full_session(LIB_OPENSSL, MS_TLS_SERVER, FALSE, 1);
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

/* A HelloRetryRequest record answering the ClientHello `ch` (records, as
 * our client sent them: its session id is echoed) with the extension
 * block `exts` (n octets, without its length). */
static GByteArray *
hrr_record(const guint8 *ch, const guint8 *exts, gsize n)
{
    GByteArray *b = g_byte_array_new();
    guint body = 2 + 32 + 1 + 32 + 2 + 1 + 2 + (guint) n;
    const guint8 head[] = { 22,
                            3,
                            3,
                            (guint8) ((body + 4) >> 8),
                            (guint8) (body + 4),
                            2,
                            0,
                            (guint8) (body >> 8),
                            (guint8) body,
                            3,
                            3 };
    g_byte_array_append(b, head, sizeof head);
    g_byte_array_append(b, hrr_random, 32);
    /* record 5, handshake 4, legacy_version 2, random 32: the session id */
    g_byte_array_append(b, ch + 43, 33);
    const guint8 mid[] = { 0x13, 0x01, 0, (guint8) (n >> 8), (guint8) n };
    g_byte_array_append(b, mid, sizeof mid);
    g_byte_array_append(b, exts, (guint) n);
    return b;
}

/* Our client (no ticket: it sends an x25519 share) hears a retry built
 * from exts; want_alert 0: it must answer with a second ClientHello. */
static Ours *
client_hears_hrr(const guint8 *exts, gsize n, guint8 want_alert, const char *why)
{
    Ours *c = ours_new(MS_TLS_CLIENT, 11, NULL, CHAIN_NAME);
    g_autoptr(GBytes) ch = ms_tls_take_output(c->tls);
    g_autoptr(GByteArray) hrr = hrr_record(g_bytes_get_data(ch, NULL), exts, n);
    ms_tls_feed(c->tls, hrr->data, hrr->len);
    g_autoptr(GBytes) out = ms_tls_take_output(c->tls);
    gsize on = 0;
    const guint8 *d = out ? g_bytes_get_data(out, &on) : NULL;
    if (want_alert) {
        CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_FAILED);
        const char *err = ms_tls_error(c->tls);
        CU_ASSERT_TRUE(err && strstr(err, why));
        if (!err || !strstr(err, why))
            printf("  error \"%s\", expected it to say \"%s\"\n", err ? err : "(none)", why);
        const guint8 want[7] = { 21, 3, 3, 0, 2, 2, want_alert };
        CU_ASSERT_TRUE(on == 7 && memcmp(d, want, 7) == 0);
    } else {
        /* the compatibility CCS, then the second ClientHello (RFC 8446 D.4) */
        CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_HANDSHAKING);
        CU_ASSERT_TRUE(on > 6 + 5 + 4 && d[0] == 20 && d[6] == 22 && d[11] == 1);
        CU_ASSERT_TRUE(ms_tls_retried(c->tls));
        /* the cookie, the last four octets of exts, echoed */
        gboolean echoed = FALSE;
        for (gsize i = 0; d && i + 4 <= on && !echoed; i++)
            echoed = memcmp(d + i, exts + n - 4, 4) == 0;
        CU_ASSERT_TRUE(echoed);
    }
    return c;
}

/* Hostile or useless HelloRetryRequests (RFC 8446 4.1.4) and a good one
 * with a cookie, which the second ClientHello must echo. */
static void
test_bad_hrr(void)
{
    static const guint8 versions[] = { 0, 43, 0, 2, 3, 4 };
    /* key_share selected_group x25519: we already sent that share */
    static const guint8 x25519[] = { 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x1d };
    ours_free(client_hears_hrr(x25519, sizeof x25519, 47, "already carried"));
    static const guint8 p256[] = { 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17 };
    ours_free(client_hears_hrr(p256, sizeof p256, 47, "group 0x0017"));
    ours_free(client_hears_hrr(versions, sizeof versions, 47, "changes nothing"));
    static const guint8 tls12[] = { 0, 43, 0, 2, 3, 3, 0, 44, 0, 4, 0, 2, 0xab, 0xcd };
    ours_free(client_hears_hrr(tls12, sizeof tls12, 70, "TLS 1.3"));
    static const guint8 sni[] = { 0, 43, 0, 2, 3, 4, 0, 0, 0, 0, 0, 44, 0, 4, 0, 2, 0xab, 0xcd };
    ours_free(client_hears_hrr(sni, sizeof sni, 110, "HelloRetryRequest"));
    static const guint8 empty_cookie[] = { 0, 43, 0, 2, 3, 4, 0, 44, 0, 2, 0, 0 };
    ours_free(client_hears_hrr(empty_cookie, sizeof empty_cookie, 50, "cookie"));

    /* a cookie: echoed in the second ClientHello; a second retry is
     * unexpected_message */
    static const guint8 cookie[] = { 0, 43, 0, 2, 3, 4, 0, 44, 0, 6, 0, 4, 0xc0, 0x0c, 0x1e, 0x5a };
    Ours *c = client_hears_hrr(cookie, sizeof cookie, 0, NULL);
    Ours *probe = ours_new(MS_TLS_CLIENT, 11, NULL, CHAIN_NAME);
    g_autoptr(GBytes) ch = ms_tls_take_output(probe->tls);
    ours_free(probe);
    g_autoptr(GByteArray) again = hrr_record(g_bytes_get_data(ch, NULL), cookie, sizeof cookie);
    ms_tls_feed(c->tls, again->data, again->len);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(ms_tls_error(c->tls) &&
                   strstr(ms_tls_error(c->tls), "second HelloRetryRequest"));
    ours_free(c);
}

/* Our client refusing the server's chain: FAILED with the reason, and the
 * alert the verify function chose (unknown_ca) reaches the peer. */
static void
refusal(Lib lib)
{
    Ours *o = ours_new(MS_TLS_CLIENT, 3, NULL, CHAIN_NAME);
    o->refuse = TRUE;
    Peer *p = peer_new(lib, TRUE, TRUE, CHAIN_NAME, NULL);
    pump(o, p);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_FAILED);
    CU_ASSERT_STRING_EQUAL(ms_tls_error(o->tls),
                           "certificate verification failed: issuer not trusted by this test");
    CU_ASSERT_FALSE(p->done);
    CU_ASSERT_EQUAL(p->alert, 48);
    peer_free(p);
    ours_free(o);
}

static void
test_verify_refuses(void)
{
    refusal(LIB_GNUTLS);
    refusal(LIB_OPENSSL);
}

/* --------------------------------------------------- our two halves */

/* One exchange between our client and server: each one's records so far
 * to the other (appended to c2s and s2c when given). */
static void
shuttle(Ours *c, Ours *s, GByteArray *c2s, GByteArray *s2c)
{
    GBytes *b;
    while ((b = ms_tls_take_output(c->tls))) {
        if (c2s)
            g_byte_array_append(c2s, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
        ms_tls_feed(s->tls, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
        g_bytes_unref(b);
    }
    while ((b = ms_tls_take_output(s->tls))) {
        if (s2c)
            g_byte_array_append(s2c, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
        ms_tls_feed(c->tls, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
        g_bytes_unref(b);
    }
}

/* Our client and our server on seeds cs and ss: handshake, a line each way,
 * close. Appends what each sent to c2s and s2c. */
static void
run_pair(guint64 cs, guint64 ss, GByteArray *c2s, GByteArray *s2c)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *c = ours_new(MS_TLS_CLIENT, cs, NULL, CHAIN_NAME);
    Ours *s = ours_new(MS_TLS_SERVER, ss, &cr, NULL);
    static const char q[] = "USER alice\r\n", a[] = "+OK\r\n";
    ms_tls_write(c->tls, (const guint8 *) q, strlen(q));
    for (guint round = 0; round < 20; round++) {
        if (round == 3) {
            ms_tls_write(s->tls, (const guint8 *) a, strlen(a));
            ms_tls_close(s->tls);
        }
        shuttle(c, s, c2s, s2c);
        ours_collect(c);
        ours_collect(s);
    }
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_CLOSED);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_CLOSED);
    CU_ASSERT_TRUE(s->received->len == strlen(q) && memcmp(s->received->data, q, strlen(q)) == 0);
    CU_ASSERT_TRUE(c->received->len == strlen(a) && memcmp(c->received->data, a, strlen(a)) == 0);
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);
}

static gboolean
arrays_equal(const GByteArray *a, const GByteArray *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void
test_same_seed_same_bytes(void)
{
    g_autoptr(GByteArray) c1 = g_byte_array_new(), s1 = g_byte_array_new();
    g_autoptr(GByteArray) c2 = g_byte_array_new(), s2 = g_byte_array_new();
    g_autoptr(GByteArray) c3 = g_byte_array_new(), s3 = g_byte_array_new();
    run_pair(11, 12, c1, s1);
    run_pair(11, 12, c2, s2);
    run_pair(11, 13, c3, s3);
    CU_ASSERT_TRUE(c1->len > 200 && s1->len > 1000);
    CU_ASSERT_TRUE(arrays_equal(c1, c2));
    CU_ASSERT_TRUE(arrays_equal(s1, s2));
    /* another server seed: another server random and share, so every
     * record after the ClientHello differs */
    CU_ASSERT_FALSE(arrays_equal(s1, s3));
    CU_ASSERT_FALSE(arrays_equal(c1, c3));
}

/* Feeds `in` to a fresh endpoint (as run_pair made it) in pieces of
 * `chunk` octets (0: whole); returns what it sent, its plaintext and its
 * final state as one array. */
static GByteArray *
replay(MsTlsRole role, guint64 seed, const GByteArray *in, gsize chunk)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *o = ours_new(role, seed, role == MS_TLS_SERVER ? &cr : NULL, CHAIN_NAME);
    GByteArray *all = g_byte_array_new();
    GBytes *b;
    if (role == MS_TLS_CLIENT)
        ms_tls_write(o->tls, (const guint8 *) "USER alice\r\n", 12);
    gsize step = chunk ? chunk : in->len;
    for (gsize i = 0; i < in->len; i += step) {
        ms_tls_feed(o->tls, in->data + i, MIN(step, in->len - i));
        while ((b = ms_tls_take_output(o->tls))) {
            g_byte_array_append(all, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
            g_bytes_unref(b);
        }
    }
    ours_collect(o);
    g_byte_array_append(all, (const guint8 *) "|", 1);
    g_byte_array_append(all, o->received->data, o->received->len);
    guint8 st = (guint8) ms_tls_state(o->tls);
    g_byte_array_append(all, &st, 1);
    ours_free(o);
    creds_clear(&cr);
    return all;
}

/* Data written and the session closed before the handshake completes: the
 * data and then close_notify leave once it does; the server answers the
 * close with its own. */
static void
test_close_while_handshaking(void)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *c = ours_new(MS_TLS_CLIENT, 41, NULL, CHAIN_NAME);
    Ours *s = ours_new(MS_TLS_SERVER, 42, &cr, NULL);
    ms_tls_write(c->tls, (const guint8 *) "QUIT\r\n", 6);
    ms_tls_close(c->tls);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_HANDSHAKING);
    for (guint round = 0; round < 4; round++)
        shuttle(c, s, NULL, NULL);
    ours_collect(s);
    CU_ASSERT_TRUE(s->received->len == 6 && memcmp(s->received->data, "QUIT\r\n", 6) == 0);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_CLOSED);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_CLOSED);
    CU_ASSERT_STRING_EQUAL(ms_tls_cipher_suite(s->tls), "TLS_AES_128_GCM_SHA256");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);
}

static void connected_pair(Ours **c, Ours **s, Creds *cr);

/* The transport closing under the endpoint: a truncation unless a
 * close_notify came first (RFC 8446 6.1). */
static void
test_eof(void)
{
    Ours *c, *s;
    Creds cr;

    /* half a record, then the connection ends */
    connected_pair(&c, &s, &cr);
    ms_tls_write(c->tls, (const guint8 *) "DATA\r\n", 6);
    GBytes *b = ms_tls_take_output(c->tls);
    ms_tls_feed(s->tls, g_bytes_get_data(b, NULL), 10);
    g_bytes_unref(b);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_ESTABLISHED);
    ms_tls_eof(s->tls);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_STRING_EQUAL(
        ms_tls_error(s->tls),
        "connection closed in the middle of a record (10 octets of it received)");
    CU_ASSERT_PTR_NULL(ms_tls_take_output(s->tls));

    /* whole records but no close_notify: the client cannot know it has all */
    ms_tls_eof(c->tls);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(c->tls), "without close_notify") != NULL);
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* after close_notify both ways, the end of the connection is the end */
    connected_pair(&c, &s, &cr);
    ms_tls_close(c->tls);
    shuttle(c, s, NULL, NULL);
    ms_tls_eof(c->tls);
    ms_tls_eof(s->tls);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_CLOSED);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_CLOSED);
    CU_ASSERT_PTR_NULL(ms_tls_error(c->tls));
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* during the handshake */
    Ours *lone = ours_new(MS_TLS_CLIENT, 1, NULL, CHAIN_NAME);
    ms_tls_eof(lone->tls);
    CU_ASSERT_STRING_EQUAL(ms_tls_error(lone->tls), "connection closed during the handshake");
    ours_free(lone);
}

static void
test_any_split(void)
{
    g_autoptr(GByteArray) c2s = g_byte_array_new(), s2c = g_byte_array_new();
    run_pair(21, 22, c2s, s2c);
    for (int role = 0; role < 2; role++) {
        const GByteArray *in = role == MS_TLS_CLIENT ? s2c : c2s;
        guint64 seed = role == MS_TLS_CLIENT ? 21 : 22;
        g_autoptr(GByteArray) whole = replay(role, seed, in, 0);
        /* the state octet says CLOSED: the replay got as far as the run */
        CU_ASSERT_EQUAL(whole->data[whole->len - 1], MS_TLS_CLOSED);
        static const gsize chunks[] = { 1, 2, 3, 5, 7, 64, 1000 };
        for (guint i = 0; i < G_N_ELEMENTS(chunks); i++) {
            g_autoptr(GByteArray) split = replay(role, seed, in, chunks[i]);
            CU_ASSERT_TRUE(arrays_equal(whole, split));
        }
    }
}

/* A peer that speaks TLS 1.2 at most: the handshake fails on both sides
 * with an alert (protocol_version from our server, RFC 8446 4.2.1). */
static void
tls12_peer(Lib lib, MsTlsRole role)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *o = ours_new(role, 4, role == MS_TLS_SERVER ? &cr : NULL, CHAIN_NAME);
    Peer *p = peer_new(lib, role == MS_TLS_CLIENT, TRUE, CHAIN_NAME,
                       lib == LIB_GNUTLS ? "NORMAL:-VERS-ALL:+VERS-TLS1.2" : NULL);
    if (lib == LIB_OPENSSL) {
        SSL_set_min_proto_version(p->ssl, TLS1_2_VERSION);
        SSL_set_max_proto_version(p->ssl, TLS1_2_VERSION);
    }
    pump(o, p);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_FAILED);
    const char *err = ms_tls_error(o->tls);
    CU_ASSERT_FALSE(p->done);
    if (role == MS_TLS_SERVER) {
        /* our server tells the TLS 1.2 client so */
        CU_ASSERT_STRING_EQUAL(err, "ClientHello without supported_versions: the client does "
                                    "not speak TLS 1.3");
        CU_ASSERT_EQUAL(p->alert, 70);
    } else {
        /* a TLS 1.2 server finds nothing it can use in our ClientHello
         * (OpenSSL: protocol_version; GnuTLS: no common cipher suite) */
        CU_ASSERT_TRUE(err && g_str_has_prefix(err, "peer sent alert "));
        if (err && !g_str_has_prefix(err, "peer sent alert "))
            printf("  error: %s\n", err);
    }
    peer_free(p);
    ours_free(o);
    creds_clear(&cr);
}

static void
test_tls12_peer(void)
{
    tls12_peer(LIB_GNUTLS, MS_TLS_CLIENT);
    tls12_peer(LIB_GNUTLS, MS_TLS_SERVER);
    tls12_peer(LIB_OPENSSL, MS_TLS_CLIENT);
    tls12_peer(LIB_OPENSSL, MS_TLS_SERVER);
}

/* Certificates of the simulated PKI (tls_pki.h) in sessions with real
 * libraries: our server presents its credentials to GnuTLS and OpenSSL
 * clients trusting its CA; our client checks GnuTLS and OpenSSL servers
 * holding them with ms_tls_pki_verify(), and refuses one issued for
 * another name with bad_certificate, which the server hears. */
static void
pki_session(Lib lib, MsTlsRole role, MsTlsCertFault fault)
{
    MsRng rng;
    ms_rng_init(&rng, 77, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsTlsPki) pki = ms_tls_pki_new(NULL, &rng, PKI_FROM, PKI_TO, &error);
    g_assert_nonnull(pki);
    g_autoptr(MsTlsCredentials) cred = ms_tls_pki_issue(pki, CHAIN_NAME, fault, &rng, &error);
    g_assert_nonnull(cred);
    g_autofree char *ca = ms_tls_pki_ca_pem(pki);
    g_autofree char *key = ms_tls_credentials_key_pem(cred, &error);
    g_autoptr(GString) chain = g_string_new(NULL);
    for (guint i = 0; i < cred->n_certs; i++) {
        g_autofree char *pem = ms_tls_cert_pem(cred->chain[i]);
        g_string_append(chain, pem);
    }
    Creds cr = { .n = cred->n_certs };
    for (guint i = 0; i < cred->n_certs && i < 2; i++)
        cr.chain[i] = g_bytes_ref(cred->chain[i]);
    memcpy(cr.seed, cred->ed25519_seed, 32);
    Ours *o = ours_new(role, 78, role == MS_TLS_SERVER ? &cr : NULL, CHAIN_NAME);
    o->pki = pki;
    Peer *p = peer_new_pem(lib, role == MS_TLS_CLIENT, CHAIN_NAME, NULL, chain->str, key, ca);
    pump(o, p);
    if (fault == MS_TLS_CERT_GOOD) {
        CU_ASSERT_TRUE(p->done);
        CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_ESTABLISHED);
        check_keylog(o, p);
    } else {
        CU_ASSERT_FALSE(p->done);
        CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_FAILED);
        CU_ASSERT_TRUE(g_str_has_prefix(ms_tls_error(o->tls), "certificate verification failed: "));
        CU_ASSERT_EQUAL(p->alert, 42);
    }
    peer_free(p);
    ours_free(o);
    creds_clear(&cr);
}

static void
test_pki(void)
{
    for (int lib = LIB_GNUTLS; lib <= LIB_OPENSSL; lib++) {
        pki_session(lib, MS_TLS_SERVER, MS_TLS_CERT_GOOD);
        pki_session(lib, MS_TLS_CLIENT, MS_TLS_CERT_GOOD);
        pki_session(lib, MS_TLS_CLIENT, MS_TLS_CERT_WRONG_NAME);
    }
}

/* ------------------------------------------------------ hostile input */

/* Our server after `in`: FAILED, its error naming `why`, and its last
 * output the alert `alert` in clear. */
static void
server_refuses(const guint8 *in, gsize len, guint8 alert, const char *why)
{
    Creds cr;
    creds_load(&cr, FALSE);
    Ours *o = ours_new(MS_TLS_SERVER, 5, &cr, NULL);
    ms_tls_feed(o->tls, in, len);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_FAILED);
    const char *err = ms_tls_error(o->tls);
    CU_ASSERT_TRUE(err && strstr(err, why));
    if (!err || !strstr(err, why))
        printf("  error \"%s\", expected it to say \"%s\"\n", err ? err : "(none)", why);
    GBytes *b = ms_tls_take_output(o->tls);
    gsize n = 0;
    const guint8 *d = b ? g_bytes_get_data(b, &n) : NULL;
    const guint8 want[7] = { 21, 3, 3, 0, 2, 2, alert };
    CU_ASSERT_TRUE(n >= 7 && memcmp(d + n - 7, want, 7) == 0);
    if (b)
        g_bytes_unref(b);
    /* what follows is ignored */
    ms_tls_feed(o->tls, in, len);
    CU_ASSERT_PTR_NULL(ms_tls_take_output(o->tls));
    ours_free(o);
    creds_clear(&cr);
}

/* A real ClientHello (from our client with seed 9), as records. */
static GByteArray *
client_hello(void)
{
    Ours *c = ours_new(MS_TLS_CLIENT, 9, NULL, SELF_NAME);
    GBytes *b = ms_tls_take_output(c->tls);
    GByteArray *a = g_byte_array_new();
    g_byte_array_append(a, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
    g_bytes_unref(b);
    ours_free(c);
    return a;
}

static void
test_bad_records(void)
{
    /* a record longer than 2^14 + 256: refused from its header alone */
    static const guint8 huge[5] = { 22, 3, 1, 0x41, 0x01 };
    server_refuses(huge, sizeof huge, 22, "over the limit of 2^14 + 256");
    /* a record in clear over 2^14 (but within the protected limit) */
    g_autofree guint8 *big = g_malloc0(5 + 16385);
    memcpy(big, (const guint8[]){ 22, 3, 1, 0x40, 0x01 }, 5);
    server_refuses(big, 5 + 16385, 22, "over 2^14");
    /* not TLS at all: garbage where a ClientHello was due */
    server_refuses((const guint8 *) "EHLO x\r\n", 8, 10, "is the peer speaking TLS?");
    /* application data before any key */
    static const guint8 early[8] = { 23, 3, 3, 0, 3, 1, 2, 3 };
    server_refuses(early, sizeof early, 10, "before the handshake protected");
    /* an empty handshake record (RFC 8446 5.1) */
    static const guint8 empty[5] = { 22, 3, 1, 0, 0 };
    server_refuses(empty, sizeof empty, 10, "empty handshake record");
    /* a ChangeCipherSpec before the ClientHello */
    static const guint8 ccs[6] = { 20, 3, 3, 0, 1, 1 };
    server_refuses(ccs, sizeof ccs, 10, "ChangeCipherSpec outside the handshake");
}

static void
test_bad_client_hello(void)
{
    g_autoptr(GByteArray) ch = client_hello();
    /* a ClientHello of 64 KiB: refused once its header is in, not buffered */
    guint8 head[9] = { 22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00 };
    g_autofree guint8 *rec = g_malloc0(5 + 16384);
    memcpy(rec, head, sizeof head);
    server_refuses(rec, 5 + 16384, 47, "over our limit");

    /* truncated: the ClientHello's own length cut by 40 octets, so its
     * extension block overruns it */
    g_autoptr(GByteArray) t = g_byte_array_new();
    g_byte_array_append(t, ch->data, ch->len - 40);
    guint rl = t->len - 5, hl = rl - 4;
    t->data[3] = (guint8) (rl >> 8);
    t->data[4] = (guint8) rl;
    t->data[6] = (guint8) (hl >> 16);
    t->data[7] = (guint8) (hl >> 8);
    t->data[8] = (guint8) hl;
    server_refuses(t->data, t->len, 50, "malformed ClientHello (truncated)");

    /* a handshake message broken off by a record of another type */
    g_autoptr(GByteArray) cut = g_byte_array_new();
    g_byte_array_append(cut, ch->data, 5 + 20);
    cut->data[3] = 0;
    cut->data[4] = 20;
    g_byte_array_append(cut, (const guint8[]){ 21, 3, 3, 0, 2, 1, 0 }, 7);
    server_refuses(cut->data, cut->len, 10, "interrupted by other records");

    /* supported_versions without TLS 1.3: its 0x0304 made 0x0303 */
    g_autoptr(GByteArray) v = g_byte_array_new();
    g_byte_array_append(v, ch->data, ch->len);
    gboolean patched = FALSE;
    for (guint i = 43; i + 7 <= v->len && !patched; i++)
        if (memcmp(v->data + i, (const guint8[]){ 0, 43, 0, 3, 2, 3, 4 }, 7) == 0) {
            v->data[i + 6] = 3;
            patched = TRUE;
        }
    CU_ASSERT_TRUE(patched);
    server_refuses(v->data, v->len, 70, "does not offer TLS 1.3");

    /* a repeated extension: supported_groups renamed signature_algorithms */
    g_autoptr(GByteArray) d = g_byte_array_new();
    g_byte_array_append(d, ch->data, ch->len);
    patched = FALSE;
    for (guint i = 43; i + 6 <= d->len && !patched; i++)
        if (memcmp(d->data + i, (const guint8[]){ 0, 10, 0, 4, 0, 2 }, 6) == 0) {
            d->data[i + 1] = 13;
            patched = TRUE;
        }
    CU_ASSERT_TRUE(patched);
    server_refuses(d->data, d->len, 47, "repeats extension 13");
}

/* TLS 1.3 keys from a key log secret (RFC 8446 7.3), computed here with
 * nettle independently of the endpoint, to forge protected records. */
static void
expand_label(const guint8 secret[32], const char *label, guint8 *out, gsize len)
{
    guint8 info[64];
    gsize n = 0, l = strlen(label);
    info[n++] = 0;
    info[n++] = (guint8) len;
    info[n++] = (guint8) (6 + l);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, l);
    n += 6 + l;
    info[n++] = 0;
    struct hmac_sha256_ctx h;
    hmac_sha256_set_key(&h, 32, secret);
    hkdf_expand(&h, (nettle_hash_update_func *) hmac_sha256_update,
                (nettle_hash_digest_func *) hmac_sha256_digest, 32, n, info, len, out);
}

/* A record of inner type `type` sealed with the first key of the secret
 * logged under `label`, sequence number seq. */
static GByteArray *
forge(const Ours *o, const char *label, guint64 seq, guint8 type, const guint8 *data, gsize len)
{
    guint8 secret[32], key[16], iv[12];
    const char *line = NULL;
    for (guint i = 0; i < o->keylog->len; i++)
        if (g_str_has_prefix(g_ptr_array_index(o->keylog, i), label))
            line = g_ptr_array_index(o->keylog, i);
    g_assert_nonnull(line);
    const char *hex = strrchr(line, ' ') + 1;
    for (guint i = 0; i < 32; i++)
        sscanf(hex + 2 * i, "%2hhx", &secret[i]);
    expand_label(secret, "key", key, 16);
    expand_label(secret, "iv", iv, 12);
    for (guint i = 0; i < 8; i++)
        iv[11 - i] ^= (guint8) (seq >> (8 * i));
    GByteArray *r = g_byte_array_new();
    gsize ct = len + 1 + 16;
    g_byte_array_append(r, (const guint8[]){ 23, 3, 3, (guint8) (ct >> 8), (guint8) ct }, 5);
    g_byte_array_set_size(r, (guint) (5 + ct));
    memcpy(r->data + 5, data, len);
    r->data[5 + len] = type;
    struct gcm_aes128_ctx g;
    gcm_aes128_set_key(&g, key);
    gcm_aes128_set_iv(&g, 12, iv);
    gcm_aes128_update(&g, 5, r->data);
    gcm_aes128_encrypt(&g, len + 1, r->data + 5, r->data + 5);
    gcm_aes128_digest(&g, 16, r->data + 5 + len + 1);
    return r;
}

/* Our client and server, handshake done; returns them through c and s. */
static void
connected_pair(Ours **c, Ours **s, Creds *cr)
{
    creds_load(cr, TRUE);
    *c = ours_new(MS_TLS_CLIENT, 31, NULL, CHAIN_NAME);
    *s = ours_new(MS_TLS_SERVER, 32, cr, NULL);
    for (guint round = 0; round < 4; round++)
        shuttle(*c, *s, NULL, NULL);
    CU_ASSERT_EQUAL(ms_tls_state((*c)->tls), MS_TLS_ESTABLISHED);
    CU_ASSERT_EQUAL(ms_tls_state((*s)->tls), MS_TLS_ESTABLISHED);
}

/* The server's alert after bad input, read by our client. */
static void
client_hears(Ours *s, Ours *c, const char *alert)
{
    GBytes *b = ms_tls_take_output(s->tls);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (!b)
        return;
    ms_tls_feed(c->tls, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
    g_bytes_unref(b);
    CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_FAILED);
    g_autofree char *want = g_strdup_printf("peer sent alert %s", alert);
    CU_ASSERT_TRUE(ms_tls_error(c->tls) && g_str_has_prefix(ms_tls_error(c->tls), want));
}

static void
test_after_handshake(void)
{
    Ours *c, *s;
    Creds cr;

    /* renegotiation: a ClientHello under the application keys */
    connected_pair(&c, &s, &cr);
    g_autoptr(GByteArray) ch = client_hello();
    g_autoptr(GByteArray) reneg =
        forge(c, "CLIENT_TRAFFIC_SECRET_0", 0, 22, ch->data + 5, ch->len - 5);
    ms_tls_feed(s->tls, reneg->data, reneg->len);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(s->tls), "renegotiation") != NULL);
    client_hears(s, c, "unexpected_message");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* the same forged record is accepted as data when its type says so:
     * the forging above is right, the refusal is about the content */
    connected_pair(&c, &s, &cr);
    g_autoptr(GByteArray) data = forge(c, "CLIENT_TRAFFIC_SECRET_0", 0, 23, ch->data, 10);
    ms_tls_feed(s->tls, data->data, data->len);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_ESTABLISHED);
    ours_collect(s);
    CU_ASSERT_EQUAL(s->received->len, 10);

    /* bad MAC: one bit of the next record flipped */
    data = (g_byte_array_unref(data), forge(c, "CLIENT_TRAFFIC_SECRET_0", 1, 23, ch->data, 10));
    data->data[9] ^= 0x10;
    ms_tls_feed(s->tls, data->data, data->len);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(s->tls), "bad_record_mac") != NULL);
    client_hears(s, c, "bad_record_mac");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* garbage after the handshake (plaintext SMTP after STARTTLS) */
    connected_pair(&c, &s, &cr);
    ms_tls_feed(s->tls, (const guint8 *) "EHLO x\r\n", 8);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(s->tls), "is the peer speaking TLS?") != NULL);
    client_hears(s, c, "unexpected_message");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* an alert in clear after the handshake: forgeable, so refused */
    connected_pair(&c, &s, &cr);
    static const guint8 fatal[7] = { 21, 3, 3, 0, 2, 2, 40 };
    ms_tls_feed(s->tls, fatal, sizeof fatal);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(s->tls), "alert in clear after the handshake") != NULL);
    client_hears(s, c, "unexpected_message");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);

    /* a truncated protected record (shorter than its tag) */
    connected_pair(&c, &s, &cr);
    static const guint8 stub[10] = { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 };
    ms_tls_feed(s->tls, stub, sizeof stub);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), MS_TLS_FAILED);
    CU_ASSERT_TRUE(strstr(ms_tls_error(s->tls), "too short") != NULL);
    client_hears(s, c, "bad_record_mac");
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);
}

/* A GnuTLS client's application record with a flipped bit: our server
 * fails with bad_record_mac and GnuTLS receives that alert. */
static void
test_bad_mac_gnutls(void)
{
    Creds cr;
    creds_load(&cr, TRUE);
    Ours *o = ours_new(MS_TLS_SERVER, 8, &cr, NULL);
    Peer *p = peer_new(LIB_GNUTLS, FALSE, TRUE, CHAIN_NAME, NULL);
    pump(o, p);
    CU_ASSERT_TRUE(p->done);
    peer_send(p, (const guint8 *) "DATA\r\n", 6);
    CU_ASSERT_TRUE(p->out->len > 20);
    p->out->data[p->out->len - 3] ^= 1;
    pump(o, p);
    CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_FAILED);
    CU_ASSERT_EQUAL(p->error, GNUTLS_E_FATAL_ALERT_RECEIVED);
    CU_ASSERT_EQUAL(p->alert, GNUTLS_A_BAD_RECORD_MAC);
    peer_free(p);
    ours_free(o);
    creds_clear(&cr);
}

/* The benchmark runs its handshakes to the end and reports plausible
 * figures; `mailsim bench tls` prints them. */
static void
test_bench(void)
{
    MsBenchTlsParams p = { 3, 5, 1u << 20, 1 };
    MsBenchTlsResult r;
    ms_bench_tls_run(&p, &r);
    CU_ASSERT_TRUE(r.ok);
    CU_ASSERT_TRUE(r.handshake_cpu_us > 1 && r.handshake_cpu_us < 1e6);
    CU_ASSERT_TRUE(r.handshake_octets > 500 && r.handshake_octets < 4000);
    /* resumed (r.ok says each did resume): psk_ke does no public-key
     * operation at all, so it costs a fraction of a full handshake */
    CU_ASSERT_TRUE(r.resumed_dhe_cpu_us > 0 && r.resumed_ke_cpu_us > 0);
    CU_ASSERT_TRUE(r.resumed_ke_cpu_us < r.handshake_cpu_us);
    CU_ASSERT_TRUE(r.seal_mb_s > 0 && r.open_mb_s > 0);
    const char *argv[] = { ms_test_mailsim_path(), "bench", "tls",     "--rounds", "1",
                           "--handshakes",         "2",     "--bytes", "64KiB",    NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    g_autofree char *us = out ? ms_test_field(out, "handshake_cpu_us") : NULL;
    g_autofree char *ke = out ? ms_test_field(out, "resumed_ke_cpu_us") : NULL;
    CU_ASSERT_TRUE(out && g_str_has_prefix(out, "tls rounds=1 handshakes=2 ") && us && ke);
}

/* ------------------------------------------------------------ resumption */

static const guint8 ticket_key[16] = "0123456789abcdef";
/* OpenSSL's ticket keys (name, HMAC and AES keys, 80 octets) and GnuTLS's,
 * the same for both connections so the second server can open the ticket */
static guint8 o_ticket_keys[80];

static void
peer_tickets(Peer *p, gnutls_datum_t *gkey)
{
    if (p->lib == LIB_GNUTLS) {
        if (p->server)
            g_assert_cmpint(gnutls_session_ticket_enable_server(p->gs, gkey), ==, 0);
    } else if (p->server) {
        memset(o_ticket_keys, 0x5a, sizeof o_ticket_keys);
        g_assert_cmpint(SSL_CTX_set_tlsext_ticket_keys(p->ctx, o_ticket_keys, 80), ==, 1);
    }
}

/* Our client against a peer server twice: the ticket of the first session
 * is offered in the second, which the peer must resume (and say so); with
 * `foreign` the second server has other ticket keys and cannot open it,
 * so the handshake is a full one. With psk_ke our client sends no key
 * share (RFC 8446 4.2.8); GnuTLS and OpenSSL servers take psk_dhe_ke (or
 * need a full handshake) and so ask for one with a HelloRetryRequest,
 * which the client must answer (4.1.4). */
static void
resume_peer_server(Lib lib, MsTlsPskMode mode, gboolean foreign)
{
    Creds cr;
    creds_load(&cr, TRUE);
    gnutls_datum_t gkey = { NULL, 0 }, gother = { NULL, 0 };
    g_assert_cmpint(gnutls_session_ticket_key_generate(&gkey), ==, 0);
    g_assert_cmpint(gnutls_session_ticket_key_generate(&gother), ==, 0);
    MsTlsSession *sess = NULL;
    for (guint round = 0; round < 2; round++) {
        gboolean resumes = round == 1 && !foreign;
        MsTlsConfig res = { .resume = sess, .psk_mode = mode, .now_ms = 1000 + round * 60000 };
        Ours *o = ours_new_res(MS_TLS_CLIENT, 50 + round, NULL, CHAIN_NAME, &res);
        Peer *p = peer_new(lib, TRUE, TRUE, CHAIN_NAME, NULL);
        if (round == 1 && foreign && lib == LIB_GNUTLS)
            peer_tickets(p, &gother);
        else if (!(round == 1 && foreign)) /* OpenSSL: its own random keys */
            peer_tickets(p, &gkey);
        pump(o, p);
        static const char reply[] = "220 ready\r\n";
        peer_send(p, (const guint8 *) reply, strlen(reply)); /* lets the ticket out */
        pump(o, p);
        CU_ASSERT_TRUE(p->done);
        CU_ASSERT_EQUAL(p->error, 0);
        CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_ESTABLISHED);
        if (ms_tls_error(o->tls))
            printf("  our error: %s\n", ms_tls_error(o->tls));
        CU_ASSERT_EQUAL(o->received->len, strlen(reply));
        check_keylog(o, p);
        gboolean peer_resumed =
            lib == LIB_GNUTLS ? gnutls_session_is_resumed(p->gs) : SSL_session_reused(p->ssl);
        CU_ASSERT_EQUAL(ms_tls_resumed(o->tls), resumes);
        CU_ASSERT_EQUAL(!!peer_resumed, resumes);
        /* a resumption checks no certificate: the ticket stands for it */
        CU_ASSERT_EQUAL(o->verified, resumes ? 0 : 1);
        /* the empty key share of a psk_ke offer costs a retry here */
        CU_ASSERT_EQUAL(ms_tls_retried(o->tls), round == 1 && mode == MS_TLS_PSK_KE);
        CU_ASSERT_STRING_EQUAL(ms_tls_group(o->tls), "x25519");
        ms_tls_session_free(sess);
        sess = ms_tls_take_session(o->tls);
        CU_ASSERT_PTR_NOT_NULL(sess);
        if (sess)
            CU_ASSERT_STRING_EQUAL(ms_tls_session_server_name(sess), CHAIN_NAME);
        peer_free(p);
        ours_free(o);
    }
    ms_tls_session_free(sess);
    gnutls_free(gkey.data);
    gnutls_free(gother.data);
    creds_clear(&cr);
}

static void
test_resume_with_peer_server(void)
{
    resume_peer_server(LIB_GNUTLS, MS_TLS_PSK_DHE_KE, FALSE);
    resume_peer_server(LIB_OPENSSL, MS_TLS_PSK_DHE_KE, FALSE);
    /* psk_ke offered first, without a key share: both libraries still
     * take psk_dhe_ke, which we offer too, after a HelloRetryRequest */
    resume_peer_server(LIB_GNUTLS, MS_TLS_PSK_KE, FALSE);
    resume_peer_server(LIB_OPENSSL, MS_TLS_PSK_KE, FALSE);
    /* a ticket the server cannot open: HelloRetryRequest, then a full
     * handshake (the ticket offered again with a new binder, ignored) */
    resume_peer_server(LIB_GNUTLS, MS_TLS_PSK_KE, TRUE);
    resume_peer_server(LIB_OPENSSL, MS_TLS_PSK_KE, TRUE);
}

/* A peer client against our server twice, resuming the second time with
 * the ticket we sent (gnutls_session_get_data2/set_data,
 * SSL_get1_session/SSL_set_session). */
static void
resume_peer_client(Lib lib, const char *prio)
{
    Creds cr;
    creds_load(&cr, TRUE);
    gnutls_datum_t gdata = { NULL, 0 };
    SSL_SESSION *osess = NULL;
    for (guint round = 0; round < 2; round++) {
        MsTlsConfig res = { .ticket_key = ticket_key, .now_ms = 5000 + round * 1000 };
        Ours *o = ours_new_res(MS_TLS_SERVER, 60 + round, &cr, NULL, &res);
        Peer *p = peer_new(lib, FALSE, TRUE, CHAIN_NAME, prio);
        if (round == 1 && lib == LIB_GNUTLS)
            g_assert_cmpint(gnutls_session_set_data(p->gs, gdata.data, gdata.size), ==, 0);
        if (round == 1 && lib == LIB_OPENSSL)
            g_assert_cmpint(SSL_set_session(p->ssl, osess), ==, 1);
        pump(o, p);
        static const char hello[] = "220 ready\r\n";
        ms_tls_write(o->tls, (const guint8 *) hello, strlen(hello));
        pump(o, p);
        CU_ASSERT_TRUE(p->done);
        CU_ASSERT_EQUAL(p->error, 0);
        CU_ASSERT_EQUAL(p->received->len, strlen(hello));
        CU_ASSERT_EQUAL(ms_tls_state(o->tls), MS_TLS_ESTABLISHED);
        if (ms_tls_error(o->tls))
            printf("  our error: %s\n", ms_tls_error(o->tls));
        check_keylog(o, p);
        gboolean peer_resumed =
            lib == LIB_GNUTLS ? gnutls_session_is_resumed(p->gs) : SSL_session_reused(p->ssl);
        CU_ASSERT_EQUAL(ms_tls_resumed(o->tls), round == 1);
        CU_ASSERT_EQUAL(!!peer_resumed, round == 1);
        if (!!peer_resumed != (round == 1))
            printf("  %s client (%s) did not resume\n", lib == LIB_GNUTLS ? "GnuTLS" : "OpenSSL",
                   prio ? prio : "default");
        if (round == 0 && lib == LIB_GNUTLS)
            g_assert_cmpint(gnutls_session_get_data2(p->gs, &gdata), ==, 0);
        if (round == 0 && lib == LIB_OPENSSL) {
            osess = SSL_get1_session(p->ssl);
            CU_ASSERT_TRUE(osess && SSL_SESSION_is_resumable(osess) &&
                           SSL_SESSION_has_ticket(osess));
            /* a connection freed without a shutdown marks its session
             * unresumable in OpenSSL: close as a real client does */
            SSL_set_shutdown(p->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        }
        peer_free(p);
        ours_free(o);
    }
    gnutls_free(gdata.data);
    SSL_SESSION_free(osess);
    creds_clear(&cr);
}

static void
test_resume_with_peer_client(void)
{
    resume_peer_client(LIB_GNUTLS, NULL);
    resume_peer_client(LIB_OPENSSL, NULL);
    /* a GnuTLS client sending a secp256r1 share: HelloRetryRequest, then the
     * binder covers the first ClientHello's hash and the retry too */
    resume_peer_client(LIB_GNUTLS, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1:"
                                   "+GROUP-X25519");
}

/* Our client and server: a full handshake, then one offering its ticket
 * (damaged as `damage` says), stepping until both settle. */
typedef enum { INTACT, BINDER_FLIPPED, EXPIRED, OTHER_NAME, OTHER_KEY } Damage;

static void
resume_ours(MsTlsPskMode mode, Damage damage, gboolean want_resumed, MsTlsState want_state)
{
    Creds cr;
    creds_load(&cr, TRUE);
    MsTlsConfig sres = { .ticket_key = ticket_key, .now_ms = 1000 };
    Ours *c = ours_new_res(MS_TLS_CLIENT, 70, NULL, CHAIN_NAME, &sres);
    Ours *s = ours_new_res(MS_TLS_SERVER, 71, &cr, NULL, &sres);
    for (guint i = 0; i < 5; i++)
        shuttle(c, s, NULL, NULL);
    CU_ASSERT_FALSE(ms_tls_resumed(c->tls));
    guint64 full = ms_tls_handshake_octets(c->tls);
    g_autoptr(MsTlsSession) sess = ms_tls_take_session(c->tls);
    g_assert_nonnull(sess);
    ours_free(c);
    ours_free(s);

    static const guint8 other_key[16] = "fedcba9876543210";
    MsTlsConfig cres = { .resume = sess, .psk_mode = mode, .now_ms = 2000 };
    sres.now_ms = damage == EXPIRED ? 1000 + 7200 * 1000 : 2000;
    if (damage == OTHER_KEY)
        sres.ticket_key = other_key;
    c = ours_new_res(MS_TLS_CLIENT, 72, NULL, damage == OTHER_NAME ? SELF_NAME : CHAIN_NAME, &cres);
    s = ours_new_res(MS_TLS_SERVER, 73, &cr, NULL, &sres);
    if (damage == BINDER_FLIPPED) {
        g_autoptr(GBytes) ch = ms_tls_take_output(c->tls);
        gsize n = g_bytes_get_size(ch);
        guint8 *d = g_memdup2(g_bytes_get_data(ch, NULL), n);
        d[n - 1] ^= 1; /* the binder ends the ClientHello */
        ms_tls_feed(s->tls, d, n);
        g_free(d);
    }
    for (guint i = 0; i < 5; i++)
        shuttle(c, s, NULL, NULL);
    CU_ASSERT_EQUAL(ms_tls_resumed(c->tls), want_resumed);
    CU_ASSERT_EQUAL(ms_tls_resumed(s->tls), want_resumed);
    CU_ASSERT_EQUAL(ms_tls_state(s->tls), want_state);
    /* psk_ke: no key share, so no X25519 when resumed, a HelloRetryRequest
     * when our server must fall back to a full handshake */
    gboolean psk_ke = mode == MS_TLS_PSK_KE && damage != OTHER_NAME;
    if (want_state == MS_TLS_ESTABLISHED) {
        CU_ASSERT_EQUAL(ms_tls_retried(c->tls), psk_ke && !want_resumed);
        CU_ASSERT_EQUAL(ms_tls_retried(s->tls), psk_ke && !want_resumed);
        CU_ASSERT_EQUAL(ms_tls_group(c->tls) == NULL, psk_ke && want_resumed);
        CU_ASSERT_EQUAL(ms_tls_group(s->tls) == NULL, psk_ke && want_resumed);
    }
    if (want_state == MS_TLS_ESTABLISHED) {
        CU_ASSERT_EQUAL(ms_tls_state(c->tls), MS_TLS_ESTABLISHED);
        /* the same five secrets logged on both sides */
        CU_ASSERT_EQUAL(c->keylog->len, 5);
        for (guint i = 0; i < c->keylog->len && i < s->keylog->len; i++)
            CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c->keylog, i),
                                   g_ptr_array_index(s->keylog, i));
        CU_ASSERT_EQUAL(c->verified, want_resumed ? 0 : 1);
        if (want_resumed)
            CU_ASSERT_TRUE(ms_tls_handshake_octets(c->tls) < full / 2);
        g_autoptr(MsTlsSession) next = ms_tls_take_session(c->tls);
        CU_ASSERT_PTR_NOT_NULL(next); /* a fresh ticket after each handshake */
    } else {
        CU_ASSERT_STRING_EQUAL(ms_tls_error(s->tls), "PSK binder does not verify");
        CU_ASSERT_STRING_EQUAL(ms_tls_error(c->tls), "peer sent alert decrypt_error (51)");
    }
    ours_free(c);
    ours_free(s);
    creds_clear(&cr);
}

static void
test_resume_ours(void)
{
    resume_ours(MS_TLS_PSK_DHE_KE, INTACT, TRUE, MS_TLS_ESTABLISHED);
    resume_ours(MS_TLS_PSK_KE, INTACT, TRUE, MS_TLS_ESTABLISHED);
    /* a ticket we cannot open (sealed under another key: its GCM tag fails
     * as a damaged one's does) or no longer should: a full handshake */
    resume_ours(MS_TLS_PSK_DHE_KE, EXPIRED, FALSE, MS_TLS_ESTABLISHED);
    resume_ours(MS_TLS_PSK_DHE_KE, OTHER_KEY, FALSE, MS_TLS_ESTABLISHED);
    resume_ours(MS_TLS_PSK_KE, EXPIRED, FALSE, MS_TLS_ESTABLISHED);
    resume_ours(MS_TLS_PSK_KE, OTHER_KEY, FALSE, MS_TLS_ESTABLISHED);
    resume_ours(MS_TLS_PSK_KE, OTHER_NAME, FALSE, MS_TLS_ESTABLISHED);
    /* the client does not offer a ticket for another name */
    resume_ours(MS_TLS_PSK_DHE_KE, OTHER_NAME, FALSE, MS_TLS_ESTABLISHED);
    /* a binder that does not verify: decrypt_error (RFC 8446 4.2.11) */
    resume_ours(MS_TLS_PSK_DHE_KE, BINDER_FLIPPED, FALSE, MS_TLS_FAILED);
}

/* A client's key cache: the first full handshake parses the server's
 * certificate and keeps its key; the second, to the same certificate,
 * takes it from the cache, and still checks the CertificateVerify
 * signature with it (a server with another key under the same
 * certificate is refused); another certificate is parsed anew. */
static void
test_key_cache(void)
{
    Creds cr, self;
    creds_load(&cr, TRUE);
    creds_load(&self, FALSE);
    g_autoptr(MsTlsKeyCache) cache = ms_tls_key_cache_new();
    struct {
        const Creds *creds;
        const char *name;
        gboolean wrong_key;
        guint size;
        guint64 hits;
        MsTlsState state;
    } steps[] = {
        { &cr, CHAIN_NAME, FALSE, 1, 0, MS_TLS_ESTABLISHED },
        { &cr, CHAIN_NAME, FALSE, 1, 1, MS_TLS_ESTABLISHED },
        { &cr, CHAIN_NAME, TRUE, 1, 2, MS_TLS_FAILED },
        { &self, SELF_NAME, FALSE, 2, 2, MS_TLS_ESTABLISHED },
    };
    for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
        Creds use = *steps[i].creds;
        if (steps[i].wrong_key)
            memcpy(use.seed, self.seed, 32); /* signs with a key the certificate does not hold */
        Ours *c = g_new0(Ours, 1);
        ms_rng_init(&c->rng, 80 + i, 17);
        c->keylog = g_ptr_array_new_with_free_func(g_free);
        c->received = g_byte_array_new();
        MsTlsConfig cfg = { .role = MS_TLS_CLIENT,
                            .rng = &c->rng,
                            .server_name = steps[i].name,
                            .verify = ours_verify,
                            .user_data = c,
                            .key_cache = cache };
        c->tls = ms_tls_new(&cfg);
        ms_tls_start(c->tls);
        Ours *s = ours_new(MS_TLS_SERVER, 90 + i, &use, NULL);
        for (guint k = 0; k < 5; k++)
            shuttle(c, s, NULL, NULL);
        CU_ASSERT_EQUAL(ms_tls_state(c->tls), steps[i].state);
        CU_ASSERT_EQUAL(ms_tls_key_cache_size(cache), steps[i].size);
        CU_ASSERT_EQUAL(ms_tls_key_cache_hits(cache), steps[i].hits);
        if (steps[i].wrong_key)
            CU_ASSERT_TRUE(
                ms_tls_error(c->tls) &&
                strstr(ms_tls_error(c->tls), "CertificateVerify signature is not valid"));
        ours_free(c);
        ours_free(s);
    }
    creds_clear(&cr);
    creds_clear(&self);
}

/* The mail layer: lesson 12's second sessions to the same MX names
 * resume; --tls-resumption chooses how, or turns it off. Lesson 11's POP3
 * session after an SMTP one to the same host does not: clients keep
 * tickets per service (server name and port), as real ones do. */
static void
test_resume_in_a_world(void)
{
    static const char *const modes[] = { "psk_dhe_ke", "psk_ke", "off", "bogus" };
    static const char *const want[] = {
        "resumed with its session ticket (no certificate sent): x25519,",
        "resumed with its session ticket (no certificate sent): no key exchange,",
        NULL,
        NULL,
    };
    for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *opt = g_strdup_printf("--tls-resumption=%s", modes[i]);
        const char *argv[] = { ms_test_mailsim_path(), "run", opt,
                               "scenarios/teaching/12-encryption-between-providers.xml", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int rc = ms_test_spawn(argv, &out, &err);
        if (i == 3) {
            CU_ASSERT_EQUAL(rc, 2);
            CU_ASSERT_TRUE(err && strstr(err, "'bogus' is not psk_dhe_ke"));
            continue;
        }
        CU_ASSERT_EQUAL(rc, 0);
        gboolean found = out && strstr(out, want[i] ? want[i] : "resumed");
        CU_ASSERT_EQUAL(found, want[i] != NULL);
    }
    const char *argv[] = { ms_test_mailsim_path(), "run",
                           "scenarios/teaching/11-password-on-the-wire.xml", NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    CU_ASSERT_TRUE(out && !strstr(out, "resumed"));
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
        { "HelloRetryRequests our client must refuse, and a cookie", test_bad_hrr },
        { "a refused certificate reaches the peer as an alert", test_verify_refuses },
        { "certificates of the simulated PKI with GnuTLS and OpenSSL", test_pki },
        { "a peer speaking TLS 1.2 at most", test_tls12_peer },
        { "same seed, byte-identical records", test_same_seed_same_bytes },
        { "any split of the input, the same result", test_any_split },
        { "closing while the handshake runs", test_close_while_handshaking },
        { "the connection ending under the endpoint", test_eof },
        { "hostile records", test_bad_records },
        { "hostile ClientHellos", test_bad_client_hello },
        { "renegotiation, bad MAC, garbage after the handshake", test_after_handshake },
        { "a bad MAC from GnuTLS", test_bad_mac_gnutls },
        { "the benchmark (mailsim bench tls)", test_bench },
        { "resumption: our client, GnuTLS and OpenSSL servers", test_resume_with_peer_server },
        { "resumption: GnuTLS and OpenSSL clients, our server", test_resume_with_peer_client },
        { "resumption between our endpoints, damaged tickets", test_resume_ours },
        { "a client's cache of certificate keys", test_key_cache },
        { "the server_name of GnuTLS's and OpenSSL's ClientHellos", test_client_hello_sni },
        { "resumption in a world (mailsim run --tls-resumption)", test_resume_in_a_world },
        { NULL, NULL },
    };
    return ms_test_main("tls", cases);
}
