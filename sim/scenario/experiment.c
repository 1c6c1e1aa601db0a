/* Experiment files (include/mailsim/experiment.h): parsed with libxml2,
 * checked against the embedded RELAX NG schema scenarios/schema/
 * experiment.rng, then read into plain data for the sweep
 * (sim/run/sweep_experiment.c), which checks the meaning of what it is
 * given (statistic names, XPaths, values and ranges) and names the line.
 *
 * Design. As the scenario loader (scenario.c) does, and more briefly: no
 * entity declarations (refused while parsing), no network, libxml2's
 * messages caught through the structured handlers and collected, every
 * error as "file:line: ...", all of them rather than the first. The schema
 * decides the structure; this file reads attributes it has checked, and
 * checks what a schema cannot say (the version, at least one axis or
 * scenario, names used twice).
 * Ownership: the result owns its strings. Costs: one parse and one
 * validation; the schema is compiled per call. */
#include "mailsim/experiment.h"
#include "mailsim/embedded.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>
#include <string.h>

G_DEFINE_QUARK(ms - experiment - error - quark, ms_experiment_error)

#define SCHEMA_NAME "scenarios/schema/experiment.rng"

typedef struct {
    const char *path;
    GString *out;
    guint count;
    gboolean stopped;
} Diag;

static void diag_add(Diag *d, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
diag_add(Diag *d, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_strstrip(msg);
    g_strdelimit(msg, "\r\n", ' ');
    if (d->count++ >= 50)
        return;
    if (d->out->len)
        g_string_append_c(d->out, '\n');
    if (line)
        g_string_append_printf(d->out, "%s:%u: %s", d->path, line, msg);
    else
        g_string_append_printf(d->out, "%s: %s", d->path, msg);
}

static void
on_parser_error(void *user, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = user;
    if (e->level == XML_ERR_WARNING)
        return;
    diag_add(ctxt->_private, e->line > 0 ? (guint) e->line : 0, "malformed XML: %s",
             e->message ? e->message : "unknown error");
}

static void
guard_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                  const xmlChar *system_id, xmlChar *content)
{
    (void) type, (void) public_id, (void) system_id, (void) content;
    xmlParserCtxtPtr ctxt = ctx;
    Diag *d = ctxt->_private;
    if (d->stopped)
        return;
    diag_add(d, (guint) xmlSAX2GetLineNumber(ctxt),
             "DOCTYPE declares entity '%s': entity declarations are refused", (const char *) name);
    d->stopped = TRUE;
    xmlStopParser(ctxt);
}

static void
on_schema_error(void *user, xmlErrorPtr e)
{
    if (e->level == XML_ERR_WARNING)
        return;
    xmlNode *node = e->node;
    guint line = node ? (guint) xmlGetLineNo(node) : (e->line > 0 ? (guint) e->line : 0);
    if (node && node->type == XML_ELEMENT_NODE)
        diag_add(user, line, "element '%s': not allowed by the schema: %s",
                 (const char *) node->name, e->message ? e->message : "");
    else
        diag_add(user, line, "not allowed by the schema: %s", e->message ? e->message : "");
}

static gboolean
validate(Diag *d, xmlDoc *doc)
{
    gsize len = 0;
    const guint8 *rng = ms_embedded_get(SCHEMA_NAME, &len);
    if (!rng) {
        diag_add(d, 0, "internal error: " SCHEMA_NAME " is not embedded in this binary");
        return FALSE;
    }
    xmlRelaxNGParserCtxtPtr pctxt = xmlRelaxNGNewMemParserCtxt((const char *) rng, (int) len);
    xmlRelaxNGSetParserStructuredErrors(pctxt, on_schema_error, d);
    xmlRelaxNGPtr schema = xmlRelaxNGParse(pctxt);
    xmlRelaxNGFreeParserCtxt(pctxt);
    if (!schema) {
        diag_add(d, 0, "internal error: the embedded schema " SCHEMA_NAME " does not compile");
        return FALSE;
    }
    xmlRelaxNGValidCtxtPtr vctxt = xmlRelaxNGNewValidCtxt(schema);
    xmlRelaxNGSetValidStructuredErrors(vctxt, on_schema_error, d);
    int rc = xmlRelaxNGValidateDoc(vctxt, doc);
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(schema);
    if (rc != 0 && d->count == 0)
        diag_add(d, 0, "the document does not match the schema " SCHEMA_NAME);
    return rc == 0;
}

static char *
prop(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = g_strdup((const char *) v);
    xmlFree(v);
    return s;
}

static gboolean
is(xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *) n->name, name);
}

static void
scenario_free(gpointer p)
{
    MsExperimentScenario *s = p;
    g_free(s->file);
    g_free(s->path);
    g_free(s->label);
    g_free(s);
}

static void
axis_free(gpointer p)
{
    MsExperimentAxis *a = p;
    g_free(a->name);
    g_free(a->key);
    g_free(a->values);
    g_free(a);
}

void
ms_experiment_free(MsExperiment *e)
{
    if (!e)
        return;
    g_free(e->path);
    g_free(e->name);
    g_free(e->title);
    g_free(e->seeds);
    g_ptr_array_unref(e->scenarios);
    g_ptr_array_unref(e->dims);
    g_ptr_array_unref(e->statistics);
    g_free(e->results);
    g_free(e->csv);
    g_free(e->tidy);
    g_free(e->json);
    g_free(e->plot);
    g_free(e->plot_x);
    g_free(e->plot_split);
    g_free(e);
}

static MsExperimentAxis *
read_axis(Diag *d, xmlNode *n)
{
    MsExperimentAxis *a = g_new0(MsExperimentAxis, 1);
    a->line = (guint) xmlGetLineNo(n);
    a->name = prop(n, "name");
    char *select = prop(n, "select"), *key = prop(n, "key");
    if ((select != NULL) == (key != NULL))
        diag_add(d, a->line,
                 "element 'axis': give either select= (an XPath) or key= (a short key), not %s",
                 select ? "both" : "neither");
    a->key = select ? select : key;
    if (select)
        g_free(key);
    if (!a->key)
        a->key = g_strdup("");
    a->values = prop(n, "values");
    if (!a->values)
        a->values = g_strdup("");
    return a;
}

static void
read_root(Diag *d, xmlNode *root, MsExperiment *e)
{
    e->name = prop(root, "name");
    e->seeds = prop(root, "seeds");
    g_autofree char *reps = prop(root, "replications");
    if (reps) {
        if (e->seeds)
            diag_add(d, (guint) xmlGetLineNo(root),
                     "element 'experiment': give seeds= or replications=, not both");
        else
            e->seeds = g_strdup_printf("1..%s", reps);
    }
    g_autofree char *mp = prop(root, "max-points");
    if (mp) {
        char *end = NULL;
        guint64 v = g_ascii_strtoull(mp, &end, 10);
        if (!end || *end || v == 0 || v > G_MAXUINT32)
            diag_add(d, (guint) xmlGetLineNo(root),
                     "element 'experiment' attribute 'max-points': '%s' is not a whole number "
                     ">= 1",
                     mp);
        e->max_points = (guint) v;
    }
    g_autofree char *dir = g_path_get_dirname(e->path);
    GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal); /* look-ups only */
    for (xmlNode *n = root->children; n; n = n->next) {
        if (is(n, "title")) {
            xmlChar *t = xmlNodeGetContent(n);
            e->title = g_strstrip(g_strdup((const char *) t));
            xmlFree(t);
        } else if (is(n, "scenario")) {
            MsExperimentScenario *s = g_new0(MsExperimentScenario, 1);
            s->line = (guint) xmlGetLineNo(n);
            s->file = prop(n, "file");
            s->label = prop(n, "label");
            s->path = g_path_is_absolute(s->file) ? g_strdup(s->file)
                                                  : g_build_filename(dir, s->file, NULL);
            g_ptr_array_add(e->scenarios, s);
        } else if (is(n, "axis") || is(n, "zip")) {
            GPtrArray *dim = g_ptr_array_new_with_free_func(axis_free);
            if (is(n, "axis"))
                g_ptr_array_add(dim, read_axis(d, n));
            for (xmlNode *c = is(n, "zip") ? n->children : NULL; c; c = c->next)
                if (is(c, "axis"))
                    g_ptr_array_add(dim, read_axis(d, c));
            for (guint i = 0; i < dim->len; i++) {
                MsExperimentAxis *a = dim->pdata[i];
                if (a->name && g_hash_table_contains(names, a->name))
                    diag_add(d, a->line, "element 'axis': the name '%s' is used twice", a->name);
                else if (a->name)
                    g_hash_table_add(names, a->name);
            }
            g_ptr_array_add(e->dims, dim);
        } else if (is(n, "statistic")) {
            if (!e->statistics_line)
                e->statistics_line = (guint) xmlGetLineNo(n);
            g_ptr_array_add(e->statistics, prop(n, "name"));
        } else if (is(n, "output")) {
            e->results = prop(n, "results");
            e->csv = prop(n, "csv");
            e->tidy = prop(n, "tidy");
            e->json = prop(n, "json");
            e->plot = prop(n, "plot");
            e->plot_x = prop(n, "x");
            e->plot_split = prop(n, "split");
        }
    }
    g_hash_table_unref(names);
}

gboolean
ms_experiment_sniff(const char *data, gsize len)
{
    /* the first element after the prolog and comments */
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *lt = memchr(p, '<', (gsize) (end - p));
        if (!lt || lt + 1 >= end)
            return FALSE;
        if (lt[1] == '?' || lt[1] == '!') {
            const char *close = g_strstr_len(
                lt, end - lt,
                lt[1] == '!' && lt + 3 < end && lt[2] == '-' && lt[3] == '-' ? "-->" : ">");
            if (!close)
                return FALSE;
            p = close + 1;
            continue;
        }
        return (gsize) (end - lt) > 11 && !strncmp(lt + 1, "experiment", 10) &&
               (g_ascii_isspace(lt[11]) || lt[11] == '>' || lt[11] == '/');
    }
    return FALSE;
}

MsExperiment *
ms_experiment_load_memory(const char *data, gsize len, const char *path, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    Diag d = { path, out, 0, FALSE };
    if (len == 0 || len > 4u * 1024 * 1024) {
        g_set_error(error, MS_EXPERIMENT_ERROR, 0, "%s: %s", path,
                    len ? "too large: at most 4 MiB" : "empty file: expected an <experiment>");
        return NULL;
    }
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(data, (int) len);
    if (!ctxt) {
        g_set_error(error, MS_EXPERIMENT_ERROR, 0, "%s: cannot create an XML parser", path);
        return NULL;
    }
    ctxt->_private = &d;
    ctxt->sax->serror = on_parser_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    ctxt->sax->entityDecl = guard_entity_decl;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
    xmlParseDocument(ctxt);
    xmlDoc *doc = ctxt->myDoc;
    gboolean ok = ctxt->wellFormed && !d.stopped && doc;
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    if (!ok) {
        if (!d.count)
            diag_add(&d, 0, "malformed XML");
        xmlFreeDoc(doc);
        g_set_error_literal(error, MS_EXPERIMENT_ERROR, 0, out->str);
        return NULL;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    g_autoptr(MsExperiment) e = g_new0(MsExperiment, 1);
    e->path = g_strdup(path);
    e->scenarios = g_ptr_array_new_with_free_func(scenario_free);
    e->dims = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
    e->statistics = g_ptr_array_new_with_free_func(g_free);
    if (!root || strcmp((const char *) root->name, "experiment") != 0) {
        diag_add(&d, root ? (guint) xmlGetLineNo(root) : 0,
                 "the root element must be <experiment>, not <%s>",
                 root ? (const char *) root->name : "");
    } else {
        g_autofree char *v = prop(root, "version");
        if (v && strcmp(v, G_STRINGIFY(MS_EXPERIMENT_VERSION)) != 0)
            diag_add(&d, (guint) xmlGetLineNo(root),
                     "element 'experiment' attribute 'version': version %s is not supported; "
                     "this mailsim reads version " G_STRINGIFY(MS_EXPERIMENT_VERSION),
                     v);
        else if (validate(&d, doc))
            read_root(&d, root, e);
    }
    xmlFreeDoc(doc);
    if (d.count) {
        if (d.count > 50)
            g_string_append_printf(out, "\n%s: %u more errors not shown", path, d.count - 50);
        g_set_error_literal(error, MS_EXPERIMENT_ERROR, 0, out->str);
        return NULL;
    }
    return g_steal_pointer(&e);
}

MsExperiment *
ms_experiment_load_file(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, MS_EXPERIMENT_ERROR, 0, "%s", local->message);
        return NULL;
    }
    return ms_experiment_load_memory(data, len, path, error);
}
