/* Tests of the map picture (viz/map.c): an imported network drawn on its
 * coordinates after a run; labels never overlap, however small the page;
 * a world without coordinates is refused with a reason; PNG, SVG and PDF
 * through `mailsim render --kind map`. And the routing study page
 * (viz/routing_plot.c) of the same network under two metrics. */
#include "testlib.h"
#include "mailsim/scenario.h"
#include "mailsim/stats.h"
#include "mailsim/viz.h"
#include "mailsim/world.h"

#include <glib/gstdio.h>
#include <string.h>

static MsWorld *
run_example(MsScenario **sc_out)
{
    g_autoptr(GError) e = NULL;
    MsScenario *sc = ms_scenario_load_file("scenarios/examples/europe-graphml.xml", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    MsWorld *w = ms_world_new(sc, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, sc->until);
    *sc_out = sc;
    return w;
}

static guint
overlapping_pairs(const GArray *boxes)
{
    guint n = 0;
    for (guint i = 0; i < boxes->len; i++)
        for (guint j = i + 1; j < boxes->len; j++) {
            const MsVizRect *a = &g_array_index(boxes, MsVizRect, i);
            const MsVizRect *b = &g_array_index(boxes, MsVizRect, j);
            if (a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h &&
                b->y < a->y + a->h)
                n++;
        }
    return n;
}

static void
test_map_labels(void)
{
    MsScenario *sc = NULL;
    MsWorld *w = run_example(&sc);
    GArray *labels = NULL;
    g_autoptr(GError) e = NULL;
    g_autoptr(MsVizCanvas) c = ms_viz_map(w, MS_VIZ_FORMAT_SVG, 0, 0, &labels, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(labels->len, 10); /* every city fits on a full page */
    CU_ASSERT_EQUAL(overlapping_pairs(labels), 0);
    g_autofree char *svg = ms_viz_canvas_svg_string(c, FALSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "equirectangular"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">Lisbon<"));
    g_array_free(labels, TRUE);
    /* A small page: some labels go, none overlaps. */
    g_autoptr(MsVizCanvas) small = ms_viz_map(w, MS_VIZ_FORMAT_SVG, 260, 200, &labels, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(small);
    CU_ASSERT(labels->len < 10);
    CU_ASSERT_EQUAL(overlapping_pairs(labels), 0);
    g_autofree char *svg2 = ms_viz_canvas_svg_string(small, FALSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg2, "labels left out so that none overlap"));
    g_array_free(labels, TRUE);
    ms_world_free(w);
    ms_scenario_free(sc);
}

static void
test_map_needs_coordinates(void)
{
    g_autoptr(GError) e = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file("tests/scenarios/good/minimal.xml", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    MsWorld *w = ms_world_new(sc, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    MsVizCanvas *c = ms_viz_map(w, MS_VIZ_FORMAT_PNG, 0, 0, NULL, &e);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "no host has coordinates"));
    ms_world_free(w);
}

static void
test_map_cli(void)
{
    const char *ms = ms_test_mailsim_path();
    g_autofree char *dir = g_dir_make_tmp("ms-map-XXXXXX", NULL);
    const char *ext[] = { "png", "svg", "pdf" };
    const char *magic[] = { "\x89PNG", "<", "%PDF" };
    for (int i = 0; i < 3; i++) {
        g_autofree char *path = g_strdup_printf("%s/map.%s", dir, ext[i]);
        g_autofree char *out = NULL, *err = NULL, *data = NULL;
        const char *argv[] = { ms,       "render", "scenarios/examples/nordic-gml.xml",
                               "--kind", "map",    "-o",
                               path,     NULL };
        CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
        gsize len = 0;
        CU_ASSERT_FATAL(g_file_get_contents(path, &data, &len, NULL));
        CU_ASSERT(len > 100 && memcmp(data, magic[i], strlen(magic[i])) == 0);
        g_unlink(path);
    }
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *png = g_strdup_printf("%s/x.png", dir);
    const char *bad[] = { ms,  "render", "tests/scenarios/good/minimal.xml", "--kind", "map", "-o",
                          png, NULL };
    CU_ASSERT_NOT_EQUAL(ms_test_spawn(bad, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no host has coordinates"));
    g_rmdir(dir);
}

/* Hop-count routing on the European network: its three panels, the
 * metric named, the hop bars adding up to the paths measured, and paths
 * longer than the shortest (stretch above 1) where fewer hops cost
 * latency; under latency routing every path is a shortest one. */
static void
test_routing_page(void)
{
    MsScenario *sc = NULL;
    MsWorld *w = run_example(&sc);
    g_autoptr(MsVizCanvas) c = ms_viz_routing(w, MS_VIZ_FORMAT_SVG, 0, 0);
    g_autofree char *svg = ms_viz_canvas_svg_string(c, FALSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "Routing by latency: 120 paths"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "median 1, 95th percentile 1<"));
    ms_world_free(w);
    sc->routing = MS_ROUTING_HOPS;
    g_autoptr(GError) e = NULL;
    w = ms_world_new(sc, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ms_world_run(w, sc->until);
    g_autoptr(MsVizCanvas) h = ms_viz_routing(w, MS_VIZ_FORMAT_SVG, 0, 0);
    g_autofree char *hsvg = ms_viz_canvas_svg_string(h, FALSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(hsvg, "Routing by hop count"));
    for (const char *g = "stretch\0hops\0latency\0"; *g; g += strlen(g) + 1) {
        g_autofree char *id = g_strdup_printf("<g id=\"%s\" class=\"plot\">", g);
        CU_ASSERT_PTR_NOT_NULL(strstr(hsvg, id));
    }
    CU_ASSERT_PTR_NULL(strstr(hsvg, "median 1, 95th percentile 1<"));
    MsRoutingStats rs;
    g_autoptr(GArray) hops = g_array_new(FALSE, FALSE, sizeof(double));
    ms_stats_routing_paths(w, &rs, NULL, hops, NULL);
    CU_ASSERT_EQUAL(hops->len, rs.paths);
    CU_ASSERT(rs.stretch_max > 1.0);
    ms_world_free(w);
    ms_scenario_free(sc);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "labels never overlap", test_map_labels },
        { "a map needs coordinates", test_map_needs_coordinates },
        { "render --kind map", test_map_cli },
        { "routing study page under two metrics", test_routing_page },
        { NULL, NULL },
    };
    return ms_test_main("map", cases);
}
