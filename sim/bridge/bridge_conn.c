/* One real socket of the bridge (a client of the SMTP or POP3 listener, or
 * the relay's own connection to a real SMTP server): non-blocking reads and
 * writes driven by GSocket sources on the main context, an output queue of
 * GBytes, back-pressure and the idle and command timers.
 *
 * Design: a connection owns its GSocketConnection and calls its session
 * through a small class of callbacks. Sessions never free a connection:
 * they ask for conn_close (send what is queued, then close) or conn_abort.
 * A connection is freed only at the end of its own source dispatch (or by
 * the housekeeping timer, or at shutdown), so no callback ever runs on a
 * freed object.
 *
 * Back-pressure: above BRIDGE_OUT_HIGH octets of unsent output the
 * connection stops reading; a client that pipelines commands without
 * reading replies cannot make the bridge buffer without bound.
 *
 * Timers (checked every housekeeping tick, not one GSource per socket):
 * idle = no octet from the peer for idle_timeout_ms (RFC 5321 4.5.3.2.7);
 * command = input arrived but no reply for command_timeout_ms, which stops
 * a client that trickles one octet at a time from holding a slot forever.
 * Output: replies the session makes while it digests one read are queued
 * and written together by one sendmsg (up to FLUSH_IOV buffers): under a
 * pipelining load generator the bridge was spending half its time in one
 * send() per reply line.
 *
 * TLS: a session asks for it (conn_start_tls) after queueing its go-ahead;
 * the connection sends that in clear, stops reading, and runs GIO's
 * server handshake (g_tls_connection_handshake_async, which glib-networking
 * runs in a worker thread with blocking I/O on the socket). Octets the
 * client sent in clear after its STARTTLS are read by GnuTLS as handshake
 * records, so a ClientHello is all that can follow; anything else fails
 * the handshake. Then reads and writes go through the TLS connection's
 * pollable streams instead of the socket: one reply buffer, at most one
 * TLS record (16 KiB), per write, always retried with the same octets as
 * GnuTLS asks. A session below TLS 1.2 is refused after its handshake
 * (bridge_tls.c sets the floor GnuTLS enforces; this is the check). A
 * handshake still running after idle_timeout_ms is aborted. GnuTLS reads the
 * socket through a guard (bridge_tls_guard.c) that picks the certificate
 * by the ClientHello's server_name and ends the session when a client
 * asks for a TLS 1.2 renegotiation.
 * While a handshake runs its thread uses the socket: a connection freed
 * then (timeout, shutdown) cancels it and leaves the socket to the
 * handshake's completion, which closes it, so no descriptor is closed under
 * a thread that may still read it. A clean close sends TLS close_notify
 * from a worker thread (g_io_stream_close_async), with a socket timeout so
 * a peer that stopped reading cannot keep it; an abort closes the socket.
 * Costs: O(1) system calls per read; O(connections) per housekeeping tick;
 * under TLS one record per reply buffer. */
#include "bridge-private.h"

#include <string.h>

/* GnuTLS's largest record: a write never asks for more, so a retry after
 * G_IO_ERROR_WOULD_BLOCK repeats exactly the same octets. */
#define TLS_WRITE_MAX 16384u
/* A TLS read returns at most one record's plaintext; asking for more only
 * makes the TLS layer allocate (and the allocator page in) a larger
 * buffer for every read. */
#define TLS_READ_MAX 16384u
/* How long a clean TLS close may wait to send its close_notify. */
#define TLS_CLOSE_TIMEOUT_S 5

/* A handshake in flight; c is NULL once its connection was freed. Owns a
 * reference to the socket connection, for closing it at the end. */
struct _BridgeHandshake {
    BridgeConn *c;
    GSocketConnection *conn;
    GCancellable *cancel;
};

static gboolean on_readable(GSocket *sock, GIOCondition cond, gpointer ud);
static gboolean on_writable(GSocket *sock, GIOCondition cond, gpointer ud);
static gboolean on_readable_tls(GObject *stream, gpointer ud);
static gboolean on_writable_tls(GObject *stream, gpointer ud);
static void begin_handshake(BridgeConn *c);
static gboolean read_once(BridgeConn *c);

static void
start_reading(BridgeConn *c)
{
    if (c->in_src || c->closing || c->dead || c->tls_wanted || c->hs)
        return;
    if (c->tls) {
        c->in_src = g_pollable_input_stream_create_source(c->tin, NULL);
        g_source_set_callback(c->in_src, (GSourceFunc) (GCallback) on_readable_tls, c, NULL);
    } else {
        c->in_src = g_socket_create_source(c->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback(c->in_src, (GSourceFunc) (GCallback) on_readable, c, NULL);
    }
    g_source_attach(c->in_src, NULL);
}

/* A handshake ends: closes the socket of a connection freed meanwhile. */
static void
handshake_free(BridgeHandshake *hs)
{
    if (!hs->c)
        g_io_stream_close(G_IO_STREAM(hs->conn), NULL, NULL); /* the thread is done with it */
    g_object_unref(hs->conn);
    g_object_unref(hs->cancel);
    g_free(hs);
}

static void
on_closed(GObject *src, GAsyncResult *res, gpointer ud)
{
    (void) ud;
    g_io_stream_close_finish(G_IO_STREAM(src), res, NULL);
}

static void
stop_reading(BridgeConn *c)
{
    if (c->in_src) {
        g_source_destroy(c->in_src);
        g_clear_pointer(&c->in_src, g_source_unref);
    }
}

BridgeConn *
ms__bridge_conn_new(MsBridge *b, GSocketConnection *conn, const BridgeConnClass *klass,
                    gpointer session, gboolean counted)
{
    BridgeConn *c = g_new0(BridgeConn, 1);
    c->bridge = b;
    c->klass = klass;
    c->session = session;
    c->conn = g_object_ref(conn);
    c->sock = g_socket_connection_get_socket(conn);
    g_socket_set_blocking(c->sock, FALSE);
    g_queue_init(&c->out);
    c->counted = counted;
    if (counted)
        b->n_counted++;
    c->last_input_us = c->last_reply_us = g_get_monotonic_time();
    g_autoptr(GSocketAddress) sa = g_socket_get_remote_address(c->sock, NULL);
    if (sa && G_IS_INET_SOCKET_ADDRESS(sa)) {
        g_autofree char *ip =
            g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(sa)));
        g_strlcpy(c->peer, ip, sizeof c->peer);
    } else {
        g_strlcpy(c->peer, "unknown", sizeof c->peer);
    }
    c->link.data = c;
    g_queue_push_tail_link(&b->conns, &c->link);
    start_reading(c);
    return c;
}

void
ms__bridge_conn_free(BridgeConn *c)
{
    if (!c)
        return;
    MsBridge *b = c->bridge;
    stop_reading(c);
    if (c->out_src) {
        g_source_destroy(c->out_src);
        g_clear_pointer(&c->out_src, g_source_unref);
    }
    c->klass->destroy(c);
    g_queue_unlink(&b->conns, &c->link);
    if (c->counted)
        b->n_counted--;
    g_queue_clear_full(&c->out, (GDestroyNotify) g_bytes_unref);
    if (c->hs) {
        /* The handshake's thread may be using the socket: it closes it. */
        c->hs->c = NULL;
        g_cancellable_cancel(c->hs->cancel);
    } else if (c->tls && c->closing && c->out_bytes == 0) { /* a clean close */
        /* TLS 1.3 and 1.2 end with close_notify (RFC 8446 6.1). */
        g_socket_set_timeout(c->sock, TLS_CLOSE_TIMEOUT_S);
        g_io_stream_close_async(G_IO_STREAM(c->tls), G_PRIORITY_DEFAULT, NULL, on_closed, NULL);
    } else {
        g_socket_close(c->sock, NULL);
    }
    g_clear_object(&c->tls);
    g_object_unref(c->conn);
    g_free(c);
}

/* Frees a connection that is done, unless one of its callbacks is running
 * (then the dispatch frees it on the way out). Returns TRUE when freed. */
static gboolean
finish_if_done(BridgeConn *c)
{
    if (!c->dead && c->closing && c->out_bytes == 0)
        c->dead = TRUE;
    if (c->dead && !c->in_dispatch) {
        ms__bridge_conn_free(c);
        return TRUE;
    }
    return FALSE;
}

/* Takes w sent octets off the head of the output queue. */
static void
consume(BridgeConn *c, gsize w)
{
    while (w > 0) {
        gsize n = g_bytes_get_size(g_queue_peek_head(&c->out)) - c->out_off;
        gsize k = MIN(n, w);
        c->out_off += k;
        c->out_bytes -= k;
        w -= k;
        if (k == n) {
            g_bytes_unref(g_queue_pop_head(&c->out));
            c->out_off = 0;
        }
    }
}

static void
watch_writable(BridgeConn *c)
{
    if (c->tls) {
        c->out_src = g_pollable_output_stream_create_source(c->tout, NULL);
        g_source_set_callback(c->out_src, (GSourceFunc) (GCallback) on_writable_tls, c, NULL);
    } else {
        c->out_src = g_socket_create_source(c->sock, G_IO_OUT | G_IO_HUP | G_IO_ERR, NULL);
        g_source_set_callback(c->out_src, (GSourceFunc) (GCallback) on_writable, c, NULL);
    }
    g_source_attach(c->out_src, NULL);
}

/* flush() under TLS: the head buffer, one record at a time. */
static gboolean
flush_tls(BridgeConn *c)
{
    while (!g_queue_is_empty(&c->out)) {
        gsize len;
        const guint8 *d = g_bytes_get_data(g_queue_peek_head(&c->out), &len);
        gsize n = MIN(len - c->out_off, TLS_WRITE_MAX);
        g_autoptr(GError) err = NULL;
        gssize w =
            g_pollable_output_stream_write_nonblocking(c->tout, d + c->out_off, n, NULL, &err);
        if (w < 0) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                break;
            return FALSE;
        }
        consume(c, (gsize) w);
    }
    return TRUE;
}

/* Writes as much as the socket takes now, up to FLUSH_IOV queued buffers
 * per sendmsg (a pipelined burst of replies is one system call, not one
 * per reply). FALSE when the socket failed. */
static gboolean
flush(BridgeConn *c)
{
    if (c->tls) {
        if (!flush_tls(c))
            return FALSE;
        if (!g_queue_is_empty(&c->out) && !c->out_src)
            watch_writable(c);
        return TRUE;
    }
    while (!g_queue_is_empty(&c->out)) {
        GOutputVector v[FLUSH_IOV];
        guint n = 0;
        gsize total = 0;
        for (GList *l = c->out.head; l && n < FLUSH_IOV; l = l->next, n++) {
            gsize len;
            const guint8 *d = g_bytes_get_data(l->data, &len);
            gsize off = n == 0 ? c->out_off : 0;
            v[n].buffer = d + off;
            v[n].size = len - off;
            total += len - off;
        }
        g_autoptr(GError) err = NULL;
        gssize w = g_socket_send_message(c->sock, NULL, v, (gint) n, NULL, 0, 0, NULL, &err);
        if (w < 0) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                break;
            return FALSE;
        }
        consume(c, (gsize) w);
        if ((gsize) w < total)
            break; /* the socket is full: wait for G_IO_OUT */
    }
    if (!g_queue_is_empty(&c->out) && !c->out_src)
        watch_writable(c);
    return TRUE;
}

static void
after_output_change(BridgeConn *c)
{
    if (c->out_bytes > BRIDGE_OUT_HIGH)
        stop_reading(c);
    else if (c->out_bytes < BRIDGE_OUT_LOW && !c->closing)
        start_reading(c);
}

void
ms__bridge_conn_send(BridgeConn *c, GBytes *data)
{
    if (c->dead || !data || g_bytes_get_size(data) == 0)
        return;
    c->last_reply_us = g_get_monotonic_time();
    c->out_bytes += g_bytes_get_size(data);
    g_queue_push_tail(&c->out, g_bytes_ref(data));
    /* While the session digests input, replies gather: one flush after. */
    if (!c->batching && !c->out_src && !flush(c)) {
        c->dead = TRUE;
        return;
    }
    after_output_change(c);
}

void
ms__bridge_conn_send_str(BridgeConn *c, const char *text)
{
    g_autoptr(GBytes) b = g_bytes_new(text, strlen(text));
    ms__bridge_conn_send(c, b);
}

void
ms__bridge_conn_close(BridgeConn *c)
{
    c->closing = TRUE;
    stop_reading(c);
    finish_if_done(c);
}

void
ms__bridge_conn_abort(BridgeConn *c)
{
    c->dead = TRUE;
    stop_reading(c);
    finish_if_done(c);
}

/* A refused connection has no session: nothing to free. */
static void
refused_destroy(BridgeConn *c)
{
    (void) c;
}

static const BridgeConnClass refused_class = { NULL, NULL, NULL, NULL, refused_destroy, NULL };

gboolean
ms__bridge_conn_refuse_if_full(MsBridge *b, GSocketConnection *conn, const char *line)
{
    if (b->n_counted < b->cfg.max_connections)
        return FALSE;
    b->stats.refused++;
    BridgeConn *c = ms__bridge_conn_new(b, conn, &refused_class, NULL, FALSE);
    ms__bridge_conn_send_str(c, line);
    ms__bridge_conn_close(c);
    return TRUE;
}

gboolean
ms__bridge_conn_output_full(const BridgeConn *c)
{
    return c->out_bytes > BRIDGE_OUT_HIGH;
}

/* Starts the handshake once asked for and the clear-text output is out. */
static void
maybe_begin_handshake(BridgeConn *c)
{
    if (c->tls_wanted && c->out_bytes == 0 && !c->dead && !c->closing && !c->hs)
        begin_handshake(c);
}

void
ms__bridge_conn_start_tls(BridgeConn *c)
{
    if (c->dead || c->closing || c->tls || c->hs)
        return;
    c->tls_wanted = TRUE;
    stop_reading(c);
    if (!c->in_dispatch)
        maybe_begin_handshake(c);
}

static void
on_handshake(GObject *src, GAsyncResult *res, gpointer ud)
{
    BridgeHandshake *hs = ud;
    g_autoptr(GError) err = NULL;
    gboolean ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(src), res, &err);
    BridgeConn *c = hs->c;
    if (!c) {
        handshake_free(hs);
        return;
    }
    c->hs = NULL;
    handshake_free(hs);
    MsBridge *b = c->bridge;
    if (ok) {
        /* RFC 8314 4.1, RFC 8996: nothing older than TLS 1.2. */
        GTlsProtocolVersion v = g_tls_connection_get_protocol_version(c->tls);
        ok = v == G_TLS_PROTOCOL_VERSION_TLS_1_2 || v == G_TLS_PROTOCOL_VERSION_TLS_1_3;
    }
    if (ok) {
        ms__bridge_tls_guard_arm(c->tls);
        b->stats.tls_sessions++;
        c->tin = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(G_IO_STREAM(c->tls)));
        c->tout = G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(G_IO_STREAM(c->tls)));
        c->last_input_us = c->last_reply_us = g_get_monotonic_time();
    } else {
        b->stats.tls_failed++;
    }
    c->in_dispatch = TRUE;
    c->batching = TRUE;
    c->klass->tls_done(c, ok);
    c->batching = FALSE;
    if (!ok) {
        c->dead = TRUE;
    } else if (!c->dead) {
        if (!c->out_src && !g_queue_is_empty(&c->out) && !flush(c))
            c->dead = TRUE;
        else
            after_output_change(c);
        /* The handshake may have taken the client's first records too. */
        for (guint k = 0; c->in_src && !c->dead && !c->closing && k < 256 && read_once(c); k++)
            ;
    }
    c->in_dispatch = FALSE;
    finish_if_done(c);
}

static void
begin_handshake(BridgeConn *c)
{
    MsBridge *b = c->bridge;
    c->tls_wanted = FALSE;
    g_autoptr(GError) err = NULL;
    /* The guard under GnuTLS picks the certificate by SNI and refuses
     * renegotiation (bridge_tls_guard.c). */
    g_autoptr(GIOStream) guarded = ms__bridge_tls_guard_new(G_IO_STREAM(c->conn), b->tls_certs);
    GIOStream *t = g_tls_server_connection_new(guarded, b->tls_cert, &err);
    if (!t) {
        g_printerr("mailsim bridge: TLS: %s\n", err->message);
        b->stats.tls_failed++;
        c->dead = TRUE;
        return;
    }
    c->tls = G_TLS_CONNECTION(t);
    ms__bridge_tls_guard_attach(c->tls);
    /* Clients that close without close_notify (most, after QUIT) are not
     * an error: the protocol had already ended. */
    g_tls_connection_set_require_close_notify(c->tls, FALSE);
    BridgeHandshake *hs = g_new0(BridgeHandshake, 1);
    hs->c = c;
    hs->conn = g_object_ref(c->conn);
    hs->cancel = g_cancellable_new();
    c->hs = hs;
    c->hs_start_us = g_get_monotonic_time();
    g_tls_connection_handshake_async(c->tls, G_PRIORITY_DEFAULT, hs->cancel, on_handshake, hs);
}

/* One read and its digestion, inside a dispatch (in_dispatch set).
 * FALSE when there was nothing to read. */
static gboolean
read_once(BridgeConn *c)
{
    guint8 buf[BRIDGE_READ_CHUNK];
    g_autoptr(GError) err = NULL;
    gssize n = c->tls
                   ? g_pollable_input_stream_read_nonblocking(c->tin, buf, TLS_READ_MAX, NULL, &err)
                   : g_socket_receive(c->sock, (char *) buf, sizeof buf, NULL, &err);
    if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return FALSE;
    if (n > 0) {
        c->last_input_us = g_get_monotonic_time();
        c->batching = TRUE;
        if (c->klass->input)
            c->klass->input(c, buf, (gsize) n);
        c->batching = FALSE;
        if (!c->dead && !c->out_src && !g_queue_is_empty(&c->out) && !flush(c))
            c->dead = TRUE;
        if (!c->dead)
            after_output_change(c);
        maybe_begin_handshake(c);
    } else {
        /* End of stream or a reset: the session decides what it means. */
        if (c->tls && ms__bridge_tls_guard_refused(c->tls))
            g_printerr("mailsim bridge: TLS: %s asked for a renegotiation: refused, "
                       "connection closed\n",
                       c->peer);
        stop_reading(c);
        if (c->klass->eof)
            c->klass->eof(c);
        c->closing = TRUE;
    }
    return TRUE;
}

/* Reads what is there. Under TLS, reads on until it would block: GnuTLS
 * may hold records it already took from the socket (a client's first
 * command arriving with its Finished, pipelined commands), and the socket
 * alone would then never say so. Bounded, so one busy client cannot
 * starve the others. */
static gboolean
read_ready(BridgeConn *c)
{
    c->in_dispatch = TRUE;
    for (guint k = 0; read_once(c) && c->tls && k < 256; k++)
        if (!c->in_src || c->dead || c->closing)
            break;
    c->in_dispatch = FALSE;
    gboolean keep = c->in_src != NULL;
    if (finish_if_done(c))
        return G_SOURCE_REMOVE;
    return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_readable(GSocket *sock, GIOCondition cond, gpointer ud)
{
    (void) sock;
    (void) cond;
    return read_ready(ud);
}

static gboolean
on_readable_tls(GObject *stream, gpointer ud)
{
    (void) stream;
    return read_ready(ud);
}

static gboolean
write_ready(BridgeConn *c)
{
    g_clear_pointer(&c->out_src, g_source_unref); /* flush makes a new one if needed */
    gboolean was_full = c->out_bytes >= BRIDGE_OUT_LOW;
    if (!flush(c)) {
        c->dead = TRUE;
    } else {
        after_output_change(c);
        if (was_full && c->out_bytes < BRIDGE_OUT_LOW && c->klass->drained && !c->closing) {
            c->in_dispatch = TRUE;
            c->klass->drained(c);
            c->in_dispatch = FALSE;
        }
        maybe_begin_handshake(c);
    }
    finish_if_done(c);
    return G_SOURCE_REMOVE;
}

static gboolean
on_writable(GSocket *sock, GIOCondition cond, gpointer ud)
{
    (void) sock;
    (void) cond;
    return write_ready(ud);
}

static gboolean
on_writable_tls(GObject *stream, gpointer ud)
{
    (void) stream;
    return write_ready(ud);
}

void
ms__bridge_conns_check_timeouts(MsBridge *b, gint64 now)
{
    /* Connections that failed outside a dispatch (a send from a timer). */
    g_autoptr(GPtrArray) done = g_ptr_array_new();
    for (GList *l = b->conns.head; l; l = l->next) {
        BridgeConn *c = l->data;
        if (c->dead || (c->closing && c->out_bytes == 0))
            g_ptr_array_add(done, c);
    }
    for (guint i = 0; i < done->len; i++)
        finish_if_done(g_ptr_array_index(done, i));
    /* Collect first: a timeout may free its connection. */
    g_autoptr(GPtrArray) due = g_ptr_array_new();
    g_autoptr(GArray) idle = g_array_new(FALSE, FALSE, sizeof(gboolean));
    gint64 idle_us = (gint64) b->cfg.idle_timeout_ms * 1000;
    gint64 cmd_us = (gint64) b->cfg.command_timeout_ms * 1000;
    /* A handshake that stalls (a client that sent half a ClientHello, or
     * nothing, after STARTTLS) is cut off like an idle client, without a
     * reply: no clear-text byte may follow the go-ahead. */
    g_autoptr(GPtrArray) stalled = g_ptr_array_new();
    for (GList *l = b->conns.head; l; l = l->next) {
        BridgeConn *c = l->data;
        if (c->hs && idle_us > 0 && now - c->hs_start_us > idle_us)
            g_ptr_array_add(stalled, c);
    }
    for (guint i = 0; i < stalled->len; i++) {
        BridgeConn *c = g_ptr_array_index(stalled, i);
        b->stats.timeouts++;
        b->stats.tls_failed++;
        ms__bridge_conn_abort(c);
    }
    for (GList *l = b->conns.head; l; l = l->next) {
        BridgeConn *c = l->data;
        if (c->closing || c->dead || !c->klass->timeout || c->hs || c->tls_wanted)
            continue;
        /* Idle means the peer owes us the next move: while a reply is due
         * (a failed login's delay, a slow command) only the command
         * timeout applies. */
        gboolean is_idle = idle_us > 0 && now - c->last_input_us > idle_us &&
                           c->last_reply_us >= c->last_input_us && !c->reply_due;
        gboolean is_slow =
            cmd_us > 0 && c->last_input_us > c->last_reply_us && now - c->last_reply_us > cmd_us;
        if (is_idle || is_slow) {
            g_ptr_array_add(due, c);
            g_array_append_val(idle, is_idle);
        }
    }
    for (guint i = 0; i < due->len; i++) {
        BridgeConn *c = g_ptr_array_index(due, i);
        b->stats.timeouts++;
        c->in_dispatch = TRUE;
        c->klass->timeout(c, g_array_index(idle, gboolean, i));
        c->in_dispatch = FALSE;
        finish_if_done(c);
    }
}
