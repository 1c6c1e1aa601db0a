/* The bridge's SMTP listener: one MsSmtpServer core (the same one the
 * simulated hosts run) per real connection, with policy hooks that mirror
 * the simulated receiving side (sim/mail/mail_smtpd.c):
 *   - AUTH PLAIN/LOGIN checks the scenario's users of the bridged server;
 *   - RCPT for a domain of the simulated world is taken without AUTH, as an
 *     MX takes mail for its domains, if that domain's server has the user
 *     (else 550 5.1.1);
 *   - RCPT for any other domain only after AUTH and only with --relay-out
 *     (else 554 5.7.1): never an open relay;
 *   - DATA: the message is spooled (written and fsync'd) when there is a
 *     spool, then put into the simulation (ms_mail_inject) and/or the relay
 *     queue, and only then is 250 sent (RFC 5321 4.5.3.2.6 / 6.1: a 250
 *     means responsibility was taken). A spool failure answers 452 4.3.1
 *     (disk full) or 451 4.3.0 (any other write error) and nothing is
 *     queued (spool_failed).
 *   - Group commit: with a spool, the end-of-data reply is deferred
 *     (ms_smtp_server_defer) and the message joins the batch of messages
 *     waiting for durability; GROUP_COMMIT_MS after the first of them, one
 *     ms__bridge_spool_commit() makes the whole batch durable (one journal
 *     commit instead of one per message), then each message is queued and
 *     its session resumed with 250, or with the 4xx if the commit failed.
 *     A session that ends while its message waits leaves the message to
 *     the batch: it is durable and will be delivered (at least once, as a
 *     client that got no 250 sends it again).
 * TLS: STARTTLS is offered on the SMTP listener and the SMTPS listener is
 * inside TLS from the start (RFC 8314 3.3); AUTH is neither offered nor
 * accepted outside TLS unless --allow-plaintext-auth. The core discards
 * what the client pipelined after STARTTLS; the connection (bridge_conn.c)
 * runs the handshake.
 * Limits: line lengths, message size, recipients per message, NUL octets
 * and bad sequences are the core's (see sim/proto/smtp_server.c); connections,
 * idle and command timeouts (421 4.4.2) are the bridge's. A client that
 * disconnects mid-DATA never reached the data hook: nothing to undo. */
#include "bridge-private.h"

#include <string.h>

typedef struct {
    MsBridge *b;
    BridgeConn *conn;
    MsSmtpServer *core;
    guint32 message; /* the last message put into the world, for traces */
    gboolean started; /* greeting queued (implicit TLS: after the handshake) */
    struct Waiting *waiting; /* its message in the commit batch, or NULL */
} SmtpSession;

/* The wait that gathers a batch: short next to an fsync (milliseconds on
 * a disk), long enough for the sessions served in the same few loop
 * iterations to join. */
#define GROUP_COMMIT_MS 2

/* A message whose 250 waits for its batch's commit: what is needed to
 * queue it then (the session may be gone by that time). */
typedef struct Waiting {
    SmtpSession *x; /* NULL once the session ended */
    char *from;
    GPtrArray *world, *out; /* recipients, NULL-terminated */
    GBytes *message;
    char *helo;
    char peer[64];
    gboolean esmtp, auth, tls;
    BridgeSpoolFile *wf, *of; /* the spool files (NULL: no such recipients) */
} Waiting;

void
ms__bridge_smtp_waiting_free(gpointer p)
{
    Waiting *w = p;
    if (w->x)
        w->x->waiting = NULL;
    g_free(w->from);
    g_ptr_array_unref(w->world);
    g_ptr_array_unref(w->out);
    g_bytes_unref(w->message);
    g_free(w->helo);
    ms__bridge_spool_file_free(w->wf);
    ms__bridge_spool_file_free(w->of);
    g_free(w);
}

static const char *
domain_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? at + 1 : "";
}

static char *
local_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? g_strndup(address, (gsize) (at - address)) : g_strdup(address);
}

static gboolean
hook_auth(const MsSmtpSession *ss, const char *user, const char *password, MsSmtpReply *reply,
          gpointer ud)
{
    SmtpSession *x = ud;
    MsMail *m = x->b->mail;
    (void) ss;
    (void) reply;
    const char *dom = domain_of(user);
    if (*dom && !ms_mail_server_is_local(m, x->b->smtp_server, dom))
        return FALSE;
    g_autofree char *local = local_of(user);
    return ms_mail_store_check_password(ms_mail_server_store(m, x->b->smtp_server), local,
                                        password);
}

static void
hook_rcpt(const MsSmtpSession *ss, const char *rcpt, MsSmtpReply *reply, gpointer ud)
{
    SmtpSession *x = ud;
    MsMail *m = x->b->mail;
    const char *dom = domain_of(rcpt);
    guint server = *dom ? ms_mail_server_for_domain(m, dom) : x->b->smtp_server;
    if (server != G_MAXUINT) {
        g_autofree char *local = local_of(rcpt);
        /* RFC 5321 4.5.1: postmaster of a local domain is always taken. */
        if (!ms_mail_store_has_user(ms_mail_server_store(m, server), local) &&
            g_ascii_strcasecmp(local, "postmaster") != 0)
            ms_smtp_reply_set(reply, 550, "5.1.1",
                              "Recipient address rejected: User unknown in the simulated world");
        else if (!*dom)
            ms_smtp_reply_set(reply, 550, "5.1.3",
                              "Recipient address rejected: need a fully-qualified address");
        return;
    }
    if (!ss->auth_user)
        ms_smtp_reply_set(reply, 554, "5.7.1", "Relay access denied");
    else if (!x->b->relay)
        ms_smtp_reply_set(reply, 554, "5.7.1",
                          "Relay access denied: this bridge has no way out of the simulated world");
}

/* The refusal for mail that could not be made durable: never a 250.
 * A full disk (or quota) is 452 4.3.1, "insufficient system storage" (RFC
 * 5321 4.2.3, RFC 3463 3.4 "mail system full"); any other write error is
 * 451 4.3.0, "local error in processing" (RFC 5321 4.2.3, RFC 3463 3.4
 * "other or undefined mail system status"), the pair Postfix's cleanup
 * answers with for a queue file write error. Both are transient: the
 * client keeps the message and tries again (RFC 5321 4.5.4.1). */
static void
spool_failed(const GError *err, MsSmtpReply *reply)
{
    g_printerr("mailsim bridge: spool: %s\n", err->message);
    if (err->domain == G_FILE_ERROR && err->code == G_FILE_ERROR_NOSPC)
        ms_smtp_reply_set(reply, 452, "4.3.1", "Insufficient system storage, try again later");
    else
        ms_smtp_reply_set(reply, 451, "4.3.0",
                          "Local error: cannot write the spool, try again later");
}

/* Queues an accepted message (spooled at wpath/opath when there is a
 * spool, durably) into the world and/or the relay and sets the 250. */
static void
accept_message(MsBridge *b, SmtpSession *x, const char *from, const char *const *wr,
               const char *const *orr, GBytes *message, const MsMailInjectInfo *info,
               const char *wpath, const char *opath, MsSmtpReply *reply)
{
    g_autofree char *qid = NULL;
    if (wr[0]) {
        guint32 id = ms__bridge_inject(b, from, wr, message, info, wpath, &qid);
        if (x)
            x->message = id;
    }
    if (orr[0]) {
        ms__bridge_relay_queue(b->relay, from, orr, message, opath);
        for (const char *const *r = orr; *r; r++)
            b->stats.rcpts_relay++;
    }
    b->stats.messages++;
    b->stats.bytes += g_bytes_get_size(message);
    g_autofree char *text = g_strdup_printf("Ok: queued as %s", qid ? qid : "relay");
    ms_smtp_reply_set(reply, 250, "2.0.0", text);
}

static void pump(SmtpSession *x);

/* The end of a batch: one commit for all its spool files, then each
 * message queued and answered (250), or refused (4xx) if the commit
 * failed. */
static gboolean
commit_batch(gpointer data)
{
    MsBridge *b = data;
    b->commit_timer = 0;
    g_autoptr(GPtrArray) batch = g_steal_pointer(&b->commit_wait);
    b->commit_wait = g_ptr_array_new_with_free_func(ms__bridge_smtp_waiting_free);
    if (!batch || batch->len == 0)
        return G_SOURCE_REMOVE;
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    for (guint i = 0; i < batch->len; i++) {
        Waiting *w = g_ptr_array_index(batch, i);
        if (w->wf)
            g_ptr_array_add(files, w->wf);
        if (w->of)
            g_ptr_array_add(files, w->of);
    }
    g_autoptr(GError) err = NULL;
    gboolean ok = ms__bridge_spool_commit(b, files, &err);
    for (guint i = 0; i < batch->len; i++) {
        Waiting *w = g_ptr_array_index(batch, i);
        MsSmtpReply reply = { 0 };
        if (ok) {
            MsMailInjectInfo info = { w->helo, w->peer, w->esmtp, w->auth, "bridge", w->tls };
            accept_message(b, w->x, w->from, (const char *const *) w->world->pdata,
                           (const char *const *) w->out->pdata, w->message, &info,
                           w->wf ? w->wf->path : NULL, w->of ? w->of->path : NULL, &reply);
        } else {
            spool_failed(err, &reply);
        }
        SmtpSession *x = w->x;
        if (x) {
            x->waiting = NULL;
            w->x = NULL;
            x->conn->reply_due = FALSE;
            ms_smtp_server_resume(x->core, &reply);
            pump(x); /* may take the client's next message into a new batch */
        }
    }
    return G_SOURCE_REMOVE;
}

void
ms__bridge_smtp_flush(MsBridge *b)
{
    if (b->commit_timer) {
        g_source_remove(b->commit_timer);
        b->commit_timer = 0;
    }
    commit_batch(b);
    g_clear_pointer(&b->commit_wait, g_ptr_array_unref);
}

static GPtrArray *
strv_copy(const char *const *v)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    for (; *v; v++)
        g_ptr_array_add(a, g_strdup(*v));
    g_ptr_array_add(a, NULL);
    return a;
}

static void
hook_data(const MsSmtpSession *ss, const MsSmtpEnvelope *env, GBytes *message, MsSmtpReply *reply,
          gpointer ud)
{
    SmtpSession *x = ud;
    MsBridge *b = x->b;
    g_autoptr(GPtrArray) world = g_ptr_array_new();
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    for (guint i = 0; i < env->n_rcpts; i++) {
        const char *dom = domain_of(env->rcpts[i]);
        gboolean inside = ms_mail_server_for_domain(b->mail, dom) != G_MAXUINT;
        g_ptr_array_add(inside ? world : out, (gpointer) env->rcpts[i]);
    }
    g_ptr_array_add(world, NULL);
    g_ptr_array_add(out, NULL);
    const char *const *wr = (const char *const *) world->pdata;
    const char *const *orr = (const char *const *) out->pdata;
    if (!b->cfg.spool_dir) {
        MsMailInjectInfo info = { ss->helo,  x->conn->peer, ss->esmtp, ss->auth_user != NULL,
                                  "bridge", ss->tls };
        accept_message(b, x, env->mail_from, wr, orr, message, &info, NULL, NULL, reply);
        return;
    }
    g_autoptr(GError) err = NULL;
    Waiting *w = g_new0(Waiting, 1);
    if ((wr[0] && !(w->wf = ms__bridge_spool_begin(b, 'w', env->mail_from, wr, message, &err))) ||
        (orr[0] && !(w->of = ms__bridge_spool_begin(b, 'r', env->mail_from, orr, message, &err)))) {
        w->world = g_ptr_array_new();
        w->out = g_ptr_array_new();
        ms__bridge_smtp_waiting_free(w);
        spool_failed(err, reply);
        return;
    }
    w->x = x;
    w->from = g_strdup(env->mail_from);
    w->world = strv_copy(wr);
    w->out = strv_copy(orr);
    w->message = g_bytes_ref(message);
    w->helo = g_strdup(ss->helo);
    g_strlcpy(w->peer, x->conn->peer, sizeof w->peer);
    w->esmtp = ss->esmtp;
    w->auth = ss->auth_user != NULL;
    w->tls = ss->tls;
    x->waiting = w;
    x->conn->reply_due = TRUE; /* not idle: the reply is ours to send */
    g_ptr_array_add(b->commit_wait, w);
    ms_smtp_server_defer(x->core);
    if (!b->commit_timer)
        b->commit_timer = g_timeout_add(GROUP_COMMIT_MS, commit_batch, b);
}

/* The session's lines go into the trace like a simulated server's: the
 * narration at --level protocol shows them, and the JSON trace has them. */
static void
hook_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    SmtpSession *x = ud;
    ms_mail_trace_line(x->b->mail, x->b->smtp_server, x->message, "smtp", dir == MS_SMTP_TRACE_OUT,
                       line);
}

static const MsSmtpServerHooks hooks = { hook_auth, NULL, hook_rcpt, hook_data, NULL, hook_trace };

static void
pump(SmtpSession *x)
{
    GBytes *out;
    while ((out = ms_smtp_server_take_output(x->core))) {
        ms__bridge_conn_send(x->conn, out);
        g_bytes_unref(out);
    }
    if (ms_smtp_server_is_closed(x->core))
        ms__bridge_conn_close(x->conn);
    else if (ms_smtp_server_wants_tls(x->core))
        ms__bridge_conn_start_tls(x->conn); /* after the 220 is sent */
}

static void
s_tls_done(BridgeConn *c, gboolean ok)
{
    SmtpSession *x = c->session;
    if (!x->started) { /* implicit TLS: the session begins now */
        if (!ok)
            return;
        x->started = TRUE;
        ms_smtp_server_start(x->core);
    } else if (ok) {
        ms_smtp_server_tls_started(x->core);
    } else {
        ms_smtp_server_tls_failed(x->core);
        return;
    }
    pump(x);
}

static void
s_input(BridgeConn *c, const guint8 *data, gsize len)
{
    SmtpSession *x = c->session;
    ms_smtp_server_feed(x->core, data, len);
    pump(x);
}

static void
s_eof(BridgeConn *c)
{
    SmtpSession *x = c->session;
    if (!x->started || !ms_smtp_server_is_closed(x->core))
        x->b->stats.aborted++; /* a half-received message is simply dropped */
}

static void
s_timeout(BridgeConn *c, gboolean idle)
{
    SmtpSession *x = c->session;
    /* RFC 5321 4.5.3.2 timeouts; 421 then close (RFC 5321 3.8). */
    g_autofree char *line = g_strdup_printf("421 4.4.2 %s Error: %s\r\n",
                                            ms_mail_server_hostname(x->b->mail, x->b->smtp_server),
                                            idle ? "timeout exceeded" : "command too slow");
    ms__bridge_conn_send_str(c, line);
    ms__bridge_conn_close(c);
}

static void
s_destroy(BridgeConn *c)
{
    SmtpSession *x = c->session;
    if (x->waiting)
        x->waiting->x = NULL; /* the batch still commits and queues it */
    ms_smtp_server_free(x->core);
    g_free(x);
}

static const BridgeConnClass smtp_class = {
    s_input, s_eof, s_timeout, NULL, s_destroy, s_tls_done
};

void
ms__bridge_smtp_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls)
{
    const char *hostname = ms_mail_server_hostname(b->mail, b->smtp_server);
    g_autofree char *refusal =
        g_strdup_printf("421 4.7.0 %s Error: too many connections, try again later\r\n", hostname);
    if (ms__bridge_conn_refuse_if_full(b, conn, refusal))
        return;
    const MsMtaPolicy *pol = ms_mail_server_policy(b->mail, b->smtp_server);
    SmtpSession *x = g_new0(SmtpSession, 1);
    x->b = b;
    MsSmtpServerConfig cfg = { 0 };
    cfg.hostname = hostname;
    cfg.max_size = b->cfg.max_size ? b->cfg.max_size : pol->max_size;
    cfg.max_recipients = b->cfg.max_recipients ? b->cfg.max_recipients : pol->max_recipients;
    cfg.offer_auth = TRUE;
    cfg.offer_starttls = TRUE;
    cfg.tls_active = implicit_tls;
    cfg.auth_requires_tls = !b->cfg.allow_plaintext_auth;
    g_autofree char *greeting = g_strdup_printf("%s ESMTP mailsim bridge", hostname);
    cfg.greeting_text = greeting;
    x->core = ms_smtp_server_new(&cfg, &hooks, x);
    x->conn = ms__bridge_conn_new(b, conn, &smtp_class, x, TRUE);
    b->stats.smtp_sessions++;
    if (implicit_tls) {
        ms__bridge_conn_start_tls(x->conn);
        return;
    }
    x->started = TRUE;
    ms_smtp_server_start(x->core);
    pump(x);
}
