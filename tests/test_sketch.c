/* Tests of the quantile sketch (sim/core/sketch.c): its stated error bound
 * against exact nearest-rank quantiles, on random data (uniform, log-normal,
 * heavy-tailed) and adversarial data (bucket edges, powers of two and their
 * neighbours, the largest values, one repeated value, two far clusters);
 * that the exact form is exact; that merge(a, b) is the sketch of a and b
 * together; and the byte form, with malformed input refused. */
#include "testlib.h"
#include "mailsim/sketch.h"
#include "mailsim/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_u64(const void *a, const void *b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank quantile of sorted v[0..n), as the statistics count it. */
static guint64
exact_quantile(const guint64 *v, guint n, double p)
{
    double rank = ceil(p * n);
    guint i = rank < 1 ? 0 : (guint) rank - 1;
    return v[MIN(i, n - 1)];
}

static const double ps[] = { 0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0 };

/* Checks every quantile of ps, and a sweep of others, against the bound:
 * |q - v| * 2^(B+1) <= v, in integers (no rounding hides an excess).
 * Returns the worst relative error seen. */
static double
check_bound(GArray *values, const char *what)
{
    g_autoptr(MsSketch) s = ms_sketch_new(0);
    for (guint i = 0; i < values->len; i++)
        ms_sketch_add(s, g_array_index(values, guint64, i));
    CU_ASSERT_FALSE(ms_sketch_is_exact(s));
    guint64 *v = (guint64 *) values->data;
    guint n = values->len;
    qsort(v, n, sizeof(guint64), cmp_u64);
    CU_ASSERT_EQUAL(ms_sketch_count(s), n);
    CU_ASSERT_EQUAL(ms_sketch_min(s), v[0]);
    CU_ASSERT_EQUAL(ms_sketch_max(s), v[n - 1]);
    double worst = 0;
    for (guint k = 0; k < G_N_ELEMENTS(ps) + 200; k++) {
        double p = k < G_N_ELEMENTS(ps) ? ps[k] : (k - G_N_ELEMENTS(ps)) / 199.0;
        guint64 want = exact_quantile(v, n, p), got = ms_sketch_quantile(s, p);
        guint64 diff = got > want ? got - want : want - got;
        /* diff <= want / 2^(B+1), without overflow for values near 2^64 */
        gboolean ok = diff <= (want >> (MS_SKETCH_BITS + 1)) || (diff == 0);
        if (!ok)
            printf("\n  %s: p=%g exact %" G_GUINT64_FORMAT " sketch %" G_GUINT64_FORMAT "\n", what,
                   p, want, got);
        CU_ASSERT_TRUE(ok);
        if (want)
            worst = MAX(worst, (double) diff / (double) want);
    }
    CU_ASSERT_TRUE(worst <= MS_SKETCH_RELATIVE_ERROR);
    return worst;
}

static void
test_random_data(void)
{
    MsRng r;
    ms_rng_init(&r, 20, 1);
    double worst = 0;
    for (int dist = 0; dist < 4; dist++) {
        g_autoptr(GArray) v = g_array_new(FALSE, FALSE, sizeof(guint64));
        for (int i = 0; i < 100000; i++) {
            guint64 x;
            switch (dist) {
            case 0: /* uniform over a wide range */
                x = ms_rng_below(&r, G_GUINT64_CONSTANT(1) << 40);
                break;
            case 1: /* latencies: log-normal around 0.7 s, in ns */
                x = (guint64) (ms_rng_lognormal(&r, log(7e8), 0.6));
                break;
            case 2: /* heavy tail: Pareto-like, spanning many powers of two */
                x = (guint64) (1e6 / pow(ms_rng_uniform(&r) + 1e-12, 1.5));
                break;
            default: /* small integers, below the first bucketed power */
                x = ms_rng_below(&r, 3000);
                break;
            }
            g_array_append_val(v, x);
        }
        static const char *names[] = { "uniform", "lognormal", "pareto", "small" };
        worst = MAX(worst, check_bound(v, names[dist]));
    }
    /* The bound is tight enough to matter: random data comes close to it. */
    CU_ASSERT_TRUE(worst > MS_SKETCH_RELATIVE_ERROR / 4);
}

static void
test_adversarial_data(void)
{
    /* Each power of two from 2^B on, its neighbours, and the edges of
     * buckets inside it (the last value of a bucket is the farthest from
     * the midpoint). */
    g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint e = 0; e < 64; e++) {
        guint64 p2 = G_GUINT64_CONSTANT(1) << e;
        guint64 xs[] = { p2 - 1, p2, p2 + 1, p2 + (p2 >> 1), p2 + (p2 >> 1) - 1 };
        for (guint k = 0; k < G_N_ELEMENTS(xs); k++)
            g_array_append_val(edges, xs[k]);
        if (e >= MS_SKETCH_BITS) {
            guint64 w = p2 >> MS_SKETCH_BITS; /* bucket width */
            for (guint j = 1; j < 8; j++) {
                guint64 last = p2 + j * w - 1; /* the last value of bucket j - 1 */
                g_array_append_val(edges, last);
            }
        }
    }
    guint64 top = G_MAXUINT64;
    g_array_append_val(edges, top);
    check_bound(edges, "edges");

    /* Every value one bucket's last: each query lands at the worst place. */
    g_autoptr(GArray) lasts = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < 5000; i++) {
        guint64 x = ((G_GUINT64_CONSTANT(1) << 30) + (guint64) (i + 1) * (1u << 20)) - 1;
        g_array_append_val(lasts, x);
    }
    check_bound(lasts, "bucket ends");

    /* One repeated value: min = max, and the clamp makes it exact. */
    g_autoptr(MsSketch) same = ms_sketch_new(0);
    for (guint i = 0; i < 1000; i++)
        ms_sketch_add(same, 123456789);
    CU_ASSERT_EQUAL(ms_sketch_quantile(same, 0.5), 123456789);
    CU_ASSERT_EQUAL(ms_sketch_quantile(same, 0.99), 123456789);
    CU_ASSERT_DOUBLE_EQUAL(ms_sketch_mean(same), 123456789.0, 1e-6);

    /* Two clusters far apart, the split exactly at a quantile's rank. */
    g_autoptr(GArray) two = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < 950; i++) {
        guint64 x = 1000000 + i;
        g_array_append_val(two, x);
    }
    for (guint i = 0; i < 50; i++) {
        guint64 x = G_GUINT64_CONSTANT(86400000000000) + i * 1000003;
        g_array_append_val(two, x);
    }
    check_bound(two, "two clusters");

    /* The largest values: no overflow in buckets, midpoints or the sum. */
    g_autoptr(GArray) big = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < 300; i++) {
        guint64 x = G_MAXUINT64 - (guint64) i * 7919;
        g_array_append_val(big, x);
    }
    check_bound(big, "largest");
    g_autoptr(MsSketch) s = ms_sketch_new(0);
    ms_sketch_add(s, G_MAXUINT64);
    ms_sketch_add(s, G_MAXUINT64);
    CU_ASSERT_DOUBLE_EQUAL(ms_sketch_mean(s), 18446744073709551615.0, 1e4);
    CU_ASSERT_EQUAL(ms_sketch_quantile(s, 1.0), G_MAXUINT64);

    /* An empty sketch answers 0; one value answers itself. */
    g_autoptr(MsSketch) e = ms_sketch_new(0);
    CU_ASSERT_EQUAL(ms_sketch_quantile(e, 0.5), 0);
    CU_ASSERT_EQUAL(ms_sketch_count(e), 0);
    CU_ASSERT_DOUBLE_EQUAL(ms_sketch_mean(e), 0, 0);
    ms_sketch_add(e, 4242424242);
    CU_ASSERT_EQUAL(ms_sketch_quantile(e, 0.5), 4242424242);
}

/* Below its limit a sketch is exact; one value past it, it is the
 * histogram, and says so. */
static void
test_exact_form(void)
{
    MsRng r;
    ms_rng_init(&r, 21, 0);
    g_autoptr(MsSketch) s = ms_sketch_new(1000);
    g_autoptr(GArray) v = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < 1000; i++) {
        guint64 x = ms_rng_below(&r, G_GUINT64_CONSTANT(1) << 50);
        ms_sketch_add(s, x);
        g_array_append_val(v, x);
    }
    CU_ASSERT_TRUE(ms_sketch_is_exact(s));
    qsort(v->data, v->len, sizeof(guint64), cmp_u64);
    for (guint k = 0; k < G_N_ELEMENTS(ps); k++)
        CU_ASSERT_EQUAL(ms_sketch_quantile(s, ps[k]),
                        exact_quantile((guint64 *) v->data, v->len, ps[k]));
    /* a query, then more values: the sort is redone */
    ms_sketch_add(s, 0);
    CU_ASSERT_FALSE(ms_sketch_is_exact(s));
    CU_ASSERT_EQUAL(ms_sketch_quantile(s, 0.0), 0);
    g_autoptr(MsSketch) always = ms_sketch_new(MS_SKETCH_ALWAYS_EXACT);
    for (guint i = 0; i < 5; i++)
        ms_sketch_add(always, 10 - i);
    CU_ASSERT_EQUAL(ms_sketch_quantile(always, 0.5), 8);
    ms_sketch_add(always, 1);
    CU_ASSERT_EQUAL(ms_sketch_quantile(always, 0.0), 1);
    CU_ASSERT_TRUE(ms_sketch_is_exact(always));
}

static MsSketch *
sketch_of(const guint64 *v, guint n, guint limit)
{
    MsSketch *s = ms_sketch_new(limit);
    for (guint i = 0; i < n; i++)
        ms_sketch_add(s, v[i]);
    return s;
}

/* merge(a, b) equals the sketch of a's and b's values together, for every
 * combination of forms, and byte for byte in the serialised form. */
static void
test_merge(void)
{
    MsRng r;
    ms_rng_init(&r, 22, 0);
    enum { N = 30000 };
    g_autofree guint64 *v = g_new(guint64, N);
    for (guint i = 0; i < N; i++)
        v[i] = (guint64) ms_rng_lognormal(&r, 20.0, 2.0);
    static const guint limits[] = { 0, 100, 20000, 40000, MS_SKETCH_ALWAYS_EXACT };
    static const guint splits[] = { 0, 1, 50, 15000, 29999, N };
    for (guint li = 0; li < G_N_ELEMENTS(limits); li++)
        for (guint si = 0; si < G_N_ELEMENTS(splits); si++) {
            guint cut = splits[si];
            g_autoptr(MsSketch) a = sketch_of(v, cut, limits[li]);
            g_autoptr(MsSketch) b = sketch_of(v + cut, N - cut, limits[li]);
            g_autoptr(MsSketch) all = sketch_of(v, N, limits[li]);
            ms_sketch_merge(a, b);
            CU_ASSERT_TRUE(ms_sketch_equal(a, all));
            g_autoptr(GBytes) ba = ms_sketch_serialise(a);
            g_autoptr(GBytes) ball = ms_sketch_serialise(all);
            CU_ASSERT_TRUE(g_bytes_equal(ba, ball));
            for (guint k = 0; k < G_N_ELEMENTS(ps); k++)
                CU_ASSERT_EQUAL(ms_sketch_quantile(a, ps[k]), ms_sketch_quantile(all, ps[k]));
        }
    /* Merge is order-free: (c + b) + a = a + (b + c). */
    g_autoptr(MsSketch) a = sketch_of(v, 10000, 0);
    g_autoptr(MsSketch) b = sketch_of(v + 10000, 10000, 0);
    g_autoptr(MsSketch) c = sketch_of(v + 20000, 10000, 0);
    g_autoptr(MsSketch) x = ms_sketch_copy(c);
    ms_sketch_merge(x, b);
    ms_sketch_merge(x, a);
    g_autoptr(MsSketch) y = ms_sketch_copy(b);
    ms_sketch_merge(y, c);
    ms_sketch_merge(a, y);
    CU_ASSERT_TRUE(ms_sketch_equal(x, a));
    /* and sketches that differ are told apart */
    g_autoptr(MsSketch) d = ms_sketch_copy(a);
    ms_sketch_add(d, 1);
    CU_ASSERT_FALSE(ms_sketch_equal(d, a));
}

static void
test_bytes(void)
{
    MsRng r;
    ms_rng_init(&r, 23, 0);
    for (guint limit = 0; limit <= 5000; limit += 5000) {
        g_autoptr(MsSketch) s = ms_sketch_new(limit);
        for (guint i = 0; i < 3000; i++)
            ms_sketch_add(s, ms_rng_below(&r, G_GUINT64_CONSTANT(1) << 45));
        g_autoptr(GBytes) b = ms_sketch_serialise(s);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsSketch) back = ms_sketch_deserialise(b, &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_TRUE(ms_sketch_equal(s, back));
        CU_ASSERT_EQUAL(ms_sketch_is_exact(back), limit > 0);
        /* every truncation is refused, with a reason */
        gsize n;
        const guint8 *d = g_bytes_get_data(b, &n);
        for (gsize cut = 0; cut < n; cut += 1 + cut / 3) {
            g_autoptr(GBytes) t = g_bytes_new(d, cut);
            g_autoptr(GError) e2 = NULL;
            CU_ASSERT_PTR_NULL(ms_sketch_deserialise(t, &e2));
            CU_ASSERT_TRUE(e2 && g_str_has_prefix(e2->message, "not a sketch: "));
        }
        /* a counter changed: the counts no longer add up */
        g_autofree guint8 *bad = g_memdup2(d, n);
        bad[n - 1] ^= 0x40;
        g_autoptr(GBytes) bb = g_bytes_new(bad, n);
        g_autoptr(GError) e3 = NULL;
        CU_ASSERT_PTR_NULL(ms_sketch_deserialise(bb, &e3));
        /* another bucket layout */
        g_autofree guint8 *other = g_memdup2(d, n);
        other[5] = MS_SKETCH_BITS + 1;
        g_autoptr(GBytes) bo = g_bytes_new(other, n);
        g_autoptr(GError) e4 = NULL;
        CU_ASSERT_PTR_NULL(ms_sketch_deserialise(bo, &e4));
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "error bound on random data", test_random_data },
        { "error bound on adversarial data", test_adversarial_data },
        { "exact form", test_exact_form },
        { "merge is the sketch of the union", test_merge },
        { "byte form", test_bytes },
        { NULL, NULL },
    };
    return ms_test_main("sketch", cases);
}
