/* Pictures of many runs (ms_viz_sweep, ms_viz_bench_worlds) and the sweep
 * results they read (include/mailsim/sweep_results.h): a tiny sweep of
 * lesson 2 (3 seeds x fidelity=packet,flow) drawn as SVG, PNG and PDF; the
 * SVG holds one mean marker, one CI bar and a dot per replication for each
 * grid point of each panel, and has the same bytes on a second render, for
 * --jobs 1 and 2, and when drawn from the JSON file; hostile JSON and CSV
 * are refused with errors naming the file; `mailsim sweep --plot` and
 * `mailsim render --kind sweep|bench`. Run from the repository root. */
#include "testlib.h"
#include "mailsim/sweep_results.h"
#include "mailsim/viz.h"

#include <cairo.h>
#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <math.h>
#include <string.h>

#define LESSON2 "scenarios/teaching/02-packets.xml"

/* The results of lesson 2 over seeds 1..3 and both fidelities. */
static MsSweepResults *
tiny_sweep(guint jobs, char **json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new();
    CU_ASSERT_FATAL(ms_sweep_add_scenario_file(sw, LESSON2, NULL, &error));
    CU_ASSERT(ms_sweep_set_seeds(sw, "1..3", &error));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=packet,flow", &error));
    CU_ASSERT_FATAL(ms_sweep_run(sw, jobs, NULL, NULL, &error));
    if (json) {
        GString *s = g_string_new(NULL);
        ms_sweep_json(sw, s);
        *json = g_string_free(s, FALSE);
    }
    return ms_sweep_results_from_sweep(sw);
}

static char *
svg_of(const MsSweepResults *r, const char *const *stats)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsVizCanvas) c = ms_viz_sweep(r, stats, MS_VIZ_FORMAT_SVG, 0, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return ms_viz_canvas_svg_string(c, TRUE);
}

static void
test_results(void)
{
    g_autoptr(MsSweepResults) r = tiny_sweep(1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(ms_sweep_results_n_points(r), 2);
    CU_ASSERT_EQUAL(ms_sweep_results_n_seeds(r), 3);
    CU_ASSERT_EQUAL(ms_sweep_results_seed(r, 2), 3);
    CU_ASSERT_EQUAL(ms_sweep_results_n_axes(r), 1);
    CU_ASSERT_STRING_EQUAL(ms_sweep_results_axis(r, 0), "fidelity");
    CU_ASSERT_STRING_EQUAL(ms_sweep_results_setting(r, 1, 0), "flow");
    CU_ASSERT_STRING_EQUAL(ms_sweep_results_scenario(r),
                           "Lesson 2: a big message, many small packets");
    CU_ASSERT_EQUAL(ms_sweep_results_n_stats(r), 18);
    CU_ASSERT_EQUAL(ms_sweep_results_find_stat(r, "nope"), -1);
    /* every statistic's mean is the mean of its replications */
    for (guint p = 0; p < 2; p++)
        for (guint s = 0; s < ms_sweep_results_n_stats(r); s++) {
            MsSweepSummary sum;
            ms_sweep_results_get(r, p, s, &sum);
            CU_ASSERT_EQUAL(sum.n, 3);
            CU_ASSERT_EQUAL_FATAL(sum.n_values, 3);
            double m = (sum.values[0] + sum.values[1] + sum.values[2]) / 3;
            CU_ASSERT(fabs(m - sum.mean) <= 1e-5 * MAX(1, fabs(m)));
            CU_ASSERT(sum.min <= sum.mean && sum.mean <= sum.max);
        }
    MsSweepSummary lat;
    ms_sweep_results_get(r, 0, (guint) ms_sweep_results_find_stat(r, "latency_mean_s"), &lat);
    CU_ASSERT(lat.mean > 0);
    CU_ASSERT(lat.ci95 > 0); /* the seeds differ */
}

static void
test_formats(void)
{
    g_autofree char *json = NULL;
    g_autoptr(MsSweepResults) r1 = tiny_sweep(1, &json);
    g_autoptr(MsSweepResults) r2 = tiny_sweep(2, NULL);
    g_autofree char *svg = svg_of(r1, NULL), *again = svg_of(r1, NULL), *jobs2 = svg_of(r2, NULL);
    CU_ASSERT_STRING_EQUAL(svg, again);
    CU_ASSERT_STRING_EQUAL(svg, jobs2);

    xmlDoc *doc = xmlReadMemory(svg, (int) strlen(svg), "sweep.svg", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    static const char *const panels[] = { "latency_mean_s", "latency_p50_s", "latency_p95_s",
                                          "delivered",      "bounced",       "queued" };
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='panel']"), G_N_ELEMENTS(panels));
    for (guint i = 0; i < G_N_ELEMENTS(panels); i++) {
        g_autofree char *q1 =
            g_strdup_printf("//s:g[@id='panel-%s']//s:g[@class='mean']", panels[i]);
        g_autofree char *q2 =
            g_strdup_printf("//s:g[@id='panel-%s']//s:g[@class='ci']/s:path", panels[i]);
        g_autofree char *q3 =
            g_strdup_printf("//s:g[@id='panel-%s']//s:g[@class='replications']/s:path", panels[i]);
        g_autofree char *q4 =
            g_strdup_printf("//s:g[@id='panel-%s-point-2'][@class='point']", panels[i]);
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q1), 2);
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q2), 2);
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q3), 2 * 3);
        CU_ASSERT_EQUAL(ms_test_xpath_count(doc, q4), 1);
    }
    CU_ASSERT(ms_test_xpath_count(doc, "//s:text[.='fidelity=packet']") == G_N_ELEMENTS(panels));
    CU_ASSERT(ms_test_xpath_count(
                  doc, "//s:text[.='Sweep: Lesson 2: a big message, many small packets']") == 1);
    CU_ASSERT(ms_test_xpath_count(doc, "//s:text[contains(., '3 replications (seeds 1..3)')]") ==
              1);
    CU_ASSERT(ms_test_xpath_count(doc, "//s:text[.='latency (s)']") == 3);
    xmlFreeDoc(doc);

    /* chosen statistics; an unknown one is refused */
    static const char *const two[] = { "events", "latency_p99_s", NULL }, *const bad[] = { "nope",
                                                                                           NULL };
    g_autofree char *svg2 = svg_of(r1, two);
    CU_ASSERT(strstr(svg2, "id=\"panel-events\"") && strstr(svg2, "id=\"panel-latency_p99_s\""));
    CU_ASSERT(strstr(svg2, "id=\"panel-delivered\"") == NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(ms_viz_sweep(r1, bad, MS_VIZ_FORMAT_SVG, 0, 0, &error));
    CU_ASSERT(error && strstr(error->message, "'nope'"));

    /* PNG at the page's size, PDF, and the SVG drawn from the JSON file */
    g_autofree char *dir = g_dir_make_tmp("mailsim-sweepplot-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *jpath = g_build_filename(dir, "s.json", NULL),
                    *png = g_build_filename(dir, "s.png", NULL),
                    *pdf = g_build_filename(dir, "s.pdf", NULL),
                    *fsvg = g_build_filename(dir, "s.svg", NULL);
    CU_ASSERT(g_file_set_contents(jpath, json, -1, NULL));
    g_autoptr(MsVizCanvas) c = ms_viz_sweep(r1, NULL, MS_VIZ_FORMAT_PNG, 0, 0, NULL);
    CU_ASSERT(ms_viz_canvas_write(c, png, NULL));
    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    CU_ASSERT_EQUAL(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    CU_ASSERT_EQUAL(cairo_image_surface_get_width(img), MS_VIZ_DEFAULT_WIDTH);
    CU_ASSERT_EQUAL(cairo_image_surface_get_height(img), (int) ceil(ms_viz_canvas_height(c)));
    cairo_surface_destroy(img);
    CU_ASSERT(ms_viz_render_file(MS_VIZ_SWEEP, jpath, pdf, 0, 0, NULL));
    g_autofree char *p = NULL;
    gsize lp = 0;
    CU_ASSERT(g_file_get_contents(pdf, &p, &lp, NULL));
    CU_ASSERT(lp > 5 && memcmp(p, "%PDF-", 5) == 0);
    CU_ASSERT(ms_viz_render_file(MS_VIZ_SWEEP, jpath, fsvg, 0, 0, NULL));
    g_autofree char *from_file = NULL;
    CU_ASSERT(g_file_get_contents(fsvg, &from_file, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(from_file, svg);
    g_unlink(jpath);
    g_unlink(png);
    g_unlink(pdf);
    g_unlink(fsvg);
    g_rmdir(dir);
}

/* Hostile or foreign JSON: refused with the file's name and what is wrong. */
static void
test_bad_json(void)
{
    static const struct {
        const char *json, *says;
    } cases[] = {
        { "", "not a sweep summary" },
        { "{\"seeds\": [1], \"points\": [", "not valid JSON" },
        { "[1, 2]", "not a sweep summary" },
        { "{}", "not a sweep summary" },
        { "{\"seeds\": [1], \"points\": []}", "non-empty" },
        { "{\"seeds\": [0], \"points\": [{}]}", "seeds[0]" },
        { "{\"seeds\": [\"1\"], \"points\": [{}]}", "seeds[0]" },
        { "{\"seeds\": [1], \"points\": [7]}", "points[0]" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {}}]}",
          "no statistics" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 1}}}]}",
          "points[0].statistics.x: \"mean\" is missing" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 1, "
          "\"mean\": \"2\", "
          "\"ci95\": 0}}}]}",
          "\"mean\" is not a number" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 0, "
          "\"mean\": 2, "
          "\"ci95\": 0}}}]}",
          "\"n\" must be" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 2, "
          "\"mean\": 2, "
          "\"ci95\": 0, \"replications\": [1]}}}]}",
          "n = 2 numbers" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 1, "
          "\"mean\": 2, "
          "\"ci95\": 0, \"replications\": [null]}}}]}",
          "replications[0]" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {\"k\": 5}, \"statistics\": {}}]}",
          "setting \"k\"" },
        { "{\"seeds\": [1], \"axes\": \"k\", \"points\": [{\"settings\": {}, \"statistics\": {}}]}",
          "\"axes\"" },
        { "{\"seeds\": [1], \"points\": [{\"settings\": {}, \"statistics\": {\"x\": {\"n\": 1, "
          "\"mean\": 2, "
          "\"ci95\": 0}}}, {\"settings\": {}, \"statistics\": {}}]}",
          "points[1]: expected the same 1" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsSweepResults) r =
            ms_sweep_results_load_data(cases[i].json, -1, "bad.json", &error);
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        if (!g_str_has_prefix(error->message, "bad.json: ") ||
            !strstr(error->message, cases[i].says))
            printf("\ncase %u: %s\n", i, error->message);
        CU_ASSERT(g_str_has_prefix(error->message, "bad.json: "));
        CU_ASSERT(strstr(error->message, cases[i].says) != NULL);
    }
    /* the smallest summary that is whole: no axes, no replications */
    static const char ok[] =
        "{\"seeds\": [4], \"points\": [{\"settings\": {}, \"statistics\": {\"delivered\": "
        "{\"n\": 1, \"mean\": 2, \"ci95\": 0}}}]}";
    g_autoptr(MsSweepResults) r = ms_sweep_results_load_data(ok, -1, "ok.json", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    g_autofree char *svg = svg_of(r, NULL);
    CU_ASSERT(strstr(svg, "scenario as written") != NULL);
    /* missing file, and a file of the wrong kind, through the renderer */
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(ms_viz_render_file(MS_VIZ_SWEEP, "no/such/sweep.json", "x.svg", 0, 0, &error));
    CU_ASSERT(error && g_str_has_prefix(error->message, "no/such/sweep.json: "));
    g_clear_error(&error);
    CU_ASSERT_FALSE(ms_viz_render_file(MS_VIZ_SWEEP, LESSON2, "x.svg", 0, 0, &error));
    CU_ASSERT(error && g_str_has_prefix(error->message, LESSON2 ": not valid JSON"));
    CU_ASSERT_FALSE(g_file_test("x.svg", G_FILE_TEST_EXISTS));
}

static const char bench_csv[] = "world,fidelity,messages,us_per_message,events_per_s,peak_rss_kb\n"
                                "small,packet,100000,410.5,900000,500000\n"
                                "small,flow,100000,21.2,800000,300000\n"
                                "medium,flow,1000000,25.9,700000,2500000\n";

static void
test_bench_plot(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsVizCanvas) c =
        ms_viz_bench_worlds(bench_csv, "b.csv", MS_VIZ_FORMAT_SVG, 0, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    g_autofree char *svg = ms_viz_canvas_svg_string(c, TRUE);
    xmlDoc *doc = xmlReadMemory(svg, (int) strlen(svg), "bench.svg", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='series']"), 2);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@id='series-flow']/s:g[@class='bench-point']"),
                    2);
    CU_ASSERT_EQUAL(
        ms_test_xpath_count(doc, "//s:g[@id='series-packet']/s:g[@class='bench-point']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@id='reference']/s:path"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='100k']"), 1); /* log ticks at decades */
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='1M']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='medium 25.9 us']"), 1);
    xmlFreeDoc(doc);
    static const struct {
        const char *csv, *says;
    } bad[] = {
        { "", "b.csv:1: no column 'world'" },
        { "world,fidelity,messages\nsmall,flow,10\n", "no column 'us_per_message'" },
        { "world,fidelity,messages,us_per_message\n", "no benchmark rows" },
        { "world,fidelity,messages,us_per_message\nsmall,flow,10\n", "b.csv:2: expected 4 fields" },
        { "world,fidelity,messages,us_per_message\nsmall,flow,10,x\n",
          "b.csv:2: messages must be" },
        { "world,fidelity,messages,us_per_message\nsmall,flow,0,3\n", "b.csv:2: messages must be" },
        { "world,fidelity,messages,us_per_message\nsmall,flow,nan,3\n",
          "b.csv:2: messages must be" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&error);
        CU_ASSERT_PTR_NULL(
            ms_viz_bench_worlds(bad[i].csv, "b.csv", MS_VIZ_FORMAT_SVG, 0, 0, &error));
        CU_ASSERT(error && strstr(error->message, bad[i].says));
    }
}

/* The commands: sweep --plot and --json, render --kind sweep from the JSON
 * (same bytes), bad outputs and bad inputs. */
static void
test_cli(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-sweepplot-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *plot = g_build_filename(dir, "p.svg", NULL),
                    *json = g_build_filename(dir, "p.json", NULL),
                    *again = g_build_filename(dir, "again.svg", NULL),
                    *csv = g_build_filename(dir, "w.csv", NULL),
                    *bench = g_build_filename(dir, "w.png", NULL);
    const char *m = ms_test_mailsim_path();
    g_autofree char *out = NULL, *err = NULL;
    const char *sweep[] = {
        m,    "sweep",  LESSON2, "--seeds", "1..3", "--set", "fidelity=packet,flow",
        "-q", "--json", json,    "--plot",  plot,   NULL
    };
    CU_ASSERT_EQUAL(ms_test_spawn(sweep, &out, &err), 0);
    CU_ASSERT(out && g_str_has_prefix(out, plot));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *render[] = { m, "render", json, "--kind", "sweep", "-o", again, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(render, &out, &err), 0);
    g_autofree char *a = NULL, *b = NULL;
    CU_ASSERT(g_file_get_contents(plot, &a, NULL, NULL) &&
              g_file_get_contents(again, &b, NULL, NULL));
    CU_ASSERT(a && b && strcmp(a, b) == 0);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* by axis, from the JSON; an axis it lacks is refused */
    const char *by[] = {
        m, "render", json, "--kind", "sweep", "--x", "fidelity", "-o", again, NULL
    };
    CU_ASSERT_EQUAL(ms_test_spawn(by, &out, &err), 0);
    g_autofree char *c = NULL;
    CU_ASSERT(g_file_get_contents(again, &c, NULL, NULL));
    CU_ASSERT(c && strstr(c, "panel-latency_mean_s-1"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *bybad[] = { m,         "render", json, "--kind", "sweep",
                            "--split", "nope",   "-o", again,    NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(bybad, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "no axis 'nope'"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* a picture of a file that is not a sweep: exit 2, the file named */
    const char *wrong[] = { m, "render", LESSON2, "--kind", "sweep", "-o", again, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(wrong, &out, &err), 2);
    CU_ASSERT(err && strstr(err, LESSON2 ": not valid JSON"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *missing[] = { m, "render", "--kind", "sweep", "-o", again, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(missing, &out, &err), 2);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *badplot[] = { m, "sweep", LESSON2, "--plot", "p.gif", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(badplot, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "--plot"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    CU_ASSERT(g_file_set_contents(csv, bench_csv, -1, NULL));
    const char *benchr[] = { m, "render", csv, "--kind", "bench", "-o", bench, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(benchr, &out, &err), 0);
    CU_ASSERT(g_file_test(bench, G_FILE_TEST_EXISTS));
    const char *const files[] = { plot, json, again, csv, bench };
    for (guint i = 0; i < G_N_ELEMENTS(files); i++)
        g_unlink(files[i]);
    g_rmdir(dir);
}

/* By axis: a hand-made sweep of 3 x 2 x 2 points; x = n (10, 100, 1000:
 * a log axis), one column per value of f, a series per value of g. */
static void
test_small_multiples(void)
{
    GString *j = g_string_new("{\"title\": \"Hand-made\", \"axes\": [\"n\", \"f\", \"g\"], "
                              "\"seeds\": [1, 2], \"points\": [");
    static const char *const ns[] = { "10", "100", "1000" }, *const fs[] = { "packet", "flow" },
                             *const gs[] = { "a", "b" };
    guint p = 0;
    for (guint i = 0; i < 3; i++)
        for (guint k = 0; k < 2; k++)
            for (guint m = 0; m < 2; m++, p++)
                g_string_append_printf(
                    j,
                    "%s{\"settings\": {\"n\": \"%s\", \"f\": \"%s\", \"g\": \"%s\"}, "
                    "\"statistics\": {\"delivered\": {\"n\": 2, \"mean\": %u, \"ci95\": 1, "
                    "\"replications\": [%u, %u]}, \"latency_mean_s\": {\"n\": 2, \"mean\": 2, "
                    "\"ci95\": 3, \"replications\": [1, 3]}}}",
                    p ? ", " : "", ns[i], fs[k], gs[m], p, p, p);
    g_string_append(j, "]}");
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweepResults) r = ms_sweep_results_load_data(j->str, -1, "hand.json", &error);
    g_string_free(j, TRUE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(ms_sweep_results_title(r), "Hand-made");
    g_autoptr(MsVizCanvas) c = ms_viz_sweep_by(r, NULL, "n", "f", MS_VIZ_FORMAT_SVG, 0, 0, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    g_autofree char *svg = ms_viz_canvas_svg_string(c, TRUE);
    g_autoptr(MsVizCanvas) c2 = ms_viz_sweep_by(r, NULL, "n", "f", MS_VIZ_FORMAT_SVG, 0, 0, NULL);
    g_autofree char *svg2 = ms_viz_canvas_svg_string(c2, TRUE);
    CU_ASSERT_STRING_EQUAL(svg, svg2);
    xmlDoc *doc = xmlReadMemory(svg, (int) strlen(svg), "by.svg", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    /* 2 statistics x 2 values of f; 2 series (g) per panel; 3 points each */
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@class='panel']"), 4);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@id='panel-delivered-2']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:g[@id='panel-delivered-2']/s:g[@class='series']"),
                    2);
    CU_ASSERT_EQUAL(
        ms_test_xpath_count(doc, "//s:g[@id='panel-delivered-2-series-1']/s:g[@class='point']"), 3);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='n (log scale)']"), 4);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='g=a']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='Recipients delivered, f=flow']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='Hand-made']"), 1);
    CU_ASSERT_EQUAL(ms_test_xpath_count(doc, "//s:text[.='1k']"), 4); /* log ticks */
    xmlFreeDoc(doc);
    /* without a split: one column; x chosen as the first varying axis */
    g_autoptr(MsVizCanvas) c3 = ms_viz_sweep_by(r, NULL, NULL, "g", MS_VIZ_FORMAT_SVG, 0, 0, NULL);
    g_autofree char *svg3 = ms_viz_canvas_svg_string(c3, TRUE);
    CU_ASSERT(strstr(svg3, "n (log scale)") != NULL);
    /* errors */
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    CU_ASSERT_PTR_NULL(ms_viz_sweep_by(r, NULL, "m", NULL, MS_VIZ_FORMAT_SVG, 0, 0, &e1));
    CU_ASSERT(e1 && strstr(e1->message, "no axis 'm'"));
    CU_ASSERT_PTR_NULL(ms_viz_sweep_by(r, NULL, "n", "n", MS_VIZ_FORMAT_SVG, 0, 0, &e2));
    CU_ASSERT(e2 && strstr(e2->message, "both x and the split"));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "results of a run", test_results },
        { "SVG, PNG, PDF; same bytes for jobs 1 and 2 and from JSON", test_formats },
        { "hostile JSON", test_bad_json },
        { "benchmark worlds plot", test_bench_plot },
        { "sweep --plot, render --kind sweep|bench", test_cli },
        { "by axis: small multiples, series, log axis", test_small_multiples },
        { NULL, NULL },
    };
    return ms_test_main("sweep_plot", cases);
}
