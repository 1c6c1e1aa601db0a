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
} MsLatencyStats;

/* Percentile by the nearest-rank method (the smallest value with at least
 * p of the values at or below it), over `values` (sorted in place). */
double ms_stats_percentile(double *values, guint n, double p);

void ms_stats_latency(MsWorld *world, MsLatencyStats *out);

/* Writes the statistics to `path`: JSON when it ends in .json, CSV (one
 * "section,name,value" row per figure) when it ends in .csv. */
gboolean ms_stats_write(MsWorld *world, const char *path, GError **error);

/* The same figures as a table, for partitioned runs: each part collects
 * its own; the part holding the merged mail records adds the others'
 * counters (ms_stats_table_part_values() of each) and writes the result. */
typedef struct _MsStatsTable MsStatsTable;
MsStatsTable *ms_stats_collect(MsWorld *world);
void ms_stats_table_free(MsStatsTable *table);
/* The value of one figure (0, and a critical warning, when there is none). */
double ms_stats_table_get(const MsStatsTable *table, const char *section, const char *name);
/* The values of the figures each part counts for itself (all but the mail
 * and latency figures, which come from the merged records). */
GBytes *ms_stats_table_part_values(const MsStatsTable *table);
/* Adds another part's values (from ms_stats_table_part_values()). */
gboolean ms_stats_table_add_part(MsStatsTable *table, GBytes *values, GError **error);
gboolean ms_stats_table_write(const MsStatsTable *table, const char *path, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsStatsTable, ms_stats_table_free)

G_END_DECLS
