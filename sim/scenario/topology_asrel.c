/* CAIDA AS relationships -> the topology builder (topology-private.h): one
 * node per AS, one edge per relationship, in file order.
 *
 * Format, as CAIDA publishes it (as-rel files, "serial-1", and the
 * "serial-2" files that add a source column): one relationship a line,
 * fields separated by '|':
 *   <provider-as>|<customer-as>|-1
 *   <peer-as>|<peer-as>|0
 *   (serial-2) <as>|<as>|<rel>|<source>   e.g. "bgp" or "mlp"
 * Lines starting with '#' are comments (the file's header, the clique...);
 * empty lines are skipped; a line ending in CR LF is accepted. AS numbers
 * are 32-bit (RFC 6793), written as plain decimal (asplain, RFC 5396); AS 0
 * is reserved (RFC 7607) and refused. Anything else (another relationship
 * code, a missing or extra field, an AS number out of range) is an error
 * with the line. The source column is read and not kept.
 *
 * Cost: one pass; a hash look-up per AS per line. */
#include "topology-private.h"

#include <string.h>

/* An AS number in asplain notation, 1 .. 2^32 - 1. */
static gboolean
parse_asn(const char *s, guint32 *out)
{
    if (!*s || strlen(s) > 10)
        return FALSE;
    guint64 v = 0;
    for (const char *p = s; *p; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        v = v * 10 + (guint64) (*p - '0');
    }
    if (v == 0 || v > G_MAXUINT32)
        return FALSE;
    *out = (guint32) v;
    return TRUE;
}

static MsTopologyNode *
as_node(MsTopologyBuilder *b, guint line, const char *text, guint32 asn, GError **error)
{
    gint i = ms__topology_find_node(b, text);
    if (i >= 0)
        return &g_array_index(b->t->nodes, MsTopologyNode, i);
    MsTopologyNode *n = ms__topology_add_node(b, line, text, error);
    if (!n)
        return NULL;
    n->asn = asn;
    g_free(n->label);
    n->label = g_strdup_printf("AS%u", asn);
    return n;
}

gboolean
ms__topology_read_asrel(MsTopologyBuilder *b, const char *data, gsize len, GError **error)
{
    MsTopology *t = b->t;
    const char *p = data, *end = data + len;
    guint line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize) (end - p));
        const char *le = nl ? nl : end;
        line++;
        gsize n = (gsize) (le - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > MS_TOPOLOGY_MAX_TOKEN)
            return ms__topology_fail(error, t, line,
                                     "line longer than %u bytes: expected 'AS|AS|REL'",
                                     MS_TOPOLOGY_MAX_TOKEN);
        if (memchr(p, '\0', n))
            return ms__topology_fail(error, t, line, "a NUL byte: expected text");
        g_autofree char *text = g_strndup(p, n);
        p = nl ? nl + 1 : end;
        g_strstrip(text);
        if (text[0] == '\0' || text[0] == '#')
            continue;
        g_auto(GStrv) f = g_strsplit(text, "|", 6);
        guint nf = g_strv_length(f);
        if (nf != 3 && nf != 4)
            return ms__topology_fail(error, t, line,
                                     "'%s': expected 'AS|AS|REL' (serial-1) or 'AS|AS|REL|SOURCE' "
                                     "(serial-2)",
                                     text);
        guint32 asa, asb;
        for (guint k = 0; k < 2; k++) {
            g_strstrip(f[k]);
            if (!parse_asn(f[k], k ? &asb : &asa))
                return ms__topology_fail(error, t, line,
                                         "'%s' is not an AS number: expected 1 to 4294967295 "
                                         "(asplain)",
                                         f[k]);
        }
        g_strstrip(f[2]);
        MsTopologyRel rel;
        if (strcmp(f[2], "-1") == 0)
            rel = MS_TOPOLOGY_REL_PROVIDER_CUSTOMER;
        else if (strcmp(f[2], "0") == 0)
            rel = MS_TOPOLOGY_REL_PEER;
        else
            return ms__topology_fail(error, t, line,
                                     "relationship '%s': expected -1 (provider|customer) or 0 "
                                     "(peers)",
                                     f[2]);
        /* Ids in canonical decimal, so "03356" and "3356" are one AS. */
        char ida[16], idb[16];
        g_snprintf(ida, sizeof ida, "%u", asa);
        g_snprintf(idb, sizeof idb, "%u", asb);
        if (!as_node(b, line, ida, asa, error) || !as_node(b, line, idb, asb, error))
            return FALSE;
        MsTopologyEdge *e = ms__topology_add_edge(b, line, ida, idb, error);
        if (!e)
            return FALSE;
        e->rel = rel;
    }
    return TRUE;
}
