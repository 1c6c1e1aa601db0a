/* Axes for mailsim's plots: a plot area, its data range, "nice" ticks,
 * grid lines, tick labels, axis labels and a panel title, on a linear or a
 * base-10 logarithmic scale. Shared by the plots of one run (viz/plots.c)
 * and of many runs (viz/sweep_plot.c, viz/bench_plot.c). */
#pragma once

#include <glib.h>
#include "mailsim/viz_canvas.h"

G_BEGIN_DECLS

/* The plots' inks (0xRRGGBB). */
#define MS_VIZ_INK  0x222222u
#define MS_VIZ_SOFT 0x555555u
#define MS_VIZ_GRID 0xE3E3E3u

typedef struct {
    double x, y, w, h;     /* the plot area on the page */
    double x0, x1, y0, y1; /* the data range (> 0 on a log scale) */
    gboolean log_x, log_y; /* base-10 logarithmic scale */
} MsVizAxes;

/* A tick step of 1, 2 or 5 times a power of ten that cuts `range` into
 * about `target` pieces (1 for a range <= 0). */
double ms_viz_axes_nice_step(double range, int target);

/* Page coordinates of a data value. */
double ms_viz_axes_x(const MsVizAxes *axes, double v);
double ms_viz_axes_y(const MsVizAxes *axes, double v);

/* `v` with as many decimals as `step` needs (at most six), C locale. */
void ms_viz_axes_format_tick(char *buf, gsize len, double v, double step);

/* Grid lines at every y tick, y tick labels (none when `ylabel` is ""),
 * x ticks and labels (none when `xstep` <= 0: the caller labels its
 * categories), the two axis lines, the axis labels and the panel title
 * above the area. A log axis has its ticks at powers of ten ("10", "1k",
 * "1M") whatever the step. Linear ticks run from x0 (y0) by the step. */
void ms_viz_axes_draw(MsVizCanvas *canvas, const MsVizAxes *axes, double xstep, double ystep,
                      const char *xlabel, const char *ylabel, const char *title);

/* The unit a delivery latency axis whose largest value is `max_seconds`
 * shows: ms below 2 s, min above 5 min, else s. Sets the unit in seconds
 * and its name. */
void ms_viz_axes_time_unit(double max_seconds, double *unit, const char **name);

G_END_DECLS
