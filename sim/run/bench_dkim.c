/* The DKIM benchmark (see include/mailsim/bench_dkim.h): CPU per signed
 * and per verified message, RSA-2048 and Ed25519.
 *
 * Design. Keys come from the benchmark's seeded stream ("dkim/bench.example"),
 * the RSA key's generation timed once. The message is fixed: eleven header
 * fields (the default signed set and a Received) and a plain-text body of
 * about 1.6 KiB, some 2 KiB in all. A round signs it `ops` times with
 * relaxed/relaxed and the default options, then verifies the signed
 * message `ops` times, each time a fresh verifier answered with the key
 * parsed once (the receiver's cache); the key import is timed apart.
 * Times are CPU time of the process (CLOCK_PROCESS_CPUTIME_ID), read only
 * here: the DKIM module never sees a clock.
 *
 * Costs: rounds x ops x 2 signatures and verifications per algorithm, and
 * one RSA-2048 key generation (tens of milliseconds). */
#include "mailsim/bench_dkim.h"
#include "mailsim/dkim.h"
#include "mailsim/rng.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static char *
bench_message(void)
{
    GString *m = g_string_new(
        "Received: from client.bench.example (client.bench.example [192.0.2.10])\r\n"
        "\tby mx.bench.example with ESMTPS id 4f3a; Mon, 07 Dec 2026 07:00:00 +0000\r\n"
        "From: Alice Sender <alice@bench.example>\r\n"
        "To: Bob Receiver <bob@example.net>\r\n"
        "Cc: carol@example.net\r\n"
        "Subject: Quarterly figures for the benchmark\r\n"
        "Date: Mon, 07 Dec 2026 07:00:00 +0000\r\n"
        "Message-ID: <bench.1@bench.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Reply-To: alice@bench.example\r\n"
        "\r\n");
    for (guint i = 0; i < 29; i++)
        g_string_append_printf(m, "Line %02u of the body, a sentence  of ordinary text.  \r\n", i);
    return g_string_free(m, FALSE);
}

/* Times one algorithm; FALSE when a signature fails to be made or to pass. */
static gboolean
bench_alg(const MsDkimSigningKey *key, const char *msg, const MsBenchDkimParams *p, double *sign_us,
          double *verify_us)
{
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, "bench.example", "bench");
    gsize len = strlen(msg);
    g_autofree char *record = ms_dkim_signing_key_record(key);
    MsDkimKey *cached = ms_dkim_key_parse(record, strlen(record), NULL);
    if (!cached)
        return FALSE;
    g_autofree double *s = g_new(double, p->rounds);
    g_autofree double *v = g_new(double, p->rounds);
    gboolean ok = TRUE;
    g_autofree char *signed_msg = NULL;
    for (guint r = 0; r < p->rounds && ok; r++) {
        double t0 = cpu_now();
        for (guint i = 0; i < p->ops && ok; i++) {
            char *field = ms_dkim_sign(key, &opt, msg, len, NULL);
            ok = field != NULL;
            if (ok && !signed_msg)
                signed_msg = g_strconcat(field, msg, NULL);
            g_free(field);
        }
        s[r] = (cpu_now() - t0) * 1e6 / p->ops;
        if (!ok)
            break;
        gsize slen = strlen(signed_msg);
        t0 = cpu_now();
        for (guint i = 0; i < p->ops && ok; i++) {
            MsDkimVerifier *ver = ms_dkim_verifier_new(signed_msg, slen, 0, -1);
            ok = ms_dkim_verifier_count(ver) == 1;
            if (ok) {
                ms_dkim_verifier_answer_key(ver, 0, cached);
                ok = ms_dkim_verifier_result(ver, 0, NULL) == MS_DKIM_RESULT_PASS;
            }
            ms_dkim_verifier_free(ver);
        }
        v[r] = (cpu_now() - t0) * 1e6 / p->ops;
    }
    ms_dkim_key_free(cached);
    if (!ok)
        return FALSE;
    *sign_us = median(s, p->rounds);
    *verify_us = median(v, p->rounds);
    return TRUE;
}

void
ms_bench_dkim_run(const MsBenchDkimParams *params, MsBenchDkimResult *result)
{
    g_return_if_fail(params != NULL && result != NULL);
    g_return_if_fail(params->rounds >= 1 && params->ops >= 1);
    memset(result, 0, sizeof *result);
    g_autofree char *msg = bench_message();
    result->message_octets = (guint) strlen(msg);

    MsRng rng;
    ms_rng_init_named(&rng, params->seed, "dkim/bench.example");
    double t0 = cpu_now();
    g_autoptr(MsDkimSigningKey) rsa =
        ms_dkim_signing_key_generate(MS_DKIM_ALG_RSA_SHA256, 2048, &rng, NULL);
    result->rsa_keygen_ms = (cpu_now() - t0) * 1e3;
    g_autoptr(MsDkimSigningKey) ed =
        ms_dkim_signing_key_generate(MS_DKIM_ALG_ED25519_SHA256, 0, &rng, NULL);
    if (!rsa || !ed)
        return;

    g_autofree char *record = ms_dkim_signing_key_record(rsa);
    guint n = params->ops * params->rounds;
    t0 = cpu_now();
    for (guint i = 0; i < n; i++)
        ms_dkim_key_free(ms_dkim_key_parse(record, strlen(record), NULL));
    result->rsa_key_parse_us = (cpu_now() - t0) * 1e6 / n;

    result->ok = bench_alg(rsa, msg, params, &result->rsa_sign_us, &result->rsa_verify_us) &&
                 bench_alg(ed, msg, params, &result->ed25519_sign_us, &result->ed25519_verify_us);
}
