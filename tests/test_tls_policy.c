/* The downgrade attacker and the TLS defences of the mail layer, end to end
 * through lesson 13 (scenarios/teaching/13-downgrade.xml) and variants of it:
 * a strip-starttls fault on a router or a link, MTA-STS in enforce and
 * testing mode, a sender whose own level requires TLS, and the <expect>
 * kinds clear-hops, encrypted and tls-deferred failing when what they
 * claim is false. Bad <fault> and <mta-sts> input exits 2 naming file:line. */
#include "testlib.h"

#include <glib/gstdio.h>
#include <string.h>

#define LESSON "scenarios/teaching/13-downgrade.xml"

/* Lesson 13's text with `from` replaced by `to` (each must occur once). */
static char *
variant(const char *from, const char *to)
{
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(LESSON, &text, NULL, NULL));
    char *at = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    CU_ASSERT_PTR_NULL(strstr(at + 1, from));
    GString *s = g_string_new_len(text, at - text);
    g_string_append(s, to);
    g_string_append(s, at + strlen(from));
    return g_string_free(s, FALSE);
}

/* text with `from` (once) replaced by `to`. */
static char *
replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    GString *s = g_string_new_len(text, at - text);
    g_string_append(s, to);
    g_string_append(s, at + strlen(from));
    return g_string_free(s, FALSE);
}

/* Runs `mailsim run` on xml (a file is written for it); returns the exit
 * status and the narration. */
static int
run_text(const char *xml, char **out)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-tls-policy-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *path = g_build_filename(dir, "lesson.xml", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, xml, -1, NULL));
    const char *argv[] = { ms_test_mailsim_path(), "run", path, "--no-colour", NULL };
    g_autofree char *err = NULL;
    int rc = ms_test_spawn(argv, out, &err);
    if (err && *err)
        fprintf(stderr, "\n%s\n", err);
    g_unlink(path);
    g_rmdir(dir);
    return rc;
}

/* Whether the check on lesson line `line` printed `verdict` ("PASS"/"FAIL"). */
static gboolean
check_is(const char *out, guint line, const char *verdict)
{
    g_autofree char *want = g_strdup_printf("%s  ", verdict);
    g_autofree char *where = g_strdup_printf(".xml:%u: ", line);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    for (char **l = lines; *l; l++)
        if (g_str_has_prefix(*l, want) && strstr(*l, where))
            return TRUE;
    return FALSE;
}

/* The line number of the first line of the lesson holding `text`. */
static guint
line_of(const char *text)
{
    g_autofree char *all = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(LESSON, &all, NULL, NULL));
    const char *at = strstr(all, text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    guint n = 1;
    for (const char *p = all; p < at; p++)
        n += *p == '\n';
    return n;
}

static void
test_lesson_story(void)
{
    g_autofree char *xml = NULL, *out = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(LESSON, &xml, NULL, NULL));
    CU_ASSERT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "rewrites mx.isp-b.net's EHLO reply on its way: STARTTLS becomes "
                          "XXXXXXXA") != NULL);
    CU_ASSERT(strstr(out, "the attacker on the router ix.transit.example read the whole "
                          "message") != NULL);
    CU_ASSERT(strstr(out, "MTA-STS policy of safe-mail.example requires TLS: STARTTLS was not "
                          "offered by mx.safe-mail.example") != NULL);
    CU_ASSERT(strstr(out, "(TLS is required, but was not offered by host "
                          "mx.safe-mail.example[203.0.113.25])") != NULL);
    CU_ASSERT(strstr(out, "still says id=20261207: smtp.isp-a.net keeps its cached policy") !=
              NULL);
    CU_ASSERT_EQUAL(strstr(out, "FAIL "), NULL);
}

/* Without MTA-STS on the sender the second message goes in clear too: the
 * lesson's checks on m2 fail. */
static void
test_without_mta_sts_checks_fail(void)
{
    g_autofree char *xml = variant("mta-sts=\"true\"", "mta-sts=\"false\"");
    g_autofree char *out = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(check_is(out, line_of("kind=\"tls-deferred\" message=\"m2\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"encrypted\" message=\"m2\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"clear-hops\" message=\"m1\""), "PASS"));
    CU_ASSERT_EQUAL(strstr(out, "looks for an MTA-STS policy"), NULL);
}

/* Without the attacker both messages travel inside TLS: the checks on m1
 * fail, and nobody read anything. */
static void
test_without_attacker(void)
{
    g_autofree char *xml =
        variant("<fault kind=\"strip-starttls\" target=\"r-ix\" at=\"0s\" duration=\"5min\"/>", "");
    g_autofree char *out = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(check_is(out, line_of("kind=\"clear-hops\" message=\"m1\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"encrypted\" message=\"m1\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"tls-deferred\" message=\"m2\""), "FAIL"));
    CU_ASSERT_EQUAL(strstr(out, "XXXXXXXA"), NULL);
    CU_ASSERT_EQUAL(strstr(out, "read the whole message"), NULL);
}

/* The attacker on a link of the path does the same as in the router; on a
 * link off the path it sees nothing. */
static void
test_attacker_on_link(void)
{
    g_autofree char *xml = variant("target=\"r-ix\"", "target=\"r-isp~r-ix\"");
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "an attacker on the link gw.isp-a.net~ix.transit.example rewrites") !=
              NULL);
    g_autofree char *off = variant("target=\"r-ix\"", "target=\"r-isp~dns\"");
    g_autofree char *out2 = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(off, &out2), 0);
    CU_ASSERT_EQUAL(strstr(out2, "XXXXXXXA"), NULL);
    CU_ASSERT(check_is(out2, line_of("kind=\"clear-hops\" message=\"m1\""), "FAIL"));
}

/* testing mode: the policy only reports; the mail goes in clear. */
static void
test_testing_mode(void)
{
    g_autofree char *xml = variant("mode=\"enforce\"", "mode=\"testing\"");
    g_autofree char *out = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "the MTA-STS policy of safe-mail.example is in testing mode: it would "
                          "have refused this clear-text hop") != NULL);
    CU_ASSERT(check_is(out, line_of("kind=\"tls-deferred\" message=\"m2\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"encrypted\" message=\"m2\""), "FAIL"));
}

/* A sender whose own level is "encrypt" refuses to go on in clear for
 * every domain, MTA-STS or not: m1 is held back too. */
static void
test_sender_level_encrypt(void)
{
    g_autofree char *xml =
        variant("smtp-security-level=\"may\"", "smtp-security-level=\"encrypt\"");
    g_autofree char *out = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "smtp.isp-a.net requires TLS (its smtp security level): STARTTLS was "
                          "not offered by mx.isp-b.net (an attacker on the router "
                          "ix.transit.example had removed it)") != NULL);
    CU_ASSERT(check_is(out, line_of("kind=\"clear-hops\" message=\"m1\""), "FAIL"));
    CU_ASSERT(check_is(out, line_of("kind=\"tls-deferred\" message=\"m2\""), "PASS"));
}

/* Lesson 13 with DANE (RFC 7672) in place of MTA-STS: the sender at level
 * dane, Carol's zone signed and publishing a TLSA record for her MX's key. */
static char *
dane_variant(const char *zone_attrs, const char *tlsa, gboolean attacker)
{
    g_autofree char *a =
        variant("smtp-security-level=\"may\" mta-sts=\"true\"", "smtp-security-level=\"dane\"");
    g_autofree char *b =
        replace_once(a, "<zone name=\"safe-mail.example\" server=\"dns\" ttl=\"1h\">", zone_attrs);
    g_autofree char *c = replace_once(
        b,
        "<mta-sts id=\"20261207\" mode=\"enforce\" mx=\"mx.safe-mail.example\" max-age=\"86400\"/>",
        tlsa);
    return attacker ? g_steal_pointer(&c)
                    : replace_once(c,
                                   "<fault kind=\"strip-starttls\" target=\"r-ix\" at=\"0s\" "
                                   "duration=\"5min\"/>",
                                   "");
}

static void
test_dane(void)
{
    /* signed, matching: the stripped session is refused, the later one
     * authenticated by the record */
    g_autofree char *xml =
        dane_variant("<zone name=\"safe-mail.example\" server=\"dns\" ttl=\"1h\" dnssec=\"true\">",
                     "<tlsa host=\"mx-c\"/>", TRUE);
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "asks DNS for the TLSA records of _25._tcp.mx.safe-mail.example") !=
              NULL);
    CU_ASSERT(strstr(out, "mx.safe-mail.example publishes signed TLSA records, so TLS is "
                          "mandatory (DANE, RFC 7672 2.2): STARTTLS was not offered") != NULL);
    CU_ASSERT(strstr(out, "DANE check of mx.safe-mail.example: authenticated") != NULL);
    CU_ASSERT(strstr(out, "mx.isp-b.net publishes no TLSA record: DANE does not apply") != NULL);
    CU_ASSERT_EQUAL(strstr(out, "FAIL "), NULL);

    /* not signed: the records cannot be trusted, m2 goes in clear */
    g_autofree char *unsigned_xml =
        dane_variant("<zone name=\"safe-mail.example\" server=\"dns\" ttl=\"1h\">",
                     "<tlsa host=\"mx-c\"/>", TRUE);
    g_autofree char *out2 = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(unsigned_xml, &out2), 0);
    CU_ASSERT(strstr(out2, "come from a zone without DNSSEC") != NULL);
    CU_ASSERT(check_is(out2, line_of("kind=\"tls-deferred\" message=\"m2\""), "FAIL"));
    CU_ASSERT(check_is(out2, line_of("kind=\"encrypted\" message=\"m2\""), "FAIL"));

    /* a record for another server's key, no attacker: the handshake fails
     * the DANE check and the message stays queued */
    g_autofree char *wrong_xml =
        dane_variant("<zone name=\"safe-mail.example\" server=\"dns\" ttl=\"1h\" dnssec=\"true\">",
                     "<tlsa host=\"mx-c\" key-of=\"mx-b\"/>", FALSE);
    g_autofree char *out3 = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(wrong_xml, &out3), 0);
    CU_ASSERT(strstr(out3, "DANE check of mx.safe-mail.example: failed") != NULL);
    CU_ASSERT(strstr(out3, "certificate verification failed: DANE: ") != NULL);
    CU_ASSERT(check_is(out3, line_of("kind=\"delivered\" message=\"m2\""), "FAIL"));
}

/* The attacker that lets the offer through and answers STARTTLS itself
 * with 454: the opportunistic sender goes on in clear, the MTA-STS sender
 * defers; every check of the lesson still holds. */
static void
test_attacker_answers_starttls(void)
{
    g_autofree char *xml =
        variant("target=\"r-ix\" at=\"0s\"", "target=\"r-ix\" reply=\"454\" at=\"0s\"");
    g_autofree char *out = NULL;
    CU_ASSERT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out, "keeps smtp.isp-a.net's STARTTLS from reaching mx.isp-b.net and answers "
                          "it itself with 454") != NULL);
    CU_ASSERT_EQUAL(strstr(out, "XXXXXXXA"), NULL);
    CU_ASSERT(strstr(out, "MTA-STS policy of safe-mail.example requires TLS: STARTTLS was "
                          "refused with 454 by mx.safe-mail.example (an attacker on the router "
                          "ix.transit.example had answered it)") != NULL);
    /* the opportunistic hop says why it went in clear: not a missing offer */
    CU_ASSERT(strstr(out, "in the clear (its STARTTLS command was refused with 454, and "
                          "opportunistic TLS goes on in clear)") != NULL);
    CU_ASSERT_EQUAL(strstr(out, "listed no STARTTLS"), NULL);
    CU_ASSERT_EQUAL(strstr(out, "FAIL "), NULL);
}

/* RFC 8461 4.1: an MX host the policy does not name gets no mail under
 * enforce (m2 stays queued, even with no attacker), and is only reported
 * under testing. */
static void
test_mx_not_in_policy(void)
{
    g_autofree char *a = variant("mx=\"mx.safe-mail.example\"", "mx=\"*.other.example\"");
    g_autofree char *xml = replace_once(
        a, "<fault kind=\"strip-starttls\" target=\"r-ix\" at=\"0s\" duration=\"5min\"/>", "");
    g_autofree char *out = NULL;
    CU_ASSERT_NOT_EQUAL(run_text(xml, &out), 0);
    CU_ASSERT(strstr(out,
                     "mx.safe-mail.example is not among the MX hosts the MTA-STS policy of "
                     "safe-mail.example names (RFC 8461 4.1): the policy is enforced") != NULL);
    CU_ASSERT(strstr(out, "(MTA-STS policy of safe-mail.example does not allow MX host "
                          "mx.safe-mail.example)") != NULL);
    CU_ASSERT(check_is(out, line_of("kind=\"delivered\" message=\"m2\""), "FAIL"));
    g_autofree char *testing = replace_once(xml, "mode=\"enforce\"", "mode=\"testing\"");
    g_autofree char *out2 = NULL;
    run_text(testing, &out2);
    CU_ASSERT(strstr(out2, "the policy is in testing mode, so it is only reported") != NULL);
    CU_ASSERT(check_is(out2, line_of("kind=\"delivered\" message=\"m2\""), "PASS"));
}

/* Bad input names the file and the line, exit 2. */
static void
test_bad_input(void)
{
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        { "target=\"r-ix\"", "target=\"r-nowhere\"", "unknown host 'r-nowhere'" },
        { "target=\"r-ix\"", "target=\"r-ix\" reply=\"250\"", "attribute 'reply'" },
        { "target=\"r-ix\"", "target=\"r-ix~mx-c\"", "no link between 'r-ix' and 'mx-c'" },
        { "id=\"20261207\"", "id=\"2026-12-07\"", "makes no valid MTA-STS record" },
        { " mx=\"mx.safe-mail.example\"", "", "attribute 'mx': missing" },
        { "max-age=\"86400\"", "max-age=\"31557601\"", "max-age" },
        { "mode=\"enforce\"", "mode=\"always\"", "mode" },
        { "<mta-sts id=\"20261207\" mode=\"enforce\" mx=\"mx.safe-mail.example\" "
          "max-age=\"86400\"/>",
          "<tlsa host=\"mx-b\"/>", "outside zone 'safe-mail.example'" },
        { "<mta-sts id=\"20261207\" mode=\"enforce\" mx=\"mx.safe-mail.example\" "
          "max-age=\"86400\"/>",
          "<tlsa host=\"mx-c\" key-of=\"r-c\"/>", "host 'r-c' has no mail server speaking TLS" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml = variant(cases[i].from, cases[i].to);
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp("mailsim-tls-policy-XXXXXX", &error);
        g_autofree char *path = g_build_filename(dir, "bad.xml", NULL);
        CU_ASSERT_FATAL(g_file_set_contents(path, xml, -1, NULL));
        const char *argv[] = { ms_test_mailsim_path(), "run", path, "-q", NULL };
        g_autofree char *out = NULL, *err = NULL;
        int rc = ms_test_spawn(argv, &out, &err);
        CU_ASSERT_EQUAL(rc, 2);
        guint line = line_of(cases[i].from);
        g_autofree char *want = g_strdup_printf("%s:%u:", path, line);
        gboolean ok = strstr(err, want) && strstr(err, cases[i].says);
        CU_ASSERT(ok);
        if (!ok)
            fprintf(stderr, "\ncase %u: want '%s' and '%s' in:\n%s\n", i, want, cases[i].says, err);
        g_unlink(path);
        g_rmdir(dir);
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "lesson 13: stripped, read, refused, delivered", test_lesson_story },
        { "without MTA-STS the checks fail", test_without_mta_sts_checks_fail },
        { "without the attacker the checks fail", test_without_attacker },
        { "an attacker on a link, on and off the path", test_attacker_on_link },
        { "MTA-STS testing mode only reports", test_testing_mode },
        { "a sender at level encrypt defers", test_sender_level_encrypt },
        { "DANE: signed, unsigned, mismatched", test_dane },
        { "MTA-STS: an MX host the policy does not name", test_mx_not_in_policy },
        { "the attacker answers STARTTLS with 454", test_attacker_answers_starttls },
        { "bad <fault> and <mta-sts> input", test_bad_input },
        { NULL, NULL },
    };
    return ms_test_main("tls_policy", cases);
}
