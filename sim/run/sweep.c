/* Parameter sweeps (see include/mailsim/sweep.h): the grid, the jobs on a
 * GThreadPool, and the summaries.
 *
 * Design. The grid is a list of axes (key, values); a point is one value
 * per axis, numbered with the first axis varying slowest. A job is (point,
 * seed); job j = point * seeds + seed index, and it writes only results[j].
 * Each job turns its point into MsWorldOptions and an end time, builds a
 * world from the shared scenario (read-only: ms_world_new_full never writes
 * it), runs it and reads its figures. Nothing else is shared: every engine,
 * random stream, network and trace is the job's own, so the numbers of a
 * job are the same on any thread, and summaries, computed afterwards in job
 * order, are the same whatever the number of threads.
 *
 * Statistics per job: the accounting (messages, delivered, bounced,
 * queued, deferrals, attempts), delivery latency (mean, p50, p95, p99,
 * max), SMTP sessions, TCP retransmissions, packets dropped, events.
 * Summary per point and statistic: n, mean, the half-width of the 95 %
 * confidence interval t(0.975, n-1) * sd / sqrt(n) (0 when n = 1), sd,
 * min, max.
 *
 * Costs: one world in memory per running thread. */
#include "mailsim/sweep.h"
#include "mailsim/json.h"
#include "mailsim/stats.h"
#include "mailsim/units.h"
#include "mailsim/world.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK(ms - sweep - error - quark, ms_sweep_error)

typedef enum { K_UNTIL, K_FIDELITY, K_KEEP, K_POLICY } KeyKind;

typedef struct {
    char *key; /* as given, for labels */
    KeyKind kind;
    MsPolicyField field; /* K_POLICY */
    gint host;           /* K_POLICY: scenario host index, -1 = every server */
    GPtrArray *texts;    /* char*, values as given */
    GArray *values;      /* gint64: a time, size, count, enum or boolean */
} Axis;

static const char *const stat_names[] = {
    "messages",        "dsns",          "delivered",     "bounced",        "queued",
    "refused",         "deferrals",     "attempts",      "latency_mean_s", "latency_p50_s",
    "latency_p95_s",   "latency_p99_s", "latency_max_s", "smtp_sessions",  "tcp_retransmits",
    "packets_dropped", "events",
};
#define N_STATS G_N_ELEMENTS(stat_names)

typedef struct {
    double v[N_STATS];
    gboolean done;
    char *error;
} Result;

struct _MsSweep {
    const MsScenario *sc;
    GPtrArray *axes; /* Axis* */
    GArray *seeds;   /* guint64 */
    gboolean seeds_set;
    Result *results; /* points * seeds, after a run */
    guint n_results;
};

static void
axis_free(gpointer p)
{
    Axis *a = p;
    g_free(a->key);
    g_ptr_array_unref(a->texts);
    g_array_unref(a->values);
    g_free(a);
}

MsSweep *
ms_sweep_new(const MsScenario *sc)
{
    MsSweep *sw = g_new0(MsSweep, 1);
    sw->sc = sc;
    sw->axes = g_ptr_array_new_with_free_func(axis_free);
    sw->seeds = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_array_append_val(sw->seeds, sc->seed);
    return sw;
}

static void
results_free(MsSweep *sw)
{
    for (guint i = 0; i < sw->n_results; i++)
        g_free(sw->results[i].error);
    g_clear_pointer(&sw->results, g_free);
    sw->n_results = 0;
}

void
ms_sweep_free(MsSweep *sw)
{
    if (!sw)
        return;
    results_free(sw);
    g_ptr_array_unref(sw->axes);
    g_array_unref(sw->seeds);
    g_free(sw);
}

guint
ms_sweep_n_points(const MsSweep *sw)
{
    guint n = 1;
    for (guint i = 0; i < sw->axes->len; i++)
        n *= ((Axis *) g_ptr_array_index(sw->axes, i))->values->len;
    return n;
}

guint
ms_sweep_n_seeds(const MsSweep *sw)
{
    return sw->seeds->len;
}

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

typedef struct {
    const char *name;
    MsPolicyField field;
    int type; /* 0 time, 1 size, 2 count, 3 boolean */
} PolicyKey;

static const PolicyKey policy_keys[] = {
    { "retry-first", MS_POLICY_RETRY_FIRST, 0 }, { "retry-max", MS_POLICY_RETRY_MAX, 0 },
    { "give-up", MS_POLICY_GIVE_UP, 0 },         { "command-delay", MS_POLICY_COMMAND_DELAY, 0 },
    { "max-size", MS_POLICY_MAX_SIZE, 1 },       { "max-recipients", MS_POLICY_MAX_RECIPIENTS, 2 },
    { "greylist", MS_POLICY_GREYLIST, 3 },
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
parse_value(const Axis *a, int type, const char *v, gint64 *out, GError **error)
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

gboolean
ms_sweep_set(MsSweep *sw, const char *assignment, GError **error)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment || !eq[1]) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "--set '%s': expected KEY=VALUE[,VALUE...]",
                    assignment);
        return FALSE;
    }
    g_autofree char *key = g_strndup(assignment, (gsize) (eq - assignment));
    if (!strcmp(key, "seed"))
        return ms_sweep_set_seeds(sw, eq + 1, error);
    Axis *a = g_new0(Axis, 1);
    a->key = g_strdup(key);
    a->host = -1;
    a->texts = g_ptr_array_new_with_free_func(g_free);
    a->values = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(axis_free);
    g_ptr_array_add(owned, a);
    int type;
    if (!strcmp(key, "until")) {
        a->kind = K_UNTIL;
        type = 0;
    } else if (!strcmp(key, "fidelity")) {
        a->kind = K_FIDELITY;
        type = 4;
    } else if (!strcmp(key, "keep-bodies")) {
        a->kind = K_KEEP;
        type = 3;
    } else if (g_str_has_prefix(key, "policy.")) {
        a->kind = K_POLICY;
        g_autofree char *field = g_strdup(key + 7);
        char *at = strchr(field, '@');
        if (at) {
            *at = '\0';
            a->host = ms_scenario_find_host(sw->sc, at + 1);
            if (a->host < 0) {
                g_set_error(error, MS_SWEEP_ERROR, 0, "--set %s: no host '%s' in %s", key, at + 1,
                            sw->sc->path);
                return FALSE;
            }
        }
        const PolicyKey *pk = NULL;
        for (guint i = 0; i < G_N_ELEMENTS(policy_keys); i++)
            if (!strcmp(field, policy_keys[i].name))
                pk = &policy_keys[i];
        if (!pk) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s: unknown policy field '%s': expected retry-first, "
                        "retry-max, give-up, command-delay, max-size, max-recipients "
                        "or greylist",
                        key, field);
            return FALSE;
        }
        a->field = pk->field;
        type = pk->type;
    } else {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "--set %s: unknown key: expected seed, until, fidelity, keep-bodies "
                    "or policy.FIELD[@HOST]",
                    key);
        return FALSE;
    }
    for (guint i = 0; a->kind == K_POLICY && i < sw->axes->len; i++) {
        const Axis *b = g_ptr_array_index(sw->axes, i);
        if (b->kind == K_POLICY && b->host != a->host) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s: every policy key of a sweep must name the same "
                        "servers (all, or the same @HOST) as %s",
                        key, b->key);
            return FALSE;
        }
    }
    for (guint i = 0; i < sw->axes->len; i++)
        if (!strcmp(((Axis *) g_ptr_array_index(sw->axes, i))->key, key)) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "--set %s given twice: give every value in one --set", key);
            return FALSE;
        }
    g_auto(GStrv) parts = g_strsplit(eq + 1, ",", -1);
    for (char **p = parts; *p; p++) {
        gint64 v;
        if (!parse_value(a, type, g_strstrip(*p), &v, error))
            return FALSE;
        g_array_append_val(a->values, v);
        g_ptr_array_add(a->texts, g_strdup(*p));
    }
    if (ms_sweep_n_points(sw) * a->values->len > 100000) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "--set %s: the grid would have more than 100000 points", key);
        return FALSE;
    }
    g_ptr_array_add(sw->axes, g_ptr_array_steal_index(owned, 0));
    return TRUE;
}

/* The value index of axis `k` at grid point `point`. */
static guint
value_at(const MsSweep *sw, guint point, guint k)
{
    guint stride = 1;
    for (guint i = sw->axes->len; i-- > k + 1;)
        stride *= ((Axis *) g_ptr_array_index(sw->axes, i))->values->len;
    return (point / stride) % ((Axis *) g_ptr_array_index(sw->axes, k))->values->len;
}

/* --- jobs ------------------------------------------------------------- */

typedef struct {
    MsSweep *sw;
    guint index;
} Job;

static void
run_job(gpointer data, gpointer user_data)
{
    Job *job = data;
    (void) user_data;
    MsSweep *sw = job->sw;
    guint point = job->index / sw->seeds->len;
    Result *r = &sw->results[job->index];
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.seed = g_array_index(sw->seeds, guint64, job->index % sw->seeds->len);
    MsScenarioPolicy policy = { 0 };
    MsTime until = sw->sc->until;
    for (guint k = 0; k < sw->axes->len; k++) {
        const Axis *a = g_ptr_array_index(sw->axes, k);
        gint64 v = g_array_index(a->values, gint64, value_at(sw, point, k));
        switch (a->kind) {
        case K_UNTIL:
            until = v;
            break;
        case K_FIDELITY:
            o.fidelity = (gint) v;
            break;
        case K_KEEP:
            o.keep_bodies = (gint) v;
            break;
        case K_POLICY:
            policy.set |= a->field;
            o.policy_host = a->host;
            switch (a->field) {
            case MS_POLICY_RETRY_FIRST:
                policy.retry_first = v;
                break;
            case MS_POLICY_RETRY_MAX:
                policy.retry_max = v;
                break;
            case MS_POLICY_GIVE_UP:
                policy.give_up = v;
                break;
            case MS_POLICY_COMMAND_DELAY:
                policy.command_delay = v;
                break;
            case MS_POLICY_MAX_SIZE:
                policy.max_size = (guint64) v;
                break;
            case MS_POLICY_MAX_RECIPIENTS:
                policy.max_recipients = (guint32) v;
                break;
            case MS_POLICY_GREYLIST:
                policy.greylist = v != 0;
                break;
            }
            break;
        }
    }
    if (policy.set)
        o.policy = &policy;
    g_autoptr(GError) error = NULL;
    g_autoptr(MsWorld) w = ms_world_new_full(sw->sc, &o, &error);
    if (!w) {
        r->error = g_strdup(error->message);
        g_free(job);
        return;
    }
    ms_world_run(w, until);
    MsMailStats ms;
    ms_mail_get_stats(ms_world_mail(w), &ms);
    MsLatencyStats lat;
    ms_stats_latency(w, &lat);
    MsTcpStats ts;
    ms_tcp_get_stats(ms_world_tcp(w), &ts);
    MsNetStats ns;
    ms_net_get_stats(ms_world_net(w), &ns);
    MsEngineStats es;
    ms_engine_get_stats(ms_world_engine(w), &es);
    double v[N_STATS] = { ms.messages,
                          ms.dsns,
                          ms.delivered,
                          ms.bounced,
                          ms.queued,
                          ms.refused,
                          ms.deferrals,
                          ms.attempts,
                          lat.mean,
                          lat.p50,
                          lat.p95,
                          lat.p99,
                          lat.max,
                          (double) ms.smtp_sessions,
                          (double) ts.retransmits,
                          (double) ns.dropped,
                          (double) es.processed };
    memcpy(r->v, v, sizeof v);
    r->done = TRUE;
    g_free(job);
}

gboolean
ms_sweep_run(MsSweep *sw, guint jobs, GError **error)
{
    g_return_val_if_fail(jobs >= 1, FALSE);
    results_free(sw);
    sw->n_results = ms_sweep_n_points(sw) * sw->seeds->len;
    sw->results = g_new0(Result, sw->n_results);
    if (jobs == 1) {
        for (guint i = 0; i < sw->n_results; i++) {
            Job *j = g_new(Job, 1);
            *j = (Job){ sw, i };
            run_job(j, NULL);
        }
    } else {
        GThreadPool *pool = g_thread_pool_new(run_job, NULL, (gint) jobs, TRUE, NULL);
        for (guint i = 0; i < sw->n_results; i++) {
            Job *j = g_new(Job, 1);
            *j = (Job){ sw, i };
            g_thread_pool_push(pool, j, NULL);
        }
        g_thread_pool_free(pool, FALSE, TRUE); /* runs every queued job, then joins */
    }
    for (guint i = 0; i < sw->n_results; i++)
        if (sw->results[i].error) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s", sw->results[i].error);
            return FALSE;
        }
    return TRUE;
}

/* --- summaries ------------------------------------------------------------ */

double
ms_sweep_t975(guint df)
{
    static const double table[] = { 0,      12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646,
                                    2.3060, 2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314,
                                    2.1199, 2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
                                    2.0639, 2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423 };
    if (df == 0)
        return NAN;
    if (df < G_N_ELEMENTS(table))
        return table[df];
    /* Cornish-Fisher expansion around the normal quantile. */
    double z = 1.959963985, n = df, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

typedef struct {
    guint n;
    double mean, ci, sd, min, max;
} Summary;

static Summary
summarise(const MsSweep *sw, guint point, guint stat)
{
    Summary s = { 0, 0, 0, 0, INFINITY, -INFINITY };
    guint base = point * sw->seeds->len;
    for (guint k = 0; k < sw->seeds->len; k++) {
        double v = sw->results[base + k].v[stat];
        s.n++;
        s.mean += v;
        s.min = MIN(s.min, v);
        s.max = MAX(s.max, v);
    }
    s.mean /= s.n;
    double ss = 0;
    for (guint k = 0; k < sw->seeds->len; k++) {
        double d = sw->results[base + k].v[stat] - s.mean;
        ss += d * d;
    }
    if (s.n > 1 && s.min < s.max) { /* equal values: exactly 0, not rounding noise */
        s.sd = sqrt(ss / (s.n - 1));
        s.ci = ms_sweep_t975(s.n - 1) * s.sd / sqrt(s.n);
    }
    return s;
}

static char *
point_label(const MsSweep *sw, guint point, const char *sep)
{
    GString *s = g_string_new(NULL);
    for (guint k = 0; k < sw->axes->len; k++) {
        const Axis *a = g_ptr_array_index(sw->axes, k);
        g_string_append_printf(s, "%s%s=%s", k ? sep : "", a->key,
                               (const char *) g_ptr_array_index(a->texts, value_at(sw, point, k)));
    }
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
        for (guint st = 0; st < N_STATS; st++) {
            Summary s = summarise(sw, p, st);
            char m[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
                lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
            g_ascii_formatd(m, sizeof m, "%.6g", s.mean);
            g_ascii_formatd(c, sizeof c, "%.3g", s.ci);
            g_ascii_formatd(lo, sizeof lo, "%.6g", s.min);
            g_ascii_formatd(hi, sizeof hi, "%.6g", s.max);
            g_string_append_printf(out, "  %-18s %14s %12s %14s %14s\n", stat_names[st], m, c, lo,
                                   hi);
        }
    }
}

void
ms_sweep_csv(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    for (guint k = 0; k < sw->axes->len; k++)
        g_string_append_printf(out, "%s,", ((Axis *) g_ptr_array_index(sw->axes, k))->key);
    g_string_append(out, "statistic,n,mean,ci95,sd,min,max\n");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++)
        for (guint st = 0; st < N_STATS; st++) {
            for (guint k = 0; k < sw->axes->len; k++) {
                const Axis *a = g_ptr_array_index(sw->axes, k);
                g_string_append_printf(
                    out, "%s,", (const char *) g_ptr_array_index(a->texts, value_at(sw, p, k)));
            }
            Summary s = summarise(sw, p, st);
            g_string_append_printf(out, "%s,%u,", stat_names[st], s.n);
            double vals[] = { s.mean, s.ci, s.sd, s.min, s.max };
            for (guint i = 0; i < G_N_ELEMENTS(vals); i++) {
                append_num(out, vals[i]);
                g_string_append_c(out, i + 1 < G_N_ELEMENTS(vals) ? ',' : '\n');
            }
        }
}

void
ms_sweep_json(const MsSweep *sw, GString *out)
{
    if (!sw->results)
        return;
    g_string_append(out, "{\"scenario\": {\"path\": ");
    ms_json_append_string(out, sw->sc->path, MS_JSON_PLAIN);
    g_string_append(out, ", \"name\": ");
    ms_json_append_string(out, sw->sc->name, MS_JSON_PLAIN);
    g_string_append(out, ", \"title\": ");
    ms_json_append_string(out, sw->sc->title, MS_JSON_PLAIN);
    g_string_append(out, "},\n \"axes\": [");
    for (guint k = 0; k < sw->axes->len; k++) {
        g_string_append(out, k ? ", " : "");
        ms_json_append_string(out, ((Axis *) g_ptr_array_index(sw->axes, k))->key, MS_JSON_PLAIN);
    }
    g_string_append(out, "],\n \"seeds\": [");
    for (guint k = 0; k < sw->seeds->len; k++)
        g_string_append_printf(out, "%s%" G_GUINT64_FORMAT, k ? ", " : "",
                               g_array_index(sw->seeds, guint64, k));
    g_string_append(out, "],\n \"points\": [");
    for (guint p = 0; p < ms_sweep_n_points(sw); p++) {
        g_string_append_printf(out, "%s\n  {\"settings\": {", p ? "," : "");
        for (guint k = 0; k < sw->axes->len; k++) {
            const Axis *a = g_ptr_array_index(sw->axes, k);
            /* keys and values are the user's own text: escape them */
            g_string_append(out, k ? ", " : "");
            ms_json_append_string(out, a->key, MS_JSON_PLAIN);
            g_string_append(out, ": ");
            ms_json_append_string(out, g_ptr_array_index(a->texts, value_at(sw, p, k)),
                                  MS_JSON_PLAIN);
        }
        g_string_append(out, "},\n   \"statistics\": {");
        for (guint st = 0; st < N_STATS; st++) {
            Summary s = summarise(sw, p, st);
            g_string_append_printf(out, "%s\n    \"%s\": {\"n\": %u, \"mean\": ", st ? "," : "",
                                   stat_names[st], s.n);
            append_num(out, s.mean);
            g_string_append(out, ", \"ci95\": ");
            append_num(out, s.ci);
            g_string_append(out, ", \"sd\": ");
            append_num(out, s.sd);
            g_string_append(out, ", \"min\": ");
            append_num(out, s.min);
            g_string_append(out, ", \"max\": ");
            append_num(out, s.max);
            /* every replication in seed order, to ten significant digits
             * (counts exactly up to 10^10, latencies to 1e-10 of their value) */
            g_string_append(out, ", \"replications\": [");
            for (guint k = 0; k < sw->seeds->len; k++) {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];
                g_ascii_formatd(buf, sizeof buf, "%.10g",
                                sw->results[p * sw->seeds->len + k].v[st]);
                g_string_append_printf(out, "%s%s", k ? ", " : "", buf);
            }
            g_string_append(out, "]}");
        }
        g_string_append(out, "}}");
    }
    g_string_append(out, "\n]}\n");
}
