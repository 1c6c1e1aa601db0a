/* DANE for SMTP (see include/mailsim/tls_dane.h). Role in the data flow:
 * the sending MTA's delivery attempt has looked up the TLSA records of the
 * MX host and completed a TLS handshake; this decides whether the chain the
 * server sent is the one the DNS vouches for, and ms_tls_dane_record_new()
 * builds the records a scenario publishes for its servers.
 *
 * Design. Records are taken in the order given and the first usable one
 * that matches decides, so the verdict does not depend on anything but the
 * inputs. For each record the selected octets (the certificate's DER, or
 * its SubjectPublicKeyInfo re-encoded by GnuTLS from the parsed
 * certificate) are compared in full or through SHA2-256 / SHA2-512
 * (nettle). A DANE-EE(3) record is compared with the leaf only. A
 * DANE-TA(2) record is compared with each certificate above the leaf; at
 * the first that matches, GnuTLS checks that the certificates below it lead
 * to it (signatures, CA flags), with its own clock disabled, and the leaf's
 * and intermediates' dates are compared here with the simulated `now` and
 * the leaf's names with `names` (gnutls_x509_crt_check_hostname2, which
 * allows a wildcard only as the whole leftmost label, RFC 7672 3.2.3). The
 * anchor's own dates are not checked: its authority comes from the DNS
 * record, not from its validity period (our reading of RFC 7672 3.1.2).
 *
 * Choices where the RFCs leave room:
 *   - A DANE-TA(2) record matching the leaf itself is not taken as a match:
 *     RFC 7672 3.1.2 describes the anchor as an issuer in the chain, and a
 *     leaf that is its own anchor is what DANE-EE(3) is for.
 *   - A "2 1 0" record (the anchor's full public key) whose certificate
 *     the server did not send cannot be matched here: GnuTLS has no trust
 *     list entry for a bare key. Such a record counts as usable and not
 *     matching, so the delivery fails closed rather than open.
 *   - Digests of the wrong length (SHA2-256 not 32 octets, SHA2-512 not
 *     64) and empty full-data records are unusable, like unknown values.
 *
 * Costs: one certificate parse per chain certificate per call and one
 * digest per record compared; microseconds for the one or two records a
 * server publishes. No state; any thread. */
#include "mailsim/tls_dane.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/sha2.h>
#include <string.h>

G_DEFINE_QUARK(ms - tls - dane - error - quark, ms_tls_dane_error)

#define SHORT_HEX 16 /* hex digits of association data shown in reasons */

static const char *const usage_names[] = { "PKIX-TA(0)", "PKIX-EE(1)", "DANE-TA(2)", "DANE-EE(3)" };

/* A parsed chain certificate, read once per call when first needed. */
typedef struct {
    gnutls_x509_crt_t crt;
    gboolean tried;
} ChainCert;

static gnutls_x509_crt_t
chain_crt(GBytes *const *chain, ChainCert *parsed, guint i)
{
    if (!parsed[i].tried) {
        parsed[i].tried = TRUE;
        gsize len;
        const guint8 *d = g_bytes_get_data(chain[i], &len);
        const gnutls_datum_t datum = { (unsigned char *) d, (unsigned) len };
        if (len > G_MAXUINT || gnutls_x509_crt_init(&parsed[i].crt) < 0) {
            parsed[i].crt = NULL;
        } else if (gnutls_x509_crt_import(parsed[i].crt, &datum, GNUTLS_X509_FMT_DER) < 0) {
            gnutls_x509_crt_deinit(parsed[i].crt);
            parsed[i].crt = NULL;
        }
    }
    return parsed[i].crt;
}

/* The SubjectPublicKeyInfo of crt, DER, as GnuTLS re-encodes it. */
static GBytes *
spki_of(gnutls_x509_crt_t crt)
{
    gnutls_pubkey_t key = NULL;
    if (gnutls_pubkey_init(&key) < 0)
        return NULL;
    gnutls_datum_t out = { NULL, 0 };
    GBytes *b = NULL;
    if (gnutls_pubkey_import_x509(key, crt, 0) >= 0 &&
        gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &out) >= 0) {
        b = g_bytes_new(out.data, out.size);
        gnutls_free(out.data);
    }
    gnutls_pubkey_deinit(key);
    return b;
}

static GBytes *
digest(GBytes *in, guint8 matching_type)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(in, &len);
    switch (matching_type) {
    case MS_TLS_DANE_MATCH_FULL:
        return g_bytes_ref(in);
    case MS_TLS_DANE_MATCH_SHA256: {
        struct sha256_ctx ctx;
        guint8 out[SHA256_DIGEST_SIZE];
        sha256_init(&ctx);
        sha256_update(&ctx, len, d);
        sha256_digest(&ctx, sizeof out, out);
        return g_bytes_new(out, sizeof out);
    }
    case MS_TLS_DANE_MATCH_SHA512: {
        struct sha512_ctx ctx;
        guint8 out[SHA512_DIGEST_SIZE];
        sha512_init(&ctx);
        sha512_update(&ctx, len, d);
        sha512_digest(&ctx, sizeof out, out);
        return g_bytes_new(out, sizeof out);
    }
    default:
        return NULL;
    }
}

/* The association data of chain certificate i, or NULL when it does not
 * parse (selector 1) or a parameter is unknown. */
static GBytes *
association_of(GBytes *const *chain, ChainCert *parsed, guint i, guint8 selector,
               guint8 matching_type)
{
    g_autoptr(GBytes) selected = NULL;
    if (selector == MS_TLS_DANE_SEL_CERT) {
        selected = g_bytes_ref(chain[i]);
    } else if (selector == MS_TLS_DANE_SEL_SPKI) {
        gnutls_x509_crt_t crt = chain_crt(chain, parsed, i);
        if (!crt)
            return NULL;
        selected = spki_of(crt);
    }
    return selected ? digest(selected, matching_type) : NULL;
}

GBytes *
ms_tls_dane_association(GBytes *cert_der, guint8 selector, guint8 matching_type, GError **error)
{
    g_return_val_if_fail(cert_der != NULL, NULL);
    if (selector > MS_TLS_DANE_SEL_SPKI || matching_type > MS_TLS_DANE_MATCH_SHA512) {
        g_set_error(error, MS_TLS_DANE_ERROR, MS_TLS_DANE_ERROR_PARAMETER,
                    "selector %u, matching type %u: not defined by RFC 6698 2.1", selector,
                    matching_type);
        return NULL;
    }
    ChainCert parsed = { NULL, FALSE };
    GBytes *out = association_of(&cert_der, &parsed, 0, selector, matching_type);
    if (parsed.crt)
        gnutls_x509_crt_deinit(parsed.crt);
    if (!out)
        g_set_error(error, MS_TLS_DANE_ERROR, MS_TLS_DANE_ERROR_CERTIFICATE,
                    "the certificate does not parse as X.509");
    return out;
}

/* NULL when the record is usable for SMTP, else why not (static). */
static const char *
unusable_because(const MsDnsTlsa *t)
{
    gsize len = g_bytes_get_size(t->data);
    if (t->usage == MS_TLS_DANE_PKIX_TA || t->usage == MS_TLS_DANE_PKIX_EE)
        return "PKIX usages are unusable for SMTP (RFC 7672 3.1.3)";
    if (t->usage > MS_TLS_DANE_DANE_EE)
        return "unknown certificate usage";
    if (t->selector > MS_TLS_DANE_SEL_SPKI)
        return "unknown selector";
    if (t->matching_type > MS_TLS_DANE_MATCH_SHA512)
        return "unknown matching type";
    if (t->matching_type == MS_TLS_DANE_MATCH_SHA256 && len != SHA256_DIGEST_SIZE)
        return "a SHA2-256 digest that is not 32 octets";
    if (t->matching_type == MS_TLS_DANE_MATCH_SHA512 && len != SHA512_DIGEST_SIZE)
        return "a SHA2-512 digest that is not 64 octets";
    if (t->matching_type == MS_TLS_DANE_MATCH_FULL && len == 0)
        return "no association data";
    return NULL;
}

static char *
hex(GBytes *b, gsize max_digits)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(b, &len);
    GString *s = g_string_sized_new(len * 2);
    for (gsize i = 0; i < len && (max_digits == 0 || s->len < max_digits); i++)
        g_string_append_printf(s, "%02x", d[i]);
    if (max_digits > 0 && len * 2 > max_digits)
        g_string_append(s, "...");
    return g_string_free(s, FALSE);
}

/* "3 1 1 0c72ac70b745ac19..." */
static char *
short_form(const MsDnsTlsa *t)
{
    g_autofree char *h = hex(t->data, SHORT_HEX);
    return g_strdup_printf("%u %u %u %s", t->usage, t->selector, t->matching_type, h);
}

char *
ms_tls_dane_tlsa_to_string(const MsDnsTlsa *tlsa)
{
    g_return_val_if_fail(tlsa != NULL, NULL);
    g_autofree char *h = hex(tlsa->data, 0);
    return g_strdup_printf("%u %u %u %s", tlsa->usage, tlsa->selector, tlsa->matching_type, h);
}

static gboolean
name_matches(gnutls_x509_crt_t leaf, const char *const *names)
{
    for (guint i = 0; names && names[i]; i++)
        if (gnutls_x509_crt_check_hostname2(leaf, names[i], 0))
            return TRUE;
    return FALSE;
}

/* Checks the chain below the anchor at index `ta` for a DANE-TA(2)
 * match: NULL when it holds, else why not (caller frees). */
static char *
check_below_anchor(GBytes *const *chain, ChainCert *parsed, guint ta, const char *const *names,
                   gint64 now)
{
    gnutls_x509_crt_t anchor = chain_crt(chain, parsed, ta);
    g_autofree gnutls_x509_crt_t *below = g_new0(gnutls_x509_crt_t, ta);
    for (guint i = 0; i < ta; i++) {
        below[i] = chain_crt(chain, parsed, i);
        if (!below[i])
            return g_strdup_printf("certificate %u of the chain does not parse", i + 1);
    }
    unsigned status = 0;
    unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
    if (!anchor ||
        gnutls_x509_crt_list_verify(below, ta, &anchor, 1, NULL, 0, flags, &status) < 0 ||
        status != 0)
        return g_strdup_printf("the server's certificate does not lead to the trust anchor"
                               " (certificate %u of the chain)",
                               ta + 1);
    for (guint i = 0; i < ta; i++) {
        gint64 act = (gint64) gnutls_x509_crt_get_activation_time(below[i]);
        gint64 exp = (gint64) gnutls_x509_crt_get_expiration_time(below[i]);
        if (now > exp)
            return g_strdup_printf("certificate %u of the chain has expired", i + 1);
        if (now < act)
            return g_strdup_printf("certificate %u of the chain is not yet valid", i + 1);
    }
    if (!name_matches(below[0], names)) {
        g_autofree char *list = names ? g_strjoinv(", ", (char **) names) : g_strdup("");
        return g_strdup_printf("the server's certificate names none of: %s (RFC 7672 3.2.2)", list);
    }
    return NULL;
}

MsTlsDaneResult
ms_tls_dane_check(GBytes *const *chain, guint n_certs, const GPtrArray *records,
                  const char *const *names, gint64 now, gint *matched, char **why)
{
    g_return_val_if_fail(chain != NULL || n_certs == 0, MS_TLS_DANE_FAILED);
    if (matched)
        *matched = -1;
    ChainCert *parsed = g_new0(ChainCert, MAX(n_certs, 1));
    guint n_tlsa = 0, n_usable = 0;
    const char *first_unusable = NULL;
    g_autofree char *failure = NULL; /* the first usable record's reason */
    MsTlsDaneResult result = MS_TLS_DANE_NONE;
    g_autofree char *verdict = NULL;
    for (guint r = 0; records && r < records->len && !verdict; r++) {
        const MsDnsRecord *rec = g_ptr_array_index(records, r);
        if (rec->type != MS_DNS_TYPE_TLSA)
            continue;
        const MsDnsTlsa *t = &rec->rdata.tlsa;
        n_tlsa++;
        const char *bad = unusable_because(t);
        if (bad) {
            first_unusable = first_unusable ? first_unusable : bad;
            continue;
        }
        n_usable++;
        g_autofree char *form = short_form(t);
        if (n_certs == 0) {
            if (!failure)
                failure = g_strdup("the server sent no certificate");
            continue;
        }
        guint first = t->usage == MS_TLS_DANE_DANE_EE ? 0 : 1;
        guint last = t->usage == MS_TLS_DANE_DANE_EE ? 1 : n_certs;
        gboolean any = FALSE;
        for (guint k = first; k < last && !verdict; k++) {
            g_autoptr(GBytes) a = association_of(chain, parsed, k, t->selector, t->matching_type);
            if (!a || !g_bytes_equal(a, t->data))
                continue;
            any = TRUE;
            if (t->usage == MS_TLS_DANE_DANE_EE) {
                verdict = g_strdup_printf(
                    "DANE-EE(3) record %s matches the server's %s; its names and dates are"
                    " not checked (RFC 7672 3.1.1)",
                    form, t->selector == MS_TLS_DANE_SEL_SPKI ? "public key" : "certificate");
            } else {
                g_autofree char *no = check_below_anchor(chain, parsed, k, names, now);
                if (!no)
                    verdict = g_strdup_printf("DANE-TA(2) record %s matches the trust anchor"
                                              " (certificate %u of the chain), which issued"
                                              " the server's certificate for its name",
                                              form, k + 1);
                else if (!failure)
                    failure = g_strdup_printf("DANE-TA(2) record %s matches certificate %u of"
                                              " the chain, but %s",
                                              form, k + 1, no);
            }
            if (verdict && matched)
                *matched = (gint) r;
        }
        if (!any && !failure)
            failure = g_strdup_printf(
                "%s record %s matches no certificate the server sent%s", usage_names[t->usage],
                form,
                t->usage == MS_TLS_DANE_DANE_TA && n_certs == 1
                    ? " (it sent only its own; a DANE-TA(2) anchor must be in the chain,"
                      " RFC 7672 3.1.2)"
                    : "");
    }
    for (guint i = 0; i < n_certs; i++)
        if (parsed[i].crt)
            gnutls_x509_crt_deinit(parsed[i].crt);
    g_free(parsed);

    if (verdict) {
        result = MS_TLS_DANE_AUTHENTICATED;
    } else if (n_tlsa == 0) {
        result = MS_TLS_DANE_NONE;
        verdict = g_strdup("no TLSA records: DANE does not apply");
    } else if (n_usable == 0) {
        /* RFC 7672 2.2: TLS is still mandatory, without authentication. */
        result = MS_TLS_DANE_UNUSABLE;
        verdict = g_strdup_printf("%u TLSA record%s, none usable (%s): TLS is required but the"
                                  " server is not authenticated (RFC 7672 2.2)",
                                  n_tlsa, n_tlsa == 1 ? "" : "s", first_unusable);
    } else {
        result = MS_TLS_DANE_FAILED;
        verdict = g_steal_pointer(&failure);
    }
    if (why)
        *why = g_steal_pointer(&verdict);
    return result;
}

char *
ms_tls_dane_owner(const char *host, guint16 port)
{
    g_return_val_if_fail(host != NULL, NULL);
    return g_strdup_printf("_%u._tcp.%s", port, host);
}

MsDnsRecord *
ms_tls_dane_record_new(const MsTlsCredentials *cred, const char *host, guint16 port, guint32 ttl,
                       guint8 usage, guint8 selector, guint8 matching_type, GError **error)
{
    g_return_val_if_fail(cred != NULL && cred->n_certs > 0 && host != NULL, NULL);
    GBytes *cert = usage == MS_TLS_DANE_DANE_TA || usage == MS_TLS_DANE_PKIX_TA
                       ? cred->chain[cred->n_certs - 1]
                       : cred->chain[0];
    g_autoptr(GBytes) data = ms_tls_dane_association(cert, selector, matching_type, error);
    if (!data)
        return NULL;
    g_autofree char *owner = ms_tls_dane_owner(host, port);
    gsize len;
    const guint8 *d = g_bytes_get_data(data, &len);
    return ms_dns_record_new_tlsa(owner, ttl, usage, selector, matching_type, d, len);
}

const char *
ms_tls_dane_result_to_string(MsTlsDaneResult result)
{
    switch (result) {
    case MS_TLS_DANE_NONE:
        return "no TLSA records";
    case MS_TLS_DANE_UNUSABLE:
        return "unusable";
    case MS_TLS_DANE_AUTHENTICATED:
        return "authenticated";
    case MS_TLS_DANE_FAILED:
        return "failed";
    }
    return "?";
}
