/* GraphML -> the topology builder (topology-private.h), read with libxml2,
 * for the files the Internet Topology Zoo publishes.
 *
 * What is read: `<key id for attr.name>` declarations, then the first
 * `<graph>`'s `<node id>` and `<edge source target>` elements and their
 * `<data key>` values. Node data used: `label`, `Latitude`, `Longitude`
 * (degrees, both or neither), `Internal` (0 = outside the operator's
 * network), `population`; edge data: `LinkSpeedRaw` (bits per second), else
 * `LinkSpeed` with `LinkSpeedUnits` (k, M, G, T), and `LinkLabel`. Other
 * declared keys are ignored; a `<data>` whose key was never declared is an
 * error ("unknown key"), as are a non-numeric coordinate or speed,
 * duplicate ids and edges to unknown nodes, each with its line. Element
 * names are compared without their namespace. Nested graphs (GraphML's
 * hierarchy) are not read: the Zoo never uses them.
 *
 * Hostile input: the parser runs with XML_PARSE_NONET and without entity
 * substitution or DTD loading; a document with a DTD (where entities could
 * be declared) is refused outright; libxml2's own depth and size limits
 * stay on (no XML_PARSE_HUGE). Only the levels named above are walked. */
#include "topology-private.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

typedef struct {
    char *id;
    char *name;    /* attr.name */
    gboolean node; /* for="node" or "all" (or absent) */
    gboolean edge; /* for="edge" or "all" (or absent) */
} GraphmlKey;

static gboolean
is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

static guint
line_of(const xmlNode *n)
{
    long l = xmlGetLineNo(n);
    return l > 0 ? (guint) l : 0;
}

/* The value of one <data>: its text, trimmed (caller frees). */
static char *
data_text(xmlNode *d)
{
    xmlChar *c = xmlNodeGetContent(d);
    char *s = g_strdup(c ? (const char *) c : "");
    xmlFree(c);
    return g_strstrip(s);
}

typedef struct {
    MsTopologyBuilder *b;
    GPtrArray *keys; /* of GraphmlKey* */
    GError **error;
} GraphmlReader;

static const GraphmlKey *
key_of(GraphmlReader *R, xmlNode *d, gboolean node)
{
    xmlChar *k = xmlGetProp(d, BAD_CAST "key");
    const GraphmlKey *found = NULL;
    for (guint i = 0; k && i < R->keys->len && !found; i++) {
        const GraphmlKey *gk = R->keys->pdata[i];
        if (strcmp(gk->id, (const char *) k) == 0)
            found = gk;
    }
    if (!found) {
        ms__topology_fail(R->error, R->b->t, line_of(d),
                          "<data key=\"%s\">: unknown key: expected the id of a <key> declared "
                          "before the graph",
                          k ? (const char *) k : "");
    } else if (!(node ? found->node : found->edge)) {
        ms__topology_fail(R->error, R->b->t, line_of(d),
                          "<data key=\"%s\"> ('%s') is declared for=\"%s\": not for a %s",
                          found->id, found->name, node ? "edge" : "node", node ? "node" : "edge");
        found = NULL;
    }
    xmlFree(k);
    return found;
}

static gboolean
number(GraphmlReader *R, xmlNode *d, const char *what, const char *text, double *out)
{
    if (!ms__topology_parse_double(text, out))
        return ms__topology_fail(R->error, R->b->t, line_of(d), "%s '%s': expected a number", what,
                                 text);
    return TRUE;
}

static gboolean
read_node(GraphmlReader *R, xmlNode *n)
{
    MsTopology *t = R->b->t;
    xmlChar *id = xmlGetProp(n, BAD_CAST "id");
    if (!id)
        return ms__topology_fail(R->error, t, line_of(n), "<node> without an id");
    MsTopologyNode *node = ms__topology_add_node(R->b, line_of(n), (const char *) id, R->error);
    xmlFree(id);
    if (!node)
        return FALSE;
    guint idx = t->nodes->len - 1;
    gboolean has_lat = FALSE, has_lon = FALSE;
    guint geo_line = line_of(n);
    for (xmlNode *d = n->children; d; d = d->next) {
        if (!is_elem(d, "data"))
            continue;
        const GraphmlKey *k = key_of(R, d, TRUE);
        if (!k)
            return FALSE;
        g_autofree char *v = data_text(d);
        node = &g_array_index(t->nodes, MsTopologyNode, idx);
        double x;
        if (!k->name)
            continue;
        if (strcmp(k->name, "label") == 0 && v[0]) {
            g_free(node->label);
            node->label = g_steal_pointer(&v);
        } else if (strcmp(k->name, "Latitude") == 0) {
            if (!number(R, d, "Latitude", v, &node->lat))
                return FALSE;
            has_lat = TRUE;
            geo_line = line_of(d);
        } else if (strcmp(k->name, "Longitude") == 0) {
            if (!number(R, d, "Longitude", v, &node->lon))
                return FALSE;
            has_lon = TRUE;
            geo_line = line_of(d);
        } else if (strcmp(k->name, "Internal") == 0) {
            if (!number(R, d, "Internal", v, &x))
                return FALSE;
            node->internal = x != 0;
        } else if (strcmp(k->name, "population") == 0) {
            if (!number(R, d, "population", v, &x))
                return FALSE;
            if (x < 0)
                return ms__topology_fail(R->error, t, line_of(d),
                                         "population %g: expected 0 or more", x);
            node->population = x;
        }
    }
    node = &g_array_index(t->nodes, MsTopologyNode, idx);
    if (has_lat != has_lon)
        return ms__topology_fail(
            R->error, t, geo_line, "node '%s' has %s but no %s: give both or neither", node->id,
            has_lat ? "Latitude" : "Longitude", has_lat ? "Longitude" : "Latitude");
    if (has_lat) {
        if (node->lat < -90 || node->lat > 90 || node->lon < -180 || node->lon > 180)
            return ms__topology_fail(R->error, t, geo_line,
                                     "node '%s': (%g, %g) is not a place: expected latitude -90 "
                                     "to 90 and longitude -180 to 180",
                                     node->id, node->lat, node->lon);
        node->has_geo = TRUE;
    }
    return TRUE;
}

static gboolean
read_edge(GraphmlReader *R, xmlNode *n)
{
    MsTopology *t = R->b->t;
    xmlChar *a = xmlGetProp(n, BAD_CAST "source"), *z = xmlGetProp(n, BAD_CAST "target");
    MsTopologyEdge *e = NULL;
    if (!a || !z)
        ms__topology_fail(
            R->error, t, line_of(n),
            "<edge> without %s: expected source= and target=", a ? "a target" : "a source");
    else
        e = ms__topology_add_edge(R->b, line_of(n), (const char *) a, (const char *) z, R->error);
    xmlFree(a);
    xmlFree(z);
    if (!e)
        return FALSE;
    guint idx = t->edges->len - 1;
    double raw = -1, speed = -1, scale = 1;
    guint speed_line = line_of(n);
    for (xmlNode *d = n->children; d; d = d->next) {
        if (!is_elem(d, "data"))
            continue;
        const GraphmlKey *k = key_of(R, d, FALSE);
        if (!k)
            return FALSE;
        if (!k->name)
            continue;
        g_autofree char *v = data_text(d);
        if (strcmp(k->name, "LinkSpeedRaw") == 0) {
            if (!number(R, d, "LinkSpeedRaw", v, &raw))
                return FALSE;
            speed_line = line_of(d);
        } else if (strcmp(k->name, "LinkSpeed") == 0) {
            if (!number(R, d, "LinkSpeed", v, &speed))
                return FALSE;
            speed_line = line_of(d);
        } else if (strcmp(k->name, "LinkSpeedUnits") == 0) {
            if (!ms__topology_unit_scale(v, &scale))
                return ms__topology_fail(R->error, t, line_of(d),
                                         "LinkSpeedUnits '%s': expected k, M, G or T", v);
        } else if (strcmp(k->name, "LinkLabel") == 0) {
            e = &g_array_index(t->edges, MsTopologyEdge, idx);
            g_free(e->label);
            e->label = g_steal_pointer(&v);
        }
    }
    e = &g_array_index(t->edges, MsTopologyEdge, idx);
    double bps = raw >= 0 ? raw : speed >= 0 ? speed * scale : 0;
    if (raw >= 0 || speed >= 0) {
        if (!(bps > 0 && bps < 1e15))
            return ms__topology_fail(R->error, t, speed_line,
                                     "link speed %g bps: expected more than 0 and less than 1 Pbps",
                                     bps);
        e->speed_bps = MAX((guint64) bps, (guint64) 1);
    }
    return TRUE;
}

/* The line of "<!DOCTYPE" (libxml2 keeps none for the DTD node). */
static guint
doctype_line(const char *data, gsize len)
{
    const char *d = g_strstr_len(data, (gssize) len, "<!DOCTYPE");
    guint line = 1;
    for (const char *p = data; d && p < d; p++)
        line += *p == '\n';
    return line;
}

static void
key_free(gpointer p)
{
    GraphmlKey *k = p;
    g_free(k->id);
    g_free(k->name);
    g_free(k);
}

gboolean
ms__topology_read_graphml(MsTopologyBuilder *b, const char *data, gsize len, GError **error)
{
    MsTopology *t = b->t;
    if (len > G_MAXINT)
        return ms__topology_fail(error, t, 0, "too large");
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return ms__topology_fail(error, t, 0, "out of memory");
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, data, (int) len, t->path, NULL,
                                    XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        g_autofree char *msg = g_strdup(e && e->message ? e->message : "parse error");
        gboolean r = ms__topology_fail(error, t, e ? (guint) MAX(e->line, 0) : 0,
                                       "not well-formed XML: %s", g_strchomp(msg));
        xmlFreeParserCtxt(ctxt);
        return r;
    }
    xmlFreeParserCtxt(ctxt);
    gboolean ok = TRUE;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (doc->intSubset || doc->extSubset)
        ok = ms__topology_fail(error, t, doctype_line(data, len),
                               "a DOCTYPE: refused (GraphML needs none, and entities could hide "
                               "in it)");
    else if (!root || !is_elem(root, "graphml"))
        ok = ms__topology_fail(error, t, root ? line_of(root) : 1,
                               "the root element must be <graphml>");
    GraphmlReader R = { b, g_ptr_array_new_with_free_func(key_free), error };
    xmlNode *graph = NULL;
    for (xmlNode *n = ok ? root->children : NULL; n && ok; n = n->next) {
        if (is_elem(n, "key")) {
            xmlChar *id = xmlGetProp(n, BAD_CAST "id"), *name = xmlGetProp(n, BAD_CAST "attr.name"),
                    *forw = xmlGetProp(n, BAD_CAST "for");
            if (!id) {
                ok = ms__topology_fail(error, t, line_of(n), "<key> without an id");
            } else {
                GraphmlKey *k = g_new0(GraphmlKey, 1);
                k->id = g_strdup((const char *) id);
                k->name = name ? g_strdup((const char *) name) : NULL;
                const char *f = forw ? (const char *) forw : "all";
                k->node = strcmp(f, "node") == 0 || strcmp(f, "all") == 0;
                k->edge = strcmp(f, "edge") == 0 || strcmp(f, "all") == 0;
                g_ptr_array_add(R.keys, k);
            }
            xmlFree(id);
            xmlFree(name);
            xmlFree(forw);
        } else if (is_elem(n, "graph") && !graph) {
            graph = n;
        }
    }
    if (ok && !graph)
        ok = ms__topology_fail(error, t, line_of(root), "no <graph> in <graphml>");
    /* Nodes first: an edge may come before the nodes it joins. */
    for (int pass = 0; ok && pass < 2; pass++)
        for (xmlNode *n = graph->children; n && ok; n = n->next) {
            if (pass == 0 && is_elem(n, "node"))
                ok = read_node(&R, n);
            else if (pass == 1 && is_elem(n, "edge"))
                ok = read_edge(&R, n);
        }
    g_ptr_array_unref(R.keys);
    xmlFreeDoc(doc);
    return ok;
}
