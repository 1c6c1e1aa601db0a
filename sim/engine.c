/* The discrete-event engine (see include/mailsim/engine.h): the clock, the
 * future-event set and the dispatcher every simulated host runs inside.
 *
 * Design. The future-event set is split in two, for the cache:
 *   - a 4-ary min-heap of 16-byte keys {at, src, slot}. Four keys fill one
 *     64-byte cache line, and the heap is laid out with three entries of
 *     padding in front so that the four children of any node share one
 *     line: a sift-down touches one line per level.
 *   - a pool of 40-byte event records (sequence number, target host, type,
 *     payload), indexed by slot, recycled through a LIFO free list threaded
 *     through the records themselves, so the slot an event frees is the one
 *     its handler's next schedule reuses, still in cache.
 * Ties in time compare the scheduling host (in the key) and then that host's
 * counter (in the record, looked up only on a tie of both).
 *
 * Cancellation is lazy: a cancelled record is marked and skipped when its key
 * reaches the top. Handles carry a per-slot generation, so a stale handle
 * never cancels a later event that reuses the slot.
 *
 * Costs: schedule and run are O(log4 n); cancel is O(1). Memory: 56 bytes per
 * pending event (16 key + 40 record), arrays grown by doubling.
 *
 * Invariants: time never goes backwards; no event is scheduled in the past.
 * Threading: an engine belongs to one thread at a time; no global state. */
#include "mailsim/engine.h"

#include <string.h>

#define HEAP_PAD 3          /* logical node k lives at keys[k + HEAP_PAD] */
#define RNG_BLOCK_BITS 10   /* host random streams in blocks of 1024 */
#define RNG_BLOCK (1u << RNG_BLOCK_BITS)

typedef struct {
    MsTime   at;
    MsHostId src;
    guint32  slot;
} HeapKey;

enum { REC_FREE = 0, REC_LIVE = 1, REC_CANCELLED = 2 };

typedef struct {
    guint64     seq;        /* when free: index of the next free slot */
    MsHostId    host;
    guint32     gen;
    guint16     type;
    guint16     state;
    MsEventData data;
} Record;

typedef struct {
    char          *name;
    MsEventHandler handler;
    gpointer       user_data;
} Handler;

struct _MsEngine {
    MsTime    now;
    guint64   seed;
    MsHostId  current;

    HeapKey  *keys;         /* keys[HEAP_PAD .. HEAP_PAD + n_keys), 64-byte aligned */
    gpointer  keys_raw;     /* the allocation keys points into */
    guint32   n_keys;       /* includes cancelled entries not yet popped */
    guint32   cap_keys;

    Record   *recs;
    guint32   n_recs;       /* slots ever handed out */
    guint32   cap_recs;
    guint32   free_head;    /* G_MAXUINT32 when the free list is empty */

    guint64  *host_seq;     /* per-host scheduling counters */
    guint32   n_host_seq;
    guint64   world_seq;

    MsRng   **rng_blocks;
    guint32   n_rng_blocks;
    MsRng     world_rng;

    GArray   *handlers;     /* Handler; index 0 unused */
    gboolean  stop;
    guint64   fingerprint;
    MsEngineStats stats;
};

#define NO_SLOT G_MAXUINT32

/* (Re)allocates the key array with room for `cap` keys, aligned so that each
 * group of four children starts a cache line. */
static void
keys_grow(MsEngine *e, guint32 cap)
{
    gpointer raw = g_malloc((gsize) (cap + HEAP_PAD) * sizeof(HeapKey) + 64);
    HeapKey *keys = (HeapKey *) (((guintptr) raw + 63) & ~(guintptr) 63);
    if (e->keys)
        memcpy(keys, e->keys, (gsize) (e->n_keys + HEAP_PAD) * sizeof(HeapKey));
    g_free(e->keys_raw);
    e->keys_raw = raw;
    e->keys = keys;
    e->cap_keys = cap;
}

MsEngine *
ms_engine_new(guint64 seed)
{
    MsEngine *e = g_new0(MsEngine, 1);
    e->seed = seed;
    e->current = MS_HOST_WORLD;
    keys_grow(e, 1024);
    e->cap_recs = 1024;
    e->recs = g_new(Record, e->cap_recs);
    e->free_head = NO_SLOT;
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
    g_free(e->recs);
    g_free(e->keys_raw);
    g_free(e);
}

guint64 ms_engine_seed(const MsEngine *e) { return e->seed; }
MsTime ms_engine_now(const MsEngine *e) { return e->now; }
MsHostId ms_engine_current_host(const MsEngine *e) { return e->current; }
guint64 ms_engine_fingerprint(const MsEngine *e) { return e->fingerprint; }

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

static guint64
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

/* Is key a before key b in run order? */
static inline gboolean
key_less(const MsEngine *e, const HeapKey *a, const HeapKey *b)
{
    if (G_LIKELY(a->at != b->at))
        return a->at < b->at;
    if (a->src != b->src)
        return a->src < b->src;
    return e->recs[a->slot].seq < e->recs[b->slot].seq;
}

static void
heap_push(MsEngine *e, HeapKey key)
{
    if (e->n_keys == e->cap_keys) {
        g_assert(e->cap_keys < G_MAXUINT32 / 4);
        keys_grow(e, e->cap_keys * 2);
    }
    HeapKey *k = e->keys + HEAP_PAD;
    guint32 i = e->n_keys++;
    while (i > 0) {
        guint32 parent = (i - 1) >> 2;
        if (!key_less(e, &key, &k[parent]))
            break;
        k[i] = k[parent];
        i = parent;
    }
    k[i] = key;
}

/* Index of the least of the keys k[c .. end). */
static inline guint32
least_child(const MsEngine *e, const HeapKey *k, guint32 c, guint32 end)
{
    guint32 best = c;
    for (guint32 j = c + 1; j < end; j++)
        if (key_less(e, &k[j], &k[best]))
            best = j;
    return best;
}

/* Removes the top key. Bottom-up ("Floyd") deletion: the hole left at the
 * root walks down along least children to a leaf without comparing with the
 * displaced last key, which then sifts up from there. The last key comes from
 * the bottom and usually belongs near it, so this saves about one compare
 * (and one mispredicted branch) per level. */
static void
heap_pop(MsEngine *e)
{
    HeapKey *k = e->keys + HEAP_PAD;
    guint32 n = --e->n_keys;
    if (n == 0)
        return;
    HeapKey last = k[n];
    guint32 i = 0;
    for (;;) {
        guint32 c = 4 * i + 1;
        if (c >= n)
            break;
        guint32 best = least_child(e, k, c, MIN(c + 4, n));
        k[i] = k[best];
        i = best;
    }
    while (i > 0) {
        guint32 parent = (i - 1) >> 2;
        if (!key_less(e, &last, &k[parent]))
            break;
        k[i] = k[parent];
        i = parent;
    }
    k[i] = last;
}

static guint32
rec_alloc(MsEngine *e)
{
    guint32 slot;
    if (e->free_head != NO_SLOT) {
        slot = e->free_head;
        e->free_head = (guint32) e->recs[slot].seq;
    } else {
        if (e->n_recs == e->cap_recs) {
            g_assert(e->cap_recs < G_MAXUINT32 / 2);
            e->cap_recs *= 2;
            e->recs = g_renew(Record, e->recs, e->cap_recs);
        }
        slot = e->n_recs++;
        e->recs[slot].gen = 0;
    }
    return slot;
}

static void
rec_release(MsEngine *e, guint32 slot)
{
    Record *r = &e->recs[slot];
    r->state = REC_FREE;
    r->gen++;
    r->seq = e->free_head;
    e->free_head = slot;
}

MsEventId
ms_engine_schedule_from(MsEngine *e, MsHostId src, MsTime at, MsHostId host,
                        guint16 type, MsEventData data)
{
    g_return_val_if_fail(e != NULL, 0);
    g_return_val_if_fail(at >= e->now, 0);
    g_return_val_if_fail(type > 0 && type < e->handlers->len, 0);
    guint32 slot = rec_alloc(e);
    Record *r = &e->recs[slot];
    r->seq = next_seq(e, src);
    r->host = host;
    r->type = type;
    r->state = REC_LIVE;
    r->data = data;
    heap_push(e, (HeapKey) { at, src, slot });
    e->stats.scheduled++;
    if (++e->stats.pending > e->stats.peak_pending)
        e->stats.peak_pending = e->stats.pending;
    return ((guint64) r->gen << 32 | slot) + 1;
}

MsEventId
ms_engine_schedule(MsEngine *e, MsTime at, MsHostId host, guint16 type, MsEventData data)
{
    return ms_engine_schedule_from(e, e->current, at, host, type, data);
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
    if (r->gen != gen || r->state != REC_LIVE)
        return FALSE;
    r->state = REC_CANCELLED;
    e->stats.cancelled++;
    e->stats.pending--;
    return TRUE;
}

/* Drops cancelled records from the top of the heap; returns the live head
 * or NULL. */
static const HeapKey *
live_head(MsEngine *e)
{
    while (e->n_keys > 0) {
        const HeapKey *top = &e->keys[HEAP_PAD];
        if (e->recs[top->slot].state == REC_LIVE)
            return top;
        guint32 slot = top->slot;
        heap_pop(e);
        rec_release(e, slot);
    }
    return NULL;
}

MsTime
ms_engine_next_time(MsEngine *e)
{
    const HeapKey *top = live_head(e);
    return top ? top->at : MS_TIME_INFINITE;
}

static void
run_head(MsEngine *e, const HeapKey *top)
{
    HeapKey key = *top;
    Record *r = &e->recs[key.slot];
    MsEvent ev = { key.at, r->host, key.src, r->seq, r->type, r->data };
    heap_pop(e);
    rec_release(e, key.slot);
    g_assert(ev.at >= e->now);
    e->now = ev.at;
    e->stats.pending--;
    e->stats.processed++;
    fingerprint_mix(e, (guint64) ev.at);
    fingerprint_mix(e, ((guint64) ev.host << 32) ^ ((guint64) ev.type << 16) ^ ev.src);
    fingerprint_mix(e, ev.seq);
    const Handler *h = &g_array_index(e->handlers, Handler, ev.type);
    MsHostId saved = e->current;
    e->current = ev.host;
    h->handler(e, &ev, h->user_data);
    e->current = saved;
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

MsRng *
ms_engine_host_rng(MsEngine *e, MsHostId host)
{
    if (host == MS_HOST_WORLD)
        return &e->world_rng;
    guint32 b = host >> RNG_BLOCK_BITS;
    if (b >= e->n_rng_blocks) {
        guint32 n = MAX(b + 1, e->n_rng_blocks * 2);
        e->rng_blocks = g_renew(MsRng *, e->rng_blocks, n);
        memset(e->rng_blocks + e->n_rng_blocks, 0, (n - e->n_rng_blocks) * sizeof(MsRng *));
        e->n_rng_blocks = n;
    }
    if (!e->rng_blocks[b])
        e->rng_blocks[b] = g_new0(MsRng, RNG_BLOCK);
    MsRng *r = &e->rng_blocks[b][host & (RNG_BLOCK - 1)];
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        ms_rng_init(r, e->seed, host);
    return r;
}
