/* The TLS benchmark (see include/mailsim/bench_tls.h): CPU per handshake
 * and per octet of protected data for the simulated TLS 1.3 endpoint.
 *
 * Design. The server's credentials are made once, here, with GnuTLS's
 * X.509 API: an Ed25519 key from the benchmark's seeded stream and a
 * self-signed certificate for "mx.bench.example" (fixed validity, no clock
 * read), the same shape as the simulated PKI's. A handshake is a client and
 * a server endpoint on their own streams, records passed between them until
 * both are ESTABLISHED, then freed: every public-key operation a simulated
 * session pays (two X25519 key pairs and shared secrets, one Ed25519
 * signature and verification, one X.509 parse) and nothing else. The
 * server holds its key pair and a ticket key as the mail layer's servers
 * do; resumed handshakes offer the ticket of the first session, with
 * psk_dhe_ke (two X25519 key pairs and secrets, no certificate) and with
 * psk_ke (no public-key operation at all). Data
 * throughput: one connected pair; the client seals `bytes` in writes of
 * 16 KiB (full records), the server opens them; each timed separately.
 * Times are CPU time of the process (CLOCK_PROCESS_CPUTIME_ID), read only
 * here: the endpoints never see a clock.
 *
 * Costs: 3 x rounds x handshakes handshakes, 2 x rounds x bytes of
 * AES-GCM. */
#include "mailsim/bench_tls.h"
#include "mailsim/rng.h"
#include "mailsim/tls.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <nettle/eddsa.h>
#include <string.h>
#include <time.h>

#define BENCH_NAME "mx.bench.example"

static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double
median(double *v, guint n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A self-signed Ed25519 certificate for BENCH_NAME; the key's seed from rng. */
static GBytes *
make_cert(MsRng *rng, guint8 seed[32])
{
    for (guint i = 0; i < 32; i += 8) {
        guint64 v = ms_rng_next(rng);
        memcpy(seed + i, &v, 8);
    }
    gnutls_privkey_t priv = NULL;
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t k = { seed, 32 }, der = { NULL, 0 };
    GBytes *out = NULL;
    static const guint8 serial[1] = { 1 };
    if (gnutls_x509_privkey_init(&key) >= 0 && gnutls_x509_crt_init(&crt) >= 0 &&
        gnutls_privkey_init(&priv) >= 0) {
        guint8 pub[32];
        ed25519_sha512_public_key(pub, seed);
        gnutls_datum_t x = { pub, 32 };
        int ret = gnutls_x509_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_key(crt, key);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_version(crt, 3);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_activation_time(crt, 1700000000);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_expiration_time(crt, 4100000000);
        if (ret >= 0)
            ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, BENCH_NAME,
                                                strlen(BENCH_NAME));
        if (ret >= 0)
            ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, BENCH_NAME,
                                                       strlen(BENCH_NAME), GNUTLS_FSAN_SET);
        if (ret >= 0)
            ret = gnutls_privkey_import_x509(priv, key, 0);
        if (ret >= 0)
            ret = gnutls_x509_crt_privkey_sign(crt, crt, priv, GNUTLS_DIG_UNKNOWN, 0);
        if (ret >= 0)
            ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
        if (ret >= 0)
            out = g_bytes_new(der.data, der.size);
        else
            g_warning("bench tls: GnuTLS could not make the certificate: %s", gnutls_strerror(ret));
    }
    gnutls_free(der.data);
    gnutls_privkey_deinit(priv);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return out;
}

typedef struct {
    MsRng crng, srng;
    MsTls *client, *server;
} Pair;

/* The server's credentials as the mail layer holds them: the key pair
 * loaded once, a ticket key. */
typedef struct {
    GBytes *cert;
    guint8 seed[32], pub[32];
    guint8 ticket_key[16];
} Server;

/* A client and a server; resume (NULL: none) is offered with mode. */
static void
pair_open(Pair *p, const MsBenchTlsParams *params, guint64 n, const Server *sv,
          const MsTlsSession *resume, MsTlsPskMode mode)
{
    ms_rng_init(&p->crng, params->seed, 2 * n + 100);
    ms_rng_init(&p->srng, params->seed, 2 * n + 101);
    MsTlsConfig c = { .role = MS_TLS_CLIENT,
                      .rng = &p->crng,
                      .server_name = BENCH_NAME,
                      .resume = resume,
                      .psk_mode = mode,
                      .now_ms = 1000 };
    MsTlsConfig s = {
        .role = MS_TLS_SERVER,
        .rng = &p->srng,
        .cert_chain = &sv->cert,
        .n_certs = 1,
        .ed25519_seed = sv->seed,
        .ed25519_pub = sv->pub,
        .ticket_key = sv->ticket_key,
        .now_ms = 1000,
    };
    p->client = ms_tls_new(&c);
    p->server = ms_tls_new(&s);
}

/* Passes records both ways until neither side has more; returns the
 * octets moved. */
static guint64
pair_pump(Pair *p)
{
    guint64 moved = 0;
    for (gboolean again = TRUE; again;) {
        again = FALSE;
        GBytes *b;
        while ((b = ms_tls_take_output(p->client))) {
            moved += g_bytes_get_size(b);
            ms_tls_feed(p->server, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
            g_bytes_unref(b);
            again = TRUE;
        }
        while ((b = ms_tls_take_output(p->server))) {
            moved += g_bytes_get_size(b);
            ms_tls_feed(p->client, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
            g_bytes_unref(b);
            again = TRUE;
        }
    }
    return moved;
}

static gboolean
pair_established(const Pair *p)
{
    return ms_tls_state(p->client) == MS_TLS_ESTABLISHED &&
           ms_tls_state(p->server) == MS_TLS_ESTABLISHED;
}

static void
pair_close(Pair *p)
{
    ms_tls_free(p->client);
    ms_tls_free(p->server);
}

void
ms_bench_tls_run(const MsBenchTlsParams *params, MsBenchTlsResult *result)
{
    g_return_if_fail(params->rounds >= 1 && params->handshakes >= 1);
    memset(result, 0, sizeof *result);
    MsRng rng;
    Server sv;
    ms_rng_init(&rng, params->seed, 99);
    g_autoptr(GBytes) cert = make_cert(&rng, sv.seed);
    if (!cert)
        return;
    sv.cert = cert;
    ed25519_sha512_public_key(sv.pub, sv.seed);
    memcpy(sv.ticket_key, "bench ticket key", 16);
    result->ok = TRUE;
    g_autofree double *hs = g_new(double, params->rounds);
    g_autofree double *dhe = g_new(double, params->rounds);
    g_autofree double *ke = g_new(double, params->rounds);
    g_autofree double *seal = g_new(double, params->rounds);
    g_autofree double *open = g_new(double, params->rounds);
    guint64 n = 0;
    g_autoptr(MsTlsSession) session = NULL;
    for (guint r = 0; r < params->rounds; r++) {
        double t0 = cpu_now();
        for (guint i = 0; i < params->handshakes; i++) {
            Pair p;
            pair_open(&p, params, n++, &sv, NULL, MS_TLS_PSK_DHE_KE);
            ms_tls_start(p.client);
            result->handshake_octets = pair_pump(&p);
            result->ok &= pair_established(&p);
            if (!session)
                session = ms_tls_take_session(p.client);
            pair_close(&p);
        }
        hs[r] = (cpu_now() - t0) * 1e6 / params->handshakes;
    }
    /* resumed: each offers the first session's ticket (RFC 8446 2.2) */
    result->ok &= session != NULL;
    for (guint mode = 0; mode < 2 && session; mode++) {
        for (guint r = 0; r < params->rounds; r++) {
            double t0 = cpu_now();
            for (guint i = 0; i < params->handshakes; i++) {
                Pair p;
                pair_open(&p, params, n++, &sv, session, (MsTlsPskMode) mode);
                ms_tls_start(p.client);
                pair_pump(&p);
                result->ok &= pair_established(&p) && ms_tls_resumed(p.client);
                pair_close(&p);
            }
            (mode == MS_TLS_PSK_KE ? ke : dhe)[r] = (cpu_now() - t0) * 1e6 / params->handshakes;
        }
    }

    /* data: one connected pair, full records */
    Pair p;
    pair_open(&p, params, n++, &sv, NULL, MS_TLS_PSK_DHE_KE);
    ms_tls_start(p.client);
    pair_pump(&p);
    result->ok &= pair_established(&p);
    g_autofree guint8 *chunk = g_malloc0(16384);
    for (guint r = 0; r < params->rounds; r++) {
        g_autoptr(GPtrArray) records =
            g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
        double t0 = cpu_now();
        for (guint64 done = 0; done < params->bytes; done += 16384) {
            ms_tls_write(p.client, chunk, (gsize) MIN(16384, params->bytes - done));
            g_ptr_array_add(records, ms_tls_take_output(p.client));
        }
        double t1 = cpu_now();
        guint64 got = 0;
        for (guint i = 0; i < records->len; i++) {
            GBytes *b = g_ptr_array_index(records, i);
            ms_tls_feed(p.server, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
            GBytes *plain = ms_tls_take_plaintext(p.server);
            got += plain ? g_bytes_get_size(plain) : 0;
            if (plain)
                g_bytes_unref(plain);
        }
        double t2 = cpu_now();
        result->ok &= got == params->bytes;
        seal[r] = t1 > t0 ? (double) params->bytes / (t1 - t0) / 1e6 : 0.0;
        open[r] = t2 > t1 ? (double) params->bytes / (t2 - t1) / 1e6 : 0.0;
    }
    result->ok &= ms_tls_state(p.server) == MS_TLS_ESTABLISHED;
    pair_close(&p);
    result->handshake_cpu_us = median(hs, params->rounds);
    result->resumed_dhe_cpu_us = median(dhe, params->rounds);
    result->resumed_ke_cpu_us = median(ke, params->rounds);
    result->seal_mb_s = median(seal, params->rounds);
    result->open_mb_s = median(open, params->rounds);
}
