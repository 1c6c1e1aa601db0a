/* Scale features end to end, in process (no child mailsim):
 *   - lean worlds (keep-bodies no): the same run, event for event, as a
 *     world that keeps every message, with stores that only count;
 *     a server some client reads over POP3 keeps its messages anyway;
 *   - flow level against packet level: on every loss-free teaching lesson
 *     and on a small generated world, each recipient's outcome (state, the
 *     host that stored or bounced it, the status, the attempts) is the same
 *     at both levels, and delivery latency medians and p95 agree within
 *     10 %; flow level stays cheaper in events;
 *   - flow level keeps faults: a down host times out, a port nobody
 *     listens on refuses.
 * Tests run from the repository root (as `make run-tests` does). */
#include "testlib.h"
#include "mailsim/scenario.h"
#include "mailsim/stats.h"
#include "mailsim/world.h"

#include <math.h>
#include <string.h>

/* A small generated world: 12 domains, 120 routers, 3000 messages in 4 h,
 * three MX outages. Big enough for backup MXs, relays and outages to show. */
static const char gen_small[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"gen-test\" seed=\"3\" until=\"5h\">\n"
    "  <generate topology=\"transit-stub\" domains=\"12\" routers=\"120\" users=\"240\" "
    "messages=\"3000\" "
    "duration=\"4h\" seed=\"3\" outages=\"3\"/>\n"
    "</scenario>\n";

static MsScenario *
load_memory(const char *text)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc = ms_scenario_load_memory(text, strlen(text), "gen-test.xml", &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

static MsWorld *
run_world(const MsScenario *sc, gint fidelity, gint keep)
{
    g_autoptr(GError) error = NULL;
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fidelity = fidelity;
    o.keep_bodies = keep;
    MsWorld *w = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, ms_world_default_until(w));
    return w;
}

/* Worlds that more than one test reads, each run once, by the first test
 * that asks, and freed after the last test (ms_test_main_full): the
 * generated world at packet level keeping bodies and at flow level, and
 * lesson 2 at both levels. A run is deterministic, so a second run would
 * be the same run again. State of the test process, not of the library. */
typedef struct {
    MsScenario *gen, *lesson2;
    MsWorld *gen_packet, *gen_flow, *lesson2_packet, *lesson2_flow;
} SharedRuns;

static SharedRuns shared;

static void
shared_free(void)
{
    g_clear_pointer(&shared.gen_packet, ms_world_free);
    g_clear_pointer(&shared.gen_flow, ms_world_free);
    g_clear_pointer(&shared.lesson2_packet, ms_world_free);
    g_clear_pointer(&shared.lesson2_flow, ms_world_free);
    g_clear_pointer(&shared.gen, ms_scenario_free);
    g_clear_pointer(&shared.lesson2, ms_scenario_free);
}

/* The generated world (gen_small) run to its end at `fidelity`: at packet
 * level keeping bodies (as the scenario, which says nothing, would), at
 * flow level as the scenario says. */
static MsWorld *
shared_gen(gint fidelity)
{
    if (!shared.gen)
        shared.gen = load_memory(gen_small);
    MsWorld **w = fidelity == MS_FIDELITY_PACKET ? &shared.gen_packet : &shared.gen_flow;
    if (!*w)
        *w = run_world(shared.gen, fidelity, fidelity == MS_FIDELITY_PACKET ? 1 : -1);
    return *w;
}

/* Lesson 2 (a lossy line) run to its end at `fidelity`. */
static MsWorld *
shared_lesson2(gint fidelity)
{
    if (!shared.lesson2)
        shared.lesson2 = ms_test_load_scenario("scenarios/teaching/02-packets.xml");
    MsWorld **w = fidelity == MS_FIDELITY_PACKET ? &shared.lesson2_packet : &shared.lesson2_flow;
    if (!*w)
        *w = run_world(shared.lesson2, fidelity, -1);
    return *w;
}

/* --- lean worlds ------------------------------------------------------------ */

static void
test_lean_same_run(void)
{
    g_autoptr(MsScenario) sc = load_memory(gen_small);
    MsWorld *full = shared_gen(MS_FIDELITY_PACKET); /* keeps bodies */
    g_autoptr(MsWorld) lean = run_world(sc, MS_FIDELITY_PACKET, 0);
    CU_ASSERT_EQUAL(ms_engine_fingerprint(ms_world_engine(full)),
                    ms_engine_fingerprint(ms_world_engine(lean)));
    MsMail *mf = ms_world_mail(full), *ml = ms_world_mail(lean);
    MsMailStats a, b;
    ms_mail_get_stats(mf, &a);
    ms_mail_get_stats(ml, &b);
    CU_ASSERT(a.delivered > 2500);
    CU_ASSERT_EQUAL(a.delivered, b.delivered);
    CU_ASSERT_EQUAL(a.bounced, b.bounced);
    CU_ASSERT_EQUAL(a.queued, b.queued);
    guint kept = 0;
    for (guint s = 0; s < ms_mail_n_servers(mf); s++) {
        guint sf, sl;
        guint64 bf, bl;
        ms_mail_store_totals(ms_mail_server_store(mf, s), &sf, NULL, &bf);
        ms_mail_store_totals(ms_mail_server_store(ml, s), &sl, NULL, &bl);
        CU_ASSERT_EQUAL(sf, sl);
        CU_ASSERT_EQUAL(bf, bl); /* quota sees the same bytes */
        MsMailStore *st = ms_mail_server_store(ml, s);
        g_autoptr(GPtrArray) users = ms_mail_store_users(st);
        for (guint u = 0; u < users->len; u++)
            kept += ms_mail_store_messages(st, g_ptr_array_index(users, u))->len;
    }
    CU_ASSERT_EQUAL(kept, 0); /* nobody reads these stores: nothing kept */
    /* received_headers is still counted in the lean world */
    for (guint id = 1; id <= ms_mail_n_messages(ml); id++) {
        const MsMessageRecord *x = ms_mail_message(mf, id), *y = ms_mail_message(ml, id);
        const MsRcptRecord *rx = &g_array_index(x->rcpts, MsRcptRecord, 0);
        const MsRcptRecord *ry = &g_array_index(y->rcpts, MsRcptRecord, 0);
        CU_ASSERT_EQUAL(rx->received_headers, ry->received_headers);
    }
}

/* Lesson 7 reads its mail over POP3: lean or not, it passes. */
static void
test_lean_keeps_what_clients_read(void)
{
    g_autoptr(MsScenario) sc = ms_test_load_scenario("scenarios/teaching/07-checking-mail.xml");
    g_autoptr(MsWorld) w = run_world(sc, MS_FIDELITY_PACKET, 0);
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean ok = ms_world_check(w, out);
    if (!ok)
        g_printerr("%s", out->str);
    CU_ASSERT(ok);
}

/* --- flow level against packet level ------------------------------------- */

static const MsMessageRecord *
by_label(MsMail *m, GHashTable *index, const char *label)
{
    if (g_hash_table_size(index) == 0)
        for (guint id = 1; id <= ms_mail_n_messages(m); id++)
            g_hash_table_insert(index, ms_mail_message(m, id)->label, GUINT_TO_POINTER(id));
    guint id = GPOINTER_TO_UINT(g_hash_table_lookup(index, label));
    return id ? ms_mail_message(m, id) : NULL;
}

static double
percentile(GArray *v, double p)
{
    return v->len ? ms_stats_percentile((double *) v->data, v->len, p) : 0; /* sorts */
}

/* Compares every recipient of every message of two runs of one scenario;
 * returns the number of differences (printed) and fills the latencies. */
static guint
compare_runs(const char *name, MsWorld *pw, MsWorld *fw, double *p50, double *f50, double *p95,
             double *f95)
{
    MsMail *pm = ms_world_mail(pw), *fm = ms_world_mail(fw);
    g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GArray) pl = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) fl = g_array_new(FALSE, FALSE, sizeof(double));
    guint diffs = 0;
    if (ms_mail_n_messages(pm) != ms_mail_n_messages(fm)) {
        g_printerr("%s: %u messages at packet level, %u at flow level\n", name,
                   ms_mail_n_messages(pm), ms_mail_n_messages(fm));
        diffs++;
    }
    for (guint id = 1; id <= ms_mail_n_messages(pm); id++) {
        const MsMessageRecord *a = ms_mail_message(pm, id);
        const MsMessageRecord *b = by_label(fm, index, a->label);
        if (!b || b->rcpts->len != a->rcpts->len) {
            g_printerr("%s: message %s missing at flow level\n", name, a->label);
            diffs++;
            continue;
        }
        for (guint k = 0; k < a->rcpts->len; k++) {
            const MsRcptRecord *x = &g_array_index(a->rcpts, MsRcptRecord, k);
            const MsRcptRecord *y = &g_array_index(b->rcpts, MsRcptRecord, k);
            if (x->state != y->state || x->where != y->where || strcmp(x->status, y->status) != 0 ||
                x->attempts != y->attempts) {
                if (diffs++ < 10)
                    g_printerr("%s: %s to %s: packet %s at %u status '%s' attempts %u; flow %s at "
                               "%u status '%s' "
                               "attempts %u\n",
                               name, a->label, x->address, ms_rcpt_state_to_string(x->state),
                               x->where, x->status, x->attempts, ms_rcpt_state_to_string(y->state),
                               y->where, y->status, y->attempts);
            }
            if (!a->is_dsn && x->state == MS_RCPT_DELIVERED && y->state == MS_RCPT_DELIVERED) {
                double s1 = ms_time_to_seconds(x->done_at - a->created_at);
                double s2 = ms_time_to_seconds(y->done_at - b->created_at);
                g_array_append_val(pl, s1);
                g_array_append_val(fl, s2);
            }
        }
    }
    *p50 = percentile(pl, 0.5);
    *f50 = percentile(fl, 0.5);
    *p95 = percentile(pl, 0.95);
    *f95 = percentile(fl, 0.95);
    return diffs;
}

static gboolean
within(double a, double b, double rel)
{
    return fabs(a - b) <= rel * MAX(fabs(a), 1e-9);
}

/* pw and fw: one scenario run at packet and at flow level. */
static void
check_worlds_agree(const char *name, MsWorld *pw, MsWorld *fw)
{
    double p50, f50, p95, f95;
    guint diffs = compare_runs(name, pw, fw, &p50, &f50, &p95, &f95);
    CU_ASSERT_EQUAL(diffs, 0);
    gboolean ok = within(p50, f50, 0.10) && within(p95, f95, 0.10);
    if (!ok || g_getenv("MS_FIDELITY_VERBOSE"))
        g_printerr("%s: latency p50 %.4f s packet, %.4f s flow; p95 %.4f s packet, %.4f s flow\n",
                   name, p50, f50, p95, f95);
    CU_ASSERT(ok);
    /* Both worlds pass the scenario's own checks. */
    g_autoptr(GString) out = g_string_new(NULL);
    CU_ASSERT(ms_world_check(fw, out));
    MsEngineStats ps, fs;
    ms_engine_get_stats(ms_world_engine(pw), &ps);
    ms_engine_get_stats(ms_world_engine(fw), &fs);
    CU_ASSERT(fs.processed < ps.processed);
}

static void
check_levels_agree(const char *name, const MsScenario *sc)
{
    g_autoptr(MsWorld) pw = run_world(sc, MS_FIDELITY_PACKET, -1);
    g_autoptr(MsWorld) fw = run_world(sc, MS_FIDELITY_FLOW, -1);
    check_worlds_agree(name, pw, fw);
}

/* Lessons with lossy links (02, 10) are compared in test_fidelity_lossy. */
static gboolean
lossy(const char *path)
{
    return strstr(path, "02-") || strstr(path, "10-");
}

static void
test_teaching_levels_agree(void)
{
    g_autoptr(GDir) dir = g_dir_open("scenarios/teaching", 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; (n = g_dir_read_name(dir));)
        if (g_str_has_suffix(n, ".xml") && !lossy(n))
            g_ptr_array_add(files, g_build_filename("scenarios/teaching", n, NULL));
    CU_ASSERT(files->len >= 8);
    for (guint i = 0; i < files->len; i++) {
        g_autoptr(MsScenario) sc = ms_test_load_scenario(g_ptr_array_index(files, i));
        check_levels_agree(g_ptr_array_index(files, i), sc);
    }
}

/* Sums the packets every link has carried. */
static guint64
link_packets(MsWorld *w)
{
    MsNet *net = ms_world_net(w);
    guint64 sum = 0;
    for (guint32 l = 0; l < ms_net_n_links(net); l++) {
        MsLinkStats st;
        ms_net_link_stats(net, l, &st);
        sum += st.packets[0] + st.packets[1];
    }
    return sum;
}

/* Link counters at flow level read mid-run (here every 17 minutes): never
 * fewer than the segments sent (each crossed a link at least once;
 * tests/test_net.c counts them exactly on a chain), and reading them
 * changes nothing that follows. */
static void
test_flow_link_counters_mid_run(void)
{
    g_autoptr(MsScenario) sc = load_memory(gen_small);
    g_autoptr(GError) error = NULL;
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fidelity = MS_FIDELITY_FLOW;
    g_autoptr(MsWorld) read = ms_world_new_full(sc, &o, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(read);
    guint checked = 0;
    for (MsTime t = 7 * MS_TIME_MIN; t < 4 * MS_TIME_H; t += 17 * MS_TIME_MIN) {
        ms_world_run(read, t);
        guint64 on_links = link_packets(read);
        MsTcpStats ts;
        ms_tcp_get_stats(ms_world_tcp(read), &ts);
        CU_ASSERT(on_links >= ts.segments);
        checked += ts.segments > 0;
    }
    CU_ASSERT(checked > 0);
    ms_world_run(read, ms_world_default_until(read));
    MsWorld *straight = shared_gen(MS_FIDELITY_FLOW); /* run to its end in one go */
    CU_ASSERT_EQUAL(link_packets(read), link_packets(straight));
    CU_ASSERT_EQUAL(ms_engine_fingerprint(ms_world_engine(read)),
                    ms_engine_fingerprint(ms_world_engine(straight)));
}

static void
test_generated_levels_agree(void)
{
    check_worlds_agree("generated world", shared_gen(MS_FIDELITY_PACKET),
                       shared_gen(MS_FIDELITY_FLOW));
}

/* The benchmark world "small" (100,000 messages, ~40 s for both levels):
 * only with MS_FIDELITY_SMALL=1, to keep `make check` short. */
static void
test_bench_small_levels_agree(void)
{
    if (!g_getenv("MS_FIDELITY_SMALL"))
        return;
    g_autoptr(MsScenario) sc = ms_test_load_scenario("scenarios/bench/small.xml");
    check_levels_agree("scenarios/bench/small.xml", sc);
}

/* With loss the levels differ (flow level draws one loss per segment for
 * the whole path and recovers by a formula): the outcomes still pass the
 * lessons' checks; the latency difference is printed with
 * MS_FIDELITY_VERBOSE=1 (see the README's table). */
static void
test_lossy_lessons_pass(void)
{
    const char *files[] = { "scenarios/teaching/02-packets.xml",
                            "scenarios/teaching/10-slow-link.xml" };
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autoptr(MsScenario) sc = i == 0 ? NULL : ms_test_load_scenario(files[i]);
        g_autoptr(MsWorld) pw_own = i == 0 ? NULL : run_world(sc, MS_FIDELITY_PACKET, -1);
        g_autoptr(MsWorld) fw_own = i == 0 ? NULL : run_world(sc, MS_FIDELITY_FLOW, -1);
        MsWorld *pw = i == 0 ? shared_lesson2(MS_FIDELITY_PACKET) : pw_own;
        MsWorld *fw = i == 0 ? shared_lesson2(MS_FIDELITY_FLOW) : fw_own;
        double p50, f50, p95, f95;
        guint diffs = compare_runs(files[i], pw, fw, &p50, &f50, &p95, &f95);
        if (g_getenv("MS_FIDELITY_VERBOSE"))
            g_printerr("%s: %u outcome differences; latency p50 %.3f s packet, %.3f s flow; p95 "
                       "%.3f s packet, "
                       "%.3f s flow\n",
                       files[i], diffs, p50, f50, p95, f95);
        g_autoptr(GString) out = g_string_new(NULL);
        gboolean ok = ms_world_check(fw, out);
        if (!ok)
            g_printerr("%s", out->str);
        CU_ASSERT(ok);
    }
}

/* How long both directions of a world's lossy links were busy sending. */
static MsTime
lossy_link_busy(MsWorld *w)
{
    MsNet *net = ms_world_net(w);
    MsTime sum = 0;
    for (guint32 l = 0; l < ms_net_n_links(net); l++) {
        if (ms_net_link_params(net, l)->loss <= 0)
            continue;
        MsLinkStats st;
        ms_net_link_stats(net, l, &st);
        sum += st.busy[0] + st.busy[1];
    }
    return sum;
}

/* Lesson 2's lossy line at both levels: the flow model charges a loss as
 * SACK recovery does (the lost segment resent, alone, about a round trip
 * later; the window halved once per loss event), so the line is busy about
 * as long (go-back-N charged the rest of each window again) and the message
 * takes a time of the same order (flow 0.83 times packet when this was
 * written; go-back-N: 1.38). */
static void
test_flow_loss_like_sack(void)
{
    MsWorld *pw = shared_lesson2(MS_FIDELITY_PACKET);
    MsWorld *fw = shared_lesson2(MS_FIDELITY_FLOW);
    MsTime pb = lossy_link_busy(pw), fb = lossy_link_busy(fw);
    double p50, f50, p95, f95;
    compare_runs("02-packets", pw, fw, &p50, &f50, &p95, &f95);
    if (g_getenv("MS_FIDELITY_VERBOSE"))
        g_printerr("lesson 2: lossy line busy %.3f s packet, %.3f s flow; delivered after %.3f s "
                   "packet, %.3f s flow\n",
                   (double) pb / MS_TIME_S, (double) fb / MS_TIME_S, p95, f95);
    CU_ASSERT(pb > MS_TIME_S / 10);
    CU_ASSERT(fb * 100 <= pb * 105 && fb * 100 >= pb * 95);
    CU_ASSERT(f95 >= 0.75 * p95 && f95 <= 1.25 * p95);
}

static const MsTestCase cases[] = {
    { "lean world runs the same", test_lean_same_run },
    { "lean world keeps what clients read", test_lean_keeps_what_clients_read },
    { "teaching lessons: same outcomes at both levels", test_teaching_levels_agree },
    { "generated world: same outcomes at both levels", test_generated_levels_agree },
    { "lossy lessons pass at flow level", test_lossy_lessons_pass },
    { "flow level: a loss costs what SACK recovery costs (lesson 2)", test_flow_loss_like_sack },
    { "flow level: link counters read mid-run include open connections",
      test_flow_link_counters_mid_run },
    { "bench small: same outcomes (MS_FIDELITY_SMALL=1)", test_bench_small_levels_agree },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main_full("fidelity", cases, shared_free);
}
