/* POP3 on simulated hosts: the server side on port 110 of each mail server
 * (an MsPop3Server core per connection, its maildrop hooks backed by the
 * server's MsMailStore) and the client side of a mail check (an
 * MsPop3Client core per check). Retrievals are recorded in the message
 * records through the Message-ID header of what arrives.
 *
 * A failed login is answered after the delay the core asks for (an engine
 * event carrying the session; cancelled if the session ends first). The
 * core traces its -ERR when it writes it into the held reply; the
 * narration tells it when it is released onto the wire, 2 s later
 * (auth_fail_delay_ms), which is when the client reads it.
 *
 * The maildrop hooks (MsMailDrop, declared in mail.h) are shared with the
 * bridge, whose real POP3 listener serves the same stores.
 *
 * TLS, when the world speaks it: the server offers STLS on 110 and logins
 * only inside TLS (Dovecot's disable_plaintext_auth) unless its policy
 * says otherwise, and listens on 995 for implicit TLS (RFC 8314 3.3); the
 * client uses STLS or 995 as its settings say, requires TLS before the
 * login and verifies the certificate, as real mail programs do. */
#include "mail-private.h"

#include <string.h>

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailServer *server;
    MsTcpConnId conn;
    MsHostId peer;
    MsPop3Server *core;
    MsMailDrop *drop;
    MsEventId resume;
    MsMailTls *tls;
} Pop3d;

static void pop3d_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void pop3d_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks pop3d_cb = { NULL, pop3d_data, pop3d_closed };
static void drop_flush_held(MsMailDrop *x);

static void
pop3d_free(Pop3d *x)
{
    ms__live_remove(x->mail, &x->live);
    if (x->resume)
        ms_engine_cancel(x->mail->engine, x->resume);
    ms_pop3_server_free(x->core); /* releases a held lock (RFC 1939: no UPDATE) */
    ms_mail_drop_free(x->drop);
    ms__mail_tls_free(x->tls);
    g_free(x);
}

static void
pop3d_pump(Pop3d *x)
{
    GBytes *out;
    while ((out = ms_pop3_server_take_output(x->core)))
        ms__mail_tls_out(x->tls, x->mail, x->conn, out);
    if (!x->tls && ms_pop3_server_wants_tls(x->core)) /* "+OK" to STLS has left */
        x->tls = ms__mail_tls_server_new(x->mail, x->conn, x->server, x->peer, 0);
    guint64 delay = ms_pop3_server_take_delay_ms(x->core);
    if (delay) {
        MsEventData d = { { 0 } };
        d.ptr[0] = x;
        x->resume = ms_engine_schedule_in(x->mail->engine, (MsTime) delay * MS_TIME_MS,
                                          x->server->host, x->mail->ev_pop3_resume, d);
        return;
    }
    if (ms_pop3_server_is_closed(x->core)) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        pop3d_free(x);
    }
}

static void
on_resume(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    Pop3d *x = ev->data.ptr[0];
    (void) e;
    (void) user_data;
    x->resume = 0;
    ms_pop3_server_resume(x->core);
    drop_flush_held(x->drop);
    pop3d_pump(x);
}

/* --- the maildrop: POP3 hooks on a server's store (shared with the bridge) --- */

struct _MsMailDrop {
    MsMail *mail;
    MsMailServer *server;
    MsHostId peer;
    const MsPop3Server *core; /* a simulated session's core (NULL for the bridge's) */
    GPtrArray *held;          /* char*: reply lines traced while the core holds them */
};

MsMailDrop *
ms_mail_drop_new(MsMail *m, guint server, MsHostId peer)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len, NULL);
    MsMailDrop *d = g_new0(MsMailDrop, 1);
    d->mail = m;
    d->server = g_ptr_array_index(m->servers, server);
    d->peer = peer;
    m->pop3_sessions++;
    return d;
}

void
ms_mail_drop_free(MsMailDrop *d)
{
    if (d && d->held)
        g_ptr_array_unref(d->held);
    g_free(d);
}

/* Tells the reply lines the core held during its delay, now that they
 * leave. */
static void
drop_flush_held(MsMailDrop *x)
{
    for (guint i = 0; x->held && i < x->held->len; i++)
        ms__mail_proto_line(x->mail, x->server->host, x->peer, 0, "pop3", TRUE,
                            g_ptr_array_index(x->held, i));
    if (x->held)
        g_ptr_array_set_size(x->held, 0);
}

static gboolean
h_auth(gpointer ud, const char *user, const char *password)
{
    MsMailDrop *x = ud;
    return ms_mail_store_check_password(x->server->store, user, password);
}

static char *
h_apop_secret(gpointer ud, const char *user)
{
    MsMailDrop *x = ud;
    return g_strdup(ms_mail_store_password(x->server->store, user));
}

static gboolean
h_lock(gpointer ud, const char *user)
{
    MsMailDrop *x = ud;
    return ms_mail_store_lock(x->server->store, user);
}

static gboolean
h_list(gpointer ud, const char *user, GArray *out)
{
    MsMailDrop *x = ud;
    GPtrArray *msgs = ms_mail_store_messages(x->server->store, user);
    if (!msgs)
        return FALSE;
    for (guint i = 0; i < msgs->len; i++) {
        MsStoredMessage *sm = g_ptr_array_index(msgs, i);
        MsPop3MessageInfo info = { 0 };
        info.size = sm->size;
        g_strlcpy(info.uid, sm->uid, sizeof info.uid);
        g_array_append_val(out, info);
    }
    return TRUE;
}

static GBytes *
h_retrieve(gpointer ud, const char *user, guint index)
{
    MsMailDrop *x = ud;
    GPtrArray *msgs = ms_mail_store_messages(x->server->store, user);
    if (!msgs || index >= msgs->len)
        return NULL;
    /* NULL (the kept file vanished) answers -ERR [SYS/TEMP] (pop3_server.c) */
    return ms_mail_store_body(x->server->store, user, g_ptr_array_index(msgs, index), NULL);
}

static gboolean
h_commit(gpointer ud, const char *user, const guint *indices, guint n)
{
    MsMailDrop *x = ud;
    GPtrArray *msgs = ms_mail_store_messages(x->server->store, user);
    if (!msgs)
        return FALSE;
    /* Collect the uids first: deleting changes the live view. */
    g_autoptr(GPtrArray) uids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n; i++)
        if (indices[i] < msgs->len)
            g_ptr_array_add(
                uids, g_strdup(((MsStoredMessage *) g_ptr_array_index(msgs, indices[i]))->uid));
    for (guint i = 0; i < uids->len; i++)
        ms_mail_store_delete(x->server->store, user, g_ptr_array_index(uids, i));
    if (n > 0)
        ms__mail_note(x->mail, x->server->host, x->peer, 0,
                      "%s deletes %u message%s of %s, as the client asked", x->server->hostname, n,
                      n == 1 ? "" : "s", user);
    return TRUE;
}

static void
h_unlock(gpointer ud, const char *user)
{
    MsMailDrop *x = ud;
    ms_mail_store_unlock(x->server->store, user);
}

static void
h_trace(gpointer ud, gboolean from_client, const char *line)
{
    MsMailDrop *x = ud;
    if (!from_client && x->core && ms_pop3_server_is_held(x->core)) {
        if (!x->held)
            x->held = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(x->held, g_strdup(line));
        return;
    }
    ms__mail_proto_line(x->mail, x->server->host, x->peer, 0, "pop3", !from_client, line);
}

static const MsPop3ServerHooks drop_hooks = { h_auth,     h_apop_secret, h_lock,   h_list,
                                              h_retrieve, h_commit,      h_unlock, h_trace };

const MsPop3ServerHooks *
ms_mail_drop_hooks(void)
{
    return &drop_hooks;
}

static void
pop3d_accept(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    MsMailListenCtx *l = ud;
    Pop3d *x = g_new0(Pop3d, 1);
    ms__live_add(l->mail, &x->live, x, (GDestroyNotify) pop3d_free);
    x->mail = l->mail;
    x->server = l->server;
    x->conn = conn;
    x->peer = ms_net_host_by_addr(l->mail->net, ms_tcp_conn_peer_addr(tcp, conn));
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.hostname = l->server->hostname;
    /* The server's own session count: the same however the world is split. */
    g_autofree char *token = g_strdup_printf("%u.%" G_GINT64_FORMAT, ++l->server->pop3_count,
                                             ms_engine_now(l->mail->engine));
    cfg.apop_token = token;
    gboolean tls = l->mail->pki && l->server->tls_cred;
    cfg.offer_stls = tls;
    cfg.tls_active = tls && l->port == MS_POP3S_PORT;
    cfg.auth_requires_tls = tls && l->server->policy.tls_auth_only;
    x->drop = ms_mail_drop_new(l->mail, l->server->index, x->peer);
    x->core = ms_pop3_server_new(&cfg, ms_mail_drop_hooks(), x->drop);
    x->drop->core = x->core;
    ms_tcp_set_callbacks(tcp, conn, &pop3d_cb, x);
    if (cfg.tls_active)
        x->tls = ms__mail_tls_server_new(l->mail, conn, l->server, x->peer, 0);
    ms_pop3_server_start(x->core);
    pop3d_pump(x);
}

static const MsTcpCallbacks pop3_listen_cb = { pop3d_accept, NULL, NULL };

static void
pop3d_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Pop3d *x = ud;
    (void) tcp;
    (void) conn;
    gboolean established, failed;
    g_autoptr(GBytes) in = ms__mail_tls_in(x->tls, data, len, &established, &failed);
    if (failed) {
        ms_pop3_server_tls_failed(x->core);
        ms_tcp_close(x->mail->tcp, x->conn);
        pop3d_free(x);
        return;
    }
    if (established && ms_pop3_server_wants_tls(x->core))
        ms_pop3_server_tls_started(x->core);
    if (in)
        ms_pop3_server_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    if (!x->resume)
        pop3d_pump(x);
}

static void
pop3d_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Pop3d *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    pop3d_free(ud);
}

void
ms__pop3d_listen(MsMail *m, MsMailServer *s)
{
    s->lsn_pop3 = (MsMailListenCtx){ m, s, MS_POP3_PORT };
    s->lsn_pop3s = (MsMailListenCtx){ m, s, MS_POP3S_PORT };
    ms_tcp_listen(m->tcp, s->host, MS_POP3_PORT, &pop3_listen_cb, &s->lsn_pop3);
    if (s->policy.tls)
        ms_tcp_listen(m->tcp, s->host, MS_POP3S_PORT, &pop3_listen_cb, &s->lsn_pop3s);
}

/* --- the client side: a mail check ------------------------------------ */

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailClient *client;
    MsMailServer *server;
    MsTcpConnId conn;
    MsPop3Client *core;
    gboolean done;
    MsMailTls *tls;
    gboolean implicit, told_login;
} Pop3c;

static void pop3c_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud);
static void pop3c_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void pop3c_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks pop3c_cb = { pop3c_connected, pop3c_data, pop3c_closed };

static void
c_message(gpointer ud, guint msgno, const char *uid, GBytes *message)
{
    Pop3c *x = ud;
    MsMail *m = x->mail;
    (void) msgno;
    if (uid && x->client->keep)
        g_ptr_array_add(x->client->seen_uids, g_strdup(uid));
    guint32 id = ms__mail_message_from_data(m, message);
    ms__mail_seen(m, x->client, id);
    const MsMessageRecord *rec = id ? ms_mail_message(m, id) : NULL;
    ms__mail_note(m, x->client->host, x->server->host, id,
                  "%s downloads message %s (\"%s\", %" G_GSIZE_FORMAT " bytes) for %s",
                  ms_net_host_name(m->net, x->client->host), rec ? rec->label : "?",
                  rec ? rec->subject : "", g_bytes_get_size(message), x->client->address);
}

static void
c_done(gpointer ud, MsPop3ClientResult result, const char *text)
{
    Pop3c *x = ud;
    MsMail *m = x->mail;
    x->done = TRUE;
    x->client->checking = FALSE;
    if (result == MS_POP3_CLIENT_OK)
        ms__mail_note(m, x->client->host, x->server->host, 0,
                      "%s has checked the mailbox of %s: %u new message%s",
                      ms_net_host_name(m->net, x->client->host), x->client->address,
                      ms_pop3_client_retrieved(x->core),
                      ms_pop3_client_retrieved(x->core) == 1 ? "" : "s");
    else
        ms__mail_note(m, x->client->host, x->server->host, 0,
                      "%s could not check the mailbox of %s: %s (%s)",
                      ms_net_host_name(m->net, x->client->host), x->client->address,
                      ms_pop3_client_result_to_string(result), text);
}

static void
c_trace(gpointer ud, gboolean from_client, const char *line)
{
    Pop3c *x = ud;
    ms__mail_proto_line(x->mail, x->client->host, x->server->host, 0, "pop3", from_client, line);
}

static const MsPop3ClientHooks pop3c_hooks = { c_message, c_done, c_trace };

static void
pop3c_free(Pop3c *x)
{
    ms__live_remove(x->mail, &x->live);
    ms_pop3_client_free(x->core);
    ms__mail_tls_free(x->tls);
    g_free(x);
}

/* Where the password went, told as it leaves. */
static void
tell_login(Pop3c *x)
{
    gboolean inside = FALSE;
    if (x->told_login || !ms_pop3_client_login_sent(x->core, &inside))
        return;
    x->told_login = TRUE;
    g_autofree char *reads =
        g_strdup_printf("\"USER %s\" and \"PASS %s\"", x->client->user, x->client->password);
    ms__mail_tls_tell_login(x->mail, x->client, x->server, inside, reads);
}

static void
pop3c_pump(Pop3c *x)
{
    GBytes *out;
    tell_login(x);
    while ((out = ms_pop3_client_take_output(x->core)))
        ms__mail_tls_out(x->tls, x->mail, x->conn, out);
    if (!x->tls && ms_pop3_client_wants_tls(x->core))
        x->tls = ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                         x->server->hostname, MS_POP3_PORT, TRUE, TRUE, 0);
    if (ms_pop3_client_is_closed(x->core)) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        pop3c_free(x);
    }
}

static void
pop3c_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    Pop3c *x = ud;
    (void) tcp;
    (void) conn;
    if (x->implicit && !x->tls) /* RFC 8314 3.3 */
        x->tls = ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                         x->server->hostname, MS_POP3S_PORT, TRUE, FALSE, 0);
}

static void
pop3c_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Pop3c *x = ud;
    (void) tcp;
    (void) conn;
    gboolean established;
    g_autofree char *failed = NULL;
    g_autoptr(GBytes) in =
        ms__mail_tls_client_in(x->tls, x->server->hostname, data, len, &established, &failed);
    if (failed)
        ms_pop3_client_tls_failed(x->core, failed);
    if (established && ms_pop3_client_wants_tls(x->core))
        ms_pop3_client_tls_started(x->core);
    if (in)
        ms_pop3_client_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    pop3c_pump(x);
}

static void
pop3c_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Pop3c *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    if (!x->done && why != MS_TCP_CLOSE_NORMAL) {
        x->done = TRUE;
        x->client->checking = FALSE;
        ms__mail_note(x->mail, x->client->host, x->server->host, 0,
                      "%s could not reach %s for POP3: %s",
                      ms_net_host_name(x->mail->net, x->client->host), x->server->hostname,
                      ms_tcp_close_reason_to_string(why));
    }
    ms_pop3_client_eof(x->core);
    pop3c_free(x);
}

void
ms__mua_check(MsMail *m, MsMailClient *c)
{
    if (c->imap_server != MS_NO_SERVER) {
        ms__imap_check(m, c);
        return;
    }
    if (c->pop3_server == MS_NO_SERVER || c->checking)
        return;
    MsMailServer *s = g_ptr_array_index(m->servers, c->pop3_server);
    Pop3c *x = g_new0(Pop3c, 1);
    ms__live_add(m, &x->live, x, (GDestroyNotify) pop3c_free);
    x->mail = m;
    x->client = c;
    x->server = s;
    MsPop3ClientConfig cfg;
    ms_pop3_client_config_init(&cfg);
    cfg.user = c->user;
    cfg.password = c->password;
    cfg.delete_after_retrieve = !c->keep;
    g_autofree const char **skip = NULL;
    if (c->keep && c->seen_uids->len) {
        skip = g_new0(const char *, c->seen_uids->len + 1);
        for (guint i = 0; i < c->seen_uids->len; i++)
            skip[i] = g_ptr_array_index(c->seen_uids, i);
        cfg.skip_uids = skip;
    }
    MsMailClientTls mode = m->pki ? c->pop3_tls : MS_MAIL_CLIENT_TLS_NONE;
    cfg.tls_level = mode == MS_MAIL_CLIENT_TLS_STARTTLS ? MS_POP3_TLS_ENCRYPT : MS_POP3_TLS_NONE;
    cfg.tls_active = mode == MS_MAIL_CLIENT_TLS_IMPLICIT;
    x->implicit = cfg.tls_active;
    x->core = ms_pop3_client_new(&cfg, &pop3c_hooks, x);
    c->checking = TRUE;
    guint16 port = x->implicit ? MS_POP3S_PORT : MS_POP3_PORT;
    if (m->pki)
        ms__mail_note(m, c->host, s->host, 0,
                      "%s checks for new mail: POP3 to %s port %u as user %s%s",
                      ms_net_host_name(m->net, c->host), s->hostname, port, c->user,
                      mode == MS_MAIL_CLIENT_TLS_STARTTLS   ? " (STLS first, then the login)"
                      : mode == MS_MAIL_CLIENT_TLS_IMPLICIT ? " (implicit TLS)"
                                                            : " (no TLS: everything in the clear)");
    else
        ms__mail_note(m, c->host, s->host, 0, "%s checks for new mail: POP3 to %s as user %s",
                      ms_net_host_name(m->net, c->host), s->hostname, c->user);
    x->conn =
        ms_tcp_connect(m->tcp, c->host, ms_net_host_addr(m->net, s->host), port, &pop3c_cb, x);
}

void
ms__pop3_init(MsMail *m)
{
    m->ev_pop3_resume = ms_engine_register(m->engine, "pop3-resume", on_resume, m);
}
