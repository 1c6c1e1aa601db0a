/* Who really sent this? Sender authentication in the mail layer: the
 * checks a receiving server makes on mail from outside (SPF, RFC 7208;
 * DKIM, RFC 6376; DMARC, RFC 7489; DNS blocklists, RFC 5782), the DKIM
 * signature a domain's outbound server puts on its users' mail, the
 * Authentication-Results: header (RFC 8601) on what is delivered, and the
 * senders that make these checks matter: a host's own MTA sending with any
 * envelope and header sender, a forwarding service, a mailing list, and the
 * submission server's refusal of a sender that is not the logged-in user
 * (Postfix reject_sender_login_mismatch).
 *
 * Every check asks the simulated DNS through the server's resolver (the
 * queries appear in captures and are cached for their TTL, as a real
 * receiver's are) and is said in the narration with its result and why. */
#pragma once

#include <glib.h>
#include "mailsim/dkim.h"
#include "mailsim/mail.h"

G_BEGIN_DECLS

/* A server's checks on mail from outside (port 25, not logged in). All off
 * by default. */
typedef struct {
    gboolean spf, dkim, dmarc;
    const char *const *dnsbl;    /* NULL-terminated DNSBL zones, or NULL (copied) */
    gboolean dnsbl_at_rcpt;      /* refuse at RCPT (Postfix smtpd_delay_reject); else at
                                  * the greeting */
    gboolean sender_login_match; /* submission: MAIL FROM and From: must be the login's */
} MsMailAuthSettings;

void ms_mail_auth_configure(MsMail *mail, guint server, const MsMailAuthSettings *settings);

/* `server` signs its users' mail From: `domain` with `key` (taken) under
 * `selector` (RFC 6376 5). */
void ms_mail_auth_add_key(MsMail *mail, guint server, const char *domain, const char *selector,
                          MsDkimSigningKey *key);

/* What a DMARC result made the receiver do with a message. */
typedef enum {
    MS_MAIL_AUTH_ACCEPT,     /* delivered (checks passed, failed under p=none, or none made) */
    MS_MAIL_AUTH_QUARANTINE, /* delivered into the recipient's Junk */
    MS_MAIL_AUTH_REJECT,     /* refused with 550 5.7.1 after DATA */
} MsMailAuthAction;

/* The results of the checks one server made on a message (RFC 8601 2.7
 * result words; "" for a check not made). */
typedef struct {
    gboolean checked;
    char spf[12], dkim[12], dmarc[12], dnsbl[12];
    MsMailAuthAction action;
    MsHostId where; /* the server that checked */
    MsTime at;      /* when its verdict came (for a DNSBL listing: when the list answered) */
} MsMailAuthLedger;

/* Fills *out with the last checks made on message id (all "" and checked
 * FALSE when none was made). */
void ms_mail_auth_ledger(const MsMail *mail, guint32 message, MsMailAuthLedger *out);
/* The last checks server host `where` made on message id: FALSE (and *out
 * blank) when it made none. */
gboolean ms_mail_auth_ledger_at(const MsMail *mail, guint32 message, MsHostId where,
                                MsMailAuthLedger *out);
/* Every check made on message id, oldest first: how many, and the i-th
 * (FALSE past the end). O(checks of the message). */
guint ms_mail_auth_n_ledgers(const MsMail *mail, guint32 message);
gboolean ms_mail_auth_ledger_nth(const MsMail *mail, guint32 message, guint i,
                                 MsMailAuthLedger *out);

/* Whether the world uses sender authentication at all (checks, keys,
 * forwards, lists or direct senders). */
gboolean ms_mail_auth_enabled(const MsMail *mail);

/* Results per mechanism over the run, for --stats. */
typedef struct {
    guint64 spf[7];   /* by MsMailAuthResult: none, pass, fail, softfail, neutral, temperror,
                       * permerror */
    guint64 dkim[7];  /* the same words (neutral unused) */
    guint64 dmarc[7]; /* the same words (softfail and neutral unused) */
    guint64 dnsbl_listed, dnsbl_clean;
    guint64 signed_messages;
    guint64 rejected, quarantined, login_mismatch;
} MsMailAuthStats;
void ms_mail_auth_get_stats(const MsMail *mail, MsMailAuthStats *out);
/* The result word of index i of the arrays above ("none", "pass", ...). */
const char *ms_mail_auth_result_name(guint i);

/* One message a receiver checked against a DMARC record that asks for
 * aggregate reports (rua=, RFC 7489 7.2): what a report's row says of it.
 * Strings live as long as the mail layer. */
#define MS_MAIL_AUTH_REPORT_DKIM 5
typedef struct {
    MsHostId receiver;         /* the server that checked */
    const char *policy_domain; /* where the record was found */
    const char *record;        /* the record, every tag explicit (RFC 7489 6.3) */
    MsTime at;
    char source_ip[16];
    guint disposition; /* MsDmarcPolicy applied: none, quarantine, reject */
    gboolean dkim_aligned, spf_aligned, sampled_out;
    const char *envelope_to;   /* the first recipient's domain */
    const char *envelope_from; /* MAIL FROM's domain ("" for <>) */
    const char *header_from;
    const char *spf_domain;
    gboolean spf_helo;
    guint spf_result; /* MsSpfResult */
    guint n_dkim;
    const char *dkim_domain[MS_MAIL_AUTH_REPORT_DKIM];
    const char *dkim_selector[MS_MAIL_AUTH_REPORT_DKIM];
    const char *dkim_result[MS_MAIL_AUTH_REPORT_DKIM];
} MsMailAuthReportRow;

/* The rows of the run, in the order the checks ended. */
guint ms_mail_auth_n_report_rows(const MsMail *mail);
const MsMailAuthReportRow *ms_mail_auth_report_row(const MsMail *mail, guint i);

/* ---- senders ------------------------------------------------------------- */

/* A message that `server`'s own MTA sends at `at`, straight to the
 * recipients' MX: header From: `from`, envelope sender `mail_from` (NULL:
 * from; "" is the null path). Nothing checks that the server may speak for
 * either (an attacker, a list server). Returns the message id. */
guint32 ms_mail_auth_send_direct(MsMail *mail, guint server, const char *label, const char *from,
                                 const char *mail_from, const char *const *to,
                                 const char *const *cc, const char *subject, const char *body,
                                 guint64 size, MsTime at);

/* Mail for local part `user` at `server` is sent on to `target`, the
 * message unchanged and the envelope sender kept (a forwarding service
 * without SRS: what breaks SPF at the next hop). */
void ms_mail_auth_add_forward(MsMail *mail, guint server, const char *user, const char *target);

/* A mailing list `name`@<server's first domain>: each message goes on to
 * every member from name-bounces@domain, Subject: prefixed with
 * `subject_tag` and `footer` (if not "") added to the body. */
void ms_mail_auth_add_list(MsMail *mail, guint server, const char *name, const char *const *members,
                           const char *subject_tag, const char *footer);

G_END_DECLS
