/* The network layer (see include/mailsim/net.h): hosts, links, packets in
 * flight, forwarding and UDP. Which link a packet takes next is routing's
 * business (sim/net/routing.c); the state both files share is in
 * sim/net/net-private.h.
 *
 * Design. Hosts and links are dense arrays indexed by id. A packet in flight
 * lives in a pooled slot; its arrival at the next hop is one engine event
 * carrying (slot, link, link epoch). A link direction keeps only the time it
 * becomes free: the bytes still waiting are (busy_until - now) * bandwidth,
 * so a drop-tail queue needs no list and no departure events. A link going
 * down bumps its epoch: arrivals stamped with an older epoch are lost. Host
 * addresses map to ids through a direct-indexed table while they are dense.
 * A link's record holds what routing reads (64 bytes); its queue ends,
 * counters and peak windows (MsNetLinkState, 152 bytes) are made on its
 * first use, in blocks, so a part of a partitioned run, which holds every
 * link of the world for routing, pays for them only where it sends.
 *
 * Express mode (flow level, ms_net_set_express): a packet crosses its whole
 * path in one event, store-and-forward without queueing, its path read in
 * one route walk; see include/mailsim/net.h.
 *
 * Invariants: a slot is either in flight (one arrival event names it) or on
 * the free list; busy_until never lies before the last packet's start; every
 * up/down change and every added host or link reaches routing before the
 * next packet moves. Costs: a packet costs one event and one route look-up
 * per hop (O(1) once the tables are built, see routing.c), no allocation
 * once the slot pool has grown; a drop-tail check is O(1).
 *
 * Ownership: the network owns packets from ms_net_send() until they are
 * delivered or dropped. Threading: one engine, one thread. */
#include "net-private.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(ms - net - error - quark, ms_net_error)

typedef struct {
    guint16 port;
    MsUdpReceiveFunc func;
    gpointer user_data;
} MsNetUdpBinding;

typedef struct {
    MsPacket pkt;
    guint32 next_free;
} MsNetSlot;

static void on_arrive(MsEngine *engine, const MsEvent *ev, gpointer user_data);
static void udp_receive(MsNet *net, MsHostId host, const MsPacket *p, gpointer user_data);
static void tag_tables_free(MsNet *n);

MsNet *
ms_net_new(MsEngine *engine)
{
    MsNet *n = g_new0(MsNet, 1);
    n->engine = engine;
    n->trace = ms_trace_new();
    n->hosts = g_array_new(FALSE, TRUE, sizeof(MsNetHost));
    n->links = g_array_new(FALSE, TRUE, sizeof(MsNetLink));
    /* Keyed by the hosts' own names (MsNetHost.name, never renamed nor
     * freed before the table): no second copy of every name. */
    n->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    n->by_addr = g_hash_table_new(g_direct_hash, g_direct_equal);
    n->slots = g_array_new(FALSE, TRUE, sizeof(MsNetSlot));
    n->free_slot = G_MAXUINT32;
    ms__net_routing_init(n);
    n->ev_arrive = ms_engine_register(engine, "net-arrive", on_arrive, n);
    n->recv_udp = (MsNetReceiver){ udp_receive, NULL };
    return n;
}

void
ms_net_free(MsNet *n)
{
    if (!n)
        return;
    for (guint i = 0; i < n->hosts->len; i++) {
        MsNetHost *h = &g_array_index(n->hosts, MsNetHost, i);
        g_free(h->name);
        if (h->udp)
            g_array_free(h->udp, TRUE);
        ms__net_ports_free(h->ports);
    }
    for (guint i = 0; i < n->slots->len; i++) {
        MsNetSlot *s = &g_array_index(n->slots, MsNetSlot, i);
        g_clear_pointer(&s->pkt.payload, g_bytes_unref);
    }
    ms__net_routing_clear(n);
    for (guint i = 0; i < n->links->len; i++)
        if (link_at(n, i)->s)
            ms__net_peak_clear(link_at(n, i)->s);
    if (n->state_blocks)
        g_ptr_array_unref(n->state_blocks);
    g_array_free(n->slots, TRUE);
    g_array_free(n->hosts, TRUE);
    g_array_free(n->links, TRUE);
    ms__net_peak_free_kept(n);
    g_hash_table_destroy(n->by_name);
    g_hash_table_destroy(n->by_addr);
    g_free(n->addr_ids);
    ms_trace_free(n->trace);
    tag_tables_free(n);
    g_free(n);
}

/* --- getters ------------------------------------------------------------ */

/* Each checks its arguments (a NULL network, an id out of range: programmer
 * errors, a critical and the value net.h documents) but those on a per-packet
 * or per-transfer path: ms_net_host_by_addr() (once per packet sent) and
 * ms_net_host_is_up() (the flow model's every step). */

MsEngine *
ms_net_engine(MsNet *n)
{
    g_return_val_if_fail(n != NULL, NULL);
    return n->engine;
}

MsTrace *
ms_net_trace(MsNet *n)
{
    g_return_val_if_fail(n != NULL, NULL);
    return n->trace;
}

guint
ms_net_n_hosts(const MsNet *n)
{
    g_return_val_if_fail(n != NULL, 0);
    return n->hosts->len;
}

guint
ms_net_n_links(const MsNet *n)
{
    g_return_val_if_fail(n != NULL, 0);
    return n->links->len;
}

const char *
ms_net_host_name(const MsNet *n, MsHostId h)
{
    g_return_val_if_fail(HOST_OK(n, h), NULL);
    return host_at(n, h)->name;
}

guint32
ms_net_host_addr(const MsNet *n, MsHostId h)
{
    g_return_val_if_fail(HOST_OK(n, h), 0);
    return host_at(n, h)->addr;
}

MsHostRole
ms_net_host_role(const MsNet *n, MsHostId h)
{
    g_return_val_if_fail(HOST_OK(n, h), MS_ROLE_COUNT);
    return host_at(n, h)->role;
}

/* Unchecked: the flow model asks before every transfer and handshake step. */
gboolean
ms_net_host_is_up(const MsNet *n, MsHostId h)
{
    return host_at(n, h)->up;
}

gboolean
ms_net_link_is_up(const MsNet *n, guint32 l)
{
    g_return_val_if_fail(LINK_OK(n, l), FALSE);
    return link_at(n, l)->up;
}

const MsLinkParams *
ms_net_link_params(const MsNet *n, guint32 l)
{
    g_return_val_if_fail(LINK_OK(n, l), NULL);
    return &link_at(n, l)->p;
}

void
ms_net_link_ends(const MsNet *n, guint32 l, MsHostId *a, MsHostId *b)
{
    *a = *b = NO_HOST;
    g_return_if_fail(LINK_OK(n, l));
    *a = link_at(n, l)->a;
    *b = link_at(n, l)->b;
}

void
ms_net_link_stats(const MsNet *n, guint32 l, MsLinkStats *st)
{
    memset(st, 0, sizeof *st);
    g_return_if_fail(LINK_OK(n, l));
    if (link_at(n, l)->s) /* else never used: zeros */
        *st = link_at(n, l)->s->st;
}

/* States come 256 to a block: one allocation per block, and a pointer to
 * a state stays valid as links are added. */
#define STATE_BLOCK 256

MsNetLinkState *
ms__net_link_state_new(MsNet *n, MsNetLink *l)
{
    g_assert(l->s == NULL);
    if (!n->state_blocks)
        n->state_blocks = g_ptr_array_new_with_free_func(g_free);
    if (n->n_states % STATE_BLOCK == 0)
        g_ptr_array_add(n->state_blocks, g_new0(MsNetLinkState, STATE_BLOCK));
    MsNetLinkState *block = g_ptr_array_index(n->state_blocks, n->state_blocks->len - 1);
    l->s = &block[n->n_states++ % STATE_BLOCK];
    return l->s;
}

void
ms_net_get_stats(const MsNet *n, MsNetStats *st)
{
    memset(st, 0, sizeof *st);
    g_return_if_fail(n != NULL);
    *st = n->stats;
}

MsHostId
ms_net_host_by_name(const MsNet *n, const char *name)
{
    g_return_val_if_fail(n != NULL && name != NULL, NO_HOST);
    gpointer v = g_hash_table_lookup(n->by_name, name);
    return v ? (MsHostId) (GPOINTER_TO_UINT(v) - 1) : NO_HOST;
}

/* One look-up per packet sent and several per message: the dense table
 * costs one load where the hash table costs three (hash, key, value) from
 * three arrays. */
MsHostId
ms_net_host_by_addr(const MsNet *n, guint32 addr)
{
    if (G_LIKELY(n->addr_ids != NULL)) {
        guint32 off = addr - n->addr_base; /* wraps below addr_base: out of range */
        return off < n->addr_cap ? n->addr_ids[off] - 1 : NO_HOST;
    }
    gpointer v = g_hash_table_lookup(n->by_addr, GUINT_TO_POINTER(addr));
    return v ? (MsHostId) (GPOINTER_TO_UINT(v) - 1) : NO_HOST;
}

/* Keeps addr_ids in step with a host just added (id, addr). The table
 * spans addr_base .. addr_base + addr_cap - 1 and is used while that span stays
 * below four entries per host (plus a floor, for small worlds); it grows
 * by doubling towards higher addresses, so sequential numbering costs
 * O(1) amortised per host, and is rebuilt from the host array when an
 * address falls below it or when a sparse set of addresses becomes dense. */
static void
index_addr(MsNet *n, MsHostId id, guint32 addr)
{
    guint nh = n->hosts->len;
    if (nh == 1) {
        n->addr_lo = n->addr_hi = addr;
    } else {
        n->addr_lo = MIN(n->addr_lo, addr);
        n->addr_hi = MAX(n->addr_hi, addr);
    }
    guint64 span = (guint64) n->addr_hi - n->addr_lo + 1;
    guint64 limit = MAX(4 * (guint64) nh, 1024);
    if (span > limit) {
        g_clear_pointer(&n->addr_ids, g_free);
        n->addr_cap = 0;
        return;
    }
    if (!n->addr_ids || addr < n->addr_base || addr - n->addr_base >= n->addr_cap) {
        /* Rebuild from the lowest address, with room above for growth. */
        n->addr_base = n->addr_lo;
        n->addr_cap = (guint32) MAX(MIN(MAX(2 * span, 64), limit), span);
        g_free(n->addr_ids);
        n->addr_ids = g_new0(guint32, n->addr_cap);
        for (MsHostId h = 0; h + 1 < nh; h++)
            n->addr_ids[host_at(n, h)->addr - n->addr_base] = h + 1;
    }
    n->addr_ids[addr - n->addr_base] = id + 1;
}

MsHostId
ms_net_add_host(MsNet *n, const char *name, guint32 addr, MsHostRole role, GError **error)
{
    g_return_val_if_fail(name != NULL, NO_HOST);
    if (g_hash_table_contains(n->by_name, name)) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "duplicate host name '%s'", name);
        return NO_HOST;
    }
    if (addr == 0 || g_hash_table_contains(n->by_addr, GUINT_TO_POINTER(addr))) {
        g_autofree char *a = ms_ipv4_to_string(addr);
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "host '%s': address %s is %s", name,
                    a, addr ? "already in use" : "not valid");
        return NO_HOST;
    }
    MsNetHost h = {
        g_strdup(name), addr, role, TRUE, 1, NULL, 0, NULL
    };
    g_array_append_val(n->hosts, h);
    MsHostId id = n->hosts->len - 1;
    g_hash_table_insert(n->by_name, host_at(n, id)->name, GUINT_TO_POINTER(id + 1));
    g_hash_table_insert(n->by_addr, GUINT_TO_POINTER(addr), GUINT_TO_POINTER(id + 1));
    index_addr(n, id, addr);
    ms__net_topology_changed(n);
    return id;
}

guint32
ms_net_add_link(MsNet *n, MsHostId a, MsHostId b, const MsLinkParams *p, GError **error)
{
    if (a >= n->hosts->len || b >= n->hosts->len) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "link: unknown host id %u",
                    a >= n->hosts->len ? a : b);
        return NO_LINK;
    }
    const char *an = host_at(n, a)->name, *bn = host_at(n, b)->name;
    const char *why = NULL;
    if (a == b)
        why = "a link must join two different hosts";
    else if (p->bandwidth_bps == 0)
        why = "bandwidth must be greater than zero";
    else if (p->mtu < 68)
        why = "MTU below 68 bytes (RFC 791 minimum)";
    else if (!(p->loss >= 0.0 && p->loss <= 1.0))
        why = "loss must be in [0, 1]";
    else if (p->latency < 0)
        why = "latency cannot be negative";
    if (why) {
        g_set_error(error, MS_NET_ERROR, MS_NET_ERROR_INVALID, "link '%s'~'%s': %s", an, bn, why);
        return NO_LINK;
    }
    MsNetLink l = { 0 };
    l.a = a;
    l.b = b;
    l.p = *p;
    l.up = TRUE;
    g_array_append_val(n->links, l);
    guint32 id = n->links->len - 1;
    host_at(n, a)->degree++;
    host_at(n, b)->degree++;
    ms__net_topology_changed(n);
    return id;
}

void
ms_net_set_express(MsNet *n, gboolean express)
{
    n->express = express;
}

void
ms_net_link_account(MsNet *n, guint32 li, MsHostId from, MsTime start, guint64 packets,
                    guint64 bytes, MsTime busy)
{
    MsNetLink *l = link_at(n, li);
    MsNetLinkState *s = link_state(n, l);
    int dir = l->a == from ? 0 : 1;
    s->st.packets[dir] += packets;
    s->st.bytes[dir] += bytes;
    s->st.busy[dir] += busy;
    ms__net_peak_account(n, li, dir, start, busy);
}

void
ms_net_set_host_up(MsNet *n, MsHostId h, gboolean up)
{
    g_return_if_fail(HOST_OK(n, h));
    if (host_at(n, h)->up == up)
        return;
    host_at(n, h)->up = up;
    /* A host with one link is never on anyone else's path (routing.c's
     * searches relax through it only as a destination): no table changes. */
    if (host_at(n, h)->degree > 1)
        ms__net_drop_routes(n);
    else
        n->route_epoch++;
    if (ms_net_is_local(n, h)) /* told once, by the part that runs the host */
        ms_trace_emitf(n->trace, ms_engine_now(n->engine), MS_TRACE_NOTE, h, MS_HOST_WORLD, 0,
                       "net", "%s goes %s", host_at(n, h)->name, up ? "up" : "down");
}

void
ms_net_set_link_up(MsNet *n, guint32 li, gboolean up)
{
    g_return_if_fail(LINK_OK(n, li));
    MsNetLink *l = link_at(n, li);
    if (l->up == up)
        return;
    l->up = up;
    if (!up) {
        l->epoch++;
        MsTime now = ms_engine_now(n->engine);
        if (l->s) { /* a link never used is free already */
            l->s->busy_until[0] = MIN(l->s->busy_until[0], now);
            l->s->busy_until[1] = MIN(l->s->busy_until[1], now);
        }
    }
    ms__net_drop_routes(n);
    if (ms_net_is_local(n, l->a))
        ms_trace_emitf(n->trace, ms_engine_now(n->engine), MS_TRACE_NOTE, l->a, l->b, 0, "net",
                       "link %s~%s goes %s", host_at(n, l->a)->name, host_at(n, l->b)->name,
                       up ? "up" : "down");
}

/* --- packets ---------------------------------------------------------- */

static guint32
slot_alloc(MsNet *n, const MsPacket *p)
{
    guint32 s;
    if (n->free_slot != G_MAXUINT32) {
        s = n->free_slot;
        n->free_slot = g_array_index(n->slots, MsNetSlot, s).next_free;
    } else {
        g_array_set_size(n->slots, n->slots->len + 1);
        s = n->slots->len - 1;
    }
    g_array_index(n->slots, MsNetSlot, s).pkt = *p;
    return s;
}

static void
slot_free(MsNet *n, guint32 s)
{
    MsNetSlot *sl = &g_array_index(n->slots, MsNetSlot, s);
    g_clear_pointer(&sl->pkt.payload, g_bytes_unref);
    sl->next_free = n->free_slot;
    n->free_slot = s;
}

static void
drop(MsNet *n, guint32 s, MsHostId at, MsDropReason why)
{
    n->stats.dropped++;
    n->stats.drops[why]++;
    if (ms_trace_enabled(n->trace)) {
        MsTraceRecord r = { 0 };
        r.at = ms_engine_now(n->engine);
        r.kind = MS_TRACE_PACKET_DROP;
        r.host = at;
        r.peer = MS_HOST_WORLD;
        r.code = why;
        r.packet = &g_array_index(n->slots, MsNetSlot, s).pkt;
        r.message = r.packet->message;
        r.text = ms_drop_reason_to_string(why);
        ms_trace_emit(n->trace, &r);
    }
    slot_free(n, s);
}

/* Serialisation time of p on l (size * 8 bits at the bandwidth, rounded up
 * to a nanosecond) from `start`, counted in the link's statistics for
 * direction dir. */
static MsTime
link_account(MsNet *n, guint32 li, int dir, const MsPacket *p, MsTime start)
{
    MsNetLink *l = link_at(n, li);
    MsNetLinkState *ls = link_state(n, l);
    MsTime tx = (MsTime) (((guint64) p->size * 8 * 1000000000ULL + l->p.bandwidth_bps - 1) /
                          l->p.bandwidth_bps);
    ls->st.packets[dir]++;
    ls->st.bytes[dir] += p->size;
    ls->st.busy[dir] += tx;
    ms__net_peak_account(n, li, dir, start, tx);
    return tx;
}

static void
trace_send(MsNet *n, MsTime at, MsHostId from, MsHostId to, const MsPacket *p, guint32 li)
{
    if (!ms_trace_enabled(n->trace))
        return;
    MsTraceRecord r = { 0 };
    r.at = at;
    r.kind = MS_TRACE_PACKET_SEND;
    r.host = from;
    r.peer = to;
    r.packet = p;
    r.message = p->message;
    r.link = li;
    ms_trace_emit(n->trace, &r);
}

/* --- partitioned runs ---------------------------------------------------- */

/* A packet crossing a cut link leaves this part as a blob: its header,
 * the tag's name, then the payload.
 *
 * Tags. Message ids are per part, so the mail message a packet belongs to
 * is named by the mail layer's codec (its Message-ID). The name goes to a
 * part once: the header carries the sender's own tag, and with it, the
 * first time that tag goes to that part, the name (16-bit length, then the
 * bytes); the receiver turns the name into its own tag once and remembers
 * it by the sender's tag (outboxes arrive in the order they were filled,
 * so the name always comes first). A later crossing costs two array reads
 * instead of a name written, copied, parsed and looked up. This holds as
 * long as the codec turns one name into one tag for the whole run (the
 * mail layer's does: parts keep every record). Memory: per other part a
 * bit per own tag and 4 bytes per tag of its that crossed.
 *
 * Payload. Over MPI the payload's bytes follow (the header's payload
 * pointer only says NULL or not: NULL and empty differ); between parts of
 * one process (ms_shard_in_process()) the header keeps the payload's
 * GBytes and its reference moves to the receiving part, which saves a copy
 * out, an allocation and a copy in per packet. */
static gboolean
tag_named(const MsNet *n, guint32 part, guint32 tag)
{
    const GByteArray *b = n->tag_named[part];
    return tag / 8 < b->len && (b->data[tag / 8] >> (tag % 8) & 1);
}

static void
tag_set_named(MsNet *n, guint32 part, guint32 tag)
{
    GByteArray *b = n->tag_named[part];
    if (tag / 8 >= b->len) {
        guint old = b->len;
        g_byte_array_set_size(b, MAX(tag / 8 + 1, 2 * old));
        memset(b->data + old, 0, b->len - old);
    }
    b->data[tag / 8] |= (guint8) (1u << (tag % 8));
}

static void
export_packet(MsNet *n, guint32 s, MsTime at, MsHostId to, MsEventData d)
{
    MsPacket *sp = &g_array_index(n->slots, MsNetSlot, s).pkt;
    MsPacket hdr = *sp;
    gboolean by_ref = ms_shard_in_process(n->shard);
    gsize bytes = hdr.payload ? g_bytes_get_size(hdr.payload) : 0;
    gsize len = by_ref ? 0 : bytes; /* payload bytes in the blob */
    guint32 part = ms_partition_owner(ms_shard_partition(n->shard), to);
    const char *tag = NULL; /* the name, the first time to this part */
    if (!hdr.message || !n->tag_out)
        hdr.message = 0;
    else if (!tag_named(n, part, hdr.message)) {
        tag = n->tag_out(n->tag_data, hdr.message);
        if (!tag)
            hdr.message = 0;
    }
    guint16 tag_len = tag ? (guint16) MIN(strlen(tag), G_MAXUINT16) : 0;
    const void *payload = len ? g_bytes_get_data(hdr.payload, NULL) : NULL;
    if (!by_ref)
        hdr.payload = hdr.payload ? GUINT_TO_POINTER(1) : NULL;
    d.u32[0] = G_MAXUINT32;
    /* Written straight into the outbox. */
    gsize blob = sizeof hdr + sizeof tag_len + tag_len;
    guint8 *w = by_ref ? ms_shard_send_ref(n->shard, at, to, n->ev_arrive, d, blob, blob + bytes)
                       : ms_shard_send(n->shard, at, to, n->ev_arrive, d, blob + len);
    if (w) {
        memcpy(w, &hdr, sizeof hdr);
        w += sizeof hdr;
        memcpy(w, &tag_len, sizeof tag_len);
        w += sizeof tag_len;
        if (tag_len)
            memcpy(w, tag, tag_len);
        w += tag_len;
        if (len)
            memcpy(w, payload, len);
        if (by_ref)
            sp->payload = NULL; /* the receiving part's now */
        if (tag)
            tag_set_named(n, part, hdr.message);
    }
    slot_free(n, s);
}

static void
import_packet(gpointer user_data, MsShardEvent *ev, const guint8 *blob, gsize len)
{
    MsNet *n = user_data;
    MsPacket p;
    guint16 tag_len;
    g_return_if_fail(len >= sizeof p + sizeof tag_len);
    memcpy(&p, blob, sizeof p);
    memcpy(&tag_len, blob + sizeof p, sizeof tag_len);
    gsize off = sizeof p + sizeof tag_len + tag_len;
    g_return_if_fail(len >= off);
    /* By reference (in process) the payload's GBytes came along; else its
     * bytes did. */
    if (!(ev->flags & MS_SHARD_EVENT_REF))
        p.payload = p.payload ? g_bytes_new(blob + off, len - off) : NULL;
    guint32 theirs = p.message;
    p.message = 0;
    if (theirs && n->tag_in) {
        GArray *map = n->tag_from[ms_partition_owner(ms_shard_partition(n->shard), ev->src)];
        if (tag_len) {
            g_autofree char *tag =
                g_strndup((const char *) blob + sizeof p + sizeof tag_len, tag_len);
            p.message = n->tag_in(n->tag_data, tag);
            if (theirs >= map->len)
                g_array_set_size(map, MAX(theirs + 1, 2 * map->len));
            g_array_index(map, guint32, theirs) = p.message + 1;
        } else if (theirs < map->len && g_array_index(map, guint32, theirs)) {
            p.message = g_array_index(map, guint32, theirs) - 1;
        } else {
            g_critical("net: a packet's tag %u from another part was never named", theirs);
        }
    }
    ev->data.u32[0] = slot_alloc(n, &p);
}

void
ms_net_set_tag_codec(MsNet *n, MsNetTagOutFunc out, MsNetTagInFunc in, gpointer user_data)
{
    n->tag_out = out;
    n->tag_in = in;
    n->tag_data = user_data;
}

static void
tag_tables_free(MsNet *n)
{
    for (guint32 i = 0; i < n->tag_parts; i++) {
        g_byte_array_unref(n->tag_named[i]);
        g_array_unref(n->tag_from[i]);
    }
    g_clear_pointer(&n->tag_named, g_free);
    g_clear_pointer(&n->tag_from, g_free);
    n->tag_parts = 0;
}

void
ms_net_attach_shard(MsNet *n, MsShard *shard)
{
    tag_tables_free(n);
    n->shard = shard;
    ms_shard_set_import(shard, n->ev_arrive, import_packet, n);
    n->tag_parts = ms_shard_parts(shard);
    n->tag_named = g_new(GByteArray *, n->tag_parts);
    n->tag_from = g_new(GArray *, n->tag_parts);
    for (guint32 i = 0; i < n->tag_parts; i++) {
        n->tag_named[i] = g_byte_array_new();
        n->tag_from[i] = g_array_new(FALSE, TRUE, sizeof(guint32));
    }
}

gboolean
ms_net_is_local(const MsNet *n, MsHostId host)
{
    g_return_val_if_fail(HOST_OK(n, host), FALSE);
    return n->shard == NULL || ms_shard_is_local(n->shard, host);
}

/* Puts the packet in slot s on the next link from host `from`. */
static gboolean
transmit(MsNet *n, MsHostId from, guint32 s)
{
    MsPacket *p = &g_array_index(n->slots, MsNetSlot, s).pkt;
    guint32 li = ms__net_next_link(n, from, p->dst);
    if (li == NO_LINK) {
        drop(n, s, from, MS_DROP_NO_ROUTE);
        return FALSE;
    }
    MsNetLink *l = link_at(n, li);
    MsNetLinkState *ls = link_state(n, l);
    int dir = l->a == from ? 0 : 1;
    MsHostId to = dir == 0 ? l->b : l->a;
    MsTime now = ms_engine_now(n->engine);
    MsTime start = MAX(now, ls->busy_until[dir]);
    /* Bytes waiting ahead of this packet, from the time the link stays busy. */
    guint64 waiting = (guint64) ((double) (start - now) * (double) l->p.bandwidth_bps / 8e9);
    if (waiting + p->size > l->p.queue_bytes && start > now) {
        ls->st.drops_queue++;
        drop(n, s, from, MS_DROP_QUEUE_FULL);
        return FALSE;
    }
    MsTime tx = link_account(n, li, dir, p, start);
    ls->busy_until[dir] = start + tx;
    trace_send(n, start, from, to, p, li);
    if ((G_UNLIKELY(n->loss_hook != NULL) && n->loss_hook(n, li, from, p, n->loss_hook_data)) ||
        (l->p.loss > 0 && ms_rng_bernoulli(ms_engine_host_rng(n->engine, from), l->p.loss))) {
        ls->st.drops_loss++;
        drop(n, s, from, MS_DROP_LOSS);
        return TRUE; /* it left the host; the link lost it */
    }
    MsEventData d = { { 0 } };
    d.u32[0] = s;
    d.u32[1] = li;
    d.u32[2] = l->epoch;
    if (G_UNLIKELY(n->shard != NULL) && !ms_shard_is_local(n->shard, to)) {
        export_packet(n, s, ls->busy_until[dir] + l->p.latency, to, d);
        return TRUE;
    }
    ms_engine_schedule(n->engine, ls->busy_until[dir] + l->p.latency, to, n->ev_arrive, d);
    return TRUE;
}

/* Express: the packet in slot s crosses its whole path now, as a chain of
 * store-and-forward hops computed here; one arrival event at the end. */
static gboolean
express(MsNet *n, MsHostId from, guint32 s)
{
    MsPacket *p = &g_array_index(n->slots, MsNetSlot, s).pkt;
    MsTime t = ms_engine_now(n->engine);
    MsHostId at = from;
    guint32 li = NO_LINK;
    guint hops = 0;
    /* With the trees in use, the path comes from one walk (as far as a
     * route goes); else from a look-up per hop. */
    guint walked; /* links of the walk, read from n->steps */
    gboolean walk = ms__net_route_walk(n, from, p->dst, &walked);
    while (at != p->dst) {
        if (walk)
            li = hops < walked ? n->steps[hops] : NO_LINK;
        else
            li = ms__net_next_link(n, at, p->dst);
        if (li == NO_LINK) {
            drop(n, s, at, MS_DROP_NO_ROUTE);
            return hops > 0;
        }
        if (hops > 0 && --p->ttl == 0) {
            drop(n, s, at, MS_DROP_TTL);
            return TRUE;
        }
        if (hops > 0)
            n->stats.forwarded++;
        MsNetLink *l = link_at(n, li);
        int dir = l->a == at ? 0 : 1;
        MsHostId to = dir == 0 ? l->b : l->a;
        /* No queueing: the times at which the packet reaches later hops lie
         * in the future, and a link's busy_until, set by packets computed
         * earlier for their own future times, says nothing about who is
         * ahead then (datagrams are small; a queue would be a guess). */
        MsTime start = t;
        MsTime tx = link_account(n, li, dir, p, start);
        if (hops == 0)
            trace_send(n, start, at, to, p, li);
        /* Drawn from the sender's stream: the hosts further on may run on
         * other ranks of a distributed run. */
        if (l->p.loss > 0 && ms_rng_bernoulli(ms_engine_host_rng(n->engine, from), l->p.loss)) {
            link_state(n, l)->st.drops_loss++; /* made by link_account() */
            drop(n, s, at, MS_DROP_LOSS);
            return TRUE;
        }
        t = start + tx + l->p.latency;
        at = to;
        hops++;
    }
    MsEventData d = { { 0 } };
    d.u32[0] = s;
    d.u32[1] = li;
    d.u32[2] = link_at(n, li)->epoch;
    if (G_UNLIKELY(n->shard != NULL) && !ms_shard_is_local(n->shard, p->dst)) {
        export_packet(n, s, t, p->dst, d); /* t is at least one cut link's latency away */
        return TRUE;
    }
    ms_engine_schedule(n->engine, t, p->dst, n->ev_arrive, d);
    return TRUE;
}

static void
on_arrive(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsNet *n = user_data;
    (void) engine;
    guint32 s = ev->data.u32[0];
    MsNetLink *l = link_at(n, ev->data.u32[1]);
    MsHostId at = ev->host;
    if (l->epoch != ev->data.u32[2]) {
        link_state(n, l)->st.drops_down++;
        drop(n, s, at, MS_DROP_LINK_DOWN);
        return;
    }
    if (!host_at(n, at)->up) {
        drop(n, s, at, MS_DROP_HOST_DOWN);
        return;
    }
    MsPacket *p = &g_array_index(n->slots, MsNetSlot, s).pkt;
    if (p->dst == at) {
        n->stats.delivered++;
        if (ms_trace_enabled(n->trace)) {
            MsTraceRecord r = { 0 };
            r.at = ev->at;
            r.kind = MS_TRACE_PACKET_DELIVER;
            r.host = at;
            r.peer = p->src;
            r.packet = p;
            r.message = p->message;
            ms_trace_emit(n->trace, &r);
        }
        MsNetReceiver *rc = p->proto == MS_IPPROTO_TCP ? &n->recv_tcp : &n->recv_udp;
        if (rc->func) {
            /* The receiver may send (and so grow the slot array): hand it a
             * copy of the header, and free the slot after. */
            MsPacket copy = *p;
            rc->func(n, at, &copy, rc->user_data);
        }
        slot_free(n, s);
        return;
    }
    if (--p->ttl == 0) {
        drop(n, s, at, MS_DROP_TTL);
        return;
    }
    n->stats.forwarded++;
    transmit(n, at, s);
}

void
ms_net_set_loss_hook(MsNet *n, MsNetLossFunc func, gpointer user_data)
{
    g_return_if_fail(n != NULL);
    n->loss_hook = func;
    n->loss_hook_data = user_data;
}

gboolean
ms_net_send(MsNet *n, MsHostId from, MsPacket *p)
{
    MsNetHost *h = host_at(n, from);
    p->src = from;
    p->src_addr = h->addr;
    p->dst = ms_net_host_by_addr(n, p->dst_addr);
    p->ttl = p->ttl ? p->ttl : MS_DEFAULT_TTL;
    p->ip_id = h->ip_id++;
    gsize len = p->payload ? g_bytes_get_size(p->payload) : 0;
    p->size = (guint32) (MS_IPV4_HEADER + len +
                         (p->proto == MS_IPPROTO_TCP
                              ? MS_TCP_HEADER +
                                    ms_tcp_wire_options_len(p->mss != 0, p->sack_perm, p->n_sack)
                              : MS_UDP_HEADER));
    guint32 s = slot_alloc(n, p);
    p->payload = NULL; /* ownership moved into the slot */
    n->stats.sent++;
    if (!h->up) {
        drop(n, s, from, MS_DROP_HOST_DOWN);
        return FALSE;
    }
    MsHostId dst = g_array_index(n->slots, MsNetSlot, s).pkt.dst;
    if (dst == NO_HOST) {
        drop(n, s, from, MS_DROP_NO_ROUTE);
        return FALSE;
    }
    if (n->express && dst != from)
        return express(n, from, s);
    return transmit(n, from, s);
}

void
ms_net_set_receiver(MsNet *n, guint8 proto, MsNetReceiveFunc func, gpointer user_data)
{
    MsNetReceiver r = { func, user_data };
    if (proto == MS_IPPROTO_TCP)
        n->recv_tcp = r;
    else
        n->recv_udp = r;
}

/* --- UDP --------------------------------------------------------------- */

gboolean
ms__net_udp_bound(MsNet *n, MsHostId host, guint16 port)
{
    MsNetHost *h = host_at(n, host);
    for (guint i = 0; h->udp && i < h->udp->len; i++)
        if (g_array_index(h->udp, MsNetUdpBinding, i).port == port)
            return TRUE;
    return FALSE;
}

gboolean
ms_udp_bind(MsNet *n, MsHostId host, guint16 port, MsUdpReceiveFunc func, gpointer user_data)
{
    g_return_val_if_fail(HOST_OK(n, host) && func != NULL, FALSE);
    if (ms__net_udp_bound(n, host, port))
        return FALSE;
    MsNetHost *h = host_at(n, host);
    MsNetUdpBinding b = { port, func, user_data };
    if (!h->udp)
        h->udp = g_array_new(FALSE, FALSE, sizeof(MsNetUdpBinding));
    g_array_append_val(h->udp, b);
    return TRUE;
}

void
ms_udp_unbind(MsNet *n, MsHostId host, guint16 port)
{
    g_return_if_fail(HOST_OK(n, host));
    MsNetHost *h = host_at(n, host);
    for (guint i = 0; h->udp && i < h->udp->len; i++)
        if (g_array_index(h->udp, MsNetUdpBinding, i).port == port) {
            g_array_remove_index_fast(h->udp, i);
            return;
        }
}

gboolean
ms_udp_send(MsNet *n, MsHostId host, guint16 sport, guint32 dst_addr, guint16 dport,
            GBytes *payload)
{
    MsPacket p = { 0 };
    p.proto = MS_IPPROTO_UDP;
    p.sport = sport;
    p.dport = dport;
    p.dst_addr = dst_addr;
    p.payload = payload ? g_bytes_ref(payload) : NULL;
    return ms_net_send(n, host, &p);
}

static void
udp_receive(MsNet *n, MsHostId host, const MsPacket *p, gpointer user_data)
{
    (void) user_data;
    MsNetHost *h = host_at(n, host);
    for (guint i = 0; h->udp && i < h->udp->len; i++) {
        MsNetUdpBinding *b = &g_array_index(h->udp, MsNetUdpBinding, i);
        if (b->port == p->dport) {
            /* Copy what we need: the callback may bind or unbind ports. */
            MsNetUdpBinding bb = *b;
            g_autoptr(GBytes) payload = p->payload ? g_bytes_ref(p->payload) : g_bytes_new(NULL, 0);
            bb.func(n, host, p->dport, p->src_addr, p->sport, payload, bb.user_data);
            return;
        }
    }
    n->stats.drops[MS_DROP_NO_LISTENER]++;
}

/* --- addresses --------------------------------------------------------- */

char *
ms_ipv4_format(guint32 a, char out[MS_IPV4_STRLEN])
{
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        guint v = (a >> shift) & 255;
        if (v >= 100)
            *p++ = (char) ('0' + v / 100);
        if (v >= 10)
            *p++ = (char) ('0' + v / 10 % 10);
        *p++ = (char) ('0' + v % 10);
        *p++ = shift ? '.' : '\0';
    }
    return out;
}

char *
ms_ipv4_to_string(guint32 a)
{
    char buf[MS_IPV4_STRLEN];
    return g_strdup(ms_ipv4_format(a, buf));
}

/* The program's one reader of dotted quads (the scenario loader calls it;
 * the bridge's real socket addresses go through GIO). Strict, as
 * inet_pton(): four parts of 1 to 3 decimal digits, each 0 to 255, no
 * leading zero ("010" is 8 to inet_aton(), 10 to others: refused), no sign,
 * space or trailing text. */
gboolean
ms_ipv4_parse(const char *text, guint32 *out)
{
    g_return_val_if_fail(text != NULL && out != NULL, FALSE);
    guint32 v = 0;
    const char *p = text;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && *p++ != '.')
            return FALSE;
        if (!g_ascii_isdigit(*p) || (p[0] == '0' && g_ascii_isdigit(p[1])))
            return FALSE;
        guint part = 0;
        int digits = 0;
        while (g_ascii_isdigit(*p)) {
            part = part * 10 + (guint) (*p++ - '0');
            if (++digits > 3 || part > 255)
                return FALSE;
        }
        v = v << 8 | part;
    }
    if (*p)
        return FALSE;
    *out = v;
    return TRUE;
}
