/* The vocabulary every picture of mailsim shares (include/mailsim/viz.h):
 * the names of the pictures and their output formats, the names, colours
 * and time labels of a journey's steps, and the error domain. The bottom
 * of viz/: it calls no other viz file, so the journey, the pictures and
 * the entry point (viz/render.c) can all use it without depending on each
 * other. No state; strings returned by *_to_string are static. */
#include "mailsim/viz.h"

#include <string.h>

G_DEFINE_QUARK(ms - viz - error - quark, ms_viz_error)

static const char *const kind_names[] = { "hops",  "sequence", "plots", "story",
                                          "sweep", "bench",    "map",   "routing" };

const char *
ms_viz_kind_to_string(MsVizKind kind)
{
    return (guint) kind < G_N_ELEMENTS(kind_names) ? kind_names[kind] : "?";
}

gboolean
ms_viz_kind_parse(const char *text, MsVizKind *kind, GError **error)
{
    for (guint i = 0; text && i < G_N_ELEMENTS(kind_names); i++) {
        if (strcmp(text, kind_names[i]) == 0) {
            *kind = (MsVizKind) i;
            return TRUE;
        }
    }
    g_set_error(
        error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
        "--kind: '%s' is not a picture: expected hops, sequence, plots, story, sweep, bench, "
        "map or routing",
        text ? text : "");
    return FALSE;
}

gboolean
ms_viz_format_from_path(const char *path, MsVizFormat *format, GError **error)
{
    static const struct {
        const char *ext;
        MsVizFormat format;
    } exts[] = {
        { ".png", MS_VIZ_FORMAT_PNG },
        { ".svg", MS_VIZ_FORMAT_SVG },
        { ".pdf", MS_VIZ_FORMAT_PDF },
        { ".html", MS_VIZ_FORMAT_HTML },
    };
    g_autofree char *lower = g_ascii_strdown(path ? path : "", -1);
    for (gsize i = 0; i < G_N_ELEMENTS(exts); i++) {
        if (g_str_has_suffix(lower, exts[i].ext) && strlen(lower) > strlen(exts[i].ext)) {
            *format = exts[i].format;
            return TRUE;
        }
    }
    g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                "'%s': the output name must end in .png, .svg or .pdf (.html for the story)",
                path ? path : "");
    return FALSE;
}

const char *
ms_viz_step_kind_to_string(MsVizStepKind kind)
{
    static const char *const names[] = { "submit", "dns",    "smtp",     "store", "pop3",
                                         "bounce", "failed", "rejected", "imap",  "check" };
    return (guint) kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

guint32
ms_viz_step_colour(MsVizStepKind kind)
{
    switch (kind) {
    case MS_VIZ_STEP_SUBMIT:
    case MS_VIZ_STEP_SMTP:
        return 0xD55E00u; /* vermillion */
    case MS_VIZ_STEP_DNS:
        return 0x0072B2u; /* blue */
    case MS_VIZ_STEP_STORE:
        return 0x000000u; /* black */
    case MS_VIZ_STEP_POP3:
        return 0xCC79A7u; /* reddish purple */
    case MS_VIZ_STEP_IMAP:
        return 0x009E73u; /* bluish green */
    case MS_VIZ_STEP_FAILED:
        return 0x6E6E6Eu; /* grey: the message did not go this way */
    case MS_VIZ_STEP_REJECTED:
        return 0xB2182Bu; /* red: the server said no */
    case MS_VIZ_STEP_CHECK:
        return 0x56B4E9u; /* sky blue: the step's mark carries the verdict's colour */
    case MS_VIZ_STEP_BOUNCE:
    case MS_VIZ_STEP_KIND_COUNT:
        break;
    }
    return 0x7F3F00u;
}

guint32
ms_viz_check_colour(MsVizCheckOutcome outcome)
{
    switch (outcome) {
    case MS_VIZ_CHECK_ACCEPTED:
        return 0x009E73u; /* bluish green */
    case MS_VIZ_CHECK_QUARANTINED:
        return 0xE69F00u; /* orange */
    case MS_VIZ_CHECK_REFUSED:
        break;
    }
    return 0xB2182Bu; /* red, as a refused session */
}

char *
ms_viz_time_label(MsTime t)
{
    char buf[32];
    return g_strdup_printf("%s s", ms_time_format_seconds(t, buf, sizeof buf));
}
