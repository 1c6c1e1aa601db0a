/* Tests of sender authentication in the simulated world (issue 19): the
 * scenario's TXT, SPF, DMARC, DKIM and DNSBL elements, senders that forge
 * or forward (a host's own MTA, a forwarding user, a list), and the
 * receiver's checks, end to end through a world built from a scenario. */
#include "testlib.h"

#include "mailsim/dns_codec.h"
#include "mailsim/mail_auth.h"
#include "mailsim/mail_store.h"
#include "mailsim/scenario.h"
#include "mailsim/world.h"

#include <string.h>

/* A small world: Alice at isp-a.net (smtp-a), a forwarding and list
 * service at alumni.example (fwd), the bank's MX (mx-b), an attacker
 * (evil, with its own MTA), a DNS registry. `zones_extra` goes into the
 * isp-a.net zone, `bank_zone` into bank.example's, `bank_server` into
 * the bank's <mailserver>, `tail` before </scenario>. */
static char *
world_xml(const char *isp_zone, const char *bank_zone, const char *isp_server,
          const char *bank_server, const char *tail)
{
    return g_strdup_printf(
        "<?xml version=\"1.0\"?>\n"
        "<scenario version=\"1\" name=\"auth\" seed=\"7\" until=\"2min\">\n"
        "<host id=\"pc-alice\" name=\"pc.alice.example\" role=\"client\" address=\"192.0.2.10\"/>\n"
        "<host id=\"r\" name=\"gw.example\" role=\"router\" address=\"192.0.2.1\"/>\n"
        "<host id=\"smtp-a\" name=\"smtp.isp-a.net\" role=\"mailserver\" address=\"192.0.2.25\"/>\n"
        "<host id=\"fwd\" name=\"mx.alumni.example\" role=\"mailserver\" "
        "address=\"198.51.100.25\"/>\n"
        "<host id=\"mx-b\" name=\"mx.bank.example\" role=\"mailserver\" "
        "address=\"203.0.113.25\"/>\n"
        "<host id=\"evil\" name=\"mail.evil.example\" role=\"mailserver\" "
        "address=\"203.0.113.99\"/>\n"
        "<host id=\"dns\" name=\"ns.example\" role=\"dns\" address=\"198.18.0.53\"/>\n"
        "<link a=\"pc-alice\" b=\"r\"/><link a=\"smtp-a\" b=\"r\"/><link a=\"fwd\" b=\"r\"/>\n"
        "<link a=\"mx-b\" b=\"r\"/><link a=\"dns\" b=\"r\"/><link a=\"evil\" b=\"r\"/>\n"
        "<dns mode=\"flat\" server=\"dns\"/>\n"
        "<zone name=\"isp-a.net\" server=\"dns\"><mx preference=\"10\" "
        "exchange=\"smtp.isp-a.net\"/>\n"
        "<a name=\"smtp.isp-a.net\" host=\"smtp-a\"/>%s</zone>\n"
        "<zone name=\"alumni.example\" server=\"dns\"><mx preference=\"10\" "
        "exchange=\"mx.alumni.example\"/>\n"
        "<a name=\"mx.alumni.example\" host=\"fwd\"/><spf ip4=\"198.51.100.25\"/></zone>\n"
        "<zone name=\"bank.example\" server=\"dns\"><mx preference=\"10\" "
        "exchange=\"mx.bank.example\"/>\n"
        "<a name=\"mx.bank.example\" host=\"mx-b\"/>%s</zone>\n"
        "<zone name=\"evil.example\" server=\"dns\"><a name=\"mail.evil.example\" host=\"evil\"/>"
        "</zone>\n"
        "<zone name=\"bl.example\" server=\"dns\"><dnsbl addresses=\"203.0.113.99\"/></zone>\n"
        "<mailserver host=\"smtp-a\" domains=\"isp-a.net\"><user name=\"alice\" "
        "password=\"pw\"/>%s</mailserver>\n"
        "<mailserver host=\"fwd\" domains=\"alumni.example\"><user name=\"bob\" "
        "forward=\"bob@bank.example\"/>\n"
        "<list name=\"staff\" members=\"bob@bank.example, carol@bank.example\" "
        "footer=\"Unsubscribe: staff-leave@alumni.example\"/></mailserver>\n"
        "<mailserver host=\"mx-b\" domains=\"bank.example\"><user name=\"bob\"/><user "
        "name=\"carol\"/><user name=\"ceo\" password=\"boss\"/>%s</mailserver>\n"
        "<mailserver host=\"evil\" domains=\"evil.example\"/>\n"
        "<client host=\"pc-alice\" user=\"alice@isp-a.net\" password=\"pw\" smtp=\"smtp-a\"/>\n"
        "%s\n</scenario>\n",
        isp_zone, bank_zone, isp_server, bank_server, tail);
}

static MsScenario *
load(const char *xml)
{
    g_autoptr(GError) err = NULL;
    MsScenario *sc = ms_scenario_load_memory(xml, strlen(xml), "auth.xml", &err);
    if (!sc)
        fprintf(stderr, "%s\n", err->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

/* Runs the world; returns it (caller frees) and the checks' text. */
static MsWorld *
run_world(const MsScenario *sc, GString *checks, gboolean *all)
{
    g_autoptr(GError) err = NULL;
    MsWorld *w = ms_world_new(sc, 0, &err);
    if (!w)
        fprintf(stderr, "%s\n", err->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, ms_world_default_until(w));
    gboolean ok = ms_world_check(w, checks);
    if (all)
        *all = ok;
    return w;
}

static const MsRcptRecord *
rcpt_of(MsWorld *w, const char *label, const char *address)
{
    MsMail *m = ms_world_mail(w);
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        if (strcmp(r->label, label) != 0)
            continue;
        for (guint i = 0; i < r->rcpts->len; i++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
            if (strcmp(rr->address, address) == 0)
                return rr;
        }
    }
    return NULL;
}

/* ---- scenario elements ------------------------------------------------- */

static const MsScenarioRecord *
find_txt(const MsScenario *sc, const char *owner)
{
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        for (guint k = 0; k < z->records->len; k++) {
            const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, k);
            if (r->type == MS_RECORD_TXT && strcmp(r->name, owner) == 0)
                return r;
        }
    }
    return NULL;
}

static void
test_scenario_records(void)
{
    g_autofree char *xml = world_xml(
        "<spf ip4=\"192.0.2.25, 192.0.2.26\" mx=\"yes\" include=\"_spf.example\" all=\"~all\"/>"
        "<dmarc p=\"quarantine\" sp=\"reject\" adkim=\"s\" pct=\"50\" rua=\"dmarc@isp-a.net\"/>"
        "<txt name=\"_verify.isp-a.net\">token-1</txt>",
        "<spf>v=spf1 a -all</spf>", "<dkim selector=\"s1\" key=\"ed25519\"/>",
        "<auth spf=\"on\" dmarc=\"on\" dnsbl=\"bl.example\" dnsbl-at=\"rcpt\"/>", "");
    g_autoptr(MsScenario) sc = load(xml);
    const MsScenarioRecord *spf = find_txt(sc, "isp-a.net");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spf);
    CU_ASSERT_STRING_EQUAL(spf->target,
                           "v=spf1 ip4:192.0.2.25 ip4:192.0.2.26 mx include:_spf.example ~all");
    const MsScenarioRecord *dm = find_txt(sc, "_dmarc.isp-a.net");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dm);
    CU_ASSERT_STRING_EQUAL(
        dm->target,
        "v=DMARC1; p=quarantine; sp=reject; adkim=s; pct=50; rua=mailto:dmarc@isp-a.net");
    CU_ASSERT_STRING_EQUAL(find_txt(sc, "_verify.isp-a.net")->target, "token-1");
    CU_ASSERT_STRING_EQUAL(find_txt(sc, "bank.example")->target, "v=spf1 a -all");
    /* RFC 5782 2.1: reversed octets under the list's zone */
    CU_ASSERT_PTR_NOT_NULL(find_txt(sc, "99.113.0.203.bl.example"));
    const MsScenarioMailserver *isp = &g_array_index(sc->mailservers, MsScenarioMailserver, 0);
    CU_ASSERT_EQUAL_FATAL(isp->dkim->len, 1);
    const MsScenarioDkim *k = &g_array_index(isp->dkim, MsScenarioDkim, 0);
    CU_ASSERT_STRING_EQUAL(k->domain, "isp-a.net");
    CU_ASSERT_STRING_EQUAL(k->selector, "s1");
    CU_ASSERT_EQUAL(k->key, MS_SCENARIO_DKIM_ED25519);
    CU_ASSERT(k->publish);
    const MsScenarioMailserver *bank = &g_array_index(sc->mailservers, MsScenarioMailserver, 2);
    CU_ASSERT(bank->auth.spf && bank->auth.dmarc && !bank->auth.dkim);
    CU_ASSERT(bank->auth.dnsbl_at_rcpt);
    CU_ASSERT_EQUAL(bank->auth.dnsbl->len, 1);
    const MsScenarioMailserver *fwd = &g_array_index(sc->mailservers, MsScenarioMailserver, 1);
    CU_ASSERT_STRING_EQUAL(g_array_index(fwd->users, MsScenarioUser, 0).forward,
                           "bob@bank.example");
    CU_ASSERT_EQUAL(fwd->lists->len, 1);
}

/* A 600-octet TXT goes into the zone in 255-octet strings, and a reader
 * joins them back. */
static void
test_long_txt_strings(void)
{
    g_autofree char *long_text = g_strnfill(600, 'x');
    g_autofree char *zone =
        g_strdup_printf("<txt name=\"big.isp-a.net\" value=\"%s\"/>", long_text);
    g_autofree char *xml = world_xml(zone, "", "", "", "");
    g_autoptr(MsScenario) sc = load(xml);
    CU_ASSERT_EQUAL(strlen(find_txt(sc, "big.isp-a.net")->target), 600);
    g_autoptr(MsDnsRecord) rec = ms_dns_record_new_txt("big.isp-a.net", 60, long_text);
    CU_ASSERT_EQUAL(rec->rdata.txt->len, 3);
    g_autoptr(GBytes) joined = ms_dns_record_txt_join(rec);
    CU_ASSERT_EQUAL(g_bytes_get_size(joined), 600);
}

/* Bad values are errors on their line and attribute. */
static void
test_scenario_errors(void)
{
    static const struct {
        const char *isp_zone, *isp_server, *tail, *needle;
    } cases[] = {
        { "<spf ip4=\"1.2.3.4\">v=spf1 -all</spf>", "", "", "both a record text and attributes" },
        { "<dmarc p=\"reject\" rua=\"not an address\"/>", "", "", "is not a report address" },
        { "<dmarc p=\"reject\" pct=\"101\"/>", "", "", "pct" },
        { "", "<dkim selector=\"s1\"/><dkim selector=\"s2\"/>", "", "already signs for" },
        { "", "<auth spf=\"on\"/><auth dkim=\"on\"/>", "", "given twice" },
        { "", "<list name=\"alice\" members=\"a@b.example\"/>", "", "also a <user>" },
        { "", "",
          "<message id=\"m\" from=\"x@y.example\" via=\"pc-alice\" to=\"bob@bank.example\"/>",
          "has no <mailserver>" },
        { "", "",
          "<message id=\"m\" from=\"alice@isp-a.net\" mail-from=\"x@y.example\" "
          "to=\"bob@bank.example\"/>",
          "expected via= as well" },
        { "<txt name=\"x.other.example\" value=\"v\"/>", "", "", "outside zone" },
        { "", "<dkim selector=\"s1\" private-key=\"no-such-file.pem\"/>", "", "private-key" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml =
            world_xml(cases[i].isp_zone, "", cases[i].isp_server, "", cases[i].tail);
        g_autoptr(GError) err = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_memory(xml, strlen(xml), "auth.xml", &err);
        CU_ASSERT_PTR_NULL(sc);
        if (!err || !strstr(err->message, cases[i].needle))
            fprintf(stderr, "case %zu: %s\n", i, err ? err->message : "(loaded)");
        CU_ASSERT(err && strstr(err->message, cases[i].needle));
        CU_ASSERT(err && strstr(err->message, "auth.xml:"));
    }
}

/* ---- senders that forge or forward ------------------------------------- */

/* A host's own MTA sends a From: of another domain straight to the MX; a
 * forward keeps the envelope sender and the message; a list sends from
 * its -bounces address with a tagged Subject and a footer. */
static void
test_direct_forward_list(void)
{
    g_autofree char *xml = world_xml(
        "", "", "", "",
        "<message id=\"m1\" from=\"alice@isp-a.net\" to=\"bob@alumni.example\" subject=\"Hi\" "
        "at=\"1s\">hello</message>\n"
        "<message id=\"m2\" from=\"alice@isp-a.net\" to=\"staff@alumni.example\" "
        "subject=\"News\" at=\"2s\">news</message>\n"
        "<message id=\"m3\" from=\"ceo@bank.example\" mail-from=\"x@evil.example\" via=\"evil\" "
        "to=\"bob@bank.example\" subject=\"Wire the money\" at=\"3s\">pay now</message>\n"
        "<expect kind=\"no-loss\"/>");
    g_autoptr(MsScenario) sc = load(xml);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean all = FALSE;
    g_autoptr(MsWorld) w = run_world(sc, checks, &all);
    CU_ASSERT(all);
    const MsRcptRecord *f = rcpt_of(w, "m1", "bob@alumni.example");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->state, MS_RCPT_DELIVERED);
    CU_ASSERT(strstr(f->detail, "forwarded to bob@bank.example") != NULL);
    const MsRcptRecord *b = rcpt_of(w, "m1", "bob@bank.example");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->state, MS_RCPT_DELIVERED);
    CU_ASSERT_PTR_NOT_NULL(rcpt_of(w, "m2", "carol@bank.example"));
    CU_ASSERT_EQUAL(rcpt_of(w, "m2", "carol@bank.example")->state, MS_RCPT_DELIVERED);
    CU_ASSERT_EQUAL(rcpt_of(w, "m3", "bob@bank.example")->state, MS_RCPT_DELIVERED);
    /* What Bob's and Carol's mailboxes hold. */
    MsMail *m = ms_world_mail(w);
    MsMailStore *store = ms_mail_server_store(m, ms_mail_server_by_host(m, 4));
    GPtrArray *bob = ms_mail_store_messages(store, "bob");
    CU_ASSERT_EQUAL_FATAL(bob->len, 3);
    gboolean fwd = FALSE, list = FALSE, forged = FALSE;
    for (guint i = 0; i < bob->len; i++) {
        const MsStoredMessage *sm = g_ptr_array_index(bob, i);
        g_autofree char *d =
            g_strndup(g_bytes_get_data(sm->data, NULL), g_bytes_get_size(sm->data));
        if (strstr(d, "Subject: Hi\r\n") && strstr(d, "Return-Path: <alice@isp-a.net>"))
            fwd = TRUE;
        if (strstr(d, "Subject: [staff] News\r\n") &&
            strstr(d, "Return-Path: <staff-bounces@alumni.example>") &&
            strstr(d, "List-Id: <staff.alumni.example>") &&
            strstr(d, "\r\n-- \r\nUnsubscribe: staff-leave@alumni.example\r\n"))
            list = TRUE;
        if (strstr(d, "From: ceo@bank.example\r\n") && strstr(d, "Return-Path: <x@evil.example>") &&
            strstr(d, "by mail.evil.example"))
            forged = TRUE;
    }
    CU_ASSERT(fwd);
    CU_ASSERT(list);
    CU_ASSERT(forged);
}

/* A forward to itself bounces as a loop rather than running forever. */
static void
test_forward_loop(void)
{
    g_autofree char *xml = world_xml("", "", "", "", "");
    g_autoptr(GString) s = g_string_new(xml);
    g_string_replace(s, "forward=\"bob@bank.example\"", "forward=\"bob@alumni.example\"", 1);
    g_string_replace(s, "</scenario>",
                     "<message id=\"m1\" from=\"alice@isp-a.net\" to=\"bob@alumni.example\" "
                     "at=\"1s\">x</message></scenario>",
                     1);
    g_autoptr(MsScenario) sc = load(s->str);
    g_autoptr(GString) checks = g_string_new(NULL);
    g_autoptr(MsWorld) w = run_world(sc, checks, NULL);
    const MsRcptRecord *r = rcpt_of(w, "m1", "bob@alumni.example");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->state, MS_RCPT_BOUNCED);
    CU_ASSERT_STRING_EQUAL(r->status, "5.4.6");
}

int
main(void)
{
    static const MsTestCase tests[] = {
        { "scenario: txt, spf, dmarc, dnsbl, dkim, auth, list, forward", test_scenario_records },
        { "scenario: a long TXT in 255-octet strings", test_long_txt_strings },
        { "scenario: bad auth elements name their line", test_scenario_errors },
        { "a host's own MTA, a forward and a list", test_direct_forward_list },
        { "a forwarding loop bounces with 5.4.6", test_forward_loop },
        { NULL, NULL },
    };
    return ms_test_main("auth_world", tests);
}
