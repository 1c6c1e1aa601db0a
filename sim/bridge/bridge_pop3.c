/* The bridge's POP3 listener: one MsPop3Server core per real connection,
 * its maildrop the named simulated server's mailbox store through the same
 * hooks the simulated POP3 servers use (MsMailDrop, sim/mail/mail_pop3.c). Mail
 * the simulation delivers appears in the next session's listing (RFC 1939
 * 8: a maildrop is a snapshot while locked); deletions are committed at
 * QUIT only, and a dropped connection commits none (RFC 1939 6).
 *
 * A failed login is answered after the core's delay, waited with a GLib
 * timeout (the core has no clock). Output is taken from the core only
 * while the socket keeps up (the connection's high-water mark), so a client
 * that pipelines RETRs without reading gets no more than that buffered.
 *
 * TLS: STLS on the POP3 listener, TLS from the start on the POP3S one
 * (RFC 2595 4, RFC 8314 3.3); USER, PASS and APOP only inside TLS unless
 * --allow-plaintext-auth (the core's auth_requires_tls). */
#include "bridge-private.h"

typedef struct {
    MsBridge *b;
    BridgeConn *conn;
    MsPop3Server *core;
    MsMailDrop *drop;
    guint resume; /* GLib source of the failed-login delay, or 0 */
    gboolean started; /* greeting queued (implicit TLS: after the handshake) */
} Pop3Session;

static gboolean on_resume(gpointer ud);

static void
pump(Pop3Session *x)
{
    GBytes *out;
    while (!ms__bridge_conn_output_full(x->conn) && (out = ms_pop3_server_take_output(x->core))) {
        ms__bridge_conn_send(x->conn, out);
        g_bytes_unref(out);
    }
    guint64 delay = ms_pop3_server_take_delay_ms(x->core);
    if (delay) {
        /* A pipelined "USER\r\nPASS" has its USER reply sent after the
         * input arrived: only this flag tells the idle timer that the
         * client is waiting for us. */
        x->resume = g_timeout_add((guint) MIN(delay, G_MAXUINT), on_resume, x);
        x->conn->reply_due = TRUE;
        return;
    }
    if (ms_pop3_server_is_closed(x->core) && !ms_pop3_server_is_held(x->core))
        ms__bridge_conn_close(x->conn);
    else if (ms_pop3_server_wants_tls(x->core))
        ms__bridge_conn_start_tls(x->conn); /* after the +OK is sent */
}

static void
p_tls_done(BridgeConn *c, gboolean ok)
{
    Pop3Session *x = c->session;
    if (!x->started) { /* implicit TLS: the session begins now */
        if (!ok)
            return;
        x->started = TRUE;
        ms_pop3_server_start(x->core);
    } else if (ok) {
        ms_pop3_server_tls_started(x->core);
    } else {
        ms_pop3_server_tls_failed(x->core);
        return;
    }
    pump(x);
}

static gboolean
on_resume(gpointer ud)
{
    Pop3Session *x = ud;
    x->resume = 0;
    x->conn->reply_due = FALSE;
    ms_pop3_server_resume(x->core);
    pump(x);
    return G_SOURCE_REMOVE;
}

static void
p_input(BridgeConn *c, const guint8 *data, gsize len)
{
    Pop3Session *x = c->session;
    ms_pop3_server_feed(x->core, data, len);
    if (!x->resume)
        pump(x);
}

static void
p_drained(BridgeConn *c)
{
    Pop3Session *x = c->session;
    if (!x->resume)
        pump(x);
}

static void
p_eof(BridgeConn *c)
{
    Pop3Session *x = c->session;
    if (!x->started || !ms_pop3_server_is_closed(x->core))
        x->b->stats.aborted++; /* no UPDATE: nothing deleted */
}

static void
p_timeout(BridgeConn *c, gboolean idle)
{
    (void) idle;
    /* RFC 1939 3: on the autologout timer the server closes the connection
     * without a response and without entering UPDATE. */
    ms__bridge_conn_abort(c);
}

static void
p_destroy(BridgeConn *c)
{
    Pop3Session *x = c->session;
    if (x->resume)
        g_source_remove(x->resume);
    ms_pop3_server_free(x->core);
    ms_mail_drop_free(x->drop);
    g_free(x);
}

static const BridgeConnClass pop3_class = { p_input,   p_eof,     p_timeout,
                                            p_drained, p_destroy, p_tls_done };

void
ms__bridge_pop3_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls)
{
    if (ms__bridge_conn_refuse_if_full(b, conn,
                                       "-ERR [SYS/TEMP] too many connections, try again later\r\n"))
        return;
    Pop3Session *x = g_new0(Pop3Session, 1);
    x->b = b;
    x->drop = ms_mail_drop_new(b->mail, b->pop3_server, MS_HOST_WORLD);
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.hostname = ms_mail_server_hostname(b->mail, b->pop3_server);
    /* Unique per connection: the wall clock and a counter (RFC 1939 7). */
    g_autofree char *token = g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GUINT64_FORMAT,
                                             g_get_real_time(), b->stats.connections);
    cfg.apop_token = token;
    cfg.offer_stls = TRUE;
    cfg.tls_active = implicit_tls;
    cfg.auth_requires_tls = !b->cfg.allow_plaintext_auth;
    x->core = ms_pop3_server_new(&cfg, ms_mail_drop_hooks(), x->drop);
    x->conn = ms__bridge_conn_new(b, conn, &pop3_class, x, TRUE);
    b->stats.pop3_sessions++;
    if (implicit_tls) {
        ms__bridge_conn_start_tls(x->conn);
        return;
    }
    x->started = TRUE;
    ms_pop3_server_start(x->core);
    pump(x);
}
