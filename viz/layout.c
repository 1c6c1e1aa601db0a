/* Host placement for the hop diagram (include/mailsim/viz_layout.h).
 *
 * Design. Every host takes a footprint: its symbol (SHAPE_W x SHAPE_H) with
 * its name and address centred under it. Two placements:
 *
 * 1. The scenario's positions, when every host has one: the bounding box of
 *    the positions is scaled uniformly into the area (minus half a
 *    footprint at each side). They are used only when no two footprints
 *    overlap; otherwise the automatic layout is used instead.
 *
 * 2. The automatic layered layout. The column of a host is its hop distance
 *    from the origin (the sender), by breadth-first search over the shown
 *    hosts; a host unreachable from it starts a search of its own. A server
 *    or DNS host hanging off one neighbour takes that neighbour's column,
 *    so it sits right above or below its router. Rows come in three bands:
 *    DNS servers on top, routers and clients in the middle, mail servers
 *    and relays below. Hosts sharing a cell of the middle band are stacked
 *    in id order, at most CELL_ROWS to a slot, further slots side by side;
 *    in the top and bottom bands they stand side by side, so that no link
 *    to one of them runs through another. Slot widths follow the widest
 *    footprint in the column, row heights the tallest; so footprints
 *    never overlap, by construction,
 *    whatever the names. The grid is centred in the area, or overflows it
 *    (bounds says by how much: the renderer grows its page).
 *
 * Above MS_VIZ_LAYOUT_MAX_HOSTS hosts, only the focus hosts and then their
 * neighbours (in id order) are shown, up to that many.
 *
 * Costs: O(hosts + links) plus one text measurement per shown host.
 * Ownership: the layout owns its arrays. */
#include "mailsim/viz_layout.h"

#include <math.h>
#include <stdio.h>

#define SHAPE_W   44.0
#define SHAPE_H   34.0
#define LABEL_GAP 4.0
#define COL_GAP   28.0
#define ROW_GAP   34.0
#define BAND_GAP  40.0
#define CELL_ROWS 6u

void
ms_viz_layout_fonts(MsVizFont *name_font, MsVizFont *addr_font)
{
    if (name_font)
        *name_font = (MsVizFont){ 12.5, TRUE, FALSE };
    if (addr_font)
        *addr_font = (MsVizFont){ 11.0, FALSE, TRUE };
}

gboolean
ms_viz_rect_overlap(const MsVizRect *a, const MsVizRect *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

MsVizRect
ms_viz_rect_union(const MsVizRect *a, const MsVizRect *b)
{
    double x0 = MIN(a->x, b->x), y0 = MIN(a->y, b->y);
    double x1 = MAX(a->x + a->w, b->x + b->w), y1 = MAX(a->y + a->h, b->y + b->h);
    return (MsVizRect){ x0, y0, x1 - x0, y1 - y0 };
}

void
ms_viz_layout_free(MsVizLayout *l)
{
    if (!l)
        return;
    g_free(l->shown);
    g_free(l->cx);
    g_free(l->cy);
    g_free(l->shape);
    g_free(l->label);
    g_free(l);
}

/* Puts host h's shape centre at (x, y) and its label under it. */
static void
place(MsVizLayout *l, guint h, double x, double y, const double *lw, const double *lh)
{
    l->cx[h] = x;
    l->cy[h] = y;
    l->shape[h] = (MsVizRect){ x - SHAPE_W / 2, y - SHAPE_H / 2, SHAPE_W, SHAPE_H };
    l->label[h] = (MsVizRect){ x - lw[h] / 2, y + SHAPE_H / 2 + LABEL_GAP, lw[h], lh[h] };
}

static double
foot_w(const double *lw, guint h)
{
    return MAX(SHAPE_W, lw[h]);
}

static double
foot_h(const double *lh, guint h)
{
    return SHAPE_H + LABEL_GAP + lh[h];
}

static void
compute_bounds(MsVizLayout *l)
{
    gboolean first = TRUE;
    for (guint h = 0; h < l->n_hosts; h++) {
        if (!l->shown[h])
            continue;
        MsVizRect u = ms_viz_rect_union(&l->shape[h], &l->label[h]);
        l->bounds = first ? u : ms_viz_rect_union(&l->bounds, &u);
        first = FALSE;
    }
}

gboolean
ms_viz_layout_check(const MsVizLayout *l, MsNet *net, char **why)
{
    for (guint a = 0; a < l->n_hosts; a++) {
        if (!l->shown[a])
            continue;
        for (guint b = a + 1; b < l->n_hosts; b++) {
            if (!l->shown[b])
                continue;
            const MsVizRect *ra[2] = { &l->shape[a], &l->label[a] };
            const MsVizRect *rb[2] = { &l->shape[b], &l->label[b] };
            for (guint i = 0; i < 4; i++) {
                if (ms_viz_rect_overlap(ra[i / 2], rb[i % 2])) {
                    if (why)
                        *why = g_strdup_printf("%s %s overlaps %s %s", ms_net_host_name(net, a),
                                               i / 2 ? "label" : "symbol", ms_net_host_name(net, b),
                                               i % 2 ? "label" : "symbol");
                    return FALSE;
                }
            }
            /* a label over the other's symbol is checked above; a symbol
             * over its own label cannot happen */
        }
    }
    return TRUE;
}

static gboolean
try_positions(MsVizLayout *l, MsNet *net, const MsScenario *sc, const MsVizRect *area,
              const double *lw, const double *lh)
{
    if (!sc || sc->hosts->len != l->n_hosts)
        return FALSE;
    double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y0 = G_MAXDOUBLE, y1 = -G_MAXDOUBLE, mw = SHAPE_W,
           mh = 0;
    for (guint h = 0; h < l->n_hosts; h++) {
        const MsScenarioHost *sh = &g_array_index(sc->hosts, MsScenarioHost, h);
        if (!l->shown[h] || !sh->has_position)
            return FALSE;
        x0 = MIN(x0, sh->x);
        x1 = MAX(x1, sh->x);
        y0 = MIN(y0, sh->y);
        y1 = MAX(y1, sh->y);
        mw = MAX(mw, foot_w(lw, h));
        mh = MAX(mh, foot_h(lh, h));
    }
    double aw = area->w - mw, ah = area->h - mh;
    if (aw <= 0 || ah <= 0)
        return FALSE;
    double sx = x1 > x0 ? aw / (x1 - x0) : 1, sy = y1 > y0 ? ah / (y1 - y0) : 1;
    /* one scale, except that the vertical may stretch up to 1.5 times the
     * horizontal to use a page wider than the drawing is tall */
    double s = MIN(sx, sy);
    double s_y = MIN(sy, s * 1.5);
    double ox = area->x + mw / 2 + (aw - s * (x1 - x0)) / 2;
    double oy = area->y + SHAPE_H / 2 + (ah - s_y * (y1 - y0)) / 2;
    for (guint h = 0; h < l->n_hosts; h++) {
        const MsScenarioHost *sh = &g_array_index(sc->hosts, MsScenarioHost, h);
        place(l, h, round(ox + s * (sh->x - x0)), round(oy + s_y * (sh->y - y0)), lw, lh);
    }
    l->from_scenario = TRUE;
    return ms_viz_layout_check(l, net, NULL);
}

static guint
band_of(MsHostRole role)
{
    return role == MS_ROLE_DNS ? 0 : (role == MS_ROLE_MAILSERVER || role == MS_ROLE_RELAY) ? 2 : 1;
}

static void
auto_layout(MsVizLayout *l, MsNet *net, const MsVizRect *area, MsHostId origin, const double *lw,
            const double *lh)
{
    guint n = l->n_hosts, nl = ms_net_n_links(net);
    /* adjacency among shown hosts */
    g_autoptr(GPtrArray) adj = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (guint h = 0; h < n; h++)
        g_ptr_array_add(adj, g_array_new(FALSE, FALSE, sizeof(MsHostId)));
    for (guint k = 0; k < nl; k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        if (!l->shown[a] || !l->shown[b])
            continue;
        g_array_append_val(g_ptr_array_index(adj, a), b);
        g_array_append_val(g_ptr_array_index(adj, b), a);
    }
    g_autofree gint *col = g_new(gint, n);
    for (guint h = 0; h < n; h++)
        col[h] = -1;
    g_autoptr(GQueue) q = g_queue_new();
    for (guint round_ = 0;; round_++) {
        MsHostId seed = MS_HOST_WORLD;
        if (round_ == 0 && origin < n && l->shown[origin])
            seed = origin;
        for (guint h = 0; seed == MS_HOST_WORLD && h < n; h++)
            if (l->shown[h] && col[h] < 0 &&
                (round_ > 0 || ms_net_host_role(net, h) == MS_ROLE_CLIENT))
                seed = h;
        for (guint h = 0; seed == MS_HOST_WORLD && h < n; h++)
            if (l->shown[h] && col[h] < 0)
                seed = h;
        if (seed == MS_HOST_WORLD)
            break;
        col[seed] = 0;
        g_queue_push_tail(q, GUINT_TO_POINTER(seed));
        while (!g_queue_is_empty(q)) {
            MsHostId h = GPOINTER_TO_UINT(g_queue_pop_head(q));
            GArray *nb = g_ptr_array_index(adj, h);
            for (guint i = 0; i < nb->len; i++) {
                MsHostId o = g_array_index(nb, MsHostId, i);
                if (col[o] < 0) {
                    col[o] = col[h] + 1;
                    g_queue_push_tail(q, GUINT_TO_POINTER(o));
                }
            }
        }
    }
    /* servers hanging off one neighbour sit in its column */
    g_autofree gint *final_col = g_new(gint, n);
    for (guint h = 0; h < n; h++) {
        final_col[h] = col[h];
        GArray *nb = g_ptr_array_index(adj, h);
        MsHostRole role = ms_net_host_role(net, h);
        if (l->shown[h] && nb->len == 1 && role != MS_ROLE_CLIENT && role != MS_ROLE_ROUTER &&
            h != origin) {
            MsHostId o = g_array_index(nb, MsHostId, 0);
            if (((GArray *) g_ptr_array_index(adj, o))->len > 1)
                final_col[h] = col[o];
        }
    }
    gint ncol = 0;
    for (guint h = 0; h < n; h++)
        if (l->shown[h])
            ncol = MAX(ncol, final_col[h] + 1);
    /* cells: count per (column, band); a cell holds at most CELL_ROWS rows
     * and spills into more slots side by side within its column */
    g_autofree guint *cell = g_new0(guint, (gsize) ncol * 3);
    g_autofree guint *total = g_new0(guint, (gsize) ncol * 3);
    g_autofree guint *row = g_new0(guint, n);
    g_autofree guint *slot = g_new0(guint, n);
    g_autofree guint *slots = g_new0(guint, ncol);
    g_autofree double *slotw = g_new0(double, ncol);
    g_autofree double *colw = g_new0(double, ncol);
    double rowh = 0;
    guint rows[3] = { 0, 0, 0 };
    for (guint h = 0; h < n; h++)
        if (l->shown[h])
            total[final_col[h] * 3 + band_of(ms_net_host_role(net, h))]++;
    for (guint h = 0; h < n; h++) {
        if (!l->shown[h])
            continue;
        guint b = band_of(ms_net_host_role(net, h));
        guint c = (guint) final_col[h];
        /* the middle band stacks a cell's hosts; the top and bottom bands
         * set them side by side, so that no link to one of them runs
         * through another */
        guint per = b == 1 ? MIN(CELL_ROWS, total[c * 3 + b])
                           : (total[c * 3 + b] + CELL_ROWS - 1) / CELL_ROWS;
        guint idx = cell[c * 3 + b]++;
        row[h] = idx % per;
        slot[h] = idx / per;
        slots[c] = MAX(slots[c], slot[h] + 1);
        rows[b] = MAX(rows[b], per);
        slotw[c] = MAX(slotw[c], foot_w(lw, h));
        rowh = MAX(rowh, foot_h(lh, h));
    }
    for (gint c = 0; c < ncol; c++)
        colw[c] = slots[c] * slotw[c] + (slots[c] ? slots[c] - 1 : 0) * COL_GAP;
    /* spread the grid over the area when it is smaller: at most 120 px
     * more between columns and 90 px more between rows */
    guint nrows = rows[0] + rows[1] + rows[2];
    double min_w = 0;
    for (gint c = 0; c < ncol; c++)
        min_w += colw[c] + COL_GAP;
    min_w -= COL_GAP;
    double min_h = nrows * (rowh + ROW_GAP) +
                   BAND_GAP * ((rows[0] > 0) + (rows[1] > 0) + (rows[2] > 0) - 1) - ROW_GAP;
    double col_gap = COL_GAP, row_gap = ROW_GAP;
    if (ncol > 1 && min_w < area->w)
        col_gap += MIN(120, (area->w - min_w) / (ncol - 1));
    if (nrows > 1 && min_h < area->h)
        row_gap += MIN(90, (area->h - min_h) / (nrows - 1));
    double pitch_y = rowh + row_gap;
    double band_y[3], y = 0;
    for (guint b = 0; b < 3; b++) {
        band_y[b] = y;
        if (rows[b])
            y += rows[b] * pitch_y + BAND_GAP;
    }
    double total_h = y - BAND_GAP - row_gap;
    g_autofree double *colx = g_new0(double, ncol);
    double x = 0;
    for (gint c = 0; c < ncol; c++) {
        colx[c] = x + colw[c] / 2;
        x += colw[c] + col_gap;
    }
    double total_w = x - col_gap;
    double ox = area->x + MAX(0, (area->w - total_w) / 2);
    double oy = area->y + MAX(0, (area->h - total_h) / 2);
    for (guint h = 0; h < n; h++) {
        if (!l->shown[h])
            continue;
        guint b = band_of(ms_net_host_role(net, h));
        gint c = final_col[h];
        double sx = colx[c] - colw[c] / 2 + slot[h] * (slotw[c] + COL_GAP) + slotw[c] / 2;
        place(l, h, round(ox + sx), round(oy + band_y[b] + row[h] * pitch_y + SHAPE_H / 2), lw, lh);
    }
}

/* Whether the segment (x0,y0)-(x1,y1) passes through r grown by `m` on
 * every side (Liang-Barsky clipping). */
static gboolean
segment_hits(double x0, double y0, double x1, double y1, const MsVizRect *r, double m)
{
    double dx = x1 - x0, dy = y1 - y0, t0 = 0, t1 = 1;
    const double p[4] = { -dx, dx, -dy, dy };
    const double q[4] = { x0 - (r->x - m), (r->x + r->w + m) - x0, y0 - (r->y - m),
                          (r->y + r->h + m) - y0 };
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return FALSE;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0)
            t0 = MAX(t0, t);
        else
            t1 = MIN(t1, t);
        if (t0 > t1)
            return FALSE;
    }
    return TRUE;
}

gboolean
ms_viz_rect_hits_segment(const MsVizRect *r, double ax, double ay, double bx, double by)
{
    return segment_hits(ax, ay, bx, by, r, 0);
}

/* Room kept between a label and a link line: journey arrows run beside
 * the link, a few pixels off it. */
#define LINK_MARGIN 7.0

/* The first link drawn through rect r (links join shown hosts' centres), or
 * G_MAXUINT. */
static guint
link_through(const MsVizLayout *l, MsNet *net, const MsVizRect *r)
{
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        if (l->shown[a] && l->shown[b] &&
            segment_hits(l->cx[a], l->cy[a], l->cx[b], l->cy[b], r, LINK_MARGIN))
            return k;
    }
    return G_MAXUINT;
}

guint
ms_viz_layout_crossed_labels(const MsVizLayout *l, MsNet *net, char **why)
{
    guint n = 0;
    for (guint h = 0; h < l->n_hosts; h++) {
        if (!l->shown[h])
            continue;
        guint k = link_through(l, net, &l->label[h]);
        if (k == G_MAXUINT)
            continue;
        if (why && n == 0) {
            MsHostId a, b;
            ms_net_link_ends(net, k, &a, &b);
            *why = g_strdup_printf("the label of %s is crossed by link %s~%s",
                                   ms_net_host_name(net, h), ms_net_host_name(net, a),
                                   ms_net_host_name(net, b));
        }
        n++;
    }
    return n;
}

/* Moves each label that a link line crosses to a place around its symbol
 * where none does: above, right, left, the four corners, then corners a
 * row further out (clear of a neighbour's label on the same row); a move is
 * kept only when the label then overlaps nothing and stays in the area. */
static void
choose_label_sides(MsVizLayout *l, MsNet *net, const MsVizRect *area)
{
    for (guint h = 0; h < l->n_hosts; h++) {
        if (!l->shown[h] || link_through(l, net, &l->label[h]) == G_MAXUINT)
            continue;
        MsVizRect keep = l->label[h];
        const MsVizRect *sh = &l->shape[h];
        double above = sh->y - LABEL_GAP - keep.h, below = keep.y;
        double right = sh->x + sh->w + LABEL_GAP + 2, left = sh->x - LABEL_GAP - 2 - keep.w;
        double mid = l->cy[h] - keep.h / 2;
        /* corners: the label's near edge clear of the symbol's centre lines */
        double cright = l->cx[h] + LINK_MARGIN + 2, cleft = l->cx[h] - LINK_MARGIN - 2 - keep.w;
        double lower = below + keep.h + LABEL_GAP, higher = above - keep.h - LABEL_GAP;
        MsVizRect cand[11] = {
            { keep.x, above, keep.w, keep.h },
            { right, mid, keep.w, keep.h },
            { left, mid, keep.w, keep.h },
            { cright, below, keep.w, keep.h },
            { cleft, below, keep.w, keep.h },
            { cright, above, keep.w, keep.h },
            { cleft, above, keep.w, keep.h },
            /* a row further out, clear of a neighbour's label */
            { cright, lower, keep.w, keep.h },
            { cleft, lower, keep.w, keep.h },
            { cright, higher, keep.w, keep.h },
            { cleft, higher, keep.w, keep.h },
        };
        for (guint i = 0; i < G_N_ELEMENTS(cand); i++) {
            const MsVizRect *c = &cand[i];
            if (c->y < area->y || c->x < area->x || c->x + c->w > area->x + area->w ||
                c->y + c->h > area->y + area->h)
                continue;
            l->label[h] = *c;
            if (link_through(l, net, c) == G_MAXUINT && ms_viz_layout_check(l, net, NULL))
                break;
            l->label[h] = keep;
        }
    }
}

MsVizLayout *
ms_viz_layout_new(MsNet *net, const MsScenario *sc, MsVizCanvas *measure, const MsVizRect *area,
                  const GArray *focus, MsHostId origin)
{
    g_return_val_if_fail(net && measure && area, NULL);
    guint n = ms_net_n_hosts(net);
    MsVizLayout *l = g_new0(MsVizLayout, 1);
    l->n_hosts = n;
    l->shown = g_new0(gboolean, n);
    l->cx = g_new0(double, n);
    l->cy = g_new0(double, n);
    l->shape = g_new0(MsVizRect, n);
    l->label = g_new0(MsVizRect, n);
    if (n <= MS_VIZ_LAYOUT_MAX_HOSTS || !focus || focus->len == 0) {
        guint limit = MIN(n, MS_VIZ_LAYOUT_MAX_HOSTS);
        for (guint h = 0; h < limit; h++)
            l->shown[h] = TRUE;
    } else {
        guint count = 0;
        for (guint i = 0; i < focus->len; i++) {
            MsHostId h = g_array_index(focus, MsHostId, i);
            if (h < n && !l->shown[h]) {
                l->shown[h] = TRUE;
                count++;
            }
        }
        g_autofree gboolean *was = g_memdup2(l->shown, n * sizeof(gboolean));
        for (guint k = 0; k < ms_net_n_links(net) && count < MS_VIZ_LAYOUT_MAX_HOSTS; k++) {
            MsHostId a, b;
            ms_net_link_ends(net, k, &a, &b);
            if (was[a] && !l->shown[b]) {
                l->shown[b] = TRUE;
                count++;
            } else if (was[b] && !l->shown[a]) {
                l->shown[a] = TRUE;
                count++;
            }
        }
    }
    for (guint h = 0; h < n; h++)
        l->hidden_hosts += !l->shown[h];
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        l->hidden_links += !l->shown[a] || !l->shown[b];
    }
    MsVizFont nf, af;
    ms_viz_layout_fonts(&nf, &af);
    g_autofree double *lw = g_new0(double, n);
    g_autofree double *lh = g_new0(double, n);
    for (guint h = 0; h < n; h++) {
        if (!l->shown[h])
            continue;
        double w1, h1, w2, h2;
        g_autofree char *addr = ms_ipv4_to_string(ms_net_host_addr(net, h));
        ms_viz_canvas_measure(measure, &nf, ms_net_host_name(net, h), &w1, &h1);
        ms_viz_canvas_measure(measure, &af, addr, &w2, &h2);
        lw[h] = ceil(MAX(w1, w2)) + 2;
        lh[h] = ceil(h1 + h2);
    }
    if (l->hidden_hosts > 0 || !try_positions(l, net, sc, area, lw, lh)) {
        l->from_scenario = FALSE;
        auto_layout(l, net, area, origin, lw, lh);
    }
    choose_label_sides(l, net, area);
    compute_bounds(l);
    return l;
}
