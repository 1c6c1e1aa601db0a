/* Scenario loading: scenario.xml -> libxml2 tree -> RELAX NG -> MsScenario
 * (see include/mailsim/scenario.h). This file is the front door: it reads
 * the bytes, parses them with guards against hostile XML, validates against
 * the embedded schema, hands the tree to the reader (sim/scenario/scenario_read.c)
 * and turns every error collected on the way into one GError.
 *
 * Design. Errors are gathered, never thrown: the parser's and the schema
 * validator's structured error callbacks and the reader's meaning checks all
 * append to one MsScenarioDiag, so a user sees every mistake at once. Lines
 * are sorted by line number (stable). A schema error on a line where the
 * reader also found a problem is dropped, because the reader's message says
 * what was expected and libxml2's ("Element host failed to validate
 * attributes") does not; schema errors about unknown attributes and
 * elements are always kept, since the reader does not look for those, and
 * carry a "did you mean" hint with the closest name the schema knows
 * (sim/scenario/scenario_names.c).
 *
 * Hostile input. The file size is checked before reading; the parser runs
 * with XML_PARSE_NONET and without XML_PARSE_NOENT / XML_PARSE_DTDLOAD /
 * XML_PARSE_HUGE, so external entities are never fetched nor substituted and
 * libxml2's own limits stay on. On top of that, SAX hooks stop the parser at
 * the first entity declaration (no billion laughs: nothing is ever expanded)
 * and at an element nested deeper than MS_SCENARIO_MAX_DEPTH; after parsing,
 * one walk refuses attribute values and texts above their limits before
 * anything else looks at them. Encoding errors come from the parser with
 * their line.
 *
 * No state outside the call: libxml2's per-context handlers are used, never
 * its global error functions, so loads may run in parallel threads.
 * Costs: the schema (~10 KB) is compiled on every load (well under a
 * millisecond); parsing and checking are linear in the file size. */
#include "mailsim/scenario_override.h"
#include "mailsim/input_file.h"
#include "scenario-private.h"
#include "mailsim/embedded.h"
#include "mailsim/generate.h"
#include "mailsim/units.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>

G_DEFINE_QUARK(ms - scenario - error - quark, ms_scenario_error)

#define SCHEMA_NAME "scenarios/schema/scenario.rng"

typedef struct {
    guint line;
    guint seq;
    MsScenarioErrorOrigin origin;
    char *text;
} ScenarioErrorLine;

static void
error_line_free(gpointer p)
{
    ScenarioErrorLine *e = p;
    g_free(e->text);
    g_free(e);
}

void
ms__scenario_diag_add(MsScenarioDiag *d, MsScenarioErrorOrigin origin, guint line, const char *fmt,
                      ...)
{
    ScenarioErrorLine *e = g_new0(ScenarioErrorLine, 1);
    va_list ap;
    va_start(ap, fmt);
    e->text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    e->line = line;
    e->seq = d->seq++;
    e->origin = origin;
    g_ptr_array_add(d->errors, e);
}

guint
ms__scenario_diag_count(const MsScenarioDiag *d)
{
    return d->errors->len;
}

static gint
error_line_cmp(gconstpointer a, gconstpointer b)
{
    const ScenarioErrorLine *x = *(ScenarioErrorLine *const *) a;
    const ScenarioErrorLine *y = *(ScenarioErrorLine *const *) b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Schema errors that name something the reader does not look at (an
 * unknown attribute or element) are kept even next to a reader's error. */
static gboolean
specific_schema_error(const char *text)
{
    return strstr(text, "Invalid attribute") != NULL ||
           strstr(text, "Did not expect element") != NULL;
}

/* Sorts, drops schema errors hidden by a meaning error on the same line and
 * exact duplicates, caps the count, and sets one GError. */
static void
diag_to_gerror(MsScenarioDiag *d, GError **error)
{
    g_ptr_array_sort(d->errors, error_line_cmp);
    g_autoptr(GString) out = g_string_new(NULL);
    guint shown = 0, hidden = 0;
    for (guint i = 0; i < d->errors->len; i++) {
        const ScenarioErrorLine *e = d->errors->pdata[i];
        gboolean skip = FALSE;
        for (guint j = i; j < d->errors->len && !skip; j++) {
            const ScenarioErrorLine *o = d->errors->pdata[j];
            if (o->line != e->line)
                break;
            if (e->origin == MS__SCENARIO_FROM_SCHEMA && o->origin == MS__SCENARIO_FROM_MEANING &&
                !specific_schema_error(e->text))
                skip = TRUE;
        }
        for (guint j = i; j > 0 && !skip; j--) {
            const ScenarioErrorLine *o = d->errors->pdata[j - 1];
            if (o->line != e->line)
                break;
            if (strcmp(o->text, e->text) == 0)
                skip = TRUE;
        }
        if (skip)
            continue;
        if (shown == MS_SCENARIO_MAX_ERRORS) {
            hidden++;
            continue;
        }
        if (out->len)
            g_string_append_c(out, '\n');
        if (e->line)
            g_string_append_printf(out, "%s:%u: %s", d->path, e->line, e->text);
        else
            g_string_append_printf(out, "%s: %s", d->path, e->text);
        shown++;
    }
    if (hidden)
        g_string_append_printf(out, "\n%s: %u more errors not shown", d->path, hidden);
    g_set_error_literal(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_INVALID, out->str);
}

/* libxml2 messages end with a newline and some span two lines ("...
 * encoding !\nBytes: 0xE9"): keep one error per line. */
static char *
clean_message(const char *msg)
{
    char *s = g_strdup(msg ? msg : "unknown error");
    g_strstrip(s);
    g_strdelimit(s, "\r\n", ' ');
    return s;
}

/* ---- parsing with guards ------------------------------------------------ */

static void
on_parser_error(void *user, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = user;
    MsScenarioDiag *d = ctxt->_private;
    if (e->level == XML_ERR_WARNING)
        return;
    g_autofree char *msg = clean_message(e->message);
    ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, e->line > 0 ? (guint) e->line : 0,
                          "malformed XML: %s", msg);
}

static void refuse(xmlParserCtxtPtr ctxt, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Records why the input is refused and stops the parser. */
static void
refuse(xmlParserCtxtPtr ctxt, const char *fmt, ...)
{
    MsScenarioDiag *d = ctxt->_private;
    if (d->stopped)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    int line = xmlSAX2GetLineNumber(ctxt);
    ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, line > 0 ? (guint) line : 0, "%s", msg);
    d->stopped = TRUE;
    xmlStopParser(ctxt);
}

static void
guard_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                  const xmlChar *system_id, xmlChar *content)
{
    (void) type, (void) public_id, (void) system_id, (void) content;
    refuse(ctx,
           "DOCTYPE declares entity '%s': entity declarations are refused "
           "(scenario files take no DTD entities)",
           (const char *) name);
}

static void
guard_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                           const xmlChar *system_id, const xmlChar *notation)
{
    (void) public_id, (void) system_id, (void) notation;
    refuse(ctx,
           "DOCTYPE declares entity '%s': entity declarations are refused "
           "(scenario files take no DTD entities)",
           (const char *) name);
}

static void
guard_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                    int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                    int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    /* nameNr counts the open ancestors of this element. */
    if (ctxt->nameNr >= MS_SCENARIO_MAX_DEPTH) {
        refuse(ctxt,
               "element '%s': nested too deeply: at most " G_STRINGIFY(
                   MS_SCENARIO_MAX_DEPTH) " levels are accepted",
               (const char *) localname);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

/* Refuses oversized attribute values and texts; returns FALSE on any. */
static gboolean
check_sizes(MsScenarioDiag *d, xmlNode *node)
{
    gboolean ok = TRUE;
    for (xmlNode *n = node; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttr *a = n->properties; a; a = a->next) {
                gsize len = 0;
                for (xmlNode *t = a->children; t; t = t->next)
                    if (t->content)
                        len += strlen((const char *) t->content);
                if (len > MS_SCENARIO_MAX_ATTR_LEN) {
                    ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, (guint) xmlGetLineNo(n),
                                          "element '%s' attribute '%s': value of %" G_GSIZE_FORMAT
                                          " bytes is too long: at most %u bytes are accepted",
                                          (const char *) n->name, (const char *) a->name, len,
                                          MS_SCENARIO_MAX_ATTR_LEN);
                    ok = FALSE;
                }
            }
            if (!check_sizes(d, n->children))
                ok = FALSE;
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            gsize len = strlen((const char *) n->content);
            if (len > MS_SCENARIO_MAX_TEXT_LEN) {
                ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, (guint) xmlGetLineNo(n),
                                      "text of %" G_GSIZE_FORMAT " bytes is too long: at most %u "
                                      "bytes are accepted",
                                      len, MS_SCENARIO_MAX_TEXT_LEN);
                ok = FALSE;
            }
        }
    }
    return ok;
}

static xmlDoc *
parse_guarded(MsScenarioDiag *d, const char *data, gsize len)
{
    if (len == 0) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, 0,
                              "empty file: expected a <scenario> document");
        return NULL;
    }
    if (len > MS_SCENARIO_MAX_FILE_SIZE) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, 0,
                              "%" G_GSIZE_FORMAT
                              " bytes is too large: at most %u bytes are accepted",
                              len, MS_SCENARIO_MAX_FILE_SIZE);
        return NULL;
    }
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(data, (int) len);
    if (!ctxt) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, 0, "cannot create an XML parser");
        return NULL;
    }
    ctxt->_private = d;
    ctxt->sax->serror = on_parser_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    ctxt->sax->entityDecl = guard_entity_decl;
    ctxt->sax->unparsedEntityDecl = guard_unparsed_entity_decl;
    ctxt->sax->startElementNs = guard_start_element;
    /* Not NOENT (no entity substitution), not DTDLOAD/DTDATTR (no external
     * subset), not HUGE (keep libxml2's size limits). */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
    xmlParseDocument(ctxt);
    xmlDoc *doc = ctxt->myDoc;
    gboolean ok = ctxt->wellFormed && !d->stopped && doc != NULL;
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    if (!ok) {
        if (ms__scenario_diag_count(d) == 0)
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_PARSER, 0, "malformed XML");
        xmlFreeDoc(doc);
        return NULL;
    }
    if (!check_sizes(d, doc->children)) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* ---- generated worlds ----------------------------------------------------- */

void
ms__scenario_set_lines(xmlNode *n, guint line)
{
    for (; n; n = n->next) {
        n->line = (unsigned short) MIN(line, 65535u);
        if (n->children)
            ms__scenario_set_lines(n->children, line);
    }
}

/* Replaces each <generate> child of the root by the elements it stands for
 * (include/mailsim/generate.h), before the schema sees the document, so a
 * generated world is checked like a written one. Bad attributes are errors
 * with the element's line. With `generated` (the usual case), the elements
 * stay the generator's records (sim/scenario/generate-private.h): each
 * world is added there, and an empty <generate/> at the end of the root
 * stands for it; the reader makes the records into elements one at a time
 * in its place (sim/scenario/scenario_stream.c). The schema never sees
 * them: they are valid by construction (tests/test_scenario.c validates
 * the generator's XML as a written file and loads it to the same scenario),
 * and the reader checks every value it uses again. Without `generated`
 * (overrides that select generated elements need them in the document),
 * they are made into elements of the document. No XML text is written or
 * parsed either way. */
static void
expand_generate(MsScenarioDiag *d, xmlDoc *doc, GPtrArray *generated)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *next = NULL;
    g_autoptr(GPtrArray) placeholders = g_ptr_array_new();
    for (xmlNode *n = root ? root->children : NULL; n; n = next) {
        next = n->next;
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "generate") != 0)
            continue;
        guint line = (guint) xmlGetLineNo(n);
        MsGenParams p = { 0 };
        static const char *const counts[] = { "domains",  "routers", "users",
                                              "messages", "seed",    "outages" };
        guint64 values[G_N_ELEMENTS(counts)] = { 0 };
        gboolean ok = TRUE;
        for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
            xmlChar *v = xmlGetProp(n, BAD_CAST counts[i]);
            g_autoptr(GError) e = NULL;
            if (v && !ms_units_parse_count((const char *) v, &values[i], &e)) {
                ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                      "element 'generate' attribute '%s': %s", counts[i],
                                      e->message);
                ok = FALSE;
            }
            xmlFree(v);
        }
        p.domains = (guint32) MIN(values[0], 1000000);
        p.routers = (guint32) MIN(values[1], 10000000);
        p.users = values[2];
        p.messages = values[3];
        p.seed = values[4];
        p.outages = (guint32) MIN(values[5], 1000000);
        xmlChar *topo = xmlGetProp(n, BAD_CAST "topology");
        if (topo && xmlStrcmp(topo, BAD_CAST "scale-free") == 0)
            p.topology = MS_GEN_SCALE_FREE;
        else if (topo && xmlStrcmp(topo, BAD_CAST "transit-stub") != 0) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                  "element 'generate' attribute 'topology': "
                                  "'%s' is not a topology: expected transit-stub or scale-free",
                                  (const char *) topo);
            ok = FALSE;
        }
        xmlFree(topo);
        xmlChar *auth = xmlGetProp(n, BAD_CAST "auth");
        if (auth && xmlStrcmp(auth, BAD_CAST "rsa") == 0)
            p.auth = 1;
        else if (auth && xmlStrcmp(auth, BAD_CAST "ed25519") == 0)
            p.auth = 2;
        else if (auth && xmlStrcmp(auth, BAD_CAST "none") != 0) {
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                  "element 'generate' attribute 'auth': '%s': expected none, rsa "
                                  "or ed25519",
                                  (const char *) auth);
            ok = FALSE;
        }
        xmlFree(auth);
        xmlChar *dur = xmlGetProp(n, BAD_CAST "duration");
        if (dur) {
            g_autoptr(GError) e = NULL;
            if (!ms_units_parse_time((const char *) dur, &p.duration, &e) || p.duration <= 0) {
                ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, line,
                                      "element 'generate' attribute 'duration': %s",
                                      e ? e->message : "must be greater than zero");
                ok = FALSE;
            }
        }
        xmlFree(dur);
        if (p.users > 100000000 || p.messages > 1000000000) {
            ms__scenario_diag_add(
                d, MS__SCENARIO_FROM_MEANING, line,
                "element 'generate': at most 100,000,000 users and 1,000,000,000 messages");
            ok = FALSE;
        }
        xmlUnlinkNode(n);
        xmlFreeNode(n);
        if (!ok)
            continue;
        MsGenWorld *world = ms__gen_world_new(&p);
        if (generated) {
            g_ptr_array_add(generated, ms__scenario_generated_new(world, line));
            g_ptr_array_add(placeholders, xmlNewDocNode(doc, NULL, BAD_CAST "generate", NULL));
            continue;
        }
        /* Each record becomes an element of the document (no text to parse);
         * the records are small beside the elements made of them. */
        for (guint i = 0; i < world->elements->len; i++) {
            xmlNode *copy =
                ms__gen_element_node(doc, &g_array_index(world->elements, MsGenElement, i));
            ms__scenario_set_lines(copy, line);
            xmlAddChild(root, copy);
        }
        ms__gen_world_free(world);
    }
    for (guint i = 0; root && i < placeholders->len; i++)
        xmlAddChild(root, placeholders->pdata[i]);
}

/* ---- schema ------------------------------------------------------------- */

typedef struct {
    MsScenarioDiag *d;
    const guint8 *rng; /* the embedded schema, for the names of hints */
    gsize rng_len;
    MsScenarioNames *names; /* built on the first error that names a name */
} SchemaCheck;

static const MsScenarioNames *
schema_names(SchemaCheck *sc)
{
    if (!sc->names)
        sc->names = ms__scenario_names_new(sc->rng, sc->rng_len);
    return sc->names;
}

/* The hint (ms__scenario_names_hint) for a libxml2 message that names an
 * unknown attribute or element, "" otherwise (caller frees). */
static char *
schema_hint(SchemaCheck *sc, xmlNode *node, const char *msg, gboolean *skip)
{
    char what[128], where[128];
    const char *element = NULL, *unknown = NULL;
    gboolean attribute = FALSE;
    if (sscanf(msg, "Invalid attribute %127s for element %127s", what, where) == 2) {
        element = where;
        unknown = what;
        attribute = TRUE;
    } else if (sscanf(msg, "Did not expect element %127s there", what) == 1 && node &&
               node->parent && node->parent->type == XML_ELEMENT_NODE) {
        element = (const char *) node->parent->name;
        unknown = what;
    } else if (sscanf(msg, "Element %127s has extra content: %127s", where, what) == 2) {
        element = where;
        unknown = what;
    }
    *skip = FALSE;
    const MsScenarioNames *names = unknown ? schema_names(sc) : NULL;
    /* "P has extra content: X" for an X that P never takes says again what
     * "Did not expect element X there" says (ms__scenario_check_names). */
    if (names && !attribute && element == where &&
        !ms__scenario_names_has(names, element, FALSE, unknown))
        *skip = TRUE;
    return names ? ms__scenario_names_hint(names, element, attribute, unknown) : g_strdup("");
}

static void
on_schema_error(void *user, xmlErrorPtr e)
{
    SchemaCheck *sc = user;
    MsScenarioDiag *d = sc->d;
    if (e->level == XML_ERR_WARNING)
        return;
    g_autofree char *msg = clean_message(e->message);
    xmlNode *node = e->node;
    gboolean skip = FALSE;
    g_autofree char *hint = schema_hint(sc, node, msg, &skip);
    if (skip)
        return;
    guint line = node ? (guint) xmlGetLineNo(node) : (e->line > 0 ? (guint) e->line : 0);
    if (node && node->type == XML_ELEMENT_NODE)
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, line,
                              "element '%s': not allowed by the schema: %s%s",
                              (const char *) node->name, msg, hint);
    else
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, line, "not allowed by the schema: %s%s",
                              msg, hint);
}

static void
on_schema_compile_error(void *user, xmlErrorPtr e)
{
    MsScenarioDiag *d = user;
    if (e->level == XML_ERR_WARNING)
        return;
    g_autofree char *msg = clean_message(e->message);
    ms__scenario_diag_add(
        d, MS__SCENARIO_FROM_SCHEMA, 0,
        "internal error: the embedded schema " SCHEMA_NAME " does not compile: %s", msg);
}

static void
validate_schema(MsScenarioDiag *d, xmlDoc *doc)
{
    gsize len = 0;
    const guint8 *rng = ms_embedded_get(SCHEMA_NAME, &len);
    if (!rng) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, 0,
                              "internal error: " SCHEMA_NAME " is not embedded in this binary");
        return;
    }
    xmlRelaxNGParserCtxtPtr pctxt = xmlRelaxNGNewMemParserCtxt((const char *) rng, (int) len);
    xmlRelaxNGSetParserStructuredErrors(pctxt, on_schema_compile_error, d);
    xmlRelaxNGPtr schema = xmlRelaxNGParse(pctxt);
    xmlRelaxNGFreeParserCtxt(pctxt);
    if (!schema) {
        if (ms__scenario_diag_count(d) == 0)
            ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, 0,
                                  "internal error: the embedded schema does not compile");
        return;
    }
    SchemaCheck check = { d, rng, len, NULL };
    xmlRelaxNGValidCtxtPtr vctxt = xmlRelaxNGNewValidCtxt(schema);
    xmlRelaxNGSetValidStructuredErrors(vctxt, on_schema_error, &check);
    int rc = xmlRelaxNGValidateDoc(vctxt, doc);
    /* libxml2 names unknown names unevenly (see scenario_names.c): once the
     * document is refused, every unknown name is reported, with its hint. */
    if (rc != 0 && schema_names(&check))
        ms__scenario_check_names(d, check.names, doc);
    if (rc != 0 && ms__scenario_diag_count(d) == 0)
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_SCHEMA, 0,
                              "the document does not match the schema");
    ms__scenario_names_free(check.names);
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(schema);
}

/* ---- front door --------------------------------------------------------- */

/* A version other than ours means a different format: say only that. */
static gboolean
check_version(MsScenarioDiag *d, xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *) root->name, "scenario") != 0) {
        ms__scenario_diag_add(d, MS__SCENARIO_FROM_MEANING, root ? (guint) xmlGetLineNo(root) : 0,
                              "element '%s': the root element must be <scenario>",
                              root ? (const char *) root->name : "");
        return FALSE;
    }
    xmlChar *v = xmlGetNoNsProp(root, (const xmlChar *) "version");
    gboolean ok = TRUE;
    if (v && strcmp((const char *) v, G_STRINGIFY(MS_SCENARIO_VERSION)) != 0) {
        ms__scenario_diag_add(
            d, MS__SCENARIO_FROM_MEANING, (guint) xmlGetLineNo(root),
            "element 'scenario' attribute 'version': version %s is not supported; "
            "this mailsim reads version " G_STRINGIFY(MS_SCENARIO_VERSION),
            (const char *) v);
        ok = FALSE;
    }
    xmlFree(v);
    return ok;
}

MsScenario *
ms_scenario_load_memory(const char *data, gsize len, const char *display_name, GError **error)
{
    return ms_scenario_load_memory_with(data, len, display_name, NULL, 0, error);
}

/* With overrides (scenario_override.c): applied to the document as written,
 * then, for those that selected nothing, after <generate> is expanded. */
MsScenario *
ms_scenario_load_memory_with(const char *data, gsize len, const char *display_name,
                             const MsScenarioOverride *overrides, guint n_overrides, GError **error)
{
    g_return_val_if_fail(data != NULL || len == 0, NULL);
    g_return_val_if_fail(overrides != NULL || n_overrides == 0, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (!display_name)
        display_name = "(memory)";
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(error_line_free);
    g_autoptr(GPtrArray) import_warnings = g_ptr_array_new_with_free_func(g_free);
    MsScenarioDiag d = { display_name, errors, 0, FALSE, import_warnings };

    xmlDoc *doc = parse_guarded(&d, data ? data : "", len);
    if (!doc) {
        diag_to_gerror(&d, error);
        return NULL;
    }
    if (!check_version(&d, doc)) {
        xmlFreeDoc(doc);
        diag_to_gerror(&d, error);
        return NULL;
    }
    g_autofree gboolean *applied = g_new0(gboolean, MAX(n_overrides, 1));
    ms__scenario_apply_overrides(&d, doc, overrides, n_overrides, applied, FALSE);
    /* Overrides still selecting nothing may select generated elements: only
     * then are those copied into the document. */
    gboolean copy = FALSE;
    for (guint i = 0; i < n_overrides; i++)
        copy |= !applied[i];
    g_autoptr(GPtrArray) generated = g_ptr_array_new_with_free_func(ms__scenario_generated_free);
    expand_generate(&d, doc, copy ? NULL : generated);
    ms__scenario_apply_overrides(&d, doc, overrides, n_overrides, applied, TRUE);
    ms__scenario_expand_topology(&d, doc);
    validate_schema(&d, doc);
    g_autoptr(MsScenario) sc = ms__scenario_read(&d, doc, generated);
    xmlFreeDoc(doc);
    if (ms__scenario_diag_count(&d) > 0) {
        diag_to_gerror(&d, error);
        return NULL;
    }
    g_free(sc->path);
    sc->path = g_strdup(display_name);
    g_ptr_array_extend_and_steal(sc->import_warnings, g_steal_pointer(&import_warnings));
    return g_steal_pointer(&sc);
}

MsScenario *
ms_scenario_load_file(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autofree char *buf = NULL;
    gsize size = 0;
    if (!ms_input_file_read(path, MS_SCENARIO_MAX_FILE_SIZE, "a scenario XML file",
                            MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO, &buf, &size, error))
        return NULL;
    return ms_scenario_load_memory(buf, size, path, error);
}

/* ---- freeing and names -------------------------------------------------- */

static void
free_strv_array(GPtrArray *a)
{
    if (a)
        g_ptr_array_unref(a);
}

/* Written users own their strings; generated ones point into one block. */
static void
free_users(MsScenarioMailserver *m)
{
    guint written = m->generated_names ? m->generated_from : (m->users ? m->users->len : 0);
    for (guint j = 0; j < written; j++) {
        MsScenarioUser *u = &g_array_index(m->users, MsScenarioUser, j);
        g_free(u->name);
        g_free(u->password);
        g_free(u->forward);
    }
    g_clear_pointer(&m->generated_names, g_free);
    m->generated_from = 0;
}

/* A new empty array rather than a shrunk one: g_array_set_size() keeps the
 * allocation, and the allocation is what a part wants back. */
guint
ms_scenario_drop_users(MsScenario *sc, guint mailserver)
{
    g_return_val_if_fail(sc != NULL && mailserver < sc->mailservers->len, 0);
    MsScenarioMailserver *m = &g_array_index(sc->mailservers, MsScenarioMailserver, mailserver);
    if (!m->users || m->users->len == 0)
        return 0;
    guint n = m->users->len;
    free_users(m);
    g_array_unref(m->users);
    m->users = g_array_new(FALSE, TRUE, sizeof(MsScenarioUser));
    return n;
}

gboolean *
ms_scenario_mailbox_fault_servers(const MsScenario *sc)
{
    gboolean *faulted = g_new0(gboolean, MAX(sc->mailservers->len, 1u));
    for (guint i = 0; i < sc->faults->len; i++) {
        const MsScenarioFault *f = &g_array_index(sc->faults, MsScenarioFault, i);
        if (f->kind == MS_FAULT_MAILBOX_FULL && f->mailserver >= 0)
            faulted[f->mailserver] = TRUE;
    }
    return faulted;
}

void
ms_scenario_free(MsScenario *sc)
{
    if (!sc)
        return;
    for (guint i = 0; sc->hosts && i < sc->hosts->len; i++) {
        MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        g_free(h->id);
        g_free(h->name);
        g_free(h->label);
    }
    for (guint i = 0; sc->zones && i < sc->zones->len; i++) {
        MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        for (guint j = 0; z->records && j < z->records->len; j++) {
            MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, j);
            g_free(r->name);
            g_free(r->target);
        }
        if (z->records)
            g_array_unref(z->records);
        g_free(z->name);
        g_free(z->sts_id);
        g_free(z->sts_policy);
        if (z->tlsa)
            g_array_unref(z->tlsa);
    }
    for (guint i = 0; sc->mailservers && i < sc->mailservers->len; i++) {
        MsScenarioMailserver *m = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        free_strv_array(m->domains);
        free_strv_array(m->backup_for);
        free_users(m);
        for (guint j = 0; m->replies && j < m->replies->len; j++) {
            MsScenarioReply *r = &g_array_index(m->replies, MsScenarioReply, j);
            g_free(r->enhanced);
            g_free(r->text);
            g_free(r->from);
            g_free(r->to);
        }
        if (m->users)
            g_array_unref(m->users);
        if (m->replies)
            g_array_unref(m->replies);
        ms__scenario_auth_free(m);
    }
    for (guint i = 0; sc->clients && i < sc->clients->len; i++) {
        MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, i);
        g_free(c->user);
        g_free(c->password);
    }
    for (guint i = 0; sc->messages && i < sc->messages->len; i++) {
        MsScenarioMessage *m = &g_array_index(sc->messages, MsScenarioMessage, i);
        g_free(m->id);
        g_free(m->from);
        free_strv_array(m->to);
        free_strv_array(m->cc);
        g_free(m->mail_from);
        g_free(m->subject);
        g_free(m->body);
    }
    for (guint i = 0; sc->workloads && i < sc->workloads->len; i++) {
        MsWorkloadSpec *w = &g_array_index(sc->workloads, MsWorkloadSpec, i);
        g_free(w->from);
        g_free(w->to);
    }
    for (guint i = 0; sc->faults && i < sc->faults->len; i++)
        g_free(g_array_index(sc->faults, MsScenarioFault, i).target);
    for (guint i = 0; sc->expects && i < sc->expects->len; i++) {
        MsScenarioExpect *e = &g_array_index(sc->expects, MsScenarioExpect, i);
        g_free(e->to);
        g_free(e->status);
        g_free(e->check);
        g_free(e->result);
    }
    for (guint i = 0; sc->outputs && i < sc->outputs->len; i++) {
        MsScenarioOutput *o = &g_array_index(sc->outputs, MsScenarioOutput, i);
        g_free(o->trace);
        g_free(o->pcap);
        g_free(o->stats);
    }
    GArray *arrays[] = { sc->hosts,   sc->links,    sc->zones,  sc->mailservers,
                         sc->clients, sc->messages, sc->checks, sc->workloads,
                         sc->faults,  sc->expects,  sc->outputs };
    for (gsize i = 0; i < G_N_ELEMENTS(arrays); i++)
        if (arrays[i])
            g_array_unref(arrays[i]);
    if (sc->import_warnings)
        g_ptr_array_unref(sc->import_warnings);
    g_free(sc->path);
    g_free(sc->name);
    g_free(sc->title);
    g_free(sc->description);
    g_free(sc);
}

gint
ms_scenario_find_host(const MsScenario *sc, const char *id)
{
    g_return_val_if_fail(sc != NULL && id != NULL, -1);
    for (guint i = 0; i < sc->hosts->len; i++)
        if (strcmp(g_array_index(sc->hosts, MsScenarioHost, i).id, id) == 0)
            return (gint) i;
    return -1;
}

const char *
ms_host_role_to_string(MsScenarioRole role)
{
    static const char *const names[] = { "client", "mailserver", "dns", "relay", "router" };
    return (guint) role < G_N_ELEMENTS(names) ? names[role] : "?";
}

const char *
ms_fault_kind_to_string(MsFaultKind kind)
{
    static const char *const names[] = { "host-down", "link-down",    "loss",
                                         "dns-down",  "mailbox-full", "strip-starttls" };
    return (guint) kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

const char *
ms_expect_kind_to_string(MsExpectKind kind)
{
    static const char *const names[] = {
        "delivered",  "bounced",      "dsn",       "received-headers", "attempts",
        "retrieved",  "no-loss",      "encrypted", "login-encrypted",  "no-clear-password",
        "clear-hops", "tls-deferred", "seen",      "not-seen",         "auth",
        "quarantined"
    };
    return (guint) kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

const char *
ms_record_type_to_string(MsRecordType type)
{
    static const char *const names[] = { "mx", "a", "ns", "nullmx", "txt" };
    return (guint) type < G_N_ELEMENTS(names) ? names[type] : "?";
}

const char *
ms_reply_command_to_string(MsReplyCommand command)
{
    static const char *const names[] = { "CONNECT", "HELO", "EHLO", "MAIL", "RCPT", "DATA", "EOD" };
    return (guint) command < G_N_ELEMENTS(names) ? names[command] : "?";
}
