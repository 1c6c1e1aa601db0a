/* The mail layer of a simulated world: mail servers (MSA on port 587 with
 * SMTP AUTH, MX on port 25, an MTA queue that looks up MX records, relays,
 * retries and bounces, mailboxes and a POP3 server on port 110) and mail
 * clients (submission and POP3 checks), all speaking real SMTP and POP3
 * through the sans-I/O protocol cores over TCP-lite.
 *
 * Every message gets an id and a life record; at the end of a run the
 * totals must balance: for each recipient of each message accepted by a
 * server, delivered + bounced + still queued. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/tcp.h"
#include "mailsim/dns_resolver.h"
#include "mailsim/mailbox.h"
#include "mailsim/mta_profile.h"

G_BEGIN_DECLS

typedef struct _MsMail MsMail;

#define MS_SMTP_PORT 25
#define MS_SUBMISSION_PORT 587
#define MS_POP3_PORT 110


/* A server's policy; a field left 0 takes the profile's default. */
typedef struct {
    MsMtaProfile profile;
    MsTime   retry_first, retry_max, give_up;
    guint64  max_size;
    guint    max_recipients;
    gboolean greylist;        /* postgrey-like: first try of a new triple gets 450 for 300 s */
} MsMtaPolicy;

/* Fills `policy` with the profile's defaults. */
void ms_mta_policy_defaults(MsMtaProfile profile, MsMtaPolicy *policy);
/* When a message first queued at `queued_at`, whose attempt number
 * `attempt` (1 = the first) has just failed at `now`, is tried again, by
 * the profile's schedule; MS_TIME_INFINITE when it is past give-up. */
MsTime ms_mta_next_retry(const MsMtaPolicy *policy, guint attempt, MsTime queued_at, MsTime now);

typedef enum {
    MS_RCPT_WITH_CLIENT,   /* not accepted by any server (yet) */
    MS_RCPT_REFUSED,       /* the submission server refused it: it stays with the client */
    MS_RCPT_QUEUED,        /* accepted, on its way */
    MS_RCPT_DELIVERED,     /* stored in a mailbox */
    MS_RCPT_BOUNCED,       /* given up, a DSN sent to the sender (unless the sender was <>) */
} MsRcptState;

/* What happened to one recipient of one message. */
typedef struct {
    char       *address;
    MsRcptState state;
    MsTime      done_at;        /* delivered / bounced at */
    char       *detail;         /* "sales@diversicomcorp.com at mx.diversicomcorp.com" or the bounce reason */
    char        status[12];     /* enhanced status of a bounce ("5.1.1") */
    MsHostId    where;          /* the server holding it (queued) or storing it (delivered) */
    guint       attempts;       /* delivery attempts by MTAs (connections tried) */
    guint       deferrals;
    guint       received_headers; /* in the stored copy */
    guint       hops;           /* servers that accepted it */
    MsTime      retrieved_at;   /* by POP3, or 0 */
    MsHostId    retrieved_by;
} MsRcptRecord;

typedef struct {
    guint32    id;              /* 1, 2, ... */
    char      *label;           /* the scenario's id ("m1"), or "dsn-1" */
    char      *from;
    char      *subject;
    char      *message_id;      /* the Message-ID header */
    MsTime     created_at;      /* submitted (or bounce created) at */
    guint32    parent;          /* for a DSN: the message it reports on, else 0 */
    gboolean   is_dsn;
    MsHostId   origin;          /* client host or bouncing server */
    GArray    *rcpts;           /* MsRcptRecord */
} MsMessageRecord;

/* A new mail layer over net and tcp (borrowed). Returns a new object
 * (caller frees). */
MsMail *ms_mail_new(MsNet *net, MsTcp *tcp);
void ms_mail_free(MsMail *mail);

/* Tells the narration that the world's DNS is one flat registry (its
 * asides then say how the real Internet differs). */
void ms_mail_set_flat_dns(MsMail *mail, gboolean flat);

/* Whether delivered messages are kept in full (TRUE, the default: what
 * lessons and POP3 need). With FALSE, a server that no simulated client
 * checks over POP3 only counts what it delivers (quota, totals and the
 * accounting stay exact; nothing of the message is kept), delivered
 * recipients get no `detail` text (their `where` says where), and the memory
 * of a run is the queues' content, not every message ever sent. Servers
 * some client checks keep bodies either way. Set before the run. */
void ms_mail_set_keep_bodies(MsMail *mail, gboolean keep);

/* Adds a mail server on `host` for the given domains (may be empty: a
 * relay) using `resolver` (owned, may be NULL for a relay with a
 * smarthost). Returns the server index. */
guint ms_mail_add_server(MsMail *mail, MsHostId host, const char *const *domains,
                         const MsMtaPolicy *policy, MsResolver *resolver);
/* All non-local mail of `server` goes through `relay_host` (a smarthost);
 * the relay trusts it (as Postfix's mynetworks). */
void ms_mail_set_smarthost(MsMail *mail, guint server, MsHostId relay_host);
/* Makes `server` a backup MX for `domain` (not one of its own): its port 25
 * accepts mail for any recipient there from anyone, queues it and delivers
 * it to the domain's MX hosts that are more preferred than itself (RFC 5321
 * 5.1), as Postfix does for its relay_domains. */
void ms_mail_add_backup_domain(MsMail *mail, guint server, const char *domain);
gboolean ms_mail_add_user(MsMail *mail, guint server, const char *user, const char *password, guint64 quota);
MsMailStore *ms_mail_server_store(MsMail *mail, guint server);
guint ms_mail_server_by_host(MsMail *mail, MsHostId host);   /* G_MAXUINT if none */

/* Adds a client on `host` for user address `address` (user@domain) with its
 * password, submitting to `smtp_server` and checking mail at `pop3_server`
 * (server indices; G_MAXUINT for none). Returns the client index. */
guint ms_mail_add_client(MsMail *mail, MsHostId host, const char *address, const char *password,
                         guint smtp_server, guint pop3_server, gboolean keep_on_server);

/* Schedules the submission of a message by `client` at time `at`. to and cc
 * are NULL-terminated; body may be NULL (then `size` bytes of text are
 * made). Returns the message id. */
guint32 ms_mail_submit(MsMail *mail, guint client, const char *label, const char *const *to,
                       const char *const *cc, const char *subject, const char *body, guint64 size,
                       MsTime at);
/* Schedules a POP3 check by `client` at `at`; every `every` after that if > 0. */
void ms_mail_check(MsMail *mail, guint client, MsTime at, MsTime every);

guint ms_mail_n_messages(const MsMail *mail);
const MsMessageRecord *ms_mail_message(const MsMail *mail, guint32 id);   /* id 1..n */
const MsMessageRecord *ms_mail_message_by_label(const MsMail *mail, const char *label);

typedef struct {
    guint messages, dsns;
    guint rcpts_accepted;       /* recipients accepted by some server */
    guint delivered, bounced, queued, refused, with_client;
    guint retrieved;
    guint deferrals, attempts;
    guint64 smtp_sessions, pop3_sessions;
} MsMailStats;
void ms_mail_get_stats(const MsMail *mail, MsMailStats *stats);

/* What the queues of all servers hold now: entries (one message for one
 * destination domain at one server) and the bytes they keep (the message
 * itself, the entry and its strings). For benchmarks. O(queued). */
void ms_mail_queue_footprint(const MsMail *mail, guint *entries, guint64 *bytes);

/* Checks that every accepted recipient is delivered, bounced or queued;
 * appends a line per problem to `report`. TRUE when balanced. */
gboolean ms_mail_check_balance(const MsMail *mail, GString *report);

/* Scripted faults at the mail level: a server answers `code` to a command
 * for matching senders and recipients (shell-style globs, "*" = any),
 * inside a time window, with a probability drawn from the server's random
 * stream. What users of mail test servers ask for most, here deterministic
 * and per hop. */
typedef enum {
    MS_FAULT_CMD_CONNECT,   /* the greeting (421 closes, 554 refuses the session) */
    MS_FAULT_CMD_HELO,      /* HELO and EHLO */
    MS_FAULT_CMD_MAIL,
    MS_FAULT_CMD_RCPT,
    MS_FAULT_CMD_DATA,
    MS_FAULT_CMD_EOD,       /* the end of the message content */
} MsFaultCommand;

typedef struct {
    MsFaultCommand command;
    guint          code;
    const char    *enhanced;   /* or NULL */
    const char    *text;       /* or NULL */
    const char    *from, *to;  /* globs; NULL = any */
    MsTime         start, end;
    double         rate;       /* in [0, 1] */
} MsReplyRule;

/* Adds a rule to `server` (strings copied). */
void ms_mail_add_reply_rule(MsMail *mail, guint server, const MsReplyRule *rule);
/* Delays every reply of `server`'s SMTP service by `delay` (a slow server). */
void ms_mail_set_command_delay(MsMail *mail, guint server, MsTime delay);

/* Per-server figures, for statistics. */
typedef struct {
    MsHostId host;
    guint    queue_len, peak_queue;
    guint64  dns_lookups, dns_cache_hits, dns_queries, dns_timeouts;
} MsMailServerStats;
guint ms_mail_n_servers(const MsMail *mail);
void ms_mail_server_stats(const MsMail *mail, guint server, MsMailServerStats *stats);

const char *ms_rcpt_state_to_string(MsRcptState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMail, ms_mail_free)

G_END_DECLS
