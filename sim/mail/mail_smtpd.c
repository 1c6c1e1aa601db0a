/* The receiving side of SMTP on a simulated mail server: port 587
 * (submission, RFC 6409: AUTH required) and port 25 (MX and relay). Each
 * TCP connection gets an MsSmtpServer protocol core; its policy hooks apply
 * the server's rules:
 *   - RCPT for a local domain: the user must exist (else 550 5.1.1);
 *   - RCPT for a domain this server is a backup MX for: accepted from
 *     anyone (any local part: the primary knows the users, as a Postfix
 *     backup MX without relay_recipient_maps), queued for the primary;
 *   - RCPT elsewhere: only for an authenticated user or a host that uses
 *     this server as its smarthost (else 554 5.7.1: never an open relay);
 *   - optional greylisting of (client address, sender, recipient) triples;
 *   - DATA: 100 Received: headers mean a loop (554 5.4.6, RFC 5321 6.3);
 *     otherwise this server's Received: header goes on top and the message
 *     is in the server's care before the 250 goes out.
 * Accepted mail goes to ms__mail_accept() (mail_accept.c): local
 * recipients to mailboxes (with Return-Path:, RFC 5321 4.4), others to the
 * MTA queue.
 *
 * TLS, when the world speaks it: STARTTLS as the policy offers it (RFC
 * 3207; the core decides when, mail_tls.c carries the records), and port
 * 465 where TLS starts with the connection (RFC 8314 3.3). Replies held
 * back by a command delay leave in the clear when they were written before
 * the handshake (the 220 to STARTTLS is one of them): the channel goes on
 * only once they are out. The Received: header names the protocol with
 * RFC 3848's "S" (ESMTPS, ESMTPSA) when the message came inside TLS. */
#include "mail_auth-private.h"

#include <string.h>

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailServer *server;
    MsTcpConnId conn;
    guint16 port;
    MsHostId peer;
    guint32 peer_addr;
    MsSmtpServer *core;
    guint32 message;     /* the last message seen, for traces */
    char *txn_from;      /* MAIL FROM as the command arrives, for fault rules */
    char *txn_rcpt;      /* its first RCPT TO */
    GByteArray *pending; /* replies held back by a command delay */
    MsEventId flush;
    char *mail_from; /* reverse path of the accepted MAIL, for the greylist triple */
    MsMailTls *tls;  /* after STARTTLS, or from the start on 465 */
    MsAuthCheck *check; /* a DNSBL or message check waiting for DNS (mail_auth.c), or NULL */
    char *listed;       /* the DNSBL zone that lists the client, or NULL */
    gboolean dnsbl_asked; /* dnsbl-at="rcpt": the lists were asked (at the first RCPT) */
    char *rcpt_held;      /* the RCPT whose reply waits for the lists, or NULL */
    GByteArray *early;  /* input before the greeting (the DNSBL answer), or NULL */
    /* the message whose end-of-DATA reply waits for its checks */
    guint32 held_id;
    char held_qid[MS_MAIL_QID_SIZE];
    char *held_from;
    GPtrArray *held_rcpts;
    GBytes *held_data;
    gboolean held_made; /* held_id is a record hook_data made: the session holds it */
} Session;

static void session_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);
static void session_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud);
static const MsTcpCallbacks session_cb = { NULL, session_data, session_closed };

/* The record hook_data made for a message from outside the scenario's
 * clients (id), when no server took the message: it stays with its
 * sender, as a refused submission stays in the outbox (MS_RCPT_REFUSED, a
 * finished state), and the session lets go of it, so that with folding on
 * it is counted and freed like any finished message. Not after a merge:
 * the records are then every part's, numbered anew (mail_merge.c). */
static void
refuse_made(Session *x, guint32 id, const char *status, const char *why)
{
    MsMail *m = x->mail;
    MsMessageRecord *r = m->merged ? NULL : ms__mail_record(m, id);
    for (guint i = 0; r && i < r->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (rr->state != MS_RCPT_QUEUED || rr->where != x->peer)
            continue;
        rr->state = MS_RCPT_REFUSED;
        ms__rcpt_touch(m, rr);
        g_strlcpy(rr->status, status, sizeof rr->status);
        g_free(rr->detail);
        rr->detail = g_strdup_printf("%s did not take it: %s", x->server->hostname, why);
    }
    ms__mail_release(m, id);
}

static void
session_free(Session *x)
{
    ms__live_remove(x->mail, &x->live);
    if (x->flush)
        ms_engine_cancel(x->mail->engine, x->flush);
    ms_smtp_server_free(x->core);
    g_free(x->txn_from);
    g_free(x->txn_rcpt);
    g_byte_array_unref(x->pending);
    g_free(x->mail_from);
    ms__mail_tls_free(x->tls);
    ms__auth_check_cancel(x->check);
    if (x->held_made) /* the session ended while the checks ran */
        refuse_made(x, x->held_id, "4.4.2", "the connection ended before the end-of-DATA reply");
    g_free(x->listed);
    g_free(x->rcpt_held);
    if (x->early)
        g_byte_array_unref(x->early);
    g_free(x->held_from);
    if (x->held_rcpts)
        g_ptr_array_unref(x->held_rcpts);
    if (x->held_data)
        g_bytes_unref(x->held_data);
    g_free(x);
}

/* Sends what the core has to say, at once or after the server's command
 * delay; closes when the core is done and nothing is held back. Returns
 * FALSE when the session is gone. */
/* Octets of the protocol onto the wire: sealed once TLS is on. */
static void
send_out(Session *x, const guint8 *d, gsize n)
{
    if (x->tls)
        ms__mail_tls_send(x->tls, g_bytes_new(d, n));
    else
        ms_tcp_send(x->mail->tcp, x->conn, d, n);
}

static gboolean
pump(Session *x)
{
    GBytes *out;
    MsTime delay = x->server->command_delay;
    while ((out = ms_smtp_server_take_output(x->core))) {
        gsize n;
        const guint8 *d = g_bytes_get_data(out, &n);
        if (delay > 0)
            g_byte_array_append(x->pending, d, (guint) n);
        else
            send_out(x, d, n);
        g_bytes_unref(out);
    }
    /* The 220 to STARTTLS has left: the handshake may begin. */
    if (!x->tls && x->pending->len == 0 && ms_smtp_server_wants_tls(x->core))
        x->tls = ms__mail_tls_server_new(x->mail, x->conn, x->server, x->peer, x->message);
    if (x->pending->len > 0 && !x->flush) {
        MsEventData ev = { { 0 } };
        ev.ptr[0] = x;
        x->flush = ms_engine_schedule_in(x->mail->engine, delay, x->server->host,
                                         x->mail->ev_smtpd_flush, ev);
    }
    if (ms_smtp_server_is_closed(x->core) && x->pending->len == 0) {
        ms__mail_tls_close(x->tls);
        ms_tcp_close(x->mail->tcp, x->conn);
        session_free(x);
        return FALSE;
    }
    return TRUE;
}

static void
on_flush(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    Session *x = ev->data.ptr[0];
    (void) e;
    (void) user_data;
    x->flush = 0;
    send_out(x, x->pending->data, x->pending->len);
    g_byte_array_set_size(x->pending, 0);
    pump(x);
}

/* "FROM:<a@b> SIZE=1" -> "a@b" (NULL when there are no brackets). */
static char *
path_of(const char *arg)
{
    const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    return gt ? g_strndup(lt + 1, (gsize) (gt - lt - 1)) : NULL;
}

static void
hook_command(const MsSmtpSession *ss, const char *verb, const char *arg, MsSmtpReply *reply,
             gpointer ud)
{
    Session *x = ud;
    (void) ss;
    MsFaultCommand cmd;
    if (!strcmp(verb, "HELO") || !strcmp(verb, "EHLO")) {
        cmd = MS_FAULT_CMD_HELO;
    } else if (!strcmp(verb, "MAIL")) {
        g_free(x->txn_from);
        x->txn_from = path_of(arg);
        g_clear_pointer(&x->txn_rcpt, g_free);
        cmd = MS_FAULT_CMD_MAIL;
    } else if (!strcmp(verb, "RCPT")) {
        g_autofree char *to = path_of(arg);
        if (ms__rules_match(x->mail, x->server, MS_FAULT_CMD_RCPT, x->txn_from, to, reply))
            return;
        if (!x->txn_rcpt)
            x->txn_rcpt = g_steal_pointer(&to);
        return;
    } else if (!strcmp(verb, "DATA")) {
        cmd = MS_FAULT_CMD_DATA;
    } else if (!strcmp(verb, ".")) {
        cmd = MS_FAULT_CMD_EOD;
    } else {
        return;
    }
    ms__rules_match(x->mail, x->server, cmd, x->txn_from, x->txn_rcpt, reply);
}

static gboolean
hook_auth(const MsSmtpSession *ss, const char *user, const char *password, MsSmtpReply *reply,
          gpointer ud)
{
    Session *x = ud;
    (void) ss;
    (void) reply;
    g_autofree char *local = ms__address_local(user);
    const char *dom = ms__address_domain(user);
    if (*dom && !ms__server_is_local(x->server, dom))
        return FALSE;
    return ms_mail_store_check_password(x->server->store, local, password);
}

static void
hook_mail_from(const MsSmtpSession *ss, const char *from, guint64 size, MsSmtpReply *reply,
               gpointer ud)
{
    Session *x = ud;
    (void) size;
    g_free(x->mail_from);
    x->mail_from = g_strdup(from);
    if (x->port != MS_SMTP_PORT && !ss->auth_user) {
        ms_smtp_reply_set(reply, 530, "5.7.0", "Authentication required"); /* RFC 4954 6 */
        return;
    }
    if (ss->auth_user && ms__auth_login_match(x->mail, x->server) &&
        g_ascii_strcasecmp(from, ss->auth_user) != 0) {
        /* Postfix reject_sender_login_mismatch: the sender must be the login's */
        g_autofree char *t = g_strdup_printf("<%s>: Sender address rejected: not owned by user %s",
                                             from, ss->auth_user);
        ms_smtp_reply_set(reply, 553, "5.7.1", t);
        ms__mail_note(x->mail, x->server->host, x->peer, x->message,
                      "%s refuses MAIL FROM:<%s>: %s logged in, and may send only as itself",
                      x->server->hostname, from, ss->auth_user);
        x->mail->auth->stats.login_mismatch++;
    }
}

static gboolean
trusted(const MsMailServer *s, MsHostId peer)
{
    for (guint i = 0; i < s->trusted->len; i++)
        if (g_array_index(s->trusted, MsHostId, i) == peer)
            return TRUE;
    return FALSE;
}

static void on_dnsbl_rcpt(MsMail *m, const MsAuthVerdict *v, gpointer ud);

/* The restrictions on a recipient (Postfix's smtpd_recipient_restrictions
 * in their usual order): a blocklisted client, an unknown or full
 * mailbox, relaying, greylisting. Leaves `reply` as it is to accept. */
static void
rcpt_restrictions(Session *x, const char *auth_user, const char *rcpt, MsSmtpReply *reply)
{
    MsMailServer *s = x->server;
    const char *dom = ms__address_domain(rcpt);
    if (x->listed && !auth_user) {
        /* Postfix reject_rbl_client: 554 5.7.1 naming the list */
        char ip[MS_IPV4_STRLEN];
        g_autofree char *t =
            g_strdup_printf("Service unavailable; Client host [%s] blocked using %s",
                            ms_ipv4_format(x->peer_addr, ip), x->listed);
        ms_smtp_reply_set(reply, 554, "5.7.1", t);
        return;
    }
    if (ms__server_is_local(s, dom)) {
        g_autofree char *local = ms__address_local(rcpt);
        if (!ms_mail_store_has_user(s->store, local) && !ms__auth_is_alias(x->mail, s, local)) {
            ms_mta_profile_refusal(s->policy.profile, MS_MTA_REFUSE_UNKNOWN_USER, rcpt, reply);
            return;
        }
        /* A box already full takes nothing more (RFC 3463 X.2.2); one that
         * a large message would overflow bounces it at delivery instead. */
        if (ms_mail_store_can_accept(s->store, local, 1) == MS_STORE_OVER_QUOTA) {
            ms_smtp_reply_set(reply, 552, "5.2.2", "Mailbox full");
            return;
        }
    } else if (!auth_user && !trusted(s, x->peer) && !ms__server_is_backup_for(s, dom)) {
        ms_mta_profile_refusal(s->policy.profile, MS_MTA_REFUSE_RELAY, rcpt, reply);
        return;
    }
    if (s->policy.greylist && !auth_user && x->port == MS_SMTP_PORT) {
        /* postgrey's triple: client address, envelope sender, recipient
         * (the sender was left out before, so one sender's pass let every
         * other sender from that address through). */
        g_autofree char *key =
            g_strdup_printf("%u/%s/%s", x->peer_addr, x->mail_from ? x->mail_from : "", rcpt);
        MsTime now = ms_engine_now(x->mail->engine);
        MsTime *first = g_hash_table_lookup(s->greylist, key);
        if (!first) {
            first = g_new(MsTime, 1);
            *first = now;
            g_hash_table_insert(s->greylist, g_steal_pointer(&key), first);
        }
        MsTime wait = s->policy.greylist_delay ? s->policy.greylist_delay : MS_GREYLIST_DELAY;
        if (now - *first < wait)
            ms_mta_profile_refusal(s->policy.profile, MS_MTA_REFUSE_GREYLIST, rcpt, reply);
    }
}

static void
hook_rcpt(const MsSmtpSession *ss, const char *rcpt, MsSmtpReply *reply, gpointer ud)
{
    Session *x = ud;
    if (!ss->auth_user && x->port == MS_SMTP_PORT && !x->dnsbl_asked &&
        ms__auth_wants_dnsbl(x->mail, x->server) && ms__auth_dnsbl_at_rcpt(x->mail, x->server)) {
        /* Postfix reject_rbl_client in smtpd_recipient_restrictions: the
         * lists are asked at the first RCPT (their answer then serves the
         * session), and its reply waits for them. */
        x->dnsbl_asked = TRUE;
        x->rcpt_held = g_strdup(rcpt);
        ms_smtp_server_defer(x->core);
        x->check =
            ms__auth_dnsbl_start(x->mail, x->server, x->peer, x->peer_addr, on_dnsbl_rcpt, x);
        return;
    }
    rcpt_restrictions(x, ss->auth_user, rcpt, reply);
}

/* The blocklists answered the first RCPT's question: its reply goes out
 * (554 5.7.1 when listed), then the commands pipelined meanwhile. */
static void
on_dnsbl_rcpt(MsMail *m, const MsAuthVerdict *v, gpointer ud)
{
    (void) m;
    Session *x = ud;
    x->check = NULL;
    x->listed = g_strdup(v->listed);
    g_autofree char *rcpt = g_steal_pointer(&x->rcpt_held);
    MsSmtpReply reply = MS_SMTP_REPLY_INIT; /* code 0: the dialect's acceptance */
    rcpt_restrictions(x, NULL, rcpt, &reply);
    ms_smtp_server_resume(x->core, &reply);
    ms_smtp_reply_clear(&reply);
    pump(x);
}

/* The checks of a held message are done: refuse it (DMARC p=reject), or
 * take it in with the Authentication-Results: header (RFC 8601 5: on top),
 * into Junk for p=quarantine; then the deferred reply goes out. */
static void
on_checked(MsMail *m, const MsAuthVerdict *v, gpointer ud)
{
    Session *x = ud;
    MsMailServer *s = x->server;
    x->check = NULL;
    MsSmtpReply reply = MS_SMTP_REPLY_INIT;
    guint n = x->held_rcpts->len - 1;
    if (v->action == MS_MAIL_AUTH_REJECT) {
        ms_smtp_reply_set(&reply, 550, "5.7.1", v->reply_text); /* RFC 7489 10.3 */
    } else {
        g_autoptr(GBytes) data = ms__prepend_header(x->held_data, v->header);
        ms__mail_note(m, s->host, x->peer, x->held_id,
                      "%s accepts the message from %s for %u recipient%s (queue id %s)%s",
                      s->hostname, ms_net_host_name(m->net, x->peer), n, n == 1 ? "" : "s",
                      x->held_qid,
                      v->action == MS_MAIL_AUTH_QUARANTINE ? ", for the Junk folder" : "");
        ms__mail_accept_full(m, s, x->held_id, x->held_from,
                             (const char *const *) x->held_rcpts->pdata, n, data,
                             v->action == MS_MAIL_AUTH_QUARANTINE);
        g_autofree char *text = ms_mta_profile_queued_text(s->policy.profile, x->held_qid);
        ms_smtp_reply_set(&reply, 250, "2.0.0", text);
    }
    if (x->held_made) {
        x->held_made = FALSE;
        if (reply.code == 250) {
            ms__mail_release(m, x->held_id); /* the record made by hook_data: handed on */
        } else {
            g_autofree char *why = g_strdup_printf("550 5.7.1 %s", v->reply_text);
            refuse_made(x, x->held_id, "5.7.1", why);
        }
    }
    g_clear_pointer(&x->held_data, g_bytes_unref);
    ms_smtp_server_resume(x->core, &reply);
    ms_smtp_reply_clear(&reply);
    pump(x);
}

static void
hook_data(const MsSmtpSession *ss, const MsSmtpEnvelope *env, GBytes *message, MsSmtpReply *reply,
          gpointer ud)
{
    Session *x = ud;
    MsMail *m = x->mail;
    MsMailServer *s = x->server;
    guint32 id = ms__mail_message_from_data(m, message);
    gboolean made = !id;
    if (!id) {
        /* A message from outside the scenario's clients: give it a record. */
        g_autofree char *label = g_strdup_printf("ext-%u", ms__mail_n_records(m) + 1);
        id = ms__mail_new_record(m, label, env->mail_from, env->rcpts, "", x->peer, 0);
        for (guint i = 0; i < env->n_rcpts; i++) {
            MsRcptRecord *er = &g_array_index(ms__mail_record(m, id)->rcpts, MsRcptRecord, i);
            er->state = MS_RCPT_QUEUED;
            ms__rcpt_touch(m, er);
        }
    }
    x->message = id;
    if (ms__count_received(message) >= MS_MAIL_LOOP_LIMIT) {
        ms_smtp_reply_set(reply, 554, "5.4.6", "Too many hops: mail loop detected");
        if (made)
            refuse_made(x, id, "5.4.6", "554 5.4.6 Too many hops: mail loop detected");
        return;
    }
    if (ss->auth_user && ms__auth_login_match(m, s)) {
        /* the From: header too must be the login's (the envelope was checked at MAIL) */
        gsize n;
        const char *d = g_bytes_get_data(message, &n);
        g_autofree char *hfrom = ms__mail_header_value(d, n, "From");
        if (hfrom && !strstr(hfrom, ss->auth_user)) {
            g_autofree char *t = g_strdup_printf(
                "<%s>: From: header rejected: not owned by user %s", hfrom, ss->auth_user);
            ms_smtp_reply_set(reply, 553, "5.7.1", t);
            m->auth->stats.login_mismatch++;
            if (made) {
                g_autofree char *why = g_strdup_printf("553 5.7.1 %s", t);
                refuse_made(x, id, "5.7.1", why);
            }
            return;
        }
    }
    g_autoptr(GBytes) signed_msg = NULL;
    if (ss->auth_user && m->auth) /* the domain's outbound server signs (RFC 6376 5) */
        message = signed_msg = ms__auth_sign(m, s, id, message);
    char qid[MS_MAIL_QID_SIZE];
    ms__mail_queue_id(s, qid);
    char peer_ip[MS_IPV4_STRLEN];
    ms_ipv4_format(x->peer_addr, peer_ip);
    /* RFC 3848 2: A for authenticated, S for inside TLS. */
    const char *with = ss->tls ? (ss->auth_user ? "ESMTPSA" : "ESMTPS")
                               : (ss->auth_user ? "ESMTPA" : (ss->esmtp ? "ESMTP" : "SMTP"));
    g_autofree char *clause =
        g_strconcat("from ", ss->helo ? ss->helo : "unknown", " (",
                    x->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, x->peer) : "unknown", " [",
                    peer_ip, "])\r\n\t", NULL);
    g_autoptr(GBytes) stamped =
        ms__mail_stamp(m, s, clause, ms_mta_profile_product(s->policy.profile), with, qid,
                       env->n_rcpts ? env->rcpts[0] : "", message);
    if (!ss->auth_user && x->port == MS_SMTP_PORT && ms__auth_wants_checks(m, s)) {
        /* SPF, DKIM and DMARC ask the DNS first: the reply waits for them */
        x->held_id = id;
        memcpy(x->held_qid, qid, sizeof qid);
        g_free(x->held_from);
        x->held_from = g_strdup(env->mail_from);
        if (x->held_rcpts)
            g_ptr_array_unref(x->held_rcpts);
        x->held_rcpts = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < env->n_rcpts; i++)
            g_ptr_array_add(x->held_rcpts, g_strdup(env->rcpts[i]));
        g_ptr_array_add(x->held_rcpts, NULL);
        if (x->held_data)
            g_bytes_unref(x->held_data);
        x->held_data = g_bytes_ref(stamped);
        x->held_made = made; /* released once the checks have decided */
        ms_smtp_server_defer(x->core);
        x->check =
            ms__auth_check_start(m, s, id, x->peer, x->peer_addr, ss->helo, env->mail_from,
                                 env->n_rcpts ? env->rcpts[0] : NULL, message, on_checked, x);
        return;
    }
    ms__mail_note(m, s->host, x->peer, id,
                  "%s accepts the message from %s for %u recipient%s (queue id %s)", s->hostname,
                  ms_net_host_name(m->net, x->peer), env->n_rcpts, env->n_rcpts == 1 ? "" : "s",
                  qid);
    ms__mail_accept(m, s, id, env->mail_from, env->rcpts, env->n_rcpts, stamped);
    if (made)
        ms__mail_release(m, id); /* the record made above: handed on */
    /* Each server's acceptance, with its queue id (mta_profile.c). */
    g_autofree char *text = ms_mta_profile_queued_text(s->policy.profile, qid);
    char enh[sizeof reply->enhanced];
    g_strlcpy(enh, reply->enhanced, sizeof enh);
    ms_smtp_reply_set(reply, 250, enh, text);
}

static void
hook_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    Session *x = ud;
    ms__mail_proto_line(x->mail, x->server->host, x->peer, x->message, "smtp",
                        dir == MS_SMTP_TRACE_OUT, line);
}

static const MsSmtpServerHooks hooks = { hook_auth, hook_mail_from, hook_rcpt,
                                         hook_data, hook_command,   hook_trace };

/* Makes the session's protocol core and sends the greeting: 554 5.7.1
 * naming the list when a DNSBL listed the client and the server refuses
 * at connect. */
static void
start_core(Session *x)
{
    MsMail *m = x->mail;
    MsMailServer *srv = x->server;
    /* The server speaks as its profile's MTA: banner, EHLO keywords and
     * reply texts (sim/mail/mta_profile.c). */
    MsMtaProfile profile = srv->policy.profile;
    char date[MS_MAIL_DATE_SIZE];
    ms__mail_date(ms_engine_now(m->engine), date);
    g_autofree char *banner = ms_mta_profile_banner(profile, srv->hostname, date);
    char peer_ip[MS_IPV4_STRLEN];
    ms_ipv4_format(x->peer_addr, peer_ip);
    MsSmtpServerConfig cfg = { 0 };
    cfg.hostname = srv->hostname;
    cfg.client_address = peer_ip;
    cfg.greeting_text = banner;
    gboolean tls = m->pki && srv->tls_cred;
    MsMtaPolicy pol = srv->policy;
    pol.tls = tls;
    ms_mta_policy_smtp_config(&pol, x->port != MS_SMTP_PORT, &cfg);
    cfg.tls_active = tls && x->port == MS_SMTPS_PORT;
    MsSmtpReply greet = MS_SMTP_REPLY_INIT;
    g_autofree char *refusal = NULL;
    if (x->listed && !ms__auth_dnsbl_at_rcpt(m, srv)) {
        /* RFC 5321 3.1: a 554 greeting refuses the session */
        refusal = g_strdup_printf("5.7.1 Service unavailable; Client host [%s] blocked using %s",
                                  peer_ip, x->listed);
        cfg.greeting_code = 554;
        cfg.greeting_text = refusal;
    } else if (ms__rules_match(m, srv, MS_FAULT_CMD_CONNECT, NULL, NULL, &greet)) {
        cfg.greeting_code = greet.code;
        cfg.greeting_text = greet.text;
    }
    /* Without trace sinks the core need not format protocol lines; without
     * reply rules (they are all set before the run) it need not show us
     * each command. */
    MsSmtpServerHooks h = hooks;
    if (!ms_trace_enabled(m->trace))
        h.trace = NULL;
    if (srv->rules->len == 0)
        h.command = NULL;
    x->core = ms_smtp_server_new(&cfg, &h, x);
    ms_smtp_reply_clear(&greet);
    if (cfg.tls_active) /* RFC 8314 3.3: the greeting waits for the handshake */
        x->tls = ms__mail_tls_server_new(m, x->conn, srv, x->peer, 0);
    ms_smtp_server_start(x->core);
}

static void session_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud);

/* The blocklists have answered: greet (or refuse), then read what the
 * client sent meanwhile. */
static void
on_dnsbl(MsMail *m, const MsAuthVerdict *v, gpointer ud)
{
    Session *x = ud;
    x->check = NULL;
    x->listed = g_strdup(v->listed);
    start_core(x);
    if (!pump(x))
        return;
    if (x->early) {
        g_autoptr(GByteArray) early = g_steal_pointer(&x->early);
        session_data(m->tcp, x->conn, early->data, early->len, x);
    }
}

static void
on_accept(MsTcp *tcp, MsTcpConnId conn, gpointer ud)
{
    MsMailListenCtx *l = ud;
    Session *x = g_new0(Session, 1);
    ms__live_add(l->mail, &x->live, x, (GDestroyNotify) session_free);
    x->mail = l->mail;
    x->server = l->server;
    x->conn = conn;
    x->port = l->port;
    x->peer_addr = ms_tcp_conn_peer_addr(tcp, conn);
    x->peer = ms_net_host_by_addr(l->mail->net, x->peer_addr);
    x->pending = g_byte_array_new();
    l->mail->smtp_sessions++;
    ms_tcp_set_callbacks(tcp, conn, &session_cb, x);
    if (l->port == MS_SMTP_PORT && ms__auth_wants_dnsbl(l->mail, l->server) &&
        !ms__auth_dnsbl_at_rcpt(l->mail, l->server)) {
        /* the blocklists first, as postscreen asks them before the greeting */
        x->early = g_byte_array_new();
        x->check = ms__auth_dnsbl_start(l->mail, l->server, x->peer, x->peer_addr, on_dnsbl, x);
        return;
    }
    start_core(x);
    pump(x);
}

static const MsTcpCallbacks listen_cb = { on_accept, NULL, NULL };

static void
session_data(MsTcp *tcp, MsTcpConnId conn, const guint8 *data, gsize len, gpointer ud)
{
    Session *x = ud;
    (void) tcp;
    (void) conn;
    if (!x->core) { /* before the greeting: kept until the blocklists answer */
        g_byte_array_append(x->early, data, (guint) len);
        return;
    }
    gboolean established, failed;
    g_autoptr(GBytes) in = ms__mail_tls_in(x->tls, data, len, &established, &failed);
    if (failed) {
        /* Nothing more can be said: the client's alert (or ours) ended it. */
        ms_smtp_server_tls_failed(x->core);
        ms_tcp_close(x->mail->tcp, x->conn);
        session_free(x);
        return;
    }
    if (established && ms_smtp_server_wants_tls(x->core))
        ms_smtp_server_tls_started(x->core);
    if (in)
        ms_smtp_server_feed(x->core, g_bytes_get_data(in, NULL), g_bytes_get_size(in));
    pump(x);
}

static void
session_closed(MsTcp *tcp, MsTcpConnId conn, MsTcpCloseReason why, gpointer ud)
{
    Session *x = ud;
    (void) tcp;
    (void) conn;
    if (x->tls && why == MS_TCP_CLOSE_NORMAL)
        ms__mail_tls_eof(x->tls); /* told when it is a truncation (RFC 8446 6.1) */
    /* A half-received message was never handed to hook_data: nothing to undo. */
    session_free(ud);
}

void
ms__smtpd_listen(MsMail *m, MsMailServer *s)
{
    if (!m->ev_smtpd_flush)
        m->ev_smtpd_flush = ms_engine_register(m->engine, "smtpd-flush", on_flush, m);
    s->lsn_smtp = (MsMailListenCtx){ m, s, MS_SMTP_PORT };
    s->lsn_submission = (MsMailListenCtx){ m, s, MS_SUBMISSION_PORT };
    s->lsn_smtps = (MsMailListenCtx){ m, s, MS_SMTPS_PORT };
    ms_tcp_listen(m->tcp, s->host, MS_SMTP_PORT, &listen_cb, &s->lsn_smtp);
    ms_tcp_listen(m->tcp, s->host, MS_SUBMISSION_PORT, &listen_cb, &s->lsn_submission);
    /* Port 465 only where TLS is configured: elsewhere a connection there
     * is refused, as on a server without the smtps service. */
    if (s->policy.tls)
        ms_tcp_listen(m->tcp, s->host, MS_SMTPS_PORT, &listen_cb, &s->lsn_smtps);
}
