/* The entry point of mailsim's pictures (include/mailsim/viz.h): picks the
 * format from the output name, builds the chosen message's journey from
 * the recorded trace, draws the picture asked for, writes it. The top of
 * viz/: it calls every picture; no picture calls it.
 * Ownership: everything made here is freed here; the world and the
 * recorder are borrowed. */
#include "mailsim/viz.h"
#include "mailsim/output_file.h"

gboolean
ms_viz_render(MsWorld *w, const MsRecorder *rec, const MsVizOptions *opt, const char *path,
              GError **error)
{
    g_return_val_if_fail(w && rec && opt && path, FALSE);
    MsVizFormat format;
    if (!ms_viz_format_from_path(path, &format, error))
        return FALSE;
    if ((opt->kind == MS_VIZ_STORY) != (format == MS_VIZ_FORMAT_HTML)) {
        g_set_error(
            error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
            opt->kind == MS_VIZ_STORY
                ? "'%s': the story is an HTML page: name it FILE.html"
                : "'%s': this picture is drawn as .png, .svg or .pdf; only the story is .html",
            path);
        return FALSE;
    }
    if (opt->kind == MS_VIZ_SWEEP || opt->kind == MS_VIZ_BENCH) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                    "a %s picture is drawn from a file of many runs, "
                    "not from one run",
                    ms_viz_kind_to_string(opt->kind));
        return FALSE;
    }
    MsMail *mail = ms_world_mail(w);
    guint32 message = opt->message ? opt->message : 1;
    g_autoptr(MsVizJourney) j = NULL;
    if (opt->kind == MS_VIZ_MAP) {
        g_autoptr(MsVizCanvas) map = ms_viz_map(w, format, opt->width, opt->height, NULL, error);
        return map && ms_viz_canvas_write(map, path, error);
    }
    if (opt->kind == MS_VIZ_ROUTING) {
        g_autoptr(MsVizCanvas) rc = ms_viz_routing(w, format, opt->width, opt->height);
        return ms_viz_canvas_write(rc, path, error);
    }
    if (opt->kind != MS_VIZ_PLOTS) {
        if (message > ms_mail_n_messages(mail)) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                        "the run has no message %u to draw", message);
            return FALSE;
        }
        j = ms_viz_journey_new(ms_world_net(w), mail, rec, message);
    }
    if (opt->kind == MS_VIZ_STORY) {
        g_autofree char *html = ms_viz_story_html(w, j);
        return ms_output_file_write(path, html, strlen(html), error);
    }
    g_autoptr(MsVizCanvas) c = NULL;
    switch (opt->kind) {
    case MS_VIZ_HOPS:
        c = ms_viz_hops(w, j, format, opt->width, opt->height);
        break;
    case MS_VIZ_SEQUENCE:
        c = ms_viz_sequence(w, rec, j, format, opt->width);
        break;
    case MS_VIZ_PLOTS:
    case MS_VIZ_STORY:
    default:
        c = ms_viz_plots(w, rec, format, opt->width, opt->height);
        break;
    }
    return ms_viz_canvas_write(c, path, error);
}

gboolean
ms_viz_render_file(MsVizKind kind, const char *input, const char *path, double width, double height,
                   GError **error)
{
    g_return_val_if_fail(input && path && (kind == MS_VIZ_SWEEP || kind == MS_VIZ_BENCH), FALSE);
    MsVizFormat format;
    if (!ms_viz_format_from_path(path, &format, error))
        return FALSE;
    if (format == MS_VIZ_FORMAT_HTML) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                    "'%s': this picture is drawn as .png, .svg or .pdf", path);
        return FALSE;
    }
    g_autoptr(MsVizCanvas) c = NULL;
    if (kind == MS_VIZ_SWEEP) {
        g_autoptr(MsSweepResults) r = ms_sweep_results_load_file(input, error);
        if (!r)
            return FALSE;
        c = ms_viz_sweep(r, NULL, format, width, height, error);
    } else {
        g_autofree char *csv = NULL;
        g_autoptr(GError) local = NULL;
        if (!g_file_get_contents(input, &csv, NULL, &local)) {
            g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "%s: cannot read: %s", input,
                        local->message);
            return FALSE;
        }
        c = ms_viz_bench_worlds(csv, input, format, width, height, error);
    }
    return c && ms_viz_canvas_write(c, path, error);
}
