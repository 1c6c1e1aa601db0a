/* mailsim's pictures: the hop diagram (the topology with one message's
 * journey as numbered, timed arrows), the sequence chart (the exchanges of
 * that journey between host lanes, time downwards), plots (delivery
 * latency CDF and histogram) and the story page (a self-contained HTML
 * file that steps through the journey). PNG, SVG or PDF by the output
 * file's extension; HTML for the story.
 *
 * The pictures read a world that has run with an in-memory recorder
 * (include/mailsim/recorder.h, no filter) attached to its trace before the
 * run. Only viz/ draws (cairo, Pango); this header names no cairo type. */
#pragma once

#include <glib.h>
#include "mailsim/recorder.h"
#include "mailsim/sweep_results.h"
#include "mailsim/viz_canvas.h"
#include "mailsim/viz_journey.h"
#include "mailsim/viz_layout.h"
#include "mailsim/world.h"

G_BEGIN_DECLS

typedef enum {
    MS_VIZ_HOPS,
    MS_VIZ_SEQUENCE,
    MS_VIZ_PLOTS,
    MS_VIZ_STORY,
    MS_VIZ_SWEEP, /* a sweep's results across runs (from its JSON) */
    MS_VIZ_BENCH, /* benchmark worlds (from build/bench-worlds.csv) */
    MS_VIZ_MAP,   /* an imported network on its coordinates, links by load (viz/map.c) */
    MS_VIZ_ROUTING, /* the routing study of a run: stretch, hops, path latency (viz/routing_plot.c) */
} MsVizKind;

/* Default page of the hop diagram and the plots. */
#define MS_VIZ_DEFAULT_WIDTH  1600
#define MS_VIZ_DEFAULT_HEIGHT 1000

typedef struct {
    MsVizKind kind;
    guint32 message; /* 1..n; 0 = the first */
    double width;    /* 0 = the default; a picture may grow past it to fit */
    double height;
} MsVizOptions;

/* Renders the picture `opt` asks for of the run of `world` to `path`,
 * whose extension chooses the format (.png, .svg, .pdf; .html for the
 * story). Returns FALSE with `error` set for a bad path, kind/format pair,
 * message or a file that cannot be written; for MS_VIZ_SWEEP and
 * MS_VIZ_BENCH (pictures of many runs, not of one world). */
gboolean ms_viz_render(MsWorld *world, const MsRecorder *recorder, const MsVizOptions *opt,
                       const char *path, GError **error);

/* The format of `path` by its extension, or FALSE with `error` set. */
gboolean ms_viz_format_from_path(const char *path, MsVizFormat *format, GError **error);
/* "hops", "sequence", "plots", "story", "sweep", "bench". */
gboolean ms_viz_kind_parse(const char *text, MsVizKind *kind, GError **error);
const char *ms_viz_kind_to_string(MsVizKind kind);

/* The pieces, for tests and other front ends. Each returns a new canvas
 * (caller frees) holding the finished picture. */
MsVizCanvas *ms_viz_hops(MsWorld *world, const MsVizJourney *journey, MsVizFormat format,
                         double width, double height);
/* The host placement ms_viz_hops() uses on a page of width x height (it
 * may grow the page to the layout's bounds). Returns a new layout. */
MsVizLayout *ms_viz_hops_layout(MsWorld *world, const MsVizJourney *journey, MsVizCanvas *measure,
                                double width, double height);
/* What a label of the hop diagram names. */
typedef enum {
    MS_VIZ_LABEL_HOST,    /* a host's name and address */
    MS_VIZ_LABEL_LATENCY, /* a link's latency, on that link */
    MS_VIZ_LABEL_BADGE,   /* a step's numbered badge, on its arrow */
    MS_VIZ_LABEL_TIME,    /* a step's time, beside its badge */
    MS_VIZ_LABEL_LOCK,    /* a session's padlock (inside TLS or in the clear), by its badge */
} MsVizLabelKind;

typedef struct {
    MsVizRect box;
    MsVizLabelKind kind;
    gint link; /* the link a latency labels; -1 otherwise */
} MsVizLabelBox;

/* The boxes of the labels ms_viz_hops() draws on a page of width x height
 * (0: the defaults), in drawing order: for tests that no two overlap and
 * none lies on a link (ms_viz_hops_layout() gives the links' ends).
 * Returns a new array of MsVizLabelBox (caller frees). */
GArray *ms_viz_hops_labels(MsWorld *world, const MsVizJourney *journey, double width,
                           double height);
/* The map of a world whose hosts have coordinates (lat=, lon=), after its
 * run: equirectangular projection, links coloured and sized by the bytes
 * they carried, the five busiest numbered, labels thinned so that none
 * overlap. *labels (when not NULL) receives the boxes of the labels drawn
 * (MsVizRect; caller frees), for tests. NULL with `error` when no host has
 * coordinates. Returns a new canvas (caller frees). */
MsVizCanvas *ms_viz_map(MsWorld *world, MsVizFormat format, double width, double height,
                        GArray **labels, GError **error);

MsVizCanvas *ms_viz_sequence(MsWorld *world, const MsRecorder *recorder,
                             const MsVizJourney *journey, MsVizFormat format, double width);
/* The routing study of a run (ms_stats_routing_paths()): the CDF of the
 * path stretch against the shortest-latency path, the histogram of hop
 * counts and the CDF of path latencies, over the paths of delivered mail,
 * with the routing metric named. Returns a new canvas (caller frees). */
MsVizCanvas *ms_viz_routing(MsWorld *world, MsVizFormat format, double width, double height);
/* Delivery latency CDF and histogram; queue length over time of the MTAs
 * whose queues grew most (from the recorder's MS_TRACE_QUEUE records); the
 * busiest links' utilisation. */
MsVizCanvas *ms_viz_plots(MsWorld *world, const MsRecorder *recorder, MsVizFormat format,
                          double width, double height);
/* A sweep across runs: one panel per statistic in `stats` (NULL-terminated
 * names; NULL = latency mean, p50, p95, delivered, bounced and queued, those
 * the results hold), one column per grid point with the mean, its 95 % CI
 * bar and every replication as a dot; title, seeds, replications. Height
 * 0 = as the panels need. Returns a new canvas (caller frees), or NULL with
 * `error` for a statistic the results lack. */
MsVizCanvas *ms_viz_sweep(const MsSweepResults *results, const char *const *stats,
                          MsVizFormat format, double width, double height, GError **error);
/* The same by axis (viz/sweep_small_multiples.c): axis `x` along x
 * (numeric, on a log scale when its values span two decades or more, or
 * categorical), one column of panels per value of axis `split` (or one
 * column when NULL), one row per statistic (NULL: latency mean and p95,
 * delivered, queued, or the sweep's first four), and one series per
 * combination of the other varying axes. With neither x nor split, as
 * ms_viz_sweep(). Returns a new canvas, or NULL with `error` for an axis or
 * statistic the results lack. */
MsVizCanvas *ms_viz_sweep_by(const MsSweepResults *results, const char *const *stats, const char *x,
                             const char *split, MsVizFormat format, double width, double height,
                             GError **error);
/* Benchmark worlds from the CSV tools/bench.sh writes (header
 * "world,fidelity,messages,us_per_message,..."): time per message against
 * messages, log-log, one line per fidelity, with an n log n reference.
 * `name` names the CSV in errors. Returns a new canvas, or NULL with `error`
 * for a CSV without the needed columns or rows. */
MsVizCanvas *ms_viz_bench_worlds(const char *csv, const char *name, MsVizFormat format,
                                 double width, double height, GError **error);
/* Draws ms_viz_sweep() (default statistics) or ms_viz_bench_worlds() of the
 * file `input` (a sweep's JSON, a bench CSV) to `path` by its extension
 * (.png, .svg, .pdf); `kind` is MS_VIZ_SWEEP or MS_VIZ_BENCH. FALSE with
 * `error` naming the file that cannot be read, parsed or written. */
gboolean ms_viz_render_file(MsVizKind kind, const char *input, const char *path, double width,
                            double height, GError **error);
/* The story page as one self-contained HTML document (caller frees). */
char *ms_viz_story_html(MsWorld *world, const MsVizJourney *journey);

/* Colour (0xRRGGBB, Okabe-Ito) of a journey step's arrows. */
guint32 ms_viz_step_colour(MsVizStepKind kind);
/* The colour of a sender-check mark: what the checks made the server do. */
guint32 ms_viz_check_colour(MsVizCheckOutcome outcome);
/* "1.094 s", "60.021 s": a time as the pictures print it. */
char *ms_viz_time_label(MsTime t);

G_END_DECLS
