/* Tests of the mail layer: the MTA profiles' retry schedules (exact
 * times), and scenario files under tests/scenarios/mail/ run in-process
 * whose <expect> elements must all hold (scripted SMTP faults and command
 * delays, Poisson workloads with bounces to a domain that does not exist). */
#include "testlib.h"
#include "mailsim/world.h"

#include <stdio.h>
#include <string.h>

static void
test_postfix_schedule(void)
{
    MsMtaPolicy p;
    ms_mta_policy_defaults(MS_MTA_POSTFIX, &p);
    MsTime q = 0, now = 0;
    /* the time in queue, at least 300 s, at most 4000 s (qmgr_active.c),
     * then the next deferred-queue scan (every 300 s from the start) */
    MsTime expect[] = { 300, 300, 600, 1200, 2400, 4200, 4200 };
    for (guint n = 1; n <= G_N_ELEMENTS(expect); n++) {
        MsTime next = ms_mta_next_retry(&p, n, q, now);
        CU_ASSERT_EQUAL(next - now, expect[n - 1] * MS_TIME_S);
        CU_ASSERT_EQUAL(next % MS_POSTFIX_QUEUE_RUN_DELAY, 0);
        now = next;
    }
    /* the pause follows the age, not the attempt count: 1000 s in queue,
     * due at 2000 s, picked up by the scan at 2100 s */
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 2, 0, 1000 * MS_TIME_S), 2100 * MS_TIME_S);
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 2, 0, 299 * MS_TIME_S), 600 * MS_TIME_S);
    /* in whole seconds of age, as time() counts: due at 800.9 s */
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 3, 0, 400 * MS_TIME_S + 900 * MS_TIME_MS),
                    900 * MS_TIME_S);
    /* give up: a retry that would land past 5 days is refused */
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 99, 0, 5 * MS_TIME_DAY - 100 * MS_TIME_S),
                    MS_TIME_INFINITE);
    CU_ASSERT_NOT_EQUAL(ms_mta_next_retry(&p, 99, 0, 5 * MS_TIME_DAY - 4000 * MS_TIME_S),
                        MS_TIME_INFINITE);
}

static void
test_exim_schedule(void)
{
    MsMtaPolicy p;
    ms_mta_policy_defaults(MS_MTA_EXIM, &p);
    /* every 15 min during the first 2 h */
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 1, 0, 0), 15 * MS_TIME_MIN);
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 8, 0, 105 * MS_TIME_MIN), 120 * MS_TIME_MIN);
    /* then growing from 1 h by 1.5 */
    MsTime a = ms_mta_next_retry(&p, 9, 0, 2 * MS_TIME_H) - 2 * MS_TIME_H;
    MsTime b = ms_mta_next_retry(&p, 10, 0, 3 * MS_TIME_H) - 3 * MS_TIME_H;
    MsTime c = ms_mta_next_retry(&p, 11, 0, 5 * MS_TIME_H) - 5 * MS_TIME_H;
    CU_ASSERT_EQUAL(a, MS_TIME_H);
    CU_ASSERT_EQUAL(b, 3 * MS_TIME_H / 2);
    CU_ASSERT_EQUAL(c, 9 * MS_TIME_H / 4);
    /* every 6 h after 16 h; give up after 4 days */
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 20, 0, 17 * MS_TIME_H) - 17 * MS_TIME_H, 6 * MS_TIME_H);
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 30, 0, 4 * MS_TIME_DAY - MS_TIME_H), MS_TIME_INFINITE);
}

static void
test_opensmtpd_schedule(void)
{
    MsMtaPolicy p;
    ms_mta_policy_defaults(MS_MTA_OPENSMTPD, &p);
    /* creation + 400 s x n^2 */
    for (guint n = 1; n <= 5; n++)
        CU_ASSERT_EQUAL(ms_mta_next_retry(&p, n, 1000, 1000 + 1),
                        1000 + 400 * MS_TIME_S * (MsTime) (n * n));
    CU_ASSERT_EQUAL(ms_mta_next_retry(&p, 30, 0, MS_TIME_S),
                    MS_TIME_INFINITE); /* 400 s x 900 > 4 d */
}

static void
run_file(const char *path)
{
    GError *error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(path, &error);
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        g_error_free(error);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, ms_world_default_until(w));
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean ok = ms_world_check(w, out);
    if (!ok)
        fprintf(stderr, "%s", out->str);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT(strstr(out->str, "PASS") != NULL);
}

/* Which server takes a domain's mail: case-insensitive, the first server
 * listed wins, a backup MX does not count, an unknown domain has none; and
 * which server runs on a host. */
static void
test_server_for_domain(void)
{
    g_autoptr(MsEngine) e = ms_engine_new(1);
    g_autoptr(MsNet) n = ms_net_new(e);
    g_autoptr(MsTcp) t = ms_tcp_new(n);
    g_autoptr(MsMail) m = ms_mail_new(n, t);
    MsHostId h[3];
    for (guint i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("mx%u.example", i);
        h[i] = ms_net_add_host(n, name, 0x0A000001u + i, MS_ROLE_MAILSERVER, NULL);
    }
    const char *d0[] = { "Alpha.example", "beta.example", NULL };
    const char *d1[] = { "beta.EXAMPLE", "gamma.example", NULL };
    guint s0 = ms_mail_add_server(m, h[0], d0, NULL, NULL);
    guint s1 = ms_mail_add_server(m, h[1], d1, NULL, NULL);
    guint s2 = ms_mail_add_server(m, h[2], NULL, NULL, NULL);
    ms_mail_add_backup_domain(m, s2, "delta.example");
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "alpha.example"), s0);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "ALPHA.Example"), s0);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "beta.example"), s0);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "Gamma.example"), s1);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "delta.example"), G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "nowhere.example"), G_MAXUINT);
    CU_ASSERT_TRUE(ms_mail_server_is_local(m, s1, "BETA.example"));
    CU_ASSERT_FALSE(ms_mail_server_is_local(m, s2, "delta.example"));
    CU_ASSERT_EQUAL(ms_mail_server_by_host(m, h[1]), s1);
    CU_ASSERT_EQUAL(ms_mail_server_by_host(m, h[2]), s2);
    CU_ASSERT_EQUAL(ms_mail_server_by_host(m, h[2] + 1), G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_server_by_host(m, G_MAXUINT32), G_MAXUINT);
}

static void
test_scripted_faults(void)
{
    run_file("tests/scenarios/mail/scripted-faults.xml");
}

static void
test_mailbox_full(void)
{
    run_file("tests/scenarios/mail/mailbox-full.xml");
}

static void
test_workload(void)
{
    run_file("tests/scenarios/mail/workload.xml");
}

/* Before the POP3 check, look at what the mailbox holds: the DSNs in the
 * RFC 3464 format; and at the message whose login failed. */
static void
test_edge_cases(void)
{
    run_file("tests/scenarios/mail/edge-cases.xml");
    g_autoptr(MsScenario) sc = ms_scenario_load_file("tests/scenarios/mail/edge-cases.xml", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    ms_world_run(w, 5 * MS_TIME_MIN);
    MsMail *m = ms_world_mail(w);
    const MsMessageRecord *bad = ms_mail_message_by_label(m, "badpass");
    CU_ASSERT_EQUAL(g_array_index(bad->rcpts, MsRcptRecord, 0).state, MS_RCPT_REFUSED);
    CU_ASSERT(strstr(g_array_index(bad->rcpts, MsRcptRecord, 0).detail, "535") != NULL);
    guint server = ms_mail_server_by_host(m, (MsHostId) ms_scenario_find_host(sc, "a"));
    GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(m, server), "alice");
    CU_ASSERT_EQUAL_FATAL(box->len, 2);
    const char *need[] = { "Return-Path: <>\r\n",
                           "From: MAILER-DAEMON@mail.a.example",
                           "Content-Type: multipart/report; report-type=delivery-status",
                           "Content-Type: message/delivery-status",
                           "Reporting-MTA: dns; mail.a.example",
                           "Final-Recipient: rfc822; info@nomail.example",
                           "Action: failed",
                           "Status: 5.1.10",
                           "Content-Type: text/rfc822-headers",
                           "Subject: Undelivered Mail Returned to Sender",
                           "Auto-Submitted: auto-replied" };
    MsStoredMessage *dsn = g_ptr_array_index(box, 0);
    g_autofree char *text =
        g_strndup(g_bytes_get_data(dsn->data, NULL), g_bytes_get_size(dsn->data));
    /* RFC 5322 3.3 dates in its Date: and Received: headers (the run starts
     * on Sunday 2026-11-29 at midnight), and a dotted quad for the peer. */
    CU_ASSERT(g_regex_match_simple("^Date: Sun, 29 Nov 2026 00:0[0-4]:[0-5][0-9] \\+0000\r$", text,
                                   G_REGEX_MULTILINE, 0));
    CU_ASSERT(
        g_regex_match_simple("^\tfor <[^>]+>; Sun, 29 Nov 2026 00:0[0-4]:[0-5][0-9] \\+0000\r$",
                             text, G_REGEX_MULTILINE, 0));
    CU_ASSERT(g_regex_match_simple(
        "^Received: from \\S+ \\(\\S+ \\[([0-9]{1,3}\\.){3}[0-9]{1,3}\\]\\)\r$", text,
        G_REGEX_MULTILINE, 0));
    for (gsize i = 0; i < G_N_ELEMENTS(need); i++) {
        if (!strstr(text, need[i]))
            fprintf(stderr, "DSN lacks: %s\n", need[i]);
        CU_ASSERT(strstr(text, need[i]) != NULL);
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "postfix retry schedule", test_postfix_schedule },
        { "server for a domain", test_server_for_domain },
        { "exim retry schedule", test_exim_schedule },
        { "opensmtpd retry schedule", test_opensmtpd_schedule },
        { "scripted SMTP faults and a slow server", test_scripted_faults },
        { "Poisson workload with bounces", test_workload },
        { "mailbox full: 552 5.2.2, then accepted again", test_mailbox_full },
        { "AUTH failure, null MX, NXDOMAIN, relay loop, DSN format", test_edge_cases },
        { NULL, NULL },
    };
    return ms_test_main("mail", cases);
}
