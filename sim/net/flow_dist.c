/* Flow level across ranks (see sim/net/flow.c, "Ends apart"): what a
 * connection's events and the fair share's link crossings carry when they
 * go to another rank of a distributed run, and how they are brought into
 * this rank's records when they arrive (before they run).
 *
 * Design. An event between the ends of a connection on different ranks
 * goes through the shard (sim/dist/shard.c) with a Wire header: the
 * sending record, a SYN's addressing, a chunk's numbers, then the chunk's
 * bytes. At delivery import_event() points it at this rank's record: the
 * one the sender named (its peer), or for a SYN the record made for that
 * sender's (host, index, generation), kept in a hash table while it lives
 * (looked up, never iterated). Link crossings (EV_SHARE) go to one host of
 * every other part and are added to this rank's view at delivery; the
 * event then runs as a no-op.
 *
 * Costs: a cross-rank event costs 40 bytes more than the shard's own 48,
 * plus a chunk's bytes; a transfer crossing shared links sends 24 bytes per
 * link to each other rank. Memory: one hash entry per record made for
 * another rank's SYN. Threading: one flow, one thread. */
#include "flow-private.h"
#include "net-private.h"

#include <string.h>

static void import_event(gpointer user_data, MsShardEvent *ev, const guint8 *blob, gsize len);

void
ms__flow_attach_shard(MsFlow *f, MsShard *shard)
{
    f->shard = shard;
    ms_shard_set_import(shard, f->ev, import_event, f);
    const MsPartition *p = ms_shard_partition(shard);
    guint32 k = ms_shard_parts(shard);
    g_free(f->reps);
    f->reps = g_new(MsHostId, k);
    for (guint32 i = 0; i < k; i++)
        f->reps[i] = G_MAXUINT32;
    for (MsHostId h = ms_partition_hosts(p); h-- > 0;)
        f->reps[ms_partition_owner(p, h)] = h; /* the lowest of each part */
}

static GArray *
chunks_of(Dir *d)
{
    if (!d->chunks)
        d->chunks = g_array_new(FALSE, FALSE, sizeof(Chunk));
    return d->chunks;
}

/* Tells every other rank of the link crossings in share_out: the readers
 * of a link may be anywhere. Sent one lookahead ahead, it is in their
 * views before any of their senders could count it (see the top). */
void
ms__flow_share_send(MsFlow *f)
{
    guint32 k = ms_shard_parts(f->shard), self = ms_shard_self(f->shard);
    MsTime at = ms_time_add(ms_engine_now(f->engine), ms_shard_lookahead(f->shard));
    gsize n = f->share_out->len * sizeof(ShareWire);
    for (guint32 p = 0; p < k; p++) {
        if (p == self || f->reps[p] == G_MAXUINT32)
            continue;
        guint8 *room = ms_shard_send(f->shard, at, f->reps[p], f->ev,
                                     ms__flow_ev_data(G_MAXUINT32, 0, EV_SHARE, 0, 0), n);
        if (room)
            memcpy(room, f->share_out->data, n);
    }
}

static guint
remote_key_hash(gconstpointer p)
{
    const RemoteKey *k = p;
    return k->src * 2654435761u ^ k->idx * 40503u ^ k->gen;
}

static gboolean
remote_key_equal(gconstpointer a, gconstpointer b)
{
    const RemoteKey *x = a, *y = b;
    return x->src == y->src && x->idx == y->idx && x->gen == y->gen;
}

/* An event from another rank, at delivery (before it runs): points it at
 * this rank's record, made for a new SYN, and brings what it carries
 * there (a chunk's bytes, the peer's record, link crossings). Events for
 * no record run as no-ops. */
static void
import_event(gpointer user_data, MsShardEvent *ev, const guint8 *blob, gsize len)
{
    MsFlow *f = user_data;
    int kind = (int) (ev->data.u32[2] & 0xff), end = (int) (ev->data.u32[2] >> 8);
    if (kind == EV_SHARE) {
        ev->data.u32[0] = G_MAXUINT32;
        g_return_if_fail(len % sizeof(ShareWire) == 0);
        for (gsize off = 0; off < len; off += sizeof(ShareWire)) {
            ShareWire sw;
            memcpy(&sw, blob + off, sizeof sw);
            ms__flow_share_add(f->share, sw.ld, sw.join, sw.end);
        }
        return;
    }
    Wire w;
    guint32 idx0 = ev->data.u32[0], gen0 = ev->data.u32[1];
    ev->data.u32[0] = G_MAXUINT32;
    g_return_if_fail(len >= sizeof w);
    memcpy(&w, blob, sizeof w);
    if (kind == EV_SYN || kind == EV_ABANDON) {
        RemoteKey key = { ev->src, w.idx, w.gen };
        gpointer v = g_hash_table_lookup(f->remote, &key);
        guint32 idx;
        if (v) {
            idx = GPOINTER_TO_UINT(v) - 1;
        } else if (kind == EV_ABANDON) {
            return; /* nothing of it here */
        } else {
            idx = ms__flow_conn_new(f);
            Conn *c = conn_at(f, idx);
            c->state = ST_SYN_SENT;
            c->host[0] = ev->src;
            c->host[1] = ev->host;
            c->addr[0] = ms_net_host_addr(f->net, ev->src);
            c->addr[1] = w.addr;
            c->port[0] = w.sport;
            c->port[1] = w.dport;
            c->mss = w.mss;
            c->peer_idx = w.idx;
            c->peer_gen = w.gen;
            c->keyed = TRUE;
            c->key_src = key.src;
            c->key_idx = key.idx;
            c->key_gen = key.gen;
            RemoteKey *stored = g_new(RemoteKey, 1);
            *stored = key;
            g_hash_table_insert(f->remote, stored, GUINT_TO_POINTER(idx + 1));
        }
        ev->data.u32[0] = idx;
        ev->data.u32[1] = conn_at(f, idx)->gen;
        return;
    }
    if (idx0 >= f->conns->len)
        return;
    Conn *c = conn_at(f, idx0);
    if (c->gen != gen0 || c->state == ST_FREE)
        return; /* gone meanwhile: the event runs as a no-op */
    ev->data.u32[0] = idx0;
    if (kind == EV_SYNACK) {
        c->peer_idx = w.idx;
        c->peer_gen = w.gen;
    } else if (kind == EV_DATA && end >= 0 && end <= 1) {
        Chunk ch = { ev->at, g_bytes_new(blob + sizeof w, len - sizeof w), w.epoch, w.seq, w.back };
        g_array_append_val(chunks_of(&c->d[end]), ch);
    }
}

GHashTable *
ms__flow_remote_new(void)
{
    return g_hash_table_new_full(remote_key_hash, remote_key_equal, g_free, NULL);
}

MsTime
ms__flow_lookahead(const MsNet *net, const MsPartition *p)
{
    guint n = ms_net_n_hosts(net), m = ms_net_n_links(net);
    /* The links as adjacency lists (CSR), latency as the length. */
    g_autofree guint *first = g_new0(guint, n + 1);
    g_autofree MsHostId *to = g_new(MsHostId, 2 * (gsize) m);
    g_autofree MsTime *len = g_new(MsTime, 2 * (gsize) m);
    for (guint32 l = 0; l < m; l++) {
        MsHostId a, b;
        ms_net_link_ends(net, l, &a, &b);
        first[a + 1]++;
        first[b + 1]++;
    }
    for (guint h = 0; h < n; h++)
        first[h + 1] += first[h];
    g_autofree guint *fill = g_memdup2(first, (n + 1) * sizeof *first);
    for (guint32 l = 0; l < m; l++) {
        MsHostId a, b;
        ms_net_link_ends(net, l, &a, &b);
        MsTime lat = ms_net_link_params(net, l)->latency;
        to[fill[a]] = b;
        len[fill[a]++] = lat;
        to[fill[b]] = a;
        len[fill[b]++] = lat;
    }
    g_autofree MsTime *dist = g_new(MsTime, n);
    g_autoptr(GArray) heap = g_array_new(FALSE, FALSE, sizeof(MsNetQItem));
    MsTime best = MS_TIME_INFINITE;
    for (guint32 part = 0; part < ms_partition_parts(p); part++) {
        for (guint h = 0; h < n; h++)
            dist[h] = MS_TIME_INFINITE;
        g_array_set_size(heap, 0);
        for (MsHostId h = 0; h < n; h++)
            if (ms_partition_owner(p, h) == part && ms_net_host_role(net, h) != MS_ROLE_ROUTER) {
                dist[h] = 0;
                ms__net_q_push(heap, (MsNetQItem){ 0, h });
            }
        while (heap->len > 0) {
            MsNetQItem r = ms__net_q_pop(heap); /* sim/net/routing.c's heap */
            if (r.dist != dist[r.node] || r.dist >= best)
                continue;
            if (ms_partition_owner(p, r.node) != part &&
                ms_net_host_role(net, r.node) != MS_ROLE_ROUTER) {
                best = r.dist; /* the nearest end of another part */
                break;
            }
            for (guint i = first[r.node]; i < first[r.node + 1]; i++) {
                MsTime d = r.dist + len[i];
                if (d < dist[to[i]]) {
                    dist[to[i]] = d;
                    ms__net_q_push(heap, (MsNetQItem){ d, to[i] });
                }
            }
        }
    }
    return best;
}
