/* Random streams. Every random draw in a run comes from an MsRng derived from
 * the scenario seed and a stream id (one per host, or per purpose), so adding
 * a host or a purpose never changes the draws of the others, and a run is the
 * same on every machine. The generator is xoshiro256** seeded through
 * splitmix64; an MsRng is a small value, embedded where it is used. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    guint64 s[4];
} MsRng;

/* Seeds `rng` from (seed, stream). Distinct streams give independent
 * sequences. */
void ms_rng_init(MsRng *rng, guint64 seed, guint64 stream);

/* The same, with the stream named by a string (e.g. "workload"); the name is
 * hashed with FNV-1a, which is fixed across platforms. */
void ms_rng_init_named(MsRng *rng, guint64 seed, const char *purpose);

guint64 ms_rng_next(MsRng *rng);

/* Uniform on [0, 1), 53 bits. */
double ms_rng_uniform(MsRng *rng);

/* Uniform integer on [0, n), without modulo bias; n > 0. */
guint64 ms_rng_below(MsRng *rng, guint64 n);

/* Uniform on [lo, hi). */
double ms_rng_uniform_range(MsRng *rng, double lo, double hi);

/* Exponential with the given mean (> 0). */
double ms_rng_exponential(MsRng *rng, double mean);

/* Normal (Box-Muller, one value per call: no cached spare, so the stream's
 * state is all of its state). */
double ms_rng_normal(MsRng *rng, double mean, double stddev);

/* Log-normal whose logarithm is Normal(mu, sigma). */
double ms_rng_lognormal(MsRng *rng, double mu, double sigma);

/* Draws an index in [0, n) with probability weights[i] / sum(weights).
 * Weights are >= 0 and not all 0. O(n). */
guint ms_rng_discrete(MsRng *rng, const double *weights, guint n);

/* True with probability p. */
gboolean ms_rng_bernoulli(MsRng *rng, double p);

G_END_DECLS
