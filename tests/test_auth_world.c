/* Tests of sender authentication in the simulated world (issue 19): the
 * scenario's TXT, SPF, DMARC, DKIM and DNSBL elements, senders that forge
 * or forward (a host's own MTA, a forwarding user, a list), and the
 * receiver's checks, end to end through a world built from a scenario. */
#include "testlib.h"
#include "imap_testkit.h"

#include "mailsim/dns_codec.h"
#include "mailsim/mail_auth.h"
#include "mailsim/mail_store.h"
#include "mailsim/recorder.h"
#include "mailsim/scenario.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
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
        { "", "",
          "<message id=\"m\" from=\"alice@isp-a.net\" to=\"bob@bank.example\"/>"
          "<expect kind=\"auth\" message=\"m\" check=\"spf\" result=\"pass\" at=\"mx-z\"/>",
          "no host 'mx-z'" },
        { "", "",
          "<message id=\"m\" from=\"alice@isp-a.net\" to=\"bob@bank.example\"/>"
          "<expect kind=\"delivered\" message=\"m\" at=\"mx-b\"/>",
          "only kind=\"auth\"" },
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

/* ---- the receiver's checks --------------------------------------------- */

#define BANK_AUTH "<auth spf=\"on\" dkim=\"on\" dmarc=\"on\"/>"
#define FORGED                                                                                     \
    "<message id=\"phish\" from=\"ceo@bank.example\" mail-from=\"ceo@bank.example\" "              \
    "via=\"evil\" to=\"bob@bank.example\" subject=\"Urgent: wire transfer\" at=\"1s\">Pay "        \
    "now.</message>"

/* The stored copy of bob@bank.example's `n`th message, as text. */
static char *
stored(MsWorld *w, const char *user, guint n, guint *flags)
{
    MsMail *m = ms_world_mail(w);
    MsMailStore *store = ms_mail_server_store(m, ms_mail_server_by_host(m, 4));
    GPtrArray *box = ms_mail_store_messages(store, user);
    if (n >= box->len)
        return NULL;
    const MsStoredMessage *sm = g_ptr_array_index(box, n);
    if (flags)
        *flags = sm->flags;
    return g_strndup(g_bytes_get_data(sm->data, NULL), g_bytes_get_size(sm->data));
}

static MsMailAuthLedger
ledger_of(MsWorld *w, const char *label)
{
    MsMail *m = ms_world_mail(w);
    MsMailAuthLedger l = { 0 };
    for (guint id = 1; id <= ms_mail_n_messages(m); id++)
        if (strcmp(ms_mail_message(m, id)->label, label) == 0)
            ms_mail_auth_ledger(m, id, &l);
    return l;
}

/* The forged boss: with the bank's DMARC p=reject and the checks on, the
 * phishing message bounces with 550 5.7.1; with DMARC off at the
 * receiver, or no DMARC record, it lands. */
static void
test_forged_boss(void)
{
    static const struct {
        const char *zone, *auth;
        gboolean rejected;
        const char *spf, *dmarc;
    } cases[] = {
        { "<spf mx=\"yes\"/><dmarc p=\"reject\"/>", BANK_AUTH, TRUE, "fail", "fail" },
        { "<spf mx=\"yes\"/><dmarc p=\"reject\"/>", "<auth spf=\"on\" dkim=\"on\"/>", FALSE, "fail",
          "" },
        { "<spf mx=\"yes\"/>", BANK_AUTH, FALSE, "fail", "none" },
        { "<spf mx=\"yes\"/><dmarc p=\"reject\"/>", "", FALSE, "", "" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml = world_xml("", cases[i].zone, "", cases[i].auth, FORGED);
        g_autoptr(MsScenario) sc = load(xml);
        g_autoptr(GString) checks = g_string_new(NULL);
        g_autoptr(MsWorld) w = run_world(sc, checks, NULL);
        const MsRcptRecord *r = rcpt_of(w, "phish", "bob@bank.example");
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        if (cases[i].rejected) {
            CU_ASSERT_EQUAL(r->state, MS_RCPT_BOUNCED);
            CU_ASSERT_STRING_EQUAL(r->status, "5.7.1");
            CU_ASSERT(r->detail && strstr(r->detail, "550 5.7.1") && strstr(r->detail, "DMARC"));
        } else {
            CU_ASSERT_EQUAL(r->state, MS_RCPT_DELIVERED);
        }
        MsMailAuthLedger l = ledger_of(w, "phish");
        CU_ASSERT_STRING_EQUAL(l.spf, cases[i].spf);
        CU_ASSERT_STRING_EQUAL(l.dmarc, cases[i].dmarc);
        CU_ASSERT_EQUAL(l.action, cases[i].rejected ? MS_MAIL_AUTH_REJECT : MS_MAIL_AUTH_ACCEPT);
        g_autofree char *d = stored(w, "bob", 0, NULL);
        if (!cases[i].rejected && *cases[i].auth) {
            /* RFC 8601: the receiver's header on top of the delivered copy */
            CU_ASSERT(d && strstr(d, "Authentication-Results: mx.bank.example;"));
            CU_ASSERT(d && strstr(d, "spf=fail"));
            CU_ASSERT(d && strstr(d, "dkim=none"));
        }
        if (!*cases[i].auth)
            CU_ASSERT(d && !strstr(d, "Authentication-Results:"));
    }
}

/* Forwarding keeps the message: SPF fails at the bank (the forwarder's
 * address is not in isp-a.net's record), DKIM still verifies, so DMARC
 * passes through DKIM alignment. The list rewrites Subject and body: DKIM
 * fails, and with p=reject the bank refuses it. For RSA and Ed25519. */
static void
test_forwarding_and_lists(void)
{
    static const char *const keys[] = { "rsa", "ed25519" };
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *dk = g_strdup_printf("<dkim selector=\"s1\" key=\"%s\"/>", keys[i]);
        g_autofree char *xml =
            world_xml("<spf ip4=\"192.0.2.25\"/><dmarc p=\"reject\"/>", "", dk, BANK_AUTH,
                      "<message id=\"m1\" from=\"alice@isp-a.net\" to=\"bob@alumni.example\" "
                      "subject=\"Hi\" at=\"1s\">hello</message>\n"
                      "<message id=\"m2\" from=\"alice@isp-a.net\" to=\"staff@alumni.example\" "
                      "subject=\"News\" at=\"2s\">news</message>\n"
                      "<expect kind=\"auth\" message=\"m1\" check=\"spf\" result=\"fail\"/>\n"
                      "<expect kind=\"auth\" message=\"m1\" check=\"dkim\" result=\"pass\"/>\n"
                      "<expect kind=\"auth\" message=\"m1\" check=\"dmarc\" result=\"pass\"/>\n"
                      "<expect kind=\"auth\" message=\"m2\" check=\"dkim\" result=\"fail\"/>\n"
                      "<expect kind=\"auth\" message=\"m2\" check=\"dmarc\" result=\"fail\"/>\n"
                      "<expect kind=\"no-loss\"/>");
        g_autoptr(MsScenario) sc = load(xml);
        g_autoptr(GString) checks = g_string_new(NULL);
        gboolean all = FALSE;
        g_autoptr(MsWorld) w = run_world(sc, checks, &all);
        if (!all)
            fprintf(stderr, "%s", checks->str);
        CU_ASSERT(all);
        CU_ASSERT_EQUAL(rcpt_of(w, "m1", "bob@bank.example")->state, MS_RCPT_DELIVERED);
        CU_ASSERT_EQUAL(rcpt_of(w, "m2", "bob@bank.example")->state, MS_RCPT_BOUNCED);
        g_autofree char *d = stored(w, "bob", 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT(strstr(d, "DKIM-Signature: v=1;") != NULL);
        CU_ASSERT(strstr(d, i ? "a=ed25519-sha256" : "a=rsa-sha256") != NULL);
        CU_ASSERT(strstr(d, "spf=fail") != NULL);
        CU_ASSERT(strstr(d, "dkim=pass header.d=isp-a.net") != NULL);
        CU_ASSERT(strstr(d, "dmarc=pass") != NULL);
        MsMailAuthStats st;
        ms_mail_auth_get_stats(ms_world_mail(w), &st);
        CU_ASSERT_EQUAL(st.signed_messages, 2);
        CU_ASSERT_EQUAL(st.rejected, 1);
        CU_ASSERT_EQUAL(st.dkim[1], 1); /* pass */
        CU_ASSERT_EQUAL(st.dkim[2], 1); /* fail */
    }
}

/* Two servers check the forwarded message: the forwarder (SPF passes for
 * Alice's ISP) and the bank (SPF fails: the forwarder is not in isp-a.net's
 * record). <expect kind="auth" at=...> reads the named server's checks;
 * without at= the last server's; a server that made none is "not
 * checked". The ledger lists both checks, oldest first. */
static void
test_auth_expect_at(void)
{
    g_autofree char *xml = world_xml(
        "<spf ip4=\"192.0.2.25\"/><dmarc p=\"reject\"/>", "", "<dkim selector=\"s1\"/>",
        BANK_AUTH,
        "<message id=\"m1\" from=\"alice@isp-a.net\" to=\"bob@alumni.example\" "
        "subject=\"Hi\" at=\"1s\">hello</message>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"spf\" result=\"pass\" at=\"fwd\"/>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"spf\" result=\"fail\" at=\"mx-b\"/>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"spf\" result=\"fail\"/>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"dkim\" result=\"pass\" at=\"fwd\"/>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"dmarc\" result=\"pass\" at=\"mx-b\"/>\n"
        "<expect kind=\"auth\" message=\"m1\" check=\"spf\" result=\"pass\" at=\"smtp-a\"/>");
    g_autoptr(GString) x = g_string_new(xml);
    g_string_replace(x, "forward=\"bob@bank.example\"/>",
                     "forward=\"bob@bank.example\"/><auth spf=\"on\" dkim=\"on\" dmarc=\"on\"/>",
                     1);
    g_autoptr(MsScenario) sc = load(x->str);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean all = TRUE;
    g_autoptr(MsWorld) w = run_world(sc, checks, &all);
    CU_ASSERT_FALSE(all); /* the last expectation: smtp-a checked nothing */
    g_auto(GStrv) lines = g_strsplit(checks->str, "\n", -1);
    guint pass = 0, fail = 0;
    for (guint i = 0; lines[i]; i++) {
        if (g_str_has_prefix(lines[i], "PASS") && strstr(lines[i], "m1"))
            pass++;
        if (g_str_has_prefix(lines[i], "FAIL")) {
            fail++;
            CU_ASSERT(strstr(lines[i], "smtp.isp-a.net") && strstr(lines[i], "not checked"));
        }
    }
    if (pass != 5 || fail != 1)
        fprintf(stderr, "%s", checks->str);
    CU_ASSERT_EQUAL(pass, 5);
    CU_ASSERT_EQUAL(fail, 1);
    CU_ASSERT(strstr(checks->str, "the spf check mx.alumni.example made of mail m1 says pass") !=
              NULL);
    MsMail *m = ms_world_mail(w);
    guint32 id = 0;
    for (guint i = 1; i <= ms_mail_n_messages(m) && !id; i++)
        if (strcmp(ms_mail_message(m, i)->label, "m1") == 0)
            id = i;
    CU_ASSERT_EQUAL(ms_mail_auth_n_ledgers(m, id), 2);
    MsMailAuthLedger first, second, last;
    CU_ASSERT(ms_mail_auth_ledger_nth(m, id, 0, &first));
    CU_ASSERT(ms_mail_auth_ledger_nth(m, id, 1, &second));
    CU_ASSERT_FALSE(ms_mail_auth_ledger_nth(m, id, 2, &last));
    ms_mail_auth_ledger(m, id, &last);
    CU_ASSERT_EQUAL(first.where, 3); /* fwd: the fourth host */
    CU_ASSERT_EQUAL(second.where, 4);
    CU_ASSERT_EQUAL(last.where, second.where);
    CU_ASSERT(first.at < second.at);
    CU_ASSERT_STRING_EQUAL(first.spf, "pass");
    CU_ASSERT_STRING_EQUAL(second.spf, "fail");
}

/* p=quarantine: delivered, into Junk: the store marks it (so POP3, which
 * has only INBOX, still sees it), and over IMAP it is in the Junk folder
 * (\Junk, RFC 6154), not in INBOX. The IMAP glue is the one the server's
 * IMAP service uses (sim/mail/mail_imap.c over its store). */
static void
test_quarantine(void)
{
    g_autofree char *xml =
        world_xml("", "<spf mx=\"yes\"/><dmarc p=\"quarantine\"/>", "", BANK_AUTH,
                  FORGED "<expect kind=\"quarantined\" message=\"phish\"/>");
    g_autoptr(MsScenario) sc = load(xml);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean all = FALSE;
    g_autoptr(MsWorld) w = run_world(sc, checks, &all);
    CU_ASSERT(all);
    guint flags = 0;
    g_autofree char *d = stored(w, "bob", 0, &flags);
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT(flags & MS_STORE_FLAG_JUNK);

    MsMail *m = ms_world_mail(w);
    ImapBox b = { ms_mail_server_store(m, ms_mail_server_by_host(m, 4)), NULL };
    b.imap = ms_mail_imap_new(b.store, 1, 0);
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    GString *o = imap_run_on(&b, &cfg,
                             "a LOGIN bob \"\"\r\nb LIST \"\" *\r\nc EXAMINE INBOX\r\n"
                             "d EXAMINE Junk\r\ne FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
                             0, NULL);
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\nb OK"));
    CU_ASSERT(imap_has(o, "* 0 EXISTS\r\n"));
    CU_ASSERT(imap_has(o, "* 1 EXISTS\r\n"));
    CU_ASSERT(imap_has(o, "Subject: Urgent: wire transfer\r\n\r\n)\r\ne OK"));
    g_string_free(o, TRUE);
    ms_mail_imap_free(b.imap);
}

/* A blocklisted client gets 554 5.7.1 naming the list, at the greeting or
 * at RCPT; the same client is served when the list is not consulted. */
static void
test_dnsbl(void)
{
    static const struct {
        const char *auth;
        gboolean refused;
    } cases[] = {
        { "<auth dnsbl=\"bl.example\"/>", TRUE },
        { "<auth dnsbl=\"bl.example\" dnsbl-at=\"rcpt\"/>", TRUE },
        { "<auth dnsbl=\"other.example\"/>", FALSE },
        { "", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml =
            world_xml("", "<zone-placeholder/>", "", cases[i].auth,
                      FORGED "<message id=\"ok\" from=\"alice@isp-a.net\" to=\"bob@bank.example\" "
                             "at=\"2s\">fine</message>");
        g_autoptr(GString) x = g_string_new(xml);
        g_string_replace(x, "<zone-placeholder/>", "", 1);
        g_autoptr(MsScenario) sc = load(x->str);
        g_autoptr(GString) checks = g_string_new(NULL);
        g_autoptr(MsWorld) w = run_world(sc, checks, NULL);
        const MsRcptRecord *r = rcpt_of(w, "phish", "bob@bank.example");
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(r->state, cases[i].refused ? MS_RCPT_BOUNCED : MS_RCPT_DELIVERED);
        if (cases[i].refused) {
            CU_ASSERT_STRING_EQUAL(r->status, "5.7.1");
            CU_ASSERT(r->detail && strstr(r->detail, "554 5.7.1") &&
                      strstr(r->detail, "blocked using bl.example"));
            CU_ASSERT_STRING_EQUAL(ledger_of(w, "phish").dnsbl, "listed");
        }
        /* a client that is not listed is served */
        CU_ASSERT_EQUAL(rcpt_of(w, "ok", "bob@bank.example")->state, MS_RCPT_DELIVERED);
    }
}

/* Where the blocklist is asked, in the capture: at connect, before the
 * server says anything to the client (postscreen); with dnsbl-at="rcpt",
 * after the client's first RCPT TO reached the server and before that
 * RCPT's reply, which is the 554 naming the list (Postfix reject_rbl_client
 * in smtpd_recipient_restrictions). The client's other commands (MAIL,
 * and DATA pipelined after the RCPT) are answered as usual. */
static void
test_dnsbl_when_asked(void)
{
    for (int at_rcpt = 0; at_rcpt < 2; at_rcpt++) {
        g_autofree char *xml = world_xml("", "", "",
                                         at_rcpt ? "<auth dnsbl=\"bl.example\" dnsbl-at=\"rcpt\"/>"
                                                 : "<auth dnsbl=\"bl.example\"/>",
                                         FORGED);
        g_autoptr(MsScenario) sc = load(xml);
        g_autoptr(GError) err = NULL;
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        g_autoptr(MsRecorder) rec = ms_recorder_new(0, 0, FALSE);
        ms_recorder_attach(rec, ms_net_trace(ms_world_net(w)));
        ms_world_run(w, ms_world_default_until(w));
        MsHostId evil = 5, mx = 4;
        gint query = -1, first_server_line = -1, rcpt_in = -1, refusal = -1;
        for (guint i = 0; i < ms_recorder_len(rec); i++) {
            const MsRecord *r = ms_recorder_get(rec, i);
            if (r->kind != MS_TRACE_PROTO_LINE || !r->text || !r->proto)
                continue;
            if (strcmp(r->proto, "dns") == 0 && r->outgoing && r->host == mx &&
                strstr(r->text, "99.113.0.203.bl.example") && query < 0)
                query = (gint) i;
            if (strcmp(r->proto, "smtp") != 0 || r->host != mx || r->peer != evil)
                continue;
            if (r->outgoing && first_server_line < 0)
                first_server_line = (gint) i;
            if (!r->outgoing && g_str_has_prefix(r->text, "RCPT TO:") && rcpt_in < 0)
                rcpt_in = (gint) i;
            if (r->outgoing && g_str_has_prefix(r->text, "554 5.7.1") && refusal < 0)
                refusal = (gint) i;
        }
        CU_ASSERT_FATAL(query >= 0 && first_server_line >= 0 && refusal >= 0);
        if (at_rcpt) {
            CU_ASSERT(rcpt_in >= 0 && rcpt_in < query);
            CU_ASSERT(first_server_line < query); /* greeted first */
            CU_ASSERT(query < refusal);
            const MsRecord *r = ms_recorder_get(rec, (guint) refusal);
            CU_ASSERT(strstr(r->text, "blocked using bl.example") != NULL);
        } else {
            CU_ASSERT(query < first_server_line);
            CU_ASSERT_EQUAL(refusal, first_server_line); /* the 554 greeting */
            CU_ASSERT_EQUAL(rcpt_in, -1);                /* never got that far */
        }
        CU_ASSERT_STRING_EQUAL(ledger_of(w, "phish").dnsbl, "listed");
        CU_ASSERT_EQUAL(rcpt_of(w, "phish", "bob@bank.example")->state, MS_RCPT_BOUNCED);
    }
}

/* reject_sender_login_mismatch: Alice may not send as the CEO. */
static void
test_sender_login_mismatch(void)
{
    for (int on = 0; on < 2; on++) {
        g_autofree char *xml =
            world_xml("", "", on ? "<auth sender-login-match=\"on\"/>" : "", "",
                      "<message id=\"m\" from=\"ceo@bank.example\" client=\"pc-alice\" "
                      "to=\"bob@bank.example\" at=\"1s\">Pay now.</message>");
        g_autoptr(MsScenario) sc = load(xml);
        g_autoptr(GString) checks = g_string_new(NULL);
        g_autoptr(MsWorld) w = run_world(sc, checks, NULL);
        const MsRcptRecord *r = rcpt_of(w, "m", "bob@bank.example");
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(r->state, on ? MS_RCPT_REFUSED : MS_RCPT_DELIVERED);
        MsMailAuthStats st;
        ms_mail_auth_get_stats(ms_world_mail(w), &st);
        CU_ASSERT_EQUAL(st.login_mismatch, on ? 1 : 0);
    }
}

/* --dmarc-reports: one aggregate report per receiver and domain with rua=,
 * its row saying who sent, what was done and why. */
static void
test_dmarc_reports(void)
{
    g_autofree char *xml =
        world_xml("<spf ip4=\"192.0.2.25\"/><dmarc p=\"none\" rua=\"dmarc@isp-a.net\"/>",
                  "<spf mx=\"yes\"/><dmarc p=\"reject\" rua=\"mailto:reports@bank.example\"/>",
                  "<dkim selector=\"s1\" key=\"ed25519\"/>", BANK_AUTH,
                  FORGED "<message id=\"m1\" from=\"alice@isp-a.net\" to=\"bob@bank.example\" "
                         "at=\"2s\">hi</message>");
    g_autoptr(MsScenario) sc = load(xml);
    g_autoptr(GString) checks = g_string_new(NULL);
    g_autoptr(MsWorld) w = run_world(sc, checks, NULL);
    CU_ASSERT_EQUAL(ms_mail_auth_n_report_rows(ms_world_mail(w)), 2);
    g_autofree char *dir = g_dir_make_tmp("auth-world-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    guint files = 0;
    g_autoptr(GError) err = NULL;
    CU_ASSERT(ms_world_write_dmarc_reports(w, dir, &files, &err));
    CU_ASSERT_EQUAL(files, 2);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint seen = 0;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        CU_ASSERT(g_file_get_contents(path, &text, NULL, NULL));
        /* RFC 7489 7.2.1.1: receiver!policy domain!begin!end.xml */
        if (g_str_has_prefix(name, "bank.example!bank.example!")) {
            CU_ASSERT(strstr(text, "<source_ip>203.0.113.99</source_ip>") != NULL);
            CU_ASSERT(strstr(text, "<disposition>reject</disposition>") != NULL);
            CU_ASSERT(strstr(text, "<header_from>bank.example</header_from>") != NULL);
            seen++;
        } else if (g_str_has_prefix(name, "bank.example!isp-a.net!")) {
            CU_ASSERT(strstr(text, "<source_ip>192.0.2.25</source_ip>") != NULL);
            CU_ASSERT(strstr(text, "<disposition>none</disposition>") != NULL);
            seen++;
        }
        g_unlink(path);
    }
    CU_ASSERT_EQUAL(seen, 2);
    g_rmdir(dir);
}

/* `mailsim validate`: a record meant as SPF or DMARC that cannot parse
 * is a warning on its own line; good ones are not. */
static void
test_record_warnings(void)
{
    g_autofree char *xml =
        world_xml("\n<spf>v=spf1 ip4:1.2.3 -all</spf>\n<txt name=\"_dmarc.isp-a.net\">v=DMARC1; "
                  "p=sometimes</txt>\n<txt name=\"many.isp-a.net\">v=spf1 include:a.example "
                  "include:b.example include:c.example include:d.example include:e.example "
                  "include:f.example include:g.example include:h.example include:i.example "
                  "include:j.example include:k.example -all</txt>\n",
                  "<spf mx=\"yes\"/><dmarc p=\"reject\"/>", "", "", "");
    g_autoptr(MsScenario) sc = load(xml);
    g_autoptr(GPtrArray) w = ms_scenario_warnings(sc);
    guint spf = 0, dmarc = 0, many = 0;
    for (guint i = 0; i < w->len; i++) {
        const char *t = w->pdata[i];
        if (strstr(t, "auth.xml:15: warning: SPF record at isp-a.net cannot be parsed"))
            spf++;
        else if (strstr(t, "auth.xml:16: warning: DMARC record at _dmarc.isp-a.net"))
            dmarc++;
        else if (strstr(t, "auth.xml:17: warning: SPF record at many.isp-a.net has 11 terms"))
            many++;
        else if (strstr(t, "SPF") || strstr(t, "DMARC"))
            fprintf(stderr, "unexpected: %s\n", t);
    }
    CU_ASSERT_EQUAL(spf, 1);
    CU_ASSERT_EQUAL(dmarc, 1);
    CU_ASSERT_EQUAL(many, 1);
    for (guint i = 0; i < w->len; i++)
        CU_ASSERT(!strstr(w->pdata[i], "bank.example"));
}

/* <generate auth="ed25519">: every zone publishes SPF and DMARC, every MX
 * signs and checks; the world runs with every message signed and checked. */
static void
test_generated_world(void)
{
    const char *xml =
        "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"g\" seed=\"1\" until=\"3h\">\n"
        "<generate domains=\"4\" routers=\"8\" users=\"8\" messages=\"40\" duration=\"1h\" "
        "seed=\"1\" auth=\"ed25519\"/>\n</scenario>\n";
    g_autoptr(MsScenario) sc = load(xml);
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        if (!g_str_has_prefix(z->name, "d"))
            continue;
        g_autofree char *dm = g_strdup_printf("_dmarc.%s", z->name);
        CU_ASSERT_PTR_NOT_NULL(find_txt(sc, z->name));
        CU_ASSERT_PTR_NOT_NULL(find_txt(sc, dm));
    }
    guint signing = 0;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *m = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        if (m->domains->len == 0)
            continue;
        CU_ASSERT_EQUAL(m->dkim->len, 1);
        CU_ASSERT(m->auth.spf && m->auth.dkim && m->auth.dmarc);
        signing++;
    }
    CU_ASSERT_EQUAL(signing, 4);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean all = FALSE;
    g_autoptr(MsWorld) w = run_world(sc, checks, &all);
    CU_ASSERT(all);
    MsMailAuthStats st;
    ms_mail_auth_get_stats(ms_world_mail(w), &st);
    MsMailStats ms;
    ms_mail_get_stats(ms_world_mail(w), &ms);
    CU_ASSERT(st.signed_messages > 0);
    CU_ASSERT_EQUAL(st.signed_messages, ms.messages);
    /* every message from outside passes all three checks */
    CU_ASSERT_EQUAL(st.dmarc[1], st.dkim[1]);
    CU_ASSERT_EQUAL(st.dmarc[2], 0);
    CU_ASSERT_EQUAL(st.rejected, 0);
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
        { "the forged boss: DMARC p=reject bounces it, off lets it land", test_forged_boss },
        { "forwarding breaks SPF, DKIM survives; a list breaks DKIM", test_forwarding_and_lists },
        { "expect auth at= a named server", test_auth_expect_at },
        { "p=quarantine: into Junk", test_quarantine },
        { "a blocklisted sender: 554 5.7.1 at connect or RCPT", test_dnsbl },
        { "a blocklist asked at connect or at RCPT, in the capture", test_dnsbl_when_asked },
        { "reject_sender_login_mismatch", test_sender_login_mismatch },
        { "DMARC aggregate reports", test_dmarc_reports },
        { "validate warns of SPF and DMARC records that cannot parse", test_record_warnings },
        { "a generated world with auth on every domain", test_generated_world },
        { NULL, NULL },
    };
    return ms_test_main("auth_world", tests);
}
