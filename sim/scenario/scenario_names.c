/* The names the scenario schema knows, for "did you mean" hints: the
 * embedded scenarios/schema/scenario.rng -> for each element name, the
 * attributes it takes and the elements it may contain; an unknown name in a
 * scenario file -> the closest known one (see sim/scenario/scenario.c, which
 * asks only after the schema has refused the document).
 *
 * Design. The RELAX NG grammar is read as plain XML (libxml2, no network):
 * <element name=E> opens a context; <attribute name=A> inside it (not inside
 * a nested <element>) is an attribute of E; a nested <element name=C> is a
 * child of E; <ref name=R> continues in <define name=R> with the same
 * context (each define once per context, so a recursive grammar ends).
 * Names of one element that appears in two places are merged. Lists keep
 * schema order, so ties go to the name the schema lists first.
 *
 * libxml2's RELAX NG validator reports unknown names unevenly (inside a
 * <choice> it backtracks and often says only "failed to validate" for the
 * parent, or nothing), so ms__scenario_check_names also walks the document
 * and reports each unknown attribute and element itself, in libxml2's own
 * words, which the error collector deduplicates against libxml2's.
 *
 * Distance: Damerau-Levenshtein in its optimal-string-alignment form (an
 * insertion, deletion, substitution or swap of two neighbours costs 1), on
 * ASCII-lowered names; a name within 2 of the unknown one (and closer than
 * its own length) is suggested; the first in schema order wins a tie. An
 * element the schema knows, in the wrong place, is told where it goes. The
 * reader (sim/scenario/scenario_read.c) uses the same distance for values:
 * enumerations and references to ids. Costs: O(schema) to build, O(|a| |b|) per
 * comparison; only run on documents the schema refused. */
#include "scenario-private.h"

#include <string.h>

typedef struct {
    GPtrArray *attributes; /* of const char* into the rng doc */
    GPtrArray *children;   /* of const char* into the rng doc */
    GPtrArray *parents;    /* of const char*: the elements it may appear in */
} ElementNames;

struct _MsScenarioNames {
    xmlDoc *rng;
    GHashTable *elements; /* name -> ElementNames* (looked up, never iterated) */
    GHashTable *defines;  /* define name -> xmlNode* */
};

static void
element_names_free(gpointer p)
{
    ElementNames *e = p;
    g_ptr_array_unref(e->attributes);
    g_ptr_array_unref(e->children);
    g_ptr_array_unref(e->parents);
    g_free(e);
}

static gboolean
is_rng(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

/* The name= of an rng node; borrowed from the rng doc. */
static const char *
rng_name(xmlNode *n)
{
    for (xmlAttr *a = n->properties; a; a = a->next)
        if (strcmp((const char *) a->name, "name") == 0 && a->children && a->children->content)
            return (const char *) a->children->content;
    return NULL;
}

static ElementNames *
element_of(MsScenarioNames *names, const char *name)
{
    ElementNames *e = g_hash_table_lookup(names->elements, name);
    if (!e) {
        e = g_new0(ElementNames, 1);
        e->attributes = g_ptr_array_new();
        e->children = g_ptr_array_new();
        e->parents = g_ptr_array_new();
        g_hash_table_insert(names->elements, (gpointer) name, e);
    }
    return e;
}

static void
add_unique(GPtrArray *a, const char *name)
{
    for (guint i = 0; i < a->len; i++)
        if (strcmp(a->pdata[i], name) == 0)
            return;
    g_ptr_array_add(a, (gpointer) name);
}

/* Collects the names under rng node `n` into context element `ctx` ("" for
 * the document); `seen` holds the defines already entered for ctx. */
static void
collect(MsScenarioNames *names, xmlNode *n, const char *ctx, GHashTable *seen)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = rng_name(c);
        if (is_rng(c, "element") && name) {
            add_unique(element_of(names, ctx)->children, name);
            if (*ctx)
                add_unique(element_of(names, name)->parents, ctx);
            g_autoptr(GHashTable) inner = g_hash_table_new(g_str_hash, g_str_equal);
            collect(names, c, name, inner);
        } else if (is_rng(c, "attribute") && name) {
            add_unique(element_of(names, ctx)->attributes, name);
        } else if (is_rng(c, "ref") && name) {
            xmlNode *def = g_hash_table_lookup(names->defines, name);
            if (def && !g_hash_table_contains(seen, name)) {
                g_hash_table_add(seen, (gpointer) name);
                collect(names, def, ctx, seen);
            }
        } else if (!is_rng(c, "define")) {
            collect(names, c, ctx, seen);
        }
    }
}

MsScenarioNames *
ms__scenario_names_new(const guint8 *rng, gsize len)
{
    xmlDoc *doc = xmlReadMemory((const char *) rng, (int) len, "scenario.rng", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *grammar = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!grammar) {
        xmlFreeDoc(doc);
        return NULL;
    }
    MsScenarioNames *names = g_new0(MsScenarioNames, 1);
    names->rng = doc;
    names->elements = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, element_names_free);
    names->defines = g_hash_table_new(g_str_hash, g_str_equal);
    for (xmlNode *c = grammar->children; c; c = c->next)
        if (is_rng(c, "define") && rng_name(c))
            g_hash_table_insert(names->defines, (gpointer) rng_name(c), c);
    for (xmlNode *c = grammar->children; c; c = c->next)
        if (is_rng(c, "start")) {
            g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
            collect(names, c, "", seen);
        }
    return names;
}

void
ms__scenario_names_free(MsScenarioNames *names)
{
    if (!names)
        return;
    g_hash_table_unref(names->elements);
    g_hash_table_unref(names->defines);
    xmlFreeDoc(names->rng);
    g_free(names);
}

guint
ms__scenario_edit_distance(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) /* names are short; a long one is nobody's typo */
        return G_MAXUINT;
    guint d[65][65];
    for (gsize i = 0; i <= la; i++)
        d[i][0] = (guint) i;
    for (gsize j = 0; j <= lb; j++)
        d[0][j] = (guint) j;
    for (gsize i = 1; i <= la; i++)
        for (gsize j = 1; j <= lb; j++) {
            guint cost = g_ascii_tolower(a[i - 1]) != g_ascii_tolower(b[j - 1]);
            guint v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
            v = MIN(v, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 2]) &&
                g_ascii_tolower(a[i - 2]) == g_ascii_tolower(b[j - 1]))
                v = MIN(v, d[i - 2][j - 2] + 1); /* two neighbours swapped */
            d[i][j] = v;
        }
    return d[la][lb];
}

static gboolean
known(GPtrArray *a, const char *name)
{
    for (guint i = 0; i < a->len; i++)
        if (strcmp(a->pdata[i], name) == 0)
            return TRUE;
    return FALSE;
}

gboolean
ms__scenario_names_has(const MsScenarioNames *names, const char *element, gboolean attribute,
                       const char *name)
{
    ElementNames *e = g_hash_table_lookup(names->elements, element);
    return e && known(attribute ? e->attributes : e->children, name);
}

const char *
ms__scenario_closest(const char *const *known, guint n, const char *name)
{
    const char *best = NULL;
    guint best_d = 3; /* at most 2 */
    for (guint i = 0; i < n; i++) {
        const char *k = known[i];
        guint dist = ms__scenario_edit_distance(name, k);
        if (dist < best_d && dist < strlen(k) && strcmp(k, name) != 0) {
            best = k;
            best_d = dist;
        }
    }
    return best;
}

static const char *
closest(GPtrArray *known, const char *name)
{
    return ms__scenario_closest((const char *const *) known->pdata, known->len, name);
}

const char *
ms__scenario_names_suggest(const MsScenarioNames *names, const char *element, gboolean attribute,
                           const char *unknown)
{
    ElementNames *e = g_hash_table_lookup(names->elements, element);
    if (!e)
        return NULL;
    return closest(attribute ? e->attributes : e->children, unknown);
}

char *
ms__scenario_names_hint(const MsScenarioNames *names, const char *element, gboolean attribute,
                        const char *unknown)
{
    const char *s = ms__scenario_names_suggest(names, element, attribute, unknown);
    if (s)
        return g_strdup_printf(" (did you mean '%s'?)", s);
    /* A known element out of place: say where it goes. */
    ElementNames *e = attribute ? NULL : g_hash_table_lookup(names->elements, unknown);
    if (e && e->parents->len) {
        g_autoptr(GString) where = g_string_new(NULL);
        for (guint i = 0; i < e->parents->len; i++)
            g_string_append_printf(where, "%s<%s>", i ? " or " : "",
                                   (const char *) e->parents->pdata[i]);
        return g_strdup_printf(" (<%s> goes inside %s)", unknown, where->str);
    }
    return g_strdup("");
}

/* Walks the children of parent (an element the schema knows, or "" for the
 * document) and reports unknown names; does not descend into unknown
 * elements (their insides are unknown as a whole). */
static void
walk(MsScenarioDiag *d, const MsScenarioNames *names, const char *parent, xmlNode *first)
{
    ElementNames *pe = g_hash_table_lookup(names->elements, parent);
    for (xmlNode *n = first; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *) n->name;
        guint line = (guint) MAX(xmlGetLineNo(n), 0);
        if (!pe || !known(pe->children, name)) {
            if (!*parent)
                continue; /* a root other than <scenario> is reported before */
            g_autofree char *h = ms__scenario_names_hint(names, parent, FALSE, name);
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, line,
                                  "element '%s': not allowed by the schema: Did not expect "
                                  "element %s there%s",
                                  name, name, h);
            continue;
        }
        ElementNames *e = g_hash_table_lookup(names->elements, name);
        for (xmlAttr *a = n->properties; a; a = a->next) {
            const char *an = (const char *) a->name;
            if (e && known(e->attributes, an))
                continue;
            g_autofree char *h = ms__scenario_names_hint(names, name, TRUE, an);
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, line,
                                  "element '%s': not allowed by the schema: Invalid attribute "
                                  "%s for element %s%s",
                                  name, an, name, h);
        }
        walk(d, names, name, n->children);
    }
}

void
ms__scenario_check_names(MsScenarioDiag *d, const MsScenarioNames *names, xmlDoc *doc)
{
    walk(d, names, "", doc->children);
}
