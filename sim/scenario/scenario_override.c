/* Scenario overrides (include/mailsim/scenario_override.h): XPath
 * expressions applied to the parsed document of a scenario, between the
 * parser and the schema, so that a sweep can set any attribute.
 *
 * Design. The loader (scenario.c) calls ms__scenario_apply_overrides()
 * twice: on the document as written, and again after <generate> is
 * expanded for the overrides that selected nothing the first time. Each
 * pass evaluates the expression with libxml2's XPath engine; attributes and
 * text nodes it selects take the value; elements are refused (an override
 * sets values, it does not replace elements). When the expression selects
 * nothing and ends in "/@NAME", the part before is evaluated and the
 * attribute added to each element it selects, so defaults left unwritten
 * can be set too, provided the schema knows that attribute for that
 * element (checked here: <generate> is replaced before the schema looks).
 * Nothing here judges the value: the schema and the reader
 * that follow do, with the file's line numbers.
 *
 * Errors: an expression that does not compile gives libxml2's reason;
 * one that selects nothing after both passes, or selects elements or a
 * number, is an error naming the expression. libxml2 reports XPath errors
 * through the context's structured handler, caught here so nothing is
 * printed on stderr.
 * Ownership: the document is the caller's; every XPath object is freed
 * before return. Threading: libxml2's XPath is reentrant per context; each
 * call makes its own. Costs: one evaluation per override and pass,
 * O(document) each for "//" paths. */
#include "mailsim/scenario_override.h"
#include "mailsim/embedded.h"
#include "scenario-private.h"

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

typedef struct {
    GString *why;
} XPathErrors;

static void
on_xpath_error(void *user, xmlErrorPtr e)
{
    XPathErrors *x = user;
    if (!e || !e->message || x->why->len)
        return;
    g_string_append(x->why, e->message);
    g_strstrip(x->why->str);
    x->why->len = strlen(x->why->str);
}

/* Compiles `select` in a fresh context of `doc` (may be NULL). Returns the
 * compiled expression (caller frees with xmlXPathFreeCompExpr) or NULL with
 * the reason in `why`. */
static xmlXPathCompExprPtr
compile(xmlXPathContextPtr ctx, const char *select, GString *why)
{
    XPathErrors x = { why };
    ctx->error = on_xpath_error;
    ctx->userData = &x;
    xmlXPathCompExprPtr c = xmlXPathCtxtCompile(ctx, BAD_CAST select);
    if (!c && !why->len)
        g_string_append(why, "not a valid XPath expression");
    return c;
}

gboolean
ms_scenario_xpath_check(const char *select, GError **error)
{
    g_return_val_if_fail(select != NULL, FALSE);
    g_autoptr(GString) why = g_string_new(NULL);
    xmlXPathContextPtr ctx = xmlXPathNewContext(NULL);
    xmlXPathCompExprPtr c = *select ? compile(ctx, select, why) : NULL;
    xmlXPathFreeContext(ctx);
    if (!c) {
        g_set_error(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_INVALID,
                    "'%s' is not an XPath expression: %s", select,
                    why->len ? why->str : "it is empty");
        return FALSE;
    }
    xmlXPathFreeCompExpr(c);
    return TRUE;
}

/* Evaluates `select` on doc: the selected nodes (caller frees with
 * xmlXPathFreeObject), or NULL with `why` when it does not compile or is
 * not a node set. */
static xmlXPathObjectPtr
evaluate(xmlDoc *doc, const char *select, GString *why)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathCompExprPtr c = compile(ctx, select, why);
    xmlXPathObjectPtr r = c ? xmlXPathCompiledEval(c, ctx) : NULL;
    if (c && !r && !why->len)
        g_string_append(why, "cannot be evaluated");
    if (r && r->type != XPATH_NODESET) {
        g_string_append(why, "gives a value, not nodes: expected a path to attributes "
                             "(\"//link/@loss\")");
        g_clear_pointer(&r, xmlXPathFreeObject);
    }
    xmlXPathFreeCompExpr(c);
    xmlXPathFreeContext(ctx);
    return r;
}

static guint
n_nodes(xmlXPathObjectPtr r)
{
    return r && r->nodesetval ? (guint) r->nodesetval->nodeNr : 0;
}

/* The attribute name at the end of "PATH/@NAME", or NULL (caller frees);
 * `prefix` gets PATH. */
static char *
trailing_attribute(const char *select, char **prefix)
{
    const char *at = g_strrstr(select, "/@");
    if (!at || at == select)
        return NULL;
    const char *name = at + 2;
    if (!*name || !(g_ascii_isalpha(*name) || *name == '_'))
        return NULL;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
            return NULL;
    *prefix = g_strndup(select, (gsize) (at - select));
    return g_strdup(name);
}

/* The schema's names (scenario_names.c), for attributes an override adds. */
static MsScenarioNames *
schema_names(void)
{
    gsize len = 0;
    const guint8 *rng = ms_embedded_get("scenarios/schema/scenario.rng", &len);
    return rng ? ms__scenario_names_new(rng, len) : NULL;
}

static gboolean
names_has(const char *element, const char *attribute)
{
    g_autoptr(MsScenarioNames) names = schema_names();
    return !names || ms__scenario_names_has(names, element, TRUE, attribute);
}

static char *
names_hint(const char *element, const char *attribute)
{
    g_autoptr(MsScenarioNames) names = schema_names();
    return names ? ms__scenario_names_hint(names, element, TRUE, attribute) : g_strdup("");
}

/* Applies one override to doc. Returns the number of nodes set (0 when
 * the expression selects nothing), or -1 with an error added to d. */
static gint
apply_one(MsScenarioDiag *d, xmlDoc *doc, const MsScenarioOverride *o, gboolean create)
{
    g_autoptr(GString) why = g_string_new(NULL);
    xmlXPathObjectPtr r = evaluate(doc, o->select, why);
    if (!r) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, 0, "%s: %s", o->select, why->str);
        return -1;
    }
    guint n = n_nodes(r);
    for (guint i = 0; i < n; i++) {
        xmlNode *node = r->nodesetval->nodeTab[i];
        if (node->type != XML_ATTRIBUTE_NODE && node->type != XML_TEXT_NODE) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, (guint) xmlGetLineNo(node),
                                  "%s selects element '%s': expected attributes (end the path "
                                  "with /@NAME) or text (/text())",
                                  o->select, (const char *) node->name);
            xmlXPathFreeObject(r);
            return -1;
        }
    }
    for (guint i = 0; i < n; i++) {
        xmlNode *node = r->nodesetval->nodeTab[i];
        if (node->type == XML_ATTRIBUTE_NODE)
            xmlSetProp(node->parent, node->name, BAD_CAST o->value);
        else
            xmlNodeSetContent(node, BAD_CAST o->value);
    }
    xmlXPathFreeObject(r);
    if (n > 0 || !create)
        return (gint) n;
    g_autofree char *prefix = NULL;
    g_autofree char *name = trailing_attribute(o->select, &prefix);
    if (!name)
        return 0;
    g_string_truncate(why, 0);
    r = evaluate(doc, prefix, why);
    n = n_nodes(r);
    guint set = 0;
    for (guint i = 0; i < n; i++) {
        xmlNode *node = r->nodesetval->nodeTab[i];
        if (node->type != XML_ELEMENT_NODE)
            continue;
        /* Only attributes the schema knows: <generate> is expanded before
         * the schema would see a stray one. */
        const char *element = (const char *) node->name;
        if (!names_has(element, name)) {
            g_autofree char *hint = names_hint(element, name);
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, (guint) xmlGetLineNo(node),
                                  "%s: element '%s' has no attribute '%s'%s", o->select, element,
                                  name, hint);
            xmlXPathFreeObject(r);
            return -1;
        }
        xmlSetProp(node, BAD_CAST name, BAD_CAST o->value);
        set++;
    }
    if (r)
        xmlXPathFreeObject(r);
    return (gint) set;
}

void
ms__scenario_apply_overrides(MsScenarioDiag *d, xmlDoc *doc, const MsScenarioOverride *overrides,
                             guint n, gboolean *applied, gboolean expanded)
{
    for (guint i = 0; i < n; i++) {
        if (applied[i])
            continue;
        gint set = apply_one(d, doc, &overrides[i], TRUE);
        if (set != 0)
            applied[i] = TRUE; /* set, or an error already said */
        else if (expanded)
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, 0,
                                  "%s selects nothing in this scenario (as written, nor after "
                                  "<generate> is expanded)",
                                  overrides[i].select);
    }
}
