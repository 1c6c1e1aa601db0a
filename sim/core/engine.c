/* The discrete-event engine (see include/mailsim/engine.h): the clock, the
 * future-event set and the dispatcher every simulated host runs inside.
 *
 * Records. Every pending event is one 48-byte record in a pool indexed by
 * slot: time, scheduling host, a `next` link, target host, generation,
 * the scheduling host's counter and the payload. The first 16 bytes (time,
 * source, link) are all a bucket walk reads, and they never straddle a
 * cache line. The event type lives in a side array of 16-bit values (read
 * at dispatch, prefetched), which keeps the record at 48 bytes. Free slots
 * form a LIFO list through `next`, so the slot an event frees is the one
 * its handler's next schedule reuses, still in cache. The generation is
 * odd while the event is live: schedule makes it odd, running or
 * cancelling makes it even. A handle is (generation, slot), so a stale
 * handle never cancels a later event that reuses the slot (until the slot's
 * 32-bit generation wraps, after 2^31 reuses).
 *
 * Future-event set. Time is cut into buckets of 2^shift ns; bucket number
 * b = at >> shift. Three tiers, each pending event in exactly one:
 *   - near: every event with b <= cur, in two parts: a sorted run, an
 *     array of 16-byte keys {at, src, slot} consumed from its head, and a
 *     4-ary min-heap of the same keys. A batch moved from the wheel goes
 *     to the run, except buckets of more than FES_RUN_SEG events (a burst
 *     at one time), which go to the heap, as do events scheduled at or
 *     before cur while the batch drains (short delays). The next event is
 *     the earlier of the run's head and the heap's top. Heap keys are
 *     cache-line aligned in groups of four children; ties of (at, src)
 *     read the seq of the records (in cache: the near tier is small).
 *   - wheel: a circular array of n_buckets singly linked lists (through the
 *     records' `next`) for cur < b < cur + n_buckets, with a bitmap of the
 *     non-empty ones. Insertion is O(1) and touches one list head.
 *   - far: a second key heap for b >= cur + n_buckets (a long tail, timers
 *     far in the future). Its events move into the wheel as cur advances.
 * Every near event precedes every wheel event, which precedes every far
 * event, so the run order is the near tier's order: (at, src, seq), exact.
 * When the near tier is empty, the next non-empty bucket (from the bitmap;
 * or the far heap's top when the wheel is empty) and the FES_BATCH - 1
 * after it move into the near tier, and cur becomes the last of them; far
 * events now inside the window then move into the wheel (or straight into
 * the near heap). The lists of a batch are walked in lock-step, so their
 * cache misses overlap; a counting pass by bucket lays the small buckets
 * out in order in the run, and an insertion sort orders each (about
 * FES_BUCKET_TARGET keys: a few moves per event); the keys of full buckets
 * are heapified at once (Floyd, O(k)). Running an event from the run costs
 * a compare and an increment instead of a heap deletion.
 * While an event runs, the engine prefetches what the next one will touch:
 * the rest of its record, its type, and its host's counter and random
 * stream (a handler mostly draws from its host's stream and schedules),
 * once the pool outgrows the caches (PREFETCH_MIN records).
 *
 * Tuning. With fewer than FES_WHEEL_MIN pending events the wheel is off
 * (shift 63: every event is in bucket 0, so the near heap is the whole
 * set, and the run stays empty). Above that, a rebuild chooses the bucket width so that about
 * FES_BUCKET_TARGET events share a bucket near the head of the queue, from
 * a sample of up to 1024 pending times, and the number of buckets (at most
 * 4 * pending / FES_BUCKET_TARGET) so that the window covers twice the
 * spread of most pending events and twice the median delay of recent
 * schedules; when the cap cannot give both, buckets widen. A cheap check
 * every CHECK_EVERY operations asks for a rebuild when the set crosses
 * FES_WHEEL_MIN either way, when batches run much fuller or emptier than
 * the target, or when the far heap holds more than an eighth of the events.
 * A rebuild visits every pending record, so it is allowed only after
 * pending/2 operations since the last one, times a back-off that doubles
 * (up to 1024) when a rebuild changes nothing: O(1) amortised per operation.
 *
 * Cancellation is lazy: a cancelled record is marked and dropped when it
 * is met (top of a heap, the far heap's migration, a rebuild).
 *
 * Costs. Schedule is O(1) with the wheel on (a list push; a heap push for
 * the far tail), O(log n) with it off; running an event is O(1) from the
 * run plus O(FES_BUCKET_TARGET) amortised for the insertion sort (O(log k)
 * for events that go through the near heap), plus about one cache miss
 * per event in the batch walk (overlapped FES_BATCH ways).
 * Memory: 50 bytes per slot (record and type), 4 bytes and one bit per
 * bucket (at most 1 byte per pending event with the default knobs), 16 bytes
 * per near or far key, 4 KB for the run; arrays grow by doubling. The record pool is advised
 * to use huge pages (fewer TLB misses on a random walk over tens of MB; up
 * to 2 MB more resident at the end of the pool). Worst cases: every event
 * at one time, or waves of events a few ns apart separated by long gaps,
 * fill the near heap and cost what a plain heap costs, plus the checks.
 * Figures (PHOLD, tools/bench.sh): see the commit that made this design,
 * and the one that added the sorted run.
 *
 * Invariants: time never goes backwards; no event is scheduled in the past;
 * now >> shift <= cur; near (run and heap) < wheel < far in run order;
 * the run is sorted from run_pos to run_n.
 * Threading: an engine belongs to one thread at a time; no global state. */
#include "mailsim/engine.h"
#include "mailsim/engine_remote.h"

#include <math.h>
#include <string.h>
#include <sys/mman.h>

#define HEAP_PAD       3  /* logical node k lives at keys[k + HEAP_PAD] */
#define RNG_BLOCK_BITS 10 /* host random streams in blocks of 1024 */
#define RNG_BLOCK      (1u << RNG_BLOCK_BITS)
#define NO_SLOT        G_MAXUINT32

/* Tuning knobs of the future-event set; each can be set with -D for an
 * experiment (FES_WHEEL_MIN=G_MAXUINT32 keeps the set a plain heap). */
#ifndef FES_WHEEL_MIN
#define FES_WHEEL_MIN 256u /* pending events below which the wheel is off */
#endif
#ifndef FES_BUCKET_TARGET
#define FES_BUCKET_TARGET 16u /* events per bucket the width aims at */
#endif
#ifndef FES_BATCH
#define FES_BATCH 8u /* buckets moved to the near tier at a time */
#endif
#ifndef FES_RUN_SEG
#define FES_RUN_SEG 32u /* a bucket of at most this many events joins the sorted run */
#endif
#ifndef FES_HUGE_PAGES
#define FES_HUGE_PAGES 1 /* advise huge pages for the record pool */
#endif
#define CHECK_EVERY 4096u /* operations between two tuning checks */
#define SAMPLE_MAX  1024u /* pending times sampled by a rebuild */
#define BUCKETS_MIN 64u
#define BUCKETS_MAX (1u << 22)
#define SHIFT_OFF   63u /* bucket width 2^63: the wheel is off */
/* Records (48 bytes each) beyond which the next event's data are
 * prefetched; below, the pool stays in the caches and a prefetch costs
 * more instructions than it saves. */
#define PREFETCH_MIN 8192u

typedef struct {
    MsTime at;
    MsHostId src;
    guint32 slot;
} HeapKey;

typedef struct {
    HeapKey *keys; /* keys[HEAP_PAD .. HEAP_PAD + n), 64-byte aligned */
    gpointer raw;  /* the allocation keys points into */
    guint32 n;
    guint32 cap;
} Heap;

/* The first 16 bytes are all a bucket walk reads, and with 48-byte records
 * they never straddle a cache line; host usually shares their line. */
typedef struct {
    MsTime at;
    MsHostId src;
    guint32 next; /* wheel list or free list link */
    MsHostId host;
    guint32 gen; /* odd while the event is live */
    guint64 seq;
    MsEventData data;
} Record;

#define REC_LIVE(r) (((r)->gen & 1) != 0)

G_STATIC_ASSERT(sizeof(Record) == 48);

typedef struct {
    char *name;
    MsEventHandler handler;
    gpointer user_data;
} Handler;

struct _MsEngine {
    MsTime now;
    guint64 seed;
    MsHostId current;
    MsHostId current_src; /* order key of the running event */
    guint64 current_seq;
    guint32 in_handler; /* > 0 while a handler runs */
    /* Partitioned runs: which hosts this engine runs (NULL: all). */
    MsEngineLocalFunc local_func;
    gconstpointer local_data;
    guint64 foreign_dropped;

    Record *recs;
    guint16 *types; /* event type of each slot, apart to keep records at 48 bytes */
    guint32 n_recs; /* slots ever handed out */
    guint32 cap_recs;
    guint32 free_head; /* NO_SLOT when the free list is empty */

    Heap near;
    HeapKey run[FES_BATCH * FES_RUN_SEG]; /* the sorted run, in run order */
    guint32 run_pos;                      /* its head */
    guint32 run_n;                        /* its end */
    Heap far;
    guint32 *heads;      /* wheel lists, NO_SLOT when empty */
    guint64 *bits;       /* non-empty wheel buckets */
    guint32 n_buckets;   /* a power of two, or 0 when the wheel is off */
    guint32 shift;       /* bucket width 2^shift ns */
    guint64 cur;         /* bucket being drained */
    guint64 wheel_count; /* records in wheel lists, cancelled included */

    guint64 next_check;    /* operation count of the next tuning check */
    guint64 rebuild_ops;   /* operation count at the last rebuild */
    guint32 backoff;       /* multiplies the rebuild spacing */
    guint64 moved;         /* records moved bucket -> near since the check */
    guint64 transfers;     /* non-empty buckets moved since the check */
    guint32 delay_log[65]; /* schedules by bit length of (at - now), since the rebuild */

    guint64 *host_events; /* or NULL: events run per host (ms_engine_count_host_events()) */
    guint32 n_host_events;
    guint64 *host_seq; /* per-host scheduling counters */
    guint32 n_host_seq;
    guint64 world_seq;

    MsRng **rng_blocks;
    guint32 n_rng_blocks;
    MsRng world_rng;

    GArray *handlers; /* Handler; index 0 unused */
    gboolean stop;
    guint64 fingerprint;
    MsEngineStats stats;
};

/* ---- key heaps ---------------------------------------------------------- */

/* (Re)allocates a heap with room for `cap` keys, aligned so that each group
 * of four children starts a cache line. */
static void
heap_grow(Heap *h, guint32 cap)
{
    gpointer raw = g_malloc((gsize) (cap + HEAP_PAD) * sizeof(HeapKey) + 64);
    HeapKey *keys = (HeapKey *) (((guintptr) raw + 63) & ~(guintptr) 63);
    if (h->keys)
        memcpy(keys + HEAP_PAD, h->keys + HEAP_PAD, (gsize) h->n * sizeof(HeapKey));
    g_free(h->raw);
    h->raw = raw;
    h->keys = keys;
    h->cap = cap;
}

static void
heap_clear(Heap *h)
{
    g_free(h->raw);
    h->raw = NULL;
    h->keys = NULL;
    h->n = h->cap = 0;
}

static inline const HeapKey *
heap_top(const Heap *h)
{
    return &h->keys[HEAP_PAD];
}

/* Is key a before key b in run order? */
static inline gboolean
key_less(const Record *recs, const HeapKey *a, const HeapKey *b)
{
    if (G_LIKELY(a->at != b->at))
        return a->at < b->at;
    if (a->src != b->src)
        return a->src < b->src;
    return recs[a->slot].seq < recs[b->slot].seq;
}

static void
heap_push(const Record *recs, Heap *h, HeapKey key)
{
    if (G_UNLIKELY(h->n == h->cap)) {
        g_assert(h->cap < G_MAXUINT32 / 4);
        heap_grow(h, MAX(h->cap * 2, 256));
    }
    HeapKey *k = h->keys + HEAP_PAD;
    guint32 i = h->n++;
    while (i > 0) {
        guint32 parent = (i - 1) >> 2;
        if (!key_less(recs, &key, &k[parent]))
            break;
        k[i] = k[parent];
        i = parent;
    }
    k[i] = key;
}

/* Removes the top key. Bottom-up ("Floyd") deletion: the hole left at the
 * root walks down along least children to a leaf without comparing with the
 * displaced last key, which then sifts up from there. The last key comes from
 * the bottom and usually belongs near it, so this saves about one compare
 * (and one mispredicted branch) per level. */
static void
heap_pop(const Record *recs, Heap *h)
{
    HeapKey *k = h->keys + HEAP_PAD;
    guint32 n = --h->n;
    if (n == 0)
        return;
    HeapKey last = k[n];
    guint32 i = 0;
    for (;;) {
        guint32 c = 4 * i + 1;
        if (c >= n)
            break;
        guint32 best = c;
        guint32 end = MIN(c + 4, n);
        for (guint32 j = c + 1; j < end; j++)
            if (key_less(recs, &k[j], &k[best]))
                best = j;
        k[i] = k[best];
        i = best;
    }
    while (i > 0) {
        guint32 parent = (i - 1) >> 2;
        if (!key_less(recs, &last, &k[parent]))
            break;
        k[i] = k[parent];
        i = parent;
    }
    k[i] = last;
}

/* ---- record pool -------------------------------------------------------- */

/* Asks the kernel for transparent huge pages over the whole pages of a
 * large array (a hint: where THP is off or unsupported nothing changes). */
static void
advise_huge(gpointer p, gsize len)
{
#ifdef MADV_HUGEPAGE
    guintptr a = ((guintptr) p + 4095) & ~(guintptr) 4095;
    guintptr b = ((guintptr) p + len) & ~(guintptr) 4095;
    if (FES_HUGE_PAGES && len >= (gsize) 4 << 20 && b > a)
        madvise((void *) a, b - a, MADV_HUGEPAGE);
#else
    (void) p;
    (void) len;
#endif
}

/* A slot never used before (the free list is empty), growing the pool. */
static G_GNUC_NO_INLINE guint32
rec_new(MsEngine *e)
{
    if (e->n_recs == e->cap_recs) {
        g_assert(e->cap_recs < G_MAXUINT32 / 2);
        e->cap_recs *= 2;
        e->recs = g_renew(Record, e->recs, e->cap_recs);
        e->types = g_renew(guint16, e->types, e->cap_recs);
        advise_huge(e->recs, (gsize) e->cap_recs * sizeof(Record));
    }
    guint32 slot = e->n_recs++;
    e->recs[slot].gen = 0;
    return slot;
}

static inline guint32
rec_alloc(MsEngine *e)
{
    guint32 slot = e->free_head;
    if (G_LIKELY(slot != NO_SLOT))
        e->free_head = e->recs[slot].next;
    else
        slot = rec_new(e);
    e->recs[slot].gen++;
    return slot;
}

static inline void
rec_release(MsEngine *e, guint32 slot)
{
    Record *r = &e->recs[slot];
    r->gen += r->gen & 1; /* even: no longer live */
    r->next = e->free_head;
    e->free_head = slot;
}

/* ---- the three tiers ---------------------------------------------------- */

/* Files a live record in the tier its bucket belongs to. */
static inline void
fes_insert(MsEngine *e, guint32 slot)
{
    Record *r = &e->recs[slot];
    guint64 b = (guint64) r->at >> e->shift;
    if (b <= e->cur) {
        heap_push(e->recs, &e->near, (HeapKey){ r->at, r->src, slot });
    } else if (b - e->cur < e->n_buckets) {
        guint32 i = (guint32) b & (e->n_buckets - 1);
        r->next = e->heads[i];
        e->heads[i] = slot;
        e->bits[i >> 6] |= (guint64) 1 << (i & 63);
        e->wheel_count++;
    } else {
        heap_push(e->recs, &e->far, (HeapKey){ r->at, r->src, slot });
    }
}

/* Moves far events whose bucket is now inside the window into the wheel (or
 * the near heap), dropping cancelled ones. */
static void
far_migrate(MsEngine *e)
{
    while (e->far.n > 0) {
        const HeapKey *top = heap_top(&e->far);
        if (((guint64) top->at >> e->shift) - e->cur >= e->n_buckets)
            break;
        guint32 slot = top->slot;
        heap_pop(e->recs, &e->far);
        if (REC_LIVE(&e->recs[slot]))
            fes_insert(e, slot);
        else
            rec_release(e, slot);
    }
}

/* Distance from cur to the next non-empty wheel bucket (the wheel is not
 * empty, and cur's own bucket is). */
static guint64
wheel_next_distance(const MsEngine *e)
{
    guint32 mask = e->n_buckets - 1;
    guint32 from = (guint32) (e->cur + 1) & mask;
    guint32 wi = from >> 6;
    guint32 n_words = MAX(e->n_buckets >> 6, 1);
    guint64 w = e->bits[wi] & (~(guint64) 0 << (from & 63));
    while (w == 0) {
        wi = (wi + 1) & (n_words - 1);
        w = e->bits[wi];
    }
    guint32 i = (wi << 6) | (guint32) __builtin_ctzll(w);
    return (guint64) ((i - (guint32) e->cur) & mask);
}

/* Restores the heap property below node i. */
static void
heap_sift_down(const Record *recs, Heap *h, guint32 i)
{
    HeapKey *k = h->keys + HEAP_PAD;
    guint32 n = h->n;
    HeapKey x = k[i];
    for (;;) {
        guint32 c = 4 * i + 1;
        if (c >= n)
            break;
        guint32 best = c;
        guint32 end = MIN(c + 4, n);
        for (guint32 j = c + 1; j < end; j++)
            if (key_less(recs, &k[j], &k[best]))
                best = j;
        if (!key_less(recs, &k[best], &x))
            break;
        k[i] = k[best];
        i = best;
    }
    k[i] = x;
}

/* Insertion sort of a few keys (a bucket's worth) into run order. */
static void
keys_sort_small(const Record *recs, HeapKey *k, guint32 n)
{
    for (guint32 i = 1; i < n; i++) {
        HeapKey x = k[i];
        guint32 j = i;
        while (j > 0 && key_less(recs, &x, &k[j - 1])) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
}

/* Moves the lists of the FES_BATCH wheel buckets first .. first + FES_BATCH - 1
 * into the near tier (both its parts empty). The lists are walked in
 * lock-step, so their cache misses overlap instead of following one
 * another, gathering keys at the end of the near heap's array. Then a
 * counting pass by bucket: buckets of at most FES_RUN_SEG keys are laid out
 * one after another in the run and each sorted by insertion (buckets follow
 * one another in time, so the run is sorted whole); the keys of fuller
 * buckets stay in the heap, heapified at once (Floyd, O(n)). */
static void
batch_transfer(MsEngine *e, guint64 first)
{
    guint32 cursor[FES_BATCH];
    guint32 m = 0;
    guint32 mask = e->n_buckets - 1;
    for (guint32 j = 0; j < FES_BATCH; j++) {
        guint32 i = (guint32) (first + j) & mask;
        if (e->heads[i] != NO_SLOT) {
            cursor[m++] = e->heads[i];
            e->heads[i] = NO_SLOT;
            e->bits[i >> 6] &= ~((guint64) 1 << (i & 63));
        }
    }
    Heap *h = &e->near;
    guint32 n0 = h->n, n = n0;
    guint32 count[FES_BATCH] = { 0 };
    guint32 shift = e->shift;
    while (m > 0) {
        if (G_UNLIKELY(h->cap - n < FES_BATCH)) {
            h->n = n;
            heap_grow(h, h->cap * 2);
        }
        HeapKey *k = h->keys + HEAP_PAD;
        for (guint32 j = 0; j < m;) {
            guint32 slot = cursor[j];
            const Record *r = &e->recs[slot];
            k[n++] = (HeapKey){ r->at, r->src, slot };
            count[((guint64) r->at >> shift) - first]++;
            guint32 next = r->next;
            if (next == NO_SLOT)
                cursor[j] = cursor[--m];
            else
                cursor[j++] = next;
        }
    }
    guint64 moved = n - n0;
    /* Where each bucket's keys go: start[d] in the run, or the heap. */
    guint32 start[FES_BATCH], end[FES_BATCH], r_n = 0;
    for (guint32 d = 0; d < FES_BATCH; d++) {
        start[d] = r_n;
        if (count[d] <= FES_RUN_SEG)
            r_n += count[d];
        end[d] = r_n;
    }
    HeapKey *k = h->keys + HEAP_PAD;
    guint32 w = n0;
    if (r_n > 0) {
        guint32 pos[FES_BATCH];
        memcpy(pos, start, sizeof(pos));
        for (guint32 i = n0; i < n; i++) {
            guint64 d = ((guint64) k[i].at >> shift) - first;
            if (count[d] <= FES_RUN_SEG)
                e->run[pos[d]++] = k[i];
            else
                k[w++] = k[i];
        }
        for (guint32 d = 0; d < FES_BATCH; d++)
            if (end[d] - start[d] > 1)
                keys_sort_small(e->recs, e->run + start[d], end[d] - start[d]);
    } else {
        w = n;
    }
    e->run_pos = 0;
    e->run_n = r_n;
    h->n = w;
    if (w > 1)
        for (guint32 i = (w - 2) / 4 + 1; i-- > 0;)
            heap_sift_down(e->recs, h, i);
    e->wheel_count -= moved;
    e->moved += moved;
    e->transfers++;
}

/* With the near tier empty, moves cur to the next bucket that holds events
 * and fills the near tier from it. FALSE when no event is left. */
static gboolean
fes_advance(MsEngine *e)
{
    while (e->near.n == 0 && e->run_pos == e->run_n) {
        if (e->wheel_count > 0) {
            /* The next non-empty bucket and the FES_BATCH - 1 after it. Their
             * wheel positions hold nothing else: a position holds one
             * bucket of (cur, cur + n_buckets), and those before the next
             * non-empty one are empty. */
            guint64 first = e->cur + wheel_next_distance(e);
            batch_transfer(e, first);
            e->cur = first + FES_BATCH - 1;
        } else if (e->far.n > 0) {
            e->cur = (guint64) heap_top(&e->far)->at >> e->shift;
        } else {
            return FALSE;
        }
        /* After the transfer: far events now at or before cur go to the
         * near heap, the others into wheel positions just emptied. */
        far_migrate(e);
    }
    return TRUE;
}

/* ---- tuning ------------------------------------------------------------- */

static gint
cmp_time(gconstpointer a, gconstpointer b)
{
    MsTime x = *(const MsTime *) a, y = *(const MsTime *) b;
    return x < y ? -1 : x > y;
}

static guint32
pow2_ceil(guint64 v)
{
    guint32 p = 1;
    while (p < v && p < BUCKETS_MAX)
        p <<= 1;
    return p;
}

/* Chooses shift and n_buckets for `live` events from a sorted sample of
 * their times. */
static void
choose_layout(const MsEngine *e, const MsTime *s, guint ns, guint64 live, guint32 *shift,
              guint32 *n_buckets)
{
    if (live < FES_WHEEL_MIN || ns < 16) {
        *shift = SHIFT_OFF;
        *n_buckets = 0;
        return;
    }
    /* Density near the head: the lowest quarter of the sample spans about
     * live/4 events. */
    guint j = ns / 4;
    double span = (double) (s[j] - s[0]);
    double per_event = span * ns / ((double) j * (double) live);
    double width = per_event * FES_BUCKET_TARGET;
    guint32 sh = 0;
    while (sh < 62 && (double) ((guint64) 1 << (sh + 1)) <= width)
        sh++;
    /* Window: twice the spread of all but the top sixteenth of the sample,
     * and at least twice the median delay of recent schedules, so that new
     * events land in the wheel even when the pending ones crowd together
     * (waves: every event due in the same few ns, each scheduling the next
     * one a millisecond later). When the cap on buckets cannot give both,
     * buckets widen: a full near heap beats events churning through the
     * far heap. */
    MsTime lo = MAX(s[0], e->now);
    double spread = 2.0 * (double) (s[ns - 1 - ns / 16] - lo);
    guint64 n_delays = 0, seen = 0;
    for (guint k = 0; k < G_N_ELEMENTS(e->delay_log); k++)
        n_delays += e->delay_log[k];
    for (guint k = 0; k < G_N_ELEMENTS(e->delay_log) && n_delays > 0; k++) {
        seen += e->delay_log[k];
        if (2 * seen >= n_delays) {
            spread = MAX(spread, 2.0 * ldexp(1.0, (int) k));
            break;
        }
    }
    guint32 cap = MAX(pow2_ceil(4 * live / FES_BUCKET_TARGET), BUCKETS_MIN);
    while (sh < 62 && spread / ldexp(1.0, (int) sh) > (double) cap)
        sh++;
    double reach = spread / ldexp(1.0, (int) sh) + 2;
    guint32 nb = reach >= (double) cap ? cap : MAX(pow2_ceil((guint64) reach), BUCKETS_MIN);
    *shift = sh;
    *n_buckets = nb;
}

/* Takes every pending record out of the three tiers, chooses a new layout
 * from a sample of their times and files them again. */
static void
fes_rebuild(MsEngine *e)
{
    MsTime sample[SAMPLE_MAX];
    guint ns = 0;
    guint64 total = (guint64) e->near.n + (e->run_n - e->run_pos) + e->far.n + e->wheel_count;
    guint64 stride = total / SAMPLE_MAX + 1, k = 0, live = 0;
    guint32 list = NO_SLOT;
    MsTime lo = MS_TIME_INFINITE;

#define TAKE(slot_expr)                                                                            \
    do {                                                                                           \
        guint32 s_ = (slot_expr);                                                                  \
        Record *r_ = &e->recs[s_];                                                                 \
        if (!REC_LIVE(r_)) {                                                                       \
            rec_release(e, s_);                                                                    \
        } else {                                                                                   \
            r_->next = list;                                                                       \
            list = s_;                                                                             \
            live++;                                                                                \
            lo = MIN(lo, r_->at);                                                                  \
            if (k++ % stride == 0 && ns < SAMPLE_MAX)                                              \
                sample[ns++] = r_->at;                                                             \
        }                                                                                          \
    } while (0)

    for (guint32 i = 0; i < e->near.n; i++)
        TAKE(e->near.keys[HEAP_PAD + i].slot);
    for (guint32 i = e->run_pos; i < e->run_n; i++)
        TAKE(e->run[i].slot);
    for (guint32 i = 0; i < e->far.n; i++)
        TAKE(e->far.keys[HEAP_PAD + i].slot);
    for (guint32 i = 0; i < e->n_buckets; i++) {
        guint32 s = e->heads[i];
        while (s != NO_SLOT) {
            guint32 next = e->recs[s].next;
            TAKE(s);
            s = next;
        }
    }
#undef TAKE

    qsort(sample, ns, sizeof(MsTime), cmp_time);
    if (ns > 0)
        sample[0] = lo; /* the true minimum, not a sampled one */
    guint32 shift, nb;
    choose_layout(e, sample, ns, live, &shift, &nb);
    if (shift == e->shift && nb == e->n_buckets)
        e->backoff = MIN(e->backoff * 2, 1024);
    else
        e->backoff = 1;

    e->near.n = 0;
    e->run_pos = e->run_n = 0;
    if (e->far.cap > 4096)
        heap_clear(&e->far);
    e->far.n = 0;
    e->wheel_count = 0;
    if (nb != e->n_buckets) {
        g_free(e->heads);
        g_free(e->bits);
        e->heads = nb ? g_new(guint32, nb) : NULL;
        e->bits = nb ? g_new(guint64, MAX(nb / 64, 1)) : NULL;
        e->n_buckets = nb;
    }
    if (nb) {
        memset(e->heads, 0xff, nb * sizeof(guint32));
        memset(e->bits, 0, MAX(nb / 64, 1) * sizeof(guint64));
    }
    e->shift = shift;
    /* cur may start at the earliest pending bucket: anything scheduled
     * before it lands in the near heap, which keeps the order exact. */
    e->cur = (guint64) (live > 0 ? MAX(lo, e->now) : e->now) >> shift;
    while (list != NO_SLOT) {
        guint32 next = e->recs[list].next;
        fes_insert(e, list);
        list = next;
    }
    e->rebuild_ops = e->stats.scheduled + e->stats.processed;
    e->moved = e->transfers = 0;
    memset(e->delay_log, 0, sizeof(e->delay_log));
}

/* The periodic tuning check (see the header comment). */
static void
fes_check(MsEngine *e)
{
    guint64 ops = e->stats.scheduled + e->stats.processed;
    e->next_check = ops + CHECK_EVERY;
    guint64 total = (guint64) e->near.n + (e->run_n - e->run_pos) + e->far.n + e->wheel_count;
    if (ops - e->rebuild_ops < (total / 2 + FES_WHEEL_MIN / 4) * e->backoff)
        return;
    gboolean want;
    if (e->n_buckets == 0)
        want = total >= FES_WHEEL_MIN;
    else
        want = total < FES_WHEEL_MIN / 4 || e->far.n > total / 8 + 256 ||
               e->wheel_count > (guint64) e->n_buckets * FES_BUCKET_TARGET * 4 ||
               e->moved > e->transfers * FES_BATCH * FES_BUCKET_TARGET * 4 ||
               (e->transfers > 64 && e->moved * 8 < e->transfers * FES_BATCH * FES_BUCKET_TARGET);
    e->moved = e->transfers = 0;
    if (want)
        fes_rebuild(e);
}

/* ---- engine ------------------------------------------------------------- */

MsEngine *
ms_engine_new(guint64 seed)
{
    MsEngine *e = g_new0(MsEngine, 1);
    e->seed = seed;
    e->current = MS_HOST_WORLD;
    e->current_src = MS_HOST_WORLD;
    e->cap_recs = 1024;
    e->recs = g_new(Record, e->cap_recs);
    e->types = g_new(guint16, e->cap_recs);
    e->free_head = NO_SLOT;
    heap_grow(&e->near, 1024);
    e->shift = SHIFT_OFF;
    e->backoff = 1;
    e->next_check = CHECK_EVERY;
    e->handlers = g_array_new(FALSE, TRUE, sizeof(Handler));
    g_array_set_size(e->handlers, 1);
    e->fingerprint = 0xcbf29ce484222325ULL;
    ms_rng_init(&e->world_rng, seed, MS_HOST_WORLD);
    return e;
}

void
ms_engine_free(MsEngine *e)
{
    if (!e)
        return;
    for (guint i = 1; i < e->handlers->len; i++)
        g_free(g_array_index(e->handlers, Handler, i).name);
    g_array_free(e->handlers, TRUE);
    for (guint32 i = 0; i < e->n_rng_blocks; i++)
        g_free(e->rng_blocks[i]);
    g_free(e->rng_blocks);
    g_free(e->host_seq);
    g_free(e->heads);
    g_free(e->bits);
    heap_clear(&e->near);
    heap_clear(&e->far);
    g_free(e->types);
    g_free(e->recs);
    g_free(e);
}

guint64
ms_engine_seed(const MsEngine *e)
{
    return e->seed;
}
MsTime
ms_engine_now(const MsEngine *e)
{
    return e->now;
}
MsHostId
ms_engine_current_host(const MsEngine *e)
{
    return e->current;
}
void
ms_engine_count_host_events(MsEngine *e, guint64 *counts, guint32 n)
{
    g_return_if_fail(e != NULL && (counts != NULL || n == 0));
    e->host_events = counts;
    e->n_host_events = counts ? n : 0;
}

guint64
ms_engine_fingerprint(const MsEngine *e)
{
    return e->fingerprint;
}

void
ms_engine_get_stats(const MsEngine *e, MsEngineStats *stats)
{
    *stats = e->stats;
}

guint16
ms_engine_register(MsEngine *e, const char *name, MsEventHandler handler, gpointer user_data)
{
    g_return_val_if_fail(e != NULL && handler != NULL, 0);
    g_return_val_if_fail(e->handlers->len < G_MAXUINT16, 0);
    Handler h = { g_strdup(name), handler, user_data };
    g_array_append_val(e->handlers, h);
    return (guint16) (e->handlers->len - 1);
}

guint16
ms_engine_register_shared(MsEngine *e, const char *name, MsEventHandler handler)
{
    for (guint i = 1; i < e->handlers->len; i++) {
        Handler *h = &g_array_index(e->handlers, Handler, i);
        if (h->handler == handler && g_strcmp0(h->name, name) == 0)
            return (guint16) i;
    }
    return ms_engine_register(e, name, handler, NULL);
}

const char *
ms_engine_type_name(const MsEngine *e, guint16 type)
{
    if (type == 0 || type >= e->handlers->len)
        return "?";
    return g_array_index(e->handlers, Handler, type).name;
}

static inline void
fingerprint_mix(MsEngine *e, guint64 v)
{
    /* FNV-1a over 64-bit words followed by a multiply-xorshift: cheap, and
     * any change in any word changes the result. */
    guint64 h = (e->fingerprint ^ v) * 0x100000001b3ULL;
    e->fingerprint = h ^ (h >> 29);
}

void
ms_engine_fingerprint_add(MsEngine *e, guint64 value)
{
    fingerprint_mix(e, value);
}

static G_ALWAYS_INLINE inline guint64
next_seq(MsEngine *e, MsHostId src)
{
    if (src == MS_HOST_WORLD)
        return e->world_seq++;
    if (src >= e->n_host_seq) {
        guint32 n = MAX(src + 1, e->n_host_seq * 2);
        e->host_seq = g_renew(guint64, e->host_seq, n);
        memset(e->host_seq + e->n_host_seq, 0, (n - e->n_host_seq) * sizeof(guint64));
        e->n_host_seq = n;
    }
    return e->host_seq[src]++;
}

/* Inserts an event with the order key (src, seq). */
static G_ALWAYS_INLINE inline MsEventId
insert_event(MsEngine *e, MsHostId src, guint64 seq, MsTime at, MsHostId host, guint16 type,
             MsEventData data)
{
    if (G_UNLIKELY(e->stats.scheduled + e->stats.processed >= e->next_check))
        fes_check(e);
    guint64 delay = (guint64) (at - e->now);
    e->delay_log[delay ? 64 - __builtin_clzll(delay) : 0]++;
    guint32 slot = rec_alloc(e);
    Record *r = &e->recs[slot];
    r->at = at;
    r->seq = seq;
    r->data = data;
    r->src = src;
    r->host = host;
    e->types[slot] = type;
    fes_insert(e, slot);
    e->stats.scheduled++;
    if (++e->stats.pending > e->stats.peak_pending)
        e->stats.peak_pending = e->stats.pending;
    return ((guint64) r->gen << 32 | slot) + 1;
}

static G_ALWAYS_INLINE inline MsEventId
schedule_from(MsEngine *e, MsHostId src, MsTime at, MsHostId host, guint16 type, MsEventData data)
{
    g_return_val_if_fail(e != NULL, 0);
    g_return_val_if_fail(at >= e->now, 0);
    g_return_val_if_fail(type > 0 && type < e->handlers->len, 0);
    guint64 seq = next_seq(e, src);
    if (G_UNLIKELY(e->local_func != NULL) && host != MS_HOST_WORLD &&
        !e->local_func(e->local_data, host)) {
        /* Another part runs this host. Set-up code schedules every host's
         * first events on every part: the counter moved as it would have,
         * and the owner schedules the event itself. From a handler this is
         * a model bug: cross-part events travel through the shard. */
        if (e->current != MS_HOST_WORLD)
            g_critical("engine: host %u schedules an event (%s) for host %u of another part",
                       e->current, ms_engine_type_name(e, type), host);
        e->foreign_dropped++;
        return 0;
    }
    return insert_event(e, src, seq, at, host, type, data);
}

MsEventId
ms_engine_schedule_from(MsEngine *e, MsHostId src, MsTime at, MsHostId host, guint16 type,
                        MsEventData data)
{
    return schedule_from(e, src, at, host, type, data);
}

void
ms_engine_set_local_filter(MsEngine *e, MsEngineLocalFunc func, gconstpointer user_data)
{
    e->local_func = func;
    e->local_data = user_data;
}

gboolean
ms_engine_current_key(const MsEngine *e, MsHostId *src, guint64 *seq)
{
    *src = e->current_src;
    *seq = e->current_seq;
    return e->in_handler > 0;
}

guint64
ms_engine_take_seq(MsEngine *e, MsHostId src)
{
    g_return_val_if_fail(e != NULL, 0);
    return next_seq(e, src);
}

MsEventId
ms_engine_schedule_remote(MsEngine *e, MsHostId src, guint64 seq, MsTime at, MsHostId host,
                          guint16 type, MsEventData data)
{
    g_return_val_if_fail(e != NULL, 0);
    g_return_val_if_fail(at >= e->now, 0);
    g_return_val_if_fail(type > 0 && type < e->handlers->len, 0);
    return insert_event(e, src, seq, at, host, type, data);
}

MsEventId
ms_engine_schedule(MsEngine *e, MsTime at, MsHostId host, guint16 type, MsEventData data)
{
    return schedule_from(e, e->current, at, host, type, data);
}

MsEventId
ms_engine_schedule_in(MsEngine *e, MsTime delay, MsHostId host, guint16 type, MsEventData data)
{
    g_return_val_if_fail(delay >= 0, 0);
    return ms_engine_schedule_from(e, e->current, ms_time_add(e->now, delay), host, type, data);
}

gboolean
ms_engine_cancel(MsEngine *e, MsEventId id)
{
    g_return_val_if_fail(e != NULL, FALSE);
    if (id == 0)
        return FALSE;
    id -= 1;
    guint32 slot = (guint32) id;
    guint32 gen = (guint32) (id >> 32);
    if (slot >= e->n_recs)
        return FALSE;
    Record *r = &e->recs[slot];
    if (r->gen != gen || !REC_LIVE(r))
        return FALSE;
    r->gen++;
    e->stats.cancelled++;
    e->stats.pending--;
    return TRUE;
}

/* Drops cancelled records from the heads of the run and the near heap,
 * refilling them from the wheel and the far heap as needed; returns the
 * live head of the two (the earlier in run order) or NULL. */
static const HeapKey *
live_head(MsEngine *e)
{
    for (;;) {
        while (e->run_pos < e->run_n && !REC_LIVE(&e->recs[e->run[e->run_pos].slot]))
            rec_release(e, e->run[e->run_pos++].slot);
        while (e->near.n > 0 && !REC_LIVE(&e->recs[heap_top(&e->near)->slot])) {
            guint32 slot = heap_top(&e->near)->slot;
            heap_pop(e->recs, &e->near);
            rec_release(e, slot);
        }
        if (G_LIKELY(e->run_pos < e->run_n)) {
            const HeapKey *a = &e->run[e->run_pos];
            if (G_LIKELY(e->near.n == 0) || key_less(e->recs, a, heap_top(&e->near)))
                return a;
            return heap_top(&e->near);
        }
        if (e->near.n > 0)
            return heap_top(&e->near);
        if (!fes_advance(e))
            return NULL;
    }
}

MsTime
ms_engine_next_time(MsEngine *e)
{
    const HeapKey *top = live_head(e);
    return top ? top->at : MS_TIME_INFINITE;
}

/* ---- partitioned runs: how soon pending events reach other parts ---- */

typedef struct {
    const MsTime *delay;
    guint32 n;
    MsTime other;
    MsTime best;
} Reach;

static inline void
reach_consider(const MsEngine *e, Reach *R, guint32 slot)
{
    const Record *r = &e->recs[slot];
    if (!REC_LIVE(r))
        return;
    MsTime d = r->host < R->n ? R->delay[r->host] : R->other;
    R->best = MIN(R->best, ms_time_add(r->at, d));
}

/* The keys of heap h earlier than the best so far: a depth-first walk that
 * stops at any key not earlier (its subtree is later still). The stack
 * holds at most three siblings per level plus four: 4-ary heaps of 2^32
 * keys have 16 levels. */
static void
reach_heap(const MsEngine *e, const Heap *h, Reach *R)
{
    if (h->n == 0)
        return;
    const HeapKey *k = h->keys + HEAP_PAD;
    guint32 stack[64];
    guint32 sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        guint32 i = stack[--sp];
        if (k[i].at >= R->best)
            continue;
        reach_consider(e, R, k[i].slot);
        for (guint32 c = 4 * i + 1; c <= 4 * i + 4 && c < h->n; c++)
            if (k[c].at < R->best)
                stack[sp++] = c;
    }
}

MsTime
ms_engine_next_reach(MsEngine *e, const MsTime *delay, guint32 n_delay, MsTime other)
{
    Reach R = { delay, n_delay, other, MS_TIME_INFINITE };
    for (guint32 i = e->run_pos; i < e->run_n && e->run[i].at < R.best; i++)
        reach_consider(e, &R, e->run[i].slot);
    reach_heap(e, &e->near, &R);
    if (e->n_buckets > 0 && e->wheel_count > 0) {
        /* Buckets cur + 1 ... in time order, skipping empty words of the
         * bitmap, until a bucket starts at or after the best so far. */
        guint32 mask = e->n_buckets - 1;
        for (guint64 b = e->cur + 1; b - e->cur < e->n_buckets;) {
            if ((MsTime) (b << e->shift) >= R.best)
                break;
            guint32 i = (guint32) b & mask;
            if ((e->bits[i >> 6] >> (i & 63)) == 0) {
                b += 64 - (i & 63);
                continue;
            }
            for (guint32 slot = e->heads[i]; slot != NO_SLOT; slot = e->recs[slot].next)
                reach_consider(e, &R, slot);
            b++;
        }
    }
    reach_heap(e, &e->far, &R);
    return R.best;
}

static void
run_head(MsEngine *e, const HeapKey *top)
{
    HeapKey key = *top;
    Record *r = &e->recs[key.slot];
    MsEvent ev = { key.at, r->host, key.src, r->seq, e->types[key.slot], r->data };
    if (top == &e->run[e->run_pos])
        e->run_pos++;
    else
        heap_pop(e->recs, &e->near);
    if (e->n_recs > PREFETCH_MIN && G_LIKELY(e->run_pos < e->run_n || e->near.n > 0)) {
        /* Warm the cache for the event that will most likely run next (the
         * run's head, or the heap's when the run is empty): the rest of its
         * record and its type, and the scheduling counter and random
         * stream of its host, which its handler will most likely use. The
         * walk that brought it into the near tier read the line that holds
         * its host (for three records in four). Written inline: GCC 12
         * drops prefetches in a static helper it deems pure. */
        guint32 slot = e->run_pos < e->run_n ? e->run[e->run_pos].slot : heap_top(&e->near)->slot;
        const Record *nr = &e->recs[slot];
        __builtin_prefetch((const char *) nr + sizeof(Record) - 1);
        __builtin_prefetch(&e->types[slot]);
        MsHostId host = nr->host;
        if (host < e->n_host_seq)
            __builtin_prefetch(&e->host_seq[host], 1);
        guint32 b = host >> RNG_BLOCK_BITS;
        if (b < e->n_rng_blocks && e->rng_blocks[b])
            __builtin_prefetch(&e->rng_blocks[b][host & (RNG_BLOCK - 1)], 1);
    }
    rec_release(e, key.slot);
    g_assert(ev.at >= e->now);
    e->now = ev.at;
    e->stats.pending--;
    e->stats.processed++;
    if (G_UNLIKELY(e->host_events != NULL) && ev.host < e->n_host_events)
        e->host_events[ev.host]++;
    if (G_UNLIKELY(e->stats.scheduled + e->stats.processed >= e->next_check))
        fes_check(e);
    fingerprint_mix(e, (guint64) ev.at);
    fingerprint_mix(e, ((guint64) ev.host << 32) ^ ((guint64) ev.type << 16) ^ ev.src);
    fingerprint_mix(e, ev.seq);
    const Handler *h = &g_array_index(e->handlers, Handler, ev.type);
    MsHostId saved = e->current, saved_src = e->current_src;
    guint64 saved_seq = e->current_seq;
    e->current = ev.host;
    e->current_src = ev.src;
    e->current_seq = ev.seq;
    e->in_handler++;
    h->handler(e, &ev, h->user_data);
    e->in_handler--;
    e->current = saved;
    e->current_src = saved_src;
    e->current_seq = saved_seq;
}

gboolean
ms_engine_step(MsEngine *e)
{
    const HeapKey *top = live_head(e);
    if (!top)
        return FALSE;
    run_head(e, top);
    return TRUE;
}

MsEngineResult
ms_engine_run(MsEngine *e, MsTime until)
{
    g_return_val_if_fail(e != NULL, MS_ENGINE_IDLE);
    g_return_val_if_fail(until >= e->now, MS_ENGINE_UNTIL);
    e->stop = FALSE;
    for (;;) {
        if (e->stop) {
            e->stop = FALSE;
            return MS_ENGINE_STOPPED;
        }
        const HeapKey *top = live_head(e);
        if (!top) {
            if (until != MS_TIME_INFINITE)
                e->now = until;
            return MS_ENGINE_IDLE;
        }
        if (top->at > until) {
            e->now = until;
            return MS_ENGINE_UNTIL;
        }
        run_head(e, top);
    }
}

void
ms_engine_stop(MsEngine *e)
{
    e->stop = TRUE;
}

/* The slow path of ms_engine_host_rng(): makes room for block b and sets
 * up its streams, all at once (so the fast path tests nothing else). */
static G_GNUC_NO_INLINE MsRng *
rng_block_new(MsEngine *e, guint32 b)
{
    if (b >= e->n_rng_blocks) {
        guint32 n = MAX(b + 1, e->n_rng_blocks * 2);
        e->rng_blocks = g_renew(MsRng *, e->rng_blocks, n);
        memset(e->rng_blocks + e->n_rng_blocks, 0, (n - e->n_rng_blocks) * sizeof(MsRng *));
        e->n_rng_blocks = n;
    }
    if (!e->rng_blocks[b]) {
        MsRng *block = g_new(MsRng, RNG_BLOCK);
        for (guint32 i = 0; i < RNG_BLOCK; i++)
            ms_rng_init(&block[i], e->seed, ((MsHostId) b << RNG_BLOCK_BITS) | i);
        e->rng_blocks[b] = block;
    }
    return e->rng_blocks[b];
}

MsRng *
ms_engine_host_rng(MsEngine *e, MsHostId host)
{
    if (G_UNLIKELY(host == MS_HOST_WORLD))
        return &e->world_rng;
    guint32 b = host >> RNG_BLOCK_BITS;
    MsRng *block = G_LIKELY(b < e->n_rng_blocks) ? e->rng_blocks[b] : NULL;
    if (G_UNLIKELY(!block))
        block = rng_block_new(e, b);
    return &block[host & (RNG_BLOCK - 1)];
}
