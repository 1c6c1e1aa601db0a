/* DKIM signing and verification (RFC 6376 5 and 6, RFC 8463), sans I/O
 * (see include/mailsim/dkim.h). Role in the data flow: a signing domain's
 * outbound server calls ms_dkim_sign() and puts the field it returns on
 * top of the message; a receiving server builds an MsDkimVerifier over the
 * message, resolves each signature's key query through its own DNS (and
 * cache), answers, and reads a result per signature for its
 * Authentication-Results field and its DMARC evaluation.
 *
 * Design. The verifier splits the message once (dkim_canon.c) and parses
 * every DKIM-Signature up to its bound when it is created; a field that
 * does not parse is decided there (permerror, with the parser's reason).
 * The others wait for their key: answering a query parses the record (or
 * takes the caller's cached key) and decides at once, in RFC 6376 6.1.2
 * and 6.1.3's order: key usable for this signature, body hash, then the
 * signature over the header hash. Body hashes are computed per signature,
 * not shared: two signatures rarely have the same c= and l=.
 *
 * Results (RFC 8601 2.7.1 names, RFC 6376 6.1's reasons):
 *   permerror  the field does not parse or lacks what 6.1.1 requires; the
 *              key record is missing (NXDOMAIN or no TXT), revoked, does
 *              not parse, is of another type than a=, or is too short
 *              (RFC 8301); t=s with an i= in a subdomain; x= in the past.
 *   temperror  the key query failed for now (RFC 6376 6.1.2 step 3).
 *   fail       the body hash or the signature does not verify, or the
 *              body is shorter than l=.
 *   neutral    a failure under a key in testing mode (t=y, RFC 6376 3.6.1:
 *              "treat as unsigned"), so that it does not count against the
 *              domain.
 *   pass       everything verified.
 *
 * Choices where the RFCs leave room:
 * - Signing over-signs From (RFC 6376 8.15): h= names "from" once more than
 *   the message has From fields, so a From added on the way (a second
 *   one, which a reader may see instead) breaks the signature. Other
 *   fields are signed as often as they occur, not more, so a list that
 *   adds a Cc or a Reply-To keeps the signature intact.
 * - The signer never writes l= (RFC 6376 8.2: it lets anyone append to the
 *   body); the verifier honours it.
 * - RSA signing uses nettle's blinded, checked rsa_sha256_sign_digest_tr;
 *   its blinding draws from a Knuth lagged Fibonacci generator seeded by
 *   the digest. Blinding does not change the signature (PKCS#1 v1.5 is
 *   deterministic), so output stays reproducible; it only guards against
 *   timing, which matters little in a simulator but costs nothing.
 * - At most max_signatures fields are evaluated, top first (the most
 *   recent signer's is on top); the rest are not reported.
 *
 * Costs: signing hashes the message once and makes one RSA or Ed25519
 * signature; verifying costs one body hash and one signature check per
 * signature that gets its key (see `mailsim bench dkim`). Ownership: the
 * verifier owns its copy of the message and everything it reports. */
#include "dkim-private.h"

#include <nettle/eddsa.h>
#include <nettle/knuth-lfib.h>
#include <string.h>

const char *
ms_dkim_alg_to_string(MsDkimAlg alg)
{
    return alg == MS_DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

const char *
ms_dkim_canon_to_string(MsDkimCanon canon)
{
    return canon == MS_DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

const char *
ms_dkim_result_to_string(MsDkimResult result)
{
    switch (result) {
    case MS_DKIM_RESULT_NONE:
        return "none";
    case MS_DKIM_RESULT_PASS:
        return "pass";
    case MS_DKIM_RESULT_FAIL:
        return "fail";
    case MS_DKIM_RESULT_NEUTRAL:
        return "neutral";
    case MS_DKIM_RESULT_TEMPERROR:
        return "temperror";
    case MS_DKIM_RESULT_PERMERROR:
        return "permerror";
    }
    return "?";
}

/* --- signing ------------------------------------------------------------------ */

static const char *const default_headers[] = { "from",         "to",           "cc",
                                               "subject",      "date",         "message-id",
                                               "reply-to",     "in-reply-to",  "references",
                                               "mime-version", "content-type", NULL };

void
ms_dkim_sign_options_init(MsDkimSignOptions *opt, const char *domain, const char *selector)
{
    g_return_if_fail(opt != NULL);
    memset(opt, 0, sizeof *opt);
    opt->domain = domain;
    opt->selector = selector;
    opt->header_canon = MS_DKIM_CANON_RELAXED;
    opt->body_canon = MS_DKIM_CANON_RELAXED;
    opt->oversign_from = TRUE;
    opt->timestamp = -1;
    opt->expiration = -1;
}

/* Appends "item" to the field being folded: on the current line when it
 * fits in 76 columns, else on a new line (CRLF TAB). `col` tracks the
 * current column. */
static void
fold_append(GString *out, gsize *col, const char *item, gboolean space_before)
{
    gsize n = strlen(item);
    if (*col + n + (space_before ? 1 : 0) > 76 && *col > 1) {
        g_string_append(out, "\r\n\t");
        *col = 1;
    } else if (space_before) {
        g_string_append_c(out, ' ');
        (*col)++;
    }
    g_string_append(out, item);
    *col += n;
}

/* Appends base64 text in pieces that fill each line to 76 columns. */
static void
fold_base64(GString *out, gsize *col, const char *b64)
{
    gsize n = strlen(b64), pos = 0;
    while (pos < n) {
        if (*col >= 76) {
            g_string_append(out, "\r\n\t");
            *col = 1;
        }
        gsize take = MIN(n - pos, 76 - *col);
        g_string_append_len(out, b64 + pos, (gssize) take);
        *col += take;
        pos += take;
    }
}

/* The signature over `digest` (SHA-256 of the header data), into out
 * (caller frees). */
static guint8 *
sign_digest(const MsDkimSigningKey *key, const guint8 digest[32], gsize *out_len, GError **error)
{
    if (key->alg == MS_DKIM_ALG_ED25519_SHA256) {
        guint8 *sig = g_malloc(64);
        /* RFC 8463 3: PureEdDSA Ed25519 over the SHA-256 hash. */
        ed25519_sha512_sign(key->ed25519_pub, key->ed25519_seed, 32, digest, sig);
        *out_len = 64;
        return sig;
    }
    struct knuth_lfib_ctx blind;
    guint32 seed = (guint32) digest[0] | (guint32) digest[1] << 8 | (guint32) digest[2] << 16 |
                   (guint32) digest[3] << 24;
    knuth_lfib_init(&blind, seed);
    mpz_t s;
    mpz_init(s);
    if (!rsa_sha256_sign_digest_tr(&key->rsa_pub, &key->rsa_priv, &blind,
                                   (nettle_random_func *) knuth_lfib_random, digest, s)) {
        mpz_clear(s);
        g_set_error_literal(error, MS_DKIM_ERROR, MS_DKIM_ERROR_CRYPTO, "RSA signing failed");
        return NULL;
    }
    /* RFC 8017 5.2.1 I2OSP: the signature is as long as the modulus. */
    gsize k = key->rsa_pub.size, n = (mpz_sizeinbase(s, 2) + 7) / 8;
    guint8 *sig = g_malloc0(k);
    mpz_export(sig + (k - n), NULL, 1, 1, 0, 0, s);
    mpz_clear(s);
    *out_len = k;
    return sig;
}

char *
ms_dkim_sign(const MsDkimSigningKey *key, const MsDkimSignOptions *opt, const char *message,
             gsize len, GError **error)
{
    g_return_val_if_fail(key != NULL && opt != NULL, NULL);
    g_return_val_if_fail(message != NULL || len == 0, NULL);
    if (!opt->domain || !*opt->domain || !opt->selector || !*opt->selector) {
        g_set_error_literal(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                            "signing needs a domain (d=) and a selector (s=)");
        return NULL;
    }
    MsDkimMessage msg;
    ms__dkim_message_init(&msg, message, len);

    /* h=: each listed field as often as the message has it (RFC 6376
     * 5.4.2), From always, and From once more when over-signing. */
    const char *const *names = opt->headers ? opt->headers : default_headers;
    guint froms = 0;
    for (guint k = 0; k < msg.fields->len; k++)
        froms += ms__dkim_field_is(&msg, &g_array_index(msg.fields, MsDkimField, k), "from");
    if (froms == 0) {
        ms__dkim_message_clear(&msg);
        g_set_error_literal(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                            "the message has no From field to sign (RFC 6376 5.4)");
        return NULL;
    }
    g_autoptr(GPtrArray) h = g_ptr_array_new_with_free_func(g_free);
    gboolean from_listed = FALSE;
    for (const char *const *n = names; *n; n++) {
        gboolean is_from = g_ascii_strcasecmp(*n, "from") == 0;
        if (is_from && from_listed)
            continue;
        from_listed = from_listed || is_from;
        for (guint k = 0; k < msg.fields->len; k++)
            if (ms__dkim_field_is(&msg, &g_array_index(msg.fields, MsDkimField, k), *n))
                g_ptr_array_add(h, g_ascii_strdown(*n, -1));
    }
    if (!from_listed)
        for (guint k = 0; k < froms; k++)
            g_ptr_array_insert(h, (gint) k, g_strdup("from"));
    if (opt->oversign_from)
        g_ptr_array_add(h, g_strdup("from"));
    g_ptr_array_add(h, NULL);

    guint8 bh[32];
    ms_dkim_body_hash(opt->body_canon, msg.text + msg.body, msg.len - msg.body, -1, bh);
    g_autofree char *bh64 = g_base64_encode(bh, 32);

    GString *f = g_string_new("DKIM-Signature:");
    gsize col = f->len;
    g_autofree char *a = g_strdup_printf("v=1; a=%s;", ms_dkim_alg_to_string(key->alg));
    fold_append(f, &col, a, TRUE);
    g_autofree char *c = g_strdup_printf("c=%s/%s;", ms_dkim_canon_to_string(opt->header_canon),
                                         ms_dkim_canon_to_string(opt->body_canon));
    fold_append(f, &col, c, TRUE);
    g_autofree char *d = g_strdup_printf("d=%s;", opt->domain);
    fold_append(f, &col, d, TRUE);
    g_autofree char *s = g_strdup_printf("s=%s;", opt->selector);
    fold_append(f, &col, s, TRUE);
    if (opt->identity) {
        g_autofree char *i = g_strdup_printf("i=%s;", opt->identity);
        fold_append(f, &col, i, TRUE);
    }
    if (opt->timestamp >= 0) {
        g_autofree char *t = g_strdup_printf("t=%" G_GINT64_FORMAT ";", opt->timestamp);
        fold_append(f, &col, t, TRUE);
    }
    if (opt->expiration >= 0) {
        g_autofree char *x = g_strdup_printf("x=%" G_GINT64_FORMAT ";", opt->expiration);
        fold_append(f, &col, x, TRUE);
    }
    for (guint k = 0; k + 1 < h->len; k++) {
        g_autofree char *item =
            g_strconcat(k == 0 ? "h=" : "", (char *) h->pdata[k], k + 2 < h->len ? ":" : ";", NULL);
        fold_append(f, &col, item, k == 0);
    }
    fold_append(f, &col, "bh=", TRUE);
    fold_base64(f, &col, bh64);
    fold_append(f, &col, ";", FALSE);
    fold_append(f, &col, "b=", TRUE);

    /* RFC 6376 3.7: the signed fields, then this one with b= empty and
     * without its final CRLF. */
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    ms__dkim_hash_headers(&msg, opt->header_canon, (const char *const *) h->pdata, &ctx);
    ms__dkim_hash_signature_field(opt->header_canon, f->str, f->len, &ctx);
    guint8 digest[32];
    sha256_digest(&ctx, 32, digest);
    ms__dkim_message_clear(&msg);

    gsize sig_len = 0;
    g_autofree guint8 *sig = sign_digest(key, digest, &sig_len, error);
    if (!sig) {
        g_string_free(f, TRUE);
        return NULL;
    }
    g_autofree char *b64 = g_base64_encode(sig, sig_len);
    fold_base64(f, &col, b64);
    g_string_append(f, "\r\n");
    return g_string_free(f, FALSE);
}

/* --- verification --------------------------------------------------------------- */

typedef struct {
    guint field;          /* index into msg.fields */
    MsDkimSignature *sig; /* NULL when it did not parse */
    char *query;          /* NULL once decided */
    MsDkimResult result;
    char *reason;
} MsDkimVerifierSig;

struct _MsDkimVerifier {
    MsDkimMessage msg;
    GArray *sigs; /* of MsDkimVerifierSig */
    gint64 now;
};

static void
verifier_sig_clear(gpointer p)
{
    MsDkimVerifierSig *s = p;
    ms_dkim_signature_free(s->sig);
    g_free(s->query);
    g_free(s->reason);
}

static void
decide(MsDkimVerifierSig *s, MsDkimResult result, const char *reason)
{
    s->result = result;
    g_free(s->reason);
    s->reason = g_strdup(reason);
    g_clear_pointer(&s->query, g_free);
}

MsDkimVerifier *
ms_dkim_verifier_new(const char *message, gsize len, guint max_signatures, gint64 now)
{
    g_return_val_if_fail(message != NULL || len == 0, NULL);
    MsDkimVerifier *v = g_new0(MsDkimVerifier, 1);
    ms__dkim_message_init(&v->msg, message, len);
    v->now = now;
    v->sigs = g_array_new(FALSE, TRUE, sizeof(MsDkimVerifierSig));
    g_array_set_clear_func(v->sigs, verifier_sig_clear);
    if (max_signatures == 0)
        max_signatures = MS_DKIM_MAX_SIGNATURES;
    for (guint k = 0; k < v->msg.fields->len && v->sigs->len < max_signatures; k++) {
        const MsDkimField *f = &g_array_index(v->msg.fields, MsDkimField, k);
        if (!ms__dkim_field_is(&v->msg, f, "dkim-signature"))
            continue;
        MsDkimVerifierSig s = { k, NULL, NULL, MS_DKIM_RESULT_NONE, NULL };
        const char *text = v->msg.text + f->start;
        const char *colon = memchr(text, ':', f->len);
        gsize off = (gsize) (colon - text) + 1;
        g_autoptr(GError) error = NULL;
        s.sig = ms_dkim_signature_parse(text + off, f->len - off, &error);
        if (!s.sig)
            decide(&s, MS_DKIM_RESULT_PERMERROR, error->message);
        else if (now >= 0 && s.sig->expiration >= 0 && now > s.sig->expiration)
            decide(&s, MS_DKIM_RESULT_PERMERROR, "signature expired (RFC 6376 3.5 x=)");
        else
            s.query = ms_dkim_query_name(s.sig->selector, s.sig->domain);
        g_array_append_val(v->sigs, s);
    }
    return v;
}

void
ms_dkim_verifier_free(MsDkimVerifier *v)
{
    if (!v)
        return;
    ms__dkim_message_clear(&v->msg);
    g_array_unref(v->sigs);
    g_free(v);
}

guint
ms_dkim_verifier_count(const MsDkimVerifier *v)
{
    g_return_val_if_fail(v != NULL, 0);
    return v->sigs->len;
}

const char *
ms_dkim_verifier_query(const MsDkimVerifier *v, guint i)
{
    g_return_val_if_fail(v != NULL && i < v->sigs->len, NULL);
    return g_array_index(v->sigs, MsDkimVerifierSig, i).query;
}

void
ms_dkim_verifier_answer(MsDkimVerifier *v, guint i, MsDkimDnsStatus status, const char *txt,
                        gsize len)
{
    g_return_if_fail(v != NULL && i < v->sigs->len);
    MsDkimVerifierSig *s = &g_array_index(v->sigs, MsDkimVerifierSig, i);
    if (!s->query)
        return;
    if (status == MS_DKIM_DNS_TEMPFAIL) {
        decide(s, MS_DKIM_RESULT_TEMPERROR, "key unavailable (DNS temporary failure)");
        return;
    }
    if (status != MS_DKIM_DNS_OK || !txt) {
        decide(s, MS_DKIM_RESULT_PERMERROR, "no key for signature");
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDkimKey) key = ms_dkim_key_parse(txt, len, &error);
    if (!key) {
        decide(s, MS_DKIM_RESULT_PERMERROR, error->message);
        return;
    }
    ms_dkim_verifier_answer_key(v, i, key);
}

/* Whether the signature bytes verify the header digest under key. */
static gboolean
check_signature(const MsDkimKey *key, GBytes *signature, const guint8 digest[32])
{
    gsize n = 0;
    const guint8 *b = g_bytes_get_data(signature, &n);
    if (key->type == MS_DKIM_KEY_ED25519)
        return n == 64 && ed25519_sha512_verify(key->ed25519, 32, digest, b);
    if (n != key->rsa.size)
        return FALSE;
    mpz_t s;
    mpz_init(s);
    mpz_import(s, n, 1, 1, 0, 0, b);
    gboolean ok = rsa_sha256_verify_digest(&key->rsa, digest, s) != 0;
    mpz_clear(s);
    return ok;
}

void
ms_dkim_verifier_answer_key(MsDkimVerifier *v, guint i, const MsDkimKey *key)
{
    g_return_if_fail(v != NULL && i < v->sigs->len && key != NULL);
    MsDkimVerifierSig *s = &g_array_index(v->sigs, MsDkimVerifierSig, i);
    if (!s->query)
        return;
    const MsDkimSignature *sig = s->sig;
    MsDkimKeyType want =
        sig->alg == MS_DKIM_ALG_ED25519_SHA256 ? MS_DKIM_KEY_ED25519 : MS_DKIM_KEY_RSA;
    if (key->type != want) {
        decide(s, MS_DKIM_RESULT_PERMERROR, "key type does not match a= (RFC 6376 6.1.2)");
        return;
    }
    if (key->strict_i) {
        const char *at = strrchr(sig->identity, '@');
        if (!at || g_ascii_strcasecmp(at + 1, sig->domain) != 0) {
            decide(s, MS_DKIM_RESULT_PERMERROR, "key has t=s but i= is a subdomain of d=");
            return;
        }
    }
    const MsDkimField *f = &g_array_index(v->msg.fields, MsDkimField, s->field);
    const char *failure = NULL;
    guint8 bh[32];
    if (!ms_dkim_body_hash(sig->body_canon, v->msg.text + v->msg.body, v->msg.len - v->msg.body,
                           sig->body_length, bh)) {
        failure = "body shorter than l=";
    } else if (memcmp(bh, g_bytes_get_data(sig->body_hash, NULL), 32) != 0) {
        failure = "body hash did not verify";
    } else {
        struct sha256_ctx ctx;
        sha256_init(&ctx);
        ms__dkim_hash_headers(&v->msg, sig->header_canon, (const char *const *) sig->headers, &ctx);
        ms__dkim_hash_signature_field(sig->header_canon, v->msg.text + f->start, f->len, &ctx);
        guint8 digest[32];
        sha256_digest(&ctx, 32, digest);
        if (!check_signature(key, sig->signature, digest))
            failure = "signature did not verify";
    }
    if (!failure) {
        decide(s, MS_DKIM_RESULT_PASS, NULL);
    } else if (key->testing) {
        g_autofree char *why = g_strconcat(failure, " (key in testing mode, t=y)", NULL);
        decide(s, MS_DKIM_RESULT_NEUTRAL, why);
    } else {
        decide(s, MS_DKIM_RESULT_FAIL, failure);
    }
}

MsDkimResult
ms_dkim_verifier_result(const MsDkimVerifier *v, guint i, const char **reason)
{
    g_return_val_if_fail(v != NULL && i < v->sigs->len, MS_DKIM_RESULT_NONE);
    const MsDkimVerifierSig *s = &g_array_index(v->sigs, MsDkimVerifierSig, i);
    if (reason)
        *reason = s->reason;
    return s->result;
}

const MsDkimSignature *
ms_dkim_verifier_signature(const MsDkimVerifier *v, guint i)
{
    g_return_val_if_fail(v != NULL && i < v->sigs->len, NULL);
    return g_array_index(v->sigs, MsDkimVerifierSig, i).sig;
}

/* An RFC 8601 value: a token as it is, anything else quoted. */
static void
append_value(GString *out, const char *value)
{
    gboolean token = *value != '\0';
    for (const char *p = value; *p && token; p++)
        token = (guchar) *p > 32 && (guchar) *p < 127 && !strchr("()<>@,;:\\\"/[]?=", *p);
    if (token) {
        g_string_append(out, value);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, (guchar) *p < 32 ? ' ' : *p);
    }
    g_string_append_c(out, '"');
}

char *
ms_dkim_verifier_result_text(const MsDkimVerifier *v, guint i)
{
    g_return_val_if_fail(v != NULL && i < v->sigs->len, NULL);
    const MsDkimVerifierSig *s = &g_array_index(v->sigs, MsDkimVerifierSig, i);
    GString *out = g_string_new("dkim=");
    g_string_append(out, ms_dkim_result_to_string(s->result));
    if (s->reason) {
        g_string_append(out, " reason=");
        append_value(out, s->reason);
    }
    if (s->sig) {
        g_string_append(out, " header.d=");
        append_value(out, s->sig->domain);
        g_string_append(out, " header.s=");
        append_value(out, s->sig->selector);
        g_autofree char *b8 = g_strndup(s->sig->b_text, 8);
        g_string_append(out, " header.b=");
        append_value(out, b8);
    }
    return g_string_free(out, FALSE);
}
