/* Printing simulated time for people (see include/mailsim/time.h). */
#include "mailsim/time.h"

#include <stdio.h>

char *
ms_time_to_string(MsTime t)
{
    if (t == MS_TIME_INFINITE)
        return g_strdup("never");
    const char *sign = t < 0 ? "-" : "";
    guint64 a = t < 0 ? (guint64) - (t + 1) + 1 : (guint64) t;
    if (a >= (guint64) MS_TIME_DAY) {
        guint64 d = a / MS_TIME_DAY, h = (a % MS_TIME_DAY) / MS_TIME_H;
        return h ? g_strdup_printf("%s%" G_GUINT64_FORMAT " d %" G_GUINT64_FORMAT " h", sign, d, h)
                 : g_strdup_printf("%s%" G_GUINT64_FORMAT " d", sign, d);
    }
    if (a >= (guint64) MS_TIME_H) {
        guint64 h = a / MS_TIME_H, m = (a % MS_TIME_H) / MS_TIME_MIN;
        return g_strdup_printf("%s%" G_GUINT64_FORMAT " h %" G_GUINT64_FORMAT " min", sign, h, m);
    }
    if (a >= (guint64) (10 * MS_TIME_MIN)) {
        guint64 m = a / MS_TIME_MIN, s = (a % MS_TIME_MIN) / MS_TIME_S;
        return g_strdup_printf("%s%" G_GUINT64_FORMAT " min %" G_GUINT64_FORMAT " s", sign, m, s);
    }
    static const struct {
        guint64 unit;
        const char *name;
    } scale[] = {
        { MS_TIME_S, "s" },
        { MS_TIME_MS, "ms" },
        { MS_TIME_US, "us" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(scale); i++) {
        if (a >= scale[i].unit) {
            if (a % scale[i].unit == 0)
                return g_strdup_printf("%s%" G_GUINT64_FORMAT " %s", sign, a / scale[i].unit,
                                       scale[i].name);
            return g_strdup_printf("%s%.3f %s", sign, (double) a / (double) scale[i].unit,
                                   scale[i].name);
        }
    }
    return g_strdup_printf("%s%" G_GUINT64_FORMAT " ns", sign, a);
}

const char *
ms_time_format_seconds(MsTime t, char *buf, gsize len)
{
    const char *sign = t < 0 ? "-" : "";
    guint64 a = t < 0 ? (guint64) - (t + 1) + 1 : (guint64) t;
    guint64 ms = (a + MS_TIME_MS / 2) / MS_TIME_MS;
    g_snprintf(buf, len, "%s%" G_GUINT64_FORMAT ".%03u", sign, ms / 1000, (unsigned) (ms % 1000));
    return buf;
}
