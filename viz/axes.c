/* Axes of mailsim's plots (include/mailsim/viz_axes.h): the data-to-page
 * mapping, tick steps and the drawing of grid, ticks, labels and title.
 *
 * Design: ticks are "nice" (1, 2 or 5 times a power of ten); on a log
 * scale they sit at the powers of ten and are labelled in SI style (1k,
 * 10k, 1M) so that a glance reads the order of magnitude. The functions
 * keep no state; everything is drawn through the canvas. Costs: one text
 * layout per tick label. */
#include "mailsim/viz_axes.h"

#include <math.h>

double
ms_viz_axes_nice_step(double range, int target)
{
    if (range <= 0)
        return 1;
    double raw = range / target, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

static double
frac(double v, double lo, double hi, gboolean log_scale)
{
    if (log_scale)
        return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
    return (v - lo) / (hi - lo);
}

double
ms_viz_axes_x(const MsVizAxes *a, double v)
{
    return a->x + frac(v, a->x0, a->x1, a->log_x) * a->w;
}

double
ms_viz_axes_y(const MsVizAxes *a, double v)
{
    return a->y + a->h - frac(v, a->y0, a->y1, a->log_y) * a->h;
}

void
ms_viz_axes_format_tick(char *buf, gsize len, double v, double step)
{
    int decimals = 0;
    while (decimals < 6 && fabs(step * pow(10, decimals) - round(step * pow(10, decimals))) >
                               1e-6 * step * pow(10, decimals))
        decimals++;
    static const char *const fmts[] = { "%.0f", "%.1f", "%.2f", "%.3f", "%.4f", "%.5f", "%.6f" };
    g_ascii_formatd(buf, (int) len, fmts[decimals], v);
}

/* A power of ten as "0.01", "1", "100", "10k", "1M", "1G". */
static void
format_decade(char *buf, gsize len, int k)
{
    static const char *const si[] = { "", "k", "M", "G", "T" };
    if (k < 0) {
        ms_viz_axes_format_tick(buf, len, pow(10, k), pow(10, k));
        return;
    }
    int group = MIN(k / 3, 4);
    g_snprintf(buf, len, "%.0f%s", pow(10, k - 3 * group), si[group]);
}

/* The tick values of one axis: powers of ten on a log scale, else every
 * step from lo. Returns a new array of double. */
static GArray *
ticks(double lo, double hi, double step, gboolean log_scale)
{
    GArray *t = g_array_new(FALSE, FALSE, sizeof(double));
    if (log_scale) {
        for (int k = (int) ceil(log10(lo) - 1e-9); k <= (int) floor(log10(hi) + 1e-9); k++) {
            double v = pow(10, k);
            g_array_append_val(t, v);
        }
    } else if (step > 0) {
        for (double v = lo; v <= hi + step * 1e-6; v += step)
            g_array_append_val(t, v);
    }
    return t;
}

static void
tick_label(char *buf, gsize len, double v, double step, gboolean log_scale)
{
    if (log_scale)
        format_decade(buf, len, (int) lround(log10(v)));
    else
        ms_viz_axes_format_tick(buf, len, v, step);
}

void
ms_viz_axes_draw(MsVizCanvas *c, const MsVizAxes *a, double xstep, double ystep, const char *xlabel,
                 const char *ylabel, const char *title)
{
    MsVizFont tf = { 11.5, FALSE, FALSE }, lf = { 13, FALSE, FALSE }, hf = { 16, TRUE, FALSE };
    MsVizStyle grid = { 0, 0, MS_VIZ_GRID, 1, 1, FALSE },
               axis = { 0, 0, MS_VIZ_INK, 1, 1.3, FALSE };
    char buf[64];
    g_autoptr(GArray) ys = ticks(a->y0, a->y1, ystep, a->log_y);
    for (guint i = 0; i < ys->len; i++) {
        double v = g_array_index(ys, double, i), y = ms_viz_axes_y(a, v);
        ms_viz_canvas_move_to(c, a->x, y);
        ms_viz_canvas_line_to(c, a->x + a->w, y);
        ms_viz_canvas_paint(c, &grid);
        if (!ylabel[0])
            continue; /* a bar chart: its rows are labelled instead */
        tick_label(buf, sizeof buf, v, ystep, a->log_y);
        double th = 0;
        ms_viz_canvas_measure(c, &tf, buf, NULL, &th);
        ms_viz_canvas_text(c, a->x - 8, y - th / 2, MS_VIZ_ANCHOR_END, &tf, MS_VIZ_SOFT, buf);
    }
    g_autoptr(GArray) xs = ticks(a->x0, a->x1, xstep, a->log_x);
    for (guint i = 0; i < xs->len; i++) {
        double v = g_array_index(xs, double, i), x = ms_viz_axes_x(a, v);
        ms_viz_canvas_move_to(c, x, a->y + a->h);
        ms_viz_canvas_line_to(c, x, a->y + a->h + 5);
        ms_viz_canvas_paint(c, &axis);
        tick_label(buf, sizeof buf, v, xstep, a->log_x);
        ms_viz_canvas_text(c, x, a->y + a->h + 8, MS_VIZ_ANCHOR_MIDDLE, &tf, MS_VIZ_SOFT, buf);
    }
    ms_viz_canvas_move_to(c, a->x, a->y);
    ms_viz_canvas_line_to(c, a->x, a->y + a->h);
    ms_viz_canvas_line_to(c, a->x + a->w, a->y + a->h);
    ms_viz_canvas_paint(c, &axis);
    ms_viz_canvas_text(c, a->x + a->w / 2, a->y + a->h + 30, MS_VIZ_ANCHOR_MIDDLE, &lf, MS_VIZ_INK,
                       xlabel);
    ms_viz_canvas_text(c, a->x, a->y - 24, MS_VIZ_ANCHOR_START, &lf, MS_VIZ_INK, ylabel);
    ms_viz_canvas_text(c, a->x, a->y - 54, MS_VIZ_ANCHOR_START, &hf, MS_VIZ_INK, title);
}

void
ms_viz_axes_time_unit(double max_seconds, double *unit, const char **name)
{
    *unit = 1;
    *name = "s";
    if (max_seconds < 2) {
        *unit = 1e-3;
        *name = "ms";
    } else if (max_seconds > 300) {
        *unit = 60;
        *name = "min";
    }
}
