/* Where the hop diagram puts each host: the scenario's own positions when
 * every host has one and they leave no two hosts overlapping, otherwise an
 * automatic layered layout (senders left, recipients right, DNS servers in
 * a band above, mail servers and relays in a band below, routers and clients between).
 * Above MS_VIZ_LAYOUT_MAX_HOSTS hosts only the hosts of the journey (the
 * `focus`) and their neighbours are placed, up to that many; the rest are
 * counted, for the picture to summarise. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/scenario.h"
#include "mailsim/viz_canvas.h"

G_BEGIN_DECLS

#define MS_VIZ_LAYOUT_MAX_HOSTS 60

typedef struct {
    double x, y, w, h;
} MsVizRect;

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
