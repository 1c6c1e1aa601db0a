/* Tests of the topology importers (include/mailsim/topology.h), the
 * <topology> element of scenario files and `mailsim import`: each format
 * read from the examples (scenarios/examples/topologies/), the stated rules
 * with their warnings (tests/data/topology/quirks.gml), and a table of bad
 * inputs, each with the error and the line it must name. */
#include "testlib.h"
#include "mailsim/scenario.h"
#include "mailsim/topology.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define EX "scenarios/examples/topologies/"

static MsTopology *
load_ok(const char *path, MsTopologyFormat f)
{
    g_autoptr(GError) e = NULL;
    MsTopology *t = ms_topology_load_file(path, f, &e);
    if (!t)
        fprintf(stderr, "%s\n", e->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

static MsTopology *
load_text(const char *text, MsTopologyFormat f, GError **e)
{
    return ms_topology_load_memory(text, strlen(text), "t", f, e);
}

static const MsTopologyNode *
node(const MsTopology *t, guint i)
{
    return &g_array_index(t->nodes, MsTopologyNode, i);
}

static const MsTopologyEdge *
edge(const MsTopology *t, guint i)
{
    return &g_array_index(t->edges, MsTopologyEdge, i);
}

static void
test_distance(void)
{
    /* London - Amsterdam is about 357 km; a quarter of the equator
     * 10,007.5 km on a sphere of 6371 km. */
    double d = ms_topology_distance_km(51.507, -0.128, 52.370, 4.895);
    CU_ASSERT(d > 355 && d < 360);
    CU_ASSERT(fabs(ms_topology_distance_km(0, 0, 0, 90) - 6371 * G_PI / 2) < 1e-6);
    CU_ASSERT_EQUAL(ms_topology_distance_km(10, 20, 10, 20), 0);
    /* Antipodes: half the circumference, no NaN from rounding. */
    CU_ASSERT(fabs(ms_topology_distance_km(0, 0, 0, 180) - 6371 * G_PI) < 1e-6);
}

static void
test_graphml(void)
{
    g_autoptr(MsTopology) t = load_ok(EX "europe.graphml", MS_TOPOLOGY_GRAPHML);
    CU_ASSERT_EQUAL(t->nodes->len, 10);
    CU_ASSERT_EQUAL(t->edges->len, 13);
    CU_ASSERT_EQUAL(t->warnings->len, 0);
    CU_ASSERT_STRING_EQUAL(node(t, 0)->label, "London");
    CU_ASSERT(node(t, 0)->has_geo && fabs(node(t, 0)->lat - 51.507) < 1e-9);
    /* Edge 0: London - Amsterdam, 10 G; latency from the distance at 2/3 c
     * plus the per-hop constant. */
    CU_ASSERT_EQUAL(edge(t, 0)->speed_bps, 10000000000ull);
    double km = ms_topology_distance_km(51.507, -0.128, 52.370, 4.895);
    MsTime want = (MsTime) llround(km / MS_TOPOLOGY_FIBRE_KM_PER_S * 1e9) + MS_TOPOLOGY_HOP_LATENCY;
    CU_ASSERT_EQUAL(edge(t, 0)->latency, want);
    CU_ASSERT(want > 1780 * MS_TIME_US && want < 1900 * MS_TIME_US);
    CU_ASSERT_STRING_EQUAL(edge(t, 0)->label, "10 Gbps");
}

static void
test_gml(void)
{
    g_autoptr(MsTopology) t = load_ok(EX "nordic.gml", MS_TOPOLOGY_GML);
    CU_ASSERT_EQUAL(t->nodes->len, 6);
    CU_ASSERT_EQUAL(t->edges->len, 6);
    CU_ASSERT_EQUAL(t->warnings->len, 0);
    CU_ASSERT_STRING_EQUAL(node(t, 3)->label, "Helsinki");
    CU_ASSERT(node(t, 3)->internal);
    CU_ASSERT(!node(t, 5)->internal); /* Hamburg: Internal 0 */
    CU_ASSERT_EQUAL(edge(t, 2)->speed_bps, 2500000000ull);
}

static void
test_asrel(void)
{
    g_autoptr(MsTopology) t = load_ok(EX "small.as-rel.txt", MS_TOPOLOGY_CAIDA_ASREL);
    CU_ASSERT(t->is_as_graph);
    CU_ASSERT_EQUAL(t->nodes->len, 8);
    CU_ASSERT_EQUAL(t->edges->len, 8);
    CU_ASSERT_EQUAL(node(t, 0)->asn, 1);
    CU_ASSERT_STRING_EQUAL(node(t, 0)->label, "AS1");
    CU_ASSERT_EQUAL(edge(t, 0)->rel, MS_TOPOLOGY_REL_PEER);
    CU_ASSERT_EQUAL(edge(t, 1)->rel, MS_TOPOLOGY_REL_PROVIDER_CUSTOMER);
    CU_ASSERT_EQUAL(edge(t, 1)->latency, MS_TOPOLOGY_DEFAULT_LATENCY);
    /* One warning says the format has no coordinates or speeds. */
    CU_ASSERT_EQUAL(t->warnings->len, 1);

    /* Serial-2 with its source column, CR LF, comments, canonical ids. */
    g_autoptr(GError) e = NULL;
    g_autoptr(MsTopology) t2 = load_text("# serial-2\r\n10|20|-1|bgp\r\n020|30|0|mlp\r\n\r\n",
                                         MS_TOPOLOGY_CAIDA_ASREL, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
    CU_ASSERT_EQUAL(t2->nodes->len, 3); /* "020" is AS 20 */
    CU_ASSERT_EQUAL(t2->edges->len, 2);
}

static void
test_brite(void)
{
    g_autoptr(MsTopology) t = load_ok(EX "small.brite", MS_TOPOLOGY_BRITE);
    CU_ASSERT_EQUAL(t->nodes->len, 5);
    CU_ASSERT_EQUAL(t->edges->len, 5);
    CU_ASSERT_EQUAL(t->warnings->len, 0); /* every edge has a delay and a bandwidth */
    CU_ASSERT(node(t, 2)->has_xy && node(t, 2)->x == 70.0 && !node(t, 2)->has_geo);
    CU_ASSERT_EQUAL(edge(t, 1)->latency, 204 * MS_TIME_US);
    CU_ASSERT_EQUAL(edge(t, 1)->speed_bps, 100000000ull);
}

static gboolean
has_warning(const MsTopology *t, const char *prefix, const char *text)
{
    for (guint i = 0; i < t->warnings->len; i++) {
        const char *w = t->warnings->pdata[i];
        if (g_str_has_prefix(w, prefix) && strstr(w, text))
            return TRUE;
    }
    return FALSE;
}

static void
test_rules(void)
{
    g_autoptr(MsTopology) t = load_ok("tests/data/topology/quirks.gml", MS_TOPOLOGY_GML);
    for (guint i = 0; i < t->warnings->len; i++)
        if (g_getenv("MS_TEST_VERBOSE"))
            fprintf(stderr, "%s\n", (const char *) t->warnings->pdata[i]);
    /* Parallel Oslo-Bergen (line 71) dropped, the first (line 51) kept. */
    CU_ASSERT(has_warning(t, "tests/data/topology/quirks.gml:71: warning:", "line 51"));
    /* Self-loop at Trondheim. */
    CU_ASSERT(has_warning(t, "tests/data/topology/quirks.gml:76: warning:", "itself"));
    /* "Island" (line 45) cut off: the largest part is kept. */
    CU_ASSERT(has_warning(t, "tests/data/topology/quirks.gml:45: warning:", "largest (5 nodes)"));
    /* "Nowhere" has no coordinates; its link takes the default latency. */
    CU_ASSERT(has_warning(t, "tests/data/topology/quirks.gml:31: warning:", "Nowhere"));
    /* Trondheim - Tromso has no speed. */
    CU_ASSERT(has_warning(t, "tests/data/topology/quirks.gml:62: warning:", "1 Gbps"));
    CU_ASSERT_EQUAL(t->warnings->len, 5);
    CU_ASSERT_EQUAL(t->nodes->len, 5);
    CU_ASSERT_EQUAL(t->edges->len, 4);
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = edge(t, i);
        CU_ASSERT(e->a != e->b);
        CU_ASSERT(e->latency > 0);
        CU_ASSERT(e->speed_bps > 0);
        if (!strcmp(node(t, e->b)->label, "Nowhere"))
            CU_ASSERT_EQUAL(e->latency, MS_TOPOLOGY_DEFAULT_LATENCY);
        if (!strcmp(node(t, e->b)->label, "Tromso"))
            CU_ASSERT_EQUAL(e->speed_bps, MS_TOPOLOGY_DEFAULT_SPEED);
    }
    /* The first of the parallel edges kept: 10 G, not 1 M. */
    CU_ASSERT_EQUAL(edge(t, 0)->speed_bps, 10000000000ull);
}

/* Bad inputs: the error must name this line and say this. */
static const struct {
    MsTopologyFormat f;
    const char *text;
    guint line;
    const char *says;
} bad[] = {
    { MS_TOPOLOGY_GRAPHML,
      "<graphml>\n<graph>\n<node id=\"a\"><data key=\"d9\">1</data></node>\n</graph></graphml>", 3,
      "unknown key" },
    { MS_TOPOLOGY_GRAPHML,
      "<graphml><key id=\"d1\" for=\"node\" attr.name=\"Latitude\"/>\n"
      "<key id=\"d2\" for=\"node\" attr.name=\"Longitude\"/><graph>\n"
      "<node id=\"a\">\n<data key=\"d1\">north</data><data key=\"d2\">3</data></node>\n"
      "</graph></graphml>",
      4, "Latitude 'north': expected a number" },
    { MS_TOPOLOGY_GRAPHML, "<graphml><graph>\n<node id=\"a\"/>\n<node id=\"a\"/></graph></graphml>",
      3, "defined twice (first at line 2)" },
    { MS_TOPOLOGY_GRAPHML,
      "<graphml><graph>\n<node id=\"a\"/>\n<edge source=\"a\" target=\"b\"/></graph></graphml>", 3,
      "unknown node 'b'" },
    { MS_TOPOLOGY_GRAPHML, "<?xml version=\"1.0\"?>\n<!DOCTYPE g [<!ENTITY x \"y\">]>\n<graphml/>",
      2, "DOCTYPE" },
    { MS_TOPOLOGY_GRAPHML, "<graphml>\n<graph>\n<node id=\"a\">\n</graph>", 4, "well-formed" },
    { MS_TOPOLOGY_GML, "graph [\n node [ id 1 ]\n node [ id 1 ]\n]\n", 3, "defined twice" },
    { MS_TOPOLOGY_GML, "graph [\n node [ id 1 label \"x\n", 2, "never ends" },
    { MS_TOPOLOGY_GML, "graph [\n node [ id 1\n Latitude \"abc\" Longitude 3 ]\n]", 3,
      "Latitude 'abc': expected a number" },
    { MS_TOPOLOGY_GML, "graph [\n node [ id 1 ]\n edge [ source 1 target 7 ]\n]", 3,
      "unknown node '7'" },
    { MS_TOPOLOGY_GML, "graph [ node [ id 1 ]\n", 2, "ends inside a list" },
    { MS_TOPOLOGY_GML, "graph [ node [ id 1 ] ]\n]\n", 2, "without a list" },
    { MS_TOPOLOGY_GML, "graph [\n node [ id 1 Latitude 95 Longitude 0 ]\n]", 2, "not a place" },
    { MS_TOPOLOGY_GML, "graph [\n edge [ source 1 ]\n]", 2, "without a target" },
    { MS_TOPOLOGY_GML, "nodes [ ]\n", 1, "no 'graph" },
    { MS_TOPOLOGY_CAIDA_ASREL, "1|2|-1\n2|3|2\n", 2, "relationship '2'" },
    { MS_TOPOLOGY_CAIDA_ASREL, "1|2|-1\n\n# c\nx|3|0\n", 4, "'x' is not an AS number" },
    { MS_TOPOLOGY_CAIDA_ASREL, "1|2\n", 1, "expected 'AS|AS|REL'" },
    { MS_TOPOLOGY_CAIDA_ASREL, "0|2|0\n", 1, "not an AS number" },
    { MS_TOPOLOGY_CAIDA_ASREL, "4294967296|2|0\n", 1, "not an AS number" },
    /* 1 provider of 2 provider of 3 provider of 1. */
    { MS_TOPOLOGY_CAIDA_ASREL, "# cycle\n1|2|-1\n2|3|-1\n3|1|-1\n3|4|-1\n", 4,
      "provider-customer cycle" },
    { MS_TOPOLOGY_CAIDA_ASREL, "# nothing\n", 1, "no nodes" },
    { MS_TOPOLOGY_CAIDA_ASREL, "1|2|-1\n2|1|-1\n", 2, "differently than at line 1" },
    { MS_TOPOLOGY_CAIDA_ASREL, "1|2|-1\n1|2|0\n", 2, "differently than at line 1" },
    { MS_TOPOLOGY_BRITE, "Nodes: ( 1 )\n0 1.0 2.0 1 1 -1 RT_NODE\n1 x 2 1 1 -1 RT_NODE\n", 3,
      "x 'x' is not a number" },
    { MS_TOPOLOGY_BRITE, "Nodes: ( 1 )\n0 1 2 1 1 -1 RT\nEdges: ( 1 )\n0 0 5 1 1 1 -1 -1 E U\n", 4,
      "unknown node '5'" },
    { MS_TOPOLOGY_BRITE, "Edges: ( 1 )\n0 0 5 1 1 1\n", 1, "before any Nodes" },
    { MS_TOPOLOGY_BRITE, "Nodes: ( 1 )\n0 1 2\n", 2, "3 fields" },
};

static void
test_bad_inputs(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsTopology) t = load_text(bad[i].text, bad[i].f, &e);
        g_autofree char *prefix = g_strdup_printf("t:%u: ", bad[i].line);
        if (t || !e || !g_str_has_prefix(e->message, prefix) || !strstr(e->message, bad[i].says))
            fprintf(stderr, "bad[%zu]: got '%s', want '%s...%s'\n", i, e ? e->message : "(none)",
                    prefix, bad[i].says);
        CU_ASSERT_PTR_NULL(t);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT(g_str_has_prefix(e->message, prefix));
        CU_ASSERT_PTR_NOT_NULL(strstr(e->message, bad[i].says));
    }
}

/* Deep GML nesting is refused, never recursed into without bound. */
static void
test_gml_depth(void)
{
    GString *s = g_string_new("graph [\n");
    for (int i = 0; i < 100000; i++)
        g_string_append(s, "a [ ");
    g_autoptr(GError) e = NULL;
    g_autoptr(MsTopology) t = ms_topology_load_memory(s->str, s->len, "deep", MS_TOPOLOGY_GML, &e);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "nested deeper than 32"));
    /* Exactly at the limit is fine (graph is depth 1). */
    g_string_assign(s, "graph [ node [ id 1 ] ");
    for (int i = 0; i < MS_TOPOLOGY_MAX_DEPTH - 1; i++)
        g_string_append(s, "a [ ");
    for (int i = 0; i < MS_TOPOLOGY_MAX_DEPTH - 1; i++)
        g_string_append(s, "] ");
    g_string_append(s, "]");
    g_clear_error(&e);
    g_autoptr(MsTopology) t2 = ms_topology_load_memory(s->str, s->len, "ok", MS_TOPOLOGY_GML, &e);
    CU_ASSERT_PTR_NOT_NULL(t2);
    g_string_append(s, " x [ ");
    g_string_free(s, TRUE);
}

static void
test_formats(void)
{
    MsTopologyFormat f;
    CU_ASSERT(ms_topology_format_guess("a/b/Geant2012.graphml", &f) && f == MS_TOPOLOGY_GRAPHML);
    CU_ASSERT(ms_topology_format_guess("Abilene.gml", &f) && f == MS_TOPOLOGY_GML);
    CU_ASSERT(ms_topology_format_guess("20240101.as-rel2.txt", &f) && f == MS_TOPOLOGY_CAIDA_ASREL);
    CU_ASSERT(ms_topology_format_guess("x.brite", &f) && f == MS_TOPOLOGY_BRITE);
    CU_ASSERT(!ms_topology_format_guess("x.txt", &f));
    CU_ASSERT(ms_topology_format_from_string("caida-asrel", &f) && f == MS_TOPOLOGY_CAIDA_ASREL);
    CU_ASSERT(!ms_topology_format_from_string("GraphML", &f));
}

/* The AS graph expanded into 3 PoPs per AS: a ring inside each AS, the
 * relationship links between PoPs. */
static void
test_pops(void)
{
    g_autoptr(MsTopology) t = load_ok(EX "small.as-rel.txt", MS_TOPOLOGY_CAIDA_ASREL);
    g_autoptr(GString) s = g_string_new(NULL);
    MsTopologyWriteOptions o = { 3, 0 };
    g_autoptr(GPtrArray) ids = NULL;
    GArray *w = NULL, *asns = NULL;
    guint32 next = ms_topology_write_elements(t, &o, s, &ids, &w, &asns);
    CU_ASSERT_EQUAL(ids->len, 24);
    CU_ASSERT_EQUAL(next, 0x0A000001u + 24);
    CU_ASSERT_EQUAL(g_array_index(asns, guint32, 3), 2); /* r1.0 is in AS 2 */
    guint links = 0;
    for (const char *p = s->str; (p = strstr(p, "<link ")); p++)
        links++;
    CU_ASSERT_EQUAL(links, 8 * 3 + 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "<link a=\"r0.1\" b=\"r1.0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s->str, "relation=\"peer\""));
    g_array_free(w, TRUE);
    g_array_free(asns, TRUE);
}

/* The <topology> element: the examples load, the routers keep labels,
 * coordinates and ASes, mail is placed on them, a host off an AS router
 * inherits its AS. */
static void
test_scenario_element(void)
{
    g_autoptr(GError) e = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file("scenarios/examples/europe-graphml.xml", &e);
    if (!sc)
        fprintf(stderr, "%s\n", e->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, 0);
    CU_ASSERT_STRING_EQUAL(h->id, "r0");
    CU_ASSERT_STRING_EQUAL(h->label, "London");
    CU_ASSERT(h->has_geo && fabs(h->lon + 0.128) < 1e-9);
    CU_ASSERT_EQUAL(sc->mailservers->len >= 6, TRUE);
    CU_ASSERT(sc->workloads->len == 6);
    /* Same file, same seed: the same world. */
    g_autoptr(MsScenario) again =
        ms_scenario_load_file("scenarios/examples/europe-graphml.xml", NULL);
    CU_ASSERT_EQUAL(again->hosts->len, sc->hosts->len);
    for (guint i = 0; i < sc->links->len; i++)
        CU_ASSERT_EQUAL(g_array_index(sc->links, MsScenarioLink, i).a,
                        g_array_index(again->links, MsScenarioLink, i).a);

    g_autoptr(MsScenario) as = ms_scenario_load_file("scenarios/examples/as-policy.xml", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(as);
    CU_ASSERT_EQUAL(as->routing, MS_ROUTING_POLICY);
    gint mx = ms_scenario_find_host(as, "mx0");
    CU_ASSERT_FATAL(mx >= 0);
    CU_ASSERT(g_array_index(as->hosts, MsScenarioHost, mx).asn != 0);
    g_autoptr(GPtrArray) w = ms_scenario_warnings(as);
    CU_ASSERT(w->len >= 1);
    CU_ASSERT(g_str_has_prefix(w->pdata[0], "scenarios/examples/topologies/small.as-rel.txt:9: "
                                            "warning:"));
}

static void
test_scenario_errors(void)
{
    static const struct {
        const char *xml, *says;
    } cases[] = {
        { "<topology file=\"nope.graphml\"/>", "cannot open" },
        { "<topology file=\"x.dat\"/>", "the file name does not say" },
        { "<topology file=\"tests/data/topology/quirks.gml\" domains=\"0\"/>", "at least 1" },
        { "<topology file=\"tests/data/topology/quirks.gml\" pops=\"65\"/>", "1 to 64" },
        { "<topology file=\"tests/data/topology/quirks.gml\" format=\"caida-asrel\"/>",
          "quirks.gml:4: " },
        /* Policy routing needs each AS link's relation. */
        { "<host id=\"a\" role=\"router\" address=\"10.1.0.1\" as=\"1\"/>"
          "<host id=\"b\" role=\"router\" address=\"10.1.0.2\" as=\"2\"/>"
          "<link a=\"a\" b=\"b\"/><routing metric=\"policy\"/>",
          "policy routing needs how AS 1 and AS 2 relate" },
        { "<host id=\"a\" role=\"router\" address=\"10.1.0.1\" as=\"1\"/>"
          "<host id=\"b\" role=\"router\" address=\"10.1.0.2\" as=\"1\"/>"
          "<link a=\"a\" b=\"b\" relation=\"peer\"/>",
          "both ends are in AS 1" },
        { "<host id=\"a\" role=\"router\" address=\"10.1.0.1\" lat=\"91\" lon=\"0\"/>",
          "not a place" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *doc =
            g_strdup_printf("<scenario version=\"1\" name=\"t\">\n%s\n</scenario>", cases[i].xml);
        g_autoptr(GError) e = NULL;
        g_autoptr(MsScenario) sc = ms_scenario_load_memory(doc, strlen(doc), "(memory)", &e);
        if (sc || !strstr(e->message, cases[i].says))
            fprintf(stderr, "case %zu: %s\n", i, e ? e->message : "(loaded)");
        CU_ASSERT_PTR_NULL(sc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_PTR_NOT_NULL(strstr(e->message, cases[i].says));
        CU_ASSERT(g_str_has_prefix(e->message, "(memory):2: "));
    }
}

static void
test_cli_import(void)
{
    const char *ms = ms_test_mailsim_path();
    g_autofree char *out = NULL, *err = NULL;
    const char *ok[] = { ms, "import", EX "nordic.gml", "--domains", "2", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(ok, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "label=\"Copenhagen\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "<mailserver host=\"mx1\""));
    /* What import writes loads as it is. */
    g_autoptr(GError) e = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(out, strlen(out), "imported", &e);
    CU_ASSERT_PTR_NOT_NULL(sc);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *warn[] = { ms, "import", "tests/data/topology/quirks.gml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(warn, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tests/data/topology/quirks.gml:76: warning:"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *as[] = { ms, "import", EX "small.as-rel.txt", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(as, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "routing=\"policy\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "relation=\"provider-customer\""));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_autofree char *dir = g_dir_make_tmp("ms-import-XXXXXX", NULL);
    g_autofree char *badf = g_build_filename(dir, "bad.as-rel.txt", NULL);
    g_file_set_contents(badf, "1|2|-1\n2|3|-1\n3|1|-1\n", -1, NULL);
    const char *bad_argv[] = { ms, "import", badf, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(bad_argv, &out, &err), 2);
    g_autofree char *want = g_strdup_printf("%s:3: provider-customer cycle", badf);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* The benchmark line: import, then tables under each metric. */
    const char *bench[] = { ms, "import", EX "small.as-rel.txt", "--bench-routing", "4", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(bench, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "import: format=caida-asrel nodes=8 links=8 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "routing: metric=policy hosts=8 tables=4 reached=4 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "routing: metric=latency "));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *nofmt[] = { ms, "import", "x.dat", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(nofmt, &out, &err), 2);
    g_unlink(badf);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "great-circle distance", test_distance },
        { "graphml", test_graphml },
        { "gml", test_gml },
        { "caida as-rel", test_asrel },
        { "brite", test_brite },
        { "rules and warnings", test_rules },
        { "bad inputs name their line", test_bad_inputs },
        { "gml nesting depth", test_gml_depth },
        { "format names", test_formats },
        { "AS into PoPs", test_pops },
        { "<topology> element", test_scenario_element },
        { "<topology> errors", test_scenario_errors },
        { "mailsim import", test_cli_import },
        { NULL, NULL },
    };
    return ms_test_main("topology", cases);
}
