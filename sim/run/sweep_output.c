/* Sweeps (include/mailsim/sweep.h): what comes out. The summary per grid
 * point and statistic (n, mean, 95 % confidence interval, sd, min, max) as
 * an aligned table, as CSV and as JSON; and every run's value as a tidy
 * CSV (one row per run and statistic), the form pandas, R and spreadsheets
 * read as is.
 *
 * Design. Everything is computed from results[] in job order, after the
 * runs: no output depends on which thread ran what, or on whether a run was
 * read back from the results folder. Numbers of the summaries are written
 * with 6 significant digits (%.6g, locale-proof), every run's value with
 * the shortest of 15, 16 or 17 significant digits that reads back to
 * the same double,
 * in the tidy CSV and in the JSON alike. CSV fields are quoted as RFC 4180
 * section 2 says when they hold a comma, a quote or a line break (XPaths
 * often do). The grid point's number ("point") is its index, with the first
 * axis varying slowest, in every output.
 *
 * The confidence interval is mean +/- t(0.975, n-1) sd / sqrt(n), Student's
 * t over the replications (ms_sweep_t_quantile); 0 when n = 1 or every
 * value is equal. */
#include "mailsim/json.h"
#include "sweep-private.h"

#include <math.h>
#include <string.h>

MsSweepCell
ms__sweep_summarise(const MsSweep *sw, guint point, guint stat)
{
    MsSweepCell s = { 0, 0, 0, 0, INFINITY, -INFINITY };
    guint base = point * sw->seeds->len;
    for (guint k = 0; k < sw->seeds->len; k++) {
        if (!sw->results[base + k].done)
            continue;
        double v = sw->results[base + k].v[stat];
        s.n++;
        s.mean += v;
        s.min = MIN(s.min, v);
        s.max = MAX(s.max, v);
    }
    if (s.n == 0)
        return (MsSweepCell){ 0, NAN, NAN, NAN, NAN, NAN };
    s.mean /= s.n;
    double ss = 0;
    for (guint k = 0; k < sw->seeds->len; k++) {
        if (!sw->results[base + k].done)
            continue;
        double d = sw->results[base + k].v[stat] - s.mean;
        ss += d * d;
    }
    if (s.n > 1 && s.min < s.max) { /* equal values: exactly 0, not rounding noise */
        s.sd = sqrt(ss / (s.n - 1));
        s.ci = ms_sweep_t_quantile(0.975, s.n - 1) * s.sd / sqrt(s.n);
    }
    return s;
}

static guint
stat_at(const MsSweep *sw, guint i)
{
    return g_array_index(sw->stats, guint, i);
}

static char *
point_label(const MsSweep *sw, guint point, const char *sep)
{
    GString *s = g_string_new(NULL);
    if (ms__sweep_has_scenario_axis(sw))
        g_string_append_printf(s, "scenario=%s", ms__sweep_source(sw, point)->label);
    for (guint k = 0; k < sw->axes->len; k++)
        g_string_append_printf(s, "%s%s=%s", s->len ? sep : "", ms_sweep_axis_name(sw, k),
                               ms__sweep_axis_text(sw, point, k));
    return g_string_free(s, FALSE);
}

/* %g-like but locale-proof and fixed: up to 6 significant digits. */
static void
append_num(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.6g", v);
    g_string_append(out, buf);
}

/* The shortest text that reads back as v. */
static void
append_exact(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (int digits = 15; digits <= 17; digits++) {
        char fmt[8];
        g_snprintf(fmt, sizeof fmt, "%%.%dg", digits);
        g_ascii_formatd(buf, sizeof buf, fmt, v);
        if (g_ascii_strtod(buf, NULL) == v)
            break;
    }
    g_string_append(out, buf);
}

/* RFC 4180 section 2: fields with commas, quotes or line breaks are
 * enclosed in quotes, and quotes inside doubled. */
static void
append_field(GString *out, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        g_string_append(out, text);
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    g_string_append_c(out, '"');
}

/* "experiment,point,[scenario,]AXES...," for a header, or the point's
 * values. */
static void
append_point_columns(const MsSweep *sw, GString *out, gint point)
{
    if (point < 0) {
        g_string_append(out, "experiment,point,");
        if (ms__sweep_has_scenario_axis(sw))
            g_string_append(out, "scenario,");
        for (guint k = 0; k < sw->axes->len; k++) {
            append_field(out, ms_sweep_axis_name(sw, k));
            g_string_append_c(out, ',');
        }
        return;
    }
    append_field(out, sw->experiment);
    g_string_append_printf(out, ",%d,", point);
    if (ms__sweep_has_scenario_axis(sw)) {
        append_field(out, ms__sweep_source(sw, (guint) point)->label);
        g_string_append_c(out, ',');
    }
    for (guint k = 0; k < sw->axes->len; k++) {
        append_field(out, ms__sweep_axis_text(sw, (guint) point, k));
        g_string_append_c(out, ',');
    }
}

void
ms_sweep_describe(const MsSweep *sw, GString *out)
{
    guint ns = sw->seeds->len;
    g_string_append_printf(out, "%u grid point%s x %u seed%s (", ms_sweep_n_points(sw),
                           ms_sweep_n_points(sw) == 1 ? "" : "s", ns, ns == 1 ? "" : "s");
    for (guint k = 0; k < MIN(ns, 10u); k++)
        g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, k ? ", " : "",
                               g_array_index(sw->seeds, guint64, k));
    g_string_append(out, ns > 10 ? ", ...)\n" : ")\n");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++) {
        g_autofree char *label = point_label(sw, p, ", ");
        g_string_append_printf(out, "point %u: %s", p, *label ? label : "the scenario as written");
        if (sw->state) {
            guint stored = 0;
            for (guint k = 0; k < ns; k++)
                stored += sw->state[p * ns + k] == MS__SWEEP_STORED;
            g_string_append_printf(out, " (%u of %u runs stored)", stored, ns);
        }
        g_string_append_c(out, '\n');
    }
}

void
ms_sweep_table(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    for (guint p = 0; p < ms_sweep_n_points(sw); p++) {
        g_autofree char *label = point_label(sw, p, ", ");
        g_string_append_printf(out, "%s%s (%u replication%s)\n", p ? "\n" : "",
                               *label ? label : "scenario as written", sw->seeds->len,
                               sw->seeds->len == 1 ? "" : "s");
        g_string_append_printf(out, "  %-18s %14s %12s %14s %14s\n", "statistic", "mean",
                               "+/- 95% CI", "min", "max");
        for (guint i = 0; i < sw->stats->len; i++) {
            guint st = stat_at(sw, i);
            MsSweepCell s = ms__sweep_summarise(sw, p, st);
            char m[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
                lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
            g_ascii_formatd(m, sizeof m, "%.6g", s.mean);
            g_ascii_formatd(c, sizeof c, "%.3g", s.ci);
            g_ascii_formatd(lo, sizeof lo, "%.6g", s.min);
            g_ascii_formatd(hi, sizeof hi, "%.6g", s.max);
            g_string_append_printf(out, "  %-18s %14s %12s %14s %14s\n", ms__sweep_stat_names[st],
                                   m, c, lo, hi);
        }
    }
}

void
ms_sweep_csv(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    append_point_columns(sw, out, -1);
    g_string_append(out, "statistic,n,mean,ci95,ci95_low,ci95_high,sd,min,max\n");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++)
        for (guint i = 0; i < sw->stats->len; i++) {
            guint st = stat_at(sw, i);
            append_point_columns(sw, out, (gint) p);
            MsSweepCell s = ms__sweep_summarise(sw, p, st);
            g_string_append_printf(out, "%s,%u,", ms__sweep_stat_names[st], s.n);
            double vals[] = { s.mean, s.ci, s.mean - s.ci, s.mean + s.ci, s.sd, s.min, s.max };
            for (guint v = 0; v < G_N_ELEMENTS(vals); v++) {
                append_num(out, vals[v]);
                g_string_append_c(out, v + 1 < G_N_ELEMENTS(vals) ? ',' : '\n');
            }
        }
}

void
ms_sweep_tidy_csv(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    append_point_columns(sw, out, -1);
    g_string_append(out, "seed,statistic,value\n");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++)
        for (guint k = 0; k < sw->seeds->len; k++) {
            const MsSweepResult *r = &sw->results[p * sw->seeds->len + k];
            if (!r->done)
                continue;
            for (guint i = 0; i < sw->stats->len; i++) {
                guint st = stat_at(sw, i);
                append_point_columns(sw, out, (gint) p);
                g_string_append_printf(out, "%" G_GUINT64_FORMAT ",%s,",
                                       g_array_index(sw->seeds, guint64, k),
                                       ms__sweep_stat_names[st]);
                append_exact(out, r->v[st]);
                g_string_append_c(out, '\n');
            }
        }
}

void
ms_sweep_json(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    const MsSweepSource *first = sw->sources->pdata[0];
    g_string_append(out, "{\"experiment\": ");
    ms_json_append_string(out, sw->experiment, MS_JSON_PLAIN);
    g_string_append(out, ", \"title\": ");
    ms_json_append_string(out, sw->title ? sw->title : "", MS_JSON_PLAIN);
    g_string_append(out, ", \"version\": ");
    ms_json_append_string(out, sw->version, MS_JSON_PLAIN);
    g_string_append(out, ",\n \"scenario\": {\"path\": ");
    ms_json_append_string(out, first->path, MS_JSON_PLAIN);
    g_string_append(out, ", \"name\": ");
    ms_json_append_string(out, first->sc->name, MS_JSON_PLAIN);
    g_string_append(out, ", \"title\": ");
    ms_json_append_string(out, first->sc->title, MS_JSON_PLAIN);
    g_string_append(out, "},\n \"scenarios\": [");
    for (guint i = 0; i < sw->sources->len; i++) {
        const MsSweepSource *s = sw->sources->pdata[i];
        g_string_append(out, i ? ", {\"label\": " : "{\"label\": ");
        ms_json_append_string(out, s->label, MS_JSON_PLAIN);
        g_string_append(out, ", \"path\": ");
        ms_json_append_string(out, s->path, MS_JSON_PLAIN);
        g_string_append(out, ", \"sha256\": ");
        ms_json_append_string(out, s->sha256, MS_JSON_PLAIN);
        g_string_append(out, "}");
    }
    g_string_append(out, "],\n \"axes\": [");
    gboolean scen = ms__sweep_has_scenario_axis(sw);
    if (scen)
        g_string_append(out, "\"scenario\"");
    for (guint k = 0; k < sw->axes->len; k++) {
        g_string_append(out, k || scen ? ", " : "");
        ms_json_append_string(out, ms_sweep_axis_name(sw, k), MS_JSON_PLAIN);
    }
    g_string_append(out, "],\n \"keys\": {");
    for (guint k = 0; k < sw->axes->len; k++) {
        const MsSweepAxis *a = sw->axes->pdata[k];
        g_string_append(out, k ? ", " : "");
        ms_json_append_string(out, a->name, MS_JSON_PLAIN);
        g_string_append(out, ": ");
        ms_json_append_string(out, a->key, MS_JSON_PLAIN);
    }
    g_string_append(out, "},\n \"seeds\": [");
    for (guint k = 0; k < sw->seeds->len; k++)
        g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, k ? ", " : "",
                               g_array_index(sw->seeds, guint64, k));
    g_string_append(out, "],\n \"points\": [");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++) {
        g_string_append_printf(out, "%s\n  {\"point\": %u, \"settings\": {", p ? "," : "", p);
        if (scen) {
            g_string_append(out, "\"scenario\": ");
            ms_json_append_string(out, ms__sweep_source(sw, p)->label, MS_JSON_PLAIN);
        }
        for (guint k = 0; k < sw->axes->len; k++) {
            /* names and values are the user's own text: escape them */
            g_string_append(out, k || scen ? ", " : "");
            ms_json_append_string(out, ms_sweep_axis_name(sw, k), MS_JSON_PLAIN);
            g_string_append(out, ": ");
            ms_json_append_string(out, ms__sweep_axis_text(sw, p, k), MS_JSON_PLAIN);
        }
        g_string_append(out, "},\n   \"statistics\": {");
        for (guint i = 0; i < sw->stats->len; i++) {
            guint st = stat_at(sw, i);
            MsSweepCell s = ms__sweep_summarise(sw, p, st);
            g_string_append_printf(out, "%s\n    \"%s\": {\"n\": %u, \"mean\": ", i ? "," : "",
                                   ms__sweep_stat_names[st], s.n);
            append_num(out, s.mean);
            g_string_append(out, ", \"ci95\": ");
            append_num(out, s.ci);
            g_string_append(out, ", \"sd\": ");
            append_num(out, s.sd);
            g_string_append(out, ", \"min\": ");
            append_num(out, s.min);
            g_string_append(out, ", \"max\": ");
            append_num(out, s.max);
            /* every replication in seed order, exactly as the tidy CSV */
            g_string_append(out, ", \"replications\": [");
            for (guint k = 0; k < sw->seeds->len; k++) {
                g_string_append(out, k ? ", " : "");
                append_exact(out, sw->results[p * sw->seeds->len + k].v[st]);
            }
            g_string_append(out, "]}");
        }
        g_string_append(out, "}}");
    }
    g_string_append(out, "\n]}\n");
}
