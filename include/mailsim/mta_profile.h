/* MTA profiles and policies: the retry schedules, limits, connection
 * timeouts and SMTP server dialect of real MTAs (Postfix, Exim, OpenSMTPD)
 * that a mail server of the world follows. The
 * mail layer owns them (sim/mail/mta_profile.c); the scenario description,
 * a layer above, names a profile per server. Pure functions of their
 * arguments: no engine, no state. */
#pragma once

#include <glib.h>
#include "mailsim/smtp_server.h"
#include "mailsim/tls_pki.h"
#include "mailsim/time.h"

G_BEGIN_DECLS

typedef enum {
    MS_MTA_POSTFIX,   /* retry after the time in queue, 300 s to 4000 s; give up after 5 d */
    MS_MTA_EXIM,      /* every 15 min for 2 h, then x1.5 from 1 h to 16 h, then 6 h; 4 d */
    MS_MTA_OPENSMTPD, /* at creation + 400 s x n^2; give up after 4 d */
} MsMtaProfile;

/* A TLS security level, Postfix's names (postconf(5)
 * smtpd_tls_security_level, smtp_tls_security_level). */
typedef enum {
    MS_MTA_TLS_NONE = 0, /* no TLS */
    MS_MTA_TLS_MAY,      /* opportunistic: TLS when the peer has it, unverified */
    MS_MTA_TLS_ENCRYPT,  /* TLS required, the certificate not checked */
    MS_MTA_TLS_VERIFY,   /* TLS required, the certificate checked (client side only) */
    MS_MTA_TLS_DANE,     /* RFC 7672: TLSA records in a DNSSEC-signed zone make TLS required
                          * and say which certificate; without usable ones, as may (client
                          * side only) */
} MsMtaTlsLevel;

const char *ms_mta_tls_level_to_string(MsMtaTlsLevel level);

/* Postfix's queue_run_delay: the queue manager scans the deferred queue
 * this often, so a deferred message is retried at the first scan after
 * its back-off has passed. */
#define MS_POSTFIX_QUEUE_RUN_DELAY (300 * MS_TIME_S)

/* A server's policy; a field left 0 takes the profile's default. */
typedef struct {
    MsMtaProfile profile;
    MsTime retry_first, retry_max, give_up;
    MsTime connect_timeout; /* a connection attempt not established by then is
                             * abandoned for the next address */
    guint64 max_size;
    guint max_recipients;
    gboolean greylist;     /* postgrey-like: first try of a new triple gets 450 ... */
    MsTime greylist_delay; /* ... for this long; 0 = 300 s, postgrey's default */
    /* TLS (only when `tls`: a certificate, STARTTLS on 25 and 587, implicit
     * TLS on 465, STLS on 110 and POP3S on 995). The defaults are a modern
     * provider's: port 25 offers STARTTLS (may), logins happen only inside
     * TLS on submission and POP3 (Postfix smtpd_tls_auth_only, Dovecot
     * disable_plaintext_auth), outbound TLS is opportunistic (may). */
    gboolean tls;
    MsMtaTlsLevel smtpd_tls_level; /* port 25 inbound: none, may, encrypt */
    gboolean tls_auth_only;        /* AUTH, USER/PASS only inside TLS */
    MsMtaTlsLevel smtp_tls_level;  /* outbound: none, may, encrypt, verify */
    MsTlsCertFault cert_fault;     /* the certificate the server presents */
} MsMtaPolicy;

/* Fills `policy` with the profile's defaults (TLS off; its levels set to
 * the modern defaults above, for when it is turned on). */
void ms_mta_policy_defaults(MsMtaProfile profile, MsMtaPolicy *policy);
/* When a message first queued at `queued_at`, whose attempt number
 * `attempt` (1 = the first) has just failed at `now`, is tried again, by
 * the profile's schedule; MS_TIME_INFINITE when it is past give-up. */
MsTime ms_mta_next_retry(const MsMtaPolicy *policy, guint attempt, MsTime queued_at, MsTime now);

/* How long the profile's MTA waits for a TCP connection to be established
 * before it gives up on that address: the policy's connect_timeout, or the
 * profile's default when it is 0. */
MsTime ms_mta_connect_timeout(const MsMtaPolicy *policy);

/* The SMTP server dialect of the profile's server (reply texts, EHLO
 * keywords). */
MsSmtpDialect ms_mta_profile_dialect(MsMtaProfile profile);
/* The name the server gives itself in its banner and Received: headers:
 * "Postfix", "Exim 4.96", "OpenSMTPD". Static storage. */
const char *ms_mta_profile_product(MsMtaProfile profile);
/* The text of the server's 220 greeting for `hostname`, as the profile's
 * default banner setting writes it; `date` is the RFC 5322 date of the
 * moment (Exim's banner shows it). Returns a new string (caller frees). */
char *ms_mta_profile_banner(MsMtaProfile profile, const char *hostname, const char *date);

/* Fills the policy-dependent fields of `cfg` for the server's SMTP service:
 * dialect, message size and recipient limits, and AUTH, offered only on
 * the submission port (`submission`; RFC 6409), never on port 25. Leaves
 * the other fields as they are. */
void ms_mta_policy_smtp_config(const MsMtaPolicy *policy, gboolean submission,
                               MsSmtpServerConfig *cfg);
/* Writes the id under which the profile's server queues its n-th message
 * (n >= 1) on host `host` into out (size bytes, at least 17), in that
 * server's form: Postfix's hexadecimal short id, Exim 4.96's
 * "tttttt-pppppp-ff" in base 62, OpenSMTPD's 8 hexadecimal digits. Real
 * servers derive them from the clock, the process and chance; these are
 * derived from (host, n), so they are unique per server and repeatable. */
void ms_mta_profile_queue_id(MsMtaProfile profile, guint32 host, guint32 n, char *out, gsize size);

/* The text of the server's 250 reply to a message it accepted as queue id
 * `qid`. Returns a new string (caller frees). */
char *ms_mta_profile_queued_text(MsMtaProfile profile, const char *qid);

/* Why a server refuses a recipient. */
typedef enum {
    MS_MTA_REFUSE_UNKNOWN_USER, /* a local domain without that user */
    MS_MTA_REFUSE_RELAY,        /* not ours, and the client may not relay */
    MS_MTA_REFUSE_GREYLIST,     /* a new (client, sender, recipient) triple */
} MsMtaRefusal;

/* Sets `reply` to the profile's refusal of recipient `rcpt` (code,
 * enhanced code, text). */
void ms_mta_profile_refusal(MsMtaProfile profile, MsMtaRefusal why, const char *rcpt,
                            MsSmtpReply *reply);

/* "postfix", "exim", "opensmtpd"; "?" for anything else. Static storage. */
const char *ms_mta_profile_to_string(MsMtaProfile profile);

G_END_DECLS
