/* Sweeps (include/mailsim/sweep.h): results do not depend on the number of
 * threads nor on interruptions (the results folder); settings change what
 * they should, by short key or by XPath; ranges expand as documented; zipped
 * axes vary together; the Student t quantiles match the tables; bad
 * settings are refused with a message naming the axis before anything
 * runs; runs of another version are refused or run again, never mixed. */
#include "testlib.h"
#include "mailsim/sweep.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static const char world[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"sweep-test\" seed=\"5\" until=\"2h\" keep-bodies=\"false\">\n"
    "  <generate topology=\"transit-stub\" domains=\"6\" routers=\"40\" users=\"60\" "
    "messages=\"300\" "
    "duration=\"1h\" seed=\"5\" outages=\"1\"/>\n"
    "</scenario>\n";

#define LESSON2 "scenarios/teaching/02-packets.xml"

static MsSweep *
new_sweep(void)
{
    g_autoptr(GError) error = NULL;
    MsSweep *sw = ms_sweep_new();
    gboolean ok =
        ms_sweep_add_scenario_data(sw, "sweep-test.xml", NULL, world, strlen(world), &error);
    if (!ok)
        g_printerr("%s\n", error->message);
    CU_ASSERT_FATAL(ok);
    return sw;
}

static char *
sweep_csv(guint jobs, gboolean keep_records, char **json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = new_sweep();
    ms_sweep_set_keep_records(sw, keep_records);
    CU_ASSERT(ms_sweep_set_seeds(sw, "1..5", &error));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=packet,flow", &error));
    CU_ASSERT(ms_sweep_set(sw, "policy.retry-first=1min,10min", &error));
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 4);
    CU_ASSERT(ms_sweep_run(sw, jobs, NULL, NULL, &error));
    GString *csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    GString *js = g_string_new(NULL);
    ms_sweep_json(sw, js);
    *json = g_string_free(js, FALSE);
    return g_string_free(csv, FALSE);
}

static void
test_jobs_do_not_change_results(void)
{
    g_autofree char *j1 = NULL, *j3 = NULL;
    g_autofree char *one = sweep_csv(1, FALSE, &j1);
    g_autofree char *three = sweep_csv(3, FALSE, &j3);
    CU_ASSERT_STRING_EQUAL(one, three);
    CU_ASSERT_STRING_EQUAL(j1, j3);
    /* Jobs fold finished records by default; below the sketch's exact
     * limit the quantiles, and so every figure, are those of a run that
     * keeps every record. */
    g_autofree char *jk = NULL;
    g_autofree char *kept = sweep_csv(2, TRUE, &jk);
    CU_ASSERT_STRING_EQUAL(one, kept);
    CU_ASSERT_STRING_EQUAL(j1, jk);
    /* header + 4 points x 18 statistics */
    g_auto(GStrv) lines = g_strsplit(one, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 1 + 4 * 18 + 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "experiment,point,fidelity,policy.retry-first,statistic,n,"
                                     "mean,ci95,ci95_low,ci95_high,sd,min,max");
    CU_ASSERT(g_str_has_prefix(lines[1], ",0,packet,1min,messages,5,"));
    /* different seeds give different runs: the events vary */
    gboolean varies = FALSE;
    for (char **l = lines; *l; l++)
        if (strstr(*l, ",events,5,")) {
            g_auto(GStrv) f = g_strsplit(*l, ",", -1);
            varies |= g_ascii_strtod(f[7], NULL) > 0; /* ci95 */
        }
    CU_ASSERT(varies);
    CU_ASSERT(strstr(j1, "{\"point\": 3, \"settings\": {\"fidelity\": \"flow\", "
                         "\"policy.retry-first\": \"10min\"}") != NULL);
}

/* The value of `stat` (a summary CSV column: 8 = mean) at the row whose
 * first fields after "experiment,point," are `prefix`. */
static double
csv_value(const char *csv, const char *prefix, const char *stat)
{
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    g_autofree char *want = g_strdup_printf("%s,%s,", prefix, stat);
    for (char **l = lines; *l; l++) {
        const char *p = strchr(*l, ',');
        p = p ? strchr(p + 1, ',') : NULL;
        if (p && g_str_has_prefix(p + 1, want)) {
            g_auto(GStrv) f = g_strsplit(p + 1 + strlen(want), ",", -1);
            return g_ascii_strtod(f[1], NULL); /* n, then mean */
        }
    }
    return NAN;
}

/* Stopping earlier delivers fewer messages. */
static void
test_until_axis(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = new_sweep();
    CU_ASSERT(ms_sweep_set(sw, "until=20min,2h", &error));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=flow", &error));
    CU_ASSERT(ms_sweep_run(sw, 2, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    double early = csv_value(csv->str, "20min,flow", "delivered"),
           late = csv_value(csv->str, "2h,flow", "delivered");
    CU_ASSERT(early > 0);
    CU_ASSERT(late > early);
    g_autoptr(GString) table = g_string_new(NULL);
    ms_sweep_table(sw, table);
    CU_ASSERT(strstr(table->str, "until=20min, fidelity=flow (1 replication)") != NULL);
}

/* An XPath axis reaches an attribute of the file (loss on lesson 2's lossy
 * link, in percent) and one of <generate> (the number of messages). */
static void
test_xpath_axes(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new();
    CU_ASSERT_FATAL(ms_sweep_add_scenario_file(sw, LESSON2, NULL, &error));
    CU_ASSERT_FATAL(ms_sweep_set(sw, "//link[@a='r-core1'][@b='r-core2']/@loss=0%,5%", &error));
    CU_ASSERT_STRING_EQUAL(ms_sweep_axis_name(sw, 0), "loss");
    CU_ASSERT_FATAL(ms_sweep_run(sw, 1, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    CU_ASSERT_EQUAL(csv_value(csv->str, "0%", "packets_dropped"), 0);
    CU_ASSERT(csv_value(csv->str, "5%", "packets_dropped") > 0);
    CU_ASSERT(csv_value(csv->str, "5%", "latency_mean_s") >
              csv_value(csv->str, "0%", "latency_mean_s"));

    g_autoptr(MsSweep) gen = new_sweep();
    CU_ASSERT_FATAL(ms_sweep_set(gen, "n=//generate/@messages=50,120", &error));
    CU_ASSERT_FATAL(ms_sweep_set(gen, "fidelity=flow", &error));
    CU_ASSERT_FATAL(ms_sweep_run(gen, 2, NULL, NULL, &error));
    g_autoptr(GString) g2 = g_string_new(NULL);
    ms_sweep_csv(gen, g2);
    /* the generator's messages, and the same few more (bounces, outages) */
    CU_ASSERT(csv_value(g2->str, "50,flow", "messages") >= 50);
    CU_ASSERT_EQUAL(
        csv_value(g2->str, "120,flow", "messages") - csv_value(g2->str, "50,flow", "messages"), 70);
}

static void
expect_values(const char *spec, const char *joined)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    gboolean ok = ms_sweep_expand_values("x", spec, out, &error);
    if (!ok)
        g_printerr("%s: %s\n", spec, error->message);
    CU_ASSERT_FATAL(ok);
    g_ptr_array_add(out, NULL);
    g_autofree char *got = g_strjoinv(",", (char **) out->pdata);
    if (strcmp(got, joined))
        g_printerr("%s: got %s, expected %s\n", spec, got, joined);
    CU_ASSERT_STRING_EQUAL(got, joined);
}

static void
test_ranges(void)
{
    expect_values("10ms..100ms/10", "10ms,20ms,30ms,40ms,50ms,60ms,70ms,80ms,90ms,100ms");
    expect_values("1e3..1e6*4", "1000,10000,100000,1000000");
    expect_values("1e3..1e5*5", "1000,3162,10000,31623,100000");
    expect_values("0..5%/6", "0%,1%,2%,3%,4%,5%");
    expect_values("0.5..1.5/3", "0.5,1,1.5");
    expect_values("0,1%, 2%..4%/3 ,yes", "0,1%,2%,3%,4%,yes");
    expect_values("100..10/4", "100,70,40,10");
    expect_values("1e4,2.5e3,1.5e-3,3e", "10000,2500,1.5e-3,3e");
    static const struct {
        const char *spec, *says;
    } bad[] = {
        { "10ms..1s/4", "different units ('ms' and 's')" },
        { "5..5/3", "is empty" },
        { "1..10/1", "a range gives 2 to 10000 values" },
        { "1..10/20000", "a range gives 2 to 10000 values" },
        { "0..10*3", "log-spaced range needs both ends above 0" },
        { "1..10", "expected A..B/N" },
        { "a..b/3", "both ends must be numbers" },
        { "1..10/x", "'x' is not a number of values" },
        { "1..2/3", "gives '2' twice" },
        { "1,,2", "an empty value" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(ms_sweep_expand_values("x", bad[i].spec, out, &error));
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        if (!strstr(error->message, bad[i].says))
            g_printerr("%s: got '%s'\n", bad[i].spec, error->message);
        CU_ASSERT(strstr(error->message, bad[i].says) != NULL);
        CU_ASSERT(g_str_has_prefix(error->message, "axis x: "));
    }
}

/* Zipped axes make one dimension: 3 points, not 9. */
static void
test_zipped(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = new_sweep();
    CU_ASSERT_FATAL(
        ms_sweep_set_zipped(sw, "//generate/@messages=30,60,90;until=20min,40min,1h", &error));
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 3);
    CU_ASSERT(ms_sweep_set(sw, "fidelity=flow", &error));
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 3);
    CU_ASSERT_FATAL(ms_sweep_run(sw, 2, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_tidy_csv(sw, csv);
    CU_ASSERT(strstr(csv->str, "\n,1,60,40min,flow,5,messages,") != NULL);
    CU_ASSERT(strstr(csv->str, "\n,2,90,1h,flow,5,messages,") != NULL);
    CU_ASSERT(strstr(csv->str, "\n,1,60,1h,") == NULL);
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    CU_ASSERT_FALSE(
        ms_sweep_set_zipped(sw, "policy.give-up=1h,2h;//generate/@users=10,20,30", &e1));
    CU_ASSERT(e1 && strstr(e1->message, "policy.give-up has 2, users has 3"));
    CU_ASSERT_FALSE(ms_sweep_set_zipped(sw, "until=1h,2h", &e2));
    CU_ASSERT(e2 && strstr(e2->message, "at least two axes"));
}

/* The tidy CSV: one row per run and statistic, RFC 4180 quoting, and the
 * JSON's replications are the same numbers. */
static void
test_tidy(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = new_sweep();
    ms_sweep_set_name(sw, "tidy-test");
    CU_ASSERT(ms_sweep_set_seeds(sw, "3,7", &error));
    CU_ASSERT(ms_sweep_add_axis(sw, "a,\"b\"", "fidelity", "flow", &error));
    CU_ASSERT(ms_sweep_set(sw, "//generate/@messages=40,80", &error));
    const char *const stats[] = { "delivered", "latency_p95_s", NULL };
    CU_ASSERT(ms_sweep_set_statistics(sw, stats, &error));
    CU_ASSERT_FATAL(ms_sweep_run(sw, 1, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_tidy_csv(sw, csv);
    g_auto(GStrv) lines = g_strsplit(csv->str, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 1 + 2 * 2 * 2 + 1);
    CU_ASSERT_STRING_EQUAL(lines[0],
                           "experiment,point,\"a,\"\"b\"\"\",messages,seed,statistic,value");
    CU_ASSERT(g_str_has_prefix(lines[1], "tidy-test,0,flow,40,3,delivered,"));
    CU_ASSERT(g_str_has_prefix(lines[2], "tidy-test,0,flow,40,3,latency_p95_s,"));
    CU_ASSERT(g_str_has_prefix(lines[3], "tidy-test,0,flow,40,7,delivered,"));
    CU_ASSERT(g_str_has_prefix(lines[8], "tidy-test,1,flow,80,7,latency_p95_s,"));
    /* the p95 of seed 7 at point 1, exactly as the JSON's replication */
    const char *v = strrchr(lines[8], ',') + 1;
    g_autoptr(GString) js = g_string_new(NULL);
    ms_sweep_json(sw, js);
    g_autofree char *rep = g_strdup_printf(", %s]}", v);
    CU_ASSERT(strstr(js->str, rep) != NULL);
    CU_ASSERT(
        strstr(js->str,
               "\"experiment\": \"tidy-test\", \"title\": \"\", \"version\": \"" MS_MAILSIM_VERSION
               "\"") != NULL);
    /* every statistic name is checked */
    const char *const bad[] = { "delivered", "latency", NULL };
    g_autoptr(GError) e = NULL;
    CU_ASSERT_FALSE(ms_sweep_set_statistics(sw, bad, &e));
    CU_ASSERT(e && strstr(e->message, "statistic 'latency' is unknown: expected one of messages"));
}

static void
test_t_quantiles(void)
{
    /* Student t quantiles to 6 or 7 significant digits, from the usual
     * tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2) */
    static const struct {
        double p, df, t;
    } cases[] = {
        { 0.975, 1, 12.7062047 }, { 0.975, 2, 4.3026527 },  { 0.975, 3, 3.1824463 },
        { 0.975, 5, 2.5705818 },  { 0.975, 10, 2.2281389 }, { 0.975, 20, 2.0859634 },
        { 0.975, 30, 2.0422725 }, { 0.975, 60, 2.0002978 }, { 0.975, 120, 1.9799304 },
        { 0.995, 1, 63.656741 },  { 0.995, 2, 9.924843 },   { 0.995, 5, 4.032143 },
        { 0.995, 10, 3.169273 },  { 0.995, 30, 2.749996 },  { 0.95, 1, 6.313752 },
        { 0.95, 10, 1.812461 },   { 0.9, 4, 1.533206 },     { 0.975, 1e7, 1.959964 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        double t = ms_sweep_t_quantile(cases[i].p, cases[i].df);
        if (fabs(t - cases[i].t) > 2e-6 * cases[i].t)
            g_printerr("t(%g, %g) = %.9g, table %.9g\n", cases[i].p, cases[i].df, t, cases[i].t);
        CU_ASSERT(fabs(t - cases[i].t) <= 2e-6 * cases[i].t);
        CU_ASSERT(fabs(ms_sweep_t_quantile(1 - cases[i].p, cases[i].df) + t) < 1e-9 * t);
    }
    /* fractional degrees of freedom (Welch) lie between their neighbours,
     * and the distribution function inverts the quantile */
    double a = ms_sweep_t_quantile(0.975, 7), b = ms_sweep_t_quantile(0.975, 7.5),
           c = ms_sweep_t_quantile(0.975, 8);
    CU_ASSERT(a > b && b > c);
    CU_ASSERT(fabs(ms_sweep_t_cdf(b, 7.5) - 0.975) < 1e-12);
    CU_ASSERT(fabs(ms_sweep_t_cdf(0, 3) - 0.5) < 1e-15);
    CU_ASSERT(fabs(ms_sweep_t975(10) - 2.2281389) < 1e-6);
    CU_ASSERT(isnan(ms_sweep_t975(0)));
    CU_ASSERT(isnan(ms_sweep_t_quantile(1, 5)));
    CU_ASSERT(isnan(ms_sweep_t_quantile(0.5, 0)));
}

static void
test_bad_settings(void)
{
    static const struct {
        const char *set;
        const char *says;
    } cases[] = {
        { "colour=blue", "unknown key" },
        { "until", "expected KEY=VALUE" },
        { "=5", "expected KEY=VALUE" },
        { "until=", "expected KEY=VALUE" },
        { "until=soon", "until: 'soon' is not valid" },
        { "until=0s", "until: '0s' is not valid" },
        { "fidelity=fluid", "expected packet or flow" },
        { "policy.retry-sometimes=5min", "unknown policy field" },
        { "policy.greylist=maybe", "expected yes or no" },
        { "policy.retry-first@nowhere=5min", "no host 'nowhere'" },
        { "seed=0..3", "expected A..B" },
        { "seed=5..2", "expected A..B" },
        { "seed=1..200000", "at most 100000" },
        { "seed=1,x", "'x' is not a seed" },
        { "seed=1,2,1", "1 is given twice" },
        { "//link[@a=/@loss=1", "is not an XPath expression" },
        { "//link/@loss=1..2", "expected A..B/N" },
        { "seed=//generate/@users=1", "taken by a column" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsSweep) sw = new_sweep();
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(ms_sweep_set(sw, cases[i].set, &error));
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        if (!strstr(error->message, cases[i].says))
            g_printerr("--set %s: got '%s'\n", cases[i].set, error->message);
        CU_ASSERT(strstr(error->message, cases[i].says) != NULL);
    }
    /* a key twice; seeds twice */
    g_autoptr(MsSweep) sw = new_sweep();
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    CU_ASSERT(ms_sweep_set(sw, "until=1h", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "until=2h", &e1));
    CU_ASSERT(ms_sweep_set_seeds(sw, "1,2", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "seed=3", &e2));
    CU_ASSERT(ms_sweep_set(sw, "policy.retry-first=1min", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "policy.give-up@dns=1d", &e3));
    CU_ASSERT(e1 && e2 && e3);
}

/* What only a load can tell is found by ms_sweep_check(), before any run:
 * an XPath selecting nothing or elements, a value the loader refuses. */
static void
test_checked_before_running(void)
{
    static const struct {
        const char *set;
        const char *says[2];
    } cases[] = {
        { "//mailserver/@colour=blue", { "axis colour = blue (//mailserver/@colour)", "colour" } },
        { "//nothing/@x=1", { "axis x = 1", "//nothing/@x selects nothing in this scenario" } },
        { "//link=1", { "selects element 'link'", "end the path with /@NAME" } },
        { "//link/@loss=0,2", { "axis loss = 2 (//link/@loss)", "'2' is not a probability" } },
        { "//link/@latency=5parsecs", { "axis latency = 5parsecs", "latency" } },
        { "count(//link)=1", { "gives a value, not nodes", "count(//link)" } },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsSweep) sw = ms_sweep_new();
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FATAL(ms_sweep_add_scenario_file(sw, LESSON2, NULL, NULL));
        CU_ASSERT_FATAL(ms_sweep_set(sw, cases[i].set, &error));
        CU_ASSERT_FALSE(ms_sweep_check(sw, &error));
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        for (guint k = 0; k < 2; k++) {
            if (!strstr(error->message, cases[i].says[k]))
                g_printerr("--set %s: got '%s'\n", cases[i].set, error->message);
            CU_ASSERT(strstr(error->message, cases[i].says[k]) != NULL);
        }
        /* and ms_sweep_run() says the same, having run nothing */
        g_autoptr(GError) e2 = NULL;
        CU_ASSERT_FALSE(ms_sweep_run(sw, 1, NULL, NULL, &e2));
        CU_ASSERT(e2 && !strcmp(e2->message, error->message));
    }
    /* the value file:line comes from the loader */
    g_autoptr(MsSweep) sw = ms_sweep_new();
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FATAL(ms_sweep_add_scenario_file(sw, LESSON2, NULL, NULL));
    CU_ASSERT_FATAL(ms_sweep_set(sw, "//link[@a='r-core1'][@b='r-core2']/@loss=150%", NULL));
    CU_ASSERT_FALSE(ms_sweep_check(sw, &error));
    CU_ASSERT(error && strstr(error->message, LESSON2 ":31: link") != NULL);
    /* a grid above the limit needs to be allowed */
    g_autoptr(MsSweep) big = new_sweep();
    g_autoptr(GError) e3 = NULL;
    CU_ASSERT(ms_sweep_set(big, "until=1h..10h/10", NULL));
    CU_ASSERT(ms_sweep_set(big, "policy.retry-first=1min..30min/30", NULL));
    CU_ASSERT_EQUAL(ms_sweep_n_points(big), 300);
    CU_ASSERT_FALSE(ms_sweep_check(big, &e3));
    CU_ASSERT(e3 && strstr(e3->message, "300 points (300 runs), more than the limit of 200"));
    CU_ASSERT(e3 && strstr(e3->message, "--yes"));
    ms_sweep_set_max_points(big, 200, TRUE);
    CU_ASSERT(ms_sweep_check(big, NULL));
    ms_sweep_set_max_points(big, 300, FALSE);
    CU_ASSERT(ms_sweep_check(big, NULL));
}

/* --- the results folder ---------------------------------------------------- */

static MsSweep *
stored_sweep(const char *dir, const char *version, gboolean rerun, GError **error)
{
    MsSweep *sw = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(sw, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=flow", NULL));
    CU_ASSERT(ms_sweep_set(sw, "//generate/@messages=40,90", NULL));
    CU_ASSERT(ms_sweep_set_store(sw, dir, version, rerun, NULL));
    if (!ms_sweep_plan(sw, error)) {
        ms_sweep_free(sw);
        return NULL;
    }
    return sw;
}

static char *
outputs_of(MsSweep *sw)
{
    GString *s = g_string_new(NULL);
    ms_sweep_tidy_csv(sw, s);
    ms_sweep_csv(sw, s);
    ms_sweep_json(sw, s);
    return g_string_free(s, FALSE);
}

static guint
count_done(guint done, guint total, gpointer user)
{
    (void) total;
    *(guint *) user = done;
    return done;
}

static void
on_progress(guint done, guint total, gpointer user)
{
    count_done(done, total, user);
}

static void
test_results_folder(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-sweep-XXXXXX", NULL);
    g_autofree char *runs = g_build_filename(dir, "runs", NULL);
    g_autoptr(GError) error = NULL;
    MsSweepCounts c;
    /* without a folder, as the reference */
    g_autoptr(MsSweep) ref = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(ref, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(ref, "fidelity=flow", NULL));
    CU_ASSERT(ms_sweep_set(ref, "//generate/@messages=40,90", NULL));
    CU_ASSERT_FATAL(ms_sweep_run(ref, 2, NULL, NULL, &error));
    g_autofree char *want = outputs_of(ref);

    /* the first time: everything runs, and 6 files are written */
    g_autoptr(MsSweep) a = stored_sweep(dir, NULL, FALSE, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    ms_sweep_counts(a, &c);
    CU_ASSERT(c.total == 6 && c.stored == 0 && c.to_run == 6);
    guint done = 0;
    CU_ASSERT_FATAL(ms_sweep_run(a, 1, on_progress, &done, &error));
    CU_ASSERT_EQUAL(done, 6);
    g_autofree char *first = outputs_of(a);
    CU_ASSERT_STRING_EQUAL(first, want);
    g_autoptr(GDir) d = g_dir_open(runs, 0, NULL);
    guint files = 0;
    g_autofree char *one = NULL, *two = NULL;
    for (const char *n; d && (n = g_dir_read_name(d));) {
        files++;
        if (!one)
            one = g_build_filename(runs, n, NULL);
        else if (!two)
            two = g_build_filename(runs, n, NULL);
    }
    CU_ASSERT_EQUAL(files, 6);

    /* again: nothing to run, the same bytes */
    g_autoptr(MsSweep) b = stored_sweep(dir, NULL, FALSE, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    ms_sweep_counts(b, &c);
    CU_ASSERT(c.stored == 6 && c.to_run == 0);
    done = 0;
    CU_ASSERT(ms_sweep_run(b, 2, on_progress, &done, &error));
    CU_ASSERT_EQUAL(done, 0);
    g_autofree char *second = outputs_of(b);
    CU_ASSERT_STRING_EQUAL(second, want);

    /* one file lost, one damaged: those two run again */
    CU_ASSERT(g_unlink(one) == 0);
    CU_ASSERT(g_file_set_contents(
        two, "mailsim-sweep-run 1\nversion " MS_MAILSIM_VERSION "\nkey 00\n", -1, NULL));
    g_autoptr(MsSweep) e = stored_sweep(dir, NULL, FALSE, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    ms_sweep_counts(e, &c);
    CU_ASSERT(c.stored == 4 && c.to_run == 2 && c.unreadable == 1);
    CU_ASSERT(ms_sweep_run(e, 2, on_progress, &done, &error));
    CU_ASSERT_EQUAL(done, 2);
    g_autofree char *third = outputs_of(e);
    CU_ASSERT_STRING_EQUAL(third, want);

    /* another version: refused, naming both versions; or run again */
    g_autoptr(MsSweep) f = stored_sweep(dir, "9.9-test", FALSE, &error);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT(error &&
              strstr(error->message,
                     "holds 6 of this sweep's 6 runs written by mailsim " MS_MAILSIM_VERSION
                     " (this is mailsim 9.9-test)"));
    g_clear_error(&error);
    g_autoptr(MsSweep) h = stored_sweep(dir, "9.9-test", TRUE, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    ms_sweep_counts(h, &c);
    CU_ASSERT(c.other_version == 6 && c.to_run == 6);
    CU_ASSERT(c.other_version_name && !strcmp(c.other_version_name, MS_MAILSIM_VERSION));
    CU_ASSERT(ms_sweep_run(h, 2, NULL, NULL, &error));
    g_autofree char *text = NULL;
    g_autoptr(GDir) d2 = g_dir_open(runs, 0, NULL);
    const char *n = d2 ? g_dir_read_name(d2) : NULL;
    g_autofree char *path = n ? g_build_filename(runs, n, NULL) : NULL;
    CU_ASSERT(path && g_file_get_contents(path, &text, NULL, NULL));
    CU_ASSERT(text && strstr(text, "\nversion 9.9-test\n"));

    /* clean up */
    g_autoptr(GDir) d3 = g_dir_open(runs, 0, NULL);
    for (const char *m; d3 && (m = g_dir_read_name(d3));) {
        g_autofree char *p = g_build_filename(runs, m, NULL);
        g_unlink(p);
    }
    g_rmdir(runs);
    g_rmdir(dir);
}

/* --- results between processes (what MPI ranks exchange) ------------------- */

/* A sweep of 6 runs as three processes would split it: each runs its part,
 * packs what it ran, and the first merges the others' packs: the outputs
 * are those of one process, byte for byte. Packs from another sweep, or
 * damaged ones, are refused; a merge never overwrites a result. */
static void
test_pack_and_merge(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) ref = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(ref, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(ref, "//generate/@messages=40,90", NULL));
    CU_ASSERT_FATAL(ms_sweep_run(ref, 1, NULL, NULL, &error));
    g_autofree char *want = outputs_of(ref);

    MsSweep *part[3];
    GBytes *pack[3];
    for (guint r = 0; r < 3; r++) {
        part[r] = new_sweep();
        CU_ASSERT(ms_sweep_set_seeds(part[r], "1..3", NULL));
        CU_ASSERT(ms_sweep_set(part[r], "//generate/@messages=40,90", NULL));
        CU_ASSERT_FATAL(ms_sweep_run_part(part[r], 1, r, 3, NULL, NULL, &error));
        CU_ASSERT(!ms_sweep_complete(part[r]));
        pack[r] = ms_sweep_pack_results(part[r], FALSE);
        /* header, then 2 runs of 4 + 18 * 8 bytes each */
        CU_ASSERT(g_bytes_get_size(pack[r]) > 2 * (4 + 18 * 8));
    }
    /* merging a part's own runs changes nothing; the others complete it */
    CU_ASSERT(ms_sweep_merge_results(part[0], pack[0], &error));
    CU_ASSERT(!ms_sweep_complete(part[0]));
    CU_ASSERT(ms_sweep_merge_results(part[0], pack[2], &error));
    CU_ASSERT(ms_sweep_merge_results(part[0], pack[1], &error));
    CU_ASSERT_FATAL(ms_sweep_complete(part[0]));
    g_autofree char *got = outputs_of(part[0]);
    CU_ASSERT_STRING_EQUAL(got, want);
    /* everything it holds now, for a process that has nothing yet */
    g_autoptr(GBytes) all = ms_sweep_pack_results(part[0], TRUE);
    g_autoptr(MsSweep) fresh = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(fresh, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(fresh, "//generate/@messages=40,90", NULL));
    CU_ASSERT_FATAL(ms_sweep_plan(fresh, &error));
    CU_ASSERT(ms_sweep_merge_results(fresh, all, &error));
    CU_ASSERT(ms_sweep_complete(fresh));
    g_autofree char *again = outputs_of(fresh);
    CU_ASSERT_STRING_EQUAL(again, want);
    MsSweepCounts c;
    ms_sweep_counts(fresh, &c);
    CU_ASSERT(c.stored == 6 && c.to_run == 0);

    /* another sweep (other seeds; other values): refused */
    g_autoptr(MsSweep) other = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(other, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(other, "//generate/@messages=40,91", NULL));
    CU_ASSERT_FATAL(ms_sweep_plan(other, &error));
    CU_ASSERT(!ms_sweep_merge_results(other, pack[1], &error));
    CU_ASSERT(error && strstr(error->message, "not of this sweep"));
    g_clear_error(&error);
    /* damaged: cut short, or an extra byte */
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(pack[1], &len);
    g_autoptr(GBytes) cut = g_bytes_new(data, len - 1);
    g_autoptr(MsSweep) p3 = new_sweep();
    CU_ASSERT(ms_sweep_set_seeds(p3, "1..3", NULL));
    CU_ASSERT(ms_sweep_set(p3, "//generate/@messages=40,90", NULL));
    CU_ASSERT_FATAL(ms_sweep_plan(p3, &error));
    CU_ASSERT(!ms_sweep_merge_results(p3, cut, &error));
    CU_ASSERT(error && strstr(error->message, "expected 2 results"));
    g_clear_error(&error);
    g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);
    CU_ASSERT(!ms_sweep_merge_results(p3, empty, &error));
    g_clear_error(&error);
    CU_ASSERT(!ms_sweep_complete(p3));
    for (guint r = 0; r < 3; r++) {
        g_bytes_unref(pack[r]);
        ms_sweep_free(part[r]);
    }
}

/* greylist-delay (a <policy> attribute, also a short key): a longer wait
 * means more refused attempts and a later first delivery (lesson 9). */
static void
test_greylist_delay(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new();
    CU_ASSERT_FATAL(
        ms_sweep_add_scenario_file(sw, "scenarios/teaching/09-greylisting.xml", NULL, &error));
    /* long enough for every message to get through a 20 min greylist
     * (Postfix retries at its 5-minute queue scans) */
    CU_ASSERT_FATAL(ms_sweep_set(sw, "until=2h", &error));
    CU_ASSERT_FATAL(ms_sweep_set(sw, "//policy/@greylist-delay=1min,20min", &error));
    CU_ASSERT_FATAL(ms_sweep_set(sw, "policy.retry-first@smtp-isp=2min,10min", &error));
    CU_ASSERT_FATAL(ms_sweep_run(sw, 2, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    CU_ASSERT(csv_value(csv->str, "2h,20min,2min", "attempts") >
              csv_value(csv->str, "2h,1min,2min", "attempts"));
    CU_ASSERT(csv_value(csv->str, "2h,20min,10min", "latency_max_s") >= 1200);
    CU_ASSERT(csv_value(csv->str, "2h,1min,2min", "latency_max_s") < 300);
    CU_ASSERT(csv_value(csv->str, "2h,20min,10min", "attempts") <
              csv_value(csv->str, "2h,20min,2min", "attempts"));
}

/* "routing" is a short key for the scenario's routing attribute: the
 * three routings of an AS graph compared in one sweep. */
static void
test_routing_key(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new();
    CU_ASSERT_FATAL(
        ms_sweep_add_scenario_file(sw, "scenarios/examples/as-policy.xml", NULL, &error));
    CU_ASSERT_FATAL(ms_sweep_set(sw, "routing=latency,policy", &error));
    CU_ASSERT_FATAL(ms_sweep_run(sw, 2, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv->str, "routing"));
    CU_ASSERT(!isnan(csv_value(csv->str, "latency", "delivered")));
    CU_ASSERT(!isnan(csv_value(csv->str, "policy", "delivered")));
    g_autoptr(GError) e = NULL;
    g_autoptr(MsSweep) bad = ms_sweep_new();
    CU_ASSERT_FATAL(
        ms_sweep_add_scenario_file(bad, "scenarios/examples/as-policy.xml", NULL, &error));
    /* a value the schema refuses is an error before any run, naming the axis */
    CU_ASSERT_FATAL(ms_sweep_set(bad, "routing=shortest", &e));
    CU_ASSERT_FALSE(ms_sweep_check(bad, &e));
    CU_ASSERT(e && strstr(e->message, "routing"));
}

/* Several scenarios are one more axis, named "scenario". */
static void
test_scenario_axis(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new();
    CU_ASSERT_FATAL(ms_sweep_add_scenario_data(sw, "a.xml", "small", world, strlen(world), &error));
    CU_ASSERT_FATAL(ms_sweep_add_scenario_data(sw, "b.xml", "also", world, strlen(world), &error));
    g_autoptr(GError) e = NULL;
    CU_ASSERT_FALSE(ms_sweep_add_scenario_data(sw, "c.xml", "also", world, strlen(world), &e));
    CU_ASSERT(e && strstr(e->message, "already called 'also'"));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=flow", &error));
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 2);
    CU_ASSERT_FATAL(ms_sweep_run(sw, 1, NULL, NULL, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    CU_ASSERT(g_str_has_prefix(csv->str, "experiment,point,scenario,fidelity,statistic,"));
    CU_ASSERT(strstr(csv->str, "\n,1,also,flow,messages,1,") != NULL);
}

static const MsTestCase cases[] = {
    { "results do not depend on --jobs", test_jobs_do_not_change_results },
    { "until axis", test_until_axis },
    { "XPath axes", test_xpath_axes },
    { "ranges", test_ranges },
    { "zipped axes", test_zipped },
    { "tidy CSV and JSON", test_tidy },
    { "Student t quantiles", test_t_quantiles },
    { "bad settings are refused", test_bad_settings },
    { "checked before running", test_checked_before_running },
    { "results folder: resume, damage, versions", test_results_folder },
    { "results between processes: pack and merge", test_pack_and_merge },
    { "several scenarios", test_scenario_axis },
    { "greylist-delay", test_greylist_delay },
    { "routing as a short key", test_routing_key },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("sweep", cases);
}
