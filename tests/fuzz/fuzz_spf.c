/* libFuzzer target for the sender-authentication parsers: the SPF record
 * parser and evaluator, the SPF macro expander, the DMARC record parser,
 * the public suffix list parser and the Authentication-Results writer. The
 * first byte picks which (the rest is the text):
 *
 *   's'  an SPF record, validated, then evaluated as the record of every
 *        name (so include: and redirect= recurse into it again) against a
 *        synthetic DNS whose answers depend on the name: the evaluation
 *        must end, within a bounded number of questions, with a result,
 *        and a record validate() refuses must end in permerror;
 *   'm'  a macro-string, expanded as a domain-spec and as exp text: NULL
 *        only with an error, a domain-spec never over 253 octets;
 *   'd'  a DMARC record: parsed, and when accepted written out and parsed
 *        again to the same text;
 *   'p'  a public suffix list: parsed, then asked about a few names;
 *   'a'  an Authentication-Results reason: the field stays within 78
 *        columns except for a single long word, with no bare CR or LF;
 *   anything else: as 's'.
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each, on a work corpus
 * build-fuzz/corpus-spf seeded from tests/fuzz/corpus/spf/. To run this
 * target alone for longer, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_spf -max_total_time=600 -max_len=16384 corpus-spf
 */
#include "mailsim/auth_results.h"
#include "mailsim/dmarc.h"
#include "mailsim/psl.h"
#include "mailsim/spf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* The questions one evaluation may ask at most: 1 + 10 terms, each at
 * most 1 TXT or MX lookup plus 10 address lookups, and the redirect. */
#define MAX_QUESTIONS 200

typedef struct {
    const char *record;
    guint asked;
} FuzzDns;

static MsSpfAnswer
fuzz_lookup(const char *name, MsSpfQueryType type, GPtrArray *records, gpointer data)
{
    FuzzDns *dns = data;
    if (++dns->asked > MAX_QUESTIONS)
        abort(); /* the limits of RFC 7208 4.6.4 must stop it first */
    if (type == MS_SPF_QUERY_TXT && strcmp(name, "example.com") == 0) {
        g_ptr_array_add(records, g_strdup(dns->record));
        return MS_SPF_ANSWER_RECORDS;
    }
    guint h = g_str_hash(name);
    switch (h % 7) {
    case 0:
        return MS_SPF_ANSWER_NXDOMAIN;
    case 1:
        return MS_SPF_ANSWER_TEMPFAIL;
    case 2:
        return MS_SPF_ANSWER_NODATA;
    default:
        break;
    }
    switch (type) {
    case MS_SPF_QUERY_TXT:
        g_ptr_array_add(records, g_strdup(dns->record));
        if (h % 11 == 0)
            g_ptr_array_add(records, g_strdup("v=spf1 -all")); /* two records */
        break;
    case MS_SPF_QUERY_A:
        g_ptr_array_add(records, g_strdup_printf("192.0.2.%u", h % 256));
        g_ptr_array_add(records, g_strdup("not an address"));
        break;
    case MS_SPF_QUERY_AAAA:
        g_ptr_array_add(records, g_strdup_printf("2001:db8::%x", h % 65536));
        break;
    case MS_SPF_QUERY_MX:
        for (guint i = 0; i < 3 + h % 10; i++)
            g_ptr_array_add(records, g_strdup_printf("%u mx%u.%s", i, i, name));
        break;
    }
    return MS_SPF_ANSWER_RECORDS;
}

static void
fuzz_spf_record(const char *text)
{
    GError *error = NULL;
    guint terms = 0;
    gboolean valid = ms_spf_record_validate(text, &terms, &error);
    if (valid == (error != NULL))
        abort();
    g_clear_error(&error);
    static const char *const clients[] = { "192.0.2.1", "2001:db8::1" };
    for (guint i = 0; i < G_N_ELEMENTS(clients); i++) {
        MsSpfCheck *c = ms_spf_check_new(clients[i], "user@example.com", "mx.example.net", NULL);
        if (!c)
            abort();
        FuzzDns dns = { text, 0 };
        MsSpfResult r = ms_spf_check_run(c, fuzz_lookup, &dns);
        if (!ms_spf_check_done(c) || r > MS_SPF_RESULT_PERMERROR)
            abort();
        if (!ms_spf_check_explanation(c)[0])
            abort();
        if (ms_spf_check_dns_terms(c) > MS_SPF_MAX_DNS_TERMS)
            abort();
        /* The first answer is this record, alone, at example.com. */
        if (!valid && ms_spf_record_is_spf(text) && r != MS_SPF_RESULT_PERMERROR)
            abort();
        ms_spf_check_free(c);
    }
}

static void
fuzz_macro(const char *text)
{
    MsSpfMacroContext ctx = { "strong-bad@email.example.com",
                              "email.example.com",
                              "192.0.2.3",
                              "mx.example.org",
                              "mx.example.net",
                              1000 };
    for (int exp = 0; exp < 2; exp++) {
        GError *error = NULL;
        char *out = ms_spf_macro_expand(text, &ctx, exp, &error);
        if ((out == NULL) != (error != NULL))
            abort();
        if (out && !exp && strlen(out) > 253)
            abort();
        g_free(out);
        g_clear_error(&error);
    }
}

static void
fuzz_dmarc(const char *text)
{
    GError *error = NULL;
    MsDmarcRecord *r = ms_dmarc_record_parse(text, &error);
    if ((r == NULL) != (error != NULL))
        abort();
    g_clear_error(&error);
    if (!r)
        return;
    if (r->pct > 100 || r->rua == NULL || r->warnings == NULL)
        abort();
    char *t1 = ms_dmarc_record_to_string(r);
    MsDmarcRecord *again = ms_dmarc_record_parse(t1, &error);
    if (!again)
        abort(); /* our own text must parse */
    char *t2 = ms_dmarc_record_to_string(again);
    if (strcmp(t1, t2) != 0)
        abort();
    g_free(t1);
    g_free(t2);
    ms_dmarc_record_free(again);
    ms_dmarc_record_free(r);
}

static void
fuzz_psl(const char *text, gsize len)
{
    GError *error = NULL;
    MsPsl *psl = ms_psl_new_from_data(text, len, "fuzz", &error);
    if ((psl == NULL) != (error != NULL))
        abort();
    g_clear_error(&error);
    if (!psl)
        return;
    static const char *const names[] = { "a.b.example.com", "www.ck", "x.y.z", "com", "" };
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        char *org = ms_psl_organizational_domain(psl, names[i]);
        char *suffix = ms_psl_public_suffix(psl, names[i]);
        if ((org == NULL) != (suffix == NULL))
            abort();
        if (org && !g_str_has_suffix(org, suffix))
            abort();
        g_free(org);
        g_free(suffix);
    }
    ms_psl_free(psl);
}

static void
fuzz_auth_results(const char *text)
{
    MsAuthResults *ar = ms_auth_results_new("mx.example.net");
    ms_auth_results_add_spf(ar, MS_SPF_RESULT_FAIL, "a@example.com", FALSE, text);
    ms_auth_results_add(ar, "dkim", "pass", NULL);
    ms_auth_results_add_property(ar, "header", "d", text);
    char *field = ms_auth_results_to_string(ar);
    char **lines = g_strsplit(field, "\r\n", -1);
    for (guint i = 0; lines[i]; i++) {
        if (strchr(lines[i], '\r') || strchr(lines[i], '\n'))
            abort();
        guint cols = 0;
        for (const char *p = lines[i]; *p; p++)
            cols += *p == '\t' ? 8 : 1;
        /* Only one word may stand past the width: after the line's
         * leading spaces, no other space (a quoted property value is one
         * word, spaces and all). */
        const char *word = lines[i] + strspn(lines[i], " \t");
        if (cols > MS_AUTH_RESULTS_WIDTH && strchr(word, ' ') != NULL && strchr(word, '"') == NULL)
            abort();
    }
    g_strfreev(lines);
    g_free(field);
    ms_auth_results_free(ar);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size == 0)
        return 0;
    char mode = (char) data[0];
    char *text = g_strndup((const char *) data + 1, size - 1);
    switch (mode) {
    case 'm':
        fuzz_macro(text);
        break;
    case 'd':
        fuzz_dmarc(text);
        break;
    case 'p':
        fuzz_psl((const char *) data + 1, size - 1);
        break;
    case 'a':
        fuzz_auth_results(text);
        break;
    default:
        fuzz_spf_record(text);
        break;
    }
    g_free(text);
    return 0;
}
