/* The bridge's IMAP listener: one MsImapServer core per real connection,
 * its mailboxes the named simulated server's store seen through MsMailImap
 * (sim/mail/mail_imap.c), shared with the POP3 listener: a message the
 * simulation delivers is in INBOX for both, with the same size, and an
 * IMAP EXPUNGE removes it for POP3 too.
 *
 * IDLE (RFC 2177): after every pacer tick (the engine may have delivered
 * mail), each session that is idling compares the cheap change stamp of its
 * user's INBOX with the one it saw last and, when it moved, lets the core
 * tell the client (untagged EXISTS/EXPUNGE) at once. Sessions not idling
 * hear of new mail at their next NOOP, as RFC 9051 6.1.2 has clients poll.
 *
 * TLS: STARTTLS on the IMAP listener, TLS from the first octet on the IMAPS
 * one (RFC 9051 6.2.1, RFC 8314 3.3); LOGIN and AUTHENTICATE only inside TLS
 * unless --allow-plaintext-auth (the core's auth_requires_tls, which also
 * makes CAPABILITY say LOGINDISABLED).
 *
 * Timers: the bridge's idle timeout would cut an IDLE client off after 5
 * minutes, yet RFC 2177 lets a client stay idle up to 29 minutes. While a
 * session idles it tells its connection that the next move is ours
 * (reply_due), which the bridge's idle timer respects, and the pacer tick
 * cuts it off itself after IDLE_MAX_MS (RFC 9051 5.4: an autologout timer
 * of at least 30 minutes); other sessions get "* BYE" at the bridge's idle
 * timeout. Costs: O(connections + INBOX size of each idling
 * session) per pacer tick. */
#include "bridge-private.h"

#define IDLE_MAX_MS (31u * 60u * 1000u)

typedef struct {
    MsBridge *b;
    BridgeConn *conn;
    MsImapServer *core;
    guint64 stamp;    /* INBOX change stamp last told */
    gboolean started; /* greeting queued (implicit TLS: after the handshake) */
} ImapSession;

static void
pump(ImapSession *x)
{
    GBytes *out;
    while (!ms__bridge_conn_output_full(x->conn) && (out = ms_imap_server_take_output(x->core))) {
        ms__bridge_conn_send(x->conn, out);
        g_bytes_unref(out);
    }
    /* In IDLE the client waits for us: not idle in the bridge's sense. */
    x->conn->reply_due = ms_imap_server_is_idling(x->core);
    if (ms_imap_server_is_closed(x->core))
        ms__bridge_conn_close(x->conn);
    else if (ms_imap_server_wants_tls(x->core))
        ms__bridge_conn_start_tls(x->conn); /* after the OK is sent */
}

static void
note_stamp(ImapSession *x)
{
    const char *user = ms_imap_server_user(x->core);
    if (user)
        x->stamp = ms_mail_imap_stamp(x->b->imap, user);
}

static void
i_tls_done(BridgeConn *c, gboolean ok)
{
    ImapSession *x = c->session;
    if (!x->started) {
        if (!ok)
            return;
        x->started = TRUE;
        ms_imap_server_start(x->core);
    } else if (ok) {
        ms_imap_server_tls_started(x->core);
    } else {
        ms_imap_server_tls_failed(x->core);
        return;
    }
    pump(x);
}

static void
i_input(BridgeConn *c, const guint8 *data, gsize len)
{
    ImapSession *x = c->session;
    ms_imap_server_feed(x->core, data, len);
    note_stamp(x); /* whatever the command told, it told from now */
    const char *user = ms_imap_server_user(x->core);
    g_autoptr(GError) err = NULL;
    /* Folders other than INBOX to disk before the replies go out. */
    if (x->b->maildir && user &&
        !ms__bridge_maildir_sync_folders(x->b->maildir, x->b->imap, x->b->imap_server, user, &err))
        g_printerr("mailsim bridge: maildir: IMAP folder: %s\n", err->message);
    pump(x);
}

static void
i_drained(BridgeConn *c)
{
    pump(c->session);
}

static void
i_eof(BridgeConn *c)
{
    ImapSession *x = c->session;
    if (!x->started || !ms_imap_server_is_closed(x->core))
        x->b->stats.aborted++;
}

/* RFC 9051 7.1.5: BYE before an autologout. */
static void
autologout(BridgeConn *c)
{
    ms__bridge_conn_send_str(c, "* BYE Autologout; idle for too long\r\n");
    ms__bridge_conn_close(c);
}

static void
i_timeout(BridgeConn *c, gboolean idle)
{
    (void) idle;
    autologout(c);
}

static void
i_destroy(BridgeConn *c)
{
    ImapSession *x = c->session;
    ms_imap_server_free(x->core);
    g_free(x);
}

static const BridgeConnClass imap_class = { i_input,   i_eof,     i_timeout,
                                            i_drained, i_destroy, i_tls_done };

void
ms__bridge_imap_tick(MsBridge *b)
{
    if (!b->imap)
        return;
    ms_mail_imap_set_now(b->imap, g_get_real_time() / G_USEC_PER_SEC);
    gint64 now = g_get_monotonic_time();
    /* Collect first: closing a connection may free it and unlink it. */
    g_autoptr(GPtrArray) idlers = g_ptr_array_new();
    for (GList *l = b->conns.head; l; l = l->next) {
        BridgeConn *c = l->data;
        if (c->klass != &imap_class || c->closing || c->dead)
            continue;
        ImapSession *x = c->session;
        if (ms_imap_server_user(x->core) && ms_imap_server_is_idling(x->core))
            g_ptr_array_add(idlers, c);
    }
    for (guint i = 0; i < idlers->len; i++) {
        BridgeConn *c = g_ptr_array_index(idlers, i);
        ImapSession *x = c->session;
        const char *user = ms_imap_server_user(x->core);
        if (now - c->last_input_us > (gint64) IDLE_MAX_MS * 1000) {
            b->stats.timeouts++;
            autologout(c);
            continue;
        }
        guint64 stamp = ms_mail_imap_stamp(b->imap, user);
        if (stamp == x->stamp)
            continue;
        x->stamp = stamp;
        ms_imap_server_refresh(x->core);
        pump(x);
    }
}

void
ms__bridge_imap_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls)
{
    if (ms__bridge_conn_refuse_if_full(b, conn, "* BYE [UNAVAILABLE] Too many connections.\r\n"))
        return;
    ImapSession *x = g_new0(ImapSession, 1);
    x->b = b;
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.hostname = ms_mail_server_hostname(b->mail, b->imap_server);
    cfg.offer_starttls = TRUE;
    cfg.tls_active = implicit_tls;
    cfg.auth_requires_tls = !b->cfg.allow_plaintext_auth;
    if (b->cfg.max_size)
        cfg.max_literal = b->cfg.max_size;
    x->core = ms_imap_server_new(&cfg, ms_mail_imap_hooks(), b->imap);
    x->conn = ms__bridge_conn_new(b, conn, &imap_class, x, TRUE);
    b->stats.imap_sessions++;
    if (implicit_tls) {
        ms__bridge_conn_start_tls(x->conn);
        return;
    }
    x->started = TRUE;
    ms_imap_server_start(x->core);
    pump(x);
}
