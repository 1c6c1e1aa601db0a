/* Tests of the scenario loader (include/mailsim/scenario.h) and of
 * `mailsim validate`: good files load with the expected contents; each file
 * of the bad corpus (tests/scenarios/bad/, expected "LINE: text" in a comment
 * on its first line) fails with that text at that line; hostile inputs are
 * refused without a crash; boundaries are tested on both sides. Run from the
 * repository root. */
#include "testlib.h"
#include "mailsim/embedded.h"
#include "mailsim/generate.h"
#include "mailsim/scenario.h"
#include "mailsim/scenario_override.h"
#include "mailsim/units.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GOOD_DIR "tests/scenarios/good"
#define BAD_DIR  "tests/scenarios/bad"
#define WARN_DIR "tests/scenarios/warn"

static MsScenario *
load_string(const char *xml, GError **error)
{
    return ms_scenario_load_memory(xml, strlen(xml), "mem.xml", error);
}

/* A scenario of two routers r1, r2 plus `extra` elements. */
static char *
with_routers(const char *extra)
{
    return g_strdup_printf(
        "<scenario version=\"1\" name=\"t\">\n"
        "<host id=\"r1\" role=\"router\" address=\"10.0.0.1\"/>\n"
        "<host id=\"r2\" role=\"router\" address=\"10.0.0.2\"/>\n%s\n</scenario>\n",
        extra);
}

static gboolean
loads(const char *extra)
{
    g_autofree char *xml = with_routers(extra);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = load_string(xml, &error);
    if (!sc && g_getenv("MS_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", error->message);
    return sc != NULL;
}

static const MsScenarioHost *
host(const MsScenario *sc, guint i)
{
    return &g_array_index(sc->hosts, MsScenarioHost, i);
}

static void
test_first_email(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(GOOD_DIR "/first-email.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(sc->name, "first-email");
    CU_ASSERT_STRING_EQUAL(sc->title, "The first email");
    CU_ASSERT_EQUAL(sc->seed, 7);
    CU_ASSERT_EQUAL(sc->until, MS_TIME_H);
    CU_ASSERT_EQUAL(sc->routing, MS_ROUTING_HOPS);
    CU_ASSERT_EQUAL(sc->dns_mode, MS_DNS_FLAT);
    CU_ASSERT_EQUAL(sc->dns_server, ms_scenario_find_host(sc, "dns-reg"));
    /* counts */
    CU_ASSERT_EQUAL(sc->hosts->len, 7);
    CU_ASSERT_EQUAL(sc->links->len, 6);
    CU_ASSERT_EQUAL(sc->zones->len, 2);
    CU_ASSERT_EQUAL(sc->mailservers->len, 3);
    CU_ASSERT_EQUAL(sc->clients->len, 2);
    CU_ASSERT_EQUAL(sc->messages->len, 2);
    CU_ASSERT_EQUAL(sc->checks->len, 1);
    CU_ASSERT_EQUAL(sc->workloads->len, 2);
    CU_ASSERT_EQUAL(sc->faults->len, 5);
    CU_ASSERT_EQUAL(sc->expects->len, 7);
    CU_ASSERT_EQUAL(sc->outputs->len, 1);
    /* hosts */
    const MsScenarioHost *alice = host(sc, 0);
    CU_ASSERT_STRING_EQUAL(alice->id, "pc-alice");
    CU_ASSERT_STRING_EQUAL(alice->name, "pc.alice-home.example");
    CU_ASSERT_EQUAL(alice->role, MS_HOST_CLIENT);
    CU_ASSERT_EQUAL(alice->address, 0xC000020Au);
    CU_ASSERT(alice->has_position && alice->x == 40 && alice->y == 300);
    CU_ASSERT_EQUAL(alice->line, 5);
    CU_ASSERT_EQUAL(alice->client, 0);
    CU_ASSERT_STRING_EQUAL(host(sc, 1)->name, "pc-bob"); /* name defaults to id */
    CU_ASSERT_FALSE(host(sc, 1)->has_position);
    /* links: units converted, defaults applied, ends resolved */
    const MsScenarioLink *l0 = &g_array_index(sc->links, MsScenarioLink, 0);
    CU_ASSERT_EQUAL(l0->a, 0);
    CU_ASSERT_EQUAL(l0->b, (guint) ms_scenario_find_host(sc, "r1"));
    CU_ASSERT_EQUAL(l0->latency, 5 * MS_TIME_MS);
    CU_ASSERT_EQUAL(l0->bandwidth_bps, 10000000);
    CU_ASSERT_EQUAL(l0->mtu, 1500);
    CU_ASSERT_EQUAL(l0->queue_bytes, 65536);
    CU_ASSERT_EQUAL(l0->line, 12);
    const MsScenarioLink *l1 = &g_array_index(sc->links, MsScenarioLink, 1);
    CU_ASSERT_EQUAL(l1->latency, 2500 * MS_TIME_US);
    CU_ASSERT_EQUAL(l1->bandwidth_bps, 1000000000);
    CU_ASSERT_EQUAL(l1->queue_packets, 100);
    CU_ASSERT_EQUAL(l1->queue_bytes, 0);
    const MsScenarioLink *l2 = &g_array_index(sc->links, MsScenarioLink, 2);
    CU_ASSERT_EQUAL(l2->latency, MS_TIME_MS);
    CU_ASSERT_EQUAL(l2->bandwidth_bps, 100000000);
    CU_ASSERT_DOUBLE_EQUAL(g_array_index(sc->links, MsScenarioLink, 3).loss, 0.01, 1e-12);
    CU_ASSERT_EQUAL(g_array_index(sc->links, MsScenarioLink, 5).mtu, 576);
    /* zones and records */
    const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, 0);
    CU_ASSERT_STRING_EQUAL(z->name, "diversicomcorp.com"); /* lower-cased */
    CU_ASSERT_EQUAL(z->ttl, 30 * MS_TIME_MIN);
    CU_ASSERT_EQUAL(z->records->len, 4);
    const MsScenarioRecord *mx = &g_array_index(z->records, MsScenarioRecord, 0);
    CU_ASSERT_EQUAL(mx->type, MS_RECORD_MX);
    CU_ASSERT_EQUAL(mx->preference, 10);
    CU_ASSERT_STRING_EQUAL(mx->target, "mx.diversicomcorp.com");
    const MsScenarioRecord *a = &g_array_index(z->records, MsScenarioRecord, 1);
    CU_ASSERT_EQUAL(a->host, ms_scenario_find_host(sc, "mx-corp"));
    CU_ASSERT_EQUAL(a->address, 0xCB007119u); /* 203.0.113.25 taken from the host */
    const MsScenarioRecord *www = &g_array_index(z->records, MsScenarioRecord, 2);
    CU_ASSERT_EQUAL(www->host, -1);
    CU_ASSERT_EQUAL(www->address, 0xCB007150u);
    CU_ASSERT_EQUAL(www->ttl, 5 * MS_TIME_MIN);
    const MsScenarioRecord *ns = &g_array_index(z->records, MsScenarioRecord, 3);
    CU_ASSERT_EQUAL(ns->type, MS_RECORD_NS);
    CU_ASSERT_STRING_EQUAL(ns->target, "ns1.diversicomcorp.com");
    const MsScenarioZone *z2 = &g_array_index(sc->zones, MsScenarioZone, 1);
    CU_ASSERT_EQUAL(g_array_index(z2->records, MsScenarioRecord, 0).type, MS_RECORD_NULLMX);
    /* mail servers: users, policy with unset fields, replies */
    const MsScenarioMailserver *isp = &g_array_index(sc->mailservers, MsScenarioMailserver, 0);
    CU_ASSERT_EQUAL(isp->host, (guint) ms_scenario_find_host(sc, "smtp-isp"));
    CU_ASSERT_EQUAL(host(sc, isp->host)->mailserver, 0);
    CU_ASSERT_EQUAL(isp->domains->len, 2);
    CU_ASSERT_STRING_EQUAL(isp->domains->pdata[1], "isp-a.com");
    CU_ASSERT_EQUAL(isp->profile, MS_MTA_POSTFIX);
    CU_ASSERT_EQUAL(isp->resolver, ms_scenario_find_host(sc, "dns-reg"));
    CU_ASSERT_EQUAL(isp->smarthost, ms_scenario_find_host(sc, "relay1"));
    CU_ASSERT_EQUAL(isp->backup_for->len, 0);
    /* a relay as backup MX: backup-for= lowered, in file order */
    const MsScenarioMailserver *backup = &g_array_index(sc->mailservers, MsScenarioMailserver, 2);
    CU_ASSERT_EQUAL_FATAL(backup->backup_for->len, 2);
    CU_ASSERT_STRING_EQUAL(backup->backup_for->pdata[0], "elsewhere.example");
    CU_ASSERT_STRING_EQUAL(backup->backup_for->pdata[1], "diversicomcorp.com");
    CU_ASSERT_EQUAL(g_array_index(isp->users, MsScenarioUser, 0).quota, 10000000);
    CU_ASSERT(ms_scenario_policy_has(&isp->policy, MS_POLICY_RETRY_FIRST));
    CU_ASSERT_EQUAL(isp->policy.retry_first, 5 * MS_TIME_MIN);
    CU_ASSERT_EQUAL(isp->policy.give_up, 5 * MS_TIME_DAY);
    CU_ASSERT(ms_scenario_policy_has(&isp->policy, MS_POLICY_GREYLIST));
    CU_ASSERT_FALSE(isp->policy.greylist);
    CU_ASSERT_FALSE(ms_scenario_policy_has(&isp->policy, MS_POLICY_RETRY_MAX));
    CU_ASSERT_FALSE(ms_scenario_policy_has(&isp->policy, MS_POLICY_MAX_SIZE));
    const MsScenarioReply *r = &g_array_index(isp->replies, MsScenarioReply, 0);
    CU_ASSERT_EQUAL(r->command, MS_REPLY_RCPT);
    CU_ASSERT_EQUAL(r->code, 451);
    CU_ASSERT_STRING_EQUAL(r->enhanced, "4.3.0");
    CU_ASSERT_STRING_EQUAL(r->from, "*");
    CU_ASSERT_EQUAL(r->end, 10 * MS_TIME_MIN);
    CU_ASSERT_DOUBLE_EQUAL(r->rate, 0.5, 1e-12);
    const MsScenarioMailserver *relay = &g_array_index(sc->mailservers, MsScenarioMailserver, 2);
    CU_ASSERT_EQUAL(relay->domains->len, 0);
    CU_ASSERT_EQUAL(relay->policy.line, 0);
    CU_ASSERT_EQUAL(relay->policy.set, 0);
    CU_ASSERT_EQUAL(relay->profile, MS_MTA_OPENSMTPD);
    /* clients */
    const MsScenarioClient *c0 = &g_array_index(sc->clients, MsScenarioClient, 0);
    CU_ASSERT_STRING_EQUAL(c0->user, "alice@isp-a.net"); /* domain lowered */
    CU_ASSERT_EQUAL(c0->mailbox_server, 0);
    CU_ASSERT_EQUAL(c0->mailbox_user, 0);
    CU_ASSERT_EQUAL(c0->pop3, ms_scenario_find_host(sc, "smtp-isp"));
    CU_ASSERT_EQUAL(c0->check_every, 5 * MS_TIME_MIN);
    CU_ASSERT_TRUE(c0->keep);
    const MsScenarioClient *c1 = &g_array_index(sc->clients, MsScenarioClient, 1);
    CU_ASSERT_EQUAL(c1->mailbox_user, 1);
    CU_ASSERT_EQUAL(c1->pop3, -1);
    /* messages */
    const MsScenarioMessage *m1 = &g_array_index(sc->messages, MsScenarioMessage, 0);
    CU_ASSERT_EQUAL(m1->to->len, 2);
    CU_ASSERT_STRING_EQUAL(m1->to->pdata[1], "bob@diversicomcorp.com");
    CU_ASSERT_EQUAL(m1->cc->len, 0);
    CU_ASSERT_EQUAL(m1->size, 2048);
    CU_ASSERT_EQUAL(m1->sender_client, 0);
    CU_ASSERT_STRING_EQUAL(m1->body, "Hello sales, & hello Bob.");
    const MsScenarioMessage *m2 = &g_array_index(sc->messages, MsScenarioMessage, 1);
    CU_ASSERT_EQUAL(m2->at, 1500 * MS_TIME_MS);
    CU_ASSERT_PTR_NULL(m2->body);
    CU_ASSERT_EQUAL(g_array_index(sc->checks, MsScenarioCheck, 0).client, 1);
    /* workloads */
    const MsWorkloadSpec *w0 = &g_array_index(sc->workloads, MsWorkloadSpec, 0);
    CU_ASSERT_DOUBLE_EQUAL(w0->rate_per_s, 120.0 / 3600, 1e-12);
    CU_ASSERT_EQUAL(w0->size_dist, MS_WORKLOAD_SIZE_LOGNORMAL);
    CU_ASSERT_DOUBLE_EQUAL(w0->size_a, 8, 1e-12);
    CU_ASSERT_EQUAL(w0->from_server, 0);
    CU_ASSERT_EQUAL(w0->to_server, 1);
    const MsWorkloadSpec *w1 = &g_array_index(sc->workloads, MsWorkloadSpec, 1);
    CU_ASSERT_EQUAL(w1->to_server, -1);
    CU_ASSERT_EQUAL(w1->end, MS_TIME_H); /* the run's until */
    CU_ASSERT_EQUAL(w1->size_dist, MS_WORKLOAD_SIZE_FIXED);
    /* faults */
    const MsScenarioFault *f0 = &g_array_index(sc->faults, MsScenarioFault, 0);
    CU_ASSERT_EQUAL(f0->kind, MS_FAULT_HOST_DOWN);
    CU_ASSERT_EQUAL(f0->host, ms_scenario_find_host(sc, "mx-corp"));
    CU_ASSERT_EQUAL(f0->duration, 20 * MS_TIME_MIN);
    const MsScenarioFault *f1 = &g_array_index(sc->faults, MsScenarioFault, 1);
    CU_ASSERT_EQUAL(f1->link, 3); /* relay1~r1 written backwards */
    CU_ASSERT_EQUAL(f1->duration, MS_TIME_INFINITE);
    CU_ASSERT_DOUBLE_EQUAL(g_array_index(sc->faults, MsScenarioFault, 2).rate, 0.3, 1e-12);
    const MsScenarioFault *f4 = &g_array_index(sc->faults, MsScenarioFault, 4);
    CU_ASSERT(f4->mailserver == 1 && f4->user == 0);
    /* expectations */
    const MsScenarioExpect *e0 = &g_array_index(sc->expects, MsScenarioExpect, 0);
    CU_ASSERT(e0->kind == MS_EXPECT_DELIVERED && e0->message == 0 && e0->within == 2 * MS_TIME_S);
    CU_ASSERT_EQUAL(e0->count, -1);
    const MsScenarioExpect *e1 = &g_array_index(sc->expects, MsScenarioExpect, 1);
    CU_ASSERT(e1->message == 1 && strcmp(e1->status, "5.1.1") == 0);
    CU_ASSERT_EQUAL(g_array_index(sc->expects, MsScenarioExpect, 3).count, 3);
    CU_ASSERT_EQUAL(g_array_index(sc->expects, MsScenarioExpect, 5).client, 1);
    const MsScenarioOutput *o = &g_array_index(sc->outputs, MsScenarioOutput, 0);
    CU_ASSERT_STRING_EQUAL(o->pcap, "run.pcapng");
}

static void
test_defaults(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(GOOD_DIR "/minimal.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_EQUAL(sc->seed, 1);
    CU_ASSERT_EQUAL(sc->until, MS_TIME_INFINITE);
    CU_ASSERT_EQUAL(sc->dns_mode, MS_DNS_NONE);
    CU_ASSERT_EQUAL(sc->routing, MS_ROUTING_LATENCY);
    CU_ASSERT_STRING_EQUAL(sc->title, "");
    const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, 0);
    CU_ASSERT_EQUAL(l->latency, MS_TIME_MS);
    CU_ASSERT_EQUAL(l->bandwidth_bps, 100000000);
    CU_ASSERT_EQUAL(l->mtu, 1500);
    CU_ASSERT_EQUAL(l->queue_bytes, 64 * 1024);
    CU_ASSERT_EQUAL(l->loss, 0.0);
}

static void
test_all_good_files(void)
{
    g_autoptr(GDir) dir = g_dir_open(GOOD_DIR, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    guint n = 0;
    for (const char *name; (name = g_dir_read_name(dir));) {
        if (!g_str_has_suffix(name, ".xml"))
            continue;
        g_autofree char *path = g_build_filename(GOOD_DIR, name, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_file(path, &error);
        CU_ASSERT_PTR_NOT_NULL(sc);
        if (!sc)
            fprintf(stderr, "%s\n", error->message);
        n++;
    }
    CU_ASSERT(n >= 2);
}

/* Each bad file starts with "<!-- expect: LINE: TEXT -->"; loading it must
 * fail with an error line "PATH:LINE: ..." that contains TEXT. */
static void
test_bad_corpus(void)
{
    g_autoptr(GDir) dir = g_dir_open(BAD_DIR, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    guint n = 0;
    for (const char *name; (name = g_dir_read_name(dir));) {
        if (!g_str_has_suffix(name, ".xml"))
            continue;
        g_autofree char *path = g_build_filename(BAD_DIR, name, NULL);
        g_autofree char *text = NULL;
        CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
        guint line = 0;
        char want[512] = "";
        int got = sscanf(text, "<!-- expect: %u: %511[^\n]", &line, want);
        CU_ASSERT_EQUAL(got, 2);
        char *end = strstr(want, " -->");
        if (end)
            *end = '\0';
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_file(path, &error);
        CU_ASSERT_PTR_NULL(sc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT(g_error_matches(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_INVALID));
        g_autofree char *prefix = g_strdup_printf("%s:%u: ", path, line);
        gboolean found = FALSE;
        g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);
        for (char **l = lines; *l; l++) {
            CU_ASSERT(g_str_has_prefix(*l, path)); /* every line names the file */
            if (g_str_has_prefix(*l, prefix) && strstr(*l, want))
                found = TRUE;
        }
        CU_ASSERT(found);
        if (!found)
            fprintf(stderr, "%s: want line %u '%s', got:\n%s\n", name, line, want, error->message);
        n++;
    }
    CU_ASSERT(n >= 15);
}

static void
test_all_errors_at_once(void)
{
    const char *xml =
        "<scenario version=\"1\" name=\"x\">\n"                   /* 1 */
        "<host id=\"a\" role=\"router\" address=\"10.0.0.1\"/>\n" /* 2 */
        "<host id=\"a\" role=\"router\" address=\"10.0.0.9\"/>\n" /* 3 duplicate id */
        "<host id=\"c\" role=\"router\" address=\"10.0.0.1\"/>\n" /* 4 duplicate address */
        "<link a=\"a\" b=\"zz\"/>\n"                              /* 5 unknown host */
        "<link a=\"a\" b=\"c\" loss=\"-0.1\" mtu=\"10\"/>\n"      /* 6 two errors */
        "<bogus/>\n"                                              /* 7 schema */
        "</scenario>\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = load_string(xml, &error);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 6);
    static const char *const prefixes[] = { "mem.xml:3: ", "mem.xml:4: ", "mem.xml:5: ",
                                            "mem.xml:6: ", "mem.xml:6: ", "mem.xml:7: " };
    for (guint i = 0; i < 6 && lines[i]; i++)
        CU_ASSERT(g_str_has_prefix(lines[i], prefixes[i]));
}

/* ---- hostile input -------------------------------------------------------- */

static void
expect_refused(const char *data, gsize len, const char *want)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(data, len, "hostile.xml", &error);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT(strstr(error->message, want) != NULL);
    if (!strstr(error->message, want))
        fprintf(stderr, "want '%s', got: %.300s\n", want, error->message);
}

static void
test_billion_laughs(void)
{
    g_autoptr(GString) s = g_string_new("<!DOCTYPE scenario [\n<!ENTITY l0 \"lol\">\n");
    for (int i = 1; i <= 10; i++) {
        g_string_append_printf(s, "<!ENTITY l%d \"", i);
        for (int j = 0; j < 10; j++)
            g_string_append_printf(s, "&l%d;", i - 1);
        g_string_append(s, "\">\n");
    }
    g_string_append(s,
                    "]>\n<scenario version=\"1\" name=\"&l10;\"><title>&l10;</title></scenario>\n");
    expect_refused(s->str, s->len, "hostile.xml:2: DOCTYPE declares entity 'l0'");
    /* a parameter entity is refused the same way */
    const char *pe =
        "<!DOCTYPE scenario [\n<!ENTITY % p \"x\">\n]>\n<scenario version=\"1\" name=\"x\"/>";
    expect_refused(pe, strlen(pe), "entity declarations are refused");
}

static void
test_external_entity(void)
{
    const char *xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE scenario [\n"
                      "<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
                      "<scenario version=\"1\" name=\"&xxe;\"/>\n";
    expect_refused(xxe, strlen(xxe), "hostile.xml:3: DOCTYPE declares entity 'xxe'");
    /* an external DTD is neither fetched nor read */
    const char *dtd = "<!DOCTYPE scenario SYSTEM \"http://127.0.0.1:1/x.dtd\">\n"
                      "<scenario version=\"1\" name=\"&undeclared;\"/>\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(dtd, strlen(dtd), "h.xml", &error);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT_PTR_NOT_NULL(error);
    /* nor does a general entity reference to /etc/passwd leak into errors */
    CU_ASSERT(error && !strstr(error->message, "root:"));
}

static void
test_deep_nesting(void)
{
    g_autoptr(GString) s = g_string_new("<scenario version=\"1\" name=\"x\">\n");
    for (int i = 0; i < 100000; i++)
        g_string_append(s, "<a>");
    expect_refused(s->str, s->len, "nested too deeply");
    /* just inside the bound: refused by the schema, not by the guard */
    g_autoptr(GString) ok = g_string_new("<scenario version=\"1\" name=\"x\">");
    for (int i = 1; i < MS_SCENARIO_MAX_DEPTH; i++)
        g_string_append(ok, "<title>");
    for (int i = 1; i < MS_SCENARIO_MAX_DEPTH; i++)
        g_string_append(ok, "</title>");
    g_string_append(ok, "</scenario>");
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(ok->str, ok->len, "d.xml", &error);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT(error && !strstr(error->message, "nested too deeply"));
}

static void
test_huge_values(void)
{
    /* a 10 MB attribute value */
    gsize n = 10 * 1024 * 1024;
    g_autoptr(GString) s = g_string_sized_new(n + 200);
    g_string_append(s, "<scenario version=\"1\" name=\"");
    for (gsize i = 0; i < n; i++)
        g_string_append_c(s, 'a');
    g_string_append(s, "\"/>");
    expect_refused(s->str, s->len, "too long");
    /* an attribute of exactly MS_SCENARIO_MAX_ATTR_LEN bytes passes the guard,
     * one more does not */
    for (guint extra = 0; extra <= 1; extra++) {
        g_autofree char *name = g_strnfill(MS_SCENARIO_MAX_ATTR_LEN + extra, 'n');
        g_autofree char *xml = g_strdup_printf("<scenario version=\"1\" name=\"%s\"/>", name);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = load_string(xml, &error);
        CU_ASSERT_EQUAL(sc != NULL, extra == 0);
    }
    /* a file above the size limit is refused before parsing */
    gsize big = MS_SCENARIO_MAX_FILE_SIZE + 1;
    g_autofree char *blob = g_malloc(big);
    memset(blob, ' ', big);
    expect_refused(blob, big, "too large");
}

static void
test_bad_bytes(void)
{
    const char utf8[] = "<scenario version=\"1\" name=\"x\">\n<title>\xff\xfe</title></scenario>";
    expect_refused(utf8, sizeof utf8 - 1, "hostile.xml:2: malformed XML");
    const char nul[] = "<scenario version=\"1\"\0 name=\"x\"/>";
    expect_refused(nul, sizeof nul - 1, "malformed XML");
    expect_refused("", 0, "empty file");
    expect_refused("<", 1, "malformed XML");
    const char *latin1 = "<?xml version=\"1.0\" encoding=\"nonsense-42\"?><scenario/>";
    expect_refused(latin1, strlen(latin1), "hostile.xml:1:");
    /* truncations of a good file never crash and never load */
    g_autofree char *good = NULL;
    gsize len = 0;
    CU_ASSERT_FATAL(g_file_get_contents(GOOD_DIR "/first-email.xml", &good, &len, NULL));
    for (gsize cut = 0; cut < len - 20; cut += 97) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_memory(good, cut, "cut.xml", &error);
        CU_ASSERT_PTR_NULL(sc);
    }
}

static void
test_files(void)
{
    g_autoptr(GError) e1 = NULL;
    CU_ASSERT_PTR_NULL(ms_scenario_load_file("tests/scenarios/no-such-file.xml", &e1));
    CU_ASSERT(g_error_matches(e1, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO));
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT_PTR_NULL(ms_scenario_load_file("/dev/zero", &e2));
    CU_ASSERT(e2 && strstr(e2->message, "not a regular file"));
    g_autoptr(GError) e3 = NULL;
    CU_ASSERT_PTR_NULL(ms_scenario_load_file("tests", &e3));
    CU_ASSERT_PTR_NOT_NULL(e3);
}

/* The schema is in the binary: loading works from another directory. */
static void
test_embedded_schema(void)
{
    gsize len = 0;
    const guint8 *rng = ms_embedded_get("scenarios/schema/scenario.rng", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
    CU_ASSERT(len > 1000 && rng[len] == '\0');
    CU_ASSERT(g_str_has_prefix((const char *) rng, "<?xml"));
    CU_ASSERT_PTR_NULL(ms_embedded_get("no/such/file", &len));
    CU_ASSERT_EQUAL(len, 0);
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *path = g_build_filename(cwd, GOOD_DIR, "first-email.xml", NULL);
    CU_ASSERT_FATAL(chdir("/") == 0);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(path, &error);
    CU_ASSERT_FATAL(chdir(cwd) == 0);
    CU_ASSERT_PTR_NOT_NULL(sc);
}

/* ---- boundaries ----------------------------------------------------------- */

typedef struct {
    const char *extra;
    gboolean ok;
} Boundary;

static void
test_boundaries(void)
{
    static const Boundary cases[] = {
        { "<link a=\"r1\" b=\"r2\" mtu=\"68\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" mtu=\"67\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" mtu=\"65535\" queue=\"64KiB\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" mtu=\"65536\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" loss=\"0\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" loss=\"1\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" loss=\"1.0001\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" loss=\"-0\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" loss=\"nan\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" latency=\"1ns\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" latency=\"0s\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" bandwidth=\"1bps\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" bandwidth=\"0bps\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" queue=\"1500B\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" queue=\"1499B\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\" queue-packets=\"1\"/>", TRUE },
        { "<link a=\"r1\" b=\"r2\" queue-packets=\"0\"/>", FALSE },
        { "<link a=\"r1\" b=\"r2\"/><link a=\"r2\" b=\"r1\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\"255.255.255.254\"/>", TRUE },
        { "<host id=\"h\" role=\"router\" address=\"255.255.255.255\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\"0.0.0.1\"/>", TRUE },
        { "<host id=\"h\" role=\"router\" address=\"0.0.0.0\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\"10.0.0.01\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\"10.0.0\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\"10.0.0.3.4\"/>", FALSE },
        { "<host id=\"h\" role=\"router\" address=\" 10.0.0.3\"/>", FALSE },
        { "<host id=\"h\" "
          "name=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x\" "
          "role=\"router\" address=\"10.0.0.3\"/>",
          TRUE },
        { "<host id=\"h\" "
          "name=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x\" "
          "role=\"router\" address=\"10.0.0.3\"/>",
          FALSE },
        { "<host id=\"h\" name=\"a..b\" role=\"router\" address=\"10.0.0.3\"/>", FALSE },
        { "<host id=\"h\" name=\"R1\" role=\"router\" address=\"10.0.0.3\"/>",
          FALSE }, /* same as r1 */
        { "<host id=\"h\" role=\"router\" address=\"10.0.0.3\" x=\"1\"/>", FALSE },
        { "<fault kind=\"host-down\" target=\"r1\" at=\"0\"/>", TRUE },
        { "<fault kind=\"host-down\" target=\"r1\" at=\"0\" duration=\"0s\"/>", FALSE },
        { "<fault kind=\"dns-down\" target=\"r1\" at=\"0\"/>", FALSE },
        { "<fault kind=\"loss\" target=\"r1~r2\" at=\"0\" rate=\"0.5\"/>", FALSE }, /* no link */
        { "<link a=\"r1\" b=\"r2\"/><fault kind=\"loss\" target=\"r2~r1\" at=\"0\" rate=\"0.5\"/>",
          TRUE },
        { "<link a=\"r1\" b=\"r2\"/><fault kind=\"loss\" target=\"r2~r1\" at=\"0\"/>", FALSE },
        { "<title>a</title><title>b</title>", FALSE },
        { "<routing metric=\"hops\"/><routing/>", FALSE },
        { "<zone name=\"x.com\" server=\"r1\"/>", FALSE },
        { "<output/>", FALSE },
        { "<expect kind=\"no-loss\"/>", TRUE },
        { "<expect kind=\"attempts\"/>", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gboolean ok = loads(cases[i].extra);
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        if (ok != cases[i].ok)
            fprintf(stderr, "boundary case %" G_GSIZE_FORMAT ": %s\n", i, cases[i].extra);
    }
}

/* Mail-related boundaries need a server and a client. */
static void
test_mail_boundaries(void)
{
    static const Boundary cases[] = {
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/>", TRUE },
        { "<message id=\"m\" from=\"Alice@ex.com\" to=\"b@ex.com\"/>",
          FALSE }, /* local part is case-sensitive */
        { "<message id=\"m\" from=\"alice@EX.com\" to=\"b@ex.com\"/>", TRUE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\" , \"/>", FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/><message id=\"m\" "
          "from=\"alice@ex.com\" to=\"b@ex.com\"/>",
          FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\" at=\"1h\"/>", TRUE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\" at=\"3601s\"/>", FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" "
          "to=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@ex.com\"/>",
          TRUE },
        { "<message id=\"m\" from=\"alice@ex.com\" "
          "to=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@ex.com\"/>",
          FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/><expect kind=\"delivered\" "
          "message=\"m\" to=\"c@ex.com\"/>",
          FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/><expect kind=\"bounced\" "
          "message=\"m\" status=\"2.0.0\"/>",
          FALSE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/><expect kind=\"retrieved\" "
          "message=\"m\" client=\"pc\"/>",
          TRUE },
        { "<message id=\"m\" from=\"alice@ex.com\" to=\"b@ex.com\"/><expect kind=\"retrieved\" "
          "message=\"m\" client=\"mx\"/>",
          FALSE },
        { "<check client=\"pc\" at=\"0\"/>", TRUE },
        { "<check client=\"mx\" at=\"0\"/>", FALSE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"1/s\"/>", TRUE },
        { "<workload from=\"other.org\" to=\"ex.com\" rate=\"1/s\"/>", FALSE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"0/s\"/>", FALSE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"5\"/>", FALSE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"1/s\" start=\"1h\" end=\"1h\"/>",
          FALSE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"1/s\" "
          "size=\"exponential:mean=4KiB\"/>",
          TRUE },
        { "<workload from=\"ex.com\" to=\"other.org\" rate=\"1/s\" size=\"zipf:1\"/>", FALSE },
        { "<fault kind=\"mailbox-full\" target=\"alice@ex.com\" at=\"1s\"/>", TRUE },
        { "<fault kind=\"mailbox-full\" target=\"zed@ex.com\" at=\"1s\"/>", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml = g_strdup_printf(
            "<scenario version=\"1\" name=\"t\" until=\"1h\">\n"
            "<host id=\"mx\" role=\"mailserver\" address=\"10.0.0.25\"/>\n"
            "<host id=\"pc\" role=\"client\" address=\"10.0.0.10\"/>\n"
            "<mailserver host=\"mx\" domains=\"ex.com\"><user name=\"alice\"/></mailserver>\n"
            "<client host=\"pc\" user=\"alice@ex.com\"/>\n%s\n</scenario>\n",
            cases[i].extra);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = load_string(xml, &error);
        CU_ASSERT_EQUAL(sc != NULL, cases[i].ok);
        if ((sc != NULL) != cases[i].ok)
            fprintf(stderr, "mail case %" G_GSIZE_FORMAT ": %s\n%s\n", i, cases[i].extra,
                    error ? error->message : "(loaded)");
    }
}

/* ---- did you mean --------------------------------------------------------- */

/* An unknown attribute or element gets the closest name the schema allows
 * there, at most 2 edits away (Damerau-Levenshtein: a swap of neighbours is
 * one edit), case ignored; farther ones get no hint. So do unknown values of
 * enumerations and unknown host ids. Every unknown name is
 * reported, including those libxml2's validator passes over. */
static void
test_did_you_mean(void)
{
    static const struct {
        const char *extra;
        const char *want; /* in the error, on line 4; NULL: no hint at all */
    } cases[] = {
        { "<link a=\"r1\" b=\"r2\" latncy=\"1ms\"/>",
          "Invalid attribute latncy for element link (did you mean 'latency'?)" },
        { "<link a=\"r1\" b=\"r2\" lateny=\"1ms\"/>", "(did you mean 'latency'?)" },
        { "<link a=\"r1\" b=\"r2\" laetncy=\"1ms\"/>", "(did you mean 'latency'?)" }, /* swap */
        { "<link a=\"r1\" b=\"r2\" LATENCY=\"1ms\"/>", "(did you mean 'latency'?)" }, /* case */
        { "<link a=\"r1\" b=\"r2\" latenxx=\"1ms\"/>", "(did you mean 'latency'?)" }, /* 2 */
        { "<link a=\"r1\" b=\"r2\" latexxx=\"1ms\"/>", NULL },                        /* 3 */
        { "<link a=\"r1\" b=\"r2\" colour=\"red\"/>", NULL },
        { "<lnk a=\"r1\" b=\"r2\"/>", "Did not expect element lnk there (did you mean 'link'?)" },
        { "<fault kind=\"host-down\" traget=\"r1\" at=\"1s\"/>", "(did you mean 'target'?)" },
        { "<expect kind=\"no-loss\" mesage=\"m1\"/>", "(did you mean 'message'?)" },
        /* names are looked up where they stand: 'pop3' is no attribute of <link> */
        { "<link a=\"r1\" b=\"r2\" pop=\"x\"/>", NULL },
        /* a known element out of place is told where it goes */
        { "<user name=\"bob\"/>", "Did not expect element user there (<user> goes inside "
                                  "<mailserver>)" },
        { "<mx preference=\"1\" exchange=\"mx.a.example\"/>", "(<mx> goes inside <zone>)" },
        /* values: enumerations and references to ids */
        { "<fault kind=\"host-dwn\" target=\"r1\" at=\"1s\"/>",
          "'host-dwn' is not known: expected one of host-down, link-down, loss, dns-down, "
          "mailbox-full, strip-starttls (did you mean 'host-down'?)" },
        { "<link a=\"r1\" b=\"rr2\"/>", "unknown host 'rr2': expected the id of a <host> (did "
                                        "you mean 'r2'?)" },
        { "<fault kind=\"link-down\" target=\"r1~r22\" at=\"1s\"/>", "(did you mean 'r2'?)" },
        { "<fault kind=\"host-down\" target=\"R1\" at=\"1s\"/>", "(did you mean 'r1'?)" },
        { "<link a=\"r1\" b=\"gateway\"/>", NULL },
        { "<expect kind=\"no-loss\" message=\"m2\"/>", NULL }, /* no message at all */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *xml = with_routers(cases[i].extra);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = load_string(xml, &error);
        CU_ASSERT_PTR_NULL(sc);
        if (!error)
            continue;
        gboolean ok = cases[i].want ? strstr(error->message, cases[i].want) != NULL
                                    : strstr(error->message, "did you mean") == NULL;
        CU_ASSERT(g_str_has_prefix(error->message, "mem.xml:4: "));
        CU_ASSERT(ok);
        if (!ok)
            fprintf(stderr, "case %" G_GSIZE_FORMAT ": want '%s', got:\n%s\n", i,
                    cases[i].want ? cases[i].want : "(no hint)", error->message);
    }
    /* On the root, and a name libxml2's validator alone does not report. */
    g_autoptr(GError) error = NULL;
    const char *xml = "<scenario version=\"1\" name=\"x\" untill=\"1h\">\n"
                      "<host id=\"r1\" role=\"router\" adress=\"10.0.0.1\"/>\n</scenario>\n";
    g_autoptr(MsScenario) sc = load_string(xml, &error);
    CU_ASSERT_PTR_NULL(sc);
    CU_ASSERT(error && strstr(error->message, "mem.xml:1: element 'scenario': not allowed by the "
                                              "schema: Invalid attribute untill for element "
                                              "scenario (did you mean 'until'?)"));
    CU_ASSERT(error && strstr(error->message, "mem.xml:2: element 'host': not allowed by the "
                                              "schema: Invalid attribute adress for element host "
                                              "(did you mean 'address'?)"));
}

/* ---- authoring warnings ------------------------------------------------- */

/* Each file of the warning corpus loads, and starts with one line
 * "<!-- warn: LINE: TEXT -->" per warning it must give (each warning
 * "PATH:LINE: warning: " containing TEXT, in this order, and no other), or
 * with "<!-- warn: none -->". A warning that says an <expect> "can never
 * hold" is proven by a run: that check fails. */
static void
test_warning_corpus(void)
{
    g_autoptr(GDir) dir = g_dir_open(WARN_DIR, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    guint n = 0, proven = 0;
    for (const char *name; (name = g_dir_read_name(dir));) {
        if (!g_str_has_suffix(name, ".xml"))
            continue;
        g_autofree char *path = g_build_filename(WARN_DIR, name, NULL);
        g_autofree char *text = NULL;
        CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_file(path, &error);
        CU_ASSERT_PTR_NOT_NULL(sc);
        if (!sc) {
            fprintf(stderr, "%s: %s\n", name, error->message);
            continue;
        }
        g_autoptr(GPtrArray) warnings = ms_scenario_warnings(sc);
        n++;
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        guint want_n = 0;
        for (char **l = lines; *l && g_str_has_prefix(*l, "<!-- warn: "); l++) {
            if (strcmp(*l, "<!-- warn: none -->") == 0)
                break;
            guint line = 0;
            char want[512] = "";
            CU_ASSERT_EQUAL(sscanf(*l, "<!-- warn: %u: %511[^\n]", &line, want), 2);
            char *end = strstr(want, " -->");
            if (end)
                *end = '\0';
            g_autofree char *prefix = g_strdup_printf("%s:%u: warning: ", path, line);
            const char *got = want_n < warnings->len ? warnings->pdata[want_n] : "(none)";
            gboolean found = g_str_has_prefix(got, prefix) && strstr(got, want) != NULL;
            CU_ASSERT(found);
            if (!found)
                fprintf(stderr, "%s: want '%s%s', got %s\n", name, prefix, want, got);
            want_n++;
            if (!strstr(want, "can never hold"))
                continue;
            const char *argv[] = { ms_test_mailsim_path(), "run", "-q", path, NULL };
            g_autofree char *out = NULL, *err = NULL;
            CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 1);
            g_autofree char *fail = g_strdup_printf("FAIL  %s:%u: ", path, line);
            CU_ASSERT(out && strstr(out, fail));
            proven++;
        }
        CU_ASSERT_EQUAL(warnings->len, want_n);
        for (guint i = want_n; i < warnings->len; i++)
            fprintf(stderr, "%s: unexpected %s\n", name, (char *) warnings->pdata[i]);
    }
    CU_ASSERT(n >= 15);
    CU_ASSERT(proven >= 10);
}

/* Where nothing is lost, nothing is said: a world without mail, and a
 * generated world (every domain has its zone, every host its links). */
static void
test_warnings_quiet(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(GOOD_DIR "/minimal.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(GPtrArray) w = ms_scenario_warnings(sc);
    CU_ASSERT_EQUAL(w->len, 0);
    const char *gen = "<scenario version=\"1\" name=\"g\" until=\"1h\">\n"
                      "<generate domains=\"20\" routers=\"2000\" users=\"100\" "
                      "messages=\"50\" duration=\"50min\" seed=\"3\"/>\n</scenario>\n";
    g_autoptr(MsScenario) big = load_string(gen, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    g_autoptr(GPtrArray) wb = ms_scenario_warnings(big);
    CU_ASSERT_EQUAL(wb->len, 0);
    for (guint i = 0; i < wb->len && i < 5; i++)
        fprintf(stderr, "generated: %s\n", (char *) wb->pdata[i]);
}

/* ---- generated worlds, made from the generator's records ------------------- */

/* One line per item of what a scenario holds, for comparing two loads:
 * every field of the kinds a generated world has; line numbers only with
 * `lines` (a world loaded from `mailsim gen`'s file has lines of its own). */
static char *
scenario_dump_full(const MsScenario *sc, gboolean lines)
{
    GString *s = g_string_new(NULL);
#define LINE(x) (lines ? (x) : 0u)
    g_string_append_printf(s, "root %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " %d %d %d %d\n",
                           sc->seed, sc->until, sc->fidelity, sc->keep_bodies, sc->tls,
                           sc->routing);
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        g_string_append_printf(s, "host %u %s %s %d %08x %u %d %d %d %s %d\n", LINE(h->line), h->id,
                               h->name, h->role, h->address, h->asn, h->mailserver, h->client,
                               h->has_position, h->label ? h->label : "-", h->has_geo);
    }
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        g_string_append_printf(s,
                               "link %u %u %u %" G_GINT64_FORMAT " %" G_GUINT64_FORMAT
                               " %u %.17g %" G_GUINT64_FORMAT " %u %d\n",
                               LINE(l->line), l->a, l->b, l->latency, l->bandwidth_bps, l->mtu,
                               l->loss, l->queue_bytes, l->queue_packets, l->relation);
    }
    g_string_append_printf(s, "dns %d %d %d\n", sc->dns_mode, sc->dns_server, sc->dns_root);
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        g_string_append_printf(s, "zone %u %s %u %" G_GINT64_FORMAT " %d %s\n", LINE(z->line),
                               z->name, z->server, z->ttl, z->dnssec, z->sts_id ? z->sts_id : "-");
        for (guint j = 0; j < z->records->len; j++) {
            const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, j);
            g_string_append_printf(s, " rr %u %d %s %s %u %08x %d %" G_GINT64_FORMAT "\n",
                                   LINE(r->line), r->type, r->name, r->target ? r->target : "-",
                                   r->preference, r->address, r->host, r->ttl);
        }
    }
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *m = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        g_string_append_printf(
            s,
            "server %u %u %u %u %d %d %d users %u dkim %u lists %u auth "
            "%d%d%d %u %u tls %d %d %d\n",
            LINE(m->line), m->host, m->domains->len, m->backup_for->len, m->smarthost, m->resolver,
            m->profile, m->users->len, m->dkim ? m->dkim->len : 0, m->lists ? m->lists->len : 0,
            m->auth.spf, m->auth.dkim, m->auth.dmarc, m->auth.dnsbl ? m->auth.dnsbl->len : 0,
            m->policy.set, m->tls.smtpd_level, m->tls.smtp_level, m->tls.certificate);
        for (guint j = 0; j < m->domains->len; j++)
            g_string_append_printf(s, " domain %s\n", (char *) m->domains->pdata[j]);
        for (guint j = 0; j < m->backup_for->len; j++)
            g_string_append_printf(s, " backup-for %s\n", (char *) m->backup_for->pdata[j]);
        for (guint j = 0; j < m->users->len; j++) {
            const MsScenarioUser *u = &g_array_index(m->users, MsScenarioUser, j);
            g_string_append_printf(s, " user %u %s %s %" G_GUINT64_FORMAT " %s\n", LINE(u->line),
                                   u->name, u->password, u->quota, u->forward ? u->forward : "-");
        }
        for (guint j = 0; m->dkim && j < m->dkim->len; j++) {
            const MsScenarioDkim *k = &g_array_index(m->dkim, MsScenarioDkim, j);
            g_string_append_printf(s, " dkim %s %s %d %d\n", k->domain, k->selector, k->key,
                                   k->publish);
        }
    }
    for (guint i = 0; i < sc->workloads->len; i++) {
        const MsWorkloadSpec *w = &g_array_index(sc->workloads, MsWorkloadSpec, i);
        g_string_append_printf(s,
                               "workload %u %s %s %d %d %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                               " %.17g %d %.17g %.17g\n",
                               LINE(w->line), w->from, w->to, w->from_server, w->to_server,
                               w->start, w->end, w->rate_per_s, w->size_dist, w->size_a, w->size_b);
    }
    for (guint i = 0; i < sc->faults->len; i++) {
        const MsScenarioFault *f = &g_array_index(sc->faults, MsScenarioFault, i);
        g_string_append_printf(
            s, "fault %u %d %s %d %d %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", LINE(f->line),
            f->kind, f->target, f->host, f->link, f->at, f->duration);
    }
    for (guint i = 0; i < sc->expects->len; i++) {
        const MsScenarioExpect *e = &g_array_index(sc->expects, MsScenarioExpect, i);
        g_string_append_printf(s, "expect %u %d %d %" G_GINT64_FORMAT "\n", LINE(e->line), e->kind,
                               e->message, e->count);
    }
    g_string_append_printf(s, "clients %u messages %u checks %u outputs %u\n", sc->clients->len,
                           sc->messages->len, sc->checks->len, sc->outputs->len);
#undef LINE
    return g_string_free(s, FALSE);
}

static char *
scenario_dump(const MsScenario *sc)
{
    return scenario_dump_full(sc, TRUE);
}

/* The world a <generate> element stands for, loaded straight from the
 * generator's records, is the world `mailsim gen` writes, loaded from that
 * file: every field of every element (deep, users one by one), for both
 * topologies and each kind of sender authentication. */
static void
test_generate_same_as_written(void)
{
    static const struct {
        MsGenTopology topology;
        guint auth;
        guint32 domains, routers;
        guint64 users, seed;
    } cases[] = {
        { MS_GEN_TRANSIT_STUB, 0, 40, 400, 1000, 1 },
        { MS_GEN_SCALE_FREE, 0, 25, 300, 300, 7 },
        { MS_GEN_TRANSIT_STUB, 1, 12, 60, 48, 5 },
        { MS_GEN_SCALE_FREE, 2, 9, 50, 27, 3 },
    };
    static const char *const auth_names[] = { "none", "rsa", "ed25519" };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsGenParams p = { .topology = cases[i].topology,
                          .auth = cases[i].auth,
                          .domains = cases[i].domains,
                          .routers = cases[i].routers,
                          .users = cases[i].users,
                          .messages = 500,
                          .duration = 2 * MS_TIME_H,
                          .seed = cases[i].seed };
        g_autofree char *written = ms_generate_scenario(&p, "g");
        g_autofree char *direct = g_strdup_printf(
            "<scenario version=\"1\" name=\"g\" seed=\"%" G_GUINT64_FORMAT "\" until=\"4h\">\n"
            "<generate topology=\"%s\" domains=\"%u\" routers=\"%u\" users=\"%" G_GUINT64_FORMAT
            "\" messages=\"500\" duration=\"2h\" seed=\"%" G_GUINT64_FORMAT "\" auth=\"%s\"/>\n"
            "</scenario>\n",
            p.seed, ms_gen_topology_to_string(p.topology), p.domains, p.routers, p.users, p.seed,
            auth_names[p.auth]);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) a = load_string(direct, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        g_autoptr(MsScenario) b = load_string(written, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        g_autofree char *da = scenario_dump_full(a, FALSE);
        g_autofree char *db = scenario_dump_full(b, FALSE);
        CU_ASSERT_STRING_EQUAL(da, db);
        /* Not two empty worlds: every kind is there. */
        CU_ASSERT(a->hosts->len > p.routers + p.domains && a->links->len >= a->hosts->len - 1);
        CU_ASSERT(a->zones->len == p.domains && a->workloads->len == p.domains);
        CU_ASSERT(a->faults->len > 0 && a->expects->len == 1 && a->dns_server >= 0);
        CU_ASSERT(strstr(da, " user 0 u1 pw 0 -\n") != NULL);
        CU_ASSERT((strstr(da, "\n dkim ") != NULL) == (p.auth != 0));
        /* Lines: every generated element names the <generate> line. */
        g_autofree char *lined = scenario_dump_full(a, TRUE);
        CU_ASSERT(strstr(lined, "host 2 r0 r0") != NULL && strstr(lined, "link 2 ") != NULL);
    }
}

/* A generated world's elements are made from the generator's records as the
 * reader walks (never copied into the document, sim/scenario/scenario_stream.c): the scenario is the
 * one the copied elements give (an override that selects a generated
 * element makes the loader copy them), with written elements before and
 * after <generate> referring to generated ones and the other way round. */
static void
test_generate_walked(void)
{
    const char *xml =
        "<scenario version=\"1\" name=\"g\" until=\"1h\">\n"
        "<host id=\"edge\" role=\"router\" address=\"192.0.2.1\"/>\n"
        "<link a=\"edge\" b=\"r7\" latency=\"3ms\"/>\n"
        "<generate domains=\"12\" routers=\"60\" users=\"48\" messages=\"40\" duration=\"50min\" "
        "seed=\"5\" auth=\"rsa\"/>\n"
        "<host id=\"mxw\" name=\"mx.w.example\" role=\"mailserver\" address=\"192.0.2.2\"/>\n"
        "<link a=\"mxw\" b=\"edge\"/>\n"
        "<zone name=\"w.example\" server=\"dns\"><mx preference=\"10\" exchange=\"mx.w.example\"/>"
        "<a name=\"mx.w.example\" host=\"mxw\"/></zone>\n"
        "<mailserver host=\"mxw\" domains=\"w.example\" smarthost=\"relay0\">"
        "<user name=\"ann\"/></mailserver>\n"
        "<workload from=\"w.example\" to=\"d3.example\" start=\"0s\" end=\"10min\" rate=\"6/h\"/>\n"
        "<fault kind=\"host-down\" target=\"mx2\" at=\"100s\" duration=\"1min\"/>\n"
        "</scenario>\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) streamed = load_string(xml, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(streamed);
    MsScenarioOverride same = { "//host[@id='r0']/@name", "r0" };
    g_autoptr(MsScenario) copied =
        ms_scenario_load_memory_with(xml, strlen(xml), "mem.xml", &same, 1, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copied);
    g_autofree char *a = scenario_dump(streamed);
    g_autofree char *b = scenario_dump(copied);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT(strstr(a, "host 2 edge") != NULL);
    CU_ASSERT(strstr(a, "host 4 r0 r0") != NULL);            /* generated: the <generate> line */
    CU_ASSERT(strstr(a, "host 5 mxw mx.w.example") != NULL); /* written after: after them */
    CU_ASSERT(strstr(a, "workload 9 w.example d3.example") != NULL);
    gint mxw = ms_scenario_find_host(streamed, "mxw");
    gint relay0 = ms_scenario_find_host(streamed, "relay0");
    CU_ASSERT_FATAL(mxw >= 0 && relay0 >= 0);
    gint ms = g_array_index(streamed->hosts, MsScenarioHost, mxw).mailserver;
    CU_ASSERT_EQUAL(g_array_index(streamed->mailservers, MsScenarioMailserver, ms).smarthost,
                    relay0);
    CU_ASSERT_EQUAL(streamed->mailservers->len, copied->mailservers->len);
    CU_ASSERT(streamed->workloads->len == 13 && streamed->zones->len == 13);

    /* Errors in generated elements name the <generate> line, as before. */
    const char *dup = "<scenario version=\"1\" name=\"g\">\n"
                      "<host id=\"r3\" role=\"router\" address=\"192.0.2.1\"/>\n"
                      "<generate domains=\"2\" routers=\"10\" users=\"4\" messages=\"4\"/>\n"
                      "</scenario>\n";
    const char *twice = "<scenario version=\"1\" name=\"g\">\n"
                        "<generate domains=\"2\" routers=\"10\" users=\"4\" messages=\"4\"/>\n"
                        "<link a=\"r1\" b=\"r0\"/>\n"
                        "</scenario>\n";
    static const char *const wanted[] = {
        "mem.xml:3: host 'r3' attribute 'id': duplicate id 'r3'",
        /* A generated link (taken from its record) that clashes with a
         * written one is read as an element, for the reader's error. */
        "mem.xml:2: link 'r0'~'r1': a second link between 'r0' and 'r1': the first is on line 3",
    };
    const char *const bad_docs[] = { dup, twice };
    for (gsize i = 0; i < G_N_ELEMENTS(wanted); i++) {
        g_autoptr(MsScenario) bad = load_string(bad_docs[i], &error);
        CU_ASSERT_PTR_NULL(bad);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT(strstr(error->message, wanted[i]) != NULL);
        g_clear_error(&error);
    }
    g_autoptr(MsScenario) bad2 =
        ms_scenario_load_memory_with(dup, strlen(dup), "mem.xml", &same, 1, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT(strstr(error->message, "mem.xml:3: host 'r3' attribute 'id': duplicate id 'r3'") !=
              NULL);
}

/* The same, run: `mailsim gen`'s file and a file holding the <generate>
 * element (same root and title) give the same statistics file at both
 * fidelities, and the same summary but for the file:line of the no-loss
 * expectation. */
static void
test_generate_runs_as_written(void)
{
    const char *bin = ms_test_mailsim_path();
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-gen-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *written = g_build_filename(dir, "w.xml", NULL);
    g_autofree char *element = g_build_filename(dir, "g.xml", NULL);
    const char *gen[] = { bin,       "gen", "--domains",  "20",    "--routers",  "200",
                          "--users", "400", "--messages", "4000",  "--duration", "2h",
                          "--seed",  "3",   "-o",         written, NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_test_spawn(gen, &out, &err), 0);
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<scenario version=\"1\" name=\"generated\" seed=\"3\" until=\"14400s\">\n"
                      "  <title>Generated transit-stub world: 20 domains, 200 routers</title>\n"
                      "  <generate domains=\"20\" routers=\"200\" users=\"400\" messages=\"4000\" "
                      "duration=\"2h\" seed=\"3\"/>\n"
                      "</scenario>\n";
    CU_ASSERT_FATAL(g_file_set_contents(element, doc, -1, &error));
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(written, &text, NULL, NULL));
    const char *expect_at = strstr(text, "<expect kind=\"no-loss\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(expect_at);
    guint expect_line = 1;
    for (const char *c = text; c < expect_at; c++)
        expect_line += *c == '\n';
    static const char *const fidelities[] = { "flow", "packet" };
    for (gsize f = 0; f < G_N_ELEMENTS(fidelities); f++) {
        char *stats[2] = { NULL, NULL }, *summary[2] = { NULL, NULL };
        const char *files[2] = { written, element };
        for (int k = 0; k < 2; k++) {
            g_autofree char *path = g_strdup_printf("%s/stats-%d.json", dir, k);
            const char *run[] = { bin,       "run", "-q",         files[k],      "--until", "30min",
                                  "--stats", path,  "--fidelity", fidelities[f], NULL };
            g_autofree char *rerr = NULL;
            CU_ASSERT_EQUAL(ms_test_spawn(run, &summary[k], &rerr), 0);
            CU_ASSERT(g_file_get_contents(path, &stats[k], NULL, NULL));
            g_unlink(path);
        }
        CU_ASSERT(stats[0] && stats[1] && strlen(stats[0]) > 1000 &&
                  strcmp(stats[0], stats[1]) == 0);
        g_autofree char *expect_w =
            g_strdup_printf("%s:%u: no message is lost", written, expect_line);
        g_autofree char *expect_g = g_strdup_printf("%s:4: no message is lost", element);
        CU_ASSERT(summary[0] && strstr(summary[0], expect_w) && summary[1] &&
                  strstr(summary[1], expect_g));
        if (summary[0] && summary[1]) {
            g_autoptr(GString) a = g_string_new(summary[0]), b = g_string_new(summary[1]);
            g_string_replace(a, expect_w, "X", 1);
            g_string_replace(b, expect_g, "X", 1);
            CU_ASSERT_STRING_EQUAL(a->str, b->str);
        }
        for (int k = 0; k < 2; k++) {
            g_free(stats[k]);
            g_free(summary[k]);
        }
    }
    g_unlink(written);
    g_unlink(element);
    g_rmdir(dir);
}

/* `mailsim gen --auth KIND` writes what the generator writes with that
 * auth (byte for byte), and an unknown kind is refused naming it. */
static void
test_gen_auth_option(void)
{
    const char *bin = ms_test_mailsim_path();
    static const char *const kinds[] = { "none", "rsa", "ed25519" };
    for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const char *gen[] = { bin,         "gen", "--domains", "5",   "--routers", "30",
                              "--users",   "10",  "--messages", "20", "--duration", "2h",
                              "--seed",    "4",   "--auth",    kinds[i], NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL_FATAL(ms_test_spawn(gen, &out, &err), 0);
        MsGenParams p = { .domains = 5,
                          .routers = 30,
                          .users = 10,
                          .messages = 20,
                          .duration = 2 * 3600 * MS_TIME_S,
                          .seed = 4,
                          .auth = i };
        g_autofree char *want = ms_generate_scenario(&p, "generated");
        CU_ASSERT_STRING_EQUAL(out, want);
        CU_ASSERT((strstr(out, "DKIM") != NULL || strstr(out, "dkim") != NULL) == (i > 0));
    }
    const char *bad[] = { bin, "gen", "--auth", "dsa", NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(bad, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "--auth: 'dsa': expected none, rsa or ed25519"));
}

/* The generated elements are not checked by the schema (the reader checks
 * every value it uses): what the generator writes must pass the schema as a
 * written file, for both topologies and every auth. */
static void
test_generate_output_valid(void)
{
    for (int i = 0; i < 3; i++) {
        MsGenParams p = { .domains = 6,
                          .routers = 40,
                          .users = 24,
                          .messages = 30,
                          .seed = 9,
                          .auth = i,
                          .topology = i == 1 ? MS_GEN_SCALE_FREE : MS_GEN_TRANSIT_STUB };
        g_autofree char *xml = ms_generate_scenario(&p, "v");
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = load_string(xml, &error);
        if (error)
            fprintf(stderr, "%s\n", error->message);
        CU_ASSERT_PTR_NOT_NULL(sc);
    }
}

/* ---- the README documents the whole schema -------------------------------- */

/* The README's section of element `element`: from its "#### " heading that
 * names `<element>` to the next heading; NULL when there is none. */
static char *
readme_section(const char *readme, const char *element)
{
    g_autofree char *tag = g_strdup_printf("`<%s>`", element);
    g_auto(GStrv) lines = g_strsplit(readme, "\n", -1);
    g_autoptr(GString) out = NULL;
    for (char **l = lines; *l; l++) {
        if (out && **l == '#')
            break;
        if (out)
            g_string_append_printf(out, "%s\n", *l);
        else if (g_str_has_prefix(*l, "#### ") && strstr(*l, tag))
            out = g_string_new("");
    }
    return out ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

/* Every element of scenarios/schema/scenario.rng has its section in the
 * README's "Scenario files", and every attribute the schema accepts on it
 * a row there ("| `name` |", bold when required). The schema is read as
 * text: <element name=E> opens E until its </element>, and an <attribute
 * name=A> belongs to the innermost open element. */
static void
test_readme_documents_schema(void)
{
    g_autofree char *rng = NULL, *readme = NULL;
    CU_ASSERT_FATAL(g_file_get_contents("scenarios/schema/scenario.rng", &rng, NULL, NULL));
    CU_ASSERT_FATAL(g_file_get_contents("README.md", &readme, NULL, NULL));
    g_autoptr(GRegex) re =
        g_regex_new("<(/?)(element|attribute)(?:\\s+name=\"([^\"]+)\")?", 0, 0, NULL);
    g_autoptr(GPtrArray) stack = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GMatchInfo) mi = NULL;
    guint elements = 0, attributes = 0, missing = 0;
    g_regex_match(re, rng, 0, &mi);
    for (; g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
        g_autofree char *close = g_match_info_fetch(mi, 1);
        g_autofree char *kind = g_match_info_fetch(mi, 2);
        g_autofree char *name = g_match_info_fetch(mi, 3);
        gboolean element = strcmp(kind, "element") == 0;
        if (element && *close) {
            CU_ASSERT_FATAL(stack->len > 0);
            g_ptr_array_remove_index(stack, stack->len - 1);
            continue;
        }
        if (*close || !name || !*name)
            continue;
        if (element) {
            g_ptr_array_add(stack, g_strdup(name));
            elements++;
        } else {
            CU_ASSERT_FATAL(stack->len > 0);
            attributes++;
        }
        const char *owner = element ? name : stack->pdata[stack->len - 1];
        g_autofree char *section = readme_section(readme, owner);
        gboolean ok = section != NULL;
        if (ok && !element) {
            g_autofree char *row = g_strdup_printf("| `%s` |", name);
            g_autofree char *bold = g_strdup_printf("| **`%s`** |", name);
            ok = strstr(section, row) || strstr(section, bold);
        }
        if (!ok) {
            missing++;
            if (!section)
                fprintf(stderr, "README.md: no section \"#### `<%s>`\" under Scenario files\n",
                        owner);
            else
                fprintf(stderr, "README.md: section `<%s>` has no row \"| `%s` |\"\n", owner, name);
        }
    }
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(stack->len, 0);
    CU_ASSERT(elements >= 20);
    CU_ASSERT(attributes >= 90);
}

/* ---- mailsim validate ----------------------------------------------------- */

static void
test_validate_command(void)
{
    const char *bin = ms_test_mailsim_path();
    g_autofree char *out = NULL, *err = NULL;
    const char *good[] = { bin, "validate", GOOD_DIR "/first-email.xml", GOOD_DIR "/minimal.xml",
                           NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(good, &out, &err), 0);
    CU_ASSERT(out && strstr(out, GOOD_DIR "/first-email.xml: ok\n") &&
              strstr(out, "minimal.xml: ok"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *mixed[] = { bin, "validate", GOOD_DIR "/minimal.xml", BAD_DIR "/link-to-itself.xml",
                            NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(mixed, &out, &err), 2);
    CU_ASSERT(out && strstr(out, "minimal.xml: ok"));
    CU_ASSERT(err && strstr(err, BAD_DIR "/link-to-itself.xml:5: "));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *help[] = { bin, "validate", "--help", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(help, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "FILE"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *none[] = { bin, "validate", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(none, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "missing FILE"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *missing[] = { bin, "validate", "no-such.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(missing, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "no-such.xml: cannot open"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* Warnings: on stderr with file:line, the file still "ok", exit 0. */
    const char *warned[] = { bin, "validate", WARN_DIR "/sender-no-zone.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(warned, &out, &err), 0);
    CU_ASSERT(out && strstr(out, WARN_DIR "/sender-no-zone.xml: ok\n"));
    CU_ASSERT(err && strstr(err, WARN_DIR "/sender-no-zone.xml:20: warning: "));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* `mailsim run` shows them once before the narration, -q does not. */
    const char *run[] = { bin, "run", WARN_DIR "/sender-no-zone.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(run, &out, &err), 0);
    CU_ASSERT(err && strstr(err, "sender-no-zone.xml:20: warning: "));
    CU_ASSERT(err && strstr(err, "warning: ") == g_strrstr(err, "warning: ")); /* once */
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *runq[] = { bin, "run", "-q", WARN_DIR "/sender-no-zone.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(runq, &out, &err), 0);
    CU_ASSERT(err && !strstr(err, "warning:"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    const char *badopt[] = { bin, "validate", "--frobnicate", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(badopt, &out, &err), 2);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "first-email loads with contents", test_first_email },
        { "defaults of a minimal file", test_defaults },
        { "every good file loads", test_all_good_files },
        { "bad corpus: line and message", test_bad_corpus },
        { "all errors reported at once", test_all_errors_at_once },
        { "billion laughs refused", test_billion_laughs },
        { "external entities refused", test_external_entity },
        { "deep nesting refused", test_deep_nesting },
        { "huge values refused", test_huge_values },
        { "bad bytes refused", test_bad_bytes },
        { "files that cannot be read", test_files },
        { "schema embedded in the binary", test_embedded_schema },
        { "boundaries: network", test_boundaries },
        { "boundaries: mail", test_mail_boundaries },
        { "unknown names: did you mean", test_did_you_mean },
        { "warning corpus: line, text, proven by a run", test_warning_corpus },
        { "no warnings where nothing is lost", test_warnings_quiet },
        { "generated worlds are walked from records, same scenario", test_generate_walked },
        { "the generator's output passes the schema", test_generate_output_valid },
        { "a generated world loads as mailsim gen's file does", test_generate_same_as_written },
        { "a generated world runs as mailsim gen's file does", test_generate_runs_as_written },
        { "mailsim gen --auth: the generator's output; unknown kinds refused", test_gen_auth_option },
        { "README documents every element and attribute", test_readme_documents_schema },
        { "mailsim validate", test_validate_command },
        { NULL, NULL },
    };
    return ms_test_main("scenario", cases);
}
