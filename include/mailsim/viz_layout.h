/* Where the hop diagram puts each host: the scenario's own positions when
 * every host has one and they leave no two hosts overlapping, otherwise an
 * automatic layered layout (senders left, recipients right, DNS servers in
 * a band above, mail servers and relays in a band below, routers and clients between).
 * Above MS_VIZ_LAYOUT_MAX_HOSTS hosts only the hosts of the journey (the
 * `focus`) and their neighbours are placed, up to that many; the rest are
 * counted, for the picture to summarise. Above MS_VIZ_LAYOUT_SUMMARY_HOSTS
 * hosts the world is summarised instead: hosts are grouped (by AS, else by
 * transit core and stub area), each group is one box, and only the journey's
 * own hosts are placed individually, inside their group's box. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/scenario.h"
#include "mailsim/viz_canvas.h"

G_BEGIN_DECLS

#define MS_VIZ_LAYOUT_MAX_HOSTS 60
/* Worlds of more hosts than this are drawn as a summary by group. Around
 * 200 hosts the neighbours of a journey alone fill the page with a grid of
 * crossing links; a box per group says more. */
#define MS_VIZ_LAYOUT_SUMMARY_HOSTS 200

typedef struct {
    double x, y, w, h;
} MsVizRect;

/* A group of hosts in a summarised layout. */
typedef struct {
    char *name;      /* "AS 64500", "transit core", "stub area at r3", ... */
    guint n_hosts;   /* hosts in the group */
    guint n_shown;   /* of which drawn individually (the journey's) */
    MsVizRect box;   /* the group's box */
    MsVizRect label; /* its name and count, inside the box at the top */
} MsVizGroup;

/* The links between two groups, drawn as one line. */
typedef struct {
    guint a, b; /* group indexes, a < b */
    guint n_links;
    double bandwidth; /* sum of the links' bandwidths, bits per second */
} MsVizGroupLink;

typedef struct {
    guint n_hosts;          /* all hosts of the network */
    gboolean *shown;        /* per host */
    double *cx, *cy;        /* centre of the host's shape */
    MsVizRect *shape;       /* the host's symbol */
    MsVizRect *label;       /* name and address, under the symbol */
    MsVizRect bounds;       /* every shape and label */
    guint hidden_hosts;     /* hosts not shown */
    guint hidden_links;     /* links with an end not shown */
    gboolean from_scenario; /* the scenario's positions were used */
    /* summarised layouts only (NULL otherwise) */
    GArray *groups;      /* MsVizGroup, in order of their first host id */
    guint *group_of;     /* per host, an index into groups */
    GArray *group_links; /* MsVizGroupLink, sorted by (a, b) */
    char *summary;       /* one sentence saying how the world was grouped */
} MsVizLayout;

/* Places the hosts of `net` inside `area` (scenario positions are scaled
 * into it; the automatic layout is centred in it and may need more room:
 * see bounds). `sc` (may be NULL) gives positions; `focus` (may be NULL)
 * is an array of MsHostId that must be shown; `origin` (or MS_HOST_WORLD)
 * is the host put leftmost. `measure` measures the labels. Returns a new
 * layout (caller frees). */
MsVizLayout *ms_viz_layout_new(MsNet *net, const MsScenario *sc, MsVizCanvas *measure,
                               const MsVizRect *area, const GArray *focus, MsHostId origin);
void ms_viz_layout_free(MsVizLayout *layout);

/* The fonts of a host's label (name, address): the renderer uses the same. */
void ms_viz_layout_fonts(MsVizFont *name_font, MsVizFont *addr_font);

/* The fonts of a group's name and count, and the count's words ("12
 * hosts"; caller frees). */
void ms_viz_layout_group_fonts(MsVizFont *name_font, MsVizFont *count_font);
char *ms_viz_layout_group_caption(const MsVizGroup *group);

gboolean ms_viz_rect_overlap(const MsVizRect *a, const MsVizRect *b);
/* Whether the segment from (ax, ay) to (bx, by) passes through r. */
gboolean ms_viz_rect_hits_segment(const MsVizRect *r, double ax, double ay, double bx, double by);
MsVizRect ms_viz_rect_union(const MsVizRect *a, const MsVizRect *b);

/* TRUE when no two shown hosts' shapes or labels overlap; otherwise FALSE
 * and, when why is given, a sentence naming the first two (caller frees). */
gboolean ms_viz_layout_check(const MsVizLayout *layout, MsNet *net, char **why);

/* How many shown hosts' labels a link line crosses (with a few pixels of
 * room for the journey's arrows beside it); when why is given and there is
 * one, a sentence naming the first (caller frees). */
guint ms_viz_layout_crossed_labels(const MsVizLayout *layout, MsNet *net, char **why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsVizLayout, ms_viz_layout_free)

G_END_DECLS
