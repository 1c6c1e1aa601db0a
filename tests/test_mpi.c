/* The distributed mode end to end: `mpirun -np K mailsim bench phold
 * --mpi` on this machine (loopback, --oversubscribe) must count the same
 * events and print the same digest as the sequential run, for K = 1, 2
 * and 4, both partition schemes, and a run full of equal times. Each mpirun
 * is bounded by `timeout`. Built without Open MPI, the test checks instead
 * that --mpi is refused as unavailable (exit 2); with no mpirun on the
 * PATH it says so and skips. */
#include "testlib.h"
#include "mailsim/mpi_run.h"

#include <stdio.h>
#include <string.h>

#define MPI_TIMEOUT "120"

/* Runs argv with ASAN_OPTIONS=detect_leaks=0 unless set (Open MPI keeps
 * memory until exit). Returns the exit status, or -1. */
static int
run(const char *const *argv, char **out, char **err)
{
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "ASAN_OPTIONS", "detect_leaks=0", FALSE);
    /* Open MPI refuses root without these (as --allow-run-as-root does). */
    env = g_environ_setenv(env, "OMPI_ALLOW_RUN_AS_ROOT", "1", FALSE);
    env = g_environ_setenv(env, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", FALSE);
    int status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error)) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], error->message);
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The value of " name=" in line (caller frees), or NULL. */
static char *
field(const char *line, const char *name)
{
    g_autofree char *key = g_strdup_printf(" %s=", name);
    const char *p = line ? strstr(line, key) : NULL;
    if (!p)
        return NULL;
    p += strlen(key);
    return g_strndup(p, strcspn(p, " \n"));
}

static void
test_mpi_usage_errors(void)
{
    const char *m = ms_test_mailsim_path();
    static const char *const bad[][4] = {
        { "--lookahead", "0", NULL, NULL },
        { "--bare", NULL, NULL, NULL },
        { "--partition", "blocks", NULL, NULL },
        { "--partition", "", NULL, NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *argv[10] = { m, "bench", "phold", "--nodes", "4", "--mpi" };
        for (guint j = 0; bad[i][j]; j++)
            argv[6 + j] = bad[i][j];
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run(argv, &out, &err), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "bench phold"));
    }
}

/* Runs PHOLD with `extra` options, sequentially (ranks = 0) or under
 * mpirun -np ranks; stores events and digest (caller frees). */
static gboolean
phold(const char *mpirun, guint ranks, const char *const *extra, char **events, char **digest)
{
    const char *argv[40];
    guint n = 0;
    g_autofree char *timeout = g_find_program_in_path("timeout");
    g_autofree char *np = g_strdup_printf("%u", ranks);
    if (ranks > 0) {
        if (timeout) {
            argv[n++] = timeout;
            argv[n++] = MPI_TIMEOUT;
        }
        argv[n++] = mpirun;
        argv[n++] = "--allow-run-as-root";
        argv[n++] = "--oversubscribe";
        argv[n++] = "-np";
        argv[n++] = np;
    }
    argv[n++] = ms_test_mailsim_path();
    argv[n++] = "bench";
    argv[n++] = "phold";
    for (guint i = 0; extra[i]; i++)
        argv[n++] = extra[i];
    if (ranks > 0)
        argv[n++] = "--mpi";
    argv[n] = NULL;
    g_autofree char *out = NULL, *err = NULL;
    int rc = run(argv, &out, &err);
    if (rc != 0) {
        fprintf(stderr, "exit %d: %s%s", rc, out ? out : "", err ? err : "");
        return FALSE;
    }
    if (ranks > 0) {
        g_autofree char *r = field(out, "ranks");
        CU_ASSERT_STRING_EQUAL(r ? r : "", np);
        /* One line, from rank 0. */
        const char *nl = strchr(out, '\n');
        CU_ASSERT(nl && nl[1] == '\0');
    }
    *events = field(out, "events");
    *digest = field(out, "digest");
    return *events && *digest;
}

static void
test_mpi_ranks_match_sequential(void)
{
    if (!ms_mpi_available()) {
        const char *argv[] = { ms_test_mailsim_path(), "bench", "phold", "--nodes", "4", "--end", "1ms",
                               "--mpi", NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run(argv, &out, &err), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unavailable"));
        printf("\n  (built without Open MPI: checked that --mpi is refused)\n");
        return;
    }
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!mpirun) {
        printf("\n  (skipped: no mpirun on the PATH)\n");
        return;
    }
    static const struct {
        const char *opts[12];
        guint ranks[4];
    } cases[] = {
        { { "--nodes", "500", "--pop", "4", "--end", "300ms", NULL }, { 1, 2, 4, 0 } },
        { { "--nodes", "500", "--pop", "4", "--end", "300ms", "--partition", "block", NULL }, { 2, 4, 0 } },
        /* Exp(1 ns) is mostly 0: equal times everywhere, events at window ends. */
        { { "--nodes", "200", "--pop", "3", "--mean", "1ns", "--end", "200ms", "--seed", "5", NULL }, { 2, 4, 0 } },
        /* Fewer hosts than ranks. */
        { { "--nodes", "3", "--pop", "2", "--end", "100ms", NULL }, { 4, 0 } },
    };
    for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autofree char *ev0 = NULL, *dg0 = NULL;
        CU_ASSERT_FATAL(phold(mpirun, 0, cases[c].opts, &ev0, &dg0));
        CU_ASSERT(g_ascii_strtoull(ev0, NULL, 10) > 0);
        for (guint i = 0; cases[c].ranks[i]; i++) {
            g_autofree char *ev = NULL, *dg = NULL;
            gboolean ok = phold(mpirun, cases[c].ranks[i], cases[c].opts, &ev, &dg);
            CU_ASSERT(ok);
            if (!ok)
                continue;
            CU_ASSERT_STRING_EQUAL(ev, ev0);
            CU_ASSERT_STRING_EQUAL(dg, dg0);
        }
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "--mpi usage errors", test_mpi_usage_errors },
        { "1, 2, 4 ranks = sequential (or unavailable)", test_mpi_ranks_match_sequential },
        { NULL, NULL },
    };
    return ms_test_main("mpi", cases);
}
