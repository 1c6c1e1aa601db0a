/* The critical path of a split (sim/dist/shard_critical.c, `mailsim run
 * --parts K --critical-path`): the parts run one event at a time give
 * the sequential run's statistics, and the bounds it derives are ordered
 * as they must be: on one part every bound is 1; on K parts the oracle's
 * replay is no longer than the busiest part and no shorter than with the
 * lookahead's waits added; a lesson whose mail is one causal chain allows
 * next to no speed-up, a world of many independent messages a real one.
 * The command line refuses it without --parts and with --async. */
#include "testlib.h"
#include "mailsim/scenario.h"
#include "mailsim/shard.h"
#include "mailsim/stats.h"
#include "mailsim/world.h"

#include <string.h>

static char *
stats_of(MsWorld *w0, MsWorld *const *rest, guint n_rest)
{
    g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
    for (guint i = 0; i < n_rest; i++) {
        g_autoptr(MsStatsTable) ti = ms_stats_collect_part(rest[i]);
        g_autoptr(GBytes) v = ms_stats_table_part_values(ti);
        CU_ASSERT(ms_stats_table_add_part(t, v, NULL));
    }
    return ms_test_stats_text(t);
}

/* Splits `sc` with p, runs the parts with ms_shard_run_critical() and
 * checks the statistics against the windowed run of the same split. */
static void
critical_run(const MsScenario *sc, const MsPartition *p, MsShardCriticalStats *st)
{
    guint k = ms_partition_parts(p);
    g_autofree char *want = NULL, *got = NULL;
    for (int critical = 0; critical < 2; critical++) {
        g_autoptr(MsNetRouteShare) routes = ms_net_route_share_new();
        g_autoptr(GPtrArray) parts =
            g_ptr_array_new_with_free_func((GDestroyNotify) ms_world_free);
        g_autofree MsShard **shards = g_new(MsShard *, k);
        for (guint i = 0; i < k; i++) {
            g_autoptr(GError) error = NULL;
            MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
            o.partition = p;
            o.part = i;
            o.route_share = routes;
            MsWorld *w = ms_world_new_full(sc, &o, &error);
            CU_ASSERT_PTR_NOT_NULL_FATAL(w);
            g_ptr_array_add(parts, w);
            shards[i] = ms_world_shard(w);
        }
        MsWorld *const *w = (MsWorld *const *) parts->pdata;
        MsTime end = ms_world_default_until(w[0]);
        if (critical)
            ms_shard_run_critical(shards, k, end, st);
        else
            ms_shard_run_local(shards, k, end);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FATAL(ms_world_merge_parts(w, k, &error));
        char *s = stats_of(w[0], w + 1, k - 1);
        if (critical)
            got = s;
        else
            want = s;
    }
    CU_ASSERT_STRING_EQUAL(got, want);
    /* The bounds' order (see the top). */
    CU_ASSERT(st->events > 0);
    CU_ASSERT(st->busiest_events <= st->oracle_events);
    CU_ASSERT(st->oracle_events <= st->lookahead_events);
    CU_ASSERT(st->lookahead_events <= st->events);
    CU_ASSERT(st->busiest_s <= st->work_s);
    CU_ASSERT(st->oracle_s <= st->lookahead_s * (1 + 1e-9));
    CU_ASSERT(st->lookahead_s <= st->work_s * (1 + 1e-9));
}

static double
unit_speedup(const MsShardCriticalStats *st)
{
    return (double) st->events / (double) st->lookahead_events;
}

/* One part: no crossings, every replay as long as the run. */
static void
test_one_part(void)
{
    g_autoptr(MsScenario) sc = ms_test_load_scenario("scenarios/teaching/05-server-down.xml");
    g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, 1, MS_PARTITION_MODULO);
    MsShardCriticalStats st;
    critical_run(sc, p, &st);
    CU_ASSERT_EQUAL(st.crossings, 0);
    CU_ASSERT_EQUAL(st.oracle_events, st.events);
    CU_ASSERT_EQUAL(st.lookahead_events, st.events);
}

/* Lesson 01: one message from a client to a server and a client reading
 * it; whatever the split, each step waits for the one before: under
 * 1.15x with the lookahead (1.06x by count, mod 2 and 3 parts). */
static void
test_causal_chain(void)
{
    g_autoptr(MsScenario) sc = ms_test_load_scenario("scenarios/teaching/01-first-email.xml");
    for (guint k = 2; k <= 3; k++) {
        g_autoptr(MsPartition) p = ms_partition_new(sc->hosts->len, k, MS_PARTITION_MODULO);
        MsShardCriticalStats st;
        critical_run(sc, p, &st);
        CU_ASSERT(st.crossings > 0);
        CU_ASSERT(unit_speedup(&st) < 1.15);
    }
}

/* A generated world, 600 messages in two minutes between 16 domains:
 * split in two, the halves overlap (1.39x by count with the automatic
 * split; balance alone 1.78x). */
static const char busy_world[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"critical\" seed=\"3\" until=\"5min\">\n"
    "  <generate topology=\"transit-stub\" domains=\"16\" routers=\"60\" users=\"200\" "
    "messages=\"600\" duration=\"2min\" seed=\"3\"/>\n"
    "</scenario>\n";

static void
test_parallel_world(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc =
        ms_scenario_load_memory(busy_world, strlen(busy_world), "critical.xml", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    g_autoptr(MsPartition) p = ms_world_partition_auto(sc, 2);
    MsShardCriticalStats st;
    critical_run(sc, p, &st);
    CU_ASSERT(unit_speedup(&st) > 1.25);
    CU_ASSERT(unit_speedup(&st) <= 2.0);
    CU_ASSERT((double) st.events / (double) st.busiest_events > 1.5);
}

static void
expect_refused(const char *const *argv, const char *want)
{
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 2);
    CU_ASSERT(err && strstr(err, want));
}

/* The command line: its two lines, and misuse refused. */
static void
test_cli(void)
{
    const char *m = ms_test_mailsim_path();
    const char *file = "scenarios/teaching/05-server-down.xml";
    const char *ok[] = { m, "run", file, "-q", "--partition", "mod", "--parts", "2",
                         "--critical-path", NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(ok, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Critical path: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "waiting for the lookahead"));
    const char *no_parts[] = { m, "run", file, "-q", "--critical-path", NULL };
    const char *with_async[] = { m, "run", file, "-q", "--partition", "mod", "--parts", "2",
                                 "--async", "--critical-path", NULL };
    expect_refused(no_parts, "--critical-path needs --parts");
    expect_refused(with_async, "not with --async");
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "one part: every bound is the run itself", test_one_part },
        { "a causal chain allows next to no speed-up", test_causal_chain },
        { "a world of independent mail allows a real one", test_parallel_world },
        { "--critical-path on the command line; misuse refused", test_cli },
        { NULL, NULL },
    };
    return ms_test_main("critical_path", cases);
}
