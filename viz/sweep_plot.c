/* A sweep across runs (include/mailsim/viz.h, ms_viz_sweep): one panel
 * per statistic, laid out in a grid on one page; in each panel one column
 * per grid point with the mean as a marker, its 95 % confidence interval
 * (Student t, as the sweep computed it) as an error bar with caps, and
 * every replication as a small faint dot beside it.
 *
 * Design. The x axis is numeric when exactly one setting varies and all
 * its values read as numbers, times ("1min") or sizes ("10MB"); otherwise
 * it is categorical, one slot per grid point labelled with the varying
 * settings ("fidelity=packet"), or with "#1", "#2", ... and a key under
 * the panels when those labels do not fit. Settings that do not vary are
 * named once, in the subtitle. Latency panels pick ms, s or min from
 * their largest value (viz/axes.c); y ranges cover every dot and bar.
 * Replication dots are spread over four columns by seed index, not by
 * chance, so one sweep always gives the same picture.
 *
 * In SVG every panel is <g class="panel" id="panel-STAT">, every grid
 * point in it <g class="point" id="panel-STAT-point-N"> holding one
 * <g class="mean">, one <g class="ci"> and one <g class="replications">
 * (a path per replication), for tests and for styling.
 * Ownership: the results are borrowed; the canvas returned is the
 * caller's. Costs: O(panels x points x seeds) paths. */
#include "mailsim/units.h"
#include "mailsim/viz.h"
#include "mailsim/viz_axes.h"
#include "mailsim/viz_sweep.h"

#include <math.h>
#include <string.h>

#define MEAN_C 0x0072B2u /* Okabe-Ito blue */
#define DOT_C  0xD55E00u /* Okabe-Ito vermillion */

typedef struct {
    const char *name, *title, *unit; /* unit NULL: a time in seconds */
} StatDesc;

static const StatDesc descs[] = {
    { "latency_mean_s", "Delivery latency, mean", NULL },
    { "latency_p50_s", "Delivery latency, median (p50)", NULL },
    { "latency_p95_s", "Delivery latency, 95th percentile", NULL },
    { "latency_p99_s", "Delivery latency, 99th percentile", NULL },
    { "latency_max_s", "Delivery latency, largest", NULL },
    { "messages", "Messages submitted", "messages" },
    { "dsns", "Bounce messages (DSNs) sent", "messages" },
    { "delivered", "Recipients delivered", "recipients" },
    { "bounced", "Recipients bounced", "recipients" },
    { "queued", "Recipients still queued at the end", "recipients" },
    { "refused", "Recipients refused", "recipients" },
    { "deferrals", "Deferrals (temporary failures)", "deferrals" },
    { "attempts", "Delivery attempts", "attempts" },
    { "smtp_sessions", "SMTP sessions", "sessions" },
    { "tcp_retransmits", "TCP retransmissions", "segments" },
    { "packets_dropped", "Packets dropped", "packets" },
    { "events", "Events processed", "events" },
};

static const char *const default_stats[] = {
    "latency_mean_s", "latency_p50_s", "latency_p95_s", "delivered", "bounced", "queued", NULL
};

static StatDesc
describe(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(descs); i++)
        if (!strcmp(descs[i].name, name))
            return descs[i];
    StatDesc d = { name, name, g_str_has_suffix(name, "_s") ? NULL : "count" };
    return d;
}

/* A setting's value as a number, when it reads as one
 * (ms_viz_sweep_read_value): plain, a time (seconds) or a size (bytes). */
typedef enum {
    NUM_PLAIN = MS_VIZ_VALUE_PLAIN,
    NUM_TIME = MS_VIZ_VALUE_TIME,
    NUM_SIZE = MS_VIZ_VALUE_SIZE
} NumKind;

/* What the page shows of the grid: which axes vary, and the x position of
 * each point (numeric axis) or its slot (categorical). */
typedef struct {
    const MsSweepResults *r;
    guint n_points;
    GArray *varying; /* guint: axis indices that vary */
    gboolean numeric;
    double *xs; /* numeric: the value of each point, in xunit */
    double xunit;
    char *xlabel;
    gboolean numbered; /* categorical labels as #N with a key below */
    guint label_lines;
} Grid;

static void
grid_clear(Grid *g)
{
    g_array_unref(g->varying);
    g_free(g->xs);
    g_free(g->xlabel);
}

static void
grid_init(Grid *g, const MsSweepResults *r)
{
    memset(g, 0, sizeof *g);
    g->r = r;
    g->n_points = ms_sweep_results_n_points(r);
    g->varying = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < ms_sweep_results_n_axes(r); k++)
        for (guint p = 1; p < g->n_points; p++)
            if (strcmp(ms_sweep_results_setting(r, p, k), ms_sweep_results_setting(r, 0, k))) {
                g_array_append_val(g->varying, k);
                break;
            }
    g->xunit = 1;
    if (g->varying->len != 1)
        return;
    guint axis = g_array_index(g->varying, guint, 0);
    const char *key = ms_sweep_results_axis(r, axis);
    static const NumKind kinds[] = { NUM_PLAIN, NUM_TIME, NUM_SIZE };
    g->xs = g_new(double, g->n_points);
    for (guint i = 0; i < G_N_ELEMENTS(kinds) && !g->numeric; i++) {
        gboolean all = TRUE;
        double max = 0;
        for (guint p = 0; p < g->n_points && all; p++) {
            all = ms_viz_sweep_read_value(ms_sweep_results_setting(r, p, axis),
                                          (MsVizValueKind) kinds[i], &g->xs[p]);
            max = MAX(max, fabs(g->xs[p]));
        }
        if (!all)
            continue;
        g->numeric = TRUE;
        const char *uname = NULL;
        if (kinds[i] == NUM_TIME)
            ms_viz_axes_time_unit(max, &g->xunit, &uname);
        else if (kinds[i] == NUM_SIZE) {
            g->xunit = max >= 1e6 ? 1e6 : max >= 1e3 ? 1e3 : 1;
            uname = max >= 1e6 ? "MB" : max >= 1e3 ? "KB" : "B";
        }
        for (guint p = 0; p < g->n_points; p++)
            g->xs[p] /= g->xunit;
        g->xlabel = uname ? g_strdup_printf("%s (%s)", key, uname) : g_strdup(key);
    }
}

/* The label lines of point p: "key=value" of each varying setting. */
static char *
point_line(const Grid *g, guint p, guint line)
{
    guint k = g_array_index(g->varying, guint, line);
    return g_strdup_printf("%s=%s", ms_sweep_results_axis(g->r, k),
                           ms_sweep_results_setting(g->r, p, k));
}

static char *
point_label(const Grid *g, guint p)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < g->varying->len; i++) {
        g_autofree char *l = point_line(g, p, i);
        g_string_append_printf(s, "%s%s", i ? ", " : "", l);
    }
    return g_string_free(s, FALSE);
}

static char *
seeds_text(const MsSweepResults *r)
{
    guint n = ms_sweep_results_n_seeds(r);
    gboolean run = n > 2;
    for (guint i = 1; i < n && run; i++)
        run = ms_sweep_results_seed(r, i) == ms_sweep_results_seed(r, i - 1) + 1;
    if (run)
        return g_strdup_printf("%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT,
                               ms_sweep_results_seed(r, 0), ms_sweep_results_seed(r, n - 1));
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < MIN(n, 8u); i++)
        g_string_append_printf(s, "%s%" G_GUINT64_FORMAT, i ? ", " : "",
                               ms_sweep_results_seed(r, i));
    if (n > 8)
        g_string_append(s, ", ...");
    return g_string_free(s, FALSE);
}

/* An error bar from ylo to yhi at x with caps of half-width `cap`. */
static void
draw_bar(MsVizCanvas *c, double x, double ylo, double yhi, double cap)
{
    MsVizStyle bar = { 0, 0, MEAN_C, 1, 1.8, FALSE };
    ms_viz_canvas_move_to(c, x, ylo);
    ms_viz_canvas_line_to(c, x, yhi);
    ms_viz_canvas_move_to(c, x - cap, ylo);
    ms_viz_canvas_line_to(c, x + cap, ylo);
    ms_viz_canvas_move_to(c, x - cap, yhi);
    ms_viz_canvas_line_to(c, x + cap, yhi);
    ms_viz_canvas_paint(c, &bar);
}

/* x page coordinate of point p in panel axes a. */
static double
point_x(const Grid *g, const MsVizAxes *a, guint p)
{
    if (g->numeric)
        return ms_viz_axes_x(a, g->xs[p]);
    return a->x + a->w * (p + 0.5) / g->n_points;
}

static void
draw_panel(MsVizCanvas *c, const Grid *g, guint stat, const MsVizAxes *frame)
{
    const MsSweepResults *r = g->r;
    const char *name = ms_sweep_results_stat_name(r, stat);
    StatDesc d = describe(name);
    /* the y range: every dot and both ends of every bar */
    double lo = INFINITY, hi = -INFINITY;
    for (guint p = 0; p < g->n_points; p++) {
        MsSweepSummary s;
        ms_sweep_results_get(r, p, stat, &s);
        lo = MIN(lo, MIN(s.mean - s.ci95, s.min));
        hi = MAX(hi, MAX(s.mean + s.ci95, s.max));
        for (guint k = 0; k < s.n_values; k++) {
            lo = MIN(lo, s.values[k]);
            hi = MAX(hi, s.values[k]);
        }
    }
    double unit = 1;
    const char *uname = d.unit;
    if (!d.unit)
        ms_viz_axes_time_unit(MAX(fabs(lo), fabs(hi)), &unit, &uname);
    lo /= unit;
    hi /= unit;
    gboolean non_negative = lo >= 0;
    if (hi - lo < 1e-9 * MAX(1, fabs(hi))) {
        double pad = MAX(fabs(hi) * 0.1, d.unit ? 1 : 0.001);
        lo -= pad;
        hi += pad;
    }
    double ystep = ms_viz_axes_nice_step(hi - lo, 4);
    if (d.unit)
        ystep = MAX(1, ystep);
    MsVizAxes a = *frame;
    a.y0 = floor(lo / ystep) * ystep;
    a.y1 = ceil(hi / ystep) * ystep;
    if (non_negative)
        a.y0 = MAX(a.y0, 0); /* no negative counts or times on the axis */
    if (a.y1 <= a.y0)
        a.y1 = a.y0 + ystep;
    double xstep = 0;
    if (g->numeric) {
        double xmin = INFINITY, xmax = -INFINITY;
        for (guint p = 0; p < g->n_points; p++) {
            xmin = MIN(xmin, g->xs[p]);
            xmax = MAX(xmax, g->xs[p]);
        }
        double pad = xmax > xmin ? (xmax - xmin) * 0.08 : MAX(fabs(xmax) * 0.1, 1);
        xstep = ms_viz_axes_nice_step(xmax - xmin + 2 * pad, 5);
        a.x0 = floor((xmin - pad) / xstep) * xstep;
        a.x1 = ceil((xmax + pad) / xstep) * xstep;
    } else {
        a.x0 = 0;
        a.x1 = 1;
    }
    g_autofree char *id = g_strdup_printf("panel-%s", name);
    g_autofree char *ylabel = d.unit ? g_strdup(uname) : g_strdup_printf("latency (%s)", uname);
    const char *xlabel = g->numeric ? g->xlabel : g->varying->len ? "" : "scenario as written";
    ms_viz_canvas_group_begin(c, id, "panel", 0);
    ms_viz_axes_draw(c, &a, xstep, ystep, xlabel, ylabel, d.title);
    MsVizFont tf = { 11.5, FALSE, FALSE };
    MsVizStyle mark = { MEAN_C, 1, 0xFFFFFFu, 1, 1.2, FALSE },
               dot = { DOT_C, 0.45, 0, 0, 0, FALSE };
    for (guint p = 0; p < g->n_points; p++) {
        MsSweepSummary s;
        ms_sweep_results_get(r, p, stat, &s);
        double x = point_x(g, &a, p);
        if (!g->numeric) {
            for (guint line = 0; !g->numbered && line < g->varying->len; line++) {
                g_autofree char *l = point_line(g, p, line);
                ms_viz_canvas_text(c, x, a.y + a.h + 8 + 15 * line, MS_VIZ_ANCHOR_MIDDLE, &tf,
                                   MS_VIZ_SOFT, l);
            }
            if (g->numbered) {
                g_autofree char *l = g_strdup_printf("#%u", p + 1);
                ms_viz_canvas_text(c, x, a.y + a.h + 8, MS_VIZ_ANCHOR_MIDDLE, &tf, MS_VIZ_SOFT, l);
            }
        }
        g_autofree char *pid = g_strdup_printf("%s-point-%u", id, p + 1);
        ms_viz_canvas_group_begin(c, pid, "point", 0);
        double ylo = ms_viz_axes_y(&a, (s.mean - s.ci95) / unit),
               yhi = ms_viz_axes_y(&a, (s.mean + s.ci95) / unit);
        ms_viz_canvas_group_begin(c, NULL, "ci", 0);
        draw_bar(c, x, ylo, yhi, 6);
        ms_viz_canvas_group_end(c);
        ms_viz_canvas_group_begin(c, NULL, "mean", 0);
        ms_viz_canvas_circle(c, x, ms_viz_axes_y(&a, s.mean / unit), 5.5);
        ms_viz_canvas_paint(c, &mark);
        ms_viz_canvas_group_end(c);
        ms_viz_canvas_group_begin(c, NULL, "replications", 0);
        for (guint k = 0; k < s.n_values; k++) {
            ms_viz_canvas_circle(c, x + 13 + 4.5 * (k % 4), ms_viz_axes_y(&a, s.values[k] / unit),
                                 2.6);
            ms_viz_canvas_paint(c, &dot);
        }
        ms_viz_canvas_group_end(c);
        ms_viz_canvas_group_end(c);
    }
    ms_viz_canvas_group_end(c);
}

static void
draw_legend(MsVizCanvas *c, double right, double y)
{
    MsVizFont f = { 12.5, FALSE, FALSE };
    static const char *const texts[] = { "mean", "95 % confidence interval (Student t)",
                                         "one replication (seed)" };
    double x = right;
    for (guint i = G_N_ELEMENTS(texts); i-- > 0;) {
        double tw = 0;
        ms_viz_canvas_measure(c, &f, texts[i], &tw, NULL);
        x -= tw;
        ms_viz_canvas_text(c, x, y - 8, MS_VIZ_ANCHOR_START, &f, MS_VIZ_INK, texts[i]);
        double cx = x - 14;
        if (i == 0) {
            MsVizStyle mark = { MEAN_C, 1, 0xFFFFFFu, 1, 1.2, FALSE };
            ms_viz_canvas_circle(c, cx, y, 5.5);
            ms_viz_canvas_paint(c, &mark);
        } else if (i == 1) {
            draw_bar(c, cx, y + 8, y - 8, 5);
        } else {
            MsVizStyle dot = { DOT_C, 0.45, 0, 0, 0, FALSE };
            ms_viz_canvas_circle(c, cx, y, 3);
            ms_viz_canvas_paint(c, &dot);
        }
        x = cx - 30;
    }
}

MsVizCanvas *
ms_viz_sweep(const MsSweepResults *r, const char *const *stats, MsVizFormat format, double width,
             double height, GError **error)
{
    g_return_val_if_fail(r != NULL, NULL);
    g_autoptr(GArray) chosen = g_array_new(FALSE, FALSE, sizeof(guint));
    for (const char *const *s = stats ? stats : default_stats; *s; s++) {
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
    if (chosen->len == 0) {
        g_set_error(
            error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
            "the sweep holds none of the statistics to draw (latency_mean_s, delivered, ...)");
        return NULL;
    }
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    Grid g;
    grid_init(&g, r);
    guint n = chosen->len, cols = n <= 3 ? n : n == 4 ? 2 : 3, rows = (n + cols - 1) / cols;
    double margin = 40, cell_w = (width - 2 * margin) / cols;
    double plot_w = cell_w - 90 - 30;

    /* Categorical labels: one line per varying setting under each slot,
     * unless the widest would not fit its slot; then #N and a key. */
    g_autoptr(MsVizCanvas) measure = ms_viz_canvas_new(MS_VIZ_FORMAT_SVG, 10, 10);
    MsVizFont tf = { 11.5, FALSE, FALSE }, kf = { 12.5, FALSE, FALSE };
    g_auto(GStrv) key_lines = NULL;
    if (!g.numeric && g.varying->len) {
        double widest = 0;
        for (guint p = 0; p < g.n_points; p++)
            for (guint l = 0; l < g.varying->len; l++) {
                g_autofree char *t = point_line(&g, p, l);
                double tw = 0;
                ms_viz_canvas_measure(measure, &tf, t, &tw, NULL);
                widest = MAX(widest, tw);
            }
        g.numbered = widest > plot_w / g.n_points - 8;
        g.label_lines = g.numbered ? 1 : g.varying->len;
        if (g.numbered) {
            GString *k = g_string_new("Grid points:");
            for (guint p = 0; p < g.n_points; p++) {
                g_autofree char *l = point_label(&g, p);
                g_string_append_printf(k, "%s #%u %s", p ? ";" : "", p + 1, l);
            }
            key_lines = ms_viz_canvas_wrap(measure, &kf, k->str, width - 2 * margin);
            g_string_free(k, TRUE);
        }
    } else {
        g.label_lines = 1;
    }
    double head = 150, cell_h = 90 + 250 + 28 + 15 * g.label_lines + 40;
    double key_h = key_lines ? 18.0 * g_strv_length(key_lines) + 20 : 0;
    if (height <= 0)
        height = head + rows * cell_h + key_h + 20;

    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    const char *scen = ms_sweep_results_scenario(r);
    g_autofree char *t = g_strdup_printf("Sweep: %s", *scen ? scen : "scenario");
    ms_viz_canvas_text(c, 24, 20, MS_VIZ_ANCHOR_START, &title, MS_VIZ_INK, t);
    g_autofree char *seeds = seeds_text(r);
    guint ns = ms_sweep_results_n_seeds(r);
    g_autofree char *st =
        g_strdup_printf("%u grid point%s x %u replication%s (seeds %s); each point: the mean with "
                        "its 95 %% confidence interval, and every replication.",
                        g.n_points, g.n_points == 1 ? "" : "s", ns, ns == 1 ? "" : "s", seeds);
    ms_viz_canvas_text(c, 24, 50, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, st);
    GString *fixed = g_string_new(NULL);
    for (guint k = 0; k < ms_sweep_results_n_axes(r); k++) {
        gboolean varies = FALSE;
        for (guint i = 0; i < g.varying->len; i++)
            varies |= g_array_index(g.varying, guint, i) == k;
        if (!varies)
            g_string_append_printf(fixed, "%s%s=%s",
                                   fixed->len ? ", " : "Fixed: ", ms_sweep_results_axis(r, k),
                                   ms_sweep_results_setting(r, 0, k));
    }
    if (fixed->len)
        ms_viz_canvas_text(c, 24, 72, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, fixed->str);
    g_string_free(fixed, TRUE);
    draw_legend(c, width - margin, 110);

    for (guint i = 0; i < n; i++) {
        guint col = i % cols, row = i / cols;
        double cx = margin + col * cell_w, cy = head + row * cell_h;
        MsVizAxes a = { cx + 90, cy + 90, plot_w, 250, 0, 1, 0, 1, FALSE, FALSE };
        draw_panel(c, &g, g_array_index(chosen, guint, i), &a);
    }
    for (guint i = 0; key_lines && key_lines[i]; i++)
        ms_viz_canvas_text(c, margin, head + rows * cell_h + 18.0 * i, MS_VIZ_ANCHOR_START, &kf,
                           MS_VIZ_INK, key_lines[i]);
    grid_clear(&g);
    return c;
}
