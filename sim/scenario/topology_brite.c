/* BRITE's text output -> the topology builder (topology-private.h).
 *
 * Format, as BRITE writes it: a header ("Topology: ( N Nodes, E Edges )",
 * "Model (...): ..."), then a "Nodes: ( N )" section with one node a line
 *   id  x  y  in-degree  out-degree  as-id  type
 * and an "Edges: ( E )" section with one edge a line
 *   id  from  to  length  delay  bandwidth  as-from  as-to  type  direction
 * separated by blanks or tabs. x and y are plane coordinates (BRITE's
 * square, not degrees): kept as diagram positions, never as latitude and
 * longitude. delay is in milliseconds and bandwidth in Mbps (BRITE's
 * units); a delay or bandwidth of 0 or less counts as not given (the
 * shared rules then decide). BRITE numbers ASes from 0 and writes -1 for
 * "none": AS k becomes AS k + 1 here, since 0 means "not known". Lines
 * outside the two sections are ignored; a count in a section's header that
 * differs from the lines found is a warning. */
#include "topology-private.h"

#include <string.h>

typedef enum { SEC_NONE, SEC_NODES, SEC_EDGES } Section;

static gboolean
field_double(MsTopology *t, guint line, const char *what, const char *s, double *out,
             GError **error)
{
    if (!ms__topology_parse_double(s, out))
        return ms__topology_fail(error, t, line, "%s '%s' is not a number", what, s);
    return TRUE;
}

/* "Nodes: ( 10 )" -> 10; -1 when there is no count. */
static gint64
section_count(const char *text)
{
    const char *open = strchr(text, '(');
    if (!open)
        return -1;
    char *end = NULL;
    gint64 v = g_ascii_strtoll(open + 1, &end, 10);
    return end == open + 1 ? -1 : v;
}

gboolean
ms__topology_read_brite(MsTopologyBuilder *b, const char *data, gsize len, GError **error)
{
    MsTopology *t = b->t;
    const char *p = data, *end = data + len;
    guint line = 0, sec_line = 0;
    Section sec = SEC_NONE;
    gint64 want = -1, got = 0;
    gboolean seen_nodes = FALSE;
    for (;;) {
        gboolean eof = p >= end;
        g_autofree char *text = NULL;
        if (!eof) {
            const char *nl = memchr(p, '\n', (gsize) (end - p));
            const char *le = nl ? nl : end;
            line++;
            gsize n = (gsize) (le - p);
            if (n > MS_TOPOLOGY_MAX_TOKEN)
                return ms__topology_fail(error, t, line, "line longer than %u bytes",
                                         MS_TOPOLOGY_MAX_TOKEN);
            if (memchr(p, '\0', n))
                return ms__topology_fail(error, t, line, "a NUL byte: expected text");
            text = g_strndup(p, n);
            p = nl ? nl + 1 : end;
            g_strstrip(text);
        }
        gboolean header =
            !eof && (g_str_has_prefix(text, "Nodes:") || g_str_has_prefix(text, "Edges:") ||
                     g_str_has_prefix(text, "Topology:") || g_str_has_prefix(text, "Model"));
        if (eof || header) {
            if (sec != SEC_NONE && want >= 0 && want != got)
                ms__topology_warn(t, sec_line,
                                  "the section says %" G_GINT64_FORMAT " %s but %" G_GINT64_FORMAT
                                  " follow: the lines found are used",
                                  want, sec == SEC_NODES ? "nodes" : "edges", got);
            if (eof)
                break;
            sec = SEC_NONE;
            if (g_str_has_prefix(text, "Nodes:")) {
                sec = SEC_NODES;
                seen_nodes = TRUE;
            } else if (g_str_has_prefix(text, "Edges:")) {
                if (!seen_nodes)
                    return ms__topology_fail(error, t, line,
                                             "an Edges section before any Nodes section: "
                                             "expected BRITE's order (nodes, then edges)");
                sec = SEC_EDGES;
            }
            sec_line = line;
            want = section_count(text);
            got = 0;
            continue;
        }
        if (sec == SEC_NONE || text[0] == '\0')
            continue;
        g_auto(GStrv) f = g_strsplit_set(text, " \t", -1);
        /* g_strsplit_set leaves empty fields between runs of blanks. */
        guint nf = 0;
        for (guint k = 0; f[k]; k++)
            if (f[k][0])
                f[nf++] = f[k];
            else
                g_free(f[k]);
        f[nf] = NULL;
        got++;
        if (sec == SEC_NODES) {
            if (nf < 6)
                return ms__topology_fail(error, t, line,
                                         "a node line has %u fields: expected 'id x y in-degree "
                                         "out-degree as-id [type]'",
                                         nf);
            double x, y, as;
            if (!field_double(t, line, "x", f[1], &x, error) ||
                !field_double(t, line, "y", f[2], &y, error) ||
                !field_double(t, line, "as-id", f[5], &as, error))
                return FALSE;
            MsTopologyNode *n = ms__topology_add_node(b, line, f[0], error);
            if (!n)
                return FALSE;
            n->has_xy = TRUE;
            n->x = x;
            n->y = y;
            if (as >= 0 && as < G_MAXUINT32 - 1)
                n->asn = (guint32) as + 1;
        } else {
            if (nf < 6)
                return ms__topology_fail(error, t, line,
                                         "an edge line has %u fields: expected 'id from to length "
                                         "delay bandwidth [as-from as-to type direction]'",
                                         nf);
            double length, delay, bw;
            if (!field_double(t, line, "length", f[3], &length, error) ||
                !field_double(t, line, "delay", f[4], &delay, error) ||
                !field_double(t, line, "bandwidth", f[5], &bw, error))
                return FALSE;
            MsTopologyEdge *e = ms__topology_add_edge(b, line, f[1], f[2], error);
            if (!e)
                return FALSE;
            if (delay > 0 && delay < 1e9)
                e->latency = MAX((MsTime) (delay * MS_TIME_MS), (MsTime) 1);
            if (bw > 0 && bw < 1e9)
                e->speed_bps = MAX((guint64) (bw * 1e6), (guint64) 1);
        }
    }
    return TRUE;
}
