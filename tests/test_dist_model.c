/* The scaling model (tools/scaling_model.py) on a profile recorded from a
 * real distributed run (tests/data/dist/medium-20min-k2.json: `mpirun -np
 * 2 mailsim run scenarios/bench/medium.xml -q --until 20min --partition
 * auto --dist-profile ...` on the shared 2-core machine, and its 4-rank
 * twin; README, "Scaling beyond one machine"): its text is the same byte for byte on every run,
 * every table covers K = 1 ... 1024 with positive, finite figures, memory
 * per rank with rank-local worlds falls as ranks are added, an Internet day
 * needs more machines the sooner it must finish, and a file that is not a
 * profile is refused with a clear message. */
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#define PROFILE "tests/data/dist/medium-20min-k2.json"

static char *
python(void)
{
    /* tests call Debian's python3 (a pyenv one earlier on the PATH may
     * lack the standard modules the distribution ships). */
    if (g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup("/usr/bin/python3");
    return g_find_program_in_path("python3");
}

static int
model(const char *const *args, char **out, char **err)
{
    g_autofree char *py = python();
    if (!py) {
        ms_test_skip("no python3");
        return -2;
    }
    const char *argv[24] = { py, "tools/scaling_model.py" };
    guint n = 2;
    for (guint i = 0; args[i] && n < G_N_ELEMENTS(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return ms_test_spawn(argv, out, err);
}

/* The rows of the table that follows the line starting with `title`:
 * lines starting with two spaces and a number, up to the next blank line. */
static GPtrArray *
table_rows(const char *text, const char *title)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func(g_free);
    const char *at = strstr(text, title);
    if (!at)
        return rows;
    g_auto(GStrv) lines = g_strsplit(at, "\n", -1);
    for (guint i = 1; lines[i] && *lines[i]; i++)
        if (g_str_has_prefix(lines[i], "  ") && g_ascii_isdigit(lines[i][2]))
            g_ptr_array_add(rows, g_strdup(lines[i]));
    return rows;
}

/* Column `col` (0 = K) of a row split at runs of spaces; units ("ms", "s",
 * "min") are their own columns, so callers count them. */
static double
column(const char *row, guint col)
{
    g_auto(GStrv) f = g_strsplit_set(row, " ", -1);
    guint k = 0;
    for (guint i = 0; f[i]; i++) {
        if (!*f[i])
            continue;
        if (k++ == col)
            return g_ascii_strtod(f[i], NULL);
    }
    return NAN;
}

static void
test_model_deterministic_and_sane(void)
{
    const char *args[] = { PROFILE, "--seq-wall", "7.9", "--seq-cpu", "2.23", "--seq-rss-mb", "82",
                           NULL };
    g_autofree char *out1 = NULL, *err1 = NULL, *out2 = NULL, *err2 = NULL;
    int rc = model(args, &out1, &err1);
    if (rc == -2)
        return;
    if (rc != 0)
        fprintf(stderr, "%s%s", out1 ? out1 : "", err1 ? err1 : "");
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(model(args, &out2, &err2), 0);
    CU_ASSERT_STRING_EQUAL(out1, out2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out1, "Calibration (from 1 profile of 11206 hosts"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out1, "  K=2: "));
    static const char *const titles[] = { "Predicted: the profiled world on a cluster",
                                          "Predicted: a world 100 times larger" };
    for (guint t = 0; t < G_N_ELEMENTS(titles); t++) {
        g_autoptr(GPtrArray) rows = table_rows(out1, titles[t]);
        CU_ASSERT_EQUAL_FATAL(rows->len, 11);
        double k_prev = 0, local_prev = INFINITY;
        for (guint i = 0; i < rows->len; i++) {
            const char *r = rows->pdata[i];
            double k = column(r, 0);
            CU_ASSERT_DOUBLE_EQUAL(k, i == 0 ? 1 : 2 * k_prev, 1e-9);
            k_prev = k;
            /* K, lookahead (2 columns from K = 2 on), windows, share,
             * wall (2), speed-up, MB now, MB local, bottleneck. */
            guint o = i == 0 ? 0 : 1;
            double share = column(r, 3 + o), speedup = column(r, 6 + o);
            double now = column(r, 7 + o), local = column(r, 8 + o);
            CU_ASSERT(share > 0 && share <= 1.0);
            CU_ASSERT(isfinite(speedup) && speedup > 0);
            if (i == 0)
                CU_ASSERT_DOUBLE_EQUAL(speedup, 1.0, 1e-9);
            CU_ASSERT(now > 0 && local >= 0 && local <= now);
            CU_ASSERT(local <= local_prev);
            local_prev = local;
            CU_ASSERT(strstr(r, "compute") || strstr(r, "sync") || strstr(r, "exchange"));
        }
    }
    g_autoptr(GPtrArray) day = table_rows(out1, "An Internet day at flow level");
    CU_ASSERT(day->len == 0); /* its rows start with words, not numbers */
    const char *d = strstr(out1, "An Internet day at flow level");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    double machines[3] = { 0 };
    static const char *const labels[] = { "  a week ", "  a day ", "  an hour " };
    for (guint i = 0; i < 3; i++) {
        const char *l = strstr(d, labels[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(l);
        machines[i] = g_ascii_strtod(l + 17, NULL);
        CU_ASSERT(machines[i] >= 1);
    }
    CU_ASSERT(machines[0] <= machines[1] && machines[1] <= machines[2]);
}

/* With profiles of 2 and 4 ranks, each K's prediction for this machine is
 * made from the other profile (leave one out), and the error is stated. */
static void
test_model_two_profiles(void)
{
    const char *args[] = { PROFILE, "tests/data/dist/medium-20min-k4.json", "--seq-cpu", "2.23",
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = model(args, &out, &err);
    if (rc == -2)
        return;
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Calibration (from 2 profiles"));
    g_autoptr(GPtrArray) rows = table_rows(out, "This machine (2 cores)");
    CU_ASSERT_EQUAL_FATAL(rows->len, 2);
    CU_ASSERT(g_str_has_suffix(rows->pdata[0], "K=4")); /* K = 2 from the other */
    CU_ASSERT(g_str_has_suffix(rows->pdata[1], "K=2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rows->pdata[0], " %"));
}

static void
test_model_refuses_other_files(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-model-XXXXXX", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.json", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(bad, "{\"format\": \"something-else\"}\n", -1, NULL));
    const char *args[] = { bad, NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = model(args, &out, &err);
    if (rc != -2) {
        CU_ASSERT_NOT_EQUAL(rc, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(err ? err : "", "not a mailsim distribution profile"));
    }
    g_unlink(bad);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "a recorded profile: the same text twice, sane tables", test_model_deterministic_and_sane },
        { "profiles of 2 and 4 ranks: each predicted from the other", test_model_two_profiles },
        { "a file that is not a profile: refused", test_model_refuses_other_files },
        { NULL, NULL },
    };
    return ms_test_main("dist_model", cases);
}
