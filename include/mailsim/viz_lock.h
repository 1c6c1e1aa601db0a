/* The padlock the pictures mark sessions with: closed for a session whose
 * message crossed inside TLS, open for one in the clear. Drawn with paths
 * (a rounded body and a polyline shackle), never a font glyph, so it looks
 * the same in every output format whatever fonts the machine has. */
#pragma once

#include "mailsim/viz_canvas.h"

G_BEGIN_DECLS

/* Colours of the two marks (Okabe-Ito bluish green and vermillion). */
#define MS_VIZ_LOCK_CLOSED 0x009E73u
#define MS_VIZ_LOCK_OPEN   0xD55E00u

/* Draws a padlock whose box is (x, y, 0.8 * size, size): closed, or open
 * with its shackle lifted and swung free. */
void ms_viz_lock_draw(MsVizCanvas *canvas, double x, double y, double size, gboolean closed);

/* Its width for a given size. */
double ms_viz_lock_width(double size);

G_END_DECLS
