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
 *   - Postfix: minimal_backoff_time, doubled per attempt up to
 *     maximal_backoff_time (300 s, 600 s, ... 4000 s, 4000 s, ...);
 *   - Exim: its default retry rule "F,2h,15m; G,16h,1h,1.5; F,4d,6h":
 *     fixed 15 min while the entry is younger than 2 h, then geometric from
 *     1 h by 1.5 until 16 h, then every 6 h;
 *   - OpenSMTPD: creation + 400 s x n^2 (a retry already in the past is
 *     moved to now + 400 s).
 * Every profile gives up (MS_TIME_INFINITE) when the next try would fall
 * more than `give_up` after the entry was queued: the queue then bounces it
 * with 4.4.7 (RFC 3463).
 *
 * Invariants: the result is > now or MS_TIME_INFINITE (given the nonzero
 * intervals ms_mail_add_server() fills in); the same arguments
 * give the same answer (no random draw: jitter would have to come from the
 * server's stream, and real MTAs' defaults have none).
 * Ownership: none; pure functions. Costs: O(1), except the doubling and
 * geometric loops, bounded by log2(retry_max / retry_first) and ~7 steps. */
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
        break;
    case MS_MTA_EXIM:
        /* Exim's default retry rule: F,2h,15m; G,16h,1h,1.5; F,4d,6h. */
        p->retry_first = 15 * MS_TIME_MIN;
        p->retry_max = 6 * MS_TIME_H;
        p->give_up = 4 * MS_TIME_DAY;
        p->max_size = 50 * 1024 * 1024;
        p->max_recipients = 1000;
        break;
    case MS_MTA_OPENSMTPD:
        /* OpenSMTPD: retry at creation + 400 s x n^2, expire after 4 d. */
        p->retry_first = 400 * MS_TIME_S;
        p->retry_max = 0;
        p->give_up = 4 * MS_TIME_DAY;
        p->max_size = 35 * 1024 * 1024;
        p->max_recipients = 1000;
        break;
    }
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
        MsTime d = p->retry_first;
        for (guint i = 1; i < attempt && d < p->retry_max; i++)
            d *= 2;
        next = now + MIN(d, p->retry_max ? p->retry_max : d);
        break;
    }
    }
    if (next - queued_at > p->give_up)
        return MS_TIME_INFINITE;
    return next;
}

const char *
ms_mta_profile_to_string(MsMtaProfile profile)
{
    static const char *const names[] = { "postfix", "exim", "opensmtpd" };
    return (guint) profile < G_N_ELEMENTS(names) ? names[profile] : "?";
}
