/* Imported topologies: real networks and AS graphs read from the files
 * researchers publish (the Internet Topology Zoo's GraphML and GML, CAIDA's
 * AS relationships, BRITE's text output) into one plain description, then
 * written out as scenario XML (routers and links; optionally mail domains,
 * MX hosts, a resolver and users placed on the routers), so that a
 * `<topology file=... format=...>` element or `mailsim import` turns any of
 * them into a world.
 *
 * The importers live in sim/scenario/topology_*.c (one per format) and
 * share the rules of sim/scenario/topology.c, applied after reading, each
 * with a warning that names the file and line:
 *  - a self-loop is dropped;
 *  - parallel edges between the same two nodes become one link: the first
 *    edge's attributes are kept, the others dropped;
 *  - a node without coordinates gets none (a latency from coordinates is
 *    then impossible: its links take MS_TOPOLOGY_DEFAULT_LATENCY);
 *  - an edge without a speed gets MS_TOPOLOGY_DEFAULT_SPEED;
 *  - an edge without a latency of its own gets the great-circle distance of
 *    its ends at two thirds of the speed of light (light in fibre) plus
 *    MS_TOPOLOGY_HOP_LATENCY per hop;
 *  - disconnected parts: only the largest connected part is kept (ties: the
 *    part holding the lowest node index); the warning says how many nodes
 *    and edges were left out, since no mail could cross between parts.
 * Errors (duplicate ids, edges to unknown nodes, non-numeric values, unknown
 * GraphML keys, nesting deeper than MS_TOPOLOGY_MAX_DEPTH, files over
 * MS_TOPOLOGY_MAX_FILE_SIZE, a provider-customer cycle in AS data) are one
 * GError in MS_TOPOLOGY_ERROR, "FILE:LINE: what is wrong, what was
 * expected". */
#pragma once

#include <glib.h>
#include "mailsim/generate.h"
#include "mailsim/time.h"

G_BEGIN_DECLS

#define MS_TOPOLOGY_ERROR (ms_topology_error_quark())
GQuark ms_topology_error_quark(void);

typedef enum {
    MS_TOPOLOGY_ERROR_IO,      /* cannot read the file, or it is too large */
    MS_TOPOLOGY_ERROR_INVALID, /* malformed or meaningless input */
} MsTopologyError;

#define MS_TOPOLOGY_MAX_FILE_SIZE (256u * 1024 * 1024)
#define MS_TOPOLOGY_MAX_NODES     2000000u
#define MS_TOPOLOGY_MAX_EDGES     10000000u
#define MS_TOPOLOGY_MAX_DEPTH     32    /* GML list nesting, GraphML element depth */
#define MS_TOPOLOGY_MAX_TOKEN     4096u /* a GML string or a CAIDA/BRITE field */

/* The stated defaults of the rules above. */
#define MS_TOPOLOGY_DEFAULT_SPEED   1000000000ull      /* 1 Gbps */
#define MS_TOPOLOGY_DEFAULT_LATENCY (5 * MS_TIME_MS)   /* an end without coordinates */
#define MS_TOPOLOGY_HOP_LATENCY     (100 * MS_TIME_US) /* per hop: switching, serialisation */
/* Two thirds of c, in km/s. */
#define MS_TOPOLOGY_FIBRE_KM_PER_S (299792.458 * 2.0 / 3.0)

typedef enum {
    MS_TOPOLOGY_GRAPHML,
    MS_TOPOLOGY_GML,
    MS_TOPOLOGY_CAIDA_ASREL,
    MS_TOPOLOGY_BRITE,
} MsTopologyFormat;

/* How two ASes relate across an edge (CAIDA: -1 and 0). */
typedef enum {
    MS_TOPOLOGY_REL_NONE,              /* inside one network, or not known */
    MS_TOPOLOGY_REL_PROVIDER_CUSTOMER, /* a is a provider of b */
    MS_TOPOLOGY_REL_PEER,              /* settlement-free peers */
} MsTopologyRel;

typedef struct {
    guint line;  /* where the node was defined */
    char *id;    /* the file's id, unique */
    char *label; /* a name for people ("Amsterdam", "AS3356"); never NULL */
    gboolean has_geo;
    double lat, lon; /* degrees, when has_geo */
    gboolean has_xy;
    double x, y;       /* plane coordinates (BRITE), when has_xy */
    gboolean internal; /* the operator's own node (Zoo "Internal"; TRUE unless 0) */
    guint32 asn;       /* the AS the node belongs to; 0 = not known */
    double population; /* weight for placing mail (degree when the file gives none) */
} MsTopologyNode;

typedef struct {
    guint line;
    guint a, b;        /* node indices, a != b once the rules ran */
    guint64 speed_bps; /* 0 = not given */
    MsTime latency;    /* 0 = not given (derived by the rules) */
    MsTopologyRel rel; /* a's relation to b */
    char *label;       /* the file's link label, or NULL */
} MsTopologyEdge;

typedef struct {
    char *path; /* display name of the file */
    MsTopologyFormat format;
    gboolean is_as_graph; /* one node per AS (CAIDA), relationships on edges */
    GArray *nodes;        /* of MsTopologyNode */
    GArray *edges;        /* of MsTopologyEdge */
    GPtrArray *warnings;  /* of char*, "FILE:LINE: warning: ...", in the order found */
} MsTopology;

/* "graphml", "gml", "caida-asrel", "brite" <-> the enum. FALSE when unknown. */
gboolean ms_topology_format_from_string(const char *s, MsTopologyFormat *out);
const char *ms_topology_format_to_string(MsTopologyFormat f);

/* The format a file name suggests (.graphml, .gml, .txt/.as-rel*, .brite);
 * FALSE when the name says nothing. */
gboolean ms_topology_format_guess(const char *path, MsTopologyFormat *out);

/* Reads a topology from memory; display_name names it in errors and
 * warnings. data need not be NUL-terminated. Applies the rules above.
 * Returns NULL with an error, or a topology the caller owns. */
MsTopology *ms_topology_load_memory(const char *data, gsize len, const char *display_name,
                                    MsTopologyFormat format, GError **error);

/* The same from a file (its size is checked before reading). */
MsTopology *ms_topology_load_file(const char *path, MsTopologyFormat format, GError **error);

void ms_topology_free(MsTopology *t);

/* Great-circle distance in km between two points (degrees), haversine on a
 * sphere of radius 6371 km. */
double ms_topology_distance_km(double lat1, double lon1, double lat2, double lon2);

/* How an imported graph becomes scenario elements. */
typedef struct {
    guint32 pops;          /* AS graphs: routers per AS (1 = one router per AS) */
    guint32 first_address; /* host byte order; 10.0.0.1 when 0 */
} MsTopologyWriteOptions;

/* Appends <host role="router"> and <link> elements for the topology to
 * `out` (ids r0, r1, ... in node order; labels, coordinates and ASes as
 * attributes), without the root element. Returns the address after the
 * last one used; *ids (when not NULL) receives the router ids (caller
 * frees with g_ptr_array_unref), and *weights their placement weights. */
guint32 ms_topology_write_elements(const MsTopology *t, const MsTopologyWriteOptions *opts,
                                   GString *out, GPtrArray **ids, GArray **weights, GArray **asns);

/* The routers and links of ms_topology_write_elements and, when mail is
 * not NULL, the mail of a generated world placed on them (the rules of
 * sim/scenario/scenario_topology.c: MX hosts on the network's own routers,
 * by population, or evenly when `even`; DNS and relays on the
 * best-connected twentieth). Appends to out; returns the next free
 * address. */
guint32 ms_topology_append_world(const MsTopology *t, guint32 pops, const MsGenParams *mail,
                                 gboolean even, guint32 next_addr, GString *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsTopology, ms_topology_free)

G_END_DECLS
