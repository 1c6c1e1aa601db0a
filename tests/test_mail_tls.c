/* TLS inside the simulation, end to end through the built mailsim: lesson
 * 1's world (which speaks TLS) with the policies and faults of
 * sim/mail/mta_profile.h changed one at a time, as Postfix would behave:
 *   - smtp-security-level encrypt against a server without TLS defers with
 *     Postfix's "TLS is required, but was not offered by host ...";
 *   - verify against a wrong-name, expired or self-signed certificate
 *     defers with the reason; verify against a good one delivers;
 *   - may and encrypt do not verify: a self-signed MX still gets the mail,
 *     inside TLS, with an aside on what the check would have found;
 *   - an MX at encrypt refuses a sender that cannot start TLS (530 5.7.0);
 *   - implicit TLS on 465 and 995; a client without TLS against a server
 *     with auth-only is never offered AUTH;
 *   - the new <expect> kinds fail when they should (exit status 1), and are
 *     refused in a world without TLS (exit status 2, file:line);
 *   - same seed, byte-identical capture and key log; another seed, other
 *     keys;
 *   - a handshake an attacker breaks: at may the sender connects again and
 *     delivers in clear (narrated), at encrypt it keeps the message;
 *   - a client that closes its TLS session on 465 with a bare FIN: the
 *     server tells the truncation (RFC 8446 6.1).
 * Tests run from the repository root (as `make run-tests` does). */
#include "testlib.h"
#include "mailsim/mail_tls_policy.h"
#include "mailsim/net.h"
#include "mailsim/rng.h"
#include "mailsim/tcp.h"
#include "mailsim/tls.h"
#include "mailsim/scenario.h"
#include "mailsim/sinks.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define LESSON1 "scenarios/teaching/01-first-email.xml"

typedef struct {
    const char *from, *to;
} Edit;

/* Lesson 1 with each edit applied (the `from` text must occur once),
 * written into dir. Returns the file's path (caller frees). */
static char *
variant(const char *dir, const char *name, const Edit *edits, guint n)
{
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(LESSON1, &text, NULL, NULL));
    g_autoptr(GString) s = g_string_new(text);
    for (guint i = 0; i < n; i++) {
        const char *at = strstr(s->str, edits[i].from);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        CU_ASSERT_PTR_NULL(strstr(at + 1, edits[i].from));
        gsize pos = (gsize) (at - s->str);
        g_string_erase(s, (gssize) pos, (gssize) strlen(edits[i].from));
        g_string_insert(s, (gssize) pos, edits[i].to);
    }
    char *path = g_build_filename(dir, name, NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, s->str, -1, NULL));
    return path;
}

#define ISP_USER  "<user name=\"alice\" password=\"wonderland\"/>"
#define CORP_USER "<user name=\"sales\" password=\"quarterly-numbers\"/>"
#define ALICE     "smtp=\"smtp-isp\" pop3=\"smtp-isp\"/>"
#define SALES     "pop3=\"mx-corp\"/>"

/* Runs `mailsim run file -q` plus extra arguments; returns the status. */
static int
run(const char *file, char **out, const char *extra1, const char *extra2)
{
    const char *argv[] = { ms_test_mailsim_path(), "run", file, "-q", extra1, extra2, NULL };
    g_autofree char *err = NULL;
    int rc = ms_test_spawn(argv, out, &err);
    if (rc == 2)
        g_printerr("(%s: exit 2: %.300s)\n", file, err ? err : "");
    return rc;
}

static gboolean
has(const char *out, const char *what)
{
    gboolean ok = out && strstr(out, what) != NULL;
    if (!ok)
        fprintf(stderr, "\nmissing \"%s\" in:\n%s\n", what, out ? out : "(nothing)");
    return ok;
}

typedef struct {
    const char *name;
    Edit edits[3];
    guint n;
    int status;           /* exit status: 0 all checks pass, 1 some fail */
    const char *must[3];  /* lines the output must hold */
    const char *must_not; /* and one it must not, or NULL */
} Case;

static void
test_policies(void)
{
    static const Case cases[] = {
        { "encrypt-no-tls",
          { { ISP_USER, ISP_USER "<tls smtp-security-level=\"encrypt\"/>" },
            { CORP_USER, CORP_USER "<tls certificate=\"none\"/>" },
            { SALES, "pop3-tls=\"none\" " SALES } },
          3,
          1,
          { "keeps the message for diversicomcorp.com in its queue (TLS is required, but was "
            "not offered by host mx.diversicomcorp.com[203.0.113.25])",
            "m1       -> sales@diversicomcorp.com     queued", NULL },
          "delivered after" },
        { "verify-wrong-name",
          { { ISP_USER, ISP_USER "<tls smtp-security-level=\"verify\"/>" },
            { CORP_USER, CORP_USER "<tls certificate=\"wrong-name\"/>" } },
          2,
          1,
          { "keeps the message for diversicomcorp.com in its queue (TLS with "
            "mx.diversicomcorp.com failed: certificate verification failed: certificate for "
            "www.diversicomcorp.com does not name mx.diversicomcorp.com)",
            "m1       -> sales@diversicomcorp.com     queued", NULL },
          NULL },
        { "verify-expired",
          { { ISP_USER, ISP_USER "<tls smtp-security-level=\"verify\"/>" },
            { CORP_USER, CORP_USER "<tls certificate=\"expired\"/>" } },
          2,
          1,
          { "keeps the message for diversicomcorp.com in its queue (TLS with "
            "mx.diversicomcorp.com failed: certificate verification failed: certificate for "
            "mx.diversicomcorp.com expired",
            "m1       -> sales@diversicomcorp.com     queued", NULL },
          NULL },
        { "verify-good",
          { { ISP_USER, ISP_USER "<tls smtp-security-level=\"verify\"/>" } },
          1,
          0,
          { "hops: 2 encrypted, 0 in the clear",
            "m1       -> sales@diversicomcorp.com     delivered", NULL },
          "would not pass a check" },
        { "may-self-signed",
          { { CORP_USER, CORP_USER "<tls certificate=\"self-signed\"/>" },
            { SALES, "pop3-tls=\"none\" " SALES } },
          2,
          1, /* the POP3 login is then in the clear: no-clear-password fails */
          { "(the certificate would not pass a check: certificate for mx.diversicomcorp.com is "
            "self-signed",
            "hops: 2 encrypted, 0 in the clear", "FAIL  " },
          NULL },
        { "encrypt-self-signed",
          { { ISP_USER, ISP_USER "<tls smtp-security-level=\"encrypt\"/>" },
            { CORP_USER, CORP_USER "<tls certificate=\"self-signed\" auth-only=\"false\"/>" },
            { SALES, "pop3-tls=\"none\" " SALES } },
          3,
          1,
          { "hops: 2 encrypted, 0 in the clear",
            "m1       -> sales@diversicomcorp.com     delivered", "FAIL  " },
          NULL },
        { "mx-encrypt-sender-without-tls",
          { { ISP_USER, ISP_USER "<tls certificate=\"none\" auth-only=\"false\"/>" },
            { CORP_USER, CORP_USER "<tls smtpd-security-level=\"encrypt\"/>" },
            { ALICE, "smtp-tls=\"none\" " ALICE } },
          3,
          1,
          { "530 5.7.0 Must issue a STARTTLS command first",
            "m1       -> sales@diversicomcorp.com     bounced", NULL },
          NULL },
        { "implicit-465-995",
          { { ALICE, "smtp-tls=\"implicit\" pop3-tls=\"implicit\" " ALICE },
            { SALES, "pop3-tls=\"implicit\" " SALES } },
          2,
          0,
          { "logins: 2 inside TLS, 0 in the clear", "TLS: 3 handshakes, 0 failed", NULL },
          NULL },
        { "client-without-tls-auth-only",
          { { ALICE, "smtp-tls=\"none\" " ALICE } },
          1,
          1,
          { "refused at submission", "hops: 0 encrypted, 0 in the clear", NULL },
          "logins: 2" },
    };
    g_autofree char *dir = g_dir_make_tmp("mailsim-tls-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Case *c = &cases[i];
        g_autofree char *name = g_strdup_printf("%s.xml", c->name);
        g_autofree char *file = variant(dir, name, c->edits, c->n);
        g_autofree char *out = NULL;
        g_autofree char *full = NULL;
        int rc = run(file, &out, NULL, NULL);
        /* The full narration (not -q) for the lines told along the way. */
        const char *argv[] = { ms_test_mailsim_path(), "run", file, "--no-colour", NULL };
        g_autofree char *err = NULL;
        ms_test_spawn(argv, &full, &err);
        if (rc != c->status)
            fprintf(stderr, "\n%s: exit %d, wanted %d\n%s\n", c->name, rc, c->status, out);
        CU_ASSERT_EQUAL(rc, c->status);
        for (guint k = 0; k < G_N_ELEMENTS(c->must) && c->must[k]; k++) {
            CU_ASSERT(has(full, c->must[k]));
        }
        if (c->must_not)
            CU_ASSERT(!strstr(full, c->must_not));
        g_unlink(file);
    }
    g_rmdir(dir);
}

/* The new <expect> kinds, against a run where Alice's program logs in and
 * submits in the clear (auth-only off): the ones that must fail fail. */
static void
test_expect_kinds(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-tls-XXXXXX", NULL);
    static const Edit edits[] = {
        { ISP_USER, ISP_USER "<tls auth-only=\"false\"/>" },
        { ALICE, "smtp-tls=\"none\" " ALICE },
        { "<expect kind=\"encrypted\" message=\"m1\" count=\"2\"/>",
          "<expect kind=\"encrypted\" message=\"m1\" count=\"2\"/>\n"
          "  <expect kind=\"encrypted\" message=\"m1\" count=\"1\"/>\n"
          "  <expect kind=\"encrypted\" message=\"m1\"/>\n"
          "  <expect kind=\"login-encrypted\" client=\"pc-sales\"/>\n"
          "  <expect kind=\"login-encrypted\" client=\"pc-alice\"/>" },
    };
    g_autofree char *file = variant(dir, "expects.xml", edits, G_N_ELEMENTS(edits));
    g_autofree char *out = NULL;
    int rc = run(file, &out, NULL, NULL);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(has(out, "FAIL  "));
    CU_ASSERT(has(out, "mail m1 crosses 2 hops inside TLS (got: 1 encrypted, 1 in the clear)"));
    CU_ASSERT(has(out, "PASS  "));
    CU_ASSERT(has(out, "mail m1 crosses 1 hop inside TLS (got: 1 encrypted, 1 in the clear)"));
    CU_ASSERT(has(out, "mail m1 crosses every hop inside TLS (got: 1 encrypted, 1 in the clear)"));
    CU_ASSERT(
        has(out, "pc-sales logs in only inside TLS (got: 1 login inside TLS, 0 in the clear)"));
    CU_ASSERT(
        has(out, "pc-alice logs in only inside TLS (got: 0 logins inside TLS, 1 in the clear)"));
    CU_ASSERT(
        has(out, "every client logs in only inside TLS (got: 1 login inside TLS, 1 in the clear)"));
    CU_ASSERT(
        has(out, "no password crosses a link in the clear (got: 1 in the clear, 1 inside TLS)"));
    /* Each of those lines is a FAIL but the two counted ones. */
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    guint fails = 0, passes = 0;
    for (char **l = lines; *l; l++) {
        fails += g_str_has_prefix(*l, "FAIL  ");
        passes += g_str_has_prefix(*l, "PASS  ");
    }
    /* FAIL: count=2, every hop, login-encrypted of all and of pc-alice,
     * no-clear-password. PASS: lesson 1's first four, count=1, pc-sales. */
    CU_ASSERT_EQUAL(fails, 5);
    CU_ASSERT_EQUAL(passes, 6);
    g_unlink(file);

    /* In a world without TLS the kinds are refused with file:line. */
    static const Edit off[] = {
        { " tls=\"true\"", " tls=\"false\"" },
    };
    g_autofree char *plain = variant(dir, "plain.xml", off, 1);
    g_autofree char *out2 = NULL;
    int rc2 = run(plain, &out2, NULL, NULL);
    CU_ASSERT_EQUAL(rc2, 2);
    g_unlink(plain);
    /* smtpd-security-level="verify" is a client level: refused. */
    static const Edit bad[] = {
        { CORP_USER, CORP_USER "<tls smtpd-security-level=\"verify\"/>" },
    };
    g_autofree char *badf = variant(dir, "bad.xml", bad, 1);
    const char *argv[] = { ms_test_mailsim_path(), "validate", badf, NULL };
    g_autofree char *vo = NULL, *ve = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &vo, &ve), 2);
    CU_ASSERT(has(ve, "bad.xml:"));
    CU_ASSERT(has(ve, "'verify' is a client level"));
    g_unlink(badf);
    g_rmdir(dir);
}

/* TLS is every world's default (issue 17: "AUTH is never offered before
 * TLS on any default profile"): lesson 1 without tls="true" is the same
 * TLS world; only tls="false" makes it clear, and there TLS settings are
 * refused with file:line rather than ignored. */
static void
test_default_on(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-tls-XXXXXX", NULL);
    static const Edit none[] = { { " tls=\"true\"", "" } };
    g_autofree char *dflt = variant(dir, "default.xml", none, 1);
    g_autofree char *out = NULL, *out_lesson = NULL;
    CU_ASSERT_EQUAL(run(dflt, &out, NULL, NULL), 0);
    CU_ASSERT_EQUAL(run(LESSON1, &out_lesson, NULL, NULL), 0);
    CU_ASSERT(has(out, "logins: 2 inside TLS, 0 in the clear"));
    /* the same run but for the file name in the check lines */
    g_auto(GStrv) pa = g_strsplit(out, dflt, -1), pb = g_strsplit(out_lesson, LESSON1, -1);
    g_autofree char *a = g_strjoinv("", pa), *b = g_strjoinv("", pb);
    CU_ASSERT_STRING_EQUAL(a, b);
    g_unlink(dflt);

    static const struct {
        Edit edit;
        const char *message;
    } refused[] = {
        { { CORP_USER, CORP_USER "<tls/>" }, "TLS settings in a world without TLS" },
        { { ALICE, "smtp-tls=\"implicit\" " ALICE },
          "smtp-tls': asks for TLS in a world without TLS" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
        const Edit edits[] = {
            { " tls=\"true\"", " tls=\"false\"" },
            refused[i].edit,
        };
        g_autofree char *f = variant(dir, "off.xml", edits, 2);
        const char *argv[] = { ms_test_mailsim_path(), "validate", f, NULL };
        g_autofree char *vo = NULL, *ve = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(argv, &vo, &ve), 2);
        CU_ASSERT(has(ve, "off.xml:"));
        CU_ASSERT(has(ve, refused[i].message));
        g_unlink(f);
    }
    /* In clear, with the TLS checks gone: AUTH PLAIN crosses unprotected. */
    const Edit clear[] = { { " tls=\"true\"", " tls=\"false\"" } };
    g_autofree char *cf = variant(dir, "clear.xml", clear, 1);
    g_autofree char *co = NULL;
    const char *argv[] = { ms_test_mailsim_path(), "validate", cf, NULL };
    g_autofree char *ve = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &co, &ve), 2); /* lesson 1's TLS <expect>s */
    CU_ASSERT(has(ve, "checks TLS, but this world speaks none"));
    g_unlink(cf);
    g_rmdir(dir);
}

/* Same seed: byte-identical capture and key log; another seed: other keys
 * (every random value comes from the hosts' seeded TLS streams). */
static void
test_deterministic(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-tls-XXXXXX", NULL);
    char *texts[3][2] = { { NULL } }; /* capture's SHA-256, key log */
    for (guint i = 0; i < 3; i++) {
        g_autofree char *pcap = g_strdup_printf("%s/run%u.pcapng", dir, i);
        g_autofree char *keys = g_strdup_printf("%s/run%u.keys", dir, i);
        const char *argv[] = { ms_test_mailsim_path(),
                               "run",
                               LESSON1,
                               "-q",
                               "--pcap",
                               pcap,
                               "--tls-keylog",
                               keys,
                               "--seed",
                               i == 2 ? "2" : "1",
                               NULL };
        g_autofree char *o = NULL, *e = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(argv, &o, &e), 0);
        gsize n = 0;
        g_autofree char *data = NULL;
        CU_ASSERT(g_file_get_contents(pcap, &data, &n, NULL));
        texts[i][0] = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, n);
        CU_ASSERT(g_file_get_contents(keys, &texts[i][1], NULL, NULL));
        g_unlink(pcap);
        g_unlink(keys);
    }
    CU_ASSERT_STRING_EQUAL(texts[0][0], texts[1][0]);
    CU_ASSERT_STRING_EQUAL(texts[0][1], texts[1][1]);
    CU_ASSERT_STRING_NOT_EQUAL(texts[0][1], texts[2][1]);
    /* Three sessions, five secrets each (NSS key log labels of TLS 1.3). */
    g_auto(GStrv) lines = g_strsplit(texts[0][1], "\n", -1);
    guint n = 0;
    for (char **l = lines; *l; l++)
        if (**l) {
            n++;
            CU_ASSERT(g_str_has_prefix(*l, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") ||
                      g_str_has_prefix(*l, "SERVER_HANDSHAKE_TRAFFIC_SECRET ") ||
                      g_str_has_prefix(*l, "CLIENT_TRAFFIC_SECRET_0 ") ||
                      g_str_has_prefix(*l, "SERVER_TRAFFIC_SECRET_0 ") ||
                      g_str_has_prefix(*l, "EXPORTER_SECRET "));
        }
    CU_ASSERT_EQUAL(n, 15);
    for (guint i = 0; i < 3; i++)
        for (guint k = 0; k < 2; k++)
            g_free(texts[i][k]);
    /* A key log file that cannot be written is a usage error. */
    const char *argv[] = { ms_test_mailsim_path(),  "run", LESSON1, "-q", "--tls-keylog",
                           "/nonexistent-dir/keys", NULL };
    g_autofree char *o = NULL, *e = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &o, &e), 2);
    CU_ASSERT(has(e, "--tls-keylog"));
    g_rmdir(dir);
}

/* Lesson 1's world with an attacker on the receiving MX's host that
 * alters the server's handshake records of port-25 sessions, and the
 * sending MTA at `level` (may or encrypt): returns the narration; *stats
 * and *ledger say what happened to the message. */
static char *
break_handshake(MsMtaTlsLevel level, MsMailStats *stats, MsMailTlsLedger *ledger,
                gboolean *delivered)
{
    g_autofree char *xml = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(LESSON1, &xml, NULL, NULL));
    g_autoptr(GString) text = g_string_new(xml);
    if (level == MS_MTA_TLS_ENCRYPT) {
        const char *at = strstr(text->str, ISP_USER);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        g_string_insert(text, at - text->str + (gssize) strlen(ISP_USER),
                        "<tls smtp-security-level=\"encrypt\"/>");
    }
    g_autoptr(MsScenario) sc =
        ms_scenario_load_memory(text->str, text->len, "01-first-email.xml", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    MsMail *m = ms_world_mail(w);
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ms_trace_add_sink(ms_net_trace(ms_world_net(w)), ms_narrator_record,
                      ms_narrator_new(ms_world_net(w), f, MS_NARRATE_MAIL, FALSE),
                      ms_narrator_free);
    guint isp = ms_mail_server_for_domain(m, "isp-a.net");
    guint corp = ms_mail_server_for_domain(m, "diversicomcorp.com");
    CU_ASSERT_FATAL(isp != G_MAXUINT && corp != G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_server_policy(m, isp)->smtp_tls_level, level);
    ms_mail_downgrade_set(m, ms_mail_server_host(m, corp), G_MAXUINT32, MS_MAIL_DOWNGRADE_BREAK_TLS,
                          TRUE);
    ms_world_run(w, ms_world_default_until(w));
    ms_mail_get_stats(m, stats);
    ms_mail_tls_policy_ledger(m, 1, ledger);
    const MsMessageRecord *r = ms_mail_message(m, 1);
    *delivered = r && r->rcpts->len == 1 &&
                 g_array_index(r->rcpts, MsRcptRecord, 0).state == MS_RCPT_DELIVERED;
    fflush(f);
    rewind(f);
    GString *story = g_string_new(NULL);
    char line[1024];
    while (fgets(line, sizeof line, f))
        g_string_append(story, line);
    fclose(f);
    return g_string_free(story, FALSE);
}

/* Opportunistic TLS whose handshake fails falls back to clear text on a
 * new connection, as Postfix at may does; at encrypt the message stays
 * queued. */
static void
test_fallback_to_clear(void)
{
    MsMailStats st;
    MsMailTlsLedger l;
    gboolean delivered;
    g_autofree char *may = break_handshake(MS_MTA_TLS_MAY, &st, &l, &delivered);
    CU_ASSERT_TRUE(delivered);
    CU_ASSERT_TRUE(st.tls_failures >= 1);
    /* the MX hop in clear, read by the attacker; no TLS refusal */
    CU_ASSERT_EQUAL(st.hops_clear, 1);
    CU_ASSERT_EQUAL(l.hops_read, 1);
    CU_ASSERT_EQUAL(l.tls_refusals, 0);
    const char *want[] = {
        "alters one octet of the TLS records",
        "TLS handshake with mx.diversicomcorp.com failed",
        "connects again and sends it in clear",
        "in the clear (the TLS handshake had failed",
    };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(may, want[i]));
        if (!strstr(may, want[i]))
            printf("  narration lacks \"%s\"\n", want[i]);
    }
    g_autofree char *enc = break_handshake(MS_MTA_TLS_ENCRYPT, &st, &l, &delivered);
    CU_ASSERT_FALSE(delivered);
    CU_ASSERT_EQUAL(st.hops_clear, 0);
    CU_ASSERT_EQUAL(l.hops_read, 0);
    CU_ASSERT_TRUE(l.tls_refusals >= 1);
    CU_ASSERT_PTR_NULL(strstr(enc, "sends it in clear"));
}

/* A raw client on Alice's PC: our TLS endpoint over simulated TCP to
 * smtp.isp-a.net's port 465 (implicit TLS), which reads the greeting and
 * then closes the connection without close_notify. */
typedef struct {
    MsTcp *tcp;
    MsTls *tls;
    MsRng rng;
    gboolean greeted;
} RawClient;

static void
raw_flush(RawClient *c, MsTcpConnId conn)
{
    GBytes *out;
    while ((out = ms_tls_take_output(c->tls))) {
        ms_tcp_send_bytes(c->tcp, conn, out);
    }
}

static void
raw_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    (void) tcp;
    RawClient *c = ud;
    ms_tls_start(c->tls);
    raw_flush(c, conn);
}

static void
raw_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    RawClient *c = ud;
    ms_tls_feed(c->tls, data, len);
    raw_flush(c, conn);
    g_autoptr(GBytes) plain = ms_tls_take_plaintext(c->tls);
    if (plain && !c->greeted) {
        c->greeted = TRUE;
        ms_tcp_close(tcp, conn); /* a FIN, and no close_notify before it */
    }
}

static void
raw_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    (void) tcp;
    (void) conn;
    (void) why;
    (void) ud;
}

static const MsTcpCallbacks raw_cb = { raw_connected, raw_data, raw_closed };

/* Runs `lesson` (TLS switched on when it says tls="false") with a raw TLS
 * client at `from` that connects to `server`:`port`, reads the greeting and
 * closes with a FIN but no close_notify; returns the narration. */
static char *
story_of_truncation(const char *lesson, const char *from, const char *server, guint16 port,
                    gboolean *greeted)
{
    g_autofree char *xml = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(lesson, &xml, NULL, NULL));
    char *off = strstr(xml, " tls=\"false\"");
    if (off)
        memset(off, ' ', strlen(" tls=\"false\""));
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(xml, strlen(xml), lesson, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    MsNet *net = ms_world_net(w);
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ms_trace_add_sink(ms_net_trace(net), ms_narrator_record,
                      ms_narrator_new(net, f, MS_NARRATE_MAIL, FALSE), ms_narrator_free);
    RawClient c = { .tcp = ms_world_tcp(w) };
    ms_rng_init(&c.rng, 5, 5);
    MsTlsConfig cfg = { .role = MS_TLS_CLIENT, .rng = &c.rng, .server_name = server };
    c.tls = ms_tls_new(&cfg);
    MsHostId pc = ms_net_host_by_name(net, from);
    MsHostId srv = ms_net_host_by_name(net, server);
    CU_ASSERT_FATAL(pc != G_MAXUINT32 && srv != G_MAXUINT32);
    ms_tcp_connect(c.tcp, pc, ms_net_host_addr(net, srv), port, &raw_cb, &c);
    ms_world_run(w, ms_world_default_until(w));
    *greeted = c.greeted;
    fflush(f);
    rewind(f);
    GString *story = g_string_new(NULL);
    char line[1024];
    while (fgets(line, sizeof line, f))
        g_string_append(story, line);
    fclose(f);
    ms_tls_free(c.tls);
    return g_string_free(story, FALSE);
}

/* RFC 8446 6.1: the server's session sees the FIN without close_notify
 * and tells it as a truncation, on SMTPS and on IMAPS alike; orderly
 * sessions (every lesson) never do. */
static void
test_truncation(void)
{
    gboolean greeted = FALSE;
    g_autofree char *story =
        story_of_truncation(LESSON1, "pc.alice-home.example", "smtp.isp-a.net", 465, &greeted);
    CU_ASSERT_TRUE(greeted);
    const char *want = "smtp.isp-a.net: the TLS session with pc.alice-home.example ended with a "
                       "TCP FIN but no close_notify (connection closed without close_notify: "
                       "the data may have been truncated). RFC 8446 6.1 counts that as a "
                       "truncation";
    CU_ASSERT_PTR_NOT_NULL(strstr(story, want));
    /* told once: Alice's own sessions close in order */
    const char *first = strstr(story, "no close_notify");
    CU_ASSERT_TRUE(first && !strstr(first + 1, "no close_notify"));

    /* The IMAP server's sessions too (lesson 19's devices read over TLS). */
    greeted = FALSE;
    g_autofree char *imap =
        story_of_truncation("scenarios/teaching/19-push.xml", "pc.alice-home.example",
                            "mx.diversicomcorp.com", 993, &greeted);
    CU_ASSERT_TRUE(greeted);
    const char *first_imap = strstr(imap, "mx.diversicomcorp.com: the TLS session with "
                                          "pc.alice-home.example ended with a TCP FIN but no "
                                          "close_notify");
    CU_ASSERT_PTR_NOT_NULL(first_imap);
    /* told once: the devices' own sessions close in order */
    const char *once = strstr(imap, "no close_notify");
    CU_ASSERT_TRUE(once && !strstr(once + 1, "no close_notify"));
}

int
main(void)
{
    static const MsTestCase tests[] = {
        { "policies as Postfix has them", test_policies },
        { "expect kinds, failing where they must", test_expect_kinds },
        { "TLS unless tls=\"false\"; TLS settings refused there", test_default_on },
        { "same seed, same records and keys", test_deterministic },
        { "a failed handshake at may falls back to clear text", test_fallback_to_clear },
        { "a FIN without close_notify is told as a truncation", test_truncation },
        { NULL, NULL },
    };
    return ms_test_main("mail_tls", tests);
}
