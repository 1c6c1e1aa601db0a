/* The <topology> element of scenario files: <topology file=... format=...>
 * -> the importer (include/mailsim/topology.h) -> router and link elements
 * (and, with domains=, the mail of a generated world placed on those
 * routers, include/mailsim/generate.h) spliced into the document in its
 * place, before the schema sees it, so an imported world is checked like a
 * written one (as <generate> is, sim/scenario/scenario.c).
 *
 * Rules: file= is relative to the scenario file's folder (the current
 * folder for a scenario read from memory); format= may be left out when
 * the file name says it (.graphml, .gml, .brite, as-rel). Routers are r0,
 * r1, ... in the file's node order ("rN.P" for the PoPs of an AS with
 * pops=), addresses 10.0.0.1 upwards, continued across several <topology>
 * elements; the generated elements carry the <topology> element's line, so
 * an error in them names it. The importer's warnings (file:line of the
 * topology file) are kept for `validate` and `run` to print.
 *
 * Mail placement (domains= given): MX hosts hang off the network's own
 * routers (Internal, or all when none is marked), chosen by weight
 * (placement="population": the node's population, else its degree) or
 * evenly; the DNS registry and the relays hang off the best-connected
 * twentieth of the routers (by weight, ties by order). Random draws come
 * from the seed= of the element (1 by default). */
#include "scenario-private.h"
#include "mailsim/generate.h"
#include "mailsim/topology.h"
#include "mailsim/units.h"

#include <string.h>

#include <libxml/parser.h>

typedef struct {
    guint idx;
    double w;
} Ranked;

static gint
ranked_cmp(gconstpointer a, gconstpointer b)
{
    const Ranked *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* The sites of ms_generate_mail_elements for an imported graph. */
static void
mail_sites(const MsTopology *t, guint32 pops, GPtrArray *ids, GArray *weights, gboolean even,
           MsGenSites *sites)
{
    sites->attach = g_ptr_array_new();
    sites->core = g_ptr_array_new();
    sites->cumulative = even ? NULL : g_array_new(FALSE, FALSE, sizeof(double));
    guint internal = 0;
    for (guint i = 0; i < t->nodes->len; i++)
        internal += g_array_index(t->nodes, MsTopologyNode, i).internal;
    double sum = 0;
    for (guint i = 0; i < ids->len; i++) {
        const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i / pops);
        if (internal > 0 && !n->internal)
            continue;
        g_ptr_array_add(sites->attach, ids->pdata[i]);
        if (sites->cumulative) {
            /* Every router keeps a little weight, so a network of zero
             * populations still takes mail. */
            sum += MAX(g_array_index(weights, double, i), 0.0) + 1e-9;
            g_array_append_val(sites->cumulative, sum);
        }
    }
    g_autoptr(GArray) ranked = g_array_new(FALSE, FALSE, sizeof(Ranked));
    for (guint i = 0; i < ids->len; i++) {
        Ranked r = { i, g_array_index(weights, double, i) };
        g_array_append_val(ranked, r);
    }
    g_array_sort(ranked, ranked_cmp);
    guint ncore = MAX(1u, ids->len / 20);
    for (guint i = 0; i < ncore; i++)
        g_ptr_array_add(sites->core, ids->pdata[g_array_index(ranked, Ranked, i).idx]);
}

guint32
ms_topology_append_world(const MsTopology *t, guint32 pops, const MsGenParams *mail, gboolean even,
                         guint32 next_addr, GString *out)
{
    MsTopologyWriteOptions wo = { pops, next_addr };
    GPtrArray *ids = NULL;
    GArray *weights = NULL, *asns = NULL;
    next_addr = ms_topology_write_elements(t, &wo, out, &ids, &weights, &asns);
    if (mail) {
        MsGenSites sites;
        mail_sites(t, t->is_as_graph ? MAX(pops, 1u) : 1, ids, weights, even, &sites);
        next_addr = ms_generate_mail_elements(mail, &sites, next_addr, out);
        g_ptr_array_unref(sites.attach);
        g_ptr_array_unref(sites.core);
        if (sites.cumulative)
            g_array_free(sites.cumulative, TRUE);
    }
    g_ptr_array_unref(ids);
    g_array_free(weights, TRUE);
    g_array_free(asns, TRUE);
    return next_addr;
}

/* Reads the counts and options of one <topology>; FALSE (errors added) when
 * one is bad. */
static gboolean
read_options(MsScenarioDiag *d, xmlNode *n, guint line, MsGenParams *p, guint32 *pops,
             gboolean *even, gboolean *mail)
{
    static const char *const counts[] = {
        "domains", "users", "messages", "seed", "outages", "pops"
    };
    guint64 values[G_N_ELEMENTS(counts)] = { 0 };
    gboolean ok = TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
        xmlChar *v = xmlGetProp(n, BAD_CAST counts[i]);
        g_autoptr(GError) e = NULL;
        if (v && !ms_units_parse_count((const char *) v, &values[i], &e)) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                  "element 'topology' attribute '%s': %s", counts[i], e->message);
            ok = FALSE;
        }
        if (i == 0)
            *mail = v != NULL;
        xmlFree(v);
    }
    if (*mail && values[0] == 0) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology' attribute 'domains': 0: expected at least 1 "
                              "(or no domains= for routers only)");
        ok = FALSE;
    }
    if (values[1] > 100000000 || values[2] > 1000000000 || values[0] > 1000000 ||
        values[4] > 1000000) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology': at most 1,000,000 domains and outages, "
                              "100,000,000 users and 1,000,000,000 messages");
        ok = FALSE;
    }
    if (values[5] > 64) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology' attribute 'pops': %" G_GUINT64_FORMAT
                              ": expected 1 to 64 routers per AS",
                              values[5]);
        ok = FALSE;
    }
    p->domains = (guint32) values[0];
    p->users = values[1];
    p->messages = values[2];
    p->seed = values[3] ? values[3] : 1;
    p->outages = (guint32) values[4];
    *pops = (guint32) MAX(values[5], 1u);
    xmlChar *dur = xmlGetProp(n, BAD_CAST "duration");
    if (dur) {
        g_autoptr(GError) e = NULL;
        if (!ms_units_parse_time((const char *) dur, &p->duration, &e) || p->duration <= 0) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                  "element 'topology' attribute 'duration': %s",
                                  e ? e->message : "must be greater than zero");
            ok = FALSE;
        }
    }
    xmlFree(dur);
    xmlChar *pl = xmlGetProp(n, BAD_CAST "placement");
    *even = pl && xmlStrcmp(pl, BAD_CAST "even") == 0;
    xmlFree(pl);
    return ok;
}

/* One <topology> element -> the text of its elements, or NULL (errors
 * added). */
static GString *
expand_one(MsScenarioDiag *d, xmlNode *n, guint line, guint32 *next_addr)
{
    xmlChar *file = xmlGetProp(n, BAD_CAST "file");
    xmlChar *fmt = xmlGetProp(n, BAD_CAST "format");
    MsTopologyFormat format = MS_TOPOLOGY_GRAPHML;
    gboolean ok = TRUE;
    if (!file || !file[0]) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology' attribute 'file': missing: expected the path "
                              "of a GraphML, GML, CAIDA AS-relationship or BRITE file");
        ok = FALSE;
    } else if (fmt ? !ms_topology_format_from_string((const char *) fmt, &format)
                   : !ms_topology_format_guess((const char *) file, &format)) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology' attribute 'format': %s%s%s: expected graphml, "
                              "gml, caida-asrel or brite",
                              fmt ? "'" : "missing and the file name does not say",
                              fmt ? (const char *) fmt : "", fmt ? "' is not a format" : "");
        ok = FALSE;
    }
    MsGenParams p = { 0 };
    guint32 pops = 1;
    gboolean even = FALSE, mail = FALSE;
    if (!read_options(d, n, line, &p, &pops, &even, &mail))
        ok = FALSE;
    g_autofree char *path = NULL;
    if (ok) {
        if (g_path_is_absolute((const char *) file) || !d->path || d->path[0] == '(') {
            path = g_strdup((const char *) file);
        } else {
            g_autofree char *dir = g_path_get_dirname(d->path);
            path = g_build_filename(dir, (const char *) file, NULL);
        }
    }
    xmlFree(file);
    xmlFree(fmt);
    if (!ok)
        return NULL;
    g_autoptr(GError) e = NULL;
    g_autoptr(MsTopology) t = ms_topology_load_file(path, format, &e);
    if (!t) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                              "element 'topology' attribute 'file': %s", e->message);
        return NULL;
    }
    for (guint i = 0; i < t->warnings->len; i++)
        g_ptr_array_add(d->import_warnings, g_strdup(t->warnings->pdata[i]));
    GString *s = g_string_new("<scenario>\n");
    *next_addr = ms_topology_append_world(t, pops, mail ? &p : NULL, even, *next_addr, s);
    g_string_append(s, "</scenario>\n");
    return s;
}

void
ms__scenario_expand_topology(MsScenarioDiag *d, xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *next = NULL;
    guint32 next_addr = 0x0A000001u;
    for (xmlNode *n = root ? root->children : NULL; n; n = next) {
        next = n->next;
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "topology") != 0)
            continue;
        guint line = (guint) MAX(xmlGetLineNo(n), 0);
        GString *s = expand_one(d, n, line, &next_addr);
        if (!s) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            continue;
        }
        /* Our own text (labels escaped): no entities, so the plain parser
         * is safe; HUGE lifts libxml2's size limits for large graphs. */
        xmlDoc *gen = xmlReadMemory(s->str, (int) MIN(s->len, (gsize) G_MAXINT), "imported", NULL,
                                    XML_PARSE_NONET | XML_PARSE_HUGE);
        g_string_free(s, TRUE);
        if (!gen) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                  "element 'topology': internal error");
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            continue;
        }
        xmlNode *groot = xmlDocGetRootElement(gen);
        for (xmlNode *c = groot->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            xmlNode *copy = xmlDocCopyNode(c, doc, 1);
            ms__scenario_set_lines(copy, line);
            xmlAddPrevSibling(n, copy);
        }
        xmlFreeDoc(gen);
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
}
