/* Random streams (see include/mailsim/rng.h): xoshiro256** (Blackman and
 * Vigna), seeded by running splitmix64 over a mix of the run seed and the
 * stream id. Pure functions of their state: no global generator. */
#include "mailsim/rng.h"

#include <math.h>

static inline guint64
rotl(guint64 x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static guint64
splitmix64(guint64 *x)
{
    guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
ms_rng_init(MsRng *rng, guint64 seed, guint64 stream)
{
    /* Mix stream into the seed through one splitmix round of its own, so
     * that (seed, stream) and (seed + 1, stream - 1) do not collide. */
    guint64 t = stream;
    guint64 x = seed ^ splitmix64(&t);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

void
ms_rng_init_named(MsRng *rng, guint64 seed, const char *purpose)
{
    guint64 h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *) purpose; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    ms_rng_init(rng, seed, h);
}

guint64
ms_rng_next(MsRng *rng)
{
    guint64 *s = rng->s;
    guint64 result = rotl(s[1] * 5, 7) * 9;
    guint64 t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
ms_rng_uniform(MsRng *rng)
{
    return (double) (ms_rng_next(rng) >> 11) * 0x1.0p-53;
}

guint64
ms_rng_below(MsRng *rng, guint64 n)
{
    g_return_val_if_fail(n > 0, 0);
    /* Rejection on the top of the range: unbiased. */
    guint64 limit = G_MAXUINT64 - (G_MAXUINT64 % n);
    guint64 v;
    do
        v = ms_rng_next(rng);
    while (v >= limit);
    return v % n;
}

double
ms_rng_uniform_range(MsRng *rng, double lo, double hi)
{
    return lo + (hi - lo) * ms_rng_uniform(rng);
}

double
ms_rng_exponential(MsRng *rng, double mean)
{
    /* 1 - U is in (0, 1], so the log is finite. */
    return -mean * log(1.0 - ms_rng_uniform(rng));
}

double
ms_rng_normal(MsRng *rng, double mean, double stddev)
{
    double u1 = 1.0 - ms_rng_uniform(rng);
    double u2 = ms_rng_uniform(rng);
    return mean + stddev * sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2);
}

double
ms_rng_lognormal(MsRng *rng, double mu, double sigma)
{
    return exp(ms_rng_normal(rng, mu, sigma));
}

guint
ms_rng_discrete(MsRng *rng, const double *weights, guint n)
{
    g_return_val_if_fail(n > 0, 0);
    double total = 0;
    for (guint i = 0; i < n; i++)
        total += weights[i];
    g_return_val_if_fail(total > 0, 0);
    double x = ms_rng_uniform(rng) * total;
    for (guint i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    /* Rounding left x just above the last weight: the last non-zero one. */
    for (guint i = n; i-- > 0;)
        if (weights[i] > 0)
            return i;
    return n - 1;
}

gboolean
ms_rng_bernoulli(MsRng *rng, double p)
{
    if (p <= 0)
        return FALSE;
    if (p >= 1)
        return TRUE;
    return ms_rng_uniform(rng) < p;
}
