/* Tests of DKIM (sim/proto/dkim*.c): tag-lists (RFC 6376 3.2), the
 * DKIM-Signature field and key records with a table of malformed inputs
 * each refused with its reason, canonicalisation on RFC 6376 3.4.6's own
 * example, RFC 8463 Appendix A's signed message verified with its
 * published keys (both signatures) and tampered with in each way that
 * must fail, every result a receiver can report, signing and verifying
 * with generated and PEM-loaded keys, and interoperability with Debian's
 * python3-dkim in both directions (tests/dkim_interop.py). */
#include "testlib.h"
#include "mailsim/bench_dkim.h"
#include "mailsim/dkim.h"
#include "mailsim/rng.h"

#include <glib/gstdio.h>
#include <nettle/sha2.h>
#include <string.h>

/* --------------------------------------------------------------- tag-lists */

static void
test_tag_list(void)
{
    g_autoptr(GError) error = NULL;
    const char *text = " v = 1 ;a=x y\r\n\tz;\tb_1=;  ";
    g_autoptr(MsDkimTagList) l = ms_dkim_tag_list_parse(text, strlen(text), &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(ms_dkim_tag_list_size(l), 3);
    CU_ASSERT_STRING_EQUAL(ms_dkim_tag_list_name(l, 0), "v");
    CU_ASSERT_STRING_EQUAL(ms_dkim_tag_list_value(l, 0), "1");
    /* inner folding white space is kept (RFC 6376 3.2) */
    CU_ASSERT_STRING_EQUAL(ms_dkim_tag_list_lookup(l, "a"), "x y\r\n\tz");
    CU_ASSERT_STRING_EQUAL(ms_dkim_tag_list_lookup(l, "b_1"), "");
    CU_ASSERT_PTR_NULL(ms_dkim_tag_list_lookup(l, "V")); /* names are case-sensitive */

    g_autoptr(MsDkimTagList) empty = ms_dkim_tag_list_parse("", 0, &error);
    CU_ASSERT_PTR_NOT_NULL(empty);
    CU_ASSERT_EQUAL(empty ? ms_dkim_tag_list_size(empty) : 99, 0);

    static const char *const bad[] = {
        "a=1;;b=2",   /* empty spec in the middle */
        "a=1; a=2",   /* duplicate */
        "1a=x",       /* name starts with a digit */
        "a-b=x",      /* "-" not in a name */
        "=x",         /* no name */
        "a",          /* no "=" */
        "a=1;b",      /* no "=" */
        "a=x;y=\x01", /* control character in a value */
        "a=\xc3\xa9", /* non-ASCII value */
        "a=1;;",      /* two trailing separators */
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsDkimTagList) b = ms_dkim_tag_list_parse(bad[i], strlen(bad[i]), &e);
        if (b)
            g_printerr("accepted bad tag-list '%s'\n", bad[i]);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT(g_error_matches(e, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX));
    }
}

/* ------------------------------------------------------ DKIM-Signature */

#define SIG_OK                                                                                     \
    "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel; h=From : To;"                      \
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA =="

static MsDkimSignature *
sig_parse(const char *text, GError **error)
{
    return ms_dkim_signature_parse(text, strlen(text), error);
}

static void
test_signature_parse(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDkimSignature) s = sig_parse(SIG_OK "; zz=unknown; t=100; x=100", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->alg, MS_DKIM_ALG_RSA_SHA256);
    CU_ASSERT_EQUAL(s->header_canon, MS_DKIM_CANON_RELAXED);
    CU_ASSERT_EQUAL(s->body_canon, MS_DKIM_CANON_SIMPLE);
    CU_ASSERT_STRING_EQUAL(s->domain, "example.com");
    CU_ASSERT_STRING_EQUAL(s->selector, "sel");
    CU_ASSERT_STRING_EQUAL(s->identity, "@example.com");
    CU_ASSERT_STRING_EQUAL(s->headers[0], "from");
    CU_ASSERT_STRING_EQUAL(s->headers[1], "to");
    CU_ASSERT_PTR_NULL(s->headers[2]);
    CU_ASSERT_STRING_EQUAL(s->b_text, "dGVzdA==");
    CU_ASSERT_EQUAL(g_bytes_get_size(s->signature), 4);
    CU_ASSERT_EQUAL(g_bytes_get_size(s->body_hash), 32);
    CU_ASSERT_EQUAL(s->body_length, -1);
    CU_ASSERT_EQUAL(s->timestamp, 100);
    CU_ASSERT_EQUAL(s->expiration, 100); /* x = t accepted */

    /* c= defaults to simple/simple; "relaxed" alone means relaxed/simple */
    g_autoptr(MsDkimSignature) d =
        sig_parse("v=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh="
                  "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==; l=12;"
                  " i=joe@mail.example.com; q=dns/txt",
                  &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->alg, MS_DKIM_ALG_ED25519_SHA256);
    CU_ASSERT_EQUAL(d->header_canon, MS_DKIM_CANON_SIMPLE);
    CU_ASSERT_EQUAL(d->body_canon, MS_DKIM_CANON_SIMPLE);
    CU_ASSERT_EQUAL(d->body_length, 12);
    CU_ASSERT_STRING_EQUAL(d->identity, "joe@mail.example.com");

    static const struct {
        const char *text;
        MsDkimError code;
        const char *reason; /* a substring of the message */
    } bad[] = {
        { "a=rsa-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "v=" },
        { "v=1; d=example.com; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
          "b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "a=" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=",
          MS_DKIM_ERROR_SYNTAX, "b=" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; b=dGVzdA==", MS_DKIM_ERROR_SYNTAX,
          "bh=" },
        { "v=1; a=rsa-sha256; s=s; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
          "b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "d=" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
          "b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "h=" },
        { "v=1; a=rsa-sha256; d=example.com; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "s=" },
        { SIG_OK "; v=1", MS_DKIM_ERROR_SYNTAX, "twice" },
        { "v=2; a=rsa-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_UNSUPPORTED, "version" },
        { "v=1; a=rsa-sha1; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_UNSUPPORTED, "8301" },
        { "v=1; a=hmac-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_UNSUPPORTED, "algorithm" },
        { SIG_OK "; c=strict", MS_DKIM_ERROR_SYNTAX, "twice" },
        { "v=1; a=rsa-sha256; c=relaxed/strict; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_UNSUPPORTED, "canonicalization" },
        { "v=1; a=rsa-sha256; c=simple/simple/simple; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_UNSUPPORTED, "canonicalization" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=to:subject; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "From" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from::to; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "empty" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; i=joe@example.net; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "not within" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; i=@badexample.com; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "not within" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; i=example.com; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "@" },
        { SIG_OK "; t=101; x=100", MS_DKIM_ERROR_SYNTAX, "x= is before t=" },
        { SIG_OK "; t=1x", MS_DKIM_ERROR_SYNTAX, "timestamp" },
        { SIG_OK "; x=1234567890123", MS_DKIM_ERROR_SYNTAX, "timestamp" },
        { SIG_OK "; l=-5", MS_DKIM_ERROR_SYNTAX, "length" },
        { SIG_OK "; q=dns/xyz", MS_DKIM_ERROR_UNSUPPORTED, "query" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVz!A==",
          MS_DKIM_ERROR_SYNTAX, "b=" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=",
          MS_DKIM_ERROR_SYNTAX, "b=" },
        { "v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=dGVzdA==; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "bh=" },
        { "v=1; a=rsa-sha256; d=exa mple.com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "domain" },
        { "v=1; a=rsa-sha256; d=example..com; s=s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "domain" },
        { "v=1; a=rsa-sha256; d=example.com; s=.s; h=from; "
          "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=dGVzdA==",
          MS_DKIM_ERROR_SYNTAX, "selector" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsDkimSignature) b = sig_parse(bad[i].text, &e);
        if (b || !g_error_matches(e, MS_DKIM_ERROR, bad[i].code) ||
            !strstr(e->message, bad[i].reason))
            g_printerr("signature %u '%s': %s\n", i, bad[i].text, e ? e->message : "accepted");
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT(g_error_matches(e, MS_DKIM_ERROR, bad[i].code));
        CU_ASSERT(e && strstr(e->message, bad[i].reason) != NULL);
    }
}

/* ------------------------------------------------------------ key records */

/* RFC 8463 A.2: the example's two key records (the RSA one 1024 bits). */
#define RFC_ED25519_RECORD "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC_RSA_P                                                                                  \
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"   \
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf" \
    "O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RFC_RSA_RECORD "v=DKIM1; k=rsa; p=" RFC_RSA_P
/* The same RSA key as a bare RSAPublicKey (PKCS#1), by openssl rsa -RSAPublicKey_out. */
#define RFC_RSA_PKCS1                                                                              \
    "MIGJAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW60AIN/" \
    "PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/"                                           \
    "OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6X8rjDdAgMBAAE="
/* A 512-bit RSA key (openssl genpkey), under RFC 8301's floor. */
#define RSA_512_P                                                                                  \
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANSxy1MbMdR7DaDfFoH1X26uyq84yjrjw6be3+dEFiLOdOZoMnmzfMgqBgd1" \
    "Df6yXkM0gGAy/rQl6m8T1IfIbGUCAwEAAQ=="

static MsDkimKey *
key_parse(const char *text, GError **error)
{
    return ms_dkim_key_parse(text, strlen(text), error);
}

static void
test_key_parse(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDkimKey) ed = key_parse(RFC_ED25519_RECORD, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
    CU_ASSERT_EQUAL(ms_dkim_key_type(ed), MS_DKIM_KEY_ED25519);
    CU_ASSERT_EQUAL(ms_dkim_key_bits(ed), 256);
    CU_ASSERT_FALSE(ms_dkim_key_testing(ed));

    g_autoptr(MsDkimKey) rsa = key_parse(RFC_RSA_RECORD, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
    CU_ASSERT_EQUAL(ms_dkim_key_type(rsa), MS_DKIM_KEY_RSA);
    CU_ASSERT_EQUAL(ms_dkim_key_bits(rsa), 1024);

    /* k= defaults to rsa; PKCS#1 form; p= folded; t=y:s; s=email; h=sha1:sha256 */
    g_autoptr(MsDkimKey) p1 =
        key_parse("h=sha1:sha256; s=email; t=y:s; n=notes ok; p=" RFC_RSA_PKCS1, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_EQUAL(ms_dkim_key_bits(p1), 1024);
    CU_ASSERT_TRUE(ms_dkim_key_testing(p1));
    g_autoptr(MsDkimKey) folded = key_parse(
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQH\r\n\tOg7hcvPapiMlrwIaaPcHURo=", &error);
    CU_ASSERT_PTR_NOT_NULL(folded);

    static const struct {
        const char *text;
        MsDkimError code;
        const char *reason;
    } bad[] = {
        { "k=rsa; v=DKIM1; p=" RFC_RSA_P, MS_DKIM_ERROR_SYNTAX, "first" },
        { "v=DKIM2; p=" RFC_RSA_P, MS_DKIM_ERROR_SYNTAX, "DKIM1" },
        { "v=DKIM1; k=rsa", MS_DKIM_ERROR_SYNTAX, "without p=" },
        { "v=DKIM1; p=", MS_DKIM_ERROR_KEY, "revoked" },
        { "v=DKIM1; k=ed25519; p=", MS_DKIM_ERROR_KEY, "revoked" },
        { "v=DKIM1; h=sha1; p=" RFC_RSA_P, MS_DKIM_ERROR_UNSUPPORTED, "sha256" },
        { "v=DKIM1; s=tlsrpt; p=" RFC_RSA_P, MS_DKIM_ERROR_UNSUPPORTED, "email" },
        { "v=DKIM1; k=dsa; p=" RFC_RSA_P, MS_DKIM_ERROR_UNSUPPORTED, "k=dsa" },
        { "v=DKIM1; p=not base64!", MS_DKIM_ERROR_SYNTAX, "base64" },
        { "v=DKIM1; p=" RSA_512_P, MS_DKIM_ERROR_KEY, "8301" },
        { "v=DKIM1; p=AQAB", MS_DKIM_ERROR_KEY, "not an RSA public key" },
        { "v=DKIM1; k=ed25519; p=" RFC_RSA_P, MS_DKIM_ERROR_KEY, "not 32" },
        { "v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", MS_DKIM_ERROR_KEY,
          "not an RSA public key" },
        { "v=DKIM1; p=a; p=b", MS_DKIM_ERROR_SYNTAX, "twice" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsDkimKey) b = key_parse(bad[i].text, &e);
        if (b || !g_error_matches(e, MS_DKIM_ERROR, bad[i].code) ||
            !strstr(e->message, bad[i].reason))
            g_printerr("key %u '%s': %s\n", i, bad[i].text, e ? e->message : "accepted");
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT(g_error_matches(e, MS_DKIM_ERROR, bad[i].code));
        CU_ASSERT(e && strstr(e->message, bad[i].reason) != NULL);
    }
    g_autofree char *q = ms_dkim_query_name("brisbane", "football.example.com");
    CU_ASSERT_STRING_EQUAL(q, "brisbane._domainkey.football.example.com");
}

/* ------------------------------------------------------- canonicalisation */

static void
assert_body(MsDkimCanon canon, const char *body, const char *want)
{
    g_autoptr(GBytes) got = ms_dkim_canon_body(canon, body, strlen(body));
    gsize n = 0;
    const char *data = g_bytes_get_data(got, &n);
    gboolean same = n == strlen(want) && (n == 0 || memcmp(data, want, n) == 0);
    if (!same) {
        g_autofree char *a = g_strescape(body, NULL), *b = g_strndup(data, n);
        g_autofree char *c = g_strescape(b, NULL);
        g_printerr("body '%s' (%s) gave '%s'\n", a, ms_dkim_canon_to_string(canon), c);
    }
    CU_ASSERT_TRUE(same);
}

static void
test_canon_rfc_example(void)
{
    /* RFC 6376 3.4.6: the example message's two header fields and body. */
    const char *a = "A: X", *b = "B : Y\t\r\n\tZ  ";
    g_autofree char *ra = ms_dkim_canon_header(MS_DKIM_CANON_RELAXED, a, strlen(a));
    g_autofree char *rb = ms_dkim_canon_header(MS_DKIM_CANON_RELAXED, b, strlen(b));
    CU_ASSERT_STRING_EQUAL(ra, "a:X\r\n");
    CU_ASSERT_STRING_EQUAL(rb, "b:Y Z\r\n");
    g_autofree char *sa = ms_dkim_canon_header(MS_DKIM_CANON_SIMPLE, a, strlen(a));
    g_autofree char *sb = ms_dkim_canon_header(MS_DKIM_CANON_SIMPLE, b, strlen(b));
    CU_ASSERT_STRING_EQUAL(sa, "A: X\r\n");
    CU_ASSERT_STRING_EQUAL(sb, "B : Y\t\r\n\tZ  \r\n");
    const char *body = " C \r\nD \t E\r\n\r\n\r\n";
    assert_body(MS_DKIM_CANON_RELAXED, body, " C\r\nD E\r\n");
    assert_body(MS_DKIM_CANON_SIMPLE, body, " C \r\nD \t E\r\n");
}

static void
test_canon_boundaries(void)
{
    /* empty bodies: one CRLF (simple), nothing (relaxed, RFC 6376 3.4.4) */
    assert_body(MS_DKIM_CANON_SIMPLE, "", "\r\n");
    assert_body(MS_DKIM_CANON_RELAXED, "", "");
    assert_body(MS_DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n");
    assert_body(MS_DKIM_CANON_RELAXED, "\r\n \t\r\n", "");
    /* a line of white space only is not empty under simple */
    assert_body(MS_DKIM_CANON_SIMPLE, "x\r\n \r\n", "x\r\n \r\n");
    assert_body(MS_DKIM_CANON_RELAXED, "x\r\n \r\n", "x\r\n");
    /* no final CRLF: one is added */
    assert_body(MS_DKIM_CANON_SIMPLE, "x", "x\r\n");
    assert_body(MS_DKIM_CANON_RELAXED, "x \t", "x\r\n");
    /* empty lines inside stay */
    assert_body(MS_DKIM_CANON_RELAXED, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
    /* bare LF read as a line end */
    assert_body(MS_DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
    /* relaxed header: name lower-cased, value's ends trimmed, WSP before colon */
    const char *h = "SUBJECT \t:\t  Hello   World \t";
    g_autofree char *r = ms_dkim_canon_header(MS_DKIM_CANON_RELAXED, h, strlen(h));
    CU_ASSERT_STRING_EQUAL(r, "subject:Hello World\r\n");
    const char *empty = "X-Empty:   ";
    g_autofree char *re = ms_dkim_canon_header(MS_DKIM_CANON_RELAXED, empty, strlen(empty));
    CU_ASSERT_STRING_EQUAL(re, "x-empty:\r\n");

    /* l=: the hash of the first l octets; a body shorter than l fails */
    const char *body = "Hi.\r\n\r\nWe lost the game.\r\n";
    guint8 full[32], cut[32], same[32];
    CU_ASSERT_TRUE(ms_dkim_body_hash(MS_DKIM_CANON_SIMPLE, body, strlen(body), -1, full));
    CU_ASSERT_TRUE(ms_dkim_body_hash(MS_DKIM_CANON_SIMPLE, body, strlen(body), 5, cut));
    CU_ASSERT_TRUE(ms_dkim_body_hash(MS_DKIM_CANON_SIMPLE, "Hi.\r\n", 5, -1, same));
    CU_ASSERT_NOT_EQUAL(memcmp(full, cut, 32), 0);
    CU_ASSERT_EQUAL(memcmp(cut, same, 32), 0);
    gint64 n = (gint64) strlen(body);
    CU_ASSERT_TRUE(ms_dkim_body_hash(MS_DKIM_CANON_SIMPLE, body, strlen(body), n, cut));
    CU_ASSERT_EQUAL(memcmp(full, cut, 32), 0);
    CU_ASSERT_FALSE(ms_dkim_body_hash(MS_DKIM_CANON_SIMPLE, body, strlen(body), n + 1, cut));
}

/* The body canonicalisations as RFC 6376 3.4.3 and 3.4.4 define them,
 * octet by octet and with no care for speed: the reference the library's
 * run-at-a-time, buffered version must match. */
static GString *
reference_body(MsDkimCanon canon, const char *body, gsize len)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    gsize pos = 0;
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        gsize end = nl ? (gsize) (nl - body) : len;
        gsize e = nl && end > pos && body[end - 1] == '\r' ? end - 1 : end;
        GString *line = g_string_new(NULL);
        gboolean space = FALSE;
        for (gsize i = pos; i < e; i++) {
            char c = body[i];
            if (canon == MS_DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
                space = TRUE;
                continue;
            }
            if (space)
                g_string_append_c(line, ' ');
            space = FALSE;
            g_string_append_c(line, c);
        }
        g_ptr_array_add(lines, g_string_free(line, FALSE));
        pos = nl ? end + 1 : len;
    }
    while (lines->len && *(char *) g_ptr_array_index(lines, lines->len - 1) == '\0')
        g_ptr_array_remove_index(lines, lines->len - 1);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(out, "%s\r\n", (char *) g_ptr_array_index(lines, i));
    if (out->len == 0 && canon == MS_DKIM_CANON_SIMPLE)
        g_string_append(out, "\r\n");
    return out;
}

static void
test_canon_random(void)
{
    /* Bodies of spaces, tabs, CR, LF and letters, some longer than the
     * hashing buffer (4 KiB) and with lines longer than it; each
     * canonical form against the reference, and each body hash (whole and
     * cut by l=) against SHA-256 of the reference. */
    MsRng rng;
    ms_rng_init_named(&rng, 7, "dkim-canon");
    const char alphabet[] = "ab  \t\r\n\n";
    for (guint round = 0; round < 400; round++) {
        gsize len = (gsize) ms_rng_below(&rng, round % 10 == 0 ? 20000 : 300);
        gboolean long_lines = round % 7 == 0;
        g_autofree char *body = g_malloc(len + 1);
        for (gsize i = 0; i < len; i++) {
            guint k = (guint) ms_rng_below(&rng, sizeof alphabet - 1);
            body[i] =
                long_lines && alphabet[k] == '\n' && ms_rng_below(&rng, 50) ? 'x' : alphabet[k];
        }
        body[len] = '\0';
        for (int c = 0; c < 2; c++) {
            MsDkimCanon canon = c ? MS_DKIM_CANON_RELAXED : MS_DKIM_CANON_SIMPLE;
            g_autoptr(GString) want = reference_body(canon, body, len);
            g_autoptr(GBytes) got = ms_dkim_canon_body(canon, body, len);
            gboolean same = g_bytes_get_size(got) == want->len &&
                            (want->len == 0 || /* an empty GBytes may have no data pointer */
                             memcmp(g_bytes_get_data(got, NULL), want->str, want->len) == 0);
            CU_ASSERT_TRUE(same);
            if (!same)
                g_printerr("round %u (%s): canonical body differs\n", round,
                           ms_dkim_canon_to_string(canon));
            gint64 cut = want->len ? (gint64) ms_rng_below(&rng, want->len) : 0;
            gint64 limits[] = { -1, cut };
            for (guint k = 0; k < G_N_ELEMENTS(limits); k++) {
                gsize n = limits[k] < 0 ? want->len : (gsize) limits[k];
                guint8 h[32], ref[32];
                struct sha256_ctx ctx;
                sha256_init(&ctx);
                sha256_update(&ctx, n, (const guint8 *) want->str);
                sha256_digest(&ctx, 32, ref);
                CU_ASSERT_TRUE(ms_dkim_body_hash(canon, body, len, limits[k], h));
                CU_ASSERT_EQUAL(memcmp(h, ref, 32), 0);
            }
        }
    }
}

/* ------------------------------------------------- RFC 8463 Appendix A */

/* RFC 8463 A.3: the example message, signed by football.example.com with
 * Ed25519 (selector brisbane) and RSA (selector test), as published. */
static const char rfc8463_signed[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* The RFC 8463 A.1 secret key (seed). */
static const char rfc8463_seed_b64[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

/* Verifies `message` answering every query from a table of (name,
 * record); a name not in the table is NXDOMAIN; record NULL is a
 * temporary failure. Results into out[] (up to n). Returns the count. */
typedef struct {
    const char *name, *record;
} KeyEntry;

static guint
verify_with(const char *message, gsize len, const KeyEntry *keys, guint n_keys, gint64 now,
            MsDkimResult *out, char **reasons, guint n)
{
    g_autoptr(MsDkimVerifier) v = ms_dkim_verifier_new(message, len, 0, now);
    guint count = ms_dkim_verifier_count(v);
    for (guint i = 0; i < count; i++) {
        const char *q = ms_dkim_verifier_query(v, i);
        if (!q)
            continue;
        const KeyEntry *hit = NULL;
        for (guint k = 0; k < n_keys; k++)
            if (strcmp(keys[k].name, q) == 0)
                hit = &keys[k];
        if (!hit)
            ms_dkim_verifier_answer(v, i, MS_DKIM_DNS_NONE, NULL, 0);
        else if (!hit->record)
            ms_dkim_verifier_answer(v, i, MS_DKIM_DNS_TEMPFAIL, NULL, 0);
        else
            ms_dkim_verifier_answer(v, i, MS_DKIM_DNS_OK, hit->record, strlen(hit->record));
        CU_ASSERT_PTR_NULL(ms_dkim_verifier_query(v, i)); /* decided */
    }
    for (guint i = 0; i < count && i < n; i++) {
        const char *why = NULL;
        out[i] = ms_dkim_verifier_result(v, i, &why);
        if (reasons)
            reasons[i] = g_strdup(why);
    }
    return count;
}

static const KeyEntry rfc_keys[] = {
    { "brisbane._domainkey.football.example.com", RFC_ED25519_RECORD },
    { "test._domainkey.football.example.com", RFC_RSA_RECORD },
};

/* Both results of the RFC message after `from` -> `to` (once). */
static void
rfc_results(const char *from, const char *to, const KeyEntry *keys, guint n_keys, gint64 now,
            MsDkimResult r[2], char *why[2])
{
    GString *m = g_string_new(rfc8463_signed);
    if (from) {
        const char *at = strstr(m->str, from);
        g_assert(at);
        gsize pos = (gsize) (at - m->str);
        g_string_erase(m, (gssize) pos, (gssize) strlen(from));
        g_string_insert(m, (gssize) pos, to);
    }
    r[0] = r[1] = MS_DKIM_RESULT_NONE;
    why[0] = why[1] = NULL;
    CU_ASSERT_EQUAL(verify_with(m->str, m->len, keys, n_keys, now, r, why, 2), 2);
    g_string_free(m, TRUE);
}

static void
test_rfc8463_example(void)
{
    MsDkimResult r[2];
    char *why[2];
    rfc_results(NULL, NULL, rfc_keys, 2, 1790910000, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PASS);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PASS);
    CU_ASSERT_PTR_NULL(why[0]);

    g_autoptr(MsDkimVerifier) v =
        ms_dkim_verifier_new(rfc8463_signed, strlen(rfc8463_signed), 0, -1);
    CU_ASSERT_EQUAL(ms_dkim_verifier_count(v), 2);
    CU_ASSERT_STRING_EQUAL(ms_dkim_verifier_query(v, 0),
                           "brisbane._domainkey.football.example.com");
    CU_ASSERT_STRING_EQUAL(ms_dkim_verifier_query(v, 1), "test._domainkey.football.example.com");
    CU_ASSERT_EQUAL(ms_dkim_verifier_result(v, 0, NULL), MS_DKIM_RESULT_NONE); /* waiting */
    ms_dkim_verifier_answer(v, 0, MS_DKIM_DNS_OK, RFC_ED25519_RECORD, strlen(RFC_ED25519_RECORD));
    g_autofree char *text = ms_dkim_verifier_result_text(v, 0);
    CU_ASSERT_STRING_EQUAL(text, "dkim=pass header.d=football.example.com header.s=brisbane "
                                 "header.b=\"/gCrinpc\"");
    const MsDkimSignature *s = ms_dkim_verifier_signature(v, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->timestamp, 1528637909);
    CU_ASSERT_STRING_EQUAL(s->headers[5], "from");

    /* The secret key of RFC 8463 A.1 gives the published public key, and
     * signing the example again with it verifies. */
    gsize n = 0;
    g_autofree guchar *seed = g_base64_decode(rfc8463_seed_b64, &n);
    CU_ASSERT_EQUAL_FATAL(n, 32);
    /* Load the seed through PKCS#8 DER built by hand: the fixed prefix of an
     * Ed25519 PrivateKeyInfo (RFC 8410 7) followed by the 32 octets. */
    static const guint8 prefix[] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                     0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
    guint8 der[48];
    memcpy(der, prefix, 16);
    memcpy(der + 16, seed, 32);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDkimSigningKey) key = ms_dkim_signing_key_load(der, sizeof der, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    g_autofree char *pub = ms_dkim_signing_key_public_b64(key);
    CU_ASSERT_STRING_EQUAL(pub, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

static void
test_rfc8463_tampered(void)
{
    MsDkimResult r[2];
    char *why[2];
    const gint64 now = 1790910000;
    /* a changed body: body hash, both */
    rfc_results("hungry", "angry", rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_FAIL);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_FAIL);
    CU_ASSERT_STRING_EQUAL(why[0], "body hash did not verify");
    g_free(why[0]), g_free(why[1]);
    /* a changed signed field: signature */
    rfc_results("dinner", "lunch", rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_FAIL);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_FAIL);
    CU_ASSERT_STRING_EQUAL(why[1], "signature did not verify");
    g_free(why[0]), g_free(why[1]);
    /* a From added on top: h= names From twice (over-signed), so it breaks */
    rfc_results("From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe", rfc_keys, 2, now, r,
                why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_FAIL);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_FAIL);
    g_free(why[0]), g_free(why[1]);
    /* an unsigned field added, white space changed under relaxed: still pass */
    rfc_results("Message-ID:", "X-Mailer: any\r\nMessage-ID:", rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PASS);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PASS);
    rfc_results("Subject: Is dinner", "subject:   Is \t dinner", rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PASS);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PASS);
    rfc_results("lost the game.", "lost  the game. \t", rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PASS);
    /* Unix line ends: the same verdicts */
    g_autofree char *lf = g_strdup(rfc8463_signed);
    GString *m = g_string_new(NULL);
    for (const char *p = lf; *p; p++)
        if (*p != '\r')
            g_string_append_c(m, *p);
    MsDkimResult lr[2];
    CU_ASSERT_EQUAL(verify_with(m->str, m->len, rfc_keys, 2, now, lr, NULL, 2), 2);
    CU_ASSERT_EQUAL(lr[0], MS_DKIM_RESULT_PASS);
    CU_ASSERT_EQUAL(lr[1], MS_DKIM_RESULT_PASS);
    g_string_free(m, TRUE);
}

static void
test_verify_results(void)
{
    MsDkimResult r[2];
    char *why[2];
    const gint64 now = 1790910000;
    /* no key: permerror; DNS down: temperror */
    const KeyEntry rsa_only[] = { { "test._domainkey.football.example.com", RFC_RSA_RECORD } };
    rfc_results(NULL, NULL, rsa_only, 1, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT_STRING_EQUAL(why[0], "no key for signature");
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PASS);
    g_free(why[0]);
    const KeyEntry down[] = { { "brisbane._domainkey.football.example.com", NULL },
                              { "test._domainkey.football.example.com", RFC_RSA_RECORD } };
    rfc_results(NULL, NULL, down, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_TEMPERROR);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PASS);
    g_free(why[0]);
    /* revoked, another type, unreadable record */
    const KeyEntry revoked[] = { { "brisbane._domainkey.football.example.com",
                                   "v=DKIM1; k=ed25519; p=" },
                                 { "test._domainkey.football.example.com", "v=DKIM1; p=ABC" } };
    rfc_results(NULL, NULL, revoked, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT_STRING_EQUAL(why[0], "key revoked (empty p=)");
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PERMERROR);
    g_free(why[0]), g_free(why[1]);
    const KeyEntry swapped[] = { { "brisbane._domainkey.football.example.com", RFC_RSA_RECORD },
                                 { "test._domainkey.football.example.com", RFC_ED25519_RECORD } };
    rfc_results(NULL, NULL, swapped, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT(why[0] && strstr(why[0], "key type"));
    g_free(why[0]), g_free(why[1]);
    /* testing mode: a failure reads as neutral */
    const KeyEntry testing[] = { { "brisbane._domainkey.football.example.com",
                                   RFC_ED25519_RECORD "; t=y" },
                                 { "test._domainkey.football.example.com", RFC_RSA_RECORD } };
    rfc_results("hungry", "angry", testing, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_NEUTRAL);
    CU_ASSERT_EQUAL(r[1], MS_DKIM_RESULT_FAIL);
    g_free(why[0]), g_free(why[1]);
    /* t=s with i= in a subdomain of d= */
    const KeyEntry strict[] = { { "brisbane._domainkey.football.example.com",
                                  RFC_ED25519_RECORD "; t=s" },
                                { "test._domainkey.football.example.com", RFC_RSA_RECORD } };
    rfc_results("i=@football.example.com;\r\n q=dns/txt; s=brisbane",
                "i=@news.football.example.com;\r\n q=dns/txt; s=brisbane", strict, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT(why[0] && strstr(why[0], "t=s"));
    g_free(why[0]), g_free(why[1]);
    /* expired: x= before now; not checked with now = -1 (then it fails
     * its signature, x= being signed) */
    rfc_results("t=1528637909; h=from : to :\r\n", "t=1528637909; x=1528637910; h=from : to :\r\n",
                rfc_keys, 2, now, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_PERMERROR);
    CU_ASSERT(why[0] && strstr(why[0], "expired"));
    g_free(why[0]), g_free(why[1]);
    rfc_results("t=1528637909; h=from : to :\r\n", "t=1528637909; x=1528637910; h=from : to :\r\n",
                rfc_keys, 2, 1528637910, r, why);
    CU_ASSERT_EQUAL(r[0], MS_DKIM_RESULT_FAIL); /* at x itself: not yet expired */
    g_free(why[0]), g_free(why[1]);
    /* a malformed field: permerror at once, no query; rsa-sha1 */
    g_autofree char *bad = g_strdup(rfc8463_signed);
    memcpy(strstr(bad, "a=rsa-sha256"), "a=rsa-sha1;;", 12);
    g_autoptr(MsDkimVerifier) v = ms_dkim_verifier_new(bad, strlen(bad), 0, now);
    CU_ASSERT_PTR_NULL(ms_dkim_verifier_query(v, 1));
    CU_ASSERT_PTR_NULL(ms_dkim_verifier_signature(v, 1));
    CU_ASSERT_EQUAL(ms_dkim_verifier_result(v, 1, NULL), MS_DKIM_RESULT_PERMERROR);
    g_autofree char *text = ms_dkim_verifier_result_text(v, 1);
    CU_ASSERT_STRING_EQUAL(text, "dkim=permerror reason=\"empty tag at offset 17\"");
    /* a message without signatures */
    const char *plain = "From: a@b.example\r\n\r\nhi\r\n";
    g_autoptr(MsDkimVerifier) none = ms_dkim_verifier_new(plain, strlen(plain), 0, now);
    CU_ASSERT_EQUAL(ms_dkim_verifier_count(none), 0);
    CU_ASSERT_STRING_EQUAL(ms_dkim_result_to_string(MS_DKIM_RESULT_NONE), "none");
}

/* --------------------------------------------------- signing round trips */

static const char sample_message[] = "Received: from client.example.org by mx.example.org\r\n"
                                     "From: Alice Example <alice@example.org>\r\n"
                                     "To: Bob <bob@example.net>, carol@example.net\r\n"
                                     "Cc: dave@example.net\r\n"
                                     "Subject: Quarterly  figures,\r\n"
                                     "\tfolded over two lines\r\n"
                                     "Date: Mon, 07 Dec 2026 07:00:00 +0000\r\n"
                                     "Message-ID: <figures.1@example.org>\r\n"
                                     "MIME-Version: 1.0\r\n"
                                     "Content-Type: text/plain; charset=utf-8\r\n"
                                     "X-Unsigned: yes\r\n"
                                     "\r\n"
                                     "Hello Bob,\r\n"
                                     "\r\n"
                                     "the figures  are attached \t\r\n"
                                     ".leading dot and trailing space \r\n"
                                     "\r\n"
                                     "\r\n";

static MsDkimSigningKey *
make_key(MsDkimAlg alg, guint bits, const char *stream)
{
    MsRng rng;
    ms_rng_init_named(&rng, 42, stream);
    g_autoptr(GError) error = NULL;
    MsDkimSigningKey *key = ms_dkim_signing_key_generate(alg, bits, &rng, &error);
    if (!key)
        g_printerr("key generation: %s\n", error->message);
    return key;
}

/* Signs sample_message and returns message with the signature on top. */
static char *
sign_sample(const MsDkimSigningKey *key, MsDkimCanon hc, MsDkimCanon bc, char **field_out)
{
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, "example.org", "sel1");
    opt.header_canon = hc;
    opt.body_canon = bc;
    g_autoptr(GError) error = NULL;
    char *field = ms_dkim_sign(key, &opt, sample_message, strlen(sample_message), &error);
    CU_ASSERT_PTR_NOT_NULL(field);
    if (!field) {
        g_printerr("sign: %s\n", error->message);
        return g_strdup("");
    }
    char *out = g_strconcat(field, sample_message, NULL);
    if (field_out)
        *field_out = field;
    else
        g_free(field);
    return out;
}

static MsDkimResult
verify_one(const char *message, const MsDkimSigningKey *key, const char **why_out)
{
    g_autofree char *record = ms_dkim_signing_key_record(key);
    KeyEntry keys[] = { { "sel1._domainkey.example.org", record } };
    MsDkimResult r = MS_DKIM_RESULT_NONE;
    char *why = NULL;
    guint n = verify_with(message, strlen(message), keys, 1, -1, &r, &why, 1);
    CU_ASSERT_EQUAL(n, 1);
    if (r != MS_DKIM_RESULT_PASS && why_out == NULL)
        g_printerr("verify: %s: %s\n", ms_dkim_result_to_string(r), why ? why : "");
    if (why_out)
        *why_out = why ? g_intern_string(why) : NULL;
    g_free(why);
    return r;
}

/* The h= list of a DKIM-Signature field, joined with ":". */
static char *
signed_headers(const char *field)
{
    const char *colon = strchr(field, ':');
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDkimSignature) sig = ms_dkim_signature_parse(colon + 1, strlen(colon + 1), &error);
    CU_ASSERT_PTR_NOT_NULL(sig);
    return sig ? g_strjoinv(":", sig->headers) : g_strdup("");
}

static void
round_trips(MsDkimAlg alg, guint bits)
{
    g_autoptr(MsDkimSigningKey) key = make_key(alg, bits, "dkim/example.org");
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(ms_dkim_signing_key_alg(key), alg);
    for (int hc = 0; hc < 2; hc++) {
        for (int bc = 0; bc < 2; bc++) {
            g_autofree char *field = NULL;
            g_autofree char *signed_msg = sign_sample(key, hc, bc, &field);
            CU_ASSERT_EQUAL(verify_one(signed_msg, key, NULL), MS_DKIM_RESULT_PASS);
            /* folded: no line over 78 octets, continuation lines start with TAB */
            g_auto(GStrv) lines = g_strsplit(field, "\r\n", -1);
            for (guint i = 0; lines[i] && lines[i][0]; i++) {
                CU_ASSERT(strlen(lines[i]) <= 78);
                CU_ASSERT(i == 0 || lines[i][0] == '\t');
            }
            g_autofree char *h = signed_headers(field);
            CU_ASSERT_STRING_EQUAL(h, "from:to:cc:subject:date:message-id:mime-version:"
                                      "content-type:from");
            CU_ASSERT_PTR_NULL(strstr(field, "l="));
            CU_ASSERT_PTR_NULL(strstr(field, "x-unsigned"));
            /* a body changed: fail */
            GString *t = g_string_new(signed_msg);
            char *at = strstr(t->str, "figures  are");
            at[0] = 'F';
            const char *why = NULL;
            CU_ASSERT_EQUAL(verify_one(t->str, key, &why), MS_DKIM_RESULT_FAIL);
            CU_ASSERT_STRING_EQUAL(why, "body hash did not verify");
            g_string_free(t, TRUE);
            /* a second From added on top: fails only because From is
             * over-signed (the verifier takes instances bottom-up, so the
             * first "from" in h= still finds the signed one) */
            GString *f = g_string_new(signed_msg);
            g_string_prepend(f, "From: mallory@evil.example\r\n");
            CU_ASSERT_EQUAL(verify_one(f->str, key, &why), MS_DKIM_RESULT_FAIL);
            g_string_free(f, TRUE);
            /* an unsigned field added on top does not matter */
            GString *u = g_string_new(signed_msg);
            g_string_prepend(u, "Received: from mx.example.net by mx.example.org\r\n");
            CU_ASSERT_EQUAL(verify_one(u->str, key, NULL), MS_DKIM_RESULT_PASS);
            g_string_free(u, TRUE);
        }
    }
}

static void
test_sign_ed25519(void)
{
    round_trips(MS_DKIM_ALG_ED25519_SHA256, 0);
}

static void
test_sign_rsa(void)
{
    round_trips(MS_DKIM_ALG_RSA_SHA256, 2048);
}

static void
test_keys_deterministic(void)
{
    for (int alg = 0; alg < 2; alg++) {
        guint bits = alg == MS_DKIM_ALG_RSA_SHA256 ? 1024 : 0;
        g_autoptr(MsDkimSigningKey) a = make_key(alg, bits, "dkim/example.org");
        g_autoptr(MsDkimSigningKey) b = make_key(alg, bits, "dkim/example.org");
        g_autoptr(MsDkimSigningKey) c = make_key(alg, bits, "dkim/example.net");
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        g_autofree char *pa = ms_dkim_signing_key_public_b64(a);
        g_autofree char *pb = ms_dkim_signing_key_public_b64(b);
        g_autofree char *pc = ms_dkim_signing_key_public_b64(c);
        CU_ASSERT_STRING_EQUAL(pa, pb);
        CU_ASSERT_STRING_NOT_EQUAL(pa, pc);
        CU_ASSERT_EQUAL(ms_dkim_signing_key_bits(a), alg == MS_DKIM_ALG_RSA_SHA256 ? 1024 : 256);
        /* same key, same message: the same signature (both schemes are deterministic) */
        g_autofree char *s1 = sign_sample(a, MS_DKIM_CANON_RELAXED, MS_DKIM_CANON_RELAXED, NULL);
        g_autofree char *s2 = sign_sample(b, MS_DKIM_CANON_RELAXED, MS_DKIM_CANON_RELAXED, NULL);
        CU_ASSERT_STRING_EQUAL(s1, s2);
        /* the record parses back to the key */
        g_autofree char *rec = ms_dkim_signing_key_record(a);
        CU_ASSERT(g_str_has_prefix(rec, alg == MS_DKIM_ALG_RSA_SHA256 ? "v=DKIM1; k=rsa; p="
                                                                      : "v=DKIM1; k=ed25519; p="));
        g_autoptr(GError) error = NULL;
        g_autoptr(MsDkimKey) k = ms_dkim_key_parse(rec, strlen(rec), &error);
        CU_ASSERT_PTR_NOT_NULL(k);
        /* PEM out and back in: the same public key */
        g_autofree char *pem = ms_dkim_signing_key_to_pem(a, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
        CU_ASSERT(g_str_has_prefix(pem, "-----BEGIN PRIVATE KEY-----"));
        g_autoptr(MsDkimSigningKey) back =
            ms_dkim_signing_key_load((const guint8 *) pem, strlen(pem), &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        g_autofree char *pback = ms_dkim_signing_key_public_b64(back);
        CU_ASSERT_STRING_EQUAL(pa, pback);
        g_autofree char *s3 = sign_sample(back, MS_DKIM_CANON_RELAXED, MS_DKIM_CANON_RELAXED, NULL);
        CU_ASSERT_STRING_EQUAL(s1, s3);
    }
}

static void
test_sign_refusals(void)
{
    g_autoptr(MsDkimSigningKey) key = make_key(MS_DKIM_ALG_ED25519_SHA256, 0, "dkim/x");
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, "example.org", "s");
    g_autoptr(GError) error = NULL;
    const char *nofrom = "To: bob@example.net\r\n\r\nhi\r\n";
    g_autofree char *f = ms_dkim_sign(key, &opt, nofrom, strlen(nofrom), &error);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT(g_error_matches(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX));
    g_clear_error(&error);
    opt.selector = NULL;
    g_autofree char *g = ms_dkim_sign(key, &opt, sample_message, strlen(sample_message), &error);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT(g_error_matches(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX));
    g_clear_error(&error);
    /* keys: garbage, too small, not RSA nor Ed25519 */
    g_autoptr(MsDkimSigningKey) junk = ms_dkim_signing_key_load((const guint8 *) "junk", 4, &error);
    CU_ASSERT_PTR_NULL(junk);
    CU_ASSERT(g_error_matches(error, MS_DKIM_ERROR, MS_DKIM_ERROR_KEY));
    g_clear_error(&error);
    MsRng rng;
    ms_rng_init(&rng, 1, 2);
    g_autoptr(MsDkimSigningKey) small =
        ms_dkim_signing_key_generate(MS_DKIM_ALG_RSA_SHA256, 512, &rng, &error);
    CU_ASSERT_PTR_NULL(small);
    CU_ASSERT(g_error_matches(error, MS_DKIM_ERROR, MS_DKIM_ERROR_KEY));
}

static void
test_sign_options(void)
{
    g_autoptr(MsDkimSigningKey) key = make_key(MS_DKIM_ALG_ED25519_SHA256, 0, "dkim/example.org");
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, "example.org", "sel1");
    CU_ASSERT_EQUAL(opt.header_canon, MS_DKIM_CANON_RELAXED);
    CU_ASSERT_EQUAL(opt.body_canon, MS_DKIM_CANON_RELAXED);
    static const char *const names[] = { "Subject", "X-Unsigned", "Absent", NULL };
    opt.headers = names;
    opt.oversign_from = FALSE;
    opt.identity = "alice@mail.example.org";
    opt.timestamp = 1796626800;
    opt.expiration = 1796626800 + 86400;
    g_autoptr(GError) error = NULL;
    g_autofree char *field =
        ms_dkim_sign(key, &opt, sample_message, strlen(sample_message), &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(field);
    /* From is added when the list lacks it; names not present are left out */
    g_autofree char *h = signed_headers(field);
    CU_ASSERT_STRING_EQUAL(h, "from:subject:x-unsigned");
    CU_ASSERT_PTR_NOT_NULL(strstr(field, "i=alice@mail.example.org;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(field, "t=1796626800;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(field, "x=1796713200;"));
    g_autofree char *msg = g_strconcat(field, sample_message, NULL);
    g_autofree char *record = ms_dkim_signing_key_record(key);
    KeyEntry keys[] = { { "sel1._domainkey.example.org", record } };
    MsDkimResult r;
    verify_with(msg, strlen(msg), keys, 1, 1796626800 + 10, &r, NULL, 1);
    CU_ASSERT_EQUAL(r, MS_DKIM_RESULT_PASS);
    verify_with(msg, strlen(msg), keys, 1, 1796626800 + 86401, &r, NULL, 1);
    CU_ASSERT_EQUAL(r, MS_DKIM_RESULT_PERMERROR);
}

static void
test_verifier_bound_and_cache(void)
{
    g_autoptr(MsDkimSigningKey) key = make_key(MS_DKIM_ALG_ED25519_SHA256, 0, "dkim/example.org");
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, "example.org", "sel1");
    /* seven signatures on top of each other */
    GString *m = g_string_new(sample_message);
    for (int i = 0; i < 7; i++) {
        g_autofree char *f = ms_dkim_sign(key, &opt, m->str, m->len, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        g_string_prepend(m, f);
    }
    g_autofree char *record = ms_dkim_signing_key_record(key);
    g_autoptr(MsDkimKey) cached = ms_dkim_key_parse(record, strlen(record), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cached);
    g_autoptr(MsDkimVerifier) v = ms_dkim_verifier_new(m->str, m->len, 0, -1);
    CU_ASSERT_EQUAL(ms_dkim_verifier_count(v), MS_DKIM_MAX_SIGNATURES);
    for (guint i = 0; i < ms_dkim_verifier_count(v); i++) {
        ms_dkim_verifier_answer_key(v, i, cached); /* the same key, from the cache */
        CU_ASSERT_EQUAL(ms_dkim_verifier_result(v, i, NULL), MS_DKIM_RESULT_PASS);
    }
    g_autoptr(MsDkimVerifier) two = ms_dkim_verifier_new(m->str, m->len, 2, -1);
    CU_ASSERT_EQUAL(ms_dkim_verifier_count(two), 2);
    /* answering twice leaves the first verdict */
    ms_dkim_verifier_answer(two, 0, MS_DKIM_DNS_OK, record, strlen(record));
    ms_dkim_verifier_answer(two, 0, MS_DKIM_DNS_TEMPFAIL, NULL, 0);
    CU_ASSERT_EQUAL(ms_dkim_verifier_result(two, 0, NULL), MS_DKIM_RESULT_PASS);
    g_string_free(m, TRUE);
}

/* ---------------------------------------------------------- interop */

/* Runs tests/dkim_interop.py with args; returns its exit status. */
static int
interop(const char *const *args, char **out, gboolean expect_fail)
{
    /* Debian's python3-dkim lives in Debian's Python, which a python3
     * earlier on the PATH (a pyenv or a venv) may not see. */
    g_autofree char *py = g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)
                              ? g_strdup("/usr/bin/python3")
                              : g_find_program_in_path("python3");
    if (!py) {
        ms_test_skip("no python3");
        return -2;
    }
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, py);
    g_ptr_array_add(argv, (gpointer) "tests/dkim_interop.py");
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer) *a);
    g_ptr_array_add(argv, NULL);
    g_autofree char *o = NULL, *err = NULL;
    int rc = ms_test_spawn((const char *const *) argv->pdata, &o, &err);
    if (rc != 0 && err && strstr(err, "No module named")) {
        ms_test_skip("python3-dkim or python3-nacl missing (tools/deps.sh installs them)");
        return -2;
    }
    if (rc != 0 && !expect_fail)
        g_printerr("dkim_interop.py %s: rc=%d\n%s%s", args[0], rc, o ? o : "", err ? err : "");
    if (out)
        *out = g_steal_pointer(&o);
    return rc;
}

static char *
write_temp(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(g_file_set_contents(path, text, -1, &error));
    return path;
}

/* mailsim signs, python3-dkim verifies: both algorithms, all four c=. */
static void
test_interop_python_verifies(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("dkim-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (int alg = 0; alg < 2; alg++) {
        g_autoptr(MsDkimSigningKey) key = make_key(alg, 2048, "dkim/example.org");
        CU_ASSERT_PTR_NOT_NULL_FATAL(key);
        g_autofree char *record = ms_dkim_signing_key_record(key);
        g_autofree char *rpath = write_temp(dir, "record.txt", record);
        for (int hc = 0; hc < 2; hc++) {
            for (int bc = 0; bc < 2; bc++) {
                g_autofree char *msg = sign_sample(key, hc, bc, NULL);
                g_autofree char *mpath = write_temp(dir, "msg.eml", msg);
                const char *args[] = { "verify", mpath, "sel1._domainkey.example.org", rpath,
                                       NULL };
                g_autofree char *out = NULL;
                int rc = interop(args, &out, FALSE);
                if (rc == -2)
                    return;
                if (rc != 0)
                    g_printerr("%s %s/%s\n", ms_dkim_alg_to_string(alg),
                               ms_dkim_canon_to_string(hc), ms_dkim_canon_to_string(bc));
                CU_ASSERT_EQUAL(rc, 0);
                CU_ASSERT(out && g_str_has_prefix(out, "pass"));
                /* and a tampered copy fails there too */
                GString *t = g_string_new(msg);
                char *at = strstr(t->str, "Bob,");
                at[0] = 'R';
                g_autofree char *tpath = write_temp(dir, "msg.eml", t->str);
                g_string_free(t, TRUE);
                g_autofree char *out2 = NULL;
                CU_ASSERT_EQUAL(interop(args, &out2, TRUE), 1);
                CU_ASSERT(out2 && g_str_has_prefix(out2, "fail"));
            }
        }
        g_unlink(rpath);
    }
    g_autofree char *m = g_build_filename(dir, "msg.eml", NULL);
    g_unlink(m);
    g_rmdir(dir);
}

/* python3-dkim signs (its own keys: openssl for RSA, PyNaCl for Ed25519),
 * mailsim verifies; and python3-dkim signs with a key mailsim generated
 * and exported as PEM. */
static void
test_interop_mailsim_verifies(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("dkim-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *mpath = write_temp(dir, "in.eml", sample_message);
    g_autoptr(MsDkimSigningKey) ours = make_key(MS_DKIM_ALG_RSA_SHA256, 2048, "dkim/pem");
    g_autofree char *pem = ms_dkim_signing_key_to_pem(ours, &error);
    g_autofree char *kpath = write_temp(dir, "ours.pem", pem);
    static const char *const algs[] = { "rsa", "ed25519", "rsa" };
    static const char *const canons[] = { "simple/simple", "simple/relaxed", "relaxed/simple",
                                          "relaxed/relaxed" };
    for (guint a = 0; a < G_N_ELEMENTS(algs); a++) {
        for (guint c = 0; c < G_N_ELEMENTS(canons); c++) {
            const char *args[] = { "sign", algs[a], canons[c], mpath, dir, a == 2 ? kpath : NULL,
                                   NULL };
            if (interop(args, NULL, FALSE) != 0)
                return;
            g_autofree char *spath = g_build_filename(dir, "signed.eml", NULL);
            g_autofree char *rpath = g_build_filename(dir, "record.txt", NULL);
            g_autofree char *msg = NULL, *record = NULL;
            CU_ASSERT_TRUE_FATAL(g_file_get_contents(spath, &msg, NULL, NULL));
            CU_ASSERT_TRUE_FATAL(g_file_get_contents(rpath, &record, NULL, NULL));
            if (a == 2) {
                g_autofree char *mine = ms_dkim_signing_key_record(ours);
                CU_ASSERT_STRING_EQUAL(record, mine);
            }
            KeyEntry keys[] = { { "py._domainkey.example.org", record } };
            MsDkimResult r = MS_DKIM_RESULT_NONE;
            char *why = NULL;
            CU_ASSERT_EQUAL(verify_with(msg, strlen(msg), keys, 1, -1, &r, &why, 1), 1);
            if (r != MS_DKIM_RESULT_PASS)
                g_printerr("python-signed %s %s: %s (%s)\n", algs[a], canons[c],
                           ms_dkim_result_to_string(r), why ? why : "");
            CU_ASSERT_EQUAL(r, MS_DKIM_RESULT_PASS);
            g_free(why);
            /* tampered: fails here too */
            char *at = strstr(msg, "the figures");
            at[4] = 'F';
            why = NULL;
            verify_with(msg, strlen(msg), keys, 1, -1, &r, &why, 1);
            CU_ASSERT_EQUAL(r, MS_DKIM_RESULT_FAIL);
            g_free(why);
            g_unlink(spath);
            g_unlink(rpath);
        }
    }
    /* l= (python3-dkim writes it on request): the signed part verifies,
     * and, as RFC 6376 8.2 warns, so does the message with text appended */
    const char *args[] = { "sign", "ed25519", "relaxed/relaxed+l", mpath, dir, NULL };
    if (interop(args, NULL, FALSE) != 0)
        return;
    g_autofree char *spath = g_build_filename(dir, "signed.eml", NULL);
    g_autofree char *rpath = g_build_filename(dir, "record.txt", NULL);
    g_autofree char *msg = NULL, *record = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(spath, &msg, NULL, NULL));
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(rpath, &record, NULL, NULL));
    KeyEntry keys[] = { { "py._domainkey.example.org", record } };
    g_autofree char *appended = g_strconcat(msg, "Click here: http://evil.example/\r\n", NULL);
    g_autoptr(MsDkimVerifier) v = ms_dkim_verifier_new(appended, strlen(appended), 0, -1);
    CU_ASSERT_EQUAL_FATAL(ms_dkim_verifier_count(v), 1);
    const MsDkimSignature *sig = ms_dkim_verifier_signature(v, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
    CU_ASSERT(sig->body_length > 0);
    ms_dkim_verifier_answer(v, 0, MS_DKIM_DNS_OK, record, strlen(record));
    CU_ASSERT_EQUAL(ms_dkim_verifier_result(v, 0, NULL), MS_DKIM_RESULT_PASS);
    /* cut below l=: fails */
    char *body = strstr(msg, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    body[4 + 10] = '\0';
    MsDkimResult r = MS_DKIM_RESULT_NONE;
    char *why = NULL;
    verify_with(msg, strlen(msg), keys, 1, -1, &r, &why, 1);
    CU_ASSERT_EQUAL(r, MS_DKIM_RESULT_FAIL);
    CU_ASSERT_STRING_EQUAL(why, "body shorter than l=");
    g_free(why);
    g_unlink(spath);
    g_unlink(rpath);

    g_autofree char *pykey = g_build_filename(dir, "py.key", NULL);
    g_unlink(pykey);
    g_unlink(kpath);
    g_unlink(mpath);
    g_rmdir(dir);
}

/* ------------------------------------------------------------ bench */

static void
test_bench(void)
{
    MsBenchDkimParams p = { 1, 2, 1 };
    MsBenchDkimResult r;
    ms_bench_dkim_run(&p, &r);
    CU_ASSERT_TRUE(r.ok);
    CU_ASSERT(r.message_octets > 1900 && r.message_octets < 2200); /* about 2 KiB */
    CU_ASSERT(r.rsa_sign_us > 0 && r.rsa_verify_us > 0 && r.ed25519_sign_us > 0 &&
              r.ed25519_verify_us > 0 && r.rsa_key_parse_us > 0);
    /* the command line prints the same fields */
    const char *argv[] = {
        ms_test_mailsim_path(), "bench", "dkim", "--rounds", "1", "--ops", "1", NULL
    };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    static const char *const fields[] = { "rsa_sign_us",      "rsa_verify_us",
                                          "ed25519_sign_us",  "ed25519_verify_us",
                                          "rsa_key_parse_us", "message_octets" };
    for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
        g_autofree char *v = ms_test_field(out ? out : "", fields[i]);
        CU_ASSERT(v && g_ascii_strtod(v, NULL) > 0);
    }
    const char *bad[] = { ms_test_mailsim_path(), "bench", "dkim", "--ops", "0", NULL };
    g_autofree char *o2 = NULL, *e2 = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(bad, &o2, &e2), 2);
    CU_ASSERT(e2 && strstr(e2, "--ops"));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "tag-list", test_tag_list },
        { "signature field", test_signature_parse },
        { "key records", test_key_parse },
        { "canonicalisation: RFC 6376 3.4.6", test_canon_rfc_example },
        { "canonicalisation: boundaries, l=", test_canon_boundaries },
        { "canonicalisation: random bodies against the RFC", test_canon_random },
        { "RFC 8463 A: example verifies", test_rfc8463_example },
        { "RFC 8463 A: tampered", test_rfc8463_tampered },
        { "verify: every result", test_verify_results },
        { "sign: ed25519 round trips", test_sign_ed25519 },
        { "sign: rsa-2048 round trips", test_sign_rsa },
        { "keys: deterministic, PEM", test_keys_deterministic },
        { "sign: refusals", test_sign_refusals },
        { "sign: options", test_sign_options },
        { "verify: bound and key cache", test_verifier_bound_and_cache },
        { "interop: python3-dkim verifies mailsim", test_interop_python_verifies },
        { "interop: mailsim verifies python3-dkim", test_interop_mailsim_verifies },
        { "bench dkim", test_bench },
        { NULL, NULL },
    };
    return ms_test_main("dkim", cases);
}
