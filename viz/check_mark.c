/* The sender-check mark (include/mailsim/viz_check_mark.h) of the hop
 * diagram, the sequence chart and their legends: a shield (a pentagon:
 * straight sides, a point at the bottom) filled with the outcome's colour
 * (ms_viz_check_colour) and a white glyph stroked on it. Pure paths: no
 * font, no state. */
#include "mailsim/viz_check_mark.h"
#include "mailsim/viz.h"

void
ms_viz_check_mark_draw(MsVizCanvas *c, double cx, double cy, double size, MsVizCheckOutcome outcome)
{
    g_return_if_fail(c != NULL && size > 0);
    double h = size / 2, w = 0.4 * size;
    MsVizStyle shield = { ms_viz_check_colour(outcome), 1, 0xFFFFFFu, 1, 1.5, FALSE };
    ms_viz_canvas_move_to(c, cx - w, cy - h);
    ms_viz_canvas_line_to(c, cx + w, cy - h);
    ms_viz_canvas_line_to(c, cx + w, cy + 0.1 * size);
    ms_viz_canvas_line_to(c, cx, cy + h);
    ms_viz_canvas_line_to(c, cx - w, cy + 0.1 * size);
    ms_viz_canvas_close(c);
    ms_viz_canvas_paint(c, &shield);
    MsVizStyle glyph = { 0, 0, 0xFFFFFFu, 1, MAX(1.4, 0.11 * size), FALSE };
    double u = size / 10;
    switch (outcome) {
    case MS_VIZ_CHECK_ACCEPTED: /* a tick */
        ms_viz_canvas_move_to(c, cx - 2.6 * u, cy - 0.6 * u);
        ms_viz_canvas_line_to(c, cx - 0.6 * u, cy + 1.8 * u);
        ms_viz_canvas_line_to(c, cx + 2.8 * u, cy - 2.6 * u);
        ms_viz_canvas_paint(c, &glyph);
        break;
    case MS_VIZ_CHECK_QUARANTINED: /* an exclamation mark */
        ms_viz_canvas_move_to(c, cx, cy - 3 * u);
        ms_viz_canvas_line_to(c, cx, cy + 0.6 * u);
        ms_viz_canvas_paint(c, &glyph);
        ms_viz_canvas_circle(c, cx, cy + 2.4 * u, 0.7 * u);
        ms_viz_canvas_paint(c, &(MsVizStyle){ 0xFFFFFFu, 1, 0, 0, 0, FALSE });
        break;
    case MS_VIZ_CHECK_REFUSED: /* a cross */
        ms_viz_canvas_move_to(c, cx - 2.2 * u, cy - 2.6 * u);
        ms_viz_canvas_line_to(c, cx + 2.2 * u, cy + 1.8 * u);
        ms_viz_canvas_move_to(c, cx - 2.2 * u, cy + 1.8 * u);
        ms_viz_canvas_line_to(c, cx + 2.2 * u, cy - 2.6 * u);
        ms_viz_canvas_paint(c, &glyph);
        break;
    }
}
