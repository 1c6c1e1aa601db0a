/* The reader's walk over the root's children (see scenario-private.h,
 * MsScenarioWalk): each phase of sim/scenario/scenario_read.c asks for the
 * elements of its kinds; written elements come from the tree, and each
 * <generate/> placeholder (left by sim/scenario/scenario.c where a
 * generated world's elements belong) is replaced by its generator's records
 * (sim/scenario/generate-private.h). A record of a wanted kind is made into
 * a small element of its own (ms__gen_element_node: the attributes the XML
 * text would have, no text in between), handed to the phase, and freed as
 * the walk moves on, so at most one generated element exists as a tree at
 * once and the reader checks a generated element exactly as it checks the
 * same element written in a file. The phases of the two numerous kinds,
 * hosts and links, take the records themselves (MsScenarioWalk.direct) and
 * make an element only for a record that clashes with a written element,
 * whose errors then read as before.
 *
 * Costs: a phase looks at every record once (a test of its kind) and
 * builds the elements of its kinds (a dozen allocations each, about 5,000
 * instructions with their freeing), except for hosts and links: on the
 * medium world, 26,000 records, instead of libxml2 parsing 1.9 MB of text
 * once per phase (about 1.1 G instructions before). The attribute
 * values the phases read (R->temps) are freed element by element during a
 * walk instead of at the end of the load. */
#include "generate-private.h"
#include "scenario-private.h"

#include <string.h>

/* The root's element kinds, for MsScenarioGenerated.kinds; any other name
 * counts as the last. The generator's kinds map onto these by name. */
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

MsScenarioGenerated *
ms__scenario_generated_new(MsGenWorld *world, guint line)
{
    MsScenarioGenerated *g = g_new0(MsScenarioGenerated, 1);
    g->world = world;
    g->line = line;
    for (guint k = MS__GEN_HOST; k <= MS__GEN_EXPECT; k++)
        g->kind_bits[k] = kind_bit(ms__gen_kind_name((MsGenElementKind) k));
    for (guint i = 0; i < world->elements->len; i++)
        g->kinds |= g->kind_bits[g_array_index(world->elements, MsGenElement, i).kind];
    return g;
}

void
ms__scenario_generated_free(gpointer p)
{
    MsScenarioGenerated *g = p;
    if (!g)
        return;
    ms__gen_world_free(g->world);
    g_free(g);
}

/* ---- records as elements -------------------------------------------------- */

static void
attr(xmlNode *n, const char *name, const char *value)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

static xmlNode *
child(xmlNode *parent, const char *name)
{
    return xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

xmlNode *
ms__gen_element_node(xmlDoc *doc, const MsGenElement *e)
{
    const char *const *s = e->s;
    char buf[64], *p = buf;
    xmlNode *n = xmlNewDocNode(doc, NULL, BAD_CAST ms__gen_kind_name(e->kind), NULL);
    switch (e->kind) {
    case MS__GEN_HOST:
        attr(n, "id", s[0]);
        attr(n, "name", s[1]);
        attr(n, "role", s[2]);
        for (guint i = 0, shift = 24; i < 4; i++, shift -= 8) {
            char *end = ms__scenario_put_uint(p, (e->num >> shift) & 255);
            *end = i < 3 ? '.' : '\0';
            p = end + 1;
        }
        attr(n, "address", buf);
        break;
    case MS__GEN_LINK:
        attr(n, "a", s[0]);
        attr(n, "b", s[1]);
        strcpy(ms__scenario_put_uint(buf, e->num), "ms");
        attr(n, "latency", buf);
        attr(n, "bandwidth", s[2]);
        break;
    case MS__GEN_DNS:
        attr(n, "mode", "flat");
        attr(n, "server", s[0]);
        break;
    case MS__GEN_ZONE: {
        attr(n, "name", s[0]);
        attr(n, "server", "dns");
        attr(n, "ttl", "1h");
        for (guint k = 1; k <= 3; k += 2) {
            if (!s[k])
                continue;
            xmlNode *mx = child(n, "mx");
            attr(mx, "preference", k == 1 ? "10" : "20");
            attr(mx, "exchange", s[k]);
            xmlNode *a = child(n, "a");
            attr(a, "name", s[k]);
            attr(a, "host", s[k + 1]);
        }
        if (s[5]) {
            xmlNode *spf = child(n, "spf");
            attr(spf, "mx", "yes");
            attr(spf, "ip4", s[5]);
            attr(child(n, "dmarc"), "p", "reject");
        }
        break;
    }
    case MS__GEN_MAILSERVER:
        attr(n, "host", s[0]);
        if (s[1]) {
            attr(n, "domains", s[1]);
            if (s[2])
                attr(n, "smarthost", s[2]);
            ms__scenario_put_uint(buf, e->count);
            attr(n, "generated-users", buf);
        }
        if (s[3])
            attr(n, "backup-for", s[3]);
        if (s[4]) {
            xmlNode *dkim = child(n, "dkim");
            attr(dkim, "selector", "s1");
            attr(dkim, "key", s[4]);
            xmlNode *auth = child(n, "auth");
            attr(auth, "spf", "on");
            attr(auth, "dkim", "on");
            attr(auth, "dmarc", "on");
        }
        break;
    case MS__GEN_WORKLOAD:
        attr(n, "from", s[0]);
        attr(n, "to", "*");
        attr(n, "start", "0s");
        attr(n, "end", s[1]);
        g_snprintf(buf, sizeof buf, "%s/h", s[2]);
        attr(n, "rate", buf);
        attr(n, "size", "lognormal:mu=8.5,sigma=1.2");
        break;
    case MS__GEN_FAULT:
        attr(n, "kind", "host-down");
        attr(n, "target", s[0]);
        strcpy(ms__scenario_put_uint(buf, e->count), "s");
        attr(n, "at", buf);
        attr(n, "duration", "30min");
        break;
    case MS__GEN_EXPECT:
        attr(n, "kind", "no-loss");
        break;
    }
    return n;
}

/* ---- the walk ------------------------------------------------------------- */

static gboolean
wanted(const MsScenarioWalk *w, const char *name)
{
    for (const char *const *n = w->names; *n; n++)
        if (strcmp(*n, name) == 0)
            return TRUE;
    return FALSE;
}

void
ms__scenario_walk_init(MsScenarioWalk *w, MsScenarioReader *R, xmlNode *root,
                       const char *const *names)
{
    *w = (MsScenarioWalk){ .R = R, .names = names, .next = root ? root->children : NULL };
    w->temps_mark = R->temps->len;
    g_assert(kind_bit("host") == MS__WALK_HOST && kind_bit("link") == MS__WALK_LINK);
    for (const char *const *n = names; *n; n++)
        w->kinds |= kind_bit(*n);
}

/* Frees the generated element handed out last, if any. */
static void
drop_made(MsScenarioWalk *w)
{
    if (w->made)
        xmlFreeNode(w->made);
    w->made = NULL;
}

void
ms__scenario_walk_end(MsScenarioWalk *w)
{
    drop_made(w);
    w->gen = NULL;
    w->record = NULL;
    w->next = NULL;
    if (w->R->temps->len > w->temps_mark)
        g_ptr_array_set_size(w->R->temps, w->temps_mark);
}

/* The next wanted record of the placeholder being walked, or NULL at its
 * end; made into an element (w->made) unless its kind is in w->direct. */
static const MsGenElement *
gen_next(MsScenarioWalk *w)
{
    const MsScenarioGenerated *g = w->gen;
    GArray *elements = g->world->elements;
    while (w->gen_at < elements->len) {
        const MsGenElement *e = &g_array_index(elements, MsGenElement, w->gen_at++);
        guint bit = g->kind_bits[e->kind];
        if (!(bit & w->kinds))
            continue;
        w->record = e;
        if (!(bit & w->direct))
            ms__scenario_walk_make(w);
        return e;
    }
    w->gen = NULL;
    return NULL;
}

xmlNode *
ms__scenario_walk_make(MsScenarioWalk *w)
{
    g_return_val_if_fail(w->gen && w->record, NULL);
    if (!w->made) {
        w->made = ms__gen_element_node(NULL, w->record);
        ms__scenario_set_lines(w->made, w->gen->line);
    }
    return w->made;
}

gboolean
ms__scenario_walk_step(MsScenarioWalk *w, xmlNode **node, const MsGenElement **record)
{
    if (w->R->temps->len > w->temps_mark)
        g_ptr_array_set_size(w->R->temps, w->temps_mark);
    drop_made(w);
    w->record = NULL;
    *node = NULL;
    *record = NULL;
    for (;;) {
        if (w->gen) {
            const MsGenElement *e = gen_next(w);
            if (!e)
                continue;
            if (w->made)
                *node = w->made;
            else
                *record = e;
            return TRUE;
        }
        xmlNode *n = w->next;
        if (!n)
            return FALSE;
        w->next = n->next;
        if (ms__reader_is(n, "generate")) {
            guint k = w->n_generate++;
            GPtrArray *gens = w->R->generated;
            if (!gens || k >= gens->len)
                continue;
            MsScenarioGenerated *g = gens->pdata[k];
            if (!(g->kinds & w->kinds))
                continue;
            w->gen = g;
            w->gen_at = 0;
            continue;
        }
        if (n->type == XML_ELEMENT_NODE && wanted(w, (const char *) n->name)) {
            *node = n;
            return TRUE;
        }
    }
}

xmlNode *
ms__scenario_walk_next(MsScenarioWalk *w)
{
    g_return_val_if_fail(w->direct == 0, NULL);
    xmlNode *n;
    const MsGenElement *record;
    return ms__scenario_walk_step(w, &n, &record) ? n : NULL;
}
