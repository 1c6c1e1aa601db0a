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
 * files are read with errors naming the line; a zero-latency cut link is
 * refused with a clear message. The same at flow level (lessons and the
 * generated world). The parts run on two threads wherever there are two
 * or more (ms_world_run_parts()), and `--threads` gives the same
 * statistics on 1, 2 or 3 threads.
 * The MPI driver runs the same parts over ranks (tests/test_mpi.c). */
#include "testlib.h"
#include "mailsim/mail_auth.h"
#include "mailsim/scenario.h"
#include "mailsim/shard.h"
#include "mailsim/stats.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char gen_small[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"gen-part\" seed=\"5\" until=\"3h\">\n"
    "  <generate topology=\"transit-stub\" domains=\"8\" routers=\"60\" users=\"80\" "
    "messages=\"400\" "
    "duration=\"2h\" seed=\"5\" outages=\"2\"/>\n"
    "</scenario>\n";

static MsScenario *
load(const char *path_or_text)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc =
        path_or_text[0] == '<'
            ? ms_scenario_load_memory(path_or_text, strlen(path_or_text), "gen-part.xml", &error)
            : ms_scenario_load_file(path_or_text, &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

/* Everything a run decided, as text: one line per message and recipient,
 * then per client what its device showed (when, and the delays the
 * summary lists per reading device). */
static char *
outcomes(MsWorld *w)
{
    MsMail *m = ms_world_mail(w);
    GString *s = g_string_new(NULL);
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        g_string_append_printf(
            s, "%u %s %s from=%s subj=%s created=%" G_GINT64_FORMAT " dsn=%d parent=%u origin=%u\n",
            r->id, r->label, r->message_id, r->from, r->subject, r->created_at, r->is_dsn,
            r->parent, r->origin);
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *q = &g_array_index(r->rcpts, MsRcptRecord, k);
            g_string_append_printf(
                s,
                "  %s %s done=%" G_GINT64_FORMAT " where=%u att=%u def=%u hops=%u rcv=%u "
                "pop=%" G_GINT64_FORMAT "/%u status=%s detail=%s\n",
                q->address, ms_rcpt_state_to_string(q->state), q->done_at, q->where, q->attempts,
                q->deferrals, q->hops, q->received_headers, q->retrieved_at, q->retrieved_by,
                q->status, q->detail ? q->detail : "");
        }
        /* Every sender check made on it, in order (the ledger). */
        MsMailAuthLedger l;
        for (guint i = 0; ms_mail_auth_ledger_nth(m, id, i, &l); i++)
            g_string_append_printf(s,
                                   "  check at=%" G_GINT64_FORMAT " where=%u spf=%s dkim=%s "
                                   "dmarc=%s dnsbl=%s action=%d\n",
                                   l.at, l.where, l.spf, l.dkim, l.dmarc, l.dnsbl, (int) l.action);
    }
    for (guint c = 0; c < ms_mail_n_clients(m); c++) {
        const char *how = ms_mail_client_reads(m, c);
        guint n;
        MsTime total, max;
        ms_mail_client_seen_delays(m, c, &n, &total, &max);
        g_string_append_printf(s,
                               "client %u host=%u reads=%s showed=%u total=%" G_GINT64_FORMAT
                               " max=%" G_GINT64_FORMAT "\n",
                               c, ms_mail_client_host(m, c), how ? how : "-", n, total, max);
        for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
            MsTime at = ms_mail_client_seen_at(m, c, id);
            if (at)
                g_string_append_printf(s, "  showed %s at %" G_GINT64_FORMAT "\n",
                                       ms_mail_message(m, id)->label, at);
        }
    }
    return g_string_free(s, FALSE);
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

/* A run to `until` (0: the scenario's end). */
static void
sequential(const MsScenario *sc, gint fidelity, MsTime until, Result *out)
{
    g_autoptr(GError) error = NULL;
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fidelity = fidelity;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, until ? until : ms_world_default_until(w));
    out->outcomes = outcomes(w);
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    out->stats = ms_test_stats_text(t);
    g_autoptr(GString) c = g_string_new(NULL);
    out->checks_ok = ms_world_check(w, c);
    out->checks = g_string_free(g_steal_pointer(&c), FALSE);
}

/* Set while a case runs its splits without windows
 * (ms_world_run_parts_async()) instead: on this many threads. */
static guint async_threads;

/* own: NULL, or one scenario per part, each part's own as an MPI rank's
 * is, its users released as its part is built (MsWorldOptions.release_users). */
static void
partitioned_own(const MsScenario *sc, MsScenario *const *own, const MsPartition *p, gint fidelity,
                MsTime until, Result *out)
{
    guint k = ms_partition_parts(p);
    /* The parts share their core route tables, as the CLI's do (freed
     * after the parts: declared before them). */
    g_autoptr(MsNetRouteShare) routes = ms_net_route_share_new();
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func((GDestroyNotify) ms_world_free);
    for (guint i = 0; i < k; i++) {
        g_autoptr(GError) error = NULL;
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.partition = p;
        o.part = i;
        o.fidelity = fidelity;
        o.route_share = routes;
        o.release_users = own ? own[i] : NULL;
        MsWorld *w = ms_world_new_full(own ? own[i] : sc, &o, &error);
        if (!w)
            g_printerr("%s\n", error->message);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        g_ptr_array_add(parts, w);
    }
    MsWorld *w0 = g_ptr_array_index(parts, 0);
    g_autoptr(GError) error = NULL;
    /* Two threads whenever there are two parts or more: one part each, or
     * several per thread (the same results as in one thread); or
     * without windows. */
    MsTime end = until ? until : ms_world_default_until(w0);
    gboolean ok = (async_threads ? ms_world_run_parts_async((MsWorld *const *) parts->pdata, k,
                                                            MIN(k, async_threads), end, NULL)
                             : ms_world_run_parts((MsWorld *const *) parts->pdata, k, MIN(k, 2u),
                                                  end)) &&
                  ms_world_merge_parts((MsWorld *const *) parts->pdata, k, &error);
    if (!ok)
        g_printerr("%s\n", error->message);
    CU_ASSERT_FATAL(ok);
    /* No part ever sent an event sooner than the lookahead allows. */
    for (guint i = 0; i < k; i++) {
        MsShardStats st;
        ms_shard_get_stats(ms_world_shard(g_ptr_array_index(parts, i)), &st);
        CU_ASSERT_EQUAL(st.late, 0);
    }
    out->outcomes = outcomes(w0);
    g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
    /* The other parts as the CLI and MPI collect them: only what they add. */
    for (guint i = 1; i < k; i++) {
        g_autoptr(MsStatsTable) ti = ms_stats_collect_part(g_ptr_array_index(parts, i));
        g_autoptr(GBytes) v = ms_stats_table_part_values(ti);
        CU_ASSERT(ms_stats_table_add_part(t, v, NULL));
    }
    out->stats = ms_test_stats_text(t);
    g_autoptr(GString) c = g_string_new(NULL);
    out->checks_ok = ms_world_check(w0, c);
    out->checks = g_string_free(g_steal_pointer(&c), FALSE);
}

static void
partitioned(const MsScenario *sc, const MsPartition *p, gint fidelity, MsTime until, Result *out)
{
    partitioned_own(sc, NULL, p, fidelity, until, out);
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
            g_printerr("%s differ at line %u (%s):\n  sequential:  %s\n  partitioned: %s\n", what,
                       i + 1, la[h] ? la[h] : "", la[i] ? la[i] : "(end)", lb[i] ? lb[i] : "(end)");
            return;
        }
}

/* At `fidelity` (-1: the scenario's), run to `until` (0: the scenario's
 * end), outcomes, statistics and checks. The parts are freed after the
 * comparison, part 0 (which holds the merged records) first. */
static void
check_identical_until(const char *source, gint fidelity, MsTime until)
{
    g_autoptr(MsScenario) sc = load(source);
    Result seq = { 0 };
    sequential(sc, fidelity, until, &seq);
    guint n = sc->hosts->len;
    for (guint k = 1; k <= 4; k++) {
        for (int scheme = 0; scheme < 3; scheme++) {
            if (k > n)
                continue;
            g_autoptr(MsPartition) p =
                scheme == 2 ? ms_world_partition_auto(sc, k)
                            : ms_partition_new(
                                  n, k, scheme == 0 ? MS_PARTITION_MODULO : MS_PARTITION_BLOCKS);
            MsTime la;
            if (!ms_world_partition_lookahead(sc, p, &la, NULL, NULL))
                continue; /* a split cutting a zero-latency link: refused (tested below) */
            Result par = { 0 };
            partitioned(sc, p, fidelity, until, &par);
            gboolean same = strcmp(seq.outcomes, par.outcomes) == 0 &&
                            strcmp(seq.stats, par.stats) == 0 &&
                            strcmp(seq.checks, par.checks) == 0;
            if (!same) {
                g_printerr("%s: %u parts (%s)%s, run to %s\n",
                           source[0] == '<' ? "generated world" : source, k,
                           ms_partition_scheme_to_string(ms_partition_scheme(p)),
                           fidelity == MS_FIDELITY_FLOW ? ", flow level" : "",
                           until ? "--until" : "the end");
                report_diff("outcomes", seq.outcomes, par.outcomes);
                report_diff("statistics", seq.stats, par.stats);
                report_diff("checks", seq.checks, par.checks);
            }
            CU_ASSERT(same);
            result_clear(&par);
        }
    }
    if (!until)
        CU_ASSERT(seq.checks_ok);
    result_clear(&seq);
}

static void
check_identical_at(const char *source, gint fidelity)
{
    check_identical_until(source, fidelity, 0);
}

static void
check_identical(const char *source)
{
    check_identical_at(source, -1);
}

static void
test_lesson_01(void)
{
    check_identical("scenarios/teaching/01-first-email.xml");
}
static void
test_lesson_02(void)
{
    check_identical("scenarios/teaching/02-packets.xml");
}
static void
test_lesson_03(void)
{
    check_identical("scenarios/teaching/03-dns.xml");
}
static void
test_lesson_05(void)
{
    check_identical("scenarios/teaching/05-server-down.xml");
}
static void
test_lesson_07(void)
{
    check_identical("scenarios/teaching/07-checking-mail.xml");
}
static void
test_lesson_08(void)
{
    check_identical("scenarios/teaching/08-backup-mx.xml");
}
static void
test_lesson_09(void)
{
    check_identical("scenarios/teaching/09-greylisting.xml");
}
static void
test_lesson_10(void)
{
    check_identical("scenarios/teaching/10-slow-link.xml");
}
/* Logins inside TLS and in the clear, counted by each part's clients,
 * add up in the merged checks and statistics. */
static void
test_lesson_11(void)
{
    check_identical("scenarios/teaching/11-password-on-the-wire.xml");
}

/* A downgrade attacker and MTA-STS (lesson 13): the sessions a TLS
 * requirement ended are counted by the sending server's part and reach
 * the merged checks (<expect kind="tls-deferred">) by Message-ID. */
static void
test_lesson_13(void)
{
    check_identical("scenarios/teaching/13-downgrade.xml");
}

/* The receiver's SPF, DKIM and DMARC results (lesson 15: a forged From:)
 * are recorded by the checking server's part and merged by Message-ID. */
static void
test_lesson_15(void)
{
    check_identical("scenarios/teaching/15-the-forged-boss.xml");
}

/* A forward and a list on one part send the message on to addresses the
 * record of its creator's part never named (lesson 16): the records,
 * statistics and the receivers' checks are the sequential run's. */
static void
test_lesson_16(void)
{
    check_identical("scenarios/teaching/16-forwarding-breaks-spf.xml");
}

/* A blocklisted sender (lesson 17), split every way, also those that put
 * the blocklisted host and the receiver on different parts (mod 3 and 4):
 * the listing marks what the client held queued at that moment, which the
 * merge finds from every part's queue entries (mail_merge.c). */
static void
test_lesson_17(void)
{
    check_identical("scenarios/teaching/17-a-blocklisted-sender.xml");
}

/* Lesson `path` with rua= added to its p=reject DMARC record (no lesson
 * asks for aggregate reports). Caller frees. */
static char *
with_rua(const char *path, const char *rua)
{
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    g_autofree char *attr = g_strdup_printf("<dmarc p=\"reject\" rua=\"%s\"/>", rua);
    g_auto(GStrv) pieces = g_strsplit(text, "<dmarc p=\"reject\"/>", -1);
    CU_ASSERT_FATAL(g_strv_length(pieces) == 2);
    return g_strjoinv(attr, pieces);
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The DMARC aggregate reports of w (--dmarc-reports) as one text: each
 * file's name and bytes, by name. */
static char *
dmarc_reports(MsWorld *w)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-test-dmarc-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autoptr(GError) error = NULL;
    guint files = 0;
    CU_ASSERT(ms_world_write_dmarc_reports(w, dir, &files, &error));
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *f; d && (f = g_dir_read_name(d));)
        g_ptr_array_add(names, g_strdup(f));
    g_ptr_array_sort(names, by_name);
    CU_ASSERT_EQUAL(names->len, files);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        g_autofree char *bytes = NULL;
        CU_ASSERT(g_file_get_contents(path, &bytes, NULL, NULL));
        g_string_append_printf(s, "== %s\n%s", (char *) names->pdata[i], bytes ? bytes : "");
        g_unlink(path);
    }
    g_rmdir(dir);
    /* The rows in the order added (the files group them per receiver). */
    MsMail *m = ms_world_mail(w);
    for (guint i = 0; i < ms_mail_auth_n_report_rows(m); i++) {
        const MsMailAuthReportRow *r = ms_mail_auth_report_row(m, i);
        g_string_append_printf(s, "row %" G_GINT64_FORMAT " %u %s %s\n", r->at, r->receiver,
                               r->policy_domain, r->source_ip);
    }
    return g_string_free(s, FALSE);
}

/* DMARC aggregate reports of a partitioned run (RFC 7489 7.2): the rows
 * stay with the part whose server checked; the merge brings every part's
 * back in the sequential order, so the report files are the sequential
 * run's byte for byte, split 2 and 3 ways, every scheme. Lesson 15: two
 * receivers, one report each; lesson 16: the forwarded and the list's
 * copies, whose envelope_to is the RCPT the receiver was given
 * (isp-b.net), not the address Alice wrote. */
static void
test_dmarc_reports(void)
{
    static const struct {
        const char *path, *rua, *want;
        guint files;
    } lessons[] = {
        { "scenarios/teaching/15-the-forged-boss.xml", "dmarc@safe-corp.example",
          "<header_from>safe-corp.example</header_from>", 2 },
        { "scenarios/teaching/16-forwarding-breaks-spf.xml", "dmarc@isp-a.net",
          "<envelope_to>isp-b.net</envelope_to>", 1 },
    };
    for (guint l = 0; l < G_N_ELEMENTS(lessons); l++) {
        g_autofree char *text = with_rua(lessons[l].path, lessons[l].rua);
        g_autoptr(MsScenario) sc = load(text);
        MsWorldOptions so = MS_WORLD_OPTIONS_INIT;
        g_autoptr(MsWorld) seq = ms_world_new_full(sc, &so, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(seq);
        ms_world_run(seq, ms_world_default_until(seq));
        g_autofree char *want = dmarc_reports(seq);
        CU_ASSERT_PTR_NOT_NULL(strstr(want, lessons[l].want));
        CU_ASSERT_PTR_NULL(strstr(want, "<envelope_to>alumni.example</envelope_to>"));
        guint files = 0;
        for (const char *f = want; (f = strstr(f, "== ")); f++)
            files++;
        CU_ASSERT_EQUAL(files, lessons[l].files);
        for (guint k = 2; k <= 3; k++)
            for (int scheme = 0; scheme < 3; scheme++) {
                g_autoptr(MsPartition) p =
                    scheme == 2
                        ? ms_world_partition_auto(sc, k)
                        : ms_partition_new(sc->hosts->len, k,
                                           scheme == 0 ? MS_PARTITION_MODULO : MS_PARTITION_BLOCKS);
                MsWorld *parts[3];
                for (guint i = 0; i < k; i++) {
                    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
                    o.partition = p;
                    o.part = i;
                    parts[i] = ms_world_new_full(sc, &o, NULL);
                    CU_ASSERT_PTR_NOT_NULL_FATAL(parts[i]);
                }
                g_autoptr(GError) error = NULL;
                CU_ASSERT_FATAL(ms_world_run_parts(parts, k, 2, ms_world_default_until(parts[0])) &&
                                ms_world_merge_parts(parts, k, &error));
                g_autofree char *got = dmarc_reports(parts[0]);
                if (strcmp(got, want) != 0)
                    g_printerr("%s: %u parts (%s): reports differ:\n--- sequential\n%s\n--- "
                               "partitioned\n%s\n",
                               lessons[l].path, k,
                               ms_partition_scheme_to_string(ms_partition_scheme(p)), want, got);
                CU_ASSERT_STRING_EQUAL(got, want);
                for (guint i = 0; i < k; i++)
                    ms_world_free(parts[i]);
            }
    }
}

/* IMAP devices on several parts: a phone on push and a laptop polling
 * (lesson 19), POP3 next to IMAP (lesson 18). What each device showed,
 * and when, is merged from the part that runs it. */
static void
test_lesson_18(void)
{
    check_identical("scenarios/teaching/18-pop3-or-imap.xml");
}

static void
test_lesson_19(void)
{
    check_identical("scenarios/teaching/19-push.xml");
}

/* Device lines of a summary ("    HOST (IMAP) showed N messages ..."). */
static char *
device_lines(const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    GString *s = g_string_new(NULL);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "    ") && strstr(lines[i], ") showed "))
            g_string_append_printf(s, "%s\n", lines[i]);
    return g_string_free(s, FALSE);
}

/* The summary of `mailsim run` lists every reading device of a partitioned
 * run, as the sequential run does, not only those of part 0. */
static void
test_device_listing(void)
{
    const char *lesson = "scenarios/teaching/19-push.xml";
    const char *seq_argv[] = { ms_test_mailsim_path(), "run", lesson, "-q", NULL };
    g_autofree char *seq_out = NULL, *seq_err = NULL;
    CU_ASSERT_EQUAL_FATAL(ms_test_spawn(seq_argv, &seq_out, &seq_err), 0);
    g_autofree char *want = device_lines(seq_out);
    CU_ASSERT_PTR_NOT_NULL(strstr(want, "phone.sales.diversicomcorp.com (IMAP IDLE) showed 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(want, "laptop.sales.diversicomcorp.com (IMAP) showed 2"));
    static const char *const schemes[] = { "auto", "mod", "block" };
    for (guint k = 2; k <= 4; k++)
        for (guint i = 0; i < G_N_ELEMENTS(schemes); i++) {
            g_autofree char *parts = g_strdup_printf("--parts=%u", k);
            g_autofree char *how = g_strdup_printf("--partition=%s", schemes[i]);
            const char *argv[] = { ms_test_mailsim_path(), "run", lesson, "-q", how, parts, NULL };
            g_autofree char *out = NULL, *err = NULL;
            int rc = ms_test_spawn(argv, &out, &err);
            g_autofree char *got = device_lines(out ? out : "");
            if (rc != 0 || strcmp(want, got) != 0)
                g_printerr("%s %s: exit %d, devices:\n%s(sequential:\n%s)%s\n", how, parts, rc, got,
                           want, err ? err : "");
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_STRING_EQUAL(got, want);
        }
}

static void
test_generated(void)
{
    check_identical(gen_small);
}

/* The same splits without windows, on two threads: lessons with loss, an
 * outage (two of three parts idle for 1,200 s: the jump) and sender
 * checks, the generated world at both levels, and a run cut short; and
 * on one thread, where every part waits for the others' promises in turn. */
static void
test_async(void)
{
    async_threads = 1;
    check_identical("scenarios/teaching/05-server-down.xml");
    async_threads = 2;
    check_identical("scenarios/teaching/02-packets.xml");
    check_identical("scenarios/teaching/05-server-down.xml");
    check_identical("scenarios/teaching/15-the-forged-boss.xml");
    check_identical(gen_small);
    check_identical_at(gen_small, MS_FIDELITY_FLOW);
    check_identical_until(gen_small, -1, 40 * 60 * MS_TIME_S);
    async_threads = 0;
}

/* A run that --until cuts short leaves mail in flight: queued at servers
 * (lesson 05's outage, its retries) and in the middle of submissions and
 * relays (the generated world). The merged records still equal the
 * sequential run's at the same time, and freeing part 0, whose left-over
 * queue entries and submissions let go of records the merge replaced,
 * raises no GLib critical (testlib makes criticals fatal). */
static void
test_cut_short(void)
{
    check_identical_until("scenarios/teaching/05-server-down.xml", -1, 30 * MS_TIME_S);
    check_identical_until("scenarios/teaching/05-server-down.xml", -1, 17 * 60 * MS_TIME_S);
    check_identical_until(gen_small, -1, 40 * 60 * MS_TIME_S);
    check_identical_until(gen_small, MS_FIDELITY_FLOW, 40 * 60 * MS_TIME_S);
}

/* The flow level's signalled shares give it lookahead (sim/net/flow.c):
 * the same lessons and world split at flow level are the sequential flow
 * runs exactly. */
static void
test_flow_lessons(void)
{
    static const char *const lessons[] = { "01-first-email", "02-packets",       "03-dns",
                                           "05-server-down", "07-checking-mail", "08-backup-mx",
                                           "09-greylisting", "10-slow-link",     "19-push" };
    for (guint i = 0; i < G_N_ELEMENTS(lessons); i++) {
        g_autofree char *path = g_strdup_printf("scenarios/teaching/%s.xml", lessons[i]);
        check_identical_at(path, MS_FIDELITY_FLOW);
    }
}
static void
test_flow_generated(void)
{
    check_identical_at(gen_small, MS_FIDELITY_FLOW);
}

/* Each part keeps mailboxes for its own mail servers only: another part's
 * server has an empty store here (its users' names are all it keeps, for
 * the workloads, which the identical runs above check). */
static void
test_mailboxes_rank_local(void)
{
    g_autoptr(MsScenario) sc = load(gen_small);
    g_autoptr(MsPartition) p = ms_world_partition_auto(sc, 2);
    guint local_seen = 0, other_seen = 0;
    for (guint part = 0; part < 2; part++) {
        g_autoptr(GError) error = NULL;
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.partition = p;
        o.part = part;
        g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        MsMail *m = ms_world_mail(w);
        for (guint i = 0; i < sc->mailservers->len; i++) {
            const MsScenarioMailserver *ms =
                &g_array_index(sc->mailservers, MsScenarioMailserver, i);
            g_autoptr(GPtrArray) users =
                ms_mail_store_users(ms_mail_server_store(m, ms_mail_server_by_host(m, ms->host)));
            gboolean local = ms_partition_owner(p, ms->host) == part;
            CU_ASSERT_EQUAL(users->len, local ? ms->users->len : 0);
            local_seen += local && ms->users->len > 0;
            other_seen += !local && ms->users->len > 0;
        }
    }
    /* The split put servers with users on both parts. */
    CU_ASSERT(local_seen > 0 && other_seen > 0);
}

/* An MPI rank frees the users from its own scenario as its part is built
 * (MsWorldOptions.release_users; ms_world_partition_release() after the
 * build then finds nothing more to free): the runs stay the sequential run's,
 * a mailbox-full fault on another part's mailbox included, and each part's
 * scenario keeps exactly the users of its own servers that a mailbox-full
 * fault names. */
static void
test_released_scenarios(void)
{
    g_autofree char *text = g_strdup(gen_small);
    char *end = strstr(text, "</scenario>");
    *end = '\0';
    g_autofree char *source = g_strconcat(
        text,
        "  <fault kind=\"mailbox-full\" target=\"u1@d1.example\" at=\"0s\" duration=\"2h\"/>\n",
        "  <fault kind=\"mailbox-full\" target=\"u2@d6.example\" at=\"0s\" duration=\"2h\"/>\n",
        "</scenario>\n", NULL);
    g_autoptr(MsScenario) sc = load(source);
    Result seq = { 0 };
    sequential(sc, -1, 0, &seq);
    /* A sequential run that is its scenario's only reader (mailsim run):
     * the same run, and only the faulted servers keep their users. */
    {
        g_autoptr(MsScenario) alone = load(source);
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.release_users = alone;
        g_autoptr(MsWorld) w = ms_world_new_full(alone, &o, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        ms_world_run(w, ms_world_default_until(w));
        g_autofree char *got = outcomes(w);
        CU_ASSERT_STRING_EQUAL(got, seq.outcomes);
        g_autoptr(MsStatsTable) t = ms_stats_collect(w);
        g_autofree char *stats = ms_test_stats_text(t);
        CU_ASSERT_STRING_EQUAL(stats, seq.stats);
        g_autoptr(GString) c = g_string_new(NULL);
        ms_world_check(w, c);
        CU_ASSERT_STRING_EQUAL(c->str, seq.checks);
        guint kept = 0, servers = 0;
        for (guint m = 0; m < alone->mailservers->len; m++) {
            guint n = g_array_index(alone->mailservers, MsScenarioMailserver, m).users->len;
            kept += n;
            servers += n > 0;
        }
        CU_ASSERT_EQUAL(servers, 2); /* the two the faults name */
        CU_ASSERT(kept > 0);
    }
    for (guint k = 2; k <= 3; k++) {
        g_autoptr(MsPartition) p = ms_world_partition_auto(sc, k);
        MsScenario *own[3] = { 0 };
        guint own_users[3] = { 0 }, other_users[3] = { 0 };
        for (guint i = 0; i < k; i++)
            own[i] = load(source);
        for (guint m = 0; m < sc->mailservers->len; m++) {
            const MsScenarioMailserver *ms =
                &g_array_index(sc->mailservers, MsScenarioMailserver, m);
            gboolean faulted = FALSE;
            for (guint f = 0; f < sc->faults->len; f++)
                faulted |= g_array_index(sc->faults, MsScenarioFault, f).mailserver == (gint) m;
            for (guint i = 0; i < k; i++)
                *(ms_partition_owner(p, ms->host) == i && faulted ? &own_users[i]
                                                                  : &other_users[i]) +=
                    ms->users->len;
        }
        Result par = { 0 };
        partitioned_own(sc, own, p, -1, 0, &par);
        CU_ASSERT_STRING_EQUAL(seq.outcomes, par.outcomes);
        CU_ASSERT_STRING_EQUAL(seq.stats, par.stats);
        CU_ASSERT_STRING_EQUAL(seq.checks, par.checks);
        for (guint i = 0; i < k; i++) {
            guint kept = 0;
            for (guint m = 0; m < own[i]->mailservers->len; m++) {
                const MsScenarioMailserver *ms =
                    &g_array_index(own[i]->mailservers, MsScenarioMailserver, m);
                gboolean local = ms_partition_owner(p, ms->host) == i;
                CU_ASSERT(local || ms->users->len == 0);
                kept += ms->users->len;
            }
            /* Every part gave some back and kept its faulted servers'. */
            CU_ASSERT(other_users[i] > 0);
            CU_ASSERT_EQUAL(kept, own_users[i]);
            CU_ASSERT_EQUAL(ms_world_partition_release(own[i], p, i), 0);
            ms_scenario_free(own[i]);
        }
        result_clear(&par);
    }
    result_clear(&seq);
}

/* Runs argv and checks it is refused as bad usage (exit 2) with `want` in
 * its error output. */
static void
expect_refused(const char *const *argv, const char *want)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 2);
    gboolean said = err && strstr(err, want);
    if (!said)
        fprintf(stderr, "expected '%s' in: %s\n", want, err ? err : "(nothing)");
    CU_ASSERT(said);
}

/* Removes a three-part run's files (freeing the part names) and their directory. */
static void
remove_outputs(const char *dir, char *parts[3], const char *seq, const char *merged)
{
    for (int i = 0; i < 3; i++) {
        g_unlink(parts[i]);
        g_free(parts[i]);
    }
    g_unlink(seq);
    g_unlink(merged);
    g_rmdir(dir);
}

/* `mailsim run --partition mod --parts 3 --trace T` then `mailsim merge`:
 * the merged trace is byte for byte the sequential run's. (Lessons 01 and
 * 04 are left out: the narration's once-per-run asides come once per part
 * there, see README.) */
static void
test_merged_trace_is_sequential(void)
{
    static const char *const lessons[] = { "02-packets",       "03-dns",       "05-server-down",
                                           "07-checking-mail", "08-backup-mx", "09-greylisting",
                                           "10-slow-link" };
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
        const char *a2[] = { m,     "run",     file, "-q", "--trace", par, "--partition",
                             "mod", "--parts", "3",  NULL };
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
    const char *bad2[] = { m, "merge", "-o", merged, parts[0], parts[1], nope, NULL };
    const char *bad3[] = { m, "merge", parts[0], NULL };
    expect_refused(bad1, "no id table");
    expect_refused(bad2, "nope.jsonl");
    expect_refused(bad3, "-o OUT.jsonl is required");
    /* a part left out, or the parts out of order: refused, naming the file */
    const char *bad4[] = { m, "merge", "-o", merged, parts[0], parts[1], NULL };
    const char *bad5[] = { m, "merge", "-o", merged, parts[1], parts[0], parts[2], NULL };
    expect_refused(bad4, "is part 0 of 3, given as part 0 of 2");
    expect_refused(bad5, "is part 1 of 3, given as part 0 of 3");
    remove_outputs(dir, parts, seq, merged);
}

/* `--threads`: the parts of one run on 1, 2 or 3 threads write the same
 * statistics (the summary says how many threads ran them); misuse is
 * refused, naming the option. */
static void
test_threads_cli(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-threads-XXXXXX", NULL);
    const char *m = ms_test_mailsim_path();
    const char *file = "scenarios/teaching/05-server-down.xml";
    g_autofree char *first = NULL;
    for (guint threads = 1; threads <= 3; threads++) {
        g_autofree char *stats = g_strdup_printf("%s/t%u.csv", dir, threads);
        g_autofree char *n = g_strdup_printf("%u", threads);
        const char *a[] = { m,   "run",       file, "--partition", "mod", "--parts",
                            "3", "--threads", n,    "--stats",     stats, NULL };
        g_autofree char *out = NULL, *err = NULL, *got = NULL;
        CU_ASSERT_EQUAL(ms_test_spawn(a, &out, &err), 0);
        g_autofree char *said =
            g_strdup_printf("in this process on %u thread%s", threads, threads == 1 ? "" : "s");
        CU_ASSERT_PTR_NOT_NULL(out && strstr(out, said));
        /* and how the windows went: lesson 05 has events in some 185 */
        g_autofree char *dist = g_strdup_printf("Distribution: 3 parts on %u thread", threads);
        const char *line = out ? strstr(out, dist) : NULL;
        guint64 windows = 0;
        CU_ASSERT(line && sscanf(strchr(line, ',') + 2, "%" G_GUINT64_FORMAT " windows", &windows) == 1 &&
                  windows > 10 && strstr(line, "waiting at window ends"));
        CU_ASSERT_FATAL(g_file_get_contents(stats, &got, NULL, NULL));
        g_unlink(stats);
        if (!first)
            first = g_steal_pointer(&got);
        else
            CU_ASSERT_STRING_EQUAL(got, first);
    }
    CU_ASSERT(first && strstr(first, "mail,delivered,"));
    /* and one thread per part without windows */
    g_autofree char *stats = g_strdup_printf("%s/async.csv", dir);
    const char *a[] = { m,     "run", file,      "--partition", "mod", "--parts",
                        "3",   "--async", "--threads", "3", "--stats",     stats, NULL };
    g_autofree char *out = NULL, *err = NULL, *got = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(a, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "on 3 threads without windows"));
    const char *line = out ? strstr(out, "Distribution: 3 parts on 3 threads without windows, ") : NULL;
    guint64 steps = 0, jumps = 0;
    CU_ASSERT(line && sscanf(line, "Distribution: 3 parts on 3 threads without windows, %" G_GUINT64_FORMAT
                             " steps (%*[^)]), %" G_GUINT64_FORMAT " jumps",
                             &steps, &jumps) == 2 &&
              steps > 10 && jumps > 0);
    CU_ASSERT(g_file_get_contents(stats, &got, NULL, NULL) && g_strcmp0(got, first) == 0);
    g_unlink(stats);
    g_rmdir(dir);
    const char *bad1[] = { m, "run", file, "--partition", "mod", "--threads", "2", NULL };
    const char *bad2[] = { m,         "run", file,        "--partition", "mod",
                           "--parts", "2",   "--threads", "0",           NULL };
    expect_refused(bad1, "--threads needs --parts");
    expect_refused(bad2, "--threads: '0': expected 1 to 4096");
    const char *bad3[] = { m, "run", file, "--partition", "mod", "--async", NULL };
    expect_refused(bad3, "--async needs --parts");
    const char *bad4[] = { m,         "run", file, "--partition",    "mod", "--parts", "2",
                           "--async", "--dist-profile", "p.json", NULL };
    expect_refused(bad4, "--dist-profile records windows: not with --async");
}

static int
cmp_lines(const void *a, const void *b)
{
    return g_strcmp0(*(const char *const *) a, *(const char *const *) b);
}

/* Sorted "time len src dst seq" lines of a capture, read by tshark. */
static char *
capture_lines(const char *tshark, const char *path)
{
    const char *argv[] = {
        tshark,      "-r", path,     "-T", "fields", "-e", "frame.time_epoch", "-e",
        "frame.len", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.seq_raw",      NULL
    };
    g_autofree char *out = NULL, *err = NULL;
    if (ms_test_spawn(argv, &out, &err) != 0 || !out)
        return g_strdup("(tshark failed)");
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    guint n = g_strv_length(lines);
    qsort(lines, n, sizeof(char *), cmp_lines);
    return g_strjoinv("\n", lines);
}

/* Per-part captures merged by `mailsim merge -o OUT.pcapng` (Wireshark's
 * mergecap underneath) hold exactly the sequential run's packets (ordered
 * by time rather than by emission). */
static void
test_merged_capture(void)
{
    g_autofree char *tshark = g_find_program_in_path("tshark"),
                    *mergecap = g_find_program_in_path("mergecap");
    if (!tshark || !mergecap) {
        ms_test_skip("no tshark or mergecap on the PATH");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcap-XXXXXX", NULL);
    g_autofree char *seq = g_build_filename(dir, "seq.pcapng", NULL),
                    *par = g_build_filename(dir, "par.pcapng", NULL);
    g_autofree char *merged = g_build_filename(dir, "merged.pcapng", NULL);
    char *parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = g_strdup_printf("%s/par.part%d.pcapng", dir, i);
    const char *m = ms_test_mailsim_path(), *lesson = "scenarios/teaching/05-server-down.xml";
    const char *a1[] = { m, "run", lesson, "-q", "--pcap", seq, NULL };
    const char *a2[] = { m,       "run",     lesson, "-q", "--pcap", par, "--partition",
                         "block", "--parts", "3",    NULL };
    const char *a3[] = { m, "merge", "-o", merged, parts[0], parts[1], parts[2], NULL };
    g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(a1, &o1, &e1), 0);
    CU_ASSERT_EQUAL(ms_test_spawn(a2, &o2, &e2), 0);
    CU_ASSERT_EQUAL(ms_test_spawn(a3, &o3, &e3), 0);
    g_autofree char *want = capture_lines(tshark, seq), *got = capture_lines(tshark, merged);
    CU_ASSERT(strlen(want) > 1000);
    CU_ASSERT_STRING_EQUAL(got, want);
    g_autofree char *nope = g_build_filename(dir, "nope.pcapng", NULL);
    const char *a4[] = { m, "merge", "-o", merged, parts[0], nope, NULL };
    expect_refused(a4, "nope.pcapng");
    remove_outputs(dir, parts, seq, merged);
}

/* The automatic split of a generated world: every part gets hosts, no part
 * more than 10 % over its share of the load guess (counted here as hosts
 * weighted by role), trees are never cut, and its lookahead is at least the
 * shortest transit link's. (A world with only a handful of transit routers
 * cannot be split that way; the depth-first fallback then decides.) */
static void
test_auto_split(void)
{
    /* 20 transit routers (routers / 20), the rest in stub trees; not run. */
    static const char gen_split[] = "<?xml version=\"1.0\"?>\n<scenario version=\"1\" "
                                    "name=\"gen-split\" seed=\"2\" until=\"1h\">\n"
                                    "  <generate topology=\"transit-stub\" domains=\"40\" "
                                    "routers=\"400\" users=\"80\" messages=\"10\" "
                                    "duration=\"1h\" seed=\"2\"/>\n</scenario>\n";
    g_autoptr(MsScenario) sc = load(gen_split);
    guint n = sc->hosts->len;
    g_autofree guint *degree = g_new0(guint, n);
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        degree[l->a]++;
        degree[l->b]++;
    }
    for (guint32 k = 2; k <= 4; k++) {
        g_autoptr(MsPartition) p = ms_world_partition_auto(sc, k);
        CU_ASSERT_EQUAL_FATAL(ms_partition_parts(p), k);
        MsTime la = 0;
        guint cuts = 0;
        CU_ASSERT_FATAL(ms_world_partition_lookahead(sc, p, &la, &cuts, NULL));
        CU_ASSERT(cuts > 0 && cuts < sc->links->len / 4);
        for (guint i = 0; i < sc->links->len; i++) {
            const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
            gboolean cut = ms_partition_owner(p, l->a) != ms_partition_owner(p, l->b);
            /* A host with one link is a leaf of a tree: never cut off. */
            if (degree[l->a] == 1 || degree[l->b] == 1)
                CU_ASSERT(!cut);
        }
        CU_ASSERT(la >= 5 * MS_TIME_MS); /* transit links are 5-30 ms, stub links 1-5 ms */
        g_autofree double *load = g_new0(double, k);
        double total = 0;
        for (guint h = 0; h < n; h++) {
            const MsScenarioHost *hh = &g_array_index(sc->hosts, MsScenarioHost, h);
            double w = hh->role == MS_HOST_MAILSERVER                         ? 8
                       : hh->role == MS_HOST_DNS || hh->role == MS_HOST_RELAY ? 4
                       : hh->role == MS_HOST_CLIENT                           ? 2
                                                                              : 1;
            load[ms_partition_owner(p, h)] += w;
            total += w;
        }
        for (guint32 i = 0; i < k; i++) {
            CU_ASSERT(ms_partition_count(p, i) > 0);
            CU_ASSERT(load[i] <= 1.10 * total / k + 1e-9);
        }
    }
    /* One part: everything in it, nothing cut. */
    g_autoptr(MsPartition) one = ms_world_partition_auto(sc, 1);
    MsTime la;
    guint cuts = 9;
    CU_ASSERT(ms_world_partition_lookahead(sc, one, &la, &cuts, NULL));
    CU_ASSERT_EQUAL(cuts, 0);
    CU_ASSERT_EQUAL(la, MS_TIME_INFINITE);
}

/* The measured split: a pilot run gives the same rates twice; each split
 * reports its own lookahead, cut links and heaviest share truly; when one
 * host carries nearly all events no split can balance, so the split takes
 * a lookahead at least as long as with even rates (it trades balance for
 * lookahead only where balance is to be had); with nothing measured it is
 * the roles' split. */
static void
test_measured_split(void)
{
    static const char gen_pilot[] = "<?xml version=\"1.0\"?>\n<scenario version=\"1\" "
                                    "name=\"gen-pilot\" seed=\"4\" until=\"1h\">\n"
                                    "  <generate topology=\"transit-stub\" domains=\"12\" "
                                    "routers=\"120\" users=\"60\" messages=\"120\" "
                                    "duration=\"1h\" seed=\"4\"/>\n</scenario>\n";
    g_autoptr(MsScenario) sc = load(gen_pilot);
    guint n = sc->hosts->len;
    g_autoptr(GError) error = NULL;
    g_autoptr(MsWorldRates) r1 = ms_world_pilot(sc, NULL, 10 * 60 * MS_TIME_S, &error);
    g_autoptr(MsWorldRates) r2 = ms_world_pilot(sc, NULL, 10 * 60 * MS_TIME_S, NULL);
    CU_ASSERT_FATAL(r1 && r2);
    CU_ASSERT(r1->events_per_s > 0);
    CU_ASSERT(memcmp(r1->host, r2->host, sizeof(double) * n) == 0);
    CU_ASSERT(memcmp(r1->link, r2->link, sizeof(double) * sc->links->len) == 0);
    double total = 0;
    for (guint h = 0; h < n; h++)
        total += r1->host[h];
    /* A host weighs the events run at it, plus one (a rate over the 600 s):
     * with no faults, every event is some host's. */
    CU_ASSERT_DOUBLE_EQUAL((total - n / 600.0) * 600.0, r1->events_per_s * 600.0, 1e-6);
    for (guint32 k = 2; k <= 4; k++) {
        MsWorldPartitionPlan plan;
        g_autoptr(MsPartition) p = ms_world_partition_auto_rates(sc, k, r1, &plan);
        g_autoptr(MsPartition) again = ms_world_partition_auto_rates(sc, k, r1, NULL);
        MsTime la = 0;
        guint cuts = 0;
        CU_ASSERT_FATAL(ms_world_partition_lookahead(sc, p, &la, &cuts, NULL));
        CU_ASSERT_EQUAL(plan.lookahead, la);
        CU_ASSERT_EQUAL(plan.cut_links, cuts);
        g_autofree double *load = g_new0(double, k);
        for (guint h = 0; h < n; h++) {
            load[ms_partition_owner(p, h)] += r1->host[h];
            CU_ASSERT_EQUAL(ms_partition_owner(p, h), ms_partition_owner(again, h));
        }
        double most = 0;
        for (guint32 i = 0; i < k; i++)
            most = MAX(most, load[i]);
        CU_ASSERT_DOUBLE_EQUAL(plan.max_share, most / total, 1e-9);
        CU_ASSERT(plan.max_share >= 1.0 / k - 1e-9 && plan.cut_share > 0 && plan.cut_share < 1);
        /* One busy core router: balance is out of reach, lookahead is not. */
        MsWorldRates skew = *r1;
        g_autofree double *hosts = g_new(double, n);
        skew.host = hosts;
        guint busy = 0;
        for (guint h = 0; h < n; h++) {
            hosts[h] = 1;
            if (g_array_index(sc->hosts, MsScenarioHost, h).role == MS_HOST_ROUTER && !busy)
                busy = h;
        }
        hosts[busy] = 1e9;
        MsWorldPartitionPlan even_plan, skew_plan;
        g_autoptr(MsPartition) pe = ms_world_partition_auto_rates(sc, k, r1, &even_plan);
        g_autoptr(MsPartition) ps = ms_world_partition_auto_rates(sc, k, &skew, &skew_plan);
        CU_ASSERT(skew_plan.lookahead >= even_plan.lookahead);
        CU_ASSERT(skew_plan.max_share > 0.99);
        /* Nothing measured: the roles' guess. */
        MsWorldRates none = *r1;
        g_autofree double *zeros = g_new0(double, n);
        none.host = zeros;
        g_autoptr(MsPartition) pz = ms_world_partition_auto_rates(sc, k, &none, NULL);
        g_autoptr(MsPartition) pr = ms_world_partition_auto(sc, k);
        for (guint h = 0; h < n; h++)
            CU_ASSERT_EQUAL(ms_partition_owner(pz, h), ms_partition_owner(pr, h));
    }
}

/* A split that cuts a link of zero latency has no lookahead: refused with
 * the file, line and link named. */
static void
test_refused_splits(void)
{
    static const char text[] = "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"zero\">\n"
                               "  <host id=\"a\" role=\"router\" address=\"10.0.0.1\"/>\n"
                               "  <host id=\"b\" role=\"router\" address=\"10.0.0.2\"/>\n"
                               "  <link a=\"a\" b=\"b\" latency=\"0s\"/>\n"
                               "</scenario>\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(text, strlen(text), "zero.xml", &error);
    if (!sc) {
        /* The format itself refuses zero latency: then nothing to split. */
        CU_ASSERT_PTR_NOT_NULL(error);
    } else {
        g_autoptr(MsPartition) p = ms_partition_new(2, 2, MS_PARTITION_MODULO);
        MsTime la;
        CU_ASSERT(!ms_world_partition_lookahead(sc, p, &la, NULL, &error));
        CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "zero.xml:5"));
        CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "a~b"));
    }
}

/* Builds the two parts of `p` (for part 1: options `o`, which the caller
 * set up) at o's fidelity and runs them to the scenario's end. */
static void
run_halves(const MsScenario *sc, MsWorldOptions *o, MsWorld **w0, MsWorld **w1)
{
    o->part = 0;
    *w0 = ms_world_new_full(sc, o, NULL);
    o->part = 1;
    *w1 = ms_world_new_full(sc, o, NULL);
    CU_ASSERT_FATAL(*w0 && *w1);
    MsWorld *ws[] = { *w0, *w1 };
    ms_world_run_parts(ws, 2, 1, ms_world_default_until(*w0));
}

/* Hostile record exports: every truncation and corruption of a real one
 * (bad_part's, split mod 2) is refused with an error or merged without
 * harm, never a crash. On an outage (lesson 05), a downgrade (13: the TLS
 * ledger) and forwarding (16: sender checks). */
typedef void (*HalvesCheck)(const MsScenario *sc, MsWorldOptions *o, MsWorld *w0, MsWorld *w1,
                            guint arg);

/* Runs `source` split mod 2, both halves to the scenario's end, and hands
 * the scenario, the options (for fresh worlds of the same split) and the
 * halves to `check`. */
static void
with_halves(const char *source, HalvesCheck check, guint arg)
{
    g_autoptr(MsScenario) sc = load(source);
    g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, 2, MS_PARTITION_MODULO);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.partition = p;
    g_autoptr(MsWorld) w0 = NULL;
    g_autoptr(MsWorld) w1 = NULL;
    run_halves(sc, &o, &w0, &w1);
    check(sc, &o, w0, w1, arg);
}

static void
merge_hostile_check(const MsScenario *sc, MsWorldOptions *op, MsWorld *w0, MsWorld *w1,
                    guint bad_part)
{
    MsWorldOptions o = *op;
    g_autoptr(GBytes) good0 = ms_mail_export_records(ms_world_mail(w0));
    g_autoptr(GBytes) good1 = ms_mail_export_records(ms_world_mail(w1));
    g_autofree char *named = g_strdup_printf("part %u", bad_part);
    gsize n;
    const guint8 *d = g_bytes_get_data(bad_part ? good1 : good0, &n);
    guint refused = 0;
    for (gsize cut = 0; cut < n; cut += 7) {
        g_autoptr(GBytes) bad = g_bytes_new(d, cut);
        GBytes *parts[] = { bad_part ? good0 : bad, bad_part ? bad : good1 };
        g_autoptr(GError) error = NULL;
        g_autoptr(MsWorld) fresh = ms_world_new_full(sc, &o, NULL);
        gboolean ok = ms_mail_merge(ms_world_mail(fresh), parts, 2, &error);
        CU_ASSERT(!ok && error && strstr(error->message, named));
        refused += !ok;
    }
    CU_ASSERT(refused > 10);
    g_autofree guint8 *flip = g_memdup2(d, n);
    for (gsize i = 4; i < n; i += 13) {
        flip[i] ^= 0xff;
        g_autoptr(GBytes) bad = g_bytes_new(flip, n);
        GBytes *parts[] = { bad_part ? good0 : bad, bad_part ? bad : good1 };
        g_autoptr(GError) error = NULL;
        g_autoptr(MsWorld) fresh = ms_world_new_full(sc, &o, NULL);
        ms_mail_merge(ms_world_mail(fresh), parts, 2, &error); /* either way, no crash */
        flip[i] ^= 0xff;
    }
}

static void
merge_hostile(const char *source, guint bad_part)
{
    with_halves(source, merge_hostile_check, bad_part);
}

static void
test_merge_hostile(void)
{
    merge_hostile("scenarios/teaching/05-server-down.xml", 1);
    /* Split mod 2, part 0 runs the server that records (the sender in
     * 13, the receiver in 16): its export is the one made hostile. */
    merge_hostile("scenarios/teaching/13-downgrade.xml", 0);
    /* With rua=: the export carries DMARC report rows too. */
    g_autofree char *l16 =
        with_rua("scenarios/teaching/16-forwarding-breaks-spf.xml", "dmarc@isp-a.net");
    merge_hostile(l16, 0);
    /* Split mod 2, part 0 runs the receiver and the listed client: its
     * export carries the listing and the queue entries. */
    merge_hostile("scenarios/teaching/17-a-blocklisted-sender.xml", 0);
}

/* Part `part`'s export in chunks of about `size` bytes (release: the
 * exporter frees what it exported, after the last). */
static GPtrArray *
export_chunks(MsWorld *w, gsize size, gboolean release)
{
    GPtrArray *chunks = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    g_autoptr(MsMailExport) x = ms_mail_export_new(ms_world_mail(w), size, release);
    for (GBytes *c; (c = ms_mail_export_next(x));)
        g_ptr_array_add(chunks, c);
    CU_ASSERT_PTR_NULL(ms_mail_export_next(x)); /* and stays done */
    return chunks;
}

/* What a merged mail layer holds, as bytes (its own export). */
static GBytes *
merged_bytes(MsWorld *w)
{
    return ms_mail_export_records(ms_world_mail(w));
}

/* The merge read a chunk at a time gives what the merge of whole exports
 * gives, for chunks of one item (size 1) up to the whole: records, the
 * devices' lists (07), the TLS ledger (13), DMARC report rows (16 with
 * rua=), DNSBL listings (17). Parts out of order, a part cut short at a
 * chunk boundary, a part left out and bytes after a part's end are
 * refused, naming the part. */
static void
merge_streamed_check(const MsScenario *sc, MsWorldOptions *op, MsWorld *w0, MsWorld *w1,
                     guint unused)
{
    (void) unused;
    MsWorldOptions o = *op;
    g_autoptr(GBytes) whole0 = ms_mail_export_records(ms_world_mail(w0));
    g_autoptr(GBytes) whole1 = ms_mail_export_records(ms_world_mail(w1));
    GBytes *parts[] = { whole0, whole1 };
    g_autoptr(GError) error = NULL;
    g_autoptr(MsWorld) want_w = ms_world_new_full(sc, &o, NULL);
    CU_ASSERT_FATAL(ms_mail_merge(ms_world_mail(want_w), parts, 2, &error));
    g_autoptr(GBytes) want = merged_bytes(want_w);
    CU_ASSERT(ms_mail_n_messages(ms_world_mail(want_w)) > 0);
    static const gsize sizes[] = { 1, 100, 4096, MS_MAIL_EXPORT_CHUNK };
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        g_autoptr(GPtrArray) c0 = export_chunks(w0, sizes[s], FALSE);
        g_autoptr(GPtrArray) c1 = export_chunks(w1, sizes[s], FALSE);
        if (sizes[s] == 1) /* a chunk per item: many */
            CU_ASSERT(c0->len > 10 && c1->len > 10);
        g_autoptr(MsWorld) fresh = ms_world_new_full(sc, &o, NULL);
        g_autoptr(MsMailMerge) g = ms_mail_merge_new(ms_world_mail(fresh), 2);
        gboolean ok = TRUE;
        for (guint i = 0; ok && i < c0->len; i++)
            ok = ms_mail_merge_add(g, 0, g_ptr_array_index(c0, i), &error);
        for (guint i = 0; ok && i < c1->len; i++)
            ok = ms_mail_merge_add(g, 1, g_ptr_array_index(c1, i), &error);
        CU_ASSERT(ok && ms_mail_merge_finish(g, &error));
        g_autoptr(GBytes) got = merged_bytes(fresh);
        CU_ASSERT(g_bytes_equal(got, want));
    }
    /* A part's own export with release: what it exported goes after the
     * last chunk, and merging into it gives the same. */
    {
        g_autoptr(MsWorld) a0 = NULL;
        g_autoptr(MsWorld) a1 = NULL;
        run_halves(sc, &o, &a0, &a1);
        g_autoptr(MsMailMerge) g = ms_mail_merge_new(ms_world_mail(a0), 2);
        g_autoptr(MsMailExport) x = ms_mail_export_new(ms_world_mail(a0), 100, TRUE);
        gboolean ok = TRUE;
        for (GBytes *c; ok && (c = ms_mail_export_next(x));) {
            ok = ms_mail_merge_add(g, 0, c, &error);
            g_bytes_unref(c);
        }
        CU_ASSERT(ok && ms_mail_n_messages(ms_world_mail(a0)) == 0);
        g_autoptr(GPtrArray) c1 = export_chunks(a1, 100, FALSE);
        for (guint i = 0; ok && i < c1->len; i++)
            ok = ms_mail_merge_add(g, 1, g_ptr_array_index(c1, i), &error);
        CU_ASSERT(ok && ms_mail_merge_finish(g, &error));
        g_autoptr(GBytes) got = merged_bytes(a0);
        CU_ASSERT(g_bytes_equal(got, want));
    }
    /* Refusals, each naming the part. */
    g_autoptr(GPtrArray) c0 = export_chunks(w0, 100, FALSE);
    struct {
        guint first, second; /* parts added: whole, then whole (G_MAXUINT: none) */
        gboolean cut0;       /* part 0 without its last chunk (its END) */
        const char *named;
    } bad[] = {
        { 1, G_MAXUINT, FALSE, "part 1" }, /* out of order */
        { 0, G_MAXUINT, FALSE, "part 1" }, /* part 1 left out */
        { 0, 1, TRUE, "part 0" },          /* part 0 cut at a chunk boundary */
        { 0, 0, FALSE, "part 0" },         /* part 0's bytes after its end */
        { 0, 2, FALSE, "part 2" },         /* no such part */
    };
    for (guint b = 0; b < G_N_ELEMENTS(bad); b++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsWorld) fresh = ms_world_new_full(sc, &o, NULL);
        g_autoptr(MsMailMerge) g = ms_mail_merge_new(ms_world_mail(fresh), 2);
        gboolean ok = TRUE;
        if (bad[b].cut0) {
            for (guint i = 0; ok && i + 1 < c0->len; i++)
                ok = ms_mail_merge_add(g, 0, g_ptr_array_index(c0, i), &e);
        } else {
            ok = ms_mail_merge_add(g, bad[b].first, parts[bad[b].first], &e);
        }
        if (ok && bad[b].second != G_MAXUINT)
            ok = ms_mail_merge_add(g, bad[b].second, parts[MIN(bad[b].second, 1)], &e);
        if (ok)
            ok = ms_mail_merge_finish(g, &e);
        CU_ASSERT(!ok && e && strstr(e->message, bad[b].named));
    }
}

static void
merge_streamed(const char *source)
{
    with_halves(source, merge_streamed_check, 0);
}

static void
test_merge_streamed(void)
{
    merge_streamed("scenarios/teaching/07-checking-mail.xml");
    merge_streamed("scenarios/teaching/13-downgrade.xml");
    g_autofree char *l16 =
        with_rua("scenarios/teaching/16-forwarding-breaks-spf.xml", "dmarc@isp-a.net");
    merge_streamed(l16);
    merge_streamed("scenarios/teaching/17-a-blocklisted-sender.xml");
}

/* A run that folds its records sketches latencies beyond the exact limit;
 * a partitioned run keeps its records for the merge but states the same
 * quantiles (the same limit on the merged values): here with a limit of 20
 * on the generated world's deliveries, and exact below the limit. */
static void
test_folded_quantiles(void)
{
    g_autoptr(MsScenario) sc = load(gen_small);
    const gint limits[] = { 20, 1000000 };
    for (guint li = 0; li < G_N_ELEMENTS(limits); li++) {
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.fold_records = 1;
        o.fold_exact_limit = limits[li];
        g_autoptr(MsWorld) seq = ms_world_new_full(sc, &o, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(seq);
        ms_world_run(seq, ms_world_default_until(seq));
        MsLatencyStats want;
        ms_stats_latency(seq, &want);
        CU_ASSERT(want.n > 20);
        CU_ASSERT_EQUAL(want.quantile_error > 0, li == 0);

        g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, 2, MS_PARTITION_MODULO);
        MsWorld *parts[2];
        for (guint i = 0; i < 2; i++) {
            MsWorldOptions po = o;
            po.partition = p;
            po.part = i;
            parts[i] = ms_world_new_full(sc, &po, NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(parts[i]);
        }
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FATAL(ms_world_run_parts(parts, 2, 1, ms_world_default_until(parts[0])) &&
                        ms_world_merge_parts(parts, 2, &error));
        MsLatencyStats got;
        ms_stats_latency(parts[0], &got);
        CU_ASSERT_EQUAL(got.n, want.n);
        CU_ASSERT_EQUAL(got.quantile_error, want.quantile_error);
        CU_ASSERT_EQUAL(got.mean, want.mean);
        CU_ASSERT_EQUAL(got.p50, want.p50);
        CU_ASSERT_EQUAL(got.p95, want.p95);
        CU_ASSERT_EQUAL(got.p99, want.p99);
        CU_ASSERT_EQUAL(got.max, want.max);
        for (guint i = 0; i < 2; i++)
            ms_world_free(parts[i]);
    }
}

/* A part's statistics cut short or with a byte more are refused, naming
 * what they are; flipped bytes never crash the merge (flow level: the
 * parts' windows of busy time travel with the counters). */
static void
test_stats_hostile(void)
{
    g_autoptr(MsScenario) sc = load("scenarios/teaching/05-server-down.xml");
    g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, 2, MS_PARTITION_MODULO);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.partition = p;
    o.fidelity = MS_FIDELITY_FLOW;
    g_autoptr(MsWorld) w0 = NULL;
    g_autoptr(MsWorld) w1 = NULL;
    run_halves(sc, &o, &w0, &w1);
    g_autoptr(MsStatsTable) t1 = ms_stats_collect(w1);
    g_autoptr(GBytes) good = ms_stats_table_part_values(t1);
    gsize n;
    const guint8 *d = g_bytes_get_data(good, &n);
    g_autofree guint8 *longer = g_malloc0(n + 1);
    memcpy(longer, d, n);
    g_autoptr(GArray) cuts = g_array_new(FALSE, FALSE, sizeof(gsize));
    for (gsize cut = 0; cut < n; cut += 5)
        g_array_append_val(cuts, cut);
    gsize ends[] = { n - 1, n + 1 }; /* a byte short, a byte more */
    g_array_append_vals(cuts, ends, 2);
    for (guint i = 0; i < cuts->len; i++) {
        gsize cut = g_array_index(cuts, gsize, i);
        g_autoptr(GBytes) bad = g_bytes_new(longer, cut);
        g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
        g_autoptr(GError) error = NULL;
        CU_ASSERT(!ms_stats_table_add_part(t, bad, &error));
        CU_ASSERT(error && strstr(error->message, "statistics of a part"));
    }
    g_autofree guint8 *flip = g_memdup2(d, n);
    for (gsize i = 0; i < n; i += 11) {
        flip[i] ^= 0xff;
        g_autoptr(GBytes) bad = g_bytes_new(flip, n);
        g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
        ms_stats_table_add_part(t, bad, NULL); /* either way, no crash */
        flip[i] ^= 0xff;
    }
    g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
    CU_ASSERT(ms_stats_table_add_part(t, good, NULL));
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
        { "lesson 11 (logins, TLS) split: identical", test_lesson_11 },
        { "lesson 13 (downgrade, MTA-STS) split: identical", test_lesson_13 },
        { "lesson 15 (SPF, DKIM, DMARC) split: identical", test_lesson_15 },
        { "lesson 16 (forwarding, lists) split: identical", test_lesson_16 },
        { "lesson 17 (DNSBL) split: identical", test_lesson_17 },
        { "DMARC aggregate reports split 2, 3 ways: the sequential files", test_dmarc_reports },
        { "lesson 18 (POP3 and IMAP) split: identical", test_lesson_18 },
        { "lesson 19 (IMAP push, two devices) split: identical", test_lesson_19 },
        { "summary lists every part's reading devices", test_device_listing },
        { "generated world split: identical", test_generated },
        { "without windows (--async): identical", test_async },
        { "flow level: lessons split: identical", test_flow_lessons },
        { "flow level: generated world split: identical", test_flow_generated },
        { "cut short by --until: identical, freed cleanly", test_cut_short },
        { "mailboxes only for a part's own servers", test_mailboxes_rank_local },
        { "a part's own scenario gives back the other parts' users", test_released_scenarios },
        { "merged per-part traces = the sequential trace", test_merged_trace_is_sequential },
        { "--threads: the same statistics on 1-3 threads; misuse refused", test_threads_cli },
        { "per-part captures merged = the sequential capture", test_merged_capture },
        { "automatic split: balanced, trees whole, long lookahead", test_auto_split },
        { "measured split: deterministic pilot, true plan, lookahead for balance",
          test_measured_split },
        { "splits without lookahead: refused", test_refused_splits },
        { "hostile record exports: refused, no crash", test_merge_hostile },
        { "merge a chunk at a time = merge of whole exports", test_merge_streamed },
        { "folded quantiles: a partitioned run states the same", test_folded_quantiles },
        { "hostile statistics of a part: refused, no crash", test_stats_hostile },
        { NULL, NULL },
    };
    return ms_test_main("partition", cases);
}
