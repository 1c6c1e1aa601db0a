/* The hop diagram (include/mailsim/viz.h): the topology of a world with one
 * message's journey drawn on top as numbered, timed arrows, a side panel
 * listing the steps, and a legend.
 *
 * Design. Hosts are placed by viz/layout.c inside the left part of the
 * page; the page grows when an automatic layout needs more room. An arrow
 * follows the network's route between its two hosts (through the routers,
 * as the packets go), offset sideways into a lane so that arrows sharing a
 * link stay apart: each step takes the lane nearest the link's centre line
 * (0, +1, -1, +2, ...) that no earlier step on any of its links uses. A
 * store or a bounce is a small loop beside its host. Drawing order: links,
 * arrows, hosts (so arrows pass under routers), link latencies, then the
 * number badges with their times, each placed at the first point along its
 * arrow where it overlaps no host, label or earlier badge.
 *
 * A receiving server's sender checks (SPF, DKIM, DMARC, a DNSBL) are a
 * shield left of the server (viz_check_mark.h), coloured and marked by
 * what they made it do, with a legend entry when the journey has any.
 *
 * A world summarised by group (above MS_VIZ_LAYOUT_SUMMARY_HOSTS hosts,
 * see viz/layout.c) gets, under everything else, a line per pair of linked
 * groups and a box per group (draw_groups()), and a footer saying how it was
 * grouped; the journey is drawn over it as for a small world.
 *
 * In SVG every arrow is a <g class="arrow" data-step="N" id="arrow-N">,
 * every badge a <g class="badge" data-step="N">, every side panel entry a
 * <g class="panel-step" data-step="N">: tests count them, the story page
 * highlights them.
 *
 * Palette: Okabe-Ito (safe for the common forms of colour blindness), and
 * roles differ by shape as well as colour. Costs: one route per step, one
 * text measurement per label. */
#include "mailsim/viz.h"
#include "mailsim/viz_check_mark.h"
#include "mailsim/viz_lock.h"

#include <math.h>
#include <string.h>

#define MARGIN   24.0
#define PANEL_W  400.0
#define TITLE_H  78.0
#define LEGEND_H 70.0
#define LANE_W   8.0
#define BADGE_R  11.0
#define TRIM     27.0
#define CHECK_DX 34.0 /* a check mark's centre, left of its host's */

#define INK      0x222222u
#define INK_SOFT 0x555555u
#define LINK_C   0xA0A0A0u

typedef struct {
    double x, y;
} Pt;

static guint32
role_colour(MsHostRole role)
{
    static const guint32 colours[] = { 0x56B4E9u, 0x009E73u, 0xE69F00u, 0xF0E442u, 0xD9D9D9u };
    return (guint) role < G_N_ELEMENTS(colours) ? colours[role] : 0xFFFFFFu;
}

static const char *
role_name(MsHostRole role)
{
    static const char *const names[] = { "mail client", "mail server", "DNS server", "relay",
                                         "router" };
    return (guint) role < G_N_ELEMENTS(names) ? names[role] : "host";
}

/* The symbol of a role, centred at (x, y), scaled by s. */
static void
draw_symbol(MsVizCanvas *c, MsHostRole role, double x, double y, double s, gboolean on_path)
{
    double w = 44 * s, h = 34 * s;
    MsVizStyle body = { role_colour(role), 1, 0x333333u, 1, on_path ? 2.2 : 1.3, FALSE };
    MsVizStyle detail = { 0, 0, 0x333333u, 0.9, 1.2, FALSE };
    switch (role) {
    case MS_ROLE_CLIENT:
        ms_viz_canvas_round_rect(c, x - w / 2, y - h / 2, w, h * 0.78, 5 * s);
        ms_viz_canvas_paint(c, &body);
        ms_viz_canvas_rect(c, x - w * 0.3, y + h * 0.36, w * 0.6, h * 0.1);
        ms_viz_canvas_paint(c, &body);
        break;
    case MS_ROLE_MAILSERVER:
        ms_viz_canvas_rect(c, x - w / 2, y - h / 2, w, h);
        ms_viz_canvas_paint(c, &body);
        /* an envelope */
        detail.stroke = 0xFFFFFFu;
        detail.width = 1.6;
        ms_viz_canvas_rect(c, x - w * 0.3, y - h * 0.25, w * 0.6, h * 0.5);
        ms_viz_canvas_paint(c, &detail);
        ms_viz_canvas_move_to(c, x - w * 0.3, y - h * 0.25);
        ms_viz_canvas_line_to(c, x, y + h * 0.05);
        ms_viz_canvas_line_to(c, x + w * 0.3, y - h * 0.25);
        ms_viz_canvas_paint(c, &detail);
        break;
    case MS_ROLE_DNS:
        ms_viz_canvas_move_to(c, x, y - h / 2 - 3 * s);
        ms_viz_canvas_line_to(c, x + w / 2, y);
        ms_viz_canvas_line_to(c, x, y + h / 2 + 3 * s);
        ms_viz_canvas_line_to(c, x - w / 2, y);
        ms_viz_canvas_close(c);
        ms_viz_canvas_paint(c, &body);
        break;
    case MS_ROLE_RELAY:
        for (int i = 0; i < 6; i++) {
            double a = G_PI / 3 * i;
            double px = x + w / 2 * cos(a), py = y + h / 2 * sin(a);
            if (i == 0)
                ms_viz_canvas_move_to(c, px, py);
            else
                ms_viz_canvas_line_to(c, px, py);
        }
        ms_viz_canvas_close(c);
        ms_viz_canvas_paint(c, &body);
        break;
    case MS_ROLE_ROUTER:
    case MS_ROLE_COUNT:
    default:
        ms_viz_canvas_circle(c, x, y, h / 2);
        ms_viz_canvas_paint(c, &body);
        /* the classic router cross */
        for (int i = 0; i < 2; i++) {
            double d = h * 0.24;
            ms_viz_canvas_move_to(c, x - d, y + (i ? d : -d));
            ms_viz_canvas_line_to(c, x + d, y + (i ? -d : d));
            ms_viz_canvas_paint(c, &detail);
        }
        break;
    }
}

static gboolean
spot_free(const GArray *obstacles, const MsVizRect *r)
{
    for (guint i = 0; i < obstacles->len; i++)
        if (ms_viz_rect_overlap(&g_array_index(obstacles, MsVizRect, i), r))
            return FALSE;
    return TRUE;
}

static void
add_obstacle(GArray *obstacles, double x, double y, double w, double h)
{
    MsVizRect r = { x, y, w, h };
    g_array_append_val(obstacles, r);
}

/* The point at fraction f of the polyline's length, and the direction there. */
static Pt
along(const GArray *pts, double f, Pt *dir)
{
    double total = 0;
    for (guint i = 1; i < pts->len; i++) {
        Pt a = g_array_index(pts, Pt, i - 1), b = g_array_index(pts, Pt, i);
        total += hypot(b.x - a.x, b.y - a.y);
    }
    double want = total * f, acc = 0;
    for (guint i = 1; i < pts->len; i++) {
        Pt a = g_array_index(pts, Pt, i - 1), b = g_array_index(pts, Pt, i);
        double len = hypot(b.x - a.x, b.y - a.y);
        if (acc + len >= want && len > 0) {
            double t = (want - acc) / len;
            if (dir)
                *dir = (Pt){ (b.x - a.x) / len, (b.y - a.y) / len };
            return (Pt){ a.x + t * (b.x - a.x), a.y + t * (b.y - a.y) };
        }
        acc += len;
    }
    if (dir)
        *dir = (Pt){ 1, 0 };
    return pts->len ? g_array_index(pts, Pt, pts->len - 1) : (Pt){ 0, 0 };
}

/* Offsets the polyline sideways by `off` (mitred joins) and trims `trim`
 * from both ends. Returns a new array. */
static GArray *
offset_and_trim(const GArray *in, double off, double trim)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(Pt));
    guint n = in->len;
    for (guint i = 0; i < n; i++) {
        Pt p = g_array_index(in, Pt, i);
        Pt n1 = { 0, 0 }, n2 = { 0, 0 };
        if (i > 0) {
            Pt a = g_array_index(in, Pt, i - 1);
            double l = hypot(p.x - a.x, p.y - a.y);
            if (l > 0)
                n1 = (Pt){ -(p.y - a.y) / l, (p.x - a.x) / l };
        }
        if (i + 1 < n) {
            Pt b = g_array_index(in, Pt, i + 1);
            double l = hypot(b.x - p.x, b.y - p.y);
            if (l > 0)
                n2 = (Pt){ -(b.y - p.y) / l, (b.x - p.x) / l };
        }
        if (i == 0)
            n1 = n2;
        if (i + 1 == n)
            n2 = n1;
        Pt m = { n1.x + n2.x, n1.y + n2.y };
        double ml = hypot(m.x, m.y);
        if (ml < 1e-9) {
            m = n1;
            ml = 1;
        }
        m.x /= ml;
        m.y /= ml;
        double cosh_ = MAX(0.5, m.x * n1.x + m.y * n1.y);
        Pt q = { p.x + off * m.x / cosh_, p.y + off * m.y / cosh_ };
        g_array_append_val(out, q);
    }
    if (out->len >= 2) {
        Pt *a = &g_array_index(out, Pt, 0), *b = &g_array_index(out, Pt, 1);
        double l = hypot(b->x - a->x, b->y - a->y), t = MIN(trim, l * 0.45);
        if (l > 0) {
            a->x += (b->x - a->x) * t / l;
            a->y += (b->y - a->y) * t / l;
        }
        Pt *z = &g_array_index(out, Pt, out->len - 1), *y = &g_array_index(out, Pt, out->len - 2);
        l = hypot(z->x - y->x, z->y - y->y);
        t = MIN(trim, l * 0.45);
        if (l > 0) {
            z->x += (y->x - z->x) * t / l;
            z->y += (y->y - z->y) * t / l;
        }
    }
    return out;
}

/* The last point of a line of two or more points, and the unit direction
 * it arrives from. */
static Pt
line_end(const GArray *pts, Pt *dir)
{
    Pt z = g_array_index(pts, Pt, pts->len - 1), y = g_array_index(pts, Pt, pts->len - 2);
    double l = hypot(z.x - y.x, z.y - y.y);
    *dir = l > 0 ? (Pt){ (z.x - y.x) / l, (z.y - y.y) / l } : (Pt){ 1, 0 };
    return z;
}

/* The line through every point of pts but the last, on to `end`: first a
 * white halo `halo` wide, then the line itself `width` wide. */
static void
stroke_haloed(MsVizCanvas *c, const GArray *pts, Pt end, guint32 colour, double width, double halo,
              gboolean dashed)
{
    for (int pass = 0; pass < 2; pass++) {
        MsVizStyle st = {
            0, 0, pass ? colour : 0xFFFFFFu, pass ? 1 : 0.85, pass ? width : halo, pass && dashed
        };
        for (guint i = 0; i + 1 < pts->len; i++) {
            Pt p = g_array_index(pts, Pt, i);
            if (i == 0)
                ms_viz_canvas_move_to(c, p.x, p.y);
            else
                ms_viz_canvas_line_to(c, p.x, p.y);
        }
        ms_viz_canvas_line_to(c, end.x, end.y);
        ms_viz_canvas_paint(c, &st);
    }
}

static void
draw_arrow_line(MsVizCanvas *c, const GArray *pts, guint32 colour, gboolean dashed)
{
    if (pts->len < 2)
        return;
    Pt d;
    Pt z = line_end(pts, &d);
    stroke_haloed(c, pts, (Pt){ z.x - d.x * 11, z.y - d.y * 11 }, colour, 3.0, 6.5, dashed);
    MsVizStyle head = { colour, 1, 0xFFFFFFu, 1, 1.0, FALSE };
    ms_viz_canvas_move_to(c, z.x, z.y);
    ms_viz_canvas_line_to(c, z.x - d.x * 14 - d.y * 6.5, z.y - d.y * 14 + d.x * 6.5);
    ms_viz_canvas_line_to(c, z.x - d.x * 14 + d.y * 6.5, z.y - d.y * 14 - d.x * 6.5);
    ms_viz_canvas_close(c);
    ms_viz_canvas_paint(c, &head);
}

/* A try that failed: a dashed line that stops short of the host it could
 * not reach, ended by a cross. */
static void
draw_failed_line(MsVizCanvas *c, const GArray *pts, guint32 colour)
{
    if (pts->len < 2)
        return;
    Pt d;
    Pt z = line_end(pts, &d);
    Pt x = { z.x - d.x * 8, z.y - d.y * 8 }; /* the cross's centre */
    stroke_haloed(c, pts, x, colour, 2.5, 6.0, TRUE);
    MsVizStyle cross = { 0, 0, colour, 1, 3.0, FALSE };
    ms_viz_canvas_move_to(c, x.x - 6, x.y - 6);
    ms_viz_canvas_line_to(c, x.x + 6, x.y + 6);
    ms_viz_canvas_paint(c, &cross);
    ms_viz_canvas_move_to(c, x.x - 6, x.y + 6);
    ms_viz_canvas_line_to(c, x.x + 6, x.y - 6);
    ms_viz_canvas_paint(c, &cross);
}

/* A loop beside a host for a store or a bounce: three quarters of a circle
 * with a head, right of the symbol. */
static void
draw_loop(MsVizCanvas *c, double cx, double cy, guint32 colour)
{
    double r = 10, ox = cx + 22 + 14, oy = cy - 4;
    for (int pass = 0; pass < 2; pass++) {
        MsVizStyle st = { 0, 0, pass ? colour : 0xFFFFFFu, 1, pass ? 2.6 : 6, FALSE };
        for (int i = 0; i <= 18; i++) {
            double a = G_PI * 0.75 + i * (G_PI * 1.5 / 18);
            double px = ox + r * cos(a), py = oy + r * sin(a);
            if (i == 0)
                ms_viz_canvas_move_to(c, px, py);
            else
                ms_viz_canvas_line_to(c, px, py);
        }
        ms_viz_canvas_paint(c, &st);
    }
    /* head pointing into the host */
    MsVizStyle head = { colour, 1, 0, 0, 0, FALSE };
    double hx = ox - r * cos(G_PI * 0.25), hy = oy + r * sin(G_PI * 0.25);
    ms_viz_canvas_move_to(c, hx - 2, hy);
    ms_viz_canvas_line_to(c, hx + 7, hy - 6);
    ms_viz_canvas_line_to(c, hx + 7, hy + 6);
    ms_viz_canvas_close(c);
    ms_viz_canvas_paint(c, &head);
}

static void
draw_badge(MsVizCanvas *c, double x, double y, guint n, guint32 colour)
{
    MsVizStyle st = { colour, 1, 0xFFFFFFu, 1, 1.5, FALSE };
    ms_viz_canvas_circle(c, x, y, BADGE_R);
    ms_viz_canvas_paint(c, &st);
    g_autofree char *num = g_strdup_printf("%u", n);
    MsVizFont f = { 12, TRUE, FALSE };
    double h = 0;
    ms_viz_canvas_measure(c, &f, num, NULL, &h);
    ms_viz_canvas_text(c, x, y - h / 2, MS_VIZ_ANCHOR_MIDDLE, &f, 0xFFFFFFu, num);
}

/* Host ids along the route of each step, for the layout's focus. */
static GArray *
journey_hosts(MsNet *net, const MsVizJourney *j)
{
    GArray *focus = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint k = 0; j && k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        g_array_append_val(focus, s->from);
        if (s->to != s->from) {
            g_autoptr(GArray) path = ms_net_route_path(net, s->from, s->to);
            g_array_append_vals(focus, path->data, path->len);
            g_array_append_val(focus, s->to);
        }
    }
    return focus;
}

static MsHostId
journey_origin(MsWorld *w, const MsVizJourney *j)
{
    if (j && j->steps->len)
        return g_array_index(j->steps, MsVizStep, 0).from;
    MsMail *mail = ms_world_mail(w);
    if (j && ms_mail_message(mail, j->message))
        return ms_mail_message(mail, j->message)->origin;
    return MS_HOST_WORLD;
}

MsVizLayout *
ms_viz_hops_layout(MsWorld *w, const MsVizJourney *j, MsVizCanvas *measure, double width,
                   double height)
{
    MsNet *net = ms_world_net(w);
    g_autoptr(GArray) focus = journey_hosts(net, j);
    MsVizRect area = { MARGIN, TITLE_H + 10, width - PANEL_W - 3 * MARGIN,
                       height - TITLE_H - 10 - LEGEND_H - 2 * MARGIN };
    return ms_viz_layout_new(net, ms_world_scenario(w), measure, &area, focus,
                             journey_origin(w, j));
}

/* Lanes: for each step, the lane nearest the centre that no earlier step
 * sharing one of its links uses. */
static gint *
assign_lanes(MsNet *net, const MsVizJourney *j)
{
    guint ns = j->steps->len, nh = ms_net_n_hosts(net);
    gint *lane = g_new0(gint, MAX(ns, 1));
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (guint k = 0; k < ns; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        GArray *mine = g_array_new(FALSE, FALSE, sizeof(guint64));
        if (s->from != s->to) {
            g_autoptr(GArray) path = ms_net_route_path(net, s->from, s->to);
            for (guint i = 1; i < path->len; i++) {
                guint64 a = g_array_index(path, MsHostId, i - 1),
                        b = g_array_index(path, MsHostId, i);
                guint64 key = MIN(a, b) * nh + MAX(a, b);
                g_array_append_val(mine, key);
            }
        }
        for (guint t = 0;; t++) {
            gint cand = (t % 2) ? (gint) (t + 1) / 2 : -(gint) (t / 2);
            gboolean clash = FALSE;
            for (guint o = 0; o < k && !clash; o++) {
                if (lane[o] != cand)
                    continue;
                GArray *theirs = g_ptr_array_index(keys, o);
                for (guint a = 0; a < mine->len && !clash; a++)
                    for (guint b = 0; b < theirs->len && !clash; b++)
                        clash =
                            g_array_index(mine, guint64, a) == g_array_index(theirs, guint64, b);
            }
            if (!clash) {
                lane[k] = cand;
                break;
            }
        }
        g_ptr_array_add(keys, mine);
    }
    return lane;
}

/* Height the side panel needs. */
static double
panel_layout(MsVizCanvas *c, const MsVizJourney *j, gboolean draw, double x, double y, double width)
{
    MsVizFont head = { 17, TRUE, FALSE }, sub = { 12.5, FALSE, FALSE },
              bold = { 12.5, TRUE, FALSE }, body = { 12, FALSE, FALSE };
    double y0 = y;
    if (draw) {
        g_autofree char *h = g_strdup_printf("The journey of %s", j->label);
        ms_viz_canvas_text(c, x + 16, y + 14, MS_VIZ_ANCHOR_START, &head, INK, h);
    }
    y += 40;
    if (j->subject[0]) {
        g_autofree char *s = g_strdup_printf("\u201c%s\u201d", j->subject);
        if (draw)
            ms_viz_canvas_text(c, x + 16, y, MS_VIZ_ANCHOR_START, &sub, INK_SOFT, s);
        y += 24;
    }
    y += 6;
    if (j->steps->len == 0) {
        if (draw)
            ms_viz_canvas_text(c, x + 16, y, MS_VIZ_ANCHOR_START, &body, INK_SOFT,
                               "No step was recorded.");
        y += 20;
    }
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        g_autofree char *t = ms_viz_time_label(s->at);
        g_autofree char *h = g_strdup_printf(
            "%s  \u00b7  %s%s", t, s->title,
            j->tls && s->session ? (s->tls ? ", inside TLS" : ", in the clear") : "");
        g_auto(GStrv) lines = ms_viz_canvas_wrap(c, &body, s->detail, width - 62);
        if (draw) {
            g_autofree char *id = g_strdup_printf("panel-step-%u", k + 1);
            ms_viz_canvas_group_begin(c, id, "panel-step", k + 1);
            draw_badge(c, x + 16 + BADGE_R, y + 9, k + 1, ms_viz_step_colour(s->kind));
            ms_viz_canvas_text(c, x + 46, y, MS_VIZ_ANCHOR_START, &bold, INK, h);
        }
        y += 19;
        for (guint i = 0; lines[i]; i++) {
            if (draw)
                ms_viz_canvas_text(c, x + 46, y, MS_VIZ_ANCHOR_START, &body, INK_SOFT, lines[i]);
            y += 16;
        }
        if (draw)
            ms_viz_canvas_group_end(c);
        y += 10;
    }
    return y - y0 + 8;
}

static guint links_hit(const GArray *segs, const MsVizRect *r, guint except);
static void add_box(GArray *boxes, const MsVizRect *r, MsVizLabelKind kind, gint link);

/* A session's padlock beside its badge: the first of eight spots around
 * the badge that overlaps no label and no link, else the least crowded.
 * <g class="lock" data-step="N"> closed (inside TLS) or class
 * "lock-open" (in the clear). */
static void
place_lock(MsVizCanvas *c, const MsVizStep *s, guint k, Pt badge, GArray *obstacles,
           const GArray *segs, GArray *boxes)
{
    const double size = 16, w = ms_viz_lock_width(size), gap = 3;
    /* eight spots around the badge, then the same farther out */
    MsVizRect spots[24];
    for (guint ring = 0; ring < 3; ring++) {
        double d = BADGE_R + gap + ring * 12;
        const MsVizRect around[8] = {
            { badge.x - d - w, badge.y - size / 2, w, size },
            { badge.x + d, badge.y - size / 2, w, size },
            { badge.x - w / 2, badge.y - d - size, w, size },
            { badge.x - w / 2, badge.y + d, w, size },
            { badge.x - d - w, badge.y - d - size + 4, w, size },
            { badge.x + d, badge.y - d - size + 4, w, size },
            { badge.x - d - w, badge.y + d - 4, w, size },
            { badge.x + d, badge.y + d - 4, w, size },
        };
        for (guint i = 0; i < 8; i++)
            spots[ring * 8 + i] = around[i];
    }
    guint best = 0, best_score = G_MAXUINT;
    for (guint i = 0; i < G_N_ELEMENTS(spots) && best_score > 0; i++) {
        guint score = links_hit(segs, &spots[i], G_MAXUINT) * 2;
        for (guint o = 0; o < obstacles->len; o++)
            score += ms_viz_rect_overlap(&g_array_index(obstacles, MsVizRect, o), &spots[i]) * 2;
        if (score < best_score) {
            best_score = score;
            best = i;
        }
    }
    g_autofree char *id = g_strdup_printf("lock-%u", k + 1);
    ms_viz_canvas_group_begin(c, id, s->tls ? "lock" : "lock-open", k + 1);
    MsVizStyle halo = { 0xFFFFFFu, 0.9, 0, 0, 0, FALSE };
    ms_viz_canvas_round_rect(c, spots[best].x - 1, spots[best].y - 1, w + 2, size + 2, 2);
    ms_viz_canvas_paint(c, &halo);
    ms_viz_lock_draw(c, spots[best].x, spots[best].y, size, s->tls);
    ms_viz_canvas_group_end(c);
    g_array_append_val(obstacles, spots[best]);
    add_box(boxes, &spots[best], MS_VIZ_LABEL_LOCK, -1);
}

static void
draw_legend(MsVizCanvas *c, double x, double y, double width, gboolean tls, gboolean imap,
            gboolean checks)
{
    MsVizFont f = { 12, FALSE, FALSE }, b = { 12, TRUE, FALSE };
    ms_viz_canvas_group_begin(c, "legend", "legend", 0);
    double cx = x;
    ms_viz_canvas_text(c, cx, y + 2, MS_VIZ_ANCHOR_START, &b, INK, "Hosts");
    cx += 52;
    for (MsHostRole r = 0; r < MS_ROLE_COUNT; r++) {
        draw_symbol(c, r, cx + 12, y + 10, 0.55, FALSE);
        double w = 0;
        ms_viz_canvas_measure(c, &f, role_name(r), &w, NULL);
        ms_viz_canvas_text(c, cx + 30, y + 2, MS_VIZ_ANCHOR_START, &f, INK, role_name(r));
        cx += 30 + w + 22;
    }
    if (tls) { /* the padlocks, after the host kinds */
        static const char *const lock_names[] = { "inside TLS", "in the clear" };
        for (guint i = 0; i < 2; i++) {
            g_autofree char *id = g_strdup_printf("legend-lock-%u", i);
            ms_viz_canvas_group_begin(c, id, i == 0 ? "legend-lock" : "legend-lock-open", 0);
            ms_viz_lock_draw(c, cx + 4, y + 1, 16, i == 0);
            double w = 0;
            ms_viz_canvas_measure(c, &f, lock_names[i], &w, NULL);
            ms_viz_canvas_text(c, cx + 22, y + 2, MS_VIZ_ANCHOR_START, &f, INK, lock_names[i]);
            ms_viz_canvas_group_end(c);
            cx += 22 + w + 22;
        }
    }
    if (checks) { /* the sender-check marks, after the host kinds */
        static const char *const check_names[] = { "taken in", "into Junk", "refused" };
        ms_viz_canvas_group_begin(c, "legend-check", "legend-check", 0);
        const char *head = "Sender checks (SPF, DKIM, DMARC, DNSBL):";
        ms_viz_canvas_text(c, cx, y + 2, MS_VIZ_ANCHOR_START, &b, INK, head);
        double bw = 0;
        ms_viz_canvas_measure(c, &b, head, &bw, NULL);
        cx += bw + 12;
        for (guint i = 0; i < G_N_ELEMENTS(check_names); i++) {
            ms_viz_check_mark_draw(c, cx + 7, y + 10, 16, (MsVizCheckOutcome) i);
            double w = 0;
            ms_viz_canvas_measure(c, &f, check_names[i], &w, NULL);
            ms_viz_canvas_text(c, cx + 20, y + 2, MS_VIZ_ANCHOR_START, &f, INK, check_names[i]);
            cx += 20 + w + 18;
        }
        ms_viz_canvas_group_end(c);
    }
    double hosts_end = cx;
    static const struct {
        MsVizStepKind kind;
        const char *name;
    } arrows[] = {
        { MS_VIZ_STEP_SMTP, "SMTP hand-off" },
        { MS_VIZ_STEP_DNS, "DNS query" },
        { MS_VIZ_STEP_POP3, "POP3 download" },
        { MS_VIZ_STEP_IMAP, "IMAP fetch" },
        { MS_VIZ_STEP_STORE, "mailbox store" },
        { MS_VIZ_STEP_FAILED, "failed try" },
        { MS_VIZ_STEP_REJECTED, "refused by the server" },
        { MS_VIZ_STEP_BOUNCE, "bounce" },
    };
    double ay = y + 34;
    cx = x;
    ms_viz_canvas_text(c, cx, ay + 2, MS_VIZ_ANCHOR_START, &b, INK, "Steps");
    cx += 52;
    for (gsize i = 0; i < G_N_ELEMENTS(arrows); i++) {
        if (arrows[i].kind == MS_VIZ_STEP_IMAP && !imap)
            continue; /* only where some device reads over IMAP */
        g_autoptr(GArray) pts = g_array_new(FALSE, FALSE, sizeof(Pt));
        Pt a = { cx, ay + 10 }, z = { cx + 40, ay + 10 };
        g_array_append_val(pts, a);
        g_array_append_val(pts, z);
        if (arrows[i].kind == MS_VIZ_STEP_FAILED || arrows[i].kind == MS_VIZ_STEP_REJECTED)
            draw_failed_line(c, pts, ms_viz_step_colour(arrows[i].kind));
        else
            draw_arrow_line(c, pts, ms_viz_step_colour(arrows[i].kind),
                            arrows[i].kind == MS_VIZ_STEP_DNS);
        double w = 0;
        ms_viz_canvas_measure(c, &f, arrows[i].name, &w, NULL);
        ms_viz_canvas_text(c, cx + 48, ay + 2, MS_VIZ_ANCHOR_START, &f, INK, arrows[i].name);
        cx += 48 + w + 22;
    }
    /* The note goes where it fits: after the step kinds, else after the
     * host kinds (the side panel begins at x + width). */
    const char *note = "numbered badge: step and simulated time;  link label: one-way latency";
    double nw = 0;
    ms_viz_canvas_measure(c, &f, note, &nw, NULL);
    if (cx + 8 + nw <= x + width)
        ms_viz_canvas_text(c, cx + 8, ay + 2, MS_VIZ_ANCHOR_START, &f, INK_SOFT, note);
    else if (hosts_end + 8 + nw <= x + width)
        ms_viz_canvas_text(c, hosts_end + 8, y + 2, MS_VIZ_ANCHOR_START, &f, INK_SOFT, note);
    else /* both rows are full (padlocks or check marks): a row of its own */
        ms_viz_canvas_text(c, x + 52, ay + 20, MS_VIZ_ANCHOR_START, &f, INK_SOFT, note);
    ms_viz_canvas_group_end(c);
}

/* A link's line on the page, for labels to keep off. */
typedef struct {
    Pt a, b;
    guint link;
} LinkSeg;

/* How many links other than `except` (G_MAXUINT: none) r lies on. */
static guint
links_hit(const GArray *segs, const MsVizRect *r, guint except)
{
    guint n = 0;
    for (guint i = 0; i < segs->len; i++) {
        const LinkSeg *s = &g_array_index(segs, LinkSeg, i);
        n += s->link != except && ms_viz_rect_hits_segment(r, s->a.x, s->a.y, s->b.x, s->b.y);
    }
    return n;
}

static void
add_box(GArray *boxes, const MsVizRect *r, MsVizLabelKind kind, gint link)
{
    if (!boxes)
        return;
    MsVizLabelBox b = { *r, kind, link };
    g_array_append_val(boxes, b);
}

/* Where the line from r's centre towards (x, y) leaves r. */
static Pt
box_exit(const MsVizRect *r, double x, double y)
{
    double cx = r->x + r->w / 2, cy = r->y + r->h / 2, dx = x - cx, dy = y - cy;
    double t = 1;
    if (fabs(dx) > 1e-9)
        t = MIN(t, r->w / 2 / fabs(dx));
    if (fabs(dy) > 1e-9)
        t = MIN(t, r->h / 2 / fabs(dy));
    return (Pt){ cx + t * dx, cy + t * dy };
}

/* A summarised world (layout->groups): a line per pair of linked groups,
 * its width growing with the number of links (1.5 px for one, one more
 * pixel per doubling, at most 9), then each group's box with its name and
 * count. In SVG each box is a <g class="group">, each line a
 * <g class="group-link" data-links="N"> (data-links through the id, as
 * "group-link-A-B-N"). Drawn first: the journey's links, arrows and hosts
 * go on top. */
static void
draw_groups(MsVizCanvas *c, const MsVizLayout *layout)
{
    ms_viz_canvas_group_begin(c, "group-links", "group-links", 0);
    for (guint i = 0; i < layout->group_links->len; i++) {
        const MsVizGroupLink *gl = &g_array_index(layout->group_links, MsVizGroupLink, i);
        const MsVizRect *a = &g_array_index(layout->groups, MsVizGroup, gl->a).box;
        const MsVizRect *b = &g_array_index(layout->groups, MsVizGroup, gl->b).box;
        g_autofree char *id = g_strdup_printf("group-link-%u-%u-%u", gl->a, gl->b, gl->n_links);
        ms_viz_canvas_group_begin(c, id, "group-link", 0);
        MsVizStyle st = { 0, 0, 0xB8C4D0u, 0.8, MIN(9.0, 1.5 + log2((double) gl->n_links)), FALSE };
        /* from box edge to box edge */
        Pt pa = box_exit(a, b->x + b->w / 2, b->y + b->h / 2);
        Pt pb = box_exit(b, a->x + a->w / 2, a->y + a->h / 2);
        ms_viz_canvas_move_to(c, pa.x, pa.y);
        ms_viz_canvas_line_to(c, pb.x, pb.y);
        ms_viz_canvas_paint(c, &st);
        ms_viz_canvas_group_end(c);
    }
    ms_viz_canvas_group_end(c);
    MsVizFont nf, cf;
    ms_viz_layout_group_fonts(&nf, &cf);
    for (guint i = 0; i < layout->groups->len; i++) {
        const MsVizGroup *g = &g_array_index(layout->groups, MsVizGroup, i);
        g_autofree char *id = g_strdup_printf("group-%u", i);
        g_autofree char *caption = ms_viz_layout_group_caption(g);
        ms_viz_canvas_group_begin(c, id, g->n_shown ? "group group-journey" : "group", 0);
        MsVizStyle st = {
            g->n_shown ? 0xF1F5F9u : 0xE8EEF4u, g->n_shown ? 0.7 : 1, 0x8DA2B8u, 1, 1.2, FALSE
        };
        ms_viz_canvas_round_rect(c, g->box.x, g->box.y, g->box.w, g->box.h, 8);
        ms_viz_canvas_paint(c, &st);
        if (g->n_shown) {
            g_autofree char *line = g_strdup_printf("%s \u00b7 %s", g->name, caption);
            ms_viz_canvas_text(c, g->label.x, g->label.y, MS_VIZ_ANCHOR_START, &nf, INK_SOFT, line);
        } else {
            double nh = 0;
            ms_viz_canvas_measure(c, &nf, g->name, NULL, &nh);
            double mx = g->label.x + g->label.w / 2;
            ms_viz_canvas_text(c, mx, g->label.y, MS_VIZ_ANCHOR_MIDDLE, &nf, INK, g->name);
            ms_viz_canvas_text(c, mx, g->label.y + nh, MS_VIZ_ANCHOR_MIDDLE, &cf, INK_SOFT,
                               caption);
        }
        ms_viz_canvas_group_end(c);
    }
}

static MsVizCanvas *hops_draw(MsWorld *w, const MsVizJourney *j, MsVizFormat format, double width,
                              double height, GArray *boxes);

MsVizCanvas *
ms_viz_hops(MsWorld *w, const MsVizJourney *j, MsVizFormat format, double width, double height)
{
    return hops_draw(w, j, format, width, height, NULL);
}

GArray *
ms_viz_hops_labels(MsWorld *w, const MsVizJourney *j, double width, double height)
{
    GArray *boxes = g_array_new(FALSE, FALSE, sizeof(MsVizLabelBox));
    g_autoptr(MsVizCanvas) c = hops_draw(w, j, MS_VIZ_FORMAT_SVG, width, height, boxes);
    return boxes;
}

static MsVizCanvas *
hops_draw(MsWorld *w, const MsVizJourney *j, MsVizFormat format, double width, double height,
          GArray *boxes)
{
    MsNet *net = ms_world_net(w);
    const MsScenario *sc = ms_world_scenario(w);
    if (width <= 0)
        width = MS_VIZ_DEFAULT_WIDTH;
    if (height <= 0)
        height = MS_VIZ_DEFAULT_HEIGHT;
    /* measure first: the layout and the panel may need a larger page */
    g_autoptr(MsVizCanvas) scratch = ms_viz_canvas_new(MS_VIZ_FORMAT_SVG, 1, 1);
    g_autoptr(MsVizLayout) layout = ms_viz_hops_layout(w, j, scratch, width, height);
    double area_right = width - PANEL_W - 2 * MARGIN;
    double area_bottom = height - LEGEND_H - MARGIN;
    double grow_w = MAX(0, layout->bounds.x + layout->bounds.w - area_right);
    double grow_h = MAX(0, layout->bounds.y + layout->bounds.h - area_bottom);
    double panel_h = panel_layout(scratch, j, FALSE, 0, 0, PANEL_W);
    grow_h = MAX(grow_h, TITLE_H + panel_h + MARGIN - height);
    width = ceil(width + grow_w);
    height = ceil(height + grow_h);
    MsVizCanvas *c = ms_viz_canvas_new(format, width, height);

    /* title */
    MsVizFont title = { 22, TRUE, FALSE }, sub = { 13.5, FALSE, FALSE };
    ms_viz_canvas_text(c, MARGIN, MARGIN - 4, MS_VIZ_ANCHOR_START, &title, INK,
                       sc->title[0] ? sc->title : sc->name);
    {
        g_autofree char *s = NULL;
        if (j->steps->len) {
            g_autofree char *t0 = ms_viz_time_label(g_array_index(j->steps, MsVizStep, 0).at);
            g_autofree char *t1 =
                ms_viz_time_label(g_array_index(j->steps, MsVizStep, j->steps->len - 1).at);
            s = g_strdup_printf(
                "Hop diagram of message %s: %u steps from t = %s to t = %s. Arrows follow the "
                "routes the packets take.",
                j->label, j->steps->len, t0, t1);
        } else {
            s = g_strdup_printf("Hop diagram of message %s: no step was recorded.", j->label);
        }
        ms_viz_canvas_text(c, MARGIN, MARGIN + 28, MS_VIZ_ANCHOR_START, &sub, INK_SOFT, s);
    }

    /* links */
    MsVizFont lat_f = { 10.5, FALSE, FALSE };
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(LinkSeg));
    if (layout->groups)
        draw_groups(c, layout);
    ms_viz_canvas_group_begin(c, "links", "links", 0);
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        if (!layout->shown[a] || !layout->shown[b])
            continue;
        LinkSeg seg = { { layout->cx[a], layout->cy[a] }, { layout->cx[b], layout->cy[b] }, k };
        g_array_append_val(segs, seg);
        MsVizStyle st = { 0, 0, LINK_C, 1, 2.0, !ms_net_link_is_up(net, k) };
        ms_viz_canvas_move_to(c, layout->cx[a], layout->cy[a]);
        ms_viz_canvas_line_to(c, layout->cx[b], layout->cy[b]);
        ms_viz_canvas_paint(c, &st);
    }
    ms_viz_canvas_group_end(c);

    /* arrows */
    g_autofree gint *lane = assign_lanes(net, j);
    g_autoptr(GPtrArray) polys = g_ptr_array_new_with_free_func((GDestroyNotify) g_array_unref);
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        g_autofree char *id = g_strdup_printf("arrow-%u", k + 1);
        g_autofree char *cls = g_strdup_printf("arrow %s", ms_viz_step_kind_to_string(s->kind));
        ms_viz_canvas_group_begin(c, id, cls, k + 1);
        GArray *pts = g_array_new(FALSE, FALSE, sizeof(Pt));
        if (s->kind == MS_VIZ_STEP_CHECK) {
            /* left of the host, clear of a store's loop on its right */
            Pt p = { layout->cx[s->from] - CHECK_DX, layout->cy[s->from] - 4 };
            ms_viz_check_mark_draw(c, p.x, p.y, 22, s->outcome);
            g_array_append_val(pts, p);
        } else if (s->from == s->to) {
            draw_loop(c, layout->cx[s->from], layout->cy[s->from], ms_viz_step_colour(s->kind));
            Pt p = { layout->cx[s->from] + 36, layout->cy[s->from] - 4 };
            g_array_append_val(pts, p);
        } else {
            g_autoptr(GArray) path = ms_net_route_path(net, s->from, s->to);
            g_autoptr(GArray) raw = g_array_new(FALSE, FALSE, sizeof(Pt));
            if (path->len < 2) {
                Pt a = { layout->cx[s->from], layout->cy[s->from] },
                   b = { layout->cx[s->to], layout->cy[s->to] };
                g_array_append_val(raw, a);
                g_array_append_val(raw, b);
            }
            for (guint i = 0; i < path->len; i++) {
                MsHostId h = g_array_index(path, MsHostId, i);
                Pt p = { layout->cx[h], layout->cy[h] };
                g_array_append_val(raw, p);
            }
            g_array_unref(pts);
            pts = offset_and_trim(raw, lane[k] * LANE_W, TRIM);
            if (s->kind == MS_VIZ_STEP_FAILED || s->kind == MS_VIZ_STEP_REJECTED)
                draw_failed_line(c, pts, ms_viz_step_colour(s->kind));
            else
                draw_arrow_line(c, pts, ms_viz_step_colour(s->kind), s->kind == MS_VIZ_STEP_DNS);
        }
        ms_viz_canvas_group_end(c);
        g_ptr_array_add(polys, pts);
    }

    /* hosts */
    g_autoptr(GArray) obstacles = g_array_new(FALSE, FALSE, sizeof(MsVizRect));
    g_autoptr(GArray) focus = journey_hosts(net, j);
    g_autofree gboolean *on_path = g_new0(gboolean, MAX(layout->n_hosts, 1));
    for (guint i = 0; i < focus->len; i++)
        on_path[g_array_index(focus, MsHostId, i)] = TRUE;
    MsVizFont nf, af;
    ms_viz_layout_fonts(&nf, &af);
    for (guint h = 0; h < layout->n_hosts; h++) {
        if (!layout->shown[h])
            continue;
        g_autofree char *id = g_strdup_printf("host-%s", ms_net_host_name(net, h));
        ms_viz_canvas_group_begin(c, id, "host", 0);
        draw_symbol(c, ms_net_host_role(net, h), layout->cx[h], layout->cy[h], 1.0, on_path[h]);
        g_autofree char *addr = ms_ipv4_to_string(ms_net_host_addr(net, h));
        double nh = 0;
        ms_viz_canvas_measure(c, &nf, ms_net_host_name(net, h), NULL, &nh);
        const MsVizRect *lr = &layout->label[h];
        const MsVizRect *sr = &layout->shape[h];
        MsVizAnchor an = MS_VIZ_ANCHOR_MIDDLE;
        double lx = lr->x + lr->w / 2;
        if (lr->x >= sr->x + sr->w) {
            an = MS_VIZ_ANCHOR_START;
            lx = lr->x;
        } else if (lr->x + lr->w <= sr->x) {
            an = MS_VIZ_ANCHOR_END;
            lx = lr->x + lr->w;
        }
        ms_viz_canvas_text(c, lx, lr->y, an, &nf, INK, ms_net_host_name(net, h));
        ms_viz_canvas_text(c, lx, lr->y + nh, an, &af, INK_SOFT, addr);
        ms_viz_canvas_group_end(c);
        g_array_append_val(obstacles, layout->shape[h]);
        g_array_append_val(obstacles, layout->label[h]);
        add_box(boxes, &layout->label[h], MS_VIZ_LABEL_HOST, -1);
    }
    /* group boxes without a journey host, and the other groups' names */
    for (guint i = 0; layout->groups && i < layout->groups->len; i++) {
        const MsVizGroup *g = &g_array_index(layout->groups, MsVizGroup, i);
        MsVizRect r = g->n_shown ? g->label : g->box;
        g_array_append_val(obstacles, r);
    }
    /* store loops and check marks take room beside their host */
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        if (s->kind == MS_VIZ_STEP_CHECK)
            add_obstacle(obstacles, layout->cx[s->from] - CHECK_DX - 11, layout->cy[s->from] - 16,
                         22, 24);
        else if (s->from == s->to)
            add_obstacle(obstacles, layout->cx[s->from] + 23, layout->cy[s->from] - 16, 25, 25);
    }

    /* link latencies */
    ms_viz_canvas_group_begin(c, "latencies", "latencies", 0);
    for (guint k = 0; k < ms_net_n_links(net); k++) {
        MsHostId a, b;
        ms_net_link_ends(net, k, &a, &b);
        if (!layout->shown[a] || !layout->shown[b])
            continue;
        g_autofree char *lat = ms_time_to_string(ms_net_link_params(net, k)->latency);
        double tw = 0, th = 0;
        ms_viz_canvas_measure(c, &lat_f, lat, &tw, &th);
        /* on its own link, clear of every other link and label */
        static const double fr[] = { 0.5,  0.38, 0.62, 0.28, 0.72, 0.44, 0.56,
                                     0.33, 0.67, 0.22, 0.78, 0.16, 0.84 };
        MsVizRect box = { 0 };
        gboolean found = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(fr) && !found; i++) {
            double x = layout->cx[a] + fr[i] * (layout->cx[b] - layout->cx[a]);
            double y = layout->cy[a] + fr[i] * (layout->cy[b] - layout->cy[a]);
            box = (MsVizRect){ x - tw / 2 - 3, y - th / 2 - 1, tw + 6, th + 2 };
            found = spot_free(obstacles, &box) && links_hit(segs, &box, k) == 0;
        }
        if (!found) {
            double x = (layout->cx[a] + layout->cx[b]) / 2, y = (layout->cy[a] + layout->cy[b]) / 2;
            box = (MsVizRect){ x - tw / 2 - 3, y - th / 2 - 1, tw + 6, th + 2 };
        }
        MsVizStyle bg = { 0xFFFFFFu, 0.92, LINK_C, 1, 0.8, FALSE };
        ms_viz_canvas_round_rect(c, box.x, box.y, box.w, box.h, 3);
        ms_viz_canvas_paint(c, &bg);
        ms_viz_canvas_text(c, box.x + box.w / 2, box.y + 1, MS_VIZ_ANCHOR_MIDDLE, &lat_f, INK_SOFT,
                           lat);
        g_array_append_val(obstacles, box);
        add_box(boxes, &box, MS_VIZ_LABEL_LATENCY, (gint) k);
    }
    ms_viz_canvas_group_end(c);

    /* badges with their times */
    MsVizFont tf = { 11.5, TRUE, FALSE };
    for (guint k = 0; k < j->steps->len; k++) {
        const MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
        GArray *pts = g_ptr_array_index(polys, k);
        g_autofree char *t = ms_viz_time_label(s->at);
        double tw = 0, th = 0;
        ms_viz_canvas_measure(c, &tf, t, &tw, &th);
        static const double fr[] = { 0.5,  0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18,
                                     0.82, 0.1,  0.9,  0.46, 0.54, 0.38, 0.62, 0.3,
                                     0.7,  0.22, 0.78, 0.14, 0.86, 0.06, 0.94 };
        static const Pt loop_off[] = { { 26, 0 }, { 0, -28 },  { 0, 28 },
                                       { 40, 0 }, { 26, -26 }, { 26, 26 } };
        /* a check mark's badge goes left of it, away from the host */
        static const Pt check_off[] = { { -26, 0 }, { 0, -28 },   { 0, 28 },
                                        { -40, 0 }, { -26, -26 }, { -26, 26 } };
        const Pt *offs = s->kind == MS_VIZ_STEP_CHECK ? check_off : loop_off;
        Pt best = { 0, 0 };
        MsVizRect tx = { 0 };
        guint best_score = G_MAXUINT;
        for (gsize i = 0; i < G_N_ELEMENTS(fr) && best_score > 0; i++) {
            Pt p;
            if (pts->len > 1) {
                p = along(pts, fr[i], NULL);
            } else {
                p = g_array_index(pts, Pt, 0);
                p.x += offs[i % G_N_ELEMENTS(loop_off)].x;
                p.y += offs[i % G_N_ELEMENTS(loop_off)].y;
            }
            /* the time right, left, above or below the badge, then at the
             * badge's corners; the time box keeps off every link */
            MsVizRect sides[8] = {
                { p.x + BADGE_R + 2, p.y - th / 2 - 2, tw + 8, th + 4 },
                { p.x - BADGE_R - 10 - tw, p.y - th / 2 - 2, tw + 8, th + 4 },
                { p.x - tw / 2 - 4, p.y - BADGE_R - th - 6, tw + 8, th + 4 },
                { p.x - tw / 2 - 4, p.y + BADGE_R + 2, tw + 8, th + 4 },
                { p.x + BADGE_R - 2, p.y - BADGE_R - th - 6, tw + 8, th + 4 },
                { p.x + BADGE_R - 2, p.y + BADGE_R + 2, tw + 8, th + 4 },
                { p.x - BADGE_R - 6 - tw, p.y - BADGE_R - th - 6, tw + 8, th + 4 },
                { p.x - BADGE_R - 6 - tw, p.y + BADGE_R + 2, tw + 8, th + 4 },
            };
            MsVizRect bx = { p.x - BADGE_R - 1, p.y - BADGE_R - 1, 2 * BADGE_R + 2,
                             2 * BADGE_R + 2 };
            for (guint side = 0; side < 8 && best_score > 0; side++) {
                guint score = links_hit(segs, &sides[side], G_MAXUINT) * 2;
                for (guint o = 0; o < obstacles->len; o++) {
                    const MsVizRect *r = &g_array_index(obstacles, MsVizRect, o);
                    score += ms_viz_rect_overlap(r, &bx) * 2 + ms_viz_rect_overlap(r, &sides[side]);
                }
                if (score < best_score) {
                    best_score = score;
                    best = p;
                    tx = sides[side];
                }
            }
        }
        g_autofree char *id = g_strdup_printf("badge-%u", k + 1);
        ms_viz_canvas_group_begin(c, id, "badge", k + 1);
        MsVizStyle bg = { 0xFFFFFFu, 0.94, ms_viz_step_colour(s->kind), 1, 1.0, FALSE };
        ms_viz_canvas_round_rect(c, tx.x, tx.y, tx.w, tx.h, 4);
        ms_viz_canvas_paint(c, &bg);
        ms_viz_canvas_text(c, tx.x + 4, tx.y + 2, MS_VIZ_ANCHOR_START, &tf, INK, t);
        draw_badge(c, best.x, best.y, k + 1, ms_viz_step_colour(s->kind));
        ms_viz_canvas_group_end(c);
        add_obstacle(obstacles, best.x - BADGE_R - 1, best.y - BADGE_R - 1, 2 * BADGE_R + 2,
                     2 * BADGE_R + 2);
        add_box(boxes, &g_array_index(obstacles, MsVizRect, obstacles->len - 1), MS_VIZ_LABEL_BADGE,
                -1);
        g_array_append_val(obstacles, tx);
        add_box(boxes, &tx, MS_VIZ_LABEL_TIME, -1);
        if (j->tls && s->session)
            place_lock(c, s, k, best, obstacles, segs, boxes);
    }

    /* what is not shown */
    if (layout->summary) {
        MsVizFont f = { 12.5, FALSE, FALSE };
        ms_viz_canvas_text(c, MARGIN, height - LEGEND_H - MARGIN - 22, MS_VIZ_ANCHOR_START, &f,
                           0x7F3F00u, layout->summary);
    } else if (layout->hidden_hosts) {
        g_autofree char *s = g_strdup_printf(
            "Showing %u hosts: those on this journey and their neighbours; "
            "%u other hosts and %u links are not drawn.",
            layout->n_hosts - layout->hidden_hosts, layout->hidden_hosts, layout->hidden_links);
        MsVizFont f = { 12.5, FALSE, FALSE };
        ms_viz_canvas_text(c, MARGIN, height - LEGEND_H - MARGIN - 22, MS_VIZ_ANCHOR_START, &f,
                           0x7F3F00u, s);
    }

    /* side panel */
    double px = width - PANEL_W - MARGIN, py = TITLE_H;
    MsVizStyle panel = { 0xF6F6F6u, 1, 0xDDDDDDu, 1, 1, FALSE };
    ms_viz_canvas_round_rect(c, px, py, PANEL_W, height - py - MARGIN, 8);
    ms_viz_canvas_paint(c, &panel);
    panel_layout(c, j, TRUE, px, py + 4, PANEL_W);

    gboolean imap = FALSE, checks = FALSE;
    for (guint k = 0; k < j->steps->len; k++) {
        imap |= g_array_index(j->steps, MsVizStep, k).kind == MS_VIZ_STEP_IMAP;
        checks |= g_array_index(j->steps, MsVizStep, k).kind == MS_VIZ_STEP_CHECK;
    }
    draw_legend(c, MARGIN, height - LEGEND_H - 6, width - PANEL_W - 3 * MARGIN, j->tls, imap,
                checks);
    return c;
}
