/* Sweeps (include/mailsim/sweep.h): results do not depend on the number of
 * threads; settings change what they should; the Student t quantiles; bad
 * settings are refused with a message naming the key. */
#include "testlib.h"
#include "mailsim/sweep.h"

#include <math.h>
#include <string.h>

static const char world[] =
    "<?xml version=\"1.0\"?>\n"
    "<scenario version=\"1\" name=\"sweep-test\" seed=\"5\" until=\"2h\" keep-bodies=\"false\">\n"
    "  <generate topology=\"transit-stub\" domains=\"6\" routers=\"40\" users=\"60\" "
    "messages=\"300\" "
    "duration=\"1h\" seed=\"5\" outages=\"1\"/>\n"
    "</scenario>\n";

static MsScenario *
load(void)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc = ms_scenario_load_memory(world, strlen(world), "sweep-test.xml", &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

static char *
sweep_csv(const MsScenario *sc, guint jobs, char **json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new(sc);
    CU_ASSERT(ms_sweep_set_seeds(sw, "1..5", &error));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=packet,flow", &error));
    CU_ASSERT(ms_sweep_set(sw, "policy.retry-first=1min,10min", &error));
    CU_ASSERT_EQUAL(ms_sweep_n_points(sw), 4);
    CU_ASSERT(ms_sweep_run(sw, jobs, &error));
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
    g_autoptr(MsScenario) sc = load();
    g_autofree char *j1 = NULL, *j3 = NULL;
    g_autofree char *one = sweep_csv(sc, 1, &j1);
    g_autofree char *three = sweep_csv(sc, 3, &j3);
    CU_ASSERT_STRING_EQUAL(one, three);
    CU_ASSERT_STRING_EQUAL(j1, j3);
    /* header + 4 points x 17 statistics */
    g_auto(GStrv) lines = g_strsplit(one, "\n", -1);
    CU_ASSERT_EQUAL(g_strv_length(lines), 1 + 4 * 17 + 1);
    CU_ASSERT(
        g_str_has_prefix(lines[0], "fidelity,policy.retry-first,statistic,n,mean,ci95,sd,min,max"));
    CU_ASSERT(g_str_has_prefix(lines[1], "packet,1min,messages,5,"));
    /* different seeds give different runs: the events vary */
    gboolean varies = FALSE;
    for (char **l = lines; *l; l++)
        if (strstr(*l, ",events,5,")) {
            g_auto(GStrv) f = g_strsplit(*l, ",", -1);
            varies |= g_ascii_strtod(f[5], NULL) > 0; /* ci95 */
        }
    CU_ASSERT(varies);
    CU_ASSERT(
        strstr(j1, "\"settings\": {\"fidelity\": \"flow\", \"policy.retry-first\": \"10min\"}") !=
        NULL);
}

/* Stopping earlier delivers fewer messages. */
static void
test_until_axis(void)
{
    g_autoptr(MsScenario) sc = load();
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweep) sw = ms_sweep_new(sc);
    CU_ASSERT(ms_sweep_set(sw, "until=20min,2h", &error));
    CU_ASSERT(ms_sweep_set(sw, "fidelity=flow", &error));
    CU_ASSERT(ms_sweep_run(sw, 2, &error));
    g_autoptr(GString) csv = g_string_new(NULL);
    ms_sweep_csv(sw, csv);
    g_auto(GStrv) lines = g_strsplit(csv->str, "\n", -1);
    double early = -1, late = -1;
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit(*l, ",", -1);
        if (g_strv_length(f) > 4 && !strcmp(f[2], "delivered"))
            *(!strcmp(f[0], "20min") ? &early : &late) = g_ascii_strtod(f[4], NULL);
    }
    CU_ASSERT(early > 0);
    CU_ASSERT(late > early);
    g_autoptr(GString) table = g_string_new(NULL);
    ms_sweep_table(sw, table);
    CU_ASSERT(strstr(table->str, "until=20min, fidelity=flow (1 replication)") != NULL);
}

static void
test_t_quantiles(void)
{
    static const struct {
        guint df;
        double t;
    } cases[] = {
        { 1, 12.7062 }, { 2, 4.3027 },  { 10, 2.2281 },  { 30, 2.0423 },     { 31, 2.0395 },
        { 40, 2.0211 }, { 60, 2.0003 }, { 120, 1.9799 }, { 100000, 1.9600 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        CU_ASSERT(fabs(ms_sweep_t975(cases[i].df) - cases[i].t) < 2e-4);
    CU_ASSERT(isnan(ms_sweep_t975(0)));
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
    };
    g_autoptr(MsScenario) sc = load();
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MsSweep) sw = ms_sweep_new(sc);
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FALSE(ms_sweep_set(sw, cases[i].set, &error));
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        if (!strstr(error->message, cases[i].says))
            g_printerr("--set %s: got '%s'\n", cases[i].set, error->message);
        CU_ASSERT(strstr(error->message, cases[i].says) != NULL);
    }
    /* a key twice; seeds twice */
    g_autoptr(MsSweep) sw = ms_sweep_new(sc);
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    CU_ASSERT(ms_sweep_set(sw, "until=1h", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "until=2h", &e1));
    CU_ASSERT(ms_sweep_set_seeds(sw, "1,2", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "seed=3", &e2));
    CU_ASSERT(ms_sweep_set(sw, "policy.retry-first=1min", NULL));
    CU_ASSERT_FALSE(ms_sweep_set(sw, "policy.give-up@dns=1d", &e3));
    CU_ASSERT(e1 && e2 && e3);
}

static const MsTestCase cases[] = {
    { "results do not depend on --jobs", test_jobs_do_not_change_results },
    { "until axis", test_until_axis },
    { "Student t quantiles", test_t_quantiles },
    { "bad settings are refused", test_bad_settings },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("sweep", cases);
}
