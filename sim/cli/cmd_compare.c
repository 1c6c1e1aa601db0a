/* `mailsim compare RESULTS.json A B [--with OTHER.json] [--stats LIST]
 * [--welch]`: per statistic, the difference B - A between two grid points
 * of a sweep's results (include/mailsim/sweep_compare.h), its 95 %
 * confidence interval, the p-value and whether it is significant; paired
 * by seed where both points ran the same seeds, Welch otherwise. B may come
 * from another results file (--with). Exit 0, or 2 on bad usage or input. */
#include "mailsim/cli.h"
#include "mailsim/sweep.h"
#include "mailsim/sweep_compare.h"
#include "mailsim/sweep_results.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static char *
describe_point(const MsSweepResults *r, guint p)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "point %u", p);
    for (guint k = 0; k < ms_sweep_results_n_axes(r); k++)
        g_string_append_printf(s, "%s%s=%s", k ? ", " : " (", ms_sweep_results_axis(r, k),
                               ms_sweep_results_setting(r, p, k));
    if (ms_sweep_results_n_axes(r))
        g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

static void
num(char *buf, gsize len, double v)
{
    g_ascii_formatd(buf, len, "%.4g", v);
}

int
ms_cmd_compare(int argc, char **argv)
{
    const char *cmd = "compare";
    g_autofree char *with = NULL, *stats_s = NULL;
    gboolean welch = FALSE;
    GOptionEntry entries[] = {
        { "with", 0, 0, G_OPTION_ARG_FILENAME, &with, "take point B from this results file instead",
          "OTHER.json" },
        { "stats", 0, 0, G_OPTION_ARG_STRING, &stats_s,
          "the statistics to compare (default: all the results hold)", "A,B,..." },
        { "welch", 0, 0, G_OPTION_ARG_NONE, &welch,
          "Welch's unpaired interval even where the seeds are the same", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("RESULTS.json A B - the difference between two grid points");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "RESULTS.json is the --json of mailsim sweep (or an experiment's json= output).\n"
             "A and B name grid points: a number (the CSVs' \"point\" column), or settings\n"
             "AXIS=VALUE[,AXIS=VALUE...] that match exactly one point.\n"
             "Per statistic: the means, B - A with its 95 % confidence interval (Student t),\n"
             "the two-sided p-value, and whether the difference is significant (the interval\n"
             "leaves out 0). Paired by seed when both points ran the same seeds; Welch's\n"
             "interval otherwise.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc != 4)
        return ms_cli_usage(cmd,
                            argc < 4 ? "expected RESULTS.json A B" : "unexpected argument '%s'",
                            argc < 4 ? "" : argv[4]);
    g_autoptr(GError) error = NULL;
    g_autoptr(MsSweepResults) a = ms_sweep_results_load_file(argv[1], &error);
    if (!a) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(MsSweepResults) other = NULL;
    if (with) {
        other = ms_sweep_results_load_file(with, &error);
        if (!other) {
            fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
            return MS_EXIT_USAGE;
        }
    }
    const MsSweepResults *b = other ? other : a;
    gint pa = ms_sweep_results_find_point(a, argv[2], &error);
    if (pa < 0)
        return ms_cli_usage(cmd, "A: %s: %s", argv[1], error->message);
    gint pb = ms_sweep_results_find_point(b, argv[3], &error);
    if (pb < 0)
        return ms_cli_usage(cmd, "B: %s: %s", with ? with : argv[1], error->message);
    g_autoptr(GPtrArray) stats = g_ptr_array_new_with_free_func(g_free);
    if (stats_s) {
        g_auto(GStrv) parts = g_strsplit(stats_s, ",", -1);
        for (char **p = parts; *p; p++)
            if (*g_strstrip(*p))
                g_ptr_array_add(stats, g_strdup(*p));
    } else {
        for (guint s = 0; s < ms_sweep_results_n_stats(a); s++)
            if (ms_sweep_results_find_stat(b, ms_sweep_results_stat_name(a, s)) >= 0)
                g_ptr_array_add(stats, g_strdup(ms_sweep_results_stat_name(a, s)));
    }
    g_autofree char *da = describe_point(a, (guint) pa), *db = describe_point(b, (guint) pb);
    g_autoptr(GString) out = g_string_new(NULL);
    g_string_append_printf(out, "A: %s of %s\nB: %s of %s\n", da, argv[1], db,
                           with ? with : argv[1]);
    gboolean any_paired = FALSE, any_welch = FALSE;
    g_autoptr(GString) rows = g_string_new(NULL);
    for (guint i = 0; i < stats->len; i++) {
        MsSweepComparison c;
        if (!ms_sweep_compare(a, (guint) pa, b, (guint) pb, stats->pdata[i], welch, &c, &error)) {
            fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
            return MS_EXIT_USAGE;
        }
        char ma[32], mb[32], d[32], lo[32], hi[32], p[32];
        num(ma, sizeof ma, c.mean_a);
        num(mb, sizeof mb, c.mean_b);
        num(d, sizeof d, c.diff);
        num(lo, sizeof lo, c.lo);
        num(hi, sizeof hi, c.hi);
        g_ascii_formatd(p, sizeof p, "%.3g", c.p);
        g_autofree char *ci = c.defined ? g_strdup_printf("[%s, %s]", lo, hi) : g_strdup("n/a");
        g_string_append_printf(rows, "%-18s %12s %12s %12s %26s %9s  %s\n",
                               (const char *) stats->pdata[i], ma, mb, d, ci, c.defined ? p : "n/a",
                               !c.defined      ? "n/a (fewer than 2 replications)"
                               : c.significant ? "yes"
                                               : "no");
        any_paired |= c.paired;
        any_welch |= !c.paired;
    }
    guint na = ms_sweep_results_n_seeds(a);
    if (any_paired)
        g_string_append_printf(out, "Paired by seed (%u seed%s): B - A per seed, t with %u df.\n",
                               na, na == 1 ? "" : "s", na ? na - 1 : 0);
    if (any_welch)
        g_string_append(out, "Welch's interval (the points did not run the same seeds, or "
                             "--welch): t with the Welch-Satterthwaite df.\n");
    g_string_append_printf(out, "\n%-18s %12s %12s %12s %26s %9s  %s\n%s", "statistic", "A mean",
                           "B mean", "B - A", "95% CI of B - A", "p", "significant", rows->str);
    fputs(out->str, stdout);
    return MS_EXIT_OK;
}
