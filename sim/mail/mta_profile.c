/* MTA profiles (see include/mailsim/mta_profile.h): when a deferred queue
 * entry is tried again and when it is given up, as Postfix, Exim and
 * OpenSMTPD schedule it with their default settings.
 *
 * Role in the data flow: the MTA queue (mail_mta.c) asks
 * ms_mta_next_retry() after every failed delivery attempt; a server's
 * limits (message size, recipients per message) are read by its SMTP
 * service (mail_smtpd.c) when a session opens.
 *
 * Design. One switch per profile rather than a struct of function
 * pointers: the three schedules are short closed forms of (attempt, age),
 * and a fourth profile is a case here and a value of MsMtaProfile. The
 * schedules:
 *   - Postfix: the time the message has already spent in the queue,
 *     clamped to [minimal_backoff_time, maximal_backoff_time] = [300 s,
 *     4000 s] (qmgr_active.c, qmgr_active_done_3_generic: "we look at
 *     actual time in queue, not time since last delivery attempt"), so
 *     the pauses roughly double. The queue manager then picks the deferred
 *     message up at its first deferred-queue scan after that, and it scans
 *     every queue_run_delay (300 s) from its start (the start of the
 *     simulation), which delays each retry by up to 300 s more;
 *   - Exim: its default retry rule "F,2h,15m; G,16h,1h,1.5; F,4d,6h":
 *     fixed 15 min while the entry is younger than 2 h, then geometric from
 *     1 h by 1.5 until 16 h, then every 6 h;
 *   - OpenSMTPD: creation + 400 s x n^2 (a retry already in the past is
 *     moved to now + 400 s).
 * Connection timeouts (how long an attempt waits for the TCP handshake
 * before it moves on to the next address):
 *   - Postfix: smtp_connect_timeout, 30 s;
 *   - Exim: the smtp transport's connect_timeout, 5 min;
 *   - OpenSMTPD: mta_session.c sets a 300 s I/O timeout on the socket
 *     before connect(), and nothing shorter applies to the connect.
 * A timeout longer than the TCP layer's own SYN give-up (sim/net/tcp.c) never
 * fires: the kernel's ETIMEDOUT comes first, as on a real host.
 * Every profile gives up (MS_TIME_INFINITE) when the next try would fall
 * more than `give_up` after the entry was queued: the queue then bounces it,
 * Postfix with the status of the last deferral (its defer log becomes the
 * bounce: "Action: failed", "Status: 4.4.1"), Exim and OpenSMTPD with
 * 4.4.7 (RFC 3463: delivery time expired).
 *
 * Invariants: the result is > now or MS_TIME_INFINITE (given the nonzero
 * intervals ms_mail_add_server() fills in); the same arguments
 * give the same answer (no random draw: jitter would have to come from the
 * server's stream, and real MTAs' defaults have none).
 * Ownership: none; pure functions. Costs: O(1), except Exim's geometric
 * loop, ~7 steps. */
#include "mailsim/mta_profile.h"

#include <string.h>

void
ms_mta_policy_defaults(MsMtaProfile profile, MsMtaPolicy *p)
{
    g_return_if_fail(p != NULL);
    memset(p, 0, sizeof *p);
    p->profile = profile;
    switch (profile) {
    case MS_MTA_POSTFIX:
        /* Postfix: minimal_backoff_time 300s, maximal_backoff_time 4000s,
         * maximal_queue_lifetime 5d, message_size_limit 10240000,
         * smtpd_recipient_limit 1000. */
        p->retry_first = 300 * MS_TIME_S;
        p->retry_max = 4000 * MS_TIME_S;
        p->give_up = 5 * MS_TIME_DAY;
        p->max_size = 10240000;
        p->max_recipients = 1000;
        p->connect_timeout = 30 * MS_TIME_S; /* smtp_connect_timeout */
        break;
    case MS_MTA_EXIM:
        /* Exim's default retry rule: F,2h,15m; G,16h,1h,1.5; F,4d,6h;
         * message_size_limit 50M. recipients_max was unlimited up to 4.96
         * and is 50000 from 4.97: the finite value is used. */
        p->retry_first = 15 * MS_TIME_MIN;
        p->retry_max = 6 * MS_TIME_H;
        p->give_up = 4 * MS_TIME_DAY;
        p->max_size = 50 * 1024 * 1024;
        p->max_recipients = 50000;
        p->connect_timeout = 5 * MS_TIME_MIN; /* smtp transport: connect_timeout */
        break;
    case MS_MTA_OPENSMTPD:
        /* OpenSMTPD: retry at creation + 400 s x n^2 (scheduler_ramqueue.c
         * BACKOFF_TRANSFER), expire after 4 d (smtpd.conf "expire"),
         * max-message-size 35M, at most 1000 recipients per transaction
         * (smtp limit max-rcpt). */
        p->retry_first = 400 * MS_TIME_S;
        p->retry_max = 0;
        p->give_up = 4 * MS_TIME_DAY;
        p->max_size = 35 * 1024 * 1024;
        p->max_recipients = 1000;
        p->connect_timeout = 300 * MS_TIME_S; /* mta_session.c io_set_timeout */
        break;
    }
    /* What a provider configures today (RFC 8314 3: submission and access
     * only inside TLS; RFC 3207 4: MX-to-MX opportunistic, since an MX
     * published for the world cannot require TLS of every sender). */
    p->smtpd_tls_level = MS_MTA_TLS_MAY;
    p->tls_auth_only = TRUE;
    p->smtp_tls_level = MS_MTA_TLS_MAY;
    p->cert_fault = MS_TLS_CERT_GOOD;
}

const char *
ms_mta_tls_level_to_string(MsMtaTlsLevel level)
{
    switch (level) {
    case MS_MTA_TLS_NONE:
        return "none";
    case MS_MTA_TLS_MAY:
        return "may";
    case MS_MTA_TLS_ENCRYPT:
        return "encrypt";
    case MS_MTA_TLS_DANE:
        return "dane";
    case MS_MTA_TLS_VERIFY:
        return "verify";
    }
    return "?";
}

MsTime
ms_mta_next_retry(const MsMtaPolicy *p, guint attempt, MsTime queued_at, MsTime now)
{
    g_return_val_if_fail(p != NULL, MS_TIME_INFINITE);
    MsTime next;
    switch (p->profile) {
    case MS_MTA_EXIM: {
        MsTime age = now - queued_at;
        if (age < 2 * MS_TIME_H) {
            next = now + p->retry_first;
        } else if (age < 16 * MS_TIME_H) {
            /* geometric from 1 h by 1.5, counted from the end of the first phase */
            guint k = attempt > 9 ? attempt - 9 : 0;
            double d = 3600.0;
            for (guint i = 0; i < k && d < 16 * 3600.0; i++)
                d *= 1.5;
            next = now + ms_time_from_seconds(d);
        } else {
            next = now + p->retry_max;
        }
        break;
    }
    case MS_MTA_OPENSMTPD:
        next = queued_at + p->retry_first * (MsTime) attempt * (MsTime) attempt;
        if (next <= now)
            next = now + p->retry_first;
        break;
    case MS_MTA_POSTFIX:
    default: {
        /* whole seconds, as time() counts them */
        MsTime d = (now - queued_at) / MS_TIME_S * MS_TIME_S;
        if (p->retry_max && d > p->retry_max)
            d = p->retry_max;
        if (d < p->retry_first)
            d = p->retry_first;
        next = now + d;
        /* the next deferred-queue scan at or after that moment */
        next = (next + MS_POSTFIX_QUEUE_RUN_DELAY - 1) / MS_POSTFIX_QUEUE_RUN_DELAY *
               MS_POSTFIX_QUEUE_RUN_DELAY;
        break;
    }
    }
    if (next - queued_at > p->give_up)
        return MS_TIME_INFINITE;
    return next;
}

MsTime
ms_mta_connect_timeout(const MsMtaPolicy *p)
{
    g_return_val_if_fail(p != NULL, 30 * MS_TIME_S);
    if (p->connect_timeout > 0)
        return p->connect_timeout;
    MsMtaPolicy def;
    ms_mta_policy_defaults(p->profile, &def);
    return def.connect_timeout;
}

MsSmtpDialect
ms_mta_profile_dialect(MsMtaProfile profile)
{
    switch (profile) {
    case MS_MTA_EXIM:
        return MS_SMTP_DIALECT_EXIM;
    case MS_MTA_OPENSMTPD:
        return MS_SMTP_DIALECT_OPENSMTPD;
    case MS_MTA_POSTFIX:
    default:
        return MS_SMTP_DIALECT_POSTFIX;
    }
}

const char *
ms_mta_profile_product(MsMtaProfile profile)
{
    switch (profile) {
    case MS_MTA_EXIM:
        return "Exim 4.96";
    case MS_MTA_OPENSMTPD:
        return "OpenSMTPD";
    case MS_MTA_POSTFIX:
    default:
        return "Postfix";
    }
}

char *
ms_mta_profile_banner(MsMtaProfile profile, const char *hostname, const char *date)
{
    g_return_val_if_fail(hostname != NULL, NULL);
    switch (profile) {
    case MS_MTA_EXIM:
        /* smtp_banner: "$smtp_active_hostname ESMTP Exim $version_number
         * $tod_full" */
        return g_strdup_printf("%s ESMTP Exim 4.96%s%s", hostname, date ? " " : "",
                               date ? date : "");
    case MS_MTA_OPENSMTPD:
        /* smtp_send_banner: "220 %s ESMTP %s", SMTPD_NAME */
        return g_strdup_printf("%s ESMTP OpenSMTPD", hostname);
    case MS_MTA_POSTFIX:
    default:
        /* smtpd_banner: "$myhostname ESMTP $mail_name" */
        return g_strdup_printf("%s ESMTP Postfix", hostname);
    }
}

void
ms_mta_policy_smtp_config(const MsMtaPolicy *p, gboolean submission, MsSmtpServerConfig *cfg)
{
    g_return_if_fail(p != NULL && cfg != NULL);
    cfg->dialect = ms_mta_profile_dialect(p->profile);
    cfg->max_size = p->max_size;
    cfg->max_recipients = p->max_recipients;
    /* AUTH only on submission: Postfix's master.cf turns
     * smtpd_sasl_auth_enable on for the submission service only, Exim
     * advertises AUTH only once authenticators are configured, OpenSMTPD
     * only on a listener with "auth". */
    cfg->offer_auth = submission;
    if (!p->tls)
        return;
    /* RFC 3207: STARTTLS on 587 always, on 25 unless the level is none;
     * logins only inside TLS when tls_auth_only (Postfix
     * smtpd_tls_auth_only: AUTH is not even advertised before); level
     * encrypt on 25 refuses mail before STARTTLS (530 5.7.0). */
    cfg->offer_starttls = submission || p->smtpd_tls_level != MS_MTA_TLS_NONE;
    cfg->auth_requires_tls = submission && p->tls_auth_only;
    cfg->tls_required = !submission && p->smtpd_tls_level >= MS_MTA_TLS_ENCRYPT;
}

/* n in base 62 (Exim's digits: 0-9, A-Z, a-z), `width` digits. */
static void
base62(guint64 n, guint width, char *out)
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (guint i = width; i > 0; i--) {
        out[i - 1] = digits[n % 62];
        n /= 62;
    }
}

void
ms_mta_profile_queue_id(MsMtaProfile profile, guint32 host, guint32 n, char *out, gsize size)
{
    g_return_if_fail(out != NULL && size >= 17);
    switch (profile) {
    case MS_MTA_EXIM: {
        /* Exim 4.96 message ids: 6 base-62 digits of the time, 6 of the
         * process id, 2 of the sub-second fraction (the 4.97 form is
         * longer); here the counter, the host and "00". */
        char id[17];
        base62(n, 6, id);
        id[6] = '-';
        base62(host, 6, id + 7);
        id[13] = '-';
        id[14] = id[15] = '0';
        id[16] = '\0';
        g_strlcpy(out, id, size);
        break;
    }
    case MS_MTA_OPENSMTPD:
        /* msgid: 32 random bits, printed "%08x" */
        g_snprintf(out, size, "%08x", ((host & 0xfffu) << 20) | (n & 0xfffffu));
        break;
    case MS_MTA_POSTFIX:
    default:
        /* short queue ids: upper-case hexadecimal */
        g_snprintf(out, size, "%X%04X", host, n);
        break;
    }
}

char *
ms_mta_profile_queued_text(MsMtaProfile profile, const char *qid)
{
    switch (profile) {
    case MS_MTA_EXIM:
        return g_strdup_printf("OK id=%s", qid); /* smtp_in.c: "250 OK id=%s" */
    case MS_MTA_OPENSMTPD:
        /* smtp_session.c: "250 2.0.0 %08x Message accepted for delivery" */
        return g_strdup_printf("%s Message accepted for delivery", qid);
    case MS_MTA_POSTFIX:
    default:
        return g_strdup_printf("Ok: queued as %s", qid); /* cleanup's reply via smtpd */
    }
}

/* The domain of "local@domain" ("" when there is no "@"). */
static const char *
domain_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? at + 1 : "";
}

/* The profile's refusal of a recipient: Postfix names the address first ("<a@b>:
 * Recipient address rejected: ...", smtpd_check.c), with postgrey's
 * default text for greylisting; Exim's default ACLs say "Unrouteable
 * address" and "relay not permitted" (550, configure.default); OpenSMTPD's
 * lookup answers "550 Invalid recipient: <a@b>" to both, with no enhanced
 * code (smtp_session.c IMSG_SMTP_EXPAND_RCPT). Greylisting
 * outside Postfix keeps the generic text (Exim and OpenSMTPD greylist
 * through add-ons whose wording varies). */
void
ms_mta_profile_refusal(MsMtaProfile profile, MsMtaRefusal why, const char *rcpt, MsSmtpReply *reply)
{
    g_return_if_fail(rcpt != NULL && reply != NULL);
    g_autofree char *text = NULL;
    switch (profile) {
    case MS_MTA_EXIM:
        if (why == MS_MTA_REFUSE_UNKNOWN_USER)
            ms_smtp_reply_set(reply, 550, "5.1.1", "Unrouteable address");
        else if (why == MS_MTA_REFUSE_RELAY)
            ms_smtp_reply_set(reply, 550, "5.7.1", "relay not permitted");
        else
            ms_smtp_reply_set(reply, 450, "4.2.0", "Greylisted, try again later");
        return;
    case MS_MTA_OPENSMTPD:
        if (why == MS_MTA_REFUSE_GREYLIST) {
            ms_smtp_reply_set(reply, 450, "4.2.0", "Greylisted, try again later");
            return;
        }
        text = g_strdup_printf("Invalid recipient: <%s>", rcpt);
        ms_smtp_reply_set(reply, 550, "", text);
        return;
    case MS_MTA_POSTFIX:
    default:
        if (why == MS_MTA_REFUSE_UNKNOWN_USER) {
            text = g_strdup_printf(
                "<%s>: Recipient address rejected: User unknown in local recipient table", rcpt);
            ms_smtp_reply_set(reply, 550, "5.1.1", text);
        } else if (why == MS_MTA_REFUSE_RELAY) {
            text = g_strdup_printf("<%s>: Relay access denied", rcpt);
            ms_smtp_reply_set(reply, 554, "5.7.1", text);
        } else {
            /* postgrey --greylist-text default: "Greylisted, see
             * http://postgrey.schweikert.ch/help/%r.html", %r the
             * recipient's domain */
            text = g_strdup_printf("<%s>: Recipient address rejected: Greylisted, see "
                                   "http://postgrey.schweikert.ch/help/%s.html",
                                   rcpt, domain_of(rcpt));
            ms_smtp_reply_set(reply, 450, "4.2.0", text);
        }
        return;
    }
}

const char *
ms_mta_profile_to_string(MsMtaProfile profile)
{
    static const char *const names[] = { "postfix", "exim", "opensmtpd" };
    return (guint) profile < G_N_ELEMENTS(names) ? names[profile] : "?";
}
