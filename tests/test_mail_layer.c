/* Unit tests of the mail layer through its public API: the MTA profiles'
 * retry schedules (first retry, growth, cap and give-up, both sides of each
 * boundary), the backup MX taking the mail while the primary is down, the
 * RFC 3464 DSN for an unknown user byte for byte, the accounting (every
 * accepted recipient delivered, bounced or queued, and a recipient wrongly
 * marked queued reported), and the checks at the layer's entry points. */
#include "testlib.h"
#include "mailsim/world.h"
#include "mailsim/workload.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* --- retry schedules -------------------------------------------------------- */

typedef struct {
    MsMtaProfile profile;
    guint attempt;
    MsTime queued_at, now;
    MsTime expect; /* absolute time, or MS_TIME_INFINITE */
    const char *why;
} RetryCase;

#define SEC   MS_TIME_S
#define MINS  MS_TIME_MIN
#define HRS   MS_TIME_H
#define DAYS  MS_TIME_DAY
#define NEVER MS_TIME_INFINITE

static const RetryCase retry_cases[] = {
    /* Postfix: the time in queue (whole seconds), at least 300 s, at most
     * 4000 s (qmgr_active.c); give up after 5 days. */
    { MS_MTA_POSTFIX, 1, 0, 0, 300 * SEC, "first retry after minimal_backoff_time" },
    { MS_MTA_POSTFIX, 2, 0, 299 * SEC, 600 * SEC, "an age below the floor: 300 s, then the scan" },
    { MS_MTA_POSTFIX, 2, 0, 1000 * SEC, 2100 * SEC,
      "the pause is the time in queue, then the scan" },
    { MS_MTA_POSTFIX, 2, 0, 1200 * SEC, 2400 * SEC, "due exactly at a scan: taken up then" },
    { MS_MTA_POSTFIX, 2, 0, 1199 * SEC + 999 * MS_TIME_MS, 2400 * SEC,
      "the age in whole seconds (1199 s: due at 2398.999 s)" },
    { MS_MTA_POSTFIX, 4, 0, 4000 * SEC, 8100 * SEC, "at the cap exactly" },
    { MS_MTA_POSTFIX, 5, 0, 4400 * SEC, 8400 * SEC, "just past the cap: 4000 s" },
    { MS_MTA_POSTFIX, 40, 0, 2 * DAYS, 2 * DAYS + 4200 * SEC, "far past the cap" },
    { MS_MTA_POSTFIX, 40, 0, 5 * DAYS - 4000 * SEC, 5 * DAYS,
      "landing exactly at give-up still retries" },
    { MS_MTA_POSTFIX, 40, 0, 5 * DAYS - 4000 * SEC + 1, NEVER, "one nanosecond past give-up" },
    { MS_MTA_POSTFIX, 1, 300 * SEC, 300 * SEC + 5 * DAYS - 4000 * SEC, 300 * SEC + 5 * DAYS,
      "give-up counts from queued_at" },
    /* Exim: F,2h,15m; G,16h,1h,1.5; F,4d,6h. */
    { MS_MTA_EXIM, 1, 0, 0, 15 * MINS, "first retry after 15 min" },
    { MS_MTA_EXIM, 8, 0, 2 * HRS - 1, 2 * HRS - 1 + 15 * MINS, "just inside the fixed 2 h phase" },
    { MS_MTA_EXIM, 9, 0, 2 * HRS, 3 * HRS, "the geometric phase starts at 1 h" },
    { MS_MTA_EXIM, 10, 0, 3 * HRS, 3 * HRS + 3 * HRS / 2, "x1.5" },
    { MS_MTA_EXIM, 11, 0, 5 * HRS, 5 * HRS + 9 * HRS / 4, "x1.5 twice" },
    { MS_MTA_EXIM, 16, 0, 3 * HRS, 3 * HRS + 61509375 * MS_TIME_MS,
      "the first step past 16 h: 1.5^7 h" },
    { MS_MTA_EXIM, 30, 0, 3 * HRS, 3 * HRS + 61509375 * MS_TIME_MS, "growth stops once past 16 h" },
    { MS_MTA_EXIM, 30, 0, 16 * HRS - 1, 16 * HRS - 1 + 61509375 * MS_TIME_MS,
      "just inside the geometric phase" },
    { MS_MTA_EXIM, 30, 0, 16 * HRS, 22 * HRS, "every 6 h from 16 h on" },
    { MS_MTA_EXIM, 30, 0, 4 * DAYS - 6 * HRS, 4 * DAYS,
      "landing exactly at give-up still retries" },
    { MS_MTA_EXIM, 30, 0, 4 * DAYS - 6 * HRS + 1, NEVER, "one nanosecond past give-up" },
    /* OpenSMTPD: creation + 400 s x n^2; 4 days. */
    { MS_MTA_OPENSMTPD, 1, 0, 1, 400 * SEC, "first retry at creation + 400 s" },
    { MS_MTA_OPENSMTPD, 3, 1000, 1000 + 1, 1000 + 3600 * SEC, "n^2: 400 s x 9" },
    { MS_MTA_OPENSMTPD, 1, 0, 400 * SEC - 1, 400 * SEC, "a due time still ahead is kept" },
    { MS_MTA_OPENSMTPD, 1, 0, 400 * SEC, 800 * SEC, "a due time that is now moves to now + 400 s" },
    { MS_MTA_OPENSMTPD, 29, 0, 1, 336400 * SEC, "29^2 x 400 s is within 4 days" },
    { MS_MTA_OPENSMTPD, 30, 0, 1, NEVER, "30^2 x 400 s is past 4 days" },
    { MS_MTA_OPENSMTPD, 1, 0, 4 * DAYS - 400 * SEC, 4 * DAYS,
      "landing exactly at give-up still retries" },
    { MS_MTA_OPENSMTPD, 1, 0, 4 * DAYS - 400 * SEC + 1, NEVER, "one nanosecond past give-up" },
};

static void
test_retry_schedules(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(retry_cases); i++) {
        const RetryCase *c = &retry_cases[i];
        MsMtaPolicy p;
        ms_mta_policy_defaults(c->profile, &p);
        MsTime got = ms_mta_next_retry(&p, c->attempt, c->queued_at, c->now);
        if (got != c->expect)
            fprintf(stderr,
                    "%s attempt %u: %s: got %" G_GINT64_FORMAT ", want %" G_GINT64_FORMAT "\n",
                    ms_mta_profile_to_string(c->profile), c->attempt, c->why, got, c->expect);
        CU_ASSERT_EQUAL(got, c->expect);
    }
}

static void
test_profile_defaults(void)
{
    MsMtaPolicy p;
    ms_mta_policy_defaults(MS_MTA_POSTFIX, &p);
    CU_ASSERT_EQUAL(p.retry_first, 300 * SEC);
    CU_ASSERT_EQUAL(p.retry_max, 4000 * SEC);
    CU_ASSERT_EQUAL(p.give_up, 5 * DAYS);
    CU_ASSERT_EQUAL(p.max_size, 10240000);
    CU_ASSERT_EQUAL(p.max_recipients, 1000);
    CU_ASSERT_FALSE(p.greylist);
    ms_mta_policy_defaults(MS_MTA_EXIM, &p);
    CU_ASSERT_EQUAL(p.profile, MS_MTA_EXIM);
    CU_ASSERT_EQUAL(p.max_size, 50 * 1024 * 1024);
    ms_mta_policy_defaults(MS_MTA_OPENSMTPD, &p);
    CU_ASSERT_EQUAL(p.retry_max, 0);
    CU_ASSERT_EQUAL(p.give_up, 4 * DAYS);
    CU_ASSERT_STRING_EQUAL(ms_mta_profile_to_string(MS_MTA_POSTFIX), "postfix");
    CU_ASSERT_STRING_EQUAL(ms_mta_profile_to_string(MS_MTA_EXIM), "exim");
    CU_ASSERT_STRING_EQUAL(ms_mta_profile_to_string(MS_MTA_OPENSMTPD), "opensmtpd");
    CU_ASSERT_STRING_EQUAL(ms_mta_profile_to_string((MsMtaProfile) 3), "?");
}

/* --- a small world: a backup MX and its primary ------------------------------- */

/* alice@a.example submits three messages at smtp.a.example: to bob, who
 * exists at b.example's primary MX (down for the first 15 minutes), to
 * nobody@b.example, who does not, and to carol@a.example, who does not
 * exist at her own server. b.example's second MX is a backup on a relay. */
static const char fallback_xml[] =
    "<scenario version=\"1\" name=\"mx-fallback\" seed=\"1\" until=\"1h\">\n"
    "  <host id=\"pc\" role=\"client\" address=\"192.0.2.10\"/>\n"
    "  <host id=\"r\" role=\"router\" address=\"192.0.2.1\"/>\n"
    "  <host id=\"smtp-a\" name=\"smtp.a.example\" role=\"mailserver\" address=\"192.0.2.25\"/>\n"
    "  <host id=\"dns\" role=\"dns\" address=\"198.18.0.53\"/>\n"
    "  <host id=\"mx1\" name=\"mx1.b.example\" role=\"mailserver\" address=\"203.0.113.25\"/>\n"
    "  <host id=\"mx2\" name=\"mx2.carrier.example\" role=\"relay\" address=\"198.18.7.25\"/>\n"
    "  <link a=\"pc\" b=\"r\"/>\n"
    "  <link a=\"r\" b=\"smtp-a\"/>\n"
    "  <link a=\"r\" b=\"dns\"/>\n"
    "  <link a=\"r\" b=\"mx1\"/>\n"
    "  <link a=\"r\" b=\"mx2\"/>\n"
    "  <dns mode=\"flat\" server=\"dns\"/>\n"
    "  <zone name=\"a.example\" server=\"dns\">\n"
    "    <mx preference=\"10\" exchange=\"smtp.a.example\"/>\n"
    "    <a name=\"smtp.a.example\" host=\"smtp-a\"/>\n"
    "  </zone>\n"
    "  <zone name=\"b.example\" server=\"dns\">\n"
    "    <mx preference=\"10\" exchange=\"mx1.b.example\"/>\n"
    "    <mx preference=\"20\" exchange=\"mx2.carrier.example\"/>\n"
    "    <a name=\"mx1.b.example\" host=\"mx1\"/>\n"
    "  </zone>\n"
    "  <zone name=\"carrier.example\" server=\"dns\">\n"
    "    <a name=\"mx2.carrier.example\" host=\"mx2\"/>\n"
    "  </zone>\n"
    "  <mailserver host=\"smtp-a\" domains=\"a.example\"><user name=\"alice\" "
    "password=\"pw\"/></mailserver>\n"
    "  <mailserver host=\"mx2\" backup-for=\"b.example\"/>\n"
    "  <mailserver host=\"mx1\" domains=\"b.example\"><user name=\"bob\" "
    "password=\"pw\"/></mailserver>\n"
    "  <client host=\"pc\" user=\"alice@a.example\" password=\"pw\" smtp=\"smtp-a\"/>\n"
    "  <fault kind=\"host-down\" target=\"mx1\" at=\"0s\" duration=\"15min\"/>\n"
    "  <message id=\"m1\" from=\"alice@a.example\" to=\"bob@b.example\" at=\"1s\"/>\n"
    "  <message id=\"m2\" from=\"alice@a.example\" to=\"nobody@b.example\" at=\"2s\"/>\n"
    "  <message id=\"m3\" from=\"alice@a.example\" to=\"carol@a.example\" at=\"3s\"/>\n"
    "</scenario>\n";

typedef struct {
    MsScenario *sc;
    MsWorld *w;
    MsMail *m;
    guint smtp_a, mx1, mx2; /* server indices */
} Fallback;

static gboolean
fallback_init(Fallback *f)
{
    g_autoptr(GError) error = NULL;
    memset(f, 0, sizeof *f);
    f->sc =
        ms_scenario_load_memory(fallback_xml, sizeof fallback_xml - 1, "mx-fallback.xml", &error);
    if (!f->sc) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    f->w = ms_world_new(f->sc, 0, &error);
    if (!f->w) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    f->m = ms_world_mail(f->w);
    f->smtp_a = ms_mail_server_by_host(f->m, (MsHostId) ms_scenario_find_host(f->sc, "smtp-a"));
    f->mx1 = ms_mail_server_by_host(f->m, (MsHostId) ms_scenario_find_host(f->sc, "mx1"));
    f->mx2 = ms_mail_server_by_host(f->m, (MsHostId) ms_scenario_find_host(f->sc, "mx2"));
    return TRUE;
}

static void
fallback_clear(Fallback *f)
{
    g_clear_pointer(&f->w, ms_world_free);
    g_clear_pointer(&f->sc, ms_scenario_free);
}

static const MsRcptRecord *
rcpt_of(MsMail *m, const char *label)
{
    const MsMessageRecord *r = ms_mail_message_by_label(m, label);
    return r && r->rcpts->len == 1 ? &g_array_index(r->rcpts, MsRcptRecord, 0) : NULL;
}

static guint
queue_len(MsMail *m, guint server)
{
    MsMailServerStats st;
    ms_mail_server_stats(m, server, &st);
    return st.queue_len;
}

/* While the primary is down the backup takes the message (and holds it:
 * it has no mailbox for b.example); once the primary is back, the backup
 * hands it on and it is stored there, three Received: lines later. */
static void
test_mx_fallback(void)
{
    Fallback f;
    CU_ASSERT_TRUE_FATAL(fallback_init(&f));
    CU_ASSERT_NOT_EQUAL_FATAL(f.mx2, G_MAXUINT);
    ms_world_run(f.w, 10 * MS_TIME_MIN);
    const MsRcptRecord *bob = rcpt_of(f.m, "m1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bob);
    CU_ASSERT_EQUAL(bob->state, MS_RCPT_QUEUED);
    CU_ASSERT_EQUAL(bob->where, ms_mail_server_host(f.m, f.mx2));
    CU_ASSERT_EQUAL(bob->hops, 2);
    CU_ASSERT_EQUAL(queue_len(f.m, f.smtp_a), 0); /* handed on to the backup */
    CU_ASSERT_EQUAL(queue_len(f.m, f.mx2), 2);    /* m1 and m2: any local part of b.example */
    CU_ASSERT_EQUAL(queue_len(f.m, f.mx1), 0);
    CU_ASSERT_PTR_NULL(ms_mail_store_messages(ms_mail_server_store(f.m, f.mx1), "nobody"));
    CU_ASSERT_EQUAL(ms_mail_store_messages(ms_mail_server_store(f.m, f.mx1), "bob")->len, 0);

    ms_world_run(f.w, ms_world_default_until(f.w));
    bob = rcpt_of(f.m, "m1");
    CU_ASSERT_EQUAL(bob->state, MS_RCPT_DELIVERED);
    CU_ASSERT_EQUAL(bob->where, ms_mail_server_host(f.m, f.mx1));
    CU_ASSERT_EQUAL(bob->hops, 3);
    CU_ASSERT_EQUAL(bob->received_headers, 3);
    CU_ASSERT(bob->done_at >= 15 * MS_TIME_MIN); /* not before the primary came back */
    CU_ASSERT_EQUAL(queue_len(f.m, f.mx2), 0);
    GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(f.m, f.mx1), "bob");
    CU_ASSERT_EQUAL_FATAL(box->len, 1);
    const MsStoredMessage *sm = g_ptr_array_index(box, 0);
    CU_ASSERT_EQUAL(sm->message, ms_mail_message_by_label(f.m, "m1")->id);
    fallback_clear(&f);
}

/* Accounting: at every moment each accepted recipient is delivered,
 * bounced or held in some queue, and the totals say which. */
static void
test_accounting(void)
{
    Fallback f;
    CU_ASSERT_TRUE_FATAL(fallback_init(&f));
    g_autoptr(GString) report = g_string_new(NULL);
    MsMailStats st;

    ms_world_run(f.w, 10 * MS_TIME_MIN);
    CU_ASSERT_TRUE(ms_mail_check_balance(f.m, report));
    CU_ASSERT_STRING_EQUAL(report->str, "");
    ms_mail_get_stats(f.m, &st);
    CU_ASSERT_EQUAL(st.messages, 3);
    CU_ASSERT_EQUAL(st.dsns, 0);
    CU_ASSERT_EQUAL(st.queued, 2);  /* m1 and m2 at the backup */
    CU_ASSERT_EQUAL(st.refused, 1); /* m3: 550 5.1.1 at submission */
    CU_ASSERT_EQUAL(st.rcpts_accepted, 2);
    CU_ASSERT_EQUAL(st.delivered + st.bounced, 0);

    ms_world_run(f.w, ms_world_default_until(f.w));
    CU_ASSERT_TRUE(ms_mail_check_balance(f.m, report));
    CU_ASSERT_STRING_EQUAL(report->str, "");
    ms_mail_get_stats(f.m, &st);
    CU_ASSERT_EQUAL(st.messages, 3);
    CU_ASSERT_EQUAL(st.dsns, 1);      /* the primary refused nobody: the backup bounced m2 */
    CU_ASSERT_EQUAL(st.delivered, 2); /* m1 to bob, the DSN to alice */
    CU_ASSERT_EQUAL(st.bounced, 1);
    CU_ASSERT_EQUAL(st.queued, 0);
    CU_ASSERT_EQUAL(st.refused, 1);
    CU_ASSERT_EQUAL(st.with_client, 0);
    CU_ASSERT_EQUAL(st.rcpts_accepted, st.delivered + st.bounced + st.queued);
    const MsRcptRecord *nobody = rcpt_of(f.m, "m2");
    CU_ASSERT_EQUAL(nobody->state, MS_RCPT_BOUNCED);
    CU_ASSERT_STRING_EQUAL(nobody->status, "5.1.1");
    CU_ASSERT_EQUAL(nobody->where, ms_mail_server_host(f.m, f.mx2));
    const MsMessageRecord *dsn = ms_mail_message_by_label(f.m, "dsn-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dsn);
    CU_ASSERT_TRUE(dsn->is_dsn);
    CU_ASSERT_EQUAL(dsn->parent, ms_mail_message_by_label(f.m, "m2")->id);
    CU_ASSERT_EQUAL(dsn->origin, ms_mail_server_host(f.m, f.mx2));
    CU_ASSERT_TRUE(ms_mail_message_settled(f.m, dsn->id));

    /* The check can fail: a recipient marked queued that no queue holds.
     * (Records are read-only to users of the layer; the test breaks one on
     * purpose.) */
    MsRcptRecord *bob = (MsRcptRecord *) rcpt_of(f.m, "m1");
    bob->state = MS_RCPT_QUEUED;
    CU_ASSERT_FALSE(ms_mail_check_balance(f.m, report));
    CU_ASSERT_STRING_EQUAL(report->str,
                           "message m1 to bob@b.example: marked queued but no server holds it\n");
    bob->state = MS_RCPT_DELIVERED;
    fallback_clear(&f);
}

/* --- one server, no network traffic --------------------------------------------- */

/* The smallest world: one host "mx.a.example" with a mail server for
 * a.example (server index s), and nothing else. */
typedef struct {
    MsEngine *e;
    MsNet *n;
    MsTcp *t;
    MsMail *m;
    MsHostId h;
    guint s;
} OneHost;

static void
one_host_init(OneHost *o)
{
    o->e = ms_engine_new(1);
    o->n = ms_net_new(o->e);
    o->t = ms_tcp_new(o->n);
    o->m = ms_mail_new(o->n, o->t);
    o->h = ms_net_add_host(o->n, "mx.a.example", 0x0A000001u, MS_ROLE_MAILSERVER, NULL);
    const char *domains[] = { "a.example", NULL };
    o->s = ms_mail_add_server(o->m, o->h, domains, NULL, NULL);
}

static void
one_host_clear(OneHost *o)
{
    g_clear_pointer(&o->m, ms_mail_free);
    g_clear_pointer(&o->t, ms_tcp_free);
    g_clear_pointer(&o->n, ms_net_free);
    g_clear_pointer(&o->e, ms_engine_free);
}

/* --- the DSN, byte for byte ----------------------------------------------------- */

/* A message put into a server's care for a user it does not have bounces at
 * once (5.1.1), and the DSN goes to the sender's mailbox on the same
 * server: multipart/report with the RFC 3464 fields and the original's
 * header section. No event needs to run. */
static void
test_dsn_unknown_user(void)
{
    OneHost o;
    one_host_init(&o);
    CU_ASSERT_TRUE(ms_mail_add_user(o.m, o.s, "alice", "pw", 0));
    const char *rcpts[] = { "nobody@a.example", NULL };
    static const char original[] =
        "From: alice@a.example\r\nTo: nobody@a.example\r\nSubject: hello\r\n"
        "Message-ID: <x1@client.example>\r\n\r\nBody text.\r\n";
    g_autoptr(GBytes) data = g_bytes_new_static(original, sizeof original - 1);
    g_autofree char *qid = NULL;
    guint32 id = ms_mail_inject(o.m, o.s, "alice@a.example", rcpts, data, NULL, &qid);
    CU_ASSERT_EQUAL_FATAL(id, 1);
    CU_ASSERT_STRING_EQUAL(qid, "00001");

    const MsMessageRecord *r = ms_mail_message(o.m, id);
    const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, 0);
    CU_ASSERT_EQUAL(rr->state, MS_RCPT_BOUNCED);
    CU_ASSERT_STRING_EQUAL(rr->status, "5.1.1");
    CU_ASSERT_STRING_EQUAL(rr->detail, "unknown user: \"nobody\"");
    CU_ASSERT_EQUAL(ms_mail_n_messages(o.m), 2);
    const MsMessageRecord *dsn = ms_mail_message(o.m, 2);
    CU_ASSERT_STRING_EQUAL(dsn->label, "dsn-1");
    CU_ASSERT_STRING_EQUAL(dsn->message_id, "<dsn-1.2@mx.a.example>");
    CU_ASSERT_EQUAL(dsn->parent, id);
    CU_ASSERT_EQUAL(g_array_index(dsn->rcpts, MsRcptRecord, 0).state, MS_RCPT_DELIVERED);

    GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(o.m, o.s), "alice");
    CU_ASSERT_EQUAL_FATAL(box->len, 1);
    const MsStoredMessage *sm = g_ptr_array_index(box, 0);
    CU_ASSERT_EQUAL(sm->message, dsn->id);
    g_autofree char *text = g_strndup(g_bytes_get_data(sm->data, NULL), g_bytes_get_size(sm->data));
    static const char expect[] =
        "Return-Path: <>\r\n"
        "From: MAILER-DAEMON@mx.a.example\r\n"
        "To: alice@a.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Sun, 29 Nov 2026 00:00:00 +0000\r\n"
        "Message-ID: <dsn-1.2@mx.a.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"2.1/mx.a.example\"\r\n"
        "\r\n"
        "--2.1/mx.a.example\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mx.a.example.\r\n"
        "\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "\r\n"
        "<nobody@a.example>: unknown user: \"nobody\"\r\n"
        "\r\n"
        "--2.1/mx.a.example\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.a.example\r\n"
        "Arrival-Date: Sun, 29 Nov 2026 00:00:00 +0000\r\n"
        "\r\n"
        "Final-Recipient: rfc822; nobody@a.example\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: X-Postfix; unknown user: \"nobody\"\r\n"
        "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:00 +0000\r\n"
        "\r\n"
        "--2.1/mx.a.example\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "Received: from unknown ([unknown])\r\n"
        "\tby mx.a.example (mailsim bridge) with SMTP id 00001\r\n"
        "\tfor <nobody@a.example>; Sun, 29 Nov 2026 00:00:00 +0000\r\n"
        "From: alice@a.example\r\n"
        "To: nobody@a.example\r\n"
        "Subject: hello\r\n"
        "Message-ID: <x1@client.example>\r\n"
        "\r\n"
        "--2.1/mx.a.example--\r\n";
    if (strcmp(text, expect) != 0)
        fprintf(stderr, "DSN differs; got:\n%s\n", text);
    CU_ASSERT_STRING_EQUAL(text, expect);
    g_autoptr(GString) report = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_mail_check_balance(o.m, report));
    one_host_clear(&o);
}

/* The delivery-status part of DSNs made in whole runs, field by field (RFC
 * 3464 2.2 per-message, 2.3 per-recipient), one row per way to fail: a
 * remote MTA's 550 (Remote-MTA and its reply itself as the Diagnostic-Code),
 * a domain that does not exist (Postfix's 5.4.4 "Host or domain name not
 * found", in the reporting MTA's own words), a null MX, an MX naming a host
 * that does not exist and a domain with neither MX nor address (5.4.4). */
typedef struct {
    const char *scenario, *host, *user; /* where the DSN lands */
    MsTime until;
    const char *rcpt;   /* the bounced recipient: picks the DSN */
    const char *fields; /* the delivery-status part, from Reporting-MTA: on */
} DsnCase;

static const DsnCase dsn_cases[] = {
    { "scenarios/teaching/06-which-box.xml", "smtp-isp", "alice", 5 * SEC,
      "servise@diversicomcorp.com",
      "Reporting-MTA: dns; smtp.isp-a.net\r\n"
      "Arrival-Date: Sun, 29 Nov 2026 00:00:03 +0000\r\n"
      "\r\n"
      "Final-Recipient: rfc822; servise@diversicomcorp.com\r\n"
      "Action: failed\r\n"
      "Status: 5.1.1\r\n"
      "Remote-MTA: dns; mx.diversicomcorp.com\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <servise@diversicomcorp.com>: Recipient address "
      "rejected: User unknown in local recipient table\r\n"
      "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:03 +0000\r\n" },
    { "tests/scenarios/mail/edge-cases.xml", "a", "alice", 5 * MINS, "info@no-such-domain.example",
      "Reporting-MTA: dns; mail.a.example\r\n"
      "Arrival-Date: Sun, 29 Nov 2026 00:00:02 +0000\r\n"
      "\r\n"
      "Final-Recipient: rfc822; info@no-such-domain.example\r\n"
      "Action: failed\r\n"
      "Status: 5.4.4\r\n"
      "Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error for "
      "name=no-such-domain.example type=MX: Host not found\r\n"
      "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:02 +0000\r\n" },
    { "tests/scenarios/mail/edge-cases.xml", "a", "alice", 5 * MINS, "info@nomail.example",
      "Reporting-MTA: dns; mail.a.example\r\n"
      "Arrival-Date: Sun, 29 Nov 2026 00:00:01 +0000\r\n"
      "\r\n"
      "Final-Recipient: rfc822; info@nomail.example\r\n"
      "Action: failed\r\n"
      "Status: 5.1.10\r\n"
      "Diagnostic-Code: X-Postfix; Domain nomail.example does not accept mail (nullMX)\r\n"
      "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:01 +0000\r\n" },
    { "tests/scenarios/mail/unreachable.xml", "a", "alice", 5 * MINS, "info@dangling.example",
      "Reporting-MTA: dns; mail.a.example\r\n"
      "Arrival-Date: Sun, 29 Nov 2026 00:00:01 +0000\r\n"
      "\r\n"
      "Final-Recipient: rfc822; info@dangling.example\r\n"
      "Action: failed\r\n"
      "Status: 5.4.4\r\n"
      "Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error for "
      "name=mx.nowhere.example type=A: Host not found\r\n"
      "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:01 +0000\r\n" },
    { "tests/scenarios/mail/unreachable.xml", "a", "alice", 5 * MINS, "info@empty.example",
      "Reporting-MTA: dns; mail.a.example\r\n"
      "Arrival-Date: Sun, 29 Nov 2026 00:00:02 +0000\r\n"
      "\r\n"
      "Final-Recipient: rfc822; info@empty.example\r\n"
      "Action: failed\r\n"
      "Status: 5.4.4\r\n"
      "Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error for "
      "name=empty.example type=A: Host found but no data record of requested type\r\n"
      "Last-Attempt-Date: Sun, 29 Nov 2026 00:00:02 +0000\r\n" },
};

static void
test_dsn_fields(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(dsn_cases); i++) {
        const DsnCase *c = &dsn_cases[i];
        g_autoptr(MsScenario) sc = ms_scenario_load_file(c->scenario, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
        ms_world_run(w, c->until);
        MsMail *m = ms_world_mail(w);
        guint server = ms_mail_server_by_host(m, (MsHostId) ms_scenario_find_host(sc, c->host));
        GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(m, server), c->user);
        g_autofree char *want = g_strdup_printf("Final-Recipient: rfc822; %s\r\n", c->rcpt);
        g_autofree char *got = NULL;
        for (guint k = 0; box && k < box->len && !got; k++) {
            const MsStoredMessage *sm = g_ptr_array_index(box, k);
            g_autofree char *text =
                g_strndup(g_bytes_get_data(sm->data, NULL), g_bytes_get_size(sm->data));
            const char *from = strstr(text, "Reporting-MTA: ");
            const char *end = from ? strstr(from, "\r\n\r\n--") : NULL;
            if (end && strstr(text, want))
                got = g_strndup(from, (gsize) (end - from) + 2);
        }
        if (g_strcmp0(got, c->fields) != 0)
            fprintf(stderr, "row %" G_GSIZE_FORMAT ": got\n%s\n", i, got ? got : "(no DSN)");
        CU_ASSERT_STRING_EQUAL(got ? got : "", c->fields);
    }
}

/* Date: is when the author submitted the message (RFC 5322 3.6.1): lesson
 * 1's message leaves Alice's PC at t=1 s, so its Date: says 00:00:01,
 * whatever time the world was set up or the servers took it in. */
static void
test_date_is_submission_time(void)
{
    g_autoptr(MsScenario) sc = ms_scenario_load_file("scenarios/teaching/01-first-email.xml", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    ms_world_run(w, 30 * SEC);
    MsMail *m = ms_world_mail(w);
    guint server = ms_mail_server_by_host(m, (MsHostId) ms_scenario_find_host(sc, "mx-corp"));
    GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(m, server), "sales");
    CU_ASSERT_EQUAL_FATAL(box ? box->len : 0, 1);
    const MsStoredMessage *sm = g_ptr_array_index(box, 0);
    g_autofree char *text = g_strndup(g_bytes_get_data(sm->data, NULL), g_bytes_get_size(sm->data));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDate: Sun, 29 Nov 2026 00:00:01 +0000\r\n"));
}

/* The narration line of `mailsim run FILE --no-colour` that contains
 * `what`, or NULL. Caller frees. */
static char *
narration_line(const char *file, const char *what)
{
    const char *argv[] = { ms_test_mailsim_path(), "run", file, "--no-colour", NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    const char *at = out ? strstr(out, what) : NULL;
    if (!at)
        return NULL;
    const char *from = at;
    while (from > out && from[-1] != '\n')
        from--;
    return g_strndup(from, strcspn(from, "\n"));
}

/* Lesson 7: the laptop's wrong password gets its -ERR after the server's
 * 2 s auth_fail_delay_ms. PASS reaches the server at 30.018 s; the -ERR leaves at
 * 32.018 s, and the narration says so (it said 30.018 s, when the core
 * wrote the reply it then held back); the client's QUIT follows at 32.020
 * s, one link delay after reading it. */
static void
test_pop3_err_time(void)
{
    const char *lesson = "scenarios/teaching/07-checking-mail.xml";
    g_autofree char *err_line = narration_line(lesson, "-ERR [AUTH] invalid credentials");
    CU_ASSERT_STRING_EQUAL(err_line ? err_line : "",
                           "     t=32.018 s    pop3  mx.diversicomcorp.com -> "
                           "laptop.diversicomcorp.com: -ERR [AUTH] invalid credentials");
    g_autofree char *quit = narration_line(lesson, "laptop.diversicomcorp.com -> "
                                                   "mx.diversicomcorp.com: QUIT");
    CU_ASSERT_PTR_NOT_NULL(quit && strstr(quit, "t=32.020 s") ? quit : NULL);
}

/* The run summary counts the messages' own recipients apart from the
 * bounces: lesson 6 sends 3 messages to 3 recipients, 2 delivered and 1
 * bounced, and the 1 DSN is delivered to the sender (it was "3 delivered,
 * 1 bounced", the DSN counted as a delivered recipient). */
static void
test_summary_counts_dsns_apart(void)
{
    const char *lesson = "scenarios/teaching/06-which-box.xml";
    g_autofree char *rcpts = narration_line(lesson, " recipients: ");
    CU_ASSERT_STRING_EQUAL(
        rcpts ? rcpts : "",
        "  3 recipients: 2 delivered, 1 bounced, 0 still queued, 0 refused at submission");
    g_autofree char *dsns = narration_line(lesson, " DSN: ");
    CU_ASSERT_STRING_EQUAL(dsns ? dsns : "", "  1 DSN: 1 delivered to the sender");
    /* --stats: the DSNs' recipients among all recipients, as rows. */
    g_autofree char *dir = g_dir_make_tmp("mailsim-summary-XXXXXX", NULL);
    g_autofree char *csv = g_build_filename(dir, "stats.csv", NULL);
    const char *argv[] = { ms_test_mailsim_path(), "run", lesson, "-q", "--stats", csv, NULL };
    g_autofree char *out = NULL, *err = NULL, *text = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    CU_ASSERT_FATAL(g_file_get_contents(csv, &text, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "mail,delivered,3\nmail,bounced,1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "mail,dsn_delivered,1\nmail,dsn_bounced,0\nmail,dsn_queued,0\n"));
    g_remove(csv);
    g_rmdir(dir);
}

/* The routing aside says how the next hop was really chosen: lesson 4's
 * provider hands everything to its smarthost and looks up no MX; lesson 1's
 * takes the MX records of the domain. */
static void
test_routing_aside_smarthost(void)
{
    g_autofree char *hops =
        narration_line("scenarios/teaching/04-many-hops.xml", "nothing sorts packets");
    CU_ASSERT_PTR_NOT_NULL_FATAL(hops);
    CU_ASSERT_PTR_NULL(strstr(hops, "from the MX records"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hops, "looked up no MX records: it hands all its outgoing mail "
                                        "to the smarthost it is configured with (Postfix's "
                                        "relayhost), relay.isp-a.net,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(hops, "the 1 router on the way forwards each packet"));
    g_autofree char *first =
        narration_line("scenarios/teaching/01-first-email.xml", "nothing sorts packets");
    CU_ASSERT_PTR_NOT_NULL(
        first && strstr(first, "chose the next mail server from the MX records") ? first : NULL);
}

/* A bounce of a bounce is never sent (RFC 5321 4.5.5): the recipient is
 * marked bounced and no DSN record is made. */
static void
test_no_bounce_of_a_bounce(void)
{
    OneHost o;
    one_host_init(&o);
    CU_ASSERT_EQUAL(ms_mail_bounce_external(o.m, o.s, "", "x@b.example", "5.0.0", "550 no", NULL),
                    0);
    CU_ASSERT_EQUAL(ms_mail_n_messages(o.m), 0);
    guint32 id = ms_mail_bounce_external(o.m, o.s, "nobody@a.example", "x@b.example", "5.0.0",
                                         "550 no", NULL);
    CU_ASSERT_EQUAL(id, 1); /* a DSN to a user the server lacks: bounced, never bounced back */
    const MsMessageRecord *dsn = ms_mail_message(o.m, id);
    CU_ASSERT_EQUAL(g_array_index(dsn->rcpts, MsRcptRecord, 0).state, MS_RCPT_BOUNCED);
    CU_ASSERT_EQUAL(ms_mail_n_messages(o.m), 1);
    one_host_clear(&o);
}

/* --- checks at the entry points ---------------------------------------------------- */

static void
count_criticals(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
    (void) domain;
    (void) message;
    if (level & G_LOG_LEVEL_CRITICAL)
        (*(guint *) user_data)++;
}

/* Programmer errors (NULL objects, out-of-range indices) are refused with
 * a critical warning and a neutral result, never a crash. */
static void
test_entry_checks(void)
{
    OneHost o;
    one_host_init(&o);
    GLogLevelFlags fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    guint n_criticals = 0;
    GLogFunc old = g_log_set_default_handler(count_criticals, &n_criticals);
    CU_ASSERT_EQUAL(ms_mail_server_host(o.m, o.s + 1), G_MAXUINT32);
    CU_ASSERT_PTR_NULL(ms_mail_server_store(o.m, o.s + 1));
    CU_ASSERT_FALSE(ms_mail_add_user(o.m, o.s + 1, "alice", "pw", 0));
    CU_ASSERT_EQUAL(ms_mail_add_server(o.m, o.h + 7, NULL, NULL, NULL), G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_add_client(o.m, o.h, "a@a.example", NULL, o.s + 1, G_MAXUINT, FALSE),
                    G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_submit(o.m, 0, "m1", NULL, NULL, "", "", 0, 0), 0);
    CU_ASSERT_EQUAL(ms_mail_n_messages(NULL), 0);
    CU_ASSERT_FALSE(ms_mail_store_has_user(NULL, "alice"));
    CU_ASSERT_EQUAL(ms_mta_next_retry(NULL, 1, 0, 0), MS_TIME_INFINITE);
    CU_ASSERT_PTR_NULL(ms_workloads_start(o.m, NULL, NULL, 1));
    g_log_set_default_handler(old, NULL);
    g_log_set_always_fatal(fatal);
    CU_ASSERT_EQUAL(n_criticals, 10);
    CU_ASSERT_EQUAL(ms_mail_n_servers(o.m), 1); /* nothing was added by the refused calls */
    one_host_clear(&o);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "retry schedules: first retry, growth, cap, give-up (table)", test_retry_schedules },
        { "profile defaults and names", test_profile_defaults },
        { "MX fallback: the backup holds the mail while the primary is down", test_mx_fallback },
        { "accounting: delivered + bounced + queued, and a false 'queued' reported",
          test_accounting },
        { "DSN for an unknown user, byte for byte (RFC 3464)", test_dsn_unknown_user },
        { "Date: is the submission time", test_date_is_submission_time },
        { "POP3 -ERR after a failed login is told when it leaves (+2 s)", test_pop3_err_time },
        { "summary: DSNs counted apart from the recipients", test_summary_counts_dsns_apart },
        { "routing aside: a smarthost hop is no MX choice", test_routing_aside_smarthost },
        { "DSN fields per cause: remote 550, NXDOMAIN, null MX (table)", test_dsn_fields },
        { "no bounce of a bounce", test_no_bounce_of_a_bounce },
        { "entry points refuse programmer errors", test_entry_checks },
        { NULL, NULL },
    };
    return ms_test_main("mail-layer", cases);
}
