/* Parameter sweeps (include/mailsim/sweep.h): the grid. Scenarios, axes
 * and zipped axes, seeds, the statistics reported, and the checks that run
 * before anything is simulated. The jobs and the results folder are in
 * sweep_run.c, the outputs in sweep_output.c.
 *
 * Design. The grid is a list of dimensions, each a number of values; the
 * first is the scenarios (one value unless an experiment names several),
 * the others are added by ms_sweep_set() (one axis, one dimension) and
 * ms_sweep_set_zipped() (several axes that vary together along one
 * dimension). A point is one value per dimension, numbered with the first
 * dimension varying slowest. An axis is either an XPath that selects
 * attributes of the scenario document (applied by the loader,
 * scenario_override.h) or one of the short keys of the first sweeps
 * (until, fidelity, keep-bodies, policy.FIELD[@HOST]), which act on the
 * world options and stay as aliases.
 *
 * Values are kept as written ("5%", "10ms"); ranges expand to such texts:
 * "A..B/N" is N evenly spaced values, "A..B*N" N values evenly spaced on a
 * log scale, both ends included and in the unit the ends share. Whole
 * numbered ends give whole numbered values, and a whole number written
 * with an exponent ("1e4") is written out ("10000"), as scenario counts
 * take digits only.
 *
 * Checks (ms_sweep_check), all before the first run: every XPath compiles
 * (at ms_sweep_set) and selects something in every scenario; every value of
 * every XPath axis is loaded once with that value alone, so a value the
 * schema or the reader refuses is an error naming its axis; the grid is no
 * larger than the stated limit unless allowed. Combinations of values are
 * not loaded ahead (that would cost the whole grid): one that fails only
 * together fails its run, naming the point.
 *
 * Ownership: the sweep owns its scenarios, axes and results. Costs: one
 * scenario load per scenario and XPath value at the check. */
#include "mailsim/scenario_override.h"
#include "mailsim/units.h"
#include "sweep-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK(ms - sweep - error - quark, ms_sweep_error)

const char *const ms__sweep_stat_names[MS__SWEEP_N_STATS] = {
    "messages",        "dsns",          "delivered",     "bounced",        "queued",
    "refused",         "deferrals",     "attempts",      "latency_mean_s", "latency_p50_s",
    "latency_p95_s",   "latency_p99_s", "latency_max_s", "smtp_sessions",  "tcp_retransmits",
    "packets_dropped", "queue_peak",    "events",
};

static void
axis_free(gpointer p)
{
    MsSweepAxis *a = p;
    g_free(a->name);
    g_free(a->key);
    g_ptr_array_unref(a->texts);
    g_array_unref(a->values);
    g_free(a);
}

static void
source_free(gpointer p)
{
    MsSweepSource *s = p;
    g_free(s->path);
    g_free(s->label);
    g_bytes_unref(s->data);
    g_free(s->sha256);
    ms_scenario_free(s->sc);
    g_free(s);
}

MsSweep *
ms_sweep_new(void)
{
    MsSweep *sw = g_new0(MsSweep, 1);
    sw->experiment = g_strdup("");
    sw->sources = g_ptr_array_new_with_free_func(source_free);
    sw->axes = g_ptr_array_new_with_free_func(axis_free);
    sw->dims = g_array_new(FALSE, FALSE, sizeof(guint));
    guint zero = 0;
    g_array_append_val(sw->dims, zero);
    sw->seeds = g_array_new(FALSE, FALSE, sizeof(guint64));
    sw->stats = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < MS__SWEEP_N_STATS; i++)
        g_array_append_val(sw->stats, i);
    sw->max_points = MS_SWEEP_DEFAULT_MAX_POINTS;
    sw->version = g_strdup(MS_MAILSIM_VERSION);
    return sw;
}

void
ms__sweep_results_clear(MsSweep *sw)
{
    for (guint i = 0; i < sw->n_results; i++) {
        g_free(sw->results[i].error);
        if (sw->other_versions)
            g_free(sw->other_versions[i]);
    }
    g_clear_pointer(&sw->results, g_free);
    g_clear_pointer(&sw->state, g_free);
    g_clear_pointer(&sw->other_versions, g_free);
    sw->n_results = 0;
}

void
ms_sweep_free(MsSweep *sw)
{
    if (!sw)
        return;
    ms__sweep_results_clear(sw);
    g_free(sw->experiment);
    g_free(sw->title);
    g_ptr_array_unref(sw->sources);
    g_ptr_array_unref(sw->axes);
    g_array_unref(sw->dims);
    g_array_unref(sw->seeds);
    g_array_unref(sw->stats);
    g_free(sw->store);
    g_free(sw->version);
    g_free(sw);
}

void
ms_sweep_set_name(MsSweep *sw, const char *name)
{
    g_free(sw->experiment);
    sw->experiment = g_strdup(name ? name : "");
}

void
ms_sweep_set_title(MsSweep *sw, const char *title)
{
    g_free(sw->title);
    sw->title = g_strdup(title);
}

const char *
ms_sweep_name(const MsSweep *sw)
{
    return sw->experiment;
}

gboolean
ms_sweep_add_scenario_data(MsSweep *sw, const char *path, const char *label, const char *data,
                           gsize len, GError **error)
{
    g_return_val_if_fail(sw->axes->len == 0, FALSE);
    g_autoptr(MsScenario) sc = ms_scenario_load_memory(data, len, path, error);
    if (!sc)
        return FALSE;
    MsSweepSource *s = g_new0(MsSweepSource, 1);
    s->path = g_strdup(path);
    s->label = g_strdup(label && *label ? label : (sc->name && *sc->name ? sc->name : path));
    for (guint i = 0; i < sw->sources->len; i++)
        if (!strcmp(((MsSweepSource *) sw->sources->pdata[i])->label, s->label)) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "scenario %s: another scenario is already called '%s': give each a "
                        "label of its own",
                        path, s->label);
            source_free(s);
            return FALSE;
        }
    s->data = g_bytes_new(data, len);
    s->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, len);
    s->sc = g_steal_pointer(&sc);
    g_ptr_array_add(sw->sources, s);
    g_array_index(sw->dims, guint, 0) = sw->sources->len;
    if (!sw->seeds_set && sw->sources->len == 1) {
        g_array_set_size(sw->seeds, 0);
        g_array_append_val(sw->seeds, s->sc->seed);
    }
    sw->checked = FALSE;
    return TRUE;
}

gboolean
ms_sweep_add_scenario_file(MsSweep *sw, const char *path, const char *label, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO, "%s", local->message);
        return FALSE;
    }
    if (len > MS_SCENARIO_MAX_FILE_SIZE) {
        g_set_error(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO,
                    "%s: too large: at most %u bytes are accepted", path,
                    MS_SCENARIO_MAX_FILE_SIZE);
        return FALSE;
    }
    return ms_sweep_add_scenario_data(sw, path, label, data, len, error);
}

guint
ms_sweep_n_scenarios(const MsSweep *sw)
{
    return sw->sources->len;
}

guint
ms_sweep_n_points(const MsSweep *sw)
{
    guint n = 1;
    for (guint i = 0; i < sw->dims->len; i++)
        n *= MAX(g_array_index(sw->dims, guint, i), 1u);
    return n;
}

guint
ms_sweep_n_seeds(const MsSweep *sw)
{
    return sw->seeds->len;
}

guint
ms__sweep_dim_index(const MsSweep *sw, guint point, guint dim)
{
    guint stride = 1;
    for (guint i = sw->dims->len; i-- > dim + 1;)
        stride *= MAX(g_array_index(sw->dims, guint, i), 1u);
    return (point / stride) % MAX(g_array_index(sw->dims, guint, dim), 1u);
}

const char *
ms__sweep_axis_text(const MsSweep *sw, guint point, guint k)
{
    const MsSweepAxis *a = g_ptr_array_index(sw->axes, k);
    return g_ptr_array_index(a->texts, ms__sweep_dim_index(sw, point, a->dim));
}

gboolean
ms__sweep_has_scenario_axis(const MsSweep *sw)
{
    return sw->sources->len > 1;
}

const MsSweepSource *
ms__sweep_source(const MsSweep *sw, guint point)
{
    return g_ptr_array_index(sw->sources, ms__sweep_dim_index(sw, point, 0));
}

/* --- seeds and statistics ------------------------------------------------ */

gboolean
ms_sweep_set_seeds(MsSweep *sw, const char *spec, GError **error)
{
    g_autoptr(GArray) seeds = g_array_new(FALSE, FALSE, sizeof(guint64));
    const char *dots = strstr(spec, "..");
    if (dots) {
        g_autofree char *a = g_strndup(spec, (gsize) (dots - spec));
        guint64 lo, hi;
        if (!ms_units_parse_count(a, &lo, NULL) || !ms_units_parse_count(dots + 2, &hi, NULL) ||
            lo > hi || hi - lo >= 100000 || lo == 0) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "seeds '%s': expected A..B with 1 <= A <= B and at most "
                        "100000 seeds",
                        spec);
            return FALSE;
        }
        for (guint64 s = lo; s <= hi; s++)
            g_array_append_val(seeds, s);
    } else {
        g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
        for (char **p = parts; *p; p++) {
            guint64 s;
            if (!ms_units_parse_count(g_strstrip(*p), &s, NULL) || s == 0) {
                g_set_error(error, MS_SWEEP_ERROR, 0,
                            "seeds '%s': '%s' is not a seed: expected a whole number "
                            ">= 1 (or A..B)",
                            spec, *p);
                return FALSE;
            }
            for (guint i = 0; i < seeds->len; i++)
                if (g_array_index(seeds, guint64, i) == s) {
                    g_set_error(error, MS_SWEEP_ERROR, 0, "seeds '%s': %s is given twice", spec,
                                *p);
                    return FALSE;
                }
            g_array_append_val(seeds, s);
        }
    }
    if (seeds->len == 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "seeds: none given");
        return FALSE;
    }
    if (sw->seeds_set) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "seeds given twice");
        return FALSE;
    }
    sw->seeds_set = TRUE;
    g_array_unref(sw->seeds);
    sw->seeds = g_steal_pointer(&seeds);
    return TRUE;
}

static void
append_stat_names(GString *s)
{
    for (guint i = 0; i < MS__SWEEP_N_STATS; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", ms__sweep_stat_names[i]);
}

gint
ms_sweep_find_stat(const char *name)
{
    for (guint i = 0; i < MS__SWEEP_N_STATS; i++)
        if (!strcmp(name, ms__sweep_stat_names[i]))
            return (gint) i;
    return -1;
}

gboolean
ms_sweep_set_statistics(MsSweep *sw, const char *const *names, GError **error)
{
    g_autoptr(GArray) stats = g_array_new(FALSE, FALSE, sizeof(guint));
    for (const char *const *n = names; n && *n; n++) {
        gint i = ms_sweep_find_stat(*n);
        if (i < 0) {
            g_autoptr(GString) known = g_string_new(NULL);
            append_stat_names(known);
            g_set_error(error, MS_SWEEP_ERROR, 0, "statistic '%s' is unknown: expected one of %s",
                        *n, known->str);
            return FALSE;
        }
        for (guint k = 0; k < stats->len; k++)
            if (g_array_index(stats, guint, k) == (guint) i) {
                g_set_error(error, MS_SWEEP_ERROR, 0, "statistic '%s' is named twice", *n);
                return FALSE;
            }
        guint u = (guint) i;
        g_array_append_val(stats, u);
    }
    if (stats->len == 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "statistics: none named");
        return FALSE;
    }
    g_array_unref(sw->stats);
    sw->stats = g_steal_pointer(&stats);
    return TRUE;
}

guint
ms_sweep_n_stats(const MsSweep *sw)
{
    return sw->stats->len;
}

const char *
ms_sweep_stat_name(const MsSweep *sw, guint i)
{
    return ms__sweep_stat_names[g_array_index(sw->stats, guint, i)];
}

void
ms_sweep_set_max_points(MsSweep *sw, guint max_points, gboolean allow_larger)
{
    sw->max_points = max_points;
    sw->allow_large = allow_larger;
}

void
ms_sweep_set_keep_records(MsSweep *sw, gboolean keep)
{
    sw->keep_records = keep;
}

/* --- values and ranges --------------------------------------------------- */

/* Splits "12.5ms" into 12.5 and "ms"; FALSE when it does not start with a
 * finite number. */
static gboolean
split_number(const char *text, double *v, char **unit)
{
    char *end = NULL;
    if (!g_ascii_isdigit(text[0]) && text[0] != '-' && text[0] != '+' && text[0] != '.')
        return FALSE;
    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))
        return FALSE;
    *v = g_ascii_strtod(text, &end);
    if (end == text || !isfinite(*v))
        return FALSE;
    *unit = g_strstrip(g_strdup(end));
    return TRUE;
}

static char *
format_value(double v, gboolean whole, const char *unit)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (whole)
        g_snprintf(buf, sizeof buf, "%.0f", v);
    else
        g_ascii_formatd(buf, sizeof buf, "%.6g", v);
    return g_strconcat(buf, unit, NULL);
}

/* Expands one item "A..B/N" or "A..B*N" into `out`. */
static gboolean
expand_range(const char *name, const char *item, const char *dots, GPtrArray *out, GError **error)
{
    const char *op = strpbrk(dots + 2, "/*");
    if (!op) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis %s: range '%s': expected A..B/N (N evenly spaced values) or A..B*N "
                    "(N values spaced on a log scale)",
                    name, item);
        return FALSE;
    }
    gboolean log_scale = *op == '*';
    g_autofree char *a = g_strstrip(g_strndup(item, (gsize) (dots - item)));
    g_autofree char *b = g_strstrip(g_strndup(dots + 2, (gsize) (op - dots - 2)));
    g_autofree char *ua = NULL, *ub = NULL;
    double lo, hi;
    if (!split_number(a, &lo, &ua) || !split_number(b, &hi, &ub)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis %s: range '%s': both ends must be numbers, with or without a unit "
                    "(10ms..100ms/10)",
                    name, item);
        return FALSE;
    }
    if (strcmp(ua, ub) != 0 && !(lo == 0 && !*ua)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis %s: range '%s': the ends have different units ('%s' and '%s'): write "
                    "both in one unit",
                    name, item, ua, ub);
        return FALSE;
    }
    guint64 n;
    g_autofree char *ntext = g_strstrip(g_strdup(op + 1));
    if (!*ntext || !ms_units_parse_count(ntext, &n, NULL)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: range '%s': '%s' is not a number of values",
                    name, item, ntext);
        return FALSE;
    }
    if (n < 2 || n > MS_SWEEP_MAX_RANGE) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis %s: range '%s' asks for %" G_GUINT64_FORMAT
                    ": a range gives 2 to %u values",
                    name, item, n, MS_SWEEP_MAX_RANGE);
        return FALSE;
    }
    if (lo == hi) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: range '%s' is empty: its ends are equal",
                    name, item);
        return FALSE;
    }
    if (log_scale && (lo <= 0 || hi <= 0)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis %s: range '%s': a log-spaced range needs both ends above 0", name, item);
        return FALSE;
    }
    gboolean whole = lo == floor(lo) && hi == floor(hi);
    for (guint64 i = 0; i < n; i++) {
        double f = (double) i / (double) (n - 1);
        double v = log_scale ? exp(log(lo) + f * (log(hi) - log(lo))) : lo + f * (hi - lo);
        if (i == n - 1)
            v = hi; /* exactly the end written, not a rounding of it */
        if (whole)
            v = round(v);
        g_autofree char *text = format_value(v, whole, ub);
        if (out->len && !strcmp(g_ptr_array_index(out, out->len - 1), text)) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "axis %s: range '%s' gives '%s' twice (whole-numbered ends give whole "
                        "numbers): ask for fewer values",
                        name, item, text);
            return FALSE;
        }
        g_ptr_array_add(out, g_steal_pointer(&text));
    }
    return TRUE;
}

gboolean
ms_sweep_expand_values(const char *name, const char *spec, GPtrArray *out, GError **error)
{
    g_auto(GStrv) items = g_strsplit(spec, ",", -1);
    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        if (!*item) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: an empty value in '%s'", name, spec);
            return FALSE;
        }
        const char *dots = strstr(item, "..");
        if (dots) {
            if (!expand_range(name, item, dots, out, error))
                return FALSE;
        } else {
            /* "1e4" is written out (10000): counts in scenarios take digits */
            double v;
            g_autofree char *unit = NULL;
            if ((strchr(item, 'e') || strchr(item, 'E')) && split_number(item, &v, &unit) &&
                !*unit && v == floor(v) && fabs(v) < 1e15)
                g_ptr_array_add(out, format_value(v, TRUE, ""));
            else
                g_ptr_array_add(out, g_strdup(item));
        }
        if (out->len > MS_SWEEP_MAX_RANGE) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: more than %u values", name,
                        MS_SWEEP_MAX_RANGE);
            return FALSE;
        }
    }
    if (out->len == 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: no values", name);
        return FALSE;
    }
    return TRUE;
}

/* --- axes ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    MsPolicyField field;
    int type; /* 0 time, 1 size, 2 count, 3 boolean */
} PolicyKey;

static const PolicyKey policy_keys[] = {
    { "retry-first", MS_POLICY_RETRY_FIRST, 0 }, { "retry-max", MS_POLICY_RETRY_MAX, 0 },
    { "give-up", MS_POLICY_GIVE_UP, 0 },         { "command-delay", MS_POLICY_COMMAND_DELAY, 0 },
    { "max-size", MS_POLICY_MAX_SIZE, 1 },       { "max-recipients", MS_POLICY_MAX_RECIPIENTS, 2 },
    { "greylist", MS_POLICY_GREYLIST, 3 },       { "greylist-delay", MS_POLICY_GREYLIST_DELAY, 0 },
};

static gboolean
parse_bool(const char *v, gint64 *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true"))
        *out = 1;
    else if (!strcmp(v, "no") || !strcmp(v, "false"))
        *out = 0;
    else
        return FALSE;
    return TRUE;
}

static gboolean
parse_value(const MsSweepAxis *a, int type, const char *v, gint64 *out, GError **error)
{
    g_autoptr(GError) local = NULL;
    gboolean ok;
    MsTime t;
    guint64 u;
    switch (type) {
    case 0:
        ok = ms_units_parse_time(v, &t, &local) && t > 0;
        *out = t;
        break;
    case 1:
        ok = ms_units_parse_size(v, &u, &local) && u > 0 && u <= G_MAXINT64;
        *out = (gint64) u;
        break;
    case 2:
        ok = ms_units_parse_count(v, &u, &local) && u > 0 && u <= G_MAXINT32;
        *out = (gint64) u;
        break;
    case 3:
        ok = parse_bool(v, out);
        break;
    default: /* fidelity */
        ok = !strcmp(v, "packet") || !strcmp(v, "flow");
        *out = !strcmp(v, "flow") ? MS_FIDELITY_FLOW : MS_FIDELITY_PACKET;
        break;
    }
    if (!ok) {
        static const char *const want[] = { "a time > 0 (e.g. 5min)", "a size > 0 (e.g. 10MB)",
                                            "a whole number >= 1", "yes or no", "packet or flow" };
        g_set_error(error, MS_SWEEP_ERROR, 0, "--set %s: '%s' is not valid: expected %s%s%s",
                    a->key, v, want[MIN(type, 4)], local ? ": " : "", local ? local->message : "");
    }
    return ok;
}

static gboolean
looks_like_xpath(const char *key)
{
    return key[0] == '/' || key[0] == '(' || strchr(key, '/') || strchr(key, '@') ||
           strchr(key, '[');
}

/* The column name of an XPath axis: the attribute it ends in, else the
 * XPath itself. */
static char *
derive_name(const char *key)
{
    const char *at = g_strrstr(key, "/@");
    if (at && at[2]) {
        gboolean plain = TRUE;
        for (const char *p = at + 2; *p; p++)
            plain &= g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.';
        if (plain)
            return g_strdup(at + 2);
    }
    return g_strdup(key);
}

/* A new axis for `key` (short key or XPath), its values expanded and, for
 * short keys, parsed. NULL with `error`. */
static MsSweepAxis *
axis_new(MsSweep *sw, const char *name, const char *key, const char *spec, GError **error)
{
    MsSweepAxis *a = g_new0(MsSweepAxis, 1);
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(axis_free);
    g_ptr_array_add(owned, a);
    a->key = g_strdup(key);
    a->host = -1;
    a->texts = g_ptr_array_new_with_free_func(g_free);
    a->values = g_array_new(FALSE, FALSE, sizeof(gint64));
    int type = -1;
    if (!strcmp(key, "until")) {
        a->kind = MS__SWEEP_UNTIL;
        type = 0;
    } else if (!strcmp(key, "fidelity")) {
        a->kind = MS__SWEEP_FIDELITY;
        type = 4;
    } else if (!strcmp(key, "keep-bodies")) {
        a->kind = MS__SWEEP_KEEP;
        type = 3;
    } else if (g_str_has_prefix(key, "policy.")) {
        a->kind = MS__SWEEP_POLICY;
        g_autofree char *field = g_strdup(key + 7);
        char *at = strchr(field, '@');
        if (at) {
            *at = '\0';
            const MsScenario *sc = ((MsSweepSource *) sw->sources->pdata[0])->sc;
            for (guint i = 0; i < sw->sources->len; i++) {
                sc = ((MsSweepSource *) sw->sources->pdata[i])->sc;
                gint host = ms_scenario_find_host(sc, at + 1);
                if (host < 0 || (i > 0 && host != a->host)) {
                    g_set_error(error, MS_SWEEP_ERROR, 0, "--set %s: no host '%s' in %s%s", key,
                                at + 1, sc->path,
                                host < 0 ? "" : " at the same place as in the first scenario");
                    return NULL;
                }
                a->host = host;
            }
        }
        const PolicyKey *pk = NULL;
        for (guint i = 0; i < G_N_ELEMENTS(policy_keys); i++)
            if (!strcmp(field, policy_keys[i].name))
                pk = &policy_keys[i];
        if (!pk) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s: unknown policy field '%s': expected retry-first, "
                        "retry-max, give-up, command-delay, max-size, max-recipients, "
                        "greylist or greylist-delay",
                        key, field);
            return NULL;
        }
        a->field = pk->field;
        type = pk->type;
    } else if (looks_like_xpath(key)) {
        a->kind = MS__SWEEP_XPATH;
        g_autoptr(GError) e = NULL;
        if (!ms_scenario_xpath_check(key, &e)) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "--set %s: %s", key, e->message);
            return NULL;
        }
    } else {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "--set %s: unknown key: expected an XPath to attributes of the scenario "
                    "(//link[@a='r1']/@loss), or one of the short keys seed, until, fidelity, "
                    "keep-bodies, routing, policy.FIELD[@HOST]",
                    key);
        return NULL;
    }
    a->name = name && *name ? g_strdup(name)
                            : (a->kind == MS__SWEEP_XPATH ? derive_name(key) : g_strdup(key));
    if (!ms_sweep_expand_values(a->name, spec, a->texts, error))
        return NULL;
    for (guint i = 0; type >= 0 && i < a->texts->len; i++) {
        gint64 v;
        if (!parse_value(a, type, g_ptr_array_index(a->texts, i), &v, error))
            return NULL;
        g_array_append_val(a->values, v);
    }
    for (guint i = 0; a->kind == MS__SWEEP_POLICY && i < sw->axes->len; i++) {
        const MsSweepAxis *b = g_ptr_array_index(sw->axes, i);
        if (b->kind == MS__SWEEP_POLICY && b->host != a->host) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s: every policy key of a sweep must name the same "
                        "servers (all, or the same @HOST) as %s",
                        key, b->key);
            return NULL;
        }
    }
    for (guint i = 0; i < sw->axes->len; i++) {
        const MsSweepAxis *b = g_ptr_array_index(sw->axes, i);
        if (!strcmp(b->key, key)) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s given twice: give every value in one --set", key);
            return NULL;
        }
        if (!strcmp(b->name, a->name)) {
            /* two XPaths ending in the same attribute: name both in full */
            if (name && *name) {
                g_set_error(error, MS_SWEEP_ERROR, 0, "axis name '%s' is used twice", name);
                return NULL;
            }
            g_free(a->name);
            a->name = g_strdup(key);
        }
    }
    if (!strcmp(a->name, "scenario") || !strcmp(a->name, "seed") || !strcmp(a->name, "statistic") ||
        !strcmp(a->name, "point") || !strcmp(a->name, "experiment") || !strcmp(a->name, "value")) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "axis name '%s' is taken by a column of the results: choose another", a->name);
        return NULL;
    }
    return g_ptr_array_steal_index(owned, 0);
}

/* Splits "KEY=VALUES" or "NAME=XPATH=VALUES" at '=' outside brackets and
 * quotes. */
static gboolean
split_assignment(const char *text, char **name, char **key, char **values)
{
    GPtrArray *cuts = g_ptr_array_new();
    int depth = 0;
    char quote = 0;
    for (const char *p = text; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '[' || *p == '(') {
            depth++;
        } else if (*p == ']' || *p == ')') {
            depth--;
        } else if (*p == '=' && depth == 0 &&
                   (p == text || (p[-1] != '!' && p[-1] != '<' && p[-1] != '>'))) {
            g_ptr_array_add(cuts, (gpointer) p);
        }
    }
    if (cuts->len == 0 && strrchr(text, '=')) /* unbalanced: the XPath check will say why */
        g_ptr_array_add(cuts, strrchr(text, '='));
    gboolean ok = cuts->len == 1 || cuts->len == 2;
    if (ok) {
        const char *last = g_ptr_array_index(cuts, cuts->len - 1);
        const char *first = g_ptr_array_index(cuts, 0);
        *values = g_strdup(last + 1);
        if (cuts->len == 2) {
            *name = g_strndup(text, (gsize) (first - text));
            *key = g_strndup(first + 1, (gsize) (last - first - 1));
        } else {
            *name = NULL;
            *key = g_strndup(text, (gsize) (first - text));
        }
        g_strstrip(*key);
        ok = **key && **values;
        if (!ok) {
            g_clear_pointer(name, g_free);
            g_clear_pointer(key, g_free);
            g_clear_pointer(values, g_free);
        }
    }
    g_ptr_array_unref(cuts);
    return ok;
}

static gboolean
add_dimension(MsSweep *sw, GPtrArray *axes, GError **error)
{
    guint n = ((MsSweepAxis *) axes->pdata[0])->texts->len;
    guint points = ms_sweep_n_points(sw);
    if ((guint64) points * n > MS_SWEEP_MAX_POINTS) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s: the grid would have more than %u points",
                    ((MsSweepAxis *) axes->pdata[0])->name, MS_SWEEP_MAX_POINTS);
        return FALSE;
    }
    guint dim = sw->dims->len;
    g_array_append_val(sw->dims, n);
    while (axes->len) {
        MsSweepAxis *a = g_ptr_array_steal_index(axes, 0);
        a->dim = dim;
        g_ptr_array_add(sw->axes, a);
    }
    sw->checked = FALSE;
    return TRUE;
}

gboolean
ms_sweep_add_axis(MsSweep *sw, const char *name, const char *key, const char *values,
                  GError **error)
{
    g_return_val_if_fail(sw->sources->len > 0, FALSE);
    if (!strcmp(key, "seed"))
        return ms_sweep_set_seeds(sw, values, error);
    /* short keys for attributes of the scenario element (issue 21's
     * comparison of routings: --set routing=latency,hops,policy) */
    if (!strcmp(key, "routing")) {
        name = name && *name ? name : "routing";
        key = "/scenario/@routing";
    }
    g_autoptr(GPtrArray) axes = g_ptr_array_new_with_free_func(axis_free);
    MsSweepAxis *a = axis_new(sw, name, key, values, error);
    if (!a)
        return FALSE;
    g_ptr_array_add(axes, a);
    return add_dimension(sw, axes, error);
}

gboolean
ms_sweep_set(MsSweep *sw, const char *assignment, GError **error)
{
    g_autofree char *name = NULL, *key = NULL, *values = NULL;
    if (!split_assignment(assignment, &name, &key, &values)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "--set '%s': expected KEY=VALUE[,VALUE...] or NAME=XPATH=VALUES", assignment);
        return FALSE;
    }
    return ms_sweep_add_axis(sw, name, key, values, error);
}

gboolean
ms_sweep_add_zipped(MsSweep *sw, guint n, const char *const *names, const char *const *keys,
                    const char *const *values, GError **error)
{
    g_return_val_if_fail(sw->sources->len > 0 && n >= 1, FALSE);
    g_autoptr(GPtrArray) axes = g_ptr_array_new_with_free_func(axis_free);
    for (guint i = 0; i < n; i++) {
        if (!strcmp(keys[i], "seed")) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "zipped axes: seeds cannot be zipped with settings: every point runs "
                        "every seed");
            return FALSE;
        }
        MsSweepAxis *a = axis_new(sw, names ? names[i] : NULL, keys[i], values[i], error);
        if (!a)
            return FALSE;
        for (guint k = 0; k < axes->len; k++) {
            MsSweepAxis *b = axes->pdata[k];
            if (!strcmp(a->key, b->key) || !strcmp(a->name, b->name)) {
                g_set_error(error, MS_SWEEP_ERROR, 0, "zipped axes: %s is given twice", a->name);
                axis_free(a);
                return FALSE;
            }
            if (b->texts->len != a->texts->len) {
                g_set_error(error, MS_SWEEP_ERROR, 0,
                            "zipped axes vary together, so each needs as many values: %s has "
                            "%u, %s has %u",
                            b->name, b->texts->len, a->name, a->texts->len);
                axis_free(a);
                return FALSE;
            }
        }
        g_ptr_array_add(axes, a);
    }
    return add_dimension(sw, axes, error);
}

gboolean
ms_sweep_set_zipped(MsSweep *sw, const char *assignments, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(assignments, ";", -1);
    guint n = g_strv_length(parts);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n; i++) {
        char *name = NULL, *key = NULL, *v = NULL;
        if (!split_assignment(g_strstrip(parts[i]), &name, &key, &v)) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--zip '%s': expected KEY=VALUES;KEY=VALUES... (axes that vary "
                        "together)",
                        assignments);
            return FALSE;
        }
        g_ptr_array_add(names, name);
        g_ptr_array_add(keys, key);
        g_ptr_array_add(values, v);
    }
    if (n < 2) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "--zip '%s': zipping needs at least two axes, separated by ';'", assignments);
        return FALSE;
    }
    return ms_sweep_add_zipped(sw, n, (const char *const *) names->pdata,
                               (const char *const *) keys->pdata,
                               (const char *const *) values->pdata, error);
}

guint
ms_sweep_n_axes(const MsSweep *sw)
{
    return sw->axes->len;
}

const char *
ms_sweep_axis_name(const MsSweep *sw, guint k)
{
    return ((const MsSweepAxis *) g_ptr_array_index(sw->axes, k))->name;
}

/* --- checks before running ------------------------------------------------- */

gboolean
ms_sweep_check(MsSweep *sw, GError **error)
{
    g_return_val_if_fail(sw->sources->len > 0, FALSE);
    guint points = ms_sweep_n_points(sw);
    if (points > sw->max_points && !sw->allow_large) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "the grid has %u points (%u runs), more than the limit of %u: confirm with "
                    "--yes, or raise the limit (--max-points, or max-points= in an experiment)",
                    points, points * sw->seeds->len, sw->max_points);
        return FALSE;
    }
    for (guint s = 0; s < sw->sources->len; s++) {
        const MsSweepSource *src = sw->sources->pdata[s];
        gsize len;
        const char *data = g_bytes_get_data(src->data, &len);
        for (guint k = 0; k < sw->axes->len; k++) {
            const MsSweepAxis *a = sw->axes->pdata[k];
            if (a->kind != MS__SWEEP_XPATH)
                continue;
            for (guint v = 0; v < a->texts->len; v++) {
                MsScenarioOverride o = { a->key, g_ptr_array_index(a->texts, v) };
                g_autoptr(GError) e = NULL;
                g_autoptr(MsScenario) sc =
                    ms_scenario_load_memory_with(data, len, src->path, &o, 1, &e);
                if (!sc) {
                    g_set_error(error, MS_SWEEP_ERROR, 0, "axis %s = %s (%s):\n%s", a->name,
                                o.value, a->key, e->message);
                    return FALSE;
                }
            }
        }
    }
    sw->checked = TRUE;
    return TRUE;
}
