/* The sending side of a mail server: the MTA queue and its delivery
 * attempts. A queue entry is one message for the recipients of one domain
 * (as Postfix splits a message per destination). An attempt:
 *   1. the next hop: the smarthost if there is one; else the domain's MX
 *      records by preference (equal preferences shuffled from the host's
 *      random stream), a null MX (RFC 7505) bounces at once, no MX means the
 *      domain's own address (RFC 5321 5.1), NXDOMAIN bounces (5.4.4), a DNS
 *      failure defers;
 *   2. the exchanges' addresses, from the glue the answer carried or an A
 *      lookup each; at most MS_MX_ADDRESS_LIMIT of them;
 *   3. for each address in turn: TCP to port 25 and an SMTP client session;
 *      a refused or timed-out connection, a refused greeting or a 421 moves
 *      on to the next address; a 4xx to the transaction defers; 5xx bounces
 *      (RFC 3464 DSN from the null sender, never for a bounce). A
 *      connection not established within the profile's connect timeout
 *      (Postfix smtp_connect_timeout 30 s, see mta_profile.c) is abandoned
 *      (ms_tcp_abort) and counts as timed out, as the real MTA's does.
 * A deferred entry is tried again by the profile's schedule and bounced
 * when it would pass the give-up age (Postfix: with the last deferral's status;
 * Exim, OpenSMTPD: 4.4.7).
 *
 * The way out (ms_mail_set_outbound, the bridge's --relay-out): an entry for
 * a domain that no server of the world serves or backs up, from a server
 * without a smarthost, is handed to the outbound function instead of DNS
 * and stays busy in the queue until ms_mail_outbound_result() reports the
 * real server's answer, which delivers, bounces or defers it as above.
 *
 * Ownership: the server's queue owns its entries; an attempt in progress
 * holds a session that points at its entry, and entries are never freed
 * while busy. Timer events carry the entry and are cancelled with it. */
#include "mail-private.h"
#include "mail_tls_policy-private.h"

#include <string.h>

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailQueueEntry *entry;
    MsTcpConnId conn;
    MsHostId peer;
    MsSmtpClient *core;
    GArray *rcpt_codes;    /* guint reply code per rcpt, 0 = none */
    GPtrArray *rcpt_texts; /* char* reply per rcpt */
    int txn_status;        /* -1: none */
    char *txn_reply;
    guint txn_code;
    MsSmtpSessionStatus session_status;
    gboolean session_done;
    gboolean finished;
    MsEventId connect_timer; /* until the handshake completes */
    MsMailTls *tls;          /* after STARTTLS succeeded */
    gboolean tls_verify;     /* smtp_tls_security_level=verify */
    MsSmtpTlsLevel tls_level; /* in force, after MTA-STS and DANE raised it */
    gboolean clear_retry;     /* in clear after a failed handshake at may */
    char *session_text;      /* the client's own reason when TLS ended it */
    MsMailTlsAttempt *pol;   /* attackers on the path, MTA-STS (mail_tls_policy.c) */
} Attempt;

static void try_next_address(MsMail *m, MsMailQueueEntry *e);
static void start_attempt(MsMail *m, MsMailQueueEntry *e);

void
ms__queue_entry_free(MsMailQueueEntry *e)
{
    if (!e)
        return;
    if (e->timer)
        ms_engine_cancel(e->mail->engine, e->timer);
    ms__mail_release(e->mail, e->message);
    g_free(e->from);
    g_ptr_array_unref(e->rcpts);
    g_free(e->domain);
    g_bytes_unref(e->data);
    if (e->addrs)
        g_array_free(e->addrs, TRUE);
    if (e->addr_hosts)
        g_array_free(e->addr_hosts, TRUE);
    g_free(e->last_error);
    g_free(e);
}

/* Reports the server's queue length (for plots of queue length over time). */
static void
trace_queue(MsMail *m, MsMailServer *s)
{
    if (!ms_trace_enabled(m->trace))
        return;
    MsTraceRecord r = { 0 };
    r.at = ms_engine_now(m->engine);
    r.kind = MS_TRACE_QUEUE;
    r.host = s->host;
    r.peer = MS_HOST_WORLD;
    r.code = s->queue->len;
    ms_trace_emit(m->trace, &r);
}

static void
entry_remove(MsMail *m, MsMailQueueEntry *e)
{
    if (e->timer)
        ms_engine_cancel(m->engine, e->timer);
    e->timer = 0;
    MsMailServer *s = e->server;
    g_ptr_array_remove(s->queue, e);
    ms__queue_entry_free(e);
    trace_queue(m, s);
}

static void
on_retry(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsMail *m = user_data;
    MsMailQueueEntry *e = ev->data.ptr[0];
    (void) engine;
    e->timer = 0;
    start_attempt(m, e);
}

static void on_connect_timeout(MsEngine *engine, const MsEvent *ev, gpointer user_data);

void
ms__mta_init(MsMail *m)
{
    m->ev_retry = ms_engine_register(m->engine, "mta-attempt", on_retry, m);
    m->ev_connect_timeout =
        ms_engine_register(m->engine, "mta-connect-timeout", on_connect_timeout, m);
}

static void
schedule_attempt(MsMail *m, MsMailQueueEntry *e, MsTime at)
{
    MsEventData d = { { 0 } };
    d.ptr[0] = e;
    e->timer = ms_engine_schedule(m->engine, at, e->server->host, m->ev_retry, d);
}

void
ms__mta_enqueue(MsMail *m, MsMailServer *s, guint32 message, const char *from, GPtrArray *rcpts,
                const char *domain, GBytes *data)
{
    MsMailQueueEntry *e = g_new0(MsMailQueueEntry, 1);
    e->mail = m;
    e->server = s;
    e->message = message;
    ms__mail_hold(m, message);
    ms__mail_queue_id(s, e->qid);
    e->from = g_strdup(from);
    e->rcpts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < rcpts->len; i++)
        g_ptr_array_add(e->rcpts, g_strdup(g_ptr_array_index(rcpts, i)));
    e->domain = g_strdup(domain);
    e->data = g_bytes_ref(data);
    e->queued_at = ms_engine_now(m->engine);
    g_ptr_array_add(s->queue, e);
    s->peak_queue = MAX(s->peak_queue, s->queue->len);
    trace_queue(m, s);
    schedule_attempt(m, e, ms_engine_now(m->engine));
}

/* Bounces every remaining recipient of e (why.arrival: when e was queued),
 * then drops e. */
static void
bounce_all(MsMail *m, MsMailQueueEntry *e, MsBounceReason why)
{
    why.arrival = e->queued_at;
    for (guint i = 0; i < e->rcpts->len; i++)
        ms__mail_bounce(m, e->server, e->message, e->from, g_ptr_array_index(e->rcpts, i), &why,
                        e->data);
    entry_remove(m, e);
}

/* A reason in the reporting MTA's own words (no remote MTA replied). */
static MsBounceReason
own_reason(const char *status, const char *text)
{
    return (MsBounceReason){ status, NULL, NULL, text, 0 };
}

static void
defer(MsMail *m, MsMailQueueEntry *e, const char *status, const char *why)
{
    MsTime now = ms_engine_now(m->engine);
    e->busy = FALSE;
    /* `why` may be e->last_error itself (try_next_address passes it when
     * every address failed): copy before freeing the old text. */
    char *copy = g_strdup(why);
    g_free(e->last_error);
    e->last_error = copy;
    why = copy;
    g_strlcpy(e->last_status, status, sizeof e->last_status);
    for (guint i = 0; i < e->rcpts->len; i++) {
        MsRcptRecord *rr = ms__mail_rcpt(m, e->message, g_ptr_array_index(e->rcpts, i));
        if (rr) {
            rr->deferrals++;
            ms__rcpt_touch(m, rr);
            g_free(rr->detail);
            rr->detail = g_strdup_printf("deferred at %s: %s", e->server->hostname, why);
        }
    }
    MsTime next = ms_mta_next_retry(&e->server->policy, e->attempts, e->queued_at, now);
    if (next == MS_TIME_INFINITE) {
        /* Postfix turns the defer log into the bounce: the last
         * deferral's status and reason, "Action: failed" (qmgr_active.c
         * expires the message; bounce(8) reports the logged records).
         * Exim and OpenSMTPD report the expiry itself, 4.4.7. */
        if (e->server->policy.profile == MS_MTA_POSTFIX) {
            bounce_all(m, e, own_reason(e->last_status, why));
            return;
        }
        g_autofree char *diag = g_strdup_printf("delivery time expired; last error: %s", why);
        bounce_all(m, e, own_reason("4.4.7", diag));
        return;
    }
    g_autofree char *when = ms_time_to_string(next - now);
    /* Postfix's retries start at a deferred-queue scan (mta_profile.c) */
    const char *scan = e->server->policy.profile == MS_MTA_POSTFIX
                           ? ", at its queue manager's next queue scan"
                           : "";
    ms__mail_note(m, e->server->host, MS_HOST_WORLD, e->message,
                  "%s keeps the message for %s in its queue (%s) and will try again in %s%s",
                  e->server->hostname, e->domain, why, when, scan);
    schedule_attempt(m, e, next);
}

static void
add_address(MsMailQueueEntry *e, guint32 addr, MsHostId host)
{
    if (e->addrs->len >= MS_MX_ADDRESS_LIMIT)
        return;
    for (guint i = 0; i < e->addrs->len; i++)
        if (g_array_index(e->addrs, guint32, i) == addr)
            return;
    g_array_append_val(e->addrs, addr);
    g_array_append_val(e->addr_hosts, host);
}

/* Pending A lookups of exchanges without glue, in MX order. */
typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailQueueEntry *entry;
    GPtrArray *names; /* char*, exchanges still to resolve, in order */
    guint next;
    /* How the failed lookups failed: the last permanent one (NXDOMAIN or
     * NODATA, with its name) and whether any was temporary. */
    MsResolveStatus perm_st;
    const char *perm_name, *temp_name; /* borrowed from names; NULL: none */
} ALookup;

static void
alookup_free(ALookup *al)
{
    ms__live_remove(al->mail, &al->live);
    g_ptr_array_unref(al->names);
    g_free(al);
}

static void a_lookup_next(ALookup *al);

static void
on_a(MsResolver *r, MsResolveStatus st, GPtrArray *recs, GPtrArray *add, gboolean cached,
     gpointer ud)
{
    ALookup *al = ud;
    (void) r;
    (void) add;
    (void) cached;
    if (st == MS_RESOLVE_OK)
        for (guint i = 0; i < recs->len; i++) {
            MsDnsRecord *a = g_ptr_array_index(recs, i);
            add_address(al->entry, a->rdata.a, ms_net_host_by_addr(al->mail->net, a->rdata.a));
        }
    else if (st == MS_RESOLVE_NXDOMAIN || st == MS_RESOLVE_NODATA) {
        al->perm_st = st;
        al->perm_name = g_ptr_array_index(al->names, al->next - 1);
    } else {
        al->temp_name = g_ptr_array_index(al->names, al->next - 1);
    }
    a_lookup_next(al);
}

static void
a_lookup_next(ALookup *al)
{
    if (al->next < al->names->len && al->entry->addrs->len < MS_MX_ADDRESS_LIMIT) {
        const char *name = g_ptr_array_index(al->names, al->next++);
        ms_resolver_lookup(al->entry->server->resolver, name, MS_DNS_TYPE_A, al->entry->message,
                           on_a, al);
        return;
    }
    MsMail *m = al->mail;
    MsMailQueueEntry *e = al->entry;
    if (e->addrs->len == 0) {
        /* Postfix smtp(8): no address for any exchanger. When every lookup
         * failed for good (the name does not exist, or has no A record)
         * the message bounces with 5.4.4; when one failed for now, it
         * stays queued with 4.4.3. */
        gboolean permanent = al->perm_name && !al->temp_name;
        const char *error = permanent ? (al->perm_st == MS_RESOLVE_NXDOMAIN
                                             ? "Host not found"
                                             : "Host found but no data record of requested type")
                                      : "Host not found, try again";
        const char *name = permanent ? al->perm_name : al->temp_name;
        g_autofree char *why = name ? g_strdup_printf("Host or domain name not found. Name "
                                                      "service error for name=%s type=A: %s",
                                                      name, error)
                                    : g_strdup("no address found for the mail exchangers");
        alookup_free(al);
        if (permanent)
            bounce_all(m, e, own_reason("5.4.4", why));
        else
            defer(m, e, name ? "4.4.3" : "4.4.4", why);
        return;
    }
    alookup_free(al);
    try_next_address(m, e);
}

static gint
mx_cmp(gconstpointer a, gconstpointer b)
{
    const MsDnsRecord *x = *(MsDnsRecord *const *) a, *y = *(MsDnsRecord *const *) b;
    return (int) x->rdata.mx.preference - (int) y->rdata.mx.preference;
}

static void
on_mx(MsResolver *r, MsResolveStatus st, GPtrArray *recs, GPtrArray *add, gboolean cached,
      gpointer ud)
{
    MsMailQueueEntry *e = ud;
    MsMail *m = e->mail;
    MsMailServer *s = e->server;
    (void) r;
    (void) cached;
    /* Postfix smtp(8)'s words and codes for a failed MX lookup: NXDOMAIN
     * is permanent (5.4.4, "Host not found"); a timeout or SERVFAIL is
     * temporary (4.4.3, "Host not found, try again"), and the message
     * stays queued. */
    if (st == MS_RESOLVE_NXDOMAIN) {
        g_autofree char *diag = g_strdup_printf("Host or domain name not found. Name service "
                                                "error for name=%s type=MX: Host not found",
                                                e->domain);
        bounce_all(m, e, own_reason("5.4.4", diag));
        return;
    }
    if (st == MS_RESOLVE_TIMEOUT || st == MS_RESOLVE_SERVFAIL) {
        g_autofree char *why = g_strdup_printf("Host or domain name not found. Name service error "
                                               "for name=%s type=MX: Host not found, try again",
                                               e->domain);
        defer(m, e, "4.4.3", why);
        return;
    }
    ALookup *al = g_new0(ALookup, 1);
    ms__live_add(m, &al->live, al, (GDestroyNotify) alookup_free);
    al->mail = m;
    al->entry = e;
    al->names = g_ptr_array_new_with_free_func(g_free);
    if (st == MS_RESOLVE_NODATA || recs->len == 0) {
        ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                      "%s has no MX record: %s uses its address directly (RFC 5321 5.1)", e->domain,
                      s->hostname);
        g_ptr_array_add(al->names, g_strdup(e->domain));
    } else {
        for (guint i = 0; i < recs->len; i++)
            if (ms_dns_record_is_null_mx(g_ptr_array_index(recs, i))) {
                alookup_free(al);
                /* RFC 7505 4.2: 5.1.10; the words are Postfix smtp(8)'s. */
                g_autofree char *diag =
                    g_strdup_printf("Domain %s does not accept mail (nullMX)", e->domain);
                bounce_all(m, e, own_reason("5.1.10", diag));
                return;
            }
        GPtrArray *mx = g_ptr_array_new();
        for (guint i = 0; i < recs->len; i++)
            g_ptr_array_add(mx, g_ptr_array_index(recs, i));
        g_ptr_array_sort(mx, mx_cmp); /* stable: keeps the answer's order within a preference */
        /* Shuffle equal preferences with the host's stream (RFC 5321 5.1). */
        MsRng *rng = ms_engine_host_rng(m->engine, s->host);
        for (guint i = 0; i < mx->len;) {
            guint j = i;
            guint16 pref = ((MsDnsRecord *) mx->pdata[i])->rdata.mx.preference;
            while (j < mx->len && ((MsDnsRecord *) mx->pdata[j])->rdata.mx.preference == pref)
                j++;
            for (guint k = j - 1; k > i; k--) {
                guint pick = i + (guint) ms_rng_below(rng, k - i + 1);
                gpointer t = mx->pdata[k];
                mx->pdata[k] = mx->pdata[pick];
                mx->pdata[pick] = t;
            }
            i = j;
        }
        /* RFC 5321 5.1: a server that finds itself in the list (a backup
         * MX) keeps only the exchanges more preferred than itself; when
         * none is left the mail would loop back to it, and it bounces
         * (5.4.6, as Postfix's "mail for ... loops back to myself"). */
        gint own_pref = -1;
        guint32 own_addr = ms_net_host_addr(m->net, s->host);
        for (guint i = 0; i < mx->len && own_pref < 0; i++) {
            MsDnsRecord *x = mx->pdata[i];
            gboolean self = ms_dns_name_equal(x->rdata.mx.exchange, s->hostname);
            for (guint k = 0; k < add->len && !self; k++) {
                MsDnsRecord *a = g_ptr_array_index(add, k);
                self = a->type == MS_DNS_TYPE_A &&
                       ms_dns_name_equal(a->name, x->rdata.mx.exchange) && a->rdata.a == own_addr;
            }
            if (self)
                own_pref = x->rdata.mx.preference;
        }
        if (own_pref >= 0) {
            guint keep = 0;
            while (keep < mx->len &&
                   ((MsDnsRecord *) mx->pdata[keep])->rdata.mx.preference < own_pref)
                keep++;
            g_ptr_array_set_size(mx, (gint) keep);
            if (keep == 0) {
                g_ptr_array_free(mx, TRUE);
                alookup_free(al);
                g_autofree char *diag =
                    g_strdup_printf("mail for %s loops back to myself (RFC 5321 5.1)", e->domain);
                bounce_all(m, e, own_reason("5.4.6", diag));
                return;
            }
            ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                          "%s is itself a mail exchanger of %s (preference %d): it passes the "
                          "message only to "
                          "a more preferred one",
                          s->hostname, e->domain, own_pref);
        }
        GString *list = g_string_new(NULL);
        for (guint i = 0; i < mx->len; i++) {
            MsDnsRecord *x = mx->pdata[i];
            g_string_append_printf(list, "%s%s (preference %u)", i ? ", " : "",
                                   x->rdata.mx.exchange, x->rdata.mx.preference);
            gboolean glued = FALSE;
            for (guint k = 0; k < add->len; k++) {
                MsDnsRecord *a = g_ptr_array_index(add, k);
                if (ms_dns_name_equal(a->name, x->rdata.mx.exchange)) {
                    add_address(e, a->rdata.a, ms_net_host_by_addr(m->net, a->rdata.a));
                    glued = TRUE;
                }
            }
            if (!glued)
                g_ptr_array_add(al->names, g_strdup(x->rdata.mx.exchange));
        }
        ms__mail_note(m, s->host, MS_HOST_WORLD, e->message, "mail for %s goes to %s", e->domain,
                      list->str);
        g_string_free(list, TRUE);
        g_ptr_array_free(mx, TRUE);
    }
    a_lookup_next(al);
}

/* The domain is outside the world and a way out is set: the entry waits,
 * busy, for ms_mail_outbound_result(). */
static void
hand_out(MsMail *m, MsMailQueueEntry *e)
{
    MsMailServer *s = e->server;
    e->outbound = TRUE;
    ms__mail_note(
        m, s->host, MS_HOST_WORLD, e->message,
        "%s hands the message for %s to the real Internet through the bridge (--relay-out)%s",
        s->hostname, e->domain, e->attempts > 1 ? ", again" : "");
    g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
    for (guint i = 0; i < e->rcpts->len; i++)
        g_ptr_array_add(rcpts, g_ptr_array_index(e->rcpts, i));
    g_ptr_array_add(rcpts, NULL);
    MsMailOutbound job = {
        s->index,  e->qid,  e->message, e->from, (const char *const *) rcpts->pdata,
        e->domain, e->data, e->attempts
    };
    m->outbound(&job, m->outbound_data);
}

/* Settles recipient i of an outbound entry as delivered to the real world. */
static void
outbound_delivered(MsMail *m, MsMailQueueEntry *e, guint i, const char *reply)
{
    MsMailServer *s = e->server;
    const char *rcpt = g_ptr_array_index(e->rcpts, i);
    MsRcptRecord *rr = ms__mail_rcpt(m, e->message, rcpt);
    if (rr) {
        rr->state = MS_RCPT_DELIVERED;
        ms__rcpt_touch(m, rr);
        rr->done_at = ms_engine_now(m->engine);
        rr->where = s->host;
        g_free(rr->detail);
        rr->detail = g_strdup_printf("handed to the real Internet by %s: %s", s->hostname, reply);
    }
    ms__mail_note(
        m, s->host, MS_HOST_WORLD, e->message,
        "the real server takes the message for %s from %s (%s): it has left the simulated world",
        rcpt, s->hostname, reply);
}

gboolean
ms_mail_outbound_result(MsMail *m, guint server, const char *queue_id, const char *rcpt, guint code,
                        const char *status, const char *text)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len && queue_id != NULL, FALSE);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    MsMailQueueEntry *e = NULL;
    for (guint i = 0; i < s->queue->len && !e; i++) {
        MsMailQueueEntry *q = g_ptr_array_index(s->queue, i);
        if (q->busy && q->outbound && strcmp(q->qid, queue_id) == 0)
            e = q;
    }
    guint which = G_MAXUINT;
    for (guint i = 0; e && rcpt && i < e->rcpts->len && which == G_MAXUINT; i++)
        if (g_ascii_strcasecmp(g_ptr_array_index(e->rcpts, i), rcpt) == 0)
            which = i;
    if (!e || (rcpt && which == G_MAXUINT))
        return FALSE;
    g_autofree char *reply = code ? g_strdup_printf("%u %s%s%s", code, status ? status : "",
                                                    status && *status ? " " : "", text ? text : "")
                                  : g_strdup(text ? text : "the real server could not be reached");
    const char *st = status && *status ? status : code >= 500 ? "5.0.0" : "4.4.1";
    gboolean done = code >= 200 && code < 300, failed = code >= 500 && code < 600;
    /* A 5xx is the real server's own reply, quoted as it came. */
    MsBounceReason why = { st, reply, NULL, NULL, e->queued_at };
    if (rcpt) {
        if (!done && !failed)
            return TRUE;
        if (done)
            outbound_delivered(m, e, which, reply);
        else
            ms__mail_bounce(m, s, e->message, e->from, rcpt, &why, e->data);
        g_ptr_array_remove_index(e->rcpts, which);
        if (e->rcpts->len == 0)
            entry_remove(m, e);
        return TRUE;
    }
    e->outbound = FALSE;
    if (done) {
        for (guint i = 0; i < e->rcpts->len; i++)
            outbound_delivered(m, e, i, reply);
        entry_remove(m, e);
    } else if (failed) {
        bounce_all(m, e, why);
    } else {
        defer(m, e, st, reply);
    }
    return TRUE;
}

static void
lookup_mx(MsMail *m, MsMailQueueEntry *e)
{
    (void) m;
    ms_resolver_lookup(e->server->resolver, e->domain, MS_DNS_TYPE_MX, e->message, on_mx, e);
}

static void
start_attempt(MsMail *m, MsMailQueueEntry *e)
{
    MsMailServer *s = e->server;
    e->busy = TRUE;
    e->attempts++;
    e->next_addr = 0;
    if (e->addrs)
        g_array_set_size(e->addrs, 0);
    else
        e->addrs = g_array_new(FALSE, FALSE, sizeof(guint32));
    if (e->addr_hosts)
        g_array_set_size(e->addr_hosts, 0);
    else
        e->addr_hosts = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint i = 0; i < e->rcpts->len; i++) {
        MsRcptRecord *rr = ms__mail_rcpt(m, e->message, g_ptr_array_index(e->rcpts, i));
        if (rr)
            rr->attempts++;
    }
    if (s->smarthost != MS_NO_HOST_ID) {
        add_address(e, ms_net_host_addr(m->net, s->smarthost), s->smarthost);
        ms__mail_note(m, s->host, s->smarthost, e->message,
                      "%s relays mail for %s through its smarthost %s", s->hostname, e->domain,
                      ms_net_host_name(m->net, s->smarthost));
        try_next_address(m, e);
        return;
    }
    if (m->outbound && !ms__mail_domain_in_world(m, e->domain)) {
        hand_out(m, e);
        return;
    }
    if (!s->resolver) {
        defer(m, e, "4.3.5", "no resolver configured");
        return;
    }
    ms__mail_note(m, s->host, MS_HOST_WORLD, e->message, "%s asks DNS for the MX records of %s%s",
                  s->hostname, e->domain, e->attempts > 1 ? " (delivery attempt again)" : "");
    if (!m->told_dns) {
        m->told_dns = TRUE;
        if (m->flat_dns)
            ms__mail_aside(
                m, s->host, e->message,
                "(what really happens: in this small world one registry answers for every domain. "
                "On "
                "the Internet the server's resolver asks a root server, which refers it to the "
                "servers "
                "of the top-level domain that the registry runs, which refer it to the domain's "
                "own "
                "name servers, which answer. Registrars only sell names; they answer no queries.)");
        else
            ms__mail_aside(
                m, s->host, e->message,
                "(what really happens: the server does not look the domain up \"at the registry\". "
                "Its "
                "resolver asks DNS servers: a root server, which refers it to the servers of the "
                "top-level domain that the registry runs, which refer it to the domain's own name "
                "servers, which answer. Registrars only sell names; they answer no queries.)");
    }
    /* RFC 8461 5.1: an MTA-STS sender looks for the domain's policy first */
    if (!ms__tls_policy_discover(m, e, lookup_mx))
        lookup_mx(m, e);
}

/* --- one SMTP session to one address -------------------------------- */

static void attempt_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud);
static void attempt_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void attempt_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks attempt_cb = { attempt_connected, attempt_data, attempt_closed };

static void
hook_rcpt_result(guint txn, guint rcpt, const MsSmtpReply *reply, gpointer ud)
{
    Attempt *a = ud;
    (void) txn;
    if (rcpt < a->rcpt_codes->len) {
        g_array_index(a->rcpt_codes, guint, rcpt) = reply->code;
        g_free(a->rcpt_texts->pdata[rcpt]);
        a->rcpt_texts->pdata[rcpt] = g_strdup_printf("%u %s %s", reply->code, reply->enhanced,
                                                     reply->text ? reply->text : "");
    }
}

static void
hook_txn_result(guint txn, MsSmtpTxnStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Attempt *a = ud;
    (void) txn;
    a->txn_status = (int) st;
    a->txn_code = reply ? reply->code : 0;
    if (st == MS_SMTP_TXN_ACCEPTED) {
        /* A hop the message crossed: inside TLS or in the clear. */
        MsMail *m = a->mail;
        gboolean enc = ms_smtp_client_tls_active(a->core);
        ms__mail_tls_count_hop(m, a->entry->message, enc);
        ms__tls_attempt_hop(a->pol, enc);
        /* why it went in clear: RFC 3207 4 lets a client at may go on
         * after a refused STARTTLS (454) as after a missing offer */
        g_autofree char *refused =
            a->pol && a->pol->refused
                ? g_strdup_printf(" (its STARTTLS command was refused with %u, and opportunistic "
                                  "TLS goes on in clear)",
                                  a->pol->refused)
                : NULL;
        if (m->pki && !enc)
            ms__mail_note(m, a->entry->server->host, a->peer, a->entry->message,
                          "the message crossed from %s to %s in the clear%s: every router and "
                          "link on the way could read it",
                          a->entry->server->hostname,
                          a->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, a->peer) : "?",
                          a->clear_retry ? " (the TLS handshake had failed, and opportunistic "
                                           "TLS sends in clear rather than not at all)"
                          : refused      ? refused
                          : a->entry->server->policy.tls &&
                                  a->entry->server->policy.smtp_tls_level == MS_MTA_TLS_MAY
                              ? " (the EHLO reply it got listed no STARTTLS, and opportunistic "
                                "TLS does not insist)"
                              : "");
    }
    g_free(a->txn_reply);
    a->txn_reply = reply && reply->code ? g_strdup_printf("%u %s %s", reply->code, reply->enhanced,
                                                          reply->text ? reply->text : "")
                                        : g_strdup("connection lost");
}

static void
hook_session_result(MsSmtpSessionStatus st, const MsSmtpReply *reply, gpointer ud)
{
    Attempt *a = ud;
    a->session_status = st;
    a->session_done = TRUE;
    if ((st == MS_SMTP_SESSION_TLS_UNAVAILABLE || st == MS_SMTP_SESSION_TLS_FAILED) && reply &&
        reply->text)
        a->session_text = g_strdup(reply->text);
}

static void
hook_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    Attempt *a = ud;
    ms__mail_proto_line(a->mail, a->entry->server->host, a->peer, a->entry->message, "smtp",
                        dir == MS_SMTP_TRACE_OUT, line);
}

static const MsSmtpClientHooks client_hooks = { hook_rcpt_result, hook_txn_result,
                                                hook_session_result, hook_trace };
/* Without trace sinks nothing reads protocol lines: the core need not
 * format them (a large world's run spends ~2 % there otherwise). */
static const MsSmtpClientHooks client_hooks_quiet = { hook_rcpt_result, hook_txn_result,
                                                      hook_session_result, NULL };

static const char *
enhanced_of(const char *reply_text, char *buf, gsize len)
{
    /* "550 5.1.1 text" -> "5.1.1" */
    const char *p = strchr(reply_text, ' ');
    if (p && g_ascii_isdigit(p[1]) && p[2] == '.') {
        gsize n = strcspn(p + 1, " ");
        g_strlcpy(buf, p + 1, MIN(len, n + 1));
        return buf;
    }
    g_snprintf(buf, len, "%c.0.0", reply_text[0]);
    return buf;
}

/* Decides what the finished session means for the entry. Called once. */
static void
attempt_finish(Attempt *a, const char *conn_error)
{
    MsMail *m = a->mail;
    MsMailQueueEntry *e = a->entry;
    MsMailServer *s = e->server;
    a->finished = TRUE;
    if (a->session_done && a->session_status == MS_SMTP_SESSION_TLS_FAILED &&
        a->tls_level == MS_SMTP_TLS_MAY) {
        /* Opportunistic TLS whose handshake failed: Postfix at
         * smtp_tls_security_level=may does not defer but connects to the
         * same server again and delivers in clear (its TLS_README: "falls
         * back to plaintext"). Only at may: encrypt, verify, dane and an
         * enforced MTA-STS policy keep the message queued. */
        const char *peer = a->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, a->peer) : "?";
        ms__mail_note(m, s->host, a->peer, e->message,
                      "%s's TLS handshake with %s failed (%s); at the opportunistic level (may) "
                      "it does not keep the message queued: it connects again and sends it in "
                      "clear",
                      s->hostname, peer, a->session_text ? a->session_text : "no reason given");
        if (!m->told_tls_fallback) {
            m->told_tls_fallback = TRUE;
            ms__mail_aside(m, s->host, e->message,
                           "(what really happens: this fallback keeps mail flowing to servers "
                           "with broken TLS, but it also means that anyone on the path who can "
                           "make the handshake fail, by altering a single record, gets the "
                           "message in clear. Only a policy that requires TLS (encrypt, verify, "
                           "DANE or MTA-STS) closes that door.)");
        }
        e->next_addr--;
        e->tls_clear_retry = TRUE;
        try_next_address(m, e);
        return;
    }
    if (a->session_done) /* a TLS refusal: told and counted */
        ms__tls_attempt_refused(a->pol, a->session_status);
    gboolean conn_level = a->txn_status < 0 || !a->session_done ||
                          a->session_status == MS_SMTP_SESSION_GREETING_REFUSED ||
                          a->session_status == MS_SMTP_SESSION_CONNECTION_LOST ||
                          a->session_status == MS_SMTP_SESSION_SERVER_CLOSED ||
                          a->session_status == MS_SMTP_SESSION_HELO_REFUSED ||
                          a->session_status == MS_SMTP_SESSION_PROTOCOL_ERROR ||
                          a->session_status == MS_SMTP_SESSION_TLS_UNAVAILABLE ||
                          a->session_status == MS_SMTP_SESSION_TLS_FAILED;
    if (a->txn_status == MS_SMTP_TXN_ACCEPTED || a->txn_status == MS_SMTP_TXN_PERMFAIL)
        conn_level = FALSE;
    const char *peer_name = a->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, a->peer) : "?";
    GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);
    if (!conn_level) {
        for (guint i = 0; i < e->rcpts->len; i++) {
            const char *rcpt = g_ptr_array_index(e->rcpts, i);
            guint code = g_array_index(a->rcpt_codes, guint, i);
            const char *text = a->rcpt_texts->pdata[i];
            if (code >= 500 || (code < 400 && a->txn_status == MS_SMTP_TXN_PERMFAIL)) {
                const char *diag = code >= 500 ? text : a->txn_reply;
                char st[12];
                /* RFC 3464 2.3.5/2.3.6: the host that answered and its reply. */
                MsBounceReason why = { enhanced_of(diag, st, sizeof st), diag,
                                       a->peer != MS_NO_HOST_ID ? peer_name : NULL, NULL,
                                       e->queued_at };
                ms__mail_bounce(m, s, e->message, e->from, rcpt, &why, e->data);
            } else if (code >= 200 && code < 300 && a->txn_status == MS_SMTP_TXN_ACCEPTED) {
                ms__mail_note(m, s->host, a->peer, e->message,
                              "%s has handed the message for %s to %s", s->hostname, rcpt,
                              peer_name);
            } else {
                g_ptr_array_add(keep, g_strdup(rcpt));
            }
        }
        g_ptr_array_unref(e->rcpts);
        e->rcpts = keep;
        if (e->rcpts->len == 0) {
            entry_remove(m, e);
            return;
        }
        g_autofree char *why = g_strdup_printf("host %s said: %s", peer_name,
                                               a->txn_reply ? a->txn_reply : "temporary failure");
        char st[12];
        defer(m, e, enhanced_of(a->txn_reply ? a->txn_reply : "4", st, sizeof st), why);
        return;
    }
    g_ptr_array_unref(keep);
    g_free(e->last_error);
    e->last_error = a->session_text
                        ? g_strdup(a->session_text)
                        : g_strdup_printf("connection to %s: %s", peer_name,
                                          conn_error ? conn_error
                                          : a->session_done
                                              ? ms_smtp_session_status_to_string(a->session_status)
                                              : "lost");
    ms__mail_note(m, s->host, a->peer, e->message, "%s could not deliver to %s (%s)%s", s->hostname,
                  peer_name, e->last_error,
                  e->next_addr < e->addrs->len ? "; it tries the next address" : "");
    try_next_address(m, e);
}

static void
attempt_free(Attempt *a)
{
    ms__live_remove(a->mail, &a->live);
    if (a->connect_timer)
        ms_engine_cancel(a->mail->engine, a->connect_timer);
    ms_smtp_client_free(a->core);
    ms__mail_tls_free(a->tls);
    ms__tls_attempt_free(a->pol);
    g_free(a->session_text);
    g_array_free(a->rcpt_codes, TRUE);
    g_ptr_array_unref(a->rcpt_texts);
    g_free(a->txn_reply);
    g_free(a);
}

static gboolean
attempt_pump(Attempt *a)
{
    GBytes *out;
    while ((out = ms_smtp_client_take_output(a->core))) {
        g_autoptr(GBytes) forged = NULL;
        if (!a->tls && ms__tls_attempt_outbound(a->pol, out, &forged)) {
            ms_smtp_client_feed(a->core, g_bytes_get_data(forged, NULL), g_bytes_get_size(forged));
            continue;
        }
        ms__mail_tls_out(a->tls, a->mail, a->conn, out);
    }
    if (!a->tls && ms_smtp_client_wants_tls(a->core)) {
        MsMailServer *s = a->entry->server;
        a->tls = ms__mail_tls_client_new(
            a->mail, a->conn, s->host, a->peer,
            a->peer != MS_NO_HOST_ID ? ms_net_host_name(a->mail->net, a->peer) : NULL, MS_SMTP_PORT,
            a->tls_verify, TRUE, a->entry->message);
        ms__tls_attempt_tls_started(a->pol, a->tls);
    }
    if (ms_smtp_client_is_closed(a->core)) {
        ms__mail_tls_close(a->tls);
        ms_tcp_close(a->mail->tcp, a->conn);
        attempt_finish(a, NULL);
        attempt_free(a);
        return FALSE;
    }
    return TRUE;
}

static void
attempt_connected(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    Attempt *a = ud;
    (void) tcp;
    (void) conn;
    if (a->connect_timer)
        ms_engine_cancel(a->mail->engine, a->connect_timer);
    a->connect_timer = 0;
}

/* The handshake did not complete within the profile's connect timeout:
 * the MTA closes the socket (no more SYNs) and moves on, with the error
 * the real one logs ("Connection timed out"). */
static void
on_connect_timeout(MsEngine *engine, const MsEvent *ev, gpointer user_data)
{
    MsMail *m = user_data;
    Attempt *a = ev->data.ptr[0];
    (void) engine;
    a->connect_timer = 0;
    ms_tcp_abort(m->tcp, a->conn);
    ms_smtp_client_connection_lost(a->core);
    attempt_finish(a, ms_tcp_close_reason_to_string(MS_TCP_CLOSE_TIMEOUT));
    attempt_free(a);
}

static void
attempt_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Attempt *a = ud;
    (void) tcp;
    (void) conn;
    if (!a->tls) {
        /* an attacker on the path may rewrite what the server said */
        g_autoptr(GBytes) seen = ms__tls_attempt_inbound(a->pol, data, len);
        if (seen)
            data = g_bytes_get_data(seen, &len);
        ms_smtp_client_feed(a->core, data, len);
        attempt_pump(a);
        return;
    }
    g_autoptr(GBytes) bent = ms__tls_attempt_inbound_tls(a->pol, a->tls, data, len);
    if (bent)
        data = g_bytes_get_data(bent, &len);
    const char *peer = a->peer != MS_NO_HOST_ID ? ms_net_host_name(a->mail->net, a->peer) : "?";
    gboolean established;
    g_autofree char *failed = NULL;
    g_autoptr(GBytes) in = ms__mail_tls_client_in(a->tls, peer, data, len, &established, &failed);
    if (failed)
        ms_smtp_client_tls_failed(a->core, failed);
    if (established && ms_smtp_client_wants_tls(a->core))
        ms_smtp_client_tls_started(a->core);
    if (in)
        ms_smtp_client_feed(a->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    attempt_pump(a);
}

static void
attempt_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Attempt *a = ud;
    (void) tcp;
    (void) conn;
    /* RFC 8446 6.1: a FIN inside TLS without close_notify is a truncation */
    const char *cut = a->tls && why == MS_TCP_CLOSE_NORMAL ? ms__mail_tls_eof(a->tls) : NULL;
    ms_smtp_client_connection_lost(a->core);
    attempt_finish(a, cut                          ? cut
                      : why == MS_TCP_CLOSE_NORMAL ? NULL
                                                   : ms_tcp_close_reason_to_string(why));
    attempt_free(a);
}

static void
try_next_address(MsMail *m, MsMailQueueEntry *e)
{
    MsMailServer *s = e->server;
    if (e->next_addr >= e->addrs->len) {
        defer(m, e, "4.4.1", e->last_error ? e->last_error : "no mail exchanger reachable");
        return;
    }
    /* RFC 8461 4.1: an MX host that an enforced MTA-STS policy does not name */
    if (ms__tls_policy_mx_refused(m, e, g_array_index(e->addr_hosts, MsHostId, e->next_addr))) {
        e->next_addr++;
        try_next_address(m, e);
        return;
    }
    /* RFC 7672 2.2.3: a DANE sender looks up the MX host's TLSA records first */
    if (ms__tls_dane_wait(m, e, g_array_index(e->addr_hosts, MsHostId, e->next_addr),
                          try_next_address))
        return;
    guint32 addr = g_array_index(e->addrs, guint32, e->next_addr);
    MsHostId peer = g_array_index(e->addr_hosts, MsHostId, e->next_addr);
    e->next_addr++;
    Attempt *a = g_new0(Attempt, 1);
    ms__live_add(m, &a->live, a, (GDestroyNotify) attempt_free);
    a->mail = m;
    a->entry = e;
    a->peer = peer;
    a->txn_status = -1;
    a->rcpt_codes = g_array_new(FALSE, TRUE, sizeof(guint));
    g_array_set_size(a->rcpt_codes, e->rcpts->len);
    a->rcpt_texts = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_set_size(a->rcpt_texts, (gint) e->rcpts->len);
    MsSmtpClientConfig cfg = { 0 };
    cfg.helo_name = s->hostname;
    char peer_ip[MS_IPV4_STRLEN];
    ms_ipv4_format(addr, peer_ip);
    g_autofree char *peer_name = g_strdup_printf(
        "%s[%s]", peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, peer) : peer_ip, peer_ip);
    cfg.peer_name = peer_name;
    if (m->pki && s->policy.tls) {
        /* Postfix's smtp_tls_security_level: verify is encrypt whose
         * handshake also checks the certificate. */
        MsMtaTlsLevel lvl = s->policy.smtp_tls_level;
        cfg.tls_level = lvl == MS_MTA_TLS_NONE  ? MS_SMTP_TLS_NONE
                        : lvl == MS_MTA_TLS_MAY ? MS_SMTP_TLS_MAY
                                                : MS_SMTP_TLS_ENCRYPT;
        a->tls_verify = lvl == MS_MTA_TLS_VERIFY;
    }
    a->pol =
        ms__tls_attempt_new(m, e, peer, m->pki && s->policy.tls, &cfg.tls_level, &a->tls_verify);
    if (e->tls_clear_retry) {
        e->tls_clear_retry = FALSE;
        if (cfg.tls_level == MS_SMTP_TLS_MAY) {
            cfg.tls_level = MS_SMTP_TLS_NONE;
            a->clear_retry = TRUE;
        }
    }
    a->tls_level = cfg.tls_level;
    a->core = ms_smtp_client_new(
        &cfg, ms_trace_enabled(m->trace) ? &client_hooks : &client_hooks_quiet, a);
    const char **rcpts = g_new0(const char *, e->rcpts->len + 1);
    for (guint i = 0; i < e->rcpts->len; i++)
        rcpts[i] = g_ptr_array_index(e->rcpts, i);
    ms_smtp_client_add_message(a->core, e->from, rcpts, e->data);
    ms_smtp_client_finish(a->core);
    g_free(rcpts);
    char ip[MS_IPV4_STRLEN];
    ms_ipv4_format(addr, ip);
    ms__mail_note(m, s->host, peer, e->message, "%s opens an SMTP connection to %s [%s] port 25",
                  s->hostname, peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, peer) : ip, ip);
    if (!m->told_routing) {
        m->told_routing = TRUE;
        GArray *path = peer != MS_NO_HOST_ID ? ms_net_route_path(m->net, s->host, peer) : NULL;
        guint routers = path && path->len > 2 ? path->len - 2 : 0;
        /* How the next hop was chosen: a server with a smarthost (Postfix
         * relayhost) looks up no MX at all; the others took it from the
         * destination's MX records. */
        g_autofree char *chose =
            s->smarthost != MS_NO_HOST_ID
                ? g_strdup_printf("The mail server looked up no MX records: it hands all its "
                                  "outgoing mail to the smarthost it is configured with (Postfix's "
                                  "relayhost), %s, which decides where the mail goes next",
                                  ms_net_host_name(m->net, s->smarthost))
                : g_strdup("The mail server chose the next mail server from the MX records");
        ms__mail_aside(m, s->host, e->message,
                       "(what really happens: nothing sorts packets by domain. %s; the %u "
                       "router%s on the way forward%s each packet only by its destination IP "
                       "address, %s, and never look%s at the mail inside.)",
                       chose, routers, routers == 1 ? "" : "s", routers == 1 ? "s" : "", ip,
                       routers == 1 ? "s" : "");
        if (path)
            g_array_free(path, TRUE);
    }
    a->conn =
        ms_tcp_connect_tagged(m->tcp, s->host, addr, MS_SMTP_PORT, &attempt_cb, a, e->message);
    MsEventData d = { { 0 } };
    d.ptr[0] = a;
    a->connect_timer = ms_engine_schedule_in(m->engine, ms_mta_connect_timeout(&s->policy), s->host,
                                             m->ev_connect_timeout, d);
}
