/* Tests of the DMARC aggregate report writer (sim/run/dmarc_report.c):
 * reports validated against RFC 7489 Appendix C's schema
 * (tests/data/dmarc/rfc7489-appendix-c.xsd) with libxml2's
 * xmlSchemaValidateDoc, a document the schema must refuse (to show the
 * validation bites), the content read back with XPath (rows merged by
 * everything but their count, in the order first seen; IPv6 in the
 * schema's eight-group form; override reasons; several DKIM results; the
 * HELO scope), byte-identical output for the same rows, the RFC 7.2.1.1
 * file name, writing into a folder, and the errors (no rows, a bad
 * address, a result the schema does not know, a folder that is not
 * there). */
#include "testlib.h"
#include "mailsim/dmarc_report.h"

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <string.h>

#define SCHEMA "tests/data/dmarc/rfc7489-appendix-c.xsd"

static void
ignore_error(void *data, xmlErrorPtr error)
{
    (void) data;
    (void) error;
}

/* Validates `xml`; returns 0 when valid, > 0 when not, -1 without the
 * schema. `quiet` keeps libxml2's messages off stderr (for reports that
 * are meant to fail). */
static int
validate_report(const char *xml, gsize len, gboolean quiet)
{
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(SCHEMA);
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        return -1;
    xmlDocPtr doc = xmlReadMemory(xml, (int) len, "report.xml", NULL, XML_PARSE_NONET);
    int rc = 1;
    if (doc) {
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
        if (quiet)
            xmlSchemaSetValidStructuredErrors(vc, ignore_error, NULL);
        rc = xmlSchemaValidateDoc(vc, doc);
        xmlSchemaFreeValidCtxt(vc);
        xmlFreeDoc(doc);
    }
    xmlSchemaFree(schema);
    return rc;
}

static int
validate(const char *xml, gsize len)
{
    return validate_report(xml, len, FALSE);
}

static char *
xpath_string(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    g_autofree char *wrapped = g_strdup_printf("string(%s)", expr);
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *) wrapped, ctx);
    char *s = g_strdup(o && o->stringval ? (const char *) o->stringval : "");
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return s;
}

static MsDmarcReport *
sample_report(void)
{
    g_autoptr(MsDmarcRecord) rec = ms_dmarc_record_parse(
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=50; rua=mailto:d@example.com", NULL);
    MsDmarcReportMetadata meta = {
        .org_name = "isp-b.net",
        .email = "dmarc-reports@isp-b.net",
        .extra_contact_info = NULL,
        .report_id = "isp-b.net-1",
        .receiver_domain = "isp-b.net",
        .begin = 1700000000,
        .end = 1700086399,
    };
    MsDmarcReport *r = ms_dmarc_report_new(&meta, rec, "example.com");
    const MsDmarcReportDkim good[] = { { "example.com", "sel1", "pass", NULL } };
    const MsDmarcReportDkim two[] = { { "example.com", "sel1", "fail", "body hash mismatch" },
                                      { "list.example.org", NULL, "pass", NULL } };
    MsDmarcReportRow legit = {
        .source_ip = "192.0.2.25",
        .count = 1,
        .disposition = MS_DMARC_POLICY_NONE,
        .dkim_pass = TRUE,
        .spf_pass = TRUE,
        .envelope_to = "isp-b.net",
        .envelope_from = "example.com",
        .header_from = "example.com",
        .dkim = good,
        .n_dkim = 1,
        .spf_domain = "example.com",
        .spf_result = MS_SPF_RESULT_PASS,
    };
    ms_dmarc_report_add(r, &legit);
    MsDmarcReportRow forged = {
        .source_ip = "2001:db8::66",
        .count = 1,
        .disposition = MS_DMARC_POLICY_REJECT,
        .envelope_from = "evil.example",
        .header_from = "example.com",
        .spf_domain = "evil.example",
        .spf_result = MS_SPF_RESULT_PASS,
    };
    ms_dmarc_report_add(r, &forged);
    ms_dmarc_report_add(r, &legit); /* merged into the first row */
    legit.count = 3;
    ms_dmarc_report_add(r, &legit);
    MsDmarcReportRow listed = {
        .source_ip = "::ffff:198.51.100.7",
        .count = 2,
        .disposition = MS_DMARC_POLICY_QUARANTINE,
        .override = "sampled_out",
        .override_comment = "pct=50",
        .envelope_from = "",
        .header_from = "news.example.com",
        .dkim = two,
        .n_dkim = 2,
        .spf_domain = "relay.example.org",
        .spf_helo = TRUE,
        .spf_result = MS_SPF_RESULT_SOFTFAIL,
    };
    ms_dmarc_report_add(r, &listed);
    ms_dmarc_report_add_error(r, "pct=50: half the failing messages were sampled");
    return r;
}

static void
test_valid_report(void)
{
    g_autoptr(MsDmarcReport) r = sample_report();
    CU_ASSERT_EQUAL(ms_dmarc_report_n_rows(r), 3);
    CU_ASSERT_EQUAL(ms_dmarc_report_n_messages(r), 8);
    gsize len = 0;
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = ms_dmarc_report_to_xml(r, &len, &error);
    g_assert_no_error(error);
    CU_ASSERT_EQUAL(strlen(xml), len);
    int rc = validate(xml, len);
    if (rc != 0)
        g_printerr("%s\n", xml);
    CU_ASSERT_EQUAL(rc, 0);

    xmlDocPtr doc = xmlReadMemory(xml, (int) len, "r.xml", NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    static const struct {
        const char *expr, *want;
    } checks[] = {
        { "/feedback/version", "1.0" },
        { "/feedback/report_metadata/org_name", "isp-b.net" },
        { "/feedback/report_metadata/date_range/begin", "1700000000" },
        { "/feedback/report_metadata/error", "pct=50: half the failing messages were sampled" },
        { "/feedback/policy_published/domain", "example.com" },
        { "/feedback/policy_published/adkim", "s" },
        { "/feedback/policy_published/aspf", "r" },
        { "/feedback/policy_published/p", "reject" },
        { "/feedback/policy_published/sp", "quarantine" },
        { "/feedback/policy_published/pct", "50" },
        { "/feedback/policy_published/fo", "0" },
        { "count(/feedback/record)", "3" },
        { "/feedback/record[1]/row/source_ip", "192.0.2.25" },
        { "/feedback/record[1]/row/count", "5" },
        { "/feedback/record[1]/row/policy_evaluated/dkim", "pass" },
        { "/feedback/record[1]/identifiers/envelope_to", "isp-b.net" },
        { "/feedback/record[1]/auth_results/dkim/selector", "sel1" },
        { "/feedback/record[2]/row/source_ip", "2001:db8:0:0:0:0:0:66" },
        { "/feedback/record[2]/row/policy_evaluated/disposition", "reject" },
        { "/feedback/record[2]/row/policy_evaluated/dkim", "fail" },
        { "count(/feedback/record[2]/auth_results/dkim)", "0" },
        { "count(/feedback/record[2]/identifiers/envelope_to)", "0" },
        { "/feedback/record[2]/auth_results/spf/scope", "mfrom" },
        { "/feedback/record[3]/row/source_ip", "198.51.100.7" },
        { "/feedback/record[3]/row/policy_evaluated/reason/type", "sampled_out" },
        { "/feedback/record[3]/row/policy_evaluated/reason/comment", "pct=50" },
        { "count(/feedback/record[3]/auth_results/dkim)", "2" },
        { "/feedback/record[3]/auth_results/dkim[1]/human_result", "body hash mismatch" },
        { "/feedback/record[3]/auth_results/spf/scope", "helo" },
        { "/feedback/record[3]/auth_results/spf/result", "softfail" },
        { "/feedback/record[3]/identifiers/envelope_from", "" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(checks); i++) {
        g_autofree char *got = xpath_string(doc, checks[i].expr);
        if (strcmp(got, checks[i].want) != 0)
            g_printerr("%s: \"%s\", want \"%s\"\n", checks[i].expr, got, checks[i].want);
        CU_ASSERT_STRING_EQUAL(got, checks[i].want);
    }
    xmlFreeDoc(doc);

    /* The same rows, the same bytes. */
    g_autoptr(MsDmarcReport) again = sample_report();
    g_autofree char *xml2 = ms_dmarc_report_to_xml(again, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(xml, xml2);
}

static void
test_schema_bites(void)
{
    /* Without envelope_from, or with a result outside the enumeration, or
     * with a compressed IPv6 address, the schema refuses the report. */
    g_autoptr(MsDmarcReport) r = sample_report();
    g_autofree char *xml = ms_dmarc_report_to_xml(r, NULL, NULL);
    static const struct {
        const char *from, *to;
    } breaks[] = {
        { "<envelope_from>example.com</envelope_from>", "" },
        { "<result>softfail</result>", "<result>maybe</result>" },
        { "2001:db8:0:0:0:0:0:66", "2001:db8::66" },
        { "<version>1.0</version>", "" },
        { "<p>reject</p>", "<p>block</p>" },
    };
    CU_ASSERT_EQUAL(validate(xml, strlen(xml)), 0);
    for (guint i = 0; i < G_N_ELEMENTS(breaks); i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(xml, breaks[i].from));
        g_auto(GStrv) parts = g_strsplit(xml, breaks[i].from, 2);
        g_autofree char *broken = g_strjoin(breaks[i].to, parts[0], parts[1], NULL);
        CU_ASSERT(validate_report(broken, strlen(broken), TRUE) > 0);
    }
}

static void
test_errors(void)
{
    g_autoptr(MsDmarcRecord) rec = ms_dmarc_record_parse("v=DMARC1; p=none", NULL);
    MsDmarcReportMetadata meta = { "o", "e@o.example", "https://o.example/dmarc", "id", NULL,
                                   0,   86399 };
    g_autoptr(MsDmarcReport) r = ms_dmarc_report_new(&meta, rec, "example.com");
    g_autoptr(GError) e1 = NULL;
    CU_ASSERT_PTR_NULL(ms_dmarc_report_to_xml(r, NULL, &e1));
    CU_ASSERT(g_error_matches(e1, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID));

    MsDmarcReportRow row = { .source_ip = "192.0.2.300", .count = 1, .header_from = "x.example" };
    ms_dmarc_report_add(r, &row);
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT_PTR_NULL(ms_dmarc_report_to_xml(r, NULL, &e2));
    CU_ASSERT(g_error_matches(e2, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID));
    CU_ASSERT_PTR_NOT_NULL(e2 ? strstr(e2->message, "192.0.2.300") : NULL);

    g_autoptr(MsDmarcReport) r2 = ms_dmarc_report_new(&meta, rec, "example.com");
    const MsDmarcReportDkim bad[] = { { "x.example", NULL, "ok", NULL } };
    MsDmarcReportRow row2 = { .source_ip = "192.0.2.1", .count = 1, .dkim = bad, .n_dkim = 1 };
    ms_dmarc_report_add(r2, &row2);
    g_autoptr(GError) e3 = NULL;
    CU_ASSERT_PTR_NULL(ms_dmarc_report_to_xml(r2, NULL, &e3));
    CU_ASSERT(g_error_matches(e3, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID));

    g_autoptr(MsDmarcReport) r3 = ms_dmarc_report_new(&meta, rec, "example.com");
    MsDmarcReportRow row3 = { .source_ip = "192.0.2.1", .count = 1, .override = "because" };
    ms_dmarc_report_add(r3, &row3);
    g_autoptr(GError) e4 = NULL;
    CU_ASSERT_PTR_NULL(ms_dmarc_report_to_xml(r3, NULL, &e4));
    CU_ASSERT(g_error_matches(e4, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID));

    /* extra_contact_info and a minimal row validate. */
    g_autoptr(MsDmarcReport) ok = ms_dmarc_report_new(&meta, rec, "example.com");
    MsDmarcReportRow min = { .source_ip = "192.0.2.1", .count = 1 };
    ms_dmarc_report_add(ok, &min);
    g_autofree char *xml = ms_dmarc_report_to_xml(ok, NULL, NULL);
    CU_ASSERT_EQUAL(validate(xml, strlen(xml)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<extra_contact_info>https://o.example/dmarc<"));
    /* The receiver's domain defaults to the organisation's name. */
    g_autofree char *name = ms_dmarc_report_file_name(ok);
    CU_ASSERT_STRING_EQUAL(name, "o!example.com!0!86399.xml");
}

static void
test_file(void)
{
    g_autoptr(MsDmarcReport) r = sample_report();
    g_autofree char *name = ms_dmarc_report_file_name(r);
    CU_ASSERT_STRING_EQUAL(name, "isp-b.net!example.com!1700000000!1700086399.xml");
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-dmarc-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *path = NULL;
    CU_ASSERT_TRUE(ms_dmarc_report_write(r, dir, &path, &error));
    g_assert_no_error(error);
    g_autofree char *expected = g_build_filename(dir, name, NULL);
    CU_ASSERT_STRING_EQUAL(path, expected);
    g_autofree char *text = NULL;
    gsize len = 0;
    CU_ASSERT_TRUE(g_file_get_contents(path, &text, &len, NULL));
    g_autofree char *xml = ms_dmarc_report_to_xml(r, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(text, xml);
    CU_ASSERT_EQUAL(validate(text, len), 0);
    g_unlink(path);
    g_rmdir(dir);
    /* A folder that is not there. */
    g_autoptr(GError) e2 = NULL;
    g_autofree char *missing = g_build_filename(dir, "nope", NULL);
    g_autofree char *p2 = NULL;
    CU_ASSERT_FALSE(ms_dmarc_report_write(r, missing, &p2, &e2));
    CU_ASSERT(g_error_matches(e2, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_WRITE));
    CU_ASSERT_PTR_NULL(p2);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "a report valid under RFC 7489 Appendix C", test_valid_report },
        { "the schema refuses broken reports", test_schema_bites },
        { "errors: no rows, bad address, unknown results", test_errors },
        { "the file name (7.2.1.1) and writing it", test_file },
        { NULL, NULL },
    };
    return ms_test_main("dmarc_report", cases);
}
