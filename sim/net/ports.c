/* Ephemeral ports of the network layer (include/mailsim/net.h): which
 * local port a host's new TCP connection or UDP socket gets. tcp.c and
 * flow.c ask ms_net_connect_port() when a connection opens; the DNS
 * resolver asks ms_net_ephemeral_port() for each query's socket.
 *
 * Design. Both follow what Linux does today, so that a capture of a run
 * looks like a real one and an off-path attacker could not guess the next
 * port (RFC 6056 1, RFC 5452 9.2):
 *   - the range is Linux's net.ipv4.ip_local_port_range default, 32768 to
 *     60999 (RFC 6056 3.2 recommends 1024-65535; Linux keeps the upper part
 *     free for servers);
 *   - a connection's port comes from RFC 6056 3.3.4, Algorithm 4 "double-
 *     hash port selection", as Linux's __inet_hash_connect() does it: a
 *     keyed hash F of (local address, remote address, remote port) gives an
 *     offset into the range and an index into a table of perturbation
 *     counters; ports of even parity are tried first from the offset (odd
 *     ones are left to bind()); a port is taken when no connection of the
 *     host uses the same four-tuple; the counter then advances by the ports
 *     scanned plus 2, or by a random even number below 16 if that is more
 *     (Linux 5.18's answer to counter-guessing attacks);
 *   - a UDP socket's port comes from RFC 6056 3.3.1, Algorithm 1 "simple
 *     port randomization", as Linux's udp_lib_get_port() does for a bind to
 *     port 0: a random start, then the first port not bound on the host.
 *
 * Randomness: the per-host secret of F (Linux's net_secret, drawn once per
 * boot) is drawn from the host's random stream (ms_engine_host_rng) when
 * the host first connects; every connection draws its counter increment and
 * every UDP socket its start from the same stream. Packet and flow level
 * both call here, so they draw alike and pick the same ports, and the same
 * seed gives the same capture. F is a seeded xoshiro draw, not Linux's
 * SipHash: nobody attacks a simulation, but the ports spread as real ones.
 *
 * Costs: a connection costs one hash, one table look-up and, when the
 * caller's in-use test says no, one more test per port scanned (a host
 * connecting to one peer scans only past its own live connections); a UDP
 * port costs a scan of the host's few bindings per port tried. Memory: the
 * perturbation table is sparse (a hash of the counters used; Linux keeps
 * 65536 of them), allocated on a host's first connection. */
#include "net-private.h"

#define PORT_LOW      32768 /* net.ipv4.ip_local_port_range = "32768 60999" */
#define PORT_HIGH     60999
#define PORT_RANGE    (PORT_HIGH + 1 - PORT_LOW) /* 28232: even, as Linux makes it */
#define PERTURB_SHIFT 16                         /* Linux INET_TABLE_PERTURB_SHIFT (5.18) */

struct _MsNetPorts {
    guint64 secret;
    GHashTable *perturb; /* index -> counter (as pointer); look-ups only */
};

void
ms__net_ports_free(MsNetPorts *p)
{
    if (!p)
        return;
    g_hash_table_destroy(p->perturb);
    g_free(p);
}

static MsNetPorts *
ports_of(MsNet *n, MsHostId host)
{
    MsNetHost *h = host_at(n, host);
    if (!h->ports) {
        h->ports = g_new0(MsNetPorts, 1);
        h->ports->secret = ms_rng_next(ms_engine_host_rng(n->engine, host));
        h->ports->perturb = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    return h->ports;
}

/* RFC 6056 3.3.4's F(local_IP, remote_IP, remote_port, secret_key): the
 * first draw of a random stream seeded from the key and the three values
 * (ms_rng_init mixes them through splitmix64: every input bit moves every
 * output bit). */
static guint64
port_hash(guint64 secret, guint32 laddr, guint32 raddr, guint16 rport)
{
    MsRng h;
    ms_rng_init(&h, secret ^ ((guint64) raddr << 16 | rport), laddr);
    return ms_rng_next(&h);
}

guint16
ms_net_connect_port(MsNet *n, MsHostId host, guint32 raddr, guint16 rport,
                    MsNetPortInUseFunc in_use, gpointer user_data)
{
    g_return_val_if_fail(HOST_OK(n, host), 0);
    MsNetPorts *ps = ports_of(n, host);
    guint64 offset_hash = port_hash(ps->secret, host_at(n, host)->addr, raddr, rport);
    gpointer index = GUINT_TO_POINTER((guint) (offset_hash & ((1u << PERTURB_SHIFT) - 1)));
    guint32 counter = GPOINTER_TO_UINT(g_hash_table_lookup(ps->perturb, index));
    guint32 offset = (guint32) ((counter + (offset_hash >> 32)) % PORT_RANGE);
    offset &= ~1u; /* the first pass tries ports of even parity */
    for (;;) {
        guint32 port = PORT_LOW + offset;
        for (guint32 i = 0; i < PORT_RANGE; i += 2, port += 2) {
            if (port > PORT_HIGH)
                port -= PORT_RANGE;
            if (in_use && in_use((guint16) port, user_data))
                continue;
            /* One draw whatever the scan found (MAX would evaluate it twice). */
            guint32 jump = 2 * (guint32) ms_rng_below(ms_engine_host_rng(n->engine, host), 8);
            guint32 step = MAX(i, jump);
            g_hash_table_insert(ps->perturb, index, GUINT_TO_POINTER(counter + step + 2));
            return (guint16) port;
        }
        if (offset & 1)
            return 0; /* both parities full: EADDRNOTAVAIL */
        offset++;
    }
}

guint16
ms_net_ephemeral_port(MsNet *n, MsHostId host)
{
    g_return_val_if_fail(HOST_OK(n, host), 0);
    guint32 port =
        PORT_LOW + (guint32) ms_rng_below(ms_engine_host_rng(n->engine, host), PORT_RANGE);
    for (guint32 count = 0; count < PORT_RANGE; count++) {
        if (!ms__net_udp_bound(n, host, (guint16) port))
            return (guint16) port;
        port = port == PORT_HIGH ? PORT_LOW : port + 1;
    }
    return 0;
}
