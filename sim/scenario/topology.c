/* Imported topologies (include/mailsim/topology.h): file bytes -> one of
 * the readers (topology_graphml.c, topology_gml.c, topology_asrel.c,
 * topology_brite.c) -> the shared rules below -> scenario elements
 * (ms_topology_write_elements), which the loader's <topology> element and
 * `mailsim import` both use.
 *
 * Design. A reader only records what the file says (nodes with their ids,
 * labels, coordinates, AS numbers; edges with speeds, latencies, AS
 * relationships) through the builder, which refuses duplicate ids and edges
 * to unknown nodes with the line. Everything the file leaves open is then
 * decided here, in one place and in one order, each decision with a warning
 * naming the file and line (the header lists the rules): self-loops,
 * parallel edges, a provider-customer cycle (an error), the largest
 * connected part, missing speeds, missing coordinates and latencies.
 * Warnings about many alike items are summed up: the first
 * MAX_EACH get a line each, then one line says how many more there were.
 *
 * Determinism: nodes keep file order, edges too; the parts of the graph
 * are compared by size, then by their lowest node index. No hash-table order
 * reaches the output (the id table is only looked up).
 *
 * Costs: O(N + E) after reading, plus O(E) hash look-ups for parallel edges;
 * 75,000 ASes and 500,000 relationships take well under a second. */
#include "topology-private.h"
#include "mailsim/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(ms - topology - error - quark, ms_topology_error)

/* Alike warnings past this many are summed up in one line. */
#define MAX_EACH 5

/* ---- names --------------------------------------------------------------- */

static const char *const format_names[] = { "graphml", "gml", "caida-asrel", "brite" };

gboolean
ms_topology_format_from_string(const char *s, MsTopologyFormat *out)
{
    for (guint i = 0; s && i < G_N_ELEMENTS(format_names); i++)
        if (strcmp(s, format_names[i]) == 0) {
            *out = (MsTopologyFormat) i;
            return TRUE;
        }
    return FALSE;
}

const char *
ms_topology_format_to_string(MsTopologyFormat f)
{
    return (guint) f < G_N_ELEMENTS(format_names) ? format_names[f] : "?";
}

gboolean
ms_topology_format_guess(const char *path, MsTopologyFormat *out)
{
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *low = g_ascii_strdown(base, -1);
    if (g_str_has_suffix(low, ".graphml") || g_str_has_suffix(low, ".xml"))
        *out = MS_TOPOLOGY_GRAPHML;
    else if (g_str_has_suffix(low, ".gml"))
        *out = MS_TOPOLOGY_GML;
    else if (g_str_has_suffix(low, ".brite"))
        *out = MS_TOPOLOGY_BRITE;
    else if (strstr(low, "as-rel") || g_str_has_suffix(low, ".asrel"))
        *out = MS_TOPOLOGY_CAIDA_ASREL;
    else
        return FALSE;
    return TRUE;
}

/* ---- the builder ---------------------------------------------------------- */

void
ms__topology_builder_init(MsTopologyBuilder *b, MsTopology *t)
{
    b->t = t;
    b->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

void
ms__topology_builder_clear(MsTopologyBuilder *b)
{
    g_clear_pointer(&b->ids, g_hash_table_destroy);
}

gboolean
ms__topology_fail(GError **error, const MsTopology *t, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, MS_TOPOLOGY_ERROR, MS_TOPOLOGY_ERROR_INVALID, "%s:%u: %s", t->path, line,
                msg);
    return FALSE;
}

void
ms__topology_warn(MsTopology *t, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(t->warnings, line ? g_strdup_printf("%s:%u: warning: %s", t->path, line, msg)
                                      : g_strdup_printf("%s: warning: %s", t->path, msg));
}

MsTopologyNode *
ms__topology_add_node(MsTopologyBuilder *b, guint line, const char *id, GError **error)
{
    MsTopology *t = b->t;
    gpointer old = g_hash_table_lookup(b->ids, id);
    if (old) {
        const MsTopologyNode *o =
            &g_array_index(t->nodes, MsTopologyNode, GPOINTER_TO_UINT(old) - 1);
        ms__topology_fail(error, t, line,
                          "node '%s' is defined twice (first at line %u): ids must be unique", id,
                          o->line);
        return NULL;
    }
    if (t->nodes->len >= MS_TOPOLOGY_MAX_NODES) {
        ms__topology_fail(error, t, line,
                          "more than %u nodes: the importer takes at most that many",
                          MS_TOPOLOGY_MAX_NODES);
        return NULL;
    }
    MsTopologyNode n = { 0 };
    n.line = line;
    n.id = g_strdup(id);
    n.label = g_strdup(id);
    n.internal = TRUE;
    n.population = -1;
    g_array_append_val(t->nodes, n);
    g_hash_table_insert(b->ids, g_strdup(id), GUINT_TO_POINTER(t->nodes->len));
    return &g_array_index(t->nodes, MsTopologyNode, t->nodes->len - 1);
}

gint
ms__topology_find_node(MsTopologyBuilder *b, const char *id)
{
    return (gint) GPOINTER_TO_UINT(g_hash_table_lookup(b->ids, id)) - 1;
}

MsTopologyEdge *
ms__topology_add_edge(MsTopologyBuilder *b, guint line, const char *a, const char *b_id,
                      GError **error)
{
    MsTopology *t = b->t;
    gint ia = ms__topology_find_node(b, a), ib = ms__topology_find_node(b, b_id);
    if (ia < 0 || ib < 0) {
        ms__topology_fail(
            error, t, line,
            "edge to unknown node '%s': expected the id of a node defined in the file",
            ia < 0 ? a : b_id);
        return NULL;
    }
    if (t->edges->len >= MS_TOPOLOGY_MAX_EDGES) {
        ms__topology_fail(error, t, line,
                          "more than %u edges: the importer takes at most that many",
                          MS_TOPOLOGY_MAX_EDGES);
        return NULL;
    }
    MsTopologyEdge e = { 0 };
    e.line = line;
    e.a = (guint) ia;
    e.b = (guint) ib;
    g_array_append_val(t->edges, e);
    return &g_array_index(t->edges, MsTopologyEdge, t->edges->len - 1);
}

gboolean
ms__topology_parse_double(const char *s, double *out)
{
    if (!s)
        return FALSE;
    while (g_ascii_isspace(*s))
        s++;
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return FALSE;
    while (g_ascii_isspace(*end))
        end++;
    if (*end)
        return FALSE;
    *out = v;
    return TRUE;
}

gboolean
ms__topology_unit_scale(const char *u, double *out)
{
    static const struct {
        const char *u;
        double s;
    } units[] = {
        { "", 1 }, { "k", 1e3 }, { "K", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }
    };
    for (gsize i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(u, units[i].u) == 0) {
            *out = units[i].s;
            return TRUE;
        }
    return FALSE;
}

double
ms_topology_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0, rad = G_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(sqrt(MIN(1.0, h)));
}

/* ---- the rules ------------------------------------------------------------ */

static void
edge_clear(MsTopologyEdge *e)
{
    g_free(e->label);
}

/* A node pair's key hashed with a 64-bit mix (GLib's g_int64_hash folds
 * the halves together, and a pair's halves are alike: most pairs would
 * collide). */
static guint
pair_hash(gconstpointer p)
{
    guint64 x = *(const guint64 *) p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (guint) x;
}

/* Self-loops and parallel edges (the first edge of a pair stays). */
static gboolean
drop_loops_and_parallels(MsTopology *t, GError **error)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(pair_hash, g_int64_equal, g_free, NULL);
    guint loops = 0, parallels = 0, keep = 0;
    for (guint i = 0; i < t->edges->len; i++) {
        MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        const MsTopologyNode *na = &g_array_index(t->nodes, MsTopologyNode, e->a);
        if (e->a == e->b) {
            if (loops++ < MAX_EACH)
                ms__topology_warn(t, e->line,
                                  "edge from node '%s' to itself dropped (a self-loop carries no "
                                  "traffic)",
                                  na->label);
            edge_clear(e);
            continue;
        }
        gint64 key = (gint64) MIN(e->a, e->b) << 32 | MAX(e->a, e->b);
        gpointer first = g_hash_table_lookup(seen, &key);
        if (first) {
            const MsTopologyNode *nb = &g_array_index(t->nodes, MsTopologyNode, e->b);
            const MsTopologyEdge *f =
                &g_array_index(t->edges, MsTopologyEdge, GPOINTER_TO_UINT(first) - 1);
            gboolean same = f->rel == e->rel && (e->rel != MS_TOPOLOGY_REL_PROVIDER_CUSTOMER ||
                                                 (f->a == e->a && f->b == e->b));
            if (!same) {
                for (guint k = i + 1; k < t->edges->len; k++)
                    edge_clear(&g_array_index(t->edges, MsTopologyEdge, k));
                edge_clear(e);
                g_array_set_size(t->edges, keep);
                return ms__topology_fail(error, t, e->line,
                                         "'%s' and '%s' are related again, differently than at "
                                         "line %u: expected one relationship per pair",
                                         na->label, nb->label, f->line);
            }
            if (parallels++ < MAX_EACH)
                ms__topology_warn(t, e->line,
                                  "second edge between '%s' and '%s' dropped: one link per pair, "
                                  "the first (line %u) is kept",
                                  na->label, nb->label, f->line);
            edge_clear(e);
            continue;
        }
        g_array_index(t->edges, MsTopologyEdge, keep++) = *e;
        g_hash_table_insert(seen, g_memdup2(&key, sizeof key), GUINT_TO_POINTER(keep));
    }
    g_array_set_size(t->edges, keep);
    if (loops > MAX_EACH)
        ms__topology_warn(t, 0, "%u more self-loops dropped", loops - MAX_EACH);
    if (parallels > MAX_EACH)
        ms__topology_warn(t, 0, "%u more parallel edges dropped", parallels - MAX_EACH);
    return TRUE;
}

/* A provider-customer cycle (A provider of B ... provider of A) makes the
 * valley-free rules meaningless: Kahn's algorithm over provider -> customer
 * edges; what it cannot order holds a cycle, which a walk up the providers
 * of one left-over node finds. */
static gboolean
check_provider_cycles(MsTopology *t, GError **error)
{
    guint nn = t->nodes->len;
    g_autofree guint32 *indeg = g_new0(guint32, nn);
    g_autofree guint32 *off = g_new0(guint32, nn + 1);
    guint np = 0;
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        if (e->rel != MS_TOPOLOGY_REL_PROVIDER_CUSTOMER)
            continue;
        off[e->a + 1]++;
        indeg[e->b]++;
        np++;
    }
    if (np == 0)
        return TRUE;
    for (guint i = 0; i < nn; i++)
        off[i + 1] += off[i];
    g_autofree guint32 *cust = g_new(guint32, np);
    g_autofree guint32 *fill = g_memdup2(off, sizeof(guint32) * nn);
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        if (e->rel == MS_TOPOLOGY_REL_PROVIDER_CUSTOMER)
            cust[fill[e->a]++] = i;
    }
    g_autofree guint32 *stack = g_new(guint32, nn);
    guint sp = 0, done = 0;
    g_autofree guint32 *left = g_memdup2(indeg, sizeof(guint32) * nn);
    for (guint i = 0; i < nn; i++)
        if (left[i] == 0)
            stack[sp++] = i;
    while (sp > 0) {
        guint32 v = stack[--sp];
        done++;
        for (guint32 k = off[v]; k < off[v + 1]; k++) {
            guint32 c = g_array_index(t->edges, MsTopologyEdge, cust[k]).b;
            if (--left[c] == 0)
                stack[sp++] = c;
        }
    }
    if (done == nn)
        return TRUE;
    /* Every left-over node has a left-over provider: walk up until a node
     * repeats. provider_edge[v] = an edge from a left-over provider to v. */
    g_autofree guint32 *provider_edge = g_new(guint32, nn);
    for (guint i = 0; i < nn; i++)
        provider_edge[i] = G_MAXUINT32;
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        if (e->rel == MS_TOPOLOGY_REL_PROVIDER_CUSTOMER && left[e->a] > 0 && left[e->b] > 0 &&
            provider_edge[e->b] == G_MAXUINT32)
            provider_edge[e->b] = i;
    }
    guint32 v = 0;
    while (left[v] == 0)
        v++;
    g_autofree guint32 *mark = g_new0(guint32, nn);
    guint32 step = 1;
    while (mark[v] == 0) {
        mark[v] = step++;
        v = g_array_index(t->edges, MsTopologyEdge, provider_edge[v]).a;
    }
    /* v starts the cycle; list it provider first. */
    GString *s = g_string_new(NULL);
    guint32 start = v, line = 0, hops = 0;
    do {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, provider_edge[v]);
        const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, v);
        g_string_prepend(s, n->label);
        g_string_prepend(s, " provider of ");
        line = MAX(line, e->line);
        v = e->a;
        hops++;
    } while (v != start && hops < 64);
    g_string_prepend(s, g_array_index(t->nodes, MsTopologyNode, start).label);
    ms__topology_fail(error, t, line,
                      "provider-customer cycle: %s (a customer cannot also be its provider's "
                      "provider; valley-free routing needs an order)",
                      s->str);
    g_string_free(s, TRUE);
    return FALSE;
}

static guint32
uf_find(guint32 *p, guint32 x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

/* Keeps only the largest connected part (ties: the part with the lowest
 * node index). */
static void
keep_largest_part(MsTopology *t)
{
    guint nn = t->nodes->len;
    if (nn == 0)
        return;
    g_autofree guint32 *p = g_new(guint32, nn);
    for (guint i = 0; i < nn; i++)
        p[i] = i;
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        guint32 x = uf_find(p, e->a), y = uf_find(p, e->b);
        if (x != y)
            p[MAX(x, y)] = MIN(x, y); /* the root is the part's lowest index */
    }
    g_autofree guint32 *size = g_new0(guint32, nn);
    guint parts = 0;
    for (guint i = 0; i < nn; i++)
        if (size[uf_find(p, i)]++ == 0)
            parts++;
    if (parts == 1)
        return;
    guint32 best = 0;
    for (guint i = 0; i < nn; i++)
        if (size[i] > size[best])
            best = i;
    g_autofree guint32 *newidx = g_new(guint32, nn);
    guint keep = 0, first_dropped = 0;
    for (guint i = 0; i < nn; i++) {
        MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
        if (uf_find(p, i) == best) {
            newidx[i] = keep;
            g_array_index(t->nodes, MsTopologyNode, keep++) = *n;
        } else {
            newidx[i] = G_MAXUINT32;
            if (!first_dropped)
                first_dropped = MAX(n->line, 1u);
            g_free(n->id);
            g_free(n->label);
        }
    }
    guint dropped_nodes = nn - keep;
    g_array_set_size(t->nodes, keep);
    guint ekeep = 0;
    for (guint i = 0; i < t->edges->len; i++) {
        MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        if (newidx[e->a] == G_MAXUINT32) {
            edge_clear(e);
            continue;
        }
        e->a = newidx[e->a];
        e->b = newidx[e->b];
        g_array_index(t->edges, MsTopologyEdge, ekeep++) = *e;
    }
    guint dropped_edges = t->edges->len - ekeep;
    g_array_set_size(t->edges, ekeep);
    ms__topology_warn(t, first_dropped,
                      "the network has %u disconnected parts: only the largest (%u nodes) is kept; "
                      "%u nodes (the first defined here) and %u edges are left out, since no mail "
                      "could cross between parts",
                      parts, keep, dropped_nodes, dropped_edges);
}

/* Speeds, latencies, placement weights. */
static void
fill_defaults(MsTopology *t)
{
    guint no_speed = 0, no_geo_links = 0;
    guint first_no_speed = 0, first_no_geo = 0;
    g_autofree guint32 *degree = g_new0(guint32, MAX(t->nodes->len, 1u));
    /* Nodes whose missing coordinates decided a link's latency. */
    g_autofree gboolean *needs_geo = g_new0(gboolean, MAX(t->nodes->len, 1u));
    for (guint i = 0; i < t->edges->len; i++) {
        MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        degree[e->a]++;
        degree[e->b]++;
        if (e->speed_bps == 0) {
            if (no_speed++ == 0)
                first_no_speed = e->line;
            e->speed_bps = MS_TOPOLOGY_DEFAULT_SPEED;
        }
        if (e->latency > 0)
            continue;
        const MsTopologyNode *a = &g_array_index(t->nodes, MsTopologyNode, e->a);
        const MsTopologyNode *b = &g_array_index(t->nodes, MsTopologyNode, e->b);
        if (a->has_geo && b->has_geo) {
            double km = ms_topology_distance_km(a->lat, a->lon, b->lat, b->lon);
            e->latency =
                (MsTime) llround(km / MS_TOPOLOGY_FIBRE_KM_PER_S * 1e9) + MS_TOPOLOGY_HOP_LATENCY;
        } else {
            if (no_geo_links++ == 0)
                first_no_geo = e->line;
            e->latency = MS_TOPOLOGY_DEFAULT_LATENCY;
            needs_geo[a->has_geo ? e->b : e->a] = TRUE;
        }
    }
    if (t->is_as_graph) {
        if (t->edges->len > 0)
            ms__topology_warn(t, g_array_index(t->edges, MsTopologyEdge, 0).line,
                              "AS relationships give no coordinates and no speeds: every link "
                              "gets %d ms and %s",
                              (int) (MS_TOPOLOGY_DEFAULT_LATENCY / MS_TIME_MS), "1 Gbps");
    } else {
        guint no_geo = 0;
        for (guint i = 0; i < t->nodes->len; i++) {
            const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
            if (needs_geo[i] && no_geo++ < MAX_EACH)
                ms__topology_warn(t, n->line,
                                  "node '%s' has no coordinates: its links without a latency of "
                                  "their own take %d ms",
                                  n->label, (int) (MS_TOPOLOGY_DEFAULT_LATENCY / MS_TIME_MS));
        }
        if (no_geo > MAX_EACH)
            ms__topology_warn(t, 0, "%u more nodes have no coordinates", no_geo - MAX_EACH);
        if (no_geo_links > 0 && no_geo == 0)
            ms__topology_warn(t, first_no_geo, "%u links without a latency take %d ms",
                              no_geo_links, (int) (MS_TOPOLOGY_DEFAULT_LATENCY / MS_TIME_MS));
        if (no_speed > 0)
            ms__topology_warn(t, first_no_speed,
                              "%u of %u edges give no speed (the first here): they get 1 Gbps",
                              no_speed, t->edges->len);
    }
    for (guint i = 0; i < t->nodes->len; i++) {
        MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
        if (n->population < 0)
            n->population = degree[i];
    }
}

static void
node_clear(MsTopologyNode *n)
{
    g_free(n->id);
    g_free(n->label);
}

void
ms_topology_free(MsTopology *t)
{
    if (!t)
        return;
    for (guint i = 0; t->nodes && i < t->nodes->len; i++)
        node_clear(&g_array_index(t->nodes, MsTopologyNode, i));
    for (guint i = 0; t->edges && i < t->edges->len; i++)
        edge_clear(&g_array_index(t->edges, MsTopologyEdge, i));
    if (t->nodes)
        g_array_free(t->nodes, TRUE);
    if (t->edges)
        g_array_free(t->edges, TRUE);
    if (t->warnings)
        g_ptr_array_unref(t->warnings);
    g_free(t->path);
    g_free(t);
}

MsTopology *
ms_topology_load_memory(const char *data, gsize len, const char *display_name,
                        MsTopologyFormat format, GError **error)
{
    g_return_val_if_fail(data != NULL || len == 0, NULL);
    g_autoptr(MsTopology) t = g_new0(MsTopology, 1);
    t->path = g_strdup(display_name ? display_name : "(memory)");
    t->format = format;
    t->nodes = g_array_new(FALSE, FALSE, sizeof(MsTopologyNode));
    t->edges = g_array_new(FALSE, FALSE, sizeof(MsTopologyEdge));
    t->warnings = g_ptr_array_new_with_free_func(g_free);
    if (len > MS_TOPOLOGY_MAX_FILE_SIZE) {
        g_set_error(error, MS_TOPOLOGY_ERROR, MS_TOPOLOGY_ERROR_IO,
                    "%s: %" G_GSIZE_FORMAT " bytes is too large: at most %u bytes are accepted",
                    t->path, len, MS_TOPOLOGY_MAX_FILE_SIZE);
        return NULL;
    }
    /* The readers want a terminated string. */
    g_autofree char *copy = g_malloc(len + 1);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    MsTopologyBuilder b;
    ms__topology_builder_init(&b, t);
    gboolean ok = FALSE;
    switch (format) {
    case MS_TOPOLOGY_GRAPHML:
        ok = ms__topology_read_graphml(&b, copy, len, error);
        break;
    case MS_TOPOLOGY_GML:
        ok = ms__topology_read_gml(&b, copy, len, error);
        break;
    case MS_TOPOLOGY_CAIDA_ASREL:
        t->is_as_graph = TRUE;
        ok = ms__topology_read_asrel(&b, copy, len, error);
        break;
    case MS_TOPOLOGY_BRITE:
        ok = ms__topology_read_brite(&b, copy, len, error);
        break;
    }
    ms__topology_builder_clear(&b);
    if (!ok)
        return NULL;
    if (t->nodes->len == 0) {
        ms__topology_fail(error, t, 1, "no nodes: expected a %s file with at least one node",
                          ms_topology_format_to_string(format));
        return NULL;
    }
    if (!drop_loops_and_parallels(t, error) || !check_provider_cycles(t, error))
        return NULL;
    keep_largest_part(t);
    fill_defaults(t);
    return g_steal_pointer(&t);
}

MsTopology *
ms_topology_load_file(const char *path, MsTopologyFormat format, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autofree char *buf = NULL;
    gsize size = 0;
    if (!ms_input_file_read(path, MS_TOPOLOGY_MAX_FILE_SIZE, "a topology file", MS_TOPOLOGY_ERROR,
                            MS_TOPOLOGY_ERROR_IO, &buf, &size, error))
        return NULL;
    return ms_topology_load_memory(buf, size, path, format, error);
}

/* ---- writing scenario elements ---------------------------------------------- */

/* Text for an XML attribute value (labels come from files). */
static void
append_escaped(GString *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        default:
            if ((guchar) *s < 0x20)
                g_string_append_c(out, ' ');
            else
                g_string_append_c(out, *s);
        }
    }
}

static void
append_double(GString *out, const char *name, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.6f", v);
    g_string_append_printf(out, " %s=\"%s\"", name, buf);
}

/* Diagram positions from coordinates: the map's equirectangular
 * projection (longitude scaled by the cosine of the middle latitude), 100
 * units a degree of latitude, north up. */
typedef struct {
    double lat_hi, lon_lo, k;
} GeoFrame;

static GeoFrame
geo_frame(const MsTopology *t)
{
    double lo = 90, hi = -90, lon_lo = 180;
    for (guint i = 0; i < t->nodes->len; i++) {
        const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
        if (!n->has_geo)
            continue;
        lo = MIN(lo, n->lat);
        hi = MAX(hi, n->lat);
        lon_lo = MIN(lon_lo, n->lon);
    }
    GeoFrame f = { hi, lon_lo, cos((lo + hi) / 2 * G_PI / 180.0) };
    return f;
}

static guint32
add_router(GString *out, guint32 addr, const char *id, const MsTopologyNode *n, const char *label,
           const GeoFrame *geo)
{
    g_string_append_printf(out, "  <host id=\"%s\" role=\"router\" address=\"%u.%u.%u.%u\"", id,
                           addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
    if (label && *label) {
        g_autofree char *valid = g_utf8_make_valid(label, -1);
        g_string_append(out, " label=\"");
        append_escaped(out, valid);
        g_string_append_c(out, '"');
    }
    if (n->has_geo) {
        append_double(out, "lat", n->lat);
        append_double(out, "lon", n->lon);
    }
    if (n->has_xy) {
        append_double(out, "x", n->x);
        append_double(out, "y", n->y);
    } else if (n->has_geo) {
        append_double(out, "x", (n->lon - geo->lon_lo) * geo->k * 100);
        append_double(out, "y", (geo->lat_hi - n->lat) * 100);
    }
    if (n->asn)
        g_string_append_printf(out, " as=\"%u\"", n->asn);
    g_string_append(out, "/>\n");
    return addr + 1;
}

static void
add_link(GString *out, const char *a, const char *b, MsTime latency, guint64 bps, MsTopologyRel rel)
{
    g_string_append_printf(out,
                           "  <link a=\"%s\" b=\"%s\" latency=\"%" G_GINT64_FORMAT
                           "us\" bandwidth=\"%" G_GUINT64_FORMAT "bps\"",
                           a, b, MAX(latency / MS_TIME_US, (MsTime) 1), bps);
    if (rel == MS_TOPOLOGY_REL_PROVIDER_CUSTOMER)
        g_string_append(out, " relation=\"provider-customer\"");
    else if (rel == MS_TOPOLOGY_REL_PEER)
        g_string_append(out, " relation=\"peer\"");
    g_string_append(out, "/>\n");
}

guint32
ms_topology_write_elements(const MsTopology *t, const MsTopologyWriteOptions *opts, GString *out,
                           GPtrArray **ids_out, GArray **weights_out, GArray **asns_out)
{
    guint32 pops = opts && opts->pops > 1 ? MIN(opts->pops, 64u) : 1;
    if (!t->is_as_graph)
        pops = 1;
    guint32 addr = opts && opts->first_address ? opts->first_address : 0x0A000001u;
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    GArray *weights = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *asns = g_array_new(FALSE, FALSE, sizeof(guint32));
    char id[32];
    GeoFrame geo = geo_frame(t);
    if (!t->is_as_graph)
        g_string_append_printf(out, "  <!-- %u routers and %u links imported from %s (%s) -->\n",
                               t->nodes->len, t->edges->len, "the topology file",
                               ms_topology_format_to_string(t->format));
    for (guint i = 0; i < t->nodes->len; i++) {
        const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
        for (guint32 p = 0; p < pops; p++) {
            if (pops == 1)
                g_snprintf(id, sizeof id, "r%u", i);
            else
                g_snprintf(id, sizeof id, "r%u.%u", i, p);
            g_autofree char *label =
                pops == 1 ? g_strdup(n->label) : g_strdup_printf("%s PoP %u", n->label, p);
            addr = add_router(out, addr, id, n, label, &geo);
            g_ptr_array_add(ids, g_strdup(id));
            double w = n->population / pops;
            g_array_append_val(weights, w);
            g_array_append_val(asns, n->asn);
        }
        /* An AS expanded into PoPs: a ring (a line for two), 1 ms, 10 Gbps. */
        for (guint32 p = 0; pops > 1 && p < pops && !(pops == 2 && p == 1); p++) {
            char a[32], b[32];
            g_snprintf(a, sizeof a, "r%u.%u", i, p);
            g_snprintf(b, sizeof b, "r%u.%u", i, (p + 1) % pops);
            add_link(out, a, b, MS_TIME_MS, 10000000000ull, MS_TOPOLOGY_REL_NONE);
        }
    }
    for (guint i = 0; i < t->edges->len; i++) {
        const MsTopologyEdge *e = &g_array_index(t->edges, MsTopologyEdge, i);
        char a[32], b[32];
        /* PoPs: the edge joins PoPs chosen from both ends' numbers, so an
         * AS's neighbours spread over its PoPs. */
        if (pops == 1) {
            g_snprintf(a, sizeof a, "r%u", e->a);
            g_snprintf(b, sizeof b, "r%u", e->b);
        } else {
            g_snprintf(a, sizeof a, "r%u.%u", e->a, e->b % pops);
            g_snprintf(b, sizeof b, "r%u.%u", e->b, e->a % pops);
        }
        add_link(out, a, b, e->latency, e->speed_bps, e->rel);
    }
    if (ids_out)
        *ids_out = ids;
    else
        g_ptr_array_unref(ids);
    if (weights_out)
        *weights_out = weights;
    else
        g_array_free(weights, TRUE);
    if (asns_out)
        *asns_out = asns;
    else
        g_array_free(asns, TRUE);
    return addr;
}
