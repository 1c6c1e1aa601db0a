/* The drawing surface under every mailsim picture (include/mailsim/viz_canvas.h).
 *
 * Design: one set of drawing calls, two back ends chosen at creation. For
 * PNG and PDF the calls go to a cairo recording surface, replayed onto an
 * image or PDF surface when written (so the output path is needed only at
 * the end). For SVG each path is written as a <path> element of a GString
 * and text stays text, in groups the picture names; the numbers are
 * printed with two decimals in the C locale, so one picture always gives
 * the same bytes. Text is laid out by Pango on a cairo context in both back
 * ends (a 1x1 scratch surface for SVG) with hinting off, so that the SVG
 * and PNG of one picture measure text alike.
 *
 * Ownership: the canvas owns its cairo objects and strings. Costs: one
 * Pango layout per text call; an SVG canvas holds its whole document in
 * memory (a few hundred KB for a large picture). cairo's status is sticky:
 * it is checked once, when the picture is written. */
#include "mailsim/viz.h"
#include "mailsim/output_file.h"
#include "mailsim/viz_canvas.h"

#include <cairo.h>
#include <cairo-pdf.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

struct _MsVizCanvas {
    MsVizFormat format;
    double width, height;
    cairo_surface_t *surface; /* recording (PNG/PDF) or 1x1 scratch (SVG) */
    cairo_t *cr;
    GString *svg; /* SVG body, or NULL */
    GString *d;   /* SVG path data being built */
    guint depth;  /* open groups */
};

static void
num(GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (fabs(v) < 0.005)
        v = 0;
    g_ascii_formatd(buf, sizeof buf, "%.2f", v);
    /* trim "12.50" to "12.5" and "12.00" to "12" */
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    g_string_append(s, buf);
}

static void
colour_hex(GString *s, guint32 rgb)
{
    g_string_append_printf(s, "#%06x", rgb & 0xFFFFFFu);
}

static void
set_rgb(cairo_t *cr, guint32 rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0,
                          (rgb & 0xFF) / 255.0, alpha);
}

MsVizCanvas *
ms_viz_canvas_new(MsVizFormat format, double width, double height)
{
    g_return_val_if_fail(width > 0 && height > 0, NULL);
    g_return_val_if_fail(format == MS_VIZ_FORMAT_PNG || format == MS_VIZ_FORMAT_SVG ||
                             format == MS_VIZ_FORMAT_PDF,
                         NULL);
    MsVizCanvas *c = g_new0(MsVizCanvas, 1);
    c->format = format;
    c->width = width;
    c->height = height;
    if (format == MS_VIZ_FORMAT_SVG) {
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
        c->svg = g_string_new(NULL);
        c->d = g_string_new(NULL);
    } else {
        cairo_rectangle_t ext = { 0, 0, width, height };
        c->surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
    }
    c->cr = cairo_create(c->surface);
    /* the white page */
    if (c->svg) {
        g_string_append(c->svg, "<rect x=\"0\" y=\"0\" width=\"");
        num(c->svg, width);
        g_string_append(c->svg, "\" height=\"");
        num(c->svg, height);
        g_string_append(c->svg, "\" fill=\"#ffffff\"/>\n");
    } else {
        cairo_set_source_rgb(c->cr, 1, 1, 1);
        cairo_paint(c->cr);
    }
    return c;
}

void
ms_viz_canvas_free(MsVizCanvas *c)
{
    if (!c)
        return;
    cairo_destroy(c->cr);
    cairo_surface_destroy(c->surface);
    if (c->svg)
        g_string_free(c->svg, TRUE);
    if (c->d)
        g_string_free(c->d, TRUE);
    g_free(c);
}

double
ms_viz_canvas_width(const MsVizCanvas *c)
{
    return c->width;
}

double
ms_viz_canvas_height(const MsVizCanvas *c)
{
    return c->height;
}

void
ms_viz_canvas_move_to(MsVizCanvas *c, double x, double y)
{
    if (c->d) {
        g_string_append_c(c->d, 'M');
        num(c->d, x);
        g_string_append_c(c->d, ' ');
        num(c->d, y);
    } else {
        cairo_move_to(c->cr, x, y);
    }
}

void
ms_viz_canvas_line_to(MsVizCanvas *c, double x, double y)
{
    if (c->d) {
        g_string_append_c(c->d, 'L');
        num(c->d, x);
        g_string_append_c(c->d, ' ');
        num(c->d, y);
    } else {
        cairo_line_to(c->cr, x, y);
    }
}

void
ms_viz_canvas_close(MsVizCanvas *c)
{
    if (c->d)
        g_string_append_c(c->d, 'Z');
    else
        cairo_close_path(c->cr);
}

void
ms_viz_canvas_rect(MsVizCanvas *c, double x, double y, double w, double h)
{
    ms_viz_canvas_move_to(c, x, y);
    ms_viz_canvas_line_to(c, x + w, y);
    ms_viz_canvas_line_to(c, x + w, y + h);
    ms_viz_canvas_line_to(c, x, y + h);
    ms_viz_canvas_close(c);
}

/* A quarter (or any) arc from the current point, ending at angle a2 on the
 * circle (cx, cy, r), drawn clockwise in screen coordinates. */
static void
arc_to(MsVizCanvas *c, double cx, double cy, double r, double a1, double a2)
{
    if (c->d) {
        g_string_append_c(c->d, 'A');
        num(c->d, r);
        g_string_append_c(c->d, ' ');
        num(c->d, r);
        g_string_append_printf(c->d, " 0 %d 1 ", (a2 - a1) > G_PI ? 1 : 0);
        num(c->d, cx + r * cos(a2));
        g_string_append_c(c->d, ' ');
        num(c->d, cy + r * sin(a2));
    } else {
        cairo_arc(c->cr, cx, cy, r, a1, a2);
    }
}

void
ms_viz_canvas_round_rect(MsVizCanvas *c, double x, double y, double w, double h, double r)
{
    r = MIN(r, MIN(w, h) / 2);
    ms_viz_canvas_move_to(c, x + r, y);
    ms_viz_canvas_line_to(c, x + w - r, y);
    arc_to(c, x + w - r, y + r, r, -G_PI / 2, 0);
    ms_viz_canvas_line_to(c, x + w, y + h - r);
    arc_to(c, x + w - r, y + h - r, r, 0, G_PI / 2);
    ms_viz_canvas_line_to(c, x + r, y + h);
    arc_to(c, x + r, y + h - r, r, G_PI / 2, G_PI);
    ms_viz_canvas_line_to(c, x, y + r);
    arc_to(c, x + r, y + r, r, G_PI, 3 * G_PI / 2);
    ms_viz_canvas_close(c);
}

void
ms_viz_canvas_circle(MsVizCanvas *c, double cx, double cy, double r)
{
    ms_viz_canvas_move_to(c, cx + r, cy);
    arc_to(c, cx, cy, r, 0, G_PI);
    arc_to(c, cx, cy, r, G_PI, 2 * G_PI);
    ms_viz_canvas_close(c);
}

void
ms_viz_canvas_paint(MsVizCanvas *c, const MsVizStyle *st)
{
    gboolean fill = st->fill_alpha > 0;
    gboolean stroke = st->width > 0 && st->stroke_alpha > 0;
    if (c->d) {
        if (c->d->len && (fill || stroke)) {
            g_string_append_printf(c->svg, "<path d=\"%s\" fill=\"", c->d->str);
            if (fill) {
                colour_hex(c->svg, st->fill);
                if (st->fill_alpha < 1) {
                    g_string_append(c->svg, "\" fill-opacity=\"");
                    num(c->svg, st->fill_alpha);
                }
            } else {
                g_string_append(c->svg, "none");
            }
            g_string_append_c(c->svg, '"');
            if (stroke) {
                g_string_append(c->svg, " stroke=\"");
                colour_hex(c->svg, st->stroke);
                g_string_append(c->svg, "\" stroke-width=\"");
                num(c->svg, st->width);
                g_string_append(c->svg, "\" stroke-linejoin=\"round\"");
                if (st->stroke_alpha < 1) {
                    g_string_append(c->svg, " stroke-opacity=\"");
                    num(c->svg, st->stroke_alpha);
                    g_string_append_c(c->svg, '"');
                }
                if (st->dashed)
                    g_string_append(c->svg, " stroke-dasharray=\"6 4\"");
            }
            g_string_append(c->svg, "/>\n");
        }
        g_string_truncate(c->d, 0);
        return;
    }
    if (fill) {
        set_rgb(c->cr, st->fill, st->fill_alpha);
        cairo_fill_preserve(c->cr);
    }
    if (stroke) {
        set_rgb(c->cr, st->stroke, st->stroke_alpha);
        cairo_set_line_width(c->cr, st->width);
        cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
        static const double dash[] = { 6, 4 };
        cairo_set_dash(c->cr, dash, st->dashed ? 2 : 0, 0);
        cairo_stroke_preserve(c->cr);
        cairo_set_dash(c->cr, NULL, 0, 0);
    }
    cairo_new_path(c->cr);
}

static PangoLayout *
make_layout(MsVizCanvas *c, const MsVizFont *font, const char *text)
{
    PangoLayout *layout = pango_cairo_create_layout(c->cr);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout), fo);
    cairo_font_options_destroy(fo);
    pango_layout_context_changed(layout);
    PangoFontDescription *fd =
        pango_font_description_from_string(font->mono ? "DejaVu Sans Mono" : "DejaVu Sans");
    pango_font_description_set_absolute_size(fd, font->size * PANGO_SCALE);
    if (font->bold)
        pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_text(layout, text, -1);
    return layout;
}

void
ms_viz_canvas_measure(MsVizCanvas *c, const MsVizFont *font, const char *text, double *width,
                      double *height)
{
    PangoLayout *layout = make_layout(c, font, text);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    if (width)
        *width = (double) logical.width / PANGO_SCALE;
    if (height)
        *height = (double) logical.height / PANGO_SCALE;
    g_object_unref(layout);
}

void
ms_viz_canvas_text(MsVizCanvas *c, double x, double y, MsVizAnchor anchor, const MsVizFont *font,
                   guint32 colour, const char *text)
{
    PangoLayout *layout = make_layout(c, font, text);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    double w = (double) logical.width / PANGO_SCALE;
    if (c->svg) {
        double baseline = (double) pango_layout_get_baseline(layout) / PANGO_SCALE;
        static const char *const anchors[] = { "start", "middle", "end" };
        g_string_append(c->svg, "<text x=\"");
        num(c->svg, x);
        g_string_append(c->svg, "\" y=\"");
        num(c->svg, y + baseline);
        g_string_append(c->svg, "\" font-size=\"");
        num(c->svg, font->size);
        g_string_append_c(c->svg, '"');
        if (font->bold)
            g_string_append(c->svg, " font-weight=\"bold\"");
        if (font->mono)
            g_string_append(c->svg, " font-family=\"DejaVu Sans Mono, monospace\"");
        if (anchor != MS_VIZ_ANCHOR_START)
            g_string_append_printf(c->svg, " text-anchor=\"%s\"", anchors[anchor]);
        g_string_append(c->svg, " fill=\"");
        colour_hex(c->svg, colour);
        g_autofree char *esc = g_markup_escape_text(text, -1);
        g_string_append_printf(c->svg, "\" xml:space=\"preserve\">%s</text>\n", esc);
    } else {
        double left = anchor == MS_VIZ_ANCHOR_START    ? x
                      : anchor == MS_VIZ_ANCHOR_MIDDLE ? x - w / 2
                                                       : x - w;
        set_rgb(c->cr, colour, 1);
        cairo_move_to(c->cr, left, y);
        pango_cairo_show_layout(c->cr, layout);
        cairo_new_path(c->cr);
    }
    g_object_unref(layout);
}

char **
ms_viz_canvas_wrap(MsVizCanvas *c, const MsVizFont *font, const char *text, double width)
{
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    GPtrArray *lines = g_ptr_array_new();
    GString *cur = g_string_new(NULL);
    for (guint i = 0; words[i]; i++) {
        if (!*words[i])
            continue;
        g_autofree char *trial =
            cur->len ? g_strconcat(cur->str, " ", words[i], NULL) : g_strdup(words[i]);
        double w = 0;
        ms_viz_canvas_measure(c, font, trial, &w, NULL);
        if (w > width && cur->len) {
            g_ptr_array_add(lines, g_strdup(cur->str));
            g_string_assign(cur, words[i]);
        } else {
            g_string_assign(cur, trial);
        }
    }
    if (cur->len || lines->len == 0)
        g_ptr_array_add(lines, g_strdup(cur->str));
    g_string_free(cur, TRUE);
    g_ptr_array_add(lines, NULL);
    return (char **) g_ptr_array_free(lines, FALSE);
}

void
ms_viz_canvas_group_begin(MsVizCanvas *c, const char *id, const char *cls, guint step)
{
    c->depth++;
    if (!c->svg)
        return;
    g_string_append(c->svg, "<g");
    if (id) {
        g_autofree char *e = g_markup_escape_text(id, -1);
        g_string_append_printf(c->svg, " id=\"%s\"", e);
    }
    if (cls) {
        g_autofree char *e = g_markup_escape_text(cls, -1);
        g_string_append_printf(c->svg, " class=\"%s\"", e);
    }
    if (step)
        g_string_append_printf(c->svg, " data-step=\"%u\"", step);
    g_string_append(c->svg, ">\n");
}

void
ms_viz_canvas_group_end(MsVizCanvas *c)
{
    g_return_if_fail(c->depth > 0);
    c->depth--;
    if (c->svg)
        g_string_append(c->svg, "</g>\n");
}

char *
ms_viz_canvas_svg_string(MsVizCanvas *c, gboolean with_xml_declaration)
{
    g_return_val_if_fail(c->svg != NULL, NULL);
    GString *s = g_string_new(NULL);
    if (with_xml_declaration)
        g_string_append(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
    num(s, c->width);
    g_string_append(s, "\" height=\"");
    num(s, c->height);
    g_string_append(s, "\" viewBox=\"0 0 ");
    num(s, c->width);
    g_string_append_c(s, ' ');
    num(s, c->height);
    g_string_append(s, "\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n");
    g_string_append_len(s, c->svg->str, (gssize) c->svg->len);
    for (guint i = 0; i < c->depth; i++)
        g_string_append(s, "</g>\n");
    g_string_append(s, "</svg>\n");
    return g_string_free(s, FALSE);
}

static cairo_status_t
write_pdf_chunk(void *closure, const unsigned char *data, unsigned int length)
{
    g_byte_array_append(closure, data, length);
    return CAIRO_STATUS_SUCCESS;
}

gboolean
ms_viz_canvas_write(MsVizCanvas *c, const char *path, GError **error)
{
    if (c->svg) {
        g_autofree char *doc = ms_viz_canvas_svg_string(c, TRUE);
        return ms_output_file_write(path, doc, strlen(doc), error);
    }
    cairo_status_t st = cairo_surface_status(c->surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_status(c->cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "drawing failed: %s",
                    cairo_status_to_string(st));
        return FALSE;
    }
    cairo_surface_t *target;
    g_autoptr(GByteArray) pdf = NULL;
    if (c->format == MS_VIZ_FORMAT_PNG) {
        target = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int) ceil(c->width),
                                            (int) ceil(c->height));
    } else {
        pdf = g_byte_array_new();
        target = cairo_pdf_surface_create_for_stream(write_pdf_chunk, pdf, c->width, c->height);
    }
    cairo_t *cr = cairo_create(target);
    cairo_set_source_surface(cr, c->surface, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    if (pdf)
        cairo_surface_finish(target);
    st = cairo_surface_status(target);
    if (st == CAIRO_STATUS_SUCCESS && c->format == MS_VIZ_FORMAT_PNG)
        st = cairo_surface_write_to_png(target, path);
    cairo_surface_destroy(target);
    if (st != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot write %s: %s", path,
                    cairo_status_to_string(st));
        return FALSE;
    }
    if (pdf)
        return ms_output_file_write(path, pdf->data, pdf->len, error);
    return TRUE;
}
