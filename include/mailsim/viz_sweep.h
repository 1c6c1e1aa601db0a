/* Shared by the pictures of sweeps (viz/sweep_plot.c, viz/sweep_small_multiples.c):
 * how a setting's text reads as a number on an axis. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    MS_VIZ_VALUE_PLAIN,   /* "12.5", "1e3" */
    MS_VIZ_VALUE_PERCENT, /* "5%": 5 */
    MS_VIZ_VALUE_TIME,    /* "10ms": in seconds */
    MS_VIZ_VALUE_SIZE,    /* "10MB": in bytes */
} MsVizValueKind;

/* Whether the whole of `text` reads as a number of `kind`; the number in
 * *out. */
gboolean ms_viz_sweep_read_value(const char *text, MsVizValueKind kind, double *out);

G_END_DECLS
