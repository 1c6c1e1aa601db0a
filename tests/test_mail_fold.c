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
        { NULL, NULL },
    };
    return ms_test_main("mail-fold", cases);
}
