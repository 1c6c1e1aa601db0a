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
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

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
    if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                      &error)) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], error->message);
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
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

/* Appends "[timeout MPI_TIMEOUT] mpirun --allow-run-as-root --oversubscribe
 * -np NP" to argv at *n (`timeout` may be NULL). The strings must outlive
 * argv. */
static void
add_mpirun(const char **argv, guint *n, const char *timeout, const char *mpirun, const char *np)
{
    if (timeout) {
        argv[(*n)++] = timeout;
        argv[(*n)++] = MPI_TIMEOUT;
    }
    const char *pre[] = { mpirun, "--allow-run-as-root", "--oversubscribe", "-np", np };
    for (guint j = 0; j < G_N_ELEMENTS(pre); j++)
        argv[(*n)++] = pre[j];
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
    if (ranks > 0)
        add_mpirun(argv, &n, timeout, mpirun, np);
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
        g_autofree char *r = ms_test_field(out, "ranks");
        CU_ASSERT_STRING_EQUAL(r ? r : "", np);
        /* One line, from rank 0. */
        const char *nl = strchr(out, '\n');
        CU_ASSERT(nl && nl[1] == '\0');
    }
    *events = ms_test_field(out, "events");
    *digest = ms_test_field(out, "digest");
    return *events && *digest;
}

static void
test_mpi_ranks_match_sequential(void)
{
    if (!ms_mpi_available()) {
        const char *argv[] = {
            ms_test_mailsim_path(), "bench", "phold", "--nodes", "4", "--end", "1ms", "--mpi", NULL
        };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run(argv, &out, &err), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unavailable"));
        ms_test_skip("built without Open MPI: only checked that --mpi is refused");
        return;
    }
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!mpirun) {
        ms_test_skip("no mpirun on the PATH");
        return;
    }
    static const struct {
        const char *opts[12];
        guint ranks[4];
    } cases[] = {
        { { "--nodes", "500", "--pop", "4", "--end", "300ms", NULL }, { 1, 2, 4, 0 } },
        { { "--nodes", "500", "--pop", "4", "--end", "300ms", "--partition", "block", NULL },
          { 2, 4, 0 } },
        /* Exp(1 ns) is mostly 0: equal times everywhere, events at window ends. */
        { { "--nodes", "200", "--pop", "3", "--mean", "1ns", "--end", "200ms", "--seed", "5",
            NULL },
          { 2, 4, 0 } },
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

/* Output of `mailsim run` without what differs by design between a
 * sequential and a partitioned run: the fingerprint line (per part), the
 * partition and distribution lines. */
static char *
comparable(const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    GString *s = g_string_new(NULL);
    for (guint i = 0; lines[i]; i++) {
        const char *l = lines[i];
        if (g_str_has_prefix(l, "  run fingerprint:") || g_str_has_prefix(l, "  events:") ||
            g_str_has_prefix(l, "Distribution:") || g_str_has_prefix(l, "Partitioned run:") ||
            g_str_has_prefix(l, "Pilot:") || !*l)
            continue;
        g_string_append_printf(s, "%s\n", l);
    }
    return g_string_free(s, FALSE);
}

/* The split a run chose: from its "Partitioned run:" line, the cut, the
 * lookahead and the hosts per part (not how the parts run). */
static char *
split_of(const char *out)
{
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        if (!g_str_has_prefix(lines[i], "Partitioned run:"))
            continue;
        for (const char *c = strstr(lines[i], ", "); c; c = strstr(c + 1, ", ")) {
            guint a = 0, b = 0;
            char word[8] = "";
            if (sscanf(c, ", %u of %u %7s", &a, &b, word) == 3 && strcmp(word, "links") == 0)
                return g_strdup(c + 2);
        }
    }
    return g_strdup("(none)");
}

/* The statistics file without its "run,events" row. */
static char *
read_stats(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("(missing)");
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_free(text);
    GString *kept = g_string_new(NULL);
    for (guint i = 0; lines[i]; i++)
        if (!g_str_has_prefix(lines[i], "run,events,"))
            g_string_append_printf(kept, "%s\n", lines[i]);
    return g_string_free(kept, FALSE);
}

/* How many ranks the Distribution line gives a peak memory for, in both
 * of its lists ("(per rank, rank 0 first: A, B MB; over the whole run: C,
 * D MB)", each figure positive); 0 when the lists disagree or are missing. */
static guint
rank_peaks(const char *out)
{
    const char *l = strstr(out, "Distribution:");
    const char *a = l ? strstr(l, "(per rank, rank 0 first: ") : NULL;
    const char *b = a ? strstr(a, "; over the whole run: ") : NULL;
    if (!b)
        return 0;
    guint n[2] = { 0, 0 };
    const char *p[2] = { a + strlen("(per rank, rank 0 first: "),
                         b + strlen("; over the whole run: ") };
    for (guint i = 0; i < 2; i++)
        for (;;) {
            char *end = NULL;
            double v = g_ascii_strtod(p[i], &end);
            if (end == p[i] || v <= 0)
                return 0;
            n[i]++;
            if (g_str_has_prefix(end, " MB"))
                break;
            if (!g_str_has_prefix(end, ", "))
                return 0;
            p[i] = end + 2;
        }
    return n[0] == n[1] ? n[0] : 0;
}

/* `mailsim run FILE -q --stats F` sequentially and under mpirun -np K with
 * --partition HOW: same summary, per-message outcomes, checks and
 * statistics file (counters added over ranks). */
static void
test_mpi_world_matches_sequential(void)
{
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!ms_mpi_available() || !mpirun) {
        ms_test_skip(mpirun ? "built without Open MPI" : "no mpirun on the PATH");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-mpi-XXXXXX", NULL);
    g_autofree char *gen = g_build_filename(dir, "gen.xml", NULL);
    static const char gen_xml[] = "<?xml version=\"1.0\"?>\n<scenario version=\"1\" "
                                  "name=\"gen-mpi\" seed=\"9\" until=\"3h\">\n"
                                  "  <generate topology=\"transit-stub\" domains=\"8\" "
                                  "routers=\"60\" users=\"80\" messages=\"300\" "
                                  "duration=\"2h\" seed=\"9\" outages=\"2\"/>\n</scenario>\n";
    CU_ASSERT_FATAL(g_file_set_contents(gen, gen_xml, -1, NULL));
    g_autofree char *timeout = g_find_program_in_path("timeout");
    static const struct {
        const char *file, *how, *fidelity;
    } cases[] = {
        { "scenarios/teaching/02-packets.xml", "mod", "packet" },
        { "scenarios/teaching/05-server-down.xml", "block", "packet" },
        { "scenarios/teaching/07-checking-mail.xml", "mod", "packet" },
        { NULL, "auto", "packet" }, /* the generated world */
        /* Flow level (sim/net/flow.c: rate signals travel the paths). */
        { "scenarios/teaching/05-server-down.xml", "mod", "flow" },
        { NULL, "auto", "flow" },
    };
    for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
        const char *file = cases[c].file ? cases[c].file : gen;
        g_autofree char *seq_stats = g_build_filename(dir, "seq.csv", NULL);
        const char *argv0[] = { ms_test_mailsim_path(), "run",     file,      "-q", "--fidelity",
                                cases[c].fidelity,      "--stats", seq_stats, NULL };
        g_autofree char *out0 = NULL, *err0 = NULL;
        int rc0 = run(argv0, &out0, &err0);
        CU_ASSERT(rc0 == 0 || rc0 == 1);
        g_autofree char *want = comparable(out0), *want_stats = read_stats(seq_stats);
        for (guint k = 1; k <= 4; k *= 2) {
            g_autofree char *np = g_strdup_printf("%u", k);
            g_autofree char *par_stats = g_build_filename(dir, "par.csv", NULL);
            const char *argv[24];
            guint n = 0;
            add_mpirun(argv, &n, timeout, mpirun, np);
            const char *rest[] = { ms_test_mailsim_path(),
                                   "run",
                                   file,
                                   "-q",
                                   "--partition",
                                   cases[c].how,
                                   "--fidelity",
                                   cases[c].fidelity,
                                   "--stats",
                                   par_stats,
                                   NULL };
            for (guint i = 0; rest[i]; i++)
                argv[n++] = rest[i];
            argv[n] = NULL;
            g_autofree char *out = NULL, *err = NULL;
            int rc = run(argv, &out, &err);
            CU_ASSERT_EQUAL(rc, rc0);
            g_autofree char *got = comparable(out ? out : ""), *got_stats = read_stats(par_stats);
            gboolean same = strcmp(got, want) == 0 && strcmp(got_stats, want_stats) == 0;
            if (!same)
                fprintf(stderr, "%s, %u ranks (%s, %s):\n--- sequential\n%s--- partitioned\n%s%s\n",
                        file, k, cases[c].how, cases[c].fidelity, want, got, err ? err : "");
            CU_ASSERT(same);
            CU_ASSERT_PTR_NOT_NULL(strstr(out ? out : "", "Distribution:"));
            CU_ASSERT_PTR_NOT_NULL(strstr(out ? out : "", " collectives each), waiting at "
                                                          "window ends "));
            CU_ASSERT_PTR_NOT_NULL(strstr(out ? out : "", "; CPU s per rank: "));
            CU_ASSERT_EQUAL(rank_peaks(out ? out : ""), k);
            /* Over MPI each rank pilots its part of a first split and the
             * counts are added up (ms_world_pilot_mpi()): the split is the
             * one the whole world's pilot gives, as --parts measures it. */
            if (strcmp(cases[c].how, "auto") == 0 && k > 1) {
                const char *argv1[] = { ms_test_mailsim_path(),
                                        "run",
                                        file,
                                        "--partition",
                                        "auto",
                                        "--parts",
                                        np,
                                        "--fidelity",
                                        cases[c].fidelity,
                                        NULL };
                g_autofree char *out1 = NULL, *err1 = NULL;
                CU_ASSERT_EQUAL(run(argv1, &out1, &err1), rc0);
                g_autofree char *split_mpi = split_of(out ? out : "");
                g_autofree char *split_whole = split_of(out1 ? out1 : "");
                if (strcmp(split_mpi, split_whole) != 0)
                    fprintf(stderr, "%s, %u ranks: split over MPI: %s\nin one process: %s\n", file,
                            k, split_mpi, split_whole);
                CU_ASSERT(strstr(out ? out : "", "\nPilot: ") != NULL);
                CU_ASSERT(strstr(split_mpi, "hosts per part") != NULL);
                CU_ASSERT_STRING_EQUAL(split_mpi, split_whole);
            }
            g_unlink(par_stats);
        }
        g_unlink(seq_stats);
    }
    g_unlink(gen);
    g_rmdir(dir);
}

/* Whether two files hold the same bytes (both must exist). */
static gboolean
same_file(const char *a, const char *b)
{
    g_autofree char *x = NULL, *y = NULL;
    gsize nx = 0, ny = 0;
    if (!g_file_get_contents(a, &x, &nx, NULL) || !g_file_get_contents(b, &y, &ny, NULL))
        return FALSE;
    return nx == ny && memcmp(x, y, nx) == 0;
}

/* `mpirun -np K mailsim sweep ... --mpi` for K = 1, 2, 3 (K = 2 with two
 * threads per rank), without a results folder: the ranks share the runs,
 * rank 0 gathers the results and writes the summary CSV, the tidy CSV, the
 * JSON and the plot, the same bytes as one process's. With a results
 * folder, rank 0's folder then holds every run (a rerun in one process
 * runs nothing and writes the same bytes). Under mpirun without --mpi the
 * sweep is refused. */
static void
test_mpi_sweep_matches_local(void)
{
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!ms_mpi_available() || !mpirun) {
        ms_test_skip(mpirun ? "built without Open MPI" : "no mpirun on the PATH");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-mpi-sweep-XXXXXX", NULL);
    g_autofree char *world = g_build_filename(dir, "world.xml", NULL);
    static const char world_xml[] =
        "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"sweep-mpi\" seed=\"3\" "
        "until=\"2h\" keep-bodies=\"false\">\n"
        "  <generate topology=\"transit-stub\" domains=\"8\" routers=\"60\" users=\"80\" "
        "messages=\"400\" duration=\"1h\" seed=\"3\" outages=\"1\"/>\n</scenario>\n";
    CU_ASSERT_FATAL(g_file_set_contents(world, world_xml, -1, NULL));
    g_autofree char *timeout = g_find_program_in_path("timeout");
    static const char *const ext[] = { ".csv", "-summary.csv", ".json", ".svg" };
    static const char *const opt[] = { "--tidy", "--csv", "--json", "--plot" };
    /* name: output prefix; np: 0 = no mpirun; results: folder or NULL */
    struct {
        const char *name;
        guint np;
        const char *jobs;
        gboolean mpi, results;
    } runs[] = {
        { "local", 0, "2", FALSE, FALSE }, { "k1", 1, "1", TRUE, FALSE },
        { "k2", 2, "2", TRUE, FALSE },     { "k3", 3, "1", TRUE, FALSE },
        { "k3r", 3, "1", TRUE, TRUE },     { "rerun", 0, "1", FALSE, TRUE },
        { "nompi", 2, "1", FALSE, FALSE },
    };
    g_autofree char *store = g_build_filename(dir, "results", NULL);
    for (guint i = 0; i < G_N_ELEMENTS(runs); i++) {
        const char *argv[48];
        guint n = 0;
        g_autofree char *np = g_strdup_printf("%u", runs[i].np);
        if (runs[i].np > 0)
            add_mpirun(argv, &n, timeout, mpirun, np);
        const char *args[] = { ms_test_mailsim_path(),
                               "sweep",
                               world,
                               "--seeds",
                               "1..4",
                               "--set",
                               "fidelity=packet,flow",
                               "--set",
                               "//generate/@messages=100,200",
                               "-q",
                               "--no-progress",
                               "-j",
                               runs[i].jobs };
        for (guint j = 0; j < G_N_ELEMENTS(args); j++)
            argv[n++] = args[j];
        char *paths[G_N_ELEMENTS(ext)];
        for (guint e = 0; e < G_N_ELEMENTS(ext); e++) {
            paths[e] = g_strdup_printf("%s/%s%s", dir, runs[i].name, ext[e]);
            argv[n++] = opt[e];
            argv[n++] = paths[e];
        }
        if (runs[i].mpi)
            argv[n++] = "--mpi";
        if (runs[i].results) {
            argv[n++] = "--results";
            argv[n++] = store;
        }
        argv[n] = NULL;
        g_autofree char *out = NULL, *err = NULL;
        int rc = run(argv, &out, &err);
        if (!strcmp(runs[i].name, "nompi")) {
            CU_ASSERT_EQUAL(rc, 2);
            CU_ASSERT_PTR_NOT_NULL(strstr(err ? err : "", "add --mpi"));
        } else {
            if (rc != 0)
                fprintf(stderr, "%s: exit %d: %s%s", runs[i].name, rc, out ? out : "",
                        err ? err : "");
            CU_ASSERT_EQUAL(rc, 0);
            for (guint e = 0; i > 0 && e < G_N_ELEMENTS(ext); e++) {
                g_autofree char *want = g_strdup_printf("%s/local%s", dir, ext[e]);
                gboolean same = same_file(want, paths[e]);
                if (!same)
                    fprintf(stderr, "%s: %s differs from the local sweep's\n", runs[i].name,
                            paths[e]);
                CU_ASSERT(same);
            }
        }
        if (!strcmp(runs[i].name, "k3r")) {
            /* rank 0's folder holds all 16 runs */
            g_autofree char *rd = g_build_filename(store, "runs", NULL);
            g_autoptr(GDir) d = g_dir_open(rd, 0, NULL);
            guint files = 0;
            for (const char *f; d && (f = g_dir_read_name(d));)
                files += g_str_has_suffix(f, ".run");
            CU_ASSERT_EQUAL(files, 16);
        }
        for (guint e = 0; e < G_N_ELEMENTS(ext); e++) {
            if (i > 0) /* the local sweep's are the reference */
                g_unlink(paths[e]);
            g_free(paths[e]);
        }
    }
    for (guint e = 0; e < G_N_ELEMENTS(ext); e++) {
        g_autofree char *p = g_strdup_printf("%s/local%s", dir, ext[e]);
        g_unlink(p);
    }
    g_autofree char *rd = g_build_filename(store, "runs", NULL);
    g_autoptr(GDir) d = g_dir_open(rd, 0, NULL);
    for (const char *f; d && (f = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(rd, f, NULL);
        g_unlink(p);
    }
    g_rmdir(rd);
    g_rmdir(store);
    g_unlink(world);
    g_rmdir(dir);
}

/* Bad --partition input: clear messages, exit 2, in process or not. */
static void
test_partition_usage_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-part-XXXXXX", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.part", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(bad, "# parts\npc-alice 0\nnosuch 1\n", -1, NULL));
    g_autofree char *dup = g_build_filename(dir, "dup.part", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(dup, "pc-alice 0\npc.alice-home.example 1\n", -1, NULL));
    g_autofree char *big = g_build_filename(dir, "big.part", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(big, "pc-alice 7\n", -1, NULL));
    g_autofree char *missing = g_build_filename(dir, "nope.part", NULL);
    const char *lesson = "scenarios/teaching/01-first-email.xml";
    static const char *const want[] = { ":3: unknown host 'nosuch'",
                                        ":2: host 'pc.alice-home.example' already placed on line 1",
                                        ":1: part 7 of host 'pc-alice'",
                                        "nope.part",
                                        "--parts needs --partition",
                                        "--parts" };
    const char *files[] = { bad, dup, big, missing };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        const char *argv[12] = { ms_test_mailsim_path(), "run", lesson, "-q" };
        guint n = 4;
        if (i < 4) {
            argv[n++] = "--partition";
            argv[n++] = files[i];
            argv[n++] = "--parts";
            argv[n++] = "2";
        } else if (i == 4) {
            argv[n++] = "--parts";
            argv[n++] = "2";
        } else {
            const char *x[] = { "--partition", "mod", "--parts", "0" };
            for (guint j = 0; j < G_N_ELEMENTS(x); j++)
                argv[n++] = x[j];
        }
        argv[n] = NULL;
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run(argv, &out, &err), 2);
        if (!strstr(err ? err : "", want[i]))
            fprintf(stderr, "case %u: expected '%s' in: %s\n", i, want[i], err ? err : "");
        CU_ASSERT_PTR_NOT_NULL(strstr(err ? err : "", want[i]));
    }
    /* The distribution options, each without what it needs. */
    static const struct {
        const char *args[7];
        const char *want;
    } dist[] = {
        { { "--dist-profile", "p.json" }, "--dist-profile needs --partition" },
        { { "--pilot", "1s" }, "--pilot needs --partition" },
        { { "--partition", "auto", "--parts", "2", "--pilot", "soon" }, "--pilot" },
        { { "--partition", "mod", "--parts", "2", "--tls-keylog", "k" },
          "--tls-keylog is for a run in one piece" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(dist); i++) {
        const char *argv[12] = { ms_test_mailsim_path(), "run", lesson, "-q" };
        guint n = 4;
        for (guint j = 0; dist[i].args[j]; j++)
            argv[n++] = dist[i].args[j];
        argv[n] = NULL;
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run(argv, &out, &err), 2);
        if (!strstr(err ? err : "", dist[i].want))
            fprintf(stderr, "dist case %u: expected '%s' in: %s\n", i, dist[i].want,
                    err ? err : "");
        CU_ASSERT_PTR_NOT_NULL(strstr(err ? err : "", dist[i].want));
    }
    g_unlink(bad);
    g_unlink(dup);
    g_unlink(big);
    g_rmdir(dir);
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The files of folder dir as one text (name and bytes of each, by name),
 * removing them and the folder. */
static char *
folder_text(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *f; d && (f = g_dir_read_name(d));)
        g_ptr_array_add(names, g_strdup(f));
    g_ptr_array_sort(names, by_name);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        g_autofree char *bytes = NULL;
        g_file_get_contents(path, &bytes, NULL, NULL);
        g_string_append_printf(s, "== %s\n%s", (char *) names->pdata[i], bytes ? bytes : "");
        g_unlink(path);
    }
    g_rmdir(dir);
    return g_string_free(s, FALSE);
}

/* `mpirun -np 2 mailsim run FILE --partition block --dmarc-reports DIR`
 * writes the sequential run's DMARC aggregate report byte for byte: lesson
 * 16 with rua= added, whose receiver runs on rank 1 (its report rows travel
 * to rank 0 with the records). */
static void
test_mpi_dmarc_reports(void)
{
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!ms_mpi_available() || !mpirun) {
        ms_test_skip(mpirun ? "built without Open MPI" : "no mpirun on the PATH");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-mpi-dmarc-XXXXXX", NULL);
    g_autofree char *lesson = NULL;
    CU_ASSERT_FATAL(g_file_get_contents("scenarios/teaching/16-forwarding-breaks-spf.xml", &lesson,
                                        NULL, NULL));
    g_auto(GStrv) pieces = g_strsplit(lesson, "<dmarc p=\"reject\"/>", -1);
    CU_ASSERT_FATAL(g_strv_length(pieces) == 2);
    g_autofree char *xml = g_strjoinv("<dmarc p=\"reject\" rua=\"dmarc@isp-a.net\"/>", pieces);
    g_autofree char *file = g_build_filename(dir, "16-rua.xml", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(file, xml, -1, NULL));
    g_autofree char *seq = g_build_filename(dir, "seq", NULL);
    g_autofree char *par = g_build_filename(dir, "par", NULL);
    const char *argv0[] = {
        ms_test_mailsim_path(), "run", file, "-q", "--dmarc-reports", seq, NULL
    };
    g_autofree char *out0 = NULL, *err0 = NULL;
    CU_ASSERT_EQUAL(run(argv0, &out0, &err0), 0);
    g_autofree char *timeout = g_find_program_in_path("timeout");
    const char *argv[24];
    guint n = 0;
    add_mpirun(argv, &n, timeout, mpirun, "2");
    const char *rest[] = { ms_test_mailsim_path(), "run", file, "-q", "--partition", "block",
                           "--dmarc-reports",      par,   NULL };
    for (guint i = 0; rest[i]; i++)
        argv[n++] = rest[i];
    argv[n] = NULL;
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run(argv, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err ? err : "", "1 DMARC aggregate report written to"));
    g_autofree char *want = folder_text(seq), *got = folder_text(par);
    CU_ASSERT_PTR_NOT_NULL(strstr(want, "== isp-b.net!isp-a.net!"));
    if (strcmp(want, got) != 0)
        fprintf(stderr, "--- sequential\n%s--- 2 ranks\n%s%s\n", want, got, err ? err : "");
    CU_ASSERT_STRING_EQUAL(got, want);
    g_unlink(file);
    g_rmdir(dir);
}

static gint64
member_int(JsonObject *o, const char *key)
{
    return json_object_has_member(o, key) ? json_object_get_int_member(o, key) : -1;
}

/* `mpirun -np 2 mailsim run WORLD --partition auto --dist-profile F`: the
 * results are still the sequential run's, and F is a profile whose parts
 * agree with each other: both ranks ran the same windows, the windows'
 * buckets add up to the rank's totals, what each rank sent adds up per
 * destination, the hosts per rank add up to the world's, and the survey
 * starts at 2 parts with a lookahead. */
static void
test_mpi_dist_profile(void)
{
    g_autofree char *mpirun = g_find_program_in_path("mpirun");
    if (!ms_mpi_available() || !mpirun) {
        ms_test_skip(mpirun ? "built without Open MPI" : "no mpirun on the PATH");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-mpi-prof-XXXXXX", NULL);
    g_autofree char *gen = ms_test_write_profile_world(dir);
    g_autofree char *prof = g_build_filename(dir, "prof.json", NULL);
    g_autofree char *timeout = g_find_program_in_path("timeout");
    const char *argv0[] = { ms_test_mailsim_path(), "run", gen, "-q", NULL };
    g_autofree char *out0 = NULL, *err0 = NULL;
    int rc0 = run(argv0, &out0, &err0);
    const char *argv[24];
    guint n = 0;
    add_mpirun(argv, &n, timeout, mpirun, "2");
    const char *rest[] = { ms_test_mailsim_path(), "run", gen, "-q", "--partition", "auto",
                           "--dist-profile", prof, NULL };
    for (guint i = 0; rest[i]; i++)
        argv[n++] = rest[i];
    argv[n] = NULL;
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run(argv, &out, &err), rc0);
    g_autofree char *want = comparable(out0 ? out0 : ""), *got = comparable(out ? out : "");
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(out ? out : "", "Pilot: "));
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    gboolean parsed = json_parser_load_from_file(parser, prof, &error);
    if (!parsed)
        fprintf(stderr, "%s: %s\n%s", prof, error->message, err ? err : "");
    CU_ASSERT_FATAL(parsed);
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(root, "format"), "mailsim-dist-profile");
    CU_ASSERT_EQUAL(member_int(root, "ranks"), 2);
    JsonArray *ranks = json_object_get_array_member(root, "per_rank");
    CU_ASSERT_FATAL(ranks && json_array_get_length(ranks) == 2);
    gint64 hosts = 0, windows0 = -1;
    gint64 to[2] = { 0, 0 };
    for (guint r = 0; r < 2; r++) {
        JsonObject *o = json_array_get_object_element(ranks, r);
        hosts += member_int(o, "hosts");
        gint64 w = member_int(o, "windows");
        CU_ASSERT(w > 0);
        if (windows0 < 0)
            windows0 = w;
        CU_ASSERT_EQUAL(w, windows0);
        JsonArray *b = json_object_get_array_member(o, "buckets");
        gint64 bw = 0, be = 0, bs = 0;
        for (guint i = 0; i < json_array_get_length(b); i++) {
            JsonObject *k = json_array_get_object_element(b, i);
            bw += member_int(k, "windows");
            be += member_int(k, "events");
            bs += member_int(k, "sent_bytes");
        }
        CU_ASSERT_EQUAL(bw, w);
        CU_ASSERT(be > 0 && be <= member_int(o, "events"));
        JsonArray *bt = json_object_get_array_member(o, "bytes_to");
        CU_ASSERT_EQUAL(json_array_get_int_element(bt, r), 0);
        gint64 sum = 0;
        for (guint q = 0; q < 2; q++) {
            sum += json_array_get_int_element(bt, q);
            to[q] += json_array_get_int_element(bt, q);
        }
        CU_ASSERT_EQUAL(sum, member_int(o, "bytes_sent"));
        CU_ASSERT_EQUAL(bs, sum);
        CU_ASSERT(json_object_get_double_member(o, "cpu_s") > 0);
    }
    CU_ASSERT(to[0] > 0 && to[1] > 0);
    CU_ASSERT_EQUAL(hosts, member_int(root, "hosts"));
    /* The busiest rank's events per window, summed: at least the larger
     * rank's events, less than all (both ranks ran in some window). */
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(root, "transport"), "mpi");
    gint64 ev0 = member_int(json_array_get_object_element(ranks, 0), "events");
    gint64 ev1 = member_int(json_array_get_object_element(ranks, 1), "events");
    gint64 busiest = member_int(root, "busiest_events");
    CU_ASSERT(busiest >= MAX(ev0, ev1) && busiest < ev0 + ev1);
    JsonArray *survey = json_object_get_array_member(root, "survey");
    CU_ASSERT_FATAL(survey && json_array_get_length(survey) >= 1);
    JsonObject *s2 = json_array_get_object_element(survey, 0);
    CU_ASSERT_EQUAL(member_int(s2, "parts"), 2);
    CU_ASSERT(json_object_get_double_member(s2, "lookahead_s") > 0);
    /* The scaling model reads what the run wrote. */
    if (g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
        const char *mv[] = { "/usr/bin/python3", "tools/scaling_model.py", prof, NULL };
        g_autofree char *mout = NULL, *merr = NULL;
        int mrc = run(mv, &mout, &merr);
        if (mrc != 0)
            fprintf(stderr, "scaling model: %s%s", mout ? mout : "", merr ? merr : "");
        CU_ASSERT_EQUAL(mrc, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(mout ? mout : "", "Calibration (from 1 profile"));
    }
    g_unlink(prof);
    g_unlink(gen);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "--mpi usage errors", test_mpi_usage_errors },
        { "1, 2, 4 ranks = sequential (or unavailable)", test_mpi_ranks_match_sequential },
        { "mailsim run --partition on 1, 2, 4 ranks = sequential",
          test_mpi_world_matches_sequential },
        { "--partition usage errors", test_partition_usage_errors },
        { "--dmarc-reports over 2 ranks = the sequential files", test_mpi_dmarc_reports },
        { "--dist-profile: a consistent profile, results unchanged", test_mpi_dist_profile },
        { "mpirun -np 1, 2, 3 mailsim sweep --mpi = a local sweep, byte for byte",
          test_mpi_sweep_matches_local },
        { NULL, NULL },
    };
    return ms_test_main("mpi", cases);
}
