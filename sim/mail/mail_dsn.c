/* Delivery status notifications (RFC 3464): what a server sends back to
 * the sender when it gives up on a recipient.
 *
 * Role in the data flow: a server gives up when a recipient is unknown or
 * its mailbox full at final delivery (mail_accept.c), when a next hop
 * answers 5xx or the retry schedule runs out (mail_mta.c), or when the real
 * server behind the bridge refuses a message (ms_mail_bounce_external).
 * ms__mail_bounce() marks the recipient bounced in its record, makes a new
 * record for the DSN (parent: the original) and accepts the DSN into the
 * same server's care, like any message that arrives there: it goes to a
 * local mailbox or to the queue towards the sender's domain.
 *
 * Design. The DSN is multipart/report; report-type=delivery-status (RFC
 * 6522) with three parts, as Postfix writes them: a human-readable
 * explanation, a message/delivery-status part and the original's header
 * section as text/rfc822-headers (RFC 6522 allows the headers instead of
 * the whole message). The delivery-status part has the per-message fields
 * of RFC 3464 2.2 (Reporting-MTA: dns; <this server>, Arrival-Date: when
 * the message came in), then the per-recipient fields of 2.3:
 * Final-Recipient: rfc822; <address>, Action: failed, Status: <RFC 3463
 * code>, Remote-MTA: dns; <host> when a remote MTA answered (2.3.5),
 * Diagnostic-Code (2.3.6) and Last-Attempt-Date (2.3.7). The
 * Diagnostic-Code is "smtp; " and the reply itself, as the remote MTA sent
 * it, when there is one; otherwise the reporting MTA's own words with its
 * own type, as Postfix's bounce(8) writes "X-Postfix; Host or domain name
 * not found. ..." (Exim: X-Exim). Postfix leaves Last-Attempt-Date out and
 * Sendmail writes it; we write it (the time the server gave up). It comes from the null reverse
 * path with Auto-Submitted: auto-replied (RFC 3834), and a message that was
 * itself a bounce (empty sender) is never bounced (RFC 5321 4.5.5, 6.1):
 * the recipient is marked bounced and the narration says why nothing
 * goes back.
 *
 * Invariants: one DSN per bounced recipient; its label "dsn-K" counts the
 * bounces of the server that made it, and its MIME boundary is built from
 * per-origin numbers only, so a partitioned run writes the same bytes.
 * Ownership: `original` is borrowed (only its header section is copied).
 * Costs: O(size of the original's header section); bounces are rare, so the
 * text is printed with printf rather than concatenated. */
#include "mail-private.h"
#include "mail_auth-private.h"

#include <string.h>

/* The diagnostic-type of a reason that is no SMTP reply (RFC 3464 2.3.6:
 * an "X-" name), as each MTA writes it. */
static const char *
own_diagnostic_type(const MsMailServer *s)
{
    switch (s->policy.profile) {
    case MS_MTA_EXIM:
        return "X-Exim";
    case MS_MTA_OPENSMTPD:
        return "X-OpenSMTPD";
    default:
        return "X-Postfix";
    }
}

/* The reason in words, as the DSN's human-readable part and the
 * narration give it: "host mx.b.example said: 550 5.1.1 ...", the reply
 * alone, or the reporting MTA's own text. Caller frees. */
static char *
reason_text(const MsBounceReason *why)
{
    if (why->reply && why->remote_mta)
        return g_strdup_printf("host %s said: %s", why->remote_mta, why->reply);
    return g_strdup(why->reply ? why->reply : why->text ? why->text : "");
}

void
ms__mail_bounce(MsMail *m, MsMailServer *s, guint32 message, const char *from, const char *rcpt,
                const MsBounceReason *why, GBytes *original)
{
    MsTime now = ms_engine_now(m->engine);
    const char *status = why->status;
    g_autofree char *words = reason_text(why);
    MsRcptRecord *rr = ms__mail_rcpt(m, message, rcpt);
    if (rr && rr->state != MS_RCPT_DELIVERED && rr->state != MS_RCPT_BOUNCED) {
        rr->state = MS_RCPT_BOUNCED;
        ms__rcpt_touch(m, rr);
        rr->done_at = now;
        rr->where = s->host;
        g_strlcpy(rr->status, status, sizeof rr->status);
        g_free(rr->detail);
        rr->detail = g_strdup(words);
        ms__auth_note_queued(m, message, rcpt, MS_NO_HOST_ID); /* out of every queue */
    }
    /* The narration gives each code once: the status only when the words
     * do not already carry it ("550 5.1.1 ..." does). */
    g_autofree char *told =
        strstr(words, status) ? g_strdup(words) : g_strdup_printf("%s %s", status, words);
    if (!from || !*from) {
        /* RFC 5321 4.5.5 / 6.1: never bounce a bounce. */
        ms__mail_note(m, s->host, MS_HOST_WORLD, message,
                      "%s gives up on %s (%s) and sends no bounce: the sender is empty, this was a "
                      "bounce itself",
                      s->hostname, rcpt, status);
        return;
    }
    ms__mail_note(m, s->host, MS_HOST_WORLD, message, "%s gives up on %s (%s) and bounces it to %s",
                  s->hostname, rcpt, told, from);
    g_autofree char *label = g_strdup_printf("dsn-%u", ++s->n_dsn);
    const char *rcpts[] = { from, NULL };
    guint32 id = ms__mail_new_record(m, label, "", rcpts, "Undelivered Mail Returned to Sender",
                                     s->host, message);
    MsMessageRecord *rec = ms__mail_record(m, id);
    MsRcptRecord *dr = &g_array_index(rec->rcpts, MsRcptRecord, 0);
    dr->state = MS_RCPT_QUEUED;
    ms__rcpt_touch(m, dr);
    dr->where = s->host;
    char date[MS_MAIL_DATE_SIZE], arrival[MS_MAIL_DATE_SIZE];
    ms__mail_date(now, date);
    ms__mail_date(why->arrival, arrival);
    /* Numbers that do not depend on how a run is partitioned. */
    const MsMessageRecord *orig = ms__mail_record(m, message);
    g_autofree char *boundary =
        g_strdup_printf("%u.%u/%s", rec->origin_n, orig ? orig->origin_n : 0, s->hostname);
    /* The original's header section, for text/rfc822-headers (RFC 3462). */
    gsize n;
    const char *od = original ? g_bytes_get_data(original, &n) : "";
    if (!original)
        n = 0;
    const char *hend = g_strstr_len(od, (gssize) n, "\r\n\r\n");
    gsize hlen = hend ? (gsize) (hend - od) + 2 : n;
    GString *b = g_string_new(NULL);
    g_string_append_printf(
        b,
        "From: MAILER-DAEMON@%s\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: %s\r\nMessage-ID: %s\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n",
        s->hostname, from, date, rec->message_id, boundary);
    g_string_append_printf(b,
                           "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                           "This is the mail system at host %s.\r\n\r\n"
                           "Your message could not be delivered to one or more recipients.\r\n\r\n"
                           "<%s>: %s\r\n\r\n",
                           boundary, s->hostname, rcpt, words);
    /* RFC 3464 2.2: the per-message fields. */
    g_string_append_printf(b,
                           "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
                           "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n\r\n",
                           boundary, s->hostname, arrival);
    /* RFC 3464 2.3: the recipient's fields. */
    g_string_append_printf(b, "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n",
                           rcpt, status);
    if (why->reply && why->remote_mta)
        g_string_append_printf(b, "Remote-MTA: dns; %s\r\n", why->remote_mta);
    if (why->reply)
        g_string_append_printf(b, "Diagnostic-Code: smtp; %s\r\n", why->reply);
    else
        g_string_append_printf(b, "Diagnostic-Code: %s; %s\r\n", own_diagnostic_type(s), words);
    g_string_append_printf(b, "Last-Attempt-Date: %s\r\n\r\n", date);
    g_string_append_printf(b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
    g_string_append_len(b, od, (gssize) hlen);
    g_string_append_printf(b, "\r\n--%s--\r\n", boundary);
    gsize len = b->len;
    g_autoptr(GBytes) data = g_bytes_new_take(g_string_free(b, FALSE), len);
    ms__mail_accept(m, s, id, "", rcpts, 1, data);
    ms__mail_release(m, id); /* handed on: the queue or a mailbox has it */
}

/* Whether text starts like an SMTP reply: three digits and a blank. */
static gboolean
is_reply(const char *text)
{
    return g_ascii_isdigit(text[0]) && g_ascii_isdigit(text[1]) && g_ascii_isdigit(text[2]) &&
           text[3] == ' ';
}

guint32
ms_mail_bounce_external(MsMail *m, guint server, const char *from, const char *rcpt,
                        const char *status, const char *diagnostic, GBytes *original)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len, 0);
    g_return_val_if_fail(rcpt && status && diagnostic, 0);
    guint before = ms__mail_n_records(m);
    /* The real server's reply is quoted as it came; other reasons are the
     * bridge's own words. */
    MsBounceReason why = { status, is_reply(diagnostic) ? diagnostic : NULL, NULL,
                           is_reply(diagnostic) ? NULL : diagnostic, ms_engine_now(m->engine) };
    ms__mail_bounce(m, g_ptr_array_index(m->servers, server), 0, from, rcpt, &why, original);
    return ms__mail_n_records(m) > before ? ms__mail_n_records(m) : 0;
}
