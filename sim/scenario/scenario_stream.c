/* The reader's walk over the root's children (see scenario-private.h,
 * MsScenarioWalk): each phase of sim/scenario/scenario_read.c asks for the
 * elements of its kinds; written elements come from the tree, and each
 * <generate/> placeholder (left by sim/scenario/scenario.c where a
 * generated world's elements belong) is replaced by its generator's text,
 * read with libxml2's xmlTextReader one element at a time. A streamed
 * element is expanded into a small subtree, handed to the phase, and freed
 * by the reader as it moves on, so at most one generated element exists as
 * a tree at once: on the medium world (1.9 MB of generated XML) the tree of
 * the whole world, about 30 MB, is never built, in any process of a
 * partitioned run.
 *
 * Costs: every phase that wants a kind the text holds parses the whole
 * text again (a few milliseconds per megabyte); phases whose kinds the text
 * lacks skip it, from the kinds the first full walk saw. The attribute
 * values the phases read (R->temps) are freed element by element during a
 * walk instead of at the end of the load. */
#include "scenario-private.h"

#include <string.h>

#include <libxml/xmlreader.h>

/* The root's element kinds, for MsScenarioGenerated.kinds; any other name
 * counts as the last. */
static const char *const kind_names[] = { "host",       "link",   "routing", "dns",   "zone",
                                          "mailserver", "client", "message", "check", "workload",
                                          "fault",      "expect", "output" };

static guint
kind_bit(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(kind_names); i++)
        if (strcmp(kind_names[i], name) == 0)
            return 1u << i;
    return 1u << G_N_ELEMENTS(kind_names);
}

void
ms__scenario_generated_free(gpointer p)
{
    MsScenarioGenerated *g = p;
    if (!g)
        return;
    g_string_free(g->text, TRUE);
    g_free(g);
}

static gboolean
wanted(const MsScenarioWalk *w, const char *name)
{
    for (const char *const *n = w->names; *n; n++)
        if (strcmp(*n, name) == 0)
            return TRUE;
    return FALSE;
}

static guint
wanted_kinds(const MsScenarioWalk *w)
{
    guint k = 0;
    for (const char *const *n = w->names; *n; n++)
        k |= kind_bit(*n);
    return k;
}

void
ms__scenario_walk_init(MsScenarioWalk *w, MsScenarioReader *R, xmlNode *root,
                       const char *const *names)
{
    *w = (MsScenarioWalk){ .R = R, .names = names, .next = root ? root->children : NULL };
    w->temps_mark = R->temps->len;
}

void
ms__scenario_walk_end(MsScenarioWalk *w)
{
    if (w->stream)
        xmlFreeTextReader(w->stream);
    w->stream = NULL;
    w->gen = NULL;
    w->next = NULL;
    if (w->R->temps->len > w->temps_mark)
        g_ptr_array_set_size(w->R->temps, w->temps_mark);
}


static void
stream_stop(MsScenarioWalk *w, gboolean complete)
{
    if (complete) {
        w->gen->kinds = w->seen;
        w->gen->kinds_known = TRUE;
    }
    xmlFreeTextReader(w->stream);
    w->stream = NULL;
    w->gen = NULL;
}

/* The next wanted element of the streamed text, or NULL at its end. `rc`
 * is the result of the reader's last move. */
static xmlNode *
stream_next(MsScenarioWalk *w, int rc)
{
    xmlTextReaderPtr r = w->stream;
    while (rc == 1) {
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT || xmlTextReaderDepth(r) != 1) {
            rc = xmlTextReaderRead(r);
            continue;
        }
        const char *name = (const char *) xmlTextReaderConstLocalName(r);
        w->seen |= kind_bit(name);
        if (!wanted(w, name)) {
            rc = xmlTextReaderNext(r);
            continue;
        }
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            break;
        n->line = (unsigned short) MIN(w->gen->line, 65535u);
        ms__scenario_set_lines(n->children, w->gen->line);
        return n;
    }
    if (rc != 0)
        ms__scenario_diag_add(w->R->d, MS__SCENARIO_FROM_MEANING, w->gen->line,
                              "element 'generate': internal error: the generated elements do "
                              "not parse");
    stream_stop(w, rc == 0);
    return NULL;
}

xmlNode *
ms__scenario_walk_next(MsScenarioWalk *w)
{
    if (w->R->temps->len > w->temps_mark)
        g_ptr_array_set_size(w->R->temps, w->temps_mark);
    for (;;) {
        if (w->stream) {
            /* Past the element handed out last: skip its subtree. */
            xmlNode *n = stream_next(w, xmlTextReaderNext(w->stream));
            if (n)
                return n;
            continue;
        }
        xmlNode *n = w->next;
        if (!n)
            return NULL;
        w->next = n->next;
        if (ms__reader_is(n, "generate")) {
            guint k = w->n_generate++;
            GPtrArray *gens = w->R->generated;
            if (!gens || k >= gens->len)
                continue;
            MsScenarioGenerated *g = gens->pdata[k];
            if (g->kinds_known && !(g->kinds & wanted_kinds(w)))
                continue;
            /* Our own text: no entities, so the plain parser is safe; HUGE
             * lifts libxml2's size limits for large worlds. */
            w->stream = xmlReaderForMemory(g->text->str, (int) MIN(g->text->len, (gsize) G_MAXINT),
                                           "generated", NULL, XML_PARSE_NONET | XML_PARSE_HUGE);
            if (!w->stream) {
                ms__scenario_diag_add(w->R->d, MS__SCENARIO_FROM_MEANING, g->line,
                                      "element 'generate': internal error: cannot read the "
                                      "generated elements");
                continue;
            }
            w->gen = g;
            w->seen = 0;
            xmlNode *first = stream_next(w, xmlTextReaderRead(w->stream));
            if (first)
                return first;
            continue;
        }
        if (n->type == XML_ELEMENT_NODE && wanted(w, (const char *) n->name))
            return n;
    }
}
