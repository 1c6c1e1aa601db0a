/* The two implementations of the stream transport behind include/mailsim/tcp.h:
 * TCP-lite at packet level (sim/net/tcp.c) and flows (sim/net/flow.c). An MsTcp
 * made by ms_tcp_new_flow() carries an MsFlow, and every public ms_tcp_*
 * function but the listening ones hands the call to it (the listener table
 * below serves both); apps cannot tell the two apart except by timing and
 * statistics. Not public. */
#pragma once

#include "mailsim/tcp.h"

typedef struct _MsFlow MsFlow;

/* A listening port: the callbacks (borrowed) and data a connection accepted
 * on it gets. One table per MsTcp, kept by sim/net/tcp.c for both
 * fidelities (ms_tcp_listen() and ms_tcp_unlisten() fill it); the flow asks
 * it when a SYN reaches a host. */
typedef struct {
    const MsTcpCallbacks *cb;
    gpointer ud;
} MsTcpListener;

/* The listener on (host, port), or NULL. The record stays valid until that
 * port is unlistened. */
const MsTcpListener *ms__tcp_listener(const MsTcp *tcp, MsHostId host, guint16 port);

/* A flow transport on `net` whose callbacks are given `owner` as their
 * MsTcp. Returns a new object (the owner frees it with ms__flow_free). */
MsFlow *ms__flow_new(MsTcp *owner, MsNet *net);
void ms__flow_free(MsFlow *flow);

MsTcpConnId ms__flow_connect(MsFlow *flow, MsHostId host, guint32 dst_addr, guint16 dport,
                             const MsTcpCallbacks *callbacks, gpointer user_data);
void ms__flow_set_callbacks(MsFlow *flow, MsTcpConnId conn, const MsTcpCallbacks *callbacks,
                            gpointer user_data);
void ms__flow_send(MsFlow *flow, MsTcpConnId conn, const guint8 *data, gsize len);
void ms__flow_send_bytes(MsFlow *flow, MsTcpConnId conn, GBytes *bytes);
void ms__flow_close(MsFlow *flow, MsTcpConnId conn);
void ms__flow_abort(MsFlow *flow, MsTcpConnId conn);
void ms__flow_set_message(MsFlow *flow, MsTcpConnId conn, guint32 message);
MsHostId ms__flow_conn_host(MsFlow *flow, MsTcpConnId conn);
guint32 ms__flow_conn_peer_addr(MsFlow *flow, MsTcpConnId conn);
void ms__flow_get_stats(const MsFlow *flow, MsTcpStats *stats);
