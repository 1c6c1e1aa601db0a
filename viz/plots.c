/* Plots of a run (include/mailsim/viz.h): the delivery latency of every
 * delivered recipient (stored in its mailbox, minus submitted) as an
 * empirical CDF and as a histogram, side by side; below them the queue
 * length over time of the (at most six) MTAs whose queues grew most, as
 * step lines from the recorder's queue records, and the utilisation of the
 * (at most ten) busiest link directions as bars. Axes, ticks and units.
 *
 * Design: axes and "nice" ticks from viz/axes.c; the unit of the
 * time axis follows the largest latency (ms below 2 s, s below 5 min,
 * min above); histogram bins by the square-root rule, at least one.
 * Costs: O(n log n) in the number of recipients. */
#include "mailsim/viz.h"
#include "mailsim/viz_axes.h"

#include <math.h>
#include <stdlib.h>

#define INK  MS_VIZ_INK
#define SOFT MS_VIZ_SOFT
#define SWAP_HOSTS(a, b)                                                                           \
    do {                                                                                           \
        MsHostId t_ = (a);                                                                         \
        (a) = (b);                                                                                 \
        (b) = t_;                                                                                  \
    } while (0)

typedef MsVizAxes Axes;

static int
double_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Okabe-Ito colours for the queue lines. */
static const guint32 line_colours[] = { 0x0072B2u, 0xD55E00u, 0x009E73u,
                                        0xCC79A7u, 0xE69F00u, 0x56B4E9u };

typedef struct {
    MsHostId host;
    guint peak;
} QueuePeak;

static gint
peak_cmp(gconstpointer a, gconstpointer b)
{
    const QueuePeak *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return x->host < y->host ? -1 : x->host > y->host;
}

/* Queue length over time per MTA, for the six whose queues grew most. */
static void
draw_queues(MsVizCanvas *c, MsWorld *w, const MsRecorder *rec, const Axes *frame)
{
    MsNet *net = ms_world_net(w);
    MsTime end = ms_engine_now(ms_world_engine(w));
    g_autoptr(GArray) peaks = g_array_new(FALSE, FALSE, sizeof(QueuePeak));
    for (guint i = 0; rec && i < ms_recorder_len(rec); i++) {
        const MsRecord *r = ms_recorder_get(rec, i);
        if (r->kind != MS_TRACE_QUEUE)
            continue;
        guint k;
        for (k = 0; k < peaks->len && g_array_index(peaks, QueuePeak, k).host != r->host; k++)
            ;
        if (k == peaks->len) {
            QueuePeak q = { r->host, 0 };
            g_array_append_val(peaks, q);
        }
        QueuePeak *q = &g_array_index(peaks, QueuePeak, k);
        q->peak = MAX(q->peak, r->code);
    }
    g_array_sort(peaks, peak_cmp);
    guint shown = MIN(peaks->len, G_N_ELEMENTS(line_colours));
    guint ymaxv = shown ? g_array_index(peaks, QueuePeak, 0).peak : 1;
    double tmax_s = MAX(ms_time_to_seconds(end), 1e-3);
    double unit = tmax_s > 7200 ? 3600 : tmax_s > 300 ? 60 : 1;
    const char *uname = unit == 3600 ? "h" : unit == 60 ? "min" : "s";
    double xmax_v = tmax_s / unit;
    double xstep = ms_viz_axes_nice_step(xmax_v, 6);
    double xmax = ceil(xmax_v / xstep) * xstep;
    double ystep = MAX(1, ms_viz_axes_nice_step(MAX(ymaxv, 1), 4));
    double ymax = ceil(MAX(ymaxv, 1) / ystep) * ystep;
    Axes a = *frame;
    a.x0 = 0;
    a.x1 = xmax;
    a.y0 = 0;
    a.y1 = ymax;
    g_autofree char *xlabel = g_strdup_printf("simulated time (%s)", uname);
    ms_viz_canvas_group_begin(c, "queues", "plot", 0);
    ms_viz_axes_draw(c, &a, xstep, ystep, xlabel, "messages in the queue",
                     "Queue length over time per MTA");
    MsVizFont f = { 12, FALSE, FALSE };
    for (guint k = 0; k < shown; k++) {
        MsHostId host = g_array_index(peaks, QueuePeak, k).host;
        MsVizStyle line = { 0, 0, line_colours[k], 1, 2, FALSE };
        double len = 0;
        ms_viz_canvas_move_to(c, ms_viz_axes_x(&a, 0), ms_viz_axes_y(&a, 0));
        for (guint i = 0; i < ms_recorder_len(rec); i++) {
            const MsRecord *r = ms_recorder_get(rec, i);
            if (r->kind != MS_TRACE_QUEUE || r->host != host)
                continue;
            double x = ms_viz_axes_x(&a, ms_time_to_seconds(r->at) / unit);
            ms_viz_canvas_line_to(c, x, ms_viz_axes_y(&a, len));
            len = r->code;
            ms_viz_canvas_line_to(c, x, ms_viz_axes_y(&a, len));
        }
        ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, tmax_s / unit), ms_viz_axes_y(&a, len));
        ms_viz_canvas_paint(c, &line);
        MsVizStyle key = { line_colours[k], 1, line_colours[k], 1, 1, FALSE };
        double ky = a.y + 8 + 18 * k;
        ms_viz_canvas_rect(c, a.x + a.w - 190, ky + 4, 14, 4);
        ms_viz_canvas_paint(c, &key);
        g_autofree char *label = g_strdup_printf("%s (peak %u)", ms_net_host_name(net, host),
                                                 g_array_index(peaks, QueuePeak, k).peak);
        ms_viz_canvas_text(c, a.x + a.w - 170, ky - 2, MS_VIZ_ANCHOR_START, &f, INK, label);
    }
    if (shown == 0)
        ms_viz_canvas_text(c, a.x + a.w / 2, a.y + a.h / 2, MS_VIZ_ANCHOR_MIDDLE, &f, SOFT,
                           "No MTA queued anything in this run.");
    ms_viz_canvas_group_end(c);
}

typedef struct {
    guint32 link;
    int dir;
    double util, peak; /* over the run; in its busiest second */
} LinkUse;

static gint
use_cmp(gconstpointer a, gconstpointer b)
{
    const LinkUse *x = a, *y = b;
    if (x->util != y->util)
        return x->util > y->util ? -1 : 1;
    return x->link != y->link ? (x->link < y->link ? -1 : 1) : x->dir - y->dir;
}

/* Utilisation (busy time / run time) of the ten busiest link directions,
 * each over its busiest second (MsLinkStats.peak_busy) behind it, lighter. */
static void
draw_links(MsVizCanvas *c, MsWorld *w, const Axes *frame)
{
    MsNet *net = ms_world_net(w);
    double run = MAX((double) ms_engine_now(ms_world_engine(w)), 1.0);
    g_autoptr(GArray) uses = g_array_new(FALSE, FALSE, sizeof(LinkUse));
    for (guint32 l = 0; l < ms_net_n_links(net); l++) {
        MsLinkStats st;
        ms_net_link_stats(net, l, &st);
        for (int d = 0; d < 2; d++) {
            LinkUse u = { l, d, (double) st.busy[d] / run,
                          (double) st.peak_busy[d] / MS_NET_PEAK_WINDOW };
            if (st.packets[d] > 0)
                g_array_append_val(uses, u);
        }
    }
    g_array_sort(uses, use_cmp);
    guint shown = MIN(uses->len, 10u);
    double umax = 0;
    for (guint k = 0; k < shown; k++) {
        const LinkUse *u = &g_array_index(uses, LinkUse, k);
        umax = MAX(umax, MAX(u->util, u->peak) * 100);
    }
    double xstep = ms_viz_axes_nice_step(MAX(umax, 1e-4), 5);
    double xmax = ceil(MAX(umax, 1e-4) / xstep) * xstep;
    Axes a = *frame;
    a.x += 170;
    a.w -= 170;
    a.x0 = 0;
    a.x1 = xmax;
    a.y0 = 0;
    a.y1 = 1;
    ms_viz_canvas_group_begin(c, "links", "plot", 0);
    ms_viz_axes_draw(c, &a, xstep, 1,
                     "utilisation (%): dark over the whole run, light in its busiest second", "",
                     "Busiest links (one direction each)");
    MsVizFont f = { 12, FALSE, FALSE };
    MsVizStyle bar = { 0x0072B2u, 1, 0x0072B2u, 1, 1, FALSE };
    MsVizStyle peak_bar = { 0xC6E4F5u, 1, 0x56B4E9u, 1, 1, FALSE };
    double slot = a.h / MAX(shown, 1u);
    for (guint k = 0; k < shown; k++) {
        const LinkUse *u = &g_array_index(uses, LinkUse, k);
        MsHostId x, y;
        ms_net_link_ends(net, u->link, &x, &y);
        if (u->dir)
            SWAP_HOSTS(x, y);
        double top = a.y + slot * k + slot * 0.18, h = slot * 0.64;
        ms_viz_canvas_rect(c, a.x, top, MAX(ms_viz_axes_x(&a, u->peak * 100) - a.x, 1), h);
        ms_viz_canvas_paint(c, &peak_bar);
        ms_viz_canvas_rect(c, a.x, top + h * 0.25,
                           MAX(ms_viz_axes_x(&a, u->util * 100) - a.x, 1), h * 0.5);
        ms_viz_canvas_paint(c, &bar);
        g_autofree char *label =
            g_strdup_printf("%s > %s", ms_net_host_name(net, x), ms_net_host_name(net, y));
        double th = 0;
        ms_viz_canvas_measure(c, &f, label, NULL, &th);
        ms_viz_canvas_text(c, a.x - 8, top + h / 2 - th / 2, MS_VIZ_ANCHOR_END, &f, INK, label);
    }
    ms_viz_canvas_group_end(c);
}

MsVizCanvas *
ms_viz_plots(MsWorld *w, const MsRecorder *rec, MsVizFormat format, double width, double height)
{
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    if (height <= 0)
        height = MS_VIZ_DEFAULT_HEIGHT * 1.4;
    MsMail *mail = ms_world_mail(w);
    const MsScenario *sc = ms_world_scenario(w);
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(double));
    for (guint id = 1; id <= ms_mail_n_messages(mail); id++) {
        const MsMessageRecord *m = ms_mail_message(mail, id);
        for (guint k = 0; k < m->rcpts->len; k++) {
            const MsRcptRecord *r = &g_array_index(m->rcpts, MsRcptRecord, k);
            if (r->state == MS_RCPT_DELIVERED) {
                double s = ms_time_to_seconds(r->done_at - m->created_at);
                g_array_append_val(lat, s);
            }
        }
    }
    g_array_sort(lat, double_cmp);
    guint n = lat->len;
    double maxv = n ? g_array_index(lat, double, n - 1) : 1;
    double unit;
    const char *uname;
    ms_viz_axes_time_unit(maxv, &unit, &uname);
    for (guint i = 0; i < n; i++)
        g_array_index(lat, double, i) /= unit;
    double vmax = n ? g_array_index(lat, double, n - 1) : 1;

    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    ms_viz_canvas_text(c, 24, 20, MS_VIZ_ANCHOR_START, &title, INK,
                       sc->title[0] ? sc->title : sc->name);
    g_autofree char *st =
        g_strdup_printf("Delivery latency of %u delivered recipient%s, from submission to the "
                        "mailbox store; MTA queues; link utilisation.",
                        n, n == 1 ? "" : "s");
    ms_viz_canvas_text(c, 24, 48, MS_VIZ_ANCHOR_START, &sub, SOFT, st);

    double top = 170, bottom = top + (height - 170 - 80 - 130) / 2, gap = 110;
    double pw = (width - 2 * 90 - gap) / 2;
    double xstep = ms_viz_axes_nice_step(vmax > 0 ? vmax : 1, 6);
    double xmax = ceil((vmax > 0 ? vmax : 1) / xstep) * xstep;
    if (xmax <= vmax)
        xmax += xstep;
    g_autofree char *xlabel = g_strdup_printf("delivery latency (%s)", uname);

    /* CDF */
    Axes a = { 90, top, pw, bottom - top, 0, xmax, 0, 1, FALSE, FALSE };
    ms_viz_canvas_group_begin(c, "cdf", "plot", 0);
    ms_viz_axes_draw(c, &a, xstep, 0.25, xlabel, "fraction delivered within",
                     "Cumulative distribution (CDF)");
    if (n) {
        MsVizStyle line = { 0, 0, 0x0072B2u, 1, 2.4, FALSE };
        ms_viz_canvas_move_to(c, ms_viz_axes_x(&a, 0), ms_viz_axes_y(&a, 0));
        for (guint i = 0; i < n; i++) {
            double v = g_array_index(lat, double, i);
            ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, v), ms_viz_axes_y(&a, (double) i / n));
            ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, v), ms_viz_axes_y(&a, (double) (i + 1) / n));
        }
        ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, xmax), ms_viz_axes_y(&a, 1));
        ms_viz_canvas_paint(c, &line);
        /* the median and the 95th percentile */
        MsVizFont f = { 12, FALSE, FALSE };
        double p50 = g_array_index(lat, double, (guint) ceil(0.50 * n) - 1);
        double p95 = g_array_index(lat, double, (guint) ceil(0.95 * n) - 1);
        char b1[32], b2[32];
        g_ascii_formatd(b1, sizeof b1, "%.3g", p50);
        g_ascii_formatd(b2, sizeof b2, "%.3g", p95);
        g_autofree char *t =
            g_strdup_printf("median %s %s, 95th percentile %s %s", b1, uname, b2, uname);
        ms_viz_canvas_text(c, a.x + a.w, a.y - 24, MS_VIZ_ANCHOR_END, &f, SOFT, t);
    }
    ms_viz_canvas_group_end(c);

    /* histogram */
    /* bins: the square-root rule, between 5 and 40, on nice boundaries */
    double target = CLAMP(sqrt((double) n), 5, 40);
    double bw = ms_viz_axes_nice_step(xmax, (int) target);
    guint bins = MAX(1, (guint) ceil(xmax / bw - 1e-9));
    g_autofree guint *count = g_new0(guint, bins);
    guint cmax = 0;
    for (guint i = 0; i < n; i++) {
        guint b = MIN(bins - 1, (guint) (g_array_index(lat, double, i) / bw));
        count[b]++;
        cmax = MAX(cmax, count[b]);
    }
    double ystep = MAX(1, ms_viz_axes_nice_step(MAX(cmax, 1), 5));
    double ymax = ceil(MAX(cmax, 1) / ystep) * ystep;
    Axes b = { 90 + pw + gap, top, pw, bottom - top, 0, xmax, 0, ymax, FALSE, FALSE };
    ms_viz_canvas_group_begin(c, "histogram", "plot", 0);
    ms_viz_axes_draw(c, &b, xstep, ystep, xlabel, "recipients", "Histogram");
    MsVizStyle bar = { 0x56B4E9u, 1, 0x0072B2u, 1, 1, FALSE };
    for (guint i = 0; i < bins; i++) {
        if (!count[i])
            continue;
        double x0 = ms_viz_axes_x(&b, i * bw), x1 = ms_viz_axes_x(&b, (i + 1) * bw);
        ms_viz_canvas_rect(c, x0 + 1, ms_viz_axes_y(&b, count[i]), x1 - x0 - 2,
                           ms_viz_axes_y(&b, 0) - ms_viz_axes_y(&b, count[i]));
        ms_viz_canvas_paint(c, &bar);
    }
    ms_viz_canvas_group_end(c);
    if (n == 0) {
        MsVizFont f = { 15, FALSE, FALSE };
        ms_viz_canvas_text(c, width / 2, (top + bottom) / 2, MS_VIZ_ANCHOR_MIDDLE, &f, SOFT,
                           "No message was delivered in this run.");
    }
    double top2 = bottom + 130, bottom2 = height - 80;
    Axes q = { 90, top2, pw, bottom2 - top2, 0, 1, 0, 1, FALSE, FALSE };
    draw_queues(c, w, rec, &q);
    Axes l = { 90 + pw + gap, top2, pw, bottom2 - top2, 0, 1, 0, 1, FALSE, FALSE };
    draw_links(c, w, &l);
    return c;
}
