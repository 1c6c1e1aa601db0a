/* Tests of the MTA profiles as servers and as clients: for each of
 * Postfix, Exim and OpenSMTPD, the SMTP server configured as the
 * simulation configures it (ms_mta_policy_smtp_config, the banner, the
 * acceptance text) answers a whole session byte for byte as the expected
 * transcript below, on port 25 (no AUTH) and on submission (AUTH); DSN
 * parameters are accepted where DSN is advertised; and an MTA's connection
 * attempt to a host that is down ends at the profile's connect timeout
 * (Postfix 30 s) or at the TCP layer's own SYN give-up when that comes
 * first, with no SYN sent after it. */
#include "testlib.h"
#include "mailsim/mail.h"
#include "mailsim/mta_profile.h"
#include "mailsim/tcp.h"

#include <string.h>

#define DATE "Mon, 07 Dec 2026 02:13:54 +0000"

/* Sets the acceptance text the way sim/mail/mail_smtpd.c does, with a
 * fixed queue id. */
static void
data_hook(const MsSmtpSession *ss, const MsSmtpEnvelope *env, GBytes *message, MsSmtpReply *reply,
          gpointer ud)
{
    const MsMtaPolicy *p = ud;
    (void) ss;
    (void) env;
    (void) message;
    const char *qid = p->profile == MS_MTA_EXIM        ? "1kXyZa-0001Ab-CD"
                      : p->profile == MS_MTA_OPENSMTPD ? "3f2a9c41"
                                                       : "4F1A2B3C4D";
    g_autofree char *text = ms_mta_profile_queued_text(p->profile, qid);
    char enh[sizeof reply->enhanced];
    g_strlcpy(enh, reply->enhanced, sizeof enh);
    ms_smtp_reply_set(reply, 250, enh, text);
}

/* Refuses recipients as sim/mail/mail_smtpd.c does: "nobody@" is an
 * unknown user, a domain other than mx.test is relaying, "grey@" is
 * greylisted. */
static void
rcpt_hook(const MsSmtpSession *ss, const char *rcpt, MsSmtpReply *reply, gpointer ud)
{
    const MsMtaPolicy *p = ud;
    (void) ss;
    if (g_str_has_prefix(rcpt, "nobody@"))
        ms_mta_profile_refusal(p->profile, MS_MTA_REFUSE_UNKNOWN_USER, rcpt, reply);
    else if (g_str_has_prefix(rcpt, "grey@"))
        ms_mta_profile_refusal(p->profile, MS_MTA_REFUSE_GREYLIST, rcpt, reply);
    else if (!g_str_has_suffix(rcpt, "@mx.test"))
        ms_mta_profile_refusal(p->profile, MS_MTA_REFUSE_RELAY, rcpt, reply);
}

/* One session with a server of `profile` on port 25 or 587; returns all it
 * sent (caller frees). Fed in one piece and one octet at a time: both must
 * give the same bytes. */
static char *
session(MsMtaProfile profile, gboolean submission, const char *input)
{
    MsMtaPolicy p;
    ms_mta_policy_defaults(profile, &p);
    g_autofree char *banner = ms_mta_profile_banner(profile, "mx.test", DATE);
    char *outs[2];
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        MsSmtpServerConfig cfg = { 0 };
        cfg.hostname = "mx.test";
        cfg.client_address = "192.0.2.7";
        cfg.greeting_text = banner;
        ms_mta_policy_smtp_config(&p, submission, &cfg);
        MsSmtpServerHooks hooks = { 0 };
        hooks.data = data_hook;
        hooks.rcpt = rcpt_hook;
        g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &hooks, &p);
        ms_smtp_server_start(s);
        gsize len = strlen(input);
        for (gsize i = 0; i < len; i += bytewise ? 1 : len)
            ms_smtp_server_feed(s, (const guint8 *) input + i, bytewise ? 1 : len);
        g_autoptr(GBytes) out = ms_smtp_server_take_output(s);
        gsize n = 0;
        const char *d = out ? g_bytes_get_data(out, &n) : "";
        outs[bytewise] = g_strndup(d, n);
    }
    CU_ASSERT_STRING_EQUAL(outs[0], outs[1]);
    g_free(outs[1]);
    return outs[0];
}

#define SESSION                                                                                    \
    "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@mx.test>\r\nDATA\r\n"                  \
    "Subject: t\r\n\r\nhi\r\n.\r\nRSET\r\nNOOP\r\nHELP\r\nVRFY x\r\nQUIT\r\n"

/* The expected transcripts, from each server's sources (see
 * sim/proto/smtp_server.c, "Dialects"). */
static const char postfix_25[] = "220 mx.test ESMTP Postfix\r\n"
                                 "250-mx.test\r\n"
                                 "250-PIPELINING\r\n"
                                 "250-SIZE 10240000\r\n"
                                 "250-VRFY\r\n"
                                 "250-ETRN\r\n"
                                 "250-ENHANCEDSTATUSCODES\r\n"
                                 "250-8BITMIME\r\n"
                                 "250 DSN\r\n"
                                 "250 2.1.0 Ok\r\n"
                                 "250 2.1.5 Ok\r\n"
                                 "354 End data with <CR><LF>.<CR><LF>\r\n"
                                 "250 2.0.0 Ok: queued as 4F1A2B3C4D\r\n"
                                 "250 2.0.0 Ok\r\n"
                                 "250 2.0.0 Ok\r\n"
                                 "502 5.5.2 Error: command not recognized\r\n"
                                 "252 2.0.0 x\r\n"
                                 "221 2.0.0 Bye\r\n";

static const char exim_25[] =
    "220 mx.test ESMTP Exim 4.96 " DATE "\r\n"
    "250-mx.test Hello client.test [192.0.2.7]\r\n"
    "250-SIZE 52428800\r\n"
    "250-8BITMIME\r\n"
    "250-PIPELINING\r\n"
    "250 HELP\r\n"
    "250 OK\r\n"
    "250 Accepted\r\n"
    "354 Enter message, ending with \".\" on a line by itself\r\n"
    "250 OK id=1kXyZa-0001Ab-CD\r\n"
    "250 Reset OK\r\n"
    "250 OK\r\n"
    "214-Commands supported:\r\n"
    "214 HELO EHLO MAIL RCPT DATA NOOP QUIT RSET HELP\r\n"
    "252 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    "221 mx.test closing connection\r\n";

static const char opensmtpd_25[] =
    "220 mx.test ESMTP OpenSMTPD\r\n"
    "250-mx.test Hello client.test [192.0.2.7], pleased to meet you\r\n"
    "250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-SIZE 36700160\r\n"
    "250-DSN\r\n"
    "250 HELP\r\n"
    "250 2.0.0 Ok\r\n"
    "250 2.1.5 Destination address valid: Recipient ok\r\n"
    "354 Enter mail, end with \".\" on a line by itself\r\n"
    "250 2.0.0 3f2a9c41 Message accepted for delivery\r\n"
    "250 2.0.0 Reset state\r\n"
    "250 2.0.0 Ok\r\n"
    "214-2.0.0 This is OpenSMTPD\r\n"
    "214-2.0.0 To report bugs in the implementation, please contact bugs@openbsd.org\r\n"
    "214-2.0.0 with full details\r\n"
    "214 2.0.0 End of HELP info\r\n"
    "500 5.5.1 Invalid command: Command unrecognized\r\n"
    "221 2.0.0 Bye\r\n";

static void
test_postfix_session(void)
{
    g_autofree char *out = session(MS_MTA_POSTFIX, FALSE, SESSION);
    CU_ASSERT_STRING_EQUAL(out, postfix_25);
}

static void
test_exim_session(void)
{
    g_autofree char *out = session(MS_MTA_EXIM, FALSE, SESSION);
    CU_ASSERT_STRING_EQUAL(out, exim_25);
}

static void
test_opensmtpd_session(void)
{
    g_autofree char *out = session(MS_MTA_OPENSMTPD, FALSE, SESSION);
    CU_ASSERT_STRING_EQUAL(out, opensmtpd_25);
}

/* On submission each server offers AUTH, at its own place in the list. */
static void
test_submission_offers_auth(void)
{
    static const struct {
        MsMtaProfile profile;
        const char *ehlo;
    } cases[] = {
        { MS_MTA_POSTFIX, "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
                          "250-ETRN\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
                          "250-8BITMIME\r\n250 DSN\r\n" },
        { MS_MTA_EXIM, "250-mx.test Hello client.test [192.0.2.7]\r\n250-SIZE 52428800\r\n"
                       "250-8BITMIME\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n" },
        { MS_MTA_OPENSMTPD, "250-mx.test Hello client.test [192.0.2.7], pleased to meet you\r\n"
                            "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SIZE 36700160\r\n"
                            "250-DSN\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = session(cases[i].profile, TRUE, "EHLO client.test\r\n");
        const char *ehlo = strchr(out, '\n') + 1; /* after the banner */
        CU_ASSERT_STRING_EQUAL(ehlo, cases[i].ehlo);
        g_autofree char *p25 = session(cases[i].profile, FALSE, "EHLO client.test\r\n");
        CU_ASSERT_PTR_NULL(strstr(p25, "AUTH"));
    }
}

/* Queue ids in each server's form; Postfix's as before. */
static void
test_queue_ids(void)
{
    char id[17];
    ms_mta_profile_queue_id(MS_MTA_POSTFIX, 9, 1, id, sizeof id);
    CU_ASSERT_STRING_EQUAL(id, "90001");
    ms_mta_profile_queue_id(MS_MTA_EXIM, 9, 62 * 62 + 1, id, sizeof id);
    CU_ASSERT_STRING_EQUAL(id, "000101-000009-00");
    ms_mta_profile_queue_id(MS_MTA_EXIM, 70, 61, id, sizeof id);
    CU_ASSERT_STRING_EQUAL(id, "00000z-000018-00");
    ms_mta_profile_queue_id(MS_MTA_OPENSMTPD, 9, 1, id, sizeof id);
    CU_ASSERT_STRING_EQUAL(id, "00900001");
}

/* Refused recipients, in each server's words. */
static void
test_refusals(void)
{
    const char *in = "EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<nobody@mx.test>\r\n"
                     "RCPT TO:<x@far.test>\r\nRCPT TO:<grey@mx.test>\r\n";
    g_autofree char *pf = session(MS_MTA_POSTFIX, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(pf, "250 2.1.0 Ok\r\n"
                   "550 5.1.1 <nobody@mx.test>: Recipient address rejected: User unknown in "
                   "local recipient table\r\n"
                   "554 5.7.1 <x@far.test>: Relay access denied\r\n"
                   "450 4.2.0 <grey@mx.test>: Recipient address rejected: Greylisted, see "
                   "http://postgrey.schweikert.ch/help/mx.test.html\r\n"));
    g_autofree char *ex = session(MS_MTA_EXIM, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(strstr(ex, "250 OK\r\n550 Unrouteable address\r\n"
                                      "550 relay not permitted\r\n"
                                      "450 Greylisted, try again later\r\n"));
    g_autofree char *os = session(MS_MTA_OPENSMTPD, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(strstr(os, "250 2.0.0 Ok\r\n"
                                      "550 Invalid recipient: <nobody@mx.test>\r\n"
                                      "550 Invalid recipient: <x@far.test>\r\n"
                                      "450 4.2.0 Greylisted, try again later\r\n"));
}

/* HELO sessions: Postfix and OpenSMTPD still send enhanced codes (they
 * are part of their reply strings), Exim never does. */
static void
test_helo_session(void)
{
    g_autofree char *pf = session(MS_MTA_POSTFIX, FALSE, "HELO c\r\nMAIL FROM:<a@b.test>\r\n");
    CU_ASSERT_STRING_EQUAL(pf, "220 mx.test ESMTP Postfix\r\n250 mx.test\r\n250 2.1.0 Ok\r\n");
    g_autofree char *ex = session(MS_MTA_EXIM, FALSE, "HELO c\r\nFOO\r\n");
    CU_ASSERT_STRING_EQUAL(ex,
                           "220 mx.test ESMTP Exim 4.96 " DATE
                           "\r\n250 mx.test Hello c [192.0.2.7]\r\n500 unrecognized command\r\n");
    g_autofree char *os = session(MS_MTA_OPENSMTPD, FALSE, "HELO c\r\nNOOP\r\n");
    CU_ASSERT_STRING_EQUAL(os, "220 mx.test ESMTP OpenSMTPD\r\n250 mx.test Hello c [192.0.2.7], "
                               "pleased to meet you\r\n250 2.0.0 Ok\r\n");
}

/* DSN (RFC 3461): its MAIL and RCPT parameters are accepted where DSN is
 * advertised (Postfix, OpenSMTPD) and refused with 555 where it is not
 * (Exim's default); bad values get 501. */
static void
test_dsn_parameters(void)
{
    const char *in = "EHLO c\r\nMAIL FROM:<a@b.test> RET=HDRS ENVID=Q+2B1\r\n"
                     "RCPT TO:<x@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@mx.test\r\n"
                     "RCPT TO:<y@mx.test> NOTIFY=NEVER,DELAY\r\n"
                     "RCPT TO:<z@mx.test> ORCPT=rfc822\r\n";
    g_autofree char *pf = session(MS_MTA_POSTFIX, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(strstr(pf, "250 DSN\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                                      "501 5.5.4 Bad NOTIFY parameter\r\n"
                                      "501 5.5.4 Bad ORCPT parameter\r\n"));
    g_autofree char *os = session(MS_MTA_OPENSMTPD, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(strstr(os, "250 2.0.0 Ok\r\n250 2.1.5 Destination"));
    g_autofree char *ex = session(MS_MTA_EXIM, FALSE, in);
    CU_ASSERT_PTR_NOT_NULL(strstr(ex, "250 HELP\r\n555 Unsupported parameter\r\n"));
    /* RET takes FULL or HDRS only. */
    g_autofree char *bad =
        session(MS_MTA_POSTFIX, FALSE, "EHLO c\r\nMAIL FROM:<a@b.test> RET=ALL\r\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(bad, "501 5.5.4 Bad RET parameter\r\n"));
}

/* ETRN (RFC 1985), Postfix only: with its default fast_flush_domains no
 * domain is eligible. */
static void
test_postfix_etrn(void)
{
    g_autofree char *pf = session(MS_MTA_POSTFIX, FALSE, "EHLO c\r\nETRN example.org\r\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(pf, "250 DSN\r\n459 <example.org>: service unavailable\r\n"));
    g_autofree char *os = session(MS_MTA_OPENSMTPD, FALSE, "EHLO c\r\nETRN example.org\r\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(os, "250 HELP\r\n500 5.5.1 Invalid command"));
}

/* ---- the connect timeout ------------------------------------------------ */

typedef struct {
    MsTime closed_at; /* the MTA's connection to the down host ended */
    MsTime last_syn;  /* the last SYN (first or again) towards it */
    char *close_text;
} Watch;

static void
watch_sink(const MsTraceRecord *r, gpointer ud)
{
    Watch *w = ud;
    if (r->kind == MS_TRACE_TCP_CLOSE && !w->close_text) {
        w->closed_at = r->at;
        w->close_text = g_strdup(r->text);
    } else if (r->kind == MS_TRACE_TCP_CONNECT || r->kind == MS_TRACE_TCP_RETRANSMIT) {
        w->last_syn = r->at;
    }
}

/* A server of `profile` (connect timeout `timeout`, 0: the profile's)
 * relays a message through a smarthost that is down; returns when the
 * first connection attempt ended, with what the trace said and the
 * recipient's detail. `flow`: flow-level TCP instead of packets. */
static MsTime
attempt_end(MsMtaProfile profile, MsTime timeout, gboolean flow, Watch *w, char **detail)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) n = ms_net_new(e);
    g_autoptr(MsTcp) t = flow ? ms_tcp_new_flow(n) : ms_tcp_new(n);
    MsHostId a = ms_net_add_host(n, "mta.example", 0x0A000001u, MS_ROLE_MAILSERVER, NULL);
    MsHostId b = ms_net_add_host(n, "relay.example", 0x0A000002u, MS_ROLE_MAILSERVER, NULL);
    MsLinkParams lp = { 10 * MS_TIME_MS, 10000000, 1500, 0.0, 1 << 20 };
    ms_net_add_link(n, a, b, &lp, NULL);
    ms_net_set_host_up(n, b, FALSE);
    g_autoptr(MsMail) m = ms_mail_new(n, t);
    MsMtaPolicy p;
    ms_mta_policy_defaults(profile, &p);
    if (timeout)
        p.connect_timeout = timeout;
    const char *doms[] = { "src.example", NULL };
    guint s = ms_mail_add_server(m, a, doms, &p, NULL);
    ms_mail_set_smarthost(m, s, b);
    ms_trace_add_sink(ms_net_trace(n), watch_sink, w, NULL);
    const char *rcpts[] = { "bob@dst.example", NULL };
    g_autoptr(GBytes) data = g_bytes_new_static("Subject: x\r\n\r\nhi\r\n", 18);
    guint32 id = ms_mail_inject(m, s, "alice@src.example", rcpts, data, NULL, NULL);
    /* Long enough for any give-up, short of the first retry (>= 300 s). */
    ms_engine_run(e, 290 * MS_TIME_S);
    const MsMessageRecord *rec = ms_mail_message(m, id);
    const MsRcptRecord *rr = &g_array_index(rec->rcpts, MsRcptRecord, 0);
    *detail = g_strdup(rr->detail);
    CU_ASSERT_EQUAL(rr->deferrals, 1);
    return w->closed_at;
}

/* How long the TCP layer itself tries a SYN to a down host. */
static MsTime
tcp_give_up(void)
{
    Watch w = { 0 };
    g_autofree char *detail = NULL;
    /* a connect timeout beyond any SYN give-up */
    MsTime at = attempt_end(MS_MTA_EXIM, 280 * MS_TIME_S, FALSE, &w, &detail);
    g_free(w.close_text);
    return at;
}

static void
test_connect_timeout(void)
{
    MsTime tcp = tcp_give_up();
    CU_ASSERT(tcp > 30 * MS_TIME_S);
    static const struct {
        MsMtaProfile profile;
        MsTime timeout;
    } cases[] = {
        { MS_MTA_POSTFIX, 30 * MS_TIME_S },   /* smtp_connect_timeout */
        { MS_MTA_EXIM, 300 * MS_TIME_S },     /* smtp transport connect_timeout 5m */
        { MS_MTA_OPENSMTPD, 300 * MS_TIME_S } /* mta_session.c */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsMtaPolicy p;
        ms_mta_policy_defaults(cases[i].profile, &p);
        CU_ASSERT_EQUAL(ms_mta_connect_timeout(&p), cases[i].timeout);
        for (int flow = 0; flow < 2; flow++) {
            Watch w = { 0 };
            g_autofree char *detail = NULL;
            MsTime end = attempt_end(cases[i].profile, 0, flow, &w, &detail);
            MsTime expect = MIN(cases[i].timeout, tcp);
            if (!flow) {
                CU_ASSERT_EQUAL(end, expect);
            } else { /* the flow's SYN schedule is its own; the timeout is not */
                CU_ASSERT(cases[i].timeout < tcp ? end == expect : end <= cases[i].timeout);
            }
            /* no SYN after the attempt was given up */
            CU_ASSERT(w.last_syn < end);
            CU_ASSERT_PTR_NOT_NULL(strstr(detail, "connection to relay.example: timed out"));
            g_free(w.close_text);
        }
    }
    /* Any profile honours its own timeout when shorter than TCP's. */
    Watch w = { 0 };
    g_autofree char *detail = NULL;
    CU_ASSERT_EQUAL(attempt_end(MS_MTA_OPENSMTPD, 10 * MS_TIME_S, FALSE, &w, &detail),
                    10 * MS_TIME_S);
    CU_ASSERT_PTR_NOT_NULL(strstr(w.close_text, "abandoned"));
    g_free(w.close_text);
}

/* TLS off (the default): the server config says nothing of TLS. On: a
 * modern provider's defaults (STARTTLS on 587 and 25, AUTH only inside
 * TLS on 587, port 25 opportunistic), and each smtpd level on port 25. */
static void
test_tls_config(void)
{
    for (MsMtaProfile pr = MS_MTA_POSTFIX; pr <= MS_MTA_OPENSMTPD; pr++) {
        MsMtaPolicy p;
        ms_mta_policy_defaults(pr, &p);
        CU_ASSERT(!p.tls);
        CU_ASSERT_EQUAL(p.smtpd_tls_level, MS_MTA_TLS_MAY);
        CU_ASSERT_EQUAL(p.smtp_tls_level, MS_MTA_TLS_MAY);
        CU_ASSERT(p.tls_auth_only);
        for (int submission = 0; submission < 2; submission++) {
            MsSmtpServerConfig cfg = { 0 };
            ms_mta_policy_smtp_config(&p, submission, &cfg);
            CU_ASSERT(!cfg.offer_starttls && !cfg.auth_requires_tls && !cfg.tls_required);
        }
        p.tls = TRUE;
        MsSmtpServerConfig sub = { 0 }, mx = { 0 };
        ms_mta_policy_smtp_config(&p, TRUE, &sub);
        ms_mta_policy_smtp_config(&p, FALSE, &mx);
        CU_ASSERT(sub.offer_starttls && sub.auth_requires_tls && sub.offer_auth);
        CU_ASSERT(!sub.tls_required);
        CU_ASSERT(mx.offer_starttls && !mx.tls_required && !mx.offer_auth);
        p.tls_auth_only = FALSE;
        MsSmtpServerConfig sub2 = { 0 };
        ms_mta_policy_smtp_config(&p, TRUE, &sub2);
        CU_ASSERT(sub2.offer_starttls && !sub2.auth_requires_tls);
        static const struct {
            MsMtaTlsLevel level;
            gboolean offer, required;
        } levels[] = {
            { MS_MTA_TLS_NONE, FALSE, FALSE },
            { MS_MTA_TLS_MAY, TRUE, FALSE },
            { MS_MTA_TLS_ENCRYPT, TRUE, TRUE },
        };
        for (guint i = 0; i < G_N_ELEMENTS(levels); i++) {
            p.smtpd_tls_level = levels[i].level;
            MsSmtpServerConfig c25 = { 0 }, c587 = { 0 };
            ms_mta_policy_smtp_config(&p, FALSE, &c25);
            ms_mta_policy_smtp_config(&p, TRUE, &c587);
            CU_ASSERT_EQUAL(c25.offer_starttls, levels[i].offer);
            CU_ASSERT_EQUAL(c25.tls_required, levels[i].required);
            /* the level is port 25's: submission always offers, never requires */
            CU_ASSERT(c587.offer_starttls && !c587.tls_required);
        }
    }
    CU_ASSERT_STRING_EQUAL(ms_mta_tls_level_to_string(MS_MTA_TLS_VERIFY), "verify");
    CU_ASSERT_STRING_EQUAL(ms_mta_tls_level_to_string(MS_MTA_TLS_NONE), "none");
}

int
main(void)
{
    static const MsTestCase tests[] = {
        { "postfix: EHLO and reply texts", test_postfix_session },
        { "exim: EHLO and reply texts", test_exim_session },
        { "opensmtpd: EHLO and reply texts", test_opensmtpd_session },
        { "AUTH on submission only", test_submission_offers_auth },
        { "HELO sessions", test_helo_session },
        { "refused recipients", test_refusals },
        { "queue ids", test_queue_ids },
        { "DSN parameters", test_dsn_parameters },
        { "postfix ETRN", test_postfix_etrn },
        { "connect timeout per profile", test_connect_timeout },
        { "TLS in the server config", test_tls_config },
        { NULL, NULL },
    };
    return ms_test_main("mta_profile", tests);
}
