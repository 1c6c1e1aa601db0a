/* Mergeable quantile sketches (see include/mailsim/sketch.h): exact values
 * up to a limit, then a log-bucketed histogram with a proven relative error.
 *
 * Role in the data flow: a run that folds finished messages into its
 * statistics (sim/mail/mail_record.c) adds each delivered recipient's
 * latency here; the statistics (sim/run/stats.c) read quantiles back.
 *
 * Design. Bucket index of v: below 2^B, v itself (block 0); else, with e
 * the position of v's highest set bit (B <= e <= 63), block e - B + 1 and,
 * inside it, the B bits that follow the highest one. Blocks of 2^B
 * counters are allocated on first use, so a sketch of latencies pays only
 * for the powers of two they span. The exact form is a plain array, sorted
 * lazily (on the first query after an add) rather than kept sorted.
 *
 * Invariants: count = number of values added (exact form: values->len, else
 * the sum of all counters); min <= max when count > 0; sum_hi:sum_lo is the
 * 128-bit sum. Ownership: a sketch owns its blocks and values. Costs: see
 * the header. */
#include "mailsim/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ms - sketch - error - quark, ms_sketch_error)

#define SUB        (1u << MS_SKETCH_BITS) /* buckets per block */
#define N_BLOCKS   (65 - MS_SKETCH_BITS)  /* block 0, then one per exponent B..63 */
#define N_BUCKETS  ((guint32) N_BLOCKS * SUB)
#define MAGIC      "MSSK"
#define VERSION    1
#define HEADER_LEN (4 + 4 + 4 + 5 * 8)

struct _MsSketch {
    guint exact_limit;
    guint64 count, min, max;
    guint64 sum_hi, sum_lo;
    GArray *values; /* guint64, the exact form; NULL once bucketed */
    gboolean sorted;
    guint64 *blocks[N_BLOCKS]; /* the histogram; NULL blocks hold nothing */
};

MsSketch *
ms_sketch_new(guint exact_limit)
{
    MsSketch *s = g_new0(MsSketch, 1);
    s->exact_limit = exact_limit;
    s->values = g_array_new(FALSE, FALSE, sizeof(guint64));
    s->sorted = TRUE;
    return s;
}

void
ms_sketch_free(MsSketch *s)
{
    if (!s)
        return;
    if (s->values)
        g_array_free(s->values, TRUE);
    for (guint i = 0; i < N_BLOCKS; i++)
        g_free(s->blocks[i]);
    g_free(s);
}

MsSketch *
ms_sketch_copy(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    MsSketch *c = g_new0(MsSketch, 1);
    *c = *s;
    if (s->values) {
        c->values = g_array_sized_new(FALSE, FALSE, sizeof(guint64), s->values->len);
        g_array_append_vals(c->values, s->values->data, s->values->len);
    }
    for (guint i = 0; i < N_BLOCKS; i++)
        c->blocks[i] = s->blocks[i] ? g_memdup2(s->blocks[i], SUB * sizeof(guint64)) : NULL;
    return c;
}

/* The position of the highest set bit of v (v > 0). */
static guint
high_bit(guint64 v)
{
#if defined(__GNUC__)
    return 63u - (guint) __builtin_clzll(v);
#else
    guint e = 0;
    while (v >>= 1)
        e++;
    return e;
#endif
}

static guint32
bucket_of(guint64 v)
{
    if (v < SUB)
        return (guint32) v;
    guint e = high_bit(v);
    guint32 sub = (guint32) (v >> (e - MS_SKETCH_BITS)) - SUB;
    return (e - MS_SKETCH_BITS + 1) * SUB + sub;
}

/* The midpoint of bucket b: within half a bucket width of each of its
 * values, which is the whole error bound (see the header). */
static guint64
bucket_value(guint32 b)
{
    guint block = b / SUB, sub = b % SUB;
    if (block == 0)
        return sub;
    guint shift = block - 1; /* e - B */
    guint64 low = (guint64) (SUB + sub) << shift;
    return low + ((G_GUINT64_CONSTANT(1) << shift) >> 1);
}

static void
bucket_add(MsSketch *s, guint32 b, guint64 n)
{
    guint block = b / SUB;
    if (!s->blocks[block])
        s->blocks[block] = g_new0(guint64, SUB);
    s->blocks[block][b % SUB] += n;
}

/* Leaves the exact form: every value into its bucket. */
static void
to_buckets(MsSketch *s)
{
    if (!s->values)
        return;
    for (guint i = 0; i < s->values->len; i++)
        bucket_add(s, bucket_of(g_array_index(s->values, guint64, i)), 1);
    g_array_free(s->values, TRUE);
    s->values = NULL;
}

static void
add_sum(MsSketch *s, guint64 hi, guint64 lo)
{
    guint64 old = s->sum_lo;
    s->sum_lo += lo;
    s->sum_hi += hi + (s->sum_lo < old);
}

/* Count, extremes and sum of `n` more values from min..max summing hi:lo. */
static void
add_summary(MsSketch *s, guint64 n, guint64 min, guint64 max, guint64 hi, guint64 lo)
{
    if (n == 0)
        return;
    if (s->count == 0 || min < s->min)
        s->min = min;
    if (s->count == 0 || max > s->max)
        s->max = max;
    s->count += n;
    add_sum(s, hi, lo);
}

void
ms_sketch_add(MsSketch *s, guint64 v)
{
    g_return_if_fail(s != NULL);
    add_summary(s, 1, v, v, 0, v);
    if (s->values && s->count <= s->exact_limit) {
        g_array_append_val(s->values, v);
        s->sorted = s->values->len < 2 ||
                    (s->sorted && g_array_index(s->values, guint64, s->values->len - 2) <= v);
        return;
    }
    to_buckets(s);
    bucket_add(s, bucket_of(v), 1);
}

void
ms_sketch_merge(MsSketch *into, const MsSketch *from)
{
    g_return_if_fail(into != NULL && from != NULL && into != from);
    if (from->count == 0)
        return;
    add_summary(into, from->count, from->min, from->max, from->sum_hi, from->sum_lo);
    if (into->values && from->values && into->count <= into->exact_limit) {
        g_array_append_vals(into->values, from->values->data, from->values->len);
        into->sorted = FALSE;
        return;
    }
    to_buckets(into);
    if (from->values) {
        for (guint i = 0; i < from->values->len; i++)
            bucket_add(into, bucket_of(g_array_index(from->values, guint64, i)), 1);
        return;
    }
    for (guint b = 0; b < N_BLOCKS; b++) {
        if (!from->blocks[b])
            continue;
        for (guint i = 0; i < SUB; i++)
            if (from->blocks[b][i])
                bucket_add(into, b * SUB + i, from->blocks[b][i]);
    }
}

guint64
ms_sketch_count(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->count;
}

guint64
ms_sketch_min(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->count ? s->min : 0;
}

guint64
ms_sketch_max(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->count ? s->max : 0;
}

double
ms_sketch_mean(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, 0);
    if (!s->count)
        return 0;
    return ((double) s->sum_hi * 18446744073709551616.0 + (double) s->sum_lo) / (double) s->count;
}

gboolean
ms_sketch_is_exact(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, FALSE);
    return s->values != NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? -1 : x > y;
}

static void
sort_values(MsSketch *s)
{
    if (s->values && !s->sorted)
        qsort(s->values->data, s->values->len, sizeof(guint64), cmp_u64);
    s->sorted = TRUE;
}

guint64
ms_sketch_quantile(MsSketch *s, double p)
{
    g_return_val_if_fail(s != NULL, 0);
    if (s->count == 0)
        return 0;
    /* Nearest rank, counted as ms_stats_percentile() counts it. */
    double rank = ceil(p * (double) s->count);
    guint64 i = rank < 1 ? 0 : (guint64) rank - 1;
    i = MIN(i, s->count - 1);
    if (s->values) {
        sort_values(s);
        return g_array_index(s->values, guint64, i);
    }
    guint64 seen = 0;
    for (guint b = 0; b < N_BLOCKS; b++) {
        if (!s->blocks[b])
            continue;
        for (guint k = 0; k < SUB; k++) {
            seen += s->blocks[b][k];
            if (seen > i)
                return CLAMP(bucket_value(b * SUB + k), s->min, s->max);
        }
    }
    g_return_val_if_reached(s->max); /* the counters add up to count */
}

gboolean
ms_sketch_equal(MsSketch *a, MsSketch *b)
{
    g_return_val_if_fail(a != NULL && b != NULL, FALSE);
    if (a->count != b->count || a->sum_hi != b->sum_hi || a->sum_lo != b->sum_lo ||
        (a->values == NULL) != (b->values == NULL))
        return FALSE;
    if (a->count && (a->min != b->min || a->max != b->max))
        return FALSE;
    if (a->values) {
        sort_values(a);
        sort_values(b);
        return memcmp(a->values->data, b->values->data, a->values->len * sizeof(guint64)) == 0;
    }
    for (guint i = 0; i < N_BLOCKS; i++) {
        const guint64 *x = a->blocks[i], *y = b->blocks[i];
        for (guint k = 0; (x || y) && k < SUB; k++)
            if ((x ? x[k] : 0) != (y ? y[k] : 0))
                return FALSE;
    }
    return TRUE;
}

/* --- byte form --------------------------------------------------------------
 * "MSSK", version, B, form (0 exact, 1 buckets), 0; exact_limit (u32);
 * count, min, max, sum_hi, sum_lo (u64); then the exact values in
 * ascending order (count u64), or the number of non-empty buckets (u32)
 * and (bucket u32, counter u64) pairs in ascending bucket order. */

/* v as n little-endian octets. */
static void
put_le(GByteArray *b, guint64 v, guint n)
{
    guint8 x[8];
    for (guint i = 0; i < n; i++)
        x[i] = (guint8) (v >> (8 * i));
    g_byte_array_append(b, x, n);
}
#define put_u32(b, v) put_le(b, v, 4)
#define put_u64(b, v) put_le(b, v, 8)

GBytes *
ms_sketch_serialise(const MsSketch *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *) MAGIC, 4);
    guint8 head[4] = { VERSION, MS_SKETCH_BITS, s->values ? 0 : 1, 0 };
    g_byte_array_append(b, head, 4);
    put_u32(b, s->exact_limit);
    put_u64(b, s->count);
    put_u64(b, ms_sketch_min(s));
    put_u64(b, ms_sketch_max(s));
    put_u64(b, s->sum_hi);
    put_u64(b, s->sum_lo);
    if (s->values) {
        g_autofree guint64 *v = g_memdup2(s->values->data, s->values->len * sizeof(guint64));
        qsort(v, s->values->len, sizeof(guint64), cmp_u64);
        for (guint i = 0; i < s->values->len; i++)
            put_u64(b, v[i]);
    } else {
        guint32 n = 0;
        for (guint i = 0; i < N_BLOCKS; i++)
            for (guint k = 0; s->blocks[i] && k < SUB; k++)
                n += s->blocks[i][k] != 0;
        put_u32(b, n);
        for (guint i = 0; i < N_BLOCKS; i++)
            for (guint k = 0; s->blocks[i] && k < SUB; k++)
                if (s->blocks[i][k]) {
                    put_u32(b, i * SUB + k);
                    put_u64(b, s->blocks[i][k]);
                }
    }
    return g_byte_array_free_to_bytes(b);
}

typedef struct {
    const guint8 *p;
    gsize left;
} Reader;

static gboolean
get(Reader *r, guint n, guint64 *out)
{
    if (r->left < n)
        return FALSE;
    guint64 v = 0;
    for (guint i = 0; i < n; i++)
        v |= (guint64) r->p[i] << (8 * i);
    r->p += n;
    r->left -= n;
    *out = v;
    return TRUE;
}

static MsSketch *
refuse(MsSketch *s, GError **error, const char *why)
{
    ms_sketch_free(s);
    g_set_error(error, MS_SKETCH_ERROR, 0, "not a sketch: %s", why);
    return NULL;
}

MsSketch *
ms_sketch_deserialise(GBytes *bytes, GError **error)
{
    g_return_val_if_fail(bytes != NULL, NULL);
    gsize n;
    Reader r = { g_bytes_get_data(bytes, &n), 0 };
    r.left = n;
    if (n < HEADER_LEN || memcmp(r.p, MAGIC, 4) != 0)
        return refuse(NULL, error, "no \"" MAGIC "\" header");
    if (r.p[4] != VERSION || r.p[5] != MS_SKETCH_BITS || r.p[6] > 1)
        return refuse(NULL, error, "another version or bucket layout");
    gboolean exact = r.p[6] == 0;
    r.p += 8;
    r.left -= 8;
    guint64 limit = 0, count = 0, min = 0, max = 0, hi = 0, lo = 0;
    get(&r, 4, &limit);
    get(&r, 8, &count);
    get(&r, 8, &min);
    get(&r, 8, &max);
    get(&r, 8, &hi);
    get(&r, 8, &lo);
    MsSketch *s = ms_sketch_new((guint) limit);
    if (count && min > max)
        return refuse(s, error, "minimum above maximum");
    if (exact) {
        if (r.left != count * 8 || count > limit)
            return refuse(s, error, "the exact values do not match the count");
        for (guint64 i = 0; i < count; i++) {
            guint64 v = 0;
            get(&r, 8, &v);
            if (v < min || v > max ||
                (s->values->len && v < g_array_index(s->values, guint64, s->values->len - 1)))
                return refuse(s, error, "exact values out of order or range");
            g_array_append_val(s->values, v);
        }
    } else {
        guint64 buckets = 0, total = 0, last = 0;
        if (!get(&r, 4, &buckets) || r.left != buckets * 12)
            return refuse(s, error, "truncated bucket list");
        to_buckets(s);
        for (guint64 i = 0; i < buckets; i++) {
            guint64 b = 0, c = 0;
            get(&r, 4, &b);
            get(&r, 8, &c);
            if (b >= N_BUCKETS || (i > 0 && b <= last) || c == 0 || c > G_MAXUINT64 - total)
                return refuse(s, error, "bucket out of range, out of order or empty");
            bucket_add(s, (guint32) b, c);
            total += c;
            last = b;
        }
        if (total != count)
            return refuse(s, error, "bucket counters do not add up to the count");
    }
    s->count = count;
    s->min = min;
    s->max = max;
    s->sum_hi = hi;
    s->sum_lo = lo;
    return s;
}
