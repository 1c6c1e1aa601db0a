/* Comparing two grid points of a sweep (include/mailsim/sweep_compare.h):
 * paired t intervals over common seeds, Welch's interval otherwise, from
 * the replications a sweep's JSON holds.
 *
 * Design. Paired: d_i = b_i - a_i over the seeds both ran; mean and sd of
 * d; the interval mean +/- t(0.975, n-1) sd / sqrt(n). Welch: the standard
 * error sqrt(va/na + vb/nb) and the Welch-Satterthwaite degrees of freedom
 * (va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1)). When every
 * difference is the same (sd 0: deterministic models give that), the
 * interval is that single value, significant when it is not 0, p 0 or 1.
 * Pure functions of the results. */
#include "mailsim/sweep_compare.h"
#include "mailsim/sweep.h"

#include <math.h>
#include <string.h>

static void
mean_var(const double *v, guint n, double *mean, double *var)
{
    double m = 0, ss = 0;
    for (guint i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (guint i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *var = n > 1 ? ss / (n - 1) : 0;
}

static gboolean
same_seeds(const MsSweepResults *a, const MsSweepResults *b)
{
    if (ms_sweep_results_n_seeds(a) != ms_sweep_results_n_seeds(b))
        return FALSE;
    for (guint i = 0; i < ms_sweep_results_n_seeds(a); i++)
        if (ms_sweep_results_seed(a, i) != ms_sweep_results_seed(b, i))
            return FALSE;
    return TRUE;
}

/* The interval diff +/- t * se, its p-value and significance. */
static void
finish(MsSweepComparison *c, double se)
{
    if (!(se > 0)) {
        c->lo = c->hi = c->diff;
        c->significant = c->diff != 0;
        c->p = c->significant ? 0 : 1;
        return;
    }
    double t = ms_sweep_t_quantile(0.975, c->df);
    c->lo = c->diff - t * se;
    c->hi = c->diff + t * se;
    c->significant = c->lo > 0 || c->hi < 0;
    c->p = 2 * (1 - ms_sweep_t_cdf(fabs(c->diff) / se, c->df));
}

gboolean
ms_sweep_compare(const MsSweepResults *a, guint pa, const MsSweepResults *b, guint pb,
                 const char *stat, gboolean welch, MsSweepComparison *out, GError **error)
{
    memset(out, 0, sizeof *out);
    gint sa = ms_sweep_results_find_stat(a, stat), sb = ms_sweep_results_find_stat(b, stat);
    if (sa < 0 || sb < 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "statistic '%s' is not in %s results", stat,
                    sa < 0 ? "the first" : "the second");
        return FALSE;
    }
    MsSweepSummary xa, xb;
    ms_sweep_results_get(a, pa, (guint) sa, &xa);
    ms_sweep_results_get(b, pb, (guint) sb, &xb);
    if (!xa.values || !xb.values) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "statistic '%s': the results hold only summaries, not every replication: "
                    "compare needs the JSON of mailsim sweep --json",
                    stat);
        return FALSE;
    }
    out->n_a = xa.n_values;
    out->n_b = xb.n_values;
    double va, vb;
    mean_var(xa.values, xa.n_values, &out->mean_a, &va);
    mean_var(xb.values, xb.n_values, &out->mean_b, &vb);
    out->diff = out->mean_b - out->mean_a;
    out->paired = !welch && same_seeds(a, b) && xa.n_values == xb.n_values;
    if (out->paired) {
        guint n = xa.n_values;
        g_autofree double *d = g_new(double, n);
        for (guint i = 0; i < n; i++)
            d[i] = xb.values[i] - xa.values[i];
        double md, vd;
        mean_var(d, n, &md, &vd);
        out->diff = md;
        out->defined = n >= 2;
        out->df = n - 1;
        if (out->defined)
            finish(out, sqrt(vd / n));
        return TRUE;
    }
    out->defined = xa.n_values >= 2 && xb.n_values >= 2;
    if (!out->defined)
        return TRUE;
    double ea = va / xa.n_values, eb = vb / xb.n_values;
    double se = sqrt(ea + eb);
    out->df =
        se > 0 ? (ea + eb) * (ea + eb) / (ea * ea / (xa.n_values - 1) + eb * eb / (xb.n_values - 1))
               : xa.n_values + xb.n_values - 2;
    finish(out, se);
    return TRUE;
}

gint
ms_sweep_results_find_point(const MsSweepResults *r, const char *spec, GError **error)
{
    guint np = ms_sweep_results_n_points(r), na = ms_sweep_results_n_axes(r);
    char *end = NULL;
    guint64 n = g_ascii_strtoull(spec, &end, 10);
    if (*spec && end && !*end) {
        if (n >= np) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "point %s: the results have points 0 to %u", spec,
                        np - 1);
            return -1;
        }
        return (gint) n;
    }
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    guint nparts = g_strv_length(parts);
    g_autofree gint *axis = g_new0(gint, MAX(nparts, 1));
    g_autofree char **value = g_new0(char *, MAX(nparts, 1));
    for (guint i = 0; i < nparts; i++) {
        char *eq = strchr(parts[i], '=');
        if (!eq) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "point '%s': expected a point number or AXIS=VALUE[,AXIS=VALUE...]", spec);
            return -1;
        }
        *eq = '\0';
        g_strstrip(parts[i]);
        value[i] = g_strstrip(eq + 1);
        axis[i] = -1;
        for (guint k = 0; k < na; k++)
            if (!strcmp(ms_sweep_results_axis(r, k), parts[i]))
                axis[i] = (gint) k;
        if (axis[i] < 0) {
            g_autoptr(GString) names = g_string_new(NULL);
            for (guint k = 0; k < na; k++)
                g_string_append_printf(names, "%s%s", k ? ", " : "", ms_sweep_results_axis(r, k));
            g_set_error(error, MS_SWEEP_ERROR, 0, "point '%s': no axis '%s' (the axes: %s)", spec,
                        parts[i], names->len ? names->str : "none");
            return -1;
        }
    }
    gint found = -1;
    g_autoptr(GString) all = g_string_new(NULL);
    guint matches = 0;
    for (guint p = 0; p < np; p++) {
        gboolean ok = TRUE;
        for (guint i = 0; i < nparts && ok; i++)
            ok = !strcmp(ms_sweep_results_setting(r, p, (guint) axis[i]), value[i]);
        if (!ok)
            continue;
        matches++;
        found = (gint) p;
        if (matches <= 6)
            g_string_append_printf(all, "%s%u", all->len ? ", " : "", p);
    }
    if (matches != 1) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    matches ? "point '%s' matches %u points (%s%s): name more axes, or give the "
                              "point's number"
                            : "point '%s' matches no point of the results",
                    spec, matches, all->str, matches > 6 ? ", ..." : "");
        return -1;
    }
    return found;
}
