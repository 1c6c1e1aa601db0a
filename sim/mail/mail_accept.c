/* Accepting a message into a server's care: the one way a message enters
 * a server of the world, whoever brings it.
 *
 * Role in the data flow: the SMTP service accepts a message at the end of
 * DATA (mail_smtpd.c), a workload arrival (workload.c) and the bridge
 * (ms_mail_inject, below) put one in as if a client had submitted it, and
 * a server puts its own DSN in (mail_dsn.c). Each stamps the server's
 * Received: header on top (ms__mail_stamp) under a fresh queue id
 * (ms__mail_queue_id), then calls ms__mail_accept(), which marks every
 * recipient queued at this server and then: a recipient of a local domain
 * goes to its mailbox at once, with a Return-Path: header naming the
 * envelope sender (RFC 5321 4.4), or bounces (5.1.1 unknown, 5.2.2 over
 * quota); the others are grouped by destination domain into one MTA queue
 * entry per domain (mail_mta.c), as Postfix splits a message per
 * destination.
 *
 * Design. Acceptance is synchronous: when ms__mail_accept() returns, the
 * message is in a mailbox or a queue (the SMTP service replies 250 only
 * after it, RFC 5321 6.1: "the receiver-SMTP MUST NOT lose the message").
 * No event is scheduled here; the queue schedules its own attempts.
 *
 * Invariants: every recipient handed in leaves in exactly one of three
 * states, delivered, bounced or queued (held by an entry of this server):
 * what ms_mail_check_balance() verifies at the end. Domains are grouped in
 * first-seen order, so queue order never depends on a hash table.
 * Ownership: the message data is borrowed; mailboxes and queue entries
 * take their own references (a mailbox copy gets Return-Path: on top).
 * Costs: O(recipients x domains) to group (messages have few recipients);
 * stamping copies the message once; each local recipient whose store keeps
 * bodies gets a copy of its own (Return-Path: on top), none in a lean
 * world. */
#include "mail_auth-private.h"

#include <string.h>

void
ms__mail_queue_id(MsMailServer *s, char out[MS_MAIL_QID_SIZE])
{
    ms_mta_profile_queue_id(s->policy.profile, s->host, ++s->next_qid, out, MS_MAIL_QID_SIZE);
}

GBytes *
ms__mail_stamp(MsMail *m, MsMailServer *s, const char *from_clause, const char *agent,
               const char *with, const char *id, const char *rcpt, GBytes *data)
{
    char date[MS_MAIL_DATE_SIZE];
    ms__mail_date(ms_engine_now(m->engine), date);
    /* Concatenated rather than printed: every message at every hop. */
    g_autofree char *hdr =
        g_strconcat("Received: ", from_clause, "by ", s->hostname, " (", agent, ") with ", with,
                    " id ", id, "\r\n\tfor <", rcpt, ">; ", date, "\r\n", NULL);
    return ms__prepend_header(data, hdr);
}

void
ms__mail_accept(MsMail *m, MsMailServer *s, guint32 id, const char *from, const char *const *rcpts,
                guint n, GBytes *data)
{
    ms__mail_accept_full(m, s, id, from, rcpts, n, data, FALSE);
}

void
ms__mail_accept_full(MsMail *m, MsMailServer *s, guint32 id, const char *from,
                     const char *const *rcpts, guint n, GBytes *data, gboolean junk)
{
    MsTime now = ms_engine_now(m->engine);
    /* Remote recipients grouped by domain, domains in first-seen order
     * (deterministic); a linear search: messages have few recipients. */
    GPtrArray *order = g_ptr_array_new_with_free_func(g_free); /* lower-cased domains */
    GPtrArray *lists = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
    for (guint i = 0; i < n; i++) {
        const char *rcpt = rcpts[i];
        MsRcptRecord *rr = ms__mail_rcpt(m, id, rcpt);
        if (rr) {
            rr->hops++;
            rr->state = MS_RCPT_QUEUED;
            ms__rcpt_touch(m, rr);
            rr->where = s->host;
            ms__auth_note_queued(m, id, rcpt, s->host); /* a partitioned run's DNSBL listings */
        }
        const char *dom = ms__address_domain(rcpt);
        if (ms__server_is_local(s, dom)) {
            g_autofree char *local = ms__address_local(rcpt);
            /* a forward or a list sends it on (mail_auth_send.c) */
            if (m->auth && ms__auth_alias_take(m, s, id, from, rcpt, local, data))
                continue;
            g_autofree char *rp = g_strdup_printf("Return-Path: <%s>\r\n", from);
            gboolean keep = ms__server_keeps_bodies(m, s);
            MsStoreResult r;
            if (keep) {
                g_autoptr(GBytes) stored = ms__prepend_header(data, rp);
                r = ms_mail_store_deliver(s->store, local, stored, id, now);
                if (r == MS_STORE_OK)
                    ms__mail_pin(m, id); /* a client may download it: its record stays */
            } else {
                /* Lean: nobody reads this store; count what would be kept. */
                r = ms_mail_store_count(s->store, local, strlen(rp) + g_bytes_get_size(data), id,
                                        now);
            }
            if (r == MS_STORE_OK && junk && keep) {
                /* DMARC quarantine (RFC 7489 6.3 p=quarantine): the message
                 * carries the Junk flag; IMAP shows it in Junk (mail_imap.c) */
                GPtrArray *box = ms_mail_store_messages(s->store, local);
                const MsStoredMessage *last = g_ptr_array_index(box, box->len - 1);
                ms_mail_store_set_flags(s->store, local, last->uid,
                                        last->flags | MS_STORE_FLAG_JUNK);
            }
            if (r == MS_STORE_OK) {
                if (rr) {
                    rr->state = MS_RCPT_DELIVERED;
                    ms__rcpt_touch(m, rr);
                    rr->done_at = now;
                    rr->received_headers = ms__count_received(data); /* Return-Path: is not one */
                    g_clear_pointer(&rr->detail, g_free);
                    if (keep)
                        rr->detail =
                            g_strdup_printf("stored in mailbox %s at %s", rcpt, s->hostname);
                }
                const MsMessageRecord *rec = ms__mail_record(m, id);
                ms__mail_note(m, s->host, MS_HOST_WORLD, id, "%s stores the %s in the %s of %s",
                              s->hostname, rec && rec->is_dsn ? "bounce (DSN)" : "message",
                              junk ? "Junk folder" : "mailbox", rcpt);
                if (keep)
                    ms__imapd_notify(m, s, local); /* IDLE sessions hear of it now */
            } else {
                /* The server's own delivery agent gives up: no remote MTA
                 * and no SMTP reply; its words are Postfix local(8)'s (an
                 * unknown user; a mailbox over mailbox_size_limit). */
                gboolean full = r == MS_STORE_OVER_QUOTA;
                g_autofree char *why_text =
                    full ? g_strdup_printf("cannot update mailbox /var/mail/%s for user %s. error "
                                           "writing message: File too large",
                                           local, local)
                         : g_strdup_printf("unknown user: \"%s\"", local);
                MsBounceReason why = { full ? "5.2.2" : "5.1.1", NULL, NULL, why_text, now };
                ms__mail_bounce(m, s, id, from, rcpt, &why, data);
            }
            continue;
        }
        GPtrArray *list = NULL;
        for (guint k = 0; k < order->len && !list; k++)
            if (g_ascii_strcasecmp(g_ptr_array_index(order, k), dom) == 0)
                list = g_ptr_array_index(lists, k);
        if (!list) {
            list = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(order, g_ascii_strdown(dom, -1));
            g_ptr_array_add(lists, list);
        }
        g_ptr_array_add(list, g_strdup(rcpt));
    }
    for (guint i = 0; i < order->len; i++)
        ms__mta_enqueue(m, s, id, from, g_ptr_array_index(lists, i), g_ptr_array_index(order, i),
                        data);
    g_ptr_array_unref(order);
    g_ptr_array_unref(lists);
}

guint32
ms_mail_inject(MsMail *m, guint server, const char *from, const char *const *rcpts, GBytes *data,
               const MsMailInjectInfo *info, char **queue_id)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len, 0);
    g_return_val_if_fail(from && rcpts && rcpts[0] && data, 0);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    MsMailInjectInfo none = { 0 };
    if (!info)
        info = &none;
    g_autofree char *label = g_strdup_printf(
        "%s-%u", info->label_prefix ? info->label_prefix : "bridge", ms__mail_n_records(m) + 1);
    gsize n_data;
    const char *d = g_bytes_get_data(data, &n_data);
    g_autofree char *subject = ms__mail_header_value(d, n_data, "Subject");
    guint32 id = ms__mail_new_record(m, label, from, rcpts, subject, s->host, 0);
    MsMessageRecord *rec = ms__mail_record(m, id);
    for (guint i = 0; i < rec->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(rec->rcpts, MsRcptRecord, i);
        rr->state = MS_RCPT_QUEUED;
        ms__rcpt_touch(m, rr);
        rr->where = s->host;
    }
    /* Later hops find the record by the Message-ID header (see
     * ms__mail_message_from_data): map the client's, or add ours. A
     * Message-ID seen before is mapped to the newest message. */
    g_autofree char *mid = ms__mail_header_value(d, n_data, "Message-ID");
    g_autoptr(GBytes) body = NULL;
    if (mid && *mid) {
        g_hash_table_replace(m->by_message_id, g_strdup(mid), GUINT_TO_POINTER(id));
        body = g_bytes_ref(data);
    } else {
        g_autofree char *h = g_strdup_printf("Message-ID: %s\r\n", rec->message_id);
        body = ms__prepend_header(data, h);
    }
    guint n = 0;
    while (rcpts[n])
        n++;
    char qid[MS_MAIL_QID_SIZE];
    ms__mail_queue_id(s, qid);
    /* RFC 3848: A for an authenticated client, S for a session inside TLS */
    const char *with = info->tls ? (info->authenticated ? "ESMTPSA" : "ESMTPS")
                                 : info->authenticated ? "ESMTPA"
                                 : info->esmtp         ? "ESMTP"
                                                       : "SMTP";
    g_autofree char *clause = g_strconcat("from ", info->helo ? info->helo : "unknown", " ([",
                                          info->peer ? info->peer : "unknown", "])\r\n\t", NULL);
    g_autoptr(GBytes) stamped =
        ms__mail_stamp(m, s, clause, "mailsim bridge", with, qid, rcpts[0], body);
    ms__mail_note(m, s->host, MS_HOST_WORLD, id,
                  "%s accepts a message from a real client at %s, over the bridge, for %u "
                  "recipient%s (queue id %s)",
                  s->hostname, info->peer ? info->peer : "?", n, n == 1 ? "" : "s", qid);
    ms__mail_accept(m, s, id, from, rcpts, n, stamped);
    if (queue_id)
        *queue_id = g_strdup(qid);
    return id;
}
