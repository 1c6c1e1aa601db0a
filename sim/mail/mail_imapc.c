/* The IMAP side of a simulated mail program: mail checks that leave the
 * mail on the server (an MsImapClient core per session, talking to the
 * server's port 143 or 993), an IDLE session that stays open so the server
 * can push, and the copy of each sent message that goes to the Sent folder
 * (APPEND). What a device shows its user is recorded per device
 * (ms__mail_seen), so a lesson can say which of a phone and a laptop saw a
 * message, and when.
 *
 * Design. A check opens a session whose core selects INBOX and fetches
 * what this device has not seen (the UIDVALIDITY and next UID it knows
 * are carried in MsMailClient from session to session, as a real client
 * keeps them in its cache). Without IDLE the session logs out at once; the
 * next check (check-every=) opens another. With IDLE the session stays in
 * IDLE until the run ends, renewing it every IMAPC_IDLE_RENEW (DONE, then
 * IDLE again: RFC 2177 3 lets a server log out a client idle for 30
 * minutes, and asks clients to re-issue IDLE at least every 29; the timer
 * starts again whenever IDLE does, after new mail too); checks that come
 * while it lives do nothing. A
 * sent copy is APPENDed in a short session of its own, as Thunderbird and
 * phones do on a second connection, so it never disturbs the IDLE one.
 *
 * TLS, when the world speaks it: STARTTLS required before the login, or
 * implicit TLS on 993 (RFC 8314 3.3), the certificate verified, as real
 * mail programs do. Ownership: each session is work in flight (MsLive)
 * freed when its connection ends. */
#include "mail-private.h"

#include <string.h>

/* 28 minutes: under RFC 2177's 29 with a margin for the round trip. */
#define IMAPC_IDLE_RENEW ((MsTime) 28 * 60 * MS_TIME_S)

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailClient *client;
    MsMailServer *server;
    MsTcpConnId conn;
    MsImapClient *core;
    MsMailTls *tls;
    gboolean implicit, told_login, told_idle, done;
    gboolean check;  /* a mail check (else: an APPEND of a sent copy) */
    guint32 message; /* the sent copy's message, or 0 */
    gboolean idling; /* the server has confirmed IDLE at least once */
    gboolean told_renew;
    MsEventId renew; /* the next renewal of IDLE, or 0 */
} Imapc;

static void imapc_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud);
static void imapc_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void imapc_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static void on_renew(MsEngine *e, const MsEvent *ev, gpointer user_data);
static const MsTcpCallbacks imapc_cb = { imapc_connected, imapc_data, imapc_closed };

static const char *
host_name(Imapc *x)
{
    return ms_net_host_name(x->mail->net, x->client->host);
}

static void
c_message(gpointer ud, guint32 uid, guint flags, GBytes *message)
{
    Imapc *x = ud;
    MsMail *m = x->mail;
    guint32 id = ms__mail_message_from_data(m, message);
    ms__mail_seen(m, x->client, id);
    const MsMessageRecord *rec = id ? ms_mail_message(m, id) : NULL;
    const MsRcptRecord *rr = NULL;
    for (guint k = 0; rec && k < rec->rcpts->len; k++) {
        const MsRcptRecord *q = &g_array_index(rec->rcpts, MsRcptRecord, k);
        if (g_ascii_strcasecmp(q->address, x->client->address) == 0)
            rr = q;
    }
    g_autofree char *after = NULL;
    if (rr && rr->state == MS_RCPT_DELIVERED) {
        g_autofree char *d = ms_time_to_string(ms_engine_now(m->engine) - rr->done_at);
        after = g_strdup_printf(", %s after it reached the mailbox", d);
    }
    ms__mail_note(m, x->client->host, x->server->host, id,
                  "%s shows message %s (\"%s\", %" G_GSIZE_FORMAT
                  " bytes, UID %u) to %s%s%s; it stays on the server",
                  host_name(x), rec ? rec->label : "?", rec ? rec->subject : "",
                  g_bytes_get_size(message), uid, x->client->address,
                  x->idling ? ", pushed by the server while it idled" : "", after ? after : "");
    if (flags & MS_IMAP_FLAG_SEEN)
        ms__mail_note(m, x->client->host, x->server->host, id,
                      "the server already marks it \\Seen: another device of %s has read it",
                      x->client->address);
}

static void
c_appended(gpointer ud, const char *folder, guint32 uid)
{
    Imapc *x = ud;
    MsMail *m = x->mail;
    const MsMessageRecord *rec = x->message ? ms_mail_message(m, x->message) : NULL;
    ms__mail_note(m, x->client->host, x->server->host, x->message,
                  "%s keeps a copy of message %s in the folder %s on %s (UID %u): every device "
                  "of %s sees what was sent",
                  host_name(x), rec ? rec->label : "?", folder, x->server->hostname, uid,
                  x->client->address);
}

static void
c_idling(gpointer ud)
{
    Imapc *x = ud;
    x->idling = TRUE;
    /* Each IDLE the server confirms starts the wait to the next renewal. */
    if (x->renew)
        ms_engine_cancel(x->mail->engine, x->renew);
    /* Registered at the first IDLE, not with the other events: a type
     * registered up front would renumber every type after it, and with
     * them the fingerprint of every run, IDLE or not. */
    MsMail *m = x->mail;
    if (!m->ev_imapc_renew_ok) {
        m->ev_imapc_renew = ms_engine_register(m->engine, "imapc-renew-idle", on_renew, m);
        m->ev_imapc_renew_ok = TRUE;
    }
    MsEventData d = { { 0 } };
    d.ptr[0] = x;
    x->renew = ms_engine_schedule_in(x->mail->engine, IMAPC_IDLE_RENEW, x->client->host,
                                     x->mail->ev_imapc_renew, d);
    if (x->told_idle)
        return;
    x->told_idle = TRUE;
    ms__mail_note(x->mail, x->client->host, x->server->host, 0,
                  "%s stays connected to %s in IDLE: the server will tell it of new mail at once",
                  host_name(x), x->server->hostname);
}

static void
c_done(gpointer ud, MsImapClientResult result, const char *text)
{
    Imapc *x = ud;
    MsMail *m = x->mail;
    x->done = TRUE;
    if (x->check) {
        x->client->checking = FALSE;
        x->client->uidvalidity = ms_imap_client_uidvalidity(x->core);
        x->client->uidnext = ms_imap_client_uidnext(x->core);
    }
    if (result == MS_IMAP_CLIENT_OK) {
        if (x->check)
            ms__mail_note(m, x->client->host, x->server->host, 0,
                          "%s has checked the mailbox of %s over IMAP: %u new message%s",
                          host_name(x), x->client->address, ms_imap_client_fetched(x->core),
                          ms_imap_client_fetched(x->core) == 1 ? "" : "s");
        return;
    }
    ms__mail_note(m, x->client->host, x->server->host, x->message, "%s could not %s %s: %s (%s)",
                  host_name(x), x->check ? "check the mailbox of" : "keep a sent copy for",
                  x->client->address, ms_imap_client_result_to_string(result), text);
}

static void
c_trace(gpointer ud, gboolean from_client, const char *line)
{
    Imapc *x = ud;
    ms__mail_proto_line(x->mail, x->client->host, x->server->host, x->message, "imap", from_client,
                        line);
}

static const MsImapClientHooks imapc_hooks = { c_message, c_appended, c_idling, c_done, c_trace };

static void
imapc_free(Imapc *x)
{
    ms__live_remove(x->mail, &x->live);
    if (x->renew)
        ms_engine_cancel(x->mail->engine, x->renew);
    ms_imap_client_free(x->core);
    ms__mail_tls_free(x->tls);
    g_free(x);
}

/* Where the password went, told as it leaves. */
static void
tell_login(Imapc *x)
{
    gboolean inside = FALSE;
    if (x->told_login || !ms_imap_client_login_sent(x->core, &inside))
        return;
    x->told_login = TRUE;
    g_autofree char *reads =
        g_strdup_printf("\"LOGIN %s %s\"", x->client->user, x->client->password);
    ms__mail_tls_tell_login(x->mail, x->client, x->server, inside, reads);
}

static void
imapc_pump(Imapc *x)
{
    GBytes *out;
    tell_login(x);
    while ((out = ms_imap_client_take_output(x->core)))
        ms__mail_tls_out(x->tls, x->mail, x->conn, out);
    if (!x->tls && ms_imap_client_wants_tls(x->core))
        x->tls = ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                         x->server->hostname, MS_IMAP_PORT, TRUE, TRUE,
                                         x->message);
    if (ms_imap_client_is_closed(x->core)) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        imapc_free(x);
    }
}

static void
imapc_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    Imapc *x = ud;
    (void) tcp;
    (void) conn;
    if (x->implicit && !x->tls) /* RFC 8314 3.3 */
        x->tls = ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                         x->server->hostname, MS_IMAPS_PORT, TRUE, FALSE,
                                         x->message);
}

static void
imapc_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Imapc *x = ud;
    (void) tcp;
    (void) conn;
    gboolean established;
    g_autofree char *failed = NULL;
    g_autoptr(GBytes) in =
        ms__mail_tls_client_in(x->tls, x->server->hostname, data, len, &established, &failed);
    if (failed)
        ms_imap_client_tls_failed(x->core, failed);
    if (established && ms_imap_client_wants_tls(x->core))
        ms_imap_client_tls_started(x->core);
    if (in)
        ms_imap_client_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    imapc_pump(x);
}

static void
imapc_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Imapc *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    if (!x->done && why != MS_TCP_CLOSE_NORMAL) {
        x->done = TRUE;
        if (x->check)
            x->client->checking = FALSE;
        ms__mail_note(x->mail, x->client->host, x->server->host, x->message,
                      "%s could not reach %s for IMAP: %s", host_name(x), x->server->hostname,
                      ms_tcp_close_reason_to_string(why));
    }
    ms_imap_client_eof(x->core);
    imapc_free(x);
}

/* A new session of c with its server; the caller queues APPENDs, then
 * connects with imapc_connect. */
static Imapc *
imapc_new(MsMail *m, MsMailClient *c, gboolean check, guint32 message)
{
    MsMailServer *s = g_ptr_array_index(m->servers, c->imap_server);
    Imapc *x = g_new0(Imapc, 1);
    ms__live_add(m, &x->live, x, (GDestroyNotify) imapc_free);
    x->mail = m;
    x->client = c;
    x->server = s;
    x->check = check;
    x->message = message;
    MsImapClientConfig cfg;
    ms_imap_client_config_init(&cfg);
    cfg.user = c->user;
    cfg.password = c->password;
    cfg.fetch = check;
    cfg.idle = check && c->idle;
    cfg.uidvalidity = c->uidvalidity;
    cfg.uidnext = c->uidnext;
    MsMailClientTls mode = m->pki ? c->imap_tls : MS_MAIL_CLIENT_TLS_NONE;
    cfg.tls_level = mode == MS_MAIL_CLIENT_TLS_STARTTLS ? MS_IMAP_TLS_ENCRYPT : MS_IMAP_TLS_NONE;
    cfg.tls_active = mode == MS_MAIL_CLIENT_TLS_IMPLICIT;
    x->implicit = cfg.tls_active;
    x->core = ms_imap_client_new(&cfg, &imapc_hooks, x);
    return x;
}

static void
imapc_connect(Imapc *x)
{
    MsMail *m = x->mail;
    guint16 port = x->implicit ? MS_IMAPS_PORT : MS_IMAP_PORT;
    x->conn =
        ms_tcp_connect_tagged(m->tcp, x->client->host, ms_net_host_addr(m->net, x->server->host),
                              port, &imapc_cb, x, x->message);
}

static const char *
tls_how(MsMail *m, MsMailClient *c)
{
    if (!m->pki)
        return "";
    switch (c->imap_tls) {
    case MS_MAIL_CLIENT_TLS_STARTTLS:
        return " (STARTTLS first, then the login)";
    case MS_MAIL_CLIENT_TLS_IMPLICIT:
        return " (implicit TLS)";
    case MS_MAIL_CLIENT_TLS_NONE:
        break;
    }
    return " (no TLS: everything in the clear)";
}

void
ms__imap_check(MsMail *m, MsMailClient *c)
{
    if (c->imap_server == MS_NO_SERVER || c->checking)
        return;
    Imapc *x = imapc_new(m, c, TRUE, 0);
    c->checking = TRUE;
    ms__mail_note(m, c->host, x->server->host, 0,
                  "%s checks for new mail: IMAP to %s port %u as user %s%s%s",
                  ms_net_host_name(m->net, c->host), x->server->hostname,
                  x->implicit ? MS_IMAPS_PORT : MS_IMAP_PORT, c->user, tls_how(m, c),
                  c->idle ? ", and will then wait in IDLE" : "");
    imapc_connect(x);
}

void
ms__imap_save_sent(MsMail *m, MsMailClient *c, guint32 message, GBytes *data)
{
    if (c->imap_server == MS_NO_SERVER)
        return;
    Imapc *x = imapc_new(m, c, FALSE, message);
    /* \Seen: the author has read what they wrote (Thunderbird does so). */
    ms_imap_client_append(x->core, "Sent", data, MS_IMAP_FLAG_SEEN);
    imapc_connect(x);
}

/* The renewal timer: DONE now, IDLE again when the server answers. */
static void
on_renew(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    (void) e;
    (void) user_data;
    Imapc *x = ev->data.ptr[0];
    x->renew = 0;
    if (!ms_imap_client_is_idling(x->core))
        return;
    if (!x->told_renew) {
        x->told_renew = TRUE;
        ms__mail_note(x->mail, x->client->host, x->server->host, 0,
                      "%s has idled 28 minutes: it ends IDLE and starts it again, as RFC 2177 "
                      "asks, before the server may log it out at 30",
                      host_name(x));
    }
    ms_imap_client_renew_idle(x->core);
    imapc_pump(x);
}
