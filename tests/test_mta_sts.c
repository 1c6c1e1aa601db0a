/* Tests of MTA-STS (sim/proto/mta_sts.c): the TXT record of RFC 8461 3.1
 * and the policy document of 3.2 with the RFC's own examples, their
 * variants (CRLF or LF, spacing, extensions, blank lines), each boundary on
 * both sides (an id of 32 and 33 characters, max_age at and above its
 * limit, 10 and 11 digits), a table of malformed inputs each refused with
 * its reason and line, the choice of one record among several TXT values
 * (also as the DNS codec carries them), and the MX matching rule of 4.1. */
#include "testlib.h"
#include "mailsim/dns_codec.h"
#include "mailsim/mta_sts.h"
#include "mailsim/rng.h"

#include <string.h>

/* ---------------------------------------------------------------- records */

static char *
record(const char *text, GError **error)
{
    return ms_mta_sts_record_parse(text, strlen(text), error);
}

static void
test_record_valid(void)
{
    static const struct {
        const char *text, *id;
    } cases[] = {
        { "v=STSv1; id=20160831085700Z;", "20160831085700Z" }, /* RFC 8461 3.1 */
        { "v=STSv1;id=abc", "abc" },
        { "v=STSv1 ;\tid=abc ; ", "abc" },
        { "v=STSv1; ext_1.x-y=some:value/ok; id=Z9", "Z9" },
        { "v=STSv1; id=12345678901234567890123456789012", "12345678901234567890123456789012" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *id = record(cases[i].text, &error);
        if (!id)
            g_printerr("record '%s': %s\n", cases[i].text, error->message);
        CU_ASSERT_STRING_EQUAL(id ? id : "(null)", cases[i].id);
    }
    /* Only `len` octets count: the rest of the buffer is not read. */
    static const char buf[] = "v=STSv1; id=abcXXX!";
    g_autofree char *id = ms_mta_sts_record_parse(buf, 15, NULL);
    CU_ASSERT_STRING_EQUAL(id, "abc");
}

static void
test_record_malformed(void)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        { "", "does not begin" },
        { "v=STSv2; id=1", "does not begin" },
        { "V=STSv1; id=1", "does not begin" },
        { " v=STSv1; id=1", "does not begin" },
        { "v=STSv1", "no field after" },
        { "v=STSv1;", "no field after" },
        { "v=STSv1;  ", "no field after" },
        { "v=STSv1 id=1", "'i' at offset 8" },
        { "v=STSv10; id=1", "'0' at offset 7" },
        { "v=STSv1; id=", "value of 'id'" },
        { "v=STSv1; id=abc-def", "not 1 to 32 letters and digits" },
        { "v=STSv1; id=123456789012345678901234567890123", "not 1 to 32" },
        { "v=STSv1; id=1; id=2", "two id fields" },
        { "v=STSv1; =x; id=1", "not name=value" },
        { "v=STSv1; _x=1; id=1", "not name=value" },
        { "v=STSv1; id=1 x", "'x' at offset" },
        { "v=STSv1; id=a=b", "value of 'id'" },
        { "v=STSv1; ext=1", "no id field" },
        { "v=STSv1; id=1\n", "value of 'id'" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *id = record(cases[i].text, &error);
        CU_ASSERT_PTR_NULL(id);
        gboolean ok = g_error_matches(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD) &&
                      strstr(error->message, cases[i].needle);
        if (!ok)
            g_printerr("record '%s': %s\n", cases[i].text, error ? error->message : "accepted");
        CU_ASSERT_TRUE(ok);
    }
}

static void
test_record_select(void)
{
    /* As the DNS carries them: an SPF record beside the policy record,
     * whose value is cut into two strings. */
    g_autoptr(MsDnsRecord) spf = ms_dns_record_new_txt("_mta-sts.example.com", 60, "v=spf1 -all");
    g_autoptr(MsDnsRecord) sts =
        ms_dns_record_new_raw("_mta-sts.example.com", MS_DNS_TYPE_TXT, MS_DNS_CLASS_IN, 60,
                              (const guint8 *) "\x08v=STSv1;\x13 id=20160831085700Z", 29);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sts);
    CU_ASSERT_EQUAL(sts->rdata.txt->len, 2);
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    g_ptr_array_add(values, ms_dns_record_txt_join(spf));
    g_ptr_array_add(values, ms_dns_record_txt_join(sts));
    g_autoptr(GError) error = NULL;
    g_autofree char *id = ms_mta_sts_record_select(values, &error);
    g_assert_no_error(error);
    CU_ASSERT_STRING_EQUAL(id, "20160831085700Z");
    /* "v=STSv10;..." is not an STSv1 record: it is discarded, not refused. */
    g_ptr_array_add(values, g_bytes_new_static("v=STSv10; id=1", 14));
    g_autofree char *id2 = ms_mta_sts_record_select(values, NULL);
    CU_ASSERT_STRING_EQUAL(id2, "20160831085700Z");
    /* Two policy records: none is used. */
    g_ptr_array_add(values, g_bytes_new_static("v=STSv1; id=2", 13));
    CU_ASSERT_PTR_NULL(ms_mta_sts_record_select(values, &error));
    CU_ASSERT_TRUE(g_error_matches(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_NO_RECORD));
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "2 TXT records"));
    g_clear_error(&error);
    /* None at all; one that is malformed. */
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    g_ptr_array_add(none, g_bytes_new_static("v=spf1 -all", 11));
    CU_ASSERT_PTR_NULL(ms_mta_sts_record_select(none, &error));
    CU_ASSERT_TRUE(g_error_matches(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_NO_RECORD));
    g_clear_error(&error);
    g_ptr_array_add(none, g_bytes_new_static("v=STSv1; id=bad-id", 18));
    CU_ASSERT_PTR_NULL(ms_mta_sts_record_select(none, &error));
    CU_ASSERT_TRUE(g_error_matches(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD));
}

/* ---------------------------------------------------------------- policies */

/* RFC 8461 3.2's example, with its line ends given. */
static char *
rfc_policy(const char *eol, gboolean final_eol)
{
    return g_strdup_printf(
        "version: STSv1%smode: enforce%smx: mail.example.com%smx: *.example.net%s"
        "mx: backupmx.example.com%smax_age: 604800%s",
        eol, eol, eol, eol, eol, final_eol ? eol : "");
}

static void
check_rfc_policy(const MsMtaStsPolicy *p)
{
    CU_ASSERT_EQUAL(p->mode, MS_MTA_STS_MODE_ENFORCE);
    CU_ASSERT_EQUAL(p->max_age, 604800);
    CU_ASSERT_EQUAL_FATAL(p->mx->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p->mx, 0), "mail.example.com");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p->mx, 1), "*.example.net");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p->mx, 2), "backupmx.example.com");
}

static void
test_policy_valid(void)
{
    const char *eols[] = { "\r\n", "\n" };
    for (guint e = 0; e < 2; e++)
        for (int fin = 0; fin <= 1; fin++) {
            g_autofree char *text = rfc_policy(eols[e], fin);
            g_autoptr(GError) error = NULL;
            g_autoptr(MsMtaStsPolicy) p =
                ms_mta_sts_policy_parse(text, strlen(text), "example", &error);
            g_assert_no_error(error);
            check_rfc_policy(p);
            /* Written back and read again, the same policy. */
            g_autofree char *again = ms_mta_sts_policy_to_text(p);
            CU_ASSERT_TRUE(g_str_has_prefix(again, "version: STSv1\r\nmode: enforce\r\n"));
            g_autoptr(MsMtaStsPolicy) q = ms_mta_sts_policy_parse(again, strlen(again), "", NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(q);
            check_rfc_policy(q);
        }
    /* Any order, no space after ':', trailing white space, extensions,
     * blank lines, upper-case MX names, mixed line ends, the limits. */
    static const char odd[] = "max_age:31557600 \t\r\n"
                              "\n"
                              "mx:MAIL.Example.COM\n"
                              "x-ext.1: anything: at all\r\n"
                              "  \t\r\n"
                              "mode:testing\n"
                              "version:\tSTSv1";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsMtaStsPolicy) p = ms_mta_sts_policy_parse(odd, strlen(odd), "odd", &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(p->mode, MS_MTA_STS_MODE_TESTING);
    CU_ASSERT_EQUAL(p->max_age, MS_MTA_STS_MAX_AGE_LIMIT);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p->mx, 0), "mail.example.com");
    /* mode none needs no mx; max_age 0 and ten digits are fine. */
    static const char none[] = "version: STSv1\nmode: none\nmax_age: 0000000000\n";
    g_autoptr(MsMtaStsPolicy) n = ms_mta_sts_policy_parse(none, strlen(none), "none", &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(n->mode, MS_MTA_STS_MODE_NONE);
    CU_ASSERT_EQUAL(n->mx->len, 0);
    CU_ASSERT_EQUAL(n->max_age, 0);
    /* Only `len` octets are read. */
    static const char cut[] = "version: STSv1\nmode: none\nmax_age: 5\nmode: enforce\n";
    g_autoptr(MsMtaStsPolicy) c = ms_mta_sts_policy_parse(cut, 37, "cut", NULL);
    CU_ASSERT_PTR_NOT_NULL(c);
}

#define OK_HEAD "version: STSv1\nmode: enforce\n"
#define OK_TAIL "max_age: 86400\n"

static void
test_policy_malformed(void)
{
    static const struct {
        const char *text, *message; /* the whole error message */
    } cases[] = {
        { "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
          "p:1: version 'STSv2' is not STSv1" },
        { "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",
          "p:2: mode 'Enforce' is not enforce, testing or none" },
        { OK_HEAD "mx: a.example\nmax_age: abc\n", "p:4: max_age 'abc' is not 1 to 10 digits" },
        { OK_HEAD "mx: a.example\nmax_age: 12345678901\n",
          "p:4: max_age '12345678901' is not 1 to 10 digits" },
        { OK_HEAD "mx: a.example\nmax_age: 31557601\n",
          "p:4: max_age 31557601 is above the limit of 31557600 seconds (RFC 8461 3.2)" },
        { OK_HEAD "mx: a.example\nmax_age: -1\n", "p:4: max_age '-1' is not 1 to 10 digits" },
        { OK_HEAD "mx: a.example\nmax_age:\n", "p:4: max_age '' is not 1 to 10 digits" },
        { "version: STSv1\nmx: a.example\nmax_age: 1\n",
          "p: no 'mode' field (RFC 8461 3.2 requires it)" },
        { "", "p: no 'version' field (RFC 8461 3.2 requires it)\n"
              "p: no 'mode' field (RFC 8461 3.2 requires it)\n"
              "p: no 'max_age' field (RFC 8461 3.2 requires it)" },
        { OK_HEAD "mx: a.example\nmode: none\n" OK_TAIL,
          "p:4: a second 'mode' field (the first is on line 2)" },
        { OK_HEAD "mode enforce\nmx: a.example\n" OK_TAIL,
          "p:3: no ':' (a policy line is \"key: value\", RFC 8461 3.2)" },
        { OK_HEAD " mx: a.example\nmx: b.example\n" OK_TAIL,
          "p:3: the line starts with white space" },
        { OK_HEAD "m x: a\nmx: a.example\n" OK_TAIL, "p:3: 'm x' is not a field name" },
        { OK_HEAD "mx : a.example\n" OK_TAIL,
          "p:3: 'mx ' is not a field name\n"
          "p: mode enforce without any 'mx' field: no MX host could match" },
        { OK_HEAD OK_TAIL, "p: mode enforce without any 'mx' field: no MX host could match" },
        { OK_HEAD "mx: *.*.example.com\n" OK_TAIL,
          "p:3: mx pattern '*.*.example.com' has a '*' that is not a whole leftmost label"
          " \"*.\"\np: mode enforce without any 'mx' field: no MX host could match" },
        { OK_HEAD "mx: a.example\nmx: mail*.example\n" OK_TAIL,
          "p:4: mx pattern 'mail*.example' has a '*' that is not a whole leftmost label \"*.\"" },
        { OK_HEAD "mx: a.example\nmx: -a.example\n" OK_TAIL,
          "p:4: mx pattern '-a.example' has a label starting with '-'" },
        { OK_HEAD "mx: a.example\nmx: a-.example\n" OK_TAIL,
          "p:4: mx pattern 'a-.example' has a label ending with '-'" },
        { OK_HEAD "mx: a.example\nmx: a..example\n" OK_TAIL,
          "p:4: mx pattern 'a..example' has an empty label" },
        { OK_HEAD "mx: a.example\nmx: a.example.\n" OK_TAIL,
          "p:4: mx pattern 'a.example.' ends with a dot" },
        { OK_HEAD "mx: a.example\nmx: a_b.example\n" OK_TAIL,
          "p:4: mx pattern 'a_b.example' has a character other than letters, digits, '-' and"
          " '.'" },
        { OK_HEAD "mx: a.example\nmx:\n" OK_TAIL, "p:4: mx pattern '' is empty" },
        { OK_HEAD
          "mx: a.example\nmx: "
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n" OK_TAIL,
          "p:4: mx pattern "
          "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example' has a label"
          " longer than 63 characters" },
        { OK_HEAD "mx: a.example\rmx: b.example\n" OK_TAIL,
          "p:3: a CR not followed by LF\n"
          "p: mode enforce without any 'mx' field: no MX host could match" },
        { OK_HEAD "mx: a.ex\xc3\xa4mple\nmx: b.example\n" OK_TAIL,
          "p:3: an octet above 127 (the policy is ASCII)" },
        { OK_HEAD "mx: a.example\nx-ext: bell\x07\n" OK_TAIL,
          "p:4: the value holds the octet 0x07" },
        /* Several problems, all reported. */
        { "version: STSv1\nmode: sometimes\nmx: a..b\nmax_age: 99999999999\n",
          "p:2: mode 'sometimes' is not enforce, testing or none\n"
          "p:3: mx pattern 'a..b' has an empty label\n"
          "p:4: max_age '99999999999' is not 1 to 10 digits" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsMtaStsPolicy) p =
            ms_mta_sts_policy_parse(cases[i].text, strlen(cases[i].text), "p", &error);
        CU_ASSERT_PTR_NULL(p);
        gboolean ok = g_error_matches(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_POLICY) &&
                      strcmp(error->message, cases[i].message) == 0;
        if (!ok)
            g_printerr("policy case %u: got\n%s\nwanted\n%s\n", i,
                       error ? error->message : "(accepted)", cases[i].message);
        CU_ASSERT_TRUE(ok);
    }
    /* A NUL inside, and a document over the size we read. */
    static const char nul[] = OK_HEAD "mx: a\0.example\n" OK_TAIL;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(ms_mta_sts_policy_parse(nul, sizeof nul - 1, "p", &error));
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error->message, "p:3: a NUL octet"));
    g_clear_error(&error);
    gsize big = MS_MTA_STS_POLICY_MAX + 1;
    g_autofree char *huge = g_malloc(big);
    memset(huge, '\n', big);
    CU_ASSERT_PTR_NULL(ms_mta_sts_policy_parse(huge, big, "p", &error));
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error->message, "65537 octets, more than the 65536"));
    /* At the size limit it is read (blank lines, then nothing required:
     * the error is about fields, not size). */
    g_clear_error(&error);
    CU_ASSERT_PTR_NULL(ms_mta_sts_policy_parse(huge, big - 1, "p", &error));
    CU_ASSERT_PTR_NOT_NULL(error && g_str_has_prefix(error->message, "p: no 'version' field"));
}

/* ---------------------------------------------------------------- matching */

static void
test_mx_matching(void)
{
    static const struct {
        const char *pattern, *host;
        gboolean match;
    } cases[] = {
        { "mail.example.com", "mail.example.com", TRUE },
        { "mail.example.com", "MAIL.Example.Com", TRUE },
        { "mail.example.com", "mail.example.com.", TRUE },
        { "mail.example.com", "mail2.example.com", FALSE },
        { "mail.example.com", "example.com", FALSE },
        { "mail.example.com", "x.mail.example.com", FALSE },
        /* RFC 8461 4.1: the wildcard is one whole leftmost label. */
        { "*.example.net", "mx1.example.net", TRUE },
        { "*.example.net", "MX1.EXAMPLE.NET.", TRUE },
        { "*.example.net", "example.net", FALSE },
        { "*.example.net", "a.b.example.net", FALSE },
        { "*.example.net", ".example.net", FALSE },
        { "*.example.net", "mx1.example.org", FALSE },
        { "*.example.net", "mx1example.net", FALSE },
        { "*.example.net", "", FALSE },
        { "", "", FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        gboolean got = ms_mta_sts_mx_matches(cases[i].pattern, cases[i].host);
        if (got != cases[i].match)
            g_printerr("'%s' vs '%s': %d\n", cases[i].pattern, cases[i].host, got);
        CU_ASSERT_EQUAL(got, cases[i].match);
    }
    g_autofree char *text = rfc_policy("\r\n", TRUE);
    g_autoptr(MsMtaStsPolicy) p = ms_mta_sts_policy_parse(text, strlen(text), "rfc", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(ms_mta_sts_policy_allows(p, "mail.example.com"));
    CU_ASSERT_TRUE(ms_mta_sts_policy_allows(p, "mx7.example.net"));
    CU_ASSERT_TRUE(ms_mta_sts_policy_allows(p, "backupmx.example.com"));
    CU_ASSERT_FALSE(ms_mta_sts_policy_allows(p, "evil.example.org"));
    CU_ASSERT_FALSE(ms_mta_sts_policy_allows(p, "example.net"));
    CU_ASSERT_STRING_EQUAL(ms_mta_sts_mode_to_string(MS_MTA_STS_MODE_ENFORCE), "enforce");
}

/* Seeded mutations of valid inputs: never a crash, and every answer is
 * either a value or an error with a message, never both or neither. */
static void
test_mutations(void)
{
    MsRng rng;
    ms_rng_init_named(&rng, 8461, "mta-sts mutations");
    g_autofree char *policy = rfc_policy("\r\n", TRUE);
    static const char rec[] = "v=STSv1; id=20160831085700Z; ext=1;";
    static const char alphabet[] = "v=STSv1;id: \t\r\n*.-_0aZ\x00\xff";
    guint accepted[2] = { 0, 0 };
    for (guint i = 0; i < 4000; i++) {
        gboolean is_policy = i % 2 == 0;
        const char *base = is_policy ? policy : rec;
        gsize n = strlen(base);
        g_autofree char *buf = g_memdup2(base, n);
        guint edits = 1 + (guint) ms_rng_below(&rng, 3);
        for (guint e = 0; e < edits && n > 0; e++) {
            gsize at = (gsize) ms_rng_below(&rng, n);
            if (ms_rng_bernoulli(&rng, 0.2))
                n = at; /* truncate */
            else
                buf[at] = alphabet[ms_rng_below(&rng, sizeof alphabet - 1)];
        }
        g_autoptr(GError) error = NULL;
        if (is_policy) {
            g_autoptr(MsMtaStsPolicy) p = ms_mta_sts_policy_parse(buf, n, "m", &error);
            CU_ASSERT((p != NULL) != (error != NULL));
            CU_ASSERT(!error || error->message[0] != '\0');
            accepted[0] += p != NULL;
        } else {
            g_autofree char *id = ms_mta_sts_record_parse(buf, n, &error);
            CU_ASSERT((id != NULL) != (error != NULL));
            accepted[1] += id != NULL;
        }
    }
    /* Some mutants survive (a changed letter inside a name), most not. */
    CU_ASSERT(accepted[0] > 20 && accepted[0] < 1980);
    CU_ASSERT(accepted[1] > 20 && accepted[1] < 1980);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "TXT record: RFC example and variants", test_record_valid },
        { "TXT record: malformed", test_record_malformed },
        { "TXT record: one among several", test_record_select },
        { "policy: RFC example and variants", test_policy_valid },
        { "policy: malformed, with line numbers", test_policy_malformed },
        { "MX patterns (RFC 8461 4.1)", test_mx_matching },
        { "seeded mutations", test_mutations },
        { NULL, NULL },
    };
    return ms_test_main("mta_sts", cases);
}
