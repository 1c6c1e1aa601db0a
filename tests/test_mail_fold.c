/* Tests of folding finished messages' records into the statistics
 * (ms_mail_set_fold_records, sim/mail/mail_record.c and mail_stats.c): the
 * same worlds run with every record kept and with records folded give the
 * same statistics (every figure byte for byte while the latencies stay
 * exact; the quantiles within the sketch's bound once they do not); what
 * stays in memory is what is in flight; bounces, DSNs and POP3 readers are
 * counted alike; a world folds only when nothing needs its records.
 * `mailsim run` folding and saying so is tests/test_mail_fold_cli.c (its
 * two runs of 70,000 messages are most of this work: a program of their
 * own, so that tests/run-all.sh can run them beside these). */
#include "testlib.h"
#include "fold_world.h"
#include "mailsim/mail.h"
#include "mailsim/sketch.h"
#include "mailsim/stats.h"
#include "mailsim/tcp.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    MsScenario *sc;
    MsWorld *w;
} Run;

static void
run_clear(Run *r)
{
    g_clear_pointer(&r->w, ms_world_free);
    g_clear_pointer(&r->sc, ms_scenario_free);
}

/* Builds and runs the world of xml with fold (keep_first and exact_limit
 * as given; -1: defaults) or without. With psk_ke, clients resume TLS
 * sessions without a new key exchange (RFC 8446 2.2, as `mailsim run
 * --tls-resumption psk_ke`): the generated worlds' X25519 exchanges are
 * most of their processor time, and folding does not depend on them (the
 * deliveries, times and latencies are the same in either mode; both runs
 * of a comparison use the same one). */
static void
run_world_tls(Run *r, const char *xml, gboolean fold, gint keep_first, gint exact_limit,
              gboolean psk_ke)
{
    g_autoptr(GError) error = NULL;
    r->sc = ms_scenario_load_memory(xml, strlen(xml), "fold.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->sc);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fold_records = fold;
    o.fold_keep_first = keep_first;
    o.fold_exact_limit = exact_limit;
    r->w = ms_world_new_full(r->sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->w);
    if (psk_ke)
        ms_mail_set_tls_resumption(ms_world_mail(r->w), TRUE, MS_TLS_PSK_KE);
    ms_world_run(r->w, ms_world_default_until(r->w));
}

/* A lesson as written (its default TLS resumption). */
static void
run_world(Run *r, const char *xml, gboolean fold, gint keep_first, gint exact_limit)
{
    run_world_tls(r, xml, fold, keep_first, exact_limit, FALSE);
}

/* The statistics as CSV lines. */
static char **
stats_lines(MsWorld *w)
{
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "mailsim-fold-XXXXXX.csv", NULL);
    int fd = g_mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(ms_stats_table_write(t, path, &error));
    g_autofree char *text = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    g_unlink(path);
    return g_strsplit(text, "\n", -1);
}

static gboolean
same_mail_stats(const MsMailStats *a, const MsMailStats *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Live records: what is still in memory. */
static guint
live_records(MsMail *m)
{
    guint n = 0;
    for (guint id = 1; id <= ms_mail_n_messages(m); id++)
        n += ms_mail_message(m, id) != NULL;
    return n;
}

/* A generated world (relays, backup MXs, MX outages and the deferrals they
 * bring), 300 domains so that more than MS_MAIL_PATH_DESTINATIONS servers
 * store mail: folded and kept give the same statistics, every line, and
 * the same accounting; almost every record is gone. */
static void
test_same_statistics(void)
{
    g_autofree char *xml = fold_world_xml(300, 12000, "2h", 5);
    Run keep = { 0 }, fold = { 0 };
    run_world_tls(&keep, xml, FALSE, -1, -1, TRUE);
    run_world_tls(&fold, xml, TRUE, -1, -1, TRUE);
    MsMail *mk = ms_world_mail(keep.w), *mf = ms_world_mail(fold.w);
    CU_ASSERT_FALSE(ms_mail_folds_records(mk));
    CU_ASSERT_TRUE(ms_mail_folds_records(mf));
    MsMailStats sk, sf;
    ms_mail_get_stats(mk, &sk);
    ms_mail_get_stats(mf, &sf);
    CU_ASSERT_TRUE(sk.delivered > 10000 && sk.deferrals > 0);
    CU_ASSERT_TRUE(same_mail_stats(&sk, &sf));
    g_auto(GStrv) lk = stats_lines(keep.w);
    g_auto(GStrv) lf = stats_lines(fold.w);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(lk), g_strv_length(lf));
    guint differ = 0;
    for (guint i = 0; lk[i]; i++)
        differ += strcmp(lk[i], lf[i]) != 0;
    CU_ASSERT_EQUAL(differ, 0);
    /* The routing figures really measured 256 destinations and left some out. */
    g_autoptr(MsStatsTable) t = ms_stats_collect(fold.w);
    CU_ASSERT_TRUE(ms_stats_table_get(t, "routing", "destinations_left_out") > 0);
    /* Memory: the first MS_WORLD_SUMMARY_MESSAGES records and what is
     * still in flight (queued or not yet submitted), nothing else. */
    guint live = live_records(mf);
    CU_ASSERT_EQUAL(live_records(mk), ms_mail_n_messages(mk));
    CU_ASSERT_TRUE(live <= MS_WORLD_SUMMARY_MESSAGES + sf.queued + sf.with_client);
    CU_ASSERT_EQUAL(ms_mail_n_folded(mf), ms_mail_n_messages(mf) - live);
    for (guint id = 1; id <= MS_WORLD_SUMMARY_MESSAGES; id++)
        CU_ASSERT_PTR_NOT_NULL(ms_mail_message(mf, id));
    g_autoptr(GString) ck = g_string_new(NULL), cf = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_world_check(keep.w, ck));
    CU_ASSERT_TRUE(ms_world_check(fold.w, cf));
    CU_ASSERT_STRING_EQUAL(ck->str, cf->str);
    run_clear(&keep);
    run_clear(&fold);
}

/* With the sketch from the first latency on: counts, n, max identical, the
 * mean equal to rounding, the quantiles within the stated bound, and the
 * statistics say where they came from. */
static void
test_sketched_quantiles(void)
{
    g_autofree char *xml = fold_world_xml(30, 20000, "2h", 7);
    Run keep = { 0 }, fold = { 0 };
    run_world_tls(&keep, xml, FALSE, -1, -1, TRUE);
    run_world_tls(&fold, xml, TRUE, -1, 0, TRUE);
    MsLatencyStats a, b;
    ms_stats_latency(keep.w, &a);
    ms_stats_latency(fold.w, &b);
    CU_ASSERT_TRUE(a.n > 15000);
    CU_ASSERT_EQUAL(a.n, b.n);
    CU_ASSERT_EQUAL(a.quantile_error, 0);
    CU_ASSERT_EQUAL(b.quantile_error, MS_SKETCH_RELATIVE_ERROR);
    CU_ASSERT_EQUAL(a.max, b.max);
    CU_ASSERT_DOUBLE_EQUAL(a.mean, b.mean, a.mean * 1e-12);
    double qa[] = { a.p50, a.p95, a.p99 }, qb[] = { b.p50, b.p95, b.p99 };
    for (guint i = 0; i < 3; i++) {
        /* The bound holds in nanoseconds; a nanosecond's rounding aside. */
        CU_ASSERT_TRUE(fabs(qa[i] - qb[i]) <= qa[i] * MS_SKETCH_RELATIVE_ERROR + 1e-9);
    }
    g_auto(GStrv) lk = stats_lines(keep.w);
    g_auto(GStrv) lf = stats_lines(fold.w);
    /* Every line but the latency quantiles is the same; one line more. */
    guint i = 0, j = 0, marker = 0;
    while (lk[i] && lf[j]) {
        if (g_str_has_prefix(lf[j], "latency,quantiles_relative_error,")) {
            CU_ASSERT_STRING_EQUAL(lf[j], "latency,quantiles_relative_error,0.00048828125");
            marker++;
            j++;
            continue;
        }
        if (!g_str_has_prefix(lk[i], "latency,p") && !g_str_has_prefix(lk[i], "latency,mean"))
            CU_ASSERT_STRING_EQUAL(lk[i], lf[j]);
        i++;
        j++;
    }
    CU_ASSERT_EQUAL(marker, 1);
    CU_ASSERT_PTR_NULL(lk[i]);
    CU_ASSERT_PTR_NULL(lf[j]);
    run_clear(&keep);
    run_clear(&fold);
}

/* Lesson 6's world without its expectations about single messages: a
 * typo'd recipient bounces (a DSN goes back to Alice), two messages are
 * read over POP3. Folding everything foldable (keep_first 0) counts the
 * same; the records of messages in stores that clients read stay, the
 * bounced one goes. */
static char *
lesson_without_expectations(const char *path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_autoptr(GRegex) re = g_regex_new("<expect kind=\"(?!no-loss)[^\"]*\"[^>]*/>", 0, 0, NULL);
    return g_regex_replace_literal(re, text, -1, 0, "", 0, NULL);
}

static void
test_bounces_and_readers(void)
{
    g_autofree char *xml = lesson_without_expectations("scenarios/teaching/06-which-box.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "no-loss"));
    CU_ASSERT_PTR_NULL(strstr(xml, "kind=\"bounced\""));
    Run keep = { 0 }, fold = { 0 };
    run_world(&keep, xml, FALSE, -1, -1);
    run_world(&fold, xml, TRUE, 0, -1);
    MsMail *mk = ms_world_mail(keep.w), *mf = ms_world_mail(fold.w);
    CU_ASSERT_TRUE(ms_mail_folds_records(mf));
    MsMailStats sk, sf;
    ms_mail_get_stats(mk, &sk);
    ms_mail_get_stats(mf, &sf);
    CU_ASSERT_EQUAL(sk.dsns, 1);
    CU_ASSERT_EQUAL(sk.bounced, 1);
    CU_ASSERT_EQUAL(sk.retrieved, 3); /* m1, m2 and the DSN */
    CU_ASSERT_TRUE(same_mail_stats(&sk, &sf));
    g_auto(GStrv) lk = stats_lines(keep.w);
    g_auto(GStrv) lf = stats_lines(fold.w);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(lk), g_strv_length(lf));
    for (guint i = 0; lk[i]; i++)
        CU_ASSERT_STRING_EQUAL(lk[i], lf[i]);
    /* m1, m2 and the DSN were stored where clients read: kept. m3 bounced
     * and its bounce went back to Alice: folded. */
    const MsMessageRecord *m3 = ms_mail_message_by_label(mk, "m3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
    CU_ASSERT_PTR_NULL(ms_mail_message(mf, m3->id));
    CU_ASSERT_PTR_NOT_NULL(ms_mail_message_by_label(mf, "m1"));
    CU_ASSERT_PTR_NOT_NULL(ms_mail_message_by_label(mf, "m2"));
    CU_ASSERT_EQUAL(ms_mail_n_folded(mf), 1);
    g_autoptr(GString) cf = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_world_check(fold.w, cf));
    run_clear(&keep);
    run_clear(&fold);
}

/* A plain SMTP client outside the scenario's clients (test_outside): it
 * sends each command of `script` once the reply to the one before is
 * complete (a line whose code is followed by a space) and keeps the codes. */
typedef struct {
    MsTcp *tcp;
    const char *const *script;
    guint next;
    GString *in;
    GString *codes; /* every final reply's code, space-separated */
    gboolean hang_up; /* close right after the last command, without waiting */
} OutsideClient;

static void
outside_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    (void) tcp;
    (void) conn;
    (void) ud;
}

static void
outside_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    OutsideClient *c = ud;
    g_string_append_len(c->in, (const char *) data, (gssize) len);
    for (char *eol; (eol = strstr(c->in->str, "\r\n"));) {
        gboolean last = eol - c->in->str >= 4 && c->in->str[3] == ' ';
        if (last)
            g_string_append_printf(c->codes, "%.3s ", c->in->str);
        g_string_erase(c->in, 0, eol + 2 - c->in->str);
        if (last && c->script[c->next]) {
            const char *cmd = c->script[c->next++];
            ms_tcp_send(tcp, conn, (const guint8 *) cmd, strlen(cmd));
            if (c->hang_up && !c->script[c->next]) {
                ms_tcp_close(tcp, conn);
                return;
            }
        }
    }
}

static void
outside_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    (void) tcp;
    (void) conn;
    (void) why;
    (void) ud;
}

static const MsTcpCallbacks outside_cb = { outside_connected, outside_data, outside_closed };

/* Messages from outside the scenario's clients (no Message-ID the world
 * knows) get a record when they reach a server's DATA (mail_smtpd.c); the
 * session holds it until the message is taken or refused. Lesson 15's
 * world (no expectations about single messages, no bodies kept), a client
 * on the phisher's host talks to mx.safe-corp.example, which checks SPF,
 * DKIM and DMARC before it answers DATA: one message forged From: the
 * boss (DMARC p=reject: 550), one honest (250, checked, stored), one with
 * 100 Received: headers (554 loop, before any check); and on a second
 * connection one whose client hangs up while the checks run. Folding on,
 * all four records are counted and freed; kept, the three not taken stay
 * with their sender (refused, with the reply's status, 4.4.2 for the
 * connection that ended) and the honest one is delivered. Before the fix
 * none of the four was ever let go of. */
static void
test_outside_messages(void)
{
    g_autofree char *lesson = lesson_without_expectations("scenarios/teaching/15-the-forged-boss.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lesson);
    g_autoptr(GString) xml = g_string_new(lesson);
    const char *root = strstr(xml->str, "<scenario ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    g_string_insert(xml, root - xml->str + (gssize) strlen("<scenario "), "keep-bodies=\"false\" ");
    g_autoptr(GString) looped = g_string_new(NULL);
    for (guint i = 0; i < 100; i++)
        g_string_append_printf(looped, "Received: from hop%u.example by hop%u.example\r\n", i,
                               i + 1);
    g_string_append(looped, "From: <bounces@phisher.example>\r\nSubject: round\r\n\r\n"
                            "and round\r\n.\r\n");
    const char *const script[] = {
        "EHLO mail.phisher.example\r\n",
        "MAIL FROM:<bounces@phisher.example>\r\n",
        "RCPT TO:<finance@safe-corp.example>\r\n",
        "DATA\r\n",
        "From: <boss@safe-corp.example>\r\nSubject: wire\r\n\r\nPay now.\r\n.\r\n",
        "MAIL FROM:<bounces@phisher.example>\r\n",
        "RCPT TO:<finance@safe-corp.example>\r\n",
        "DATA\r\n",
        "From: <bounces@phisher.example>\r\nSubject: hello\r\n\r\nHi.\r\n.\r\n",
        "MAIL FROM:<bounces@phisher.example>\r\n",
        "RCPT TO:<finance@safe-corp.example>\r\n",
        "DATA\r\n",
        looped->str,
        "QUIT\r\n",
        NULL,
    };
    const char *const hang_up[] = {
        "EHLO mail.phisher.example\r\n",
        "MAIL FROM:<bounces@phisher.example>\r\n",
        "RCPT TO:<boss@safe-corp.example>\r\n",
        "DATA\r\n",
        "From: <bounces@phisher.example>\r\nSubject: bye\r\n\r\nBye.\r\n.\r\n",
        NULL,
    };
    for (int fold = 0; fold < 2; fold++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_memory(xml->str, xml->len, "fold.xml", &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.fold_records = fold;
        o.fold_keep_first = 0;
        g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        MsMail *m = ms_world_mail(w);
        CU_ASSERT_EQUAL(ms_mail_folds_records(m), fold);
        MsNet *net = ms_world_net(w);
        MsHostId from = ms_net_host_by_name(net, "mail.phisher.example");
        MsHostId mx = ms_net_host_by_name(net, "mx.safe-corp.example");
        CU_ASSERT_FATAL(from != G_MAXUINT32 && mx != G_MAXUINT32);
        OutsideClient c = { ms_world_tcp(w), script,           0,
                            g_string_new(NULL), g_string_new(NULL), FALSE };
        OutsideClient h = { ms_world_tcp(w), hang_up,          0,
                            g_string_new(NULL), g_string_new(NULL), TRUE };
        ms_tcp_connect(c.tcp, from, ms_net_host_addr(net, mx), 25, &outside_cb, &c);
        ms_tcp_connect(h.tcp, from, ms_net_host_addr(net, mx), 25, &outside_cb, &h);
        ms_world_run(w, ms_world_default_until(w));
        CU_ASSERT_STRING_EQUAL(c.codes->str,
                               "220 250 250 250 354 550 250 250 354 250 250 250 354 554 221 ");
        CU_ASSERT_STRING_EQUAL(h.codes->str, "220 250 250 250 354 ");
        for (OutsideClient *x = &c; x; x = x == &c ? &h : NULL) {
            g_string_free(x->in, TRUE);
            g_string_free(x->codes, TRUE);
        }
        guint outside = 0, refused = 0, delivered = 0, ended = 0;
        for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
            const MsMessageRecord *r = ms_mail_message(m, id);
            if (!r || !g_str_has_prefix(r->label, "ext-"))
                continue;
            outside++;
            const MsRcptRecord *q = &g_array_index(r->rcpts, MsRcptRecord, 0);
            refused += q->state == MS_RCPT_REFUSED && (!strcmp(q->status, "5.7.1") ||
                                                       !strcmp(q->status, "5.4.6"));
            delivered += q->state == MS_RCPT_DELIVERED;
            ended += q->state == MS_RCPT_REFUSED && !strcmp(q->status, "4.4.2");
        }
        if (fold) {
            CU_ASSERT_EQUAL(outside, 0); /* all four folded */
            CU_ASSERT_EQUAL(ms_mail_n_folded(m), ms_mail_n_messages(m) - live_records(m));
        } else {
            CU_ASSERT_EQUAL(outside, 4);
            CU_ASSERT_EQUAL(refused, 2);
            CU_ASSERT_EQUAL(delivered, 1);
            CU_ASSERT_EQUAL(ended, 1);
        }
        g_autoptr(GString) checks = g_string_new(NULL);
        CU_ASSERT_TRUE(ms_world_check(w, checks)); /* no-loss: nothing unaccounted for */
    }
}

/* A world folds only when nothing reads records afterwards: not with
 * expectations about single messages, not when partitioned. */
static void
test_fold_only_when_unneeded(void)
{
    g_autofree char *lesson = NULL;
    CU_ASSERT_TRUE_FATAL(
        g_file_get_contents("scenarios/teaching/06-which-box.xml", &lesson, NULL, NULL));
    Run r = { 0 };
    run_world(&r, lesson, TRUE, 0, -1);
    CU_ASSERT_FALSE(ms_mail_folds_records(ms_world_mail(r.w)));
    g_autoptr(GString) out = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_world_check(r.w, out)); /* its expectations still pass */
    run_clear(&r);

    g_autofree char *xml = fold_world_xml(10, 200, "10min", 3);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(xml, strlen(xml), "fold.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, 2, MS_PARTITION_BLOCKS);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fold_records = 1;
    o.fidelity = MS_FIDELITY_PACKET;
    o.partition = p;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_FALSE(ms_mail_folds_records(ms_world_mail(w)));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "folded and kept records give the same statistics", test_same_statistics },
        { "sketched quantiles within the bound, and said so", test_sketched_quantiles },
        { "bounces, DSNs and POP3 readers", test_bounces_and_readers },
        { "no folding when records are needed", test_fold_only_when_unneeded },
        { "outside messages: taken or refused, their records let go", test_outside_messages },
        { NULL, NULL },
    };
    return ms_test_main("mail-fold", cases);
}
