/* The padlock mark (include/mailsim/viz_lock.h) of the hop diagram, the
 * sequence chart and their legends: a filled body with a keyhole and a
 * shackle stroked as a polyline (a half circle in 12 segments and two
 * legs). Open, the shackle rises by a third of its height and its right
 * leg stops short of the body. Pure paths: no font, no state. */
#include "mailsim/viz_lock.h"

#include <math.h>

double
ms_viz_lock_width(double size)
{
    return 0.8 * size;
}

void
ms_viz_lock_draw(MsVizCanvas *c, double x, double y, double size, gboolean closed)
{
    g_return_if_fail(c != NULL && size > 0);
    guint32 colour = closed ? MS_VIZ_LOCK_CLOSED : MS_VIZ_LOCK_OPEN;
    double w = ms_viz_lock_width(size);
    double body_h = 0.55 * size, body_y = y + size - body_h;
    double r = 0.26 * size, cx = x + w / 2;
    double lift = closed ? 0 : 0.18 * size;
    double top = body_y - 0.42 * size - lift + r; /* centre of the half circle */
    /* shackle: left leg up, the half circle, right leg down */
    MsVizStyle line = { 0, 0, colour, 1.0, MAX(1.2, 0.13 * size), FALSE };
    ms_viz_canvas_move_to(c, cx - r, body_y + 0.5);
    ms_viz_canvas_line_to(c, cx - r, top);
    for (guint i = 1; i <= 12; i++) {
        double a = G_PI - G_PI * i / 12.0;
        ms_viz_canvas_line_to(c, cx + r * cos(a), top - r * sin(a));
    }
    ms_viz_canvas_line_to(c, cx + r, closed ? body_y + 0.5 : top + 0.12 * size);
    ms_viz_canvas_paint(c, &line);
    /* body, with a white keyhole */
    MsVizStyle body = { colour, 1.0, colour, 1.0, 0.8, FALSE };
    ms_viz_canvas_round_rect(c, x, body_y, w, body_h, 0.1 * size);
    ms_viz_canvas_paint(c, &body);
    MsVizStyle hole = { 0xFFFFFFu, 1.0, 0, 0, 0, FALSE };
    ms_viz_canvas_circle(c, cx, body_y + body_h * 0.42, 0.07 * size);
    ms_viz_canvas_paint(c, &hole);
    ms_viz_canvas_rect(c, cx - 0.03 * size, body_y + body_h * 0.42, 0.06 * size, body_h * 0.32);
    ms_viz_canvas_paint(c, &hole);
}
