/* The map (include/mailsim/viz.h, MS_VIZ_MAP): an imported network drawn on
 * its coordinates after a run, links coloured and sized by the bytes they
 * carried, the busiest ones numbered, labels thinned so that none overlap.
 *
 * Projection: equirectangular (plate carree) with the longitude scaled by
 * the cosine of the middle latitude of the network, so that distances near
 * that latitude keep their proportions (stated in the picture's title);
 * the network's bounding box fills the page inside a margin. Chosen over
 * Mercator because the networks mailsim imports are regional or
 * continental, where the two barely differ, and this one needs no clamp at
 * the poles.
 *
 * What is placed: hosts with lat= and lon=; a host without them and with
 * one link to a placed host (a mail server, resolver or client hanging off
 * a router) sits on that host and is drawn as a small dot on it. Links
 * between two placed hosts at different points are drawn: width 1 to 8
 * pixels by the square root of their share of the busiest link's bytes,
 * colour from grey (nothing) through orange to red (the busiest); the five
 * busiest are numbered. Labels (a host's label=, else its id) are placed
 * in order of the bytes through the host, then host order, to the right of
 * the point (or left, above, below); a label that would overlap a placed
 * label, a number or a point is left out, and the footer says how many
 * were. Deterministic: every order above is total.
 *
 * Reads the world through public headers only; the scenario gives the
 * coordinates and labels, the network the link counters. */
#include "mailsim/viz.h"
#include "mailsim/net.h"
#include "mailsim/scenario.h"

#include <math.h>
#include <string.h>

typedef struct {
    double x, y;
    gboolean placed;
    gboolean own;  /* has its own coordinates */
    guint64 bytes; /* through the host's links */
} MapPoint;

typedef struct {
    guint idx;
    guint64 bytes;
} Ranked;

static gint
ranked_cmp(gconstpointer a, gconstpointer b)
{
    const Ranked *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static gboolean
overlaps(const GArray *boxes, const MsVizRect *r)
{
    for (guint i = 0; i < boxes->len; i++) {
        const MsVizRect *b = &g_array_index(boxes, MsVizRect, i);
        if (r->x < b->x + b->w && b->x < r->x + r->w && r->y < b->y + b->h && b->y < r->y + r->h)
            return TRUE;
    }
    return FALSE;
}

/* Grey -> orange -> red by t in [0, 1]. */
static guint32
load_colour(double t)
{
    double r, g, b;
    if (t <= 0)
        return 0xb0b0b0;
    if (t < 0.5) {
        double u = t / 0.5;
        r = 0xb0 + (0xf0 - 0xb0) * u;
        g = 0xb0 + (0x90 - 0xb0) * u;
        b = 0xb0 + (0x20 - 0xb0) * u;
    } else {
        double u = (t - 0.5) / 0.5;
        r = 0xf0 + (0xc8 - 0xf0) * u;
        g = 0x90 + (0x10 - 0x90) * u;
        b = 0x20 + (0x10 - 0x20) * u;
    }
    return ((guint32) r << 16) | ((guint32) g << 8) | (guint32) b;
}

MsVizCanvas *
ms_viz_map(MsWorld *w, MsVizFormat format, double width, double height, GArray **labels,
           GError **error)
{
    const MsScenario *sc = ms_world_scenario(w);
    MsNet *net = ms_world_net(w);
    guint nh = sc->hosts->len, nl = sc->links->len;
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    if (height <= 0)
        height = MS_VIZ_DEFAULT_HEIGHT;
    g_autofree MapPoint *pt = g_new0(MapPoint, MAX(nh, 1u));
    double lat_lo = 90, lat_hi = -90, lon_lo = 180, lon_hi = -180;
    guint placed = 0;
    for (guint i = 0; i < nh; i++) {
        const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        if (!h->has_geo)
            continue;
        pt[i].placed = pt[i].own = TRUE;
        pt[i].x = h->lon;
        pt[i].y = h->lat;
        lat_lo = MIN(lat_lo, h->lat);
        lat_hi = MAX(lat_hi, h->lat);
        lon_lo = MIN(lon_lo, h->lon);
        lon_hi = MAX(lon_hi, h->lon);
        placed++;
    }
    if (placed == 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                    "%s: no host has coordinates (lat= and lon=): a map needs an imported "
                    "network with them (e.g. a Topology Zoo GraphML file)",
                    sc->path);
        return NULL;
    }
    /* Hosts hanging off a placed host sit on it. */
    g_autofree guint *degree = g_new0(guint, MAX(nh, 1u));
    g_autofree gint *neighbour = g_new(gint, MAX(nh, 1u));
    for (guint i = 0; i < nl; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        degree[l->a]++;
        degree[l->b]++;
        neighbour[l->a] = (gint) l->b;
        neighbour[l->b] = (gint) l->a;
    }
    for (guint i = 0; i < nh; i++)
        if (!pt[i].placed && degree[i] == 1 && pt[neighbour[i]].own) {
            pt[i].placed = TRUE;
            pt[i].x = pt[neighbour[i]].x;
            pt[i].y = pt[neighbour[i]].y;
        }
    /* Projection onto the page. */
    double mid = (lat_lo + lat_hi) / 2, k = cos(mid * G_PI / 180.0);
    double margin = 60, top = 70, bottom = 50;
    double span_x = MAX((lon_hi - lon_lo) * k, 1e-6), span_y = MAX(lat_hi - lat_lo, 1e-6);
    double scale = MIN((width - 2 * margin) / span_x, (height - top - bottom) / span_y);
    double ox = margin + ((width - 2 * margin) - span_x * scale) / 2;
    double oy = top + ((height - top - bottom) - span_y * scale) / 2;
    for (guint i = 0; i < nh; i++)
        if (pt[i].placed) {
            pt[i].x = ox + (pt[i].x - lon_lo) * k * scale;
            pt[i].y = oy + (lat_hi - pt[i].y) * scale;
        }
    /* Link loads. */
    g_autofree guint64 *bytes = g_new0(guint64, MAX(nl, 1u));
    guint64 max_bytes = 0;
    for (guint i = 0; i < nl && i < ms_net_n_links(net); i++) {
        MsLinkStats st;
        ms_net_link_stats(net, i, &st);
        bytes[i] = st.bytes[0] + st.bytes[1];
        max_bytes = MAX(max_bytes, bytes[i]);
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        pt[l->a].bytes += bytes[i];
        pt[l->b].bytes += bytes[i];
    }
    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);
    MsVizFont title = { 18, TRUE, FALSE }, small = { 11, FALSE, FALSE }, num = { 11, TRUE, FALSE };
    g_autofree char *head =
        g_strdup_printf("%s: %u placed hosts, links by bytes carried", sc->name, placed);
    ms_viz_canvas_text(c, margin, 14, MS_VIZ_ANCHOR_START, &title, 0x202020, head);
    ms_viz_canvas_text(c, margin, 40, MS_VIZ_ANCHOR_START, &small, 0x606060,
                       "equirectangular projection, longitude scaled by the cosine of the "
                       "middle latitude; grey: no traffic, red: the busiest link");
    /* Links, lightest first so the busy ones are on top. */
    g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(Ranked));
    for (guint i = 0; i < nl; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (!pt[l->a].placed || !pt[l->b].placed ||
            (pt[l->a].x == pt[l->b].x && pt[l->a].y == pt[l->b].y))
            continue;
        Ranked r = { i, bytes[i] };
        g_array_append_val(order, r);
    }
    g_array_sort(order, ranked_cmp);
    ms_viz_canvas_group_begin(c, "links", "links", 0);
    for (guint j = order->len; j-- > 0;) {
        const Ranked *r = &g_array_index(order, Ranked, j);
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, r->idx);
        double t = max_bytes ? sqrt((double) r->bytes / (double) max_bytes) : 0;
        MsVizStyle st = { 0, 0, load_colour(t), 0.9, 1 + 7 * t, r->bytes == 0 };
        ms_viz_canvas_move_to(c, pt[l->a].x, pt[l->a].y);
        ms_viz_canvas_line_to(c, pt[l->b].x, pt[l->b].y);
        ms_viz_canvas_paint(c, &st);
    }
    ms_viz_canvas_group_end(c);
    /* Points. */
    g_autoptr(GArray) boxes = g_array_new(FALSE, FALSE, sizeof(MsVizRect));
    ms_viz_canvas_group_begin(c, "hosts", "hosts", 0);
    /* Hosts on a router first, the routers over them. */
    for (guint pass = 0; pass < 2; pass++)
        for (guint i = 0; i < nh; i++) {
            if (!pt[i].placed || pt[i].own != (pass == 1))
                continue;
            double r = pt[i].own ? 4 : 2;
            MsVizStyle st = { pt[i].own ? 0x1f4e79 : 0x7f7f7f, 1, 0xffffff, 1, 1, FALSE };
            ms_viz_canvas_circle(c, pt[i].x, pt[i].y, r);
            ms_viz_canvas_paint(c, &st);
            if (pt[i].own) {
                MsVizRect b = { pt[i].x - r, pt[i].y - r, 2 * r, 2 * r };
                g_array_append_val(boxes, b);
            }
        }
    ms_viz_canvas_group_end(c);
    /* Numbers on the five busiest links, at their middles. */
    for (guint j = 0; j < MIN(order->len, 5u); j++) {
        const Ranked *r = &g_array_index(order, Ranked, j);
        if (r->bytes == 0)
            break;
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, r->idx);
        double mx = (pt[l->a].x + pt[l->b].x) / 2, my = (pt[l->a].y + pt[l->b].y) / 2;
        MsVizStyle st = { 0xc81010, 1, 0xffffff, 1, 1.5, FALSE };
        ms_viz_canvas_circle(c, mx, my, 9);
        ms_viz_canvas_paint(c, &st);
        char s[8];
        g_snprintf(s, sizeof s, "%u", j + 1);
        double tw, th;
        ms_viz_canvas_measure(c, &num, s, &tw, &th);
        ms_viz_canvas_text(c, mx, my - th / 2, MS_VIZ_ANCHOR_MIDDLE, &num, 0xffffff, s);
        MsVizRect b = { mx - 9, my - 9, 18, 18 };
        g_array_append_val(boxes, b);
    }
    /* Labels, busiest hosts first, wherever they fit. */
    g_autoptr(GArray) hosts = g_array_new(FALSE, FALSE, sizeof(Ranked));
    for (guint i = 0; i < nh; i++)
        if (pt[i].own) {
            Ranked r = { i, pt[i].bytes };
            g_array_append_val(hosts, r);
        }
    g_array_sort(hosts, ranked_cmp);
    guint hidden = 0;
    GArray *label_boxes = g_array_new(FALSE, FALSE, sizeof(MsVizRect));
    for (guint j = 0; j < hosts->len; j++) {
        guint i = g_array_index(hosts, Ranked, j).idx;
        const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        const char *text = h->label ? h->label : h->id;
        double tw, th;
        ms_viz_canvas_measure(c, &small, text, &tw, &th);
        const double dx[4] = { 7, -7 - tw, -tw / 2, -tw / 2 };
        const double dy[4] = { -th / 2, -th / 2, -7 - th, 7 };
        gboolean done = FALSE;
        for (int q = 0; q < 4 && !done; q++) {
            MsVizRect b = { pt[i].x + dx[q], pt[i].y + dy[q], tw, th };
            if (b.x < 2 || b.y < 60 || b.x + b.w > width - 2 || b.y + b.h > height - 30 ||
                overlaps(boxes, &b))
                continue;
            ms_viz_canvas_text(c, b.x, b.y, MS_VIZ_ANCHOR_START, &small, 0x202020, text);
            g_array_append_val(boxes, b);
            g_array_append_val(label_boxes, b);
            done = TRUE;
        }
        if (!done)
            hidden++;
    }
    g_autofree char *foot =
        hidden
            ? g_strdup_printf("%u of %u labels left out so that none overlap", hidden, hosts->len)
            : g_strdup_printf("%u labels", hosts->len);
    ms_viz_canvas_text(c, margin, height - 24, MS_VIZ_ANCHOR_START, &small, 0x606060, foot);
    if (labels)
        *labels = label_boxes;
    else
        g_array_free(label_boxes, TRUE);
    return c;
}
