/* GML (Graph Modelling Language) -> the topology builder
 * (topology-private.h), for the files the Internet Topology Zoo publishes.
 *
 * Grammar read here (GML as Himsolt defined it, the subset graph tools
 * write): a list of `key value` pairs; a key is a letter or '_' followed by
 * letters, digits and '_'; a value is an integer, a real (with '.', an
 * exponent, a sign), a string in double quotes (no escapes: GML encodes
 * special characters as &name; entities, which are kept as written) or a
 * list `[ key value ... ]`. '#' starts a comment up to the end of the line.
 * Lists nest at most MS_TOPOLOGY_MAX_DEPTH deep (a hostile file cannot
 * exhaust the stack); a string is at most MS_TOPOLOGY_MAX_TOKEN bytes.
 *
 * Meaning: the first top-level `graph [...]` holds `node [...]` and
 * `edge [...]` lists; other keys are skipped. A node: `id` (required,
 * unique), `label`, `Latitude`, `Longitude` (degrees; both or neither),
 * `Internal` (0 = a node outside the operator's network), `population`.
 * An edge: `source`, `target` (required: node ids), `LinkSpeedRaw` (bits
 * per second), else `LinkSpeed` with `LinkSpeedUnits` (k, M, G or T), and
 * `LinkLabel`. A non-numeric coordinate or speed is an error with its line;
 * keys the importer does not use are ignored (the Zoo adds many).
 *
 * Cost: the file becomes a small tree (one record per key) and is walked
 * once; memory about three times the file. */
#include "topology-private.h"

#include <string.h>

typedef enum { GML_NUM, GML_STR, GML_LIST } GmlKind;

typedef struct GmlItem {
    char *key;
    GmlKind kind;
    char *text;          /* NUM, STR */
    GPtrArray *children; /* LIST: of GmlItem* */
    guint line;
} GmlItem;

static void
item_free(gpointer p)
{
    GmlItem *it = p;
    g_free(it->key);
    g_free(it->text);
    if (it->children)
        g_ptr_array_unref(it->children);
    g_free(it);
}

typedef struct {
    const char *p, *end;
    guint line;
    MsTopology *t;
    GError **error;
} GmlLexer;

static void
skip_space(GmlLexer *L)
{
    while (L->p < L->end) {
        char c = *L->p;
        if (c == '\n') {
            L->line++;
            L->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L->p++;
        } else if (c == '#') {
            while (L->p < L->end && *L->p != '\n')
                L->p++;
        } else {
            break;
        }
    }
}

static gboolean
is_key_start(char c)
{
    return g_ascii_isalpha(c) || c == '_';
}

/* Reads the items of a list up to ']' (or the end of the file at the top
 * level) into `into`. */
static gboolean
read_list(GmlLexer *L, GPtrArray *into, guint depth, gboolean top)
{
    for (;;) {
        skip_space(L);
        if (L->p >= L->end) {
            if (top)
                return TRUE;
            return ms__topology_fail(L->error, L->t, L->line,
                                     "the file ends inside a list: expected ']'");
        }
        if (*L->p == ']') {
            if (top)
                return ms__topology_fail(L->error, L->t, L->line, "']' without a list to close");
            L->p++;
            return TRUE;
        }
        if (!is_key_start(*L->p))
            return ms__topology_fail(L->error, L->t, L->line,
                                     "'%c' where a key was expected (a letter or '_')", *L->p);
        const char *k = L->p;
        while (L->p < L->end && (g_ascii_isalnum(*L->p) || *L->p == '_'))
            L->p++;
        if ((gsize) (L->p - k) > 256)
            return ms__topology_fail(L->error, L->t, L->line, "a key longer than 256 characters");
        GmlItem *it = g_new0(GmlItem, 1);
        it->key = g_strndup(k, (gsize) (L->p - k));
        it->line = L->line;
        g_ptr_array_add(into, it);
        skip_space(L);
        if (L->p >= L->end)
            return ms__topology_fail(L->error, L->t, L->line, "key '%s' has no value", it->key);
        char c = *L->p;
        if (c == '[') {
            if (depth + 1 > MS_TOPOLOGY_MAX_DEPTH)
                return ms__topology_fail(L->error, L->t, L->line,
                                         "lists nested deeper than %d: refused",
                                         MS_TOPOLOGY_MAX_DEPTH);
            L->p++;
            it->kind = GML_LIST;
            it->children = g_ptr_array_new_with_free_func(item_free);
            if (!read_list(L, it->children, depth + 1, FALSE))
                return FALSE;
        } else if (c == '"') {
            const char *s = ++L->p;
            guint start = L->line;
            while (L->p < L->end && *L->p != '"') {
                if (*L->p == '\n')
                    L->line++;
                L->p++;
            }
            if (L->p >= L->end)
                return ms__topology_fail(L->error, L->t, start,
                                         "a string that never ends: expected '\"'");
            if ((gsize) (L->p - s) > MS_TOPOLOGY_MAX_TOKEN)
                return ms__topology_fail(L->error, L->t, start,
                                         "a string longer than %u bytes: refused",
                                         MS_TOPOLOGY_MAX_TOKEN);
            if (memchr(s, '\0', (gsize) (L->p - s)))
                return ms__topology_fail(L->error, L->t, start, "a NUL byte in a string");
            it->kind = GML_STR;
            it->text = g_strndup(s, (gsize) (L->p - s));
            L->p++;
        } else if (c == '-' || c == '+' || c == '.' || g_ascii_isdigit(c)) {
            const char *s = L->p;
            while (L->p < L->end &&
                   (g_ascii_isalnum(*L->p) || *L->p == '.' || *L->p == '-' || *L->p == '+'))
                L->p++;
            if ((gsize) (L->p - s) > 64)
                return ms__topology_fail(L->error, L->t, L->line, "a number of over 64 characters");
            it->kind = GML_NUM;
            it->text = g_strndup(s, (gsize) (L->p - s));
            double v;
            if (!ms__topology_parse_double(it->text, &v))
                return ms__topology_fail(L->error, L->t, L->line, "key '%s': '%s' is not a number",
                                         it->key, it->text);
        } else {
            return ms__topology_fail(L->error, L->t, L->line,
                                     "key '%s': '%c' starts no value: expected a number, a "
                                     "\"string\" or a [list]",
                                     it->key, c);
        }
    }
}

static const GmlItem *
find(const GmlItem *list, const char *key)
{
    for (guint i = 0; i < list->children->len; i++) {
        const GmlItem *c = list->children->pdata[i];
        if (strcmp(c->key, key) == 0)
            return c;
    }
    return NULL;
}

/* A number, given as a number or as a string holding one. */
static gboolean
item_number(MsTopology *t, const GmlItem *it, const char *what, double *out, GError **error)
{
    if (it->kind == GML_LIST || !ms__topology_parse_double(it->text, out))
        return ms__topology_fail(error, t, it->line, "%s '%s': expected a number", what,
                                 it->kind == GML_LIST ? "[...]" : it->text);
    return TRUE;
}

/* An id or end: an integer or a string. */
static gboolean
item_id(MsTopology *t, const GmlItem *it, const char *what, const char **out, GError **error)
{
    if (it->kind == GML_LIST || !it->text[0])
        return ms__topology_fail(error, t, it->line, "%s: expected a node id (a number or string)",
                                 what);
    *out = it->text;
    return TRUE;
}

static gboolean
read_node(MsTopologyBuilder *b, const GmlItem *n, GError **error)
{
    MsTopology *t = b->t;
    const GmlItem *id = find(n, "id");
    const char *ids = NULL;
    if (!id)
        return ms__topology_fail(error, t, n->line, "node without an id: expected 'id N'");
    if (!item_id(t, id, "node id", &ids, error))
        return FALSE;
    MsTopologyNode *node = ms__topology_add_node(b, n->line, ids, error);
    if (!node)
        return FALSE;
    const GmlItem *label = find(n, "label");
    if (label && label->kind != GML_LIST && label->text[0]) {
        g_free(node->label);
        node->label = g_strdup(label->text);
    }
    const GmlItem *lat = find(n, "Latitude"), *lon = find(n, "Longitude");
    if ((lat == NULL) != (lon == NULL))
        return ms__topology_fail(error, t, (lat ? lat : lon)->line,
                                 "node '%s' has %s but no %s: give both or neither", ids,
                                 lat ? "Latitude" : "Longitude", lat ? "Longitude" : "Latitude");
    if (lat) {
        if (!item_number(t, lat, "Latitude", &node->lat, error) ||
            !item_number(t, lon, "Longitude", &node->lon, error))
            return FALSE;
        if (node->lat < -90 || node->lat > 90 || node->lon < -180 || node->lon > 180)
            return ms__topology_fail(error, t, lat->line,
                                     "node '%s': (%g, %g) is not a place: expected latitude -90 "
                                     "to 90 and longitude -180 to 180",
                                     ids, node->lat, node->lon);
        node->has_geo = TRUE;
    }
    const GmlItem *internal = find(n, "Internal");
    double v;
    if (internal) {
        if (!item_number(t, internal, "Internal", &v, error))
            return FALSE;
        node->internal = v != 0;
    }
    const GmlItem *pop = find(n, "population");
    if (pop) {
        if (!item_number(t, pop, "population", &v, error))
            return FALSE;
        if (v < 0)
            return ms__topology_fail(error, t, pop->line, "population %g: expected 0 or more", v);
        node->population = v;
    }
    return TRUE;
}

static gboolean
set_speed(MsTopology *t, MsTopologyEdge *e, double bps, guint line, GError **error)
{
    if (!(bps > 0 && bps < 1e15))
        return ms__topology_fail(
            error, t, line, "link speed %g bps: expected more than 0 and less than 1 Pbps", bps);
    e->speed_bps = MAX((guint64) bps, (guint64) 1);
    return TRUE;
}

static gboolean
read_edge(MsTopologyBuilder *b, const GmlItem *ed, GError **error)
{
    MsTopology *t = b->t;
    const GmlItem *src = find(ed, "source"), *dst = find(ed, "target");
    const char *a = NULL, *z = NULL;
    if (!src || !dst)
        return ms__topology_fail(error, t, ed->line,
                                 "edge without %s: expected 'source N' and 'target N'",
                                 src ? "a target" : "a source");
    if (!item_id(t, src, "source", &a, error) || !item_id(t, dst, "target", &z, error))
        return FALSE;
    MsTopologyEdge *e = ms__topology_add_edge(b, ed->line, a, z, error);
    if (!e)
        return FALSE;
    const GmlItem *raw = find(ed, "LinkSpeedRaw"), *speed = find(ed, "LinkSpeed"),
                  *units = find(ed, "LinkSpeedUnits"), *label = find(ed, "LinkLabel");
    double v;
    if (raw) {
        if (!item_number(t, raw, "LinkSpeedRaw", &v, error) ||
            !set_speed(t, e, v, raw->line, error))
            return FALSE;
    } else if (speed) {
        double scale = 1;
        if (!item_number(t, speed, "LinkSpeed", &v, error))
            return FALSE;
        if (units && (units->kind == GML_LIST || !ms__topology_unit_scale(units->text, &scale)))
            return ms__topology_fail(error, t, units->line,
                                     "LinkSpeedUnits '%s': expected k, M, G or T",
                                     units->kind == GML_LIST ? "[...]" : units->text);
        if (!set_speed(t, e, v * scale, speed->line, error))
            return FALSE;
    }
    if (label && label->kind != GML_LIST)
        e->label = g_strdup(label->text);
    return TRUE;
}

gboolean
ms__topology_read_gml(MsTopologyBuilder *b, const char *data, gsize len, GError **error)
{
    MsTopology *t = b->t;
    GmlLexer L = { data, data + len, 1, t, error };
    GmlItem root = { 0 };
    root.kind = GML_LIST;
    root.children = g_ptr_array_new_with_free_func(item_free);
    gboolean ok = read_list(&L, root.children, 0, TRUE);
    const GmlItem *graph = ok ? find(&root, "graph") : NULL;
    if (ok && (!graph || graph->kind != GML_LIST))
        ok = ms__topology_fail(error, t, graph ? graph->line : 1,
                               "no 'graph [ ... ]' list: expected a GML graph");
    /* Nodes first: edges may come before the nodes they join. */
    for (guint pass = 0; ok && pass < 2; pass++)
        for (guint i = 0; ok && i < graph->children->len; i++) {
            const GmlItem *c = graph->children->pdata[i];
            gboolean is_node = strcmp(c->key, "node") == 0, is_edge = strcmp(c->key, "edge") == 0;
            if ((is_node || is_edge) && c->kind != GML_LIST)
                ok =
                    ms__topology_fail(error, t, c->line,
                                      "'%s' must be a list: expected '%s [ ... ]'", c->key, c->key);
            else if (pass == 0 && is_node)
                ok = read_node(b, c, error);
            else if (pass == 1 && is_edge)
                ok = read_edge(b, c, error);
        }
    g_ptr_array_unref(root.children);
    return ok;
}
