/* The transfer benchmark (see include/mailsim/bench_transfer.h): one TCP
 * transfer at packet level over one link, with the loss pattern chosen
 * segment by segment, so that tools/ns3/transfer.cc can run the very same
 * transfer in ns-3 and `make bench-tcp` can set the two side by side.
 *
 * Design. Two hosts, a (sender) and b (receiver), one link of the given
 * bandwidth and delay, MTU mss + 40 (so TCP-lite's MSS, taken from the path
 * MTU, is mss), a drop-tail queue far larger than any window (64 KiB
 * without window scaling), so that only the chosen losses lose packets.
 * Everything about the a -> b direction is decided and counted in the
 * network's loss hook (ms_net_set_loss_hook), which sees each packet as it
 * leaves a: it learns the initial sequence number from the SYN, numbers the
 * data segments that start at new data (1, 2, ...), drops those on the drop
 * list, and draws the random loss from the benchmark's own stream (so a
 * drop list and a loss rate combine without one moving the other). ACKs
 * from b are never lost: tools/ns3/transfer.cc can only drop what reaches
 * b's device. The run stops when b's app has all N bytes.
 *
 * Costs: the whole transfer at packet level, one hook call per packet from
 * a; the N bytes are sent from one zeroed buffer. Ownership: the result's
 * array is the caller's (ms_bench_transfer_result_clear). */
#include "mailsim/bench_transfer.h"
#include "mailsim/net.h"
#include "mailsim/rng.h"
#include "mailsim/tcp.h"

G_DEFINE_QUARK(ms - bench - transfer - error - quark, ms_bench_transfer_error)

#define TRANSFER_PORT 5001 /* iperf's, for a capture reader's sake */
#define QUEUE_BYTES   (64u << 20)

typedef struct {
    const MsBenchTransferParams *p;
    MsBenchTransferResult *r;
    MsEngine *engine;
    MsHostId a, b;
    MsRng rng;         /* random loss, a -> b */
    gboolean have_iss; /* the SYN went out */
    guint32 iss;       /* a's initial sequence number */
    guint64 max_end;   /* highest stream offset sent so far, + 1 */
    guint64 ordinal;   /* data segments that started at new data so far */
    guint next_drop;   /* index into p->drops */
    guint64 got;       /* bytes b's app received */
    guint8 *data;      /* the N bytes a sends */
} Transfer;

static gboolean
on_link(MsNet *net, guint32 link, MsHostId from, const MsPacket *pkt, gpointer user_data)
{
    Transfer *x = user_data;
    (void) net;
    (void) link;
    if (from != x->a || pkt->proto != MS_IPPROTO_TCP)
        return FALSE;
    if (pkt->flags & MS_TCP_SYN) {
        x->iss = pkt->seq;
        x->have_iss = TRUE;
    }
    gsize len = pkt->payload ? g_bytes_get_size(pkt->payload) : 0;
    gboolean lost = FALSE;
    guint64 off = 0;
    if (len > 0 && x->have_iss) {
        off = (guint32) (pkt->seq - x->iss - 1); /* N < 2^31: no wrap */
        x->r->data_segments++;
        if (off < x->max_end) {
            x->r->retransmitted++;
        } else {
            x->ordinal++;
            if (x->next_drop < x->p->n_drops && x->p->drops[x->next_drop] == x->ordinal) {
                x->next_drop++;
                lost = TRUE;
            }
        }
        x->max_end = MAX(x->max_end, off + len);
    }
    if (!lost && x->p->loss > 0 && ms_rng_bernoulli(&x->rng, x->p->loss))
        lost = TRUE;
    if (lost && len > 0) {
        x->r->dropped++;
        g_array_append_val(x->r->dropped_offsets, off);
    }
    return lost;
}

static void
on_connected(MsTcp *tcp, MsTcpConnId conn, gpointer user_data)
{
    Transfer *x = user_data;
    if (ms_tcp_conn_host(tcp, conn) != x->a)
        return; /* b accepted: nothing to do */
    ms_tcp_send(tcp, conn, x->data, x->p->bytes);
    ms_tcp_close(tcp, conn);
}

static void
on_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer user_data)
{
    Transfer *x = user_data;
    (void) tcp;
    (void) conn;
    (void) data;
    x->got += len;
    if (x->got >= x->p->bytes && !x->r->completed) {
        x->r->completed = TRUE;
        x->r->transfer_time = ms_engine_now(x->engine);
        ms_engine_stop(x->engine);
    }
}

static void
on_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason reason, gpointer user_data)
{
    (void) tcp;
    (void) conn;
    (void) reason;
    (void) user_data;
}

static const MsTcpCallbacks transfer_callbacks = { on_connected, on_data, on_closed };

void
ms_bench_transfer_run(const MsBenchTransferParams *p, MsBenchTransferResult *r)
{
    g_return_if_fail(p != NULL && r != NULL);
    g_return_if_fail(p->bytes > 0 && p->bytes < (1u << 31) && p->mss >= 28 && p->bandwidth_bps);
    *r = (MsBenchTransferResult){ 0 };
    r->dropped_offsets = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(MsEngine) engine = ms_engine_new(p->seed);
    g_autoptr(MsNet) net = ms_net_new(engine);
    g_autoptr(MsTcp) tcp = ms_tcp_new(net);
    Transfer x = { 0 };
    x.p = p;
    x.r = r;
    x.engine = engine;
    ms_rng_init_named(&x.rng, p->seed, "bench-transfer-loss");
    x.a = ms_net_add_host(net, "a", 0x0A000001u, MS_ROLE_CLIENT, NULL);
    x.b = ms_net_add_host(net, "b", 0x0A000002u, MS_ROLE_MAILSERVER, NULL);
    MsLinkParams lp = { p->delay, p->bandwidth_bps, p->mss + MS_IPV4_HEADER + MS_TCP_HEADER, 0.0,
                        QUEUE_BYTES };
    ms_net_add_link(net, x.a, x.b, &lp, NULL);
    /* SACK is used only when both ends offer it (RFC 2018). */
    ms_tcp_set_sack(tcp, x.a, p->sack);
    ms_tcp_set_sack(tcp, x.b, p->sack);
    ms_net_set_loss_hook(net, on_link, &x);
    x.data = g_malloc0(p->bytes);
    ms_tcp_listen(tcp, x.b, TRANSFER_PORT, &transfer_callbacks, &x);
    ms_tcp_connect(tcp, x.a, ms_net_host_addr(net, x.b), TRANSFER_PORT, &transfer_callbacks, &x);
    ms_engine_run(engine, p->end);
    if (!r->completed)
        r->transfer_time = p->end;
    g_free(x.data);
}

void
ms_bench_transfer_result_clear(MsBenchTransferResult *r)
{
    g_clear_pointer(&r->dropped_offsets, g_array_unref);
}

static gint
cmp_u64(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
    return x < y ? -1 : x > y;
}

GArray *
ms_bench_transfer_parse_drops(const char *text, GError **error)
{
    g_return_val_if_fail(text != NULL, NULL);
    g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    if (!parts[0]) {
        g_set_error(error, MS_BENCH_TRANSFER_ERROR, MS_BENCH_TRANSFER_ERROR_INVALID,
                    "empty: expected numbers from 1, separated by commas (e.g. 12,57,58)");
        return NULL;
    }
    for (guint i = 0; parts[i]; i++) {
        const char *s = parts[i];
        char *end = NULL;
        guint64 v = g_ascii_isdigit(s[0]) ? g_ascii_strtoull(s, &end, 10) : 0;
        if (!end || *end != '\0' || v == 0 || v > G_MAXUINT32) {
            g_set_error(error, MS_BENCH_TRANSFER_ERROR, MS_BENCH_TRANSFER_ERROR_INVALID,
                        "'%s' is not a segment number: expected numbers from 1, separated by "
                        "commas (e.g. 12,57,58)",
                        s);
            return NULL;
        }
        g_array_append_val(out, v);
    }
    g_array_sort(out, cmp_u64);
    guint w = 0;
    for (guint i = 0; i < out->len; i++)
        if (w == 0 || g_array_index(out, guint64, i) != g_array_index(out, guint64, w - 1))
            g_array_index(out, guint64, w++) = g_array_index(out, guint64, i);
    g_array_set_size(out, w);
    return g_steal_pointer(&out);
}
