/* A sweep across runs, by axis (include/mailsim/viz.h, ms_viz_sweep_by):
 * one row of panels per statistic and, with a split axis, one column per
 * value of that axis (small multiples, sharing the y scale along a row);
 * in each panel the chosen axis runs along x, and every combination of the
 * other varying axes is one series: its means joined by a line, each with
 * its 95 % confidence interval bar, and every replication as a faint dot.
 *
 * Design. The x axis is numeric when every value of the chosen axis reads
 * as a number, a percentage, a time or a size (viz/sweep_plot.c's
 * readers), and logarithmic when those values are all above zero and span
 * two decades or more (1e3..1e6 messages); otherwise categorical, one slot
 * per value in the order of the grid. Series take the Okabe-Ito colours in
 * order of first appearance, so one sweep always gives the same picture.
 * When no x axis is named, the first varying axis that is not the split
 * one is used.
 *
 * In SVG every panel is <g class="panel" id="panel-STAT-N"> (N the split
 * value's number from 1), every series in it <g class="series"
 * id="panel-STAT-N-series-M"> holding a <g class="point"> per x value.
 * Ownership: the results are borrowed; the canvas returned is the
 * caller's. Costs: O(panels x points x seeds) paths. */
#include "mailsim/units.h"
#include "mailsim/viz.h"
#include "mailsim/viz_axes.h"
#include "mailsim/viz_sweep.h"

#include <math.h>
#include <string.h>

static const guint32 palette[] = { 0x0072B2u, 0xD55E00u, 0x009E73u, 0xCC79A7u,
                                   0xE69F00u, 0x56B4E9u, 0x000000u, 0xF0E442u };

gboolean
ms_viz_sweep_read_value(const char *text, MsVizValueKind kind, double *out)
{
    char *end = NULL;
    switch (kind) {
    case MS_VIZ_VALUE_PLAIN:
        *out = g_ascii_strtod(text, &end);
        return end && end != text && *end == '\0' && isfinite(*out);
    case MS_VIZ_VALUE_PERCENT:
        *out = g_ascii_strtod(text, &end);
        return end && end != text && !strcmp(end, "%") && isfinite(*out);
    case MS_VIZ_VALUE_TIME: {
        MsTime t;
        if (!ms_units_parse_time(text, &t, NULL))
            return FALSE;
        *out = ms_time_to_seconds(t);
        return TRUE;
    }
    case MS_VIZ_VALUE_SIZE:
        break;
    }
    guint64 b;
    if (!ms_units_parse_size(text, &b, NULL))
        return FALSE;
    *out = (double) b;
    return TRUE;
}

typedef struct {
    const MsSweepResults *r;
    guint np;
    gint kx, ks;         /* axis indices; ks -1 without a split */
    GPtrArray *xvals;    /* char*: distinct values of kx, grid order */
    GPtrArray *svals;    /* char*: distinct values of ks (one "" without) */
    GPtrArray *series;   /* char*: labels of the other varying axes' combinations */
    guint *px, *ps, *pr; /* per point: x slot, split slot, series */
    gboolean numeric, log_x;
    double *xs; /* per x slot, in xunit */
    double xunit;
    char *xlabel;
} Layout;

static guint
intern(GPtrArray *a, const char *s)
{
    for (guint i = 0; i < a->len; i++)
        if (!strcmp(a->pdata[i], s))
            return i;
    g_ptr_array_add(a, g_strdup(s));
    return a->len - 1;
}

static void
layout_clear(Layout *l)
{
    g_ptr_array_unref(l->xvals);
    g_ptr_array_unref(l->svals);
    g_ptr_array_unref(l->series);
    g_free(l->px);
    g_free(l->ps);
    g_free(l->pr);
    g_free(l->xs);
    g_free(l->xlabel);
}

static gint
find_axis(const MsSweepResults *r, const char *name)
{
    for (guint k = 0; k < ms_sweep_results_n_axes(r); k++)
        if (!strcmp(ms_sweep_results_axis(r, k), name))
            return (gint) k;
    return -1;
}

static gboolean
varies(const MsSweepResults *r, guint k)
{
    for (guint p = 1; p < ms_sweep_results_n_points(r); p++)
        if (strcmp(ms_sweep_results_setting(r, p, k), ms_sweep_results_setting(r, 0, k)))
            return TRUE;
    return FALSE;
}

static gboolean
layout_init(Layout *l, const MsSweepResults *r, const char *x, const char *split, GError **error)
{
    memset(l, 0, sizeof *l);
    l->r = r;
    l->np = ms_sweep_results_n_points(r);
    l->xvals = g_ptr_array_new_with_free_func(g_free);
    l->svals = g_ptr_array_new_with_free_func(g_free);
    l->series = g_ptr_array_new_with_free_func(g_free);
    guint na = ms_sweep_results_n_axes(r);
    l->ks = split ? find_axis(r, split) : -1;
    if (split && l->ks < 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "the sweep has no axis '%s'", split);
        return FALSE;
    }
    l->kx = x ? find_axis(r, x) : -1;
    if (x && l->kx < 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "the sweep has no axis '%s'", x);
        return FALSE;
    }
    for (guint k = 0; !x && k < na; k++)
        if ((gint) k != l->ks && varies(r, k)) {
            l->kx = (gint) k;
            break;
        }
    if (l->kx < 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                    "no axis of the sweep varies%s: nothing to put along x",
                    split ? " besides the split one" : "");
        return FALSE;
    }
    if (l->kx == l->ks) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                    "axis '%s' cannot be both x and the split", x);
        return FALSE;
    }
    l->px = g_new0(guint, l->np);
    l->ps = g_new0(guint, l->np);
    l->pr = g_new0(guint, l->np);
    for (guint p = 0; p < l->np; p++) {
        l->px[p] = intern(l->xvals, ms_sweep_results_setting(r, p, (guint) l->kx));
        l->ps[p] =
            intern(l->svals, l->ks >= 0 ? ms_sweep_results_setting(r, p, (guint) l->ks) : "");
        g_autoptr(GString) s = g_string_new(NULL);
        for (guint k = 0; k < na; k++)
            if ((gint) k != l->kx && (gint) k != l->ks && varies(r, k))
                g_string_append_printf(s, "%s%s=%s", s->len ? ", " : "",
                                       ms_sweep_results_axis(r, k),
                                       ms_sweep_results_setting(r, p, k));
        l->pr[p] = intern(l->series, s->str);
    }
    guint nx = l->xvals->len;
    l->xs = g_new0(double, nx);
    l->xunit = 1;
    const char *key = ms_sweep_results_axis(r, (guint) l->kx);
    for (int kind = 0; kind < 4 && !l->numeric; kind++) {
        gboolean all = TRUE;
        double lo = INFINITY, hi = -INFINITY;
        for (guint i = 0; i < nx && all; i++) {
            all = ms_viz_sweep_read_value(l->xvals->pdata[i], (MsVizValueKind) kind, &l->xs[i]);
            lo = MIN(lo, l->xs[i]);
            hi = MAX(hi, l->xs[i]);
        }
        if (!all)
            continue;
        l->numeric = TRUE;
        l->log_x = lo > 0 && hi / lo >= 100;
        const char *uname = kind == MS_VIZ_VALUE_PERCENT ? "%" : NULL;
        if (kind == MS_VIZ_VALUE_TIME)
            ms_viz_axes_time_unit(hi, &l->xunit, &uname);
        else if (kind == MS_VIZ_VALUE_SIZE && !l->log_x) {
            l->xunit = hi >= 1e6 ? 1e6 : hi >= 1e3 ? 1e3 : 1;
            uname = hi >= 1e6 ? "MB" : hi >= 1e3 ? "KB" : "B";
        }
        for (guint i = 0; i < nx; i++)
            l->xs[i] /= l->xunit;
        l->xlabel = uname ? g_strdup_printf("%s (%s%s)", key, uname, l->log_x ? ", log scale" : "")
                          : g_strdup_printf("%s%s", key, l->log_x ? " (log scale)" : "");
    }
    if (!l->numeric)
        l->xlabel = g_strdup(key);
    return TRUE;
}

static double
slot_x(const Layout *l, const MsVizAxes *a, guint slot)
{
    if (l->numeric)
        return ms_viz_axes_x(a, l->xs[slot]);
    return a->x + a->w * (slot + 0.5) / l->xvals->len;
}

static void
bar(MsVizCanvas *c, double x, double ylo, double yhi, guint32 colour)
{
    MsVizStyle st = { 0, 0, colour, 1, 1.6, FALSE };
    ms_viz_canvas_move_to(c, x, ylo);
    ms_viz_canvas_line_to(c, x, yhi);
    ms_viz_canvas_move_to(c, x - 4, ylo);
    ms_viz_canvas_line_to(c, x + 4, ylo);
    ms_viz_canvas_move_to(c, x - 4, yhi);
    ms_viz_canvas_line_to(c, x + 4, yhi);
    ms_viz_canvas_paint(c, &st);
}

static const char *
stat_title(const char *name, const char **unit)
{
    static const struct {
        const char *name, *title, *unit;
    } t[] = {
        { "latency_mean_s", "Delivery latency, mean", NULL },
        { "latency_p50_s", "Delivery latency, median", NULL },
        { "latency_p95_s", "Delivery latency, p95", NULL },
        { "latency_p99_s", "Delivery latency, p99", NULL },
        { "latency_max_s", "Delivery latency, largest", NULL },
        { "delivered", "Recipients delivered", "recipients" },
        { "queued", "Recipients still queued", "recipients" },
        { "bounced", "Recipients bounced", "recipients" },
        { "deferrals", "Deferrals", "deferrals" },
        { "attempts", "Delivery attempts", "attempts" },
        { "queue_peak", "Largest queue of any server", "messages" },
        { "tcp_retransmits", "TCP retransmissions", "segments" },
        { "packets_dropped", "Packets dropped", "packets" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(t); i++)
        if (!strcmp(t[i].name, name)) {
            *unit = t[i].unit;
            return t[i].title;
        }
    *unit = g_str_has_suffix(name, "_s") ? NULL : "count";
    return name;
}

static void
draw_panel(MsVizCanvas *c, const Layout *l, guint stat, guint split, MsVizAxes a, double lo,
           double hi, gboolean non_negative)
{
    const MsSweepResults *r = l->r;
    const char *name = ms_sweep_results_stat_name(r, stat), *unit_name;
    const char *title = stat_title(name, &unit_name);
    double unit = 1;
    gboolean is_time = unit_name == NULL;
    if (is_time)
        ms_viz_axes_time_unit(MAX(fabs(lo), fabs(hi)), &unit, &unit_name);
    lo /= unit;
    hi /= unit;
    if (hi - lo < 1e-9 * MAX(1, fabs(hi))) {
        double pad = MAX(fabs(hi) * 0.1, is_time ? 0.001 : 1);
        lo -= pad;
        hi += pad;
    }
    double ystep = ms_viz_axes_nice_step(hi - lo, 4);
    a.y0 = floor(lo / ystep) * ystep;
    a.y1 = ceil(hi / ystep) * ystep;
    if (non_negative) /* no negative counts or times, even where a CI reaches below 0 */
        a.y0 = MAX(a.y0, 0);
    if (a.y1 <= a.y0)
        a.y1 = a.y0 + ystep;
    double xstep = 0;
    guint nx = l->xvals->len;
    if (l->numeric) {
        double xmin = INFINITY, xmax = -INFINITY;
        for (guint i = 0; i < nx; i++) {
            xmin = MIN(xmin, l->xs[i]);
            xmax = MAX(xmax, l->xs[i]);
        }
        if (l->log_x) {
            a.log_x = TRUE;
            a.x0 = pow(10, floor(log10(xmin)));
            a.x1 = pow(10, ceil(log10(xmax)));
            if (a.x1 <= a.x0)
                a.x1 = a.x0 * 10;
            xstep = 1;
        } else {
            double pad = xmax > xmin ? (xmax - xmin) * 0.08 : MAX(fabs(xmax) * 0.1, 1);
            xstep = ms_viz_axes_nice_step(xmax - xmin + 2 * pad, 5);
            a.x0 = floor((xmin - pad) / xstep) * xstep;
            a.x1 = ceil((xmax + pad) / xstep) * xstep;
            if (xmin >= 0)
                a.x0 = MAX(a.x0, 0);
        }
    } else {
        a.x0 = 0;
        a.x1 = 1;
    }
    g_autofree char *id = g_strdup_printf("panel-%s-%u", name, split + 1);
    g_autofree char *ptitle =
        l->ks >= 0 ? g_strdup_printf("%s, %s=%s", title, ms_sweep_results_axis(r, (guint) l->ks),
                                     (const char *) l->svals->pdata[split])
                   : g_strdup(title);
    g_autofree char *ylabel =
        is_time ? g_strdup_printf("latency (%s)", unit_name) : g_strdup(unit_name);
    ms_viz_canvas_group_begin(c, id, "panel", 0);
    ms_viz_axes_draw(c, &a, xstep, ystep, l->xlabel, ylabel, ptitle);
    MsVizFont tf = { 11.5, FALSE, FALSE };
    for (guint i = 0; !l->numeric && i < nx; i++)
        ms_viz_canvas_text(c, slot_x(l, &a, i), a.y + a.h + 8, MS_VIZ_ANCHOR_MIDDLE, &tf,
                           MS_VIZ_SOFT, l->xvals->pdata[i]);
    guint ns = l->series->len;
    for (guint s = 0; s < ns; s++) {
        guint32 colour = palette[s % G_N_ELEMENTS(palette)];
        double off = ns > 1 ? (s - (ns - 1) / 2.0) * 5 : 0; /* keep bars apart */
        g_autofree char *sid = g_strdup_printf("%s-series-%u", id, s + 1);
        ms_viz_canvas_group_begin(c, sid, "series", 0);
        /* the line through the means, in x order */
        MsVizStyle line = { 0, 0, colour, 0.8, 1.6, FALSE };
        gboolean started = FALSE;
        for (guint i = 0; i < nx; i++)
            for (guint p = 0; p < l->np; p++) {
                if (l->px[p] != i || l->ps[p] != split || l->pr[p] != s)
                    continue;
                MsSweepSummary sm;
                ms_sweep_results_get(r, p, stat, &sm);
                double x = slot_x(l, &a, i) + off, y = ms_viz_axes_y(&a, sm.mean / unit);
                if (started)
                    ms_viz_canvas_line_to(c, x, y);
                else
                    ms_viz_canvas_move_to(c, x, y);
                started = TRUE;
            }
        if (started)
            ms_viz_canvas_paint(c, &line);
        MsVizStyle mark = { colour, 1, 0xFFFFFFu, 1, 1, FALSE },
                   dot = { colour, 0.35, 0, 0, 0, FALSE };
        for (guint p = 0; p < l->np; p++) {
            if (l->ps[p] != split || l->pr[p] != s)
                continue;
            MsSweepSummary sm;
            ms_sweep_results_get(r, p, stat, &sm);
            double x = slot_x(l, &a, l->px[p]) + off;
            ms_viz_canvas_group_begin(c, NULL, "point", 0);
            double low = sm.mean - sm.ci95;
            if (non_negative)
                low = MAX(low, 0);
            bar(c, x, ms_viz_axes_y(&a, low / unit), ms_viz_axes_y(&a, (sm.mean + sm.ci95) / unit),
                colour);
            for (guint k = 0; k < sm.n_values; k++) {
                ms_viz_canvas_circle(c, x + 7, ms_viz_axes_y(&a, sm.values[k] / unit), 2.2);
                ms_viz_canvas_paint(c, &dot);
            }
            ms_viz_canvas_circle(c, x, ms_viz_axes_y(&a, sm.mean / unit), 4.5);
            ms_viz_canvas_paint(c, &mark);
            ms_viz_canvas_group_end(c);
        }
        ms_viz_canvas_group_end(c);
    }
    ms_viz_canvas_group_end(c);
}

MsVizCanvas *
ms_viz_sweep_by(const MsSweepResults *r, const char *const *stats, const char *x, const char *split,
                MsVizFormat format, double width, double height, GError **error)
{
    g_return_val_if_fail(r != NULL, NULL);
    if (!x && !split)
        return ms_viz_sweep(r, stats, format, width, height, error);
    static const char *const fallback[] = { "latency_mean_s", "latency_p95_s", "delivered",
                                            "queued", NULL };
    g_autoptr(GArray) chosen = g_array_new(FALSE, FALSE, sizeof(guint));
    guint nstats = ms_sweep_results_n_stats(r);
    if (!stats && nstats <= 6) /* a sweep that chose its statistics: those */
        for (guint i = 0; i < nstats; i++)
            g_array_append_val(chosen, i);
    for (const char *const *s = stats ? stats : chosen->len ? NULL : fallback; s && *s; s++) {
        gint i = ms_sweep_results_find_stat(r, *s);
        if (i >= 0) {
            guint u = (guint) i;
            g_array_append_val(chosen, u);
        } else if (stats) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                        "the sweep has no statistic '%s'", *s);
            return NULL;
        }
    }
    for (guint i = 0; chosen->len == 0 && i < MIN(4u, nstats); i++)
        g_array_append_val(chosen, i); /* a sweep reporting other statistics: its first ones */
    Layout l;
    if (!layout_init(&l, r, x, split, error)) {
        layout_clear(&l);
        return NULL;
    }
    guint cols = l.svals->len, rows = chosen->len;
    if (width <= 0)
        width = MAX(MS_VIZ_DEFAULT_WIDTH, 40 + cols * 380.0);
    double margin = 30, head = l.series->len > 1 ? 124 + 20.0 * l.series->len : 110;
    double cell_w = (width - 2 * margin) / cols, cell_h = 330;
    if (height <= 0)
        height = head + rows * cell_h + 20;
    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    const char *scen = ms_sweep_results_scenario(r), *etitle = ms_sweep_results_title(r);
    g_autofree char *t =
        etitle ? g_strdup(etitle) : g_strdup_printf("Sweep: %s", *scen ? scen : "scenario");
    ms_viz_canvas_text(c, 24, 20, MS_VIZ_ANCHOR_START, &title, MS_VIZ_INK, t);
    guint nseeds = ms_sweep_results_n_seeds(r);
    g_autofree char *st = g_strdup_printf(
        "%u grid point%s x %u replication%s; each point: the mean, its 95 %% confidence "
        "interval (Student t) and every replication.",
        l.np, l.np == 1 ? "" : "s", nseeds, nseeds == 1 ? "" : "s");
    ms_viz_canvas_text(c, 24, 50, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, st);
    /* the settings that do not vary, named once */
    g_autoptr(GString) fixed = g_string_new(NULL);
    for (guint k = 0; k < ms_sweep_results_n_axes(r); k++)
        if (!varies(r, k))
            g_string_append_printf(fixed, "%s%s=%s",
                                   fixed->len ? ", " : "Fixed: ", ms_sweep_results_axis(r, k),
                                   ms_sweep_results_setting(r, 0, k));
    if (etitle && *scen)
        g_string_append_printf(fixed, "%sScenario: %s", fixed->len ? ". " : "", scen);
    if (fixed->len)
        ms_viz_canvas_text(c, 24, 72, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, fixed->str);
    for (guint s = 0; l.series->len > 1 && s < l.series->len; s++) {
        double y = 106 + 20.0 * s;
        MsVizStyle mark = { palette[s % G_N_ELEMENTS(palette)], 1, 0xFFFFFFu, 1, 1, FALSE };
        ms_viz_canvas_circle(c, 34, y, 5);
        ms_viz_canvas_paint(c, &mark);
        ms_viz_canvas_text(c, 46, y - 8, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_INK, l.series->pdata[s]);
    }
    for (guint row = 0; row < rows; row++) {
        guint stat = g_array_index(chosen, guint, row);
        double lo = INFINITY, hi = -INFINITY, vmin = INFINITY;
        for (guint p = 0; p < l.np; p++) {
            MsSweepSummary sm;
            ms_sweep_results_get(r, p, stat, &sm);
            vmin = MIN(vmin, sm.min);
            lo = MIN(lo, MIN(sm.mean - sm.ci95, sm.min));
            hi = MAX(hi, MAX(sm.mean + sm.ci95, sm.max));
        }
        if (vmin >= 0)
            lo = MAX(lo, 0);
        for (guint col = 0; col < cols; col++) {
            MsVizAxes a = { margin + col * cell_w + 80,
                            head + row * cell_h + 40,
                            cell_w - 110,
                            220,
                            0,
                            1,
                            0,
                            1,
                            FALSE,
                            FALSE };
            draw_panel(c, &l, stat, col, a, lo, hi, vmin >= 0);
        }
    }
    layout_clear(&l);
    return c;
}
