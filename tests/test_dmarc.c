/* Tests of DMARC (sim/proto/dmarc.c) and the public suffix list
 * (sim/proto/psl.c): the built-in list and Debian's full one (the
 * publicsuffix.org test vectors, and the same answers as libpsl's `psl`
 * program for 5,700 names made from the list's rules), list syntax errors
 * with their line;
 * records (RFC 7489 6.3 and Appendix B.2's examples, defaults, each tag's
 * bad values falling back with a warning, p/sp/rua per 6.6.3, pct at 0,
 * 100 and 101); identifier alignment (Appendix B.1's examples, relaxed and
 * strict); policy discovery (the From domain, then the organisational
 * domain, none, several records, temporary failure); and evaluation (SPF
 * or DKIM aligned, p or sp, pct sampling on both sides of the draw). */
#include "testlib.h"
#include "mailsim/dmarc.h"
#include "mailsim/psl.h"

#include <string.h>

/* ------------------------------------------------- public suffix list */

static void
expect_org(const MsPsl *psl, const char *domain, const char *org, const char *suffix)
{
    g_autofree char *o = ms_psl_organizational_domain(psl, domain);
    g_autofree char *s = ms_psl_public_suffix(psl, domain);
    if (g_strcmp0(o, org) != 0 || g_strcmp0(s, suffix) != 0)
        g_printerr("%s (%s): org %s want %s, suffix %s want %s\n", domain, ms_psl_source(psl),
                   o ? o : "NULL", org ? org : "NULL", s ? s : "NULL", suffix ? suffix : "NULL");
    CU_ASSERT_EQUAL(g_strcmp0(o, org), 0);
    CU_ASSERT_EQUAL(g_strcmp0(s, suffix), 0);
}

static void
test_psl_builtin(void)
{
    g_autoptr(MsPsl) psl = ms_psl_new_builtin();
    CU_ASSERT_STRING_EQUAL(ms_psl_source(psl), "builtin");
    CU_ASSERT(ms_psl_size(psl) > 30);
    static const struct {
        const char *domain, *org, *suffix;
    } cases[] = {
        { "example.com", "example.com", "com" },
        { "mail.example.com", "example.com", "com" },
        { "a.b.c.Example.COM.", "example.com", "com" },
        { "com", "com", "com" },
        { "isp-a.net", "isp-a.net", "net" },
        { "smtp.isp-a.net", "isp-a.net", "net" },
        { "alice-home.example", "alice-home.example", "example" },
        { "mx.alice-home.example", "alice-home.example", "example" },
        { "www.example.co.uk", "example.co.uk", "co.uk" },
        { "co.uk", "co.uk", "co.uk" },
        { "example.uk", "example.uk", "uk" },
        { "mail.ul.com.pt", "ul.com.pt", "com.pt" },
        /* Not in the list: the implicit "*" rule, the last label. */
        { "mail.example.zz", "example.zz", "zz" },
        /* The wildcard and its exception. */
        { "ck", "ck", "ck" },
        { "test.ck", "test.ck", "test.ck" },
        { "b.test.ck", "b.test.ck", "test.ck" },
        { "a.b.test.ck", "b.test.ck", "test.ck" },
        { "www.ck", "www.ck", "ck" },
        { "www.www.ck", "www.ck", "ck" },
        /* Not names. */
        { "", NULL, NULL },
        { ".", NULL, NULL },
        { "a..example.com", NULL, NULL },
        { "bad name.com", NULL, NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        expect_org(psl, cases[i].domain, cases[i].org, cases[i].suffix);
    g_autofree char *l63 = g_strnfill(63, 'a');
    g_autofree char *l64 = g_strnfill(64, 'a');
    g_autofree char *d63 = g_strdup_printf("x.%s.com", l63);
    g_autofree char *o63 = g_strdup_printf("%s.com", l63);
    g_autofree char *d64 = g_strdup_printf("x.%s.com", l64);
    expect_org(psl, d63, o63, "com");
    expect_org(psl, d64, NULL, NULL);
}

/* The registrable domain as publicsuffix.org's tests name it: NULL for a
 * public suffix itself. */
static void
expect_registrable(const MsPsl *psl, const char *domain, const char *want)
{
    g_autofree char *o = ms_psl_organizational_domain(psl, domain);
    g_autofree char *s = ms_psl_public_suffix(psl, domain);
    const char *got = o && s && strcmp(o, s) != 0 ? o : NULL;
    if (g_strcmp0(got, want) != 0)
        g_printerr("%s: registrable %s, want %s\n", domain, got ? got : "NULL",
                   want ? want : "NULL");
    CU_ASSERT_EQUAL(g_strcmp0(got, want), 0);
}

static void
test_psl_system(void)
{
    if (!g_file_test(MS_PSL_SYSTEM_PATH, G_FILE_TEST_EXISTS)) {
        ms_test_skip("no " MS_PSL_SYSTEM_PATH " (Debian package publicsuffix)");
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(MsPsl) psl = ms_psl_new_from_file(MS_PSL_SYSTEM_PATH, &error);
    g_assert_no_error(error);
    CU_ASSERT(ms_psl_size(psl) > 5000);
    g_autoptr(MsPsl) def = ms_psl_new_default();
    CU_ASSERT_STRING_EQUAL(ms_psl_source(def), MS_PSL_SYSTEM_PATH);
    CU_ASSERT_EQUAL(ms_psl_size(def), ms_psl_size(psl));
    /* publicsuffix.org's test vectors (checkPublicSuffix). */
    static const struct {
        const char *domain, *registrable;
    } cases[] = {
        { "COM", NULL },
        { "example.COM", "example.com" },
        { "WwW.example.COM", "example.com" },
        { "example.com", "example.com" },
        { "a.example.com", "example.com" },
        { "a.b.example.com", "example.com" },
        { "uk.com", NULL },
        { "example.uk.com", "example.uk.com" },
        { "b.example.uk.com", "example.uk.com" },
        { "test.ac", "test.ac" },
        { "mm", NULL },
        { "c.mm", NULL },
        { "b.c.mm", "b.c.mm" },
        { "a.b.c.mm", "b.c.mm" },
        { "jp", NULL },
        { "test.jp", "test.jp" },
        { "www.test.jp", "test.jp" },
        { "ac.jp", NULL },
        { "test.ac.jp", "test.ac.jp" },
        { "www.test.ac.jp", "test.ac.jp" },
        { "kyoto.jp", NULL },
        { "test.kyoto.jp", "test.kyoto.jp" },
        { "ide.kyoto.jp", NULL },
        { "b.ide.kyoto.jp", "b.ide.kyoto.jp" },
        { "a.b.ide.kyoto.jp", "b.ide.kyoto.jp" },
        { "c.kobe.jp", NULL },
        { "b.c.kobe.jp", "b.c.kobe.jp" },
        { "a.b.c.kobe.jp", "b.c.kobe.jp" },
        { "city.kobe.jp", "city.kobe.jp" },
        { "www.city.kobe.jp", "city.kobe.jp" },
        { "ck", NULL },
        { "test.ck", NULL },
        { "b.test.ck", "b.test.ck" },
        { "a.b.test.ck", "b.test.ck" },
        { "www.ck", "www.ck" },
        { "www.www.ck", "www.ck" },
        { "us", NULL },
        { "test.us", "test.us" },
        { "www.test.us", "test.us" },
        { "ak.us", NULL },
        { "test.ak.us", "test.ak.us" },
        { "www.test.ak.us", "test.ak.us" },
        { "k12.ak.us", NULL },
        { "test.k12.ak.us", "test.k12.ak.us" },
        { "www.test.k12.ak.us", "test.k12.ak.us" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        expect_registrable(psl, cases[i].domain, cases[i].registrable);
    /* IDN rules are kept as UTF-8 and match names written that way. */
    expect_registrable(psl, "\xe9\xa3\x9f\xe7\x8b\xae.\xe5\x85\xac\xe5\x8f\xb8.cn",
                       "\xe9\xa3\x9f\xe7\x8b\xae.\xe5\x85\xac\xe5\x8f\xb8.cn");
    /* Where the two lists differ: the built-in one has no .mm wildcard. */
    g_autoptr(MsPsl) builtin = ms_psl_new_builtin();
    expect_registrable(builtin, "c.mm", "c.mm");
}

/* Debian's list read by libpsl (the `psl` program, an independent
 * implementation) and by ours: the same public suffix and registrable
 * domain for names made from every fifth rule (the rule itself, one and
 * two labels below it; "*" labels become a name, "!" is dropped). */
static void
test_psl_libpsl(void)
{
    g_autofree char *prog = g_find_program_in_path("psl");
    if (!prog || !g_file_test(MS_PSL_SYSTEM_PATH, G_FILE_TEST_EXISTS)) {
        ms_test_skip("no psl program (Debian package psl) or no " MS_PSL_SYSTEM_PATH);
        return;
    }
    g_autofree char *text = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(MS_PSL_SYSTEM_PATH, &text, NULL, NULL));
    g_autoptr(MsPsl) psl = ms_psl_new_from_file(MS_PSL_SYSTEM_PATH, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(psl);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint rule = 0;
    for (guint i = 0; lines[i]; i++) {
        g_strstrip(lines[i]);
        if (!lines[i][0] || g_str_has_prefix(lines[i], "//") || rule++ % 5 != 0)
            continue;
        g_autofree char *base = g_strdup(lines[i][0] == '!' ? lines[i] + 1 : lines[i]);
        if (g_str_has_prefix(base, "*.")) {
            g_autofree char *rest = g_strdup(base + 2);
            g_free(base);
            base = g_strdup_printf("wild.%s", rest);
        }
        g_ptr_array_add(names, g_strdup(base));
        g_ptr_array_add(names, g_strdup_printf("a.%s", base));
        g_ptr_array_add(names, g_strdup_printf("b.a.%s", base));
    }
    static const char *const extra[] = { "example.zz",     "zz",       "www.ck",
                                         "www.www.ck",     "a.b.ck",   "city.kobe.jp",
                                         "x.city.kobe.jp", "c.kobe.jp" };
    for (guint i = 0; i < G_N_ELEMENTS(extra); i++)
        g_ptr_array_add(names, g_strdup(extra[i]));
    CU_ASSERT(names->len > 5000);
    static const char *const modes[] = { "--print-unreg-domain", "--print-reg-domain" };
    guint differ = 0;
    for (guint m = 0; m < G_N_ELEMENTS(modes); m++) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_ptr_array_add(argv, prog);
        g_ptr_array_add(argv, "--load-psl-file");
        g_ptr_array_add(argv, MS_PSL_SYSTEM_PATH);
        g_ptr_array_add(argv, (gpointer) modes[m]);
        g_ptr_array_add(argv, "-b");
        for (guint i = 0; i < names->len; i++)
            g_ptr_array_add(argv, names->pdata[i]);
        g_ptr_array_add(argv, NULL);
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL_FATAL(ms_test_spawn((const char *const *) argv->pdata, &out, &err), 0);
        g_auto(GStrv) answers = g_strsplit(out, "\n", -1);
        CU_ASSERT_FATAL(g_strv_length(answers) >= names->len);
        for (guint i = 0; i < names->len; i++) {
            const char *name = names->pdata[i];
            g_autofree char *suffix = ms_psl_public_suffix(psl, name);
            g_autofree char *org = ms_psl_organizational_domain(psl, name);
            const char *ours = m == 0 ? suffix : (org && strcmp(org, suffix) != 0 ? org : "(null)");
            if (strcmp(ours, answers[i]) != 0) {
                if (differ++ < 10)
                    g_printerr("%s %s: libpsl %s, ours %s\n", modes[m], name, answers[i], ours);
            }
        }
    }
    printf("\nlibpsl: %u names, %u differences\n", names->len, differ);
    CU_ASSERT_EQUAL(differ, 0);
}

static void
test_psl_errors(void)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        { "com\nnet\na..b\n", "t:3: \"a..b\": empty label" },
        { "// c\n\n*.*.x\n", "t:3:" },
        { "foo*bar\n", "t:1:" },
        { "!ck\n", "an exception needs two labels" },
        { "com\n.net\n", "t:2:" },
        { "x!y.com\n", "t:1:" },
        { "ok\n\xff\xfe\n", "t:2: not UTF-8" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsPsl) psl = ms_psl_new_from_data(bad[i].text, strlen(bad[i].text), "t", &error);
        CU_ASSERT_PTR_NULL(psl);
        CU_ASSERT(g_error_matches(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE));
        if (error && !strstr(error->message, bad[i].needle))
            g_printerr("\"%s\": %s\n", bad[i].text, error->message);
        CU_ASSERT_PTR_NOT_NULL(error ? strstr(error->message, bad[i].needle) : NULL);
    }
    /* Comments, blank lines, CRLF, trailing words and case are fine. */
    const char good[] = "// list\r\n\r\nCOM\r\n  co.zz   trailing words\n*.wild.zz\n!ok.wild.zz";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsPsl) psl = ms_psl_new_from_data(good, strlen(good), "t", &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(ms_psl_size(psl), 4);
    expect_org(psl, "a.b.co.zz", "b.co.zz", "co.zz");
    expect_org(psl, "a.b.wild.zz", "a.b.wild.zz", "b.wild.zz");
    expect_org(psl, "x.ok.wild.zz", "ok.wild.zz", "wild.zz");
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT_PTR_NULL(ms_psl_new_from_file("/nonexistent/psl.dat", &e2));
    CU_ASSERT(g_error_matches(e2, MS_PSL_ERROR, MS_PSL_ERROR_READ));
}

/* ---------------------------------------------------------------- records */

static void
test_record_examples(void)
{
    /* RFC 7489 Appendix B.2.1, B.2.2, B.2.4, and 6.3's defaults. */
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDmarcRecord) b21 =
        ms_dmarc_record_parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(b21->p, MS_DMARC_POLICY_NONE);
    CU_ASSERT_EQUAL(b21->sp, MS_DMARC_POLICY_NONE);
    CU_ASSERT_FALSE(b21->sp_given);
    CU_ASSERT_EQUAL(b21->adkim, MS_DMARC_ALIGN_RELAXED);
    CU_ASSERT_EQUAL(b21->aspf, MS_DMARC_ALIGN_RELAXED);
    CU_ASSERT_EQUAL(b21->pct, 100);
    CU_ASSERT_EQUAL(b21->ri, 86400);
    CU_ASSERT_STRING_EQUAL(b21->fo, "0");
    CU_ASSERT_STRING_EQUAL(b21->rf, "afrf");
    CU_ASSERT_EQUAL(b21->rua->len, 1);
    CU_ASSERT_STRING_EQUAL(b21->rua->pdata[0], "mailto:dmarc-feedback@example.com");
    CU_ASSERT_EQUAL(b21->warnings->len, 0);

    g_autoptr(MsDmarcRecord) b22 =
        ms_dmarc_record_parse("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
                              "ruf=mailto:auth-reports@thirdparty.example.net",
                              &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(b22->ruf->len, 1);
    CU_ASSERT_STRING_EQUAL(b22->ruf->pdata[0], "mailto:auth-reports@thirdparty.example.net");

    g_autoptr(MsDmarcRecord) b24 =
        ms_dmarc_record_parse("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
                              "mailto:tld-test@thirdparty.example.net!10m; pct=25",
                              &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(b24->p, MS_DMARC_POLICY_QUARANTINE);
    CU_ASSERT_EQUAL(b24->sp, MS_DMARC_POLICY_QUARANTINE);
    CU_ASSERT_EQUAL(b24->pct, 25);
    CU_ASSERT_EQUAL(b24->rua->len, 2);
    CU_ASSERT_STRING_EQUAL(b24->rua->pdata[1], "mailto:tld-test@thirdparty.example.net!10m");

    /* Every tag, odd spacing and case, a trailing ";", an unknown tag. */
    g_autoptr(MsDmarcRecord) all = ms_dmarc_record_parse(
        "v = DMARC1 ;P=Reject;\tsp = quarantine ; ADKIM=s; aspf=S; pct=0; fo=1:d; rf=afrf; "
        "ri=3600; np=reject; ruf=mailto:f@example.com;",
        &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(all->p, MS_DMARC_POLICY_REJECT);
    CU_ASSERT_EQUAL(all->sp, MS_DMARC_POLICY_QUARANTINE);
    CU_ASSERT_TRUE(all->sp_given);
    CU_ASSERT_EQUAL(all->adkim, MS_DMARC_ALIGN_STRICT);
    CU_ASSERT_EQUAL(all->aspf, MS_DMARC_ALIGN_STRICT);
    CU_ASSERT_EQUAL(all->pct, 0);
    CU_ASSERT_STRING_EQUAL(all->fo, "1:d");
    CU_ASSERT_EQUAL(all->ri, 3600);
    CU_ASSERT_EQUAL(all->warnings->len, 0);
    g_autofree char *text = ms_dmarc_record_to_string(all);
    CU_ASSERT_STRING_EQUAL(text, "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=0; "
                                 "fo=1:d; rf=afrf; ri=3600; ruf=mailto:f@example.com");
    /* The text reads back as the same record. */
    g_autoptr(MsDmarcRecord) again = ms_dmarc_record_parse(text, &error);
    g_assert_no_error(error);
    g_autofree char *text2 = ms_dmarc_record_to_string(again);
    CU_ASSERT_STRING_EQUAL(text, text2);
}

static void
test_record_fallbacks(void)
{
    /* A bad tag other than p/sp keeps its default and says so. */
    static const struct {
        const char *text, *warning;
    } cases[] = {
        { "v=DMARC1; p=none; adkim=x", "adkim=x is not r or s" },
        { "v=DMARC1; p=none; aspf=relaxed", "aspf=relaxed" },
        { "v=DMARC1; p=none; pct=101", "pct=101 is not 0 to 100" },
        { "v=DMARC1; p=none; pct=-1", "pct=-1" },
        { "v=DMARC1; p=none; pct=50%", "pct=50%" },
        { "v=DMARC1; p=none; ri=soon", "ri=soon" },
        { "v=DMARC1; p=none; fo=2", "fo=2" },
        { "v=DMARC1; p=none; rf=", "rf=" },
        { "v=DMARC1; p=none; rua=dmarc@example.com", "is not a URI" },
        { "v=DMARC1; p=none; rua=mailto:a@example.com!x", "is not a URI" },
        { "v=DMARC1; p=none; garbage", "is not tag=value" },
        { "v=DMARC1; p=none; p=reject", "p appears twice" },
        { "v=DMARC1; p=none; v=DMARC1", "v is not the first tag" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsDmarcRecord) r = ms_dmarc_record_parse(cases[i].text, &error);
        g_assert_no_error(error);
        CU_ASSERT_EQUAL(r->p, MS_DMARC_POLICY_NONE);
        CU_ASSERT_EQUAL(r->adkim, MS_DMARC_ALIGN_RELAXED);
        CU_ASSERT_EQUAL(r->aspf, MS_DMARC_ALIGN_RELAXED);
        CU_ASSERT_EQUAL(r->pct, 100);
        CU_ASSERT_EQUAL(r->ri, 86400);
        CU_ASSERT_STRING_EQUAL(r->fo, "0");
        CU_ASSERT_EQUAL(r->warnings->len, 1);
        if (r->warnings->len && !strstr(r->warnings->pdata[0], cases[i].warning))
            g_printerr("%s: %s\n", cases[i].text, (char *) r->warnings->pdata[0]);
        CU_ASSERT_PTR_NOT_NULL(r->warnings->len ? strstr(r->warnings->pdata[0], cases[i].warning)
                                                : NULL);
    }
    /* pct at its bounds. */
    g_autoptr(MsDmarcRecord) p100 = ms_dmarc_record_parse("v=DMARC1; p=reject; pct=100", NULL);
    CU_ASSERT_EQUAL(p100->pct, 100);
    CU_ASSERT_EQUAL(p100->warnings->len, 0);
}

static void
test_record_invalid(void)
{
    /* Not DMARC records at all (6.6.3: discarded). */
    static const char *const not_dmarc[] = {
        "",
        "p=none; v=DMARC1",
        "v=DMARC2; p=none",
        "v=dmarc1; p=none",
        "v=DMARC1p=none",
        "v=DMARC10; p=none",
        "x=DMARC1; p=none",
        "v=spf1 -all",
    };
    for (guint i = 0; i < G_N_ELEMENTS(not_dmarc); i++) {
        g_autoptr(GError) error = NULL;
        CU_ASSERT_PTR_NULL(ms_dmarc_record_parse(not_dmarc[i], &error));
        CU_ASSERT(g_error_matches(error, MS_DMARC_ERROR, MS_DMARC_ERROR_NOT_DMARC));
    }
    /* 6.6.3 step 6: no usable p (or a bad sp) and no valid rua. */
    static const char *const invalid[] = {
        "v=DMARC1",
        "v=DMARC1;",
        "v=DMARC1; p=",
        "v=DMARC1; p=block",
        "v=DMARC1; p=reject; sp=maybe",
        "v=DMARC1; p=bad; rua=not-a-uri",
    };
    for (guint i = 0; i < G_N_ELEMENTS(invalid); i++) {
        g_autoptr(GError) error = NULL;
        CU_ASSERT_PTR_NULL(ms_dmarc_record_parse(invalid[i], &error));
        CU_ASSERT(g_error_matches(error, MS_DMARC_ERROR, MS_DMARC_ERROR_INVALID));
    }
    /* ... but with a valid rua the record stands, as p=none. */
    g_autoptr(GError) error = NULL;
    g_autoptr(MsDmarcRecord) r =
        ms_dmarc_record_parse("v=DMARC1; p=block; sp=reject; rua=mailto:r@example.com", &error);
    g_assert_no_error(error);
    CU_ASSERT_TRUE(r->p_assumed);
    CU_ASSERT_EQUAL(r->p, MS_DMARC_POLICY_NONE);
    CU_ASSERT_EQUAL(r->sp, MS_DMARC_POLICY_NONE);
    g_autoptr(MsDmarcRecord) r2 =
        ms_dmarc_record_parse("v=DMARC1; rua=mailto:r@example.com", &error);
    g_assert_no_error(error);
    CU_ASSERT_TRUE(r2->p_assumed);
}

/* -------------------------------------------------------------- alignment */

static void
test_alignment(void)
{
    g_autoptr(MsPsl) psl = ms_psl_new_builtin();
    static const struct {
        const char *from, *auth;
        gboolean relaxed, strict;
    } cases[] = {
        /* RFC 7489 B.1.1-B.1.3 (SPF) and their DKIM twins (d=). */
        { "example.com", "example.com", TRUE, TRUE },
        { "example.com", "child.example.com", TRUE, FALSE },
        { "example.com", "example.org", FALSE, FALSE },
        { "child.example.com", "example.com", TRUE, FALSE },
        { "a.example.com", "b.example.com", TRUE, FALSE },
        { "Example.COM.", "example.com", TRUE, TRUE },
        /* Public suffixes are not organisations. */
        { "a.co.uk", "b.co.uk", FALSE, FALSE },
        { "mail.a.co.uk", "a.co.uk", TRUE, FALSE },
        { "example.com", "", FALSE, FALSE },
        { "example.com", NULL, FALSE, FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        CU_ASSERT_EQUAL(ms_dmarc_aligned(psl, cases[i].from, cases[i].auth, MS_DMARC_ALIGN_RELAXED),
                        cases[i].relaxed);
        CU_ASSERT_EQUAL(ms_dmarc_aligned(psl, cases[i].from, cases[i].auth, MS_DMARC_ALIGN_STRICT),
                        cases[i].strict);
    }
}

/* -------------------------------------------------------------- discovery */

typedef struct {
    const char *name; /* "_dmarc.example.com" */
    MsDmarcAnswer answer;
    const char *records[3];
} DmarcDns;

/* Runs a lookup against `dns`; names absent are NXDOMAIN. Returns the
 * number of questions asked. */
static guint
run_lookup(MsDmarcLookup *l, const DmarcDns *dns)
{
    guint asked = 0;
    const char *name;
    while (ms_dmarc_lookup_next_query(l, &name)) {
        asked++;
        g_assert(asked < 5);
        const DmarcDns *hit = NULL;
        for (const DmarcDns *d = dns; d->name; d++)
            if (strcmp(d->name, name) == 0)
                hit = d;
        if (!hit) {
            ms_dmarc_lookup_answer(l, MS_SPF_ANSWER_NXDOMAIN, NULL, 0);
            continue;
        }
        gsize n = 0;
        while (n < 3 && hit->records[n])
            n++;
        ms_dmarc_lookup_answer(l, hit->answer, hit->records, n);
    }
    return asked;
}

static const DmarcDns world[] = {
    { "_dmarc.example.com",
      MS_SPF_ANSWER_RECORDS,
      { "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@example.com", NULL } },
    { "_dmarc.own.example.com", MS_SPF_ANSWER_RECORDS, { "v=DMARC1; p=none", NULL } },
    { "_dmarc.two.example", MS_SPF_ANSWER_RECORDS, { "v=DMARC1; p=none", "v=DMARC1; p=reject" } },
    { "_dmarc.temp.example", MS_SPF_ANSWER_TEMPFAIL, { NULL } },
    { "_dmarc.bad.example", MS_SPF_ANSWER_RECORDS, { "v=DMARC1; p=maybe", NULL } },
    { "_dmarc.noise.example",
      MS_SPF_ANSWER_RECORDS,
      { "hello", "v=spf1 -all", "v=DMARC1; p=quarantine" } },
    { "_dmarc.onlynoise.example", MS_SPF_ANSWER_RECORDS, { "v=DMARC2; p=reject", NULL } },
    { "_dmarc.sub.onlynoise.example", MS_SPF_ANSWER_NODATA, { NULL } },
    { NULL, 0, { NULL } },
};

static void
test_discovery(void)
{
    g_autoptr(MsPsl) psl = ms_psl_new_builtin();
    static const struct {
        const char *from;
        MsDmarcLookupStatus status;
        guint asked;
        const char *policy_domain, *needle;
    } cases[] = {
        { "example.com", MS_DMARC_LOOKUP_FOUND, 1, "example.com", "record at _dmarc.example.com" },
        { "Mail.Example.COM", MS_DMARC_LOOKUP_FOUND, 2, "example.com",
          "record at _dmarc.example.com" },
        { "own.example.com", MS_DMARC_LOOKUP_FOUND, 1, "own.example.com", "own.example.com" },
        { "a.own.example.com", MS_DMARC_LOOKUP_FOUND, 2, "example.com", "_dmarc.example.com" },
        { "example.org", MS_DMARC_LOOKUP_NONE, 1, NULL, "no DMARC record at _dmarc.example.org" },
        { "x.example.org", MS_DMARC_LOOKUP_NONE, 2, NULL,
          "no DMARC record at _dmarc.x.example.org nor _dmarc.example.org" },
        { "two.example", MS_DMARC_LOOKUP_PERMERROR, 1, NULL, "2 DMARC records" },
        { "temp.example", MS_DMARC_LOOKUP_TEMPERROR, 1, NULL, "temporary failure" },
        { "a.temp.example", MS_DMARC_LOOKUP_TEMPERROR, 2, NULL, "_dmarc.temp.example" },
        { "bad.example", MS_DMARC_LOOKUP_PERMERROR, 1, NULL, "unusable" },
        { "noise.example", MS_DMARC_LOOKUP_FOUND, 1, "noise.example", "record" },
        { "sub.onlynoise.example", MS_DMARC_LOOKUP_NONE, 2, NULL, "no DMARC record" },
        { "", MS_DMARC_LOOKUP_NONE, 0, NULL, "not a domain name" },
        { "a..b", MS_DMARC_LOOKUP_NONE, 0, NULL, "not a domain name" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsDmarcLookup) l = ms_dmarc_lookup_new(cases[i].from, psl);
        guint asked = run_lookup(l, world);
        CU_ASSERT_EQUAL(asked, cases[i].asked);
        CU_ASSERT_EQUAL(ms_dmarc_lookup_status(l), cases[i].status);
        CU_ASSERT_EQUAL(g_strcmp0(ms_dmarc_lookup_policy_domain(l), cases[i].policy_domain), 0);
        CU_ASSERT_EQUAL(ms_dmarc_lookup_record(l) != NULL,
                        cases[i].status == MS_DMARC_LOOKUP_FOUND);
        if (!strstr(ms_dmarc_lookup_explanation(l), cases[i].needle))
            g_printerr("%s: %s\n", cases[i].from, ms_dmarc_lookup_explanation(l));
        CU_ASSERT_PTR_NOT_NULL(strstr(ms_dmarc_lookup_explanation(l), cases[i].needle));
    }
    g_autoptr(MsDmarcLookup) l = ms_dmarc_lookup_new("Mail.Example.COM.", psl);
    CU_ASSERT_STRING_EQUAL(ms_dmarc_lookup_from_domain(l), "mail.example.com");
    CU_ASSERT_STRING_EQUAL(ms_dmarc_lookup_org_domain(l), "example.com");
    const char *q = NULL;
    CU_ASSERT_TRUE(ms_dmarc_lookup_next_query(l, &q));
    CU_ASSERT_STRING_EQUAL(q, "_dmarc.mail.example.com");
    CU_ASSERT_TRUE(ms_dmarc_lookup_next_query(l, &q)); /* unchanged until answered */
    CU_ASSERT_STRING_EQUAL(q, "_dmarc.mail.example.com");
    ms_dmarc_lookup_answer(l, MS_SPF_ANSWER_NODATA, NULL, 0);
    CU_ASSERT_TRUE(ms_dmarc_lookup_next_query(l, &q));
    CU_ASSERT_STRING_EQUAL(q, "_dmarc.example.com");
    CU_ASSERT_EQUAL(ms_dmarc_lookup_status(l), MS_DMARC_LOOKUP_PENDING);
}

/* ------------------------------------------------------------- evaluation */

static void
test_evaluate(void)
{
    g_autoptr(MsPsl) psl = ms_psl_new_builtin();
    const char *d_example[] = { "example.com" };
    const char *d_child[] = { "child.example.com" };
    const char *d_other[] = { "other.example", "mailer.example.org" };
    static const struct {
        const char *from; /* From: domain */
        MsSpfResult spf;
        const char *spf_domain;
        int dkim; /* 0 none, 1 example.com, 2 child.example.com, 3 unrelated */
        guint draw;
        MsDmarcResult result;
        gboolean spf_aligned, dkim_aligned;
        MsDmarcPolicy policy, disposition;
        gboolean sampled_out;
    } cases[] = {
        /* The record at example.com: p=reject; sp=quarantine; pct=50. */
        { "example.com", MS_SPF_RESULT_PASS, "example.com", 0, 0, MS_DMARC_RESULT_PASS, TRUE, FALSE,
          MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_NONE, FALSE },
        { "example.com", MS_SPF_RESULT_PASS, "bounces.example.com", 0, 0, MS_DMARC_RESULT_PASS,
          TRUE, FALSE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_NONE, FALSE },
        /* SPF passes for a domain that is not aligned: no help. */
        { "example.com", MS_SPF_RESULT_PASS, "evil.example", 0, 0, MS_DMARC_RESULT_FAIL, FALSE,
          FALSE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_REJECT, FALSE },
        /* Aligned but SPF did not pass. */
        { "example.com", MS_SPF_RESULT_SOFTFAIL, "example.com", 0, 0, MS_DMARC_RESULT_FAIL, FALSE,
          FALSE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_REJECT, FALSE },
        /* DKIM alone (forwarded mail: SPF fails, the signature survives). */
        { "example.com", MS_SPF_RESULT_FAIL, "forwarder.example", 1, 0, MS_DMARC_RESULT_PASS, FALSE,
          TRUE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_NONE, FALSE },
        { "example.com", MS_SPF_RESULT_NONE, NULL, 2, 0, MS_DMARC_RESULT_PASS, FALSE, TRUE,
          MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_NONE, FALSE },
        { "example.com", MS_SPF_RESULT_NONE, NULL, 3, 0, MS_DMARC_RESULT_FAIL, FALSE, FALSE,
          MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_REJECT, FALSE },
        /* pct=50: draws 0..49 apply the policy, 50..99 the milder one. */
        { "example.com", MS_SPF_RESULT_FAIL, "example.com", 0, 49, MS_DMARC_RESULT_FAIL, FALSE,
          FALSE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_REJECT, FALSE },
        { "example.com", MS_SPF_RESULT_FAIL, "example.com", 0, 50, MS_DMARC_RESULT_FAIL, FALSE,
          FALSE, MS_DMARC_POLICY_REJECT, MS_DMARC_POLICY_QUARANTINE, TRUE },
        /* A subdomain without a record of its own: sp=quarantine. */
        { "news.example.com", MS_SPF_RESULT_FAIL, "news.example.com", 0, 0, MS_DMARC_RESULT_FAIL,
          FALSE, FALSE, MS_DMARC_POLICY_QUARANTINE, MS_DMARC_POLICY_QUARANTINE, FALSE },
        { "news.example.com", MS_SPF_RESULT_FAIL, "news.example.com", 0, 99, MS_DMARC_RESULT_FAIL,
          FALSE, FALSE, MS_DMARC_POLICY_QUARANTINE, MS_DMARC_POLICY_NONE, TRUE },
        { "news.example.com", MS_SPF_RESULT_PASS, "example.com", 0, 99, MS_DMARC_RESULT_PASS, TRUE,
          FALSE, MS_DMARC_POLICY_QUARANTINE, MS_DMARC_POLICY_NONE, FALSE },
        /* own.example.com has its own record, p=none: fail, but no action. */
        { "own.example.com", MS_SPF_RESULT_FAIL, "own.example.com", 0, 99, MS_DMARC_RESULT_FAIL,
          FALSE, FALSE, MS_DMARC_POLICY_NONE, MS_DMARC_POLICY_NONE, FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsDmarcLookup) l = ms_dmarc_lookup_new(cases[i].from, psl);
        run_lookup(l, world);
        const char *const *dkim = cases[i].dkim == 1   ? d_example
                                  : cases[i].dkim == 2 ? d_child
                                                       : d_other;
        MsDmarcInput in = { NULL,
                            cases[i].spf,
                            cases[i].spf_domain,
                            dkim,
                            cases[i].dkim == 0   ? 0
                            : cases[i].dkim == 3 ? 2
                                                 : 1,
                            cases[i].draw };
        MsDmarcOutcome out;
        ms_dmarc_lookup_evaluate(l, &in, &out);
        if (out.result != cases[i].result || out.disposition != cases[i].disposition)
            g_printerr("case %u: %s -> %s (%s)\n", i, ms_dmarc_result_to_string(out.result),
                       ms_dmarc_policy_to_string(out.disposition), out.reason);
        CU_ASSERT_EQUAL(out.result, cases[i].result);
        CU_ASSERT_EQUAL(out.spf_aligned, cases[i].spf_aligned);
        CU_ASSERT_EQUAL(out.dkim_aligned, cases[i].dkim_aligned);
        CU_ASSERT_EQUAL(out.policy, cases[i].policy);
        CU_ASSERT_EQUAL(out.disposition, cases[i].disposition);
        CU_ASSERT_EQUAL(out.sampled_out, cases[i].sampled_out);
        CU_ASSERT_EQUAL(out.dkim_domain != NULL, cases[i].dkim_aligned);
        CU_ASSERT_PTR_NOT_NULL(out.reason);
        ms_dmarc_outcome_clear(&out);
    }
    /* The sentences. */
    g_autoptr(MsDmarcLookup) l = ms_dmarc_lookup_new("example.com", psl);
    run_lookup(l, world);
    MsDmarcInput in = { "example.com", MS_SPF_RESULT_PASS, "evil.example", d_other, 2, 99 };
    MsDmarcOutcome out;
    ms_dmarc_lookup_evaluate(l, &in, &out);
    CU_ASSERT_STRING_EQUAL(out.reason,
                           "nothing aligned with example.com: SPF pass for evil.example (not "
                           "aligned, relaxed), DKIM d=other.example,mailer.example.org (not "
                           "aligned, relaxed); policy p=reject, sampled out by pct=50: quarantine");
    ms_dmarc_outcome_clear(&out);
    in.dkim_domains = d_example;
    in.n_dkim = 1;
    ms_dmarc_lookup_evaluate(l, &in, &out);
    CU_ASSERT_STRING_EQUAL(out.reason,
                           "example.com aligned with From: DKIM d=example.com (relaxed)");
    CU_ASSERT_STRING_EQUAL(out.dkim_domain, "example.com");
    ms_dmarc_outcome_clear(&out);
    /* No policy, or none usable: none, temperror, permerror. */
    static const struct {
        const char *from;
        MsDmarcResult result;
    } ends[] = {
        { "example.org", MS_DMARC_RESULT_NONE },
        { "temp.example", MS_DMARC_RESULT_TEMPERROR },
        { "two.example", MS_DMARC_RESULT_PERMERROR },
    };
    for (guint i = 0; i < G_N_ELEMENTS(ends); i++) {
        g_autoptr(MsDmarcLookup) e = ms_dmarc_lookup_new(ends[i].from, psl);
        run_lookup(e, world);
        ms_dmarc_lookup_evaluate(e, &in, &out);
        CU_ASSERT_EQUAL(out.result, ends[i].result);
        CU_ASSERT_EQUAL(out.disposition, MS_DMARC_POLICY_NONE);
        CU_ASSERT_STRING_EQUAL(out.reason, ms_dmarc_lookup_explanation(e));
        ms_dmarc_outcome_clear(&out);
    }
    /* Strict alignment: child.example.com no longer counts. */
    g_autoptr(MsDmarcRecord) strict =
        ms_dmarc_record_parse("v=DMARC1; p=reject; adkim=s; aspf=s", NULL);
    MsDmarcInput sin = { "example.com", MS_SPF_RESULT_PASS, "child.example.com", d_child, 1, 0 };
    ms_dmarc_evaluate(strict, FALSE, psl, &sin, &out);
    CU_ASSERT_EQUAL(out.result, MS_DMARC_RESULT_FAIL);
    CU_ASSERT_EQUAL(out.disposition, MS_DMARC_POLICY_REJECT);
    ms_dmarc_outcome_clear(&out);
    /* pct=0: a failing message is never subject to the policy itself. */
    g_autoptr(MsDmarcRecord) zero = ms_dmarc_record_parse("v=DMARC1; p=quarantine; pct=0", NULL);
    sin.spf = MS_SPF_RESULT_FAIL;
    sin.n_dkim = 0;
    ms_dmarc_evaluate(zero, FALSE, psl, &sin, &out);
    CU_ASSERT_EQUAL(out.disposition, MS_DMARC_POLICY_NONE);
    CU_ASSERT_TRUE(out.sampled_out);
    ms_dmarc_outcome_clear(&out);
    CU_ASSERT_STRING_EQUAL(ms_dmarc_result_to_string(MS_DMARC_RESULT_PERMERROR), "permerror");
    CU_ASSERT_STRING_EQUAL(ms_dmarc_policy_to_string(MS_DMARC_POLICY_QUARANTINE), "quarantine");
    CU_ASSERT_STRING_EQUAL(ms_dmarc_alignment_to_string(MS_DMARC_ALIGN_STRICT), "s");
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "public suffixes: the built-in list", test_psl_builtin },
        { "public suffixes: Debian's list, publicsuffix.org's vectors", test_psl_system },
        { "public suffixes: the same answers as libpsl", test_psl_libpsl },
        { "public suffixes: malformed lists", test_psl_errors },
        { "records: RFC 7489 B.2 examples and every tag", test_record_examples },
        { "records: bad tags fall back to defaults", test_record_fallbacks },
        { "records: not DMARC, or unusable (6.6.3)", test_record_invalid },
        { "alignment: relaxed and strict (B.1)", test_alignment },
        { "policy discovery (6.6.3)", test_discovery },
        { "evaluation: alignment, p/sp, pct", test_evaluate },
        { NULL, NULL },
    };
    return ms_test_main("dmarc", cases);
}
