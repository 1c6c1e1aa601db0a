/* Experiments: scenario overrides by XPath at load time
 * (include/mailsim/scenario_override.h), experiment files and their schema
 * errors with file:line (include/mailsim/experiment.h), sweeps built from
 * them, comparisons of two grid points (include/mailsim/sweep_compare.h),
 * the shipped experiments of scenarios/experiments/, and `mailsim sweep
 * EXPERIMENT.xml` / `mailsim compare` end to end. Run from the repository
 * root. */
#include "testlib.h"
#include "mailsim/experiment.h"
#include "mailsim/scenario_override.h"
#include "mailsim/sweep.h"
#include "mailsim/sweep_compare.h"
#include "mailsim/sweep_results.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define LESSON2 "scenarios/teaching/02-packets.xml"

static char *
read_text(const char *path)
{
    char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static MsScenario *
load_with(const char *path, const MsScenarioOverride *o, guint n, GError **error)
{
    g_autofree char *text = read_text(path);
    return ms_scenario_load_memory_with(text, strlen(text), path, o, n, error);
}

static const MsScenarioLink *
link_between(const MsScenario *sc, const char *a, const char *b)
{
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (!strcmp(g_array_index(sc->hosts, MsScenarioHost, l->a).id, a) &&
            !strcmp(g_array_index(sc->hosts, MsScenarioHost, l->b).id, b))
            return l;
    }
    return NULL;
}

static void
test_overrides(void)
{
    g_autoptr(GError) error = NULL;
    /* an attribute written in the file, one left at its default (added),
     * and several links at once */
    MsScenarioOverride o[] = {
        { "//link[@a='r-core1'][@b='r-core2']/@loss", "5%" },
        { "//link[@a='pc-alice']/@loss", "0.25" },
        { "//link[@b='dns']/@latency", "7ms" },
        { "/scenario/@until", "42min" },
    };
    g_autoptr(MsScenario) sc = load_with(LESSON2, o, G_N_ELEMENTS(o), &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_DOUBLE_EQUAL(link_between(sc, "r-core1", "r-core2")->loss, 0.05, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(link_between(sc, "pc-alice", "r-isp")->loss, 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(link_between(sc, "r-isp", "smtp-isp")->loss, 0, 0);
    CU_ASSERT_EQUAL(link_between(sc, "r-core1", "dns")->latency, 7 * MS_TIME_MS);
    CU_ASSERT_EQUAL(sc->until, 42 * 60 * MS_TIME_S);
    /* without overrides, as written */
    g_autoptr(MsScenario) plain = load_with(LESSON2, NULL, 0, &error);
    CU_ASSERT_DOUBLE_EQUAL(link_between(plain, "r-core1", "r-core2")->loss, 0.02, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(link_between(plain, "pc-alice", "r-isp")->loss, 0, 0);

    /* a generated world: <generate>'s own attributes first, then the
     * generated links (selecting nothing as written) */
    static const char gen[] =
        "<scenario version=\"1\" name=\"g\" seed=\"5\">\n"
        "  <generate topology=\"transit-stub\" domains=\"4\" routers=\"20\" users=\"10\" "
        "messages=\"30\" duration=\"1h\" seed=\"5\"/>\n"
        "</scenario>\n";
    MsScenarioOverride g[] = { { "//generate/@domains", "7" }, { "//link/@loss", "1%" } };
    g_autoptr(MsScenario) gsc =
        ms_scenario_load_memory_with(gen, strlen(gen), "gen.xml", g, 2, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gsc);
    CU_ASSERT_EQUAL(gsc->mailservers->len >= 7, TRUE);
    for (guint i = 0; i < gsc->links->len; i++)
        CU_ASSERT_DOUBLE_EQUAL(g_array_index(gsc->links, MsScenarioLink, i).loss, 0.01, 1e-12);

    /* errors: each names the XPath, or the file and line of the value */
    static const struct {
        MsScenarioOverride o;
        const char *says;
    } bad[] = {
        { { "//nothing/@x", "1" }, "gen.xml: //nothing/@x selects nothing in this scenario" },
        { { "//generate", "1" }, "gen.xml:2: //generate selects element 'generate'" },
        { { "//generate/@domains", "many" }, "gen.xml:2: element 'generate' attribute 'domains'" },
        { { "//generate/@colour", "red" },
          "gen.xml:2: //generate/@colour: element 'generate' has no attribute 'colour'" },
        { { "//generate/@domain", "5" }, "did you mean 'domains'" },
        { { "//generate[", "1" }, "//generate[: " },
        { { "1 + 1", "1" }, "gives a value, not nodes" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        g_autoptr(MsScenario) s =
            ms_scenario_load_memory_with(gen, strlen(gen), "gen.xml", &bad[i].o, 1, &e);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        if (!strstr(e->message, bad[i].says))
            g_printerr("%s: got '%s'\n", bad[i].o.select, e->message);
        CU_ASSERT(strstr(e->message, bad[i].says) != NULL);
    }
    g_autoptr(GError) e2 = NULL;
    CU_ASSERT(ms_scenario_xpath_check("//link[@a='x']/@loss", NULL));
    CU_ASSERT_FALSE(ms_scenario_xpath_check("//link[@a=", &e2));
    CU_ASSERT(e2 && strstr(e2->message, "is not an XPath expression"));
}

/* --- experiment files ------------------------------------------------------ */

#define HEAD "<?xml version=\"1.0\"?>\n"

static void
test_experiment_files(void)
{
    static const char good[] =
        HEAD "<experiment version=\"1\" name=\"t\" seeds=\"1..2\" max-points=\"9\">\n"
             "  <title>T</title>\n"
             "  <scenario file=\"../teaching/02-packets.xml\" label=\"two\"/>\n"
             "  <axis name=\"loss\" select=\"//link[@a='r-core1']/@loss\" values=\"0,1%\"/>\n"
             "  <zip>\n"
             "    <axis key=\"until\" values=\"1h,2h\"/>\n"
             "    <axis key=\"policy.retry-first\" values=\"1min,2min\"/>\n"
             "  </zip>\n"
             "  <statistic name=\"delivered\"/>\n"
             "  <statistic name=\"latency_mean_s\"/>\n"
             "  <output results=\"R\" csv=\"s.csv\" tidy=\"t.csv\" json=\"j.json\" plot=\"p.svg\" "
             "x=\"loss\" split=\"until\"/>\n"
             "</experiment>\n";
    const char *path = "scenarios/experiments/t.xml";
    g_autoptr(GError) error = NULL;
    CU_ASSERT(ms_experiment_sniff(good, strlen(good)));
    CU_ASSERT(ms_experiment_sniff("<!-- x --><experiment>", 22));
    CU_ASSERT_FALSE(ms_experiment_sniff("<scenario version=\"1\"/>", 23));
    CU_ASSERT_FALSE(ms_experiment_sniff("<experiments/>", 14));
    g_autoptr(MsExperiment) e = ms_experiment_load_memory(good, strlen(good), path, &error);
    if (!e)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->name, "t");
    CU_ASSERT_STRING_EQUAL(e->title, "T");
    CU_ASSERT_STRING_EQUAL(e->seeds, "1..2");
    CU_ASSERT_EQUAL(e->max_points, 9);
    CU_ASSERT_EQUAL(e->scenarios->len, 1);
    const MsExperimentScenario *s = e->scenarios->pdata[0];
    CU_ASSERT_STRING_EQUAL(s->path, "scenarios/experiments/../teaching/02-packets.xml");
    CU_ASSERT_EQUAL(e->dims->len, 2);
    CU_ASSERT_EQUAL(((GPtrArray *) e->dims->pdata[1])->len, 2);
    CU_ASSERT_EQUAL(e->statistics->len, 2);
    CU_ASSERT_STRING_EQUAL(e->plot_split, "until");
    g_autoptr(MsSweep) sw = ms_sweep_new_from_experiment(e, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sw);
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 4);
    CU_ASSERT_EQUAL(ms_sweep_n_seeds(sw), 2);
    CU_ASSERT_EQUAL(ms_sweep_n_stats(sw), 2);
    CU_ASSERT_STRING_EQUAL(ms_sweep_name(sw), "t");
    CU_ASSERT(ms_sweep_check(sw, &error));

    /* bad files: every problem with its line */
    static const struct {
        const char *xml, *says;
    } bad[] = {
        { HEAD "<experiment name=\"x\">\n  <scenario file=\"a.xml\"/>\n  <axis values=\"1\"/>\n"
               "</experiment>\n",
          "t.xml:4: element 'axis': not allowed by the schema" },
        { HEAD "<experiment name=\"x\">\n  <axis key=\"until\" values=\"1h\"/>\n</experiment>\n",
          "t.xml:2: element 'experiment': not allowed by the schema" },
        { HEAD "<experiment name=\"x\">\n  <scenario file=\"a.xml\"/>\n  <colour/>\n"
               "</experiment>\n",
          "t.xml:4: element 'colour': not allowed by the schema" },
        { HEAD "<experiment version=\"2\" name=\"x\"><scenario file=\"a.xml\"/></experiment>\n",
          "t.xml:2: element 'experiment' attribute 'version': version 2 is not supported" },
        { HEAD "<experiment name=\"x\" seeds=\"1..3\" replications=\"4\">\n"
               "<scenario file=\"a.xml\"/></experiment>\n",
          "t.xml:2: element 'experiment': not allowed by the schema" },
        { HEAD "<experiment name=\"x\">\n  <scenario file=\"a.xml\"/>\n"
               "  <zip><axis key=\"until\" values=\"1h\"/></zip>\n</experiment>\n",
          "t.xml:4: element 'zip': not allowed by the schema" },
        { HEAD "<experiment name=\"x\">\n<scenario file=\"a.xml\"/>\n"
               "<axis name=\"a\" key=\"until\" values=\"1h\"/>\n"
               "<axis name=\"a\" key=\"fidelity\" values=\"flow\"/>\n</experiment>\n",
          "t.xml:5: element 'axis': the name 'a' is used twice" },
        { HEAD "<!DOCTYPE experiment [<!ENTITY e \"x\">]>\n<experiment name=\"x\"/>\n",
          "t.xml:2: DOCTYPE declares entity 'e'" },
        { HEAD "<experiment name=\"x\">\n  <scenario file=\"a.xml\">\n</experiment>\n",
          "t.xml:4: malformed XML" },
        { HEAD "<scenario version=\"1\" name=\"x\"/>\n",
          "t.xml:2: the root element must be <experiment>" },
        { "", "t.xml: empty file" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(MsExperiment) b =
            ms_experiment_load_memory(bad[i].xml, strlen(bad[i].xml), path, &err);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        if (!strstr(err->message, bad[i].says))
            g_printerr("case %u: got '%s'\n", i, err->message);
        CU_ASSERT(strstr(err->message, bad[i].says) != NULL);
    }

    /* what the sweep refuses, with the experiment's line */
    static const struct {
        const char *xml, *says;
    } meaning[] = {
        { HEAD "<experiment name=\"x\">\n<scenario file=\"nowhere.xml\"/>\n</experiment>\n",
          "t.xml:3: scenario nowhere.xml:" },
        { HEAD "<experiment name=\"x\">\n<scenario file=\"../teaching/02-packets.xml\"/>\n"
               "<axis select=\"//link/@loss\" values=\"1..2\"/>\n</experiment>\n",
          "t.xml:4: axis loss: range '1..2': expected A..B/N" },
        { HEAD "<experiment name=\"x\">\n<scenario file=\"../teaching/02-packets.xml\"/>\n"
               "<axis key=\"colour\" values=\"1\"/>\n</experiment>\n",
          "t.xml:4: --set colour: unknown key" },
        { HEAD "<experiment name=\"x\">\n<scenario file=\"../teaching/02-packets.xml\"/>\n"
               "<statistic name=\"delivered\"/>\n<statistic name=\"speed\"/>\n</experiment>\n",
          "t.xml:4: statistic 'speed' is unknown" },
        { HEAD "<experiment name=\"x\">\n<scenario file=\"../teaching/02-packets.xml\"/>\n"
               "<zip><axis key=\"until\" values=\"1h,2h\"/>\n"
               "<axis key=\"fidelity\" values=\"flow\"/></zip>\n</experiment>\n",
          "t.xml:4: zipped axes vary together" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(meaning); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(MsExperiment) b =
            ms_experiment_load_memory(meaning[i].xml, strlen(meaning[i].xml), path, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        g_autoptr(MsSweep) bs = ms_sweep_new_from_experiment(b, &err);
        CU_ASSERT_PTR_NULL(bs);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        if (!strstr(err->message, meaning[i].says))
            g_printerr("meaning %u: got '%s'\n", i, err->message);
        CU_ASSERT(strstr(err->message, meaning[i].says) != NULL);
    }
}

/* The shipped experiments read, build and (the two small ones) pass the
 * checks that come before running. */
static void
test_shipped_experiments(void)
{
    static const char *const files[] = { "scenarios/experiments/loss-latency.xml",
                                         "scenarios/experiments/greylisting.xml",
                                         "scenarios/experiments/medium-rates.xml" };
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(MsExperiment) e = ms_experiment_load_file(files[i], &error);
        if (!e)
            g_printerr("%s\n", error->message);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_PTR_NOT_NULL(e->plot);
        CU_ASSERT_PTR_NOT_NULL(e->results);
        g_autoptr(MsSweep) sw = ms_sweep_new_from_experiment(e, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sw);
        CU_ASSERT(ms_sweep_n_points(sw) * ms_sweep_n_seeds(sw) <= 60);
        if (i < 2) {
            CU_ASSERT(ms_sweep_check(sw, &error));
        }
    }
}

/* --- comparisons ------------------------------------------------------------ */

static const char compare_json[] =
    "{\"axes\": [\"k\"], \"seeds\": [1, 2, 3, 4], \"points\": [\n"
    " {\"settings\": {\"k\": \"a\"}, \"statistics\": {\"x\": {\"n\": 4, \"mean\": 2.5, \"ci95\": "
    "0, \"replications\": [1, 2, 3, 4]},\n"
    "   \"same\": {\"n\": 4, \"mean\": 1, \"ci95\": 0, \"replications\": [1, 1, 1, 1]}}},\n"
    " {\"settings\": {\"k\": \"b\"}, \"statistics\": {\"x\": {\"n\": 4, \"mean\": 4, \"ci95\": "
    "0, \"replications\": [2, 4, 5, 5]},\n"
    "   \"same\": {\"n\": 4, \"mean\": 1, \"ci95\": 0, \"replications\": [1, 1, 1, 1]}}}]}\n";

static void
test_compare(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweepResults) r = ms_sweep_results_load_data(compare_json, -1, "c.json", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    MsSweepComparison c;
    /* paired: d = 1, 2, 2, 1; mean 1.5, sd 0.57735, se 0.288675, t(0.975, 3)
     * = 3.182446: 1.5 +/- 0.918693; t = 5.196152, p = 0.013846 */
    CU_ASSERT_FATAL(ms_sweep_compare(r, 0, r, 1, "x", FALSE, &c, &error));
    CU_ASSERT(c.paired && c.defined && c.significant);
    CU_ASSERT_DOUBLE_EQUAL(c.diff, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.df, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.lo, 1.5 - 0.918693, 2e-6);
    CU_ASSERT_DOUBLE_EQUAL(c.hi, 1.5 + 0.918693, 2e-6);
    CU_ASSERT_DOUBLE_EQUAL(c.p, 0.013846, 2e-6);
    /* Welch: variances 5/3 and 2, n 4 and 4: se = sqrt(5/12 + 1/2) =
     * 0.957427, df = (11/12)^2 / ((5/12)^2/3 + (1/2)^2/3) = 363/61 */
    CU_ASSERT_FATAL(ms_sweep_compare(r, 0, r, 1, "x", TRUE, &c, &error));
    CU_ASSERT(!c.paired && c.defined && !c.significant);
    CU_ASSERT_DOUBLE_EQUAL(c.df, 363.0 / 61, 1e-12);
    double half = (c.hi - c.lo) / 2;
    CU_ASSERT_DOUBLE_EQUAL(half / sqrt(11.0 / 12), ms_sweep_t_quantile(0.975, 363.0 / 61), 1e-9);
    CU_ASSERT(half / sqrt(11.0 / 12) > 2.4469 &&
              half / sqrt(11.0 / 12) < 2.5706); /* t(6) < t < t(5) */
    CU_ASSERT(c.p > 0.05 && c.p < 0.2);
    /* no difference at all, and no variance: 0, not significant */
    CU_ASSERT_FATAL(ms_sweep_compare(r, 0, r, 1, "same", FALSE, &c, &error));
    CU_ASSERT(c.defined && !c.significant && c.lo == 0 && c.hi == 0 && c.p == 1);
    CU_ASSERT_FALSE(ms_sweep_compare(r, 0, r, 1, "nope", FALSE, &c, &error));
    g_clear_error(&error);

    /* grid points by number or settings */
    CU_ASSERT_EQUAL(ms_sweep_results_find_point(r, "1", NULL), 1);
    CU_ASSERT_EQUAL(ms_sweep_results_find_point(r, "k=a", NULL), 0);
    static const struct {
        const char *spec, *says;
    } bad[] = {
        { "2", "points 0 to 1" },
        { "k=c", "matches no point" },
        { "z=a", "no axis 'z' (the axes: k)" },
        { "k", "expected a point number or AXIS=VALUE" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) e = NULL;
        CU_ASSERT_EQUAL(ms_sweep_results_find_point(r, bad[i].spec, &e), -1);
        CU_ASSERT(e && strstr(e->message, bad[i].says));
    }
}

/* --- the command line ------------------------------------------------------- */

static void
test_cli(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-exp-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *exp = g_build_filename(dir, "e.xml", NULL),
                    *results = g_build_filename(dir, "R", NULL),
                    *json = g_build_filename(dir, "e.json", NULL),
                    *tidy = g_build_filename(dir, "e.csv", NULL),
                    *plot = g_build_filename(dir, "e.svg", NULL);
    g_autofree char *text = g_strdup_printf(
        HEAD "<experiment name=\"cli\" seeds=\"1..3\">\n"
             "  <scenario file=\"%s/" LESSON2 "\"/>\n"
             "  <axis name=\"loss\" select=\"//link[@a='r-core1'][@b='r-core2']/@loss\" "
             "values=\"0%%,4%%\"/>\n"
             "  <statistic name=\"latency_mean_s\"/>\n"
             "  <statistic name=\"packets_dropped\"/>\n"
             "  <output results=\"%s\" json=\"%s\" tidy=\"%s\" plot=\"%s\" x=\"loss\"/>\n"
             "</experiment>\n",
        cwd, results, json, tidy, plot);
    CU_ASSERT_FATAL(g_file_set_contents(exp, text, -1, NULL));
    const char *m = ms_test_mailsim_path();
    g_autofree char *out = NULL, *err = NULL;
    const char *run[] = { m, "sweep", exp, "-q", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(run, &out, &err), 0);
    CU_ASSERT(err && strstr(err, "running all 6 runs"));
    CU_ASSERT(err && strstr(err, "6/6 runs done"));
    g_autofree char *t1 = read_text(tidy);
    CU_ASSERT(g_str_has_prefix(t1, "experiment,point,loss,seed,statistic,value\n"
                                   "cli,0,0%,1,latency_mean_s,"));
    CU_ASSERT(g_file_test(plot, G_FILE_TEST_EXISTS));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    /* again: nothing runs, the same bytes */
    CU_ASSERT_EQUAL(ms_test_spawn(run, &out, &err), 0);
    CU_ASSERT(err && strstr(err, "all 6 runs are stored; nothing to run"));
    g_autofree char *t2 = read_text(tidy);
    CU_ASSERT_STRING_EQUAL(t1, t2);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* --dry-run: the grid and what is stored, nothing run */
    const char *dry[] = { m, "sweep", exp, "--dry-run", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(dry, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "2 grid points x 3 seeds (1, 2, 3)\n"
                                 "point 0: loss=0% (3 of 3 runs stored)\n"
                                 "point 1: loss=4% (3 of 3 runs stored)\n"
                                 "6 runs: 6 stored, 0 to run\n"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_autofree char *dryres = g_build_filename(dir, "dry", NULL);
    const char *dry2[] = { m,
                           "sweep",
                           LESSON2,
                           "--set",
                           "until=1min..3min/3",
                           "--zip",
                           "//link[@a='pc-alice']/@loss=0,1%;policy.give-up=1h,2h",
                           "-n",
                           "-r",
                           dryres,
                           NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(dry2, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "point 5: until=3min, loss=1%, policy.give-up=2h (0 of 1 runs "
                                 "stored)\n6 runs: 0 stored, 6 to run\n"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    CU_ASSERT_FALSE(g_file_test(dryres, G_FILE_TEST_EXISTS)); /* nothing written */

    /* compare the two points: more loss, more drops, significantly */
    const char *cmp[] = { m, "compare", json, "loss=0%", "1", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(cmp, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "A: point 0 (loss=0%)"));
    CU_ASSERT(out && strstr(out, "Paired by seed (3 seeds)"));
    CU_ASSERT(out && g_regex_match_simple("\npackets_dropped .* yes\n", out, 0, 0));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *cmpbad[] = { m, "compare", json, "loss=9%", "1", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(cmpbad, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "matches no point"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* "-" is standard output, and nothing is replaced by a file */
    const char *dash[] = { m, "sweep", exp, "-q", "--tidy", "-", "--json", "", NULL };
    dash[7] = json;
    CU_ASSERT_EQUAL(ms_test_spawn(dash, &out, &err), 0);
    CU_ASSERT(out && g_str_has_prefix(out, t1)); /* then the plot's path */
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_autofree char *target = g_build_filename(dir, "target.csv", NULL),
                    *link = g_build_filename(dir, "link.csv", NULL);
    CU_ASSERT(g_file_set_contents(target, "", 0, NULL) && symlink(target, link) == 0);
    const char *via[] = { m, "sweep", exp, "-q", "--tidy", link, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(via, &out, &err), 0);
    CU_ASSERT(g_file_test(link, G_FILE_TEST_IS_SYMLINK)); /* written through, not replaced */
    g_autofree char *t3 = read_text(target);
    CU_ASSERT_STRING_EQUAL(t3, t1);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* mailsim validate knows experiments too */
    const char *val[] = { m, "validate", exp, "scenarios/experiments/greylisting.xml", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(val, &out, &err), 0);
    CU_ASSERT(out && strstr(out, "e.xml: ok (experiment: 2 grid points x 3 seeds)\n"));
    CU_ASSERT(out && strstr(out, "greylisting.xml: ok (experiment: 18 grid points x 1 seeds)"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_autofree char *badexp = g_build_filename(dir, "bad.xml", NULL);
    g_autofree char *badtext =
        g_strdup_printf(HEAD "<experiment name=\"b\">\n<scenario file=\"%s/" LESSON2 "\"/>\n"
                             "<axis select=\"//link/@loss\" values=\"0,3\"/>\n</experiment>\n",
                        cwd);
    CU_ASSERT(g_file_set_contents(badexp, badtext, -1, NULL));
    const char *val2[] = { m, "validate", badexp, NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(val2, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "axis loss = 3 (//link/@loss)"));
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);

    /* refusals before anything runs (exit 2, no results folder made) */
    g_autofree char *fresh = g_build_filename(dir, "fresh", NULL);
    struct {
        const char *argv[12];
        const char *says;
        const char *mpirun_size; /* as if started by mpirun -np N */
    } bad[] = {
        { { m, "sweep", exp, "--set", "until=1h", NULL }, "is an experiment", NULL },
        { { m, "sweep", exp, "--x", "speed", NULL }, "--x: 'speed' is not an axis", NULL },
        { { m, "sweep", LESSON2, "--set", "until=1h..10h/10", "--set",
            "policy.retry-first=1min..30min/30", "-r", fresh, NULL },
          "300 points (300 runs), more than the limit of 200",
          NULL },
        { { m, "sweep", LESSON2, "--set", "//link/@loss=0,1.5", "-r", fresh, NULL },
          "axis loss = 1.5 (//link/@loss)",
          NULL },
        { { m, "sweep", LESSON2, "--set", "//link[/@loss=1", "-r", fresh, NULL },
          "is not an XPath expression",
          NULL },
        { { m, "sweep", LESSON2, "--set", "//link/@latency=5..1ms/3", "-r", fresh, NULL },
          "different units",
          NULL },
        { { m, "sweep", LESSON2, "-r", fresh, NULL }, "add --mpi", "3" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (bad[i].mpirun_size)
            g_setenv("OMPI_COMM_WORLD_SIZE", bad[i].mpirun_size, TRUE);
        CU_ASSERT_EQUAL(ms_test_spawn(bad[i].argv, &out, &err), 2);
        g_unsetenv("OMPI_COMM_WORLD_SIZE");
        if (!err || !strstr(err, bad[i].says))
            g_printerr("case %u: got '%s'\n", i, err ? err : "");
        CU_ASSERT(err && strstr(err, bad[i].says));
        CU_ASSERT_FALSE(g_file_test(fresh, G_FILE_TEST_EXISTS));
        g_clear_pointer(&out, g_free);
        g_clear_pointer(&err, g_free);
    }
    /* --yes lets the large grid through the check (nothing is run here:
     * --max-points is the same test with a raised limit) */
    const char *yes[] = { m,   "sweep", LESSON2, "--set", "until=1min", "--max-points",
                          "1", "-q",    NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(yes, &out, &err), 0);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *over[] = { m,   "sweep", LESSON2, "--set", "until=1min,2min", "--max-points",
                           "1", "-q",    NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(over, &out, &err), 2);
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    const char *over_yes[] = { m,    "sweep",        LESSON2, "--set", "until=1min,2min",
                               "-q", "--max-points", "1",     "--yes", NULL };
    CU_ASSERT_EQUAL(ms_test_spawn(over_yes, &out, &err), 0);

    /* clean up */
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autofree char *runs = g_build_filename(results, "runs", NULL);
    g_autoptr(GDir) rd = g_dir_open(runs, 0, NULL);
    for (const char *n; rd && (n = g_dir_read_name(rd));) {
        g_autofree char *p = g_build_filename(runs, n, NULL);
        g_unlink(p);
    }
    g_rmdir(runs);
    g_rmdir(results);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        g_unlink(p);
    }
    g_rmdir(dir);
}

static const MsTestCase cases[] = {
    { "overrides by XPath at load time", test_overrides },
    { "experiment files", test_experiment_files },
    { "the shipped experiments", test_shipped_experiments },
    { "comparisons", test_compare },
    { "mailsim sweep EXPERIMENT, mailsim compare", test_cli },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("experiment", cases);
}
