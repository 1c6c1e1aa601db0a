/* The mail client (MUA) of a simulated host: composing a message (RFC 5322
 * headers, a Message-ID the accounting follows) and submitting it to its
 * ISP's server on port 587 with SMTP AUTH (RFC 6409, RFC 4954). A refused
 * login (535) or a refused message leaves the message with the client, which
 * reports it. Also the scheduled mail checks (mail_pop3.c does the POP3,
 * mail_imapc.c the IMAP, and keeps a copy of each sent message in the
 * Sent folder of an IMAP client).
 * In a world that speaks TLS the client protects the session as its
 * settings say: STARTTLS on 587, required before the login (RFC 3207,
 * RFC 8314 3), or implicit TLS on 465 (RFC 8314 3.3); like every real mail
 * program it verifies the server's certificate and gives up (the message
 * stays in the outbox) when it does not pass. */
#include "mail-private.h"

#include <string.h>

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailClient *client;
    MsMailServer *server;
    guint32 message;
    MsTcpConnId conn;
    MsSmtpClient *core;
    gboolean finished;
    MsMailTls *tls; /* the TLS channel once STARTTLS succeeded (or at once on 465) */
    gboolean implicit;
    gboolean told_login;
    GBytes *data; /* the message: its copy for the Sent folder of an IMAP client */
} Submit;

static void submit_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud);
static void submit_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void submit_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks submit_cb = { NULL, submit_data, submit_closed };
static const MsTcpCallbacks submit_tls_cb = { submit_connected, submit_data, submit_closed };

static void
refuse_all(Submit *x, const char *why)
{
    MsMessageRecord *r = ms__mail_record(x->mail, x->message);
    gboolean any = FALSE;
    for (guint i = 0; i < r->rcpts->len; i++)
        any |= g_array_index(r->rcpts, MsRcptRecord, i).state == MS_RCPT_WITH_CLIENT;
    if (!any)
        return; /* already told (the transaction and the session both end) */
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (rr->state == MS_RCPT_WITH_CLIENT) {
            rr->state = MS_RCPT_REFUSED;
            ms__rcpt_touch(x->mail, rr);
            g_free(rr->detail);
            rr->detail = g_strdup(why);
        }
    }
    ms__mail_note(x->mail, x->client->host, x->server->host, x->message,
                  "%s could not send %s: %s; the message stays in the outbox",
                  ms_net_host_name(x->mail->net, x->client->host), r->label, why);
}

static void
h_rcpt(guint txn, guint rcpt, const MsSmtpReply *reply, gpointer ud)
{
    Submit *x = ud;
    (void) txn;
    MsMessageRecord *r = ms__mail_record(x->mail, x->message);
    if (reply->code >= 400 && rcpt < r->rcpts->len) {
        MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, rcpt);
        rr->state = MS_RCPT_REFUSED;
        ms__rcpt_touch(x->mail, rr);
        g_free(rr->detail);
        rr->detail = g_strdup_printf("submission server said: %u %s %s", reply->code,
                                     reply->enhanced, reply->text ? reply->text : "");
    }
}

static void
h_txn(guint txn, MsSmtpTxnStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Submit *x = ud;
    (void) txn;
    if (st == MS_SMTP_TXN_ACCEPTED) {
        gboolean enc = ms_smtp_client_tls_active(x->core);
        ms__mail_tls_count_hop(x->mail, x->message, enc);
        if (x->mail->pki && !enc)
            ms__mail_note(x->mail, x->client->host, x->server->host, x->message,
                          "the message crossed from %s to %s in the clear: every router and "
                          "link on the way could read it",
                          ms_net_host_name(x->mail->net, x->client->host), x->server->hostname);
        ms__mail_note(x->mail, x->client->host, x->server->host, x->message,
                      "%s has handed the message to its ISP's server %s",
                      ms_net_host_name(x->mail->net, x->client->host), x->server->hostname);
        ms__imap_save_sent(x->mail, x->client, x->message, x->data);
        return;
    }
    g_autofree char *why =
        reply && reply->code ? g_strdup_printf("the server said %u %s %s", reply->code,
                                               reply->enhanced, reply->text ? reply->text : "")
        /* the client's own TLS verdicts carry an enhanced code (4.7.x) */
        : reply && reply->enhanced[0] && reply->text ? g_strdup(reply->text)
                                                     : g_strdup("the connection was lost");
    refuse_all(x, why);
}

static void
h_session(MsSmtpSessionStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Submit *x = ud;
    if (st == MS_SMTP_SESSION_AUTH_FAILED) {
        g_autofree char *why =
            g_strdup_printf("login refused (%u %s %s)", reply ? reply->code : 0,
                            reply ? reply->enhanced : "", reply && reply->text ? reply->text : "");
        refuse_all(x, why);
    }
}

static void
h_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    Submit *x = ud;
    ms__mail_proto_line(x->mail, x->client->host, x->server->host, x->message, "smtp",
                        dir == MS_SMTP_TRACE_OUT, line);
}

static const MsSmtpClientHooks submit_hooks = { h_rcpt, h_txn, h_session, h_trace };

/* Where the password went, told as it leaves (once per session): the
 * line a lesson on TLS is about. */
static void
tell_login(Submit *x)
{
    gboolean inside = FALSE;
    if (x->told_login || !ms_smtp_client_auth_sent(x->core, &inside))
        return;
    x->told_login = TRUE;
    MsMail *m = x->mail;
    ms__mail_tls_count_login(m, x->client, inside);
    if (!m->pki)
        return; /* a world without TLS keeps its old story */
    if (inside)
        ms__mail_note(m, x->client->host, x->server->host, x->message,
                      "%s logged in to %s inside TLS: the password crossed the network "
                      "encrypted, and nobody on the path can read it",
                      ms_net_host_name(m->net, x->client->host), x->server->hostname);
    else {
        /* What an eavesdropper copies off the wire (RFC 4616 2: authzid,
         * NUL, user, NUL, password), and what it decodes to: these are
         * the simulation's own teaching passwords. */
        MsMailClient *c = x->client;
        gsize ul = strlen(c->address), pl = strlen(c->password);
        g_autofree guint8 *raw = g_malloc(ul + pl + 2);
        raw[0] = 0;
        memcpy(raw + 1, c->address, ul);
        raw[ul + 1] = 0;
        memcpy(raw + ul + 2, c->password, pl);
        g_autofree char *b64 = g_base64_encode(raw, ul + pl + 2);
        ms__mail_note(m, c->host, x->server->host, x->message,
                      "%s logged in to %s in the clear: anyone who sees the packets reads "
                      "\"AUTH PLAIN %s\", which is only base64 for the user %s and the password "
                      "\"%s\"",
                      ms_net_host_name(m->net, c->host), x->server->hostname, b64, c->address,
                      c->password);
    }
}

/* Ends the submission and lets go of its message (the hold it took over
 * from the record's creation). */
static void
submit_free(Submit *x)
{
    ms__live_remove(x->mail, &x->live);
    ms_smtp_client_free(x->core);
    ms__mail_tls_free(x->tls);
    if (x->data)
        g_bytes_unref(x->data);
    ms__mail_release(x->mail, x->message);
    g_free(x);
}

static void
submit_pump(Submit *x)
{
    GBytes *out;
    tell_login(x);
    while ((out = ms_smtp_client_take_output(x->core)))
        ms__mail_tls_out(x->tls, x->mail, x->conn, out);
    if (!x->tls && ms_smtp_client_wants_tls(x->core))
        x->tls = ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                         x->server->hostname, MS_SUBMISSION_PORT, TRUE, TRUE,
                                         x->message);
    if (ms_smtp_client_is_closed(x->core)) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        submit_free(x);
    }
}

static void
submit_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    Submit *x = ud;
    (void) tcp;
    (void) conn;
    if (x->implicit && !x->tls) /* RFC 8314 3.3: TLS from the first octet */
        x->tls =
            ms__mail_tls_client_new(x->mail, x->conn, x->client->host, x->server->host,
                                    x->server->hostname, MS_SMTPS_PORT, TRUE, FALSE, x->message);
}

static void
submit_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Submit *x = ud;
    (void) tcp;
    (void) conn;
    gboolean established;
    g_autofree char *failed = NULL;
    g_autoptr(GBytes) in =
        ms__mail_tls_client_in(x->tls, x->server->hostname, data, len, &established, &failed);
    if (failed)
        ms_smtp_client_tls_failed(x->core, failed);
    if (established && ms_smtp_client_wants_tls(x->core))
        ms_smtp_client_tls_started(x->core);
    if (in)
        ms_smtp_client_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    submit_pump(x);
}

static void
submit_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Submit *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    if (why != MS_TCP_CLOSE_NORMAL) {
        g_autofree char *text = g_strdup_printf("connection to %s %s", x->server->hostname,
                                                ms_tcp_close_reason_to_string(why));
        refuse_all(x, text);
    }
    ms_smtp_client_connection_lost(x->core);
    submit_free(x);
}

/* The message as a client writes it (RFC 5322), CRLF line ends. */
GBytes *
ms__mail_compose(MsMail *m, const char *from, const MsMessageRecord *r, const char *const *to,
                 const char *const *cc, const char *body, guint64 size)
{
    GString *s = g_string_new(NULL);
    char date[MS_MAIL_DATE_SIZE];
    /* RFC 5322 3.6.1: the origination date is when the author finished the
     * message and submitted it (the record's created_at: the submission
     * time, which ms_mail_submit() knows ahead of the event), not when the
     * message was composed at scenario set-up or first touched a server. */
    (void) m;
    ms__mail_date(r->created_at, date);
    g_autofree char *to_list = g_strjoinv(", ", (char **) to);
    g_string_append_printf(s, "From: %s\r\nTo: %s\r\n", from, to_list);
    if (cc && cc[0]) {
        g_autofree char *cc_list = g_strjoinv(", ", (char **) cc);
        g_string_append_printf(s, "Cc: %s\r\n", cc_list);
    }
    g_string_append_printf(
        s,
        "Subject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        r->subject, date, r->message_id);
    if (body) {
        /* Normalise the body's line ends to CRLF. */
        for (const char *p = body; *p; p++) {
            if (*p == '\r')
                continue;
            if (*p == '\n')
                g_string_append(s, "\r\n");
            else
                g_string_append_c(s, *p);
        }
        if (s->len < 2 || s->str[s->len - 1] != '\n')
            g_string_append(s, "\r\n");
    } else {
        /* Filler text up to `size` bytes of body, 72-character lines
         * ("NNNN " + 65 characters + CRLF), written without printf: large
         * worlds compose a million of these. */
        static const char line[] =
            "Simulated message text: the quick brown fox jumps over the lazy dog.   ";
        guint64 lines = (size + 71) / 72;
        gsize at = s->len;
        g_string_set_size(s, at + lines * 72);
        char *o = s->str + at;
        for (guint64 n = 0; n < lines; n++, o += 72) {
            guint v = (guint) (n % 10000);
            o[0] = (char) ('0' + v / 1000);
            o[1] = (char) ('0' + v / 100 % 10);
            o[2] = (char) ('0' + v / 10 % 10);
            o[3] = (char) ('0' + v % 10);
            o[4] = ' ';
            memcpy(o + 5, line, 65);
            o[70] = '\r';
            o[71] = '\n';
        }
    }
    gsize len = s->len;
    return g_bytes_new_take(g_string_free(s, FALSE), len);
}

typedef struct {
    guint32 message;
    guint client;
    GBytes *data;
    char **rcpts;
    char *from; /* MAIL FROM: the client's address, or what it claims to be */
} Pending;

/* Pending submissions are owned by the mail layer (m->pending) until their
 * event runs, so a world freed before then frees them too. */
static void
pending_free(gpointer data)
{
    Pending *p = data;
    g_strfreev(p->rcpts);
    g_bytes_unref(p->data);
    g_free(p->from);
    g_free(p);
}

static void
on_submit(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsMail *m = user_data;
    (void) e;
    Pending *p = ev->data.ptr[0];
    guint at;
    if (g_ptr_array_find(m->pending, p, &at))
        g_ptr_array_steal_index_fast(m->pending, at); /* now ours to free */
    MsMailClient *c = g_ptr_array_index(m->clients, p->client);
    const MsMessageRecord *r = ms_mail_message(m, p->message);
    if (c->smtp_server == MS_NO_SERVER) {
        ms__mail_release(m, p->message); /* it stays with the client */
        pending_free(p);
        return;
    }
    MsMailServer *s = g_ptr_array_index(m->servers, c->smtp_server);
    Submit *x = g_new0(Submit, 1);
    ms__live_add(m, &x->live, x, (GDestroyNotify) submit_free);
    x->mail = m;
    x->client = c;
    x->server = s;
    x->message = p->message;
    if (c->imap_server != MS_NO_SERVER)
        x->data = g_bytes_ref(p->data);
    MsSmtpClientConfig cfg = { 0 };
    cfg.helo_name = ms_net_host_name(m->net, c->host);
    cfg.auth_user = c->address;
    cfg.auth_password = c->password;
    char ip[MS_IPV4_STRLEN];
    ms_ipv4_format(ms_net_host_addr(m->net, s->host), ip);
    g_autofree char *peer_name = g_strdup_printf("%s[%s]", s->hostname, ip);
    MsMailClientTls mode = m->pki ? c->submit_tls : MS_MAIL_CLIENT_TLS_NONE;
    cfg.peer_name = peer_name;
    /* A mail program that uses TLS insists on it: it never falls back to
     * sending the password in the clear. */
    cfg.tls_level = mode == MS_MAIL_CLIENT_TLS_STARTTLS ? MS_SMTP_TLS_ENCRYPT : MS_SMTP_TLS_NONE;
    cfg.tls_active = mode == MS_MAIL_CLIENT_TLS_IMPLICIT;
    x->implicit = cfg.tls_active;
    x->core = ms_smtp_client_new(&cfg, &submit_hooks, x);
    ms_smtp_client_add_message(x->core, p->from, (const char *const *) p->rcpts, p->data);
    ms_smtp_client_finish(x->core);
    guint16 port = x->implicit ? MS_SMTPS_PORT : MS_SUBMISSION_PORT;
    const char *how = mode == MS_MAIL_CLIENT_TLS_STARTTLS ? " (STARTTLS first, then the login)"
                      : mode == MS_MAIL_CLIENT_TLS_IMPLICIT
                          ? " (implicit TLS: encrypted from the first octet)"
                      : m->pki ? " (no TLS: everything in the clear)"
                               : "";
    ms__mail_note(m, c->host, s->host, p->message,
                  "%s sends message %s (\"%s\", %" G_GSIZE_FORMAT
                  " bytes) from %s: SMTP to %s port %u, logging in as %s%s",
                  ms_net_host_name(m->net, c->host), r->label, r->subject,
                  g_bytes_get_size(p->data), p->from, s->hostname, port, c->address, how);
    x->conn = ms_tcp_connect_tagged(m->tcp, c->host, ms_net_host_addr(m->net, s->host), port,
                                    x->implicit ? &submit_tls_cb : &submit_cb, x, p->message);
    pending_free(p);
}

guint32
ms_mail_submit(MsMail *m, guint client, const char *label, const char *const *to,
               const char *const *cc, const char *subject, const char *body, guint64 size,
               MsTime at)
{
    g_return_val_if_fail(m != NULL && client < m->clients->len, 0);
    MsMailClient *c = g_ptr_array_index(m->clients, client);
    return ms_mail_submit_as(m, client, c->address, label, to, cc, subject, body, size, at);
}

guint32
ms_mail_submit_as(MsMail *m, guint client, const char *from, const char *label,
                  const char *const *to, const char *const *cc, const char *subject,
                  const char *body, guint64 size, MsTime at)
{
    g_return_val_if_fail(m != NULL && client < m->clients->len && from != NULL, 0);
    g_return_val_if_fail(label != NULL && to != NULL && to[0] != NULL, 0);
    MsMailClient *c = g_ptr_array_index(m->clients, client);
    GPtrArray *all = g_ptr_array_new();
    for (const char *const *p = to; p && *p; p++)
        g_ptr_array_add(all, (gpointer) *p);
    for (const char *const *p = cc; p && *p; p++)
        g_ptr_array_add(all, (gpointer) *p);
    g_ptr_array_add(all, NULL);
    guint32 id =
        ms__mail_new_record(m, label, from, (const char *const *) all->pdata, subject, c->host, 0);
    MsMessageRecord *r = ms__mail_record(m, id);
    r->created_at = at;
    Pending *p = g_new0(Pending, 1);
    p->message = id;
    p->client = client;
    p->from = g_strdup(from);
    p->data = ms__mail_compose(m, from, r, to, cc, body, size);
    p->rcpts = g_strdupv((char **) all->pdata);
    g_ptr_array_free(all, TRUE);
    g_ptr_array_add(m->pending, p);
    MsEventData d = { { 0 } };
    d.ptr[0] = p;
    ms_engine_schedule_from(m->engine, c->host, at, c->host, m->ev_submit, d);
    return id;
}

static void
on_check(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsMail *m = user_data;
    MsMailClient *c = g_ptr_array_index(m->clients, ev->data.u32[0]);
    ms__mua_check(m, c);
    MsTime every = ev->data.i64[1];
    if (every > 0)
        ms_engine_schedule_in(e, every, c->host, m->ev_check, ev->data);
}

void
ms_mail_check(MsMail *m, guint client, MsTime at, MsTime every)
{
    g_return_if_fail(m != NULL && client < m->clients->len);
    MsMailClient *c = g_ptr_array_index(m->clients, client);
    MsEventData d = { { 0 } };
    d.u32[0] = client;
    d.i64[1] = every;
    ms_engine_schedule_from(m->engine, c->host, at, c->host, m->ev_check, d);
}

void
ms__mua_init(MsMail *m)
{
    m->ev_submit = ms_engine_register(m->engine, "mua-submit", on_submit, m);
    m->pending = g_ptr_array_new_with_free_func(pending_free);
    m->ev_check = ms_engine_register(m->engine, "mua-check", on_check, m);
}
