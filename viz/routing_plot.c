/* The routing study of one run (include/mailsim/viz.h, MS_VIZ_ROUTING):
 * how the routes the scenario's metric chose compare with the shortest
 * ones, over the paths delivered mail took (sim/run/stats_routing.c
 * measures them: origin to storing server, as routed at the end of the
 * run). Three panels side by side: the CDF of the stretch (path latency /
 * shortest possible latency, 1 = a shortest path), the histogram of hop
 * counts, and the CDF of path latencies. The subtitle names the metric and
 * says how many paths were measured, how many had no route and how many
 * destinations were left out (the measurement's bound).
 *
 * To compare metrics, draw one page per run (the same scenario with
 * `routing=` changed), or run `mailsim sweep --set routing=latency,hops,
 * policy` for means with confidence intervals. Costs: those of
 * ms_stats_routing_paths(), then O(paths log paths) to sort. */
#include "mailsim/viz.h"
#include "mailsim/stats.h"
#include "mailsim/viz_axes.h"

#include <math.h>
#include <stdlib.h>

typedef MsVizAxes Axes;

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* A step CDF of the sorted values `v` on `a`, from x0 to x1, and the
 * median and 95th percentile written above its right corner. */
static void
draw_cdf(MsVizCanvas *c, const Axes *a, const double *v, guint n, const char *unit)
{
    MsVizStyle line = { 0, 0, 0x0072B2u, 1, 2.4, FALSE };
    ms_viz_canvas_move_to(c, ms_viz_axes_x(a, a->x0), ms_viz_axes_y(a, 0));
    for (guint i = 0; i < n; i++) {
        double x = ms_viz_axes_x(a, CLAMP(v[i], a->x0, a->x1));
        ms_viz_canvas_line_to(c, x, ms_viz_axes_y(a, (double) i / n));
        ms_viz_canvas_line_to(c, x, ms_viz_axes_y(a, (double) (i + 1) / n));
    }
    ms_viz_canvas_line_to(c, ms_viz_axes_x(a, a->x1), ms_viz_axes_y(a, 1));
    ms_viz_canvas_paint(c, &line);
    char b1[32], b2[32];
    g_ascii_formatd(b1, sizeof b1, "%.3g", v[(guint) ceil(0.50 * n) - 1]);
    g_ascii_formatd(b2, sizeof b2, "%.3g", v[(guint) ceil(0.95 * n) - 1]);
    g_autofree char *t = g_strdup_printf("median %s%s, 95th percentile %s%s", b1, unit, b2, unit);
    MsVizFont f = { 12, FALSE, FALSE };
    ms_viz_canvas_text(c, a->x + a->w, a->y - 24, MS_VIZ_ANCHOR_END, &f, MS_VIZ_SOFT, t);
}

/* The upper end of a linear axis from `lo` that shows `hi`, and its step. */
static double
axis_end(double lo, double hi, double *step)
{
    double range = MAX(hi - lo, 1e-9);
    *step = ms_viz_axes_nice_step(range, 5);
    double end = lo + ceil(range / *step - 1e-9) * *step;
    return end > lo ? end : lo + *step;
}

MsVizCanvas *
ms_viz_routing(MsWorld *w, MsVizFormat format, double width, double height)
{
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    if (height <= 0)
        height = MS_VIZ_DEFAULT_HEIGHT * 0.7;
    const MsScenario *sc = ms_world_scenario(w);
    g_autoptr(GArray) stretch = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) hops = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(double));
    MsRoutingStats rs;
    ms_stats_routing_paths(w, &rs, stretch, hops, lat);
    guint n = stretch->len;
    qsort(stretch->data, n, sizeof(double), cmp_double);
    qsort(hops->data, n, sizeof(double), cmp_double);
    qsort(lat->data, n, sizeof(double), cmp_double);

    static const char *const metric_names[] = { "latency", "hop count", "policy" };
    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    ms_viz_canvas_text(c, 24, 20, MS_VIZ_ANCHOR_START, &title, MS_VIZ_INK,
                       sc->title[0] ? sc->title : sc->name);
    GString *st = g_string_new(NULL);
    g_string_printf(st, "Routing by %s: %u path%s of delivered mail (sender to the storing server)",
                    metric_names[MIN((guint) sc->routing, G_N_ELEMENTS(metric_names) - 1)], n,
                    n == 1 ? "" : "s");
    if (rs.unreachable)
        g_string_append_printf(st, ", %u without a route at the end of the run", rs.unreachable);
    if (rs.destinations_left_out)
        g_string_append_printf(st, ", %u destination servers not measured (the first %u are)",
                               rs.destinations_left_out, MS_STATS_ROUTING_MAX_DESTINATIONS);
    g_string_append(st, "; stretch = path latency / shortest possible latency.");
    ms_viz_canvas_text(c, 24, 48, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, st->str);
    g_string_free(st, TRUE);

    double top = 150, bottom = height - 80, gap = 100;
    double pw = (width - 2 * 80 - 2 * gap) / 3;
    if (n == 0) {
        MsVizFont f = { 15, FALSE, FALSE };
        ms_viz_canvas_text(c, width / 2, (top + bottom) / 2, MS_VIZ_ANCHOR_MIDDLE, &f, MS_VIZ_SOFT,
                           "No delivered message crossed the network in this run.");
        return c;
    }
    const double *sv = (const double *) stretch->data, *hv = (const double *) hops->data;
    const double *lv = (const double *) lat->data;

    /* Stretch: from 1 (a shortest path), at least to 1.2 so that a run of
     * shortest paths only still has an axis. */
    double sstep, send = axis_end(1, MAX(sv[n - 1], 1.2), &sstep);
    Axes a = { 80, top, pw, bottom - top, 1, send, 0, 1, FALSE, FALSE };
    ms_viz_canvas_group_begin(c, "stretch", "plot", 0);
    ms_viz_axes_draw(c, &a, sstep, 0.25, "stretch (1 = a shortest path)", "fraction of paths",
                     "Path stretch (CDF)");
    draw_cdf(c, &a, sv, n, "");
    ms_viz_canvas_group_end(c);

    /* Hop counts: one bar per count. */
    guint hmax = (guint) hv[n - 1];
    g_autofree guint *count = g_new0(guint, hmax + 1);
    guint cmax = 0;
    for (guint i = 0; i < n; i++) {
        guint h = (guint) hv[i];
        count[h]++;
        cmax = MAX(cmax, count[h]);
    }
    double ystep = MAX(1, ms_viz_axes_nice_step(cmax, 5));
    double ymax = ceil((double) cmax / ystep) * ystep;
    double hstep = MAX(1, ms_viz_axes_nice_step(hmax + 1, 8));
    Axes b = { 80 + pw + gap, top, pw, bottom - top, 0, ceil((hmax + 1) / hstep) * hstep, 0, ymax,
               FALSE, FALSE };
    ms_viz_canvas_group_begin(c, "hops", "plot", 0);
    ms_viz_axes_draw(c, &b, hstep, ystep, "links crossed", "paths", "Hop counts");
    MsVizStyle bar = { 0x56B4E9u, 1, 0x0072B2u, 1, 1, FALSE };
    for (guint h = 0; h <= hmax; h++) {
        if (!count[h])
            continue;
        double x0 = ms_viz_axes_x(&b, h - 0.4), x1 = ms_viz_axes_x(&b, h + 0.4);
        ms_viz_canvas_rect(c, x0, ms_viz_axes_y(&b, count[h]), x1 - x0,
                           ms_viz_axes_y(&b, 0) - ms_viz_axes_y(&b, count[h]));
        ms_viz_canvas_paint(c, &bar);
    }
    ms_viz_canvas_group_end(c);

    /* Path latency, in the unit its largest value reads best in. */
    double unit;
    const char *uname;
    ms_viz_axes_time_unit(lv[n - 1], &unit, &uname);
    g_autofree double *scaled = g_new(double, n);
    for (guint i = 0; i < n; i++)
        scaled[i] = lv[i] / unit;
    double lstep, lend = axis_end(0, scaled[n - 1], &lstep);
    Axes l = { 80 + 2 * (pw + gap), top, pw, bottom - top, 0, lend, 0, 1, FALSE, FALSE };
    g_autofree char *xlabel = g_strdup_printf("path latency (%s, sum of link latencies)", uname);
    g_autofree char *u = g_strdup_printf(" %s", uname);
    ms_viz_canvas_group_begin(c, "latency", "plot", 0);
    ms_viz_axes_draw(c, &l, lstep, 0.25, xlabel, "fraction of paths", "Path latency (CDF)");
    draw_cdf(c, &l, scaled, n, u);
    ms_viz_canvas_group_end(c);
    return c;
}
