/* The mark the pictures put where a receiving server checked who sent a
 * message (SPF, DKIM, DMARC, a DNSBL): a shield in the colour of what the
 * checks made it do, with a tick (taken in), an exclamation mark (into
 * Junk) or a cross (refused). Drawn with paths, never a font glyph, like
 * the padlock (viz_lock.h). */
#pragma once

#include "mailsim/viz_canvas.h"
#include "mailsim/viz_journey.h"

G_BEGIN_DECLS

/* Draws the shield centred on (cx, cy), `size` tall and 0.8 * size wide. */
void ms_viz_check_mark_draw(MsVizCanvas *canvas, double cx, double cy, double size,
                            MsVizCheckOutcome outcome);

G_END_DECLS
