/* A small drawing surface for mailsim's pictures with two back ends: cairo
 * (PNG and PDF) and a hand-written SVG writer (SVG, and the inline SVG of
 * the story page). The SVG writer keeps text as <text> and lets a picture
 * name groups (id, class, data-step) so that tests can count arrows and the
 * story page can highlight them; cairo's own SVG surface can do neither.
 * Text is measured with Pango in both back ends. No cairo type appears here:
 * only viz/ includes cairo. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    MS_VIZ_FORMAT_PNG,
    MS_VIZ_FORMAT_SVG,
    MS_VIZ_FORMAT_PDF,
    MS_VIZ_FORMAT_HTML, /* the story page; not a canvas format */
} MsVizFormat;

typedef enum {
    MS_VIZ_ANCHOR_START,
    MS_VIZ_ANCHOR_MIDDLE,
    MS_VIZ_ANCHOR_END,
} MsVizAnchor;

/* How a path is painted: fill first (when fill_alpha > 0), then stroke
 * (when width > 0 and stroke_alpha > 0). Colours are 0xRRGGBB. */
typedef struct {
    guint32 fill;
    double fill_alpha;
    guint32 stroke;
    double stroke_alpha;
    double width;
    gboolean dashed;
} MsVizStyle;

typedef struct {
    double size; /* pixels */
    gboolean bold;
    gboolean mono;
} MsVizFont;

typedef struct _MsVizCanvas MsVizCanvas;

/* A new blank (white) canvas of width x height pixels (points in PDF) that
 * will be written as `format` (PNG, SVG or PDF). Returns a new canvas
 * (caller frees). */
MsVizCanvas *ms_viz_canvas_new(MsVizFormat format, double width, double height);
void ms_viz_canvas_free(MsVizCanvas *canvas);

double ms_viz_canvas_width(const MsVizCanvas *canvas);
double ms_viz_canvas_height(const MsVizCanvas *canvas);

/* Path building; ms_viz_canvas_paint() paints and clears the path. */
void ms_viz_canvas_move_to(MsVizCanvas *canvas, double x, double y);
void ms_viz_canvas_line_to(MsVizCanvas *canvas, double x, double y);
void ms_viz_canvas_close(MsVizCanvas *canvas);
void ms_viz_canvas_rect(MsVizCanvas *canvas, double x, double y, double w, double h);
/* A rectangle with corners rounded by r. */
void ms_viz_canvas_round_rect(MsVizCanvas *canvas, double x, double y, double w, double h,
                              double r);
void ms_viz_canvas_circle(MsVizCanvas *canvas, double cx, double cy, double r);
void ms_viz_canvas_paint(MsVizCanvas *canvas, const MsVizStyle *style);

/* One line of text whose top is at y, placed by `anchor` around x. */
void ms_viz_canvas_text(MsVizCanvas *canvas, double x, double y, MsVizAnchor anchor,
                        const MsVizFont *font, guint32 colour, const char *text);
/* The size a line of text takes. */
void ms_viz_canvas_measure(MsVizCanvas *canvas, const MsVizFont *font, const char *text,
                           double *width, double *height);

/* Splits `text` at spaces into lines no wider than `width` (a word
 * longer than that gets a line of its own). Returns a NULL-terminated
 * array (caller frees with g_strfreev). */
char **ms_viz_canvas_wrap(MsVizCanvas *canvas, const MsVizFont *font, const char *text,
                          double width);

/* Named groups (SVG <g>; ignored by cairo). Any argument may be NULL;
 * `step` > 0 adds data-step="N". Groups nest. */
void ms_viz_canvas_group_begin(MsVizCanvas *canvas, const char *id, const char *cls, guint step);
void ms_viz_canvas_group_end(MsVizCanvas *canvas);

/* Writes the picture to `path`. Returns FALSE with `error` set when it
 * cannot. The canvas may not be drawn on afterwards. */
gboolean ms_viz_canvas_write(MsVizCanvas *canvas, const char *path, GError **error);
/* The SVG document (SVG canvases only), for embedding. Caller frees. */
char *ms_viz_canvas_svg_string(MsVizCanvas *canvas, gboolean with_xml_declaration);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsVizCanvas, ms_viz_canvas_free)

G_END_DECLS
