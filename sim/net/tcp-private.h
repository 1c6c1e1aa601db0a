/* The two implementations of the stream transport behind include/mailsim/tcp.h:
 * TCP-lite at packet level (sim/net/tcp.c) and flows (sim/net/flow.c). An MsTcp
 * made by ms_tcp_new_flow() carries an MsFlow, and every public ms_tcp_*
 * function hands the call to it; apps cannot tell the two apart except by
 * timing and statistics. Not public. */
#pragma once

#include "mailsim/tcp.h"

typedef struct _MsFlow MsFlow;

/* A flow transport on `net` whose callbacks are given `owner` as their
 * MsTcp. Returns a new object (the owner frees it with ms__flow_free). */
MsFlow *ms__flow_new(MsTcp *owner, MsNet *net);
void ms__flow_free(MsFlow *flow);

gboolean ms__flow_listen(MsFlow *flow, MsHostId host, guint16 port, const MsTcpCallbacks *callbacks,
                         gpointer user_data);
void ms__flow_unlisten(MsFlow *flow, MsHostId host, guint16 port);
MsTcpConnId ms__flow_connect(MsFlow *flow, MsHostId host, guint32 dst_addr, guint16 dport,
                             const MsTcpCallbacks *callbacks, gpointer user_data);
void ms__flow_set_callbacks(MsFlow *flow, MsTcpConnId conn, const MsTcpCallbacks *callbacks, gpointer user_data);
void ms__flow_send(MsFlow *flow, MsTcpConnId conn, const guint8 *data, gsize len);
void ms__flow_send_bytes(MsFlow *flow, MsTcpConnId conn, GBytes *bytes);
void ms__flow_close(MsFlow *flow, MsTcpConnId conn);
void ms__flow_set_message(MsFlow *flow, MsTcpConnId conn, guint32 message);
MsHostId ms__flow_conn_host(MsFlow *flow, MsTcpConnId conn);
guint32 ms__flow_conn_peer_addr(MsFlow *flow, MsTcpConnId conn);
void ms__flow_get_stats(const MsFlow *flow, MsTcpStats *stats);
