/* The bridge's way out of the simulated world (--relay-out HOST:PORT):
 * mail that a real client sent, after AUTH, to a domain no simulated server
 * serves is handed to a real SMTP server by the same MsSmtpClient core the
 * simulated MTAs run, over a GSocketClient connection.
 *
 * Design: a queue of jobs (sender, recipients, message, spool file). When
 * jobs are due and no session runs, one connection is opened and every due
 * job goes over it as one transaction each (the core pipelines when the
 * server offers PIPELINING). A 2xx after the content ends the job (its
 * spool file is removed); a 5xx fails it for good (counted; the sender is
 * not notified: the client already has its 250, and the bridge has no
 * outside mailbox to send a DSN to); a 4xx or a lost connection puts it back
 * with a delay that doubles from relay_retry_ms up to 64 times that (the
 * shape of Postfix's backoff, in seconds instead of minutes), with no limit
 * on tries: it stays queued and is counted as such.
 * Costs: O(jobs) per scheduling decision. */
#include "bridge-private.h"

#include <string.h>

#define RELAY_MAX_BACKOFF 64u
#define RELAY_CONNECT_TIMEOUT_S 30u

typedef struct {
    char      *from;
    char     **rcpts;
    GBytes    *data;
    char      *path;
    guint      attempts;
    gint64     due_us;
} RelayJob;

struct _Relay {
    MsBridge      *b;
    char          *target;
    GSocketClient *client;
    GCancellable  *cancel;
    GPtrArray     *waiting;     /* RelayJob*, in arrival order */
    GPtrArray     *inflight;    /* RelayJob* per transaction of the running session (NULL once decided) */
    gboolean       connecting;
    BridgeConn    *conn;
    MsSmtpClient  *core;
    guint          timer;
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

void
ms__bridge_relay_queue(Relay *r, const char *from, const char *const *rcpts, GBytes *data, const char *spool_path)
{
    RelayJob *j = g_new0(RelayJob, 1);
    j->from = g_strdup(from);
    j->rcpts = g_strdupv((char **) rcpts);
    j->data = g_bytes_ref(data);
    j->path = g_strdup(spool_path);
    j->due_us = g_get_monotonic_time();
    g_ptr_array_add(r->waiting, j);
    r->b->stats.relay_queued++;
    kick(r);
}

static guint
n_rcpts(const RelayJob *j)
{
    return g_strv_length(j->rcpts);
}

/* A failed try: back in the queue after the backoff delay. */
static void
defer(Relay *r, RelayJob *j)
{
    guint64 mult = 1;
    for (guint i = 1; i < j->attempts && mult < RELAY_MAX_BACKOFF; i++)
        mult *= 2;
    j->due_us = g_get_monotonic_time() + (gint64) (mult * r->b->cfg.relay_retry_ms * 1000);
    g_ptr_array_add(r->waiting, j);
}

static void
hook_txn_result(guint txn, MsSmtpTxnStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Relay *r = ud;
    MsBridgeStats *s = &r->b->stats;
    if (txn >= r->inflight->len || !r->inflight->pdata[txn])
        return;
    RelayJob *j = g_steal_pointer(&r->inflight->pdata[txn]);
    if (st == MS_SMTP_TXN_TEMPFAIL) {
        defer(r, j);
        return;
    }
    s->relay_queued--;
    if (st == MS_SMTP_TXN_ACCEPTED) {
        s->relay_sent += n_rcpts(j);
    } else {
        s->relay_failed += n_rcpts(j);
        g_printerr("mailsim bridge: relay-out: %s refused mail from <%s>: %u %s\n", r->target, j->from,
                   reply ? reply->code : 0, reply && reply->text ? reply->text : "");
    }
    ms__bridge_spool_remove(r->b, j->path);
    job_free(j);
}

static const MsSmtpClientHooks client_hooks = { NULL, hook_txn_result, NULL, NULL };

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
            defer(r, j);
    }
    g_ptr_array_set_size(r->inflight, 0);
    r->conn = NULL;
    if (!r->b->stopping) {
        if (r->timer)
            g_source_remove(r->timer);
        r->timer = g_idle_add(on_timer, r);
    }
}

static const BridgeConnClass relay_class = { c_input, NULL, c_timeout, NULL, c_destroy };

static void
on_connected(GObject *src, GAsyncResult *res, gpointer ud)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(src), res, &err);
    Relay *r = ud;
    r->connecting = FALSE;
    if (!conn) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_printerr("mailsim bridge: relay-out: %s: %s\n", r->target, err->message);
        for (guint i = 0; i < r->inflight->len; i++)
            defer(r, g_steal_pointer(&r->inflight->pdata[i]));
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
