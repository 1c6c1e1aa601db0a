/* Tests of policy routing (sim/net/routing_policy.c): small hand-made AS
 * graphs, one router per AS unless said, whose valley-free Gao-Rexford
 * paths are known, each checked against what shortest paths would do;
 * the narration of why; and a scenario run under routing="policy". */
#include "testlib.h"
#include "mailsim/engine.h"
#include "mailsim/net.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    MsEngine *engine;
    MsNet *net;
    MsHostId host[64]; /* by AS number */
} AsWorld;

/* "a>b" a provider of b, "a=b" peers, "a-b" a link inside one AS (b is
 * then a second router of AS a, numbered b), each optionally ":ms". */
static void
as_world(AsWorld *w, const char *const *rels)
{
    w->engine = ms_engine_new(1);
    w->net = ms_net_new(w->engine);
    memset(w->host, 0xff, sizeof w->host);
    for (const char *const *r = rels; *r; r++) {
        guint a = 0, b = 0, ms = 10;
        char op = 0;
        int got = sscanf(*r, "%u%c%u:%u", &a, &op, &b, &ms);
        g_assert(got >= 3 && a < 64 && b < 64);
        guint ends[2] = { a, b };
        for (int k = 0; k < 2; k++) {
            guint x = ends[k];
            if (w->host[x] != G_MAXUINT32)
                continue;
            g_autofree char *name = g_strdup_printf("as%u", x);
            w->host[x] = ms_net_add_host(w->net, name, 0x0A000000u + x, MS_ROLE_ROUTER, NULL);
            /* "a-b": b is a router of AS a. */
            ms_net_set_host_as(w->net, w->host[x], op == '-' && k == 1 ? a : x);
        }
        MsLinkParams lp = { (MsTime) ms * MS_TIME_MS, 1000000000ull, 1500, 0.0, 65536 };
        guint32 l = ms_net_add_link(w->net, w->host[a], w->host[b], &lp, NULL);
        if (op == '>')
            ms_net_set_link_relation(w->net, l, MS_NET_REL_PROVIDER_CUSTOMER);
        else if (op == '=')
            ms_net_set_link_relation(w->net, l, MS_NET_REL_PEER);
    }
    ms_net_set_metric(w->net, MS_ROUTE_BY_POLICY);
}

static void
as_world_free(AsWorld *w)
{
    ms_net_free(w->net);
    ms_engine_free(w->engine);
}

/* The path from AS a to AS b as "a b c ...", "" when there is none. */
static char *
path_of(AsWorld *w, guint a, guint b)
{
    g_autoptr(GArray) p = ms_net_route_path(w->net, w->host[a], w->host[b]);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < p->len; i++) {
        MsHostId h = g_array_index(p, MsHostId, i);
        for (guint x = 0; x < 64; x++)
            if (w->host[x] == h)
                g_string_append_printf(s, "%s%u", i ? " " : "", x);
    }
    return g_string_free(s, FALSE);
}

#define CHECK_PATH(w, a, b, want)                                                                  \
    do {                                                                                           \
        g_autofree char *got_ = path_of(w, a, b);                                                  \
        if (strcmp(got_, want) != 0)                                                               \
            fprintf(stderr, "%u -> %u: got '%s', want '%s'\n", a, b, got_, want);                  \
        CU_ASSERT_STRING_EQUAL(got_, want);                                                        \
    } while (0)

/* The graph of scenarios/examples/topologies/small.as-rel.txt:
 *        1 ===== 2
 *       / \       \
 *      3   4 ----- 5     (4 = 5 peers)
 *      |   |       |
 *      6   7       8 */
static const char *const small[] = { "1=2", "1>3", "1>4", "2>5", "4=5", "3>6", "4>7", "5>8", NULL };

static void
test_small_graph(void)
{
    AsWorld w;
    as_world(&w, small);
    /* Up to the peering tier-1s and down: 1 > 4 = 5 would be a valley. */
    CHECK_PATH(&w, 6, 8, "6 3 1 2 5 8");
    /* A peer route (4 = 5) beats a provider route through 1. */
    CHECK_PATH(&w, 7, 8, "7 4 5 8");
    /* 4 does not give its provider 1 its peer route to 5: 1 uses its peer 2. */
    CHECK_PATH(&w, 3, 5, "3 1 2 5");
    CHECK_PATH(&w, 1, 7, "1 4 7");
    CHECK_PATH(&w, 2, 7, "2 1 4 7");
    /* 5 reaches 4 over the peering, 4 reaches 1's other customer via 1. */
    CHECK_PATH(&w, 5, 4, "5 4");
    CHECK_PATH(&w, 5, 3, "5 2 1 3");
    /* Every pair has a route in this graph, and hop-by-hop agrees. */
    for (guint a = 1; a <= 8; a++)
        for (guint b = 1; b <= 8; b++) {
            g_autofree char *p = path_of(&w, a, b);
            CU_ASSERT(p[0] != '\0');
        }
    as_world_free(&w);
}

/* A customer route wins over a shorter peer route:
 *   10 > 11 > 12 > 13 and 10 = 14 > 13. */
static void
test_customer_over_peer(void)
{
    const char *const g[] = { "10>11:1", "11>12:1", "12>13:1", "10=14:1", "14>13:1", NULL };
    AsWorld w;
    as_world(&w, g);
    CHECK_PATH(&w, 10, 13, "10 11 12 13");
    g_autofree char *why = ms_net_route_explain(w.net, w.host[10], w.host[13]);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "AS 10 reaches AS 13 by a customer route, AS path 10 11 "
                                       "12 13 (3 AS hops)"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(why, "a customer route is preferred over a shorter peer route via AS 14 (2 AS "
                    "hops)"));
    /* By latency or hops the peer path is shorter. */
    ms_net_set_metric(w.net, MS_ROUTE_BY_HOPS);
    CHECK_PATH(&w, 10, 13, "10 14 13");
    ms_net_set_metric(w.net, MS_ROUTE_BY_LATENCY);
    CHECK_PATH(&w, 10, 13, "10 14 13");
    g_autofree char *why2 = ms_net_route_explain(w.net, w.host[10], w.host[13]);
    CU_ASSERT_PTR_NOT_NULL(strstr(why2, "shortest path by latency"));
    as_world_free(&w);
}

/* No transit through a customer (20 > 24 < 23 is a valley) and none
 * between peers (30 = 31 = 32): shortest paths exist, policy ones do not. */
static void
test_no_valleys(void)
{
    const char *const g[] = { "22>20", "23>21", "22>24", "23>24", "30=31", "31=32", NULL };
    AsWorld w;
    as_world(&w, g);
    CHECK_PATH(&w, 20, 21, "");
    CHECK_PATH(&w, 30, 32, "");
    CHECK_PATH(&w, 30, 31, "30 31");
    CHECK_PATH(&w, 20, 24, "20 22 24");
    g_autofree char *why = ms_net_route_explain(w.net, w.host[20], w.host[21]);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no valley-free route"));
    ms_net_set_metric(w.net, MS_ROUTE_BY_LATENCY);
    CHECK_PATH(&w, 20, 21, "20 22 24 23 21");
    CHECK_PATH(&w, 30, 32, "30 31 32");
    as_world_free(&w);
}

/* Inside an AS, latency decides, and the exit is the one latency favours:
 * AS 40 has routers 40 and 41 (10 ms apart); its customer 42 hangs off
 * both, 1 ms from 41 and 50 ms from 40. */
static void
test_inside_an_as(void)
{
    const char *const g[] = { "40-41:10", "40>42:50", "41>42:1", "43>40:5", NULL };
    AsWorld w;
    as_world(&w, g);
    CU_ASSERT_EQUAL(ms_net_host_as(w.net, w.host[41]), 40);
    CHECK_PATH(&w, 40, 42, "40 41 42");
    CHECK_PATH(&w, 43, 42, "43 40 41 42");
    /* The link inside the AS goes down: the direct exit is used. */
    ms_net_set_link_up(w.net, 0, FALSE);
    CHECK_PATH(&w, 40, 42, "40 42");
    as_world_free(&w);
}

/* A failed AS link: routes fall back to the next preferred class. */
static void
test_failure(void)
{
    AsWorld w;
    as_world(&w, small);
    CHECK_PATH(&w, 7, 8, "7 4 5 8");
    ms_net_set_link_up(w.net, 4, FALSE); /* 4 = 5 */
    CHECK_PATH(&w, 7, 8, "7 4 1 2 5 8");
    g_autofree char *why = ms_net_route_explain(w.net, w.host[4], w.host[8]);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "by a provider route"));
    ms_net_set_link_up(w.net, 4, TRUE);
    CHECK_PATH(&w, 7, 8, "7 4 5 8");
    as_world_free(&w);
}

/* The example world runs under policy routing and delivers everything. */
static void
test_run_example(void)
{
    const char *ms = ms_test_mailsim_path();
    g_autofree char *out = NULL, *err = NULL;
    const char *argv[] = { ms, "run", "-q", "scenarios/examples/as-policy.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "PASS"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* mailsim route: r5 is AS 6, r7 AS 8 (the file's order). */
    const char *route[] = { ms, "route", "scenarios/examples/as-policy.xml", "r5", "r7", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(route, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(out, "AS 6 reaches AS 8 by a provider route, AS path 6 3 1 2 5 8"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *bad[] = { ms, "route", "scenarios/examples/as-policy.xml", "r5", "nope", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(bad, &out, &err), 2);
}

/* The value of section,name in a --stats CSV. */
static double
csv_value(const char *csv, const char *key)
{
    const char *p = strstr(csv, key);
    return p ? g_ascii_strtod(p + strlen(key), NULL) : -1;
}

/* Routing studies in --stats: stretch 1 under latency, above 1 under
 * policy on a graph whose customer path is longer than its peer path. */
static void
test_stats_stretch(void)
{
    const char *ms = ms_test_mailsim_path();
    g_autofree char *dir = g_dir_make_tmp("ms-policy-XXXXXX", NULL);
    g_autofree char *cwd = g_get_current_dir();
    double stretch[2], hops[2];
    const char *metrics[] = { "latency", "policy" };
    for (int i = 0; i < 2; i++) {
        g_autofree char *xml = g_strdup_printf(
            "<scenario version=\"1\" name=\"d\" until=\"2h\" routing=\"%s\">\n"
            "<topology file=\"%s/tests/data/topology/detour.as-rel.txt\" domains=\"10\" "
            "users=\"20\" messages=\"200\" duration=\"30min\" placement=\"even\" "
            "outages=\"0\"/>\n</scenario>\n",
            metrics[i], cwd);
        g_autofree char *path = g_build_filename(dir, "d.xml", NULL);
        g_autofree char *csv_path = g_build_filename(dir, "s.csv", NULL);
        g_file_set_contents(path, xml, -1, NULL);
        g_autofree char *out = NULL, *err = NULL, *csv = NULL;
        const char *argv[] = { ms, "run", "-q", path, "--stats", csv_path, NULL };
        CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
        CU_ASSERT_FATAL(g_file_get_contents(csv_path, &csv, NULL, NULL));
        CU_ASSERT(csv_value(csv, "routing,paths,") > 100);
        CU_ASSERT_EQUAL(csv_value(csv, "routing,unreachable,"), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(csv, "busiest-link:1,"));
        stretch[i] = csv_value(csv, "routing,stretch_max,");
        hops[i] = csv_value(csv, "routing,hops_mean,");
        g_unlink(path);
        g_unlink(csv_path);
    }
    g_rmdir(dir);
    CU_ASSERT_DOUBLE_EQUAL(stretch[0], 1.0, 1e-9);
    /* 1 -> 4: 3 AS links of 5 ms against 2, plus the same access links. */
    CU_ASSERT(stretch[1] > 1.2);
    CU_ASSERT(hops[1] > hops[0]);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "small AS graph", test_small_graph },
        { "customer over a shorter peer route", test_customer_over_peer },
        { "no valleys", test_no_valleys },
        { "inside an AS", test_inside_an_as },
        { "a failed AS link", test_failure },
        { "example world", test_run_example },
        { "stretch in --stats", test_stats_stretch },
        { NULL, NULL },
    };
    return ms_test_main("routing_policy", cases);
}
