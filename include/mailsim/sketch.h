/* A mergeable summary of a distribution of non-negative integers (delivery
 * latencies in nanoseconds, say) that answers quantile queries within a
 * stated relative error in memory that does not grow with the number of
 * values: what a run that frees each message's record once it is finished
 * keeps of the latencies (sim/mail/mail_record.c, sim/run/stats.c).
 *
 * Two forms. While a sketch holds at most `exact_limit` values it keeps them
 * all, and every answer is exact. Past that it keeps a log-bucketed
 * histogram (the layout of HDR histograms): values below 2^MS_SKETCH_BITS
 * have a bucket each; above, each power of two [2^e, 2^(e+1)) is cut into
 * 2^MS_SKETCH_BITS equal buckets, each of width 2^(e - MS_SKETCH_BITS).
 *
 * Error bound. A quantile from the histogram is the midpoint of the bucket
 * that holds the true order statistic v (clamped to the exact minimum and
 * maximum), so it differs from v by at most half a bucket width, and since
 * v >= 2^e:
 *     |answer - v| <= 2^(e - B - 1) <= v * 2^-(B + 1) = v * MS_SKETCH_RELATIVE_ERROR,
 * with B = MS_SKETCH_BITS = 10: at most 1/2048 (0.049 %) of the true value,
 * for every quantile and every input (tests/test_sketch.c checks it against
 * exact quantiles on random and adversarial data). Count, minimum, maximum
 * and the sum (kept in 128 bits, so the mean is exact to double rounding)
 * are exact in both forms.
 *
 * Merging adds counts bucket by bucket (or joins the exact values), so
 * merge(a, b) is exactly the sketch of the values of a and b together, in any
 * order: sweeps and the parts of a distributed run can combine theirs
 * (ms_sketch_serialise() gives a portable byte form).
 *
 * Costs: add O(1) (amortised; the switch from exact values to buckets is
 * O(exact_limit) once); quantile O(buckets) = O(64 * 2^B) at worst, plus a
 * sort of the exact values on the first query after an add; memory at most
 * exact_limit * 8 bytes, then 2^B * 8 bytes (8 KiB) per power of two that
 * holds a value (latencies from 1 ms to 1 day span 27 of them: 216 KiB).
 * Not thread-safe; a sketch belongs to one world. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_SKETCH_BITS 10
/* The largest relative error of a quantile from the histogram: 2^-(B+1). */
#define MS_SKETCH_RELATIVE_ERROR (1.0 / (double) (2u << MS_SKETCH_BITS))
/* exact_limit for a sketch that never leaves the exact form. */
#define MS_SKETCH_ALWAYS_EXACT G_MAXUINT

#define MS_SKETCH_ERROR (ms_sketch_error_quark())
GQuark ms_sketch_error_quark(void);

typedef struct _MsSketch MsSketch;

/* A new, empty sketch that keeps up to exact_limit values exactly (0: the
 * histogram from the first value; MS_SKETCH_ALWAYS_EXACT: never the
 * histogram). Caller frees. */
MsSketch *ms_sketch_new(guint exact_limit);
void ms_sketch_free(MsSketch *sketch);
/* A copy (caller frees). */
MsSketch *ms_sketch_copy(const MsSketch *sketch);

void ms_sketch_add(MsSketch *sketch, guint64 value);
/* Adds every value of `from` to `into` (into's exact_limit applies). */
void ms_sketch_merge(MsSketch *into, const MsSketch *from);

guint64 ms_sketch_count(const MsSketch *sketch);
guint64 ms_sketch_min(const MsSketch *sketch); /* 0 when empty */
guint64 ms_sketch_max(const MsSketch *sketch); /* 0 when empty */
double ms_sketch_mean(const MsSketch *sketch); /* 0 when empty */
/* TRUE while every value is kept (answers are exact). */
gboolean ms_sketch_is_exact(const MsSketch *sketch);

/* The nearest-rank p-quantile (the smallest value with at least p of the
 * values at or below it; rank ceil(p * n), as ms_stats_percentile() counts
 * it), exact in the exact form and within MS_SKETCH_RELATIVE_ERROR of it in
 * the histogram. 0 when empty. May sort the exact values in place. */
guint64 ms_sketch_quantile(MsSketch *sketch, double p);

/* Whether a and b summarise the same values in the same form (the multiset
 * of values, or the bucket counts; count, min, max and sum). May sort. */
gboolean ms_sketch_equal(MsSketch *a, MsSketch *b);

/* A byte form (little-endian, versioned) for another process; and back,
 * NULL with `error` set when the bytes are not one (truncated, another
 * bucket layout, counts that do not add up). Callers free. */
GBytes *ms_sketch_serialise(const MsSketch *sketch);
MsSketch *ms_sketch_deserialise(GBytes *bytes, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSketch, ms_sketch_free)

G_END_DECLS
