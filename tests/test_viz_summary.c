/* Tests of the summarised hop diagram (viz/layout.c, viz/hops.c): a world
 * of more than MS_VIZ_LAYOUT_SUMMARY_HOSTS hosts is drawn as one box per
 * group of hosts, with the journey's own hosts drawn inside their groups
 * and its arrows, badges and side panel as for a small world; both sides
 * of the threshold; each grouping rule (transit core and stub areas, areas
 * around the best-connected routers, AS); PNG and PDF too. Run from the
 * repository root. */
#include "testlib.h"
#include "mailsim/embedded.h"
#include "mailsim/scenario.h"
#include "mailsim/viz.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define LESSON1 "scenarios/teaching/01-first-email.xml"

/* A generated transit-stub world of 300 routers and 20 domains (326
 * hosts), with little traffic. */
static const char big_world[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<scenario version=\"1\" name=\"big\" seed=\"1\" until=\"2h\">\n"
    "  <title>Big generated world</title>\n"
    "  <generate topology=\"transit-stub\" domains=\"20\" routers=\"300\" users=\"100\" "
    "messages=\"20\" duration=\"10min\" seed=\"1\"/>\n"
    "</scenario>\n";

typedef struct {
    MsScenario *sc;
    MsWorld *world;
    MsRecorder *rec;
    MsVizJourney *journey;
    MsVizLayout *layout;
} Run;

static void
run_clear(Run *r)
{
    ms_viz_layout_free(r->layout);
    ms_viz_journey_free(r->journey);
    ms_world_free(r->world);
    ms_recorder_free(r->rec);
    ms_scenario_free(r->sc);
}

/* Loads and runs `xml`, then builds the first message's journey and the
 * layout the hop diagram uses. */
static gboolean
run_named(Run *r, const char *xml, const char *name)
{
    memset(r, 0, sizeof *r);
    g_autoptr(GError) error = NULL;
    r->sc = ms_scenario_load_memory(xml, strlen(xml), name, &error);
    if (!r->sc) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    r->world = ms_world_new(r->sc, 0, &error);
    if (!r->world) {
        fprintf(stderr, "world: %s\n", error->message);
        return FALSE;
    }
    r->rec = ms_recorder_new(0, 0, FALSE);
    ms_recorder_attach(r->rec, ms_net_trace(ms_world_net(r->world)));
    ms_world_run(r->world, ms_world_default_until(r->world));
    r->journey = ms_viz_journey_new(ms_world_net(r->world), ms_world_mail(r->world), r->rec, 1);
    g_autoptr(MsVizCanvas) m = ms_viz_canvas_new(MS_VIZ_FORMAT_SVG, 1, 1);
    r->layout =
        ms_viz_hops_layout(r->world, r->journey, m, MS_VIZ_DEFAULT_WIDTH, MS_VIZ_DEFAULT_HEIGHT);
    return r->layout != NULL;
}

static gboolean
run_xml(Run *r, const char *xml)
{
    return run_named(r, xml, "gen.xml");
}

/* Lesson 1 with `extra` routers hung as a ternary tree under core1. */
static char *
lesson_with_routers(guint extra)
{
    gsize len = 0;
    const char *base = (const char *) ms_embedded_get(LESSON1, &len);
    g_autoptr(GString) s = g_string_new_len(base, (gssize) len);
    g_autoptr(GString) add = g_string_new(NULL);
    for (guint i = 0; i < extra; i++) {
        g_string_append_printf(add,
                               "<host id=\"x%u\" name=\"edge%u.transit.example\" role=\"router\" "
                               "address=\"10.1.%u.%u\"/>\n",
                               i, i, i / 250, i % 250 + 1);
        if (i == 0)
            g_string_append(add,
                            "<link a=\"r-core1\" b=\"x0\" latency=\"2ms\" bandwidth=\"1Gbps\"/>\n");
        else
            g_string_append_printf(
                add, "<link a=\"x%u\" b=\"x%u\" latency=\"2ms\" bandwidth=\"1Gbps\"/>\n",
                (i - 1) / 3, i);
    }
    const char *mark = strstr(s->str, "  <dns ");
    g_string_insert(s, mark - s->str, add->str);
    return g_strdup(s->str);
}

static gboolean
render(Run *r, const char *path)
{
    MsVizOptions opt = { MS_VIZ_HOPS, 0, 0, 0 };
    g_autoptr(GError) error = NULL;
    gboolean ok = ms_viz_render(r->world, r->rec, &opt, path, &error);
    if (!ok)
        fprintf(stderr, "render %s: %s\n", path, error->message);
    return ok;
}

/* The group named `name`, or NULL. */
static const MsVizGroup *
group_named(const MsVizLayout *l, const char *name)
{
    for (guint i = 0; l->groups && i < l->groups->len; i++)
        if (strcmp(g_array_index(l->groups, MsVizGroup, i).name, name) == 0)
            return &g_array_index(l->groups, MsVizGroup, i);
    return NULL;
}

/* What every summary keeps true: each host in one group, the counts add
 * up, only the journey's hosts shown, each inside its group's box, and
 * the lines between groups count every link between two groups. */
static void
check_groups(const Run *r)
{
    const MsVizLayout *l = r->layout;
    MsNet *net = ms_world_net(r->world);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l->groups);
    CU_ASSERT(l->groups->len >= 2);
    guint sum = 0, shown = 0;
    for (guint i = 0; i < l->groups->len; i++)
        sum += g_array_index(l->groups, MsVizGroup, i).n_hosts;
    CU_ASSERT_EQUAL(sum, l->n_hosts);
    for (guint h = 0; h < l->n_hosts; h++) {
        CU_ASSERT(l->group_of[h] < l->groups->len);
        shown += l->shown[h];
        if (!l->shown[h])
            continue;
        const MsVizRect *box = &g_array_index(l->groups, MsVizGroup, l->group_of[h]).box;
        MsVizRect u = ms_viz_rect_union(&l->shape[h], &l->label[h]);
        CU_ASSERT(u.x >= box->x && u.y >= box->y && u.x + u.w <= box->x + box->w &&
                  u.y + u.h <= box->y + box->h);
    }
    CU_ASSERT(shown <= MS_VIZ_LAYOUT_SUMMARY_HOSTS);
    CU_ASSERT_EQUAL(shown + l->hidden_hosts, l->n_hosts);
    for (guint k = 0; k < r->journey->steps->len; k++) {
        const MsVizStep *s = &g_array_index(r->journey->steps, MsVizStep, k);
        CU_ASSERT(l->shown[s->from] && l->shown[s->to]);
    }
    guint between = 0, counted = 0;
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        between += l->group_of[a] != l->group_of[b];
    }
    for (guint i = 0; i < l->group_links->len; i++) {
        const MsVizGroupLink *gl = &g_array_index(l->group_links, MsVizGroupLink, i);
        CU_ASSERT(gl->a < gl->b && gl->n_links > 0 && gl->bandwidth > 0);
        if (i > 0) {
            const MsVizGroupLink *p = &g_array_index(l->group_links, MsVizGroupLink, i - 1);
            CU_ASSERT(p->a < gl->a || (p->a == gl->a && p->b < gl->b));
        }
        counted += gl->n_links;
    }
    CU_ASSERT_EQUAL(counted, between);
    /* boxes of groups with no journey host overlap no other box */
    for (guint i = 0; i < l->groups->len; i++) {
        const MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, i);
        for (guint o = 0; o < l->groups->len && !g->n_shown; o++)
            if (o != i)
                CU_ASSERT(
                    !ms_viz_rect_overlap(&g->box, &g_array_index(l->groups, MsVizGroup, o).box));
    }
}

static void
test_transit_stub_summary(void)
{
    Run r;
    CU_ASSERT_FATAL(run_xml(&r, big_world));
    MsNet *net = ms_world_net(r.world);
    const MsVizLayout *l = r.layout;
    CU_ASSERT(l->n_hosts > MS_VIZ_LAYOUT_SUMMARY_HOSTS);
    CU_ASSERT_FATAL(r.journey->steps->len >= 2);
    check_groups(&r);
    /* the generator's T = max(4, 300 / 20) = 15 transit routers, r0..r14,
     * are the core; each other router is in the stub area of one of them */
    const MsVizGroup *core = group_named(l, "transit core");
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(core->n_hosts, 15);
    CU_ASSERT_EQUAL(l->groups->len, 16);
    for (guint h = 0; h < 15; h++) {
        g_autofree char *name = g_strdup_printf("r%u", h);
        CU_ASSERT_EQUAL(l->group_of[ms_net_host_by_name(net, name)],
                        (guint) (core - (const MsVizGroup *) l->groups->data));
    }
    CU_ASSERT_PTR_NOT_NULL(group_named(l, "stub area at r3"));
    /* a mail server sits in the stub area of the router it hangs off */
    MsHostId mx = ms_net_host_by_name(net, "mx.d0.example");
    CU_ASSERT_FATAL(mx != MS_HOST_WORLD);
    CU_ASSERT(g_str_has_prefix(g_array_index(l->groups, MsVizGroup, l->group_of[mx]).name,
                               "stub area at r"));
    CU_ASSERT(strstr(l->summary, "by transit core and stub area") != NULL);

    g_autofree char *dir = g_dir_make_tmp("mailsim-viz-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *svg = g_build_filename(dir, "big.svg", NULL);
    g_autofree char *svg2 = g_build_filename(dir, "big2.svg", NULL);
    g_autofree char *png = g_build_filename(dir, "big.png", NULL);
    g_autofree char *pdf = g_build_filename(dir, "big.pdf", NULL);
    CU_ASSERT(render(&r, svg));
    CU_ASSERT(render(&r, svg2));
    CU_ASSERT(render(&r, png));
    CU_ASSERT(render(&r, pdf));
    xmlDoc *doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    guint n = r.journey->steps->len, shown = l->n_hosts - l->hidden_hosts;
    CU_ASSERT_EQUAL(
        ms_test_xpath_count(doc, "//s:g[@class='group' or @class='group group-journey']"),
        l->groups->len);
    CU_ASSERT(ms_test_xpath_count(doc, "//s:g[@class='group group-journey']") >= 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='group-link']"), l->group_links->len);
    /* no more host symbols than the threshold: the journey's own */
    guint hosts = ms_test_xpath_count(doc, "//s:g[@class='host']");
    CU_ASSERT_EQUAL(hosts, shown);
    CU_ASSERT(hosts <= MS_VIZ_LAYOUT_SUMMARY_HOSTS);
    /* the journey as for a small world */
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[starts-with(@class,'arrow')]"), n);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='badge']"), n);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='panel-step']"), n);
    for (guint k = 1; k <= n; k++) {
        const MsVizStep *s = &g_array_index(r.journey->steps, MsVizStep, k - 1);
        g_autofree char *q1 = g_strdup_printf(
            "//s:g[starts-with(@class,'arrow')][@data-step='%u'][@id='arrow-%u']", k, k);
        g_autofree char *q2 =
            g_strdup_printf("//s:g[@class='host'][@id='host-%s']", ms_net_host_name(net, s->to));
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q1), 1);
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q2), 1);
    }
    /* the group boxes carry their names and counts */
    CU_ASSERT_EQUAL(
        ms_test_xpath_count(doc, "//s:g[starts-with(@class,'group')]/s:text[.='stub area at r3']"),
        1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='group group-journey']/"
                                             "s:text[.='transit core \u00b7 15 hosts']"),
                    1);
    /* the footer says how the world was summarised */
    g_autofree char *footer = g_strdup_printf(
        "//s:text[.=\"Summarised by transit core and stub area: %u hosts in 16 groups, the "
        "journey's %u hosts drawn in theirs; lines join linked groups, wider for more links.\"]",
        l->n_hosts, shown);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, footer), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[contains(.,'other hosts and')]"), 0);
    xmlFreeDoc(doc);
    /* the same bytes twice */
    g_autofree char *a = NULL, *b = NULL;
    gsize la = 0, lb = 0;
    CU_ASSERT(g_file_get_contents(svg, &a, &la, NULL));
    CU_ASSERT(g_file_get_contents(svg2, &b, &lb, NULL));
    CU_ASSERT(la == lb && la > 0 && memcmp(a, b, la) == 0);
    g_autofree char *p = NULL, *pn = NULL;
    gsize lp = 0, lpn = 0;
    CU_ASSERT(g_file_get_contents(pdf, &p, &lp, NULL));
    CU_ASSERT(lp > 5 && memcmp(p, "%PDF-", 5) == 0);
    CU_ASSERT(g_file_get_contents(png, &pn, &lpn, NULL));
    CU_ASSERT(lpn > 8 && memcmp(pn, "\x89PNG", 4) == 0);
    g_unlink(svg);
    g_unlink(svg2);
    g_unlink(png);
    g_unlink(pdf);
    g_rmdir(dir);
    run_clear(&r);
}

/* Lesson 1 (11 hosts) grown to 200 hosts keeps the neighbours view; at
 * 201 it is summarised. Its routers form a tree (no 2-core), so the
 * groups are the areas around the best-connected routers. */
static void
test_threshold(void)
{
    Run r;
    g_autofree char *at = lesson_with_routers(MS_VIZ_LAYOUT_SUMMARY_HOSTS - 11);
    CU_ASSERT_FATAL(run_xml(&r, at));
    CU_ASSERT_EQUAL(r.layout->n_hosts, MS_VIZ_LAYOUT_SUMMARY_HOSTS);
    CU_ASSERT_PTR_NULL(r.layout->groups);
    CU_ASSERT_PTR_NULL(r.layout->summary);
    CU_ASSERT(r.layout->hidden_hosts > 0);
    run_clear(&r);

    g_autofree char *over = lesson_with_routers(MS_VIZ_LAYOUT_SUMMARY_HOSTS - 10);
    CU_ASSERT_FATAL(run_xml(&r, over));
    CU_ASSERT_EQUAL(r.layout->n_hosts, MS_VIZ_LAYOUT_SUMMARY_HOSTS + 1);
    check_groups(&r);
    CU_ASSERT(strstr(r.layout->summary, "by area around the best-connected routers") != NULL);
    /* one area per 20 routers */
    guint routers = 0;
    for (guint h = 0; h < r.layout->n_hosts; h++)
        routers += ms_net_host_role(ms_world_net(r.world), h) == MS_ROLE_ROUTER;
    CU_ASSERT(r.layout->groups->len <= (routers + 19) / 20 + 1);
    CU_ASSERT(
        g_str_has_prefix(g_array_index(r.layout->groups, MsVizGroup, 0).name, "area around "));
    run_clear(&r);
}

/* The hand-made AS graph of scenarios/examples with 30 PoPs per AS (248
 * hosts): one group per AS. */
static void
test_as_summary(void)
{
    const char *path = "scenarios/examples/as-policy.xml";
    g_autofree char *xml = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &xml, NULL, NULL));
    g_autoptr(GRegex) re = g_regex_new("format=\"caida-asrel\"", 0, 0, NULL);
    g_autofree char *pops =
        g_regex_replace_literal(re, xml, -1, 0, "format=\"caida-asrel\" pops=\"30\"", 0, NULL);
    CU_ASSERT_FATAL(strstr(pops, "pops=\"30\"") != NULL);
    Run r;
    CU_ASSERT_FATAL(run_named(&r, pops, path));
    CU_ASSERT(r.layout->n_hosts > MS_VIZ_LAYOUT_SUMMARY_HOSTS);
    check_groups(&r);
    CU_ASSERT(strstr(r.layout->summary, "Summarised by AS: ") == r.layout->summary);
    CU_ASSERT_EQUAL(r.layout->groups->len, 8);
    MsNet *net = ms_world_net(r.world);
    for (guint h = 0; h < r.layout->n_hosts; h++) {
        g_autofree char *want = g_strdup_printf("AS %u", ms_net_host_as(net, h));
        if (ms_net_host_as(net, h))
            CU_ASSERT_STRING_EQUAL(
                g_array_index(r.layout->groups, MsVizGroup, r.layout->group_of[h]).name, want);
    }
    run_clear(&r);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "transit-stub world summarised by stub area", test_transit_stub_summary },
        { "both sides of the threshold", test_threshold },
        { "AS graph summarised by AS", test_as_summary },
        { NULL, NULL },
    };
    return ms_test_main("viz_summary", cases);
}
