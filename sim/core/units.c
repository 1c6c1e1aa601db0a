/* Parsing and printing values with units (see include/mailsim/units.h).
 * Numbers are read by hand (digits, optional fraction) rather than with
 * strtod, so that the result does not depend on the C locale and so that
 * times are exact: "0.1s" is exactly 100000000 ns. */
#include "mailsim/units.h"

#include <string.h>

G_DEFINE_QUARK(ms - units - error - quark, ms_units_error)

typedef struct {
    const char *suffix;
    guint64 mult; /* value of one unit in base units */
} Unit;

static const Unit time_units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "ms", 1000000 },
    { "s", 1000000000 },
    { "min", 60ULL * 1000000000 },
    { "h", 3600ULL * 1000000000 },
    { "d", 86400ULL * 1000000000 },
    { NULL, 0 },
};
static const Unit rate_units[] = {
    { "bps", 1 },        { "kbps", 1000 },       { "Kbps", 1000 },
    { "Mbps", 1000000 }, { "Gbps", 1000000000 }, { "Tbps", 1000000000000ULL },
    { NULL, 0 },
};
static const Unit size_units[] = {
    { "B", 1 },           { "KB", 1000 },  { "kB", 1000 },         { "MB", 1000000 },
    { "GB", 1000000000 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "GiB", 1024 * 1024 * 1024 },
    { NULL, 0 },
};

/* Splits text into integer part, fraction digits and unit suffix, then
 * computes value * mult exactly (fraction truncated below one base unit). */
static gboolean
parse_with_units(const char *what, const char *text, const Unit *units, gboolean bare_allowed,
                 const char *expect, guint64 *out, GError **error)
{
    if (!text || !*text) {
        g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_SYNTAX,
                    "'' is not a valid %s (empty): expected %s", what, expect);
        return FALSE;
    }
    const char *p = text;
    if (*p == '-') {
        g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_RANGE, "'%s': a %s cannot be negative",
                    text, what);
        return FALSE;
    }
    if (*p == '+')
        p++;
    guint64 whole = 0;
    const char *digits = p;
    while (g_ascii_isdigit(*p)) {
        if (whole > (G_MAXUINT64 - 9) / 10)
            goto range;
        whole = whole * 10 + (guint64) (*p - '0');
        p++;
    }
    gboolean had_digits = p > digits;
    const char *frac = NULL;
    gsize nfrac = 0;
    if (*p == '.') {
        p++;
        frac = p;
        while (g_ascii_isdigit(*p))
            p++;
        nfrac = (gsize) (p - frac);
    }
    if (!had_digits && nfrac == 0)
        goto syntax;
    while (*p == ' ')
        p++;
    guint64 mult = 0;
    if (*p == '\0') {
        if (!bare_allowed && !(whole == 0 && nfrac == 0))
            goto syntax;
        mult = 1;
    } else {
        for (const Unit *u = units; u->suffix; u++)
            if (strcmp(p, u->suffix) == 0)
                mult = u->mult;
        if (mult == 0)
            goto syntax;
    }
    if (whole != 0 && mult > G_MAXUINT64 / whole)
        goto range;
    guint64 value = whole * mult;
    /* Fraction: f / 10^k of a unit, computed as (mult / den) * f +
     * (mult % den) * f / den, exact for every unit here and free of
     * overflow for k <= 9 (digits beyond the ninth are below any base unit
     * that matters and are dropped). */
    guint64 f = 0, den = 1;
    for (gsize i = 0; i < nfrac && i < 9; i++) {
        f = f * 10 + (guint64) (frac[i] - '0');
        den *= 10;
    }
    guint64 part = (mult / den) * f + (mult % den) * f / den;
    if (value > G_MAXUINT64 - part)
        goto range;
    value += part;
    *out = value;
    return TRUE;
syntax:
    g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_SYNTAX, "'%s' is not a valid %s: expected %s",
                text, what, expect);
    return FALSE;
range:
    g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_RANGE, "'%s': %s too large", text, what);
    return FALSE;
}

gboolean
ms_units_parse_time(const char *text, MsTime *out, GError **error)
{
    guint64 v;
    if (!parse_with_units("time", text, time_units, FALSE,
                          "a number and a unit (ns, us, ms, s, min, h, d), e.g. 250ms", &v, error))
        return FALSE;
    if (v >= (guint64) MS_TIME_INFINITE) {
        g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_RANGE, "'%s': time too large", text);
        return FALSE;
    }
    *out = (MsTime) v;
    return TRUE;
}

gboolean
ms_units_parse_rate(const char *text, guint64 *out_bps, GError **error)
{
    guint64 v;
    if (!parse_with_units("rate", text, rate_units, FALSE,
                          "a number and a unit (bps, kbps, Mbps, Gbps), e.g. 10Mbps", &v, error))
        return FALSE;
    if (v == 0) {
        g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_RANGE,
                    "'%s': a rate must be greater than zero", text);
        return FALSE;
    }
    *out_bps = v;
    return TRUE;
}

gboolean
ms_units_parse_size(const char *text, guint64 *out_bytes, GError **error)
{
    return parse_with_units("size", text, size_units, TRUE,
                            "a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 64KiB",
                            out_bytes, error);
}

gboolean
ms_units_parse_count(const char *text, guint64 *out, GError **error)
{
    if (!text || !g_ascii_isdigit(*text)) {
        g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_SYNTAX,
                    "'%s' is not a valid count: expected a non-negative integer", text ? text : "");
        return FALSE;
    }
    guint64 v = 0;
    for (const char *p = text; *p; p++) {
        if (!g_ascii_isdigit(*p)) {
            g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_SYNTAX,
                        "'%s' is not a valid count: expected a non-negative integer", text);
            return FALSE;
        }
        if (v > (G_MAXUINT64 - 9) / 10) {
            g_set_error(error, MS_UNITS_ERROR, MS_UNITS_ERROR_RANGE, "'%s': count too large", text);
            return FALSE;
        }
        v = v * 10 + (guint64) (*p - '0');
    }
    *out = v;
    return TRUE;
}

static char *
scaled_to_string(guint64 v, const Unit *units, gsize n)
{
    for (gsize i = n; i-- > 0;)
        if (units[i].mult > 1 && v >= units[i].mult && v % units[i].mult == 0)
            return g_strdup_printf("%" G_GUINT64_FORMAT " %s", v / units[i].mult, units[i].suffix);
    return g_strdup_printf("%" G_GUINT64_FORMAT " %s", v, units[0].suffix);
}

char *
ms_units_rate_to_string(guint64 bps)
{
    static const Unit r[] = {
        { "bps", 1 }, { "kbps", 1000 }, { "Mbps", 1000000 }, { "Gbps", 1000000000 }
    };
    return scaled_to_string(bps, r, G_N_ELEMENTS(r));
}

char *
ms_units_size_to_string(guint64 bytes)
{
    static const Unit s[] = {
        { "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "GiB", 1024 * 1024 * 1024 }
    };
    return scaled_to_string(bytes, s, G_N_ELEMENTS(s));
}
