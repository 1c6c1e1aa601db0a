/* Tests of the Authentication-Results builder (sim/proto/auth_results.c):
 * exact output for the common shapes (RFC 8601's "none", SPF by MAIL FROM
 * and by HELO, DKIM with header.d/s/b, DMARC with header.from, reasons),
 * quoting of values that are not tokens, folding at 78 columns (every
 * line within the width unless one word is longer, unfolding giving the
 * same field back, quoted reasons folded before their own spaces), and
 * every shape parsed by an independent implementation, python3-authres,
 * which must read back the same methods, results, reasons and
 * properties. */
#include "testlib.h"
#include "auth_testkit.h"
#include "mailsim/auth_results.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* The field with its folds removed (RFC 5322 2.2.3: CRLF before WSP). */
static char *
unfold(const char *field)
{
    GString *s = g_string_new(NULL);
    for (const char *p = field; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
            p++;
            continue;
        }
        g_string_append_c(s, *p);
    }
    return g_string_free(s, FALSE);
}

/* Every line fits in 78 columns (a TAB counts 8) unless it is one word;
 * lines are CRLF-separated and continuation lines start with WSP. */
static void
check_folding(const char *field)
{
    g_auto(GStrv) lines = g_strsplit(field, "\r\n", -1);
    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i];
        CU_ASSERT_PTR_NULL(strchr(l, '\n'));
        CU_ASSERT_PTR_NULL(strchr(l, '\r'));
        if (i > 0)
            CU_ASSERT(l[0] == '\t' || l[0] == ' ');
        guint cols = 0;
        for (const char *p = l; *p; p++)
            cols += *p == '\t' ? 8 : 1;
        gboolean one_word = strchr(l + 1, ' ') == NULL;
        if (cols > MS_AUTH_RESULTS_WIDTH && !one_word)
            g_printerr("line %u is %u columns: %s\n", i, cols, l);
        CU_ASSERT(cols <= MS_AUTH_RESULTS_WIDTH || one_word);
        CU_ASSERT_FALSE(g_str_has_suffix(l, " ") || g_str_has_suffix(l, "\t"));
    }
}

static void
test_shapes(void)
{
    g_autoptr(MsAuthResults) none = ms_auth_results_new("mx.example.net");
    g_autofree char *n = ms_auth_results_to_string(none);
    CU_ASSERT_STRING_EQUAL(n, "Authentication-Results: mx.example.net; none");
    CU_ASSERT_EQUAL(ms_auth_results_count(none), 0);

    g_autoptr(MsAuthResults) spf = ms_auth_results_new("mx.example.net");
    ms_auth_results_add_spf(spf, MS_SPF_RESULT_PASS, "alice@example.com", FALSE, NULL);
    g_autofree char *s = ms_auth_results_to_string(spf);
    /* 80 columns on one line: folded, the resinfo on a line of its own. */
    CU_ASSERT_STRING_EQUAL(s, "Authentication-Results: mx.example.net;\r\n"
                              "\tspf=pass smtp.mailfrom=alice@example.com");

    g_autoptr(MsAuthResults) helo = ms_auth_results_new("mx.example.net");
    ms_auth_results_add_spf(helo, MS_SPF_RESULT_NONE, "mail.example.org", TRUE, NULL);
    g_autofree char *h = ms_auth_results_to_string(helo);
    CU_ASSERT_STRING_EQUAL(
        h, "Authentication-Results: mx.example.net; spf=none smtp.helo=mail.example.org");

    g_autoptr(MsAuthResults) all = ms_auth_results_new("mx.example.net");
    ms_auth_results_add_spf(all, MS_SPF_RESULT_FAIL, "ceo@example.com", FALSE, "-all matched");
    ms_auth_results_add_dkim(all, "pass", "example.com", "sel1", "AbC/dEf+GhIjKlMn", NULL);
    ms_auth_results_add_dmarc(all, MS_DMARC_RESULT_PASS, "example.com", NULL);
    g_autofree char *a = ms_auth_results_to_string(all);
    CU_ASSERT_STRING_EQUAL(
        a, "Authentication-Results: mx.example.net;\r\n"
           "\tspf=fail reason=\"-all matched\" smtp.mailfrom=ceo@example.com;\r\n"
           "\tdkim=pass header.d=example.com header.s=sel1 header.b=\"AbC/dEf+\";\r\n"
           "\tdmarc=pass header.from=example.com");
    check_folding(a);
    CU_ASSERT_EQUAL(ms_auth_results_count(all), 3);

    /* A reason that is a token stays bare; a quoted local-part is a
     * pvalue as it stands; other values are quoted. */
    g_autoptr(MsAuthResults) odd = ms_auth_results_new("mx.example.net");
    ms_auth_results_add(odd, "spf", "neutral", "default");
    ms_auth_results_add_property(odd, "smtp", "mailfrom", "\"john doe\"@example.com");
    g_autofree char *o = ms_auth_results_to_string(odd);
    CU_ASSERT_STRING_EQUAL(o,
                           "Authentication-Results: mx.example.net;\r\n"
                           "\tspf=neutral reason=default smtp.mailfrom=\"john doe\"@example.com");
    check_folding(o);
    g_autoptr(MsAuthResults) q = ms_auth_results_new("mx.example.net");
    ms_auth_results_add(q, "x-test", "pass", NULL);
    ms_auth_results_add_property(q, "header", "b", "a/b=");
    ms_auth_results_add_property(q, "policy", "x", "two words");
    ms_auth_results_add_property(q, "smtp", "mailfrom", "a b@example.com");
    g_autofree char *qs = ms_auth_results_to_string(q);
    CU_ASSERT_STRING_EQUAL(qs, "Authentication-Results: mx.example.net;\r\n"
                               "\tx-test=pass header.b=\"a/b=\" policy.x=\"two words\"\r\n"
                               "\tsmtp.mailfrom=\"a b@example.com\"");
    check_folding(qs);
}

/* Builds the fields the interoperability test parses; each case says
 * what authres must read back (as JSON, the script's own format). */
typedef struct {
    char *field;
    char *want; /* JSON */
} ArCase;

static void
add_case(GPtrArray *cases, MsAuthResults *ar, const char *want)
{
    ArCase *c = g_new0(ArCase, 1);
    c->field = ms_auth_results_to_string(ar);
    c->want = g_strdup(want);
    g_ptr_array_add(cases, c);
}

static void
case_free(gpointer p)
{
    ArCase *c = p;
    g_free(c->field);
    g_free(c->want);
    g_free(c);
}

static GPtrArray *
build_cases(void)
{
    GPtrArray *cases = g_ptr_array_new_with_free_func(case_free);
    {
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("mx.example.net");
        add_case(cases, ar, "{\"id\":\"mx.example.net\",\"results\":[]}");
    }
    {
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("mx.isp-b.net");
        ms_auth_results_add_spf(ar, MS_SPF_RESULT_SOFTFAIL, "boss@diversicomcorp.com", FALSE,
                                "~all matched");
        ms_auth_results_add_dkim(ar, "fail", "diversicomcorp.com", "2026", "Zm9v/YmFy+cXV4==",
                                 "signature did not verify: body hash mismatch");
        ms_auth_results_add_dmarc(ar, MS_DMARC_RESULT_FAIL, "diversicomcorp.com",
                                  "nothing aligned with diversicomcorp.com: SPF softfail for "
                                  "diversicomcorp.com, no verified DKIM signature; policy "
                                  "p=reject");
        add_case(
            cases, ar,
            "{\"id\":\"mx.isp-b.net\",\"results\":["
            "{\"method\":\"spf\",\"result\":\"softfail\",\"reason\":\"~all matched\","
            "\"props\":[[\"smtp\",\"mailfrom\",\"boss@diversicomcorp.com\"]]},"
            "{\"method\":\"dkim\",\"result\":\"fail\",\"reason\":\"signature did not "
            "verify: body hash mismatch\",\"props\":[[\"header\",\"d\",\"diversicomcorp.com\"],"
            "[\"header\",\"s\",\"2026\"],[\"header\",\"b\",\"Zm9v/YmF\"]]},"
            "{\"method\":\"dmarc\",\"result\":\"fail\",\"reason\":\"nothing aligned with "
            "diversicomcorp.com: SPF softfail for diversicomcorp.com, no verified DKIM "
            "signature; policy p=reject\",\"props\":[[\"header\",\"from\","
            "\"diversicomcorp.com\"]]}]}");
    }
    {
        /* Quotes and backslashes in a reason; a HELO identity; a
         * non-ASCII octet, which becomes '?'. */
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("mx.example.net");
        ms_auth_results_add_spf(ar, MS_SPF_RESULT_PERMERROR, "helo.example.org", TRUE,
                                "syntax error: unknown mechanism \"foo\\bar\" in caf\xc3\xa9");
        add_case(cases, ar,
                 "{\"id\":\"mx.example.net\",\"results\":[{\"method\":\"spf\",\"result\":"
                 "\"permerror\",\"reason\":\"syntax error: unknown mechanism \\\"foo\\\\bar\\\" "
                 "in caf??\",\"props\":[[\"smtp\",\"helo\",\"helo.example.org\"]]}]}");
    }
    {
        /* Many signatures: several folds; a word longer than a line. */
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("mx.example.net");
        GString *want = g_string_new("{\"id\":\"mx.example.net\",\"results\":[");
        for (int i = 0; i < 5; i++) {
            g_autofree char *d = g_strdup_printf("signer%d.example.com", i);
            ms_auth_results_add_dkim(ar, i % 2 ? "pass" : "neutral", d, "s", NULL, NULL);
            g_string_append_printf(
                want,
                "{\"method\":\"dkim\",\"result\":\"%s\",\"reason\":null,"
                "\"props\":[[\"header\",\"d\",\"%s\"],[\"header\",\"s\",\"s\"]]},",
                i % 2 ? "pass" : "neutral", d);
        }
        g_autofree char *xs = g_strnfill(90, 'x');
        g_autofree char *longd = g_strdup_printf("%s.example.com", xs);
        ms_auth_results_add_dkim(ar, "none", longd, NULL, NULL, NULL);
        g_string_append_printf(want,
                               "{\"method\":\"dkim\",\"result\":\"none\",\"reason\":null,"
                               "\"props\":[[\"header\",\"d\",\"%s\"]]}]}",
                               longd);
        add_case(cases, ar, want->str);
        g_string_free(want, TRUE);
    }
    {
        /* A quoted local-part and a long reason with runs of spaces. */
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("receiver.example");
        ms_auth_results_add(ar, "spf", "pass",
                            "a reason long enough to be folded inside its quotes,  with two "
                            "spaces here and more words after them to pass the width");
        ms_auth_results_add_property(ar, "smtp", "mailfrom", "\"john doe\"@example.com");
        add_case(cases, ar,
                 "{\"id\":\"receiver.example\",\"results\":[{\"method\":\"spf\",\"result\":"
                 "\"pass\",\"reason\":\"a reason long enough to be folded inside its quotes,  "
                 "with two spaces here and more words after them to pass the width\","
                 "\"props\":[[\"smtp\",\"mailfrom\",\"\\\"john doe\\\"@example.com\"]]}]}");
    }
    {
        /* A short piece of a reason, then one longer than a line: the
         * long one still gets a line of its own (found by fuzz_spf). */
        g_autoptr(MsAuthResults) ar = ms_auth_results_new("mx.example.net");
        g_autofree char *xs = g_strnfill(70, 'x');
        g_autofree char *ys = g_strnfill(77, 'y');
        g_autofree char *reason = g_strdup_printf("%s b %s z", xs, ys);
        ms_auth_results_add(ar, "spf", "fail", reason);
        g_autofree char *want = g_strdup_printf(
            "{\"id\":\"mx.example.net\",\"results\":[{\"method\":\"spf\",\"result\":"
            "\"fail\",\"reason\":\"%s\",\"props\":[]}]}",
            reason);
        add_case(cases, ar, want);
    }
    return cases;
}

static void
test_folding(void)
{
    g_autoptr(GPtrArray) cases = build_cases();
    for (guint i = 0; i < cases->len; i++) {
        const ArCase *c = g_ptr_array_index(cases, i);
        check_folding(c->field);
        /* Folding only adds CRLFs before spaces and tabs. */
        g_autofree char *flat = unfold(c->field);
        CU_ASSERT_PTR_NULL(strchr(flat, '\r'));
        CU_ASSERT_PTR_NULL(strchr(flat, '\n'));
    }
    /* The many-signatures case really folded, the long word alone. */
    const ArCase *many = g_ptr_array_index(cases, 3);
    CU_ASSERT(strstr(many->field, "\r\n\t") != NULL);
    const ArCase *quoted = g_ptr_array_index(cases, 4);
    /* Folded inside the quotes, before a space of the reason itself. */
    CU_ASSERT(strstr(quoted->field, "\r\n ") != NULL);
    g_autofree char *flat = unfold(quoted->field);
    CU_ASSERT(strstr(flat, "quotes,  with two spaces") != NULL);
}

/* Canonical JSON text of a node, for comparison. */
static char *
canonical(const char *json)
{
    g_autoptr(JsonParser) p = json_parser_new();
    if (!json_parser_load_from_data(p, json, -1, NULL))
        return g_strdup(json);
    g_autoptr(JsonGenerator) g = json_generator_new();
    json_generator_set_root(g, json_parser_get_root(p));
    return json_generator_to_data(g, NULL);
}

static void
test_authres_interop(void)
{
    g_autofree char *py = tk_auth_find_python("authres");
    if (!py) {
        ms_test_skip("no python3 with authres (python3-authres) to parse our headers");
        return;
    }
    g_autoptr(GPtrArray) cases = build_cases();
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, py);
    g_ptr_array_add(argv, "tests/auth/authres_parse.py");
    for (guint i = 0; i < cases->len; i++)
        g_ptr_array_add(argv, ((ArCase *) cases->pdata[i])->field);
    g_ptr_array_add(argv, NULL);
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn((const char *const *) argv->pdata, &out, &err);
    if (rc != 0)
        g_printerr("authres_parse.py: %d\n%s", rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(lines), cases->len + 1);
    for (guint i = 0; i < cases->len; i++) {
        const ArCase *c = g_ptr_array_index(cases, i);
        g_autofree char *got = canonical(lines[i]);
        g_autofree char *want = canonical(c->want);
        if (strcmp(got, want) != 0)
            g_printerr("case %u:\n%s\nauthres: %s\nwanted:  %s\n", i, c->field, got, want);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "exact output for each shape", test_shapes },
        { "folding at 78 columns", test_folding },
        { "python3-authres reads every shape back", test_authres_interop },
        { NULL, NULL },
    };
    return ms_test_main("auth_results", cases);
}
