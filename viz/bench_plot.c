/* Benchmark worlds across runs (include/mailsim/viz.h,
 * ms_viz_bench_worlds): time per message against messages on log-log
 * axes, one line per fidelity, each point labelled with its world, and a
 * dashed n log n reference through the smallest world of the first
 * fidelity: if a whole run costs n log n, a message costs log n, so the
 * reference is t(n) = t(n0) * log n / log n0.
 *
 * Input: the CSV tools/bench.sh writes to build/bench-worlds.csv, one row
 * per world and fidelity, with at least the columns world, fidelity,
 * messages and us_per_message (in any order; others are ignored).
 * Ownership: the canvas returned is the caller's. Costs: O(rows). */
#include "mailsim/viz.h"
#include "mailsim/viz_axes.h"

#include <math.h>
#include <string.h>

static const guint32 series_colours[] = { 0x0072B2u, 0xD55E00u, 0x009E73u, 0xCC79A7u };

typedef struct {
    char *world;
    char *fidelity;
    double messages, us;
} Row;

static void
row_clear(gpointer p)
{
    Row *r = p;
    g_free(r->world);
    g_free(r->fidelity);
}

static gint
row_cmp(gconstpointer a, gconstpointer b)
{
    const Row *x = a, *y = b;
    gint f = strcmp(x->fidelity, y->fidelity);
    if (f)
        return f;
    return x->messages < y->messages ? -1 : x->messages > y->messages;
}

static gboolean
parse_rows(const char *csv, const char *name, GArray *rows, GError **error)
{
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    gint col[4] = { -1, -1, -1, -1 };
    static const char *const want[] = { "world", "fidelity", "messages", "us_per_message" };
    g_auto(GStrv) head = lines[0] ? g_strsplit(g_strstrip(lines[0]), ",", -1) : NULL;
    for (guint i = 0; head && head[i]; i++)
        for (guint k = 0; k < G_N_ELEMENTS(want); k++)
            if (!strcmp(g_strstrip(head[i]), want[k]))
                col[k] = (gint) i;
    for (guint k = 0; k < G_N_ELEMENTS(want); k++)
        if (col[k] < 0) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                        "%s:1: no column '%s': expected a header "
                        "world,fidelity,messages,us_per_message (as `make bench` writes)",
                        name, want[k]);
            return FALSE;
        }
    guint ncols = g_strv_length(head);
    for (guint i = 1; lines[i]; i++) {
        if (!*g_strstrip(lines[i]))
            continue;
        g_auto(GStrv) f = g_strsplit(lines[i], ",", -1);
        if (g_strv_length(f) != ncols) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "%s:%u: expected %u fields",
                        name, i + 1, ncols);
            return FALSE;
        }
        Row r = { g_strdup(f[col[0]]), g_strdup(f[col[1]]), 0, 0 };
        char *e1 = NULL, *e2 = NULL;
        r.messages = g_ascii_strtod(f[col[2]], &e1);
        r.us = g_ascii_strtod(f[col[3]], &e2);
        g_array_append_val(rows, r);
        if (*e1 || *e2 || e1 == f[col[2]] || e2 == f[col[3]] || !(r.messages >= 2) || !(r.us > 0) ||
            !isfinite(r.messages) || !isfinite(r.us)) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                        "%s:%u: messages must be >= 2 and "
                        "us_per_message > 0",
                        name, i + 1);
            return FALSE;
        }
    }
    if (rows->len == 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "%s: no benchmark rows", name);
        return FALSE;
    }
    return TRUE;
}

static void
decades(double lo, double hi, double *x0, double *x1)
{
    *x0 = pow(10, floor(log10(lo)));
    *x1 = pow(10, ceil(log10(hi)));
    if (*x1 <= *x0)
        *x1 = *x0 * 10;
}

MsVizCanvas *
ms_viz_bench_worlds(const char *csv, const char *name, MsVizFormat format, double width,
                    double height, GError **error)
{
    g_return_val_if_fail(csv && name, NULL);
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(Row));
    g_array_set_clear_func(rows, row_clear);
    if (!parse_rows(csv, name, rows, error))
        return NULL;
    g_array_sort(rows, row_cmp);
    if (width <= 0)
        width = 1100;
    if (height <= 0)
        height = 760;
    double mlo = INFINITY, mhi = 0, ulo = INFINITY, uhi = 0;
    for (guint i = 0; i < rows->len; i++) {
        const Row *r = &g_array_index(rows, Row, i);
        mlo = MIN(mlo, r->messages);
        mhi = MAX(mhi, r->messages);
        ulo = MIN(ulo, r->us);
        uhi = MAX(uhi, r->us);
    }
    /* the reference through the first fidelity's smallest world */
    const Row *ref = &g_array_index(rows, Row, 0);
    double ref_hi = ref->us * log(mhi * 10) / log(ref->messages);
    MsVizAxes a = { 110, 150, width - 110 - 260, height - 150 - 90, 0, 0, 0, 0, TRUE, TRUE };
    decades(mlo / 1.5, mhi * 1.5, &a.x0, &a.x1);
    decades(ulo / 1.5, MAX(uhi, ref_hi) * 1.5, &a.y0, &a.y1);

    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE }, f = { 12.5, FALSE, FALSE };
    ms_viz_canvas_text(c, 24, 20, MS_VIZ_ANCHOR_START, &title, MS_VIZ_INK,
                       "Benchmark worlds: time per message");
    g_autofree char *st =
        g_strdup_printf("CPU time of a whole run divided by its messages, median of the runs "
                        "(%s). Dashed: n log n growth.",
                        name);
    ms_viz_canvas_text(c, 24, 50, MS_VIZ_ANCHOR_START, &sub, MS_VIZ_SOFT, st);
    ms_viz_axes_draw(c, &a, 0, 0, "messages in the world", "time per message (us)", "");

    ms_viz_canvas_group_begin(c, "reference", "reference", 0);
    MsVizStyle dash = { 0, 0, MS_VIZ_SOFT, 1, 1.4, TRUE };
    for (guint i = 0; i <= 40; i++) {
        double n = a.x0 * pow(a.x1 / a.x0, i / 40.0);
        if (n < 2)
            continue;
        double y = ms_viz_axes_y(&a, ref->us * log(n) / log(ref->messages));
        if (i == 0 || a.x0 * pow(a.x1 / a.x0, (i - 1) / 40.0) < 2)
            ms_viz_canvas_move_to(c, ms_viz_axes_x(&a, n), y);
        else
            ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, n), y);
    }
    ms_viz_canvas_paint(c, &dash);
    ms_viz_canvas_group_end(c);

    guint series = 0;
    double key_y = a.y + 10;
    for (guint i = 0; i < rows->len; series++) {
        guint j = i;
        while (j < rows->len &&
               !strcmp(g_array_index(rows, Row, j).fidelity, g_array_index(rows, Row, i).fidelity))
            j++;
        guint32 colour = series_colours[series % G_N_ELEMENTS(series_colours)];
        const char *fid = g_array_index(rows, Row, i).fidelity;
        g_autofree char *id = g_strdup_printf("series-%s", fid);
        ms_viz_canvas_group_begin(c, id, "series", 0);
        MsVizStyle line = { 0, 0, colour, 1, 2.2, FALSE },
                   mark = { colour, 1, 0xFFFFFFu, 1, 1.2, FALSE };
        for (guint k = i; k < j; k++) {
            const Row *r = &g_array_index(rows, Row, k);
            if (k == i)
                ms_viz_canvas_move_to(c, ms_viz_axes_x(&a, r->messages), ms_viz_axes_y(&a, r->us));
            else
                ms_viz_canvas_line_to(c, ms_viz_axes_x(&a, r->messages), ms_viz_axes_y(&a, r->us));
        }
        ms_viz_canvas_paint(c, &line);
        for (guint k = i; k < j; k++) {
            const Row *r = &g_array_index(rows, Row, k);
            double x = ms_viz_axes_x(&a, r->messages), y = ms_viz_axes_y(&a, r->us);
            ms_viz_canvas_group_begin(c, NULL, "bench-point", 0);
            ms_viz_canvas_circle(c, x, y, 5.5);
            ms_viz_canvas_paint(c, &mark);
            char us[G_ASCII_DTOSTR_BUF_SIZE];
            g_ascii_formatd(us, sizeof us, "%.3g", r->us);
            g_autofree char *label = g_strdup_printf("%s %s us", r->world, us);
            ms_viz_canvas_text(c, x + 9, y - 20, MS_VIZ_ANCHOR_START, &f, MS_VIZ_INK, label);
            ms_viz_canvas_group_end(c);
        }
        ms_viz_canvas_group_end(c);
        MsVizStyle key = { colour, 1, colour, 1, 1, FALSE };
        ms_viz_canvas_rect(c, a.x + a.w + 30, key_y + 6, 16, 4);
        ms_viz_canvas_paint(c, &key);
        g_autofree char *kl = g_strdup_printf("%s level", fid);
        ms_viz_canvas_text(c, a.x + a.w + 52, key_y, MS_VIZ_ANCHOR_START, &f, MS_VIZ_INK, kl);
        key_y += 22;
        i = j;
    }
    ms_viz_canvas_move_to(c, a.x + a.w + 30, key_y + 8);
    ms_viz_canvas_line_to(c, a.x + a.w + 46, key_y + 8);
    ms_viz_canvas_paint(c, &dash);
    ms_viz_canvas_text(c, a.x + a.w + 52, key_y, MS_VIZ_ANCHOR_START, &f, MS_VIZ_INK,
                       "n log n reference");
    return c;
}
