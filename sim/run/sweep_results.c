/* A sweep's results as data (include/mailsim/sweep_results.h): read from
 * the JSON a sweep writes, with json-glib, and checked as it is read.
 *
 * Design. One reader serves both ways in: a sweep that has just run is
 * written to JSON and read back, so a picture drawn by `mailsim sweep
 * --plot` and one drawn later from the --json file by `mailsim render
 * --kind sweep` use the same numbers and give the same bytes. The reader
 * trusts nothing: every member it uses is checked for presence and type,
 * and an error names the file and the path inside it
 * ("points[2].statistics.delivered: ..."), never crashes.
 *
 * Storage: flat arrays, point-major; cell (point, stat) is
 * cells[point * n_stats + stat]; replications of all cells in one GArray,
 * each cell an offset and a count into it.
 * Ownership: everything belongs to the MsSweepResults. Costs: the parsed
 * JSON tree lives only while reading; then O(points x stats x seeds). */
#include "mailsim/sweep_results.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
    guint n;
    double mean, ci95, sd, min, max;
    guint offset, n_values;
} Cell;

struct _MsSweepResults {
    char *scenario;
    char *title;         /* the experiment's, or NULL */
    GArray *seeds;       /* guint64 */
    GPtrArray *axes;     /* char* */
    GPtrArray *settings; /* char*, points x axes */
    GPtrArray *stats;    /* char* */
    GArray *cells;       /* Cell, points x stats */
    GArray *values;      /* double */
    guint n_points;
};

void
ms_sweep_results_free(MsSweepResults *r)
{
    if (!r)
        return;
    g_free(r->scenario);
    g_free(r->title);
    g_array_unref(r->seeds);
    g_ptr_array_unref(r->axes);
    g_ptr_array_unref(r->settings);
    g_ptr_array_unref(r->stats);
    g_array_unref(r->cells);
    g_array_unref(r->values);
    g_free(r);
}

static gboolean
is_number(JsonNode *node)
{
    if (!node || !JSON_NODE_HOLDS_VALUE(node))
        return FALSE;
    GType t = json_node_get_value_type(node);
    return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* Member `name` of `o` as a number; `fallback` when absent and not
 * required. */
static gboolean
get_number(JsonObject *o, const char *name, gboolean required, double fallback, double *out,
           const char *file, const char *where, GError **error)
{
    JsonNode *node = json_object_get_member(o, name);
    if (!node && !required) {
        *out = fallback;
        return TRUE;
    }
    if (!is_number(node)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: \"%s\" is %s", file, where, name,
                    node ? "not a number" : "missing");
        return FALSE;
    }
    *out = json_node_get_double(node);
    return TRUE;
}

static gboolean
read_cell(MsSweepResults *r, JsonNode *node, Cell *cell, const char *file, const char *where,
          GError **error)
{
    if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: %s", file, where,
                    node ? "expected an object {\"n\": ..., \"mean\": ..., \"ci95\": ...}"
                         : "missing");
        return FALSE;
    }
    JsonObject *o = json_node_get_object(node);
    double n;
    if (!get_number(o, "n", TRUE, 0, &n, file, where, error) ||
        !get_number(o, "mean", TRUE, 0, &cell->mean, file, where, error) ||
        !get_number(o, "ci95", TRUE, 0, &cell->ci95, file, where, error) ||
        !get_number(o, "sd", FALSE, 0, &cell->sd, file, where, error) ||
        !get_number(o, "min", FALSE, cell->mean, &cell->min, file, where, error) ||
        !get_number(o, "max", FALSE, cell->mean, &cell->max, file, where, error))
        return FALSE;
    if (n < 1 || n > G_MAXUINT32 || n != (guint) n) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: \"n\" must be a whole number >= 1", file,
                    where);
        return FALSE;
    }
    cell->n = (guint) n;
    cell->offset = r->values->len;
    cell->n_values = 0;
    JsonNode *reps = json_object_get_member(o, "replications");
    if (!reps)
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY(reps) ||
        json_array_get_length(json_node_get_array(reps)) != cell->n) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: %s: \"replications\" must be an array of n = %u numbers", file, where,
                    cell->n);
        return FALSE;
    }
    JsonArray *a = json_node_get_array(reps);
    for (guint i = 0; i < cell->n; i++) {
        JsonNode *v = json_array_get_element(a, i);
        if (!is_number(v)) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: replications[%u] is not a number", file,
                        where, i);
            return FALSE;
        }
        double d = json_node_get_double(v);
        g_array_append_val(r->values, d);
    }
    cell->n_values = cell->n;
    return TRUE;
}

static gboolean
read_point(MsSweepResults *r, JsonNode *node, guint p, const char *file, GError **error)
{
    g_autofree char *where = g_strdup_printf("points[%u]", p);
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: %s: expected an object with settings and statistics", file, where);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(node);
    JsonNode *sn = json_object_get_member(o, "settings"),
             *tn = json_object_get_member(o, "statistics");
    if (!sn || !JSON_NODE_HOLDS_OBJECT(sn) || !tn || !JSON_NODE_HOLDS_OBJECT(tn)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: %s: \"settings\" and \"statistics\" must both be objects", file, where);
        return FALSE;
    }
    JsonObject *settings = json_node_get_object(sn), *stats = json_node_get_object(tn);
    if (p == 0 && r->axes->len == 0) {
        g_autoptr(GList) keys = json_object_get_members(settings);
        for (GList *l = keys; l; l = l->next)
            g_ptr_array_add(r->axes, g_strdup(l->data));
    }
    if (json_object_get_size(settings) != r->axes->len) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: expected %u settings, one per axis", file,
                    where, r->axes->len);
        return FALSE;
    }
    for (guint k = 0; k < r->axes->len; k++) {
        const char *key = g_ptr_array_index(r->axes, k);
        JsonNode *v = json_object_get_member(settings, key);
        if (!v || !JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "%s: %s: setting \"%s\" is missing or not a string", file, where, key);
            return FALSE;
        }
        g_ptr_array_add(r->settings, g_strdup(json_node_get_string(v)));
    }
    if (p == 0) {
        g_autoptr(GList) names = json_object_get_members(stats);
        for (GList *l = names; l; l = l->next)
            g_ptr_array_add(r->stats, g_strdup(l->data));
        if (r->stats->len == 0) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s: no statistics", file, where);
            return FALSE;
        }
    }
    if (json_object_get_size(stats) != r->stats->len) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: %s: expected the same %u statistics as points[0]", file, where,
                    r->stats->len);
        return FALSE;
    }
    for (guint s = 0; s < r->stats->len; s++) {
        const char *name = g_ptr_array_index(r->stats, s);
        g_autofree char *w = g_strdup_printf("%s.statistics.%s", where, name);
        Cell cell;
        if (!read_cell(r, json_object_get_member(stats, name), &cell, file, w, error))
            return FALSE;
        g_array_append_val(r->cells, cell);
    }
    return TRUE;
}

static gboolean
read_root(MsSweepResults *r, JsonNode *root, const char *file, GError **error)
{
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: not a sweep summary: expected a JSON object with \"seeds\" and "
                    "\"points\" (as `mailsim sweep --json` writes)",
                    file);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(root);
    JsonNode *sc = json_object_get_member(o, "scenario");
    if (sc && JSON_NODE_HOLDS_OBJECT(sc)) {
        static const char *const names[] = { "title", "name", "path" };
        for (guint i = 0; i < G_N_ELEMENTS(names) && !r->scenario; i++) {
            JsonNode *v = json_object_get_member(json_node_get_object(sc), names[i]);
            if (v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING &&
                *json_node_get_string(v))
                r->scenario = g_strdup(json_node_get_string(v));
        }
    }
    if (!r->scenario)
        r->scenario = g_strdup("");
    JsonNode *title = json_object_get_member(o, "title");
    if (title && JSON_NODE_HOLDS_VALUE(title) && json_node_get_value_type(title) == G_TYPE_STRING &&
        *json_node_get_string(title))
        r->title = g_strdup(json_node_get_string(title));
    JsonNode *seeds = json_object_get_member(o, "seeds"),
             *points = json_object_get_member(o, "points");
    if (!seeds || !JSON_NODE_HOLDS_ARRAY(seeds) || !points || !JSON_NODE_HOLDS_ARRAY(points) ||
        json_array_get_length(json_node_get_array(points)) == 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "%s: not a sweep summary: \"seeds\" and a non-empty \"points\" must be "
                    "arrays (as `mailsim sweep --json` writes)",
                    file);
        return FALSE;
    }
    JsonArray *sa = json_node_get_array(seeds);
    for (guint i = 0; i < json_array_get_length(sa); i++) {
        JsonNode *v = json_array_get_element(sa, i);
        if (!v || !JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_INT64 ||
            json_node_get_int(v) < 1) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s: seeds[%u] is not a whole number >= 1", file,
                        i);
            return FALSE;
        }
        guint64 s = (guint64) json_node_get_int(v);
        g_array_append_val(r->seeds, s);
    }
    JsonNode *axes = json_object_get_member(o, "axes");
    if (axes) {
        JsonArray *aa = JSON_NODE_HOLDS_ARRAY(axes) ? json_node_get_array(axes) : NULL;
        for (guint i = 0; aa && i < json_array_get_length(aa); i++) {
            JsonNode *v = json_array_get_element(aa, i);
            if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
                aa = NULL;
            else
                g_ptr_array_add(r->axes, g_strdup(json_node_get_string(v)));
        }
        if (!aa) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s: \"axes\" must be an array of strings", file);
            return FALSE;
        }
    }
    JsonArray *pa = json_node_get_array(points);
    r->n_points = json_array_get_length(pa);
    for (guint p = 0; p < r->n_points; p++)
        if (!read_point(r, json_array_get_element(pa, p), p, file, error))
            return FALSE;
    return TRUE;
}

MsSweepResults *
ms_sweep_results_load_data(const char *data, gssize len, const char *display_name, GError **error)
{
    g_return_val_if_fail(data && display_name, NULL);
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data(parser, data, len, &local)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: not valid JSON: %s", display_name,
                    local->message);
        return NULL;
    }
    g_autoptr(MsSweepResults) r = g_new0(MsSweepResults, 1);
    r->seeds = g_array_new(FALSE, FALSE, sizeof(guint64));
    r->axes = g_ptr_array_new_with_free_func(g_free);
    r->settings = g_ptr_array_new_with_free_func(g_free);
    r->stats = g_ptr_array_new_with_free_func(g_free);
    r->cells = g_array_new(FALSE, FALSE, sizeof(Cell));
    r->values = g_array_new(FALSE, FALSE, sizeof(double));
    if (!read_root(r, json_parser_get_root(parser), display_name, error))
        return NULL;
    return g_steal_pointer(&r);
}

MsSweepResults *
ms_sweep_results_load_file(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: cannot read: %s", path, local->message);
        return NULL;
    }
    return ms_sweep_results_load_data(data, (gssize) len, path, error);
}

MsSweepResults *
ms_sweep_results_from_sweep(const MsSweep *sw)
{
    g_autoptr(GString) json = g_string_new(NULL);
    ms_sweep_json(sw, json);
    if (json->len == 0)
        return NULL;
    g_autoptr(GError) error = NULL;
    MsSweepResults *r = ms_sweep_results_load_data(json->str, (gssize) json->len, "sweep", &error);
    g_assert(r != NULL); /* our own writer's output always reads back */
    return r;
}

const char *
ms_sweep_results_scenario(const MsSweepResults *r)
{
    return r->scenario;
}

const char *
ms_sweep_results_title(const MsSweepResults *r)
{
    return r->title;
}
guint
ms_sweep_results_n_seeds(const MsSweepResults *r)
{
    return r->seeds->len;
}
guint
ms_sweep_results_n_axes(const MsSweepResults *r)
{
    return r->axes->len;
}
guint
ms_sweep_results_n_points(const MsSweepResults *r)
{
    return r->n_points;
}
guint
ms_sweep_results_n_stats(const MsSweepResults *r)
{
    return r->stats->len;
}

guint64
ms_sweep_results_seed(const MsSweepResults *r, guint i)
{
    g_return_val_if_fail(i < r->seeds->len, 0);
    return g_array_index(r->seeds, guint64, i);
}

const char *
ms_sweep_results_axis(const MsSweepResults *r, guint k)
{
    g_return_val_if_fail(k < r->axes->len, NULL);
    return g_ptr_array_index(r->axes, k);
}

const char *
ms_sweep_results_setting(const MsSweepResults *r, guint point, guint k)
{
    g_return_val_if_fail(point < r->n_points && k < r->axes->len, NULL);
    return g_ptr_array_index(r->settings, point * r->axes->len + k);
}

const char *
ms_sweep_results_stat_name(const MsSweepResults *r, guint stat)
{
    g_return_val_if_fail(stat < r->stats->len, NULL);
    return g_ptr_array_index(r->stats, stat);
}

gint
ms_sweep_results_find_stat(const MsSweepResults *r, const char *name)
{
    for (guint s = 0; s < r->stats->len; s++)
        if (!strcmp(g_ptr_array_index(r->stats, s), name))
            return (gint) s;
    return -1;
}

void
ms_sweep_results_get(const MsSweepResults *r, guint point, guint stat, MsSweepSummary *out)
{
    g_return_if_fail(point < r->n_points && stat < r->stats->len);
    const Cell *c = &g_array_index(r->cells, Cell, point * r->stats->len + stat);
    *out = (MsSweepSummary){ c->n,
                             c->mean,
                             c->ci95,
                             c->sd,
                             c->min,
                             c->max,
                             c->n_values ? &g_array_index(r->values, double, c->offset) : NULL,
                             c->n_values };
}
