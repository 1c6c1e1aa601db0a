/* IMAP on simulated servers: port 143 (and 993, implicit TLS, when the
 * server speaks TLS) of each mail server some client reads over IMAP. Each
 * connection runs an MsImapServer core whose mailboxes are the server's
 * MsMailImap (mail_imap.c): INBOX is the store that delivery fills and
 * POP3 reads, the other folders (Sent) live beside it.
 *
 * Design. A session is an Imapd: the core, the TCP connection, the TLS
 * channel once STARTTLS is done. The server keeps its live sessions in an
 * array in the order it accepted them; when a message is stored for a user
 * (mail_accept.c calls ms__imapd_notify), every session of that user is
 * refreshed in that order, so a session in IDLE pushes "* n EXISTS" at the
 * same simulated instant (RFC 2177) and the others tell it at their next
 * command. Order of the array, not of a hash table: runs stay
 * deterministic.
 *
 * TLS, when the world speaks it: STARTTLS is offered on 143 and logins are
 * taken only inside TLS (LOGINDISABLED, as Dovecot's
 * disable_plaintext_auth) unless the server's policy allows them in the
 * clear; 993 is TLS from the first octet (RFC 8314 3.3).
 *
 * UIDVALIDITY: the run's epoch in seconds (MS_MAIL_EPOCH_UNIX), the same
 * in every run, as a server started at that instant would choose.
 * Ownership: the server owns its MsMailImap and the array; each session
 * is work in flight (MsLive) freed when its connection ends. */
#include "mail-private.h"

#include <string.h>

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailServer *server;
    MsTcpConnId conn;
    MsHostId peer;
    MsImapServer *core;
    MsMailTls *tls;
} Imapd;

static void imapd_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void imapd_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks imapd_cb = { NULL, imapd_data, imapd_closed };

static void
imapd_free(Imapd *x)
{
    ms__live_remove(x->mail, &x->live);
    g_ptr_array_remove(x->server->imapd, x);
    ms_imap_server_free(x->core);
    ms__mail_tls_free(x->tls);
    g_free(x);
}

static void
imapd_trace(gpointer ud, gboolean from_client, const char *line)
{
    Imapd *x = ud;
    ms__mail_proto_line(x->mail, x->server->host, x->peer, 0, "imap", !from_client, line);
}

/* Sends what the core has to say; closes when the session is over.
 * Returns FALSE when the session was freed. */
static gboolean
imapd_pump(Imapd *x)
{
    GBytes *out;
    while ((out = ms_imap_server_take_output(x->core)))
        ms__mail_tls_out(x->tls, x->mail, x->conn, out);
    if (!x->tls && ms_imap_server_wants_tls(x->core)) /* its OK to STARTTLS has left */
        x->tls = ms__mail_tls_server_new(x->mail, x->conn, x->server, x->peer, 0);
    if (ms_imap_server_is_closed(x->core)) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        imapd_free(x);
        return FALSE;
    }
    return TRUE;
}

/* The clock APPEND stamps a message with when the client names no date. */
static void
set_now(Imapd *x)
{
    ms_mail_imap_set_now(x->server->imap,
                         MS_MAIL_EPOCH_UNIX +
                             (gint64) (ms_engine_now(x->mail->engine) / MS_TIME_S));
}

static void
imapd_accept(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    MsMailListenCtx *l = ud;
    Imapd *x = g_new0(Imapd, 1);
    ms__live_add(l->mail, &x->live, x, (GDestroyNotify) imapd_free);
    x->mail = l->mail;
    x->server = l->server;
    x->conn = conn;
    x->peer = ms_net_host_by_addr(l->mail->net, ms_tcp_conn_peer_addr(tcp, conn));
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.hostname = l->server->hostname;
    gboolean tls = l->mail->pki && l->server->tls_cred;
    cfg.offer_starttls = tls;
    cfg.tls_active = tls && l->port == MS_IMAPS_PORT;
    cfg.auth_requires_tls = tls && l->server->policy.tls_auth_only;
    x->core = ms_imap_server_new(&cfg, ms_mail_imap_hooks(), l->server->imap);
    ms_imap_server_set_trace(x->core, imapd_trace, x);
    g_ptr_array_add(l->server->imapd, x);
    l->mail->imap_sessions++;
    ms_tcp_set_callbacks(tcp, conn, &imapd_cb, x);
    if (cfg.tls_active)
        x->tls = ms__mail_tls_server_new(l->mail, conn, l->server, x->peer, 0);
    ms_imap_server_start(x->core);
    imapd_pump(x);
}

static const MsTcpCallbacks imap_listen_cb = { imapd_accept, NULL, NULL };

static void
imapd_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Imapd *x = ud;
    (void) tcp;
    (void) conn;
    set_now(x);
    gboolean established, failed;
    g_autoptr(GBytes) in = ms__mail_tls_in(x->tls, data, len, &established, &failed);
    if (failed) {
        ms_imap_server_tls_failed(x->core);
        ms_tcp_close(x->mail->tcp, x->conn);
        imapd_free(x);
        return;
    }
    if (established && ms_imap_server_wants_tls(x->core))
        ms_imap_server_tls_started(x->core);
    if (in)
        ms_imap_server_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    imapd_pump(x);
}

static void
imapd_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Imapd *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    imapd_free(x);
}

void
ms__imapd_listen(MsMail *m, MsMailServer *s)
{
    g_return_if_fail(s->imap == NULL);
    s->imap = ms_mail_imap_new(s->store, (guint32) MS_MAIL_EPOCH_UNIX, MS_MAIL_EPOCH_UNIX);
    s->imapd = g_ptr_array_new();
    s->lsn_imap = (MsMailListenCtx){ m, s, MS_IMAP_PORT };
    s->lsn_imaps = (MsMailListenCtx){ m, s, MS_IMAPS_PORT };
    ms_tcp_listen(m->tcp, s->host, MS_IMAP_PORT, &imap_listen_cb, &s->lsn_imap);
    if (s->policy.tls)
        ms_tcp_listen(m->tcp, s->host, MS_IMAPS_PORT, &imap_listen_cb, &s->lsn_imaps);
}

void
ms__imapd_notify(MsMail *m, MsMailServer *s, const char *user)
{
    (void) m;
    if (!s->imapd || s->imapd->len == 0)
        return;
    /* A copy: a session may end (and leave the array) while it pumps. */
    g_autoptr(GPtrArray) sessions = g_ptr_array_copy(s->imapd, NULL, NULL);
    for (guint i = 0; i < sessions->len; i++) {
        Imapd *x = g_ptr_array_index(sessions, i);
        const char *u = ms_imap_server_user(x->core);
        if (!u || g_ascii_strcasecmp(u, user) != 0)
            continue;
        ms_imap_server_refresh(x->core);
        imapd_pump(x);
    }
}
