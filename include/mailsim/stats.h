/* Run statistics: what a researcher compares between runs. Delivery latency
 * (submission to mailbox) over every delivered recipient of submitted
 * messages, with mean, p50, p95, p99 and max; hops, attempts, deferrals,
 * bounces; DNS lookups and cache hits; per-link utilisation and drops;
 * per-MTA queue peaks. Written as text, JSON or CSV. */
#pragma once

#include <stdio.h>
#include <glib.h>
#include "mailsim/world.h"

G_BEGIN_DECLS

typedef struct {
    guint n;                         /* delivered recipients measured */
    double mean, p50, p95, p99, max; /* seconds */
    /* 0 when p50, p95 and p99 are exact; else they come from a sketch (a
     * run that folds finished records, include/mailsim/sketch.h) and this
     * is their relative error bound. n, mean and max are always exact. */
    double quantile_error;
} MsLatencyStats;

/* Percentile by the nearest-rank method (the smallest value with at least
 * p of the values at or below it), over `values` (sorted in place). */
double ms_stats_percentile(double *values, guint n, double p);

/* Over the live records and what the folded ones left (mail.h). The mean
 * is the exact sum of nanoseconds over n. */
void ms_stats_latency(MsWorld *world, MsLatencyStats *out);

/* Routing studies (sim/run/stats_routing.c) over the paths of delivered
 * recipients (origin to storing server, as routed at the end of the run):
 * stretch = path latency / shortest possible latency, hop counts, path
 * latencies. At most this many destination servers are measured (the
 * lowest host ids); the others are counted in destinations_left_out. */
#define MS_STATS_ROUTING_MAX_DESTINATIONS MS_MAIL_PATH_DESTINATIONS
typedef struct {
    guint paths;       /* recipients measured */
    guint unreachable; /* with no route at the end of the run */
    guint destinations_left_out;
    double stretch_mean, stretch_p95, stretch_max;
    double hops_mean, hops_p50, hops_p95, hops_max;
    double latency_mean, latency_p50, latency_p95, latency_max; /* seconds */
} MsRoutingStats;
void ms_stats_routing(MsWorld *world, MsRoutingStats *out);
/* The same, and each measured path's stretch, hop count and latency (s)
 * appended to the arrays of double that are not NULL, in path order
 * (destinations by host id, then recipients in record order). */
void ms_stats_routing_paths(MsWorld *world, MsRoutingStats *out, GArray *stretch, GArray *hops,
                            GArray *latency);

/* Writes the statistics to `path`: JSON when it ends in .json, CSV (one
 * "section,name,value" row per figure) when it ends in .csv. */
gboolean ms_stats_write(MsWorld *world, const char *path, GError **error);

/* The same figures as a table, for partitioned runs: each part collects
 * its own; the part holding the merged mail records adds the others'
 * counters (ms_stats_table_part_values() of each) and writes the result. */
typedef struct _MsStatsTable MsStatsTable;
MsStatsTable *ms_stats_collect(MsWorld *world);
/* Only what ms_stats_table_part_values() takes (the figures from the mail
 * records read 0, and of the links only those the part counted anything
 * on): for the parts whose records go to another part's merge, without the
 * latency and routing studies' cost, nor a row per link of the world. Not
 * for writing, nor for adding parts to. */
MsStatsTable *ms_stats_collect_part(MsWorld *world);
void ms_stats_table_free(MsStatsTable *table);
/* The value of one figure (0, and a critical warning, when there is none). */
double ms_stats_table_get(const MsStatsTable *table, const char *section, const char *name);
/* The values of the figures each part counts for itself (all but the mail
 * and latency figures, which come from the merged records), with each link
 * direction's busy time and busiest second in nanoseconds and the windows
 * of busy time other parts may add to (ms_net_peak_windows()). */
GBytes *ms_stats_table_part_values(const MsStatsTable *table);
/* Adds another part's values (from ms_stats_table_part_values()) to a
 * whole run's table (ms_stats_collect()): counters
 * and busy times added, a link direction's busiest second the largest of
 * the peaks and of the windows added up per second, so that the table
 * holds the sequential run's figures once every part was added. FALSE,
 * with the table unchanged, when `values` are not a part's of this world. */
gboolean ms_stats_table_add_part(MsStatsTable *table, GBytes *values, GError **error);
gboolean ms_stats_table_write(const MsStatsTable *table, const char *path, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsStatsTable, ms_stats_table_free)

G_END_DECLS
