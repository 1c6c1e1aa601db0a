/* Tests of SPF (sim/proto/spf.c, spf_macro.c): RFC 7208's examples
 * (Appendix A's zone as a table of answers, the macro expansions of 7.4),
 * each limit of 4.6.4 on both sides (10 and 11 DNS-querying terms, 2 and 3
 * void lookups, 10 and 11 MX names), include and redirect loops, a table of
 * syntax errors, record selection, IPv6, the HELO identity, the sans-I/O
 * contract (one question at a time, the same question until answered),
 * the openspf.org test suite of RFC 7208 that Debian's python3-spf ships,
 * run against this evaluator with its DNS data, and 41 cases
 * (tests/spf/interop.json) evaluated both here and by pyspf itself
 * (tests/spf/pyspf_eval.py) from the same answers. */
#include "testlib.h"
#include "auth_testkit.h"
#include "mailsim/spf.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ------------------------------------------------------------- the zone */

/* One record: type "TXT", "A", "AAAA", "MX", or "TIMEOUT" (every question
 * at that name fails temporarily). */
typedef struct {
    const char *name, *type, *value;
} ZoneRec;

/* Tables searched in order; a name present in any table exists. */
typedef struct {
    const ZoneRec *tables[4];
    gsize sizes[4];
    guint asked; /* questions asked */
} Zone;

static MsSpfAnswer
zone_lookup(const char *name, MsSpfQueryType type, GPtrArray *records, gpointer data)
{
    Zone *z = data;
    z->asked++;
    gboolean exists = FALSE;
    for (guint t = 0; t < G_N_ELEMENTS(z->tables) && z->tables[t]; t++)
        for (gsize i = 0; i < z->sizes[t]; i++) {
            const ZoneRec *r = &z->tables[t][i];
            if (g_ascii_strcasecmp(r->name, name) != 0)
                continue;
            exists = TRUE;
            if (strcmp(r->type, "TIMEOUT") == 0)
                return MS_SPF_ANSWER_TEMPFAIL;
            if (strcmp(r->type, ms_spf_query_type_to_string(type)) == 0)
                g_ptr_array_add(records, g_strdup(r->value));
        }
    if (records->len)
        return MS_SPF_ANSWER_RECORDS;
    return exists ? MS_SPF_ANSWER_NODATA : MS_SPF_ANSWER_NXDOMAIN;
}

/* Evaluates with the tables given (NULL-terminated, each a ZoneRec array
 * ended by a NULL name); returns the check for further questions. */
static MsSpfCheck *
evaluate(const char *ip, const char *sender, const char *helo, const ZoneRec *a, const ZoneRec *b,
         const ZoneRec *c)
{
    Zone z = { { a, b, c, NULL }, { 0 }, 0 };
    for (guint t = 0; t < 3 && z.tables[t]; t++)
        while (z.tables[t][z.sizes[t]].name)
            z.sizes[t]++;
    g_autoptr(GError) error = NULL;
    MsSpfCheck *check = ms_spf_check_new(ip, sender, helo, &error);
    g_assert_no_error(error);
    ms_spf_check_run(check, zone_lookup, &z);
    CU_ASSERT_EQUAL(ms_spf_check_queries(check), z.asked);
    return check;
}

static void
expect(MsSpfCheck *check, MsSpfResult want, const char *what)
{
    MsSpfResult got = ms_spf_check_result(check);
    if (got != want)
        g_printerr("%s: got %s (%s), want %s\n", what, ms_spf_result_to_string(got),
                   ms_spf_check_explanation(check), ms_spf_result_to_string(want));
    CU_ASSERT_EQUAL(got, want);
}

/* ----------------------------------------------- RFC 7208 Appendix A */

/* Appendix A's example.com and example.org, without the PTR records. */
static const ZoneRec appendix_a[] = {
    { "example.com", "MX", "10 mail-a.example.com" },
    { "example.com", "MX", "20 mail-b.example.com" },
    { "example.com", "A", "192.0.2.10" },
    { "example.com", "A", "192.0.2.11" },
    { "amy.example.com", "A", "192.0.2.65" },
    { "bob.example.com", "A", "192.0.2.66" },
    { "mail-a.example.com", "A", "192.0.2.129" },
    { "mail-b.example.com", "A", "192.0.2.130" },
    { "example.org", "MX", "10 mail-c.example.org" },
    { "mail-c.example.org", "A", "192.0.2.140" },
    { NULL, NULL, NULL },
};

static void
test_appendix_a1(void)
{
    /* A.1: each record at example.com, and which clients pass. */
    static const struct {
        const char *record, *ip;
        MsSpfResult want;
    } cases[] = {
        { "v=spf1 +all", "192.0.2.200", MS_SPF_RESULT_PASS },
        { "v=spf1 a -all", "192.0.2.10", MS_SPF_RESULT_PASS },
        { "v=spf1 a -all", "192.0.2.11", MS_SPF_RESULT_PASS },
        { "v=spf1 a -all", "192.0.2.65", MS_SPF_RESULT_FAIL },
        { "v=spf1 a:example.org -all", "192.0.2.10", MS_SPF_RESULT_FAIL },
        { "v=spf1 a:example.org -all", "192.0.2.140", MS_SPF_RESULT_FAIL },
        { "v=spf1 mx -all", "192.0.2.129", MS_SPF_RESULT_PASS },
        { "v=spf1 mx -all", "192.0.2.130", MS_SPF_RESULT_PASS },
        { "v=spf1 mx -all", "192.0.2.10", MS_SPF_RESULT_FAIL },
        { "v=spf1 mx:example.org -all", "192.0.2.140", MS_SPF_RESULT_PASS },
        { "v=spf1 mx:example.org -all", "192.0.2.129", MS_SPF_RESULT_FAIL },
        { "v=spf1 mx mx:example.org -all", "192.0.2.129", MS_SPF_RESULT_PASS },
        { "v=spf1 mx mx:example.org -all", "192.0.2.130", MS_SPF_RESULT_PASS },
        { "v=spf1 mx mx:example.org -all", "192.0.2.140", MS_SPF_RESULT_PASS },
        { "v=spf1 mx mx:example.org -all", "192.0.2.131", MS_SPF_RESULT_FAIL },
        /* /30 around 192.0.2.129 is .128-.131, around .140 is .140-.143. */
        { "v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.128", MS_SPF_RESULT_PASS },
        { "v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131", MS_SPF_RESULT_PASS },
        { "v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.132", MS_SPF_RESULT_FAIL },
        { "v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143", MS_SPF_RESULT_PASS },
        { "v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.139", MS_SPF_RESULT_FAIL },
        /* ptr is not supported: it never matches, so 192.0.2.65 (which
         * the RFC lets pass through its PTR amy.example.com) fails. */
        { "v=spf1 ptr -all", "192.0.2.65", MS_SPF_RESULT_FAIL },
        { "v=spf1 ptr -all", "192.0.2.140", MS_SPF_RESULT_FAIL },
        { "v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65", MS_SPF_RESULT_FAIL },
        { "v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.129", MS_SPF_RESULT_PASS },
        { "v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.143", MS_SPF_RESULT_PASS },
        { "v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.144", MS_SPF_RESULT_FAIL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const ZoneRec rec[] = { { "example.com", "TXT", cases[i].record }, { NULL, NULL, NULL } };
        g_autoptr(MsSpfCheck) c =
            evaluate(cases[i].ip, "user@example.com", "mx.example.net", rec, appendix_a, NULL);
        g_autofree char *what = g_strdup_printf("A.1 \"%s\" from %s", cases[i].record, cases[i].ip);
        expect(c, cases[i].want, what);
    }
}

static void
test_appendix_a2_a3_a4(void)
{
    /* A.2: several domains share one policy through include and redirect. */
    static const ZoneRec a2[] = {
        { "example.org", "TXT", "v=spf1 include:example.com include:example.net -all" },
        { "la.example.org", "TXT", "v=spf1 redirect=example.org" },
        { "ny.example.org", "TXT", "v=spf1 redirect=example.org" },
        { "example.com", "TXT", "v=spf1 a -all" },
        { "example.net", "TXT", "v=spf1 ip4:198.51.100.0/24 -all" },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) c1 =
        evaluate("192.0.2.10", "x@la.example.org", NULL, a2, appendix_a, NULL);
    expect(c1, MS_SPF_RESULT_PASS, "A.2 via example.com");
    /* The result comes from the redirect target, decided by its include. */
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c1), "include:example.com");
    g_autoptr(MsSpfCheck) c2 =
        evaluate("198.51.100.7", "x@ny.example.org", NULL, a2, appendix_a, NULL);
    expect(c2, MS_SPF_RESULT_PASS, "A.2 via example.net");
    g_autoptr(MsSpfCheck) c3 =
        evaluate("203.0.113.1", "x@ny.example.org", NULL, a2, appendix_a, NULL);
    expect(c3, MS_SPF_RESULT_FAIL, "A.2 elsewhere");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c3), "-all");
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(c3), "redirect from ny.example.org"));

    /* A.3: DNSBL style, users and addresses listed as A records. */
    static const ZoneRec a3[] = {
        { "example.com", "TXT",
          "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all" },
        { "mobile-users._spf.example.com", "TXT", "v=spf1 exists:%{l1r+}.%{d}" },
        { "remote-users._spf.example.com", "TXT", "v=spf1 exists:%{ir}.%{l1r+}.%{d}" },
        { "mary.mobile-users._spf.example.com", "A", "127.0.0.2" },
        { "fred.mobile-users._spf.example.com", "A", "127.0.0.2" },
        { "15.15.168.192.joel.remote-users._spf.example.com", "A", "127.0.0.2" },
        { "16.15.168.192.joel.remote-users._spf.example.com", "A", "127.0.0.2" },
        { NULL, NULL, NULL },
    };
    static const struct {
        const char *sender, *ip;
        MsSpfResult want;
    } a3_cases[] = {
        { "mary@example.com", "203.0.113.9", MS_SPF_RESULT_PASS },
        { "fred@example.com", "198.51.100.1", MS_SPF_RESULT_PASS },
        { "joel@example.com", "192.168.15.15", MS_SPF_RESULT_PASS },
        { "joel@example.com", "192.168.15.16", MS_SPF_RESULT_PASS },
        { "joel@example.com", "192.168.15.17", MS_SPF_RESULT_FAIL },
        { "eve@example.com", "203.0.113.9", MS_SPF_RESULT_FAIL },
        { "eve@example.com", "192.0.2.129", MS_SPF_RESULT_PASS }, /* an MX host */
    };
    for (guint i = 0; i < G_N_ELEMENTS(a3_cases); i++) {
        g_autoptr(MsSpfCheck) c =
            evaluate(a3_cases[i].ip, a3_cases[i].sender, NULL, a3, appendix_a, NULL);
        g_autofree char *what =
            g_strdup_printf("A.3 %s from %s", a3_cases[i].sender, a3_cases[i].ip);
        expect(c, a3_cases[i].want, what);
    }

    /* A.4: two requirements at once, through negated includes. With no
     * PTR support the ptr requirement is never met, so every client fails
     * (the RFC lets 192.0.2.x with a PTR in example.com pass). */
    static const ZoneRec a4[] = {
        { "example.com", "TXT", "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all" },
        { "ip4._spf.example.com", "TXT", "v=spf1 -ip4:192.0.2.0/24 +all" },
        { "ptr._spf.example.com", "TXT", "v=spf1 -ptr:example.com +all" },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) c4 = evaluate("198.51.100.1", "a@example.com", NULL, a4, NULL, NULL);
    expect(c4, MS_SPF_RESULT_FAIL, "A.4 outside 192.0.2.0/24");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c4), "-include:ip4._spf.%{d}");
    g_autoptr(MsSpfCheck) c5 = evaluate("192.0.2.65", "a@example.com", NULL, a4, NULL, NULL);
    expect(c5, MS_SPF_RESULT_FAIL, "A.4 inside, no PTR support");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c5), "-include:ptr._spf.%{d}");
}

/* --------------------------------------------------------------- macros */

static void
test_macros_rfc(void)
{
    /* RFC 7208 7.4. */
    static const struct {
        const char *macro, *want;
    } v4[] = {
        { "%{s}", "strong-bad@email.example.com" },
        { "%{o}", "email.example.com" },
        { "%{d}", "email.example.com" },
        { "%{d4}", "email.example.com" },
        { "%{d3}", "email.example.com" },
        { "%{d2}", "example.com" },
        { "%{d1}", "com" },
        { "%{dr}", "com.example.email" },
        { "%{d2r}", "example.email" },
        { "%{l}", "strong-bad" },
        { "%{l-}", "strong.bad" },
        { "%{lr}", "strong-bad" },
        { "%{lr-}", "bad.strong" },
        { "%{l1r-}", "strong" },
        { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
        { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
        { "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
        { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
        { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
        /* Beyond the RFC's list: escapes, upper case, other letters. */
        { "%{S}", "strong-bad%40email.example.com" },
        { "x%%y%_z%-w.example.com", "x%y z%20w.example.com" },
        { "%{h}.example.com", "mx.example.org.example.com" },
        { "%{p}.example.com", "unknown.example.com" },
        { "%{d9r}", "com.example.email" },
        { "%{i}", "192.0.2.3" },
    };
    MsSpfMacroContext ctx = {
        "strong-bad@email.example.com", "email.example.com", "192.0.2.3", "mx.example.org", NULL, 0
    };
    for (guint i = 0; i < G_N_ELEMENTS(v4); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *got = ms_spf_macro_expand(v4[i].macro, &ctx, FALSE, &error);
        if (!got || strcmp(got, v4[i].want) != 0)
            g_printerr("%s: got %s (%s), want %s\n", v4[i].macro, got ? got : "NULL",
                       error ? error->message : "", v4[i].want);
        CU_ASSERT_STRING_EQUAL(got ? got : "", v4[i].want);
    }
    MsSpfMacroContext ctx6 = ctx;
    ctx6.client_ip = "2001:db8::cb01";
    g_autofree char *v6 = ms_spf_macro_expand("%{ir}.%{v}._spf.%{d2}", &ctx6, FALSE, NULL);
    CU_ASSERT_STRING_EQUAL(v6, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                               ".ip6._spf.example.com");
    /* exp text: c, r, t and spaces. */
    ctx.receiver = "mx.example.net";
    ctx.now = 1000;
    g_autofree char *exp =
        ms_spf_macro_expand("%{c} is not one of %{d}'s senders (%{r}, %{t})", &ctx, TRUE, NULL);
    CU_ASSERT_STRING_EQUAL(
        exp, "192.0.2.3 is not one of email.example.com's senders (mx.example.net, 1000)");
    g_autofree char *c6 = ms_spf_macro_expand("%{c}", &ctx6, TRUE, NULL);
    CU_ASSERT_STRING_EQUAL(c6, "2001:db8::cb01");
}

static void
test_macros_bad(void)
{
    static const char *const bad[] = {
        "%{x}.example.com",
        "%{d0}",
        "%a.example.com",
        "example.com%",
        "%{ir",
        "%{c}.example.com",
        "%{r}.example.com",
        "%{t}.example.com",
        "%{d2r.}x",
        "a b.example.com",
        "%{d}.123",
        "%{d}.-com",
        "",
    };
    MsSpfMacroContext ctx = { "a@b.example", "b.example", "192.0.2.1", NULL, NULL, 0 };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *got = ms_spf_macro_expand(bad[i], &ctx, FALSE, &error);
        if (got)
            g_printerr("\"%s\" expanded to \"%s\"\n", bad[i], got);
        CU_ASSERT_PTR_NULL(got);
        CU_ASSERT(g_error_matches(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX));
    }
    /* "example.com" is not a domain-spec ending... it is: one dot, top label. */
    g_autofree char *ok = ms_spf_macro_expand("a.example.com", &ctx, FALSE, NULL);
    CU_ASSERT_STRING_EQUAL(ok, "a.example.com");
    /* A bad client address is an address error, not a syntax error. */
    ctx.client_ip = "not-an-ip";
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(ms_spf_macro_expand("%{i}.example.com", &ctx, FALSE, &error));
    CU_ASSERT(g_error_matches(error, MS_SPF_ERROR, MS_SPF_ERROR_ADDRESS));
}

static void
test_macro_long(void)
{
    /* 7.3: a domain-spec over 253 octets loses labels from the left. */
    GString *local = g_string_new(NULL);
    for (int i = 0; i < 30; i++)
        g_string_append_printf(local, "%slabel%03d", i ? "." : "", i);
    g_autofree char *sender = g_strdup_printf("%s@example.com", local->str);
    g_string_free(local, TRUE);
    MsSpfMacroContext ctx = { sender, "example.com", "192.0.2.1", NULL, NULL, 0 };
    g_autofree char *got = ms_spf_macro_expand("%{l}.x.example.com", &ctx, FALSE, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT(strlen(got) <= 253);
    CU_ASSERT(strlen(got) > 240);
    CU_ASSERT(g_str_has_suffix(got, "label029.x.example.com"));
    CU_ASSERT(g_str_has_prefix(got, "label")); /* whole labels were dropped */
    /* Exactly 253 is kept whole. */
    g_autofree char *d253 = g_strnfill(253 - 12, 'a');
    for (gsize i = 60; i < strlen(d253); i += 61)
        d253[i] = '.';
    g_autofree char *name = g_strdup_printf("%s.example.com", d253);
    CU_ASSERT_EQUAL(strlen(name), 253);
    ctx.domain = name;
    g_autofree char *same = ms_spf_macro_expand("%{d}", &ctx, FALSE, NULL);
    CU_ASSERT_STRING_EQUAL(same, name);
    g_autofree char *name254 = g_strdup_printf("b%s", name);
    ctx.domain = name254;
    g_autofree char *cut = ms_spf_macro_expand("%{d}", &ctx, FALSE, NULL);
    CU_ASSERT(strlen(cut) < 253);
}

/* --------------------------------------------------------------- limits */

static ZoneRec *
zone_new(guint n)
{
    return g_new0(ZoneRec, n + 1);
}

static void
free_zone(ZoneRec *z)
{
    for (ZoneRec *r = z; r->name; r++) {
        g_free((char *) r->name);
        g_free((char *) r->value);
    }
    g_free(z);
}

static ZoneRec
rec(const char *name, const char *type, const char *value)
{
    return (ZoneRec){ g_strdup(name), type, g_strdup(value) };
}

static void
test_limit_terms(void)
{
    /* 4.6.4: 10 DNS-querying terms are fine, the 11th is a permerror. */
    for (guint n = 9; n <= 11; n++) {
        ZoneRec *z = zone_new(n + 1);
        GString *r = g_string_new("v=spf1");
        for (guint i = 0; i < n; i++) {
            g_autofree char *d = g_strdup_printf("i%u.example.com", i);
            g_string_append_printf(r, " include:%s", d);
            z[i] = rec(d, "TXT", "v=spf1 -all");
        }
        g_string_append(r, " ip4:192.0.2.1 -all");
        z[n] = rec("example.com", "TXT", r->str);
        g_string_free(r, TRUE);
        g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", "a@example.com", NULL, z, NULL, NULL);
        expect(c, n <= 10 ? MS_SPF_RESULT_PASS : MS_SPF_RESULT_PERMERROR, "terms");
        CU_ASSERT_EQUAL(ms_spf_check_dns_terms(c), MIN(n, 10));
        if (n == 11) {
            CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(c), "more than 10 DNS"));
            CU_ASSERT_PTR_NULL(ms_spf_check_mechanism(c));
        }
        free_zone(z);
    }
    /* Each of a, mx, exists, ptr, include and redirect counts; ip4, ip6
     * and all do not. Ten terms of the mixed kinds, then the redirect. */
    static const ZoneRec mixed[] = {
        { "example.com", "TXT",
          "v=spf1 a mx exists:x.example.com ptr include:i.example.com a mx ptr ptr ip4:10.0.0.1 "
          "ip6:2001:db8::1 ?all" },
        { "redir.example.com", "TXT",
          "v=spf1 a mx ptr ptr ptr ptr ptr ptr ptr ptr ip4:10.0.0.1 "
          "redirect=last.example.com" },
        { "redir9.example.com", "TXT",
          "v=spf1 a mx ptr ptr ptr ptr ptr ptr ptr ip4:10.0.0.1 "
          "redirect=last.example.com" },
        { "example.com", "A", "192.0.2.200" },
        { "example.com", "MX", "10 mx.example.com" },
        { "mx.example.com", "A", "192.0.2.201" },
        { "redir.example.com", "A", "192.0.2.200" },
        { "redir.example.com", "MX", "10 mx.example.com" },
        { "redir9.example.com", "A", "192.0.2.200" },
        { "redir9.example.com", "MX", "10 mx.example.com" },
        { "x.example.com", "TXT", "exists, with no A record" },
        { "x.example.com", "A", "127.0.0.2" },
        { "i.example.com", "TXT", "v=spf1 -all" },
        { "last.example.com", "TXT", "v=spf1 -all" },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) m = evaluate("192.0.2.99", "a@example.com", NULL, mixed, NULL, NULL);
    /* exists matched (x.example.com has an A record): pass on the 3rd term. */
    expect(m, MS_SPF_RESULT_PASS, "exists");
    CU_ASSERT_EQUAL(ms_spf_check_dns_terms(m), 3);
    g_autoptr(MsSpfCheck) r10 =
        evaluate("192.0.2.99", "a@redir9.example.com", NULL, mixed, NULL, NULL);
    expect(r10, MS_SPF_RESULT_FAIL, "9 terms and a redirect");
    CU_ASSERT_EQUAL(ms_spf_check_dns_terms(r10), 10);
    g_autoptr(MsSpfCheck) r11 =
        evaluate("192.0.2.99", "a@redir.example.com", NULL, mixed, NULL, NULL);
    expect(r11, MS_SPF_RESULT_PERMERROR, "10 terms and a redirect");
    /* ip4 terms alone never hit the limit. */
    GString *many = g_string_new("v=spf1");
    for (int i = 0; i < 40; i++)
        g_string_append_printf(many, " ip4:10.0.%d.0/24", i);
    g_string_append(many, " ip4:192.0.2.1 -all");
    const ZoneRec ips[] = { { "example.com", "TXT", many->str }, { NULL, NULL, NULL } };
    g_autoptr(MsSpfCheck) p = evaluate("192.0.2.1", "a@example.com", NULL, ips, NULL, NULL);
    expect(p, MS_SPF_RESULT_PASS, "40 ip4 terms");
    g_string_free(many, TRUE);
}

static void
test_limit_void(void)
{
    /* 4.6.4: two void lookups are fine, the third is a permerror; an
     * existing name without the record (no data) is void too. */
    static const ZoneRec zone[] = {
        { "two.example.com", "TXT", "v=spf1 a:n1.example.com a:nodata.example.com -all" },
        { "three.example.com", "TXT",
          "v=spf1 a:n1.example.com a:nodata.example.com exists:n3.example.com -all" },
        { "mxvoid.example.com", "TXT", "v=spf1 mx:n1.example.com mx:n2.example.com mx -all" },
        { "mxvoid.example.com", "MX", "10 gone.example.com" },
        { "nodata.example.com", "TXT", "not spf" },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) two = evaluate("192.0.2.1", "a@two.example.com", NULL, zone, NULL, NULL);
    expect(two, MS_SPF_RESULT_FAIL, "two voids");
    CU_ASSERT_EQUAL(ms_spf_check_void_lookups(two), 2);
    g_autoptr(MsSpfCheck) three =
        evaluate("192.0.2.1", "a@three.example.com", NULL, zone, NULL, NULL);
    expect(three, MS_SPF_RESULT_PERMERROR, "three voids");
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(three), "more than 2 void"));
    /* An MX exchange without an address is a void lookup as well. */
    g_autoptr(MsSpfCheck) mx =
        evaluate("192.0.2.1", "a@mxvoid.example.com", NULL, zone, NULL, NULL);
    expect(mx, MS_SPF_RESULT_PERMERROR, "void MX exchange");
}

static void
test_limit_mx(void)
{
    /* 4.6.4: at most 10 MX names per mx term. The client is the last. */
    for (guint n = 10; n <= 11; n++) {
        ZoneRec *z = zone_new(2 * n + 1);
        guint k = 0;
        for (guint i = 0; i < n; i++) {
            g_autofree char *host = g_strdup_printf("mx%u.example.com", i);
            g_autofree char *mx = g_strdup_printf("%u %s", 10 + i, host);
            g_autofree char *ip = g_strdup_printf("192.0.2.%u", 100 + i);
            z[k++] = rec("example.com", "MX", mx);
            z[k++] = rec(host, "A", ip);
        }
        z[k++] = rec("example.com", "TXT", "v=spf1 mx -all");
        g_autofree char *client = g_strdup_printf("192.0.2.%u", 100 + n - 1);
        g_autoptr(MsSpfCheck) c = evaluate(client, "a@example.com", NULL, z, NULL, NULL);
        expect(c, n <= 10 ? MS_SPF_RESULT_PASS : MS_SPF_RESULT_PERMERROR, "MX names");
        free_zone(z);
    }
    /* Exchanges are tried in preference order, whatever the DNS order. */
    static const ZoneRec order[] = {
        { "example.com", "TXT", "v=spf1 mx -all" },
        { "example.com", "MX", "20 slow.example.com" },
        { "example.com", "MX", "10 fast.example.com" },
        { "fast.example.com", "A", "192.0.2.5" },
        { "slow.example.com", "TIMEOUT", NULL },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) c = evaluate("192.0.2.5", "a@example.com", NULL, order, NULL, NULL);
    expect(c, MS_SPF_RESULT_PASS, "MX preference order");
    g_autoptr(MsSpfCheck) t = evaluate("192.0.2.6", "a@example.com", NULL, order, NULL, NULL);
    expect(t, MS_SPF_RESULT_TEMPERROR, "MX exchange times out");
}

static void
test_loops(void)
{
    /* Loops end at the term limit, after a bounded number of questions. */
    static const ZoneRec zone[] = {
        { "self.example.com", "TXT", "v=spf1 include:self.example.com -all" },
        { "a.example.com", "TXT", "v=spf1 include:b.example.com -all" },
        { "b.example.com", "TXT", "v=spf1 include:a.example.com -all" },
        { "r1.example.com", "TXT", "v=spf1 redirect=r2.example.com" },
        { "r2.example.com", "TXT", "v=spf1 redirect=r1.example.com" },
        { "rs.example.com", "TXT", "v=spf1 redirect=%{d}" },
        { "mixed.example.com", "TXT", "v=spf1 include:m2.example.com" },
        { "m2.example.com", "TXT", "v=spf1 ?ip4:10.0.0.0/8 redirect=mixed.example.com" },
        { NULL, NULL, NULL },
    };
    static const char *const senders[] = { "x@self.example.com", "x@a.example.com",
                                           "x@r1.example.com", "x@rs.example.com",
                                           "x@mixed.example.com" };
    for (guint i = 0; i < G_N_ELEMENTS(senders); i++) {
        g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", senders[i], NULL, zone, NULL, NULL);
        expect(c, MS_SPF_RESULT_PERMERROR, senders[i]);
        CU_ASSERT_EQUAL(ms_spf_check_dns_terms(c), 10);
        CU_ASSERT(ms_spf_check_queries(c) <= 3);
    }
}

/* --------------------------------------------------------------- syntax */

static void
test_syntax_errors(void)
{
    static const char *const bad[] = {
        "v=spf1 foo",
        "v=spf1 -all:x",
        "v=spf1 all/24",
        "v=spf1 +-all",
        "v=spf1 ip4:192.0.2.300",
        "v=spf1 ip4:192.0.2.1/33",
        "v=spf1 ip4:192.0.2.1/08",
        "v=spf1 ip4:192.0.2",
        "v=spf1 ip4:192.0.02.1",
        "v=spf1 ip4:2001:db8::1",
        "v=spf1 ip4",
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 ip6:192.0.2.1",
        "v=spf1 ip6:2001:db8:::1",
        "v=spf1 a/33",
        "v=spf1 a//129",
        "v=spf1 a/",
        "v=spf1 a/24/",
        "v=spf1 mx:example.com/-1",
        "v=spf1 include",
        "v=spf1 include:",
        "v=spf1 include:foo",
        "v=spf1 include:example.123",
        "v=spf1 exists",
        "v=spf1 a:%{x}.example.com",
        "v=spf1 a:%{d0}.example.com",
        "v=spf1 a:%.example.com",
        "v=spf1 exists:%{c}.example.com",
        "v=spf1 ptr/24",
        "v=spf1 redirect=a.example.com redirect=b.example.com",
        "v=spf1 exp=a.example.com exp=b.example.com",
        "v=spf1 redirect=",
        "v=spf1 redirect=foo",
        "v=spf1 1bad=x",
        "v=spf1 =x",
        "v=spf1 +all foo:bar", /* a syntax error after a match still counts (4.6) */
        "v=spf1 -all moo=%{",
        "v=spf1 a\t-all",
        "v=spf1 ip4:192.0.2.1 \x80"
        "all",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        const ZoneRec z[] = { { "example.com", "TXT", bad[i] },
                              { "example.com", "A", "192.0.2.1" },
                              { NULL, NULL, NULL } };
        g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", "a@example.com", NULL, z, NULL, NULL);
        expect(c, MS_SPF_RESULT_PERMERROR, bad[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(c), "syntax error"));
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(ms_spf_record_validate(bad[i], NULL, &error));
        CU_ASSERT(g_error_matches(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX));
    }
    /* Valid, if unusual: case, spaces, trailing dot, CIDR forms, unknown
     * modifiers (ignored), exp= (parsed, ignored), zero prefix lengths. */
    static const struct {
        const char *record;
        MsSpfResult want;
        guint terms;
    } good[] = {
        { "V=SPF1 A -ALL", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1  a   -all  ", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1", MS_SPF_RESULT_NEUTRAL, 0 },
        { "v=spf1 a:example.com. -all", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1 a:example.com/24 -all", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1 a/32//128 -all", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1 a//64 -all", MS_SPF_RESULT_PASS, 1 },
        { "v=spf1 -a/0 +all", MS_SPF_RESULT_FAIL, 1 },
        { "v=spf1 ip4:0.0.0.0/0 -all", MS_SPF_RESULT_PASS, 0 },
        { "v=spf1 ip6:::/0 ?all", MS_SPF_RESULT_NEUTRAL, 0 },
        { "v=spf1 moo.cow-far_out=man:dog/cat ~all", MS_SPF_RESULT_SOFTFAIL, 0 },
        { "v=spf1 -all exp=explain._spf.%{d}", MS_SPF_RESULT_FAIL, 0 },
        { "v=spf1 ?a:%{d}", MS_SPF_RESULT_NEUTRAL, 1 },
        { "v=spf1 -ip4:192.0.2.1 +all", MS_SPF_RESULT_FAIL, 0 },
        { "v=spf1 ~ip4:192.0.2.1/32 +all", MS_SPF_RESULT_SOFTFAIL, 0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        const ZoneRec z[] = { { "example.com", "TXT", good[i].record },
                              { "example.com", "A", "192.0.2.1" },
                              { NULL, NULL, NULL } };
        g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", "a@example.com", NULL, z, NULL, NULL);
        expect(c, good[i].want, good[i].record);
        guint terms = 99;
        g_autoptr(GError) error = NULL;
        CU_ASSERT_TRUE(ms_spf_record_validate(good[i].record, &terms, &error));
        CU_ASSERT_EQUAL(terms, good[i].terms);
    }
}

/* ------------------------------------------------------ record selection */

static void
test_records(void)
{
    static const ZoneRec zone[] = {
        { "two.example.com", "TXT", "v=spf1 +all" },
        { "two.example.com", "TXT", "v=spf1 -all" },
        { "other.example.com", "TXT", "google-site-verification=abc" },
        { "other.example.com", "TXT", "v=spf10 +all" },
        { "mixed.example.com", "TXT", "some text" },
        { "mixed.example.com", "TXT", "v=spf1 -all" },
        { "mixed.example.com", "TXT", "v=spf1x +all" },
        { "temp.example.com", "TIMEOUT", NULL },
        { "inctemp.example.com", "TXT", "v=spf1 include:temp.example.com -all" },
        { "incnone.example.com", "TXT", "v=spf1 include:other.example.com -all" },
        { "incnx.example.com", "TXT", "v=spf1 include:nowhere.example.com -all" },
        { "redirnone.example.com", "TXT", "v=spf1 redirect=other.example.com" },
        { "atemp.example.com", "TXT", "v=spf1 a:temp.example.com -all" },
        { NULL, NULL, NULL },
    };
    static const struct {
        const char *sender;
        MsSpfResult want;
        const char *needle;
    } cases[] = {
        { "a@two.example.com", MS_SPF_RESULT_PERMERROR, "2 SPF records at two.example.com" },
        { "a@other.example.com", MS_SPF_RESULT_NONE, "no SPF record at other.example.com" },
        { "a@nowhere.example.com", MS_SPF_RESULT_NONE, "no SPF record" },
        { "a@mixed.example.com", MS_SPF_RESULT_FAIL, "-all matched" },
        { "a@temp.example.com", MS_SPF_RESULT_TEMPERROR, "DNS temporary failure for TXT" },
        { "a@inctemp.example.com", MS_SPF_RESULT_TEMPERROR, "temp.example.com" },
        { "a@incnone.example.com", MS_SPF_RESULT_PERMERROR, "include:other.example.com has no" },
        { "a@incnx.example.com", MS_SPF_RESULT_PERMERROR, "has no SPF record" },
        { "a@redirnone.example.com", MS_SPF_RESULT_PERMERROR, "redirect=other.example.com" },
        { "a@atemp.example.com", MS_SPF_RESULT_TEMPERROR, "for A temp.example.com" },
        /* 4.3: unusable names end in none without a question. */
        { "a@localhost", MS_SPF_RESULT_NONE, "not a usable domain" },
        { "a@[192.0.2.1]", MS_SPF_RESULT_NONE, "not a usable domain" },
        { "a@a..example.com", MS_SPF_RESULT_NONE, "not a usable domain" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", cases[i].sender, NULL, zone, NULL, NULL);
        expect(c, cases[i].want, cases[i].sender);
        if (!strstr(ms_spf_check_explanation(c), cases[i].needle))
            g_printerr("%s: \"%s\" lacks \"%s\"\n", cases[i].sender, ms_spf_check_explanation(c),
                       cases[i].needle);
        CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(c), cases[i].needle));
        if (i >= 10)
            CU_ASSERT_EQUAL(ms_spf_check_queries(c), 0);
    }
    /* A label of 63 octets is usable, one of 64 is not. */
    g_autofree char *l63 = g_strnfill(63, 'a');
    g_autofree char *l64 = g_strnfill(64, 'a');
    g_autofree char *s63 = g_strdup_printf("x@%s.example.com", l63);
    g_autofree char *s64 = g_strdup_printf("x@%s.example.com", l64);
    g_autoptr(MsSpfCheck) c63 = evaluate("192.0.2.1", s63, NULL, zone, NULL, NULL);
    CU_ASSERT_EQUAL(ms_spf_check_queries(c63), 1);
    g_autoptr(MsSpfCheck) c64 = evaluate("192.0.2.1", s64, NULL, zone, NULL, NULL);
    CU_ASSERT_EQUAL(ms_spf_check_queries(c64), 0);
}

/* ---------------------------------------------------------------- IPv6 */

static void
test_ipv6(void)
{
    static const ZoneRec zone[] = {
        { "example.com", "TXT", "v=spf1 ip6:2001:db8:1::/48 a//64 mx -all" },
        { "example.com", "A", "192.0.2.10" },
        { "example.com", "AAAA", "2001:db8:2:3::10" },
        { "example.com", "MX", "10 mx.example.com" },
        { "mx.example.com", "AAAA", "2001:db8:9::25" },
        { "mx.example.com", "A", "192.0.2.25" },
        { "v4.example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all" },
        { NULL, NULL, NULL },
    };
    static const struct {
        const char *ip, *sender;
        MsSpfResult want;
        const char *mech;
    } cases[] = {
        { "2001:db8:1:ffff::1", "a@example.com", MS_SPF_RESULT_PASS, "ip6:2001:db8:1::/48" },
        { "2001:db8:2:3:ffff::1", "a@example.com", MS_SPF_RESULT_PASS, "a//64" },
        { "2001:db8:2:4::10", "a@example.com", MS_SPF_RESULT_FAIL, "-all" },
        { "2001:db8:9::25", "a@example.com", MS_SPF_RESULT_PASS, "mx" },
        { "192.0.2.25", "a@example.com", MS_SPF_RESULT_PASS, "mx" },
        { "192.0.2.10", "a@example.com", MS_SPF_RESULT_PASS, "a//64" },
        { "192.0.2.11", "a@example.com", MS_SPF_RESULT_FAIL, "-all" }, /* a//64: v4 is /32 */
        /* 5.6 / RFC 4291: an IPv4-mapped client is checked as IPv4. */
        { "::ffff:192.0.2.77", "a@v4.example.com", MS_SPF_RESULT_PASS, "ip4:192.0.2.0/24" },
        { "2001:db8::1", "a@v4.example.com", MS_SPF_RESULT_FAIL, "-all" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsSpfCheck) c = evaluate(cases[i].ip, cases[i].sender, NULL, zone, NULL, NULL);
        expect(c, cases[i].want, cases[i].ip);
        CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c), cases[i].mech);
    }
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(ms_spf_check_new("192.0.2.256", "a@example.com", NULL, &error));
    CU_ASSERT(g_error_matches(error, MS_SPF_ERROR, MS_SPF_ERROR_ADDRESS));
}

/* ------------------------------------------------------------ identities */

static void
test_helo_identity(void)
{
    static const ZoneRec zone[] = {
        { "mail.example.com", "TXT", "v=spf1 exists:%{l}.%{d} -all" },
        { "postmaster.mail.example.com", "A", "127.0.0.2" },
        { "example.net", "TXT", "v=spf1 exists:%{l}.x.%{o} -all" },
        { "postmaster.x.example.net", "A", "127.0.0.2" },
        { NULL, NULL, NULL },
    };
    /* 2.4: the null sender checks the HELO name as postmaster@<helo>. */
    g_autoptr(MsSpfCheck) c = evaluate("192.0.2.1", "", "mail.example.com", zone, NULL, NULL);
    expect(c, MS_SPF_RESULT_PASS, "HELO identity");
    CU_ASSERT_TRUE(ms_spf_check_is_helo(c));
    CU_ASSERT_STRING_EQUAL(ms_spf_check_domain(c), "mail.example.com");
    g_autoptr(MsSpfCheck) n = evaluate("192.0.2.1", NULL, "MAIL.Example.COM.", zone, NULL, NULL);
    expect(n, MS_SPF_RESULT_PASS, "HELO identity, NULL sender");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_domain(n), "mail.example.com");
    /* 4.3: a sender without a local-part is postmaster. */
    g_autoptr(MsSpfCheck) p = evaluate("192.0.2.1", "@example.net", "h.example", zone, NULL, NULL);
    expect(p, MS_SPF_RESULT_PASS, "empty local-part");
    g_autoptr(MsSpfCheck) d = evaluate("192.0.2.1", "example.net", "h.example", zone, NULL, NULL);
    expect(d, MS_SPF_RESULT_PASS, "bare domain");
    CU_ASSERT_FALSE(ms_spf_check_is_helo(d));
    g_autoptr(MsSpfCheck) q = evaluate("192.0.2.1", "alice@example.net", NULL, zone, NULL, NULL);
    expect(q, MS_SPF_RESULT_FAIL, "alice");
    /* A null sender and no HELO: nothing to check. */
    g_autoptr(MsSpfCheck) none = evaluate("192.0.2.1", "", NULL, zone, NULL, NULL);
    expect(none, MS_SPF_RESULT_NONE, "nothing to check");
}

/* ------------------------------------------------------- sans-I/O contract */

static void
test_sans_io(void)
{
    g_autoptr(MsSpfCheck) c =
        ms_spf_check_new("192.0.2.129", "user@example.com", "h.example", NULL);
    const char *name = NULL;
    MsSpfQueryType type = MS_SPF_QUERY_MX;
    CU_ASSERT_FALSE(ms_spf_check_done(c));
    CU_ASSERT_STRING_EQUAL(ms_spf_check_explanation(c), "");
    CU_ASSERT_TRUE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_STRING_EQUAL(name, "example.com");
    CU_ASSERT_EQUAL(type, MS_SPF_QUERY_TXT);
    /* Asked again before answering: the same question. */
    CU_ASSERT_TRUE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_STRING_EQUAL(name, "example.com");
    const char *txt[] = { "v=spf1 ip4:10.0.0.0/8 mx:example.com/30 -all" };
    ms_spf_check_answer(c, MS_SPF_ANSWER_RECORDS, txt, 1);
    CU_ASSERT_TRUE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_STRING_EQUAL(name, "example.com");
    CU_ASSERT_EQUAL(type, MS_SPF_QUERY_MX);
    const char *mx[] = { "20 B.example.com.", "10 a.example.com" };
    ms_spf_check_answer(c, MS_SPF_ANSWER_RECORDS, mx, 2);
    CU_ASSERT_TRUE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_STRING_EQUAL(name, "a.example.com"); /* preference 10 first */
    CU_ASSERT_EQUAL(type, MS_SPF_QUERY_A);
    /* RECORDS with nothing in it is NODATA: a void lookup. */
    ms_spf_check_answer(c, MS_SPF_ANSWER_RECORDS, NULL, 0);
    CU_ASSERT_TRUE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_STRING_EQUAL(name, "b.example.com"); /* lower-cased, no trailing dot */
    const char *a[] = { "not an address", "192.0.2.130" };
    ms_spf_check_answer(c, MS_SPF_ANSWER_RECORDS, a, 2);
    CU_ASSERT_FALSE(ms_spf_check_next_query(c, &name, &type));
    CU_ASSERT_TRUE(ms_spf_check_done(c));
    CU_ASSERT_EQUAL(ms_spf_check_result(c), MS_SPF_RESULT_PASS);
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(c), "mx:example.com/30");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_explanation(c), "mx:example.com/30 matched");
    CU_ASSERT_EQUAL(ms_spf_check_queries(c), 4);
    CU_ASSERT_EQUAL(ms_spf_check_void_lookups(c), 1);
    CU_ASSERT_EQUAL(ms_spf_check_dns_terms(c), 1);
    /* Narration texts for the other endings. */
    static const ZoneRec zone[] = {
        { "n.example.com", "TXT", "v=spf1 ip4:10.0.0.1" },
        { "inc.example.com", "TXT", "v=spf1 ~include:n2.example.com -all" },
        { "n2.example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all" },
        { NULL, NULL, NULL },
    };
    g_autoptr(MsSpfCheck) neutral =
        evaluate("192.0.2.1", "a@n.example.com", NULL, zone, NULL, NULL);
    expect(neutral, MS_SPF_RESULT_NEUTRAL, "default");
    CU_ASSERT_PTR_NULL(ms_spf_check_mechanism(neutral));
    CU_ASSERT_PTR_NOT_NULL(strstr(ms_spf_check_explanation(neutral), "no mechanism matched"));
    g_autoptr(MsSpfCheck) inc = evaluate("192.0.2.1", "a@inc.example.com", NULL, zone, NULL, NULL);
    expect(inc, MS_SPF_RESULT_SOFTFAIL, "include");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_mechanism(inc), "~include:n2.example.com");
    CU_ASSERT_STRING_EQUAL(ms_spf_check_explanation(inc),
                           "~include:n2.example.com matched (ip4:192.0.2.0/24 matched at "
                           "n2.example.com)");
    CU_ASSERT_STRING_EQUAL(ms_spf_result_to_string(MS_SPF_RESULT_SOFTFAIL), "softfail");
    CU_ASSERT_STRING_EQUAL(ms_spf_query_type_to_string(MS_SPF_QUERY_AAAA), "AAAA");
    CU_ASSERT_TRUE(ms_spf_record_is_spf("v=spf1"));
    CU_ASSERT_TRUE(ms_spf_record_is_spf("V=SPF1 -all"));
    CU_ASSERT_FALSE(ms_spf_record_is_spf("v=spf1-all"));
    CU_ASSERT_FALSE(ms_spf_record_is_spf(" v=spf1"));
}

/* ----------------------------------------------- the openspf.org suite */

/* The suite's DNS (its test driver's rules): a TIMEOUT item fails every
 * type not listed before it; [type, "TIMEOUT"] fails that type; CNAMEs
 * are followed; names absent from the zone do not exist, except
 * "error.*", which time out; names with an over-long label do not
 * exist. */
typedef struct {
    JsonObject *zone;
} Suite;

static MsSpfAnswer
suite_lookup_depth(Suite *s, const char *name, MsSpfQueryType type, GPtrArray *records, int depth)
{
    g_auto(GStrv) labels = g_strsplit(name, ".", -1);
    for (guint i = 0; labels[i]; i++)
        if (strlen(labels[i]) > 63)
            return MS_SPF_ANSWER_NXDOMAIN;
    g_autofree char *lower = g_ascii_strdown(name, -1);
    if (!json_object_has_member(s->zone, lower))
        return g_str_has_prefix(lower, "error.") ? MS_SPF_ANSWER_TEMPFAIL : MS_SPF_ANSWER_NXDOMAIN;
    JsonArray *items = json_object_get_array_member(s->zone, lower);
    const char *want = ms_spf_query_type_to_string(type);
    gboolean seen = FALSE;
    for (guint i = 0; i < json_array_get_length(items); i++) {
        JsonNode *node = json_array_get_element(items, i);
        if (JSON_NODE_HOLDS_VALUE(node)) { /* "TIMEOUT" */
            if (!seen)
                return MS_SPF_ANSWER_TEMPFAIL;
            break;
        }
        JsonArray *item = json_node_get_array(node);
        const char *t = json_array_get_string_element(item, 0);
        JsonNode *vn = json_array_get_element(item, 1);
        const char *v = JSON_NODE_HOLDS_NULL(vn) ? "" : json_node_get_string(vn);
        if (strcmp(t, want) == 0) {
            seen = TRUE;
            if (strcmp(v, "TIMEOUT") == 0)
                return MS_SPF_ANSWER_TEMPFAIL;
            g_ptr_array_add(records, g_strdup(v));
        } else if (strcmp(t, "CNAME") == 0 && depth < 8) {
            return suite_lookup_depth(s, v, type, records, depth + 1);
        }
    }
    return records->len ? MS_SPF_ANSWER_RECORDS : MS_SPF_ANSWER_NODATA;
}

static MsSpfAnswer
suite_lookup(const char *name, MsSpfQueryType type, GPtrArray *records, gpointer data)
{
    return suite_lookup_depth(data, name, type, records, 0);
}

/* Cases this evaluator answers differently from the suite, on purpose. */
static const struct {
    const char *id, *why;
} suite_known[] = {
    { "ptr-case-change", "no PTR lookups: ptr never matches" },
    { "ptr-match-implicit", "no PTR lookups: ptr never matches" },
    { "ptr-match-ip6", "no PTR lookups: ptr never matches" },
    { "ptr-match-target", "no PTR lookups: ptr never matches" },
    { "bytes-bug", "no PTR lookups: ptr never matches" },
    { "p-macro-multiple", "no PTR lookups: %{p} is always \"unknown\"" },
};

static void
test_openspf_suite(void)
{
    g_autofree char *py = tk_auth_find_python("yaml");
    if (!py) {
        ms_test_skip("no python3 with PyYAML (python3-yaml) to read the openspf suite");
        return;
    }
    const char *suite_path = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz";
    if (!g_file_test(suite_path, G_FILE_TEST_EXISTS)) {
        ms_test_skip("the openspf suite (python3-spf's rfc7208-tests.yml.gz) is not installed");
        return;
    }
    const char *argv[] = { py, "tests/spf/suite_to_json.py", suite_path, NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    if (rc != 0)
        g_printerr("suite_to_json.py: %d %s\n", rc, err ? err : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, out, -1, &error));
    JsonArray *scenarios = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser)), "scenarios");
    guint total = 0, agreed = 0, known = 0, wrong = 0;
    for (guint si = 0; si < json_array_get_length(scenarios); si++) {
        JsonObject *sc = json_array_get_object_element(scenarios, si);
        Suite s = { json_object_get_object_member(sc, "zone") };
        JsonArray *tests = json_object_get_array_member(sc, "tests");
        for (guint ti = 0; ti < json_array_get_length(tests); ti++) {
            JsonObject *t = json_array_get_object_element(tests, ti);
            const char *id = json_object_get_string_member(t, "id");
            total++;
            g_autoptr(GError) e = NULL;
            g_autoptr(MsSpfCheck) c =
                ms_spf_check_new(json_object_get_string_member(t, "host"),
                                 json_object_get_string_member(t, "mailfrom"),
                                 json_object_get_string_member(t, "helo"), &e);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            MsSpfResult r = ms_spf_check_run(c, suite_lookup, &s);
            const char *got = ms_spf_result_to_string(r);
            JsonArray *want = json_object_get_array_member(t, "result");
            gboolean ok = FALSE;
            GString *wants = g_string_new(NULL);
            for (guint k = 0; k < json_array_get_length(want); k++) {
                const char *w = json_array_get_string_element(want, k);
                g_string_append_printf(wants, "%s%s", k ? "|" : "", w);
                ok |= strcmp(w, got) == 0;
            }
            gboolean expected_miss = FALSE;
            for (guint k = 0; k < G_N_ELEMENTS(suite_known); k++)
                expected_miss |= strcmp(suite_known[k].id, id) == 0;
            if (ok && !expected_miss) {
                agreed++;
            } else if (!ok && expected_miss) {
                known++;
            } else {
                wrong++;
                g_printerr("openspf %s (%s): got %s (%s), suite says %s%s\n", id,
                           json_object_get_string_member(t, "spec"), got,
                           ms_spf_check_explanation(c), wants->str,
                           expected_miss ? " [listed as a known difference, but agrees]" : "");
            }
            g_string_free(wants, TRUE);
        }
    }
    printf("\nopenspf suite: %u cases, %u agree, %u known differences (PTR), %u wrong\n", total,
           agreed, known, wrong);
    CU_ASSERT(total > 150);
    CU_ASSERT_EQUAL(wrong, 0);
}

/* ----------------------------------------------------- pyspf interop */

static void
test_pyspf_interop(void)
{
    /* The same records and answers, evaluated here and by pyspf. */
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_file(parser, "tests/spf/interop.json", &error));
    JsonArray *scenarios = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser)), "scenarios");
    g_autofree char *py = tk_auth_find_python("spf");
    g_autoptr(GHashTable) theirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!py) {
        ms_test_skip("no python3 with pyspf (python3-spf) to compare with");
    } else {
        const char *argv[] = { py, "tests/spf/pyspf_eval.py", "tests/spf/interop.json", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int rc = ms_test_spawn(argv, &out, &err);
        if (rc != 0)
            g_printerr("pyspf_eval.py: %d %s\n", rc, err ? err : "");
        CU_ASSERT_EQUAL(rc, 0);
        g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", -1);
        for (guint i = 0; lines[i]; i++) {
            g_auto(GStrv) f = g_strsplit(lines[i], " ", 3);
            if (f[0] && f[1])
                g_hash_table_insert(theirs, g_strdup(f[0]), g_strdup(f[1]));
        }
    }
    guint n = 0, agreed = 0;
    for (guint si = 0; si < json_array_get_length(scenarios); si++) {
        JsonObject *sc = json_array_get_object_element(scenarios, si);
        Suite z = { json_object_get_object_member(sc, "zone") };
        JsonArray *tests = json_object_get_array_member(sc, "tests");
        for (guint ti = 0; ti < json_array_get_length(tests); ti++) {
            JsonObject *t = json_array_get_object_element(tests, ti);
            const char *id = json_object_get_string_member(t, "id");
            const char *want = json_object_get_string_member(t, "expect");
            g_autoptr(MsSpfCheck) c =
                ms_spf_check_new(json_object_get_string_member(t, "host"),
                                 json_object_get_string_member(t, "mailfrom"),
                                 json_object_get_string_member(t, "helo"), NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            const char *ours = ms_spf_result_to_string(ms_spf_check_run(c, suite_lookup, &z));
            const char *pyspf = g_hash_table_lookup(theirs, id);
            n++;
            if (strcmp(ours, want) != 0 || (py && g_strcmp0(pyspf, ours) != 0))
                g_printerr("interop %s: mailsim %s (%s), pyspf %s, expected %s\n", id, ours,
                           ms_spf_check_explanation(c), pyspf ? pyspf : "-", want);
            else
                agreed++;
            CU_ASSERT_STRING_EQUAL(ours, want);
            if (py)
                CU_ASSERT_STRING_EQUAL(pyspf ? pyspf : "(missing)", ours);
        }
    }
    printf("\npyspf interop: %u cases, %u agree\n", n, agreed);
    CU_ASSERT(n >= 30);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "RFC 7208 A.1: simple examples", test_appendix_a1 },
        { "RFC 7208 A.2-A.4: includes, redirects, DNSBL style", test_appendix_a2_a3_a4 },
        { "RFC 7208 7.4: macro examples", test_macros_rfc },
        { "macros: syntax errors", test_macros_bad },
        { "macros: the 253-octet cut", test_macro_long },
        { "limit: 10 DNS-querying terms", test_limit_terms },
        { "limit: 2 void lookups", test_limit_void },
        { "limit: 10 MX names", test_limit_mx },
        { "include and redirect loops", test_loops },
        { "syntax errors and unusual valid records", test_syntax_errors },
        { "record selection and DNS failures", test_records },
        { "IPv6 and IPv4-mapped clients", test_ipv6 },
        { "HELO identity and sender forms", test_helo_identity },
        { "sans-I/O: one question at a time", test_sans_io },
        { "openspf.org RFC 7208 test suite", test_openspf_suite },
        { "the same cases through pyspf", test_pyspf_interop },
        { NULL, NULL },
    };
    return ms_test_main("spf", cases);
}
