/* Shared by the importers of imported topologies (sim/scenario/topology*.c):
 * the builder each reader fills node by node and edge by edge, and the
 * error and warning helpers that put "FILE:LINE:" in front. Not a public
 * interface (include/mailsim/topology.h is). */
#pragma once

#include "mailsim/topology.h"

G_BEGIN_DECLS

typedef struct {
    MsTopology *t;
    GHashTable *ids; /* node id -> index + 1 */
} MsTopologyBuilder;

void ms__topology_builder_init(MsTopologyBuilder *b, MsTopology *t);
void ms__topology_builder_clear(MsTopologyBuilder *b);

/* Adds a node; FALSE with an error when the id is taken or there are too
 * many nodes. The node's label defaults to its id. */
MsTopologyNode *ms__topology_add_node(MsTopologyBuilder *b, guint line, const char *id,
                                      GError **error);

/* Index of the node with this id, or -1. */
gint ms__topology_find_node(MsTopologyBuilder *b, const char *id);

/* Adds an edge between two node ids; NULL with an error naming the unknown
 * end, or when there are too many edges. */
MsTopologyEdge *ms__topology_add_edge(MsTopologyBuilder *b, guint line, const char *a,
                                      const char *b_id, GError **error);

void ms__topology_warn(MsTopology *t, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Sets error to "PATH:LINE: message" (MS_TOPOLOGY_ERROR_INVALID); returns FALSE. */
gboolean ms__topology_fail(GError **error, const MsTopology *t, guint line, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* Parses a whole decimal number (C locale, no junk, finite); FALSE when not. */
gboolean ms__topology_parse_double(const char *s, double *out);

/* The scale of the Topology Zoo's LinkSpeedUnits ("", k, K, M, G, T);
 * FALSE when unknown. */
gboolean ms__topology_unit_scale(const char *units, double *out);

/* The readers, one per format: fill b from data (NUL-terminated, len bytes
 * before the NUL). FALSE with an error on the first problem. */
gboolean ms__topology_read_graphml(MsTopologyBuilder *b, const char *data, gsize len,
                                   GError **error);
gboolean ms__topology_read_gml(MsTopologyBuilder *b, const char *data, gsize len, GError **error);
gboolean ms__topology_read_asrel(MsTopologyBuilder *b, const char *data, gsize len, GError **error);
gboolean ms__topology_read_brite(MsTopologyBuilder *b, const char *data, gsize len, GError **error);

G_END_DECLS
