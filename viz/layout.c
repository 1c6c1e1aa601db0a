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
 * Above MS_VIZ_LAYOUT_SUMMARY_HOSTS hosts the world is summarised: every
 * host is put into a group (by AS, else transit core and stub areas, else
 * areas around the best-connected routers: group_hosts() states the rule),
 * only the focus hosts are shown, each group of the journey is laid out on
 * its own by the layered layout above and boxed, these boxes stand side by
 * side in the order the journey first reaches them (so they never overlap),
 * and the other groups' boxes fill rows under them. The links between two
 * groups are counted into one MsVizGroupLink. Costs: O(hosts + links) for
 * the grouping, plus one layered layout per journey group.
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
    if (l->groups) {
        for (guint i = 0; i < l->groups->len; i++)
            g_free(g_array_index(l->groups, MsVizGroup, i).name);
        g_array_unref(l->groups);
    }
    g_free(l->group_of);
    if (l->group_links)
        g_array_unref(l->group_links);
    g_free(l->summary);
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

/* ---- Summaries of big worlds (above MS_VIZ_LAYOUT_SUMMARY_HOSTS) ---- */

#define GROUP_PAD   12.0
#define GROUP_GAP   16.0
#define GROUP_LABEL 18.0
#define STRIP_GAP   34.0

void
ms_viz_layout_group_fonts(MsVizFont *name_font, MsVizFont *count_font)
{
    if (name_font)
        *name_font = (MsVizFont){ 12.0, TRUE, FALSE };
    if (count_font)
        *count_font = (MsVizFont){ 11.0, FALSE, FALSE };
}

char *
ms_viz_layout_group_caption(const MsVizGroup *g)
{
    return g_strdup_printf("%u host%s", g->n_hosts, g->n_hosts == 1 ? "" : "s");
}

/* The index of the group named `name`, added when new. */
static guint
group_index(GArray *groups, GHashTable *by_name, const char *name)
{
    gpointer v;
    if (g_hash_table_lookup_extended(by_name, name, NULL, &v))
        return GPOINTER_TO_UINT(v);
    MsVizGroup g = { .name = g_strdup(name) };
    g_array_append_val(groups, g);
    g_hash_table_insert(by_name, g.name, GUINT_TO_POINTER(groups->len - 1));
    return groups->len - 1;
}

static gint
by_id(gconstpointer a, gconstpointer b)
{
    MsHostId x = *(const MsHostId *) a, y = *(const MsHostId *) b;
    return x < y ? -1 : x > y;
}

static gint
by_group_pair(gconstpointer a, gconstpointer b)
{
    const MsVizGroupLink *x = a, *y = b;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}

static gint
by_degree(gconstpointer a, gconstpointer b, gpointer deg)
{
    MsHostId x = *(const MsHostId *) a, y = *(const MsHostId *) b;
    const guint *d = deg;
    if (d[x] != d[y])
        return d[x] > d[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Puts every host into a group and returns the rule used, as words for
 * the footer (static).
 *
 * 1. When hosts have AS numbers and an AS holds four hosts or more on
 *    average: one group per AS ("AS 64500"; hosts with none together as
 *    "no AS"). (With one router per AS, grouping by AS would not
 *    summarise: the rules below apply.)
 * 2. Otherwise the routers' core is what remains after repeatedly pruning
 *    routers with at most one router neighbour (the 2-core of the router
 *    graph). In a transit-stub world that is the transit ring, since stub
 *    routers form trees hanging off it. When that core holds at most half
 *    the routers it is one group, "transit core", and every other host
 *    joins the area of the core router it is nearest in hops ("stub area
 *    at r3": the stub trees hanging off r3, with the mail servers on them).
 * 3. Otherwise (a scale-free world has no such core): the areas around the
 *    best-connected routers, one per 20 routers, each host joining the
 *    nearest ("area around r17").
 * Ties in hops go to the lower router id (a breadth-first search from all
 * centres at once, in id order). Hosts no centre reaches share one group. */
static const char *
group_hosts(MsVizLayout *l, MsNet *net)
{
    guint n = l->n_hosts, nl = ms_net_n_links(net);
    l->groups = g_array_new(FALSE, TRUE, sizeof(MsVizGroup));
    l->group_of = g_new0(guint, MAX(n, 1));
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) ases = g_hash_table_new(g_direct_hash, g_direct_equal);
    gboolean any_as = FALSE;
    for (guint h = 0; h < n; h++) {
        any_as |= ms_net_host_as(net, h) != 0;
        g_hash_table_add(ases, GUINT_TO_POINTER(ms_net_host_as(net, h)));
    }
    if (any_as && g_hash_table_size(ases) * 4 <= n) {
        for (guint h = 0; h < n; h++) {
            guint32 asn = ms_net_host_as(net, h);
            g_autofree char *name = asn ? g_strdup_printf("AS %u", asn) : g_strdup("no AS");
            l->group_of[h] = group_index(l->groups, by_name, name);
        }
        return "by AS";
    }
    /* adjacency, in link order */
    g_autoptr(GPtrArray) adj = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (guint h = 0; h < n; h++)
        g_ptr_array_add(adj, g_array_new(FALSE, FALSE, sizeof(MsHostId)));
    g_autofree guint *rdeg = g_new0(guint, MAX(n, 1));
    for (guint k = 0; k < nl; k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        g_array_append_val(g_ptr_array_index(adj, a), b);
        g_array_append_val(g_ptr_array_index(adj, b), a);
        if (ms_net_host_role(net, a) == MS_ROLE_ROUTER &&
            ms_net_host_role(net, b) == MS_ROLE_ROUTER && a != b) {
            rdeg[a]++;
            rdeg[b]++;
        }
    }
    /* the 2-core of the router graph */
    g_autofree gboolean *core = g_new0(gboolean, MAX(n, 1));
    g_autofree guint *deg = g_memdup2(rdeg, MAX(n, 1) * sizeof(guint));
    g_autoptr(GQueue) q = g_queue_new();
    guint n_routers = 0, n_core = 0;
    for (guint h = 0; h < n; h++) {
        if (ms_net_host_role(net, h) != MS_ROLE_ROUTER)
            continue;
        n_routers++;
        core[h] = TRUE;
        if (deg[h] <= 1)
            g_queue_push_tail(q, GUINT_TO_POINTER(h));
    }
    while (!g_queue_is_empty(q)) {
        MsHostId h = GPOINTER_TO_UINT(g_queue_pop_head(q));
        if (!core[h])
            continue;
        core[h] = FALSE;
        GArray *nb = g_ptr_array_index(adj, h);
        for (guint i = 0; i < nb->len; i++) {
            MsHostId o = g_array_index(nb, MsHostId, i);
            if (core[o] && o != h && --deg[o] == 1)
                g_queue_push_tail(q, GUINT_TO_POINTER(o));
        }
    }
    for (guint h = 0; h < n; h++)
        n_core += core[h];
    gboolean stubs = n_core > 0 && n_core * 2 <= n_routers;
    g_autoptr(GArray) centres = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint h = 0; h < n; h++)
        if (stubs ? core[h] : ms_net_host_role(net, h) == MS_ROLE_ROUTER)
            g_array_append_val(centres, h);
    if (!stubs) {
        g_array_sort_with_data(centres, by_degree, rdeg);
        g_array_set_size(centres, MIN(centres->len, MAX(1, (n_routers + 19) / 20)));
        g_array_sort(centres, by_id);
    }
    /* breadth-first from every centre at once */
    g_autofree MsHostId *owner = g_new(MsHostId, MAX(n, 1));
    for (guint h = 0; h < n; h++)
        owner[h] = MS_HOST_WORLD;
    for (guint i = 0; i < centres->len; i++) {
        MsHostId c = g_array_index(centres, MsHostId, i);
        owner[c] = c;
        g_queue_push_tail(q, GUINT_TO_POINTER(c));
    }
    while (!g_queue_is_empty(q)) {
        MsHostId h = GPOINTER_TO_UINT(g_queue_pop_head(q));
        GArray *nb = g_ptr_array_index(adj, h);
        for (guint i = 0; i < nb->len; i++) {
            MsHostId o = g_array_index(nb, MsHostId, i);
            if (owner[o] == MS_HOST_WORLD) {
                owner[o] = owner[h];
                g_queue_push_tail(q, GUINT_TO_POINTER(o));
            }
        }
    }
    for (guint h = 0; h < n; h++) {
        g_autofree char *name = NULL;
        if (owner[h] == MS_HOST_WORLD)
            name = g_strdup("unconnected hosts");
        else if (stubs && core[h])
            name = g_strdup("transit core");
        else
            name = g_strdup_printf(stubs ? "stub area at %s" : "area around %s",
                                   ms_net_host_name(net, owner[h]));
        l->group_of[h] = group_index(l->groups, by_name, name);
    }
    return stubs ? "by transit core and stub area" : "by area around the best-connected routers";
}

/* The groups' counts and the lines between them. */
static void
count_groups(MsVizLayout *l, MsNet *net)
{
    guint ng = l->groups->len;
    for (guint h = 0; h < l->n_hosts; h++) {
        MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, l->group_of[h]);
        g->n_hosts++;
        g->n_shown += l->shown[h];
    }
    l->group_links = g_array_new(FALSE, TRUE, sizeof(MsVizGroupLink));
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        guint ga = MIN(l->group_of[a], l->group_of[b]), gb = MAX(l->group_of[a], l->group_of[b]);
        if (ga == gb)
            continue;
        gpointer key = GSIZE_TO_POINTER((gsize) ga * ng + gb + 1), v;
        guint idx;
        if (g_hash_table_lookup_extended(seen, key, NULL, &v)) {
            idx = GPOINTER_TO_UINT(v);
        } else {
            MsVizGroupLink gl = { ga, gb, 0, 0 };
            g_array_append_val(l->group_links, gl);
            idx = l->group_links->len - 1;
            g_hash_table_insert(seen, key, GUINT_TO_POINTER(idx));
        }
        MsVizGroupLink *gl = &g_array_index(l->group_links, MsVizGroupLink, idx);
        gl->n_links++;
        gl->bandwidth += (double) ms_net_link_params(net, k)->bandwidth_bps;
    }
    g_array_sort(l->group_links, by_group_pair);
}

/* Places a summarised world: the journey's hosts by the automatic layout
 * in the upper part of the area, a box around each of their groups, and
 * the other groups' boxes in rows under them. */
static void
summary_place(MsVizLayout *l, MsNet *net, MsVizCanvas *measure, const MsVizRect *area,
              const GArray *focus, MsHostId origin, const double *lw, const double *lh)
{
    MsVizFont nf, cf;
    ms_viz_layout_group_fonts(&nf, &cf);
    guint ng = l->groups->len;
    /* box sizes of the groups without a journey host, and their rows */
    g_autofree double *bw = g_new0(double, MAX(ng, 1));
    double bh = 0, x = 0, strip_h = 0;
    for (guint i = 0; i < ng; i++) {
        MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, i);
        g_autofree char *caption = ms_viz_layout_group_caption(g);
        double w1, h1, w2, h2;
        ms_viz_canvas_measure(measure, &nf, g->name, &w1, &h1);
        ms_viz_canvas_measure(measure, &cf, caption, &w2, &h2);
        g->label = (MsVizRect){ 0, 0, ceil(MAX(w1, w2)) + 2, ceil(h1 + h2) };
        bw[i] = MAX(96, g->label.w + 2 * GROUP_PAD);
        bh = MAX(bh, g->label.h + 2 * GROUP_PAD - 8);
    }
    guint rows = 0;
    for (guint i = 0; i < ng; i++) {
        if (g_array_index(l->groups, MsVizGroup, i).n_shown)
            continue;
        if (rows == 0 || x + bw[i] > area->w) {
            rows++;
            x = 0;
        }
        x += bw[i] + GROUP_GAP;
    }
    strip_h = rows ? rows * (bh + GROUP_GAP) - GROUP_GAP : 0;
    /* the journey above, keeping at least half the area */
    MsVizRect top = *area;
    top.y += GROUP_LABEL + GROUP_PAD;
    top.h = MAX(area->h / 2, area->h - strip_h - STRIP_GAP - GROUP_LABEL - 2 * GROUP_PAD);
    /* the journey's groups side by side, in the order the journey first
     * reaches them; each group's hosts by the automatic layout on their
     * own, so that no two boxes overlap */
    g_autofree gboolean *all = g_memdup2(l->shown, MAX(l->n_hosts, 1) * sizeof(gboolean));
    g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autofree MsHostId *first_host = g_new(MsHostId, MAX(ng, 1));
    for (guint i = 0; i < ng; i++)
        first_host[i] = MS_HOST_WORLD;
    if (origin < l->n_hosts && all[origin]) {
        first_host[l->group_of[origin]] = origin;
        g_array_append_val(order, l->group_of[origin]);
    }
    for (guint i = 0; i < focus->len; i++) {
        MsHostId h = g_array_index(focus, MsHostId, i);
        if (h < l->n_hosts && first_host[l->group_of[h]] == MS_HOST_WORLD) {
            first_host[l->group_of[h]] = h;
            g_array_append_val(order, l->group_of[h]);
        }
    }
    double bottom = top.y + top.h, right = top.x;
    x = top.x;
    for (guint o = 0; o < order->len; o++) {
        guint i = g_array_index(order, guint, o);
        MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, i);
        for (guint h = 0; h < l->n_hosts; h++)
            l->shown[h] = all[h] && l->group_of[h] == i;
        MsVizRect sub = { x + GROUP_PAD, top.y, 0, top.h };
        auto_layout(l, net, &sub, first_host[i], lw, lh);
        gboolean first = TRUE;
        MsVizRect u = { 0 };
        for (guint h = 0; h < l->n_hosts; h++) {
            if (!l->shown[h])
                continue;
            MsVizRect r = ms_viz_rect_union(&l->shape[h], &l->label[h]);
            u = first ? r : ms_viz_rect_union(&u, &r);
            first = FALSE;
        }
        MsVizRect room = { u.x - GROUP_PAD / 2, u.y - GROUP_PAD / 2, u.w + GROUP_PAD,
                           u.h + GROUP_PAD };
        choose_label_sides(l, net, &room);
        for (guint h = 0; h < l->n_hosts; h++) {
            if (!l->shown[h])
                continue;
            MsVizRect r = ms_viz_rect_union(&l->shape[h], &l->label[h]);
            u = ms_viz_rect_union(&u, &r);
        }
        /* the name and count along the top edge, on one line */
        g_autofree char *caption = ms_viz_layout_group_caption(g);
        g_autofree char *line = g_strdup_printf("%s \u00b7 %s", g->name, caption);
        double tw = 0, th = 0;
        ms_viz_canvas_measure(measure, &nf, line, &tw, &th);
        g->box = (MsVizRect){ u.x - GROUP_PAD, u.y - GROUP_PAD - GROUP_LABEL,
                              MAX(u.w + 2 * GROUP_PAD, ceil(tw) + 14),
                              u.h + 2 * GROUP_PAD + GROUP_LABEL };
        g->label = (MsVizRect){ g->box.x + 6, g->box.y + 3, ceil(tw) + 2, ceil(th) };
        bottom = MAX(bottom, g->box.y + g->box.h);
        right = g->box.x + g->box.w;
        x = right + GROUP_GAP * 2;
    }
    memcpy(l->shown, all, MAX(l->n_hosts, 1) * sizeof(gboolean));
    /* centred in the area when narrower */
    double shift = MAX(0, floor((top.x + top.w - right) / 2));
    for (guint h = 0; h < l->n_hosts && shift > 0; h++) {
        if (!l->shown[h])
            continue;
        l->cx[h] += shift;
        l->shape[h].x += shift;
        l->label[h].x += shift;
    }
    for (guint i = 0; i < ng && shift > 0; i++) {
        MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, i);
        if (g->n_shown) {
            g->box.x += shift;
            g->label.x += shift;
        }
    }
    /* the other groups in rows under the journey */
    double y = bottom + STRIP_GAP;
    x = 0;
    gboolean started = FALSE;
    for (guint i = 0; i < ng; i++) {
        MsVizGroup *g = &g_array_index(l->groups, MsVizGroup, i);
        if (g->n_shown)
            continue;
        if (started && x + bw[i] > area->w) {
            y += bh + GROUP_GAP;
            x = 0;
        }
        started = TRUE;
        g->box = (MsVizRect){ area->x + x, y, bw[i], bh };
        g->label = (MsVizRect){ g->box.x + (bw[i] - g->label.w) / 2, y + (bh - g->label.h) / 2,
                                g->label.w, g->label.h };
        x += bw[i] + GROUP_GAP;
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
    gboolean summarise = n > MS_VIZ_LAYOUT_SUMMARY_HOSTS && focus && focus->len > 0;
    if (summarise) {
        for (guint i = 0; i < focus->len; i++)
            if (g_array_index(focus, MsHostId, i) < n)
                l->shown[g_array_index(focus, MsHostId, i)] = TRUE;
    } else if (n <= MS_VIZ_LAYOUT_MAX_HOSTS || !focus || focus->len == 0) {
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
    if (summarise) {
        const char *rule = group_hosts(l, net);
        count_groups(l, net);
        summary_place(l, net, measure, area, focus, origin, lw, lh);
        guint shown = n - l->hidden_hosts;
        l->summary = g_strdup_printf("Summarised %s: %u hosts in %u groups, the journey's %u "
                                     "host%s drawn in theirs; lines join linked groups, wider "
                                     "for more links.",
                                     rule, n, l->groups->len, shown, shown == 1 ? "" : "s");
        compute_bounds(l);
        for (guint i = 0; i < l->groups->len; i++)
            l->bounds = ms_viz_rect_union(&l->bounds, &g_array_index(l->groups, MsVizGroup, i).box);
        /* room for a store loop and its badge right of the rightmost host,
         * and for the footer under the last row of boxes */
        l->bounds.w += 72;
        l->bounds.h += 30;
        return l;
    }
    if (l->hidden_hosts > 0 || !try_positions(l, net, sc, area, lw, lh)) {
        l->from_scenario = FALSE;
        auto_layout(l, net, area, origin, lw, lh);
    }
    choose_label_sides(l, net, area);
    compute_bounds(l);
    return l;
}
