/* The bridge's way out of the simulated world (--relay-out HOST:PORT):
 * mail for domains no simulated server serves is handed to a real SMTP
 * server by the same MsSmtpClient core the simulated MTAs run, over a
 * GSocketClient connection. Two kinds of job:
 *   - a real client's message (sent over the bridge after AUTH): the relay
 *     owns it (and its spool file) and retries it itself;
 *   - a simulated server's queue entry (ms_mail_set_outbound): the entry
 *     stays in that server's queue, busy, and the relay only reports each
 *     outcome with ms_mail_outbound_result(); the simulated MTA's own retry
 *     schedule (simulated time) decides when to try again and when to give
 *     up, exactly as for delivery inside the world.
 *
 * Design: a queue of jobs. When jobs are due and no session runs, one
 * connection is opened and every due job goes over it as one transaction
 * each (the core pipelines when the server offers PIPELINING). Recipient
 * by recipient: a 2xx after the content delivers, a 5xx (to RCPT or to the
 * transaction) bounces to the sender with a DSN through the mail layer
 * (ms_mail_bounce_external for a real client's message: the DSN comes from
 * the bridged server, so a sender inside the world finds it in its
 * mailbox); a 4xx or a lost connection tries again. A real client's job is
 * retried after a delay that doubles from relay_retry_ms up to 64 times
 * that (Postfix's backoff shape, in seconds instead of minutes) and bounced
 * (4.4.7) once it has waited relay_give_up_ms of wall-clock time (default
 * 5 days, as Postfix's maximal_queue_lifetime): the relay talks to a real
 * server, whose outages last real time, so its clock is the wall clock.
 * Costs: O(jobs) per scheduling decision. */
#include "bridge-private.h"

#include <string.h>

#define RELAY_MAX_BACKOFF       64u
#define RELAY_CONNECT_TIMEOUT_S 30u

typedef struct {
    char *from;
    char **rcpts;
    GBytes *data;
    char *path;
    guint attempts;
    gint64 due_us, queued_us;
    gboolean world;  /* a simulated server's queue entry */
    guint server;    /* that server (world jobs) */
    char *qid;       /* its queue id (world jobs) */
    guint32 message; /* its message id (world jobs) */
    GArray *codes;   /* guint RCPT reply code per recipient (this try) */
} RelayJob;

struct _Relay {
    MsBridge *b;
    char *target;
    GSocketClient *client;
    GCancellable *cancel;
    GPtrArray *waiting;  /* RelayJob*, in arrival order */
    GPtrArray *inflight; /* RelayJob* per transaction of the running session (NULL once decided) */
    gboolean connecting;
    BridgeConn *conn;
    MsSmtpClient *core;
    guint timer;
};

static void kick(Relay *r);

static void
job_free(gpointer p)
{
    RelayJob *j = p;
    if (!j)
        return;
    g_free(j->from);
    g_strfreev(j->rcpts);
    g_bytes_unref(j->data);
    g_free(j->path);
    g_free(j->qid);
    if (j->codes)
        g_array_free(j->codes, TRUE);
    g_free(j);
}

Relay *
ms__bridge_relay_new(MsBridge *b, const char *target, GError **error)
{
    g_autoptr(GSocketConnectable) addr = g_network_address_parse(target, 25, error);
    if (!addr) {
        g_prefix_error(error, "--relay-out: ");
        return NULL;
    }
    Relay *r = g_new0(Relay, 1);
    r->b = b;
    r->target = g_strdup(target);
    r->client = g_socket_client_new();
    g_socket_client_set_enable_proxy(r->client, FALSE);
    g_socket_client_set_timeout(r->client, RELAY_CONNECT_TIMEOUT_S);
    r->cancel = g_cancellable_new();
    r->waiting = g_ptr_array_new_with_free_func(job_free);
    r->inflight = g_ptr_array_new_with_free_func(job_free);
    return r;
}

void
ms__bridge_relay_free(Relay *r)
{
    if (!r)
        return;
    if (r->timer)
        g_source_remove(r->timer);
    g_cancellable_cancel(r->cancel);
    /* The connect callback must run before r goes away. */
    while (r->connecting)
        g_main_context_iteration(NULL, TRUE);
    if (r->conn)
        ms__bridge_conn_free(r->conn);
    g_object_unref(r->cancel);
    g_object_unref(r->client);
    g_ptr_array_unref(r->waiting);
    g_ptr_array_unref(r->inflight);
    g_free(r->target);
    g_free(r);
}

static RelayJob *
job_new(const char *from, const char *const *rcpts, GBytes *data)
{
    RelayJob *j = g_new0(RelayJob, 1);
    j->from = g_strdup(from);
    j->rcpts = g_strdupv((char **) rcpts);
    j->data = g_bytes_ref(data);
    j->due_us = j->queued_us = g_get_monotonic_time();
    j->codes = g_array_new(FALSE, TRUE, sizeof(guint));
    return j;
}

void
ms__bridge_relay_queue(Relay *r, const char *from, const char *const *rcpts, GBytes *data,
                       const char *spool_path)
{
    RelayJob *j = job_new(from, rcpts, data);
    j->path = g_strdup(spool_path);
    g_ptr_array_add(r->waiting, j);
    r->b->stats.relay_queued++;
    kick(r);
}

void
ms__bridge_relay_outbound(const MsMailOutbound *job, gpointer ud)
{
    Relay *r = ud;
    RelayJob *j = job_new(job->from, job->rcpts, job->data);
    j->world = TRUE;
    j->server = job->server;
    j->qid = g_strdup(job->queue_id);
    j->message = job->message;
    g_ptr_array_add(r->waiting, j);
    r->b->stats.relay_queued++;
    if (job->attempt <= 1)
        r->b->stats.rcpts_relay += g_strv_length(j->rcpts);
    kick(r);
}

/* Drops recipient i from a real client's job (it is settled). */
static void
job_drop_rcpt(RelayJob *j, guint i)
{
    guint n = g_strv_length(j->rcpts);
    g_free(j->rcpts[i]);
    memmove(&j->rcpts[i], &j->rcpts[i + 1], (n - i) * sizeof(char *));
    g_array_remove_index(j->codes, i);
}

/* Puts a real client's job back after a failed try, or bounces what is
 * left of it (4.4.7) once it has waited relay_give_up_ms. */
static void
defer(Relay *r, RelayJob *j, const char *why)
{
    MsBridge *b = r->b;
    gint64 now = g_get_monotonic_time();
    if (now - j->queued_us >= (gint64) b->cfg.relay_give_up_ms * 1000) {
        g_autofree char *diag = g_strdup_printf("delivery time expired; last error: %s", why);
        for (char **rc = j->rcpts; *rc; rc++) {
            ms_mail_bounce_external(b->mail, b->smtp_server, j->from, *rc, "4.4.7", diag, j->data);
            b->stats.relay_failed++;
        }
        b->stats.relay_queued--;
        ms__bridge_spool_remove(b, j->path);
        job_free(j);
        return;
    }
    guint64 mult = 1;
    for (guint i = 1; i < j->attempts && mult < RELAY_MAX_BACKOFF; i++)
        mult *= 2;
    j->due_us = now + (gint64) (mult * b->cfg.relay_retry_ms * 1000);
    g_ptr_array_add(r->waiting, j);
}

/* A try that got no answer (the connection failed or was lost). */
static void
no_answer(Relay *r, RelayJob *j, const char *why)
{
    if (j->world) {
        ms_mail_outbound_result(r->b->mail, j->server, j->qid, NULL, 0, "4.4.1", why);
        r->b->stats.relay_queued--;
        job_free(j);
    } else {
        defer(r, j, why);
    }
}

static void
hook_rcpt_result(guint txn, guint rcpt, const MsSmtpReply *reply, gpointer ud)
{
    Relay *r = ud;
    if (txn >= r->inflight->len || !r->inflight->pdata[txn])
        return;
    RelayJob *j = r->inflight->pdata[txn];
    if (rcpt < j->codes->len)
        g_array_index(j->codes, guint, rcpt) = reply ? reply->code : 0;
}

static void
hook_txn_result(guint txn, MsSmtpTxnStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Relay *r = ud;
    MsBridge *b = r->b;
    MsBridgeStats *s = &b->stats;
    if (txn >= r->inflight->len || !r->inflight->pdata[txn])
        return;
    RelayJob *j = g_steal_pointer(&r->inflight->pdata[txn]);
    guint code = reply ? reply->code : 0;
    const char *enh = reply && reply->enhanced[0] ? reply->enhanced : NULL;
    const char *text = reply && reply->text ? reply->text : "";
    g_autofree char *why = g_strdup_printf("%s said: %u %s", r->target, code, text);
    /* Recipient by recipient: refused with 5xx -> bounce; accepted and the
     * content taken -> delivered; the rest (4xx) stay for another try. */
    for (guint i = 0; j->rcpts[i];) {
        guint rc = g_array_index(j->codes, guint, i);
        gboolean sent = st == MS_SMTP_TXN_ACCEPTED && rc >= 200 && rc < 300;
        gboolean refused =
            (rc >= 500 && rc < 600) || (st == MS_SMTP_TXN_PERMFAIL && !(rc >= 400 && rc < 500));
        if (!sent && !refused) {
            i++;
            continue;
        }
        guint c = sent ? code : rc >= 500 ? rc : code;
        if (refused) {
            s->relay_failed++;
            g_printerr("mailsim bridge: relay-out: %s refused <%s> from <%s>: %u %s\n", r->target,
                       j->rcpts[i], j->from, c, text);
        } else {
            s->relay_sent++;
        }
        if (j->world)
            ms_mail_outbound_result(b->mail, j->server, j->qid, j->rcpts[i], c,
                                    refused ? enh : NULL, why);
        else if (refused)
            ms_mail_bounce_external(b->mail, b->smtp_server, j->from, j->rcpts[i],
                                    enh ? enh : "5.0.0", why, j->data);
        job_drop_rcpt(j, i);
    }
    if (!j->rcpts[0]) {
        s->relay_queued--;
        ms__bridge_spool_remove(b, j->path);
        job_free(j);
        return;
    }
    if (j->world) {
        ms_mail_outbound_result(b->mail, j->server, j->qid, NULL,
                                code >= 400 && code < 500 ? code : 451,
                                enh && enh[0] == '4' ? enh : "4.0.0", why);
        s->relay_queued--;
        job_free(j);
        return;
    }
    defer(r, j, why);
}

static void
hook_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    Relay *r = ud;
    RelayJob *first = r->inflight->len ? g_ptr_array_index(r->inflight, 0) : NULL;
    guint server = first && first->world ? first->server : r->b->smtp_server;
    ms_mail_trace_line(r->b->mail, server, first && first->world ? first->message : 0, "smtp",
                       dir == MS_SMTP_TRACE_OUT, line);
}

static const MsSmtpClientHooks client_hooks = { hook_rcpt_result, hook_txn_result, NULL,
                                                hook_trace };

static void
pump(Relay *r)
{
    GBytes *out;
    while ((out = ms_smtp_client_take_output(r->core))) {
        ms__bridge_conn_send(r->conn, out);
        g_bytes_unref(out);
    }
    if (ms_smtp_client_is_closed(r->core))
        ms__bridge_conn_close(r->conn);
}

static void
c_input(BridgeConn *c, const guint8 *data, gsize len)
{
    Relay *r = c->session;
    ms_smtp_client_feed(r->core, data, len);
    pump(r);
}

static void
c_timeout(BridgeConn *c, gboolean idle)
{
    (void) idle;
    ms__bridge_conn_abort(c);
}

static gboolean
on_timer(gpointer ud)
{
    Relay *r = ud;
    r->timer = 0;
    kick(r);
    return G_SOURCE_REMOVE;
}

static void
c_destroy(BridgeConn *c)
{
    Relay *r = c->session;
    /* Whatever was not answered fails temporarily (deferred by the hook). */
    ms_smtp_client_connection_lost(r->core);
    g_clear_pointer(&r->core, ms_smtp_client_free);
    for (guint i = 0; i < r->inflight->len; i++) {
        RelayJob *j = g_steal_pointer(&r->inflight->pdata[i]);
        if (j)
            no_answer(r, j, "the connection to the real server was lost");
    }
    g_ptr_array_set_size(r->inflight, 0);
    r->conn = NULL;
    if (!r->b->stopping) {
        if (r->timer)
            g_source_remove(r->timer);
        r->timer = g_idle_add(on_timer, r);
    }
}

static const BridgeConnClass relay_class = { c_input, NULL, c_timeout, NULL, c_destroy, NULL };

static void
on_connected(GObject *src, GAsyncResult *res, gpointer ud)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketConnection) conn =
        g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(src), res, &err);
    Relay *r = ud;
    r->connecting = FALSE;
    if (!conn) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_printerr("mailsim bridge: relay-out: %s: %s\n", r->target, err->message);
        g_autofree char *why = g_strdup_printf("%s: %s", r->target, err->message);
        for (guint i = 0; i < r->inflight->len; i++)
            no_answer(r, g_steal_pointer(&r->inflight->pdata[i]), why);
        g_ptr_array_set_size(r->inflight, 0);
        if (!r->b->stopping)
            kick(r);
        return;
    }
    MsSmtpClientConfig cfg = { 0 };
    cfg.helo_name = ms_mail_server_hostname(r->b->mail, r->b->smtp_server);
    r->core = ms_smtp_client_new(&cfg, &client_hooks, r);
    for (guint i = 0; i < r->inflight->len; i++) {
        RelayJob *j = g_ptr_array_index(r->inflight, i);
        g_array_set_size(j->codes, g_strv_length(j->rcpts));
        memset(j->codes->data, 0, j->codes->len * sizeof(guint));
        ms_smtp_client_add_message(r->core, j->from, (const char *const *) j->rcpts, j->data);
    }
    ms_smtp_client_finish(r->core);
    r->conn = ms__bridge_conn_new(r->b, conn, &relay_class, r, FALSE);
    pump(r);
}

/* Starts a session for the due jobs, or sets the timer for the next one. */
static void
kick(Relay *r)
{
    if (r->b->stopping || r->connecting || r->conn || r->waiting->len == 0)
        return;
    gint64 now = g_get_monotonic_time(), next = G_MAXINT64;
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(job_free);
    for (guint i = 0; i < r->waiting->len; i++) {
        RelayJob *j = g_steal_pointer(&r->waiting->pdata[i]);
        if (j->due_us <= now) {
            j->attempts++;
            r->b->stats.relay_attempts++;
            g_ptr_array_add(r->inflight, j);
        } else {
            next = MIN(next, j->due_us);
            g_ptr_array_add(keep, j);
        }
    }
    g_ptr_array_set_size(r->waiting, 0);
    for (guint i = 0; i < keep->len; i++)
        g_ptr_array_add(r->waiting, g_steal_pointer(&keep->pdata[i]));
    if (r->inflight->len) {
        r->connecting = TRUE;
        g_socket_client_connect_to_host_async(r->client, r->target, 25, r->cancel, on_connected, r);
    } else if (next != G_MAXINT64) {
        if (r->timer)
            g_source_remove(r->timer);
        r->timer = g_timeout_add((guint) ((next - now) / 1000 + 1), on_timer, r);
    }
}
